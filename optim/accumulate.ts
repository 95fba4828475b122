/**
 * Gradient accumulation: optax's MultiSteps, one optimizer step for every
 * `everyK` calls, on the mean of their gradients (a large batch taken as
 * several small ones).
 *
 * @module
 */
import { add, astype, div, equal, sub, where } from "../ops/elementwise.ts";
import { remainder } from "../ops/math.ts";
import { describe, type Tensor } from "../ops/tensor.ts";
import { flattenAs, type Tree } from "../ops/tree.ts";
import { checkTransform, type GradientTransformation } from "./base.ts";
import {
  checkCount,
  checkFloatLeaves,
  checkNum,
  checkOptions,
  countTensor,
  leafwise,
  zerosTree,
} from "./_util.ts";

/** Options of {@linkcode multiSteps}. */
export interface MultiStepsOptions {
  /** Calls per optimizer step (optax's every_k_schedule, a constant). Required. */
  everyK: number;
}

/** State of {@linkcode multiSteps}. */
export type MultiStepsState = {
  /** Calls since the last optimizer step (int32 scalar, 0 to everyK - 1). */
  readonly miniStep: Tensor;
  /** Optimizer steps made (int32 scalar). */
  readonly gradientStep: Tensor;
  /** The wrapped optimizer's state. */
  readonly inner: Tree;
  /** The mean of the gradients since the last optimizer step, a tree like the params. */
  readonly acc: Tree;
};

/**
 * Accumulates `everyK` gradients and then makes one step of `inner` on
 * their mean (optax's MultiSteps with use_grad_mean): the first `everyK - 1`
 * calls return zero updates and keep `inner`'s state, the `everyK`-th
 * returns `inner`'s updates for the mean. The mean is kept as optax keeps it,
 * `acc + (g - acc) / (miniStep + 1)`, and, as optax's, the counter becomes
 * `(miniStep + 1) % everyK` (a state saved with a larger `everyK` steps
 * again once its counter wraps).
 * Chosen with `where`, not by reading the counter, so a jitted training step
 * runs it. The params must be float tensors (the mean is fractional, and an
 * integer accumulator would change dtype in the state): freeze an integer
 * leaf outside it, `multiTransform({ train: multiSteps(opt, o), frozen:
 * setToZero() }, labels)`, not with `masked` or `setToZero` inside it.
 *
 * @example
 * ```ts
 * import { multiSteps, sgd } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = multiSteps(sgd({ lr: 0.5 }), { everyK: 2 });
 * const p = tensor([0]);
 * const a = opt.update(tensor([1]), opt.init(p), p);
 * assert.deepEqual(toArray(a.updates), [0]); // accumulated
 * const b = opt.update(tensor([3]), a.state, p);
 * assert.deepEqual(toArray(b.updates), [-1]); // -0.5 * mean(1, 3)
 * ```
 */
export function multiSteps(
  inner: GradientTransformation,
  options: MultiStepsOptions,
): GradientTransformation<MultiStepsState> {
  const fn = "optim.multiSteps";
  checkTransform(fn, "inner", inner);
  const o = checkOptions(fn, options, ["everyK"]);
  // (the counter is an int32 tensor)
  const k = checkNum(fn, "everyK", o.everyK, {
    min: 1,
    max: 2 ** 31 - 1,
    integer: true,
  });
  return {
    init(params) {
      // (an integer leaf's mean would make its accumulator float)
      checkFloatLeaves(`${fn}.init(params)`, "params", params);
      return {
        miniStep: countTensor(0),
        gradientStep: countTensor(0),
        inner: inner.init(params),
        acc: zerosTree(params),
      };
    },
    update(updates, state, params) {
      if (typeof state !== "object" || state === null || !("inner" in state)) {
        throw new Error(
          `${fn}.update: state must be what init returned ({ miniStep, gradientStep, inner, acc }), got ${
            describe(state)
          }`,
        );
      }
      const mini = checkCount(fn, state.miniStep, "miniStep");
      const steps = checkCount(fn, state.gradientStep, "gradientStep");
      flattenAs(`${fn}.update(updates)`, updates);
      const acc = leafwise(
        fn,
        (u, a) => add(a, div(sub(u, a), astype(add(mini, 1), u.dtype))),
        updates,
        state.acc,
      );
      const emit = equal(mini, k - 1);
      const r = inner.update(acc, state.inner, params);
      const pick = (a: Tensor, b: Tensor) => where(emit, a, b);
      const innerState = leafwise(fn, pick, r.state, state.inner);
      return {
        updates: leafwise(fn, (u) => where(emit, u, 0), r.updates),
        state: {
          miniStep: remainder(add(mini, 1), k),
          gradientStep: add(steps, astype(emit, "int32")),
          inner: innerState,
          acc: leafwise(fn, (a) => where(emit, 0, a), acc),
        },
      };
    },
  };
}
