/**
 * Counting and selecting, as PyTorch's: `bincount`, `histc`, `unique`,
 * `nonzero`, `argwhere`, `countNonzero`, `kthvalue`, `mode`, `cummax` and
 * `cummin`.
 *
 * One primitive, `selectIndex`: the int32 index that kthvalue, mode, cummax
 * or cummin picks along an axis (PyTorch's CPU algorithms step for step, so
 * that the index chosen among equal values is PyTorch's; no derivative).
 * Their values are x taken at those indices (`takeAlongAxis`), so the
 * gradient of the values goes to the selected entries, as PyTorch's, and
 * vmap and jit apply. `countNonzero` and `histc` are compositions of
 * public ops (traceable too); `bincount`'s weights are added with
 * `scatterAdd`, so its gradient goes to the weights.
 *
 * `unique`, `nonzero`, `argwhere` and `bincount` give results whose shape
 * depends on x's values: they run eagerly (under grad too), and under `jit`
 * or `vmap` they are an error that says so, as `jnp.unique` without a
 * `size` is in JAX.
 *
 * @module
 */
import {
  allocData,
  checkBool,
  checkOptions,
  checkTensor,
  describe,
  type DType,
  fromData,
  sizeOf,
  type Tensor,
  tensor,
  zeros,
} from "./tensor.ts";
import {
  bind,
  concrete,
  definePrimitive,
  type Primitive,
  Tracer,
} from "./trace.ts";
import { userOp } from "./debug.ts";
import { bounded, fmt, intIn, showValue } from "./_args.ts";
import {
  add,
  astype,
  div,
  greaterEqual,
  lessEqual,
  minimum,
  mul,
  notEqual,
  sub,
  where,
} from "./elementwise.ts";
import { floor, isNan, logicalAnd, logicalNot, logicalOr } from "./math.ts";
import { max, min } from "./reductions.ts";
import {
  checkKeepDims,
  normAxis,
  reduceAxes,
  reshape,
  sum,
} from "./structural.ts";
import {
  rowsAlong,
  scatterAdd,
  takeAlongAxisAt,
  type ValuesAndIndices,
} from "./indexing.ts";
import { stopGradient } from "./transforms.ts";
import * as cnt from "./kernels/counting.ts";

export type { ValuesAndIndices };

// ---------------------------------------------------------------------------
// values that decide a result's shape

/**
 * x's values for an op whose result's shape depends on them (`what`):
 * derivative tracing stripped; under jit or vmap an error naming `fn`.
 */
function eagerValues(fn: string, x: Tensor, what: string): Tensor {
  const c = concrete(x);
  if (!(c instanceof Tracer)) return c;
  // (vmap's tracers carry their batch axis, `bdim`; jit's do not)
  const underVmap = "bdim" in c;
  const why = underVmap
    ? "every example of a vmap must give a result of one shape, and the values differ per example"
    : "a jitted function's output shapes are fixed when it is traced, before any values are known";
  throw new Error(
    `${fn}: cannot run under ${
      underVmap ? "vmap" : "jit"
    }: ${what} depends on the values of x (${
      describe(x)
    }), and ${why}; call ${fn} outside ${
      underVmap ? "vmap" : "jit"
    } (it runs eagerly, and under grad)`,
  );
}

// ---------------------------------------------------------------------------
// bincount and histc

/** Options of {@linkcode bincount}. */
export interface BincountOptions {
  /** A weight per entry of x (any dtype), summed instead of counting ones. */
  weights?: Tensor;
  /** The least length of the result. Default 0. */
  minlength?: number;
}

/**
 * How often each value 0, 1, ..., max(x) occurs in the 1-D int32 tensor
 * `x`, as `torch.bincount`: length `max(max(x) + 1, minlength)` (int32,
 * PyTorch's int64). With `weights` (x's length), entry i is the sum of the
 * weights where x is i, in x's order: float32 weights give float32,
 * float64 and int32 weights float64 (as PyTorch's; and as PyTorch's, an
 * empty x gives int32 zeros whatever the weights). The gradient goes to
 * the weights (entry j gets the cotangent at x[j]; PyTorch has no
 * derivative here). A negative value is an error; so is a length past
 * 2^26 that max(x) sets (a stray large label would otherwise allocate
 * gigabytes) or past 2^31 - 1 that minlength sets. The length depends on
 * x's values: an error under jit or vmap.
 *
 * @example
 * ```ts
 * import { bincount, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 3, 3, 0], { dtype: "int32" });
 * assert.deepEqual(toArray(bincount(x)), [1, 1, 0, 2]);
 * assert.deepEqual(toArray(bincount(x, { minlength: 6 })), [1, 1, 0, 2, 0, 0]);
 * const w = tensor([0.5, 1, 2, 4]);
 * assert.deepEqual(toArray(bincount(x, { weights: w })), [4, 0.5, 0, 3]);
 * ```
 */
export function bincount(x: Tensor, options?: BincountOptions): Tensor {
  const fn = "bincount";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  const o = checkOptions(fn, options, ["weights", "minlength"]);
  if (x.dtype !== "int32" || x.shape.length !== 1) {
    throw new Error(
      `${fn}: x must be a 1-D int32 tensor of non-negative integers (as PyTorch's), got ${
        describe(x)
      }`,
    );
  }
  const minlength = intIn(
    fn,
    "options.minlength",
    o.minlength ?? 0,
    0,
    2 ** 31 - 1,
  );
  const w = o.weights as Tensor | undefined;
  if (w !== undefined) {
    checkTensor(fn, w, "options.weights");
    if (w.shape.length !== 1 || w.shape[0] !== x.shape[0]) {
      throw new Error(
        `${fn}: options.weights must be 1-D with x's length ${
          x.shape[0]
        }, got ${describe(w)}`,
      );
    }
  }
  const data = eagerValues(fn, x, "the length of its result (max(x) + 1)")
    .data as Int32Array;
  let top = -1;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0) {
      throw new Error(
        `${fn}: x must hold non-negative integers, got ${
          data[i]
        } at index ${i} (x ${fmt(x.shape)})`,
      );
    }
    if (data[i] > top) top = data[i];
  }
  if (top + 1 > minlength) {
    bounded(fn, [["the result", [top + 1], 2 ** 26]], `max(x) = ${top}: `);
  }
  const length = Math.max(top + 1, minlength);
  bounded(fn, [["the result", [length]]]);
  if (w === undefined) {
    const counts = new Int32Array(length);
    for (let i = 0; i < data.length; i++) counts[data[i]]++;
    return fromData(counts, [length]);
  }
  // (PyTorch's quirk: an empty x gives int64 zeros, whatever the weights)
  if (data.length === 0) return zeros([length], { dtype: "int32" });
  const dtype: DType = w.dtype === "float32" ? "float32" : "float64";
  // (x is read above, so its values are in range: scatterAdd checks again)
  return scatterAdd(zeros([length], { dtype }), x, astype(w, dtype), {
    axis: 0,
  });
}

/** Options of {@linkcode histc}. */
export interface HistcOptions {
  /** The number of equal bins. Default 100. */
  bins?: number;
  /** The lower end of the range. Default 0. */
  min?: number;
  /** The upper end of the range. Default 0; when it equals `min`, the range is x's least and greatest value. */
  max?: number;
}

/**
 * A histogram of `x`'s values in `bins` equal bins over `[min, max]`, as
 * `torch.histc`: the counts in x's dtype (float32 or float64; int32 x is an
 * error, as PyTorch's). When `min` equals `max` (both 0 by default) the
 * range is x's least to greatest value, widened to `[v - 1, v + 1]` when
 * those are one value v. Values outside the range are not counted; the
 * last bin includes `max`; a NaN counts in the first bin (PyTorch 1.13's
 * CPU kernel does so). A value's bin is PyTorch's
 * `floor((v - min) / (max - min) · bins)` computed in x's dtype, so values
 * on the edges fall as in PyTorch. No gradient (the counts are constants,
 * as PyTorch's, which has no derivative). A composition of public ops: it
 * runs under jit and vmap too, where a range taken from x that is not
 * finite (a NaN or an infinity in x), PyTorch's error eagerly, cannot be
 * an error: the counts are then unspecified.
 *
 * @example
 * ```ts
 * import { histc, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2, 1, 4, 9]);
 * assert.deepEqual(toArray(histc(x, { bins: 4, min: 0, max: 4 })), [0, 2, 1, 1]);
 * assert.deepEqual(toArray(histc(tensor([1, 2, 1]), { bins: 4 })), [2, 0, 0, 1]);
 * ```
 */
export function histc(x: Tensor, options?: HistcOptions): Tensor {
  const fn = "histc";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  const o = checkOptions(fn, options, ["bins", "min", "max"]);
  if (x.dtype === "int32") {
    throw new Error(
      `${fn}: x must be float32 or float64 (as PyTorch's), got ${describe(x)}`,
    );
  }
  const bins = intIn(fn, "options.bins", o.bins ?? 100, 1, 2 ** 31 - 1);
  bounded(fn, [["the result", [bins]]]);
  const range = [o.min ?? 0, o.max ?? 0].map((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(
        `${fn}: options.${i ? "max" : "min"} must be a finite number, got ${
          showValue(v)
        }`,
      );
    }
    return v;
  });
  if (range[0] > range[1]) {
    throw new Error(
      `${fn}: options.max must be at least options.min, got min ${
        range[0]
      } and max ${range[1]}`,
    );
  }
  const dtype = x.dtype;
  const v = reshape(stopGradient(x), [-1]);
  const n = v.shape[0];
  let lo = tensor(range[0], { dtype }), hi = tensor(range[1], { dtype });
  if (range[0] === range[1] && n > 0) {
    lo = min(v);
    hi = max(v);
    const c = concrete(v);
    if (!(c instanceof Tracer)) {
      const [a, b] = [concrete(lo).data[0], concrete(hi).data[0]];
      if (!Number.isFinite(a) || !Number.isFinite(b)) {
        throw new Error(
          `${fn}: the range taken from x, [${a}, ${b}], is not finite (x ${
            fmt(x.shape)
          } holds a NaN or an infinity); give options.min and options.max`,
        );
      }
    }
  }
  if (range[0] === range[1]) {
    // (one value v: the range [v - 1, v + 1], in x's dtype)
    const same = notEqual(lo, hi);
    [lo, hi] = [where(same, lo, sub(lo, 1)), where(same, hi, add(hi, 1))];
  }
  if (n === 0) return zeros([bins], { dtype });
  // PyTorch's bin in x's dtype; the last bin holds max; a value out of
  // range adds 0 (to bin 0)
  // (a NaN goes to the first bin, as PyTorch 1.13's CPU kernel puts it,
  // and so does a value whose bin is NaN: a range that is one float32)
  // (the bin is clamped in float64: past 2^24 bins, bins - 1 is not a
  // float32, and 2^31 - 1 rounds to 2^31, past int32)
  const inRange = logicalOr(
    isNan(v),
    logicalAnd(greaterEqual(v, lo), lessEqual(v, hi)),
  );
  const at = astype(floor(mul(div(sub(v, lo), sub(hi, lo)), bins)), "float64");
  const bin = astype(
    where(logicalAnd(inRange, logicalNot(isNan(at))), minimum(at, bins - 1), 0),
    "int32",
  );
  return scatterAdd(
    zeros([bins], { dtype }),
    bin,
    astype(inRange, dtype),
    { axis: 0 },
  );
}

// ---------------------------------------------------------------------------
// unique, nonzero, argwhere, countNonzero

/** Options of {@linkcode unique}. */
export interface UniqueOptions {
  /** Ascending values (default true); false: in the order each first appears (PyTorch's CPU order is its hash set's, unspecified). */
  sorted?: boolean;
  /** Also return `inverse`: where each entry (or slice) of x is among the values. Default false. */
  returnInverse?: boolean;
  /** Also return `counts`: how often each value occurs. Default false. */
  returnCounts?: boolean;
  /** The axis whose slices are compared whole (negative counts from the end). Default: the entries of x, flattened. */
  axis?: number;
}

/**
 * What {@linkcode unique} returns when `returnInverse` or `returnCounts` is
 * set: a type (not an interface), so a tree.
 */
export type UniqueResult = {
  /** The distinct values (or slices along the axis). */
  values: Tensor;
  /** int32, x's shape (with an axis: one per slice): the position of each entry's value in `values`. */
  inverse?: Tensor;
  /** int32, one per value: how often it occurs. */
  counts?: Tensor;
};

/**
 * The distinct values of `x`, as `torch.unique`: ascending (NaN last, each
 * NaN a value of its own, as NaN equals nothing), or with `sorted: false`
 * in the order each first appears. With `axis`, the distinct slices along
 * it, in lexicographic order. A tensor, or with `returnInverse` or
 * `returnCounts` an object `{ values, inverse?, counts? }` holding what was
 * asked (int32, PyTorch's int64). No gradient (PyTorch has none). The
 * result's shape depends on x's values: an error under jit or vmap.
 *
 * @example
 * ```ts
 * import { tensor, toArray, unique } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([3, 1, 3, 2, 1], { dtype: "int32" });
 * assert.deepEqual(toArray(unique(x)), [1, 2, 3]);
 * const { values, inverse, counts } = unique(x, { returnInverse: true, returnCounts: true });
 * assert.deepEqual(toArray(values), [1, 2, 3]);
 * assert.deepEqual(toArray(inverse), [2, 0, 2, 1, 0]);
 * assert.deepEqual(toArray(counts), [2, 1, 2]);
 * assert.deepEqual(toArray(unique(x, { sorted: false })), [3, 1, 2]);
 * ```
 */
export function unique(
  x: Tensor,
  options?: UniqueOptions & { returnInverse?: false; returnCounts?: false },
): Tensor;
/** {@linkcode unique} with `returnInverse` and `returnCounts`. */
export function unique(
  x: Tensor,
  options: UniqueOptions & { returnInverse: true; returnCounts: true },
): { values: Tensor; inverse: Tensor; counts: Tensor };
/** {@linkcode unique} with `returnInverse`. */
export function unique(
  x: Tensor,
  options: UniqueOptions & { returnInverse: true; returnCounts?: false },
): { values: Tensor; inverse: Tensor };
/** {@linkcode unique} with `returnCounts`. */
export function unique(
  x: Tensor,
  options: UniqueOptions & { returnCounts: true; returnInverse?: false },
): { values: Tensor; counts: Tensor };
/** {@linkcode unique} with flags known only when it runs. */
export function unique(
  x: Tensor,
  options?: UniqueOptions,
): Tensor | UniqueResult;
export function unique(
  x: Tensor,
  options?: UniqueOptions,
): Tensor | UniqueResult {
  const fn = "unique";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  const o = checkOptions(fn, options, [
    "sorted",
    "returnInverse",
    "returnCounts",
    "axis",
  ]);
  const sorted = checkBool(fn, "options.sorted", o.sorted, true);
  const wantInverse = checkBool(
    fn,
    "options.returnInverse",
    o.returnInverse,
    false,
  );
  const wantCounts = checkBool(
    fn,
    "options.returnCounts",
    o.returnCounts,
    false,
  );
  const nd = x.shape.length;
  if (o.axis !== undefined && nd === 0) {
    throw new Error(
      `${fn}: x is a scalar (shape []): it has no axis ${
        showValue(o.axis)
      } (as torch.unique's dim)`,
    );
  }
  const axis = o.axis === undefined
    ? null
    : normAxis(fn, o.axis as number, nd, x.shape, "options.axis");
  if (axis !== null && nd > 0) {
    const zero = x.shape.findIndex((d, i) => d === 0 && i !== axis);
    if (zero >= 0) {
      throw new Error(
        `${fn}: x ${
          fmt(x.shape)
        } has no values along axis ${zero}, so its slices along axis ${axis} cannot be compared (as PyTorch's)`,
      );
    }
  }
  const data = eagerValues(fn, x, "the number of distinct values").data;
  // the slices compared: along `axis`, or the entries flattened
  const whole = axis === null || nd === 0;
  const a = whole ? 0 : axis;
  const outer = whole ? 1 : sizeOf(x.shape.slice(0, a));
  const m = whole ? data.length : x.shape[a];
  const inner = whole ? 1 : sizeOf(x.shape.slice(a + 1));
  const at = (s: number, j: number) =>
    data[Math.floor(j / inner) * m * inner + s * inner + (j % inner)];
  const width = outer * inner;
  const hasNan = (s: number) => {
    for (let j = 0; j < width; j++) if (Number.isNaN(at(s, j))) return true;
    return false;
  };
  // slices in order (NaN largest), and equal when no NaN and the same values
  const compare = (s: number, t: number) => {
    for (let j = 0; j < width; j++) {
      const p = at(s, j), q = at(t, j);
      if (p === q) continue;
      if (Number.isNaN(p)) return Number.isNaN(q) ? 0 : 1;
      if (Number.isNaN(q)) return -1;
      return p < q ? -1 : 1;
    }
    return 0;
  };
  const order = Array.from({ length: m }, (_, i) => i);
  order.sort((s, t) => compare(s, t) || s - t);
  const group = new Int32Array(m); // each slice's group, in sorted order
  const firsts: number[] = []; // each group's first slice (its smallest index)
  for (let r = 0; r < m; r++) {
    const s = order[r];
    const prev = r > 0 ? order[r - 1] : -1;
    if (prev < 0 || compare(prev, s) !== 0 || hasNan(s)) firsts.push(s);
    group[s] = firsts.length - 1;
  }
  // sorted: groups as numbered; else renumbered by first appearance
  const rank = Int32Array.from(firsts.keys());
  if (!sorted) {
    const byFirst = [...firsts.keys()].sort((g, h) => firsts[g] - firsts[h]);
    byFirst.forEach((g, i) => (rank[g] = i));
  }
  const k = firsts.length;
  const picked = new Array<number>(k);
  firsts.forEach((s, g) => (picked[rank[g]] = s));
  const shape = whole ? [k] : x.shape.map((d, i) => (i === a ? k : d));
  const values = allocData(x.dtype, sizeOf(shape));
  for (let o2 = 0, w = 0; o2 < outer; o2++) {
    for (let g = 0; g < k; g++) {
      for (let i = 0; i < inner; i++) {
        values[w++] = data[o2 * m * inner + picked[g] * inner + i];
      }
    }
  }
  const out = fromData(values, shape);
  if (!wantInverse && !wantCounts) return out;
  const result: UniqueResult = { values: out };
  if (wantInverse) {
    const inv = new Int32Array(m);
    for (let s = 0; s < m; s++) inv[s] = rank[group[s]];
    result.inverse = fromData(inv, whole ? x.shape : [m]);
  }
  if (wantCounts) {
    const counts = new Int32Array(k);
    for (let s = 0; s < m; s++) counts[rank[group[s]]]++;
    result.counts = fromData(counts, [k]);
  }
  return result;
}

/**
 * The int32 indices of x's nonzero entries (NaN counts as nonzero), one
 * row `[i0, i1, ...]` per entry in row-major order: shape `[n, ndim]`, as
 * `torch.nonzero` (a scalar gives `[1, 0]` or `[0, 0]`). The number of rows
 * depends on x's values: an error under jit or vmap.
 *
 * @example
 * ```ts
 * import { nonzero, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nonzero(tensor([[0, 2], [3, 0]]))), [[0, 1], [1, 0]]);
 * ```
 */
export function nonzero(x: Tensor): Tensor {
  return nonzeroAs("nonzero", x);
}

/**
 * The indices of x's nonzero entries, `[n, ndim]` int32: the same as
 * {@linkcode nonzero}, as `torch.argwhere` is `torch.nonzero`.
 *
 * @example
 * ```ts
 * import { argwhere, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(argwhere(tensor([0, 5, 0, 7]))), [[1], [3]]);
 * ```
 */
export function argwhere(x: Tensor): Tensor {
  return nonzeroAs("argwhere", x);
}

/** {@linkcode nonzero}, its errors naming `fn`. */
function nonzeroAs(fn: string, x: Tensor): Tensor {
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  const data = eagerValues(fn, x, "the number of nonzero entries").data;
  const nd = x.shape.length;
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
  bounded(fn, [["the result", [n, nd]]], `x ${fmt(x.shape)}: `);
  const out = new Int32Array(n * nd);
  const idx = new Array<number>(nd).fill(0);
  for (let i = 0, w = 0; i < data.length; i++) {
    if (data[i] !== 0) { for (let d = 0; d < nd; d++) out[w++] = idx[d]; }
    for (let d = nd - 1; d >= 0; d--) { // the next row-major index
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return fromData(out, [n, nd]);
}

/**
 * How many entries of x are nonzero (NaN counts), over `axis` (a number or
 * a list; default all), int32 (PyTorch's int64), as `torch.count_nonzero`.
 * A composition (a sum of `notEqual(x, 0)`): every transform applies.
 *
 * @example
 * ```ts
 * import { countNonzero, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[0, 1, 2], [0, 0, 3]]);
 * assert.equal(toArray(countNonzero(x)), 3);
 * assert.deepEqual(toArray(countNonzero(x, { axis: 1 })), [2, 1]);
 * ```
 */
export function countNonzero(
  x: Tensor,
  options?: { axis?: number | number[] },
): Tensor {
  const fn = "countNonzero";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  const o = checkOptions(fn, options, ["axis"]);
  const axis = reduceAxes(fn, x, { axis: o.axis as number | number[] });
  return sum(notEqual(x, 0), { axis });
}

// ---------------------------------------------------------------------------
// kthvalue, mode, cummax, cummin

/** Options of {@linkcode kthvalue} and {@linkcode mode}. */
export interface SelectOptions {
  /** The axis to reduce (negative counts from the end). Default -1. */
  axis?: number;
  /** Keep the reduced axis with size 1. Default false. */
  keepDims?: boolean;
}

/** Which index the primitive picks along its axis. */
type SelectKind = "kthvalue" | "mode" | "cummax" | "cummin";

/**
 * The values and indices that `kind` picks along an axis of x: the checked
 * options, the primitive's indices, x taken at them.
 */
function selectAlong(
  fn: SelectKind,
  x: Tensor,
  options: SelectOptions | undefined,
  k = 0,
): ValuesAndIndices {
  checkTensor(fn, x, "x");
  const cumulative = fn === "cummax" || fn === "cummin";
  const o = checkOptions(
    fn,
    options,
    cumulative ? ["axis"] : ["axis", "keepDims"],
  );
  if (cumulative && o.axis === undefined) {
    throw new Error(
      `${fn}: options.axis is required (the axis to run along, as PyTorch's dim), got ${
        options === undefined ? "no options" : "no axis"
      }`,
    );
  }
  checkKeepDims(fn, o.keepDims);
  const keepDims = (o.keepDims as boolean | undefined) ?? false;
  const nd = x.shape.length;
  const axis = normAxis(fn, (o.axis ?? -1) as number, nd, x.shape);
  // a scalar is its one-element vector (its axis 0 or -1), as torch's
  const v = nd === 0 ? reshape(x, [1]) : x;
  const n = v.shape[axis];
  if (fn === "kthvalue") {
    intIn(fn, `k (axis ${axis} of x ${fmt(x.shape)} has ${n})`, k ?? 1, 1, n);
  } else if (fn === "mode" && n === 0) {
    throw new Error(
      `${fn}: x ${fmt(x.shape)} has no values along axis ${axis}`,
    );
  }
  const indices = bind(selectIndexPrim, [v], { kind: fn, axis, k: k - 1 });
  const values = takeAlongAxisAt(v, indices, axis);
  const shape = nd === 0
    ? []
    : cumulative || keepDims
    ? indices.shape
    : x.shape.filter((_, i) => i !== axis);
  return { values: reshape(values, shape), indices: reshape(indices, shape) };
}

/**
 * The `k`-th smallest value along `axis` (k from 1) and its int32 index,
 * as `torch.kthvalue`: `{ values, indices }`, NaN as the largest value.
 * Among equal values the index is PyTorch's (its quickselect's choice, on
 * the CPU). The gradient of the values goes to the selected entries.
 *
 * @example
 * ```ts
 * import { kthvalue, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { values, indices } = kthvalue(tensor([[3, 1, 2], [9, 7, 8]]), 2);
 * assert.deepEqual(toArray(values), [2, 8]);
 * assert.deepEqual(toArray(indices), [2, 2]);
 * ```
 */
export function kthvalue(
  x: Tensor,
  k: number,
  options?: SelectOptions,
): ValuesAndIndices {
  using _op = userOp("kthvalue");
  return selectAlong("kthvalue", x, options, k);
}

/**
 * The most frequent value along `axis` and an int32 index of it, as
 * `torch.mode`: `{ values, indices }`; among values equally frequent, the
 * smallest. The index is PyTorch's: the last of the mode's entries in the
 * order its sort leaves them (libstdc++'s `std::sort`, not stable: the
 * last occurrence for rows of up to 16 values). A NaN equals nothing, so
 * it is the mode only as PyTorch's sort places it. The gradient of the
 * values goes to the entry at the index.
 *
 * @example
 * ```ts
 * import { mode, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { values, indices } = mode(tensor([[1, 2, 2, 1, 3], [5, 5, 4, 4, 4]]));
 * assert.deepEqual(toArray(values), [1, 4]);
 * assert.deepEqual(toArray(indices), [3, 4]);
 * ```
 */
export function mode(x: Tensor, options?: SelectOptions): ValuesAndIndices {
  using _op = userOp("mode");
  return selectAlong("mode", x, options);
}

/**
 * The running maximum along `axis` and the int32 index where it was
 * reached, as `torch.cummax`: `{ values, indices }`; among equal values the
 * latest index, and a NaN, once reached, stays the value (the index of the
 * latest NaN). The gradient of each value goes to the entry at its index.
 *
 * @example
 * ```ts
 * import { cummax, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { values, indices } = cummax(tensor([1, 3, 2, 3, 5]), { axis: 0 });
 * assert.deepEqual(toArray(values), [1, 3, 3, 3, 5]);
 * assert.deepEqual(toArray(indices), [0, 1, 1, 3, 4]);
 * ```
 */
export function cummax(
  x: Tensor,
  options: { axis: number },
): ValuesAndIndices {
  using _op = userOp("cummax");
  return selectAlong("cummax", x, options);
}

/**
 * The running minimum along `axis` and the int32 index where it was
 * reached, as `torch.cummin`: {@linkcode cummax} with the order reversed
 * (the latest of equal values; NaN stays).
 *
 * @example
 * ```ts
 * import { cummin, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const { values, indices } = cummin(tensor([4, 2, 3, 2, 1]), { axis: 0 });
 * assert.deepEqual(toArray(values), [4, 2, 2, 2, 1]);
 * assert.deepEqual(toArray(indices), [0, 1, 1, 3, 4]);
 * ```
 */
export function cummin(
  x: Tensor,
  options: { axis: number },
): ValuesAndIndices {
  using _op = userOp("cummin");
  return selectAlong("cummin", x, options);
}

// ---------------------------------------------------------------------------
// the primitive: forward kernel call and rules side by side

/**
 * selectIndex: the index `kind` picks along `axis` (kthvalue's `k` from
 * 0), int32: x's shape with 1 on the axis (kthvalue, mode) or x's shape
 * (cummax, cummin). No derivative (indices); under vmap the axis moves past
 * the batch axis.
 */
const selectIndexPrim: Primitive<
  { kind: SelectKind; axis: number; k: number }
> = definePrimitive({
  name: "selectIndex",
  forward: ([x], { kind, axis, k }) => {
    const { rows, n, back } = rowsAlong(x, axis);
    if (kind === "kthvalue" || kind === "mode") {
      const out = new Int32Array(n === 0 ? 0 : rows.length / n);
      if (kind === "mode") cnt.modeIndexRows(rows, n, out);
      else cnt.kthIndexRows(rows, n, k, out);
      return fromData(out, x.shape.map((d, i) => (i === axis ? 1 : d)));
    }
    const order = cnt.cumArgRows(
      rows,
      n,
      kind === "cummax",
      new Int32Array(rows.length),
    );
    return back(order);
  },
  vjp: () => [null],
  batch: ([x], [d], p) => [
    bind(selectIndexPrim, [x], {
      ...p,
      axis: p.axis >= d! ? p.axis + 1 : p.axis,
    }),
    d,
  ],
});
