/**
 * Order statistics and NaN-ignoring reductions: `quantile` (PyTorch's
 * algorithm and interpolation methods), `median` (NumPy's and JAX's: the
 * mean of the two middle values), `nansum`, `nanmean`, `searchsorted`
 * and `bucketize`. Compositions of
 * sort, take and where, so every transform applies (a quantile's gradient
 * goes to the values it interpolates, as PyTorch's).
 *
 * @module
 */
import { add, astype, div, equal, mul, sub, where } from "./elementwise.ts";
import { any } from "./reductions.ts";
import {
  checkKeepDims,
  concat,
  normAxis,
  reduceAxes,
  reshape,
  slice,
  sum,
} from "./structural.ts";
import { argsort, sort, take } from "./indexing.ts";
import { moveaxis } from "./shape.ts";
import { isNan } from "./math.ts";
import {
  checkOptions,
  checkTensor,
  describe,
  promote,
  type Tensor,
  tensor,
} from "./tensor.ts";
import { userOp } from "./debug.ts";

/** How {@linkcode quantile} picks between the two values around its rank. */
export type QuantileMethod =
  | "linear"
  | "lower"
  | "higher"
  | "nearest"
  | "midpoint";

/** Options of {@linkcode quantile} and {@linkcode median}. */
export interface QuantileOptions {
  /** The axis to reduce (negative counts from the end). Default: all of x, flattened. */
  axis?: number;
  /** Keep the reduced axis with size 1. Default false. */
  keepDims?: boolean;
  /** Interpolation between the values around the rank `q · (n - 1)`. Default "linear". */
  method?: QuantileMethod;
}

/** `x` with the reduced axis last (flattened when `axis` is absent), and the result's shape. */
function lastAxis(
  fn: string,
  x: Tensor,
  axis: number | undefined,
  keepDims: boolean,
): [Tensor, number[]] {
  checkKeepDims(fn, keepDims);
  if (axis === undefined) {
    return [reshape(x, [-1]), keepDims ? x.shape.map(() => 1) : []];
  }
  const a = normAxis(fn, axis, x.shape.length, x.shape);
  // a scalar's axis 0 (or -1) holds its one value, as PyTorch's dim wrapping
  if (x.shape.length === 0) return [reshape(x, [1]), []];
  const kept = x.shape.map((d, i) => (i === a ? 1 : d));
  return [
    moveaxis(x, a, -1),
    keepDims ? kept : kept.filter((_, i) => i !== a),
  ];
}

/** C's round-half-to-even, as torch.round. */
const roundEven = (v: number) => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/**
 * The `q`-quantile of `x` along an axis (default: all of x), as
 * `torch.quantile` and `jnp.quantile`: the values sorted, the rank `q ·
 * (n - 1)` (in x's dtype, as PyTorch's), and the two values around it
 * interpolated by `method` ("linear", "lower", "higher", "nearest" (a half
 * to even) or "midpoint"; linear by PyTorch's lerp). A NaN anywhere along
 * the axis gives NaN. Float tensors only; the gradient goes to the values
 * interpolated.
 *
 * @example
 * ```ts
 * import { quantile, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2, 3, 4], [10, 30, 20, 40]]);
 * assert.deepEqual(toArray(quantile(x, 0.5, { axis: 1 })), [2.5, 25]);
 * assert.deepEqual(toArray(quantile(x, 0.25, { axis: 1, method: "lower" })), [1, 10]);
 * ```
 */
export function quantile(
  x: Tensor,
  q: number,
  options?: QuantileOptions,
): Tensor {
  using _op = userOp("quantile");
  return quantileAs("quantile", x, q, options);
}

/** {@linkcode quantile}, its errors naming `fn`. */
function quantileAs(
  fn: string,
  x: Tensor,
  q: number,
  options: QuantileOptions | undefined,
): Tensor {
  checkTensor(fn, x, "x");
  const o: QuantileOptions = checkOptions(fn, options, [
    "axis",
    "keepDims",
    "method",
  ]);
  if (x.dtype === "int32") {
    throw new Error(
      `${fn}: x must be float32 or float64 (as PyTorch's), got ${describe(x)}`,
    );
  }
  if (typeof q !== "number" || !(q >= 0 && q <= 1)) {
    throw new Error(`${fn}: q must be a number in [0, 1], got ${describe(q)}`);
  }
  const method = o.method ?? "linear";
  if (!["linear", "lower", "higher", "nearest", "midpoint"].includes(method)) {
    throw new Error(
      `${fn}: options.method must be "linear", "lower", "higher", "nearest" or "midpoint", got ${
        describe(method)
      }`,
    );
  }
  const [xl, shape] = lastAxis(fn, x, o.axis, o.keepDims ?? false);
  const n = xl.shape.at(-1)!;
  if (n === 0) {
    throw new Error(`${fn}: x has no values along the axis to reduce`);
  }
  const sorted = sort(xl, { axis: -1 }).values;
  // the rank in x's dtype, as PyTorch computes q * (n - 1)
  const r = x.dtype === "float32" ? Math.fround : (v: number) => v;
  let rank = r(r(q) * (n - 1));
  if (method === "lower") rank = Math.floor(rank);
  if (method === "higher") rank = Math.ceil(rank);
  if (method === "nearest") rank = roundEven(rank);
  const at = (i: number) =>
    take(sorted, tensor([i], { dtype: "int32" }), { axis: -1 });
  const below = Math.floor(rank);
  let y = at(below);
  if (method === "linear" || method === "midpoint") {
    // PyTorch's lerp of the values around the rank (the same one at an
    // integer rank): start + w (end - start), or from the end for w >= 1/2
    const w = method === "midpoint" ? 0.5 : r(rank - below);
    const above = at(Math.ceil(rank));
    const d = sub(above, y);
    y = w < 0.5 ? add(y, mul(d, w)) : sub(above, mul(d, r(1 - w)));
  }
  // a NaN along the axis (sorted last) gives NaN
  y = where(any(isNan(xl), { axis: -1, keepDims: true }), NaN, y);
  return reshape(y, shape);
}

/**
 * The median along an axis (default: all of x), as `jnp.median` and
 * `np.median`: the mean of the two middle values for an even count (its
 * gradient half to each); `torch.median` gives the lower one instead,
 * which is `quantile(x, 0.5, { method: "lower" })`.
 *
 * @example
 * ```ts
 * import { median, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toArray(median(tensor([4, 1, 3, 2]))), 2.5);
 * ```
 */
export function median(
  x: Tensor,
  options?: { axis?: number; keepDims?: boolean },
): Tensor {
  using _op = userOp("median");
  const o = checkOptions("median", options, ["axis", "keepDims"]);
  return quantileAs("median", x, 0.5, o);
}

/** Options of {@linkcode nansum} and {@linkcode nanmean}. */
export interface NanReduceOptions {
  /** The axes to reduce (negative count from the end). Default: all. */
  axis?: number | number[];
  /** Keep the reduced axes with size 1. Default false. */
  keepDims?: boolean;
}

/** The options of a NaN reduction checked (its errors naming `fn`), its axes as a sorted list. */
function nanReduce(
  fn: string,
  x: Tensor,
  options: NanReduceOptions | undefined,
): { axis: number[]; keepDims: boolean } {
  const o = options === undefined ? {} : options;
  return { axis: reduceAxes(fn, x, o), keepDims: o.keepDims ?? false };
}

/**
 * The sum with NaNs counted as zero, as `torch.nansum` and `jnp.nansum`
 * (their gradient zero).
 *
 * @example
 * ```ts
 * import { nansum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toArray(nansum(tensor([1, NaN, 2]))), 3);
 * ```
 */
export function nansum(x: Tensor, options?: NanReduceOptions): Tensor {
  using _op = userOp("nansum");
  const o = nanReduce("nansum", x, options);
  return sum(where(isNan(x), 0, x), o);
}

/**
 * The mean of the values that are not NaN, as `torch.nanmean` and
 * `jnp.nanmean` (NaN where all are NaN).
 *
 * @example
 * ```ts
 * import { nanmean, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nanmean(tensor([[1, NaN, 3], [NaN, NaN, NaN]]), { axis: 1 })), [2, NaN]);
 * ```
 */
export function nanmean(x: Tensor, options?: NanReduceOptions): Tensor {
  using _op = userOp("nanmean");
  const o = nanReduce("nanmean", x, options);
  const nan = isNan(x);
  const count = sum(equal(nan, 0), o);
  return div(sum(where(nan, 0, x), o), count);
}

/**
 * Where `values` would go in the sorted vector `sortedSequence` to keep it
 * sorted, as `torch.searchsorted` and `jnp.searchsorted`: for each value
 * the count of entries below it (or, with `right`, not above it), int32
 * (PyTorch's int64). NaN counts as above every number (where `sort` puts
 * it), so a NaN value goes after all of them. The values are sorted
 * together with the sequence (O((n + m) log(n + m)) time, no n × m table;
 * no derivative).
 *
 * @example
 * ```ts
 * import { searchsorted, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const s = tensor([1, 3, 5]);
 * assert.deepEqual(toArray(searchsorted(s, tensor([0, 3, 4, 6]))), [0, 1, 2, 3]);
 * assert.deepEqual(toArray(searchsorted(s, tensor([0, 3, 4, 6]), { right: true })), [0, 2, 2, 3]);
 * ```
 */
export function searchsorted(
  sortedSequence: Tensor,
  values: Tensor,
  options?: { right?: boolean },
): Tensor {
  using _op = userOp("searchsorted");
  return searchAs("searchsorted", sortedSequence, values, options, [
    "sortedSequence",
    "values",
  ]);
}

/** {@linkcode searchsorted}, its errors naming `fn` and its arguments `names`. */
function searchAs(
  fn: string,
  seq: Tensor,
  values: Tensor,
  options: { right?: boolean } | undefined,
  [seqName, valuesName]: [string, string],
): Tensor {
  checkTensor(fn, seq, seqName);
  checkTensor(fn, values, valuesName);
  const o = checkOptions(fn, options, ["right"]);
  if (seq.shape.length !== 1) {
    throw new Error(
      `${fn}: ${seqName} must be a vector, got ${describe(seq)}`,
    );
  }
  const right = o.right ?? false;
  if (typeof right !== "boolean") {
    throw new Error(
      `${fn}: options.right must be a boolean, got ${describe(right)}`,
    );
  }
  // values and entries sorted together (stably: a value before the entries
  // equal to it, or with right after them; NaN last): a value's place there
  // less its place among the values alone counts the entries before it
  const dtype = promote(seq.dtype, values.dtype);
  const s = astype(seq, dtype), v = astype(reshape(values, [-1]), dtype);
  const place = (t: Tensor) => argsort(argsort(t)); // each one's sorted place
  const n = seq.shape[0], m = v.shape[0];
  const merged = place(right ? concat([s, v]) : concat([v, s]));
  const first = right ? n : 0;
  const count = sub(slice(merged, [first], [first + m]), place(v));
  return reshape(count, values.shape);
}

/**
 * The bucket of each entry of `x` among sorted `boundaries`, as
 * `torch.bucketize`: i with `boundaries[i-1] < x <= boundaries[i]` (with
 * `right`, `boundaries[i-1] <= x < boundaries[i]`), int32.
 *
 * @example
 * ```ts
 * import { bucketize, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(bucketize(tensor([0.5, 1, 7]), tensor([1, 5]))), [0, 0, 2]);
 * ```
 */
export function bucketize(
  x: Tensor,
  boundaries: Tensor,
  options?: { right?: boolean },
): Tensor {
  using _op = userOp("bucketize");
  return searchAs("bucketize", boundaries, x, options, ["boundaries", "x"]);
}
