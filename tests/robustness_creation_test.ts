/**
 * Creating and reading tensors at the edges (ops/tensor.ts): shapes with a 0
 * and a huge dimension, too many dimensions, deeply nested arrays, results
 * toArray would need too many arrays for, the sign of a zero scalar, and
 * numbers int32 cannot hold. Each case gives a clear Error (or the right
 * value), never a hang, a wrapped value or a V8 RangeError.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

const isNeg0 = (v: unknown) => Object.is(v, -0);

Deno.test("shapes: every dimension at most 2^31 - 1, also beside a 0", () => {
  assert.throws(
    () => T.zeros([0, 1e300]),
    /^Error: zeros: shape\[1\] must be at most 2147483647 \(2\^31 - 1\), got 1e\+300$/,
  );
  assert.throws(
    () => T.ones([2 ** 31, 0]),
    /^Error: ones: shape\[0\] must be at most 2147483647 \(2\^31 - 1\), got 2147483648$/,
  );
  assert.throws(
    () => T.full([0, 0, 2 ** 40], 1),
    /^Error: full: shape\[2\] must be at most 2147483647 \(2\^31 - 1\), got 1099511627776$/,
  );
  assert.throws(
    () => T.tensor([], { shape: [0, 1e300] }),
    /^Error: tensor: shape\[1\] must be at most 2147483647 \(2\^31 - 1\), got 1e\+300$/,
  );
  assert.throws(
    () => T.broadcastTo(T.zeros([0]), [1e300, 0]),
    /^Error: broadcastTo: shape\[0\] must be at most 2147483647 \(2\^31 - 1\), got 1e\+300$/,
  );
  // the largest dimension still goes, with a 0 beside it
  assert.deepEqual(T.zeros([2 ** 31 - 1, 0]).shape, [2147483647, 0]);
  assert.deepEqual(
    T.transpose(T.zeros([0, 2 ** 31 - 1])).shape,
    [2147483647, 0],
  );
  // with elements, so large a size is too many elements (allocShape's message)
  assert.throws(
    () => T.zeros([1e300]),
    /^Error: zeros: shape \[1e\+300\] has 1e\+300 elements, more than a float32 typed array can hold/,
  );
  // the old message for what is not a non-negative integer is unchanged
  assert.throws(
    () => T.zeros([0, -1]),
    /^Error: zeros: shape must be an array of non-negative integers, got \[0,-1\]$/,
  );
});

Deno.test("shapes: at most 64 dimensions, as PyTorch", () => {
  assert.throws(
    () => T.zeros(new Array(10000).fill(1)),
    /^Error: zeros: shape must have at most 64 dimensions, got 10000$/,
  );
  assert.throws(
    () => T.tensor([1], { shape: new Array(65).fill(1) }),
    /^Error: tensor: shape must have at most 64 dimensions, got 65$/,
  );
  const x = T.zeros(new Array(64).fill(1));
  assert.equal(x.shape.length, 64);
  let v: unknown = T.toArray(x);
  for (let i = 0; i < 64; i++) v = (v as unknown[])[0];
  assert.equal(v, 0);
});

Deno.test("tensor: nested arrays at most 64 deep, not a stack overflow", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 20000; i++) deep = [deep];
  const msg =
    /^Error: tensor: values must be nested at most 64 arrays deep \(a tensor has at most 64 dimensions\), got more$/;
  assert.throws(() => T.tensor(deep as number[]), msg);
  // an array that holds itself is infinitely deep
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assert.throws(() => T.tensor(cyclic as number[]), msg);
  let ok: unknown = 7;
  for (let i = 0; i < 64; i++) ok = [ok];
  const t = T.tensor(ok as number[]);
  assert.equal(t.shape.length, 64);
  assert.deepEqual([...t.data], [7]);
  assert.throws(() => T.tensor([ok] as number[]), msg);
});

Deno.test("toArray: refuses a result of more than 2^26 nested arrays", () => {
  assert.throws(
    () => T.toArray(T.zeros([1e9, 0])),
    /^Error: toArray: x of shape \[1000000000,0\] would need 1000000001 nested arrays, more than the 67108864 \(2\^26\) that toArray builds$/,
  );
  assert.throws(
    () => T.toArray(T.zeros([1e8, 0])),
    /^Error: toArray: x of shape \[100000000,0\] would need 100000001 nested arrays/,
  );
  assert.throws(
    () => T.toArray(T.zeros([2 ** 27, 1, 0])),
    /^Error: toArray: x of shape \[134217728,1,0\] would need 268435457 nested arrays/,
  );
  // a 0 first: one empty array, however large the rest
  assert.deepEqual(T.toArray(T.zeros([0, 2 ** 31 - 1])), []);
  assert.deepEqual(T.toArray(T.zeros([2, 0, 1e9])), [[], []]);
  assert.deepEqual(T.toArray(T.zeros([3, 0])), [[], [], []]);
  // a record of too many dimensions (not made by the creation functions)
  const wide = Object.freeze({
    shape: Object.freeze(new Array(10000).fill(1)),
    dtype: "float32" as const,
    data: new Float32Array(1),
  });
  assert.throws(
    () => T.toArray(wide),
    /^Error: toArray: x must have at most 64 dimensions, got 10000$/,
  );
});

Deno.test("a -0 scalar stays -0: full and the weakly typed numbers of binary ops", () => {
  assert.ok(isNeg0(T.full([1], -0).data[0]));
  assert.ok(isNeg0(T.full([2], -0, { dtype: "float64" }).data[1]));
  assert.ok(Object.is(T.zeros([1]).data[0], 0));
  // PyTorch: 1 / (2 * -0.) = -inf; -0. + -0. = -0.; atan2(-0., -1) = -π
  assert.equal(T.div(1, T.mul(T.tensor([2]), -0)).data[0], -Infinity);
  assert.ok(isNeg0(T.add(T.tensor([-0]), -0).data[0]));
  assert.ok(isNeg0(T.add(-0, T.tensor([-0], { dtype: "float64" })).data[0]));
  assert.equal(T.atan2(-0, T.tensor([-1])).data[0], Math.fround(-Math.PI));
  assert.equal(
    T.atan2(T.tensor([1], { dtype: "float64" }), -0).data[0],
    Math.PI / 2,
  );
  assert.equal(
    T.atan2(T.tensor([-0], { dtype: "float64" }), -0).data[0],
    -Math.PI,
  );
});

Deno.test("int32 creation: NaN, ±Infinity and numbers out of range are errors, fractions truncate", () => {
  const range =
    `must be a number in int32's range \\[-2147483648, 2147483647\\] for dtype "int32", got`;
  const re = (s: string) => new RegExp(`^Error: ${s.replace(/\{r\}/, range)}$`);
  assert.throws(
    () => T.tensor([NaN, 3e10], { dtype: "int32" }),
    re("tensor: values\\[0\\] {r} NaN"),
  );
  assert.throws(
    () => T.tensor([1, 3e10], { dtype: "int32" }),
    re("tensor: values\\[1\\] {r} 30000000000"),
  );
  assert.throws(
    () => T.tensor([[1, 2], [3, -Infinity]], { dtype: "int32" }),
    re("tensor: values\\[1\\]\\[1\\] {r} -Infinity"),
  );
  assert.throws(
    () => T.tensor([1, 2, 3, 2 ** 31], { shape: [2, 2], dtype: "int32" }),
    re("tensor: values\\[3\\] {r} 2147483648"),
  );
  assert.throws(
    () => T.tensor(new Float64Array([0, -(2 ** 31) - 1]), { dtype: "int32" }),
    re("tensor: values\\[1\\] {r} -2147483649"),
  );
  assert.throws(
    () => T.tensor(Infinity, { dtype: "int32" }),
    re("tensor: values {r} Infinity"),
  );
  assert.throws(
    () => T.full([1], 1e10, { dtype: "int32" }),
    re("full: value {r} 10000000000"),
  );
  assert.throws(
    () => T.full([0], NaN, { dtype: "int32" }),
    re("full: value {r} NaN"),
  );
  assert.throws(
    () => T.arange(2 ** 31 - 2, 2 ** 31 + 2, { dtype: "int32" }),
    re("arange: the last value \\(index 3\\) {r} 2147483649"),
  );
  assert.throws(
    () => T.arange(-(2 ** 31) - 1, 0, 2 ** 30, { dtype: "int32" }),
    re("arange: the first value {r} -2147483649"),
  );
  assert.throws(
    () => T.linspace(0, 3e10, 3, { dtype: "int32" }),
    re("linspace: stop {r} 30000000000"),
  );
  // the ends of the range, and fractions truncated toward zero (as PyTorch)
  assert.deepEqual(
    [
      ...T.tensor([2 ** 31 - 1, -(2 ** 31), 1.5, -1.5, 2.7, -2.7, -0.5], {
        dtype: "int32",
      }).data,
    ],
    [2147483647, -2147483648, 1, -1, 2, -2, 0],
  );
  assert.deepEqual(
    [...T.tensor(new Float32Array([2.9, -2.9]), { dtype: "int32" }).data],
    [2, -2],
  );
  assert.deepEqual([...T.full([2], -1.5, { dtype: "int32" }).data], [-1, -1]);
  assert.deepEqual(
    [...T.full([1], 2 ** 31 - 1, { dtype: "int32" }).data],
    [2147483647],
  );
  assert.deepEqual(
    [...T.arange(2 ** 31 - 3, 2 ** 31 - 1, { dtype: "int32" }).data],
    [2147483645, 2147483646],
  );
  assert.deepEqual([...T.arange(0.5, 3, { dtype: "int32" }).data], [0, 1, 2]);
  // an empty range checks nothing
  assert.deepEqual(T.arange(3e10, 0, { dtype: "int32" }).shape, [0]);
  // float dtypes are unchanged
  assert.ok(Number.isNaN(T.tensor([NaN]).data[0]));
  assert.equal(T.full([1], 1e10, { dtype: "float64" }).data[0], 1e10);
});

Deno.test("reshape checks the shape it makes (at most 64 dimensions, each at most 2^31 - 1 beside a 0); pad keeps a -0 value", () => {
  assert.throws(
    () => T.reshape(T.zeros([0]), [0, 1e300]),
    /^Error: reshape: shape\[1\] must be at most 2147483647 \(2\^31 - 1\), got 1e\+300$/,
  );
  assert.throws(
    () => T.reshape(T.ones([1]), new Array(70).fill(1)),
    /^Error: reshape: shape must have at most 64 dimensions, got 70$/,
  );
  assert.deepEqual(T.reshape(T.ones([2, 3]), [3, -1]).shape, [3, 2]);
  const p = T.pad(T.ones([1]), [[1, 0]], { value: -0 });
  assert.ok(Object.is(p.data[0], -0));
  assert.equal(p.data[1], 1);
});

Deno.test("toArray refuses more than 2^27 numbers (read .data instead), at once; NaN and infinite sizes in the conv and pool options show as NaN and Infinity, not null", () => {
  const big = T.zeros([2 ** 27 + 1], { dtype: "int32" }); // 512 MiB, zero pages
  assert.throws(
    () => T.toArray(big),
    /^Error: toArray: x of shape \[134217729\] has 134217729 elements, more than the 134217728 \(2\^27\) that toArray puts in arrays; read x\.data instead$/,
  );
  assert.throws(
    () =>
      T.nn.conv2d({
        inChannels: 1,
        outChannels: 1,
        kernelSize: 3,
        stride: NaN,
      }),
    /stride must be an integer >= 1 or a pair \[h, w\] of them, got NaN$/,
  );
  assert.throws(
    () => T.nn.maxPool2d({ kernelSize: [2, Infinity] }),
    /kernelSize must be an integer >= 1 or a pair \[h, w\] of them, got \[2,Infinity\]$/,
  );
  assert.throws(
    () =>
      T.nn.conv1d({
        inChannels: 1,
        outChannels: 1,
        kernelSize: 3,
        stride: NaN,
      }),
    /stride must be an integer >= 1 \(or a one-element array of one\), got NaN$/,
  );
});
