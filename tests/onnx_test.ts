/**
 * ONNX export checked by a real runtime: every model and a matrix of layer
 * options exported with `nn.toOnnx`, run in ONNX Runtime (tests/_onnxruntime.ts)
 * on a batch size other than the one traced, and compared with `apply`.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { type OnnxJob, type OnnxTensor, runOnnxAll } from "./_onnxruntime.ts";
import { bridgeCases, checkBridgeCase } from "./_torch_bridge.ts";
import { assertAllClose } from "./_helpers.ts";
import {
  type AnyLayer,
  modelCases,
  optionCases,
  paramsAndState,
} from "./_onnx_models.ts";

const { nn, random } = T;

/** Exports `net` (traced at batch 2), and its `apply` at batch 3: a job for ONNX Runtime and the expected output. */
function prepare(net: AnyLayer, shape: number[]): [OnnxJob, Tensor] {
  const { params, state } = paramsAndState(net, shape);
  const model = nn.toOnnx(net, params, { inputShape: shape, state });
  const x = random.normal(random.key(2), [3, ...shape.slice(1)]);
  const y = state === undefined
    ? net.apply(params, x)
    : (net.applyWithState(params, state, x) as { y: Tensor }).y;
  const input = { data: x.data as Float32Array, shape: [...x.shape] };
  return [{ model, inputs: { input } }, y];
}

function compare(name: string, out: Record<string, OnnxTensor>, y: Tensor) {
  assert.deepEqual(out.output.shape, [...y.shape], `${name}: output shape`);
  assertAllClose(T.tensor(out.output.data, { shape: out.output.shape }), y, {
    atol: 1e-5,
    rtol: 1e-5,
    msg: `${name}: ONNX Runtime vs apply`,
  });
}

/** Exports each case and compares ONNX Runtime with `apply` (one runtime process for all), a step per case. */
async function checkAll(
  t: Deno.TestContext,
  cases: [string, AnyLayer, number[]][],
) {
  const prepared = cases.map(([, net, shape]) => prepare(net, shape));
  const outs = await runOnnxAll(prepared.map(([job]) => job));
  for (const [k, [name]] of cases.entries()) {
    await t.step(name, () => compare(name, outs[k], prepared[k][1]));
  }
}

Deno.test("toOnnx: the tutorials' models run in ONNX Runtime as in apply (LeNet-5, the bird/plane net, SimpleCNN)", async (t) => {
  await checkAll(t, modelCases().filter(([name]) => name !== "vgg16"));
});

Deno.test("VGG16 at 32x32 (138M parameters, initialised once): toOnnx runs in ONNX Runtime as apply does, and toTorch's module in PyTorch (the bridge fixture)", async (t) => {
  await checkAll(t, modelCases().filter(([name]) => name === "vgg16"));
  await t.step(
    "toTorch",
    () => checkBridgeCase(bridgeCases.find((c) => c.name === "vgg16")!),
  );
});

Deno.test("toOnnx: a matrix of layer options", async (t) => {
  await checkAll(t, optionCases());
});

Deno.test("toOnnx: the math ops with an ONNX operator (Sin ... Round, Clip) run in ONNX Runtime as in apply", async (t) => {
  const ops = [T.sin, T.cos, T.sinh, T.cosh, T.atan, T.floor, T.ceil, T.round];
  const net = nn.defineLayer({
    name: "Math",
    apply: (_p, x) =>
      T.concat([
        ...ops.map((f) => f(T.mul(x, 2.5))),
        T.tan(T.mul(x, 0.3)),
        T.asin(T.tanh(x)),
        T.acos(T.tanh(x)),
        T.clamp(x, { min: -0.5, max: 1 }),
        T.clamp(x, { min: 0.25 }),
      ], 1),
    outputShape: (s) => [s[0], 13 * s[1]],
  }) as AnyLayer;
  await checkAll(t, [["math ops", net, [2, 16]]]);
});

Deno.test("toOnnx: cumprod (no ONNX operator: a doubling scan of Pad and Mul) runs in ONNX Runtime as in apply", async (t) => {
  const net = (axis: number) =>
    nn.defineLayer({
      name: "Cumprod",
      // values near 1, so the products stay in range
      apply: (_p, x) => T.cumprod(T.add(T.mul(x, 0.1), 1), { axis }),
    }) as AnyLayer;
  await checkAll(t, [
    ["cumprod along 7", net(1), [2, 7]],
    ["cumprod along 1", net(1), [2, 1, 3]],
    ["cumprod along 4 of 3 axes", net(2), [2, 3, 4]],
  ]);
  assert.throws(
    () => nn.toOnnx(net(0), {}, { inputShape: [2, 3] }),
    /toOnnx: cumprod along an axis whose size is the batch size \(axis 0 of \[2,3\]\)/,
  );
});

Deno.test("toOnnx: a spatial transformer (affineGrid, gridSample bilinear, nearest and bicubic; a parameter broadcast to the batch) runs in ONNX Runtime at another batch size", async (t) => {
  const warp = (paddingMode: "zeros" | "border" | "reflection") =>
    nn.defineLayer({
      name: "Warp",
      params: { theta: { shape: [1, 2, 3], dtype: "float32" } },
      init: () => ({
        theta: T.tensor([[[0.9, 0.2, 0.1], [-0.1, 1.2, -0.05]]]),
      }),
      apply: (p, x) => {
        const n = x.shape[0];
        const theta = T.broadcastTo(p.theta, [n, 2, 3]);
        const grid = T.affineGrid(theta, [n, x.shape[1], 5, 6]);
        return T.add(
          T.add(
            T.gridSample(x, grid, { paddingMode }),
            T.gridSample(x, grid, { mode: "nearest", alignCorners: true }),
          ),
          T.gridSample(x, grid, { mode: "bicubic", paddingMode }),
        );
      },
      outputShape: (s) => [s[0], s[1], 5, 6],
    }) as AnyLayer;
  await checkAll(t, [
    ["zeros", warp("zeros"), [2, 3, 7, 8]],
    ["border", warp("border"), [2, 3, 7, 8]],
    ["reflection", warp("reflection"), [2, 3, 7, 8]],
  ]);
});

Deno.test("toOnnx: a constant whose shape comes from the batch size is an error, not a model fixed to one batch", () => {
  const net = nn.defineLayer({
    name: "BatchConstant",
    apply: (_p, x) => T.add(x, T.zeros([x.shape[0], 1])),
  }) as AnyLayer;
  assert.throws(
    () => nn.toOnnx(net, {}, { inputShape: [2, 3] }),
    /^Error: toOnnx: BatchConstant passes add a constant of shape \[2,1\] that depends on the batch size \(\[3,1\] for a batch one larger\)/,
  );
});

Deno.test("toOnnx: what cannot be exported is an error naming it", () => {
  const params = {};
  assert.throws(
    () =>
      nn.toOnnx(
        nn.avgPool2d({
          kernelSize: 2,
          stride: 2,
          divisorOverride: 3,
          ceilMode: true,
        }) as AnyLayer,
        params,
        { inputShape: [1, 1, 5, 5] },
      ),
    /toOnnx: avgPool2d with divisorOverride and a ceilMode window past the padded input has no ONNX AveragePool equivalent/,
  );
  const bn = nn.batchNorm2d({ numFeatures: 2 }) as AnyLayer;
  assert.throws(
    () => nn.toOnnx(bn, bn.init(random.key(0)), { inputShape: [1, 2, 2, 2] }),
    /toOnnx: BatchNorm2d has state \(batch norm's running statistics\): pass it as options.state/,
  );
  assert.throws(
    () => nn.toOnnx(nn.relu as AnyLayer, {}, { inputShape: [0, 2] }),
    /toOnnx: inputShape must be an array of positive integers, batch first, got \[0,2\]/,
  );
});

Deno.test("toOnnx at opsets 18 and 21: ReduceMax takes its axes as an input (a softmax's max), so ONNX Runtime loads and runs the model as in apply; float64 params or state are an error naming the leaf", async (t) => {
  const cases: [string, AnyLayer, number[], number][] = [];
  for (const opset of [17, 18, 21]) {
    cases.push(
      [
        `softmax, opset ${opset}`,
        nn.sequential(
          nn.linear({ inFeatures: 4, outFeatures: 3 }),
          nn.softmax({ dim: 1 }),
        ),
        [2, 4],
        opset,
      ],
      [
        `logSoftmax, opset ${opset}`,
        nn.sequential(nn.logSoftmax({ dim: 1 })),
        [2, 5],
        opset,
      ],
    );
  }
  const prepared = cases.map(([, net, shape, opset]) => {
    const { params } = paramsAndState(net, shape);
    const model = nn.toOnnx(net, params, { inputShape: shape, opset });
    const x = random.normal(random.key(2), [3, ...shape.slice(1)]);
    const input = { data: x.data as Float32Array, shape: [...x.shape] };
    return [{ model, inputs: { input } }, net.apply(params, x)] as const;
  });
  const outs = await runOnnxAll(prepared.map(([job]) => job));
  for (const [k, [name]] of cases.entries()) {
    await t.step(name, () => compare(name, outs[k], prepared[k][1]));
  }
  const lin = nn.sequential(nn.linear({ inFeatures: 4, outFeatures: 3 }));
  const p64 = T.treeMap(
    (w: Tensor) => T.astype(w, "float64"),
    lin.init(random.key(0)),
  );
  assert.throws(
    () => nn.toOnnx(lin, p64, { inputShape: [2, 4] }),
    /^Error: toOnnx: params leaf "0\.bias" is float64, but the exported model is float32: convert the params first/,
  );
});

Deno.test("toOnnx: an inputShape that does not fit names the shape given (not the batch-plus-one shape of its second trace)", () => {
  const net = nn.sequential(
    nn.conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }),
  );
  assert.throws(
    () => nn.toOnnx(net, net.init(random.key(0)), { inputShape: [2, 5, 5] }),
    /^Error: toOnnx: inputShape \[2,5,5\] does not fit the layer: conv2d: weight has 2 input channels but x has 3/,
  );
});
