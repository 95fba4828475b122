/**
 * torch.optim.LBFGS: limited-memory BFGS, which evaluates the loss several
 * times per step (a fixed step or a strong-Wolfe line search), so it is
 * `step(lossAndGrad, params, state)` rather than an `{ init, update }` pair.
 *
 * @module
 */
import {
  describe,
  fromData,
  isTensor,
  item,
  showValue,
  sizeOf,
  type Tensor,
  zeros,
} from "../ops/tensor.ts";
import { abs, add, mul, neg, sub } from "../ops/elementwise.ts";
import { max } from "../ops/reductions.ts";
import { concat, reshape, slice, sum } from "../ops/structural.ts";
import {
  checkSameStructure,
  flattenAs,
  type Tree,
  treeUnflatten,
} from "../ops/tree.ts";
import { checkCount, checkNum, checkOptions, countTensor } from "./_util.ts";

/** Options of {@linkcode lbfgs} (torch.optim.LBFGS's, camelCased). */
export interface LbfgsOptions {
  /** Step length (the line search's first trial). Default 1. */
  lr?: number;
  /** Iterations per step. Default 20. */
  maxIter?: number;
  /** Loss evaluations per step. Default `floor(maxIter * 5 / 4)`. */
  maxEval?: number;
  /** Stop when no gradient entry is larger than this. Default 1e-7. */
  toleranceGrad?: number;
  /** Stop when the loss or the params change less than this. Default 1e-9. */
  toleranceChange?: number;
  /** Pairs of (step, gradient change) kept. Default 100. */
  historySize?: number;
  /** `"strongWolfe"` for torch's strong-Wolfe line search; null (default) for fixed steps. */
  lineSearchFn?: "strongWolfe" | null;
}

/** State of {@linkcode lbfgs}: the search direction and the history, all tensors. */
export type LbfgsState = {
  /** Loss evaluations so far (int32 scalar). */
  readonly funcEvals: Tensor;
  /** Iterations so far (int32 scalar). */
  readonly nIter: Tensor;
  /** The last search direction (the params flattened into one vector). */
  readonly d: Tensor;
  /** The last step length (float64 scalar). */
  readonly t: Tensor;
  /** Gradient changes y of the history, oldest first. */
  readonly oldDirs: Tensor[];
  /** Steps s of the history, oldest first. */
  readonly oldStps: Tensor[];
  /** 1 / (y·s) of each history pair (float64 `[k]`). */
  readonly ro: Tensor;
  /** Scale of the initial inverse Hessian, y·s / y·y (float64 scalar). */
  readonly hDiag: Tensor;
  /** The gradient at the last iteration's start (flattened). */
  readonly prevFlatGrad: Tensor;
  /** The loss at the last iteration's start (float64 scalar). */
  readonly prevLoss: Tensor;
};

/** What {@linkcode Lbfgs.step} returns. */
export interface LbfgsResult<P extends Tree> {
  /** The params after the step. */
  params: P;
  /** The new state. */
  state: LbfgsState;
  /** The loss at the params the step started from (torch's `step` return value). */
  loss: Tensor;
}

/** The L-BFGS optimizer: `init` and `step`. */
export interface Lbfgs {
  /** The initial state for `params` (only their structure, shapes and dtype are read). */
  init(params: Tree): LbfgsState;
  /**
   * One torch `optimizer.step(closure)`: up to `maxIter` iterations, each
   * evaluating `lossAndGrad` (a function of the params returning the loss and
   * its gradient, as `valueAndGrad(loss)` or its `jit` does) once, or as often
   * as the line search needs.
   */
  step<P extends Tree>(
    lossAndGrad: (params: P) => readonly [Tensor, Tree],
    params: P,
    state: LbfgsState,
  ): LbfgsResult<P>;
}

const f64 = (v: number) => fromData(Float64Array.of(v), []);
const dot = (a: Tensor, b: Tensor) => item(sum(mul(a, b)));
const absMax = (a: Tensor) => a.shape[0] === 0 ? 0 : item(max(abs(a)));

/** torch's _cubic_interpolate: the minimiser of the cubic through two points and slopes, within bounds. */
function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const d2Square = d1 ** 2 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2
      ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
      : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

type Eval = (t: number) => [number, Tensor];

/**
 * torch's _strong_wolfe: a step length along `d` from the point of loss `f`,
 * gradient `g` and slope `gtd` meeting the strong Wolfe conditions; returns
 * the loss and gradient there, the step and the evaluations made.
 */
function strongWolfe(
  objFunc: Eval,
  t: number,
  d: Tensor,
  f: number,
  g: Tensor,
  gtd: number,
  toleranceChange = 1e-9,
  c1 = 1e-4,
  c2 = 0.9,
  maxLs = 25,
): [number, Tensor, number, number] {
  const dNorm = absMax(d);
  let [fNew, gNew] = objFunc(t);
  let lsFuncEvals = 1;
  let gtdNew = dot(gNew, d);
  let tPrev = 0, fPrev = f, gPrev = g, gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [], bracketF: number[] = [];
  let bracketG: Tensor[] = [], bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG] = [[tPrev, t], [fPrev, fNew], [
        gPrev,
        gNew,
      ]];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG] = [[tPrev, t], [fPrev, fNew], [
        gPrev,
        gNew,
      ]];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    // interpolate
    const minStep = t + 0.01 * (t - tPrev), maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [
      minStep,
      maxStep,
    ]);
    [tPrev, fPrev, gPrev, gtdPrev] = [tmp, fNew, gNew, gtdNew];
    [fNew, gNew] = objFunc(t);
    lsFuncEvals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) {
    [bracket, bracketF, bracketG] = [[0, t], [f, fNew], [g, gNew]];
  }
  // zoom: refine the bracket until a point meets the conditions
  let insufProgress = false;
  let [lowPos, highPos] = bracketF[0] <= bracketF.at(-1)! ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(
      bracket[0],
      bracketF[0],
      bracketGtd[0],
      bracket[1],
      bracketF[1],
      bracketGtd[1],
    );
    const bMax = Math.max(...bracket), bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      // interpolation close to the boundary
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else insufProgress = true;
    } else insufProgress = false;
    [fNew, gNew] = objFunc(t);
    lsFuncEvals++;
    gtdNew = dot(gNew, d);
    lsIter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
      // Armijo not met, or not lower than the lowest point
      bracket[highPos] = t;
      bracketF[highPos] = fNew;
      bracketG[highPos] = gNew;
      bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
        // the old high becomes the new low
        bracket[highPos] = bracket[lowPos];
        bracketF[highPos] = bracketF[lowPos];
        bracketG[highPos] = bracketG[lowPos];
        bracketGtd[highPos] = bracketGtd[lowPos];
      }
      bracket[lowPos] = t;
      bracketF[lowPos] = fNew;
      bracketG[lowPos] = gNew;
      bracketGtd[lowPos] = gtdNew;
    }
  }
  return [bracketF[lowPos], bracketG[lowPos], bracket[lowPos], lsFuncEvals];
}

/**
 * L-BFGS as torch.optim.LBFGS: the same iterations, history, step lengths,
 * stopping rules and (with `lineSearchFn: "strongWolfe"`) line search, so
 * the params after each step follow torch's (as there, `toleranceChange`
 * does not reach the line search, which stops refining its bracket below
 * 1e-9). The params are handled as one
 * flat vector of their dtype (all leaves must share it); the scalars are
 * float64. Reading the loss to decide when to stop, a step cannot be
 * jitted, but `lossAndGrad` can be.
 *
 * @example
 * ```ts
 * import { lbfgs } from "./mod.ts";
 * import { item, mul, sub, sum, type Tensor, tensor, valueAndGrad } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const loss = (p: { w: Tensor }) => sum(mul(sub(p.w, 3), sub(p.w, 3)));
 * const opt = lbfgs({ lineSearchFn: "strongWolfe" });
 * let params = { w: tensor([0, 1], { dtype: "float64" }) };
 * let state = opt.init(params);
 * ({ params, state } = opt.step(valueAndGrad(loss), params, state));
 * assert.ok(item(loss(params)) < 1e-12);
 * ```
 */
export function lbfgs(options?: LbfgsOptions): Lbfgs {
  if (options === undefined) options = {};
  const fn = "optim.lbfgs";
  const o = checkOptions(fn, options, [
    "lr",
    "maxIter",
    "maxEval",
    "toleranceGrad",
    "toleranceChange",
    "historySize",
    "lineSearchFn",
  ]);
  const posInt = { min: 1, integer: true };
  const lr = checkNum(fn, "lr", o.lr ?? 1, { min: 0, minOpen: true });
  const maxIter = checkNum(fn, "maxIter", o.maxIter ?? 20, posInt);
  const maxEval = checkNum(
    fn,
    "maxEval",
    o.maxEval ?? Math.floor(maxIter * 5 / 4),
    posInt,
  );
  const toleranceGrad = checkNum(fn, "toleranceGrad", o.toleranceGrad ?? 1e-7, {
    min: 0,
  });
  const toleranceChange = checkNum(
    fn,
    "toleranceChange",
    o.toleranceChange ?? 1e-9,
    { min: 0 },
  );
  const historySize = checkNum(fn, "historySize", o.historySize ?? 100, posInt);
  const lineSearch = o.lineSearchFn ?? null;
  if (lineSearch !== null && lineSearch !== "strongWolfe") {
    throw new Error(
      `${fn}: lineSearchFn must be "strongWolfe" or null, got ${
        showValue(lineSearch) ?? "undefined"
      }`,
    );
  }

  /** The leaves of `tree` flattened into one vector, and how to undo it. */
  const flatten = (where: string, tree: Tree) => {
    const [leaves, def] = flattenAs(`${fn}.${where}`, tree);
    const dtype = leaves[0]?.dtype ?? "float32";
    for (const l of leaves) {
      if (l.dtype !== dtype || (dtype !== "float32" && dtype !== "float64")) {
        throw new Error(
          `${fn}.${where}: every leaf must have one float dtype (the params are one flat vector), got ${
            describe(leaves[0])
          } and ${describe(l)}`,
        );
      }
    }
    const vec = leaves.length
      ? concat(leaves.map((l) => reshape(l, [sizeOf(l.shape)])))
      : zeros([0], { dtype });
    const unflatten = (v: Tensor) => {
      let at = 0;
      return treeUnflatten(
        def,
        leaves.map((l) => {
          const n = sizeOf(l.shape);
          return reshape(slice(v, [at], [at += n]), l.shape);
        }),
      );
    };
    return { vec, unflatten };
  };

  return {
    init(params) {
      const { vec } = flatten("init(params)", params);
      return {
        funcEvals: countTensor(0),
        nIter: countTensor(0),
        d: vec,
        t: f64(0),
        oldDirs: [],
        oldStps: [],
        ro: zeros([0], { dtype: "float64" }),
        hDiag: f64(1),
        prevFlatGrad: vec,
        prevLoss: f64(0),
      };
    },
    step(lossAndGrad, params, state) {
      if (typeof lossAndGrad !== "function") {
        throw new Error(
          `${fn}.step: lossAndGrad must be a function of the params returning [loss, grads] (e.g. valueAndGrad(loss)), got ${
            describe(lossAndGrad)
          }`,
        );
      }
      const s = checkState(`${fn}.step`, state);
      const { vec: x0, unflatten } = flatten("step(params)", params);
      if (s.d.shape[0] !== x0.shape[0] || s.d.dtype !== x0.dtype) {
        throw new Error(
          `${fn}.step: state is for ${
            s.d.shape[0]
          } ${s.d.dtype} params, but params have ${
            x0.shape[0]
          } ${x0.dtype} (state must be what init returned for these params)`,
        );
      }
      let x = x0;
      let funcEvals = item(s.funcEvals), stateIter = item(s.nIter);
      /** The loss and flat gradient at `at`. */
      const evaluate = (at: Tensor): [Tensor, Tensor] => {
        const r = lossAndGrad(unflatten(at) as never);
        const ok = Array.isArray(r) && r.length === 2 && isTensor(r[0]) &&
          sizeOf(r[0].shape) === 1;
        if (!ok) {
          throw new Error(
            `${fn}.step: lossAndGrad must return [loss, grads] with a one-element loss, got ${
              describe(r)
            }`,
          );
        }
        checkSameStructure(
          `${fn}.step`,
          params,
          r[1],
          "the params and lossAndGrad's grads",
        );
        const g = flatten("step: the gradient", r[1]).vec;
        if (g.shape[0] !== x0.shape[0] || g.dtype !== x0.dtype) {
          throw new Error(
            `${fn}.step: lossAndGrad's grads have ${
              g.shape[0]
            } ${g.dtype} values, the params ${x0.shape[0]} ${x0.dtype}`,
          );
        }
        return [r[0], g];
      };

      const [origLoss, g0] = evaluate(x);
      let loss = item(origLoss);
      let flatGrad = g0;
      let currentEvals = 1;
      funcEvals++;
      let optCond = absMax(flatGrad) <= toleranceGrad;
      let d = s.d, t = item(s.t), hDiag = item(s.hDiag);
      const oldDirs = [...s.oldDirs], oldStps = [...s.oldStps];
      const ro = Array.from(s.ro.data);
      let prevFlatGrad = s.prevFlatGrad, prevLoss = item(s.prevLoss);
      let nIter = 0;
      while (!optCond && nIter < maxIter) {
        nIter++;
        stateIter++;
        // the descent direction
        if (stateIter === 1) {
          d = neg(flatGrad);
          oldDirs.length = oldStps.length = ro.length = 0;
          hDiag = 1;
        } else {
          const y = sub(flatGrad, prevFlatGrad);
          const sv = mul(d, t);
          const ys = dot(y, sv);
          if (ys > 1e-10) {
            if (oldDirs.length === historySize) {
              oldDirs.shift();
              oldStps.shift();
              ro.shift();
            }
            oldDirs.push(y);
            oldStps.push(sv);
            ro.push(1 / ys);
            hDiag = ys / dot(y, y);
          }
          // the two-loop recursion: the inverse Hessian times the gradient
          const al: number[] = [];
          let q = neg(flatGrad);
          for (let i = oldDirs.length - 1; i >= 0; i--) {
            al[i] = dot(oldStps[i], q) * ro[i];
            q = add(q, mul(oldDirs[i], -al[i]));
          }
          let r = mul(q, hDiag);
          for (let i = 0; i < oldDirs.length; i++) {
            const be = dot(oldDirs[i], r) * ro[i];
            r = add(r, mul(oldStps[i], al[i] - be));
          }
          d = r;
        }
        prevFlatGrad = flatGrad;
        prevLoss = loss;
        // the step length
        t = stateIter === 1
          ? Math.min(1, 1 / item(sum(abs(flatGrad)))) * lr
          : lr;
        const gtd = dot(flatGrad, d);
        if (gtd > -toleranceChange) break;
        let lsFuncEvals = 0;
        if (lineSearch !== null) {
          const from = x, dir = d;
          const objFunc: Eval = (tt) => {
            const [l, g] = evaluate(add(from, mul(dir, tt)));
            return [item(l), g];
          };
          [loss, flatGrad, t, lsFuncEvals] = strongWolfe(
            objFunc,
            t,
            d,
            loss,
            flatGrad,
            gtd,
            // (torch's step leaves the search's tolerance at its default,
            // whatever toleranceChange is)
          );
          x = add(x, mul(d, t));
          optCond = absMax(flatGrad) <= toleranceGrad;
        } else {
          x = add(x, mul(d, t));
          if (nIter !== maxIter) {
            // (torch skips the evaluation after the last iteration)
            const [l, g] = evaluate(x);
            loss = item(l);
            flatGrad = g;
            optCond = absMax(flatGrad) <= toleranceGrad;
            lsFuncEvals = 1;
          }
        }
        currentEvals += lsFuncEvals;
        funcEvals += lsFuncEvals;
        if (nIter === maxIter || currentEvals >= maxEval || optCond) break;
        if (absMax(mul(d, t)) <= toleranceChange) break;
        if (Math.abs(loss - prevLoss) < toleranceChange) break;
      }
      return {
        params: unflatten(x) as never,
        state: {
          funcEvals: countTensor(funcEvals),
          nIter: countTensor(stateIter),
          d,
          t: f64(t),
          oldDirs,
          oldStps,
          ro: fromData(Float64Array.from(ro), [ro.length]),
          hDiag: f64(hDiag),
          prevFlatGrad,
          prevLoss: f64(prevLoss),
        },
        loss: origLoss,
      };
    },
  };
}

function checkState(fn: string, state: unknown): LbfgsState {
  const s = state as LbfgsState;
  if (
    typeof state !== "object" || state === null ||
    !Array.isArray(s.oldDirs) || !Array.isArray(s.oldStps) ||
    ![s.d, s.t, s.ro, s.hDiag, s.prevFlatGrad, s.prevLoss].every(isTensor) ||
    s.oldDirs.length !== s.oldStps.length ||
    s.ro.shape.length !== 1 || s.ro.shape[0] !== s.oldDirs.length
  ) {
    throw new Error(
      `${fn}: state must be what init or step returned ({ funcEvals, nIter, d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss }), got ${
        describe(state)
      }`,
    );
  }
  checkCount(fn, s.funcEvals, "funcEvals");
  checkCount(fn, s.nIter, "nIter");
  return s;
}
