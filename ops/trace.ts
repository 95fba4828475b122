/**
 * The core of every transform (JAX's `core.py`): the primitive registry,
 * {@linkcode bind} and the {@linkcode Tracer} base; it knows no op. A level
 * is one application of a transform, which wraps its inputs in tracers of a
 * fresh level; {@linkcode bindRule} hands a primitive to the tracer of the
 * highest level among its inputs, which applies it one level down (down to
 * the kernel) and wraps the result. Levels only grow, so a nested transform
 * is above those around it: no perturbation confusion.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import type { Primitive, Rule } from "./grad_types.ts";
import { noteBound, runForward } from "./debug.ts";

export type { BatchRule, Empty, Primitive, Rule, Vjp } from "./grad_types.ts";

const registry = new Map<string, Primitive<unknown>>();

/**
 * Registers a primitive under a unique name, its rules side by side; one
 * without a VJP or batching rule does not compile.
 */
export function definePrimitive<P>(rule: Rule<P>): Primitive<P> {
  if (registry.has(rule.name)) {
    throw new Error(`definePrimitive: "${rule.name}" is already registered`);
  }
  const prim: Primitive<P> = { name: rule.name, rule };
  registry.set(rule.name, prim as Primitive<unknown>);
  return prim;
}

/** Every registered primitive, in registration order (for tests and tools). @internal */
export function primitives(): Primitive<unknown>[] {
  return [...registry.values()];
}

/** Applies `prim` to `inputs` (tracing it if any input is traced). */
export function bind<P>(
  prim: Primitive<P>,
  inputs: Tensor[],
  params: P,
): Tensor {
  return bindRule(prim.rule, inputs, params);
}

/** Applies a rule to (possibly traced) inputs: every op runs through here. */
export function bindRule<P>(
  rule: Rule<P>,
  inputs: Tensor[],
  params: P,
): Tensor {
  noteBound(rule.name);
  let top: Tracer | null = null;
  for (const x of inputs) {
    if (x instanceof Tracer && x.level > (top?.level ?? 0)) top = x;
  }
  if (top) return top.process(rule, inputs, params);
  return runForward(rule.name, inputs, () => rule.forward(inputs, params));
}

let levelCounter = 0;

/** A fresh trace level, higher than every level made before. @internal */
export function newLevel(): number {
  return ++levelCounter;
}

/**
 * A traced value standing for a tensor inside a transform; its `process` is
 * the transform's interpreter (JAX's `process_primitive`). @internal
 */
export abstract class Tracer implements Tensor {
  readonly dtype: Tensor["dtype"];
  constructor(
    readonly level: number,
    readonly primal: Tensor,
    readonly shape: readonly number[] = primal.shape,
  ) {
    this.dtype = primal.dtype;
  }
  /** The concrete data of the value being traced (the API is eager). */
  get data(): Tensor["data"] {
    return concrete(this).data;
  }
  /** Applies `rule` to `inputs`, of which this tracer has the highest level. */
  abstract process<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor;
  /** This value without derivative tracing (see {@linkcode concrete}). */
  abstract concrete(): Tensor;
}

/**
 * Strips the derivative tracing of every level; batching and jit tracing
 * stay (still one value per example, or a recorded value). @internal
 */
export function concrete(x: Tensor): Tensor {
  return x instanceof Tracer ? x.concrete() : x;
}

/** Strips the tracing of one level (if `x` is traced at that level). @internal */
export function unwrapLevel(x: Tensor, level: number): Tensor {
  return x instanceof Tracer && x.level === level ? x.primal : x;
}
