/** Tensors and core ops: forward values against hand-computed numbers, dtypes, errors. */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = { dtype: "float64" as const };

Deno.test("tensor creation: nested, flat with shape, typed arrays, scalars", () => {
  const a = T.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(a.shape, [2, 3]);
  assert.equal(a.dtype, "float32");
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.shape));
  assert.deepEqual(T.toArray(T.tensor([1, 2, 3, 4], { shape: [2, 2] })), [[
    1,
    2,
  ], [3, 4]]);
  assert.equal(T.tensor(new Int32Array([1, 2])).dtype, "int32");
  assert.equal(T.tensor(new Float64Array([1])).dtype, "float64");
  assert.equal(T.toArray(T.tensor(3.5)), 3.5);
  assert.deepEqual(T.tensor([]).shape, [0]);
  assert.throws(
    () => T.tensor([[1, 2], [3]]),
    /tensor: ragged nested array; at values\[1\] expected an array of length 2/,
  );
  assert.throws(
    () => T.tensor([1, 2, 3], { shape: [2, 2] }),
    /tensor: shape \[2,2\] needs 4 values, got 3/,
  );
  assert.throws(
    () => T.tensor([1], { dtype: "int8" as never }),
    /tensor: dtype must be/,
  );
  assert.throws(
    () => T.tensor([1], { shpe: [1] } as never),
    /tensor: unknown option "shpe"/,
  );
});

Deno.test("zeros ones full arange zerosLike onesLike item astype", () => {
  assert.deepEqual(T.toArray(T.zeros([2])), [0, 0]);
  assert.deepEqual(T.toArray(T.ones([1, 2], f64)), [[1, 1]]);
  assert.deepEqual(T.toArray(T.full([2], -3)), [-3, -3]);
  assert.deepEqual(T.toArray(T.arange(2, 8, 2)), [2, 4, 6]);
  assert.deepEqual(T.toArray(T.arange(3, 0, -1)), [3, 2, 1]);
  assert.equal(T.zerosLike(T.tensor([1], f64)).dtype, "float64");
  assert.equal(T.item(T.onesLike(T.tensor([[5]]))), 1);
  assert.throws(
    () => T.item(T.zeros([2])),
    /item: x must have exactly one element, got shape \[2\]/,
  );
  assert.deepEqual(T.toArray(T.astype(T.tensor([-2.7, 2.7]), "int32")), [
    -2,
    2,
  ]);
  assert.throws(
    () => T.arange(0, 1, 0),
    /arange: step must be a finite non-zero number/,
  );
  assert.throws(
    () => T.zeros([-1]),
    /zeros: shape must be an array of non-negative integers, got \[-1\]/,
  );
  assert.throws(
    () => T.ones([2.5]),
    /ones: shape must be an array of non-negative integers, got \[2.5\]/,
  );
});

Deno.test("sizes past what a typed array or the machine can hold: the library's error, not V8's RangeError", () => {
  // V8 caps one ArrayBuffer at 2^53 - 1 bytes: 2^51 - 1 float32 elements
  const f32Most = 2 ** 51 - 1, f64Most = 2 ** 50 - 1;
  assert.throws(
    () => T.ones([2 ** 26, 2 ** 26]),
    (e: Error) => {
      assert.ok(!(e instanceof RangeError));
      assert.equal(
        e.message,
        `ones: shape [67108864,67108864] has ${
          2 ** 52
        } elements, more than a float32 typed array can hold (${f32Most})`,
      );
      return true;
    },
  );
  assert.throws(
    () => T.arange(0, 2 ** 60, 1, { dtype: "float64" }),
    new RegExp(
      `^Error: arange: shape \\[${2 ** 60}\\] has ${
        2 ** 60
      } elements, more than a float64 typed array can hold \\(${f64Most}\\)$`,
    ),
  );
  // below V8's cap the memory is the limit: 8 TiB of float64 fails on any machine
  for (
    const [name, make] of [
      ["zeros", () => T.zeros([2 ** 40], f64)],
      ["full", () => T.full([2 ** 20, 2 ** 20], 3, f64)],
      ["arange", () => T.arange(2 ** 40, undefined, 1, f64)],
    ] as const
  ) {
    assert.throws(make, (e: Error) => {
      assert.ok(!(e instanceof RangeError), `${name}: ${e}`);
      assert.match(
        e.message,
        new RegExp(
          `^${name}: shape \\[[0-9,]+\\] has ${
            2 ** 40
          } elements \\(8192\\.0 GiB of float64\\), more than this machine could allocate \\(a float64 typed array can hold at most ${f64Most} elements; V8: `,
        ),
      );
      return true;
    });
  }
});

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

Deno.test("shape ops", () => {
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

Deno.test("NaN propagates through max, relu, matmul", () => {
  assert.ok(Number.isNaN(T.item(T.max(T.tensor([1, NaN, 3])))));
  assert.ok(Number.isNaN(T.toArray(T.relu(T.tensor([NaN])))[0 as never]));
  assert.ok(
    Number.isNaN(T.item(T.matmul(T.tensor([0, 1]), T.tensor([NaN, 1])))),
  );
});
