/**
 * Activations that draw random numbers in training: `rrelu`
 * (`torch.nn.functional.rrelu`) and `gumbelSoftmax`
 * (`torch.nn.functional.gumbel_softmax`), their noise from a key.
 *
 * @module
 */
import { checkOptions, checkTensor, describe, type Tensor } from "./tensor.ts";
import { userOp } from "./debug.ts";
import { checkKeyArg, floatCheck, fmt } from "./_args.ts";
import { add, div, greater, mul, sub, where } from "./elementwise.ts";
import { gumbel, type Key, uniform } from "./random.ts";
import { leakyRelu, softmax } from "./activations.ts";
import { argmax } from "./reductions.ts";
import { oneHot } from "./indexing.ts";
import { reshape, transpose } from "./structural.ts";
import { stopGradient } from "./transforms.ts";

/** Options of {@linkcode rrelu} (F.rrelu's). */
export interface RreluOptions {
  /** The smallest slope. Default 1/8. */
  lower?: number;
  /** The largest slope. Default 1/3. */
  upper?: number;
  /** Draw the slopes (training), or use their mean. Default false, as F.rrelu. */
  training?: boolean;
  /** The random key, required in training. */
  key?: Key;
}

/**
 * Randomized leaky ReLU (`torch.nn.functional.rrelu`): in training each
 * element at or below 0 is multiplied by its own slope drawn uniformly from
 * `[lower, upper)` (the gradient there is that slope); in inference it is
 * `leakyRelu` with the slopes' mean `(lower + upper) / 2`.
 *
 * @example
 * ```ts
 * import { rrelu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(rrelu(tensor([-4, 2]), { lower: 0.25, upper: 0.75 })), [-2, 2]);
 * ```
 */
export function rrelu(x: Tensor, options?: RreluOptions): Tensor {
  if (options === undefined) options = {};
  const fn = "rrelu";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  checkOptions(fn, options, ["lower", "upper", "training", "key"]);
  const { lower = 1 / 8, upper = 1 / 3, training = false } = options;
  if (
    typeof lower !== "number" || typeof upper !== "number" ||
    !Number.isFinite(lower) || !Number.isFinite(upper) || !(lower <= upper)
  ) {
    throw new Error(
      `${fn}: lower and upper must be finite numbers with lower <= upper, got ${
        describe(lower)
      } and ${describe(upper)}`,
    );
  }
  if (typeof training !== "boolean") {
    throw new Error(
      `${fn}: training must be a boolean, got ${describe(training)}`,
    );
  }
  if (!training || lower === upper) {
    return leakyRelu(x, { negativeSlope: (lower + upper) / 2 });
  }
  if (!options.key) {
    throw new Error(
      `${fn}: training needs options.key (a random.key) to draw the slopes`,
    );
  }
  checkKeyArg(fn, options.key, "options.key");
  const slopes = uniform(options.key, x.shape, {
    minval: lower,
    maxval: upper,
    dtype: x.dtype,
  });
  return where(greater(x, 0), x, mul(x, slopes));
}

/** Options of {@linkcode gumbelSoftmax} (F.gumbel_softmax's). */
export interface GumbelSoftmaxOptions {
  /** The temperature, > 0. Default 1. */
  tau?: number;
  /** One-hot samples whose gradient is the soft sample's (straight-through). Default false. */
  hard?: boolean;
  /** The axis of the classes. Default -1. */
  axis?: number;
  /** The random key. Required. */
  key: Key;
}

/**
 * A differentiable sample of class probabilities
 * (`torch.nn.functional.gumbel_softmax`): `softmax((logits + g) / tau)` with
 * standard Gumbel noise g from `key`; with `hard`, the one-hot vector of its
 * largest entry, whose gradient is the soft sample's (`y_hard -
 * stopGradient(y_soft) + y_soft`).
 *
 * @example
 * ```ts
 * import { gumbelSoftmax, random, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = gumbelSoftmax(tensor([[1, 2, 3]]), { hard: true, key: random.key(0) });
 * assert.equal([...y.data].reduce((s, v) => s + v, 0), 1);
 * ```
 */
export function gumbelSoftmax(
  logits: Tensor,
  options: GumbelSoftmaxOptions,
): Tensor {
  const fn = "gumbelSoftmax";
  using _op = userOp(fn);
  checkTensor(fn, logits, "logits");
  floatCheck(fn, "logits", logits);
  checkOptions(fn, options, ["tau", "hard", "axis", "key"]);
  const { tau = 1, hard = false, axis = -1 } = options ?? {};
  if (typeof tau !== "number" || !(tau > 0) || !Number.isFinite(tau)) {
    throw new Error(
      `${fn}: tau must be a finite number > 0, got ${describe(tau)}`,
    );
  }
  if (typeof hard !== "boolean") {
    throw new Error(`${fn}: hard must be a boolean, got ${describe(hard)}`);
  }
  const rank = logits.shape.length;
  // (a scalar takes axis 0 and -1, as softmax and PyTorch's dim wrapping)
  const wrap = Math.max(rank, 1);
  if (!Number.isInteger(axis) || axis < -wrap || axis >= wrap) {
    throw new Error(
      `${fn}: axis must be an integer in [${-wrap}, ${wrap}), got ${
        describe(axis)
      }`,
    );
  }
  if (!options?.key) {
    throw new Error(`${fn}: options.key (a random.key) is required`);
  }
  checkKeyArg(fn, options.key, "options.key");
  if (rank === 0) { // one class: the sample of its one-entry vector
    const one = gumbelSoftmax(reshape(logits, [1]), { ...options, axis: 0 });
    return reshape(one, []);
  }
  const g = gumbel(options.key, logits.shape, { dtype: logits.dtype });
  const soft = softmax(div(add(logits, g), tau), { axis });
  if (!hard) return soft;
  const ax = axis < 0 ? axis + rank : axis;
  const c = logits.shape[ax];
  if (c === 0) { // (as PyTorch's max: no class to pick)
    throw new Error(
      `${fn}: hard samples need at least one class along axis ${axis}, got logits ${
        fmt(logits.shape)
      }`,
    );
  }
  const index = argmax(soft, { axis: ax });
  // one-hot along the last axis, moved to `axis`
  const last = oneHot(index, c, { dtype: logits.dtype });
  const perm = [...Array(rank).keys()].map((i) =>
    i < ax ? i : i === ax ? rank - 1 : i - 1
  );
  const y = transpose(last, perm);
  return add(sub(y, stopGradient(soft)), soft);
}
