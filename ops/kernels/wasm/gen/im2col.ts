/**
 * Convolution through im2col and the GEMM, for any geometry (padding
 * included): per image and group, `im2col` copies the windows of x into a
 * [cg·kh·kw, oh·ow] matrix of columns, and one GEMM with the weights gives
 * y (`convForward`); the transposes give the weight gradient
 * (`convWeightAdjoint`, columns · y) and the input gradient
 * (`convInputAdjoint`, Wᵀ · y, then `col2im` adds the columns back into x).
 * The direct kernels (`conv_direct.ts`, `conv_grad.ts`) are faster where
 * they apply; these serve every other case. Each has a float64 version
 * (names ending in F64: f64x2 vectors, `gemmF64`), the route of every large
 * float64 convolution.
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
  F,
  type FamilyTemplates,
  field,
  kernel,
  max,
  min,
  mul,
  sub,
  type Template,
} from "./emit.ts";
import { bytesOf, E32, E64, type Elem, named } from "./matmul.ts";
import {
  type GeomLocals,
  geomLocals,
  loadGeom,
  planeAddr,
} from "./conv_geometry.ts";
import { CONV_OFFSETS as CF } from "../layout.ts";

/** `cond ? v : 0` for a value of element type `el` (select is untyped). */
const orZero = (el: Elem, cond: Code, v: Code): Code =>
  f32.select(v, el.zero, cond);

// For one kernel offset (i, j): the first column x0 of output column 0, the
// run [lo, hi) of output columns inside the row (stride 1), and the range
// [oyLo, oyHi) of output rows whose input row y = y0 + oy·sh lies inside
// the plane, so the row loop needs no bounds test.
/** ceil(a / b) for b > 0 (any sign of a: the callers clamp at 0). */
const ceilDiv = (a: Code, b: Code) => i32.div_s(add(a, sub(b, c(1))), b);
const rowRanges = (
  l: GeomLocals & {
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
const im2col = (el: Elem): Template => () =>
  kernel(
    named(el, "im2col"),
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
          add(get(p.xp), bytesOf(el, mul(get(l.ci), mul(get(l.h), get(l.w))))),
        ),
        for_(l.i, c(0), get(l.kh), c(1), [
          for_(l.j, c(0), get(l.kw), c(1), [
            rowRanges(l),
            // rows above and below the plane are zero
            call(F.zero, get(l.dst), bytesOf(el, mul(get(l.oyLo), get(l.ow)))),
            set(
              l.dst,
              add(get(l.dst), bytesOf(el, mul(get(l.oyLo), get(l.ow)))),
            ),
            // src: input row y0 + oyLo·sh
            set(
              l.src,
              add(
                get(l.plane),
                bytesOf(
                  el,
                  mul(
                    add(get(l.y0), mul(get(l.oyLo), get(l.sh))),
                    get(l.w),
                  ),
                ),
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
                  set(l.s, add(get(l.src), bytesOf(el, get(l.x0)))),
                  set(l.d, get(l.dst)),
                  set(l.e, add(get(l.dst), bytesOf(el, get(l.ow)))),
                  block(loop(
                    v128.store(get(l.d), v128.load(get(l.s))),
                    set(l.s, add(get(l.s), c(16))),
                    set(l.d, add(get(l.d), c(16))),
                    brIf(0, i32.lt_s(get(l.d), get(l.e))),
                  )),
                  set(
                    l.src,
                    add(get(l.src), bytesOf(el, mul(get(l.sh), get(l.w)))),
                  ),
                  set(l.dst, get(l.e)),
                ]),
              ],
              [
                for_(l.oy, get(l.oyLo), get(l.oyHi), c(1), [
                  if_(i32.eq(get(l.sw), c(1)), [
                    call(F.zero, get(l.dst), bytesOf(el, get(l.lo))),
                    call(
                      F.copy,
                      add(get(l.dst), bytesOf(el, get(l.lo))),
                      add(get(l.src), bytesOf(el, add(get(l.lo), get(l.x0)))),
                      bytesOf(el, sub(get(l.hi), get(l.lo))),
                    ),
                    call(
                      F.zero,
                      add(get(l.dst), bytesOf(el, get(l.hi))),
                      bytesOf(el, sub(get(l.ow), get(l.hi))),
                    ),
                  ], [
                    for_(l.ox, c(0), get(l.ow), c(1), [
                      set(l.xx, add(mul(get(l.ox), get(l.sw)), get(l.x0))),
                      // the load reads a column clamped into the row (a
                      // select evaluates both operands), then 0 is chosen
                      el.store(
                        add(get(l.dst), bytesOf(el, get(l.ox))),
                        f32.select(
                          el.load(
                            add(
                              get(l.src),
                              bytesOf(
                                el,
                                min(max(get(l.xx), c(0)), sub(get(l.w), c(1))),
                              ),
                            ),
                          ),
                          el.zero,
                          i32.and(
                            i32.ge_s(get(l.xx), c(0)),
                            i32.lt_s(get(l.xx), get(l.w)),
                          ),
                        ),
                      ),
                    ]),
                  ]),
                  set(
                    l.src,
                    add(get(l.src), bytesOf(el, mul(get(l.sh), get(l.w)))),
                  ),
                  set(l.dst, add(get(l.dst), bytesOf(el, get(l.ow)))),
                ]),
              ],
            ),
            call(
              F.zero,
              get(l.dst),
              bytesOf(el, mul(sub(get(l.oh), get(l.oyHi)), get(l.ow))),
            ),
            set(
              l.dst,
              add(
                get(l.dst),
                bytesOf(el, mul(sub(get(l.oh), get(l.oyHi)), get(l.ow))),
              ),
            ),
          ]),
        ]),
      ]),
    ],
  );

// ---- col2im: x [cg, h, w] += the columns (im2col's transpose)
const col2im = (el: Elem): Template => () =>
  kernel(
    named(el, "col2im"),
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
          add(get(p.xp), bytesOf(el, mul(get(l.ci), mul(get(l.h), get(l.w))))),
        ),
        for_(l.i, c(0), get(l.kh), c(1), [
          for_(l.j, c(0), get(l.kw), c(1), [
            rowRanges(l),
            // dst: input row y0 + oyLo·sh; rows outside the plane add nothing
            set(
              l.dst,
              add(
                get(l.plane),
                bytesOf(
                  el,
                  mul(
                    add(get(l.y0), mul(get(l.oyLo), get(l.sh))),
                    get(l.w),
                  ),
                ),
              ),
            ),
            for_(l.oy, get(l.oyLo), get(l.oyHi), c(1), [
              set(l.s, add(get(l.row), bytesOf(el, mul(get(l.oy), get(l.ow))))),
              if_(i32.eq(get(l.sw), c(1)), [
                // x[lo + x0 ..] += row[lo ..]: four at a time, then one at a
                // time (a last vector overlapping the previous one would
                // wait for its store to reach memory)
                set(l.e, add(get(l.s), bytesOf(el, get(l.hi)))),
                set(l.s, add(get(l.s), bytesOf(el, get(l.lo)))),
                set(
                  l.d,
                  add(get(l.dst), bytesOf(el, add(get(l.lo), get(l.x0)))),
                ),
                block(loop(
                  brIf(1, i32.gt_s(add(get(l.s), c(16)), get(l.e))),
                  v128.store(
                    get(l.d),
                    el.vadd(v128.load(get(l.d)), v128.load(get(l.s))),
                  ),
                  set(l.s, add(get(l.s), c(16))),
                  set(l.d, add(get(l.d), c(16))),
                  br(0),
                )),
                block(loop(
                  brIf(1, i32.ge_s(get(l.s), get(l.e))),
                  el.store(
                    get(l.d),
                    el.add(el.load(get(l.d)), el.load(get(l.s))),
                  ),
                  set(l.s, add(get(l.s), c(1 << el.shift))),
                  set(l.d, add(get(l.d), c(1 << el.shift))),
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
                      el.store(
                        add(get(l.dst), bytesOf(el, get(l.xx))),
                        el.add(
                          el.load(add(get(l.dst), bytesOf(el, get(l.xx)))),
                          el.load(add(get(l.s), bytesOf(el, get(l.ox)))),
                        ),
                      ),
                    ],
                  ),
                ]),
              ]),
              set(
                l.dst,
                add(get(l.dst), bytesOf(el, mul(get(l.sh), get(l.w)))),
              ),
            ]),
            set(l.row, add(get(l.row), bytesOf(el, mul(get(l.oh), get(l.ow))))),
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
  el: Elem,
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
      add(add(get(l.cols), bytesOf(el, mul(get(l.kk), get(l.pp)))), c(16 + 63)),
      c(-64),
    ),
  ),
];

/** im2col of image n's channel group grp into the column buffer (forward and weight adjoint). */
const im2colOfGroup = (
  el: Elem,
  p: { g: number },
  l: { n: number; grp: number; cg: number; cols: number },
): Code =>
  call(
    F[named(el, "im2col")],
    get(p.g),
    get(l.cg),
    planeAddr(
      field(p.g, CF.x),
      get(l.n),
      field(p.g, CF.c),
      mul(get(l.grp), get(l.cg)),
      mul(field(p.g, CF.h), field(p.g, CF.w)),
      el.shift,
    ),
    get(l.cols),
  );

// y[n] = W · im2col(x[n]) (+ bias), one GEMM per image and group
const convForward = (el: Elem): Template => () =>
  kernel(
    named(el, "convForward"),
    convLocals,
    (p, l) => [
      convSetup(el, p, l),
      for_(l.n, get(p.n0), get(p.n1), c(1), [
        for_(l.grp, c(0), field(p.g, CF.groups), c(1), [
          im2colOfGroup(el, p, l),
          set(
            l.yn,
            planeAddr(
              field(p.g, CF.y),
              get(l.n),
              field(p.g, CF.o),
              mul(get(l.grp), get(l.og)),
              get(l.yp),
              el.shift,
            ),
          ),
          // fill each output row with its bias (or 0): the GEMM adds to it
          for_(l.o, c(0), get(l.og), c(1), [
            set(
              l.bv,
              el.splat(
                orZero(
                  el,
                  field(p.g, CF.bias),
                  el.load(
                    add(
                      field(p.g, CF.bias),
                      bytesOf(el, add(mul(get(l.grp), get(l.og)), get(l.o))),
                    ),
                  ),
                ),
              ),
            ),
            set(l.q, add(get(l.yn), bytesOf(el, mul(get(l.o), get(l.yp))))),
            set(l.e, add(get(l.q), bytesOf(el, get(l.pp)))),
            block(loop(
              brIf(1, i32.gt_s(add(get(l.q), c(16)), get(l.e))),
              v128.store(get(l.q), get(l.bv)),
              set(l.q, add(get(l.q), c(16))),
              br(0),
            )),
            block(loop(
              brIf(1, i32.ge_s(get(l.q), get(l.e))),
              el.store(get(l.q), el.extractLane(get(l.bv), 0)),
              set(l.q, add(get(l.q), c(1 << el.shift))),
              br(0),
            )),
          ]),
          call(
            F[named(el, "gemm")],
            get(l.og),
            get(l.pp),
            get(l.kk),
            add(
              field(p.g, CF.wt),
              bytesOf(el, mul(mul(get(l.grp), get(l.og)), get(l.kk))),
            ),
            get(l.kk),
            c(1),
            get(l.cols),
            get(l.pp),
            c(1),
            get(l.yn),
            get(l.yp),
            get(l.gw),
            c(1),
          ),
        ]),
      ]),
    ],
  );

// x[n] = col2im(Wᵀ · y[n]): the transpose of convForward in x (x zeroed by the caller)
const convInputAdjoint = (el: Elem): Template => () =>
  kernel(
    named(el, "convInputAdjoint"),
    convLocals,
    (p, l) => [
      convSetup(el, p, l),
      for_(l.n, get(p.n0), get(p.n1), c(1), [
        for_(l.grp, c(0), field(p.g, CF.groups), c(1), [
          call(F.zero, get(l.cols), bytesOf(el, mul(get(l.kk), get(l.pp)))),
          call(
            F[named(el, "gemm")],
            get(l.kk),
            get(l.pp),
            get(l.og),
            // A = W_grpᵀ: element (i, p) at W[p, i]
            add(
              field(p.g, CF.wt),
              bytesOf(el, mul(mul(get(l.grp), get(l.og)), get(l.kk))),
            ),
            c(1),
            get(l.kk),
            planeAddr(
              field(p.g, CF.y),
              get(l.n),
              field(p.g, CF.o),
              mul(get(l.grp), get(l.og)),
              get(l.yp),
              el.shift,
            ),
            get(l.yp),
            c(1),
            get(l.cols),
            get(l.pp),
            get(l.gw),
            c(1),
          ),
          call(
            F[named(el, "col2im")],
            get(p.g),
            get(l.cg),
            planeAddr(
              field(p.g, CF.x),
              get(l.n),
              field(p.g, CF.c),
              mul(get(l.grp), get(l.cg)),
              mul(field(p.g, CF.h), field(p.g, CF.w)),
              el.shift,
            ),
            get(l.cols),
          ),
        ]),
      ]),
    ],
  );

// dw += y[n] · im2col(x[n])ᵀ over images n0..n1 (dw [o, cg·kh·kw] zeroed by the caller)
const convWeightAdjoint = (el: Elem): Template => () =>
  kernel(
    named(el, "convWeightAdjoint"),
    convLocals,
    (p, l) => [
      convSetup(el, p, l),
      for_(l.n, get(p.n0), get(p.n1), c(1), [
        for_(l.grp, c(0), field(p.g, CF.groups), c(1), [
          im2colOfGroup(el, p, l),
          call(
            F[named(el, "gemm")],
            get(l.og),
            get(l.kk),
            get(l.pp),
            planeAddr(
              field(p.g, CF.y),
              get(l.n),
              field(p.g, CF.o),
              mul(get(l.grp), get(l.og)),
              get(l.yp),
              el.shift,
            ),
            get(l.yp),
            c(1),
            // B = colsᵀ: element (p, j) at cols[j, p]
            get(l.cols),
            c(1),
            get(l.pp),
            add(
              get(p.dw),
              bytesOf(el, mul(mul(get(l.grp), get(l.og)), get(l.kk))),
            ),
            get(l.kk),
            get(l.gw),
            c(1),
          ),
        ]),
      ]),
    ],
  );

/** The im2col family's templates: float32, then float64. */
export const im2colKernels: FamilyTemplates<"im2col"> = {
  im2col: im2col(E32),
  col2im: col2im(E32),
  convForward: convForward(E32),
  convInputAdjoint: convInputAdjoint(E32),
  convWeightAdjoint: convWeightAdjoint(E32),
  im2colF64: im2col(E64),
  col2imF64: col2im(E64),
  convForwardF64: convForward(E64),
  convInputAdjointF64: convInputAdjoint(E64),
  convWeightAdjointF64: convWeightAdjoint(E64),
};
