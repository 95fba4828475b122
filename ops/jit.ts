/**
 * `jit`, as `jax.jit`: the first call with a new input signature runs `f`
 * once while recording every primitive it applies at the concrete level
 * (forward ops, the derivative rules of any `grad`/`vjp`/`jvp` inside, the
 * optimizer's arithmetic) into a plan; later calls with that signature
 * replay the plan's kernels directly: no tracing, no argument checks, no
 * tree walks inside `f`, and steps whose results are not needed are dropped.
 *
 * What it does not do yet: intermediate buffers are fresh arrays (no
 * resident buffer plan in WebAssembly memory), no kernel fusion, and
 * `donateArgnums` is accepted but reuses no buffer (a donated tensor stays
 * valid). Every optimizer and schedule jits whole training steps: the
 * scalars they compute in JavaScript from their step count (bias
 * corrections, learning rates) are `pureCallback` steps of the plan, run
 * again on every call.
 *
 * @module
 */
import { describe, fmtShape, type Tensor } from "./tensor.ts";
import { bindRule, newLevel, type Rule, Tracer, unwrapLevel } from "./trace.ts";
import { type Tree, type TreeDef, treeFlatten, treeUnflatten } from "./tree.ts";
import { checkFunction } from "./_args.ts";
import { checkOptions } from "./tensor.ts";

/** What a jit trace records: every primitive applied to a value of its level, as a step of the plan. */
interface JitRecorder {
  /** Records `rule` applied to `inputs` (tracers of this level or constants); returns the output's id. */
  record<P>(rule: Rule<P>, inputs: Tensor[], params: P, out: Tensor): number;
  /** What value `id` is, for errors: an argument's leaf, or the result of an op. */
  madeBy(id: number): string;
}

/**
 * A value of a `jit` trace: the concrete value computed while tracing, and
 * its id in the recorded plan. A primitive applied to it computes now and
 * is recorded. Its `data` is an error: a jitted function may not decide
 * what to do from tensor values (the plan replays the same ops for every
 * input of this signature).
 */
class JitTracer extends Tracer {
  constructor(
    level: number,
    primal: Tensor,
    readonly id: number,
    readonly recorder: JitRecorder,
  ) {
    super(level, primal);
    Object.freeze(this);
  }
  process<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor {
    const out = bindRule(
      rule,
      inputs.map((x) => unwrapLevel(x, this.level)),
      params,
    );
    const id = this.recorder.record(rule, inputs, params, out);
    return new JitTracer(this.level, out, id, this.recorder);
  }
  /** A recorded value: its primal is concrete already. */
  concrete(): Tensor {
    return this;
  }
  override get data(): Tensor["data"] {
    throw new Error(
      `jit: the jitted function reads the data of a traced value (${
        this.recorder.madeBy(this.id)
      }, shape ${
        fmtShape(this.shape)
      }); a jitted function runs the same ops for every input of one signature, so it cannot branch on or compute with tensor values in JavaScript: compute with ops, or pass the value as a static argument (staticArgnums)`,
    );
  }
}

/** Options of {@linkcode jit}. */
export interface JitOptions {
  /** Positions of arguments that are not tensors to trace but settings: part of the signature, passed to `f` as they are. */
  staticArgnums?: number | readonly number[];
  /** Positions of arguments whose buffers the plan may take over (accepted; no buffer is reused yet, so a donated tensor stays valid). */
  donateArgnums?: number | readonly number[];
}

/** A jitted function: `f`'s signature, and how many times it has traced. */
export type Jitted<A extends unknown[], R> = ((...args: A) => R) & {
  /** How many plans were traced so far (one per new input signature). */
  traceCount(): number;
};

/** Where a step's input comes from: a jit argument's leaf, an earlier step, or a constant. */
export type Ref = number | Tensor;

/** One recorded primitive application. @internal */
export interface Step {
  rule: Rule<unknown>;
  inputs: Ref[];
  params: unknown;
  /** The shape and dtype of its result when traced. */
  shape: readonly number[];
  dtype: Tensor["dtype"];
}

/** A recorded plan: values 0..nIn-1 are the arguments' leaves, then one per step. @internal */
export interface Plan {
  nIn: number;
  steps: (Step | null)[]; // null: not needed for the outputs
  outDef: TreeDef;
  outs: Ref[];
}

function positions(fn: string, name: string, v: unknown, n: number): number[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new Error(
        `${fn}: ${name} ${
          JSON.stringify(v)
        } is out of range for ${n} argument(s)`,
      );
    }
  }
  return list;
}

/**
 * Compiles `f` by tracing, as `jax.jit`: returns a function with `f`'s
 * signature and results (the same bits). It traces `f` once per input
 * signature (the arguments' tree structure, shapes and dtypes, and the
 * values of static arguments) and replays the recorded kernels afterwards;
 * `traceCount()` says how often it traced. A jitted function that reads a
 * tensor's data to decide what to do is an error naming the op that made the
 * value. Inside another transform (`grad(jit(f))`, `vmap(jit(f))`) it runs
 * `f` directly.
 *
 * @example
 * ```ts
 * import { grad, jit, mul, sub, sum, type Tensor, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const loss = (w: Tensor, x: Tensor) => sum(mul(sub(mul(w, x), 1), sub(mul(w, x), 1)));
 * const step = jit((w: Tensor, x: Tensor) => sub(w, mul(grad(loss)(w, x), 0.1)));
 * let w = tensor([0, 0]);
 * for (let i = 0; i < 20; i++) w = step(w, tensor([1, 2]));
 * assert.equal(step.traceCount(), 1); // traced once, replayed 19 times
 * assert.ok(Math.abs(w.data[1] - 0.5) < 1e-3); // w x = 1 at w = [1, 0.5]
 * ```
 */
export function jit<A extends unknown[], R extends Tree>(
  f: (...args: A) => R,
  options?: JitOptions,
): Jitted<A, R> {
  const fn = "jit";
  checkFunction(fn, "f", f);
  const o = checkOptions(fn, options, ["staticArgnums", "donateArgnums"]);
  const plans = new Map<string, Plan>();
  let traces = 0;
  const jitted = (...args: A): R => {
    const statics = positions(
      fn,
      "staticArgnums",
      o.staticArgnums,
      args.length,
    );
    positions(fn, "donateArgnums", o.donateArgnums, args.length);
    const dynamic = args.map((_, i) => i).filter((i) => !statics.includes(i));
    const flat = dynamic.map((i) => {
      try {
        return treeFlatten(args[i] as Tree);
      } catch (e) {
        throw new Error(
          `${fn}: argument ${i} is not a tree of tensors (make it static with staticArgnums): ${
            (e as Error).message
          }`,
        );
      }
    });
    const leaves = flat.flatMap(([l]) => l);
    if (leaves.some((l) => l instanceof Tracer)) return f(...args); // inside a transform
    const key = signature(fn, args, statics, flat);
    const plan = plans.get(key);
    if (plan) return replay(plan, leaves) as R;
    traces++;
    const [out, recorded] = trace(f, args, dynamic, flat);
    plans.set(key, recorded);
    return out;
  };
  return Object.assign(jitted, { traceCount: () => traces });
}

/** The cache key of a call: each dynamic argument's structure, shapes and dtypes; each static one's value. */
function signature(
  fn: string,
  args: readonly unknown[],
  statics: readonly number[],
  flat: [Tensor[], TreeDef][],
): string {
  const parts = flat.map(([leaves, def]) =>
    JSON.stringify([def, leaves.map((l) => [l.dtype, l.shape])])
  );
  for (const i of statics) {
    let s: string | undefined;
    try {
      s = JSON.stringify(args[i]);
    } catch { /* not JSON: below */ }
    if (s === undefined) {
      throw new Error(
        `${fn}: static argument ${i} must be a JSON value (it is part of the cache key), got ${
          describe(args[i])
        }`,
      );
    }
    parts.push(`static ${i}: ${s}`);
  }
  return parts.join("|");
}

/**
 * Runs `f` once with the leaves of its `dynamic` arguments wrapped as jit
 * tracers; returns the results and the recorded plan (also what ONNX
 * export walks). @internal
 */
export function trace<A extends unknown[], R extends Tree>(
  f: (...args: A) => R,
  args: readonly unknown[],
  dynamic: readonly number[],
  flat: [Tensor[], TreeDef][],
): [R, Plan] {
  const level = newLevel();
  const steps: Step[] = [], madeBy: string[] = [];
  const nIn = flat.reduce((s, [l]) => s + l.length, 0);
  const ref = (x: Tensor): Ref =>
    x instanceof JitTracer && x.level === level ? x.id : x;
  const recorder = {
    record<P>(rule: Rule<P>, inputs: Tensor[], params: P, out: Tensor): number {
      steps.push({
        rule: rule as Rule<unknown>,
        inputs: inputs.map(ref),
        params,
        shape: out.shape,
        dtype: out.dtype,
      });
      madeBy.push(rule.name);
      return nIn + steps.length - 1;
    },
    madeBy: (id: number) =>
      id < nIn
        ? `the jitted function's argument leaf ${id}`
        : `the result of the op ${madeBy[id - nIn]}`,
  };
  let id = 0;
  const wrapped = args.slice();
  dynamic.forEach((i, k) => {
    const [leaves, def] = flat[k];
    wrapped[i] = treeUnflatten(
      def,
      leaves.map((l) => new JitTracer(level, l, id++, recorder)),
    );
  });
  const out = f(...wrapped as A);
  const [outLeaves, outDef] = treeFlatten(out);
  const outs = outLeaves.map(ref);
  // liveness: only the steps the outputs need are replayed
  const needed = new Set<number>(outs.filter((r) => typeof r === "number"));
  for (let s = steps.length - 1; s >= 0; s--) {
    if (!needed.has(nIn + s)) continue;
    for (const r of steps[s].inputs) if (typeof r === "number") needed.add(r);
  }
  const plan: Plan = {
    nIn,
    steps: steps.map((st, s) => (needed.has(nIn + s) ? st : null)),
    outDef,
    outs,
  };
  const results = outLeaves.map((l) =>
    l instanceof JitTracer && l.level === level ? l.primal : l
  );
  return [treeUnflatten(outDef, results) as R, plan];
}

/** Runs a plan's kernels on new leaves. */
function replay(plan: Plan, leaves: readonly Tensor[]): Tree {
  const env: Tensor[] = leaves.slice();
  const val = (r: Ref) => (typeof r === "number" ? env[r] : r);
  for (const st of plan.steps) {
    // a dropped step leaves a hole that nothing reads
    env.push(
      st ? st.rule.forward(st.inputs.map(val), st.params) : (null as never),
    );
  }
  return treeUnflatten(plan.outDef, plan.outs.map(val));
}
