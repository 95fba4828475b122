/**
 * Activations (torch.nn.functional's): softmax, logSoftmax, leakyRelu,
 * elu, gelu, silu, softplus, composed from elementwise ops (relu, tanh and
 * sigmoid are elementwise primitives).
 *
 * @module
 */
import { checkOptions, checkTensor, type Tensor } from "./tensor.ts";
import { concrete } from "./trace.ts";
import { userOp } from "./debug.ts";
import { floatCheck } from "./_args.ts";
import {
  add,
  div,
  erf,
  exp,
  greater,
  log,
  log1p,
  mul,
  sigmoid,
  square,
  sub,
  tanh,
  where,
} from "./elementwise.ts";
import { max } from "./reductions.ts";
import { normAxis, sum } from "./structural.ts";

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
  return where(greater(x, 0), x, mul(x, options.negativeSlope ?? 0.01));
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
  const pos = greater(x, 0);
  // exp only sees the negative part, so no inf reaches the unused branch's gradient
  const negPart = mul(sub(exp(where(pos, 0, x)), 1), options.alpha ?? 1);
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
      `gelu: approximate must be "none" or "tanh", got ${
        JSON.stringify(approx)
      }`,
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
  return mul(x, sigmoid(x));
}

/**
 * Softplus `log(1 + e^(beta·x)) / beta`, linear where `beta·x > threshold`.
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
  const { beta = 1, threshold = 20 } = options;
  const bx = mul(x, beta);
  const linearPart = greater(bx, threshold);
  const safe = where(linearPart, 0, bx); // keeps exp finite in the branch not taken
  return where(linearPart, x, div(log1p(exp(safe)), beta));
}
