/**
 * The table of differentiable ops with their input domains (kept off kinks:
 * relu/abs away from 0, log/sqrt/div on positive inputs, max without ties).
 * Each row becomes a fast-check property in grad_table_test.ts.
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import type { CheckGradsOptions, Tensor } from "../mod.ts";
import { erf, log1p } from "../ops/elementwise.ts";

/** Where an argument's values are drawn from. */
export type Domain = "real" | "positive" | "nonzero" | "unit";

/** One row: how to draw argument shapes (and static params), and the function. */
export interface Row {
  name: string;
  arb: fc.Arbitrary<{ shapes: number[][]; p?: unknown }>;
  domains: Domain[];
  // deno-lint-ignore no-explicit-any
  f: (p: any, ...xs: Tensor[]) => Tensor;
  /** checkGrads settings other than the defaults (a float32 round trip needs a larger step). */
  check?: CheckGradsOptions;
  /**
   * The output can hold ±inf for valid inputs (maxPool2d: a window of only
   * padding gives -inf, as PyTorch). checkGrads skips those draws (fc.pre: its
   * finite differences of an infinite output are NaN); the other properties
   * keep them.
   */
  mayBeInfinite?: boolean;
  /**
   * Whether a draw suits second-order finite differences (fc.pre in the
   * checkGrads property): false where the op's formula is ill-conditioned,
   * so float64 differences of its gradient lose the digits the check asks
   * for (cdist's matrix form at nearly coincident points, whose squared
   * distance cancels). Unset: every draw.
   */
  // deno-lint-ignore no-explicit-any
  wellConditioned?: (p: any, ...xs: Tensor[]) => boolean;
}

const dim = fc.integer({ min: 1, max: 3 });
/** A shape of rank minRank..maxRank with small dims. */
export const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
  fc.array(dim, { minLength: minRank, maxLength: maxRank });
export const one = (minRank = 0, maxRank = 3) =>
  shapeArb(minRank, maxRank).map((s) => ({ shapes: [s] }));
/** Two shapes that broadcast: the second drops leading dims and sets some to 1. */
export const pair = shapeArb(0, 3).chain((s) =>
  fc.tuple(
    fc.integer({ min: 0, max: s.length }),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.boolean(),
  )
    .map(([drop, ones, swap]) => {
      const t = s.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
      return { shapes: swap ? [t, s] : [s, t] };
    })
);
/** A shape with at least one axis, and a list of axes to reduce (or undefined = all). */
const reduceArb = shapeArb(1, 3).chain((s) =>
  fc.tuple(fc.subarray([...s.keys()]), fc.boolean(), fc.boolean()).map((
    [axes, keepDims, neg],
  ) => ({
    shapes: [s],
    p: {
      axis: axes.length ? axes.map((a) => (neg ? a - s.length : a)) : undefined,
      keepDims,
    },
  }))
);

export const unary = (
  name: string,
  f: (x: Tensor) => Tensor,
  domain: Domain = "real",
): Row => ({
  name,
  arb: one(),
  domains: [domain],
  f: (_p, x) => f(x),
});
export const binary = (
  name: string,
  f: (a: Tensor, b: Tensor) => Tensor,
  domains: Domain[] = ["real", "real"],
): Row => ({
  name,
  arb: pair,
  domains,
  f: (_p, a, b) => f(a, b),
});

/** A shape with pad widths `[before, after]` per axis, each at most `max` and `most(the axis' size)`. */
const padArb = (max: number, most: (n: number) => number) =>
  shapeArb(1, 3).chain((s) =>
    fc.array(fc.tuple(fc.nat(max), fc.nat(max)), {
      minLength: s.length,
      maxLength: s.length,
    }).map((w) => ({
      shapes: [s],
      p: w.map(([b, a], i) => [
        Math.min(b, most(s[i])),
        Math.min(a, most(s[i])),
      ]),
    }))
  );

/** Rows of the core ops (CNN ops add theirs in cnn_table). */
export const coreRows: Row[] = [
  unary("neg", T.neg),
  unary("exp", T.exp),
  unary("log", T.log, "positive"),
  unary("sqrt", T.sqrt, "positive"),
  unary("abs", T.abs, "nonzero"),
  unary("tanh", T.tanh),
  unary("sigmoid", T.sigmoid),
  unary("relu", T.relu, "nonzero"),
  {
    // relu's VJP g ↦ (x <= 0 ? 0 : g) as a function of both g and x: the
    // reluMask primitive, its VJP (itself, in g) and its JVP
    name: "relu's VJP (reluMask)",
    arb: shapeArb().map((s) => ({ shapes: [s, s] })),
    domains: ["real", "nonzero"],
    f: (_p, g, x) => T.vjp(T.relu, x)[1](g)[0],
  },
  unary("square", T.square),
  unary("log1p", log1p, "positive"),
  unary("erf", erf),
  {
    // cast is linear, so central differences are exact up to float32
    // rounding (relative 6e-8): a step of 1e-2 keeps that error near 1e-5
    ...unary(
      "astype (cast)",
      (x) => T.astype(T.astype(x, "float32"), "float64"),
    ),
    check: { eps: 1e-2, atol: 1e-4, rtol: 1e-4 },
  },
  // argmax and argmin pick the last axis' maximum and minimum: x times
  // their one-hot mask
  ...[T.argmax, T.argmin].map((arg) => ({
    name: `${arg.name} (as a one-hot mask)`,
    arb: one(1, 3),
    domains: ["real" as const],
    f: (_p: unknown, x: Tensor) => {
      const n = x.shape[x.shape.length - 1];
      const idx = T.expandDims(arg(x, { axis: -1 }), -1);
      return T.mul(x, T.astype(T.equal(idx, T.arange(n)), "float64"));
    },
  })),
  {
    // a key per example (vmap over a list of keys): x times each example's
    // own random 0/1 mask
    name: "random draws per example (vmap over a list of keys)",
    arb: one(1, 3),
    domains: ["real"],
    f: (_p, x) =>
      T.vmap((k: T.random.Key, xi: Tensor) =>
        T.mul(xi, T.astype(T.random.bernoulli(k, 0.5, xi.shape), "float64"))
      )(T.random.split(T.random.key(0), x.shape[0]) as never, x),
  },
  {
    // a key per example folded in from its index: x times that mask
    name: "random draws per example (vmap of foldIn over indices)",
    arb: one(1, 3),
    domains: ["real"],
    f: (_p, x) =>
      T.vmap((i: Tensor, xi: Tensor) =>
        T.mul(
          xi,
          T.astype(
            T.random.bernoulli(
              T.random.foldIn(T.random.key(0), i),
              0.5,
              xi.shape,
            ),
            "float64",
          ),
        )
      )(T.arange(x.shape[0], undefined, 1, { dtype: "int32" }), x),
  },
  binary(
    "compare (a > b as a mask)",
    (a, b) => T.mul(a, T.astype(T.greater(a, b), "float64")),
  ),
  binary("add", T.add),
  binary("sub", T.sub),
  binary("mul", T.mul),
  binary("div", T.div, ["real", "positive"]),
  binary("pow", T.pow, ["positive", "real"]),
  binary("maximum", T.maximum),
  binary("minimum", T.minimum),
  binary("where", (a, b) => T.where(T.greater(a, 0), a, T.mul(b, b))),
  binary(
    "mul(x, number)",
    (a, _b) => T.sub(T.mul(a, 3), T.div(2, T.add(T.square(a), 1))),
  ),
  { name: "sum", arb: reduceArb, domains: ["real"], f: (p, x) => T.sum(x, p) },
  {
    name: "mean",
    arb: reduceArb,
    domains: ["real"],
    f: (p, x) => T.mean(x, p),
  },
  { name: "max", arb: reduceArb, domains: ["real"], f: (p, x) => T.max(x, p) },
  { name: "min", arb: reduceArb, domains: ["real"], f: (p, x) => T.min(x, p) },
  {
    name: "logSumExp",
    arb: reduceArb,
    domains: ["real"],
    f: (p, x) => T.logSumExp(x, p),
  },
  {
    name: "reshape",
    arb: one(1, 3),
    domains: ["real"],
    f: (_p, x) => T.reshape(x, [-1, x.shape[x.shape.length - 1]]),
  },
  {
    name: "flatten",
    arb: one(2, 4),
    domains: ["real"],
    f: (_p, x) => T.flatten(x),
  },
  {
    name: "transpose",
    arb: shapeArb(1, 4).chain((s) =>
      fc.shuffledSubarray([...s.keys()], {
        minLength: s.length,
        maxLength: s.length,
      }).map((perm) => ({
        shapes: [s],
        p: perm,
      }))
    ),
    domains: ["real"],
    f: (p, x) => T.transpose(x, p),
  },
  {
    name: "broadcastTo",
    arb: pair.map(({ shapes: [a, b] }) => ({ shapes: [a], p: b })),
    domains: ["real"],
    f: (p, x) => {
      const target =
        T.broadcastTo(T.zeros(p), [...(broadcastShape(x.shape, p))]).shape;
      return T.broadcastTo(x, target);
    },
  },
  {
    name: "expandDims/squeeze",
    arb: one(0, 3),
    domains: ["real"],
    f: (_p, x) =>
      T.squeeze(T.mul(T.expandDims(x, 0), T.expandDims(T.tanh(x), 0)), 0),
  },
  {
    name: "concat",
    arb: shapeArb(1, 3).chain((s) =>
      fc.tuple(fc.nat(s.length - 1), dim).map(([axis, d]) => {
        const t = s.slice();
        t[axis] = d;
        return { shapes: [s, t], p: axis };
      })
    ),
    domains: ["real", "real"],
    f: (axis, a, b) => T.concat([a, T.tanh(b), a], axis),
  },
  {
    name: "stack",
    arb: shapeArb(0, 2).chain((s) =>
      fc.nat(s.length).map((axis) => ({ shapes: [s, s], p: axis }))
    ),
    domains: ["real", "real"],
    f: (axis, a, b) => T.stack([a, T.mul(a, b)], axis),
  },
  {
    name: "slice",
    arb: shapeArb(1, 3).chain((s) =>
      fc.tuple(...s.map((d) => fc.tuple(fc.nat(d - 1), fc.nat(d - 1)))).map((
        se,
      ) => ({
        shapes: [s],
        p: [
          se.map(([a, b]) => Math.min(a, b)),
          se.map(([a, b]) => Math.max(a, b) + 1),
        ],
      }))
    ),
    domains: ["real"],
    f: ([starts, ends], x) => T.slice(x, starts, ends),
  },
  {
    name: "pad",
    arb: padArb(2, () => 2),
    domains: ["real"],
    f: (w, x) => T.pad(x, w, { value: 0.5 }),
  },
  // pad's other modes, each width as large as the mode allows on that axis
  ...(["reflect", "replicate", "circular"] as const).map((mode) => ({
    name: `pad (mode ${mode})`,
    arb: padArb(
      3,
      (n) => mode === "reflect" ? n - 1 : mode === "circular" ? n : 3,
    ),
    domains: ["real" as const],
    f: (w: number[][], x: Tensor) => T.pad(x, w, { mode }),
  })),
  {
    name: "matmul",
    arb: fc.tuple(
      dim,
      dim,
      dim,
      fc.constantFrom(
        "2d",
        "batched",
        "broadcast",
        "vec-mat",
        "mat-vec",
        "vec-vec",
      ),
    )
      .map(([m, k, n, kind]) => ({
        shapes: kind === "2d"
          ? [[m, k], [k, n]]
          : kind === "batched"
          ? [[2, m, k], [2, k, n]]
          : kind === "broadcast"
          ? [[2, 1, m, k], [3, k, n]]
          : kind === "vec-mat"
          ? [[k], [k, n]]
          : kind === "mat-vec"
          ? [[2, m, k], [k]]
          : [[k], [k]],
      })),
    domains: ["real", "real"],
    f: (_p, a, b) => T.matmul(a, b),
  },
];

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return [...Array(n)].map((_, i) => {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

/** Draws float64 values for `shape` in `domain` from a seed (continuous, so no ties). */
export function drawValues(
  shape: number[],
  domain: Domain,
  seed: number,
): Tensor {
  const key = T.random.key(seed);
  const u = T.random.uniform(key, shape, {
    dtype: "float64",
    minval: 0,
    maxval: 1,
  });
  switch (domain) {
    case "real":
      return T.sub(T.mul(u, 4), 2);
    case "unit":
      return T.sub(T.mul(u, 1.8), 0.9);
    case "positive":
      return T.add(T.mul(u, 2.5), 0.5);
    case "nonzero": {
      const s = T.random.bernoulli(T.random.split(key)[1], 0.5, shape);
      return T.mul(T.add(T.mul(u, 1.8), 0.2), T.sub(T.mul(s, 2), 1));
    }
  }
}
