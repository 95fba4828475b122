/**
 * Rows of the linalg namespace for the gradient-check table
 * (grad_table_test.ts, and vmap, jit and the architecture test through
 * tests/_rows.ts). Matrices are drawn well conditioned: entries in
 * (-0.9, 0.9) plus 3·I (strictly diagonally dominant, so never singular),
 * and symmetric positive-definite ones as x xᵀ + I.
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
];
