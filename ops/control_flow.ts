/**
 * Control flow on tensor values, as `jax.lax`'s: `cond`, `switch`,
 * `whileLoop`, `foriLoop` and `scan`.
 *
 * The API is eager, so a predicate that is a value (outside any transform,
 * or under `grad`, `vjp` and `jvp`, whose tracers hold one) is read and the
 * chosen branch or the next turn simply runs: the transforms see its ops, as
 * they see any other code. Where the predicate has no single value to read,
 * the construct becomes one primitive, with its branches as functions:
 *
 * - under `jit`, the recorded plan reads the predicate at every replay and
 *   runs the branch it picks (or the loop until the condition fails), so a
 *   jitted function may branch and loop on tensor values through these;
 * - under `vmap` with a predicate that differs per example, `cond` runs both
 *   branches and picks each example's result (`where`), and `whileLoop`
 *   runs while any example's condition holds, each example's carry kept
 *   once its own condition fails (as JAX's batching rules);
 * - derivatives: `cond`'s are the chosen branch's (its VJP and JVP rules are
 *   `cond`s of the branches' VJPs and JVPs, so they nest); `whileLoop`'s
 *   forward-mode derivative runs the loop on the tangents too, and its
 *   reverse mode is an error when its condition is traced (as JAX's:
 *   `foriLoop` with number bounds and `scan` unroll, and differentiate in
 *   both modes).
 *
 * The primitive's functions must get every traced value they use as an
 * operand: a branch or body that uses a value traced outside it (say
 * params closed over inside a jitted function) is an error naming it, since
 * a replay would see that value from the first call. (JAX converts such
 * closures into operands; these functions are JavaScript, so they cannot be
 * inspected.)
 *
 * A primitive has one tensor result, so a construct's result tree is packed
 * into one vector (flattened leaves, concatenated; float64 when the leaves'
 * dtypes differ, which holds float32 and int32 values exactly) and unpacked
 * again: the same values and bits as the branch's own.
 *
 * @module
 */
import {
  add,
  astype,
  less,
  lessEqual,
  maximum,
  minimum,
  where,
} from "./elementwise.ts";
import { any } from "./reductions.ts";
import {
  batchFront,
  batchSize,
  concat,
  expandDims,
  reshape,
  slice,
  stack,
} from "./structural.ts";
import {
  describe,
  type DType,
  fmtShape,
  isTensor,
  type Tensor,
  tensor,
  zeros,
  zerosLike,
} from "./tensor.ts";
import { bindRule, concrete, type Empty, type Rule, Tracer } from "./trace.ts";
import {
  flattenLeaves,
  type LeafKind,
  type Tree,
  type TreeDef,
  unflattenLeaves,
} from "./tree.ts";
import { checkFunction } from "./_args.ts";
import { NoReverseMode, RevTracer } from "./ad.ts";
import { jvp, vjp } from "./transforms.ts";
import { vmap } from "./vmap.ts";

/** A tree's structure and its leaves' shapes and dtypes. */
interface Sig {
  def: TreeDef;
  kinds: readonly (LeafKind | null)[];
  shapes: readonly (readonly number[])[];
  dtypes: readonly DType[];
  /** The structure, shapes and dtypes as text (to compare and to show). */
  text: string;
}

/** The signature of a tree's leaves, or an error naming `what` when it is not a tree of tensors. */
function sigOf(fn: string, what: string, tree: unknown): [Tensor[], Sig] {
  let flat;
  try {
    flat = flattenLeaves(tree);
  } catch (e) {
    throw new Error(
      `${fn}: ${what} must be a tree of tensors: ${(e as Error).message}`,
    );
  }
  const { leaves, def, kinds } = flat;
  const shapes = leaves.map((l) => l.shape),
    dtypes = leaves.map((l) => l.dtype);
  const text = leaves.length === 1 && def.kind === "leaf"
    ? `${dtypes[0]}${fmtShape(shapes[0])}`
    : `${JSON.stringify(def)} with leaves ${
      leaves.map((l) => `${l.dtype}${fmtShape(l.shape)}`).join(", ")
    }`;
  return [leaves, { def, kinds, shapes, dtypes, text }];
}

/** Whether two signatures describe the same trees of leaves. */
const sameSig = (a: Sig, b: Sig) =>
  a.text === b.text && a.kinds.every((k, i) => k === b.kinds[i]);

/** The dtype a tree's leaves are packed in: theirs when they agree, else float64 (exact for float32 and int32). */
function packDtype(dtypes: readonly DType[]): DType {
  return dtypes.every((d) => d === dtypes[0]) && dtypes.length > 0
    ? dtypes[0]
    : "float64";
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The leaves packed into one tensor [...lead, total]: each flattened after
 * the `lead` axes (a batch axis in a batching rule), cast to the common
 * dtype, concatenated.
 */
function pack(
  leaves: readonly Tensor[],
  sig: Sig,
  lead: readonly number[] = [],
): Tensor {
  const dt = packDtype(sig.dtypes);
  if (leaves.length === 0) return zeros([...lead, 0], { dtype: dt });
  const parts = leaves.map((l, i) => {
    const r = reshape(l, [...lead, sizeOf(sig.shapes[i])]);
    return r.dtype === dt ? r : astype(r, dt);
  });
  return parts.length === 1 ? parts[0] : concat(parts, lead.length);
}

/** The leaves `pack` packed into `p`, of shape [...lead, total]. */
function unpackLeaves(
  p: Tensor,
  sig: Sig,
  lead: readonly number[] = [],
): Tensor[] {
  let at = 0;
  return sig.shapes.map((shape, i) => {
    const n = sizeOf(shape);
    const part = sig.shapes.length === 1
      ? p
      : slice(p, [...lead.map(() => 0), at], [...lead, at + n]);
    at += n;
    const r = reshape(part, [...lead, ...shape]);
    return r.dtype === sig.dtypes[i] ? r : astype(r, sig.dtypes[i]);
  });
}

/** The tree `pack` packed into `p`. */
const unpack = (p: Tensor, sig: Sig): unknown =>
  unflattenLeaves(sig.def, unpackLeaves(p, sig), sig.kinds);

/**
 * Holds the result signature of a construct's functions: the first
 * function to run sets it, and each later result must match it.
 */
class SigBox {
  sig: Sig | null = null;
  first = "";
  constructor(readonly fn: string) {}
  /** The leaves of `out`, which `role` returned, checked against the signature. */
  check(role: string, out: unknown): Tensor[] {
    const [leaves, sig] = sigOf(this.fn, `${role}'s result`, out);
    if (!this.sig) {
      this.sig = sig;
      this.first = role;
    } else if (!sameSig(sig, this.sig)) {
      throw new Error(
        `${this.fn}: ${role} returned ${sig.text}, but ${this.first} returned ${this.sig.text}; they must return the same structure, shapes and dtypes`,
      );
    }
    return leaves;
  }
}

/** The error of a primitive's function that used a value traced outside it. */
class ClosureError extends Error {}

/** The error for a result that a primitive's function made from a value traced outside it. */
function closureError(fn: string, role: string): Error {
  return new ClosureError(
    `${fn}: ${role} used a traced value that is not one of its operands (a value closed over from outside: params inside a jitted or differentiated function, the mapped value of an enclosing vmap); pass every tensor it uses as an operand (foriLoop's and whileLoop's through the carry)`,
  );
}

/** The highest trace level among `xs` (0: none traced). */
const levelOf = (xs: readonly Tensor[]) =>
  xs.reduce((m, x) => Math.max(m, x instanceof Tracer ? x.level : 0), 0);

/**
 * `out`, unless it holds a value traced at a higher level than all of `ins`
 * (in a batching or derivative rule, which runs below the transform that
 * called it): then the function closed over a traced value (say the mapped
 * value of an enclosing vmap) instead of taking it as an operand.
 */
function noLeak<O extends Tensor | Tensor[]>(
  fn: string,
  role: string,
  ins: readonly Tensor[],
  out: O,
): O {
  const outs: readonly Tensor[] = Array.isArray(out) ? out : [out as Tensor];
  if (levelOf(outs) > levelOf(ins)) throw closureError(fn, role);
  return out;
}

/** The concrete value of a predicate, or null when it has none here (jit or vmap traced). */
function readable(p: Tensor): Tensor | null {
  const c = concrete(p);
  return c instanceof Tracer ? null : c;
}

/** Checks a predicate: a scalar tensor, or (where `bools`) a boolean or number. */
function checkPred(fn: string, what: string, p: unknown): void {
  if (isTensor(p) ? p.shape.length !== 0 : typeof p !== "boolean") {
    throw new Error(
      `${fn}: ${what} must be a scalar (a tensor of shape [] or a boolean), got ${
        describe(p)
      }`,
    );
  }
}

/**
 * Whether a predicate's value is true (nonzero, as Python's `bool`); NaN
 * is an error, not true: a NaN predicate is a computation gone wrong (JAX
 * takes booleans only), and a `whileLoop` would never end on it.
 */
function truth(fn: string, what: string, p: Tensor): boolean {
  const v = p.data[0];
  if (Number.isNaN(v)) {
    throw new Error(
      `${fn}: ${what} is NaN; a predicate must be zero (false) or nonzero (true)`,
    );
  }
  return v !== 0;
}

/**
 * A control-flow primitive's functions, kept for `makeJaxpr` (which traces
 * them at their operands' shapes and dtypes and prints them as nested
 * jaxprs, as JAX prints cond's branches); nothing else reads them. @internal
 */
export interface Staged {
  /** How many leading inputs the functions do not take (the predicate). */
  readonly skip: number;
  /**
   * By parameter name, the function (or functions) of the other inputs:
   * `branches` (the true branch first: the one a nonzero predicate runs),
   * or whileLoop's `condJaxpr` (a scalar) and `bodyJaxpr` (the next carry).
   */
  readonly fns: Readonly<
    Record<
      string,
      | ((...leaves: Tensor[]) => Tensor | Tensor[])
      | readonly ((...leaves: Tensor[]) => Tensor | Tensor[])[]
    >
  >;
  /** A function of those inputs whose result has the primitive's shape and dtype (else the first function's result has). */
  readonly result?: (...leaves: Tensor[]) => Tensor;
  /** Other parameters to print. */
  readonly params?: Readonly<Record<string, unknown>>;
}

const stagedRules = new WeakMap<object, Staged>();

/** `rule`, its functions kept as {@linkcode Staged}. */
function staged(rule: Rule<Empty>, s: Staged): Rule<Empty> {
  stagedRules.set(rule, s);
  return rule;
}

/** The functions of a control-flow primitive's rule, or undefined for another rule. @internal */
export function stagedOf(rule: object): Staged | undefined {
  return stagedRules.get(rule);
}

/**
 * `cond`'s primitive over `[pred, ...leaves]`: the branch `pred` picks, on
 * the leaves, its result packed (`onTrue` / `onFalse`). Each call of cond
 * makes its own rule (its branches are the caller's functions), which jit
 * records and replays as a step of code that is not the library's.
 */
function condRule(
  fn: string,
  onTrue: (...leaves: Tensor[]) => Tensor,
  onFalse: (...leaves: Tensor[]) => Tensor,
  roles: Roles,
): Rule<Empty> {
  const branches = <T>(
    g: (f: (...leaves: Tensor[]) => Tensor) => (...a: Tensor[]) => T,
  ) => [g(onTrue), g(onFalse)] as const;
  return staged({
    name: fn,
    forward: ([pred, ...leaves]) => {
      const on = truth(fn, "pred", pred);
      const out = (on ? onTrue : onFalse)(...leaves);
      if (out instanceof Tracer) {
        throw closureError(fn, on ? roles[0] : roles[1]);
      }
      return out;
    },
    vjp: ([pred, ...leaves]) => {
      const floats = leaves.map((l) => l.dtype !== "int32");
      // both branches' cotangents of the float leaves, picked by pred too
      const back = (f: (...l: Tensor[]) => Tensor) => (...a: Tensor[]) => {
        const g = a[a.length - 1], ls = a.slice(0, -1);
        const [, pull] = vjp(f, ...ls);
        return pull(g).filter((_, i) => floats[i]);
      };
      const [t, f] = branches(back);
      let cache: [Tensor, Tensor[]] | null = null;
      const cts = (g: Tensor) => {
        if (!cache || cache[0] !== g) {
          cache = [g, condWith(fn, roles, pred, t, f, ...leaves, g)];
        }
        return cache[1];
      };
      let k = 0;
      return [
        null,
        ...floats.map((fl) => {
          if (!fl) return null;
          const j = k++;
          return (g: Tensor) => cts(g)[j];
        }),
      ];
    },
    jvp: ([pred, ...leaves], tangents) => {
      const n = leaves.length;
      const ts = leaves.map((l, i) => tangents[i + 1] ?? zerosLike(l));
      const fwd = (f: (...l: Tensor[]) => Tensor) => (...a: Tensor[]) =>
        jvp(f, a.slice(0, n), a.slice(n))[1];
      const [t, f] = branches(fwd);
      return condWith(fn, roles, pred, t, f, ...leaves, ...ts) as Tensor;
    },
    batch: (vals, dims) => {
      const [pred, ...leaves] = vals, inAxes = dims.slice(1);
      const mapped = inAxes.some((d) => d !== null);
      const batched = (f: (...l: Tensor[]) => Tensor) =>
        mapped ? vmap(f, { inAxes }) as (...l: Tensor[]) => Tensor : f;
      const [t, f] = branches(batched);
      if (dims[0] === null) {
        const out = bindRule(condRule(fn, t, f, roles), vals, {});
        return [noLeak(fn, "a branch", vals, out), mapped ? 0 : null];
      }
      // a predicate per example: both branches, each example's picked
      // (the packed results carry the batch axis in front, and the axes of
      // inner transforms after it when this cond is a derivative's; with
      // no operand mapped, they get the batch axis from the predicate)
      const b = batchSize(vals, dims);
      const on = batchFront(pred, dims[0], b);
      // under reverse mode, one primitive whose derivatives are each
      // example's own branch's (a where over both branches would send the
      // other branch a zero cotangent, and 0 · inf or NaN there is NaN);
      // otherwise plain ops, which jit fuses
      if (vals.some(underReverse)) {
        try {
          const out = bindRule(
            pickRule(fn, roles, perExample(onTrue, onFalse, inAxes, b)),
            [on, ...leaves],
            {},
          );
          return [out, 0];
        } catch (e) {
          if (!(e instanceof ClosureError)) throw e;
          // a branch closed over a value traced below this vmap (say params
          // under an enclosing grad): the two branches as ordinary ops
        }
      }
      const lead = (y: Tensor) => mapped ? y : expandDims(y, 0);
      const yt = lead(noLeak(fn, roles[0], vals, t(...leaves)));
      const yf = lead(noLeak(fn, roles[1], vals, f(...leaves)));
      return [where(leadShaped(on, [b], yt.shape.length), yt, yf), 0];
    },
  }, { skip: 1, fns: { branches: [onTrue, onFalse] } });
}

/** Whether `x` is traced by reverse-mode differentiation at some level. */
function underReverse(x: Tensor): boolean {
  for (let v = x; v instanceof Tracer; v = v.primal) {
    if (v instanceof RevTracer) return true;
  }
  return false;
}

/** `on` (of shape `lead`) reshaped to broadcast over a tensor of rank `rank` with `lead` in front. */
const leadShaped = (on: Tensor, lead: readonly number[], rank: number) =>
  reshape(on, [...lead, ...Array(rank - lead.length).fill(1)]);

/**
 * A choice per example between two computations on the same leaves: `on`
 * (one value per example, of shape `lead`) picks `t`'s or `f`'s packed
 * result ([...lead, ...rest]). `tFull` and `fFull` are the same functions
 * of the leaves with every example in front (`expand` makes each leaf so),
 * for the derivatives: each example's cotangent is its own branch's.
 */
interface Pick {
  t: (...leaves: Tensor[]) => Tensor;
  f: (...leaves: Tensor[]) => Tensor;
  tFull: (...leaves: Tensor[]) => Tensor;
  fFull: (...leaves: Tensor[]) => Tensor;
  expand: ((leaf: Tensor) => Tensor)[];
  lead: number[];
}

/** The {@linkcode Pick} of a vmapped choice of batch size `b` between `t` and `f` (functions of one example). */
function perExample(
  t: (...leaves: Tensor[]) => Tensor,
  f: (...leaves: Tensor[]) => Tensor,
  inAxes: readonly (number | null)[],
  b: number,
): Pick {
  const vm = (g: (...l: Tensor[]) => Tensor, axes: (number | null)[] | 0) =>
    vmap(g, { inAxes: axes, axisSize: b }) as (...l: Tensor[]) => Tensor;
  return {
    t: vm(t, [...inAxes]),
    f: vm(f, [...inAxes]),
    tFull: vm(t, 0),
    fFull: vm(f, 0),
    expand: inAxes.map((d) => (l: Tensor) => batchFront(l, d, b)),
    lead: [b],
  };
}

/**
 * The primitive of a {@linkcode Pick} over `[on, ...leaves]`: the forward
 * pass runs both and picks per example (`where`); the VJP and JVP pick each
 * example's own branch's derivatives, so a NaN or inf in the branch an
 * example did not take stays out of them (JAX's where-gradient problem).
 */
function pickRule(fn: string, roles: Roles, p: Pick): Rule<Empty> {
  const choose = (on: Tensor, a: Tensor, b: Tensor) =>
    where(
      leadShaped(on, p.lead, Math.max(a.shape.length, b.shape.length)),
      a,
      b,
    );
  return staged({
    name: fn,
    forward: ([on, ...leaves]) => {
      const yt = p.t(...leaves);
      if (yt instanceof Tracer) throw closureError(fn, roles[0]);
      const yf = p.f(...leaves);
      if (yf instanceof Tracer) throw closureError(fn, roles[1]);
      return choose(on, yt, yf);
    },
    vjp: ([on, ...leaves]) => {
      let cache: [Tensor, Tensor[], Tensor[]] | null = null;
      const cts = (g: Tensor) => {
        if (!cache || cache[0] !== g) {
          const full = leaves.map((l, i) => p.expand[i](l));
          cache = [g, vjp(p.tFull, ...full)[1](g), vjp(p.fFull, ...full)[1](g)];
        }
        return cache;
      };
      return [
        null,
        ...leaves.map((l, i) =>
          l.dtype === "int32" ? null : (g: Tensor) => {
            const [, ct, cf] = cts(g);
            const picked = choose(on, ct[i], cf[i]);
            return vjp(p.expand[i], l)[1](picked)[0];
          }
        ),
      ];
    },
    jvp: ([on, ...leaves], tangents) => {
      const ts = leaves.map((l, i) => tangents[i + 1] ?? zerosLike(l));
      const along = (g: (...l: Tensor[]) => Tensor) =>
        jvp((...a: Tensor[]) => g(...a), leaves, ts)[1];
      return choose(on, along(p.t), along(p.f));
    },
    batch: (vals, dims) => {
      // another vmap around this one: its axis goes in front of everything
      const size = batchSize(vals, dims);
      const front = vals.map((v, i) => batchFront(v, dims[i], size));
      const vm = (g: (...l: Tensor[]) => Tensor) =>
        vmap(g, { inAxes: 0, axisSize: size }) as (...l: Tensor[]) => Tensor;
      const outer: Pick = {
        t: vm(p.t),
        f: vm(p.f),
        tFull: vm(p.tFull),
        fFull: vm(p.fFull),
        expand: p.expand.map((e) => vm(e)),
        lead: [size, ...p.lead],
      };
      return [bindRule(pickRule(fn, roles, outer), front, {}), 0];
    },
  }, {
    skip: 1,
    fns: { branches: [p.t, p.f] },
    params: { perExample: true },
  });
}

/**
 * Runs `trueFn(...operands)` if `pred` is true (nonzero; NaN is an error)
 * and `falseFn(...operands)` otherwise, as `jax.lax.cond`: both take the
 * operands (trees of tensors) and return trees of the same structure,
 * shapes and dtypes.
 *
 * A predicate with a value (a boolean, or a scalar tensor outside `jit`
 * and `vmap`, under `grad` too) just picks the function to call, so this
 * is an `if` that reads well in a jitted model. Under `jit` the plan reads
 * the predicate on every call and runs the branch it picks; under `vmap`
 * with a predicate per example both branches run and each example gets its
 * branch's result. Derivatives are the chosen branch's. In those two cases
 * the branches must take every traced tensor they use as an operand (a
 * closure over a traced value is an error), and their results are checked
 * against each other when each first runs.
 *
 * @example
 * ```ts
 * import { cond, greater, grad, jit, mul, neg, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // |x|·2 for a positive sum, else -x: the branch is picked per call, also jitted
 * const f = (x: Tensor) => cond(greater(sum(x), 0), (v: Tensor) => mul(v, 2), neg, x);
 * const fj = jit(f);
 * assert.deepEqual(toArray(fj(tensor([1, 2]))), [2, 4]);
 * assert.deepEqual(toArray(fj(tensor([-1, -2]))), [1, 2]);
 * assert.equal(fj.traceCount(), 1);
 * assert.deepEqual(toArray(grad((x: Tensor) => sum(f(x)))(tensor([-1, -2]))), [-1, -1]);
 * ```
 */
export function cond<A extends Tree[], R extends Tree>(
  pred: Tensor | boolean,
  trueFn: (...operands: A) => R,
  falseFn: (...operands: A) => R,
  ...operands: A
): R {
  return condWith(
    "cond",
    ["trueFn", "falseFn"],
    pred,
    trueFn,
    falseFn,
    ...operands,
  );
}

/** The names errors give a cond's two branches (cond's own, or switch's branches). */
type Roles = readonly [string, string];

/** {@linkcode cond} as `fn` (cond or switch), its branches named `roles` in errors. */
function condWith<A extends Tree[], R extends Tree>(
  fn: string,
  roles: Roles,
  pred: Tensor | boolean,
  trueFn: (...operands: A) => R,
  falseFn: (...operands: A) => R,
  ...operands: A
): R {
  checkPred(fn, "pred", pred);
  checkFunction(fn, roles[0], trueFn);
  checkFunction(fn, roles[1], falseFn);
  const value = typeof pred === "boolean" ? pred : readable(pred);
  if (value !== null) {
    const on = typeof value === "boolean" ? value : truth(fn, "pred", value);
    return (on ? trueFn : falseFn)(...operands);
  }
  const [leaves, opSig] = sigOf(fn, "operands", operands);
  const box = new SigBox(fn);
  const packed = (role: string, f: (...a: A) => R) => (...ls: Tensor[]) => {
    const args = unflattenLeaves(opSig.def, ls, opSig.kinds) as A;
    return pack(box.check(role, f(...args)), box.sig!);
  };
  const out = bindRule(
    condRule(fn, packed(roles[0], trueFn), packed(roles[1], falseFn), roles),
    [pred as Tensor, ...leaves],
    {},
  );
  return unpack(out, box.sig!) as R;
}

/**
 * Runs `branches[index](...operands)`, as `jax.lax.switch`: an index
 * outside `[0, branches.length)` is clamped into it, as JAX's. A number or
 * an int32 scalar with a value just picks the branch; a traced index
 * (under `jit`, or one per example under `vmap`) makes nested `cond`s on
 * `index <= k`, so one trace serves every index, and under `vmap` every
 * branch runs and each example gets its own. The branches take the
 * operands (trees of tensors) and return trees of one structure, shapes
 * and dtypes; derivatives are the chosen branch's. Exported as `switch`
 * (`T.switch(...)`; a reserved word, so `import { switch as lswitch }`).
 *
 * @example
 * ```ts
 * import { jit, mul, neg, switch as lswitch, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const branches = [neg, (x: Tensor) => mul(x, 2), (x: Tensor) => mul(x, x)];
 * const f = jit((i: Tensor, x: Tensor) => lswitch(i, branches, x));
 * const x = tensor([3]);
 * const at = (i: number) => toArray(f(tensor(i, { dtype: "int32" }), x));
 * assert.deepEqual([at(0), at(1), at(2), at(7)], [[-3], [6], [9], [9]]);
 * assert.equal(f.traceCount(), 1);
 * ```
 */
function switchCase<A extends Tree[], R extends Tree>(
  index: Tensor | number,
  branches: readonly ((...operands: A) => R)[],
  ...operands: A
): R {
  const fn = "switch";
  if (!Array.isArray(branches) || branches.length === 0) {
    throw new Error(
      `${fn}: branches must be a non-empty array of functions, got ${
        describe(branches)
      }`,
    );
  }
  branches.forEach((b, i) => checkFunction(fn, `branches[${i}]`, b));
  const ok = typeof index === "number"
    ? Number.isSafeInteger(index)
    : isTensor(index) && index.shape.length === 0 && index.dtype === "int32";
  if (!ok) {
    throw new Error(
      `${fn}: index must be an integer or an int32 scalar tensor, got ${
        typeof index === "number" ? index : describe(index)
      }`,
    );
  }
  const last = branches.length - 1;
  const value = typeof index === "number" ? index : readable(index)?.data[0];
  if (value !== undefined && value !== null) {
    return branches[Math.min(Math.max(value, 0), last)](...operands);
  }
  // index <= k picks branch k, else the conds of the later branches; the
  // index travels as an operand (a branch may not close over a traced value)
  const from = (k: number) => (i: Tensor, ...ops: A): R =>
    k === last ? branches[k](...ops) : condWith(
      fn,
      [
        `branches[${k}]`,
        k + 1 === last ? `branches[${last}]` : `branches[${k + 1}..${last}]`,
      ],
      lessEqual(i, k),
      (_: Tensor, ...o: A) => branches[k](...o),
      from(k + 1),
      i,
      ...ops,
    );
  const clamped = maximum(minimum(index as Tensor, last), 0);
  return from(0)(clamped, ...operands);
}
export { switchCase as switch };

/**
 * `whileLoop`'s primitive over the carry's leaves: runs the loop on them
 * and packs the final carry. `test` is the condition on the leaves (a
 * scalar), `step` the body's leaves, `box` the carry's signature.
 */
function whileRule(
  fn: string,
  test: (...leaves: Tensor[]) => Tensor,
  step: (...leaves: Tensor[]) => Tensor[],
  box: SigBox,
): Rule<Empty> {
  return staged({
    name: fn,
    forward: (leaves) => {
      let ls = leaves;
      for (;;) {
        const p = test(...ls);
        if (p instanceof Tracer) throw closureError(fn, "condFn");
        if (!truth(fn, "condFn's result", p)) return pack(ls, box.sig!);
        ls = step(...ls);
        if (ls.some((l) => l instanceof Tracer)) {
          throw closureError(fn, "bodyFn");
        }
      }
    },
    vjp: (leaves) =>
      leaves.map(() => () => {
        throw new NoReverseMode(
          `${fn}: reverse-mode differentiation of a loop whose condition is traced (under jit or vmap) is not supported, as in JAX: use foriLoop with number bounds or scan, which unroll, or differentiate outside jit`,
        );
      }),
    jvp: (leaves, tangents) => {
      const n = leaves.length;
      const ts = leaves.map((l, i) => tangents[i] ?? zerosLike(l));
      const both = whileLoop(
        (c: Tensor[]) => test(...c.slice(0, n)),
        (c: Tensor[]) => {
          const [out, dout] = jvp(
            (...ls: Tensor[]) => step(...ls),
            c.slice(0, n),
            c.slice(n),
          );
          return [...out, ...dout];
        },
        [...leaves, ...ts],
      );
      return pack(both.slice(n), box.sig!);
    },
    batch: (vals, dims) => {
      const b = batchSize(vals, dims);
      const ls0 = vals.map((v, i) => batchFront(v, dims[i], b));
      const testB = (...ls: Tensor[]) =>
        noLeak(
          fn,
          "condFn",
          vals,
          vmap((...a: Tensor[]) => test(...a))(...ls) as Tensor,
        );
      // while any example's condition holds; the others keep their carry
      // (picked per example by a primitive whose derivatives are each
      // example's own: a finished example's body may give NaN or inf)
      const pick = perExample(
        (...a: Tensor[]) => pack(step(...a), box.sig!),
        (...a: Tensor[]) => pack(a, box.sig!),
        ls0.map(() => 0),
        b,
      );
      const stepB = (...ls: Tensor[]) =>
        noLeak(
          fn,
          "bodyFn",
          vals,
          vmap((...a: Tensor[]) => step(...a))(...ls) as Tensor[],
        );
      // (only reverse mode needs the primitive; plain ops jit better)
      const reverse = vals.some(underReverse);
      const final = whileLoop(
        (ls: Tensor[]) => any(testB(...ls)),
        (ls: Tensor[]) => {
          const on = testB(...ls);
          if (reverse) {
            const next = bindRule(
              pickRule(fn, ["bodyFn", "bodyFn"], pick),
              [on, ...ls],
              {},
            );
            return unpackLeaves(next, box.sig!, [b]);
          }
          return stepB(...ls).map((x, i) =>
            where(leadShaped(on, [b], x.shape.length), x, ls[i])
          );
        },
        ls0,
      );
      return [pack(final, box.sig!, [b]), 0];
    },
  }, {
    skip: 0,
    fns: { condJaxpr: test, bodyJaxpr: step },
    result: (...leaves) => pack(leaves, box.sig!),
  });
}

/**
 * `while (condFn(carry)) carry = bodyFn(carry)`, returning the final
 * carry, as `jax.lax.while_loop`: the carry is a tree of tensors that
 * `bodyFn` returns with the same structure, shapes and dtypes, and
 * `condFn` returns a scalar (true when nonzero; NaN is an error, so a
 * computation gone wrong cannot loop forever).
 *
 * A condition with a value (outside `jit` and `vmap`, under `grad` too)
 * runs an ordinary loop, which every transform sees turn by turn. Under
 * `jit` the loop is one step of the plan that reads the condition on every
 * call; under `vmap` with a condition per example it runs while any holds,
 * each example keeping its carry once its own fails. Forward-mode
 * derivatives run the loop on the tangents too; reverse mode through a
 * traced condition is an error (as JAX's: use `foriLoop` with number
 * bounds, or `scan`). As with {@linkcode cond}, the functions then take
 * every traced tensor they use through the carry.
 *
 * @example
 * ```ts
 * import { jit, less, mul, tensor, toArray, type Tensor, whileLoop } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // doubles x until it reaches 100; how many turns depends on the value
 * const grow = jit((x: Tensor) => whileLoop((v: Tensor) => less(v, 100), (v: Tensor) => mul(v, 2), x));
 * assert.equal(toArray(grow(tensor(3))), 192);
 * assert.equal(toArray(grow(tensor(60))), 120);
 * assert.equal(grow.traceCount(), 1);
 * ```
 */
export function whileLoop<C extends Tree>(
  condFn: (carry: C) => Tensor | boolean,
  bodyFn: (carry: C) => C,
  init: C,
): C {
  const fn = "whileLoop";
  checkFunction(fn, "condFn", condFn);
  checkFunction(fn, "bodyFn", bodyFn);
  const box = new SigBox(fn);
  box.check("init", init);
  let carry = init;
  for (;;) {
    const p = condFn(carry);
    checkPred(fn, "condFn's result", p);
    const value = typeof p === "boolean" ? p : readable(p);
    if (value === null) break;
    if (
      typeof value === "boolean" ? !value : !truth(fn, "condFn's result", value)
    ) {
      return carry;
    }
    carry = bodyFn(carry);
    box.check("bodyFn", carry);
  }
  // the condition has no value here: the rest of the loop is one primitive
  const [leaves, sig] = sigOf(fn, "the carry", carry);
  const tree = (ls: Tensor[]) => unflattenLeaves(sig.def, ls, sig.kinds) as C;
  const test = (...ls: Tensor[]) => {
    const p = condFn(tree(ls));
    checkPred(fn, "condFn's result", p);
    return typeof p === "boolean" ? tensor(p ? 1 : 0, { dtype: "int32" }) : p;
  };
  const step = (...ls: Tensor[]) => box.check("bodyFn", bodyFn(tree(ls)));
  const out = bindRule(whileRule(fn, test, step, box), leaves, {});
  return unpack(out, sig) as C;
}

/**
 * `for (i = lower; i < upper; i++) val = bodyFn(i, val)`, returning the
 * final `val`, as `jax.lax.fori_loop`; `i` is an int32 scalar tensor.
 * With number bounds (or scalars with values) the loop runs turn by turn,
 * so every transform sees it unrolled (reverse mode included); with bounds
 * traced under `jit` or `vmap` it is a {@linkcode whileLoop} over
 * `[i, upper, val]`.
 *
 * @example
 * ```ts
 * import { add, foriLoop, grad, mul, tensor, toArray, type Tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // x^8 by three squarings, differentiated: 8 x^7
 * const pow8 = (x: Tensor) => foriLoop(0, 3, (_i: Tensor, v: Tensor) => mul(v, v), x);
 * assert.equal(toArray(grad(pow8)(tensor(1.5))), 8 * 1.5 ** 7);
 * // the index is a tensor: 0 + 1 + 2 + 3
 * assert.equal(toArray(foriLoop(0, 4, (i: Tensor, s: Tensor) => add(s, i), tensor(0, { dtype: "int32" }))), 6);
 * ```
 */
export function foriLoop<C extends Tree>(
  lower: number | Tensor,
  upper: number | Tensor,
  bodyFn: (i: Tensor, val: C) => C,
  init: C,
): C {
  const fn = "foriLoop";
  checkFunction(fn, "bodyFn", bodyFn);
  const bound = (name: string, v: number | Tensor): number | Tensor => {
    // (an int32 as JAX's: a bound of 1e12 would loop for months)
    const ok = typeof v === "number"
      ? Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31
      : isTensor(v) && v.shape.length === 0 && v.dtype === "int32";
    if (!ok) {
      throw new Error(
        `${fn}: ${name} must be an integer in int32's range or an int32 scalar tensor, got ${
          typeof v === "number" ? v : describe(v)
        }`,
      );
    }
    if (typeof v === "number") return v;
    const c = readable(v);
    return c ? c.data[0] : v;
  };
  const lo = bound("lower", lower), hi = bound("upper", upper);
  if (typeof lo === "number" && typeof hi === "number") {
    const box = new SigBox(fn);
    box.check("init", init);
    let val = init;
    for (let i = lo; i < hi; i++) {
      val = bodyFn(tensor(i, { dtype: "int32" }), val);
      box.check("bodyFn", val);
    }
    return val;
  }
  const int = (v: number | Tensor) =>
    typeof v === "number" ? tensor(v, { dtype: "int32" }) : v;
  const [, , out] = whileLoop(
    ([i, u]: [Tensor, Tensor, C]) => less(i, u),
    ([i, u, v]: [Tensor, Tensor, C]) =>
      [add(i, 1), u, bodyFn(i, v)] as [Tensor, Tensor, C],
    [int(lo), int(hi), init] as [Tensor, Tensor, C],
  );
  return out;
}

/** Options of {@linkcode scan}. */
export interface ScanOptions {
  /** The number of turns when `xs` is null (else it must be xs's leading length). */
  length?: number;
  /** Run from the last entry of xs to the first (ys stay in xs's order). Default false. */
  reverse?: boolean;
}

/**
 * Scans `f` over the leading axis of `xs`, carrying a value, as
 * `jax.lax.scan`: `[carry, y] = f(carry, x)` for each entry x of xs (a
 * tree of tensors sliced along axis 0, or null with `options.length`);
 * returns the final carry and the ys stacked along a new leading axis (ys
 * null when f's y is null, as JAX's `None`: a scan for its carry alone). The
 * carry keeps its structure, shapes and dtypes. The loop is unrolled (each
 * transform sees its turns), so it differentiates in both modes and jits
 * to one plan; a very long scan makes a long plan. Each turn's x is a slice
 * of xs; the reverse pass sums the turns' gradients into one value of xs's
 * shape in one pass (`assembleWindows`), not padding each to xs's size.
 *
 * @example
 * ```ts
 * import { add, scan, tensor, toArray, type Tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // a running sum: the carry is the sum so far, each y the sum after it
 * const [total, sums] = scan((c: Tensor, x: Tensor) => { const s = add(c, x); return [s, s]; }, tensor(0), tensor([1, 2, 3, 4]));
 * assert.equal(toArray(total), 10);
 * assert.deepEqual(toArray(sums), [1, 3, 6, 10]);
 * ```
 */
export function scan<
  C extends Tree,
  X extends Tree | null,
  Y extends Tree | null,
>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs: X,
  options?: ScanOptions,
): [C, Y] {
  const fn = "scan";
  checkFunction(fn, "f", f);
  const o = options ?? {};
  if (typeof o !== "object") {
    throw new Error(`${fn}: options must be an object, got ${describe(o)}`);
  }
  for (const k of Object.keys(o)) {
    if (k !== "length" && k !== "reverse") {
      throw new Error(
        `${fn}: unknown option "${k}"; expected length or reverse`,
      );
    }
  }
  const [xl, xsig] = xs === null ? [[], null] : sigOf(fn, "xs", xs);
  const lens = new Set(xl.map((l) => l.shape[0]));
  if (xl.some((l) => l.shape.length === 0)) {
    throw new Error(`${fn}: every leaf of xs needs a leading axis to scan`);
  }
  if (
    o.length !== undefined &&
    !(Number.isInteger(o.length) && o.length >= 0 && o.length < 2 ** 31)
  ) {
    throw new Error(
      `${fn}: options.length must be an integer in [0, 2^31 - 1], got ${
        describe(o.length)
      }`,
    );
  }
  if (o.reverse !== undefined && typeof o.reverse !== "boolean") {
    throw new Error(
      `${fn}: options.reverse must be a boolean, got ${describe(o.reverse)}`,
    );
  }
  if (o.length !== undefined) lens.add(o.length);
  if (lens.size !== 1) {
    throw new Error(
      lens.size === 0
        ? `${fn}: give xs or options.length (how many turns)`
        : `${fn}: xs's leaves and options.length must agree on the length, got ${
          [...lens].join(", ")
        }`,
    );
  }
  const n = [...lens][0];
  const xTree = (ls: Tensor[]) =>
    (xsig === null ? null : unflattenLeaves(xsig.def, ls, xsig.kinds)) as X;
  const xAt = (i: number) =>
    xTree(xl.map((l) => reshape(slice(l, [i], [i + 1]), l.shape.slice(1))));
  const carryBox = new SigBox(fn), yBox = new SigBox(fn);
  carryBox.check("init", init);
  const turn = (carry: C, x: X): [C, Tensor[]] => {
    const r = f(carry, x);
    if (!Array.isArray(r) || r.length !== 2) {
      throw new Error(`${fn}: f must return [carry, y], got ${describe(r)}`);
    }
    carryBox.check("f's carry", r[0]);
    // a null y (JAX's None: nothing to stack) makes ys null
    yNull ??= r[1] === null;
    if (yNull !== (r[1] === null)) {
      throw new Error(
        `${fn}: f's y must be null on every turn or on none, got ${
          describe(r[1])
        }`,
      );
    }
    return [r[0], yNull ? [] : yBox.check("f's y", r[1])];
  };
  let yNull: boolean | undefined;
  if (n === 0) {
    // no turn: the ys' structure and shapes from one turn on zeros
    const x0 = xTree(
      xl.map((l) => zeros(l.shape.slice(1), { dtype: l.dtype })),
    );
    const [, y0] = turn(init, x0), sig = yBox.sig!;
    if (yNull) return [init, null as Y];
    const empty = y0.map((y) => zeros([0, ...y.shape], { dtype: y.dtype }));
    return [init, unflattenLeaves(sig.def, empty, sig.kinds) as Y];
  }
  let carry = init;
  const ys: Tensor[][] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = o.reverse ? n - 1 - k : k;
    [carry, ys[i]] = turn(carry, xAt(i));
  }
  if (yNull) return [carry, null as Y];
  const sig = yBox.sig!;
  const stacked = sig.shapes.map((_, j) => stack(ys.map((y) => y[j])));
  return [carry, unflattenLeaves(sig.def, stacked, sig.kinds) as Y];
}
