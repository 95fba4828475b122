/**
 * Reductions (ops/reductions.ts, and sum from ops/structural.ts): forward
 * values with axis and keepDims, and errors. Gradients: the gradient table
 * (grad_table_test.ts, rows in _op_table.ts); NaN and infinities:
 * numerics_test.ts. The index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = { dtype: "float64" as const };

Deno.test("reductions with axis (number, list, negative) and keepDims", () => {
  const x = T.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]); // [2,2,2]
  assert.equal(T.item(T.sum(x)), 36);
  assert.deepEqual(T.toArray(T.sum(x, { axis: [0, 2] })), [14, 22]);
  assert.deepEqual(T.toArray(T.sum(x, { axis: -1 })), [[3, 7], [11, 15]]);
  assert.deepEqual(T.sum(x, { axis: 1, keepDims: true }).shape, [2, 1, 2]);
  assert.deepEqual(T.toArray(T.mean(x, { axis: [1, 2] })), [2.5, 6.5]);
  assert.deepEqual(T.toArray(T.max(x, { axis: 0 })), [[5, 6], [7, 8]]);
  assert.deepEqual(T.toArray(T.min(x, { axis: [0, 1] })), [1, 2]);
  assert.deepEqual(
    T.toArray(T.argmax(T.tensor([[1, 9, 9], [4, 2, 0]]), { axis: -1 })),
    [1, 0],
  );
  assertAllClose(T.logSumExp(T.tensor([[0, Math.log(3)]], f64), { axis: 1 }), [
    Math.log(4),
  ], { rtol: 1e-15 });
  assert.throws(
    () => T.sum(x, { axis: 3 }),
    /sum: axis 3 is out of range for x with 3 dims \(shape \[2,2,2\]\)/,
  );
  assert.throws(() => T.max(T.zeros([0])), /max: cannot reduce an empty axis/);
});
