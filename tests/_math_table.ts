/**
 * Rows of the elementwise math ops (ops/math.ts) for the gradient-check
 * table: each in the domain where it is smooth (tan, asin and acos on
 * (-0.9, 0.9), logarithms and rsqrt on positives, atan2 away from the origin
 * and its branch cut). Rounding, sign and the tests are piecewise constant:
 * their rows multiply them into a smooth function (their own derivative is
 * zero), as `argmax (as a one-hot mask)` does.
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { binary, one, pair, type Row, unary } from "./_op_table.ts";

/** `x · f(3x)`: the derivative is f(3x), so a wrong zero-gradient rule shows. */
const stepRow = (name: string, f: (x: Tensor) => Tensor): Row =>
  unary(`${name} (times x)`, (x) => T.mul(x, f(T.mul(x, 3))));

const f64 = (t: Tensor) => T.astype(t, "float64");

/** The math family's rows. */
export const mathRows: Row[] = [
  unary("sin", T.sin),
  unary("cos", T.cos),
  unary("tan", T.tan, "unit"),
  unary("asin", T.asin, "unit"),
  unary("acos", T.acos, "unit"),
  unary("atan", T.atan),
  unary("sinh", T.sinh),
  unary("cosh", T.cosh),
  unary("log2", T.log2, "positive"),
  unary("log10", T.log10, "positive"),
  unary("expm1", T.expm1),
  unary("exp2", T.exp2),
  unary("rsqrt", T.rsqrt, "positive"),
  unary("reciprocal", T.reciprocal, "nonzero"),
  binary("atan2", T.atan2, ["nonzero", "nonzero"]),
  binary("logaddexp", T.logaddexp, ["real", "real"]),
  binary("hypot", T.hypot, ["nonzero", "nonzero"]),
  binary("xlogy", T.xlogy, ["real", "positive"]),
  {
    // bounds drawn as options, values continuous (never on a bound)
    name: "clamp",
    arb: fc.tuple(
      one().map((d) => d.shapes),
      fc.constantFrom(
        { min: -0.5, max: 1 },
        { min: 0.3 },
        { max: -0.2 },
        { min: 1, max: -1 },
      ),
    ).map(([shapes, p]) => ({ shapes, p })),
    domains: ["real"],
    f: (p, x) => T.mul(T.clamp(x, p), T.add(x, 1)),
  },
  stepRow("floor", T.floor),
  stepRow("ceil", T.ceil),
  stepRow("round", T.round),
  stepRow("trunc", T.trunc),
  stepRow("sign", T.sign),
  stepRow("floorDivide", (x) => T.floorDivide(x, 0.7)),
  {
    // a quotient whose floor is constant over the domain (-1 or 0: a/b in
    // ±(0.03, 0.57)), so remainder is smooth there, 1 in a and -floor in b
    name: "remainder",
    arb: pair,
    domains: ["nonzero", "positive"],
    f: (_p, a, b) => T.remainder(a, T.add(b, 3)),
  },
  {
    // likewise for fmod: a quotient in (1.19, 1.78), truncated to 1
    name: "fmod",
    arb: pair,
    domains: ["positive", "positive"],
    f: (_p, a, b) => T.fmod(T.add(a, 9), T.add(T.mul(b, 0.5), 6.5)),
  },
  {
    // the tests and logical ops as a mask of a and b
    name: "isNan, isFinite, logicalAnd, logicalOr, logicalNot (as a mask)",
    arb: pair,
    domains: ["real", "real"],
    f: (_p, a, b) => {
      const m = T.logicalOr(
        T.logicalAnd(T.greater(a, 0.5), T.isFinite(b)),
        T.logicalNot(T.add(T.isNan(a), T.less(b, 0))),
      );
      return T.mul(T.mul(a, b), f64(m));
    },
  },
  // ops/special.ts: the special functions on their smooth domains (second
  // derivatives reach polygamma of order 2 to 4), the compositions
  unary("lgamma", T.lgamma, "positive"),
  unary("digamma", T.digamma, "positive"),
  unary(
    "polygamma (n = 1, 2)",
    (x) => T.add(T.polygamma(1, x), T.polygamma(2, x)),
    "positive",
  ),
  unary("erfinv", T.erfinv, "unit"),
  unary("sinc", T.sinc),
  // x mapped into (0.045, 0.855); with eps 0.2 the clamp's bounds inside
  unary("logit", (x) => T.logit(T.mul(T.add(x, 1), 0.45)), "unit"),
  unary(
    "logit (eps)",
    (x) => T.mul(T.logit(T.mul(T.add(x, 1), 0.45), { eps: 0.2 }), T.add(x, 2)),
    "unit",
  ),
  // frac on (0.1, 0.6): no integer crossed
  unary("frac", (x) => T.frac(T.mul(x, 0.2)), "positive"),
  binary("copysign", T.copysign, ["nonzero", "nonzero"]),
  binary("fmin", T.fmin),
  binary("fmax", T.fmax),
  // heaviside: x times its step, and values where x is 0 (their gradient)
  binary(
    "heaviside",
    (a, b) => T.add(T.mul(a, T.heaviside(a, 0.5)), T.heaviside(T.sub(a, a), b)),
  ),
  {
    // weight a tensor: the three broadcast, both of PyTorch's forms
    name: "lerp (tensor weight)",
    arb: pair.map(({ shapes }) => ({
      shapes: [shapes[0], shapes[1], shapes[0]],
    })),
    domains: ["real", "real", "real"],
    f: (_p, a, b, w) => T.lerp(a, b, w),
  },
  {
    name: "lerp (number weight)",
    arb: fc.tuple(pair, fc.constantFrom(0.3, 0.7, -0.75, 1.5)).map((
      [{ shapes }, w],
    ) => ({ shapes, p: w })),
    domains: ["real", "real"],
    f: (w, a, b) => T.lerp(a, b, w),
  },
  {
    // rows [B?, P, M] against [R, M]; p's forms; the matrix form of p = 2
    name: "cdist",
    arb: fc.tuple(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom<T.CdistOptions>(
        { p: 0 },
        { p: 1 },
        { p: 1.5 },
        { p: 2 },
        { p: 3 },
        { p: Infinity },
        { p: 0.5 },
        { p: 2, computeMode: "use_mm_for_euclid_dist" },
      ),
    ).map(([b, p, r, m, o]) => ({
      shapes: [b ? [b, p, m] : [p, m], [r, m]],
      p: o,
    })),
    domains: ["real", "real"],
    f: (o, a, b) => T.cdist(a, b, o),
    // the matrix form's squared distance |a|² + |b|² - 2a·b cancels when
    // rows nearly coincide (as PyTorch's): its gradient there carries an
    // error of about 1e-16 |a|² / d² that second-order differences magnify
    wellConditioned: (o, a, b) =>
      o.computeMode !== "use_mm_for_euclid_dist" ||
      T.min(T.cdist(a, b)).data[0] > 0.1,
  },
];
