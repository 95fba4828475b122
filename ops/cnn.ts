/**
 * CNN ops with torch.nn.functional's semantics (NCHW, cross-correlation,
 * weight `[outChannels, inChannels / groups, kH, kW]`): convolutions,
 * pooling, linear, activations, softmax and losses, dropout and batch norm.
 * Each checks its arguments and names the op, the argument and both shapes
 * in its errors.
 *
 * @module
 */
import {
  checkBool,
  checkOptions,
  checkTensor,
  sameShape,
  type Tensor,
} from "./tensor.ts";
import { bind, promote } from "./primitives.ts";
import {
  type AvgParams,
  convOutSize,
  type ConvParams,
  outputLength,
  poolOutSize,
  type PoolParams,
} from "./cnn_rules.ts";
import {
  abs,
  add,
  astype,
  div,
  equal,
  exp,
  expandDims,
  greater,
  log,
  matmul,
  max,
  maximum,
  mean,
  mul,
  neg,
  notEqual,
  reshape,
  sigmoid,
  square,
  squeeze,
  sub,
  sum,
  tanh,
  where,
} from "./ops.ts";
import { bindRule, concrete, type Rule, userOp } from "./trace.ts";
import { allocData, arange, fromData, ones, tensor, zeros } from "./tensor.ts";
import { vjp } from "./transforms.ts";
import * as bnk from "./kernels/batch_norm.ts";
import { bernoulli, type Key } from "./random.ts";

const fmt = (s: readonly number[]) => `[${s.join(",")}]`;

/** A size given as one number for both axes or as `[h, w]`. */
export type Pair = number | [number, number] | readonly [number, number];

/** A number or `[h, w]` pair of integers >= min; `fn` and `name` name the caller and option in errors. @internal */
export function pair(
  fn: string,
  name: string,
  v: unknown,
  min: number,
): [number, number] {
  const p = typeof v === "number" ? [v, v] : v;
  if (
    !Array.isArray(p) || p.length !== 2 ||
    !p.every((d) => Number.isInteger(d) && d >= min)
  ) {
    throw new Error(
      `${fn}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return [p[0], p[1]];
}

/** x's shape as a batch: `[N, C, H, W]` as it is, an unbatched `[C, H, W]` with N = 1. */
function batchShape(fn: string, shape: readonly number[]): readonly number[] {
  if (shape.length === 3) return [1, ...shape];
  if (shape.length !== 4) {
    throw new Error(
      `${fn}: x must be [N, C, H, W] or unbatched [C, H, W], got ${fmt(shape)}`,
    );
  }
  return shape;
}

/** `f(x)` on x as a batch: an unbatched `[C, H, W]` gets the batch axis for `f`, and loses it again. */
function onBatch(x: Tensor, f: (x4: Tensor) => Tensor): Tensor {
  return x.shape.length === 3 ? squeeze(f(expandDims(x, 0)), 0) : f(x);
}

function floatCheck(fn: string, name: string, t: Tensor): void {
  if (t.dtype === "int32") {
    throw new Error(
      `${fn}: ${name} must be float32 or float64, got int32 ${fmt(t.shape)}`,
    );
  }
}

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Step between windows. Default 1. */
  stride?: Pair;
  /** Zero padding per side, or "valid" (none) or "same" (output size = input size; stride 1 only). Default 0. */
  padding?: Pair | "valid" | "same";
  /** Spacing between kernel taps. Default 1. */
  dilation?: Pair;
  /** Channel groups (groups = channels is depthwise). Default 1. */
  groups?: number;
}

/**
 * Output size of a convolution or pooling along one axis:
 * `floor((size + 2·padding - dilation·(kernel - 1) - 1) / stride) + 1`; with
 * `ceilMode` (pooling) ceil, minus one when the last window would start in
 * the right padding (PyTorch's rule).
 *
 * @example
 * ```ts
 * import { conv2dOutputSize } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(conv2dOutputSize(32, 5), 28); // LeNet-5's first conv
 * assert.equal(conv2dOutputSize(28, 3, { padding: 1 }), 28);
 * assert.equal(conv2dOutputSize(28, 3, { stride: 2 }), 13);
 * assert.equal(conv2dOutputSize(5, 2, { stride: 2, padding: 1, ceilMode: true }), 3);
 * ```
 */
export function conv2dOutputSize(
  size: number,
  kernelSize: number,
  options?: {
    stride?: number;
    padding?: number;
    dilation?: number;
    ceilMode?: boolean;
  },
): number {
  if (options === undefined) options = {};
  checkOptions("conv2dOutputSize", options, [
    "stride",
    "padding",
    "dilation",
    "ceilMode",
  ]);
  const { stride = 1, padding = 0, dilation = 1, ceilMode = false } = options;
  return outputLength(
    size,
    kernelSize,
    stride,
    padding,
    padding,
    dilation,
    ceilMode,
  );
}

/** The options of a convolution, checked; padding `"same"` is resolved once the kernel is known. @internal */
export interface ConvSettings {
  stride: [number, number];
  dilation: [number, number];
  groups: number;
  /** Per side `[h, w]`, or "same". */
  padding: [number, number] | "same";
  /** `[0, 0]` unless transposed. */
  outputPadding: [number, number];
}

/**
 * Checks the options of conv2d, or of convTranspose2d when `transposed`,
 * with the op's messages; needs no shape, so a layer checks its options when
 * it is built (`fn` names the caller). @internal
 */
export function convSettings(
  fn: string,
  options: Conv2dOptions & { outputPadding?: Pair },
  transposed: boolean,
): ConvSettings {
  checkOptions(fn, options, [
    "stride",
    "padding",
    ...(transposed ? ["outputPadding"] : []),
    "dilation",
    "groups",
  ]);
  const stride = pair(fn, "stride", options.stride ?? 1, 1);
  const dilation = pair(fn, "dilation", options.dilation ?? 1, 1);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(
      `${fn}: groups must be a positive integer, got ${JSON.stringify(groups)}`,
    );
  }
  let padding: [number, number] | "same";
  if (options.padding === "valid") padding = [0, 0];
  else if (options.padding === "same") {
    if (transposed) {
      throw new Error(
        `${fn}: padding "same" is not supported for transposed convolution`,
      );
    }
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new Error(
        `${fn}: padding "same" needs stride 1, got stride ${fmt(stride)}`,
      );
    }
    padding = "same";
  } else padding = pair(fn, "padding", options.padding ?? 0, 0);
  const outputPadding = pair(
    fn,
    "outputPadding",
    options.outputPadding ?? 0,
    0,
  );
  for (let a = 0; a < 2; a++) {
    if (outputPadding[a] >= stride[a] && outputPadding[a] >= dilation[a]) {
      throw new Error(
        `${fn}: outputPadding must be smaller than either stride or dilation, got outputPadding ${
          fmt(outputPadding)
        }, stride ${fmt(stride)}, dilation ${fmt(dilation)}`,
      );
    }
  }
  return { stride, dilation, groups, padding, outputPadding };
}

/** Checks x and weight against each other and the settings; returns x as a batch shape and the primitive's params. */
function convParams(
  fn: string,
  xShape: readonly number[],
  wShape: readonly number[],
  s: ConvSettings,
  transposed: boolean,
): { x4: readonly number[]; p: ConvParams } {
  const x4 = batchShape(fn, xShape);
  const groups = s.groups;
  if (wShape.length !== 4) {
    throw new Error(`${fn}: weight must have 4 dims, got ${fmt(wShape)}`);
  }
  const [, c] = x4;
  const [wo, wi, kh, kw] = wShape;
  if (kh < 1 || kw < 1) {
    throw new Error(
      `${fn}: weight must have kernel sizes of at least 1, got ${
        fmt(wShape)
      } (kernel ${kh}x${kw})`,
    );
  }
  const shapes = `(x ${fmt(x4)}, weight ${fmt(wShape)})`;
  if (c % groups !== 0) {
    throw new Error(
      `${fn}: x has ${c} channels, which groups ${groups} does not divide ${shapes}`,
    );
  }
  if (!transposed) {
    if (wi * groups !== c) {
      throw new Error(
        groups === 1
          ? `${fn}: weight has ${wi} input channels but x has ${c} ${shapes}`
          : `${fn}: weight has ${wi} input channels per group (groups ${groups}) but x has ${c} = ${
            c / groups
          } per group ${shapes}`,
      );
    }
    if (wo % groups !== 0) {
      throw new Error(
        `${fn}: weight has ${wo} output channels, which groups ${groups} does not divide ${shapes}`,
      );
    }
  } else if (wo !== c) {
    throw new Error(
      `${fn}: weight has ${wo} input channels but x has ${c} ${shapes}`,
    );
  }
  let padding: [number, number, number, number];
  if (s.padding === "same") {
    const th = s.dilation[0] * (kh - 1), tw = s.dilation[1] * (kw - 1);
    // asymmetric for even effective kernels: the extra row/column goes bottom/right (as PyTorch)
    padding = [
      Math.floor(th / 2),
      th - Math.floor(th / 2),
      Math.floor(tw / 2),
      tw - Math.floor(tw / 2),
    ];
  } else {
    const [ph, pw] = s.padding;
    padding = [ph, ph, pw, pw];
  }
  return { x4, p: { stride: s.stride, padding, dilation: s.dilation, groups } };
}

function conv2dSetup(
  xShape: readonly number[],
  wShape: readonly number[],
  options: Conv2dOptions,
): { p: ConvParams; shape: number[] } {
  const fn = "conv2d";
  const s = convSettings(fn, options, false);
  const { x4, p } = convParams(fn, xShape, wShape, s, false);
  const [oh, ow] = convOutSize(x4, wShape, p);
  if (oh < 1 || ow < 1) {
    throw new Error(
      `${fn}: output size would be ${oh}x${ow} (< 1): kernel ${wShape[2]}x${
        wShape[3]
      } with dilation ${fmt(p.dilation)} is larger than the padded input (x ${
        fmt(xShape)
      }, padding ${fmt(p.padding)})`,
    );
  }
  return { p, shape: [...xShape.slice(0, -3), wShape[0], oh, ow] };
}

/**
 * The output shape of {@linkcode conv2d} for these shapes and options, with
 * the op's checks and errors, without computing anything. @internal
 */
export function conv2dShape(
  xShape: readonly number[],
  weightShape: readonly number[],
  options?: Conv2dOptions,
): number[] {
  if (options === undefined) options = {};
  return conv2dSetup(xShape, weightShape, options).shape;
}

function checkBias(
  fn: string,
  bias: Tensor | null | undefined,
  channels: number,
): Tensor | null {
  if (bias === undefined || bias === null) return null;
  checkTensor(fn, bias, "bias");
  if (bias.shape.length !== 1 || bias.shape[0] !== channels) {
    throw new Error(
      `${fn}: bias must have shape [${channels}], got ${fmt(bias.shape)}`,
    );
  }
  return bias;
}

/**
 * 2-D convolution (cross-correlation) as `torch.nn.functional.conv2d`: x
 * `[N, C, H, W]` (or unbatched `[C, H, W]`), weight `[O, C / groups, kH, kW]`,
 * optional bias `[O]`.
 *
 * @example
 * ```ts
 * import { conv2d, ones, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = conv2d(ones([1, 1, 4, 4]), ones([2, 1, 3, 3]), null, { padding: 1 });
 * assert.deepEqual(y.shape, [1, 2, 4, 4]);
 * assert.equal((toArray(y) as number[][][][])[0][0][1][1], 9);
 * assert.equal((toArray(y) as number[][][][])[0][0][0][0], 4);
 * ```
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options?: Conv2dOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "conv2d";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  const { p } = conv2dSetup(x.shape, weight.shape, options);
  const b = checkBias(fn, bias, weight.shape[0]);
  return onBatch(
    x,
    (x4) => bind("conv2d", b ? [x4, weight, b] : [x4, weight], p),
  );
}

/** Options of {@linkcode convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Stride of the convolution this transposes. Default 1. */
  stride?: Pair;
  /** Padding of the convolution this transposes (removed from the output). Default 0. */
  padding?: Pair;
  /** Extra rows/columns on the bottom/right (< stride or < dilation). Default 0. */
  outputPadding?: Pair;
  /** Kernel dilation. Default 1. */
  dilation?: Pair;
  /** Channel groups. Default 1. */
  groups?: number;
}

function convTranspose2dSetup(
  xShape: readonly number[],
  wShape: readonly number[],
  options: ConvTranspose2dOptions,
): { p: ConvParams & { inputSize: [number, number] }; shape: number[] } {
  const fn = "convTranspose2d";
  const s = convSettings(fn, options, true);
  const { x4, p } = convParams(fn, xShape, wShape, s, true);
  // (H - 1)·stride - 2·padding + dilation·(k - 1) + outputPadding + 1
  const size = [0, 1].map((a) =>
    (x4[2 + a] - 1) * p.stride[a] - 2 * p.padding[2 * a] +
    p.dilation[a] * (wShape[2 + a] - 1) + s.outputPadding[a] + 1
  ) as [number, number];
  if (size[0] < 1 || size[1] < 1) {
    throw new Error(
      `${fn}: output size would be ${size[0]}x${size[1]} (< 1) for x ${
        fmt(xShape)
      }, padding ${fmt(p.padding)}`,
    );
  }
  return {
    p: { ...p, inputSize: size },
    shape: [...xShape.slice(0, -3), wShape[1] * p.groups, ...size],
  };
}

/**
 * The output shape of {@linkcode convTranspose2d} for these shapes and
 * options, with the op's checks and errors, without computing anything.
 * @internal
 */
export function convTranspose2dShape(
  xShape: readonly number[],
  weightShape: readonly number[],
  options?: ConvTranspose2dOptions,
): number[] {
  if (options === undefined) options = {};
  return convTranspose2dSetup(xShape, weightShape, options).shape;
}

/**
 * Transposed 2-D convolution as `torch.nn.functional.conv_transpose2d`:
 * weight `[C_in, C_out / groups, kH, kW]`; output size
 * `(H - 1)·stride - 2·padding + dilation·(k - 1) + outputPadding + 1`. It is
 * the VJP of conv2d with respect to its input.
 *
 * @example
 * ```ts
 * import { convTranspose2d, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = convTranspose2d(ones([1, 4, 5, 5]), ones([4, 2, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 });
 * assert.deepEqual(y.shape, [1, 2, 10, 10]);
 * ```
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options?: ConvTranspose2dOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("convTranspose2d");
  const fn = "convTranspose2d";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  const { p } = convTranspose2dSetup(x.shape, weight.shape, options);
  const b = checkBias(fn, bias, weight.shape[1] * p.groups);
  return onBatch(
    x,
    (x4) => bind("conv2dInputAdjoint", b ? [x4, weight, b] : [x4, weight], p),
  );
}

/** Options of {@linkcode maxPool2d}. */
export interface MaxPool2dOptions {
  /** Window size. Required. */
  kernelSize: Pair;
  /** Step between windows. Default kernelSize. */
  stride?: Pair | null;
  /** Implicit -infinity padding per side (at most half the kernel). Default 0. */
  padding?: Pair;
  /** Spacing between window taps. Default 1. */
  dilation?: Pair;
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
}

/** Options of {@linkcode avgPool2d}. */
export interface AvgPool2dOptions {
  /** Window size. Required. */
  kernelSize: Pair;
  /** Step between windows. Default kernelSize. */
  stride?: Pair | null;
  /** Zero padding per side (at most half the kernel). Default 0. */
  padding?: Pair;
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor. Default true. */
  countIncludePad?: boolean;
  /** Divide by this instead of the window size. */
  divisorOverride?: number | null;
}

/**
 * Checks the options of maxPool2d (`kind` "max") or avgPool2d ("avg") with
 * the op's messages and returns the primitive's params; needs no shape, so a
 * layer checks its options when it is built (`fn` names the caller).
 * @internal
 */
export function poolSettings(
  fn: string,
  options: MaxPool2dOptions,
  kind: "max",
): PoolParams;
export function poolSettings(
  fn: string,
  options: AvgPool2dOptions,
  kind: "avg",
): AvgParams;
export function poolSettings(
  fn: string,
  options: MaxPool2dOptions | AvgPool2dOptions,
  kind: "max" | "avg",
): PoolParams;
export function poolSettings(
  fn: string,
  options: MaxPool2dOptions | AvgPool2dOptions,
  kind: "max" | "avg",
): PoolParams | AvgParams {
  const o = options as MaxPool2dOptions & AvgPool2dOptions;
  checkOptions(fn, o, [
    "kernelSize",
    "stride",
    "padding",
    ...(kind === "max" ? ["dilation"] : []),
    "ceilMode",
    ...(kind === "avg" ? ["countIncludePad", "divisorOverride"] : []),
  ]);
  if (!o || o.kernelSize === undefined) {
    throw new Error(`${fn}: options.kernelSize is required`);
  }
  const kernelSize = pair(fn, "kernelSize", o.kernelSize, 1);
  const stride = o.stride === undefined || o.stride === null
    ? kernelSize
    : pair(fn, "stride", o.stride, 1);
  const padding = pair(fn, "padding", o.padding ?? 0, 0);
  const dilation = pair(fn, "dilation", o.dilation ?? 1, 1);
  for (let a = 0; a < 2; a++) {
    if (padding[a] > kernelSize[a] / 2) {
      throw new Error(
        `${fn}: pad should be at most half of effective kernel size, but got pad=${
          padding[a]
        }, kernel_size=${kernelSize[a]} (padding ${fmt(padding)}, kernelSize ${
          fmt(kernelSize)
        })`,
      );
    }
  }
  const ceilMode = checkBool(fn, "ceilMode", o.ceilMode, false);
  const p: PoolParams = { kernelSize, stride, padding, dilation, ceilMode };
  if (kind === "max") return p;
  const d = o.divisorOverride ?? null;
  if (d !== null && !(Number.isInteger(d) && d !== 0)) {
    throw new Error(
      `${fn}: divisorOverride must be a non-zero integer, got ${
        JSON.stringify(d)
      }`,
    );
  }
  return {
    ...p,
    countIncludePad: checkBool(
      fn,
      "countIncludePad",
      o.countIncludePad,
      true,
    ),
    divisorOverride: d,
  };
}

/** The shape of x pooled with settled params; throws when a side would be < 1. */
function pooledShape(
  fn: string,
  xShape: readonly number[],
  p: PoolParams,
): number[] {
  const x4 = batchShape(fn, xShape);
  const [oh, ow] = poolOutSize([x4[2], x4[3]], p);
  if (oh < 1 || ow < 1) {
    throw new Error(
      `${fn}: output size would be ${oh}x${ow} (< 1) for x ${
        fmt(x4)
      } with kernelSize ${fmt(p.kernelSize)}, padding ${
        fmt(p.padding)
      }, dilation ${fmt(p.dilation)}`,
    );
  }
  return [...xShape.slice(0, -2), oh, ow];
}

/**
 * The output shape of {@linkcode maxPool2d} (`kind` "max") or
 * {@linkcode avgPool2d} ("avg") for x's shape and these options, with the
 * op's checks and errors, without computing anything. @internal
 */
export function pool2dShape(
  xShape: readonly number[],
  options: MaxPool2dOptions | AvgPool2dOptions,
  kind: "max" | "avg",
): number[] {
  const fn = kind === "max" ? "maxPool2d" : "avgPool2d";
  return pooledShape(fn, xShape, poolSettings(fn, options, kind));
}

/**
 * 2-D max pooling as `torch.nn.functional.max_pool2d`; the gradient goes to
 * the first maximum of each window in row-major order.
 *
 * @example
 * ```ts
 * import { maxPool2d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8], [0, 0, 1, 1], [0, 9, 1, 1]]]]);
 * assert.deepEqual(toArray(maxPool2d(x, { kernelSize: 2 })), [[[[4, 8], [9, 1]]]]);
 * ```
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  const fn = "maxPool2d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const p = poolSettings(fn, options, "max");
  pooledShape(fn, x.shape, p);
  return onBatch(x, (x4) => bind("maxPool2d", [x4], p));
}

/**
 * 2-D average pooling as `torch.nn.functional.avg_pool2d`.
 *
 * @example
 * ```ts
 * import { avgPool2d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2], [3, 6]]]]);
 * assert.deepEqual(toArray(avgPool2d(x, { kernelSize: 2 })), [[[[3]]]]);
 * assert.deepEqual(toArray(avgPool2d(x, { kernelSize: 2, padding: 1, countIncludePad: false })), [[[[1, 2], [3, 6]]]]);
 * ```
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const fn = "avgPool2d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const p = poolSettings(fn, options, "avg");
  pooledShape(fn, x.shape, p);
  return onBatch(x, (x4) => bind("avgPool2d", [x4], p));
}

/** The [out, size] averaging matrix of adaptive pooling along one axis (PyTorch's windows), or its transpose. */
function adaptiveMatrix(
  size: number,
  out: number,
  dtype: Tensor["dtype"],
  transposed: boolean,
): Tensor {
  const m = new Float64Array(out * size);
  for (let i = 0; i < out; i++) {
    const s = Math.floor((i * size) / out),
      e = Math.ceil(((i + 1) * size) / out);
    for (let j = s; j < e; j++) {
      m[transposed ? j * out + i : i * size + j] = 1 / (e - s);
    }
  }
  return tensor(m, { shape: transposed ? [size, out] : [out, size], dtype });
}

/**
 * The output shape of {@linkcode adaptiveAvgPool2d}, with the op's checks and
 * errors, without computing anything. @internal
 */
export function adaptiveAvgPool2dShape(
  xShape: readonly number[],
  outputSize: Pair,
): number[] {
  const fn = "adaptiveAvgPool2d";
  batchShape(fn, xShape);
  return [...xShape.slice(0, -2), ...pair(fn, "outputSize", outputSize, 1)];
}

/**
 * Adaptive average pooling to `outputSize` as
 * `torch.nn.functional.adaptive_avg_pool2d` (window i spans
 * floor(i·H/out) to ceil((i+1)·H/out)); a composition of two matmuls.
 *
 * @example
 * ```ts
 * import { adaptiveAvgPool2d, arange, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(9), [1, 1, 3, 3]);
 * assert.deepEqual(toArray(adaptiveAvgPool2d(x, 1)), [[[[4]]]]);
 * assert.deepEqual(adaptiveAvgPool2d(x, [2, 2]).shape, [1, 1, 2, 2]);
 * ```
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  using _op = userOp("adaptiveAvgPool2d");
  const fn = "adaptiveAvgPool2d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const [h, w] = x.shape.slice(-2);
  const [oh, ow] = adaptiveAvgPool2dShape(x.shape, outputSize).slice(-2);
  const rows = adaptiveMatrix(h, oh, x.dtype, false); // [oh, H]
  const cols = adaptiveMatrix(w, ow, x.dtype, true); // [W, ow]
  return onBatch(x, (x4) => matmul(matmul(rows, x4), cols));
}

/**
 * The output shape of {@linkcode linear}, with the op's checks and errors,
 * without computing anything. @internal
 */
export function linearShape(
  xShape: readonly number[],
  weightShape: readonly number[],
): number[] {
  const fn = "linear";
  if (weightShape.length !== 2) {
    throw new Error(`${fn}: weight must be [out, in], got ${fmt(weightShape)}`);
  }
  if (xShape.length < 1 || xShape[xShape.length - 1] !== weightShape[1]) {
    throw new Error(
      `${fn}: x has ${
        xShape[xShape.length - 1] ?? "no"
      } features but weight expects ${weightShape[1]} (x ${
        fmt(xShape)
      }, weight ${fmt(weightShape)})`,
    );
  }
  return [...xShape.slice(0, -1), weightShape[0]];
}

/**
 * Fully connected layer `x · weightᵀ + bias` over the last axis of x (any
 * number of leading axes), weight `[out, in]`, as `torch.nn.functional.linear`.
 *
 * @example
 * ```ts
 * import { linear, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = linear(tensor([[1, 2]]), tensor([[1, 0], [1, 1], [0, 2]]), tensor([0, 0, 1]));
 * assert.deepEqual(toArray(y), [[1, 3, 5]]);
 * ```
 */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
): Tensor {
  const fn = "linear";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  linearShape(x.shape, weight.shape);
  const b = checkBias(fn, bias, weight.shape[0]);
  return bind("linear", b ? [x, weight, b] : [x, weight], {});
}

// ---------------------------------------------------------------------------
// activations

function axisArg(
  fn: string,
  axis: number | { axis?: number } | undefined,
): number {
  const a = typeof axis === "object" && axis !== null
    ? (checkOptions(fn, axis, ["axis"]), axis.axis)
    : axis;
  return a ?? -1;
}

/**
 * Softmax along `axis` (default -1), stable for large inputs.
 *
 * @example
 * ```ts
 * import { softmax, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = toArray(softmax(tensor([1000, 1000], { dtype: "float64" })));
 * assert.deepEqual(p, [0.5, 0.5]);
 * ```
 */
export function softmax(
  x: Tensor,
  axis?: number | { axis?: number },
): Tensor {
  axis ??= -1;
  using _op = userOp("softmax");
  checkTensor("softmax", x, "x");
  floatCheck("softmax", "x", x);
  const a = axisArg("softmax", axis);
  // e^(x - max) / Σ e^(x - max); the shift is a constant that cancels
  const e = exp(sub(x, max(concrete(x), { axis: a, keepDims: true })));
  return div(e, sum(e, { axis: a, keepDims: true }));
}

/**
 * Log of softmax along `axis` (default -1), as PyTorch computes it:
 * `(x - max) - log(sum(exp(x - max)))`, so that a large common offset
 * cancels before any rounding (float32 logits `[10000.5, 10000]` give
 * `[-0.474077, -0.974077]`). As in PyTorch, a row with +Infinity or NaN, or
 * with only -Infinity, gives NaN; a -Infinity entry next to finite ones
 * gives -Infinity and no gradient.
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = toArray(logSoftmax(tensor([0, 0], { dtype: "float64" }))) as number[];
 * assert.ok(Math.abs(l[0] + Math.log(2)) < 1e-15);
 * ```
 */
export function logSoftmax(
  x: Tensor,
  axis?: number | { axis?: number },
): Tensor {
  axis ??= -1;
  using _op = userOp("logSoftmax");
  checkTensor("logSoftmax", x, "x");
  floatCheck("logSoftmax", "x", x);
  const a = axisArg("logSoftmax", axis);
  // the shift is a constant: it cancels in the value and in every derivative
  const shifted = sub(x, max(concrete(x), { axis: a, keepDims: true }));
  return sub(shifted, log(sum(exp(shifted), { axis: a, keepDims: true })));
}

/**
 * `max(x, 0) + negativeSlope · min(x, 0)`.
 *
 * @example
 * ```ts
 * import { leakyRelu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(leakyRelu(tensor([-2, 3], { dtype: "float64" }), { negativeSlope: 0.5 })), [-1, 3]);
 * ```
 */
export function leakyRelu(
  x: Tensor,
  options?: { negativeSlope?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("leakyRelu");
  checkOptions("leakyRelu", options, ["negativeSlope"]);
  checkTensor("leakyRelu", x, "x");
  return where(greater(x, 0), x, mul(x, options.negativeSlope ?? 0.01));
}

/**
 * ELU: x for x > 0, `alpha · (e^x - 1)` otherwise.
 *
 * @example
 * ```ts
 * import { elu, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(elu(tensor([0, 2]))), [0, 2]);
 * ```
 */
export function elu(x: Tensor, options?: { alpha?: number }): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("elu");
  checkOptions("elu", options, ["alpha"]);
  checkTensor("elu", x, "x");
  const pos = greater(x, 0);
  // exp only sees the negative part, so no inf reaches the unused branch's gradient
  const negPart = mul(sub(exp(where(pos, 0, x)), 1), options.alpha ?? 1);
  return where(pos, x, negPart);
}

/**
 * GELU: `x · Φ(x)` with the exact normal CDF (`approximate: "none"`, default)
 * or the tanh approximation.
 *
 * @example
 * ```ts
 * import { gelu, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(gelu(tensor(1, { dtype: "float64" }))) - 0.8413447460685429) < 1e-15);
 * ```
 */
export function gelu(
  x: Tensor,
  options?: { approximate?: "none" | "tanh" },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("gelu");
  checkOptions("gelu", options, ["approximate"]);
  checkTensor("gelu", x, "x");
  const approx = options.approximate ?? "none";
  if (approx === "tanh") {
    const inner = mul(
      add(x, mul(mul(square(x), x), 0.044715)),
      Math.sqrt(2 / Math.PI),
    );
    return mul(mul(x, 0.5), add(tanh(inner), 1));
  }
  if (approx !== "none") {
    throw new Error(
      `gelu: approximate must be "none" or "tanh", got ${
        JSON.stringify(approx)
      }`,
    );
  }
  return mul(mul(x, 0.5), add(bind("erf", [mul(x, Math.SQRT1_2)], {}), 1));
}

/**
 * SiLU (swish): `x · sigmoid(x)`.
 *
 * @example
 * ```ts
 * import { silu, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(silu(tensor(0))), 0);
 * ```
 */
export function silu(x: Tensor): Tensor {
  using _op = userOp("silu");
  checkTensor("silu", x, "x");
  return mul(x, sigmoid(x));
}

/**
 * Softplus `log(1 + e^(beta·x)) / beta`, linear where `beta·x > threshold`.
 *
 * @example
 * ```ts
 * import { softplus, tensor, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(softplus(tensor(0, { dtype: "float64" }))) - Math.log(2)) < 1e-15);
 * ```
 */
export function softplus(
  x: Tensor,
  options?: { beta?: number; threshold?: number },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("softplus");
  checkOptions("softplus", options, ["beta", "threshold"]);
  checkTensor("softplus", x, "x");
  const { beta = 1, threshold = 20 } = options;
  const bx = mul(x, beta);
  const linearPart = greater(bx, threshold);
  const safe = where(linearPart, 0, bx); // keeps exp finite in the branch not taken
  return where(linearPart, x, div(bind("log1p", [exp(safe)], {}), beta));
}

// ---------------------------------------------------------------------------
// losses

/** How a loss reduces over the batch. */
export type Reduction = "mean" | "sum" | "none";

function reduce(
  fn: string,
  loss: Tensor,
  reduction: Reduction | undefined,
): Tensor {
  const r = reduction ?? "mean";
  if (r === "mean") return mean(loss);
  if (r === "sum") return sum(loss);
  if (r === "none") return loss;
  throw new Error(
    `${fn}: reduction must be "mean", "sum" or "none", got ${
      JSON.stringify(reduction)
    }`,
  );
}

function sameShapeCheck(
  fn: string,
  a: Tensor,
  an: string,
  b: Tensor,
  bn: string,
): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(
      `${fn}: ${an} ${fmt(a.shape)} and ${bn} ${
        fmt(b.shape)
      } must have the same shape`,
    );
  }
}

/** Options of {@linkcode crossEntropy} and {@linkcode nllLoss}. */
export interface ClassLossOptions {
  /** "mean" (default; weighted by class weights as PyTorch), "sum" or "none". */
  reduction?: Reduction;
  /** Label to skip (contributes nothing, not counted in the mean). Default -100. */
  ignoreIndex?: number;
  /** Per-class weights `[C]`. */
  weight?: Tensor | null;
}

/** Checks int labels `[N, d...]` against logits `[N, C, d...]`; returns the one-hot mask over axis 1. */
function oneHot(
  fn: string,
  input: Tensor,
  labels: Tensor,
  ignoreIndex: number,
): Tensor {
  const c = input.shape[1];
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (!sameShape(labels.shape, expected)) {
    throw new Error(
      `${fn}: labels must have shape ${fmt(expected)} for input ${
        fmt(input.shape)
      }, got ${fmt(labels.shape)}`,
    );
  }
  const data = labels.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== ignoreIndex && (v < 0 || v >= c)) {
      throw new Error(
        `${fn}: labels must be in [0, ${c}) (or ignoreIndex ${ignoreIndex}), got ${v} at flat index ${i} (labels ${
          fmt(labels.shape)
        })`,
      );
    }
  }
  const classShape = [1, c, ...input.shape.slice(2).map(() => 1)];
  return equal(
    expandDims(labels, 1),
    reshape(arange(c, undefined, 1, { dtype: "int32" }), classShape),
  );
}

function classWeight(
  fn: string,
  weight: Tensor | null | undefined,
  input: Tensor,
): Tensor | null {
  if (weight === undefined || weight === null) return null;
  checkTensor(fn, weight, "weight");
  if (weight.shape.length !== 1 || weight.shape[0] !== input.shape[1]) {
    throw new Error(
      `${fn}: weight must have shape [${input.shape[1]}] (one per class), got ${
        fmt(weight.shape)
      }`,
    );
  }
  return reshape(weight, [
    1,
    input.shape[1],
    ...input.shape.slice(2).map(() => 1),
  ]);
}

function classInput(fn: string, input: Tensor, name: string): void {
  checkTensor(fn, input, name);
  floatCheck(fn, name, input);
  if (input.shape.length < 2) {
    throw new Error(
      `${fn}: ${name} must be [N, C, ...], got ${fmt(input.shape)}`,
    );
  }
}

/**
 * Negative log-likelihood of int32 class labels given log-probabilities
 * `[N, C, ...]`, as `torch.nn.functional.nll_loss`.
 *
 * @example
 * ```ts
 * import { item, nllLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const logp = tensor([[-1, -2], [-3, -0.5]]);
 * assert.equal(item(nllLoss(logp, tensor([0, 1], { dtype: "int32" }))), 0.75);
 * ```
 */
export function nllLoss(
  logProbs: Tensor,
  labels: Tensor,
  options?: ClassLossOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("nllLoss");
  const fn = "nllLoss";
  checkOptions(fn, options, ["reduction", "ignoreIndex", "weight"]);
  classInput(fn, logProbs, "logProbs");
  return classLoss(fn, logProbs, labels, options, 0);
}

function classLoss(
  fn: string,
  logp: Tensor,
  labels: Tensor,
  options: ClassLossOptions & { labelSmoothing?: number },
  smoothing: number,
): Tensor {
  checkTensor(fn, labels, "labels");
  if (labels.dtype !== "int32") {
    throw new Error(
      `${fn}: labels must be int32 class indices, got ${labels.dtype} ${
        fmt(labels.shape)
      }`,
    );
  }
  const ignoreIndex = options.ignoreIndex ?? -100;
  const isLabel = oneHot(fn, logp, labels, ignoreIndex);
  const hot = astype(isLabel, logp.dtype);
  const w = classWeight(fn, options.weight, logp);
  const keep = astype(notEqual(labels, ignoreIndex), logp.dtype); // [N, ...]
  const wHot = w ? mul(hot, w) : hot;
  const sampleW = mul(sum(wHot, { axis: 1 }), keep); // weight of each sample's label (0 if ignored)
  // the label's log-probability, picked (not multiplied by the one-hot: the
  // -Infinity of an impossible class times 0 would be NaN)
  const picked = where(isLabel, w ? mul(logp, w) : logp, 0);
  let loss = mul(neg(sum(picked, { axis: 1 })), keep);
  if (smoothing > 0) {
    // PyTorch: (1 - ε)·nll + ε/C · (-Σ_c w_c logp_c), both over the kept samples
    const c = logp.shape[1];
    const smooth = mul(neg(sum(w ? mul(logp, w) : logp, { axis: 1 })), keep);
    loss = add(mul(loss, 1 - smoothing), mul(smooth, smoothing / c));
  }
  const r = options.reduction ?? "mean";
  if (r === "mean") return div(sum(loss), sum(sampleW));
  return reduce(fn, loss, r);
}

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions extends ClassLossOptions {
  /** Mix the target with the uniform distribution by this amount. Default 0. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits `[N, C, ...]` against int32 class labels `[N, ...]`
 * (or class probabilities of the logits' shape), as
 * `torch.nn.functional.cross_entropy` with `reduction`, `labelSmoothing`,
 * `ignoreIndex` and class `weight`.
 *
 * @example
 * ```ts
 * import { crossEntropy, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const logits = tensor([[0, 0]], { dtype: "float64" });
 * const loss = crossEntropy(logits, tensor([1], { dtype: "int32" }));
 * assert.ok(Math.abs(item(loss) - Math.log(2)) < 1e-15);
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  labels: Tensor,
  options?: CrossEntropyOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("crossEntropy");
  const fn = "crossEntropy";
  checkOptions(fn, options, [
    "reduction",
    "ignoreIndex",
    "weight",
    "labelSmoothing",
  ]);
  classInput(fn, logits, "logits");
  checkTensor(fn, labels, "labels");
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) {
    throw new Error(`${fn}: labelSmoothing must be in [0, 1], got ${eps}`);
  }
  const logp = logSoftmax(logits, 1);
  if (labels.dtype !== "int32") {
    // class probabilities
    sameShapeCheck(
      fn,
      logits,
      "logits",
      labels,
      "labels (class probabilities)",
    );
    const c = logits.shape[1];
    const target = eps > 0 ? add(mul(labels, 1 - eps), eps / c) : labels;
    const w = classWeight(fn, options.weight, logits);
    const loss = neg(sum(mul(mul(logp, target), w ?? 1), { axis: 1 }));
    return reduce(fn, loss, options.reduction);
  }
  return classLoss(fn, logp, labels, options, eps);
}

/**
 * Mean squared error, as `torch.nn.functional.mse_loss`.
 *
 * @example
 * ```ts
 * import { item, mseLoss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(mseLoss(tensor([1, 2]), tensor([3, 2]))), 2);
 * ```
 */
export function mseLoss(
  x: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("mseLoss");
  const fn = "mseLoss";
  checkOptions(fn, options, ["reduction"]);
  checkTensor(fn, x, "x");
  checkTensor(fn, target, "target");
  sameShapeCheck(fn, x, "x", target, "target");
  return reduce(fn, square(sub(x, target)), options.reduction);
}

/**
 * Mean absolute error, as `torch.nn.functional.l1_loss`.
 *
 * @example
 * ```ts
 * import { item, l1Loss, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(l1Loss(tensor([1, 2]), tensor([3, 2]), { reduction: "sum" })), 2);
 * ```
 */
export function l1Loss(
  x: Tensor,
  target: Tensor,
  options?: { reduction?: Reduction },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("l1Loss");
  const fn = "l1Loss";
  checkOptions(fn, options, ["reduction"]);
  checkTensor(fn, x, "x");
  checkTensor(fn, target, "target");
  sameShapeCheck(fn, x, "x", target, "target");
  return reduce(fn, abs(sub(x, target)), options.reduction);
}

/**
 * Binary cross-entropy on logits, stable, as
 * `torch.nn.functional.binary_cross_entropy_with_logits` (with optional
 * element `weight` and `posWeight`).
 *
 * @example
 * ```ts
 * import { binaryCrossEntropyWithLogits, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const l = binaryCrossEntropyWithLogits(tensor([0], { dtype: "float64" }), tensor([1], { dtype: "float64" }));
 * assert.ok(Math.abs(item(l) - Math.log(2)) < 1e-15);
 * ```
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  targets: Tensor,
  options?: {
    reduction?: Reduction;
    weight?: Tensor | null;
    posWeight?: Tensor | null;
  },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("binaryCrossEntropyWithLogits");
  const fn = "binaryCrossEntropyWithLogits";
  checkOptions(fn, options, ["reduction", "weight", "posWeight"]);
  checkTensor(fn, logits, "logits");
  checkTensor(fn, targets, "targets");
  floatCheck(fn, "logits", logits);
  sameShapeCheck(fn, logits, "logits", targets, "targets");
  // (1 - t)·x + (1 + (pw - 1)·t)·(log1p(e^-|x|) + max(-x, 0))
  const softTerm = add(
    bind("log1p", [exp(neg(abs(logits)))], {}),
    maximum(neg(logits), 0),
  );
  const logWeight = options.posWeight
    ? add(mul(sub(options.posWeight, 1), targets), 1)
    : 1;
  let loss = add(mul(sub(1, targets), logits), mul(softTerm, logWeight));
  if (options.weight) loss = mul(loss, options.weight);
  return reduce(fn, loss, options.reduction);
}

// ---------------------------------------------------------------------------
// dropout and batch norm

/**
 * Inverted dropout: zeroes each element with probability `p` (drawn from
 * `key`) and scales the rest by 1/(1-p); the identity when not training.
 *
 * @example
 * ```ts
 * import { dropout, ones, random, sum, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = dropout(ones([1000]), { p: 0.5, key: random.key(0) });
 * assert.ok(Math.abs(item(sum(y)) - 1000) < 150);
 * assert.equal(item(sum(dropout(ones([10]), { p: 0.5, training: false }))), 10);
 * ```
 */
export function dropout(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("dropout");
  const fn = "dropout";
  checkOptions(fn, options, ["p", "key", "training"]);
  checkTensor(fn, x, "x");
  const { p = 0.5, training = true } = options;
  if (!(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: p must be in [0, 1], got ${p}`);
  }
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  if (!options.key) {
    throw new Error(
      `${fn}: training needs options.key (a random.key) to draw the mask`,
    );
  }
  const keepMask = bernoulli(options.key, 1 - p, x.shape as number[]);
  return mul(x, mul(astype(keepMask, x.dtype), 1 / (1 - p)));
}

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** Running mean `[C]` (required when not training). */
  runningMean?: Tensor | null;
  /** Running variance `[C]` (required when not training). */
  runningVar?: Tensor | null;
  /** Scale `[C]`. */
  weight?: Tensor | null;
  /** Shift `[C]`. */
  bias?: Tensor | null;
  /** Use batch statistics and update the running ones. Default false. */
  training?: boolean;
  /** Running-statistics update rate. Default 0.1. */
  momentum?: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/**
 * Batch normalisation over axis 1 of `[N, C]` or `[N, C, H, W]`, as
 * `torch.nn.functional.batch_norm`, returning the new running statistics
 * instead of updating them (`runningVar` uses the unbiased batch variance).
 * Computed as PyTorch's CPU kernel does, `x·α + β` with per-channel
 * `α = weight / sqrt(var + eps)` and `β = bias - mean·α`; in training mode
 * one primitive whose derivatives are fused kernels too (about the cost of
 * a bias add and a relu), differentiable to any order.
 *
 * @example
 * ```ts
 * import { batchNorm, tensor, toArray, zeros, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1], [3]], { dtype: "float64" });
 * const { y, runningMean, runningVar } = batchNorm(x, {
 *   training: true, runningMean: zeros([1], { dtype: "float64" }), runningVar: ones([1], { dtype: "float64" }), eps: 0,
 * });
 * assert.deepEqual(toArray(y), [[-1], [1]]);
 * assert.deepEqual(toArray(runningMean!), [0.2]); // 0.9·0 + 0.1·2
 * assert.deepEqual(toArray(runningVar!), [1.1]); // 0.9·1 + 0.1·2 (unbiased)
 * ```
 */
export function batchNorm(
  x: Tensor,
  options?: BatchNormOptions,
): { y: Tensor; runningMean: Tensor | null; runningVar: Tensor | null } {
  if (options === undefined) options = {};
  using _op = userOp("batchNorm");
  const fn = "batchNorm";
  checkOptions(fn, options, [
    "runningMean",
    "runningVar",
    "weight",
    "bias",
    "training",
    "momentum",
    "eps",
  ]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  if (x.shape.length < 2) {
    throw new Error(`${fn}: x must be [N, C, ...], got ${fmt(x.shape)}`);
  }
  const c = x.shape[1];
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  const stat = (name: string, t: Tensor | null | undefined) => {
    if (t === undefined || t === null) return null;
    checkTensor(fn, t, name);
    if (t.shape.length !== 1 || t.shape[0] !== c) {
      throw new Error(
        `${fn}: ${name} must have shape [${c}] for x ${fmt(x.shape)}, got ${
          fmt(t.shape)
        }`,
      );
    }
    return t;
  };
  const rm = stat("runningMean", options.runningMean),
    rv = stat("runningVar", options.runningVar);
  const w = stat("weight", options.weight), b = stat("bias", options.bias);
  const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
  // one dtype for x and the per-channel tensors y depends on (float64 if any
  // is; in training the running statistics are only updated)
  let dtype = x.dtype;
  for (const t of training ? [w, b] : [rm, rv, w, b]) {
    if (t) dtype = promote(dtype, t.dtype);
  }
  const as = (t: Tensor) => t.dtype === dtype ? t : astype(t, dtype);
  const xd = as(x);
  if (!training) {
    if (!rm || !rv) {
      throw new Error(
        `${fn}: evaluation (training: false) needs runningMean and runningVar`,
      );
    }
    // x·α + β with α = w / sqrt(var + eps), β = b - mean·α (as PyTorch's CPU
    // kernel): two passes over x
    let alpha = div(1, sqrtOf(add(as(rv), eps)));
    if (w) alpha = mul(alpha, as(w));
    let beta = neg(mul(as(rm), alpha));
    if (b) beta = add(beta, as(b));
    return {
      y: add(mul(xd, reshape(alpha, bshape)), reshape(beta, bshape)),
      runningMean: rm,
      runningVar: rv,
    };
  }
  const [n, , s] = ncs(x.shape);
  if (n * s < 2) {
    throw new Error(
      `${fn}: training needs more than 1 value per channel, got x ${
        fmt(x.shape)
      }`,
    );
  }
  const y = bindRule(batchNormTrainRule, [
    xd,
    w ? as(w) : ones([c], { dtype }),
    b ? as(b) : zeros([c], { dtype }),
  ], { eps });
  let newMean = rm, newVar = rv;
  if (rm || rv) { // buffers: no derivative flows into them
    const xc = concrete(xd);
    const st = bnk.moments(xc.data, n, c, s);
    const stat = (v: Float64Array) => tensor(v, { shape: [c], dtype });
    if (rm) newMean = add(mul(rm, 1 - momentum), mul(stat(st.mean), momentum));
    if (rv) {
      const unbiased = (momentum * n * s) / (n * s - 1);
      newVar = add(mul(rv, 1 - momentum), mul(stat(st.variance), unbiased));
    }
  }
  return { y, runningMean: newMean, runningVar: newVar };
}

/** `[N, C, ...]` viewed as `[n, c, s]`, s the product of the spatial sizes. */
function ncs(shape: readonly number[]): [number, number, number] {
  return [shape[0], shape[1], shape.slice(2).reduce((p, d) => p * d, 1)];
}

/** The axes batch norm reduces over: all but the channel axis 1. */
function bnAxes(shape: readonly number[]): number[] {
  return [0, ...shape.slice(2).map((_, i) => i + 2)];
}

/** The static parameter of the batch-norm primitives. */
interface BnParams {
  eps: number;
}

/**
 * Batch norm in training mode, `(x - mean)·rstd·w + b` with the batch's
 * statistics, as one primitive: a fused kernel reads x for the statistics
 * and writes y once. Its VJP is two more primitives with fused kernels (the
 * input and the weight derivative) and a sum (the bias derivative), so a
 * training step makes one full-size array forward and one backward.
 */
const batchNormTrainRule: Rule<BnParams> = {
  name: "batchNorm",
  forward: ([x, w, b], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    const out = allocData(x.dtype, x.data.length);
    return fromData(
      bnk.forward(x.data, n, c, s, w.data, b.data, eps, out),
      x.shape,
    );
  },
  vjp: ([x, w], _y, p) => [
    (g) => bindRule(batchNormInputGradRule, [g, x, w], p),
    (g) => bindRule(batchNormWeightGradRule, [g, x], p),
    (g) => sum(g, { axis: bnAxes(x.shape) }),
  ],
};

/** x̂ = (x - mean)·rstd with the batch statistics, in public ops. */
function normalizedRef(x: Tensor, eps: number): Tensor {
  const keep = { axis: bnAxes(x.shape), keepDims: true };
  const d = sub(x, mean(x, keep));
  return div(d, sqrtOf(add(mean(square(d), keep), eps)));
}

/**
 * The input derivative of training-mode batch norm in public ops,
 * `w·rstd·(g - mean(g) - x̂·mean(g·x̂))`: what the input-derivative kernel
 * computes, written so its own derivatives (grad of grad) come from autodiff.
 */
function inputGradRef(g: Tensor, x: Tensor, w: Tensor, eps: number): Tensor {
  const keep = { axis: bnAxes(x.shape), keepDims: true };
  const d = sub(x, mean(x, keep));
  const rstd = div(1, sqrtOf(add(mean(square(d), keep), eps)));
  const xh = mul(d, rstd);
  const inner = sub(sub(g, mean(g, keep)), mul(xh, mean(mul(g, xh), keep)));
  return mul(inner, mul(reshape(w, rstd.shape as number[]), rstd));
}

/** The VJP closures of `f` at `inputs`, one per input, sharing one backward pass per cotangent. */
function vjpOf(
  f: (...args: Tensor[]) => Tensor,
  inputs: Tensor[],
): ((ct: Tensor) => Tensor)[] {
  const [, back] = vjp(f, ...inputs);
  let cache: [Tensor, Tensor[]] | null = null;
  return inputs.map((_, i) => (ct: Tensor) => {
    if (!cache || cache[0] !== ct) cache = [ct, back(ct)];
    return cache[1][i];
  });
}

/** The input derivative of {@linkcode batchNormTrainRule}: inputs g, x, w. */
const batchNormInputGradRule: Rule<BnParams> = {
  name: "batchNormInputGrad",
  forward: ([g, x, w], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    const out = allocData(x.dtype, x.data.length);
    return fromData(
      bnk.inputGrad(g.data, x.data, n, c, s, w.data, eps, out),
      x.shape,
    );
  },
  vjp: (inputs, _y, { eps }) =>
    vjpOf((g, x, w) => inputGradRef(g, x, w, eps), inputs),
};

/** The weight derivative of {@linkcode batchNormTrainRule}, `Σ g·x̂` per channel: inputs g, x. */
const batchNormWeightGradRule: Rule<BnParams> = {
  name: "batchNormWeightGrad",
  forward: ([g, x], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    return fromData(
      bnk.weightGrad(g.data, x.data, n, c, s, eps, allocData(x.dtype, c)),
      [c],
    );
  },
  vjp: (inputs, _y, { eps }) =>
    vjpOf(
      (g, x) => sum(mul(g, normalizedRef(x, eps)), { axis: bnAxes(x.shape) }),
      inputs,
    ),
};

function sqrtOf(t: Tensor): Tensor {
  return bind("sqrt", [t], {});
}
