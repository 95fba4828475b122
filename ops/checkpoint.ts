/**
 * Gradient checkpointing (rematerialisation), as `jax.checkpoint` (alias
 * `jax.remat`) and `torch.utils.checkpoint`: a function whose derivative
 * recomputes its intermediate values instead of keeping them.
 *
 * @module
 */
import { describe, isTensor, type Key, type Tensor } from "./tensor.ts";
import { bindRule, type Empty, type Rule, Tracer } from "./trace.ts";
import {
  flattenAs,
  type LeafKind,
  leafKindOf,
  type Tree,
  type TreeDef,
  unflattenLeaves,
} from "./tree.ts";
import { checkFunction } from "./_args.ts";
import { vjp } from "./transforms.ts";
import { vmap } from "./vmap.ts";

/** The error for a result that `f` made from a traced value it closed over. */
function closureError(name: string): Error {
  return new Error(
    `checkpoint: the checkpointed function${
      name === "checkpoint" || name === "remat" ? "" : ` ${name}`
    } used a traced value that is not one of its arguments (a value closed over from outside: params inside a jitted or differentiated function, the mapped value of an enclosing vmap); its derivatives would be lost: pass every tensor it uses as an argument`,
  );
}

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
    forward: (inputs) => {
      // (a forward gets values, never tracers: a traced result comes from a
      // value `f` closed over, whose derivatives, batch axis or jit trace
      // would be lost here, silently)
      const out = call(...inputs);
      if (out instanceof Tracer) throw closureError(name);
      return out;
    },
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
 * same bits: the same operations run; derivatives of higher order may sum
 * the same terms in another order, so agree to rounding), but
 * differentiating it keeps only its arguments and recomputes its intermediate values in the backward
 * pass, trading a second forward pass of `f` for the memory of its
 * activations. Arguments are trees of tensors (a layer's params and its
 * input) and random keys (a dropout block's: each call draws from the key
 * it is given, and the backward pass draws the same numbers again); `f`
 * returns one tensor. Composes with `grad` of any order, `jvp`, `vmap` and
 * `jit`. `f` must take every traced value it uses as an argument: one it
 * closes over (params inside a jitted or differentiated function) is an
 * error, since its derivatives would be lost.
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
export function checkpoint<A extends Tree<Tensor | Key>[]>(
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
export function remat<A extends Tree<Tensor | Key>[]>(
  f: (...args: A) => Tensor,
  ...rest: never[]
): (...args: A) => Tensor {
  return checkpointAs("remat", f, rest);
}

function checkpointAs<A extends Tree<Tensor | Key>[]>(
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
    // (random keys are leaves too, as the int32 tensors of their words, so
    // a checkpointed block may draw from a key it is given: dropout)
    const flat = args.map((a, i) =>
      flattenAs<unknown>(
        `${fn}: argument ${i}`,
        a as Tree<unknown>,
        (x) => isTensor(x) || leafKindOf(x) !== null,
      )
    );
    const defs: TreeDef[] = flat.map(([, d]) => d);
    const sizes = flat.map(([ls]) => ls.length);
    const kinds: (LeafKind | null)[][] = flat.map(([ls]) => ls.map(leafKindOf));
    const sig = JSON.stringify([defs, kinds.map((ks) => ks.map((k) => !!k))]);
    let rule = rules.get(sig);
    if (!rule) {
      const call = (...leaves: Tensor[]) => {
        let at = 0;
        const rebuilt = defs.map((d, i) =>
          unflattenLeaves(d, leaves.slice(at, at += sizes[i]), kinds[i])
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
    const leaves = flat.flatMap(([ls], i) =>
      ls.map((l, j) => kinds[i][j]?.toTensor(l) ?? l as Tensor)
    );
    return bindRule(rule, leaves, {});
  };
}
