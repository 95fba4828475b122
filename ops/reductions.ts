/**
 * Reductions beyond `sum`: max (and min through it), argmax (and argmin), mean and
 * logSumExp; the statistics var, std, prod and norm, and the truth tests
 * any and all (compositions, with no rule of their own). The max VJP shares
 * g evenly among ties, as JAX.
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
  describe,
  fromData,
  sizeOf,
  type Tensor,
  type TypedArray,
} from "./tensor.ts";
import { bind, concrete, definePrimitive, type Primitive } from "./trace.ts";
import { userOp } from "./debug.ts";
import { fmt } from "./_args.ts";
import {
  abs,
  add,
  astype,
  div,
  equal,
  exp,
  greater,
  log,
  mul,
  notEqual,
  pow,
  reverseOrder,
  sqrt,
  sub,
  where,
} from "./elementwise.ts";
import {
  checkKeepDims,
  normAxis,
  pad,
  plusOne,
  reduceAxes,
  reduceBatch,
  reducedShape,
  type ReduceOptions,
  reshape,
  slice,
  sum,
  sumPrim,
  transpose,
} from "./structural.ts";
import * as shp from "./kernels/shape.ts";
import * as red from "./kernels/reduce.ts";

/** Moves `axes` last (a transpose kernel) and returns the [rows, n] view. */
function axesLast(
  x: Tensor,
  axes: readonly number[],
): { data: TypedArray; n: number } {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  if (perm.every((p, i) => p === i)) return { data: x.data, n };
  const out = allocData(x.dtype, x.data.length);
  return { data: shp.transpose(x.data, x.shape, perm, out), n };
}

/**
 * Mean over axes (int32 input gives float32).
 *
 * @example
 * ```ts
 * import { mean, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(mean(tensor([[1, 2], [3, 4]]), { axis: 0 })), [2, 3]);
 * ```
 */
export function mean(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("mean");
  const axes = reduceAxes("mean", x, options);
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  const xf = x.dtype === "int32" ? astype(x, "float32") : x;
  return div(
    bind(sumPrim, [xf], { axes, keepDims: options.keepDims ?? false }),
    n,
  );
}

function nonEmpty(fn: string, x: Tensor, axes: number[]) {
  if (axes.some((a) => x.shape[a] === 0)) {
    throw new Error(`${fn}: cannot reduce an empty axis (x ${fmt(x.shape)})`);
  }
}

/**
 * Maximum over axes. NaN is the maximum of a row that has one, and takes
 * its gradient (as `torch.max`); the gradient is shared evenly among ties.
 *
 * @example
 * ```ts
 * import { max, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(max(tensor([[1, 5], [7, 2]]), { axis: 1 })), [5, 7]);
 * ```
 */
export function max(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  const axes = reduceAxes("max", x, options);
  nonEmpty("max", x, axes);
  return bind(maxPrim, [x], { axes, keepDims: options.keepDims ?? false });
}

/**
 * Minimum over axes (NaN is the minimum of a row that has one; ties share
 * the gradient evenly).
 *
 * @example
 * ```ts
 * import { min, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(min(tensor([[1, 5], [7, -2]]))), -2);
 * ```
 */
export function min(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("min");
  const axes = reduceAxes("min", x, options);
  nonEmpty("min", x, axes);
  return reverseOrder(
    bind(maxPrim, [reverseOrder(x)], {
      axes,
      keepDims: options.keepDims ?? false,
    }),
  );
}

/**
 * Index of the first maximum along `axis` (over the flattened tensor when
 * omitted; `keepDims` then keeps every axis with size 1, as `torch.argmax`),
 * as int32.
 *
 * @example
 * ```ts
 * import { argmax, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(argmax(tensor([[1, 5], [7, 2]]), { axis: 1 })), [1, 0]);
 * assert.equal(toArray(argmax(tensor([[1, 5], [7, 2]]))), 2);
 * ```
 */
export function argmax(
  x: Tensor,
  options?: { axis?: number; keepDims?: boolean },
): Tensor {
  return firstMax("argmax", x, options, (t) => t);
}

/**
 * Index of the first minimum along `axis` (over the flattened tensor when
 * omitted; `keepDims` then keeps every axis with size 1, as `torch.argmin`),
 * as int32; a NaN counts as the minimum, as in PyTorch.
 *
 * @example
 * ```ts
 * import { argmin, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(argmin(tensor([[1, 5], [7, 2]]), { axis: 1 })), [0, 1]);
 * assert.equal(toArray(argmin(tensor([[4, 1], [1, NaN]]))), 3);
 * ```
 */
export function argmin(
  x: Tensor,
  options?: { axis?: number; keepDims?: boolean },
): Tensor {
  return firstMax("argmin", x, options, reverseOrder);
}

/** The index of the first maximum of `order(x)` along the options' axis (argmax, and argmin through an order-reversing map). */
function firstMax(
  fn: string,
  x: Tensor,
  options: { axis?: number; keepDims?: boolean } | undefined,
  order: (x: Tensor) => Tensor,
): Tensor {
  if (options === undefined) options = {};
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis", "keepDims"]);
  checkKeepDims(fn, options.keepDims);
  if (options.axis === undefined) {
    const flat = reshape(x, [-1]);
    nonEmpty(fn, flat, [0]);
    const i = bind(argmaxPrim, [order(flat)], { axis: 0, keepDims: false });
    // keepDims: every axis kept with size 1 (as torch.argmax(x, keepdim=True))
    return options.keepDims ? reshape(i, x.shape.map(() => 1)) : i;
  }
  const axis = normAxis(fn, options.axis, x.shape.length, x.shape);
  nonEmpty(fn, x, [axis]);
  return bind(argmaxPrim, [order(x)], {
    axis,
    keepDims: options.keepDims ?? false,
  });
}

/**
 * `log(sum(exp(x)))` over axes, computed stably (the max is subtracted first).
 * Over an empty axis it is -Infinity, the log of an empty sum (as
 * `torch.logsumexp` and JAX's `logsumexp`). An int32 x gives float32 (it is
 * converted first, as PyTorch's).
 *
 * @example
 * ```ts
 * import { item, logSumExp, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(logSumExp(tensor([1000, 1000], { dtype: "float64" }))) - (1000 + Math.log(2))) < 1e-9);
 * ```
 */
export function logSumExp(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("logSumExp");
  const axes = reduceAxes("logSumExp", x, options);
  const keepDims = options.keepDims ?? false;
  // int32 in float32 (as torch.logsumexp): x - max in int32 would wrap
  if (x.dtype === "int32") x = astype(x, "float32");
  if (axes.some((a) => x.shape[a] === 0)) {
    // log of an empty sum: -Infinity (as PyTorch and JAX), still a function of x
    return sub(bind(sumPrim, [x], { axes, keepDims }), Infinity);
  }
  // the shift is a constant: it cancels in the value and in every derivative
  const m = concrete(bind(maxPrim, [x], { axes, keepDims: true }));
  const shift = where(equal(abs(m), Infinity), 0, m);
  const s = log(bind(sumPrim, [exp(sub(x, shift))], { axes, keepDims: true }));
  const y = add(s, shift);
  return keepDims ? y : reshape(y, reducedShape(x.shape, axes, false));
}

/** Options of `var` and {@linkcode std}. */
export interface VarOptions extends ReduceOptions {
  /**
   * Subtracted from the count in the divisor: 1 (the default, as PyTorch)
   * gives the unbiased sample variance, 0 the population variance. A divisor
   * below 0 counts as 0 (inf or NaN, as PyTorch).
   */
  correction?: number;
}

/** The variance over the options' axes, in float64 (two passes: the mean, then the squared deviations). */
function varianceOf(fn: string, x: Tensor, options: VarOptions): Tensor {
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis", "keepDims", "correction"]);
  const { correction = 1, ...reduce } = options;
  if (
    typeof correction !== "number" || !(correction >= 0) ||
    correction === Infinity
  ) {
    throw new Error(
      `${fn}: correction must be a finite number >= 0, got ${
        describe(correction)
      }`,
    );
  }
  const axes = reduceAxes(fn, x, reduce);
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  // as PyTorch's CPU kernel: the mean in x's dtype, the deviations in float64
  const m = mean(x, { axis: axes, keepDims: true });
  const d = sub(astype(x, "float64"), astype(m, "float64"));
  const keepDims = reduce.keepDims ?? false;
  return div(
    sum(mul(d, d), { axis: axes, keepDims }),
    Math.max(0, n - correction),
  );
}

/** A float64 result in x's float dtype (float32 for int32). */
const inDTypeOf = (x: Tensor, y: Tensor): Tensor =>
  x.dtype === "float64" ? y : astype(y, "float32");

/**
 * `sqrt(s)` whose derivative at s = 0 is 0 rather than infinite (PyTorch's
 * for the 2-norm and std of all-equal values: the subgradient 0).
 */
function sqrtZeroAtZero(s: Tensor): Tensor {
  const zero = equal(s, 0);
  return where(zero, 0, sqrt(where(zero, 1, s)));
}

/**
 * Variance over axes (as `torch.var`): the mean of the squared deviations
 * from the mean, with `correction` (default 1) subtracted from the count.
 * Exported as `var` (a reserved word in JavaScript: call it as `T.var(x)` or
 * import it as `import { var as variance }`). Two passes, as PyTorch's CPU
 * kernel: the mean in x's dtype, then the squared deviations from it summed
 * in float64; a float32 (or int32) x gives the float32 rounding of that. A
 * count at most `correction` gives inf, or NaN where every deviation is 0,
 * as PyTorch.
 *
 * @example
 * ```ts
 * import * as T from "../mod.ts";
 * import { tensor, toArray, var as variance } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2, 3], [2, 4, 6]]);
 * assert.deepEqual(toArray(variance(x, { axis: 1 })), [1, 4]);
 * assert.deepEqual(toArray(T.var(x, { axis: -1, correction: 0, keepDims: true })), [[2 / 3], [8 / 3]].map(([v]) => [Math.fround(v)]));
 * ```
 */
function variance(x: Tensor, options?: VarOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("var");
  return inDTypeOf(x, varianceOf("var", x, options));
}
export { variance as var };

/**
 * Standard deviation over axes (as `torch.std`): the square root of
 * {@linkcode VarOptions | var}'s result, with the same options and
 * numerics. Where it is 0 (all values equal) its gradient is 0, as PyTorch's.
 *
 * @example
 * ```ts
 * import { item, std, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(std(tensor([2, 4, 4, 4, 5, 5, 7, 9]), { correction: 0 })), 2);
 * ```
 */
export function std(x: Tensor, options?: VarOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("std");
  return inDTypeOf(x, sqrtZeroAtZero(varianceOf("std", x, options)));
}

/**
 * Product over axes (as `torch.prod`); the product over no entries is 1.
 * Its gradient is the product of the other entries, also where the row
 * holds zeros (as PyTorch's). int32 stays int32 and wraps around modulo 2^32
 * (PyTorch gives int64). Computed by pairwise products (log2(n) steps).
 *
 * @example
 * ```ts
 * import { grad, prod, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(prod(tensor([[1, 2], [3, 4]]), { axis: 0 })), [3, 8]);
 * const g = grad((x: Tensor) => prod(x));
 * assert.deepEqual(toArray(g(tensor([2, 0, 5]))), [0, 10, 0]);
 * ```
 */
export function prod(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("prod");
  const axes = reduceAxes("prod", x, options);
  const keepDims = options.keepDims ?? false;
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  if (n === 0) return add(sum(x, { axis: axes, keepDims }), 1);
  // the reduced axes last, as one axis of n entries, halved until one is left
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const last = kept.length;
  let y = reshape(transpose(x, [...kept, ...axes]), [
    ...kept.map((i) => x.shape[i]),
    n,
  ]);
  for (let k = n; k > 1; k = Math.ceil(k / 2)) {
    if (k % 2 === 1) {
      const widths = y.shape.map((_, i) => [0, i === last ? 1 : 0]);
      y = pad(y, widths, { value: 1 });
    }
    const h = Math.ceil(k / 2);
    const at = (v: number) => y.shape.map((d, i) => (i === last ? v : d));
    const zeros = y.shape.map(() => 0);
    y = mul(
      slice(y, zeros, at(h)),
      slice(y, at(h).map((v, i) => (i === last ? v : 0))),
    );
  }
  return reshape(y, reducedShape(x.shape, axes, keepDims));
}

/** Options of {@linkcode norm}. */
export interface NormOptions extends ReduceOptions {
  /**
   * 2 (the default), any other number (0 counts the nonzero entries;
   * Infinity and -Infinity take the largest and smallest |x|): the vector
   * norm of the entries on the axes (all of them when omitted), as
   * `torch.linalg.vector_norm`; `"fro"`: the Frobenius norm of the
   * matrices on two axes (`axis` a pair, or a 2-D x), as
   * `torch.linalg.matrix_norm`.
   */
  ord?: number | "fro";
}

/**
 * Vector norm over axes (as `torch.linalg.vector_norm`; `ord: "fro"` as
 * `torch.linalg.matrix_norm`): `ord` 2 is `sqrt(sum(x²))`, 1 `sum(|x|)`,
 * Infinity `max(|x|)`, -Infinity `min(|x|)`, 0 the count of nonzero
 * entries, any other p `sum(|x|^p)^(1/p)` (for p < 0 a zero entry makes it
 * 0). The norm of no entries is 0 (an error for ±Infinity, as PyTorch).
 * Gradients as PyTorch's: 0 at x = 0 (the subgradient) and where the norm
 * is 0, none for ord 0, shared evenly among the tied largest entries for
 * Infinity. int32 gives float32.
 *
 * @example
 * ```ts
 * import { item, norm, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[3, -4], [0, 1]]);
 * assert.equal(item(norm(tensor([3, -4]))), 5);
 * assert.deepEqual(toArray(norm(x, { ord: 1, axis: 1 })), [7, 1]);
 * assert.deepEqual(toArray(norm(x, { ord: Infinity, axis: 0 })), [3, 4]);
 * assert.equal(item(norm(x, { ord: "fro" })), Math.fround(Math.sqrt(26)));
 * ```
 */
export function norm(x: Tensor, options?: NormOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("norm");
  const fn = "norm";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["ord", "axis", "keepDims"]);
  const { ord = 2, ...reduce } = options;
  const axes = reduceAxes(fn, x, reduce);
  if (ord === "fro") {
    if (axes.length !== 2) {
      throw new Error(
        `${fn}: ord "fro" is the Frobenius norm of matrices: it needs 2 axes (axis a pair, or a 2-D x), got axes [${axes}] of x ${
          fmt(x.shape)
        }`,
      );
    }
  } else if (typeof ord !== "number" || Number.isNaN(ord)) {
    throw new Error(
      `${fn}: ord must be a number (Infinity and -Infinity included) or "fro", got ${
        describe(ord)
      }`,
    );
  }
  const xf = x.dtype === "int32" ? astype(x, "float32") : x;
  const r = { axis: axes, keepDims: reduce.keepDims ?? false };
  if (ord === 1) return sum(abs(xf), r);
  if (ord === Infinity || ord === -Infinity) {
    if (axes.some((a) => x.shape[a] === 0)) {
      throw new Error(
        `${fn}: the ${ord} norm of no entries is undefined (it takes a max or min), got an empty axis of x ${
          fmt(x.shape)
        }`,
      );
    }
    return ord > 0 ? max(abs(xf), r) : min(abs(xf), r);
  }
  if (ord === 2 || ord === "fro") return sqrtZeroAtZero(sum(mul(xf, xf), r));
  if (ord === 0) return sum(astype(notEqual(xf, 0), xf.dtype), r);
  return pNorm(xf, ord as number, r);
}

/**
 * `sum(|x|^p)^(1/p)`, each power taken where it is finite and its
 * derivative with it: a zero entry adds 0 (inf for p < 0) and no gradient,
 * a zero sum gives 0 and no gradient (as PyTorch's masks).
 */
function pNorm(
  x: Tensor,
  p: number,
  r: { axis: number[]; keepDims: boolean },
): Tensor {
  const zero = equal(x, 0);
  const terms = where(
    zero,
    p < 0 ? Infinity : 0,
    pow(where(zero, 1, abs(x)), p),
  );
  const s = sum(terms, r), none = equal(s, 0);
  return where(none, 0, pow(where(none, 1, s), 1 / p));
}

/**
 * 1 (int32) where any entry over the axes is nonzero, else 0 (as
 * `torch.any`; NaN counts as nonzero). Over no entries: 0.
 *
 * @example
 * ```ts
 * import { any, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(any(tensor([[0, 2], [0, 0]]), { axis: 1 })), [1, 0]);
 * ```
 */
export function any(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("any");
  return greater(countOver("any", x, options, notEqual), 0);
}

/**
 * 1 (int32) where every entry over the axes is nonzero, else 0 (as
 * `torch.all`; NaN counts as nonzero). Over no entries: 1.
 *
 * @example
 * ```ts
 * import { all, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(all(tensor([[1, 2], [0, 3]]), { axis: -1 })), [1, 0]);
 * ```
 */
export function all(x: Tensor, options?: ReduceOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("all");
  return equal(countOver("all", x, options, equal), 0);
}

/** How many entries over the options' axes `compare` to 0 (int32): `any` counts the nonzero, `all` the zero ones. */
function countOver(
  fn: string,
  x: Tensor,
  options: ReduceOptions,
  compare: (x: Tensor, zero: number) => Tensor,
): Tensor {
  const axes = reduceAxes(fn, x, options);
  const keepDims = options.keepDims ?? false;
  return bind(sumPrim, [compare(x, 0)], { axes, keepDims });
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

const maxPrim: Primitive<{ axes: number[]; keepDims: boolean }> =
  definePrimitive({
    name: "max",
    forward: ([x], { axes, keepDims }) => {
      const { data, n } = axesLast(x, axes);
      const shape = reducedShape(x.shape, axes, keepDims);
      return fromData(
        red.maxRows(data, n, allocData(x.dtype, sizeOf(shape))),
        shape,
      );
    },
    // g goes to the maxima, shared evenly among ties (as JAX); a NaN is the
    // maximum and takes g (as torch.max)
    vjp: ([x], y, { axes }) => [
      (g) => {
        const kept = reducedShape(x.shape, axes, true);
        const m = reshape(y, kept);
        const isMax = add(equal(x, m), mul(notEqual(x, x), notEqual(m, m)));
        const mask = astype(isMax, g.dtype);
        const count = sum(mask, { axis: axes, keepDims: true });
        return mul(div(mask, count), reshape(g, kept));
      },
    ],
    batch: reduceBatch(() => maxPrim, (p) => ({ ...p, axes: plusOne(p.axes) })),
  });

const argmaxPrim: Primitive<{ axis: number; keepDims: boolean }> =
  definePrimitive({
    name: "argmax",
    forward: ([x], { axis, keepDims }) => {
      const { data, n } = axesLast(x, [axis]);
      const shape = reducedShape(x.shape, [axis], keepDims);
      return fromData(
        red.argmaxRows(data, n, new Int32Array(sizeOf(shape))),
        shape,
      );
    },
    vjp: () => [null],
    batch: reduceBatch(() => argmaxPrim, (p) => ({ ...p, axis: p.axis + 1 })),
  });

// ---------------------------------------------------------------------------
// the public ops
