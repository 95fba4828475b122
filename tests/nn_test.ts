/**
 * nn: layers' shapes, PyTorch's default initialisation, determinism, state
 * threading (batch norm), dropout keys, reprs and summaries, the seed models'
 * parameter counts and state_dict paths, and forward values against PyTorch
 * 1.13 (tests/fixtures/nn.json, written by tests/fixtures/gen_nn.py) to
 * 1e-10 in float64.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import {
  add,
  batchNorm,
  checkGrads,
  div,
  item,
  mean,
  mul,
  nn,
  random,
  reshape,
  sqrt,
  sub,
  sum,
  type Tensor,
  tensor,
  toArray,
  type Tree,
  treeLeaves,
  treeMap,
  treePaths,
  valueAndGrad,
  vjp,
  zeros,
} from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/nn.json" with { type: "json" };

type J = { shape: number[]; data: number[] };

const isSpec = (x: unknown): boolean =>
  typeof x === "object" && x !== null && !Array.isArray(x) &&
  Array.isArray((x as { shape?: unknown }).shape) &&
  typeof (x as { dtype?: unknown }).dtype === "string";

/** Dotted paths of a layer's parameters, from its description (nothing allocated). */
const specPaths = (layer: nn.AnyLayer): [string, nn.ParamSpec][] =>
  treePaths(layer.info.params as never, isSpec) as [string, nn.ParamSpec][];

/** The fixture's parameter formula: key number p (state_dict order), element j. */
function fixtureParams(layer: nn.AnyLayer, keys: string[]): unknown {
  const build = (spec: unknown, path: string): unknown => {
    if (isSpec(spec)) {
      const s = spec as nn.ParamSpec;
      const p = keys.indexOf(path);
      assert.ok(p >= 0, `no fixture key for ${path}`);
      const n = s.shape.reduce((a, d) => a * d, 1);
      const data = Float64Array.from(
        { length: n },
        (_, j) => 0.3 * Math.sin(0.731 * j + 1.3 * p + 0.5),
      );
      return tensor(data, { shape: s.shape as number[], dtype: "float64" });
    }
    const join = (k: string | number) => path === "" ? `${k}` : `${path}.${k}`;
    if (Array.isArray(spec)) return spec.map((c, i) => build(c, join(i)));
    return Object.fromEntries(
      Object.entries(spec as object).map(([k, c]) => [k, build(c, join(k))]),
    );
  };
  return build(layer.info.params, "");
}

function fixtureInput(shape: number[], shift: number): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = Float64Array.from(
    { length: n },
    (_, j) => Math.cos(0.37 * j + shift),
  );
  return tensor(data, { shape, dtype: "float64" });
}

const jt = (j: J) => tensor(j.data, { shape: j.shape, dtype: "float64" });

// ---------------------------------------------------------------------------
// shapes

Deno.test("every layer: init gives the described params, apply the described output shape", () => {
  const cases: [string, nn.AnyLayer, number[], number[]][] = [
    ["linear", nn.linear({ inFeatures: 5, outFeatures: 3 }), [4, 5], [4, 3]],
    [
      "linear 3-D, no bias",
      nn.linear({ inFeatures: 5, outFeatures: 3, bias: false }),
      [2, 4, 5],
      [2, 4, 3],
    ],
    [
      "conv2d",
      nn.conv2d({ inChannels: 1, outChannels: 6, kernelSize: 5 }),
      [2, 1, 32, 32],
      [2, 6, 28, 28],
    ],
    [
      "conv2d padding stride dilation groups",
      nn.conv2d({
        inChannels: 4,
        outChannels: 6,
        kernelSize: [3, 2],
        stride: 2,
        padding: [1, 2],
        dilation: [1, 2],
        groups: 2,
      }),
      [1, 4, 9, 8],
      [1, 6, 5, 5],
    ],
    [
      "conv2d same",
      nn.conv2d({
        inChannels: 2,
        outChannels: 3,
        kernelSize: 4,
        padding: "same",
        bias: false,
      }),
      [1, 2, 7, 6],
      [1, 3, 7, 6],
    ],
    [
      "conv2d unbatched",
      nn.conv2d({ inChannels: 3, outChannels: 2, kernelSize: 3 }),
      [3, 5, 5],
      [2, 3, 3],
    ],
    [
      "convTranspose2d",
      nn.convTranspose2d({
        inChannels: 4,
        outChannels: 2,
        kernelSize: 3,
        stride: 2,
        padding: 1,
        outputPadding: 1,
      }),
      [1, 4, 5, 5],
      [1, 2, 10, 10],
    ],
    [
      "convTranspose2d groups",
      nn.convTranspose2d({
        inChannels: 4,
        outChannels: 6,
        kernelSize: [3, 2],
        groups: 2,
      }),
      [2, 4, 3, 3],
      [2, 6, 5, 4],
    ],
    [
      "maxPool2d",
      nn.maxPool2d({ kernelSize: 2 }),
      [1, 6, 28, 28],
      [1, 6, 14, 14],
    ],
    [
      "maxPool2d ceil",
      nn.maxPool2d({ kernelSize: 3, stride: 2, padding: 1, ceilMode: true }),
      [1, 2, 6, 7],
      [1, 2, 4, 4],
    ],
    [
      "avgPool2d",
      nn.avgPool2d({ kernelSize: 3, stride: 2, padding: 1 }),
      [1, 2, 7, 7],
      [1, 2, 4, 4],
    ],
    [
      "adaptiveAvgPool2d",
      nn.adaptiveAvgPool2d({ outputSize: [2, 3] }),
      [2, 3, 7, 9],
      [2, 3, 2, 3],
    ],
    [
      "adaptiveAvgPool2d null",
      nn.adaptiveAvgPool2d({ outputSize: [null, 1] }),
      [1, 3, 4, 5],
      [1, 3, 4, 1],
    ],
    ["flatten()", nn.flatten(), [2, 16, 5, 5], [2, 400]],
    ["flatten range", nn.flatten({ startDim: 1, endDim: 2 }), [2, 3, 4, 5], [
      2,
      12,
      5,
    ]],
    ["dropout", nn.dropout({ p: 0.3 }), [2, 7], [2, 7]],
    [
      "batchNorm2d",
      nn.batchNorm2d({ numFeatures: 3 }),
      [2, 3, 4, 4],
      [2, 3, 4, 4],
    ],
    ["batchNorm1d [N, C]", nn.batchNorm1d({ numFeatures: 3 }), [2, 3], [2, 3]],
    [
      "batchNorm1d [N, C, L]",
      nn.batchNorm1d({ numFeatures: 3 }),
      [2, 3, 5],
      [2, 3, 5],
    ],
    ["relu", nn.relu, [2, 3], [2, 3]],
    ["tanh", nn.tanh, [2, 3], [2, 3]],
    ["sigmoid", nn.sigmoid, [2, 3], [2, 3]],
    ["gelu", nn.gelu, [2, 3], [2, 3]],
    ["silu", nn.silu, [2, 3], [2, 3]],
    ["leakyRelu", nn.leakyRelu({ negativeSlope: 0.2 }), [2, 3], [2, 3]],
    ["elu", nn.elu(), [2, 3], [2, 3]],
    ["softplus", nn.softplus({ beta: 2 }), [2, 3], [2, 3]],
    [
      "sequential",
      nn.sequential(
        nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
        nn.relu,
        nn.flatten(),
      ),
      [3, 1, 5, 5],
      [3, 18],
    ],
    ["lenet5", nn.lenet5(), [2, 1, 32, 32], [2, 10]],
    ["simpleFCN", nn.simpleFCN(), [2, 3, 4, 4], [2, 3]],
    ["simpleCNN", nn.simpleCNN(), [2, 3, 32, 32], [2, 10]],
    ["birdPlaneNet", nn.birdPlaneNet(), [2, 3, 32, 32], [2, 2]],
  ];
  for (const [name, layer, inShape, outShape] of cases) {
    const params = layer.init(random.key(3));
    const got = treePaths(params as Tree).map(([p, t]) => [p, t.shape]);
    const want = specPaths(layer).map(([p, s]) => [p, s.shape]);
    assert.deepEqual(got, want, `${name}: params vs info.params`);
    const x = random.normal(random.key(4), inShape);
    const { y: y2, state } = layer.applyWithState(
      params,
      layer.initState(),
      x,
    );
    assert.deepEqual(y2.shape, outShape, `${name}: applyWithState`);
    assert.deepEqual(
      layer.info.outputShape(inShape),
      outShape,
      `${name}: outputShape`,
    );
    if (layer.info.hasState) {
      assert.throws(() => layer.apply(params, x), /use applyWithState/, name);
    } else {
      const y = layer.apply(params, x);
      assert.deepEqual(toArray(y2), toArray(y), `${name}: apply`);
    }
    assert.equal(
      treeLeaves(state).length > 0,
      layer.info.hasState,
      `${name}: state`,
    );
  }
});

Deno.test("shape rules agree with apply on random configurations", () => {
  fc.assert(
    fc.property(
      fc.record({
        c: fc.integer({ min: 1, max: 3 }),
        k: fc.integer({ min: 1, max: 4 }),
        s: fc.integer({ min: 1, max: 3 }),
        p: fc.integer({ min: 0, max: 2 }),
        d: fc.integer({ min: 1, max: 2 }),
        h: fc.integer({ min: 8, max: 12 }),
        w: fc.integer({ min: 8, max: 12 }),
        ceil: fc.boolean(),
      }),
      ({ c, k, s, p, d, h, w, ceil }) => {
        const x = zeros([1, c, h, w]);
        const layers = [
          nn.conv2d({
            inChannels: c,
            outChannels: 2,
            kernelSize: k,
            stride: s,
            padding: p,
            dilation: d,
          }),
          nn.convTranspose2d({
            inChannels: c,
            outChannels: 2,
            kernelSize: k,
            stride: s,
            padding: Math.min(p, k - 1),
            dilation: d,
          }),
          nn.maxPool2d({
            kernelSize: k,
            stride: s,
            padding: Math.min(p, k >> 1),
            dilation: d,
            ceilMode: ceil,
          }),
          nn.avgPool2d({
            kernelSize: k,
            stride: s,
            padding: Math.min(p, k >> 1),
            ceilMode: ceil,
          }),
        ];
        for (const l of layers) {
          assert.deepEqual(
            l.apply(l.init(random.key(0)), x).shape,
            l.info.outputShape(x.shape),
            l.info.repr,
          );
        }
      },
    ),
    { numRuns: 40 },
  );
});

// ---------------------------------------------------------------------------
// initialisation

Deno.test("init: PyTorch's default U(±1/sqrt(fanIn)) for weights and biases", () => {
  const fanIn = fixture.fan_in as Record<string, number>;
  const cases: [string, nn.AnyLayer][] = [
    ["linear", nn.linear({ inFeatures: 400, outFeatures: 120 })],
    ["conv", nn.conv2d({ inChannels: 6, outChannels: 16, kernelSize: 5 })],
    [
      "conv_groups",
      nn.conv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, groups: 2 }),
    ],
    [
      "convT",
      nn.convTranspose2d({ inChannels: 4, outChannels: 6, kernelSize: 3 }),
    ],
    [
      "convT_groups",
      nn.convTranspose2d({
        inChannels: 4,
        outChannels: 6,
        kernelSize: [3, 2],
        groups: 2,
      }),
    ],
  ];
  for (const [name, layer] of cases) {
    const bound = 1 / Math.sqrt(fanIn[name]); // torch's own fan-in
    const { weight, bias } = layer.init(random.key(11)) as Record<
      string,
      Tensor
    >;
    for (const [what, t] of [["weight", weight], ["bias", bias]] as const) {
      const v = Array.from(t.data);
      const maxAbs = Math.max(...v.map(Math.abs));
      assert.ok(
        maxAbs <= Math.fround(bound),
        `${name}.${what}: max |w| ${maxAbs} > bound ${bound}`,
      );
      if (v.length >= 100) {
        assert.ok(maxAbs > 0.9 * bound, `${name}.${what}: range too narrow`);
        const m = v.reduce((a, b) => a + b, 0) / v.length;
        const sd = Math.sqrt(
          v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length,
        );
        const want = bound / Math.sqrt(3);
        const tol = v.length >= 2000 ? 0.05 : 0.2;
        assert.ok(
          Math.abs(sd - want) < tol * want,
          `${name}.${what}: std ${sd}, uniform gives ${want}`,
        );
        assert.ok(Math.abs(m) < 0.1 * bound, `${name}.${what}: mean ${m}`);
      }
    }
  }
  const bn = nn.batchNorm2d({ numFeatures: 3 }).init(random.key(0));
  assert.deepEqual(toArray(bn.weight), [1, 1, 1]);
  assert.deepEqual(toArray(bn.bias), [0, 0, 0]);
  const st = nn.batchNorm2d({ numFeatures: 2 }).initState();
  assert.deepEqual(toArray(st.running_mean), [0, 0]);
  assert.deepEqual(toArray(st.running_var), [1, 1]);
  assert.equal(st.num_batches_tracked.dtype, "int32");
});

Deno.test("init: deterministic by key, dtype option", () => {
  const net = nn.lenet5();
  const a = net.init(random.key(5)), b = net.init(random.key(5));
  const c = net.init(random.key(6));
  const flat = (p: unknown) =>
    treeLeaves(p as Tree).flatMap((t) => Array.from(t.data));
  assert.deepEqual(flat(a), flat(b));
  assert.notDeepEqual(flat(a), flat(c));
  assert.notDeepEqual(
    Array.from(a.conv1.weight.data),
    Array.from(a.conv2.weight.data.slice(0, 150)),
  );
  assert.ok(treeLeaves(a).every((t) => t.dtype === "float32"));
  const d = nn.lenet5({ dtype: "float64" }).init(random.key(5));
  assert.ok(treeLeaves(d).every((t) => t.dtype === "float64"));
  assert.equal(
    nn.linear({ inFeatures: 2, outFeatures: 2, dtype: "float64" }).init(
      random.key(0),
    ).weight.dtype,
    "float64",
  );
});

// ---------------------------------------------------------------------------
// seed models: counts, paths, reprs, summaries

Deno.test("The LeNet-5 MNIST tutorial: lenet5 has 10 tensors, 61,706 params, state_dict keys as the tutorial's Net", () => {
  const net = nn.lenet5();
  const params = net.init(random.key(0));
  const paths = treePaths(params).map(([p]) => p);
  assert.equal(paths.length, 10);
  assert.deepEqual(paths, [...fixture.models.lenet5.keys].sort());
  assert.deepEqual(paths, [
    "conv1.bias",
    "conv1.weight",
    "conv2.bias",
    "conv2.weight",
    "fc1.bias",
    "fc1.weight",
    "fc2.bias",
    "fc2.weight",
    "fc3.bias",
    "fc3.weight",
  ]);
  assert.equal(nn.paramCount(params), 61706);
  assert.equal(nn.paramCount(net), 61706);
  assert.deepEqual(params.conv1.weight.shape, [6, 1, 5, 5]); // params[0].size()
  assert.equal(net.info.repr, fixture.models.lenet5.repr); // print(net)
});

Deno.test("The CIFAR-10 bird/plane tutorial: birdPlaneNet has 18,090 params in tensors of [432,16,1152,8,16384,32,64,2]", () => {
  const net = nn.birdPlaneNet();
  const f = fixture.models.birdPlaneNet;
  assert.deepEqual(f.numels, [432, 16, 1152, 8, 16384, 32, 64, 2]);
  const params = net.init(random.key(0));
  const byPath = new Map(treePaths(params));
  assert.deepEqual(
    f.keys.map((k) => byPath.get(k)!.data.length),
    [432, 16, 1152, 8, 16384, 32, 64, 2],
  );
  assert.equal(byPath.size, 8);
  assert.equal(nn.paramCount(params), 18090);
  assert.equal(net.info.repr, f.repr);
});

Deno.test("The PyTorch basics tutorial: simpleFCN and simpleCNN as in the seed", () => {
  for (
    const [name, net] of [["simpleFCN", nn.simpleFCN()], [
      "simpleCNN",
      nn.simpleCNN(),
    ]] as const
  ) {
    const f = fixture.models[name];
    assert.equal(net.info.repr, f.repr, name);
    const paths = specPaths(net);
    assert.deepEqual(paths.map(([p]) => p), [...f.keys].sort());
    assert.equal(nn.paramCount(net), f.numels.reduce((a, b) => a + b, 0));
  }
});

Deno.test("vgg16: 138,357,544 params from the summary, without allocating weights", () => {
  const before = Deno.memoryUsage();
  const t0 = performance.now();
  const net = nn.vgg16();
  const text = nn.summary(net, [1, 3, 224, 224]);
  const ms = performance.now() - t0;
  const after = Deno.memoryUsage();
  assert.match(text, /^Total params: 138,357,544$/m);
  assert.match(text, /^Params size \(MB\): 553\.43$/m);
  assert.match(text, /├─Sequential \(classifier\) +\[1, 1000\]/);
  assert.match(text, /│ {4}└─Linear \(0\) +\[1, 4096\] +102,764,544/);
  assert.match(text, /│ {4}└─MaxPool2d \(30\) +\[1, 512, 7, 7\]/);
  assert.equal(fixture.vgg16.total, 138357544);
  assert.equal(nn.paramCount(net), fixture.vgg16.total);
  // torchvision's state_dict keys and sizes
  const specs = new Map(specPaths(net));
  assert.deepEqual([...specs.keys()].sort(), [...fixture.vgg16.keys].sort());
  fixture.vgg16.keys.forEach((k, i) =>
    assert.equal(
      specs.get(k)!.shape.reduce((a, d) => a * d, 1),
      fixture.vgg16.numels[i],
      k,
    )
  );
  // far below the 553 MB the weights would take
  assert.ok(
    after.external - before.external < 50e6 &&
      after.rss - before.rss < 200e6,
    `summary allocated: external +${after.external - before.external}, rss +${
      after.rss - before.rss
    }`,
  );
  assert.ok(ms < 2000, `summary took ${ms} ms`);
  assert.equal(
    nn.paramCount(nn.vgg16({ numClasses: 10 })),
    138357544 - 4096 * 990 - 990,
  );
});

Deno.test("summary(lenet5, [1, 1, 32, 32]): print(net) and the LeNet-5 MNIST tutorial's shapes 32 -> 28 -> 14 -> 10 -> 5 -> 400", () => {
  const text = nn.summary(nn.lenet5(), [1, 1, 32, 32]);
  assert.ok(text.startsWith(fixture.models.lenet5.repr + "\n"));
  const rows = text.split("\n").filter((l) => l.startsWith("├─"));
  const parsed = rows.map((l) => {
    const m = l.match(/^├─(\S+(?: \(\w+\))?) +(\[[\d, ]+\]) +(\S+)$/);
    assert.ok(m, `row ${l}`);
    return [m[1], m[2], m[3]];
  });
  assert.deepEqual(parsed, [
    ["Conv2d (conv1)", "[1, 6, 28, 28]", "156"],
    ["ReLU", "[1, 6, 28, 28]", "--"],
    ["MaxPool2d", "[1, 6, 14, 14]", "--"],
    ["Conv2d (conv2)", "[1, 16, 10, 10]", "2,416"],
    ["ReLU", "[1, 16, 10, 10]", "--"],
    ["MaxPool2d", "[1, 16, 5, 5]", "--"],
    ["Flatten", "[1, 400]", "--"],
    ["Linear (fc1)", "[1, 120]", "48,120"],
    ["ReLU", "[1, 120]", "--"],
    ["Linear (fc2)", "[1, 84]", "10,164"],
    ["ReLU", "[1, 84]", "--"],
    ["Linear (fc3)", "[1, 10]", "850"],
  ]);
  assert.match(text, /^Net +\[1, 10\] +--$/m);
  assert.match(text, /^Total params: 61,706$/m);
  assert.match(text, /^Trainable params: 61,706$/m);
  assert.match(text, /^Input shape: \[1, 1, 32, 32\]$/m);
  assert.match(text, /Conv2d\(1, 6, kernel_size=\(5, 5\), stride=\(1, 1\)\)/);
  assert.match(
    text,
    /\(fc1\): Linear\(in_features=400, out_features=120, bias=True\)/,
  );
});

Deno.test("summary: nested containers, shared children, buffers, errors", () => {
  const text = nn.summary(nn.simpleCNN(), [4, 3, 32, 32]);
  assert.match(text, /├─MaxPool2d \(pool\) +\[4, 16, 16, 16\]/);
  assert.match(text, /├─MaxPool2d \(pool\) +\[4, 32, 8, 8\]/);
  const shared = nn.model(
    { fc: nn.linear({ inFeatures: 3, outFeatures: 3 }) },
    (m, x) => m.fc(m.fc(x)),
    { name: "Twice" },
  );
  const t2 = nn.summary(shared, [2, 3]);
  assert.match(
    t2,
    /├─Linear \(fc\) +\[2, 3\] +12\n├─Linear \(fc\) +\[2, 3\] +\(shared\)/,
  );
  assert.match(t2, /Total params: 12$/m);
  const bn = nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
    nn.sequential(nn.batchNorm2d({ numFeatures: 2 }), nn.relu),
  );
  const t3 = nn.summary(bn, [1, 1, 5, 5]);
  assert.match(t3, /│ {4}└─BatchNorm2d \(0\) +\[1, 2, 3, 3\] +4/);
  assert.match(t3, /^Buffers \(state\): 5$/m);
  assert.throws(
    () => nn.summary(nn.lenet5(), [1, 3, 32, 32]),
    /nn.summary: at Conv2d \(conv1\) with input \[1,3,32,32\]: conv2d: weight has 1 input channels but x has 3 \(x \[1,3,32,32\], weight \[6,1,5,5\]\)/,
  );
  assert.throws(
    () => nn.summary(nn.lenet5(), [1, 1, 8, 8]),
    /nn.summary: at Conv2d \(conv2\) .*output size would be/,
  );
  assert.throws(() => nn.summary(nn.lenet5(), [1, 1.5]), /inputShape must be/);
  assert.throws(
    () => nn.summary(nn.flatten as never, [1]),
    /layer must be a layer .*a constructor\? call it/,
  );
});

Deno.test("reprs match PyTorch's", () => {
  const r = fixture.reprs as Record<string, string>;
  const layers: Record<string, nn.AnyLayer> = {
    linear: nn.linear({ inFeatures: 400, outFeatures: 120 }),
    linear_nobias: nn.linear({ inFeatures: 3, outFeatures: 2, bias: false }),
    conv: nn.conv2d({ inChannels: 1, outChannels: 6, kernelSize: 5 }),
    conv_pad: nn.conv2d({
      inChannels: 3,
      outChannels: 16,
      kernelSize: 3,
      padding: 1,
    }),
    conv_rect: nn.conv2d({
      inChannels: 3,
      outChannels: 6,
      kernelSize: [3, 5],
      stride: [2, 1],
      padding: [1, 2],
    }),
    conv_full: nn.conv2d({
      inChannels: 4,
      outChannels: 8,
      kernelSize: 3,
      stride: 2,
      padding: 2,
      dilation: 2,
      groups: 2,
      bias: false,
    }),
    conv_same: nn.conv2d({
      inChannels: 3,
      outChannels: 6,
      kernelSize: 3,
      padding: "same",
    }),
    convT: nn.convTranspose2d({
      inChannels: 4,
      outChannels: 2,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      outputPadding: 1,
    }),
    convT_plain: nn.convTranspose2d({
      inChannels: 4,
      outChannels: 2,
      kernelSize: 3,
    }),
    maxpool: nn.maxPool2d({ kernelSize: 2 }),
    maxpool_full: nn.maxPool2d({
      kernelSize: [3, 2],
      stride: 1,
      padding: 1,
      dilation: 1,
      ceilMode: true,
    }),
    avgpool: nn.avgPool2d({ kernelSize: 2 }),
    avgpool_full: nn.avgPool2d({ kernelSize: 3, stride: 2, padding: 1 }),
    adaptive: nn.adaptiveAvgPool2d({ outputSize: [7, 7] }),
    adaptive1: nn.adaptiveAvgPool2d({ outputSize: 1 }),
    adaptive_none: nn.adaptiveAvgPool2d({ outputSize: [null, 3] }),
    flatten: nn.flatten(),
    flatten0: nn.flatten({ startDim: 0 }),
    dropout: nn.dropout(),
    dropout02: nn.dropout({ p: 0.2 }),
    bn: nn.batchNorm2d({ numFeatures: 16 }),
    bn_custom: nn.batchNorm2d({
      numFeatures: 3,
      eps: 1e-3,
      momentum: null,
      affine: false,
      trackRunningStats: false,
    }),
    bn1d: nn.batchNorm1d({ numFeatures: 8, affine: false }),
    softmax: nn.softmax({ dim: 1 }),
    log_softmax: nn.logSoftmax({ dim: -1 }),
    identity: nn.identity,
    unflatten: nn.unflatten({ dim: 1, unflattenedSize: [16, 5, 5] }),
    zero_pad2d: nn.zeroPad2d([1, 1, 2, 0]),
    zero_pad2d_int: nn.zeroPad2d(2),
    constant_pad2d: nn.constantPad2d(1, 3.5),
    reflection_pad2d: nn.reflectionPad2d([1, 0, 2, 1]),
    replication_pad2d: nn.replicationPad2d(1),
    constant_pad1d: nn.constantPad1d(2, -1),
    reflection_pad1d: nn.reflectionPad1d(1),
    replication_pad1d: nn.replicationPad1d([0, 3]),
    in2d: nn.instanceNorm2d({ numFeatures: 3 }),
    lrn: nn.localResponseNorm({ size: 5 }),
    lrn_full: nn.localResponseNorm({ size: 3, alpha: 0.001, beta: 0.5, k: 2 }),
    selu: nn.selu,
    celu: nn.celu(),
    celu2: nn.celu({ alpha: 2 }),
    glu: nn.glu(),
    softmin: nn.softmin({ dim: 1 }),
    tanhshrink: nn.tanhshrink,
    softshrink: nn.softshrink(),
    hardshrink: nn.hardshrink({ lambd: 0.3 }),
    threshold: nn.threshold({ threshold: 0.1, value: 20 }),
    threshold2: nn.threshold({ threshold: 0.1, value: 20.5 }),
    in1d_full: nn.instanceNorm1d({
      numFeatures: 4,
      eps: 1e-3,
      momentum: 0.2,
      affine: true,
      trackRunningStats: true,
    }),
    relu: nn.relu,
    tanh: nn.tanh,
    sigmoid: nn.sigmoid,
    gelu: nn.gelu,
    silu: nn.silu,
    leaky: nn.leakyRelu(),
    leaky02: nn.leakyRelu({ negativeSlope: 0.2 }),
    elu: nn.elu(),
    softplus: nn.softplus(),
    empty_seq: nn.sequential(),
    nested_seq: nn.sequential(
      nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
      nn.sequential(nn.relu, nn.flatten()),
    ),
  };
  assert.deepEqual(Object.keys(layers).sort(), Object.keys(r).sort());
  for (const [k, l] of Object.entries(layers)) {
    assert.equal(l.info.repr, r[k], k);
  }
});

// ---------------------------------------------------------------------------
// forward values against PyTorch

Deno.test("forward: seed models equal PyTorch's with the same weights (float64, 1e-10)", () => {
  const models = {
    lenet5: nn.lenet5(),
    simpleFCN: nn.simpleFCN(),
    simpleCNN: nn.simpleCNN(),
    birdPlaneNet: nn.birdPlaneNet(),
  };
  for (const [name, net] of Object.entries(models)) {
    const f = fixture.models[name as keyof typeof models];
    const params = fixtureParams(net, f.keys);
    const x = fixtureInput(f.input_shape, f.input_shift);
    const y = (net as nn.AnyLayer).apply(params, x);
    assert.equal(y.dtype, "float64");
    assertAllClose(y, jt(f.output), { atol: 1e-10, rtol: 1e-10, msg: name });
  }
});

Deno.test("batchNorm2d, batchNorm1d, instanceNorm2d and instanceNorm1d in a sequential: train/eval with state threading as PyTorch", () => {
  const cases: [string, nn.AnyLayer][] = [
    [
      "seq_momentum",
      nn.sequential(
        nn.conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }),
        nn.batchNorm2d({ numFeatures: 3 }),
        nn.relu,
      ),
    ],
    [
      "cumulative",
      nn.sequential(
        nn.batchNorm2d({ numFeatures: 2, momentum: null, eps: 1e-3 }),
      ),
    ],
    [
      "untracked",
      nn.sequential(
        nn.batchNorm2d({
          numFeatures: 2,
          affine: false,
          trackRunningStats: false,
        }),
      ),
    ],
    [
      "bn1d_features",
      nn.sequential(
        nn.linear({ inFeatures: 6, outFeatures: 3 }),
        nn.batchNorm1d({ numFeatures: 3 }),
      ),
    ],
    [
      "bn1d_channels",
      nn.sequential(nn.batchNorm1d({ numFeatures: 2, momentum: null })),
    ],
    [
      "in2d_tracked",
      nn.sequential(
        nn.conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }),
        nn.instanceNorm2d({
          numFeatures: 3,
          affine: true,
          trackRunningStats: true,
        }),
      ),
    ],
    ["in2d_plain", nn.sequential(nn.instanceNorm2d({ numFeatures: 2 }))],
    [
      "in1d_tracked",
      nn.sequential(
        nn.instanceNorm1d({
          numFeatures: 2,
          momentum: 0.3,
          trackRunningStats: true,
        }),
      ),
    ],
  ];
  for (const [name, net] of cases) {
    const f = fixture.batchnorm[name as "seq_momentum"];
    const params = fixtureParams(net, f.keys);
    let state = treeMap(
      (t: Tensor) =>
        t.dtype === "float32" ? add(t, zeros([], { dtype: "float64" })) : t,
      net.initState() as never,
    ) as unknown;
    for (const [i, step] of f.steps.entries()) {
      const x = fixtureInput(step.shape, step.shift);
      const before = state;
      const r = net.applyWithState(params, state, x, {
        training: step.training,
      });
      assertAllClose(r.y, jt(step.output), {
        atol: 1e-10,
        rtol: 1e-10,
        msg: `${name} step ${i}`,
      });
      const got = new Map(treePaths(r.state as Tree));
      for (const [k, v] of Object.entries(step.state)) {
        assertAllClose(got.get(k)!, v.data, {
          atol: 1e-12,
          rtol: 1e-12,
          msg: `${name} step ${i} ${k}`,
        });
      }
      assert.equal(got.size, Object.keys(step.state).length);
      if (!step.training) { // eval leaves the buffers alone
        const a = treeLeaves(r.state as Tree), b = treeLeaves(before as Tree);
        assert.ok(a.length === b.length && a.every((t, j) => t === b[j]));
      }
      state = r.state;
    }
  }
});

Deno.test("batchNorm2d: eval uses the given running statistics, training the batch's", () => {
  const bn = nn.batchNorm2d({ numFeatures: 2, dtype: "float64" });
  const p = bn.init(random.key(0));
  const x = add(
    mul(random.normal(random.key(1), [4, 2, 3, 3], { dtype: "float64" }), 3),
    5,
  );
  // eval with running mean 0, var 1: x / sqrt(1 + eps)
  const { y } = bn.applyWithState(p, bn.initState(), x);
  assertAllClose(y, mul(x, 1 / Math.sqrt(1 + 1e-5)), { atol: 1e-12 });
  const yt = bn.applyWithState(p, bn.initState(), x, { training: true }).y;
  assert.ok(Math.abs(item(mean(yt))) < 1e-12);
  assert.ok(Math.abs(item(mean(mul(yt, yt))) - 1) < 1e-3);
  assert.throws(
    () => bn.applyWithState(p, {}, x, { training: true }),
    /state.running_mean must be a Tensor \(use initState\(\)\)/,
  );
  assert.throws(
    () =>
      bn.applyWithState(
        p,
        bn.initState(),
        zeros([4, 3, 2, 2], { dtype: "float64" }),
      ),
    /nn.BatchNorm2d: expected 2 channels, got 3/,
  );
  // without running statistics there is no state: plain apply is batch norm
  // with the batch's statistics
  const free = nn.batchNorm2d({
    numFeatures: 2,
    trackRunningStats: false,
    dtype: "float64",
  });
  assert.ok(!free.info.hasState);
  const yf = free.apply(free.init(random.key(0)), x);
  assert.ok(Math.abs(item(mean(yf))) < 1e-12);
});

Deno.test("batchNorm2d training: values and gradients equal the formula in public ops (float32 and float64); their derivatives to order 2", () => {
  // the batch-statistics formula, written independently with public ops
  const formula = (x: Tensor, w: Tensor, b: Tensor) => {
    const keep = { axis: [0, 2, 3], keepDims: true };
    const d = sub(x, mean(x, keep));
    const v = mean(mul(d, d), keep);
    const s = [1, x.shape[1], 1, 1];
    return add(mul(div(d, sqrt(add(v, 1e-5))), reshape(w, s)), reshape(b, s));
  };
  for (const dtype of ["float32", "float64"] as const) {
    const bn = nn.batchNorm2d({ numFeatures: 3, dtype });
    const [kx, kw, kb, kg] = random.split(random.key(5), 4);
    const x = add(mul(random.normal(kx, [4, 3, 5, 6], { dtype }), 2), 3);
    const w = random.normal(kw, [3], { dtype });
    const b = random.normal(kb, [3], { dtype });
    const g = random.normal(kg, [4, 3, 5, 6], { dtype });
    const layer = (x: Tensor, w: Tensor, b: Tensor) =>
      bn.applyWithState({ weight: w, bias: b }, bn.initState(), x, {
        training: true,
      }).y;
    const [y, back] = vjp(layer, x, w, b);
    const [yRef, backRef] = vjp(formula, x, w, b);
    const tol = dtype === "float32"
      ? { atol: 1e-5, rtol: 1e-5 }
      : { atol: 1e-12, rtol: 1e-12 };
    assert.equal(y.dtype, dtype);
    assertAllClose(y, yRef, { ...tol, msg: `${dtype} y` });
    const got = back(g), want = backRef(g);
    for (const [i, name] of ["x", "weight", "bias"].entries()) {
      assert.equal(got[i].dtype, dtype);
      assertAllClose(got[i], want[i], { ...tol, msg: `${dtype} grad ${name}` });
    }
  }
  // the derivative kernels' own derivatives: the input and weight gradients
  // (as functions of g, x, w) to order 2, so batchNorm to order 3
  const [kx, kw, kb, kg] = random.split(random.key(6), 4);
  const args: [Tensor, Tensor, Tensor, Tensor] = [
    random.normal(kg, [3, 2, 2, 3], { dtype: "float64" }),
    random.normal(kx, [3, 2, 2, 3], { dtype: "float64" }),
    random.normal(kw, [2], { dtype: "float64" }),
    random.normal(kb, [2], { dtype: "float64" }),
  ];
  const f = (x: Tensor, w: Tensor, b: Tensor) =>
    batchNorm(x, { training: true, weight: w, bias: b, eps: 0.1 }).y;
  for (const i of [0, 1, 2]) {
    checkGrads(
      (g: Tensor, x: Tensor, w: Tensor, b: Tensor) => vjp(f, x, w, b)[1](g)[i],
      args,
      { order: 2 },
    );
  }
});

Deno.test("plain apply on a layer with state, at any depth, is an error naming it and pointing to applyWithState", () => {
  const hint =
    "has state \\(buffers\\) that plain apply would leave at their initial values: use applyWithState\\(params, state, x, \\{ training \\}\\)";
  const bn = nn.batchNorm2d({ numFeatures: 2 });
  const block = nn.model(
    { conv: nn.conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1 }) },
    (m, x) => m.conv(x),
    { name: "Block" },
  );
  const cases: [string, nn.AnyLayer, RegExp][] = [
    ["leaf", bn, new RegExp(`nn.BatchNorm2d.apply: this BatchNorm2d ${hint}`)],
    [
      "sequential",
      nn.sequential(block, nn.relu, nn.relu, bn),
      new RegExp(`nn.Sequential.apply: layer 3 \\(BatchNorm2d\\) ${hint}`),
    ],
    [
      "named",
      nn.model({ block, norm: bn }, (m, x) => m.norm(m.block(x)), {
        name: "Net",
      }),
      new RegExp(`nn.Net.apply: layer norm \\(BatchNorm2d\\) ${hint}`),
    ],
    [
      "nested",
      nn.sequential(
        block,
        nn.model(
          {
            features: nn.sequential(
              nn.relu,
              nn.batchNorm2d({ numFeatures: 2 }),
            ),
          },
          (m, x) => m.features(x),
        ),
      ),
      new RegExp(
        `nn.Sequential.apply: layer 1.features.1 \\(BatchNorm2d\\) ${hint}`,
      ),
    ],
  ];
  const x = random.normal(random.key(1), [4, 2, 3, 3]);
  for (const [name, layer, message] of cases) {
    const params = layer.init(random.key(0));
    assert.throws(() => layer.apply(params, x), message, name);
    assert.throws(
      () => layer.apply(params, x, { training: true }),
      message,
      name,
    );
    // the state path works, and the same model without batch norm applies
    const { y } = layer.applyWithState(params, layer.initState(), x);
    assert.deepEqual(y.shape, [4, 2, 3, 3], name);
  }
  assert.deepEqual(
    block.apply(block.init(random.key(0)), x).shape,
    [4, 2, 3, 3],
  );
});

Deno.test("named model with a stateful child threads its state under the child's name", () => {
  const net = nn.model(
    {
      conv: nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
      bn: nn.batchNorm2d({ numFeatures: 2 }),
      drop: nn.dropout({ p: 0.5 }),
    },
    (m, x) => m.drop(m.call(nn.relu, m.bn(m.conv(x)))),
    { name: "WithBN" },
  );
  assert.ok(net.info.hasState && net.info.needsKey);
  const params = net.init(random.key(0));
  let state = net.initState();
  assert.deepEqual(Object.keys(state).sort(), ["bn", "conv", "drop"]);
  const x = random.normal(random.key(1), [3, 1, 6, 6]);
  for (let i = 0; i < 2; i++) {
    state = net.applyWithState(params, state, x, {
      training: true,
      key: random.key(i),
    }).state;
  }
  assert.equal(state.bn.num_batches_tracked.data[0], 2);
  assert.ok(Math.abs(state.bn.running_mean.data[0]) > 0);
  assert.deepEqual(
    treePaths(state).map(([p]) => p),
    ["bn.num_batches_tracked", "bn.running_mean", "bn.running_var"],
  );
});

// ---------------------------------------------------------------------------
// dropout and keys

Deno.test("dropout: identity unless training; training needs a key; same key same mask", () => {
  const drop = nn.dropout({ p: 0.25 });
  const x = random.normal(random.key(0), [4000]);
  assert.equal(drop.apply({}, x), x);
  assert.equal(drop.apply({}, x, { training: false, key: random.key(1) }), x);
  assert.throws(
    () => drop.apply({}, x, { training: true }),
    /nn.Dropout.apply: training needs opts.key/,
  );
  const a = drop.apply({}, x, { training: true, key: random.key(1) });
  const b = drop.apply({}, x, { training: true, key: random.key(1) });
  const c = drop.apply({}, x, { training: true, key: random.key(2) });
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.notDeepEqual(Array.from(a.data), Array.from(c.data));
  let zerosN = 0;
  a.data.forEach((v, i) => {
    if (v === 0) zerosN++;
    else assert.ok(Math.abs(v - x.data[i] / 0.75) < 1e-6);
  });
  assert.ok(zerosN > 900 && zerosN < 1100, `${zerosN} dropped of 4000`);
  assert.equal(nn.dropout({ p: 0 }).info.needsKey, false);
  assert.throws(
    () => nn.dropout({ p: 1.5 }),
    /nn.dropout: p must be in \[0, 1\]/,
  );
});

Deno.test("sequential splits the key among its dropout layers", () => {
  const net = nn.sequential(
    nn.dropout({ p: 0.5 }),
    nn.linear({ inFeatures: 8, outFeatures: 8 }),
    nn.dropout({ p: 0.5 }),
  );
  assert.equal(net.info.needsKey, true);
  const params = net.init(random.key(0));
  const x = random.normal(random.key(1), [16, 8]);
  const key = random.key(9);
  const y = net.apply(params, x, { training: true, key });
  // by hand: split(key, 2) gives one key per dropout, in order
  const [k0, k2] = random.split(key, 2);
  const h = nn.dropout({ p: 0.5 }).apply({}, x, { training: true, key: k0 });
  const h2 = nn.linear({ inFeatures: 8, outFeatures: 8 }).apply(params[1], h);
  const want = nn.dropout({ p: 0.5 }).apply({}, h2, {
    training: true,
    key: k2,
  });
  assert.deepEqual(toArray(y), toArray(want));
  assert.deepEqual(
    toArray(net.apply(params, x)),
    toArray(
      nn.linear({ inFeatures: 8, outFeatures: 8 }).apply(params[1], x),
    ),
  );
  assert.throws(
    () => net.apply(params, x, { training: true }),
    /training needs opts.key/,
  );
});

// ---------------------------------------------------------------------------
// gradients, purity, errors

Deno.test("grad through a model has the params' structure; apply mutates nothing", () => {
  const net = nn.lenet5({ dtype: "float64" });
  const params = net.init(random.key(0));
  const copy = treeLeaves(params).map((t) => Array.from(t.data));
  const x = random.normal(random.key(1), [2, 1, 32, 32], { dtype: "float64" });
  const xCopy = Array.from(x.data);
  const [loss, grads] = valueAndGrad((p: typeof params) =>
    sum(mul(net.apply(p, x), net.apply(p, x)))
  )(params);
  assert.ok(Number.isFinite(item(loss)));
  assert.deepEqual(
    treePaths(grads).map(([p, t]) => [p, t.shape]),
    treePaths(params).map(([p, t]) => [p, t.shape]),
  );
  assert.deepEqual(
    treeLeaves(params).map((t) => Array.from(t.data)),
    copy,
  );
  assert.deepEqual(Array.from(x.data), xCopy);
});

Deno.test("errors name the layer, the argument, what was expected and what came", () => {
  assert.throws(
    () => nn.softmax({} as never),
    /nn.softmax: options.dim is required/,
  );
  assert.throws(
    () => nn.zeroPad2d([1, 2, 3]),
    /nn.zeroPad2d: padding must be an integer >= 0 or 4 of them \(\[left, right, top, bottom\]\), got/,
  );
  assert.throws(
    () => nn.reflectionPad1d(-1),
    /nn.reflectionPad1d: padding must be an integer >= 0 or 2 of them \(\[left, right\]\)/,
  );
  assert.throws(
    () => nn.replicationPad2d(1).apply({}, zeros([4, 4])),
    /nn.ReplicationPad2d: expected a 3-D or 4-D input, got \[4,4\]/,
  );
  assert.throws(
    () => nn.reflectionPad2d(3).apply({}, zeros([1, 1, 3, 3])),
    /^Error: pad: /,
  );
  assert.throws(
    () =>
      nn.unflatten({ dim: 1, unflattenedSize: [3, 5] }).apply(
        {},
        zeros([2, 16]),
      ),
    /nn.Unflatten: unflattenedSize \[3,5\] does not multiply to axis 1's size 16 \(input \[2,16\]\)/,
  );
  assert.throws(
    () => nn.unflatten({ dim: 1, unflattenedSize: [-1, -1] }),
    /nn.unflatten: unflattenedSize must be a non-empty array of sizes >= 0 \(one may be -1\)/,
  );
  const bn1 = nn.batchNorm1d({ numFeatures: 3 }), p1 = bn1.init(random.key(0));
  assert.throws(
    () => bn1.applyWithState(p1, bn1.initState(), zeros([2, 3, 4, 4])),
    /nn.BatchNorm1d: expected a 2-D input \[N, C\] or a 3-D input \[N, C, L\], got \[2,3,4,4\]/,
  );
  assert.throws(
    () => bn1.applyWithState(p1, bn1.initState(), zeros([2, 4])),
    /nn.BatchNorm1d: expected 3 channels, got 4 \(input \[2,4\]\)/,
  );
  assert.throws(
    () => bn1.apply(p1, zeros([2, 3])),
    /nn.BatchNorm1d.apply: .*applyWithState/,
  );
  assert.throws(
    () => nn.linear({ inFeatures: 3 } as never),
    /nn.linear: options.outFeatures is required/,
  );
  assert.throws(
    () => nn.linear({ inFeatures: 3, outFeatures: 2, bais: false } as never),
    /nn.linear: unknown option "bais"/,
  );
  assert.throws(
    () => nn.conv2d({ inChannels: 3, outChannels: 4, kernelSize: 0 }),
    /nn.conv2d: kernelSize must be an integer >= 1/,
  );
  assert.throws(
    () =>
      nn.conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }),
    /divisible by groups 2/,
  );
  assert.throws(
    () =>
      nn.conv2d({
        inChannels: 1,
        outChannels: 1,
        kernelSize: 3,
        stride: 2,
        padding: "same",
      }),
    /padding "same" needs stride 1/,
  );
  assert.throws(
    () => nn.maxPool2d({ kernelSize: 2, padding: 2 }),
    /nn.maxPool2d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=2/,
  );
  assert.throws(
    () => nn.linear({ inFeatures: 2, outFeatures: 2, dtype: "int32" as never }),
    /dtype must be "float32" or "float64"/,
  );
  const fc1 = nn.linear({ inFeatures: 4, outFeatures: 2 });
  const p = fc1.init(random.key(0));
  assert.throws(
    () => fc1.apply({}, zeros([1, 4])),
    /nn.Linear.apply: params.weight must be a Tensor of shape \[2,4\]/,
  );
  assert.throws(
    () => fc1.apply({ ...p, weight: zeros([4, 2]) }, zeros([1, 4])),
    /params.weight has shape \[4,2\] but the layer expects \[2,4\]/,
  );
  assert.throws(
    () => fc1.apply(p, zeros([1, 3])),
    /linear: x has 3 features but weight expects 4/,
  );
  assert.throws(
    () => fc1.apply(p, zeros([1, 4]), { train: true } as never),
    /nn.Linear.apply: unknown option "train"/,
  );
  const seq = nn.sequential(fc1, nn.relu);
  assert.throws(
    () => seq.apply([p] as never, zeros([1, 4])),
    /nn.Sequential.apply: params must be an array with one entry per layer \(2\)/,
  );
  assert.throws(
    () => nn.sequential(nn.relu, nn.flatten as never),
    /nn.sequential: layer 1 must be a layer .*call it/,
  );
  const net = nn.lenet5();
  assert.throws(
    () => net.apply({ conv1: {} } as never, zeros([1, 1, 32, 32])),
    /nn.Net.apply: params must be an object with one entry per child \(conv1, conv2, fc1, fc2, fc3\), got .* without "conv2"/,
  );
  assert.throws(
    () => nn.model({ call: nn.relu }, (_m, x) => x),
    /a child cannot be named "call"/,
  );
  assert.throws(
    () =>
      nn.model(
        { a: nn.relu },
        (m, x) => m.call(nn.linear({ inFeatures: 1, outFeatures: 1 }), x),
      ).apply(
        { a: {} },
        zeros([1, 1]),
      ),
    /m.call\(Linear\) takes only layers without params, state or key; register it as a child/,
  );
});

Deno.test("nn.upsamplingNearest2d, upsamplingBilinear2d and softmax2d: PyTorch's reprs, nn.upsample's and softmax's values", () => {
  const x = T.random.normal(T.random.key(3), [2, 3, 4, 5]);
  const near = T.nn.upsamplingNearest2d({ scaleFactor: 2 });
  assert.equal(
    near.info.repr,
    "UpsamplingNearest2d(scale_factor=2.0, mode=nearest)",
  );
  assert.deepEqual(
    near.apply({}, x).data,
    T.nn.upsample({ scaleFactor: 2 }).apply({}, x).data,
  );
  const bil = T.nn.upsamplingBilinear2d({ size: [7, 3] });
  assert.equal(
    bil.info.repr,
    "UpsamplingBilinear2d(size=(7, 3), mode=bilinear)",
  );
  assert.deepEqual(
    bil.apply({}, x).data,
    T.interpolate(x, { size: [7, 3], mode: "bilinear", alignCorners: true })
      .data,
  );
  assert.deepEqual(T.nn.softmax2d.apply({}, x).data, T.softmax(x, 1).data);
  assert.deepEqual(
    T.nn.softmax2d.apply({}, T.reshape(x, [6, 4, 5])).shape,
    [6, 4, 5],
  );
  assert.throws(
    () => T.nn.softmax2d.apply({}, T.zeros([2, 3])),
    /nn.Softmax2d.apply: x must be \[N, C, H, W\] or \[C, H, W\], got Tensor float32 \[2,3\]/,
  );
  assert.throws(
    () =>
      T.nn.upsamplingBilinear2d({ scaleFactor: 2, mode: "nearest" } as never),
    /nn.upsamplingBilinear2d: unknown option "mode"/,
  );
});

Deno.test("interpolate: an input with an empty spatial axis is an error naming interpolate and x (as PyTorch), not one of its internal gather; an empty batch resizes", () => {
  for (const shape of [[1, 1, 0, 0], [1, 1, 0, 3]]) {
    for (const mode of ["nearest", "bilinear", "bicubic"] as const) {
      assert.throws(
        () => T.interpolate(T.ones(shape), { size: 2, mode }),
        new RegExp(
          `^Error: interpolate: x's spatial sizes must be >= 1, got x \\[${shape}\\]$`,
        ),
      );
    }
  }
  assert.deepEqual(
    T.interpolate(T.ones([0, 1, 2, 2]), { size: 3 }).shape,
    [0, 1, 3, 3],
  );
});
