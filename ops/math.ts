/**
 * Elementwise math, as PyTorch: trigonometric and hyperbolic functions,
 * logarithms and exponentials of other bases, rounding, `sign`, `clamp`,
 * `atan2`, NaN and infinity tests and logical ops. Each unary primitive is
 * one line: its kernel function (computed in float64, rounded once to
 * float32 for float32 tensors) and its VJP written with the public ops.
 * An int32 input to a float function gives float32; rounding, `sign` and
 * `clamp` keep int32; tests and logical ops return int32 0/1.
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
  describe,
  type DType,
  fromData,
  promote,
  type Tensor,
} from "./tensor.ts";
import { bind, definePrimitive, type Empty, type Primitive } from "./trace.ts";
import type { SimdOp } from "./grad_types.ts";
import { userOp } from "./debug.ts";
import {
  abs,
  add,
  astype,
  binaryForward,
  binaryOp,
  broadcastBatch,
  div,
  equal,
  erf,
  exp,
  floatOf,
  greaterEqual,
  less,
  lessEqual,
  log1p,
  maximum,
  mul,
  neg,
  notEqual,
  type Operand,
  operands,
  sqrt,
  square,
  sub,
  unaryForward,
  unaryOp,
  unaryRule,
  where,
} from "./elementwise.ts";
import { broadcastTo, sum, unbroadcast } from "./structural.ts";
import * as ew from "./kernels/elementwise.ts";

export { erf, log1p };

/** `x` rounded to the nearest integer, a half to the even one (C's `nearbyint`). */
function roundHalfEven(v: number): number {
  const r = Math.round(v); // halves go up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A piecewise-constant unary primitive (floor, ceil, round, trunc, sign):
 * int32 stays int32, and its derivative is zero (as JAX and PyTorch), so
 * its output carries none. `f` is also its element function (`jit` fuses
 * it), and `simd` its lane operation when it has one.
 */
function stepPrim(
  name: string,
  f: (v: number) => number,
  simd?: SimdOp,
): Primitive<Empty> {
  const prim: Primitive<Empty> = definePrimitive({
    name,
    forward: unaryForward(f, true),
    scalar: f,
    ...(simd ? { simd } : {}),
    vjp: () => [null],
    batch: ([x], [d]) => [bind(prim, [x], {}), d],
  });
  return prim;
}

// ---------------------------------------------------------------------------
// primitives: kernel function and VJP side by side

// d sin = cos
const sinPrim = definePrimitive(
  unaryRule("sin", Math.sin, (g, x) => mul(g, cos(x))),
);
// d cos = -sin
const cosPrim = definePrimitive(
  unaryRule("cos", Math.cos, (g, x) => neg(mul(g, sin(x)))),
);
// d tan = 1 + tan²
const tanPrim = definePrimitive(
  unaryRule("tan", Math.tan, (g, _x, y) => mul(g, add(square(y), 1))),
);
// d asin = 1/√(1 - x²)
const asinPrim = definePrimitive(
  unaryRule("asin", Math.asin, (g, x) => div(g, sqrt(sub(1, square(x))))),
);
// d acos = -1/√(1 - x²)
const acosPrim = definePrimitive(
  unaryRule("acos", Math.acos, (g, x) => neg(div(g, sqrt(sub(1, square(x)))))),
);
// d atan = 1/(1 + x²)
const atanPrim = definePrimitive(
  unaryRule("atan", Math.atan, (g, x) => div(g, add(square(x), 1))),
);
// d sinh = cosh
const sinhPrim = definePrimitive(
  unaryRule("sinh", Math.sinh, (g, x) => mul(g, cosh(x))),
);
// d cosh = sinh
const coshPrim = definePrimitive(
  unaryRule("cosh", Math.cosh, (g, x) => mul(g, sinh(x))),
);
// d log2 x = 1/(x ln 2)
const log2Prim = definePrimitive(
  unaryRule("log2", Math.log2, (g, x) => div(g, mul(x, Math.LN2))),
);
// d log10 x = 1/(x ln 10)
const log10Prim = definePrimitive(
  unaryRule("log10", Math.log10, (g, x) => div(g, mul(x, Math.LN10))),
);
// d (e^x - 1) = e^x
const expm1Prim = definePrimitive(
  unaryRule("expm1", Math.expm1, (g, _x, y) => mul(g, add(y, 1))),
);
// d 2^x = 2^x ln 2
const exp2Prim = definePrimitive(
  unaryRule("exp2", (v) => 2 ** v, (g, _x, y) => mul(g, mul(y, Math.LN2))),
);

const floorPrim = stepPrim("floor", Math.floor);
const ceilPrim = stepPrim("ceil", Math.ceil);
const roundPrim = stepPrim("round", roundHalfEven);
const truncPrim = stepPrim("trunc", Math.trunc);
// (x > 0) - (x < 0): -0 and NaN give 0, as torch.sign
const signPrim = stepPrim("sign", (v) => +(v > 0) - +(v < 0), "sign");

// atan2(a, b) is the angle of the point (b, a):
// d/da = b/(a² + b²), d/db = -a/(a² + b²)
const atan2Prim: Primitive<Empty> = definePrimitive({
  name: "atan2",
  forward: binaryForward(Math.atan2, (a, b) => floatOf(promote(a, b))),
  vjp: ([a, b]) => {
    const r2 = add(square(a), square(b));
    return [
      (g) => unbroadcast(mul(g, div(b, r2)), a.shape),
      (g) => unbroadcast(neg(mul(g, div(a, r2))), b.shape),
    ];
  },
  batch: broadcastBatch(() => atan2Prim),
});

/** `clamp`'s parameters: the bounds (±Infinity where absent) and the output dtype. */
interface ClampParams {
  min: number;
  max: number;
  dtype: DType;
}

// min(max(x, lo), hi), NaN kept; g where lo <= x <= hi (bounds included, as
// PyTorch), else 0: linear in g, so the JVP is the same mask
const clampMask = (x: Tensor, { min, max }: ClampParams) =>
  mul(greaterEqual(x, min), lessEqual(x, max));
const clampPrim: Primitive<ClampParams> = definePrimitive({
  name: "clamp",
  forward: ([x], { min, max, dtype }) => {
    return fromData(
      ew.clamp(x.data, allocData(dtype, x.data.length), min, max),
      x.shape,
    );
  },
  vjp: ([x], _y, p) => [(g) => where(clampMask(x, p), g, 0)],
  jvp: ([x], [t], _y, p) => where(clampMask(x, p), t!, 0),
  batch: ([x], [d], p) => [bind(clampPrim, [x], p), d],
});

// ---------------------------------------------------------------------------
// the public ops

/**
 * Elementwise sine (radians).
 *
 * @example
 * ```ts
 * import { sin, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(sin(tensor([0, Math.PI / 2], { dtype: "float64" }))), [0, 1]);
 * ```
 */
export const sin: (x: Tensor) => Tensor = unaryOp(sinPrim);

/**
 * Elementwise cosine (radians).
 *
 * @example
 * ```ts
 * import { cos, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(cos(tensor([0, Math.PI], { dtype: "float64" }))), [1, -1]);
 * ```
 */
export const cos: (x: Tensor) => Tensor = unaryOp(cosPrim);

/**
 * Elementwise tangent (radians).
 *
 * @example
 * ```ts
 * import { tan, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [t0, t1] = toArray(tan(tensor([0, Math.PI / 4], { dtype: "float64" }))) as number[];
 * assert.equal(t0, 0);
 * assert.ok(Math.abs(t1 - 1) < 1e-15);
 * ```
 */
export const tan: (x: Tensor) => Tensor = unaryOp(tanPrim);

/**
 * Elementwise arcsine; NaN outside [-1, 1] (as PyTorch).
 *
 * @example
 * ```ts
 * import { asin, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(asin(tensor([0, 1, 2], { dtype: "float64" }))), [0, Math.PI / 2, NaN]);
 * ```
 */
export const asin: (x: Tensor) => Tensor = unaryOp(asinPrim);

/**
 * Elementwise arccosine; NaN outside [-1, 1] (as PyTorch).
 *
 * @example
 * ```ts
 * import { acos, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(acos(tensor([1, -1, 2], { dtype: "float64" }))), [0, Math.PI, NaN]);
 * ```
 */
export const acos: (x: Tensor) => Tensor = unaryOp(acosPrim);

/**
 * Elementwise arctangent.
 *
 * @example
 * ```ts
 * import { atan, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(atan(tensor([0, Infinity], { dtype: "float64" }))), [0, Math.PI / 2]);
 * ```
 */
export const atan: (x: Tensor) => Tensor = unaryOp(atanPrim);

/**
 * Elementwise hyperbolic sine.
 *
 * @example
 * ```ts
 * import { sinh, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(sinh(tensor([0, -Infinity]))), [0, -Infinity]);
 * ```
 */
export const sinh: (x: Tensor) => Tensor = unaryOp(sinhPrim);

/**
 * Elementwise hyperbolic cosine.
 *
 * @example
 * ```ts
 * import { cosh, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(cosh(tensor([0, -Infinity]))), [1, Infinity]);
 * ```
 */
export const cosh: (x: Tensor) => Tensor = unaryOp(coshPrim);

/**
 * Elementwise base-2 logarithm.
 *
 * @example
 * ```ts
 * import { log2, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(log2(tensor([1, 8, 0.5, 0]))), [0, 3, -1, -Infinity]);
 * ```
 */
export const log2: (x: Tensor) => Tensor = unaryOp(log2Prim);

/**
 * Elementwise base-10 logarithm.
 *
 * @example
 * ```ts
 * import { log10, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(log10(tensor([1, 1000, 0.01], { dtype: "float64" }))), [0, 3, -2]);
 * ```
 */
export const log10: (x: Tensor) => Tensor = unaryOp(log10Prim);

/**
 * `e^x - 1`, elementwise, accurate near 0 (as `torch.expm1`).
 *
 * @example
 * ```ts
 * import { expm1, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(expm1(tensor([0, 1e-20, -Infinity], { dtype: "float64" }))), [0, 1e-20, -1]);
 * ```
 */
export const expm1: (x: Tensor) => Tensor = unaryOp(expm1Prim);

/**
 * `2^x`, elementwise.
 *
 * @example
 * ```ts
 * import { exp2, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(exp2(tensor([0, 3, -1]))), [1, 8, 0.5]);
 * ```
 */
export const exp2: (x: Tensor) => Tensor = unaryOp(exp2Prim);

/**
 * Rounds down, elementwise (int32 stays int32; the gradient is zero).
 *
 * @example
 * ```ts
 * import { floor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(floor(tensor([1.5, -1.5]))), [1, -2]);
 * ```
 */
export const floor: (x: Tensor) => Tensor = unaryOp(floorPrim);

/**
 * Rounds up, elementwise (int32 stays int32; the gradient is zero).
 *
 * @example
 * ```ts
 * import { ceil, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(ceil(tensor([1.5, -1.5]))), [2, -1]);
 * ```
 */
export const ceil: (x: Tensor) => Tensor = unaryOp(ceilPrim);

/**
 * Rounds to the nearest integer, halves to the even one (as `torch.round`;
 * int32 stays int32; the gradient is zero).
 *
 * @example
 * ```ts
 * import { round, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(round(tensor([0.5, 1.5, 2.5, -2.5, 2.6]))), [0, 2, 2, -2, 3]);
 * ```
 */
export const round: (x: Tensor) => Tensor = unaryOp(roundPrim);

/**
 * Rounds toward zero, elementwise (int32 stays int32; the gradient is zero).
 *
 * @example
 * ```ts
 * import { tensor, toArray, trunc } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(trunc(tensor([1.7, -1.7]))), [1, -1]);
 * ```
 */
export const trunc: (x: Tensor) => Tensor = unaryOp(truncPrim);

/**
 * The angle of the point `(b, a)`, elementwise with broadcasting, in
 * [-π, π] (as `torch.atan2(a, b)`, signed zeros included); int32 gives
 * float32.
 *
 * @example
 * ```ts
 * import { atan2, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t = atan2(tensor([1, 1, -0], { dtype: "float64" }), tensor([1, 0, -1], { dtype: "float64" }));
 * assert.deepEqual(toArray(t), [Math.PI / 4, Math.PI / 2, -Math.PI]);
 * ```
 */
export const atan2: (a: Operand, b: Operand) => Tensor = binaryOp(atan2Prim);

/**
 * `1 / sqrt(x)`, elementwise (as `torch.rsqrt`: the square root rounded,
 * then the quotient); int32 gives float32.
 *
 * @example
 * ```ts
 * import { rsqrt, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(rsqrt(tensor([4, 0, -1]))), [0.5, Infinity, NaN]);
 * ```
 */
export function rsqrt(x: Tensor): Tensor {
  using _op = userOp("rsqrt");
  checkTensor("rsqrt", x, "x");
  return div(1, sqrt(x));
}

/**
 * `1 / x`, elementwise; int32 gives float32 (as `torch.reciprocal`).
 *
 * @example
 * ```ts
 * import { reciprocal, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(reciprocal(tensor([2, -0, 0]))), [0.5, -Infinity, Infinity]);
 * ```
 */
export function reciprocal(x: Tensor): Tensor {
  using _op = userOp("reciprocal");
  checkTensor("reciprocal", x, "x");
  return div(1, x);
}

/**
 * -1, 0 or 1 by the sign of each element, in x's dtype. As `torch.sign`:
 * `sign(-0)` is 0 and `sign(NaN)` is 0; the gradient is zero.
 *
 * @example
 * ```ts
 * import { sign, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(sign(tensor([-2, 0, 3, NaN]))), [-1, 0, 1, 0]);
 * ```
 */
export const sign: (x: Tensor) => Tensor = unaryOp(signPrim);

/**
 * Limits each element to `[min, max]` (`min(max(x, min), max)`, as
 * `torch.clamp`): at least one bound; a NaN stays NaN; with `min > max`
 * every element is `max`. An int32 tensor stays int32 with integer bounds
 * and gives float32 with a fractional one. The gradient is PyTorch's: `g`
 * where `min <= x <= max` (bounds included), 0 elsewhere.
 *
 * @example
 * ```ts
 * import { clamp, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(clamp(tensor([-2, 0.5, 3]), { min: 0, max: 1 })), [0, 0.5, 1]);
 * assert.deepEqual(toArray(clamp(tensor([-2, 3]), { max: 1 })), [-2, 1]);
 * ```
 */
export function clamp(
  x: Tensor,
  options?: { min?: number; max?: number },
): Tensor {
  if (options === undefined) options = {};
  const fn = "clamp";
  checkOptions(fn, options, ["min", "max"]);
  checkTensor(fn, x, "x");
  const { min, max } = options;
  if (min === undefined && max === undefined) {
    throw new Error(
      `${fn}: at least one of min and max is required, got neither (x ${
        describe(x)
      })`,
    );
  }
  let dtype = x.dtype;
  for (const [name, v] of [["min", min], ["max", max]] as const) {
    if (v === undefined) continue;
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new Error(
        `${fn}: ${name} must be a number (not NaN), got ${describe(v)}`,
      );
    }
    if (x.dtype === "int32" && !Number.isInteger(v)) dtype = "float32";
    else if (x.dtype === "int32" && (v < -(2 ** 31) || v >= 2 ** 31)) {
      throw new Error(
        `${fn}: ${name} = ${v} is an integer outside int32's range [-2147483648, 2147483647], used with an int32 x (cast x with astype first)`,
      );
    }
  }
  return bind(clampPrim, [x], {
    min: min ?? -Infinity,
    max: max ?? Infinity,
    dtype,
  });
}

/**
 * 1 where an element is NaN, else 0 (int32, as `equal`).
 *
 * @example
 * ```ts
 * import { isNan, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(isNan(tensor([1, NaN, Infinity]))), [0, 1, 0]);
 * ```
 */
export function isNan(x: Tensor): Tensor {
  using _op = userOp("isNan");
  checkTensor("isNan", x, "x");
  return notEqual(x, x);
}

/**
 * 1 where an element is neither NaN nor ±Infinity, else 0 (int32).
 *
 * @example
 * ```ts
 * import { isFinite, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(isFinite(tensor([1, NaN, -Infinity]))), [1, 0, 0]);
 * ```
 */
export function isFinite(x: Tensor): Tensor {
  using _op = userOp("isFinite");
  checkTensor("isFinite", x, "x");
  return less(abs(x), Infinity);
}

/**
 * Logical and of two tensors (or numbers) with broadcasting: nonzero is
 * true (NaN too), the result int32 0/1.
 *
 * @example
 * ```ts
 * import { logicalAnd, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(logicalAnd(tensor([0, 2, NaN]), tensor([1, 1, 1]))), [0, 1, 1]);
 * ```
 */
export function logicalAnd(a: Operand, b: Operand): Tensor {
  using _op = userOp("logicalAnd");
  const [x, y] = operands("logicalAnd", a, b);
  return mul(notEqual(x, 0), notEqual(y, 0));
}

/**
 * Logical or of two tensors (or numbers) with broadcasting: nonzero is
 * true (NaN too), the result int32 0/1.
 *
 * @example
 * ```ts
 * import { logicalOr, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(logicalOr(tensor([0, 0, -1]), tensor([0, 3, 0]))), [0, 1, 1]);
 * ```
 */
export function logicalOr(a: Operand, b: Operand): Tensor {
  using _op = userOp("logicalOr");
  const [x, y] = operands("logicalOr", a, b);
  return maximum(notEqual(x, 0), notEqual(y, 0));
}

/**
 * Logical not: 1 where an element is 0, else 0 (int32; NaN is true, so
 * gives 0).
 *
 * @example
 * ```ts
 * import { logicalNot, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(logicalNot(tensor([0, -0, 2, NaN]))), [1, 1, 0, 0]);
 * ```
 */
export function logicalNot(x: Tensor): Tensor {
  using _op = userOp("logicalNot");
  checkTensor("logicalNot", x, "x");
  return equal(x, 0);
}

// ---------------------------------------------------------------------------
// remainders, floor division and other two-argument functions

/**
 * A binary primitive's forward with a kernel function per result dtype
 * (float32 arithmetic emulated step by step where PyTorch's kernel runs
 * in float32); `fn` names it in the integer division-by-zero error.
 */
function binaryByDtype(
  fn: string,
  kernels: {
    float32: (a: number, b: number) => number;
    float64: (a: number, b: number) => number;
    int32?: (a: number, b: number) => number;
  },
  dtypeRule: (a: DType, b: DType) => DType = promote,
): (inputs: Tensor[]) => Tensor {
  return (inputs) => {
    const dtype = dtypeRule(inputs[0].dtype, inputs[1].dtype);
    if (dtype === "int32" && inputs[1].data.includes(0)) {
      throw new Error(
        `${fn}: integer division by zero (b has a zero; as PyTorch, an int32 ${fn} by zero is an error)`,
      );
    }
    return binaryForward(kernels[dtype] ?? kernels.float64, () => dtype)(
      inputs,
    );
  };
}

const f = Math.fround;
/** PyTorch's remainder: the C remainder moved to the divisor's sign. */
const remainderOf =
  (round: (v: number) => number) => (a: number, b: number) => {
    const m = a % b;
    return m !== 0 && (b < 0) !== (m < 0) ? round(m + b) : m;
  };
/** c10's div_floor: the quotient of the exact remainder, floored, corrected to the nearest integer (`round`: the dtype's). */
const floorDivOf = (round: (v: number) => number) => (a: number, b: number) => {
  if (b === 0) return a / b;
  const m = a % b;
  let d = round(round(a - m) / b);
  if (m !== 0 && (b < 0) !== (m < 0)) d = round(d - 1);
  if (d === 0) return Math.sign(a / b) < 0 || Object.is(a / b, -0) ? -0 : 0;
  let fd = Math.floor(d);
  if (round(d - fd) > 0.5) fd += 1;
  return fd;
};
const id = (v: number) => v;
const intFloorDiv = (a: number, b: number) => {
  const q = Math.trunc(a / b);
  return (a < 0) !== (b < 0) && q * b !== a ? q - 1 : q;
};

// the remainder's derivatives: 1 in a, -floor(a / b) (fmod: -trunc) in b
const remainderVjp =
  (quot: (a: Tensor, b: Tensor) => Tensor) => ([a, b]: Tensor[]) => [
    (g: Tensor) => unbroadcast(g, a.shape),
    (g: Tensor) => unbroadcast(neg(mul(g, quot(a, b))), b.shape),
  ];
const remainderPrim: Primitive<Empty> = definePrimitive({
  name: "remainder",
  forward: binaryByDtype("remainder", {
    float32: remainderOf(f),
    float64: remainderOf(id),
    int32: remainderOf(id),
  }),
  // (the quotient of the floor division, as PyTorch's div(rounding_mode="floor"):
  // -3 // inf is -1, where floor(-3 / inf) is -0)
  vjp: remainderVjp((a, b) => floorDivide(a, b)),
  batch: broadcastBatch(() => remainderPrim),
});
const fmodPrim: Primitive<Empty> = definePrimitive({
  name: "fmod",
  forward: binaryByDtype("fmod", {
    float32: (a, b) => a % b,
    float64: (a, b) => a % b,
  }),
  vjp: remainderVjp((a, b) => trunc(div(a, b))),
  batch: broadcastBatch(() => fmodPrim),
});
const floorDividePrim: Primitive<Empty> = definePrimitive({
  name: "floorDivide",
  forward: binaryByDtype("floorDivide", {
    float32: floorDivOf(f),
    float64: floorDivOf(id),
    int32: intFloorDiv,
  }),
  // piecewise constant: zero derivatives (as floor's)
  vjp: ([a, b]) => [
    (g) => unbroadcast(mul(g, 0), a.shape),
    (g) => unbroadcast(mul(g, 0), b.shape),
  ],
  batch: broadcastBatch(() => floorDividePrim),
});

/**
 * The remainder of `a / b` with the sign of `b` (Python's `%`, as
 * `torch.remainder` and `jnp.remainder`): `a - floor(a / b) * b`, from the
 * exact C remainder, elementwise with broadcasting. int32 stays int32 (a
 * zero divisor is an error, as PyTorch's); derivatives 1 in a and
 * `-floor(a / b)` in b.
 *
 * @example
 * ```ts
 * import { remainder, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(remainder(tensor([5, -5, 5, -5], { dtype: "int32" }), tensor([3, 3, -3, -3], { dtype: "int32" }))), [2, 1, -1, -2]);
 * assert.deepEqual(toArray(remainder(tensor([5.5, -5.5]), 2)), [1.5, 0.5]);
 * ```
 */
export const remainder: (a: Operand, b: Operand) => Tensor = binaryOp(
  remainderPrim,
);

/**
 * The C remainder of `a / b`, with the sign of `a` (as `torch.fmod` and
 * `jnp.fmod`): `a - trunc(a / b) * b`, exact. int32 stays int32 (a zero
 * divisor is an error, as PyTorch's). Derivatives 1 in a and
 * `-trunc(a / b)` in b.
 *
 * @example
 * ```ts
 * import { fmod, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(fmod(tensor([5.5, -5.5]), 2)), [1.5, -1.5]);
 * ```
 */
export const fmod: (a: Operand, b: Operand) => Tensor = binaryOp(fmodPrim);

/**
 * `floor(a / b)`, elementwise with broadcasting (as `torch.floor_divide`
 * and `jnp.floor_divide`; for floats c10's algorithm from the exact
 * remainder, so `floorDivide(a, b) * b + remainder(a, b)` is `a`). int32
 * stays int32 (a zero divisor is an error, as PyTorch's); the derivatives
 * are zero.
 *
 * @example
 * ```ts
 * import { floorDivide, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(floorDivide(tensor([7, -7], { dtype: "int32" }), 2)), [3, -4]);
 * assert.deepEqual(toArray(floorDivide(tensor([7.5, -7.5]), 2)), [3, -4]);
 * ```
 */
export const floorDivide: (a: Operand, b: Operand) => Tensor = binaryOp(
  floorDividePrim,
);

const floatPair = (a: DType, b: DType) => floatOf(promote(a, b));
/** PyTorch's logaddexp kernel, each step rounded to the dtype: equal infinities stay, else max + log1p(exp(-|a - b|)). */
const logaddexpOf = (r: (v: number) => number) => (a: number, b: number) =>
  (a === Infinity || a === -Infinity) && a === b
    ? a
    : r(Math.max(a, b) + r(Math.log1p(r(Math.exp(-r(Math.abs(a - b)))))));
const logaddexpPrim: Primitive<Empty> = definePrimitive({
  name: "logaddexp",
  // as PyTorch's kernel: equal infinities stay, else max + log1p(exp(-|a - b|))
  forward: binaryByDtype("logaddexp", {
    float32: logaddexpOf(f),
    float64: logaddexpOf(id),
  }, floatPair),
  vjp: ([a, b]) => [
    (g) => unbroadcast(div(g, add(1, exp(sub(b, a)))), a.shape),
    (g) => unbroadcast(div(g, add(1, exp(sub(a, b)))), b.shape),
  ],
  batch: broadcastBatch(() => logaddexpPrim),
});

/**
 * `log(exp(a) + exp(b))` without overflow, elementwise with broadcasting
 * (as `torch.logaddexp` and `jnp.logaddexp`: `max(a, b) + log1p(exp(-|a -
 * b|))`, equal infinities kept); derivatives `1 / (1 + exp(b - a))` and
 * `1 / (1 + exp(a - b))`, a half each at a tie. int32 gives float32.
 *
 * @example
 * ```ts
 * import { logaddexp, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(logaddexp(tensor([1000, -Infinity], { dtype: "float64" }), tensor([1000, 0], { dtype: "float64" }))), [1000 + Math.LN2, 0]);
 * ```
 */
export const logaddexp: (a: Operand, b: Operand) => Tensor = binaryOp(
  logaddexpPrim,
);

// PyTorch 1.13's d/dx: xlogy(t, y) (0 where t is 0), and 0 where x is 0 and
// y <= 0, where log(y) is not a number or not finite (one where: a second
// would send xlogy(t, y) a zero cotangent, and 0 · t/y is NaN at y = 0 where
// PyTorch's second derivative is t/y); d/dy = x/y
const xlogyDx = (t: Tensor, x: Tensor, y: Tensor) =>
  where(mul(equal(x, 0), lessEqual(y, 0)), 0, xlogy(t, y));
const xlogyDy = (t: Tensor, x: Tensor, y: Tensor) => div(mul(t, x), y);

const xlogyPrim: Primitive<Empty> = definePrimitive({
  name: "xlogy",
  forward: binaryByDtype("xlogy", {
    float32: (x, y) => Number.isNaN(y) ? NaN : x === 0 ? 0 : x * f(Math.log(y)),
    float64: (x, y) => Number.isNaN(y) ? NaN : x === 0 ? 0 : x * Math.log(y),
  }, floatPair),
  vjp: ([x, y]) => [
    (g) => unbroadcast(xlogyDx(g, x, y), x.shape),
    (g) => unbroadcast(xlogyDy(g, x, y), y.shape),
  ],
  // the same partials: the transpose of the VJP would take xlogy(t, y) at a
  // zero cotangent, 0 where x is not (log 0 = -inf lost)
  jvp: ([x, y], [tx, ty], out) => {
    const dx = tx && xlogyDx(tx, x, y), dy = ty && xlogyDy(ty, x, y);
    return broadcastTo(
      dx && dy ? add(dx, dy) : (dx ?? dy)!,
      out.shape as number[],
    );
  },
  batch: broadcastBatch(() => xlogyPrim),
});

/**
 * `x * log(y)`, 0 where x is 0 (unless y is NaN), elementwise with
 * broadcasting (as `torch.xlogy` and `jax.scipy.special.xlogy`: entropy
 * terms without `0 * log 0 = NaN`); derivatives `log(y)` (0 where x is 0
 * and y <= 0, and 0 where the cotangent is 0, as PyTorch 1.13's; JAX's is
 * `log(y)` there too) and `x / y`. int32 gives float32.
 *
 * @example
 * ```ts
 * import { tensor, toArray, xlogy } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(xlogy(tensor([0, 2], { dtype: "float64" }), tensor([0, Math.E], { dtype: "float64" }))), [0, 2]);
 * ```
 */
export const xlogy: (x: Operand, y: Operand) => Tensor = binaryOp(xlogyPrim);

const hypotPrim: Primitive<Empty> = definePrimitive({
  name: "hypot",
  forward: binaryForward(Math.hypot, floatPair),
  vjp: ([a, b], r) => [
    (g) => unbroadcast(mul(g, div(a, r)), a.shape),
    (g) => unbroadcast(mul(g, div(b, r)), b.shape),
  ],
  batch: broadcastBatch(() => hypotPrim),
});

/**
 * `sqrt(a² + b²)` without overflow or underflow, elementwise with
 * broadcasting (as `torch.hypot` and `jnp.hypot`); derivatives `a / r` and
 * `b / r`. int32 gives float32.
 *
 * @example
 * ```ts
 * import { hypot, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(hypot(tensor([3, 3e30]), tensor([4, 4e30]))), [5, Math.fround(5e30)]);
 * ```
 */
export const hypot: (a: Operand, b: Operand) => Tensor = binaryOp(hypotPrim);

/** Options of {@linkcode isclose} and {@linkcode allclose}. */
export interface IscloseOptions {
  /** Relative tolerance (of |b|). Default 1e-5. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-8. */
  atol?: number;
  /** Two NaNs count as close. Default false. */
  equalNan?: boolean;
}

/** {@linkcode isclose}, its errors naming `fn`. */
function iscloseAs(
  fn: string,
  a: Operand,
  b: Operand,
  options?: IscloseOptions,
): Tensor {
  const o: IscloseOptions = checkOptions(fn, options ?? {}, [
    "rtol",
    "atol",
    "equalNan",
  ]);
  const [x, y] = operands(fn, a, b);
  const tol = (name: string, v: unknown, d: number): number => {
    if (v === undefined) return d;
    if (typeof v !== "number" || !(v >= 0)) {
      throw new Error(
        `${fn}: options.${name} must be a number >= 0, got ${describe(v)}`,
      );
    }
    return v;
  };
  const rtol = tol("rtol", o.rtol, 1e-5), atol = tol("atol", o.atol, 1e-8);
  const equalNan = o.equalNan ?? false;
  if (typeof equalNan !== "boolean") {
    throw new Error(
      `${fn}: options.equalNan must be a boolean, got ${describe(equalNan)}`,
    );
  }
  // equal (infinities of one sign too), or finite and within the bound; the
  // bound in floats, int32 converted (as PyTorch's and JAX's: an int32
  // difference or |-2^31| would wrap around); no bound: equal (as PyTorch's)
  const dtype = floatOf(promote(x.dtype, y.dtype));
  const [xf, yf] = [astype(x, dtype), astype(y, dtype)];
  const near = logicalAnd(
    logicalAnd(isFinite(xf), isFinite(yf)),
    lessEqual(abs(sub(xf, yf)), add(atol, mul(rtol, abs(yf)))),
  );
  const close = rtol === 0 && atol === 0
    ? equal(x, y)
    : logicalOr(equal(x, y), near);
  return equalNan ? logicalOr(close, logicalAnd(isNan(x), isNan(y))) : close;
}

/**
 * 1 where `a` and `b` are close, else 0 (int32, with broadcasting), as
 * `torch.isclose` and `jnp.isclose`: `|a - b| <= atol + rtol · |b|` (not
 * symmetric: b is the reference), equal values (infinities included)
 * close, NaN close to nothing unless `equalNan`. int32 differences are
 * taken in float32 (as theirs), so the ends of int32's range do not wrap;
 * with both tolerances 0, close is equal.
 *
 * @example
 * ```ts
 * import { isclose, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([1, 1.001, Infinity, NaN]);
 * assert.deepEqual(toArray(isclose(a, tensor([1, 1, Infinity, NaN]))), [1, 0, 1, 0]);
 * assert.deepEqual(toArray(isclose(a, tensor([1, 1, 1, NaN]), { rtol: 1e-2, equalNan: true })), [1, 1, 0, 1]);
 * ```
 */
export function isclose(
  a: Operand,
  b: Operand,
  options?: IscloseOptions,
): Tensor {
  using _op = userOp("isclose");
  return iscloseAs("isclose", a, b, options);
}

/**
 * 1 (an int32 scalar) when every pair of `a` and `b` is close (see
 * {@linkcode isclose}), else 0, as `torch.allclose` and `jnp.allclose`
 * (a tensor, so it also works inside `jit`; `item` reads it).
 *
 * @example
 * ```ts
 * import { allclose, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(allclose(tensor([1, 2]), tensor([1, 2.000001]))), 1);
 * ```
 */
export function allclose(
  a: Operand,
  b: Operand,
  options?: IscloseOptions,
): Tensor {
  using _op = userOp("allclose");
  const c = iscloseAs("allclose", a, b, options);
  return equal(sum(equal(c, 0)), 0);
}

/** Options of {@linkcode nanToNum}. */
export interface NanToNumOptions {
  /** What NaN becomes. Default 0. */
  nan?: number;
  /** What +Infinity becomes. Default the dtype's largest finite value. */
  posinf?: number;
  /** What -Infinity becomes. Default the dtype's most negative finite value. */
  neginf?: number;
}

/**
 * `x` with NaN and infinities replaced by finite numbers, as
 * `torch.nan_to_num` and `jnp.nan_to_num`; the gradient flows where `x`
 * was kept (as PyTorch's). int32 passes through.
 *
 * @example
 * ```ts
 * import { nanToNum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, NaN, Infinity, -Infinity]);
 * assert.deepEqual(toArray(nanToNum(x, { nan: 0, posinf: 9, neginf: -9 })), [1, 0, 9, -9]);
 * assert.equal(nanToNum(x).data[2], 3.4028234663852886e38);
 * ```
 */
export function nanToNum(x: Tensor, options?: NanToNumOptions): Tensor {
  using _op = userOp("nanToNum");
  const fn = "nanToNum";
  checkTensor(fn, x, "x");
  const o: NanToNumOptions = checkOptions(fn, options ?? {}, [
    "nan",
    "posinf",
    "neginf",
  ]);
  for (const k of ["nan", "posinf", "neginf"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "number") {
      throw new Error(
        `${fn}: options.${k} must be a number, got ${describe(o[k])}`,
      );
    }
  }
  if (x.dtype === "int32") return x;
  const big = x.dtype === "float32" ? 3.4028234663852886e38 : Number.MAX_VALUE;
  const y = where(isNan(x), o.nan ?? 0, x);
  return where(
    equal(x, Infinity),
    o.posinf ?? big,
    where(equal(x, -Infinity), o.neginf ?? -big, y),
  );
}
