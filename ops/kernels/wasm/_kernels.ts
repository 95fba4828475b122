/**
 * The float32 WebAssembly kernels, written with the assembler in `_asm.ts`.
 * `buildKernels({ relaxed })` returns the module's bytes; `build.ts` commits
 * them (base64) to `_module.generated.ts`, and a test checks that the
 * committed bytes are what this file produces.
 *
 * All addresses are byte offsets into the one shared memory; sizes and
 * strides are element counts (f32 = 4 bytes).
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
 * The micro-kernel keeps an MR×NR tile of C in MR·NR/4 SIMD registers and,
 * per step of k, loads NR/4 vectors of B and MR vectors of A (packA stores
 * each A value broadcast to 4 lanes: V8's `v128.load32_splat` costs a
 * shuffle that competes with the multiply-adds), doing MR·NR/4 multiply-adds
 * (`f32x4.relaxed_madd` when the engine has relaxed SIMD, else `f32x4.mul` +
 * `f32x4.add`). V8 on x64 has 16 xmm registers (one is its scratch), so
 * MR·NR/4 + NR/4 + 1 <= 15.
 *
 * The matrices are read through general strides (element (i, p) of A is at
 * `a + 4·(i·ars + p·acs)`), so one routine serves A·B, Aᵀ·B and A·Bᵀ; the
 * packers take a fast path for unit strides. C is always accumulated into
 * (C += A·B): callers fill it first (zeros, or a bias).
 *
 * @module
 */
import {
  assemble,
  block,
  br,
  brIf,
  call,
  type Code,
  F32,
  f32,
  f32x4,
  for_,
  func,
  get,
  I32,
  i32,
  i32x4,
  if_,
  loop,
  set,
  V128,
  v128,
} from "./_asm.ts";
export type { Func } from "./_asm.ts";

/** Rows of the GEMM micro-kernel's tile. */
export const MR = 6;
/** Columns of the micro-kernel's tile (two f32x4 vectors). */
export const NR = 8;
/** The micro-kernel's k loop is unrolled this many times; packed panels are padded with zeros to a multiple. */
export const KU = 4;
/** k steps per iteration of the direct convolutions' inner loops (a power of two). */
export const CU = 4;
/** k slice per packing (a B panel is KC·NR·4 = 8 KiB: L1). */
export const KC = 256;
/** Rows of A packed at once, a multiple of MR (MC·KC·16 = 192 KiB, each value broadcast to a vector: L2). */
export const MC = MR * 8;
/** Columns of B packed at once (KC·NC·4 = 512 KiB: L2). */
export const NC = 512;

/** Bytes of GEMM scratch (packed A, packed B, one edge tile) per thread. */
export const GEMM_WORK_BYTES = (4 * MC * KC + KC * NC + MR * NR) * 4 + 64;

/** Fields of the convolution geometry record (i32 each) in memory, in this order. */
export const CONV_FIELDS = [
  "c", // input channels
  "h",
  "w",
  "o", // output channels
  "kh",
  "kw",
  "oh",
  "ow",
  "sh",
  "sw",
  "pt",
  "pl",
  "dh",
  "dw",
  "groups",
  "x", // address of x [n, c, h, w]
  "wt", // address of the weight [o, c/groups, kh, kw]
  "y", // address of y [n, o, oh, ow]
  "bias", // address of the bias [o], or 0 for none
  "yp", // y's plane stride (its oh·ow; a band of output rows reads y at y + band start)
] as const;
const CF = Object.fromEntries(CONV_FIELDS.map((f, i) => [f, i * 4])) as {
  [K in (typeof CONV_FIELDS)[number]]: number;
};

/** Fields of the pooling geometry record (i32 each). */
export const POOL_FIELDS = [
  "h",
  "w",
  "oh",
  "ow",
  "kh",
  "kw",
  "sh",
  "sw",
  "ph",
  "pw",
  "dh",
  "dw",
] as const;
const PF = Object.fromEntries(POOL_FIELDS.map((f, i) => [f, i * 4])) as {
  [K in (typeof POOL_FIELDS)[number]]: number;
};

// small helpers over the assembler
const c = i32.const_;
const add = i32.add, mul = i32.mul, sub = i32.sub;
/** 4·x: an element count as bytes. */
const x4 = (x: Code) => i32.shl(x, c(2));
/** Stores f32 `v` as a vector of 4 copies at `addr`. */
const storeSplat = (addr: Code, v: Code) => v128.store(addr, f32x4.splat(v));
const min = (a: Code, b: Code) => i32.select(a, b, i32.lt_s(a, b));
const max = (a: Code, b: Code) => i32.select(a, b, i32.gt_s(a, b));
/** Reads i32 field `off` of the record at local `rec`. */
const field = (rec: number, off: number) => i32.load(get(rec), off);
/** Rounds up to a multiple of KU (a power of two). */
const roundKU = (x: Code) => i32.and(add(x, c(KU - 1)), c(-KU));

/** Build options: the relaxed-SIMD multiply-add or the plain-SIMD one. */
export interface KernelOptions {
  relaxed: boolean;
}

/** Builds the kernel module's functions (in index order). */
export function kernelFuncs(opts: KernelOptions) {
  /** acc + a·b on f32x4. */
  const madd = (a: Code, b: Code, acc: Code) =>
    opts.relaxed
      ? f32x4.relaxedMadd(a, b, acc)
      : f32x4.add(f32x4.mul(a, b), acc);

  // Function indices (calls refer to them).
  const F = {
    micro: 0,
    packA: 1,
    packB: 2,
    gemm: 3,
    im2col: 4,
    col2im: 5,
    convForward: 6,
    convInputAdjoint: 7,
    convWeightAdjoint: 8,
    maxPool: 9,
    relu: 10,
    copy: 11,
    zero: 12,
    reluMask: 13,
    maxPool2x2: 14,
    convDirect: 15,
    convDirectC: 16,
    convWeightDirect: 17,
    convInputDirect: 18,
    convWeightRows: 19,
    sumRuns: 20,
    padPlanes: 21,
    maxUnpool2x2: 22,
    addF32: 23,
    subF32: 24,
    mulF32: 25,
    divF32: 26,
  };

  // ---- micro-kernel: C[MR×NR] (row stride ldc bytes) += A panel · B panel
  /** The accumulators of an MR × NR tile (NR / 4 vectors a row): locals c00..c51. */
  const tileAcc: Record<string, typeof V128> = {};
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NR / 4; v++) tileAcc[`c${r}${v}`] = V128;
  }
  /** MR i32 locals `${p}0`..`${p}5` (one per row of a tile). */
  const rowLocals = (p: string): Record<string, typeof I32> =>
    Object.fromEntries(
      Array.from({ length: MR }, (_, r) => [`${p}${r}`, I32]),
    );
  /** The tile accumulator c{r}{v} among a kernel's locals (see tileAcc). */
  const tileAccOf = (l: object) => (r: number, v: number) =>
    (l as Record<string, number>)[`c${r}${v}`];
  /** Sets the 12 tile accumulators to zero. */
  const zeroTile = (l: object): Code[] =>
    Array.from({ length: MR }, (_, r) => [
      set(tileAccOf(l)(r, 0), v128.zero()),
      set(tileAccOf(l)(r, 1), v128.zero()),
    ]);
  /**
   * k{r} = xb + the x offset (bytes, from the table at `tab`) of k = kb + r,
   * for r < MR; k past the last repeat the last.
   */
  const tileKOffsets = (
    l: { xb: number; kb: number; kk: number },
    tab: Code,
  ): Code[] =>
    Array.from({ length: MR }, (_, r) =>
      set(
        (l as unknown as Record<string, number>)[`k${r}`],
        add(
          get(l.xb),
          i32.load(
            add(tab, x4(min(add(get(l.kb), c(r)), sub(get(l.kk), c(1))))),
          ),
        ),
      ));
  /**
   * The k loop of a direct kernel: `step(u)` is the k u steps past where the
   * pointers are; each pointer [local, stride] moves by its stride per k, and
   * the first one decides the end. CU steps per iteration while it is below
   * `endCU` (an offset of CU whole steps), then one at a time until `end`:
   * fewer loop overheads per k (V8 re-checks interrupts, reloads the shared
   * memory's size and spills around every iteration).
   */
  const kLoop = (
    step: (u: number) => Code[],
    ptrs: [number, number][],
    endCU: Code,
    end: Code,
  ): Code[] => {
    const pass = (n: number, stop: Code) =>
      if_(i32.lt_u(get(ptrs[0][0]), stop), [
        loop(
          Array.from({ length: n }, (_, u) => step(u)),
          ptrs.map(([q, stride]) => set(q, add(get(q), c(n * stride)))),
          brIf(0, i32.lt_u(get(ptrs[0][0]), stop)),
        ),
      ]);
    return [pass(CU, endCU), pass(1, end)];
  };
  const micro = func(
    "micro",
    { kcp: I32, pa: I32, pb: I32, cp: I32, ldc: I32 },
    { ...tileAcc, b0: V128, b1: V128, a: V128, end: I32, row: I32 },
    (p, l) => {
      const acc = tileAccOf(l);
      const step = (u: number): Code[] => {
        const code: Code[] = [
          set(l.b0, v128.load(get(p.pb), u * NR * 4)),
          set(l.b1, v128.load(get(p.pb), u * NR * 4 + 16)),
        ];
        for (let r = 0; r < MR; r++) {
          code.push(
            set(l.a, v128.load(get(p.pa), (u * MR + r) * 16)),
            set(acc(r, 0), madd(get(l.a), get(l.b0), get(acc(r, 0)))),
            set(acc(r, 1), madd(get(l.a), get(l.b1), get(acc(r, 1)))),
          );
        }
        return code;
      };
      const unrolled: Code[] = [];
      for (let u = 0; u < KU; u++) unrolled.push(step(u));
      const store: Code[] = [set(l.row, get(p.cp))];
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < 2; v++) {
          store.push(v128.store(
            get(l.row),
            f32x4.add(v128.load(get(l.row), v * 16), get(acc(r, v))),
            v * 16,
          ));
        }
        store.push(set(l.row, add(get(l.row), get(p.ldc))));
      }
      return [
        set(l.end, add(get(p.pb), x4(mul(get(p.kcp), c(NR))))),
        // do { KU steps } while (pb < end): kcp is a positive multiple of KU
        loop(
          unrolled,
          set(p.pa, add(get(p.pa), c(KU * MR * 16))),
          set(p.pb, add(get(p.pb), c(KU * NR * 4))),
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
  // competes with the multiply-adds: 35 against 50 GFLOP/s in a bare loop)
  const packA = func(
    "packA",
    { src: I32, rs: I32, cs: I32, mc: I32, kc: I32, kcp: I32, dst: I32 },
    {
      q: I32,
      r: I32,
      pp: I32,
      s: I32,
      d: I32,
      csb: I32,
      panel: I32,
      v: V128,
    },
    (p, l) => [
      set(l.csb, x4(get(p.cs))),
      for_(l.q, c(0), get(p.mc), c(MR), [
        set(l.panel, add(get(p.dst), i32.shl(mul(get(l.q), get(p.kcp)), c(4)))),
        for_(l.r, c(0), c(MR), c(1), [
          set(l.d, add(get(l.panel), i32.shl(get(l.r), c(4)))),
          if_(i32.lt_s(add(get(l.q), get(l.r)), get(p.mc)), [
            set(
              l.s,
              add(get(p.src), x4(mul(add(get(l.q), get(l.r)), get(p.rs)))),
            ),
            set(l.pp, c(0)),
            // unit column stride: four at a time, one vector load and four
            // lanes broadcast
            if_(i32.eq(get(p.cs), c(1)), [
              block(loop(
                brIf(1, i32.gt_s(add(get(l.pp), c(4)), get(p.kc))),
                set(l.v, v128.load(get(l.s))),
                ...[0, 1, 2, 3].map((k) =>
                  v128.store(
                    get(l.d),
                    f32x4.splat(f32x4.extractLane(get(l.v), k)),
                    k * MR * 16,
                  )
                ),
                set(l.s, add(get(l.s), c(16))),
                set(l.d, add(get(l.d), c(4 * MR * 16))),
                set(l.pp, add(get(l.pp), c(4))),
                br(0),
              )),
            ]),
            for_(l.pp, get(l.pp), get(p.kc), c(1), [
              v128.store(get(l.d), v128.load32Splat(get(l.s))),
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
      ]),
    ],
  );

  // ---- pack B: k slice of length kc, columns 0..nc, into NR-column panels
  // panel q holds, for each p < kcp, NR values: B[p, q·NR + j]
  // f32 lanes as i8x16.shuffle byte indices (0-3 from a, 4-7 from b)
  const lanes = (...ls: number[]) =>
    ls.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);
  const packB = func(
    "packB",
    { src: I32, rs: I32, cs: I32, kc: I32, kcp: I32, nc: I32, dst: I32 },
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
    },
    (p, l) => [
      set(l.rsb, x4(get(p.rs))),
      set(l.csb, x4(get(p.cs))),
      for_(l.q, c(0), get(p.nc), c(NR), [
        set(l.panel, add(get(p.dst), x4(mul(get(l.q), get(p.kcp))))),
        if_(
          i32.and(
            i32.eq(get(p.cs), c(1)),
            i32.le_s(add(get(l.q), c(NR)), get(p.nc)),
          ),
          [
            // unit column stride, full panel: two vector copies per row of B
            set(l.s, add(get(p.src), x4(get(l.q)))),
            set(l.d, get(l.panel)),
            for_(l.pp, c(0), get(p.kc), c(1), [
              v128.store(get(l.d), v128.load(get(l.s))),
              v128.store(get(l.d), v128.load(get(l.s), 16), 16),
              set(l.s, add(get(l.s), get(l.rsb))),
              set(l.d, add(get(l.d), c(NR * 4))),
            ]),
          ],
          [
            set(l.p0, c(0)),
            if_(
              i32.and(
                i32.eq(get(p.rs), c(1)),
                i32.le_s(add(get(l.q), c(NR)), get(p.nc)),
              ),
              [
                // B stored transposed (unit row stride), full panel: 4×4
                // blocks, four columns read as vectors, transposed with
                // shuffles into four rows of the panel; rows past the last
                // multiple of 4 are left to the general loop
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
              ],
            ),
            // a partial panel: zero it whole (vector stores), then fill
            // its columns
            if_(i32.gt_s(add(get(l.q), c(NR)), get(p.nc)), [
              call(F.zero, get(l.panel), x4(mul(get(p.kcp), c(NR)))),
            ]),
            // general: column by column from row p0 (contiguous reads when B
            // is stored transposed)
            for_(l.j, c(0), min(c(NR), sub(get(p.nc), get(l.q))), c(1), [
              set(
                l.d,
                add(get(l.panel), x4(add(mul(get(l.p0), c(NR)), get(l.j)))),
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
                f32.store(get(l.d), f32.load(get(l.s))),
                set(l.s, add(get(l.s), get(l.rsb))),
                set(l.d, add(get(l.d), c(NR * 4))),
              ]),
            ]),
          ],
        ),
        // zero rows kc..kcp of the panel
        call(
          F.zero,
          add(get(l.panel), x4(mul(get(p.kc), c(NR)))),
          x4(mul(sub(get(p.kcp), get(p.kc)), c(NR))),
        ),
      ]),
    ],
  );

  // ---- gemm: C[m×n] (row stride ldc) += A[m×k] · B[k×n], general strides
  const gemm = func(
    "gemm",
    {
      m: I32,
      n: I32,
      k: I32,
      a: I32,
      ars: I32,
      acs: I32,
      b: I32,
      brs: I32,
      bcs: I32,
      cc: I32,
      ldc: I32,
      work: I32,
    },
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
    },
    (p, l) => [
      set(l.pa, get(p.work)),
      set(l.pb, add(get(p.work), c(MC * KC * 16))),
      set(l.tile, add(get(l.pb), c(KC * NC * 4))),
      for_(l.jc, c(0), get(p.n), c(NC), [
        set(l.nc, min(c(NC), sub(get(p.n), get(l.jc)))),
        for_(l.pc, c(0), get(p.k), c(KC), [
          set(l.kc, min(c(KC), sub(get(p.k), get(l.pc)))),
          set(l.kcp, roundKU(get(l.kc))),
          call(
            F.packB,
            add(
              get(p.b),
              x4(add(mul(get(l.pc), get(p.brs)), mul(get(l.jc), get(p.bcs)))),
            ),
            get(p.brs),
            get(p.bcs),
            get(l.kc),
            get(l.kcp),
            get(l.nc),
            get(l.pb),
          ),
          for_(l.ic, c(0), get(p.m), c(MC), [
            set(l.mc, min(c(MC), sub(get(p.m), get(l.ic)))),
            call(
              F.packA,
              add(
                get(p.a),
                x4(add(mul(get(l.ic), get(p.ars)), mul(get(l.pc), get(p.acs)))),
              ),
              get(p.ars),
              get(p.acs),
              get(l.mc),
              get(l.kc),
              get(l.kcp),
              get(l.pa),
            ),
            for_(l.jr, c(0), get(l.nc), c(NR), [
              set(l.nr, min(c(NR), sub(get(l.nc), get(l.jr)))),
              for_(l.ir, c(0), get(l.mc), c(MR), [
                set(l.mr, min(c(MR), sub(get(l.mc), get(l.ir)))),
                set(
                  l.cp,
                  add(
                    get(p.cc),
                    x4(add(
                      mul(add(get(l.ic), get(l.ir)), get(p.ldc)),
                      add(get(l.jc), get(l.jr)),
                    )),
                  ),
                ),
                if_(
                  i32.and(
                    i32.eq(get(l.mr), c(MR)),
                    i32.eq(get(l.nr), c(NR)),
                  ),
                  [
                    call(
                      F.micro,
                      get(l.kcp),
                      add(get(l.pa), i32.shl(mul(get(l.ir), get(l.kcp)), c(4))),
                      add(get(l.pb), x4(mul(get(l.jr), get(l.kcp)))),
                      get(l.cp),
                      x4(get(p.ldc)),
                    ),
                  ],
                  [
                    // an edge tile: compute into a zeroed MR×NR tile, add its valid part
                    call(F.zero, get(l.tile), c(MR * NR * 4)),
                    call(
                      F.micro,
                      get(l.kcp),
                      add(get(l.pa), i32.shl(mul(get(l.ir), get(l.kcp)), c(4))),
                      add(get(l.pb), x4(mul(get(l.jr), get(l.kcp)))),
                      get(l.tile),
                      c(NR * 4),
                    ),
                    for_(l.i, c(0), get(l.mr), c(1), [
                      for_(l.j, c(0), get(l.nr), c(1), [
                        f32.store(
                          add(
                            get(l.cp),
                            x4(add(mul(get(l.i), get(p.ldc)), get(l.j))),
                          ),
                          f32.add(
                            f32.load(
                              add(
                                get(l.cp),
                                x4(add(mul(get(l.i), get(p.ldc)), get(l.j))),
                              ),
                            ),
                            f32.load(
                              add(
                                get(l.tile),
                                x4(add(mul(get(l.i), c(NR)), get(l.j))),
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
    ],
  );

  // Shared by im2col and col2im: the geometry in locals, and for one kernel
  // offset (i, j) the first column x0 of output column 0, the run [lo, hi) of
  // output columns inside the row (stride 1), and the range [oyLo, oyHi) of
  // output rows whose input row y = y0 + oy·sh lies inside the plane, so the
  // row loop needs no bounds test.
  const geomLocals = {
    h: I32,
    w: I32,
    oh: I32,
    ow: I32,
    sh: I32,
    sw: I32,
    kh: I32,
    kw: I32,
    dh: I32,
    dw: I32,
    pt: I32,
    pl: I32,
  } as const;
  const loadGeom = (g: number, l: { [K in keyof typeof geomLocals]: number }) =>
    ([
      "h",
      "w",
      "oh",
      "ow",
      "sh",
      "sw",
      "kh",
      "kw",
      "dh",
      "dw",
      "pt",
      "pl",
    ] as const)
      .map((f) => set(l[f], field(g, CF[f])));
  /**
   * The geometry (`loadGeom`) and per-group sizes of a direct kernel's
   * record: groups, cg = c / groups, og = o / groups, kk = cg·kh·kw.
   */
  const loadConv = (
    g: number,
    l: { [K in keyof typeof geomLocals]: number } & {
      groups: number;
      cg: number;
      og: number;
      kk: number;
    },
  ): Code[] => [
    loadGeom(g, l),
    set(l.groups, field(g, CF.groups)),
    set(l.cg, i32.div_s(field(g, CF.c), get(l.groups))),
    set(l.og, i32.div_s(field(g, CF.o), get(l.groups))),
    set(l.kk, mul(get(l.cg), mul(get(l.kh), get(l.kw)))),
  ];
  /** ceil(a / b) for b > 0 (any sign of a: the callers clamp at 0). */
  const ceilDiv = (a: Code, b: Code) => i32.div_s(add(a, sub(b, c(1))), b);
  const rowRanges = (
    l: { [K in keyof typeof geomLocals]: number } & {
      i: number;
      j: number;
      x0: number;
      y0: number;
      lo: number;
      hi: number;
      oyLo: number;
      oyHi: number;
    },
  ): Code[] => [
    // every bound clamped to 0..ow (0..oh): with padding wider than the
    // output, the run before the plane would otherwise pass the row's end
    set(l.x0, sub(mul(get(l.j), get(l.dw)), get(l.pl))),
    set(l.lo, min(get(l.ow), max(c(0), sub(c(0), get(l.x0))))),
    set(l.hi, max(get(l.lo), min(get(l.ow), sub(get(l.w), get(l.x0))))),
    set(l.y0, sub(mul(get(l.i), get(l.dh)), get(l.pt))),
    set(
      l.oyLo,
      min(get(l.oh), max(c(0), ceilDiv(sub(c(0), get(l.y0)), get(l.sh)))),
    ),
    set(
      l.oyHi,
      max(
        get(l.oyLo),
        min(get(l.oh), ceilDiv(sub(get(l.h), get(l.y0)), get(l.sh))),
      ),
    ),
  ];

  // ---- im2col: one image-group plane stack x [cg, h, w] -> cols [cg·kh·kw, oh·ow]
  // g: the geometry record; cg channels; xp: the group's first channel
  const im2col = func(
    "im2col",
    { g: I32, cg: I32, xp: I32, cols: I32 },
    {
      ...geomLocals,
      ci: I32,
      i: I32,
      j: I32,
      oy: I32,
      ox: I32,
      xx: I32,
      x0: I32,
      y0: I32,
      lo: I32,
      hi: I32,
      oyLo: I32,
      oyHi: I32,
      dst: I32,
      src: I32,
      s: I32,
      d: I32,
      e: I32,
      plane: I32,
    },
    (p, l) => [
      loadGeom(p.g, l),
      set(l.dst, get(p.cols)),
      for_(l.ci, c(0), get(p.cg), c(1), [
        set(
          l.plane,
          add(get(p.xp), x4(mul(get(l.ci), mul(get(l.h), get(l.w))))),
        ),
        for_(l.i, c(0), get(l.kh), c(1), [
          for_(l.j, c(0), get(l.kw), c(1), [
            rowRanges(l),
            // rows above and below the plane are zero
            call(F.zero, get(l.dst), x4(mul(get(l.oyLo), get(l.ow)))),
            set(l.dst, add(get(l.dst), x4(mul(get(l.oyLo), get(l.ow))))),
            // src: input row y0 + oyLo·sh
            set(
              l.src,
              add(
                get(l.plane),
                x4(mul(
                  add(get(l.y0), mul(get(l.oyLo), get(l.sh))),
                  get(l.w),
                )),
              ),
            ),
            if_(
              i32.and(
                i32.eq(get(l.sw), c(1)),
                i32.and(i32.eqz(get(l.lo)), i32.eq(get(l.hi), get(l.ow))),
              ),
              [
                // stride 1, whole rows inside: copy each row four at a time.
                // The last vector may run up to 3 floats past the row: the
                // next row overwrites them, and the caller leaves 16 bytes of
                // slack after the columns.
                for_(l.oy, get(l.oyLo), get(l.oyHi), c(1), [
                  set(l.s, add(get(l.src), x4(get(l.x0)))),
                  set(l.d, get(l.dst)),
                  set(l.e, add(get(l.dst), x4(get(l.ow)))),
                  block(loop(
                    v128.store(get(l.d), v128.load(get(l.s))),
                    set(l.s, add(get(l.s), c(16))),
                    set(l.d, add(get(l.d), c(16))),
                    brIf(0, i32.lt_s(get(l.d), get(l.e))),
                  )),
                  set(l.src, add(get(l.src), x4(mul(get(l.sh), get(l.w))))),
                  set(l.dst, get(l.e)),
                ]),
              ],
              [
                for_(l.oy, get(l.oyLo), get(l.oyHi), c(1), [
                  if_(i32.eq(get(l.sw), c(1)), [
                    call(F.zero, get(l.dst), x4(get(l.lo))),
                    call(
                      F.copy,
                      add(get(l.dst), x4(get(l.lo))),
                      add(get(l.src), x4(add(get(l.lo), get(l.x0)))),
                      x4(sub(get(l.hi), get(l.lo))),
                    ),
                    call(
                      F.zero,
                      add(get(l.dst), x4(get(l.hi))),
                      x4(sub(get(l.ow), get(l.hi))),
                    ),
                  ], [
                    for_(l.ox, c(0), get(l.ow), c(1), [
                      set(l.xx, add(mul(get(l.ox), get(l.sw)), get(l.x0))),
                      // the load reads a column clamped into the row (a
                      // select evaluates both operands), then 0 is chosen
                      f32.store(
                        add(get(l.dst), x4(get(l.ox))),
                        f32.select(
                          f32.load(
                            add(
                              get(l.src),
                              x4(
                                min(max(get(l.xx), c(0)), sub(get(l.w), c(1))),
                              ),
                            ),
                          ),
                          f32.const_(0),
                          i32.and(
                            i32.ge_s(get(l.xx), c(0)),
                            i32.lt_s(get(l.xx), get(l.w)),
                          ),
                        ),
                      ),
                    ]),
                  ]),
                  set(l.src, add(get(l.src), x4(mul(get(l.sh), get(l.w))))),
                  set(l.dst, add(get(l.dst), x4(get(l.ow)))),
                ]),
              ],
            ),
            call(
              F.zero,
              get(l.dst),
              x4(mul(sub(get(l.oh), get(l.oyHi)), get(l.ow))),
            ),
            set(
              l.dst,
              add(get(l.dst), x4(mul(sub(get(l.oh), get(l.oyHi)), get(l.ow)))),
            ),
          ]),
        ]),
      ]),
    ],
  );

  // ---- col2im: x [cg, h, w] += the columns (im2col's transpose)
  const col2im = func(
    "col2im",
    { g: I32, cg: I32, xp: I32, cols: I32 },
    {
      ...geomLocals,
      ci: I32,
      i: I32,
      j: I32,
      oy: I32,
      ox: I32,
      xx: I32,
      x0: I32,
      y0: I32,
      lo: I32,
      hi: I32,
      oyLo: I32,
      oyHi: I32,
      s: I32,
      d: I32,
      e: I32,
      row: I32,
      dst: I32,
      plane: I32,
    },
    (p, l) => [
      loadGeom(p.g, l),
      set(l.row, get(p.cols)),
      for_(l.ci, c(0), get(p.cg), c(1), [
        set(
          l.plane,
          add(get(p.xp), x4(mul(get(l.ci), mul(get(l.h), get(l.w))))),
        ),
        for_(l.i, c(0), get(l.kh), c(1), [
          for_(l.j, c(0), get(l.kw), c(1), [
            rowRanges(l),
            // dst: input row y0 + oyLo·sh; rows outside the plane add nothing
            set(
              l.dst,
              add(
                get(l.plane),
                x4(mul(
                  add(get(l.y0), mul(get(l.oyLo), get(l.sh))),
                  get(l.w),
                )),
              ),
            ),
            for_(l.oy, get(l.oyLo), get(l.oyHi), c(1), [
              set(l.s, add(get(l.row), x4(mul(get(l.oy), get(l.ow))))),
              if_(i32.eq(get(l.sw), c(1)), [
                // x[lo + x0 ..] += row[lo ..]: four at a time, then one at a
                // time (a last vector overlapping the previous one would
                // wait for its store to reach memory)
                set(l.e, add(get(l.s), x4(get(l.hi)))),
                set(l.s, add(get(l.s), x4(get(l.lo)))),
                set(l.d, add(get(l.dst), x4(add(get(l.lo), get(l.x0))))),
                block(loop(
                  brIf(1, i32.gt_s(add(get(l.s), c(16)), get(l.e))),
                  v128.store(
                    get(l.d),
                    f32x4.add(v128.load(get(l.d)), v128.load(get(l.s))),
                  ),
                  set(l.s, add(get(l.s), c(16))),
                  set(l.d, add(get(l.d), c(16))),
                  br(0),
                )),
                block(loop(
                  brIf(1, i32.ge_s(get(l.s), get(l.e))),
                  f32.store(
                    get(l.d),
                    f32.add(f32.load(get(l.d)), f32.load(get(l.s))),
                  ),
                  set(l.s, add(get(l.s), c(4))),
                  set(l.d, add(get(l.d), c(4))),
                  br(0),
                )),
              ], [
                for_(l.ox, c(0), get(l.ow), c(1), [
                  set(l.xx, add(mul(get(l.ox), get(l.sw)), get(l.x0))),
                  if_(
                    i32.and(
                      i32.ge_s(get(l.xx), c(0)),
                      i32.lt_s(get(l.xx), get(l.w)),
                    ),
                    [
                      f32.store(
                        add(get(l.dst), x4(get(l.xx))),
                        f32.add(
                          f32.load(add(get(l.dst), x4(get(l.xx)))),
                          f32.load(add(get(l.s), x4(get(l.ox)))),
                        ),
                      ),
                    ],
                  ),
                ]),
              ]),
              set(l.dst, add(get(l.dst), x4(mul(get(l.sh), get(l.w))))),
            ]),
            set(l.row, add(get(l.row), x4(mul(get(l.oh), get(l.ow))))),
          ]),
        ]),
      ]),
    ],
  );

  // Per-image drivers. Each handles images n0..n1 with its own scratch
  // `work` (cols [K, P], then GEMM scratch), so threads can split images.
  // The record may describe a band of output rows (oh the band's rows, pt
  // moved by its start, y at its first row, yp the whole plane's stride), so
  // that the columns stay small whatever the image and kernel sizes.
  const convLocals = {
    n: I32,
    grp: I32,
    cg: I32,
    og: I32,
    kk: I32,
    pp: I32,
    cols: I32,
    gw: I32,
    xn: I32,
    yn: I32,
    o: I32,
    bv: V128,
    q: I32,
    e: I32,
    yp: I32,
  } as const;
  const convSetup = (
    p: { g: number; work: number },
    l: { [K in keyof typeof convLocals]: number },
  ): Code[] => [
    set(l.cg, i32.div_s(field(p.g, CF.c), field(p.g, CF.groups))),
    set(l.og, i32.div_s(field(p.g, CF.o), field(p.g, CF.groups))),
    set(l.kk, mul(get(l.cg), mul(field(p.g, CF.kh), field(p.g, CF.kw)))),
    set(l.pp, mul(field(p.g, CF.oh), field(p.g, CF.ow))),
    set(l.yp, field(p.g, CF.yp)),
    set(l.cols, get(p.work)),
    // GEMM scratch after the columns (and 16 bytes of slack), 64-byte aligned
    set(
      l.gw,
      i32.and(
        add(add(get(l.cols), x4(mul(get(l.kk), get(l.pp)))), c(16 + 63)),
        c(-64),
      ),
    ),
  ];
  /** Address of channel `ch` of image `n` of a [n, chans, plane] array at `base`. */
  const planeAddr = (base: Code, n: Code, chans: Code, ch: Code, plane: Code) =>
    add(base, x4(mul(add(mul(n, chans), ch), plane)));
  /** xb = the address of image n's planes of group grp in x. */
  const setXPlane = (
    g: number,
    l: { xb: number; n: number; grp: number; cg: number; h: number; w: number },
  ) =>
    set(
      l.xb,
      planeAddr(
        field(g, CF.x),
        get(l.n),
        field(g, CF.c),
        mul(get(l.grp), get(l.cg)),
        mul(get(l.h), get(l.w)),
      ),
    );
  /** yb = the address of image n's planes of group grp in y (pp pixels each). */
  const setYPlane = (
    g: number,
    l: { yb: number; n: number; grp: number; og: number; pp: number },
  ) =>
    set(
      l.yb,
      planeAddr(
        field(g, CF.y),
        get(l.n),
        field(g, CF.o),
        mul(get(l.grp), get(l.og)),
        get(l.pp),
      ),
    );

  // y[n] = W · im2col(x[n]) (+ bias), one GEMM per image and group
  const convForward = func(
    "convForward",
    { g: I32, n0: I32, n1: I32, work: I32 },
    convLocals,
    (p, l) => [
      convSetup(p, l),
      for_(l.n, get(p.n0), get(p.n1), c(1), [
        for_(l.grp, c(0), field(p.g, CF.groups), c(1), [
          call(
            F.im2col,
            get(p.g),
            get(l.cg),
            planeAddr(
              field(p.g, CF.x),
              get(l.n),
              field(p.g, CF.c),
              mul(get(l.grp), get(l.cg)),
              mul(field(p.g, CF.h), field(p.g, CF.w)),
            ),
            get(l.cols),
          ),
          set(
            l.yn,
            planeAddr(
              field(p.g, CF.y),
              get(l.n),
              field(p.g, CF.o),
              mul(get(l.grp), get(l.og)),
              get(l.yp),
            ),
          ),
          // fill each output row with its bias (or 0): the GEMM adds to it
          for_(l.o, c(0), get(l.og), c(1), [
            set(
              l.bv,
              f32x4.splat(
                if_f32(
                  field(p.g, CF.bias),
                  f32.load(
                    add(
                      field(p.g, CF.bias),
                      x4(add(mul(get(l.grp), get(l.og)), get(l.o))),
                    ),
                  ),
                ),
              ),
            ),
            set(l.q, add(get(l.yn), x4(mul(get(l.o), get(l.yp))))),
            set(l.e, add(get(l.q), x4(get(l.pp)))),
            block(loop(
              brIf(1, i32.gt_s(add(get(l.q), c(16)), get(l.e))),
              v128.store(get(l.q), get(l.bv)),
              set(l.q, add(get(l.q), c(16))),
              br(0),
            )),
            block(loop(
              brIf(1, i32.ge_s(get(l.q), get(l.e))),
              f32.store(get(l.q), f32x4.extractLane(get(l.bv), 0)),
              set(l.q, add(get(l.q), c(4))),
              br(0),
            )),
          ]),
          call(
            F.gemm,
            get(l.og),
            get(l.pp),
            get(l.kk),
            add(
              field(p.g, CF.wt),
              x4(mul(mul(get(l.grp), get(l.og)), get(l.kk))),
            ),
            get(l.kk),
            c(1),
            get(l.cols),
            get(l.pp),
            c(1),
            get(l.yn),
            get(l.yp),
            get(l.gw),
          ),
        ]),
      ]),
    ],
  );

  // x[n] = col2im(Wᵀ · y[n]): the transpose of convForward in x (x zeroed by the caller)
  const convInputAdjoint = func(
    "convInputAdjoint",
    { g: I32, n0: I32, n1: I32, work: I32 },
    convLocals,
    (p, l) => [
      convSetup(p, l),
      for_(l.n, get(p.n0), get(p.n1), c(1), [
        for_(l.grp, c(0), field(p.g, CF.groups), c(1), [
          call(F.zero, get(l.cols), x4(mul(get(l.kk), get(l.pp)))),
          call(
            F.gemm,
            get(l.kk),
            get(l.pp),
            get(l.og),
            // A = W_grpᵀ: element (i, p) at W[p, i]
            add(
              field(p.g, CF.wt),
              x4(mul(mul(get(l.grp), get(l.og)), get(l.kk))),
            ),
            c(1),
            get(l.kk),
            planeAddr(
              field(p.g, CF.y),
              get(l.n),
              field(p.g, CF.o),
              mul(get(l.grp), get(l.og)),
              get(l.yp),
            ),
            get(l.yp),
            c(1),
            get(l.cols),
            get(l.pp),
            get(l.gw),
          ),
          call(
            F.col2im,
            get(p.g),
            get(l.cg),
            planeAddr(
              field(p.g, CF.x),
              get(l.n),
              field(p.g, CF.c),
              mul(get(l.grp), get(l.cg)),
              mul(field(p.g, CF.h), field(p.g, CF.w)),
            ),
            get(l.cols),
          ),
        ]),
      ]),
    ],
  );

  // dw += y[n] · im2col(x[n])ᵀ over images n0..n1 (dw [o, cg·kh·kw] zeroed by the caller)
  const convWeightAdjoint = func(
    "convWeightAdjoint",
    { g: I32, n0: I32, n1: I32, work: I32, dw: I32 },
    convLocals,
    (p, l) => [
      convSetup(p, l),
      for_(l.n, get(p.n0), get(p.n1), c(1), [
        for_(l.grp, c(0), field(p.g, CF.groups), c(1), [
          call(
            F.im2col,
            get(p.g),
            get(l.cg),
            planeAddr(
              field(p.g, CF.x),
              get(l.n),
              field(p.g, CF.c),
              mul(get(l.grp), get(l.cg)),
              mul(field(p.g, CF.h), field(p.g, CF.w)),
            ),
            get(l.cols),
          ),
          call(
            F.gemm,
            get(l.og),
            get(l.kk),
            get(l.pp),
            planeAddr(
              field(p.g, CF.y),
              get(l.n),
              field(p.g, CF.o),
              mul(get(l.grp), get(l.og)),
              get(l.yp),
            ),
            get(l.yp),
            c(1),
            // B = colsᵀ: element (p, j) at cols[j, p]
            get(l.cols),
            c(1),
            get(l.pp),
            add(get(p.dw), x4(mul(mul(get(l.grp), get(l.og)), get(l.kk)))),
            get(l.kk),
            get(l.gw),
          ),
        ]),
      ]),
    ],
  );

  /**
   * Writes at `l.d` the x offset of each k = (ci, i, j) within an image's
   * group of planes, in elements << `shift` (2: bytes; 4: bytes of a copy
   * of x with each element broadcast to a vector); leaves `l.d` past it.
   */
  const kOffsetTable = (
    l: {
      d: number;
      ci: number;
      cg: number;
      i: number;
      kh: number;
      j: number;
      kw: number;
      h: number;
      w: number;
      dh: number;
      dw: number;
    },
    shift: number,
  ): Code =>
    for_(l.ci, c(0), get(l.cg), c(1), [
      for_(l.i, c(0), get(l.kh), c(1), [
        for_(l.j, c(0), get(l.kw), c(1), [
          i32.store(
            get(l.d),
            i32.shl(
              add(
                mul(
                  add(mul(get(l.ci), get(l.h)), mul(get(l.i), get(l.dh))),
                  get(l.w),
                ),
                mul(get(l.j), get(l.dw)),
              ),
              c(shift),
            ),
          ),
          set(l.d, add(get(l.d), c(4))),
        ]),
      ]),
    ]);

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
  ] as const;
  /**
   * The start of the direct convolution kernels: a table of the input
   * offset (bytes) of each k = (ci, i, j), then every group's weights packed
   * in panels of R output channels (zero past the last channel). The kernel
   * broadcasts one operand from memory: with "weights", each weight is
   * packed as a whole vector of 4 copies (read with plain vector loads, see
   * packA); with "x", the kernel reads x from a broadcast copy
   * ({@link broadcastX}), so the offsets count 16 bytes per element.
   */
  const packDirectWeights = (
    g: number,
    work: number,
    l: { [K in typeof packLocalNames[number]]: number },
    R: number,
    broadcast: "weights" | "x",
  ): Code[] => [
    set(l.panels, i32.div_s(add(get(l.og), c(R - 1)), c(R))),
    // the offset table (bytes), then the packed weights of every group
    set(l.tab, get(work)),
    set(l.pw, add(get(l.tab), x4(get(l.kk)))),
    set(l.d, get(l.tab)),
    kOffsetTable(l, broadcast === "x" ? 4 : 2),
    for_(l.grp, c(0), get(l.groups), c(1), [
      for_(l.q, c(0), mul(get(l.panels), c(R)), c(R), [
        set(
          l.d,
          add(
            get(l.pw),
            i32.shl(
              mul(
                add(mul(get(l.grp), mul(get(l.panels), c(R))), get(l.q)),
                get(l.kk),
              ),
              c(broadcast === "weights" ? 4 : 2),
            ),
          ),
        ),
        for_(l.k, c(0), get(l.kk), c(1), [
          for_(l.r, c(0), c(R), c(1), [
            (broadcast === "weights" ? storeSplat : f32.store)(
              add(
                get(l.d),
                i32.shl(
                  add(mul(get(l.k), c(R)), get(l.r)),
                  c(broadcast === "weights" ? 4 : 2),
                ),
              ),
              if_f32(
                i32.lt_s(add(get(l.q), get(l.r)), get(l.og)),
                f32.load(
                  add(
                    field(g, CF.wt),
                    x4(add(
                      mul(
                        add(
                          mul(get(l.grp), get(l.og)),
                          add(get(l.q), get(l.r)),
                        ),
                        get(l.kk),
                      ),
                      get(l.k),
                    )),
                  ),
                ),
              ),
            ),
          ]),
        ]),
      ]),
    ]),
  ];

  /**
   * Copies the `n` floats at `src` to `dst`, each broadcast to a vector of 4
   * copies (16-aligned `dst`): a kernel that multiplies each element of x by
   * a vector then reads it with a plain vector load (see packA). Uses the
   * locals `s`, `d`, `e`.
   */
  const broadcastX = (
    src: Code,
    dst: Code,
    n: Code,
    l: { s: number; d: number; e: number },
  ): Code[] => [
    set(l.s, src),
    set(l.d, dst),
    set(l.e, add(get(l.s), x4(n))),
    block(loop(
      brIf(1, i32.ge_u(get(l.s), get(l.e))),
      v128.store(get(l.d), v128.load32Splat(get(l.s))),
      set(l.s, add(get(l.s), c(4))),
      set(l.d, add(get(l.d), c(16))),
      br(0),
    )),
  ];

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
  const convDirect = func(
    "convDirect",
    { g: I32, n0: I32, n1: I32, work: I32 },
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
      ke2: I32,
      wk: I32,
      wq: I32,
      yb: I32,
      yp: I32,
      rows: I32,
      bias: I32,
      d: I32,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      const init: Code[] = [], store: Code[] = [];
      // one k: two vectors of x at src plus its offset, against 6 weights
      const step = (u: number): Code[] => [
        set(l.d, add(get(l.src), i32.load(get(l.kp), 4 * u))),
        set(l.x0, v128.load(get(l.d))),
        set(l.x1, v128.load(get(l.d), 16)),
        ...Array.from({ length: MR }, (_, r) => [
          set(l.wv, v128.load(get(l.wk), (u * MR + r) * 16)),
          set(acc(r, 0), madd(get(l.wv), get(l.x0), get(acc(r, 0)))),
          set(acc(r, 1), madd(get(l.wv), get(l.x1), get(acc(r, 1)))),
        ]),
      ];
      for (let r = 0; r < MR; r++) {
        // the bias of channel q + r (0 without a bias or past the last channel)
        init.push(
          set(
            acc(r, 0),
            f32x4.splat(
              if_f32(
                i32.and(
                  i32.ne(get(l.bias), c(0)),
                  i32.lt_s(add(get(l.q), c(r)), get(l.og)),
                ),
                f32.load(add(get(l.bias), x4(add(get(l.q), c(r))))),
              ),
            ),
          ),
          set(acc(r, 1), get(acc(r, 0))),
        );
        store.push(
          if_(i32.lt_s(c(r), get(l.rows)), [
            v128.store(get(l.yp), get(acc(r, 0))),
            v128.store(get(l.yp), get(acc(r, 1)), 16),
            set(l.yp, add(get(l.yp), x4(mul(get(l.oh), get(l.ow))))),
          ]),
        );
      }
      return [
        loadConv(p.g, l),
        ...packDirectWeights(p.g, p.work, l, MR, "weights"),
        set(l.ke, add(get(l.tab), x4(get(l.kk)))),
        set(l.ke2, add(get(l.tab), x4(i32.and(get(l.kk), c(-CU))))),
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
                set(l.ox, c(0)),
                loop(
                  // the block's first column (the last block ends at ow)
                  set(l.at, min(get(l.ox), sub(get(l.ow), c(8)))),
                  set(
                    l.src,
                    add(
                      get(l.xb),
                      x4(add(
                        mul(mul(get(l.oy), get(l.sh)), get(l.w)),
                        get(l.at),
                      )),
                    ),
                  ),
                  init,
                  set(l.kp, get(l.tab)),
                  set(l.wk, get(l.wq)),
                  kLoop(
                    step,
                    [[l.kp, 4], [l.wk, MR * 16]],
                    get(l.ke2),
                    get(l.ke),
                  ),
                  set(
                    l.yp,
                    add(
                      get(l.yb),
                      x4(add(mul(get(l.oy), get(l.ow)), get(l.at))),
                    ),
                  ),
                  store,
                  set(l.ox, add(get(l.ox), c(8))),
                  brIf(0, i32.lt_s(get(l.ox), get(l.ow))),
                ),
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
  const convDirectC = func(
    "convDirectC",
    { g: I32, n0: I32, n1: I32, work: I32 },
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
      ke2: I32,
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
      return [
        loadConv(p.g, l),
        set(l.pp, mul(get(l.oh), get(l.ow))),
        ...packDirectWeights(p.g, p.work, l, NR, "x"),
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
        for_(l.i, c(0), get(l.oh), c(1), [
          for_(l.j, c(0), get(l.ow), c(1), [
            i32.store(
              get(l.d),
              i32.shl(
                add(
                  mul(mul(get(l.i), get(l.sh)), get(l.w)),
                  mul(get(l.j), get(l.sw)),
                ),
                c(4),
              ),
            ),
            set(l.d, add(get(l.d), c(4))),
          ]),
        ]),
        set(l.xw, i32.and(add(get(l.d), c(15)), c(-16))),
        set(l.ps, x4(get(l.pp))),
        set(l.ke, add(get(l.tab), x4(get(l.kk)))),
        set(l.ke2, add(get(l.tab), x4(i32.and(get(l.kk), c(-CU))))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l),
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
                set(l.kp, get(l.tab)),
                set(l.wk, get(l.wq)),
                kLoop(step, [[l.kp, 4], [l.wk, NR * 4]], get(l.ke2), get(l.ke)),
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

  // ---- max pooling over planes pl0..pl1: the value and the (within-plane)
  // index of each window's first maximum; NaN counts as maximal (the first NaN
  // wins). Windows wholly inside the plane skip the bounds checks.
  const maxPool = func(
    "maxPool",
    { g: I32, x: I32, pl0: I32, pl1: I32, out: I32, idx: I32 },
    {
      pl: I32,
      oy: I32,
      ox: I32,
      i: I32,
      j: I32,
      y: I32,
      xx: I32,
      y0: I32,
      x0: I32,
      best: I32,
      take: I32,
      inside: I32,
      rowAt: I32,
      at: I32,
      m: F32,
      v: F32,
      base: I32,
      o: I32,
      h: I32,
      w: I32,
      oh: I32,
      ow: I32,
      kh: I32,
      kw: I32,
      sh: I32,
      sw: I32,
      ph: I32,
      pw: I32,
      dh: I32,
      dw: I32,
    },
    (p, l) => {
      // take v at `at` if best < 0 || v > m || (v is NaN && m is not); with
      // selects, not a branch (the outcome is data-dependent, and a
      // mispredicted branch costs more than the compares). The f32 select
      // goes through the bits: V8 makes an f32 select a branch, an i32 one a cmov.
      const consider: Code[] = [
        set(l.v, f32.load(add(get(l.base), x4(get(l.at))))),
        set(
          l.take,
          i32.or(
            i32.or(i32.lt_s(get(l.best), c(0)), f32.gt(get(l.v), get(l.m))),
            i32.and(f32.ne(get(l.v), get(l.v)), f32.eq(get(l.m), get(l.m))),
          ),
        ),
        set(
          l.m,
          f32.fromBits(
            i32.select(f32.bits(get(l.v)), f32.bits(get(l.m)), get(l.take)),
          ),
        ),
        set(l.best, i32.select(get(l.at), get(l.best), get(l.take))),
      ];
      const fields = [
        "h",
        "w",
        "oh",
        "ow",
        "kh",
        "kw",
        "sh",
        "sw",
        "ph",
        "pw",
        "dh",
        "dw",
      ] as const;
      return [
        fields.map((f) => set(l[f], field(p.g, PF[f]))),
        set(l.o, mul(get(p.pl0), mul(get(l.oh), get(l.ow)))),
        for_(l.pl, get(p.pl0), get(p.pl1), c(1), [
          set(
            l.base,
            add(get(p.x), x4(mul(get(l.pl), mul(get(l.h), get(l.w))))),
          ),
          for_(l.oy, c(0), get(l.oh), c(1), [
            set(l.y0, sub(mul(get(l.oy), get(l.sh)), get(l.ph))),
            for_(l.ox, c(0), get(l.ow), c(1), [
              set(l.x0, sub(mul(get(l.ox), get(l.sw)), get(l.pw))),
              set(l.best, c(-1)),
              set(l.m, f32.const_(-Infinity)),
              set(
                l.inside,
                i32.and(
                  i32.and(
                    i32.ge_s(get(l.y0), c(0)),
                    i32.lt_s(
                      add(get(l.y0), mul(sub(get(l.kh), c(1)), get(l.dh))),
                      get(l.h),
                    ),
                  ),
                  i32.and(
                    i32.ge_s(get(l.x0), c(0)),
                    i32.lt_s(
                      add(get(l.x0), mul(sub(get(l.kw), c(1)), get(l.dw))),
                      get(l.w),
                    ),
                  ),
                ),
              ),
              if_(get(l.inside), [
                set(l.rowAt, add(mul(get(l.y0), get(l.w)), get(l.x0))),
                for_(l.i, c(0), get(l.kh), c(1), [
                  set(l.at, get(l.rowAt)),
                  for_(l.j, c(0), get(l.kw), c(1), [
                    consider,
                    set(l.at, add(get(l.at), get(l.dw))),
                  ]),
                  set(l.rowAt, add(get(l.rowAt), mul(get(l.dh), get(l.w)))),
                ]),
              ], [
                for_(l.i, c(0), get(l.kh), c(1), [
                  set(l.y, add(get(l.y0), mul(get(l.i), get(l.dh)))),
                  if_(
                    i32.and(
                      i32.ge_s(get(l.y), c(0)),
                      i32.lt_s(get(l.y), get(l.h)),
                    ),
                    [
                      for_(l.j, c(0), get(l.kw), c(1), [
                        set(l.xx, add(get(l.x0), mul(get(l.j), get(l.dw)))),
                        if_(
                          i32.and(
                            i32.ge_s(get(l.xx), c(0)),
                            i32.lt_s(get(l.xx), get(l.w)),
                          ),
                          [
                            set(l.at, add(mul(get(l.y), get(l.w)), get(l.xx))),
                            consider,
                          ],
                        ),
                      ]),
                    ],
                  ),
                ]),
              ]),
              f32.store(add(get(p.out), x4(get(l.o))), get(l.m)),
              i32.store(add(get(p.idx), x4(get(l.o))), get(l.best)),
              set(l.o, add(get(l.o), c(1))),
            ]),
          ]),
        ]),
      ];
    },
  );

  /**
   * The loops of the 2×2 pooling kernels (windows of stride 2, all inside
   * their plane): per plane pl0..pl1 (`base` its start in the array at
   * `plane`, then `prelude`) and output row oy (`r0`, `r1` the addresses of
   * its two input rows in that array, `o` the index of its first output):
   * `vec` on the four windows from ox (`k` the flat indices of their
   * top-left inputs; a row's last vector moved back to end at the row's end,
   * recomputing a few) when the row has at least 4, else `one` on each.
   */
  const pool2x2Loops = (
    p: { g: number; pl0: number; pl1: number },
    l: Record<
      | "pl"
      | "oy"
      | "ox"
      | "o"
      | "base"
      | "r0"
      | "r1"
      | "h"
      | "w"
      | "oh"
      | "ow"
      | "k",
      number
    >,
    plane: number,
    prelude: Code[],
    vec: Code[],
    one: Code[],
  ): Code[] => [
    set(l.h, field(p.g, PF.h)),
    set(l.w, field(p.g, PF.w)),
    set(l.oh, field(p.g, PF.oh)),
    set(l.ow, field(p.g, PF.ow)),
    set(l.o, mul(get(p.pl0), mul(get(l.oh), get(l.ow)))),
    for_(l.pl, get(p.pl0), get(p.pl1), c(1), [
      set(
        l.base,
        add(get(plane), x4(mul(get(l.pl), mul(get(l.h), get(l.w))))),
      ),
      prelude,
      for_(l.oy, c(0), get(l.oh), c(1), [
        set(l.r0, add(get(l.base), x4(mul(mul(get(l.oy), c(2)), get(l.w))))),
        set(l.r1, add(get(l.r0), x4(get(l.w)))),
        if_(i32.ge_s(get(l.ow), c(4)), [
          set(l.ox, c(0)),
          loop(
            if_(i32.gt_s(add(get(l.ox), c(4)), get(l.ow)), [
              set(l.ox, sub(get(l.ow), c(4))),
            ]),
            set(
              l.k,
              i32x4.add(
                i32x4.splat(
                  mul(add(mul(get(l.oy), get(l.w)), get(l.ox)), c(2)),
                ),
                v128.i32Const([0, 2, 4, 6]),
              ),
            ),
            vec,
            set(l.ox, add(get(l.ox), c(4))),
            brIf(0, i32.lt_s(get(l.ox), get(l.ow))),
          ),
        ], [for_(l.ox, c(0), get(l.ow), c(1), one)]),
        set(l.o, add(get(l.o), get(l.ow))),
      ]),
    ]),
  ];

  // ---- max pooling with 2×2 windows, stride 2, no padding or dilation (the
  // common case), four outputs at a time: the even and odd lanes of two rows
  // are the four candidates of four windows, taken in row-major order with
  // the same rule as maxPool, as lane masks. Planes pl0..pl1; every window
  // lies inside its plane (the caller checks 2·oh <= h and 2·ow <= w).
  const EVEN = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
  const ODD = EVEN.map((b) => b + 4);
  const maxPool2x2 = func(
    "maxPool2x2",
    { g: I32, x: I32, pl0: I32, pl1: I32, out: I32, idx: I32 },
    {
      pl: I32,
      oy: I32,
      ox: I32,
      o: I32,
      base: I32,
      r0: I32,
      r1: I32,
      at: I32,
      h: I32,
      w: I32,
      oh: I32,
      ow: I32,
      take: I32,
      ms: F32,
      vs: F32,
      bs: I32,
      a0: V128,
      a1: V128,
      b0: V128,
      b1: V128,
      k: V128,
      m: V128,
      best: V128,
      v: V128,
      t: V128,
    },
    (p, l) => {
      // lanes where v beats m: v > m, or v is NaN and m is not
      const consider = (v: Code, k: Code): Code[] => [
        set(l.v, v),
        set(
          l.t,
          v128.or(
            f32x4.gt(get(l.v), get(l.m)),
            v128.and(
              f32x4.ne(get(l.v), get(l.v)),
              f32x4.eq(get(l.m), get(l.m)),
            ),
          ),
        ),
        set(l.m, v128.bitselect(get(l.v), get(l.m), get(l.t))),
        set(l.best, v128.bitselect(k, get(l.best), get(l.t))),
      ];
      const considerScalar = (at: Code): Code[] => [
        set(l.vs, f32.load(add(get(l.base), x4(at)))),
        set(
          l.take,
          i32.or(
            f32.gt(get(l.vs), get(l.ms)),
            i32.and(f32.ne(get(l.vs), get(l.vs)), f32.eq(get(l.ms), get(l.ms))),
          ),
        ),
        set(
          l.ms,
          f32.fromBits(
            i32.select(f32.bits(get(l.vs)), f32.bits(get(l.ms)), get(l.take)),
          ),
        ),
        set(l.bs, i32.select(at, get(l.bs), get(l.take))),
      ];
      return pool2x2Loops(p, l, p.x, [], [
        set(l.a0, v128.load(add(get(l.r0), i32.shl(get(l.ox), c(3))))),
        set(l.a1, v128.load(add(get(l.r0), i32.shl(get(l.ox), c(3))), 16)),
        set(l.b0, v128.load(add(get(l.r1), i32.shl(get(l.ox), c(3))))),
        set(l.b1, v128.load(add(get(l.r1), i32.shl(get(l.ox), c(3))), 16)),
        set(l.m, v128.shuffle(get(l.a0), get(l.a1), EVEN)),
        set(l.best, get(l.k)),
        consider(
          v128.shuffle(get(l.a0), get(l.a1), ODD),
          i32x4.add(get(l.k), i32x4.splat(c(1))),
        ),
        consider(
          v128.shuffle(get(l.b0), get(l.b1), EVEN),
          i32x4.add(get(l.k), i32x4.splat(get(l.w))),
        ),
        consider(
          v128.shuffle(get(l.b0), get(l.b1), ODD),
          i32x4.add(get(l.k), i32x4.splat(add(get(l.w), c(1)))),
        ),
        v128.store(add(get(p.out), x4(add(get(l.o), get(l.ox)))), get(l.m)),
        v128.store(add(get(p.idx), x4(add(get(l.o), get(l.ox)))), get(l.best)),
      ], [
        set(l.at, mul(add(mul(get(l.oy), get(l.w)), get(l.ox)), c(2))),
        set(l.ms, f32.load(add(get(l.base), x4(get(l.at))))),
        set(l.bs, get(l.at)),
        considerScalar(add(get(l.at), c(1))),
        considerScalar(add(get(l.at), get(l.w))),
        considerScalar(add(add(get(l.at), get(l.w)), c(1))),
        f32.store(add(get(p.out), x4(add(get(l.o), get(l.ox)))), get(l.ms)),
        i32.store(add(get(p.idx), x4(add(get(l.o), get(l.ox)))), get(l.bs)),
      ]);
    },
  );

  // ---- the sum of each run of `len` floats (runs r0..r1 of x, one after
  // another): 4 vector accumulators over 16 floats a step, then single
  // vectors, then single floats, then the lanes added. A conv bias's
  // gradient sums [N, C, H·W] over N and H·W: a run per (n, c).
  const sumRuns = func(
    "sumRuns",
    { x: I32, len: I32, r0: I32, r1: I32, out: I32 },
    {
      r: I32,
      s: I32,
      e: I32,
      e16: I32,
      a0: V128,
      a1: V128,
      a2: V128,
      a3: V128,
      t: F32,
    },
    (p, l) => [
      for_(l.r, get(p.r0), get(p.r1), c(1), [
        set(l.s, add(get(p.x), x4(mul(get(l.r), get(p.len))))),
        set(l.e, add(get(l.s), x4(get(p.len)))),
        set(l.e16, sub(get(l.e), c(64))),
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
          brIf(1, i32.gt_s(add(get(l.s), c(16)), get(l.e))),
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
          brIf(1, i32.ge_s(get(l.s), get(l.e))),
          set(l.t, f32.add(get(l.t), f32.load(get(l.s)))),
          set(l.s, add(get(l.s), c(4))),
          br(0),
        )),
        f32.store(add(get(p.out), x4(get(l.r))), get(l.t)),
      ]),
    ],
  );

  // ---- max pooling's VJP for the windows of maxPool2x2: each window's g
  // goes to its argmax, 0 to its three other inputs (0 + g, so -0 comes out
  // as 0, as the sum in TypeScript does). Four windows at a time, their
  // eight inputs of each row interleaved by shuffles; a row's last vector
  // moved back to end at the row's end. Planes pl0..pl1; a plane with
  // inputs that get no store (see the prelude) is zeroed first.
  const maxUnpool2x2 = func(
    "maxUnpool2x2",
    { g: I32, gr: I32, idx: I32, pl0: I32, pl1: I32, out: I32 },
    {
      pl: I32,
      oy: I32,
      ox: I32,
      o: I32,
      at: I32,
      base: I32,
      r0: I32,
      r1: I32,
      h: I32,
      w: I32,
      oh: I32,
      ow: I32,
      gv: V128,
      iv: V128,
      k: V128,
      v0: V128,
      v1: V128,
    },
    (p, l) => {
      /** g in the lanes whose argmax is the input at k, else 0. */
      const pick = (k: Code) =>
        f32x4.add(
          v128.and(get(l.gv), i32x4.eq(get(l.iv), k)),
          v128.zero(),
        );
      /** One row of four windows' inputs: the first / second of each pair. */
      const row = (dst: number, k0: Code, k1: Code): Code[] => [
        set(l.v0, pick(k0)),
        set(l.v1, pick(k1)),
        v128.store(
          add(get(dst), i32.shl(get(l.ox), c(3))),
          v128.shuffle(get(l.v0), get(l.v1), lanes(0, 4, 1, 5)),
        ),
        v128.store(
          add(get(dst), i32.shl(get(l.ox), c(3))),
          v128.shuffle(get(l.v0), get(l.v1), lanes(2, 6, 3, 7)),
          16,
        ),
      ];
      // the plane is zeroed first when some input gets no store: rows of
      // fewer than 4 windows (stored one at a time, at the argmax only), or
      // an odd last row or column
      return pool2x2Loops(p, l, p.out, [
        if_(
          i32.or(
            i32.lt_s(get(l.ow), c(4)),
            i32.or(
              i32.lt_s(mul(get(l.oh), c(2)), get(l.h)),
              i32.lt_s(mul(get(l.ow), c(2)), get(l.w)),
            ),
          ),
          [call(F.zero, get(l.base), x4(mul(get(l.h), get(l.w))))],
        ),
      ], [
        set(l.at, x4(add(get(l.o), get(l.ox)))),
        set(l.gv, v128.load(add(get(p.gr), get(l.at)))),
        set(l.iv, v128.load(add(get(p.idx), get(l.at)))),
        row(l.r0, get(l.k), i32x4.add(get(l.k), i32x4.splat(c(1)))),
        row(
          l.r1,
          i32x4.add(get(l.k), i32x4.splat(get(l.w))),
          i32x4.add(get(l.k), i32x4.splat(add(get(l.w), c(1)))),
        ),
      ], [
        set(l.at, x4(add(get(l.o), get(l.ox)))),
        f32.store(
          add(get(l.base), x4(i32.load(add(get(p.idx), get(l.at))))),
          f32.add(f32.load(add(get(p.gr), get(l.at))), f32.const_(0)),
        ),
      ]);
    },
  );

  // ---- copies `planes` planes of h × w floats at src into planes of
  // hp × wp at dst (zeroed by the caller), each row at column pl of row
  // r + pt: x padded, so that a padded convolution runs on the direct
  // kernels (no window then reads outside).
  const padPlanes = func(
    "padPlanes",
    {
      src: I32,
      dst: I32,
      planes: I32,
      h: I32,
      w: I32,
      hp: I32,
      wp: I32,
      pt: I32,
      pl: I32,
    },
    { p: I32, r: I32, s: I32, d: I32 },
    (p, l) => [
      set(l.s, get(p.src)),
      for_(l.p, c(0), get(p.planes), c(1), [
        set(
          l.d,
          add(
            get(p.dst),
            x4(add(
              mul(add(mul(get(l.p), get(p.hp)), get(p.pt)), get(p.wp)),
              get(p.pl),
            )),
          ),
        ),
        for_(l.r, c(0), get(p.h), c(1), [
          call(F.copy, get(l.d), get(l.s), x4(get(p.w))),
          set(l.s, add(get(l.s), x4(get(p.w)))),
          set(l.d, add(get(l.d), x4(get(p.wp)))),
        ]),
      ]),
    ],
  );

  /**
   * An elementwise kernel over n floats at the arrays `ins`, into out: `vec`
   * makes 4 results from the 4 inputs at byte offset i while 4 are left,
   * then `one` makes each of the rest.
   */
  const lanewise = (
    name: string,
    ins: readonly string[],
    vec: (at: (k: string) => Code) => Code,
    one: (at: (k: string) => Code) => Code,
  ) =>
    func(
      name,
      {
        ...Object.fromEntries(ins.map((k) => [k, I32])),
        out: I32,
        n: I32,
      } as Record<string, typeof I32>,
      { i: I32, e: I32 },
      (p, l) => {
        const P = p as Record<string, number>;
        const at = (k: string) => add(get(P[k]), get(l.i));
        return [
          set(l.e, x4(get(P.n))),
          set(l.i, c(0)),
          block(loop(
            brIf(1, i32.gt_s(add(get(l.i), c(16)), get(l.e))),
            v128.store(at("out"), vec((k) => v128.load(at(k)))),
            set(l.i, add(get(l.i), c(16))),
            br(0),
          )),
          block(loop(
            brIf(1, i32.ge_s(get(l.i), get(l.e))),
            f32.store(at("out"), one((k) => f32.load(at(k)))),
            set(l.i, add(get(l.i), c(4))),
            br(0),
          )),
        ];
      },
    );

  // ---- relu: max(x, 0), which keeps NaN and turns -0 into 0 as the
  // TypeScript rule
  const relu = lanewise(
    "relu",
    ["x"],
    (x) => f32x4.max(x("x"), v128.zero()),
    (x) => f32.max(x("x"), f32.const_(0)),
  );

  // ---- relu's VJP: g where x > 0, else 0 (NaN in x gives 0, as PyTorch's
  // threshold_backward): g AND the comparison's all-ones lanes
  const reluMask = lanewise(
    "reluMask",
    ["g", "x"],
    (v) => v128.and(v("g"), f32x4.gt(v("x"), v128.zero())),
    (v) => f32.select(v("g"), f32.const_(0), f32.gt(v("x"), f32.const_(0))),
  );

  // ---- a + b, a - b, a · b, a / b of same-shape float32 arrays: each
  // correctly rounded in float32, as the TypeScript loops' float64 result
  // rounded on store (exact for these four operations)
  const arith = (["add", "sub", "mul", "div"] as const).map((o) =>
    lanewise(
      `${o}F32`,
      ["a", "b"],
      (v) => f32x4[o](v("a"), v("b")),
      (v) => f32[o](v("a"), v("b")),
    )
  );

  // ---- copy / zero `bytes` (a multiple of 4): 16 bytes at a time, then 4.
  // (memory.copy and memory.fill would do, but V8 calls out to C for them,
  // which costs more than the short runs of im2col take.)
  const copy = func(
    "copy",
    { dst: I32, src: I32, bytes: I32 },
    { e: I32 },
    (p, l) => [
      set(l.e, add(get(p.dst), get(p.bytes))),
      block(loop(
        brIf(1, i32.gt_s(add(get(p.dst), c(16)), get(l.e))),
        v128.store(get(p.dst), v128.load(get(p.src))),
        set(p.dst, add(get(p.dst), c(16))),
        set(p.src, add(get(p.src), c(16))),
        br(0),
      )),
      block(loop(
        brIf(1, i32.ge_s(get(p.dst), get(l.e))),
        f32.store(get(p.dst), f32.load(get(p.src))),
        set(p.dst, add(get(p.dst), c(4))),
        set(p.src, add(get(p.src), c(4))),
        br(0),
      )),
    ],
  );
  const zero = func(
    "zero",
    { dst: I32, bytes: I32 },
    { e: I32 },
    (p, l) => [
      set(l.e, add(get(p.dst), get(p.bytes))),
      block(loop(
        brIf(1, i32.gt_s(add(get(p.dst), c(16)), get(l.e))),
        v128.store(get(p.dst), v128.zero()),
        set(p.dst, add(get(p.dst), c(16))),
        br(0),
      )),
      block(loop(
        brIf(1, i32.ge_s(get(p.dst), get(l.e))),
        f32.store(get(p.dst), f32.const_(0)),
        set(p.dst, add(get(p.dst), c(4))),
        br(0),
      )),
    ],
  );

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
  const convWeightDirect = func(
    "convWeightDirect",
    { g: I32, n0: I32, n1: I32, work: I32, dw: I32 },
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
      pe2: I32,
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
        // the k offset table, the pixel offset table, packed y (16-aligned)
        set(l.tab, get(p.work)),
        set(l.ptab, add(get(l.tab), x4(get(l.kk)))),
        set(l.pe, add(get(l.ptab), x4(get(l.pp)))),
        set(l.pe2, add(get(l.ptab), x4(i32.and(get(l.pp), c(-CU))))),
        set(l.yt, i32.and(add(get(l.pe), c(15)), c(-16))),
        set(l.d, get(l.tab)),
        kOffsetTable(l, 2),
        set(l.d, get(l.ptab)),
        for_(l.oy, c(0), get(l.oh), c(1), [
          for_(l.ox, c(0), get(l.ow), c(1), [
            i32.store(
              get(l.d),
              x4(add(
                mul(mul(get(l.oy), get(l.sh)), get(l.w)),
                mul(get(l.ox), get(l.sw)),
              )),
            ),
            set(l.d, add(get(l.d), c(4))),
          ]),
        ]),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
          for_(l.grp, c(0), get(l.groups), c(1), [
            setXPlane(p.g, l),
            setYPlane(p.g, l),
            // y [og, pp] -> yt [op / 8, pp, 8]: channel o at panel o / 8,
            // lane o % 8
            for_(l.o, c(0), get(l.op), c(1), [
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
                kLoop(
                  step,
                  [[l.pt, 4], [l.ye, NR * 4]],
                  get(l.pe2),
                  get(l.pe),
                ),
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
  const convWeightRows = func(
    "convWeightRows",
    { g: I32, n0: I32, n1: I32, work: I32, dwv: I32 },
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
      xr0: I32,
      xr1: I32,
      at: I32,
      ie: I32,
      ie2: I32,
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
          set(l.x0, mk(v128.load(add(get(l.xr0), get(l.at)), 16 * u))),
          set(l.x1, mk(v128.load(add(get(l.xr1), get(l.at)), 16 * u))),
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
      const init = zeroTile(l), rowStart: Code[] = [], flush: Code[] = [];
      for (let o = 0; o < MR; o++) {
        // channel ot + o (the last one again past og), this row
        rowStart.push(set(
          yo(o),
          add(
            get(l.yb),
            add(
              mul(min(add(get(l.ot), c(o)), sub(get(l.og), c(1))), get(l.ps)),
              x4(mul(get(l.oy), get(l.ow))),
            ),
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
        set(l.ie2, i32.and(get(l.ie), c(-16 * CU))),
        set(l.tail, x4(sub(get(l.ow), c(4)))),
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
                for_(l.oy, c(0), get(l.oh), c(1), [
                  rowStart,
                  set(
                    l.xr0,
                    add(
                      add(
                        get(l.xb),
                        x4(mul(mul(get(l.oy), get(l.sh)), get(l.w))),
                      ),
                      i32.load(add(get(l.tab), x4(get(l.kt)))),
                    ),
                  ),
                  set(
                    l.xr1,
                    add(
                      add(
                        get(l.xb),
                        x4(mul(mul(get(l.oy), get(l.sh)), get(l.w))),
                      ),
                      i32.load(
                        add(
                          get(l.tab),
                          x4(min(add(get(l.kt), c(1)), sub(get(l.kk), c(1)))),
                        ),
                      ),
                    ),
                  ),
                  // the whole vectors, then the masked tail
                  set(l.at, c(0)),
                  kLoop(step, [[l.at, 16]], get(l.ie2), get(l.ie)),
                  if_(i32.and(get(l.ow), c(3)), [
                    set(l.at, get(l.tail)),
                    step(0, true),
                  ]),
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
  // += Σ_o w[o, c, i, j] · y[o, oy, ox], x zeroed by the caller. The caller
  // packs the weights of each group into panels of 6 k = (ci, i, j) (for
  // each o, the 6 k side by side, zero past the last k, each broadcast to a
  // vector of 4 copies, see packA) at `wp`, a table of
  // the x offsets (bytes) of each k at `ktab`, and a table of the plane's
  // vectors of 4 outputs in pairs at `vtab`..`vend` (per vector: its offset
  // in y, its offset in x, the address of its lane mask; each row's last
  // vector moved back to end at the row's end, with the lanes already
  // covered masked off; an odd vector out paired with itself, fully
  // masked). Per image, group, panel and pair: 12 accumulators (6 k × 2
  // vectors) over o, each step two vectors of y read in place and 6
  // broadcast weights (the GEMM micro-kernel's loads and multiply-adds);
  // then each k's two vectors, masked, are added into x in place. Threads
  // split the images, so no two write the same x.
  const convInputDirect = func(
    "convInputDirect",
    {
      g: I32,
      n0: I32,
      n1: I32,
      work: I32,
      wp: I32,
      ktab: I32,
      vtab: I32,
      vend: I32,
    },
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
      wend: I32,
      wend2: I32,
      vt: I32,
      q0: I32,
      q1: I32,
      wq: I32,
      x0: I32,
      x1: I32,
      a: I32,
    },
    (p, l) => {
      const acc = tileAccOf(l);
      const off = (r: number) => (l as Record<string, number>)[`k${r}`];
      const init = zeroTile(l), offs = tileKOffsets(l, get(p.ktab));
      // one o: the pair's two vectors of y (then on to the next plane),
      // against the panel's 6 broadcast weights
      const step = (u: number): Code[] => [
        set(l.y0, v128.load(get(l.q0))),
        set(l.y1, v128.load(get(l.q1))),
        set(l.q0, add(get(l.q0), get(l.ppb))),
        set(l.q1, add(get(l.q1), get(l.ppb))),
        ...Array.from({ length: MR }, (_, r) => [
          set(l.wv, v128.load(get(l.wq), (u * MR + r) * 16)),
          set(acc(r, 0), madd(get(l.wv), get(l.y0), get(acc(r, 0)))),
          set(acc(r, 1), madd(get(l.wv), get(l.y1), get(acc(r, 1)))),
        ]),
      ];
      const store: Code[] = [];
      for (let r = 0; r < MR; r++) {
        // only real k (the panel's padding rows are not stored)
        store.push(if_(i32.lt_s(add(get(l.kb), c(r)), get(l.kk)), [
          set(l.a, add(get(off(r)), get(l.x0))),
          v128.store(
            get(l.a),
            f32x4.add(
              v128.load(get(l.a)),
              v128.and(get(acc(r, 0)), get(l.y0)),
            ),
          ),
          set(l.a, add(get(off(r)), get(l.x1))),
          v128.store(
            get(l.a),
            f32x4.add(
              v128.load(get(l.a)),
              v128.and(get(acc(r, 1)), get(l.y1)),
            ),
          ),
        ]));
      }
      return [
        set(l.groups, field(p.g, CF.groups)),
        set(l.cg, i32.div_s(field(p.g, CF.c), get(l.groups))),
        set(l.og, i32.div_s(field(p.g, CF.o), get(l.groups))),
        set(
          l.kk,
          mul(get(l.cg), mul(field(p.g, CF.kh), field(p.g, CF.kw))),
        ),
        set(l.kp, mul(i32.div_s(add(get(l.kk), c(MR - 1)), c(MR)), c(MR))),
        set(l.ppb, x4(mul(field(p.g, CF.oh), field(p.g, CF.ow)))),
        set(l.hwb, x4(mul(field(p.g, CF.h), field(p.g, CF.w)))),
        for_(l.n, get(p.n0), get(p.n1), c(1), [
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
              set(l.wend, add(get(l.wk), mul(get(l.og), c(MR * 16)))),
              set(
                l.wend2,
                add(get(l.wk), mul(i32.and(get(l.og), c(-CU)), c(MR * 16))),
              ),
              set(l.vt, get(p.vtab)),
              // do { one pair } while (vt < vend): at least one pair
              loop(
                init,
                set(l.q0, add(get(l.yb), i32.load(get(l.vt)))),
                set(l.q1, add(get(l.yb), i32.load(get(l.vt), 12))),
                set(l.wq, get(l.wk)),
                kLoop(step, [[l.wq, MR * 16]], get(l.wend2), get(l.wend)),
                // the two vectors' x offsets and lane masks
                set(l.x0, i32.load(get(l.vt), 4)),
                set(l.x1, i32.load(get(l.vt), 16)),
                set(l.y0, v128.load(i32.load(get(l.vt), 8))),
                set(l.y1, v128.load(i32.load(get(l.vt), 20))),
                store,
                set(l.vt, add(get(l.vt), c(24))),
                brIf(0, i32.lt_u(get(l.vt), get(p.vend))),
              ),
            ]),
          ]),
        ]),
      ];
    },
  );

  const funcs = [
    micro,
    packA,
    packB,
    gemm,
    im2col,
    col2im,
    convForward,
    convInputAdjoint,
    convWeightAdjoint,
    maxPool,
    relu,
    copy,
    zero,
    reluMask,
    maxPool2x2,
    convDirect,
    convDirectC,
    convWeightDirect,
    convInputDirect,
    convWeightRows,
    sumRuns,
    padPlanes,
    maxUnpool2x2,
    ...arith,
  ];
  funcs.forEach((f, i) => {
    if ((F as Record<string, number>)[f.name] !== i) {
      throw new Error(`kernel index table out of order at ${f.name}`);
    }
  });
  return funcs;
}

/** `cond ? v : 0` for an i32 value and an i32 condition. */
function if_i32(cond: Code, v: Code): Code {
  return i32.select(v, c(0), cond);
}

/** `cond ? v : 0` for an f32 value and an i32 condition. */
function if_f32(cond: Code, v: Code): Code {
  return f32.select(v, f32.const_(0), cond);
}

/** Memory pages the module declares (min, max); 64 KiB each. */
export const MEMORY_PAGES = { min: 32, max: 32768 };

/** The module's bytes. */
export function buildKernels(opts: KernelOptions): Uint8Array<ArrayBuffer> {
  return assemble(kernelFuncs(opts), MEMORY_PAGES);
}
