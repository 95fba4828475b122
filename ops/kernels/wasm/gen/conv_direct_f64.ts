/**
 * The float64 direct convolution, forward (`convDirectF64`): y computed
 * straight from x, without the im2col copy, the packing of the columns and
 * the GEMM's edge tiles that `convForwardF64` (`im2col.ts`) spends a third
 * of its time on. It serves convolutions whose every window lies inside x
 * (no padding), with stride 1 along x, at least `MR` output channels per
 * group and at least 2 output columns; `conv.ts` also runs the input
 * gradient through it (a stride-1 convolution's input gradient is the
 * forward convolution of y zero-padded, with the kernel flipped and its
 * channels swapped).
 *
 * A tile is two pairs of neighbouring outputs (two f64x2 vectors; the
 * pixels of the plane taken pair by pair, row by row, so a narrow row
 * wastes nothing) × `MR` output channels: 12 accumulators. Per k =
 * (channel, i, j) of the window (its offset in x from a table, as
 * `convDirect` does), a vector of x at each pair and `MR` weights, each
 * stored broadcast to a vector (packed once per task), then `MR`·2
 * multiply-adds: `f64x2.mul` then `f64x2.add`, never fused, each product
 * and each sum rounded as in the TypeScript loops. The sum over k starts
 * from zero and is then added to the bias (or 0), as the GEMM's tile is
 * added to C: without a bias, the reference's bits (for every k); with
 * one, for k <= KC, the im2col kernel's. The last pair of a row of odd
 * width starts at ow - 2, the last tile of a plane with an odd number of
 * pairs repeats its pair, and the last block of channels starts at
 * og - MR: they overlap others, whose values they compute again, the
 * same, and store again, so no tile is partial.
 *
 * @module
 */
import {
  type Code,
  f32,
  f64,
  f64x2,
  for_,
  get,
  I32,
  i32,
  set,
  V128,
  v128,
} from "../_asm.ts";
import {
  add,
  c,
  type FamilyTemplates,
  field,
  kernel,
  min,
  mul,
  sub,
  type Template,
} from "./emit.ts";
import { kLoop, tileAcc, tileAccOf } from "./tile.ts";
import {
  geomLocals,
  kOffsetTable,
  loadConv,
  planeAddr,
} from "./conv_geometry.ts";
import { CONV_OFFSETS as CF, CU, MR } from "../layout.ts";

/** Bytes of one k step of a packed block of weights: MR vectors. */
const KSTEP = MR * 16;

/** The bias of channel `o` of the record, broadcast (0 without a bias). */
const biasOf = (g: number, o: Code): Code =>
  f64x2.splat(
    f32.select(
      f64.load(add(field(g, CF.bias), i32.shl(o, c(3)))),
      f64.const_(0),
      field(g, CF.bias),
    ),
  );

// y[n] = W ⋆ x[n] (+ bias) for images n0..n1; work: the k offset table,
// then the weights packed in blocks of MR channels (see the module's text)
const convDirectF64: Template = () =>
  kernel(
    "convDirectF64",
    {
      ...geomLocals,
      ...tileAcc,
      groups: I32,
      cg: I32,
      og: I32,
      kk: I32,
      ci: I32,
      i: I32,
      j: I32,
      d: I32,
      r: I32,
      k: I32,
      n: I32,
      grp: I32,
      nb: I32,
      blk: I32,
      o0: I32,
      oy: I32,
      t: I32,
      pr: I32,
      np: I32,
      xs2: I32,
      q2: I32,
      ox: I32,
      yp: I32,
      wb: I32,
      wp0: I32,
      wp: I32,
      tp: I32,
      tend: I32,
      tendCU: I32,
      xb: I32,
      yb: I32,
      xs: I32,
      q: I32,
      x0: V128,
      x1: V128,
      a: V128,
      ...Object.fromEntries(
        Array.from({ length: MR }, (_, r) => [`b${r}`, V128]),
      ),
    },
    (p, l) => {
      const acc = tileAccOf(l);
      const bv = (r: number) => (l as Record<string, number>)[`b${r}`];
      // k u steps past the pointers: a vector of x at each of the tile's
      // two pairs, MR weights
      const step = (u: number): Code[] => {
        const code: Code[] = [
          set(l.k, i32.load(get(l.tp), u * 4)),
          set(l.x0, v128.load(add(get(l.xs), get(l.k)))),
          set(l.x1, v128.load(add(get(l.xs2), get(l.k)))),
        ];
        for (let r = 0; r < MR; r++) {
          code.push(
            set(l.a, v128.load(get(l.wp), u * KSTEP + r * 16)),
            set(
              acc(r, 0),
              f64x2.add(f64x2.mul(get(l.a), get(l.x0)), get(acc(r, 0))),
            ),
            set(
              acc(r, 1),
              f64x2.add(f64x2.mul(get(l.a), get(l.x1)), get(acc(r, 1))),
            ),
          );
        }
        return code;
      };
      // pair t of the plane: row oy = t / pr, column ox (the last pair of
      // a row of odd width starts at ow - 2); xs its window's start in x,
      // q its place in y
      const pair = (t: Code, xs: number, q: number): Code[] => [
        set(l.oy, i32.div_s(t, get(l.pr))),
        set(
          l.ox,
          min(
            i32.shl(sub(t, mul(get(l.oy), get(l.pr))), c(1)),
            sub(get(l.ow), c(2)),
          ),
        ),
        set(
          xs,
          add(
            get(l.xb),
            i32.shl(
              add(mul(mul(get(l.oy), get(l.sh)), get(l.w)), get(l.ox)),
              c(3),
            ),
          ),
        ),
        set(
          q,
          add(
            get(l.yb),
            i32.shl(
              add(
                mul(get(l.o0), get(l.yp)),
                add(mul(get(l.oy), get(l.ow)), get(l.ox)),
              ),
              c(3),
            ),
          ),
        ),
      ];
      // pairs t and t + 1 (t again when t is the last)
      const tile: Code[] = [
        ...Array.from({ length: MR }, (_, r) => [
          set(acc(r, 0), v128.zero()),
          set(acc(r, 1), v128.zero()),
        ]),
        pair(get(l.t), l.xs, l.q),
        pair(
          min(add(get(l.t), c(1)), sub(get(l.np), c(1))),
          l.xs2,
          l.q2,
        ),
        set(l.tp, get(p.work)),
        set(l.wp, get(l.wp0)),
        kLoop(step, [[l.tp, 4], [l.wp, KSTEP]], get(l.tendCU), get(l.tend)),
        // y[o0 + r] at the two pairs = bias + the sum
        ...Array.from({ length: MR }, (_, r) => [
          v128.store(get(l.q), f64x2.add(get(bv(r)), get(acc(r, 0)))),
          v128.store(get(l.q2), f64x2.add(get(bv(r)), get(acc(r, 1)))),
          set(l.q, add(get(l.q), i32.shl(get(l.yp), c(3)))),
          set(l.q2, add(get(l.q2), i32.shl(get(l.yp), c(3)))),
        ]),
      ];
      return [
        loadConv(p.g, l),
        set(l.yp, field(p.g, CF.yp)),
        // the k offset table (bytes of f64)
        set(l.d, get(p.work)),
        kOffsetTable(l, 3),
        set(l.tend, add(get(p.work), i32.shl(get(l.kk), c(2)))),
        set(
          l.tendCU,
          add(get(p.work), i32.shl(i32.and(get(l.kk), c(-CU)), c(2))),
        ),
        // the weights: per group, blocks of MR channels (the last one
        // starting at og - MR), each k's MR values broadcast
        // output pixels in pairs: pr a row, np in all
        set(l.pr, i32.shr_s(add(get(l.ow), c(1)), c(1))),
        set(l.np, mul(get(l.oh), get(l.pr))),
        set(l.wb, i32.and(add(get(l.tend), c(15)), c(-16))),
        set(l.nb, i32.div_s(add(get(l.og), c(MR - 1)), c(MR))),
        set(l.d, get(l.wb)),
        for_(l.grp, c(0), get(l.groups), c(1), [
          for_(l.blk, c(0), get(l.nb), c(1), [
            set(
              l.o0,
              add(
                mul(get(l.grp), get(l.og)),
                min(mul(get(l.blk), c(MR)), sub(get(l.og), c(MR))),
              ),
            ),
            for_(l.k, c(0), get(l.kk), c(1), [
              for_(l.r, c(0), c(MR), c(1), [
                v128.store(
                  get(l.d),
                  f64x2.splat(
                    f64.load(
                      add(
                        field(p.g, CF.wt),
                        i32.shl(
                          add(
                            mul(add(get(l.o0), get(l.r)), get(l.kk)),
                            get(l.k),
                          ),
                          c(3),
                        ),
                      ),
                    ),
                  ),
                ),
                set(l.d, add(get(l.d), c(16))),
              ]),
            ]),
          ]),
        ]),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            set(
              l.xb,
              planeAddr(
                field(p.g, CF.x),
                get(l.n),
                field(p.g, CF.c),
                mul(get(l.grp), get(l.cg)),
                mul(get(l.h), get(l.w)),
                3,
              ),
            ),
            for_(l.blk, c(0), get(l.nb), c(1), [
              set(
                l.o0,
                min(mul(get(l.blk), c(MR)), sub(get(l.og), c(MR))),
              ),
              set(
                l.wp0,
                add(
                  get(l.wb),
                  mul(
                    add(mul(get(l.grp), get(l.nb)), get(l.blk)),
                    mul(get(l.kk), c(KSTEP)),
                  ),
                ),
              ),
              ...Array.from({ length: MR }, (_, r) =>
                set(
                  bv(r),
                  biasOf(
                    p.g,
                    add(
                      mul(get(l.grp), get(l.og)),
                      add(get(l.o0), c(r)),
                    ),
                  ),
                )),
              set(
                l.yb,
                planeAddr(
                  field(p.g, CF.y),
                  get(l.n),
                  field(p.g, CF.o),
                  mul(get(l.grp), get(l.og)),
                  get(l.yp),
                  3,
                ),
              ),
              for_(l.t, c(0), get(l.np), c(2), tile),
            ]),
          ]),
        ]),
      ];
    },
  );

/** The float64 direct convolution's templates. */
export const convDirectF64Kernels: FamilyTemplates<"conv_direct_f64"> = {
  convDirectF64,
};
