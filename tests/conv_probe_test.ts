/**
 * Differences from torch.nn.functional found by probing the 1-D and 3-D
 * CNN ops (PyTorch 1.13, float64), each pinned with PyTorch's values (the
 * expression that made them in a comment).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

const f64 = (data: number[], shape: number[]) =>
  T.tensor(data, { shape, dtype: "float64" });
const arr = (t: T.Tensor) => Array.from(t.data as Float64Array);

Deno.test("maxPool3d routes the gradient of a window of -infinities to its first input tap, not to the depth padding", () => {
  // x = torch.full((1,1,3,1,1), -inf, dtype=torch.float64, requires_grad=True)
  // y = F.max_pool3d(x, (3,1,1), 2, (1,0,0)); y.backward(tensor([1., 10.]).view(y.shape))
  // y: [-inf, -inf]; x.grad: [1, 10, 0]
  const x = T.full([1, 1, 3, 1, 1], -Infinity, { dtype: "float64" });
  const o = { kernelSize: [3, 1, 1], stride: 2, padding: [1, 0, 0] } as const;
  assert.deepEqual(arr(T.maxPool3d(x, o)), [-Infinity, -Infinity]);
  const cot = f64([1, 10], [1, 1, 2, 1, 1]);
  const g = T.grad((v: T.Tensor) => T.sum(T.mul(T.maxPool3d(v, o), cot)))(x);
  assert.deepEqual(arr(g), [1, 10, 0]);
  // x = torch.full((1,1,5,2,2), -inf, ...); y = F.max_pool3d(x, 2, 1, 1, dilation=2)
  // y.backward(torch.arange(1, 21.).view(y.shape)); x.grad:
  const o2 = { kernelSize: 2, stride: 1, padding: 1, dilation: 2 };
  const x2 = T.full([1, 1, 5, 2, 2], -Infinity, { dtype: "float64" });
  const c2 = T.reshape(
    T.arange(1, 21, 1, { dtype: "float64" }),
    [1, 1, 5, 2, 2],
  );
  const expected = [
    8,
    7,
    6,
    5,
    16,
    14,
    12,
    10,
    16,
    15,
    14,
    13,
    20,
    19,
    18,
    17,
    0,
    0,
    0,
    0,
  ];
  const loss = (v: T.Tensor) => T.sum(T.mul(T.maxPool3d(v, o2), c2));
  assert.deepEqual(arr(T.grad(loss)(x2)), expected);
  assert.deepEqual(arr(T.jit(T.grad(loss))(x2)), expected);
  const gv = T.vmap(T.grad(loss))(T.stack([x2, x2]));
  assert.deepEqual(arr(gv), [...expected, ...expected]);
});

Deno.test("avgPool3d refuses a kernel larger than the unpadded input, as PyTorch's avg_pool3d", () => {
  // F.avg_pool3d(torch.randn(1,1,3,3,3), (5,3,3), padding=(2,1,1), ceil_mode=True)
  // RuntimeError: input image (T: 3 H: 3 W: 3) smaller than kernel size (kT: 5 kH: 3 kW: 3)
  const x = T.ones([1, 1, 3, 3, 3]);
  const o = {
    kernelSize: [5, 3, 3],
    padding: [2, 1, 1],
    ceilMode: true,
  } as const;
  assert.throws(() => T.avgPool3d(x, o), /smaller than the kernelSize/);
  assert.throws(
    () => T.nn.avgPool3d(o).info.outputShape!([1, 1, 3, 3, 3]),
    /smaller than the kernelSize/,
  );
  // maxPool3d has no such check in PyTorch: F.max_pool3d(x, (5,3,3), padding=(2,1,1)) is [1,1,1,1,1]
  assert.deepEqual(T.maxPool3d(x, o).shape, [1, 1, 1, 2, 2]);
});

Deno.test("the functional adaptive pools take null (PyTorch's None) for an axis that keeps its size", () => {
  // x = torch.arange(60.).view(1,2,5,6) * 7 % 11
  const x = T.reshape(
    f64(Array.from({ length: 60 }, (_, i) => (i * 7) % 11), [60]),
    [1, 2, 5, 6],
  );
  // F.adaptive_avg_pool2d(x, (None, 4)).flatten()[:8]
  const a = T.adaptiveAvgPool2d(x, [null, 4]);
  assert.deepEqual(a.shape, [1, 2, 5, 4]);
  assert.deepEqual(arr(a).slice(0, 8), [3.5, 5, 8, 4, 7, 3, 6, 2]);
  assert.deepEqual(arr(a), arr(T.adaptiveAvgPool2d(x, [5, 4])));
  // F.adaptive_max_pool2d(x, (3, None)).flatten()[:8]
  const m = T.adaptiveMaxPool2d(x, [3, null]);
  assert.deepEqual(m.shape, [1, 2, 3, 6]);
  assert.deepEqual(arr(m).slice(0, 8), [9, 7, 3, 10, 6, 2, 9, 5]);
  // x3 = torch.arange(120.).view(2,3,4,5) * 7 % 13 (unbatched)
  const x3 = T.reshape(
    f64(Array.from({ length: 120 }, (_, i) => (i * 7) % 13), [120]),
    [2, 3, 4, 5],
  );
  // F.adaptive_avg_pool3d(x3, (None, 3, None)): [2, 3, 3, 5], flatten()[:8]
  const a3 = T.adaptiveAvgPool3d(x3, [null, 3, null]);
  assert.deepEqual(a3.shape, [2, 3, 3, 5]);
  assert.deepEqual(arr(a3).slice(0, 8), [4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8]);
  // F.adaptive_max_pool3d(x3, (2, None, 3)): [2, 2, 4, 3], flatten()[:8]
  const m3 = T.adaptiveMaxPool3d(x3, [2, null, 3]);
  assert.deepEqual(m3.shape, [2, 2, 4, 3]);
  assert.deepEqual(arr(m3).slice(0, 8), [10, 11, 12, 9, 10, 11, 12, 12]);
  // under jit and vmap, the same
  const f = (v: T.Tensor) => T.adaptiveMaxPool3d(v, [2, null, 3]);
  assert.deepEqual(arr(T.jit(f)(x3)), arr(m3));
  assert.deepEqual(arr(T.vmap(f)(T.stack([x3, x3]))), [...arr(m3), ...arr(m3)]);
  assert.throws(() => T.adaptiveAvgPool2d(x, [null, 0]), /outputSize/);
});
