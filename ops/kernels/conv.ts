/**
 * Convolution kernels on NCHW typed arrays, through im2col and a matrix
 * product. The three kernels share one geometry and are each other's
 * adjoints, which is what the VJP rules use:
 *
 * - `conv2dForward(x, w)`            y[n,o]  = Σ w[o,c,i,j] · x[n,c, oy·s + i·d - p, ...]
 * - `conv2dInputAdjoint(y, w)`       the transpose of conv in x (a transposed convolution)
 * - `conv2dWeightAdjoint(x, y)`      the transpose of conv in w (the weight gradient)
 *
 * float32 convolutions run in WebAssembly (`wasm/_kernels.ts`), with the
 * images split over threads: the forward pass and the weight adjoint
 * directly on x when no window touches padding (see `forwardKernel`, and
 * `convWeightDirect` in `wasm/_kernels.ts`); the input adjoint directly
 * into x when the stride along x is 1 (`convInputDirect`; with padding,
 * into a padded x, then cropped); else per image and group im2col into a
 * [cg·kh·kw, oh·ow] matrix and one packed SIMD GEMM (for the input adjoint
 * Wᵀ·y, then col2im). The TypeScript versions (`...Ref`) serve float64 and are the
 * reference for the tests: there, images are processed in chunks whose
 * columns form one [cg·kh·kw, nb·oh·ow] matrix, so each group is one long
 * matrix product accumulated in float64.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";
import { gemmRef as gemm, PARALLEL_MIN_MACS } from "./matmul.ts";
import { CONV_FIELDS, MR, NR } from "./wasm/_kernels.ts";
import { GEMM_WORK, runtime, type WasmRuntime } from "./wasm/runtime.ts";

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

/** Images per chunk, so a chunk's column matrix stays near 2^21 numbers. */
function chunkSize(g: ConvGeometry): number {
  const per = (g.c / g.groups) * g.kh * g.kw * g.oh * g.ow;
  return Math.max(1, Math.min(g.n, Math.floor((1 << 21) / Math.max(per, 1))));
}

/**
 * Unfolds group `grp` of images n0..n0+nb into cols [cg·kh·kw, nb·oh·ow]
 * (or, with `back`, adds cols into x: im2col's transpose).
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
  const cg = g.c / g.groups, P = g.oh * g.ow, L = nb * P;
  for (let ci = 0; ci < cg; ci++) {
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const row = ((ci * g.kh + i) * g.kw + j) * L;
        for (let b = 0; b < nb; b++) {
          const plane = (((n0 + b) * g.c) + grp * cg + ci) * g.h * g.w;
          for (let oy = 0; oy < g.oh; oy++) {
            const y = oy * g.sh - g.pt + i * g.dh;
            const r = row + b * P + oy * g.ow;
            if (y < 0 || y >= g.h) {
              if (!back) cols.fill(0, r, r + g.ow);
              continue;
            }
            const base = plane + y * g.w;
            for (let ox = 0; ox < g.ow; ox++) {
              const xx = ox * g.sw - g.pl + j * g.dw;
              if (xx >= 0 && xx < g.w) {
                if (back) x[base + xx] += cols[r + ox];
                else cols[r + ox] = x[base + xx];
              } else if (!back) cols[r + ox] = 0;
            }
          }
        }
      }
    }
  }
}

/** Copies rows [o, nb·P] of a group into y [n, o, P] layout (or back, with `gather`). */
function reorder(
  y: TypedArray | Float64Array,
  m: Float64Array,
  g: ConvGeometry,
  n0: number,
  nb: number,
  grp: number,
  gather: boolean,
): void {
  const og = g.o / g.groups, P = g.oh * g.ow;
  for (let o = 0; o < og; o++) {
    for (let b = 0; b < nb; b++) {
      const src = o * nb * P + b * P, dst = ((n0 + b) * g.o + grp * og + o) * P;
      if (gather) { for (let p = 0; p < P; p++) m[src + p] = y[dst + p]; }
      else for (let p = 0; p < P; p++) y[dst + p] = m[src + p];
    }
  }
}

/** Multiply-adds of one convolution (any of the three). */
function convMacs(g: ConvGeometry): number {
  return g.n * g.o * g.oh * g.ow * (g.c / g.groups) * g.kh * g.kw;
}

/** True when every array is float32 and the work is worth the copies. */
function useWasm(g: ConvGeometry, ...arrays: (TypedArray | null)[]): boolean {
  return convMacs(g) >= runtime().minMacs &&
    arrays.every((a) => a === null || a instanceof Float32Array);
}

/**
 * Copies the inputs and the geometry record into the runtime's memory and
 * runs `fn` over the images, split over threads when large. Returns the
 * record's address, the tasks' scratch addresses, and the array addresses.
 */
function runConv(
  rt: WasmRuntime,
  g: ConvGeometry,
  arrays: { x: number; wt: number; y: number; bias: number },
  fn:
    | "convForward"
    | "convDirect"
    | "convDirectC"
    | "convInputAdjoint"
    | "convWeightAdjoint"
    | "convWeightDirect"
    | "convInputDirect"
    | "convWeightRows",
  extra: (task: number) => number[] = () => [],
): void {
  const rec = rt.alloc(CONV_FIELDS.length * 4);
  const fields: Record<string, number> = { ...g, ...arrays };
  const i32 = rt.i32;
  CONV_FIELDS.forEach((f, i) => (i32[(rec >> 2) + i] = fields[f]));
  const k = (g.c / g.groups) * g.kh * g.kw;
  const panel = fn === "convDirect" ? MR : NR;
  const work = fn === "convInputDirect" ? 0 : fn === "convWeightRows"
    ? 4 * k // the k offset table
    : fn === "convWeightDirect"
    // the k and pixel offset tables, alignment, y packed as [pixels, og to 8]
    ? 4 * (k + g.oh * g.ow) + 16 +
      4 * g.oh * g.ow * roundUp(g.o / g.groups, NR)
    : fn === "convDirect" || fn === "convDirectC"
    // the offset table and the weights in panels of 6 channels (each
    // broadcast to 4 lanes) or 8 channels
    ? 4 * k * (1 + (fn === "convDirect" ? 4 : 1) * g.groups *
            roundUp(g.o / g.groups, panel)) +
      // convDirectC: the pixel offset table and one image's group of x,
      // broadcast, each 16-aligned
      (fn === "convDirectC"
        ? 4 * g.oh * g.ow + 16 * (g.c / g.groups) * g.h * g.w + 32
        : 0)
    // columns, slack, alignment, GEMM scratch
    : k * g.oh * g.ow * 4 + 16 + 64 + GEMM_WORK;
  // small scratch: several tasks per thread, for balance
  const parts = convMacs(g) >= PARALLEL_MIN_MACS
    ? rt.split(g.n, 1, work <= 1 << 20 ? 4 : 1, !fn.startsWith("convWeight"))
    : [[0, g.n] as [number, number]];
  const tasks = parts.map(([n0, n1], t) => [
    rec,
    n0,
    n1,
    rt.alloc(work),
    ...extra(t),
  ]);
  rt.parallel(fn, tasks);
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
function paddedGeometry(g: ConvGeometry): ConvGeometry | null {
  if (inside(g)) return null;
  const h = Math.max(g.pt + g.h, (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1);
  const w = Math.max(g.pl + g.w, (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1);
  return { ...g, h, w, pt: 0, pl: 0 };
}

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
 * wastes less on partial blocks, if under 25%; else im2col and GEMM.
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
  if (Math.min(rows, chans) > 1.25) return "convForward";
  return rows <= chans ? "convDirect" : "convDirectC";
}

/**
 * A new output array of `n` for these inputs: float32 when all are float32,
 * else float64.
 */
function newOut(n: number, ...arrays: (TypedArray | null)[]): TypedArray {
  return arrays.every((a) => a === null || a instanceof Float32Array)
    ? new Float32Array(n)
    : new Float64Array(n);
}

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
  const n = g.n * g.o * g.oh * g.ow;
  if (!useWasm(g, x, w, bias, out ?? null)) {
    return conv2dForwardRef(x, w, bias, g, out ?? newOut(n, x, w));
  }
  const rt = runtime();
  rt.reset();
  // with padding, on a padded copy of x: the direct kernels then apply
  const gp = paddedGeometry(g) ?? g;
  const arrays = {
    x: gp === g
      ? rt.put(x as Float32Array)
      : putPadded(rt, x as Float32Array, g, gp),
    wt: rt.put(w as Float32Array),
    bias: bias ? rt.put(bias as Float32Array) : 0,
    y: rt.alloc(n * 4),
  };
  runConv(rt, gp, arrays, forwardKernel(gp));
  return out
    ? rt.readF32(arrays.y, n, out as Float32Array)
    : rt.result(arrays.y, n);
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
  if (!useWasm(g, y, w, out ?? null)) {
    return conv2dInputAdjointRef(y, w, g, out ?? newOut(n, y, w));
  }
  const rt = runtime();
  rt.reset();
  if (g.sw === 1 && g.ow >= 4) {
    // with padding, into x padded so that every window lies inside it
    const gp = paddedGeometry(g) ?? g, padded = gp !== g;
    const hp = gp.h, wp = gp.w;
    const arrays = {
      y: rt.put(y as Float32Array),
      wt: 0,
      bias: 0,
      x: rt.zeros(g.n * g.c * hp * wp),
    };
    const panels = rt.put(packPanels(w as Float32Array, gp));
    const tabs = inputDirectTables(rt, gp);
    runConv(
      rt,
      gp,
      arrays,
      "convInputDirect",
      () => [panels, tabs.ktab, tabs.vtab, tabs.vend],
    );
    if (!padded) {
      return rt.readF32(arrays.x, n, out as Float32Array | undefined);
    }
    const r = out ?? new Float32Array(n), f = rt.f32;
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
  return rt.readF32(arrays.x, n, out as Float32Array | undefined);
}

/**
 * The weights of each group in panels of 6 k = (ci, i, j), for
 * `convInputDirect`: [groups, kk to 6 / 6, og, 6, 4], zero past the last k,
 * each weight broadcast to a vector of 4 copies (read with plain vector
 * loads: see packA in `wasm/_kernels.ts`).
 */
function packPanels(w: Float32Array, g: ConvGeometry): Float32Array {
  const og = g.o / g.groups, kk = (g.c / g.groups) * g.kh * g.kw;
  const kp = roundUp(kk, MR);
  const r = new Float32Array(4 * g.groups * kp * og), order = kOrder(g);
  for (let grp = 0; grp < g.groups; grp++) {
    for (let kb = 0; kb < kp; kb += MR) {
      for (let o = 0; o < og; o++) {
        const dst = (grp * kp + kb) * og + o * MR;
        const src = (grp * og + o) * kk;
        for (let q = 0; q < MR && kb + q < kk; q++) {
          const v = w[src + order[kb + q]], d = 4 * (dst + q);
          for (let l = 0; l < 4; l++) r[d + l] = v;
        }
      }
    }
  }
  return r;
}

/**
 * The order of the k = (ci, i, j) in `convInputDirect`'s panels: ci fastest,
 * then i, then j, so that a panel's 6 k rarely add into overlapping x
 * (a store then an overlapping load stalls: the store cannot forward).
 */
function kOrder(g: ConvGeometry): number[] {
  const cg = g.c / g.groups, order: number[] = [];
  for (let j = 0; j < g.kw; j++) {
    for (let i = 0; i < g.kh; i++) {
      for (let ci = 0; ci < cg; ci++) order.push((ci * g.kh + i) * g.kw + j);
    }
  }
  return order;
}

/**
 * The tables of `convInputDirect` in the memory: four lane masks (the first
 * m lanes off, m = 0..3) and an all-off one; the x offset (bytes) of each
 * k = (ci, i, j); and the plane's vectors of 4 outputs in pairs (offset in
 * y, offset in x, mask address), each row's last vector moved back to end
 * at the row's end with the lanes already covered off, an odd one out
 * paired with an all-off copy of itself. Returns the addresses.
 */
function inputDirectTables(
  rt: WasmRuntime,
  g: ConvGeometry,
): { ktab: number; vtab: number; vend: number } {
  const cg = g.c / g.groups, kk = cg * g.kh * g.kw;
  const full = Math.floor(g.ow / 4), perRow = full + (g.ow % 4 ? 1 : 0);
  let nv = g.oh * perRow;
  nv += nv & 1;
  const at = rt.alloc(4 * (20 + kk + 3 * nv)), i32 = rt.i32, base = at >> 2;
  for (let m = 0; m <= 4; m++) {
    for (let l = 0; l < 4; l++) i32[base + 4 * m + l] = l < m ? 0 : -1;
  }
  let q = base + 20;
  for (const k of kOrder(g)) {
    const ci = Math.floor(k / (g.kh * g.kw)), i = Math.floor(k / g.kw) % g.kh;
    i32[q++] = 4 * ((ci * g.h + i * g.dh) * g.w + (k % g.kw) * g.dw);
  }
  // column-major (rows fastest), so a pair's two vectors lie in different
  // rows (when there are two) and never overlap
  const vtab = q;
  for (let v = 0; v < perRow; v++) {
    for (let oy = 0; oy < g.oh; oy++) {
      const ox = Math.min(4 * v, g.ow - 4), m = 4 * v - ox;
      i32[q++] = 4 * (oy * g.ow + ox);
      i32[q++] = 4 * (oy * g.sh * g.w + ox);
      i32[q++] = at + 16 * m;
    }
  }
  if ((q - vtab) % 6) {
    i32[q] = i32[q - 3];
    i32[q + 1] = i32[q - 2];
    i32[q + 2] = at + 16 * 4;
    q += 3;
  }
  return { ktab: 4 * (base + 20), vtab: 4 * vtab, vend: 4 * q };
}

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

/** w [o, c/groups, kh, kw] = the transpose of conv in w, applied to y, at x. */
export function conv2dWeightAdjoint(
  x: TypedArray,
  y: TypedArray,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  if (!useWasm(g, x, y, out)) return conv2dWeightAdjointRef(x, y, g, out);
  const rt = runtime();
  rt.reset();
  // with padding, at a padded copy of x: the direct kernels then apply
  const gp = paddedGeometry(g) ?? g;
  const arrays = {
    x: gp === g
      ? rt.put(x as Float32Array)
      : putPadded(rt, x as Float32Array, g, gp),
    y: rt.put(y as Float32Array),
    bias: 0,
    wt: 0,
  };
  const fn = weightKernel(gp);
  const cg = g.c / g.groups, og = g.o / g.groups, kk = cg * g.kh * g.kw;
  // each kernel's accumulator: the offset (floats) of dw[grp, c, k] and how
  // many lanes to add there
  const [size, lanes, at]: [
    number,
    number,
    (gr: number, c: number, k: number) => number,
  ] = fn === "convWeightDirect"
    // dwT [groups, kk to 6, og to 8]
    ? [
      g.groups * roundUp(kk, MR) * roundUp(og, NR),
      1,
      (gr, c, k) => (gr * roundUp(kk, MR) + k) * roundUp(og, NR) + c,
    ]
    : fn === "convWeightRows"
    // [groups, kk to 2, og to 6, 4 lanes]
    ? [
      4 * g.groups * roundUp(kk, 2) * roundUp(og, MR),
      4,
      (gr, c, k) => 4 * ((gr * roundUp(kk, 2) + k) * roundUp(og, MR) + c),
    ]
    // dw itself
    : [out.length, 1, (gr, c, k) => (gr * og + c) * kk + k];
  // one zeroed accumulator per task, summed at the end
  const dws: number[] = [];
  runConv(rt, gp, arrays, fn, (t) => {
    dws[t] = rt.zeros(size);
    return [dws[t]];
  });
  // the tasks' accumulators added into the first (float64), then read out
  const f = rt.f32,
    total = Float64Array.from(
      f.subarray(dws[0] >> 2, (dws[0] >> 2) + size),
    );
  for (let t = 1; t < dws.length; t++) {
    for (let i = 0, d = dws[t] >> 2; i < size; i++) total[i] += f[d + i];
  }
  for (let gr = 0; gr < g.groups; gr++) {
    for (let c = 0; c < og; c++) {
      for (let k = 0; k < kk; k++) {
        const base = at(gr, c, k);
        let sum = 0;
        for (let l = 0; l < lanes; l++) sum += total[base + l];
        out[(gr * og + c) * kk + k] = sum;
      }
    }
  }
  return out;
}

/**
 * The sizes the reference kernels share: og output channels per group,
 * K = (c / groups)·kh·kw rows of columns, P output pixels, chunks of nbMax
 * images; a column buffer and an [og, nbMax·P] matrix for one chunk.
 */
function refScratch(g: ConvGeometry) {
  const og = g.o / g.groups;
  const K = (g.c / g.groups) * g.kh * g.kw, P = g.oh * g.ow;
  const nbMax = chunkSize(g);
  return {
    og,
    K,
    P,
    nbMax,
    cols: new Float64Array(K * nbMax * P),
    rows: new Float64Array(og * nbMax * P),
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
  const { og, K, P, nbMax, cols, rows: acc } = refScratch(g);
  const wg = Float64Array.from(w);
  for (let n0 = 0; n0 < g.n; n0 += nbMax) {
    const nb = Math.min(nbMax, g.n - n0), L = nb * P;
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, g, n0, nb, grp, cols, false);
      for (let o = 0; o < og; o++) {
        acc.fill(bias ? bias[grp * og + o] : 0, o * L, (o + 1) * L);
      }
      gemm(wg, grp * og * K, cols, 0, acc, 0, og, K, L, "nn");
      reorder(out, acc, g, n0, nb, grp, false);
    }
  }
  return out;
}

/** The TypeScript reference of {@linkcode conv2dInputAdjoint}. */
export function conv2dInputAdjointRef(
  y: TypedArray,
  w: TypedArray,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const { og, K, P, nbMax, cols, rows: ym } = refScratch(g);
  const acc = new Float64Array(out.length);
  const wg = Float64Array.from(w);
  for (let n0 = 0; n0 < g.n; n0 += nbMax) {
    const nb = Math.min(nbMax, g.n - n0), L = nb * P;
    for (let grp = 0; grp < g.groups; grp++) {
      reorder(y, ym, g, n0, nb, grp, true);
      cols.fill(0, 0, K * L);
      gemm(wg, grp * og * K, ym, 0, cols, 0, K, og, L, "tn");
      im2col(acc, g, n0, nb, grp, cols, true);
    }
  }
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
  const { og, K, P, nbMax, cols, rows: ym } = refScratch(g);
  const acc = new Float64Array(out.length);
  for (let n0 = 0; n0 < g.n; n0 += nbMax) {
    const nb = Math.min(nbMax, g.n - n0), L = nb * P;
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, g, n0, nb, grp, cols, false);
      reorder(y, ym, g, n0, nb, grp, true);
      gemm(ym, 0, cols, 0, acc, grp * og * K, og, L, K, "nt");
    }
  }
  out.set(acc);
  return out;
}
