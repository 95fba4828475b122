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
