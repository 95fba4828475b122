/**
 * ONNX export beyond the layers of onnx_test.ts: the declared output (its
 * dtype and which dimensions are the batch, read back from the bytes by the
 * small protobuf reader below), slices counted from the end of the batch
 * axis, what depends on the batch size other than through the graph's ops
 * (an error, not a model right at one batch only), parameter names the graph
 * uses itself, batch norm without running statistics, and wrong arguments.
 * Models run in ONNX Runtime (tests/_onnxruntime.ts) at batch sizes other
 * than the one traced and are compared with `apply`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, withTempDir } from "./_helpers.ts";
import { type OnnxJob, runOnnxAll } from "./_onnxruntime.ts";
import type { AnyLayer } from "./_onnx_models.ts";
import { quiet } from "./_examples.ts";

const { nn, random } = T;

/** A parameterless layer computing `f`. */
const fl = (name: string, f: (x: Tensor) => Tensor) =>
  nn.defineLayer({ name, apply: (_p, x) => f(x) }) as AnyLayer;

/**
 * A protobuf message's fields, in order, from the wire format's spec:
 * [field number, a varint's value or a length-delimited field's bytes].
 */
function fields(b: Uint8Array): [number, number | Uint8Array][] {
  const out: [number, number | Uint8Array][] = [];
  let i = 0;
  const varint = () => {
    let v = 0, scale = 1, byte;
    do {
      byte = b[i++];
      v += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return v;
  };
  while (i < b.length) {
    const key = varint(), field = Math.floor(key / 8), wire = key % 8;
    if (wire === 0) out.push([field, varint()]);
    else if (wire === 2) {
      const n = varint();
      out.push([field, b.subarray(i, i + n)]);
      i += n;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const sub = (b: Uint8Array, f: number) =>
  fields(b).filter(([k]) => k === f).map(([, v]) => v as Uint8Array);

/**
 * A graph input's or output's declared type (ModelProto.graph 7,
 * GraphProto.input 11 / output 12, ValueInfoProto.type 2,
 * TypeProto.tensor_type 1: elem_type 1, shape 2 of dims 1, each dim_value 1,
 * dim_param 2 or neither).
 */
function declared(
  model: Uint8Array,
  which: "input" | "output",
): { elemType: number; dims: (number | string | null)[] } {
  const [graph] = sub(model, 7);
  const [info] = sub(graph, which === "input" ? 11 : 12);
  const [tensorType] = sub(sub(info, 2)[0], 1);
  const elemType = fields(tensorType).find(([k]) => k === 1)![1] as number;
  const dims = sub(sub(tensorType, 2)[0], 1).map((d) => {
    const [f] = fields(d);
    if (!f) return null;
    return f[0] === 1 ? f[1] as number : new TextDecoder().decode(
      f[1] as Uint8Array,
    );
  });
  return { elemType, dims };
}

/** Exports each layer (without state) at its shape and runs it in ONNX Runtime at each of its batch sizes, comparing with apply. */
async function checkInRuntime(
  cases: [string, AnyLayer, number[], number[], number?][],
): Promise<void> {
  const jobs: OnnxJob[] = [], expected: [string, Tensor][] = [];
  for (const [name, net, shape, batches, opset] of cases) {
    const params = net.init(random.key(1));
    const model = nn.toOnnx(net, params, { inputShape: shape, opset });
    for (const b of batches) {
      const x = random.normal(random.key(b), [b, ...shape.slice(1)]);
      const y = net.apply(params, x);
      const input = { data: x.data as Float32Array, shape: [...x.shape] };
      jobs.push({ model, inputs: { input } });
      expected.push([`${name}, batch ${b}`, y]);
    }
  }
  const outs = await runOnnxAll(jobs);
  outs.forEach(({ output }, k) => {
    const [what, y] = expected[k];
    assert.deepEqual(output.shape, [...y.shape], `${what}: output shape`);
    assertAllClose(
      T.tensor(output.data, { shape: output.shape }),
      T.astype(y, "float32"),
      { atol: 1e-5, rtol: 1e-5, msg: `${what}: ONNX Runtime vs apply` },
    );
  });
}

Deno.test("toOnnx: the output is declared with its own dtype (int32 from argmax and comparisons, float64) and its own dimensions (the batch where it is, fixed or unknown elsewhere), and ONNX Runtime runs it as apply", async () => {
  const cases: [string, AnyLayer, number, (number | string | null)[]][] = [
    ["argmax", fl("A", (x) => T.argmax(x, { axis: 1 })), 6, ["batch"]],
    ["greater", fl("G", (x) => T.greater(x, 0)), 6, ["batch", 5]],
    ["float64", fl("F", (x) => T.astype(x, "float64")), 11, ["batch", 5]],
    ["transpose", fl("Tr", (x) => T.transpose(x)), 1, [5, "batch"]],
    ["sum over the batch", fl("S", (x) => T.sum(x, { axis: 0 })), 1, [5]],
    [
      "a row added to the batch",
      fl("C", (x) => T.concat([x, T.ones([1, 5])], 0)),
      1,
      [null, 5],
    ],
  ];
  for (const [name, net, elemType, dims] of cases) {
    const model = nn.toOnnx(net, {}, { inputShape: [2, 5] });
    assert.deepEqual(declared(model, "output"), { elemType, dims }, name);
    assert.deepEqual(declared(model, "input"), {
      elemType: 1,
      dims: ["batch", 5],
    });
  }
  await checkInRuntime(
    cases.map(([name, net]) => [name, net, [2, 5], [1, 3]]),
  );
});

Deno.test("toOnnx: a slice of the batch axis counted from its end (x[:-1, 1:-1], x[-2:]) runs in ONNX Runtime as apply at other batch sizes", async () => {
  await checkInRuntime([
    [
      "x[:-1, 1:-1]",
      fl("S1", (x) => T.slice(x, [0, 1], [-1, -1])),
      [3, 5],
      [2, 4],
    ],
    [
      "x[-2:]",
      fl("S2", (x) => T.slice(x, [-2, 0], [x.shape[0], 3])),
      [3, 3],
      [2, 5],
    ],
    ["x[1:3]", fl("S3", (x) => T.slice(x, [1, 0], [3, 3])), [4, 3], [3, 5]],
  ]);
});

Deno.test("toOnnx: what depends on the batch size other than through the graph's ops (a mean over the batch, pad widths, a squeeze of the batch axis, a slice from 5 - N) is an error, not a model right at one batch size only", () => {
  const cases: [AnyLayer, number[], RegExp][] = [
    [
      fl("Mean", (x) => T.mean(x)),
      [2, 5],
      /^Error: toOnnx: Mean passes div a constant of shape \[\] that depends on the batch size \(other values for a batch one larger, as the count a mean over the batch divides by\)/,
    ],
    [
      fl("Center", (x) => T.sub(x, T.mean(x, { axis: 0 }))),
      [2, 5],
      /^Error: toOnnx: Center passes div a constant of shape \[\] that depends on the batch size/,
    ],
    [
      fl("Pad", (x) => T.pad(x, [[0, 0], [0, x.shape[0]]])),
      [2, 3],
      /^Error: toOnnx: Pad calls pad with settings that depend on the batch size \(\{"widths":\[\[0,0\],\[0,2\]\],"value":0\}, and \{"widths":\[\[0,0\],\[0,3\]\],"value":0\} for a batch one larger\)/,
    ],
    [
      fl("Squeeze", (x) => T.squeeze(x)),
      [1, 3, 1],
      /^Error: toOnnx: Squeeze calls reshape with a result of rank 1, and 2 for a batch one larger \(a squeeze of the batch axis\?\)/,
    ],
    [
      fl("Bad", (x) => T.slice(x, [5 - x.shape[0], 0], [x.shape[0], 3])),
      [3, 3],
      /^Error: toOnnx: slice's start along axis 0 depends on the batch size \(2 of 3, 1 of 4 for a batch one larger\) other than as a place counted from the end, which an ONNX Slice cannot express$/,
    ],
  ];
  for (const [net, shape, message] of cases) {
    assert.throws(() => nn.toOnnx(net, {}, { inputShape: shape }), message);
  }
});

Deno.test("toOnnx: parameters named as the graph's own values (t0, v2, const_0, batch_size, input_shape) keep their names and the model runs; input and output are errors", async () => {
  const named = (key: string) =>
    nn.defineLayer({
      name: "Named",
      params: { [key]: { shape: [5], dtype: "float32" } },
      init: () => ({ [key]: T.tensor([1, -2, 3, -4, 5]) }),
      // (a broadcast to the batch: the graph computes batch_size)
      apply: (p, x) =>
        T.relu(T.mul(T.add(x, T.broadcastTo(p[key], x.shape)), 2)),
    }) as AnyLayer;
  const keys = ["t0", "v2", "const_0", "batch_size", "input_shape"];
  await checkInRuntime(keys.map((k) => [k, named(k), [2, 5], [1, 3]]));
  for (const k of ["input", "output"]) {
    const net = named(k);
    assert.throws(
      () => nn.toOnnx(net, net.init(random.key(0)), { inputShape: [2, 5] }),
      new RegExp(
        `^Error: toOnnx: params leaf "${k}" has the name of the model's ${k}: name the parameter otherwise`,
      ),
    );
  }
});

Deno.test("toOnnx: batch norm without running statistics (the batch's statistics in inference, as PyTorch's) runs in ONNX Runtime as apply, at opsets 17 and 18", async () => {
  const cases: [string, AnyLayer, number[], number[], number][] = [];
  for (const opset of [17, 18]) {
    cases.push(
      [
        `batchNorm2d, opset ${opset}`,
        nn.sequential(
          nn.conv2d({ inChannels: 2, outChannels: 3, kernelSize: 2 }),
          nn.batchNorm2d({ numFeatures: 3, trackRunningStats: false }),
        ),
        [2, 2, 4, 5],
        [1, 3],
        opset,
      ],
      [
        `batchNorm1d on [N, C], no affine, opset ${opset}`,
        nn.sequential(
          nn.batchNorm1d({
            numFeatures: 4,
            trackRunningStats: false,
            affine: false,
            eps: 0.1,
          }),
        ),
        [2, 4],
        [3, 5],
        opset,
      ],
    );
  }
  await checkInRuntime(cases);
});

Deno.test("toOnnx: wrong arguments are errors naming what came and what was expected", () => {
  const net = nn.lenet5();
  const p = net.init(random.key(0));
  const opts = { inputShape: [1, 1, 32, 32] };
  const fc1 = (bias: Tensor) => ({ ...p, fc1: { ...p.fc1, bias } });
  const cases: [() => unknown, RegExp][] = [
    [
      () => nn.toOnnx(null as never, p, opts),
      /^Error: toOnnx: layer must be a layer \(.*\), got null/,
    ],
    [
      () => nn.toOnnx(net, null, opts),
      /^Error: toOnnx: params must be a tree of tensors \(layer\.init\(key\)'s\), got null/,
    ],
    [
      () =>
        nn.toOnnx(net, {
          ...p,
          conv1: { ...p.conv1, weight: T.zeros([6, 1, 3, 3]) },
        }, opts),
      /^Error: toOnnx: params leaf "conv1\.weight" is \[6,1,3,3\] float32, but Net expects \[6,1,5,5\] float32$/,
    ],
    [
      () => nn.toOnnx(net, { ...p, fc1: { weight: p.fc1.weight } }, opts),
      /^Error: toOnnx: params has no leaf "fc1\.bias" \(Net expects \[120\] float32\)$/,
    ],
    [
      () => nn.toOnnx(net, { ...p, head: { w: T.zeros([3]) } }, opts),
      /^Error: toOnnx: params leaf "head\.w" is not one of Net's$/,
    ],
    [
      () => nn.toOnnx(net, fc1(T.zeros([120], { dtype: "int32" })), opts),
      /^Error: toOnnx: params leaf "fc1\.bias" is \[120\] int32, but Net expects \[120\] float32$/,
    ],
    [
      () =>
        nn.toOnnx(
          net,
          fc1(T.concat([T.zeros([7]), T.tensor([NaN]), T.zeros([112])])),
          opts,
        ),
      /^Error: toOnnx: params leaf "fc1\.bias" holds NaN \(at flat index 7 of \[120\]\), which the model would pass on to its outputs: export params without NaN$/,
    ],
    [
      () => nn.toOnnx(net, p, { ...opts, opset: 27 }),
      /^Error: toOnnx: opset must be an integer from 17 to 26, got number 27$/,
    ],
  ];
  const bn = nn.sequential(nn.batchNorm2d({ numFeatures: 2 }));
  const bnState = bn.initState() as [Record<string, Tensor>];
  const withState = (s: unknown) => () =>
    nn.toOnnx(bn, bn.init(random.key(0)), {
      inputShape: [2, 2, 3, 3],
      state: s,
    });
  cases.push(
    [
      withState([{ ...bnState[0], running_var: T.full([2], NaN) }]),
      /^Error: toOnnx: state leaf "0\.running_var" holds NaN \(at flat index 0 of \[2\]\)/,
    ],
    [
      withState([{ ...bnState[0], running_mean: T.zeros([3]) }]),
      /^Error: toOnnx: state leaf "0\.running_mean" is \[3\] float32, but Sequential expects \[2\] float32$/,
    ],
  );
  const rnn = nn.rnn({ inputSize: 3, hiddenSize: 2 });
  cases.push([
    () => nn.toOnnx(rnn, rnn.init(random.key(0)), { inputShape: [5, 2, 3] }),
    /^Error: toOnnx: RNN applies other ops for another batch size, which an ONNX graph with a dynamic batch cannot express \(toOnnx takes the input's first axis as the batch: for a sequence-first recurrent layer, use batchFirst\)$/,
  ]);
  for (const [f, message] of cases) assert.throws(f, message);
  // the newest opset ONNX Runtime 1.30 runs is accepted
  assert.ok(nn.toOnnx(net, p, { ...opts, opset: 26 }).length > 4 * 61706);
});

Deno.test("examples/export.ts: params that turned NaN are an error naming the leaf, and no file is written", async () => {
  const { main: exportMain } = await import("../examples/export.ts");
  await withTempDir("export_probe_", async (dir) => {
    const net = nn.lenet5();
    const p = net.init(random.key(0));
    const bad = join(dir, "nan.safetensors");
    await T.data.saveSafetensors(bad, {
      ...p,
      conv2: { ...p.conv2, bias: T.full([16], NaN) },
    });
    const out = join(dir, "out");
    await assert.rejects(
      () => quiet(() => exportMain(["--load", bad, "--out", out])),
      /toOnnx: params leaf "conv2\.bias" holds NaN/,
    );
    const written = [];
    for await (const e of Deno.readDir(out)) written.push(e.name);
    assert.deepEqual(written, []);
  });
});

/**
 * Models named as the classes and builtins nn.toTorch's source uses (its
 * RNNOutput subclass, super, getattr): name, model, input shape. PyTorch's
 * outputs are in tests/fixtures/export_probe.json (gen_export_probe.py).
 */
export function torchProbeCases(): [string, AnyLayer, number[]][] {
  const lin = () => nn.linear({ inFeatures: 3, outFeatures: 3 });
  const rnn = () => nn.rnn({ inputSize: 3, hiddenSize: 3, batchFirst: true });
  return [
    [
      "a model called RNNOutput holding an RNN",
      nn.model({ r: rnn(), l: lin() }, (m, x) => m.l(m.r(x)), {
        name: "RNNOutput",
      }) as AnyLayer,
      [2, 4, 3],
    ],
    [
      "models called super and getattr, and a child called in (getattr(self, 'in'))",
      nn.model(
        {
          in: nn.model({ a: lin() }, (m, x) => m.a(x), { name: "getattr" }),
          s: nn.model({ b: rnn() }, (m, x) => m.b(x), { name: "super" }),
        },
        (m, x) => m.s(m.in(x)),
        { name: "Outer" },
      ) as AnyLayer,
      [2, 4, 3],
    ],
  ];
}

Deno.test("toTorch: models named as the source's own classes and builtins (RNNOutput, super, getattr) run in PyTorch as apply (the export_probe fixture); a child named as a torch.nn.Module attribute is an error", async () => {
  const fixture = JSON.parse(
    await Deno.readTextFile(
      new URL("./fixtures/export_probe.json", import.meta.url),
    ),
  ) as {
    cases: {
      name: string;
      source: string;
      output: { shape: number[]; data: number[] };
    }[];
  };
  const cases = torchProbeCases();
  assert.deepEqual(fixture.cases.map((c) => c.name), cases.map(([n]) => n));
  /** gen_export_probe.py's values: sin(0.7 i + n) / 2 over the flat index, n the key's place in the sorted keys (from 1). */
  const known = (n: number, shape: readonly number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size).map((_, i) =>
      Math.sin(0.7 * i + n) / 2
    );
    return T.tensor(data, { shape: [...shape] });
  };
  for (const [k, [name, net, shape]] of cases.entries()) {
    const c = fixture.cases[k];
    assert.equal(nn.toTorch(net, { inputShape: shape }), c.source, name);
    const init = net.init(random.key(0)) as T.Tree;
    const keys = T.treePaths(init).map(([p]) => p).sort();
    const [leaves, def] = T.treeFlatten(init);
    const paths = T.treePaths(init).map(([p]) => p);
    const params = T.treeUnflatten(
      def,
      leaves.map((t, i) => known(keys.indexOf(paths[i]) + 1, t.shape)),
    );
    const size = shape.reduce((a, b) => a * b, 1);
    const x = T.tensor(
      new Float32Array(size).map((_, i) => Math.cos(1.3 * i)),
      {
        shape,
      },
    );
    assertAllClose(
      net.apply(params, x),
      T.tensor(c.output.data, { shape: c.output.shape }),
      { atol: 1e-5, rtol: 1e-5, msg: name },
    );
  }
  for (const k of ["forward", "training", "eval"]) {
    const net = nn.model(
      { [k]: nn.linear({ inFeatures: 3, outFeatures: 3 }) },
      (m, x) => (m as unknown as Record<string, (x: Tensor) => Tensor>)[k](x),
      { name: "K" },
    );
    assert.throws(
      () => nn.toTorch(net, { inputShape: [2, 3] }),
      new RegExp(
        `^Error: toTorch: K's child "${k}" has the name of an attribute of torch\\.nn\\.Module, which a child module cannot take: rename the child$`,
      ),
    );
  }
  assert.throws(
    () => nn.toTorch(nn.lenet5(), { className: "super" }),
    /^Error: toTorch: className must not be super or getattr, Python builtins the source calls, got "super"$/,
  );
});
