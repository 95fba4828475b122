/**
 * Reductions beyond `sum`: max (and min through it), argmax, mean and
 * logSumExp. The max VJP shares g evenly among ties, as JAX.
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
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
  log,
  mul,
  neg,
  notEqual,
  sub,
  where,
} from "./elementwise.ts";
import {
  normAxis,
  plusOne,
  reduceAxes,
  reduceBatch,
  reducedShape,
  type ReduceOptions,
  reshape,
  sum,
  sumPrim,
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
  return neg(
    bind(maxPrim, [neg(x)], { axes, keepDims: options.keepDims ?? false }),
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
    return bind(argmaxPrim, [flat], { axis: 0, keepDims: false });
  }
  const axis = normAxis(fn, options.axis, x.shape.length, x.shape);
  nonEmpty(fn, x, [axis]);
  return bind(argmaxPrim, [x], { axis, keepDims: options.keepDims ?? false });
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
  const m = concrete(bind(maxPrim, [x], { axes, keepDims: true }));
  const shift = where(equal(abs(m), Infinity), 0, m);
  const s = log(bind(sumPrim, [exp(sub(x, shift))], { axes, keepDims: true }));
  const y = add(s, shift);
  return keepDims ? y : reshape(y, reducedShape(x.shape, axes, false));
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
