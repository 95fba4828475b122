/**
 * Every layer constructor of nn/layers.ts and the containers against the
 * torch.nn module built with the same options (tests/fixtures/layers_probe.json,
 * written by tests/fixtures/gen_layers_probe.py with PyTorch 1.13): the
 * repr, the state_dict's keys and shapes (parameters in `init`'s tree,
 * buffers in `initState`'s), and the outputs in evaluation and training
 * mode for torch's parameters and buffers (with the buffers after the
 * training step), in float64, and the constructor call `nn.toTorch` writes
 * (`info.torch ?? info.repr`) against one that rebuilds the module. Then the
 * default initialisation's distributions, the constructors' errors and
 * nn.model's child names.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/layers_probe.json" with { type: "json" };

const { nn, random } = T;
type J = { shape: number[]; dtype: string; data: (number | string)[] };
const toT = (j: J): Tensor =>
  T.tensor(j.data.map(Number), { shape: j.shape, dtype: j.dtype as T.DType });
type Case = {
  name: string;
  fn: string;
  args: unknown[] | null;
  ctor: string;
  repr: string;
  call: string | null;
  keys: [string, number[], string][];
  state: Record<string, J>;
  x: J;
  eval: J;
  train: J | null;
  trainState: Record<string, J>;
};
type Seq = Omit<Case, "fn" | "args" | "call"> & { spec: unknown };
const tol = { atol: 1e-12, rtol: 1e-10 };
const cases = fixture.cases as unknown as Case[];
const byName = new Map(cases.map((c) => [c.name, c]));
const ctors = nn as unknown as Record<
  string,
  ((...a: unknown[]) => T.nn.AnyLayer) | T.nn.AnyLayer
>;

/** The case's layer, float64 where it has parameters or buffers. */
function build(c: Case): T.nn.AnyLayer {
  const make = (args: unknown[]) =>
    (ctors[c.fn] as (...a: unknown[]) => T.nn.AnyLayer)(...args);
  if (c.args === null) return ctors[c.fn] as T.nn.AnyLayer;
  const layer = make(c.args);
  if (Object.keys(c.state).length === 0) return layer;
  return make([{ ...(c.args[0] as object ?? {}), dtype: "float64" }]);
}

/** A container from the fixture's spec: a case name, ["seq", ...], ["model", name, children]. */
function buildSpec(spec: unknown): T.nn.AnyLayer {
  if (typeof spec === "string") return build(byName.get(spec)!);
  const [kind, ...rest] = spec as [string, ...unknown[]];
  if (kind === "seq") return nn.sequential(...rest.map(buildSpec));
  const [name, children] = rest as [string, Record<string, unknown>];
  const built = Object.fromEntries(
    Object.entries(children).map(([k, s]) => [k, buildSpec(s)]),
  );
  assert.equal(name, "Block");
  // gen_layers_probe.py's Block.forward
  return nn.model(
    built,
    (m, x) => m.head(T.relu(m.bn(m.conv(x)))),
    { name },
  );
}

/** The state_dict of a layer's params and state: dotted path -> tensor. */
function stateDict(layer: T.nn.AnyLayer): [string, Tensor][] {
  return [
    ...T.treePaths(layer.init(random.key(0)) as T.Tree),
    ...T.treePaths(layer.initState() as T.Tree),
  ];
}

/** A tree like `tree` with each leaf replaced by the fixture's entry at its path. */
function fromFixture(tree: unknown, state: Record<string, J>): unknown {
  const [leaves, def] = T.treeFlatten(tree as T.Tree);
  const paths = T.treePaths(tree as T.Tree);
  assert.equal(leaves.length, paths.length);
  return T.treeUnflatten(
    def,
    paths.map(([p, v]) => {
      const j = state[p];
      // torch's int64 num_batches_tracked is the library's int32 count
      return j.dtype === v.dtype ? toT(j) : T.astype(toT(j), v.dtype);
    }),
  );
}

function check(c: Case | Seq, layer: T.nn.AnyLayer): void {
  assert.equal(layer.info.repr, c.repr, "repr");
  // the constructor call (nn.toTorch writes it): the repr where info.torch
  // is absent, else the call that rebuilds the module, perhaps with the
  // settings its repr leaves out after it
  const call = "call" in c ? c.call : null;
  if (call !== null) {
    const t = layer.info.torch;
    if (t === undefined) assert.equal(layer.info.repr, call, "call");
    else {
      assert.ok(
        t === call || t.startsWith(`${call.slice(0, -1)}, `),
        `call ${t}, expected ${call}`,
      );
    }
  }
  const sd = stateDict(layer);
  assert.deepEqual(
    sd.map(([k]) => k).sort(),
    c.keys.map(([k]) => k).sort(),
    "state_dict keys",
  );
  for (const [k, shape, dtype] of c.keys) {
    const t = sd.find(([p]) => p === k)![1];
    assert.deepEqual(t.shape, shape, `${k} shape`);
    assert.equal(t.dtype, dtype === "int64" ? "int32" : dtype, `${k} dtype`);
  }
  const params = fromFixture(layer.init(random.key(0)), c.state);
  const state = fromFixture(layer.initState(), c.state);
  const x = toT(c.x);
  const ev = layer.applyWithState(params, state, x, { training: false });
  assertAllClose(ev.y, toT(c.eval), { ...tol, msg: "eval output" });
  assert.deepEqual(layer.info.outputShape(x.shape), ev.y.shape, "outputShape");
  if (c.train === null) return;
  const tr = layer.applyWithState(params, state, x, {
    training: true,
    key: random.key(1),
  });
  assertAllClose(tr.y, toT(c.train), { ...tol, msg: "train output" });
  for (const [p, v] of T.treePaths(tr.state as T.Tree)) {
    assertAllClose(
      T.astype(v, "float64"),
      T.astype(toT(c.trainState[p]), "float64"),
      {
        ...tol,
        msg: `train state ${p}`,
      },
    );
  }
}

Deno.test("nn layers against torch.nn: repr, state_dict keys and shapes, eval and train outputs", async (t) => {
  for (const c of cases) {
    await t.step(`${c.name}: ${c.ctor} on [${c.x.shape}]`, () => {
      check(c, build(c));
    });
  }
});

Deno.test("containers against torch.nn: nested reprs, keys, outputs", async (t) => {
  for (const c of fixture.seqs as unknown as Seq[]) {
    await t.step(`${c.name}: ${c.ctor}`, () => check(c, buildSpec(c.spec)));
  }
});

/** Checks `vals` against U(-b, b): inside, reaching both ends, mean and mean square (5σ, CLT). */
function assertUniform(vals: Float64Array, b: number, msg: string): void {
  const n = vals.length;
  let lo = Infinity, hi = -Infinity, s1 = 0, s2 = 0;
  for (const v of vals) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    s1 += v;
    s2 += v * v;
  }
  assert.ok(lo >= -b && hi <= b, `${msg}: [${lo}, ${hi}] outside ±${b}`);
  // P(max < b(1 - 20/n)) = (1 - 10/n)^n < e^-10
  assert.ok(
    hi > b * (1 - 20 / n) && lo < -b * (1 - 20 / n),
    `${msg}: [${lo}, ${hi}] far inside ±${b}`,
  );
  // mean 0 with sd b/sqrt(3n); E[x²] = b²/3 with Var(x²) = 4b⁴/45
  assert.ok(
    Math.abs(s1 / n) < 5 * b / Math.sqrt(3 * n),
    `${msg}: mean ${s1 / n}`,
  );
  assert.ok(
    Math.abs(s2 / n - b * b / 3) < 5 * b * b * Math.sqrt(4 / 45 / n),
    `${msg}: mean square ${s2 / n}, expected ${b * b / 3}`,
  );
}

Deno.test("init: weights as torch's kaiming_uniform_(a=sqrt(5)) and biases U(±1/sqrt(fan_in)), fan_in from the weight's second axis", () => {
  // torch.nn.init.kaiming_uniform_(w, a=sqrt(5)): bound = gain · sqrt(3 / fan_in)
  // with gain = sqrt(2 / (1 + a²)); fan_in = w.size(1) · prod(kernel)
  // (_calculate_fan_in_and_fan_out), for transposed convolutions too
  const kaiming = (fanIn: number) =>
    Math.sqrt(2 / (1 + 5)) * Math.sqrt(3 / fanIn);
  const f64 = "float64" as const;
  const layers: [string, T.nn.AnyLayer, number][] = [
    [
      "Linear(37, 300)",
      nn.linear({ inFeatures: 37, outFeatures: 300, dtype: f64 }),
      37,
    ],
    [
      "Conv1d(6, 40, 5, groups=2)",
      nn.conv1d({
        inChannels: 6,
        outChannels: 40,
        kernelSize: 5,
        groups: 2,
        dtype: f64,
      }),
      3 * 5,
    ],
    [
      "Conv2d(4, 64, (3, 2), groups=2)",
      nn.conv2d({
        inChannels: 4,
        outChannels: 64,
        kernelSize: [3, 2],
        groups: 2,
        dtype: f64,
      }),
      2 * 3 * 2,
    ],
    [
      "Conv3d(3, 20, (2, 3, 2))",
      nn.conv3d({
        inChannels: 3,
        outChannels: 20,
        kernelSize: [2, 3, 2],
        dtype: f64,
      }),
      3 * 12,
    ],
    [
      "ConvTranspose1d(6, 9, 3, groups=3)",
      nn.convTranspose1d({
        inChannels: 6,
        outChannels: 9,
        kernelSize: 3,
        groups: 3,
        dtype: f64,
      }),
      3 * 3,
    ],
    [
      "ConvTranspose2d(4, 6, (2, 3), groups=2)",
      nn.convTranspose2d({
        inChannels: 4,
        outChannels: 6,
        kernelSize: [2, 3],
        groups: 2,
        dtype: f64,
      }),
      3 * 6,
    ],
    [
      "ConvTranspose3d(2, 4, 2)",
      nn.convTranspose3d({
        inChannels: 2,
        outChannels: 4,
        kernelSize: 2,
        dtype: f64,
      }),
      4 * 8,
    ],
  ];
  for (const [name, layer, fanIn] of layers) {
    const ws: number[] = [], bs: number[] = [];
    // enough draws: at least 4,000 of each
    for (let i = 0; ws.length < 4000 || bs.length < 4000; i++) {
      const p = layer.init(random.key(100 + i)) as Record<string, Tensor>;
      ws.push(...p.weight.data);
      bs.push(...p.bias.data);
      // weight and bias from different keys
      assert.notDeepEqual([...p.bias.data.slice(0, 3)], [
        ...p.weight.data.slice(0, 3),
      ]);
    }
    assertUniform(Float64Array.from(ws), kaiming(fanIn), `${name} weight`);
    assertUniform(Float64Array.from(bs), 1 / Math.sqrt(fanIn), `${name} bias`);
  }
});

Deno.test("init: embedding N(0, 1) with the padding row zeroed; norms ones and zeros; running stats 0, 1, 0; PReLU 0.25", () => {
  const emb = nn.embedding({
    numEmbeddings: 500,
    embeddingDim: 20,
    paddingIdx: -3,
    dtype: "float64",
  });
  const w = emb.init(random.key(3)).weight.data as Float64Array;
  const row = 497 * 20; // padding_idx -3 of 500 is row 497, zeros
  assert.deepEqual([...w.slice(row, row + 20)], new Array(20).fill(0));
  const rest = [...w.slice(0, row), ...w.slice(row + 20)];
  const n = rest.length;
  const mean = rest.reduce((a, b) => a + b, 0) / n;
  const sq = rest.reduce((a, b) => a + b * b, 0) / n;
  const tail = rest.filter((v) => Math.abs(v) > 1.959963984540054).length / n;
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(sq - 1) < 5 * Math.sqrt(2 / n), `mean square ${sq}`); // Var(z²) = 2
  assert.ok(
    Math.abs(tail - 0.05) < 5 * Math.sqrt(0.05 * 0.95 / n),
    `P(|z| > 1.96) ${tail}`,
  );
  const ones = (t: Tensor) => [...t.data].every((v) => v === 1);
  const zeros = (t: Tensor) => [...t.data].every((v) => v === 0);
  for (
    const layer of [
      nn.batchNorm1d({ numFeatures: 3 }),
      nn.batchNorm2d({ numFeatures: 3 }),
      nn.batchNorm3d({ numFeatures: 3 }),
      nn.instanceNorm2d({
        numFeatures: 3,
        affine: true,
        trackRunningStats: true,
      }),
      nn.groupNorm({ numGroups: 1, numChannels: 3 }),
      nn.layerNorm({ normalizedShape: [3, 2] }),
    ]
  ) {
    const p = layer.init(random.key(0)) as Record<string, Tensor>;
    assert.ok(ones(p.weight) && zeros(p.bias), layer.info.name);
    if (layer.info.hasState) {
      const s = layer.initState() as Record<string, Tensor>;
      assert.ok(zeros(s.running_mean) && ones(s.running_var), layer.info.name);
      assert.equal(s.num_batches_tracked.dtype, "int32");
      assert.deepEqual(s.num_batches_tracked.shape, []);
      assert.equal(s.num_batches_tracked.data[0], 0);
    }
  }
  assert.deepEqual([
    ...nn.prelu({ numParameters: 2 }).init(random.key(0)).weight.data,
  ], [0.25, 0.25]);
});

Deno.test("constructors: bad options (torch's rules) are errors naming the layer and the option", () => {
  const bad: [() => unknown, RegExp][] = [
    // torch: ValueError('in_channels must be divisible by groups')
    [
      () =>
        nn.conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }),
      /^nn\.conv2d: inChannels 3 .* divisible by groups 2/,
    ],
    [
      () =>
        nn.convTranspose1d({
          inChannels: 4,
          outChannels: 3,
          kernelSize: 3,
          groups: 2,
        }),
      /^nn\.convTranspose1d: .*outChannels 3 .*groups 2/,
    ],
    // torch: ValueError("padding='same' is not supported for strided convolutions")
    [
      () =>
        nn.conv2d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          padding: "same",
          stride: 2,
        }),
      /^nn\.conv2d: padding "same" needs stride 1/,
    ],
    [
      () =>
        nn.conv1d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          padding: "same",
          stride: 2,
        }),
      /^nn\.conv1d: padding "same" needs stride 1/,
    ],
    [
      () =>
        nn.conv3d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          padding: "same",
          stride: [1, 1, 2],
        }),
      /^nn\.conv3d: padding "same" needs stride 1/,
    ],
    [
      () => nn.conv2d({ inChannels: 3, outChannels: 4, kernelSize: [2, 0] }),
      /^nn\.conv2d: kernelSize must be .* got \[2,0\]/,
    ],
    [
      () =>
        nn.conv2d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          padding: -1,
        }),
      /^nn\.conv2d: padding must be .* got -1/,
    ],
    [
      () =>
        nn.conv2d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          paddingMode: "foo" as never,
        }),
      /^nn\.conv2d: paddingMode must be/,
    ],
    // torch: output padding must be smaller than either stride or dilation
    [
      () =>
        nn.convTranspose2d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          stride: 2,
          outputPadding: 2,
        }),
      /^nn\.convTranspose2d: outputPadding must be smaller than either stride or dilation/,
    ],
    // torch: ValueError("dropout probability has to be between 0 and 1")
    [
      () => nn.dropout({ p: 1.5 }),
      /^nn\.dropout: p must be in \[0, 1\], got 1\.5/,
    ],
    [() => nn.dropout2d({ p: -0.1 }), /^nn\.dropout2d: p must be in \[0, 1\]/],
    // torch: pad should be at most half of effective kernel size
    [
      () => nn.maxPool2d({ kernelSize: 2, padding: 2 }),
      /^nn\.maxPool2d: pad should be at most half/,
    ],
    [
      () => nn.avgPool1d({ kernelSize: 2, padding: 2 }),
      /^nn\.avgPool1d: pad should be at most half/,
    ],
    [
      () => nn.avgPool2d({ kernelSize: 2, divisorOverride: 0 }),
      /^nn\.avgPool2d: divisorOverride/,
    ],
    [
      () => nn.groupNorm({ numGroups: 3, numChannels: 4 }),
      /^nn\.groupNorm: numChannels 4 must be divisible by numGroups 3/,
    ],
    // torch: AssertionError('Padding_idx must be within num_embeddings')
    [
      () => nn.embedding({ numEmbeddings: 3, embeddingDim: 2, paddingIdx: 3 }),
      /^nn\.embedding: paddingIdx must be an integer in \[-3, 3\)/,
    ],
    [
      () => nn.hardtanh({ minVal: 1, maxVal: 1 }),
      /^nn\.hardtanh: minVal must be below maxVal/,
    ],
    [
      () => nn.upsample({ size: 4, scaleFactor: 2 }),
      /^nn\.upsample: give exactly one of/,
    ],
    // named by the layer, not by the op whose checks it runs
    [
      () => nn.celu({ alpha: 0 }),
      /^nn\.celu: alpha must be a finite nonzero number/,
    ],
    [() => nn.softshrink({ lambd: -1 }), /^nn\.softshrink: lambd must be/],
    [() => nn.hardshrink({ lambd: -1 }), /^nn\.hardshrink: lambd must be/],
    // torch's ConstantPad2d(padding, value) requires the value
    [
      () => (nn.constantPad2d as (p: number) => unknown)(1),
      /^nn\.constantPad2d: value must be a number, got undefined/,
    ],
    [
      () => (nn.constantPad1d as (p: number) => unknown)(1),
      /^nn\.constantPad1d: value must be a number/,
    ],
  ];
  for (const [f, message] of bad) assert.throws(f, { message });
});

Deno.test('nn.model: a child named "" or with a "." is an error, as torch\'s add_module (its params\' paths would not be state_dict keys)', () => {
  // torch: nn.Module().add_module("a.b", m) -> KeyError('module name can\'t contain ".", got: a.b');
  // add_module("", m) -> KeyError('module name can\'t be empty string ""'); "0" and "conv 1" are taken
  const lin = nn.linear({ inFeatures: 2, outFeatures: 1 });
  for (const k of ["a.b", ""]) {
    assert.throws(
      () => nn.model({ [k]: lin }, (_m, x) => x),
      {
        message:
          /^nn\.model: a child's name must be non-empty and without "\."/,
      },
      JSON.stringify(k),
    );
  }
  for (const k of ["0", "conv 1"]) {
    const m = nn.model({ [k]: lin }, (m, x) => m[k](x));
    assert.deepEqual(
      T.treePaths(m.init(random.key(0)) as T.Tree).map(([p]) => p),
      [`${k}.bias`, `${k}.weight`],
    );
  }
});

Deno.test("nn.softplus checks its options when built, as the op (beta 0 was accepted until apply)", () => {
  assert.throws(
    () => nn.softplus({ beta: 0 }),
    /^Error: nn\.softplus: beta must be nonzero, got 0$/,
  );
  assert.throws(() => nn.softplus({ threshold: NaN }), /^Error: nn\.softplus:/);
  assert.equal(
    nn.softplus({ beta: 2 }).info.repr,
    "Softplus(beta=2, threshold=20)",
  );
});
