/**
 * Replaying an optimizer's trajectory from a fixture's stored gradients
 * (gen_optim.py's problem: params w [3,2] and b [2] in float64), shared by
 * the tests of the optimizer wrappers.
 */
import { optim, type Tensor, tensor, type Tree } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

/** A fixture tensor. */
export type J = { shape: number[]; data: number[] };
/** The params as the fixtures store them. */
export type WB = { w: J; b: J };

/** A fixture tensor as a float64 tensor. */
export const toT = (j: J): Tensor =>
  tensor(j.data, { shape: j.shape, dtype: "float64" });

/**
 * Feeds `opt` each step's stored grads from `init` and checks the params
 * after each update against the stored ones to 1e-9 relative; `after(i,
 * state)` may change the state after update i (a scheduler's epoch).
 */
export function replayTrajectory<S extends Tree>(
  opt: optim.GradientTransformation<S>,
  init: WB,
  steps: readonly { grads: WB; params: WB }[],
  label: string,
  after: (i: number, state: S, params: Tree) => S = (_, s) => s,
): void {
  let params: Tree = { w: toT(init.w), b: toT(init.b) };
  let state = opt.init(params);
  steps.forEach((s, i) => {
    const grads = { w: toT(s.grads.w), b: toT(s.grads.b) };
    const r = opt.update(grads, state, params);
    params = optim.applyUpdates(params, r.updates);
    const p = params as { w: Tensor; b: Tensor };
    const msg = `${label}, update ${i + 1}`;
    assertAllClose(p.w, s.params.w.data, { rtol: 1e-9, atol: 0, msg });
    assertAllClose(p.b, s.params.b.data, { rtol: 1e-9, atol: 0, msg });
    state = after(i, r.state, params);
  });
}
