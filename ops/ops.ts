/**
 * The public array ops. Each checks its arguments (errors name the op, the
 * argument, what was expected and what came), then applies a primitive or
 * composes other ops. Binary ops broadcast as NumPy and accept plain numbers
 * as weakly typed scalars (see {@linkcode Operand}).
 *
 * @module
 */
import {
  checkDType,
  checkOptions,
  checkTensor,
  describe,
  type DType,
  full,
  isTensor,
  sameShape,
  type Tensor,
} from "./tensor.ts";
import { bind, type CompareOp, promote, reducedShape } from "./primitives.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";
import { concrete, userOp } from "./trace.ts";

/**
 * A tensor or a plain number: a weakly typed scalar constant, as in JAX and
 * PyTorch. With a float tensor the number takes its dtype; with an int32
 * tensor an integer-valued number stays int32 and any other number (0.5,
 * NaN, Infinity) gives float32: `mul(int32 [1, 2], 0.5)` is float32
 * `[0.5, 1]`. Two numbers give float32.
 */
export type Operand = Tensor | number;

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** The dtype a plain number takes next to a tensor of dtype `other` (see {@linkcode Operand}). */
function weakDType(fn: string, name: string, v: number, other: DType): DType {
  if (other !== "int32") return other;
  if (!Number.isInteger(v)) return "float32";
  if (v < -(2 ** 31) || v >= 2 ** 31) {
    throw new Error(
      `${fn}: ${name} = ${v} is an integer outside int32's range [-2147483648, 2147483647], used with an int32 tensor (cast the tensor with astype first)`,
    );
  }
  return "int32";
}

/** Turns numbers into weakly typed scalars (see {@linkcode Operand}) and checks broadcasting. */
function operands(fn: string, a: Operand, b: Operand): [Tensor, Tensor] {
  const ta = typeof a === "number" ? null : checkTensor(fn, a, "a");
  const tb = typeof b === "number" ? null : checkTensor(fn, b, "b");
  if (!ta && typeof a !== "number") {
    throw new Error(
      `${fn}: a must be a Tensor or a number, got ${describe(a)}`,
    );
  }
  if (!tb && typeof b !== "number") {
    throw new Error(
      `${fn}: b must be a Tensor or a number, got ${describe(b)}`,
    );
  }
  const x = ta ?? full([], a as number, {
    dtype: tb ? weakDType(fn, "a", a as number, tb.dtype) : "float32",
  });
  const y = tb ?? full([], b as number, {
    dtype: ta ? weakDType(fn, "b", b as number, ta.dtype) : "float32",
  });
  if (!broadcastShapes(x.shape, y.shape)) {
    throw new Error(
      `${fn}: cannot broadcast a ${fmt(x.shape)} with b ${fmt(y.shape)}`,
    );
  }
  return [x, y];
}

function unaryOp(
  name: "neg" | "exp" | "log" | "sqrt" | "abs" | "tanh" | "sigmoid" | "relu",
) {
  return (x: Tensor): Tensor => bind(name, [checkTensor(name, x, "x")], {});
}

function binaryOp(name: "add" | "sub" | "mul" | "div" | "maximum") {
  return (a: Operand, b: Operand): Tensor =>
    bind(name, operands(name, a, b), {});
}

/**
 * Elementwise sum with broadcasting.
 *
 * @example
 * ```ts
 * import { add, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(add(tensor([[1], [2]]), tensor([10, 20]))), [[11, 21], [12, 22]]);
 * assert.deepEqual(toArray(add(tensor([1, 2]), 1)), [2, 3]);
 * ```
 */
export const add: (a: Operand, b: Operand) => Tensor = binaryOp("add");
/**
 * Elementwise difference `a - b` with broadcasting.
 *
 * @example
 * ```ts
 * import { sub, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(sub(1, tensor([1, 2]))), [0, -1]);
 * ```
 */
export const sub: (a: Operand, b: Operand) => Tensor = binaryOp("sub");
/**
 * Elementwise product with broadcasting.
 *
 * @example
 * ```ts
 * import { mul, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(mul(tensor([1, 2]), 3)), [3, 6]);
 * const half = mul(tensor([1, 2, 3], { dtype: "int32" }), 0.5); // weak scalar
 * assert.equal(half.dtype, "float32");
 * assert.deepEqual(toArray(half), [0.5, 1, 1.5]);
 * ```
 */
export const mul: (a: Operand, b: Operand) => Tensor = binaryOp("mul");
/**
 * Elementwise true division `a / b`, as `torch.div` and `jnp.divide`: two
 * int32 operands give float32 (`div(int32 [1, 3], int32 [2, 2])` is
 * `[0.5, 1.5]`; there is no integer floor division).
 *
 * @example
 * ```ts
 * import { div, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(div(tensor([1, 3]), 2)), [0.5, 1.5]);
 * const i = div(tensor([1, 3], { dtype: "int32" }), tensor([2, 2], { dtype: "int32" }));
 * assert.equal(i.dtype, "float32");
 * assert.deepEqual(toArray(i), [0.5, 1.5]);
 * ```
 */
export const div: (a: Operand, b: Operand) => Tensor = binaryOp("div");
/**
 * Elementwise power `a ** b`, as C's `pow` (`1 ** NaN` is 1). int32 to an
 * int32 power stays int32 (a negative power truncates toward zero, as
 * PyTorch); an int32 tensor to a negative integer number is an error, as in
 * PyTorch.
 *
 * @example
 * ```ts
 * import { pow, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(pow(tensor([2, 3]), 2)), [4, 9]);
 * ```
 */
export function pow(a: Operand, b: Operand): Tensor {
  const [x, y] = operands("pow", a, b);
  if (typeof b === "number" && b < 0 && y.dtype === "int32") {
    throw new Error(
      `pow: b = ${b} is a negative integer with an int32 a (integers to negative integer powers are not allowed, as in PyTorch); cast a to a float dtype or pass b as a float tensor`,
    );
  }
  return bind("pow", [x, y], {});
}
/**
 * Elementwise maximum (a tie splits the gradient evenly).
 *
 * @example
 * ```ts
 * import { maximum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(maximum(tensor([1, 5]), 3)), [3, 5]);
 * ```
 */
export const maximum: (a: Operand, b: Operand) => Tensor = binaryOp("maximum");
/**
 * Elementwise minimum.
 *
 * @example
 * ```ts
 * import { minimum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(minimum(tensor([1, 5]), 3)), [1, 3]);
 * ```
 */
export function minimum(a: Operand, b: Operand): Tensor {
  using _op = userOp("minimum");
  const [x, y] = operands("minimum", a, b);
  return neg(maximum(neg(x), neg(y)));
}

/**
 * Elementwise negation.
 *
 * @example
 * ```ts
 * import { neg, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(neg(tensor([1, -2]))), [-1, 2]);
 * ```
 */
export const neg: (x: Tensor) => Tensor = unaryOp("neg");
/**
 * Elementwise `e^x`.
 *
 * @example
 * ```ts
 * import { exp, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(exp(tensor(0))), 1);
 * ```
 */
export const exp: (x: Tensor) => Tensor = unaryOp("exp");
/**
 * Elementwise natural logarithm.
 *
 * @example
 * ```ts
 * import { log, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(log(tensor(1))), 0);
 * ```
 */
export const log: (x: Tensor) => Tensor = unaryOp("log");
/**
 * Elementwise square root.
 *
 * @example
 * ```ts
 * import { sqrt, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(sqrt(tensor([4, 9]))), [2, 3]);
 * ```
 */
export const sqrt: (x: Tensor) => Tensor = unaryOp("sqrt");
/**
 * Elementwise absolute value (gradient 0 at 0, as PyTorch).
 *
 * @example
 * ```ts
 * import { abs, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(abs(tensor([-2, 3]))), [2, 3]);
 * ```
 */
export const abs: (x: Tensor) => Tensor = unaryOp("abs");
/**
 * Elementwise hyperbolic tangent.
 *
 * @example
 * ```ts
 * import { tanh, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(tanh(tensor(0))), 0);
 * ```
 */
export const tanh: (x: Tensor) => Tensor = unaryOp("tanh");
/**
 * Elementwise logistic sigmoid `1 / (1 + e^-x)`.
 *
 * @example
 * ```ts
 * import { sigmoid, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(sigmoid(tensor(0))), 0.5);
 * ```
 */
export const sigmoid: (x: Tensor) => Tensor = unaryOp("sigmoid");
/**
 * Elementwise `max(x, 0)` (gradient 0 at 0, as PyTorch).
 *
 * @example
 * ```ts
 * import { relu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(relu(tensor([-1, 2]))), [0, 2]);
 * ```
 */
export const relu: (x: Tensor) => Tensor = unaryOp("relu");

/**
 * Elementwise `x * x`.
 *
 * @example
 * ```ts
 * import { square, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(square(tensor([-3, 2]))), [9, 4]);
 * ```
 */
export function square(x: Tensor): Tensor {
  using _op = userOp("square");
  checkTensor("square", x, "x");
  return mul(x, x);
}

function compareOp(name: string, op: CompareOp) {
  return (a: Operand, b: Operand): Tensor =>
    bind("compare", operands(name, a, b), { op });
}
/**
 * `a == b` elementwise, as int32 0/1.
 *
 * @example
 * ```ts
 * import { equal, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(equal(tensor([1, 2]), 2)), [0, 1]);
 * ```
 */
export const equal: (a: Operand, b: Operand) => Tensor = compareOp(
  "equal",
  "eq",
);
/**
 * `a != b` elementwise, as int32 0/1.
 *
 * @example
 * ```ts
 * import { notEqual, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(notEqual(tensor([1, 2]), 2)), [1, 0]);
 * ```
 */
export const notEqual: (a: Operand, b: Operand) => Tensor = compareOp(
  "notEqual",
  "ne",
);
/**
 * `a < b` elementwise, as int32 0/1.
 *
 * @example
 * ```ts
 * import { less, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(less(tensor([1, 2]), 2)), [1, 0]);
 * ```
 */
export const less: (a: Operand, b: Operand) => Tensor = compareOp("less", "lt");
/**
 * `a <= b` elementwise, as int32 0/1.
 *
 * @example
 * ```ts
 * import { lessEqual, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(lessEqual(tensor([1, 3]), 2)), [1, 0]);
 * ```
 */
export const lessEqual: (a: Operand, b: Operand) => Tensor = compareOp(
  "lessEqual",
  "le",
);
/**
 * `a > b` elementwise, as int32 0/1.
 *
 * @example
 * ```ts
 * import { greater, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(greater(tensor([1, 3]), 2)), [0, 1]);
 * ```
 */
export const greater: (a: Operand, b: Operand) => Tensor = compareOp(
  "greater",
  "gt",
);
/**
 * `a >= b` elementwise, as int32 0/1.
 *
 * @example
 * ```ts
 * import { greaterEqual, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(greaterEqual(tensor([1, 2]), 2)), [0, 1]);
 * ```
 */
export const greaterEqual: (a: Operand, b: Operand) => Tensor = compareOp(
  "greaterEqual",
  "ge",
);

/**
 * Picks `a` where `cond` is nonzero and `b` elsewhere (all three broadcast).
 *
 * @example
 * ```ts
 * import { tensor, toArray, where } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(where(tensor([1, 0], { dtype: "int32" }), tensor([1, 2]), 0)), [1, 0]);
 * ```
 */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const fn = "where";
  checkTensor(fn, cond, "cond");
  const [x, y] = operands(fn, a, b);
  if (!broadcastShapes(cond.shape, broadcastShapes(x.shape, y.shape)!)) {
    throw new Error(
      `${fn}: cannot broadcast cond ${fmt(cond.shape)} with a ${
        fmt(x.shape)
      } and b ${fmt(y.shape)}`,
    );
  }
  return bind("where", [cond, x, y], {});
}

/**
 * Converts to another dtype. To int32 truncates toward zero; NaN, ±Infinity
 * and values outside int32's range give -2147483648 (INT_MIN), as PyTorch on
 * x86 does.
 *
 * @example
 * ```ts
 * import { astype, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = astype(tensor([1.7, -1.7]), "int32");
 * assert.equal(t.dtype, "int32");
 * assert.deepEqual(toArray(t), [1, -1]);
 * assert.deepEqual(toArray(astype(tensor([NaN, 3e9]), "int32")), [-2147483648, -2147483648]);
 * ```
 */
export function astype(x: Tensor, dtype: DType): Tensor {
  checkTensor("astype", x, "x");
  checkDType("astype", dtype);
  return x.dtype === dtype ? x : bind("cast", [x], { dtype });
}

// ---------------------------------------------------------------------------
// reductions

/** Options of the reductions. */
export interface ReduceOptions {
  /** Axis or axes to reduce (negative counts from the end); all when omitted. */
  axis?: number | number[];
  /** Keep reduced axes as size 1. Default false. */
  keepDims?: boolean;
}

/** Normalises an axis argument (negative allowed) against `ndim`. @internal */
export function normAxis(
  fn: string,
  axis: number,
  ndim: number,
  shape: readonly number[],
): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= Math.max(ndim, 1)) {
    throw new Error(
      `${fn}: axis ${axis} is out of range for x with ${ndim} dims (shape ${
        fmt(shape)
      })`,
    );
  }
  return axis < 0 ? axis + ndim : axis;
}

function reduceAxes(fn: string, x: Tensor, opts: ReduceOptions): number[] {
  checkTensor(fn, x, "x");
  checkOptions(fn, opts, ["axis", "keepDims"]);
  const nd = x.shape.length;
  if (opts.axis === undefined) return [...Array(nd).keys()];
  const list = Array.isArray(opts.axis) ? opts.axis : [opts.axis];
  const axes = list.map((a) => normAxis(fn, a, nd, x.shape));
  if (new Set(axes).size !== axes.length) {
    throw new Error(`${fn}: axis lists an axis twice: [${list}]`);
  }
  return axes.sort((a, b) => a - b).filter((a) => a < nd);
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
  return bind("sum", [x], { axes, keepDims: options.keepDims ?? false });
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
    bind("sum", [xf], { axes, keepDims: options.keepDims ?? false }),
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
  return bind("max", [x], { axes, keepDims: options.keepDims ?? false });
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
  return neg(
    bind("max", [neg(x)], { axes, keepDims: options.keepDims ?? false }),
  );
}

/**
 * Index of the first maximum along `axis` (over the flattened tensor when
 * omitted), as int32.
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
  if (options === undefined) options = {};
  const fn = "argmax";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis", "keepDims"]);
  if (options.axis === undefined) {
    const flat = reshape(x, [-1]);
    nonEmpty(fn, flat, [0]);
    return bind("argmax", [flat], { axis: 0, keepDims: false });
  }
  const axis = normAxis(fn, options.axis, x.shape.length, x.shape);
  nonEmpty(fn, x, [axis]);
  return bind("argmax", [x], { axis, keepDims: options.keepDims ?? false });
}

/**
 * `log(sum(exp(x)))` over axes, computed stably (the max is subtracted first).
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
  nonEmpty("logSumExp", x, axes);
  const keepDims = options.keepDims ?? false;
  // the shift is a constant: it cancels in the value and in every derivative
  const m = concrete(bind("max", [x], { axes, keepDims: true }));
  const shift = where(equal(abs(m), Infinity), 0, m);
  const s = log(bind("sum", [exp(sub(x, shift))], { axes, keepDims: true }));
  const y = add(s, shift);
  return keepDims ? y : reshape(y, reducedShape(x.shape, axes, false));
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
    !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= -1)
  ) {
    throw new Error(
      `${fn}: shape must be an array of integers >= -1, got ${
        JSON.stringify(shape)
      }`,
    );
  }
  const size = x.data.length;
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
  if (sameShape(out, x.shape)) return x;
  return bind("reshape", [x], { shape: out });
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
  if (nd === 0) return reshape(x, [1]);
  const s = normAxis(fn, startDim, nd, x.shape);
  const e = normAxis(fn, endDim, nd, x.shape);
  if (s > e) {
    throw new Error(
      `${fn}: startDim ${startDim} comes after endDim ${endDim} for x ${
        fmt(x.shape)
      }`,
    );
  }
  const mid = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
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
  const p = perm === undefined
    ? [...Array(nd).keys()].reverse()
    : perm.map((a) => normAxis(fn, a, nd, x.shape));
  if (p.length !== nd || new Set(p).size !== nd) {
    throw new Error(
      `${fn}: perm must be a permutation of 0..${nd - 1}, got ${
        JSON.stringify(perm)
      }`,
    );
  }
  if (p.every((a, i) => a === i)) return x;
  return bind("transpose", [x], { perm: p });
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
  const b = broadcastShapes(x.shape, shape);
  if (!b || !sameShape(b, shape)) {
    throw new Error(
      `${fn}: cannot broadcast x ${fmt(x.shape)} to ${fmt(shape)}`,
    );
  }
  if (sameShape(x.shape, shape)) return x;
  return bind("broadcastTo", [x], { shape: shape.slice() });
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
 * Removes axes of size 1 (all of them, or those listed).
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
    : (Array.isArray(axis) ? axis : [axis]).map((a) =>
      normAxis(fn, a, nd, x.shape)
    );
  for (const a of axes) {
    if (x.shape[a] !== 1) {
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
  xs.forEach((x, i) => checkTensor(fn, x, `tensors[${i}]`));
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
  return bind("concat", tensors.slice(), { axis: a });
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
      }), got ${JSON.stringify(starts)} and ${JSON.stringify(ends)}`,
    );
  }
  const clamp = (v: number, d: number) =>
    Math.min(Math.max(v < 0 ? v + d : v, 0), d);
  const s = x.shape.map((d, i) => clamp(starts[i] ?? 0, d));
  const e = x.shape.map((d, i) => Math.max(clamp(ends?.[i] ?? d, d), s[i]));
  if (s.every((v) => v === 0) && e.every((v, i) => v === x.shape[i])) return x;
  return bind("slice", [x], { starts: s, ends: e });
}

/**
 * Pads with a constant: `widths` is NumPy's `[[before, after], ...]` per axis
 * (or one number for every side).
 *
 * @example
 * ```ts
 * import { pad, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(pad(tensor([1, 2]), [[1, 2]], { value: 9 })), [9, 1, 2, 9, 9]);
 * ```
 */
export function pad(
  x: Tensor,
  widths: readonly (readonly [number, number])[] | readonly number[][] | number,
  options?: { value?: number },
): Tensor {
  if (options === undefined) options = {};
  const fn = "pad";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["value"]);
  const nd = x.shape.length;
  const w = typeof widths === "number"
    ? x.shape.map(() => [widths, widths])
    : widths;
  if (
    !Array.isArray(w) || w.length !== nd ||
    !w.every((p) =>
      Array.isArray(p) && p.length === 2 &&
      p.every((v) => Number.isInteger(v) && v >= 0)
    )
  ) {
    throw new Error(
      `${fn}: widths must be ${nd} pairs [before, after] of non-negative integers for x ${
        fmt(x.shape)
      }, got ${JSON.stringify(widths)}`,
    );
  }
  const value = options.value ?? 0;
  if (w.every((p) => p[0] === 0 && p[1] === 0)) return x;
  return bind("pad", [x], {
    widths: w.map((p) => [p[0], p[1]] as [number, number]),
    value,
  });
}

/**
 * Matrix product with NumPy's rules: 2-D, batched (batch dims broadcast), and
 * 1-D operands (a vector is promoted to a matrix and the axis removed after).
 *
 * @example
 * ```ts
 * import { matmul, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]]))), [[17], [39]]);
 * assert.equal(toArray(matmul(tensor([1, 2]), tensor([3, 4]))), 11);
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const fn = "matmul";
  checkTensor(fn, a, "a");
  checkTensor(fn, b, "b");
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(
      `${fn}: operands must have at least 1 dim, got a ${fmt(a.shape)} and b ${
        fmt(b.shape)
      }`,
    );
  }
  const av = a.shape.length === 1, bv = b.shape.length === 1;
  const A = av ? reshape(a, [1, a.shape[0]]) : a;
  const B = bv ? reshape(b, [b.shape[0], 1]) : b;
  const k = A.shape[A.shape.length - 1];
  if (B.shape[B.shape.length - 2] !== k) {
    throw new Error(
      `${fn}: a ${fmt(a.shape)} and b ${
        fmt(b.shape)
      } have mismatched inner dimensions ${k} and ${
        B.shape[B.shape.length - 2]
      }`,
    );
  }
  if (!broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2))) {
    throw new Error(
      `${fn}: cannot broadcast the batch dims of a ${fmt(a.shape)} and b ${
        fmt(b.shape)
      }`,
    );
  }
  let y = bind("matmul", [A, B], {});
  if (av) y = squeeze(y, -2);
  if (bv) y = squeeze(y, -1);
  return y;
}

/** Promotion of two dtypes (float64 > float32 > int32). */
export function resultType(a: DType, b: DType): DType {
  return promote(a, b);
}

/** True when `x` is a tensor (or traced tensor). */
export { isTensor };
