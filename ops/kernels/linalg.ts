/**
 * Dense linear algebra on typed arrays: LU with partial pivoting, Cholesky
 * and triangular solves of a batch of small matrices (row-major, each
 * matrix after the other), in float64 whatever the input's float type (the
 * caller rounds the result to it). The textbook loops of LAPACK's getrf,
 * potrf and trsm (unblocked: the matrices here are small).
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/** The LU factors of a batch of n×n matrices. */
export interface Lu {
  /** L (unit lower, below the diagonal) and U (on and above it), per matrix. */
  lu: Float64Array;
  /** The row swapped with row i at step i, per matrix (LAPACK's ipiv, from 0). */
  piv: Int32Array;
  /** The permutation's sign per matrix: ±1. */
  sign: Float64Array;
  /** The first matrix with a zero pivot (singular), or -1. */
  singular: number;
}

/**
 * P A = L U of `count` n×n matrices, the pivot of each column the entry of
 * largest magnitude on or below the diagonal (the first of equals, as
 * LAPACK's idamax).
 */
export function luFactor(a: TypedArray, count: number, n: number): Lu {
  const lu = Float64Array.from(a as ArrayLike<number>);
  const piv = new Int32Array(count * n);
  const sign = new Float64Array(count).fill(1);
  let singular = -1;
  for (let m = 0; m < count; m++) {
    const o = m * n * n;
    for (let k = 0; k < n; k++) {
      let p = k, best = Math.abs(lu[o + k * n + k]);
      for (let i = k + 1; i < n; i++) {
        const v = Math.abs(lu[o + i * n + k]);
        if (v > best) [p, best] = [i, v];
      }
      piv[m * n + k] = p;
      if (p !== k) {
        sign[m] = -sign[m];
        for (let j = 0; j < n; j++) {
          const t = lu[o + k * n + j];
          lu[o + k * n + j] = lu[o + p * n + j];
          lu[o + p * n + j] = t;
        }
      }
      const d = lu[o + k * n + k];
      if (d === 0) {
        if (singular < 0) singular = m;
        continue; // (as getrf: the column below stays, nothing eliminated)
      }
      for (let i = k + 1; i < n; i++) {
        const f = (lu[o + i * n + k] /= d);
        if (f === 0) continue;
        for (let j = k + 1; j < n; j++) {
          lu[o + i * n + j] -= f * lu[o + k * n + j];
        }
      }
    }
  }
  return { lu, piv, sign, singular };
}

/**
 * X = A⁻¹ B for each matrix of a factored batch (`luFactor`), B n×k per
 * matrix; the result into `out` (rounded to its type).
 */
export function luSolve(
  f: Lu,
  b: TypedArray,
  count: number,
  n: number,
  k: number,
  out: TypedArray,
): TypedArray {
  const x = new Float64Array(n * k);
  for (let m = 0; m < count; m++) {
    const o = m * n * n, ob = m * n * k;
    for (let i = 0; i < n * k; i++) x[i] = b[ob + i];
    // P B: the row swaps in order
    for (let i = 0; i < n; i++) {
      const p = f.piv[m * n + i];
      if (p === i) continue;
      for (let j = 0; j < k; j++) {
        const t = x[i * k + j];
        x[i * k + j] = x[p * k + j];
        x[p * k + j] = t;
      }
    }
    substitute(f.lu, o, x, n, k, false, true);
    substitute(f.lu, o, x, n, k, true, false);
    for (let i = 0; i < n * k; i++) out[ob + i] = x[i];
  }
  return out;
}

/**
 * T y = x in place for the triangular T at `o` in `t` (upper: backward
 * substitution from the last row; lower: forward from the first; its
 * diagonal taken as 1 when `unit`), x n×k.
 */
function substitute(
  t: ArrayLike<number>,
  o: number,
  x: Float64Array,
  n: number,
  k: number,
  upper: boolean,
  unit: boolean,
): void {
  for (let s = 0; s < n; s++) {
    const i = upper ? n - 1 - s : s;
    const p0 = upper ? i + 1 : 0, p1 = upper ? n : i;
    for (let p = p0; p < p1; p++) {
      const f = t[o + i * n + p];
      if (f === 0) continue;
      for (let j = 0; j < k; j++) x[i * k + j] -= f * x[p * k + j];
    }
    if (!unit) {
      const d = t[o + i * n + i];
      for (let j = 0; j < k; j++) x[i * k + j] /= d;
    }
  }
}

/**
 * X = A⁻¹ B for a batch of triangular n×n matrices A (only the triangle
 * `upper` names is read; a diagonal of ones assumed when `unit`), B n×k per
 * matrix; into `out`.
 */
export function triangularSolve(
  a: TypedArray,
  b: TypedArray,
  count: number,
  n: number,
  k: number,
  upper: boolean,
  unit: boolean,
  out: TypedArray,
): TypedArray {
  const x = new Float64Array(n * k);
  for (let m = 0; m < count; m++) {
    const ob = m * n * k;
    for (let i = 0; i < n * k; i++) x[i] = b[ob + i];
    substitute(a, m * n * n, x, n, k, upper, unit);
    for (let i = 0; i < n * k; i++) out[ob + i] = x[i];
  }
  return out;
}

/**
 * The lower Cholesky factor L (A = L Lᵀ) of each n×n matrix, reading A's
 * lower triangle only (as LAPACK's potrf), into `out` (its upper triangle
 * zero). Returns null, or where the first matrix that is not positive
 * definite fails: `[matrix, order]` of its first leading minor that is not.
 */
export function cholesky(
  a: TypedArray,
  count: number,
  n: number,
  out: TypedArray,
): [number, number] | null {
  const l = new Float64Array(n * n);
  for (let m = 0; m < count; m++) {
    const o = m * n * n;
    l.fill(0);
    for (let j = 0; j < n; j++) {
      let d = a[o + j * n + j];
      for (let p = 0; p < j; p++) d -= l[j * n + p] * l[j * n + p];
      if (!(d > 0)) return [m, j + 1];
      const s = Math.sqrt(d);
      l[j * n + j] = s;
      for (let i = j + 1; i < n; i++) {
        let v = a[o + i * n + j];
        for (let p = 0; p < j; p++) v -= l[i * n + p] * l[j * n + p];
        l[i * n + j] = v / s;
      }
    }
    for (let i = 0; i < n * n; i++) out[o + i] = l[i];
  }
  return null;
}
