/**
 * The elementwise ops (ops/elementwise.ts) against PyTorch 1.13: first the
 * bugs a probe found (each test fails without its fix), then the cases that
 * matched: values, gradients and forward-mode tangents of pow, where,
 * maximum and minimum and the unary ops at ±0, ±inf, NaN, ties and large |x|
 * in float64 and float32 (tests/fixtures/elementwise_probe.json, written by
 * tests/fixtures/gen_elementwise_probe.py), int32 arithmetic, second
 * derivatives against finite differences and vmap with one operand
 * unbatched.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import fixture from "./fixtures/elementwise_probe.json" with { type: "json" };
import {
  fixtureNumber as num,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";

type Num = number | string;
type J = { shape: number[]; dtype: T.DType; data: Num[] };
type Case = {
  op: string;
  name: string;
  dtype: T.DType;
  inputs: Record<string, J>;
  out: J;
  cot: J;
  grads: Record<string, J>;
  tangents?: Record<string, J>;
  jvp?: J;
};

const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });

/**
 * Asserts `actual` is `expected` elementwise: the same shape and dtype, NaN
 * where it is NaN, equal infinities, zeros of the same sign when `signs`,
 * else within `rtol` (relative) or 1e-300.
 */
function assertMatches(
  actual: Tensor,
  expected: J,
  rtol: number,
  signs: boolean,
  msg: string,
): void {
  assert.deepEqual(actual.shape, expected.shape, `${msg}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${msg}: dtype`);
  expected.data.forEach((v, i) => {
    const e = num(v), a = actual.data[i];
    const ok = Number.isNaN(e)
      ? Number.isNaN(a)
      : e === 0
      ? a === 0 && (!signs || Object.is(a, e))
      : a === e || Math.abs(a - e) <= rtol * Math.abs(e) ||
        Math.abs(a - e) <= 1e-300;
    const show = (v: number) => Object.is(v, -0) ? "-0" : String(v);
    assert.ok(ok, `${msg}: at ${i}, got ${show(a)}, expected ${show(e)}`);
  });
}

// ---------------------------------------------------------------------------
// bugs found and fixed

Deno.test("div (and xlogy, hypot) of int32 by int32 computes on their float32 roundings, as PyTorch", () => {
  // torch.div(i32([1105859001, 1961591395, -1701369578]),
  //           i32([798, 28, 100369000])).tolist()
  //   == [1385788.125, 70056840.0, -16.951147079467773]
  // (the float64 quotient rounded once gives 1385788.25, 70056832, -16.95114517211914)
  const y = T.div(
    i32([1105859001, 1961591395, -1701369578]),
    i32([798, 28, 100369000]),
  );
  assert.equal(y.dtype, "float32");
  assert.deepEqual(T.toArray(y), [1385788.125, 70056840, -16.951147079467773]);
  // and under jit, the same bits
  const jy = T.jit((a: Tensor, b: Tensor) => T.div(a, b))(
    i32([1105859001, 1961591395, -1701369578]),
    i32([798, 28, 100369000]),
  );
  assert.deepEqual(Array.from(jy.data), Array.from(y.data));
  // the other binary ops with a float result share the loop:
  // torch.xlogy(i32([1105859001, 16777217]), i32([798, 3])).tolist()
  //   == [7389469184.0, 18431656.0]
  const a = i32([1105859001, 16777217]), b = i32([798, 3]);
  assert.deepEqual(T.toArray(T.xlogy(a, b)), [7389469184, 18431656]);
  // (torch.hypot has no int32 kernel; of the float32 casts:)
  // torch.hypot(i32([1105859001, 16777217]).float(), i32([798, 3]).float()).tolist()
  //   == [1105858944.0, 16777216.0]
  assert.deepEqual(T.toArray(T.hypot(a, b)), [1105858944, 16777216]);
});

Deno.test("a binary op's wrong operand: the error says a Tensor or a number", () => {
  for (
    const [f, name] of [[T.add, "add"], [T.pow, "pow"], [T.less, "less"]] as [
      (a: T.Operand, b: T.Operand) => Tensor,
      string,
    ][]
  ) {
    assert.throws(
      () => f(T.tensor([1]), "2" as unknown as number),
      { message: `${name}: b must be a Tensor or a number, got string 2` },
    );
    assert.throws(
      () => f(undefined as unknown as number, 1),
      { message: `${name}: a must be a Tensor or a number, got undefined` },
    );
  }
  assert.throws(
    () => T.where(T.tensor([1]), null as unknown as number, 1),
    { message: "where: a must be a Tensor or a number, got null" },
  );
});

Deno.test("resultType takes tensors and weakly typed numbers, as torch.result_type", () => {
  const it = i32([1, 2]), f64 = T.tensor([1], { dtype: "float64" });
  // torch.result_type(i32([1, 2]), 2.5) == torch.float32 (the default float dtype)
  assert.equal(T.resultType(it, 2.5), "float32");
  assert.equal(T.resultType(0.5, it), "float32");
  // torch.result_type(i32([1, 2]), 2) == torch.int32
  assert.equal(T.resultType(it, 2), "int32");
  // torch.result_type(torch.tensor([1.], dtype=torch.float64), 2) == torch.float64
  assert.equal(T.resultType(f64, 2), "float64");
  assert.equal(T.resultType(it, f64), "float64");
  assert.equal(T.resultType("int32", "float32"), "float32");
  assert.equal(T.resultType("int32", 0.5), "float32");
  // the dtype of the op itself, for each case
  assert.equal(T.add(it, 2.5).dtype, T.resultType(it, 2.5));
  assert.equal(T.mul(2, it).dtype, T.resultType(2, it));
  // anything else is an error naming the argument (it returned int32 for these)
  assert.throws(
    () => T.resultType("float16" as T.DType, "int32"),
    {
      message:
        'resultType: a must be "float32", "float64", "int32", a Tensor or a number, got "float16"',
    },
  );
  assert.throws(
    () => T.resultType("int32", undefined as unknown as T.DType),
    /^Error: resultType: b must be .* got undefined$/,
  );
  assert.throws(
    () => T.resultType(it, 2 ** 40),
    /resultType: b = 1099511627776 is an integer outside int32's range/,
  );
});

Deno.test("a comparison too large to allocate is an error naming the comparison", () => {
  // 10^10 elements: past a typed array's length limit on every machine
  const [a, b] = [T.zeros([100000, 1]), T.zeros([1, 100000])];
  for (const [f, name] of [[T.less, "less"], [T.equal, "equal"]] as const) {
    assert.throws(
      () => f(a, b),
      new RegExp(`^Error: ${name}: cannot allocate the result of compare`),
    );
  }
});

// ---------------------------------------------------------------------------
// what matched PyTorch

type Fn = (inputs: Record<string, Tensor>) => Tensor;
const ops: Record<string, Fn> = {
  pow: ({ a, b }) => T.pow(a, b ?? exponentOf.current!),
  rpow: ({ b }) => T.pow(baseOf.current!, b),
  where: ({ cond, a, b }) => T.where(cond, a, b),
  whereScalarB: ({ cond, a }) => T.where(cond, a, 0.5),
  whereScalarA: ({ cond, b }) => T.where(cond, -4, b),
  maximum: ({ a, b }) => T.maximum(a, b),
  minimum: ({ a, b }) => T.minimum(a, b),
  sigmoid: ({ x }) => T.sigmoid(x),
  tanh: ({ x }) => T.tanh(x),
  abs: ({ x }) => T.abs(x),
  relu: ({ x }) => T.relu(x),
  sqrt: ({ x }) => T.sqrt(x),
  log: ({ x }) => T.log(x),
  exp: ({ x }) => T.exp(x),
  erf: ({ x }) => T.erf(x),
  log1p: ({ x }) => T.log1p(x),
  neg: ({ x }) => T.neg(x),
  square: ({ x }) => T.square(x),
};
// the number of "a ** 2" and "2 ** b" cases, read from the case's name
const exponentOf: { current: number | null } = { current: null };
const baseOf: { current: number | null } = { current: null };

Deno.test("PyTorch: values, gradients and tangents at the edges", async (t) => {
  const cases = fixture.cases as unknown as Case[];
  assert.equal(cases.length, 55);
  for (const c of cases) {
    await t.step(`${c.op} ${c.name} (${c.dtype})`, () => {
      exponentOf.current = c.name.startsWith("a ** ")
        ? Number(c.name.slice(5))
        : null;
      baseOf.current = c.name.endsWith(" ** b")
        ? Number(c.name.slice(0, -5))
        : null;
      const f = ops[c.op];
      const inputs = Object.fromEntries(
        Object.entries(c.inputs).map(([k, v]) => [k, toT(v)]),
      );
      const names = Object.keys(c.grads);
      const call = (...xs: Tensor[]) =>
        f({
          ...inputs,
          ...Object.fromEntries(names.map((k, i) => [k, xs[i]])),
        });
      const primals = names.map((k) => inputs[k]);
      const rtol = c.dtype === "float64" ? 1e-14 : 1e-6;
      // (relu(-0) is +0 here, -0 in PyTorch: the kernels' documented choice)
      assertMatches(call(...primals), c.out, rtol, c.op !== "relu", "value");
      const cot = toT(c.cot);
      const gs = T.grad(
        (...xs: Tensor[]) => T.sum(T.mul(call(...xs), cot)),
        { argnums: names.map((_, i) => i) },
      )(...primals) as Tensor[];
      names.forEach((k, i) =>
        assertMatches(gs[i], c.grads[k], rtol, false, `grad ${k}`)
      );
      if (!c.jvp) return;
      const [, tan] = T.jvp(
        call,
        primals,
        names.map((k) => toT(c.tangents![k])),
      );
      assertMatches(tan as Tensor, c.jvp, rtol, false, "jvp");
    });
  }
});

Deno.test("PyTorch: int32 arithmetic (wrapping, integer powers, true division)", () => {
  type IntCase = { op: string; a: J | number; b?: J; out: J };
  const cases = fixture.int32 as unknown as IntCase[];
  assert.equal(cases.length, 8);
  const binary: Record<string, (a: T.Operand, b: T.Operand) => Tensor> = {
    div: T.div,
    pow: T.pow,
    rpow: T.pow,
    add: T.add,
    sub: T.sub,
    mul: T.mul,
  };
  for (const c of cases) {
    const a = typeof c.a === "number" ? c.a : toT(c.a);
    const y = c.b
      ? binary[c.op](a, toT(c.b))
      : (c.op === "neg" ? T.neg : T.abs)(a as Tensor);
    assertMatches(y, c.out, 0, true, c.op);
  }
  // torch.pow(i32([2, 3]), -1): "Integers to negative integer powers are not allowed."
  assert.throws(
    () => T.pow(i32([2, 3]), -1),
    /pow: b = -1 is a negative integer/,
  );
});

Deno.test("second derivatives of pow, where, maximum and minimum against finite differences", () => {
  const f64 = (v: T.NestedArray) => T.tensor(v, { dtype: "float64" });
  const opts = { order: 2, modes: ["fwd", "rev"] } as T.CheckGradsOptions;
  // negative bases to integer exponents (a tensor and numbers)
  const a = f64([-2, -1.5, -0.7, 0.3, 1.2, -3]);
  const b = f64([2, 3, -1, 2, 3, 4]);
  T.checkGrads((x: Tensor) => T.sum(T.pow(x, b)), [a], opts);
  T.checkGrads((x: Tensor) => T.sum(T.pow(x, 3)), [a], opts);
  T.checkGrads((x: Tensor) => T.sum(T.pow(2.5, x)), [a], opts);
  // broadcasting pow in both arguments
  T.checkGrads(
    (x: Tensor, y: Tensor) => T.sum(T.pow(x, y)),
    [f64([0.3, 1.2, 0.7]), f64([[0.5], [-0.4]])],
    opts,
  );
  // where with every operand broadcast, each branch nonlinear
  const c = i32([1, 0, 1, 0, 1, 0]);
  T.checkGrads(
    (x: Tensor, y: Tensor) =>
      T.sum(
        T.mul(
          T.where(T.reshape(c, [2, 3]), T.mul(x, x), T.exp(y)),
          T.where(T.reshape(c, [2, 3]), y, x),
        ),
      ),
    [f64([0.3, -1.2, 0.7]), f64([[0.5], [-0.4]])],
    opts,
  );
  T.checkGrads(
    (x: Tensor, y: Tensor) => T.sum(T.mul(T.maximum(x, y), T.minimum(x, y))),
    [f64([0.3, 1.2, 0.7]), f64([[0.5], [-0.4]])],
    opts,
  );
});

Deno.test("vmap of the binary ops with one operand unbatched is the loop", () => {
  const [k1, k2, k3, k4, k5] = T.random.split(T.random.key(0), 5);
  const A = T.random.normal(k1, [3, 4, 5], { dtype: "float64" });
  const B = T.random.normal(k2, [5], { dtype: "float64" });
  const C = T.random.normal(k3, [4, 1], { dtype: "float64" });
  const D = T.random.normal(k4, [3, 1], { dtype: "float64" });
  const E = T.random.normal(k5, [5, 2], { dtype: "float64" });
  const fs: Record<string, (a: Tensor, b: Tensor) => Tensor> = {
    add: T.add,
    sub: T.sub,
    mul: T.mul,
    div: T.div,
    pow: (a, b) => T.pow(T.abs(a), b),
    maximum: T.maximum,
    minimum: T.minimum,
    less: T.less,
    where: (a, b) => T.where(T.greater(b, 0), a, 3),
  };
  const at = (x: Tensor, axis: number | null, i: number) =>
    axis === null ? x : T.take(x, T.tensor(i, { dtype: "int32" }), { axis });
  const layouts: [Tensor, Tensor, number | null, number | null, number][] = [
    [A, B, 0, null, 3],
    [B, A, null, 0, 3],
    [A, D, 1, null, 4],
    [C, T.transpose(A, [1, 0, 2]), null, 2, 5],
    [A, T.transpose(A, [1, 0, 2]), 0, 1, 3],
    [B, E, 0, 0, 5],
  ];
  for (const [name, f] of Object.entries(fs)) {
    for (const [a, b, da, db, n] of layouts) {
      const got = T.vmap(f, { inAxes: [da, db] })(a, b);
      const want = T.stack(
        Array.from({ length: n }, (_, i) => f(at(a, da, i), at(b, db, i))),
      );
      assert.deepEqual(got.shape, want.shape, `${name} ${da} ${db}`);
      assert.equal(got.dtype, want.dtype);
      assert.deepEqual(Array.from(got.data), Array.from(want.data));
    }
  }
});

Deno.test("pow's derivatives at b = 0 hold no NaN for the debug checks to find (grad of x^0 at 0 raised 'backward of pow: produced NaN')", () => {
  const x = T.tensor([0, 1, -2], { dtype: "float64" });
  T.setDebugNans(true);
  try {
    // d/dx x^0 = 0 everywhere (torch.pow's backward gives 0 too)
    const g = T.grad((v: Tensor) => T.sum(T.pow(v, 0)))(x);
    assert.deepEqual(Array.from(g.data), [0, 0, 0]);
    const [, t] = T.jvp((v: Tensor) => T.pow(v, 0), [x], [T.onesLike(x)]);
    assert.deepEqual(Array.from(t.data), [0, 0, 0]);
    // d²/dx² x^1 = 0, and d/db of the x-derivative at b = 0 is 0 too
    const h = T.grad((v: Tensor) =>
      T.sum(T.grad((w: Tensor) => T.sum(T.pow(w, 1)))(v))
    )(x);
    assert.deepEqual(Array.from(h.data), [0, 0, 0]);
  } finally {
    T.setDebugNans(false);
  }
});
