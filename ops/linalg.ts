/**
 * Linear algebra on the last two axes, as `torch.linalg` (and
 * `jnp.linalg`): `solve`, `inv`, `det`, `slogdet`, `cholesky`,
 * `solveTriangular`, `lu`, `eigh`, `eigvalsh`, `qr`, `svd`, `svdvals`, and the
 * compositions `pinv`, `matrixRank`, `matrixPower`, `matrixNorm`, `lstsq`,
 * `cond`, `cross`, `multiDot`, `matrixExp`. Leading axes are a batch and
 * broadcast. The factorizations run in float64 whatever the float type and
 * are rounded once to it (`kernels/linalg.ts`, unblocked loops for small and
 * medium matrices: LU with partial pivoting, Cholesky and triangular solves
 * as LAPACK's getrf, potrf and trsm; Householder QR as geqrf and orgqr;
 * cyclic Jacobi for eigh and one-sided Jacobi for the SVD, which keep small
 * eigen- and singular values to full relative accuracy).
 *
 * Each primitive has its VJP and JVP written with these same ops (so
 * derivatives of every order work): `linalg.solve` (a x = b),
 * `linalg.solveTriangular`, `linalg.cholesky`, `linalg.det`,
 * `linalg.logAbsDet` and the sign of the determinant (`linalg.detSign`,
 * locally constant); `linalg.eigvalsh` and `linalg.eighVectors`, and
 * `linalg.luP`, `linalg.luL` and `linalg.luU`, `linalg.qrQ` and
 * `linalg.qrR`, `linalg.svdU`, `linalg.svdS` and `linalg.svdVh`, each one
 * output of a factorization (a
 * primitive has one result; a factorization's cotangent is linear in its
 * outputs' cotangents, so each primitive's VJP is the whole rule with the
 * other output's cotangent zero; within one public call the factorization
 * is computed once for all its outputs); and `linalg.pinv`. `inv` is
 * `solve` against the identity.
 * The rules are PyTorch 1.13's (`FunctionsManual.cpp`): the cotangent of a
 * in a x = b is −(a⁻ᵀ g) xᵀ; Cholesky's is Murray's (arXiv 1602.07527) and
 * eigh's the skew part of Vᵀ g over the eigenvalue gaps, both symmetric, as
 * PyTorch treats the input as symmetric (only its lower triangle is read);
 * QR's is TensorFlow's (`QrGrad`), which equals PyTorch's; LU's and the
 * SVD's are PyTorch's `linalg_lu_backward` and `svd_backward`, pinv's
 * its `pinv_backward` (Golub and Pereyra's).
 *
 * @module
 */
import {
  abs,
  add,
  astype,
  div,
  equal,
  greater,
  maximum,
  minimum,
  mul,
  neg,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.ts";
import { max, min } from "./reductions.ts";
import { ceil, exp2, log2 } from "./math.ts";
import { matmul } from "./matmul.ts";
import { diagonal, roll, swapaxes, tril, triu } from "./shape.ts";
import {
  batchFront,
  batchSize,
  broadcastTo,
  concat,
  expandDims,
  slice,
  squeeze,
  sum,
} from "./structural.ts";
import {
  allocData,
  checkBool,
  checkOptions,
  checkTensor,
  describe,
  eye,
  fmtShape,
  fromData,
  promote,
  type Tensor,
  type TypedArray,
  zerosLike,
} from "./tensor.ts";
import { bind, definePrimitive, type Empty, type Primitive } from "./trace.ts";
import type { BatchRule } from "./grad_types.ts";
import { currentOp, userOp } from "./debug.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";
import * as K from "./kernels/linalg.ts";
import { floatCheck } from "./_args.ts";

// ---------------------------------------------------------------------------
// helpers

/** The transpose of the last two axes. */
const mT = (x: Tensor) => swapaxes(x, -1, -2);

/** The product of the leading (batch) axes of a stack of matrices. */
const batchCount = (shape: readonly number[]) =>
  shape.slice(0, -2).reduce((a, b) => a * b, 1);

/** Where in a batch of shape `batch` flat matrix `m` is, for errors. */
function batchIndex(batch: readonly number[], m: number): string {
  if (batch.length === 0) return "";
  const idx = new Array<number>(batch.length);
  for (let i = batch.length - 1; i >= 0; i--) {
    idx[i] = m % batch[i];
    m = Math.floor(m / batch[i]);
  }
  return ` (batch index [${idx}])`;
}

/** Checks a float tensor of at least 2 axes whose last two are equal (a stack of square matrices). */
function checkSquare(fn: string, name: string, x: unknown): Tensor {
  const t = checkFloat(fn, name, x, 2);
  const [r, c] = t.shape.slice(-2);
  if (r !== c) {
    throw new Error(
      `${fn}: ${name} must be a square matrix or a batch of them ([..., n, n]), got shape ${
        fmtShape(t.shape)
      }`,
    );
  }
  return t;
}

/** Checks a float tensor of at least `rank` axes. */
function checkFloat(
  fn: string,
  name: string,
  x: unknown,
  rank: number,
): Tensor {
  const t = checkTensor(fn, x, name);
  floatCheck(fn, name, t);
  if (t.shape.length < rank) {
    throw new Error(
      `${fn}: ${name} must have at least ${rank} axes, got shape ${
        fmtShape(t.shape)
      }`,
    );
  }
  return t;
}

/**
 * a and b cast to their common float type, their batch axes broadcast:
 * a [...batch, m, n], b [...batch, m, k] (b has a's rows).
 */
function lineUp(fn: string, a: Tensor, b: Tensor): [Tensor, Tensor] {
  const [m, n] = a.shape.slice(-2);
  if (b.shape[b.shape.length - 2] !== m) {
    throw new Error(
      `${fn}: b must have ${m} rows to match a (a ${fmtShape(a.shape)}, b ${
        fmtShape(b.shape)
      })`,
    );
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (batch === null) {
    throw new Error(
      `${fn}: the batch axes of a and b do not broadcast (a ${
        fmtShape(a.shape)
      }, b ${fmtShape(b.shape)})`,
    );
  }
  const dtype = promote(a.dtype, b.dtype);
  const as = broadcastTo(astype(a, dtype), [...batch, m, n]);
  const bs = broadcastTo(
    astype(b, dtype),
    [...batch, m, b.shape[b.shape.length - 1]],
  );
  return [as, bs];
}

/**
 * Whether b is a vector (or a batch of them) rather than a matrix, by
 * torch.linalg.solve's rule: b has one axis, or one axis less than a and
 * the shape of a without its last axis.
 */
const isVectorRhs = (a: Tensor, b: Tensor) =>
  b.shape.length === 1 ||
  (b.shape.length === a.shape.length - 1 &&
    b.shape.every((d, i) => d === a.shape[i]));

/** A cotangent computed once for the VJP closures that share it. */
function once(f: (g: Tensor) => Tensor): (g: Tensor) => Tensor {
  let cache: [Tensor, Tensor] | null = null;
  return (g) => {
    if (!cache || cache[0] !== g) cache = [g, f(g)];
    return cache[1];
  };
}

/**
 * The factorizations computed during the public call that is running (null
 * outside one), by input array, shape and kind: the output primitives of
 * one factorization (svd's U, S and Vh) compute it once per call. Only
 * within a call, where no input can change: a jit replay runs the
 * primitives without the public call, so each computes its own.
 */
let memo: { data: TypedArray; key: string; value: unknown }[] | null = null;

/** Runs a public op's body, or a factorization's derivative rule, with a memo (joining the caller's, when one runs). */
function sharing<T>(f: () => T): T {
  if (memo) return f();
  memo = [];
  try {
    return f();
  } finally {
    memo = null;
  }
}

/** `compute()`, or what it gave for the same input array, shape and kind earlier in this call. */
function remembered<T>(a: Tensor, kind: string, compute: () => T): T {
  const key = `${kind} ${a.dtype} ${a.shape}`;
  const hit = memo?.find((e) => e.data === a.data && e.key === key);
  if (hit) return hit.value as T;
  const value = compute();
  memo?.push({ data: a.data, key, value });
  return value;
}

/** Both inputs with their batch axes in front (for the batching rules). */
const batched2 = (
  prim: Primitive<unknown>,
  vals: Tensor[],
  dims: (number | null)[],
  params: unknown,
): [Tensor, number] => {
  const n = batchSize(vals, dims);
  return [bind(prim, vals.map((v, i) => batchFront(v, dims[i], n)), params), 0];
};

/**
 * The batching rule of a one-input primitive over stacks of matrices: the
 * batch axis moved to the front, where the primitive takes batches anyway.
 */
const frontBatch =
  <P>(prim: () => Primitive<P>): BatchRule<P> => ([a], [d], p) => [
    bind(prim(), [batchFront(a, d, a.shape[d!])], p),
    0,
  ];

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

/** a x = b for a [..., n, n], b [..., n, k] of one dtype and batch. */
const solvePrim: Primitive<Empty> = definePrimitive({
  name: "linalg.solve",
  forward: ([a, b]) => {
    const n = a.shape[a.shape.length - 1], k = b.shape[b.shape.length - 1];
    const count = batchCount(a.shape);
    const f = K.luFactor(a.data, count, n);
    if (f.singular >= 0) {
      throw new Error(
        `${currentOp("linalg.solve")}: the matrix a${
          batchIndex(a.shape.slice(0, -2), f.singular)
        } is singular (a zero pivot in its LU factorization), so there is no unique solution (a ${
          fmtShape(a.shape)
        })`,
      );
    }
    return fromData(
      K.luSolve(f, b.data, count, n, k, allocData(b.dtype, b.data.length)),
      b.shape,
    );
  },
  // a x = b: b's cotangent solves aᵀ gb = g, and a's is -gb xᵀ
  vjp: ([a], x) => {
    const gb = once((g) => bind(solvePrim, [mT(a), g], {}));
    return [(g) => neg(matmul(gb(g), mT(x))), gb];
  },
  jvp: ([a], [da, db], x) => {
    const r = da === null
      ? db!
      : db === null
      ? neg(matmul(da, x))
      : sub(db, matmul(da, x));
    return bind(solvePrim, [a, r], {});
  },
  batch: (vals, dims) =>
    batched2(solvePrim as Primitive<unknown>, vals, dims, {}),
});

/** Options of the triangular solve primitive. */
interface TriParams {
  upper: boolean;
  unit: boolean;
}

/** The triangle of `x` that a triangular matrix of `p` reads (strictly, with a unit diagonal). */
const triangle = (x: Tensor, { upper, unit }: TriParams) =>
  upper ? triu(x, { k: unit ? 1 : 0 }) : tril(x, { k: unit ? -1 : 0 });

/** a x = b with a triangular (one triangle read), b [..., n, k]. */
const triSolvePrim: Primitive<TriParams> = definePrimitive({
  name: "linalg.solveTriangular",
  forward: ([a, b], { upper, unit }) =>
    fromData(
      K.triangularSolve(
        a.data,
        b.data,
        batchCount(a.shape),
        a.shape[a.shape.length - 1],
        b.shape[b.shape.length - 1],
        upper,
        unit,
        allocData(b.dtype, b.data.length),
      ),
      b.shape,
    ),
  vjp: ([a], x, p) => {
    const gb = once((g) =>
      bind(triSolvePrim, [mT(a), g], { upper: !p.upper, unit: p.unit })
    );
    return [(g) => neg(triangle(matmul(gb(g), mT(x)), p)), gb];
  },
  jvp: ([a], [da, db], x, p) => {
    const ax = da === null ? null : matmul(triangle(da, p), x);
    const r = ax === null ? db! : db === null ? neg(ax) : sub(db, ax);
    return bind(triSolvePrim, [a, r], p);
  },
  batch: (vals, dims, p) =>
    batched2(triSolvePrim as Primitive<unknown>, vals, dims, p),
});

/** x = l⁻¹ b (l lower) and x = b l⁻¹ (the solve from the right). */
const lowerSolve = (l: Tensor, b: Tensor) =>
  bind(triSolvePrim, [l, b], { upper: false, unit: false });
const rightSolveLower = (b: Tensor, l: Tensor) =>
  mT(bind(triSolvePrim, [mT(l), mT(b)], { upper: true, unit: false }));

/** tril(x) with its diagonal halved (Murray's Φ). */
const phi = (x: Tensor) => {
  const n = x.shape[x.shape.length - 1];
  const half = sub(1, mul(eye(n, { dtype: x.dtype }), 0.5));
  return mul(tril(x), half);
};

/** The lower Cholesky factor of a [..., n, n] (its lower triangle read). */
const choleskyPrim: Primitive<Empty> = definePrimitive({
  name: "linalg.cholesky",
  forward: ([a]) => {
    const n = a.shape[a.shape.length - 1];
    const out = allocData(a.dtype, a.data.length);
    const bad = K.cholesky(a.data, batchCount(a.shape), n, out);
    if (bad) {
      throw new Error(
        `${currentOp("linalg.cholesky")}: a${
          batchIndex(a.shape.slice(0, -2), bad[0])
        } is not positive-definite (its leading minor of order ${
          bad[1]
        } is not), so it has no Cholesky factor (a ${fmtShape(a.shape)})`,
      );
    }
    return fromData(out, a.shape);
  },
  // PyTorch 1.13's cholesky_backward: with T = tril(Lᵀ ḡ), the cotangent
  // L⁻ᵀ S L⁻¹ of the symmetric S = (T + tril(T, -1)ᵀ) / 2
  vjp: (_, l) => [
    (g) => {
      const t = tril(matmul(mT(l), g));
      const s = mul(add(t, mT(tril(t, { k: -1 }))), 0.5);
      const left = bind(triSolvePrim, [mT(l), s], { upper: true, unit: false });
      return rightSolveLower(left, l);
    },
  ],
  // L̇ = L Φ(L⁻¹ ȧ L⁻ᵀ) of the symmetric part of ȧ (JAX's rule; the VJP's
  // transpose, since that cotangent is symmetric)
  jvp: (_, [da], l) => {
    const sym = mul(add(da!, mT(da!)), 0.5);
    return matmul(l, phi(mT(lowerSolve(l, mT(lowerSolve(l, sym))))));
  },
  batch: frontBatch(() => choleskyPrim),
});

/** The LU factors of a [..., n, n], for the determinant primitives. */
const luOf = (a: Tensor) => {
  const n = a.shape[a.shape.length - 1], count = batchCount(a.shape);
  return {
    n,
    count,
    f: remembered(a, "lu", () => K.luFactor(a.data, count, n)),
  };
};

/**
 * A determinant primitive over a [..., n, n] with result [...]: `each`
 * computes one matrix's value from its LU factors (U's diagonal and the
 * permutation's sign).
 */
function detPrimitive(
  name: string,
  each: (diag: (i: number) => number, n: number, sign: number) => number,
  vjp: Primitive<Empty>["rule"]["vjp"],
  jvp: (a: Tensor, da: Tensor, out: Tensor) => Tensor,
): Primitive<Empty> {
  const prim: Primitive<Empty> = definePrimitive({
    name,
    forward: ([a]) => {
      const { n, count, f } = luOf(a);
      const out = allocData(a.dtype, count);
      for (let m = 0; m < count; m++) {
        const o = m * n * n;
        out[m] = each((i) => f.lu[o + i * n + i], n, f.sign[m]);
      }
      return fromData(out, a.shape.slice(0, -2));
    },
    vjp,
    jvp: ([a], [da], out) => jvp(a, da!, out),
    batch: frontBatch(() => prim),
  });
  return prim;
}

/** g [...] as [..., 1, 1], to scale a batch of matrices. */
const perMatrix = (g: Tensor) => expandDims(expandDims(g, -1), -1);

/** trace(a⁻¹ da) per matrix: the derivative of log|det a| along da. */
const traceSolve = (a: Tensor, da: Tensor) =>
  sum(diagonal(bind(solvePrim, [a, da], {}), { axis1: -2, axis2: -1 }), {
    axis: -1,
  });

/** a⁻ᵀ: the gradient of log|det a|. */
const invT = (a: Tensor) => mT(inv(a));

/** det a = sign · Π uᵢᵢ. */
const detPrim = detPrimitive(
  "linalg.det",
  (diag, n, sign) => {
    let d = sign;
    for (let i = 0; i < n; i++) d *= diag(i);
    return d;
  },
  ([a], out) => [(g) => mul(perMatrix(mul(g, out)), invT(a))],
  (a, da, out) => mul(out, traceSolve(a, da)),
);

/** log |det a| = Σ log |uᵢᵢ| (−∞ for a singular a). */
const logAbsDetPrim = detPrimitive(
  "linalg.logAbsDet",
  (diag, n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.log(Math.abs(diag(i)));
    return s;
  },
  ([a]) => [(g) => mul(perMatrix(g), invT(a))],
  (a, da) => traceSolve(a, da),
);

/** The sign of det a (0 for a singular a): locally constant, so no derivative. */
const detSignPrim = detPrimitive(
  "linalg.detSign",
  (diag, n, sign) => {
    let s = sign;
    for (let i = 0; i < n; i++) s *= Math.sign(diag(i));
    return s;
  },
  () => [null],
  (_, __, out) => zerosLike(out),
);

/** (x + xᵀ) / 2 on the last two axes. */
const symmetric = (x: Tensor) => mul(add(x, mT(x)), 0.5);

/** The eigenvalues and eigenvectors of a's lower triangle, as float arrays of a's dtype. */
function eigenOf(a: Tensor): { w: Tensor; v: Tensor } {
  return remembered(a, "eigh", () => {
    const n = a.shape[a.shape.length - 1], count = batchCount(a.shape);
    const w = allocData(a.dtype, count * n),
      v = allocData(a.dtype, a.data.length);
    K.symmetricEigen(a.data, count, n, w, v);
    return { w: fromData(w, a.shape.slice(0, -1)), v: fromData(v, a.shape) };
  });
}

/** A primitive of one output of eigh, its batching rule moving the batch axis to the front. */
function eighPrimitive(
  name: string,
  pick: (e: { w: Tensor; v: Tensor }) => Tensor,
  vjp: (a: Tensor, out: Tensor) => (g: Tensor) => Tensor,
  jvp: (a: Tensor, da: Tensor, out: Tensor) => Tensor,
): Primitive<Empty> {
  const prim: Primitive<Empty> = definePrimitive({
    name,
    forward: ([a]) => pick(eigenOf(a)),
    vjp: ([a], out) => [vjp(a, out)],
    jvp: ([a], [da], out) => jvp(a, symmetric(da!), out),
    batch: frontBatch(() => prim),
  });
  return prim;
}

/** 1 / (λⱼ - λᵢ) off the diagonal, 0 on it (the eigenvectors' derivative). */
function gaps(l: Tensor): Tensor {
  const n = l.shape[l.shape.length - 1];
  const i = eye(n, { dtype: l.dtype });
  const e = sub(expandDims(l, -2), expandDims(l, -1));
  return div(sub(1, i), add(e, i));
}

/**
 * The eigenvalues of a symmetric a (its lower triangle read), ascending.
 * Their cotangent is V diag(g) Vᵀ, their tangent diag(Vᵀ ȧ V).
 */
const eigvalshPrim: Primitive<Empty> = eighPrimitive(
  "linalg.eigvalsh",
  (e) => e.w,
  (a) => (g) => {
    const v = bind(eighVectorsPrim, [a], {});
    return matmul(mul(v, expandDims(g, -2)), mT(v));
  },
  (a, da) => {
    const v = bind(eighVectorsPrim, [a], {});
    return sum(mul(v, matmul(da, v)), { axis: -2 });
  },
);

/**
 * The eigenvectors (columns) of a symmetric a. Their tangent is
 * V (F ∘ Vᵀ ȧ V) with F = 1 / (λⱼ - λᵢ) off the diagonal, and their
 * cotangent V (F ∘ skew(Vᵀ g)) Vᵀ (PyTorch's linalg_eig_backward for a
 * Hermitian a): infinite where two eigenvalues are equal.
 */
const eighVectorsPrim: Primitive<Empty> = eighPrimitive(
  "linalg.eighVectors",
  (e) => e.v,
  (a, v) => (g) => {
    const f = gaps(bind(eigvalshPrim, [a], {}));
    const vg = matmul(mT(v), g);
    const skew = mul(sub(vg, mT(vg)), 0.5);
    return matmul(matmul(v, mul(f, skew)), mT(v));
  },
  (a, da, v) => {
    const f = gaps(bind(eigvalshPrim, [a], {}));
    return matmul(v, mul(f, matmul(mT(v), matmul(da, v))));
  },
);

/** The QR primitives' parameter: the complete factorization (Q m×m) or the reduced one. */
interface QrParams {
  complete: boolean;
}

/** Columns `from..to` of the last axis. */
function columns(x: Tensor, from: number, to: number): Tensor {
  const starts = x.shape.map((_, i) => (i === x.shape.length - 1 ? from : 0));
  const ends = x.shape.map((d, i) => (i === x.shape.length - 1 ? to : d));
  return slice(x, starts, ends);
}

/** x R⁻ᵀ for an upper triangular R. */
const rightSolveUpperT = (x: Tensor, r: Tensor) =>
  mT(bind(triSolvePrim, [r, mT(x)], { upper: true, unit: false }));

/**
 * The cotangent of a from those of Q and R (either may be null) of its
 * reduced QR factorization: TensorFlow's QrGrad (Walter and Lehmann), for
 * m ≥ n directly and for m < n by splitting a = [x | y], R = [u | v].
 */
function qrBackward(
  a: Tensor,
  q: Tensor,
  r: Tensor,
  gq: Tensor | null,
  gr: Tensor | null,
): Tensor {
  const m = a.shape[a.shape.length - 2], n = a.shape[a.shape.length - 1];
  if (m < n) {
    const y = columns(a, m, n), u = columns(r, 0, m);
    const gu = gr && columns(gr, 0, m), gv = gr && columns(gr, m, n);
    const yv = gv && matmul(y, mT(gv));
    const gq2 = gq && yv ? add(gq, yv) : gq ?? yv;
    const gx = qrBackward(columns(a, 0, m), q, u, gq2, gu);
    const gy = gv ? matmul(q, gv) : zerosLike(y);
    return concat([gx, gy], -1);
  }
  let t: Tensor | null = null;
  let out: Tensor | null = null;
  if (gq) {
    const qdq = matmul(mT(q), gq);
    t = sub(qdq, mT(qdq));
    out = rightSolveUpperT(sub(gq, matmul(q, qdq)), r);
  }
  if (gr) {
    const rdr = matmul(r, mT(gr));
    const d = sub(rdr, mT(rdr));
    t = t ? add(t, d) : d;
  }
  let inQ = rightSolveUpperT(tril(t!), r);
  if (gr) inQ = add(gr, inQ);
  const ga = matmul(q, inQ);
  return out ? add(ga, out) : ga;
}

/** Q and R of the Householder QR of a [..., m, n]. */
function qrOf(a: Tensor, { complete }: QrParams, wantQ: boolean): Tensor {
  const both = remembered(a, `qr ${complete}`, () => {
    const m = a.shape[a.shape.length - 2], n = a.shape[a.shape.length - 1];
    const qc = complete ? m : Math.min(m, n), batch = a.shape.slice(0, -2);
    const count = batchCount(a.shape);
    const q = allocData(a.dtype, count * m * qc);
    const r = allocData(a.dtype, count * qc * n);
    K.householderQr(a.data, count, m, n, qc, q, r);
    return {
      q: fromData(q, [...batch, m, qc]),
      r: fromData(r, [...batch, qc, n]),
    };
  });
  return wantQ ? both.q : both.r;
}

/** The cotangent of a, or the error PyTorch gives where the complete factorization has no derivative. */
function qrCotangent(
  a: Tensor,
  p: QrParams,
  gq: Tensor | null,
  gr: Tensor | null,
): Tensor {
  const m = a.shape[a.shape.length - 2], n = a.shape[a.shape.length - 1];
  if (a.shape.includes(0)) return zerosLike(a); // (nothing to differentiate)
  if (p.complete && m > n) {
    throw new Error(
      `${
        currentOp("linalg.qr")
      }: the complete QR factorization of a matrix with more rows than columns (a ${
        fmtShape(a.shape)
      }) has no derivative (Q's last columns are not unique); use mode "reduced"`,
    );
  }
  const q = bind(qrQPrim, [a], p), r = bind(qrRPrim, [a], p);
  return qrBackward(a, q, r, gq, gr);
}

/** One factor of a's QR factorization (Q or R), with the batch axis moved to the front. */
function qrPrimitive(name: string, wantQ: boolean): Primitive<QrParams> {
  const prim: Primitive<QrParams> = definePrimitive({
    name,
    forward: ([a], p) => qrOf(a, p, wantQ),
    vjp: ([a], _, p) => [
      // (sharing: the rule's Q and R from one QR)
      (g) =>
        sharing(() => qrCotangent(a, p, wantQ ? g : null, wantQ ? null : g)),
    ],
    batch: frontBatch(() => prim),
  });
  return prim;
}

const qrQPrim = qrPrimitive("linalg.qrQ", true);
const qrRPrim = qrPrimitive("linalg.qrR", false);

/** The SVD primitives' parameter: U and Vh square (full) or k = min(m, n) wide. */
interface SvdParams {
  full: boolean;
}

/** One output of a's SVD: "U", "S" or "Vh". */
function svdOf(
  a: Tensor,
  { full }: SvdParams,
  which: "U" | "S" | "Vh",
): Tensor {
  return remembered(a, `svd ${full}`, () => {
    const m = a.shape[a.shape.length - 2], n = a.shape[a.shape.length - 1];
    const k = Math.min(m, n), batch = a.shape.slice(0, -2);
    const count = batchCount(a.shape);
    const uc = full ? m : k, vr = full ? n : k;
    const u = allocData(a.dtype, count * m * uc);
    const sv = allocData(a.dtype, count * k);
    const vh = allocData(a.dtype, count * vr * n);
    const bad = K.singularValues(a.data, count, m, n, full, sv, u, vh);
    if (bad >= 0) throw notConverged("linalg.svd", a, batch, bad);
    return {
      U: fromData(u, [...batch, m, uc]),
      S: fromData(sv, [...batch, k]),
      Vh: fromData(vh, [...batch, vr, n]),
    };
  })[which];
}

/**
 * The cotangent of a from those of U, S and Vh (null where none) of its
 * SVD, PyTorch 1.13's svd_backward: with skew(x) = x - xᵀ and E the gaps
 * Sⱼ² - Sᵢ² (1 on the diagonal),
 * U [(skew(Uᵀ gU) S + S skew(Vh gVhᵀ)) / E + diag(gS)] Vh, plus the
 * projections off U's (m > n) or V's (m < n) span. With full matrices only
 * the first k columns of U and rows of Vh count, as PyTorch's.
 */
function svdBackward(
  a: Tensor,
  p: SvdParams,
  gu: Tensor | null,
  gs: Tensor | null,
  gvh: Tensor | null,
): Tensor {
  const m = a.shape[a.shape.length - 2], n = a.shape[a.shape.length - 1];
  const k = Math.min(m, n);
  if (a.shape.includes(0)) return zerosLike(a); // (nothing to differentiate)
  const narrowCols = (x: Tensor) => p.full ? columns(x, 0, k) : x;
  const narrowRows = (x: Tensor) => p.full ? mT(columns(mT(x), 0, k)) : x;
  const u = narrowCols(bind(svdUPrim, [a], p));
  const s = bind(svdSPrim, [a], p);
  const vh = narrowRows(bind(svdVhPrim, [a], p));
  gu = gu && narrowCols(gu);
  gvh = gvh && narrowRows(gvh);
  const sRow = expandDims(s, -2), sCol = expandDims(s, -1);
  let inner: Tensor | null = gs &&
    mul(eye(k, { dtype: a.dtype }), expandDims(gs, -2));
  if (gu || gvh) {
    const s2 = mul(s, s);
    const i = eye(k, { dtype: a.dtype });
    const e = add(sub(expandDims(s2, -2), expandDims(s2, -1)), i);
    const skew = (x: Tensor) => sub(x, mT(x));
    let t: Tensor | null = null;
    if (gu) t = mul(skew(matmul(mT(u), gu)), sRow);
    if (gvh) {
      const l = mul(sCol, skew(matmul(vh, mT(gvh))));
      t = t ? add(t, l) : l;
    }
    const r = div(t!, e);
    inner = inner ? add(inner, r) : r;
  }
  if (m > n && gu) {
    const gus = div(gu, sRow);
    const off = sub(gus, matmul(u, matmul(mT(u), gus)));
    return matmul(add(matmul(u, inner!), off), vh);
  }
  if (m < n && gvh) {
    const sg = div(gvh, sCol);
    const off = sub(sg, matmul(matmul(sg, mT(vh)), vh));
    return matmul(u, add(matmul(inner!, vh), off));
  }
  return matmul(u, matmul(inner!, vh));
}

/** One output of a's SVD as a primitive, its VJP the whole rule with the other outputs' cotangents zero. */
function svdPrimitive(
  name: string,
  which: "U" | "S" | "Vh",
): Primitive<SvdParams> {
  const prim: Primitive<SvdParams> = definePrimitive({
    name,
    forward: ([a], p) => svdOf(a, p, which),
    vjp: ([a], _, p) => [
      // (sharing: the rule's U, S and Vh from one SVD)
      (g) =>
        sharing(() =>
          svdBackward(
            a,
            p,
            which === "U" ? g : null,
            which === "S" ? g : null,
            which === "Vh" ? g : null,
          )
        ),
    ],
    batch: frontBatch(() => prim),
  });
  return prim;
}

const svdUPrim = svdPrimitive("linalg.svdU", "U");
const svdSPrim = svdPrimitive("linalg.svdS", "S");
const svdVhPrim = svdPrimitive("linalg.svdVh", "Vh");

/** One factor of a's LU factorization with partial pivoting: "P", "L" or "U". */
function luOutput(a: Tensor, which: "P" | "L" | "U"): Tensor {
  const { n, count, f } = luOf(a);
  const out = allocData(a.dtype, a.data.length);
  for (let m = 0; m < count; m++) {
    const o = m * n * n;
    if (which === "P") {
      // the rows' order after the swaps: row i of P A = L U is row perm[i]
      // of a, so P (with A = P L U) has a 1 at (perm[i], i)
      const perm = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < n; i++) {
        const p = f.piv[m * n + i];
        [perm[i], perm[p]] = [perm[p], perm[i]];
      }
      for (let i = 0; i < n; i++) out[o + perm[i] * n + i] = 1;
      continue;
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const v = f.lu[o + i * n + j];
        out[o + i * n + j] = which === "L"
          ? (j < i ? v : j === i ? 1 : 0)
          : (j >= i ? v : 0);
      }
    }
  }
  return fromData(out, a.shape);
}

/**
 * The cotangent of a from those of L and U (either null) of a = P L U,
 * PyTorch 1.13's linalg_lu_backward for square a:
 * P L⁻ᵀ [tril(Lᵀ gL, -1) + triu(gU Uᵀ)] U⁻ᵀ.
 */
function luBackward(a: Tensor, gl: Tensor | null, gu: Tensor | null): Tensor {
  if (a.shape.includes(0)) return zerosLike(a); // (nothing to differentiate)
  const p = bind(luPPrim, [a], {}), l = bind(luLPrim, [a], {});
  const u = bind(luUPrim, [a], {});
  const lower = gl && tril(matmul(mT(l), gl), { k: -1 });
  const upper = gu && triu(matmul(gu, mT(u)));
  const inner = lower && upper ? add(lower, upper) : (lower ?? upper)!;
  const left = bind(triSolvePrim, [mT(l), inner], { upper: true, unit: true });
  return matmul(p, rightSolveUpperT(left, u));
}

/** One output of the LU factorization as a primitive (P's derivative is zero). */
function luPrimitive(name: string, which: "P" | "L" | "U"): Primitive<Empty> {
  const prim: Primitive<Empty> = definePrimitive({
    name,
    forward: ([a]) => luOutput(a, which),
    vjp: ([a]) => [
      which === "P"
        ? null
        // (sharing: the rule's P, L and U from one LU)
        : (g) =>
          sharing(() =>
            luBackward(a, which === "L" ? g : null, which === "U" ? g : null)
          ),
    ],
    batch: frontBatch(() => prim),
  });
  return prim;
}

const luPPrim = luPrimitive("linalg.luP", "P");
const luLPrim = luPrimitive("linalg.luL", "L");
const luUPrim = luPrimitive("linalg.luU", "U");

/** The error of an SVD (of `op`) whose matrix `bad` of `a` holds a NaN or infinity. */
function notConverged(
  op: string,
  a: Tensor,
  batch: readonly number[],
  bad: number,
): Error {
  return new Error(
    `${currentOp(op)}: a${
      batchIndex(batch, bad)
    } has a NaN or infinite entry, so the SVD does not converge (a ${
      fmtShape(a.shape)
    }), as PyTorch's`,
  );
}

/** The pseudo-inverse primitive's tolerances (resolved). */
interface PinvParams {
  atol: number;
  rtol: number;
}

/**
 * The pseudo-inverse of a [..., m, n] ([..., n, m]): V diag(1/S) Uᵀ over the
 * singular values above max(atol, rtol · the largest), in float64 from the
 * kernel's SVD, rounded once. Its derivative is PyTorch's pinv_backward
 * (Golub and Pereyra's, exact where the rank is locally constant), which
 * holds where singular values repeat, unlike the SVD's (so pinv of I, of a
 * rank-deficient or of a zero matrix has a finite gradient).
 */
const pinvPrim: Primitive<PinvParams> = definePrimitive({
  name: "linalg.pinv",
  forward: ([a], { atol, rtol }) => {
    const [m, n] = a.shape.slice(-2), k = Math.min(m, n);
    const batch = a.shape.slice(0, -2), count = batchCount(a.shape);
    const out = allocData(a.dtype, count * m * n);
    const s = new Float64Array(count * k), u = new Float64Array(count * m * k);
    const vh = new Float64Array(count * k * n);
    const bad = K.singularValues(a.data, count, m, n, false, s, u, vh);
    if (bad >= 0) throw notConverged("linalg.pinv", a, batch, bad);
    const row = new Float64Array(k);
    for (let b = 0; b < count; b++) {
      const cut = Math.max(atol, rtol * (k > 0 ? s[b * k] : 0));
      for (let c = 0; c < k; c++) {
        const v = s[b * k + c];
        row[c] = v > cut ? 1 / v : 0;
      }
      // out[i][j] = Σ_c Vh[c][i] / S[c] · U[j][c]
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++) {
          let acc = 0;
          for (let c = 0; c < k; c++) {
            if (row[c] === 0) continue;
            acc += vh[b * k * n + c * n + i] * row[c] *
              u[b * m * k + j * k + c];
          }
          out[b * n * m + i * m + j] = acc;
        }
      }
    }
    return fromData(out, [...batch, n, m]);
  },
  // PyTorch 1.13's pinv_backward (real matrices)
  vjp: ([a], p) => [
    (g) => {
      const [m, n] = a.shape.slice(-2);
      const gt = mT(g), pt = mT(p);
      if (m <= n) {
        const k = matmul(gt, p), kpt = matmul(k, pt);
        return add(
          sub(sub(kpt, mT(matmul(p, k))), matmul(matmul(a, p), kpt)),
          matmul(matmul(pt, p), sub(gt, matmul(k, a))),
        );
      }
      const k = matmul(p, gt), ptk = matmul(pt, k);
      return add(
        sub(
          matmul(matmul(sub(gt, matmul(a, k)), p), pt),
          mT(matmul(k, p)),
        ),
        sub(ptk, matmul(matmul(ptk, p), a)),
      );
    },
  ],
  // dP = -P dA P + P Pᵀ dAᵀ (I - A P) + (I - P A) dAᵀ Pᵀ P
  jvp: ([a], [da], p) => {
    const dat = mT(da!), pt = mT(p);
    const y = matmul(p, matmul(pt, dat));
    const z = matmul(dat, matmul(pt, p));
    return add(
      sub(sub(y, matmul(matmul(y, a), p)), matmul(matmul(p, da!), p)),
      sub(z, matmul(p, matmul(a, z))),
    );
  },
  batch: frontBatch(() => pinvPrim),
});

// ---------------------------------------------------------------------------
// public ops

/**
 * Solves `a x = b` for x, as `torch.linalg.solve`: a `[..., n, n]`, b
 * `[..., n, k]` (a batch of matrices) or `[..., n]` (vectors: b has one
 * axis, or a's shape without its last axis); batch axes broadcast. LU with
 * partial pivoting in float64, rounded once to the float type. A singular
 * a is an error, as PyTorch's. Its gradients: b's cotangent solves
 * `aᵀ gb = g`, a's is `-gb xᵀ`.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[3, 1], [1, 2]], { dtype: "float64" });
 * assert.deepEqual(toArray(linalg.solve(a, tensor([9, 8], { dtype: "float64" }))), [2, 3]);
 * ```
 */
export function solve(a: Tensor, b: Tensor): Tensor {
  const fn = "linalg.solve";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  checkFloat(fn, "b", b, 1);
  if (isVectorRhs(a, b)) {
    return squeeze(solve(a, expandDims(b, -1)), -1);
  }
  const [as, bs] = lineUp(fn, a, b);
  return bind(solvePrim, [as, bs], {});
}

/**
 * The inverse of each matrix of a `[..., n, n]`, as `torch.linalg.inv`:
 * `solve(a, I)`, so a singular matrix is an error and the gradient is
 * `solve`'s (`-a⁻ᵀ g a⁻ᵀ`).
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[2, 0], [0, 4]]);
 * assert.deepEqual(toArray(linalg.inv(a)), [[0.5, 0], [0, 0.25]]);
 * ```
 */
export function inv(a: Tensor): Tensor {
  const fn = "linalg.inv";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  const n = a.shape[a.shape.length - 1];
  return bind(
    solvePrim,
    [a, broadcastTo(eye(n, { dtype: a.dtype }), a.shape)],
    {},
  );
}

/**
 * The determinant of each matrix of a `[..., n, n]`, shape `[...]`, as
 * `torch.linalg.det` (0 for a singular matrix). Its gradient is
 * `g · det a · a⁻ᵀ`, which needs an invertible a: at a singular one the
 * gradient is an error (PyTorch 1.13 computes the adjugate there with an
 * SVD).
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toArray(linalg.det(tensor([[1, 2], [3, 4]], { dtype: "float64" }))), -2);
 * ```
 */
export function det(a: Tensor): Tensor {
  const fn = "linalg.det";
  using _op = userOp(fn);
  return bind(detPrim, [checkSquare(fn, "a", a)], {});
}

/**
 * The sign and the log of the absolute value of each determinant of a
 * `[..., n, n]`, as `torch.linalg.slogdet` (its `sign` and `logabsdet`):
 * for a singular matrix sign 0 and logabsdet −∞. Large matrices whose
 * determinant over- or underflows keep a finite logabsdet. `logabsdet`'s
 * gradient is `g · a⁻ᵀ`; `sign` is locally constant.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { sign, logabsdet } = linalg.slogdet(tensor([[1, 2], [3, 4]], { dtype: "float64" }));
 * assert.equal(toArray(sign), -1);
 * assert.ok(Math.abs((toArray(logabsdet) as number) - Math.log(2)) < 1e-15);
 * ```
 */
export function slogdet(a: Tensor): { sign: Tensor; logabsdet: Tensor } {
  const fn = "linalg.slogdet";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  return sharing(() => ({
    sign: bind(detSignPrim, [a], {}),
    logabsdet: bind(logAbsDetPrim, [a], {}),
  }));
}

/** Options of {@linkcode cholesky}. */
export interface CholeskyOptions {
  /** Return the upper factor U = Lᵀ (a = Uᵀ U) instead of L. Default false. */
  upper?: boolean;
}

/**
 * The Cholesky factor of each symmetric positive-definite matrix of a
 * `[..., n, n]`, as `torch.linalg.cholesky`: lower L with `a = L Lᵀ` (or
 * `upper: true` for U = Lᵀ). Only a's lower triangle is read; a matrix that
 * is not positive-definite is an error naming the order of the leading
 * minor that fails. The gradient treats a as symmetric, as PyTorch's does
 * (a symmetric cotangent), so differentiate through a symmetric
 * construction of a (`x xᵀ + c I`, `(m + mᵀ) / 2`).
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[4, 2], [2, 5]], { dtype: "float64" });
 * assert.deepEqual(toArray(linalg.cholesky(a)), [[2, 0], [1, 2]]);
 * assert.deepEqual(toArray(linalg.cholesky(a, { upper: true })), [[2, 1], [0, 2]]);
 * ```
 */
export function cholesky(a: Tensor, options?: CholeskyOptions): Tensor {
  const fn = "linalg.cholesky";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  const o = checkOptions(fn, options, ["upper"]);
  const upper = checkBool(fn, "options.upper", o.upper, false);
  const l = bind(choleskyPrim, [a], {});
  return upper ? mT(l) : l;
}

/** Options of {@linkcode solveTriangular}. */
export interface SolveTriangularOptions {
  /** Whether a is upper triangular (else lower); required, as PyTorch's. */
  upper: boolean;
  /** Solve `a x = b` (true, the default) or `x a = b`. */
  left?: boolean;
  /** Take a's diagonal as ones (it is not read). Default false. */
  unitriangular?: boolean;
}

/**
 * Solves `a x = b` (or `x a = b` with `left: false`) for a triangular a
 * `[..., n, n]` and b `[..., n, k]` (`[..., k, n]` from the right), as
 * `torch.linalg.solve_triangular`: only the triangle `upper` names is read
 * (with `unitriangular`, not its diagonal either); batch axes broadcast. A
 * zero on the diagonal gives infinities, as PyTorch's (no check). The
 * gradient of a is that triangle of `-gb xᵀ`.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = tensor([[2, 0], [1, 1]]);
 * assert.deepEqual(toArray(linalg.solveTriangular(l, tensor([[4], [5]]), { upper: false })), [[2], [3]]);
 * ```
 */
export function solveTriangular(
  a: Tensor,
  b: Tensor,
  options: SolveTriangularOptions,
): Tensor {
  const fn = "linalg.solveTriangular";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  checkFloat(fn, "b", b, 2);
  const o = checkOptions(fn, options, ["upper", "left", "unitriangular"]);
  if (typeof o.upper !== "boolean") {
    throw new Error(
      `${fn}: options.upper (whether a is upper triangular) is required and must be a boolean, got ${
        describe(o.upper)
      }`,
    );
  }
  const left = checkBool(fn, "options.left", o.left, true);
  const unit = checkBool(fn, "options.unitriangular", o.unitriangular, false);
  if (!left) {
    // x a = b is aᵀ xᵀ = bᵀ, aᵀ of the other triangle
    const [at, bt] = lineUp(fn, mT(a), mT(b));
    return mT(bind(triSolvePrim, [at, bt], { upper: !o.upper, unit }));
  }
  const [as, bs] = lineUp(fn, a, b);
  return bind(triSolvePrim, [as, bs], { upper: o.upper, unit });
}

/**
 * The eigenvalues (ascending) and eigenvectors (the columns of
 * `eigenvectors`) of each symmetric matrix of a `[..., n, n]`, as
 * `torch.linalg.eigh` (its `eigenvalues` and `eigenvectors`): only a's lower
 * triangle is read. Cyclic Jacobi rotations in float64, rounded once to the
 * float type. An eigenvector's sign is arbitrary in PyTorch (LAPACK's); here
 * its entry of largest magnitude is positive. The gradients are PyTorch's
 * (a symmetric cotangent, as for `cholesky`); the eigenvectors' gradient is
 * infinite where two eigenvalues are equal, as theirs.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { eigenvalues, eigenvectors } = linalg.eigh(tensor([[2, 1], [1, 2]], { dtype: "float64" }));
 * assert.deepEqual((toArray(eigenvalues) as number[]).map((v) => Math.round(v * 1e12) / 1e12), [1, 3]);
 * const r = Math.SQRT1_2;
 * assert.deepEqual((toArray(eigenvectors) as number[][]).flat().map((v) => Math.abs(v) - r < 1e-15), [true, true, true, true]);
 * ```
 */
export function eigh(a: Tensor): { eigenvalues: Tensor; eigenvectors: Tensor } {
  const fn = "linalg.eigh";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  return sharing(() => ({
    eigenvalues: bind(eigvalshPrim, [a], {}),
    eigenvectors: bind(eighVectorsPrim, [a], {}),
  }));
}

/**
 * The eigenvalues (ascending) of each symmetric matrix of a `[..., n, n]`,
 * as `torch.linalg.eigvalsh` (a's lower triangle read): `eigh`'s
 * eigenvalues, whose gradient `V diag(g) Vᵀ` is finite also where
 * eigenvalues repeat.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(linalg.eigvalsh(tensor([[3, 0], [0, -1]]))), [-1, 3]);
 * ```
 */
export function eigvalsh(a: Tensor): Tensor {
  const fn = "linalg.eigvalsh";
  using _op = userOp(fn);
  return bind(eigvalshPrim, [checkSquare(fn, "a", a)], {});
}

/** Options of {@linkcode qr}. */
export interface QrOptions {
  /**
   * `"reduced"` (the default: Q [..., m, k], R [..., k, n] with k =
   * min(m, n)) or `"complete"` (Q [..., m, m], R [..., m, n]).
   */
  mode?: "reduced" | "complete";
}

/**
 * The QR factorization `a = Q R` of each matrix of a `[..., m, n]`, as
 * `torch.linalg.qr` (its `Q` and `R`): Q with orthonormal columns, R upper triangular
 * (trapezoidal when m < n). Householder reflections as LAPACK's, so R's
 * diagonal has LAPACK's (PyTorch's) signs. Differentiable in both modes
 * for any shape, except the complete factorization of a matrix with more
 * rows than columns (an error, as PyTorch's).
 *
 * @example
 * ```ts
 * import { linalg, matmul, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[3, 1], [4, 2]], { dtype: "float64" });
 * const { Q, R } = linalg.qr(a);
 * assert.deepEqual((toArray(Q) as number[][])[0].map((v) => Math.round(v * 1e12) / 1e12), [-0.6, -0.8]);
 * assert.deepEqual((toArray(matmul(Q, R)) as number[][]).map((row) => row.map(Math.round)), [[3, 1], [4, 2]]);
 * ```
 */
export function qr(a: Tensor, options?: QrOptions): { Q: Tensor; R: Tensor } {
  const fn = "linalg.qr";
  using _op = userOp(fn);
  checkFloat(fn, "a", a, 2);
  const o = checkOptions(fn, options, ["mode"]);
  if (o.mode !== undefined && o.mode !== "reduced" && o.mode !== "complete") {
    throw new Error(
      `${fn}: options.mode must be "reduced" or "complete", got ${
        describe(o.mode)
      }`,
    );
  }
  const p = { complete: o.mode === "complete" };
  return sharing(() => ({
    Q: bind(qrQPrim, [a], p),
    R: bind(qrRPrim, [a], p),
  }));
}

/** Options of {@linkcode svd}. */
export interface SvdOptions {
  /**
   * U `[..., m, m]` and Vh `[..., n, n]` (true, the default, as PyTorch's)
   * or `[..., m, k]` and `[..., k, n]` with k = min(m, n).
   */
  fullMatrices?: boolean;
}

/**
 * The singular value decomposition `a = U diag(S) Vh` of each matrix of a
 * `[..., m, n]`, as `torch.linalg.svd` (its `U`, `S` and `Vh`; S
 * descending): one-sided Jacobi rotations in float64, rounded once to the
 * float type. Signs are arbitrary in PyTorch (LAPACK's); here each column
 * of U has its entry of largest magnitude positive. The gradient is
 * PyTorch's: infinite where singular values repeat (or are zero, for the
 * singular vectors of a non-square a); with full matrices only the first k
 * columns of U and rows of Vh count, as PyTorch's.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { U, S, Vh } = linalg.svd(tensor([[3, 0], [0, -4]], { dtype: "float64" }));
 * assert.deepEqual(toArray(S), [4, 3]);
 * assert.deepEqual(toArray(U), [[0, 1], [1, 0]]);
 * assert.deepEqual(toArray(Vh), [[0, -1], [1, 0]]);
 * ```
 */
export function svd(
  a: Tensor,
  options?: SvdOptions,
): { U: Tensor; S: Tensor; Vh: Tensor } {
  const fn = "linalg.svd";
  using _op = userOp(fn);
  checkFloat(fn, "a", a, 2);
  const o = checkOptions(fn, options, ["fullMatrices"]);
  const p = {
    full: checkBool(fn, "options.fullMatrices", o.fullMatrices, true),
  };
  return sharing(() => ({
    U: bind(svdUPrim, [a], p),
    S: bind(svdSPrim, [a], p),
    Vh: bind(svdVhPrim, [a], p),
  }));
}

/**
 * The singular values (descending) of each matrix of a `[..., m, n]`, as
 * `torch.linalg.svdvals`: `svd`'s S, whose gradient `U diag(g) Vh` is
 * finite also where singular values repeat.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(linalg.svdvals(tensor([[0, 2], [1, 0]]))), [2, 1]);
 * ```
 */
export function svdvals(a: Tensor): Tensor {
  const fn = "linalg.svdvals";
  using _op = userOp(fn);
  return bind(svdSPrim, [checkFloat(fn, "a", a, 2)], { full: false });
}

/** Options of {@linkcode pinv} and {@linkcode matrixRank}: singular values at most max(atol, rtol · the largest) count as zero. */
export interface RankTolerance {
  /** Absolute tolerance. Default 0. */
  atol?: number;
  /**
   * Tolerance relative to the largest singular value. Default max(m, n) ·
   * the float type's epsilon when atol is not given (or is 0), else 0, as
   * PyTorch's.
   */
  rtol?: number;
}

/** The tolerances atol and rtol of `options` (checked), rtol's default resolved as PyTorch's. */
function tolerances(
  fn: string,
  a: Tensor,
  options: RankTolerance | undefined,
): PinvParams {
  const o = checkOptions(fn, options, ["atol", "rtol"]);
  for (const k of ["atol", "rtol"] as const) {
    const v = o[k];
    if (v !== undefined && !(typeof v === "number" && v >= 0)) {
      throw new Error(
        `${fn}: options.${k} must be a number >= 0, got ${describe(v)}`,
      );
    }
  }
  const atol = (o.atol as number | undefined) ?? 0;
  const [m, n] = a.shape.slice(-2);
  const eps = a.dtype === "float64" ? 2 ** -52 : 2 ** -23;
  const rtol = (o.rtol as number | undefined) ??
    (atol > 0 ? 0 : Math.max(m, n) * eps);
  return { atol, rtol };
}

/** The singular values above the tolerance: a mask per matrix. */
function aboveTolerance(
  fn: string,
  a: Tensor,
  s: Tensor,
  options: RankTolerance | undefined,
): Tensor {
  const { atol, rtol } = tolerances(fn, a, options);
  const top = s.shape[s.shape.length - 1] === 0
    ? s
    : max(s, { axis: -1, keepDims: true });
  return greater(s, maximum(mul(top, rtol), atol));
}

/**
 * The Moore-Penrose pseudo-inverse of each matrix of a `[..., m, n]`
 * (`[..., n, m]`), as `torch.linalg.pinv`: V diag(1/S) Uᵀ over the
 * singular values above the tolerance (see {@linkcode RankTolerance}),
 * from the SVD in float64, rounded once. Its derivative is PyTorch's
 * (Golub and Pereyra's formula in P and a, exact where the rank is locally
 * constant), finite also where singular values repeat or are zero (pinv of
 * I, of a rank-deficient or of a zero matrix); like PyTorch's, it ignores
 * how singular values dropped by the tolerance move, so it is approximate
 * (to about their ratio to the kept ones) where they are not zero.
 *
 * @example
 * ```ts
 * import { linalg, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // a rank-1 matrix: its pseudo-inverse is aᵀ / |a|²
 * const p = linalg.pinv(tensor([[1, 2], [2, 4]], { dtype: "float64" }));
 * assert.deepEqual(Array.from(p.data, (v) => Math.round(v * 25e10) / 1e10), [1, 2, 2, 4]);
 * ```
 */
export function pinv(a: Tensor, options?: RankTolerance): Tensor {
  const fn = "linalg.pinv";
  using _op = userOp(fn);
  checkFloat(fn, "a", a, 2);
  return sharing(() => pinvOf(fn, a, options));
}

/** pinv's body (also lstsq's): the primitive, its tolerances resolved. */
function pinvOf(fn: string, a: Tensor, options?: RankTolerance): Tensor {
  return bind(pinvPrim, [a], tolerances(fn, a, options));
}

/**
 * The rank of each matrix of a `[..., m, n]`, as `torch.linalg.matrix_rank`:
 * the count of singular values above the tolerance (see
 * {@linkcode RankTolerance}), int32 (PyTorch's is int64).
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toArray(linalg.matrixRank(tensor([[1, 2], [2, 4]]))), 1);
 * ```
 */
export function matrixRank(a: Tensor, options?: RankTolerance): Tensor {
  const fn = "linalg.matrixRank";
  using _op = userOp(fn);
  checkFloat(fn, "a", a, 2);
  const s = svdvals(a);
  return sum(astype(aboveTolerance(fn, a, s, options), "int32"), {
    axis: -1,
  });
}

/**
 * a to the integer power n for each matrix of a `[..., m, m]`, as
 * `torch.linalg.matrix_power`: the identity for n = 0, products by
 * repeated squaring, and `inv(a)` to the power -n for n < 0.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 1], [0, 1]]);
 * assert.deepEqual(toArray(linalg.matrixPower(a, 5)), [[1, 5], [0, 1]]);
 * assert.deepEqual(toArray(linalg.matrixPower(a, -2)), [[1, -2], [0, 1]]);
 * ```
 */
export function matrixPower(a: Tensor, n: number): Tensor {
  const fn = "linalg.matrixPower";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  if (!Number.isSafeInteger(n)) {
    throw new Error(`${fn}: n must be an integer, got ${describe(n)}`);
  }
  let base = n < 0 ? inv(a) : a;
  let out: Tensor | null = null;
  for (let k = Math.abs(n); k > 0; k = Math.floor(k / 2)) {
    if (k % 2) out = out ? matmul(out, base) : base;
    if (k > 1) base = matmul(base, base);
  }
  return out ??
    broadcastTo(eye(a.shape[a.shape.length - 1], { dtype: a.dtype }), a.shape);
}

/** Options of {@linkcode matrixNorm}. */
export interface MatrixNormOptions {
  /**
   * `"fro"` (the default), `"nuc"` (the sum of the singular values), 2 and
   * -2 (the largest and smallest singular value), 1 and -1 (the largest and
   * smallest column sum of |a|), Infinity and -Infinity (row sums).
   */
  ord?: "fro" | "nuc" | number;
  /** Keep the two reduced axes as size 1. Default false. */
  keepDims?: boolean;
}

/**
 * A norm of each matrix of a `[..., m, n]`, as `torch.linalg.matrix_norm`
 * (the last two axes): Frobenius, nuclear, spectral, or the induced 1- and
 * ∞-norms and their minima (see {@linkcode MatrixNormOptions}).
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, -2], [3, 4]], { dtype: "float64" });
 * assert.equal(toArray(linalg.matrixNorm(a)), Math.sqrt(30));
 * assert.equal(toArray(linalg.matrixNorm(a, { ord: 1 })), 6);
 * assert.equal(toArray(linalg.matrixNorm(a, { ord: Infinity })), 7);
 * ```
 */
export function matrixNorm(a: Tensor, options?: MatrixNormOptions): Tensor {
  const fn = "linalg.matrixNorm";
  using _op = userOp(fn);
  checkFloat(fn, "a", a, 2);
  const o = checkOptions(fn, options, ["ord", "keepDims"]);
  const keepDims = checkBool(fn, "options.keepDims", o.keepDims, false);
  const ord = o.ord ?? "fro";
  const keep = (x: Tensor) => keepDims ? expandDims(expandDims(x, -1), -1) : x;
  const [m, n] = a.shape.slice(-2);
  // a maximum or minimum over no entries: PyTorch's error, named here
  const over = ord === 2 || ord === -2
    ? Math.min(m, n)
    : ord === 1 || ord === -1
    ? n
    : ord === Infinity || ord === -Infinity
    ? m
    : 1;
  if (over === 0) {
    throw new Error(
      `${fn}: the ord ${
        describe(ord)
      } norm of an empty matrix is undefined (a maximum or minimum over no entries; a ${
        fmtShape(a.shape)
      })`,
    );
  }
  switch (ord) {
    case "fro": {
      // (0 with a zero gradient at a zero matrix, as PyTorch's, not NaN)
      const ss = sum(square(a), { axis: [-2, -1], keepDims });
      const zero = equal(ss, 0);
      return where(zero, 0, sqrt(where(zero, 1, ss)));
    }
    case "nuc":
      return keep(sum(svdvals(a), { axis: -1 }));
    case 2:
      return keep(max(svdvals(a), { axis: -1 }));
    case -2:
      return keep(min(svdvals(a), { axis: -1 }));
    case 1:
    case -1:
    case Infinity:
    case -Infinity: {
      const sums = sum(abs(a), {
        axis: ord === 1 || ord === -1 ? -2 : -1,
        keepDims: true,
      });
      return (ord === 1 || ord === Infinity ? max : min)(sums, {
        axis: [-2, -1],
        keepDims,
      });
    }
  }
  throw new Error(
    `${fn}: options.ord must be "fro", "nuc", 2, -2, 1, -1, Infinity or -Infinity, got ${
      describe(ord)
    }`,
  );
}

/** Options of {@linkcode lstsq}. */
export interface LstsqOptions {
  /**
   * Singular values at most rcond times the largest count as zero (the
   * effective rank). Default max(m, n) · the float type's epsilon, as
   * PyTorch's.
   */
  rcond?: number;
}

/**
 * The least-squares solution of `a x = b` for a `[..., m, n]` and b
 * `[..., m, k]` (batch axes broadcast; or `[..., m]`, one axis less than a,
 * a batch of vectors by PyTorch's rule), as `torch.linalg.lstsq` with its
 * SVD driver "gelsd" (and `jnp.linalg.lstsq`): `solution` [..., n, k] (the
 * minimum-norm one when a is rank-deficient: `pinv(a) b`), `residuals` the
 * squared norms of the columns of `a x - b` when m > n ([..., k], else
 * [..., 0]; PyTorch leaves them empty for a rank-deficient a as well),
 * `rank` (int32) and `singularValues`. Differentiable as `pinv` and
 * `matmul` are.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // the line through (0, 1), (1, 3), (2, 5): y = 2 x + 1, fitted exactly
 * const a = tensor([[0, 1], [1, 1], [2, 1]], { dtype: "float64" });
 * const { solution, rank } = linalg.lstsq(a, tensor([[1], [3], [5]], { dtype: "float64" }));
 * assert.deepEqual((toArray(solution) as number[][]).map(([v]) => Math.round(v * 1e12) / 1e12), [2, 1]);
 * assert.equal(toArray(rank), 2);
 * ```
 */
export function lstsq(
  a: Tensor,
  b: Tensor,
  options?: LstsqOptions,
): {
  solution: Tensor;
  residuals: Tensor;
  rank: Tensor;
  singularValues: Tensor;
} {
  const fn = "linalg.lstsq";
  using _op = userOp(fn);
  checkFloat(fn, "a", a, 2);
  checkFloat(fn, "b", b, 1);
  if (b.shape.length === a.shape.length - 1) {
    // torch's rule: b with one axis less than a is a batch of vectors
    const r = lstsq(a, expandDims(b, -1), options);
    return { ...r, solution: squeeze(r.solution, -1) };
  }
  const o = checkOptions(fn, options, ["rcond"]);
  if (o.rcond !== undefined && !(typeof o.rcond === "number" && o.rcond >= 0)) {
    throw new Error(
      `${fn}: options.rcond must be a number >= 0, got ${describe(o.rcond)}`,
    );
  }
  const [as, bs] = lineUp(fn, a, b);
  const tol = o.rcond === undefined ? {} : { rtol: o.rcond as number };
  return sharing(() => lstsqOf(fn, as, bs, tol));
}

/** lstsq's body: one SVD for the singular values, the rank and pinv. */
function lstsqOf(
  fn: string,
  as: Tensor,
  bs: Tensor,
  tol: RankTolerance,
): {
  solution: Tensor;
  residuals: Tensor;
  rank: Tensor;
  singularValues: Tensor;
} {
  const s = svd(as, { fullMatrices: false }).S;
  const solution = matmul(pinvOf(fn, as, tol), bs);
  const [m, n] = as.shape.slice(-2);
  const residuals = m > n
    ? sum(square(sub(matmul(as, solution), bs)), { axis: -2 })
    : zerosLike(columns(sum(bs, { axis: -2 }), 0, 0));
  return {
    solution,
    residuals,
    rank: sum(astype(aboveTolerance(fn, as, s, tol), "int32"), { axis: -1 }),
    singularValues: s,
  };
}

/** Options of {@linkcode cond}. */
export interface CondOptions {
  /**
   * The norm: 2 (the default: the largest singular value over the
   * smallest), -2 (the inverse), or `"fro"`, `"nuc"`, 1, -1, Infinity,
   * -Infinity (norm(a) · norm(inv(a)), square a only).
   */
  p?: "fro" | "nuc" | number;
}

/**
 * The condition number of each matrix of a `[..., m, n]`, as
 * `torch.linalg.cond`: for p = 2 (the default) and -2 from the singular
 * values (Infinity for a singular matrix), for the other norms
 * `matrixNorm(a, p) · matrixNorm(inv(a), p)`.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toArray(linalg.cond(tensor([[4, 0], [0, 0.5]]))), 8);
 * assert.equal(toArray(linalg.cond(tensor([[1, 0], [0, 0]]))), Infinity);
 * ```
 */
export function cond(a: Tensor, options?: CondOptions): Tensor {
  const fn = "linalg.cond";
  using _op = userOp(fn);
  checkFloat(fn, "a", a, 2);
  const o = checkOptions(fn, options, ["p"]);
  const p = (o.p ?? 2) as CondOptions["p"];
  const known = [2, -2, "fro", "nuc", 1, -1, Infinity, -Infinity];
  if (known.includes(p as number) && p !== 2 && p !== -2) {
    checkSquare(fn, "a", a);
  }
  if (known.includes(p as number) && a.shape.slice(-2).includes(0)) {
    // an empty matrix: 0, as PyTorch's
    return zerosLike(sum(a, { axis: [-2, -1] }));
  }
  if (p === 2 || p === -2) {
    const s = svdvals(a);
    const big = max(s, { axis: -1 }), small = min(s, { axis: -1 });
    return p === 2 ? div(big, small) : div(small, big);
  }
  if (!["fro", "nuc", 1, -1, Infinity, -Infinity].includes(p as number)) {
    throw new Error(
      `${fn}: options.p must be 2, -2, "fro", "nuc", 1, -1, Infinity or -Infinity, got ${
        describe(p)
      }`,
    );
  }
  // a singular matrix: Infinity, as PyTorch's (inverted as I, then replaced)
  const singular = perMatrix(equal(bind(detSignPrim, [a], {}), 0));
  const n = a.shape[a.shape.length - 1];
  const safe = where(singular, eye(n, { dtype: a.dtype }), a);
  const c = mul(matrixNorm(a, { ord: p }), matrixNorm(inv(safe), { ord: p }));
  return where(squeeze(squeeze(singular, -1), -1), Infinity, c);
}

/** Options of {@linkcode cross}. */
export interface CrossOptions {
  /** The axis of length 3 (negative counts from the end). Default -1. */
  axis?: number;
}

/**
 * The cross product of 3-vectors along `axis`, as `torch.linalg.cross`
 * (batch axes broadcast): `a × b = roll(a, -1) roll(b, -2) - roll(a, -2)
 * roll(b, -1)` along it.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(linalg.cross(tensor([1, 0, 0]), tensor([0, 1, 0]))), [0, 0, 1]);
 * ```
 */
export function cross(a: Tensor, b: Tensor, options?: CrossOptions): Tensor {
  const fn = "linalg.cross";
  using _op = userOp(fn);
  checkTensor(fn, a, "a");
  checkTensor(fn, b, "b");
  const o = checkOptions(fn, options, ["axis"]);
  const axis = (o.axis ?? -1) as number;
  for (const [name, t] of [["a", a], ["b", b]] as const) {
    const ax = Number.isInteger(axis) && axis < 0
      ? t.shape.length + axis
      : axis;
    if (!(Number.isInteger(ax) && ax >= 0 && ax < t.shape.length)) {
      throw new Error(
        `${fn}: options.axis ${
          describe(axis)
        } is out of range for ${name} of shape ${fmtShape(t.shape)}`,
      );
    }
    if (t.shape[ax] !== 3) {
      throw new Error(
        `${fn}: ${name} must have size 3 along axis ${axis}, got shape ${
          fmtShape(t.shape)
        }`,
      );
    }
  }
  const r = (t: Tensor, k: number) => roll(t, k, { axis });
  return sub(mul(r(a, -1), r(b, -2)), mul(r(a, -2), r(b, -1)));
}

/**
 * The product of a chain of matrices in the order that needs the fewest
 * multiply-adds (the classic dynamic program on their sizes; a chain of
 * more than 256 left to right), as `torch.linalg.multi_dot`: the first may
 * be a vector (a row), the last a vector (a column), and the result drops
 * those axes.
 *
 * @example
 * ```ts
 * import { linalg, ones, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // (a b) c costs 10·100·5 + 10·5·50, a (b c) 100·5·50 + 10·100·50
 * const y = linalg.multiDot([ones([10, 100]), ones([100, 5]), ones([5, 50])]);
 * assert.deepEqual(y.shape, [10, 50]);
 * assert.equal((toArray(y) as number[][])[0][0], 500);
 * ```
 */
export function multiDot(tensors: readonly Tensor[]): Tensor {
  const fn = "linalg.multiDot";
  using _op = userOp(fn);
  if (!Array.isArray(tensors) || tensors.length < 2) {
    throw new Error(
      `${fn}: tensors must be an array of at least 2 tensors, got ${
        describe(tensors)
      }`,
    );
  }
  const ts = tensors.map((t, i) => {
    checkTensor(fn, t, `tensors[${i}]`);
    const vectorOk = i === 0 || i === tensors.length - 1;
    if (t.shape.length !== 2 && !(vectorOk && t.shape.length === 1)) {
      throw new Error(
        `${fn}: tensors[${i}] must be 2-D${
          vectorOk ? " (or 1-D, first or last)" : ""
        }, got shape ${fmtShape(t.shape)}`,
      );
    }
    return t.shape.length === 1 ? reshapeVector(t, i === 0) : t;
  });
  for (let i = 1; i < ts.length; i++) {
    if (ts[i - 1].shape[1] !== ts[i].shape[0]) {
      throw new Error(
        `${fn}: tensors[${i - 1}] and tensors[${i}] do not chain (shapes ${
          fmtShape(tensors[i - 1].shape)
        } and ${fmtShape(tensors[i].shape)})`,
      );
    }
  }
  // dims[i], dims[i + 1]: the shape of matrix i; cost and split of each chain
  // (the program takes k³ steps: past MAX_CHAIN matrices, left to right)
  const dims = [ts[0].shape[0], ...ts.map((t) => t.shape[1])];
  const k = ts.length;
  if (k > MAX_CHAIN) {
    let out = ts.reduce((x, y) => matmul(x, y));
    if (tensors[k - 1].shape.length === 1) out = squeeze(out, -1);
    if (tensors[0].shape.length === 1) out = squeeze(out, 0);
    return out;
  }
  const cost = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const split = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let len = 1; len < k; len++) {
    for (let i = 0; i + len < k; i++) {
      const j = i + len;
      cost[i][j] = Infinity;
      for (let s = i; s < j; s++) {
        const c = cost[i][s] + cost[s + 1][j] +
          dims[i] * dims[s + 1] * dims[j + 1];
        if (c < cost[i][j]) [cost[i][j], split[i][j]] = [c, s];
      }
    }
  }
  const chain = (i: number, j: number): Tensor =>
    i === j ? ts[i] : matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j));
  let out = chain(0, k - 1);
  if (tensors[k - 1].shape.length === 1) out = squeeze(out, -1);
  if (tensors[0].shape.length === 1) out = squeeze(out, 0);
  return out;
}

/** Longest chain whose order `multiDot` optimises (the program's k³ steps stay under 2·10⁷). */
const MAX_CHAIN = 256;

/** A vector as a row (first of a chain) or a column (last). */
const reshapeVector = (t: Tensor, row: boolean) => expandDims(t, row ? 0 : -1);

/** Padé [13/13] coefficients of exp (Higham 2005, as SciPy's and JAX's expm). */
const PADE13 = [
  64764752532480000,
  32382376266240000,
  7771770303897600,
  1187353796428800,
  129060195264000,
  10559470521600,
  670442572800,
  33522128640,
  1323241920,
  40840800,
  960960,
  16380,
  182,
  1,
];
/** The 1-norm up to which Padé [13/13] is accurate to float64's rounding. */
const THETA13 = 5.371920351148152;
/** Most squarings: 1-norms up to θ₁₃·2²⁴ (about 9·10⁷) keep their accuracy. */
const MAX_SQUARINGS = 24;

/**
 * The matrix exponential of each matrix of a `[..., n, n]`, as
 * `torch.linalg.matrix_exp`: scaling and squaring with a Padé [13/13]
 * approximant (Higham 2005, as SciPy's and JAX's `expm`): a scaled by
 * 2^-s so its 1-norm is at most θ₁₃, the approximant `(V - U)⁻¹ (V + U)`
 * by `solve`, then squared s times. Composed of ops (the squarings a fixed
 * 24 steps, each a product with r where s asks for it and with I past it),
 * so it differentiates, vmaps and jits with no rule of its own.
 *
 * @example
 * ```ts
 * import { linalg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // a rotation generator: exp of [[0, -t], [t, 0]] rotates by t
 * const r = toArray(linalg.matrixExp(tensor([[0, -Math.PI / 2], [Math.PI / 2, 0]], { dtype: "float64" }))) as number[][];
 * assert.deepEqual(r.map((row) => row.map((v) => Math.round(v * 1e12) / 1e12)), [[0, -1], [1, 0]]);
 * ```
 */
export function matrixExp(a: Tensor): Tensor {
  const fn = "linalg.matrixExp";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  const n = a.shape[a.shape.length - 1];
  if (a.shape.includes(0)) return a;
  const i = broadcastTo(eye(n, { dtype: a.dtype }), a.shape);
  // s = max(0, ceil(log2(|a|₁ / θ))) per matrix, at most MAX_SQUARINGS
  const norm = max(sum(abs(a), { axis: -2 }), { axis: -1 });
  const s = minimum(
    maximum(ceil(log2(div(norm, THETA13))), 0),
    MAX_SQUARINGS,
  );
  const x = div(a, perMatrix(exp2(s)));
  const x2 = matmul(x, x), x4 = matmul(x2, x2), x6 = matmul(x4, x2);
  const b = PADE13;
  const terms = (c: number[], m: Tensor[]) =>
    m.reduce((acc, t, k) => add(acc, mul(t, c[k])), mul(i, 0));
  const u = matmul(
    x,
    add(
      matmul(x6, terms([b[13], b[11], b[9]], [x6, x4, x2])),
      terms([b[7], b[5], b[3], b[1]], [x6, x4, x2, i]),
    ),
  );
  const v = add(
    matmul(x6, terms([b[12], b[10], b[8]], [x6, x4, x2])),
    terms([b[6], b[4], b[2], b[0]], [x6, x4, x2, i]),
  );
  let r = bind(solvePrim, [sub(v, u), add(v, u)], {});
  // r·r where the k-th squaring is due, else r·I: never a square past s
  // (which could overflow, and 0·inf is NaN in the gradient)
  // (and r itself past s, not r·I: an r that overflowed would give
  // inf · 0 = NaN off its infinities)
  for (let k = 0; k < MAX_SQUARINGS; k++) {
    const due = perMatrix(greater(s, k));
    r = where(due, matmul(r, where(due, r, i)), r);
  }
  return r;
}

/**
 * The LU factorization with partial pivoting `a = P L U` of each square
 * matrix of a `[..., n, n]`, as `torch.linalg.lu` (its `P`, `L` and `U`):
 * P a permutation matrix, L unit lower triangular, U upper triangular,
 * LAPACK's getrf (each column's pivot the first entry of largest
 * magnitude), so PyTorch's values. A singular a factors too (a zero on U's
 * diagonal). Differentiable (PyTorch's rule; P's derivative is zero) where
 * U is invertible. Square matrices only (PyTorch also takes rectangular
 * ones).
 *
 * @example
 * ```ts
 * import { linalg, matmul, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 2], [3, 4]], { dtype: "float64" });
 * const { P, L, U } = linalg.lu(a);
 * assert.deepEqual(toArray(P), [[0, 1], [1, 0]]);
 * assert.deepEqual(toArray(U), [[3, 4], [0, 2 - 4 / 3]]);
 * assert.deepEqual(toArray(matmul(P, matmul(L, U))), [[1, 2], [3, 4]]);
 * ```
 */
export function lu(a: Tensor): { P: Tensor; L: Tensor; U: Tensor } {
  const fn = "linalg.lu";
  using _op = userOp(fn);
  checkSquare(fn, "a", a);
  return sharing(() => ({
    P: bind(luPPrim, [a], {}),
    L: bind(luLPrim, [a], {}),
    U: bind(luUPrim, [a], {}),
  }));
}
