// Tensor creation and vmap edge cases found by a probe: each test failed
// before its fix. Expected values marked "torch" are PyTorch 1.13's (x86,
// AVX2, one thread).
import assert from "node:assert/strict";
import * as T from "../mod.ts";

Deno.test("a shape with a hole (a sparse array) is an error, not a tensor of shape [1,null,1]", () => {
  // deno-lint-ignore no-sparse-arrays
  const holey = [1, , 1] as unknown as number[];
  assert.throws(
    () => T.zeros(holey),
    /^Error: zeros: shape must be an array of non-negative integers, got \[1,null,1\]$/,
  );
  assert.throws(
    () => T.tensor([1], { shape: holey }),
    /^Error: tensor: shape must be an array of non-negative integers/,
  );
  assert.throws(
    () => T.full(holey, 2),
    /^Error: full: shape must be an array of non-negative integers/,
  );
});

Deno.test("tensor names a hole in sparse nested values (it said 'shape [3] needs 3 values, got 2')", () => {
  // deno-lint-ignore no-sparse-arrays
  const values = [1, , 3] as unknown as number[];
  assert.throws(
    () => T.tensor(values),
    /^Error: tensor: values must be numbers or nested arrays of equal length; at values\[1\] expected a number, got an empty slot \(a hole in a sparse array\)$/,
  );
  // deno-lint-ignore no-sparse-arrays
  const rows = [[1, 2], , [5, 6]] as unknown as number[][];
  assert.throws(
    () => T.tensor(rows),
    /^Error: tensor: ragged nested array; at values\[1\] expected an array of length 2, got an empty slot/,
  );
  const empty = new Array(2) as number[];
  assert.throws(() => T.tensor(empty), /at values\[0\] expected a number/);
  // an explicit undefined is still named as such
  assert.throws(
    () => T.tensor([1, undefined as unknown as number]),
    /at values\[1\] expected a number, got undefined$/,
  );
});

Deno.test("tensor of a Float16Array keeps its fractions (float32; it was int32, truncated)", () => {
  const F16 = (globalThis as unknown as {
    Float16Array?: new (v: number[]) => ArrayBufferView;
  }).Float16Array;
  if (!F16) return; // (a runtime without Float16Array)
  const t = T.tensor(new F16([1.5, -2.25]) as unknown as Float32Array);
  assert.equal(t.dtype, "float32");
  assert.deepEqual([...t.data], [1.5, -2.25]);
  // other integer typed arrays stay int32, values exact
  const u = T.tensor(new Uint8Array([0, 255]) as unknown as Int32Array);
  assert.equal(u.dtype, "int32");
  assert.deepEqual([...u.data], [0, 255]);
  assert.deepEqual(
    [
      ...T.tensor(new Int16Array([-3, 7]) as unknown as Int32Array, {
        dtype: "float64",
      }).data,
    ],
    [-3, 7],
  );
});

Deno.test("tensor of a BigInt64Array, BigUint64Array or DataView is an error naming tensor (was a bare TypeError or 'needs NaN values')", () => {
  for (
    const [v, name] of [
      [new BigInt64Array([1n]), "BigInt64Array"],
      [new BigUint64Array([1n]), "BigUint64Array"],
      [new DataView(new ArrayBuffer(8)), "DataView"],
    ] as const
  ) {
    for (const opts of [undefined, { dtype: "int32" as const }]) {
      assert.throws(
        () => T.tensor(v as unknown as Float32Array, opts),
        new RegExp(
          `^Error: tensor: values must be numbers; a ${name} is not supported`,
        ),
      );
    }
  }
});

Deno.test("int32 arange counts from the truncated start by the truncated step, as torch (it truncated start + i*step)", () => {
  const ar = (...a: Parameters<typeof T.arange>) => [...T.arange(...a).data];
  const i32 = { dtype: "int32" as const };
  assert.deepEqual(ar(-0.5, 3, i32), [0, 1, 2, 3]); // was [0, 0, 1, 2]
  assert.deepEqual(ar(0, 5, 1.5, i32), [0, 1, 2, 3]); // was [0, 1, 3, 4]
  assert.deepEqual(ar(5, 0, -1.5, i32), [5, 4, 3, 2]);
  assert.deepEqual(
    ar(7.87650668988341, -41.62349331011659, -1.5, i32).slice(0, 6),
    [7, 6, 5, 4, 3, 2],
  );
  assert.deepEqual(ar(0.5, 3, i32), [0, 1, 2]);
  // torch: "step must be nonzero"
  assert.throws(
    () => T.arange(0, 5, 0.5, i32),
    /^Error: arange: step 0.5 truncates to 0 for dtype "int32"/,
  );
  assert.throws(() => T.arange(0, 0, -0.9, i32), /truncates to 0/);
  // float dtypes keep the fractional step
  assert.deepEqual(ar(0, 5, 1.5, { dtype: "float64" }), [0, 1.5, 3, 4.5]);
});

Deno.test("arange has torch's exact values: a fused multiply-add, and its vectorised blocks (it was start + i*step, rounded twice)", () => {
  // torch.arange(29, 19.1, -0.3) (float32), values 8..10
  assert.deepEqual(
    [...T.arange(29, 19.1, -0.3).data].slice(8, 11),
    [26.600000381469727, 26.30000114440918, 26.0],
  );
  // torch.arange(-3, 6.9, 0.3, dtype=float64)
  assert.deepEqual([...T.arange(-3, 6.9, 0.3, { dtype: "float64" }).data], [
    -3.0,
    -2.7,
    -2.4,
    -2.1,
    -1.8,
    -1.5,
    -1.2000000000000002,
    -0.9000000000000001,
    -0.6000000000000001,
    -0.3000000000000001,
    -1.1102230246251565e-16,
    0.2999999999999999,
    0.5999999999999999,
    0.8999999999999999,
    1.1999999999999997,
    1.4999999999999998,
    1.7999999999999998,
    2.0999999999999996,
    2.4,
    2.6999999999999997,
    3.0,
    3.3,
    3.6,
    3.9,
    4.199999999999999,
    4.499999999999999,
    4.799999999999999,
    5.1,
    5.3999999999999995,
    5.699999999999999,
    5.999999999999999,
    6.3,
    6.6,
  ]);
  assert.deepEqual(
    [
      ...T.arange(0.1, 53.48606327174031, 1.6177594930830397, {
        dtype: "float64",
      }).data,
    ].slice(0, 8),
    [
      0.1,
      1.7177594930830398,
      3.3355189861660794,
      4.953278479249119,
      6.571037972332158,
      8.188797465415199,
      9.806556958498238,
      11.424316451581277,
    ],
  );
  assert.deepEqual(
    [...T.arange(1, 1.7000000000000002, 0.1, { dtype: "float64" }).data],
    [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.5999999999999999, 1.7],
  );
  // and what it gave already
  assert.deepEqual([...T.arange(10, 0, -3).data], [10, 7, 4, 1]);
  assert.deepEqual([...T.arange(16777216, 16777220).data], [
    16777216,
    16777216,
    16777218,
    16777220,
  ]);
  const inputs = [1, 2];
  const t = T.arange(0, 3);
  assert.ok(Object.isFrozen(t) && Object.isFrozen(t.shape));
  assert.deepEqual(inputs, [1, 2]);
});

Deno.test("int32 linspace rounds start + step·i once (a fused multiply-add) before truncating, as torch", () => {
  // torch.linspace(-3, 1, 15, dtype=torch.int32): value 7 is 1 - 7·(4/14),
  // just above -1, so 0 (it was -1)
  assert.deepEqual([...T.linspace(-3, 1, 15, { dtype: "int32" }).data], [
    -3,
    -2,
    -2,
    -2,
    -1,
    -1,
    -1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
  ]);
});

Deno.test("vmap: mapped arguments without a tensor say so (it said every inAxes entry is null); axisSize's type is shown", () => {
  const f = (_: unknown) => T.tensor(1);
  assert.throws(
    () => T.vmap(f)({}),
    /^Error: vmap: no input is mapped \(the mapped arguments hold no tensor: an empty tree or an empty list of keys, or every leaf's axis is null\): give axisSize$/,
  );
  assert.throws(
    () => T.vmap(f)([]),
    /the mapped arguments hold no tensor/,
  );
  assert.throws(
    () => T.vmap(f, { inAxes: null })({}),
    /^Error: vmap: no input is mapped \(every inAxes entry is null\): give axisSize$/,
  );
  assert.deepEqual(T.toArray(T.vmap(f, { axisSize: 2 })({})), [1, 1]);
  assert.throws(
    () => T.vmap(f, { axisSize: "2" as unknown as number }),
    /^Error: vmap: axisSize must be an integer in \[0, 2\^31 - 1\], got string 2$/,
  );
});

Deno.test("a hole in a sparse array of a tree is an undefined leaf, an error (it was skipped: treeMap gave a holey tree, treeMap of two trees a TypeError)", () => {
  const [a, b] = [T.tensor(1), T.tensor(2)];
  // deno-lint-ignore no-sparse-arrays
  const holey = [a, , b] as unknown as T.Tensor[];
  const msg =
    /leaf "1" must be a Tensor, an array or a plain object, got undefined$/;
  assert.throws(() => T.treeFlatten(holey), msg);
  assert.throws(() => T.treeLeaves(holey), msg);
  assert.throws(() => T.treePaths(holey), msg);
  assert.throws(() => T.treeMap((x) => x, holey), msg);
  assert.throws(
    () => T.treeMap((x, y) => T.add(x, y), [a, a, b], holey),
    /^Error: treeMap \(tree 1\): leaf "1" must be/,
  );
  assert.throws(
    () => T.grad((p: T.Tensor[]) => T.sum(p[0]))(holey),
    /grad: argument 0 is not a tree of tensors: .*leaf "1"/,
  );
});

Deno.test("vmap: a single key in a tree prefix whose axis is null goes to f as it is, as JAX's in_axes None (it was an error)", () => {
  const k = T.random.key(1);
  const x = T.arange(3);
  const f = (p: { k: T.random.Key; x: T.Tensor }) =>
    T.add(p.x, T.random.normal(p.k, []));
  const got = T.vmap(f, { inAxes: [{ k: null, x: 0 }] })({ k, x });
  const want = T.stack([0, 1, 2].map((i) => f({ k, x: T.tensor(i) })));
  assert.deepEqual(got.data, want.data);
  // in an array prefix too
  const g = (p: [T.random.Key, T.Tensor]) =>
    T.mul(p[1], T.random.uniform(p[0], []));
  const got2 = T.vmap(g, { inAxes: [[null, 0]] })([k, x]);
  assert.deepEqual(
    got2.data,
    T.stack([0, 1, 2].map((i) => g([k, T.tensor(i)]))).data,
  );
  // a single key where an axis is mapped is still an error, naming the leaf
  assert.throws(
    () => T.vmap(f, { inAxes: [{ k: 0, x: 0 }] })({ k, x }),
    /^Error: vmap: argument 0 holds a single random key where an axis is mapped: map a list of keys .*\(for the argument, or for that leaf: inAxes\[0\] leaf 0\)/,
  );
});
