/**
 * The linalg namespace (ops/linalg.ts): values and gradients against
 * PyTorch 1.13 (tests/fixtures/linalg.json, written by
 * tests/fixtures/gen_linalg.py), identities between the ops, the kernels
 * on singular and pivoting cases, and the errors. Gradients to order 2 of
 * drawn inputs in both modes, vmap and jit: the rows of
 * tests/_linalg_table.ts.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { type FixtureTensor, fixtureTensor } from "./_fixture_cases.ts";
import fixture from "./fixtures/linalg.json" with { type: "json" };

const { linalg } = T;
type J = FixtureTensor;
type Case = {
  op: string;
  name: string;
  dtype: T.DType;
  // deno-lint-ignore no-explicit-any
  options: Record<string, any>;
  inputs: J[];
  output: J | { sign: J; logabsdet: J };
  /** Absent where there is no derivative (matrixRank's int32 result). */
  cotangent?: J;
  grads?: J[];
};
const toT = fixtureTensor;
const f64 = { dtype: "float64" as const };

// deno-lint-ignore no-explicit-any
const ops: Record<string, (xs: Tensor[], o: any) => Tensor> = {
  solve: ([a, b]) => linalg.solve(a, b),
  inv: ([a]) => linalg.inv(a),
  det: ([a]) => linalg.det(a),
  slogdet: ([a]) => linalg.slogdet(a).logabsdet,
  cholesky: ([a], o) => linalg.cholesky(a, o),
  solveTriangular: ([a, b], o) => linalg.solveTriangular(a, b, o),
  pinv: ([a]) => linalg.pinv(a),
  matrixPower: ([a], o) => linalg.matrixPower(a, o.n),
  matrixNorm: ([a], o) =>
    linalg.matrixNorm(a, {
      ord: o.ord === "Infinity"
        ? Infinity
        : o.ord === "-Infinity"
        ? -Infinity
        : o.ord,
    }),
  matrixRank: ([a]) => linalg.matrixRank(a),
  cond: ([a], o) =>
    linalg.cond(a, {
      p: o.p === "Infinity" ? Infinity : o.p === "-Infinity" ? -Infinity : o.p,
    }),
  cross: ([a, b], o) => linalg.cross(a, b, o),
  multiDot: (xs) => linalg.multiDot(xs),
  matrixExp: ([a]) => linalg.matrixExp(a),
};

// float32: PyTorch runs LAPACK's float32 routines, the library float64
// rounded once, so a few float32 ulps of the larger entries apart
const tolerance = (dtype: T.DType) =>
  dtype === "float64"
    ? { atol: 1e-12, rtol: 1e-12 }
    : { atol: 2e-5, rtol: 2e-5 };

type TreeCase = {
  op: string;
  name: string;
  dtype: T.DType;
  options: Record<string, string>;
  inputs: J[];
  output: Record<string, J>;
  cotangent?: Record<string, J>;
  grads?: J[];
};

// the ops of several outputs, as objects of named tensors
type TreeOp = (
  xs: Tensor[],
  // deno-lint-ignore no-explicit-any
  o: any,
) => Record<string, Tensor>;
const treeOps: Record<string, TreeOp> = {
  eigh: ([a]) => linalg.eigh(a),
  eigvalsh: ([a]) => ({ eigenvalues: linalg.eigvalsh(a) }),
  qr: ([a], o) => linalg.qr(a, o),
  svd: ([a], o) => linalg.svd(a, o),
  svdvals: ([a]) => ({ S: linalg.svdvals(a) }),
  lstsq: ([a, b]) => linalg.lstsq(a, b),
  lu: ([a]) => linalg.lu(a),
};

for (const c of fixture.cases as unknown as (Case | TreeCase)[]) {
  Deno.test(`PyTorch: linalg.${c.op} ${c.name} (${c.dtype})`, () => {
    const xs = c.inputs.map(toT);
    if (c.op in treeOps) return checkTreeCase(c as TreeCase, xs);
    const k = c as Case;
    const f = (...v: Tensor[]) => ops[k.op](v, k.options);
    const out = "sign" in k.output ? k.output.logabsdet : k.output;
    const y = f(...xs);
    if (out.dtype === "int32") {
      assert.deepEqual(y.shape, out.shape);
      assert.deepEqual(Array.from(y.data), out.data);
      return;
    }
    assert.equal(y.dtype, k.dtype);
    assertAllClose(y, toT(out), { ...tolerance(k.dtype), msg: k.name });
    if ("sign" in k.output) {
      assert.deepEqual(
        Array.from(linalg.slogdet(xs[0]).sign.data),
        k.output.sign.data,
      );
    }
    const [, back] = T.vjp(f, ...xs);
    back(toT(k.cotangent!)).forEach((g, i) =>
      assertAllClose(g, toT(k.grads![i]), {
        ...tolerance(k.dtype),
        msg: `${k.name}: gradient of input ${i}`,
      })
    );
  });
}

/** A case of several named outputs (eigh, eigvalsh, qr, svd, lstsq, lu): each output, and the gradients of their sum against the cotangents. */
function checkTreeCase(c: TreeCase, xs: Tensor[]): void {
  const f = (...v: Tensor[]) => treeOps[c.op](v, c.options);
  const ys = f(...xs);
  for (const [name, want] of Object.entries(c.output)) {
    assert.equal(ys[name].dtype, c.dtype);
    assertAllClose(ys[name], toT(want), {
      ...tolerance(c.dtype),
      msg: `${c.name}: ${name}`,
    });
  }
  if (!c.cotangent) {
    if (c.op !== "qr") return; // (PyTorch's backward fails: values only)
    // PyTorch has no derivative here, and says so: so does the library
    assert.throws(
      () => T.grad((x: Tensor) => T.sum(f(x).Q))(xs[0]),
      /linalg\.qr: the complete QR factorization .* has no derivative/,
    );
    return;
  }
  // the outputs the case has cotangents of (lstsq's rank has none)
  const names = Object.keys(c.cotangent);
  const g = (...v: Tensor[]) =>
    Object.fromEntries(names.map((k) => [k, f(...v)[k]]));
  const cot = Object.fromEntries(names.map((k) => [k, toT(c.cotangent![k])]));
  const [, back] = T.vjp(g, ...xs);
  back(cot).forEach((gi, i) =>
    assertAllClose(gi, toT(c.grads![i]), {
      ...tolerance(c.dtype),
      msg: `${c.name}: gradient of input ${i}`,
    })
  );
}

/** A well-conditioned [..., n, n] float64 matrix: a normal draw plus 3·I. */
const square = (seed: number, shape: number[]) =>
  T.add(
    T.random.normal(T.random.key(seed), shape, f64),
    T.mul(T.eye(shape[shape.length - 1], f64), 3),
  );
const close = (a: Tensor, b: Tensor, msg: string) =>
  assertAllClose(a, b, { atol: 1e-12, rtol: 1e-12, msg });

Deno.test("linalg identities: a·solve(a, b) = b, a·inv(a) = I, det = sign·exp(logabsdet) = Π of the Cholesky diagonal squared, det(ab) = det a det b", () => {
  const a = square(1, [2, 4, 4]),
    b = T.random.normal(T.random.key(2), [2, 4, 3], f64);
  close(T.matmul(a, linalg.solve(a, b)), b, "a x = b");
  close(
    T.matmul(a, linalg.inv(a)),
    T.broadcastTo(T.eye(4, f64), [2, 4, 4]),
    "a a⁻¹",
  );
  const { sign, logabsdet } = linalg.slogdet(a);
  close(linalg.det(a), T.mul(sign, T.exp(logabsdet)), "slogdet");
  const s = T.add(T.matmul(a, T.swapaxes(a, -1, -2)), T.eye(4, f64));
  const l = linalg.cholesky(s);
  close(T.matmul(l, T.swapaxes(l, -1, -2)), s, "L Lᵀ");
  close(
    linalg.det(s),
    T.prod(T.square(T.diagonal(l, { axis1: -2, axis2: -1 })), { axis: -1 }),
    "det of L Lᵀ",
  );
  close(linalg.cholesky(s, { upper: true }), T.swapaxes(l, -1, -2), "upper");
  const [a0, a1] = [T.slice(a, [0], [1]), T.slice(a, [1], [2])];
  close(
    linalg.det(T.matmul(a0, a1)),
    T.mul(linalg.det(a0), linalg.det(a1)),
    "det(ab)",
  );
  // the triangular solve reads one triangle: the other is ignored
  const lower = T.tril(a),
    junk = T.add(lower, T.triu(square(3, [2, 4, 4]), { k: 1 }));
  close(
    linalg.solveTriangular(junk, b, { upper: false }),
    linalg.solve(lower, b),
    "solveTriangular reads the lower triangle",
  );
});

Deno.test("linalg kernels: partial pivoting (a zero in the corner), singular matrices give det 0, sign 0 and logabsdet -inf, 0x0 matrices", () => {
  // without pivoting the first step would divide by zero
  const p = T.tensor([[0, 1], [1, 0]], f64);
  assert.deepEqual(T.toArray(linalg.solve(p, T.tensor([2, 3], f64))), [3, 2]);
  assert.equal(T.item(linalg.det(p)), -1);
  // -0 after the row swap, as PyTorch's
  const sing = T.tensor([[1, 2], [2, 4]], f64);
  assert.ok(Object.is(T.item(linalg.det(sing)), -0));
  const { sign, logabsdet } = linalg.slogdet(sing);
  assert.ok(Object.is(T.item(sign), -0));
  assert.equal(T.item(logabsdet), -Infinity);
  // an empty matrix: det 1, as PyTorch's
  assert.equal(T.item(linalg.det(T.zeros([0, 0], f64))), 1);
  assert.deepEqual(linalg.inv(T.zeros([2, 0, 0])).shape, [2, 0, 0]);
  // float32 in, float32 out; float32 with float64 gives float64
  assert.equal(linalg.inv(T.eye(2)).dtype, "float32");
  assert.equal(linalg.solve(T.eye(2), T.ones([2], f64)).dtype, "float64");
});

Deno.test("linalg.svd: full matrices complete U and Vh to orthonormal bases; their gradient is the reduced one's (the extra columns have none, as PyTorch's); the Penrose conditions of pinv; matrixRank and the tolerances; matrixNorm's ords against svdvals", () => {
  for (const [m, n] of [[5, 2], [2, 5], [3, 3]]) {
    const a = T.random.normal(T.random.key(m * 7 + n), [m, n], f64);
    const full = linalg.svd(a), red = linalg.svd(a, { fullMatrices: false });
    const k = Math.min(m, n);
    assert.deepEqual(full.U.shape, [m, m]);
    assert.deepEqual(full.Vh.shape, [n, n]);
    close(T.matmul(T.swapaxes(full.U, 0, 1), full.U), T.eye(m, f64), "UᵀU");
    close(
      T.matmul(full.Vh, T.swapaxes(full.Vh, 0, 1)),
      T.eye(n, f64),
      "Vh Vhᵀ",
    );
    close(T.slice(full.U, [0, 0], [m, k]), red.U, "U's first k columns");
    close(T.slice(full.Vh, [0, 0], [k, n]), red.Vh, "Vh's first k rows");
    const g = (fm: boolean) =>
      T.grad((x: Tensor) => {
        const { U, Vh } = linalg.svd(x, { fullMatrices: fm });
        return T.add(T.sum(T.sin(U)), T.sum(T.sin(Vh)));
      })(a);
    // the full one's loss sees the extra columns too; their cotangent is dropped
    const extra = T.grad((x: Tensor) => {
      const { U, Vh } = linalg.svd(x);
      return T.add(
        T.sum(T.sin(T.slice(U, [0, 0], [m, k]))),
        T.sum(T.sin(T.slice(Vh, [0, 0], [k, n]))),
      );
    })(a);
    close(extra, g(false), `gradient ${m}x${n}`);
    assert.ok(T.item(T.max(T.abs(T.sub(g(true), g(false))))) < 1e-10);
    // pinv: a p a = a, p a p = p, a p and p a symmetric
    const p = linalg.pinv(a);
    close(T.matmul(T.matmul(a, p), a), a, "a p a");
    close(T.matmul(T.matmul(p, a), p), p, "p a p");
    const ap = T.matmul(a, p), pa = T.matmul(p, a);
    close(ap, T.swapaxes(ap, 0, 1), "a p symmetric");
    close(pa, T.swapaxes(pa, 0, 1), "p a symmetric");
    const s = linalg.svdvals(a);
    close(linalg.matrixNorm(a, { ord: 2 }), T.max(s), "2-norm");
    close(linalg.matrixNorm(a, { ord: -2 }), T.min(s), "-2-norm");
    close(linalg.matrixNorm(a, { ord: "nuc" }), T.sum(s), "nuclear");
    close(linalg.matrixNorm(a), T.sqrt(T.sum(T.square(s))), "Frobenius");
  }
  // a 4x4 matrix of rank 2; with atol above every singular value, rank 0
  const r2 = T.matmul(
    T.random.normal(T.random.key(1), [4, 2], f64),
    T.random.normal(T.random.key(2), [2, 4], f64),
  );
  assert.equal(T.item(linalg.matrixRank(r2)), 2);
  assert.equal(T.item(linalg.matrixRank(r2, { atol: 1e6 })), 0);
  assert.equal(T.item(linalg.matrixRank(T.eye(3))), 3);
  assert.deepEqual(T.toArray(linalg.matrixRank(T.zeros([2, 3, 3]))), [0, 0]);
  // matrixPower: a^0 = I, a^-1 = inv(a), a^5 = a a a a a
  const a = square(4, [2, 3, 3]);
  close(
    linalg.matrixPower(a, 0),
    T.broadcastTo(T.eye(3, f64), [2, 3, 3]),
    "a^0",
  );
  close(linalg.matrixPower(a, -1), linalg.inv(a), "a^-1");
  let p5 = a;
  for (let i = 0; i < 4; i++) p5 = T.matmul(p5, a);
  assertAllClose(linalg.matrixPower(a, 5), p5, { atol: 1e-9, rtol: 1e-12 });
});

Deno.test("linalg.matrixExp: exp(a) exp(-a) = I, exp of a diagonal is the diagonal's exp, det exp(a) = exp(trace a), an exponential that underflows is 0 (no NaN), empty matrices", () => {
  const a = T.mul(T.random.normal(T.random.key(9), [3, 4, 4], f64), 3);
  const eye = T.broadcastTo(T.eye(4, f64), [3, 4, 4]);
  assertAllClose(
    T.matmul(linalg.matrixExp(a), linalg.matrixExp(T.neg(a))),
    eye,
    { atol: 1e-9, rtol: 1e-9 },
  );
  const d = T.tensor([-3, 0.5, 7], f64);
  close(
    linalg.matrixExp(T.mul(T.eye(3, f64), d)),
    T.mul(T.eye(3, f64), T.exp(d)),
    "diagonal",
  );
  assertAllClose(
    linalg.det(linalg.matrixExp(a)),
    T.exp(T.trace(a, { axis1: -2, axis2: -1 })),
    { atol: 0, rtol: 1e-10 },
  );
  // a huge negative diagonal: exp underflows to 0, not NaN
  assert.deepEqual(T.toArray(linalg.matrixExp(T.mul(T.eye(2, f64), -1e6))), [[
    0,
    0,
  ], [0, 0]]);
  assert.deepEqual(linalg.matrixExp(T.zeros([2, 0, 0])).shape, [2, 0, 0]);
});

Deno.test("linalg on non-finite input: eigh gives NaN at once (as LAPACK's), the SVD and what is built on it are an error naming the op (as PyTorch's); a chain of 300 matrices multiplies left to right", () => {
  const a = T.tensor([[1, NaN], [NaN, 1]], f64);
  const { eigenvalues, eigenvectors } = linalg.eigh(a);
  assert.ok([...eigenvalues.data, ...eigenvectors.data].every(Number.isNaN));
  assert.throws(
    () => linalg.svd(a),
    /^Error: linalg\.svd: a has a NaN or infinite entry, so the SVD does not converge/,
  );
  assert.throws(
    () => linalg.pinv(T.stack([T.eye(2), T.tensor([[Infinity, 0], [0, 1]])])),
    /^Error: linalg\.pinv: a \(batch index \[1\]\) has a NaN or infinite entry/,
  );
  const ms = Array.from(
    { length: 300 },
    (_, i) => T.tensor([[1, i % 3 === 0 ? 1 : 0], [0, 1]], f64),
  );
  // 100 shears of 1: [[1, 100], [0, 1]]
  assert.deepEqual(T.toArray(linalg.multiDot(ms)), [[1, 100], [0, 1]]);
});

Deno.test("linalg under jit: one trace, each call its own matrices (a factorization shared by its outputs within a call only); a singular matrix at a replay is the same error", () => {
  const f = T.jit((a: Tensor, b: Tensor) => linalg.solve(a, b));
  const b = T.ones([3], f64);
  for (const seed of [1, 2]) {
    const a = square(seed, [3, 3]);
    close(f(a, b), linalg.solve(a, b), `seed ${seed}`);
  }
  assert.equal(f.traceCount(), 1);
  assert.throws(
    () => f(T.zeros([3, 3], f64), b),
    /^Error: linalg\.solve: the matrix a is singular/,
  );
  // a factorization's outputs share one computation within a call, never
  // across replays (whose arrays in WebAssembly memory are reused)
  const g = T.jit((a: Tensor) => {
    const { U, S, Vh } = linalg.svd(a);
    const { Q, R } = linalg.qr(a);
    return [U, S, Vh, Q, R];
  });
  for (const seed of [3, 4, 5]) {
    const a = square(seed, [3, 3]);
    const { U, S, Vh } = linalg.svd(a);
    const { Q, R } = linalg.qr(a);
    g(a).forEach((t, i) =>
      close(t, [U, S, Vh, Q, R][i], `seed ${seed}, output ${i}`)
    );
  }
  assert.equal(g.traceCount(), 1);
});

Deno.test("linalg errors name the function, the argument, what was expected and what came", () => {
  const a = T.eye(3), b = T.ones([3, 2]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => linalg.solve(T.ones([3, 2]), b),
      /linalg\.solve: a must be a square matrix .* got shape \[3,2\]/,
    ],
    [
      () => linalg.solve(a, T.ones([2, 2])),
      /linalg\.solve: b must have 3 rows to match a \(a \[3,3\], b \[2,2\]\)/,
    ],
    [
      () => linalg.solve(T.ones([2, 3, 3]), T.ones([4, 3, 1])),
      /linalg\.solve: the batch axes of a and b do not broadcast/,
    ],
    [
      () => linalg.solve(T.eye(2, { dtype: "int32" }), T.ones([2])),
      /linalg\.solve: a must be float32 or float64, got int32 \[2,2\]/,
    ],
    [
      () => linalg.solve(T.zeros([2, 2]), T.ones([2])),
      /linalg\.solve: the matrix a is singular/,
    ],
    [
      () => linalg.inv(T.stack([T.eye(2), T.zeros([2, 2])])),
      /linalg\.inv: the matrix a \(batch index \[1\]\) is singular/,
    ],
    [
      () => linalg.det(T.ones([3])),
      /linalg\.det: a must have at least 2 axes, got shape \[3\]/,
    ],
    [
      () => linalg.slogdet("x" as unknown as Tensor),
      /linalg\.slogdet: a must be a Tensor, got/,
    ],
    [
      () => linalg.cholesky(T.tensor([[1, 2], [2, 1]])),
      /linalg\.cholesky: a is not positive-definite \(its leading minor of order 2 is not\)/,
    ],
    [
      () => linalg.cholesky(a, { lower: true } as never),
      /linalg\.cholesky: unknown option/,
    ],
    [
      () => linalg.cholesky(a, { upper: 1 } as never),
      /linalg\.cholesky: options\.upper must be a boolean, got 1$/,
    ],
    [
      () => linalg.solveTriangular(a, b, {} as never),
      /linalg\.solveTriangular: options\.upper .* is required/,
    ],
    [
      () => linalg.solveTriangular(a, T.ones([3]), { upper: true }),
      /linalg\.solveTriangular: b must have at least 2 axes/,
    ],
    [
      () => linalg.solveTriangular(a, b, { upper: true, left: false }),
      /linalg\.solveTriangular: b must have 3 rows to match a/,
    ],
    [
      () => linalg.eigh(T.ones([2, 3])),
      /linalg\.eigh: a must be a square matrix/,
    ],
    [
      () => linalg.eigvalsh(T.ones([3, 3], { dtype: "int32" })),
      /linalg\.eigvalsh: a must be float32 or float64, got int32/,
    ],
    [() => linalg.qr(T.ones([3])), /linalg\.qr: a must have at least 2 axes/],
    [
      () => linalg.qr(a, { mode: "r" } as never),
      /linalg\.qr: options\.mode must be "reduced" or "complete", got string r/,
    ],
    [
      () => linalg.svd(a, { fullMatrices: "yes" } as never),
      /linalg\.svd: options\.fullMatrices must be a boolean/,
    ],
    [
      () => linalg.svdvals(T.ones([2])),
      /linalg\.svdvals: a must have at least 2 axes/,
    ],
    [
      () => linalg.pinv(a, { rtol: -1 }),
      /linalg\.pinv: options\.rtol must be a number >= 0, got number -1/,
    ],
    [
      () => linalg.matrixRank(a, { tol: 1 } as never),
      /linalg\.matrixRank: unknown option/,
    ],
    [
      () => linalg.matrixPower(a, 1.5),
      /linalg\.matrixPower: n must be an integer, got number 1\.5/,
    ],
    [
      () => linalg.matrixPower(T.ones([2, 3]), 2),
      /linalg\.matrixPower: a must be a square matrix/,
    ],
    [
      () => linalg.matrixNorm(a, { ord: 3 }),
      /linalg\.matrixNorm: options\.ord must be "fro", "nuc", 2, -2, 1, -1, Infinity or -Infinity, got number 3/,
    ],
    [
      () => linalg.lstsq(a, T.ones([2, 2])),
      /linalg\.lstsq: b must have 3 rows to match a/,
    ],
    [
      () => linalg.lstsq(a, b, { rcond: "x" } as never),
      /linalg\.lstsq: options\.rcond must be a number >= 0/,
    ],
    [
      () => linalg.cond(a, { p: 3 }),
      /linalg\.cond: options\.p must be 2, -2, "fro", "nuc", 1, -1, Infinity or -Infinity, got number 3/,
    ],
    [
      () => linalg.cond(T.ones([2, 3]), { p: 1 }),
      /linalg\.cond: a must be a square matrix/,
    ],
    [
      () => linalg.cross(T.ones([2]), T.ones([3])),
      /linalg\.cross: a must have size 3 along axis -1, got shape \[2\]/,
    ],
    [
      () => linalg.cross(T.ones([3]), T.ones([3]), { axis: 1 }),
      /linalg\.cross: options\.axis number 1 is out of range for a of shape \[3\]/,
    ],
    [
      () => linalg.multiDot([T.ones([2, 3])]),
      /linalg\.multiDot: tensors must be an array of at least 2 tensors/,
    ],
    [
      () => linalg.multiDot([T.ones([2, 3]), T.ones([2, 3])]),
      /linalg\.multiDot: tensors\[0\] and tensors\[1\] do not chain \(shapes \[2,3\] and \[2,3\]\)/,
    ],
    [
      () => linalg.multiDot([T.ones([2, 3]), T.ones([3]), T.ones([3, 3])]),
      /linalg\.multiDot: tensors\[1\] must be 2-D, got shape \[3\]/,
    ],
    [
      () => linalg.matrixExp(T.ones([2, 3])),
      /linalg\.matrixExp: a must be a square matrix/,
    ],
    [() => linalg.lu(T.ones([2, 3])), /linalg\.lu: a must be a square matrix/],
    // det's gradient a·det·a⁻ᵀ needs an invertible a (PyTorch 1.13 takes an SVD there)
    [
      () =>
        T.grad((m: Tensor) => linalg.det(m))(T.tensor([[1, 2], [2, 4]], f64)),
      /^Error: backward of linalg\.det: the matrix a is singular/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});
