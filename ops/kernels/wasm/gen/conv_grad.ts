/**
 * Direct convolution gradients, for windows that never touch padding: no
 * column buffer, x and y read in place through tables of offsets, with
 * register tiles shaped like the GEMM micro-kernel's (`tile.ts`). The
 * weight gradient along k × channels (`convWeightDirect`) or along output
 * rows (`convWeightRows`, for few channels); the input gradient added into
 * x in place (`convInputDirect`).
 *
 * @module
 */
import {
  brIf,
  type Code,
  F32,
  f32,
  f32x4,
  f64,
  f64x2,
  for_,
  get,
  I32,
  i32,
  i32x4,
  if_,
  loop,
  memory,
  set,
  V128,
  v128,
} from "../_asm.ts";
import {
  add,
  c,
  type FamilyTemplates,
  field,
  if_i32,
  kernel,
  lanes,
  min,
  mul,
  sub,
  type Template,
  x4,
} from "./emit.ts";
import {
  kLoopU,
  rowLocals,
  tileAcc,
  tileAccOf,
  tileKOffsets,
  zeroTile,
} from "./tile.ts";
import {
  geomLocals,
  kOffsetTable,
  loadConv,
  pixelOffsetTable,
  setXPlane,
  setYPlane,
} from "./conv_geometry.ts";
import { CONV_OFFSETS as CF, MR, NR } from "../layout.ts";

/** The locals of {@linkcode nonzeroList} and {@linkcode selectionTable}. */
const listLocals = {
  yv: F32,
  ptab: I32,
  ctab: I32,
  list: I32,
  e: I32,
  cp: I32,
  q: I32,
  q4: I32,
  qe: I32,
  m: I32,
  r: I32,
  d: I32,
  yq: V128,
  aq: V128,
  sel: V128,
  xbq: V128,
} as const;
type ListLocals = { [K in keyof typeof listLocals]: number } & { pp: number };

/**
 * Writes at ctab (16-aligned, 256 bytes) the byte selections of
 * {@linkcode nonzeroList}'s pass: for each mask m of 4 lanes, the lanes set
 * in m to the front (the rest 0). Uses r and d.
 */
const selectionTable = (l: ListLocals): Code =>
  for_(l.r, c(0), c(16), c(1), [
    set(l.d, add(get(l.ctab), i32.shl(get(l.r), c(4)))),
    v128.store(get(l.d), v128.i32Const([-1, -1, -1, -1])),
    [0, 1, 2, 3].map((b) =>
      if_(i32.and(get(l.r), c(1 << b)), [
        i32.store(get(l.d), c(0x03020100 + 0x04040404 * b)),
        set(l.d, add(get(l.d), c(4))),
      ])
    ),
  ]);

/**
 * The list at `list` of the nonzero values (NaN counts) of the plane of pp
 * pixels of y at `plane`: per value, 8 bytes, the address of its pixel
 * (`base`, also in each of xbq's lanes, plus its offset from the table at
 * ptab)
 * and the value; leaves the list's end in e. 4 pixels at a time, without
 * branches: the nonzero lanes' addresses and values moved to the front
 * (ctab's byte selection for their mask), interleaved and stored whole
 * (32 bytes at e: the list needs that slack), the end moved on by their
 * number; then the pixels left one at a time.
 */
const nonzeroList = (l: ListLocals, plane: Code, base: Code): Code[] => {
  const push: Code[] = [
    set(l.yv, f32.load(get(l.q))),
    i32.store(
      get(l.e),
      add(base, i32.load(get(l.cp))),
    ),
    f32.store(get(l.e), get(l.yv), 4),
    set(
      l.e,
      add(get(l.e), i32.select(c(8), c(0), f32.ne(get(l.yv), f32.const_(0)))),
    ),
  ];
  return [
    set(l.e, get(l.list)),
    set(l.cp, get(l.ptab)),
    set(l.q, plane),
    set(l.q4, add(get(l.q), x4(i32.and(get(l.pp), c(-4))))),
    set(l.qe, add(get(l.q), x4(get(l.pp)))),
    if_(i32.lt_u(get(l.q), get(l.q4)), [
      loop(
        set(l.yq, v128.load(get(l.q))),
        set(l.m, i32x4.bitmask(f32x4.ne(get(l.yq), v128.zero()))),
        set(
          l.sel,
          v128.load(add(get(l.ctab), i32.shl(get(l.m), c(4)))),
        ),
        set(
          l.aq,
          v128.swizzle(
            i32x4.add(v128.load(get(l.cp)), get(l.xbq)),
            get(l.sel),
          ),
        ),
        set(l.yq, v128.swizzle(get(l.yq), get(l.sel))),
        v128.store(
          get(l.e),
          v128.shuffle(get(l.aq), get(l.yq), lanes(0, 4, 1, 5)),
        ),
        v128.store(
          get(l.e),
          v128.shuffle(get(l.aq), get(l.yq), lanes(2, 6, 3, 7)),
          16,
        ),
        set(l.e, add(get(l.e), i32.shl(i32.popcnt(get(l.m)), c(3)))),
        set(l.q, add(get(l.q), c(16))),
        set(l.cp, add(get(l.cp), c(16))),
        brIf(0, i32.lt_u(get(l.q), get(l.q4))),
      ),
    ]),
    if_(i32.lt_u(get(l.q), get(l.qe)), [
      loop(
        push,
        set(l.q, add(get(l.q), c(4))),
        set(l.cp, add(get(l.cp), c(4))),
        brIf(0, i32.lt_u(get(l.q), get(l.qe))),
      ),
    ]),
  ];
};

/**
 * For each channel o of the group (y's plane of o at yb + o·pp·4), its list
 * of nonzero values (`nonzeroList`, at `base`), and `body` when it is not
 * empty.
 */
const eachChannelList = (
  l: ListLocals & { o: number; og: number; yb: number },
  base: Code,
  body: Code[],
): Code =>
  for_(l.o, c(0), get(l.og), c(1), [
    nonzeroList(l, add(get(l.yb), x4(mul(get(l.o), get(l.pp)))), base),
    if_(i32.lt_u(get(l.list), get(l.e)), body),
  ]);

/** Steps per iteration of the gradients' inner loops (see kLoopU). */
const UNROLL = 8;

// ---- direct weight gradient, for windows that never touch padding (any
// stride and dilation): no im2col. dwT [groups, kp, op] (kp = cg·kh·kw
// rounded up to 6, op = og rounded up to 8; zeroed by the caller, which
// transposes it) += Σ over the images' pixels p of x[k's offset + p's
// offset] · y[p, o]. Per image and group, y is packed as [op / 8, p, 8] (zero
// past the last channel); then each tile of 6 k × 8 channels keeps 12
// accumulators over the pixels: per pixel two vectors of packed y and 6
// broadcast inputs, the GEMM micro-kernel's loads and multiply-adds, with
// x read in place through a table of the k offsets and one of the pixel
// offsets. Tiles past the last k repeat the last k's offset (their sums
// land in the padding rows, which the caller ignores). (A broadcast copy
// of x, as convDirectC reads, measured no faster here.)
const convWeightDirect: Template = ({ madd }) =>
  kernel(
    "convWeightDirect",
    {
      ...geomLocals,
      ...tileAcc,
      ...rowLocals("k"),
      y0: V128,
      y1: V128,
      xv: V128,
      cg: I32,
      og: I32,
      kk: I32,
      kp: I32,
      op: I32,
      pp: I32,
      groups: I32,
      tab: I32,
      ptab: I32,
      pe: I32,
      yt: I32,
      n: I32,
      grp: I32,
      ci: I32,
      i: I32,
      j: I32,
      oy: I32,
      ox: I32,
      o: I32,
      q: I32,
      kb: I32,
      ob: I32,
      d: I32,
      pt: I32,
      ye: I32,
      xb: I32,
      yb: I32,
      dwg: I32,
      dq: I32,
      ps: I32,
      a: I32,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      const off = (r: number) => (l as Record<string, number>)[`k${r}`];
      const init = zeroTile(l), offs = tileKOffsets(l, get(l.tab));
      // one pixel: its offset from the table at pt, 8 channels of y at ye
      const step = (u: number): Code[] => [
        set(l.d, i32.load(get(l.pt), 4 * u)),
        set(l.y0, v128.load(get(l.ye), NR * 4 * u)),
        set(l.y1, v128.load(get(l.ye), NR * 4 * u + 16)),
        ...Array.from({ length: MR }, (_, r) => [
          set(l.xv, v128.load32Splat(add(get(off(r)), get(l.d)))),
          set(acc(r, 0), madd(get(l.xv), get(l.y0), get(acc(r, 0)))),
          set(acc(r, 1), madd(get(l.xv), get(l.y1), get(acc(r, 1)))),
        ]),
      ];
      // 8 channels' vectors of 4 pixels in acc(0..3, 0..1) (channel 4v +
      // r in acc(r, v)), transposed (4×4 blocks, as packB) and stored as 4
      // pixels' vectors of 8 channels at d; temporaries in acc(4..5, ·)
      const transposeStore = (): Code[] => {
        const t = [acc(4, 0), acc(4, 1), acc(5, 0), acc(5, 1)];
        const code: Code[] = [];
        for (let v = 0; v < 2; v++) {
          const r = [0, 1, 2, 3].map((q) => get(acc(q, v)));
          code.push(
            set(t[0], v128.shuffle(r[0], r[1], lanes(0, 4, 1, 5))),
            set(t[1], v128.shuffle(r[2], r[3], lanes(0, 4, 1, 5))),
            set(t[2], v128.shuffle(r[0], r[1], lanes(2, 6, 3, 7))),
            set(t[3], v128.shuffle(r[2], r[3], lanes(2, 6, 3, 7))),
          );
          const halves: [number, number, number[]][] = [
            [t[0], t[1], lanes(0, 1, 4, 5)],
            [t[0], t[1], lanes(2, 3, 6, 7)],
            [t[2], t[3], lanes(0, 1, 4, 5)],
            [t[2], t[3], lanes(2, 3, 6, 7)],
          ];
          halves.forEach(([a, b, ls], px) =>
            code.push(
              v128.store(
                get(l.d),
                v128.shuffle(get(a), get(b), ls),
                NR * 4 * px + 16 * v,
              ),
            )
          );
        }
        return code;
      };
      // the whole panels of 8 channels (ob at the first channel left)
      const packPanelsY = (): Code[] => [
        set(l.ob, c(0)),
        if_(i32.le_s(c(NR), get(l.og)), [
          loop(
            set(l.q, add(get(l.yb), x4(mul(get(l.ob), get(l.pp))))),
            set(l.d, add(get(l.yt), x4(mul(get(l.ob), get(l.pp))))),
            set(l.ye, add(get(l.q), x4(i32.and(get(l.pp), c(-4))))),
            if_(i32.lt_u(get(l.q), get(l.ye)), [
              loop(
                set(l.a, get(l.q)),
                Array.from({ length: NR }, (_, ch) => [
                  set(acc(ch % 4, ch >> 2), v128.load(get(l.a))),
                  ch < NR - 1 ? set(l.a, add(get(l.a), get(l.ps))) : [],
                ]),
                transposeStore(),
                set(l.q, add(get(l.q), c(16))),
                set(l.d, add(get(l.d), c(NR * 16))),
                brIf(0, i32.lt_u(get(l.q), get(l.ye))),
              ),
            ]),
            // the last pp % 4 pixels
            set(l.ye, add(get(l.ye), x4(i32.and(get(l.pp), c(3))))),
            if_(i32.lt_u(get(l.q), get(l.ye)), [
              loop(
                set(l.a, get(l.q)),
                Array.from({ length: NR }, (_, ch) => [
                  f32.store(get(l.d), f32.load(get(l.a)), 4 * ch),
                  ch < NR - 1 ? set(l.a, add(get(l.a), get(l.ps))) : [],
                ]),
                set(l.q, add(get(l.q), c(4))),
                set(l.d, add(get(l.d), c(NR * 4))),
                brIf(0, i32.lt_u(get(l.q), get(l.ye))),
              ),
            ]),
            set(l.ob, add(get(l.ob), c(NR))),
            brIf(0, i32.le_s(add(get(l.ob), c(NR)), get(l.og))),
          ),
        ]),
      ];
      const store: Code[] = [];
      for (let r = 0; r < MR; r++) {
        store.push(
          v128.store(
            get(l.dq),
            f32x4.add(v128.load(get(l.dq)), get(acc(r, 0))),
          ),
          v128.store(
            get(l.dq),
            f32x4.add(v128.load(get(l.dq), 16), get(acc(r, 1))),
            16,
          ),
          set(l.dq, add(get(l.dq), x4(get(l.op)))),
        );
      }
      return [
        loadConv(p.g, l),
        set(l.kp, mul(i32.div_s(add(get(l.kk), c(MR - 1)), c(MR)), c(MR))),
        set(l.op, i32.and(add(get(l.og), c(NR - 1)), c(-NR))),
        set(l.pp, mul(get(l.oh), get(l.ow))),
        set(l.ps, x4(get(l.pp))),
        // the k offset table, the pixel offset table, packed y (16-aligned)
        set(l.tab, get(p.work)),
        set(l.ptab, add(get(l.tab), x4(get(l.kk)))),
        set(l.pe, add(get(l.ptab), x4(get(l.pp)))),
        set(l.yt, i32.and(add(get(l.pe), c(15)), c(-16))),
        set(l.d, get(l.tab)),
        kOffsetTable(l, 2),
        set(l.d, get(l.ptab)),
        pixelOffsetTable(l, l.oy, l.ox, mul(get(l.sh), get(l.w)), 2),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l),
            setYPlane(p.g, l),
            // y [og, pp] -> yt [op / 8, pp, 8]: channel o at panel o / 8,
            // lane o % 8. Whole panels 4 pixels at a time (8 vectors of 4
            // pixels transposed into 4 of 8 channels), the rest one float
            // at a time.
            packPanelsY(),
            for_(l.o, get(l.ob), get(l.op), c(1), [
              set(
                l.d,
                add(
                  get(l.yt),
                  x4(add(
                    mul(i32.and(get(l.o), c(-NR)), get(l.pp)),
                    i32.and(get(l.o), c(NR - 1)),
                  )),
                ),
              ),
              if_(i32.lt_s(get(l.o), get(l.og)), [
                set(l.q, add(get(l.yb), x4(mul(get(l.o), get(l.pp))))),
                for_(l.i, c(0), get(l.pp), c(1), [
                  f32.store(get(l.d), f32.load(get(l.q))),
                  set(l.q, add(get(l.q), c(4))),
                  set(l.d, add(get(l.d), c(NR * 4))),
                ]),
              ], [
                for_(l.i, c(0), get(l.pp), c(1), [
                  f32.store(get(l.d), f32.const_(0)),
                  set(l.d, add(get(l.d), c(NR * 4))),
                ]),
              ]),
            ]),
            set(
              l.dwg,
              add(get(p.dw), x4(mul(get(l.grp), mul(get(l.kp), get(l.op))))),
            ),
            for_(l.kb, c(0), get(l.kp), c(MR), [
              offs,
              for_(l.ob, c(0), get(l.op), c(NR), [
                init,
                set(l.pt, get(l.ptab)),
                set(l.ye, add(get(l.yt), x4(mul(get(l.ob), get(l.pp))))),
                kLoopU(step, [[l.pt, 4], [l.ye, NR * 4]], get(l.pe), UNROLL),
                set(
                  l.dq,
                  add(
                    get(l.dwg),
                    x4(add(mul(get(l.kb), get(l.op)), get(l.ob))),
                  ),
                ),
                store,
              ]),
            ]),
          ]),
        ]),
      ];
    },
  );

// ---- weight gradient vectorized along output rows, for windows that
// never touch padding, stride 1 along x and rows of at least 4 outputs:
// dw[o, k] = Σ over pixels p of x[k's offset + p's offset] · y[o, p], with
// 4 consecutive pixels of a row in the lanes, so both x and y are read in
// place with plain vector loads (nothing broadcast). Each tile of 6
// channels × 2 k keeps 12 accumulators over an image's rows: per vector
// of pixels, two of x (the 2 k) and one of y per channel. A row's last
// vector, when the row is not a multiple of 4, is moved back to end at the
// row's end with the lanes already counted masked off in x and y. Channels
// and k past the last repeat the last (their sums land in padding). Per
// tile and image the accumulators are added into dwv [groups, kk to 2,
// og to 6, 4 lanes] (zeroed by the caller, which sums the lanes): better
// than `convWeightDirect` when the channels are few (LeNet's first layer,
// 6 channels: that kernel's 8-channel tiles waste a quarter).
const convWeightRows: Template = ({ madd }) =>
  kernel(
    "convWeightRows",
    {
      ...geomLocals,
      ...tileAcc,
      ...rowLocals("y"),
      x0: V128,
      x1: V128,
      yv: V128,
      m: V128,
      cg: I32,
      og: I32,
      kk: I32,
      kk2: I32,
      op: I32,
      pp: I32,
      ps: I32,
      groups: I32,
      tab: I32,
      n: I32,
      grp: I32,
      ot: I32,
      kt: I32,
      oy: I32,
      ci: I32,
      i: I32,
      j: I32,
      d: I32,
      xb: I32,
      yb: I32,
      xq0: I32,
      xq1: I32,
      yr: I32,
      re: I32,
      rstep: I32,
      at: I32,
      ie: I32,
      tail: I32,
    },
    (p, l) => {
      const L = l as Record<string, number>;
      const acc = tileAccOf(l);
      const yo = (o: number) => L[`y${o}`];
      /**
       * One vector of 4 pixels at byte offset `at` + 16·u in the row, masked
       * with m when `masked`.
       */
      const step = (u: number, masked = false): Code[] => {
        const mk = (v: Code) => (masked ? v128.and(v, get(l.m)) : v);
        const code: Code[] = [
          set(l.x0, mk(v128.load(add(get(l.xq0), get(l.at)), 16 * u))),
          set(l.x1, mk(v128.load(add(get(l.xq1), get(l.at)), 16 * u))),
        ];
        for (let o = 0; o < MR; o++) {
          code.push(
            set(l.yv, mk(v128.load(add(get(yo(o)), get(l.at)), 16 * u))),
            set(acc(o, 0), madd(get(l.x0), get(l.yv), get(acc(o, 0)))),
            set(acc(o, 1), madd(get(l.x1), get(l.yv), get(acc(o, 1)))),
          );
        }
        return code;
      };
      const init = zeroTile(l), tileStart: Code[] = [], flush: Code[] = [];
      for (let o = 0; o < MR; o++) {
        // channel ot + o's plane (the last one again past og); a row's
        // pixels are then at its offset yr in the plane
        tileStart.push(set(
          yo(o),
          add(
            get(l.yb),
            mul(min(add(get(l.ot), c(o)), sub(get(l.og), c(1))), get(l.ps)),
          ),
        ));
        for (let k = 0; k < 2; k++) {
          // dwv[grp, kt + k, ot + o]
          flush.push(
            set(
              l.d,
              add(
                get(p.dwv),
                i32.shl(
                  add(
                    mul(
                      add(mul(get(l.grp), get(l.kk2)), add(get(l.kt), c(k))),
                      get(l.op),
                    ),
                    add(get(l.ot), c(o)),
                  ),
                  c(4),
                ),
              ),
            ),
            v128.store(
              get(l.d),
              f32x4.add(v128.load(get(l.d)), get(acc(o, k))),
            ),
          );
        }
      }
      return [
        loadConv(p.g, l),
        set(l.kk2, i32.and(add(get(l.kk), c(1)), c(-2))),
        set(l.op, mul(i32.div_s(add(get(l.og), c(MR - 1)), c(MR)), c(MR))),
        set(l.pp, mul(get(l.oh), get(l.ow))),
        set(l.ps, x4(get(l.pp))),
        // bytes of a row's whole vectors; the masked tail's first lane
        set(l.ie, i32.shl(i32.and(get(l.ow), c(-4)), c(2))),
        set(l.tail, x4(sub(get(l.ow), c(4)))),
        // from one row to the next: x's rows less y's (bytes)
        set(l.rstep, x4(sub(mul(get(l.sh), get(l.w)), get(l.ow)))),
        // the tail mask: the lanes already counted (the first 4 - ow % 4) off
        set(
          l.m,
          i32x4.geS(
            v128.i32Const([0, 1, 2, 3]),
            i32x4.splat(sub(c(4), i32.and(get(l.ow), c(3)))),
          ),
        ),
        // the x offset (bytes) of each k = (ci, i, j)
        set(l.tab, get(p.work)),
        set(l.d, get(l.tab)),
        kOffsetTable(l, 2),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l),
            setYPlane(p.g, l),
            for_(l.ot, c(0), get(l.og), c(MR), [
              for_(l.kt, c(0), get(l.kk), c(2), [
                init,
                tileStart,
                // x of k = kt and kt + 1 (the last again past kk), less the
                // row's offset in y (at runs over y's offsets)
                set(
                  l.xq0,
                  add(get(l.xb), i32.load(add(get(l.tab), x4(get(l.kt))))),
                ),
                set(
                  l.xq1,
                  add(
                    get(l.xb),
                    i32.load(
                      add(
                        get(l.tab),
                        x4(min(add(get(l.kt), c(1)), sub(get(l.kk), c(1)))),
                      ),
                    ),
                  ),
                ),
                set(l.yr, c(0)),
                for_(l.oy, c(0), get(l.oh), c(1), [
                  // the whole vectors, then the masked tail
                  set(l.at, get(l.yr)),
                  set(l.re, add(get(l.yr), get(l.ie))),
                  kLoopU(step, [[l.at, 16]], get(l.re), UNROLL),
                  if_(i32.and(get(l.ow), c(3)), [
                    set(l.at, add(get(l.yr), get(l.tail))),
                    step(0, true),
                  ]),
                  set(l.yr, add(get(l.yr), x4(get(l.ow)))),
                  set(l.xq0, add(get(l.xq0), get(l.rstep))),
                  set(l.xq1, add(get(l.xq1), get(l.rstep))),
                ]),
                flush,
              ]),
            ]),
          ]),
        ]),
      ];
    },
  );

// ---- direct input gradient, for windows that never touch padding, stride
// 1 along x and output rows of at least 4 (any stride down, dilation,
// groups): no column buffer and no col2im. x[c, oy·sh + i·dh, ox + j·dw]
// += Σ_o w[o, c, i, j] · y[o, oy, ox], each image's x zeroed first. The caller
// packs the weights of each group into panels of 6 k = (ci, i, j) (for
// each o, the 6 k side by side, zero past the last k, each broadcast to a
// vector of 4 copies, see packA) at `wp`, a table of the x offsets (bytes)
// of each k at `ktab` (the word before it: where the split pairs start),
// and a table of the plane's vectors of 4 outputs in pairs at
// `vtab`..`vend` (per vector: its offset in y, its offset in x, the
// address of its lane mask; the lanes already covered masked off; an odd
// vector out paired with itself, fully masked; see inputDirectTables in
// `conv.ts`). Per image and group, each pair of vectors gets its list of
// o: the o whose two vectors of y are not all ±0 (with `sparse`; else
// every o), their y copied side by side (the split pairs' vectors, the
// ends of two rows in one vector when rows end in 2 outputs, from a copy
// of those ends packed first). Per panel and pair: 12 accumulators (6 k ×
// 2 vectors) over the list, each step two vectors of y and 6 broadcast
// weights (the GEMM micro-kernel's loads and multiply-adds); then each k's
// two vectors, masked, are added into x in place (split pairs: lanes 2-3
// one output row below lanes 0-1). Threads split the images, so no two
// write the same x. Leaving out the zeros keeps the bits: a product left
// out is ±0 (the caller sets `sparse` only for finite weights, as 0 · inf
// is NaN), the other products are added in the same order, so a sum can
// differ only as ±0 against ∓0, which adds the same into x (x starts at
// +0 and is never -0: a sum is -0 only when both terms are).
const convInputDirect: Template = ({ madd }) =>
  kernel(
    "convInputDirect",
    {
      ...tileAcc,
      ...rowLocals("k"),
      y0: V128,
      y1: V128,
      wv: V128,
      groups: I32,
      cg: I32,
      og: I32,
      kk: I32,
      kp: I32,
      ppb: I32,
      hwb: I32,
      n: I32,
      grp: I32,
      xb: I32,
      yb: I32,
      wg: I32,
      kb: I32,
      wk: I32,
      vt: I32,
      q0: I32,
      q1: I32,
      qs: I32,
      x0: I32,
      x1: I32,
      a: I32,
      b: I32,
      vsplit: I32,
      ns: I32,
      tsb: I32,
      rowb: I32,
      ow: I32,
      oh: I32,
      o: I32,
      s: I32,
      r: I32,
      d: I32,
      mp: I32,
      le: I32,
      lp: I32,
      yp: I32,
      ys: I32,
      lists: I32,
      ends: I32,
      np: I32,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      const off = (r: number) => (l as Record<string, number>)[`k${r}`];
      const init = zeroTile(l), offs = tileKOffsets(l, get(p.ktab));
      // one o of the pair's list: its two vectors of y (at yp) against the
      // panel's 6 broadcast weights of that o (at wk plus the list's offset)
      const step = (u: number): Code[] => [
        set(l.b, add(get(l.wk), i32.load(get(l.lp), u * 4))),
        set(l.y0, v128.load(get(l.yp), u * 32)),
        set(l.y1, v128.load(get(l.yp), u * 32 + 16)),
        ...Array.from({ length: MR }, (_, r) => [
          set(l.wv, v128.load(get(l.b), r * 16)),
          set(acc(r, 0), madd(get(l.wv), get(l.y0), get(acc(r, 0)))),
          set(acc(r, 1), madd(get(l.wv), get(l.y1), get(acc(r, 1)))),
        ]),
      ];
      // each real k's two vectors, masked, added into x: 4 lanes at x0 and
      // x1, or (split) lanes 0-1 there and lanes 2-3 one output row down
      const store = (split: boolean): Code[] =>
        Array.from({ length: MR }, (_, r) =>
          // only real k (the panel's padding rows are not stored)
          if_(
            i32.lt_s(add(get(l.kb), c(r)), get(l.kk)),
            ([[l.x0, l.y0], [l.x1, l.y1]] as const).map(([x, m], v) => {
              const sum = (xv: Code) =>
                f32x4.add(xv, v128.and(get(acc(r, v)), get(m)));
              return split
                ? [
                  set(l.a, add(get(off(r)), get(x))),
                  set(l.b, add(get(l.a), get(l.rowb))),
                  set(
                    l.wv,
                    sum(v128.shuffle(
                      v128.load64Splat(get(l.a)),
                      v128.load64Splat(get(l.b)),
                      lanes(0, 1, 4, 5),
                    )),
                  ),
                  f64.store(get(l.a), f64x2.extractLane(get(l.wv), 0)),
                  f64.store(get(l.b), f64x2.extractLane(get(l.wv), 1)),
                ]
                : [
                  set(l.a, add(get(off(r)), get(x))),
                  v128.store(get(l.a), sum(v128.load(get(l.a)))),
                ];
            }),
          ));
      // the pairs from vt up to `stop` (their lists' ends at mp), each
      // pair's list of o in turn
      const pairs = (stop: number, split: boolean): Code =>
        if_(i32.lt_u(get(l.vt), get(stop)), [
          loop(
            set(l.le, i32.load(get(l.mp))),
            // (an empty list adds nothing)
            if_(i32.lt_u(get(l.lp), get(l.le)), [
              init,
              kLoopU(step, [[l.lp, 4], [l.yp, 32]], get(l.le), UNROLL),
              // the two vectors' x offsets and lane masks
              set(l.x0, i32.load(get(l.vt), 4)),
              set(l.x1, i32.load(get(l.vt), 16)),
              set(l.y0, v128.load(i32.load(get(l.vt), 8))),
              set(l.y1, v128.load(i32.load(get(l.vt), 20))),
              store(split),
            ]),
            set(l.vt, add(get(l.vt), c(24))),
            set(l.mp, add(get(l.mp), c(4))),
            brIf(0, i32.lt_u(get(l.vt), get(stop))),
          ),
        ]);
      // each pair's list: the o whose two vectors of y are not all ±0 (NaN
      // counts; every o without \`sparse\`), as the offsets of their weights
      // in a panel (at lists), their y copied in order (at ys), the lists'
      // ends (at ends)
      const lists: Code[] = [
        set(l.vt, get(p.vtab)),
        set(l.mp, get(l.ends)),
        set(l.lp, get(l.lists)),
        set(l.yp, get(l.ys)),
        loop(
          // whole pairs read y in place, split ones the packed tails
          if_(
            i32.lt_u(get(l.vt), get(l.vsplit)),
            [set(l.a, get(l.yb)), set(l.qs, get(l.ppb))],
            [set(l.a, get(p.work)), set(l.qs, get(l.tsb))],
          ),
          set(l.q0, add(get(l.a), i32.load(get(l.vt)))),
          set(l.q1, add(get(l.a), i32.load(get(l.vt), 12))),
          for_(l.o, c(0), get(l.og), c(1), [
            set(l.y0, v128.load(get(l.q0))),
            set(l.y1, v128.load(get(l.q1))),
            if_(
              i32.or(
                i32.eqz(get(p.sparse)),
                v128.anyTrue(
                  f32x4.ne(v128.or(get(l.y0), get(l.y1)), v128.zero()),
                ),
              ),
              [
                v128.store(get(l.yp), get(l.y0)),
                v128.store(get(l.yp), get(l.y1), 16),
                i32.store(get(l.lp), mul(get(l.o), c(MR * 16))),
                set(l.yp, add(get(l.yp), c(32))),
                set(l.lp, add(get(l.lp), c(4))),
              ],
            ),
            set(l.q0, add(get(l.q0), get(l.qs))),
            set(l.q1, add(get(l.q1), get(l.qs))),
          ]),
          i32.store(get(l.mp), get(l.lp)),
          set(l.vt, add(get(l.vt), c(24))),
          set(l.mp, add(get(l.mp), c(4))),
          brIf(0, i32.lt_u(get(l.vt), get(p.vend))),
        ),
      ];
      return [
        set(l.groups, field(p.g, CF.groups)),
        set(l.cg, i32.div_s(field(p.g, CF.c), get(l.groups))),
        set(l.og, i32.div_s(field(p.g, CF.o), get(l.groups))),
        set(
          l.kk,
          mul(get(l.cg), mul(field(p.g, CF.kh), field(p.g, CF.kw))),
        ),
        set(l.kp, mul(i32.div_s(add(get(l.kk), c(MR - 1)), c(MR)), c(MR))),
        set(l.oh, field(p.g, CF.oh)),
        set(l.ow, field(p.g, CF.ow)),
        set(l.ppb, x4(mul(get(l.oh), get(l.ow)))),
        set(l.hwb, x4(mul(field(p.g, CF.h), field(p.g, CF.w)))),
        // the split pairs' start (the table's word before ktab), the rows
        // of packed y tails (ns vectors per channel), x's bytes per
        // output row
        set(l.vsplit, i32.load(sub(get(p.ktab), c(4)))),
        set(l.ns, i32.shr_s(add(get(l.oh), c(1)), c(1))),
        set(l.tsb, i32.shl(get(l.ns), c(4))),
        set(l.rowb, x4(mul(field(p.g, CF.sh), field(p.g, CF.w)))),
        // after the packed tails: the copies of y, the lists, their ends
        // (per pair of vectors: og vectors of 32 bytes, og offsets, an end)
        set(l.ys, add(get(p.work), mul(get(l.tsb), get(l.og)))),
        // (np: og times the pairs)
        set(
          l.np,
          mul(i32.div_u(sub(get(p.vend), get(p.vtab)), c(24)), get(l.og)),
        ),
        set(l.lists, add(get(l.ys), i32.shl(get(l.np), c(5)))),
        set(l.ends, add(get(l.lists), i32.shl(get(l.np), c(2)))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          // image n's x zeroed first (each task its own images)
          memory.fill(
            add(
              field(p.g, CF.x),
              mul(mul(get(l.n), field(p.g, CF.c)), get(l.hwb)),
            ),
            c(0),
            mul(field(p.g, CF.c), get(l.hwb)),
          ),
          for_(l.grp, c(0), get(l.groups), c(1), [
            set(
              l.xb,
              add(
                field(p.g, CF.x),
                mul(
                  add(
                    mul(get(l.n), field(p.g, CF.c)),
                    mul(get(l.grp), get(l.cg)),
                  ),
                  get(l.hwb),
                ),
              ),
            ),
            set(
              l.yb,
              add(
                field(p.g, CF.y),
                mul(
                  add(
                    mul(get(l.n), field(p.g, CF.o)),
                    mul(get(l.grp), get(l.og)),
                  ),
                  get(l.ppb),
                ),
              ),
            ),
            // with split pairs: each channel's last two outputs of rows
            // r0, r0 + 1 (r0 = min(2s, oh - 2)) as vector s of the packed
            // tails at work (copied as bits)
            if_(i32.lt_u(get(l.vsplit), get(p.vend)), [
              set(l.d, get(p.work)),
              for_(l.o, c(0), get(l.og), c(1), [
                for_(l.s, c(0), get(l.ns), c(1), [
                  set(
                    l.r,
                    add(
                      get(l.yb),
                      add(
                        mul(get(l.o), get(l.ppb)),
                        x4(
                          add(
                            mul(
                              min(
                                i32.shl(get(l.s), c(1)),
                                sub(get(l.oh), c(2)),
                              ),
                              get(l.ow),
                            ),
                            sub(get(l.ow), c(2)),
                          ),
                        ),
                      ),
                    ),
                  ),
                  i32.store(get(l.d), i32.load(get(l.r))),
                  i32.store(get(l.d), i32.load(get(l.r), 4), 4),
                  set(l.r, add(get(l.r), x4(get(l.ow)))),
                  i32.store(get(l.d), i32.load(get(l.r)), 8),
                  i32.store(get(l.d), i32.load(get(l.r), 4), 12),
                  set(l.d, add(get(l.d), c(16))),
                ]),
              ]),
            ]),
            lists,
            set(
              l.wg,
              add(
                get(p.wp),
                i32.shl(mul(get(l.grp), mul(get(l.kp), get(l.og))), c(4)),
              ),
            ),
            for_(l.kb, c(0), get(l.kp), c(MR), [
              offs,
              set(
                l.wk,
                add(get(l.wg), i32.shl(mul(get(l.kb), get(l.og)), c(4))),
              ),
              // the pairs of whole vectors, then the split ones
              set(l.vt, get(p.vtab)),
              set(l.mp, get(l.ends)),
              set(l.lp, get(l.lists)),
              set(l.yp, get(l.ys)),
              pairs(l.vsplit, false),
              pairs(p.vend, true),
            ]),
          ]),
        ]),
      ];
    },
  );

// ---- the weight gradient of `convWeightDirect` for a sparse y (most of
// it zeros, as max pooling's gradient leaves it: 1 value in 4 at most, fewer
// after relu): windows that never touch padding, no dilation along x,
// 4 <= kw <= 8. x is read in place: the 8 floats from j = 0 of row r =
// (ci, i) of pixel p's window lie at p's offset plus row r's (a table per
// call; rows past the last at offset 0: their sums are never read). Per
// image, group and channel o, the list of o's nonzero pixels (their
// addresses in x and y; NaN counts as nonzero), and per tile of 6 rows × 2
// vectors, 12 accumulators over the list: one broadcast y and 12 vectors
// of x per pixel (lanes past kw hold other values, never read; the last
// window's reach past x's end stays inside its allocation's slack). Added
// per image into dw [groups, og, rows to 6, 8] (zeroed by the caller).
// Each weight's sum is the one `convWeightDirect` computes with the zero
// products left out (its pixels in the same order, the same multiply-add,
// per image, added in the same order): the same bits while x is finite
// (the caller checks) and no partial sum is -0.
const convWeightSparse: Template = ({ madd }) =>
  kernel(
    "convWeightSparse",
    {
      ...geomLocals,
      ...tileAcc,
      ys: V128,
      yv: F32,
      groups: I32,
      cg: I32,
      og: I32,
      kk: I32,
      rows: I32,
      rp: I32,
      pp: I32,
      ptab: I32,
      list: I32,
      rtab: I32,
      rend: I32,
      n: I32,
      grp: I32,
      o: I32,
      xb: I32,
      yb: I32,
      d: I32,
      q: I32,
      q4: I32,
      qe: I32,
      e: I32,
      cp: I32,
      a: I32,
      tb: I32,
      dwo: I32,
      r: I32,
      oy: I32,
      ox: I32,
      m: I32,
      ctab: I32,
      yq: V128,
      aq: V128,
      sel: V128,
      xbq: V128,
      ...rowLocals("r"),
    },
    (p, l) => {
      const acc = (u: number) => tileAccOf(l)(u >> 1, u & 1);
      const row = (u: number) =>
        (l as unknown as Record<string, number>)[`r${u >> 1}`];
      // R rows of the window (up to 6) × 8 floats against the list's
      // pixels
      const tile = (R: number): Code[] => [
        Array.from({ length: R }, (_, u) =>
          set(row(2 * u), i32.load(get(l.tb), 4 * u))),
        Array.from({ length: 2 * R }, (_, u) =>
          set(acc(u), v128.zero())),
        set(l.q, get(l.list)),
        loop(
          set(l.a, i32.load(get(l.q))),
          set(l.ys, v128.load32Splat(get(l.q), 4)),
          Array.from({ length: 2 * R }, (_, u) =>
            set(
              acc(u),
              madd(
                v128.load(add(get(l.a), get(row(u))), (u & 1) * 16),
                get(l.ys),
                get(acc(u)),
              ),
            )),
          set(l.q, add(get(l.q), c(8))),
          brIf(0, i32.lt_u(get(l.q), get(l.e))),
        ),
        Array.from({ length: 2 * R }, (_, u) =>
          v128.store(
            get(l.dwo),
            f32x4.add(v128.load(get(l.dwo), 16 * u), get(acc(u))),
            16 * u,
          )),
        set(l.dwo, add(get(l.dwo), c(6 * 32))),
        set(l.tb, add(get(l.tb), c(6 * 4))),
      ];
      // the tiles of 6 rows, then one of the rows left (the window's rows
      // end at rend; a tile of fewer rows leaves the accumulator's padding
      // rows alone: never read)
      const tiles: Code[] = [
        if_(i32.ge_u(get(l.rend), add(get(l.tb), c(24))), [
          loop(
            tile(6),
            brIf(0, i32.ge_u(get(l.rend), add(get(l.tb), c(24)))),
          ),
        ]),
        [5, 4, 3, 2, 1].map((R) =>
          if_(i32.eq(sub(get(l.rend), get(l.tb)), c(4 * R)), tile(R))
        ),
      ];
      return [
        loadConv(p.g, l),
        set(l.rows, mul(get(l.cg), get(l.kh))),
        set(l.rp, mul(i32.div_s(add(get(l.rows), c(5)), c(6)), c(6))),
        set(l.pp, mul(get(l.oh), get(l.ow))),
        // the pixels' offsets in x (bytes), the rows' offsets, the list
        set(l.ptab, get(p.work)),
        set(l.d, get(l.ptab)),
        pixelOffsetTable(l, l.oy, l.ox, mul(get(l.sh), get(l.w)), 2),
        set(l.rtab, get(l.d)),
        for_(l.r, c(0), get(l.rp), c(1), [
          i32.store(
            get(l.d),
            if_i32(
              i32.lt_s(get(l.r), get(l.rows)),
              x4(mul(
                add(
                  mul(i32.div_s(get(l.r), get(l.kh)), get(l.h)),
                  mul(i32.rem_s(get(l.r), get(l.kh)), get(l.dh)),
                ),
                get(l.w),
              )),
            ),
          ),
          set(l.d, add(get(l.d), c(4))),
        ]),
        set(l.rend, add(get(l.rtab), x4(get(l.rows)))),
        set(l.ctab, i32.and(add(get(l.d), c(15)), c(-16))),
        selectionTable(l),
        set(l.list, add(get(l.ctab), c(256))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l),
            setYPlane(p.g, l),
            set(l.xbq, i32x4.splat(get(l.xb))),
            eachChannelList(l, get(l.xb), [
              set(
                l.dwo,
                add(
                  get(p.dw),
                  mul(
                    add(mul(get(l.grp), get(l.og)), get(l.o)),
                    i32.shl(get(l.rp), c(5)),
                  ),
                ),
              ),
              set(l.tb, get(l.rtab)),
              tiles,
            ]),
          ]),
        ]),
      ];
    },
  );

// ---- the input gradient for a sparse y (most of it zeros, as max
// pooling's gradient leaves it): windows that never touch padding, no
// dilation along x. x[c, oy·sh + i·dh, ox·sw + j] += Σ_o w[o, c, i, j] ·
// y[o, oy, ox], value by value: per image and group, xt, a copy of the
// group's planes of x with the channels innermost ([h, w, cp], cp = cg
// rounded up to 4), starts at zero; per channel o, the list of its nonzero
// y (`nonzeroList`), and per listed value and window row i, the kw·cp floats
// of xt from the window's start in that row (side by side: no dilation
// along x) += y · wt[o, i] (the group's weights packed [og, kh, kw, cp],
// zero past cg); then xt is copied into x's planes (every value: x need not
// be zeroed). Each x sums over o, then over o's pixels in order, not in
// the dense kernels' order: other bits, within rounding. The caller runs
// it only for finite weights (a product left out, 0 · inf, would be NaN).
// LeNet-5's second convolution (y 13-16% nonzero): a fifth of the
// multiply-adds of `convInputDirect`, which skips only pairs of vectors of
// y that are all zero.
const convInputSparse: Template = ({ madd }) =>
  kernel(
    "convInputSparse",
    {
      ...geomLocals,
      ...listLocals,
      groups: I32,
      cg: I32,
      og: I32,
      kk: I32,
      cpad: I32,
      cpb: I32,
      pp: I32,
      vb: I32,
      rowb: I32,
      wt: I32,
      xt: I32,
      xtb: I32,
      n: I32,
      grp: I32,
      o: I32,
      i: I32,
      j: I32,
      ci: I32,
      oy: I32,
      ox: I32,
      xb: I32,
      yb: I32,
      a: I32,
      wo: I32,
      wr: I32,
      at: I32,
      re: I32,
      s: I32,
      de: I32,
      ys: V128,
    },
    (p, l) => {
      // one vector of a window row: xt at `at` += y · the weights at wr
      const step = (u: number): Code[] => [
        v128.store(
          get(l.at),
          madd(
            v128.load(get(l.wr), 16 * u),
            get(l.ys),
            v128.load(get(l.at), 16 * u),
          ),
          16 * u,
        ),
      ];
      // the listed value at q: its window's rows += y · wt[o]'s
      const item = (q: number): Code[] => [
        set(l.a, i32.load(get(q))),
        set(l.ys, v128.load32Splat(get(q), 4)),
        set(l.wr, get(l.wo)),
        for_(l.i, c(0), get(l.kh), c(1), [
          set(l.at, get(l.a)),
          set(l.re, add(get(l.a), get(l.vb))),
          kLoopU(step, [[l.at, 16], [l.wr, 16]], get(l.re), 8),
          set(l.a, add(get(l.a), get(l.rowb))),
        ]),
      ];
      const align = (v: Code) => i32.and(add(v, c(15)), c(-16));
      return [
        loadConv(p.g, l),
        set(l.cpad, i32.and(add(get(l.cg), c(3)), c(-4))),
        set(l.cpb, x4(get(l.cpad))),
        set(l.pp, mul(get(l.oh), get(l.ow))),
        // bytes of a window row in xt, and from one window row to the next
        set(l.vb, mul(get(l.kw), get(l.cpb))),
        set(l.rowb, mul(mul(get(l.dh), get(l.w)), get(l.cpb))),
        // the work: the pixels' window starts in xt (bytes), the byte
        // selections, the list, the packed weights, xt
        set(l.ptab, get(p.work)),
        set(l.d, get(l.ptab)),
        for_(l.oy, c(0), get(l.oh), c(1), [
          for_(l.ox, c(0), get(l.ow), c(1), [
            i32.store(
              get(l.d),
              mul(
                add(
                  mul(mul(get(l.oy), get(l.sh)), get(l.w)),
                  mul(get(l.ox), get(l.sw)),
                ),
                get(l.cpb),
              ),
            ),
            set(l.d, add(get(l.d), c(4))),
          ]),
        ]),
        set(l.ctab, align(get(l.d))),
        selectionTable(l),
        set(l.list, add(get(l.ctab), c(256))),
        set(
          l.wt,
          align(add(get(l.list), add(i32.shl(get(l.pp), c(3)), c(32)))),
        ),
        set(
          l.xt,
          align(add(get(l.wt), mul(mul(get(l.og), get(l.kh)), get(l.vb)))),
        ),
        set(l.xtb, mul(mul(get(l.h), get(l.w)), get(l.cpb))),
        set(l.xbq, i32x4.splat(get(l.xt))),
        for_(l.grp, c(0), get(l.groups), c(1), [
          // wt[o, i, j, ci] = w[grp·og + o, ci, i, j] (0 for ci >= cg)
          set(l.d, get(l.wt)),
          for_(l.o, c(0), get(l.og), c(1), [
            for_(l.i, c(0), get(l.kh), c(1), [
              for_(l.j, c(0), get(l.kw), c(1), [
                for_(l.ci, c(0), get(l.cpad), c(1), [
                  f32.store(
                    get(l.d),
                    f32.select(
                      f32.load(add(
                        get(p.wa),
                        x4(add(
                          mul(
                            add(
                              mul(
                                add(mul(get(l.grp), get(l.og)), get(l.o)),
                                get(l.cg),
                              ),
                              min(get(l.ci), sub(get(l.cg), c(1))),
                            ),
                            mul(get(l.kh), get(l.kw)),
                          ),
                          add(mul(get(l.i), get(l.kw)), get(l.j)),
                        )),
                      )),
                      f32.const_(0),
                      i32.lt_s(get(l.ci), get(l.cg)),
                    ),
                  ),
                  set(l.d, add(get(l.d), c(4))),
                ]),
              ]),
            ]),
          ]),
          for_(l.n, get(p.n0), get(p.n1), c(1), [
            memory.fill(get(l.xt), c(0), get(l.xtb)),
            setYPlane(p.g, l),
            eachChannelList(l, get(l.xt), [
              set(
                l.wo,
                add(get(l.wt), mul(get(l.o), mul(get(l.kh), get(l.vb)))),
              ),
              set(l.q, get(l.list)),
              loop(
                item(l.q),
                set(l.q, add(get(l.q), c(8))),
                brIf(0, i32.lt_u(get(l.q), get(l.e))),
              ),
            ]),
            // xt into the group's planes of x
            setXPlane(p.g, l),
            for_(l.ci, c(0), get(l.cg), c(1), [
              set(l.s, add(get(l.xt), x4(get(l.ci)))),
              set(
                l.d,
                add(get(l.xb), x4(mul(get(l.ci), mul(get(l.h), get(l.w))))),
              ),
              set(l.de, add(get(l.d), x4(mul(get(l.h), get(l.w))))),
              loop(
                f32.store(get(l.d), f32.load(get(l.s))),
                set(l.s, add(get(l.s), get(l.cpb))),
                set(l.d, add(get(l.d), c(4))),
                brIf(0, i32.lt_u(get(l.d), get(l.de))),
              ),
            ]),
          ]),
        ]),
      ];
    },
  );

// ---- convInputDirect's weight panels (see packPanels in conv.ts): for
// each group, panel of 6 k and channel o, the 6 weights w[grp·og + o, k]
// (0 past kk = cg·kh·kw), each broadcast to a vector, written in order at
// dst, the k = (ci, i, j) in kOrder's order (ci fastest, then i, then j:
// tab holds each one's offset in a channel's weights);
// at `fin` whether they are all finite (1, else 0: their sum is; a finite
// sum that overflows says 0 too, which only keeps every product).
const packPanels: Template = () =>
  kernel(
    "packPanels",
    {
      kk: I32,
      kp: I32,
      grp: I32,
      kb: I32,
      o: I32,
      q: I32,
      t: I32,
      d: I32,
      src: I32,
      v: F32,
      s: F32,
    },
    (p, l) => [
      set(l.kk, mul(get(p.cg), mul(get(p.kh), get(p.kw)))),
      set(l.kp, mul(i32.div_s(add(get(l.kk), c(MR - 1)), c(MR)), c(MR))),
      set(l.d, get(p.dst)),
      set(l.s, f32.const_(0)),
      for_(l.grp, c(0), get(p.groups), c(1), [
        for_(l.kb, c(0), get(l.kp), c(MR), [
          set(
            l.src,
            add(get(p.w), x4(mul(mul(get(l.grp), get(p.og)), get(l.kk)))),
          ),
          for_(l.o, c(0), get(p.og), c(1), [
            for_(l.q, get(l.kb), add(get(l.kb), c(MR)), c(1), [
              // the q-th k's weight, at its offset in the table (the last
              // k's for one past kk, not used)
              set(l.t, min(get(l.q), sub(get(l.kk), c(1)))),
              set(
                l.v,
                f32.select(
                  f32.load(
                    add(
                      get(l.src),
                      x4(i32.load(add(get(p.tab), x4(get(l.t))))),
                    ),
                  ),
                  f32.const_(0),
                  i32.lt_s(get(l.q), get(l.kk)),
                ),
              ),
              set(l.s, f32.add(get(l.s), get(l.v))),
              v128.store(get(l.d), f32x4.splat(get(l.v))),
              set(l.d, add(get(l.d), c(16))),
            ]),
            set(l.src, add(get(l.src), x4(get(l.kk)))),
          ]),
        ]),
      ]),
      i32.store(
        get(p.fin),
        f32.eq(
          f32.mul(get(l.s), f32.const_(0)),
          f32.mul(get(l.s), f32.const_(0)),
        ),
      ),
    ],
  );

/** The direct convolution gradients' templates. */
export const convGradKernels: FamilyTemplates<"conv_grad"> = {
  convWeightDirect,
  convInputDirect,
  convWeightRows,
  convWeightSparse,
  packPanels,
  convInputSparse,
};
