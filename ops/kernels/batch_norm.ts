/**
 * Batch normalisation in training mode over x viewed as `[n, c, s]` (the
 * channel axis in the middle, `s` the product of the spatial sizes): the
 * per-channel batch statistics, the normalised output and its two
 * derivative kernels. Each is a few passes in memory order, one writing; the
 * statistics accumulate in float64, the variance from the centered values.
 * A channel with `var + eps = 0` (constant, eps 0) has `rstd = 0`, as in
 * PyTorch's CPU kernel: its output is the bias and its derivatives 0.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/** Per-channel batch mean and biased variance, each `[c]`. */
export interface Moments {
  /** The mean of each channel. */
  readonly mean: Float64Array;
  /** The biased variance (divided by the count) of each channel. */
  readonly variance: Float64Array;
}

/**
 * The moments of each array, by geometry: arrays are never written after
 * they are made, so the statistics of one are computed once for the forward
 * kernel, both derivative kernels and the running-statistics update.
 */
const momentsCache = new WeakMap<TypedArray, Map<string, Moments>>();

/** Per-channel mean and biased variance of x `[n, c, s]` (two passes). */
export function moments(
  x: TypedArray,
  n: number,
  c: number,
  s: number,
): Moments {
  const key = `${n},${c},${s}`;
  let byShape = momentsCache.get(x);
  const hit = byShape?.get(key);
  if (hit) return hit;
  const mean = new Float64Array(c), variance = new Float64Array(c);
  for (let i = 0, o = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, o += s) {
      let acc = 0;
      for (let k = o, e = o + s; k < e; k++) acc += x[k];
      mean[ch] += acc;
    }
  }
  const count = n * s;
  for (let ch = 0; ch < c; ch++) mean[ch] /= count;
  for (let i = 0, o = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, o += s) {
      const m = mean[ch];
      let acc = 0;
      for (let k = o, e = o + s; k < e; k++) {
        const d = x[k] - m;
        acc += d * d;
      }
      variance[ch] += acc;
    }
  }
  for (let ch = 0; ch < c; ch++) variance[ch] /= count;
  const r = { mean, variance };
  if (!byShape) momentsCache.set(x, byShape = new Map());
  byShape.set(key, r);
  return r;
}

/** `u·rstd` as `u / sqrt(var + eps)`, or `u·0` where `var + eps` is 0 (PyTorch's rstd 0). */
function timesRstd(u: number, variance: number, eps: number): number {
  const v = variance + eps;
  return v === 0 ? u * 0 : u / Math.sqrt(v);
}

/** `out = x·a[ch] + b[ch]` over x `[n, c, s]`. */
function channelAffine(
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  a: Float64Array,
  b: Float64Array,
  out: TypedArray,
): TypedArray {
  for (let i = 0, o = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, o += s) {
      const ac = a[ch], bc = b[ch];
      for (let k = o, e = o + s; k < e; k++) out[k] = x[k] * ac + bc;
    }
  }
  return out;
}

/**
 * Normalised output `(x - mean)·rstd·w + b` with the batch statistics, as
 * PyTorch's CPU kernel computes it: `x·α + β` with per-channel
 * `α = w·rstd`, `β = b - mean·α`, `rstd = 1/sqrt(var + eps)` (0 where
 * `var + eps` is 0).
 */
export function forward(
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  w: TypedArray,
  b: TypedArray,
  eps: number,
  out: TypedArray,
): TypedArray {
  const { mean, variance } = moments(x, n, c, s);
  const alpha = new Float64Array(c), beta = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    alpha[ch] = timesRstd(w[ch], variance[ch], eps);
    beta[ch] = b[ch] - mean[ch] * alpha[ch];
  }
  return channelAffine(x, n, c, s, alpha, beta, out);
}

/** Per-channel `Σ g` and `Σ g·(x - mean)` (one pass over both). */
function gradSums(
  g: TypedArray,
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  mean: Float64Array,
): { sumG: Float64Array; sumGD: Float64Array } {
  const sumG = new Float64Array(c), sumGD = new Float64Array(c);
  for (let i = 0, o = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, o += s) {
      const m = mean[ch];
      let a = 0, ad = 0;
      for (let k = o, e = o + s; k < e; k++) {
        const gk = g[k];
        a += gk;
        ad += gk * (x[k] - m);
      }
      sumG[ch] += a;
      sumGD[ch] += ad;
    }
  }
  return { sumG, sumGD };
}

/**
 * The input derivative: `w·rstd·(g - mean(g) - x̂·mean(g·x̂))` with
 * `x̂ = (x - mean)·rstd`, written as `g·A + x·B + C` per channel.
 */
export function inputGrad(
  g: TypedArray,
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  w: TypedArray,
  eps: number,
  out: TypedArray,
): TypedArray {
  const { mean, variance } = moments(x, n, c, s);
  const { sumG, sumGD } = gradSums(g, x, n, c, s, mean);
  const count = n * s;
  const a = new Float64Array(c), bx = new Float64Array(c);
  const cc = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const rstd = timesRstd(1, variance[ch], eps);
    a[ch] = w[ch] * rstd;
    bx[ch] = -a[ch] * rstd * rstd * sumGD[ch] / count;
    cc[ch] = -a[ch] * sumG[ch] / count - bx[ch] * mean[ch];
  }
  for (let i = 0, o = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, o += s) {
      const ac = a[ch], bc = bx[ch], c0 = cc[ch];
      for (let k = o, e = o + s; k < e; k++) {
        out[k] = g[k] * ac + x[k] * bc + c0;
      }
    }
  }
  return out;
}

/** The weight derivative `Σ g·x̂` per channel, into `out` `[c]`. */
export function weightGrad(
  g: TypedArray,
  x: TypedArray,
  n: number,
  c: number,
  s: number,
  eps: number,
  out: TypedArray,
): TypedArray {
  const { mean, variance } = moments(x, n, c, s);
  const { sumGD } = gradSums(g, x, n, c, s, mean);
  for (let ch = 0; ch < c; ch++) {
    out[ch] = timesRstd(sumGD[ch], variance[ch], eps);
  }
  return out;
}
