/**
 * Elementwise math (ops/math.ts) against PyTorch 1.13
 * (tests/fixtures/math.json, written by tests/fixtures/gen_math.py): every op
 * in float32, float64 and int32 on edge values (±0, ±inf, NaN, halves, ±1,
 * large and tiny) and on random values with their gradients, to a stated
 * number of ulps per op; then identities, dtypes and error messages.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/math.json" with { type: "json" };
import { fixtureTensor as toT } from "./_fixture_cases.ts";

type Num = number | string;
type J = { shape: number[]; dtype: string; data: Num[] };

/** Distance in units in the last place of `dtype` (0 for equal values and for two NaNs). */
function ulps(a: number, b: number, dtype: string): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === b) return Infinity; // -0 vs 0 too
  if (dtype === "int32") return Infinity;
  const f64 = dtype === "float64";
  const bits = new DataView(new ArrayBuffer(8));
  // the IEEE bit patterns as a monotone integer line
  const key = (v: number): bigint => {
    let k: bigint;
    if (f64) {
      bits.setFloat64(0, v);
      k = bits.getBigInt64(0);
      return k < 0n ? -(2n ** 63n) - k : k;
    }
    bits.setFloat32(0, v);
    k = BigInt(bits.getInt32(0));
    return k < 0n ? -(2n ** 31n) - k : k;
  };
  const d = key(a) - key(b);
  return Number(d < 0n ? -d : d);
}

/**
 * Allowed ulps per op (float32, float64); ops not listed are exact. PyTorch's
 * x86 kernels are SLEEF's 1-ulp functions (float32 computed in float32); ours
 * are V8's float64 functions rounded once to float32. erf in float64 is the
 * library's own series / continued fraction (`erfScalar`).
 */
const TOL: Record<string, [number, number]> = {
  sin: [1, 1],
  cos: [1, 1],
  tan: [1, 1],
  asin: [1, 1],
  acos: [1, 1],
  atan: [1, 1],
  atan2: [1, 1],
  sinh: [1, 1],
  cosh: [1, 1],
  log2: [1, 1],
  log1p: [1, 1],
  erf: [1, 10],
  logaddexp: [2, 2], // in ulps of max(|max(a, b)|, 1): see the binary cases
  hypot: [0, 2],
};

/**
 * PyTorch's sinh and cosh overflow to ±inf where the result still fits
 * (float32 from |x| ≈ 88.7, float64 from |x| ≈ 709.8: e^x / 2 made as e^x
 * first); ours is the finite value.
 */
const overflowsInTorch = (op: string, got: number, want: number) =>
  (op === "sinh" || op === "cosh") && Math.abs(want) === Infinity &&
  Math.sign(got) === Math.sign(want) && Math.abs(got) > 1e38;

/** One unit in the last place of `dtype` at magnitude `m`. */
const ulpAt = (m: number, dtype: string) =>
  2 ** (Math.floor(Math.log2(m)) - (dtype === "float32" ? 23 : 52));

/**
 * `got` against PyTorch's `want` within the op's ulps; with `mag`, ulps
 * of those magnitudes (where the formula's terms are larger than its
 * result and cancel: logaddexp's max(a, b)).
 */
function assertUlps(
  op: string,
  got: Tensor,
  want: Tensor,
  x: Tensor,
  msg: string,
  mag?: Tensor,
) {
  assert.equal(got.dtype, want.dtype, `${msg}: dtype`);
  assert.deepEqual(got.shape, want.shape, `${msg}: shape`);
  const tol = want.dtype === "int32"
    ? 0
    : (TOL[op] ?? [0, 0])[want.dtype === "float32" ? 0 : 1];
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i], w = want.data[i];
    if (overflowsInTorch(op, g, w)) continue;
    const m = mag?.data[i] ?? 0;
    const u = mag && Number.isFinite(m) && m > Math.abs(w) &&
        Number.isFinite(g) && Number.isFinite(w)
      ? Math.abs(g - w) / ulpAt(m, want.dtype)
      : ulps(g, w, want.dtype);
    if (u > tol) {
      assert.fail(
        `${msg}: at x = ${
          x.data[i % x.data.length]
        } got ${g}, PyTorch ${w} (${u} ulps, allowed ${tol})`,
      );
    }
  }
}

type Unary = (x: Tensor) => Tensor;
const unaryOps = T as unknown as Record<string, Unary>;
const gradTol = (dtype: string) =>
  dtype === "float32"
    ? { atol: 1e-6, rtol: 1e-5 }
    : { atol: 1e-14, rtol: 1e-12 };

type UnaryCase = {
  op: string;
  dtype: string;
  kind: string;
  x: J;
  out: J;
  grad: J | null;
};
Deno.test("PyTorch: elementwise math, values and gradients (float32, float64, int32)", async (t) => {
  for (const c of fixture.unary as UnaryCase[]) {
    await t.step(`${c.op} ${c.kind} (${c.dtype})`, () => {
      const f = unaryOps[c.op], x = toT(c.x);
      assertUlps(c.op, f(x), toT(c.out), x, `${c.op} ${c.kind} ${c.dtype}`);
      if (c.grad) {
        const g = T.grad((v: Tensor) => T.sum(f(v)))(x);
        const want = toT(c.grad);
        assert.equal(g.dtype, want.dtype);
        assertAllClose(g, want, { ...gradTol(c.dtype), msg: `${c.op} grad` });
      }
    });
  }
});

type ClampCase = {
  dtype: string;
  min: number | null;
  max: number | null;
  x: J;
  out: J;
  grad: J | null;
};
Deno.test("PyTorch: clamp (one or two bounds, min > max, NaN, ±inf, int32)", async (t) => {
  for (const c of fixture.clamp as ClampCase[]) {
    await t.step(`clamp min ${c.min} max ${c.max} (${c.dtype})`, () => {
      const opts = {
        ...(c.min === null ? {} : { min: c.min }),
        ...(c.max === null ? {} : { max: c.max }),
      };
      const x = toT(c.x);
      assertUlps("clamp", T.clamp(x, opts), toT(c.out), x, "clamp");
      if (c.grad) {
        const g = T.grad((v: Tensor) => T.sum(T.clamp(v, opts)))(x);
        assert.deepEqual(g.data, toT(c.grad).data);
      }
    });
  }
});

type BinaryCase = {
  op: string;
  dtype: string;
  a: J;
  b: J;
  out: J;
  grads: J[] | null;
};
Deno.test("PyTorch: atan2, logicalAnd, logicalOr, remainder, fmod, floorDivide, logaddexp, xlogy, hypot (broadcasting, signed zeros, NaN, ±inf, int32)", async (t) => {
  const ops = T as unknown as Record<string, (a: Tensor, b: Tensor) => Tensor>;
  for (const c of fixture.binary as BinaryCase[]) {
    await t.step(`${c.op} ${c.grads ? "random" : "edges"} (${c.dtype})`, () => {
      const f = ops[c.op], a = toT(c.a), b = toT(c.b);
      const want = toT(c.out);
      // logaddexp: PyTorch 1.13 computes max(a, b) + log(1 + exp(-|a - b|)),
      // whose 1 + e rounds away an ulp of 1 (ours is log1p, as JAX's and
      // later PyTorch's: checked against exact values below), and max(a, b)
      // + ... cancels: ulps of max(|max(a, b)|, 1)
      const mag = c.op === "logaddexp"
        ? T.maximum(T.abs(T.maximum(a, b)), 1)
        : undefined;
      assertUlps(c.op, f(a, b), want, a, c.op, mag);
      if (c.grads) {
        const gs = T.grad((u: Tensor, v: Tensor) => T.sum(f(u, v)), {
          argnums: [0, 1],
        })(a, b);
        gs.forEach((g, i) =>
          assertAllClose(g, toT(c.grads![i]), {
            ...gradTol(c.dtype),
            msg: `${c.op} grad ${i}`,
          })
        );
      }
    });
  }
});

type IscloseCase =
  & { options: T.IscloseOptions }
  & Omit<BinaryCase, "grads" | "op">;
type NanToNumCase =
  & { options: T.NanToNumOptions }
  & Omit<UnaryCase, "kind" | "op">;
Deno.test("PyTorch: isclose (tolerances, infinities, NaN, int32) and nanToNum (defaults, options, gradient)", () => {
  for (const c of fixture.isclose as IscloseCase[]) {
    const got = T.isclose(toT(c.a), toT(c.b), c.options);
    assert.deepEqual(
      got.data,
      toT(c.out).data,
      `${c.dtype} ${JSON.stringify(c.options)}`,
    );
    assert.equal(
      T.item(T.allclose(toT(c.a), toT(c.b), c.options)),
      toT(c.out).data.every((v) => v === 1) ? 1 : 0,
    );
  }
  for (const c of fixture.nanToNum as NanToNumCase[]) {
    const x = toT(c.x), w = T.arange(1, 9, 1, { dtype: x.dtype });
    assertAllClose(T.nanToNum(x, c.options), toT(c.out), { atol: 0, rtol: 0 });
    assertAllClose(
      T.grad((v: Tensor) => T.sum(T.mul(T.nanToNum(v, c.options), w)))(x),
      toT(c.grad!),
      { atol: 0, rtol: 0 },
    );
  }
});

Deno.test("logaddexp: log1p keeps the small terms PyTorch 1.13's log(1 + e) rounds away", () => {
  const a = [-7.25, -20, -40, 0.5], b = [0, 0, -0, 0.5];
  const exact = a.map((x, i) => {
    const m = Math.max(x, b[i]);
    return m + Math.log1p(Math.exp(-Math.abs(x - b[i])));
  });
  assertAllClose(
    T.logaddexp(
      T.tensor(a, { dtype: "float64" }),
      T.tensor(b, { dtype: "float64" }),
    ),
    T.tensor(exact, { dtype: "float64" }),
    { atol: 0, rtol: 1e-15 },
  );
  // float32: within an ulp of the exact value (PyTorch 1.13: 7.09878e-4 for
  // the first, 6e-5 off; 0 for e^-20, where the value is 2.06e-9)
  const f32 = T.logaddexp(T.tensor(a), T.tensor(b));
  exact.forEach((e, i) =>
    assert.ok(ulps(f32.data[i], Math.fround(e), "float32") <= 1, `${a[i]}`)
  );
});

const f64 = (v: number[]) => T.tensor(v, { dtype: "float64" });
const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });

Deno.test("math: identities in float64", () => {
  const x = f64([-3.5, -1, -0.25, 0, 0.3, 1.7, 5]);
  const one = T.onesLike(x);
  const tight = { atol: 1e-15, rtol: 1e-14 };
  assertAllClose(T.add(T.square(T.sin(x)), T.square(T.cos(x))), one, tight);
  assertAllClose(
    T.sub(T.square(T.cosh(x)), T.square(T.sinh(x))),
    one,
    { atol: 1e-11, rtol: 0 },
  );
  assertAllClose(T.tan(x), T.div(T.sin(x), T.cos(x)), tight);
  assertAllClose(T.exp2(T.log2(T.abs(x))), T.abs(x), tight);
  assertAllClose(T.log10(T.exp2(x)), T.mul(x, Math.log10(2)), tight);
  assertAllClose(T.expm1(x), T.sub(T.exp(x), 1), tight);
  const u = f64([-1, -0.5, 0, 0.5, 1]);
  assertAllClose(
    T.add(T.asin(u), T.acos(u)),
    T.full([5], Math.PI / 2, { dtype: "float64" }),
    tight,
  );
  assertAllClose(T.atan(x), T.atan2(x, 1), { atol: 0, rtol: 0 });
  // rsqrt and reciprocal: the correctly rounded square root, then a quotient
  assert.deepEqual(
    T.rsqrt(T.tensor([2, 3, 1e-30])).data,
    Float32Array.from(
      [2, 3, 1e-30],
      (v) => Math.fround(1 / Math.fround(Math.sqrt(Math.fround(v)))),
    ),
  );
  // trunc = sign · floor(|x|); floor(-x) = -ceil(x)
  assertAllClose(T.trunc(x), T.mul(T.sign(x), T.floor(T.abs(x))), {
    atol: 0,
    rtol: 0,
  });
  assertAllClose(T.floor(T.neg(x)), T.neg(T.ceil(x)), { atol: 0, rtol: 0 });
});

Deno.test("math: round halves to even; rounding keeps signed zeros and int32", () => {
  assert.deepEqual(
    T.toArray(
      T.round(
        f64([
          0.5,
          1.5,
          2.5,
          3.5,
          -0.5,
          -1.5,
          -2.5,
          2 ** 52 + 1,
          0.49999999999999994,
        ]),
      ),
    ),
    [0, 2, 2, 4, -0, -2, -2, 2 ** 52 + 1, 0],
  );
  assert.ok(Object.is(T.round(f64([-0.4])).data[0], -0));
  assert.ok(Object.is(T.ceil(f64([-0.5])).data[0], -0));
  for (const f of [T.floor, T.ceil, T.round, T.trunc, T.sign]) {
    const y = f(i32([-3, 0, 4]));
    assert.equal(y.dtype, "int32");
  }
  assert.deepEqual(T.toArray(T.sign(i32([-3, 0, 4]))), [-1, 0, 1]);
});

Deno.test("math: dtypes: float functions of int32 give float32; tests and logical ops give int32", () => {
  const x = i32([1, 2]);
  for (
    const f of [
      T.sin,
      T.cos,
      T.tan,
      T.asin,
      T.acos,
      T.atan,
      T.sinh,
      T.cosh,
      T.log2,
      T.log10,
      T.log1p,
      T.expm1,
      T.exp2,
      T.rsqrt,
      T.reciprocal,
      T.erf,
    ]
  ) assert.equal(f(x).dtype, "float32", f.name);
  assert.equal(T.atan2(x, x).dtype, "float32");
  assert.equal(T.atan2(f64([1]), x).dtype, "float64");
  for (const f of [T.isNan, T.isFinite, T.logicalNot]) {
    assert.equal(f(f64([1])).dtype, "int32");
  }
  assert.equal(T.logicalAnd(f64([1]), 2).dtype, "int32");
  assert.deepEqual(
    T.toArray(T.logicalOr(T.tensor([[0], [1]]), T.tensor([0, 0.5]))),
    [[0, 1], [1, 1]],
  );
  assert.equal(T.clamp(x, { min: 0, max: 1 }).dtype, "int32");
  assert.equal(T.clamp(x, { min: 0.5 }).dtype, "float32");
  assert.deepEqual(T.toArray(T.isFinite(i32([-2147483648, 5]))), [1, 1]);
});

Deno.test("math: rounding, sign and the tests have zero gradient in both modes", () => {
  const x = f64([-1.5, 0.3, 2.7]);
  for (const f of [T.floor, T.ceil, T.round, T.trunc, T.sign]) {
    const g = T.grad((v: Tensor) => T.sum(T.mul(f(v), v)))(x);
    assert.deepEqual(g.data, f(x).data, f.name); // d(f(v)·v) = f(v)
    const [, t] = T.jvp(f, [x], [T.onesLike(x)]);
    assert.deepEqual(Array.from(t.data), [0, 0, 0], f.name);
  }
});

Deno.test("errors: math arguments", () => {
  const x = T.tensor([1, 2]);
  assert.throws(
    () => T.clamp(x),
    /clamp: at least one of min and max is required, got neither \(x Tensor float32 \[2\]\)/,
  );
  assert.throws(() => T.clamp(x, {}), /clamp: at least one of min and max/);
  assert.throws(
    () => T.clamp(x, { min: 0, lo: 1 } as never),
    /clamp: unknown option "lo" \(known options: min, max\)/,
  );
  assert.throws(
    () => T.clamp(x, { min: NaN }),
    /clamp: min must be a number \(not NaN\), got number NaN/,
  );
  assert.throws(
    () => T.clamp(x, { max: "1" as never }),
    /clamp: max must be a number \(not NaN\), got/,
  );
  assert.throws(
    () => T.clamp(i32([1]), { max: 2 ** 31 }),
    /clamp: max = 2147483648 is an integer outside int32's range/,
  );
  assert.throws(
    () => T.clamp([1, 2] as never, { min: 0 }),
    /clamp: x must be a Tensor/,
  );
  assert.throws(() => T.sin([1] as never), /sin: x must be a Tensor/);
  assert.throws(() => T.rsqrt(3 as never), /rsqrt: x must be a Tensor/);
  assert.throws(
    () => T.atan2(T.zeros([2, 3]), T.zeros([2])),
    /atan2: cannot broadcast a \[2,3\] with b \[2\]/,
  );
  assert.throws(
    () => T.logicalAnd(T.zeros([2, 3]), T.zeros([4])),
    /logicalAnd: cannot broadcast a \[2,3\] with b \[4\]/,
  );
  assert.throws(
    () => T.logicalNot(null as never),
    /logicalNot: x must be a Tensor/,
  );
});

Deno.test("xlogy's and remainder's derivatives are PyTorch 1.13's where x is 0 or the quotient's floor differs", () => {
  const f64 = { dtype: "float64" as const };
  // x = [0,0,0,0,0,0,0,2,2], y = [0,-0,-1,3,nan,inf,1e-300,0,-1] (float64):
  // torch.xlogy(x, y).sum().backward(): x.grad = [0, 0, 0, 1.0986, nan, inf,
  // -690.7755, -inf, nan], y.grad = [nan, nan, -0, 0, nan, 0, 0, inf, -2]
  const xs = [0, 0, 0, 0, 0, 0, 0, 2, 2];
  const ys = [0, -0, -1, 3, NaN, Infinity, 1e-300, 0, -1];
  const [gx, gy] = T.grad(
    (x: T.Tensor, y: T.Tensor) => T.sum(T.xlogy(x, y)),
    { argnums: [0, 1] },
  )(T.tensor(xs, f64), T.tensor(ys, f64)) as T.Tensor[];
  assert.deepEqual(Array.from(gx.data), [
    0,
    0,
    0,
    Math.log(3),
    NaN,
    Infinity,
    Math.log(1e-300),
    -Infinity,
    NaN,
  ]);
  assert.deepEqual(Array.from(gy.data), [
    NaN,
    NaN,
    -0,
    0,
    NaN,
    0,
    0,
    Infinity,
    -2,
  ]);
  // torch.remainder(a, b).sum().backward() with a = [-3, inf, 5.5],
  // b = [inf, 2, 2]: b.grad = [1, nan, -2] (-div(a, b, rounding_mode="floor"))
  const gb = T.grad((b: T.Tensor) =>
    T.sum(T.remainder(T.tensor([-3, Infinity, 5.5], f64), b))
  )(T.tensor([Infinity, 2, 2], f64)) as T.Tensor;
  assert.deepEqual(Array.from(gb.data), [1, NaN, -2]);
});
