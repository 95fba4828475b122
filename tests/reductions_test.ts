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

Deno.test("min, minimum and argmin over int32's whole range (-2^31 included, whose negation overflows) and over floats with NaN and ties", () => {
  const lo = -2147483648, hi = 2147483647;
  const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });
  // min and minimum of int32 stay int32 and exact at both ends
  assert.equal(T.item(T.min(i32([5, lo, 3]))), lo);
  assert.deepEqual(
    T.toArray(T.min(T.reshape(i32([hi, lo, 0, hi]), [2, 2]), { axis: 1 })),
    [lo, 0],
  );
  const m = T.minimum(i32([lo, 5, lo, hi]), i32([0, lo, lo, hi]));
  assert.equal(m.dtype, "int32");
  assert.deepEqual(T.toArray(m), [lo, lo, lo, hi]);
  assert.deepEqual(T.toArray(T.minimum(i32([lo, 5, hi]), 3)), [lo, 3, 3]);
  // with a float operand: the int32 values promoted first (as PyTorch)
  const mf = T.minimum(i32([lo, 5]), T.tensor([0, 7], f64));
  assert.equal(mf.dtype, "float64");
  assert.deepEqual(T.toArray(mf), [lo, 5]);
  // argmin: the first minimum; a NaN is the minimum (as torch.argmin)
  assert.deepEqual(T.toArray(T.argmin(i32([hi, lo, 0, lo]))), 1);
  assert.deepEqual(
    T.toArray(
      T.argmin(T.tensor([[3, 1, 1], [2, NaN, -Infinity], [0, -0, 0]]), {
        axis: 1,
      }),
    ),
    [1, 1, 0],
  );
  assert.deepEqual(
    T.argmin(T.ones([2, 3]), { axis: 0, keepDims: true }).shape,
    [1, 3],
  );
  assert.throws(
    () => T.argmin(T.ones([2, 3]), { axis: 2 }),
    /^Error: argmin: axis 2 is out of range/,
  );
  assert.throws(
    () => T.argmin(T.zeros([0])),
    /^Error: argmin: cannot reduce an empty axis/,
  );
  // floats: through -x, as before (a NaN is the minimum)
  assert.ok(Number.isNaN(T.item(T.min(T.tensor([1, NaN, -Infinity])))));
});

Deno.test("float32 sum of a long run: within 1e-6 of the exact sum (float32 blocks of 1024 added in float64)", () => {
  const n = 1 << 22;
  for (const v of [0.1, 1 / 3]) {
    const x = T.full([n], v);
    const exact = n * Math.fround(v); // every element is fround(v)
    const s = T.item(T.sum(x));
    assert.ok(
      Math.abs(s - exact) <= 1e-6 * exact,
      `sum of ${n} x ${v}: ${s} vs ${exact}`,
    );
  }
  // random values, against float64 sums of the same float32 numbers
  const r = T.random.normal(T.random.key(3), [4, 1 << 20]);
  const got = T.sum(r, { axis: 1 }).data;
  for (let i = 0; i < 4; i++) {
    let exact = 0, abs = 0;
    for (let j = 0; j < 1 << 20; j++) {
      const v = r.data[i * (1 << 20) + j];
      exact += v;
      abs += Math.abs(v);
    }
    assert.ok(
      Math.abs(got[i] - exact) <= 1e-6 * abs,
      `row ${i}: ${got[i]} vs ${exact}`,
    );
  }
});

Deno.test("reductions: an axis that is not an integer and a keepDims that is not a boolean are errors saying so (not 'out of range', not taken as true)", () => {
  const x = T.ones([2, 3]);
  const bad: [() => unknown, RegExp][] = [
    [
      () => T.sum(x, { axis: "1" as never }),
      /sum: axis must be an integer, got string 1$/,
    ],
    [
      () => T.sum(x, { axis: 0.5 }),
      /sum: axis must be an integer, got number 0\.5$/,
    ],
    [
      () => T.max(x, { axis: null as never }),
      /max: axis must be an integer, got null$/,
    ],
    [
      () => T.argmax(x, { axis: [0] as never }),
      /argmax: axis must be an integer/,
    ],
    [
      () => T.mean(x, { keepDims: "yes" as never }),
      /mean: options\.keepDims must be a boolean, got string yes$/,
    ],
    [
      () => T.argmin(x, { keepDims: 1 as never }),
      /argmin: options\.keepDims must be a boolean/,
    ],
    [
      () => T.logSumExp(x, { keepDims: "no" as never }),
      /logSumExp: options\.keepDims must be a boolean/,
    ],
    [
      () => T.nansum(x, { keepDims: 0 as never }),
      /nansum: options\.keepDims must be a boolean/,
    ],
  ];
  for (const [f, re] of bad) assert.throws(f, re);
  // an integer axis out of range still says so
  assert.throws(() => T.sum(x, { axis: 2 }), /sum: axis 2 is out of range/);
});
