/**
 * The special functions and the other ops of ops/special.ts against
 * PyTorch 1.13 (tests/fixtures/special.json, written by
 * tests/fixtures/gen_special.py): values in ulps per op and dtype,
 * gradients by a cotangent and double backward; closed forms and
 * identities; jit and vmap; cdist's gradient at zero distance and ties;
 * errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";
import {
  fixtureNumber,
  type FixtureTensor,
  fixtureTensor,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/special.json" with { type: "json" };

type Json = { shape: number[]; dtype: string; data: (number | string)[] };

const num = fixtureNumber;
const ten = (j: Json): Tensor => fixtureTensor(j as FixtureTensor);
// deno-lint-ignore no-explicit-any
const f64 = (v: any) => T.tensor(v, { dtype: "float64" });

/**
 * The distance in ulps of the dtype between a and b: 0 for the same value
 * (NaN and NaN included), Infinity when only one is finite or NaN, 1 for
 * 0 against -0.
 */
function ulps(a: number, b: number, dtype: string): number {
  if (Number.isNaN(a) || Number.isNaN(b)) {
    return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  }
  if (a === b) return Object.is(a, b) ? 0 : 1;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  if (dtype === "float32") {
    const i = new Int32Array(new Float32Array([a, b]).buffer);
    const key = (k: number) => (k < 0 ? -(k & 0x7fffffff) - 1 : k);
    return Math.abs(key(i[0]) - key(i[1]));
  }
  const i = new BigInt64Array(new Float64Array([a, b]).buffer);
  const key = (k: bigint) => (k < 0n ? -(k & 0x7fffffffffffffffn) - 1n : k);
  const d = key(i[0]) - key(i[1]);
  return Number(d < 0n ? -d : d);
}

/** The largest ulp distance of got from want, and where (with x). */
function worstUlps(
  got: Tensor,
  want: Tensor,
  x: Tensor,
  keep: (xi: number) => boolean = () => true,
): { worst: number; msg: string } {
  assert.deepEqual(got.shape, want.shape);
  assert.equal(got.dtype, want.dtype);
  let worst = 0, msg = "";
  for (let i = 0; i < got.data.length; i++) {
    if (!keep(x.data[i])) continue;
    const d = ulps(got.data[i], want.data[i], got.dtype);
    if (d > worst) {
      worst = d;
      msg = `x = ${x.data[i]}: ${got.data[i]}, PyTorch ${want.data[i]}`;
    }
  }
  return { worst, msg };
}

// ---------------------------------------------------------------------------
// the special functions against PyTorch

type Unary = (typeof fixture.unary)[number];
const unaryOf = (r: Unary) => (x: Tensor): Tensor =>
  r.op === "polygamma"
    ? T.polygamma(r.n!, x)
    : (T[r.op as "lgamma" | "digamma" | "erfinv"])(x);

/**
 * The ulps reached against PyTorch, per op and dtype: digamma and
 * polygamma run PyTorch's kernels step by step (float32 too), so they give
 * its bits except trigamma's float32 reflection (sinf); lgamma is fdlibm's
 * (glibc's lgamma and lgammaf differ by an ulp here and there, and below
 * -2 glibc's lgamma_neg differs near lgamma's zeros); erfinv's Newton steps
 * divide erf's last-bit differences to glibc's by erf'(x).
 */
const ulpBudget: Record<string, number> = {
  "lgamma float64": 1,
  "lgamma float32": 1,
  "digamma float64": 0,
  "digamma float32": 0,
  "polygamma 1 float64": 0,
  "polygamma 1 float32": 2,
  "polygamma 2 float64": 0,
  "polygamma 2 float32": 0,
  "polygamma 3 float64": 0,
  "polygamma 3 float32": 0,
  "polygamma 4 float64": 0,
  "polygamma 4 float32": 0,
  "erfinv float64": 8,
  "erfinv float32": 2,
};

for (const r of fixture.unary) {
  const name = `${r.op}${r.n === null ? "" : ` ${r.n}`} ${r.dtype}`;
  Deno.test(`PyTorch: ${name} within ${ulpBudget[name]} ulps at ${r.x.data.length} points (poles, ±inf, NaN exact)`, () => {
    const x = ten(r.x), want = ten(r.y);
    const got = unaryOf(r)(x);
    // lgamma's negative arguments: fdlibm's reflection, not glibc's
    // lgamma_neg, so near its zeros (-2.46, -3.15, ...) an absolute error
    // of 1e-16 · lgamma's size (tested below)
    const keep = r.op === "lgamma" && r.dtype === "float64"
      ? (v: number) => !(v < -2)
      : undefined;
    const { worst, msg } = worstUlps(got, want, x, keep);
    assert.ok(worst <= ulpBudget[name], `${worst} ulps at ${msg}`);
    if (keep) {
      assertAllClose(got, want, { atol: 1e-15, rtol: 4e-16 });
    }
  });

  Deno.test(`PyTorch: the gradient of ${name} by a cotangent${r.dtype === "float64" ? ", and double backward" : ""}`, () => {
    const x = ten(r.gx), v = ten(r.v);
    const f = unaryOf(r);
    const [, back] = T.vjp(f, x);
    const g1 = back(v)[0];
    const tol = r.dtype === "float64"
      ? { atol: 0, rtol: 1e-14 }
      : { atol: 0, rtol: 4e-6 };
    assertAllClose(g1, ten(r.g1), tol);
    if (r.g2) {
      const u = ten(r.u!);
      const g2 = T.grad((xx: Tensor) => T.sum(T.mul(T.vjp(f, xx)[1](v)[0], u)))(
        x,
      );
      assertAllClose(g2, ten(r.g2), { atol: 0, rtol: 1e-13 });
    }
  });
}

// ---------------------------------------------------------------------------
// the compositions against PyTorch

type Case = (typeof fixture.cases)[number];
// deno-lint-ignore no-explicit-any
const arg = (a: any): Tensor | number => typeof a === "number" ? a : ten(a);

/** The op of a case, on tensors (the cotangent's differentiable arguments). */
function run(c: Case, args: (Tensor | number)[]): Tensor {
  const k = c.kwargs as Record<string, number | string>;
  const [a, b, w] = args;
  switch (c.op) {
    case "lerp":
      return T.lerp(a as Tensor, b as Tensor, w);
    case "logit":
      return T.logit(a as Tensor, "eps" in k ? { eps: k.eps as number } : {});
    case "heaviside":
      return T.heaviside(a as Tensor, b);
    case "copysign":
      return T.copysign(a, b);
    case "fmin":
      return T.fmin(a, b);
    case "fmax":
      return T.fmax(a, b);
    case "sinc":
      return T.sinc(a as Tensor);
    case "frac":
      return T.frac(a as Tensor);
    case "cdist":
      return T.cdist(a as Tensor, b as Tensor, {
        p: num(k.p),
        ...(k.compute_mode
          ? { computeMode: k.compute_mode as T.CdistOptions["computeMode"] }
          : {}),
      });
  }
  throw new Error(`unknown op ${c.op}`);
}

/**
 * The ulps each of the other ops reaches against PyTorch: lerp (its fused
 * multiply-adds), logit, heaviside, copysign, fmin, fmax and frac its bits;
 * sinc float32 PyTorch's sinf to an ulp or two; cdist float64 within an
 * ulp, float32 two (the order of its sums); cdist's matrix form (p = 2, more
 * than 25 rows) to an absolute error of the square root of ulps of the
 * squared norms, checked separately.
 */
const caseBudget: Record<string, number> = {
  lerp: 0,
  heaviside: 0,
  copysign: 0,
  fmin: 0,
  fmax: 0,
  frac: 0,
  logit: 0,
  sinc: 2,
  cdist: 2,
};

for (const op of Object.keys(caseBudget)) {
  Deno.test(`PyTorch: ${op} (float64 and float32) within ${caseBudget[op]} ulps, and its gradient by a cotangent`, () => {
    const cases = fixture.cases.filter((c) => c.op === op);
    assert.ok(cases.length > 0);
    for (const [i, c] of cases.entries()) {
      const args = c.args.map(arg);
      const got = run(c, args);
      const want = ten(c.out);
      const label = `${op} case ${i} (${c.dtype}, ${JSON.stringify(c.kwargs)})`;
      assert.deepEqual(got.shape, want.shape, label);
      assert.equal(got.dtype, want.dtype, label);
      const mm = op === "cdist" && got.shape.at(-2)! > 25 ||
        (c.kwargs as Record<string, string>).compute_mode ===
          "use_mm_for_euclid_dist";
      if (mm) {
        // ‖a‖² + ‖b‖² - 2a·b by a matrix product (PyTorch's BLAS fuses its
        // multiply-adds, ours rounds each product): near zero distance the
        // square root of a few ulps of ‖a‖² (~30 here)
        assertAllClose(got, want, {
          atol: c.dtype === "float64" ? 1e-7 : 3e-3,
          rtol: c.dtype === "float64" ? 1e-14 : 1e-6,
          msg: label,
        });
      } else {
        const { worst, msg } = worstUlps(got, want, got);
        assert.ok(worst <= caseBudget[op], `${label}: ${worst} ulps (${msg})`);
      }
      // (float32's matrix form: 1/distance at a duplicate point is that
      // rounding's, not PyTorch's exact 0)
      if (mm && c.dtype === "float32") continue;
      if (!c.grads) continue;
      const diff = c.grads.flatMap((g, j) => (g ? [j] : []));
      const f = (...xs: Tensor[]) => {
        const all = [...args];
        diff.forEach((j, k) => (all[j] = xs[k]));
        return run(c, all);
      };
      const [, back] = T.vjp(f, ...diff.map((j) => args[j] as Tensor));
      const gs = back(ten(c.v!));
      diff.forEach((j, k) => {
        assertAllClose(gs[k], ten(c.grads![j]!), {
          atol: c.dtype === "float64" ? 1e-13 : mm ? 1e-3 : 1e-5,
          rtol: c.dtype === "float64" ? 1e-12 : 1e-5,
          msg: `${label}: the gradient of argument ${j}`,
        });
      });
    }
  });
}

// ---------------------------------------------------------------------------
// closed forms and identities

Deno.test("lgamma, digamma, polygamma: closed forms (factorials, Euler's γ, ζ values, the recurrences)", () => {
  const n = [1, 2, 3, 4, 5, 10, 20];
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  // lgamma(n) = log((n - 1)!), lgamma(1/2) = log √π
  assertAllClose(T.lgamma(f64([...n, 0.5])), [
    ...n.map((k) => Math.log(fact(k - 1))),
    Math.log(Math.sqrt(Math.PI)),
  ], { atol: 0, rtol: 4e-16 });
  const gamma = 0.5772156649015329;
  // ψ(1) = -γ, ψ(1/2) = -γ - 2 ln 2, ψ(x + 1) = ψ(x) + 1/x
  assertAllClose(T.digamma(f64([1, 0.5])), [-gamma, -gamma - 2 * Math.LN2], {
    atol: 0,
    rtol: 4e-16,
  });
  const x = f64([0.3, 1.7, 4.2, 12.5, 33]);
  assertAllClose(
    T.digamma(T.add(x, 1)),
    T.add(T.digamma(x), T.div(1, x)),
    { atol: 1e-15, rtol: 1e-15 },
  );
  // ψ'(1) = π²/6, ψ''(1) = -2ζ(3), ψ'''(1) = π⁴/15, ψ'(1/2) = π²/2 (to
  // 5e-10: PyTorch's trigamma, 6 steps of the recurrence and 4 terms of
  // the asymptotic series, gives 4.934802202073678 and 1.6449340676383375,
  // as this does)
  const zeta3 = 1.2020569031595942;
  assertAllClose(T.polygamma(1, f64([1, 0.5])), [
    Math.PI ** 2 / 6,
    Math.PI ** 2 / 2,
  ], {
    atol: 0,
    rtol: 6e-10,
  });
  assertAllClose(T.polygamma(2, f64([1])), [-2 * zeta3], {
    atol: 0,
    rtol: 1e-15,
  });
  assertAllClose(T.polygamma(3, f64([1])), [Math.PI ** 4 / 15], {
    atol: 0,
    rtol: 1e-15,
  });
  // polygamma(0) is digamma; reflection ψ(1 - x) - ψ(x) = π cot(πx)
  sameBits(T.polygamma(0, x), T.digamma(x), "polygamma(0, x)");
  const y = f64([0.1, 0.3, 0.45]);
  assertAllClose(
    T.sub(T.digamma(T.sub(1, y)), T.digamma(y)),
    T.div(Math.PI, T.tan(T.mul(y, Math.PI))),
    { atol: 1e-14, rtol: 1e-14 },
  );
});

Deno.test("lgamma, digamma, polygamma: poles and infinities as PyTorch", () => {
  assert.deepEqual(
    T.toArray(T.lgamma(f64([0, -0, -1, -2, Infinity, -Infinity, NaN]))),
    [Infinity, Infinity, Infinity, Infinity, Infinity, Infinity, NaN],
  );
  assert.deepEqual(
    T.toArray(T.digamma(f64([0, -0, -1, -2, Infinity, -Infinity, NaN]))),
    [-Infinity, Infinity, NaN, NaN, Infinity, NaN, NaN],
  );
  // polygamma(n >= 2) at 0 and the negative integers: ±inf (ζ's pole)
  assert.deepEqual(T.toArray(T.polygamma(2, f64([0, -1]))), [
    -Infinity,
    -Infinity,
  ]);
  assert.deepEqual(T.toArray(T.polygamma(3, f64([0, -1]))), [
    Infinity,
    Infinity,
  ]);
  assert.deepEqual(T.toArray(T.polygamma(1, f64([0, -0]))), [
    Infinity,
    Infinity,
  ]);
});

Deno.test("erfinv: inverts erf, ±inf at ±1, NaN outside, odd bit for bit, its derivative √π/2·exp(erfinv²)", () => {
  const x = f64(Array.from({ length: 199 }, (_, i) => -0.99 + i * 0.01));
  assertAllClose(T.erf(T.erfinv(x)), x, { atol: 2e-16, rtol: 2e-16 });
  sameBits(T.erfinv(T.neg(x)), T.neg(T.erfinv(x)), "erfinv(-x)");
  assert.deepEqual(
    T.toArray(T.erfinv(f64([1, -1, 1.5, -2, NaN, 0, -0]))),
    [Infinity, -Infinity, NaN, NaN, NaN, 0, -0],
  );
  const g = T.grad((t: Tensor) => T.sum(T.erfinv(t)))(x);
  // the inverse function's derivative 1 / erf'(erfinv x)
  const y = T.erfinv(x);
  const dErf = T.mul(T.exp(T.neg(T.square(y))), 2 / Math.sqrt(Math.PI));
  assertAllClose(g, T.div(1, dErf), { atol: 0, rtol: 1e-14 });
});

Deno.test("lerp, logit, sinc, frac, heaviside, copysign, fmin, fmax: closed forms and edge values", () => {
  const a = f64([0, 10, -4]), b = f64([4, 20, 4]);
  // lerp's ends and middle, both forms
  sameBits(T.lerp(a, b, 0), a, "lerp(., ., 0)");
  sameBits(T.lerp(a, b, 1), b, "lerp(., ., 1)");
  assert.deepEqual(T.toArray(T.lerp(a, b, 0.5)), [2, 15, 0]);
  assert.deepEqual(T.toArray(T.lerp(a, b, f64([0.25, 0.75, 2]))), [
    1,
    17.5,
    12,
  ]);
  // int32 ends: float32
  assert.equal(
    T.lerp(
      T.tensor([0, 2], { dtype: "int32" }),
      T.tensor([4, 6], { dtype: "int32" }),
      0.5,
    ).dtype,
    "float32",
  );
  // logit inverts sigmoid; eps clamps
  const p = f64([0.1, 0.25, 0.5, 0.9]);
  assertAllClose(T.sigmoid(T.logit(p)), p, { atol: 0, rtol: 4e-16 });
  assert.deepEqual(
    T.toArray(T.logit(f64([0, 1, 0.5]), { eps: 0.25 })),
    [Math.log(1 / 3), Math.log(3), 0],
  );
  assert.deepEqual(T.toArray(T.logit(f64([-1, 2]))), [NaN, NaN]);
  // sinc at integers 0, at 0 one, its gradient at 0 zero
  assert.deepEqual(T.toArray(T.sinc(f64([0, -0]))), [1, 1]);
  assert.ok(
    (T.toArray(T.sinc(f64([1, 2, -3]))) as number[]).every((v: number) =>
      Math.abs(v) < 1e-16
    ),
  );
  assert.equal(T.item(T.grad((t: Tensor) => T.sum(T.sinc(t)))(f64([0]))), 0);
  // frac keeps the sign (-0 - trunc(-0) is +0, as PyTorch's); NaN at
  // ±inf; int32 gives zeros
  assert.deepEqual(T.toArray(T.frac(f64([2.5, -2.5, Infinity, -0]))), [
    0.5,
    -0.5,
    NaN,
    0,
  ]);
  assert.deepEqual(T.toArray(T.frac(T.tensor([3, -4], { dtype: "int32" }))), [
    0,
    0,
  ]);
  // heaviside: 0 below, values at ±0, 1 above, 0 at NaN
  assert.deepEqual(
    T.toArray(T.heaviside(f64([-1, -0, 0, 2, NaN]), f64([7]))),
    [0, 7, 7, 1, 0],
  );
  assert.equal(
    T.heaviside(T.tensor([1], { dtype: "int32" }), 2).dtype,
    "int32",
  );
  // copysign: -0 and NaN's sign bits
  assert.deepEqual(
    T.toArray(T.copysign(f64([1, 1, -2, NaN]), f64([-0, 0, Infinity, -1]))),
    [-1, 1, 2, NaN],
  );
  assert.ok(Object.is(T.item(T.copysign(f64([0]), f64([-3]))), -0));
  assert.equal(
    T.copysign(T.tensor([1], { dtype: "int32" }), -1).dtype,
    "float32",
  );
  // fmin/fmax: NaN only where both are
  assert.deepEqual(
    T.toArray(T.fmax(f64([NaN, 1, NaN, -0]), f64([2, NaN, NaN, 0]))),
    [2, 1, NaN, -0],
  );
  assert.deepEqual(
    T.toArray(T.fmin(f64([NaN, 1, NaN, 0]), f64([2, NaN, NaN, -0]))),
    [2, 1, NaN, 0],
  );
  assert.equal(
    T.fmin(T.tensor([1], { dtype: "int32" }), T.tensor([2], { dtype: "int32" }))
      .dtype,
    "int32",
  );
});

// ---------------------------------------------------------------------------
// cdist

Deno.test("cdist: closed forms for each p, batches broadcast, the matrix form agrees", () => {
  const a = f64([[0, 0], [1, 2]]), b = f64([[3, 4], [1, 2], [1, -2]]);
  // differences: a0-b = (-3,-4), (-1,-2), (-1,2); a1-b = (-2,-2), (0,0), (0,4)
  assert.deepEqual(T.toArray(T.cdist(a, b, { p: 0 })), [[2, 2, 2], [2, 0, 1]]);
  assert.deepEqual(T.toArray(T.cdist(a, b, { p: 1 })), [[7, 3, 3], [4, 0, 4]]);
  assert.deepEqual(T.toArray(T.cdist(a, b, { p: Infinity })), [[4, 2, 2], [
    2,
    0,
    4,
  ]]);
  assertAllClose(T.cdist(a, b), [[5, Math.sqrt(5), Math.sqrt(5)], [
    Math.sqrt(8),
    0,
    4,
  ]], {
    atol: 0,
    rtol: 2e-16,
  });
  assertAllClose(T.cdist(a, b, { p: 3 }), [[
    91 ** (1 / 3),
    9 ** (1 / 3),
    9 ** (1 / 3),
  ], [16 ** (1 / 3), 0, 4]], {
    atol: 0,
    rtol: 4e-16,
  });
  assertAllClose(
    T.cdist(a, b, { computeMode: "use_mm_for_euclid_dist" }),
    T.cdist(a, b),
    { atol: 1e-7, rtol: 1e-15 },
  );
  // a batch of 2 against one x2: each example's own distances
  const batch = T.stack([a, T.neg(a)]);
  const d = T.cdist(batch, b);
  assert.deepEqual(d.shape, [2, 2, 3]);
  sameBits(
    T.slice(d, [0, 0, 0], [1, 2, 3]),
    T.expandDims(T.cdist(a, b), 0),
    "example 0",
  );
  sameBits(
    T.slice(d, [1, 0, 0], [2, 2, 3]),
    T.expandDims(T.cdist(T.neg(a), b), 0),
    "example 1",
  );
  // no rows, no features
  assert.deepEqual(T.cdist(T.zeros([0, 2], { dtype: "float64" }), b).shape, [
    0,
    3,
  ]);
  assert.deepEqual(
    T.toArray(T.cdist(T.zeros([2, 0]), T.zeros([1, 0]), { p: Infinity })),
    [[0], [0]],
  );
});

Deno.test("cdist: the gradient at zero distance is 0 for every p (PyTorch's), and p = Infinity's ties each get it whole", () => {
  const a = f64([[1, 2], [0, 0]]), b = f64([[1, 2]]);
  for (
    const o of [{ p: 0.5 }, { p: 1 }, { p: 1.5 }, { p: 2 }, { p: 3 }, {
      p: Infinity,
    }, { p: 2, computeMode: "use_mm_for_euclid_dist" as const }]
  ) {
    const [ga, gb] = T.grad((x: Tensor, y: Tensor) => T.sum(T.cdist(x, y, o)), {
      argnums: [0, 1],
    })(a, b);
    const row0 = (T.toArray(ga) as number[][])[0];
    assert.deepEqual(row0, [0, 0], `p = ${o.p}: ${row0}`);
    assert.ok(
      (T.toArray(gb) as number[][])[0].every(Number.isFinite),
      `p = ${o.p}`,
    );
  }
  // ties: |(3, -3)| both the largest: each coordinate gets ±1
  const g = T.grad((x: Tensor) =>
    T.sum(T.cdist(x, f64([[0, 0]]), { p: Infinity }))
  )(f64([[3, -3]]));
  assert.deepEqual(T.toArray(g), [[1, -1]]);
  // p = 0 has no gradient
  const g0 = T.grad((x: Tensor) => T.sum(T.cdist(x, f64([[0, 1]]), { p: 0 })))(
    f64([[3, -3]]),
  );
  assert.deepEqual(T.toArray(g0), [[0, 0]]);
});

// ---------------------------------------------------------------------------
// jit, vmap, dtypes

Deno.test("jit replays every op with eager's bits (float32 and float64), and vmap maps each example", () => {
  const ops: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ["lgamma", (x) => T.lgamma(T.mul(x, 1))],
    ["digamma", (x) => T.digamma(T.mul(x, 1))],
    ["polygamma", (x) => T.add(T.polygamma(1, x), T.polygamma(3, x))],
    ["erfinv", (x) => T.erfinv(T.mul(x, 0.1))],
    ["logit", (x) => T.logit(T.mul(T.abs(x), 0.1), { eps: 0.05 })],
    ["sinc", (x) => T.sinc(T.mul(x, 1))],
    ["copysign", (x, y) => T.mul(T.copysign(x, y), 2)],
    ["lerp", (x, y) => T.lerp(x, y, T.mul(y, 0.2))],
    ["fmax", (x, y) => T.fmax(x, y)],
    [
      "cdist",
      (x, y) =>
        T.cdist(
          T.reshape(x, [4, 3]),
          T.reshape(y, [4, 3]),
          { p: 1.5 },
        ),
    ],
  ];
  const vals = (seed: number) =>
    Array.from({ length: 12 }, (_, i) => Math.sin(seed + i * 1.7) * 4);
  for (const dtype of ["float32", "float64"] as const) {
    const x = T.tensor(vals(1), { dtype }), y = T.tensor(vals(2), { dtype });
    for (const [name, f] of ops) {
      sameBits(T.jit(f)(x, y), f(x, y), `jit ${name} ${dtype}`);
      const xs = T.stack([x, y, T.neg(x)]), ys = T.stack([y, x, y]);
      const mapped = T.vmap(f)(xs, ys);
      for (let i = 0; i < 3; i++) {
        const xi = T.slice(xs, [i, 0], [i + 1, 12]),
          yi = T.slice(ys, [i, 0], [i + 1, 12]);
        const one = f(T.reshape(xi, [12]), T.reshape(yi, [12]));
        assertAllClose(
          T.reshape(
            T.slice(mapped, [
              i,
              ...one.shape.map(() => 0),
            ], [i + 1, ...one.shape]),
            one.shape,
          ),
          one,
          {
            atol: 0,
            rtol: dtype === "float32" ? 1e-6 : 1e-14,
            msg: `vmap ${name} ${dtype} example ${i}`,
          },
        );
      }
    }
  }
});

Deno.test("dtypes: int32 gives float32 for the float functions, float32 with float64 gives float64", () => {
  const i = T.tensor([1, 2, 3], { dtype: "int32" });
  for (
    const f of [
      T.lgamma,
      T.digamma,
      T.erfinv,
      T.sinc,
      T.logit,
      (x: Tensor) => T.polygamma(2, x),
    ]
  ) {
    assert.equal(f(i).dtype, "float32");
  }
  const a = T.tensor([1, 2, 3]), b = f64([3, 2, 1]);
  assert.equal(T.lerp(a, b, 0.3).dtype, "float64");
  assert.equal(T.fmin(a, b).dtype, "float64");
  assert.equal(
    T.cdist(T.reshape(a, [3, 1]), T.reshape(b, [3, 1])).dtype,
    "float64",
  );
  // float32 runs PyTorch's digamma(float), not the double one rounded:
  // torch.digamma(torch.tensor([1.0])).item() is -0.5772159099578857
  assert.equal(T.item(T.digamma(T.tensor([1]))), -0.5772159099578857);
});

// ---------------------------------------------------------------------------
// errors

Deno.test("errors: each op names itself, the argument, what it expected and what came", () => {
  const x = T.tensor([[1, 2]]);
  assertErrors("lgamma", [[
    () => T.lgamma([1] as never),
    /x must be a Tensor, got an array/,
  ]]);
  assertErrors("digamma", [[
    () => T.digamma(3 as never),
    /x must be a Tensor, got number 3/,
  ]]);
  assertErrors("erfinv", [[
    () => T.erfinv(null as never),
    /x must be a Tensor, got null/,
  ]]);
  assertErrors("polygamma", [
    [
      () => T.polygamma(-1, x),
      /n must be a non-negative integer, got number -1/,
    ],
    [
      () => T.polygamma(1.5, x),
      /n must be a non-negative integer, got number 1.5/,
    ],
    [
      () => T.polygamma(x as never, x),
      /n must be a non-negative integer, got Tensor/,
    ],
    [() => T.polygamma(1, "x" as never), /x must be a Tensor, got string/],
  ]);
  assertErrors("logit", [
    [
      () => T.logit(x, { eps: "a" as never }),
      /eps must be a number, got string a/,
    ],
    [() => T.logit(x, { epsilon: 1 } as never), /unknown option "epsilon"/],
  ]);
  assertErrors("lerp", [
    [
      () => T.lerp(x, T.tensor([1, 2, 3]), 0.5),
      /cannot broadcast start \[1,2\], end \[3\]/,
    ],
    [
      () => T.lerp(x, x, "w" as never),
      /weight must be a Tensor or a number, got string w/,
    ],
    [() => T.lerp(x, x, T.tensor([1, 2, 3])), /and weight \[3\]/],
    [
      () => T.lerp(undefined as never, x, 1),
      /start must be a Tensor, got undefined/,
    ],
  ]);
  assertErrors("heaviside", [
    [
      () => T.heaviside(x, "v" as never),
      /values must be a Tensor or a number, got string v/,
    ],
    [() => T.heaviside(x, T.tensor([1, 2, 3])), /cannot broadcast/],
  ]);
  assertErrors("copysign", [[
    () => T.copysign(x, {} as never),
    /b must be a Tensor or a number, got an object/,
  ]]);
  assertErrors("fmin", [[
    () => T.fmin(x, T.tensor([1, 2, 3])),
    /cannot broadcast/,
  ]]);
  assertErrors("fmax", [[
    () => T.fmax(null as never, x),
    /a must be a Tensor or a number, got null/,
  ]]);
  assertErrors("sinc", [[
    () => T.sinc(undefined as never),
    /x must be a Tensor, got undefined/,
  ]]);
  assertErrors("frac", [[
    () => T.frac(1 as never),
    /x must be a Tensor, got number 1/,
  ]]);
  assertErrors("cdist", [
    [
      () => T.cdist(T.tensor([1, 2]), x),
      /x1 must have at least 2 dims \(\[\.\.\., rows, features\]\), got \[2\]/,
    ],
    [
      () => T.cdist(x, T.tensor([[1, 2, 3]])),
      /same number of features \(last dim\), got x1 \[1,2\] and x2 \[1,3\]/,
    ],
    [
      () => T.cdist(T.tensor([1, 2], { dtype: "int32", shape: [1, 2] }), x),
      /x1 must be float32 or float64, got int32 \[1,2\]/,
    ],
    [
      () => T.cdist(x, x, { p: -1 }),
      /p must be a number >= 0 \(or Infinity\), got number -1/,
    ],
    [() => T.cdist(x, x, { p: NaN }), /p must be a number >= 0/],
    [
      () => T.cdist(x, x, { computeMode: "fast" as never }),
      /computeMode must be one of .*got string fast/,
    ],
    [
      () => T.cdist(T.zeros([2, 1, 2]), T.zeros([3, 1, 2])),
      /batch dims of x1 \[2,1,2\] and x2 \[3,1,2\] do not broadcast/,
    ],
    [() => T.cdist(x, x, { q: 1 } as never), /unknown option "q"/],
  ]);
});
