/**
 * Convolution kernels on NCHW typed arrays, through im2col and a matrix
 * product. The three kernels share one geometry and are each other's
 * adjoints, which is what the VJP rules use:
 *
 * - `conv2dForward(x, w)`            y[n,o]  = Σ w[o,c,i,j] · x[n,c, oy·s + i·d - p, ...]
 * - `conv2dInputAdjoint(y, w)`       the transpose of conv in x (a transposed convolution)
 * - `conv2dWeightAdjoint(x, y)`      the transpose of conv in w (the weight gradient)
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";
import { gemm } from "./matmul.ts";

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

/** Unfolds group `g` of image `n` of x into cols [cg·kh·kw, oh·ow]. */
function im2col(
  x: TypedArray,
  g: ConvGeometry,
  n: number,
  grp: number,
  cols: Float64Array,
): void {
  const cg = g.c / g.groups, P = g.oh * g.ow;
  for (let ci = 0; ci < cg; ci++) {
    const plane = ((n * g.c) + grp * cg + ci) * g.h * g.w;
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const row = ((ci * g.kh + i) * g.kw + j) * P;
        for (let oy = 0; oy < g.oh; oy++) {
          const y = oy * g.sh - g.pt + i * g.dh;
          const r = row + oy * g.ow;
          if (y < 0 || y >= g.h) {
            cols.fill(0, r, r + g.ow);
            continue;
          }
          const base = plane + y * g.w;
          for (let ox = 0; ox < g.ow; ox++) {
            const xx = ox * g.sw - g.pl + j * g.dw;
            cols[r + ox] = xx >= 0 && xx < g.w ? x[base + xx] : 0;
          }
        }
      }
    }
  }
}

/** Adds cols [cg·kh·kw, oh·ow] back into group `g` of image `n` of x (im2col's transpose). */
function col2im(
  cols: Float64Array,
  g: ConvGeometry,
  n: number,
  grp: number,
  x: Float64Array,
): void {
  const cg = g.c / g.groups, P = g.oh * g.ow;
  for (let ci = 0; ci < cg; ci++) {
    const plane = ((n * g.c) + grp * cg + ci) * g.h * g.w;
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const row = ((ci * g.kh + i) * g.kw + j) * P;
        for (let oy = 0; oy < g.oh; oy++) {
          const y = oy * g.sh - g.pt + i * g.dh;
          if (y < 0 || y >= g.h) continue;
          const base = plane + y * g.w, r = row + oy * g.ow;
          for (let ox = 0; ox < g.ow; ox++) {
            const xx = ox * g.sw - g.pl + j * g.dw;
            if (xx >= 0 && xx < g.w) x[base + xx] += cols[r + ox];
          }
        }
      }
    }
  }
}

/** y [n, o, oh, ow] = conv(x [n, c, h, w], w [o, c/groups, kh, kw]) (+ bias [o]). */
export function conv2dForward(
  x: TypedArray,
  w: TypedArray,
  bias: TypedArray | null,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const cg = g.c / g.groups, og = g.o / g.groups;
  const K = cg * g.kh * g.kw, P = g.oh * g.ow;
  const cols = new Float64Array(K * P);
  const acc = new Float64Array(og * P);
  for (let n = 0; n < g.n; n++) {
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, g, n, grp, cols);
      acc.fill(0);
      gemm(w, grp * og * K, cols, 0, acc, 0, og, K, P, "nn");
      const base = (n * g.o + grp * og) * P;
      for (let o = 0; o < og; o++) {
        const b = bias ? bias[grp * og + o] : 0;
        for (let p = 0; p < P; p++) out[base + o * P + p] = acc[o * P + p] + b;
      }
    }
  }
  return out;
}

/** x [n, c, h, w] = the transpose of conv in x, applied to y [n, o, oh, ow]. */
export function conv2dInputAdjoint(
  y: TypedArray,
  w: TypedArray,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const cg = g.c / g.groups, og = g.o / g.groups;
  const K = cg * g.kh * g.kw, P = g.oh * g.ow;
  const cols = new Float64Array(K * P);
  const acc = new Float64Array(out.length);
  for (let n = 0; n < g.n; n++) {
    for (let grp = 0; grp < g.groups; grp++) {
      cols.fill(0);
      gemm(
        w,
        grp * og * K,
        y,
        (n * g.o + grp * og) * P,
        cols,
        0,
        K,
        og,
        P,
        "tn",
      );
      col2im(cols, g, n, grp, acc);
    }
  }
  out.set(acc);
  return out;
}

/** w [o, c/groups, kh, kw] = the transpose of conv in w, applied to y, at x. */
export function conv2dWeightAdjoint(
  x: TypedArray,
  y: TypedArray,
  g: ConvGeometry,
  out: TypedArray,
): TypedArray {
  const cg = g.c / g.groups, og = g.o / g.groups;
  const K = cg * g.kh * g.kw, P = g.oh * g.ow;
  const cols = new Float64Array(K * P);
  const acc = new Float64Array(out.length);
  for (let n = 0; n < g.n; n++) {
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, g, n, grp, cols);
      gemm(
        y,
        (n * g.o + grp * og) * P,
        cols,
        0,
        acc,
        grp * og * K,
        og,
        P,
        K,
        "nt",
      );
    }
  }
  out.set(acc);
  return out;
}
