/**
 * The ONNX runtime harness (tests/_onnxruntime.ts, onnxruntime-web 1.30 in
 * WebAssembly) on tests/fixtures/tiny_conv.onnx, made by
 * tests/fixtures/gen_onnx.py: Conv(1->2, 3x3, pads 1) + Relu + MaxPool 2x2 +
 * Flatten + Gemm(18->3) with known weights and a dynamic "batch" dimension.
 * The runtime's outputs equal the library's own conv2d, relu, maxPool2d,
 * flatten and linear with the same weights within 1e-5, for batches of 1, 2
 * and 5, and Python onnxruntime 1.30's outputs for one input.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { type OnnxTensor, runOnnx } from "./_onnxruntime.ts";

const fixture = new URL("./fixtures/tiny_conv.onnx", import.meta.url);

/** gen_onnx.py's weights: float32 of sin(0.7 i + n) / 2 over the flat index i. */
function known(n: number, shape: number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.sin(0.7 * i + n) / 2;
  return T.tensor(data, { shape });
}

const convWeight = known(1, [2, 1, 3, 3]);
const convBias = known(2, [2]);
const fcWeight = known(3, [3, 18]);
const fcBias = known(4, [3]);

/** The fixture's graph in the library's ops. */
function tinyConv(x: Tensor): Tensor {
  let h = T.conv2d(x, convWeight, convBias, { padding: 1 });
  h = T.relu(h);
  h = T.maxPool2d(h, { kernelSize: 2 });
  h = T.flatten(h);
  return T.linear(h, fcWeight, fcBias);
}

/** Deterministic inputs of both signs, distinct per batch and seed. */
function input(batch: number, seed: number): OnnxTensor {
  const shape = [batch, 1, 6, 6];
  const data = new Float32Array(batch * 36);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.cos(1.3 * i + seed) * (1 + (i % 5) / 4);
  }
  return { data, shape };
}

Deno.test("onnxruntime: tiny_conv.onnx equals the library's conv2d, relu, maxPool2d, flatten and linear", async () => {
  const model = await Deno.readFile(fixture);
  for (const [batch, seed] of [[1, 0], [2, 1], [5, 2]]) {
    const x = input(batch, seed);
    const out = await runOnnx(model, { x });
    assert.deepEqual(Object.keys(out), ["y"]);
    assert.deepEqual(out.y.shape, [batch, 3]);
    assert.ok(out.y.data instanceof Float32Array);
    const expected = tinyConv(T.tensor(x.data, { shape: x.shape }));
    assert.deepEqual(expected.shape, [batch, 3]);
    assertAllClose(Array.from(out.y.data), Array.from(expected.data), {
      atol: 1e-5,
      rtol: 1e-5,
      msg: `batch ${batch}`,
    });
    // The ReLU and the pooling are doing something on these inputs: the
    // outputs are not all equal across the batch.
    if (batch > 1) assert.notDeepEqual(out.y.data[0], out.y.data[3]);
  }
});

Deno.test("onnxruntime: tiny_conv.onnx matches Python onnxruntime 1.30", async () => {
  // python3 -c "import onnxruntime as o, numpy as np; s = o.InferenceSession(
  //   'tests/fixtures/tiny_conv.onnx'); x = np.arange(72, dtype=np.float32)
  //   .reshape(2, 1, 6, 6) / 36 - 1; print(s.run(None, {'x': x})[0].tolist())"
  const python = [
    -2.090315341949463,
    -2.3061037063598633,
    -2.28471040725708,
    0.7652502059936523,
    0.6256095170974731,
    0.7198358774185181,
  ];
  const data = new Float32Array(72).map((_, i) => i / 36 - 1);
  const out = await runOnnx(await Deno.readFile(fixture), {
    x: { data, shape: [2, 1, 6, 6] },
  });
  assert.deepEqual(out.y.shape, [2, 3]);
  assertAllClose(Array.from(out.y.data), python, { atol: 1e-5, rtol: 1e-5 });
  const mine = tinyConv(T.tensor(data, { shape: [2, 1, 6, 6] }));
  assertAllClose(Array.from(mine.data), python, { atol: 1e-5, rtol: 1e-5 });
});

Deno.test("onnxruntime: runOnnx reports a wrong input size and a bad model", async () => {
  const model = await Deno.readFile(fixture);
  await assert.rejects(
    runOnnx(model, { x: { data: new Float32Array(35), shape: [1, 1, 6, 6] } }),
    /input x has 35 values but shape \[1,1,6,6\] needs 36/,
  );
  await assert.rejects(
    runOnnx(new Uint8Array([1, 2, 3]), {
      x: { data: new Float32Array(36), shape: [1, 1, 6, 6] },
    }),
    /runOnnx: onnxruntime failed .*protobuf parsing failed/s,
  );
});
