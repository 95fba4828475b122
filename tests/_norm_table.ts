/**
 * Rows of the normalization layers' functions and four losses for the
 * gradient-check table (grad_table_test.ts; vmap_test.ts and jit_test.ts run
 * them too): layerNorm, groupNorm, instanceNorm, dropout2d, huberLoss, smoothL1Loss, klDiv
 * and cosineSimilarity. Sizes stay tiny (each axis <= 3) so the order-2
 * checks stay fast; inputs stay off the kinks (|input - target| >= 0.3, so
 * never at 0; norms >= 0.2, above eps, where the clamp does not act).
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { int } from "./_helpers.ts";
import { type Row, shapeArb } from "./_op_table.ts";

type Draw = { shapes: number[][]; p?: unknown };

const reductionArb = fc.constantFrom(
  "mean" as const,
  "sum" as const,
  "none" as const,
);

/** target = s + sign(s), in ±[1.2, 3] for s drawn "nonzero": |x - target| >= 0.3 for x in [-0.9, 0.9]. */
const awayFrom = (s: Tensor) => T.add(s, T.div(s, T.abs(s)));

/** A regression loss of (input, target) with one threshold option drawn from `values`. */
const regressionRow = (
  name: string,
  option: "delta" | "beta",
  values: number[],
  loss: (x: Tensor, t: Tensor, o: Record<string, unknown>) => Tensor,
): Row => ({
  name,
  arb: fc.tuple(shapeArb(0, 3), reductionArb, fc.constantFrom(...values))
    .map(([s, reduction, v]): Draw => ({
      shapes: [s, s],
      p: { reduction, [option]: v },
    })),
  domains: ["unit", "nonzero"],
  f: (p, x, s) => loss(x, awayFrom(s), p),
});

export const normRows: Row[] = [
  {
    name: "layerNorm",
    arb: fc.record({
      lead: shapeArb(0, 2),
      normalized: shapeArb(1, 2),
      weight: fc.boolean(),
      bias: fc.boolean(),
      eps: fc.constantFrom(1e-5, 0.1),
    }).map((d): Draw => ({
      shapes: [[...d.lead, ...d.normalized], d.normalized, d.normalized],
      p: d,
    })),
    domains: ["real", "real", "real"],
    f: (p, x, w, b) =>
      T.layerNorm(x, p.normalized, p.weight ? w : null, p.bias ? b : null, {
        eps: p.eps,
      }),
  },
  {
    name: "groupNorm",
    arb: fc.record({
      n: int(1, 2),
      groups: int(1, 3),
      perGroup: int(1, 2),
      spatial: shapeArb(0, 2),
      affine: fc.boolean(),
      eps: fc.constantFrom(1e-5, 0.1),
    }).map((d): Draw => {
      const c = d.groups * d.perGroup;
      return { shapes: [[d.n, c, ...d.spatial], [c], [c]], p: d };
    }),
    domains: ["real", "real", "real"],
    f: (p, x, w, b) =>
      T.groupNorm(x, p.groups, p.affine ? w : null, p.affine ? b : null, {
        eps: p.eps,
      }),
  },
  {
    name: "localResponseNorm",
    arb: fc.record({
      n: int(1, 2),
      c: int(1, 4),
      spatial: shapeArb(1, 2),
      size: int(1, 4),
      k: fc.constantFrom(1, 2),
    }).map((d): Draw => ({ shapes: [[d.n, d.c, ...d.spatial]], p: d })),
    domains: ["real"],
    f: (d, x) =>
      T.localResponseNorm(x, d.size, { alpha: 0.5, beta: 0.75, k: d.k }),
  },
  {
    name: "instanceNorm",
    arb: fc.record({
      n: int(1, 2),
      c: int(1, 3),
      // more than one position per instance (the op's requirement)
      spatial: fc.array(int(2, 3), { minLength: 1, maxLength: 2 }),
      affine: fc.boolean(),
      eps: fc.constantFrom(1e-5, 0.1),
    }).map((d): Draw => ({
      shapes: [[d.n, d.c, ...d.spatial], [d.c], [d.c]],
      p: d,
    })),
    domains: ["real", "real", "real"],
    f: (p, x, w, b) =>
      T.instanceNorm(x, {
        weight: p.affine ? w : null,
        bias: p.affine ? b : null,
        eps: p.eps,
      }).y,
  },
  {
    name: "instanceNorm (evaluation, running statistics)",
    arb: fc.record({
      n: int(1, 2),
      c: int(1, 3),
      spatial: shapeArb(1, 2),
    }).map((d): Draw => ({
      shapes: [[d.n, d.c, ...d.spatial], [d.c], [d.c], [d.c]],
    })),
    domains: ["real", "real", "positive", "real"],
    f: (_p, x, mean, variance, w) =>
      T.instanceNorm(x, {
        useInputStats: false,
        runningMean: mean,
        runningVar: variance,
        weight: w,
      }).y,
  },
  {
    name: "dropout2d (training, fixed key)",
    arb: fc.tuple(
      shapeArb(3, 4),
      fc.constantFrom(0, 0.3, 0.5, 1),
      fc.nat(100),
    ).map(([s, p, seed]): Draw => ({ shapes: [s], p: { p, seed } })),
    domains: ["real"],
    // a fixed mask: a linear function of x
    f: (p, x) =>
      T.dropout2d(x, { p: p.p, key: T.random.key(p.seed), training: true }),
  },
  ...(["dropout1d", "alphaDropout", "featureAlphaDropout"] as const).map((
    name,
  ): Row => ({
    name: `${name} (training, fixed key)`,
    arb: fc.tuple(
      name === "dropout1d" ? shapeArb(2, 3) : shapeArb(2, 4),
      fc.constantFrom(0, 0.3, 0.5, 1),
      fc.nat(100),
    ).map(([s, p, seed]): Draw => ({ shapes: [s], p: { p, seed } })),
    domains: ["real"],
    // a fixed mask: an affine function of x
    f: (p, x) =>
      T[name](x, { p: p.p, key: T.random.key(p.seed), training: true }),
  })),
  regressionRow(
    "huberLoss",
    "delta",
    [0.5, 1, 2],
    (x, t, o) => T.huberLoss(x, t, o),
  ),
  regressionRow(
    "smoothL1Loss",
    "beta",
    [0, 0.5, 1],
    (x, t, o) => T.smoothL1Loss(x, t, o),
  ),
  {
    name: "klDiv",
    arb: fc.tuple(
      shapeArb(0, 3),
      fc.constantFrom(
        "mean" as const,
        "batchmean" as const,
        "sum" as const,
        "none" as const,
      ),
      fc.boolean(),
    ).map(([s, reduction, logTarget]): Draw => ({
      shapes: [s, s, s],
      p: { reduction, logTarget },
    })),
    // input any real (log-probabilities in use); target > 0, or its log
    domains: ["real", "positive", "real"],
    f: (p, x, t, logT) => T.klDiv(x, p.logTarget ? logT : t, p),
  },
  {
    name: "cosineSimilarity",
    arb: shapeArb(1, 3).chain((s) =>
      fc.tuple(
        fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
        fc.nat(s.length - 1),
        fc.boolean(),
        fc.constantFrom(1e-8, 0.1),
      ).map(([ones, axis, neg, eps]): Draw => ({
        // x2 broadcasts: some axes of size 1 (the norm is the broadcast one's)
        shapes: [s, s.map((d, i) => (ones[i] ? 1 : d))],
        p: { axis: neg ? axis - s.length : axis, eps },
      }))
    ),
    domains: ["nonzero", "nonzero"],
    f: (p, a, b) => T.cosineSimilarity(a, b, p),
  },
  {
    name: "normalize (p 2, 1, 3)",
    arb: shapeArb(1, 3).chain((s) =>
      fc.tuple(fc.nat(s.length - 1), fc.constantFrom(2, 1, 3)).map((
        [axis, p],
      ): Draw => ({ shapes: [s], p: { axis, p } }))
    ),
    domains: ["nonzero"],
    f: (p, x) => T.normalize(x, p),
  },
  // the margin losses with margins that keep every term on one side of its
  // kink (finite differences need it), targets ±1 from signs of draws
  {
    name: "marginRankingLoss",
    arb: fc.tuple(shapeArb(0, 2), reductionArb).map(([s, reduction]): Draw => ({
      shapes: [s, s, s],
      p: { reduction, margin: 3 },
    })),
    domains: ["unit", "unit", "nonzero"],
    f: (p, a, b, t) => T.marginRankingLoss(a, b, T.sign(t), p),
  },
  {
    name: "hingeEmbeddingLoss",
    arb: fc.tuple(shapeArb(0, 2), reductionArb).map(([s, reduction]): Draw => ({
      shapes: [s, s],
      p: { reduction, margin: 3 },
    })),
    domains: ["unit", "nonzero"],
    f: (p, x, t) => T.hingeEmbeddingLoss(x, T.sign(t), p),
  },
  {
    name: "softMarginLoss",
    arb: fc.tuple(shapeArb(0, 2), reductionArb).map(([s, reduction]): Draw => ({
      shapes: [s, s],
      p: { reduction },
    })),
    domains: ["real", "nonzero"],
    f: (p, x, t) => T.softMarginLoss(x, T.sign(t), p),
  },
  {
    name: "multilabelSoftMarginLoss",
    arb: fc.tuple(int(1, 3), int(1, 3), reductionArb, fc.boolean()).map((
      [n, c, reduction, weighted],
    ): Draw => ({
      shapes: [[n, c], [n, c], [c]],
      p: { reduction, weighted },
    })),
    domains: ["real", "unit", "positive"],
    // targets in (0, 1): the loss is smooth in them too
    f: (p, x, t, w) =>
      T.multilabelSoftMarginLoss(x, T.sigmoid(t), {
        reduction: p.reduction,
        weight: p.weighted ? w : null,
      }),
  },
  {
    name: "multiMarginLoss",
    arb: fc.record({
      n: int(1, 3),
      c: int(1, 3),
      p: fc.constantFrom(1 as const, 2 as const),
      reduction: reductionArb,
      seed: fc.nat(1000),
    }).map((d): Draw => ({ shapes: [[d.n, d.c], [d.c]], p: d })),
    domains: ["unit", "positive"],
    f: (d, x, w) =>
      T.multiMarginLoss(
        x,
        T.random.randint(T.random.key(d.seed), [d.n], 0, d.c),
        { p: d.p, margin: 3, weight: w, reduction: d.reduction },
      ),
  },
  {
    name: "cosineEmbeddingLoss",
    arb: fc.tuple(int(1, 3), int(1, 3), reductionArb).map((
      [n, d, reduction],
    ): Draw => ({ shapes: [[n, d], [n, d], [n]], p: { reduction } })),
    domains: ["nonzero", "nonzero", "nonzero"],
    f: (p, a, b, t) =>
      T.cosineEmbeddingLoss(a, b, T.sign(t), { ...p, margin: -3 }),
  },
  {
    name: "pairwiseDistance",
    arb: fc.tuple(shapeArb(1, 2), fc.constantFrom(1, 2, 3), fc.boolean()).map((
      [s, p, keepDim],
    ): Draw => ({ shapes: [s, s], p: { p, keepDim } })),
    // x1 - x2 stays away from -eps: x2 = -s, x1 "nonzero" shifted
    domains: ["nonzero", "nonzero"],
    f: (p, a, b) => T.pairwiseDistance(T.mul(a, 3), T.neg(b), p),
  },
  {
    name: "tripletMarginLoss",
    arb: fc.tuple(int(1, 3), int(1, 3), reductionArb, fc.boolean()).map((
      [n, d, reduction, swap],
    ): Draw => ({ shapes: [[n, d], [n, d], [n, d]], p: { reduction, swap } })),
    domains: ["nonzero", "nonzero", "nonzero"],
    f: (p, a, pos, neg) =>
      T.tripletMarginLoss(T.mul(a, 5), pos, T.neg(neg), {
        ...p,
        margin: 30,
      }),
  },
  {
    name: "poissonNllLoss",
    arb: fc.tuple(shapeArb(0, 2), reductionArb, fc.boolean(), fc.boolean())
      .map(([s, reduction, logInput, full]): Draw => ({
        shapes: [s, s],
        p: { reduction, logInput, full },
      })),
    domains: ["positive", "positive"],
    // targets above 1 by at least 0.2 or below: Stirling's term switches at 1
    f: (p, x, t) => T.poissonNllLoss(x, T.add(T.mul(t, 2), 1.2), p),
  },
  {
    name: "gaussianNllLoss",
    arb: fc.tuple(shapeArb(1, 3), reductionArb, fc.boolean(), fc.boolean())
      .map(([s, reduction, full, perRow]): Draw => ({
        // var: input's shape, or one per row (without the last axis)
        shapes: [s, s, perRow ? s.slice(0, -1) : s],
        p: { reduction, full },
      })),
    domains: ["real", "real", "positive"],
    // variances at least 0.1 above the default eps (1e-6), where it clamps
    f: (p, x, t, v) => T.gaussianNllLoss(x, t, T.add(v, 0.1), p),
  },
];
