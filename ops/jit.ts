/**
 * `jit`, as `jax.jit`: the first call with a new input signature runs `f`
 * once while recording every primitive it applies at the concrete level
 * (forward ops, the derivative rules of any `grad`/`vjp`/`jvp` inside, the
 * optimizer's arithmetic) into a plan; later calls with that signature
 * replay the plan's kernels directly: no tracing, no argument checks, no
 * tree walks inside `f`, and steps whose results are not needed are dropped.
 *
 * A replay keeps its values in WebAssembly memory: the float32 arguments
 * and constants that kernels read are copied in once, the float32 results
 * of the WebAssembly kernels stay where the kernels wrote them, and the
 * TypeScript kernels allocate their float32 and int32 results there too
 * (`allocData`'s arena), each kept while a later step reads it (a kernel
 * reads it in place; see `WasmRuntime.beginPlan`); only the outputs are
 * copied out, so the intermediates cost no fresh arrays and no copies.
 * Max pooling's argmax stays in memory with its input. Connected elementwise
 * steps run as one generated loop (`fusion.ts`; the same bits). Code that
 * is not the library's (a `pureCallback`, a `customVjp` function) gets
 * copies and runs outside the plan. `donateArgnums` gives the plan the
 * arguments' memory for its outputs. A step whose producer declares an
 * epilogue for it runs inside the producer's kernel (relu in conv2d's
 * stores and on linear's result in place, relu's mask in max pooling's
 * gradient: `Rule.epilogue`).
 * Every optimizer and schedule jits whole training steps: the
 * scalars they compute in JavaScript from their step count (bias
 * corrections, learning rates) are `pureCallback` steps of the plan, run
 * again on every call.
 *
 * @module
 */
import {
  allocData,
  checkNotDonated,
  describe,
  fmtShape,
  fromData,
  isTensor,
  type Key,
  sameShape,
  type Tensor,
  type TypedArray,
  withArena,
} from "./tensor.ts";
import {
  bindRule,
  newLevel,
  primitives,
  type Rule,
  Tracer,
  unwrapLevel,
} from "./trace.ts";
import {
  allocationError,
  checkNans,
  currentOp,
  debugNansOn,
  differentiating,
  labelled,
  swapDifferentiating,
} from "./debug.ts";
import type { Epilogue } from "./grad_types.ts";
import { runtime } from "./kernels/wasm/runtime.ts";
import { type Fused, type Ref, schedule, type Task } from "./fusion.ts";
import {
  flattenLeaves,
  isPlainObject,
  type LeafKind,
  type Leaves,
  type Tree,
  type TreeDef,
  unflattenLeaves,
} from "./tree.ts";
import { checkFunction } from "./_args.ts";
import { checkOptions } from "./tensor.ts";

/** What a jit trace records: every primitive applied to a value of its level, as a step of the plan. */
interface JitRecorder {
  /** Records `rule` applied to `inputs` (tracers of this level or constants); returns the output's id. */
  record<P>(rule: Rule<P>, inputs: Tensor[], params: P, out: Tensor): number;
  /** What value `id` is, for errors: an argument's leaf, or the result of an op. */
  madeBy(id: number): string;
  /** True once the traced function has returned: its values may no longer be used. */
  closed: boolean;
}

/** The error for a traced value used after its trace ended (as JAX's UnexpectedTracerError). */
function leakedError(t: JitTracer): Error {
  return new Error(
    `jit: a value traced inside a jitted function (${
      t.recorder.madeBy(t.id)
    }, shape ${
      fmtShape(t.shape)
    }) was used after that function returned: it leaked out through a variable or a closure; return it from the jitted function instead`,
  );
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
    if (this.recorder.closed) throw leakedError(this);
    const out = bindRule(
      rule,
      inputs.map((x) => unwrapLevel(x, this.level)),
      params,
    );
    // (a rule's forward gets this trace's values, never its tracers: one of
    // them in the result came from a function the op runs, a customVjp's f,
    // that closed over a value of this trace; recorded, it would be the
    // first call's on every replay)
    if (out instanceof Tracer && out.level === this.level) {
      throw new Error(
        `jit: the op ${rule.name} returned a value traced by the jitted function that it did not get as an input: a function it runs (a customVjp's f or fwd) closed over a traced value (params inside the jitted function); pass every tensor it uses as an argument`,
      );
    }
    const id = this.recorder.record(rule, inputs, params, out);
    return new JitTracer(this.level, out, id, this.recorder);
  }
  /** A recorded value: its primal is concrete already. */
  concrete(): Tensor {
    return this;
  }
  override get data(): Tensor["data"] {
    if (this.recorder.closed) throw leakedError(this);
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
  /**
   * Positions of arguments that are not tensors to trace but settings: part
   * of the signature, passed to `f` as they are (negative positions count
   * from the end, in both options). Plans are keyed by a static value's
   * contents (numbers by `Object.is`, so NaN and -0 are values of their own;
   * arrays, plain objects, Maps, Sets, typed arrays), functions and class
   * instances by identity, as JAX hashes them.
   */
  staticArgnums?: number | readonly number[];
  /**
   * Positions of arguments whose memory the call may take over, as JAX's
   * `donate_argnums`: an output (copied out of WebAssembly memory, or made
   * by a fused loop, which may update a donated array in place) is written
   * into a donated array of its dtype and length instead of a fresh one.
   * After the call every donated tensor (and any tensor that shares its
   * data, such as a `reshape` of it) is invalid: using it is an error that
   * says it was donated; only a donated tensor that is itself returned, or
   * that is a constant of a jitted function's plan (a tensor one captured,
   * or returned without computing it from its arguments: each replay
   * returns that very tensor), stays valid.
   * Donate what the call replaces (the params and optimizer state of a
   * training step), never a tensor you read again.
   */
  donateArgnums?: number | readonly number[];
}

/** A jitted function: `f`'s signature, and how many times it has traced. */
export type Jitted<A extends unknown[], R> = ((...args: A) => R) & {
  /** How many plans were traced so far (one per new input signature). */
  traceCount(): number;
};

export type { Ref };

/** One recorded primitive application. @internal */
export interface Step {
  rule: Rule<unknown>;
  inputs: Ref[];
  params: unknown;
  /** The shape and dtype of its result when traced. */
  shape: readonly number[];
  dtype: Tensor["dtype"];
  /** What `differentiating()` answered when it was recorded (max pooling then keeps its argmax for the backward step). */
  differentiating: boolean;
  /** The op its errors name (the public op the user called, as `currentOp` said when it was recorded). */
  op: string;
}

/** A recorded plan: values 0..nIn-1 are the arguments' leaves, then one per step. @internal */
export interface Plan {
  nIn: number;
  steps: (Step | null)[]; // null: not needed for the outputs
  outDef: TreeDef;
  outs: Ref[];
  /** By output leaf: the kind of value it is returned as (null: a tensor). */
  outKinds: (LeafKind | null)[];
}

/** A plan ready to replay: its steps in the order they run, elementwise groups fused. */
interface Compiled extends Plan {
  tasks: Task[];
  /** By value: the position in `tasks` of its last reader (Infinity: an output). */
  lastUse: number[];
  /** By position in `tasks`: the values read there for the last time. */
  frees: number[][];
  /** By step: whether it runs code that is not the library's (customVjp, pureCallback). */
  opaque: boolean[];
  /** The float32 constants that the library's kernels read (copied into memory once per replay). */
  placed: Tensor[];
}

/** The rules of the registered primitives (the library's own code). */
const ownRules = (): Set<Rule<unknown>> =>
  new Set(primitives().map((p) => p.rule));

/**
 * Fuses epilogues: a step whose first input is the result of a step whose
 * rule declares an epilogue for it (`Rule.epilogue`: relu after conv2d), or
 * whose own rule declares a prologue for that step's (`Rule.prologue`:
 * matmul of a transpose), when nothing else reads that result, becomes one
 * step running the fused kernel on the producer's inputs and the
 * consumer's others; the producer is dropped. @internal
 */
export function fuseEpilogues(
  plan: Plan,
  own: ReadonlySet<Rule<unknown>> = ownRules(),
): (Step | null)[] {
  const { nIn, outs } = plan, steps = plan.steps.slice();
  const reads = new Map<number, number>();
  const count = (r: Ref) =>
    typeof r === "number" && reads.set(r, (reads.get(r) ?? 0) + 1);
  steps.forEach((st) => st?.inputs.forEach(count));
  outs.forEach(count);
  steps.forEach((st, s) => {
    const r = st?.inputs[0];
    if (!st || typeof r !== "number" || r < nIn || reads.get(r) !== 1) return;
    const p = steps[r - nIn];
    const epilogue: Epilogue<unknown> | undefined = p
      ? p.rule.epilogue?.[st.rule.name] ?? st.rule.prologue?.[p.rule.name]
      : undefined;
    // (both must be the registered primitives of their names, not customVjp
    // functions that happen to be called so)
    if (!p || !epilogue || !own.has(st.rule) || !own.has(p.rule)) return;
    const k = p.inputs.length, rest = st.inputs.slice(1);
    // the producer's result that stands in for the epilogue's other input
    // (Rule.epilogueFrom), when the plan computes it
    const from = p.rule.epilogueFrom;
    const q = from?.name === st.rule.name && rest.length === 1 &&
        rest[0] === p.inputs[from.input]
      ? steps.findIndex((o) =>
        o !== null && o.rule.name === from.producer && own.has(o.rule) &&
        o.inputs[0] === rest[0] &&
        JSON.stringify(o.params) === JSON.stringify(p.params)
      )
      : -1;
    steps[r - nIn] = null;
    steps[s] = {
      ...st,
      rule: {
        name: `${p.rule.name}+${st.rule.name}`,
        forward: q >= 0
          ? (ins) =>
            from!.forward(
              ins.slice(0, k),
              p.params,
              ins.slice(k, -1),
              ins.at(-1)!,
            )
          : (ins) => epilogue(ins.slice(0, k), p.params, ins.slice(k)),
        vjp: p.rule.vjp, // never called: a plan only runs forward kernels
        batch: p.rule.batch,
      },
      inputs: [...p.inputs, ...rest, ...(q >= 0 ? [nIn + q] : [])],
      params: null,
      differentiating: p.differentiating || st.differentiating,
    };
  });
  return steps;
}

/**
 * The plan with one constant per dtype, shape and bits: a deep plan's
 * backward pass makes the same constant at every layer (a scalar, a
 * closed-over weight's transpose), and each would be copied into memory on
 * every replay. (The outputs stay the very tensors `f` returned, and
 * constants of more than `SHARED_MAX` elements as they are: hashing them
 * costs more than the copies it could save.)
 */
function shareConstants(plan: Plan): Plan {
  const byKey = new Map<string, Tensor[]>();
  const canonical = new Map<Tensor, Tensor>();
  const share = (r: Ref): Ref => {
    if (typeof r === "number" || r.data.length > SHARED_MAX) return r;
    let c = canonical.get(r);
    if (c) return c;
    const bytes = bytesOf(r.data);
    const key = `${r.dtype} ${r.shape.join(",")} ${fnv1a(bytes)}`;
    const same = byKey.get(key) ?? [];
    c = same.find((t) => bytesOf(t.data).every((b, i) => b === bytes[i]));
    if (!c) byKey.set(key, [...same, c = r]);
    canonical.set(r, c);
    return c;
  };
  return {
    ...plan,
    steps: plan.steps.map((st) =>
      st && { ...st, inputs: st.inputs.map(share) }
    ),
  };
}

/** The largest constant `shareConstants` compares. */
const SHARED_MAX = 1 << 16;

const bytesOf = (d: TypedArray) =>
  new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** The 32-bit FNV-1a hash of `bytes`. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i], 0x01000193);
  }
  return h >>> 0;
}

/**
 * The memory of every plan's constants (the tensors a jitted function
 * captured, or returned without computing them: a replay returns the very
 * same tensor), never taken over by a donation, whichever jitted function
 * it is donated to: another plan may read or return it on a later call.
 */
const held = new WeakSet<ArrayBufferLike>();

/** Schedules a recorded plan (epilogues fused, then `schedule` in fusion.ts) and finds when each value is read last. */
function compile(recorded: Plan, leaves: readonly Tensor[]): Compiled {
  const own = ownRules();
  const opaque = recorded.steps.map((st) => st !== null && !own.has(st.rule));
  const plan = shareConstants({
    ...recorded,
    steps: fuseEpilogues(recorded, own),
  });
  const { nIn, steps, outs } = plan;
  const tasks = schedule(nIn, steps, (i) => leaves[i], outs);
  const lastUse: number[] = [];
  tasks.forEach((t, pos) => {
    const inputs = typeof t === "number"
      ? steps[t - nIn]!.inputs
      : t.parts.flatMap((p) => p.inputs);
    for (const r of inputs) if (typeof r === "number") lastUse[r] = pos;
  });
  for (const r of outs) if (typeof r === "number") lastUse[r] = Infinity;
  const frees = tasks.map(() => [] as number[]);
  lastUse.forEach((pos, r) => pos < Infinity && frees[pos].push(r));
  const isConst = (r: Ref): r is Tensor => typeof r !== "number";
  // (the recorded constants: those shareConstants replaced by an equal one
  // are still captured by f, and must stay valid too)
  for (const st of recorded.steps) {
    for (const r of st?.inputs ?? []) if (isConst(r)) held.add(r.data.buffer);
  }
  for (const r of recorded.outs) if (isConst(r)) held.add(r.data.buffer);
  const placed = new Set(
    tasks.flatMap((t) =>
      typeof t !== "number"
        ? t.parts.flatMap((p) => p.inputs)
        : opaque[t - nIn]
        ? []
        : steps[t - nIn]!.inputs
    ).filter((r) => isConst(r) && r.dtype === "float32") as Tensor[],
  );
  return {
    ...plan,
    tasks,
    lastUse,
    frees,
    opaque,
    placed: [...placed],
  };
}

/**
 * A call's arguments as a trace takes them: the static positions (checked
 * `staticArgnums`), the others, and each other argument's leaves.
 * @internal
 */
export function flattenArgs(
  fn: string,
  args: readonly unknown[],
  staticArgnums: unknown,
): { statics: number[]; dynamic: number[]; flat: Leaves[] } {
  const statics = positions(fn, "staticArgnums", staticArgnums, args.length);
  const dynamic = args.map((_, i) => i).filter((i) => !statics.includes(i));
  const flat = dynamic.map((i) => {
    try {
      return flattenLeaves(args[i]);
    } catch (e) {
      throw new Error(
        `${fn}: argument ${i} is not a tree of tensors (make it static with staticArgnums): ${
          (e as Error).message
        }`,
      );
    }
  });
  return { statics, dynamic, flat };
}

/** The argument positions `v` names (a position or a list; negative ones count from the end, as JAX's), checked against `n` arguments. */
function positions(fn: string, name: string, v: unknown, n: number): number[] {
  if (v === undefined) return [];
  const list: unknown[] = Array.isArray(v) ? v : [v];
  if (!list.every(Number.isInteger)) {
    throw new Error(
      `${fn}: ${name} must be an argument position (an integer, negative from the end) or an array of them, got ${
        describe(v)
      }`,
    );
  }
  return list.map((i) => {
    const k = (i as number) < 0 ? (i as number) + n : i as number;
    if (k < 0 || k >= n) {
      throw new Error(
        `${fn}: ${name} ${
          JSON.stringify(v)
        } is out of range for ${n} argument(s)`,
      );
    }
    return k;
  });
}

/**
 * Compiles `f` by tracing, as `jax.jit`: returns a function with `f`'s
 * signature and results (the same bits). It traces `f` once per input
 * signature (the arguments' tree structure, shapes and dtypes, and the
 * values of static arguments) and replays the recorded kernels afterwards,
 * keeping the plans of the 64 signatures used last (`MAX_PLANS`);
 * `traceCount()` says how often it traced. A jitted function that reads a
 * tensor's data to decide what to do is an error naming the op that made the
 * value. Inside another transform (`grad(jit(f))`, `vmap(jit(f))`) it runs
 * `f` directly. Arguments and results are trees of tensors and random keys:
 * a key passed in is traced, as in JAX (every call draws from its own key,
 * and keys split from it may be returned), while a key `f` closes over is a
 * constant (the same numbers every call). So is every value `f` closes over
 * (tensors, and numbers and options read when it was traced), as in JAX: to
 * vary one, pass it as an argument (a static one for a number). A value
 * traced by an enclosing transform that `f` closes over (a `grad`'s or
 * `vmap`'s, or an outer `jit`'s) is no constant: such a call runs `f`
 * through that transform and keeps no plan.
 *
 * @example
 * ```ts
 * import { add, grad, jit, mul, random, sub, sum, type Tensor, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const loss = (w: Tensor, x: Tensor) => sum(mul(sub(mul(w, x), 1), sub(mul(w, x), 1)));
 * const step = jit((w: Tensor, x: Tensor) => sub(w, mul(grad(loss)(w, x), 0.1)));
 * let w = tensor([0, 0]);
 * for (let i = 0; i < 20; i++) w = step(w, tensor([1, 2]));
 * assert.equal(step.traceCount(), 1); // traced once, replayed 19 times
 * assert.ok(Math.abs(w.data[1] - 0.5) < 1e-3); // w x = 1 at w = [1, 0.5]
 *
 * // a key argument is traced: one trace, each call its own draw
 * const noisy = jit((x: Tensor, k: random.Key) => add(x, random.normal(k, [2])));
 * const [k1, k2] = random.split(random.key(0));
 * assert.deepEqual(noisy(w, k1).data, add(w, random.normal(k1, [2])).data);
 * assert.deepEqual(noisy(w, k2).data, add(w, random.normal(k2, [2])).data);
 * assert.equal(noisy.traceCount(), 1);
 * ```
 */
export function jit<A extends unknown[], R extends Tree<Tensor | Key>>(
  f: (...args: A) => R,
  options?: JitOptions,
): Jitted<A, R> {
  const fn = "jit";
  checkFunction(fn, "f", f);
  const o = checkOptions(fn, options, ["staticArgnums", "donateArgnums"]);
  const plans = new Map<string, Compiled>();
  let traces = 0;
  let last: LastCall | null = null;
  const jitted = (...args: A): R => {
    // a call like the last one (a training loop's) is checked against it
    // leaf by leaf, with no key built
    const same = last && plans.get(last.key) === last.plan
      ? sameCall(last, args)
      : null;
    if (same) {
      same.forEach((l, i) => checkNotDonated(fn, `argument leaf ${i}`, l));
      const donated = last!.donated.map((i) => same[i]);
      const out = replay(last!.plan, same, donated) as R;
      invalidate(donated, out);
      return out;
    }
    const { statics, dynamic, flat } = flattenArgs(fn, args, o.staticArgnums);
    const donate = positions(
      fn,
      "donateArgnums",
      o.donateArgnums,
      args.length,
    );
    for (const i of donate) {
      if (statics.includes(i)) {
        throw new Error(
          `${fn}: argument ${i} is both static and donated; only traced arguments can be donated`,
        );
      }
    }
    const leaves = flat.flatMap((a) => a.leaves);
    if (leaves.some((l) => l instanceof Tracer)) return f(...args); // inside a transform
    leaves.forEach((l, i) => checkNotDonated(fn, `argument leaf ${i}`, l));
    const donated = flat.flatMap((a, k) =>
      donate.includes(dynamic[k]) ? a.leaves : []
    );
    const key = signature(fn, args, statics, flat);
    let out: R;
    let compiled = plans.get(key);
    if (compiled) {
      plans.delete(key); // most recently used last
      plans.set(key, compiled);
      out = replay(compiled, leaves, donated) as R;
    } else {
      traces++;
      let recorded: Plan;
      [out, recorded] = trace(
        f,
        args,
        dynamic,
        flat.map((a) => [a.leaves, a.def]),
        flat.map((a) => a.kinds),
      );
      // a plan that uses a value traced by an enclosing transform (`f`
      // closed over a tracer of grad, vmap or an outer jit) holds that
      // call's tracer as a constant: a replay would compute with the old
      // value, out of reach of the transform's later calls. Such a call is
      // inside a transform as much as one whose arguments are traced: its
      // trace computed the right values through the enclosing transform,
      // and no plan is kept
      // (nor, as there, are donated arguments taken: its results may be
      // that transform's tracers)
      if (usesOuterTracers(recorded)) return out;
      plans.set(key, compiled = compile(recorded, leaves));
      // the least recently used plan goes first (as jax.jit's bounded cache)
      if (plans.size > MAX_PLANS) plans.delete(plans.keys().next().value!);
    }
    invalidate(donated, out);
    // (only calls of tensors, no static argument and no key, take the
    // short check)
    last = statics.length === 0 && flat.every((a) => !a.kinds.some(Boolean))
      ? {
        key,
        plan: compiled,
        defs: flat.map((a) => a.def),
        specs: leaves.map((l) => ({ dtype: l.dtype, shape: l.shape })),
        donated: leaves.flatMap((l, i) => donated.includes(l) ? [i] : []),
      }
      : null;
    return out;
  };
  return Object.assign(jitted, { traceCount: () => traces });
}

/** The last call of a jitted function: its plan, and its arguments' structures, dtypes and shapes. */
interface LastCall {
  key: string;
  plan: Compiled;
  defs: readonly TreeDef[];
  specs: readonly { dtype: Tensor["dtype"]; shape: readonly number[] }[];
  /** The donated leaves' positions. */
  donated: readonly number[];
}

/**
 * The leaves of `args` when they have the tree structures, dtypes and
 * shapes of `last`'s arguments (tensors, none a tracer), else null (the
 * call then builds its key).
 */
function sameCall(last: LastCall, args: readonly unknown[]): Tensor[] | null {
  const { defs, specs } = last;
  if (args.length !== defs.length) return null;
  const leaves: Tensor[] = [];
  const walk = (d: TreeDef, x: unknown): boolean => {
    if (d.kind === "leaf") {
      const spec = specs[leaves.length];
      if (
        !isTensor(x) || x instanceof Tracer || x.dtype !== spec.dtype ||
        !sameShape(x.shape, spec.shape)
      ) return false;
      leaves.push(x);
      return true;
    }
    const n = d.children.length;
    if (d.kind === "array") {
      if (!Array.isArray(x) || x.length !== n) return false;
      for (let i = 0; i < n; i++) if (!walk(d.children[i], x[i])) return false;
      return true;
    }
    // (the same own enumerable keys as `treeFlatten` reads)
    if (!isPlainObject(x) || Object.keys(x).length !== n) return false;
    for (let i = 0; i < n; i++) {
      const k = d.keys[i];
      if (!Object.prototype.propertyIsEnumerable.call(x, k)) return false;
      if (!walk(d.children[i], x[k])) return false;
    }
    return true;
  };
  for (let i = 0; i < args.length; i++) {
    if (!walk(defs[i], args[i])) return null;
  }
  return leaves.length === specs.length ? leaves : null;
}

/**
 * Whether a recorded plan reads a value traced by an enclosing transform
 * (a constant that is a tracer of a lower level: a value `f` closed over).
 */
function usesOuterTracers(plan: Plan): boolean {
  const outer = (r: Ref) => typeof r !== "number" && r instanceof Tracer;
  return plan.outs.some(outer) ||
    plan.steps.some((st) => st !== null && st.inputs.some(outer));
}

/**
 * How many signatures' plans a jitted function keeps (least recently used
 * dropped first): a static argument that changes on every call retraces
 * every call, as in JAX, without keeping a plan (about 0.1 MB for a LeNet-5
 * training step) per call for as long as the function lives.
 * @internal
 */
export const MAX_PLANS = 64;

/** The cache key of a call: each dynamic argument's structure, shapes and dtypes; each static one's value. @internal */
export function signature(
  fn: string,
  args: readonly unknown[],
  statics: readonly number[],
  flat: readonly Leaves[],
): string {
  const parts = flat.map(({ leaves, def, kinds }) =>
    JSON.stringify([
      def,
      leaves.map((l, i) => [l.dtype, l.shape, kinds[i] ? 1 : 0]),
    ])
  );
  for (const i of statics) {
    parts.push(`static ${i}: ${staticKey(fn, i, args[i], [])}`);
  }
  return parts.join("|");
}

/** Ids of the functions and class instances seen as static arguments (keyed by identity, as JAX hashes them). */
const identities = new WeakMap<object, number>();
let identityCount = 0;
const identity = (o: object): number => {
  let id = identities.get(o);
  if (id === undefined) identities.set(o, id = identityCount++);
  return id;
};

/**
 * The cache key of static argument `i`'s value: equal for equal values
 * (numbers by `Object.is`, so NaN, -0 and the infinities are keys of their
 * own; arrays, plain objects, Maps, Sets, typed arrays and Dates by their
 * contents; functions and other class instances by identity, as JAX
 * hashes them), so a different value never replays another's plan. A
 * cycle, a symbol or a weak collection is an error: it has no such key.
 */
function staticKey(
  fn: string,
  i: number,
  v: unknown,
  seen: object[],
): string {
  const fail = (why: string): never => {
    throw new Error(
      `${fn}: static argument ${i} must be a value jit can key its plans by (numbers, strings, booleans, null, undefined, bigints, functions, and arrays, plain objects, Maps, Sets and typed arrays of them): ${why}, got ${
        describe(v)
      }`,
    );
  };
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? "-0" : String(v);
    case "string":
      return JSON.stringify(v);
    case "boolean":
    case "undefined":
      return String(v);
    case "bigint":
      return `${v}n`;
    case "symbol":
      return fail("a symbol");
    case "function":
      return `function#${identity(v)}`;
  }
  if (v === null) return "null";
  const o = v as object;
  if (seen.includes(o)) return fail("it contains itself");
  const inner = (x: unknown) => staticKey(fn, i, x, [...seen, o]);
  if (ArrayBuffer.isView(o)) {
    // by its bytes, two to a character: each number's text took about 19
    // characters per float32 (a 1M-element array: an 18 MiB key built in
    // 180 ms on every call, and kept by each of its plans). Equal contents
    // have equal bytes (-0 and 0 differ, as by Object.is); NaNs of other
    // bits are keys of their own: a retrace, never another's plan
    return `${o.constructor.name}(${o.byteLength})${
      bytesKey(new Uint8Array(o.buffer, o.byteOffset, o.byteLength))
    }`;
  }
  if (Array.isArray(o)) return `[${o.map(inner)}]`;
  if (o instanceof Map) {
    return `Map{${[...o].map(([k, x]) => `${inner(k)}=>${inner(x)}`)}}`;
  }
  if (o instanceof Set) return `Set{${[...o].map(inner)}}`;
  if (o instanceof WeakMap || o instanceof WeakSet) {
    return fail("a weak collection has no contents to key by");
  }
  if (o instanceof Date) return `Date(${o.getTime()})`;
  const proto = Object.getPrototypeOf(o);
  if (proto !== null && proto !== Object.prototype) {
    return `${proto.constructor?.name ?? "object"}#${identity(o)}`;
  }
  return `{${
    Object.keys(o).map((k) =>
      `${JSON.stringify(k)}:${inner((o as Record<string, unknown>)[k])}`
    )
  }}`;
}

/** `bytes` as a string of 16-bit characters (two bytes each, the last one alone when odd). */
function bytesKey(bytes: Uint8Array): string {
  const n = bytes.length >> 1;
  const units = new Uint16Array(bytes.slice(0, 2 * n).buffer);
  const parts: string[] = [];
  // (apply on chunks of a typed array: spreading one is 8x slower)
  for (let i = 0; i < n; i += 8192) {
    const chunk = units.subarray(i, i + 8192) as unknown as number[];
    parts.push(String.fromCharCode.apply(null, chunk));
  }
  if (bytes.length & 1) parts.push(String.fromCharCode(bytes[2 * n]));
  return parts.join("");
}

/**
 * Runs `f` once with the leaves of its `dynamic` arguments wrapped as jit
 * tracers; returns the results and the recorded plan (also what ONNX
 * export walks). @internal
 */
export function trace<
  A extends unknown[],
  R extends Tree<Tensor | Key>,
>(
  f: (...args: A) => R,
  args: readonly unknown[],
  dynamic: readonly number[],
  flat: [Tensor[], TreeDef][],
  kinds: readonly (readonly (LeafKind | null)[])[] = [],
): [R, Plan] {
  const level = newLevel();
  const steps: Step[] = [], madeBy: string[] = [];
  const nIn = flat.reduce((s, [l]) => s + l.length, 0);
  const ref = (x: Tensor): Ref =>
    x instanceof JitTracer && x.level === level ? x.id : x;
  const recorder: JitRecorder = {
    closed: false,
    record<P>(rule: Rule<P>, inputs: Tensor[], params: P, out: Tensor): number {
      steps.push({
        rule: rule as Rule<unknown>,
        inputs: inputs.map(ref),
        params,
        shape: out.shape,
        dtype: out.dtype,
        differentiating: differentiating(),
        op: currentOp(rule.name),
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
    wrapped[i] = unflattenLeaves(
      def,
      leaves.map((l) => new JitTracer(level, l, id++, recorder)),
      kinds[k] ?? [],
    );
  });
  let out: R;
  try {
    out = f(...wrapped as A);
  } finally {
    recorder.closed = true;
  }
  let flatOut: Leaves;
  try {
    flatOut = flattenLeaves(out);
  } catch (e) {
    throw new Error(
      `jit: the jitted function must return a tree of tensors: ${
        (e as Error).message
      }`,
    );
  }
  const { leaves: outLeaves, def: outDef, kinds: outKinds } = flatOut;
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
    outKinds,
  };
  const results = outLeaves.map((l) =>
    l instanceof JitTracer && l.level === level ? l.primal : l
  );
  return [unflattenLeaves(outDef, results, outKinds) as R, plan];
}

/**
 * Runs a plan's kernels on new leaves. The float32 results of WebAssembly
 * kernels stay in its memory while a later step reads them (see
 * `WasmRuntime.beginPlan`): each is held once per value that refers to it
 * and let go after that value's last read, and the outputs are copied out.
 * Steps that run code other than the library's get copies, so that no view
 * of the memory escapes.
 */
function replay(
  plan: Compiled,
  leaves: readonly Tensor[],
  donated: readonly Tensor[] = [],
): Tree<unknown> {
  const rt = runtime();
  const planning = rt.beginPlan();
  // with the debug NaN checks on, every step's result is checked, and fused
  // groups run step by step (so the error names the op, as eager's does)
  const nanChecks = debugNansOn();
  const env: (Tensor | undefined)[] = leaves.slice();
  const consts = new Map<Tensor, Tensor>();
  const val = (r: Ref) => typeof r === "number" ? env[r]! : consts.get(r) ?? r;
  const take = donation(plan, leaves, env, donated);
  const own = (t: Tensor) => {
    if (!planning || !rt.inPlan(t.data)) return t;
    const n = t.data.length, taken = take(t.dtype, n, Infinity)?.data;
    // (a copy by the typed-array constructor: no zero-fill first)
    const data = taken ?? new (t.data.constructor as Float32ArrayConstructor)(
      t.data as Float32Array,
    );
    if (taken) taken.set(t.data);
    // (left in memory after the call too: a training step's next params)
    if (data instanceof Float32Array) {
      rt.keepAfterPlan(data, t.data as Float32Array);
    }
    return fromData(data, t.shape);
  };
  // (an argument past the memory's limit stays where it is)
  const place = (t: Tensor) => {
    const data = rt.place(t.data as Float32Array);
    if (data) rt.keepAfterPlan(t.data as Float32Array, data);
    return data ? fromData(data, t.shape) : t;
  };
  // (plain loops, no closure per step: this runs for every step of every
  // call, and its garbage is most of a small step's)
  const step = (id: number) => {
    const s = id - plan.nIn, st = plan.steps[s]!, inputs = st.inputs.map(val);
    const outer = swapDifferentiating(st.differentiating);
    let out: Tensor;
    try {
      out = plan.opaque[s]
        ? runOpaque(rt, st, inputs, own)
        : st.rule.forward(inputs, st.params);
    } catch (e) {
      // (as runForward: the op's error, not V8's, for a result too large)
      throw allocationError(e, st.op, st.rule.name, inputs, " in a jit replay");
    } finally {
      swapDifferentiating(outer);
    }
    if (nanChecks) labelled(st.op, () => checkNans(st.rule.name, inputs, out));
    env[id] = out;
    if (planning) rt.hold(out.data, 1);
  };
  const fused = (task: Fused, pos: number) => {
    const { parts, dtype } = task;
    // (arrays made at their length: an array grown by push takes room
    // for 17 at its first)
    const ins = new Array<TypedArray[]>(parts.length);
    for (let j = 0; j < parts.length; j++) {
      const refs = parts[j].inputs, xs = new Array<TypedArray>(refs.length);
      for (let i = 0; i < refs.length; i++) xs[i] = val(refs[i]).data;
      ins[j] = xs;
    }
    const outs = new Array<TypedArray[]>(parts.length);
    for (let j = 0; j < parts.length; j++) {
      const p = parts[j], os = new Array<TypedArray>(p.outputs.length);
      for (let q = 0; q < os.length; q++) {
        // (an output does not take over an array that another part reads)
        const t = take(dtype, p.n, pos, ins, j);
        if (t) {
          // an input the output took over (updated in place) is read from
          // the new view
          for (let k = 0; k < ins[j].length; k++) {
            if (ins[j][k].buffer === t.from) ins[j][k] = t.data;
          }
        }
        // else it stays in memory (an output is copied out at the end),
        // not zeroed: the kernel or the loop writes every value
        os[q] = t?.data ??
          (planning ? rt.planArray(dtype, p.n, false) : null) ??
          allocData(dtype, p.n);
      }
      outs[j] = os;
    }
    task.run(ins, outs);
    for (let j = 0; j < parts.length; j++) {
      const ids = parts[j].outputs;
      for (let q = 0; q < ids.length; q++) {
        env[ids[q]] = fromData(
          outs[j][q],
          plan.steps[ids[q] - plan.nIn]!.shape,
        );
        if (planning) rt.hold(outs[j][q], 1);
      }
    }
  };
  const run = () => {
    if (planning) {
      // the float32 arguments and constants that kernels read go into
      // memory once, for all of them
      rt.reset("jit");
      leaves.forEach((l, i) => {
        const last = plan.lastUse[i] ?? Infinity;
        if (l.dtype === "float32" && last < Infinity) env[i] = place(l);
      });
      for (const c of plan.placed) consts.set(c, place(c));
      rt.placed();
    }
    for (let pos = 0; pos < plan.tasks.length; pos++) {
      const task = plan.tasks[pos];
      if (typeof task === "number") step(task);
      else if (nanChecks) task.parts.forEach((p) => p.members.forEach(step));
      else fused(task, pos);
      if (!planning) continue;
      const frees = plan.frees[pos];
      for (let i = 0; i < frees.length; i++) {
        rt.hold(env[frees[i]]!.data, -1);
        env[frees[i]] = undefined; // (garbage while it is young)
      }
      rt.sweep();
    }
    return unflattenLeaves(
      plan.outDef,
      plan.outs.map((r) => own(val(r))),
      plan.outKinds,
    );
  };
  try {
    // the library's TypeScript kernels allocate in memory too (`allocData`)
    return planning ? withArena((d, n) => rt.planArray(d, n), run) : run();
  } finally {
    if (planning) rt.endPlan();
  }
}

/**
 * Runs a step whose code is not the library's (a callback): it gets copies
 * (`own`) and makes no view of the memory.
 */
function runOpaque(
  rt: ReturnType<typeof runtime>,
  st: Step,
  inputs: readonly Tensor[],
  own: (t: Tensor) => Tensor,
): Tensor {
  return rt.outsidePlan(() => st.rule.forward(inputs.map(own), st.params));
}

/**
 * The donated arrays a replay may write an output into: `take(dtype, n,
 * pos, ins, j)` detaches one of that dtype and length that no task after
 * position `pos` reads (through any leaf or value sharing its memory), that is no
 * output and whose buffer no part of the task but part `j` reads (`ins`:
 * the arrays each part reads), and returns a new view of its memory and
 * the buffer it came from; or null.
 */
function donation(
  plan: Compiled,
  leaves: readonly Tensor[],
  env: readonly (Tensor | undefined)[],
  donated: readonly Tensor[],
): (
  dtype: Tensor["dtype"],
  n: number,
  pos: number,
  ins?: readonly (readonly TypedArray[])[],
  j?: number,
) => { data: TypedArray; from: ArrayBufferLike } | null {
  const spare = donated.filter((d) => canDetach(d, []));
  // (plain loops: this runs for every output of every fused task)
  const usable = (
    d: Tensor,
    pos: number,
    ins: readonly (readonly TypedArray[])[] | undefined,
    j: number | undefined,
  ) => {
    const b = d.data.buffer;
    for (let k = 0; ins && k < ins.length; k++) {
      if (k === j) continue;
      for (let i = 0; i < ins[k].length; i++) {
        if (ins[k][i].buffer === b) return false;
      }
    }
    // no argument leaf, and no value made so far that views the same
    // memory (a reshape of a float64 or int32 argument shares its array),
    // may be read after this task or be an output
    const after = pos === Infinity ? Infinity : pos + 1;
    for (let id = 0; id < env.length; id++) {
      const v = id < leaves.length ? leaves[id] : env[id];
      if (v?.data.buffer === b && !((plan.lastUse[id] ?? -1) < after)) {
        return false;
      }
    }
    return true;
  };
  return (dtype, n, pos, ins, j) => {
    let i = 0;
    while (
      i < spare.length &&
      !(spare[i].dtype === dtype && spare[i].data.length === n &&
        !isDetached(spare[i].data) && usable(spare[i], pos, ins, j))
    ) i++;
    if (i === spare.length) return null;
    const d = spare[i], from = d.data.buffer;
    spare.splice(i, 1);
    const Ctor = d.data.constructor as Float32ArrayConstructor;
    return { data: new Ctor(detach(d.data)), from };
  };
}

/** Whether `data` is a whole, not shared ArrayBuffer's view. */
function whole(data: TypedArray): boolean {
  const buf = data.buffer;
  return buf instanceof ArrayBuffer && data.byteOffset === 0 &&
    data.byteLength === buf.byteLength;
}

const isDetached = (data: TypedArray) => (data.buffer as ArrayBuffer).detached;

/**
 * Whether the memory of the donated leaf `d` can be taken over: it is a
 * whole, not shared, not yet detached ArrayBuffer that no output uses and
 * that is no plan's constant (see `held`).
 */
function canDetach(d: Tensor, outs: readonly Tensor[]): boolean {
  return whole(d.data) && !isDetached(d.data) && !held.has(d.data.buffer) &&
    !outs.some((o) => o.data.buffer === d.data.buffer);
}

/** Takes `data`'s memory over: `data` is left detached (length 0). */
function detach(data: Tensor["data"]): ArrayBuffer {
  return (data.buffer as ArrayBuffer).transfer();
}

/**
 * Detaches the donated leaves that are left after a call (those whose
 * memory no output took), so that using a donated tensor afterwards is
 * an error on every call, not only when its memory was reused.
 */
function invalidate(donated: readonly Tensor[], out: unknown): void {
  if (donated.length === 0) return;
  const outs = flattenLeaves(out).leaves;
  for (const d of donated) if (canDetach(d, outs)) detach(d.data);
}
