/**
 * Rows of the statistics reductions and the cumulative ops for the gradient
 * table (grad_table_test.ts, and the vmap, jit and architecture tests that
 * read every row): var, std, prod, norm, cumsum, cumprod, logCumSumExp, and
 * any/all as masks. Inputs are drawn off kinks: var and std count more
 * entries than the correction; norm's inputs are nonzero (|x| has a kink at
 * 0). Gradients at exact zeros of prod and cumprod, which a drawn value never
 * hits: tests/stats_test.ts.
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { type Row, shapeArb } from "./_op_table.ts";

type Draw = { shapes: number[][]; p: Record<string, unknown> };

/** A shape of rank 1..3 and a subset of its axes (negative or not; undefined = all), keepDims, and `extra` drawn from the shape and axes. */
const reduceDraw = (
  extra: (shape: number[], axes: number[]) => fc.Arbitrary<object> = () =>
    fc.constant({}),
): fc.Arbitrary<Draw> =>
  shapeArb(1, 3).chain((s) =>
    fc.tuple(fc.subarray([...s.keys()]), fc.boolean(), fc.boolean()).chain((
      [axes, keepDims, neg],
    ) =>
      extra(s, axes.length ? axes : [...s.keys()]).map((more) => ({
        shapes: [s],
        p: {
          axis: axes.length
            ? axes.map((a) => (neg ? a - s.length : a))
            : undefined,
          keepDims,
          ...more,
        },
      }))
    )
  );

/** A correction below the count of the reduced entries (else the result is inf or NaN). */
const correction = (s: number[], axes: number[]) => {
  const n = axes.reduce((p, a) => p * s[a], 1);
  return fc.integer({ min: 0, max: Math.min(2, n - 1) }).map((c) => ({
    correction: c,
  }));
};

/** A shape of rank 1..3 and one axis of it (negative or not). */
const axisDraw: fc.Arbitrary<Draw> = shapeArb(1, 3).chain((s) =>
  fc.tuple(fc.nat(s.length - 1), fc.boolean()).map(([a, neg]) => ({
    shapes: [s],
    p: { axis: neg ? a - s.length : a },
  }))
);

const f64 = (t: Tensor) => T.astype(t, "float64");

/** A cumulative op along a drawn axis. */
const scanRow = (
  name: string,
  f: (x: Tensor, o: { axis: number }) => Tensor,
): Row => ({ name, arb: axisDraw, domains: ["real"], f: (p, x) => f(x, p) });

/** Rows of the statistics reductions and cumulative ops. */
export const statsRows: Row[] = [
  {
    // drawn values have no ties, so the sort's order (and so the gradient)
    // is locally constant
    name: "quantile, median, nanmean, nansum",
    arb: shapeArb(1, 3).chain((s) =>
      fc.tuple(
        fc.integer({ min: 0, max: s.length - 1 }),
        fc.constantFrom(0, 0.3, 0.5, 1),
        fc.constantFrom("linear", "lower", "higher", "nearest", "midpoint"),
      ).map(([axis, q, method]) => ({ shapes: [s], p: { axis, q, method } }))
    ),
    domains: ["real"],
    f: ({ axis, q, method }, x) =>
      T.add(
        T.sum(
          T.mul(
            T.quantile(x, q as number, {
              axis,
              method: method as T.QuantileMethod,
            }),
            T.median(x, { axis }),
          ),
        ),
        T.mul(T.nanmean(x), T.nansum(T.square(x), { axis })),
      ),
  },
  {
    name: "var",
    arb: reduceDraw(correction),
    domains: ["real"],
    f: (p, x) => T.var(x, p),
  },
  {
    name: "std",
    arb: reduceDraw(correction),
    domains: ["real"],
    f: (p, x) => T.std(x, p),
  },
  {
    name: "prod",
    arb: reduceDraw(),
    domains: ["real"],
    f: (p, x) => T.prod(x, p),
  },
  {
    name: "norm (ord 1, 2, Infinity, -Infinity, 3, 0.5, 1.5, -1)",
    arb: reduceDraw(() =>
      fc.constantFrom(1, 2, Infinity, -Infinity, 3, 0.5, 1.5, -1).map((
        ord,
      ) => ({ ord }))
    ),
    domains: ["nonzero"],
    f: (p, x) => T.norm(x, p),
  },
  {
    name: "norm (ord fro)",
    arb: shapeArb(2, 3).chain((s) =>
      fc.tuple(
        fc.shuffledSubarray([...s.keys()], { minLength: 2, maxLength: 2 }),
        fc.boolean(),
      ).map(([axis, keepDims]) => ({
        shapes: [s],
        p: { ord: "fro", axis, keepDims },
      }))
    ),
    domains: ["real"],
    f: (p, x) => T.norm(x, p),
  },
  {
    // x times masks of any and all over the last axis (int32, no gradient)
    name: "any/all (as masks)",
    arb: shapeArb(1, 3).map((s) => ({ shapes: [s] })),
    domains: ["real"],
    f: (_p, x) => {
      const o = { axis: -1, keepDims: true };
      const anyBig = f64(T.any(T.greater(x, 1), o));
      const allPos = f64(T.all(T.greater(x, -1), o));
      return T.mul(x, T.add(anyBig, T.mul(allPos, 2)));
    },
  },
  scanRow("cumsum", T.cumsum),
  scanRow("cumprod", T.cumprod),
  scanRow("logCumSumExp", T.logCumSumExp),
];
