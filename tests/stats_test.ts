/**
 * The statistics reductions (var std prod norm any all, ops/reductions.ts)
 * and the cumulative ops (cumsum cumprod logCumSumExp, ops/cumulative.ts):
 * values and gradients against PyTorch 1.13 (tests/fixtures/stats.json,
 * written by tests/fixtures/gen_stats.py), identities between the ops,
 * gradients at exact zeros against finite differences, int32 results, and
 * the errors. Gradients to order 2 of drawn inputs, vmap and jit: the rows
 * of tests/_stats_table.ts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { var as variance } from "../mod.ts";
import { drawValues, shapeArb } from "./_op_table.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/stats.json" with { type: "json" };
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
  options: Record<string, Num | number[] | boolean>;
  x: J;
  output: J;
  cotangent?: J;
  grad?: J;
};

const f64 = { dtype: "float64" as const };

// deno-lint-ignore no-explicit-any
const ops: Record<string, (x: Tensor, o: any) => Tensor> = {
  var: T.var,
  std: T.std,
  prod: T.prod,
  norm: T.norm,
  any: T.any,
  all: T.all,
  cumsum: T.cumsum,
  cumprod: T.cumprod,
  logCumSumExp: T.logCumSumExp,
  quantile: (x, { q, ...o }) => T.quantile(x, q, o),
  median: T.median,
  nansum: T.nansum,
  nanmean: T.nanmean,
};

// float32: PyTorch accumulates some ops in float32 and others in float64, so
// a few float32 ulps apart; float64: a few float64 ulps
const tolerance = (dtype: T.DType) =>
  dtype === "float64"
    ? { atol: 1e-13, rtol: 1e-12 }
    : { atol: 1e-6, rtol: 1e-6 };

for (const c of fixture.cases as unknown as Case[]) {
  Deno.test(`PyTorch: ${c.op} ${c.name} (${c.dtype})`, () => {
    const o = Object.fromEntries(
      Object.entries(c.options).map((
        [k, v],
      ) => [
        k,
        typeof v === "string" && k === "ord" && v !== "fro" ? num(v) : v,
      ]),
    );
    const f = (x: Tensor) => ops[c.op](x, o);
    const x = toT(c.x), expected = toT(c.output);
    const y = f(x);
    assert.equal(y.dtype, expected.dtype, `${c.op} ${c.name}: dtype`);
    if (y.dtype === "int32") {
      assert.deepEqual(y.shape, expected.shape);
      assert.deepEqual(Array.from(y.data), Array.from(expected.data));
    } else {
      assertAllClose(y, expected, { ...tolerance(c.dtype), msg: c.name });
    }
    if (c.grad && c.cotangent) {
      const [, back] = T.vjp(f, x);
      // PyTorch's float32 backward of logcumsumexp goes through log|g| and
      // exp in float32, 1e-5 off at |x| ~ 1000; the library's is float64
      const loose = c.op === "logCumSumExp" && c.dtype === "float32";
      assertAllClose(back(toT(c.cotangent))[0], toT(c.grad), {
        ...(loose ? { atol: 1e-5, rtol: 1e-4 } : tolerance(c.dtype)),
        msg: `${c.name}: gradient`,
      });
    }
  });
}

Deno.test("var is exported as var: T.var and import { var as variance }", () => {
  const x = T.tensor([1, 2, 3, 4], f64);
  assert.equal(T.item(T.var(x)), 5 / 3);
  assert.equal(T.item(variance(x, { correction: 0 })), 1.25);
  assert.equal(T.var, variance);
});

Deno.test("statistics identities: var and std, prod, norm, cumulative ends", () => {
  const x = drawValues([3, 4, 2], "real", 5);
  const close = (a: Tensor, b: Tensor, msg: string) =>
    assertAllClose(a, b, { atol: 1e-12, rtol: 1e-12, msg });
  for (const axis of [undefined, 1, -1, [0, 2]] as (number | number[])[]) {
    for (const correction of [0, 1, 2]) {
      const o = { axis, correction };
      const m = T.mean(x, { axis, keepDims: true });
      const n = T.sum(T.onesLike(x), { axis }).data[0];
      const byHand = T.div(
        T.sum(T.square(T.sub(x, m)), { axis }),
        n - correction,
      );
      close(T.var(x, o), byHand, `var ${JSON.stringify(o)}`);
      close(T.square(T.std(x, o)), T.var(x, o), `std ${JSON.stringify(o)}`);
    }
    close(
      T.prod(T.exp(x), { axis }),
      T.exp(T.sum(x, { axis })),
      `prod of exp`,
    );
    close(
      T.norm(x, { axis }),
      T.sqrt(T.sum(T.square(x), { axis })),
      `norm 2`,
    );
    close(T.norm(x, { axis, ord: 1 }), T.sum(T.abs(x), { axis }), `norm 1`);
  }
  close(
    T.norm(x, { ord: "fro", axis: [0, 2] }),
    T.norm(x, { axis: [0, 2] }),
    "fro",
  );
  // the last entry of a running op is the reduction
  const last = (t: Tensor) => T.slice(t, [0, 0, -1]);
  const o = { axis: -1 };
  const keep = { axis: -1, keepDims: true };
  close(last(T.cumsum(x, o)), T.sum(x, keep), "cumsum ends at sum");
  close(last(T.cumprod(x, o)), T.prod(x, keep), "cumprod ends at prod");
  close(
    last(T.logCumSumExp(x, o)),
    T.logSumExp(x, keep),
    "logCumSumExp ends at logSumExp",
  );
  close(
    T.logCumSumExp(x, { axis: 1 }),
    T.log(T.cumsum(T.exp(x), { axis: 1 })),
    "logCumSumExp = log cumsum exp",
  );
});

Deno.test("int32: prod, cumsum, cumprod stay int32 and wrap; any, all are int32 0/1; var, std, norm give float32", () => {
  const i = (v: number[]) => T.tensor(v, { dtype: "int32" });
  const big = i([2 ** 30, 2 ** 30, 2 ** 30]);
  assert.deepEqual(T.toArray(T.cumsum(big, { axis: 0 })), [
    2 ** 30,
    -(2 ** 31),
    -(2 ** 30),
  ]);
  // 2147483647² = 1 modulo 2^32 (a float64 product would lose the low bits)
  const m = i([2147483647, 2147483647]);
  assert.deepEqual(T.toArray(T.cumprod(m, { axis: 0 })), [2147483647, 1]);
  assert.equal(T.item(T.prod(m)), 1);
  assert.equal(T.prod(m).dtype, "int32");
  for (const f of [T.var, T.std, T.norm]) assert.equal(f(big).dtype, "float32");
  assert.equal(T.logCumSumExp(big, { axis: 0 }).dtype, "float32");
  const b = T.any(T.tensor([0.5, 0]));
  assert.equal(b.dtype, "int32");
  assert.equal(T.item(b), 1);
  assert.equal(T.all(T.tensor([0.5, 0])).dtype, "int32");
});

Deno.test("empty: prod 1, any 0, all 1, norm 0, var NaN, cumulative ops empty", () => {
  const e = T.zeros([0]);
  assert.equal(T.item(T.prod(e)), 1);
  assert.equal(T.item(T.any(e)), 0);
  assert.equal(T.item(T.all(e)), 1);
  assert.equal(T.item(T.norm(e)), 0);
  assert.equal(T.item(T.norm(e, { ord: 1 })), 0);
  assert.ok(Number.isNaN(T.item(T.var(e))));
  for (const f of [T.cumsum, T.cumprod, T.logCumSumExp]) {
    assert.deepEqual(f(T.zeros([2, 0]), { axis: 1 }).shape, [2, 0]);
  }
  assert.deepEqual(T.toArray(T.prod(T.zeros([0, 2]), { axis: 0 })), [1, 1]);
});

Deno.test("logCumSumExp next to +inf: finite gradients where PyTorch's are (they were NaN), and the limit at the inf itself", () => {
  // torch.logcumsumexp(x, 0).backward(g = [1, 2, 3]) in float64 gives
  // x = [1, inf, 2]: [1, nan, 0]; x = [1, 5, inf]: [1.035972419924183,
  // 1.9640275800758176, nan]; x = [-inf, 5, 1]: [nan, 4.946041370113728,
  // 0.05395862988627471]. Here the inf entry gets the limit, the sum of the
  // g of the outputs it reaches.
  const g = T.tensor([1, 2, 3], f64);
  const grad = (v: number[]) =>
    Array.from(
      T.grad((x: Tensor) => T.sum(T.mul(T.logCumSumExp(x, { axis: 0 }), g)))(
        T.tensor(v, f64),
      ).data,
    );
  assert.deepEqual(grad([1, Infinity, 2]), [1, 5, 0]);
  const [a, b, c] = grad([1, 5, Infinity]);
  assert.ok(Math.abs(a - 1.035972419924183) < 1e-12, `${a}`);
  assert.ok(Math.abs(b - 1.9640275800758176) < 1e-12, `${b}`);
  assert.equal(c, 3);
  // (a leading -inf: its own output is -inf, whose derivative in it is 1,
  // and the later outputs' is 0; PyTorch's NaN)
  const [n, d, e] = grad([-Infinity, 5, 1]);
  assert.equal(n, 1);
  assert.ok(Math.abs(d - 4.946041370113728) < 1e-12, `${d}`);
  assert.ok(Math.abs(e - 0.05395862988627471) < 1e-12, `${e}`);
  // the values are unchanged: inf from the inf on
  assert.deepEqual(
    T.toArray(T.logCumSumExp(T.tensor([1, Infinity, 2], f64), { axis: 0 })),
    [1, Infinity, Infinity],
  );
});

Deno.test("a scalar: each cumulative op gives it back (axis 0 or -1, as PyTorch)", () => {
  const s = T.tensor(1.5);
  for (const f of [T.cumsum, T.cumprod, T.logCumSumExp]) {
    assert.equal(T.item(f(s, { axis: -1 })), 1.5);
    assert.equal(T.item(f(s, { axis: 0 })), 1.5);
  }
});

/** x with the entries where `zero` draws true set to exactly 0. */
function withZeros(x: Tensor, zero: boolean[]): Tensor {
  const mask = T.tensor(zero.map((z) => (z ? 0 : 1)), {
    shape: [...x.shape],
    dtype: "float64",
  });
  return T.mul(x, mask);
}

const zerosDraw = shapeArb(1, 3).chain((s) => {
  const n = s.reduce((p, d) => p * d, 1);
  return fc.record({
    shape: fc.constant(s),
    zero: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    axis: fc.integer({ min: -s.length, max: s.length - 1 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });
});

Deno.test("prod and cumprod: gradients to order 2 with exact zeros in the rows (one, two or more), against finite differences", () => {
  fc.assert(
    fc.property(zerosDraw, ({ shape, zero, axis, seed }) => {
      const x = withZeros(drawValues(shape, "real", seed), zero);
      // the functions are polynomials: a zero is no kink, finite differences hold
      T.checkGrads((t: Tensor) => T.prod(t, { axis }), [x], { order: 2, seed });
      T.checkGrads((t: Tensor) => T.cumprod(t, { axis }), [x], {
        order: 2,
        seed,
      });
    }),
    { numRuns: 15 },
  );
  // by hand: d prod / dx_i is the product of the others
  const g = T.grad((t: Tensor) => T.prod(t));
  assert.deepEqual(T.toArray(g(T.tensor([2, 0, 5], f64))), [0, 10, 0]);
  assert.deepEqual(T.toArray(g(T.tensor([0, 3, 0], f64))), [0, 0, 0]);
});

Deno.test("norm and std at 0: gradient 0 (the subgradient, as PyTorch), finite second derivatives", () => {
  const z = T.zeros([3], f64);
  for (const ord of [1, 2, Infinity, -Infinity, "fro"] as const) {
    const x = ord === "fro" ? T.zeros([2, 2], f64) : z;
    const g = T.grad((t: Tensor) => T.norm(t, { ord }))(x);
    assert.ok(g.data.every((v) => v === 0), `norm ord ${ord}: ${g.data}`);
  }
  const c = T.full([4], 3, f64);
  const gs = T.grad((t: Tensor) => T.std(t))(c);
  assert.ok(gs.data.every((v) => v === 0), `std: ${gs.data}`);
  const h = T.hessian((t: Tensor) => T.norm(t))(z) as Tensor;
  assert.ok(h.data.every(Number.isFinite));
});

Deno.test("logCumSumExp is stable: far-apart, huge and -inf entries", () => {
  const y = T.logCumSumExp(
    T.tensor([-1000, 0, 1000, -Infinity, 1000], f64),
    { axis: 0 },
  );
  assertAllClose(y, [-1000, 0, 1000, 1000, 1000 + Math.log(2)], {
    atol: 0,
    rtol: 1e-15,
  });
  // float32 input: exp(200) overflows float32, the result does not
  const y32 = T.logCumSumExp(T.tensor([200, 200]), { axis: 0 });
  assertAllClose(y32, [200, 200 + Math.log(2)], { rtol: 1e-7 });
  const g = T.grad((t: Tensor) => T.sum(T.logCumSumExp(t, { axis: 0 })))(
    T.tensor([-1000, 0, 1000], f64),
  );
  assert.ok(g.data.every(Number.isFinite), `${g.data}`);
});

Deno.test("int32 and cumulative ops under vmap and jit", () => {
  const x = T.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" });
  const f = (t: Tensor) => T.cumsum(t, { axis: 0 });
  assert.deepEqual(T.toArray(T.vmap(f)(x)), [[1, 3, 6], [4, 9, 15]]);
  assert.deepEqual(
    T.toArray(T.vmap(f, { inAxes: 1 })(x)),
    [[1, 5], [2, 7], [3, 9]],
  );
  assert.deepEqual(T.toArray(T.jit(f)(x)), [[1, 2, 3], [5, 7, 9]]);
  const any = (t: Tensor) => T.any(T.greater(t, 4), { axis: 0 });
  assert.deepEqual(T.toArray(T.vmap(any)(x)), [0, 1]);
  assert.deepEqual(T.toArray(T.jit(any)(x)), [0, 1, 1]);
});

Deno.test("errors: statistics and cumulative ops", () => {
  const x = T.zeros([2, 3]);
  assert.throws(
    () => T.cumsum(x, undefined as unknown as { axis: number }),
    /^Error: cumsum: options.axis is required \(the axis to run along, as PyTorch's dim\), got no options$/,
  );
  assert.throws(
    () => T.cumprod(x, {} as { axis: number }),
    /cumprod: options.axis is required .*got no axis/,
  );
  assert.throws(
    () => T.logCumSumExp(x, { axis: 2 }),
    /logCumSumExp: axis 2 is out of range for x with 2 dims \(shape \[2,3\]\)/,
  );
  assert.throws(
    () => T.cumsum(x, { axis: 0, keepDims: true } as { axis: number }),
    /cumsum: unknown option "keepDims" \(known options: axis\)/,
  );
  assert.throws(
    () => T.var(x, { correction: -1 }),
    /var: correction must be a finite number >= 0, got number -1/,
  );
  assert.throws(
    () => T.std(x, { ddof: 1 } as T.VarOptions),
    /std: unknown option "ddof" \(known options: axis, keepDims, correction\)/,
  );
  assert.throws(
    () => T.norm(x, { ord: NaN }),
    /norm: ord must be a number \(Infinity and -Infinity included\) or "fro", got number NaN/,
  );
  assert.throws(
    () => T.norm(x, { ord: "nuc" as "fro" }),
    /norm: ord must be a number \(Infinity and -Infinity included\) or "fro", got string nuc/,
  );
  assert.throws(
    () => T.norm(T.zeros([2, 3, 4]), { ord: "fro" }),
    /norm: ord "fro" is the Frobenius norm of matrices: it needs 2 axes \(axis a pair, or a 2-D x\), got axes \[0,1,2\] of x \[2,3,4\]/,
  );
  assert.throws(
    () => T.norm(T.zeros([2, 0]), { ord: Infinity, axis: 1 }),
    /norm: the Infinity norm of no entries is undefined .* x \[2,0\]/,
  );
  assert.throws(
    () => T.prod(x, { axis: [1, -1] }),
    /prod: axis lists an axis twice: \[1,-1\]/,
  );
  assert.throws(
    () => T.any("x" as unknown as Tensor),
    /any: x must be a Tensor/,
  );
});
