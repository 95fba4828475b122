/**
 * Function transforms in JAX's style: `grad`, `valueAndGrad`, `vjp`, `jvp`,
 * `stopGradient` and `customVjp`. Arguments, outputs and gradients are trees
 * of tensors. Transforms nest to any depth (`grad(grad(f))`).
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  describe,
  fromData,
  isTensor,
  sameShape,
  type Tensor,
  zerosLike,
} from "./tensor.ts";
import {
  backpropagate,
  bindRule,
  cast,
  concrete,
  FwdTracer,
  leafNode,
  newLevel,
  RevTracer,
  type Rule,
  unwrapLevel,
} from "./trace.ts";
import {
  checkSameStructure,
  type Tree,
  treeFlatten,
  treeUnflatten,
} from "./tree.ts";

function zerosOf(x: Tensor): Tensor {
  return zerosLike(x);
}

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** Removes the tracing of `level` from every leaf of a tree. */
function unwrapTree(tree: Tree, level: number): Tree {
  const [leaves, def] = treeFlatten(tree);
  return treeUnflatten(def, leaves.map((l) => unwrapLevel(l, level)));
}

function checkArgs(fn: string, args: unknown[]): void {
  args.forEach((a, i) => {
    try {
      treeFlatten(a as Tree);
    } catch (e) {
      throw new Error(
        `${fn}: argument ${i} is not a tree of tensors: ${
          (e as Error).message
        }`,
      );
    }
  });
}

/**
 * Linearises `f` at `primals`: returns its output and a function taking an
 * output cotangent (a tree like the output) to the input cotangents (one
 * tree per primal). int32 leaves get zero cotangents.
 *
 * @example
 * ```ts
 * import { mul, tensor, toArray, vjp } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [y, back] = vjp((x: any) => mul(x, x), tensor([3]));
 * assert.deepEqual(toArray(y as any), [9]);
 * assert.deepEqual(toArray(back(tensor([1]))[0] as any), [6]);
 * ```
 */
export function vjp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...primals: A
): [R, (cotangent: R) => A] {
  const fn = "vjp";
  if (typeof f !== "function") {
    throw new Error(`${fn}: f must be a function, got ${describe(f)}`);
  }
  checkArgs(fn, primals);
  const level = newLevel();
  const leafNodes: ReturnType<typeof leafNode>[][] = [];
  const wrapped = primals.map((p) => {
    const [leaves, def] = treeFlatten(p);
    const nodes = leaves.map(() => leafNode());
    leafNodes.push(nodes);
    return treeUnflatten(
      def,
      leaves.map((
        l,
        i,
      ) => (l.dtype === "int32" ? l : new RevTracer(level, l, nodes[i]))),
    );
  }) as A;
  const out = f(...wrapped);
  let outLeaves: Tensor[];
  try {
    outLeaves = treeFlatten(out)[0];
  } catch (e) {
    throw new Error(
      `${fn}: f must return a tree of tensors: ${(e as Error).message}`,
    );
  }
  const back = (cotangent: R): A => {
    checkSameStructure(
      `${fn} (the returned function)`,
      out,
      cotangent,
      "the cotangent and the output",
    );
    const cts = treeFlatten(cotangent)[0];
    cts.forEach((c, i) => {
      const o = outLeaves[i];
      if (!sameShape(c.shape, o.shape)) {
        throw new Error(
          `${fn} (the returned function): cotangent leaf ${i} has shape ${
            fmt(c.shape)
          } but the output has ${fmt(o.shape)}`,
        );
      }
    });
    const roots = outLeaves.map((o, i) => [o, cts[i]] as [Tensor, Tensor]);
    const flatNodes = leafNodes.flat();
    const grads = backpropagate(level, roots, flatNodes);
    let k = 0;
    return primals.map((p) => {
      const [leaves, def] = treeFlatten(p);
      return treeUnflatten(
        def,
        leaves.map((l) => grads[k++] ?? zerosOf(concrete(l))),
      );
    }) as A;
  };
  return [unwrapTree(out, level) as R, back];
}

/**
 * Forward mode: the output of `f` at `primals` and its directional derivative
 * along `tangents` (trees like the primals).
 *
 * @example
 * ```ts
 * import { jvp, mul, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [y, t] = jvp((x: any) => mul(x, x), [tensor([3])], [tensor([1])]);
 * assert.deepEqual(toArray(y as any), [9]);
 * assert.deepEqual(toArray(t as any), [6]);
 * ```
 */
export function jvp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  primals: A,
  tangents: A,
): [R, R] {
  const fn = "jvp";
  if (typeof f !== "function") {
    throw new Error(`${fn}: f must be a function, got ${describe(f)}`);
  }
  if (
    !Array.isArray(primals) || !Array.isArray(tangents) ||
    primals.length !== tangents.length
  ) {
    throw new Error(
      `${fn}: primals and tangents must be arrays of the same length, got ${
        describe(primals)
      } and ${describe(tangents)}`,
    );
  }
  checkArgs(fn, primals);
  const level = newLevel();
  const wrapped = primals.map((p, i) => {
    checkSameStructure(fn, p, tangents[i], `primals[${i}] and tangents[${i}]`);
    const [leaves, def] = treeFlatten(p);
    const ts = treeFlatten(tangents[i])[0];
    return treeUnflatten(
      def,
      leaves.map((l, j) => {
        const t = ts[j];
        if (!sameShape(t.shape, l.shape)) {
          throw new Error(
            `${fn}: tangent leaf ${j} of argument ${i} has shape ${
              fmt(t.shape)
            } but its primal has ${fmt(l.shape)}`,
          );
        }
        return l.dtype === "int32"
          ? l
          : new FwdTracer(level, l, cast(t, l.dtype));
      }),
    );
  }) as A;
  const out = f(...wrapped);
  const [leaves, def] = treeFlatten(out);
  const outs = leaves.map((o) => unwrapLevel(o, level));
  const tans = leaves.map((o) =>
    o instanceof FwdTracer && o.level === level
      ? o.tangent
      : zerosOf(concrete(o))
  );
  return [treeUnflatten(def, outs) as R, treeUnflatten(def, tans) as R];
}

/** Options of {@linkcode grad} and {@linkcode valueAndGrad}. */
export interface GradOptions {
  /** Which positional argument(s) to differentiate; default 0. */
  argnums?: number | number[];
  /** `f` returns `[value, aux]`; aux is passed through. Default false. */
  hasAux?: boolean;
}

function checkArgnums(
  fn: string,
  argnums: number | number[],
  nargs: number,
): number[] {
  const list = Array.isArray(argnums) ? argnums : [argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= nargs) {
      throw new Error(
        `${fn}: argnums ${
          JSON.stringify(argnums)
        } is out of range for ${nargs} argument(s)`,
      );
    }
  }
  return list;
}

/**
 * `valueAndGrad(f)` returns a function computing `f`'s value and its
 * gradient with respect to the arguments in `argnums` (a tree like that
 * argument; an array of them when `argnums` is an array). `f` must return a
 * float scalar, or `[scalar, aux]` with `hasAux` (then the value is
 * `[scalar, aux]`, as JAX).
 *
 * @example
 * ```ts
 * import { mul, sum, tensor, toArray, valueAndGrad } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f = valueAndGrad((x: any) => sum(mul(x, x)));
 * const [value, g] = f(tensor([1, 2]));
 * assert.equal(toArray(value), 5);
 * assert.deepEqual(toArray(g), [2, 4]);
 * ```
 */
export function valueAndGrad(
  // deno-lint-ignore no-explicit-any
  f: (...args: any[]) => any,
  options?: GradOptions,
  // deno-lint-ignore no-explicit-any
): (...args: any[]) => [any, any] {
  if (options === undefined) options = {};
  return gradTransform("valueAndGrad", f, options);
}

function gradTransform(
  fn: string,
  // deno-lint-ignore no-explicit-any
  f: (...args: any[]) => any,
  options: GradOptions,
  // deno-lint-ignore no-explicit-any
): (...args: any[]) => [any, any] {
  if (typeof f !== "function") {
    throw new Error(`${fn}: f must be a function, got ${describe(f)}`);
  }
  checkOptions(fn, options, ["argnums", "hasAux"]);
  const argnums = options.argnums ?? 0;
  const hasAux = options.hasAux ?? false;
  // deno-lint-ignore no-explicit-any
  return (...args: any[]) => {
    const nums = checkArgnums(fn, argnums, args.length);
    for (const i of nums) {
      let leaves: Tensor[];
      try {
        leaves = treeFlatten(args[i])[0];
      } catch (e) {
        throw new Error(
          `${fn}: argument ${i} is not a tree of tensors: ${
            (e as Error).message
          }`,
        );
      }
      leaves.forEach((l) => {
        if (l.dtype === "int32") {
          throw new Error(
            `${fn}: cannot differentiate with respect to int32 argument ${i} (${
              describe(l)
            }); int32 tensors have no gradient`,
          );
        }
      });
    }
    const g = (...d: Tree[]): Tree => {
      const full = args.slice();
      nums.forEach((i, k) => (full[i] = d[k]));
      const res = f(...full);
      if (hasAux && (!Array.isArray(res) || res.length !== 2)) {
        throw new Error(
          `${fn}: with hasAux, f must return [value, aux], got ${
            describe(res)
          }`,
        );
      }
      const out = hasAux ? res[0] : res;
      if (!isTensor(out) || out.shape.length !== 0 || out.dtype === "int32") {
        throw new Error(
          `${fn}: f must return a float scalar tensor (shape []), got ${
            describe(out)
          }${
            isTensor(out) && out.shape.length
              ? "; reduce it with sum or mean"
              : ""
          }`,
        );
      }
      return res;
    };
    const [res, back] = vjp(g, ...nums.map((i) => args[i]));
    const value = (hasAux ? (res as Tree[])[0] : res) as Tensor;
    const seed = fromData(allocData(value.dtype, 1).fill(1), []);
    const ct = hasAux ? [seed, treeMapZeros((res as Tree[])[1])] : seed;
    const grads = back(ct);
    return [res, Array.isArray(argnums) ? grads : grads[0]];
  };
}

function treeMapZeros(tree: Tree): Tree {
  const [leaves, def] = treeFlatten(tree);
  return treeUnflatten(def, leaves.map(zerosOf));
}

/**
 * `grad(f)` returns a function computing the gradient of the scalar-valued
 * `f` with respect to argument `argnums` (default 0): a tree with that
 * argument's structure.
 *
 * @example
 * ```ts
 * import { grad, mul, sum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const df = grad((x: any) => sum(mul(x, x)));
 * assert.deepEqual(toArray(df(tensor([1, 2, 3]))), [2, 4, 6]);
 * const d2 = grad((x: any) => sum(grad((y: any) => sum(mul(mul(y, y), y)))(x)));
 * assert.deepEqual(toArray(d2(tensor([1, 2]))), [6, 12]); // d/dx 3x² = 6x
 * ```
 */
export function grad(
  // deno-lint-ignore no-explicit-any
  f: (...args: any[]) => any,
  options?: GradOptions,
  // deno-lint-ignore no-explicit-any
): (...args: any[]) => any {
  if (options === undefined) options = {};
  const vg = gradTransform("grad", f, options);
  // deno-lint-ignore no-explicit-any
  return (...args: any[]) => {
    const [v, g] = vg(...args);
    return options.hasAux ? [g, v[1]] : g;
  };
}

/**
 * Stops derivatives: the same values, treated as constants by every
 * enclosing transform. Works on trees.
 *
 * @example
 * ```ts
 * import { grad, mul, stopGradient, sum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const df = grad((x: any) => sum(mul(stopGradient(x), x)));
 * assert.deepEqual(toArray(df(tensor([3]))), [3]);
 * ```
 */
export function stopGradient<T extends Tree>(x: T): T {
  const [leaves, def] = treeFlatten(x);
  return treeUnflatten(def, leaves.map(concrete)) as T;
}

/**
 * Declares a function with its own VJP rule, as `jax.custom_vjp`: `fwd`
 * returns `[output, residuals]`, `bwd(residuals, g)` returns one cotangent per
 * argument. Arguments and the output are tensors. The forward-mode
 * derivative is the transpose of `bwd` (so `bwd` must be linear in `g`).
 *
 * @example
 * ```ts
 * import { customVjp, grad, mul, sum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // identity whose gradient is clipped to [-1, 1]
 * const clipGrad = customVjp(
 *   (x) => x,
 *   (x) => [x, null],
 *   (_res, g) => [g.data[0] > 1 ? mul(g, 1 / g.data[0]) : g],
 * );
 * assert.deepEqual(toArray(grad((x: any) => sum(mul(clipGrad(x), 5)))(tensor([2]))), [1]);
 * ```
 */
export function customVjp<R>(
  f: (...args: Tensor[]) => Tensor,
  fwd: (...args: Tensor[]) => [Tensor, R],
  bwd: (residuals: R, g: Tensor) => Tensor[],
): (...args: Tensor[]) => Tensor {
  const fn = "customVjp";
  for (const [name, v] of [["f", f], ["fwd", fwd], ["bwd", bwd]] as const) {
    if (typeof v !== "function") {
      throw new Error(`${fn}: ${name} must be a function, got ${describe(v)}`);
    }
  }
  const rule: Rule<Record<never, never>> = {
    name: f.name || "customVjp",
    forward: (inputs) => concrete(f(...inputs)),
    vjp: (inputs) => {
      const [, res] = fwd(...inputs);
      let cache: [Tensor, Tensor[]] | null = null;
      const cts = (g: Tensor) => {
        if (!cache || cache[0] !== g) {
          const r = bwd(res, g);
          if (!Array.isArray(r) || r.length !== inputs.length) {
            throw new Error(
              `${fn}: bwd must return an array of ${inputs.length} cotangent(s), one per argument, got ${
                describe(r)
              }`,
            );
          }
          cache = [g, r];
        }
        return cache[1];
      };
      return inputs.map((_, i) => (g: Tensor) => cts(g)[i]);
    },
  };
  return (...args: Tensor[]) => {
    args.forEach((a, i) => {
      if (!isTensor(a)) {
        throw new Error(
          `${fn}: argument ${i} must be a Tensor, got ${describe(a)}`,
        );
      }
    });
    return bindRule(rule, args, {});
  };
}
