/**
 * Stochastic weight averaging, as torch.optim.swa_utils: a running average
 * of the params along training (`averagedModel`, AveragedModel's
 * `update_parameters`) and the schedule that anneals to a constant SWA rate
 * (`schedules.swaLR`, in schedules.ts).
 *
 * @module
 */
import { add, astype, div, equal, sub, where } from "../ops/elementwise.ts";
import { describe, isTensor, type Tensor } from "../ops/tensor.ts";
import {
  checkSameStructure,
  flattenAs,
  type Tree,
  treePaths,
} from "../ops/tree.ts";
import {
  checkCount,
  checkOptions,
  checkSameShapes,
  countTensor,
  leafwise,
} from "./_util.ts";

/** An averaging rule: the new average from the average, the model's param and how many were averaged (torch's avg_fn). */
export type AvgFn = (
  averaged: Tensor,
  param: Tensor,
  numAveraged: Tensor,
) => Tensor;

/** Options of {@linkcode averagedModel}. */
export interface AveragedModelOptions {
  /**
   * The averaging rule (torch's avg_fn). Default: the equal average,
   * `averaged + (param - averaged) / (numAveraged + 1)`.
   */
  avgFn?: AvgFn;
}

/** State of {@linkcode averagedModel}. */
export type AveragedModelState<P extends Tree = Tree> = {
  /** Models averaged so far (int32 scalar; torch's n_averaged). */
  readonly nAveraged: Tensor;
  /** The averaged params (a tree like the params). */
  readonly params: P;
};

/** A running average of params: `init` and `updateParameters`. */
export interface AveragedModel {
  /** The state before any model is averaged: a copy of `params`, count 0. */
  init<P extends Tree>(params: P): AveragedModelState<P>;
  /**
   * The state with `params` averaged in (AveragedModel.update_parameters):
   * the first call takes them as they are, the later ones apply `avgFn`.
   * Integer leaves (a batch norm's num_batches_tracked, when the layers'
   * state is averaged too) take the model's value (torch 1.13 averages them
   * too and truncates the average to an integer, so its count lags).
   */
  updateParameters<P extends Tree>(
    state: AveragedModelState<P>,
    params: P,
  ): AveragedModelState<P>;
}

/**
 * Checks that the model's params have the averaged params' dtypes, leaf by
 * leaf (torch copies the average into the averaged model's tensors, so their
 * dtype never changes; here a model cast after `init` is an error, not a
 * state whose dtype changes under a checkpoint or a jitted step).
 */
function checkSameDtypes(fn: string, averaged: Tree, params: Tree): void {
  const pa = treePaths(averaged), pb = treePaths(params);
  pa.forEach(([path, a], i) => {
    const b = pb[i]?.[1];
    if (b && a.dtype !== b.dtype) {
      throw new Error(
        `${fn}: leaf ${
          path === "" ? "(root)" : `"${path}"`
        } is ${a.dtype} in state.params but ${b.dtype} in params (the averaged params keep the dtypes of the params init was given)`,
      );
    }
  });
}

function sameStructure(a: Tree, b: Tree): boolean {
  try {
    checkSameStructure("", a, b, "");
    return true;
  } catch {
    return false;
  }
}

const equalAverage: AvgFn = (a, p, n) =>
  add(a, div(sub(p, a), astype(add(n, 1), p.dtype)));

/**
 * The running average of params that stochastic weight averaging keeps
 * (torch.optim.swa_utils.AveragedModel): evaluate with `state.params`. Pass
 * `{ params, state }` of a model with batch norm to average its statistics
 * too (torch's use_buffers). Chosen with `where`, so a jitted step can
 * update it; the equal average is torch's bits.
 *
 * @example
 * ```ts
 * import { averagedModel } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const swa = averagedModel();
 * let s = swa.init({ w: tensor([0]) });
 * for (const v of [1, 2, 6]) s = swa.updateParameters(s, { w: tensor([v]) });
 * assert.deepEqual(toArray(s.params.w), [3]);
 * ```
 */
export function averagedModel(options?: AveragedModelOptions): AveragedModel {
  if (options === undefined) options = {};
  const fn = "optim.averagedModel";
  checkOptions(fn, options, ["avgFn"]);
  const avgFn = options.avgFn ?? equalAverage;
  if (typeof avgFn !== "function") {
    throw new Error(
      `${fn}: avgFn must be a function (averaged, param, numAveraged) => Tensor, got ${
        describe(avgFn)
      }`,
    );
  }
  return {
    init(params) {
      flattenAs(`${fn}.init(params)`, params);
      return { nAveraged: countTensor(0), params };
    },
    updateParameters(state, params) {
      const f = `${fn}.updateParameters`;
      if (typeof state !== "object" || state === null || !("params" in state)) {
        throw new Error(
          `${f}: state must be what init returned ({ nAveraged, params }), got ${
            describe(state)
          }`,
        );
      }
      const n = checkCount(f, state.nAveraged, "nAveraged");
      flattenAs(`${f}(params)`, params);
      // (a structure error comes from leafwise below, naming treeMap's trees)
      if (sameStructure(state.params, params)) {
        checkSameShapes(f, state.params, params, "state.params", "params");
        checkSameDtypes(f, state.params, params);
      }
      const first = equal(n, 0);
      const averaged = leafwise(
        f,
        (a, p) => {
          if (p.dtype === "int32") return p;
          const v = avgFn(a, p, n);
          if (
            !isTensor(v) || v.dtype !== p.dtype ||
            v.shape.join() !== p.shape.join()
          ) {
            throw new Error(
              `${f}: avgFn must return a tensor of the param's shape and dtype (${p.dtype} [${p.shape}]), got ${
                describe(v)
              }`,
            );
          }
          return where(first, p, v);
        },
        state.params,
        params,
      );
      return { nAveraged: add(n, 1), params: averaged };
    },
  };
}
