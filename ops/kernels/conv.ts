/**
 * Convolution kernels on NCHW typed arrays, through im2col and a matrix
 * product. The three kernels share one geometry and are each other's
 * adjoints, which is what the VJP rules use:
 *
 * - `conv2dForward(x, w)`            y[n,o]  = Σ w[o,c,i,j] · x[n,c, oy·s + i·d - p, ...]
 * - `conv2dInputAdjoint(y, w)`       the transpose of conv in x (a transposed convolution)
 * - `conv2dWeightAdjoint(x, y)`      the transpose of conv in w (the weight gradient)
 *
 * float32 convolutions run in WebAssembly (`wasm/gen/im2col.ts`,
 * `conv_direct.ts`, `conv_grad.ts`), with the images split over threads: the forward pass and the weight adjoint
 * directly on x when no window touches padding (see `forwardKernel`, and
 * `convWeightDirect` in `wasm/gen/conv_grad.ts`, or for a sparse y, as max
 * pooling's gradient leaves it, `convWeightSparse`: its products with the
 * zeros left out, the bits of `convWeightDirect`, or where the dense kernel
 * is `convWeightRows` (pixels summed in lanes), its sums within rounding;
 * see `isSparse`); the input adjoint directly
 * into x when the stride along x is 1 (`convInputDirect`, its sums without
 * the products with y's zeros, the same bits; with padding, into a padded
 * x, then cropped); else per image and group im2col into a
 * [cg·kh·kw, oh·ow] matrix and one packed SIMD GEMM (for the input adjoint
 * Wᵀ·y, then col2im). float64 convolutions run in the float64 versions of
 * the im2col kernels (`convForwardF64`, ...: f64x2 vectors and `gemmF64`),
 * or in the float64 direct kernels when no window touches padding and the
 * stride along x is 1 (`wasm/gen/conv_direct_f64.ts`),
 * split over threads the same way. The TypeScript versions (`...Ref`) serve
 * small and mixed-type convolutions and are the reference for the tests:
 * there, images are processed in chunks whose columns form one
 * [cg·kh·kw, nb·oh·ow] matrix, so each group is one long matrix product
 * accumulated in float64.
 *
 * @module
 */
import { allocData, type TypedArray } from "../tensor.ts";
import { gemmRef as gemm, PARALLEL_MIN_MACS } from "./matmul.ts";
import * as ew from "./elementwise.ts";
import { sparseStats } from "./reduce.ts";
import { CONV_FIELDS, MR, NR, SPARSE_SAMPLE } from "./wasm/layout.ts";
import { KERNELS, type KernelsOf } from "./wasm/manifest.ts";
import {
  alignUp,
  bytesFor,
  GEMM_WORK,
  runtime,
  taskLists,
  type TaskName,
  type WasmRuntime,
} from "./wasm/runtime.ts";

/** Sizes and settings of one convolution (padding top/left; bottom/right only shape oh/ow). */
export interface ConvGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  dh: number;
  dw: number;
  groups: number;
}

/**
 * Sizes that bound the scratch of the convolutions (tests lower them to run
 * small convolutions in bands): `colsBytes` of columns per WebAssembly task
 * (a band of output rows), `refCols` numbers per chunk of the TypeScript
 * reference (more only when a single output row needs more).
 */
export const convLimits = {
  colsBytes: 1 << 23,
  refCols: 1 << 21,
  /** Most bytes of scratch per task of a direct kernel; past it the im2col kernels run (0: always). */
  directWorkBytes: 1 << 26,
  /**
   * The share of nonzeros in a weight gradient's y up to which the sparse
   * kernel runs (`convWeightSparse`; where max pooling and relu leave
   * 12-16%, LeNet-5's second convolution takes 0.5x the dense kernel's
   * time, its first 0.75x; -1: never).
   */
  sparseDensity: 0.3,
  /**
   * The share of nonzeros in an input gradient's y up to which
   * `convInputSparse` runs, with finite weights, windows inside x and no
   * dilation along x (-1: never).
   */
  inputSparseDensity: 0.3,
  /**
   * Whether `convInputDirect` leaves out the products with y's zeros, and
   * `convDirectC` an image's channels of x that are all zero (with finite
   * weights; the same bits: see the kernels; LeNet-5's second convolution's
   * input gradient takes 0.77x the time; false: every product).
   */
  skipZeros: true,
};

/**
 * How the reference kernels step through the output: chunks of `nb` images
 * whose columns stay near `convLimits.refCols` numbers, or, when one image's columns
 * are larger, one image at a time in bands of `rows` output rows.
 */
function chunking(g: ConvGeometry): { nb: number; rows: number } {
  const k = (g.c / g.groups) * g.kh * g.kw, per = k * g.oh * g.ow;
  if (per <= convLimits.refCols) {
    return {
      nb: Math.max(
        1,
        Math.min(g.n, Math.floor(convLimits.refCols / Math.max(per, 1))),
      ),
      rows: g.oh,
    };
  }
  return {
    nb: 1,
    rows: Math.max(1, Math.floor(convLimits.refCols / (k * g.ow))),
  };
}

/**
 * The geometry of output rows oy0..oy0 + rows (at most to the end): a
 * convolution of the same x whose top padding moves down by the band's
 * start (negative once the band starts below the padding).
 */
function band(g: ConvGeometry, oy0: number, rows: number): ConvGeometry {
  return rows >= g.oh
    ? g
    : { ...g, oh: Math.min(rows, g.oh - oy0), pt: g.pt - oy0 * g.sh };
}

/**
 * Calls `visit(n0, nb, band, yOff)` for each chunk of images and band of
 * output rows (see `chunking`): `band` is the geometry of those rows (oh
 * the band's rows, top padding moved by its start), `yOff` the offset of
 * its first row within an output plane.
 */
function forEachChunk(
  g: ConvGeometry,
  visit: (n0: number, nb: number, band: ConvGeometry, yOff: number) => void,
): void {
  const { nb, rows } = chunking(g);
  for (let n0 = 0; n0 < g.n; n0 += nb) {
    for (let oy0 = 0; oy0 < g.oh; oy0 += rows) {
      visit(n0, Math.min(nb, g.n - n0), band(g, oy0, rows), oy0 * g.ow);
    }
  }
}

/**
 * Unfolds group `grp` of images n0..n0+nb into cols [cg·kh·kw, nb·oh·ow]
 * (or, with `back`, adds cols into x: im2col's transpose). Per kernel
 * column j, the outputs ox whose input column lies inside x are the range
 * lo..hi: the loops over them test nothing.
 */
function im2col(
  x: TypedArray | Float64Array,
  g: ConvGeometry,
  n0: number,
  nb: number,
  grp: number,
  cols: Float64Array,
  back: boolean,
): void {
  const cg = g.c / g.groups, P = g.oh * g.ow, L = nb * P, sw = g.sw;
  for (let ci = 0; ci < cg; ci++) {
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const row = ((ci * g.kh + i) * g.kw + j) * L;
        // input column of ox: ox·sw + off
        const off = j * g.dw - g.pl;
        const lo = Math.min(g.ow, off >= 0 ? 0 : Math.ceil(-off / sw));
        const hi = Math.max(
          lo,
          Math.min(
            g.ow,
            off > g.w - 1 ? 0 : Math.floor((g.w - 1 - off) / sw) + 1,
          ),
        );
        for (let b = 0; b < nb; b++) {
          const plane = (((n0 + b) * g.c) + grp * cg + ci) * g.h * g.w;
          for (let oy = 0; oy < g.oh; oy++) {
            const y = oy * g.sh - g.pt + i * g.dh;
            const r = row + b * P + oy * g.ow;
            if (y < 0 || y >= g.h) {
              if (!back) cols.fill(0, r, r + g.ow);
              continue;
            }
            const base = plane + y * g.w + off;
            if (back) {
              for (let ox = lo; ox < hi; ox++) {
                x[base + ox * sw] += cols[r + ox];
              }
            } else {
              if (lo > 0) cols.fill(0, r, r + lo);
              for (let ox = lo; ox < hi; ox++) cols[r + ox] = x[base + ox * sw];
              if (hi < g.ow) cols.fill(0, r + hi, r + g.ow);
            }
          }
        }
      }
    }
  }
}

/**
 * Copies rows [o, nb·P] of a group (P the pixels of band g) into y [n, o,
 * yp] at `yOff` within each plane (or back, with `gather`).
 */
function reorder(
  y: TypedArray | Float64Array,
  m: Float64Array,
  g: ConvGeometry,
  n0: number,
  nb: number,
  grp: number,
  gather: boolean,
  yp: number,
  yOff: number,
): void {
  const og = g.o / g.groups, P = g.oh * g.ow;
  for (let o = 0; o < og; o++) {
    for (let b = 0; b < nb; b++) {
      const src = o * nb * P + b * P,
        dst = ((n0 + b) * g.o + grp * og + o) * yp + yOff;
      if (gather) { for (let p = 0; p < P; p++) m[src + p] = y[dst + p]; }
      else for (let p = 0; p < P; p++) y[dst + p] = m[src + p];
    }
  }
}

/** Multiply-adds of one convolution (any of the three). */
function convMacs(g: ConvGeometry): number {
  return g.n * g.o * g.oh * g.ow * (g.c / g.groups) * g.kh * g.kw;
}

/** True when every array (null: none) is of `type` and the work is worth the copies. */
function useWasmFor(
  type: Float32ArrayConstructor | Float64ArrayConstructor,
  g: ConvGeometry,
  a: TypedArray,
  b: TypedArray,
  c: TypedArray | null,
  d: TypedArray | null,
): boolean {
  return convMacs(g) >= runtime().minMacs && a instanceof type &&
    b instanceof type && (c === null || c instanceof type) &&
    (d === null || d instanceof type);
}

/** True when every array (null: none) is float32 and the work is worth the copies. */
const useWasm = (
  g: ConvGeometry,
  a: TypedArray,
  b: TypedArray,
  c: TypedArray | null = null,
  d: TypedArray | null = null,
): boolean => useWasmFor(Float32Array, g, a, b, c, d);

/**
 * True when every array (null: none) is float64 and the work is worth the
 * copies (the float64 im2col kernels).
 */
const useWasmF64 = (
  g: ConvGeometry,
  a: TypedArray,
  b: TypedArray,
  c: TypedArray | null = null,
  d: TypedArray | null = null,
): boolean => useWasmFor(Float64Array, g, a, b, c, d);

/**
 * True when the float64 direct kernel (`convDirectF64`) applies: every
 * window inside x, stride 1 along x, at least MR output channels per group
 * and 2 output columns (its tiles: MR channels × two pairs of columns).
 */
function directF64(g: ConvGeometry): boolean {
  return inside(g) && g.sw === 1 && g.o / g.groups >= MR && g.ow >= 2;
}

/** Bytes of an element of `fn`'s arrays: 8 for the float64 kernels. */
const elemBytes = (fn: ConvKernel) => fn.endsWith("F64") ? 8 : 4;

/** The WebAssembly convolution kernels (the manifest's convolution families, less the helpers only other kernels call). */
type ConvKernel = Extract<
  TaskName,
  KernelsOf<"im2col" | "conv_direct" | "conv_grad" | "conv_direct_f64">
>;

/** The kernels that unfold x into columns (im2col) and run a GEMM. */
const isIm2col = (fn: ConvKernel) => KERNELS[fn][0] === "im2col";

/** The kernels that sum over the images (each task into its own accumulator). */
const sumsImages = (fn: ConvKernel) => fn.startsWith("convWeight");

/** Image ranges of a kernel that sums over images: this many, fixed by the shapes alone. */
const WEIGHT_PARTS = 8;

/**
 * Output rows per band of an im2col kernel (of `bytes`-byte elements): all
 * of them when their columns fit `convLimits.colsBytes`, else as many as do
 * (at least one).
 */
function bandRows(g: ConvGeometry, bytes: number): number {
  const k = (g.c / g.groups) * g.kh * g.kw;
  return Math.max(
    1,
    Math.min(g.oh, Math.floor(convLimits.colsBytes / (bytes * k * g.ow))),
  );
}

/** Bytes of scratch one task of `fn` needs on geometry g (im2col kernels: per band). */
function workBytes(fn: ConvKernel, g: ConvGeometry): number {
  const k = (g.c / g.groups) * g.kh * g.kw, og = g.o / g.groups;
  const P = g.oh * g.ow;
  switch (fn) {
    case "convInputDirect":
      // the last two outputs of each pair of rows of each channel, packed
      // (see inputDirectTables), then per pair of vectors (at most one per
      // vector of outputs and an odd one out) og copies of its two vectors
      // of y, og offsets and the list's end
      return 16 * og * Math.ceil(g.oh / 2) +
        (g.oh * Math.ceil(g.ow / 4) + 1) * (36 * og + 4);
    case "convWeightDirectF64":
      // the offset tables (k, pixel pairs), alignment, y packed in blocks
      // of MR channels
      return 4 * k + 2 * P + 16 + 8 * MR * P * Math.ceil(og / MR);
    case "convInputDirectF64":
      // the offset tables (k, pixel pairs), alignment, the weights per
      // block of MR k's (broadcast), y packed, a block's rows
      return 4 * k + 2 * P + 16 +
        16 * MR * og * g.groups * Math.ceil(k / MR) + 8 * og * P +
        8 * MR * P;
    case "convDirectF64":
      // the offset table, alignment, the weights in blocks of MR channels
      // (each value broadcast to a vector)
      return 4 * k + 16 + 16 * MR * k * g.groups * Math.ceil(og / MR);
    case "convWeightRows":
      return 4 * k; // the k offset table
    case "convWeightDirect":
      // the k and pixel offset tables, alignment, y packed as [pixels, og to 8]
      return 4 * (k + P) + 16 + 4 * P * roundUp(og, NR);
    case "convInputSparse": {
      // the pixels' window starts, the byte selections, the list (and
      // its last whole store), the packed weights, xt (each 16-aligned)
      const cp = roundUp(g.c / g.groups, 4);
      return 4 * P + 16 + 256 + 8 * P + 32 + 16 +
        4 * og * g.kh * g.kw * cp + 16 + 4 * g.h * g.w * cp;
    }
    case "convWeightSparse":
      // the pixel offsets, the rows' offsets (to 6), alignment, the
      // list's byte selections, the list (and its last whole store)
      return 4 * P + 4 * sparseRows(g) + 16 + 256 + 8 * P + 32;
    case "convDirect":
    case "convDirectC": {
      // the offset table and (16-aligned) the weights in panels of 6
      // channels (each broadcast to 4 lanes; then a panel's 6 bias
      // vectors) or 8 channels
      const panel = fn === "convDirect" ? MR : NR;
      const weights = 16 + (fn === "convDirect" ? 16 * MR : 0) + 4 * k *
          (1 + (fn === "convDirect" ? 4 : 1) * g.groups * roundUp(og, panel));
      // convDirectC: the pixel offset table and one image's group of x,
      // broadcast, each 16-aligned
      return weights +
        (fn === "convDirectC"
          ? 4 * P + 16 * (g.c / g.groups) * g.h * g.w + 32 +
            8 * (g.c / g.groups) // the ranges of k
          : 0);
    }
    default:
      // a band's columns, slack, alignment, GEMM scratch
      return k * bandRows(g, elemBytes(fn)) * g.ow * elemBytes(fn) + 16 + 64 +
        GEMM_WORK;
  }
}

/**
 * The image ranges of `fn`'s tasks. A kernel that sums over images gets a
 * fixed number of ranges that depends on the shapes only (its partial sums
 * are then added in one fixed order, so the result is the same bits for
 * every thread count); the others, whose tasks write disjoint outputs, split
 * by the thread setting (several tasks per thread for small scratch).
 */
function imageParts(
  rt: WasmRuntime,
  g: ConvGeometry,
  fn: ConvKernel,
): readonly (readonly [number, number])[] {
  return convMacs(g) < PARALLEL_MIN_MACS || sumsImages(fn)
    ? fixedParts(g)
    : rt.split(g.n, 1, workBytes(fn, g) <= 1 << 20 ? 4 : 1, true);
}

/**
 * The image ranges that depend on the shapes alone: all images in one task
 * for a small convolution, else `WEIGHT_PARTS` ranges (the kernels that
 * sum over images).
 */
const fixedParts = perGeometry(
  (g): readonly (readonly [number, number])[] => {
    if (convMacs(g) < PARALLEL_MIN_MACS) return [[0, g.n]];
    const parts = Math.min(g.n, WEIGHT_PARTS), out: [number, number][] = [];
    for (let i = 0; i < parts; i++) {
      out.push([
        Math.floor((g.n * i) / parts),
        Math.floor((g.n * (i + 1)) / parts),
      ]);
    }
    return out;
  },
);

/** Bytes `runConv` allocates for its records, scratch and tables (accumulators: `accBytes` per task). */
function runBytes(
  rt: WasmRuntime,
  g: ConvGeometry,
  fn: ConvKernel,
  accBytes = 0,
): number {
  const bands = isIm2col(fn) ? Math.ceil(g.oh / bandRows(g, elemBytes(fn))) : 1;
  const tasks = imageParts(rt, g, fn).length;
  // (the accumulators are one block: see runConv)
  const accs = accBytes > 0 ? alignUp(tasks * bytesFor(accBytes / 4) + 16) : 0;
  return bytesFor(bands * CONV_FIELDS.length) +
    tasks * alignUp(workBytes(fn, g) + 16) + accs;
}

/** The addresses of a convolution's arrays in the runtime's memory (0: none), and its `act`. */
interface ConvArrays {
  x: number;
  wt: number;
  y: number;
  bias: number;
  act?: number;
  skip?: number;
}

/**
 * Copies the geometry record into the runtime's memory and runs `fn` over
 * the images, split over threads when large (see `imageParts`); an im2col
 * kernel runs band by band of output rows (see `bandRows`), each band's
 * tasks writing their own scratch. With `accFloats`, each task also gets a
 * zeroed accumulator of that many floats to add into (a weight gradient);
 * `extra` are further arguments, the same for every task. Returns the
 * tasks' accumulators (a scratch array, valid until the next call).
 */
function runConv(
  rt: WasmRuntime,
  g: ConvGeometry,
  arrays: ConvArrays,
  fn: ConvKernel,
  extra: readonly number[] = NONE,
  accFloats = 0,
): readonly number[] {
  const parts = imageParts(rt, g, fn), nt = parts.length;
  // (kernels are synchronous and never re-entered: the scratch arrays of
  // the module serve every call; they hold at most `nt` numbers each)
  for (let t = 0; t < nt; t++) works[t] = rt.alloc(workBytes(fn, g));
  // the accumulators: one block zeroed by one call (a call per task cost
  // more than the zeroing), each task's aligned as `alloc` aligns
  const stride = accFloats > 0 ? bytesFor(accFloats) : 0;
  const block = stride > 0 ? rt.alloc(stride * nt) : 0;
  if (stride > 0) rt.exports.zero(block, stride * nt);
  for (let t = 0; t < nt; t++) accs[t] = stride > 0 ? block + t * stride : 0;
  works.length = accs.length = nt;
  const tasks = taskLists(nt);
  const rows = isIm2col(fn) ? bandRows(g, elemBytes(fn)) : g.oh;
  for (let oy0 = 0; oy0 < g.oh; oy0 += rows) {
    const rec = rt.alloc(CONV_FIELDS.length * 4);
    writeRecord(
      rt.i32,
      rec,
      band(g, oy0, rows),
      arrays,
      arrays.y + elemBytes(fn) * oy0 * g.ow,
      g.oh * g.ow,
    );
    for (let t = 0; t < nt; t++) {
      // each task's arguments: the record, its images, scratch,
      // accumulator, the extra ones
      const a = tasks[t];
      let k = 0;
      a[k++] = rec;
      a[k++] = parts[t][0];
      a[k++] = parts[t][1];
      a[k++] = works[t];
      if (accFloats > 0) a[k++] = accs[t];
      for (let e = 0; e < extra.length; e++) a[k++] = extra[e];
      a.length = k;
    }
    rt.parallel(fn, tasks);
  }
  return accs;
}

/** No extra arguments. */
const NONE: readonly number[] = [];

/** `runConv`'s scratch: the tasks' scratch and accumulator addresses. */
const works: number[] = [], accs: number[] = [];

/**
 * Writes the record of CONV_FIELDS at `at`: the geometry of band `b`, the
 * arrays' addresses, y's address `y` (the band's start) and plane stride
 * `yp`.
 */
function writeRecord(
  i32: Int32Array,
  at: number,
  b: ConvGeometry,
  arrays: ConvArrays,
  y: number,
  yp: number,
): void {
  for (let i = 0; i < CONV_FIELDS.length; i++) {
    const f = CONV_FIELDS[i];
    i32[(at >> 2) + i] = f === "y"
      ? y
      : f === "yp"
      ? yp
      : f === "act"
      ? arrays.act ?? 0
      : f === "skip"
      ? arrays.skip ?? 0
      : f === "x" || f === "wt" || f === "bias"
      ? arrays[f]
      : b[f];
  }
}

/** The fields of a {@linkcode ConvGeometry}: n, then the record's up to groups. */
const GEOMETRY_FIELDS = [
  "n",
  ...CONV_FIELDS.slice(0, CONV_FIELDS.indexOf("groups") + 1),
] as readonly (keyof ConvGeometry)[];

/**
 * `f` memoized on the last few geometries it was called with, compared
 * field by field (no key to build: the ops make a new geometry object per
 * call). What `f` returns is shared by every later call: never change it.
 */
function perGeometry<T>(f: (g: ConvGeometry) => T): (g: ConvGeometry) => T {
  const keys: ConvGeometry[] = [], values: T[] = [];
  return (g) => {
    for (let i = 0; i < keys.length; i++) {
      let same = true;
      for (let j = 0; j < GEOMETRY_FIELDS.length && same; j++) {
        same = keys[i][GEOMETRY_FIELDS[j]] === g[GEOMETRY_FIELDS[j]];
      }
      if (same) return values[i];
    }
    if (keys.length >= 16) {
      keys.shift();
      values.shift();
    }
    keys.push({ ...g });
    values.push(f(g));
    return values[values.length - 1];
  };
}

/** a rounded up to a multiple of b. */
const roundUp = (a: number, b: number) => Math.ceil(a / b) * b;

/** True when every window lies inside x (no padding read), and there is at least one. */
function inside(g: ConvGeometry): boolean {
  return g.pt === 0 && g.pl === 0 && g.oh > 0 && g.ow > 0 &&
    (g.oh - 1) * g.sh + (g.kh - 1) * g.dh < g.h &&
    (g.ow - 1) * g.sw + (g.kw - 1) * g.dw < g.w;
}

/**
 * The geometry on x padded so that every window lies inside it (padding
 * top/left moved into x, and rows/columns added where windows overrun the
 * bottom/right), or null when no window touches padding already.
 */
const paddedGeometry = perGeometry((g): ConvGeometry | null => {
  if (inside(g)) return null;
  const h = Math.max(g.pt + g.h, (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1);
  const w = Math.max(g.pl + g.w, (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1);
  return { ...g, h, w, pt: 0, pl: 0 };
});

/**
 * Copies float32 x into the runtime's memory, zero-padded to `gp` (see
 * {@linkcode paddedGeometry}); returns its address.
 */
function putPadded(
  rt: WasmRuntime,
  x: Float32Array,
  g: ConvGeometry,
  gp: ConvGeometry,
): number {
  const src = rt.put(x), dst = rt.zeros(g.n * g.c * gp.h * gp.w);
  rt.exports.padPlanes(src, dst, g.n * g.c, g.h, g.w, gp.h, gp.w, g.pt, g.pl);
  return dst;
}

/**
 * How the forward convolution runs: directly on x (no im2col) when every
 * window lies inside x (no padding) — "convDirect" (8 outputs of a row × 6
 * channels at a time; stride 1 along x, rows of at least 8) or
 * "convDirectC" (6 output pixels × 8 channels; any stride) — whichever
 * wastes less on partial blocks, if that is under 25% more than the GEMM
 * wastes on its partial tiles of 6 channels; else im2col and GEMM.
 */
function forwardKernel(
  g: ConvGeometry,
): "convDirect" | "convDirectC" | "convForward" {
  if (!inside(g)) return "convForward";
  const og = g.o / g.groups;
  const rows = g.sw === 1 && g.ow >= 8
    ? (roundUp(g.ow, 8) / g.ow) * (roundUp(og, MR) / og)
    : Infinity;
  const chans = g.oh * g.ow >= MR ? roundUp(og, NR) / og : Infinity;
  // the GEMM wastes roundUp(og, 6) / og on its partial row tiles too
  if (Math.min(rows, chans) > 1.25 * (roundUp(og, MR) / og)) {
    return "convForward";
  }
  return rows <= chans ? "convDirect" : "convDirectC";
}

/**
 * A new output array of `n` for these inputs: float32 when all are float32,
 * else float64.
 */
function newOut(n: number, ...arrays: (TypedArray | null)[]): TypedArray {
  return allocData(
    arrays.every((a) => a === null || a instanceof Float32Array)
      ? "float32"
      : "float64",
    n,
  );
}

/**
 * How a WebAssembly convolution runs: the kernel, the geometry it runs on
 * (x zero-padded for the direct kernels, or not), and the bytes it
 * allocates in all.
 */
interface ConvPlan {
  fn: ConvKernel;
  g: ConvGeometry;
  bytes: number;
}

/**
 * The first of the plans (fastest first) whose bytes fit the runtime's
 * memory, or null: the caller then runs the TypeScript kernel, which needs
 * no WebAssembly memory. A direct kernel is offered only while its scratch
 * stays small; the im2col kernels' scratch is bounded by `bandRows`.
 */
function choosePlan(
  rt: WasmRuntime,
  first: ConvPlan | null,
  second: ConvPlan,
): ConvPlan | null {
  return first !== null && rt.fits(first.bytes)
    ? first
    : rt.fits(second.bytes)
    ? second
    : null;
}

/** A direct kernel's plan, or null when its scratch per task is too large. */
function directPlan(
  fn: ConvKernel,
  g: ConvGeometry,
  bytes: number,
): ConvPlan | null {
  return isIm2col(fn) || workBytes(fn, g) > convLimits.directWorkBytes
    ? null
    : { fn, g, bytes };
}

/** The shapes of a convolution, for the runtime's out-of-memory error. */
function shapesOf(g: ConvGeometry): () => string {
  return () =>
    ` (x [${g.n},${g.c},${g.h},${g.w}], weight [${g.o},${
      g.c / g.groups
    },${g.kh},${g.kw}], output [${g.n},${g.o},${g.oh},${g.ow}])`;
}

/** Elements of x zero-padded to gp (0 when gp is g: no copy). */
const paddedSize = (g: ConvGeometry, gp: ConvGeometry) =>
  gp === g ? 0 : g.n * g.c * gp.h * gp.w;

/**
 * y [n, o, oh, ow] = conv(x [n, c, h, w], w [o, c/groups, kh, kw]) (+ bias
 * [o]), written into `out` when given, else into a new array (float32 when
 * every input is float32, else float64).
 */
export function conv2dForward(
  x: TypedArray,
  w: TypedArray,
  bias: TypedArray | null,
  g: ConvGeometry,
  out?: TypedArray,
): TypedArray {
  return convForwardAct(x, w, bias, g, false, out);
}

/**
 * relu(conv2dForward(x, w, bias, g)) as a new array, the same bits: the
 * direct float32 kernels apply relu to each output as they store it (the
 * fused epilogue of `jit`), the others run the relu kernel after.
 */
export function conv2dForwardRelu(
  x: TypedArray,
  w: TypedArray,
  bias: TypedArray | null,
  g: ConvGeometry,
): TypedArray {
  return convForwardAct(x, w, bias, g, true);
}

/** True when `a` holds a -0 (a sum starting there would turn +0 where a +0 product is left out). */
function hasNegativeZero(a: TypedArray | null): boolean {
  if (a) {
    for (let i = 0; i < a.length; i++) if (Object.is(a[i], -0)) return true;
  }
  return false;
}

/** relu(y) when `relu`, else y. */
const reluIf = (relu: boolean, y: TypedArray) => relu ? ew.relu(y) : y;

/** conv2dForward, with relu applied to its outputs when `relu` (then without `out`). */
function convForwardAct(
  x: TypedArray,
  w: TypedArray,
  bias: TypedArray | null,
  g: ConvGeometry,
  relu: boolean,
  out?: TypedArray,
): TypedArray {
  const n = g.n * g.o * g.oh * g.ow;
  const rt = runtime();
  const io64 = bytesFor(
    2 * x.length,
    2 * w.length,
    2 * (bias?.length ?? 0),
    2 * n,
  );
  const plan64 = useWasmF64(g, x, w, bias, out ?? null) &&
    choosePlan(
      rt,
      directF64(g)
        ? directPlan(
          "convDirectF64",
          g,
          io64 + runBytes(rt, g, "convDirectF64"),
        )
        : null,
      {
        fn: "convForwardF64",
        g,
        bytes: io64 + runBytes(rt, g, "convForwardF64"),
      },
    );
  if (plan64) {
    rt.reset("conv2d", shapesOf(g));
    const arrays = {
      x: rt.putF64(x as Float64Array),
      wt: rt.putF64(w as Float64Array),
      bias: bias ? rt.putF64(bias as Float64Array) : 0,
      y: rt.alloc(8 * n),
    };
    runConv(rt, g, arrays, plan64.fn);
    return reluIf(
      relu,
      out
        ? rt.readF64(arrays.y, n, out as Float64Array)
        : rt.resultF64(arrays.y, n),
    );
  }
  // with padding, the direct kernels run on a padded copy of x
  const gp = paddedGeometry(g) ?? g;
  const io = bytesFor(x.length, w.length, bias?.length ?? 0, n);
  const plan = useWasm(g, x, w, bias, out ?? null) && choosePlan(
    rt,
    directPlan(
      forwardKernel(gp),
      gp,
      io + bytesFor(paddedSize(g, gp)) + runBytes(rt, gp, forwardKernel(gp)),
    ),
    { fn: "convForward", g, bytes: io + runBytes(rt, g, "convForward") },
  );
  if (!plan) {
    return reluIf(
      relu,
      conv2dForwardRef(x, w, bias, g, out ?? newOut(n, x, w)),
    );
  }
  rt.reset("conv2d", shapesOf(g));
  // the direct kernels apply relu as they store (the record's act)
  const act = relu && plan.fn !== "convForward";
  const arrays = {
    x: plan.g === g
      ? rt.put(x as Float32Array)
      : putPadded(rt, x as Float32Array, g, plan.g),
    wt: rt.put(w as Float32Array),
    bias: bias ? rt.put(bias as Float32Array) : 0,
    y: rt.alloc(n * 4),
    act: act ? 1 : 0,
    skip: convLimits.skipZeros && !hasNegativeZero(bias) ? 1 : 0,
  };
  runConv(rt, plan.g, arrays, plan.fn);
  const y = out
    ? rt.readF32(arrays.y, n, out as Float32Array)
    : rt.result(arrays.y, n);
  return relu && !act ? ew.relu(y) : y;
}

/**
 * x [n, c, h, w] = the transpose of conv in x, applied to y [n, o, oh, ow]
 * (into `out` when given, else a new array, as {@linkcode conv2dForward}).
 */
export function conv2dInputAdjoint(
  y: TypedArray,
  w: TypedArray,
  g: ConvGeometry,
  out?: TypedArray,
): TypedArray {
  const n = g.n * g.c * g.h * g.w;
  const rt = runtime();
  const io64 = bytesFor(2 * y.length, 2 * w.length, 2 * n);
  const plan64 = useWasmF64(g, y, w, out ?? null) &&
    choosePlan(
      rt,
      inside(g) && g.sw === 1 && g.ow % 2 === 0 &&
        (g.c / g.groups) * g.kh * g.kw >= MR
        ? directPlan(
          "convInputDirectF64",
          g,
          io64 + runBytes(rt, g, "convInputDirectF64"),
        )
        : null,
      {
        fn: "convInputAdjointF64",
        g,
        bytes: io64 + runBytes(rt, g, "convInputAdjointF64"),
      },
    );
  if (plan64) {
    rt.reset("convTranspose2d (conv2d's input gradient)", shapesOf(g));
    const arrays = {
      y: rt.putF64(y as Float64Array),
      wt: rt.putF64(w as Float64Array),
      bias: 0,
      x: rt.zeros(2 * n),
    };
    runConv(rt, g, arrays, plan64.fn);
    return rt.readF64(arrays.x, n, out as Float64Array | undefined);
  }
  // the direct kernel (stride 1 along x) adds into x padded so that every
  // window lies inside it
  const gp = paddedGeometry(g) ?? g;
  const kk = (g.c / g.groups) * g.kh * g.kw;
  const plan = useWasm(g, y, w, out ?? null) &&
    choosePlan(
      rt,
      g.sw === 1 && g.ow >= 4
        ? directPlan(
          "convInputDirect",
          gp,
          bytesFor(
            y.length,
            g.n * g.c * gp.h * gp.w,
            4 * g.groups * roundUp(kk, MR) * (g.o / g.groups), // packPanels
            24 + kk + 3 * (g.oh * Math.ceil(g.ow / 4) + 2), // the tables
          ) + Math.max(
            runBytes(rt, gp, "convInputDirect"),
            runBytes(rt, gp, "convInputSparse"),
          ),
        )
        : null,
      {
        fn: "convInputAdjoint",
        g,
        bytes: bytesFor(y.length, w.length, n) +
          runBytes(rt, g, "convInputAdjoint"),
      },
    );
  if (!plan) return conv2dInputAdjointRef(y, w, g, out ?? newOut(n, y, w));
  rt.reset("convTranspose2d (conv2d's input gradient)", shapesOf(g));
  if (plan.fn === "convInputDirect") {
    const padded = gp !== g, hp = gp.h, wp = gp.w;
    const arrays = {
      y: rt.put(y as Float32Array),
      wt: 0,
      bias: 0,
      // (zeroed by the kernel, image by image)
      x: rt.alloc(4 * g.n * g.c * hp * wp),
    };
    const wa = rt.put(w as Float32Array);
    if (
      gp.dw === 1 && convLimits.inputSparseDensity >= 0 &&
      isSparse(
        rt,
        arrays.y,
        y.length,
        wa,
        w.length,
        convLimits.inputSparseDensity,
      )
    ) {
      runConv(rt, gp, arrays, "convInputSparse", [wa]);
    } else {
      const panels = packPanels(rt, w as Float32Array, gp);
      const tabs = inputDirectTables(rt, gp);
      runConv(rt, gp, arrays, "convInputDirect", [
        panels.at,
        tabs.ktab,
        tabs.vtab,
        tabs.vend,
        panels.finite && convLimits.skipZeros ? 1 : 0,
      ]);
    }
    if (!padded) {
      return out
        ? rt.readF32(arrays.x, n, out as Float32Array)
        : rt.copyOut(arrays.x, n);
    }
    const r = out ?? allocData("float32", n), f = rt.f32;
    for (let pl = 0, d = 0; pl < g.n * g.c; pl++) {
      for (let yy = 0; yy < g.h; yy++) {
        const s = (arrays.x >> 2) + (pl * hp + yy + g.pt) * wp + g.pl;
        for (let xx = 0; xx < g.w; xx++) r[d++] = f[s + xx];
      }
    }
    return r;
  }
  const arrays = {
    y: rt.put(y as Float32Array),
    wt: rt.put(w as Float32Array),
    bias: 0,
    x: rt.zeros(n),
  };
  runConv(rt, g, arrays, "convInputAdjoint");
  return out
    ? rt.readF32(arrays.x, n, out as Float32Array)
    : rt.copyOut(arrays.x, n);
}

/**
 * The weights of each group in panels of 6 k = (ci, i, j), for
 * `convInputDirect`: [groups, kk to 6 / 6, og, 6, 4], zero past the last k,
 * each weight broadcast to a vector of 4 copies (read with plain vector
 * loads: see packA in `wasm/gen/matmul.ts`), written into memory by the
 * `packPanels` kernel; returns the address and whether the weights are
 * finite (their sum is: see the kernel).
 */
function packPanels(
  rt: WasmRuntime,
  w: Float32Array,
  g: ConvGeometry,
): { at: number; finite: boolean } {
  const og = g.o / g.groups, cg = g.c / g.groups;
  const at = rt.alloc(16 * g.groups * roundUp(cg * g.kh * g.kw, MR) * og);
  const fin = rt.alloc(4), tab = rt.alloc(4 * cg * g.kh * g.kw);
  rt.i32.set(kOrder(g), tab >> 2);
  rt.exports.packPanels(rt.put(w), cg, g.kh, g.kw, og, g.groups, at, fin, tab);
  return { at, finite: rt.i32[fin >> 2] === 1 };
}

/**
 * The order of the k = (ci, i, j) in `convInputDirect`'s panels: ci fastest,
 * then i, then j, so that a panel's 6 k rarely add into overlapping x
 * (a store then an overlapping load stalls: the store cannot forward).
 */
const kOrder = perGeometry((g): Int32Array => {
  const cg = g.c / g.groups, order: number[] = [];
  for (let j = 0; j < g.kw; j++) {
    for (let i = 0; i < g.kh; i++) {
      for (let ci = 0; ci < cg; ci++) order.push((ci * g.kh + i) * g.kw + j);
    }
  }
  return Int32Array.from(order);
});

/**
 * The tables of `convInputDirect` in the memory: four lane masks (the first
 * m lanes off, m = 0..3) and an all-off one; the address where the split
 * pairs start (below); the x offset (bytes) of each k = (ci, i, j); and the
 * plane's vectors of 4 outputs in pairs (offset in y, offset in x, mask
 * address), an odd one out paired with an all-off copy of itself. Each
 * row's last vector is moved back to end at the row's end, with the lanes
 * already covered off; or, when rows end in 2 outputs and no two k of a
 * panel add into the same plane of x (so that no x adds two of a panel's
 * sums, and the order of the pairs within a panel changes no sum), those
 * ends go in split vectors after the whole ones: rows r and r + 1's last
 * two outputs (r = 0, 2, ...; the last pair of rows moved back to end at
 * the last row, the lanes already covered off), read from the kernel's
 * packed copy of them (the offset in y is the offset there), lanes 2-3
 * added one output row below lanes 0-1 in x. LeNet's second layer (rows of
 * 10): 13 pairs a panel instead of 15. Returns the addresses.
 */
function inputDirectTables(
  rt: WasmRuntime,
  g: ConvGeometry,
): { ktab: number; vtab: number; vend: number } {
  // the tables as if at address 0 (the same for every call on g), then
  // moved to where they are: every mask address and the split pairs' start
  const { size, tab, vtab } = directTables(g);
  const at = rt.alloc(4 * size), i32 = rt.i32, base = at >> 2;
  i32.set(tab, base);
  i32[base + 23] += at;
  for (let q = vtab + 2; q < tab.length; q += 3) i32[base + q] += at;
  return { ktab: at + 96, vtab: at + 4 * vtab, vend: at + 4 * tab.length };
}

/**
 * `inputDirectTables` at address 0: the words to write (`tab`), the words
 * to allocate (`size`) and where the pairs start (`vtab`).
 */
const directTables = perGeometry((g) => {
  const order = kOrder(g);
  const cg = g.c / g.groups, kk = cg * g.kh * g.kw, khw = g.kh * g.kw;
  const full = Math.floor(g.ow / 4), perRow = full + (g.ow % 4 ? 1 : 0);
  // every panel's k in distinct planes (ci)
  let distinct = true;
  for (let a = 0; a < kk; a++) {
    for (let b = a - (a % MR); b < a; b++) {
      if (Math.floor(order[a] / khw) === Math.floor(order[b] / khw)) {
        distinct = false;
      }
    }
  }
  const split = g.ow % 4 === 2 && g.oh >= 2 && distinct;
  const size = 24 + kk + 3 * (g.oh * perRow + 2);
  const i32 = new Int32Array(size);
  for (let m = 0; m <= 4; m++) {
    for (let l = 0; l < 4; l++) i32[4 * m + l] = l < m ? 0 : -1;
  }
  let q = 24;
  for (const k of order) {
    const ci = Math.floor(k / (g.kh * g.kw)), i = Math.floor(k / g.kw) % g.kh;
    i32[q++] = 4 * ((ci * g.h + i * g.dh) * g.w + (k % g.kw) * g.dw);
  }
  // pairs up an odd one out with an all-off copy of itself
  const even = (from: number) => {
    if ((q - from) % 6) {
      i32[q] = i32[q - 3];
      i32[q + 1] = i32[q - 2];
      i32[q + 2] = 16 * 4;
      q += 3;
    }
  };
  // column-major (rows fastest), so a pair's two vectors lie in different
  // rows (when there are two) and never overlap; or, when a panel's sums
  // go to distinct planes (so the pairs' order changes no sum), row-major:
  // a pair's two vectors side by side in a row (8 outputs, four halves of
  // max pooling's windows, which leaves fewer pairs all zero than two rows
  // of 4 do; a row's last vector, moved back, may overlap the one before:
  // its lanes already covered are off)
  const vtab = q, vecs = split ? full : perRow;
  for (let t = 0; t < vecs * g.oh; t++) {
    const oy = distinct ? Math.floor(t / vecs) : t % g.oh;
    const v = distinct ? t % vecs : Math.floor(t / g.oh);
    const ox = Math.min(4 * v, g.ow - 4), m = 4 * v - ox;
    i32[q++] = 4 * (oy * g.ow + ox);
    i32[q++] = 4 * (oy * g.sh * g.w + ox);
    i32[q++] = 16 * m;
  }
  even(vtab);
  const vsplit = q;
  if (split) {
    for (let s = 0; s < Math.ceil(g.oh / 2); s++) {
      const r = Math.min(2 * s, g.oh - 2);
      i32[q++] = 16 * s;
      i32[q++] = 4 * (r * g.sh * g.w + g.ow - 2);
      i32[q++] = 32 * (2 * s - r); // lanes 0-1 off when moved back
    }
    even(vsplit);
  }
  i32[23] = 4 * vsplit;
  return { size, tab: i32.slice(0, q), vtab };
});

/**
 * How the weight gradient runs: when no window touches padding, directly on
 * x — "convWeightDirect" (tiles of 6 k × 8 channels) or, for stride 1 along
 * x and rows of at least 4, "convWeightRows" (6 channels × 2 k, pixels in
 * the lanes) — whichever wastes less on partial tiles; else im2col and GEMM.
 */
function weightKernel(
  g: ConvGeometry,
): "convWeightDirect" | "convWeightRows" | "convWeightAdjoint" {
  if (!inside(g)) return "convWeightAdjoint";
  const og = g.o / g.groups, kk = (g.c / g.groups) * g.kh * g.kw;
  const direct = (roundUp(kk, MR) / kk) * (roundUp(og, NR) / og);
  const rows = g.sw === 1 && g.ow >= 4
    ? (roundUp(og, MR) / og) * (roundUp(kk, 2) / kk) * (roundUp(g.ow, 4) / g.ow)
    : Infinity;
  return rows < direct ? "convWeightRows" : "convWeightDirect";
}

/**
 * True when `convWeightSparse` can stand in for the direct weight kernels
 * on geometry g (windows inside x): no dilation along x, windows 4 to 8
 * wide. For `convWeightDirect` it gives the same bits; for
 * `convWeightRows` other roundings (it sums each weight's pixels in 4
 * lanes): which kernel runs depends on y's zeros, the same for the same
 * arrays (so `jit`'s replay matches the eager step).
 */
const sparseApplies = (g: ConvGeometry) => g.dw === 1 && g.kw >= 4 && g.kw <= 8;

/** The rows of the window of `convWeightSparse`'s tiles: (c / groups)·kh rounded up to 6. */
const sparseRows = (g: ConvGeometry) => roundUp((g.c / g.groups) * g.kh, 6);

/**
 * Whether y (at `ya` in memory, `ny` floats) is sparse enough for
 * `convWeightSparse` (at most `convLimits.sparseDensity` of its samples
 * nonzero: see {@linkcode sparseSamples}) and x (at `xa`, `nx` floats) is
 * finite (where y is zero, `convWeightDirect` multiplies x by zero: an
 * infinite or NaN x makes NaN, which leaving the zeros out would lose).
 * One pass over x and an eighth of y (`sparseStats`).
 */
function isSparse(
  rt: WasmRuntime,
  ya: number,
  ny: number,
  xa: number,
  nx: number,
  density = convLimits.sparseDensity,
): boolean {
  const { nonzero, finite } = sparseStats(rt, ya, ny, xa, nx);
  return finite && nonzero <= density * sparseSamples(ny);
}

/**
 * How many of n values `sparseStats` samples: the first 16 of each whole
 * block of SPARSE_SAMPLE (128), then every value after the last one.
 */
const sparseSamples = (n: number): number =>
  n - (SPARSE_SAMPLE - 16) * Math.floor(n / SPARSE_SAMPLE);

/**
 * A weight-gradient kernel's accumulator: its size (floats), the lanes
 * added into one weight, and the offset of dw[gr, c, k] in it: gr·gs +
 * c·cs + k·ks, or with `row` (the sparse kernel's rows of 8) gr·gs + c·cs
 * + 8·floor(k / row) + k % row.
 */
function accumulator(
  fn: ConvKernel,
  g: ConvGeometry,
): {
  size: number;
  lanes: number;
  gs: number;
  cs: number;
  ks: number;
  row?: number;
} {
  const og = g.o / g.groups, kk = (g.c / g.groups) * g.kh * g.kw;
  if (fn === "convWeightDirect") {
    // dwT [groups, kk to 6, og to 8]
    const kp = roundUp(kk, MR), op = roundUp(og, NR);
    return { size: g.groups * kp * op, lanes: 1, gs: kp * op, cs: 1, ks: op };
  }
  if (fn === "convWeightSparse") {
    // [groups, og, rows to 6, 8]: k = (r, j) at 8·r + j
    const rp = sparseRows(g);
    return {
      size: 8 * g.groups * og * rp,
      lanes: 1,
      gs: 8 * og * rp,
      cs: 8 * rp,
      ks: 1,
      row: g.kw,
    };
  }
  if (fn === "convWeightRows") {
    // [groups, kk to 2, og to 6, 4 lanes]
    const kp = roundUp(kk, 2), op = roundUp(og, MR);
    return {
      size: 4 * g.groups * kp * op,
      lanes: 4,
      gs: 4 * kp * op,
      cs: 4,
      ks: 4 * op,
    };
  }
  // dw itself
  return { size: g.o * kk, lanes: 1, gs: og * kk, cs: kk, ks: 1 };
}

/** The offset of each weight's lanes in kernel fn's accumulator, in dw's order (a table per kernel and geometry). */
function weightOffsets(fn: ConvKernel, g: ConvGeometry): Int32Array {
  let table = offsetTables.get(fn);
  if (!table) {
    table = perGeometry((g) => {
      const { gs, cs, ks, row } = accumulator(fn, g);
      const og = g.o / g.groups, kk = (g.c / g.groups) * g.kh * g.kw;
      const at = new Int32Array(g.o * kk);
      for (let gr = 0, i = 0; gr < g.groups; gr++) {
        for (let c = 0; c < og; c++) {
          for (let k = 0; k < kk; k++) {
            at[i++] = gr * gs + c * cs +
              (row ? 8 * Math.floor(k / row) + k % row : k * ks);
          }
        }
      }
      return at;
    });
    offsetTables.set(fn, table);
  }
  return table(g);
}

/** `weightOffsets`' tables by kernel. */
const offsetTables = new Map<ConvKernel, (g: ConvGeometry) => Int32Array>();

/** Bytes of a weight gradient's run with accumulators of `size` floats, their table, the weights' offsets in them and the weights (at most `size` each). */
function sumBytes(
  rt: WasmRuntime,
  fn: ConvKernel,
  g: ConvGeometry,
  size: number,
): number {
  return runBytes(rt, g, fn, 4 * size) + bytesFor(WEIGHT_PARTS, size, size);
}

/** w [o, c/groups, kh, kw] = the transpose of conv in w, applied to y, at x. */
export function conv2dWeightAdjoint(
  x: TypedArray,
  y: TypedArray,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const rt = runtime();
  const io64 = bytesFor(2 * x.length, 2 * y.length);
  const plan64 = useWasmF64(g, x, y, out) &&
    choosePlan(
      rt,
      directF64(g) && g.ow % 2 === 0
        ? directPlan(
          "convWeightDirectF64",
          g,
          io64 + runBytes(rt, g, "convWeightDirectF64", 8 * out.length),
        )
        : null,
      {
        fn: "convWeightAdjointF64",
        g,
        bytes: io64 + runBytes(rt, g, "convWeightAdjointF64", 8 * out.length),
      },
    );
  if (plan64) {
    rt.reset("conv2d's weight gradient", shapesOf(g));
    const arrays = {
      x: rt.putF64(x as Float64Array),
      y: rt.putF64(y as Float64Array),
      bias: 0,
      wt: 0,
    };
    // one zeroed accumulator (dw itself) per task, added in task order
    const dws = runConv(rt, g, arrays, plan64.fn, NONE, 2 * out.length);
    const total = rt.readF64(dws[0], out.length), f = rt.f64;
    for (let t = 1; t < dws.length; t++) {
      for (let i = 0, d = dws[t] >> 3; i < total.length; i++) {
        total[i] += f[d + i];
      }
    }
    out.set(total);
    return out;
  }
  // with padding, the direct kernels run at a padded copy of x
  const gp = paddedGeometry(g) ?? g;
  const io = bytesFor(x.length, y.length), fnD = weightKernel(gp);
  // (room for the sparse kernel too, when y may turn out sparse)
  const sparse = fnD !== "convWeightAdjoint" && sparseApplies(gp);
  const plan = useWasm(g, x, y, out) && choosePlan(
    rt,
    directPlan(
      fnD,
      gp,
      io + bytesFor(paddedSize(g, gp)) +
        Math.max(
          sumBytes(rt, fnD, gp, accumulator(fnD, gp).size),
          sparse
            ? sumBytes(
              rt,
              "convWeightSparse",
              gp,
              accumulator("convWeightSparse", gp).size,
            ) + 64
            : 0,
        ),
    ),
    {
      fn: "convWeightAdjoint",
      g,
      bytes: io + sumBytes(rt, "convWeightAdjoint", g, out.length),
    },
  );
  if (!plan) return conv2dWeightAdjointRef(x, y, g, out);
  rt.reset("conv2d's weight gradient", shapesOf(g));
  const arrays = {
    x: plan.g === g
      ? rt.put(x as Float32Array)
      : putPadded(rt, x as Float32Array, g, plan.g),
    y: rt.put(y as Float32Array),
    bias: 0,
    wt: 0,
  };
  const fn = plan.fn !== "convWeightAdjoint" && sparse &&
      isSparse(
        rt,
        arrays.y,
        y.length,
        arrays.x,
        paddedSize(g, plan.g) || x.length,
      )
    ? "convWeightSparse"
    : plan.fn;
  const { size, lanes } = accumulator(fn, g);
  // one zeroed accumulator per task (image range), summed at the end
  const dws = runConv(rt, plan.g, arrays, fn, NONE, size);
  // each weight's lanes of the tasks' accumulators, added in task order,
  // then lane order (float64)
  const table = rt.alloc(4 * dws.length), at = weightOffsets(fn, g);
  for (let t = 0; t < dws.length; t++) rt.i32[(table >> 2) + t] = dws[t];
  const ats = rt.alloc(4 * at.length), sums = rt.alloc(4 * at.length);
  rt.i32.set(at, ats >> 2);
  rt.exports.sumParts(table, dws.length, ats, at.length, lanes, sums);
  return rt.readF32(sums, at.length, out as Float32Array);
}

/**
 * The sizes the reference kernels share: og output channels per group,
 * K = (c / groups)·kh·kw rows of columns, P output pixels; a column buffer
 * and an [og, nb·band pixels] matrix for one chunk (see `chunking`).
 */
function refScratch(g: ConvGeometry) {
  const og = g.o / g.groups;
  const K = (g.c / g.groups) * g.kh * g.kw, P = g.oh * g.ow;
  const { nb, rows } = chunking(g), L = nb * rows * g.ow;
  return {
    og,
    K,
    P,
    cols: new Float64Array(K * L),
    rows: new Float64Array(og * L),
  };
}

/** The TypeScript reference of {@linkcode conv2dForward} (float64 accumulation). */
export function conv2dForwardRef(
  x: TypedArray,
  w: TypedArray,
  bias: TypedArray | null,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const { og, K, P, cols, rows: acc } = refScratch(g);
  const wg = Float64Array.from(w);
  forEachChunk(g, (n0, nb, band, yOff) => {
    const L = nb * band.oh * band.ow;
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, band, n0, nb, grp, cols, false);
      for (let o = 0; o < og; o++) {
        acc.fill(bias ? bias[grp * og + o] : 0, o * L, (o + 1) * L);
      }
      gemm(wg, grp * og * K, cols, 0, acc, 0, og, K, L, "nn");
      reorder(out, acc, band, n0, nb, grp, false, P, yOff);
    }
  });
  return out;
}

/** The TypeScript reference of {@linkcode conv2dInputAdjoint}. */
export function conv2dInputAdjointRef(
  y: TypedArray,
  w: TypedArray,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const { og, K, P, cols, rows: ym } = refScratch(g);
  const acc = new Float64Array(out.length);
  const wg = Float64Array.from(w);
  forEachChunk(g, (n0, nb, band, yOff) => {
    const L = nb * band.oh * band.ow;
    for (let grp = 0; grp < g.groups; grp++) {
      reorder(y, ym, band, n0, nb, grp, true, P, yOff);
      cols.fill(0, 0, K * L);
      gemm(wg, grp * og * K, ym, 0, cols, 0, K, og, L, "tn");
      im2col(acc, band, n0, nb, grp, cols, true);
    }
  });
  out.set(acc);
  return out;
}

/** The TypeScript reference of {@linkcode conv2dWeightAdjoint}. */
export function conv2dWeightAdjointRef(
  x: TypedArray,
  y: TypedArray,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const { og, K, P, cols, rows: ym } = refScratch(g);
  const acc = new Float64Array(out.length);
  forEachChunk(g, (n0, nb, band, yOff) => {
    const L = nb * band.oh * band.ow;
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, band, n0, nb, grp, cols, false);
      reorder(y, ym, band, n0, nb, grp, true, P, yOff);
      gemm(ym, 0, cols, 0, acc, grp * og * K, og, L, K, "nt");
    }
  });
  out.set(acc);
  return out;
}
