/**
 * ONNX export: `toOnnx(layer, params, { inputShape })` traces the layer's
 * inference (`apply`, or `applyWithState` with `state`) with `jit`'s
 * recorder and writes each recorded primitive as ONNX nodes: a ModelProto
 * (opset 17) whose initializers are the parameters, named by their paths
 * (PyTorch's state_dict keys), with a dynamic batch dimension.
 *
 * The protobuf wire format is written by the small encoder below (varints
 * and length-delimited fields of the nine ONNX messages used): a maintained
 * package (protobufjs) would add a dependency of its own to the library for
 * forty lines of code.
 *
 * @module
 */
import { trace } from "../ops/jit.ts";
import type { Plan, Ref, Step } from "../ops/jit.ts";
import {
  checkOptions,
  describe,
  type DType,
  full,
  isTensor,
  promote,
  showValue,
  type Tensor,
  zeros,
} from "../ops/tensor.ts";
import { fmt as fmtShape } from "../ops/_args.ts";
import { treeFlatten, treePaths } from "../ops/tree.ts";
import type { ConvParams } from "../ops/conv.ts";
import type { AvgParams, PoolParams } from "../ops/pool.ts";
import {
  checkLayer,
  type Layer,
  type ParamSpec,
  type SpecTree,
} from "./layer.ts";
import { checkInputShape, onShape } from "./_util.ts";

// ---------------------------------------------------------------------------
// protobuf wire format: fields are (number << 3 | wire type); 0 varint,
// 2 length-delimited

/**
 * A message under construction, field by field: small fields as bytes,
 * large payloads (weights) as whole arrays, so that a model of hundreds of
 * megabytes is written without copying it element by element.
 */
class Proto {
  private readonly parts: Uint8Array[] = [];
  private small: number[] = [];
  /** The encoded length in bytes. */
  length = 0;
  private flush(): void {
    if (this.small.length) {
      this.parts.push(new Uint8Array(this.small));
      this.small = [];
    }
  }
  private varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      this.small.push(x ? b | 0x80 : b);
      this.length++;
    } while (x);
    return this;
  }
  private raw(b: Uint8Array): this {
    this.flush();
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  /** An integer field (int64, int32, enum). */
  int(field: number, v: number): this {
    return this.varint(field << 3).varint(v);
  }
  /** A length-delimited field of bytes. */
  bytesField(field: number, b: Uint8Array): this {
    return this.varint((field << 3) | 2).varint(b.length).raw(b);
  }
  /** A string field. */
  str(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  /** A nested message. */
  msg(field: number, m: Proto): this {
    this.varint((field << 3) | 2).varint(m.length);
    m.flush();
    for (const part of m.parts) this.raw(part);
    return this;
  }
  /** A packed repeated int64 field. */
  ints(field: number, vs: readonly number[]): this {
    const inner = new Proto();
    for (const v of vs) inner.varint(v);
    return this.msg(field, inner);
  }
  /** The encoded message. */
  bytes(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** ONNX TensorProto.DataType. */
const ONNX_TYPE = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 };

/** A TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian). */
function tensorProto(name: string, t: Tensor): Proto {
  const raw = new Uint8Array(
    t.data.buffer.slice(
      t.data.byteOffset,
      t.data.byteOffset + t.data.byteLength,
    ),
  );
  return new Proto().ints(1, t.shape as number[]).int(2, ONNX_TYPE[t.dtype])
    .str(8, name).bytesField(9, raw);
}

/** An int64 TensorProto (shapes, axes, pads). */
function int64Tensor(name: string, vs: readonly number[]): Proto {
  const raw = new Uint8Array(8 * vs.length);
  const view = new DataView(raw.buffer);
  vs.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return new Proto().ints(1, [vs.length]).int(2, ONNX_TYPE.int64).str(8, name)
    .bytesField(9, raw);
}

/** An attribute value: an int, a list of ints, or a string. */
type Attr = number | number[] | string;

/** A NodeProto: input (1), output (2), name (3), op_type (4), attribute (5). */
function node(
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, Attr> = {},
): Proto {
  const n = new Proto();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, outputs[0]).str(4, op);
  for (const [k, v] of Object.entries(attrs)) {
    // AttributeProto: name (1), i (3), s (4), ints (8), type (20)
    const a = new Proto().str(1, k);
    if (typeof v === "string") a.str(4, v).int(20, 3);
    else if (Array.isArray(v)) a.ints(8, v).int(20, 7);
    else a.int(3, v).int(20, 2);
    n.msg(5, a);
  }
  return n;
}

/**
 * A ValueInfoProto: each dimension a size, `batch` (the input's first), or
 * unknown (`null`: another size that depends on the batch).
 */
function valueInfo(
  name: string,
  shape: readonly (number | "batch" | null)[],
  dtype: Tensor["dtype"],
): Proto {
  const dims = new Proto();
  for (const d of shape) {
    dims.msg(
      1,
      d === "batch"
        ? new Proto().str(2, "batch")
        : d === null
        ? new Proto()
        : new Proto().int(1, d),
    );
  }
  const tensorType = new Proto().int(1, ONNX_TYPE[dtype]).msg(2, dims);
  return new Proto().str(1, name).msg(2, new Proto().msg(1, tensorType));
}

// ---------------------------------------------------------------------------
// primitives as ONNX nodes

/** What an emitter gets: the step, its inputs' names and shapes, and a builder. */
interface Ctx {
  step: Step;
  ins: string[];
  shapes: (readonly number[])[];
  /** The inputs' shapes in the other trace (a batch one larger). */
  otherShapes: (readonly number[])[];
  out: string;
  /** Adds a node; returns its (first) output name. */
  add(
    op: string,
    inputs: string[],
    attrs?: Record<string, Attr>,
    out?: string | string[],
  ): string;
  /** Adds an int64 constant; returns its name. */
  ints(vs: readonly number[]): string;
  /** Adds a scalar constant of the step's dtype (or `dtype`); returns its name. */
  scalar(v: number, dtype?: DType): string;
  /** A new value name, for a node with more than one output. */
  fresh(): string;
  /**
   * This step traced again with a batch one larger: where its settings
   * differ they depend on the batch size (a flatten's [N, -1]).
   */
  other: Step;
  /**
   * A batch-dependent size as a one-element int64 tensor computed from the
   * input's batch: `now` in this trace, `then` in the other (a·N + b).
   */
  dynamicDim(now: number, then: number): string;
  /** The opset the model declares (ops whose form changed between opsets follow it). */
  opset: number;
}

/** The positions where two traced lists of settings differ (batch-dependent). */
const varying = (a: readonly number[], b: readonly number[]) =>
  a.map((v, i) => v !== b[i]);

const same = (op: string) => (c: Ctx) => void c.add(op, c.ins, {}, c.out);
/** A rounding op: the identity on int32 (ONNX's Floor, Ceil, Round have no integer types). */
const rounding = (op: string) => (c: Ctx) =>
  void c.add(c.step.dtype === "int32" ? "Identity" : op, c.ins, {}, c.out);
const COMPARE: Record<string, [string, boolean]> = {
  eq: ["Equal", false],
  ne: ["Equal", true],
  lt: ["Less", false],
  le: ["LessOrEqual", false],
  gt: ["Greater", false],
  ge: ["GreaterOrEqual", false],
};

/** ONNX pads [top, left, bottom, right] from ConvParams' [top, bottom, left, right]. */
const convPads = (p: ConvParams) => [
  p.padding[0],
  p.padding[2],
  p.padding[1],
  p.padding[3],
];

/**
 * A pooling node. ONNX's `ceil_mode` (opset 17) is one setting for both
 * axes and keeps a last window that starts in the right padding, which
 * PyTorch drops: it is set where the traced output is longer than the floor
 * rule gives along some axis, and an axis where PyTorch dropped that window
 * is cropped back by a Slice (the windows before it are the same).
 */
function pool(
  c: Ctx,
  op: string,
  p: PoolParams,
  attrs: Record<string, Attr>,
  to = c.out,
): void {
  const out = c.step.shape.slice(2), inp = c.shapes[0].slice(2);
  const size = (n: number, i: number, round: (v: number) => number) =>
    round(
      (n + 2 * p.padding[i] - p.dilation[i] * (p.kernelSize[i] - 1) - 1) /
        p.stride[i],
    ) + 1;
  const useCeil = out.some((o, i) => o !== size(inp[i], i, Math.floor));
  const ceil = inp.map((n, i) => size(n, i, Math.ceil));
  const crop = useCeil ? [0, 1].filter((i) => out[i] !== ceil[i]) : [];
  const y = c.add(op, c.ins, {
    kernel_shape: p.kernelSize,
    strides: p.stride,
    pads: [p.padding[0], p.padding[1], p.padding[0], p.padding[1]],
    ceil_mode: useCeil ? 1 : 0,
    ...attrs,
  }, crop.length ? undefined : to);
  if (crop.length) {
    c.add(
      "Slice",
      [
        y,
        c.ints(crop.map(() => 0)),
        c.ints(crop.map((i) => out[i])),
        c.ints(crop.map((i) => i + 2)),
      ],
      {},
      to,
    );
  }
}

/**
 * A ReduceMax or ReduceMean node (their axes became an input, as
 * ReduceSum's, in opset 18); returns its output's name.
 */
function reduce(
  c: Ctx,
  op: "ReduceMax" | "ReduceMean",
  x: string,
  axes: number[],
  keepDims: boolean,
  out?: string,
): string {
  const keepdims = keepDims ? 1 : 0;
  return c.opset >= 18
    ? c.add(op, [x, c.ints(axes)], { keepdims }, out)
    : c.add(op, [x], { axes, keepdims }, out);
}

// ---------------------------------------------------------------------------
// compositions for the ops ONNX has no operator for (ops/math.ts), their
// constants in the step's dtype. A value that may be -0 is Where's last
// input (Y): ONNX Runtime 1.30's Where gives +0 for a -0 it takes from X
// (so "x is not 0" is |x| > 0, not Not(Equal), which it fuses into Where
// with X and Y swapped)

/** Where each element's sign bit is set, -0 and -∞ included: x < 0 or 1/x < 0. */
const signBit = (c: Ctx, x: string) =>
  c.add("Or", [
    c.add("Less", [x, c.scalar(0)]),
    c.add("Less", [c.add("Reciprocal", [x]), c.scalar(0)]),
  ]);

/** Where x is not ±0 (nor NaN): |x| > 0. */
const nonzero = (c: Ctx, x: string) =>
  c.add("Greater", [c.add("Abs", [x]), c.scalar(0)]);

/**
 * log(1 + x), accurate where 1 + x rounds off x's low digits (Kahan:
 * log(u)·x/(u - 1) for u = 1 + x rounded, x where u is 1, u where it is
 * infinite); returns its output's name.
 */
function log1p(c: Ctx, x: string, out?: string): string {
  const u = c.add("Add", [x, c.scalar(1)]),
    um1 = c.add("Sub", [u, c.scalar(1)]);
  const y = c.add("Mul", [c.add("Log", [u]), c.add("Div", [x, um1])]);
  const big = c.add("Where", [
    c.add("IsInf", [u], { detect_negative: 0 }),
    u,
    y,
  ]);
  return c.add("Where", [nonzero(c, um1), big, x], {}, out);
}

/**
 * The C remainder `m` of a / b (Mod with fmod 1: exact) and where PyTorch's
 * remainder moves it to b's sign (m is not 0 and its sign is not b's), as
 * the eager kernels.
 */
function cRemainder(c: Ctx): [m: string, moved: string] {
  const [a, b] = c.ins;
  const m = c.add("Mod", [a, b], { fmod: 1 });
  const moved = c.add("And", [
    nonzero(c, m),
    c.add("Xor", [
      c.add("Less", [m, c.scalar(0)]),
      c.add("Less", [b, c.scalar(0)]),
    ]),
  ]);
  return [m, moved];
}

/**
 * By op, the inputs its emitter takes in their own dtype (indices, a
 * condition, what a cast or an argmax reads); every other input is cast to
 * the dtype the step computes in ({@linkcode computeDtype}).
 */
const OWN_DTYPE: Record<string, number[]> = {
  cast: [0],
  argmax: [0],
  argsort: [0],
  checkValues: [0],
  where: [0],
  gather: [1],
  gatherElements: [1],
  scatterAdd: [1],
};

/**
 * The dtype a step computes in, as the library's ops promote their
 * operands (an int32 operand of a float op is converted, a float op on
 * int32 computes in float32): its result's, but for a comparison (int32
 * 0/1) its operands' promoted dtype. An ONNX operator takes its inputs in
 * one type, so the encoder casts each input of another dtype to it.
 */
const computeDtype = (st: Step, ins: DType[]): DType =>
  st.rule.name === "compare" ? ins.reduce(promote) : st.dtype;

const EMIT: Record<string, (c: Ctx) => void> = {
  addAny: same("Add"),
  add: same("Add"),
  sub: same("Sub"),
  mul: same("Mul"),
  div: same("Div"),
  pow: same("Pow"),
  maximum: same("Max"),
  neg: same("Neg"),
  exp: same("Exp"),
  log: same("Log"),
  erf: same("Erf"),
  sqrt: same("Sqrt"),
  abs: same("Abs"),
  sign: same("Sign"),
  tanh: same("Tanh"),
  sigmoid: same("Sigmoid"),
  relu: same("Relu"),
  matmul: same("MatMul"),
  log1p: (c) => void log1p(c, c.ins[0], c.out),
  // elementwise math (ops/math.ts) where ONNX has the operator
  sin: same("Sin"),
  cos: same("Cos"),
  tan: same("Tan"),
  asin: same("Asin"),
  acos: same("Acos"),
  atan: same("Atan"),
  sinh: same("Sinh"),
  cosh: same("Cosh"),
  floor: rounding("Floor"),
  ceil: rounding("Ceil"),
  round: rounding("Round"), // halves to even, as ours
  // rounds toward zero: ONNX has no Trunc (to opset 26); Ceil below 0
  // (-0 from (-1, 0)), NaN and ±0 included
  trunc: (c) => {
    const x = c.ins[0];
    if (c.step.dtype === "int32") return void c.add("Identity", [x], {}, c.out);
    const pos = c.add("Greater", [x, c.scalar(0)]);
    c.add("Where", [pos, c.add("Floor", [x]), c.add("Ceil", [x])], {}, c.out);
  },
  log2: (c) =>
    void c.add("Div", [c.add("Log", c.ins), c.scalar(Math.LN2)], {}, c.out),
  log10: (c) =>
    void c.add("Div", [c.add("Log", c.ins), c.scalar(Math.LN10)], {}, c.out),
  // Pow(2, x): exact at integer x, as the eager 2 ** x
  exp2: (c) => void c.add("Pow", [c.scalar(2), c.ins[0]], {}, c.out),
  // not Exp(x) - 1, which near 0 keeps none of expm1's digits: Kahan's
  // (u - 1)·(x / log u) for u = e^x rounded; x where u is 1, and u - 1
  // where it is -1 or u is infinite (log u of a subnormal u is inexact,
  // and ∞/∞ NaN)
  expm1: (c) => {
    const x = c.ins[0], one = c.scalar(1);
    const u = c.add("Exp", [x]), um1 = c.add("Sub", [u, one]);
    const y = c.add("Mul", [um1, c.add("Div", [x, c.add("Log", [u])])]);
    const ends = c.add("Or", [
      c.add("Equal", [um1, c.scalar(-1)]),
      c.add("IsInf", [u]),
    ]);
    const near0 = c.add("Where", [nonzero(c, um1), y, x]);
    c.add("Where", [ends, um1, near0], {}, c.out);
  },
  // atan(a / b), moved by ±π (a's sign) where b's sign bit is set; b
  // taken as 1 where both are ±0 (a / b then a's zero, not 0/0) and both
  // as ±1 where both are infinite, so signed zeros and infinities give
  // Math.atan2's angles
  atan2: (c) => {
    const [a0, b0] = c.ins;
    const both = (op: string, f: (v: string) => string[]) =>
      c.add("And", c.ins.map((v) => c.add(op, f(v))));
    const inf = both("IsInf", (v) => [v]);
    const zeros = both("Equal", (v) => [v, c.scalar(0)]);
    const a = c.add("Where", [inf, c.add("Sign", [a0]), a0]);
    const b = c.add("Where", [
      inf,
      c.add("Sign", [b0]),
      c.add("Where", [zeros, c.scalar(1), b0]),
    ]);
    const t = c.add("Atan", [c.add("Div", [a, b])]);
    const pi = c.add("Where", [
      signBit(c, a0),
      c.scalar(-Math.PI),
      c.scalar(Math.PI),
    ]);
    c.add("Where", [signBit(c, b0), c.add("Add", [t, pi]), t], {}, c.out);
  },
  // sign of the divisor: ONNX's Mod with fmod 0 is for integers only, so
  // for floats the exact C remainder plus b where the signs differ (the
  // eager kernel's steps)
  remainder: (c) => {
    if (c.step.dtype === "int32") {
      return void c.add("Mod", c.ins, { fmod: 0 }, c.out);
    }
    const [m, moved] = cRemainder(c);
    c.add("Where", [moved, c.add("Add", [m, c.ins[1]]), m], {}, c.out);
  },
  // sign of the dividend: C's fmod
  fmod: (c) => void c.add("Mod", c.ins, { fmod: 1 }, c.out),
  // c10's div_floor, as the eager kernel (Floor(Div) differs where a / b
  // rounds up to an integer): d = (a - m) / b for m the C remainder, less
  // 1 where the remainder moves to b's sign, rounded to the nearest
  // integer; a zero with the sign of a / b, and a / b where b is 0
  floorDivide: (c) => {
    const [a, b] = c.ins;
    if (c.step.dtype === "int32") {
      const r = c.add("Mod", [a, b], { fmod: 0 });
      return void c.add("Div", [c.add("Sub", [a, r]), b], {}, c.out);
    }
    const [m, moved] = cRemainder(c);
    const one = c.scalar(1), zero = c.scalar(0);
    let d = c.add("Div", [c.add("Sub", [a, m]), b]);
    d = c.add("Where", [moved, c.add("Sub", [d, one]), d]);
    const fd = c.add("Floor", [d]);
    const up = c.add("Greater", [c.add("Sub", [d, fd]), c.scalar(0.5)]);
    const q = c.add("Div", [a, b]);
    const y = c.add("Where", [
      nonzero(c, d),
      c.add("Where", [up, c.add("Add", [fd, one]), fd]),
      c.add("Mul", [q, zero]),
    ]);
    c.add("Where", [c.add("Equal", [b, zero]), q, y], {}, c.out);
  },
  // max(a, b) + log1p(exp(-|a - b|)), as the eager kernel; equal
  // infinities stay (their difference is NaN)
  logaddexp: (c) => {
    const [a, b] = c.ins;
    const e = c.add("Exp", [
      c.add("Neg", [c.add("Abs", [c.add("Sub", [a, b])])]),
    ]);
    const y = c.add("Add", [c.add("Max", [a, b]), log1p(c, e)]);
    const same = c.add("And", [
      c.add("Equal", [a, b]),
      c.add("IsInf", [a]),
    ]);
    c.add("Where", [same, a, y], {}, c.out);
  },
  // hi·sqrt(1 + (lo/hi)²) of |a| and |b| (no overflow where a² does), hi
  // where it is 0 or infinite (0/0, ∞/∞ otherwise)
  hypot: (c) => {
    const [a, b] = c.ins.map((v) => c.add("Abs", [v]));
    const hi = c.add("Max", [a, b]),
      r = c.add("Div", [c.add("Min", [a, b]), hi]);
    const y = c.add("Mul", [
      hi,
      c.add("Sqrt", [c.add("Add", [c.scalar(1), c.add("Mul", [r, r])])]),
    ]);
    const ends = c.add("Or", [
      c.add("Equal", [hi, c.scalar(0)]),
      c.add("IsInf", [hi]),
    ]);
    c.add("Where", [ends, hi, y], {}, c.out);
  },
  // x·log(y), as the eager kernel: +0 where x is ±0 and y is not NaN (NaN
  // where it is, as x·log(y) gives then); the product, which may be -0,
  // as Where's Y
  xlogy: (c) => {
    const [x, y] = c.ins, zero = c.scalar(0);
    const atZero = c.add("Where", [c.add("IsNaN", [y]), y, zero]);
    c.add(
      "Where",
      [
        c.add("Equal", [x, zero]),
        atZero,
        c.add("Mul", [x, c.add("Log", [y])]),
      ],
      {},
      c.out,
    );
  },
  clamp: (c) => {
    const { min, max } = c.step.params as { min: number; max: number };
    // (an int32 clamp's bounds are integers, or ±∞: int32's ends)
    const bound = (v: number) =>
      c.scalar(
        c.step.dtype === "int32"
          ? Math.min(Math.max(v, -(2 ** 31)), 2 ** 31 - 1)
          : v,
      );
    c.add("Clip", [c.ins[0], bound(min), bound(max)], {}, c.out);
  },
  cast: (c) =>
    void c.add("Cast", c.ins, { to: ONNX_TYPE[c.step.dtype] }, c.out),
  compare: (c) => {
    const [op, not] = COMPARE[(c.step.params as { op: string }).op];
    let b = c.add(op, c.ins);
    if (not) b = c.add("Not", [b]);
    c.add("Cast", [b], { to: ONNX_TYPE.int32 }, c.out);
  },
  where: (c) => {
    const cond = c.add("Cast", [c.ins[0]], { to: ONNX_TYPE.bool });
    c.add("Where", [cond, c.ins[1], c.ins[2]], {}, c.out);
  },
  sum: (c) => {
    const { axes, keepDims } = c.step.params as {
      axes: number[];
      keepDims: boolean;
    };
    c.add(
      "ReduceSum",
      [c.ins[0], c.ints(axes)],
      { keepdims: keepDims ? 1 : 0 },
      c.out,
    );
  },
  max: (c) => {
    const { axes, keepDims } = c.step.params as {
      axes: number[];
      keepDims: boolean;
    };
    reduce(c, "ReduceMax", c.ins[0], axes, keepDims, c.out);
  },
  argmax: (c) => {
    const { axis, keepDims } = c.step.params as {
      axis: number;
      keepDims: boolean;
    };
    const i = c.add("ArgMax", c.ins, { axis, keepdims: keepDims ? 1 : 0 });
    c.add("Cast", [i], { to: ONNX_TYPE.int32 }, c.out);
  },
  reshape: (c) => {
    const { shape } = c.step.params as { shape: number[] };
    const dyn = varying(shape, (c.other.params as { shape: number[] }).shape);
    if (dyn.filter(Boolean).length > 1) {
      throw new Error(
        "toOnnx: a reshape with more than one batch-dependent dimension",
      );
    }
    const target = shape.map((d, i) => (dyn[i] ? -1 : d));
    c.add("Reshape", [c.ins[0], c.ints(target)], {}, c.out);
  },
  transpose: (c) =>
    void c.add("Transpose", c.ins, {
      perm: (c.step.params as { perm: number[] }).perm,
    }, c.out),
  broadcastTo: (c) => {
    const { shape } = c.step.params as { shape: number[] };
    const then = (c.other.params as { shape: number[] }).shape;
    const dyn = varying(shape, then);
    const input = c.shapes[0], lead = shape.length - input.length;
    // Expand broadcasts both ways: a batch-dependent dim the input has keeps
    // it (target 1); one it broadcasts from 1 (a parameter expanded to the
    // batch) is computed from the input's batch size
    const fromOne = dyn.some((d, i) =>
      d && (i < lead || input[i - lead] === 1)
    );
    if (!fromOne) {
      const target = shape.map((d, i) => (dyn[i] ? 1 : d));
      c.add("Expand", [c.ins[0], c.ints(target)], {}, c.out);
      return;
    }
    const dims = shape.map((d, i) =>
      dyn[i] ? c.dynamicDim(d, then[i]) : c.ints([d])
    );
    const target = c.add("Concat", dims, { axis: 0 });
    c.add("Expand", [c.ins[0], target], {}, c.out);
  },
  slice: (c) => {
    const { starts, ends } = c.step.params as {
      starts: number[];
      ends: number[];
    };
    const then = c.other.params as { starts: number[]; ends: number[] };
    const [n, m] = [c.shapes[0], c.otherShapes[0]];
    // a bound that depends on the batch size is one counted from the end
    // of the axis (negative in ONNX; "to the end" where it is the end)
    const bound = (v: number, w: number, i: number, what: string) => {
      if (v === w) return v;
      if (v - n[i] !== w - m[i]) {
        throw new Error(
          `toOnnx: ${c.step.op}'s ${what} along axis ${i} depends on the batch size (${v} of ${
            n[i]
          }, ${w} of ${
            m[i]
          } for a batch one larger) other than as a place counted from the end, which an ONNX Slice cannot express`,
        );
      }
      return v === n[i] ? Number.MAX_SAFE_INTEGER : v - n[i];
    };
    // an axis taken whole needs no slice
    const axes = starts.map((_, i) => i).filter((i) =>
      starts[i] !== 0 || then.starts[i] !== 0 || ends[i] !== n[i] ||
      then.ends[i] !== m[i]
    );
    c.add(
      "Slice",
      [
        c.ins[0],
        c.ints(axes.map((i) => bound(starts[i], then.starts[i], i, "start"))),
        c.ints(axes.map((i) => bound(ends[i], then.ends[i], i, "end"))),
        c.ints(axes),
      ],
      {},
      c.out,
    );
  },
  pad: (c) => {
    const { widths, value } = c.step.params as {
      widths: [number, number][];
      value: number;
    };
    // (in int32, the value converted as the eager fill does: ToInt32)
    const v = c.scalar(c.step.dtype === "int32" ? value | 0 : value);
    c.add(
      "Pad",
      [
        c.ins[0],
        c.ints([...widths.map((w) => w[0]), ...widths.map((w) => w[1])]),
        v,
      ],
      { mode: "constant" },
      c.out,
    );
  },
  // ONNX has no CumProd: the running product by doubling (log2(n) steps,
  // each multiplying by the values s places before, 1 padded in front),
  // as the composition cumprod's derivatives come from
  cumprod: (c) => {
    const { axis } = c.step.params as { axis: number };
    const shape = c.shapes[0], n = shape[axis];
    if (c.other.shape[axis] !== n) {
      throw new Error(
        `toOnnx: cumprod along an axis whose size is the batch size (axis ${axis} of ${
          fmtShape(shape)
        }) cannot be exported: its steps depend on that size`,
      );
    }
    const one = c.scalar(1);
    let y = c.ins[0];
    if (n <= 1) return void c.add("Identity", [y], {}, c.out);
    for (let s = 1; s < n; s *= 2) {
      const tail = c.add("Slice", [
        y,
        c.ints([0]),
        c.ints([n - s]),
        c.ints([axis]),
      ]);
      const pads = shape.flatMap((_, i) => i === axis ? [s] : [0]);
      const before = c.add("Pad", [
        tail,
        c.ints([...pads, ...shape.map(() => 0)]),
        one,
      ], { mode: "constant" });
      y = c.add("Mul", [y, before], {}, 2 * s >= n ? c.out : undefined);
    }
  },
  cumsum: (c) => {
    const { axis, reverse } = c.step.params as {
      axis: number;
      reverse: boolean;
    };
    // (x + 0: a first element -0 gives 0, as the eager sum from 0)
    const x = c.add("Add", [c.ins[0], c.scalar(0)]);
    c.add("CumSum", [x, c.scalar(axis, "int32")], {
      exclusive: 0,
      reverse: reverse ? 1 : 0,
    }, c.out);
  },
  // a Slice with step -1 along each axis, from the last element to before
  // the first
  flip: (c) => {
    const { axes } = c.step.params as { axes: number[] };
    if (!axes.length) return void c.add("Identity", c.ins, {}, c.out);
    const each = (v: number) => c.ints(axes.map(() => v));
    c.add(
      "Slice",
      [
        c.ins[0],
        each(-1),
        each(Number.MIN_SAFE_INTEGER),
        c.ints(axes),
        each(-1),
      ],
      {},
      c.out,
    );
  },
  // indices checked by the op that made them (their values, on every call)
  checkValues: (c) => void c.add("Identity", c.ins, {}, c.out),
  gather: (c) =>
    void c.add("Gather", c.ins, {
      axis: (c.step.params as { axis: number }).axis,
    }, c.out),
  // gather's transpose (fold, convTranspose3d's depth): ScatterElements
  // adding src into zeros, the index axes merged into one and the indices
  // expanded to src's shape
  scatterAdd: (c) => {
    const { axis, size } = c.step.params as { axis: number; size: number };
    const [src, idx] = c.ins, [s, k] = c.shapes;
    const r = k.length, m = k.reduce((a, b) => a * b, 1);
    const rest = s.slice(axis + r);
    // (0 copies a leading dim, the batch among them)
    const flat = c.add("Reshape", [
      src,
      c.ints([...Array(axis).fill(0), m, ...rest]),
    ]);
    const ones = (n: number) => Array(n).fill(1);
    const at = c.add("Reshape", [
      idx,
      c.ints([...ones(axis), m, ...ones(rest.length)]),
    ]);
    const shape = c.add("Shape", [flat]);
    const outShape = c.add("Concat", [
      c.add("Slice", [shape, c.ints([0]), c.ints([axis])]),
      c.ints([size]),
      c.add("Slice", [
        shape,
        c.ints([axis + 1]),
        c.ints([axis + 1 + rest.length]),
      ]),
    ], { axis: 0 });
    c.add(
      "ScatterElements",
      [
        c.add("Expand", [c.scalar(0), outShape]),
        c.add("Expand", [at, shape]),
        flat,
      ],
      { axis, reduction: "add" },
      c.out,
    );
  },
  gatherElements: (c) =>
    void c.add("GatherElements", c.ins, {
      axis: (c.step.params as { axis: number }).axis,
    }, c.out),
  argsort: (c) => {
    // ONNX's TopK keeps equal values in index order, as the library's sort
    const { axis, descending } = c.step.params as {
      axis: number;
      descending: boolean;
    };
    const k = c.ints([c.shapes[0][axis]]), indices = c.fresh();
    c.add("TopK", [c.ins[0], k], {
      axis,
      largest: descending ? 1 : 0,
      sorted: 1,
    }, [c.fresh(), indices]);
    c.add("Cast", [indices], { to: ONNX_TYPE.int32 }, c.out);
  },
  concat: (c) =>
    void c.add("Concat", c.ins, {
      axis: (c.step.params as { axis: number }).axis,
    }, c.out),
  linear: (c) => {
    const [x, w, b] = c.ins;
    if (c.shapes[0].length === 2) {
      c.add("Gemm", b ? [x, w, b] : [x, w], { transB: 1 }, c.out);
      return;
    }
    const wt = c.add("Transpose", [w], { perm: [1, 0] });
    if (b) c.add("Add", [c.add("MatMul", [x, wt]), b], {}, c.out);
    else c.add("MatMul", [x, wt], {}, c.out);
  },
  conv2d: (c) => {
    const p = c.step.params as ConvParams;
    c.add("Conv", c.ins, {
      kernel_shape: c.shapes[1].slice(2) as number[],
      strides: p.stride,
      pads: convPads(p),
      dilations: p.dilation,
      group: p.groups,
    }, c.out);
  },
  conv2dInputAdjoint: (c) => {
    const p = c.step.params as ConvParams & { inputSize: [number, number] };
    const [, , h, w] = c.shapes[0];
    const [kh, kw] = c.shapes[1].slice(2);
    const full = (n: number, k: number, s: number, d: number, pad: number) =>
      (n - 1) * s - pad + d * (k - 1) + 1;
    c.add("ConvTranspose", c.ins, {
      kernel_shape: [kh, kw],
      strides: p.stride,
      pads: convPads(p),
      dilations: p.dilation,
      group: p.groups,
      output_padding: [
        p.inputSize[0] -
        full(h, kh, p.stride[0], p.dilation[0], p.padding[0] + p.padding[1]),
        p.inputSize[1] -
        full(w, kw, p.stride[1], p.dilation[1], p.padding[2] + p.padding[3]),
      ],
    }, c.out);
  },
  // batch norm with the batch's statistics (a layer without running
  // statistics, in inference too): (x - mean) / sqrt(var + eps) · w + b
  batchNorm: (c) => {
    const { eps } = c.step.params as { eps: number };
    const [x, w, b] = c.ins, rank = c.shapes[0].length;
    const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    const d = c.add("Sub", [x, reduce(c, "ReduceMean", x, axes, true)]);
    const v = reduce(c, "ReduceMean", c.add("Mul", [d, d]), axes, true);
    const e = c.scalar(eps);
    const xhat = c.add("Div", [d, c.add("Sqrt", [c.add("Add", [v, e])])]);
    const perChannel = c.ints([-1, ...Array(rank - 2).fill(1)]);
    const scaled = c.add("Mul", [xhat, c.add("Reshape", [w, perChannel])]);
    c.add("Add", [scaled, c.add("Reshape", [b, perChannel])], {}, c.out);
  },
  maxPool2d: (c) => {
    const p = c.step.params as PoolParams;
    pool(c, "MaxPool", p, { dilations: p.dilation });
  },
  avgPool2d: (c) => {
    const p = c.step.params as AvgParams;
    if (p.dilation[0] !== 1 || p.dilation[1] !== 1) {
      throw new Error(
        "toOnnx: avgPool2d with dilation needs opset 19; use opset 19 or dilation 1",
      );
    }
    const d = p.divisorOverride;
    if (d === null) {
      pool(c, "AveragePool", p, {
        count_include_pad: p.countIncludePad ? 1 : 0,
      });
      return;
    }
    // a window's sum over d: its mean with the padding counted, times
    // kh·kw / d; so every window must lie within the padded input (ONNX
    // counts fewer for a ceilMode window past it)
    const inp = c.shapes[0].slice(2), out = c.step.shape.slice(2);
    if (
      out.some((o, i) =>
        (o - 1) * p.stride[i] + p.kernelSize[i] > inp[i] + 2 * p.padding[i]
      )
    ) {
      throw new Error(
        "toOnnx: avgPool2d with divisorOverride and a ceilMode window past the padded input has no ONNX AveragePool equivalent",
      );
    }
    const mean = c.fresh();
    pool(c, "AveragePool", p, { count_include_pad: 1 }, mean);
    const k = p.kernelSize[0] * p.kernelSize[1];
    c.add("Mul", [mean, c.scalar(k / d)], {}, c.out);
  },
};

/** The newest opset the export is checked at (ONNX Runtime 1.30's newest). */
const MAX_OPSET = 26;

/** A layer's parameter specs by path (the paths of its params tree). */
function specPaths(t: SpecTree, at = ""): [string, ParamSpec][] {
  if (Array.isArray((t as ParamSpec).shape) && "dtype" in t) {
    return [[at, t as ParamSpec]];
  }
  return Object.entries(t).flatMap(([k, v]) =>
    specPaths(v as SpecTree, at ? `${at}.${k}` : k)
  );
}

/**
 * Where a tensor first holds NaN: [index, value], or null. (Infinities
 * pass: a buffer of -Infinity is a mask.)
 */
function firstNaN(t: Tensor): [number, number] | null {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] !== d[i]) return [i, d[i]];
  }
  return null;
}

/** The ops whose emitters write settings that depend on the batch size (from the other trace). */
const FOLLOWS_BATCH = new Set(["reshape", "broadcastTo", "slice"]);

/** Options of {@linkcode toOnnx}. */
export interface ToOnnxOptions {
  /** The input's shape, batch first (the batch dimension is exported as dynamic). */
  inputShape: readonly number[];
  /** The layer's state (batch norm's running statistics), for a layer that has one. */
  state?: unknown;
  /** The ONNX opset, 17 to 26. Default 17. */
  opset?: number;
  /** The input's dtype: "int32" for a model that starts with `nn.embedding`. Default "float32". */
  inputDtype?: "float32" | "int32";
}

/**
 * Exports a layer and its parameters as an ONNX model (the bytes of a
 * ModelProto): inference mode (dropout is the identity, batch norm uses the
 * running statistics of `state`), the parameters as initializers named by
 * their paths (`conv1.weight`, as PyTorch's state_dict), input `input` and
 * output `output` with a dynamic first (batch) dimension. Params and state
 * must be the layer's (each leaf of its shape and dtype, without NaN); what the
 * layer computes from the batch size other than through its ops (a mean
 * over the batch, a squeeze of the batch axis) is an error, as a graph with
 * a dynamic batch cannot hold it.
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.lenet5();
 * const bytes = nn.toOnnx(net, net.init(random.key(0)), { inputShape: [1, 1, 32, 32] });
 * assert.ok(bytes.length > 4 * 61706); // the 61,706 float32 weights and the graph
 * ```
 */
export function toOnnx(
  layer: Layer<unknown, unknown>,
  params: unknown,
  options: ToOnnxOptions,
): Uint8Array {
  const fn = "toOnnx";
  checkLayer(fn, "layer", layer);
  const o = checkOptions(fn, options, [
    "inputShape",
    "state",
    "opset",
    "inputDtype",
  ]);
  const dtype = o.inputDtype ?? "float32";
  if (dtype !== "float32" && dtype !== "int32") {
    throw new Error(
      `${fn}: inputDtype must be "float32" or "int32", got ${showValue(dtype)}`,
    );
  }
  const inputShape = checkInputShape(fn, o.inputShape);
  const opset = (o.opset ?? 17) as number;
  if (!Number.isInteger(opset) || opset < 17 || opset > MAX_OPSET) {
    throw new Error(
      `${fn}: opset must be an integer from 17 to ${MAX_OPSET}, got ${
        describe(opset)
      }`,
    );
  }
  const state = o.state;
  const name = layer.info.name;
  const leaves: Record<string, [string, Tensor][]> = {};
  for (const [what, tree] of [["params", params], ["state", state]] as const) {
    if (tree === undefined) continue;
    try {
      leaves[what] = treePaths(tree as never) as [string, Tensor][];
    } catch {
      throw new Error(
        `${fn}: ${what} must be a tree of tensors (${
          what === "params" ? "layer.init(key)" : "layer.initState()"
        }'s), got ${describe(tree)}`,
      );
    }
  }
  // (the graph is float32: a float64 weight would make its ops float64,
  // which ONNX Runtime 1.30 has no Conv, AveragePool or Erf kernel for)
  for (const [what, paths] of Object.entries(leaves)) {
    for (const [path, t] of paths) {
      if (what === "params" && (path === "input" || path === "output")) {
        throw new Error(
          `${fn}: params leaf "${path}" has the name of the model's ${path}: name the parameter otherwise`,
        );
      }
      if ((t as Tensor).dtype === "float64") {
        throw new Error(
          `${fn}: ${what} leaf "${path}" is float64, but the exported model is float32: convert the ${what} first (treeMap((t) => astype(t, "float32"), ${what}))`,
        );
      }
      const bad = isTensor(t) && t.dtype !== "int32" ? firstNaN(t) : null;
      if (bad) {
        throw new Error(
          `${fn}: ${what} leaf "${path}" holds ${bad[1]} (at flat index ${
            bad[0]
          } of ${
            fmtShape(t.shape)
          }), which the model would pass on to its outputs: export ${what} without NaN`,
        );
      }
    }
  }
  // every parameter (and buffer) the layer has, of its shape and dtype,
  // and no other
  const expected = {
    params: specPaths(layer.info.params),
    state: state === undefined
      ? []
      : treePaths(layer.initState() as never) as [string, Tensor][],
  };
  for (const what of ["params", "state"] as const) {
    const given = new Map(leaves[what] ?? []);
    for (const [path, spec] of expected[what]) {
      const t = given.get(path);
      const want = `${fmtShape(spec.shape)} ${spec.dtype}`;
      if (!t) {
        throw new Error(
          `${fn}: ${what} has no leaf "${path}" (${name} expects ${want})`,
        );
      }
      if (t.shape.join() !== spec.shape.join() || t.dtype !== spec.dtype) {
        throw new Error(
          `${fn}: ${what} leaf "${path}" is ${
            fmtShape(t.shape)
          } ${t.dtype}, but ${name} expects ${want}`,
        );
      }
      given.delete(path);
    }
    const [extra] = given.keys();
    if (extra !== undefined) {
      throw new Error(`${fn}: ${what} leaf "${extra}" is not one of ${name}'s`);
    }
  }
  if (layer.info.hasState && state === undefined) {
    throw new Error(
      `${fn}: ${name} has state (batch norm's running statistics): pass it as options.state`,
    );
  }
  const apply = (p: unknown, xi: Tensor): Tensor =>
    state === undefined
      ? layer.apply(p as never, xi)
      : (layer.applyWithState(p as never, state as never, xi) as { y: Tensor })
        .y;
  // traced at two batch sizes: settings that differ depend on the batch
  const [plan, other] = [0, 1].map((extra) => {
    const x = zeros([inputShape[0] + extra, ...inputShape.slice(1)], {
      dtype,
    });
    // (the inputShape given, in the error of either trace: its first axis
    // is the batch, one larger in the second)
    return onShape(
      fn,
      inputShape,
      () =>
        trace(apply as never, [params, x], [0, 1], [
          treeFlatten(params as never),
          treeFlatten(x),
        ])[1],
    );
  });
  const ops = (pl: Plan) => pl.steps.map((st) => st?.rule.name).join(",");
  if (ops(plan) !== ops(other)) {
    throw new Error(
      `${fn}: ${name} applies other ops for another batch size, which an ONNX graph with a dynamic batch cannot express (toOnnx takes the input's first axis as the batch: for a sequence-first recurrent layer, use batchFirst)`,
    );
  }
  return encode(
    plan,
    other,
    treePaths(params as never),
    zeros(inputShape, { dtype }),
    opset,
    layer.info.name,
  );
}

/** Writes the plan as a ModelProto: the params (named by path) and the input are its leaves. */
function encode(
  plan: Plan,
  other: Plan,
  params: [string, Tensor][],
  x: Tensor,
  opset: number,
  name: string,
): Uint8Array {
  const nodes: Proto[] = [], inits: Proto[] = [];
  const taken = new Set(params.map(([p]) => p));
  /** `base`, or with `_` in front while a parameter has that name. */
  const fresh = (base: string): string => {
    let n = base;
    while (taken.has(n)) n = `_${n}`;
    return n;
  };
  const names: string[] = [...params.map(([p]) => p), "input"];
  const shapes: (readonly number[])[] = [
    ...params.map(([, t]) => t.shape),
    x.shape,
  ];
  params.forEach(([p, t]) => inits.push(tensorProto(p, t)));
  let consts = 0, tmp = 0;
  const constName = new Map<Tensor, string>();
  const nameOf = (r: Ref): string => {
    if (typeof r === "number") return names[r];
    let n = constName.get(r);
    if (!n) {
      n = fresh(`const_${consts++}`);
      constName.set(r, n);
      inits.push(tensorProto(n, r));
    }
    return n;
  };
  const shapeOf = (r: Ref) => (typeof r === "number" ? shapes[r] : r.shape);
  const input = plan.nIn - 1;
  const dtypeOf = (r: Ref): DType =>
    typeof r !== "number"
      ? r.dtype
      : r < input
      ? params[r][1].dtype
      : r === input
      ? x.dtype
      : plan.steps[r - plan.nIn]!.dtype;
  /** The value `n` (of dtype `from`) as `to`: itself, or a Cast (one per value and dtype). */
  const casts = new Map<string, string>();
  const castTo = (n: string, from: DType, to: DType): string => {
    if (from === to) return n;
    const key = `${n}\0${to}`;
    let c = casts.get(key);
    if (!c) {
      c = fresh(`t${tmp++}`);
      nodes.push(node("Cast", [n], [c], { to: ONNX_TYPE[to] }));
      casts.set(key, c);
    }
    return c;
  };
  /** A value's shape in the other trace, whose input has a batch one larger. */
  const otherShapeOf = (r: Ref): readonly number[] =>
    typeof r !== "number" || r < input
      ? shapeOf(r)
      : r === input
      ? [x.shape[0] + 1, ...x.shape.slice(1)]
      : other.steps[r - other.nIn]!.shape;
  let batch: string | null = null;
  const intConst = (vs: readonly number[]) => {
    const n = fresh(`const_${consts++}`);
    inits.push(int64Tensor(n, vs));
    return n;
  };
  /** a·N + b for N the input's batch size, from its values at N and N + 1. */
  const dynamicDim = (now: number, then: number): string => {
    if (!batch) {
      batch = fresh("batch_size");
      const shape = fresh("input_shape");
      nodes.push(
        node("Shape", ["input"], [shape], {}),
        node("Slice", [shape, intConst([0]), intConst([1])], [batch]),
      );
    }
    const a = then - now, b = now - a * x.shape[0];
    let out = batch;
    const step = (op: string, v: number) => {
      const o = fresh(`t${tmp++}`);
      nodes.push(node(op, [out, intConst([v])], [o]));
      out = o;
    };
    if (a !== 1) step("Mul", a);
    if (b !== 0) step("Add", b);
    return out;
  };
  plan.steps.forEach((st, s) => {
    const id = plan.nIn + s;
    names[id] = fresh(`v${id}`);
    shapes[id] = st ? st.shape : [];
    if (!st) return; // not needed for the output
    const emit = EMIT[st.rule.name];
    if (!emit) {
      throw new Error(
        `toOnnx: ${name} uses the op ${st.rule.name}, which has no ONNX export (it runs in training only, or is not supported)`,
      );
    }
    // settings that change with the batch size: only the emitters that
    // compare the two traces write them as computed from the batch
    const then = other.steps[s]!;
    const settings = JSON.stringify(st.params);
    if (
      st.shape.length !== then.shape.length ||
      (!FOLLOWS_BATCH.has(st.rule.name) &&
        settings !== JSON.stringify(then.params))
    ) {
      throw new Error(
        `toOnnx: ${name} calls ${st.op} ${
          st.shape.length !== then.shape.length
            ? `with a result of rank ${st.shape.length}, and ${then.shape.length} for a batch one larger (a squeeze of the batch axis?)`
            : `with settings that depend on the batch size (${settings}, and ${
              JSON.stringify(then.params)
            } for a batch one larger)`
        }, which an ONNX graph with a dynamic batch cannot express`,
      );
    }
    // a constant made from the batch size (its shape, or its values: the
    // count a mean over the batch divides by) cannot be one constant of the
    // graph
    st.inputs.forEach((r, i) => {
      const o = other.steps[s]!.inputs[i];
      if (typeof r === "number" || typeof o === "number") return;
      const how = r.shape.join() !== o.shape.join()
        ? ` (${fmtShape(o.shape)} for a batch one larger)`
        : r !== o && r.data.some((v, k) => !Object.is(v, o.data[k]))
        ? ` (other values for a batch one larger, as the count a mean over the batch divides by)`
        : null;
      if (how !== null) {
        throw new Error(
          `toOnnx: ${name} passes ${st.rule.name} a constant of shape ${
            fmtShape(r.shape)
          } that depends on the batch size${how}, which an ONNX graph with a dynamic batch cannot hold; derive it from the input with ops instead`,
        );
      }
    });
    const dtypes = st.inputs.map(dtypeOf), own = OWN_DTYPE[st.rule.name] ?? [];
    const to = computeDtype(st, dtypes);
    emit({
      step: st,
      ins: st.inputs.map((r, i) =>
        own.includes(i) ? nameOf(r) : castTo(nameOf(r), dtypes[i], to)
      ),
      shapes: st.inputs.map(shapeOf),
      otherShapes: other.steps[s]!.inputs.map(otherShapeOf),
      out: names[id],
      other: other.steps[s]!,
      add: (op, inputs, attrs = {}, out = fresh(`t${tmp++}`)) => {
        const outs = Array.isArray(out) ? out : [out];
        nodes.push(node(op, inputs, outs, attrs));
        return outs[0];
      },
      ints: intConst,
      scalar: (v, dtype = st.dtype) => {
        const n = fresh(`const_${consts++}`);
        inits.push(tensorProto(n, full([], v, { dtype })));
        return n;
      },
      fresh: () => fresh(`t${tmp++}`),
      dynamicDim,
      opset,
    });
  });
  // one output, named "output": its dimensions that depend on the batch
  // are the input's batch or unknown
  const out = plan.outs[0];
  const [outShape, then] = [shapeOf(out), otherShapeOf(other.outs[0])];
  const outDims = outShape.map((d, i) =>
    d === then[i] ? d : d === x.shape[0] && then[i] === d + 1 ? "batch" : null
  );
  const outDtype = dtypeOf(out);
  nodes.push(node("Identity", [nameOf(out)], ["output"]));
  const graph = new Proto();
  for (const n of nodes) graph.msg(1, n);
  graph.str(2, name);
  for (const i of inits) graph.msg(5, i);
  graph.msg(11, valueInfo("input", ["batch", ...x.shape.slice(1)], x.dtype));
  graph.msg(12, valueInfo("output", outDims, outDtype));
  // ModelProto: ir_version (1), producer_name (2), graph (7), opset_import (8)
  const model = new Proto().int(1, 8).str(2, "cnn-tensor").msg(7, graph)
    .msg(8, new Proto().str(1, "").int(2, opset));
  return model.bytes();
}
