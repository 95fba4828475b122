/**
 * Reductions over the last axis of a [rows, n] view. The ops move the
 * reduced axes last (a transpose) before calling these.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/** Sums each row of `x` viewed as [rows, n]. */
export function sumRows(x: TypedArray, n: number, out: TypedArray): TypedArray {
  const rows = out.length;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * n, e = i + n; i < e; i++) s += x[i];
    out[r] = s;
  }
  return out;
}

/** Maximum of each row of `x` viewed as [rows, n] (NaN if any element is NaN). */
export function maxRows(x: TypedArray, n: number, out: TypedArray): TypedArray {
  const rows = out.length;
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let i = r * n, e = i + n; i < e; i++) {
      const v = x[i];
      if (v > m || v !== v) m = v;
      if (m !== m) break;
    }
    out[r] = m;
  }
  return out;
}

/** Index of the first maximum of each row of `x` viewed as [rows, n]. */
export function argmaxRows(
  x: TypedArray,
  n: number,
  out: Int32Array,
): Int32Array {
  const rows = out.length;
  for (let r = 0; r < rows; r++) {
    let m = -Infinity, k = 0;
    for (let i = 0; i < n; i++) {
      const v = x[r * n + i];
      if (v > m || (v !== v && m === m)) {
        m = v;
        k = i;
        if (v !== v) break;
      }
    }
    out[r] = k;
  }
  return out;
}
