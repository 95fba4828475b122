/**
 * Batch-mixing augmentations, as torchvision's classification references
 * (`RandomMixup`, `RandomCutmix`): each image mixed with the next one of the
 * batch (the batch rolled by one), the labels mixed in the same proportion
 * into class probabilities, which `crossEntropy` takes as targets.
 *
 * @module
 */
import {
  arange,
  checkOptions,
  describe,
  fmtShape as fmt,
  type Tensor,
} from "../ops/tensor.ts";
import {
  add,
  astype,
  greaterEqual,
  less,
  mul,
  where,
} from "../ops/elementwise.ts";
import { logicalAnd } from "../ops/math.ts";
import { oneHot } from "../ops/indexing.ts";
import { reshape } from "../ops/structural.ts";
import { roll } from "../ops/shape.ts";
import { floatCheck } from "../ops/_args.ts";
import { beta, type Key, randint, split, uniform } from "../ops/random.ts";
import { requireKey } from "./geometric.ts";

/** Options of {@linkcode mixup} and {@linkcode cutmix} (the references' arguments). */
export interface MixOptions {
  /**
   * Classes, for int labels. Required when `y` holds int32 labels; with
   * class probabilities `[N, C]` it may be left out, else it must be C.
   */
  numClasses?: number;
  /** The Beta(alpha, alpha) the proportion is drawn from. Default 1. */
  alpha?: number;
  /** The probability that the batch is mixed at all. Default 0.5. */
  p?: number;
  /** The random key. Required. */
  key: Key;
}

/** A mixed batch: the images and the class probabilities `[N, C]`. */
export interface Mixed {
  /** The images. */
  x: Tensor;
  /** The labels as class probabilities `[N, C]` in the images' dtype. */
  y: Tensor;
}

/** The checked inputs: images `[N, C, H, W]`, labels as probabilities, and the draws. */
function setup(fn: string, x: Tensor, y: Tensor, options: MixOptions) {
  const o = checkOptions(fn, options, [
    "numClasses",
    "alpha",
    "p",
    "key",
  ]) as unknown as MixOptions;
  const key = requireKey(fn, o.key);
  floatCheck(fn, "x", x);
  if (x.shape.length !== 4) {
    throw new Error(`${fn}: x must be [N, C, H, W], got ${fmt(x.shape)}`);
  }
  const n = x.shape[0];
  const alpha = o.alpha ?? 1;
  if (typeof alpha !== "number" || !(alpha > 0) || !Number.isFinite(alpha)) {
    throw new Error(
      `${fn}: alpha must be a finite number > 0, got ${describe(alpha)}`,
    );
  }
  const p = o.p ?? 0.5;
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: p must be a number in [0, 1], got ${describe(p)}`);
  }
  let probs: Tensor;
  if (y?.dtype === "int32" && y.shape.length === 1 && y.shape[0] === n) {
    const c = o.numClasses;
    if (c === undefined) {
      throw new Error(
        `${fn}: numClasses is required with int32 labels (they become one-hot probabilities)`,
      );
    }
    if (!Number.isInteger(c) || c < 1 || c >= 2 ** 31) {
      throw new Error(
        `${fn}: numClasses must be an integer >= 1, got ${describe(c)}`,
      );
    }
    const bad = Array.from(y.data).findIndex((v) => v < 0 || v >= c);
    if (bad >= 0) {
      throw new Error(
        `${fn}: labels must be in [0, ${c}), got ${
          y.data[bad]
        } at index ${bad}`,
      );
    }
    probs = oneHot(y, c, { dtype: x.dtype });
  } else if (
    (y?.dtype === "float32" || y?.dtype === "float64") &&
    y.shape.length === 2 && y.shape[0] === n
  ) {
    // a numClasses that contradicts the probabilities' columns is an error,
    // not an option silently dropped
    if (o.numClasses !== undefined && o.numClasses !== y.shape[1]) {
      throw new Error(
        `${fn}: numClasses ${describe(o.numClasses)} does not match the ${
          y.shape[1]
        } columns of the class probabilities y ${fmt(y.shape)}`,
      );
    }
    probs = astype(y, x.dtype);
  } else {
    throw new Error(
      `${fn}: y must be int32 labels [${n}] or class probabilities [${n}, C] for x ${
        fmt(x.shape)
      }, got ${describe(y)}`,
    );
  }
  const [kp, kl, kx, ky] = split(key, 4);
  const apply = n > 0 && uniform(kp, []).data[0] < p;
  const lambda = beta(kl, alpha, alpha, [], { dtype: "float64" }).data[0];
  return { probs, apply, lambda, kx, ky };
}

/** `λ a + (1 - λ) roll(a)`, the references' order of operations. */
const blend = (a: Tensor, lambda: number) =>
  add(mul(a, lambda), mul(roll(a, 1, { axis: 0 }), 1 - lambda));

/**
 * Mixup (torchvision's references, `RandomMixup`): with probability `p`,
 * each image becomes `λ x + (1 - λ) x'` with x' the previous image of the
 * batch (the batch rolled by one) and λ drawn from Beta(alpha, alpha), and
 * the labels the same mix of one-hot probabilities. One draw per batch.
 *
 * @example
 * ```ts
 * import { mixup } from "./mod.ts";
 * import { random, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.uniform(random.key(0), [4, 1, 2, 2]);
 * const m = mixup(x, tensor([0, 1, 2, 1], { dtype: "int32" }), { numClasses: 3, p: 1, key: random.key(1) });
 * assert.deepEqual(m.y.shape, [4, 3]);
 * assert.ok([...m.y.data].every((v) => v >= 0 && v <= 1));
 * ```
 */
export function mixup(x: Tensor, y: Tensor, options: MixOptions): Mixed {
  const fn = "mixup";
  const { probs, apply, lambda } = setup(fn, x, y, options);
  if (!apply) return { x, y: probs };
  return { x: blend(x, lambda), y: blend(probs, lambda) };
}

/**
 * CutMix (torchvision's references, `RandomCutmix`): with probability `p`,
 * a box of each image is replaced by the same box of the previous image
 * (the batch rolled by one): centre drawn uniformly, half-sides
 * `floor(0.5·sqrt(1 - λ)·W)` and `...·H` with λ from Beta(alpha, alpha),
 * cut at the edges; the labels mixed by the share of the image kept. One
 * box per batch.
 *
 * @example
 * ```ts
 * import { cutmix } from "./mod.ts";
 * import { random, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.uniform(random.key(0), [4, 3, 8, 8]);
 * const m = cutmix(x, tensor([0, 1, 2, 1], { dtype: "int32" }), { numClasses: 3, p: 1, key: random.key(1) });
 * assert.deepEqual(m.x.shape, [4, 3, 8, 8]);
 * ```
 */
export function cutmix(x: Tensor, y: Tensor, options: MixOptions): Mixed {
  const fn = "cutmix";
  const { probs, apply, lambda, kx, ky } = setup(fn, x, y, options);
  if (!apply) return { x, y: probs };
  const [, , h, w] = x.shape;
  const rx = randint(kx, [], 0, w).data[0], ry = randint(ky, [], 0, h).data[0];
  const r = 0.5 * Math.sqrt(1 - lambda);
  const rw = Math.trunc(r * w), rh = Math.trunc(r * h);
  const x1 = Math.max(rx - rw, 0), y1 = Math.max(ry - rh, 0);
  const x2 = Math.min(rx + rw, w), y2 = Math.min(ry + rh, h);
  const rows = arange(h, undefined, 1, { dtype: "int32" });
  const cols = arange(w, undefined, 1, { dtype: "int32" });
  const inRows = logicalAnd(greaterEqual(rows, y1), less(rows, y2));
  const inCols = logicalAnd(greaterEqual(cols, x1), less(cols, x2));
  const box = logicalAnd(reshape(inRows, [h, 1]), reshape(inCols, [1, w]));
  const kept = 1 - ((x2 - x1) * (y2 - y1)) / (w * h);
  return { x: where(box, roll(x, 1, { axis: 0 }), x), y: blend(probs, kept) };
}
