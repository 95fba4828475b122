/**
 * Rearranging ops: flip (a primitive: its VJP flips the cotangent back) and
 * the compositions roll, tile, repeat, tril, triu, meshgrid, split, chunk,
 * moveaxis, swapaxes, diff, diagonal, trace and outer, built from slice,
 * concat, reshape, transpose, broadcastTo, take and where, so they need no
 * rules of their own.
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
  describe,
  fromData,
  isTensor,
  showValue,
  sizeOf,
  type Tensor,
  tensor,
} from "./tensor.ts";
import { bind, definePrimitive, type Primitive } from "./trace.ts";
import { userOp } from "./debug.ts";
import { bounded, fmt } from "./_args.ts";
import { equal, mul, sub, where } from "./elementwise.ts";
import { take } from "./indexing.ts";
import {
  batchFront,
  broadcastTo,
  concat,
  normAxis,
  plusOne,
  reshape,
  slice,
  sum,
  transpose,
} from "./structural.ts";
import * as shp from "./kernels/shape.ts";

/**
 * An axis or a list of axes, each checked and made non-negative; no axis
 * twice. A scalar has no axis unless `scalarAxis` (then 0 names it, as in
 * torch.flip). Errors call the argument `name`.
 */
function axesOf(
  fn: string,
  x: Tensor,
  axis: number | readonly number[],
  scalarAxis = false,
  name = "axis",
): number[] {
  const list = typeof axis === "number" ? [axis] : axis;
  if (!Array.isArray(list)) {
    throw new Error(
      `${fn}: ${name} must be a number or an array of numbers, got ${
        describe(axis)
      }`,
    );
  }
  if (x.shape.length === 0 && list.length > 0 && !scalarAxis) {
    throw new Error(
      `${fn}: x is a scalar (shape []): it has no axis ${list[0]}`,
    );
  }
  // (Array.from: a hole in a sparse list is an undefined axis, not skipped)
  const axes = Array.from(
    list,
    (a) => normAxis(fn, a, x.shape.length, x.shape, name),
  );
  if (new Set(axes).size !== axes.length) {
    throw new Error(`${fn}: ${name} lists an axis twice: [${list}]`);
  }
  return axes;
}

/**
 * A list of integers >= 0 (or one, as a list of one; or an int32 tensor of
 * at most one axis, as torch's `repeats` tensor); `name` names it in errors.
 */
function counts(fn: string, name: string, v: unknown): number[] {
  if (isTensor(v)) {
    if (v.dtype !== "int32" || v.shape.length > 1) {
      throw new Error(
        `${fn}: ${name} as a tensor must be int32 with at most one axis, got ${
          describe(v)
        }`,
      );
    }
    v = Array.from(v.data);
  }
  // (Array.from: a hole in a sparse list is an undefined count, not skipped)
  const list = typeof v === "number"
    ? [v]
    : Array.isArray(v)
    ? Array.from(v)
    : v;
  if (
    !Array.isArray(list) || !list.every((r) => Number.isInteger(r) && r >= 0)
  ) {
    throw new Error(
      `${fn}: ${name} must be an integer >= 0 or an array of them, got ${
        showValue(v)
      }`,
    );
  }
  return list;
}

/**
 * Reverses the order of elements along the given axes, as `torch.flip`
 * (`axis` is torch's `dims`: a number or a list; negative counts from the
 * end).
 *
 * @example
 * ```ts
 * import { flip, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(toArray(flip(x, { axis: -1 })), [[3, 2, 1], [6, 5, 4]]);
 * assert.deepEqual(toArray(flip(x, { axis: [0, 1] })), [[6, 5, 4], [3, 2, 1]]);
 * ```
 */
export function flip(
  x: Tensor,
  options?: { axis?: number | number[] },
): Tensor {
  if (options === undefined) options = {};
  const fn = "flip";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis"]);
  if (options.axis === undefined) {
    throw new Error(
      `${fn}: options.axis is required (an axis or a list of axes, as torch.flip's dims)`,
    );
  }
  const axes = axesOf(fn, x, options.axis, true).filter((a) => x.shape[a] > 1);
  if (axes.length === 0) return x;
  return bind(flipPrim, [x], { axes: axes.sort((a, b) => a - b) });
}

/**
 * Rolls elements along axes, as `torch.roll`: an element pushed past the end
 * comes back at the start. `shifts` and `axis` are numbers or lists of equal
 * length; without `axis` the flattened tensor is rolled and the shape kept.
 * Shifts may be negative or larger than the axis; an axis listed twice is
 * rolled by the sum of its shifts, as torch.
 *
 * @example
 * ```ts
 * import { roll, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(roll(tensor([1, 2, 3, 4]), 1)), [4, 1, 2, 3]);
 * const x = tensor([[1, 2], [3, 4]]);
 * assert.deepEqual(toArray(roll(x, 1)), [[4, 1], [2, 3]]);
 * assert.deepEqual(toArray(roll(x, [-1, 3], { axis: [0, 1] })), [[4, 3], [2, 1]]);
 * ```
 */
export function roll(
  x: Tensor,
  shifts: number | number[],
  options?: { axis?: number | number[] },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("roll");
  const fn = "roll";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis"]);
  const list = typeof shifts === "number"
    ? [shifts]
    : Array.isArray(shifts)
    ? Array.from(shifts) // (a hole in a sparse list is undefined, not skipped)
    : shifts;
  if (!Array.isArray(list) || !list.every(Number.isInteger)) {
    throw new Error(
      `${fn}: shifts must be an integer or an array of integers, got ${
        showValue(shifts)
      }`,
    );
  }
  if (list.length === 0) {
    throw new Error(
      `${fn}: shifts must list at least one shift (as torch.roll), got []`,
    );
  }
  if (options.axis === undefined) {
    if (list.length !== 1) {
      throw new Error(
        `${fn}: without axis, shifts must be one integer (the flattened x is rolled), got ${
          showValue(shifts)
        }`,
      );
    }
    return reshape(roll(reshape(x, [-1]), list[0], { axis: 0 }), [...x.shape]);
  }
  // (an axis may be listed more than once: its shifts add up, as torch.roll)
  const given = typeof options.axis === "number"
    ? [options.axis]
    : options.axis;
  const axes = Array.isArray(given)
    ? Array.from(given, (a) => axesOf(fn, x, a)[0])
    : axesOf(fn, x, given);
  if (axes.length !== list.length) {
    throw new Error(
      `${fn}: shifts and axis must have the same length, got shifts ${
        showValue(shifts)
      } and axis ${showValue(options.axis)}`,
    );
  }
  const total = new Map<number, number>();
  axes.forEach((a, i) => total.set(a, (total.get(a) ?? 0) + list[i]));
  let y = x;
  total.forEach((shift, a) => {
    const d = x.shape[a];
    const s = d === 0 ? 0 : ((shift % d) + d) % d;
    if (s === 0) return;
    const starts = (v: number) => x.shape.map((_, j) => (j === a ? v : 0));
    const ends = (v: number) => x.shape.map((e, j) => (j === a ? v : e));
    y = concat([
      slice(y, starts(d - s)),
      slice(y, starts(0), ends(d - s)),
    ], a);
  });
  return y;
}

/**
 * Repeats the whole tensor `reps[i]` times along axis i, as `torch.tile` and
 * `jnp.tile` (and torch's `Tensor.repeat`): when `reps` is shorter than x's
 * rank it is padded with leading 1s, when longer x gets leading axes of 1.
 *
 * @example
 * ```ts
 * import { tensor, tile, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(tile(tensor([1, 2]), [2])), [1, 2, 1, 2]);
 * assert.deepEqual(toArray(tile(tensor([1, 2]), [2, 1])), [[1, 2], [1, 2]]);
 * assert.deepEqual(tile(tensor([[1, 2]]), [3]).shape, [1, 6]);
 * ```
 */
export function tile(x: Tensor, reps: number | number[]): Tensor {
  using _op = userOp("tile");
  const fn = "tile";
  checkTensor(fn, x, "x");
  const r = counts(fn, "reps", reps);
  const n = Math.max(r.length, x.shape.length);
  const rs = [...Array(n - r.length).fill(1), ...r];
  const ds = [...Array(n - x.shape.length).fill(1), ...x.shape];
  bounded(
    fn,
    [["the result", ds.map((d, i) => d * rs[i])]],
    `reps ${fmt(rs)} on x ${fmt(x.shape)}: `,
  );
  // [1, d0, 1, d1, ...] broadcast to [r0, d0, r1, d1, ...], then merged
  const spread = reshape(x, ds.flatMap((d) => [1, d]));
  const copies = broadcastTo(spread, ds.flatMap((d, i) => [rs[i], d]));
  return reshape(copies, ds.map((d, i) => d * rs[i]));
}

/**
 * Repeats each element `repeats` times in place, as `jnp.repeat` and
 * `torch.repeat_interleave` (torch's `Tensor.repeat` copies the whole tensor:
 * that is {@linkcode tile}). `repeats` is one count or one per element along
 * the axis (a list, or an int32 tensor as torch's); without `axis` the
 * flattened tensor is repeated. The result has at most 2^31 - 1 elements.
 *
 * @example
 * ```ts
 * import { repeat, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(repeat(tensor([1, 2]), 2)), [1, 1, 2, 2]);
 * const x = tensor([[1, 2], [3, 4]]);
 * assert.deepEqual(toArray(repeat(x, [1, 2], { axis: 0 })), [[1, 2], [3, 4], [3, 4]]);
 * assert.deepEqual(toArray(repeat(x, 2, { axis: -1 })), [[1, 1, 2, 2], [3, 3, 4, 4]]);
 * const r = tensor([0, 2], { dtype: "int32" });
 * assert.deepEqual(toArray(repeat(x, r, { axis: 0 })), [[3, 4], [3, 4]]);
 * ```
 */
export function repeat(
  x: Tensor,
  repeats: number | readonly number[] | Tensor,
  options?: { axis?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("repeat");
  const fn = "repeat";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis"]);
  const r = counts(fn, "repeats", repeats);
  if (options.axis === undefined) {
    return repeat(reshape(x, [-1]), r, { axis: 0 });
  }
  const [a] = axesOf(fn, x, options.axis);
  const d = x.shape[a];
  if (r.length !== 1 && r.length !== d) {
    throw new Error(
      `${fn}: repeats must be one count or ${d} (one per element of axis ${a} of x ${
        fmt(x.shape)
      }), got ${r.length}`,
    );
  }
  const pre = x.shape.slice(0, a), post = x.shape.slice(a + 1);
  const total = r.length === 1 ? r[0] * d : r.reduce((p, k) => p + k, 0);
  bounded(
    fn,
    [["the result", [...pre, total, ...post]]],
    `repeats ${r.length === 1 ? r[0] : `of total ${total}`} on x ${
      fmt(x.shape)
    }: `,
  );
  // elements [i, j) of the axis, each repeated k times: [.., n, 1, ..] -> [.., n, k, ..]
  const run = (i: number, j: number, k: number) => {
    const part = slice(x, [...pre.map(() => 0), i], [...pre, j]);
    const spread = reshape(part, [...pre, j - i, 1, ...post]);
    const out = broadcastTo(spread, [...pre, j - i, k, ...post]);
    return reshape(out, [...pre, (j - i) * k, ...post]);
  };
  if (r.length <= 1 || r.every((k) => k === r[0])) return run(0, d, r[0] ?? 0);
  const parts: Tensor[] = [];
  for (let i = 0; i < d;) { // runs of equal counts as one piece each
    let j = i + 1;
    while (j < d && r[j] === r[i]) j++;
    if (r[i] > 0) parts.push(run(i, j, r[i]));
    i = j;
  }
  return parts.length ? concat(parts, a) : run(0, d, 0);
}

/** The lower (`lower`) or upper triangle of the last two axes of x from diagonal k on. */
function triangle(
  fn: string,
  x: Tensor,
  options: { k?: number },
  lower: boolean,
): Tensor {
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["k"]);
  const k = options.k ?? 0;
  if (!Number.isInteger(k)) {
    throw new Error(`${fn}: k must be an integer, got ${showValue(k)}`);
  }
  if (x.shape.length < 2) {
    throw new Error(
      `${fn}: x must have at least 2 dims (the matrix is its last two), got ${
        fmt(x.shape)
      }`,
    );
  }
  // (an empty x is its own triangle: no mask, whose matrices may be large
  // when the batch is empty)
  if (sizeOf(x.shape) === 0) return x;
  const [n, m] = x.shape.slice(-2);
  const mask = new Int32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      mask[i * m + j] = (lower ? j - i <= k : j - i >= k) ? 1 : 0;
    }
  }
  return where(tensor(mask, { shape: [n, m] }), x, 0);
}

/**
 * The lower triangle of the last two axes (batched): entries with
 * `col - row <= k` are kept, the rest set to 0, as `torch.tril` (whose
 * `diagonal` is `k` here, as `jnp.tril`'s).
 *
 * @example
 * ```ts
 * import { ones, toArray, tril } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(tril(ones([2, 3]))), [[1, 0, 0], [1, 1, 0]]);
 * assert.deepEqual(toArray(tril(ones([2, 3]), { k: -1 })), [[0, 0, 0], [1, 0, 0]]);
 * ```
 */
export function tril(x: Tensor, options?: { k?: number }): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("tril");
  return triangle("tril", x, options, true);
}

/**
 * The upper triangle of the last two axes (batched): entries with
 * `col - row >= k` are kept, the rest set to 0, as `torch.triu`.
 *
 * @example
 * ```ts
 * import { ones, toArray, triu } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(triu(ones([2, 3]))), [[1, 1, 1], [0, 1, 1]]);
 * assert.deepEqual(toArray(triu(ones([2, 3]), { k: 1 })), [[0, 1, 1], [0, 0, 1]]);
 * ```
 */
export function triu(x: Tensor, options?: { k?: number }): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("triu");
  return triangle("triu", x, options, false);
}

/** Options of {@linkcode meshgrid}. */
export interface MeshgridOptions {
  /** `"ij"` (matrix indexing, the default, as torch) or `"xy"` (Cartesian: the first two output axes swapped). */
  indexing?: "ij" | "xy";
}

/**
 * Coordinate grids from 1-D tensors, as `torch.meshgrid`: with n inputs of
 * sizes `s0, s1, ...`, n tensors of shape `[s0, s1, ...]` (`"ij"`) or
 * `[s1, s0, ...]` (`"xy"`), output i varying along input i's axis. A scalar
 * counts as a 1-D tensor of one element; the options bag comes last. Each
 * result has at most 2^31 - 1 elements.
 *
 * @example
 * ```ts
 * import { meshgrid, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = meshgrid(tensor([1, 2, 3]), tensor([4, 5]));
 * assert.deepEqual(toArray(a), [[1, 1], [2, 2], [3, 3]]);
 * assert.deepEqual(toArray(b), [[4, 5], [4, 5], [4, 5]]);
 * const [x] = meshgrid(tensor([1, 2, 3]), tensor([4, 5]), { indexing: "xy" });
 * assert.deepEqual(toArray(x), [[1, 2, 3], [1, 2, 3]]);
 * ```
 */
export function meshgrid(
  ...args: [...Tensor[], MeshgridOptions] | Tensor[]
): Tensor[] {
  using _op = userOp("meshgrid");
  const fn = "meshgrid";
  const last = args[args.length - 1];
  const options = last !== undefined && !isTensor(last)
    ? checkOptions(fn, last, ["indexing"]) as MeshgridOptions
    : {};
  const xs = (options === last ? args.slice(0, -1) : args) as Tensor[];
  if (xs.length === 0) throw new Error(`${fn}: needs at least one tensor`);
  xs.forEach((x, i) => {
    checkTensor(fn, x, `tensors[${i}]`);
    if (x.shape.length > 1) {
      throw new Error(
        `${fn}: tensors[${i}] must be 1-D (or a scalar), got ${fmt(x.shape)}`,
      );
    }
    if (x.dtype !== xs[0].dtype) {
      throw new Error(
        `${fn}: tensors must have one dtype, got ${
          xs[0].dtype
        } (tensors[0]) and ${x.dtype} (tensors[${i}])`,
      );
    }
  });
  const indexing = options.indexing ?? "ij";
  if (indexing !== "ij" && indexing !== "xy") {
    throw new Error(
      `${fn}: indexing must be "ij" or "xy", got ${showValue(indexing)}`,
    );
  }
  const sizes = xs.map((x) => sizeOf(x.shape));
  // "xy" swaps the first two output axes
  const axisOf = (i: number) =>
    indexing === "xy" && xs.length > 1 && i < 2 ? 1 - i : i;
  const order = xs.map((_, i) => axisOf(i));
  const shape = order.map((i) => sizes[i]);
  bounded(fn, [["each result", shape]], `tensors of sizes ${fmt(sizes)}: `);
  return xs.map((x, i) => {
    const lined = shape.map((d, j) => (j === axisOf(i) ? d : 1));
    return broadcastTo(reshape(x, lined), shape);
  });
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

const flipPrim: Primitive<{ axes: number[] }> = definePrimitive({
  name: "flip",
  forward: ([x], { axes }) =>
    fromData(
      shp.flip(
        x.data,
        x.shape,
        x.shape.map((_, i) => axes.includes(i)),
        allocData(x.dtype, x.data.length),
      ),
      x.shape as number[],
    ),
  vjp: (_, __, { axes }) => [(g) => flip(g, { axis: axes })], // its own inverse
  jvp: "linear",
  batch: ([x], [d], { axes }) => [
    bind(flipPrim, [batchFront(x, d, 0)], { axes: plusOne(axes) }),
    0,
  ],
});

// ---------------------------------------------------------------------------
// splitting, moving axes, differences and diagonals

/** The bounds of the pieces `split` and `chunk` cut along an axis of `d`: [start, end) each. */
const piecesOf = (cuts: readonly number[], d: number): [number, number][] =>
  [0, ...cuts].map((c, i) => [c, i < cuts.length ? cuts[i] : d]);

/** `x` cut along `axis` into the pieces [start, end). */
function cut(x: Tensor, axis: number, pieces: [number, number][]): Tensor[] {
  return pieces.map(([a, b]) =>
    slice(
      x,
      x.shape.map((_, j) => (j === axis ? a : 0)),
      x.shape.map((e, j) => (j === axis ? b : e)),
    )
  );
}

/** Options of {@linkcode split}, {@linkcode chunk} and {@linkcode diff}: the axis. */
export interface AxisOption {
  /** The axis to work along (negative counts from the end). */
  axis?: number;
}

/**
 * Splits `x` along an axis (default 0), as `jnp.split` and `np.split`: into
 * `sections` equal pieces (a number that divides the axis), or at the given
 * indices (`[2, 5]` gives `x[:2]`, `x[2:5]`, `x[5:]`; an index past the end
 * gives empty pieces). (`torch.split` takes piece sizes instead: use
 * {@linkcode chunk} or indices.) Differentiable: each piece is a slice.
 *
 * @example
 * ```ts
 * import { split, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([0, 1, 2, 3, 4, 5]);
 * assert.deepEqual(split(x, 3).map((t) => toArray(t)), [[0, 1], [2, 3], [4, 5]]);
 * assert.deepEqual(split(x, [1, 4]).map((t) => toArray(t)), [[0], [1, 2, 3], [4, 5]]);
 * ```
 */
export function split(
  x: Tensor,
  indicesOrSections: number | readonly number[],
  options?: AxisOption,
): Tensor[] {
  const fn = "split";
  checkTensor(fn, x, "x");
  checkOptions(fn, options ?? {}, ["axis"]);
  const [axis] = axesOf(fn, x, options?.axis ?? 0);
  const d = x.shape[axis], v = indicesOrSections;
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 1 || d % v !== 0) {
      throw new Error(
        `${fn}: sections must be a positive integer that divides axis ${axis} (of size ${d}), got ${v}; give the split indices for unequal pieces`,
      );
    }
    const size = d / v;
    return cut(
      x,
      axis,
      piecesOf(Array.from({ length: v - 1 }, (_, i) => (i + 1) * size), d),
    );
  }
  if (!Array.isArray(v) || !Array.from(v).every((i) => Number.isInteger(i))) {
    throw new Error(
      `${fn}: indicesOrSections must be a number of sections or an array of integer indices, got ${
        describe(v)
      }`,
    );
  }
  // (negative indices count from the end, as NumPy's slices)
  const at = v.map((i) => Math.min(d, Math.max(0, i < 0 ? i + d : i)));
  return cut(x, axis, piecesOf(at, d).map(([a, b]) => [a, Math.max(a, b)]));
}

/** The most pieces {@linkcode chunk} makes of an empty axis. */
const MAX_EMPTY_CHUNKS = 2 ** 20;

/**
 * Splits `x` along an axis (default 0) into `chunks` pieces of
 * `ceil(size / chunks)` entries, the last one shorter, as `torch.chunk`
 * (so there may be fewer pieces than asked for: 6 entries in 4 chunks are
 * 3 of 2; an empty axis gives `chunks` empty pieces, at most 2^20).
 *
 * @example
 * ```ts
 * import { chunk, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(chunk(tensor([0, 1, 2, 3, 4]), 3).map((t) => toArray(t)), [[0, 1], [2, 3], [4]]);
 * ```
 */
export function chunk(
  x: Tensor,
  chunks: number,
  options?: AxisOption,
): Tensor[] {
  const fn = "chunk";
  checkTensor(fn, x, "x");
  checkOptions(fn, options ?? {}, ["axis"]);
  if (!Number.isInteger(chunks) || chunks < 1) {
    throw new Error(
      `${fn}: chunks must be a positive integer, got ${describe(chunks)}`,
    );
  }
  const [axis] = axesOf(fn, x, options?.axis ?? 0);
  const d = x.shape[axis];
  if (d === 0) {
    // (each of the pieces a tensor: a number, not x, sets how many)
    if (chunks > MAX_EMPTY_CHUNKS) {
      throw new Error(
        `${fn}: chunks must be at most 2^20 (${MAX_EMPTY_CHUNKS}) when axis ${axis} of x ${
          fmt(x.shape)
        } is empty (it gives as many empty pieces), got ${chunks}`,
      );
    }
    return cut(x, axis, Array(chunks).fill([0, 0]));
  }
  const size = Math.ceil(d / chunks), n = Math.ceil(d / size);
  return cut(
    x,
    axis,
    piecesOf(Array.from({ length: n - 1 }, (_, i) => (i + 1) * size), d),
  );
}

/**
 * `x` with axes `source` moved to positions `destination` (numbers or
 * lists of the same length; the other axes keep their order), as
 * `jnp.moveaxis` and `torch.movedim`.
 *
 * @example
 * ```ts
 * import { moveaxis, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(moveaxis(zeros([2, 3, 4]), 0, -1).shape, [3, 4, 2]);
 * assert.deepEqual(moveaxis(zeros([2, 3, 4]), [0, 1], [2, 0]).shape, [3, 4, 2]);
 * ```
 */
export function moveaxis(
  x: Tensor,
  source: number | readonly number[],
  destination: number | readonly number[],
): Tensor {
  const fn = "moveaxis";
  checkTensor(fn, x, "x");
  const src = axesOf(fn, x, source, false, "source");
  const dst = axesOf(fn, x, destination, false, "destination");
  if (src.length !== dst.length) {
    throw new Error(
      `${fn}: source and destination must name as many axes, got ${
        showValue(source)
      } and ${showValue(destination)}`,
    );
  }
  const rest = x.shape.map((_, i) => i).filter((i) => !src.includes(i));
  const perm: number[] = [];
  for (let p = 0, r = 0; p < x.shape.length; p++) {
    const k = dst.indexOf(p);
    perm.push(k >= 0 ? src[k] : rest[r++]);
  }
  return transpose(x, perm);
}

/**
 * `x` with two axes exchanged, as `jnp.swapaxes` and `torch.swapaxes`
 * (`torch.transpose(x, a, b)`).
 *
 * @example
 * ```ts
 * import { swapaxes, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(swapaxes(tensor([[1, 2, 3]]), 0, 1)), [[1], [2], [3]]);
 * ```
 */
export function swapaxes(x: Tensor, axis1: number, axis2: number): Tensor {
  const fn = "swapaxes";
  checkTensor(fn, x, "x");
  // (a scalar's axis 0 or -1 swapped with itself, as torch)
  const [a] = axesOf(fn, x, axis1, true, "axis1");
  const [b] = axesOf(fn, x, axis2, true, "axis2");
  const perm = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return transpose(x, perm);
}

/** Options of {@linkcode diff}. */
export interface DiffOptions extends AxisOption {
  /** How many times to difference. Default 1. */
  n?: number;
}

/**
 * The differences of neighbouring entries along an axis (default the last),
 * `n` times (default 1), as `jnp.diff` and `torch.diff`: `x[1:] - x[:-1]`,
 * one entry shorter each time.
 *
 * @example
 * ```ts
 * import { diff, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(diff(tensor([1, 4, 9, 16]))), [3, 5, 7]);
 * assert.deepEqual(toArray(diff(tensor([1, 4, 9, 16]), { n: 2 })), [2, 2]);
 * ```
 */
export function diff(x: Tensor, options?: DiffOptions): Tensor {
  using _op = userOp("diff");
  const fn = "diff";
  checkTensor(fn, x, "x");
  checkOptions(fn, options ?? {}, ["n", "axis"]);
  const n = options?.n ?? 1;
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${fn}: n must be an integer >= 0, got ${describe(n)}`);
  }
  const [axis] = axesOf(fn, x, options?.axis ?? -1);
  let y = x;
  for (let k = 0; k < n && y.shape[axis] > 0; k++) {
    const d = y.shape[axis];
    const [lo, hi] = cut(y, axis, [[0, d - 1], [1, d]]);
    y = sub(hi, lo);
  }
  return y;
}

/** Options of {@linkcode diagonal} and {@linkcode trace}. */
export interface DiagonalOptions {
  /** Above the main diagonal (> 0) or below it (< 0). Default 0. */
  offset?: number;
  /** The two axes whose diagonal it is. Default 0 and 1. */
  axis1?: number;
  /** See axis1. */
  axis2?: number;
}

/**
 * The diagonal of the matrices over two axes (default 0 and 1), as
 * `jnp.diagonal` and `torch.diagonal`: those axes removed, the diagonal
 * entries `x[..., i, i + offset]` appended as the last axis.
 * Differentiable (a gather).
 *
 * @example
 * ```ts
 * import { diagonal, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const m = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(toArray(diagonal(m)), [1, 5]);
 * assert.deepEqual(toArray(diagonal(m, { offset: 1 })), [2, 6]);
 * assert.deepEqual(toArray(diagonal(m, { offset: -1 })), [4]);
 * ```
 */
export function diagonal(x: Tensor, options?: DiagonalOptions): Tensor {
  using _op = userOp("diagonal");
  return diagonalAs("diagonal", x, options);
}

/** {@linkcode diagonal}, its errors naming `fn`. */
function diagonalAs(fn: string, x: Tensor, options?: DiagonalOptions): Tensor {
  checkTensor(fn, x, "x");
  checkOptions(fn, options ?? {}, ["offset", "axis1", "axis2"]);
  const offset = options?.offset ?? 0;
  if (!Number.isInteger(offset)) {
    throw new Error(
      `${fn}: offset must be an integer, got ${describe(offset)}`,
    );
  }
  if (x.shape.length < 2) {
    throw new Error(
      `${fn}: x must have at least 2 axes, got ${describe(x)}`,
    );
  }
  const [a1, a2] = axesOf(fn, x, [options?.axis1 ?? 0, options?.axis2 ?? 1]);
  const moved = moveaxis(x, [a1, a2], [-2, -1]);
  const rest = moved.shape.slice(0, -2), [n, m] = moved.shape.slice(-2);
  const k = Math.max(
    0,
    offset >= 0 ? Math.min(n, m - offset) : Math.min(n + offset, m),
  );
  const idx = Int32Array.from(
    { length: k },
    (_, i) => offset >= 0 ? i * m + i + offset : (i - offset) * m + i,
  );
  return take(
    reshape(moved, [...rest, n * m]),
    tensor(idx, { shape: [k], dtype: "int32" }),
    { axis: -1 },
  );
}

/**
 * The sum of the diagonal (see {@linkcode diagonal}; the last axis of its
 * result summed), as `jnp.trace` and, for matrices, `torch.trace`.
 *
 * @example
 * ```ts
 * import { tensor, toArray, trace } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toArray(trace(tensor([[1, 2], [3, 4]]))), 5);
 * ```
 */
export function trace(x: Tensor, options?: DiagonalOptions): Tensor {
  using _op = userOp("trace");
  return sum(diagonalAs("trace", x, options), { axis: -1 });
}

/**
 * The outer product of two tensors, flattened first (as `jnp.outer`;
 * `torch.outer` takes vectors): `[a.size, b.size]` with entries `a[i] *
 * b[j]`.
 *
 * @example
 * ```ts
 * import { outer, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(outer(tensor([1, 2]), tensor([1, 10, 100]))), [[1, 10, 100], [2, 20, 200]]);
 * ```
 */
export function outer(a: Tensor, b: Tensor): Tensor {
  using _op = userOp("outer");
  checkTensor("outer", a, "a");
  checkTensor("outer", b, "b");
  return mul(reshape(a, [-1, 1]), reshape(b, [1, -1]));
}

/**
 * `x` rotated by 90° `k` times in the plane of two axes (default 0 and 1),
 * from the first axis towards the second, as `torch.rot90` and
 * `jnp.rot90` (k may be negative; a flip and a transpose).
 *
 * @example
 * ```ts
 * import { rot90, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(rot90(tensor([[0, 1, 2], [3, 4, 5]]))), [[2, 5], [1, 4], [0, 3]]);
 * ```
 */
export function rot90(
  x: Tensor,
  k = 1,
  options?: { axes?: [number, number] },
): Tensor {
  using _op = userOp("rot90");
  const fn = "rot90";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axes"]);
  if (!Number.isInteger(k)) {
    throw new Error(`${fn}: k must be an integer, got ${describe(k)}`);
  }
  const given = options?.axes ?? [0, 1];
  if (!Array.isArray(given) || given.length !== 2) {
    throw new Error(
      `${fn}: options.axes must be two axes, got ${describe(given)}`,
    );
  }
  if (x.shape.length < 2) {
    throw new Error(
      `${fn}: x must have at least 2 dims (it turns in the plane of two axes), got ${
        fmt(x.shape)
      }`,
    );
  }
  const [a, b] = axesOf(fn, x, given, false, "options.axes");
  switch (((k % 4) + 4) % 4) {
    case 1:
      return swapaxes(flip(x, { axis: b }), a, b);
    case 2:
      return flip(x, { axis: [a, b] });
    case 3:
      return flip(swapaxes(x, a, b), { axis: b });
  }
  return x;
}

/**
 * `torch.diag`: a vector to the square matrix with it on diagonal `k`
 * (above the main one for k > 0, below for k < 0), or a matrix to its
 * diagonal `k` (as {@linkcode diagonal}). The matrix has at most 2^31 - 1
 * elements.
 *
 * @example
 * ```ts
 * import { diag, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(diag(tensor([1, 2]), { k: -1 })), [[0, 0, 0], [1, 0, 0], [0, 2, 0]]);
 * assert.deepEqual(toArray(diag(tensor([[1, 2], [3, 4]]))), [1, 4]);
 * ```
 */
export function diag(x: Tensor, options?: { k?: number }): Tensor {
  using _op = userOp("diag");
  const fn = "diag";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["k"]);
  const k = options?.k ?? 0;
  if (!Number.isInteger(k)) {
    throw new Error(`${fn}: options.k must be an integer, got ${describe(k)}`);
  }
  if (x.shape.length === 2) return diagonalAs(fn, x, { offset: k });
  if (x.shape.length !== 1) {
    throw new Error(
      `${fn}: x must be a vector or a matrix, got ${describe(x)}`,
    );
  }
  const n = x.shape[0], m = n + Math.abs(k);
  bounded(fn, [["the result", [m, m]]], `k ${k} on x ${fmt(x.shape)}: `);
  // x along rows (k >= 0: row i holds x[i]) or columns (k < 0), masked to
  // the diagonal (where, not a product: an infinite x stays off the rest)
  const padded = concat([x, zerosOf(x, Math.abs(k))]);
  const v = k >= 0 ? reshape(padded, [m, 1]) : reshape(padded, [1, m]);
  const i = reshape(tensor(Int32Array.from({ length: m }, (_, j) => j)), [
    m,
    1,
  ]);
  const j = reshape(i, [1, m]);
  return where(equal(sub(j, i), k), broadcastTo(v, [m, m]), 0);
}

/** `n` zeros of x's dtype, a vector. */
const zerosOf = (x: Tensor, n: number) => fromData(allocData(x.dtype, n), [n]);
