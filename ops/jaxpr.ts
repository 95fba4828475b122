/**
 * `makeJaxpr`, as `jax.make_jaxpr`: the program `jit` records for a call,
 * printed in JAX's jaxpr notation, so a reader can see what a transform
 * turned a function into (`makeJaxpr(grad(f))` shows the forward pass and
 * the VJP rules' ops that make the gradient).
 *
 * @module
 */
import { describe, type DType, type Tensor } from "./tensor.ts";
import { Tracer } from "./trace.ts";
import { checkFunction } from "./_args.ts";
import { checkOptions } from "./tensor.ts";
import { flattenArgs, type Plan, trace } from "./jit.ts";
import type { Ref } from "./fusion.ts";

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
  /** Its parameters that print as values (axes, strides, ...); closures and tensors are left out. */
  readonly params: Readonly<Record<string, unknown>>;
}

/** A recorded program, as `jax.make_jaxpr` returns: `toString()` prints it in JAX's notation. */
export interface Jaxpr {
  /** The constants it reads (tensors closed over that are not scalars). */
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

/** The jaxpr of a recorded plan. */
function jaxprOf(plan: Plan, leaves: readonly Tensor[]): Jaxpr {
  let counter = 0;
  const fresh = (t: { dtype: DType; shape: readonly number[] }): JaxprVar =>
    Object.freeze({
      name: varName(counter++),
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
    if (typeof r === "number" || r.shape.length === 0 || consts.has(r)) {
      continue;
    }
    const v = fresh(r);
    constvars.push(v);
    consts.set(r, v.name);
  }
  const invars = leaves.map((l) => fresh(l));
  const names: string[] = invars.map((v) => v.name);
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
    const out = fresh(st);
    names[plan.nIn + s] = out.name;
    eqns.push(Object.freeze({
      primitive: st.rule.name,
      inputs: Object.freeze(st.inputs.map(show)),
      out,
      params: Object.freeze(
        (printable(
          typeof st.params === "object" && st.params !== null ? st.params : {},
        ) ?? {}) as Record<string, unknown>,
      ),
    }));
  });
  const outvars = plan.outs.map(show);
  const text = () => {
    const ps = (p: Readonly<Record<string, unknown>>) => {
      const kv = Object.entries(p).map(([k, v]) => `${k}=${paramText(v)}`);
      return kv.length ? `[${kv.join(" ")}]` : "";
    };
    const lines = eqns.map((e) =>
      `    ${typed(e.out)} = ${e.primitive}${ps(e.params)} ${
        e.inputs.join(" ")
      }`
    );
    return [
      `{ lambda ${constvars.map(typed).join(" ")}; ${
        invars.map(typed).join(" ")
      }. let`,
      ...lines,
      `  in (${outvars.join(", ")}${outvars.length === 1 ? "," : ""}) }`,
    ].join("\n");
  };
  return Object.freeze({
    constvars: Object.freeze(constvars),
    invars: Object.freeze(invars),
    eqns: Object.freeze(eqns),
    outvars: Object.freeze(outvars),
    toString: text,
  });
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
    return jaxprOf(plan, leaves);
  };
}
