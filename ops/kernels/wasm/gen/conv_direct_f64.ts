/**
 * The float64 direct convolutions: forward (`convDirectF64`), the weight
 * gradient (`convWeightDirectF64`) and the input gradient
 * (`convInputDirectF64`), without the im2col copy, the packing of the
 * columns and of the weights for every image, and the GEMM's edge tiles
 * that the im2col kernels (`im2col.ts`) spend a third of their time on.
 * They serve convolutions whose every window lies inside x (no padding),
 * with stride 1 along x and at least 2 output columns (the gradients: an
 * even number); forward and weight gradient at least `MR` output channels
 * per group, the input gradient at least `MR` k's (cg·kh·kw).
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
 * The weight gradient's tile is `MR` output channels × two k's, each
 * accumulator summing a pair's two pixels in its two lanes: per pair of
 * pixels (their offset in x from a table), a vector of x at each k and the
 * `MR` channels' vectors of y (packed per image in blocks of `MR`
 * channels), `MR`·2 multiply-adds as above. After the last pair, each
 * accumulator's lanes are added and the result added to dw (the caller's
 * accumulator of the task's images): a regrouped sum of the reference's
 * terms. Rows of an overlapping last block of channels that the previous
 * block did are skipped, and so is a second k past the last.
 *
 * The input gradient computes im2col's columns a block of `MR` k's at a
 * time (tiles of `MR` k's × two pairs of pixels, each a sum over the
 * output channels from zero, as the GEMM's), then adds the block's rows
 * into x in k order, as `col2im` does: the same bits as the im2col kernel
 * and the reference.
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
  if_,
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
  x4,
} from "./emit.ts";
import { kLoop, tileAcc, tileAccOf } from "./tile.ts";
import {
  geomLocals,
  kOffsetTable,
  loadConv,
  planeAddr,
  setXPlane,
  setYPlane,
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
            setXPlane(p.g, l, 3),
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

// dw += Σ over images n0..n1 and pixels of y[n, o, p] · x[n, k at p]: the
// weight gradient (see the module's text); work: the k offset table, the
// pixel pairs' offsets in x, then y packed for one image and group
const convWeightDirectF64: Template = () =>
  kernel(
    "convWeightDirectF64",
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
      t: I32,
      n: I32,
      grp: I32,
      nb: I32,
      blk: I32,
      o0: I32,
      rlo: I32,
      kb: I32,
      yp: I32,
      np: I32,
      ptab: I32,
      pend: I32,
      pendCU: I32,
      ypk: I32,
      tp: I32,
      yq: I32,
      xb: I32,
      yb: I32,
      xk0: I32,
      xk1: I32,
      xo: I32,
      q: I32,
      x0: V128,
      x1: V128,
      a: V128,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      // pair u steps past the pointers: x at k0 and k1, MR channels of y
      const step = (u: number): Code[] => {
        const code: Code[] = [
          set(l.xo, i32.load(get(l.tp), u * 4)),
          set(l.x0, v128.load(add(get(l.xk0), get(l.xo)))),
          set(l.x1, v128.load(add(get(l.xk1), get(l.xo)))),
        ];
        for (let r = 0; r < MR; r++) {
          code.push(
            set(l.a, v128.load(get(l.yq), u * KSTEP + r * 16)),
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
      // dw[o0 + r, k] += lane 0 + lane 1 of accumulator (r, v)
      const addLanes = (r: number, v: number, off: number): Code =>
        f64.store(
          get(l.q),
          f64.add(
            f64.load(get(l.q), off),
            f64.add(
              f64x2.extractLane(get(acc(r, v)), 0),
              f64x2.extractLane(get(acc(r, v)), 1),
            ),
          ),
          off,
        );
      const tile: Code[] = [
        set(l.xk0, add(get(l.xb), i32.load(add(get(p.work), x4(get(l.kb)))))),
        set(
          l.xk1,
          add(
            get(l.xb),
            i32.load(
              add(
                get(p.work),
                x4(min(add(get(l.kb), c(1)), sub(get(l.kk), c(1)))),
              ),
            ),
          ),
        ),
        ...Array.from({ length: MR }, (_, r) => [
          set(acc(r, 0), v128.zero()),
          set(acc(r, 1), v128.zero()),
        ]),
        set(l.tp, get(l.ptab)),
        set(
          l.yq,
          add(get(l.ypk), mul(get(l.blk), mul(get(l.np), c(KSTEP)))),
        ),
        kLoop(step, [[l.tp, 4], [l.yq, KSTEP]], get(l.pendCU), get(l.pend)),
        // rows below rlo were the previous block's; k0 + 1 may be past kk
        ...Array.from({ length: MR }, (_, r) =>
          if_(i32.ge_s(c(r), get(l.rlo)), [
            set(
              l.q,
              add(
                get(p.dw),
                i32.shl(
                  add(
                    mul(
                      add(
                        mul(get(l.grp), get(l.og)),
                        add(get(l.o0), c(r)),
                      ),
                      get(l.kk),
                    ),
                    get(l.kb),
                  ),
                  c(3),
                ),
              ),
            ),
            addLanes(r, 0, 0),
            if_(i32.lt_s(add(get(l.kb), c(1)), get(l.kk)), [
              addLanes(r, 1, 8),
            ]),
          ])),
      ];
      return [
        loadConv(p.g, l),
        set(l.yp, field(p.g, CF.yp)),
        // the k offset table (bytes of f64), at the work's start
        set(l.d, get(p.work)),
        kOffsetTable(l, 3),
        // the offsets in x of the pixel pairs (ow is even)
        set(l.ptab, get(l.d)),
        for_(l.i, c(0), get(l.oh), c(1), [
          for_(l.j, c(0), get(l.ow), c(2), [
            i32.store(
              get(l.d),
              i32.shl(
                add(mul(mul(get(l.i), get(l.sh)), get(l.w)), get(l.j)),
                c(3),
              ),
            ),
            set(l.d, add(get(l.d), c(4))),
          ]),
        ]),
        set(l.pend, get(l.d)),
        set(l.np, i32.shr_s(sub(get(l.pend), get(l.ptab)), c(2))),
        set(
          l.pendCU,
          add(get(l.ptab), x4(i32.and(get(l.np), c(-CU)))),
        ),
        set(l.ypk, i32.and(add(get(l.pend), c(15)), c(-16))),
        set(l.nb, i32.div_s(add(get(l.og), c(MR - 1)), c(MR))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l, 3),
            setYPlane(p.g, { ...l, pp: l.yp }, 3),
            // y packed: per block of MR channels (the last one starting at
            // og - MR), per pair, the MR channels' two values
            set(l.d, get(l.ypk)),
            for_(l.blk, c(0), get(l.nb), c(1), [
              set(
                l.o0,
                min(mul(get(l.blk), c(MR)), sub(get(l.og), c(MR))),
              ),
              for_(l.t, c(0), get(l.np), c(1), [
                for_(l.r, c(0), c(MR), c(1), [
                  v128.store(
                    get(l.d),
                    v128.load(
                      add(
                        get(l.yb),
                        i32.shl(
                          add(
                            mul(add(get(l.o0), get(l.r)), get(l.yp)),
                            i32.shl(get(l.t), c(1)),
                          ),
                          c(3),
                        ),
                      ),
                    ),
                  ),
                  set(l.d, add(get(l.d), c(16))),
                ]),
              ]),
            ]),
            for_(l.blk, c(0), get(l.nb), c(1), [
              set(
                l.o0,
                min(mul(get(l.blk), c(MR)), sub(get(l.og), c(MR))),
              ),
              set(l.rlo, sub(mul(get(l.blk), c(MR)), get(l.o0))),
              for_(l.kb, c(0), get(l.kk), c(2), tile),
            ]),
          ]),
        ]),
      ];
    },
  );

// x[n] = the transpose of the convolution in x, applied to y[n], for
// images n0..n1 (x zeroed by the caller): per block of MR k's, the column
// rows cols[k, p] = Σ_o W[o, k] · y[o, p] (tiles of MR k's × two pixel
// pairs, a sum over o from zero), then each row added into x in k order,
// as `col2im` does: the im2col kernel's and the reference's bits. work: the
// k and pixel-pair offset tables, the weights packed per block of MR k's,
// y packed pair by pair, the block's rows.
const convInputDirectF64: Template = () =>
  kernel(
    "convInputDirectF64",
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
      o: I32,
      t: I32,
      n: I32,
      grp: I32,
      nbk: I32,
      blk: I32,
      k0: I32,
      rlo: I32,
      yp: I32,
      np: I32,
      ptab: I32,
      wb: I32,
      wp0: I32,
      wp: I32,
      wend: I32,
      wendCU: I32,
      ypk: I32,
      ya: I32,
      yb2: I32,
      cb: I32,
      xb: I32,
      yb: I32,
      q: I32,
      s: I32,
      e: I32,
      y0: V128,
      y1: V128,
      a: V128,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      // o u steps past the pointers: y at the two pairs, MR weights
      const step = (u: number): Code[] => {
        const code: Code[] = [
          set(l.y0, v128.load(get(l.ya), u * 16)),
          set(l.y1, v128.load(get(l.yb2), u * 16)),
        ];
        for (let r = 0; r < MR; r++) {
          code.push(
            set(l.a, v128.load(get(l.wp), u * KSTEP + r * 16)),
            set(
              acc(r, 0),
              f64x2.add(f64x2.mul(get(l.a), get(l.y0)), get(acc(r, 0))),
            ),
            set(
              acc(r, 1),
              f64x2.add(f64x2.mul(get(l.a), get(l.y1)), get(acc(r, 1))),
            ),
          );
        }
        return code;
      };
      const pairBytes = mul(get(l.og), c(16));
      // pairs t and t + 1 (t again when t is the last) into the rows
      const tile: Code[] = [
        ...Array.from({ length: MR }, (_, r) => [
          set(acc(r, 0), v128.zero()),
          set(acc(r, 1), v128.zero()),
        ]),
        set(l.ya, add(get(l.ypk), mul(get(l.t), pairBytes))),
        set(
          l.yb2,
          add(
            get(l.ypk),
            mul(min(add(get(l.t), c(1)), sub(get(l.np), c(1))), pairBytes),
          ),
        ),
        set(l.wp, get(l.wp0)),
        kLoop(
          step,
          [[l.wp, KSTEP], [l.ya, 16], [l.yb2, 16]],
          get(l.wendCU),
          get(l.wend),
        ),
        // row r of the block at pairs t and t + 1 (a repeated last pair
        // stores the same values twice)
        set(l.q, add(get(l.cb), i32.shl(get(l.t), c(4)))),
        set(
          l.e,
          add(
            get(l.cb),
            i32.shl(min(add(get(l.t), c(1)), sub(get(l.np), c(1))), c(4)),
          ),
        ),
        ...Array.from({ length: MR }, (_, r) => [
          v128.store(get(l.q), get(acc(r, 0))),
          v128.store(get(l.e), get(acc(r, 1))),
          set(l.q, add(get(l.q), i32.shl(get(l.np), c(4)))),
          set(l.e, add(get(l.e), i32.shl(get(l.np), c(4)))),
        ]),
      ];
      return [
        loadConv(p.g, l),
        set(l.yp, field(p.g, CF.yp)),
        // the k offset table (bytes of f64), at the work's start
        set(l.d, get(p.work)),
        kOffsetTable(l, 3),
        // the offsets in x of the pixel pairs (ow is even)
        set(l.ptab, get(l.d)),
        for_(l.i, c(0), get(l.oh), c(1), [
          for_(l.j, c(0), get(l.ow), c(2), [
            i32.store(
              get(l.d),
              i32.shl(
                add(mul(mul(get(l.i), get(l.sh)), get(l.w)), get(l.j)),
                c(3),
              ),
            ),
            set(l.d, add(get(l.d), c(4))),
          ]),
        ]),
        set(l.np, i32.shr_s(sub(get(l.d), get(l.ptab)), c(2))),
        // the weights: per group, per block of MR k's (the last one
        // starting at kk - MR), per o, the MR values broadcast
        set(l.wb, i32.and(add(get(l.d), c(15)), c(-16))),
        set(l.nbk, i32.div_s(add(get(l.kk), c(MR - 1)), c(MR))),
        set(l.d, get(l.wb)),
        for_(l.grp, c(0), get(l.groups), c(1), [
          for_(l.blk, c(0), get(l.nbk), c(1), [
            set(l.k0, min(mul(get(l.blk), c(MR)), sub(get(l.kk), c(MR)))),
            for_(l.o, c(0), get(l.og), c(1), [
              for_(l.r, c(0), c(MR), c(1), [
                v128.store(
                  get(l.d),
                  f64x2.splat(
                    f64.load(
                      add(
                        field(p.g, CF.wt),
                        i32.shl(
                          add(
                            mul(
                              add(mul(get(l.grp), get(l.og)), get(l.o)),
                              get(l.kk),
                            ),
                            add(get(l.k0), get(l.r)),
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
        // y packed pair by pair (og vectors each), then the block's rows
        set(l.ypk, get(l.d)),
        set(l.cb, add(get(l.ypk), mul(get(l.np), pairBytes))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l, 3),
            setYPlane(p.g, { ...l, pp: l.yp }, 3),
            set(l.d, get(l.ypk)),
            for_(l.t, c(0), get(l.np), c(1), [
              for_(l.o, c(0), get(l.og), c(1), [
                v128.store(
                  get(l.d),
                  v128.load(
                    add(
                      get(l.yb),
                      i32.shl(
                        add(
                          mul(get(l.o), get(l.yp)),
                          i32.shl(get(l.t), c(1)),
                        ),
                        c(3),
                      ),
                    ),
                  ),
                ),
                set(l.d, add(get(l.d), c(16))),
              ]),
            ]),
            for_(l.blk, c(0), get(l.nbk), c(1), [
              set(
                l.k0,
                min(mul(get(l.blk), c(MR)), sub(get(l.kk), c(MR))),
              ),
              set(l.rlo, sub(mul(get(l.blk), c(MR)), get(l.k0))),
              set(
                l.wp0,
                add(
                  get(l.wb),
                  mul(
                    add(mul(get(l.grp), get(l.nbk)), get(l.blk)),
                    mul(get(l.og), c(KSTEP)),
                  ),
                ),
              ),
              set(l.wend, add(get(l.wp0), mul(get(l.og), c(KSTEP)))),
              set(
                l.wendCU,
                add(
                  get(l.wp0),
                  mul(i32.and(get(l.og), c(-CU)), c(KSTEP)),
                ),
              ),
              for_(l.t, c(0), get(l.np), c(2), tile),
              // rows rlo.. (the previous block did the others) into x, in
              // k order, as col2im adds them
              for_(l.r, get(l.rlo), c(MR), c(1), [
                set(
                  l.q,
                  add(
                    get(l.xb),
                    i32.load(
                      add(get(p.work), x4(add(get(l.k0), get(l.r)))),
                    ),
                  ),
                ),
                set(
                  l.s,
                  add(get(l.cb), i32.shl(mul(get(l.r), get(l.np)), c(4))),
                ),
                for_(l.t, c(0), get(l.np), c(1), [
                  set(
                    l.e,
                    add(get(l.q), i32.load(add(get(l.ptab), x4(get(l.t))))),
                  ),
                  v128.store(
                    get(l.e),
                    f64x2.add(v128.load(get(l.e)), v128.load(get(l.s))),
                  ),
                  set(l.s, add(get(l.s), c(16))),
                ]),
              ]),
            ]),
          ]),
        ]),
      ];
    },
  );

/** The float64 direct convolution's templates. */
export const convDirectF64Kernels: FamilyTemplates<"conv_direct_f64"> = {
  convDirectF64,
  convWeightDirectF64,
  convInputDirectF64,
};
