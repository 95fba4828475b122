/**
 * Rows of the shape ops and einsum for the gradient-check table (and vmap,
 * jit and the architecture test, through _rows.ts): flip, roll, tile, repeat,
 * tril/triu, meshgrid and einsum over a list of specs, on tiny shapes.
 * Each op is linear, so it is multiplied by its input (or a tanh of it) where
 * that keeps the second-order check from being trivially zero.
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import { int } from "./_helpers.ts";
import { type Row, shapeArb } from "./_op_table.ts";

/** A shape of rank min..max and a non-empty list of its axes (some negative). */
const withAxes = (min: number, max: number) =>
  shapeArb(min, max).chain((s) =>
    fc.tuple(
      fc.shuffledSubarray([...s.keys()], { minLength: 1 }),
      fc.boolean(),
    ).map(([axes, neg]) => ({
      shapes: [s],
      p: axes.map((a) => (neg ? a - s.length : a)),
    }))
  );

/**
 * Einsum specs with the forms the op lowers differently, each with the
 * letters that size its operands when they differ from the spec's (an
 * ellipsis' axes as capitals, 1 for an axis of size 1 that broadcasts).
 */
const specs: [string, string?][] = [
  ["ij,jk->ik"],
  ["bij,bjk->bik"],
  ["ij->ji"],
  ["ii->i"],
  ["ii->"],
  ["ij->j"],
  ["i,j->ij"],
  ["ij,ij->i"],
  ["ij,ij->ij"],
  ["ijk,jl->lik"],
  ["bn,anm,bm->ba"],
  ["iij,jk->ik"],
  ["...ij,...jk->...ik", "XYij,Yjk"],
  ["i...->i", "iXY"],
  ["bij,bjk->bik", "1ij,bjk"],
];
/** A shape of rank 1..3, one of its axes (negative half the time) and a k in [1, its size]. */
const selectArb = shapeArb(1, 3).chain((s) =>
  fc.tuple(fc.nat(s.length - 1), fc.boolean(), fc.boolean()).chain((
    [a, neg, keepDims],
  ) =>
    int(1, s[a]).map((k) => ({
      shapes: [s],
      p: { axis: neg ? a - s.length : a, k, keepDims },
    }))
  )
);

/** The rows of ops/shape.ts and ops/einsum.ts (and ops/counting.ts' selections). */
export const shapeRows: Row[] = [
  {
    name: "flip",
    arb: withAxes(1, 3),
    domains: ["real"],
    f: (axis, x) => T.mul(T.flip(x, { axis }), x),
  },
  {
    name: "roll",
    arb: shapeArb(1, 3).chain((s) =>
      fc.tuple(
        fc.option(fc.shuffledSubarray([...s.keys()], { minLength: 1 })),
        int(-5, 5),
      ).map(([axis, shift]) => ({
        shapes: [s],
        // without axis the flattened x rolls; else one shift per axis
        p: axis === null
          ? { shifts: shift }
          : { shifts: axis.map((_, i) => shift + 2 * i), axis },
      }))
    ),
    domains: ["real"],
    f: ({ shifts, axis }, x) =>
      T.mul(T.roll(x, shifts, axis === undefined ? {} : { axis }), x),
  },
  {
    name: "tile",
    arb: fc.tuple(shapeArb(0, 2), fc.array(int(1, 2), { maxLength: 3 })).map((
      [s, reps],
    ) => ({ shapes: [s], p: reps })),
    domains: ["real"],
    f: (reps, x) => T.tanh(T.tile(x, reps)),
  },
  {
    name: "repeat",
    arb: shapeArb(1, 2).chain((s) =>
      fc.tuple(
        fc.option(fc.nat(s.length - 1)),
        fc.boolean(),
        fc.array(int(0, 2), { minLength: s[0], maxLength: s[0] }),
        int(1, 2),
      ).map(([axis, each, list, k]) => ({
        shapes: [s],
        // a list of counts along axis 0, else one count
        p: axis === 0 && each ? { repeats: list, axis } : {
          repeats: k,
          axis: axis ?? undefined,
        },
      }))
    ),
    domains: ["real"],
    f: ({ repeats, axis }, x) =>
      T.tanh(T.repeat(x, repeats, axis === undefined ? {} : { axis })),
  },
  {
    name: "tril/triu",
    arb: fc.tuple(shapeArb(2, 3), int(-3, 3), fc.boolean()).map((
      [s, k, lower],
    ) => ({ shapes: [s], p: { k, lower } })),
    domains: ["real"],
    f: ({ k, lower }, x) =>
      T.mul(lower ? T.tril(x, { k }) : T.triu(x, { k }), T.tanh(x)),
  },
  {
    name: "meshgrid",
    arb: fc.tuple(
      fc.array(int(1, 3), { minLength: 1, maxLength: 3 }),
      fc.constantFrom("ij" as const, "xy" as const),
    ).map(([sizes, indexing]) => ({
      shapes: sizes.map((n) => [n]),
      p: indexing,
    })),
    domains: ["real", "real", "real"],
    f: (indexing, ...xs) => {
      const grids = T.meshgrid(...xs, { indexing });
      return T.mul(T.stack(grids), T.tanh(grids[0]));
    },
  },
  {
    name: "einsum",
    arb: fc.tuple(
      fc.constantFrom(...specs),
      fc.array(int(1, 3), { minLength: 26 * 2, maxLength: 26 * 2 }),
    ).map(([[spec, letters], ds]) => {
      const size = (l: string) =>
        l === "1"
          ? 1
          : ds[l < "a" ? l.charCodeAt(0) - 65 + 26 : l.charCodeAt(0) - 97];
      const ins = (letters ?? spec.split("->")[0]).split(",");
      return { shapes: ins.map((t) => [...t].map(size)), p: spec };
    }),
    domains: ["real", "real", "real"],
    f: (spec, ...xs) => T.einsum(spec, ...xs),
  },
  {
    // chunk's and split's pieces, stacked back in another order
    name: "split, chunk (pieces reordered)",
    arb: fc.tuple(shapeArb(1, 3), int(1, 4), fc.boolean()).map((
      [s, k, neg],
    ) => ({ shapes: [s], p: { k, axis: neg ? -1 : 0 } })),
    domains: ["real"],
    f: ({ k, axis }, x) => {
      const pieces = T.chunk(x, k, { axis });
      const cuts = T.split(x, [1], { axis });
      return T.mul(
        T.concat([...pieces.reverse(), ...cuts], axis),
        T.tanh(T.concat([x, x], axis)),
      );
    },
  },
  {
    name: "moveaxis, swapaxes, diff",
    arb: withAxes(2, 3),
    domains: ["real"],
    f: (axes, x) => {
      const moved = T.swapaxes(T.moveaxis(x, axes[0], -1), 0, -1);
      const second = T.diff(moved, { n: 2, axis: -1 });
      return T.mul(T.diff(moved, { axis: 0 }), T.sum(T.tanh(second)));
    },
  },
  {
    name: "tensordot, kron",
    arb: fc.tuple(shapeArb(1, 3), int(1, 3)).map(([s, m]) => ({
      shapes: [s, [s.at(-1)!, m]],
      p: null,
    })),
    domains: ["real", "real"],
    f: (_p, a, b) =>
      T.add(
        T.sum(T.tanh(T.tensordot(a, b, 1))),
        T.sum(T.mul(T.kron(a, b), T.kron(b, a))),
      ),
  },
  {
    name: "rot90, diag",
    arb: fc.tuple(shapeArb(2, 3), int(-5, 5)).map(([s, k]) => ({
      shapes: [s, [s[0]]],
      p: k,
    })),
    domains: ["real", "real"],
    f: (k, x, v) =>
      T.add(
        T.sum(T.mul(T.rot90(x, k), T.tanh(T.rot90(x, k)))),
        T.sum(
          T.mul(
            T.diag(v, { k }),
            T.sum(T.diag(T.reshape(x, [x.shape[0], -1]), { k })),
          ),
        ),
      ),
  },
  {
    name: "diagonal, trace, outer",
    arb: fc.tuple(shapeArb(2, 3), int(-2, 2)).map(([s, offset]) => ({
      shapes: [s],
      p: offset,
    })),
    domains: ["real"],
    f: (offset, x) => {
      const d = T.diagonal(x, { offset, axis1: -1, axis2: 0 });
      return T.add(
        T.sum(T.outer(d, T.tanh(d))),
        T.mul(T.trace(x, { offset }), T.sum(x)),
      );
    },
  },
  {
    // the values at the selected indices (the draws are continuous: no ties)
    name: "kthvalue, mode",
    arb: selectArb,
    domains: ["real"],
    f: ({ axis, k, keepDims }, x) => {
      const kth = T.kthvalue(T.tanh(x), k, { axis, keepDims }).values;
      return T.mul(kth, T.mode(x, { axis, keepDims }).values);
    },
  },
  {
    name: "cummax, cummin",
    arb: selectArb,
    domains: ["real"],
    f: ({ axis }, x) =>
      T.mul(
        T.cummax(T.square(x), { axis }).values,
        T.cummin(x, { axis }).values,
      ),
  },
];
