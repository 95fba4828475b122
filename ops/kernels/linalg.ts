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
      // (no skip of a zero multiplier: a NaN or infinity in the pivot row
      // reaches every row below, as LAPACK's, never a finite factor of it)
      for (let i = k + 1; i < n; i++) {
        const f = (lu[o + i * n + k] /= d);
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
      // (no skip of a zero entry: a NaN of x reaches every row it touches)
      const f = t[o + i * n + p];
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

/**
 * Eigenvalues (ascending, into `w`: n per matrix) and eigenvectors (the
 * columns of each n×n matrix of `v`) of a batch of symmetric matrices, of
 * which only the lower triangle is read (as LAPACK's syevd with 'L'):
 * cyclic Jacobi rotations until the off-diagonal entries are negligible
 * (Rutishauser's thresholds, as Numerical Recipes' `jacobi`), which keeps
 * small eigenvalues to full relative accuracy. Each eigenvector's sign
 * makes its entry of largest magnitude positive (the first of equals), so
 * the result does not depend on the rotations' order; LAPACK's (PyTorch's)
 * signs are arbitrary.
 */
export function symmetricEigen(
  a: TypedArray,
  count: number,
  n: number,
  w: TypedArray,
  v: TypedArray,
): void {
  const s = new Float64Array(n * n), q = new Float64Array(n * n);
  const d = new Float64Array(n), order = new Array<number>(n);
  for (let m = 0; m < count; m++) {
    const o = m * n * n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        s[i * n + j] = s[j * n + i] = a[o + i * n + j];
      }
    }
    if (!s.every(Number.isFinite)) {
      // NaN in, NaN out (as LAPACK's), without 100 sweeps of NaN rotations
      w.fill(NaN, m * n, (m + 1) * n);
      v.fill(NaN, o, o + n * n);
      continue;
    }
    q.fill(0);
    for (let i = 0; i < n; i++) q[i * n + i] = 1;
    jacobi(s, q, n);
    for (let i = 0; i < n; i++) {
      d[i] = s[i * n + i];
      order[i] = i;
    }
    order.sort((x, y) => d[x] - d[y] || x - y);
    for (let c = 0; c < n; c++) {
      const from = order[c];
      w[m * n + c] = d[from];
      let big = 0;
      for (let i = 1; i < n; i++) {
        if (Math.abs(q[i * n + from]) > Math.abs(q[big * n + from])) big = i;
      }
      const sign = q[big * n + from] < 0 ? -1 : 1;
      // (+ 0: no -0 from a flipped zero)
      for (let i = 0; i < n; i++) v[o + i * n + c] = sign * q[i * n + from] + 0;
    }
  }
}

/** Diagonalises the symmetric s (n×n, in place) by rotations accumulated into q's columns. */
function jacobi(s: Float64Array, q: Float64Array, n: number): void {
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) off += Math.abs(s[i * n + j]);
    }
    if (off === 0) return;
    // early sweeps skip rotations of entries below a threshold
    const thresh = sweep < 3 ? (0.2 * off) / (n * n) : 0;
    for (let p = 0; p < n; p++) {
      for (let r = p + 1; r < n; r++) {
        const apr = s[p * n + r], app = s[p * n + p], arr = s[r * n + r];
        const g = 100 * Math.abs(apr);
        // an entry negligible next to both diagonal entries is zeroed
        if (
          sweep > 3 && Math.abs(app) + g === Math.abs(app) &&
          Math.abs(arr) + g === Math.abs(arr)
        ) {
          s[p * n + r] = s[r * n + p] = 0;
          continue;
        }
        if (Math.abs(apr) <= thresh || apr === 0) continue;
        // the rotation that zeroes s[p][r]: t = tan of its angle
        const h = arr - app;
        let t: number;
        if (Math.abs(h) + g === Math.abs(h)) t = apr / h;
        else {
          const theta = (0.5 * h) / apr;
          t = 1 / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
          if (theta < 0) t = -t;
        }
        const c = 1 / Math.sqrt(1 + t * t), sn = t * c, tau = sn / (1 + c);
        s[p * n + p] = app - t * apr;
        s[r * n + r] = arr + t * apr;
        s[p * n + r] = s[r * n + p] = 0;
        // the pair (x[i], x[j]) rotated
        const rot = (x: Float64Array, i: number, j: number) => {
          const u = x[i], y = x[j];
          x[i] = u - sn * (y + u * tau);
          x[j] = y + sn * (u - y * tau);
        };
        for (let j = 0; j < n; j++) {
          if (j !== p && j !== r) {
            rot(s, j * n + p, j * n + r);
            s[p * n + j] = s[j * n + p];
            s[r * n + j] = s[j * n + r];
          }
          rot(q, j * n + p, j * n + r);
        }
      }
    }
  }
}

/**
 * The QR factorization of a batch of m×n matrices by Householder
 * reflections, as LAPACK's geqrf and orgqr (each reflector's β = −sign(α)·‖x‖
 * as dlarfg's, so R's diagonal has LAPACK's signs): Q m×qc (its first qc
 * columns: min(m, n) for the reduced factorization, m for the complete one)
 * into `qOut`, R qc×n (upper trapezoidal) into `rOut`.
 */
export function householderQr(
  a: TypedArray,
  count: number,
  m: number,
  n: number,
  qc: number,
  qOut: TypedArray | null,
  rOut: TypedArray | null,
): void {
  const k = Math.min(m, n);
  const r = new Float64Array(m * n), vs = new Float64Array(k * m);
  const taus = new Float64Array(k), q = new Float64Array(m * qc);
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < m * n; i++) r[i] = a[b * m * n + i];
    vs.fill(0);
    for (let j = 0; j < k; j++) {
      // the reflector H = I - τ v vᵀ (v[j] = 1) that zeroes column j below row j
      let xnorm = 0;
      for (let i = j + 1; i < m; i++) xnorm = Math.hypot(xnorm, r[i * n + j]);
      const alpha = r[j * n + j];
      vs[j * m + j] = 1;
      if (xnorm === 0) {
        taus[j] = 0;
        continue;
      }
      const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, xnorm);
      taus[j] = (beta - alpha) / beta;
      // (a division, not a reciprocal's product: 1 / (alpha - beta) of a
      // subnormal column overflows)
      const den = alpha - beta;
      for (let i = j + 1; i < m; i++) vs[j * m + i] = r[i * n + j] / den;
      r[j * n + j] = beta;
      for (let i = j + 1; i < m; i++) r[i * n + j] = 0;
      // the rest of R: H applied to columns j+1..n-1
      for (let c = j + 1; c < n; c++) {
        let dot = r[j * n + c];
        for (let i = j + 1; i < m; i++) dot += vs[j * m + i] * r[i * n + c];
        dot *= taus[j];
        r[j * n + c] -= dot;
        for (let i = j + 1; i < m; i++) r[i * n + c] -= dot * vs[j * m + i];
      }
    }
    if (rOut) {
      for (let i = 0; i < qc; i++) {
        for (let c = 0; c < n; c++) {
          rOut[b * qc * n + i * n + c] = i < m ? r[i * n + c] : 0;
        }
      }
    }
    if (!qOut) continue;
    // Q = H_0 H_1 ... H_{k-1} applied to the first qc columns of I, last first
    q.fill(0);
    for (let i = 0; i < Math.min(m, qc); i++) q[i * qc + i] = 1;
    for (let j = k - 1; j >= 0; j--) {
      if (taus[j] === 0) continue;
      for (let c = 0; c < qc; c++) {
        let dot = 0;
        for (let i = j; i < m; i++) dot += vs[j * m + i] * q[i * qc + c];
        dot *= taus[j];
        for (let i = j; i < m; i++) q[i * qc + c] -= dot * vs[j * m + i];
      }
    }
    for (let i = 0; i < m * qc; i++) qOut[b * m * qc + i] = q[i];
  }
}

/**
 * The singular value decomposition A = U diag(S) Vh of a batch of m×n
 * matrices (k = min(m, n)): one-sided Jacobi rotations (Hestenes) on the
 * columns of A (of Aᵀ when m < n) until every pair is orthogonal to within
 * 1e-15 of their norms, which keeps small singular values to full relative
 * accuracy. S descending into `s` (k per matrix); U m×uc into `u` and Vh
 * vr×n into `vh` (uc = vr = k reduced; m and n with `full`, the extra
 * columns of U or rows of Vh an orthonormal completion by Gram-Schmidt on
 * the unit vectors, as are the columns of U for a zero singular value).
 * Each triple's sign makes the entry of largest magnitude of its column of
 * U positive (LAPACK's, PyTorch's, signs are arbitrary). Returns -1, or the
 * first matrix with a NaN or infinite entry (left unfinished).
 */
export function singularValues(
  a: TypedArray,
  count: number,
  m: number,
  n: number,
  full: boolean,
  s: TypedArray | null,
  u: TypedArray | null,
  vh: TypedArray | null,
): number {
  const k = Math.min(m, n), tall = m >= n;
  // work on the tall one: w = p×q (p >= q), columns rotated, v q×q
  const p = tall ? m : n, q = tall ? n : m;
  const w = new Float64Array(p * q), v = new Float64Array(q * q);
  const sv = new Float64Array(q), order = new Array<number>(q);
  const left = new Float64Array(p * p), right = new Float64Array(q * q);
  const uc = full ? m : k, vr = full ? n : k;
  for (let b = 0; b < count; b++) {
    const o = b * m * n;
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < q; j++) {
        w[i * q + j] = tall ? a[o + i * n + j] : a[o + j * n + i];
      }
    }
    // (a NaN or infinity never converges: the caller's error, as LAPACK's)
    if (!w.every(Number.isFinite)) return b;
    // scaled by the largest magnitude, so the column norms' squares and
    // their products neither overflow (entries past ~1e77) nor underflow
    let big = 0;
    for (let i = 0; i < p * q; i++) big = Math.max(big, Math.abs(w[i]));
    // (a power of 2: exact)
    const scale = big === 0 ? 1 : 2 ** Math.floor(Math.log2(big));
    for (let i = 0; i < p * q; i++) w[i] /= scale;
    v.fill(0);
    for (let j = 0; j < q; j++) v[j * q + j] = 1;
    hestenes(w, v, p, q);
    for (let j = 0; j < q; j++) {
      let ss = 0;
      for (let i = 0; i < p; i++) ss += w[i * q + j] * w[i * q + j];
      sv[j] = Math.sqrt(ss);
      order[j] = j;
    }
    order.sort((x, y) => sv[y] - sv[x] || x - y);
    // left: the tall side's p×p basis (its first q columns w's normalised,
    // sorted), right: the q×q rotations, sorted the same
    left.fill(0);
    for (let c = 0; c < q; c++) {
      const j = order[c];
      for (let i = 0; i < q; i++) right[i * q + c] = v[i * q + j];
      if (sv[j] === 0) continue; // (completed below)
      for (let i = 0; i < p; i++) left[i * p + c] = w[i * q + j] / sv[j];
    }
    complete(left, p, q, sv, order, full ? p : q);
    // signs: U's column of largest magnitude entry positive
    const uBasis = tall ? left : right, ud = tall ? p : q;
    const vBasis = tall ? right : left, vd = tall ? q : p;
    for (let c = 0; c < k; c++) {
      let big = 0;
      for (let i = 1; i < m; i++) {
        if (Math.abs(uBasis[i * ud + c]) > Math.abs(uBasis[big * ud + c])) {
          big = i;
        }
      }
      if (uBasis[big * ud + c] < 0) {
        // (+ 0: no -0 from a flipped zero)
        for (let i = 0; i < m; i++) {
          uBasis[i * ud + c] = -uBasis[i * ud + c] + 0;
        }
        for (let i = 0; i < n; i++) {
          vBasis[i * vd + c] = -vBasis[i * vd + c] + 0;
        }
      }
    }
    if (s) {
      for (let c = 0; c < k; c++) s[b * k + c] = sv[order[c]] * scale;
    }
    if (u) {
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < uc; c++) {
          u[b * m * uc + i * uc + c] = uBasis[i * ud + c];
        }
      }
    }
    if (vh) {
      for (let r = 0; r < vr; r++) {
        for (let j = 0; j < n; j++) {
          vh[b * vr * n + r * n + j] = vBasis[j * vd + r];
        }
      }
    }
  }
  return -1;
}

/** Rotates pairs of w's columns (p×q) until orthogonal, the rotations accumulated into v's columns. */
function hestenes(
  w: Float64Array,
  v: Float64Array,
  p: number,
  q: number,
): void {
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let i = 0; i < q; i++) {
      for (let j = i + 1; j < q; j++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let r = 0; r < p; r++) {
          const x = w[r * q + i], y = w[r * q + j];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) {
          continue;
        }
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta < 0 ? -1 : 1) /
          (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), sn = c * t;
        for (let r = 0; r < p; r++) {
          const x = w[r * q + i], y = w[r * q + j];
          w[r * q + i] = c * x - sn * y;
          w[r * q + j] = sn * x + c * y;
        }
        for (let r = 0; r < q; r++) {
          const x = v[r * q + i], y = v[r * q + j];
          v[r * q + i] = c * x - sn * y;
          v[r * q + j] = sn * x + c * y;
        }
      }
    }
    if (!rotated) return;
  }
}

/**
 * Fills the columns of the p×p basis `b` that are still zero, among its
 * first `cols`, with unit vectors orthogonalised (twice, modified
 * Gram-Schmidt) against the columns already there: the columns of zero
 * singular values among the first q, then the completion to `cols`.
 */
function complete(
  b: Float64Array,
  p: number,
  q: number,
  sv: Float64Array,
  order: number[],
  cols: number,
): void {
  const filled = (c: number) => c < q && sv[order[c]] !== 0;
  const have: number[] = [];
  for (let c = 0; c < cols; c++) if (filled(c)) have.push(c);
  let e = 0;
  for (let c = 0; c < cols; c++) {
    if (filled(c)) continue;
    for (; e < p; e++) {
      const x = new Float64Array(p);
      x[e] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const h of have) {
          let d = 0;
          for (let i = 0; i < p; i++) d += b[i * p + h] * x[i];
          for (let i = 0; i < p; i++) x[i] -= d * b[i * p + h];
        }
      }
      let nrm = 0;
      for (let i = 0; i < p; i++) nrm += x[i] * x[i];
      nrm = Math.sqrt(nrm);
      if (nrm < 0.5) continue; // e nearly in the span: the next one
      for (let i = 0; i < p; i++) b[i * p + c] = x[i] / nrm;
      have.push(c);
      e++;
      break;
    }
  }
}

/**
 * The Q of the QR factorization of one m×n matrix `a` (m >= n, row-major)
 * with R's diagonal made positive, so unique: `householderQr`'s Q with each
 * column times the sign of its R entry (a zero one kept), m×n row-major. The
 * orthogonal samplers and initialisers draw with it (PyTorch's and JAX's
 * `orthogonal` do the same with LAPACK's QR).
 */
export function positiveQ(a: Float64Array, m: number, n: number): Float64Array {
  const q = new Float64Array(m * n), r = new Float64Array(n * n);
  householderQr(a, 1, m, n, n, q, r);
  for (let j = 0; j < n; j++) {
    if (r[j * n + j] >= 0) continue;
    for (let i = 0; i < m; i++) q[i * n + j] = -q[i * n + j];
  }
  return q;
}
