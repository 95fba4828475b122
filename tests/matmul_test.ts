/**
 * matmul and linear (ops/matmul.ts): forward values (2-D, batched, vectors)
 * and errors. Gradients: the gradient table (grad_table_test.ts, rows in
 * _op_table.ts and _cnn_table.ts); PyTorch fixtures: cnn_fixtures_test.ts;
 * the GEMM kernels: kernels_test.ts. The index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import * as mm from "../ops/kernels/matmul.ts";
import { WasmRuntime } from "../ops/kernels/wasm/runtime.ts";
import { withRuntime } from "./_geometry.ts";
import { assertAllClose, values } from "./_helpers.ts";

Deno.test("matmul: 2-D, batched with broadcasting, vector cases", () => {
  const a = T.tensor([[1, 2], [3, 4]]), b = T.tensor([[5, 6], [7, 8]]);
  assert.deepEqual(T.toArray(T.matmul(a, b)), [[19, 22], [43, 50]]);
  const batch = T.stack([a, T.mul(a, 2)]);
  assert.deepEqual(T.toArray(T.matmul(batch, b)), [[[19, 22], [43, 50]], [[
    38,
    44,
  ], [86, 100]]]);
  assert.deepEqual(T.toArray(T.matmul(T.tensor([1, 1]), a)), [4, 6]);
  assert.deepEqual(T.toArray(T.matmul(a, T.tensor([1, 1]))), [3, 7]);
  assert.equal(T.item(T.matmul(T.tensor([1, 2]), T.tensor([3, 4]))), 11);
  assert.deepEqual(T.matmul(T.zeros([4, 1, 2, 3]), T.zeros([5, 3, 2])).shape, [
    4,
    5,
    2,
    2,
  ]);
  assert.throws(
    () => T.matmul(T.zeros([2, 3]), T.zeros([4, 5])),
    /matmul: a \[2,3\] and b \[4,5\] have mismatched inner dimensions 3 and 4/,
  );
});

Deno.test("errors: linear arguments", () => {
  const z = (s: number[]) => T.zeros(s);
  assert.throws(
    () => T.linear(z([2, 3]), z([5, 4])),
    /^Error: linear: x has 3 features but weight expects 4 \(x \[2,3\], weight \[5,4\]\)$/,
  );
  assert.throws(
    () => T.linear(z([2, 4]), z([5, 4]), z([4])),
    /linear: bias must have shape \[5\], got \[4\]/,
  );
  assert.throws(
    () => T.linear(z([2, 4]), z([4])),
    /linear: weight must be \[out, in\], got \[4\]/,
  );
});

Deno.test({
  name:
    "float32 GEMM: 2 and 3 threads give the single-thread bits (LeNet-5's linear-layer shapes, odd shapes, all layouts, linear with bias and relu)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    const rts = [1, 2, 3].map((threads) => {
      const rt = new WasmRuntime();
      rt.setThreads(threads);
      if (threads > 1) assert.ok(rt.waitReady(10000), "no worker started");
      return rt;
    });
    // [m, n, k]: LeNet-5's (batch 64), then sizes that are not multiples of
    // the tile's 6 x 8, k over one KC slice (256) and not a multiple of 4;
    // every product above PARALLEL_MIN_MACS, so the threads split it
    const shapes = [
      [64, 120, 400],
      [64, 400, 120],
      [120, 400, 64],
      [64, 84, 120],
      [64, 120, 84],
      [84, 120, 64],
      [61, 125, 263],
      [97, 37, 515],
      [13, 301, 400],
      [200, 50, 70],
      [7, 1000, 75],
    ];
    for (const [m, n, k] of shapes) {
      assert.ok(m * n * k >= mm.PARALLEL_MIN_MACS);
      const a = values(m * k, m + n), b = values(k * n, k), bias = values(n, 7);
      const runs = rts.map((rt) =>
        withRuntime(rt, () => {
          const out: Float32Array[] = [];
          for (const layout of ["nn", "tn", "nt"] as const) {
            const c = new Float64Array(m * n);
            mm.gemm(a, 0, b, 0, c, 0, m, k, n, layout);
            out.push(new Float32Array(c));
          }
          out.push(mm.linearF32(a, b, bias, m, k, n, true)!);
          return out;
        })
      );
      for (let t = 1; t < runs.length; t++) {
        runs[t].forEach((r, i) =>
          assert.deepEqual(
            new Uint32Array(r.buffer),
            new Uint32Array(runs[0][i].buffer),
            `m ${m} n ${n} k ${k}, case ${i}, ${t + 1} threads`,
          )
        );
      }
    }
  },
});

Deno.test("matmul: a batch of many small products reuses the GEMM's scratch (4,000 products of [784, 3] by [3, 2] needed 2 GiB of WebAssembly memory, one scratch block each)", () => {
  const a = T.random.normal(T.random.key(1), [784, 3]);
  const b = T.random.normal(T.random.key(2), [4000, 3, 2]);
  const y = T.matmul(a, b);
  assert.deepEqual(y.shape, [4000, 784, 2]);
  // spot-check a few products against the float64 ones
  for (const i of [0, 1999, 3999]) {
    const bi = T.astype(
      T.reshape(T.slice(b, [i, 0, 0], [i + 1, 3, 2]), [3, 2]),
      "float64",
    );
    const yi = T.reshape(T.slice(y, [i, 0, 0], [i + 1, 784, 2]), [784, 2]);
    assertAllClose(yi, T.matmul(T.astype(a, "float64"), bi), {
      atol: 1e-5,
      rtol: 1e-5,
    });
  }
});
