/**
 * Reductions: `sumRuns`, the sum of each run of consecutive floats (a
 * conv bias's gradient, and `sum` over the last axes); `sumParts`, float32
 * arrays added at chosen places in float64 (a weight gradient's partial
 * sums, one per image range, and their lanes); `sparseStats`, the nonzeros of one array and
 * the infinities and NaNs of another (whether the sparse weight gradient
 * may run).
 *
 * @module
 */
import {
  block,
  br,
  brIf,
  type Code,
  F32,
  f32,
  f32x4,
  F64,
  f64,
  f64x2,
  for_,
  get,
  I32,
  i32,
  i32x4,
  loop,
  set,
  V128,
  v128,
} from "../_asm.ts";
import {
  add,
  c,
  type FamilyTemplates,
  kernel,
  lanes,
  min,
  mul,
  sub,
  type Template,
  x4,
} from "./emit.ts";
import { SPARSE_SAMPLE } from "../layout.ts";

// ---- the sum of each run of `len` floats (runs r0..r1 of x, one after
// another), in blocks of SUM_BLOCK floats: per block 4 vector accumulators
// over 16 floats a step, then single vectors, then single floats, then the
// lanes added; the blocks' float32 sums added in float64 and rounded once
// (a run of at most one block is that block's sum: no rounding is added).
// So a long run's error grows with the block, not with the run. A conv bias's
// gradient sums [N, C, H·W] over N and H·W: a run per (n, c).
const SUM_BLOCK = 1024;
const sumRuns: Template = () =>
  kernel(
    "sumRuns",
    {
      r: I32,
      s: I32,
      e: I32,
      be: I32,
      e16: I32,
      a0: V128,
      a1: V128,
      a2: V128,
      a3: V128,
      t: F32,
      total: F64,
    },
    (p, l) => [
      for_(l.r, get(p.r0), get(p.r1), c(1), [
        set(l.s, add(get(p.x), x4(mul(get(l.r), get(p.len))))),
        set(l.e, add(get(l.s), x4(get(p.len)))),
        set(l.total, f64.const_(0)),
        block(loop(
          set(l.be, min(add(get(l.s), c(4 * SUM_BLOCK)), get(l.e))),
          set(l.e16, sub(get(l.be), c(64))),
          set(l.a0, v128.zero()),
          set(l.a1, v128.zero()),
          set(l.a2, v128.zero()),
          set(l.a3, v128.zero()),
          block(loop(
            brIf(1, i32.gt_s(get(l.s), get(l.e16))),
            set(l.a0, f32x4.add(get(l.a0), v128.load(get(l.s)))),
            set(l.a1, f32x4.add(get(l.a1), v128.load(get(l.s), 16))),
            set(l.a2, f32x4.add(get(l.a2), v128.load(get(l.s), 32))),
            set(l.a3, f32x4.add(get(l.a3), v128.load(get(l.s), 48))),
            set(l.s, add(get(l.s), c(64))),
            br(0),
          )),
          block(loop(
            brIf(1, i32.gt_s(add(get(l.s), c(16)), get(l.be))),
            set(l.a0, f32x4.add(get(l.a0), v128.load(get(l.s)))),
            set(l.s, add(get(l.s), c(16))),
            br(0),
          )),
          set(
            l.a0,
            f32x4.add(
              f32x4.add(get(l.a0), get(l.a1)),
              f32x4.add(get(l.a2), get(l.a3)),
            ),
          ),
          set(
            l.t,
            f32.add(
              f32.add(
                f32x4.extractLane(get(l.a0), 0),
                f32x4.extractLane(get(l.a0), 1),
              ),
              f32.add(
                f32x4.extractLane(get(l.a0), 2),
                f32x4.extractLane(get(l.a0), 3),
              ),
            ),
          ),
          block(loop(
            brIf(1, i32.ge_s(get(l.s), get(l.be))),
            set(l.t, f32.add(get(l.t), f32.load(get(l.s)))),
            set(l.s, add(get(l.s), c(4))),
            br(0),
          )),
          set(l.total, f64.add(get(l.total), f64.promote(get(l.t)))),
          brIf(0, i32.lt_s(get(l.s), get(l.e))),
        )),
        f32.store(add(get(p.out), x4(get(l.r))), f32.demote(get(l.total))),
      ]),
    ],
  );

// ---- out[i] (float32) = the sum over the lanes l < lanes of the sum over
// the float32 arrays at the `parts` addresses in the int32 table (in table
// order) of their values at at[i] + l (at: an int32 table of n offsets,
// in floats), all in float64 and rounded to float32 once: for each lane,
// the first part's value, then each next one added; the lanes' sums added
// to 0 in order (a weight gradient's partial sums per image range, and the
// lanes some kernels sum a weight's pixels in).
const sumParts: Template = () =>
  kernel(
    "sumParts",
    {
      i: I32,
      l: I32,
      b: I32,
      t: I32,
      te: I32,
      s: F64,
      sum: F64,
    },
    (p, l) => [
      set(l.te, add(get(p.table), x4(get(p.parts)))),
      for_(l.i, c(0), get(p.n), c(1), [
        set(l.b, x4(i32.load(add(get(p.at), x4(get(l.i)))))),
        set(l.sum, f64.const_(0)),
        for_(l.l, c(0), get(p.lanes), c(1), [
          set(
            l.s,
            f64.promote(f32.load(add(i32.load(get(p.table)), get(l.b)))),
          ),
          for_(l.t, add(get(p.table), c(4)), get(l.te), c(4), [
            set(
              l.s,
              f64.add(
                get(l.s),
                f64.promote(f32.load(add(i32.load(get(l.t)), get(l.b)))),
              ),
            ),
          ]),
          set(l.sum, f64.add(get(l.sum), get(l.s))),
          set(l.b, add(get(l.b), c(4))),
        ]),
        f32.store(add(get(p.out), x4(get(l.i))), f32.demote(get(l.sum))),
      ]),
    ],
  );

// ---- how sparse a weight gradient's y is and whether its x is finite
// (see convWeightSparse): out[0..3] (int32) less the lanes' counts of the
// nonzero values of y (NaN counts) among its samples, out[8] the same
// count over the last ny % 4 values; out[9] 1 when a value of x is not
// finite, else 0. y's samples: the first 16 of each whole block of 128
// values (one cache line in eight, SPARSE_SAMPLE), then every value after
// the last whole block. x's values v go into sums of v - v (0 for a finite
// v, NaN for an infinity or NaN, and a NaN stays), 16 values a step.
const sparseStats: Template = () =>
  kernel(
    "sparseStats",
    {
      s: I32,
      e: I32,
      e4: I32,
      t: I32,
      acc: V128,
      f0: V128,
      f1: V128,
      f2: V128,
      f3: V128,
      v: V128,
      ft: F32,
    },
    (p, l) => {
      const inf = (
        v: Code,
      ): Code => [set(l.v, v), f32x4.sub(get(l.v), get(l.v))];
      const f = [l.f0, l.f1, l.f2, l.f3];
      return [
        // y's nonzeros: the first 16 values of each whole block
        set(l.acc, v128.zero()),
        set(l.s, get(p.y)),
        set(l.e, add(get(p.y), x4(i32.and(get(p.ny), c(-SPARSE_SAMPLE))))),
        block(loop(
          brIf(1, i32.ge_u(get(l.s), get(l.e))),
          [0, 1, 2, 3].map((q) =>
            set(
              l.acc,
              i32x4.add(
                get(l.acc),
                f32x4.ne(v128.load(get(l.s), 16 * q), v128.zero()),
              ),
            )
          ),
          set(l.s, add(get(l.s), c(4 * SPARSE_SAMPLE))),
          br(0),
        )),
        // then every value
        set(l.e, add(get(p.y), x4(get(p.ny)))),
        set(l.e4, add(get(p.y), x4(i32.and(get(p.ny), c(-4))))),
        block(loop(
          brIf(1, i32.ge_u(get(l.s), get(l.e4))),
          set(
            l.acc,
            i32x4.add(get(l.acc), f32x4.ne(v128.load(get(l.s)), v128.zero())),
          ),
          set(l.s, add(get(l.s), c(16))),
          br(0),
        )),
        v128.store(get(p.out), get(l.acc)),
        set(l.t, c(0)),
        block(loop(
          brIf(1, i32.ge_u(get(l.s), get(l.e))),
          set(l.t, add(get(l.t), f32.ne(f32.load(get(l.s)), f32.const_(0)))),
          set(l.s, add(get(l.s), c(4))),
          br(0),
        )),
        i32.store(get(p.out), get(l.t), 32),
        // x's sums of v - v: four vectors a step, then one, then floats
        f.map((a) => set(a, v128.zero())),
        set(l.s, get(p.x)),
        set(l.e, add(get(p.x), x4(i32.and(get(p.nx), c(-16))))),
        block(loop(
          brIf(1, i32.ge_u(get(l.s), get(l.e))),
          f.map((a, q) =>
            set(a, f32x4.add(get(a), inf(v128.load(get(l.s), 16 * q))))
          ),
          set(l.s, add(get(l.s), c(64))),
          br(0),
        )),
        set(l.e, add(get(p.x), x4(i32.and(get(p.nx), c(-4))))),
        block(loop(
          brIf(1, i32.ge_u(get(l.s), get(l.e))),
          set(l.f0, f32x4.add(get(l.f0), inf(v128.load(get(l.s))))),
          set(l.s, add(get(l.s), c(16))),
          br(0),
        )),
        set(l.e, add(get(p.x), x4(get(p.nx)))),
        set(l.ft, f32.const_(0)),
        block(loop(
          brIf(1, i32.ge_u(get(l.s), get(l.e))),
          set(
            l.ft,
            f32.add(
              get(l.ft),
              f32.sub(f32.load(get(l.s)), f32.load(get(l.s))),
            ),
          ),
          set(l.s, add(get(l.s), c(4))),
          br(0),
        )),
        set(
          l.f0,
          f32x4.add(
            f32x4.add(get(l.f0), get(l.f1)),
            f32x4.add(get(l.f2), f32x4.splat(get(l.ft))),
          ),
        ),
        set(l.f0, f32x4.add(get(l.f0), get(l.f3))),
        i32.store(
          get(p.out),
          i32.ne(i32x4.bitmask(f32x4.ne(get(l.f0), get(l.f0))), c(0)),
          36,
        ),
      ];
    },
  );

// ---- the sums of the columns of x [rows, cols] (a linear bias's gradient):
// out[j] (float32) = x[0][j] + x[1][j] + ... in float64, in row order from
// 0 (as sumAxes's loop adds rows into its float64 sums), four columns a
// step (two f64x2 sums), then one at a time.
const sumCols: Template = () =>
  kernel(
    "sumCols",
    { j: I32, s: I32, e: I32, v: V128, a0: V128, a1: V128, t: F64 },
    (p, l) => {
      /** The sums of the column(s) from j, down the rows: `step` per row. */
      const down = (step: Code[]): Code[] => [
        set(l.s, add(get(p.x), x4(get(l.j)))),
        set(l.e, add(get(l.s), x4(mul(get(p.rows), get(p.cols))))),
        block(loop(
          brIf(1, i32.ge_u(get(l.s), get(l.e))),
          step,
          set(l.s, add(get(l.s), x4(get(p.cols)))),
          br(0),
        )),
      ];
      return [
        set(l.j, c(0)),
        block(loop(
          brIf(1, i32.gt_s(add(get(l.j), c(4)), get(p.cols))),
          set(l.a0, f64x2.splat(f64.const_(0))),
          set(l.a1, get(l.a0)),
          down([
            set(l.v, v128.load(get(l.s))),
            set(l.a0, f64x2.add(get(l.a0), f64x2.promoteLow(get(l.v)))),
            set(
              l.a1,
              f64x2.add(
                get(l.a1),
                f64x2.promoteLow(
                  v128.shuffle(get(l.v), get(l.v), lanes(2, 3, 2, 3)),
                ),
              ),
            ),
          ]),
          v128.store(
            add(get(p.out), x4(get(l.j))),
            v128.shuffle(
              f32x4.demoteZero(get(l.a0)),
              f32x4.demoteZero(get(l.a1)),
              lanes(0, 1, 4, 5),
            ),
          ),
          set(l.j, add(get(l.j), c(4))),
          br(0),
        )),
        block(loop(
          brIf(1, i32.ge_s(get(l.j), get(p.cols))),
          set(l.t, f64.const_(0)),
          down([set(l.t, f64.add(get(l.t), f64.promote(f32.load(get(l.s)))))]),
          f32.store(add(get(p.out), x4(get(l.j))), f32.demote(get(l.t))),
          set(l.j, add(get(l.j), c(1))),
          br(0),
        )),
      ];
    },
  );

/** The reductions' templates. */
export const reduce: FamilyTemplates<"reduce"> = {
  sumRuns,
  sumParts,
  sparseStats,
  sumCols,
};
