/**
 * Structural ops: reshape, transpose, broadcastTo, slice, pad, concat (and
 * the compositions flatten, expandDims, squeeze, stack), and `sum`, the
 * reduction that broadcasting's VJP needs (`unbroadcast`). Every primitive
 * here is linear, so each JVP is the primitive applied to the tangent.
 *
 * @module
 */
import {
  allocData,
  checkInt32,
  checkOptions,
  checkShape,
  checkTensor,
  describe,
  type DType,
  fromData,
  promote,
  sameShape,
  showValue,
  sizeOf,
  type Tensor,
  zerosLike,
} from "./tensor.ts";
import { bind, definePrimitive, type Primitive } from "./trace.ts";
import { installBatchFront, installSlice } from "./core_prims.ts";
import { bounded, fmt } from "./_args.ts";
import * as ew from "./kernels/elementwise.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";
import * as shp from "./kernels/shape.ts";
import * as red from "./kernels/reduce.ts";

// ---------------------------------------------------------------------------
// reductions

/** Options of the reductions. */
export interface ReduceOptions {
  /**
   * Axis or axes to reduce (negative counts from the end); all when omitted.
   * An empty list reduces none (`x` comes back), as NumPy's and JAX's
   * `axis=()`; torch.sum's `dim=[]` reduces all.
   */
  axis?: number | number[];
  /** Keep reduced axes as size 1. Default false. */
  keepDims?: boolean;
}

/**
 * Normalises an axis argument (negative allowed) against `ndim`; errors
 * call it `name` (the argument's name: "axis", "source", ...). @internal
 */
export function normAxis(
  fn: string,
  axis: number,
  ndim: number,
  shape: readonly number[],
  name = "axis",
): number {
  if (!Number.isInteger(axis)) {
    throw new Error(`${fn}: ${name} must be an integer, got ${describe(axis)}`);
  }
  // (a scalar takes axis 0 and -1, as PyTorch's dim wrapping)
  const wrap = Math.max(ndim, 1);
  if (axis < -wrap || axis >= wrap) {
    throw new Error(
      `${fn}: ${name} ${axis} is out of range for x with ${ndim} dims (shape ${
        fmt(shape)
      })`,
    );
  }
  return axis < 0 ? axis + wrap : axis;
}

/** Checks a reduction's `keepDims` option (absent or a boolean). @internal */
export function checkKeepDims(fn: string, keepDims: unknown): void {
  if (keepDims !== undefined && typeof keepDims !== "boolean") {
    throw new Error(
      `${fn}: options.keepDims must be a boolean, got ${describe(keepDims)}`,
    );
  }
}

/** A reduction's options checked (errors naming `fn`); its axes, sorted. @internal */
export function reduceAxes(
  fn: string,
  x: Tensor,
  opts: ReduceOptions,
): number[] {
  checkTensor(fn, x, "x");
  checkOptions(fn, opts, ["axis", "keepDims"]);
  checkKeepDims(fn, opts.keepDims);
  const nd = x.shape.length;
  if (opts.axis === undefined) return [...Array(nd).keys()];
  const list = Array.isArray(opts.axis) ? opts.axis : [opts.axis];
  // (Array.from: a hole in a sparse list is an undefined axis, not skipped)
  const axes = Array.from(list, (a) => normAxis(fn, a, nd, x.shape));
  if (new Set(axes).size !== axes.length) {
    throw new Error(`${fn}: axis lists an axis twice: [${list}]`);
  }
  return axes.sort((a, b) => a - b).filter((a) => a < nd);
}

/** The shape kept after reducing `axes` (ones in their place with keepDims). */
export function reducedShape(
  shape: readonly number[],
  axes: readonly number[],
  keepDims: boolean,
): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

/** Sums `g` down to `shape`, undoing NumPy broadcasting (the one shared unbroadcast). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const s = axes.length ? sum(g, { axis: axes, keepDims: true }) : g;
  return reshape(s, shape as number[]);
}

/**
 * Sum over axes, in the dtype of x. An int32 sum wraps around modulo 2^32
 * past 2147483647, as int32 arithmetic does (three times 2^30 sums to
 * -1073741824); PyTorch promotes it to int64, which this library does not
 * have: cast to float64 first (exact up to 2^53) when it could overflow.
 *
 * @example
 * ```ts
 * import { sum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2], [3, 4]]);
 * assert.equal(toArray(sum(x)), 10);
 * assert.deepEqual(toArray(sum(x, { axis: -1, keepDims: true })), [[3], [7]]);
 * ```
 */
export function sum(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  const axes = reduceAxes("sum", x, options);
  return bind(sumPrim, [x], { axes, keepDims: options.keepDims ?? false });
}

// ---------------------------------------------------------------------------
// shape ops

/**
 * Same data, new shape; one entry may be -1 (inferred).
 *
 * @example
 * ```ts
 * import { arange, reshape } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(reshape(arange(6), [-1, 3]).shape, [2, 3]);
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const fn = "reshape";
  checkTensor(fn, x, "x");
  if (
    !Array.isArray(shape) ||
    !Array.from(shape).every((d) => Number.isInteger(d) && d >= -1)
  ) {
    throw new Error(
      `${fn}: shape must be an array of integers >= -1, got ${
        showValue(shape)
      }`,
    );
  }
  const size = sizeOf(x.shape);
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const free = shape.filter((d) => d === -1).length;
  let out = shape.slice();
  if (free > 1) {
    throw new Error(`${fn}: only one dimension can be -1, got ${fmt(shape)}`);
  }
  if (free === 1) {
    if (known === 0 || size % known !== 0) {
      throw new Error(
        `${fn}: cannot reshape x ${fmt(x.shape)} (${size} elements) into ${
          fmt(shape)
        }`,
      );
    }
    out = shape.map((d) => (d === -1 ? size / known : d));
  } else if (known !== size) {
    throw new Error(
      `${fn}: cannot reshape x ${fmt(x.shape)} (${size} elements) into ${
        fmt(shape)
      }`,
    );
  }
  // (the element count matches; the rank and, with a 0, each dimension
  // are still to check)
  checkShape(fn, out);
  if (sameShape(out, x.shape)) return x;
  return bind(reshapePrim, [x], { shape: out });
}

/**
 * Flattens axes `startDim..endDim` (default: all but the first, as `nn.Flatten`).
 *
 * @example
 * ```ts
 * import { flatten, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(flatten(zeros([2, 3, 4])).shape, [2, 12]);
 * assert.deepEqual(flatten(zeros([2, 3, 4]), 0).shape, [24]);
 * ```
 */
export function flatten(
  x: Tensor,
  startDim?: number,
  endDim?: number,
): Tensor {
  startDim ??= 1;
  endDim ??= -1;
  const fn = "flatten";
  checkTensor(fn, x, "x");
  const nd = x.shape.length;
  // (a scalar takes the dims 0 and -1, as PyTorch's, and becomes [1])
  const s = normAxis(fn, startDim, nd, x.shape);
  const e = normAxis(fn, endDim, nd, x.shape);
  if (nd === 0) return reshape(x, [1]);
  if (s > e) {
    throw new Error(
      `${fn}: startDim ${startDim} comes after endDim ${endDim} for x ${
        fmt(x.shape)
      }`,
    );
  }
  const shape = [
    ...x.shape.slice(0, s),
    sizeOf(x.shape.slice(s, e + 1)),
    ...x.shape.slice(e + 1),
  ];
  bounded(fn, [["the result", shape]], `x ${fmt(x.shape)}: `);
  return reshape(x, shape);
}

/**
 * Permutes axes (reverses them when `perm` is omitted).
 *
 * @example
 * ```ts
 * import { tensor, toArray, transpose } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(transpose(tensor([[1, 2, 3], [4, 5, 6]]))), [[1, 4], [2, 5], [3, 6]]);
 * ```
 */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const fn = "transpose";
  checkTensor(fn, x, "x");
  const nd = x.shape.length;
  if (perm !== undefined && !Array.isArray(perm)) {
    throw new Error(
      `${fn}: perm must be an array of axes, got ${describe(perm)}`,
    );
  }
  const p = perm === undefined
    ? [...Array(nd).keys()].reverse()
    : Array.from(perm, (a) => normAxis(fn, a, nd, x.shape));
  if (p.length !== nd || new Set(p).size !== nd) {
    throw new Error(
      `${fn}: perm must be a permutation of 0..${nd - 1}, got ${
        showValue(perm)
      }`,
    );
  }
  if (p.every((a, i) => a === i)) return x;
  return bind(transposePrim, [x], { perm: p });
}

/**
 * Broadcasts to `shape` (NumPy rules).
 *
 * @example
 * ```ts
 * import { broadcastTo, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(broadcastTo(tensor([1, 2]), [2, 2])), [[1, 2], [1, 2]]);
 * ```
 */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const fn = "broadcastTo";
  checkTensor(fn, x, "x");
  checkShape(fn, shape);
  const b = broadcastShapes(x.shape, shape);
  if (!b || !sameShape(b, shape)) {
    throw new Error(
      `${fn}: cannot broadcast x ${fmt(x.shape)} to ${fmt(shape)}`,
    );
  }
  if (sameShape(x.shape, shape)) return x;
  bounded(fn, [["the result", shape]], `x ${fmt(x.shape)}: `);
  return bind(broadcastToPrim, [x], { shape: shape.slice() });
}

/**
 * Inserts an axis of size 1 at `axis`.
 *
 * @example
 * ```ts
 * import { expandDims, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(expandDims(zeros([2, 3]), 0).shape, [1, 2, 3]);
 * assert.deepEqual(expandDims(zeros([2, 3]), -1).shape, [2, 3, 1]);
 * ```
 */
export function expandDims(x: Tensor, axis: number): Tensor {
  const fn = "expandDims";
  checkTensor(fn, x, "x");
  const a = normAxis(fn, axis, x.shape.length + 1, x.shape);
  const shape = x.shape.slice();
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/**
 * Removes axes of size 1 (all of them, or those listed; an axis listed twice
 * is an error, as NumPy's).
 *
 * @example
 * ```ts
 * import { squeeze, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(squeeze(zeros([1, 2, 1])).shape, [2]);
 * assert.deepEqual(squeeze(zeros([1, 2, 1]), 0).shape, [2, 1]);
 * ```
 */
export function squeeze(x: Tensor, axis?: number | number[]): Tensor {
  const fn = "squeeze";
  checkTensor(fn, x, "x");
  const nd = x.shape.length;
  const axes = axis === undefined
    ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
    : Array.from(
      Array.isArray(axis) ? axis : [axis],
      (a) => normAxis(fn, a, nd, x.shape),
    );
  if (new Set(axes).size !== axes.length) {
    throw new Error(`${fn}: axis lists an axis twice: ${showValue(axis)}`);
  }
  for (const a of axes) {
    // (a scalar's axis 0 or -1: nothing to squeeze, as PyTorch's)
    if (a < nd && x.shape[a] !== 1) {
      throw new Error(
        `${fn}: axis ${a} of x ${fmt(x.shape)} has size ${x.shape[a]}, not 1`,
      );
    }
  }
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

function checkList(fn: string, xs: readonly Tensor[]): void {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new Error(
      `${fn}: tensors must be a non-empty array of tensors, got ${
        describe(xs)
      }`,
    );
  }
  // (Array.from: a hole in a sparse array is checked as undefined)
  Array.from(xs).forEach((x, i) => checkTensor(fn, x, `tensors[${i}]`));
}

/**
 * Joins tensors along an existing axis.
 *
 * @example
 * ```ts
 * import { concat, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(concat([tensor([[1]]), tensor([[2]])], 1)), [[1, 2]]);
 * ```
 */
export function concat(tensors: readonly Tensor[], axis?: number): Tensor {
  axis ??= 0;
  const fn = "concat";
  checkList(fn, tensors);
  const first = tensors[0];
  if (first.shape.length === 0) {
    throw new Error(`${fn}: cannot concatenate scalars; use stack`);
  }
  const a = normAxis(fn, axis, first.shape.length, first.shape);
  tensors.forEach((t, i) => {
    if (
      t.shape.length !== first.shape.length ||
      t.shape.some((d, j) => j !== a && d !== first.shape[j])
    ) {
      throw new Error(
        `${fn}: tensors[${i}] has shape ${
          fmt(t.shape)
        }, which does not match tensors[0] ${
          fmt(first.shape)
        } outside axis ${a}`,
      );
    }
  });
  if (tensors.length === 1) return first;
  return bind(concatPrim, tensors.slice(), { axis: a });
}

/**
 * Joins tensors of equal shape along a new axis.
 *
 * @example
 * ```ts
 * import { stack, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(stack([tensor([1, 2]), tensor([3, 4])], 1)), [[1, 3], [2, 4]]);
 * ```
 */
export function stack(tensors: readonly Tensor[], axis?: number): Tensor {
  axis ??= 0;
  const fn = "stack";
  checkList(fn, tensors);
  const s = tensors[0].shape;
  tensors.forEach((t, i) => {
    if (t.shape.length !== s.length || t.shape.some((d, j) => d !== s[j])) {
      throw new Error(
        `${fn}: tensors[${i}] has shape ${fmt(t.shape)} but tensors[0] has ${
          fmt(s)
        }`,
      );
    }
  });
  const a = normAxis(fn, axis, s.length + 1, s);
  return concat(tensors.map((t) => expandDims(t, a)), a);
}

/**
 * The box `starts[i] <= index < ends[i]` on each axis (negative counts from
 * the end; missing axes are taken whole; bounds are clamped, as NumPy).
 *
 * @example
 * ```ts
 * import { slice, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(toArray(slice(x, [0, 1], [1, 3])), [[2, 3]]);
 * assert.deepEqual(toArray(slice(x, [-1], [2])), [[4, 5, 6]]);
 * ```
 */
export function slice(
  x: Tensor,
  starts: readonly number[],
  ends?: readonly number[],
): Tensor {
  const fn = "slice";
  checkTensor(fn, x, "x");
  const nd = x.shape.length;
  const ok = (v: unknown) =>
    Array.isArray(v) && v.length <= nd && v.every(Number.isInteger);
  if (!ok(starts) || (ends !== undefined && !ok(ends))) {
    throw new Error(
      `${fn}: starts and ends must be arrays of at most ${nd} integers (x ${
        fmt(x.shape)
      }), got ${showValue(starts)} and ${showValue(ends)}`,
    );
  }
  const clamp = (v: number, d: number) =>
    Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const s = x.shape.map((d, i) => clamp(starts[i] ?? 0, d));
  const e = x.shape.map((d, i) => Math.max(clamp(ends?.[i] ?? d, d), s[i]));
  if (s.every((v) => v === 0) && e.every((v, i) => v === x.shape[i])) return x;
  return bind(slicePrim, [x], { starts: s, ends: e });
}

/** How {@linkcode pad} fills: PyTorch's `F.pad` modes. */
export type PadMode = "constant" | "reflect" | "replicate" | "circular";

/**
 * Pads `x`: `widths` is NumPy's `[[before, after], ...]` per axis (or one
 * number for every side). `mode` as PyTorch's `F.pad`: `"constant"` (the
 * default) fills with `value`; `"reflect"` mirrors the values next to the
 * edge (the edge itself not repeated: widths below the axis' size);
 * `"replicate"` repeats the edge value; `"circular"` wraps around (widths
 * at most the axis' size). Any axis may be padded, in any mode. The result
 * has at most 2^31 - 1 elements; an int32 x takes a `value` in int32's range
 * (a fraction truncated toward zero, as torch's).
 *
 * @example
 * ```ts
 * import { pad, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2, 3]);
 * assert.deepEqual(toArray(pad(tensor([1, 2]), [[1, 2]], { value: 9 })), [9, 1, 2, 9, 9]);
 * assert.deepEqual(toArray(pad(x, [[2, 1]], { mode: "reflect" })), [3, 2, 1, 2, 3, 2]);
 * assert.deepEqual(toArray(pad(x, [[2, 1]], { mode: "replicate" })), [1, 1, 1, 2, 3, 3]);
 * assert.deepEqual(toArray(pad(x, [[2, 1]], { mode: "circular" })), [2, 3, 1, 2, 3, 1]);
 * ```
 */
export function pad(
  x: Tensor,
  widths: readonly (readonly [number, number])[] | readonly number[][] | number,
  options?: { value?: number; mode?: PadMode },
): Tensor {
  if (options === undefined) options = {};
  const fn = "pad";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["value", "mode"]);
  const nd = x.shape.length;
  const w = typeof widths === "number"
    ? x.shape.map(() => [widths, widths])
    : widths;
  if (
    !Array.isArray(w) || w.length !== nd ||
    !Array.from(w).every((p) =>
      Array.isArray(p) && p.length === 2 &&
      Array.from(p).every((v) => Number.isInteger(v) && v >= 0)
    )
  ) {
    throw new Error(
      `${fn}: widths must be ${nd} pairs [before, after] of non-negative integers for x ${
        fmt(x.shape)
      }, got ${showValue(widths)}`,
    );
  }
  // (before any work: replicate's copies or a constant's fill of a result
  // past the kernels' index range)
  const padded = x.shape.map((d, i) => d + w[i][0] + w[i][1]);
  checkShape(fn, padded, "the result's shape");
  bounded(fn, [["the result", padded]], `widths ${showValue(w)}: `);
  const mode = options.mode ?? "constant";
  if (!["constant", "reflect", "replicate", "circular"].includes(mode)) {
    throw new Error(
      `${fn}: mode must be "constant", "reflect", "replicate" or "circular", got ${
        describe(mode)
      }`,
    );
  }
  if (mode !== "constant") {
    if (options.value !== undefined) {
      throw new Error(
        `${fn}: value is for mode "constant" only, got value ${
          describe(options.value)
        } with mode "${mode}" (as PyTorch's F.pad)`,
      );
    }
    return w.reduce(
      (t, p, axis) => padAxis(fn, t, axis, p[0], p[1], mode),
      x,
    );
  }
  const value = options.value ?? 0;
  if (typeof value !== "number") {
    throw new Error(`${fn}: value must be a number, got ${describe(value)}`);
  }
  // (as torch: an int32 x takes a value int32 holds, a fraction truncated)
  if (x.dtype === "int32") checkInt32(fn, "value", value);
  if (w.every((p) => p[0] === 0 && p[1] === 0)) return x;
  return bind(padPrim, [x], {
    widths: w.map((p) => [p[0], p[1]] as [number, number]),
    value,
  });
}

/**
 * `x` padded along `axis` by `before` and `after` values taken from `x`
 * itself (mode reflect, replicate or circular), as slices joined by
 * `concat`: so the gradient, vmap and jit come with them.
 */
function padAxis(
  fn: string,
  x: Tensor,
  axis: number,
  before: number,
  after: number,
  mode: Exclude<PadMode, "constant">,
): Tensor {
  if (before === 0 && after === 0) return x;
  const n = x.shape[axis];
  const limit = mode === "reflect" ? n - 1 : mode === "circular" ? n : Infinity;
  if (n === 0 || before > limit || after > limit) {
    throw new Error(
      `${fn}: mode "${mode}" pads axis ${axis} of size ${n} by [${before}, ${after}]; ${
        mode === "reflect"
          ? "each width must be below the axis' size"
          : mode === "circular"
          ? "each width must be at most the axis' size"
          : "the axis must not be empty"
      } (x ${fmt(x.shape)})`,
    );
  }
  // the slice [from, to) of x along axis
  const part = (from: number, to: number) =>
    slice(
      x,
      x.shape.map((_, i) => (i === axis ? from : 0)),
      x.shape.map((d, i) => (i === axis ? to : d)),
    );
  const repeat = (t: Tensor, k: number) =>
    broadcastTo(t, t.shape.map((d, i) => (i === axis ? k : d)));
  const side = (k: number, first: boolean): Tensor[] => {
    if (k === 0) return [];
    if (mode === "replicate") {
      return [repeat(first ? part(0, 1) : part(n - 1, n), k)];
    }
    if (mode === "circular") return [first ? part(n - k, n) : part(0, k)];
    // reflect: the k values next to the edge, nearest the edge innermost
    const idx = Array.from(
      { length: k },
      (_, j) => (first ? k - j : n - 2 - j),
    );
    return idx.map((i) => part(i, i + 1));
  };
  return concat([...side(before, true), x, ...side(after, false)], axis);
}

// ---------------------------------------------------------------------------
// batching helpers (for vmap): where a batched value's batch axis goes

/** The batch size: the size of the first batched input's batch axis. */
export function batchSize(
  vals: readonly Tensor[],
  dims: readonly (number | null)[],
): number {
  const i = dims.findIndex((d) => d !== null);
  return vals[i].shape[dims[i]!];
}

/**
 * `x` with its batch axis `d` moved to the front; an unbatched `x` (`d`
 * null) broadcast along a new front axis of `size`.
 */
export function batchFront(x: Tensor, d: number | null, size: number): Tensor {
  if (d === null) {
    const x1 = bind(reshapePrim, [x], { shape: [1, ...x.shape] });
    return bind(broadcastToPrim, [x1], { shape: [size, ...x.shape] });
  }
  if (d === 0) return x;
  const perm = [d, ...[...x.shape.keys()].filter((i) => i !== d)];
  return bind(transposePrim, [x], { perm });
}
installBatchFront(batchFront);
installSlice((x, starts, ends) => bind(slicePrim, [x], { starts, ends }));

/** The shape of one example of `x`, batched along axis `d` (null: x itself). @internal */
export function exampleShape(x: Tensor, d: number | null): number[] {
  return x.shape.filter((_, i) => i !== d);
}

/**
 * The inputs of a broadcasting op, lined up for one batched call: each
 * batched input's batch axis moved to the front with size-1 axes after it up
 * to the largest example rank, unbatched inputs as they are (NumPy
 * broadcasting lines them up on the right). The result's batch axis is 0.
 */
export function alignBatched(
  vals: readonly Tensor[],
  dims: readonly (number | null)[],
): Tensor[] {
  const rank = Math.max(
    ...vals.map((v, i) => v.shape.length - (dims[i] === null ? 0 : 1)),
  );
  return vals.map((v, i) => {
    const d = dims[i];
    if (d === null) return v;
    const f = batchFront(v, d, 0);
    const pad = rank - (f.shape.length - 1);
    if (pad === 0) return f;
    const shape = [f.shape[0], ...Array(pad).fill(1), ...f.shape.slice(1)];
    return bind(reshapePrim, [f], { shape });
  });
}

/** The batching rule of a reduction over `axes`: the batch axis goes first, the axes shift by one. */
export function reduceBatch<P extends { keepDims: boolean }>(
  prim: () => Primitive<P>,
  shift: (p: P) => P,
) {
  return ([x]: Tensor[], [d]: (number | null)[], p: P): [Tensor, number] => [
    bind(prim(), [batchFront(x, d, 0)], shift(p)),
    0,
  ];
}

/** Axes shifted past a batch axis at the front. */
export const plusOne = (axes: readonly number[]): number[] =>
  axes.map((a) => a + 1);

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

export const sumPrim: Primitive<{ axes: number[]; keepDims: boolean }> =
  definePrimitive({
    name: "sum",
    forward: ([x], { axes, keepDims }) => {
      const shape = reducedShape(x.shape, axes, keepDims);
      const out = allocData(x.dtype, sizeOf(shape));
      return fromData(red.sumAxes(x.data, x.shape, axes, out), shape);
    },
    vjp: ([x], _, { axes }) => [
      (g) =>
        broadcastTo(
          reshape(g, reducedShape(x.shape, axes, true)),
          x.shape as number[],
        ),
    ],
    jvp: "linear",
    batch: reduceBatch(() => sumPrim, (p) => ({ ...p, axes: plusOne(p.axes) })),
  });

const reshapePrim: Primitive<{ shape: number[] }> = definePrimitive({
  name: "reshape",
  forward: ([x], { shape }) => fromData(x.data, shape),
  vjp: ([x]) => [(g) => reshape(g, x.shape as number[])],
  jvp: "linear",
  batch: ([x], [d], { shape }) => {
    const f = batchFront(x, d, 0);
    return [bind(reshapePrim, [f], { shape: [f.shape[0], ...shape] }), 0];
  },
});

/** transpose's forward kernel: x with its axes permuted by `perm`. @internal */
export function transposeKernel(x: Tensor, perm: readonly number[]): Tensor {
  const shape = perm.map((p) => x.shape[p]);
  // moving only axes of size 1 keeps the element order: share the data,
  // as reshape does (vmap's batch axes make many such transposes)
  const moved = perm.filter((p) => x.shape[p] !== 1);
  if (moved.every((p, i) => i === 0 || moved[i - 1] < p)) {
    return fromData(x.data, shape);
  }
  return fromData(
    shp.transpose(x.data, x.shape, perm, allocData(x.dtype, x.data.length)),
    shape,
  );
}

const transposePrim: Primitive<{ perm: number[] }> = definePrimitive({
  name: "transpose",
  forward: ([x], { perm }) => transposeKernel(x, perm),
  vjp: (_, __, { perm }) => {
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [(g) => transpose(g, inv)];
  },
  jvp: "linear",
  batch: ([x], [d], { perm }) => [
    bind(transposePrim, [batchFront(x, d, 0)], { perm: [0, ...plusOne(perm)] }),
    0,
  ],
});

const broadcastToPrim: Primitive<{ shape: number[] }> = definePrimitive({
  name: "broadcastTo",
  forward: ([x], { shape }) =>
    fromData(
      ew.broadcastTo(
        x.data,
        x.shape,
        allocData(x.dtype, sizeOf(shape)),
        shape,
      ),
      shape,
    ),
  // each element is an element of x (a fused loop reads x broadcast)
  scalar: (v) => v,
  simd: "copy",
  vjp: ([x]) => [(g) => unbroadcast(g, x.shape)],
  jvp: "linear",
  batch: ([x], [d], { shape }) => {
    const [f] = alignBatched([x], [d]);
    const b = f.shape[0];
    // the example's axes line up on the right of the target shape
    const lined = [b, ...Array(shape.length - (f.shape.length - 1)).fill(1)];
    const g = bind(reshapePrim, [f], {
      shape: [...lined, ...f.shape.slice(1)],
    });
    return [bind(broadcastToPrim, [g], { shape: [b, ...shape] }), 0];
  },
});

const slicePrim: Primitive<{ starts: number[]; ends: number[] }> =
  definePrimitive({
    name: "slice",
    forward: ([x], { starts, ends }) => {
      const shape = ends.map((e, i) => e - starts[i]);
      const out = allocData(x.dtype, sizeOf(shape));
      return fromData(shp.copyBox(x.data, x.shape, starts, shape, out), shape);
    },
    vjp: ([x], _, { starts, ends }) => [
      (g) => pad(g, starts.map((s, i) => [s, x.shape[i] - ends[i]])),
    ],
    window: (_x, { starts }) => [starts],
    jvp: "linear",
    batch: ([x], [d], { starts, ends }) => {
      const f = batchFront(x, d, 0);
      return [
        bind(slicePrim, [f], {
          starts: [0, ...starts],
          ends: [f.shape[0], ...ends],
        }),
        0,
      ];
    },
  });

const padPrim: Primitive<{ widths: [number, number][]; value: number }> =
  definePrimitive({
    name: "pad",
    forward: ([x], { widths, value }) => {
      const shape = x.shape.map((d, i) => d + widths[i][0] + widths[i][1]);
      const out = allocData(x.dtype, sizeOf(shape));
      if (!Object.is(value, 0)) out.fill(value); // (-0 too)
      const starts = widths.map((w) => w[0]);
      return fromData(
        shp.copyBox(x.data, shape, starts, x.shape, out, true),
        shape,
      );
    },
    vjp: ([x], _, { widths }) => [
      (g) =>
        slice(
          g,
          widths.map((w) => w[0]),
          widths.map((w, i) => w[0] + x.shape[i]),
        ),
    ],
    jvp: (_, [t], __, { widths }) => pad(t!, widths), // pads the tangent with 0
    batch: ([x], [d], { widths, value }) => [
      bind(padPrim, [batchFront(x, d, 0)], {
        widths: [[0, 0], ...widths],
        value,
      }),
      0,
    ],
  });

const concatPrim: Primitive<{ axis: number }> = definePrimitive({
  name: "concat",
  forward: (xs, { axis }) => {
    const shape = xs[0].shape.slice();
    shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
    let dtype: DType = xs[0].dtype;
    for (const x of xs) dtype = promote(dtype, x.dtype);
    const out = allocData(dtype, sizeOf(shape));
    shp.concat(xs.map((x) => x.data), xs.map((x) => x.shape), axis, out);
    return fromData(out, shape);
  },
  vjp: (xs, _, { axis }) => {
    let offset = 0;
    return xs.map((x) => {
      const starts = x.shape.map((_, i) => (i === axis ? offset : 0));
      offset += x.shape[axis];
      const ends = x.shape.map((d, i) => (i === axis ? starts[i] + d : d));
      return (g: Tensor) => slice(g, starts, ends);
    });
  },
  jvp: (xs, ts, _, params) =>
    bind(concatPrim, ts.map((t, i) => t ?? zerosLike(xs[i])), params),
  batch: (xs, dims, { axis }) => {
    const b = batchSize(xs, dims);
    const fronts = xs.map((x, i) => batchFront(x, dims[i], b));
    return [bind(concatPrim, fronts, { axis: axis + 1 }), 0];
  },
});

// ---------------------------------------------------------------------------
// the public ops
