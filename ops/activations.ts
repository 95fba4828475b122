/**
 * Activations (torch.nn.functional's): softmax, logSoftmax, leakyRelu,
 * elu, gelu, silu, softplus, hardtanh, relu6, hardsigmoid, hardswish,
 * logSigmoid, softsign, mish, prelu, composed from elementwise ops (relu,
 * tanh and sigmoid are elementwise primitives).
 *
 * @module
 */
import {
  checkOptions,
  checkTensor,
  describe,
  showValue,
  type Tensor,
} from "./tensor.ts";
import { concrete } from "./trace.ts";
import { userOp } from "./debug.ts";
import { floatCheck, fmt, numberOption } from "./_args.ts";
import {
  abs,
  add,
  div,
  erf,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  log1p,
  mul,
  neg,
  sigmoid,
  square,
  sub,
  tanh,
  where,
} from "./elementwise.ts";
import { clamp, logicalAnd, logicalNot, logicalOr } from "./math.ts";
import { stopGradient } from "./transforms.ts";
import { max } from "./reductions.ts";
import { normAxis, reshape, slice, sum } from "./structural.ts";

// ---------------------------------------------------------------------------
// activations

/** The axis of softmax or logSoftmax (a number or `{ axis }`), checked against x's dims. */
function axisArg(
  fn: string,
  x: Tensor,
  axis: number | { axis?: number } | undefined,
): number {
  const a = typeof axis === "object" && axis !== null
    ? (checkOptions(fn, axis, ["axis"]), axis.axis)
    : axis;
  return normAxis(fn, a ?? -1, x.shape.length, x.shape);
}

/**
 * Softmax along `axis` (default -1), stable for large inputs.
 *
 * @example
 * ```ts
 * import { softmax, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = toArray(softmax(tensor([1000, 1000], { dtype: "float64" })));
 * assert.deepEqual(p, [0.5, 0.5]);
 * ```
 */
export function softmax(
  x: Tensor,
  axis?: number | { axis?: number },
): Tensor {
  axis ??= -1;
  using _op = userOp("softmax");
  checkTensor("softmax", x, "x");
  floatCheck("softmax", "x", x);
  const a = axisArg("softmax", x, axis);
  if (x.shape[a] === 0) return x; // nothing to normalise: empty, as PyTorch's
  // e^(x - max) / Σ e^(x - max); the shift is a constant that cancels
  const e = exp(sub(x, max(concrete(x), { axis: a, keepDims: true })));
  return div(e, sum(e, { axis: a, keepDims: true }));
}

/**
 * Log of softmax along `axis` (default -1), as PyTorch computes it:
 * `(x - max) - log(sum(exp(x - max)))`, so that a large common offset
 * cancels before any rounding (float32 logits `[10000.5, 10000]` give
 * `[-0.474077, -0.974077]`). As in PyTorch, a row with +Infinity or NaN, or
 * with only -Infinity, gives NaN; a -Infinity entry next to finite ones
 * gives -Infinity and no gradient.
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = toArray(logSoftmax(tensor([0, 0], { dtype: "float64" }))) as number[];
 * assert.ok(Math.abs(l[0] + Math.log(2)) < 1e-15);
 * ```
 */
export function logSoftmax(
  x: Tensor,
  axis?: number | { axis?: number },
): Tensor {
  axis ??= -1;
  using _op = userOp("logSoftmax");
  checkTensor("logSoftmax", x, "x");
  floatCheck("logSoftmax", "x", x);
  const a = axisArg("logSoftmax", x, axis);
  if (x.shape[a] === 0) return x; // nothing to normalise: empty, as PyTorch's
  // the shift is a constant: it cancels in the value and in every derivative
  const shifted = sub(x, max(concrete(x), { axis: a, keepDims: true }));
  return sub(shifted, log(sum(exp(shifted), { axis: a, keepDims: true })));
}

/**
 * `max(x, 0) + negativeSlope · min(x, 0)`.
 *
 * @example
 * ```ts
 * import { leakyRelu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(leakyRelu(tensor([-2, 3], { dtype: "float64" }), { negativeSlope: 0.5 })), [-1, 3]);
 * ```
 */
export function leakyRelu(
  x: Tensor,
  options?: { negativeSlope?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("leakyRelu");
  checkOptions("leakyRelu", options, ["negativeSlope"]);
  checkTensor("leakyRelu", x, "x");
  floatCheck("leakyRelu", "x", x);
  const slope = numberOption(
    "leakyRelu",
    "negativeSlope",
    options.negativeSlope,
    0.01,
  );
  return where(greater(x, 0), x, mul(x, slope));
}

/**
 * ELU: x for x > 0, `alpha · (e^x - 1)` otherwise.
 *
 * @example
 * ```ts
 * import { elu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(elu(tensor([0, 2]))), [0, 2]);
 * ```
 */
export function elu(x: Tensor, options?: { alpha?: number }): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("elu");
  checkOptions("elu", options, ["alpha"]);
  checkTensor("elu", x, "x");
  floatCheck("elu", "x", x);
  const alpha = numberOption("elu", "alpha", options.alpha, 1);
  const pos = greater(x, 0);
  // exp only sees the negative part, so no inf reaches the unused branch's gradient
  const negPart = mul(sub(exp(where(pos, 0, x)), 1), alpha);
  return where(pos, x, negPart);
}

/**
 * GELU: `x · Φ(x)` with the exact normal CDF (`approximate: "none"`, default)
 * or the tanh approximation.
 *
 * @example
 * ```ts
 * import { gelu, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(gelu(tensor(1, { dtype: "float64" }))) - 0.8413447460685429) < 1e-15);
 * ```
 */
export function gelu(
  x: Tensor,
  options?: { approximate?: "none" | "tanh" },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("gelu");
  checkOptions("gelu", options, ["approximate"]);
  checkTensor("gelu", x, "x");
  floatCheck("gelu", "x", x);
  const approx = options.approximate ?? "none";
  if (approx === "tanh") {
    const inner = mul(
      add(x, mul(mul(square(x), x), 0.044715)),
      Math.sqrt(2 / Math.PI),
    );
    return mul(mul(x, 0.5), add(tanh(inner), 1));
  }
  if (approx !== "none") {
    throw new Error(
      `gelu: approximate must be "none" or "tanh", got ${showValue(approx)}`,
    );
  }
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/**
 * SiLU (swish): `x · sigmoid(x)`.
 *
 * @example
 * ```ts
 * import { silu, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(silu(tensor(0))), 0);
 * ```
 */
export function silu(x: Tensor): Tensor {
  using _op = userOp("silu");
  checkTensor("silu", x, "x");
  floatCheck("silu", "x", x);
  return mul(x, sigmoid(x));
}

/**
 * Softplus `log(1 + e^(beta·x)) / beta`, linear where `beta·x > threshold`
 * (beta a finite nonzero number, threshold a finite one).
 *
 * @example
 * ```ts
 * import { softplus, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(softplus(tensor(0, { dtype: "float64" }))) - Math.log(2)) < 1e-15);
 * ```
 */
export function softplus(
  x: Tensor,
  options?: { beta?: number; threshold?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("softplus");
  checkOptions("softplus", options, ["beta", "threshold"]);
  checkTensor("softplus", x, "x");
  floatCheck("softplus", "x", x);
  const beta = numberOption("softplus", "beta", options.beta, 1);
  const threshold = numberOption(
    "softplus",
    "threshold",
    options.threshold,
    20,
  );
  if (beta === 0) {
    throw new Error(`softplus: beta must be nonzero, got 0`);
  }
  const bx = mul(x, beta);
  const linearPart = greater(bx, threshold);
  const safe = where(linearPart, 0, bx); // keeps exp finite in the branch not taken
  return where(linearPart, x, div(log1p(exp(safe)), beta));
}

/**
 * `x` limited to `[lo, hi]` (NaN kept), its gradient passed only where
 * `passes` (PyTorch's hardtanh family masks it by its own comparisons, not
 * as clamp's, which reaches the bounds).
 */
function hardClip(x: Tensor, lo: number, hi: number, passes: Tensor): Tensor {
  return where(passes, x, stopGradient(clamp(x, { min: lo, max: hi })));
}

/** hardtanh's mask: 0 at and beyond the bounds; a NaN passes (PyTorch's comparisons let it). */
const notOutside = (x: Tensor, lo: number, hi: number) =>
  logicalNot(logicalOr(lessEqual(x, lo), greaterEqual(x, hi)));

/**
 * HardTanh: `x` limited to `[minVal, maxVal]` (defaults -1, 1), as
 * `torch.nn.functional.hardtanh`: the gradient is 1 strictly between the
 * bounds, 0 at and beyond them; NaN stays NaN.
 *
 * @example
 * ```ts
 * import { hardtanh, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(hardtanh(tensor([-2, 0.5, 3]))), [-1, 0.5, 1]);
 * ```
 */
export function hardtanh(
  x: Tensor,
  options?: { minVal?: number; maxVal?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("hardtanh");
  checkOptions("hardtanh", options, ["minVal", "maxVal"]);
  checkTensor("hardtanh", x, "x");
  floatCheck("hardtanh", "x", x);
  const minVal = numberOption("hardtanh", "minVal", options.minVal, -1);
  const maxVal = numberOption("hardtanh", "maxVal", options.maxVal, 1);
  if (!(minVal < maxVal)) {
    throw new Error(
      `hardtanh: minVal must be below maxVal, got ${minVal} and ${maxVal}`,
    );
  }
  return hardClip(x, minVal, maxVal, notOutside(x, minVal, maxVal));
}

/**
 * ReLU6: `min(max(x, 0), 6)`, as `torch.nn.functional.relu6` (hardtanh on
 * `[0, 6]`: the gradient 1 strictly between 0 and 6).
 *
 * @example
 * ```ts
 * import { relu6, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(relu6(tensor([-1, 3, 9]))), [0, 3, 6]);
 * ```
 */
export function relu6(x: Tensor): Tensor {
  using _op = userOp("relu6");
  checkTensor("relu6", x, "x");
  floatCheck("relu6", "x", x);
  return hardClip(x, 0, 6, notOutside(x, 0, 6));
}

/**
 * Hard sigmoid: `min(max(x + 3, 0), 6) / 6`, as
 * `torch.nn.functional.hardsigmoid` (the gradient 1/6 strictly between -3
 * and 3; PyTorch 1.13's float64 backward uses float32's 1/6, here it is
 * float64's).
 *
 * @example
 * ```ts
 * import { hardsigmoid, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(hardsigmoid(tensor([-4, 0, 4]))), [0, 0.5, 1]);
 * ```
 */
export function hardsigmoid(x: Tensor): Tensor {
  using _op = userOp("hardsigmoid");
  checkTensor("hardsigmoid", x, "x");
  floatCheck("hardsigmoid", "x", x);
  // PyTorch's backward: 1/6 strictly inside (-3, 3), 0 elsewhere and at NaN
  const inside = logicalAnd(greater(x, -3), less(x, 3));
  return div(hardClip(add(x, 3), 0, 6, inside), 6);
}

/**
 * Hard swish: `x · min(max(x + 3, 0), 6) / 6`, as
 * `torch.nn.functional.hardswish` (MobileNetV3); its gradient is PyTorch's,
 * `x / 3 + 1/2` on `[-3, 3]` bounds included.
 *
 * @example
 * ```ts
 * import { hardswish, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(hardswish(tensor([-4, 0, 4]))), [-0, 0, 4]);
 * ```
 */
export function hardswish(x: Tensor): Tensor {
  using _op = userOp("hardswish");
  checkTensor("hardswish", x, "x");
  floatCheck("hardswish", "x", x);
  // above 3 (and NaN) x itself, as PyTorch's branches
  const rest = logicalNot(lessEqual(x, 3)), xs = where(rest, 0, x);
  return where(rest, x, div(mul(xs, clamp(add(xs, 3), { min: 0, max: 6 })), 6));
}

/**
 * `log(sigmoid(x))`, computed as PyTorch's kernel does it,
 * `min(x, 0) - log1p(e^-|x|)`, so that neither large positive nor large
 * negative `x` loses digits; written as two smooth branches (no `|x|`), so
 * that the second derivative at 0 is `-1/4`.
 *
 * @example
 * ```ts
 * import { item, logSigmoid, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(logSigmoid(tensor(0, { dtype: "float64" }))) + Math.LN2) < 1e-15);
 * assert.equal(item(logSigmoid(tensor(-1000, { dtype: "float64" }))), -1000);
 * ```
 */
export function logSigmoid(x: Tensor): Tensor {
  using _op = userOp("logSigmoid");
  checkTensor("logSigmoid", x, "x");
  floatCheck("logSigmoid", "x", x);
  // x - log1p(e^x) below 0, 0 - log1p(e^-x) (+0 at +inf) from 0 on; each
  // branch's exp sees only its own side, so stays finite in the other's gradient
  const below = less(x, 0), xn = where(below, x, 0), xp = where(below, 0, x);
  return where(
    below,
    sub(xn, log1p(exp(xn))),
    sub(0, log1p(exp(neg(xp)))),
  );
}

/**
 * Softsign: `x / (1 + |x|)`, as `torch.nn.functional.softsign`.
 *
 * @example
 * ```ts
 * import { softsign, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(softsign(tensor([-3, 0, 1]))), [-0.75, 0, 0.5]);
 * ```
 */
export function softsign(x: Tensor): Tensor {
  using _op = userOp("softsign");
  checkTensor("softsign", x, "x");
  floatCheck("softsign", "x", x);
  return div(x, add(abs(x), 1));
}

/**
 * Mish: `x · tanh(log(1 + e^x))`, as `torch.nn.functional.mish` (x itself
 * above 20, where the tanh is 1 to the last bit and e^x would overflow the
 * gradient).
 *
 * @example
 * ```ts
 * import { item, mish, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(mish(tensor(0))), 0);
 * assert.equal(item(mish(tensor(50))), 50);
 * ```
 */
export function mish(x: Tensor): Tensor {
  using _op = userOp("mish");
  checkTensor("mish", x, "x");
  floatCheck("mish", "x", x);
  const big = greater(x, 20);
  const safe = where(big, 0, x); // (no inf in the branch not taken)
  return where(big, x, mul(x, tanh(log1p(exp(safe)))));
}

/**
 * PReLU: x where `x > 0`, else `weight · x`, as `torch.nn.functional.prelu`:
 * `weight` is one slope `[1]` or one per channel `[C]` (axis 1 of x; an x of
 * fewer than two axes has one channel). Its gradients are PyTorch's (at 0
 * the slope's branch).
 *
 * @example
 * ```ts
 * import { prelu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(prelu(tensor([[-1, 2, -3]]), tensor([0.5, 1, 2]))), [[-0.5, 2, -6]]);
 * ```
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  using _op = userOp("prelu");
  checkTensor("prelu", x, "x");
  floatCheck("prelu", "x", x);
  checkTensor("prelu", weight, "weight");
  floatCheck("prelu", "weight", weight);
  const c = x.shape.length >= 2 ? x.shape[1] : 1;
  const n = weight.shape.length === 1 ? weight.shape[0] : -1;
  if (n !== 1 && n !== c) {
    throw new Error(
      `prelu: weight must have shape [1]${
        c === 1 ? "" : ` or [${c}]`
      } (one slope, or one per channel: axis 1 of x ${fmt(x.shape)}), got ${
        fmt(weight.shape)
      }`,
    );
  }
  const w = n === 1
    ? reshape(weight, [])
    : reshape(weight, [c, ...x.shape.slice(2).map(() => 1)]);
  return where(greater(x, 0), x, mul(x, w));
}

// ---------------------------------------------------------------------------
// SELU, CELU, GLU, softmin and the shrinks

/** SELU's alpha and scale (Klambauer et al.; PyTorch's constants). */
const SELU_ALPHA = 1.6732632423543772848170429916717,
  SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * SELU: `scale · elu(x, alpha)` with the self-normalising constants
 * (alpha ≈ 1.6733, scale ≈ 1.0507), as `torch.nn.functional.selu`.
 *
 * @example
 * ```ts
 * import { selu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(selu(tensor([0, 1], { dtype: "float64" }))), [0, 1.0507009873554805]);
 * ```
 */
export function selu(x: Tensor): Tensor {
  using _op = userOp("selu");
  checkTensor("selu", x, "x");
  floatCheck("selu", "x", x);
  return mul(elu(x, { alpha: SELU_ALPHA }), SELU_SCALE);
}

/**
 * CELU: `max(0, x) + min(0, alpha·(exp(x/alpha) - 1))` (default alpha 1), as
 * `torch.nn.functional.celu`; the gradient at 0 is 1.
 *
 * @example
 * ```ts
 * import { celu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(celu(tensor([2, 0], { dtype: "float64" }), { alpha: 2 })), [2, 0]);
 * ```
 */
export function celu(x: Tensor, options?: { alpha?: number }): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("celu");
  const fn = "celu";
  checkOptions(fn, options, ["alpha"]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const alpha = options.alpha ?? 1;
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha === 0) {
    throw new Error(
      `${fn}: alpha must be a finite nonzero number, got ${describe(alpha)}`,
    );
  }
  const pos = greater(x, 0);
  const neg = mul(sub(exp(div(where(pos, 0, x), alpha)), 1), alpha);
  return where(pos, x, neg);
}

/**
 * Gated linear unit: x split in halves `a`, `b` along `axis` (default -1,
 * of even size), `a · sigmoid(b)`, as `torch.nn.functional.glu`.
 *
 * @example
 * ```ts
 * import { glu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(glu(tensor([[6, 0]]))), [[3]]); // 6 · sigmoid(0)
 * ```
 */
export function glu(x: Tensor, axis?: number | { axis?: number }): Tensor {
  axis ??= -1;
  using _op = userOp("glu");
  checkTensor("glu", x, "x");
  floatCheck("glu", "x", x);
  if (x.shape.length === 0) {
    throw new Error(
      "glu: x must have at least one axis (to split in halves), got shape []",
    );
  }
  const a = axisArg("glu", x, axis);
  const n = x.shape[a];
  if (n % 2 !== 0) {
    throw new Error(
      `glu: the axis split in halves (axis ${a} of x ${
        fmt(x.shape)
      }) must have an even size, got ${n}`,
    );
  }
  const half = (i: number) =>
    slice(
      x,
      x.shape.map((_, k) => (k === a ? i * n / 2 : 0)),
      x.shape.map((d, k) => (k === a ? (i + 1) * n / 2 : d)),
    );
  return mul(half(0), sigmoid(half(1)));
}

/**
 * Softmin along `axis` (default -1): `softmax(-x)`, as
 * `torch.nn.functional.softmin`.
 *
 * @example
 * ```ts
 * import { softmin, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(softmin(tensor([1, 1]))), [0.5, 0.5]);
 * ```
 */
export function softmin(x: Tensor, axis?: number | { axis?: number }): Tensor {
  using _op = userOp("softmin");
  checkTensor("softmin", x, "x");
  floatCheck("softmin", "x", x);
  axisArg("softmin", x, axis ?? -1);
  return softmax(neg(x), axis);
}

/**
 * Tanhshrink: `x - tanh(x)`, as `torch.nn.functional.tanhshrink`.
 *
 * @example
 * ```ts
 * import { tanhshrink, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(tanhshrink(tensor([0]))), [0]);
 * ```
 */
export function tanhshrink(x: Tensor): Tensor {
  using _op = userOp("tanhshrink");
  checkTensor("tanhshrink", x, "x");
  floatCheck("tanhshrink", "x", x);
  return sub(x, tanh(x));
}

/** A shrink's `lambd`: a number >= 0. */
function lambdOption(fn: string, v: unknown): number {
  const l = v ?? 0.5;
  if (typeof l !== "number" || !(l >= 0) || !Number.isFinite(l)) {
    throw new Error(
      `${fn}: lambd must be a finite number >= 0, got ${describe(l)}`,
    );
  }
  return l;
}

/**
 * Soft shrinkage: `x - lambd` above `lambd`, `x + lambd` below `-lambd`, 0
 * between (default lambd 0.5), as `torch.nn.functional.softshrink`; the
 * gradient is 1 strictly outside `[-lambd, lambd]`.
 *
 * @example
 * ```ts
 * import { softshrink, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(softshrink(tensor([-2, 0.25, 1.5]))), [-1.5, 0, 1]);
 * ```
 */
export function softshrink(x: Tensor, options?: { lambd?: number }): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("softshrink");
  const fn = "softshrink";
  checkOptions(fn, options, ["lambd"]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const l = lambdOption(fn, options.lambd);
  return where(greater(x, l), sub(x, l), where(less(x, -l), add(x, l), 0));
}

/**
 * Hard shrinkage: `x` where `|x| > lambd`, else 0 (default lambd 0.5), as
 * `torch.nn.functional.hardshrink`; NaN stays NaN.
 *
 * @example
 * ```ts
 * import { hardshrink, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(hardshrink(tensor([-2, 0.25, 1.5]))), [-2, 0, 1.5]);
 * ```
 */
export function hardshrink(x: Tensor, options?: { lambd?: number }): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("hardshrink");
  const fn = "hardshrink";
  checkOptions(fn, options, ["lambd"]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const l = lambdOption(fn, options.lambd);
  // PyTorch's test: 0 inside [-lambd, lambd] (a NaN is outside)
  return where(logicalAnd(greaterEqual(x, -l), lessEqual(x, l)), 0, x);
}

/**
 * `x` where `x > threshold`, else `value`, as
 * `torch.nn.functional.threshold`; NaN stays NaN.
 *
 * @example
 * ```ts
 * import { threshold, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(threshold(tensor([-1, 0.5, 2]), 0.5, -7)), [-7, -7, 2]);
 * ```
 */
export function threshold(x: Tensor, thresh: number, value: number): Tensor {
  using _op = userOp("threshold");
  const fn = "threshold";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  for (const [name, v] of [["threshold", thresh], ["value", value]] as const) {
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new Error(`${fn}: ${name} must be a number, got ${describe(v)}`);
    }
  }
  return where(lessEqual(x, thresh), value, x);
}
