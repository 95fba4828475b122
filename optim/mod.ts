/**
 * Optimizers as pure `{ init, update }` pairs (optax's GradientTransformation)
 * with torch.optim's names, defaults and numbers, learning-rate schedules, and
 * the small transforms they are chained from.
 *
 * ```
 * init(params)                   -> state
 * update(grads, state, params)   -> { updates, state }
 * applyUpdates(params, updates)  -> params
 * ```
 *
 * Nothing is mutated: `update` returns a new state, and calling it twice with
 * the same arguments gives the same result. A state is a tree of tensors
 * (named records such as `{ count, mu, nu }` whose moments are trees shaped
 * like the params; step counters are int32 scalar tensors; a chain's state is
 * an array with one state per link), so `treeLeaves(state)` works on it.
 *
 * @example
 * ```ts
 * import { adam, applyUpdates, chain, clipByGlobalNorm, schedules } from "./mod.ts";
 * import { grad, item, mul, sub, sum, type Tensor, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const loss = (p: { w: Tensor }) => sum(mul(sub(p.w, 3), sub(p.w, 3)));
 * const opt = chain(
 *   clipByGlobalNorm(10),
 *   adam({ lr: schedules.cosineAnnealing({ lr: 0.3, tMax: 200 }) }),
 * );
 * let params = { w: tensor([0, 1]) };
 * let state = opt.init(params);
 * for (let i = 0; i < 200; i++) {
 *   const r = opt.update(grad(loss)(params), state, params);
 *   params = applyUpdates(params, r.updates);
 *   state = r.state;
 * }
 * assert.ok(item(loss(params)) < 1e-3);
 * ```
 *
 * @module
 */
export {
  addDecayedWeights,
  applyUpdates,
  chain,
  clip,
  clipByGlobalNorm,
  type CountState,
  type EmptyState,
  globalNorm,
  type GradientTransformation,
  identity,
  type LearningRate,
  type Optimizer,
  scale,
  scaleByLearningRate,
  type ScaleByLearningRateOptions,
  scaleBySchedule,
  type Schedule,
  type UpdateResult,
} from "./base.ts";
export {
  clipByBlockRms,
  ema,
  type EmaOptions,
  type EmaState,
  scaleByAdadelta,
  type ScaleByAdadeltaOptions,
  type ScaleByAdadeltaState,
  scaleByAdagrad,
  type ScaleByAdagradOptions,
  type ScaleByAdagradState,
  scaleByAdam,
  scaleByAdamax,
  type ScaleByAdamaxOptions,
  type ScaleByAdamaxState,
  type ScaleByAdamOptions,
  type ScaleByAdamState,
  scaleByAsgd,
  type ScaleByAsgdOptions,
  type ScaleByAsgdState,
  scaleByFactoredRms,
  type ScaleByFactoredRmsOptions,
  type ScaleByFactoredRmsState,
  scaleByLion,
  type ScaleByLionOptions,
  type ScaleByLionState,
  scaleByNadam,
  type ScaleByNadamOptions,
  type ScaleByNadamState,
  scaleByParamBlockRms,
  type ScaleByParamBlockRmsOptions,
  scaleByRadam,
  type ScaleByRadamOptions,
  type ScaleByRadamState,
  scaleByRms,
  type ScaleByRmsOptions,
  type ScaleByRmsState,
  scaleByRprop,
  type ScaleByRpropOptions,
  type ScaleByRpropState,
  scaleByTrustRatio,
  type ScaleByTrustRatioOptions,
  trace,
  type TraceOptions,
  type TraceState,
} from "./transform.ts";
export {
  adadelta,
  type AdadeltaOptions,
  adafactor,
  type AdafactorOptions,
  adagrad,
  type AdagradOptions,
  adam,
  adamax,
  type AdamaxOptions,
  type AdamOptions,
  adamw,
  type AdamwOptions,
  asgd,
  type AsgdOptions,
  lamb,
  type LambOptions,
  lion,
  type LionOptions,
  nadam,
  type NadamOptions,
  radam,
  type RadamOptions,
  rmsprop,
  type RmspropOptions,
  rprop,
  type RpropOptions,
  sgd,
  type SgdOptions,
} from "./alias.ts";
export {
  multiSteps,
  type MultiStepsOptions,
  type MultiStepsState,
} from "./accumulate.ts";
export {
  type Lbfgs,
  lbfgs,
  type LbfgsOptions,
  type LbfgsResult,
  type LbfgsState,
} from "./lbfgs.ts";
export {
  type AveragedModel,
  averagedModel,
  type AveragedModelOptions,
  type AveragedModelState,
  type AvgFn,
} from "./swa.ts";
export {
  type Labels,
  type Mask,
  masked,
  multiTransform,
  setToZero,
} from "./partition.ts";
export {
  type PlateauOptimizer,
  type PlateauState,
  reduceLROnPlateau,
  type ReduceLROnPlateauOptions,
} from "./plateau.ts";
export * as schedules from "./schedules.ts";
