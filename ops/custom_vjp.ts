/**
 * `customVjp`: a function with its own VJP rule, as `jax.custom_vjp`. Under
 * `vmap` it runs once per example and stacks the results (a documented
 * loop: `fwd` and `bwd` are user code that may not batch); `vmapLoops()`
 * counts those loops, so a test can show a model never takes them.
 *
 * @module
 */
import { describe, isTensor, type Tensor } from "./tensor.ts";
import { bindRule, concrete, type Empty, type Rule } from "./trace.ts";
import { checkFunction } from "./_args.ts";
import { batchSize, slice, squeeze, stack } from "./structural.ts";

let loops = 0;

/** How many times `vmap` has looped over the examples of a `customVjp` function. @internal */
export function vmapLoops(): number {
  return loops;
}

/** Example `k` of `v` along its batch axis `d` (`v` itself when unbatched). */
function exampleOf(v: Tensor, d: number | null, k: number): Tensor {
  if (d === null) return v;
  const starts = v.shape.map((_, i) => (i === d ? k : 0));
  const ends = v.shape.map((n, i) => (i === d ? k + 1 : n));
  return squeeze(slice(v, starts, ends), d);
}

/**
 * Declares a function with its own VJP rule, as `jax.custom_vjp`: `fwd`
 * returns `[output, residuals]`, `bwd(residuals, g)` returns one cotangent per
 * argument. Arguments and the output are tensors. The forward-mode
 * derivative is the transpose of `bwd` (so `bwd` must be linear in `g`).
 *
 * Types: `A` is the tuple of `f`'s parameters (all tensors; `Tensor[]` when
 * they are not annotated), which `fwd` takes too, and the returned function
 * as well; `bwd` returns an `A`, one cotangent per argument (`NoInfer`: `A`
 * is read from `f` and `fwd`, and `bwd` is checked against it). `R` is the
 * type of the residuals, whatever `fwd` saves for `bwd`. The constraint
 * `[] | Tensor[]` rather than `Tensor[]` is a TypeScript idiom: it makes the
 * array literal `bwd` returns (`[g]`) a tuple, as `A` is.
 *
 * @example
 * ```ts
 * import { customVjp, grad, mul, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // identity whose gradient is clipped to [-1, 1]
 * const clipGrad = customVjp(
 *   (x: Tensor) => x,
 *   (x: Tensor) => [x, null],
 *   (_res, g) => [g.data[0] > 1 ? mul(g, 1 / g.data[0]) : g],
 * );
 * assert.deepEqual(toArray(grad((x: Tensor) => sum(mul(clipGrad(x), 5)))(tensor([2]))), [1]);
 * ```
 */
export function customVjp<A extends [] | Tensor[], R>(
  f: (...args: A) => Tensor,
  fwd: (...args: A) => readonly [Tensor, R],
  bwd: (residuals: R, g: Tensor) => NoInfer<A>,
): (...args: A) => Tensor {
  const fn = "customVjp";
  checkFunction(fn, "f", f);
  checkFunction(fn, "fwd", fwd);
  checkFunction(fn, "bwd", bwd);
  // the rule is called with the arguments of the returned function, an `A`
  const rule: Rule<Empty> = {
    name: f.name || "customVjp",
    forward: (inputs) => concrete(f(...inputs as A)),
    vjp: (inputs) => {
      const [, res] = fwd(...inputs as A);
      let cache: [Tensor, Tensor[]] | null = null;
      const cts = (g: Tensor) => {
        if (!cache || cache[0] !== g) {
          const r = bwd(res, g);
          if (!Array.isArray(r) || r.length !== inputs.length) {
            throw new Error(
              `${fn}: bwd must return an array of ${inputs.length} cotangent(s), one per argument, got ${
                describe(r)
              }`,
            );
          }
          cache = [g, r];
        }
        return cache[1];
      };
      return inputs.map((_, i) => (g: Tensor) => cts(g)[i]);
    },
    batch: () => {
      throw new Error("internal error: set below");
    },
  };
  rule.batch = (vals, dims) => {
    loops++;
    const b = batchSize(vals, dims);
    const outs = [...Array(b).keys()].map((k) =>
      bindRule(rule, vals.map((v, i) => exampleOf(v, dims[i], k)), {})
    );
    return [stack(outs, 0), 0];
  };
  return (...args: Tensor[]) => {
    args.forEach((a, i) => {
      if (!isTensor(a)) {
        throw new Error(
          `${fn}: argument ${i} must be a Tensor, got ${describe(a)}`,
        );
      }
    });
    return bindRule(rule, args, {});
  };
}
