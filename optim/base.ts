/**
 * The optax core: a gradient transformation is a pair of pure functions
 * `{ init(params) -> state, update(updates, state, params) -> { updates,
 * state } }`; `chain` composes them; `applyUpdates` adds the final updates to
 * the params. Nothing here mutates anything: `update` returns a new state.
 *
 * @module
 */
import {
  add,
  astype,
  div,
  less,
  mul,
  sqrt,
  where,
} from "../ops/elementwise.ts";
import { clamp as clampOp } from "../ops/math.ts";
import { sum } from "../ops/structural.ts";
import { describe, full, type Tensor } from "../ops/tensor.ts";
import { checkSameStructure, flattenAs, type Tree } from "../ops/tree.ts";
import {
  checkBool,
  checkCount,
  checkLr,
  checkNum,
  checkOptions,
  checkSameShapes,
  checkStateKeys,
  countTensor,
  leafwise,
  type LearningRate,
  like,
  lrAt,
  needParams,
  nextCount,
  type Schedule,
  stepScalars,
} from "./_util.ts";

export type { LearningRate, Schedule } from "./_util.ts";

/** What {@linkcode GradientTransformation.update} returns. */
export interface UpdateResult<T extends Tree, S extends Tree> {
  /** The transformed updates, a tree like the input updates. */
  readonly updates: T;
  /** The new state (the old one is left as it was). */
  readonly state: S;
}

/**
 * optax's GradientTransformation: `init` builds the state from the params;
 * `update` maps updates (at first the gradients) and a state to new updates
 * and a new state. The state is a tree of tensors (step counters are int32
 * scalar tensors), so `treeLeaves(state)` works on every state.
 *
 * @example
 * ```ts
 * import { type GradientTransformation, applyUpdates, sgd } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt: GradientTransformation = sgd({ lr: 0.5 });
 * const params = tensor([1, 2]);
 * const state = opt.init(params);
 * const { updates } = opt.update(tensor([1, -1]), state, params);
 * assert.deepEqual(toArray(applyUpdates(params, updates)), [0.5, 2.5]);
 * ```
 */
export interface GradientTransformation<S extends Tree = Tree> {
  /** The initial state for `params` (only their structure, shapes and dtypes are read). */
  init(params: Tree): S;
  /**
   * New updates and state from `updates` (a tree like the params) and the
   * current `state`; `params` are the current params (needed by weight decay,
   * trust ratios and parameter scaling).
   */
  update<T extends Tree>(
    updates: T,
    state: S,
    params?: T,
  ): UpdateResult<T, S>;
}

/**
 * An optimizer is a gradient transformation whose updates are added to the
 * params. optim's own carry the `lr` they were made with when their updates
 * are proportional to it (all but rprop and asgd), which
 * `optim.reduceLROnPlateau` reads.
 */
export interface Optimizer<S extends Tree = Tree>
  extends GradientTransformation<S> {
  /** The learning rate the optimizer was made with. */
  readonly lr?: LearningRate;
}

/** The state of a transform that keeps nothing: `{}`. */
export type EmptyState = { readonly [key: string]: never };

/** The state of a transform that only counts its updates. */
export type CountState = {
  /** Updates made so far, an int32 scalar tensor. */
  readonly count: Tensor;
};

/**
 * `params + updates` leafwise; each result keeps its param's dtype (optax's
 * apply_updates).
 *
 * @example
 * ```ts
 * import { applyUpdates } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = applyUpdates({ w: tensor([1, 2]) }, { w: tensor([0.5, -1], { dtype: "float64" }) });
 * assert.deepEqual(toArray(p.w), [1.5, 1]);
 * assert.equal(p.w.dtype, "float32");
 * ```
 */
export function applyUpdates<T extends Tree>(params: T, updates: Tree): T {
  const fn = "optim.applyUpdates";
  checkSameStructure(fn, params, updates, "params and updates");
  // (an update of another shape would broadcast and reshape the param)
  checkSameShapes(fn, params, updates, "the params", "the updates");
  return leafwise(fn, (p, u) => astype(add(p, u), p.dtype), params, updates);
}

/** Checks that `t` (named `name` in the error) is a gradient transformation `{ init, update }`. @internal */
export function checkTransform(fn: string, name: string, t: unknown): void {
  const g = t as GradientTransformation;
  if (
    typeof t !== "object" || t === null || typeof g.init !== "function" ||
    typeof g.update !== "function"
  ) {
    throw new Error(
      `${fn}: ${name} must be a gradient transformation { init, update }, got ${
        describe(t)
      }`,
    );
  }
}

/**
 * Runs transformations one after the other (optax's chain). The state is an
 * array with one state per transformation.
 *
 * @example
 * ```ts
 * import { chain, scale, scaleByLearningRate } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = chain(scale(2), scaleByLearningRate(0.25));
 * const { updates, state } = opt.update(tensor([1, 4]), opt.init(tensor([0, 0])));
 * assert.deepEqual(toArray(updates), [-0.5, -2]);
 * assert.equal(state.length, 2);
 * ```
 */
export function chain(
  // deno-lint-ignore no-explicit-any
  ...transforms: GradientTransformation<any>[]
): GradientTransformation<Tree[]> {
  const fn = "optim.chain";
  transforms.forEach((t, i) => checkTransform(fn, `argument ${i}`, t));
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update(updates, state, params) {
      if (!Array.isArray(state) || state.length !== transforms.length) {
        throw new Error(
          `${fn}: state must be an array of ${transforms.length} states (one per transform, as init returns), got ${
            describe(state)
          }`,
        );
      }
      let u = updates;
      const next: Tree[] = [];
      transforms.forEach((t, i) => {
        const r = t.update(u, state[i], params);
        u = r.updates;
        next.push(r.state);
      });
      return { updates: u, state: next };
    },
  };
}

/**
 * The transformation that leaves updates as they are.
 *
 * @example
 * ```ts
 * import { identity } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = identity();
 * assert.deepEqual(toArray(t.update(tensor([3]), t.init(tensor([0]))).updates), [3]);
 * ```
 */
export function identity(): GradientTransformation<EmptyState> {
  return {
    init: () => ({}),
    update: (updates, state) => ({ updates, state }),
  };
}

/**
 * Multiplies updates by a constant `factor` (`scale(-1)` turns gradient
 * ascent into descent and back, as torch's `maximize`).
 *
 * @example
 * ```ts
 * import { scale } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scale(-2);
 * assert.deepEqual(toArray(t.update(tensor([1, 3]), t.init(tensor([0, 0]))).updates), [-2, -6]);
 * ```
 */
export function scale(factor: number): GradientTransformation<EmptyState> {
  const fn = "optim.scale";
  checkNum(fn, "factor", factor);
  return {
    init: () => ({}),
    update: (updates, state) => ({
      updates: leafwise(fn, (u) => mul(u, factor), updates),
      state,
    }),
  };
}

/**
 * Multiplies updates by `schedule(count)`, `count` being the updates made so
 * far. State `{ count }`.
 *
 * @example
 * ```ts
 * import { scaleBySchedule } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleBySchedule((step) => 1 / (step + 1));
 * let state = t.init(tensor([0]));
 * const first = t.update(tensor([6]), state);
 * const second = t.update(tensor([6]), first.state);
 * assert.deepEqual([toArray(first.updates), toArray(second.updates)], [[6], [3]]);
 * ```
 */
export function scaleBySchedule(
  schedule: Schedule,
): GradientTransformation<CountState> {
  const fn = "optim.scaleBySchedule";
  if (typeof schedule !== "function") {
    throw new Error(
      `${fn}: schedule must be a function (step) => number, got ${
        describe(schedule)
      }`,
    );
  }
  return {
    init: () => ({ count: countTensor(0) }),
    update(updates, state) {
      checkStateKeys(fn, state, ["count"]);
      const count = checkCount(fn, state.count);
      const [s] = stepScalars([count], 1, (n) => [lrAt(fn, schedule, n)]);
      return {
        updates: leafwise(fn, (u) => mul(u, like(s, u)), updates),
        state: { count: nextCount(count) },
      };
    },
  };
}

/** Options of {@linkcode scaleByLearningRate}. */
export interface ScaleByLearningRateOptions {
  /** Multiply by `-lr` (descent) rather than `lr`. Default true. */
  flipSign?: boolean;
}

/**
 * Multiplies updates by `-lr` (by `lr` with `flipSign: false`); `lr` is a
 * number (state `{}`) or a schedule (state `{ count }`), as optax's
 * scale_by_learning_rate.
 *
 * @example
 * ```ts
 * import { scaleByLearningRate } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByLearningRate(0.1);
 * assert.deepEqual(toArray(t.update(tensor([10]), t.init(tensor([0]))).updates), [-1]);
 * const s = scaleByLearningRate((step) => (step + 1) * 0.5, { flipSign: false });
 * assert.deepEqual(toArray(s.update(tensor([2]), s.init(tensor([0]))).updates), [1]);
 * ```
 */
export function scaleByLearningRate(
  lr: LearningRate,
  options?: ScaleByLearningRateOptions,
): GradientTransformation<EmptyState | CountState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByLearningRate";
  checkLr(fn, lr);
  const o = checkOptions(fn, options, ["flipSign"]);
  const flip = checkBool(fn, "flipSign", o.flipSign ?? true);
  if (typeof lr === "number") return scale(flip ? -lr : lr);
  // deno-lint-ignore no-explicit-any
  const t: GradientTransformation<any> = scaleBySchedule((step) => {
    const v = lrAt(fn, lr, step);
    return flip ? -v : v;
  });
  return t;
}

/**
 * Adds `weightDecay * params` to the updates (optax's add_decayed_weights).
 * Placed before the learning rate it gives L2 regularisation added to the
 * gradient (torch's `weightDecay` in sgd and adam); placed after the adaptive
 * scaling it gives decoupled decay (adamw).
 *
 * @example
 * ```ts
 * import { addDecayedWeights } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = addDecayedWeights(0.5);
 * const p = tensor([2, 4]);
 * assert.deepEqual(toArray(t.update(tensor([1, 1]), t.init(p), p).updates), [2, 3]);
 * ```
 */
export function addDecayedWeights(
  weightDecay: number,
): GradientTransformation<EmptyState> {
  const fn = "optim.addDecayedWeights";
  checkNum(fn, "weightDecay", weightDecay, { min: 0 });
  return {
    init: () => ({}),
    update(updates, state, params) {
      if (weightDecay === 0) return { updates, state };
      const p = needParams(fn, params);
      return {
        updates: leafwise(
          fn,
          (u, w) => add(u, mul(w, weightDecay)),
          updates,
          p,
        ),
        state,
      };
    },
  };
}

/**
 * The L2 norm of all the leaves of a tree taken together,
 * `sqrt(sum of x^2 over every element)`, as a scalar tensor.
 *
 * @example
 * ```ts
 * import { globalNorm } from "./mod.ts";
 * import { tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(globalNorm({ a: tensor([3]), b: tensor([[4]]) })), 5);
 * ```
 */
export function globalNorm(tree: Tree): Tensor {
  const [leaves] = flattenAs("optim.globalNorm", tree);
  if (leaves.length === 0) return full([], 0);
  return sqrt(
    leaves.map((l) => sum(mul(l, l))).reduce((a, b) => add(a, b)),
  );
}

/**
 * Clips every update entry into `[-maxDelta, maxDelta]` (optax's clip;
 * `torch.nn.utils.clip_grad_value_` as a transformation): chain it before
 * an optimizer to clip the gradients by value.
 *
 * @example
 * ```ts
 * import { clip } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = clip(0.5);
 * const g = tensor([-2, 0.25, 3]);
 * assert.deepEqual(toArray(t.update(g, t.init(g)).updates), [-0.5, 0.25, 0.5]);
 * ```
 */
export function clip(maxDelta: number): GradientTransformation<EmptyState> {
  const fn = "optim.clip";
  checkNum(fn, "maxDelta", maxDelta, { min: 0 });
  return {
    init: () => ({}),
    update: (updates, state) => ({
      updates: leafwise(
        fn,
        (u) => clampOp(u, { min: -maxDelta, max: maxDelta }),
        updates,
      ),
      state,
    }),
  };
}

/**
 * Rescales the updates so that their global norm is at most `maxNorm`
 * (optax's clip_by_global_norm): with `n = globalNorm(updates)`, updates are
 * unchanged when `n < maxNorm` and become `updates / n * maxNorm` otherwise.
 *
 * @example
 * ```ts
 * import { clipByGlobalNorm } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = clipByGlobalNorm(1);
 * const f64 = { dtype: "float64" } as const;
 * const g = { a: tensor([3], f64), b: tensor([4], f64) }; // norm 5
 * const { updates } = t.update(g, t.init(g));
 * assert.deepEqual([toArray(updates.a), toArray(updates.b)], [[0.6], [0.8]]);
 * ```
 */
export function clipByGlobalNorm(
  maxNorm: number,
): GradientTransformation<EmptyState> {
  const fn = "optim.clipByGlobalNorm";
  checkNum(fn, "maxNorm", maxNorm, { min: 0, minOpen: true });
  return {
    init: () => ({}),
    update(updates, state) {
      const n = globalNorm(updates);
      const small = less(n, maxNorm);
      return {
        updates: leafwise(
          fn,
          (u) => where(small, u, mul(div(u, astype(n, u.dtype)), maxNorm)),
          updates,
        ),
        state,
      };
    },
  };
}
