/**
 * Differentiation, HIPS autograd style (JAX's `ad.py`). A differentiating
 * tracer applies a primitive one level down, then
 *
 * - in reverse mode records a node holding the rule's VJP closures, which
 *   {@linkcode backpropagate} later runs from the outputs back to the inputs;
 * - in forward mode computes the output tangent with the rule's JVP, or, when
 *   a rule declares none, by transposing its VJP (the VJP is linear in the
 *   cotangent, so J·t is the VJP of `g => vjp(g)` applied to t).
 *
 * @module
 */
import { describe, sameShape, type Tensor, zerosLike } from "./tensor.ts";
import {
  bind,
  bindRule,
  concrete,
  newLevel,
  type Rule,
  Tracer,
  unwrapLevel,
  type Vjp,
} from "./trace.ts";
import { addAny, cast } from "./core_prims.ts";
import { currentOp, labelled } from "./debug.ts";

/** A node of the reverse-mode record: a primitive application, or a leaf. */
interface Node {
  readonly id: number;
  readonly parents: readonly Parent[];
}
/** A traced input of a node's primitive `name`, and the VJP to its cotangent. */
interface Parent extends Pick<Tensor, "shape" | "dtype"> {
  readonly node: Node;
  readonly name: string;
  /** What a NaN made by `vjp` is reported as: "backward of" the user-level op. */
  readonly label: string;
  readonly vjp: Vjp;
}

let nodeCounter = 0;
/** How many primitives being differentiated are on the stack. */
let tracedDepth = 0;

/**
 * True while a primitive's forward runs on inputs traced by `grad`, `vjp` or
 * `jvp`, so that its derivative rules may follow: a forward kernel may then
 * keep what they will ask for (max pooling keeps its argmax). @internal
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

/** A fresh leaf node (an input of a reverse-mode transform). @internal */
export function leafNode(): Node {
  return { id: nodeCounter++, parents: [] };
}

/**
 * A tracer of a differentiating level: `process` applies the primitive one
 * level down, then its derivative (a node, or the output's tangent).
 */
abstract class DiffTracer extends Tracer {
  concrete(): Tensor {
    return concrete(this.primal);
  }
  process<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor {
    const level = this.level;
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
      const parents = traced.flatMap((t, i): Parent[] => {
        const vjp = vjps[i];
        if (!t || !vjp) return [];
        const { node } = t as RevTracer, { shape, dtype } = t;
        return [{ node, name: rule.name, label, vjp, shape, dtype }];
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

/** J·t from the VJP closures: the VJP of the linear map g -> Σ vjp_i(g), applied to t. */
function transposeVjp(
  vjps: readonly (Vjp | null)[],
  tangents: (Tensor | null)[],
  out: Tensor,
): Tensor {
  const level = newLevel();
  const seedNode = leafNode();
  const g = new RevTracer(level, zerosLike(concrete(out)), seedNode);
  const roots = tangents.flatMap((t, i): [Tensor, Tensor][] =>
    t && vjps[i] ? [[vjps[i]!(g), t]] : []
  );
  const [grad] = backpropagate(level, roots, [seedNode]);
  return grad ?? zerosLike(concrete(out));
}

/** A derivative `g` of a value `like`, checked for its shape and cast to its dtype. */
function castLike(
  g: Tensor,
  like: Pick<Tensor, "shape" | "dtype">,
  name: string,
): Tensor {
  if (!sameShape(g.shape, like.shape)) {
    throw new Error(
      `internal error: the derivative rule of ${name} gave ${
        describe(g)
      } for a value of shape [${like.shape}]`,
    );
  }
  return cast(g, like.dtype);
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
  const nodes = new Set<Node>();
  for (const [out, ct] of roots) {
    if (!(out instanceof RevTracer) || out.level !== level) continue;
    accumulate(out.node, castLike(ct, out, "the output"));
    nodes.add(out.node);
  }
  // every node reachable from the roots (a Set's loop visits what it adds)
  for (const n of nodes) n.parents.forEach((p) => nodes.add(p.node));
  // Node ids grow in creation order, so decreasing id is a reverse topological order.
  for (const node of [...nodes].sort((a, b) => b.id - a.id)) {
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
