/**
 * The GEMM family: `gemm` and the four functions it calls (the packers and
 * the micro-kernels): C[m×n] (row stride ldc) += A[m×k] · B[k×n]; and the
 * same five for float64 (`gemmF64`, `microF64`, ...), built from the same
 * templates with f64x2 vectors (see {@linkcode Elem}).
 *
 * All addresses are byte offsets into the one shared memory; sizes and
 * strides are element counts (f32 = 4 bytes, f64 = 8).
 *
 * GEMM, in the BLIS / GotoBLAS structure:
 *
 * ```
 * for jc in n step NC:                     columns of C, NC at a time
 *   for pc in k step KC:                   a KC slice of the sum
 *     pack B[pc.., jc..] into NR-wide panels   (stays in L2)
 *     for ic in m step MC:
 *       pack A[ic.., pc..] into MR-tall panels (stays in L2, a panel in L1)
 *       for jr, ir: micro-kernel: C[MR×NR] += Apanel · Bpanel
 * ```
 *
 * A panel whose 6 values are all ±0 at some k (relu's zeros in a linear
 * layer's gradient or input) lists the other k as it is packed, and
 * `microSparse` runs over that list only: the same sums, as a product with
 * a zero adds ±0 to a sum that is never -0 (it starts at +0), as long as B
 * is finite (packB checks; 0 · inf is NaN).
 *
 * The micro-kernel keeps an MR×NR tile of C in MR·NR/4 SIMD registers and,
 * per step of k, loads NR/4 vectors of B and MR vectors of A (packA stores
 * each A value broadcast to 4 lanes: V8's `v128.load32_splat` costs a
 * shuffle that competes with the multiply-adds), doing MR·NR/4 multiply-adds
 * (`f32x4.relaxed_madd` when the engine has relaxed SIMD, else `f32x4.mul` +
 * `f32x4.add`). V8 on x64 has 16 xmm registers (one is its scratch), so
 * MR·NR/4 + NR/4 + 1 <= 15.
 *
 * The float64 kernels keep the layout's bytes: a tile of MR × NR_F64 (4)
 * values is MR·2 f64x2 registers, a row of a B panel is two vectors, an A
 * value is broadcast to a vector (2 lanes), NC_F64 = NC / 2 columns of B are
 * packed at once, so the scratch is `GEMM_WORK_BYTES` too. Their
 * multiply-add is always `f64x2.mul` + `f64x2.add`, in both variants (the
 * relaxed fused one would round differently on different engines): each
 * product is rounded, then each sum, as in the TypeScript loops (`c += a·b`
 * in k order). Only the grouping differs: an entry's sum over one KC slice
 * of k starts from zero and is then added into C, so with k <= KC and C
 * zero the results are the TypeScript loops' bits.
 *
 * The matrices are read through general strides (element (i, p) of A is at
 * `a + 4·(i·ars + p·acs)`), so one routine serves A·B, Aᵀ·B and A·Bᵀ; the
 * packers take a fast path for unit strides. C is always accumulated into
 * (C += A·B): callers fill it first (zeros, or a bias).
 *
 * @module
 */
import {
  block,
  br,
  brIf,
  call,
  type Code,
  f32,
  f32x4,
  f64,
  f64x2,
  for_,
  get,
  I32,
  i32,
  if_,
  loop,
  set,
  V128,
  v128,
} from "../_asm.ts";
import {
  add,
  c,
  type EmitContext,
  F,
  type FamilyTemplates,
  kernel,
  lanes,
  min,
  mul,
  roundKU,
  sub,
  type Template,
  x4,
} from "./emit.ts";
import { kLoopU, tileAcc, tileAccOf } from "./tile.ts";
import type { KernelName } from "../manifest.ts";
import { KC, KLIST, KU, MC, MR, NC, NC_F64, NR, NR_F64 } from "../layout.ts";

/**
 * What the GEMM and im2col templates need to know of the element type: the
 * suffix of its kernels' names, the element size, the tile's and the packed
 * block's columns, and the scalar and vector instructions.
 */
export interface Elem {
  /** The kernels' names: the float32 one's and this suffix. */
  suffix: "" | "F64";
  /** log2 of the element's bytes. */
  shift: number;
  /** Elements per vector. */
  lanes: number;
  /** Columns of a tile (two vectors) and of a packed block of B. */
  nr: number;
  nc: number;
  load: (addr: Code) => Code;
  store: (addr: Code, v: Code) => Code;
  /** Scalar add. */
  add: (a: Code, b: Code) => Code;
  /** The scalar 0. */
  zero: Code;
  /** Vector add. */
  vadd: (a: Code, b: Code) => Code;
  /** Vector multiply. */
  vmul: (a: Code, b: Code) => Code;
  /** Lane-wise a != b (all ones or zero; NaN != NaN). */
  vne: (a: Code, b: Code) => Code;
  splat: (v: Code) => Code;
  extractLane: (v: Code, lane: number) => Code;
  loadSplat: (addr: Code) => Code;
  /** acc + a·b on vectors. */
  madd: (ctx: EmitContext) => (a: Code, b: Code, acc: Code) => Code;
}

/** float32: the f32x4 kernels. */
export const E32: Elem = {
  suffix: "",
  shift: 2,
  lanes: 4,
  nr: NR,
  nc: NC,
  load: (a) => f32.load(a),
  store: (a, v) => f32.store(a, v),
  add: f32.add,
  zero: f32.const_(0),
  vadd: f32x4.add,
  vmul: f32x4.mul,
  vne: f32x4.ne,
  splat: f32x4.splat,
  extractLane: f32x4.extractLane,
  loadSplat: (a) => v128.load32Splat(a),
  madd: (ctx) => ctx.madd,
};

/** float64: the f64x2 kernels (names ending in F64). */
export const E64: Elem = {
  suffix: "F64",
  shift: 3,
  lanes: 2,
  nr: NR_F64,
  nc: NC_F64,
  load: (a) => f64.load(a),
  store: (a, v) => f64.store(a, v),
  add: f64.add,
  zero: f64.const_(0),
  vadd: f64x2.add,
  vmul: f64x2.mul,
  vne: f64x2.ne,
  splat: f64x2.splat,
  extractLane: f64x2.extractLane,
  loadSplat: (a) => v128.load64Splat(a),
  // never fused (see the module's documentation)
  madd: () => (a, b, acc) => f64x2.add(f64x2.mul(a, b), acc),
};

/**
 * The name of kernel `base`'s version for element `el` (typed as `base`:
 * the manifest gives both versions the same parameters).
 */
export const named = <B extends KernelName>(el: Elem, base: B): B =>
  `${base}${el.suffix}` as B;

/** An element count as bytes (`x4` for f32). */
export const bytesOf = (el: Elem, x: Code): Code => i32.shl(x, c(el.shift));

// ---- micro-kernel: C[MR×nr] (row stride ldc bytes) += A panel · B panel
// (a row of a B panel is two vectors: nr·bytes = 32 either way). With a
// list (`microSparse`), the k of the list only: the A panel holds just
// those k, packed one after another (see packA), and the list gives each
// one's offset in the B panel.
const microOf = (el: Elem, sparse: boolean): Template => (ctx) =>
  kernel(
    named(el, sparse ? "microSparse" : "micro"),
    {
      ...tileAcc,
      b0: V128,
      b1: V128,
      a: V128,
      end: I32,
      row: I32,
      o: I32,
      ka: I32,
    },
    (p, l) => {
      const acc = tileAccOf(l), madd = el.madd(ctx);
      // (microSparse's first parameter is the list's address)
      const kl = (p as unknown as { kl: number }).kl;
      // the k's rows of the panels: u rows on, or at the list's offset
      // (k·32 in B, k·96 in A) u entries on
      const rows = (u: number): Code[] =>
        sparse
          ? [
            set(l.o, i32.load(get(kl), 4 * u)),
            set(l.ka, add(get(p.pa), add(get(l.o), i32.shl(get(l.o), c(1))))),
            set(l.o, add(get(p.pb), get(l.o))),
            set(l.b0, v128.load(get(l.o))),
            set(l.b1, v128.load(get(l.o), 16)),
          ]
          : [
            set(l.b0, v128.load(get(p.pb), u * 32)),
            set(l.b1, v128.load(get(p.pb), u * 32 + 16)),
          ];
      const step = (u: number): Code[] => {
        const code: Code[] = [rows(u)];
        for (let r = 0; r < MR; r++) {
          code.push(
            set(
              l.a,
              sparse
                ? v128.load(get(l.ka), r * 16)
                : v128.load(get(p.pa), (u * MR + r) * 16),
            ),
            set(acc(r, 0), madd(get(l.a), get(l.b0), get(acc(r, 0)))),
            set(acc(r, 1), madd(get(l.a), get(l.b1), get(acc(r, 1)))),
          );
        }
        return code;
      };
      const store: Code[] = [set(l.row, get(p.cp))];
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < 2; v++) {
          store.push(v128.store(
            get(l.row),
            el.vadd(v128.load(get(l.row), v * 16), get(acc(r, v))),
            v * 16,
          ));
        }
        store.push(set(l.row, add(get(l.row), get(p.ldc))));
      }
      if (sparse) {
        // the list's count, then its offsets: KU at a time, then the rest
        return [
          set(l.end, add(get(kl), x4(add(i32.load(get(kl)), c(1))))),
          set(kl, add(get(kl), c(4))),
          kLoopU(step, [[kl, 4]], get(l.end), KU),
          store,
        ];
      }
      const unrolled: Code[] = [];
      for (let u = 0; u < KU; u++) unrolled.push(step(u));
      return [
        set(l.end, add(get(p.pb), bytesOf(el, mul(get(p.kcp), c(el.nr))))),
        // do { KU steps } while (pb < end): kcp is a positive multiple of KU
        loop(
          unrolled,
          set(p.pa, add(get(p.pa), c(KU * MR * 16))),
          set(p.pb, add(get(p.pb), c(KU * 32))),
          brIf(0, i32.lt_u(get(p.pb), get(l.end))),
        ),
        store,
      ];
    },
  );

// ---- pack A: rows ic..ic+mc, k slice of length kc, into MR-row panels
// panel q holds, for each p < kcp, MR values A[q·MR + r, p] (0 past the
// edges), each broadcast to a whole vector: the micro-kernel then reads
// them with plain vector loads (V8's load32_splat costs a shuffle that
// competes with the multiply-adds: 35 against 50 GFLOP/s in a bare loop).
// Then each panel's list at `list` (KLIST words a panel): with `skip` (B
// finite, so that a product with a zero is ±0, which adds nothing to a sum
// that is never -0), the k where one of the panel's MR values is not ±0
// (NaN is not), their vectors moved down to follow each other, and for
// each its B panel's offset (k·32); else kc (the whole panel). The count
// comes first; `gemm` runs `microSparse` on the panels with fewer than kc.
const packA = (el: Elem): Template => () =>
  kernel(
    named(el, "packA"),
    {
      q: I32,
      r: I32,
      pp: I32,
      s: I32,
      d: I32,
      csb: I32,
      panel: I32,
      lst: I32,
      v: V128,
    },
    (p, l) => {
      // the bits of the panel's MR values at k (at s) but their signs,
      // or-ed: zero when all are ±0 (the panel stores each value broadcast
      // to a vector: its first lane; a float64's sign is its high word's top bit)
      const words = (off: number) =>
        Array.from({ length: MR }, (_, r) => i32.load(get(l.s), 16 * r + off))
          .reduce((x, y) => i32.or(x, y));
      const bits = el.shift === 2
        ? i32.shl(words(0), c(1))
        : i32.or(words(0), i32.shl(words(4), c(1)));
      const list: Code[] = [
        set(
          l.lst,
          add(get(p.list), mul(i32.div_u(get(l.q), c(MR)), c(4 * KLIST))),
        ),
        if_(get(p.skip), [
          set(l.d, get(l.lst)),
          set(l.s, get(l.panel)),
          for_(l.pp, c(0), get(p.kc), c(1), [
            if_(bits, [
              set(l.d, add(get(l.d), c(4))),
              i32.store(get(l.d), i32.shl(get(l.pp), c(5))),
            ]),
            set(l.s, add(get(l.s), c(MR * 16))),
          ]),
          i32.store(get(l.lst), i32.shr_s(sub(get(l.d), get(l.lst)), c(2))),
          // a panel with fewer than one k in 8 zero is taken whole (the
          // list's steps cost more; the same sums either way)
          if_(
            i32.gt_s(
              i32.shl(i32.load(get(l.lst)), c(3)),
              mul(get(p.kc), c(7)),
            ),
            [i32.store(get(l.lst), get(p.kc))],
          ),
        ], [i32.store(get(l.lst), get(p.kc))]),
      ];
      return [
        set(l.csb, bytesOf(el, get(p.cs))),
        for_(l.q, c(0), get(p.mc), c(MR), [
          set(
            l.panel,
            add(get(p.dst), i32.shl(mul(get(l.q), get(p.kcp)), c(4))),
          ),
          for_(l.r, c(0), c(MR), c(1), [
            set(l.d, add(get(l.panel), i32.shl(get(l.r), c(4)))),
            if_(i32.lt_s(add(get(l.q), get(l.r)), get(p.mc)), [
              set(
                l.s,
                add(
                  get(p.src),
                  bytesOf(el, mul(add(get(l.q), get(l.r)), get(p.rs))),
                ),
              ),
              set(l.pp, c(0)),
              // unit column stride: a vector at a time, one load and each
              // lane broadcast
              if_(i32.eq(get(p.cs), c(1)), [
                block(loop(
                  brIf(1, i32.gt_s(add(get(l.pp), c(el.lanes)), get(p.kc))),
                  set(l.v, v128.load(get(l.s))),
                  ...Array.from({ length: el.lanes }, (_, k) =>
                    v128.store(
                      get(l.d),
                      el.splat(el.extractLane(get(l.v), k)),
                      k * MR * 16,
                    )),
                  set(l.s, add(get(l.s), c(16))),
                  set(l.d, add(get(l.d), c(el.lanes * MR * 16))),
                  set(l.pp, add(get(l.pp), c(el.lanes))),
                  br(0),
                )),
              ]),
              for_(l.pp, get(l.pp), get(p.kc), c(1), [
                v128.store(get(l.d), el.loadSplat(get(l.s))),
                set(l.s, add(get(l.s), get(l.csb))),
                set(l.d, add(get(l.d), c(MR * 16))),
              ]),
              for_(l.pp, get(p.kc), get(p.kcp), c(1), [
                v128.store(get(l.d), v128.zero()),
                set(l.d, add(get(l.d), c(MR * 16))),
              ]),
            ], [
              for_(l.pp, c(0), get(p.kcp), c(1), [
                v128.store(get(l.d), v128.zero()),
                set(l.d, add(get(l.d), c(MR * 16))),
              ]),
            ]),
          ]),
          list,
        ]),
      ];
    },
  );

// ---- pack B (float32 stored transposed, full panel): 4×4 blocks, four
// columns read as vectors, transposed with shuffles into four rows of the
// panel; rows past the last multiple of 4 are left to the general loop
const packBTransposed = (
  p: Record<"src" | "kc", number>,
  l: Record<
    | "p0"
    | "j"
    | "s"
    | "d"
    | "q"
    | "pp"
    | "csb"
    | "panel"
    | "sv"
    | `${"c" | "t"}${0 | 1 | 2 | 3}`,
    number
  >,
): Code[] => [
  set(l.p0, i32.and(get(p.kc), c(-4))),
  for_(l.j, c(0), c(NR), c(4), [
    set(
      l.s,
      add(get(p.src), mul(add(get(l.q), get(l.j)), get(l.csb))),
    ),
    set(l.d, add(get(l.panel), x4(get(l.j)))),
    for_(l.pp, c(0), get(l.p0), c(4), [
      set(l.c0, v128.load(get(l.s))),
      set(l.c1, v128.load(add(get(l.s), get(l.csb)))),
      set(
        l.c2,
        v128.load(add(get(l.s), i32.shl(get(l.csb), c(1)))),
      ),
      set(
        l.c3,
        v128.load(
          add(
            add(get(l.s), get(l.csb)),
            i32.shl(get(l.csb), c(1)),
          ),
        ),
      ),
      set(
        l.sv,
        f32x4.add(
          get(l.sv),
          f32x4.add(
            f32x4.add(get(l.c0), get(l.c1)),
            f32x4.add(get(l.c2), get(l.c3)),
          ),
        ),
      ),
      set(
        l.t0,
        v128.shuffle(get(l.c0), get(l.c1), lanes(0, 4, 1, 5)),
      ),
      set(
        l.t1,
        v128.shuffle(get(l.c2), get(l.c3), lanes(0, 4, 1, 5)),
      ),
      set(
        l.t2,
        v128.shuffle(get(l.c0), get(l.c1), lanes(2, 6, 3, 7)),
      ),
      set(
        l.t3,
        v128.shuffle(get(l.c2), get(l.c3), lanes(2, 6, 3, 7)),
      ),
      v128.store(
        get(l.d),
        v128.shuffle(get(l.t0), get(l.t1), lanes(0, 1, 4, 5)),
      ),
      v128.store(
        get(l.d),
        v128.shuffle(get(l.t0), get(l.t1), lanes(2, 3, 6, 7)),
        NR * 4,
      ),
      v128.store(
        get(l.d),
        v128.shuffle(get(l.t2), get(l.t3), lanes(0, 1, 4, 5)),
        2 * NR * 4,
      ),
      v128.store(
        get(l.d),
        v128.shuffle(get(l.t2), get(l.t3), lanes(2, 3, 6, 7)),
        3 * NR * 4,
      ),
      set(l.s, add(get(l.s), c(16))),
      set(l.d, add(get(l.d), c(4 * NR * 4))),
    ]),
  ]),
];

// ---- pack B (float64 stored transposed, full panel): 2 rows × 4 columns
// at a time, each column's two values one vector, interleaved with shuffles
// into the two rows of the panel; an odd last row is left to the general
// loop
const packBTransposedF64 = (
  p: Record<"src" | "kc", number>,
  l: Record<
    | "p0"
    | "s"
    | "d"
    | "q"
    | "pp"
    | "csb"
    | "panel"
    | "sv"
    | `c${0 | 1 | 2 | 3}`,
    number
  >,
): Code[] => {
  // f64 lanes as byte indices: 0-1 from a, 2-3 from b
  const lanes64 = (...ls: number[]) =>
    ls.flatMap((k) => Array.from({ length: 8 }, (_, b) => 8 * k + b));
  const col = (j: number) =>
    v128.load(add(get(l.s), j === 0 ? c(0) : mul(get(l.csb), c(j))));
  return [
    set(l.p0, i32.and(get(p.kc), c(-2))),
    set(l.s, add(get(p.src), mul(get(l.q), get(l.csb)))),
    set(l.d, get(l.panel)),
    for_(l.pp, c(0), get(l.p0), c(2), [
      set(l.c0, col(0)),
      set(l.c1, col(1)),
      set(l.c2, col(2)),
      set(l.c3, col(3)),
      set(
        l.sv,
        f64x2.add(
          get(l.sv),
          f64x2.add(
            f64x2.add(get(l.c0), get(l.c1)),
            f64x2.add(get(l.c2), get(l.c3)),
          ),
        ),
      ),
      v128.store(get(l.d), v128.shuffle(get(l.c0), get(l.c1), lanes64(0, 2))),
      v128.store(
        get(l.d),
        v128.shuffle(get(l.c2), get(l.c3), lanes64(0, 2)),
        16,
      ),
      v128.store(
        get(l.d),
        v128.shuffle(get(l.c0), get(l.c1), lanes64(1, 3)),
        32,
      ),
      v128.store(
        get(l.d),
        v128.shuffle(get(l.c2), get(l.c3), lanes64(1, 3)),
        48,
      ),
      set(l.s, add(get(l.s), c(16))),
      set(l.d, add(get(l.d), c(64))),
    ]),
  ];
};

// ---- pack B: k slice of length kc, columns 0..nc, into nr-column panels
// panel q holds, for each p < kcp, nr values: B[p, q·nr + j]. Leaves at
// `fin` whether every value is finite (1, else 0): their sum is (a sum of
// finite values that overflows says 0 too, which only costs packA's lists)
const packB = (el: Elem): Template => () =>
  kernel(
    named(el, "packB"),
    {
      q: I32,
      j: I32,
      pp: I32,
      p0: I32,
      s: I32,
      d: I32,
      rsb: I32,
      csb: I32,
      panel: I32,
      c0: V128,
      c1: V128,
      c2: V128,
      c3: V128,
      t0: V128,
      t1: V128,
      t2: V128,
      t3: V128,
      sv: V128,
    },
    (p, l) => [
      set(l.sv, v128.zero()),
      set(l.rsb, bytesOf(el, get(p.rs))),
      set(l.csb, bytesOf(el, get(p.cs))),
      for_(l.q, c(0), get(p.nc), c(el.nr), [
        set(l.panel, add(get(p.dst), bytesOf(el, mul(get(l.q), get(p.kcp))))),
        if_(
          i32.and(
            i32.eq(get(p.cs), c(1)),
            i32.le_s(add(get(l.q), c(el.nr)), get(p.nc)),
          ),
          [
            // unit column stride, full panel: two vector copies per row of B
            set(l.s, add(get(p.src), bytesOf(el, get(l.q)))),
            set(l.d, get(l.panel)),
            for_(l.pp, c(0), get(p.kc), c(1), [
              set(l.t0, v128.load(get(l.s))),
              set(l.t1, v128.load(get(l.s), 16)),
              v128.store(get(l.d), get(l.t0)),
              v128.store(get(l.d), get(l.t1), 16),
              set(l.sv, el.vadd(get(l.sv), el.vadd(get(l.t0), get(l.t1)))),
              set(l.s, add(get(l.s), get(l.rsb))),
              set(l.d, add(get(l.d), c(32))),
            ]),
          ],
          [
            set(l.p0, c(0)),
            // B stored transposed (unit row stride), full panel
            if_(
              i32.and(
                i32.eq(get(p.rs), c(1)),
                i32.le_s(add(get(l.q), c(el.nr)), get(p.nc)),
              ),
              el.shift === 2 ? packBTransposed(p, l) : packBTransposedF64(p, l),
            ),
            // a partial panel: zero it whole (vector stores), then fill
            // its columns
            if_(i32.gt_s(add(get(l.q), c(el.nr)), get(p.nc)), [
              call(
                F.zero,
                get(l.panel),
                bytesOf(el, mul(get(p.kcp), c(el.nr))),
              ),
            ]),
            // general: column by column from row p0 (contiguous reads when B
            // is stored transposed)
            for_(l.j, c(0), min(c(el.nr), sub(get(p.nc), get(l.q))), c(1), [
              set(
                l.d,
                add(
                  get(l.panel),
                  bytesOf(el, add(mul(get(l.p0), c(el.nr)), get(l.j))),
                ),
              ),
              set(
                l.s,
                add(
                  get(p.src),
                  add(
                    mul(add(get(l.q), get(l.j)), get(l.csb)),
                    mul(get(l.p0), get(l.rsb)),
                  ),
                ),
              ),
              for_(l.pp, get(l.p0), get(p.kc), c(1), [
                el.store(get(l.d), el.load(get(l.s))),
                set(l.sv, el.vadd(get(l.sv), el.splat(el.load(get(l.s))))),
                set(l.s, add(get(l.s), get(l.rsb))),
                set(l.d, add(get(l.d), c(32))),
              ]),
            ]),
          ],
        ),
        // zero rows kc..kcp of the panel
        call(
          F.zero,
          add(get(l.panel), bytesOf(el, mul(get(p.kc), c(el.nr)))),
          bytesOf(el, mul(sub(get(p.kcp), get(p.kc)), c(el.nr))),
        ),
      ]),
      // finite: sum · 0 is not NaN
      set(l.t0, el.vmul(get(l.sv), v128.zero())),
      i32.store(
        get(p.fin),
        i32.eqz(v128.anyTrue(el.vne(get(l.t0), get(l.t0)))),
      ),
    ],
  );

// ---- gemm: C[m×n] (row stride ldc) += A[m×k] · B[k×n], general strides
const gemm = (el: Elem): Template => () =>
  kernel(
    named(el, "gemm"),
    {
      jc: I32,
      pc: I32,
      ic: I32,
      jr: I32,
      ir: I32,
      nc: I32,
      kc: I32,
      kcp: I32,
      mc: I32,
      mr: I32,
      nr: I32,
      pa: I32,
      pb: I32,
      tile: I32,
      cp: I32,
      i: I32,
      j: I32,
      fin: I32,
      lists: I32,
      lst: I32,
    },
    (p, l) => {
      const NRe = el.nr, at = (x: Code) => bytesOf(el, x);
      // the tile (ir, jr) into cp (row stride ldc bytes): the A panel's
      // k where its list has fewer than kc, else all (see packA)
      const panelA = add(get(l.pa), i32.shl(mul(get(l.ir), get(l.kcp)), c(4)));
      const panelB = add(get(l.pb), at(mul(get(l.jr), get(l.kcp))));
      const tile = (cp: Code, ldc: Code): Code[] => [
        set(
          l.lst,
          add(get(l.lists), mul(i32.div_u(get(l.ir), c(MR)), c(4 * KLIST))),
        ),
        if_(i32.lt_s(i32.load(get(l.lst)), get(l.kc)), [
          call(
            F[named(el, "microSparse")],
            get(l.lst),
            panelA,
            panelB,
            cp,
            ldc,
          ),
        ], [
          call(F[named(el, "micro")], get(l.kcp), panelA, panelB, cp, ldc),
        ]),
      ];
      return [
        set(l.pa, get(p.work)),
        set(l.pb, add(get(p.work), c(MC * KC * 16))),
        set(l.tile, add(get(l.pb), c(KC * el.nc << el.shift))),
        // after the tile: packB's finiteness word, then packA's lists
        set(l.fin, add(get(l.tile), c(MR * 32))),
        set(l.lists, add(get(l.fin), c(16))),
        for_(l.jc, c(0), get(p.n), c(el.nc), [
          set(l.nc, min(c(el.nc), sub(get(p.n), get(l.jc)))),
          for_(l.pc, c(0), get(p.k), c(KC), [
            set(l.kc, min(c(KC), sub(get(p.k), get(l.pc)))),
            set(l.kcp, roundKU(get(l.kc))),
            call(
              F[named(el, "packB")],
              add(
                get(p.b),
                at(add(mul(get(l.pc), get(p.brs)), mul(get(l.jc), get(p.bcs)))),
              ),
              get(p.brs),
              get(p.bcs),
              get(l.kc),
              get(l.kcp),
              get(l.nc),
              get(l.pb),
              get(l.fin),
            ),
            for_(l.ic, c(0), get(p.m), c(MC), [
              set(l.mc, min(c(MC), sub(get(p.m), get(l.ic)))),
              call(
                F[named(el, "packA")],
                add(
                  get(p.a),
                  at(
                    add(mul(get(l.ic), get(p.ars)), mul(get(l.pc), get(p.acs))),
                  ),
                ),
                get(p.ars),
                get(p.acs),
                get(l.mc),
                get(l.kc),
                get(l.kcp),
                get(l.pa),
                get(l.lists),
                // (scanning A's panels pays for itself across 4 panels of
                // B or more)
                i32.and(
                  i32.and(get(p.skip), i32.load(get(l.fin))),
                  i32.ge_s(get(l.nc), c(4 * NRe)),
                ),
              ),
              for_(l.jr, c(0), get(l.nc), c(NRe), [
                set(l.nr, min(c(NRe), sub(get(l.nc), get(l.jr)))),
                for_(l.ir, c(0), get(l.mc), c(MR), [
                  set(l.mr, min(c(MR), sub(get(l.mc), get(l.ir)))),
                  set(
                    l.cp,
                    add(
                      get(p.cc),
                      at(add(
                        mul(add(get(l.ic), get(l.ir)), get(p.ldc)),
                        add(get(l.jc), get(l.jr)),
                      )),
                    ),
                  ),
                  if_(
                    i32.and(
                      i32.eq(get(l.mr), c(MR)),
                      i32.eq(get(l.nr), c(NRe)),
                    ),
                    [
                      tile(get(l.cp), at(get(p.ldc))),
                    ],
                    [
                      // an edge tile: compute into a zeroed MR×nr tile, add its valid part
                      call(F.zero, get(l.tile), c(MR * 32)),
                      tile(get(l.tile), c(32)),
                      for_(l.i, c(0), get(l.mr), c(1), [
                        for_(l.j, c(0), get(l.nr), c(1), [
                          el.store(
                            add(
                              get(l.cp),
                              at(add(mul(get(l.i), get(p.ldc)), get(l.j))),
                            ),
                            el.add(
                              el.load(
                                add(
                                  get(l.cp),
                                  at(add(mul(get(l.i), get(p.ldc)), get(l.j))),
                                ),
                              ),
                              el.load(
                                add(
                                  get(l.tile),
                                  at(add(mul(get(l.i), c(NRe)), get(l.j))),
                                ),
                              ),
                            ),
                          ),
                        ]),
                      ]),
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

/** The GEMM family's templates: float32, then float64. */
export const matmul: FamilyTemplates<"matmul"> = {
  micro: microOf(E32, false),
  microSparse: microOf(E32, true),
  packA: packA(E32),
  packB: packB(E32),
  gemm: gemm(E32),
  microF64: microOf(E64, false),
  microSparseF64: microOf(E64, true),
  packAF64: packA(E64),
  packBF64: packB(E64),
  gemmF64: gemm(E64),
};
