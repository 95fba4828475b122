/**
 * Different transformations for different params: torch.optim's parameter
 * groups as optax's `multi_transform` (a transformation per label, a label
 * per leaf), `masked` (a transformation on some leaves only) and
 * `setToZero` (frozen params).
 *
 * @module
 */
import { describe, type Tensor, zerosLike } from "../ops/tensor.ts";
import {
  checkSameStructure,
  flattenAs,
  isPlainObject,
  type Tree,
  type TreeDef,
  treePaths,
  treeUnflatten,
} from "../ops/tree.ts";
import {
  checkTransform,
  type EmptyState,
  type GradientTransformation,
} from "./base.ts";
import { leafwise } from "./_util.ts";

/**
 * A label (a key of the transforms) for each param: a tree like the params
 * with a label at each leaf, or a function of a param's dotted path (as
 * `treePaths` and PyTorch's `named_parameters` spell it: `"0.weight"`) and
 * the param that returns its label.
 */
export type Labels =
  | Tree<string>
  | ((path: string, param: Tensor) => string);

/**
 * Which params to transform: a tree like the params with `true` or `false`
 * at each leaf, or a function of a param's dotted path and the param.
 */
export type Mask =
  | Tree<boolean>
  | ((path: string, param: Tensor) => boolean);

/**
 * The labels (or mask values) of the leaves of a tree of structure `def`, in
 * leaf order: `spec` is a tree like it or a function of each leaf's path and
 * leaf; each value is checked by `ok`. Errors name `fn`, the path and both
 * sides.
 */
function specLeaves<L>(
  fn: string,
  what: string,
  def: TreeDef,
  leaves: Tensor[],
  spec: unknown,
  ok: (x: unknown) => x is L,
  expected: string,
): L[] {
  const out: L[] = [];
  const walk = (d: TreeDef, x: unknown, path: string) => {
    const at = path === "" ? "(root)" : `"${path}"`;
    const child = (k: string | number) => path === "" ? `${k}` : `${path}.${k}`;
    if (d.kind === "leaf") {
      const v = typeof spec === "function" ? spec(path, leaves[out.length]) : x;
      if (!ok(v)) {
        throw new Error(
          `${fn}: ${what}${
            typeof spec === "function" ? " returned" : ""
          } at ${at} must be ${expected}, got ${describe(v)}`,
        );
      }
      out.push(v);
    } else if (typeof spec === "function") {
      d.children.forEach((c, i) =>
        walk(c, undefined, child(d.kind === "array" ? i : d.keys[i]))
      );
    } else if (d.kind === "array") {
      if (!Array.isArray(x) || x.length !== d.children.length) {
        throw new Error(
          `${fn}: ${what} at ${at} must be an array of length ${d.children.length} like the params, got ${
            describe(x)
          }`,
        );
      }
      d.children.forEach((c, i) => walk(c, x[i], child(i)));
    } else {
      const keys = isPlainObject(x) ? Object.keys(x).sort() : null;
      if (!keys || keys.join("\0") !== d.keys.join("\0")) {
        throw new Error(
          `${fn}: ${what} at ${at} must be an object with the params' keys [${d.keys}], got ${
            keys ? `keys [${keys}]` : describe(x)
          }`,
        );
      }
      d.children.forEach((c, i) =>
        walk(c, (x as Record<string, unknown>)[d.keys[i]], child(d.keys[i]))
      );
    }
  };
  walk(def, spec, "");
  return out;
}

/** The leaves at `idx`, as an array (the tree a group's transformation sees). */
const pick = (leaves: Tensor[], idx: number[]) => idx.map((i) => leaves[i]);

/**
 * Runs `f`, a call of the transformation `what` on its group, whose leaves
 * it sees as an array: an error naming one of them by its index (`leaf "1"`,
 * or a nested group's leaf) gets the params' path of that leaf appended
 * (`paths`, in the group's order).
 */
function inGroup<R>(fn: string, what: string, paths: string[], f: () => R): R {
  try {
    return f();
  } catch (e) {
    // (a nested group's error already ends with its leaf's index here)
    const msg = e instanceof Error ? e.message : "";
    const m = /params' "(\d+)"\)$/.exec(msg) ?? /leaf "(\d+)"/.exec(msg);
    if (!m || paths[Number(m[1])] === undefined) throw e;
    const at = paths[Number(m[1])];
    throw new Error(
      `${msg} (${fn}: ${what} sees its leaves as an array; its leaf ${
        m[1]
      } is the params' ${at === "" ? "(root)" : `"${at}"`})`,
    );
  }
}

/**
 * Splits params, updates and state by group and puts the groups' updates back
 * in the params' places: the one mechanism under {@linkcode multiTransform}
 * and {@linkcode masked}. `groupsOf(def, leaves)` gives the leaf indices of
 * each group; leaves in no group keep their updates.
 */
function partitioned<S extends Tree>(
  fn: string,
  transforms: Record<string, GradientTransformation>,
  groupsOf: (def: TreeDef, leaves: Tensor[]) => Record<string, number[]>,
  what: (name: string) => string,
): GradientTransformation<S> {
  const names = Object.keys(transforms);
  const split = (where: string, tree: Tree, params?: Tensor[]) => {
    const [leaves, def] = flattenAs(`${fn}.${where}`, tree);
    const groups = groupsOf(def, params ?? leaves);
    const paths = treePaths(tree).map(([p]) => p);
    const run = <R>(n: string, f: (idx: number[]) => R) =>
      inGroup(fn, what(n), groups[n].map((i) => paths[i]), () => f(groups[n]));
    return { leaves, def, groups, run };
  };
  return {
    init(params) {
      const { leaves, run } = split("init(params)", params);
      return Object.fromEntries(
        names.map((
          n,
        ) => [n, run(n, (idx) => transforms[n].init(pick(leaves, idx)))]),
      ) as unknown as S;
    },
    update(updates, state, params) {
      if (params !== undefined) {
        checkSameStructure(
          `${fn}.update`,
          params,
          updates,
          "params and updates",
        );
      }
      const p = params && flattenAs(`${fn}.update(params)`, params)[0];
      const { leaves, def, groups, run } = split(
        "update(updates)",
        updates,
        p,
      );
      const st = state as Record<string, Tree>;
      if (
        !isPlainObject(st) ||
        Object.keys(st).sort().join("\0") !== [...names].sort().join("\0")
      ) {
        throw new Error(
          `${fn}.update: state must be what init returned (an object with keys [${names}]), got ${
            isPlainObject(st) ? `keys [${Object.keys(st)}]` : describe(st)
          }`,
        );
      }
      const out = leaves.slice();
      const next: Record<string, Tree> = {};
      for (const n of names) {
        const idx = groups[n];
        const r = run(
          n,
          () =>
            transforms[n].update(pick(leaves, idx), st[n], p && pick(p, idx)),
        );
        const u = r.updates as Tensor[];
        idx.forEach((i, k) => (out[i] = u[k]));
        next[n] = r.state;
      }
      return { updates: treeUnflatten(def, out) as never, state: next as S };
    },
  };
}

function checkTransforms(
  fn: string,
  transforms: unknown,
): Record<string, GradientTransformation> {
  if (!isPlainObject(transforms) || Object.keys(transforms).length === 0) {
    throw new Error(
      `${fn}: transforms must be an object of gradient transformations by label ({ label: { init, update } }), got ${
        describe(transforms)
      }`,
    );
  }
  for (const [k, t] of Object.entries(transforms)) {
    checkTransform(fn, `transforms.${k}`, t);
  }
  return transforms as Record<string, GradientTransformation>;
}

function checkSpec(fn: string, name: string, spec: unknown): void {
  if (
    typeof spec !== "function" && !Array.isArray(spec) &&
    !isPlainObject(spec) && typeof spec !== "string" &&
    typeof spec !== "boolean"
  ) {
    throw new Error(
      `${fn}: ${name} must be a tree like the params or a function of the params returning one, got ${
        describe(spec)
      }`,
    );
  }
}

/**
 * A transformation per group of params (optax's multi_transform; torch.optim's
 * parameter groups, each with its own optimizer and options): `labels` puts a
 * label at each leaf of the params, and the leaves labelled `k` are updated by
 * `transforms[k]` alone, which sees them as an array in the params' leaf
 * order (so a clip or a trust ratio covers its group only). The state has one
 * entry per label.
 *
 * @example
 * ```ts
 * import { applyUpdates, multiTransform, sgd } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const params = { body: tensor([1, 1]), head: tensor([1]) };
 * const opt = multiTransform(
 *   { body: sgd({ lr: 0.5 }), head: sgd({ lr: 0.25 }) },
 *   { body: "body", head: "head" },
 * );
 * const grads = { body: tensor([1, 2]), head: tensor([1]) };
 * const { updates } = opt.update(grads, opt.init(params), params);
 * const p = applyUpdates(params, updates);
 * assert.deepEqual(toArray(p.body), [0.5, 0]);
 * assert.deepEqual(toArray(p.head), [0.75]);
 * ```
 */
export function multiTransform(
  transforms: Record<string, GradientTransformation>,
  labels: Labels,
): GradientTransformation<Record<string, Tree>> {
  const fn = "optim.multiTransform";
  const ts = checkTransforms(fn, transforms);
  checkSpec(fn, "labels", labels);
  const isLabel = (x: unknown): x is string =>
    typeof x === "string" && Object.hasOwn(ts, x);
  const expected = `one of the transforms' labels (${
    Object.keys(ts).map((k) => JSON.stringify(k)).join(", ")
  })`;
  return partitioned(fn, ts, (def, leaves) => {
    const found = specLeaves(
      fn,
      "labels",
      def,
      leaves,
      labels,
      isLabel,
      expected,
    );
    const groups: Record<string, number[]> = {};
    for (const k of Object.keys(ts)) groups[k] = [];
    found.forEach((k, i) => groups[k].push(i));
    return groups;
  }, (n) => `transforms.${n}`);
}

/**
 * Applies `inner` to the leaves where `mask` is true and leaves the other
 * updates as they are (optax's masked): e.g. weight decay on the weights
 * but not on biases and norms. `inner` sees the masked leaves as an array;
 * the state is its state.
 *
 * @example
 * ```ts
 * import { addDecayedWeights, masked } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const params = { weight: tensor([2]), bias: tensor([2]) };
 * const t = masked(addDecayedWeights(0.5), { weight: true, bias: false });
 * const { updates } = t.update({ weight: tensor([1]), bias: tensor([1]) }, t.init(params), params);
 * assert.deepEqual(toArray(updates.weight), [2]);
 * assert.deepEqual(toArray(updates.bias), [1]);
 * ```
 */
export function masked<S extends Tree>(
  inner: GradientTransformation<S>,
  mask: Mask,
): GradientTransformation<S> {
  const fn = "optim.masked";
  checkTransform(fn, "inner", inner);
  const ts = { inner: inner as GradientTransformation };
  checkSpec(fn, "mask", mask);
  const t = partitioned<{ inner: S }>(fn, ts, (def, leaves) => {
    const on = specLeaves(
      fn,
      "mask",
      def,
      leaves,
      mask,
      (x): x is boolean => typeof x === "boolean",
      "true or false",
    );
    return { inner: on.flatMap((b, i) => b ? [i] : []) };
  }, () => "inner");
  return {
    init: (params) => t.init(params).inner,
    update(updates, state, params) {
      const r = t.update(updates, { inner: state }, params);
      return { updates: r.updates, state: r.state.inner };
    },
  };
}

/**
 * Updates of zero (optax's set_to_zero): with {@linkcode multiTransform},
 * the params labelled for it stay frozen.
 *
 * @example
 * ```ts
 * import { setToZero } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = setToZero();
 * assert.deepEqual(toArray(t.update(tensor([3, -1]), t.init(tensor([0, 0]))).updates), [0, 0]);
 * ```
 */
export function setToZero(): GradientTransformation<EmptyState> {
  return {
    init: () => ({}),
    update: (updates, state) => ({
      updates: leafwise("optim.setToZero", (u) => zerosLike(u), updates),
      state,
    }),
  };
}
