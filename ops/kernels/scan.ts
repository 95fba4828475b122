/**
 * Running sums and products along one axis. Floats accumulate in float64
 * (as PyTorch's CPU kernels do for float32) and are rounded once per
 * output; int32 wraps around modulo 2^32, as int32 arithmetic does.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/**
 * Writes into `out` the running sum of `x` of `shape` along `axis`, from
 * the start, or from the end when `reverse` (then entry i sums i..n-1).
 */
export function cumsumAxis(
  x: TypedArray,
  shape: readonly number[],
  axis: number,
  reverse: boolean,
  out: TypedArray,
): TypedArray {
  return runningAxis(x, shape, axis, reverse, out, false);
}

/**
 * Writes into `out` the running product of `x` of `shape` along `axis`, in
 * order (entry i multiplies entries 0..i left to right, as PyTorch's loop:
 * an overflow to ±inf stays inf, an underflow to 0 stays 0).
 */
export function cumprodAxis(
  x: TypedArray,
  shape: readonly number[],
  axis: number,
  out: TypedArray,
): TypedArray {
  return runningAxis(x, shape, axis, false, out, true);
}

/** The running sum (or, with `product`, product) along `axis`, one accumulator per inner position. */
function runningAxis(
  x: TypedArray,
  shape: readonly number[],
  axis: number,
  reverse: boolean,
  out: TypedArray,
  product: boolean,
): TypedArray {
  const n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  if (x.length === 0) return out;
  const outer = x.length / (n * inner);
  // an Int32Array accumulator wraps on each store (a product through imul)
  const ints = out instanceof Int32Array;
  const acc = ints ? new Int32Array(inner) : new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(product ? 1 : 0);
    for (let k = 0; k < n; k++) {
      const base = (o * n + (reverse ? n - 1 - k : k)) * inner;
      for (let i = 0; i < inner; i++) {
        const v = x[base + i];
        acc[i] = !product
          ? acc[i] + v
          : ints
          ? Math.imul(acc[i], v)
          : acc[i] * v;
        out[base + i] = acc[i];
      }
    }
  }
  return out;
}
