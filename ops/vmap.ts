/**
 * `vmap` and the Jacobian family, in JAX's style: `vmap(f)` maps `f` over an
 * axis of its inputs as if it were written for one example, by running it
 * once on the whole batch; `jacfwd`, `jacrev` and `hessian` are `vmap` of
 * `jvp` and `vjp` over a standard basis.
 *
 * Inside `vmap`, a mapped value is a tracer whose `shape` is one example's;
 * each primitive's batching rule (next to its other rules) says how to
 * compute it for the whole batch at once. Transforms nest in any order.
 *
 * @module
 */
import {
  allocShape,
  checkOptions,
  describe,
  fmtShape,
  fromData,
  type Key,
  showValue,
  sizeOf,
  type Tensor,
  zerosLike,
} from "./tensor.ts";
import { concrete, newLevel, type Rule, Tracer, unwrapLevel } from "./trace.ts";
import {
  flattenLeaves,
  isPlainObject,
  type LeafKind,
  leafKindOf,
  type Leaves,
  type Tree,
  treeFlatten,
  treeUnflatten,
  treeWalkGuard,
} from "./tree.ts";
import {
  checkArgnumsUnique,
  checkDifferentiable,
  checkFunction,
  outputChecked,
} from "./_args.ts";
import { jvp, vjp } from "./transforms.ts";
import {
  broadcastTo,
  expandDims,
  reshape,
  slice,
  stack,
  transpose,
} from "./structural.ts";

/**
 * A value of a `vmap` level: `primal` holds every example, stacked along
 * axis `bdim`; the tracer's own `shape` is one example's. A primitive
 * applied to it runs its batching rule. Its `data` is an error: the value
 * differs per example.
 */
class BatchTracer extends Tracer {
  constructor(
    level: number,
    primal: Tensor,
    readonly bdim: number,
    /** Its vmap call: `closed` once the mapped function has returned. */
    readonly scope: { closed: boolean },
  ) {
    super(level, primal, withoutAxis(primal.shape, bdim));
    Object.freeze(this);
  }
  process<P>(rule: Rule<P>, inputs: Tensor[], params: P): Tensor {
    if (this.scope.closed) throw leakedError(this);
    const level = this.level;
    const vals = inputs.map((x) => unwrapLevel(x, level));
    const dims = inputs.map((x) =>
      x instanceof BatchTracer && x.level === level ? x.bdim : null
    );
    const [out, d] = rule.batch(vals, dims, params);
    return d === null ? out : new BatchTracer(level, out, d, this.scope);
  }
  /** Still one value per example, without derivative tracing. */
  concrete(): Tensor {
    return new BatchTracer(
      this.level,
      concrete(this.primal),
      this.bdim,
      this.scope,
    );
  }
  override get data(): Tensor["data"] {
    if (this.scope.closed) throw leakedError(this);
    throw new Error(
      `vmap: cannot read the data of a value inside vmap: it differs per example (one example has shape ${
        fmtShape(this.shape)
      }, the batch ${
        fmtShape(this.primal.shape)
      }); compute with ops instead, or return the value from the mapped function and read it outside`,
    );
  }
}

/** The error for a mapped value used after its vmap returned (as JAX's UnexpectedTracerError). */
function leakedError(t: BatchTracer): Error {
  return new Error(
    `vmap: a value mapped inside vmap (one example of shape ${
      fmtShape(t.shape)
    }) was used after the mapped function returned: it leaked out through a variable or a closure; return it from the mapped function instead`,
  );
}

/** `shape` without axis `a`. */
function withoutAxis(shape: readonly number[], a: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) if (i !== a) out.push(shape[i]);
  return out;
}

/** Where a tree's leaves are mapped: an axis for all, `null` (not mapped), or a tree prefix of per-subtree specs. */
export type AxisSpec = number | null | readonly AxisSpec[] | {
  readonly [key: string]: AxisSpec;
};

/** Options of {@linkcode vmap}. */
export interface VmapOptions {
  /**
   * The mapped axis of each input: a number (negative counts from the end)
   * or `null` (the same value for every example), for all arguments, or an
   * array with one entry per positional argument, each a number, `null` or a
   * tree prefix of that argument. Default 0.
   */
  inAxes?: AxisSpec;
  /** Where the mapped axis goes in each output (a number, or a tree prefix of the output). Default 0. */
  outAxes?: AxisSpec;
  /** The number of examples; required when no input is mapped. */
  axisSize?: number;
}

/**
 * The axis of every leaf of `tree` (in `treeFlatten` order) from `spec`, a
 * number or null for the whole subtree or a prefix of its structure.
 */
function leafAxes(
  fn: string,
  what: string,
  tree: unknown,
  spec: unknown,
): (number | null)[] {
  if (spec === null || typeof spec === "number") {
    if (spec !== null && !Number.isInteger(spec)) {
      throw new Error(`${fn}: ${what} must be an integer or null, got ${spec}`);
    }
    return treeFlatten(tree as Tree)[0].map(() => spec);
  }
  if (Array.isArray(spec) && Array.isArray(tree)) {
    if (spec.length !== tree.length) {
      throw new Error(
        `${fn}: ${what} has ${spec.length} entries but the value is an array of length ${tree.length} (a tree prefix must match its structure)`,
      );
    }
    return tree.flatMap((t, i) => leafAxes(fn, `${what}[${i}]`, t, spec[i]));
  }
  if (isPlainObject(spec) && isPlainObject(tree)) {
    const keys = Object.keys(tree).sort();
    const extra = Object.keys(spec).filter((k) => !(k in tree));
    if (extra.length || keys.some((k) => !(k in spec))) {
      throw new Error(
        `${fn}: ${what} has keys [${
          Object.keys(spec).sort().join(", ")
        }] but the value has [${
          keys.join(", ")
        }] (a tree prefix must match its structure)`,
      );
    }
    return keys.flatMap((k) => leafAxes(fn, `${what}.${k}`, tree[k], spec[k]));
  }
  throw new Error(
    `${fn}: ${what} is not a prefix of the value's tree: spec ${
      showValue(spec)
    }, value ${describe(tree)}`,
  );
}

/** Axis `a` of a rank-`rank` value, counted from the end when negative; checked. */
function normAxis(
  fn: string,
  what: string,
  a: number,
  rank: number,
): number {
  const n = a < 0 ? a + rank : a;
  if (n < 0 || n >= rank) {
    throw new Error(
      `${fn}: ${what} is axis ${a}, out of range for a value of rank ${rank}`,
    );
  }
  return n;
}

/**
 * The arguments of a vmapped function: where `f` takes a random key, a
 * list of keys (one per example) too.
 */
export type KeyListArgs<A extends unknown[]> = {
  [I in keyof A]: A[I] extends Key ? A[I] | readonly Key[] : A[I];
};

/** The result of a vmapped function: a key `f` returns is a list of keys. */
export type KeyListResult<R> = R extends Key ? Key[] : R;

/**
 * Vectorising map, as `jax.vmap`: `vmap(f)(xs)` is `f` applied to each
 * example of `xs` (slices along the mapped axis), stacked along `outAxes`,
 * computed in one batched pass. Inputs mapped with `null` are shared by all
 * examples (an argument whose `inAxes` entry is `null` may be anything, a
 * number or a random key, and goes to `f` as it is, as JAX's `in_axes`
 * None); an output that does not depend on a mapped input is repeated
 * along the mapped axis. Inside `f`, a mapped value's `shape` is one
 * example's, and reading its `data` is an error (it differs per example).
 * A list of random keys (`random.split(key, n)`) is mapped along the list,
 * as JAX's vmap maps a key array: each example gets its own key (a key `f`
 * returns comes back as a list of keys, one per example).
 *
 * @example Per-example gradients in one pass:
 * ```ts
 * import { grad, mul, sum, type Tensor, tensor, toArray, vmap } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const loss = (w: Tensor, x: Tensor) => sum(mul(mul(w, x), mul(w, x)));
 * const perExample = vmap(grad(loss), { inAxes: [null, 0] });
 * const g = perExample(tensor([1, 2]), tensor([[1, 1], [2, 0]]));
 * assert.deepEqual(toArray(g), [[2, 4], [8, 0]]); // 2 w x² for each row x
 * ```
 *
 * @example Per-example randomness from a list of keys:
 * ```ts
 * import { random, stack, vmap } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const keys = random.split(random.key(0), 3);
 * const noise = vmap((k: random.Key) => random.normal(k, [2]))(keys);
 * assert.deepEqual(noise.data, stack(keys.map((k) => random.normal(k, [2]))).data);
 * ```
 */
export function vmap<A extends unknown[], R extends Tree<Tensor | Key>>(
  f: (...args: A) => R,
  options?: VmapOptions,
): (...args: KeyListArgs<A>) => KeyListResult<R> {
  const fn = "vmap";
  checkFunction(fn, "f", f);
  const o = checkOptions(fn, options, ["inAxes", "outAxes", "axisSize"]);
  // null is a setting (not mapped), not an absent option
  const inAxes = (o.inAxes === undefined ? 0 : o.inAxes) as AxisSpec;
  const outAxes = (o.outAxes === undefined ? 0 : o.outAxes) as AxisSpec;
  const axisSize = o.axisSize as number | undefined;
  if (
    axisSize !== undefined &&
    (!Number.isInteger(axisSize) || axisSize < 0 || axisSize > 2 ** 31 - 1)
  ) {
    throw new Error(
      `${fn}: axisSize must be an integer in [0, 2^31 - 1], got ${
        typeof axisSize === "number" ? axisSize : describe(axisSize)
      }`,
    );
  }
  return (...args: KeyListArgs<A>): KeyListResult<R> => {
    if (Array.isArray(inAxes) && inAxes.length !== args.length) {
      throw new Error(
        `${fn}: inAxes has ${inAxes.length} entries but f got ${args.length} argument(s)`,
      );
    }
    const level = newLevel(), scope = { closed: false };
    let size = axisSize, sizeFrom = "axisSize";
    const wrapped = args.map((arg, i) => {
      const what = `inAxes[${i}]`;
      const spec = Array.isArray(inAxes) ? inAxes[i] : inAxes;
      // an unmapped argument goes to f as it is (a number, a key, a
      // setting: as JAX's in_axes None)
      if (spec === null) return arg;
      const lists = new Map<Tensor, KeyList>();
      const prepared = keyListsAsTensors(fn, i, arg, lists);
      let leaves: Tensor[], def;
      try {
        [leaves, def] = treeFlatten(prepared as Tree);
      } catch (e) {
        throw new Error(
          `${fn}: argument ${i} is not a tree of tensors: ${
            (e as Error).message
          }`,
        );
      }
      const axes = leafAxes(fn, what, prepared, spec);
      return treeUnflatten(
        def,
        leaves.map((l, j) => {
          if (axes[j] === null) return lists.get(l)?.value ?? l;
          const list = lists.get(l);
          if (list?.depth === 0) {
            throw new Error(
              `${fn}: argument ${i} holds a single random key where an axis is mapped: map a list of keys (random.split(key, n), one per example), or give inAxes null (for the argument, or for that leaf: ${what} leaf ${j}) to pass the same key to every example`,
            );
          }
          if (list && axes[j] !== 0) {
            throw new Error(
              `${fn}: ${what} (leaf ${j}) maps a list of keys, which is mapped along the list: give 0, got ${
                axes[j]
              }`,
            );
          }
          const a = normAxis(
            fn,
            `${what} (leaf ${j})`,
            axes[j]!,
            l.shape.length,
          );
          const n = l.shape[a];
          if (size === undefined) {
            size = n;
            sizeFrom = `argument ${i} leaf ${j} (axis ${a} of ${
              fmtShape(l.shape)
            })`;
          } else if (n !== size) {
            throw new Error(
              `${fn}: mapped axes have different sizes: argument ${i} leaf ${j} has ${n} (axis ${a} of ${
                fmtShape(l.shape)
              }) but ${sizeFrom} has ${size}`,
            );
          }
          const t = new BatchTracer(level, l, a, scope);
          return list ? keysOf(list.kind, t, list.depth - 1) : t;
        }),
      );
    }) as unknown as A;
    if (size === undefined) {
      const none = args.every((_, i) =>
        (Array.isArray(inAxes) ? inAxes[i] : inAxes) === null
      );
      throw new Error(
        `${fn}: no input is mapped (${
          none
            ? "every inAxes entry is null"
            : "the mapped arguments hold no tensor: an empty tree or an empty list of keys, or every leaf's axis is null"
        }): give axisSize`,
      );
    }
    let result: unknown;
    try {
      result = f(...wrapped);
    } finally {
      scope.closed = true;
    }
    let flat: Leaves;
    try {
      flat = flattenLeaves(result);
    } catch (e) {
      throw new Error(
        `${fn}: the mapped function must return a tree of tensors: ${
          (e as Error).message
        }`,
      );
    }
    const { leaves, def, kinds } = flat;
    // (keys as the tensors of their words: outAxes is a prefix of that tree)
    const axes = leafAxes(fn, "outAxes", treeUnflatten(def, leaves), outAxes);
    return treeUnflatten(
      def,
      leaves.map((l, j) => {
        const batched = l instanceof BatchTracer && l.level === level;
        const kind = kinds[j];
        if (axes[j] === null) {
          if (batched) {
            throw new Error(
              `${fn}: outAxes is null for output leaf ${j}, but it differs per example`,
            );
          }
          return kind ? kind.fromTensor(l) : l;
        }
        if (kind) { // a key per example: a list of keys (along the list)
          if (axes[j] !== 0) {
            throw new Error(
              `${fn}: output leaf ${j} is a random key, returned as a list of keys (one per example): outAxes must be 0 there, got ${
                axes[j]
              }`,
            );
          }
          const words = batched
            ? moveAxis(l.primal, l.bdim, 0)
            : broadcastTo(expandDims(l, 0), [size!, ...l.shape]);
          return keysOf(kind, words, 1);
        }
        const a = normAxis(
          fn,
          `outAxes (leaf ${j})`,
          axes[j]!,
          l.shape.length + 1,
        );
        if (!batched) { // the same for every example: repeat it
          const e = expandDims(l, a);
          const shape = e.shape.slice();
          shape[a] = size!;
          return broadcastTo(e, shape);
        }
        return moveAxis(l.primal, l.bdim, a);
      }),
    ) as KeyListResult<R>;
  };
}

/** A list of keys mapped by `vmap`: their kind, and how deeply lists nest (1: a list of keys; 0: a single key, which only an axis null passes). */
interface KeyList {
  kind: LeafKind;
  depth: number;
  /** What f gets when the list is not mapped: the list (or key) itself. */
  value: unknown;
}

/**
 * `tree` with each list of keys (non-empty; or a list of such lists, all of
 * one length) replaced by one tensor of their words `[n, ..., 2]`, noted in
 * `lists`, so that `vmap` maps the list, as JAX's vmap maps a key array:
 * each example gets its own key (`random.split(key, n)` makes such a list).
 * A single key becomes its words `[2]` too, noted with depth 0: a leaf
 * whose axis is null gets it back as it is, a mapped one is an error.
 */
function keyListsAsTensors(
  fn: string,
  i: number,
  tree: unknown,
  lists: Map<Tensor, KeyList>,
  guard = treeWalkGuard(fn),
  path = "",
): unknown {
  const kind = leafKindOf(tree);
  if (kind) {
    // a single key: unmapped where its axis is null (vmap checks the rest)
    const words = kind.toTensor(tree);
    lists.set(words, { kind, depth: 0, value: tree });
    return words;
  }
  const at = (k: string | number) => path === "" ? String(k) : `${path}.${k}`;
  if (Array.isArray(tree)) {
    guard.enter(tree, path);
    const list = keyList(tree);
    if (list) {
      lists.set(list.words, { ...list, value: tree });
      guard.leave(tree);
      return list.words;
    }
    const out = tree.map((t, k) =>
      keyListsAsTensors(fn, i, t, lists, guard, at(k))
    );
    guard.leave(tree);
    return out;
  }
  if (isPlainObject(tree)) {
    guard.enter(tree, path);
    const out = Object.fromEntries(
      Object.entries(tree).map(([k, v]) => [
        k,
        keyListsAsTensors(fn, i, v, lists, guard, at(k)),
      ]),
    );
    guard.leave(tree);
    return out;
  }
  return tree;
}

/** The words of a list of keys of one kind (or of equal lists of them), or null. */
function keyList(
  list: readonly unknown[],
  path: readonly unknown[] = [],
): { words: Tensor; kind: LeafKind; depth: number } | null {
  // (a list that contains itself is no key list: the caller's walk reports it)
  if (list.length === 0 || path.includes(list)) return null;
  const kind = leafKindOf(list[0]);
  if (kind && list.every((x) => leafKindOf(x) === kind)) {
    return { words: stack(list.map((x) => kind.toTensor(x))), kind, depth: 1 };
  }
  if (!list.every(Array.isArray)) return null;
  const inner = list.map((l) => keyList(l as unknown[], [...path, list]));
  const first = inner[0];
  if (
    !first ||
    !inner.every((l) =>
      l && l.kind === first.kind && l.depth === first.depth &&
      l.words.shape.join() === first.words.shape.join()
    )
  ) return null;
  return {
    words: stack(inner.map((l) => l!.words)),
    kind: first.kind,
    depth: first.depth + 1,
  };
}

/** The keys (of `kind`) that `words` `[n, ..., 2]` holds, as nested lists `depth` deep (0: one key). */
function keysOf(kind: LeafKind, words: Tensor, depth: number): unknown {
  if (depth === 0) return kind.fromTensor(words);
  const [n, ...rest] = words.shape;
  return Array.from({ length: n }, (_, b) =>
    keysOf(
      kind,
      reshape(
        slice(words, [b, ...rest.map(() => 0)], [b + 1, ...rest]),
        rest,
      ),
      depth - 1,
    ));
}

/** `x` with axis `from` moved to position `to`. */
function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = [...x.shape.keys()].filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}

/** Options of {@linkcode jacfwd}, {@linkcode jacrev} and {@linkcode hessian}. */
export interface JacobianOptions {
  /** The argument(s) to differentiate with respect to: a position (default 0) or a list. */
  argnums?: number | readonly number[];
  /** `f` returns `[output, aux]`; the result is then `[jacobian, aux]`. Default false. */
  hasAux?: boolean;
}

/**
 * The identity of size n, as [n, ...shape] (row i is the i-th basis vector
 * of that shape), float64 for a float64 leaf and float32 otherwise; a
 * Jacobian too large to allocate is an error naming `fn`.
 */
function basis(
  fn: string,
  n: number,
  shape: readonly number[],
  like: Tensor,
): Tensor {
  const dims = [n, ...shape];
  const eye = allocShape(
    `${fn} (its basis of ${n} vectors)`,
    like.dtype === "float64" ? "float64" : "float32",
    dims,
  );
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return fromData(eye, dims);
}

/** The settings of a Jacobian transform, checked. */
function jacSetup(
  fn: string,
  f: unknown,
  options: JacobianOptions | undefined,
  args: readonly unknown[],
): { nums: number[]; single: boolean; hasAux: boolean } {
  const nargs = args.length;
  checkFunction(fn, "f", f);
  const o = checkOptions(fn, options, ["argnums", "hasAux"]);
  const argnums = (o.argnums ?? 0) as number | number[];
  const list = Array.isArray(argnums) ? argnums : [argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= nargs) {
      throw new Error(
        `${fn}: argnums ${
          showValue(argnums)
        } is out of range for ${nargs} argument(s)`,
      );
    }
  }
  // the differentiated arguments are trees of float tensors (errors naming
  // fn; int32 has no derivative, as grad and JAX's jacfwd/jacrev refuse it)
  checkArgnumsUnique(fn, argnums);
  for (const a of list) checkDifferentiable(fn, a, args[a]);
  return {
    nums: list,
    single: !Array.isArray(argnums),
    hasAux: o.hasAux === true,
  };
}

/** `f`'s result with `hasAux`: checked to be the pair [output, aux]. */
function auxPair(fn: string, r: unknown): [Tree, Tree] {
  if (!Array.isArray(r) || r.length !== 2) {
    throw new Error(
      `${fn}: with hasAux, f must return [output, aux], got ${describe(r)}`,
    );
  }
  return r as [Tree, Tree];
}

/**
 * Assembles a Jacobian tree: for output leaf k and input leaf j, `block(k,
 * j)` of shape [...outShape_k, ...inShape_j]; the output's structure outside,
 * the inputs' (one tree per argnum, or the argnum's own) inside, as JAX.
 */
function assemble(
  out: Tree,
  inputs: Tree[],
  single: boolean,
  block: (k: number, arg: number, j: number) => Tensor,
): Tree {
  const [outLeaves, outDef] = treeFlatten(out);
  return treeUnflatten(
    outDef,
    outLeaves.map((_, k) => {
      const perArg = inputs.map((x, a) => {
        const [inLeaves, inDef] = treeFlatten(x);
        return treeUnflatten(inDef, inLeaves.map((_, j) => block(k, a, j)));
      });
      return (single ? perArg[0] : perArg) as unknown as Tensor;
    }),
  );
}

/**
 * The Jacobian of `f` by reverse mode, as `jax.jacrev`: `vmap` of the VJP
 * over the output's standard basis (one pass per output element, batched).
 * For an output of shape `S` and an input of shape `T` the block has shape
 * `[...S, ...T]`; trees give trees (the output's structure outside).
 *
 * @example
 * ```ts
 * import { jacrev, mul, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const j = jacrev((x: Tensor) => mul(x, x))(tensor([1, 2]));
 * assert.deepEqual(toArray(j as Tensor), [[2, 0], [0, 4]]);
 * ```
 */
export function jacrev<A extends unknown[]>(
  f: (...args: A) => Tree,
  options?: JacobianOptions,
): (...args: A) => Tree {
  return (...args: A) => {
    const fn = "jacrev";
    const { nums, single, hasAux } = jacSetup(fn, f, options, args);
    const fc = outputChecked(fn, f, hasAux ? (r) => auxPair(fn, r) : undefined);
    const g = (...d: Tree[]) => {
      const full = args.slice() as unknown[];
      nums.forEach((i, k) => (full[i] = d[k]));
      return fc(...full as A);
    };
    const primals = nums.map((i) => args[i] as Tree);
    const [res, back] = vjp(g, ...primals);
    const [out, aux] = hasAux ? auxPair(fn, res) : [res, null];
    const [outLeaves, outDef] = treeFlatten(out);
    // one vmap per output leaf: its basis mapped, the other leaves' cotangents zero
    const rows = outLeaves.map((l, k) => {
      const n = sizeOf(l.shape);
      const cts = outLeaves.map((m, i) =>
        i === k ? basis(fn, n, l.shape, l) : zerosLike(m)
      );
      const ct = treeUnflatten(outDef, cts);
      const spec = treeUnflatten(
        outDef,
        outLeaves.map((_, i) => i === k ? 0 : null) as never,
      );
      const full = hasAux ? [ct, zerosTree(aux)] : ct;
      const fullSpec = hasAux ? [spec, null] : spec;
      return vmap((c: Tree) => back(c), { inAxes: [fullSpec as AxisSpec] })(
        full,
      ) as Tree[];
    });
    const jac = assemble(out, primals, single, (k, a, j) => {
      const cols = treeFlatten(rows[k][a])[0][j]; // [n_k, ...inShape]
      return reshape(cols, [...outLeaves[k].shape, ...cols.shape.slice(1)]);
    });
    return hasAux ? [jac, aux as Tree] : jac;
  };
}

/** Zeros like every leaf of a tree (the cotangent of an aux output). */
function zerosTree(t: Tree | null): Tree {
  if (t === null) return [];
  const [leaves, def] = treeFlatten(t);
  return treeUnflatten(def, leaves.map((l) => zerosLike(l)));
}

/**
 * The Jacobian of `f` by forward mode, as `jax.jacfwd`: `vmap` of the JVP
 * over the inputs' standard basis (one pass per input element, batched).
 * Shapes and trees as {@linkcode jacrev}.
 *
 * @example
 * ```ts
 * import { jacfwd, mul, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const j = jacfwd((x: Tensor) => sum(mul(x, x)))(tensor([1, 2]));
 * assert.deepEqual(toArray(j as Tensor), [2, 4]);
 * ```
 */
export function jacfwd<A extends unknown[]>(
  f: (...args: A) => Tree,
  options?: JacobianOptions,
): (...args: A) => Tree {
  return (...args: A) => {
    const fn = "jacfwd";
    const { nums, single, hasAux } = jacSetup(fn, f, options, args);
    const primals = nums.map((i) => args[i] as Tree);
    const fc = outputChecked(fn, f, hasAux ? (r) => auxPair(fn, r) : undefined);
    const g = (...d: Tree[]) => {
      const full = args.slice() as unknown[];
      nums.forEach((i, k) => (full[i] = d[k]));
      const r = fc(...full as A);
      return hasAux ? auxPair(fn, r)[0] : r;
    };
    const inLeaves = primals.map((p) => treeFlatten(p));
    // one vmap per input leaf: its basis mapped, the other tangents zero
    const cols = inLeaves.map(([leaves], a) =>
      leaves.map((l, j) => {
        const n = sizeOf(l.shape);
        const tangents = inLeaves.map(([ls, d], b) =>
          treeUnflatten(
            d,
            ls.map((m, i) =>
              a === b && i === j ? basis(fn, n, l.shape, l) : zerosLike(m)
            ),
          )
        );
        const spec = inLeaves.map(([ls, d], b) =>
          treeUnflatten(
            d,
            ls.map((_, i) => a === b && i === j ? 0 : null) as never,
          )
        );
        return vmap((t: Tree[]) => jvp(g, primals, t)[1], {
          inAxes: [spec as AxisSpec],
        })(tangents) as Tree;
      })
    );
    const out = g(...primals);
    const outLeaves = treeFlatten(out)[0];
    const jac = assemble(out, primals, single, (k, a, j) => {
      const t = treeFlatten(cols[a][j])[0][k]; // [n_j, ...outShape_k]
      const inShape = inLeaves[a][0][j].shape;
      const moved = transpose(
        t,
        [...t.shape.keys()].map((i) => (i + 1) % t.shape.length),
      );
      return reshape(moved, [...outLeaves[k].shape, ...inShape]);
    });
    if (!hasAux) return jac;
    const aux = auxPair(fn, f(...args))[1];
    return [jac, aux];
  };
}

/**
 * The Hessian of a scalar `f`, as `jax.hessian`: `jacfwd(jacrev(f))`. For
 * an input of shape `T` it has shape `[...T, ...T]`. With `hasAux`, `f`
 * returns `[output, aux]` and the result is `[hessian, aux]`.
 *
 * @example
 * ```ts
 * import { hessian, mul, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const h = hessian((x: Tensor) => sum(mul(mul(x, x), x)))(tensor([1, 2]));
 * assert.deepEqual(toArray(h as Tensor), [[6, 0], [0, 12]]); // 6 x on the diagonal
 * ```
 */
export function hessian<A extends unknown[]>(
  f: (...args: A) => Tensor | [Tensor, Tree],
  options?: JacobianOptions,
): (...args: A) => Tree {
  checkOptions("hessian", options, ["argnums", "hasAux"]);
  return (...args: A) => {
    // (checked here, so that the error names hessian, not jacfwd)
    const fn = "hessian";
    const { hasAux } = jacSetup(fn, f, options, args);
    const fc = outputChecked(
      fn,
      f,
      hasAux ? (r) => auxPair(fn, r) : undefined,
    );
    // with hasAux, jacrev gives [jacobian, aux], which jacfwd reads as
    // [output, aux] (as JAX's hessian)
    return jacfwd(jacrev(fc, options), options)(...args);
  };
}
