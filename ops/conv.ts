/**
 * Convolutions, with PyTorch's semantics and argument checking.
 *
 * Convolution is three primitives that are each other's adjoints, as in JAX:
 * `conv2d(x, w)`, its transpose in x `conv2dInputAdjoint(y, w)` (a
 * transposed convolution: the input VJP, and the public `convTranspose2d`),
 * and its transpose in w `conv2dWeightAdjoint(x, y)` (the weight VJP). Each
 * one's VJP is written with the other two, so every order of derivative works.
 *
 * @module
 */
import {
  allocData,
  checkBool,
  checkOptions,
  checkTensor,
  describe,
  fromData,
  promote,
  type Tensor,
  zeros,
} from "./tensor.ts";
import {
  type BatchRule,
  bind,
  definePrimitive,
  type Primitive,
} from "./trace.ts";
import { userOp } from "./debug.ts";
import {
  batchShape,
  bounded,
  floatCheck,
  fmt,
  type Pair,
  pair,
  showValue,
} from "./_args.ts";
import { add } from "./elementwise.ts";
import {
  batchFront,
  batchSize,
  broadcastTo,
  expandDims,
  reshape,
  slice,
  squeeze,
  sum,
  transpose,
} from "./structural.ts";
import * as cv from "./kernels/conv.ts";

/** Geometry shared by the three convolution primitives. */
export interface ConvParams {
  stride: [number, number];
  /** top, bottom, left, right */
  padding: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/**
 * Output length of a convolution or pooling along one axis:
 * floor((size + padTotal - dilation·(kernel - 1) - 1) / stride) + 1, and with
 * ceilMode PyTorch's rule (ceil, but the last window must start inside the
 * input or the left padding).
 */
export function outputLength(
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = size + padBefore + padAfter - dilation * (kernel - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) +
    1;
  if (ceilMode && (out - 1) * stride >= size + padBefore) out--;
  return out;
}

function convGeometry(
  x: readonly number[],
  o: number,
  k: [number, number],
  out: [number, number],
  p: ConvParams,
): cv.ConvGeometry {
  return {
    n: x[0],
    c: x[1],
    h: x[2],
    w: x[3],
    o,
    kh: k[0],
    kw: k[1],
    oh: out[0],
    ow: out[1],
    // an axis with one output never steps: its stride (any integer, 2^32
    // too) is 1 for the kernels, whose records hold int32s
    sh: out[0] === 1 ? 1 : p.stride[0],
    sw: out[1] === 1 ? 1 : p.stride[1],
    pt: p.padding[0],
    pl: p.padding[2],
    dh: p.dilation[0],
    dw: p.dilation[1],
    groups: p.groups,
  };
}

/** Output `[H, W]` of a convolution of x `[N, C, H, W]` with weight `[O, I, kH, kW]`. */
export function convOutSize(
  x: readonly number[],
  k: readonly number[],
  p: ConvParams,
): [number, number] {
  const axis = (a: number) =>
    outputLength(
      x[2 + a],
      k[2 + a],
      p.stride[a],
      p.padding[2 * a], // top / left
      p.padding[2 * a + 1], // bottom / right
      p.dilation[a],
    );
  return [axis(0), axis(1)];
}

/** conv2d whose output is cropped to `size` (an adjoint's VJP may ask for fewer rows than conv2d gives). */
function convCropped(
  x: Tensor,
  w: Tensor,
  p: ConvParams,
  size: readonly number[],
): Tensor {
  const y = bind(conv2dPrim, [x, w], p);
  if (y.shape[2] === size[0] && y.shape[3] === size[1]) return y;
  return slice(y, [0, 0, 0, 0], [y.shape[0], y.shape[1], size[0], size[1]]);
}

/**
 * JVP of a primitive bilinear in its first two inputs, plus an optional
 * additive bias over the channels (axis 1 of an image with `spatial`, else
 * the last axis): d(a ∘ b + c) = da ∘ b + a ∘ db + dc. `prim` is a thunk
 * because the rule is written before its primitive exists. @internal
 */
export function bilinearJvp<P>(prim: () => Primitive<P>, spatial: boolean) {
  return (
    inputs: Tensor[],
    [ta, tb, tc]: (Tensor | null)[],
    out: Tensor,
    params: P,
  ): Tensor => {
    const [a, b] = inputs;
    const terms: Tensor[] = [];
    if (ta) terms.push(bind(prim(), [ta, b], params));
    if (tb) terms.push(bind(prim(), [a, tb], params));
    if (tc) {
      terms.push(
        broadcastTo(
          reshape(tc, spatial ? [tc.shape[0], 1, 1] : [tc.shape[0]]),
          out.shape,
        ),
      );
    }
    return terms.reduce((s, t) => add(s, t));
  };
}

const sumToBias = (g: Tensor) => sum(g, { axis: [0, 2, 3] });

/**
 * `f(x)` on x as a batch: an unbatched `[C, ...spatial]` (`spatial` axes,
 * default 2: `[C, H, W]`) gets the batch axis for `f`, and loses it again.
 */
export function onBatch(
  x: Tensor,
  f: (batched: Tensor) => Tensor,
  spatial = 2,
): Tensor {
  return x.shape.length === spatial + 1
    ? squeeze(f(expandDims(x, 0)), 0)
    : f(x);
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
 * the right padding (PyTorch's rule). Each argument is one integer (size >= 0,
 * kernelSize, stride and dilation >= 1, padding >= 0); a window that does
 * not fit (an output size below 1) is an error, as in `conv2d`.
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
  const fn = "conv2dOutputSize";
  if (options === undefined) options = {};
  checkOptions(fn, options, ["stride", "padding", "dilation", "ceilMode"]);
  // (one axis: each a single integer, with conv2d's bounds and wording)
  const int = (name: string, v: unknown, min: number): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new Error(
        `${fn}: ${name} must be an integer >= ${min}, got ${
          typeof v === "number" ? v : describe(v)
        }`,
      );
    }
    return v;
  };
  int("size", size, 0);
  int("kernelSize", kernelSize, 1);
  const stride = int("stride", options.stride ?? 1, 1);
  const padding = int("padding", options.padding ?? 0, 0);
  const dilation = int("dilation", options.dilation ?? 1, 1);
  const ceilMode = checkBool(fn, "ceilMode", options.ceilMode, false);
  const out = outputLength(
    size,
    kernelSize,
    stride,
    padding,
    padding,
    dilation,
    ceilMode,
  );
  if (out < 1) {
    throw new Error(
      `${fn}: output size would be ${out} (< 1): kernel ${kernelSize} with dilation ${dilation} is larger than the padded input (size ${size}, padding ${padding})`,
    );
  }
  return out;
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
      `${fn}: groups must be a positive integer, got ${showValue(groups)}`,
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
  checkChannels(fn, c, wo, wi, groups, transposed, [x4, wShape]);
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

/**
 * Checks x's channels `c` against the weight's output and input channels
 * (`wo`, `wi`; the other way round when transposed) and `groups`; the
 * errors show the shapes `[x, w]` as the caller was given them. @internal
 */
export function checkChannels(
  fn: string,
  c: number,
  wo: number,
  wi: number,
  groups: number,
  transposed: boolean,
  [x, w]: readonly (readonly number[])[],
): void {
  const shapes = `(x ${fmt(x)}, weight ${fmt(w)})`;
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
  const [n, c, h, w] = x4, pd = p.padding;
  bounded(fn, [
    ["output", [n, wShape[0], oh, ow]],
    ["padded input", [n, c, h + pd[0] + pd[1], w + pd[2] + pd[3]]],
  ]);
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

export function checkBias(
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
 * `prim(x, w, bias)`, a convolution with its bias added in the kernel; a
 * bias that would widen the result (float64 on float32 x and weight) is
 * added after, as `add` promotes (and as under vmap), since the kernels
 * write the dtype of x and the weight.
 */
function withBias<P>(
  prim: Primitive<P>,
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  p: P,
): Tensor {
  if (!b) return bind(prim, [x, w], p);
  const dtype = promote(x.dtype, w.dtype);
  if (promote(dtype, b.dtype) === dtype) return bind(prim, [x, w, b], p);
  return add(bind(prim, [x, w], p), reshape(b, [b.shape[0], 1, 1]));
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
    (x4) => withBias(conv2dPrim, x4, weight, b, p),
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
  bounded(fn, [["output", [x4[0], wShape[1] * p.groups, ...size]]]);
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
    (x4) => withBias(conv2dInputAdjointPrim, x4, weight, b, p),
  );
}

// ---------------------------------------------------------------------------
// batching (vmap), JAX's three cases: examples folded into N when only the
// image is batched, into the output channels when only the weights are, and
// into the channels with groups × B when both are, so that per-example
// weight gradients are one grouped convolution

/** [B, N, ...] (batch axis 0) as [B·N, ...], and the function back. */
export function foldIntoN(x: Tensor): [Tensor, (y: Tensor) => Tensor] {
  const [b, n, ...rest] = x.shape;
  return [
    reshape(x, [b * n, ...rest]),
    (y) => reshape(y, [b, n, ...y.shape.slice(1)]),
  ];
}

/** [B, N, C, H, W] (batch axis 0) as [N, B·C, H, W]: examples side by side in the channels. */
function intoChannels(x: Tensor): Tensor {
  const [b, n, c, h, w] = x.shape;
  return reshape(transpose(x, [1, 0, 2, 3, 4]), [n, b * c, h, w]);
}

/** [N, B·C, H, W] as [N, B, C, H, W] (batch axis 1); C given, as B may be 0. */
function outOfChannels(y: Tensor, b: number, c: number): Tensor {
  const [n, , h, w] = y.shape;
  return reshape(y, [n, b, c, h, w]);
}

/**
 * The batching rule of a convolution-like primitive `prim(a, w, bias?)`
 * whose examples fold into N when only `a` is batched; otherwise both
 * operands are batched (an unbatched one repeated) and folded into the
 * channels with groups × B; the result's batch axis is 1.
 */
function convBatch<P extends ConvParams>(
  prim: () => Primitive<P>,
  outChannels: (wShape: readonly number[], p: P) => number,
): BatchRule<P> {
  return ([a, w, bias], [da, dw, db], p) => {
    const dbias = db ?? null;
    if (dw === null && dbias === null) {
      const [af, unfold] = foldIntoN(batchFront(a, da, 0));
      return [unfold(bind(prim(), bias ? [af, w, bias] : [af, w], p)), 0];
    }
    const b = batchSize([a, w, ...(bias ? [bias] : [])], [da, dw, dbias]);
    const wf = batchFront(w, dw, b); // [B, O, C/g, kh, kw]
    const wg = reshape(wf, [b * wf.shape[1], ...wf.shape.slice(2)]);
    const c = outChannels(wf.shape.slice(1), p); // (from w: B may be 0)
    // the bias [B, C] as the grouped convolution's [B·C], which its kernel
    // starts its sums from, as each example's own call does
    const bg = bias ? [reshape(batchFront(bias, dbias, b), [b * c])] : [];
    const y = bind(prim(), [intoChannels(batchFront(a, da, b)), wg, ...bg], {
      ...p,
      groups: p.groups * b,
    });
    return [outOfChannels(y, b, c), 1];
  };
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

/** conv2d's forward: its kernel, or the kernel with relu fused (`relu(conv2d(...))`). */
const conv2dKernel =
  (relu: boolean) => ([x, w, b]: Tensor[], p: ConvParams) => {
    const [oh, ow] = convOutSize(x.shape, w.shape, p);
    const g = convGeometry(x.shape, w.shape[0], [w.shape[2], w.shape[3]], [
      oh,
      ow,
    ], p);
    const kernel = relu ? cv.conv2dForwardRelu : cv.conv2dForward;
    return fromData(kernel(x.data, w.data, b ? b.data : null, g), [
      g.n,
      g.o,
      oh,
      ow,
    ]);
  };

const conv2dPrim: Primitive<ConvParams> = definePrimitive({
  name: "conv2d",
  forward: conv2dKernel(false),
  epilogue: { relu: conv2dKernel(true) },
  vjp: ([x, w, b], _y, p) => [
    (g) =>
      bind(conv2dInputAdjointPrim, [g, w], {
        ...p,
        inputSize: [x.shape[2], x.shape[3]],
      }), // dx = convᵀ(g, w)
    (g) =>
      bind(conv2dWeightAdjointPrim, [x, g], {
        ...p,
        kernelSize: [w.shape[2], w.shape[3]],
      }), // dw = conv_wᵀ(x, g)
    ...(b ? [sumToBias] : []), // db = Σ g over n, h, w
  ],
  jvp: bilinearJvp(() => conv2dPrim, true),
  batch: convBatch(() => conv2dPrim, (w) => w[0]),
});

const conv2dInputAdjointPrim: Primitive<
  ConvParams & { inputSize: [number, number] }
> = definePrimitive({
  name: "conv2dInputAdjoint",
  forward: ([y, w, b], p) => {
    const c = w.shape[1] * p.groups;
    const g = convGeometry([y.shape[0], c, ...p.inputSize], w.shape[0], [
      w.shape[2],
      w.shape[3],
    ], [
      y.shape[2],
      y.shape[3],
    ], p);
    const out = cv.conv2dInputAdjoint(y.data, w.data, g);
    if (b) {
      const hw = g.h * g.w;
      for (let i = 0; i < out.length; i++) {
        out[i] += b.data[Math.floor(i / hw) % c];
      }
    }
    return fromData(out, [g.n, c, g.h, g.w]);
  },
  vjp: ([y, w, b], _x, p) => [
    (g) => convCropped(g, w, p, [y.shape[2], y.shape[3]]), // the adjoint of the adjoint is conv
    (g) =>
      bind(conv2dWeightAdjointPrim, [g, y], {
        ...p,
        kernelSize: [w.shape[2], w.shape[3]],
      }),
    ...(b ? [sumToBias] : []),
  ],
  jvp: bilinearJvp(() => conv2dInputAdjointPrim, true),
  batch: convBatch(
    () => conv2dInputAdjointPrim,
    (w, p) => w[1] * p.groups,
  ),
});

const conv2dWeightAdjointPrim: Primitive<
  ConvParams & { kernelSize: [number, number] }
> = definePrimitive({
  name: "conv2dWeightAdjoint",
  forward: ([x, y], p) => {
    const g = convGeometry(x.shape, y.shape[1], p.kernelSize, [
      y.shape[2],
      y.shape[3],
    ], p);
    const out = allocData(
      promote(x.dtype, y.dtype),
      g.o * (g.c / g.groups) * g.kh * g.kw,
    );
    return fromData(cv.conv2dWeightAdjoint(x.data, y.data, g, out), [
      g.o,
      g.c / g.groups,
      g.kh,
      g.kw,
    ]);
  },
  vjp: ([x, y], _w, p) => [
    (g) =>
      bind(conv2dInputAdjointPrim, [y, g], {
        ...p,
        inputSize: [x.shape[2], x.shape[3]],
      }),
    (g) => convCropped(x, g, p, [y.shape[2], y.shape[3]]),
  ],
  jvp: bilinearJvp(() => conv2dWeightAdjointPrim, true),
  // dw of each example: both operands folded into the channels, groups × B
  batch: ([x, y], [dx, dy], p) => {
    const b = batchSize([x, y], [dx, dy]);
    const xf = batchFront(x, dx, b), yf = batchFront(y, dy, b);
    // each example's dw shape (from x, y and p: there may be no example)
    const shape = [b, yf.shape[2], xf.shape[2] / p.groups, ...p.kernelSize];
    if (b === 0) return [zeros(shape, { dtype: promote(x.dtype, y.dtype) }), 0];
    const dw = bind(conv2dWeightAdjointPrim, [
      intoChannels(xf),
      intoChannels(yf),
    ], { ...p, groups: p.groups * b });
    return [reshape(dw, shape), 0];
  },
});

// ---------------------------------------------------------------------------
// the public ops

// ---------------------------------------------------------------------------
// 1-D convolution: the 2-D op on a height of 1 (x [N, C, 1, L], weight
// [O, C / groups, 1, K]), so it needs no rule of its own and runs on the same
// kernels; its arguments are checked first, with 1-D messages

/** A 1-D size: an integer >= min, or a one-element array of one (PyTorch's 1-tuple). @internal */
export function single(
  fn: string,
  name: string,
  v: unknown,
  min: number,
): number {
  const n = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (!Number.isInteger(n) || (n as number) < min) {
    throw new Error(
      `${fn}: ${name} must be an integer >= ${min} (or a one-element array of one), got ${
        showValue(v)
      }`,
    );
  }
  return n as number;
}

/** x's shape as a 1-D batch: `[N, C, L]` as it is, an unbatched `[C, L]` with N = 1. @internal */
export function lengthBatchShape(
  fn: string,
  shape: readonly number[],
): readonly number[] {
  if (shape.length === 2) return [1, ...shape];
  if (shape.length !== 3) {
    throw new Error(
      `${fn}: x must be [N, C, L] or unbatched [C, L], got ${fmt(shape)}`,
    );
  }
  return shape;
}

/** `f` (a 2-D op) applied to x `[..., L]` seen as `[..., 1, L]`; the height axis is removed again. @internal */
export function onLength(x: Tensor, f: (x2: Tensor) => Tensor): Tensor {
  return squeeze(f(expandDims(x, -2)), -2);
}

/** Options of {@linkcode conv1d}. */
export interface Conv1dOptions {
  /** Step between windows. Default 1. */
  stride?: number;
  /** Zero padding per side, or "valid" (none) or "same" (output length = input length; stride 1 only). Default 0. */
  padding?: number | "valid" | "same";
  /** Spacing between kernel taps. Default 1. */
  dilation?: number;
  /** Channel groups (groups = channels is depthwise). Default 1. */
  groups?: number;
}

/**
 * Checks conv1d's options with its messages, and returns them as conv2d's
 * (height 1: stride, padding and dilation of 1, 0 and 1 along it); needs no
 * shape, so a layer checks its options when it is built. @internal
 */
export function conv1dSettings(
  fn: string,
  options: Conv1dOptions,
): Conv2dOptions & { stride: [number, number]; dilation: [number, number] } {
  checkOptions(fn, options, ["stride", "padding", "dilation", "groups"]);
  const stride = single(fn, "stride", options.stride ?? 1, 1);
  const dilation = single(fn, "dilation", options.dilation ?? 1, 1);
  const p = options.padding ?? 0;
  if (p === "same" && stride !== 1) {
    throw new Error(
      `${fn}: padding "same" needs stride 1, got stride ${stride}`,
    );
  }
  const padding: Conv2dOptions["padding"] = p === "same" || p === "valid"
    ? p
    : [0, single(fn, "padding", p, 0)];
  const lifted = {
    stride: [1, stride] as [number, number],
    padding,
    dilation: [1, dilation] as [number, number],
    groups: options.groups ?? 1,
  };
  convSettings(fn, lifted, false); // groups
  return lifted;
}

/**
 * The output shape of {@linkcode conv1d} for these shapes and options, with
 * the op's checks and errors, without computing anything. @internal
 */
export function conv1dShape(
  xShape: readonly number[],
  wShape: readonly number[],
  options?: Conv1dOptions,
): number[] {
  if (options === undefined) options = {};
  const fn = "conv1d";
  const lifted = conv1dSettings(fn, options);
  const x3 = lengthBatchShape(fn, xShape);
  if (wShape.length !== 3) {
    throw new Error(
      `${fn}: weight must have 3 dims [O, C / groups, K], got ${fmt(wShape)}`,
    );
  }
  const [, c, l] = x3, [wo, wi, k] = wShape;
  const g = lifted.groups!;
  if (k < 1) {
    throw new Error(
      `${fn}: weight must have a kernel size of at least 1, got ${fmt(wShape)}`,
    );
  }
  checkChannels(fn, c, wo, wi, g, false, [x3, wShape]);
  const s = lifted.stride[1], d = lifted.dilation[1];
  const span = d * (k - 1);
  const [before, after] = lifted.padding === "same"
    ? [Math.floor(span / 2), span - Math.floor(span / 2)]
    : lifted.padding === "valid"
    ? [0, 0]
    : [(lifted.padding as number[])[1], (lifted.padding as number[])[1]];
  const ol = outputLength(l, k, s, before, after, d);
  if (ol < 1) {
    throw new Error(
      `${fn}: output length would be ${ol} (< 1): kernel ${k} with dilation ${d} is larger than the padded input (x ${
        fmt(xShape)
      }, padding ${before} + ${after})`,
    );
  }
  bounded(fn, [
    ["output", [x3[0], wo, ol]],
    ["padded input", [x3[0], c, l + before + after]],
  ]);
  return [...xShape.slice(0, -2), wo, ol];
}

/**
 * 1-D convolution (cross-correlation) as `torch.nn.functional.conv1d`: x
 * `[N, C, L]` (or unbatched `[C, L]`), weight `[O, C / groups, K]`, optional
 * bias `[O]`; output length `floor((L + 2·padding - dilation·(K - 1) - 1) /
 * stride) + 1`. It runs as {@linkcode conv2d} on a height of 1, so its
 * derivatives, batching and export are conv2d's.
 *
 * @example
 * ```ts
 * import { conv1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 2, 3, 4]]]); // [N=1, C=1, L=4]
 * const w = tensor([[[1, 0, -1]]]); // [O=1, C=1, K=3]
 * assert.deepEqual(toArray(conv1d(x, w)), [[[-2, -2]]]);
 * assert.deepEqual(toArray(conv1d(x, w, null, { padding: "same" })), [[[-2, -2, -2, 3]]]);
 * assert.deepEqual(conv1d(x, w, tensor([0.5]), { stride: 2, padding: 1 }).shape, [1, 1, 2]);
 * ```
 */
export function conv1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options?: Conv1dOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("conv1d");
  const fn = "conv1d";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  conv1dShape(x.shape, weight.shape, options);
  const b = checkBias(fn, bias, weight.shape[0]);
  return onLength(
    x,
    (x2) => conv2d(x2, expandDims(weight, 2), b, conv1dSettings(fn, options)),
  );
}

/** Options of {@linkcode convTranspose1d}. */
export interface ConvTranspose1dOptions {
  /** Stride of the convolution this transposes. Default 1. */
  stride?: number;
  /** Padding of the convolution this transposes (removed from the output). Default 0. */
  padding?: number;
  /** Extra positions at the end (< stride or < dilation). Default 0. */
  outputPadding?: number;
  /** Kernel dilation. Default 1. */
  dilation?: number;
  /** Channel groups. Default 1. */
  groups?: number;
}

/**
 * Checks convTranspose1d's options with its messages, and returns them as
 * convTranspose2d's (height 1); needs no shape, so a layer checks its
 * options when it is built. @internal
 */
export function convTranspose1dSettings(
  fn: string,
  options: ConvTranspose1dOptions,
): ConvTranspose2dOptions {
  checkOptions(fn, options, [
    "stride",
    "padding",
    "outputPadding",
    "dilation",
    "groups",
  ]);
  const one = (name: string, v: unknown, dflt: number, min: number) =>
    single(fn, name, v ?? dflt, min);
  const lifted = {
    stride: [1, one("stride", options.stride, 1, 1)] as [number, number],
    padding: [0, one("padding", options.padding, 0, 0)] as [number, number],
    outputPadding: [0, one("outputPadding", options.outputPadding, 0, 0)] as [
      number,
      number,
    ],
    dilation: [1, one("dilation", options.dilation, 1, 1)] as [number, number],
    groups: options.groups ?? 1,
  };
  if (
    lifted.outputPadding[1] >= lifted.stride[1] &&
    lifted.outputPadding[1] >= lifted.dilation[1]
  ) {
    throw new Error(
      `${fn}: outputPadding must be smaller than either stride or dilation, got outputPadding ${
        lifted.outputPadding[1]
      }, stride ${lifted.stride[1]}, dilation ${lifted.dilation[1]}`,
    );
  }
  convSettings(fn, lifted, true); // groups
  return lifted;
}

/**
 * The output shape of {@linkcode convTranspose1d} for these shapes and
 * options, with the op's checks and errors, without computing anything.
 * @internal
 */
export function convTranspose1dShape(
  xShape: readonly number[],
  wShape: readonly number[],
  options?: ConvTranspose1dOptions,
): number[] {
  if (options === undefined) options = {};
  const fn = "convTranspose1d";
  const o = convTranspose1dSettings(fn, options);
  const x3 = lengthBatchShape(fn, xShape);
  if (wShape.length !== 3) {
    throw new Error(
      `${fn}: weight must have 3 dims [C_in, C_out / groups, K], got ${
        fmt(wShape)
      }`,
    );
  }
  const [, c, l] = x3, [wi, wo, k] = wShape;
  if (k < 1) {
    throw new Error(
      `${fn}: weight must have a kernel size of at least 1, got ${fmt(wShape)}`,
    );
  }
  const g = o.groups!;
  checkChannels(fn, c, wi, wo, g, true, [x3, wShape]);
  const [, s] = o.stride as number[], [, p] = o.padding as number[];
  const [, d] = o.dilation as number[], [, op] = o.outputPadding as number[];
  const ol = (l - 1) * s - 2 * p + d * (k - 1) + op + 1;
  if (ol < 1) {
    throw new Error(
      `${fn}: output length would be ${ol} (< 1) for x ${
        fmt(xShape)
      }, padding ${p}`,
    );
  }
  bounded(fn, [["output", [x3[0], wo * g, ol]]]);
  return [...xShape.slice(0, -2), wo * g, ol];
}

/**
 * Transposed 1-D convolution as `torch.nn.functional.conv_transpose1d`: x
 * `[N, C_in, L]` (or unbatched `[C_in, L]`), weight `[C_in, C_out / groups,
 * K]`; output length `(L - 1)·stride - 2·padding + dilation·(K - 1) +
 * outputPadding + 1`. It runs as {@linkcode convTranspose2d} on a height of
 * 1, so its derivatives, batching and export are that op's.
 *
 * @example
 * ```ts
 * import { convTranspose1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 2]]]); // [N=1, C=1, L=2]
 * const w = tensor([[[1, 10, 100]]]); // [C_in=1, C_out=1, K=3]
 * assert.deepEqual(toArray(convTranspose1d(x, w)), [[[1, 12, 120, 200]]]);
 * assert.deepEqual(convTranspose1d(x, w, null, { stride: 2, outputPadding: 1 }).shape, [1, 1, 6]);
 * ```
 */
export function convTranspose1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options?: ConvTranspose1dOptions,
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("convTranspose1d");
  const fn = "convTranspose1d";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  const [cOut] = convTranspose1dShape(x.shape, weight.shape, options)
    .slice(-2);
  const b = checkBias(fn, bias, cOut);
  const lifted = convTranspose1dSettings(fn, options);
  return onLength(
    x,
    (x2) => convTranspose2d(x2, expandDims(weight, 2), b, lifted),
  );
}
