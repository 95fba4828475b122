/**
 * The optimizers: torch.optim's (sgd, adagrad, rmsprop, adam, adamw,
 * adamax, adadelta, nadam, radam, rprop, asgd) with torch's option names camelCased, defaults and
 * step-by-step numbers, and optax's lion, lamb and adafactor. Each is a
 * {@linkcode chain} of the small transforms of `transform.ts` ending in the
 * learning rate, as optax's aliases are.
 *
 * The learning rate is `lr` everywhere: a number or a schedule
 * `(step) => number` (step = updates already made). An unknown option throws;
 * so does a value torch would reject.
 *
 * @module
 */
import {
  addDecayedWeights,
  chain,
  type GradientTransformation,
  type LearningRate,
  type Optimizer,
  scale,
  scaleByLearningRate,
} from "./base.ts";
import {
  clipByBlockRms,
  ema,
  scaleByAdadelta,
  scaleByAdagrad,
  scaleByAdam,
  scaleByAdamax,
  scaleByAsgd,
  scaleByFactoredRms,
  scaleByLion,
  scaleByNadam,
  scaleByParamBlockRms,
  scaleByRadam,
  scaleByRms,
  scaleByRprop,
  scaleByTrustRatio,
  trace,
} from "./transform.ts";
import { describe } from "../ops/tensor.ts";
import {
  checkBetas,
  checkBool,
  checkFloatLeaves,
  checkLr,
  checkNum,
  checkOptions,
  lrAt,
} from "./_util.ts";

// deno-lint-ignore no-explicit-any
type Part = GradientTransformation<any> | false;

/**
 * The optimizer `fn` as a chain of the `parts` that are present (an option
 * switched off gives `false`); its `init` and `update` check that params and
 * updates are trees, errors naming `fn`. `lr` is the learning rate its
 * updates are proportional to (undefined for rprop and asgd).
 */
function pipeline(
  fn: string,
  lr: LearningRate | undefined,
  ...parts: Part[]
): Optimizer {
  // deno-lint-ignore no-explicit-any
  const used = parts.filter((p): p is GradientTransformation<any> => !!p);
  const inner = chain(...used);
  return {
    ...(lr === undefined ? {} : { lr }),
    init: (params) => {
      checkFloatLeaves(`${fn}.init(params)`, "params", params);
      return inner.init(params);
    },
    update: (updates, state, params) => {
      checkFloatLeaves(`${fn}.update(updates)`, "updates", updates);
      if (!Array.isArray(state) || state.length !== used.length) {
        throw new Error(
          `${fn}.update: state must be what ${fn}'s init returned (an array of ${used.length}), got ${
            describe(state)
          }`,
        );
      }
      return inner.update(updates, state, params);
    },
  };
}

const nonNeg = { min: 0 };

function common(fn: string, o: Record<string, unknown>, lr: number) {
  return {
    lr: checkLr(fn, o.lr ?? lr),
    weightDecay: checkNum(fn, "weightDecay", o.weightDecay ?? 0, nonNeg),
    maximize: checkBool(fn, "maximize", o.maximize ?? false),
  };
}

// ---------------------------------------------------------------------------
// torch.optim

/** Options of {@linkcode sgd} (torch.optim.SGD). */
export interface SgdOptions {
  /** Learning rate or schedule. Default 1e-3 (torch >= 2.0; torch 1.13 required it). */
  lr?: LearningRate;
  /** Momentum factor. Default 0. */
  momentum?: number;
  /** Dampening of the momentum (the gradient enters with weight `1 - dampening`). Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov?: boolean;
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov
 * momentum (NAG) and L2 weight decay, as torch.optim.SGD:
 * `d = g + wd p; buf = momentum buf + (1 - dampening) d` (buf = d at the first
 * step); `p -= lr * (nesterov ? d + momentum buf : buf)`.
 *
 * @example
 * ```ts
 * import { applyUpdates, sgd } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = sgd({ lr: 0.1, momentum: 0.9 });
 * let params = tensor([1], { dtype: "float64" });
 * let state = opt.init(params);
 * for (let i = 0; i < 2; i++) {
 *   const r = opt.update(tensor([1], { dtype: "float64" }), state, params);
 *   params = applyUpdates(params, r.updates);
 *   state = r.state;
 * }
 * assert.ok(Math.abs((toArray(params) as number[])[0] - (1 - 0.1 - 0.19)) < 1e-12);
 * assert.throws(() => sgd({ nesterov: true }), /nesterov/);
 * ```
 */
export function sgd(options?: SgdOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.sgd";
  const o = checkOptions(fn, options, [
    "lr",
    "momentum",
    "dampening",
    "weightDecay",
    "nesterov",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 1e-3);
  const momentum = checkNum(fn, "momentum", o.momentum ?? 0, nonNeg);
  const dampening = checkNum(fn, "dampening", o.dampening ?? 0);
  const nesterov = checkBool(fn, "nesterov", o.nesterov ?? false);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new Error(
      `${fn}: nesterov momentum requires momentum > 0 and dampening 0, got momentum ${momentum} and dampening ${dampening}`,
    );
  }
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    momentum !== 0 && trace({ decay: momentum, dampening, nesterov }),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode adagrad} (torch.optim.Adagrad). */
export interface AdagradOptions {
  /** Learning rate or schedule. Default 1e-2. */
  lr?: LearningRate;
  /** The lr at step t is `lr / (1 + t * lrDecay)`. Default 0. */
  lrDecay?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Starting value of the sum of squared gradients. Default 0. */
  initialAccumulatorValue?: number;
  /** Added to the root. Default 1e-10. */
  eps?: number;
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

/**
 * Adagrad as torch.optim.Adagrad: `sum += g^2`,
 * `p -= lr / (1 + t lrDecay) * g / (sqrt(sum) + eps)` (t = updates already made).
 *
 * @example
 * ```ts
 * import { adagrad } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = adagrad({ lr: 0.5, eps: 0 });
 * const p = tensor([1, 1]);
 * assert.deepEqual(toArray(opt.update(tensor([3, -2]), opt.init(p), p).updates), [-0.5, 0.5]);
 * ```
 */
export function adagrad(options?: AdagradOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.adagrad";
  const o = checkOptions(fn, options, [
    "lr",
    "lrDecay",
    "weightDecay",
    "initialAccumulatorValue",
    "eps",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 1e-2);
  const lrDecay = checkNum(fn, "lrDecay", o.lrDecay ?? 0, nonNeg);
  const initialAccumulatorValue = checkNum(
    fn,
    "initialAccumulatorValue",
    o.initialAccumulatorValue ?? 0,
    nonNeg,
  );
  const eps = checkNum(fn, "eps", o.eps ?? 1e-10, nonNeg);
  const decayed: LearningRate = lrDecay === 0
    ? lr
    : (step) => lrAt(fn, lr, step) / (1 + step * lrDecay);
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByAdagrad({ initialAccumulatorValue, eps }),
    scaleByLearningRate(decayed),
  );
}

/** Options of {@linkcode rmsprop} (torch.optim.RMSprop). */
export interface RmspropOptions {
  /** Learning rate or schedule. Default 1e-2. */
  lr?: LearningRate;
  /** Decay of the moving average of g^2. Default 0.99. */
  alpha?: number;
  /** Added to the root. Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Momentum factor. Default 0. */
  momentum?: number;
  /** Normalise by an estimate of the variance instead of the second moment. Default false. */
  centered?: boolean;
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

/**
 * RMSProp as torch.optim.RMSprop: `sq = alpha sq + (1 - alpha) g^2`,
 * `p -= lr * g / (sqrt(sq) + eps)` (centered: `sqrt(sq - avg(g)^2)`; with
 * momentum the scaled gradient goes through a momentum buffer first).
 *
 * @example
 * ```ts
 * import { rmsprop } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = rmsprop({ lr: 0.1, alpha: 0.75, eps: 0 });
 * const p = tensor([0], { dtype: "float64" });
 * const g = tensor([5], { dtype: "float64" });
 * assert.deepEqual(toArray(opt.update(g, opt.init(p), p).updates), [-0.2]); // -0.1 * 5 / 2.5
 * ```
 */
export function rmsprop(options?: RmspropOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.rmsprop";
  const o = checkOptions(fn, options, [
    "lr",
    "alpha",
    "eps",
    "weightDecay",
    "momentum",
    "centered",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 1e-2);
  const alpha = checkNum(fn, "alpha", o.alpha ?? 0.99, { min: 0, max: 1 });
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  const momentum = checkNum(fn, "momentum", o.momentum ?? 0, nonNeg);
  const centered = checkBool(fn, "centered", o.centered ?? false);
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByRms({ decay: alpha, eps, centered }),
    momentum > 0 && trace({ decay: momentum }),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode adam} (torch.optim.Adam). */
export interface AdamOptions {
  /** Learning rate or schedule. Default 1e-3. */
  lr?: LearningRate;
  /** Decays of the first and second moments, each in [0, 1). Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the root of the second moment. Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient (coupled; see adamw). Default 0. */
  weightDecay?: number;
  /** AMSGrad: use the running maximum of the second moment. Default false. */
  amsgrad?: boolean;
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

const ADAM_KEYS = [
  "lr",
  "betas",
  "eps",
  "weightDecay",
  "amsgrad",
  "maximize",
] as const;

/**
 * Adam as torch.optim.Adam: `g += wd p` (L2), `m = b1 m + (1 - b1) g`,
 * `v = b2 v + (1 - b2) g^2`,
 * `p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`.
 *
 * @example
 * ```ts
 * import { adam, applyUpdates } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = adam({ lr: 0.1 });
 * const p = tensor([1, 1], { dtype: "float64" });
 * const { updates } = opt.update(tensor([5, -0.01], { dtype: "float64" }), opt.init(p), p);
 * const next = toArray(applyUpdates(p, updates)) as number[];
 * assert.ok(Math.abs(next[0] - 0.9) < 1e-6 && Math.abs(next[1] - 1.1) < 1e-5);
 * assert.throws(() => adam({ lR: 1 } as never), /optim.adam: unknown option "lR"/);
 * ```
 */
export function adam(options?: AdamOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.adam";
  const o = checkOptions(fn, options, ADAM_KEYS);
  const { lr, weightDecay, maximize } = common(fn, o, 1e-3);
  const [b1, b2] = checkBetas(fn, o.betas ?? [0.9, 0.999]);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  const amsgrad = checkBool(fn, "amsgrad", o.amsgrad ?? false);
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByAdam({ b1, b2, eps, amsgrad }),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode adamw} (torch.optim.AdamW): as adam, weightDecay default 1e-2. */
export interface AdamwOptions extends AdamOptions {
  /** Decoupled weight decay: params shrink by `lr * weightDecay` each step. Default 1e-2. */
  weightDecay?: number;
}

/**
 * AdamW as torch.optim.AdamW: the Adam step without L2, plus decoupled
 * decay `p *= 1 - lr wd`, written as the update term `-lr (adam + wd p)`.
 *
 * @example
 * ```ts
 * import { adamw } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = adamw({ lr: 0.1, weightDecay: 0.5 });
 * const p = tensor([2], { dtype: "float64" });
 * const { updates } = opt.update(tensor([0], { dtype: "float64" }), opt.init(p), p);
 * assert.deepEqual(toArray(updates), [-0.1]); // zero gradient: only the decay -lr*wd*p
 * ```
 */
export function adamw(options?: AdamwOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.adamw";
  const o = checkOptions(fn, options, ADAM_KEYS);
  const { lr, maximize } = common(fn, o, 1e-3);
  const weightDecay = checkNum(
    fn,
    "weightDecay",
    o.weightDecay ?? 1e-2,
    nonNeg,
  );
  const [b1, b2] = checkBetas(fn, o.betas ?? [0.9, 0.999]);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  const amsgrad = checkBool(fn, "amsgrad", o.amsgrad ?? false);
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    scaleByAdam({ b1, b2, eps, amsgrad }),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode adamax} (torch.optim.Adamax). */
export interface AdamaxOptions {
  /** Learning rate or schedule. Default 2e-3. */
  lr?: LearningRate;
  /** Decays of the first moment and of the infinity norm. Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to |g| before the maximum. Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

/**
 * Adamax as torch.optim.Adamax (Adam with the infinity norm): `g += wd p`,
 * `m = b1 m + (1 - b1) g`, `u = max(b2 u, |g| + eps)`,
 * `p -= lr / (1 - b1^t) * m / u`.
 *
 * @example
 * ```ts
 * import { adamax } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = adamax({ lr: 0.1, eps: 0 });
 * const p = tensor([1, 1], { dtype: "float64" });
 * // the first step is lr · sign(g)
 * assert.deepEqual(toArray(opt.update(tensor([5, -0.01], { dtype: "float64" }), opt.init(p), p).updates), [-0.1, 0.1]);
 * ```
 */
export function adamax(options?: AdamaxOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.adamax";
  const o = checkOptions(fn, options, [
    "lr",
    "betas",
    "eps",
    "weightDecay",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 2e-3);
  const [b1, b2] = checkBetas(fn, o.betas ?? [0.9, 0.999]);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByAdamax({ b1, b2, eps }),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode asgd} (torch.optim.ASGD). */
export interface AsgdOptions {
  /** Learning rate or schedule, from which the step size decays. Default 1e-2. */
  lr?: LearningRate;
  /** Decay term (the params shrink by `1 - lambd · eta` each step). Default 1e-4. */
  lambd?: number;
  /** Power of the step size's decay. Default 0.75. */
  alpha?: number;
  /** The step after which averaging starts. Default 1e6. */
  t0?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

/**
 * Averaged stochastic gradient descent as torch.optim.ASGD (Polyak and
 * Juditsky): `g += wd p`, `p = p (1 - lambd eta) - eta g` with the step size
 * `eta = lr / (1 + lambd lr t)^alpha` after t steps, and the average of the
 * params kept in the state, `state.at(-1).ax` ({@linkcode ScaleByAsgdState}),
 * the params to evaluate with: after step k (from 1) the params of step k
 * until k = t0 + 2, then the mean of those of steps t0 + 2 to k, as torch's.
 *
 * @example
 * ```ts
 * import { asgd, type ScaleByAsgdState } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = asgd({ lr: 0.5, lambd: 0, t0: 0 });
 * let p = tensor([0], { dtype: "float64" }), state = opt.init(p);
 * for (const g of [-2, -2, -2]) {
 *   const r = opt.update(tensor([g], { dtype: "float64" }), state, p);
 *   p = tensor([(toArray(p) as number[])[0] - 0.5 * g], { dtype: "float64" });
 *   state = r.state;
 * }
 * // the iterates are 1, 2 and 3; torch's average with t0 0 starts at step 2
 * assert.deepEqual(toArray((state as ScaleByAsgdState[]).at(-1)!.ax as typeof p), [2.5]);
 * ```
 */
export function asgd(options?: AsgdOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.asgd";
  const o = checkOptions(fn, options, [
    "lr",
    "lambd",
    "alpha",
    "t0",
    "weightDecay",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 1e-2);
  const lambd = checkNum(fn, "lambd", o.lambd ?? 1e-4, nonNeg);
  const alpha = checkNum(fn, "alpha", o.alpha ?? 0.75);
  const t0 = checkNum(fn, "t0", o.t0 ?? 1e6, nonNeg);
  return pipeline(
    fn,
    undefined,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByAsgd({ lr, lambd, alpha, t0 }),
  );
}

/** Options of {@linkcode rprop} (torch.optim.Rprop). */
export interface RpropOptions {
  /** Every entry's first step size (a number: Rprop has no learning rate after its first step). Default 1e-2. */
  lr?: number;
  /** Step-size factors `[etaMinus, etaPlus]`, after a sign flip and while the sign holds. Default [0.5, 1.2]. */
  etas?: readonly [number, number];
  /** Smallest and largest step sizes. Default [1e-6, 50]. */
  stepSizes?: readonly [number, number];
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

/**
 * Rprop as torch.optim.Rprop (resilient backpropagation): only the signs of
 * the gradients count; each entry's step size grows by `etas[1]` while its
 * gradient keeps its sign, shrinks by `etas[0]` when it flips (no step
 * then), within `stepSizes`; `lr` is the first step size. A full-batch
 * method, as torch's documentation says.
 *
 * @example
 * ```ts
 * import { rprop } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = rprop({ lr: 0.5 });
 * const p = tensor([1, 1]);
 * assert.deepEqual(toArray(opt.update(tensor([3, -0.01]), opt.init(p), p).updates), [-0.5, 0.5]);
 * ```
 */
export function rprop(options?: RpropOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.rprop";
  const o = checkOptions(fn, options, ["lr", "etas", "stepSizes", "maximize"]);
  const lr = checkNum(fn, "lr", o.lr ?? 1e-2, nonNeg);
  const pairOf = (name: string, v: unknown): [number, number] => {
    if (!Array.isArray(v) || v.length !== 2) {
      throw new Error(
        `${fn}: ${name} must be a pair of numbers, got ${describe(v)}`,
      );
    }
    return [v[0], v[1]];
  };
  const etas = pairOf("etas", o.etas ?? [0.5, 1.2]);
  const etaMinus = checkNum(fn, "etas[0]", etas[0], {
    min: 0,
    max: 1,
    minOpen: true,
    maxOpen: true,
  });
  const etaPlus = checkNum(fn, "etas[1]", etas[1], { min: 1, minOpen: true });
  const sizes = pairOf("stepSizes", o.stepSizes ?? [1e-6, 50]);
  const minStep = checkNum(fn, "stepSizes[0]", sizes[0], nonNeg);
  const maxStep = checkNum(fn, "stepSizes[1]", sizes[1], { min: minStep });
  const maximize = checkBool(fn, "maximize", o.maximize ?? false);
  return pipeline(
    fn,
    undefined,
    maximize && scale(-1),
    scaleByRprop({ initialStep: lr, etaMinus, etaPlus, minStep, maxStep }),
    scale(-1),
  );
}

/** Options of {@linkcode adadelta} (torch.optim.Adadelta). */
export interface AdadeltaOptions {
  /** Scales the delta. Default 1. */
  lr?: LearningRate;
  /** Decay of both moving averages, in [0, 1]. Default 0.9. */
  rho?: number;
  /** Added inside both roots. Default 1e-6. */
  eps?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Maximize the objective instead. Default false. */
  maximize?: boolean;
}

/**
 * Adadelta as torch.optim.Adadelta: `sq = rho sq + (1 - rho) g^2`,
 * `delta = sqrt(acc + eps) / sqrt(sq + eps) g`,
 * `acc = rho acc + (1 - rho) delta^2`, `p -= lr delta`.
 *
 * @example
 * ```ts
 * import { adadelta } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = adadelta({ rho: 0, eps: 1 });
 * const p = tensor([0], { dtype: "float64" });
 * // sqrt(0 + 1) / sqrt(g^2 + 1) * g with g = sqrt(3): sqrt(3) / 2
 * const u = toArray(opt.update(tensor([Math.sqrt(3)], { dtype: "float64" }), opt.init(p), p).updates) as number[];
 * assert.ok(Math.abs(u[0] + Math.sqrt(3) / 2) < 1e-15);
 * ```
 */
export function adadelta(
  options?: AdadeltaOptions,
): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.adadelta";
  const o = checkOptions(fn, options, [
    "lr",
    "rho",
    "eps",
    "weightDecay",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 1);
  const rho = checkNum(fn, "rho", o.rho ?? 0.9, { min: 0, max: 1 });
  const eps = checkNum(fn, "eps", o.eps ?? 1e-6, nonNeg);
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByAdadelta({ rho, eps }),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode nadam} (torch.optim.NAdam). */
export interface NadamOptions {
  /** Learning rate or schedule. Default 2e-3. */
  lr?: LearningRate;
  /** Decays of the first and second moments, each in [0, 1). Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the root of the second moment. Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** torch's momentum_decay (psi). Default 4e-3. */
  momentumDecay?: number;
  /** Maximize the objective instead (torch >= 2.0). Default false. */
  maximize?: boolean;
}

/**
 * NAdam (Adam with Nesterov momentum) as torch.optim.NAdam, with torch >=
 * 2.0's corrected momentum product (see {@linkcode scaleByNadam}).
 *
 * @example
 * ```ts
 * import { nadam } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = nadam({ lr: 0.01 });
 * const p = tensor([0], { dtype: "float64" });
 * const u = toArray(opt.update(tensor([7], { dtype: "float64" }), opt.init(p), p).updates) as number[];
 * // the first step is -lr * sign(g) * (1 + about 0.056, the look-ahead momentum term)
 * assert.ok(u[0] < -0.01 && u[0] > -0.011);
 * ```
 */
export function nadam(options?: NadamOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.nadam";
  const o = checkOptions(fn, options, [
    "lr",
    "betas",
    "eps",
    "weightDecay",
    "momentumDecay",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 2e-3);
  const [b1, b2] = checkBetas(fn, o.betas ?? [0.9, 0.999]);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  const momentumDecay = checkNum(
    fn,
    "momentumDecay",
    o.momentumDecay ?? 4e-3,
    nonNeg,
  );
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByNadam({ b1, b2, eps, momentumDecay }),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode radam} (torch.optim.RAdam). */
export interface RadamOptions {
  /** Learning rate or schedule. Default 1e-3. */
  lr?: LearningRate;
  /** Decays of the first and second moments, each in [0, 1). Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the root of the second moment. Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Maximize the objective instead (torch >= 2.0). Default false. */
  maximize?: boolean;
}

/**
 * RAdam (rectified Adam) as torch.optim.RAdam: momentum SGD while the
 * variance estimate is unreliable (the first 5 steps with b2 = 0.999), then a
 * rectified Adam step (see {@linkcode scaleByRadam}).
 *
 * @example
 * ```ts
 * import { radam } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = radam({ lr: 0.1 });
 * const p = tensor([0], { dtype: "float64" });
 * assert.deepEqual(toArray(opt.update(tensor([2], { dtype: "float64" }), opt.init(p), p).updates), [-0.2]);
 * ```
 */
export function radam(options?: RadamOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.radam";
  const o = checkOptions(fn, options, [
    "lr",
    "betas",
    "eps",
    "weightDecay",
    "maximize",
  ]);
  const { lr, weightDecay, maximize } = common(fn, o, 1e-3);
  const [b1, b2] = checkBetas(fn, o.betas ?? [0.9, 0.999]);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  return pipeline(
    fn,
    lr,
    maximize && scale(-1),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByRadam({ b1, b2, eps }),
    scaleByLearningRate(lr),
  );
}

// ---------------------------------------------------------------------------
// optax

/** Options of {@linkcode lion} (optax.lion). */
export interface LionOptions {
  /** Learning rate or schedule. Default 1e-2 (optax requires one). */
  lr?: LearningRate;
  /** Interpolation between gradient and momentum for the sign. Default 0.9. */
  b1?: number;
  /** Decay of the momentum. Default 0.99. */
  b2?: number;
  /** Decoupled weight decay (multiplied by lr). Default 1e-3. */
  weightDecay?: number;
}

/**
 * Lion as optax.lion: `p -= lr * (sign((1 - b1) g + b1 m) + wd p)`, then
 * `m = b2 m + (1 - b2) g`.
 *
 * @example
 * ```ts
 * import { lion } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = lion({ lr: 0.5, weightDecay: 0 });
 * const p = tensor([0, 0]);
 * assert.deepEqual(toArray(opt.update(tensor([3, -0.001]), opt.init(p), p).updates), [-0.5, 0.5]);
 * ```
 */
export function lion(options?: LionOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.lion";
  const o = checkOptions(fn, options, ["lr", "b1", "b2", "weightDecay"]);
  const lr = checkLr(fn, o.lr ?? 1e-2);
  const b1 = checkNum(fn, "b1", o.b1 ?? 0.9, { min: 0, max: 1 });
  const b2 = checkNum(fn, "b2", o.b2 ?? 0.99, { min: 0, max: 1 });
  const weightDecay = checkNum(
    fn,
    "weightDecay",
    o.weightDecay ?? 1e-3,
    nonNeg,
  );
  return pipeline(
    fn,
    lr,
    scaleByLion({ b1, b2 }),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode lamb} (optax.lamb). */
export interface LambOptions {
  /** Learning rate or schedule. Default 1e-2 (optax requires one). */
  lr?: LearningRate;
  /** Decay of the first moment. Default 0.9. */
  b1?: number;
  /** Decay of the second moment. Default 0.999. */
  b2?: number;
  /** Added to the root of the second moment. Default 1e-6. */
  eps?: number;
  /** Added to the second moment inside the root. Default 0. */
  epsRoot?: number;
  /** Weight decay added before the trust ratio. Default 0. */
  weightDecay?: number;
}

/**
 * LAMB as optax.lamb: the Adam direction plus `wd p`, rescaled per tensor by
 * the trust ratio `||p|| / ||direction||`, times `-lr`.
 *
 * @example
 * ```ts
 * import { lamb } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = lamb({ lr: 0.1 });
 * const p = tensor([3, 4], { dtype: "float64" }); // norm 5
 * const u = toArray(opt.update(tensor([1, 1], { dtype: "float64" }), opt.init(p), p).updates) as number[];
 * // the update's norm is lr * ||p||
 * assert.ok(Math.abs(Math.hypot(u[0], u[1]) - 0.5) < 1e-12);
 * ```
 */
export function lamb(options?: LambOptions): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.lamb";
  const o = checkOptions(fn, options, [
    "lr",
    "b1",
    "b2",
    "eps",
    "epsRoot",
    "weightDecay",
  ]);
  const lr = checkLr(fn, o.lr ?? 1e-2);
  const unit = { min: 0, max: 1, maxOpen: true };
  const b1 = checkNum(fn, "b1", o.b1 ?? 0.9, unit);
  const b2 = checkNum(fn, "b2", o.b2 ?? 0.999, unit);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-6, nonNeg);
  const epsRoot = checkNum(fn, "epsRoot", o.epsRoot ?? 0, nonNeg);
  const weightDecay = checkNum(fn, "weightDecay", o.weightDecay ?? 0, nonNeg);
  return pipeline(
    fn,
    lr,
    scaleByAdam({ b1, b2, eps, epsRoot }),
    weightDecay !== 0 && addDecayedWeights(weightDecay),
    scaleByTrustRatio(),
    scaleByLearningRate(lr),
  );
}

/** Options of {@linkcode adafactor} (optax.adafactor). */
export interface AdafactorOptions {
  /** Learning rate or schedule. Default 1e-2 (optax: optional). */
  lr?: LearningRate;
  /** Factor a tensor's second moment only if its second largest dim is at least this. Default 128. */
  minDimSizeToFactor?: number;
  /** Exponent of the decay `beta_t = 1 - (t + 1)^(-decayRate)`. Default 0.8. */
  decayRate?: number;
  /** Steps subtracted from the count in that decay. Default 0. */
  decayOffset?: number;
  /** Scale the step by the params' root mean square (at least 1e-3). Default true. */
  multiplyByParameterScale?: boolean;
  /** Clip each tensor's update to this root mean square; null: no clipping. Default 1. */
  clippingThreshold?: number | null;
  /** Momentum (a moving average of updates, no debiasing); null: none. Default null. */
  momentum?: number | null;
  /** Weight decay added after the lr (NOT multiplied by lr); null: none. Default null. */
  weightDecayRate?: number | null;
  /** Added to g^2. Default 1e-30. */
  eps?: number;
  /** Allow factoring at all. Default true. */
  factored?: boolean;
}

/**
 * Adafactor as optax.adafactor: the factored second-moment rescaling, block
 * RMS clipping, `lr`, parameter-scale, optional momentum and weight decay,
 * then a sign flip.
 *
 * @example
 * ```ts
 * import { adafactor } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opt = adafactor({ lr: 0.1, multiplyByParameterScale: false });
 * const p = tensor([0, 0], { dtype: "float64" });
 * const u = toArray(opt.update(tensor([2, -2], { dtype: "float64" }), opt.init(p), p).updates) as number[];
 * assert.ok(Math.abs(u[0] + 0.1) < 1e-12 && Math.abs(u[1] - 0.1) < 1e-12);
 * ```
 */
export function adafactor(
  options?: AdafactorOptions,
): Optimizer {
  if (options === undefined) options = {};
  const fn = "optim.adafactor";
  const o = checkOptions(fn, options, [
    "lr",
    "minDimSizeToFactor",
    "decayRate",
    "decayOffset",
    "multiplyByParameterScale",
    "clippingThreshold",
    "momentum",
    "weightDecayRate",
    "eps",
    "factored",
  ]);
  const lr = checkLr(fn, o.lr ?? 1e-2);
  const minDimSizeToFactor = checkNum(
    fn,
    "minDimSizeToFactor",
    o.minDimSizeToFactor ?? 128,
    { min: 1, integer: true },
  );
  const decayRate = checkNum(fn, "decayRate", o.decayRate ?? 0.8, nonNeg);
  const decayOffset = checkNum(fn, "decayOffset", o.decayOffset ?? 0, {
    min: 0,
    integer: true,
  });
  const paramScale = checkBool(
    fn,
    "multiplyByParameterScale",
    o.multiplyByParameterScale ?? true,
  );
  const nullable = (name: string, v: unknown, dflt: number | null, r = {}) =>
    v === null || (v === undefined && dflt === null)
      ? null
      : checkNum(fn, `${name} (a number or null)`, v ?? dflt, r);
  const clip = nullable("clippingThreshold", o.clippingThreshold, 1, {
    min: 0,
    minOpen: true,
  });
  const momentum = nullable("momentum", o.momentum, null, { min: 0, max: 1 });
  const wd = nullable("weightDecayRate", o.weightDecayRate, null, nonNeg);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-30, nonNeg);
  const factored = checkBool(fn, "factored", o.factored ?? true);
  return pipeline(
    fn,
    lr,
    scaleByFactoredRms({
      factored,
      decayRate,
      decayOffset,
      minDimSizeToFactor,
      eps,
    }),
    clip !== null && clipByBlockRms(clip),
    scaleByLearningRate(lr, { flipSign: false }),
    paramScale && scaleByParamBlockRms(),
    momentum !== null && ema({ decay: momentum, debias: false }),
    wd !== null && addDecayedWeights(wd),
    scale(-1),
  );
}
