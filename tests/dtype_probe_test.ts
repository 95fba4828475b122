/**
 * Dtype promotion and special values against PyTorch 1.13: cases where a
 * probe of every dtype pair, weak scalar and special value found the library
 * differing from torch (each expected value is the torch expression in the
 * comment next to it, with `i32 = lambda v: torch.tensor(v,
 * dtype=torch.int32)` and `f32 = lambda v: torch.tensor(v,
 * dtype=torch.float32)`).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

const i32 = (v: T.NestedArray) => T.tensor(v, { dtype: "int32" });
const f32 = (v: T.NestedArray) => T.tensor(v, { dtype: "float32" });

Deno.test("logSumExp of int32 is computed in float32 (no int32 wraparound)", () => {
  // torch.logsumexp(i32([[-2147483648, -1, 7]]), 1).tolist() == [7.000335216522217]
  const y = T.logSumExp(i32([[-2147483648, -1, 7]]), { axis: 1 });
  assert.equal(y.dtype, "float32");
  assert.deepEqual(T.toArray(y), [7.000335216522217]);
  // torch.logsumexp(i32([2147483647, -2147483648]), 0).item() == 2147483648.0
  assert.equal(T.item(T.logSumExp(i32([2147483647, -2147483648]))), 2 ** 31);
});

Deno.test("argmax and argmin over all axes with keepDims keep every axis", () => {
  const x = f32([[1, 5], [7, 2]]);
  // torch.argmax(f32([[1,5],[7,2]]), keepdim=True) -> tensor([[2]])
  const a = T.argmax(x, { keepDims: true });
  assert.deepEqual(a.shape, [1, 1]);
  assert.deepEqual(T.toArray(a), [[2]]);
  // torch.argmin(f32([[1,5],[7,2]]), keepdim=True) -> tensor([[0]])
  assert.deepEqual(T.toArray(T.argmin(x, { keepDims: true })), [[0]]);
  assert.deepEqual(T.argmax(x).shape, []);
});

Deno.test("searchsorted and bucketize put NaN after every number, as PyTorch and NumPy", () => {
  const nan = NaN;
  // torch.searchsorted(f32([1,3,5]), f32([nan,3])).tolist() == [3, 1]
  assert.deepEqual(
    T.toArray(T.searchsorted(f32([1, 3, 5]), f32([nan, 3]))),
    [3, 1],
  );
  // torch.searchsorted(f32([1,3,5]), f32([nan,3]), right=True).tolist() == [3, 2]
  assert.deepEqual(
    T.toArray(T.searchsorted(f32([1, 3, 5]), f32([nan, 3]), { right: true })),
    [3, 2],
  );
  // torch.bucketize(f32([0.5,1,7,nan]), f32([1,5])).tolist() == [0, 0, 2, 2]
  assert.deepEqual(
    T.toArray(T.bucketize(f32([0.5, 1, 7, nan]), f32([1, 5]))),
    [0, 0, 2, 2],
  );
  // a NaN in the sequence (last, where sort puts it), as NumPy:
  // np.searchsorted([1,3,5,nan], [0,3,nan,inf]) == [0, 1, 3, 3]
  // np.searchsorted([1,3,5,nan], [0,3,nan,inf], side="right") == [0, 2, 4, 3]
  const seq = f32([1, 3, 5, nan]), v = f32([0, 3, nan, Infinity]);
  assert.deepEqual(T.toArray(T.searchsorted(seq, v)), [0, 1, 3, 3]);
  assert.deepEqual(T.toArray(T.searchsorted(seq, v, { right: true })), [
    0,
    2,
    4,
    3,
  ]);
});

Deno.test("fmod of int32 stays int32, as its JSDoc now says and torch.fmod does", () => {
  // torch.fmod(i32([5, -5]), i32([3, 3])) -> tensor([2, -2], dtype=torch.int32)
  const r = T.fmod(i32([5, -5]), i32([3, 3]));
  assert.equal(r.dtype, "int32");
  assert.deepEqual(T.toArray(r), [2, -2]);
  assert.throws(
    () => T.fmod(i32([1]), i32([0])),
    /fmod: integer division by zero/,
  );
});

Deno.test("a scalar takes axis 0 and -1 in reductions and squeeze, as PyTorch's dim wrapping", () => {
  const x = T.tensor(3.5);
  // torch.sum(f32(3.5), -1) -> tensor(3.5); likewise amax, mean, argmax (0), logsumexp
  assert.deepEqual(T.toArray(T.sum(x, { axis: -1 })), 3.5);
  assert.deepEqual(T.sum(x, { axis: -1, keepDims: true }).shape, []);
  assert.deepEqual(T.toArray(T.max(x, { axis: -1 })), 3.5);
  assert.deepEqual(T.toArray(T.mean(x, { axis: -1 })), 3.5);
  assert.deepEqual(T.toArray(T.argmax(x, { axis: -1 })), 0);
  assert.deepEqual(T.toArray(T.logSumExp(x, { axis: -1 })), 3.5);
  // torch.softmax(f32(3.5), -1) -> tensor(1.)
  assert.deepEqual(T.toArray(T.softmax(x, -1)), 1);
  // torch.squeeze(f32(3.5), -1) and (…, 0) -> tensor(3.5)
  assert.deepEqual(T.squeeze(x, -1).shape, []);
  assert.deepEqual(T.squeeze(x, 0).shape, []);
  // torch.sum(f32(3.5), -2): IndexError (range [-1, 0])
  assert.throws(() => T.sum(x, { axis: -2 }), /sum: axis -2 is out of range/);
  assert.throws(() => T.sum(x, { axis: 1 }), /sum: axis 1 is out of range/);
});

Deno.test("an int32 operand of a float32 op is rounded to float32 first, eager and jitted", () => {
  const big = i32([16777217]); // 2^24 + 1: float32 holds 2^24
  // torch.add(i32([16777217]), f32([1])).item() == 16777216.0
  assert.deepEqual(T.toArray(T.add(big, f32([1]))), [16777216]);
  // torch.eq(i32([16777217]), f32([16777216])).item() == True
  assert.deepEqual(T.toArray(T.equal(big, f32([16777216]))), [1]);
  // torch.pow(f32([-3.5]), i32([2147483647])).item() == inf (2^31, even)
  assert.deepEqual(T.toArray(T.pow(f32([-3.5]), i32([2147483647]))), [
    Infinity,
  ]);
  // torch.remainder(i32([2147483647]), -2.5).item() == -2.0
  assert.deepEqual(T.toArray(T.remainder(i32([2147483647]), -2.5)), [-2]);
  // torch.cos(i32([2147483647])).item() == 0.2378161996603012
  assert.deepEqual(T.toArray(T.cos(i32([2147483647]))), [0.2378161996603012]);
  // a jitted chain (a fused loop, and the WebAssembly kernel for 4 and more)
  // reads the int32 operand as the eager ops do
  const fns = [
    (a: T.Tensor, b: T.Tensor) => T.sub(T.mul(T.add(a, b), 1), b),
    (a: T.Tensor, b: T.Tensor) => T.add(T.cos(a), b),
  ];
  for (const n of [1, 3, 8]) {
    const a = i32(Array.from({ length: n }, (_, k) => 16777217 + 2 * k));
    const b = f32(Array.from({ length: n }, (_, k) => 1 + k / 4));
    for (const fn of fns) {
      const jf = T.jit(fn);
      jf(a, b);
      assert.deepEqual(T.toArray(jf(a, b)), T.toArray(fn(a, b)));
    }
  }
  // torch.add(i32([16777217]), f32([1])) - 1 == 16777215
  assert.deepEqual(T.toArray(fns[0](big, f32([1]))), [16777215]);
});
