/**
 * 3-D convolution and pooling (video, volumes) with torch.nn.functional's
 * semantics on `[N, C, D, H, W]`, written with the 2-D ops, so they have no
 * rule of their own: `conv3d` gathers each output depth's `kD` input slices
 * into the channels and runs one `conv2d` over all depths at once (the
 * depth taps summed inside its kernel); the pools pool each slice with the
 * 2-D op, then across the depth window (a max is separable, and so is an
 * average, its divisor being a product of per-axis counts);
 * `maxPool3dWithIndices` reads each slice's 2-D index at the depth
 * window's pick, and `maxUnpool3d` is `maxUnpool2d`'s code over three axes.
 *
 * @module
 */
import {
  allocShape,
  arange,
  checkOptions,
  checkTensor,
  describe,
  showValue,
  type Tensor,
  tensor,
} from "./tensor.ts";
import { userOp } from "./debug.ts";
import { bounded, floatCheck, fmt } from "./_args.ts";
import {
  checkBias,
  checkChannels,
  conv2d,
  convTranspose2d,
  onBatch,
  outputLength,
} from "./conv.ts";
import { add, div, less, mul, where } from "./elementwise.ts";
import {
  expandDims,
  pad,
  reshape,
  slice,
  squeeze,
  sum,
  transpose,
} from "./structural.ts";
import { gatherAt, scatterAddAt, takeAlongAxisAt } from "./indexing.ts";
import {
  adaptiveAvgAlong,
  adaptiveBounds,
  adaptiveMaxAlong,
  avgPool2d,
  firstMaxPick,
  keepInputSize,
  maxPool2d,
  maxPool2dWithIndices,
  maxUnpoolNd,
} from "./pool.ts";

/** A size option of a 3-D op: one number or `[d, h, w]`. */
export type Triple = number | readonly [number, number, number];

/** A number or `[d, h, w]` of integers >= min, as `[d, h, w]`. @internal */
export function triple(
  fn: string,
  name: string,
  v: unknown,
  min: number,
): [number, number, number] {
  const t = typeof v === "number" ? [v, v, v] : v;
  if (
    !Array.isArray(t) || t.length !== 3 ||
    !t.every((d) => Number.isInteger(d) && d >= min && d < 2 ** 31)
  ) {
    throw new Error(
      `${fn}: ${name} must be an integer >= ${min} or a triple [d, h, w] of them, got ${
        showValue(v)
      }`,
    );
  }
  return [t[0], t[1], t[2]];
}

/** x's shape as a batch: `[N, C, D, H, W]`, or an unbatched `[C, D, H, W]` with N = 1. */
function volumeBatch(fn: string, shape: readonly number[]): number[] {
  if (shape.length === 4) return [1, ...shape];
  if (shape.length !== 5) {
    throw new Error(
      `${fn}: x must be [N, C, D, H, W] or unbatched [C, D, H, W], got ${
        fmt(shape)
      }`,
    );
  }
  return shape.slice();
}

/** Options of {@linkcode conv3d}. */
export interface Conv3dOptions {
  /** Step between windows. Default 1. */
  stride?: Triple;
  /** Zero padding per side, or "valid" (none) or "same" (output size = input size; stride 1 only). Default 0. */
  padding?: Triple | "valid" | "same";
  /** Spacing between kernel taps. Default 1. */
  dilation?: Triple;
  /** Channel groups. Default 1. */
  groups?: number;
}

/** conv3d's options, checked (a layer checks them when it is built). @internal */
export function conv3dSettings(fn: string, options: Conv3dOptions) {
  checkOptions(fn, options, ["stride", "padding", "dilation", "groups"]);
  const stride = triple(fn, "stride", options.stride ?? 1, 1);
  const dilation = triple(fn, "dilation", options.dilation ?? 1, 1);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(
      `${fn}: groups must be a positive integer, got ${showValue(groups)}`,
    );
  }
  const padding = options.padding === "valid"
    ? [0, 0, 0] as [number, number, number]
    : options.padding === "same"
    ? "same" as const
    : triple(fn, "padding", options.padding ?? 0, 0);
  if (padding === "same" && stride.some((s) => s !== 1)) {
    throw new Error(
      `${fn}: padding "same" needs stride 1, got stride ${fmt(stride)}`,
    );
  }
  return { stride, dilation, groups, padding };
}

/**
 * conv3d's geometry for these shapes: the padding before and after along
 * each axis ("same" puts the odd one after, as PyTorch) and the output
 * shape, with conv3d's errors. @internal
 */
export function conv3dShape(
  xShape: readonly number[],
  wShape: readonly number[],
  options: Conv3dOptions,
  fn = "conv3d",
) {
  const s = conv3dSettings(fn, options);
  const x5 = volumeBatch(fn, xShape);
  if (wShape.length !== 5) {
    throw new Error(
      `${fn}: weight must be [outChannels, inChannels / groups, kD, kH, kW], got ${
        fmt(wShape)
      }`,
    );
  }
  const [wo, wi, ...k] = wShape;
  if (k.some((v) => v < 1)) {
    throw new Error(
      `${fn}: weight must have kernel sizes of at least 1, got ${fmt(wShape)}`,
    );
  }
  checkChannels(fn, x5[1], wo, wi, s.groups, false, [xShape, wShape]);
  const pads = [0, 1, 2].map((a) => {
    if (s.padding !== "same") return [s.padding[a], s.padding[a]];
    const t = s.dilation[a] * (k[a] - 1);
    return [Math.floor(t / 2), t - Math.floor(t / 2)];
  });
  const out = [0, 1, 2].map((a) =>
    outputLength(
      x5[2 + a],
      k[a],
      s.stride[a],
      pads[a][0],
      pads[a][1],
      s.dilation[a],
    )
  );
  if (out.some((v) => v < 1)) {
    throw new Error(
      `${fn}: output size would be ${out.join("x")} (< 1) for x ${
        fmt(xShape)
      } and weight ${fmt(wShape)} (padding ${showValue(pads)}, dilation ${
        fmt(s.dilation)
      })`,
    );
  }
  const [n, c, , h, w] = x5;
  bounded(fn, [
    ["the output", [n, wo, ...out]],
    ["the depth taps", [out[0], k[0]], 2 ** 26],
    ["the gathered depths", [
      n,
      c,
      out[0],
      k[0],
      h + pads[1][0] + pads[1][1],
      w + pads[2][0] + pads[2][1],
    ]],
  ]);
  return {
    s,
    pads,
    out,
    shape: [...xShape.slice(0, -4), wo, ...out],
  };
}

/**
 * The positions along an axis of size `size` (padded by `before`) read by
 * output `o`'s tap `t` (`o·stride + t·dilation - before`); one past the end
 * where a tap falls in the padding or past the input (the caller appends
 * the padding value there). With `nearest`, a tap before the input reads
 * the window's first tap inside it and one past the input its last (so max
 * pooling's first-maximum and last-NaN picks stay on the input, as
 * PyTorch's, even in a window of -infinities); only a window without any
 * tap inside reads one past the end. @internal
 */
function taps(
  size: number,
  out: number,
  k: number,
  stride: number,
  dilation: number,
  before: number,
  nearest = false,
): Tensor {
  const idx = new Int32Array(out * k);
  for (let o = 0; o < out; o++) {
    const first = o * stride - before;
    // the window's first and last taps inside the input (none: lo > hi)
    const lo = first >= 0 ? 0 : Math.ceil(-first / dilation);
    const hi = Math.min(k - 1, Math.floor((size - 1 - first) / dilation));
    for (let t = 0; t < k; t++) {
      const at = first + t * dilation;
      idx[o * k + t] = at >= 0 && at < size
        ? at
        : nearest && lo <= hi
        ? first + (t < lo ? lo : hi) * dilation
        : size;
    }
  }
  return tensor(idx, { shape: [out, k], dtype: "int32" });
}

/**
 * 3-D convolution as `torch.nn.functional.conv3d` (cross-correlation; x
 * `[N, C, D, H, W]` or unbatched `[C, D, H, W]`, weight
 * `[O, C / groups, kD, kH, kW]`): each output depth's `kD` input slices
 * are gathered into the channels, and one `conv2d` over all depths sums
 * them with the height and width taps.
 *
 * @example
 * ```ts
 * import { conv3d, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = conv3d(ones([1, 2, 3, 4, 4]), ones([5, 2, 2, 3, 3]), null, { padding: [0, 1, 1] });
 * assert.deepEqual(y.shape, [1, 5, 2, 4, 4]);
 * assert.equal(y.data[5], 2 * 2 * 3 * 3); // an inner window (row 1, column 1) sums 36 ones
 * ```
 */
export function conv3d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options?: Conv3dOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "conv3d";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  const { s, pads, out } = conv3dShape(x.shape, weight.shape, options);
  const [o, wi, kd, kh, kw] = weight.shape;
  checkBias(fn, bias, o);
  using _op = userOp(fn);
  return onBatch(x, (x5) => {
    const [n, c, d, h, w] = x5.shape, g = s.groups, [od] = out;
    // the kD slices of each output depth, a zero slice for the padding
    const zero = pad(x5, [[0, 0], [0, 0], [0, 1], [0, 0], [0, 0]]);
    const at = taps(d, od, kd, s.stride[0], s.dilation[0], pads[0][0]);
    let v = gatherAt(zero, at, 2); // [N, C, oD, kD, H, W]
    // channels ordered (group, tap, channel of the group), depths into N
    v = reshape(v, [n, g, c / g, od, kd, h, w]);
    v = reshape(transpose(v, [0, 3, 1, 4, 2, 5, 6]), [n * od, c * kd, h, w]);
    const w2 = reshape(
      transpose(weight, [0, 2, 1, 3, 4]),
      [o, kd * wi, kh, kw],
    );
    // height and width as conv2d's (asymmetric "same" padding made explicit)
    const [ph, pw] = [pads[1], pads[2]];
    const symmetric = ph[0] === ph[1] && pw[0] === pw[1];
    if (!symmetric) {
      v = pad(v, [
        [0, 0],
        [0, 0],
        ph as [number, number],
        pw as [
          number,
          number,
        ],
      ]);
    }
    const y2 = conv2d(v, w2, null, {
      stride: [s.stride[1], s.stride[2]],
      padding: symmetric ? [ph[0], pw[0]] : 0,
      dilation: [s.dilation[1], s.dilation[2]],
      groups: g,
    }); // [N·oD, O, oH, oW]
    const y = transpose(reshape(y2, [n, od, o, out[1], out[2]]), [
      0,
      2,
      1,
      3,
      4,
    ]);
    return bias ? add(y, reshape(bias, [o, 1, 1, 1])) : y;
  }, 3);
}

/** Options of {@linkcode convTranspose3d}. */
export interface ConvTranspose3dOptions {
  /** Stride of the convolution this transposes. Default 1. */
  stride?: Triple;
  /** Padding of the convolution this transposes (removed from the output). Default 0. */
  padding?: Triple;
  /** Extra planes at the end of each axis (< stride or < dilation). Default 0. */
  outputPadding?: Triple;
  /** Kernel dilation. Default 1. */
  dilation?: Triple;
  /** Channel groups. Default 1. */
  groups?: number;
}

/** convTranspose3d's options, checked (a layer checks them when it is built). @internal */
export function convTranspose3dSettings(
  fn: string,
  options: ConvTranspose3dOptions,
) {
  checkOptions(fn, options, [
    "stride",
    "padding",
    "outputPadding",
    "dilation",
    "groups",
  ]);
  const stride = triple(fn, "stride", options.stride ?? 1, 1);
  const padding = triple(fn, "padding", options.padding ?? 0, 0);
  const outputPadding = triple(
    fn,
    "outputPadding",
    options.outputPadding ?? 0,
    0,
  );
  const dilation = triple(fn, "dilation", options.dilation ?? 1, 1);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(
      `${fn}: groups must be a positive integer, got ${showValue(groups)}`,
    );
  }
  if (outputPadding.some((v, a) => v >= stride[a] && v >= dilation[a])) {
    throw new Error(
      `${fn}: outputPadding must be smaller than either stride or dilation, got outputPadding ${
        fmt(outputPadding)
      }, stride ${fmt(stride)}, dilation ${fmt(dilation)}`,
    );
  }
  return { stride, padding, outputPadding, dilation, groups };
}

/** convTranspose3d's settings and output shape, with its errors. @internal */
export function convTranspose3dShape(
  xShape: readonly number[],
  wShape: readonly number[],
  options: ConvTranspose3dOptions,
) {
  const fn = "convTranspose3d";
  const s = convTranspose3dSettings(fn, options);
  const x5 = volumeBatch(fn, xShape);
  if (wShape.length !== 5) {
    throw new Error(
      `${fn}: weight must be [inChannels, outChannels / groups, kD, kH, kW], got ${
        fmt(wShape)
      }`,
    );
  }
  const [wi, wo, ...k] = wShape;
  if (k.some((v) => v < 1)) {
    throw new Error(
      `${fn}: weight must have kernel sizes of at least 1, got ${fmt(wShape)}`,
    );
  }
  checkChannels(fn, x5[1], wi, wo, s.groups, true, [xShape, wShape]);
  // (in - 1)·stride - 2·padding + dilation·(k - 1) + outputPadding + 1
  const out = [0, 1, 2].map((a) =>
    (x5[2 + a] - 1) * s.stride[a] - 2 * s.padding[a] +
    s.dilation[a] * (k[a] - 1) + s.outputPadding[a] + 1
  );
  if (out.some((v) => v < 1)) {
    throw new Error(
      `${fn}: output size would be ${out.join("x")} (< 1) for x ${
        fmt(xShape)
      }, padding ${fmt(s.padding)}`,
    );
  }
  bounded(fn, [
    ["the output", [x5[0], wo * s.groups, ...out]],
    ["the depth taps", [x5[2], k[0]], 2 ** 26],
    ["the planes", [x5[0] * x5[2], k[0] * wo * s.groups, out[1], out[2]]],
  ]);
  return { s, out, shape: [...xShape.slice(0, -4), wo * s.groups, ...out] };
}

/**
 * Transposed 3-D convolution as `torch.nn.functional.conv_transpose3d`
 * (weight `[C_in, C_out / groups, kD, kH, kW]`; output size
 * `(D - 1)·stride - 2·padding + dilation·(k - 1) + outputPadding + 1` per
 * axis): conv3d's transpose, written as its pieces transposed: a
 * `convTranspose2d` over all depths at once, whose channels hold each
 * input depth's `kD` contributions, added into their output depths.
 *
 * @example
 * ```ts
 * import { convTranspose3d, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = convTranspose3d(ones([1, 4, 3, 5, 5]), ones([4, 2, 2, 2, 2]), null, { stride: 2 });
 * assert.deepEqual(y.shape, [1, 2, 6, 10, 10]);
 * ```
 */
export function convTranspose3d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options?: ConvTranspose3dOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "convTranspose3d";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  const { s, out } = convTranspose3dShape(x.shape, weight.shape, options);
  const [ci, cog, kd, kh, kw] = weight.shape, g = s.groups, co = cog * g;
  checkBias(fn, bias, co);
  using _op = userOp(fn);
  return onBatch(x, (x5) => {
    const [n, , d, h, w] = x5.shape, [od, oh, ow] = out;
    // height and width: every input depth at once, each one's kD output
    // planes in the channels (group, tap, channel of the group)
    const planes = reshape(transpose(x5, [0, 2, 1, 3, 4]), [n * d, ci, h, w]);
    const w2 = reshape(
      transpose(weight, [0, 2, 1, 3, 4]),
      [ci, kd * cog, kh, kw],
    );
    const y2 = convTranspose2d(planes, w2, null, {
      stride: [s.stride[1], s.stride[2]],
      padding: [s.padding[1], s.padding[2]],
      outputPadding: [s.outputPadding[1], s.outputPadding[2]],
      dilation: [s.dilation[1], s.dilation[2]],
      groups: g,
    }); // [N·D, G·kD·C_out/G, oH, oW]
    let v = reshape(y2, [n, d, g, kd, cog, oh, ow]);
    v = reshape(transpose(v, [0, 2, 4, 1, 3, 5, 6]), [n, co, d, kd, oh, ow]);
    // depth: each input depth's tap t lands on output depth
    // i·stride + t·dilation - padding (the ones in the padding on a last
    // plane, dropped)
    const at = taps(od, d, kd, s.stride[0], s.dilation[0], s.padding[0]);
    const y = slice(scatterAddAt(v, at, 2, od + 1), [0, 0, 0, 0, 0], [
      n,
      co,
      od,
      oh,
      ow,
    ]);
    return bias ? add(y, reshape(bias, [co, 1, 1, 1])) : y;
  }, 3);
}

/** Options of {@linkcode maxPool3d}. */
export interface MaxPool3dOptions {
  /** Window size. Required. */
  kernelSize: Triple;
  /** Step between windows. Default kernelSize. */
  stride?: Triple | null;
  /** Implicit -infinity padding per side (at most half the kernel). Default 0. */
  padding?: Triple;
  /** Spacing between window taps. Default 1. */
  dilation?: Triple;
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
}

/** Options of {@linkcode avgPool3d}. */
export interface AvgPool3dOptions {
  /** Window size. Required. */
  kernelSize: Triple;
  /** Step between windows. Default kernelSize. */
  stride?: Triple | null;
  /** Zero padding per side (at most half the kernel). Default 0. */
  padding?: Triple;
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor. Default true. */
  countIncludePad?: boolean;
  /** Divide by this instead of the window size. */
  divisorOverride?: number | null;
}

/**
 * maxPool3d's (`kind` "max") or avgPool3d's options checked with the
 * caller's (`fn`) messages; needs no shape, so a layer checks them when it
 * is built. @internal
 */
export function pool3dSettings(
  fn: string,
  options: MaxPool3dOptions | AvgPool3dOptions,
  kind: "max" | "avg",
) {
  const o = options as MaxPool3dOptions & AvgPool3dOptions;
  checkOptions(fn, o, [
    "kernelSize",
    "stride",
    "padding",
    ...(kind === "max" ? ["dilation"] : ["countIncludePad", "divisorOverride"]),
    "ceilMode",
  ]);
  if (!o || o.kernelSize === undefined) {
    throw new Error(`${fn}: options.kernelSize is required`);
  }
  const k = triple(fn, "kernelSize", o.kernelSize, 1);
  const stride = o.stride === undefined || o.stride === null
    ? k
    : triple(fn, "stride", o.stride, 1);
  const padding = triple(fn, "padding", o.padding ?? 0, 0);
  const dilation = triple(fn, "dilation", o.dilation ?? 1, 1);
  if (padding.some((p, a) => p > k[a] / 2)) {
    throw new Error(
      `${fn}: pad should be at most half of effective kernel size, but got padding ${
        fmt(padding)
      } and kernelSize ${fmt(k)}`,
    );
  }
  const ceilMode = o.ceilMode ?? false;
  if (typeof ceilMode !== "boolean") {
    throw new Error(
      `${fn}: ceilMode must be a boolean, got ${describe(ceilMode)}`,
    );
  }
  if (kind === "avg") {
    const includePad = o.countIncludePad ?? true;
    if (typeof includePad !== "boolean") {
      throw new Error(
        `${fn}: countIncludePad must be a boolean, got ${describe(includePad)}`,
      );
    }
    const d = o.divisorOverride ?? null;
    if (d !== null && !(Number.isInteger(d) && d !== 0)) {
      throw new Error(
        `${fn}: divisorOverride must be a non-zero integer, got ${
          showValue(d)
        }`,
      );
    }
  }
  return { k, stride, padding, dilation, ceilMode };
}

/**
 * maxPool3d's (`kind` "max") or avgPool3d's settings and output shape for
 * x's shape, with the op's errors (`fn` names the op in them). @internal
 */
export function pool3dShape(
  xShape: readonly number[],
  options: MaxPool3dOptions | AvgPool3dOptions,
  kind: "max" | "avg",
  fn: string = kind === "max" ? "maxPool3d" : "avgPool3d",
) {
  const { k, stride, padding, dilation, ceilMode } = pool3dSettings(
    fn,
    options,
    kind,
  );
  const x5 = volumeBatch(fn, xShape);
  if (kind === "avg" && k.some((v, a) => x5[2 + a] < v)) {
    // PyTorch's avg_pool3d refuses a kernel larger than the unpadded input
    // (its pool3d_shape_check with check_input_size), padding or not
    throw new Error(
      `${fn}: input image (D ${x5[2]}, H ${x5[3]}, W ${
        x5[4]
      }) is smaller than the kernelSize ${
        fmt(k)
      } (as PyTorch's avg_pool3d, the padding not counted), x ${fmt(xShape)}`,
    );
  }
  const out = [0, 1, 2].map((a) =>
    outputLength(
      x5[2 + a],
      k[a],
      stride[a],
      padding[a],
      padding[a],
      dilation[a],
      ceilMode,
    )
  );
  if (out.some((v) => v < 1)) {
    throw new Error(
      `${fn}: output size would be ${out.join("x")} (< 1) for x ${
        fmt(xShape)
      } with kernelSize ${fmt(k)}, padding ${fmt(padding)}, dilation ${
        fmt(dilation)
      }`,
    );
  }
  bounded(fn, [
    ["the output", [x5[0], x5[1], ...out]],
    ["the depth taps", [out[0], k[0]], 2 ** 26],
    ["the gathered depths", [x5[0], x5[1], out[0], k[0], out[1], out[2]]],
  ]);
  return {
    k,
    stride,
    padding,
    dilation,
    ceilMode,
    out,
    shape: [...xShape.slice(0, -3), ...out],
  };
}

/**
 * 3-D max pooling as `torch.nn.functional.max_pool3d`: the maximum of each
 * `kD x kH x kW` window of `[N, C, D, H, W]` (or `[C, D, H, W]`), the
 * gradient to its first maximum in (d, h, w) order (its last NaN), as
 * PyTorch's: each slice max-pooled over height and width, then the depth
 * window's first maximum (its last NaN) taken.
 *
 * @example
 * ```ts
 * import { arange, maxPool3d, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(8), [1, 1, 2, 2, 2]);
 * assert.deepEqual(toArray(maxPool3d(x, { kernelSize: 2 })), [[[[[7]]]]]);
 * ```
 */
export function maxPool3d(x: Tensor, options: MaxPool3dOptions): Tensor {
  return maxPool3dPicks("maxPool3d", x, options, false).values;
}

/**
 * {@linkcode maxPool3d}'s values and where each came from, as
 * `torch.nn.functional.max_pool3d(..., return_indices=True)`: the int32
 * index within its `D·H·W` volume of each window's first maximum in
 * (d, h, w) order (its last NaN), -1 for a window made only of padding
 * (PyTorch's index there lies outside the window). The values are
 * maxPool3d's; the indices feed {@linkcode maxUnpool3d}.
 *
 * @example
 * ```ts
 * import { arange, maxPool3dWithIndices, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(8), [1, 1, 2, 2, 2]);
 * const { values, indices } = maxPool3dWithIndices(x, { kernelSize: [2, 1, 2] });
 * assert.deepEqual(toArray(values), [[[[[5], [7]]]]]);
 * assert.deepEqual(toArray(indices), [[[[[5], [7]]]]]); // depth 1, rows 0 and 1, column 1 of a 2x2x2 volume
 * ```
 */
export function maxPool3dWithIndices(
  x: Tensor,
  options: MaxPool3dOptions,
): { values: Tensor; indices: Tensor } {
  const r = maxPool3dPicks("maxPool3dWithIndices", x, options, true);
  return { values: r.values, indices: r.indices! };
}

/**
 * maxPool3d (`fn` names the caller) and, `withIndices`, where each value
 * came from: each slice max-pooled over height and width (with its
 * indices in the H·W plane, moved to the slice's place in the volume),
 * then the depth window's first maximum (its last NaN) picked, and the
 * index at that pick read.
 */
function maxPool3dPicks(
  fn: string,
  x: Tensor,
  options: MaxPool3dOptions,
  withIndices: boolean,
): { values: Tensor; indices: Tensor | null } {
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const p = pool3dShape(x.shape, options, "max", fn);
  using _op = userOp(fn);
  const unbatched = x.shape.length === 4;
  const x5 = unbatched ? expandDims(x, 0) : x;
  const [n, c, d, h, w] = x5.shape, [od, oh, ow] = p.out, kd = p.k[0];
  const planes = reshape(x5, [n, c * d, h, w]);
  const opts2 = {
    kernelSize: [p.k[1], p.k[2]] as [number, number],
    stride: [p.stride[1], p.stride[2]] as [number, number],
    padding: [p.padding[1], p.padding[2]] as [number, number],
    dilation: [p.dilation[1], p.dilation[2]] as [number, number],
    ceilMode: p.ceilMode,
  };
  const sliced = withIndices
    ? maxPool2dWithIndices(planes, opts2)
    : { values: maxPool2d(planes, opts2), indices: null }; // [N, C·D, oH, oW]
  // a slice past the input for the depth taps in the padding (-inf, and
  // index -1: a window of only padding)
  const depthPad: [number, number][] = [[0, 0], [0, 0], [0, 1], [0, 0], [
    0,
    0,
  ]];
  const padded = pad(reshape(sliced.values, [n, c, d, oh, ow]), depthPad, {
    value: -Infinity,
  });
  // (a depth tap in the padding reads the window's nearest input slice:
  // the pick stays on the input, as PyTorch's, when all are -infinity)
  const at = taps(d, od, kd, p.stride[0], p.dilation[0], p.padding[0], true);
  const windows = gatherAt(padded, at, 2); // [N, C, oD, kD, oH, oW]
  // the first maximum, or the last NaN, of each depth window
  const pick = firstMaxPick(windows, 3);
  const read = (v: Tensor) => {
    const y = squeeze(takeAlongAxisAt(v, pick, 3), 3);
    return unbatched ? squeeze(y, 0) : y;
  };
  if (sliced.indices === null) return { values: read(windows), indices: null };
  // slice z's index i within its H·W plane is z·H·W + i in the volume
  const hw = reshape(sliced.indices, [n, c, d, oh, ow]);
  const base = reshape(mul(arange(d, { dtype: "int32" }), h * w), [d, 1, 1]);
  const vol = where(less(hw, 0), hw, add(hw, base));
  const idx = gatherAt(pad(vol, depthPad, { value: -1 }), at, 2);
  return { values: read(windows), indices: read(idx) };
}

/** Options of {@linkcode maxUnpool3d}. */
export interface MaxUnpool3dOptions {
  /** The pooling's window size. Required. */
  kernelSize: Triple;
  /** The pooling's stride. Default kernelSize. */
  stride?: Triple | null;
  /** The pooling's padding. Default 0. */
  padding?: Triple;
  /** The output's `[D, H, W]` (or the whole shape), when the default `(D - 1)·stride - 2·padding + kernelSize` per axis is not the pooled input's (a floor dropped a slice). */
  outputSize?: readonly number[] | null;
}

/**
 * The partial inverse of 3-D max pooling, as
 * `torch.nn.functional.max_unpool3d`: each value of `x` `[N, C, D, H, W]`
 * (or unbatched `[C, D, H, W]`) put back at its index (from
 * {@linkcode maxPool3dWithIndices}) in a zero volume of the pooled input's
 * size. Where two values name one index the later one stays, as PyTorch's
 * CPU loop writes them; so the gradient reaches only that one (PyTorch's
 * backward gathers for both). The same code as {@linkcode maxUnpool2d}.
 *
 * @example
 * ```ts
 * import { arange, maxPool3dWithIndices, maxUnpool3d, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(8), [1, 1, 2, 2, 2]);
 * const { values, indices } = maxPool3dWithIndices(x, { kernelSize: 2 });
 * const y = maxUnpool3d(values, indices, { kernelSize: 2 });
 * assert.deepEqual(toArray(y), [[[[[0, 0], [0, 0]], [[0, 0], [0, 7]]]]]);
 * ```
 */
export function maxUnpool3d(
  x: Tensor,
  indices: Tensor,
  options: MaxUnpool3dOptions,
): Tensor {
  const fn = "maxUnpool3d";
  return maxUnpoolNd(fn, x, indices, options, {
    rank: 3,
    // (dilation and ceilMode are not max_unpool3d's: refused, not overridden)
    settle: (pool) => {
      const s = pool3dSettings(
        fn,
        { ...pool, dilation: 1, ceilMode: false } as MaxPool3dOptions,
        "max",
      );
      return { kernelSize: s.k, stride: s.stride, padding: s.padding };
    },
    batched: (shape) => volumeBatch(fn, shape),
  });
}

/**
 * 3-D average pooling as `torch.nn.functional.avg_pool3d` (zero padding,
 * `countIncludePad`, `divisorOverride`, `ceilMode`): each slice
 * average-pooled over height and width, then averaged across the depth
 * window with the same counting rule (PyTorch's divisor is the product of
 * the three axes' counts).
 *
 * @example
 * ```ts
 * import { arange, avgPool3d, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(8), [1, 1, 2, 2, 2]);
 * assert.deepEqual(toArray(avgPool3d(x, { kernelSize: 2 })), [[[[[3.5]]]]]);
 * ```
 */
export function avgPool3d(x: Tensor, options: AvgPool3dOptions): Tensor {
  const fn = "avgPool3d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const p = pool3dShape(x.shape, options, "avg");
  const includePad = options.countIncludePad ?? true;
  const divisor = options.divisorOverride ?? null;
  using _op = userOp(fn);
  return onBatch(x, (x5) => {
    const [n, c, d, h, w] = x5.shape, [od, oh, ow] = p.out, kd = p.k[0];
    const [sd, pd] = [p.stride[0], p.padding[0]];
    // height and width: sums (divisorOverride 1) when the divisor is given,
    // else averages with the counting rule
    const slices = avgPool2d(reshape(x5, [n, c * d, h, w]), {
      kernelSize: [p.k[1], p.k[2]],
      stride: [p.stride[1], p.stride[2]],
      padding: [p.padding[1], p.padding[2]],
      ceilMode: p.ceilMode,
      countIncludePad: includePad,
      divisorOverride: divisor === null ? null : 1,
    });
    const zero = pad(reshape(slices, [n, c, d, oh, ow]), [
      [0, 0],
      [0, 0],
      [
        0,
        1,
      ],
      [0, 0],
      [0, 0],
    ]);
    const at = taps(d, od, kd, sd, 1, pd);
    const total = sum(gatherAt(zero, at, 2), { axis: 3 }); // [N, C, oD, oH, oW]
    if (divisor !== null) return div(total, divisor);
    // the depth count of each output (PyTorch's: the window clipped to the
    // padded input, then to the input when the padding is not counted)
    const counts = allocShape(fn, x5.dtype, [od, 1, 1]);
    for (let i = 0; i < od; i++) {
      const start = i * sd - pd, end = Math.min(start + kd, d + pd);
      counts[i] = includePad
        ? end - start
        : Math.min(end, d) - Math.max(start, 0);
    }
    return div(total, tensor(counts, { shape: [od, 1, 1], dtype: x5.dtype }));
  }, 3);
}

/** The output shape of adaptiveAvgPool3d or adaptiveMaxPool3d (`fn`), with its checks. @internal */
export function adaptivePool3dShape(
  fn: string,
  xShape: readonly number[],
  outputSize: number | readonly [number | null, number | null, number | null],
): number[] {
  const x5 = volumeBatch(fn, xShape);
  if (x5.slice(2).some((v) => v < 1)) {
    throw new Error(
      `${fn}: x's depth, height and width must be >= 1, got x ${fmt(xShape)}`,
    );
  }
  const out = triple(
    fn,
    "outputSize",
    keepInputSize(outputSize, xShape, 3),
    1,
  );
  adaptiveBounds(fn, xShape, out); // (an output too large is an error before any allocation or loop)
  return [...xShape.slice(0, -3), ...out];
}

/**
 * Adaptive average pooling of volumes to `outputSize` `[d, h, w]` (or one
 * number), as `torch.nn.functional.adaptive_avg_pool3d` (window i spans
 * floor(i·D/out) to ceil((i+1)·D/out) along each axis): the windows'
 * entries gathered and averaged along the width, the height, then the depth. A
 * `null` entry of `outputSize` keeps that axis's size (PyTorch's `None`).
 *
 * @example
 * ```ts
 * import { adaptiveAvgPool3d, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = adaptiveAvgPool3d(ones([2, 8, 4, 7, 7]), 1); // global average pooling
 * assert.deepEqual(y.shape, [2, 8, 1, 1, 1]);
 * assert.equal(y.data[0], 1);
 * ```
 */
export function adaptiveAvgPool3d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null, number | null],
): Tensor {
  return adaptivePool3d(x, outputSize, "avg");
}

/**
 * Adaptive max pooling of volumes to `outputSize`, as
 * `torch.nn.functional.adaptive_max_pool3d`: each window's maximum, the
 * gradient to its first maximum in (d, h, w) order (its last NaN). A `null`
 * entry of `outputSize` keeps that axis's size (PyTorch's `None`).
 *
 * @example
 * ```ts
 * import { adaptiveMaxPool3d, arange, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(8), [1, 1, 2, 2, 2]);
 * assert.deepEqual(toArray(adaptiveMaxPool3d(x, 1)), [[[[[7]]]]]);
 * ```
 */
export function adaptiveMaxPool3d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null, number | null],
): Tensor {
  return adaptivePool3d(x, outputSize, "max");
}

/** adaptiveAvgPool3d or adaptiveMaxPool3d: separable along the width, the height, then the depth. */
function adaptivePool3d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null, number | null],
  kind: "avg" | "max",
): Tensor {
  const fn = kind === "avg" ? "adaptiveAvgPool3d" : "adaptiveMaxPool3d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const [od, oh, ow] = adaptivePool3dShape(fn, x.shape, outputSize).slice(-3);
  using _op = userOp(fn);
  const along = kind === "avg" ? adaptiveAvgAlong : adaptiveMaxAlong;
  const r = x.shape.length;
  return along(fn, along(fn, along(fn, x, r - 1, ow), r - 2, oh), r - 3, od);
}
