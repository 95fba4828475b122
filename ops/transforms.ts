/**
 * JAX's function transforms `grad`, `valueAndGrad`, `vjp`, `jvp` and
 * `stopGradient` (`vmap` and the Jacobians: vmap.ts). Arguments, outputs and
 * gradients are trees of tensors; transforms nest (`grad(grad(f))`).
 *
 * @module
 */
import {
  checkBool,
  checkOptions,
  describe,
  onesLike,
  type Tensor,
  zerosLike,
} from "./tensor.ts";
import { concrete, newLevel, unwrapLevel } from "./trace.ts";
import {
  backpropagate,
  FwdTracer,
  leafNode,
  NoReverseMode,
  RevTracer,
} from "./ad.ts";
import { cast } from "./core_prims.ts";
import type { Argnums, GradOf, GradOptions, WithAux } from "./grad_types.ts";
import {
  flattenAs,
  type Tree,
  treeFlatten,
  treeMap,
  treeUnflatten,
} from "./tree.ts";
import {
  checkArgnums,
  checkArgnumsUnique,
  checkArgs,
  checkCotangent,
  checkDifferentiable,
  checkFunction,
  checkScalarOutput,
  checkTangents,
  treeLeavesOf,
} from "./_args.ts";

/**
 * Linearises `f` at `primals`: returns its output and a function taking an
 * output cotangent (an `R`, like the output) to the input cotangents (an
 * `A`, one tree per primal; zeros for int32 leaves).
 *
 * @example
 * ```ts
 * import { mul, type Tensor, tensor, toArray, vjp } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [y, back] = vjp((x: Tensor) => mul(x, x), tensor([3]));
 * const [dx] = back(tensor([1])); // one cotangent per primal
 * assert.deepEqual([toArray(y), toArray(dx)], [[9], [6]]);
 * ```
 */
export function vjp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...primals: A
): [output: R, vjpFn: (cotangent: R) => A] {
  return vjpAs("vjp", f, primals);
}

/** {@linkcode vjp}, its errors naming `fn`. */
function vjpAs<A extends Tree[], R extends Tree>(
  fn: string,
  f: (...args: A) => R,
  primals: A,
): [output: R, vjpFn: (cotangent: R) => A] {
  checkFunction(fn, "f", f);
  checkArgs(fn, primals);
  const level = newLevel();
  const nodes: ReturnType<typeof leafNode>[] = []; // one per leaf
  const wrap = (l: Tensor) => {
    const node = leafNode();
    nodes.push(node);
    return l.dtype === "int32" ? l : new RevTracer(level, l, node);
  };
  const wrapped = primals.map((p) => treeMap(wrap, p)) as A;
  const out = f(...wrapped);
  const outLeaves = treeLeavesOf(fn, "the output of f", out);
  const back = (cotangent: R): A => {
    checkCotangent(fn, out, cotangent);
    const cts = treeFlatten(cotangent)[0];
    const roots = outLeaves.map((o, i): [Tensor, Tensor] => [o, cts[i]]);
    const grads = backpropagate(level, roots, nodes);
    let k = 0;
    return primals.map((p) =>
      treeMap((l) => grads[k++] ?? zerosLike(l), p)
    ) as A;
  };
  return [treeMap((l) => unwrapLevel(l, level), out), back];
}

/**
 * Forward mode: the output of `f` at `primals` and its directional derivative
 * along `tangents` (trees like the primals; the output tangent is an `R`).
 * With `hasAux`, `f` returns `[output, aux]` and `jvp` returns `[output,
 * tangent, aux]`, aux a tree of tensors carried along without a tangent (as
 * JAX's `jvp(..., has_aux=True)`).
 *
 * @example
 * ```ts
 * import { jvp, mul, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [y, t] = jvp((x: Tensor) => mul(x, x), [tensor([3])], [tensor([1])]);
 * assert.deepEqual([toArray(y), toArray(t)], [[9], [6]]);
 * const [, t2, aux] = jvp((x: Tensor) => [mul(x, x), { total: sum(x) }], [tensor([3])], [tensor([1])], { hasAux: true });
 * assert.deepEqual([toArray(t2), toArray(aux.total)], [[6], 3]);
 * ```
 */
export function jvp<A extends Tree[], R extends Tree, Aux extends Tree>(
  f: (...args: A) => readonly [R, Aux],
  primals: A,
  tangents: A,
  options: { hasAux: true },
): [output: R, tangent: R, aux: Aux];
/** `jvp(f, primals, tangents)`: see the first overload. */
export function jvp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  primals: A,
  tangents: A,
  options?: { hasAux?: false },
): [output: R, tangent: R];
export function jvp(
  f: (...args: Tree[]) => unknown,
  primals: Tree[],
  tangents: Tree[],
  options?: { hasAux?: boolean },
): unknown[] {
  checkFunction("jvp", "f", f);
  checkTangents("jvp", primals, tangents);
  const o = checkOptions("jvp", options, ["hasAux"]);
  const hasAux = checkBool("jvp", "options.hasAux", o.hasAux, false);
  const level = newLevel();
  const wrap = (l: Tensor, t: Tensor) =>
    l.dtype === "int32" ? l : new FwdTracer(level, l, cast(t, l.dtype));
  const wrapped = primals.map((p, i) => treeMap(wrap, p, tangents[i]));
  const res = f(...wrapped);
  if (hasAux && (!Array.isArray(res) || res.length !== 2)) {
    throw new Error(
      `jvp: with hasAux, f must return [output, aux], got ${describe(res)}`,
    );
  }
  const [out, aux] = (hasAux ? res : [res]) as [Tree, Tree?];
  treeLeavesOf("jvp", "the output of f", out);
  const primal = (o: Tensor) => unwrapLevel(o, level);
  const tangent = (o: Tensor) =>
    o instanceof FwdTracer && o.level === level ? o.tangent : zerosLike(o);
  const result = [treeMap(primal, out), treeMap(tangent, out)];
  if (hasAux) {
    treeLeavesOf("jvp", "the aux of f", aux as Tree);
    result.push(treeMap(primal, aux as Tree));
  }
  return result;
}

/**
 * `f`'s output at `primals` and its linearisation there, as
 * `jax.linearize`: a function of tangents (trees like the primals) giving
 * the output's tangent, J·t. `f` runs once; each call of the linear
 * function runs only the linear operations of the derivative (it
 * transposes `f`'s recorded VJP, which keeps `f`'s residuals; where a
 * rule has forward mode only, a `whileLoop` whose condition is traced, it
 * runs `jvp` of `f` instead, as JAX linearizes such loops).
 *
 * @example
 * ```ts
 * import { linearize, mul, sin, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [y, df] = linearize(sin, tensor([0], { dtype: "float64" }));
 * assert.deepEqual(toArray(y), [0]);
 * assert.deepEqual(toArray(df(tensor([3], { dtype: "float64" }))), [3]); // cos(0)·3
 * assert.deepEqual(toArray(df(mul(tensor([3], { dtype: "float64" }), 2))), [6]);
 * ```
 */
export function linearize<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...primals: A
): [output: R, jvpFn: (...tangents: A) => R] {
  const fn = "linearize";
  const [out, pullback] = vjpAs(fn, f, primals);
  const zeroCt = treeMap((l) => zerosLike(l), out);
  const jvpFn = (...tangents: A): R => {
    checkTangents(fn, primals, tangents);
    // J·t is the VJP of the linear map g -> pullback(g), applied to t
    try {
      const [, back] = vjp((g: R) => pullback(g), zeroCt);
      return back(tangents)[0];
    } catch (e) {
      // a rule with forward mode only (a whileLoop whose condition is
      // traced, which JAX linearizes): forward mode, running f again
      if (!(e instanceof NoReverseMode)) throw e;
      return jvp(f, primals, tangents)[1];
    }
  };
  return [out, jvpFn];
}

/**
 * The transpose of a linear `f`, as `jax.linear_transpose`: a function of
 * an output cotangent giving one cotangent per argument (`primals` give the
 * arguments' shapes and dtypes; for a linear `f` its VJP at any point is
 * its transpose).
 *
 * @example
 * ```ts
 * import { linearTranspose, matmul, tensor, toArray, type Tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 2], [3, 4], [5, 6]]);
 * const t = linearTranspose((x: Tensor) => matmul(a, x), tensor([0, 0]));
 * assert.deepEqual(toArray(t(tensor([1, 0, 1]))[0]), [6, 8]); // aᵀ·[1, 0, 1]
 * ```
 */
export function linearTranspose<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...primals: A
): (cotangent: R) => A {
  return vjpAs("linearTranspose", f, primals)[1];
}

/**
 * `valueAndGrad(f)` returns a function computing `[value, grads]`: `f`'s
 * float scalar value and its gradient, as {@linkcode grad}. With `hasAux`,
 * `f` returns `[scalar, aux]` and the value is that pair, as JAX.
 *
 * @example
 * ```ts
 * import { mul, sum, type Tensor, tensor, toArray, valueAndGrad } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f = valueAndGrad((x: Tensor) => sum(mul(x, x)));
 * const [value, g] = f(tensor([1, 2])); // value: Tensor, g: Tensor
 * assert.deepEqual([toArray(value), toArray(g)], [5, [2, 4]]);
 * // with aux: the value is [loss, aux]
 * const h = valueAndGrad((x: Tensor) => [sum(x), { twice: mul(x, 2) }], { hasAux: true });
 * const [[loss, aux], gx] = h(tensor([1, 2]));
 * assert.deepEqual([toArray(loss), toArray(aux.twice), toArray(gx)], [3, [2, 4], [1, 1]]);
 * ```
 */
export function valueAndGrad<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => Tensor,
  options?: GradOptions<N> & { hasAux?: false },
): (...args: A) => [value: Tensor, grads: GradOf<A, N>];
/** `valueAndGrad(f, { hasAux: true })`: see the first overload. */
export function valueAndGrad<
  A extends unknown[],
  Aux,
  const N extends Argnums = 0,
>(
  f: (...args: A) => WithAux<Aux>,
  options: GradOptions<N> & { hasAux: true },
): (...args: A) => [value: [Tensor, Aux], grads: GradOf<A, N>];
export function valueAndGrad(
  f: (...args: unknown[]) => unknown,
  options: GradOptions = {},
): (...args: unknown[]) => [unknown, unknown] {
  return gradTransform("valueAndGrad", f, options);
}

/** The untyped core of grad and valueAndGrad: returns `[f(...args), grads]`. */
function gradTransform(
  fn: string,
  f: (...args: unknown[]) => unknown,
  options: GradOptions,
): (...args: unknown[]) => [unknown, unknown] {
  checkFunction(fn, "f", f);
  checkOptions(fn, options, ["argnums", "hasAux"]);
  const argnums = options.argnums ?? 0;
  const hasAux = options.hasAux ?? false;
  return (...args: unknown[]) => {
    const nums = checkArgnums(fn, argnums, args.length);
    checkArgnumsUnique(fn, argnums);
    for (const i of nums) checkDifferentiable(fn, i, args[i]);
    const g = (...d: Tree[]): Tree => {
      const full = args.slice();
      nums.forEach((i, k) => (full[i] = d[k]));
      const res = f(...full);
      checkScalarOutput(fn, res, hasAux);
      return res as Tree;
    };
    const [res, back] = vjp(g, ...nums.map((i) => args[i] as Tree));
    const value = (hasAux ? (res as Tree[])[0] : res) as Tensor;
    const seed = onesLike(value);
    const ct = hasAux ? [seed, treeMap(zerosLike, (res as Tree[])[1])] : seed;
    const grads = back(ct);
    return [res, Array.isArray(argnums) ? grads : grads[0]];
  };
}

/**
 * `grad(f)` returns a function computing the gradient of the scalar-valued
 * `f` with respect to argument `argnums` (default 0), typed as that argument
 * ({@linkcode GradOf}: `g.wieght` does not compile); a tuple when `argnums`
 * is an array. With `hasAux`, `f` returns `[scalar, aux]` and the function
 * `[grads, aux]`, as JAX.
 *
 * @example
 * ```ts
 * import { add, grad, mul, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const df = grad((x: Tensor) => sum(mul(x, x)));
 * assert.deepEqual(toArray(df(tensor([1, 2, 3]))), [2, 4, 6]);
 * const d2 = grad((x: Tensor) => sum(grad((y: Tensor) => sum(mul(mul(y, y), y)))(x)));
 * assert.deepEqual(toArray(d2(tensor([1, 2]))), [6, 12]); // d/dx 3x² = 6x
 * // a tree argument: the gradient has its type, { w: Tensor; b: Tensor }
 * const loss = (p: { w: Tensor; b: Tensor }, x: Tensor) => sum(add(mul(p.w, x), p.b));
 * const g = grad(loss)({ w: tensor([1, 1]), b: tensor([0, 0]) }, tensor([3, 4]));
 * assert.deepEqual([toArray(g.w), toArray(g.b)], [[3, 4], [1, 1]]);
 * ```
 */
export function grad<A extends unknown[], const N extends Argnums = 0>(
  f: (...args: A) => Tensor,
  options?: GradOptions<N> & { hasAux?: false },
): (...args: A) => GradOf<A, N>;
/** `grad(f, { hasAux: true })`: see the first overload. */
export function grad<A extends unknown[], Aux, const N extends Argnums = 0>(
  f: (...args: A) => WithAux<Aux>,
  options: GradOptions<N> & { hasAux: true },
): (...args: A) => [grads: GradOf<A, N>, aux: Aux];
export function grad(
  f: (...args: unknown[]) => unknown,
  options: GradOptions = {},
): (...args: unknown[]) => unknown {
  const vg = gradTransform("grad", f, options);
  const hasAux = options.hasAux;
  return (...args: unknown[]) => {
    const [v, g] = vg(...args);
    return hasAux ? [g, (v as [Tensor, unknown])[1]] : g;
  };
}

/**
 * Stops derivatives: the same values (a tree, of the same type), constants
 * to every enclosing transform.
 *
 * @example
 * ```ts
 * import { grad, mul, stopGradient, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const df = grad((x: Tensor) => sum(mul(stopGradient(x), x)));
 * assert.deepEqual(toArray(df(tensor([3]))), [3]);
 * ```
 */
export function stopGradient<T extends Tree>(x: T): T {
  const [leaves, def] = flattenAs("stopGradient", x);
  return treeUnflatten(def, leaves.map(concrete)) as T;
}
