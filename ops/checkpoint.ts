/**
 * Gradient checkpointing (rematerialisation), as `jax.checkpoint` (alias
 * `jax.remat`) and `torch.utils.checkpoint`: a function whose derivative
 * recomputes its intermediate values instead of keeping them.
 *
 * @module
 */
import { describe, isTensor, type Tensor } from "./tensor.ts";
import { bindRule, concrete, type Empty, type Rule } from "./trace.ts";
import { flattenAs, type Tree, type TreeDef, treeUnflatten } from "./tree.ts";
import { checkFunction } from "./_args.ts";
import { vjp } from "./transforms.ts";
import { vmap } from "./vmap.ts";

/**
 * The rule of `call` (a function of the flat leaves): its forward runs
 * `call` on values, so no intermediate is recorded for the backward pass;
 * its VJP runs `vjp(call)` at the inputs again, which recomputes them; its
 * batching rule is the rule of `vmap(call)`, so `vmap` of a checkpointed
 * function stays batched and checkpointed.
 */
function ruleOf(
  name: string,
  call: (...leaves: Tensor[]) => Tensor,
): Rule<Empty> {
  const rule: Rule<Empty> = {
    name,
    forward: (inputs) => concrete(call(...inputs)),
    vjp: (inputs) => {
      let cache: [Tensor, Tensor[]] | null = null;
      const cts = (g: Tensor) => {
        if (!cache || cache[0] !== g) {
          const [, pullback] = vjp(call, ...inputs);
          cache = [g, pullback(g)];
        }
        return cache[1];
      };
      return inputs.map((_, i) => (g: Tensor) => cts(g)[i]);
    },
    batch: (vals, dims) => [
      bindRule(
        ruleOf(name, (...ls) => vmap(call, { inAxes: dims })(...ls) as Tensor),
        vals,
        {},
      ),
      0,
    ],
  };
  return rule;
}

/**
 * `f` with gradient checkpointing, as `jax.checkpoint` and
 * `torch.utils.checkpoint.checkpoint`: the same values and derivatives (the
 * same bits: the same operations run), but differentiating it keeps only
 * its arguments and recomputes its intermediate values in the backward
 * pass, trading a second forward pass of `f` for the memory of its
 * activations. Arguments are trees of tensors (a layer's params and its
 * input); `f` returns one tensor. Composes with `grad` of any order, `jvp`,
 * `vmap` and `jit`.
 *
 * @example
 * ```ts
 * import { checkpoint, grad, sin, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const block = (x: Tensor) => sin(sin(x));
 * const loss = (x: Tensor) => sum(checkpoint(block)(x));
 * const x = tensor([0.5, 1]);
 * assert.deepEqual(toArray(grad(loss)(x)), toArray(grad((v: Tensor) => sum(block(v)))(x)));
 * ```
 */
export function checkpoint<A extends Tree[]>(
  f: (...args: A) => Tensor,
  ...rest: never[]
): (...args: A) => Tensor {
  return checkpointAs("checkpoint", f, rest);
}

/**
 * JAX's other name for {@linkcode checkpoint}.
 *
 * @example
 * ```ts
 * import { remat, sin, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(remat(sin)(tensor([0])).data, sin(tensor([0])).data);
 * ```
 */
export function remat<A extends Tree[]>(
  f: (...args: A) => Tensor,
  ...rest: never[]
): (...args: A) => Tensor {
  return checkpointAs("remat", f, rest);
}

function checkpointAs<A extends Tree[]>(
  fn: string,
  f: (...args: A) => Tensor,
  rest: readonly unknown[],
): (...args: A) => Tensor {
  checkFunction(fn, "f", f);
  // (it takes no options: JAX's policy and static_argnums have no
  // counterpart here, and an option silently dropped would mislead)
  if (rest.length > 0) {
    throw new Error(
      `${fn}: takes only the function (no options), got ${rest.length} more argument(s): ${
        rest.map((r) => describe(r)).join(", ")
      }`,
    );
  }
  // one rule per structure of the arguments
  const rules = new Map<string, Rule<Empty>>();
  return (...args: A) => {
    const flat = args.map((a, i) => flattenAs(`${fn}: argument ${i}`, a));
    const defs: TreeDef[] = flat.map(([, d]) => d);
    const sizes = flat.map(([ls]) => ls.length);
    const sig = JSON.stringify(defs);
    let rule = rules.get(sig);
    if (!rule) {
      const call = (...leaves: Tensor[]) => {
        let at = 0;
        const rebuilt = defs.map((d, i) =>
          treeUnflatten(d, leaves.slice(at, at += sizes[i]))
        ) as A;
        const out = f(...rebuilt);
        if (!isTensor(out)) {
          throw new Error(
            `${fn}: f must return a Tensor, got ${describe(out)}`,
          );
        }
        return out;
      };
      rule = ruleOf(f.name || fn, call);
      rules.set(sig, rule);
    }
    return bindRule(rule, flat.flatMap(([ls]) => ls), {});
  };
}
