/**
 * Elementwise kernels over typed arrays, with NumPy broadcasting. No tensors,
 * no autodiff: arrays and shapes in, a new array out.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/** The broadcast shape of two shapes (NumPy rules), or null when incompatible. */
export function broadcastShapes(
  a: readonly number[],
  b: readonly number[],
): number[] | null {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Strides for reading an array of `shape` broadcast to `outShape` (0 on broadcast axes). */
function broadcastStrides(
  shape: readonly number[],
  outShape: readonly number[],
): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) =>
    i < off || shape[i - off] === 1 ? 0 : own[i - off]
  );
}

/**
 * Calls `visit(outIndex, indexIntoEach...)` for every element of `outShape`,
 * reading each input through broadcast strides. Used by the general paths.
 */
function forEachBroadcast(
  outShape: readonly number[],
  shapes: readonly (readonly number[])[],
  visit: (o: number, idx: Int32Array) => void,
): void {
  const nd = outShape.length;
  const strides = shapes.map((s) => broadcastStrides(s, outShape));
  const k = shapes.length;
  const idx = new Int32Array(k);
  const counter = new Int32Array(nd);
  let total = 1;
  for (const d of outShape) total *= d;
  for (let o = 0; o < total; o++) {
    visit(o, idx);
    // increment the multi-index and each input offset
    for (let ax = nd - 1; ax >= 0; ax--) {
      counter[ax]++;
      for (let j = 0; j < k; j++) idx[j] += strides[j][ax];
      if (counter[ax] < outShape[ax]) break;
      for (let j = 0; j < k; j++) idx[j] -= strides[j][ax] * counter[ax];
      counter[ax] = 0;
    }
  }
}

/** Applies `f` to each element. */
export function unary(
  x: TypedArray,
  out: TypedArray,
  f: (v: number) => number,
): TypedArray {
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}

/** Applies `f` elementwise to two broadcast arrays, writing into `out` of `outShape`. */
export function binary(
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
  f: (x: number, y: number) => number,
): TypedArray {
  const n = out.length;
  if (a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);
  } else if (b.length === 1 && a.length === n) {
    const y = b[0];
    for (let i = 0; i < n; i++) out[i] = f(a[i], y);
  } else if (a.length === 1 && b.length === n) {
    const x = a[0];
    for (let i = 0; i < n; i++) out[i] = f(x, b[i]);
  } else {
    forEachBroadcast(outShape, [aShape, bShape], (o, idx) => {
      out[o] = f(a[idx[0]], b[idx[1]]);
    });
  }
  return out;
}

/** `cond ? a : b` elementwise over three broadcast arrays. */
export function select(
  c: TypedArray,
  cShape: readonly number[],
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
): TypedArray {
  forEachBroadcast(outShape, [cShape, aShape, bShape], (o, idx) => {
    out[o] = c[idx[0]] !== 0 ? a[idx[1]] : b[idx[2]];
  });
  return out;
}

/** Copies `x` of `shape` broadcast to `outShape` into `out`. */
export function broadcastTo(
  x: TypedArray,
  shape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
): TypedArray {
  if (x.length === 1) out.fill(x[0]);
  else {
    forEachBroadcast(outShape, [shape], (o, idx) => {
      out[o] = x[idx[0]];
    });
  }
  return out;
}
