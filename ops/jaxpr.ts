/**
 * `makeJaxpr`, as `jax.make_jaxpr`: the program `jit` records for a call,
 * printed in JAX's jaxpr notation, so a reader can see what a transform
 * turned a function into (`makeJaxpr(grad(f))` shows the forward pass and
 * the VJP rules' ops that make the gradient).
 *
 * Control flow prints as JAX prints it: a `cond`, `switch` or `whileLoop`
 * that `jit` records as one primitive (its predicate has no value while
 * tracing) shows its functions as nested jaxprs in the equation's
 * parameters, traced at their operands' shapes and dtypes (no branch is
 * chosen and no loop runs to print them).
 *
 * @module
 */
import {
  checkOptions,
  describe,
  type DType,
  fmtShape,
  type Tensor,
  tensor,
  zeros,
} from "./tensor.ts";
import { newLevel, type Rule, Tracer } from "./trace.ts";
import { checkFunction } from "./_args.ts";
import { flattenArgs, type Plan, trace } from "./jit.ts";
import type { Ref } from "./fusion.ts";
import { flattenLeaves } from "./tree.ts";
import { type Staged, stagedOf } from "./control_flow.ts";

/** A variable of a jaxpr: its name, dtype and shape. */
export interface JaxprVar {
  /** a, b, ..., z, ba, ... in the order the variables appear. */
  readonly name: string;
  /** The value's dtype. */
  readonly dtype: DType;
  /** The value's shape. */
  readonly shape: readonly number[];
}

/** One equation: a primitive applied to variables or literals, binding a new variable. */
export interface JaxprEqn {
  /** The primitive's name (the library's, e.g. "mul", "conv2d"). */
  readonly primitive: string;
  /** Its inputs: variable names, or literals (a scalar constant) as text. */
  readonly inputs: readonly string[];
  /** The variable it binds. */
  readonly out: JaxprVar;
  /**
   * Its parameters that print as values (axes, strides, ...); closures and
   * tensors are left out. A control-flow primitive's functions are here as
   * nested {@linkcode Jaxpr}s, as in JAX: `cond`'s and `switch`'s
   * `branches` (an array: the true branch first, see
   * {@linkcode makeJaxpr}), `whileLoop`'s `condJaxpr` and `bodyJaxpr`.
   */
  readonly params: Readonly<Record<string, unknown>>;
}

/** A recorded program, as `jax.make_jaxpr` returns: `toString()` prints it in JAX's notation. */
export interface Jaxpr {
  /** The constants it reads (tensors closed over that are not scalars; scalars print as literals). */
  readonly constvars: readonly JaxprVar[];
  /** The leaves of the (non-static) arguments, in order. */
  readonly invars: readonly JaxprVar[];
  /** The equations, in the order they ran (those the outputs do not need are left out). */
  readonly eqns: readonly JaxprEqn[];
  /** The output leaves: variable names or literals. */
  readonly outvars: readonly string[];
  /** `{ lambda consts; args. let eqns in (outs) }`, as JAX prints a jaxpr. */
  toString(): string;
}

/** Options of {@linkcode makeJaxpr}. */
export interface MakeJaxprOptions {
  /** Positions of arguments passed as they are (settings), as `jit`'s. */
  staticArgnums?: number | readonly number[];
}

const SHORT: Record<DType, string> = {
  float32: "f32",
  float64: "f64",
  int32: "i32",
};

/** JAX's variable names: a, b, ..., z, ba, bb, ... */
function varName(n: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

/**
 * A float as numpy prints a scalar of its dtype (Python's `repr`): the
 * shortest digits that give the value back in that dtype (`0.1` for float32's
 * 0.100000001...), `2.0`, `1e-05`, `1e+30`, `nan`, `inf`, `-0.0`.
 */
function floatText(x: number, f32: boolean): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  let sci = x.toExponential();
  if (f32) {
    for (let p = 0; p <= 8; p++) {
      const t = x.toExponential(p);
      if (Math.fround(Number(t)) === x) {
        sci = t;
        break;
      }
    }
  }
  const [mant, expStr] = sci.split("e");
  const e = Number(expStr);
  if (e < -4 || e >= 16) {
    const m = mant.includes(".") ? mant.replace(/\.?0+$/, "") : mant;
    return `${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  const s = String(Number(sci));
  return s.includes(".") ? s : `${s}.0`;
}

/** A parameter value as text: numbers as Python prints them (`inf`, not JSON's `null`). */
function paramText(v: unknown, top = true): string {
  if (typeof v === "number") {
    return Number.isInteger(v) && !Object.is(v, -0)
      ? String(v)
      : floatText(v, false);
  }
  if (typeof v === "string") return top ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => paramText(x, false))}]`;
  if (v !== null && typeof v === "object") {
    return `{${
      Object.entries(v).map(([k, x]) =>
        `${JSON.stringify(k)}:${paramText(x, false)}`
      )
    }}`;
  }
  return String(v);
}

/** `name:f32[2,3]`. */
const typed = (v: JaxprVar) => `${v.name}:${SHORT[v.dtype]}[${v.shape}]`;

/** A parameter value that prints (numbers, strings, booleans, null and arrays or plain objects of them), or undefined. */
function printable(v: unknown, depth = 0): unknown {
  if (depth > 3) return undefined;
  if (
    v === null || typeof v === "number" || typeof v === "string" ||
    typeof v === "boolean"
  ) return v;
  if (Array.isArray(v)) {
    const xs = v.map((x) => printable(x, depth + 1));
    return xs.every((x) => x !== undefined) ? xs : undefined;
  }
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const entries = Object.entries(v as object)
      .map(([k, x]) => [k, printable(x, depth + 1)] as const)
      .filter(([, x]) => x !== undefined);
    return Object.fromEntries(entries);
  }
  return undefined;
}

/** A value's shape and dtype: what a nested jaxpr is traced at (JAX's abstract value). */
interface Aval {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** The nested jaxprs made here (to print them as jaxprs, not as parameter values). */
const made = new WeakSet<object>();
const isJaxpr = (v: unknown): v is Jaxpr =>
  typeof v === "object" && v !== null && made.has(v);

/**
 * A value known only by its shape and dtype, as JAX's abstract values: the
 * inputs of a control-flow primitive's functions when `makeJaxpr` traces
 * them. A primitive applied to it is not run on data: a control-flow
 * primitive's result shape comes from tracing its functions (so no loop
 * runs and no branch is chosen), and any other's from its kernel run on
 * zeros of its inputs' shapes (the library has no shape rules of its own).
 */
class AbstractTracer extends Tracer {
  constructor(level: number, zeros: Tensor) {
    super(level, zeros);
    Object.freeze(this);
  }
  process<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor {
    const st = stagedOf(rule);
    let aval: Aval;
    if (st) {
      aval = stagedPlans(rule, st, inputs.slice(st.skip)).out;
    } else {
      // (any traced input, this level's or a value closed over from
      // outside, as zeros of its shape; identity matrices for a kernel
      // that rejects zeros, as a solve or a Cholesky factorization does)
      const run = (eye: boolean) =>
        rule.forward(
          inputs.map((x) =>
            x instanceof Tracer ? eye ? eyeOf(x) : zerosOf(x) : x
          ),
          params,
        );
      try {
        aval = run(false);
      } catch (e) {
        try {
          aval = run(true);
        } catch {
          throw new Error(
            `makeJaxpr: tracing a control-flow function at its operands' shapes, the kernel of ${rule.name} ran on zeros and on identity matrices of its inputs' shapes (to learn its result's shape) and rejected both: ${
              (e as Error).message
            }`,
          );
        }
      }
    }
    return new AbstractTracer(this.level, zerosOf(aval));
  }
  concrete(): Tensor {
    return this;
  }
  override get data(): Tensor["data"] {
    throw new Error(
      `makeJaxpr: a control-flow function read the data of a value known only by its shape (${
        SHORT[this.dtype]
      }${
        fmtShape(this.shape)
      }) while its jaxpr was traced; compute with ops instead`,
    );
  }
}

/** The placeholders of each shape and dtype, made once per makeJaxpr call (no op writes into its input). */
let zerosMade = new Map<string, Tensor>();
const cached = (key: string, make: () => Tensor): Tensor => {
  let z = zerosMade.get(key);
  if (!z) zerosMade.set(key, z = make());
  return z;
};
const zerosOf = (a: Aval): Tensor =>
  cached(
    `${a.dtype}[${a.shape}]`,
    () => zeros([...a.shape], { dtype: a.dtype }),
  );

/** Identity matrices in the last two axes (ones for fewer axes; zeros for int32, as indices). */
const eyeOf = (a: Aval): Tensor =>
  a.dtype === "int32"
    ? zerosOf(a)
    : cached(`eye ${a.dtype}[${a.shape}]`, () => {
      const n = a.shape.reduce((p, q) => p * q, 1), r = a.shape.length;
      const rows = r < 2 ? 1 : a.shape[r - 2],
        cols = r < 1 ? 1 : a.shape[r - 1];
      const data = a.dtype === "float64"
        ? new Float64Array(n)
        : new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const col = i % cols, row = Math.floor(i / cols) % rows;
        data[i] = r < 2 || row === col ? 1 : 0;
      }
      return tensor(data, { shape: [...a.shape], dtype: a.dtype });
    });

/** A function's recorded plan, traced at the avals of its arguments' leaves. */
interface SubPlan {
  plan: Plan;
  avals: readonly Aval[];
}

/** The plans of a control-flow primitive's functions (by parameter name), and its result's aval. */
interface StagedPlans {
  fns: Record<string, SubPlan | SubPlan[]>;
  params: Readonly<Record<string, unknown>>;
  out: Aval;
}

/**
 * Traces `f` on values known only by `avals` (fresh {@linkcode AbstractTracer}s
 * under a jit trace): the plan of what it does at any values of those
 * shapes and dtypes.
 */
function traceAbstract(
  f: (...leaves: Tensor[]) => Tensor | Tensor[],
  avals: readonly Aval[],
): SubPlan {
  const level = newLevel();
  const leaves = avals.map((a) => new AbstractTracer(level, zerosOf(a)));
  const { def, kinds } = flattenLeaves(leaves);
  const [, plan] = trace(
    (ls: Tensor[]) => f(...ls),
    [leaves],
    [0],
    [[leaves, def]],
    [kinds],
  );
  return {
    plan,
    avals: avals.map((a) => ({ shape: a.shape, dtype: a.dtype })),
  };
}

/** Each rule's staged plans, by its inputs' avals (traced once: nested ones when their result's shape is needed). */
const plansCache = new WeakMap<object, Map<string, StagedPlans>>();

/** The plans of the functions of the control-flow rule `rule` on `inputs` (its inputs after `st.skip`). */
function stagedPlans(
  rule: object,
  st: Staged,
  inputs: readonly Aval[],
): StagedPlans {
  const avals = inputs.map((x) => ({ shape: x.shape, dtype: x.dtype }));
  const key = JSON.stringify(avals);
  let byAvals = plansCache.get(rule);
  if (!byAvals) plansCache.set(rule, byAvals = new Map());
  const hit = byAvals.get(key);
  if (hit) return hit;
  const fns: Record<string, SubPlan | SubPlan[]> = {};
  let first: SubPlan | undefined;
  for (const [k, v] of Object.entries(st.fns)) {
    type Fn = (...l: Tensor[]) => Tensor | Tensor[];
    const one = (g: Fn) => {
      const sp = traceAbstract(g, avals);
      first ??= sp;
      return sp;
    };
    fns[k] = Array.isArray(v) ? v.map(one) : one(v as Fn);
  }
  const res = st.result ? traceAbstract(st.result, avals) : first!;
  const r = res.plan.outs[0], nIn = res.plan.nIn;
  const out: Aval = typeof r !== "number"
    ? r
    : r < nIn
    ? avals[r]
    : res.plan.steps[r - nIn]!;
  const plans = { fns, params: st.params ?? {}, out };
  byAvals.set(key, plans);
  return plans;
}

/** The names of a jaxpr and the jaxprs nested in it: a, b, ... in the order they print (as JAX names them). */
interface Names {
  count: number;
}

/** The jaxpr of a recorded plan whose arguments' leaves have `leaves`' shapes and dtypes. */
function jaxprOf(
  plan: Plan,
  leaves: readonly Aval[],
  ctx: Names = { count: 0 },
): Jaxpr {
  const fresh = (t: Aval): JaxprVar =>
    Object.freeze({
      name: varName(ctx.count++),
      dtype: t.dtype,
      shape: Object.freeze([...t.shape]),
    });
  const constvars: JaxprVar[] = [];
  const consts = new Map<Tensor, string>();
  // constants first (JAX lists them first), then the arguments
  const refs = [
    ...plan.steps.flatMap((st) => st?.inputs ?? []),
    ...plan.outs,
  ];
  for (const r of refs) {
    if (
      typeof r === "number" || consts.has(r) ||
      (r.shape.length === 0 && !(r instanceof Tracer))
    ) continue;
    const v = fresh(r);
    constvars.push(v);
    consts.set(r, v.name);
  }
  const invars = leaves.map((l) => fresh(l));
  const names: string[] = invars.map((v) => v.name);
  const avals: Aval[] = [...leaves];
  const literal = (t: Tensor) => {
    const x = t.data[0];
    const text = t.dtype === "int32"
      ? String(x)
      : floatText(x, t.dtype === "float32");
    return `${text}:${SHORT[t.dtype]}[]`;
  };
  const show = (r: Ref) =>
    typeof r === "number" ? names[r] : consts.get(r) ?? literal(r);
  const eqns: JaxprEqn[] = [];
  plan.steps.forEach((st, s) => {
    if (!st) return;
    avals[plan.nIn + s] = st;
    const out = fresh(st);
    names[plan.nIn + s] = out.name;
    const own = (printable(
      typeof st.params === "object" && st.params !== null ? st.params : {},
    ) ?? {}) as Record<string, unknown>;
    const staged = stagedOf(st.rule);
    let params: Record<string, unknown> = own;
    if (staged) {
      // a control-flow primitive: its functions as jaxprs, traced at its
      // inputs' shapes and dtypes, named on from this equation's result
      const ins = st.inputs.slice(staged.skip).map((r) =>
        typeof r === "number" ? avals[r] : r
      );
      const sp = stagedPlans(st.rule, staged, ins);
      const sub = ({ plan: p, avals: a }: SubPlan) => jaxprOf(p, a, ctx);
      params = {
        ...own,
        ...Object.fromEntries(
          Object.entries(sp.fns).map(([k, v]) => [
            k,
            Array.isArray(v) ? Object.freeze(v.map(sub)) : sub(v),
          ]),
        ),
        ...sp.params,
      };
    }
    eqns.push(Object.freeze({
      primitive: st.rule.name,
      inputs: Object.freeze(st.inputs.map(show)),
      out,
      params: Object.freeze(params),
    }));
  });
  const outvars = plan.outs.map(show);
  const j: Jaxpr = Object.freeze({
    constvars: Object.freeze(constvars),
    invars: Object.freeze(invars),
    eqns: Object.freeze(eqns),
    outvars: Object.freeze(outvars),
    toString: () => printJaxpr(j, 0, -1),
  });
  made.add(j);
  return j;
}

/** The width JAX's printer fits a nested jaxpr on one line in. */
const WIDTH = 80;

/**
 * `j` as text, its first line (from `{`) starting at column `col` (-1: the
 * outermost jaxpr, which always breaks) of a line indented by `ind`: on one
 * line when it has at most one equation, no nested jaxpr, and fits in
 * {@linkcode WIDTH} columns, else its equations on lines of their own
 * indented by `ind + 4` and `in` by `ind + 2`, as JAX prints it.
 */
function printJaxpr(j: Jaxpr, ind: number, col: number): string {
  const head = `{ lambda ${j.constvars.map(typed).join(" ")}; ${
    j.invars.map(typed).join(" ")
  }. let`;
  const tail = `in (${j.outvars.join(", ")}${
    j.outvars.length === 1 ? "," : ""
  }) }`;
  if (col >= 0 && j.eqns.length <= 1) {
    const flat = j.eqns.every((e) => !Object.values(e.params).some(nests));
    const line = [head, ...j.eqns.map((e) => printEqn(e, 0)), tail].join(" ");
    if (flat && col + line.length <= WIDTH) return line;
  }
  const pad = " ".repeat(ind + 4);
  return [
    head,
    ...j.eqns.map((e) => pad + printEqn(e, ind + 4)),
    `${" ".repeat(ind + 2)}${tail}`,
  ].join("\n");
}

/** Whether a parameter value holds nested jaxprs. */
const nests = (v: unknown) =>
  isJaxpr(v) || (Array.isArray(v) && v.some(isJaxpr));

/**
 * An equation as text, on a line indented by `ind`: `b:f32[2] = neg a`;
 * with nested jaxprs (a control-flow primitive's), its parameters one per
 * line, indented by two more, and the closing `]` back at `ind`, as JAX
 * prints `cond[ branches=( ... ) ] c a`.
 */
function printEqn(e: JaxprEqn, ind: number): string {
  const lhs = `${typed(e.out)} = ${e.primitive}`, args = e.inputs.join(" ");
  const kv = Object.entries(e.params);
  if (!kv.some(([, v]) => nests(v))) {
    const ps = kv.map(([k, v]) => `${k}=${paramText(v)}`);
    return `${lhs}${ps.length ? `[${ps.join(" ")}]` : ""} ${args}`;
  }
  const p = " ".repeat(ind + 2), q = " ".repeat(ind + 4);
  const lines = kv.map(([k, v]) => {
    if (isJaxpr(v)) {
      return `${p}${k}=${printJaxpr(v, ind + 2, ind + 3 + k.length)}`;
    }
    if (nests(v)) {
      return [
        `${p}${k}=(`,
        ...(v as Jaxpr[]).map((x) => q + printJaxpr(x, ind + 4, ind + 4)),
        `${p})`,
      ].join("\n");
    }
    return `${p}${k}=${paramText(v)}`;
  });
  return [`${lhs}[`, ...lines, `${" ".repeat(ind)}] ${args}`].join("\n");
}

/**
 * The program a call of `f` runs, as `jax.make_jaxpr`: `makeJaxpr(f)(...args)`
 * traces `f` as `jit` does (every primitive applied at the concrete level,
 * the derivative rules of any `grad`, `vjp` or `jvp` inside included) and
 * returns the recorded equations, which `String(jaxpr)` prints in JAX's
 * notation (`{ lambda ; a:f32[3]. let b:f32[3] = sin a ... in (c,) }`).
 * Primitive names are this library's. Equations whose results the outputs
 * do not need are left out, as the jit plan leaves them out. Static
 * arguments (`staticArgnums`) are passed as they are; the others must be
 * trees of tensors.
 *
 * Control flow: a `cond`, `switch` or `whileLoop` whose predicate is traced
 * is one equation whose parameters hold its functions as nested jaxprs
 * (JAX's layout: the parameters one per line, a nested jaxpr on one line
 * when it has at most one equation and fits in 80 columns; variables named
 * on in the order they print). They are traced at the operands' shapes and
 * dtypes, not run on their values: neither branch is picked and no loop
 * turns to print them (each primitive inside learns its result's shape from
 * its kernel run on zeros; a nested `cond` or `whileLoop`, by tracing its
 * own functions). A nested jaxpr takes the primitive's operands after the
 * predicate, as leaves, and returns the primitive's one result (the
 * branch's result tree packed into one vector, see `cond`); `whileLoop`'s
 * `condJaxpr` returns the scalar condition and `bodyJaxpr` the carry's
 * leaves. `cond`'s `branches` list the true branch first (the one a
 * nonzero predicate runs, as `cond(pred, trueFn, falseFn)` reads), unlike
 * JAX, whose cond takes an integer index and lists the false branch
 * (index 0) first. A traced `switch` index is clamped and makes nested
 * conds on `index <= k` (the printed `switch` equations): branch k first,
 * then the rest. Under `vmap` with a predicate per example, `cond` runs
 * both branches as plain ops (a `where` picks), except under reverse mode,
 * where it is one equation with `perExample=true`; `grad` shows the
 * forward `cond` and a `cond` of the branches' VJPs, `jvp` a `cond` (or
 * `whileLoop`) of the functions' JVPs. `scan`, `foriLoop` with number
 * bounds, and any construct whose predicate has a value (outside `jit`
 * and `vmap`) are unrolled or inlined by design, so they show as the ops
 * of each turn; `foriLoop` with traced bounds is a `whileLoop` over
 * `[i, upper, val]`.
 *
 * @example
 * ```ts
 * import { grad, makeJaxpr, mul, sin, sum, tensor, type Tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f = (x: Tensor) => sum(mul(sin(x), x));
 * const jaxpr = makeJaxpr(f)(tensor([1, 2, 3]));
 * assert.equal(String(jaxpr), [
 *   "{ lambda ; a:f32[3]. let",
 *   "    b:f32[3] = sin a",
 *   "    c:f32[3] = mul b a",
 *   "    d:f32[] = sum[axes=[0] keepDims=false] c",
 *   "  in (d,) }",
 * ].join("\n"));
 * // the gradient: the forward pass, then the VJP rules' ops
 * const g = makeJaxpr(grad(f))(tensor([1, 2, 3]));
 * assert.deepEqual(g.eqns.map((e) => e.primitive).slice(0, 2), ["sin", "mul"]);
 * assert.ok(g.eqns.some((e) => e.primitive === "cos"));
 * ```
 *
 * @example Control flow's functions are nested jaxprs
 * ```ts
 * import { cond, greater, makeJaxpr, mul, neg, sum, tensor, type Jaxpr, type Tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f = (x: Tensor) => cond(greater(sum(x), 0), neg, (v: Tensor) => mul(v, 2), x);
 * const j = makeJaxpr(f)(tensor([1, 2]));
 * assert.equal(String(j), [
 *   "{ lambda ; a:f32[2]. let",
 *   "    b:f32[] = sum[axes=[0] keepDims=false] a",
 *   "    c:i32[] = compare[op=gt] b 0.0:f32[]",
 *   "    d:f32[2] = cond[",
 *   "      branches=(",
 *   "        { lambda ; e:f32[2]. let f:f32[2] = neg e in (f,) }",
 *   "        { lambda ; g:f32[2]. let h:f32[2] = mul g 2.0:f32[] in (h,) }",
 *   "      )",
 *   "    ] c a",
 *   "  in (d,) }",
 * ].join("\n"));
 * // the structure, too: the true branch first
 * const [onTrue] = j.eqns[2].params.branches as Jaxpr[];
 * assert.equal(onTrue.eqns[0].primitive, "neg");
 * ```
 */
export function makeJaxpr<A extends unknown[]>(
  f: (...args: A) => unknown,
  options?: MakeJaxprOptions,
): (...args: A) => Jaxpr {
  const fn = "makeJaxpr";
  checkFunction(fn, "f", f);
  const o = checkOptions(fn, options, ["staticArgnums"]);
  return (...args: A): Jaxpr => {
    const { dynamic, flat } = flattenArgs(fn, args, o.staticArgnums);
    const leaves = flat.flatMap((a) => a.leaves);
    if (leaves.some((l) => l instanceof Tracer)) {
      throw new Error(
        `${fn}: called inside a transform (an argument is traced: ${
          describe(leaves.find((l) => l instanceof Tracer))
        }); make the jaxpr of the transformed function instead, e.g. makeJaxpr(grad(f))`,
      );
    }
    const [, plan] = trace(
      f as (...a: A) => never,
      args,
      dynamic,
      flat.map((a) => [a.leaves, a.def]),
      flat.map((a) => a.kinds),
    );
    const outer = zerosMade;
    zerosMade = new Map();
    try {
      return jaxprOf(plan, leaves);
    } finally {
      zerosMade = outer;
    }
  };
}
