/**
 * Learning-rate schedules: each returns `(step) => lr`, where `step` is the
 * number of updates already made (0 for the first update). The values are
 * those of torch.optim.lr_scheduler stepped once after every optimizer step
 * (written in closed form; torch computes most of them recursively, which
 * agrees to about 1e-15). Pass a schedule as any optimizer's `lr`.
 *
 * @module
 */
import type { Schedule } from "./_util.ts";
import { checkBool, checkNum, checkOptions } from "./_util.ts";
import { describe, showValue } from "../ops/tensor.ts";

const nonNeg = { min: 0 };
const positive = { min: 0, minOpen: true };
const posInt = { min: 1, integer: true };

/** Wraps `f` with a check that the step is a non-negative integer. */
function schedule(fn: string, f: (step: number) => number): Schedule {
  return (step: number) => {
    if (!Number.isInteger(step) || step < 0) {
      throw new Error(
        `${fn}: step must be an integer >= 0 (updates already made), got ${step}`,
      );
    }
    return f(step);
  };
}

const lrOf = (fn: string, lr: unknown) => checkNum(fn, "lr", lr, nonNeg);

/**
 * The same learning rate at every step.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.constant(0.1);
 * assert.equal(s(0), 0.1);
 * assert.equal(s(1000), 0.1);
 * ```
 */
export function constant(lr: number): Schedule {
  const fn = "optim.schedules.constant";
  lrOf(fn, lr);
  return schedule(fn, () => lr);
}

/** Options of {@linkcode stepLR} (torch StepLR). */
export interface StepLROptions {
  /** The initial learning rate. Required. */
  lr: number;
  /** Steps between two decays. Required. */
  stepSize: number;
  /** Factor applied every `stepSize` steps. Default 0.1. */
  gamma?: number;
}

/**
 * `lr * gamma^floor(step / stepSize)` (torch StepLR).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.stepLR({ lr: 1, stepSize: 10, gamma: 0.5 });
 * assert.deepEqual([s(0), s(9), s(10), s(25)], [1, 1, 0.5, 0.25]);
 * ```
 */
export function stepLR(options: StepLROptions): Schedule {
  const fn = "optim.schedules.stepLR";
  const o = checkOptions(fn, options, ["lr", "stepSize", "gamma"]);
  const lr = lrOf(fn, o.lr);
  const stepSize = checkNum(fn, "stepSize", o.stepSize, posInt);
  const gamma = checkNum(fn, "gamma", o.gamma ?? 0.1, nonNeg);
  return schedule(fn, (k) => lr * gamma ** Math.floor(k / stepSize));
}

/** Options of {@linkcode multiStepLR} (torch MultiStepLR). */
export interface MultiStepLROptions {
  /** The initial learning rate. Required. */
  lr: number;
  /** Steps at which the rate is multiplied by gamma (increasing). Required. */
  milestones: readonly number[];
  /** Factor applied at each milestone. Default 0.1. */
  gamma?: number;
}

/**
 * `lr * gamma^(number of milestones <= step)` (torch MultiStepLR).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.multiStepLR({ lr: 1, milestones: [2, 4], gamma: 0.5 });
 * assert.deepEqual([0, 1, 2, 3, 4, 5].map(s), [1, 1, 0.5, 0.5, 0.25, 0.25]);
 * ```
 */
export function multiStepLR(options: MultiStepLROptions): Schedule {
  const fn = "optim.schedules.multiStepLR";
  const o = checkOptions(fn, options, ["lr", "milestones", "gamma"]);
  const lr = lrOf(fn, o.lr);
  const milestones = o.milestones;
  if (!Array.isArray(milestones)) {
    throw new Error(
      `${fn}: milestones must be an array of increasing integers >= 0, got ${
        showValue(milestones)
      }`,
    );
  }
  milestones.forEach((m, i) => {
    checkNum(fn, `milestones[${i}]`, m, { min: 0, integer: true });
    if (i > 0 && m <= milestones[i - 1]) {
      throw new Error(
        `${fn}: milestones must be increasing, got ${showValue(milestones)}`,
      );
    }
  });
  const ms = milestones.slice() as number[];
  const gamma = checkNum(fn, "gamma", o.gamma ?? 0.1, nonNeg);
  return schedule(fn, (k) => lr * gamma ** ms.filter((m) => m <= k).length);
}

/** Options of {@linkcode exponentialLR} (torch ExponentialLR). */
export interface ExponentialLROptions {
  /** The initial learning rate. Required. */
  lr: number;
  /** Factor applied every step. Required. */
  gamma: number;
}

/**
 * `lr * gamma^step` (torch ExponentialLR).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.exponentialLR({ lr: 2, gamma: 0.5 });
 * assert.deepEqual([s(0), s(1), s(3)], [2, 1, 0.25]);
 * ```
 */
export function exponentialLR(options: ExponentialLROptions): Schedule {
  const fn = "optim.schedules.exponentialLR";
  const o = checkOptions(fn, options, ["lr", "gamma"]);
  const lr = lrOf(fn, o.lr);
  const gamma = checkNum(fn, "gamma", o.gamma, nonNeg);
  return schedule(fn, (k) => lr * gamma ** k);
}

/** Options of {@linkcode cosineAnnealing} (torch CosineAnnealingLR). */
export interface CosineAnnealingOptions {
  /** The initial (largest) learning rate. Required. */
  lr: number;
  /** Steps of the half cosine from lr down to etaMin. Required. */
  tMax: number;
  /** The smallest learning rate. Default 0. */
  etaMin?: number;
}

/**
 * `etaMin + (lr - etaMin) (1 + cos(pi step / tMax)) / 2` (torch
 * CosineAnnealingLR). As in torch, past `tMax` the cosine goes on (the rate
 * rises again, period `2 tMax`); it is not clamped.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.cosineAnnealing({ lr: 1, tMax: 10 });
 * assert.equal(s(0), 1);
 * assert.ok(Math.abs(s(5) - 0.5) < 1e-15);
 * assert.equal(s(10), 0);
 * ```
 */
export function cosineAnnealing(options: CosineAnnealingOptions): Schedule {
  const fn = "optim.schedules.cosineAnnealing";
  const o = checkOptions(fn, options, ["lr", "tMax", "etaMin"]);
  const lr = lrOf(fn, o.lr);
  const tMax = checkNum(fn, "tMax", o.tMax, posInt);
  const etaMin = checkNum(fn, "etaMin", o.etaMin ?? 0, nonNeg);
  return schedule(
    fn,
    (k) => etaMin + (lr - etaMin) * (1 + Math.cos(Math.PI * k / tMax)) / 2,
  );
}

/** Options of {@linkcode linearWarmup} (torch LinearLR). */
export interface LinearWarmupOptions {
  /** The base learning rate. Required. */
  lr: number;
  /** Factor of lr at step 0. Default 1/3. */
  startFactor?: number;
  /** Factor of lr from step totalIters on. Default 1. */
  endFactor?: number;
  /** Steps of the linear ramp. Default 5. */
  totalIters?: number;
}

/**
 * A linear ramp of the factor from `startFactor` to `endFactor` over
 * `totalIters` steps, then constant (torch LinearLR):
 * `lr (startFactor + (endFactor - startFactor) min(step, totalIters) / totalIters)`.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.linearWarmup({ lr: 1, startFactor: 0.5, totalIters: 2 });
 * assert.deepEqual([0, 1, 2, 3].map(s), [0.5, 0.75, 1, 1]);
 * ```
 */
export function linearWarmup(options: LinearWarmupOptions): Schedule {
  return linearFactor("optim.schedules.linearWarmup", options);
}

/** Options of {@linkcode linearLR}: those of {@linkcode linearWarmup}. */
export type LinearLROptions = LinearWarmupOptions;

/**
 * torch's LinearLR under its own name: {@linkcode linearWarmup}, the factor
 * of lr ramped linearly from `startFactor` (default 1/3) to `endFactor`
 * (default 1) over `totalIters` steps (default 5).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.linearLR({ lr: 1, startFactor: 1, endFactor: 0.5, totalIters: 2 });
 * assert.deepEqual([0, 1, 2, 3].map(s), [1, 0.75, 0.5, 0.5]);
 * ```
 */
export function linearLR(options: LinearLROptions): Schedule {
  return linearFactor("optim.schedules.linearLR", options);
}

/** linearWarmup and linearLR (`fn` names the caller). */
function linearFactor(fn: string, options: LinearWarmupOptions): Schedule {
  const o = checkOptions(fn, options, [
    "lr",
    "startFactor",
    "endFactor",
    "totalIters",
  ]);
  const lr = lrOf(fn, o.lr);
  const s = checkNum(fn, "startFactor", o.startFactor ?? 1 / 3, {
    min: 0,
    max: 1,
    minOpen: true,
  });
  const e = checkNum(fn, "endFactor", o.endFactor ?? 1, { min: 0, max: 1 });
  const total = checkNum(fn, "totalIters", o.totalIters ?? 5, posInt);
  return schedule(fn, (k) => lr * (s + (e - s) * Math.min(k, total) / total));
}

/** Options of {@linkcode warmupCosine}. */
export interface WarmupCosineOptions {
  /** The peak learning rate, reached at warmupSteps. Required. */
  lr: number;
  /** Steps of the linear warmup from `startFactor * lr` to `lr`. Required. */
  warmupSteps: number;
  /** Total length, warmup included: the cosine reaches etaMin at tMax. Required. */
  tMax: number;
  /** The smallest learning rate. Default 0. */
  etaMin?: number;
  /** Factor of lr at step 0. Default 1/3 (torch LinearLR's). */
  startFactor?: number;
}

/**
 * Linear warmup then cosine annealing (torch SequentialLR of LinearLR and
 * CosineAnnealingLR with milestone `warmupSteps`): for `step < warmupSteps`
 * `lr (startFactor + (1 - startFactor) step / warmupSteps)`, then
 * `etaMin + (lr - etaMin) (1 + cos(pi (step - warmupSteps) / (tMax - warmupSteps))) / 2`
 * (not clamped past tMax, as cosineAnnealing).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.warmupCosine({ lr: 1, warmupSteps: 2, tMax: 4, startFactor: 0.5 });
 * assert.deepEqual([s(0), s(1), s(2), s(4)], [0.5, 0.75, 1, 0]);
 * ```
 */
export function warmupCosine(options: WarmupCosineOptions): Schedule {
  const fn = "optim.schedules.warmupCosine";
  const o = checkOptions(fn, options, [
    "lr",
    "warmupSteps",
    "tMax",
    "etaMin",
    "startFactor",
  ]);
  const lr = lrOf(fn, o.lr);
  const w = checkNum(fn, "warmupSteps", o.warmupSteps, {
    min: 0,
    integer: true,
  });
  const tMax = checkNum(fn, "tMax", o.tMax, {
    min: w,
    minOpen: true,
    integer: true,
  });
  const etaMin = checkNum(fn, "etaMin", o.etaMin ?? 0, nonNeg);
  const s = checkNum(fn, "startFactor", o.startFactor ?? 1 / 3, {
    min: 0,
    max: 1,
    minOpen: true,
  });
  return schedule(fn, (k) =>
    k < w ? lr * (s + (1 - s) * k / w) : etaMin +
      (lr - etaMin) * (1 + Math.cos(Math.PI * (k - w) / (tMax - w))) / 2);
}

/** Options of {@linkcode oneCycle} (torch OneCycleLR). */
export interface OneCycleOptions {
  /** The peak learning rate. Required. */
  maxLr: number;
  /** Length of the cycle; steps past it throw, as torch. Required. */
  totalSteps: number;
  /** Fraction of the cycle spent increasing the rate. Default 0.3. */
  pctStart?: number;
  /** "cos" or "linear" annealing. Default "cos". */
  annealStrategy?: "cos" | "linear";
  /** The initial rate is `maxLr / divFactor`. Default 25. */
  divFactor?: number;
  /** The final rate is the initial one / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Three phases (up, back down to the initial rate, then to the final rate). Default false. */
  threePhase?: boolean;
}

/**
 * The one-cycle policy (torch OneCycleLR without momentum cycling): from
 * `maxLr / divFactor` up to `maxLr` by step `pctStart * totalSteps - 1`, then
 * down to `maxLr / divFactor / finalDivFactor` at step `totalSteps - 1`
 * (threePhase: back to the initial rate by `2 pctStart totalSteps - 2` first).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.oneCycle({ maxLr: 1, totalSteps: 11, pctStart: 0.5, annealStrategy: "linear", divFactor: 10 });
 * assert.ok(Math.abs(s(0) - 0.1) < 1e-15);
 * assert.ok(Math.abs(s(4) - 0.9) < 1e-15); // 0.1 + (1 - 0.1) * 4 / 4.5, the peak is at step 4.5
 * assert.throws(() => s(12), /past totalSteps/);
 * ```
 */
export function oneCycle(options: OneCycleOptions): Schedule {
  const fn = "optim.schedules.oneCycle";
  const o = checkOptions(fn, options, [
    "maxLr",
    "totalSteps",
    "pctStart",
    "annealStrategy",
    "divFactor",
    "finalDivFactor",
    "threePhase",
  ]);
  const maxLr = checkNum(fn, "maxLr", o.maxLr, nonNeg);
  const total = checkNum(fn, "totalSteps", o.totalSteps, posInt);
  const pct = checkNum(fn, "pctStart", o.pctStart ?? 0.3, { min: 0, max: 1 });
  const strategy = o.annealStrategy ?? "cos";
  if (strategy !== "cos" && strategy !== "linear") {
    throw new Error(
      `${fn}: annealStrategy must be "cos" or "linear", got ${
        showValue(strategy)
      }`,
    );
  }
  const div = checkNum(fn, "divFactor", o.divFactor ?? 25, positive);
  const finalDiv = checkNum(
    fn,
    "finalDivFactor",
    o.finalDivFactor ?? 1e4,
    positive,
  );
  const three = checkBool(fn, "threePhase", o.threePhase ?? false);
  const initial = maxLr / div;
  const min = initial / finalDiv;
  const phases: [end: number, from: number, to: number][] = three
    ? [
      [pct * total - 1, initial, maxLr],
      [2 * pct * total - 2, maxLr, initial],
      [total - 1, initial, min],
    ]
    : [[pct * total - 1, initial, maxLr], [total - 1, maxLr, min]];
  let previous = 0;
  for (const [end] of phases) {
    if (!(end - previous > 0)) {
      throw new Error(
        `${fn}: pctStart ${pct} with totalSteps ${total} leaves a phase without steps (it would end at step ${end}, ${
          end === previous ? "where torch divides by zero" : "before it starts"
        }); use more totalSteps or another pctStart`,
      );
    }
    previous = end;
  }
  const anneal = strategy === "cos"
    ? (a: number, b: number, p: number) =>
      b + (a - b) / 2 * (Math.cos(Math.PI * p) + 1)
    : (a: number, b: number, p: number) => (b - a) * p + a;
  return schedule(fn, (k) => {
    if (k > total) {
      throw new Error(
        `${fn}: step ${k} is past totalSteps ${total} (torch OneCycleLR raises here too)`,
      );
    }
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const [end, a, b] = phases[i];
      if (k <= end || i === phases.length - 1) {
        return anneal(a, b, (k - start) / (end - start));
      }
      start = end;
    }
    throw new Error("unreachable");
  });
}

/** Options of {@linkcode cosineAnnealingWarmRestarts} (torch CosineAnnealingWarmRestarts). */
export interface CosineAnnealingWarmRestartsOptions {
  /** The initial (largest) learning rate of every cycle. Required. */
  lr: number;
  /** Steps of the first cycle. Required. */
  t0: number;
  /** Each cycle is this many times longer than the one before. Default 1. */
  tMult?: number;
  /** The smallest learning rate. Default 0. */
  etaMin?: number;
}

/**
 * Cosine annealing with warm restarts, SGDR (torch
 * CosineAnnealingWarmRestarts): `etaMin + (lr - etaMin) (1 + cos(pi tCur / tI)) / 2`
 * where `tCur` counts the steps since the last restart and `tI` is the
 * current cycle's length (`t0`, then `t0·tMult`, ...); the rate jumps back
 * to lr at each restart.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.cosineAnnealingWarmRestarts({ lr: 1, t0: 2, tMult: 2 });
 * // cycles of 2 and 4 steps: restarts at steps 2 and 6
 * assert.deepEqual([0, 2, 6].map(s), [1, 1, 1]);
 * assert.ok(Math.abs(s(1) - 0.5) < 1e-15 && Math.abs(s(4) - 0.5) < 1e-15);
 * ```
 */
export function cosineAnnealingWarmRestarts(
  options: CosineAnnealingWarmRestartsOptions,
): Schedule {
  const fn = "optim.schedules.cosineAnnealingWarmRestarts";
  const o = checkOptions(fn, options, ["lr", "t0", "tMult", "etaMin"]);
  const lr = lrOf(fn, o.lr);
  const t0 = checkNum(fn, "t0", o.t0, posInt);
  const tMult = checkNum(fn, "tMult", o.tMult ?? 1, posInt);
  const etaMin = checkNum(fn, "etaMin", o.etaMin ?? 0, nonNeg);
  return schedule(fn, (k) => {
    // torch's count, in integers: tCur steps into a cycle of tI
    let tCur = k, tI = t0;
    if (tMult === 1) tCur = k % t0;
    else {
      while (tCur >= tI) {
        tCur -= tI;
        tI *= tMult;
      }
    }
    return etaMin + (lr - etaMin) * (1 + Math.cos(Math.PI * tCur / tI)) / 2;
  });
}

/** Options of {@linkcode polynomialLR} (torch PolynomialLR). */
export interface PolynomialLROptions {
  /** The initial learning rate. Required. */
  lr: number;
  /** Steps until the rate reaches 0. Default 5. */
  totalIters?: number;
  /** The power of the decay. Default 1. */
  power?: number;
}

/**
 * `lr (1 - min(step, totalIters) / totalIters)^power` (torch PolynomialLR):
 * from lr down to 0 at `totalIters`, then 0.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.polynomialLR({ lr: 1, totalIters: 4, power: 2 });
 * assert.deepEqual([0, 2, 4, 9].map(s), [1, 0.25, 0, 0]);
 * ```
 */
export function polynomialLR(options: PolynomialLROptions): Schedule {
  const fn = "optim.schedules.polynomialLR";
  const o = checkOptions(fn, options, ["lr", "totalIters", "power"]);
  const lr = lrOf(fn, o.lr);
  const total = checkNum(fn, "totalIters", o.totalIters ?? 5, posInt);
  const power = checkNum(fn, "power", o.power ?? 1, nonNeg);
  return schedule(fn, (k) => lr * (1 - Math.min(k, total) / total) ** power);
}

/** Options of {@linkcode constantLR} (torch ConstantLR). */
export interface ConstantLROptions {
  /** The learning rate from step `totalIters` on. Required. */
  lr: number;
  /** The rate is `lr · factor` before `totalIters`. Default 1/3. */
  factor?: number;
  /** Steps at the reduced rate. Default 5. */
  totalIters?: number;
}

/**
 * `lr · factor` for the first `totalIters` steps, then lr (torch ConstantLR).
 * With `totalIters` 0 that is lr at every step, torch's closed form (torch
 * stepped without an epoch keeps `lr · factor` for ever there).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.constantLR({ lr: 1, factor: 0.5, totalIters: 2 });
 * assert.deepEqual([0, 1, 2, 3].map(s), [0.5, 0.5, 1, 1]);
 * ```
 */
export function constantLR(options: ConstantLROptions): Schedule {
  const fn = "optim.schedules.constantLR";
  const o = checkOptions(fn, options, ["lr", "factor", "totalIters"]);
  const lr = lrOf(fn, o.lr);
  const factor = checkNum(fn, "factor", o.factor ?? 1 / 3, { min: 0, max: 1 });
  const total = checkNum(fn, "totalIters", o.totalIters ?? 5, {
    min: 0,
    integer: true,
  });
  return schedule(fn, (k) => k < total ? lr * factor : lr);
}

/** Options of {@linkcode cyclicLR} (torch CyclicLR, without momentum cycling). */
export interface CyclicLROptions {
  /** The rate at the start (and bottom) of each cycle. Required. */
  baseLr: number;
  /** The rate at the top of a cycle (scaled by the mode). Required. */
  maxLr: number;
  /** Steps from the bottom to the top. Default 2000. */
  stepSizeUp?: number;
  /** Steps from the top back down. Default stepSizeUp. */
  stepSizeDown?: number | null;
  /** "triangular" (the same height each cycle, default), "triangular2" (halved each cycle) or "exp_range" (scaled by gamma^step). */
  mode?: "triangular" | "triangular2" | "exp_range";
  /** The base of exp_range's scale. Default 1. */
  gamma?: number;
}

/**
 * The cyclical learning rate (torch CyclicLR, with `cycle_momentum` off):
 * linearly from `baseLr` up to `maxLr` over `stepSizeUp` steps and down
 * over `stepSizeDown`, again and again; the height `maxLr - baseLr` is
 * scaled by 1 ("triangular"), by `1 / 2^(cycle - 1)` ("triangular2") or by
 * `gamma^step` ("exp_range"). The optimizer's own lr is not used.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.cyclicLR({ baseLr: 0, maxLr: 1, stepSizeUp: 2, mode: "triangular2" });
 * assert.deepEqual([0, 1, 2, 3, 4, 6].map(s), [0, 0.5, 1, 0.5, 0, 0.5]);
 * ```
 */
export function cyclicLR(options: CyclicLROptions): Schedule {
  const fn = "optim.schedules.cyclicLR";
  const o = checkOptions(fn, options, [
    "baseLr",
    "maxLr",
    "stepSizeUp",
    "stepSizeDown",
    "mode",
    "gamma",
  ]);
  const base = checkNum(fn, "baseLr", o.baseLr, nonNeg);
  const max = checkNum(fn, "maxLr", o.maxLr, nonNeg);
  const up = checkNum(fn, "stepSizeUp", o.stepSizeUp ?? 2000, posInt);
  const down = checkNum(fn, "stepSizeDown", o.stepSizeDown ?? up, posInt);
  const mode = o.mode ?? "triangular";
  if (!["triangular", "triangular2", "exp_range"].includes(mode as string)) {
    throw new Error(
      `${fn}: mode must be "triangular", "triangular2" or "exp_range", got ${
        showValue(mode)
      }`,
    );
  }
  const gamma = checkNum(fn, "gamma", o.gamma ?? 1, nonNeg);
  const total = up + down, ratio = up / total;
  return schedule(fn, (k) => {
    // torch's get_lr, term for term
    const cycle = Math.floor(1 + k / total);
    const x = 1 + k / total - cycle;
    const scale = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    const height = (max - base) * scale;
    const by = mode === "triangular"
      ? 1
      : mode === "triangular2"
      ? 1 / 2 ** (cycle - 1)
      : gamma ** k;
    return base + height * by;
  });
}

/** Checks a non-empty array of schedules; returns it. */
function checkSchedules(fn: string, scheds: unknown): Schedule[] {
  if (
    !Array.isArray(scheds) || scheds.length === 0 ||
    !scheds.every((f) => typeof f === "function")
  ) {
    throw new Error(
      `${fn}: schedulers must be a non-empty array of schedules (step) => lr, got ${
        describe(scheds)
      }`,
    );
  }
  return scheds;
}

/** Options of {@linkcode sequentialLR}. */
export interface SequentialLROptions {
  /** The schedules, one after the other. Required. */
  schedulers: readonly Schedule[];
  /** The steps at which the next schedule takes over: increasing, one fewer than the schedules. Required. */
  milestones: readonly number[];
}

/**
 * Schedules one after the other (torch SequentialLR): before the first
 * milestone the first schedule, then from milestone m_i on schedule i + 1
 * counted from that milestone, `schedulers[i + 1](step - m_i)`, as torch
 * restarts each at its milestone. A {@linkcode multiplicativeLR} goes on
 * from the rate it finds, as torch's (its own `lr` is not used there): the
 * rate at `m_i - 1` times `lrLambda(1) ... lrLambda(step - m_i)`.
 * {@linkcode swaLR} is counted from its milestone like the others (torch's
 * SequentialLR steps SWALR once at the milestone itself, one step ahead of
 * torch's SWA recipe, which this follows).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.sequentialLR({
 *   schedulers: [schedules.constant(0.5), schedules.exponentialLR({ lr: 1, gamma: 0.5 })],
 *   milestones: [2],
 * });
 * assert.deepEqual([0, 1, 2, 3, 4].map(s), [0.5, 0.5, 1, 0.5, 0.25]);
 * ```
 */
export function sequentialLR(options: SequentialLROptions): Schedule {
  const fn = "optim.schedules.sequentialLR";
  const o = checkOptions(fn, options, ["schedulers", "milestones"]);
  const scheds = checkSchedules(fn, o.schedulers);
  const ms = o.milestones as unknown;
  if (
    !Array.isArray(ms) || ms.length !== scheds.length - 1 ||
    !ms.every((m, i) =>
      Number.isInteger(m) && m >= 1 && (i === 0 || m > ms[i - 1])
    )
  ) {
    throw new Error(
      `${fn}: milestones must be ${
        scheds.length - 1
      } increasing integers >= 1 (one fewer than the schedulers), got ${
        Array.isArray(ms) && ms.length <= 16
          ? `[${ms.map((m) => typeof m === "number" ? m : describe(m))}]`
          : describe(ms)
      }`,
    );
  }
  const list = scheds as Schedule[], at = ms as number[];
  const seq = schedule(fn, (k) => {
    let i = 0;
    while (i < at.length && k >= at[i]) i++;
    if (i === 0) return list[0](k);
    const j = k - at[i - 1], base = multiplicativeBase.get(list[i]);
    // torch restarts a MultiplicativeLR from the rate it finds
    return base === undefined
      ? list[i](j)
      : seq(at[i - 1] - 1) * (list[i](j) / base);
  });
  return seq;
}

/** Calls `f(step)` and checks that it gave a finite number. */
function finite(fn: string, what: string, f: (k: number) => number, k: number) {
  const v = f(k);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(
      `${fn}: ${what} returned ${
        describe(v)
      } at step ${k}, not a finite number`,
    );
  }
  return v;
}

function checkLambda(fn: string, f: unknown): (k: number) => number {
  if (typeof f !== "function") {
    throw new Error(
      `${fn}: lrLambda must be a function (step) => factor, got ${describe(f)}`,
    );
  }
  return f as (k: number) => number;
}

/** Options of {@linkcode lambdaLR} and {@linkcode multiplicativeLR}. */
export interface LambdaLROptions {
  /** The base learning rate. Required. */
  lr: number;
  /** A factor for each step. Required. */
  lrLambda: (step: number) => number;
}

/**
 * `lr * lrLambda(step)` (torch LambdaLR).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.lambdaLR({ lr: 0.5, lrLambda: (k) => 1 / (k + 1) });
 * assert.deepEqual([0, 1, 3].map(s), [0.5, 0.25, 0.125]);
 * ```
 */
export function lambdaLR(options: LambdaLROptions): Schedule {
  const fn = "optim.schedules.lambdaLR";
  const o = checkOptions(fn, options, ["lr", "lrLambda"]);
  const lr = lrOf(fn, o.lr), f = checkLambda(fn, o.lrLambda);
  return schedule(fn, (k) => lr * finite(fn, "lrLambda", f, k));
}

/**
 * The rate multiplied by `lrLambda(j)` at each step j = 1, 2, ...: `lr *
 * lrLambda(1) * ... * lrLambda(step)` in that order, torch
 * MultiplicativeLR's bits. The furthest step computed is kept with its
 * product, so a training loop's calls cost one multiplication each; the
 * products at every 4096th step are kept too (a few kilobytes per ten
 * million steps), and an earlier step is multiplied on from the nearest of
 * those (the same products, `lrLambda` called again for the steps after it).
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.multiplicativeLR({ lr: 1, lrLambda: (k) => (k % 2 ? 0.5 : 1) });
 * assert.deepEqual([0, 1, 2, 3].map(s), [1, 0.5, 0.5, 0.25]);
 * ```
 */
export function multiplicativeLR(options: LambdaLROptions): Schedule {
  const fn = "optim.schedules.multiplicativeLR";
  const o = checkOptions(fn, options, ["lr", "lrLambda"]);
  const lr = lrOf(fn, o.lr), f = checkLambda(fn, o.lrLambda);
  // marks[i]: the product at step i·every; (last, at): the furthest one
  const every = 4096, marks = [lr];
  let at = 0, last = lr;
  const s = schedule(fn, (k) => {
    if (k > Number.MAX_SAFE_INTEGER) {
      throw new Error(
        `${fn}: step must be at most 2^53 - 1 (the steps are counted one by one), got ${k}`,
      );
    }
    let j = at, v = last;
    if (k < at) {
      const i = Math.floor(k / every);
      j = i * every;
      v = marks[i];
    }
    while (j < k) {
      // to the next mark or k, whichever comes first
      const stop = Math.min(k, (Math.floor(j / every) + 1) * every);
      while (j < stop) {
        const m = f(++j);
        // (finite's check inline; its error when not)
        v *= Number.isFinite(m) ? m : finite(fn, "lrLambda", () => m, j);
      }
      if (j % every === 0 && j / every === marks.length) marks.push(v);
    }
    if (k > at) [at, last] = [k, v];
    return v;
  });
  multiplicativeBase.set(s, lr);
  return s;
}

/** The `lr` of each schedule made by multiplicativeLR (for sequentialLR). */
const multiplicativeBase = new WeakMap<Schedule, number>();

/** Options of {@linkcode chainedScheduler}. */
export interface ChainedSchedulerOptions {
  /** The base learning rate the schedules were made with. Required. */
  lr: number;
  /** The schedules whose factors multiply. Required. */
  schedulers: readonly Schedule[];
}

/**
 * Schedules applied together (torch ChainedScheduler): `lr` times each
 * schedule's factor `schedule(step) / lr`. This is torch's for the schedules
 * torch chains by multiplying (stepLR, multiStepLR, exponentialLR,
 * constantLR, linearLR, polynomialLR, multiplicativeLR), each made with this
 * `lr`. torch's LambdaLR (and the others) set the rate instead, undoing the
 * factors of the schedules before them, so a chain with lambdaLR is a
 * product here but not in torch.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.chainedScheduler({
 *   lr: 1,
 *   schedulers: [
 *     schedules.constantLR({ lr: 1, factor: 0.5, totalIters: 2 }),
 *     schedules.exponentialLR({ lr: 1, gamma: 0.5 }),
 *   ],
 * });
 * assert.deepEqual([0, 1, 2, 3].map(s), [0.5, 0.25, 0.25, 0.125]);
 * ```
 */
export function chainedScheduler(options: ChainedSchedulerOptions): Schedule {
  const fn = "optim.schedules.chainedScheduler";
  const o = checkOptions(fn, options, ["lr", "schedulers"]);
  const lr = checkNum(fn, "lr", o.lr, positive);
  const list = checkSchedules(fn, o.schedulers);
  return schedule(fn, (k) => {
    let v = lr;
    for (const s of list) v *= finite(fn, "a schedule", s, k) / lr;
    return v;
  });
}

/** Options of {@linkcode swaLR} (torch.optim.swa_utils.SWALR). */
export interface SwaLROptions {
  /** The rate when the annealing starts (the optimizer's rate at that point). Required. */
  lr: number;
  /** The constant rate annealed to. Required. */
  swaLr: number;
  /** Steps of the annealing. Default 10. */
  annealEpochs?: number;
  /** "cos" (default) or "linear". */
  annealStrategy?: "cos" | "linear";
}

/**
 * Anneals from `lr` to the constant `swaLr` over `annealEpochs` steps, for
 * stochastic weight averaging (torch SWALR): `swaLr * a + lr * (1 - a)` with
 * `a` the annealing's fraction `t = min(step / annealEpochs, 1)`, `(1 -
 * cos(pi t)) / 2` for "cos" and `t` for "linear". torch steps it once an
 * epoch; start it at the switch with `sequentialLR`.
 *
 * @example
 * ```ts
 * import { schedules } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const s = schedules.swaLR({ lr: 1, swaLr: 0.5, annealEpochs: 2, annealStrategy: "linear" });
 * assert.deepEqual([0, 1, 2, 9].map(s), [1, 0.75, 0.5, 0.5]);
 * ```
 */
export function swaLR(options: SwaLROptions): Schedule {
  const fn = "optim.schedules.swaLR";
  const o = checkOptions(fn, options, [
    "lr",
    "swaLr",
    "annealEpochs",
    "annealStrategy",
  ]);
  const lr = lrOf(fn, o.lr);
  const swa = checkNum(fn, "swaLr", o.swaLr, nonNeg);
  const epochs = checkNum(fn, "annealEpochs", o.annealEpochs ?? 10, {
    min: 0,
    integer: true,
  });
  const strategy = o.annealStrategy ?? "cos";
  if (strategy !== "cos" && strategy !== "linear") {
    throw new Error(
      `${fn}: annealStrategy must be "cos" or "linear", got ${
        showValue(strategy) ?? "undefined"
      }`,
    );
  }
  return schedule(fn, (k) => {
    // torch counts its construction as step 0; with no annealing, step 1
    const t = Math.min(
      1,
      Math.max(epochs === 0 ? 1 : k, 0) / Math.max(1, epochs),
    );
    const a = strategy === "cos" ? (1 - Math.cos(Math.PI * t)) / 2 : t;
    return swa * a + lr * (1 - a);
  });
}
