/**
 * Gradient checking against central finite differences, as
 * `jax.test_util.check_grads`.
 *
 * @module
 */
import { checkOptions, describe, type Tensor } from "./tensor.ts";
import { outputChecked } from "./_args.ts";
import { add, astype, mul } from "./elementwise.ts";
import { jvp, vjp } from "./transforms.ts";
import { type Tree, treeFlatten, treeMap, treeUnflatten } from "./tree.ts";
import * as random from "./random.ts";

/** Options of {@linkcode checkGrads}. */
export interface CheckGradsOptions {
  /** Derivative order to check (1 or 2; 2 also checks the VJP/JVP functions). Default 2. */
  order?: number;
  /** Which modes: reverse (`vjp`) and/or forward (`jvp`). Default both. */
  modes?: ("rev" | "fwd")[];
  /** Finite-difference step. Default 1e-6. */
  eps?: number;
  /** Absolute tolerance. Default 1e-6. */
  atol?: number;
  /** Relative tolerance. Default 1e-5. */
  rtol?: number;
  /** Seed of the random directions. Default 0. */
  seed?: number;
}

let directionKey = random.key(0);
function randomLike(tree: Tree): Tree {
  const [leaves, def] = treeFlatten(tree);
  return treeUnflatten(
    def,
    leaves.map((l) => {
      if (l.dtype === "int32") return l.data.length ? mul(l, 0) : l;
      const [k, next] = random.split(directionKey);
      directionKey = next;
      return random.normal(k, l.shape, { dtype: "float64" });
    }),
  );
}

function toFloat64(tree: Tree): Tree {
  return treeMap(
    (l) => (l.dtype === "float32" ? astype(l, "float64") : l),
    tree,
  );
}

function axpy(a: number, x: Tree, y: Tree): Tree {
  return treeMap(
    (xl, yl) => (yl.dtype === "int32" ? yl : add(yl, mul(xl, a))),
    x,
    y,
  );
}

function flatValues(tree: Tree): number[] {
  return treeFlatten(tree)[0].flatMap((l: Tensor) => Array.from(l.data));
}

function vdot(a: Tree, b: Tree): number {
  const x = flatValues(a), y = flatValues(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

type Fn = (...args: Tree[]) => Tree;

function numericalJvp(
  f: Fn,
  args: Tree[],
  dirs: Tree[],
  eps: number,
): number[] {
  const plus = flatValues(f(...args.map((a, i) => axpy(eps, dirs[i], a))));
  const minus = flatValues(f(...args.map((a, i) => axpy(-eps, dirs[i], a))));
  return plus.map((p, i) => (p - minus[i]) / (2 * eps));
}

function compare(
  what: string,
  analytic: number[],
  numerical: number[],
  atol: number,
  rtol: number,
): void {
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < analytic.length; i++) {
    const err = Math.abs(analytic[i] - numerical[i]);
    const excess = err - (atol + rtol * Math.abs(numerical[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `checkGrads: ${what} mismatch at flat output index ${worst} of ${analytic.length}: analytic ${
        analytic[worst]
      } vs finite differences ${numerical[worst]} (|diff| ${
        Math.abs(analytic[worst] - numerical[worst])
      } > atol ${atol} + rtol ${rtol} * |numerical|)`,
    );
  }
}

function checkOnce(
  f: Fn,
  args: Tree[],
  mode: "rev" | "fwd",
  order: number,
  o: Required<CheckGradsOptions>,
): void {
  const dirs = args.map(randomLike);
  const num = numericalJvp(f, args, dirs, o.eps);
  if (mode === "fwd") {
    const [, t] = jvp(f, args, dirs);
    compare(`JVP (order ${order})`, flatValues(t), num, o.atol, o.rtol);
  } else {
    const [y, back] = vjp(f, ...args);
    const u = randomLike(y);
    const cts = back(u);
    const lhs = cts.reduce((s: number, c, i) => s + vdot(c, dirs[i]), 0);
    const flatU = flatValues(u);
    const rhs = num.reduce((s, v, i) => s + v * flatU[i], 0);
    compare(
      `VJP (order ${order}, <vjp(u), v> vs <u, J v>)`,
      [lhs],
      [rhs],
      o.atol,
      o.rtol,
    );
  }
}

/**
 * Checks the derivatives of `f` at `args` (an array of positional arguments,
 * each a tensor or a tree) against central finite differences along random
 * directions, in float64, as `jax.test_util.check_grads`. With `order: 2` it
 * also checks the derivatives of the VJP and JVP functions themselves.
 * Throws an error naming the worst mismatch.
 *
 * Types: `A` is the tuple of `f`'s parameters, trees of tensors, and `args`
 * must match it; `f` returns a tree of tensors.
 *
 * @example
 * ```ts
 * import { checkGrads, mul, sum, tanh, type Tensor, tensor } from "../mod.ts";
 * checkGrads((x: Tensor) => sum(mul(tanh(x), x)), [tensor([0.5, -1.2, 2])]);
 * ```
 */
export function checkGrads<A extends Tree[]>(
  f: (...args: A) => Tree,
  args: A,
  options?: CheckGradsOptions,
): void {
  if (options === undefined) options = {};
  const fn = "checkGrads";
  checkOptions(fn, options, ["order", "modes", "eps", "atol", "rtol", "seed"]);
  if (typeof f !== "function") {
    throw new Error(`${fn}: f must be a function, got ${describe(f)}`);
  }
  if (!Array.isArray(args)) {
    throw new Error(
      `${fn}: args must be an array of positional arguments, got ${
        describe(args)
      }`,
    );
  }
  const o: Required<CheckGradsOptions> = {
    order: 2,
    modes: ["rev", "fwd"],
    eps: 1e-6,
    atol: 1e-6,
    rtol: 1e-5,
    seed: 0,
    ...options,
  };
  if (!(o.order === 1 || o.order === 2)) {
    throw new Error(`${fn}: order must be 1 or 2, got ${o.order}`);
  }
  if (
    !Array.isArray(o.modes) ||
    !o.modes.every((m) => m === "rev" || m === "fwd")
  ) {
    throw new Error(
      `${fn}: modes must be an array of "rev" and/or "fwd", got ${
        describe(o.modes)
      }`,
    );
  }
  for (const k of ["eps", "atol", "rtol"] as const) {
    if (typeof o[k] !== "number" || !(o[k] >= 0) || !Number.isFinite(o[k])) {
      throw new Error(
        `${fn}: ${k} must be a finite non-negative number, got ${
          describe(o[k])
        }`,
      );
    }
  }
  if (!(o.eps > 0)) {
    throw new Error(`${fn}: eps must be positive, got ${o.eps}`);
  }
  if (!Number.isSafeInteger(o.seed)) {
    throw new Error(`${fn}: seed must be an integer, got ${describe(o.seed)}`);
  }
  directionKey = random.key(o.seed);
  const a64 = (args as Tree[]).map(toFloat64);
  const run = (g: Fn, xs: Tree[], order: number) => {
    for (const mode of o.modes) {
      if (mode !== "rev" && mode !== "fwd") {
        throw new Error(
          `${fn}: modes must contain "rev" and/or "fwd", got ${
            JSON.stringify(o.modes)
          }`,
        );
      }
      checkOnce(g, xs, mode, o.order - order + 1, o);
      if (order < 2) continue;
      if (mode === "rev") {
        // the VJP function of (args, u) is itself checked to order - 1
        const [y] = vjp(g, ...xs);
        const u = randomLike(y);
        run(
          (...au: Tree[]) => vjp(g, ...au.slice(0, -1))[1](au[au.length - 1]),
          [...xs, u],
          order - 1,
        );
      } else {
        const dirs = xs.map(randomLike);
        const n = xs.length;
        run((...pt: Tree[]) => jvp(g, pt.slice(0, n), pt.slice(n))[1], [
          ...xs,
          ...dirs,
        ], order - 1);
      }
    }
  };
  // (f's output checked first, so that a non-tree names checkGrads)
  run(outputChecked(fn, f as Fn), a64, o.order);
}
