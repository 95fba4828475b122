/**
 * Tensors (ops/tensor.ts): creation, dtypes, sizes and their errors, and NaN
 * through a few ops. The ops' own tests are in one file per op family
 * (elementwise_test.ts, reductions_test.ts, structural_test.ts, matmul_test.ts,
 * conv_test.ts, pool_test.ts, activations_test.ts, losses_test.ts,
 * normalization_test.ts); the index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

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

Deno.test("arange and eye take their options in place of the numbers left out (as jnp.arange(5, dtype=...))", () => {
  const a = T.arange(4, { dtype: "int32" });
  assert.equal(a.dtype, "int32");
  assert.deepEqual(T.toArray(a), [0, 1, 2, 3]);
  const b = T.arange(1, 3, { dtype: "float64" });
  assert.equal(b.dtype, "float64");
  assert.deepEqual(T.toArray(b), [1, 2]);
  assert.deepEqual(T.toArray(T.arange(3, undefined, 1, { dtype: "int32" })), [
    0,
    1,
    2,
  ]);
  const e = T.eye(2, { dtype: "int32" });
  assert.equal(e.dtype, "int32");
  assert.deepEqual(T.toArray(e), [[1, 0], [0, 1]]);
  // deno-lint-ignore no-explicit-any
  const A = T as any;
  assert.throws(
    () => A.arange(1, { dtype: "int32" }, 2),
    /^Error: arange: the options must be the last argument, got number 2 after them$/,
  );
  assert.throws(
    () => A.arange(1, null),
    /^Error: arange: expected a number or the options, got null$/,
  );
  assert.throws(
    () => A.eye(2, { dtype: "int8" }),
    /^Error: eye: dtype must be/,
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

Deno.test("NaN propagates through max, relu, matmul", () => {
  assert.ok(Number.isNaN(T.item(T.max(T.tensor([1, NaN, 3])))));
  assert.ok(Number.isNaN(T.toArray(T.relu(T.tensor([NaN])))[0 as never]));
  assert.ok(
    Number.isNaN(T.item(T.matmul(T.tensor([0, 1]), T.tensor([NaN, 1])))),
  );
});
