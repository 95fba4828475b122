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
];
