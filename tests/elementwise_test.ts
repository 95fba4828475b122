/**
 * Elementwise ops (ops/elementwise.ts): forward values against closed forms,
 * broadcasting, dtype promotion and comparisons. Gradients: the gradient table
 * (grad_table_test.ts, rows in _op_table.ts); NaN, infinities and weak numbers:
 * numerics_test.ts; the WebAssembly loops: kernels_test.ts. The index is in
 * docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = { dtype: "float64" as const };

Deno.test("elementwise forward values (closed forms)", () => {
  const x = T.tensor([-1, 0.5, 2], f64);
  assertAllClose(T.exp(x), [Math.exp(-1), Math.exp(0.5), Math.exp(2)], {
    rtol: 1e-15,
  });
  assertAllClose(T.log(T.tensor([1, Math.E], f64)), [0, 1], { atol: 1e-15 });
  assertAllClose(T.sqrt(T.tensor([4, 2], f64)), [2, Math.SQRT2], {
    rtol: 1e-15,
  });
  assertAllClose(T.tanh(x), [Math.tanh(-1), Math.tanh(0.5), Math.tanh(2)], {
    rtol: 1e-15,
  });
  assertAllClose(T.sigmoid(T.tensor([0, 1, -800], f64)), [
    0.5,
    1 / (1 + Math.exp(-1)),
    0,
  ], { rtol: 1e-15 });
  assert.deepEqual(T.toArray(T.relu(x)), [0, 0.5, 2]);
  assert.deepEqual(T.toArray(T.abs(x)), [1, 0.5, 2]);
  assert.deepEqual(T.toArray(T.neg(x)), [1, -0.5, -2]);
  assert.deepEqual(T.toArray(T.pow(T.tensor([2, 3]), T.tensor([3, 2]))), [
    8,
    9,
  ]);
  assert.deepEqual(T.toArray(T.maximum(T.tensor([1, 4]), T.tensor([3, 2]))), [
    3,
    4,
  ]);
  assert.deepEqual(T.toArray(T.minimum(T.tensor([1, 4]), T.tensor([3, 2]))), [
    1,
    2,
  ]);
  assert.deepEqual(T.toArray(T.div(T.tensor([1, 2], { dtype: "int32" }), 4)), [
    0.25,
    0.5,
  ]);
});

Deno.test("broadcasting follows NumPy", () => {
  const a = T.tensor([[1], [2], [3]]); // [3,1]
  const b = T.tensor([10, 20]); // [2]
  assert.deepEqual(T.toArray(T.add(a, b)), [[11, 21], [12, 22], [13, 23]]);
  assert.deepEqual(T.mul(T.zeros([2, 1, 4]), T.zeros([3, 1])).shape, [2, 3, 4]);
  assert.throws(
    () => T.add(T.zeros([2, 3]), T.zeros([4])),
    /add: cannot broadcast a \[2,3\] with b \[4\]/,
  );
  assert.deepEqual(
    T.toArray(
      T.where(
        T.tensor([[1], [0]], { dtype: "int32" }),
        T.tensor([1, 2]),
        T.tensor(-1),
      ),
    ),
    [[1, 2], [-1, -1]],
  );
});

Deno.test("dtype promotion: float32+float64 = float64, int32+float = float, numbers are weak", () => {
  const a = T.tensor([1], { dtype: "float32" }),
    b = T.tensor([1], f64),
    i = T.tensor([1], { dtype: "int32" });
  assert.equal(T.add(a, b).dtype, "float64");
  assert.equal(T.add(i, a).dtype, "float32");
  assert.equal(T.add(i, b).dtype, "float64");
  assert.equal(T.add(i, i).dtype, "int32");
  assert.equal(T.mul(a, 2.5).dtype, "float32");
  assert.equal(T.mul(b, 2).dtype, "float64");
  assert.equal(T.add(i, 1).dtype, "int32");
  assert.equal(T.equal(a, 1).dtype, "int32");
  // a non-integer number with int32 gives float32 (as jnp and torch)
  assert.equal(T.mul(i, 0.5).dtype, "float32");
  assert.deepEqual(
    T.toArray(T.mul(T.tensor([1, 2, 3], { dtype: "int32" }), 0.5)),
    [0.5, 1, 1.5],
  );
  assert.deepEqual(
    T.toArray(T.less(T.tensor([1, 2], { dtype: "int32" }), 1.5)),
    [1, 0],
  );
});

Deno.test("comparisons return int32 0/1", () => {
  const x = T.tensor([1, 2, 3]);
  assert.deepEqual(T.toArray(T.equal(x, 2)), [0, 1, 0]);
  assert.deepEqual(T.toArray(T.notEqual(x, 2)), [1, 0, 1]);
  assert.deepEqual(T.toArray(T.less(x, 2)), [1, 0, 0]);
  assert.deepEqual(T.toArray(T.lessEqual(x, 2)), [1, 1, 0]);
  assert.deepEqual(T.toArray(T.greater(x, 2)), [0, 0, 1]);
  assert.deepEqual(T.toArray(T.greaterEqual(x, 2)), [0, 1, 1]);
});
