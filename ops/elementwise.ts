/**
 * Elementwise ops: arithmetic with NumPy broadcasting and weak typing of
 * plain numbers, unary math, comparisons, `where` and `astype`. Each
 * primitive's forward kernel call and VJP (and JVP where it has one) sit
 * together; broadcasting's VJP is the one shared `unbroadcast`.
 *
 * @module
 */
import {
  allocData,
  checkDType,
  checkTensor,
  describe,
  type DType,
  fromData,
  full,
  isTensor,
  promote,
  sizeOf,
  type Tensor,
  type TypedArray,
  zerosLike,
} from "./tensor.ts";
import {
  type BatchRule,
  bind,
  bindRule,
  definePrimitive,
  type Empty,
  type Primitive,
  type Rule,
} from "./trace.ts";
import { cast } from "./core_prims.ts";
import { userOp } from "./debug.ts";
import { fmt } from "./_args.ts";
import {
  alignBatched,
  batchFront,
  batchSize,
  broadcastTo,
  unbroadcast,
} from "./structural.ts";
import * as ew from "./kernels/elementwise.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";

/**
 * A tensor or a plain number: a weakly typed scalar constant, as in JAX and
 * PyTorch. With a float tensor the number takes its dtype; with an int32
 * tensor an integer-valued number stays int32 and any other number (0.5,
 * NaN, Infinity) gives float32: `mul(int32 [1, 2], 0.5)` is float32
 * `[0.5, 1]`. Two numbers give float32.
 */
export type Operand = Tensor | number;

/** Comparison kinds of the `compare` primitive. */
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

// ---------------------------------------------------------------------------
// helpers shared by the rules

/** The float dtype an op on `d` computes in (int32 promotes to float32). */
export function floatOf(d: DType): DType {
  return d === "int32" ? "float32" : d;
}

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

/**
 * Why shapes `a` and `b` do not broadcast, as PyTorch names it: the sizes
 * and the axis of the broadcast shape (counted from the left; the last such
 * axis), e.g. `a has size 3 and b size 4 at axis 2`. @internal
 */
export function broadcastMismatch(
  a: readonly number[],
  b: readonly number[],
  nameA = "a",
  nameB = "b",
): string {
  const n = Math.max(a.length, b.length);
  for (let i = n - 1; i >= 0; i--) {
    const x = a[i - n + a.length] ?? 1, y = b[i - n + b.length] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      return `${nameA} has size ${x} and ${nameB} size ${y} at axis ${i}`;
    }
  }
  return "";
}

/** `v` as a tensor, or null for a number (see {@linkcode Operand}); anything else throws. */
function operand(fn: string, v: unknown, name: string): Tensor | null {
  if (typeof v === "number") return null;
  if (!isTensor(v)) {
    throw new Error(
      `${fn}: ${name} must be a Tensor or a number, got ${describe(v)}`,
    );
  }
  return v;
}

/** Turns numbers into weakly typed scalars (see {@linkcode Operand}) and checks broadcasting. */
export function operands(fn: string, a: Operand, b: Operand): [Tensor, Tensor] {
  const ta = operand(fn, a, "a"), tb = operand(fn, b, "b");
  const x = ta ?? full([], a as number, {
    dtype: tb ? weakDType(fn, "a", a as number, tb.dtype) : "float32",
  });
  const y = tb ?? full([], b as number, {
    dtype: ta ? weakDType(fn, "b", b as number, ta.dtype) : "float32",
  });
  if (!broadcastShapes(x.shape, y.shape)) {
    throw new Error(
      `${fn}: cannot broadcast a ${fmt(x.shape)} with b ${fmt(y.shape)} (${
        broadcastMismatch(x.shape, y.shape)
      })`,
    );
  }
  return [x, y];
}

export function unaryForward(
  f: (v: number) => number,
  keepInt = false,
): (inputs: Tensor[]) => Tensor {
  return ([x]) => {
    const dtype = keepInt ? x.dtype : floatOf(x.dtype);
    return fromData(
      ew.unary(inType(x, dtype), allocData(dtype, x.data.length), f),
      x.shape,
    );
  };
}

export function binaryForward(
  f: (a: number, b: number) => number,
  dtypeRule: (a: DType, b: DType) => DType = promote,
  op?: ew.ArithOp,
): (inputs: Tensor[]) => Tensor {
  return ([a, b]) => {
    const shape = ew.broadcastShapes(a.shape, b.shape)!;
    // same-shape float32 arithmetic: the WebAssembly kernel
    const fast = op && ew.arithF32(op, a.data, b.data, sizeOf(shape));
    if (fast) return fromData(fast, shape);
    const dtype = dtypeRule(a.dtype, b.dtype);
    const out = allocData(dtype, sizeOf(shape));
    // the dtype it computes in: a float result's (int32 / int32 divides
    // float32 operands, as PyTorch), else the promoted inputs'
    const t = dtype === "int32" ? promote(a.dtype, b.dtype) : dtype;
    return fromData(
      ew.binary(inType(a, t), a.shape, inType(b, t), b.shape, out, shape, f),
      shape,
    );
  };
}

/**
 * x's numbers in the dtype an op computes in: an int32 x in a float32 op is
 * rounded to float32 first (as PyTorch converts it; an integer past 2^24
 * changes), so the op computes on what its float32 operand holds.
 */
function inType(x: Tensor, dtype: DType): TypedArray {
  return x.dtype === "int32" && dtype === "float32"
    ? new Float32Array(x.data)
    : x.data;
}

/**
 * An elementwise unary primitive. Its Jacobian is diagonal, hence symmetric,
 * so its JVP is its VJP closure applied to the tangent.
 */
export function unaryRule(
  name: string,
  f: (v: number) => number,
  vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor,
  keepInt = false,
): Rule<Empty> {
  const rule: Rule<Empty> = {
    name,
    forward: unaryForward(f, keepInt),
    scalar: f,
    vjp: ([x], y) => [(g) => vjp(g, x, y)],
    jvp: ([x], [t], y) => vjp(t!, x, y),
    // elementwise: the batch axis stays where it is
    batch: ([x], [d]) => [bindRule(rule, [x], {}), d],
  };
  return rule;
}

/**
 * The batching rule of a broadcasting primitive: one call on the inputs
 * lined up by {@linkcode alignBatched} (or as they are, when all are batched
 * along the same axis with the same rank).
 */
export function broadcastBatch<P>(prim: () => Primitive<P>): BatchRule<P> {
  return (vals, dims, params) => {
    const d = dims[0];
    const same = d !== null &&
      dims.every((e, i) =>
        e === d && vals[i].shape.length === vals[0].shape.length
      );
    return same
      ? [bind(prim(), vals, params), d]
      : [bind(prim(), alignBatched(vals, dims), params), 0];
  };
}

const compareFns: Record<CompareOp, (a: number, b: number) => number> = {
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
};

/** The public op of a unary primitive: checks its argument and binds. */
export function unaryOp(prim: Primitive<Empty>) {
  return (x: Tensor): Tensor =>
    bind(prim, [checkTensor(prim.name, x, "x")], {});
}

/** The public op of a broadcasting binary primitive (numbers weakly typed). */
export function binaryOp(prim: Primitive<Empty>) {
  return (a: Operand, b: Operand): Tensor =>
    bind(prim, operands(prim.name, a, b), {});
}

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
  return bind(powPrim, [x, y], {});
}

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
  const dtype = resultType(x.dtype, y.dtype);
  const flip = (t: Tensor) =>
    reverseOrder(t.dtype === dtype ? t : astype(t, dtype));
  return reverseOrder(maximum(flip(x), flip(y)));
}

/**
 * A map that reverses the order of `t`'s values and is exact in its dtype,
 * so that a minimum is the flipped maximum of the flipped values: `-t` for
 * the floats, `-1 - t` (bitwise not) for int32, whose `-t` overflows at
 * -2^31.
 */
export function reverseOrder(t: Tensor): Tensor {
  return t.dtype === "int32" ? sub(-1, t) : neg(t);
}

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

/** The public comparison `name`: errors name it, not the `compare` primitive. */
function compareOp(name: string, op: CompareOp) {
  return (a: Operand, b: Operand): Tensor => {
    using _op = userOp(name);
    return bind(comparePrim, operands(name, a, b), { op });
  };
}

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
  const ab = broadcastShapes(x.shape, y.shape)!;
  if (!broadcastShapes(cond.shape, ab)) {
    throw new Error(
      `${fn}: cannot broadcast cond ${fmt(cond.shape)} with a ${
        fmt(x.shape)
      } and b ${fmt(y.shape)} (${
        broadcastMismatch(cond.shape, ab, "cond", "a with b")
      })`,
    );
  }
  return bind(wherePrim, [cond, x, y], {});
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
  return cast(x, dtype);
}

/**
 * The dtype of a binary op on `a` and `b`, each a dtype, a tensor or a plain
 * number: dtypes and tensors promote float64 > float32 > int32, and a number
 * is weakly typed as in the ops (see {@linkcode Operand}) and as a Python
 * number in `torch.result_type`: with an int32 tensor an integer gives int32
 * and any other number float32, with a float tensor that tensor's dtype;
 * two numbers give float32.
 *
 * @example
 * ```ts
 * import { resultType, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resultType("int32", "float64"), "float64");
 * assert.equal(resultType(tensor([1, 2], { dtype: "int32" }), 0.5), "float32");
 * assert.equal(resultType(tensor([1, 2], { dtype: "int32" }), 2), "int32");
 * ```
 */
export function resultType(
  a: DType | Operand,
  b: DType | Operand,
): DType {
  const strong = (v: unknown, name: string): DType | null => {
    if (typeof v === "string") {
      if (v === "float32" || v === "float64" || v === "int32") return v;
    } else if (typeof v === "number") return null;
    else if (isTensor(v)) return v.dtype;
    throw new Error(
      `resultType: ${name} must be "float32", "float64", "int32", a Tensor or a number, got ${
        typeof v === "string" ? JSON.stringify(v) : describe(v)
      }`,
    );
  };
  const da = strong(a, "a"), db = strong(b, "b");
  if (da && db) return promote(da, db);
  if (da) return weakDType("resultType", "b", b as number, da);
  if (db) return weakDType("resultType", "a", a as number, db);
  return "float32";
}

/*
 * erfScalar follows fdlibm's s_erf.c (as in FreeBSD's msun and openlibm),
 * whose notice reads:
 *
 * ====================================================
 * Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
 *
 * Developed at SunPro, a Sun Microsystems, Inc. business.
 * Permission to use, copy, modify, and distribute this
 * software is freely granted, provided that this notice
 * is preserved.
 * ====================================================
 */
// erx = (float)0.84506291151, erf(1) to 24 bits
const erx = 8.45062911510467529297e-01;
// erf on [0, 0.84375): x + x·pp(x²)/qq(x²)
const efx = 1.28379167095512586316e-01,
  efx8 = 1.02703333676410069053e+00,
  pp0 = 1.28379167095512558561e-01,
  pp1 = -3.25042107247001499370e-01,
  pp2 = -2.84817495755985104766e-02,
  pp3 = -5.77027029648944159157e-03,
  pp4 = -2.37630166566501626084e-05,
  qq1 = 3.97917223959155352819e-01,
  qq2 = 6.50222499887672944485e-02,
  qq3 = 5.08130628187576562776e-03,
  qq4 = 1.32494738004321644526e-04,
  qq5 = -3.96022827877536812320e-06;
// erf on [0.84375, 1.25): erx + pa(s)/qa(s), s = |x| - 1
const pa0 = -2.36211856075265944077e-03,
  pa1 = 4.14856118683748331666e-01,
  pa2 = -3.72207876035701323847e-01,
  pa3 = 3.18346619901161753674e-01,
  pa4 = -1.10894694282396677476e-01,
  pa5 = 3.54783043256182359371e-02,
  pa6 = -2.16637559486879084300e-03,
  qa1 = 1.06420880400844228286e-01,
  qa2 = 5.40397917702171048937e-01,
  qa3 = 7.18286544141962662868e-02,
  qa4 = 1.26171219808761642112e-01,
  qa5 = 1.36370839120290507362e-02,
  qa6 = 1.19844998467991074170e-02;
// erfc on [1.25, 1/0.35): exp(-x² - 0.5625 + ra(s)/sa(s)) / x, s = 1/x²
const ra0 = -9.86494403484714822705e-03,
  ra1 = -6.93858572707181764372e-01,
  ra2 = -1.05586262253232909814e+01,
  ra3 = -6.23753324503260060396e+01,
  ra4 = -1.62396669462573470355e+02,
  ra5 = -1.84605092906711035994e+02,
  ra6 = -8.12874355063065934246e+01,
  ra7 = -9.81432934416914548592e+00,
  sa1 = 1.96512716674392571292e+01,
  sa2 = 1.37657754143519042600e+02,
  sa3 = 4.34565877475229228821e+02,
  sa4 = 6.45387271733267880336e+02,
  sa5 = 4.29008140027567833386e+02,
  sa6 = 1.08635005541779435134e+02,
  sa7 = 6.57024977031928170135e+00,
  sa8 = -6.04244152148580987438e-02;
// erfc on [1/0.35, 28) (erf needs it up to 6 only): as above with rb/sb
const rb0 = -9.86494292470009928597e-03,
  rb1 = -7.99283237680523006574e-01,
  rb2 = -1.77579549177547519889e+01,
  rb3 = -1.60636384855821916062e+02,
  rb4 = -6.37566443368389627722e+02,
  rb5 = -1.02509513161107724954e+03,
  rb6 = -4.83519191608651397019e+02,
  sb1 = 3.03380607434824582924e+01,
  sb2 = 3.25792512996573918826e+02,
  sb3 = 1.53672958608443695994e+03,
  sb4 = 3.19985821950859553908e+03,
  sb5 = 2.55305040643316442583e+03,
  sb6 = 4.74528541206955367215e+02,
  sb7 = -2.24409524465858183362e+01;
// a double and its two 32-bit words, for erfScalar's truncation of |x|
const erfF64 = new Float64Array(1);
const erfU32 = new Uint32Array(erfF64.buffer);
// the index of the low word (0 on little-endian machines)
const erfLo = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

/**
 * The error function to double precision (under 1 ulp, as glibc's and
 * PyTorch's float64 erf), by fdlibm's s_erf.c: rational approximations
 * of erf on |x| < 0.84375 and of erf(x) - erx on [0.84375, 1.25); beyond,
 * 1 - erfc(x) with erfc(x) = exp(-x² - 0.5625 + R(1/x²)/S(1/x²)) / x (one
 * pair R/S below 1/0.35, another up to 6), ±1 from |x| ≥ 6.
 */
export function erfScalar(x: number): number {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax < 0.84375) {
    if (ax < 2 ** -28) {
      // 8x first so that a subnormal x keeps its bits
      return ax < 2 ** -1015 ? 0.125 * (8 * x + efx8 * x) : x + efx * x;
    }
    const z = x * x;
    const r = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)));
    const s = 1 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))));
    return x + x * (r / s);
  }
  if (ax < 1.25) {
    const s = ax - 1;
    const P = pa0 +
      s * (pa1 + s * (pa2 + s * (pa3 + s * (pa4 + s * (pa5 + s * pa6)))));
    const Q = 1 +
      s * (qa1 + s * (qa2 + s * (qa3 + s * (qa4 + s * (qa5 + s * qa6)))));
    return x > 0 ? erx + P / Q : -erx - P / Q;
  }
  if (ax >= 6) return x > 0 ? 1 : -1;
  const s = 1 / (ax * ax);
  let R: number, S: number;
  // fdlibm's test of |x| < 1/0.35 on the high word (0x4006DB6E)
  if (ax < 2.8571434020996094) {
    const r5 = ra5 + s * (ra6 + s * ra7);
    R = ra0 + s * (ra1 + s * (ra2 + s * (ra3 + s * (ra4 + s * r5))));
    const s5 = sa5 + s * (sa6 + s * (sa7 + s * sa8));
    S = 1 + s * (sa1 + s * (sa2 + s * (sa3 + s * (sa4 + s * s5))));
  } else {
    R = rb0 +
      s * (rb1 + s * (rb2 + s * (rb3 + s * (rb4 + s * (rb5 + s * rb6)))));
    const s5 = sb5 + s * (sb6 + s * sb7);
    S = 1 + s * (sb1 + s * (sb2 + s * (sb3 + s * (sb4 + s * s5))));
  }
  // z: |x| with its low 32 bits cleared, so that z·z is exact and
  // (z - x)(z + x) the small rest of -x²: exp(-x²) without x²'s rounding error
  erfF64[0] = ax;
  erfU32[erfLo] = 0;
  const z = erfF64[0];
  const r = Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + R / S);
  return x > 0 ? 1 - r / ax : r / ax - 1;
}

/**
 * `a ** b` as C's `pow` (and so PyTorch): 1 for `1 ** NaN` and
 * `(-1) ** ±Infinity`, where `Math.pow` gives NaN.
 */
function powC(a: number, b: number): number {
  return a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b);
}

/**
 * int32 a^b as PyTorch's integer pow: by squaring, each product wrapping
 * modulo 2^32 as int32 multiplication does (a float64 power past 2^53 would
 * lose the low bits); a negative b gives a^b truncated toward 0 (1, ±1 for
 * a = -1, else 0).
 */
function intPow(a: number, b: number): number {
  if (b < 0) return a === 1 ? 1 : a === -1 ? (b & 1 ? -1 : 1) : 0;
  let r = 1;
  for (let base = a, e = b; e > 0; e >>>= 1) {
    if (e & 1) r = Math.imul(r, base);
    base = Math.imul(base, base);
  }
  return r;
}

/** `x <= 0 ? 0 : g` (g and x of one shape; a NaN x passes g, as PyTorch). */
function reluMask(g: Tensor, x: Tensor): Tensor {
  return bind(reluMaskPrim, [g, x], {});
}

function powOp(a: Tensor, b: Tensor): Tensor {
  return bind(powPrim, [a, b], {});
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

const negPrim: Primitive<Empty> = definePrimitive(
  { ...unaryRule("neg", (v) => -v, (g) => neg(g), true), simd: "neg" },
);

// d e^x = e^x
const expPrim: Primitive<Empty> = definePrimitive(
  unaryRule("exp", Math.exp, (g, _x, y) => mul(g, y)),
);

// d log x = 1/x
const logPrim: Primitive<Empty> = definePrimitive(
  unaryRule("log", Math.log, (g, x) => div(g, x)),
);

// d log(1+x) = 1/(1+x)
export const log1pPrim: Primitive<Empty> = definePrimitive(
  unaryRule("log1p", Math.log1p, (g, x) => div(g, add(x, 1))),
);

// d erf x = 2/√π e^(-x²)
export const erfPrim: Primitive<Empty> = definePrimitive(
  unaryRule(
    "erf",
    erfScalar,
    (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))),
  ),
);

// 1/(2√x)
export const sqrtPrim: Primitive<Empty> = definePrimitive(
  {
    ...unaryRule("sqrt", Math.sqrt, (g, _x, y) => div(g, mul(y, 2))),
    // float32 sqrt is correctly rounded, as the double one rounded to float32
    simd: "sqrt",
  },
);

// d|x| = sign(x), 0 at 0 as PyTorch
const absPrim: Primitive<Empty> = definePrimitive(
  {
    ...unaryRule(
      "abs",
      Math.abs,
      (g, x) => mul(g, sub(greater(x, 0), less(x, 0))),
      true,
    ),
    simd: "abs",
  },
);

// 1 - tanh²
const tanhPrim: Primitive<Empty> = definePrimitive(
  unaryRule("tanh", Math.tanh, (g, _x, y) => mul(g, sub(1, square(y)))),
);

// σ(1 - σ)
const sigmoidPrim: Primitive<Empty> = definePrimitive(
  unaryRule(
    "sigmoid",
    // one exp: e^-|v| is e^-v for v >= 0 and e^v below (the same values)
    (v) => {
      const e = Math.exp(-Math.abs(v));
      return v >= 0 ? 1 / (1 + e) : e / (1 + e);
    },
    (g, _x, y) => mul(g, mul(y, sub(1, y))),
  ),
);

const reluPrim: Primitive<Empty> = definePrimitive({
  name: "relu",
  // (no `scalar`: a fused JavaScript loop would branch per element, while
  // the WebAssembly kernel is branch-free: 5x faster on random signs)
  forward: ([x]) => fromData(ew.relu(x.data), x.shape),
  // d relu = 0 where x <= 0, 1 elsewhere (0 at 0, and 1 at NaN, as
  // PyTorch's threshold_backward). The mask reads the output y (y <= 0
  // exactly where x <= 0, and y is NaN where x is), so that
  // under jit nothing but relu reads x, and relu fuses into the kernel that
  // makes x (conv2d's epilogue), and its mask into max pooling's gradient.
  vjp: (_, y) => [(g) => reluMask(g, y)],
  jvp: (_, [t], y) => reluMask(t!, y),
  batch: ([x], [d]) => [bind(reluPrim, [x], {}), d],
});

// 0 where x <= 0, else g: relu's VJP as one pass. Linear in g, so its VJP
// and JVP in g are itself; flat in x (a mask), so none in x.
const reluMaskPrim: Primitive<Empty> = definePrimitive({
  name: "reluMask",
  forward: ([g, x]) => fromData(ew.reluMask(g.data, x.data), g.shape),
  vjp: ([, x]) => [(ct) => reluMask(ct, x), null],
  jvp: ([g, x], [t]) => t ? reluMask(t, x) : zerosLike(g),
  // g and x have one shape: the same batch axis, else both to the front
  batch: ([g, x], [dg, dx]) => {
    if (dg === dx) return [bind(reluMaskPrim, [g, x], {}), dg];
    const b = batchSize([g, x], [dg, dx]);
    const gf = batchFront(g, dg, b), xf = batchFront(x, dx, b);
    return [bind(reluMaskPrim, [gf, xf], {}), 0];
  },
});

// the arithmetic of one element (the loops' and fusion's, see Rule.scalar)
const plus = (a: number, b: number) => a + b;
const minus = (a: number, b: number) => a - b;
const times = (a: number, b: number) => a * b;
const over = (a: number, b: number) => a / b;
const larger = (a: number, b: number) => (a > b || a !== a ? a : b);

const addPrim: Primitive<Empty> = definePrimitive({
  name: "add",
  forward: binaryForward(plus, promote, "add"),
  scalar: plus,
  simd: "add",
  vjp: (
    [a, b],
  ) => [(g) => unbroadcast(g, a.shape), (g) => unbroadcast(g, b.shape)],
  jvp: (_, [ta, tb], y) =>
    ta && tb ? add(ta, tb) : broadcastTo((ta ?? tb)!, y.shape as number[]),
  batch: broadcastBatch(() => addPrim),
});

const subPrim: Primitive<Empty> = definePrimitive({
  name: "sub",
  forward: binaryForward(minus, promote, "sub"),
  scalar: minus,
  simd: "sub",
  vjp: ([a, b]) => [
    (g) => unbroadcast(g, a.shape),
    (g) => unbroadcast(neg(g), b.shape),
  ],
  jvp: (_, [ta, tb], y) =>
    ta && tb ? sub(ta, tb) : broadcastTo(ta ?? neg(tb!), y.shape as number[]),
  batch: broadcastBatch(() => subPrim),
});

const mulFloat = binaryForward(times, promote, "mul");
// int32 times int32 wraps modulo 2^32 exactly (a float64 product past 2^53 would lose the low bits)
const mulInt = binaryForward(Math.imul);

const mulPrim: Primitive<Empty> = definePrimitive({
  name: "mul",
  forward: (xs) =>
    (xs[0].dtype === "int32" && xs[1].dtype === "int32" ? mulInt : mulFloat)(
      xs,
    ),
  scalar: times,
  simd: "mul",
  vjp: ([a, b]) => [
    (g) => unbroadcast(mul(g, b), a.shape),
    (g) => unbroadcast(mul(g, a), b.shape),
  ],
  batch: broadcastBatch(() => mulPrim),
});

const divPrim: Primitive<Empty> = definePrimitive({
  name: "div",
  forward: binaryForward(over, (a, b) => floatOf(promote(a, b)), "div"),
  scalar: over,
  simd: "div",
  vjp: ([a, b], y) => [
    (g) => unbroadcast(div(g, b), a.shape), // d(a/b)/da = 1/b
    (g) => unbroadcast(neg(mul(g, div(y, b))), b.shape), // d(a/b)/db = -a/b²
  ],
  batch: broadcastBatch(() => divPrim),
});

const powFloat = binaryForward(powC);
const powInt = binaryForward(intPow);

// d a^b / da = b a^(b-1), taken as 0 where b = 0 (as PyTorch: 0^0, NaN^0),
// the factor t inside the where as PyTorch's: an infinite or NaN t gives 0
// there too, and so does the derivative of this (that of log a at a = ∞, say)
const powDa = (t: Tensor, a: Tensor, b: Tensor) => {
  // (the exponent b - 1 replaced by 0 where b = 0, so that the branch the
  // where drops holds no 0 · inf: no NaN for the debug checks to find, and
  // none in the derivatives of this one)
  const zero = equal(b, 0);
  return where(zero, 0, mul(t, mul(b, powOp(a, where(zero, 0, sub(b, 1))))));
};
// d a^b / db = a^b log a, taken as 0 where a = 0 and b >= 0 (as PyTorch:
// a = 0 with b < 0 gives ±inf)
const powDb = (t: Tensor, a: Tensor, b: Tensor, y: Tensor) =>
  mul(t, mul(y, log(where(mul(equal(a, 0), greaterEqual(b, 0)), 1, a))));

const powPrim: Primitive<Empty> = definePrimitive({
  name: "pow",
  forward: (xs) =>
    (xs[0].dtype === "int32" && xs[1].dtype === "int32" ? powInt : powFloat)(
      xs,
    ),
  scalar: powC,
  vjp: ([a, b], y) => [
    (g) => unbroadcast(powDa(g, a, b), a.shape),
    (g) => unbroadcast(powDb(g, a, b, y), b.shape),
  ],
  // the same partials (the transpose of the VJP would take them at a zero
  // cotangent, where the wheres' masks no longer hide 0 · NaN)
  jvp: ([a, b], [ta, tb], y) => {
    const da = ta && powDa(ta, a, b), db = tb && powDb(tb, a, b, y);
    return broadcastTo(
      da && db ? add(da, db) : (da ?? db)!,
      y.shape as number[],
    );
  },
  batch: broadcastBatch(() => powPrim),
});

const maximumPrim: Primitive<Empty> = definePrimitive({
  name: "maximum",
  forward: binaryForward(larger),
  scalar: larger,
  simd: "maximum",
  // the larger input gets g; a tie splits it evenly (as JAX and PyTorch);
  // next to a NaN both get g, as PyTorch's (x's share: 1 - [x < y] - [x = y] / 2)
  vjp: ([a, b]) => {
    const share = (x: Tensor, y: Tensor, g: Tensor) =>
      sub(
        1,
        add(
          astype(less(x, y), g.dtype),
          mul(astype(equal(x, y), g.dtype), 0.5),
        ),
      );
    return [
      (g) => unbroadcast(mul(g, share(a, b, g)), a.shape),
      (g) => unbroadcast(mul(g, share(b, a, g)), b.shape),
    ];
  },
  batch: broadcastBatch(() => maximumPrim),
});

const comparePrim: Primitive<{ op: CompareOp }> = definePrimitive({
  name: "compare",
  forward: (inputs, { op }) =>
    binaryForward(compareFns[op], () => "int32")(inputs),
  vjp: () => [null, null],
  batch: broadcastBatch(() => comparePrim),
});

const wherePrim: Primitive<Empty> = definePrimitive({
  name: "where",
  forward: ([c, a, b]) => {
    const ab = ew.broadcastShapes(a.shape, b.shape)!;
    const shape = ew.broadcastShapes(c.shape, ab)!;
    const out = allocData(promote(a.dtype, b.dtype), sizeOf(shape));
    ew.select(c.data, c.shape, a.data, a.shape, b.data, b.shape, out, shape);
    return fromData(out, shape);
  },
  scalar: ew.selectScalar,
  simd: "where",
  vjp: ([c, a, b]) => [
    null,
    (g) => unbroadcast(where(c, g, 0), a.shape),
    (g) => unbroadcast(where(c, 0, g), b.shape),
  ],
  jvp: ([c], [, ta, tb], y) =>
    broadcastTo(where(c, ta ?? 0, tb ?? 0), y.shape as number[]),
  batch: broadcastBatch(() => wherePrim),
});

// ---------------------------------------------------------------------------
// the public ops

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
export const add: (a: Operand, b: Operand) => Tensor = binaryOp(addPrim);

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
export const sub: (a: Operand, b: Operand) => Tensor = binaryOp(subPrim);

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
export const mul: (a: Operand, b: Operand) => Tensor = binaryOp(mulPrim);

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
export const div: (a: Operand, b: Operand) => Tensor = binaryOp(divPrim);

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
export const maximum: (a: Operand, b: Operand) => Tensor = binaryOp(
  maximumPrim,
);

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
export const neg: (x: Tensor) => Tensor = unaryOp(negPrim);

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
export const exp: (x: Tensor) => Tensor = unaryOp(expPrim);

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
export const log: (x: Tensor) => Tensor = unaryOp(logPrim);

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
export const sqrt: (x: Tensor) => Tensor = unaryOp(sqrtPrim);

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
export const abs: (x: Tensor) => Tensor = unaryOp(absPrim);

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
export const tanh: (x: Tensor) => Tensor = unaryOp(tanhPrim);

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
export const sigmoid: (x: Tensor) => Tensor = unaryOp(sigmoidPrim);

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
export const relu: (x: Tensor) => Tensor = unaryOp(reluPrim);

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
 * The error function, elementwise (as `torch.erf`; used by `gelu`); an int32
 * input gives float32.
 *
 * @example
 * ```ts
 * import { erf, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(erf(tensor([0, Infinity, -Infinity]))), [0, 1, -1]);
 * ```
 */
export const erf: (x: Tensor) => Tensor = unaryOp(erfPrim);

/**
 * log(1 + x), elementwise, accurate near 0 (as `torch.log1p`); an int32 input
 * gives float32.
 *
 * @example
 * ```ts
 * import { log1p, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(log1p(tensor([0, -1], { dtype: "float64" }))), [0, -Infinity]);
 * assert.equal(log1p(tensor([1e-20], { dtype: "float64" })).data[0], 1e-20);
 * ```
 */
export const log1p: (x: Tensor) => Tensor = unaryOp(log1pPrim);
