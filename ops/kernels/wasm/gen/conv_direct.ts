/**
 * Direct convolution (forward), for windows that never touch padding: no
 * im2col, x read in place (or from a copy with each element broadcast to
 * a vector). Each task first packs the weights of every group into panels
 * (`packDirectWeights`), then runs register tiles shaped like the GEMM
 * micro-kernel's (`tile.ts`): `convDirect` along output rows (stride 1 along
 * x), `convDirectC` along output channels (any stride). `conv.ts` picks
 * whichever wastes fewer lanes.
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
  for_,
  get,
  I32,
  i32,
  i32x4,
  if_,
  loop,
  set,
  V128,
  v128,
} from "../_asm.ts";
import {
  add,
  c,
  type FamilyTemplates,
  field,
  if_f32,
  if_i32,
  kernel,
  lanes,
  min,
  mul,
  reluVec,
  storeSplat,
  sub,
  type Template,
  x4,
} from "./emit.ts";
import { kLoopU, tileAcc, tileAccOf } from "./tile.ts";
import {
  geomLocals,
  kOffsetTable,
  loadConv,
  pixelOffsetTable,
  planeAddr,
  setXPlane,
  setYPlane,
} from "./conv_geometry.ts";
import { CONV_OFFSETS as CF, MR, NR } from "../layout.ts";

/** Steps per iteration of the direct kernels' k loops (see kLoopU). */
const UNROLL = 8;

/** The locals `packDirectWeights` uses. */
const packLocalNames = [
  "cg",
  "ci",
  "d",
  "dh",
  "dw",
  "groups",
  "grp",
  "h",
  "i",
  "j",
  "k",
  "kh",
  "kk",
  "kw",
  "og",
  "panels",
  "pw",
  "q",
  "r",
  "tab",
  "w",
  "fs",
] as const;
/**
 * The start of the direct convolution kernels: a table of the input
 * offset (bytes) of each k = (ci, i, j), then (16-aligned) every group's
 * weights packed in panels of R output channels (zero past the last
 * channel). The kernel broadcasts one operand from memory: with "weights",
 * each weight is packed as a whole vector of 4 copies (read with plain
 * vector loads, see packA); with "x", the kernel reads x from a broadcast
 * copy ({@link broadcastX}), so the offsets count 16 bytes per element.
 * Leaves the weights' sum in the f32 local `fs` (not finite when a weight
 * is not; a sum that overflows says so too).
 */
const packDirectWeights = (
  g: number,
  work: number,
  l: { [K in typeof packLocalNames[number]]: number },
  R: number,
  broadcast: "weights" | "x",
): Code[] => {
  // bytes per weight in the panels: a vector of copies, or one float
  const shift = broadcast === "weights" ? 4 : 2;
  return [
    set(l.fs, f32.const_(0)),
    set(l.panels, i32.div_s(add(get(l.og), c(R - 1)), c(R))),
    // the offset table (bytes), then the packed weights of every group
    set(l.tab, get(work)),
    // (16-aligned: the kernels read the panels with vector loads, which
    // cost more when they straddle cache lines)
    set(l.pw, i32.and(add(add(get(l.tab), x4(get(l.kk))), c(15)), c(-16))),
    set(l.d, get(l.tab)),
    kOffsetTable(l, broadcast === "x" ? 4 : 2),
    // channel by channel (each a row of the weights), k by k: channel o of
    // panel q at lane o - q of each k's R (zero past og)
    for_(l.grp, c(0), get(l.groups), c(1), [
      for_(l.q, c(0), mul(get(l.panels), c(R)), c(R), [
        for_(l.r, c(0), c(R), c(1), [
          set(
            l.d,
            add(
              get(l.pw),
              i32.shl(
                add(
                  mul(
                    add(mul(get(l.grp), mul(get(l.panels), c(R))), get(l.q)),
                    get(l.kk),
                  ),
                  get(l.r),
                ),
                c(shift),
              ),
            ),
          ),
          if_(i32.lt_s(add(get(l.q), get(l.r)), get(l.og)), [
            // i: the channel's weights
            set(
              l.i,
              add(
                field(g, CF.wt),
                x4(mul(
                  add(mul(get(l.grp), get(l.og)), add(get(l.q), get(l.r))),
                  get(l.kk),
                )),
              ),
            ),
            for_(l.k, c(0), get(l.kk), c(1), [
              (broadcast === "weights" ? storeSplat : f32.store)(
                get(l.d),
                f32.load(get(l.i)),
              ),
              set(l.fs, f32.add(get(l.fs), f32.load(get(l.i)))),
              set(l.i, add(get(l.i), c(4))),
              set(l.d, add(get(l.d), c(R << shift))),
            ]),
          ], [
            for_(l.k, c(0), get(l.kk), c(1), [
              (broadcast === "weights" ? storeSplat : f32.store)(
                get(l.d),
                f32.const_(0),
              ),
              set(l.d, add(get(l.d), c(R << shift))),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
};

/**
 * Copies the `n` floats at `src` to `dst`, each broadcast to a vector of 4
 * copies (16-aligned `dst`): a kernel that multiplies each element of x by
 * a vector then reads it with a plain vector load (see packA). Four at a
 * time (one vector load, four lane shuffles), then one at a time. Uses the
 * locals `s`, `d`, `e` and `xv` (a vector).
 */
const broadcastX = (
  src: Code,
  dst: Code,
  n: Code,
  l: { s: number; d: number; e: number; xv: number },
): Code[] => [
  set(l.s, src),
  set(l.d, dst),
  set(l.e, add(get(l.s), x4(n))),
  if_(i32.ge_u(get(l.e), add(get(l.s), c(16))), [
    loop(
      set(l.xv, v128.load(get(l.s))),
      [0, 1, 2, 3].map((t) =>
        v128.store(
          get(l.d),
          v128.shuffle(get(l.xv), get(l.xv), lanes(t, t, t, t)),
          16 * t,
        )
      ),
      set(l.s, add(get(l.s), c(16))),
      set(l.d, add(get(l.d), c(64))),
      brIf(0, i32.ge_u(get(l.e), add(get(l.s), c(16)))),
    ),
  ]),
  block(loop(
    brIf(1, i32.ge_u(get(l.s), get(l.e))),
    v128.store(get(l.d), v128.load32Splat(get(l.s))),
    set(l.s, add(get(l.s), c(4))),
    set(l.d, add(get(l.d), c(16))),
    br(0),
  )),
];

/**
 * The fused epilogue: when the record's `act` is set, relu (`reluVec`, as
 * the relu kernel: NaN kept, -0 made 0) of the tile's 12
 * accumulators before they are stored, so `relu(conv2d(...))` costs no pass
 * of its own.
 */
const reluTile = (
  g: number,
  acc: (r: number, v: number) => number,
  vecs = 2,
): Code =>
  if_(
    field(g, CF.act),
    Array.from(
      { length: MR },
      (_, r) =>
        Array.from(
          { length: vecs },
          (_, v) => set(acc(r, v), reluVec(get(acc(r, v)))),
        ),
    ),
  );

// ---- direct convolution (forward), for stride 1 along x, no padding, and
// output rows of at least 8: no im2col and no packing of x. Each task packs
// the weights of each group into 6-channel panels (as packA: for each k,
// the 6 channels' weights side by side, zero past the last channel) and a
// table of the input offset of each k = (ci, i, j). Then per image, panel
// and output row, 8 outputs at a time (the last block of a row moved back
// to end at the row's end, recomputing a few outputs): 12 accumulators
// (6 channels × 2 vectors) start at the bias, and each k adds two vectors
// of x (contiguous, as the stride is 1) times 6 weights (packed already
// broadcast to vectors): the GEMM micro-kernel's loads and multiply-adds,
// reading x in place.
const convDirect: Template = ({ madd }) =>
  kernel(
    "convDirect",
    {
      ...geomLocals,
      ...tileAcc,
      x0: V128,
      x1: V128,
      wv: V128,
      cg: I32,
      og: I32,
      kk: I32,
      groups: I32,
      panels: I32,
      tab: I32,
      pw: I32,
      n: I32,
      grp: I32,
      q: I32,
      r: I32,
      k: I32,
      ci: I32,
      i: I32,
      j: I32,
      oy: I32,
      ox: I32,
      at: I32,
      xb: I32,
      src: I32,
      kp: I32,
      ke: I32,
      wk: I32,
      wq: I32,
      yb: I32,
      yp: I32,
      rows: I32,
      bias: I32,
      d: I32,
      bv: I32,
      ps: I32,
      fs: F32,
      rs: I32,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      const xs = [l.x0, l.x1];
      // one k: `vecs` vectors of x at src plus its offset, against 6 weights
      // (paired: the second vector one output row down, at rs bytes on)
      const step = (vecs: number, paired = false) => (u: number): Code[] => [
        set(l.d, add(get(l.src), i32.load(get(l.kp), 4 * u))),
        xs.slice(0, vecs).map((x, v) =>
          set(
            x,
            paired && v === 1
              ? v128.load(add(get(l.d), get(l.rs)))
              : v128.load(get(l.d), 16 * v),
          )
        ),
        ...Array.from({ length: MR }, (_, r) => [
          set(l.wv, v128.load(get(l.wk), (u * MR + r) * 16)),
          xs.slice(0, vecs).map((x, v) =>
            set(acc(r, v), madd(get(l.wv), get(x), get(acc(r, v))))
          ),
        ]),
      ];
      // a block of 4·vecs outputs of row oy from column at, for 6 channels
      // the bias of channels q..q + 5 as vectors at bv (0 without a bias
      // or past the last channel), for every block of the panel
      const biasVectors = Array.from({ length: MR }, (_, r) =>
        v128.store(
          get(l.bv),
          f32x4.splat(
            if_f32(
              i32.and(
                i32.ne(get(l.bias), c(0)),
                i32.lt_s(add(get(l.q), c(r)), get(l.og)),
              ),
              f32.load(add(get(l.bias), x4(add(get(l.q), c(r))))),
            ),
          ),
          16 * r,
        ));
      // (paired: vecs 2, the second vector row oy + 1's, from column at)
      const block = (vecs: number, paired = false): Code[] => {
        const init: Code[] = [], store: Code[] = [];
        for (let r = 0; r < MR; r++) {
          // the bias of channel q + r (see biasVectors)
          init.push(
            set(acc(r, 0), v128.load(get(l.bv), 16 * r)),
            vecs > 1 ? set(acc(r, 1), get(acc(r, 0))) : [],
          );
          store.push(
            if_(i32.lt_s(c(r), get(l.rows)), [
              Array.from(
                { length: vecs },
                (_, v) =>
                  paired && v === 1
                    ? v128.store(add(get(l.yp), x4(get(l.ow))), get(acc(r, v)))
                    : v128.store(get(l.yp), get(acc(r, v)), 16 * v),
              ),
              set(l.yp, add(get(l.yp), get(l.ps))),
            ]),
          );
        }
        return [
          set(
            l.src,
            add(
              get(l.xb),
              x4(add(mul(mul(get(l.oy), get(l.sh)), get(l.w)), get(l.at))),
            ),
          ),
          init,
          set(l.kp, get(l.tab)),
          set(l.wk, get(l.wq)),
          kLoopU(
            step(vecs, paired),
            [[l.kp, 4], [l.wk, MR * 16]],
            get(l.ke),
            UNROLL,
          ),
          set(
            l.yp,
            add(get(l.yb), x4(add(mul(get(l.oy), get(l.ow)), get(l.at)))),
          ),
          reluTile(p.g, acc, vecs),
          store,
        ];
      };
      return [
        loadConv(p.g, l),
        ...packDirectWeights(p.g, p.work, l, MR, "weights"),
        // after the weights: the bias vectors (see biasVectors)
        set(
          l.bv,
          add(
            get(l.pw),
            i32.shl(
              mul(mul(get(l.groups), mul(get(l.panels), c(MR))), get(l.kk)),
              c(4),
            ),
          ),
        ),
        set(l.ps, x4(mul(get(l.oh), get(l.ow)))),
        // x's bytes per output row
        set(l.rs, x4(mul(get(l.sh), get(l.w)))),
        set(l.ke, add(get(l.tab), x4(get(l.kk)))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l),
            set(
              l.bias,
              if_i32(
                field(p.g, CF.bias),
                add(field(p.g, CF.bias), x4(mul(get(l.grp), get(l.og)))),
              ),
            ),
            for_(l.q, c(0), get(l.og), c(MR), [
              set(l.rows, min(c(MR), sub(get(l.og), get(l.q)))),
              biasVectors,
              set(
                l.wq,
                add(
                  get(l.pw),
                  i32.shl(
                    mul(
                      add(
                        mul(get(l.grp), mul(get(l.panels), c(MR))),
                        get(l.q),
                      ),
                      get(l.kk),
                    ),
                    c(4),
                  ),
                ),
              ),
              set(
                l.yb,
                planeAddr(
                  field(p.g, CF.y),
                  get(l.n),
                  field(p.g, CF.o),
                  add(mul(get(l.grp), get(l.og)), get(l.q)),
                  mul(get(l.oh), get(l.ow)),
                ),
              ),
              for_(l.oy, c(0), get(l.oh), c(1), [
                // blocks of 8 while more than 4 are left (the last one
                // moved back to end at ow), then one of 4 ending at ow
                set(l.ox, c(0)),
                loop(
                  set(l.at, min(get(l.ox), sub(get(l.ow), c(8)))),
                  block(2),
                  set(l.ox, add(get(l.ox), c(8))),
                  brIf(0, i32.gt_s(sub(get(l.ow), get(l.ox)), c(4))),
                ),
                // (the 4 of two rows in one block: an even row's with the
                // next row's, when there is one; an odd row's were done)
                if_(i32.lt_s(get(l.ox), get(l.ow)), [
                  set(l.at, sub(get(l.ow), c(4))),
                  if_(
                    i32.and(get(l.oy), c(1)),
                    [],
                    [
                      if_(
                        i32.lt_s(add(get(l.oy), c(1)), get(l.oh)),
                        block(2, true),
                        block(1),
                      ),
                    ],
                  ),
                ]),
              ]),
            ]),
          ]),
        ]),
      ];
    },
  );

// ---- direct convolution vectorized over output channels: the GEMM
// micro-kernel's shape with A read in place. Per image and group, x is
// first copied with each element broadcast to a vector (`broadcastX`).
// Per tile, 6 output pixels (consecutive in the flattened output, so rows
// may change inside a tile; the last tile moved back to end at the plane's
// end) × 8 channels: each k = (ci, i, j) loads the 6 pixels' broadcast
// inputs (each pixel at its own address plus the k's offset) against two
// vectors of packed weights (8 channels side by side, zero past the
// last). Any stride and dilation; no
// padding (the caller checks every window lies inside x), at least 6
// output pixels. The tile is stored transposed, lane by lane.
//
// The k run as ranges of whole input channels: with the record's `skip`
// (no bias of -0) and finite weights, the channels whose plane of x is all
// ±0 in an image are left out of its tiles (a dead channel after relu and
// pooling). The sums are the same: a product with a zero adds ±0 to a sum
// that is never -0 (it starts at the bias; x + (-0) is -0 only when x is).
const convDirectC: Template = ({ madd }) =>
  kernel(
    "convDirectC",
    {
      ...geomLocals,
      ...tileAcc,
      b0: V128,
      b1: V128,
      a: V128,
      cg: I32,
      og: I32,
      kk: I32,
      pp: I32,
      groups: I32,
      panels: I32,
      tab: I32,
      pw: I32,
      n: I32,
      grp: I32,
      q: I32,
      r: I32,
      k: I32,
      ci: I32,
      i: I32,
      j: I32,
      pb: I32,
      at: I32,
      xb: I32,
      kp: I32,
      ke: I32,
      off: I32,
      wk: I32,
      wq: I32,
      yb: I32,
      bias: I32,
      d: I32,
      s0: I32,
      s1: I32,
      s2: I32,
      s3: I32,
      s4: I32,
      s5: I32,
      xw: I32,
      s: I32,
      e: I32,
      ptab: I32,
      ya: I32,
      ps: I32,
      fs: F32,
      sk: I32,
      khw: I32,
      cl: I32,
      ce: I32,
      cq: I32,
      pe: I32,
      xv: V128,
      tr0: V128,
      tr1: V128,
      tr2: V128,
      tr3: V128,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      const src = [l.s0, l.s1, l.s2, l.s3, l.s4, l.s5];
      const setup: Code[] = [], store: Code[] = [];
      for (let t = 0; t < MR; t++) {
        // pixel at + t, from the pixel offset table
        setup.push(
          set(
            src[t],
            add(
              get(l.xb),
              i32.load(add(get(l.ptab), x4(get(l.at))), 4 * t),
            ),
          ),
          set(acc(t, 0), get(l.b0)),
          set(acc(t, 1), get(l.b1)),
        );
      }
      // one k: its x offset from the table at kp, its weights at wk (u
      // steps on from both)
      const step = (u: number): Code[] => [
        set(l.off, i32.load(get(l.kp), 4 * u)),
        set(l.b0, v128.load(get(l.wk), NR * 4 * u)),
        set(l.b1, v128.load(get(l.wk), NR * 4 * u + 16)),
        ...src.flatMap((s, t) => [
          set(l.a, v128.load(add(get(s), get(l.off)))),
          set(acc(t, 0), madd(get(l.a), get(l.b0), get(acc(t, 0)))),
          set(acc(t, 1), madd(get(l.a), get(l.b1), get(acc(t, 1)))),
        ]),
      ];
      // a whole tile of 8 channels: pixels 0-3 transposed (4×4 blocks, as
      // packB) into one vector per channel, pixels 4 and 5 lane by lane
      const fullStore: Code[] = [
        set(l.ya, add(get(l.yb), x4(add(mul(get(l.q), get(l.pp)), get(l.at))))),
      ];
      for (let v = 0; v < 2; v++) {
        const r = [0, 1, 2, 3].map((t) => get(acc(t, v)));
        fullStore.push(
          set(l.tr0, v128.shuffle(r[0], r[1], lanes(0, 4, 1, 5))),
          set(l.tr1, v128.shuffle(r[2], r[3], lanes(0, 4, 1, 5))),
          set(l.tr2, v128.shuffle(r[0], r[1], lanes(2, 6, 3, 7))),
          set(l.tr3, v128.shuffle(r[2], r[3], lanes(2, 6, 3, 7))),
        );
        const pairs: [number, number, number[]][] = [
          [l.tr0, l.tr1, lanes(0, 1, 4, 5)],
          [l.tr0, l.tr1, lanes(2, 3, 6, 7)],
          [l.tr2, l.tr3, lanes(0, 1, 4, 5)],
          [l.tr2, l.tr3, lanes(2, 3, 6, 7)],
        ];
        pairs.forEach(([a, b, ls], lane) =>
          fullStore.push(
            v128.store(get(l.ya), v128.shuffle(get(a), get(b), ls)),
            f32.store(get(l.ya), f32x4.extractLane(get(acc(4, v)), lane), 16),
            f32.store(get(l.ya), f32x4.extractLane(get(acc(5, v)), lane), 20),
            set(l.ya, add(get(l.ya), get(l.ps))),
          )
        );
      }
      for (let t = 0; t < MR; t++) {
        for (let v = 0; v < 2; v++) {
          for (let lane = 0; lane < 4; lane++) {
            // channel q + 4v + lane, pixel at + t
            store.push(
              if_(i32.lt_s(add(get(l.q), c(4 * v + lane)), get(l.og)), [
                f32.store(
                  add(
                    get(l.yb),
                    x4(add(
                      mul(add(get(l.q), c(4 * v + lane)), get(l.pp)),
                      add(get(l.at), c(t)),
                    )),
                  ),
                  f32x4.extractLane(get(acc(t, v)), lane),
                ),
              ]),
            );
          }
        }
      }
      // the image's ranges [k0, k1) of k at cl (to ce): with sk, the
      // channels whose plane of x (at xb) has a value that is not ±0 (its
      // vectors or-ed, reading up to 3 floats past its end: the next
      // plane's, or the allocation's slack, which may keep a zero plane in),
      // adjacent ones merged; else one range of all k
      const ranges: Code[] = [
        set(l.ce, get(l.cl)),
        if_(get(l.sk), [
          set(l.s, get(l.xb)),
          for_(l.ci, c(0), get(l.cg), c(1), [
            set(l.pe, add(get(l.s), x4(mul(get(l.h), get(l.w))))),
            set(l.xv, v128.zero()),
            loop(
              set(l.xv, v128.or(get(l.xv), v128.load(get(l.s)))),
              set(l.s, add(get(l.s), c(16))),
              brIf(0, i32.lt_u(get(l.s), get(l.pe))),
            ),
            set(l.s, get(l.pe)),
            // any bits but the signs
            if_(v128.anyTrue(i32x4.shl(get(l.xv), c(1))), [
              set(l.k, mul(get(l.ci), get(l.khw))),
              // after a range that ends here: extend it, else a new one
              if_(
                i32.and(
                  i32.ne(get(l.ce), get(l.cl)),
                  i32.eq(i32.load(sub(get(l.ce), c(4))), get(l.k)),
                ),
                [i32.store(sub(get(l.ce), c(4)), add(get(l.k), get(l.khw)))],
                [
                  i32.store(get(l.ce), get(l.k)),
                  i32.store(get(l.ce), add(get(l.k), get(l.khw)), 4),
                  set(l.ce, add(get(l.ce), c(8))),
                ],
              ),
            ]),
          ]),
        ], [
          i32.store(get(l.ce), c(0)),
          i32.store(get(l.ce), get(l.kk), 4),
          set(l.ce, add(get(l.ce), c(8))),
        ]),
      ];
      return [
        loadConv(p.g, l),
        set(l.pp, mul(get(l.oh), get(l.ow))),
        set(l.khw, mul(get(l.kh), get(l.kw))),
        ...packDirectWeights(p.g, p.work, l, NR, "x"),
        // leaving out zero planes: asked, and the weights finite (fs · 0
        // is not NaN)
        set(
          l.sk,
          i32.and(
            field(p.g, CF.skip),
            f32.eq(
              f32.mul(get(l.fs), f32.const_(0)),
              f32.mul(get(l.fs), f32.const_(0)),
            ),
          ),
        ),
        // after the weights: the x offset of each output pixel (16 bytes per
        // element of the broadcast x), then the broadcast copy of one
        // image's group of x
        set(
          l.ptab,
          i32.and(
            add(
              add(
                get(l.pw),
                x4(
                  mul(mul(get(l.groups), mul(get(l.panels), c(NR))), get(l.kk)),
                ),
              ),
              c(15),
            ),
            c(-16),
          ),
        ),
        set(l.d, get(l.ptab)),
        pixelOffsetTable(l, l.i, l.j, mul(get(l.sh), get(l.w)), 4),
        set(l.xw, i32.and(add(get(l.d), c(15)), c(-16))),
        // after the broadcast copy: the ranges (two words per channel)
        set(
          l.cl,
          add(
            get(l.xw),
            i32.shl(mul(get(l.cg), mul(get(l.h), get(l.w))), c(4)),
          ),
        ),
        set(l.ps, x4(get(l.pp))),
        set(l.ke, add(get(l.tab), x4(get(l.kk)))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l),
            ranges,
            broadcastX(
              get(l.xb),
              get(l.xw),
              mul(get(l.cg), mul(get(l.h), get(l.w))),
              l,
            ),
            set(l.xb, get(l.xw)),
            set(
              l.bias,
              if_i32(
                field(p.g, CF.bias),
                add(field(p.g, CF.bias), x4(mul(get(l.grp), get(l.og)))),
              ),
            ),
            setYPlane(p.g, l),
            for_(l.q, c(0), get(l.og), c(NR), [
              set(
                l.wq,
                add(
                  get(l.pw),
                  x4(mul(
                    add(mul(get(l.grp), mul(get(l.panels), c(NR))), get(l.q)),
                    get(l.kk),
                  )),
                ),
              ),
              // the bias of channels q.. (lanes past og are never stored)
              if_(get(l.bias), [
                set(l.b0, v128.load(add(get(l.bias), x4(get(l.q))))),
                set(l.b1, v128.load(add(get(l.bias), x4(get(l.q))), 16)),
              ], [
                set(l.b0, v128.zero()),
                set(l.b1, v128.zero()),
              ]),
              set(l.pb, c(0)),
              loop(
                set(l.at, min(get(l.pb), sub(get(l.pp), c(MR)))),
                setup,
                // each range of k (see ranges; none when every channel
                // is zero: the tile is its bias)
                set(l.cq, get(l.cl)),
                if_(i32.lt_u(get(l.cq), get(l.ce)), [
                  loop(
                    set(l.kp, add(get(l.tab), x4(i32.load(get(l.cq))))),
                    set(
                      l.wk,
                      add(get(l.wq), i32.shl(i32.load(get(l.cq)), c(5))),
                    ),
                    set(l.ke, add(get(l.tab), x4(i32.load(get(l.cq), 4)))),
                    kLoopU(
                      step,
                      [[l.kp, 4], [l.wk, NR * 4]],
                      get(l.ke),
                      UNROLL,
                    ),
                    set(l.cq, add(get(l.cq), c(8))),
                    brIf(0, i32.lt_u(get(l.cq), get(l.ce))),
                  ),
                ]),
                reluTile(p.g, acc),
                if_(
                  i32.le_s(add(get(l.q), c(NR)), get(l.og)),
                  fullStore,
                  store,
                ),
                // the bias again for the next tile
                if_(get(l.bias), [
                  set(l.b0, v128.load(add(get(l.bias), x4(get(l.q))))),
                  set(l.b1, v128.load(add(get(l.bias), x4(get(l.q))), 16)),
                ], [
                  set(l.b0, v128.zero()),
                  set(l.b1, v128.zero()),
                ]),
                set(l.pb, add(get(l.pb), c(MR))),
                brIf(0, i32.lt_s(get(l.pb), get(l.pp))),
              ),
            ]),
          ]),
        ]),
      ];
    },
  );

/** The direct convolutions' templates. */
export const convDirectKernels: FamilyTemplates<"conv_direct"> = {
  convDirect,
  convDirectC,
};
