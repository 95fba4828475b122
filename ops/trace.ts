/**
 * The core of every transform, as JAX's `core.py`: the primitive registry,
 * {@linkcode bind} and the {@linkcode Tracer} base. It knows no op.
 *
 * A transform wraps its inputs in tracers of a fresh level;
 * {@linkcode bindRule} hands a primitive to the tracer of the highest level
 * among its inputs, which applies it one level down (recursively, down to
 * the concrete kernel) and wraps the result. Levels only grow, so a nested
 * transform always has a higher level than the ones around it: no
 * perturbation confusion. Tracers live with their transforms: ad.ts
 * (derivatives), vmap.ts, jit.ts.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { noteBound, runForward } from "./debug.ts";

/**
 * A primitive's rule: its forward kernel call and its derivatives.
 * `P` is the type of the primitive's static parameters.
 */
export interface Rule<P> {
  /** Name used in error messages. */
  readonly name: string;
  /** Computes the output from concrete (untraced) inputs. */
  forward(inputs: Tensor[], params: P): Tensor;
  /**
   * One VJP closure per input: `vjp(inputs, out, params)[i](g)` is the
   * cotangent of input i given the output's cotangent g. Written with public
   * ops, so it can be differentiated again. Inputs that have no derivative
   * (int32, or masks) may map to `null`.
   */
  vjp(inputs: Tensor[], out: Tensor, params: P): readonly (Vjp | null)[];
  /**
   * Optional forward-mode rule: the output tangent given the input tangents
   * (null where an input has none). `"linear"` says the primitive is linear
   * in its single input, so its JVP is the primitive applied to the tangent.
   * When absent, JVP is the transpose of VJP.
   */
  jvp?:
    | ((
      inputs: Tensor[],
      tangents: (Tensor | null)[],
      out: Tensor,
      params: P,
    ) => Tensor)
    | "linear";
  /**
   * The batching rule (for `vmap`): given the inputs with a batch axis
   * (`dims[i]`, or null where input i is the same for every example),
   * returns the batched output and where its batch axis is (null when it
   * does not depend on the batch). Written with public ops and `bind`, so it
   * nests with every other transform.
   */
  batch: BatchRule<P>;
  /**
   * Optional, for elementwise primitives: the function of one element of
   * each input that `forward` computes (the result rounded to its float
   * dtype). `jit` fuses chains of such steps into one loop.
   */
  scalar?: (...v: number[]) => number;
  /**
   * Optional epilogues `jit` fuses into this primitive's kernel:
   * `epilogue[c](inputs, params, rest)` is primitive `c` applied to this
   * one's output (c's first input) and `rest` (c's other inputs), computed
   * in one kernel with the same bits (conv2d then relu).
   */
  epilogue?: Readonly<Record<string, Epilogue<P>>>;
}

/** A fused epilogue: see {@linkcode Rule.epilogue}. */
export type Epilogue<P> = (
  inputs: Tensor[],
  params: P,
  rest: Tensor[],
) => Tensor;

/** A VJP closure: an output cotangent to one input's cotangent. */
export type Vjp = (g: Tensor) => Tensor;

/** A batching rule: see {@linkcode Rule.batch}. */
export type BatchRule<P> = (
  inputs: Tensor[],
  dims: (number | null)[],
  params: P,
) => [Tensor, number | null];

/** The parameters of a primitive that has none. */
export type Empty = Record<never, never>;

/**
 * A registered primitive: its rule, applied with {@linkcode bind}. Each op
 * family defines its own next to the op that binds it.
 */
export interface Primitive<P> {
  readonly name: string;
  readonly rule: Rule<P>;
}

const registry = new Map<string, Primitive<unknown>>();

/**
 * Registers a primitive (a unique name): its forward, derivative and
 * batching rules side by side; one without a VJP or batching rule does not
 * compile.
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

/**
 * Applies a primitive to (possibly traced) inputs: the single entry point
 * through which every op runs.
 */
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
 * A traced value standing for a tensor inside a transform. Each transform
 * has its own kind of tracer, whose `process` is the transform's interpreter
 * (JAX's `process_primitive`). @internal
 */
export abstract class Tracer implements Tensor {
  readonly shape: readonly number[];
  readonly dtype: Tensor["dtype"];
  constructor(
    readonly level: number,
    readonly primal: Tensor,
    shape: readonly number[] = primal.shape,
  ) {
    this.shape = shape;
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
 * Strips the derivative tracing of every level (no derivative flows through
 * the result); batching and jit tracing stay: inside `vmap` it is still one
 * value per example, inside `jit` still a recorded value. @internal
 */
export function concrete(x: Tensor): Tensor {
  return x instanceof Tracer ? x.concrete() : x;
}

/**
 * The numbers underneath every tracer, batches included (all examples):
 * for checks that look at values, such as label ranges. @internal
 */
export function peekData(x: Tensor): Tensor["data"] {
  while (x instanceof Tracer) x = x.primal;
  return x.data;
}

/** Strips the tracing of one level (if `x` is traced at that level). @internal */
export function unwrapLevel(x: Tensor, level: number): Tensor {
  return x instanceof Tracer && x.level === level ? x.primal : x;
}
