/**
 * matmul and linear (ops/matmul.ts): forward values (2-D, batched, vectors)
 * and errors. Gradients: the gradient table (grad_table_test.ts, rows in
 * _op_table.ts and _cnn_table.ts); PyTorch fixtures: cnn_fixtures_test.ts;
 * the GEMM kernels: kernels_test.ts. The index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

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
