/**
 * Structural ops (ops/structural.ts): reshape, transpose, slice, pad, concat,
 * stack, broadcastTo, flatten, squeeze: forward values and errors. Gradients:
 * the gradient table (grad_table_test.ts, rows in _op_table.ts). The index is
 * in docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

Deno.test("shape ops: reshape, transpose, slice, pad, concat, stack, broadcastTo, flatten, squeeze", () => {
  const x = T.arange(6);
  assert.deepEqual(T.reshape(x, [3, -1]).shape, [3, 2]);
  assert.throws(
    () => T.reshape(x, [4, -1]),
    /reshape: cannot reshape x \[6\] \(6 elements\) into \[4,-1\]/,
  );
  assert.throws(() => T.reshape(x, [-1, -1]), /only one dimension can be -1/);
  const m = T.reshape(x, [2, 3]);
  assert.deepEqual(T.toArray(T.transpose(m)), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(
    T.toArray(T.transpose(T.reshape(T.arange(8), [2, 2, 2]), [2, 0, 1])),
    [[[0, 2], [4, 6]], [[1, 3], [5, 7]]],
  );
  assert.deepEqual(T.toArray(T.slice(m, [0, -2])), [[1, 2], [4, 5]]);
  assert.deepEqual(T.toArray(T.pad(T.tensor([[1]]), [[0, 1], [1, 0]])), [
    [0, 1],
    [0, 0],
  ]);
  assert.deepEqual(T.toArray(T.concat([m, m], 0)), [[0, 1, 2], [3, 4, 5], [
    0,
    1,
    2,
  ], [3, 4, 5]]);
  assert.deepEqual(T.stack([m, m], 2).shape, [2, 3, 2]);
  assert.deepEqual(T.toArray(T.broadcastTo(T.tensor([[1], [2]]), [2, 2])), [[
    1,
    1,
  ], [2, 2]]);
  assert.deepEqual(T.flatten(T.zeros([2, 3, 4]), 1, 1).shape, [2, 3, 4]);
  assert.throws(
    () => T.concat([T.zeros([2, 3]), T.zeros([2, 4])], 0),
    /concat: tensors\[1\] has shape \[2,4\], which does not match tensors\[0\] \[2,3\] outside axis 0/,
  );
  assert.throws(
    () => T.squeeze(T.zeros([2]), 0),
    /squeeze: axis 0 of x \[2\] has size 2, not 1/,
  );
  assert.throws(
    () => T.broadcastTo(T.zeros([3]), [2, 2]),
    /broadcastTo: cannot broadcast x \[3\] to \[2,2\]/,
  );
});

Deno.test("a result too large to allocate is an Error naming the op, from any primitive", () => {
  // (10^12 elements from inputs of 10^6: more than any machine allocates)
  const [a, b] = [T.ones([1e6, 1]), T.ones([1, 1e6])];
  assert.throws(
    () => T.mul(a, b),
    /^Error: mul: cannot allocate the result of mul \(inputs \[1000000,1\], \[1,1000000\]\): /,
  );
  // a composite names itself, and the primitive that could not allocate
  assert.throws(
    () => T.isclose(a, b),
    /^Error: isclose: cannot allocate the result of mul \(inputs \[1000000,1\], \[1,1000000\]\)/,
  );
  // what can say its result is too large before any work does so
  assert.throws(
    () => T.broadcastTo(T.ones([1]), [1e9, 1e9]),
    /^Error: broadcastTo: x \[1\]: the result \[1000000000,1000000000\] would have 1000000000000000000 elements, more than 2\^31 - 1$/,
  );
  assert.throws(
    () => T.tile(T.ones([1, 2]), [1e9, 1e9]),
    /^Error: tile: reps \[1000000000,1000000000\] on x \[1,2\]: the result \[1000000000,2000000000\] would have 2000000000000000000 elements, more than 2\^31 - 1$/,
  );
});
