/**
 * Data-movement kernels: transpose, flip, slice, pad, concat. Arrays and shapes in,
 * a new array out.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";
import { stridesOf } from "./elementwise.ts";

/** Permutes the axes of `x` (shape `shape`) by `perm` into `out`. */
export function transpose(
  x: TypedArray,
  shape: readonly number[],
  perm: readonly number[],
  out: TypedArray,
): TypedArray {
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  return gather(x, outShape, 0, perm.map((p) => inStrides[p]), out);
}

/** Reverses the axes of `x` (shape `shape`) where `flipped[i]` into `out`. */
export function flip(
  x: TypedArray,
  shape: readonly number[],
  flipped: readonly boolean[],
  out: TypedArray,
): TypedArray {
  const inStrides = stridesOf(shape);
  let base = 0;
  const strides = inStrides.map((s, i) => {
    if (!flipped[i] || shape[i] === 0) return s;
    base += s * (shape[i] - 1); // start at the last index, walk backwards
    return -s;
  });
  return gather(x, shape, base, strides, out);
}

/**
 * Writes `out` (shape `outShape`, row-major) from `x` read at offset `base`
 * with `strides` per output axis (negative ones walk backwards).
 */
function gather(
  x: TypedArray,
  outShape: readonly number[],
  base: number,
  strides: readonly number[],
  out: TypedArray,
): TypedArray {
  const nd = outShape.length;
  if (nd === 0) {
    out[0] = x[base];
    return out;
  }
  // Loop over all output positions; the innermost axis is a tight loop.
  const last = nd - 1;
  const innerN = outShape[last];
  const innerS = strides[last];
  const counter = new Int32Array(nd);
  let src = base;
  const total = out.length;
  for (let o = 0; o < total; o += innerN) {
    for (let i = 0, s = src; i < innerN; i++, s += innerS) out[o + i] = x[s];
    for (let ax = last - 1; ax >= 0; ax--) {
      counter[ax]++;
      src += strides[ax];
      if (counter[ax] < outShape[ax]) break;
      src -= strides[ax] * counter[ax];
      counter[ax] = 0;
    }
  }
  return out;
}

/**
 * Copies the box `starts..starts+outShape` of `x` (shape `shape`) into `out`,
 * or, with `reverse`, writes `x` of shape `outShape` into that box of `out`
 * (shape `shape`, pre-filled). One loop serves slice and pad.
 */
export function copyBox(
  x: TypedArray,
  shape: readonly number[],
  starts: readonly number[],
  outShape: readonly number[],
  out: TypedArray,
  reverse = false,
): TypedArray {
  const nd = shape.length;
  const strides = stridesOf(shape);
  let base = 0;
  for (let i = 0; i < nd; i++) base += starts[i] * strides[i];
  let total = 1;
  for (const d of outShape) total *= d;
  if (total === 0) return out;
  if (nd === 0) {
    if (reverse) out[0] = x[0];
    else out[0] = x[0];
    return out;
  }
  const last = nd - 1;
  const innerN = outShape[last];
  const counter = new Int32Array(nd);
  let src = base;
  for (let o = 0; o < total; o += innerN) {
    if (reverse) { for (let i = 0; i < innerN; i++) out[src + i] = x[o + i]; }
    else for (let i = 0; i < innerN; i++) out[o + i] = x[src + i];
    for (let ax = last - 1; ax >= 0; ax--) {
      counter[ax]++;
      src += strides[ax];
      if (counter[ax] < outShape[ax]) break;
      src -= strides[ax] * counter[ax];
      counter[ax] = 0;
    }
  }
  return out;
}

/** Concatenates arrays of shapes `shapes` along `axis` into `out`. */
export function concat(
  xs: readonly TypedArray[],
  shapes: readonly (readonly number[])[],
  axis: number,
  out: TypedArray,
): TypedArray {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shapes[0][i];
  const chunks = shapes.map((s) => {
    let n = 1;
    for (let i = axis; i < s.length; i++) n *= s[i];
    return n;
  });
  const rowLen = chunks.reduce((a, b) => a + b, 0);
  let offset = 0;
  xs.forEach((x, k) => {
    const c = chunks[k];
    for (let o = 0; o < outer; o++) {
      out.set(x.subarray(o * c, (o + 1) * c), o * rowLen + offset);
    }
    offset += c;
  });
  return out;
}
