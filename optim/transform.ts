/**
 * The small gradient transformations the optimizers are built from (optax's
 * `scale_by_*` family), each with its state as a named record whose tensor
 * parts are trees shaped like the params. The arithmetic follows torch.optim's
 * order of operations where torch has the optimizer, so that chained with
 * {@linkcode scaleByLearningRate} they reproduce torch step by step.
 *
 * @module
 */
import {
  abs,
  add,
  astype,
  div,
  equal,
  greater,
  less,
  maximum,
  minimum,
  mul,
  neg,
  pow,
  sqrt,
  sub,
  where,
} from "../ops/elementwise.ts";
import { clamp, sign } from "../ops/math.ts";
import { mean } from "../ops/reductions.ts";
import { expandDims, sum } from "../ops/structural.ts";
import {
  fromData,
  full,
  onesLike,
  type Tensor,
  zerosLike,
} from "../ops/tensor.ts";
import {
  type Tree,
  treeFlatten,
  treeMap,
  treePaths,
  treeUnflatten,
} from "../ops/tree.ts";
import type { EmptyState, GradientTransformation } from "./base.ts";
import {
  checkBool,
  checkCount,
  checkLr,
  checkNum,
  checkOptions,
  checkStateKeys,
  countTensor,
  leafwise,
  leafwiseAnyShape,
  type LearningRate,
  like,
  lrAt,
  needParams,
  nextCount,
  stepScalars,
  zerosTree,
} from "./_util.ts";

const unit = { min: 0, max: 1, maxOpen: true };
const nonNeg = { min: 0 };

/** `x * x`. */
const sq = (x: Tensor): Tensor => mul(x, x);
/** Root mean square of all the elements, a scalar tensor. */
const rms = (x: Tensor): Tensor => sqrt(mean(mul(x, x)));
/** An exponential moving average step: `avg * decay + x * (1 - decay)`. */
const ema1 = (avg: Tensor, x: Tensor, decay: number): Tensor =>
  add(mul(avg, decay), mul(x, 1 - decay));

/**
 * The same for squares, `avg * decay + ((1 - decay) * x) * x`: torch's
 * `avg.mul_(decay).addcmul_(x, x, value=1 - decay)`, in its rounding order.
 */
const emaSq = (avg: Tensor, x: Tensor, decay: number): Tensor =>
  add(mul(avg, decay), mul(mul(x, 1 - decay), x));

// ---------------------------------------------------------------------------
// Adam family

/** Options of {@linkcode scaleByAdam}. */
export interface ScaleByAdamOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: number;
  /** Decay of the second moment. Default 0.999. */
  b2?: number;
  /** Added to the root of the second moment. Default 1e-8. */
  eps?: number;
  /** Added to the second moment inside the root (optax). Default 0. */
  epsRoot?: number;
  /** Divide by the running maximum of the second moment (AMSGrad). Default false. */
  amsgrad?: boolean;
}

/** State of {@linkcode scaleByAdam}: the step count and the two moments. */
export type ScaleByAdamState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** First moment, a tree like the params. */
  readonly mu: Tree;
  /** Second moment, a tree like the params. */
  readonly nu: Tree;
  /** Running maximum of `nu` (only with `amsgrad`). */
  readonly nuMax?: Tree;
};

/**
 * Adam's rescaling: `mu = b1 mu + (1 - b1) g`, `nu = b2 nu + (1 - b2) g^2`,
 * update `(mu / (1 - b1^t)) / (sqrt(nu) / sqrt(1 - b2^t) + eps)` (torch's
 * order; with `epsRoot > 0`, optax's `sqrt(nu / (1 - b2^t) + epsRoot) + eps`).
 *
 * @example
 * ```ts
 * import { scaleByAdam } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByAdam();
 * const g = tensor([2, -3], { dtype: "float64" });
 * const { updates, state } = t.update(g, t.init(g));
 * // the first step is g / (|g| + eps): about the sign of g
 * assert.ok(Math.abs((toArray(updates) as number[])[0] - 1) < 1e-8);
 * assert.equal(state.count.data[0], 1);
 * ```
 */
export function scaleByAdam(
  options?: ScaleByAdamOptions,
): GradientTransformation<ScaleByAdamState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByAdam";
  const o = checkOptions(fn, options, [
    "b1",
    "b2",
    "eps",
    "epsRoot",
    "amsgrad",
  ]);
  const b1 = checkNum(fn, "b1", o.b1 ?? 0.9, unit);
  const b2 = checkNum(fn, "b2", o.b2 ?? 0.999, unit);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  const epsRoot = checkNum(fn, "epsRoot", o.epsRoot ?? 0, nonNeg);
  const amsgrad = checkBool(fn, "amsgrad", o.amsgrad ?? false);
  return {
    init(params) {
      const s = {
        count: countTensor(0),
        mu: zerosTree(params),
        nu: zerosTree(params),
      };
      return amsgrad ? { ...s, nuMax: zerosTree(params) } : s;
    },
    update(updates, state) {
      checkStateKeys(
        fn,
        state,
        amsgrad ? ["count", "mu", "nu", "nuMax"] : ["count", "mu", "nu"],
      );
      const count = checkCount(fn, state.count);
      const mu = leafwise(fn, (g, m) => ema1(m, g, b1), updates, state.mu);
      const nu = leafwise(fn, (g, v) => emaSq(v, g, b2), updates, state.nu);
      const nuMax = amsgrad
        ? leafwise(fn, (a, b) => maximum(a, b), state.nuMax!, nu)
        : undefined;
      const [bc1, bc2, rootBc2] = stepScalars([count], 3, (n) => {
        const bc2 = 1 - b2 ** (n + 1);
        return [1 - b1 ** (n + 1), bc2, Math.sqrt(bc2)];
      });
      const denom = (v: Tensor) =>
        epsRoot === 0
          ? add(div(sqrt(v), like(rootBc2, v)), eps)
          : add(sqrt(add(div(v, like(bc2, v)), epsRoot)), eps);
      const out = leafwise(
        fn,
        (m, v) => div(div(m, like(bc1, m)), denom(v)),
        mu as typeof updates,
        nuMax ?? nu,
      );
      const next = nextCount(count);
      return {
        updates: out,
        state: amsgrad
          ? { count: next, mu, nu, nuMax }
          : { count: next, mu, nu },
      };
    },
  };
}

/** Options of {@linkcode scaleByNadam}. */
export interface ScaleByNadamOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: number;
  /** Decay of the second moment. Default 0.999. */
  b2?: number;
  /** Added to the root of the second moment. Default 1e-8. */
  eps?: number;
  /** torch's momentum_decay (psi). Default 4e-3. */
  momentumDecay?: number;
}

/** State of {@linkcode scaleByNadam}. */
export type ScaleByNadamState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** First moment, a tree like the params. */
  readonly mu: Tree;
  /** Second moment, a tree like the params. */
  readonly nu: Tree;
  /** Product of the momentum coefficients mu_1 ... mu_t (float64 scalar). */
  readonly muProduct: Tensor;
};

/**
 * NAdam's rescaling as torch.optim.NAdam (the corrected formula of torch >=
 * 2.0): with `mu_t = b1 (1 - 0.5 * 0.96^(t psi))` and `P_t = mu_1 ... mu_t`,
 * update `(1 - mu_t) / (1 - P_t) * g / d + mu_{t+1} / (1 - P_t mu_{t+1}) * m / d`
 * where `d = sqrt(v / (1 - b2^t)) + eps`.
 *
 * @example
 * ```ts
 * import { scaleByNadam } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByNadam();
 * const g = tensor([4], { dtype: "float64" });
 * const { updates, state } = t.update(g, t.init(g));
 * const u = (toArray(updates) as number[])[0];
 * assert.ok(u > 1 && u < 1.1); // sign(g) plus the look-ahead momentum term
 * assert.equal(state.muProduct.dtype, "float64");
 * ```
 */
export function scaleByNadam(
  options?: ScaleByNadamOptions,
): GradientTransformation<ScaleByNadamState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByNadam";
  const o = checkOptions(fn, options, ["b1", "b2", "eps", "momentumDecay"]);
  const b1 = checkNum(fn, "b1", o.b1 ?? 0.9, unit);
  const b2 = checkNum(fn, "b2", o.b2 ?? 0.999, unit);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  const psi = checkNum(fn, "momentumDecay", o.momentumDecay ?? 4e-3, nonNeg);
  const scalar64 = (x: number) => fromData(Float64Array.of(x), []);
  return {
    init: (params) => ({
      count: countTensor(0),
      mu: zerosTree(params),
      nu: zerosTree(params),
      muProduct: scalar64(1),
    }),
    update(updates, state) {
      checkStateKeys(fn, state, ["count", "mu", "nu", "muProduct"]);
      const count = checkCount(fn, state.count);
      const [muProduct, cg, cm, bc2] = stepScalars(
        [count, state.muProduct],
        4,
        (n, product) => {
          const t = n + 1;
          const muT = b1 * (1 - 0.5 * 0.96 ** (t * psi));
          const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
          const p = product * muT;
          return [
            p,
            (1 - muT) / (1 - p),
            muNext / (1 - p * muNext),
            1 - b2 ** t,
          ];
        },
      );
      const mu = leafwise(fn, (g, m) => ema1(m, g, b1), updates, state.mu);
      const nu = leafwise(fn, (g, v) => emaSq(v, g, b2), updates, state.nu);
      const out = leafwise(
        fn,
        (g, m, v) => {
          const d = add(sqrt(div(v, like(bc2, v))), eps);
          return add(mul(div(g, d), like(cg, g)), mul(div(m, d), like(cm, m)));
        },
        updates,
        mu,
        nu,
      );
      return {
        updates: out,
        state: {
          count: nextCount(count),
          mu,
          nu,
          muProduct,
        },
      };
    },
  };
}

/** Options of {@linkcode scaleByRadam}. */
export interface ScaleByRadamOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: number;
  /** Decay of the second moment. Default 0.999. */
  b2?: number;
  /** Added to the root of the second moment. Default 1e-8. */
  eps?: number;
}

/** State of {@linkcode scaleByRadam}: as {@linkcode ScaleByAdamState} without `nuMax`. */
export type ScaleByRadamState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** First moment, a tree like the params. */
  readonly mu: Tree;
  /** Second moment, a tree like the params. */
  readonly nu: Tree;
};

/**
 * Rectified Adam as torch.optim.RAdam: with `rhoInf = 2 / (1 - b2) - 1` and
 * `rhoT = rhoInf - 2 t b2^t / (1 - b2^t)`, the update is the bias-corrected
 * momentum `mhat`, multiplied when `rhoT > 5` by
 * `rect * sqrt(1 - b2^t) / (sqrt(v) + eps)`.
 *
 * @example
 * ```ts
 * import { scaleByRadam } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByRadam();
 * const g = tensor([3], { dtype: "float64" });
 * // early steps are un-adapted momentum: the first update is g itself
 * assert.deepEqual(toArray(t.update(g, t.init(g)).updates), [3]);
 * ```
 */
export function scaleByRadam(
  options?: ScaleByRadamOptions,
): GradientTransformation<ScaleByRadamState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByRadam";
  const o = checkOptions(fn, options, ["b1", "b2", "eps"]);
  const b1 = checkNum(fn, "b1", o.b1 ?? 0.9, unit);
  const b2 = checkNum(fn, "b2", o.b2 ?? 0.999, unit);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  return {
    init: (params) => ({
      count: countTensor(0),
      mu: zerosTree(params),
      nu: zerosTree(params),
    }),
    update(updates, state) {
      checkStateKeys(fn, state, ["count", "mu", "nu"]);
      const count = checkCount(fn, state.count);
      const mu = leafwise(fn, (g, m) => ema1(m, g, b1), updates, state.mu);
      const nu = leafwise(fn, (g, v) => emaSq(v, g, b2), updates, state.nu);
      // the rectification, and whether it applies yet (rho_t > 5)
      const [bc1, rootBc2, rect, rectified] = stepScalars([count], 4, (n) => {
        const t = n + 1;
        const bc2 = 1 - b2 ** t;
        const rhoInf = 2 / (1 - b2) - 1;
        const rhoT = rhoInf - 2 * t * b2 ** t / bc2;
        const r = rhoT > 5
          ? Math.sqrt(
            (rhoT - 4) * (rhoT - 2) * rhoInf /
              ((rhoInf - 4) * (rhoInf - 2) * rhoT),
          )
          : 0;
        return [1 - b1 ** t, Math.sqrt(bc2), r, rhoT > 5 ? 1 : 0];
      });
      const out = leafwise(
        fn,
        (m, v) => {
          const mhat = div(m, like(bc1, m));
          const adaptive = div(like(rootBc2, v), add(sqrt(v), eps));
          const r = mul(mul(mhat, adaptive), like(rect, m));
          return where(rectified, r, mhat);
        },
        mu as typeof updates,
        nu,
      );
      return { updates: out, state: { count: nextCount(count), mu, nu } };
    },
  };
}

// ---------------------------------------------------------------------------
// momentum, RMSProp, Adagrad, Adadelta

/** Options of {@linkcode trace}. */
export interface TraceOptions {
  /** The momentum factor. Required. */
  decay: number;
  /** torch's dampening: the new gradient enters with weight `1 - dampening`. Default 0. */
  dampening?: number;
  /** Nesterov momentum: the update is `g + decay * trace`. Default false. */
  nesterov?: boolean;
}

/** State of {@linkcode trace}. */
export type TraceState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** The momentum buffer, a tree like the params. */
  readonly trace: Tree;
};

/**
 * Momentum as torch's SGD: the buffer is the first update itself, then
 * `buf = decay * buf + (1 - dampening) * g`; the update is `buf`, or
 * `g + decay * buf` with `nesterov` (optax's trace, plus torch's dampening).
 *
 * @example
 * ```ts
 * import { trace } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = trace({ decay: 0.5 });
 * const g = tensor([2]);
 * const one = t.update(g, t.init(g));
 * const two = t.update(g, one.state);
 * assert.deepEqual([toArray(one.updates), toArray(two.updates)], [[2], [3]]);
 * ```
 */
export function trace(
  options: TraceOptions,
): GradientTransformation<TraceState> {
  const fn = "optim.trace";
  const o = checkOptions(fn, options, ["decay", "dampening", "nesterov"]);
  const decay = checkNum(fn, "decay", o.decay, nonNeg);
  const dampening = checkNum(fn, "dampening", o.dampening ?? 0);
  const nesterov = checkBool(fn, "nesterov", o.nesterov ?? false);
  if (nesterov && (decay <= 0 || dampening !== 0)) {
    throw new Error(
      `${fn}: nesterov momentum requires decay > 0 and dampening 0, got decay ${decay} and dampening ${dampening}`,
    );
  }
  return {
    init: (params) => ({ count: countTensor(0), trace: zerosTree(params) }),
    update(updates, state) {
      // the first step takes g itself, as torch; chosen with ops rather than
      // by reading the count, so that a jitted step replays it (same bits)
      checkStateKeys(fn, state, ["count", "trace"]);
      const count = checkCount(fn, state.count);
      const first = equal(count, 0);
      const buf = leafwise(
        fn,
        (g, b) => where(first, g, add(mul(b, decay), mul(g, 1 - dampening))),
        updates,
        state.trace,
      );
      const out = nesterov
        ? leafwise(fn, (g, b) => add(g, mul(b, decay)), updates, buf)
        : buf;
      return { updates: out, state: { count: add(count, 1), trace: buf } };
    },
  };
}

/** Options of {@linkcode scaleByRms}. */
export interface ScaleByRmsOptions {
  /** Decay of the moving average of g^2 (torch's alpha). Default 0.9. */
  decay?: number;
  /** Added to the root (outside it, as torch). Default 1e-8. */
  eps?: number;
  /** Subtract the squared moving average of g (centered RMSProp). Default false. */
  centered?: boolean;
}

/** State of {@linkcode scaleByRms}. */
export type ScaleByRmsState = {
  /** Moving average of g^2, a tree like the params. */
  readonly nu: Tree;
  /** Moving average of g (only when centered). */
  readonly mu?: Tree;
};

/**
 * RMSProp's rescaling as torch: `nu = decay nu + (1 - decay) g^2`, update
 * `g / (sqrt(nu) + eps)`; centered: `g / (sqrt(nu - mu^2) + eps)` with `mu`
 * the moving average of g. (optax's scale_by_rms puts eps inside the root.)
 *
 * @example
 * ```ts
 * import { scaleByRms } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByRms({ decay: 0.75, eps: 0 });
 * const g = tensor([2, -2]);
 * assert.deepEqual(toArray(t.update(g, t.init(g)).updates), [2, -2]); // g / sqrt(g^2 / 4)
 * ```
 */
export function scaleByRms(
  options?: ScaleByRmsOptions,
): GradientTransformation<ScaleByRmsState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByRms";
  const o = checkOptions(fn, options, ["decay", "eps", "centered"]);
  const decay = checkNum(fn, "decay", o.decay ?? 0.9, { min: 0, max: 1 });
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  const centered = checkBool(fn, "centered", o.centered ?? false);
  return {
    init: (params) =>
      centered
        ? { nu: zerosTree(params), mu: zerosTree(params) }
        : { nu: zerosTree(params) },
    update(updates, state) {
      checkStateKeys(fn, state, centered ? ["nu", "mu"] : ["nu"]);
      const nu = leafwise(
        fn,
        (g, v) => emaSq(v, g, decay),
        updates,
        state.nu,
      );
      if (!centered) {
        const out = leafwise(
          fn,
          (g, v) => div(g, add(sqrt(v), eps)),
          updates,
          nu,
        );
        return { updates: out, state: { nu } };
      }
      const mu = leafwise(fn, (g, m) => ema1(m, g, decay), updates, state.mu!);
      const out = leafwise(
        fn,
        (g, v, m) => div(g, add(sqrt(sub(v, sq(m))), eps)),
        updates,
        nu,
        mu,
      );
      return { updates: out, state: { nu, mu } };
    },
  };
}

/** Options of {@linkcode scaleByAdagrad}. */
export interface ScaleByAdagradOptions {
  /** Starting value of the sum of squares. Default 0. */
  initialAccumulatorValue?: number;
  /** Added to the root. Default 1e-10. */
  eps?: number;
}

/** State of {@linkcode scaleByAdagrad}. */
export type ScaleByAdagradState = {
  /** Running sum of g^2, a tree like the params. */
  readonly sumOfSquares: Tree;
};

/**
 * Adagrad's rescaling as torch: `sum += g^2`, update `g / (sqrt(sum) + eps)`.
 *
 * @example
 * ```ts
 * import { scaleByAdagrad } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByAdagrad({ eps: 0 });
 * const g = tensor([3, -4]);
 * const one = t.update(g, t.init(g));
 * assert.deepEqual(toArray(one.updates), [1, -1]);
 * assert.deepEqual(toArray(one.state.sumOfSquares as any), [9, 16]);
 * ```
 */
export function scaleByAdagrad(
  options?: ScaleByAdagradOptions,
): GradientTransformation<ScaleByAdagradState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByAdagrad";
  const o = checkOptions(fn, options, ["initialAccumulatorValue", "eps"]);
  const init0 = checkNum(
    fn,
    "initialAccumulatorValue",
    o.initialAccumulatorValue ?? 0,
    nonNeg,
  );
  const eps = checkNum(fn, "eps", o.eps ?? 1e-10, nonNeg);
  return {
    init: (params) => ({
      sumOfSquares: treeMap(
        (p) => full(p.shape, init0, { dtype: p.dtype }),
        params,
      ),
    }),
    update(updates, state) {
      checkStateKeys(fn, state, ["sumOfSquares"]);
      const s = leafwise(
        fn,
        (g, a) => add(a, sq(g)),
        updates,
        state.sumOfSquares,
      );
      const out = leafwise(fn, (g, a) => div(g, add(sqrt(a), eps)), updates, s);
      return { updates: out, state: { sumOfSquares: s } };
    },
  };
}

/** Options of {@linkcode scaleByAdadelta}. */
export interface ScaleByAdadeltaOptions {
  /** Decay of both moving averages. Default 0.9. */
  rho?: number;
  /** Added inside both roots. Default 1e-6. */
  eps?: number;
}

/** State of {@linkcode scaleByAdadelta}. */
export type ScaleByAdadeltaState = {
  /** Moving average of g^2, a tree like the params. */
  readonly squareAvg: Tree;
  /** Moving average of the squared updates, a tree like the params. */
  readonly accDelta: Tree;
};

/**
 * Adadelta's rescaling as torch: `sq = rho sq + (1 - rho) g^2`, update
 * `delta = sqrt(acc + eps) / sqrt(sq + eps) * g`, then
 * `acc = rho acc + (1 - rho) delta^2`.
 *
 * @example
 * ```ts
 * import { scaleByAdadelta } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByAdadelta({ rho: 0, eps: 1 });
 * const g = tensor([0], { dtype: "float64" });
 * assert.deepEqual(toArray(t.update(g, t.init(g)).updates), [0]);
 * ```
 */
export function scaleByAdadelta(
  options?: ScaleByAdadeltaOptions,
): GradientTransformation<ScaleByAdadeltaState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByAdadelta";
  const o = checkOptions(fn, options, ["rho", "eps"]);
  const rho = checkNum(fn, "rho", o.rho ?? 0.9, { min: 0, max: 1 });
  const eps = checkNum(fn, "eps", o.eps ?? 1e-6, nonNeg);
  return {
    init: (params) => ({
      squareAvg: zerosTree(params),
      accDelta: zerosTree(params),
    }),
    update(updates, state) {
      checkStateKeys(fn, state, ["squareAvg", "accDelta"]);
      const squareAvg = leafwise(
        fn,
        (g, s) => emaSq(s, g, rho),
        updates,
        state.squareAvg,
      );
      const delta = leafwise(
        fn,
        (g, s, a) => mul(div(sqrt(add(a, eps)), sqrt(add(s, eps))), g),
        updates,
        squareAvg,
        state.accDelta,
      );
      const accDelta = leafwise(
        fn,
        (d, a) => emaSq(a, d, rho),
        delta,
        state.accDelta,
      );
      return { updates: delta, state: { squareAvg, accDelta } };
    },
  };
}

// ---------------------------------------------------------------------------
// Lion, LAMB's trust ratio

/** Options of {@linkcode scaleByLion}. */
export interface ScaleByLionOptions {
  /** Interpolation between the gradient and the momentum for the sign. Default 0.9. */
  b1?: number;
  /** Decay of the momentum. Default 0.99. */
  b2?: number;
}

/** State of {@linkcode scaleByLion}. */
export type ScaleByLionState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** The momentum, a tree like the params. */
  readonly mu: Tree;
};

/**
 * Lion's update (optax's scale_by_lion): `sign((1 - b1) g + b1 mu)` from the
 * old momentum, then `mu = b2 mu + (1 - b2) g`. A NaN stays NaN (jnp.sign's).
 *
 * @example
 * ```ts
 * import { scaleByLion } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByLion();
 * const g = tensor([0.3, -7, 0]);
 * assert.deepEqual(toArray(t.update(g, t.init(g)).updates), [1, -1, 0]);
 * ```
 */
export function scaleByLion(
  options?: ScaleByLionOptions,
): GradientTransformation<ScaleByLionState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByLion";
  const o = checkOptions(fn, options, ["b1", "b2"]);
  const b1 = checkNum(fn, "b1", o.b1 ?? 0.9, { min: 0, max: 1 });
  const b2 = checkNum(fn, "b2", o.b2 ?? 0.99, { min: 0, max: 1 });
  return {
    init: (params) => ({ count: countTensor(0), mu: zerosTree(params) }),
    update(updates, state) {
      checkStateKeys(fn, state, ["count", "mu"]);
      const count = checkCount(fn, state.count);
      // jnp.sign(NaN) is NaN where sign(NaN) is 0 (torch's): keep the NaN,
      // or a NaN gradient would freeze its entries silently (mu stays NaN).
      // min(|c|, 0) + 1 is 1, or NaN for a NaN (float ops only: jit fuses them)
      const out = leafwise(
        fn,
        (g, m) => {
          const c = add(mul(g, 1 - b1), mul(m, b1));
          return mul(sign(c), add(minimum(abs(c), 0), 1));
        },
        updates,
        state.mu,
      );
      const mu = leafwise(fn, (g, m) => ema1(m, g, b2), updates, state.mu);
      return { updates: out, state: { count: nextCount(count), mu } };
    },
  };
}

/** Options of {@linkcode scaleByAdamax}. */
export interface ScaleByAdamaxOptions {
  /** Decay of the first moment. Default 0.9. */
  b1?: number;
  /** Decay of the infinity norm. Default 0.999. */
  b2?: number;
  /** Added to |g| before the maximum. Default 1e-8. */
  eps?: number;
}

/** State of {@linkcode scaleByAdamax}. */
export type ScaleByAdamaxState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** First moment, a tree like the params. */
  readonly mu: Tree;
  /** The exponentially weighted infinity norm, a tree like the params. */
  readonly nu: Tree;
};

/**
 * Adamax's rescaling as torch.optim.Adamax (optax's scale_by_adamax):
 * `mu = b1 mu + (1 - b1) g`, `nu = max(b2 nu, |g| + eps)`, update
 * `mu / nu / (1 - b1^t)`.
 *
 * @example
 * ```ts
 * import { scaleByAdamax } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByAdamax({ eps: 0 });
 * const g = tensor([2, -4], { dtype: "float64" });
 * // the first step is g / |g|
 * assert.deepEqual(toArray(t.update(g, t.init(g)).updates), [1, -1]);
 * ```
 */
export function scaleByAdamax(
  options?: ScaleByAdamaxOptions,
): GradientTransformation<ScaleByAdamaxState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByAdamax";
  const o = checkOptions(fn, options, ["b1", "b2", "eps"]);
  const b1 = checkNum(fn, "b1", o.b1 ?? 0.9, unit);
  const b2 = checkNum(fn, "b2", o.b2 ?? 0.999, unit);
  const eps = checkNum(fn, "eps", o.eps ?? 1e-8, nonNeg);
  return {
    init: (params) => ({
      count: countTensor(0),
      mu: zerosTree(params),
      nu: zerosTree(params),
    }),
    update(updates, state) {
      checkStateKeys(fn, state, ["count", "mu", "nu"]);
      const count = checkCount(fn, state.count);
      const mu = leafwise(fn, (g, m) => ema1(m, g, b1), updates, state.mu);
      const nu = leafwise(
        fn,
        (g, v) => maximum(mul(v, b2), add(abs(g), eps)),
        updates,
        state.nu,
      );
      const [bc1] = stepScalars([count], 1, (n) => [1 - b1 ** (n + 1)]);
      const out = leafwise(
        fn,
        (m, v) => div(div(m, v), like(bc1, m)),
        mu as typeof updates,
        nu,
      );
      return { updates: out, state: { count: nextCount(count), mu, nu } };
    },
  };
}

/** Options of {@linkcode scaleByRprop}. */
export interface ScaleByRpropOptions {
  /** Every entry's first step size. Required. */
  initialStep: number;
  /** Step-size factor after a sign change, in (0, 1). Default 0.5. */
  etaMinus?: number;
  /** Step-size factor while the sign holds, > 1. Default 1.2. */
  etaPlus?: number;
  /** Smallest step size. Default 1e-6. */
  minStep?: number;
  /** Largest step size. Default 50. */
  maxStep?: number;
}

/** State of {@linkcode scaleByRprop}. */
export type ScaleByRpropState = {
  /** The previous step's gradient (0 where its sign flipped), a tree like the params. */
  readonly prev: Tree;
  /** Every entry's step size, a tree like the params. */
  readonly stepSize: Tree;
};

/**
 * Rprop's update as torch.optim.Rprop: each entry's step size grows by
 * `etaPlus` while its gradient keeps its sign and shrinks by `etaMinus`
 * when it flips (clamped to `[minStep, maxStep]`); the update is
 * `sign(g) · stepSize`, and 0 (with the gradient remembered as 0) after a
 * flip. Chain with `scale(-1)` to descend (the magnitudes are the step
 * sizes; no learning rate).
 *
 * @example
 * ```ts
 * import { scaleByRprop } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f64 = { dtype: "float64" as const };
 * const t = scaleByRprop({ initialStep: 0.1 });
 * const one = t.update(tensor([3, -2], f64), t.init(tensor([0, 0], f64)));
 * assert.deepEqual(toArray(one.updates), [0.1, -0.1]);
 * // the first entry keeps its sign (step 0.1 · 1.2), the second flips (no step)
 * const two = t.update(tensor([1, 5], f64), one.state);
 * assert.deepEqual(toArray(two.updates), [0.1 * 1.2, 0]);
 * ```
 */
export function scaleByRprop(
  options: ScaleByRpropOptions,
): GradientTransformation<ScaleByRpropState> {
  const fn = "optim.scaleByRprop";
  const o = checkOptions(fn, options ?? {}, [
    "initialStep",
    "etaMinus",
    "etaPlus",
    "minStep",
    "maxStep",
  ]);
  const initialStep = checkNum(fn, "initialStep", o.initialStep, nonNeg);
  const etaMinus = checkNum(fn, "etaMinus", o.etaMinus ?? 0.5, {
    min: 0,
    max: 1,
    minOpen: true,
    maxOpen: true,
  });
  const etaPlus = checkNum(fn, "etaPlus", o.etaPlus ?? 1.2, {
    min: 1,
    minOpen: true,
  });
  const minStep = checkNum(fn, "minStep", o.minStep ?? 1e-6, nonNeg);
  const maxStep = checkNum(fn, "maxStep", o.maxStep ?? 50, { min: minStep });
  return {
    init: (params) => ({
      prev: zerosTree(params),
      stepSize: treeMap(
        (p) => full(p.shape, initialStep, { dtype: p.dtype }),
        params,
      ),
    }),
    update(updates, state) {
      // torch: the sign of g · prev picks the factor (etaPlus, etaMinus, or 1 at 0)
      // (in the params' dtype: a float64 factor is the number itself)
      checkStateKeys(fn, state, ["prev", "stepSize"]);
      const factor = leafwise(
        fn,
        (g, p) => {
          const s = mul(g, p), one = onesLike(g);
          return where(
            greater(s, 0),
            mul(one, etaPlus),
            where(less(s, 0), mul(one, etaMinus), one),
          );
        },
        updates,
        state.prev,
      );
      const stepSize = leafwise(
        fn,
        (f, st) => clamp(mul(st, f), { min: minStep, max: maxStep }),
        factor as typeof updates,
        state.stepSize,
      );
      // after a flip: no step, and the gradient remembered as 0
      const prev = leafwise(
        fn,
        (g, f) => where(equal(f, etaMinus), 0, g),
        updates,
        factor,
      );
      const out = leafwise(
        fn,
        (g, st) => mul(sign(g), st),
        prev as typeof updates,
        stepSize,
      );
      return { updates: out, state: { prev, stepSize } };
    },
  };
}

/** Options of {@linkcode scaleByTrustRatio}. */
export interface ScaleByTrustRatioOptions {
  /** Lower bound of both norms. Default 0. */
  minNorm?: number;
  /** Multiplies the ratio. Default 1. */
  trustCoefficient?: number;
  /** Added to the update norm. Default 0. */
  eps?: number;
}

/**
 * LAMB's layer-wise trust ratio (optax's scale_by_trust_ratio): each leaf's
 * update is multiplied by `||param|| / ||update||` (1 when either norm is 0).
 * Needs the params.
 *
 * @example
 * ```ts
 * import { scaleByTrustRatio } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByTrustRatio();
 * const p = tensor([3, 4]); // norm 5
 * assert.deepEqual(toArray(t.update(tensor([0, 2]), t.init(p), p).updates), [0, 5]);
 * ```
 */
export function scaleByTrustRatio(
  options?: ScaleByTrustRatioOptions,
): GradientTransformation<EmptyState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByTrustRatio";
  const o = checkOptions(fn, options, ["minNorm", "trustCoefficient", "eps"]);
  const minNorm = checkNum(fn, "minNorm", o.minNorm ?? 0, nonNeg);
  const coef = checkNum(fn, "trustCoefficient", o.trustCoefficient ?? 1);
  const eps = checkNum(fn, "eps", o.eps ?? 0, nonNeg);
  const norm = (x: Tensor) => maximum(sqrt(sum(mul(x, x))), minNorm);
  return {
    init: () => ({}),
    update(updates, state, params) {
      const p = needParams(fn, params);
      const out = leafwise(
        fn,
        (u, w) => {
          const pn = norm(w);
          const un = norm(u);
          const ratio = div(mul(pn, coef), add(un, eps));
          const zero = maximum(equal(pn, 0), equal(un, 0));
          return mul(u, astype(where(zero, 1, ratio), u.dtype));
        },
        updates,
        p,
      );
      return { updates: out, state };
    },
  };
}

// ---------------------------------------------------------------------------
// Adafactor's pieces

/** Options of {@linkcode scaleByFactoredRms}. */
export interface ScaleByFactoredRmsOptions {
  /** Factor the second moment of tensors with 2 or more dims. Default true. */
  factored?: boolean;
  /** Exponent of the decay schedule `beta_t = 1 - (t + 1)^(-decayRate)`. Default 0.8. */
  decayRate?: number;
  /** Steps subtracted from the count in the decay schedule (beta = 0 before it). Default 0. */
  decayOffset?: number;
  /** Factor only when the second largest dim is at least this. Default 128. */
  minDimSizeToFactor?: number;
  /** Added to g^2. Default 1e-30. */
  eps?: number;
}

/**
 * State of {@linkcode scaleByFactoredRms} (optax's FactoredState): trees like
 * the params; a leaf that is factored keeps `vRow`/`vCol` and a `[1]`
 * placeholder in `v`, an unfactored one the reverse.
 */
export type ScaleByFactoredRmsState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** Row statistics: g^2 averaged over the largest axis. */
  readonly vRow: Tree;
  /** Column statistics: g^2 averaged over the second largest axis. */
  readonly vCol: Tree;
  /** Full second moment of unfactored leaves. */
  readonly v: Tree;
};

/** The two axes to factor over ([second largest, largest]), or null. */
function factoredDims(
  shape: readonly number[],
  factored: boolean,
  minDim: number,
): [number, number] | null {
  if (!factored || shape.length < 2) return null;
  const sorted = shape.map((_, i) => i).sort((a, b) =>
    shape[a] - shape[b] || a - b
  );
  const d1 = sorted[sorted.length - 2], d0 = sorted[sorted.length - 1];
  return shape[d1] < minDim ? null : [d1, d0];
}

const without = (shape: readonly number[], axis: number) =>
  shape.filter((_, i) => i !== axis);

/**
 * Adafactor's rescaling (optax's scale_by_factored_rms): a second-moment
 * estimate with decay `beta_t = 1 - (t + 1)^(-decayRate)`; for a tensor whose
 * second largest dim is at least `minDimSizeToFactor` it keeps only row and
 * column averages of `g^2 + eps` and rebuilds the estimate as their
 * normalised outer product. The update is `g / sqrt(estimate)`.
 *
 * @example
 * ```ts
 * import { scaleByFactoredRms } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByFactoredRms({ minDimSizeToFactor: 2 });
 * const g = tensor([[1, 2], [3, 6]], { dtype: "float64" }); // rank 1
 * const { updates, state } = t.update(g, t.init(g));
 * assert.deepEqual(toArray(updates), [[1, 1], [1, 1]]);
 * assert.deepEqual((state.vRow as any).shape, [2]);
 * ```
 */
export function scaleByFactoredRms(
  options?: ScaleByFactoredRmsOptions,
): GradientTransformation<ScaleByFactoredRmsState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByFactoredRms";
  const o = checkOptions(fn, options, [
    "factored",
    "decayRate",
    "decayOffset",
    "minDimSizeToFactor",
    "eps",
  ]);
  const factored = checkBool(fn, "factored", o.factored ?? true);
  const decayRate = checkNum(fn, "decayRate", o.decayRate ?? 0.8, nonNeg);
  const decayOffset = checkNum(fn, "decayOffset", o.decayOffset ?? 0, {
    min: 0,
    integer: true,
  });
  const minDim = checkNum(
    fn,
    "minDimSizeToFactor",
    o.minDimSizeToFactor ?? 128,
    { min: 1, integer: true },
  );
  const eps = checkNum(fn, "eps", o.eps ?? 1e-30, nonNeg);
  const placeholder = (p: Tensor) => full([1], 0, { dtype: p.dtype });
  const dims = (p: Tensor) => factoredDims(p.shape, factored, minDim);
  return {
    init: (params) => ({
      count: countTensor(0),
      vRow: treeMap((p) => {
        const d = dims(p);
        return d
          ? full(without(p.shape, d[1]), 0, { dtype: p.dtype })
          : placeholder(p);
      }, params),
      vCol: treeMap((p) => {
        const d = dims(p);
        return d
          ? full(without(p.shape, d[0]), 0, { dtype: p.dtype })
          : placeholder(p);
      }, params),
      v: treeMap((p) => (dims(p) ? placeholder(p) : zerosLike(p)), params),
    }),
    update(updates, state) {
      checkStateKeys(fn, state, ["count", "vRow", "vCol", "v"]);
      const count = checkCount(fn, state.count);
      // optax: 1 - (count - offset + 1)^(-decayRate); steps before the offset
      // (where optax's formula breaks down) use beta = 0
      const [beta, oneMinusBeta] = stepScalars([count], 2, (n) => {
        const b = 1 - Math.max(n - decayOffset + 1, 1) ** -decayRate;
        return [b, 1 - b];
      });
      const ema1 = (avg: Tensor, x: Tensor) =>
        add(mul(avg, like(beta, avg)), mul(x, like(oneMinusBeta, x)));
      // one pass per leaf computes the update and the leaf's new statistics,
      // collected in leaf order and rebuilt into trees below
      const rows: Tensor[] = [], cols: Tensor[] = [], full2: Tensor[] = [];
      let leaf = 0;
      const paths = () => treePaths(updates).map(([p]) => p);
      const step = (g: Tensor, vr: Tensor, vc: Tensor, v: Tensor) => {
        const q = add(sq(g), eps);
        const d = dims(g);
        // the statistics init made for a param of g's shape
        const want = d
          ? [without(g.shape, d[1]), without(g.shape, d[0]), [1]]
          : [[1], [1], g.shape];
        const got = [vr.shape, vc.shape, v.shape];
        if (want.some((w, i) => w.join() !== got[i].join())) {
          const path = paths()[leaf] || "(root)";
          throw new Error(
            `${fn}: leaf ${
              path === "(root)" ? path : `"${path}"`
            } has shape [${g.shape}] in the updates, but the state's statistics (vRow [${vr.shape}], vCol [${vc.shape}], v [${v.shape}]) were made for a param of another shape (the updates must be shaped like the params)`,
          );
        }
        leaf++;
        if (!d) {
          const nv = ema1(v, q);
          rows.push(vr), cols.push(vc), full2.push(nv);
          return mul(g, pow(nv, -0.5));
        }
        const [d1, d0] = d;
        const nr = ema1(vr, mean(q, { axis: d0 }));
        const nc = ema1(vc, mean(q, { axis: d1 }));
        rows.push(nr), cols.push(nc), full2.push(v);
        const reducedD1 = d1 > d0 ? d1 - 1 : d1;
        const rowFactor = pow(
          div(nr, mean(nr, { axis: reducedD1, keepDims: true })),
          -0.5,
        );
        const colFactor = pow(nc, -0.5);
        return mul(
          mul(g, expandDims(rowFactor, d0)),
          expandDims(colFactor, d1),
        );
      };
      const out = leafwiseAnyShape(
        fn,
        step,
        updates,
        state.vRow,
        state.vCol,
        state.v,
      );
      const def = treeFlatten(updates)[1];
      return {
        updates: out,
        state: {
          count: nextCount(count),
          vRow: treeUnflatten(def, rows),
          vCol: treeUnflatten(def, cols),
          v: treeUnflatten(def, full2),
        },
      };
    },
  };
}

/**
 * Divides each leaf by `max(1, rms(leaf) / threshold)`, so that no leaf's
 * root mean square exceeds `threshold` (optax's clip_by_block_rms).
 *
 * @example
 * ```ts
 * import { clipByBlockRms } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = clipByBlockRms(1);
 * const u = tensor([4, -4]); // rms 4
 * assert.deepEqual(toArray(t.update(u, t.init(u)).updates), [1, -1]);
 * ```
 */
export function clipByBlockRms(
  threshold: number,
): GradientTransformation<EmptyState> {
  const fn = "optim.clipByBlockRms";
  checkNum(fn, "threshold", threshold, { min: 0, minOpen: true });
  return {
    init: () => ({}),
    update: (updates, state) => ({
      updates: leafwise(
        fn,
        (u) => div(u, maximum(div(rms(u), threshold), 1)),
        updates,
      ),
      state,
    }),
  };
}

/** Options of {@linkcode scaleByParamBlockRms}. */
export interface ScaleByParamBlockRmsOptions {
  /** Lower bound of the scale. Default 1e-3. */
  minScale?: number;
}

/**
 * Multiplies each leaf's update by `max(rms(param), minScale)` (optax's
 * scale_by_param_block_rms, Adafactor's relative step). Needs the params.
 *
 * @example
 * ```ts
 * import { scaleByParamBlockRms } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByParamBlockRms();
 * const p = tensor([2, -2]);
 * assert.deepEqual(toArray(t.update(tensor([1, 3]), t.init(p), p).updates), [2, 6]);
 * ```
 */
export function scaleByParamBlockRms(
  options?: ScaleByParamBlockRmsOptions,
): GradientTransformation<EmptyState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByParamBlockRms";
  const o = checkOptions(fn, options, ["minScale"]);
  const minScale = checkNum(fn, "minScale", o.minScale ?? 1e-3, nonNeg);
  return {
    init: () => ({}),
    update(updates, state, params) {
      const p = needParams(fn, params);
      return {
        updates: leafwise(
          fn,
          (u, w) => mul(u, astype(maximum(rms(w), minScale), u.dtype)),
          updates,
          p,
        ),
        state,
      };
    },
  };
}

/** Options of {@linkcode ema}. */
export interface EmaOptions {
  /** Decay of the average. Required. */
  decay: number;
  /** Divide by `1 - decay^t`. Default true. */
  debias?: boolean;
}

/** State of {@linkcode ema}. */
export type EmaState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** The moving average, a tree like the params. */
  readonly ema: Tree;
};

/**
 * Replaces updates by their exponential moving average
 * `ema = decay ema + (1 - decay) u`, divided by `1 - decay^t` when `debias`
 * (optax's ema).
 *
 * @example
 * ```ts
 * import { ema } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = ema({ decay: 0.5, debias: false });
 * assert.deepEqual(toArray(t.update(tensor([4]), t.init(tensor([0]))).updates), [2]);
 * ```
 */
export function ema(options: EmaOptions): GradientTransformation<EmaState> {
  const fn = "optim.ema";
  const o = checkOptions(fn, options, ["decay", "debias"]);
  const decay = checkNum(fn, "decay", o.decay, { min: 0, max: 1 });
  const debias = checkBool(fn, "debias", o.debias ?? true);
  return {
    init: (params) => ({ count: countTensor(0), ema: zerosTree(params) }),
    update(updates, state) {
      checkStateKeys(fn, state, ["count", "ema"]);
      const count = checkCount(fn, state.count);
      const avg = leafwise(fn, (u, e) => ema1(e, u, decay), updates, state.ema);
      const [bc] = stepScalars([count], 1, (n) => [1 - decay ** (n + 1)]);
      const out = debias ? leafwise(fn, (e) => div(e, like(bc, e)), avg) : avg;
      return {
        updates: out as typeof updates,
        state: { count: nextCount(count), ema: avg },
      };
    },
  };
}

/** Options of {@linkcode scaleByAsgd}. */
export interface ScaleByAsgdOptions {
  /** Learning rate or schedule, from which the step size eta decays. Default 1e-2. */
  lr?: LearningRate;
  /** Decay term: the params shrink by `1 - lambd · eta` each step, and eta decays with it. Default 1e-4. */
  lambd?: number;
  /** Power of eta's decay. Default 0.75. */
  alpha?: number;
  /** The step after which averaging starts. Default 1e6. */
  t0?: number;
}

/** State of {@linkcode scaleByAsgd}. */
export type ScaleByAsgdState = {
  /** Updates made so far (int32 scalar). */
  readonly count: Tensor;
  /** The averaged params (torch's `ax`): after step k (from 1) the params until k = t0 + 2, then the mean of those of steps t0 + 2 to k. */
  readonly ax: Tree;
};

/**
 * Averaged SGD's step and average as torch.optim.ASGD: the update is
 * `-eta (g + lambd p)` with eta `lr` at the first
 * step and `lr / (1 + lambd lr t)^alpha` after t steps; the state's `ax`
 * follows the new params, `ax += (p - ax) · mu` with `mu = 1 / max(1, t - t0)`
 * (`ax = p` while mu is 1). Needs the params.
 *
 * @example
 * ```ts
 * import { scaleByAsgd } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = scaleByAsgd({ lr: 0.5, lambd: 0 });
 * const p = tensor([1, 2], { dtype: "float64" });
 * const r = t.update(tensor([2, -2], { dtype: "float64" }), t.init(p), p);
 * assert.deepEqual(toArray(r.updates), [-1, 1]);
 * assert.deepEqual(toArray(r.state.ax as typeof p), [0, 3]); // the new params
 * ```
 */
export function scaleByAsgd(
  options?: ScaleByAsgdOptions,
): GradientTransformation<ScaleByAsgdState> {
  if (options === undefined) options = {};
  const fn = "optim.scaleByAsgd";
  const o = checkOptions(fn, options, ["lr", "lambd", "alpha", "t0"]);
  const lr = checkLr(fn, o.lr ?? 1e-2);
  const lambd = checkNum(fn, "lambd", o.lambd ?? 1e-4, { min: 0 });
  const alpha = checkNum(fn, "alpha", o.alpha ?? 0.75);
  const t0 = checkNum(fn, "t0", o.t0 ?? 1e6, { min: 0 });
  // torch recomputes eta and mu after each step from the lr of that step
  // and keeps them as tensors of its default dtype (here: the params',
  // through `like`)
  const eta = (n: number) => {
    if (n === 0) return lrAt(fn, lr, 0);
    const l = lrAt(fn, lr, n - 1);
    return l / (1 + lambd * l * n) ** alpha;
  };
  const mu = (n: number) => 1 / Math.max(1, n - t0);
  return {
    init: (params) => ({ count: countTensor(0), ax: zerosTree(params) }),
    update(updates, state, params) {
      checkStateKeys(fn, state, ["count", "ax"]);
      const count = checkCount(fn, state.count);
      const p = needParams(fn, params);
      const [e, m] = stepScalars([count], 2, (n) => [eta(n), mu(n)]);
      const out = leafwise(
        fn,
        (g, w) => mul(add(g, mul(w, lambd)), neg(like(e, g))),
        updates,
        p,
      );
      const ax = leafwise(
        fn,
        (a, w, u) => {
          const next = astype(add(w, u), w.dtype); // the params after the step
          const k = like(m, a);
          return where(equal(k, 1), next, add(a, mul(sub(next, a), k)));
        },
        state.ax,
        p,
        out,
      );
      return { updates: out, state: { count: nextCount(count), ax } };
    },
  };
}
