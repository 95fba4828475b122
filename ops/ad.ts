/**
 * Differentiation, HIPS autograd style (JAX's `ad.py`). A differentiating
 * tracer applies a primitive one level down, then in reverse mode records a
 * node holding the rule's VJP closures (nodes are numbered as they are made;
 * {@linkcode backpropagate} runs them from the outputs back to the inputs in
 * reverse creation order); in forward mode it computes the output tangent
 * with the rule's JVP, or, when a rule has none, by transposing its VJP
 * (linear in the cotangent: J·t is the VJP of `g => vjp(g)` applied to t).
 *
 * @module
 */
import { type Tensor, zerosLike } from "./tensor.ts";
import type { Node, Parent, Rule, Vjp } from "./grad_types.ts";
import { bindRule, concrete, newLevel, Tracer, unwrapLevel } from "./trace.ts";
import { addAny, assembleWindows, castPrim } from "./core_prims.ts";
import { currentOp, labelled, withDifferentiating } from "./debug.ts";
import { castLike } from "./_args.ts";

let nodeCounter = 0;

/**
 * The error of a rule with no reverse mode (a `whileLoop` whose condition
 * is traced): `linearize` then takes J·t from forward mode instead.
 * @internal
 */
export class NoReverseMode extends Error {}

/** A fresh leaf node (an input of a reverse-mode transform). @internal */
export function leafNode(): Node {
  return { id: nodeCounter++, parents: [] };
}

/** A tracer of a differentiating level (reverse or forward mode). */
abstract class DiffTracer extends Tracer {
  concrete(): Tensor {
    return concrete(this.primal);
  }
  process<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor {
    const level = this.level;
    const primals = inputs.map((x) => unwrapLevel(x, level));
    const forward = () => bindRule(rule, primals, params);
    const out = withDifferentiating(true, forward);
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
      const windows = rule.window?.(primals, params);
      const parents = traced.flatMap((t, i): Parent[] => {
        const vjp = vjps[i];
        if (!t || !vjp) return [];
        const { node } = t as RevTracer, { shape, dtype } = t;
        const window = windows?.[i] ?? null;
        return [{ node, name: rule.name, label, vjp, shape, dtype, window }];
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
    cts.set(node, prev ? bindRule(addAny.rule, [prev, g], {}) : g);
  };
  // cotangents that are windows of their value (slices' VJPs), summed when
  // the value is reached: one pass for disjoint windows, else each padded
  const windows = new Map<Node, { p: Parent; g: Tensor }[]>();
  const total = (node: Node): Tensor | undefined => {
    const ws = windows.get(node);
    if (ws) {
      windows.delete(node);
      if (ws.length > 1 && disjoint(ws)) {
        const { p } = ws[0];
        accumulate(
          node,
          labelled(p.label, () =>
            bindRule(
              assembleWindows.rule,
              ws.map(({ g }) =>
                bindRule(castPrim.rule, [g], { dtype: p.dtype })
              ),
              {
                shape: [...p.shape],
                starts: ws.map(({ p }) => [...p.window!]),
              },
            )),
        );
      } else {
        for (const { p, g } of ws) {
          accumulate(
            node,
            castLike(labelled(p.label, () => p.vjp(g)), p, p.name),
          );
        }
      }
    }
    return cts.get(node);
  };
  const nodes = new Set<Node>();
  for (const [out, ct] of roots) {
    if (!(out instanceof RevTracer) || out.level !== level) continue;
    accumulate(out.node, castLike(ct, out, "the output"));
    nodes.add(out.node);
  }
  // every node reachable from the roots (a Set's loop visits what it adds)
  for (const n of nodes) n.parents.forEach((p) => nodes.add(p.node));
  // ids grow in creation order: decreasing id is a reverse topological order
  for (const node of [...nodes].sort((a, b) => b.id - a.id)) {
    if (node.parents.length === 0) continue;
    const g = total(node);
    if (!g) continue;
    cts.delete(node);
    for (const p of node.parents) {
      if (p.window) {
        const ws = windows.get(p.node) ?? [];
        ws.push({ p, g });
        windows.set(p.node, ws);
        continue;
      }
      const ct = labelled(p.label, () => p.vjp(g));
      accumulate(p.node, castLike(ct, p, p.name));
    }
  }
  return leaves.map((l) => total(l) ?? null);
}

/** Whether the windows (starts, and the cotangents' shapes) overlap nowhere. */
function disjoint(ws: readonly { p: Parent; g: Tensor }[]): boolean {
  const apart = (a: (typeof ws)[number], b: (typeof ws)[number]) =>
    a.p.window!.some((s, k) => {
      const t = b.p.window![k];
      return s + a.g.shape[k] <= t || t + b.g.shape[k] <= s;
    });
  for (let i = 0; i < ws.length; i++) {
    for (let j = i + 1; j < ws.length; j++) {
      if (!apart(ws[i], ws[j])) return false;
    }
  }
  return true;
}
