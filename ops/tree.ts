/**
 * Trees: nested plain objects and arrays whose leaves are tensors (JAX's
 * pytrees). Parameters, gradients and optimizer states are trees. Object keys
 * are visited in sorted order, so flattening is stable.
 *
 * @module
 */
import { describe, isTensor, type Tensor } from "./tensor.ts";

/** A tree of tensors: a tensor, or an array or plain object of trees. */
export type Tree<L = Tensor> = L | readonly Tree<L>[] | {
  readonly [key: string]: Tree<L>;
};

/** The shape of a tree without its leaves, as returned by {@linkcode treeFlatten}. */
export type TreeDef =
  | { readonly kind: "leaf" }
  | { readonly kind: "array"; readonly children: readonly TreeDef[] }
  | {
    readonly kind: "object";
    readonly keys: readonly string[];
    readonly children: readonly TreeDef[];
  };

/** True for a plain object (`{...}` or `Object.create(null)`): a tree node. @internal */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function checkIsLeaf(fn: string, isLeaf: unknown): void {
  if (typeof isLeaf !== "function") {
    throw new Error(
      `${fn}: isLeaf must be a function of a node, got ${describe(isLeaf)}`,
    );
  }
}

function childPath(path: string, key: string | number): string {
  return path === "" ? String(key) : `${path}.${key}`;
}

/** How deep a tree may nest: deeper is an error rather than a stack overflow. @internal */
export const MAX_TREE_DEPTH = 1000;

/** A path as errors print it: `(root)` or `"a.0.b"` (a very long one cut short). */
function fmtPath(path: string): string {
  if (path === "") return "(root)";
  return `"${path.length > 80 ? `${path.slice(0, 80)}...` : path}"`;
}

/**
 * Guards a recursive walk of a tree against cycles and runaway nesting:
 * `enter` a container (an array or plain object) before walking its
 * children and `leave` it after. Entering a container that is still being
 * walked (an ancestor on the current path) is a cycle; the same subtree
 * reached twice by different paths (a DAG) is fine. Errors name `fn`.
 * @internal
 */
export function treeWalkGuard(fn: string): {
  enter(x: object, path: string): void;
  leave(x: object): void;
} {
  const open = new Map<object, string>(); // container -> its path
  return {
    enter(x, path) {
      const at = open.get(x);
      if (at !== undefined) {
        throw new Error(
          `${fn}: tree at ${fmtPath(path)} contains itself (it is the ${
            Array.isArray(x) ? "array" : "object"
          } at ${
            fmtPath(at)
          } again); a tree must be nested arrays and plain objects without cycles`,
        );
      }
      if (open.size >= MAX_TREE_DEPTH) {
        throw new Error(
          `${fn}: tree nests deeper than ${MAX_TREE_DEPTH} levels (at ${
            fmtPath(path)
          })`,
        );
      }
      open.set(x, path);
    },
    leave(x) {
      open.delete(x);
    },
  };
}

/**
 * A kind of value that is a leaf of a transformed function's arguments or
 * results without being a tensor, and stands for a tensor: a random key,
 * whose words are an int32 [2] tensor (`random.ts` registers it), so that
 * a key passed to a jitted function is traced, not baked in, and a list of
 * keys is mapped by `vmap`. @internal
 */
export interface LeafKind {
  /** Whether `x` is a value of this kind. */
  is(x: unknown): boolean;
  /** The tensor `x` stands for (a tracer, for a value made while tracing). */
  toTensor(x: unknown): Tensor;
  /** The value standing for `t` (a tracer while tracing, a tensor after a call). */
  fromTensor(t: Tensor): unknown;
}

const leafKinds: LeafKind[] = [];

/** Makes values of `kind` leaves of transformed functions' arguments and results. @internal */
export function registerLeafKind(kind: LeafKind): void {
  leafKinds.push(kind);
}

/** The registered kind of `x` (null for a tensor or anything else). @internal */
export function leafKindOf(x: unknown): LeafKind | null {
  return isTensor(x) ? null : leafKinds.find((k) => k.is(x)) ?? null;
}

/** The leaves of a tree whose leaves are tensors or values of a registered kind. @internal */
export interface Leaves {
  /** Each leaf's tensor (what a value of a registered kind stands for). */
  leaves: Tensor[];
  def: TreeDef;
  /** Each leaf's kind (null: a tensor). */
  kinds: (LeafKind | null)[];
}

/** Flattens `tree`, whose leaves are tensors or values of a registered kind (a transform's arguments and results). @internal */
export function flattenLeaves(tree: unknown): Leaves {
  const [raw, def] = treeFlatten(
    tree as Tree<unknown>,
    (x) => isTensor(x) || leafKindOf(x) !== null,
  );
  const kinds = raw.map(leafKindOf);
  const leaves = raw.map((l, i) => kinds[i]?.toTensor(l) ?? l as Tensor);
  return { leaves, def, kinds };
}

/** The tree of `def` whose leaves are `leaves` as their kinds' values. @internal */
export function unflattenLeaves(
  def: TreeDef,
  leaves: readonly Tensor[],
  kinds: readonly (LeafKind | null)[],
): Tree<unknown> {
  return treeUnflatten(
    def,
    leaves.map((l, i) => kinds[i]?.fromTensor(l) ?? l),
  );
}

/**
 * Flattens a tree into its leaves (depth first, object keys sorted) and a
 * structure that {@linkcode treeUnflatten} turns back into a tree.
 * `isLeaf` decides what counts as a leaf (default: a tensor).
 *
 * @example
 * ```ts
 * import { tensor, treeFlatten, treeUnflatten } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [leaves, def] = treeFlatten({ b: tensor(2), a: [tensor(1)] });
 * assert.deepEqual(leaves.map((t) => t.data[0]), [1, 2]);
 * const back = treeUnflatten(def, leaves) as { a: unknown[] };
 * assert.equal(back.a.length, 1);
 * ```
 */
export function treeFlatten<L = Tensor>(
  tree: Tree<L>,
  isLeaf: (x: unknown) => boolean = isTensor,
): [L[], TreeDef] {
  return flattenAs("treeFlatten", tree, isLeaf);
}

/** {@linkcode treeFlatten}, its errors naming `fn`. @internal */
export function flattenAs<L = Tensor>(
  fn: string,
  tree: Tree<L>,
  isLeaf: (x: unknown) => boolean = isTensor,
): [L[], TreeDef] {
  checkIsLeaf(fn, isLeaf);
  const leaves: L[] = [];
  const guard = treeWalkGuard(fn);
  const walk = (x: unknown, path: string): TreeDef => {
    if (isLeaf(x)) {
      leaves.push(x as L);
      return { kind: "leaf" };
    }
    if (Array.isArray(x)) {
      guard.enter(x, path);
      // (by index, not map, which skips a sparse array's holes: a hole is
      // an undefined leaf)
      const children = Array.from(
        { length: x.length },
        (_, i) => walk(x[i], childPath(path, i)),
      );
      guard.leave(x);
      return { kind: "array", children };
    }
    if (leafKindOf(x)) {
      throw new Error(
        `${fn}: leaf ${
          path === "" ? "(root)" : `"${path}"`
        } is a random key, where a Tensor is expected (a key has no gradient and no axis: pass it outside argnums, or with inAxes null)`,
      );
    }
    if (isPlainObject(x)) {
      guard.enter(x, path);
      const keys = Object.keys(x).sort();
      const children = keys.map((k) => walk(x[k], childPath(path, k)));
      guard.leave(x);
      return { kind: "object", keys, children };
    }
    throw new Error(
      `${fn}: leaf ${
        path === "" ? "(root)" : `"${path}"`
      } must be a Tensor, an array or a plain object, got ${describe(x)}`,
    );
  };
  const def = walk(tree, "");
  return [leaves, def];
}

/**
 * Builds a tree of structure `def` from `leaves` (the inverse of
 * {@linkcode treeFlatten}).
 *
 * @example
 * ```ts
 * import { tensor, treeFlatten, treeUnflatten } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [, def] = treeFlatten([tensor(1), { w: tensor(2) }]);
 * const t = treeUnflatten(def, [tensor(5), tensor(6)]) as unknown[];
 * assert.equal(t.length, 2);
 * ```
 */
export function treeUnflatten<L = Tensor>(
  def: TreeDef,
  leaves: readonly L[],
): Tree<L> {
  if (!Array.isArray(leaves)) {
    throw new Error(
      `treeUnflatten: leaves must be an array, got ${describe(leaves)}`,
    );
  }
  let i = 0;
  const build = (d: TreeDef): Tree<L> => {
    if (
      typeof d !== "object" || d === null ||
      !["leaf", "array", "object"].includes(d.kind)
    ) {
      throw new Error(
        `treeUnflatten: def must be a structure that treeFlatten returned, got ${
          describe(d)
        }`,
      );
    }
    if (d.kind === "leaf") {
      if (i >= leaves.length) {
        throw new Error(
          `treeUnflatten: the structure needs more leaves than the ${leaves.length} given`,
        );
      }
      return leaves[i++];
    }
    if (d.kind === "array") return d.children.map(build);
    const out: Record<string, Tree<L>> = {};
    d.keys.forEach((k, j) => (out[k] = build(d.children[j])));
    return out;
  };
  const tree = build(def);
  if (i !== leaves.length) {
    throw new Error(
      `treeUnflatten: the structure has ${i} leaves but ${leaves.length} were given`,
    );
  }
  return tree;
}

/**
 * The leaves of a tree, in {@linkcode treeFlatten}'s order.
 *
 * @example
 * ```ts
 * import { tensor, treeLeaves } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(treeLeaves({ w: tensor([1, 2]), b: [tensor(0)] }).length, 2);
 * ```
 */
export function treeLeaves<L = Tensor>(
  tree: Tree<L>,
  isLeaf?: (x: unknown) => boolean,
): L[] {
  return flattenAs("treeLeaves", tree, isLeaf)[0];
}

/**
 * The leaves with their dotted paths (`"0.weight"`, `"conv1.bias"`), the
 * names PyTorch's state_dict uses.
 *
 * @example
 * ```ts
 * import { tensor, treePaths } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const paths = treePaths([{}, { weight: tensor(1), bias: tensor(0) }]);
 * assert.deepEqual(paths.map(([p]) => p), ["1.bias", "1.weight"]);
 * ```
 */
export function treePaths<L = Tensor>(
  tree: Tree<L>,
  isLeaf: (x: unknown) => boolean = isTensor,
): [string, L][] {
  checkIsLeaf("treePaths", isLeaf);
  const out: [string, L][] = [];
  const guard = treeWalkGuard("treePaths");
  const walk = (x: unknown, path: string) => {
    if (isLeaf(x)) out.push([path, x as L]);
    else if (Array.isArray(x)) {
      guard.enter(x, path);
      // (by index, not forEach, which skips a sparse array's holes)
      for (let i = 0; i < x.length; i++) walk(x[i], childPath(path, i));
      guard.leave(x);
    } else if (isPlainObject(x)) {
      guard.enter(x, path);
      for (const k of Object.keys(x).sort()) walk(x[k], childPath(path, k));
      guard.leave(x);
    } else {
      throw new Error(
        `treePaths: leaf "${path}" must be a Tensor, an array or a plain object, got ${
          describe(x)
        }`,
      );
    }
  };
  walk(tree, "");
  return out;
}

function sameStructure(a: TreeDef, b: TreeDef, path: string): string | null {
  const here = path === "" ? "(root)" : `"${path}"`;
  if (a.kind !== b.kind) return `at ${here}: ${a.kind} vs ${b.kind}`;
  if (a.kind === "leaf") return null;
  if (a.kind === "array" && b.kind === "array") {
    if (a.children.length !== b.children.length) {
      return `at ${here}: array of length ${a.children.length} vs ${b.children.length}`;
    }
    for (let i = 0; i < a.children.length; i++) {
      const m = sameStructure(a.children[i], b.children[i], childPath(path, i));
      if (m) return m;
    }
    return null;
  }
  if (a.kind === "object" && b.kind === "object") {
    if (a.keys.join("\u0000") !== b.keys.join("\u0000")) {
      return `at ${here}: keys [${a.keys}] vs [${b.keys}]`;
    }
    for (let i = 0; i < a.keys.length; i++) {
      const m = sameStructure(
        a.children[i],
        b.children[i],
        childPath(path, a.keys[i]),
      );
      if (m) return m;
    }
  }
  return null;
}

/**
 * Applies `fn` to corresponding leaves of one or more trees of the same
 * structure and returns a tree of the results.
 *
 * @example
 * ```ts
 * import { add, tensor, toArray, treeMap } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = treeMap((a, b) => add(a, b), { w: tensor([1, 2]) }, { w: tensor([10, 20]) });
 * assert.deepEqual(toArray(t.w), [11, 22]);
 * ```
 */
export function treeMap<T extends Tree>(
  fn: (...leaves: Tensor[]) => Tensor,
  tree: T,
  ...rest: Tree[]
): T {
  if (typeof fn !== "function") {
    throw new Error(`treeMap: fn must be a function, got ${describe(fn)}`);
  }
  const [leaves, def] = flattenAs("treeMap", tree);
  const others = rest.map((r, k) => {
    const [l, d] = flattenAs(`treeMap (tree ${k + 1})`, r);
    const mismatch = sameStructure(def, d, "");
    if (mismatch) {
      throw new Error(
        `treeMap: tree ${
          k + 1
        } does not match the structure of the first tree ${mismatch}`,
      );
    }
    return l;
  });
  const out = leaves.map((leaf, i) => fn(leaf, ...others.map((o) => o[i])));
  return treeUnflatten(def, out) as T;
}

/** Checks that two trees have the same structure; names the first difference. @internal */
export function checkSameStructure(
  fn: string,
  a: Tree,
  b: Tree,
  what: string,
): void {
  const m = sameStructure(flattenAs(fn, a)[1], flattenAs(fn, b)[1], "");
  if (m) throw new Error(`${fn}: ${what} do not have the same structure ${m}`);
}
