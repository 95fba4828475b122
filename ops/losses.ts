/**
 * Losses (torch.nn.functional's): crossEntropy (with label smoothing, class
 * weights, ignoreIndex), nllLoss, mseLoss, l1Loss,
 * binaryCrossEntropyWithLogits, huberLoss, smoothL1Loss and klDiv, each with
 * PyTorch's `reduction`; and cosineSimilarity.
 *
 * @module
 */
import {
  allocData,
  arange,
  checkOptions,
  checkTensor,
  describe,
  fromData,
  isTensor,
  promote,
  sameShape,
  showValue,
  sizeOf,
  type Tensor,
} from "./tensor.ts";
import { bind, definePrimitive, type Primitive } from "./trace.ts";
import { userOp } from "./debug.ts";
import { floatCheck, fmt } from "./_args.ts";
import { checkedValues } from "./indexing.ts";
import { logSigmoid, logSoftmax } from "./activations.ts";
import {
  abs,
  add,
  astype,
  div,
  equal,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  log1p,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  relu,
  resultType,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.ts";
import { clamp } from "./math.ts";
import { mean, norm } from "./reductions.ts";
import {
  batchFront,
  batchSize,
  broadcastTo,
  expandDims,
  normAxis,
  reshape,
  sum,
} from "./structural.ts";
import { stopGradient } from "./transforms.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";

// ---------------------------------------------------------------------------
// losses

/** How a loss reduces over the batch. */
export type Reduction = "mean" | "sum" | "none";

export function reduce(
  fn: string,
  loss: Tensor,
  reduction: Reduction | undefined,
): Tensor {
  const r = reduction ?? "mean";
  if (r === "mean") return mean(loss);
  if (r === "sum") return sum(loss);
  if (r === "none") return loss;
  throw new Error(
    `${fn}: reduction must be "mean", "sum" or "none", got ${
      showValue(reduction)
    }`,
  );
}

function sameShapeCheck(
  fn: string,
  a: Tensor,
  an: string,
  b: Tensor,
  bn: string,
): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(
      `${fn}: ${an} ${fmt(a.shape)} and ${bn} ${
        fmt(b.shape)
      } must have the same shape`,
    );
  }
}

/** Options of {@linkcode crossEntropy} and {@linkcode nllLoss}. */
export interface ClassLossOptions {
  /** "mean" (default; weighted by class weights as PyTorch), "sum" or "none". */
  reduction?: Reduction;
  /**
   * Label to skip (contributes nothing, not counted in the mean; when every
   * label is skipped the mean is NaN and its gradient 0, as PyTorch's; also
   * when the kept labels' class weights sum to 0, where PyTorch's gradient
   * is NaN at the kept labels). Default -100. Class indices only: with
   * class probabilities a value >= 0 is an error, as PyTorch's.
   */
  ignoreIndex?: number;
  /** Per-class weights `[C]`. */
  weight?: Tensor | null;
}

/** Checks int labels `[N, d...]` against logits `[N, C, d...]`; returns the one-hot mask over axis 1. */
function oneHot(
  fn: string,
  input: Tensor,
  labels: Tensor,
  ignoreIndex: number | null,
): Tensor {
  const c = input.shape[1];
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (!sameShape(labels.shape, expected)) {
    throw new Error(
      `${fn}: labels must have shape ${fmt(expected)} for input ${
        fmt(input.shape)
      }, got ${fmt(labels.shape)}`,
    );
  }
  const shape = fmt(labels.shape), size = sizeOf(labels.shape);
  const checked = checkedValues(labels, (data) => {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v !== ignoreIndex && (v < 0 || v >= c)) {
        // (under vmap, data holds every example's labels)
        const each = data.length === size
          ? ""
          : `, each of ${data.length / size} examples'`;
        throw new Error(
          `${fn}: labels must be in [0, ${c})${
            ignoreIndex === null ? "" : ` (or ignoreIndex ${ignoreIndex})`
          }, got ${v} at flat index ${i} (labels ${shape}${each})`,
        );
      }
    }
  });
  const classShape = [1, c, ...input.shape.slice(2).map(() => 1)];
  return equal(
    expandDims(checked, 1),
    reshape(arange(c, undefined, 1, { dtype: "int32" }), classShape),
  );
}

function classWeight(
  fn: string,
  weight: Tensor | null | undefined,
  input: Tensor,
): Tensor | null {
  if (weight === undefined || weight === null) return null;
  checkTensor(fn, weight, "weight");
  if (weight.shape.length !== 1 || weight.shape[0] !== input.shape[1]) {
    throw new Error(
      `${fn}: weight must have shape [${input.shape[1]}] (one per class), got ${
        fmt(weight.shape)
      }`,
    );
  }
  return reshape(weight, [
    1,
    input.shape[1],
    ...input.shape.slice(2).map(() => 1),
  ]);
}

/** An elementwise weight option (`weight`, `posWeight`): null, or a tensor that broadcasts to `like`'s shape. */
function broadcastWeight(
  fn: string,
  name: string,
  weight: unknown,
  like: Tensor,
): Tensor | null {
  if (weight === undefined || weight === null) return null;
  const w = checkTensor(fn, weight, name);
  const b = broadcastShapes(w.shape, like.shape);
  if (
    !b || b.length !== like.shape.length ||
    !b.every((d, i) => d === like.shape[i])
  ) {
    throw new Error(
      `${fn}: ${name} ${fmt(w.shape)} must broadcast to the loss's shape ${
        fmt(like.shape)
      }`,
    );
  }
  return w;
}

function classInput(fn: string, input: Tensor, name: string): void {
  checkTensor(fn, input, name);
  floatCheck(fn, name, input);
  if (input.shape.length < 2) {
    throw new Error(
      `${fn}: ${name} must be [N, C, ...], got ${fmt(input.shape)}`,
    );
  }
}

/**
 * Negative log-likelihood of int32 class labels given log-probabilities
 * `[N, C, ...]` (or unbatched `[C]` with a label of shape `[]`), as
 * `torch.nn.functional.nll_loss`.
 *
 * @example
 * ```ts
 * import { item, nllLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const logp = tensor([[-1, -2], [-3, -0.5]]);
 * assert.equal(item(nllLoss(logp, tensor([0, 1], { dtype: "int32" }))), 0.75);
 * ```
 */
export function nllLoss(
  logProbs: Tensor,
  labels: Tensor,
  options?: ClassLossOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("nllLoss");
  const fn = "nllLoss";
  checkOptions(fn, options, ["reduction", "ignoreIndex", "weight"]);
  return unbatched(fn, logProbs, labels, (lp, l) => {
    classInput(fn, lp, "logProbs");
    return classLoss(fn, lp, l, options, 0);
  });
}

/**
 * PyTorch's unbatched form of the class losses: input `[C]` with a label of
 * shape `[]` (or probabilities `[C]`) is a batch of one, and its loss has
 * shape `[]` whatever the reduction; `f` computes the batched loss.
 */
function unbatched(
  fn: string,
  input: Tensor,
  labels: Tensor,
  f: (input: Tensor, labels: Tensor) => Tensor,
): Tensor {
  if (!isTensor(input) || input.shape.length !== 1 || !isTensor(labels)) {
    return f(input, labels);
  }
  const want = labels.dtype === "int32" ? [] : input.shape;
  if (!sameShape(labels.shape, want)) {
    throw new Error(
      `${fn}: with unbatched input ${
        fmt(input.shape)
      }, labels must be a class index of shape [] or class probabilities of shape ${
        fmt(input.shape)
      }, got ${labels.dtype} ${fmt(labels.shape)}`,
    );
  }
  const loss = f(expandDims(input, 0), expandDims(labels, 0));
  return loss.shape.length === 0 ? loss : reshape(loss, []);
}

function classLoss(
  fn: string,
  logp: Tensor,
  labels: Tensor,
  options: ClassLossOptions & { labelSmoothing?: number },
  smoothing: number,
): Tensor {
  checkTensor(fn, labels, "labels");
  if (labels.dtype !== "int32") {
    throw new Error(
      `${fn}: labels must be int32 class indices, got ${labels.dtype} ${
        fmt(labels.shape)
      }`,
    );
  }
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (
    !Number.isInteger(ignoreIndex) || ignoreIndex < -(2 ** 31) ||
    ignoreIndex >= 2 ** 31
  ) {
    throw new Error(
      `${fn}: ignoreIndex must be an int32 integer (a label value to skip), got ${
        describe(ignoreIndex)
      }`,
    );
  }
  const isLabel = oneHot(fn, logp, labels, ignoreIndex);
  const w = classWeight(fn, options.weight, logp);
  const keep = astype(notEqual(labels, ignoreIndex), logp.dtype); // [N, ...]
  // the weight of each sample's label (0 if ignored); without weights, keep
  // (a kept sample's one-hot row sums to 1, an ignored one's to 0)
  const sampleW = w
    ? mul(sum(mul(astype(isLabel, logp.dtype), w), { axis: 1 }), keep)
    : keep;
  // the label's log-probability, picked (not multiplied by the one-hot: the
  // -Infinity of an impossible class times 0 would be NaN)
  const picked = where(isLabel, w ? mul(logp, w) : logp, 0);
  let loss = mul(neg(sum(picked, { axis: 1 })), keep);
  if (smoothing > 0) {
    // PyTorch: (1 - ε)·nll + ε/C · (-Σ_c w_c logp_c), both over the kept samples
    const c = logp.shape[1];
    const smooth = mul(neg(sum(w ? mul(logp, w) : logp, { axis: 1 })), keep);
    loss = add(mul(loss, 1 - smoothing), mul(smooth, smoothing / c));
  }
  const r = options.reduction ?? "mean";
  if (r === "mean") {
    // divided by the kept samples' weight; when no sample is kept the loss
    // is NaN (0/0) but, as PyTorch's backward skips every sample, its
    // gradient is 0 (dividing by that 0 would make it NaN)
    const total = sum(sampleW), none = equal(total, 0);
    return where(none, NaN, div(sum(loss), where(none, 1, total)));
  }
  return reduce(fn, loss, r);
}

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions extends ClassLossOptions {
  /** Mix the target with the uniform distribution by this amount. Default 0. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits `[N, C, ...]` against int32 class labels `[N, ...]`
 * (or class probabilities of the logits' shape), as
 * `torch.nn.functional.cross_entropy` with `reduction`, `labelSmoothing`,
 * `ignoreIndex` and class `weight`; unbatched logits `[C]` take a label of
 * shape `[]` (or probabilities `[C]`) and give a loss of shape `[]`, as
 * PyTorch's.
 *
 * @example
 * ```ts
 * import { crossEntropy, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const logits = tensor([[0, 0]], { dtype: "float64" });
 * const loss = crossEntropy(logits, tensor([1], { dtype: "int32" }));
 * assert.ok(Math.abs(item(loss) - Math.log(2)) < 1e-15);
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  labels: Tensor,
  options?: CrossEntropyOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("crossEntropy");
  const fn = "crossEntropy";
  checkOptions(fn, options, [
    "reduction",
    "ignoreIndex",
    "weight",
    "labelSmoothing",
  ]);
  const eps = options.labelSmoothing ?? 0;
  if (typeof eps !== "number" || !(eps >= 0 && eps <= 1)) {
    throw new Error(
      `${fn}: labelSmoothing must be in [0, 1], got ${
        typeof eps === "number" ? eps : describe(eps)
      }`,
    );
  }
  return unbatched(
    fn,
    logits,
    labels,
    (x, l) => crossEntropyBatched(fn, x, l, options, eps),
  );
}

/** crossEntropy of logits `[N, C, ...]`. */
function crossEntropyBatched(
  fn: string,
  logits: Tensor,
  labels: Tensor,
  options: CrossEntropyOptions,
  eps: number,
): Tensor {
  classInput(fn, logits, "logits");
  checkTensor(fn, labels, "labels");
  const logp = logSoftmax(logits, 1);
  if (labels.dtype !== "int32") {
    // class probabilities
    if (!sameShape(logits.shape, labels.shape)) {
      throw new Error(
        `${fn}: logits ${fmt(logits.shape)} and labels (class probabilities) ${
          fmt(labels.shape)
        } must have the same shape (class indices must be int32, got ${labels.dtype})`,
      );
    }
    // (as PyTorch's: a label value to skip means nothing for probabilities)
    const ii = options.ignoreIndex ?? -100;
    if (!Number.isInteger(ii) || ii >= 0) {
      throw new Error(
        `${fn}: ignoreIndex is not supported with class probabilities (float labels), got ${
          describe(ii)
        }`,
      );
    }
    const c = logits.shape[1];
    const target = eps > 0 ? add(mul(labels, 1 - eps), eps / c) : labels;
    const w = classWeight(fn, options.weight, logits);
    const loss = neg(sum(mul(mul(logp, target), w ?? 1), { axis: 1 }));
    return reduce(fn, loss, options.reduction);
  }
  return classLoss(fn, logp, labels, options, eps);
}

/**
 * Mean squared error, as `torch.nn.functional.mse_loss`.
 *
 * @example
 * ```ts
 * import { item, mseLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(mseLoss(tensor([1, 2]), tensor([3, 2]))), 2);
 * ```
 */
export function mseLoss(
  x: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("mseLoss");
  const fn = "mseLoss";
  checkOptions(fn, options, ["reduction"]);
  checkTensor(fn, x, "x");
  checkTensor(fn, target, "target");
  sameShapeCheck(fn, x, "x", target, "target");
  return reduce(fn, square(sub(x, target)), options.reduction);
}

/**
 * Mean absolute error, as `torch.nn.functional.l1_loss`.
 *
 * @example
 * ```ts
 * import { item, l1Loss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(l1Loss(tensor([1, 2]), tensor([3, 2]), { reduction: "sum" })), 2);
 * ```
 */
export function l1Loss(
  x: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("l1Loss");
  const fn = "l1Loss";
  checkOptions(fn, options, ["reduction"]);
  checkTensor(fn, x, "x");
  checkTensor(fn, target, "target");
  sameShapeCheck(fn, x, "x", target, "target");
  return reduce(fn, abs(sub(x, target)), options.reduction);
}

/**
 * Binary cross-entropy on logits, stable, as
 * `torch.nn.functional.binary_cross_entropy_with_logits` (with optional
 * element `weight` and `posWeight`). Its softplus term is
 * `log1p(e^-|x|)`, so beyond |x| ≈ 16.6, where PyTorch's float32 kernel
 * rounds `log(1 + e^-|x|)` to 0, the loss keeps `e^-|x|` (a logit of 88
 * with target 1: 6.05e-39, PyTorch's 0).
 *
 * @example
 * ```ts
 * import { binaryCrossEntropyWithLogits, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = binaryCrossEntropyWithLogits(tensor([0], { dtype: "float64" }), tensor([1], { dtype: "float64" }));
 * assert.ok(Math.abs(item(l) - Math.log(2)) < 1e-15);
 * ```
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  targets: Tensor,
  options?: {
    reduction?: Reduction;
    weight?: Tensor | null;
    posWeight?: Tensor | null;
  },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("binaryCrossEntropyWithLogits");
  const fn = "binaryCrossEntropyWithLogits";
  checkOptions(fn, options, ["reduction", "weight", "posWeight"]);
  checkTensor(fn, logits, "logits");
  checkTensor(fn, targets, "targets");
  floatCheck(fn, "logits", logits);
  sameShapeCheck(fn, logits, "logits", targets, "targets");
  // (1 - t)·x + (1 + (pw - 1)·t)·(log1p(e^-|x|) + max(-x, 0))
  const softTerm = add(
    log1p(exp(neg(abs(logits)))),
    maximum(neg(logits), 0),
  );
  const pw = broadcastWeight(fn, "posWeight", options.posWeight, logits);
  const w = broadcastWeight(fn, "weight", options.weight, logits);
  const logWeight = pw ? add(mul(sub(pw, 1), targets), 1) : 1;
  let loss = add(mul(sub(1, targets), logits), mul(softTerm, logWeight));
  if (w) loss = mul(loss, w);
  return reduce(fn, loss, options.reduction);
}

/**
 * Binary cross-entropy of probabilities, elementwise (same shapes), as
 * PyTorch's kernel: `(y - 1)·max(log(1 - p), -100) - y·max(log p, -100)`,
 * an input outside [0, 1] an error (in every replay: it is the kernel's).
 * Its gradients are PyTorch's: `(p - y) / max(p (1 - p), 1e-12)` for p
 * (finite where p is 0 or 1, as a saturated sigmoid gives; 1e-12 as a
 * float32, as PyTorch's in float64 too) and `-logit(p)` for y.
 */
const BCE_EPS = Math.fround(1e-12);
const bcePrim: Primitive<Record<never, never>> = definePrimitive({
  name: "binaryCrossEntropy",
  forward: ([p, y]) => {
    const out = allocData(promote(p.dtype, y.dtype), p.data.length);
    for (let i = 0; i < out.length; i++) {
      const pi = p.data[i], yi = y.data[i];
      if (!(pi >= 0 && pi <= 1)) {
        throw new Error(
          `binaryCrossEntropy: input must hold probabilities in [0, 1] (for logits use binaryCrossEntropyWithLogits), got ${pi} at flat index ${i} (input ${
            fmt(p.shape)
          })`,
        );
      }
      out[i] = (yi - 1) * Math.max(Math.log1p(-pi), -100) -
        yi * Math.max(Math.log(pi), -100);
    }
    return fromData(out, p.shape);
  },
  vjp: ([p, y]) => [
    (g) => div(mul(g, sub(p, y)), maximum(mul(sub(1, p), p), BCE_EPS)),
    (g) => mul(g, neg(log(div(p, sub(1, p))))), // -logit(p), unclamped
  ],
  batch: ([p, y], [dp, dy]) => {
    const b = batchSize([p, y], [dp, dy]);
    return [bind(bcePrim, [batchFront(p, dp, b), batchFront(y, dy, b)], {}), 0];
  },
});

/**
 * Binary cross-entropy of probabilities `input` (in [0, 1], a sigmoid's
 * output) against `target` of the same shape, as
 * `torch.nn.functional.binary_cross_entropy`: each log clamped at -100, an
 * optional element `weight` broadcast to the loss, and PyTorch's gradient,
 * finite where a probability is exactly 0 or 1. Each value is computed in
 * float64 (with `log1p(-p)`) and rounded once, where PyTorch's float32
 * kernel rounds `1 - p` first: p = 1e-7 with target 0 gives 1e-7
 * (PyTorch's 1.1920929e-7). On logits prefer
 * {@linkcode binaryCrossEntropyWithLogits}, which is stable.
 *
 * @example
 * ```ts
 * import { binaryCrossEntropy, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = binaryCrossEntropy(tensor([0.5, 1], { dtype: "float64" }), tensor([1, 1], { dtype: "float64" }));
 * assert.ok(Math.abs(item(l) - Math.log(2) / 2) < 1e-15);
 * ```
 */
export function binaryCrossEntropy(
  input: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction; weight?: Tensor | null },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("binaryCrossEntropy");
  const fn = "binaryCrossEntropy";
  checkOptions(fn, options, ["reduction", "weight"]);
  checkTensor(fn, input, "input");
  checkTensor(fn, target, "target");
  floatCheck(fn, "input", input);
  floatCheck(fn, "target", target);
  sameShapeCheck(fn, input, "input", target, "target");
  const w = broadcastWeight(fn, "weight", options.weight, input);
  let loss = bind(bcePrim, [input, target], {});
  if (w) loss = mul(loss, w);
  return reduce(fn, loss, options.reduction);
}

/** Checks a regression loss's input and target: tensors, a float input, the same shape. */
function pairCheck(fn: string, input: Tensor, target: Tensor): void {
  checkTensor(fn, input, "input");
  checkTensor(fn, target, "target");
  floatCheck(fn, "input", input);
  sameShapeCheck(fn, input, "input", target, "target");
}

/** A threshold option (delta, beta, eps): a finite number above (or at) 0. */
function threshold(
  fn: string,
  name: string,
  v: unknown,
  allowZero: boolean,
): number {
  if (
    typeof v !== "number" || !Number.isFinite(v) || v < 0 ||
    (v === 0 && !allowZero)
  ) {
    throw new Error(
      `${fn}: ${name} must be a finite number ${
        allowZero ? ">= 0" : "> 0"
      }, got ${typeof v === "number" ? v : describe(v)}`,
    );
  }
  return v;
}

/**
 * A pointwise loss of `d = input - target` with a threshold option `name`
 * (default 1): options and arguments checked, `loss(d, |d|, threshold)`
 * reduced.
 */
function thresholdLoss(
  fn: string,
  name: string,
  allowZero: boolean,
  input: Tensor,
  target: Tensor,
  options: { reduction?: Reduction } & Record<string, unknown>,
  loss: (d: Tensor, z: Tensor, t: number) => Tensor,
): Tensor {
  checkOptions(fn, options, ["reduction", name]);
  pairCheck(fn, input, target);
  const t = threshold(fn, name, options[name] ?? 1, allowZero);
  const d = sub(input, target);
  return reduce(fn, loss(d, abs(d), t), options.reduction);
}

/**
 * `where(z < t, quadratic(d), linear)` with d in the quadratic branch only
 * where it is taken (0 elsewhere): the same values, and the gradient as
 * PyTorch's (d clamped to ±t): no 0 · inf where an infinite d takes the
 * linear branch, and a NaN d (which takes the quadratic one: not z >= t)
 * gives a NaN.
 */
function quadraticBelow(
  d: Tensor,
  z: Tensor,
  t: number,
  quadratic: (dq: Tensor) => Tensor,
  linear: Tensor,
): Tensor {
  const near = equal(greaterEqual(z, t), 0);
  return where(near, quadratic(where(near, d, 0)), linear);
}

/**
 * Huber loss, as `torch.nn.functional.huber_loss`: with `d = input - target`,
 * `0.5·d²` where `|d| < delta` and `delta·(|d| - 0.5·delta)` elsewhere
 * (quadratic near 0, linear beyond; delta > 0, default 1).
 *
 * @example
 * ```ts
 * import { huberLoss, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = huberLoss(tensor([0.5, 3]), tensor([0, 0]), { reduction: "none", delta: 1 });
 * assert.deepEqual(toArray(l), [0.125, 2.5]);
 * ```
 */
export function huberLoss(
  input: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction; delta?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("huberLoss");
  return thresholdLoss(
    "huberLoss",
    "delta",
    false,
    input,
    target,
    options,
    (d, z, delta) =>
      quadraticBelow(
        d,
        z,
        delta,
        (dq) => mul(square(dq), 0.5),
        mul(sub(z, 0.5 * delta), delta),
      ),
  );
}

/**
 * Smooth L1 loss, as `torch.nn.functional.smooth_l1_loss`: with
 * `d = input - target`, `0.5·d² / beta` where `|d| < beta` and
 * `|d| - 0.5·beta` elsewhere (default beta 1; beta 0 is the L1 loss,
 * whose input gradient is PyTorch's: -1 where `d <= 0`, at 0 too; its
 * target gradient is the negation, where PyTorch's backward, which swaps
 * input and target, gives -1 at `d = 0` as well).
 * `huberLoss` with `delta = beta`, divided by beta.
 *
 * @example
 * ```ts
 * import { item, smoothL1Loss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(smoothL1Loss(tensor([0.5, 3]), tensor([0, 0]), { reduction: "sum", beta: 2 })), 0.0625 + 2);
 * ```
 */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction; beta?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("smoothL1Loss");
  return thresholdLoss(
    "smoothL1Loss",
    "beta",
    true,
    input,
    target,
    options,
    (d, z, beta) =>
      beta === 0
        // |d| with PyTorch's gradient: -1 where d <= 0 (at 0 too: its
        // kernel's first test), 1 above, NaN at NaN (the NaN-only branch)
        ? quadraticBelow(d, z, 0, square, where(lessEqual(d, 0), sub(0, d), d))
        : quadraticBelow(
          d,
          z,
          beta,
          (dq) => div(mul(square(dq), 0.5), beta),
          sub(z, 0.5 * beta),
        ),
  );
}

/** Options of {@linkcode klDiv}. */
export interface KlDivOptions {
  /**
   * "mean" (default; over every element, as PyTorch's "mean"), "batchmean"
   * (the sum over the batch size: the KL divergence's definition), "sum" or
   * "none".
   */
  reduction?: Reduction | "batchmean";
  /** The target is given as log-probabilities too. Default false. */
  logTarget?: boolean;
}

/**
 * Kullback-Leibler divergence of the target from the input, as
 * `torch.nn.functional.kl_div`: `input` holds log-probabilities, `target`
 * probabilities (log-probabilities with `logTarget`); pointwise
 * `target·(log target - input)`, 0 where target is 0 (as `xlogy`); with
 * `logTarget`, `exp(target)·(target - input)`. PyTorch's numbers for every
 * reduction, without its warning about "mean" (which averages over every
 * element: "batchmean" is the divergence). Where target is exactly 0 the
 * derivative in target is taken as `-input` (the derivative of the 0
 * branch); PyTorch's is NaN there (`xlogy`'s 0/0).
 *
 * @example
 * ```ts
 * import { item, klDiv, log, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = tensor([[0.5, 0.5]], { dtype: "float64" }), q = tensor([[0.25, 0.75]], { dtype: "float64" });
 * const kl = item(klDiv(log(q), p, { reduction: "batchmean" }));
 * assert.ok(Math.abs(kl - (0.5 * Math.log(2) + 0.5 * Math.log(2 / 3))) < 1e-15);
 * assert.equal(item(klDiv(log(q), tensor([[1, 0]], { dtype: "float64" }), { reduction: "sum" })), Math.log(4));
 * ```
 */
export function klDiv(
  input: Tensor,
  target: Tensor,
  options?: KlDivOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("klDiv");
  const fn = "klDiv";
  checkOptions(fn, options, ["reduction", "logTarget"]);
  pairCheck(fn, input, target);
  const r = options.reduction ?? "mean";
  if (!["mean", "batchmean", "sum", "none"].includes(r)) {
    throw new Error(
      `${fn}: reduction must be "mean", "batchmean", "sum" or "none", got ${
        showValue(options.reduction)
      }`,
    );
  }
  const logTarget = options.logTarget ?? false;
  if (typeof logTarget !== "boolean") {
    throw new Error(
      `${fn}: logTarget must be a boolean, got ${describe(logTarget)}`,
    );
  }
  let loss: Tensor;
  if (logTarget) loss = mul(exp(target), sub(target, input));
  else {
    // xlogy(t, t) - t·input: t·log t is 0 where t is 0 (log of 1 there, so
    // that no derivative of log 0 appears), NaN where t < 0
    const zero = equal(target, 0);
    const tLogT = where(zero, 0, mul(target, log(where(zero, 1, target))));
    loss = sub(tLogT, mul(target, input));
  }
  if (r !== "batchmean") return reduce(fn, loss, r);
  const total = sum(loss);
  return input.shape.length === 0 ? total : div(total, input.shape[0]);
}

/**
 * The L2 norm of `x` over `axis` (kept), clamped below at `eps` as
 * PyTorch 1.13's `cosine_similarity` clamps it, and with its derivative:
 * `sqrt(max(Σx², eps²))`, whose derivative is `x / max(‖x‖, eps)` (0 at
 * x = 0; PyTorch clamps the norm in place, so its backward divides by the
 * clamped norm too).
 */
function clampedNorm(x: Tensor, axis: number, eps: number): Tensor {
  const s = sum(square(x), { axis, keepDims: true }), e2 = eps * eps;
  // what lifts s to eps² (0 from there up, also at s = inf, where
  // max(s, eps²) - s would be inf - inf)
  return sqrt(add(s, stopGradient(where(less(s, e2), sub(e2, s), 0))));
}

/**
 * Cosine similarity of `x1` and `x2` along `axis` (default 1), as
 * `torch.nn.functional.cosine_similarity` in PyTorch 1.13:
 * `Σ (x1 / max(‖x1‖, eps)) · (x2 / max(‖x2‖, eps))`, each norm clamped
 * separately (eps default 1e-8), after broadcasting `x1` with `x2`. The axis
 * is removed from the result. int32 inputs are computed in float32.
 *
 * @example
 * ```ts
 * import { cosineSimilarity, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 0], [3, 4]], { dtype: "float64" });
 * const b = tensor([1, 1], { dtype: "float64" }); // broadcast against each row
 * const c = toArray(cosineSimilarity(a, b)) as number[];
 * assert.ok(Math.abs(c[0] - Math.SQRT1_2) < 1e-15 && Math.abs(c[1] - 7 / (5 * Math.SQRT2)) < 1e-15);
 * assert.deepEqual(toArray(cosineSimilarity(a, tensor([[0, 0], [0, 0]], { dtype: "float64" }))), [0, 0]);
 * ```
 */
export function cosineSimilarity(
  x1: Tensor,
  x2: Tensor,
  options?: { axis?: number; eps?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("cosineSimilarity");
  const fn = "cosineSimilarity";
  checkOptions(fn, options, ["axis", "eps"]);
  checkTensor(fn, x1, "x1");
  checkTensor(fn, x2, "x2");
  const shape = broadcastShapes(x1.shape, x2.shape);
  if (!shape) {
    throw new Error(
      `${fn}: x1 ${fmt(x1.shape)} and x2 ${fmt(x2.shape)} do not broadcast`,
    );
  }
  if (shape.length === 0) {
    throw new Error(`${fn}: x1 and x2 must have at least one axis, got []`);
  }
  const axis = normAxis(fn, options.axis ?? 1, shape.length, shape);
  const eps = threshold(fn, "eps", options.eps ?? 1e-8, true);
  const dtype = resultType(x1.dtype, x2.dtype) === "int32"
    ? "float32"
    : resultType(x1.dtype, x2.dtype);
  const prep = (x: Tensor) => {
    const xf = x.dtype === dtype ? x : astype(x, dtype);
    return sameShape(xf.shape, shape) ? xf : broadcastTo(xf, shape);
  };
  const a = prep(x1), b = prep(x2);
  return sum(
    mul(div(a, clampedNorm(a, axis, eps)), div(b, clampedNorm(b, axis, eps))),
    { axis },
  );
}

// ---------------------------------------------------------------------------
// margin and embedding losses (torch.nn.functional's), compositions of
// public ops with PyTorch's formulas term for term

/** Same-shape float tensors of a loss, checked; returns the first. */
function sameShapeFloats(fn: string, ...named: [Tensor, string][]): void {
  for (const [t, name] of named) {
    checkTensor(fn, t, name);
    floatCheck(fn, name, t);
  }
  const [[a, an]] = named;
  for (const [t, name] of named.slice(1)) sameShapeCheck(fn, a, an, t, name);
}

/** A margin option: a finite number (any sign, as PyTorch's). */
function marginOption(fn: string, v: unknown, dflt: number): number {
  const m = v ?? dflt;
  if (typeof m !== "number" || !Number.isFinite(m)) {
    throw new Error(
      `${fn}: margin must be a finite number, got ${describe(m)}`,
    );
  }
  return m;
}

/**
 * Margin ranking loss, as `torch.nn.functional.margin_ranking_loss`:
 * `max(0, -target·(input1 - input2) + margin)` with targets ±1 (which input
 * should rank higher); same-shape inputs.
 *
 * @example
 * ```ts
 * import { marginRankingLoss, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = marginRankingLoss(tensor([3, 1]), tensor([1, 2]), tensor([1, 1]), { reduction: "none", margin: 0.5 });
 * assert.deepEqual(toArray(l), [0, 1.5]);
 * ```
 */
export function marginRankingLoss(
  input1: Tensor,
  input2: Tensor,
  target: Tensor,
  options?: { margin?: number; reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("marginRankingLoss");
  const fn = "marginRankingLoss";
  checkOptions(fn, options, ["margin", "reduction"]);
  sameShapeFloats(fn, [input1, "input1"], [input2, "input2"], [
    target,
    "target",
  ]);
  const margin = marginOption(fn, options.margin, 0);
  const loss = clampMin0(add(mul(neg(target), sub(input1, input2)), margin));
  return reduce(fn, loss, options.reduction);
}

/** `max(x, 0)` with clamp's gradient (1 at 0 too), as PyTorch's `clamp_min(0)`. */
const clampMin0 = (x: Tensor) => clamp(x, { min: 0 });

/**
 * Hinge embedding loss, as `torch.nn.functional.hinge_embedding_loss`: `x`
 * where the target is 1, `max(0, margin - x)` where it is -1 (default margin
 * 1; a target neither 1 nor -1 adds both, as PyTorch's).
 *
 * @example
 * ```ts
 * import { hingeEmbeddingLoss, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = hingeEmbeddingLoss(tensor([0.3, 0.3, 2]), tensor([1, -1, -1]), { reduction: "none" });
 * assert.ok(Math.abs((toArray(l) as number[])[1] - 0.7) < 1e-7);
 * assert.equal((toArray(l) as number[])[2], 0);
 * ```
 */
export function hingeEmbeddingLoss(
  input: Tensor,
  target: Tensor,
  options?: { margin?: number; reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("hingeEmbeddingLoss");
  const fn = "hingeEmbeddingLoss";
  checkOptions(fn, options, ["margin", "reduction"]);
  sameShapeFloats(fn, [input, "input"], [target, "target"]);
  const margin = marginOption(fn, options.margin, 1);
  const outMargin = where(
    notEqual(target, 1),
    clampMin0(sub(margin, input)),
    0,
  );
  const outSelf = where(notEqual(target, -1), input, 0);
  return reduce(fn, add(outMargin, outSelf), options.reduction);
}

/**
 * Soft margin loss (two-class logistic loss), as
 * `torch.nn.functional.soft_margin_loss`: `log(1 + exp(-target·input))`
 * with targets ±1.
 *
 * @example
 * ```ts
 * import { item, softMarginLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = item(softMarginLoss(tensor([0], { dtype: "float64" }), tensor([1], { dtype: "float64" })));
 * assert.ok(Math.abs(l - Math.LN2) < 1e-15);
 * ```
 */
export function softMarginLoss(
  input: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("softMarginLoss");
  const fn = "softMarginLoss";
  checkOptions(fn, options, ["reduction"]);
  sameShapeFloats(fn, [input, "input"], [target, "target"]);
  return reduce(fn, log1p(exp(mul(neg(input), target))), options.reduction);
}

/**
 * Multi-label soft margin loss, as
 * `torch.nn.functional.multilabel_soft_margin_loss`: for input `[N, C]` and
 * 0/1 targets of its shape, `-(t·logσ(x) + (1 - t)·logσ(-x))` (times the
 * class `weight` `[C]`), averaged over the classes: one value per example
 * before the reduction.
 *
 * @example
 * ```ts
 * import { item, multilabelSoftMarginLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = item(multilabelSoftMarginLoss(tensor([[0, 0]], { dtype: "float64" }), tensor([[1, 0]], { dtype: "float64" })));
 * assert.ok(Math.abs(l - Math.LN2) < 1e-15);
 * ```
 */
export function multilabelSoftMarginLoss(
  input: Tensor,
  target: Tensor,
  options?: { weight?: Tensor | null; reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("multilabelSoftMarginLoss");
  const fn = "multilabelSoftMarginLoss";
  checkOptions(fn, options, ["weight", "reduction"]);
  sameShapeFloats(fn, [input, "input"], [target, "target"]);
  if (input.shape.length < 1) {
    throw new Error(`${fn}: input must be [N, C] or [C], got a scalar`);
  }
  let loss = neg(
    add(
      mul(target, logSigmoid(input)),
      mul(sub(1, target), logSigmoid(neg(input))),
    ),
  );
  const w = broadcastWeight(fn, "weight", options.weight, loss);
  if (w) loss = mul(loss, w);
  const c = input.shape[input.shape.length - 1];
  return reduce(fn, div(sum(loss, { axis: -1 }), c), options.reduction);
}

/**
 * Multi-class margin loss (a multi-class SVM's hinge), as
 * `torch.nn.functional.multi_margin_loss`: for input `[N, C]` (or `[C]`)
 * and int32 labels `[N]` (or, for `[C]`, a scalar or `[1]`),
 * `Σ_{i ≠ y} max(0, margin - x[y] + x[i])^p / C` (p 1 or 2, margin default 1;
 * times `weight[y]` with class weights `[C]`).
 *
 * @example
 * ```ts
 * import { item, multiMarginLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[0.1, 0.2, 0.4, 0.8]], { dtype: "float64" });
 * const l = item(multiMarginLoss(x, tensor([3], { dtype: "int32" })));
 * assert.ok(Math.abs(l - (0.3 + 0.4 + 0.6) / 4) < 1e-15); // PyTorch's documented example
 * ```
 */
export function multiMarginLoss(
  input: Tensor,
  labels: Tensor,
  options?: {
    p?: 1 | 2;
    margin?: number;
    weight?: Tensor | null;
    reduction?: Reduction;
  },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("multiMarginLoss");
  const fn = "multiMarginLoss";
  checkOptions(fn, options, ["p", "margin", "weight", "reduction"]);
  checkTensor(fn, input, "input");
  floatCheck(fn, "input", input);
  checkTensor(fn, labels, "labels");
  if (labels.dtype !== "int32") {
    throw new Error(
      `${fn}: labels must be int32 class indices, got ${labels.dtype} ${
        fmt(labels.shape)
      }`,
    );
  }
  const p = options.p ?? 1;
  if (p !== 1 && p !== 2) {
    throw new Error(`${fn}: p must be 1 or 2, got ${describe(p)}`);
  }
  const margin = marginOption(fn, options.margin, 1);
  if (input.shape.length !== 1 && input.shape.length !== 2) {
    throw new Error(
      `${fn}: input must be [N, C] or [C], got ${fmt(input.shape)}`,
    );
  }
  const one = input.shape.length === 1;
  const x = one ? expandDims(input, 0) : input;
  const y = one && labels.shape.length === 0 ? expandDims(labels, 0) : labels;
  const isLabel = oneHot(fn, x, y, null); // [N, C]
  const pick = (t: Tensor) =>
    sum(where(isLabel, t, 0), { axis: 1, keepDims: true });
  const z = add(sub(margin, pick(x)), x);
  let h = relu(z); // (0 where z <= 0, as PyTorch's strict z > 0)
  if (p === 2) h = square(h);
  const w = classWeight(fn, options.weight, x);
  if (w) h = mul(h, pick(broadcastTo(w, x.shape)));
  const loss = div(sum(where(isLabel, 0, h), { axis: 1 }), x.shape[1]);
  // (PyTorch's [C] input with a label [1] keeps the loss's axis)
  const scalar = one && labels.shape.length === 0;
  return reduce(fn, scalar ? reshape(loss, []) : loss, options.reduction);
}

/**
 * Cosine embedding loss, as `torch.nn.functional.cosine_embedding_loss`:
 * with `cos` the cosine of `input1` and `input2` (`[N, D]` or `[D]`; each
 * squared norm plus 1e-12), `1 - cos` where the target is 1 and
 * `max(0, cos - margin)` where it is -1.
 *
 * @example
 * ```ts
 * import { cosineEmbeddingLoss, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 0], [1, 0]], { dtype: "float64" }), b = tensor([[0, 1], [1, 0]], { dtype: "float64" });
 * const l = toArray(cosineEmbeddingLoss(a, b, tensor([1, -1], { dtype: "float64" }), { reduction: "none" })) as number[];
 * assert.ok(Math.abs(l[0] - 1) < 1e-9 && Math.abs(l[1] - 1) < 1e-9);
 * ```
 */
export function cosineEmbeddingLoss(
  input1: Tensor,
  input2: Tensor,
  target: Tensor,
  options?: { margin?: number; reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("cosineEmbeddingLoss");
  const fn = "cosineEmbeddingLoss";
  checkOptions(fn, options, ["margin", "reduction"]);
  sameShapeFloats(fn, [input1, "input1"], [input2, "input2"]);
  checkTensor(fn, target, "target");
  const r = input1.shape.length;
  if (r !== 1 && r !== 2) {
    throw new Error(
      `${fn}: input1 and input2 must be [N, D] or [D], got ${
        fmt(input1.shape)
      }`,
    );
  }
  const expected = input1.shape.slice(0, r - 1);
  if (!sameShape(target.shape, expected)) {
    throw new Error(
      `${fn}: target must have shape ${fmt(expected)} for inputs ${
        fmt(input1.shape)
      }, got ${fmt(target.shape)}`,
    );
  }
  const margin = marginOption(fn, options.margin, 0);
  const axis = r - 1;
  const dot = sum(mul(input1, input2), { axis });
  const mag1 = add(sum(mul(input1, input1), { axis }), 1e-12);
  const mag2 = add(sum(mul(input2, input2), { axis }), 1e-12);
  const cos = div(dot, sqrt(mul(mag1, mag2)));
  const pos = where(equal(target, 1), sub(1, cos), 0);
  const negative = where(equal(target, -1), clampMin0(sub(cos, margin)), 0);
  return reduce(fn, add(pos, negative), options.reduction);
}

/** Options of {@linkcode pairwiseDistance}. */
export interface PairwiseDistanceOptions {
  /** The norm's order. Default 2. */
  p?: number;
  /** Added to the difference (keeps the norm's gradient finite at 0). Default 1e-6. */
  eps?: number;
  /** Keep the reduced last axis. Default false. */
  keepDim?: boolean;
}

/**
 * The p-norm distance between the rows of `x1` and `x2` (broadcast against
 * each other), as `torch.nn.functional.pairwise_distance`:
 * `‖x1 - x2 + eps‖_p` over the last axis.
 *
 * @example
 * ```ts
 * import { item, pairwiseDistance, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const d = item(pairwiseDistance(tensor([0, 0], { dtype: "float64" }), tensor([3, 4], { dtype: "float64" }), { eps: 0 }));
 * assert.equal(d, 5);
 * ```
 */
export function pairwiseDistance(
  x1: Tensor,
  x2: Tensor,
  options?: PairwiseDistanceOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("pairwiseDistance");
  return distance("pairwiseDistance", x1, x2, options);
}

/** pairwiseDistance with `fn`'s errors. */
function distance(
  fn: string,
  x1: Tensor,
  x2: Tensor,
  options: PairwiseDistanceOptions,
  names: [string, string] = ["x1", "x2"],
): Tensor {
  checkOptions(fn, options, ["p", "eps", "keepDim"]);
  checkTensor(fn, x1, names[0]);
  checkTensor(fn, x2, names[1]);
  floatCheck(fn, names[0], x1);
  floatCheck(fn, names[1], x2);
  const shape = broadcastShapes(x1.shape, x2.shape);
  if (!shape || shape.length === 0) {
    throw new Error(
      `${fn}: ${names[0]} ${fmt(x1.shape)} and ${names[1]} ${
        fmt(x2.shape)
      } must broadcast to a shape with at least one axis`,
    );
  }
  const p = options.p ?? 2;
  if (typeof p !== "number" || Number.isNaN(p)) {
    throw new Error(`${fn}: p must be a number, got ${describe(p)}`);
  }
  const eps = threshold(fn, "eps", options.eps ?? 1e-6, true);
  const keepDim = options.keepDim ?? false;
  if (typeof keepDim !== "boolean") {
    throw new Error(
      `${fn}: keepDim must be a boolean, got ${describe(keepDim)}`,
    );
  }
  return norm(add(sub(x1, x2), eps), {
    ord: p,
    axis: shape.length - 1,
    keepDims: keepDim,
  });
}

/**
 * Triplet margin loss, as `torch.nn.functional.triplet_margin_loss`:
 * `max(0, margin + d(anchor, positive) - d(anchor, negative))` with `d`
 * the {@linkcode pairwiseDistance} of order `p` (default 2, eps 1e-6);
 * with `swap`, the negative distance is the smaller of `d(a, n)` and
 * `d(p, n)`.
 *
 * @example
 * ```ts
 * import { item, tensor, tripletMarginLoss } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[0, 0]], { dtype: "float64" });
 * const l = item(tripletMarginLoss(a, tensor([[3, 4]], { dtype: "float64" }), tensor([[6, 8]], { dtype: "float64" }), { eps: 0 }));
 * assert.equal(l, 0); // 1 + 5 - 10 < 0
 * ```
 */
export function tripletMarginLoss(
  anchor: Tensor,
  positive: Tensor,
  negative: Tensor,
  options?: {
    margin?: number;
    p?: number;
    eps?: number;
    swap?: boolean;
    reduction?: Reduction;
  },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("tripletMarginLoss");
  const fn = "tripletMarginLoss";
  checkOptions(fn, options, ["margin", "p", "eps", "swap", "reduction"]);
  const margin = marginOption(fn, options.margin, 1);
  const swap = options.swap ?? false;
  if (typeof swap !== "boolean") {
    throw new Error(`${fn}: swap must be a boolean, got ${describe(swap)}`);
  }
  sameShapeFloats(fn, [anchor, "anchor"], [positive, "positive"], [
    negative,
    "negative",
  ]);
  const o = { p: options.p, eps: options.eps };
  const d = (a: Tensor, b: Tensor, n: [string, string]) =>
    distance(fn, a, b, o, n);
  const dPos = d(anchor, positive, ["anchor", "positive"]);
  let dNeg = d(anchor, negative, ["anchor", "negative"]);
  if (swap) {
    dNeg = minimum(dNeg, d(positive, negative, ["positive", "negative"]));
  }
  return reduce(fn, clampMin0(sub(add(dPos, margin), dNeg)), options.reduction);
}

/**
 * Poisson negative log-likelihood, as `torch.nn.functional.poisson_nll_loss`:
 * `exp(input) - target·input` for log-rates (`logInput`, the default), else
 * `input - target·log(input + eps)`; with `full`, Stirling's approximation
 * of `log(target!)` is added where target > 1. With `full`, the derivative
 * in target where target is 0 is that of the loss without the term
 * (PyTorch's is NaN: its masked term's `0·log 0`).
 *
 * @example
 * ```ts
 * import { item, poissonNllLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = item(poissonNllLoss(tensor([0], { dtype: "float64" }), tensor([2], { dtype: "float64" })));
 * assert.equal(l, 1); // e^0 - 2·0
 * ```
 */
export function poissonNllLoss(
  input: Tensor,
  target: Tensor,
  options?: {
    logInput?: boolean;
    full?: boolean;
    eps?: number;
    reduction?: Reduction;
  },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("poissonNllLoss");
  const fn = "poissonNllLoss";
  checkOptions(fn, options, ["logInput", "full", "eps", "reduction"]);
  sameShapeFloats(fn, [input, "input"], [target, "target"]);
  const flag = (name: string, v: unknown, dflt: boolean): boolean => {
    const b = v ?? dflt;
    if (typeof b !== "boolean") {
      throw new Error(`${fn}: ${name} must be a boolean, got ${describe(b)}`);
    }
    return b;
  };
  const logInput = flag("logInput", options.logInput, true);
  const full = flag("full", options.full, false);
  const eps = threshold(fn, "eps", options.eps ?? 1e-8, true);
  let loss = logInput
    ? sub(exp(input), mul(target, input))
    : sub(input, mul(target, log(add(input, eps))));
  if (full) {
    // t·log t - t + 0.5·log(2πt), 0 where t <= 1 (log evaluated at 1 there)
    const big = greater(target, 1), t = where(big, target, 1);
    const stirling = add(
      sub(mul(t, log(t)), t),
      mul(log(mul(t, 2 * Math.PI)), 0.5),
    );
    loss = add(loss, where(big, stirling, 0));
  }
  return reduce(fn, loss, options.reduction);
}

/**
 * Gaussian negative log-likelihood, as
 * `torch.nn.functional.gaussian_nll_loss`: `0.5·(log v + (input - target)² / v)`
 * (plus `0.5·log 2π` with `full`) for predicted means `input` and
 * variances `var`, v being var clamped below at `eps` without touching its
 * gradient (PyTorch clamps a copy under no_grad). `var` has input's shape,
 * or lacks its last axis or has 1 there (one variance per row); a negative
 * entry is an Error, in every jit replay too.
 *
 * @example
 * ```ts
 * import { gaussianNllLoss, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f64 = { dtype: "float64" } as const;
 * const l = gaussianNllLoss(tensor([1, 3], f64), tensor([1, 1], f64), tensor([1, 1], f64));
 * assert.equal(item(l), 1); // (0 + 0 + 0.5·(0 + 4)) / 2
 * ```
 */
export function gaussianNllLoss(
  input: Tensor,
  target: Tensor,
  variance: Tensor,
  options?: { full?: boolean; eps?: number; reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("gaussianNllLoss");
  const fn = "gaussianNllLoss";
  checkOptions(fn, options, ["full", "eps", "reduction"]);
  sameShapeFloats(fn, [input, "input"], [target, "target"]);
  checkTensor(fn, variance, "var");
  floatCheck(fn, "var", variance);
  const s = input.shape, v = variance.shape;
  let vr = variance;
  if (!sameShape(v, s)) {
    const rows = s.slice(0, -1);
    if (s.length > 0 && sameShape(v, rows)) vr = expandDims(variance, -1);
    else if (
      !(s.length > 0 && v.length === s.length && v[v.length - 1] === 1 &&
        sameShape(v.slice(0, -1), rows))
    ) {
      throw new Error(
        `${fn}: var must have input's shape ${
          fmt(s)
        }, or it without its last axis, or with 1 there; got var ${fmt(v)}`,
      );
    }
  }
  const full = options.full ?? false;
  if (typeof full !== "boolean") {
    throw new Error(`${fn}: full must be a boolean, got ${describe(full)}`);
  }
  const eps = threshold(fn, "eps", options.eps ?? 1e-6, false);
  // the values checked wherever they are computed (eager, every replay,
  // each example under vmap), and kept in the graph by a where on them
  const shape = fmt(v), size = sizeOf(v);
  const ok = checkedValues(astype(less(vr, 0), "int32"), (data) => {
    const i = data.indexOf(1);
    if (i >= 0) {
      const each = data.length === size
        ? ""
        : `, each of ${data.length / size} examples'`;
      throw new Error(
        `${fn}: var must be >= 0, got a negative entry at flat index ${i} (var ${shape}${each})`,
      );
    }
  });
  const checked = where(ok, vr, vr);
  // max(var, eps) with var's own gradient: eps + (var - var) where clamped
  const clamped = where(
    less(checked, eps),
    add(sub(checked, stopGradient(checked)), eps),
    checked,
  );
  let loss = mul(
    add(log(clamped), div(square(sub(input, target)), clamped)),
    0.5,
  );
  if (full) loss = add(loss, 0.5 * Math.log(2 * Math.PI));
  return reduce(fn, loss, options.reduction);
}
