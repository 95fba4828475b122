/**
 * Running sums along one axis. Float sums accumulate in float64 (as
 * PyTorch's CPU kernels do for float32) and are rounded once per output;
 * int32 sums wrap around modulo 2^32, as int32 arithmetic does.
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
  const n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  if (x.length === 0) return out;
  const outer = x.length / (n * inner);
  // one running sum per inner position; an Int32Array wraps on each store
  const acc = out instanceof Int32Array
    ? new Int32Array(inner)
    : new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    for (let k = 0; k < n; k++) {
      const base = (o * n + (reverse ? n - 1 - k : k)) * inner;
      for (let i = 0; i < inner; i++) {
        acc[i] += x[base + i];
        out[base + i] = acc[i];
      }
    }
  }
  return out;
}

/**
 * Writes into `out` the running product of `x` of `shape` along `axis`, in
 * order (entry i multiplies entries 0..i left to right, as PyTorch's loop:
 * an overflow to ±inf stays inf, an underflow to 0 stays 0). Floats
 * accumulate in float64 and round once per output; int32 wraps modulo 2^32.
 */
export function cumprodAxis(
  x: TypedArray,
  shape: readonly number[],
  axis: number,
  out: TypedArray,
): TypedArray {
  const n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  if (x.length === 0) return out;
  const outer = x.length / (n * inner);
  const ints = out instanceof Int32Array;
  const acc = ints ? new Int32Array(inner) : new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(1);
    for (let k = 0; k < n; k++) {
      const base = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) {
        acc[i] = ints ? Math.imul(acc[i], x[base + i]) : acc[i] * x[base + i];
        out[base + i] = acc[i];
      }
    }
  }
  return out;
}
