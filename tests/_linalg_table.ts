/**
 * Rows of the linalg namespace for the gradient-check table
 * (grad_table_test.ts, and vmap, jit and the architecture test through
 * tests/_rows.ts). Matrices are drawn well conditioned: entries in
 * (-0.9, 0.9) plus 3·I (strictly diagonally dominant, so never singular;
 * for QR the rectangular 3·I, so of full rank), symmetric positive-definite
 * ones as x xᵀ + I, and symmetric ones for eigh with eigenvalues 20 apart
 * (x + xᵀ plus diag(0, 20, 40): within 5.4 of those by Weyl's bound), so
 * that the eigenvectors' derivatives (1 / the gaps) stay moderate; for
 * the SVD, x plus the rectangular diag(10, 20, 30), whose singular values
 * stay within 2.7 of those (so distinct and far from 0).
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import type { Row } from "./_op_table.ts";

const { linalg } = T;
const size = fc.integer({ min: 1, max: 3 });
/** Batch axes: none, or one of 1..2. */
const batch = fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 1 });

/** x + 3·I on the last two axes. */
const dominant = (x: Tensor) =>
  T.add(x, T.mul(T.eye(x.shape[x.shape.length - 1], { dtype: x.dtype }), 3));
/** x xᵀ + I on the last two axes. */
const spd = (x: Tensor) =>
  T.add(
    T.matmul(x, T.swapaxes(x, -1, -2)),
    T.eye(x.shape[x.shape.length - 1], { dtype: x.dtype }),
  );

/** x + xᵀ plus diag(0, 20, 40, ...) on the last two axes. */
const spread = (x: Tensor) => {
  const n = x.shape[x.shape.length - 1];
  const d = T.mul(T.arange(n, { dtype: x.dtype }), 20);
  return T.add(
    T.add(x, T.swapaxes(x, -1, -2)),
    T.mul(T.eye(n, { dtype: x.dtype }), d),
  );
};
/** x plus the rectangular diag(10, 20, 30, ...) on the last two axes. */
const separated = (x: Tensor) => {
  const [m, n] = x.shape.slice(-2);
  const d = T.mul(T.add(T.arange(n, { dtype: x.dtype }), 1), 10);
  return T.add(x, T.mul(T.eye(m, n, { dtype: x.dtype }), d));
};
/** Tensors flattened and joined, for a row's one output. */
const joined = (...ts: Tensor[]) => T.concat(ts.map((t) => T.reshape(t, [-1])));
const squareArb = fc.tuple(size, batch).map(([n, b]) => ({
  shapes: [[...b, n, n]],
}));

/** Rows of ops/linalg.ts. */
export const linalgRows: Row[] = [
  {
    name:
      "linalg.solve (b a batch of matrices or of vectors, batch axes broadcast)",
    arb: fc.tuple(size, size, batch, batch, fc.boolean()).map((
      [n, k, ba, bb, vector],
    ) => ({
      shapes: [[...ba, n, n], vector ? [...ba, n] : [...bb, n, k]],
    })),
    domains: ["unit", "real"],
    f: (_, a, b) => linalg.solve(dominant(a), b),
  },
  {
    name: "linalg.inv",
    arb: fc.tuple(size, batch).map(([n, b]) => ({ shapes: [[...b, n, n]] })),
    domains: ["unit"],
    f: (_, a) => linalg.inv(dominant(a)),
  },
  {
    name: "linalg.det",
    arb: fc.tuple(size, batch).map(([n, b]) => ({ shapes: [[...b, n, n]] })),
    domains: ["unit"],
    f: (_, a) => linalg.det(dominant(a)),
  },
  {
    // sign · logabsdet: the sign is locally constant (zero derivatives)
    name: "linalg.slogdet",
    arb: fc.tuple(size, batch, fc.boolean()).map(([n, b, flip]) => ({
      shapes: [[...b, n, n]],
      p: { flip },
    })),
    domains: ["unit"],
    f: ({ flip }, a) => {
      const m = dominant(a);
      const { sign, logabsdet } = linalg.slogdet(flip ? T.neg(m) : m);
      return T.mul(sign, logabsdet);
    },
  },
  {
    name: "linalg.cholesky (lower and upper)",
    arb: fc.tuple(size, batch, fc.boolean()).map(([n, b, upper]) => ({
      shapes: [[...b, n, n]],
      p: { upper },
    })),
    domains: ["real"],
    f: ({ upper }, x) => linalg.cholesky(spd(x), { upper }),
  },
  {
    name:
      "linalg.solveTriangular (upper or lower, from the left or the right, unit diagonal or not)",
    arb: fc.tuple(size, size, batch, fc.boolean(), fc.boolean(), fc.boolean())
      .map(([n, k, b, upper, left, unitriangular]) => ({
        shapes: [[...b, n, n], left ? [n, k] : [k, n]],
        p: { upper, left, unitriangular },
      })),
    domains: ["unit", "real"],
    f: (p, a, b) => linalg.solveTriangular(dominant(a), b, p),
  },
  {
    name: "linalg.eigh (eigenvalues and eigenvectors), eigvalsh",
    arb: squareArb,
    domains: ["unit"],
    f: (_, x) => {
      const { eigenvalues, eigenvectors } = linalg.eigh(spread(x));
      return joined(eigenvalues, eigenvectors, linalg.eigvalsh(spread(x)));
    },
  },
  {
    name: "linalg.qr (reduced, or complete when m <= n)",
    arb: fc.tuple(size, size, batch, fc.boolean()).map((
      [m, n, b, complete],
    ) => ({
      shapes: [[...b, m, n]],
      p: { mode: complete && m <= n ? "complete" : "reduced" },
    })),
    domains: ["unit"],
    f: (p, x) => {
      const [m, n] = x.shape.slice(-2);
      const { Q, R } = linalg.qr(
        T.add(x, T.mul(T.eye(m, n, { dtype: x.dtype }), 3)),
        p,
      );
      return joined(Q, R);
    },
  },
  {
    name: "linalg.svd (full matrices or not), svdvals",
    arb: fc.tuple(size, size, batch, fc.boolean()).map(([m, n, b, full]) => ({
      shapes: [[...b, m, n]],
      p: { full },
    })),
    domains: ["unit"],
    f: ({ full }, x) => {
      const a = separated(x);
      // with full matrices only the first k columns and rows have a derivative
      const [m, n] = a.shape.slice(-2), k = Math.min(m, n);
      const { U, S, Vh } = linalg.svd(a, { fullMatrices: full });
      const lead = a.shape.slice(0, -2).map(() => 0);
      return joined(
        T.slice(U, [...lead, 0, 0], [...a.shape.slice(0, -2), m, k]),
        S,
        T.slice(Vh, [...lead, 0, 0], [...a.shape.slice(0, -2), k, n]),
        linalg.svdvals(a),
      );
    },
  },
  {
    name: "linalg.pinv, matrixNorm (every ord), matrixPower",
    arb: fc.tuple(size, size, batch, fc.integer({ min: -2, max: 3 })).map((
      [m, n, b, power],
    ) => ({ shapes: [[...b, m, n]], p: { power } })),
    domains: ["unit"],
    f: ({ power }, x) => {
      const a = separated(x);
      const norms = (["fro", "nuc", 2, -2, 1, -1, Infinity, -Infinity] as const)
        .map((ord) => linalg.matrixNorm(a, { ord }));
      const k = Math.min(...a.shape.slice(-2)), lead = a.shape.slice(0, -2);
      const sq = T.slice(a, lead.map(() => 0).concat([0, 0]), [...lead, k, k]);
      return joined(
        linalg.pinv(a),
        ...norms,
        linalg.matrixPower(
          T.add(sq, T.mul(T.eye(k, { dtype: a.dtype }), 3)),
          power,
        ),
      );
    },
  },
  {
    name: "linalg.lstsq (solution and residuals), cond (every p)",
    arb: fc.tuple(size, size, size, fc.boolean()).map(([m, n, k, vector]) => ({
      shapes: [[m, n], vector ? [m] : [m, k], [n, n]],
    })),
    domains: ["unit", "real", "unit"],
    f: (_, x, b, c) => {
      const { solution, residuals } = linalg.lstsq(separated(x), b);
      const conds = ([2, -2, "fro", "nuc", 1, -1, Infinity, -Infinity] as const)
        .map((p) =>
          linalg.cond(p === 2 || p === -2 ? separated(c) : dominant(c), { p })
        );
      return joined(solution, residuals, ...conds);
    },
  },
  {
    name: "linalg.cross (batch axes broadcast, any axis), multiDot",
    arb: fc.tuple(
      batch,
      fc.boolean(),
      size,
      size,
      size,
      fc.boolean(),
      fc.boolean(),
    )
      .map(([b, first, p, q, r, rowFirst, colLast]) => ({
        shapes: [
          first ? [3, ...b] : [...b, 3],
          first ? [3, 1] : [3],
          rowFirst ? [p] : [2, p],
          [p, q],
          [q, r],
          colLast ? [r] : [r, 2],
        ],
        p: { axis: first ? 0 : -1 },
      })),
    domains: ["real", "real", "real", "real", "real", "real"],
    f: ({ axis }, a, b, m0, m1, m2, m3) =>
      joined(
        linalg.cross(a, axis === 0 ? b : T.reshape(b, [3]), { axis }),
        linalg.multiDot([m0, m1, m2, m3]),
      ),
  },
  {
    // entries in (-2, 2) scaled by 3: 1-norms up to 18, so up to 2 squarings
    name: "linalg.matrixExp",
    arb: fc.tuple(size, batch).map(([n, b]) => ({ shapes: [[...b, n, n]] })),
    domains: ["real"],
    f: (_, x) => linalg.matrixExp(T.mul(x, 3)),
  },
  {
    // diagonally dominant, its rows reversed or not: pivots that swap rows
    // or not, and never near zero (P is locally constant)
    name: "linalg.lu",
    arb: fc.tuple(size, batch, fc.boolean()).map(([n, b, flip]) => ({
      shapes: [[...b, n, n]],
      p: { flip },
    })),
    domains: ["unit"],
    f: ({ flip }, x) => {
      const m = dominant(x);
      const { P, L, U } = linalg.lu(flip ? T.flip(m, { axis: -2 }) : m);
      return joined(P, L, U);
    },
  },
];
