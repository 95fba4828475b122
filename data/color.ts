/**
 * Photometric image transforms as torchvision's on float tensors
 * (`torchvision.transforms.functional`): grayscale, brightness, contrast
 * and saturation (blends clamped to [0, 1]), Gaussian blur, and
 * `colorJitter` drawing its factors and their order from a key, per image.
 * They work on one image `[C, H, W]` or a batch `[N, C, H, W]`, and are
 * compositions of the library's ops (so differentiable and jittable).
 *
 * @module
 */
import {
  arange,
  checkOptions,
  describe,
  fromData,
  type Tensor,
} from "../ops/tensor.ts";
import {
  add,
  div,
  equal,
  greaterEqual,
  less,
  mul,
  notEqual,
  sub,
  where,
} from "../ops/elementwise.ts";
import { clamp, floor, isFinite, logicalAnd, logicalNot } from "../ops/math.ts";
import { concat, pad, reshape, slice } from "../ops/structural.ts";
import { max, mean, min } from "../ops/reductions.ts";
import { conv2d } from "../ops/conv.ts";
import { floatCheck } from "../ops/_args.ts";
import {
  bernoulli,
  type Key,
  normal,
  permutation,
  split,
  uniform,
} from "../ops/random.ts";
import { asBatch } from "./transforms.ts";
import { requireKey } from "./geometric.ts";

/** x as a float batch (`fn` names the caller) and a way back to its shape. */
function batchOf(fn: string, x: Tensor) {
  const [xb, single] = asBatch(fn, x);
  floatCheck(fn, "x", xb);
  return {
    xb,
    back: (y: Tensor) => (single ? reshape(y, y.shape.slice(1)) : y),
  };
}

/** A factor option: a finite number >= 0. */
function factorOf(fn: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new Error(
      `${fn}: ${name} must be a finite number >= 0, got ${describe(v)}`,
    );
  }
  return v;
}

/** torchvision's `_blend`: `ratio·a + (1 - ratio)·b`, clamped to [0, 1]. */
const blend = (a: Tensor, b: Tensor, ratio: number) =>
  clamp(add(mul(a, ratio), mul(b, 1 - ratio)), { min: 0, max: 1 });

/** The luma of RGB `[N, 3, H, W]` as `[N, 1, H, W]`: 0.2989 R + 0.587 G + 0.114 B (torchvision's weights). */
function luma(xb: Tensor): Tensor {
  const [n, , h, w] = xb.shape;
  const ch = (k: number) => slice(xb, [0, k, 0, 0], [n, k + 1, h, w]);
  return add(add(mul(ch(0), 0.2989), mul(ch(1), 0.587)), mul(ch(2), 0.114));
}

/**
 * RGB to grayscale as torchvision's `rgb_to_grayscale`: `0.2989 R + 0.587 G
 * + 0.114 B` in 1 channel (or repeated in 3); a 1-channel image stays as
 * it is, with either numOutputChannels (as torchvision's).
 *
 * @example
 * ```ts
 * import { rgbToGrayscale } from "./mod.ts";
 * import { ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(rgbToGrayscale(ones([2, 3, 4, 4])).shape, [2, 1, 4, 4]);
 * ```
 */
export function rgbToGrayscale(
  x: Tensor,
  options?: { numOutputChannels?: 1 | 3 },
): Tensor {
  if (options === undefined) options = {};
  const fn = "rgbToGrayscale";
  checkOptions(fn, options, ["numOutputChannels"]);
  const out = options.numOutputChannels ?? 1;
  if (out !== 1 && out !== 3) {
    throw new Error(
      `${fn}: numOutputChannels must be 1 or 3, got ${describe(out)}`,
    );
  }
  const { xb, back } = batchOf(fn, x);
  const c = xb.shape[1];
  if (c !== 1 && c !== 3) {
    throw new Error(`${fn}: x must have 1 or 3 channels, got ${c}`);
  }
  // (a 1-channel image is returned as it is, whatever numOutputChannels,
  // as torchvision's: its expand to the input's shape keeps one channel)
  if (c === 1) return x;
  const g = luma(xb);
  return back(out === 3 ? concat([g, g, g], 1) : g);
}

/**
 * Brightness as torchvision's `adjust_brightness`: x times `factor` (0 is
 * black, 1 the image), clamped to [0, 1]; x has 1 or 3 channels.
 *
 * @example
 * ```ts
 * import { adjustBrightness } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(adjustBrightness(tensor([[[0.25, 0.75]]]), 2)), [[[0.5, 1]]]);
 * ```
 */
export function adjustBrightness(x: Tensor, factor: number): Tensor {
  const fn = "adjustBrightness";
  const f = factorOf(fn, "factor", factor);
  const { xb, back } = colorImages(fn, x);
  return back(clamp(mul(xb, f), { min: 0, max: 1 }));
}

/**
 * Contrast as torchvision's `adjust_contrast`: a blend with each image's
 * mean gray level (of its luma for RGB) by `factor` (0 is flat gray, 1 the
 * image), clamped to [0, 1]; x has 1 or 3 channels.
 *
 * @example
 * ```ts
 * import { adjustContrast } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(adjustContrast(tensor([[[0.25, 0.75]]]), 0)), [[[0.5, 0.5]]]);
 * ```
 */
export function adjustContrast(x: Tensor, factor: number): Tensor {
  const fn = "adjustContrast";
  const f = factorOf(fn, "factor", factor);
  const { xb, back } = colorImages(fn, x);
  const gray = xb.shape[1] === 3 ? luma(xb) : xb;
  return back(blend(xb, mean(gray, { axis: [1, 2, 3], keepDims: true }), f));
}

/**
 * Saturation as torchvision's `adjust_saturation`: a blend of RGB with its
 * grayscale by `factor` (0 is gray, 1 the image), clamped to [0, 1]; a
 * 1-channel image stays as it is.
 *
 * @example
 * ```ts
 * import { adjustSaturation } from "./mod.ts";
 * import { tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const red = tensor([[[1]], [[0]], [[0]]]);
 * // fully desaturated: every channel the red's luma, 0.2989
 * assert.deepEqual([...adjustSaturation(red, 0).data], [0.2989, 0.2989, 0.2989].map(Math.fround));
 * ```
 */
export function adjustSaturation(x: Tensor, factor: number): Tensor {
  const fn = "adjustSaturation";
  const f = factorOf(fn, "factor", factor);
  const { xb, back } = batchOf(fn, x);
  if (xb.shape[1] === 1) return x;
  if (xb.shape[1] !== 3) {
    throw new Error(`${fn}: x must have 1 or 3 channels, got ${xb.shape[1]}`);
  }
  return back(blend(xb, luma(xb), f));
}

/**
 * Gaussian blur as torchvision's `gaussian_blur` on tensors: a
 * `kernelSize` (odd, one or `[kx, ky]`) kernel of deviation `sigma`
 * (default `0.3·((k - 1)/2 - 1) + 0.8` per axis), the image padded by
 * reflection, each channel convolved alone. The kernel is computed in
 * float32, as torchvision does, then cast to x's dtype.
 *
 * @example
 * ```ts
 * import { gaussianBlur } from "./mod.ts";
 * import { ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = gaussianBlur(ones([3, 8, 8]), 5, { sigma: 1.5 });
 * assert.ok([...y.data].every((v) => Math.abs(v - 1) < 1e-6)); // a constant stays
 * ```
 */
export function gaussianBlur(
  x: Tensor,
  kernelSize: number | readonly [number, number],
  options?: { sigma?: number | readonly [number, number] },
): Tensor {
  if (options === undefined) options = {};
  const fn = "gaussianBlur";
  checkOptions(fn, options, ["sigma"]);
  const ks = typeof kernelSize === "number"
    ? [kernelSize, kernelSize]
    : kernelSize;
  if (
    !Array.isArray(ks) || ks.length !== 2 ||
    !ks.every((k) =>
      Number.isInteger(k) && k >= 1 && k % 2 === 1 && k < 2 ** 16
    )
  ) {
    throw new Error(
      `${fn}: kernelSize must be an odd positive integer or a pair [kx, ky] of them, got ${
        describe(kernelSize)
      }`,
    );
  }
  const s = options.sigma === undefined
    ? ks.map((k) => 0.3 * ((k - 1) * 0.5 - 1) + 0.8)
    : typeof options.sigma === "number"
    ? [options.sigma, options.sigma]
    : options.sigma;
  if (
    !Array.isArray(s) || s.length !== 2 ||
    !s.every((v) => typeof v === "number" && Number.isFinite(v) && v > 0)
  ) {
    throw new Error(
      `${fn}: sigma must be a number > 0 or a pair [sx, sy] of them, got ${
        describe(options.sigma)
      }`,
    );
  }
  const { xb, back } = batchOf(fn, x);
  const [, c, h, w] = xb.shape;
  const [kx, ky] = ks;
  if (kx >> 1 >= w || ky >> 1 >= h) {
    throw new Error(
      `${fn}: the reflection padding (${kx >> 1}, ${
        ky >> 1
      }) must be smaller than the image ${h}x${w}`,
    );
  }
  // the 1-D kernels in float32, as torchvision's (linspace, exp, sum, divide)
  const f = Math.fround;
  const kernel1d = (k: number, sigma: number) => {
    const half = (k - 1) * 0.5, sg = f(sigma);
    const pdf = Array.from({ length: k }, (_, i) => {
      const t = f(f(-half + i) / sg);
      return f(Math.exp(f(-0.5 * f(t * t))));
    });
    const total = pdf.reduce((a, b) => f(a + b), 0);
    return pdf.map((v) => f(v / total));
  };
  const gx = kernel1d(kx, s[0]), gy = kernel1d(ky, s[1]);
  const k2 = new Float64Array(c * ky * kx);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < ky; i++) {
      for (let j = 0; j < kx; j++) {
        k2[(ch * ky + i) * kx + j] = gy[i] * gx[j]; // (in the dtype: torchvision casts the 1-D kernels first)
      }
    }
  }
  const weight = fromData(
    xb.dtype === "float64" ? k2 : Float32Array.from(k2),
    [c, 1, ky, kx],
  );
  const padded = pad(xb, [[0, 0], [0, 0], [ky >> 1, ky >> 1], [
    kx >> 1,
    kx >> 1,
  ]], { mode: "reflect" });
  return back(conv2d(padded, weight, null, { groups: c }));
}

/** An image of 1 or 3 channels, as a batch; errors name `fn`. */
function colorImages(fn: string, x: Tensor) {
  const { xb, back } = batchOf(fn, x);
  const c = xb.shape[1];
  if (c !== 1 && c !== 3) {
    throw new Error(`${fn}: x must have 1 or 3 channels, got ${c}`);
  }
  return { xb, back };
}

/**
 * The negative image, as torchvision's `invert`: `1 - x`.
 *
 * @example
 * ```ts
 * import { invert } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(invert(tensor([[[0.25, 1]]]))), [[[0.75, 0]]]);
 * ```
 */
export function invert(x: Tensor): Tensor {
  const { xb, back } = colorImages("invert", x);
  return back(sub(1, xb));
}

/**
 * Pixels at or above `threshold` inverted, as torchvision's `solarize`
 * (`threshold` at most 1).
 *
 * @example
 * ```ts
 * import { solarize } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(solarize(tensor([[[0.25, 0.75]]]), 0.5)), [[[0.25, 0.25]]]);
 * ```
 */
export function solarize(x: Tensor, threshold: number): Tensor {
  const fn = "solarize";
  if (typeof threshold !== "number" || !(threshold <= 1)) {
    throw new Error(
      `${fn}: threshold must be a number at most 1 (the image's bound), got ${
        describe(threshold)
      }`,
    );
  }
  const { xb, back } = colorImages(fn, x);
  return back(where(greaterEqual(xb, threshold), sub(1, xb), xb));
}

/**
 * Sharpness as torchvision's `adjust_sharpness`: a blend with the image
 * smoothed by the kernel `[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13` (the
 * border pixels kept) by `factor` (0 blurs, 1 is the image, 2 sharpens),
 * clamped to [0, 1]; an image of 2 rows or columns or fewer stays as it is.
 *
 * @example
 * ```ts
 * import { adjustSharpness } from "./mod.ts";
 * import { random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.uniform(random.key(0), [3, 6, 6]);
 * assert.deepEqual(adjustSharpness(x, 1).data, x.data);
 * ```
 */
export function adjustSharpness(x: Tensor, factor: number): Tensor {
  const fn = "adjustSharpness";
  const f = factorOf(fn, "factor", factor);
  const { xb, back } = colorImages(fn, x);
  const [, c, h, w] = xb.shape;
  if (h <= 2 || w <= 2) return x;
  // the kernel divided by its sum in x's dtype, as torchvision
  const r = xb.dtype === "float32" ? Math.fround : (v: number) => v;
  const k = Array.from({ length: 9 }, (_, i) => r((i === 4 ? 5 : 1) / 13));
  const weight = fromData(
    xb.dtype === "float64"
      ? Float64Array.from({ length: 9 * c }, (_, i) => k[i % 9])
      : Float32Array.from({ length: 9 * c }, (_, i) => k[i % 9]),
    [c, 1, 3, 3],
  );
  const smooth = conv2d(xb, weight, null, { padding: 1, groups: c });
  const rows = arange(h, undefined, 1, { dtype: "int32" });
  const cols = arange(w, undefined, 1, { dtype: "int32" });
  const inside = (v: Tensor, size: number) =>
    logicalAnd(greaterEqual(v, 1), less(v, size - 1));
  const interior = logicalAnd(
    reshape(inside(rows, h), [h, 1]),
    reshape(inside(cols, w), [1, w]),
  );
  return back(blend(xb, where(interior, smooth, xb), f));
}

/**
 * Each channel stretched to [0, 1], as torchvision's `autocontrast`:
 * `(x - min) / (max - min)` per image and channel (a constant channel
 * kept), clamped.
 *
 * @example
 * ```ts
 * import { autocontrast } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(autocontrast(tensor([[[0.25, 0.5, 0.75]]]))), [[[0, 0.5, 1]]]);
 * ```
 */
export function autocontrast(x: Tensor): Tensor {
  const { xb, back } = colorImages("autocontrast", x);
  const lo = min(xb, { axis: [2, 3], keepDims: true });
  const hi = max(xb, { axis: [2, 3], keepDims: true });
  const scale = div(1, sub(hi, lo));
  const flat = logicalNot(isFinite(scale));
  return back(clamp(
    mul(sub(xb, where(flat, 0, lo)), where(flat, 1, scale)),
    { min: 0, max: 1 },
  ));
}

/** Options of the random photometric transforms: the probability and the key. */
export interface RandomApplyOptions {
  /** The probability each image is transformed. Default 0.5 (randomGrayscale: 0.1). */
  p?: number;
  /** The random key. Required. */
  key: Key;
}

/** `f` applied to the images a per-image draw of probability `p` picks, the others kept. */
function randomApply(
  fn: string,
  x: Tensor,
  options: RandomApplyOptions,
  defaultP: number,
  f: (xb: Tensor) => Tensor,
): Tensor {
  const o = checkOptions(fn, options, [
    "p",
    "key",
  ]) as unknown as RandomApplyOptions;
  const key = requireKey(fn, o.key);
  const p = o.p ?? defaultP;
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: p must be a number in [0, 1], got ${describe(p)}`);
  }
  const { xb, back } = colorImages(fn, x);
  const n = xb.shape[0];
  const pick = reshape(
    equal(bernoulli(key, p, [n]), 1),
    [n, 1, 1, 1],
  );
  return back(where(pick, f(xb), xb));
}

/**
 * Each image inverted with probability `p`, as torchvision's
 * `RandomInvert` (one draw per image).
 *
 * @example
 * ```ts
 * import { randomInvert } from "./mod.ts";
 * import { random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(randomInvert(tensor([[[0.25]]]), { p: 1, key: random.key(0) })), [[[0.75]]]);
 * ```
 */
export function randomInvert(x: Tensor, options: RandomApplyOptions): Tensor {
  return randomApply("randomInvert", x, options, 0.5, (xb) => sub(1, xb));
}

/** Options of {@linkcode randomSolarize}. */
export interface RandomSolarizeOptions extends RandomApplyOptions {
  /** Pixels at or above it are inverted. Required. */
  threshold: number;
}

/**
 * Each image solarized with probability `p`, as torchvision's
 * `RandomSolarize`.
 *
 * @example
 * ```ts
 * import { randomSolarize } from "./mod.ts";
 * import { random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = randomSolarize(tensor([[[0.75]]]), { threshold: 0.5, p: 1, key: random.key(0) });
 * assert.deepEqual(toArray(y), [[[0.25]]]);
 * ```
 */
export function randomSolarize(
  x: Tensor,
  options: RandomSolarizeOptions,
): Tensor {
  const fn = "randomSolarize";
  const { threshold, ...rest } = checkOptions(fn, options, [
    "threshold",
    "p",
    "key",
  ]) as unknown as RandomSolarizeOptions;
  if (typeof threshold !== "number" || !(threshold <= 1)) {
    throw new Error(
      `${fn}: threshold must be a number at most 1, got ${describe(threshold)}`,
    );
  }
  return randomApply(
    fn,
    x,
    rest,
    0.5,
    (xb) => where(greaterEqual(xb, threshold), sub(1, xb), xb),
  );
}

/** Options of {@linkcode randomAdjustSharpness}. */
export interface RandomAdjustSharpnessOptions extends RandomApplyOptions {
  /** The sharpness factor (see {@linkcode adjustSharpness}). Required. */
  sharpnessFactor: number;
}

/**
 * Each image's sharpness adjusted by `sharpnessFactor` with probability
 * `p`, as torchvision's `RandomAdjustSharpness`.
 *
 * @example
 * ```ts
 * import { randomAdjustSharpness } from "./mod.ts";
 * import { random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.uniform(random.key(0), [2, 3, 5, 5]);
 * assert.deepEqual(randomAdjustSharpness(x, { sharpnessFactor: 2, p: 0, key: random.key(1) }).data, x.data);
 * ```
 */
export function randomAdjustSharpness(
  x: Tensor,
  options: RandomAdjustSharpnessOptions,
): Tensor {
  const fn = "randomAdjustSharpness";
  const { sharpnessFactor, ...rest } = checkOptions(fn, options, [
    "sharpnessFactor",
    "p",
    "key",
  ]) as unknown as RandomAdjustSharpnessOptions;
  factorOf(fn, "sharpnessFactor", sharpnessFactor);
  return randomApply(
    fn,
    x,
    rest,
    0.5,
    (xb) => adjustSharpness(xb, sharpnessFactor),
  );
}

/**
 * Each image's contrast stretched with probability `p`, as torchvision's
 * `RandomAutocontrast`.
 *
 * @example
 * ```ts
 * import { randomAutocontrast } from "./mod.ts";
 * import { random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = randomAutocontrast(tensor([[[0.25, 0.75]]]), { p: 1, key: random.key(0) });
 * assert.deepEqual(toArray(y), [[[0, 1]]]);
 * ```
 */
export function randomAutocontrast(
  x: Tensor,
  options: RandomApplyOptions,
): Tensor {
  return randomApply("randomAutocontrast", x, options, 0.5, autocontrast);
}

/**
 * Each RGB image turned gray (in all three channels) with probability `p`
 * (default 0.1), as torchvision's `RandomGrayscale`; 1-channel images stay.
 *
 * @example
 * ```ts
 * import { randomGrayscale } from "./mod.ts";
 * import { random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = randomGrayscale(random.uniform(random.key(0), [2, 3, 4, 4]), { p: 1, key: random.key(1) });
 * assert.deepEqual(y.shape, [2, 3, 4, 4]);
 * ```
 */
export function randomGrayscale(
  x: Tensor,
  options: RandomApplyOptions,
): Tensor {
  return randomApply(
    "randomGrayscale",
    x,
    options,
    0.1,
    (xb) => xb.shape[1] === 3 ? concat([luma(xb), luma(xb), luma(xb)], 1) : xb,
  );
}

/** `x - floor(x)`: torch.remainder(x, 1) and, for x > 0, fmod(x, 1), with their bits. */
const frac = (x: Tensor) => sub(x, floor(x));

/** torchvision's `_rgb2hsv` on `[N, 3, H, W]`: hue in [0, 1), saturation, value. */
function rgbToHsv(xb: Tensor): [Tensor, Tensor, Tensor] {
  const [n, , h, w] = xb.shape;
  const [r, g, b] = [0, 1, 2].map((k) =>
    slice(xb, [0, k, 0, 0], [n, k + 1, h, w])
  );
  const maxc = max(xb, { axis: 1, keepDims: true });
  const minc = min(xb, { axis: 1, keepDims: true });
  const eqc = equal(maxc, minc);
  const cr = sub(maxc, minc);
  const s = div(cr, where(eqc, 1, maxc));
  const crDivisor = where(eqc, 1, cr);
  const [rc, gc, bc] = [r, g, b].map((c) => div(sub(maxc, c), crDivisor));
  const isR = equal(maxc, r), notR = logicalNot(isR);
  const hr = where(isR, sub(bc, gc), 0);
  const hg = where(logicalAnd(equal(maxc, g), notR), sub(add(rc, 2), bc), 0);
  const hb = where(
    logicalAnd(notEqual(maxc, g), notR),
    sub(add(gc, 4), rc),
    0,
  );
  const hue = frac(add(div(add(add(hr, hg), hb), 6), 1));
  return [hue, s, maxc];
}

/** torchvision's `_hsv2rgb`: the sector `floor(6 h) mod 6` picks each channel from v, p, q, t. */
function hsvToRgb(hue: Tensor, s: Tensor, v: Tensor): Tensor {
  const h6 = mul(hue, 6);
  const i = floor(h6);
  const f = sub(h6, i);
  const unit = { min: 0, max: 1 };
  const p = clamp(mul(v, sub(1, s)), unit);
  const q = clamp(mul(v, sub(1, mul(s, f))), unit);
  const t = clamp(mul(v, sub(1, mul(s, sub(1, f)))), unit);
  const sector = sub(i, mul(floor(div(i, 6)), 6));
  const pick = (choices: Tensor[]) =>
    choices.reduceRight((acc, c, k) => where(equal(sector, k), c, acc));
  return concat([
    pick([v, q, p, p, t, v]),
    pick([t, v, v, q, p, p]),
    pick([p, p, t, v, v, q]),
  ], 1);
}

/**
 * Hue as torchvision's `adjust_hue`: each pixel's hue (in HSV) turned by
 * `hueFactor` of a full turn, in [-0.5, 0.5]; a 1-channel image stays as it
 * is. The conversions are torchvision's, operation for operation.
 *
 * @example
 * ```ts
 * import { adjustHue } from "./mod.ts";
 * import { tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const red = tensor([[[1]], [[0]], [[0]]], { dtype: "float64" });
 * assert.deepEqual(Array.from(adjustHue(red, 1 / 3).data), [0, 1, 0]); // red to green
 * ```
 */
export function adjustHue(x: Tensor, hueFactor: number): Tensor {
  const fn = "adjustHue";
  if (
    typeof hueFactor !== "number" || !(hueFactor >= -0.5 && hueFactor <= 0.5)
  ) {
    throw new Error(
      `${fn}: hueFactor must be a number in [-0.5, 0.5], got ${
        describe(hueFactor)
      }`,
    );
  }
  const { xb, back } = batchOf(fn, x);
  const c = xb.shape[1];
  if (c === 1) return back(xb);
  if (c !== 3) throw new Error(`${fn}: x must have 1 or 3 channels, got ${c}`);
  const [hue, s, v] = rgbToHsv(xb);
  return back(hsvToRgb(frac(add(hue, hueFactor)), s, v));
}

/** Options of {@linkcode colorJitter} (torchvision's `ColorJitter`). */
export interface ColorJitterOptions {
  /** b: the brightness factor drawn from `[max(0, 1 - b), 1 + b]`. Default 0 (unchanged). */
  brightness?: number;
  /** The contrast factor's spread, as brightness's. Default 0. */
  contrast?: number;
  /** The saturation factor's spread, as brightness's. Default 0. */
  saturation?: number;
  /** h: the hue factor drawn from `[-h, h]`, h at most 0.5. Default 0. */
  hue?: number;
  /** The random key. Required. */
  key: Key;
}

/**
 * Random brightness, contrast, saturation and hue, as torchvision's
 * `ColorJitter`: for each image, the factors drawn uniformly from
 * `[max(0, 1 - v), 1 + v]` (hue's from `[-h, h]`) and applied in a random
 * order, all from `key`.
 *
 * @example
 * ```ts
 * import { colorJitter } from "./mod.ts";
 * import { random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.uniform(random.key(0), [4, 3, 8, 8]);
 * const y = colorJitter(x, { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, key: random.key(1) });
 * assert.deepEqual(y.shape, [4, 3, 8, 8]);
 * assert.ok([...y.data].every((v) => v >= 0 && v <= 1));
 * ```
 */
export function colorJitter(x: Tensor, options: ColorJitterOptions): Tensor {
  const fn = "colorJitter";
  const o = checkOptions(fn, options, [
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "key",
  ]) as unknown as ColorJitterOptions;
  const key = requireKey(fn, o.key);
  const spreads = (["brightness", "contrast", "saturation"] as const).map((k) =>
    factorOf(fn, k, o[k] ?? 0)
  );
  const hue = factorOf(fn, "hue", o.hue ?? 0);
  if (hue > 0.5) {
    throw new Error(`${fn}: hue must be at most 0.5, got ${hue}`);
  }
  spreads.push(hue);
  const { xb, back } = batchOf(fn, x);
  const [n, c, h, w] = xb.shape;
  if (c !== 1 && c !== 3) {
    throw new Error(`${fn}: x must have 1 or 3 channels, got ${c}`);
  }
  const ops = [adjustBrightness, adjustContrast, adjustSaturation, adjustHue];
  const [kf, ko] = split(key);
  const u = uniform(kf, [n, 4], { dtype: "float64" }).data;
  const orders = split(ko, Math.max(n, 1));
  const images = Array.from({ length: n }, (_, i) => {
    let img = slice(xb, [i, 0, 0, 0], [i + 1, c, h, w]);
    for (const k of permutation(orders[i], 4).data) {
      const v = spreads[k];
      if (v === 0) continue;
      // hue's factor from [-v, v], the others' from [max(0, 1 - v), 1 + v]
      const lo = k === 3 ? -v : Math.max(0, 1 - v);
      img = ops[k](img, lo + ((k === 3 ? v : 1 + v) - lo) * u[i * 4 + k]);
    }
    return img;
  });
  return back(n === 0 ? xb : concat(images, 0));
}

/** Options of {@linkcode erase}. */
export interface EraseOptions {
  /** The region's top row. Required. */
  top: number;
  /** The region's left column. Required. */
  left: number;
  /** The region's height. Required. */
  height: number;
  /** The region's width. Required. */
  width: number;
  /** What fills it: one number or one per channel. Default 0. */
  value?: number | readonly number[];
}

/**
 * A rectangle of each image set to `value`, as torchvision's `erase`
 * (rows `top` to `top + height`, columns `left` to `left + width`, cut at
 * the image's edges).
 *
 * @example
 * ```ts
 * import { erase } from "./mod.ts";
 * import { ones, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = erase(ones([1, 3, 3]), { top: 1, left: 0, height: 1, width: 2 });
 * assert.deepEqual(toArray(y), [[[1, 1, 1], [0, 0, 1], [1, 1, 1]]]);
 * ```
 */
export function erase(x: Tensor, options: EraseOptions): Tensor {
  const fn = "erase";
  const o = checkOptions(fn, options, [
    "top",
    "left",
    "height",
    "width",
    "value",
  ]) as unknown as EraseOptions;
  const { xb, back } = batchOf(fn, x);
  const [n, c, h, w] = xb.shape;
  const int = (name: "top" | "left" | "height" | "width") => {
    const v = o[name];
    if (!Number.isInteger(v) || (v as number) < 0) {
      throw new Error(
        `${fn}: options.${name} must be an integer >= 0, got ${describe(v)}`,
      );
    }
    return v as number;
  };
  const box = {
    top: int("top"),
    left: int("left"),
    h: int("height"),
    w: int("width"),
  };
  const values = valuesOf(fn, o.value ?? 0, c);
  const mask = new Float64Array(h * w);
  for (let i = box.top; i < Math.min(h, box.top + box.h); i++) {
    for (let j = box.left; j < Math.min(w, box.left + box.w); j++) {
      mask[i * w + j] = 1;
    }
  }
  return back(fill(xb, [mask], values, n));
}

/** A fill value option: one number, or one per channel, as `[1, C, 1, 1]` values. */
function valuesOf(fn: string, v: unknown, c: number): number[] {
  const list = typeof v === "number" ? Array(c).fill(v) : v;
  if (
    !Array.isArray(list) || list.length !== c ||
    !list.every((u) => typeof u === "number")
  ) {
    throw new Error(
      `${fn}: value must be a number or one per channel (${c}), got ${
        describe(v)
      }`,
    );
  }
  return list;
}

/**
 * xb `[N, C, H, W]` with each image's masked pixels (masks: one `[H·W]` for
 * all images, or one per image) set to `values` (one per channel) or, when
 * `noise` is given, to its pixels.
 */
function fill(
  xb: Tensor,
  masks: readonly Float64Array[],
  values: readonly number[] | null,
  n: number,
  noise?: Tensor,
): Tensor {
  const [, c, h, w] = xb.shape;
  const m = new Int32Array(n * h * w);
  for (let i = 0; i < n; i++) {
    const one = masks[masks.length === 1 ? 0 : i];
    for (let k = 0; k < h * w; k++) m[i * h * w + k] = one[k];
  }
  const v = noise ?? fromData(
    xb.dtype === "float64"
      ? Float64Array.from(values!)
      : Float32Array.from(values!),
    [1, c, 1, 1],
  );
  // the value where the mask is 1, x elsewhere (copied, as torchvision's)
  return where(fromData(m, [n, 1, h, w]), v, xb);
}

/** Options of {@linkcode randomErasing} (torchvision's `RandomErasing`). */
export interface RandomErasingOptions {
  /** The probability that an image gets a rectangle erased. Default 0.5. */
  p?: number;
  /** The range of the rectangle's area as a fraction of the image's, within (0, 1]. Default [0.02, 0.33]. */
  scale?: readonly [number, number];
  /** The range of its aspect ratio (height / width, drawn log-uniformly). Default [0.3, 3.3]. */
  ratio?: readonly [number, number];
  /** What fills it: a number, one per channel, or "random" (standard normal noise). Default 0. */
  value?: number | readonly number[] | "random";
  /** The random key. Required. */
  key: Key;
}

/**
 * Random erasing (cutout), as torchvision's `RandomErasing`: with
 * probability `p`, a rectangle of each image of random area (`scale` of
 * the image) and aspect ratio (`ratio`, log-uniform) at a random place is
 * set to `value`; as torchvision, 10 draws are tried for a rectangle that
 * fits, and the image is left as it is when none does. One draw per image,
 * from `key`.
 *
 * @example
 * ```ts
 * import { randomErasing } from "./mod.ts";
 * import { ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = randomErasing(ones([4, 3, 16, 16]), { p: 1, key: random.key(0) });
 * for (let i = 0; i < 4; i++) { // each image lost some pixels, in all channels
 *   const zeros = [...y.data.slice(i * 768, i * 768 + 256)].filter((v) => v === 0).length;
 *   assert.ok(zeros >= 0.02 * 256 * 0.5 && zeros <= 0.33 * 256 * 1.5);
 * }
 * ```
 */
export function randomErasing(
  x: Tensor,
  options: RandomErasingOptions,
): Tensor {
  const fn = "randomErasing";
  const o = checkOptions(fn, options, [
    "p",
    "scale",
    "ratio",
    "value",
    "key",
  ]) as unknown as RandomErasingOptions;
  const key = requireKey(fn, o.key);
  const p = o.p ?? 0.5;
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: p must be in [0, 1], got ${describe(p)}`);
  }
  const rangeOf = (name: string, v: unknown, dflt: [number, number]) => {
    const r = v ?? dflt;
    if (
      !Array.isArray(r) || r.length !== 2 ||
      !r.every((u) => typeof u === "number" && Number.isFinite(u) && u > 0) ||
      r[0] > r[1]
    ) {
      throw new Error(
        `${fn}: ${name} must be a range [min, max] of numbers > 0, got ${
          describe(v)
        }`,
      );
    }
    return r as [number, number];
  };
  const scale = rangeOf("scale", o.scale, [0.02, 0.33]);
  if (scale[1] > 1) {
    throw new Error(
      `${fn}: scale must be fractions of the image's area, at most 1 (as torchvision's), got [${scale}]`,
    );
  }
  const ratio = rangeOf("ratio", o.ratio, [0.3, 3.3]);
  const { xb, back } = batchOf(fn, x);
  const [n, c, h, w] = xb.shape;
  const random = o.value === "random";
  const values = random ? null : valuesOf(fn, o.value ?? 0, c);
  const [kp, kd, kn] = split(key, 3);
  const apply = uniform(kp, [n], { dtype: "float64" }).data;
  // per image and attempt: area, log aspect ratio, row, column
  const u = uniform(kd, [n, 10, 4], { dtype: "float64" }).data;
  const [lr0, lr1] = [Math.log(ratio[0]), Math.log(ratio[1])];
  const masks = Array.from({ length: n }, (_, i) => {
    const mask = new Float64Array(h * w);
    if (!(apply[i] < p)) return mask;
    for (let t = 0; t < 10; t++) {
      const at = (k: number) => u[(i * 10 + t) * 4 + k];
      const area = h * w * (scale[0] + (scale[1] - scale[0]) * at(0));
      const aspect = Math.exp(lr0 + (lr1 - lr0) * at(1));
      const eh = Math.round(Math.sqrt(area * aspect));
      const ew = Math.round(Math.sqrt(area / aspect));
      if (!(eh < h && ew < w)) continue;
      const top = Math.floor(at(2) * (h - eh + 1));
      const left = Math.floor(at(3) * (w - ew + 1));
      for (let r = top; r < top + eh; r++) {
        for (let q = left; q < left + ew; q++) mask[r * w + q] = 1;
      }
      break;
    }
    return mask;
  });
  const noise = random
    ? normal(kn, [n, c, h, w], { dtype: xb.dtype as "float32" | "float64" })
    : undefined;
  return back(fill(xb, masks, values, n, noise));
}
