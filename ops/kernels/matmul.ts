/**
 * Batched matrix multiply on typed arrays.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/**
 * `out[b] = a[b] @ c[b]` for `batch` pairs of [m, k] and [k, n] matrices.
 * `aStep` / `cStep` are the element offsets between consecutive batch
 * matrices (0 to reuse one matrix for every batch entry).
 */
export function matmul(
  a: TypedArray,
  c: TypedArray,
  out: TypedArray,
  batch: number,
  m: number,
  k: number,
  n: number,
  aStep: number,
  cStep: number,
): TypedArray {
  const row = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    const ao = b * aStep, co = b * cStep, oo = b * m * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      const ai = ao + i * k;
      for (let p = 0; p < k; p++) {
        const v = a[ai + p];
        const cp = co + p * n;
        for (let j = 0; j < n; j++) row[j] += v * c[cp + j];
      }
      out.set(row, oo + i * n);
    }
  }
  return out;
}

/**
 * C[cOff: m×n] += op(A) · op(B) with row-major storage: "nn" A [m,k] B [k,n];
 * "tn" A stored [k,m]; "nt" B stored [n,k]. Accumulates into a Float64Array.
 */
export function gemm(
  a: TypedArray,
  aOff: number,
  b: TypedArray,
  bOff: number,
  c: Float64Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
  layout: "nn" | "tn" | "nt",
): void {
  if (layout === "nt") {
    for (let i = 0; i < m; i++) {
      const ai = aOff + i * k, ci = cOff + i * n;
      for (let j = 0; j < n; j++) {
        const bj = bOff + j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
        c[ci + j] += s;
      }
    }
    return;
  }
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n;
    for (let p = 0; p < k; p++) {
      const v = layout === "nn" ? a[aOff + i * k + p] : a[aOff + p * m + i];
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) c[ci + j] += v * b[bp + j];
    }
  }
}
