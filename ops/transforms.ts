/**
 * Function transforms in JAX's style: `grad`, `valueAndGrad`, `vjp`, `jvp`
 * and `stopGradient` (`vmap` and the Jacobians are in vmap.ts, `customVjp`
 * in custom_vjp.ts). Arguments, outputs and gradients are trees of tensors.
 * Transforms nest to any depth (`grad(grad(f))`).
 *
 * @module
 */
import { checkOptions, onesLike, type Tensor, zerosLike } from "./tensor.ts";
import { concrete, newLevel, unwrapLevel } from "./trace.ts";
import { backpropagate, FwdTracer, leafNode, RevTracer } from "./ad.ts";
import { cast } from "./core_prims.ts";
import type { Argnums, GradOf, GradOptions, WithAux } from "./grad_types.ts";
import { type Tree, treeFlatten, treeMap } from "./tree.ts";
import {
  checkArgnums,
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
 * output cotangent (a tree like the output) to the input cotangents (one
 * tree per primal). int32 leaves get zero cotangents.
 *
 * Types: `A` is the tuple of `f`'s parameters and `R` its output, both trees
 * of tensors. A cotangent has the type of its value: the returned function
 * takes an `R` and gives back an `A`.
 *
 * @example
 * ```ts
 * import { mul, type Tensor, tensor, toArray, vjp } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [y, back] = vjp((x: Tensor) => mul(x, x), tensor([3]));
 * assert.deepEqual(toArray(y), [9]);
 * const [dx] = back(tensor([1])); // one cotangent per primal
 * assert.deepEqual(toArray(dx), [6]);
 * ```
 */
export function vjp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...primals: A
): [output: R, vjpFn: (cotangent: R) => A] {
  const fn = "vjp";
  checkFunction(fn, "f", f);
  checkArgs(fn, primals);
  const level = newLevel();
  const nodes: ReturnType<typeof leafNode>[] = []; // one per leaf
  const wrapped = primals.map((p) =>
    treeMap((l) => {
      nodes.push(leafNode());
      return l.dtype === "int32" ? l : new RevTracer(level, l, nodes.at(-1)!);
    }, p)
  ) as A;
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
 * along `tangents` (trees like the primals).
 *
 * Types: as for {@linkcode vjp}; the tangents have the type of the primals
 * (`A`), the output tangent that of the output (`R`).
 *
 * @example
 * ```ts
 * import { jvp, mul, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [y, t] = jvp((x: Tensor) => mul(x, x), [tensor([3])], [tensor([1])]);
 * assert.deepEqual(toArray(y), [9]);
 * assert.deepEqual(toArray(t), [6]);
 * ```
 */
export function jvp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  primals: A,
  tangents: A,
): [output: R, tangent: R] {
  checkFunction("jvp", "f", f);
  checkTangents("jvp", primals, tangents);
  const level = newLevel();
  const wrapped = primals.map((p, i) =>
    treeMap(
      (l, t) =>
        l.dtype === "int32" ? l : new FwdTracer(level, l, cast(t, l.dtype)),
      p,
      tangents[i],
    )
  ) as A;
  const out = f(...wrapped);
  const tangent = (o: Tensor) =>
    o instanceof FwdTracer && o.level === level ? o.tangent : zerosLike(o);
  return [treeMap((o) => unwrapLevel(o, level), out), treeMap(tangent, out)];
}

/**
 * `valueAndGrad(f)` returns a function computing `f`'s value and its
 * gradient with respect to the arguments in `argnums` (a tree like that
 * argument; an array of them when `argnums` is an array). `f` must return a
 * float scalar, or `[scalar, aux]` with `hasAux` (then the value is
 * `[scalar, aux]`, as JAX).
 *
 * Types: the returned function takes `f`'s parameters and returns `[value,
 * grads]`, `grads` typed as in {@linkcode grad}.
 *
 * @example
 * ```ts
 * import { mul, sum, type Tensor, tensor, toArray, valueAndGrad } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f = valueAndGrad((x: Tensor) => sum(mul(x, x)));
 * const [value, g] = f(tensor([1, 2])); // value: Tensor, g: Tensor
 * assert.equal(toArray(value), 5);
 * assert.deepEqual(toArray(g), [2, 4]);
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
/**
 * `valueAndGrad(f, { hasAux: true })`: `f` returns `[scalar, aux]` (a
 * {@linkcode WithAux}), the value is that pair; only the scalar is
 * differentiated.
 */
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
 * `f` with respect to argument `argnums` (default 0): a tree with that
 * argument's structure (an array of them when `argnums` is an array). With
 * `hasAux`, `f` returns `[scalar, aux]` and the function returns
 * `[grads, aux]`, as JAX.
 *
 * Types: the returned function takes `f`'s parameters and returns a
 * {@linkcode GradOf}, the type of the differentiated argument (`g.wieght`
 * does not compile on the gradient of a `{ w: Tensor }`), a tuple when
 * `argnums` is an array (`const N` keeps `[1, 0]` a tuple type).
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
/**
 * `grad(f, { hasAux: true })`: `f` returns `[scalar, aux]` (a
 * {@linkcode WithAux}) and the function returns `[grads, aux]`, the aux
 * passed through with its type.
 *
 * @example
 * ```ts
 * import { grad, mul, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [g, aux] = grad((x: Tensor) => [sum(mul(x, x)), { x2: mul(x, x) }], { hasAux: true })(tensor([3]));
 * assert.deepEqual([toArray(g), toArray(aux.x2)], [[6], [9]]);
 * ```
 */
export function grad<A extends unknown[], Aux, const N extends Argnums = 0>(
  f: (...args: A) => WithAux<Aux>,
  options: GradOptions<N> & { hasAux: true },
): (...args: A) => [grads: GradOf<A, N>, aux: Aux];
export function grad(
  f: (...args: unknown[]) => unknown,
  options: GradOptions = {},
): (...args: unknown[]) => unknown {
  const hasAux = options.hasAux;
  const vg = gradTransform("grad", f, options);
  return (...args: unknown[]) => {
    const [v, g] = vg(...args);
    return hasAux ? [g, (v as [Tensor, unknown])[1]] : g;
  };
}

/**
 * Stops derivatives: the same values, treated as constants by every
 * enclosing transform. Works on trees, and returns the type it is given.
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
  return treeMap(concrete, x);
}
