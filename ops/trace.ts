/**
 * The tracing machinery behind `grad`, `vjp` and `jvp` (HIPS autograd style).
 *
 * A transform wraps its inputs in tracers of a fresh level. When a primitive
 * is applied, {@linkcode bindRule} finds the highest level among its
 * arguments, unwraps that level, applies the primitive one level down
 * (recursively, down to the concrete kernel), and wraps the result again:
 *
 * - reverse mode records a node holding the rule's VJP closures;
 * - forward mode computes the output tangent with the rule's JVP, or, when a
 *   rule declares none, by transposing its VJP (the VJP is linear in the
 *   cotangent, so J·t is the VJP of `g => vjp(g)` applied to t).
 *
 * Levels come from a counter that only grows, so a nested transform always
 * has a higher level than the ones around it: no perturbation confusion.
 *
 * @module
 */
import {
  allocData,
  checkNotDonated,
  describe,
  type DType,
  fmtShape,
  fromData,
  sameShape,
  type Tensor,
  zerosLike,
} from "./tensor.ts";
import * as ew from "./kernels/elementwise.ts";
import { checkNans, currentOp, labelled } from "./debug.ts";

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
  vjp(
    inputs: Tensor[],
    out: Tensor,
    params: P,
  ): readonly (((g: Tensor) => Tensor) | null)[];
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
   * each input that `forward` computes for float inputs of one dtype (the
   * result rounded to it). `jit` fuses chains of such steps into one loop.
   */
  scalar?: (...v: number[]) => number;
}

/** A batching rule: see {@linkcode Rule.batch}. */
export type BatchRule<P> = (
  inputs: Tensor[],
  dims: (number | null)[],
  params: P,
) => [Tensor, number | null];

/** The parameters of a primitive that has none. */
export type Empty = Record<never, never>;

/**
 * A registered primitive: its rule, applied with {@linkcode bind}. Families
 * of ops define theirs with {@linkcode definePrimitive}, next to the public
 * op that binds it; the core knows none of them.
 */
export interface Primitive<P> {
  readonly name: string;
  readonly rule: Rule<P>;
}

const registry = new Map<string, Primitive<unknown>>();

/**
 * Registers a primitive: its forward kernel call, its derivative rules and
 * its batching rule, declared side by side. The type makes the VJP and the
 * batching rule required, so a primitive without one does not compile.
 * Names are unique.
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

let bound: Set<string> | null = null;

/**
 * Runs `f` and returns its result with the names of the primitives bound
 * while it ran, derivative rules included (for tests and tools). @internal
 */
export function recordPrimitives<T>(f: () => T): [T, Set<string>] {
  const outer = bound;
  const names = new Set<string>();
  bound = names;
  try {
    return [f(), names];
  } finally {
    bound = outer;
    names.forEach((n) => outer?.add(n));
  }
}

/** Applies `prim` to `inputs` (tracing it if any input is traced). */
export function bind<P>(
  prim: Primitive<P>,
  inputs: Tensor[],
  params: P,
): Tensor {
  return bindRule(prim.rule, inputs, params);
}

/** A node of the reverse-mode record: one primitive application. */
interface Node {
  readonly id: number;
  readonly parents: readonly Parent[];
}
interface Parent {
  readonly node: Node;
  readonly name: string;
  /** What a NaN made by `vjp` is reported as: "backward of" the user-level op. */
  readonly label: string;
  readonly vjp: (g: Tensor) => Tensor;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

let levelCounter = 0;
let nodeCounter = 0;
/** How many primitives being differentiated are on the stack (see {@linkcode differentiating}). */
let tracedDepth = 0;

/**
 * True while a primitive's forward runs on behalf of a transform (its
 * inputs were traced): then its derivative rules may follow, and a forward
 * kernel may keep what they will ask for (max pooling keeps its argmax).
 * Outside any transform (plain inference) it is false. @internal
 */
export function differentiating(): boolean {
  return tracedDepth > 0;
}

/**
 * Runs `f` with {@linkcode differentiating} answering `on` (jit's replay:
 * what it answered when the step was recorded). @internal
 */
export function withDifferentiating<T>(on: boolean, f: () => T): T {
  const outer = tracedDepth;
  tracedDepth = on ? Math.max(outer, 1) : 0;
  try {
    return f();
  } finally {
    tracedDepth = outer;
  }
}

/** A fresh trace level, higher than every level made before. @internal */
export function newLevel(): number {
  return ++levelCounter;
}

/**
 * A traced value standing for a tensor inside a transform. Each kind of
 * transform has its own kind of tracer, and the tracer is the transform's
 * interpreter (JAX's `process_primitive`): {@linkcode bindRule} hands every
 * primitive applied to a tracer of the highest level to that tracer's
 * `process`. Differentiation is here; batching (`BatchTracer`) is in
 * vmap.ts and tracing for a plan (`JitTracer`) in jit.ts. @internal
 */
export abstract class Tracer implements Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
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

/** A tracer of a differentiating level (reverse or forward mode). */
abstract class DiffTracer extends Tracer {
  process<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor {
    return differentiate(rule, inputs, params, this.level);
  }
  concrete(): Tensor {
    return concrete(this.primal);
  }
}

/** A tracer of a reverse-mode level: remembers the node that made it. @internal */
export class RevTracer extends DiffTracer {
  constructor(level: number, primal: Tensor, readonly node: Node) {
    super(level, primal);
    Object.freeze(this);
  }
}

/** A tracer of a forward-mode level: carries its tangent. @internal */
export class FwdTracer extends DiffTracer {
  constructor(level: number, primal: Tensor, readonly tangent: Tensor) {
    super(level, primal);
    Object.freeze(this);
  }
}

/**
 * Strips the derivative tracing of every level: the plain value underneath
 * (no derivative flows through it). Batching and jit tracing stay: inside
 * `vmap` the result is still one value per example, inside `jit` still a
 * recorded value. @internal
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

/** A fresh leaf node (an input of a reverse-mode transform). @internal */
export function leafNode(): Node {
  return { id: nodeCounter++, parents: [] };
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
  bound?.add(rule.name);
  let level = 0;
  for (const x of inputs) {
    if (x instanceof Tracer && x.level > level) level = x.level;
  }
  if (level === 0) {
    const out = forwardOf(rule, inputs, params);
    checkNans(rule.name, inputs, out);
    return out;
  }
  const top = inputs.find((x) => x instanceof Tracer && x.level === level);
  return (top as Tracer).process(rule, inputs, params);
}

/**
 * A rule's forward kernel call; a result too large to allocate is an Error
 * naming the op (not V8's RangeError from deep in a kernel).
 */
function forwardOf<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor {
  inputs.forEach((x, i) =>
    checkNotDonated(currentOp(rule.name), `input ${i}`, x)
  );
  try {
    return rule.forward(inputs, params);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new Error(
      `${
        currentOp(rule.name)
      }: cannot allocate the result of ${rule.name} (inputs ${
        inputs.map((x) => fmtShape(x.shape)).join(", ")
      }): ${e.message}`,
    );
  }
}

/** Applies a rule at a differentiating level: the primal, and its derivative. */
function differentiate<P>(
  rule: Rule<P>,
  inputs: Tensor[],
  params: P,
  level: number,
): Tensor {
  const primals = inputs.map((x) => unwrapLevel(x, level));
  tracedDepth++;
  let out: Tensor;
  try {
    out = bindRule(rule, primals, params);
  } finally {
    tracedDepth--;
  }
  if (out.dtype === "int32") return out; // integer outputs carry no derivative
  const traced = inputs.map((x) =>
    x instanceof Tracer && x.level === level && x.dtype !== "int32" ? x : null
  );
  const first = traced.find((t) => t !== null);
  if (!first) return out;
  const op = currentOp(rule.name);
  if (first instanceof RevTracer) {
    const label = `backward of ${op}`;
    const vjps = labelled(label, () => rule.vjp(primals, out, params));
    const parents: Parent[] = [];
    traced.forEach((t, i) => {
      const vjp = vjps[i];
      if (t && vjp) {
        parents.push({
          node: (t as RevTracer).node,
          name: rule.name,
          label,
          vjp,
          shape: t.shape,
          dtype: t.dtype,
        });
      }
    });
    if (parents.length === 0) return out;
    return new RevTracer(level, out, { id: nodeCounter++, parents });
  }
  const tangents = traced.map((t) => t ? (t as FwdTracer).tangent : null);
  const tangent = labelled(
    `jvp of ${op}`,
    () =>
      rule.jvp === "linear"
        ? bindRule(rule, [tangents[0]!], params)
        : rule.jvp
        ? rule.jvp(primals, tangents, out, params)
        : transposeVjp(rule.vjp(primals, out, params), tangents, out),
  );
  return new FwdTracer(level, out, castLike(tangent, out, rule.name));
}

/** J·t from the VJP closures: the VJP of the linear map g -> Σ vjp_i(g), applied to t. */
function transposeVjp(
  vjps: readonly (((g: Tensor) => Tensor) | null)[],
  tangents: (Tensor | null)[],
  out: Tensor,
): Tensor {
  const used = tangents.flatMap((t, i) => (t && vjps[i] ? [i] : []));
  const level = newLevel();
  const seedNode = leafNode();
  const g = new RevTracer(level, zerosLike(concrete(out)), seedNode);
  const cts = used.map((i) => vjps[i]!(g));
  const roots: [Tensor, Tensor][] = cts.map((
    ct,
    k,
  ) => [ct, tangents[used[k]]!]);
  const grads = backpropagate(level, roots, [seedNode]);
  return grads[0] ?? zerosLike(concrete(out));
}

// ---------------------------------------------------------------------------
// The two primitives the core itself needs (as JAX's ad_util): cotangents
// that meet are summed with \`addAny\`, and a derivative is converted to its
// value's dtype with \`cast\` (the primitive of the public \`astype\`). Both
// are defined here so that the core imports no op family.

/**
 * Sum of two values of one shape and dtype (no broadcasting): how the
 * reverse pass accumulates cotangents. Linear: its VJP hands g to both.
 */
/** `u + v` (one function, so the kernel's compiled loop is reused). */
const plus = (u: number, v: number) => u + v;

const addAny: Primitive<Empty> = definePrimitive({
  name: "addAny",
  forward: ([a, b]) => {
    const n = a.data.length;
    const fast = ew.arithF32("add", a.data, b.data, n);
    if (fast) return fromData(fast, a.shape);
    const out = allocData(a.dtype, n);
    return fromData(
      ew.binary(
        a.data,
        a.shape,
        b.data,
        b.shape,
        out,
        a.shape,
        plus,
      ),
      a.shape,
    );
  },
  vjp: () => [(g) => g, (g) => g],
  batch: ([a, b], [da, db]) => {
    if (da === db) return [bind(addAny, [a, b], {}), da];
    const size = da === null ? b.shape[db!] : a.shape[da];
    return [
      bind(addAny, [batchFront(a, da, size), batchFront(b, db, size)], {}),
      0,
    ];
  },
  jvp: (_, [ta, tb]) => ta && tb ? bind(addAny, [ta, tb], {}) : (ta ?? tb)!,
});

/**
 * Conversion to another dtype: truncation toward zero into int32, where
 * NaN, ±Infinity and out-of-range values give INT_MIN, as x86's cvttsd2si
 * (and so PyTorch) does. Its derivative converts back.
 */
export const castPrim: Primitive<{ dtype: DType }> = definePrimitive({
  name: "cast",
  forward: ([x], { dtype }) => {
    const out = allocData(dtype, x.data.length);
    if (dtype === "int32") {
      const d = x.data;
      for (let i = 0; i < out.length; i++) {
        const v = d[i];
        out[i] = v > -2147483649 && v < 2147483648 ? v : -2147483648;
      }
    } else out.set(x.data);
    return fromData(out, x.shape);
  },
  vjp: ([x]) => [(g) => cast(g, x.dtype)],
  jvp: "linear",
  batch: ([x], [d], params) => [bind(castPrim, [x], params), d],
});

let batchFront: (x: Tensor, d: number | null, size: number) => Tensor = () => {
  throw new Error("internal error: vmap's axis mover is not installed");
};

/**
 * Gives the core the one structural op its own batching rule needs (addAny
 * of values batched along different axes): move axis `d` of `x` to the
 * front, or broadcast an unbatched `x` along a new front axis of `size`.
 * ops/structural.ts installs it when it loads; every batched value comes
 * from vmap, which imports it, so none exists before. @internal
 */
export function installBatchFront(
  f: (x: Tensor, d: number | null, size: number) => Tensor,
): void {
  batchFront = f;
}

/** `x` converted to `dtype` (itself when it has that dtype already). @internal */
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind(castPrim, [x], { dtype });
}

function castLike(
  g: Tensor,
  like: { shape: readonly number[]; dtype: DType },
  name: string,
): Tensor {
  if (!sameShape(g.shape, like.shape)) {
    throw new Error(
      `internal error: the derivative rule of ${name} gave ${
        describe(g)
      } for a value of shape [${like.shape}]`,
    );
  }
  return g.dtype === like.dtype
    ? g
    : bind(castPrim, [g], { dtype: like.dtype });
}

/**
 * Reverse pass: given output tracers of `level` and their cotangents, returns
 * the cotangent reaching each of `leaves` (null where none arrives).
 * @internal
 */
export function backpropagate(
  level: number,
  roots: readonly [Tensor, Tensor][],
  leaves: readonly Node[],
): (Tensor | null)[] {
  const cts = new Map<Node, Tensor>();
  const accumulate = (node: Node, g: Tensor) => {
    const prev = cts.get(node);
    cts.set(node, prev ? bind(addAny, [prev, g], {}) : g);
  };
  const nodes: Node[] = [];
  const seen = new Set<Node>();
  const stack: Node[] = [];
  for (const [out, ct] of roots) {
    if (!(out instanceof RevTracer) || out.level !== level) continue;
    accumulate(out.node, castLike(ct, out, "the output"));
    if (!seen.has(out.node)) {
      seen.add(out.node);
      stack.push(out.node);
    }
  }
  while (stack.length) {
    const n = stack.pop()!;
    nodes.push(n);
    for (const p of n.parents) {
      if (!seen.has(p.node)) {
        seen.add(p.node);
        stack.push(p.node);
      }
    }
  }
  // Node ids grow in creation order, so decreasing id is a reverse topological order.
  nodes.sort((a, b) => b.id - a.id);
  for (const node of nodes) {
    const g = cts.get(node);
    if (!g || node.parents.length === 0) continue;
    cts.delete(node);
    for (const p of node.parents) {
      accumulate(
        p.node,
        castLike(labelled(p.label, () => p.vjp(g)), p, p.name),
      );
    }
  }
  return leaves.map((l) => cts.get(l) ?? null);
}
