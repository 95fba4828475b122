/**
 * The math ops (ops/math.ts), reductions (ops/reductions.ts) and order
 * statistics (ops/order_stats.ts) at awkward inputs: values and gradients
 * against PyTorch 1.13 in float64 and float32 (tests/fixtures/math_probe.json,
 * written by tests/fixtures/gen_math_probe.py) at ±0, ±inf, NaN, ties, empty
 * and scalar reductions (quantile and median of a scalar along axis 0 or
 * -1), several and negative axes, keepDims and int32 (isclose at the ends of
 * int32's range);
 * every case also under `jit` (the same bits) and `vmap` (each example's
 * bits). Then the errors of the NaN reductions and of quantile's options.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import fixture from "./fixtures/math_probe.json" with { type: "json" };
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
  inputs: Record<string, J>;
  out: J;
  cot?: J;
  grads?: Record<string, J>;
};

type Inputs = Record<string, Tensor>;
// deno-lint-ignore no-explicit-any
type Options = any;
const unary = (f: (x: Tensor) => Tensor) => ({ x }: Inputs) => f(x);
const binary = (f: (a: Tensor, b: Tensor) => Tensor) => ({ a, b }: Inputs) =>
  f(a, b);
const reduce =
  (f: (x: Tensor, o: Options) => Tensor) => ({ x }: Inputs, o: Options) =>
    f(x, o);
const ops: Record<string, (inputs: Inputs, o: Options) => Tensor> = {
  sin: unary(T.sin),
  cos: unary(T.cos),
  tan: unary(T.tan),
  asin: unary(T.asin),
  acos: unary(T.acos),
  atan: unary(T.atan),
  sinh: unary(T.sinh),
  cosh: unary(T.cosh),
  log2: unary(T.log2),
  log10: unary(T.log10),
  expm1: unary(T.expm1),
  exp2: unary(T.exp2),
  rsqrt: unary(T.rsqrt),
  reciprocal: unary(T.reciprocal),
  sign: unary(T.sign),
  floor: unary(T.floor),
  round: unary(T.round),
  nanToNum: unary((x) => T.nanToNum(x)),
  atan2: binary(T.atan2),
  remainder: binary(T.remainder),
  fmod: binary(T.fmod),
  xlogy: binary(T.xlogy),
  hypot: binary(T.hypot),
  isclose: ({ a, b }, o) => T.isclose(a, b, o),
  max: reduce(T.max),
  min: reduce(T.min),
  logSumExp: reduce(T.logSumExp),
  mean: reduce(T.mean),
  sum: reduce(T.sum),
  prod: reduce(T.prod),
  var: reduce(T.var),
  std: reduce(T.std),
  norm: reduce(T.norm),
  quantile: ({ x }, { q, ...o }) => T.quantile(x, q, o),
  median: reduce(T.median),
  nanmean: reduce(T.nanmean),
  nansum: reduce(T.nansum),
  searchsorted: ({ s, v }, o) => T.searchsorted(s, v, o),
  bucketize: ({ v, s }, o) => T.bucketize(v, s, o),
};

/**
 * Allowed ulps of the values, per op (others: 1). hypot: V8's Math.hypot
 * is not correctly rounded (1.02 ulps seen); quantile: PyTorch's x86 lerp
 * is compiled to a fused multiply-add where the library rounds the product
 * first, so its ulps are those of the largest |value| of the case (the
 * interpolated difference cancels).
 */
const VALUE_ULPS: Record<string, number> = { hypot: 2, quantile: 2 };
const VALUE_AT_SCALE = new Set(["quantile"]);
/**
 * Allowed ulps of the gradients, in ulps of the largest |entry| of
 * PyTorch's gradient (the rules round a few times more, and differences
 * cancel: std's deviations from the mean).
 */
const GRAD_ULPS = 4;

/**
 * ulps between a and b in the dtype (0 for equal bits, NaN with NaN;
 * Infinity for -0 against 0 unless `anyZero`).
 */
function ulps(
  a: number,
  b: number,
  dtype: T.DType,
  anyZero: boolean,
  scale: number,
): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  if (a === b && anyZero) return 0;
  if (a === b || !Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const [eps, tiny] = dtype === "float32"
    ? [2 ** -23, 2 ** -126]
    : [2 ** -52, 2 ** -1022];
  const m = Math.max(Math.abs(a), Math.abs(b), scale, tiny);
  return Math.abs(a - b) / (m * eps);
}

/** The largest finite |entry| of t (0 if none). */
const largest = (t: Tensor) =>
  Array.from(t.data).reduce(
    (m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m),
    0,
  );

/**
 * got against PyTorch's want within `tol` ulps (of at least `scale`; the
 * sign of a zero too, unless `anyZero`).
 */
function assertNear(
  got: Tensor,
  want: Tensor,
  tol: number,
  msg: string,
  { anyZero = false, scale = 0 } = {},
) {
  assert.equal(got.dtype, want.dtype, `${msg}: dtype`);
  assert.deepEqual(got.shape, want.shape, `${msg}: shape`);
  for (let i = 0; i < got.data.length; i++) {
    const u = ulps(got.data[i], want.data[i], want.dtype, anyZero, scale);
    assert.ok(
      u <= tol,
      `${msg}: [${i}] got ${
        Object.is(got.data[i], -0) ? "-0" : got.data[i]
      }, PyTorch ${
        Object.is(want.data[i], -0) ? "-0" : want.data[i]
      } (${u} ulps, allowed ${tol})`,
    );
  }
}

const sameBits = (a: Tensor, b: Tensor, msg: string) => {
  assert.equal(a.dtype, b.dtype, msg);
  assert.deepEqual(a.shape, b.shape, msg);
  for (let i = 0; i < a.data.length; i++) {
    assert.ok(
      Object.is(a.data[i], b.data[i]),
      `${msg}: [${i}] ${a.data[i]} vs ${b.data[i]}`,
    );
  }
};

const cases = fixture.cases as unknown as Case[];
for (const op of new Set(cases.map((c) => c.op))) {
  Deno.test(`PyTorch: ${op} at awkward inputs, values and gradients, eager, jit and vmap`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        const names = Object.keys(c.inputs);
        const o = Object.fromEntries(
          Object.entries(c.options).map((
            [k, v],
          ) => [k, k === "ord" || k === "q" ? num(v as Num) : v]),
        );
        const f = (...xs: Tensor[]) =>
          ops[c.op](Object.fromEntries(names.map((n, i) => [n, xs[i]])), o);
        const xs = names.map((n) => toT(c.inputs[n]));
        const y = f(...xs);
        const scale = VALUE_AT_SCALE.has(c.op)
          ? Math.max(...xs.map(largest))
          : 0;
        assertNear(y, toT(c.out), VALUE_ULPS[c.op] ?? 1, `${c.name}: value`, {
          scale,
        });
        sameBits(T.jit(f)(...xs), y, `${c.name}: jit`);
        // two examples, the second the first doubled, mapped over axis 0
        const doubled = xs.map((x) => x.dtype === "int32" ? x : T.mul(x, 2));
        const ys = T.vmap(f)(...xs.map((x, i) => T.stack([x, doubled[i]])));
        sameBits(ys, T.stack([y, f(...doubled)]), `${c.name}: vmap`);
        if (c.grads && c.cot) {
          const [, back] = T.vjp(f, ...xs);
          const gs = back(toT(c.cot));
          names.forEach((n, i) =>
            assertNear(
              gs[i],
              toT(c.grads![n]),
              GRAD_ULPS,
              `${c.name}: d${n}`,
              { anyZero: true, scale: largest(toT(c.grads![n])) },
            )
          );
        }
      });
    }
  });
}

Deno.test("errors: nansum and nanmean name themselves (not sum) for a bad axis", () => {
  const x = T.ones([2, 3]);
  for (
    const [fn, f] of [["nansum", T.nansum], ["nanmean", T.nanmean]] as const
  ) {
    assert.throws(
      () => f(x, { axis: 2 }),
      new RegExp(`^Error: ${fn}: axis 2 is out of range for x with 2 dims`),
    );
    assert.throws(
      () => f(x, { axis: [1, -1] }),
      new RegExp(`^Error: ${fn}: axis lists an axis twice`),
    );
    assert.throws(
      () => f(x, null as unknown as undefined),
      new RegExp(`^Error: ${fn}: options must be an object`),
    );
  }
});

Deno.test("errors: quantile and median take a boolean keepDims", () => {
  const x = T.ones([3]);
  assert.throws(
    () => T.quantile(x, 0.5, { keepDims: 1 as unknown as boolean }),
    /^Error: quantile: options.keepDims must be a boolean, got number 1/,
  );
  assert.throws(
    () => T.median(x, { axis: 0, keepDims: "yes" as unknown as boolean }),
    /^Error: median: options.keepDims must be a boolean, got string/,
  );
});
