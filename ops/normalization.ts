/**
 * Normalization and regularization: batchNorm (training statistics as one
 * fused primitive with explicit VJP primitives, evaluation as a composition),
 * layerNorm, groupNorm, instanceNorm, localResponseNorm and normalize
 * (compositions), dropout and its channel (1-D, 2-D, 3-D) and alpha
 * variants.
 *
 * @module
 */
import {
  allocData,
  checkBool,
  checkOptions,
  checkTensor,
  describe,
  fromData,
  isTensor,
  ones,
  promote,
  sameShape,
  sizeOf,
  type Tensor,
  zeros,
} from "./tensor.ts";
import {
  bind,
  concrete,
  definePrimitive,
  type Primitive,
  Tracer,
} from "./trace.ts";
import { userOp } from "./debug.ts";
import type { Empty } from "./grad_types.ts";
import { checkKeyArg, floatCheck, fmt } from "./_args.ts";
import {
  add,
  astype,
  div,
  equal,
  mul,
  neg,
  pow,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.ts";
import { bernoulli, type Key } from "./random.ts";
import { mean, norm } from "./reductions.ts";
import { clamp } from "./math.ts";
import {
  batchFront,
  batchSize,
  exampleShape,
  normAxis,
  pad,
  reshape,
  slice,
  sum,
  transpose,
} from "./structural.ts";
import { vjp } from "./transforms.ts";
import { avgPool2d } from "./pool.ts";
import * as bnk from "./kernels/batch_norm.ts";

// ---------------------------------------------------------------------------
// dropout and batch norm

/**
 * Inverted dropout: zeroes each element with probability `p` (drawn from
 * `key`) and scales the rest by 1/(1-p); the identity when not training.
 *
 * @example
 * ```ts
 * import { dropout, ones, random, sum, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = dropout(ones([1000]), { p: 0.5, key: random.key(0) });
 * assert.ok(Math.abs(item(sum(y)) - 1000) < 150);
 * assert.equal(item(sum(dropout(ones([10]), { p: 0.5, training: false }))), 10);
 * ```
 */
export function dropout(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("dropout");
  checkTensor("dropout", x, "x");
  return invertedDropout("dropout", x, options, x.shape);
}

/**
 * Inverted dropout of `x` with a keep mask of `maskShape` (x's shape, or
 * with axes of size 1 that broadcast one draw over them): the options
 * checked, the identity when not training or `p = 0`, zeros when `p = 1`;
 * with `alpha`, alpha dropout (SELU's) instead of the scaling.
 */
function invertedDropout(
  fn: string,
  x: Tensor,
  options: { p?: number; key?: Key; training?: boolean },
  maskShape: readonly number[],
  alpha = false,
): Tensor {
  checkOptions(fn, options, ["p", "key", "training"]);
  const { p = 0.5 } = options;
  const training = checkBool(fn, "training", options.training, true);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new Error(
      `${fn}: p must be in [0, 1], got ${
        typeof p === "number" ? p : describe(p)
      }`,
    );
  }
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  // (as PyTorch: an integer x is only rejected where it would be scaled)
  floatCheck(fn, "x", x);
  if (!options.key) {
    throw new Error(
      `${fn}: training needs options.key (a random.key) to draw the mask`,
    );
  }
  checkKeyArg(fn, options.key, "options.key");
  const keep = astype(bernoulli(options.key, 1 - p, maskShape), x.dtype);
  if (!alpha) return mul(x, mul(keep, 1 / (1 - p)));
  // alpha dropout (PyTorch's _dropout_impl): dropped entries go to SELU's
  // negative saturation -alpha, then an affine map a·y + b restores the
  // mean and variance of standard inputs
  const a = 1 / Math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p));
  const b = add(mul(sub(keep, 1), ALPHA * a), ALPHA * a * p);
  return add(mul(x, mul(keep, a)), b);
}

/** SELU's -(negative saturation): the value alpha dropout gives a dropped entry before its affine map. */
const ALPHA = 1.7580993408473766;

/**
 * Channel dropout, as `torch.nn.functional.dropout2d`: each channel of
 * `[N, C, H, W]` (or of an unbatched `[C, H, W]`) is zeroed whole with
 * probability `p` (drawn from `key`) and the kept ones are scaled by
 * 1/(1-p); the identity when not training. A 3-D input is one unbatched
 * image, as `conv2d` takes it here and as PyTorch's documentation announces
 * (PyTorch 1.13 itself still reads `[N, C, L]` there, with a warning).
 *
 * @example
 * ```ts
 * import { dropout2d, ones, random, sum, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = dropout2d(ones([2, 8, 3, 3]), { p: 0.5, key: random.key(0) });
 * const channels = [...Array(16).keys()].map((i) => y.data[9 * i]);
 * assert.ok(channels.every((v) => v === 0 || v === 2)); // whole channels, scaled by 2
 * for (let i = 0; i < 16; i++) { // every pixel of a channel alike
 *   assert.ok(y.data.slice(9 * i, 9 * i + 9).every((v) => v === channels[i]));
 * }
 * assert.equal(item(sum(dropout2d(ones([1, 2, 2, 2]), { training: false }))), 8);
 * ```
 */
export function dropout2d(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("dropout2d");
  const fn = "dropout2d";
  checkTensor(fn, x, "x");
  const nd = x.shape.length;
  if (nd !== 3 && nd !== 4) {
    throw new Error(
      `${fn}: x must be [N, C, H, W] or unbatched [C, H, W], got ${
        fmt(x.shape)
      }`,
    );
  }
  const channels = x.shape.slice(0, nd - 2);
  return invertedDropout(fn, x, options, [...channels, 1, 1]);
}

/**
 * Channel dropout of sequences, as `torch.nn.functional.dropout1d`: each
 * channel of `[N, C, L]` (or of an unbatched `[C, L]`) is zeroed whole with
 * probability `p` (drawn from `key`) and the kept ones are scaled by
 * 1/(1-p); the identity when not training.
 *
 * @example
 * ```ts
 * import { dropout1d, ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = dropout1d(ones([2, 8, 5]), { p: 0.5, key: random.key(0) });
 * for (let c = 0; c < 16; c++) { // whole channels: 0 or 2
 *   assert.equal(new Set(y.data.slice(5 * c, 5 * c + 5)).size, 1);
 * }
 * ```
 */
export function dropout1d(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("dropout1d");
  const fn = "dropout1d";
  checkTensor(fn, x, "x");
  const nd = x.shape.length;
  if (nd !== 2 && nd !== 3) {
    throw new Error(
      `${fn}: x must be [N, C, L] or unbatched [C, L], got ${fmt(x.shape)}`,
    );
  }
  return invertedDropout(fn, x, options, [...x.shape.slice(0, nd - 1), 1]);
}

/**
 * Channel dropout of volumes, as `torch.nn.functional.dropout3d`: each
 * channel of `[N, C, D, H, W]` (or of an unbatched `[C, D, H, W]`) is
 * zeroed whole with probability `p` and the kept ones are scaled by
 * 1/(1-p); the identity when not training.
 *
 * @example
 * ```ts
 * import { dropout3d, ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = dropout3d(ones([2, 4, 2, 2, 2]), { p: 0.5, key: random.key(0) });
 * for (let c = 0; c < 8; c++) { // whole channels: 0 or 2
 *   assert.equal(new Set(y.data.slice(8 * c, 8 * c + 8)).size, 1);
 * }
 * ```
 */
export function dropout3d(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("dropout3d");
  const fn = "dropout3d";
  checkTensor(fn, x, "x");
  const nd = x.shape.length;
  if (nd !== 4 && nd !== 5) {
    throw new Error(
      `${fn}: x must be [N, C, D, H, W] or unbatched [C, D, H, W], got ${
        fmt(x.shape)
      }`,
    );
  }
  return invertedDropout(fn, x, options, [
    ...x.shape.slice(0, nd - 3),
    1,
    1,
    1,
  ]);
}

/**
 * Alpha dropout, as `torch.nn.functional.alpha_dropout` (for SELU
 * networks): each entry is dropped with probability `p` to SELU's negative
 * saturation -1.7581, then all go through the affine map `a·y + b` that
 * keeps a zero mean and unit variance (PyTorch's `a` and `b`); the identity
 * when not training.
 *
 * @example
 * ```ts
 * import { alphaDropout, mean, random, item, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.normal(random.key(0), [100000], { dtype: "float64" });
 * const y = alphaDropout(x, { p: 0.2, key: random.key(1) });
 * assert.ok(Math.abs(item(mean(y))) < 0.01); // the mean stays 0
 * assert.equal(alphaDropout(zeros([3]), { training: false }).data[0], 0);
 * ```
 */
export function alphaDropout(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("alphaDropout");
  checkTensor("alphaDropout", x, "x");
  floatCheck("alphaDropout", "x", x);
  return invertedDropout("alphaDropout", x, options, x.shape, true);
}

/**
 * Alpha dropout of whole channels, as
 * `torch.nn.functional.feature_alpha_dropout`: one draw per channel of
 * `[N, C, ...]` (axes 0 and 1), then {@linkcode alphaDropout}'s values.
 *
 * @example
 * ```ts
 * import { featureAlphaDropout, ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = featureAlphaDropout(ones([2, 6, 4]), { p: 0.5, key: random.key(0) });
 * for (let c = 0; c < 12; c++) { // whole channels
 *   assert.equal(new Set(y.data.slice(4 * c, 4 * c + 4)).size, 1);
 * }
 * ```
 */
export function featureAlphaDropout(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("featureAlphaDropout");
  const fn = "featureAlphaDropout";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  if (x.shape.length < 2) {
    throw new Error(
      `${fn}: x must be [N, C, ...] (at least 2-D), got ${fmt(x.shape)}`,
    );
  }
  const mask = x.shape.map((d, i) => (i < 2 ? d : 1));
  return invertedDropout(fn, x, options, mask, true);
}

// ---------------------------------------------------------------------------
// layer norm and group norm

/**
 * `rstd = 1 / sqrt(variance + eps)`; with `zeroIfConstant`, 0 where
 * `variance + eps` is 0 (a constant slice with eps 0), as PyTorch's batch
 * and instance norm kernels: such a slice normalises to 0, with derivatives
 * 0 (the square root sees 1 there, so no infinity reaches them), where its
 * layer and group norm give NaN.
 */
function invStd(
  variance: Tensor,
  eps: number,
  zeroIfConstant: boolean,
): Tensor {
  // (variance >= 0: only eps 0 can make the sum 0)
  if (!zeroIfConstant || eps > 0) return div(1, sqrt(add(variance, eps)));
  const constant = equal(variance, 0);
  return where(constant, 0, div(1, sqrt(where(constant, 1, variance))));
}

/**
 * `x - mean` and `rstd = 1 / sqrt(var + eps)` over `axes` (kept), with the
 * biased variance ({@linkcode invStd}'s rstd with `zeroIfConstant`).
 * `x - mean` is corrected by its own mean (which is 0 but for the rounding
 * of the mean), so a mean far from 0 costs no digits: PyTorch's CPU kernels
 * compute `x·rstd - rstd·mean`, which cancels there (float32
 * x = 1000 + N(0, 1): PyTorch is off by 3e-4, this by 1e-6).
 */
function centered(
  x: Tensor,
  axes: number[],
  eps: number,
  zeroIfConstant = false,
): { d: Tensor; rstd: Tensor } {
  const keep = { axis: axes, keepDims: true };
  const d0 = sub(x, mean(x, keep));
  const d = sub(d0, mean(d0, keep));
  const rstd = invStd(mean(square(d), keep), eps, zeroIfConstant);
  return { d, rstd };
}

/** A positive integer, or an error naming the function and the argument. */
function positiveInteger(fn: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new Error(
      `${fn}: ${name} must be a positive integer, got ${
        typeof v === "number" ? v : describe(v)
      }`,
    );
  }
  return v;
}

/** An eps option: a finite number >= 0. */
function epsOption(fn: string, eps: unknown): number {
  if (typeof eps !== "number" || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new Error(
      `${fn}: eps must be a finite number >= 0, got ${
        typeof eps === "number" ? eps : describe(eps)
      }`,
    );
  }
  return eps;
}

/** An optional affine tensor (weight, bias) of shape `shape`, or null. */
function affineParam(
  fn: string,
  name: string,
  t: Tensor | null | undefined,
  shape: readonly number[],
  what: string,
): Tensor | null {
  if (t === undefined || t === null) return null;
  checkTensor(fn, t, name);
  if (!sameShape(t.shape, shape)) {
    throw new Error(
      `${fn}: ${name} must have shape ${fmt(shape)} (${what}), got ${
        fmt(t.shape)
      }`,
    );
  }
  return t;
}

/**
 * `x` divided by its `p`-norm along `axis` (default 2 and axis 1, as
 * `torch.nn.functional.normalize`), the norm clamped below at `eps`
 * (default 1e-12), so a zero slice stays zero; any `p` that
 * {@linkcode norm} takes.
 *
 * @example
 * ```ts
 * import { normalize, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(normalize(tensor([[3, 4], [0, 0]], { dtype: "float64" }))), [[0.6, 0.8], [0, 0]]);
 * ```
 */
export function normalize(
  x: Tensor,
  options?: { p?: number; axis?: number; eps?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("normalize");
  const fn = "normalize";
  checkOptions(fn, options, ["p", "axis", "eps"]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const { p = 2 } = options;
  if (typeof p !== "number" || Number.isNaN(p)) {
    throw new Error(`${fn}: p must be a number, got ${describe(p)}`);
  }
  const axis = normAxis(fn, options.axis ?? 1, x.shape.length, x.shape);
  const eps = epsOption(fn, options.eps ?? 1e-12);
  const n = norm(x, { ord: p, axis, keepDims: true });
  return div(x, clamp(n, { min: eps }));
}

/**
 * Layer normalisation over the last axes of `x`, as
 * `torch.nn.functional.layer_norm`: those axes must be `normalizedShape`
 * (a number for one axis); each slice is normalised with its mean and
 * biased variance, `(x - mean) / sqrt(var + eps)`, then scaled by `weight`
 * and shifted by `bias` (both of shape `normalizedShape`, optional). A
 * composition of public ops, so every transform applies; `x - mean` first,
 * so a mean far from 0 costs no digits (PyTorch's float32 kernel loses
 * some there).
 *
 * @example
 * ```ts
 * import { layerNorm, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 3], [2, 6]], { dtype: "float64" });
 * assert.deepEqual(toArray(layerNorm(x, 2, null, null, { eps: 0 })), [[-1, 1], [-1, 1]]);
 * const w = tensor([2, 2], { dtype: "float64" }), b = tensor([0, 1], { dtype: "float64" });
 * assert.deepEqual(toArray(layerNorm(x, [2], w, b, { eps: 0 })), [[-2, 3], [-2, 3]]);
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  options?: { eps?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("layerNorm");
  const fn = "layerNorm";
  checkOptions(fn, options, ["eps"]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const ns = typeof normalizedShape === "number"
    ? [normalizedShape]
    : normalizedShape;
  if (!Array.isArray(ns) || ns.length === 0) {
    throw new Error(
      `${fn}: normalizedShape must be a positive integer or a non-empty array of them, got ${
        describe(normalizedShape)
      }`,
    );
  }
  ns.forEach((d, i) => positiveInteger(fn, `normalizedShape[${i}]`, d));
  const k = ns.length, nd = x.shape.length;
  if (nd < k || !sameShape(x.shape.slice(nd - k), ns)) {
    throw new Error(
      `${fn}: normalizedShape ${fmt(ns)} expects x of shape [*, ${
        ns.join(", ")
      }], got x ${fmt(x.shape)}`,
    );
  }
  const what = "normalizedShape";
  const w = affineParam(fn, "weight", weight, ns, what);
  const b = affineParam(fn, "bias", bias, ns, what);
  const eps = epsOption(fn, options.eps ?? 1e-5);
  const axes = ns.map((_, i) => nd - k + i);
  const { d, rstd } = centered(x, axes, eps);
  let y = mul(d, rstd);
  if (w) y = mul(y, w);
  return b ? add(y, b) : y;
}

/**
 * Group normalisation, as `torch.nn.functional.group_norm`: the channels of
 * `x` `[N, C, ...]` are split into `numGroups` groups (C must be divisible by
 * it); each example's group is normalised with its mean and biased variance
 * over its channels and positions, then each channel is scaled by `weight`
 * and shifted by `bias` (both `[C]`, optional): `(x - mean)·rstd·weight +
 * bias`, a composition of public ops. A group of one value gives `bias`
 * (PyTorch raises "Expected more than 1 value per channel when training"
 * where N·C/G is 1 too, a check it shares with batch norm).
 *
 * @example
 * ```ts
 * import { groupNorm, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 3], [5, 7]]], { dtype: "float64" }); // [N=1, C=2, L=2]
 * assert.deepEqual(toArray(groupNorm(x, 2, null, null, { eps: 0 })), [[[-1, 1], [-1, 1]]]);
 * const one = toArray(groupNorm(x, 1, null, null, { eps: 0 })) as number[][][];
 * assert.ok(Math.abs(one[0][1][1] - 3 / Math.sqrt(5)) < 1e-15); // mean 4, variance 5
 * ```
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options?: { eps?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("groupNorm");
  const fn = "groupNorm";
  checkOptions(fn, options, ["eps"]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  if (x.shape.length < 2) {
    throw new Error(`${fn}: x must be [N, C, ...], got ${fmt(x.shape)}`);
  }
  const g = positiveInteger(fn, "numGroups", numGroups);
  const [n, c, s] = ncs(x.shape);
  if (c % g !== 0) {
    throw new Error(
      `${fn}: x has ${c} channels, which numGroups ${g} does not divide (x ${
        fmt(x.shape)
      })`,
    );
  }
  const what = "one per channel";
  const w = affineParam(fn, "weight", weight, [c], what);
  const b = affineParam(fn, "bias", bias, [c], what);
  const eps = epsOption(fn, options.eps ?? 1e-5);
  const { d, rstd } = centered(reshape(x, [n, g, c / g, s]), [2, 3], eps);
  const perChannel = (t: Tensor) => reshape(t, [1, g, c / g, 1]);
  let y = mul(d, w ? mul(rstd, perChannel(w)) : rstd);
  if (b) y = add(y, perChannel(b));
  return reshape(y, x.shape);
}

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** Running mean `[C]` (required when not training). */
  runningMean?: Tensor | null;
  /** Running variance `[C]` (required when not training). */
  runningVar?: Tensor | null;
  /** Scale `[C]`. */
  weight?: Tensor | null;
  /** Shift `[C]`. */
  bias?: Tensor | null;
  /** Use batch statistics and update the running ones. Default false. */
  training?: boolean;
  /**
   * Running-statistics update rate: a number, or a scalar tensor (a
   * cumulative average's `1/n` counted with ops, as `nn.batchNorm2d` with
   * `momentum: null` does under `jit`; float64 rounds as a number does).
   * Default 0.1.
   */
  momentum?: number | Tensor;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/**
 * Batch normalisation over axis 1 of `[N, C, ...]` (`[N, C]`, `[N, C, L]`,
 * `[N, C, H, W]`, `[N, C, D, H, W]`), as
 * `torch.nn.functional.batch_norm`, returning the new running statistics
 * instead of updating them (`runningVar` uses the unbiased batch variance).
 * Computed as PyTorch's CPU kernel does, `x·α + β` with per-channel
 * `α = weight / sqrt(var + eps)` and `β = bias - mean·α`; in training mode
 * one primitive whose derivatives are fused kernels too (about the cost of
 * a bias add and a relu), differentiable to any order. Training needs more
 * than one value per channel, or none: an empty batch gives an empty `y`
 * and the running statistics unchanged (as PyTorch).
 *
 * @example
 * ```ts
 * import { batchNorm, tensor, toArray, zeros, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1], [3]], { dtype: "float64" });
 * const { y, runningMean, runningVar } = batchNorm(x, {
 *   training: true, runningMean: zeros([1], { dtype: "float64" }), runningVar: ones([1], { dtype: "float64" }), eps: 0,
 * });
 * assert.deepEqual(toArray(y), [[-1], [1]]);
 * assert.deepEqual(toArray(runningMean!), [0.2]); // 0.9·0 + 0.1·2
 * assert.deepEqual(toArray(runningVar!), [1.1]); // 0.9·1 + 0.1·2 (unbiased)
 * ```
 */
export function batchNorm(
  x: Tensor,
  options?: BatchNormOptions,
): { y: Tensor; runningMean: Tensor | null; runningVar: Tensor | null } {
  if (options === undefined) options = {};
  using _op = userOp("batchNorm");
  const fn = "batchNorm";
  checkOptions(fn, options, [
    "runningMean",
    "runningVar",
    "weight",
    "bias",
    "training",
    "momentum",
    "eps",
  ]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  if (x.shape.length < 2) {
    throw new Error(`${fn}: x must be [N, C, ...], got ${fmt(x.shape)}`);
  }
  const c = x.shape[1];
  const { momentum = 0.1 } = options;
  const training = checkBool(fn, "training", options.training, false);
  const eps = epsOption(fn, options.eps ?? 1e-5);
  if (
    typeof momentum !== "number" &&
    !(isTensor(momentum) && momentum.shape.length === 0 &&
      momentum.dtype !== "int32")
  ) {
    throw new Error(
      `${fn}: momentum must be a number or a float scalar tensor, got ${
        describe(momentum)
      }`,
    );
  }
  // a rate in [0, 1] (NaN would make the running statistics NaN); a traced
  // tensor's value is not known here
  const rateValue = typeof momentum === "number"
    ? momentum
    : momentum instanceof Tracer
    ? null
    : momentum.data[0];
  if (rateValue !== null && !(rateValue >= 0 && rateValue <= 1)) {
    throw new Error(
      `${fn}: momentum must be a finite number in [0, 1], got ${
        typeof momentum === "number"
          ? momentum
          : `a scalar tensor holding ${rateValue}`
      }`,
    );
  }
  const stat = (name: string, t: Tensor | null | undefined) =>
    perChannel(fn, x, name, t);
  const rm = stat("runningMean", options.runningMean),
    rv = stat("runningVar", options.runningVar);
  const w = stat("weight", options.weight), b = stat("bias", options.bias);
  const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
  // one dtype for x and the per-channel tensors y depends on (float64 if any
  // is; in training the running statistics are only updated)
  let dtype = x.dtype;
  for (const t of training ? [w, b] : [rm, rv, w, b]) {
    if (t) dtype = promote(dtype, t.dtype);
  }
  const as = (t: Tensor) => t.dtype === dtype ? t : astype(t, dtype);
  const xd = as(x);
  if (!training) {
    if (!rm || !rv) {
      throw new Error(
        `${fn}: evaluation (training: false) needs runningMean and runningVar`,
      );
    }
    // x·α + β with α = w / sqrt(var + eps), β = b - mean·α (as PyTorch's CPU
    // kernel): two passes over x
    let alpha = div(1, sqrt(add(as(rv), eps)));
    if (w) alpha = mul(alpha, as(w));
    let beta = neg(mul(as(rm), alpha));
    if (b) beta = add(beta, as(b));
    return {
      y: add(mul(xd, reshape(alpha, bshape)), reshape(beta, bshape)),
      runningMean: rm,
      runningVar: rv,
    };
  }
  const [n, , s] = ncs(x.shape);
  if (n * s === 0) {
    // no values: an empty y, the running statistics as they were (PyTorch)
    let y = xd;
    if (w) y = mul(y, reshape(as(w), bshape));
    if (b) y = add(y, reshape(as(b), bshape));
    return { y, runningMean: rm, runningVar: rv };
  }
  if (n * s === 1) {
    throw new Error(
      `${fn}: training needs more than 1 value per channel, got x ${
        fmt(x.shape)
      }`,
    );
  }
  const y = bind(batchNormTrainPrim, [
    xd,
    w ? as(w) : ones([c], { dtype }),
    b ? as(b) : zeros([c], { dtype }),
  ], { eps });
  let newMean = rm, newVar = rv;
  if (rm || rv) { // buffers: no derivative flows into them
    const m = bind(momentsPrim, [concrete(xd)], {});
    const mu = reshape(slice(m, [0, 0], [1, c]), [c]);
    const v = reshape(slice(m, [1, 0], [2, c]), [c]);
    // a factor of the momentum: a number, or the tensor's in float64
    // arithmetic rounded to `t`'s dtype (as the number would be)
    const rate = (
      t: Tensor,
      f: (m: number) => number,
      g: (m: Tensor) => Tensor,
    ) =>
      typeof momentum === "number" ? f(momentum) : astype(g(momentum), t.dtype);
    const keep = (t: Tensor) => mul(t, rate(t, (m) => 1 - m, (m) => sub(1, m)));
    if (rm) newMean = add(keep(rm), mul(mu, rate(mu, (m) => m, (m) => m)));
    if (rv) {
      const unbiased = rate(
        v,
        (m) => (m * n * s) / (n * s - 1),
        (m) => div(mul(mul(m, n), s), n * s - 1),
      );
      newVar = add(keep(rv), mul(v, unbiased));
    }
  }
  return { y, runningMean: newMean, runningVar: newVar };
}

/** A per-channel tensor `[C]` of a norm of x `[N, C, ...]` (running statistics, weight, bias), checked; null when absent. */
function perChannel(
  fn: string,
  x: Tensor,
  name: string,
  t: Tensor | null | undefined,
): Tensor | null {
  if (t === undefined || t === null) return null;
  checkTensor(fn, t, name);
  const c = x.shape[1];
  if (t.shape.length !== 1 || t.shape[0] !== c) {
    throw new Error(
      `${fn}: ${name} must have shape [${c}] for x ${fmt(x.shape)}, got ${
        fmt(t.shape)
      }`,
    );
  }
  return t;
}

/** Options of {@linkcode localResponseNorm}. */
export interface LocalResponseNormOptions {
  /** Multiplies the window's mean square. Default 1e-4. */
  alpha?: number;
  /** The exponent. Default 0.75. */
  beta?: number;
  /** Added before the power. Default 1. */
  k?: number;
}

/**
 * Local response normalisation across channels (AlexNet's), as
 * `torch.nn.functional.local_response_norm`: `x / (k + alpha · mean)^beta`
 * where `mean` is the mean of `x²` over the `size` neighbouring channels
 * (zero-padded: `size/2` before, `(size - 1)/2` after), for x
 * `[N, C, ...]` with at least one spatial axis. PyTorch's construction, an
 * average pooling of the squares over a channel window.
 *
 * @example
 * ```ts
 * import { localResponseNorm, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[2], [0]]], { dtype: "float64" }); // [N=1, C=2, L=1]
 * const y = toArray(localResponseNorm(x, 1, { alpha: 1, beta: 1, k: 0 })) as number[][][];
 * assert.equal(y[0][0][0], 0.5); // 2 / (2² / 1)
 * ```
 */
export function localResponseNorm(
  x: Tensor,
  size: number,
  options?: LocalResponseNormOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("localResponseNorm");
  const fn = "localResponseNorm";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  checkOptions(fn, options, ["alpha", "beta", "k"]);
  positiveInteger(fn, "size", size);
  if (x.shape.length < 3) {
    throw new Error(
      `${fn}: x must be [N, C, ...] with at least one spatial axis, got ${
        fmt(x.shape)
      }`,
    );
  }
  const num = (name: string, v: unknown, dflt: number) => {
    const n = v ?? dflt;
    if (typeof n !== "number" || !Number.isFinite(n)) {
      throw new Error(
        `${fn}: ${name} must be a finite number, got ${describe(n)}`,
      );
    }
    return n;
  };
  const alpha = num("alpha", options.alpha, 1e-4);
  const beta = num("beta", options.beta, 0.75);
  const k = num("k", options.k, 1);
  const [n, c] = x.shape, m = sizeOf(x.shape.slice(2));
  // no entries: x as it is (PyTorch returns an empty input unchanged)
  if (n * c * m === 0) return mul(x, 1);
  // the squares as one image [N, 1, C, M], padded along the channels and
  // averaged over windows of `size` channels (the divisor counts the
  // padding). Window j spans channels j - before to j + after; past c - 1
  // either way the padding holds only zeros no window reaches beyond the
  // channels, so both sides are cut to at most c - 1 and the divisor kept
  // at `size`: the same sums of the same squares (the zeros left out add
  // +0 to a sum of squares), for a cost in C rather than in `size`.
  const sq = reshape(mul(x, x), [n, 1, c, m]);
  const before = Math.min(Math.floor(size / 2), c - 1),
    after = Math.min(Math.floor((size - 1) / 2), c - 1);
  const padded = pad(sq, [[0, 0], [0, 0], [before, after], [0, 0]]);
  const mean = avgPool2d(padded, {
    kernelSize: [before + after + 1, 1],
    stride: 1,
    divisorOverride: size,
  });
  const scale = pow(add(mul(mean, alpha), k), beta);
  return div(x, reshape(scale, x.shape));
}

/** Options of {@linkcode instanceNorm}. */
export interface InstanceNormOptions {
  /** Running mean `[C]` (updated when using input statistics; required when not). */
  runningMean?: Tensor | null;
  /** Running variance `[C]`. */
  runningVar?: Tensor | null;
  /** Scale `[C]`. */
  weight?: Tensor | null;
  /** Shift `[C]`. */
  bias?: Tensor | null;
  /** Normalise each instance with its own statistics (else with the running ones). Default true. */
  useInputStats?: boolean;
  /** Running-statistics update rate. Default 0.1. */
  momentum?: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/**
 * Instance normalisation, as `torch.nn.functional.instance_norm`: each
 * channel of each example of `[N, C, ...]` normalised over its positions
 * (biased variance), then scaled by `weight` and shifted by `bias` (`[C]`).
 * Each instance is centred and scaled as {@linkcode layerNorm} does (a
 * composition, differentiable to any order); the new running statistics
 * are the mean over the examples of each one's update (unbiased variance),
 * as PyTorch's; with `useInputStats: false` the running statistics
 * normalise instead.
 * Returns them instead of updating them, as {@linkcode batchNorm}; an empty
 * x leaves them as they were (PyTorch makes them NaN).
 *
 * @example
 * ```ts
 * import { instanceNorm, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 3], [10, 30]]], { dtype: "float64" }); // [N=1, C=2, L=2]
 * const { y } = instanceNorm(x, { eps: 0 });
 * assert.deepEqual(toArray(y), [[[-1, 1], [-1, 1]]]);
 * ```
 */
export function instanceNorm(
  x: Tensor,
  options?: InstanceNormOptions,
): { y: Tensor; runningMean: Tensor | null; runningVar: Tensor | null } {
  if (options === undefined) options = {};
  using _op = userOp("instanceNorm");
  const fn = "instanceNorm";
  checkOptions(fn, options, [
    "runningMean",
    "runningVar",
    "weight",
    "bias",
    "useInputStats",
    "momentum",
    "eps",
  ]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  if (x.shape.length < 3) {
    throw new Error(
      `${fn}: x must be [N, C, ...] with at least one spatial axis, got ${
        fmt(x.shape)
      }`,
    );
  }
  const useInputStats = checkBool(
    fn,
    "useInputStats",
    options.useInputStats,
    true,
  );
  const momentum = options.momentum ?? 0.1;
  // a rate in [0, 1], as batchNorm's
  if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1)) {
    throw new Error(
      `${fn}: momentum must be a finite number in [0, 1], got ${
        describe(momentum)
      }`,
    );
  }
  const [n, c] = x.shape;
  const spatial = x.shape.slice(2);
  if (useInputStats && n * c > 0 && sizeOf(spatial) === 1) {
    throw new Error(
      `${fn}: each instance needs more than 1 value (x ${
        fmt(x.shape)
      } has one position per channel)`,
    );
  }
  // per-channel tensors [C] checked, shaped [1, C, 1, ...] to broadcast
  const bshape = [1, c, ...spatial.map(() => 1)];
  const rm = perChannel(fn, x, "runningMean", options.runningMean);
  const rv = perChannel(fn, x, "runningVar", options.runningVar);
  const w = perChannel(fn, x, "weight", options.weight);
  const b = perChannel(fn, x, "bias", options.bias);
  if (!useInputStats && (!rm || !rv)) {
    throw new Error(
      `${fn}: useInputStats: false normalises with runningMean and runningVar, which are missing`,
    );
  }
  const eps = epsOption(fn, options.eps ?? 1e-5);
  const axes = spatial.map((_, i) => i + 2);
  let y: Tensor;
  let newMean = rm, newVar = rv;
  if (useInputStats) {
    // each instance over its positions, as layerNorm does (no tiling of the
    // per-channel tensors by N, so an export keeps its dynamic batch)
    // (a constant instance with eps 0 gives 0, as PyTorch's)
    const { d, rstd } = centered(x, axes, eps, true);
    y = mul(d, rstd);
    // buffers: no derivative flows into them; an empty x leaves them as they
    // were (as batchNorm; PyTorch makes them NaN)
    if ((rm || rv) && n * sizeOf(spatial) > 0) {
      // the mean over the examples of each one's update (PyTorch's)
      const cx = concrete(x), keep = { axis: axes, keepDims: true };
      const mu = mean(cx, keep);
      const count = sizeOf(spatial);
      const v = mul(mean(square(sub(cx, mu)), keep), count / (count - 1));
      const update = (old: Tensor, stat: Tensor) =>
        add(
          mul(old, 1 - momentum),
          mul(mean(reshape(stat, [n, c]), { axis: 0 }), momentum),
        );
      if (rm) newMean = update(rm, mu);
      if (rv) newVar = update(rv, v);
    }
  } else {
    y = div(sub(x, reshape(rm!, bshape)), sqrt(add(reshape(rv!, bshape), eps)));
  }
  if (w) y = mul(y, reshape(w, bshape));
  if (b) y = add(y, reshape(b, bshape));
  return { y, runningMean: newMean, runningVar: newVar };
}

/** `[N, C, ...]` viewed as `[n, c, s]`, s the product of the spatial sizes. */
function ncs(shape: readonly number[]): [number, number, number] {
  return [shape[0], shape[1], sizeOf(shape.slice(2))];
}

/** The axes batch norm reduces over: all but the channel axis 1. */
function bnAxes(shape: readonly number[]): number[] {
  return [0, ...shape.slice(2).map((_, i) => i + 2)];
}

/** The static parameter of the batch-norm primitives. */
interface BnParams {
  eps: number;
}

/**
 * Batch norm in training mode, `(x - mean)·rstd·w + b` with the batch's
 * statistics, as one primitive: a fused kernel reads x for the statistics
 * and writes y once. Its VJP is two more primitives with fused kernels (the
 * input and the weight derivative) and a sum (the bias derivative), so a
 * training step makes one full-size array forward and one backward.
 */
/**
 * Batch norm under vmap: each example's batch statistics are its own, so
 * the examples go side by side in the channels: x [B, N, C, ...] as
 * [N, B·C, ...], per-channel vectors [B, C] as [B·C].
 */
function bnIntoChannels(x: Tensor, d: number | null, b: number): Tensor {
  const xf = batchFront(x, d, b);
  const [, n, c, ...rest] = xf.shape;
  const perm = [1, 0, ...xf.shape.slice(2).map((_, i) => i + 2)];
  return reshape(transpose(xf, perm), [n, b * c, ...rest]);
}

/** A per-channel vector [C] of every example as [B·C]. */
function bnChannels(v: Tensor, d: number | null, b: number): Tensor {
  return reshape(batchFront(v, d, b), [-1]);
}

/** [N, B·C, ...] back to [N, B, C, ...] (batch axis 1), C that of `x` batched by `d` (B may be 0). */
function bnOutOfChannels(
  y: Tensor,
  b: number,
  x: Tensor,
  d: number | null,
): Tensor {
  const [n, , ...rest] = y.shape;
  return reshape(y, [n, b, exampleShape(x, d)[1], ...rest]);
}

/**
 * The batch's per-channel mean and biased variance, `[2, C]`, as the
 * training kernel sums them (in float64): what the running statistics
 * take in (a primitive, so that `jit` records it). Under vmap each
 * example's own statistics, the examples side by side in the channels.
 */
const momentsPrim: Primitive<Empty> = definePrimitive({
  name: "batchNormMoments",
  forward: ([x]) => {
    const [n, c, s] = ncs(x.shape);
    const st = bnk.moments(x.data, n, c, s);
    const out = allocData(x.dtype, 2 * c);
    out.set(st.mean);
    out.set(st.variance, c);
    return fromData(out, [2, c]);
  },
  vjp: () => [null],
  // the examples side by side in the channels: each example's moments as
  // the kernel sums them (in float64), the loop's bits in float32 too
  batch: ([x], [d]) => {
    const b = x.shape[d!];
    const m = bind(momentsPrim, [bnIntoChannels(x, d, b)], {}); // [2, B·C]
    return [reshape(m, [2, b, exampleShape(x, d)[1]]), 1];
  },
});

const batchNormTrainPrim: Primitive<BnParams> = definePrimitive({
  name: "batchNorm",
  forward: ([x, w, b], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    const out = allocData(x.dtype, x.data.length);
    return fromData(
      bnk.forward(x.data, n, c, s, w.data, b.data, eps, out),
      x.shape,
    );
  },
  vjp: ([x, w], _y, p) => [
    (g) => bind(batchNormInputGradPrim, [g, x, w], p),
    (g) => bind(batchNormWeightGradPrim, [g, x], p),
    (g) => sum(g, { axis: bnAxes(x.shape) }),
  ],
  batch: ([x, w, bias], [dx, dw, db], p) => {
    const b = batchSize([x, w, bias], [dx, dw, db]);
    const y = bind(batchNormTrainPrim, [
      bnIntoChannels(x, dx, b),
      bnChannels(w, dw, b),
      bnChannels(bias, db, b),
    ], p);
    return [bnOutOfChannels(y, b, x, dx), 1];
  },
});

/** x̂ = (x - mean)·rstd with the batch statistics (rstd 0 where var + eps is 0, as the kernels), in public ops. */
function normalizedRef(x: Tensor, eps: number): Tensor {
  const keep = { axis: bnAxes(x.shape), keepDims: true };
  const d = sub(x, mean(x, keep));
  return mul(d, invStd(mean(square(d), keep), eps, true));
}

/**
 * The input derivative of training-mode batch norm in public ops,
 * `w·rstd·(g - mean(g) - x̂·mean(g·x̂))`: what the input-derivative kernel
 * computes, written so its own derivatives (grad of grad) come from autodiff.
 */
function inputGradRef(g: Tensor, x: Tensor, w: Tensor, eps: number): Tensor {
  const keep = { axis: bnAxes(x.shape), keepDims: true };
  const d = sub(x, mean(x, keep));
  const rstd = invStd(mean(square(d), keep), eps, true);
  const xh = mul(d, rstd);
  const inner = sub(sub(g, mean(g, keep)), mul(xh, mean(mul(g, xh), keep)));
  return mul(inner, mul(reshape(w, rstd.shape as number[]), rstd));
}

/** The VJP closures of `f` at `inputs`, one per input, sharing one backward pass per cotangent. */
function vjpOf(
  f: (...args: Tensor[]) => Tensor,
  inputs: Tensor[],
): ((ct: Tensor) => Tensor)[] {
  const [, back] = vjp(f, ...inputs);
  let cache: [Tensor, Tensor[]] | null = null;
  return inputs.map((_, i) => (ct: Tensor) => {
    if (!cache || cache[0] !== ct) cache = [ct, back(ct)];
    return cache[1][i];
  });
}

/** The input derivative of {@linkcode batchNormTrainRule}: inputs g, x, w. */
const batchNormInputGradPrim: Primitive<BnParams> = definePrimitive({
  name: "batchNormInputGrad",
  forward: ([g, x, w], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    const out = allocData(x.dtype, x.data.length);
    return fromData(
      bnk.inputGrad(g.data, x.data, n, c, s, w.data, eps, out),
      x.shape,
    );
  },
  vjp: (inputs, _y, { eps }) =>
    vjpOf((g, x, w) => inputGradRef(g, x, w, eps), inputs),
  batch: ([g, x, w], [dg, dx, dw], p) => {
    const b = batchSize([g, x, w], [dg, dx, dw]);
    const y = bind(batchNormInputGradPrim, [
      bnIntoChannels(g, dg, b),
      bnIntoChannels(x, dx, b),
      bnChannels(w, dw, b),
    ], p);
    return [bnOutOfChannels(y, b, x, dx), 1];
  },
});

/** The weight derivative of {@linkcode batchNormTrainRule}, `Σ g·x̂` per channel: inputs g, x. */
const batchNormWeightGradPrim: Primitive<BnParams> = definePrimitive({
  name: "batchNormWeightGrad",
  forward: ([g, x], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    return fromData(
      bnk.weightGrad(g.data, x.data, n, c, s, eps, allocData(x.dtype, c)),
      [c],
    );
  },
  vjp: (inputs, _y, { eps }) =>
    vjpOf(
      (g, x) => sum(mul(g, normalizedRef(x, eps)), { axis: bnAxes(x.shape) }),
      inputs,
    ),
  batch: ([g, x], [dg, dx], p) => {
    const b = batchSize([g, x], [dg, dx]);
    const y = bind(batchNormWeightGradPrim, [
      bnIntoChannels(g, dg, b),
      bnIntoChannels(x, dx, b),
    ], p);
    // (each example's channels: b may be 0)
    return [reshape(y, [b, exampleShape(x, dx)[1]]), 0];
  },
});
