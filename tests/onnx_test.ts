/**
 * ONNX export checked by a real runtime: every model and a matrix of layer
 * options exported with `nn.toOnnx`, run in ONNX Runtime (tests/_onnxruntime.ts)
 * on a batch size other than the one traced, and compared with `apply`.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { runOnnx } from "./_onnxruntime.ts";
import { assertAllClose } from "./_helpers.ts";
import {
  type AnyLayer,
  modelCases,
  optionCases,
  paramsAndState,
} from "./_onnx_models.ts";

const { nn, random } = T;

/** Exports `net` (traced at batch 2) and compares ONNX Runtime with `apply` at batch 3. */
async function check(name: string, net: AnyLayer, shape: number[]) {
  const { params, state } = paramsAndState(net, shape);
  const bytes = nn.toOnnx(net, params, { inputShape: shape, state });
  const x = random.normal(random.key(2), [3, ...shape.slice(1)]);
  const y = state === undefined
    ? net.apply(params, x)
    : (net.applyWithState(params, state, x) as { y: Tensor }).y;
  const out = await runOnnx(bytes, {
    input: { data: x.data as Float32Array, shape: [...x.shape] },
  });
  assert.deepEqual(out.output.shape, [...y.shape], `${name}: output shape`);
  assertAllClose(T.tensor(out.output.data, { shape: out.output.shape }), y, {
    atol: 1e-5,
    rtol: 1e-5,
    msg: `${name}: ONNX Runtime vs apply`,
  });
}

Deno.test("toOnnx: the tutorials' models run in ONNX Runtime as in apply (LeNet-5, the bird/plane net, SimpleCNN)", async () => {
  for (const [name, net, shape] of modelCases().slice(0, 3)) {
    await check(name, net, shape);
  }
});

Deno.test("toOnnx: VGG16 at a 32x32 input (138M parameters as initializers)", async () => {
  const [name, net, shape] = modelCases()[3];
  await check(name, net, shape);
});

Deno.test("toOnnx: a matrix of layer options", async (t) => {
  for (const [name, net, shape] of optionCases()) {
    await t.step(name, () => check(name, net, shape));
  }
});

Deno.test("toOnnx: the math ops with an ONNX operator (Sin ... Round, Clip) run in ONNX Runtime as in apply", async () => {
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
  await check("math ops", net, [2, 16]);
});

Deno.test("toOnnx: what cannot be exported is an error naming it", () => {
  const params = {};
  assert.throws(
    () =>
      nn.toOnnx(
        nn.avgPool2d({ kernelSize: 2, divisorOverride: 3 }) as AnyLayer,
        params,
        { inputShape: [1, 1, 4, 4] },
      ),
    /toOnnx: avgPool2d with divisorOverride has no ONNX AveragePool equivalent/,
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
