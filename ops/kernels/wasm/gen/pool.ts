/**
 * Max pooling and its gradient over planes of a [planes, h, w] array, with
 * the pooling geometry record (`POOL_FIELDS` in `layout.ts`): `maxPool` for
 * any window (the value and the within-plane index of each window's first
 * maximum), `maxPool2x2` for the common 2×2 windows of stride 2 (four
 * windows at a time), and `maxUnpool2x2`, its VJP (each window's gradient
 * to its argmax); `maxPool2x2F64` is `maxPool2x2` for float64 (f64x2
 * vectors, the same rule and loops).
 *
 * @module
 */
import {
  brIf,
  call,
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
  if_,
  loop,
  set,
  V128,
  v128,
  type ValType,
} from "../_asm.ts";
import {
  add,
  c,
  F,
  type FamilyTemplates,
  field,
  kernel,
  lanes,
  mul,
  sub,
  type Template,
  x4,
} from "./emit.ts";
import { bytesOf, E32, E64, type Elem, named } from "./matmul.ts";
import { POOL_OFFSETS as PF } from "../layout.ts";

/**
 * Sets `lo`, `hi` to the taps `[lo, hi)` of a window starting at `p0` (`k`
 * taps `d` apart) inside `[0, n)`, as `tapsInside` in `kernels/pool.ts`
 * (unsigned divisions: the numerators are non-negative where selected).
 */
const tapsInside = (
  lo: number,
  hi: number,
  p0: Code,
  k: Code,
  d: Code,
  n: Code,
): Code[] => [
  // hi = p0 >= n ? 0 : min(k, (n - 1 - p0) / d + 1)
  set(hi, add(i32.div_u(sub(sub(n, c(1)), p0), d), c(1))),
  set(hi, i32.select(k, get(hi), i32.lt_s(k, get(hi)))),
  set(hi, i32.select(c(0), get(hi), i32.ge_s(p0, n))),
  // lo = min(p0 >= 0 ? 0 : ceil(-p0 / d), hi)
  set(lo, i32.div_u(sub(add(sub(c(0), p0), d), c(1)), d)),
  set(lo, i32.select(c(0), get(lo), i32.ge_s(p0, c(0)))),
  set(lo, i32.select(get(lo), get(hi), i32.lt_s(get(lo), get(hi)))),
];

// ---- max pooling over planes pl0..pl1: the value and the (within-plane)
// index of each window's first maximum; NaN counts as maximal (the first NaN
// wins). Windows wholly inside the plane skip the bounds checks; the others
// visit only their taps inside it.
const maxPool: Template = () =>
  kernel(
    "maxPool",
    {
      pl: I32,
      oy: I32,
      ox: I32,
      i: I32,
      j: I32,
      i0: I32,
      i1: I32,
      j0: I32,
      j1: I32,
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
            f32.ne(get(l.v), get(l.v)),
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
                tapsInside(
                  l.i0,
                  l.i1,
                  get(l.y0),
                  get(l.kh),
                  get(l.dh),
                  get(l.h),
                ),
                tapsInside(
                  l.j0,
                  l.j1,
                  get(l.x0),
                  get(l.kw),
                  get(l.dw),
                  get(l.w),
                ),
                for_(l.i, get(l.i0), get(l.i1), c(1), [
                  // at = (y0 + i·dh)·w + x0 + j0·dw
                  set(
                    l.at,
                    add(
                      mul(add(get(l.y0), mul(get(l.i), get(l.dh))), get(l.w)),
                      add(get(l.x0), mul(get(l.j0), get(l.dw))),
                    ),
                  ),
                  for_(l.j, get(l.j0), get(l.j1), c(1), [
                    consider,
                    set(l.at, add(get(l.at), get(l.dw))),
                  ]),
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
 * What the 2×2 kernels need of the element type beyond {@linkcode Elem}: its
 * scalar local type and compares, the vector compares, and a branch-free
 * scalar select.
 */
interface PoolElem {
  el: Elem;
  /** The scalar local type. */
  T: ValType;
  gt: (a: Code, b: Code) => Code;
  ne: (a: Code, b: Code) => Code;
  vgt: (a: Code, b: Code) => Code;
  vne: (a: Code, b: Code) => Code;
  /** `c ? a : b`. */
  select: (a: Code, b: Code, c: Code) => Code;
}

const P32: PoolElem = {
  el: E32,
  T: F32,
  gt: f32.gt,
  ne: f32.ne,
  vgt: f32x4.gt,
  vne: f32x4.ne,
  // through the bits: V8 makes an f32 select a branch, an i32 one a cmov
  select: (a, b, c) => f32.fromBits(i32.select(f32.bits(a), f32.bits(b), c)),
};

const P64: PoolElem = {
  el: E64,
  T: F64,
  gt: f64.gt,
  ne: f64.ne,
  vgt: f64x2.gt,
  vne: f64x2.ne,
  select: f32.select, // untyped
};

/**
 * A step of the 2×2 kernels handles 4 windows: `parts` vectors of their
 * values (1 of f32x4, 2 of f64x2); each input row of them is 2·parts
 * vectors.
 */
const partsOf = (el: Elem) => 4 / el.lanes;

/** `n` locals of type `t` named `name`0, `name`1, ... */
const vecs = (name: string, n: number, t: ValType = V128) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`${name}${i}`, t]),
  ) as Record<string, ValType>;

/** Shuffle byte indices taking element `ks` (0-lanes from a, then b). */
const elems = (el: Elem, ...ks: number[]): number[] => {
  const b = 1 << el.shift;
  return ks.flatMap((k) => Array.from({ length: b }, (_, i) => b * k + i));
};

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
  el: Elem,
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
      add(get(plane), bytesOf(el, mul(get(l.pl), mul(get(l.h), get(l.w))))),
    ),
    prelude,
    for_(l.oy, c(0), get(l.oh), c(1), [
      set(
        l.r0,
        add(get(l.base), bytesOf(el, mul(mul(get(l.oy), c(2)), get(l.w)))),
      ),
      set(l.r1, add(get(l.r0), bytesOf(el, get(l.w)))),
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

/** The address of the 2·ox-th element of the row at local `row`. */
const rowAt = (el: Elem, row: number, ox: number) =>
  add(get(row), i32.shl(get(ox), c(el.shift + 1)));

// ---- max pooling with 2×2 windows, stride 2, no padding or dilation (the
// common case), four outputs at a time: the even and odd elements of two
// rows are the four candidates of four windows, taken in row-major order
// with the same rule as maxPool, as lane masks (maxPool2x2F64: two f64x2
// vectors of two windows each, their masks narrowed to the four i32 lanes
// of the argmax). Planes pl0..pl1; every window lies inside its plane (the
// caller checks 2·oh <= h and 2·ow <= w).
const EVEN = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const maxPool2x2 = (pe: PoolElem): Template => () => {
  const el = pe.el, parts = partsOf(el);
  const even = elems(el, ...[0, 2, 4, 6].slice(0, el.lanes));
  const odd = even.map((b) => b + (1 << el.shift));
  return kernel(
    named(el, "maxPool2x2"),
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
      ms: pe.T,
      vs: pe.T,
      bs: I32,
      ...vecs("a", 2 * parts),
      ...vecs("b", 2 * parts),
      k: V128,
      k1: V128,
      kw: V128,
      kw1: V128,
      ...vecs("m", parts),
      best: V128,
      ...vecs("v", parts),
      ...vecs("t", parts),
    },
    (p, L) => {
      const l = L as typeof L & Record<string, number>;
      const part = (name: string, q: number) => l[`${name}${q}`];
      /** Row `r`'s candidates (even or odd elements) of part q. */
      const pick = (r: string, q: number, sel: number[]) =>
        v128.shuffle(get(part(r, 2 * q)), get(part(r, 2 * q + 1)), sel);
      // lanes where v beats m: v > m, or v is NaN (each NaN replaces the
      // maximum, so the last NaN wins, as PyTorch's)
      const consider = (r: string, sel: number[], k: Code): Code[] => [
        Array.from({ length: parts }, (_, q) => {
          const [m, v, t] = [part("m", q), part("v", q), part("t", q)];
          return [
            set(v, pick(r, q, sel)),
            set(
              t,
              v128.or(pe.vgt(get(v), get(m)), pe.vne(get(v), get(v))),
            ),
            set(m, v128.bitselect(get(v), get(m), get(t))),
          ];
        }),
        set(
          l.best,
          v128.bitselect(
            k,
            get(l.best),
            parts === 1
              ? get(part("t", 0))
              : v128.shuffle(get(part("t", 0)), get(part("t", 1)), EVEN),
          ),
        ),
      ];
      const considerScalar = (at: Code): Code[] => [
        set(l.vs, el.load(add(get(l.base), bytesOf(el, at)))),
        set(
          l.take,
          i32.or(
            pe.gt(get(l.vs), get(l.ms)),
            pe.ne(get(l.vs), get(l.vs)),
          ),
        ),
        set(l.ms, pe.select(get(l.vs), get(l.ms), get(l.take))),
        set(l.bs, i32.select(at, get(l.bs), get(l.take))),
      ];
      const loadRow = (r: string, row: number) =>
        Array.from(
          { length: 2 * parts },
          (_, j) => set(part(r, j), v128.load(rowAt(el, row, l.ox), 16 * j)),
        );
      // (the argmax as an offset in the window, 0, 1, w or w + 1, until
      // its store: the offsets' vectors are made once)
      return [
        set(l.k1, i32x4.splat(c(1))),
        set(l.kw, i32x4.splat(field(p.g, PF.w))),
        set(l.kw1, i32x4.splat(add(field(p.g, PF.w), c(1)))),
        pool2x2Loops(el, p, l, p.x, [], [
          loadRow("a", l.r0),
          loadRow("b", l.r1),
          Array.from(
            { length: parts },
            (_, q) => set(part("m", q), pick("a", q, even)),
          ),
          set(l.best, v128.zero()),
          consider("a", odd, get(l.k1)),
          consider("b", even, get(l.kw)),
          consider("b", odd, get(l.kw1)),
          Array.from({ length: parts }, (_, q) =>
            v128.store(
              add(get(p.out), bytesOf(el, add(get(l.o), get(l.ox)))),
              get(part("m", q)),
              16 * q,
            )),
          v128.store(
            add(get(p.idx), x4(add(get(l.o), get(l.ox)))),
            i32x4.add(get(l.k), get(l.best)),
          ),
        ], [
          set(l.at, mul(add(mul(get(l.oy), get(l.w)), get(l.ox)), c(2))),
          set(l.ms, el.load(add(get(l.base), bytesOf(el, get(l.at))))),
          set(l.bs, get(l.at)),
          considerScalar(add(get(l.at), c(1))),
          considerScalar(add(get(l.at), get(l.w))),
          considerScalar(add(add(get(l.at), get(l.w)), c(1))),
          el.store(
            add(get(p.out), bytesOf(el, add(get(l.o), get(l.ox)))),
            get(l.ms),
          ),
          i32.store(add(get(p.idx), x4(add(get(l.o), get(l.ox)))), get(l.bs)),
        ]),
      ];
    },
  );
};

// ---- max pooling's VJP for the windows of maxPool2x2: each window's g
// goes to its argmax, 0 to its three other inputs (0 + g, so -0 comes out
// as 0, as the sum in TypeScript does). Four windows at a time, their
// eight inputs of each row interleaved by shuffles; a row's last vector
// moved back to end at the row's end. Planes pl0..pl1; a plane with
// inputs that get no store (see the prelude) is zeroed first.
const maxUnpool2x2: Template = () =>
  kernel(
    "maxUnpool2x2",
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
      k1: V128,
      kw: V128,
      kw1: V128,
      v0: V128,
      v1: V128,
      md: I32,
      pm: I32,
      mv: F32,
    },
    (p, l) => {
      /**
       * With a mask m (the record's `mask`; relu's VJP fused), the value
       * `v` stored at `addr` is 0 where m <= 0 at the same place and kept
       * elsewhere (a NaN keeps it), as the reluMask kernel: `md` is the
       * mask's address minus the output's.
       */
      const masked = (addr: Code, v: Code, offset = 0): Code =>
        v128.andnot(
          v,
          f32x4.le(v128.load(add(addr, get(l.md)), offset), v128.zero()),
        );
      /** g in the lanes whose argmax is at offset `k` in the window, else 0. */
      const pick = (k: Code) => v128.and(get(l.gv), i32x4.eq(get(l.iv), k));
      /** One row of four windows' inputs: the first / second of each pair. */
      const row = (dst: number, k0: Code, k1: Code, mask: boolean): Code[] => {
        const addr = add(get(dst), i32.shl(get(l.ox), c(3)));
        const half = (ls: number[], offset: number) => {
          const v = v128.shuffle(get(l.v0), get(l.v1), ls);
          return v128.store(addr, mask ? masked(addr, v, offset) : v, offset);
        };
        return [
          set(l.v0, pick(k0)),
          set(l.v1, pick(k1)),
          half(lanes(0, 4, 1, 5), 0),
          half(lanes(2, 6, 3, 7), 16),
        ];
      };
      const rows = (mask: boolean): Code[] => [
        row(l.r0, v128.zero(), get(l.k1), mask),
        row(l.r1, get(l.kw), get(l.kw1), mask),
      ];
      // the plane is zeroed first when some input gets no store: rows of
      // fewer than 4 windows (stored one at a time, at the argmax only), or
      // an odd last row or column
      return [
        // (the argmax as an offset in the window, 0, 1, w or w + 1: the
        // offsets' vectors are made once)
        set(l.k1, i32x4.splat(c(1))),
        set(l.kw, i32x4.splat(field(p.g, PF.w))),
        set(l.kw1, i32x4.splat(add(field(p.g, PF.w), c(1)))),
        set(l.md, sub(field(p.g, PF.mask), get(p.out))),
        set(
          l.pm,
          i32.and(i32.ne(field(p.g, PF.mask), c(0)), field(p.g, PF.pooled)),
        ),
        pool2x2Loops(E32, p, l, p.out, [
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
          // a mask per window: g masked once, before it is routed
          if_(get(l.pm), [
            set(
              l.gv,
              v128.andnot(
                get(l.gv),
                f32x4.le(
                  v128.load(add(field(p.g, PF.mask), get(l.at))),
                  v128.zero(),
                ),
              ),
            ),
          ]),
          // (0 + g, so that -0 comes out as 0; the argmax as an offset)
          set(l.gv, f32x4.add(get(l.gv), v128.zero())),
          set(l.iv, i32x4.sub(get(l.iv), get(l.k))),
          if_(
            i32.and(i32.ne(field(p.g, PF.mask), c(0)), i32.eqz(get(l.pm))),
            rows(true),
            rows(false),
          ),
        ], [
          set(l.at, x4(add(get(l.o), get(l.ox)))),
          // the mask's value: the window's, or at its argmax
          if_(get(l.pm), [
            set(l.mv, f32.load(add(field(p.g, PF.mask), get(l.at)))),
          ]),
          set(l.at, add(get(l.base), x4(i32.load(add(get(p.idx), get(l.at)))))),
          if_(i32.eqz(get(l.pm)), [
            set(l.mv, f32.load(add(get(l.at), get(l.md)))),
          ]),
          f32.store(
            get(l.at),
            f32.select(
              f32.add(
                f32.load(add(get(p.gr), x4(add(get(l.o), get(l.ox))))),
                f32.const_(0),
              ),
              f32.const_(0),
              i32.or(
                i32.eqz(field(p.g, PF.mask)),
                i32.eqz(f32.le(get(l.mv), f32.const_(0))),
              ),
            ),
          ),
        ]),
      ];
    },
  );

/** The pooling kernels' templates. */
export const pool: FamilyTemplates<"pool"> = {
  maxPool,
  maxPool2x2: maxPool2x2(P32),
  maxUnpool2x2,
  maxPool2x2F64: maxPool2x2(P64),
};
