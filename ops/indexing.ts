/**
 * Gathering, scattering, sorting and embedding: `take` (jnp.take /
 * torch.index_select), `takeAlongAxis` (torch.gather), `scatterAdd`
 * (torch.Tensor.scatter_add), `oneHot`, `sort`, `argsort`, `topk` and
 * `embedding` (F.embedding).
 *
 * Five primitives: `gather` (ONNX's Gather: slices along one axis at an
 * int32 index tensor of any shape; `take`, `embedding`) and `scatterAdd`
 * (its transpose: adds the slices back at the indices); `gatherElements`
 * (ONNX's GatherElements, torch.gather: one index per output element;
 * `takeAlongAxis`) and `scatterElementsAdd` (its transpose; the public
 * `scatterAdd`); each pair is the other's VJP, so gradients of gradients
 * work. And `argsort` (stable, int32, no derivative): `sort` and `topk`
 * take their values along the axis at its indices, so their VJP scatters g
 * back through them.
 * Indices are checked as PyTorch does: a negative or too large index is an
 * error naming it and the size (NumPy and JAX would wrap or clamp it).
 *
 * @module
 */
import {
  allocData,
  arange,
  checkBool,
  checkOptions,
  checkTensor,
  type DType,
  fromData,
  sizeOf,
  type Tensor,
  zeros,
} from "./tensor.ts";
import { bind, concrete, definePrimitive, type Primitive } from "./trace.ts";
import { userOp } from "./debug.ts";
import { floatCheck, fmt, intIn } from "./_args.ts";
import { add, astype, equal, mul, where } from "./elementwise.ts";
import {
  batchFront,
  batchSize,
  expandDims,
  normAxis,
  pad,
  reshape,
  slice,
  transpose,
} from "./structural.ts";
import * as ix from "./kernels/indexing.ts";
import * as shp from "./kernels/shape.ts";

// ---------------------------------------------------------------------------
// argument checks

/** Throws unless `t` is an int32 tensor (indices and labels). */
function indexTensor(fn: string, t: Tensor, name: string): void {
  checkTensor(fn, t, name);
  if (t.dtype !== "int32") {
    throw new Error(
      `${fn}: ${name} must be an int32 tensor, got ${t.dtype} ${fmt(t.shape)}`,
    );
  }
}

/**
 * int32 `t` (indices, labels) once `check` has accepted its values: a step
 * of its own (`checkValues`), so the check runs wherever the values are
 * computed — in an eager call, under vmap on every example's values, and
 * in every replay of a jit plan, not only when it was traced. `check`
 * throws the public op's error.
 */
export function checkedValues(
  t: Tensor,
  check: (data: Int32Array) => void,
): Tensor {
  return bind(checkValuesPrim, [t], { check });
}

/** `t` once every value (every example's, under vmap) is in [0, size); else the error of `fn`. */
function checkRange(
  fn: string,
  t: Tensor,
  name: string,
  size: number,
  what: string,
): Tensor {
  const shape = fmt(t.shape);
  return checkedValues(t, (data) => {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < 0 || v >= size) {
        throw new Error(
          `${fn}: ${name} must be in [0, ${size}) (${what}), got ${v} at flat index ${i} (${name} ${shape})`,
        );
      }
    }
  });
}

/** The axis of an op along an axis of x: x must have one, and `axis` normalised. */
function axisOf(fn: string, x: Tensor, axis: unknown): number {
  if (x.shape.length === 0) {
    throw new Error(`${fn}: x must have at least one axis, got a scalar`);
  }
  return normAxis(fn, axis as number, x.shape.length, x.shape);
}

// ---------------------------------------------------------------------------
// take

/** Options of {@linkcode take}. */
export interface TakeOptions {
  /** The axis to take along (negative counts from the end); the flattened x when omitted. */
  axis?: number;
}

/**
 * Takes slices of `x` along `axis` at int32 `indices` of any shape, as
 * `jnp.take` (`torch.index_select` for 1-D indices): the result has shape
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Without `axis`, takes
 * elements of the flattened x. Indices must be in `[0, size)`: a negative
 * one is an error, as in `torch.index_select` (jnp.take would wrap it).
 *
 * @example
 * ```ts
 * import { take, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * const i = tensor([2, 0, 2], { dtype: "int32" });
 * assert.deepEqual(toArray(take(x, i, { axis: 1 })), [[3, 1, 3], [6, 4, 6]]);
 * assert.deepEqual(toArray(take(x, tensor([[5, 0]], { dtype: "int32" }))), [[6, 1]]);
 * ```
 */
export function take(
  x: Tensor,
  indices: Tensor,
  options?: TakeOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "take";
  checkTensor(fn, x, "x");
  indexTensor(fn, indices, "indices");
  checkOptions(fn, options, ["axis"]);
  using _op = userOp(fn);
  const flat = options.axis === undefined;
  const src = flat ? reshape(x, [-1]) : x;
  const axis = flat ? 0 : axisOf(fn, x, options.axis);
  const checked = checkRange(
    fn,
    indices,
    "indices",
    src.shape[axis],
    flat
      ? `the size of x ${fmt(x.shape)}, flattened`
      : `the size of axis ${axis} of x ${fmt(x.shape)}`,
  );
  return bind(gatherPrim, [src, checked], { axis });
}

// ---------------------------------------------------------------------------
// takeAlongAxis and scatterAdd: gather and scatterAdd on flat indices

/** Options of {@linkcode takeAlongAxis} and {@linkcode scatterAdd}. */
export interface AlongAxisOptions {
  /** The axis the indices run along (negative counts from the end). Required. */
  axis: number;
}

/**
 * Checks indices against x for an op along an axis (PyTorch's rule: the
 * same rank, no larger than x outside the axis, nor than `src` anywhere);
 * returns the axis and the checked indices.
 */
function alongAxis(
  fn: string,
  x: Tensor,
  indices: Tensor,
  options: AlongAxisOptions,
  src?: Tensor,
): [number, Tensor] {
  checkOptions(fn, options, ["axis"]);
  if (options?.axis === undefined) {
    throw new Error(`${fn}: options.axis is required (an integer)`);
  }
  const axis = axisOf(fn, x, options.axis);
  for (const [t, name] of [[x, "x"], [src, "src"]] as const) {
    if (t === undefined) continue;
    if (indices.shape.length !== t.shape.length) {
      throw new Error(
        `${fn}: indices must have as many axes as ${name} (${name} ${
          fmt(t.shape)
        }), got ${fmt(indices.shape)}`,
      );
    }
    indices.shape.forEach((d, i) => {
      if (d > t.shape[i] && (t === src || i !== axis)) {
        throw new Error(
          `${fn}: indices ${fmt(indices.shape)} is larger than ${name} ${
            fmt(t.shape)
          } at axis ${i}${t === x ? ` (only axis ${axis} may be)` : ""}`,
        );
      }
    });
  }
  const checked = checkRange(
    fn,
    indices,
    "indices",
    x.shape[axis],
    `the size of axis ${axis} of x ${fmt(x.shape)}`,
  );
  return [axis, checked];
}

/**
 * Takes values of `x` along `axis` at int32 `indices` of x's rank, as
 * `torch.gather` (`jnp.take_along_axis`): `out[i][j][k] = x[i][indices[i][j][k]][k]`
 * for axis 1. The result has the shape of `indices`, which may be smaller
 * than x on every axis (PyTorch's rule: no broadcasting). Indices must be
 * in `[0, x.shape[axis])`.
 *
 * @example
 * ```ts
 * import { takeAlongAxis, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[10, 20, 30], [40, 50, 60]]);
 * const i = tensor([[2, 0], [1, 1]], { dtype: "int32" });
 * assert.deepEqual(toArray(takeAlongAxis(x, i, { axis: 1 })), [[30, 10], [50, 50]]);
 * ```
 */
export function takeAlongAxis(
  x: Tensor,
  indices: Tensor,
  options: AlongAxisOptions,
): Tensor {
  const fn = "takeAlongAxis";
  checkTensor(fn, x, "x");
  indexTensor(fn, indices, "indices");
  using _op = userOp(fn);
  const [axis, checked] = alongAxis(fn, x, indices, options);
  const ends = indices.shape.map((d, i) => (i === axis ? x.shape[i] : d));
  return bind(gatherElementsPrim, [slice(x, [], ends), checked], { axis });
}

/**
 * `x` with the values of `src` added at `indices` along `axis`, as
 * `torch.Tensor.scatter_add`: for axis 0, `out[indices[i][j]][j] += src[i][j]`.
 * `indices` has x's rank and is no larger than `src` on any axis, nor than
 * x outside `axis` (only its part of `src` is used); repeated indices add
 * up. x and src have one dtype.
 *
 * @example
 * ```ts
 * import { scatterAdd, tensor, toArray, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const i = tensor([[0, 1, 0]], { dtype: "int32" });
 * const src = tensor([[1, 2, 3]]);
 * assert.deepEqual(toArray(scatterAdd(zeros([1, 2]), i, src, { axis: 1 })), [[4, 2]]);
 * ```
 */
export function scatterAdd(
  x: Tensor,
  indices: Tensor,
  src: Tensor,
  options: AlongAxisOptions,
): Tensor {
  const fn = "scatterAdd";
  checkTensor(fn, x, "x");
  indexTensor(fn, indices, "indices");
  checkTensor(fn, src, "src");
  using _op = userOp(fn);
  if (src.dtype !== x.dtype) {
    throw new Error(
      `${fn}: src must have x's dtype ${x.dtype}, got ${src.dtype} ${
        fmt(src.shape)
      }`,
    );
  }
  const [axis, checked] = alongAxis(fn, x, indices, options, src);
  const added = bind(scatterElementsAddPrim, [
    slice(src, [], indices.shape),
    checked,
  ], { axis, size: x.shape[axis] });
  // zeros where the indices are shorter than x off the axis
  return add(x, pad(added, added.shape.map((d, i) => [0, x.shape[i] - d])));
}

/**
 * Slices of x along `axis` at int32 indices the library computed itself
 * (so in range: no check step), as {@linkcode take}: `unfold`'s patches.
 * @internal
 */
export function gatherAt(x: Tensor, indices: Tensor, axis: number): Tensor {
  return bind(gatherPrim, [x, indices], { axis });
}

/**
 * The transpose of {@linkcode gatherAt}: src's slices added into zeros of
 * `size` along `axis` at in-range indices (repeats add up, in index order):
 * `fold`. @internal
 */
export function scatterAddAt(
  src: Tensor,
  indices: Tensor,
  axis: number,
  size: number,
): Tensor {
  return bind(scatterAddPrim, [src, indices], { axis, size });
}

/**
 * {@linkcode scatterAdd} into zeros of `size` along `axis` at in-range
 * indices (checked by the caller): `src`'s shape with `size` on `axis`.
 * @internal
 */
export function scatterAddAlongAt(
  src: Tensor,
  indices: Tensor,
  axis: number,
  size: number,
): Tensor {
  return bind(scatterElementsAddPrim, [src, indices], { axis, size });
}

/**
 * 1 where an index is the last of its row (the last axis) to hold its
 * value, else 0 (int32, no derivative): which of several writes to one
 * position a sequential scatter keeps. @internal
 */
export function lastOccurrences(indices: Tensor): Tensor {
  return bind(lastOccurrencePrim, [indices], {});
}

/** {@linkcode takeAlongAxis} at in-range indices the library computed (no check step). @internal */
export function takeAlongAxisAt(
  x: Tensor,
  indices: Tensor,
  axis: number,
): Tensor {
  return bind(gatherElementsPrim, [x, indices], { axis });
}

// ---------------------------------------------------------------------------
// oneHot and embedding

/**
 * One-hot rows of int32 class labels: shape `labels.shape + [numClasses]`,
 * 1 at each label and 0 elsewhere (float32, or `options.dtype`), as
 * `F.one_hot` with a float result. A label outside `[0, numClasses)` is an
 * error naming it.
 *
 * @example
 * ```ts
 * import { oneHot, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = oneHot(tensor([2, 0], { dtype: "int32" }), 3);
 * assert.deepEqual(toArray(y), [[0, 0, 1], [1, 0, 0]]);
 * assert.equal(y.dtype, "float32");
 * ```
 */
export function oneHot(
  labels: Tensor,
  numClasses: number,
  options?: { dtype?: DType },
): Tensor {
  if (options === undefined) options = {};
  const fn = "oneHot";
  indexTensor(fn, labels, "labels");
  checkOptions(fn, options, ["dtype"]);
  using _op = userOp(fn);
  const c = intIn(fn, "numClasses", numClasses, 1, 2 ** 31 - 1);
  const n = sizeOf(labels.shape) * c;
  if (n > 2 ** 31 - 1) {
    throw new Error(
      `${fn}: the result ${
        fmt([...labels.shape, c])
      } would have ${n} elements, more than 2^31 - 1 (labels ${
        fmt(labels.shape)
      }, numClasses ${c})`,
    );
  }
  const dtype = options.dtype ?? "float32";
  // (no labels: nothing to compare, so no table of the classes either)
  if (n === 0) return zeros([...labels.shape, c], { dtype });
  const checked = checkRange(fn, labels, "labels", c, `numClasses ${c}`);
  const classes = arange(c, undefined, 1, { dtype: "int32" });
  return astype(equal(expandDims(checked, -1), classes), dtype);
}

/** Options of {@linkcode embedding}. */
export interface EmbeddingOptions {
  /** A row whose gradient is always zero (negative counts from the end), as PyTorch's `padding_idx`. */
  paddingIdx?: number | null;
}

/**
 * Rows of `weight` `[numEmbeddings, dim]` at int32 `indices`, as
 * `F.embedding`: shape `indices.shape + [dim]`. With `paddingIdx`, that
 * row's gradient is zero (its value is still returned).
 *
 * @example
 * ```ts
 * import { embedding, grad, sum, tensor, toArray } from "../mod.ts";
 * import type { Tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const w = tensor([[0, 0], [1, 2], [3, 4]]);
 * const i = tensor([[1, 2], [0, 1]], { dtype: "int32" });
 * assert.deepEqual(toArray(embedding(i, w)), [[[1, 2], [3, 4]], [[0, 0], [1, 2]]]);
 * const g = grad((v: Tensor) => sum(embedding(i, v, { paddingIdx: 0 })))(w);
 * assert.deepEqual(toArray(g), [[0, 0], [2, 2], [1, 1]]);
 * ```
 */
export function embedding(
  indices: Tensor,
  weight: Tensor,
  options?: EmbeddingOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "embedding";
  indexTensor(fn, indices, "indices");
  checkTensor(fn, weight, "weight");
  checkOptions(fn, options, ["paddingIdx"]);
  using _op = userOp(fn);
  floatCheck(fn, "weight", weight);
  if (weight.shape.length !== 2) {
    throw new Error(
      `${fn}: weight must be [numEmbeddings, dim], got ${fmt(weight.shape)}`,
    );
  }
  const n = weight.shape[0];
  const checked = checkRange(
    fn,
    indices,
    "indices",
    n,
    `the rows of weight ${fmt(weight.shape)}`,
  );
  const out = bind(gatherPrim, [weight, checked], { axis: 0 });
  const p = options.paddingIdx;
  if (p === undefined || p === null) return out;
  const pad = intIn(fn, "paddingIdx", p, -n, n - 1);
  const still = concrete(out); // out itself when nothing differentiates it
  if (still === out) return out;
  const isPad = expandDims(equal(indices, pad < 0 ? pad + n : pad), -1);
  return where(isPad, still, out); // the same values; no gradient there
}

// ---------------------------------------------------------------------------
// sorting

/** Options of {@linkcode sort} and {@linkcode argsort}. */
export interface SortOptions {
  /** The axis to sort along (negative counts from the end). Default -1. */
  axis?: number;
  /** Largest first. Default false. */
  descending?: boolean;
}

/**
 * Values and int32 indices, as `torch.sort` and `torch.topk` return them: a
 * type (not an interface) so that it is a tree, which `vmap`, `jit` and
 * `vjp` of a function returning it accept.
 */
export type ValuesAndIndices = {
  /** The values, in order. */
  values: Tensor;
  /** Where each value was along the axis (int32). */
  indices: Tensor;
};

/**
 * The checked axis and the argsort of x along it; `key` names the direction
 * option (`descending`, or topk's `largest`). A scalar (axis 0 or -1) is
 * sorted as its one-element vector `v`, as torch's 0-d sort, argsort and
 * topk; `back` turns a one-element result back into a scalar.
 */
function argsortOf(
  fn: string,
  x: Tensor,
  options: SortOptions | TopkOptions,
  key: "descending" | "largest",
  descendingDefault: boolean,
): { v: Tensor; axis: number; indices: Tensor; back: (t: Tensor) => Tensor } {
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis", key]);
  const scalar = x.shape.length === 0;
  const axis = scalar
    ? normAxis(fn, (options.axis ?? -1) as number, 0, x.shape)
    : axisOf(fn, x, options.axis ?? -1);
  const descending = checkBool(
    fn,
    key,
    (options as Record<string, unknown>)[key],
    descendingDefault,
  );
  const v = scalar ? reshape(x, [1]) : x;
  return {
    v,
    axis,
    indices: bind(argsortPrim, [v], { axis, descending }),
    back: (t) => (scalar && t.shape[0] === 1 ? reshape(t, []) : t),
  };
}

/**
 * The int32 indices that sort `x` along `axis`, as `torch.argsort(stable=True)`:
 * equal values keep their order, NaN sorts as the largest value.
 *
 * @example
 * ```ts
 * import { argsort, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(argsort(tensor([3, 1, NaN, 1]))), [1, 3, 0, 2]);
 * assert.deepEqual(toArray(argsort(tensor([3, 1, NaN, 1]), { descending: true })), [2, 0, 1, 3]);
 * ```
 */
export function argsort(x: Tensor, options?: SortOptions): Tensor {
  if (options === undefined) options = {};
  const { indices, back } = argsortOf(
    "argsort",
    x,
    options,
    "descending",
    false,
  );
  return back(indices);
}

/**
 * Sorts `x` along `axis`, as `torch.sort(stable=True)`: `{ values, indices }`
 * with equal values in their original order and NaN as the largest value
 * (last ascending, first descending). The gradient of `values` goes back to
 * where each value came from.
 *
 * @example
 * ```ts
 * import { sort, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { values, indices } = sort(tensor([[3, 1, 2], [0, 5, 4]]), { descending: true });
 * assert.deepEqual(toArray(values), [[3, 2, 1], [5, 4, 0]]);
 * assert.deepEqual(toArray(indices), [[0, 2, 1], [1, 2, 0]]);
 * ```
 */
export function sort(x: Tensor, options?: SortOptions): ValuesAndIndices {
  if (options === undefined) options = {};
  const fn = "sort";
  using _op = userOp(fn);
  const { v, axis, indices, back } = argsortOf(
    fn,
    x,
    options,
    "descending",
    false,
  );
  const values = bind(gatherElementsPrim, [v, indices], { axis });
  return { values: back(values), indices: back(indices) };
}

/** Options of {@linkcode topk}. */
export interface TopkOptions {
  /** The axis to select along (negative counts from the end). Default -1. */
  axis?: number;
  /** The k largest (default true) or the k smallest. */
  largest?: boolean;
}

/**
 * The `k` largest (or smallest) values along `axis` and their int32
 * indices, as `torch.topk` (sorted): in order, equal values in their
 * original order, NaN as the largest value. `k` is 0 to the axis' size.
 * Among equal values the first ones are taken, where PyTorch's choice is
 * unspecified (`torch.topk(torch.tensor([1., 4, 2, 4, 4]), 2)` gives
 * indices [1, 4]; this gives [1, 3]).
 *
 * @example
 * ```ts
 * import { tensor, toArray, topk } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { values, indices } = topk(tensor([1, 4, 2, 4]), 2);
 * assert.deepEqual(toArray(values), [4, 4]);
 * assert.deepEqual(toArray(indices), [1, 3]);
 * assert.deepEqual(toArray(topk(tensor([1, 4, 2]), 1, { largest: false }).values), [1]);
 * ```
 */
export function topk(
  x: Tensor,
  k: number,
  options?: TopkOptions,
): ValuesAndIndices {
  if (options === undefined) options = {};
  const fn = "topk";
  using _op = userOp(fn);
  const { v, axis, indices: order, back } = argsortOf(
    fn,
    x,
    options,
    "largest",
    true,
  );
  const size = v.shape[axis];
  const kk = intIn(fn, `k (axis ${axis} of x ${fmt(x.shape)})`, k, 0, size);
  const ends = v.shape.map((d, i) => (i === axis ? kk : d));
  const indices = slice(order, [], ends);
  const values = bind(gatherElementsPrim, [v, indices], { axis });
  return { values: back(values), indices: back(indices) };
}

// ---------------------------------------------------------------------------
// batching helpers

/** Every input with its batch axis in front (an unbatched one broadcast along it). */
function fronts(ins: Tensor[], dims: (number | null)[]): Tensor[] {
  const b = batchSize(ins, dims);
  return ins.map((t, i) => batchFront(t, dims[i], b));
}

/** `t` with its axis 0 moved to position `axis`. */
function frontTo(t: Tensor, axis: number): Tensor {
  const perm = [...t.shape.keys()].slice(1);
  perm.splice(axis, 0, 0);
  return transpose(t, perm);
}

/**
 * Batched indices `[B, ...]` made indices into B blocks of `size`
 * stacked along one axis: example b's indices plus b·size.
 */
function blockIndices(idx: Tensor, size: number): Tensor {
  const b = idx.shape[0];
  const off = mul(arange(b, undefined, 1, { dtype: "int32" }), size);
  return add(idx, reshape(off, [b, ...idx.shape.slice(1).map(() => 1)]));
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

/** x's shape around `axis` as `[outer, n, inner]`. */
function around(shape: readonly number[], axis: number, span = 1) {
  return [
    sizeOf(shape.slice(0, axis)),
    sizeOf(shape.slice(axis, axis + span)),
    sizeOf(shape.slice(axis + span)),
  ];
}

/**
 * The forward of an indexing primitive: the kernel between x and a new
 * tensor of `shape`; `view` is `[outer, n, inner]` of the side indexed along
 * (x for a gather, the output for a scatter).
 */
function move(
  name: string,
  perElement: boolean,
  x: Tensor,
  idx: Tensor,
  [outer, n, inner]: number[],
  shape: readonly number[],
): Tensor {
  const out = allocData(x.dtype, sizeOf(shape));
  const scatter = name.startsWith("scatter");
  const mode = { name, perElement, scatter };
  ix.moveAlong(x.data, out, outer, n, inner, idx.data as Int32Array, mode);
  return fromData(out, shape);
}

/**
 * gather: slices of x along `axis` at int32 indices of any shape (output
 * `x.shape[:axis] + idx.shape + x.shape[axis+1:]`). Linear in x; its VJP
 * adds g back at the indices (scatterAdd), whose VJP is gather again.
 */
// checkValues: the values of int32 t checked (by the public op's `check`,
// which throws its error) and passed on as a copy; no derivative (indices).
const checkValuesPrim: Primitive<{ check: (data: Int32Array) => void }> =
  definePrimitive({
    name: "checkValues",
    forward: ([t], { check }) => {
      const data = t.data as Int32Array;
      check(data);
      return fromData(data.slice(), t.shape);
    },
    vjp: () => [null],
    // every example's values at once (the flat index counts across them)
    batch: ([t], [d], params) => [bind(checkValuesPrim, [t], params), d],
  });

const gatherPrim: Primitive<{ axis: number }> = definePrimitive({
  name: "gather",
  forward: ([x, idx], { axis }) => {
    const shape = [
      ...x.shape.slice(0, axis),
      ...idx.shape,
      ...x.shape.slice(axis + 1),
    ];
    return move("gather", false, x, idx, around(x.shape, axis), shape);
  },
  vjp: ([x, idx], _, { axis }) => [
    (g) => bind(scatterAddPrim, [g, idx], { axis, size: x.shape[axis] }),
    null,
  ],
  jvp: ([, idx], [t], _, params) => bind(gatherPrim, [t!, idx], params),
  batch: ([x, idx], [dx, di], { axis }) => {
    const k = idx.shape.length - (di === null ? 0 : 1);
    if (di === null) { // the batch axis of x stays where it is
      const before = dx! <= axis;
      return [
        bind(gatherPrim, [x, idx], { axis: before ? axis + 1 : axis }),
        before ? dx! : dx! - 1 + k,
      ];
    }
    if (dx === null) return [bind(gatherPrim, [x, idx], { axis }), axis + di];
    // both: x's examples side by side along the axis, indices offset into them
    const xf = batchFront(x, dx, 0);
    const b = xf.shape[0], n = xf.shape[axis + 1];
    const moved = frontTo(xf, axis);
    const shape = moved.shape.slice();
    shape.splice(axis, 2, b * n);
    const flat = reshape(moved, shape);
    const ids = blockIndices(batchFront(idx, di, 0), n);
    return [bind(gatherPrim, [flat, ids], { axis }), axis];
  },
});

/**
 * scatterAdd: src `pre + idx.shape + post` added into zeros
 * `pre + [size] + post` at the indices along `axis` (repeats add up).
 * Linear in src; its VJP is gather.
 */
const scatterAddPrim: Primitive<{ axis: number; size: number }> =
  definePrimitive({
    name: "scatterAdd",
    forward: ([src, idx], { axis, size }) => {
      const k = idx.shape.length;
      const shape = [
        ...src.shape.slice(0, axis),
        size,
        ...src.shape.slice(axis + k),
      ];
      const [outer, , inner] = around(src.shape, axis, k);
      return move("scatterAdd", false, src, idx, [outer, size, inner], shape);
    },
    vjp: ([, idx], _, { axis }) => [
      (g) => bind(gatherPrim, [g, idx], { axis }),
      null,
    ],
    jvp: ([, idx], [t], _, params) => bind(scatterAddPrim, [t!, idx], params),
    batch: ([src, idx], [ds, di], { axis, size }) => {
      if (di === null) {
        return [
          bind(scatterAddPrim, [batchFront(src, ds, 0), idx], {
            axis: axis + 1,
            size,
          }),
          0,
        ];
      }
      // per-example indices: the examples' outputs side by side along the axis
      const ids = batchFront(idx, di, 0);
      const b = ids.shape[0];
      const moved = frontTo(batchFront(src, ds, b), axis);
      const out = bind(scatterAddPrim, [moved, blockIndices(ids, size)], {
        axis,
        size: b * size,
      });
      const shape = out.shape.slice();
      shape.splice(axis, 1, b, size);
      return [reshape(out, shape), axis];
    },
  });

/**
 * gatherElements: `out[..., j, ...] = x[..., idx[..., j, ...], ...]` along
 * `axis`, idx of x's shape off the axis (output idx's shape). Linear in x;
 * its VJP is scatterElementsAdd, whose VJP is gatherElements again.
 */
const gatherElementsPrim: Primitive<{ axis: number }> = definePrimitive({
  name: "gatherElements",
  forward: ([x, idx], { axis }) => {
    return move(
      "gatherElements",
      true,
      x,
      idx,
      around(x.shape, axis),
      idx.shape,
    );
  },
  vjp: ([x, idx], _, { axis }) => [
    (g) =>
      bind(scatterElementsAddPrim, [g, idx], { axis, size: x.shape[axis] }),
    null,
  ],
  jvp: ([, idx], [t], _, params) => bind(gatherElementsPrim, [t!, idx], params),
  batch: (ins, dims, { axis }) => [
    bind(gatherElementsPrim, fronts(ins, dims), { axis: axis + 1 }),
    0,
  ],
});

/**
 * scatterElementsAdd: src added into zeros of src's shape with `size` along
 * `axis`, at one index per element of src (repeats add up). Linear in src;
 * its VJP is gatherElements.
 */
const scatterElementsAddPrim: Primitive<{ axis: number; size: number }> =
  definePrimitive({
    name: "scatterElementsAdd",
    forward: ([src, idx], { axis, size }) => {
      const shape = src.shape.map((d, i) => (i === axis ? size : d));
      const [outer, , inner] = around(src.shape, axis);
      const view = [outer, size, inner];
      return move("scatterElementsAdd", true, src, idx, view, shape);
    },
    vjp: ([, idx], _, { axis }) => [
      (g) => bind(gatherElementsPrim, [g, idx], { axis }),
      null,
    ],
    jvp: ([, idx], [t], _, params) =>
      bind(scatterElementsAddPrim, [t!, idx], params),
    batch: (ins, dims, { axis, size }) => [
      bind(scatterElementsAddPrim, fronts(ins, dims), { axis: axis + 1, size }),
      0,
    ],
  });

/** lastOccurrence: per row of the last axis, 1 where an index is that value's last; no derivative. */
const lastOccurrencePrim: Primitive<Record<string, never>> = definePrimitive({
  name: "lastOccurrence",
  forward: ([idx]) => {
    const data = idx.data as Int32Array, n = idx.shape[idx.shape.length - 1];
    const out = new Int32Array(data.length);
    const last = new Map<number, number>();
    for (let r = 0; r < data.length; r += n) {
      last.clear();
      for (let k = 0; k < n; k++) last.set(data[r + k], k);
      for (let k = 0; k < n; k++) {
        out[r + k] = last.get(data[r + k]) === k ? 1 : 0;
      }
    }
    return fromData(out, idx.shape);
  },
  vjp: () => [null],
  // rows are independent: the examples' rows are more rows
  batch: ([idx], [d]) => [
    bind(lastOccurrencePrim, [batchFront(idx, d, idx.shape[d!])], {}),
    0,
  ],
});

/**
 * x's rows along `axis` for a row kernel: the data with that axis moved
 * last (x's own data when it is last), the row length, and `back`, which
 * turns one int32 per entry of those rows into a tensor of x's shape.
 * @internal
 */
export function rowsAlong(x: Tensor, axis: number): {
  rows: Tensor["data"];
  n: number;
  back: (perRow: Int32Array) => Tensor;
} {
  const n = x.shape[axis];
  if (axis === x.shape.length - 1) {
    return { rows: x.data, n, back: (o) => fromData(o, x.shape) };
  }
  const perm = [...x.shape.keys()].filter((i) => i !== axis);
  perm.push(axis);
  const rows = shp.transpose(
    x.data,
    x.shape,
    perm,
    allocData(x.dtype, x.data.length),
  );
  const inv = perm.map((_, i) => perm.indexOf(i));
  const back = (o: Int32Array) => {
    const out = new Int32Array(o.length);
    shp.transpose(o, perm.map((p) => x.shape[p]), inv, out);
    return fromData(out, x.shape);
  };
  return { rows, n, back };
}

/** argsort: the stable order along `axis` (NaN largest), int32; no derivative. */
const argsortPrim: Primitive<{ axis: number; descending: boolean }> =
  definePrimitive({
    name: "argsort",
    forward: ([x], { axis, descending }) => {
      const { rows, n, back } = rowsAlong(x, axis);
      return back(
        ix.argsortRows(rows, n, descending, new Int32Array(x.data.length)),
      );
    },
    vjp: () => [null],
    batch: ([x], [d], p) => [
      bind(argsortPrim, [x], {
        ...p,
        axis: p.axis >= d! ? p.axis + 1 : p.axis,
      }),
      d,
    ],
  });
