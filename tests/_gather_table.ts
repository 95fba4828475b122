/**
 * Rows of the gathering, scattering, sorting and embedding ops for the
 * gradient-check table (grad_table_test.ts, and vmap, jit and the
 * architecture test through tests/_rows.ts). Indices are static: drawn with
 * fast-check in range and passed in `p`; the float arguments are drawn as
 * in every row (continuous, so sorts have no ties).
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import { int } from "./_helpers.ts";
import { type Row, shapeArb } from "./_op_table.ts";

type Ints = { shape: number[]; data: number[] };

/** int32 indices of `shape` in [0, n). */
const indicesArb = (shape: number[], n: number): fc.Arbitrary<Ints> =>
  fc.array(int(0, n - 1), {
    minLength: T.zeros(shape).data.length,
    maxLength: T.zeros(shape).data.length,
  }).map((data) => ({ shape, data }));

const ints = (i: Ints) => T.tensor(i.data, { shape: i.shape, dtype: "int32" });

/** A shape of rank 1..3 and one of its axes (negative half the time). */
const withAxis = shapeArb(1, 3).chain((s) =>
  fc.tuple(fc.nat(s.length - 1), fc.boolean()).map(([a, neg]) => ({
    s,
    a,
    axis: neg ? a - s.length : a,
  }))
);

/** Indices of x's rank for an op along `a`: up to x's size off the axis, 1..3 along it. */
const alongArb = (s: number[], a: number) =>
  fc.tuple(...s.map((d, i) => (i === a ? int(1, 3) : int(1, d))))
    .chain((ishape) => indicesArb(ishape, s[a]));

/** Rows of ops/indexing.ts. */
export const gatherRows: Row[] = [
  {
    name: "take",
    arb: fc.tuple(withAxis, shapeArb(0, 2), fc.boolean()).chain((
      [{ s, a, axis }, ishape, flat],
    ) =>
      indicesArb(ishape, flat ? T.zeros(s).data.length : s[a]).map((idx) => ({
        shapes: [s],
        p: { idx, options: flat ? {} : { axis } },
      }))
    ),
    domains: ["real"],
    f: (p, x) => T.take(T.mul(x, x), ints(p.idx), p.options),
  },
  {
    name: "takeAlongAxis",
    arb: withAxis.chain(({ s, a, axis }) =>
      alongArb(s, a).map((idx) => ({ shapes: [s], p: { idx, axis } }))
    ),
    domains: ["real"],
    f: (p, x) => T.takeAlongAxis(T.tanh(x), ints(p.idx), { axis: p.axis }),
  },
  {
    name: "scatterAdd",
    arb: withAxis.chain(({ s, a, axis }) =>
      alongArb(s, a).chain((idx) =>
        fc.tuple(...idx.shape.map((d) => int(d, d + 1))).map((src) => ({
          shapes: [s, src],
          p: { idx, axis },
        }))
      )
    ),
    domains: ["real", "real"],
    f: (p, x, src) =>
      T.scatterAdd(x, ints(p.idx), T.mul(src, src), { axis: p.axis }),
  },
  {
    name: "sort",
    arb: fc.tuple(withAxis, fc.boolean()).map(([{ s, axis }, descending]) => ({
      shapes: [s],
      p: { axis, descending },
    })),
    domains: ["real"],
    f: (p, x) => T.sort(x, p).values,
  },
  {
    name: "topk",
    arb: fc.tuple(withAxis, fc.boolean()).chain(([{ s, a, axis }, largest]) =>
      int(0, s[a]).map((k) => ({ shapes: [s], p: { k, axis, largest } }))
    ),
    domains: ["real"],
    f: ({ k, ...p }, x) => T.mul(T.topk(x, k, p).values, 2),
  },
  {
    name: "embedding",
    arb: fc.tuple(int(1, 4), int(1, 3), shapeArb(0, 2)).chain(([n, d, s]) =>
      indicesArb(s, n).map((idx) => ({ shapes: [[n, d]], p: idx }))
    ),
    domains: ["real"],
    f: (p, w) => T.embedding(ints(p), T.square(w)),
  },
  {
    // oneHot has no gradient: x times the one-hot rows of fixed labels
    name: "oneHot (as a mask)",
    arb: fc.tuple(shapeArb(0, 2), int(1, 3)).chain(([s, c]) =>
      indicesArb(s, c).map((labels) => ({
        shapes: [[...s, c]],
        p: { labels, c },
      }))
    ),
    domains: ["real"],
    f: (p, x) => T.mul(x, T.oneHot(ints(p.labels), p.c, { dtype: "float64" })),
  },
];
