/**
 * User code inside transforms: `customVjp`, a function with its own VJP
 * rule, as `jax.custom_vjp`, and `pureCallback`, JavaScript run on tensor
 * values from inside any transform, as `jax.pure_callback`. Under `vmap`
 * both run once per example and stack the results (a documented loop: user
 * code may not batch); `vmapLoops()` counts those loops, so a test can show
 * a model never takes them.
 *
 * @module
 */
import {
  describe,
  type DType,
  fmtShape,
  isTensor,
  sameShape,
  type Tensor,
  zeros,
  zerosLike,
} from "./tensor.ts";
import { vjp } from "./transforms.ts";
import {
  type BatchRule,
  bindRule,
  concrete,
  type Empty,
  type Rule,
  Tracer,
} from "./trace.ts";
import { checkFunction } from "./_args.ts";
import { batchSize, slice, squeeze, stack } from "./structural.ts";
import { withoutNanChecks } from "./debug.ts";

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
 * The batching rule of user code: one call per example, stacked. With no
 * example, the result's shape and dtype are `declared`, or else those of
 * one call on zeros (as JAX finds them by tracing), its values dropped and
 * NaN checks off for it.
 */
function loopBatch<P>(
  rule: () => Rule<P>,
  declared?: (params: P) => ShapeDtype,
): BatchRule<P> {
  return (vals, dims, params) => {
    loops++;
    const b = batchSize(vals, dims);
    if (b === 0) {
      const zero = (v: Tensor, d: number | null) =>
        d === null
          ? v
          : zeros(v.shape.filter((_, j) => j !== d), { dtype: v.dtype });
      const { shape, dtype } = declared?.(params) ??
        withoutNanChecks(() =>
          bindRule(rule(), vals.map((v, i) => zero(v, dims[i])), params)
        );
      return [zeros([0, ...shape], { dtype }), 0];
    }
    const outs = [...Array(b).keys()].map((k) =>
      bindRule(rule(), vals.map((v, i) => exampleOf(v, dims[i], k)), params)
    );
    return [stack(outs, 0), 0];
  };
}

/** The function of tensors that applies a user rule, its arguments checked. */
function applier(fn: string, rule: Rule<Empty>) {
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

/**
 * Declares a function with its own VJP rule, as `jax.custom_vjp`: `fwd`
 * returns `[output, residuals]`, `bwd(residuals, g)` returns one cotangent per
 * argument. Arguments and the output are tensors. The forward-mode
 * derivative is the transpose of `bwd` (so `bwd` must be linear in `g`).
 * As JAX checks, `fwd`'s output must have the shape and dtype of `f`'s,
 * and each cotangent the shape of its argument (a float argument's is cast
 * to its dtype; an int32 argument's is unused); anything else is an error
 * naming the rule and the argument.
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
    forward: (inputs) => ownResult(fn, f(...inputs as A)),
    vjp: (inputs, out) => {
      const pair = fwd(...inputs as A);
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new Error(
          `${fn}: fwd must return [output, residuals], got ${describe(pair)}`,
        );
      }
      checkLike(fn, "the output fwd returns", pair[0], out, "f's output");
      const res = pair[1];
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
          inputs.forEach((x, i) => {
            // (an int32 argument has no cotangent: whatever bwd gives is
            // unused; a float one's is cast to its dtype, as JAX allows)
            if (x.dtype === "int32") return;
            checkLike(
              fn,
              `the cotangent ${i} bwd returns`,
              r[i],
              x,
              `argument ${i}`,
              true,
            );
          });
          cache = [g, r];
        }
        return cache[1];
      };
      return inputs.map((_, i) => (g: Tensor) => cts(g)[i]);
    },
    batch: loopBatch(() => rule),
  };
  return applier(fn, rule);
}

/**
 * Declares a function with its own JVP rule, as `jax.custom_jvp`:
 * `jvp(primals, tangents)` returns `[output, tangentOut]`, linear in the
 * tangents (an argument without a tangent gets zeros). Forward mode uses the
 * rule; reverse mode transposes it (the VJP of input i is the VJP of the
 * linear map `t_i -> tangentOut`), so `grad` uses it too, and derivatives of
 * higher order differentiate the rule itself. Arguments and the output are
 * tensors; the rule's output and tangent must have the shape and dtype of
 * `f`'s output (an error otherwise, as in JAX).
 *
 * @example
 * ```ts
 * import { customJvp, grad, log1p, exp, mul, sigmoid, sum, type Tensor, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // softplus whose derivative is the sigmoid even where exp overflows
 * const softplus = customJvp(
 *   (x: Tensor) => log1p(exp(x)),
 *   ([x], [t]) => [log1p(exp(x)), mul(t, sigmoid(x))],
 * );
 * const g = grad((x: Tensor) => sum(softplus(x)))(tensor([1000]));
 * assert.equal(g.data[0], 1);
 * ```
 */
export function customJvp<A extends [] | Tensor[]>(
  f: (...args: A) => Tensor,
  jvp: (primals: A, tangents: A) => readonly [Tensor, Tensor],
): (...args: A) => Tensor {
  const fn = "customJvp";
  checkFunction(fn, "f", f);
  checkFunction(fn, "jvp", jvp);
  // `out` is f's output at the primals: the rule's output and tangent must be like it
  const tangentOut = (primals: Tensor[], tangents: Tensor[], out: Tensor) => {
    const r = jvp(primals as A, tangents as A);
    if (!Array.isArray(r) || r.length !== 2) {
      throw new Error(
        `${fn}: jvp must return [output, tangent], got ${describe(r)}`,
      );
    }
    checkLike(fn, "the output jvp returns", r[0], out, "f's output");
    checkLike(fn, "the tangent jvp returns", r[1], out, "f's output");
    return r[1];
  };
  const rule: Rule<Empty> = {
    name: f.name || fn,
    forward: (inputs) => ownResult(fn, f(...inputs as A)),
    jvp: (inputs, tangents, out) =>
      tangentOut(
        inputs,
        tangents.map((t, i) => t ?? zerosLike(inputs[i])),
        out,
      ),
    vjp: (inputs, out) =>
      inputs.map((p, i) => (g: Tensor) => {
        const along = (t: Tensor) =>
          tangentOut(
            inputs,
            inputs.map((q, k) => (k === i ? t : zerosLike(q))),
            out,
          );
        return vjp(along, zerosLike(p))[1](g)[0];
      }),
    batch: loopBatch(() => rule),
  };
  return applier(fn, rule);
}

/** The shape and dtype of what a {@linkcode pureCallback} returns. */
export interface ShapeDtype {
  /** The result's shape. */
  readonly shape: readonly number[];
  /** The result's dtype. */
  readonly dtype: DType;
}

interface CallbackParams extends ShapeDtype {
  readonly callback: (...args: Tensor[]) => Tensor;
}

const callbackRule: Rule<CallbackParams> = {
  name: "pureCallback",
  forward: (inputs, { callback, shape, dtype }) => {
    const out = callback(...inputs);
    if (out instanceof Tracer) {
      throw new Error(
        "pureCallback: the callback returned a traced value (one it closed over from inside a transform: grad, jit, vmap), not a value computed from its arguments; pass every tensor it uses as an argument",
      );
    }
    if (!isTensor(out) || out.dtype !== dtype || !sameShape(out.shape, shape)) {
      throw new Error(
        `pureCallback: the callback returned ${
          describe(out)
        }, but declared ${dtype} ${fmtShape(shape)}`,
      );
    }
    return out;
  },
  vjp: (inputs) =>
    inputs.map(() => () => {
      throw new Error(
        "pureCallback: its callback is opaque JavaScript and has no derivative: pass its float arguments through stopGradient, or give the function a rule with customVjp",
      );
    }),
  batch: loopBatch(() => callbackRule, (params) => params),
};

/**
 * Calls JavaScript on the values of tensors from inside any transform, as
 * `jax.pure_callback`: `callback` gets the concrete argument tensors and
 * must return a tensor of the declared `result` shape and dtype, and be
 * pure (the same values for the same inputs). Under `jit` the call is a step
 * of the plan, so it runs again on every call with that call's values (this
 * is how optimizers compute a schedule's learning rate from their step
 * count inside a jitted training step); under `vmap` it runs once per
 * example; it has no derivative (an error if one is asked for through a
 * float argument; int32 arguments such as step counts never carry one).
 *
 * @example
 * ```ts
 * import { add, jit, pureCallback, tensor, type Tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // the learning rate of step n, computed in JavaScript at every call
 * const lrOf = (n: Tensor) =>
 *   pureCallback((c) => tensor(0.1 / (c.data[0] + 1)), { shape: [], dtype: "float32" }, n);
 * const step = jit((n: Tensor) => [lrOf(n), add(n, 1)]);
 * let n = tensor(0, { dtype: "int32" });
 * const lrs: number[] = [];
 * for (let i = 0; i < 3; i++) {
 *   const [lr, next] = step(n);
 *   lrs.push(toArray(lr) as number);
 *   n = next;
 * }
 * assert.deepEqual(lrs, [0.1, 0.05, 1 / 30].map(Math.fround));
 * assert.equal(step.traceCount(), 1);
 * ```
 */
export function pureCallback(
  callback: (...args: Tensor[]) => Tensor,
  result: ShapeDtype,
  ...args: Tensor[]
): Tensor {
  const fn = "pureCallback";
  checkFunction(fn, "callback", callback);
  if (
    typeof result !== "object" || result === null ||
    !Array.isArray(result.shape) ||
    !result.shape.every((d) => Number.isInteger(d) && d >= 0) ||
    !["float32", "float64", "int32"].includes(result.dtype)
  ) {
    throw new Error(
      `${fn}: result must be { shape, dtype } (a shape of integers >= 0 and a dtype), got ${
        describe(result)
      }`,
    );
  }
  args.forEach((a, i) => {
    if (!isTensor(a)) {
      throw new Error(
        `${fn}: argument ${i} must be a Tensor, got ${describe(a)}`,
      );
    }
  });
  return bindRule(callbackRule, args, {
    callback,
    shape: [...result.shape],
    dtype: result.dtype,
  });
}

/**
 * Checks that `what` (a value a user rule returned) is a tensor of the
 * shape and, unless `anyDtype`, the dtype of `like` (`likeName`, what it
 * stands for).
 */
function checkLike(
  fn: string,
  what: string,
  t: unknown,
  like: Tensor,
  likeName: string,
  anyDtype = false,
): void {
  if (
    !isTensor(t) || !sameShape(t.shape, like.shape) ||
    (!anyDtype && t.dtype !== like.dtype)
  ) {
    throw new Error(
      `${fn}: ${what} must be a Tensor of the shape ${
        anyDtype ? "" : "and dtype "
      }of ${likeName}, ${anyDtype ? "" : `${like.dtype} `}${
        fmtShape(like.shape)
      }, got ${describe(t)}`,
    );
  }
}

/**
 * The result of `f` run on its arguments' values: a traced result came from
 * a value `f` closed over (params inside a differentiated, mapped or jitted
 * function), whose derivatives the rule cannot give, so it is an error (as
 * JAX's "differentiation of a custom_vjp function with respect to a
 * closed-over value").
 */
function ownResult(fn: string, out: Tensor): Tensor {
  if (!isTensor(out)) {
    throw new Error(`${fn}: f must return a Tensor, got ${describe(out)}`);
  }
  if (out instanceof Tracer) {
    throw new Error(
      `${fn}: f used a traced value that is not one of its arguments (a value closed over from outside: params inside a jitted, differentiated or mapped function); its derivatives would be lost: pass every tensor it uses as an argument`,
    );
  }
  return concrete(out);
}
