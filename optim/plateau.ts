/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau as a pure wrapper of an
 * optimizer: the learning rate lives in the state, and `step(state, metric)`
 * (once per epoch, with a validation loss or accuracy) lowers it by `factor`
 * after `patience` epochs without improvement.
 *
 * @module
 */
import { describe, fromData, isTensor, type Tensor } from "../ops/tensor.ts";
import { astype, mul } from "../ops/elementwise.ts";
import { reshape } from "../ops/structural.ts";
import { flattenAs, type Tree } from "../ops/tree.ts";
import type { GradientTransformation, Optimizer } from "./base.ts";
import {
  checkCount,
  checkNum,
  checkOptions,
  leafwise,
  like,
  stepScalars,
} from "./_util.ts";

/** Options of {@linkcode reduceLROnPlateau} (ReduceLROnPlateau's, camelCased). */
export interface ReduceLROnPlateauOptions {
  /** "min" (default: a lower metric is better, e.g. a loss) or "max" (accuracy). */
  mode?: "min" | "max";
  /** The learning rate is multiplied by this on a plateau; in [0, 1). Default 0.1. */
  factor?: number;
  /** Epochs without improvement tolerated before lowering the rate. Default 10. */
  patience?: number;
  /** How much better than the best a metric must be to count. Default 1e-4. */
  threshold?: number;
  /**
   * "rel" (default: better than `best * (1 ∓ threshold)`) or "abs" (better
   * than `best ∓ threshold`).
   */
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction before counting bad epochs again. Default 0. */
  cooldown?: number;
  /** The learning rate never goes below this. Default 0. */
  minLr?: number;
  /** A reduction smaller than this is skipped. Default 1e-8. */
  eps?: number;
}

/** State of {@linkcode reduceLROnPlateau}: the optimizer's and the scheduler's. */
export type PlateauState = {
  /** The wrapped optimizer's state. */
  readonly inner: Tree;
  /** The current learning rate (float64 scalar; torch's `get_last_lr()`). */
  readonly lr: Tensor;
  /** The best metric so far (float64 scalar; ±Infinity before the first). */
  readonly best: Tensor;
  /** Epochs since the last improvement (int32 scalar). */
  readonly numBadEpochs: Tensor;
  /** Epochs of cooldown left (int32 scalar). */
  readonly cooldownCounter: Tensor;
};

/** An optimizer whose learning rate `step` lowers on a plateau of a metric. */
export interface PlateauOptimizer extends GradientTransformation<PlateauState> {
  /**
   * The state after one epoch that ended with `metric` (a number or a scalar
   * tensor; ReduceLROnPlateau's `step(metrics)`). Pure, and jittable with a
   * tensor metric.
   */
  step(state: PlateauState, metric: number | Tensor): PlateauState;
}

const f64 = (v: number) => fromData(Float64Array.of(v), []);

function checkFloat64Scalar(fn: string, name: string, t: unknown): Tensor {
  if (!isTensor(t) || t.shape.length !== 0 || t.dtype !== "float64") {
    throw new Error(
      `${fn}: state.${name} must be a float64 scalar tensor (from init), got ${
        describe(t)
      }`,
    );
  }
  return t;
}

function checkState(fn: string, state: unknown): PlateauState {
  const s = state as PlateauState;
  if (typeof state !== "object" || state === null || !("inner" in s)) {
    throw new Error(
      `${fn}: state must be what init returned ({ inner, lr, best, numBadEpochs, cooldownCounter }), got ${
        describe(state)
      }`,
    );
  }
  checkFloat64Scalar(fn, "lr", s.lr);
  checkFloat64Scalar(fn, "best", s.best);
  checkCount(fn, s.numBadEpochs, "numBadEpochs");
  checkCount(fn, s.cooldownCounter, "cooldownCounter");
  return s;
}

function oneOf<T extends string>(
  fn: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    throw new Error(
      `${fn}: ${name} must be ${
        allowed.map((a) => JSON.stringify(a)).join(" or ")
      }, got ${
        typeof value === "string" ? JSON.stringify(value) : describe(value)
      }`,
    );
  }
  return value as T;
}

/**
 * Wraps `optimizer` (one of optim's, with a number `lr`) so that its learning
 * rate is kept in the state and lowered as torch's ReduceLROnPlateau does:
 * `step(state, metric)` counts an epoch as bad unless the metric beats the
 * best by `threshold`; after more than `patience` bad epochs in a row the rate
 * becomes `max(lr * factor, minLr)` (unless that changes it by `eps` or less)
 * and `cooldown` epochs follow in which bad epochs are not counted. The
 * updates are the optimizer's times `lr / optimizer.lr`, so until the first
 * reduction they are the optimizer's own bits; after it they equal torch's
 * to the rounding of that ratio. Every optimizer but `rprop` and `asgd`
 * (whose updates do not scale with `lr`) can be wrapped.
 *
 * @example
 * ```ts
 * import { reduceLROnPlateau, sgd } from "./mod.ts";
 * import { item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = reduceLROnPlateau(sgd({ lr: 0.1 }), { factor: 0.5, patience: 1 });
 * let state = opt.init(tensor([1, 2]));
 * for (const valLoss of [1.0, 0.8, 0.9, 0.85]) state = opt.step(state, valLoss);
 * assert.equal(item(state.lr), 0.05); // two epochs without beating 0.8
 * ```
 */
export function reduceLROnPlateau(
  optimizer: Optimizer,
  options?: ReduceLROnPlateauOptions,
): PlateauOptimizer {
  if (options === undefined) options = {};
  const fn = "optim.reduceLROnPlateau";
  if (
    typeof optimizer !== "object" || optimizer === null ||
    typeof optimizer.init !== "function" ||
    typeof optimizer.update !== "function" ||
    typeof optimizer.lr !== "number"
  ) {
    throw new Error(
      `${fn}: optimizer must be one of optim's optimizers made with a number lr (not rprop or asgd, whose updates do not scale with lr, nor a schedule or a custom chain), got ${
        typeof optimizer === "object" && optimizer !== null &&
          typeof optimizer.update === "function"
          ? `a transformation with lr ${describe(optimizer.lr)}`
          : describe(optimizer)
      }`,
    );
  }
  const o = checkOptions(fn, options, [
    "mode",
    "factor",
    "patience",
    "threshold",
    "thresholdMode",
    "cooldown",
    "minLr",
    "eps",
  ]);
  const mode = oneOf(fn, "mode", o.mode ?? "min", ["min", "max"] as const);
  const factor = checkNum(fn, "factor", o.factor ?? 0.1, {
    min: 0,
    max: 1,
    maxOpen: true,
  });
  const nonNegInt = { min: 0, integer: true };
  const patience = checkNum(fn, "patience", o.patience ?? 10, nonNegInt);
  const threshold = checkNum(fn, "threshold", o.threshold ?? 1e-4, { min: 0 });
  const modes = ["rel", "abs"] as const;
  const thresholdMode = oneOf(
    fn,
    "thresholdMode",
    o.thresholdMode ?? "rel",
    modes,
  );
  const cooldown = checkNum(fn, "cooldown", o.cooldown ?? 0, nonNegInt);
  const minLr = checkNum(fn, "minLr", o.minLr ?? 0, { min: 0 });
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, { min: 0 });
  const baseLr = optimizer.lr;

  // torch's is_better, in float64 as Python's floats
  const isBetter = (a: number, best: number) =>
    mode === "min"
      ? (thresholdMode === "rel"
        ? a < best * (1 - threshold)
        : a < best - threshold)
      : (thresholdMode === "rel"
        ? a > best * (threshold + 1)
        : a > best + threshold);

  return {
    init(params) {
      flattenAs(`${fn}.init(params)`, params);
      return {
        inner: optimizer.init(params),
        lr: f64(baseLr),
        best: f64(mode === "min" ? Infinity : -Infinity),
        numBadEpochs: fromData(Int32Array.of(0), []),
        cooldownCounter: fromData(Int32Array.of(0), []),
      };
    },
    update(updates, state, params) {
      const s = checkState(`${fn}.update`, state);
      flattenAs(`${fn}.update(updates)`, updates);
      const r = optimizer.update(updates, s.inner, params);
      // (a rate of 0 stays 0: lr * factor is no reduction)
      const [ratio] = stepScalars(
        [s.lr],
        1,
        (lr) => [baseLr ? lr / baseLr : 1],
      );
      return {
        updates: leafwise(
          fn,
          (u) => mul(u, like(ratio, u)),
          r.updates,
        ),
        state: { ...s, inner: r.state },
      };
    },
    step(state, metric) {
      const f = `${fn}.step`;
      const s = checkState(f, state);
      const m = metricTensor(f, metric);
      const [lr, best, bad, cool] = stepScalars(
        [s.lr, s.best, s.numBadEpochs, s.cooldownCounter, m],
        4,
        (lr, best, bad, cool, current) => {
          if (isBetter(current, best)) {
            best = current;
            bad = 0;
          } else bad++;
          if (cool > 0) {
            cool--;
            bad = 0; // bad epochs in cooldown are ignored
          }
          if (bad > patience) {
            const newLr = Math.max(lr * factor, minLr);
            if (lr - newLr > eps) lr = newLr;
            cool = cooldown;
            bad = 0;
          }
          return [lr, best, bad, cool];
        },
      );
      return {
        inner: s.inner,
        lr,
        best,
        numBadEpochs: astype(bad, "int32"),
        cooldownCounter: astype(cool, "int32"),
      };
    },
  };
}

/** A metric as a float64 scalar: a finite-or-not number, or a one-element float tensor. */
function metricTensor(fn: string, metric: unknown): Tensor {
  if (typeof metric === "number") return f64(metric);
  if (
    isTensor(metric) && metric.shape.every((d) => d === 1) &&
    (metric.dtype === "float32" || metric.dtype === "float64")
  ) {
    return astype(reshape(metric, []), "float64");
  }
  throw new Error(
    `${fn}: metric must be a number or a one-element float tensor (e.g. the epoch's validation loss), got ${
      describe(metric)
    }`,
  );
}
