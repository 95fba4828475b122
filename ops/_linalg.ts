/**
 * Small dense linear algebra on float64 arrays, for the samplers and
 * initialisers that need it (not a public module).
 *
 * @module
 */

/**
 * The Q of the QR decomposition of an m×n matrix (m >= n; entry (i, j) is
 * `at(i, j)`) with R's diagonal positive, so unique: its n orthonormal
 * columns, by Gram-Schmidt with each column orthogonalised twice (as good
 * as Householder for these sizes). @internal
 */
export function orthonormalColumns(
  m: number,
  n: number,
  at: (i: number, j: number) => number,
): Float64Array[] {
  const q: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = Float64Array.from({ length: m }, (_, i) => at(i, j));
    for (let pass = 0; pass < 2; pass++) {
      for (const qi of q) {
        let d = 0;
        for (let i = 0; i < m; i++) d += qi[i] * v[i];
        for (let i = 0; i < m; i++) v[i] -= d * qi[i];
      }
    }
    let sq = 0;
    for (let i = 0; i < m; i++) sq += v[i] * v[i];
    const norm = Math.sqrt(sq);
    for (let i = 0; i < m; i++) v[i] /= norm;
    q.push(v);
  }
  return q;
}
