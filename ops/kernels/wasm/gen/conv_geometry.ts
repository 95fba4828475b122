/**
 * The convolution geometry record (`CONV_FIELDS` in `layout.ts`) as the
 * convolution kernels read it: its fields in locals, the per-group sizes,
 * the addresses of an image's planes, and the table of input offsets of
 * each k = (ci, i, j). Shared by `im2col.ts`, `conv_direct.ts` and
 * `conv_grad.ts`.
 *
 * @module
 */
import { type Code, for_, get, I32, i32, set } from "../_asm.ts";
import { add, c, field, mul } from "./emit.ts";
import { CONV_OFFSETS as CF } from "../layout.ts";

/** The geometry's i32 locals (spread into a kernel's locals). */
export const geomLocals = {
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
/** The indices of a kernel's geometry locals. */
export type GeomLocals = { [K in keyof typeof geomLocals]: number };
/** Reads the geometry fields of the record at local `g` into the locals. */
export const loadGeom = (g: number, l: GeomLocals): Code[] =>
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
export const loadConv = (
  g: number,
  l: GeomLocals & {
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
/**
 * Address of channel `ch` of image `n` of a [n, chans, plane] array at
 * `base` (of float32, or with `shift` 3 of float64).
 */
export const planeAddr = (
  base: Code,
  n: Code,
  chans: Code,
  ch: Code,
  plane: Code,
  shift = 2,
): Code => add(base, i32.shl(mul(add(mul(n, chans), ch), plane), c(shift)));
/** xb = the address of image n's planes of group grp in x (elements of 1 << shift bytes). */
export const setXPlane = (
  g: number,
  l: { xb: number; n: number; grp: number; cg: number; h: number; w: number },
  shift = 2,
): Code =>
  set(
    l.xb,
    planeAddr(
      field(g, CF.x),
      get(l.n),
      field(g, CF.c),
      mul(get(l.grp), get(l.cg)),
      mul(get(l.h), get(l.w)),
      shift,
    ),
  );
/** yb = the address of image n's planes of group grp in y (pp pixels each; elements of 1 << shift bytes). */
export const setYPlane = (
  g: number,
  l: { yb: number; n: number; grp: number; og: number; pp: number },
  shift = 2,
): Code =>
  set(
    l.yb,
    planeAddr(
      field(g, CF.y),
      get(l.n),
      field(g, CF.o),
      mul(get(l.grp), get(l.og)),
      get(l.pp),
      shift,
    ),
  );
/**
 * Writes at `l.d` the offset of each output pixel (oy, ox) in an input
 * plane whose rows are `rowStep` elements apart per output row (sh·w in x
 * itself), oy·rowStep + ox·sw, in elements << `shift`; leaves `l.d` past
 * it. `oy` and `ox` are the loop's locals.
 */
export const pixelOffsetTable = (
  l: { d: number; oh: number; ow: number; sw: number },
  oy: number,
  ox: number,
  rowStep: Code,
  shift: number,
): Code =>
  for_(oy, c(0), get(l.oh), c(1), [
    for_(ox, c(0), get(l.ow), c(1), [
      i32.store(
        get(l.d),
        i32.shl(
          add(mul(get(oy), rowStep), mul(get(ox), get(l.sw))),
          c(shift),
        ),
      ),
      set(l.d, add(get(l.d), c(4))),
    ]),
  ]);
/**
 * Writes at `l.d` the x offset of each k = (ci, i, j) within an image's
 * group of planes, in elements << `shift` (2: bytes; 4: bytes of a copy
 * of x with each element broadcast to a vector); leaves `l.d` past it.
 */
export const kOffsetTable = (
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
