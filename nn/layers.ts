/**
 * The leaf layers: `linear`, `conv2d`, `convTranspose2d`, the pools,
 * `flatten`, `dropout`, `dropout2d`, `batchNorm2d`, `layerNorm`, `groupNorm`
 * and the activations. Each is built on
 * the op of the same name in `ops/` (conv.ts, pool.ts, ...); its repr is PyTorch's and its
 * initialisation PyTorch's default.
 *
 * @module
 */
import {
  type DType,
  full,
  isTensor,
  ones,
  onesLike,
  showValue,
  type Tensor,
  tensor,
  zeros,
  zerosLike,
} from "../ops/tensor.ts";
import {
  add,
  astype,
  div,
  mul,
  relu as reluOp,
  sigmoid as sigmoidOp,
  sqrt,
  tanh as tanhOp,
} from "../ops/elementwise.ts";
import {
  expandDims as expandDimsOp,
  flatten as flattenOp,
  pad as padOp,
  reshape as reshapeOp,
  squeeze as squeezeOp,
  sum,
} from "../ops/structural.ts";
import {
  channelShuffle as channelShuffleOp,
  channelShuffleShape,
  fold as foldOp,
  type FoldOptions,
  foldShape,
  patchSettings,
  pixelShuffle as pixelShuffleOp,
  pixelShuffleShape,
  pixelUnshuffle as pixelUnshuffleOp,
  unfold as unfoldOp,
  type UnfoldOptions,
  unfoldShape,
} from "../ops/patches.ts";
import { numberOption, type Pair, pair } from "../ops/_args.ts";
import {
  celu as celuOp,
  elu as eluOp,
  gelu as geluOp,
  glu as gluOp,
  hardshrink as hardshrinkOp,
  hardsigmoid as hardsigmoidOp,
  hardswish as hardswishOp,
  hardtanh as hardtanhOp,
  leakyRelu as leakyReluOp,
  logSigmoid as logSigmoidOp,
  logSoftmax as logSoftmaxOp,
  mish as mishOp,
  prelu as preluOp,
  relu6 as relu6Op,
  selu as seluOp,
  silu as siluOp,
  softmax as softmaxOp,
  softmin as softminOp,
  softplus as softplusOp,
  softshrink as softshrinkOp,
  softsign as softsignOp,
  tanhshrink as tanhshrinkOp,
  threshold as thresholdOp,
} from "../ops/activations.ts";
import {
  conv2d as conv2dOp,
  type Conv2dOptions,
  conv2dShape,
  convSettings,
  convTranspose2d as convTranspose2dOp,
  type ConvTranspose2dOptions,
  convTranspose2dShape,
} from "../ops/conv.ts";
import { linear as linearOp, linearShape } from "../ops/matmul.ts";
import { embedding as embeddingOp } from "../ops/indexing.ts";
import {
  alphaDropout as alphaDropoutOp,
  batchNorm as batchNormOp,
  dropout as dropoutOp,
  dropout1d as dropout1dOp,
  dropout2d as dropout2dOp,
  dropout3d as dropout3dOp,
  featureAlphaDropout as featureAlphaDropoutOp,
  groupNorm as groupNormOp,
  instanceNorm as instanceNormOp,
  type InstanceNormOptions,
  layerNorm as layerNormOp,
  localResponseNorm as localResponseNormOp,
  type LocalResponseNormOptions,
} from "../ops/normalization.ts";
import {
  adaptiveAvgPool2d as adaptiveAvgPool2dOp,
  adaptiveAvgPool2dShape,
  adaptiveMaxPool2d as adaptiveMaxPool2dOp,
  adaptiveMaxPool2dShape,
  avgPool2d as avgPool2dOp,
  type AvgPool2dOptions,
  maxPool2d as maxPool2dOp,
  type MaxPool2dOptions,
  pool2dShape,
  poolSettings,
} from "../ops/pool.ts";
import {
  conv1d as conv1dOp,
  type Conv1dOptions,
  conv1dSettings,
  conv1dShape,
  convTranspose1d as convTranspose1dOp,
  type ConvTranspose1dOptions,
  convTranspose1dSettings,
  convTranspose1dShape,
  single,
} from "../ops/conv.ts";
import {
  adaptiveAvgPool1d as adaptiveAvgPool1dOp,
  adaptiveMaxPool1d as adaptiveMaxPool1dOp,
  adaptivePool1dShape,
  avgPool1d as avgPool1dOp,
  type AvgPool1dOptions,
  lpPool1d as lpPool1dOp,
  type LpPool1dOptions,
  lpPool2d as lpPool2dOp,
  type LpPool2dOptions,
  lpPoolSettings,
  maxPool1d as maxPool1dOp,
  type MaxPool1dOptions,
  pool1dSettings,
  pool1dShape,
} from "../ops/pool.ts";
import {
  interpolate as interpolateOp,
  type InterpolateOptions,
  interpolatePlan,
} from "../ops/upsample.ts";
import { type Key, normal, split, uniform } from "../ops/random.ts";
import { rrelu as rreluOp } from "../ops/stochastic.ts";
import {
  fractionalMaxPool2d as fractionalMaxPool2dOp,
  type FractionalMaxPool2dOptions,
  fractionalMaxPool3d as fractionalMaxPool3dOp,
  type FractionalMaxPool3dOptions,
  fractionalPoolShape,
  fractionalSettings,
} from "../ops/fractional_pool.ts";
import {
  adaptiveAvgPool3d as adaptiveAvgPool3dOp,
  adaptiveMaxPool3d as adaptiveMaxPool3dOp,
  adaptivePool3dShape,
  avgPool3d as avgPool3dOp,
  type AvgPool3dOptions,
  conv3d as conv3dOp,
  type Conv3dOptions,
  conv3dSettings,
  conv3dShape,
  convTranspose3d as convTranspose3dOp,
  type ConvTranspose3dOptions,
  convTranspose3dSettings,
  convTranspose3dShape,
  maxPool3d as maxPool3dOp,
  type MaxPool3dOptions,
  pool3dSettings,
  pool3dShape,
  type Triple,
  triple,
} from "../ops/conv3d.ts";
import {
  type AnyLayer,
  type ApplyOptions,
  applyOptions,
  checkLayer,
  checkParams,
  defineLayer,
  type EmptyState,
  type Layer,
  type LayerInfo,
  type LeafParams,
  type ParamSpec,
  plainApply,
} from "./layer.ts";
import {
  checkBool,
  checkOptions,
  describe,
  fmtShape,
  positiveInt,
  pyBool,
  pyFloat,
  pyNum,
  pySize,
  requireOptions,
} from "./_util.ts";

/** A float dtype for parameters. */
export type FloatDType = "float32" | "float64";

/** A float dtype option for parameters, checked (default float32). @internal */
export function floatDType(fn: string, dtype: unknown): FloatDType {
  const d = dtype ?? "float32";
  if (d !== "float32" && d !== "float64") {
    throw new Error(
      `${fn}: dtype must be "float32" or "float64", got ${describe(dtype)}`,
    );
  }
  return d;
}

/** `U(-bound, bound)` with `bound = 1 / sqrt(fanIn)`: PyTorch's default for weights (kaiming-uniform, a = sqrt(5)) and biases. @internal */
export function uniformInit(
  key: Key,
  shape: readonly number[],
  fanIn: number,
  dtype: DType,
): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return uniform(key, shape, { minval: -bound, maxval: bound, dtype });
}

/** Weight and optional bias, both `U(±1/sqrt(fanIn))`, from two halves of `key`. */
function weightAndBias(
  key: Key,
  specs: Readonly<Record<string, ParamSpec>>,
  fanIn: number,
): LeafParams {
  const [kw, kb] = split(key);
  const out: Record<string, Tensor> = {
    weight: uniformInit(kw, specs.weight.shape, fanIn, specs.weight.dtype),
  };
  if (specs.bias) {
    out.bias = uniformInit(kb, specs.bias.shape, fanIn, specs.bias.dtype);
  }
  return out;
}

// ---------------------------------------------------------------------------
// linear

/** Options of {@linkcode linear}. */
export interface LinearOptions {
  /** Size of each input's last axis. */
  inFeatures: number;
  /** Size of each output's last axis. */
  outFeatures: number;
  /** Learn an additive bias. Default true. */
  bias?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * Fully connected layer `y = x · weightᵀ + bias` (PyTorch's `nn.Linear`):
 * params `{ weight: [out, in], bias: [out] }`, both drawn from
 * `U(-1/sqrt(in), 1/sqrt(in))`.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const fc = nn.linear({ inFeatures: 400, outFeatures: 120 });
 * assert.equal(fc.info.repr, "Linear(in_features=400, out_features=120, bias=True)");
 * const params = fc.init(random.key(0));
 * assert.deepEqual(params.weight.shape, [120, 400]);
 * assert.deepEqual(fc.apply(params, zeros([8, 400])).shape, [8, 120]);
 * ```
 */
export function linear(options: LinearOptions): Layer<LeafParams, EmptyState> {
  const fn = "nn.linear";
  requireOptions(fn, options, ["inFeatures", "outFeatures"], [
    "inFeatures",
    "outFeatures",
    "bias",
    "dtype",
  ]);
  const inF = positiveInt(fn, "inFeatures", options.inFeatures);
  const outF = positiveInt(fn, "outFeatures", options.outFeatures);
  const bias = checkBool(fn, "bias", options.bias, true);
  const dtype = floatDType(fn, options.dtype);
  const params: Record<string, ParamSpec> = {
    weight: { shape: [outF, inF], dtype },
  };
  if (bias) params.bias = { shape: [outF], dtype };
  return defineLayer({
    name: "Linear",
    repr: `Linear(in_features=${inF}, out_features=${outF}, bias=${
      pyBool(bias)
    })`,
    params,
    init: (key) => weightAndBias(key, params, inF),
    apply: (p, x) => linearOp(x, p.weight, p.bias ?? null),
    outputShape: (s) => linearShape(s, params.weight.shape),
  });
}

// ---------------------------------------------------------------------------
// embedding

/** Options of {@linkcode embedding}. */
export interface EmbeddingLayerOptions {
  /** Rows of the table (the number of distinct indices). */
  numEmbeddings: number;
  /** Size of each row. */
  embeddingDim: number;
  /** A row initialised to zeros whose gradient is always zero (negative counts from the end). */
  paddingIdx?: number | null;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * A lookup table of rows (PyTorch's `nn.Embedding`): int32 indices of any
 * shape in, `indices.shape + [embeddingDim]` out; params `{ weight:
 * [numEmbeddings, embeddingDim] }` drawn from N(0, 1), the `paddingIdx` row
 * zeroed (and its gradient zero).
 *
 * @example
 * ```ts
 * import { nn, random, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const emb = nn.embedding({ numEmbeddings: 10, embeddingDim: 3, paddingIdx: 0 });
 * assert.equal(emb.info.repr, "Embedding(10, 3, padding_idx=0)");
 * const params = emb.init(random.key(0));
 * assert.deepEqual([...params.weight.data.slice(0, 3)], [0, 0, 0]);
 * const y = emb.apply(params, tensor([[1, 2], [0, 9]], { dtype: "int32" }));
 * assert.deepEqual(y.shape, [2, 2, 3]);
 * ```
 */
export function embedding(
  options: EmbeddingLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.embedding";
  requireOptions(fn, options, ["numEmbeddings", "embeddingDim"], [
    "numEmbeddings",
    "embeddingDim",
    "paddingIdx",
    "dtype",
  ]);
  const n = positiveInt(fn, "numEmbeddings", options.numEmbeddings);
  const d = positiveInt(fn, "embeddingDim", options.embeddingDim);
  const dtype = floatDType(fn, options.dtype);
  const p = options.paddingIdx ?? null;
  if (p !== null && !(Number.isInteger(p) && p >= -n && p < n)) {
    throw new Error(
      `${fn}: paddingIdx must be an integer in [${-n}, ${n}) or null, got ${
        describe(p)
      }`,
    );
  }
  const pad = p === null ? null : p < 0 ? p + n : p; // as PyTorch stores it
  const params = { weight: { shape: [n, d], dtype } };
  return defineLayer({
    name: "Embedding",
    repr: `Embedding(${n}, ${d}${pad === null ? "" : `, padding_idx=${pad}`})`,
    params,
    init: (key) => {
      const w = normal(key, [n, d], { dtype });
      if (pad === null) return { weight: w };
      const data = w.data.slice();
      data.fill(0, pad * d, (pad + 1) * d);
      return { weight: tensor(data, { shape: [n, d], dtype }) };
    },
    apply: (prm, x) => embeddingOp(x, prm.weight, { paddingIdx: pad }),
    outputShape: (s) => [...s, d],
  });
}

// ---------------------------------------------------------------------------
// convolutions

/**
 * Options of {@linkcode conv2d}: the op's {@linkcode Conv2dOptions} (stride,
 * padding, dilation, groups) plus the layer's sizes and parameters.
 */
export interface Conv2dLayerOptions extends Conv2dOptions {
  /** Channels of the input. */
  inChannels: number;
  /** Channels of the output (number of filters). */
  outChannels: number;
  /** Kernel size, a number or `[kH, kW]`. */
  kernelSize: Pair;
  /** Learn a bias per output channel. Default true. */
  bias?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
  /**
   * How the padding is filled, as PyTorch's `padding_mode`: `"zeros"` (the
   * default), or `pad`'s `"reflect"`, `"replicate"` or `"circular"` (x is
   * padded in that mode, then convolved without padding).
   */
  paddingMode?: PaddingMode;
}

/**
 * Options of {@linkcode convTranspose2d}: the op's
 * {@linkcode ConvTranspose2dOptions} (stride, padding, outputPadding,
 * dilation, groups) plus the layer's sizes and parameters.
 */
export interface ConvTranspose2dLayerOptions extends ConvTranspose2dOptions {
  /** Channels of the input. */
  inChannels: number;
  /** Channels of the output. */
  outChannels: number;
  /** Kernel size, a number or `[kH, kW]`. */
  kernelSize: Pair;
  /** Learn a bias per output channel. Default true. */
  bias?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * A conv layer's options, checked for unknown and missing keys (`extra`:
 * the keys beyond the ones every conv layer takes), split into the layer's
 * own and the op's (the rest).
 */
function convLayerOptions<
  O extends {
    inChannels: number;
    outChannels: number;
    kernelSize: unknown;
    bias?: boolean;
    dtype?: FloatDType;
    paddingMode?: PaddingMode;
  },
>(fn: string, options: O, extra: string[]) {
  requireOptions(fn, options, ["inChannels", "outChannels", "kernelSize"], [
    "inChannels",
    "outChannels",
    "kernelSize",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "dtype",
    ...extra,
  ]);
  const {
    inChannels,
    outChannels,
    kernelSize,
    bias,
    dtype,
    paddingMode,
    ...opOptions
  } = options;
  return {
    inC: positiveInt(fn, "inChannels", inChannels),
    outC: positiveInt(fn, "outChannels", outChannels),
    kernelSize: kernelSize as O["kernelSize"],
    bias,
    dtype,
    paddingMode,
    opOptions,
  };
}

/**
 * What the convolution layers of every rank share once their options are
 * checked: groups dividing both channel counts, the weight spec
 * (`[out, in / groups, ...k]`, or `[in, out / groups, ...k]` when
 * `transposed`) and the bias's, PyTorch's init (fanIn from the weight's
 * second axis) and the repr's arguments: the sizes printed by `size`
 * (PyTorch prints a 1-D layer's as 1-tuples), a string padding as given,
 * and the options that are not their defaults.
 */
function convSpecs(
  fn: string,
  o: {
    inC: number;
    outC: number;
    k: readonly number[];
    groups: number;
    bias: unknown;
    dtype: unknown;
    transposed: boolean;
    stride: readonly number[];
    padding: readonly number[] | string;
    dilation: readonly number[];
    outputPadding?: readonly number[];
    size?: (v: readonly number[]) => string;
  },
) {
  const { inC, outC, k, groups } = o;
  if (inC % groups !== 0 || outC % groups !== 0) {
    throw new Error(
      `${fn}: inChannels ${inC} and outChannels ${outC} must both be divisible by groups ${groups}`,
    );
  }
  const hasBias = checkBool(fn, "bias", o.bias, true);
  const dt = floatDType(fn, o.dtype as FloatDType | undefined);
  const weight = o.transposed
    ? [inC, outC / groups, ...k]
    : [outC, inC / groups, ...k];
  const params: Record<string, ParamSpec> = {
    weight: { shape: weight, dtype: dt },
  };
  if (hasBias) params.bias = { shape: [outC], dtype: dt };
  const size = o.size ?? pySize;
  const any = (v: readonly number[] | undefined, dflt: number) =>
    v !== undefined && v.some((d) => d !== dflt);
  // [repr, constructor call] of each argument: the call quotes a string
  // padding, which the repr prints bare
  const parts: [string, string?][] = [
    [`${inC}, ${outC}, kernel_size=${size(k)}, stride=${size(o.stride)}`],
  ];
  if (typeof o.padding === "string") {
    parts.push([`padding=${o.padding}`, `padding='${o.padding}'`]);
  } else if (any(o.padding, 0)) parts.push([`padding=${size(o.padding)}`]);
  if (any(o.dilation, 1)) parts.push([`dilation=${size(o.dilation)}`]);
  if (any(o.outputPadding, 0)) {
    parts.push([`output_padding=${size(o.outputPadding!)}`]);
  }
  if (groups !== 1) parts.push([`groups=${groups}`]);
  if (!hasBias) parts.push(["bias=False"]);
  const args = parts.map(([r]) => r).join(", ");
  const call = parts.map(([r, c]) => c ?? r).join(", ");
  const fanIn = weight.slice(1).reduce((a, b) => a * b, 1);
  return {
    weight,
    params,
    args,
    call,
    init: (key: Key) => weightAndBias(key, params, fanIn),
  };
}

/**
 * A conv layer's repr, and its constructor call where that differs (a
 * string padding or padding mode, quoted in Python).
 */
function convRepr(
  name: string,
  spec: { args: string; call: string },
  modal: { repr: string; torch: string },
): { repr: string; torch?: string } {
  const repr = `${name}(${spec.args}${modal.repr})`;
  const torch = `${name}(${spec.call}${modal.torch})`;
  return torch === repr ? { repr } : { repr, torch };
}

/**
 * What the two convolution layers share: their options checked when the
 * layer is built (the op's options by the op's own rules), the weight
 * `[out, in / groups, kH, kW]` (`[in, out / groups, kH, kW]` when
 * `transposed`) and bias, PyTorch's init (fanIn from the weight's second
 * axis in both cases) and the repr's arguments.
 */
function convLayer<L extends Conv2dLayerOptions | ConvTranspose2dLayerOptions>(
  fn: string,
  options: L,
  transposed: boolean,
) {
  const { inC, outC, kernelSize, bias, dtype, paddingMode, opOptions } =
    convLayerOptions(
      fn,
      options as L & { paddingMode?: PaddingMode },
      transposed ? ["outputPadding"] : ["paddingMode"],
    );
  const k = pair(fn, "kernelSize", kernelSize, 1);
  const s = convSettings(fn, opOptions, transposed);
  // (a numeric padding is s.padding; a string one is printed as given)
  const pad = opOptions.padding;
  const spec = convSpecs(fn, {
    inC,
    outC,
    k,
    groups: s.groups,
    bias,
    dtype,
    transposed,
    stride: s.stride,
    padding: typeof pad === "string" ? pad : s.padding as number[],
    dilation: s.dilation,
    outputPadding: s.outputPadding,
  });
  const modal = paddingModeOf(
    fn,
    paddingMode,
    ([0, 1] as const).map((a) =>
      s.padding === "same"
        ? sameSides(s.dilation[a], k[a])
        : [s.padding[a], s.padding[a]]
    ),
  );
  return {
    /** The repr (and constructor call) of the layer called `name`. */
    reprOf: (name: string) => convRepr(name, spec, modal),
    params: spec.params,
    init: spec.init,
    opOptions,
    padInput: modal.padInput,
    /** The op's options after padInput: no padding left in a padding mode. */
    convOptions: modal.padded ? { ...opOptions, padding: 0 } : opOptions,
  };
}

/** A layer's `paddingMode`: PyTorch's `padding_mode`. */
export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";

/** "same" padding of one axis as PyTorch splits it: the extra one after. */
const sameSides = (dilation: number, k: number): [number, number] => {
  const total = dilation * (k - 1);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
};

/**
 * A conv layer's padding mode, checked: its repr suffix, whether the layer
 * pads x itself (any mode but "zeros", which the op pads), and `padInput`,
 * x padded by `sides` (per spatial axis, the last ones) in that mode.
 */
function paddingModeOf(fn: string, mode: unknown, sides: number[][]) {
  const m = mode ?? "zeros";
  if (!["zeros", "reflect", "replicate", "circular"].includes(m as string)) {
    throw new Error(
      `${fn}: paddingMode must be "zeros", "reflect", "replicate" or "circular", got ${
        describe(m)
      }`,
    );
  }
  const padded = m !== "zeros";
  return {
    repr: padded ? `, padding_mode=${m}` : "",
    torch: padded ? `, padding_mode='${m}'` : "",
    padded,
    padInput: (x: Tensor): Tensor =>
      padded
        ? padOp(
          x,
          [...x.shape.slice(0, -sides.length).map(() => [0, 0]), ...sides],
          { mode: m as Exclude<PaddingMode, "zeros"> },
        )
        : x,
  };
}

/**
 * 2-D convolution layer (PyTorch's `nn.Conv2d`): params
 * `{ weight: [outChannels, inChannels / groups, kH, kW], bias: [outChannels] }`,
 * both drawn from `U(±1/sqrt(fanIn))` with `fanIn = inChannels / groups · kH · kW`.
 * Input `[N, C, H, W]` or unbatched `[C, H, W]`.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const conv = nn.conv2d({ inChannels: 1, outChannels: 6, kernelSize: 5 });
 * assert.equal(conv.info.repr, "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))");
 * const params = conv.init(random.key(0));
 * assert.deepEqual(params.weight.shape, [6, 1, 5, 5]);
 * assert.deepEqual(conv.apply(params, zeros([2, 1, 32, 32])).shape, [2, 6, 28, 28]);
 * assert.deepEqual(nn.conv2d({ inChannels: 3, outChannels: 16, kernelSize: 3, padding: 1 }).info.outputShape([1, 3, 32, 32]), [1, 16, 32, 32]);
 * ```
 */
export function conv2d(
  options: Conv2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  const { reprOf, params, init, opOptions, padInput, convOptions } = convLayer(
    "nn.conv2d",
    options,
    false,
  );
  return defineLayer({
    name: "Conv2d",
    ...reprOf("Conv2d"),
    params,
    init,
    apply: (p, x) =>
      conv2dOp(padInput(x), p.weight, p.bias ?? null, convOptions),
    outputShape: (s) => conv2dShape(s, params.weight.shape, opOptions),
  });
}

/**
 * Transposed 2-D convolution layer (PyTorch's `nn.ConvTranspose2d`): params
 * `{ weight: [inChannels, outChannels / groups, kH, kW], bias: [outChannels] }`;
 * output size `(H - 1)·stride - 2·padding + dilation·(k - 1) + outputPadding + 1`.
 * As PyTorch, the init bound is `1/sqrt(fanIn)` with `fanIn` computed from
 * the weight's second axis: `outChannels / groups · kH · kW`.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const up = nn.convTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 });
 * assert.equal(up.info.repr, "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))");
 * const params = up.init(random.key(0));
 * assert.deepEqual(params.weight.shape, [4, 2, 3, 3]);
 * assert.deepEqual(up.apply(params, zeros([1, 4, 5, 5])).shape, [1, 2, 10, 10]);
 * ```
 */
export function convTranspose2d(
  options: ConvTranspose2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  const { reprOf, params, init, opOptions } = convLayer(
    "nn.convTranspose2d",
    options,
    true,
  );
  return defineLayer({
    name: "ConvTranspose2d",
    ...reprOf("ConvTranspose2d"),
    params,
    init,
    apply: (p, x) => convTranspose2dOp(x, p.weight, p.bias ?? null, opOptions),
    outputShape: (s) => convTranspose2dShape(s, params.weight.shape, opOptions),
  });
}

/** Options of {@linkcode conv3d} (PyTorch's `nn.Conv3d` arguments). */
export interface Conv3dLayerOptions extends Conv3dOptions {
  /** Input channels. Required. */
  inChannels: number;
  /** Output channels. Required. */
  outChannels: number;
  /** Kernel size: one number or `[kD, kH, kW]`. Required. */
  kernelSize: Triple;
  /** Add a learned bias. Default true. */
  bias?: boolean;
  /** Float dtype of the params. Default float32. */
  dtype?: FloatDType;
  /** How the padding is filled: "zeros" (default), "reflect", "replicate" or "circular". */
  paddingMode?: PaddingMode;
}

/**
 * 3-D convolution layer (PyTorch's `nn.Conv3d`, for volumes and video):
 * params `{ weight: [out, in / groups, kD, kH, kW], bias: [out] }`, PyTorch's
 * init and repr; {@linkcode conv3dOp} on `[N, C, D, H, W]`.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const conv = nn.conv3d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 });
 * assert.equal(conv.info.repr, "Conv3d(3, 8, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))");
 * const params = conv.init(random.key(0));
 * assert.deepEqual(params.weight.shape, [8, 3, 3, 3, 3]);
 * assert.deepEqual(conv.apply(params, zeros([2, 3, 4, 8, 8])).shape, [2, 8, 4, 8, 8]);
 * ```
 */
export function conv3d(
  options: Conv3dLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.conv3d";
  const { inC, outC, kernelSize, bias, dtype, paddingMode, opOptions } =
    convLayerOptions(fn, options, ["paddingMode"]);
  const k = triple(fn, "kernelSize", kernelSize, 1);
  const s = conv3dSettings(fn, opOptions);
  const pad = opOptions.padding;
  const spec = convSpecs(fn, {
    inC,
    outC,
    k,
    groups: s.groups,
    bias,
    dtype,
    transposed: false,
    stride: s.stride,
    padding: typeof pad === "string" ? pad : s.padding as number[],
    dilation: s.dilation,
  });
  const modal = paddingModeOf(
    fn,
    paddingMode,
    ([0, 1, 2] as const).map((a) =>
      s.padding === "same"
        ? sameSides(s.dilation[a], k[a])
        : [s.padding[a], s.padding[a]]
    ),
  );
  const convOptions = modal.padded ? { ...opOptions, padding: 0 } : opOptions;
  return defineLayer({
    name: "Conv3d",
    ...convRepr("Conv3d", spec, modal),
    params: spec.params,
    init: spec.init,
    apply: (p, x) =>
      conv3dOp(modal.padInput(x), p.weight, p.bias ?? null, convOptions),
    outputShape: (sh) => conv3dShape(sh, spec.weight, opOptions).shape,
  });
}

/** Options of {@linkcode convTranspose3d} (PyTorch's `nn.ConvTranspose3d` arguments). */
export interface ConvTranspose3dLayerOptions extends ConvTranspose3dOptions {
  /** Input channels. Required. */
  inChannels: number;
  /** Output channels. Required. */
  outChannels: number;
  /** Kernel size: one number or `[kD, kH, kW]`. Required. */
  kernelSize: Triple;
  /** Add a learned bias. Default true. */
  bias?: boolean;
  /** Float dtype of the params. Default float32. */
  dtype?: FloatDType;
}

/**
 * Transposed 3-D convolution layer (PyTorch's `nn.ConvTranspose3d`, the
 * upsampling of 3-D U-Nets): params
 * `{ weight: [in, out / groups, kD, kH, kW], bias: [out] }`, PyTorch's init
 * (fanIn from the weight's second axis) and repr;
 * {@linkcode convTranspose3dOp}.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const up = nn.convTranspose3d({ inChannels: 4, outChannels: 2, kernelSize: 2, stride: 2 });
 * assert.equal(up.info.repr, "ConvTranspose3d(4, 2, kernel_size=(2, 2, 2), stride=(2, 2, 2))");
 * const params = up.init(random.key(0));
 * assert.deepEqual(up.apply(params, zeros([1, 4, 3, 5, 5])).shape, [1, 2, 6, 10, 10]);
 * ```
 */
export function convTranspose3d(
  options: ConvTranspose3dLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.convTranspose3d";
  const { inC, outC, kernelSize, bias, dtype, opOptions } = convLayerOptions(
    fn,
    options,
    ["outputPadding"],
  );
  const k = triple(fn, "kernelSize", kernelSize, 1);
  const s = convTranspose3dSettings(fn, opOptions);
  const { weight, params, args, init } = convSpecs(fn, {
    inC,
    outC,
    k,
    groups: s.groups,
    bias,
    dtype,
    transposed: true,
    stride: s.stride,
    padding: s.padding,
    dilation: s.dilation,
    outputPadding: s.outputPadding,
  });
  return defineLayer({
    name: "ConvTranspose3d",
    repr: `ConvTranspose3d(${args})`,
    params,
    init,
    apply: (p, x) => convTranspose3dOp(x, p.weight, p.bias ?? null, opOptions),
    outputShape: (sh) => convTranspose3dShape(sh, weight, opOptions).shape,
  });
}

/** Options of {@linkcode adaptiveAvgPool3d} and {@linkcode adaptiveMaxPool3d}. */
export interface AdaptivePool3dLayerOptions {
  /** Output `[D, H, W]`, one number for all three, or `null` on an axis to keep the input's size. */
  outputSize:
    | number
    | readonly [number | null, number | null, number | null];
}

/** A 3-D adaptive pooling layer (`kind` "avg" or "max"), PyTorch's module. */
function adaptivePool3dLayer(
  options: AdaptivePool3dLayerOptions,
  kind: "avg" | "max",
): Layer<LeafParams, EmptyState> {
  const name = kind === "avg" ? "AdaptiveAvgPool3d" : "AdaptiveMaxPool3d";
  const fn = `nn.adaptive${kind === "avg" ? "Avg" : "Max"}Pool3d`;
  requireOptions(fn, options, ["outputSize"], ["outputSize"]);
  const os = options.outputSize;
  const sizes: (number | null)[] = typeof os === "number"
    ? [os, os, os]
    : Array.isArray(os)
    ? [...os]
    : [];
  if (
    sizes.length !== 3 ||
    !sizes.every((d) => d === null || (Number.isInteger(d) && d >= 1))
  ) {
    throw new Error(
      `${fn}: outputSize must be a positive integer or a triple [d, h, w] of them (null keeps the input size), got ${
        describe(os)
      }`,
    );
  }
  const resolve = (sh: readonly number[]) =>
    sizes.map((d, a) => d ?? sh[sh.length - 3 + a]) as [number, number, number];
  const op = kind === "avg" ? adaptiveAvgPool3dOp : adaptiveMaxPool3dOp;
  return defineLayer({
    name,
    repr: `${name}(output_size=${pySize(typeof os === "number" ? os : sizes)})`,
    apply: (_p, x) => op(x, resolve(x.shape)),
    outputShape: (sh) =>
      adaptivePool3dShape(
        `${name[0].toLowerCase()}${name.slice(1)}`,
        sh,
        resolve(sh),
      ),
  });
}

/**
 * 3-D adaptive average pooling layer (PyTorch's `nn.AdaptiveAvgPool3d`,
 * the head of 3-D CNNs): any volume to `outputSize`, no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.adaptiveAvgPool3d({ outputSize: 1 });
 * assert.equal(pool.info.repr, "AdaptiveAvgPool3d(output_size=1)");
 * assert.deepEqual(pool.apply({}, zeros([2, 8, 3, 5, 5])).shape, [2, 8, 1, 1, 1]);
 * ```
 */
export function adaptiveAvgPool3d(
  options: AdaptivePool3dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return adaptivePool3dLayer(options, "avg");
}

/**
 * 3-D adaptive max pooling layer (PyTorch's `nn.AdaptiveMaxPool3d`), no
 * parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.adaptiveMaxPool3d({ outputSize: [null, 2, 2] });
 * assert.equal(pool.info.repr, "AdaptiveMaxPool3d(output_size=(None, 2, 2))");
 * assert.deepEqual(pool.apply({}, zeros([1, 4, 3, 6, 6])).shape, [1, 4, 3, 2, 2]);
 * ```
 */
export function adaptiveMaxPool3d(
  options: AdaptivePool3dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return adaptivePool3dLayer(options, "max");
}

/**
 * 3-D max pooling layer (PyTorch's `nn.MaxPool3d`), no parameters;
 * {@linkcode maxPool3dOp}.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.maxPool3d({ kernelSize: 2 });
 * assert.equal(pool.info.repr, "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
 * assert.deepEqual(pool.apply({}, zeros([1, 4, 8, 8, 8])).shape, [1, 4, 4, 4, 4]);
 * ```
 */
export function maxPool3d(
  options: MaxPool3dOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.maxPool3d";
  const { ceilMode } = pool3dSettings(fn, options, "max");
  return defineLayer({
    name: "MaxPool3d",
    repr: `MaxPool3d(${poolReprArgs(options)}, dilation=${
      pySize(options.dilation ?? 1)
    }, ceil_mode=${pyBool(ceilMode)})`,
    apply: (_p, x) => maxPool3dOp(x, options),
    outputShape: (sh) => pool3dShape(sh, options, "max").shape,
  });
}

/**
 * 3-D average pooling layer (PyTorch's `nn.AvgPool3d`), no parameters;
 * {@linkcode avgPool3dOp}.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.avgPool3d({ kernelSize: [1, 2, 2] });
 * assert.equal(pool.info.repr, "AvgPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2), padding=0)");
 * assert.deepEqual(pool.apply({}, zeros([1, 4, 3, 8, 8])).shape, [1, 4, 3, 4, 4]);
 * ```
 */
export function avgPool3d(
  options: AvgPool3dOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.avgPool3d";
  pool3dSettings(fn, options, "avg");
  return defineLayer({
    name: "AvgPool3d",
    repr: `AvgPool3d(${poolReprArgs(options)})`,
    // PyTorch's repr omits these; its constructor takes them
    torch: `AvgPool3d(${poolReprArgs(options)}, ceil_mode=${
      pyBool(options.ceilMode ?? false)
    }, count_include_pad=${
      pyBool(options.countIncludePad ?? true)
    }, divisor_override=${options.divisorOverride ?? "None"})`,
    apply: (_p, x) => avgPool3dOp(x, options),
    outputShape: (sh) => pool3dShape(sh, options, "avg").shape,
  });
}

/** Options of {@linkcode fractionalMaxPool2d}: the op's sizes ({@linkcode FractionalMaxPool2dOptions}); the key comes with each apply. */
export type FractionalMaxPool2dLayerOptions = Pick<
  FractionalMaxPool2dOptions,
  "kernelSize" | "outputSize" | "outputRatio"
>;

/** Options of {@linkcode fractionalMaxPool3d}: the op's sizes ({@linkcode FractionalMaxPool3dOptions}); the key comes with each apply. */
export type FractionalMaxPool3dLayerOptions = Pick<
  FractionalMaxPool3dOptions,
  "kernelSize" | "outputSize" | "outputRatio"
>;

/**
 * 2-D fractional max pooling layer (PyTorch's `nn.FractionalMaxPool2d`), no
 * parameters; {@linkcode fractionalMaxPool2dOp}. As PyTorch's, it draws its
 * windows on every call, in inference too: `apply` needs `opts.key`
 * (containers split theirs among their random layers), and the same key
 * gives the same windows.
 *
 * @example
 * ```ts
 * import { nn, random, toArray, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.fractionalMaxPool2d({ kernelSize: 3, outputRatio: 0.5 });
 * assert.equal(pool.info.repr, "FractionalMaxPool2d()");
 * const x = random.normal(random.key(1), [1, 2, 10, 12]);
 * const y = pool.apply({}, x, { key: random.key(0) });
 * assert.deepEqual(y.shape, [1, 2, 5, 6]);
 * assert.deepEqual(toArray(pool.apply({}, x, { key: random.key(0) })), toArray(y));
 * assert.throws(() => pool.apply({}, zeros([1, 2, 10, 12])), /needs opts.key/);
 * ```
 */
export function fractionalMaxPool2d(
  options: FractionalMaxPool2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return fractionalMaxPoolLayer(options, 2);
}

/**
 * 3-D fractional max pooling layer (PyTorch's `nn.FractionalMaxPool3d`), no
 * parameters; {@linkcode fractionalMaxPool3dOp}, a key needed on every
 * call as {@linkcode fractionalMaxPool2d}'s.
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.fractionalMaxPool3d({ kernelSize: 2, outputSize: [2, 3, 3] });
 * assert.equal(pool.info.torch, "FractionalMaxPool3d(kernel_size=(2, 2, 2), output_size=(2, 3, 3))");
 * const x = random.normal(random.key(1), [1, 2, 5, 6, 6]);
 * assert.deepEqual(pool.apply({}, x, { key: random.key(0) }).shape, [1, 2, 2, 3, 3]);
 * ```
 */
export function fractionalMaxPool3d(
  options: FractionalMaxPool3dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return fractionalMaxPoolLayer(options, 3);
}

/** nn.fractionalMaxPool2d or nn.fractionalMaxPool3d (`rank`): the sizes checked when built, a key on every apply. */
function fractionalMaxPoolLayer(
  options: FractionalMaxPool2dLayerOptions | FractionalMaxPool3dLayerOptions,
  rank: 2 | 3,
): Layer<LeafParams, EmptyState> {
  const name = `FractionalMaxPool${rank}d`, op = `fractionalMaxPool${rank}d`;
  const s = fractionalSettings(`nn.${op}`, options, rank, []);
  const size = s.outputSize
    ? `output_size=${pySize(s.outputSize)}`
    : `output_ratio=(${s.outputRatio!.map(pyFloat).join(", ")})`;
  const pool = rank === 2 ? fractionalMaxPool2dOp : fractionalMaxPool3dOp;
  return defineLayer({
    name,
    repr: `${name}()`,
    // (PyTorch's repr shows no arguments; its constructor takes them)
    torch: `${name}(kernel_size=${pySize(s.kernelSize)}, ${size})`,
    needsKey: true,
    apply: (_p, x, { key }) => {
      if (!key) {
        throw new Error(
          `nn.${name}.apply: needs opts.key (a random.key) in training and inference alike, as PyTorch draws the windows on every call; containers split the key they are given among their random layers`,
        );
      }
      return pool(x, { ...options, key } as never);
    },
    outputShape: (sh) => fractionalPoolShape(op, sh, s, rank),
  });
}

// ---------------------------------------------------------------------------
// pooling

/** Options of {@linkcode maxPool2d}: those of the op, {@linkcode MaxPool2dOptions}. */
export type MaxPool2dLayerOptions = MaxPool2dOptions;

/** Options of {@linkcode avgPool2d}: those of the op, {@linkcode AvgPool2dOptions}. */
export type AvgPool2dLayerOptions = AvgPool2dOptions;

/** A pooling layer's repr arguments as PyTorch prints them: sizes as given, stride defaulting to the kernel. */
function poolReprArgs(
  o: {
    kernelSize: Pair | Triple;
    stride?: Pair | Triple | null;
    padding?: Pair | Triple;
  },
): string {
  const given = (
    v: Pair | Triple | null | undefined,
    def: Pair | Triple,
  ) => pySize(v === undefined || v === null ? def : v);
  return `kernel_size=${given(o.kernelSize, 1)}, stride=${
    given(o.stride, o.kernelSize)
  }, padding=${given(o.padding, 0)}`;
}

/**
 * 2-D max pooling layer (PyTorch's `nn.MaxPool2d`), no parameters; `stride`
 * defaults to `kernelSize`.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.maxPool2d({ kernelSize: 2 });
 * assert.equal(pool.info.repr, "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
 * assert.deepEqual(pool.apply({}, zeros([1, 6, 28, 28])).shape, [1, 6, 14, 14]);
 * ```
 */
export function maxPool2d(
  options: MaxPool2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  const { ceilMode } = poolSettings("nn.maxPool2d", options, "max");
  return defineLayer({
    name: "MaxPool2d",
    repr: `MaxPool2d(${poolReprArgs(options)}, dilation=${
      pySize(options.dilation ?? 1)
    }, ceil_mode=${pyBool(ceilMode)})`,
    apply: (_p, x) => maxPool2dOp(x, options),
    outputShape: (s) => pool2dShape(s, options, "max"),
  });
}

/**
 * 2-D average pooling layer (PyTorch's `nn.AvgPool2d`), no parameters.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.avgPool2d({ kernelSize: 2 });
 * assert.equal(pool.info.repr, "AvgPool2d(kernel_size=2, stride=2, padding=0)");
 * assert.deepEqual(toArray(pool.apply({}, tensor([[[[1, 2], [3, 6]]]]))), [[[[3]]]]);
 * ```
 */
export function avgPool2d(
  options: AvgPool2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  poolSettings("nn.avgPool2d", options, "avg");
  return defineLayer({
    name: "AvgPool2d",
    repr: `AvgPool2d(${poolReprArgs(options)})`,
    // PyTorch's repr omits these; its constructor takes them
    torch: `AvgPool2d(${poolReprArgs(options)}, ceil_mode=${
      pyBool(options.ceilMode ?? false)
    }, count_include_pad=${
      pyBool(options.countIncludePad ?? true)
    }, divisor_override=${options.divisorOverride ?? "None"})`,
    apply: (_p, x) => avgPool2dOp(x, options),
    outputShape: (s) => pool2dShape(s, options, "avg"),
  });
}

/** Options of {@linkcode adaptiveAvgPool2d} and {@linkcode adaptiveMaxPool2d}. */
export interface AdaptiveAvgPool2dLayerOptions {
  /** Output `[H, W]`, one number for both, or `null` on an axis to keep the input's size. */
  outputSize:
    | number
    | readonly [number | null, number | null];
}

/** Options of {@linkcode adaptiveMaxPool2d}: those of {@linkcode adaptiveAvgPool2d}. */
export type AdaptiveMaxPool2dLayerOptions = AdaptiveAvgPool2dLayerOptions;

/** An adaptive pooling layer named `name` (PyTorch's module) running `op`; `shape` is its output shape. */
function adaptivePool(
  fn: string,
  name: string,
  op: (x: Tensor, size: [number, number]) => Tensor,
  shape: (s: readonly number[], size: [number, number]) => number[],
  options: AdaptiveAvgPool2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  requireOptions(fn, options, ["outputSize"], ["outputSize"]);
  const os = options.outputSize;
  const sizes: (number | null)[] = typeof os === "number"
    ? [os, os]
    : Array.isArray(os)
    ? [...os]
    : [];
  if (
    sizes.length !== 2 ||
    !sizes.every((d) => d === null || (Number.isInteger(d) && d >= 1))
  ) {
    throw new Error(
      `${fn}: outputSize must be a positive integer or a pair [h, w] of them (null keeps the input size), got ${
        describe(os)
      }`,
    );
  }
  const resolve = (s: readonly number[]): [number, number] => [
    sizes[0] ?? s[s.length - 2],
    sizes[1] ?? s[s.length - 1],
  ];
  return defineLayer({
    name,
    repr: `${name}(output_size=${pySize(typeof os === "number" ? os : sizes)})`,
    apply: (_p, x) => op(x, resolve(x.shape)),
    outputShape: (s) => shape(s, resolve(s)),
  });
}

/**
 * Adaptive average pooling layer (PyTorch's `nn.AdaptiveAvgPool2d`): pools
 * any input to `outputSize`, no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.adaptiveAvgPool2d({ outputSize: [7, 7] });
 * assert.equal(pool.info.repr, "AdaptiveAvgPool2d(output_size=(7, 7))");
 * assert.deepEqual(pool.apply({}, zeros([1, 2, 14, 14])).shape, [1, 2, 7, 7]);
 * assert.deepEqual(nn.adaptiveAvgPool2d({ outputSize: [null, 1] }).info.outputShape([1, 2, 5, 9]), [1, 2, 5, 1]);
 * ```
 */
export function adaptiveAvgPool2d(
  options: AdaptiveAvgPool2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return adaptivePool(
    "nn.adaptiveAvgPool2d",
    "AdaptiveAvgPool2d",
    adaptiveAvgPool2dOp,
    adaptiveAvgPool2dShape,
    options,
  );
}

/**
 * Adaptive max pooling layer (PyTorch's `nn.AdaptiveMaxPool2d`): the
 * maximum of each of `outputSize` windows, any input size, no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.adaptiveMaxPool2d({ outputSize: 3 });
 * assert.equal(pool.info.repr, "AdaptiveMaxPool2d(output_size=3)");
 * assert.deepEqual(pool.apply({}, zeros([1, 2, 7, 5])).shape, [1, 2, 3, 3]);
 * ```
 */
export function adaptiveMaxPool2d(
  options: AdaptiveMaxPool2dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return adaptivePool(
    "nn.adaptiveMaxPool2d",
    "AdaptiveMaxPool2d",
    adaptiveMaxPool2dOp,
    adaptiveMaxPool2dShape,
    options,
  );
}

// ---------------------------------------------------------------------------
// patches: unfold, fold, pixel shuffles

/** unfold's options in PyTorch's repr order (`Unfold(kernel_size=…, dilation=…, padding=…, stride=…)`). */
const patchReprArgs = (o: UnfoldOptions) =>
  `kernel_size=${pySize(o.kernelSize)}, dilation=${
    pySize(o.dilation ?? 1)
  }, padding=${pySize(o.padding ?? 0)}, stride=${pySize(o.stride ?? 1)}`;

/**
 * Unfold layer (PyTorch's `nn.Unfold`): every window of a convolution as a
 * column, `[N, C, H, W]` to `[N, C·kH·kW, L]` ({@linkcode unfoldOp}).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const u = nn.unfold({ kernelSize: 3, padding: 1 });
 * assert.equal(u.info.repr, "Unfold(kernel_size=3, dilation=1, padding=1, stride=1)");
 * assert.deepEqual(u.info.outputShape([2, 4, 8, 8]), [2, 36, 64]);
 * ```
 */
export function unfold(options: UnfoldOptions): Layer<LeafParams, EmptyState> {
  const fn = "nn.unfold";
  patchSettings(fn, options, false);
  return defineLayer({
    name: "Unfold",
    repr: `Unfold(${patchReprArgs(options)})`,
    apply: (_p, x) => unfoldOp(x, options),
    outputShape: (s) => unfoldShape(s, options),
  });
}

/**
 * Fold layer (PyTorch's `nn.Fold`): columns `[N, C·kH·kW, L]` added back
 * into images `[N, C, H, W]` of `outputSize` ({@linkcode foldOp}).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f = nn.fold({ outputSize: [4, 5], kernelSize: 2 });
 * assert.equal(f.info.repr, "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=1)");
 * assert.deepEqual(f.info.outputShape([1, 12, 12]), [1, 3, 4, 5]);
 * ```
 */
export function fold(options: FoldOptions): Layer<LeafParams, EmptyState> {
  const fn = "nn.fold";
  patchSettings(fn, options, true);
  return defineLayer({
    name: "Fold",
    repr: `Fold(output_size=${pySize(options.outputSize)}, ${
      patchReprArgs(options)
    })`,
    apply: (_p, x) => foldOp(x, options),
    outputShape: (s) => foldShape(s, options),
  });
}

/**
 * Pixel shuffle layer (PyTorch's `nn.PixelShuffle`): `[N, C·r², H, W]` to
 * `[N, C, H·r, W·r]` ({@linkcode pixelShuffleOp}).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const up = nn.pixelShuffle(2);
 * assert.equal(up.info.repr, "PixelShuffle(upscale_factor=2)");
 * assert.deepEqual(up.info.outputShape([1, 8, 3, 3]), [1, 2, 6, 6]);
 * ```
 */
export function pixelShuffle(
  upscaleFactor: number,
): Layer<LeafParams, EmptyState> {
  return shuffleLayer("PixelShuffle", "upscale_factor", upscaleFactor, true);
}

/**
 * Pixel unshuffle layer (PyTorch's `nn.PixelUnshuffle`): `[N, C, H·r, W·r]`
 * to `[N, C·r², H, W]` ({@linkcode pixelUnshuffleOp}).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const down = nn.pixelUnshuffle(2);
 * assert.equal(down.info.repr, "PixelUnshuffle(downscale_factor=2)");
 * assert.deepEqual(down.info.outputShape([1, 2, 6, 6]), [1, 8, 3, 3]);
 * ```
 */
export function pixelUnshuffle(
  downscaleFactor: number,
): Layer<LeafParams, EmptyState> {
  return shuffleLayer(
    "PixelUnshuffle",
    "downscale_factor",
    downscaleFactor,
    false,
  );
}

/** A pixel (un)shuffle layer by `factor`, checked when built. */
function shuffleLayer(
  name: string,
  arg: string,
  factor: number,
  up: boolean,
): Layer<LeafParams, EmptyState> {
  const fn = up ? "nn.pixelShuffle" : "nn.pixelUnshuffle";
  if (!Number.isInteger(factor) || factor < 1) {
    throw new Error(
      `${fn}: ${
        up ? "upscaleFactor" : "downscaleFactor"
      } must be an integer >= 1, got ${describe(factor)}`,
    );
  }
  const op = up ? pixelShuffleOp : pixelUnshuffleOp;
  return defineLayer({
    name,
    repr: `${name}(${arg}=${factor})`,
    apply: (_p, x) => op(x, factor),
    outputShape: (s) => pixelShuffleShape(s, factor, up),
  });
}

// ---------------------------------------------------------------------------
// 1-D convolution and pooling, upsampling

/** Options of {@linkcode conv1d}: the op's {@linkcode Conv1dOptions} plus the layer's sizes and parameters. */
export interface Conv1dLayerOptions extends Conv1dOptions {
  /** Channels of the input. */
  inChannels: number;
  /** Channels of the output (number of filters). */
  outChannels: number;
  /** Kernel length. */
  kernelSize: number;
  /** Learn a bias per output channel. Default true. */
  bias?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
  /** How the padding is filled, as PyTorch's `padding_mode` (see {@linkcode Conv2dLayerOptions}). */
  paddingMode?: PaddingMode;
}

/** A 1-D size as PyTorch prints what it stores: `(3,)` for a 1-tuple, else the number. */
const pySingle = (v: number | readonly number[]) =>
  typeof v === "number" ? String(v) : `(${v[0]},)`;

/**
 * 1-D convolution layer (PyTorch's `nn.Conv1d`): params
 * `{ weight: [outChannels, inChannels / groups, kernelSize], bias: [outChannels] }`,
 * both drawn from `U(±1/sqrt(fanIn))` with `fanIn = inChannels / groups · kernelSize`
 * (PyTorch's kaiming-uniform with a = sqrt(5)). Input `[N, C, L]` or unbatched `[C, L]`.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const conv = nn.conv1d({ inChannels: 3, outChannels: 8, kernelSize: 5 });
 * assert.equal(conv.info.repr, "Conv1d(3, 8, kernel_size=(5,), stride=(1,))");
 * const params = conv.init(random.key(0));
 * assert.deepEqual(params.weight.shape, [8, 3, 5]);
 * assert.deepEqual(conv.apply(params, zeros([2, 3, 32])).shape, [2, 8, 28]);
 * ```
 */
export function conv1d(
  options: Conv1dLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.conv1d";
  const { inC, outC, kernelSize, bias, dtype, paddingMode, opOptions } =
    convLayerOptions(fn, options, ["paddingMode"]);
  const k = single(fn, "kernelSize", kernelSize, 1);
  const s = conv1dSettings(fn, opOptions);
  const groups = s.groups!;
  // (PyTorch prints a 1-D layer's sizes as 1-tuples)
  const pad = opOptions.padding ?? 0;
  const spec = convSpecs(fn, {
    inC,
    outC,
    k: [k],
    groups,
    bias,
    dtype,
    transposed: false,
    stride: [s.stride[1]],
    padding: typeof pad === "string" ? pad : [single(fn, "padding", pad, 0)],
    dilation: [s.dilation[1]],
    size: pySize,
  });
  const p1 = s.padding === "same" || s.padding === "valid"
    ? 0
    : (s.padding as [number, number])[1];
  const modal = paddingModeOf(fn, paddingMode, [
    s.padding === "same" ? sameSides(s.dilation[1], k) : [p1, p1],
  ]);
  const convOptions = modal.padded ? { ...opOptions, padding: 0 } : opOptions;
  const { params, init } = spec;
  return defineLayer({
    name: "Conv1d",
    ...convRepr("Conv1d", spec, modal),
    params,
    init,
    apply: (p, x) =>
      conv1dOp(modal.padInput(x), p.weight, p.bias ?? null, convOptions),
    outputShape: (sh) => conv1dShape(sh, params.weight.shape, opOptions),
  });
}

/** Options of {@linkcode convTranspose1d}: the op's {@linkcode ConvTranspose1dOptions} plus the layer's sizes and parameters. */
export interface ConvTranspose1dLayerOptions extends ConvTranspose1dOptions {
  /** Channels of the input. */
  inChannels: number;
  /** Channels of the output. */
  outChannels: number;
  /** Kernel length. */
  kernelSize: number;
  /** Learn a bias per output channel. Default true. */
  bias?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * Transposed 1-D convolution layer (PyTorch's `nn.ConvTranspose1d`): params
 * `{ weight: [inChannels, outChannels / groups, K], bias: [outChannels] }`;
 * output length `(L - 1)·stride - 2·padding + dilation·(K - 1) +
 * outputPadding + 1`; PyTorch's init (fanIn `outChannels / groups · K`).
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const up = nn.convTranspose1d({ inChannels: 4, outChannels: 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 });
 * assert.equal(up.info.repr, "ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,), padding=(1,), output_padding=(1,))");
 * const params = up.init(random.key(0));
 * assert.deepEqual(params.weight.shape, [4, 2, 3]);
 * assert.deepEqual(up.apply(params, zeros([1, 4, 5])).shape, [1, 2, 10]);
 * ```
 */
export function convTranspose1d(
  options: ConvTranspose1dLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.convTranspose1d";
  const { inC, outC, kernelSize, bias, dtype, opOptions } = convLayerOptions(
    fn,
    options,
    ["outputPadding"],
  );
  const k = single(fn, "kernelSize", kernelSize, 1);
  const s = convTranspose1dSettings(fn, opOptions);
  const one = (v: number | Pair | undefined) => [(v as number[])[1]];
  const { params, args, init } = convSpecs(fn, {
    inC,
    outC,
    k: [k],
    groups: s.groups!,
    bias,
    dtype,
    transposed: true,
    stride: one(s.stride),
    padding: one(s.padding),
    dilation: one(s.dilation),
    outputPadding: one(s.outputPadding),
    size: pySize,
  });
  return defineLayer({
    name: "ConvTranspose1d",
    repr: `ConvTranspose1d(${args})`,
    params,
    init,
    apply: (p, x) => convTranspose1dOp(x, p.weight, p.bias ?? null, opOptions),
    outputShape: (sh) =>
      convTranspose1dShape(sh, params.weight.shape, opOptions),
  });
}

/** A 1-D pooling layer's repr arguments: sizes as given, stride defaulting to the kernel. */
function pool1dReprArgs(
  o: MaxPool1dOptions | AvgPool1dOptions,
  show: (v: number | readonly number[]) => string,
): string {
  const stride = o.stride === undefined || o.stride === null
    ? o.kernelSize
    : o.stride;
  return `kernel_size=${show(o.kernelSize)}, stride=${show(stride)}, padding=${
    show(o.padding ?? 0)
  }`;
}

/**
 * 1-D max pooling layer (PyTorch's `nn.MaxPool1d`), no parameters; `stride`
 * defaults to `kernelSize`.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.maxPool1d({ kernelSize: 2 });
 * assert.equal(pool.info.repr, "MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
 * assert.deepEqual(pool.apply({}, zeros([1, 6, 28])).shape, [1, 6, 14]);
 * ```
 */
export function maxPool1d(
  options: MaxPool1dOptions,
): Layer<LeafParams, EmptyState> {
  pool1dSettings("nn.maxPool1d", options, "max");
  return defineLayer({
    name: "MaxPool1d",
    repr: `MaxPool1d(${pool1dReprArgs(options, pySingle)}, dilation=${
      pySingle(options.dilation ?? 1)
    }, ceil_mode=${pyBool(options.ceilMode ?? false)})`,
    apply: (_p, x) => maxPool1dOp(x, options),
    outputShape: (s) => pool1dShape(s, options, "max"),
  });
}

/**
 * 1-D average pooling layer (PyTorch's `nn.AvgPool1d`), no parameters.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.avgPool1d({ kernelSize: 2 });
 * assert.equal(pool.info.repr, "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))");
 * assert.deepEqual(toArray(pool.apply({}, tensor([[[1, 3, 5, 7]]]))), [[[2, 6]]]);
 * ```
 */
export function avgPool1d(
  options: AvgPool1dOptions,
): Layer<LeafParams, EmptyState> {
  pool1dSettings("nn.avgPool1d", options, "avg");
  // PyTorch stores AvgPool1d's sizes as 1-tuples
  const args = pool1dReprArgs(
    options,
    (v) => `(${typeof v === "number" ? v : v[0]},)`,
  );
  return defineLayer({
    name: "AvgPool1d",
    repr: `AvgPool1d(${args})`,
    // PyTorch's repr omits these; its constructor takes them
    torch: `AvgPool1d(${args}, ceil_mode=${
      pyBool(options.ceilMode ?? false)
    }, count_include_pad=${pyBool(options.countIncludePad ?? true)})`,
    apply: (_p, x) => avgPool1dOp(x, options),
    outputShape: (s) => pool1dShape(s, options, "avg"),
  });
}

/** Options of {@linkcode adaptiveAvgPool1d} and {@linkcode adaptiveMaxPool1d}. */
export interface AdaptivePool1dLayerOptions {
  /** Output length. Required. */
  outputSize: number;
}

/** A 1-D adaptive pooling layer (`kind` "avg" or "max"), PyTorch's module. */
function adaptivePool1dLayer(
  options: AdaptivePool1dLayerOptions,
  kind: "avg" | "max",
): Layer<LeafParams, EmptyState> {
  const name = kind === "avg" ? "AdaptiveAvgPool1d" : "AdaptiveMaxPool1d";
  const fn = `nn.adaptive${kind === "avg" ? "Avg" : "Max"}Pool1d`;
  requireOptions(fn, options, ["outputSize"], ["outputSize"]);
  const size = single(fn, "outputSize", options.outputSize, 1);
  const op = kind === "avg" ? adaptiveAvgPool1dOp : adaptiveMaxPool1dOp;
  return defineLayer({
    name,
    // (as given: PyTorch prints a 1-tuple as one)
    repr: `${name}(output_size=${pySize(options.outputSize)})`,
    apply: (_p, x) => op(x, size),
    outputShape: (s) => adaptivePool1dShape(s, size, kind),
  });
}

/**
 * 1-D adaptive average pooling layer (PyTorch's `nn.AdaptiveAvgPool1d`):
 * pools any length to `outputSize`, no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.adaptiveAvgPool1d({ outputSize: 4 });
 * assert.equal(pool.info.repr, "AdaptiveAvgPool1d(output_size=4)");
 * assert.deepEqual(pool.apply({}, zeros([2, 3, 10])).shape, [2, 3, 4]);
 * ```
 */
export function adaptiveAvgPool1d(
  options: AdaptivePool1dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return adaptivePool1dLayer(options, "avg");
}

/**
 * 1-D adaptive max pooling layer (PyTorch's `nn.AdaptiveMaxPool1d`): the
 * maximum of each of `outputSize` windows, any length, no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.adaptiveMaxPool1d({ outputSize: 1 });
 * assert.equal(pool.info.repr, "AdaptiveMaxPool1d(output_size=1)");
 * assert.deepEqual(pool.apply({}, zeros([2, 3, 10])).shape, [2, 3, 1]);
 * ```
 */
export function adaptiveMaxPool1d(
  options: AdaptivePool1dLayerOptions,
): Layer<LeafParams, EmptyState> {
  return adaptivePool1dLayer(options, "max");
}

/** PyTorch's repr arguments of LPPool1d/LPPool2d: `norm_type=…, kernel_size=…, stride=…, ceil_mode=…`. */
const lpReprArgs = (o: LpPool1dOptions | LpPool2dOptions) =>
  `norm_type=${o.normType}, kernel_size=${pySize(o.kernelSize)}, stride=${
    o.stride === undefined || o.stride === null ? "None" : pySize(o.stride)
  }, ceil_mode=${pyBool(o.ceilMode ?? false)}`;

/**
 * Power-average pooling layer (PyTorch's `nn.LPPool2d`): each window's
 * (Σ x^p)^(1/p), {@linkcode lpPool2dOp}; no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.lpPool2d({ normType: 2, kernelSize: 2 });
 * assert.equal(pool.info.repr, "LPPool2d(norm_type=2, kernel_size=2, stride=None, ceil_mode=False)");
 * assert.deepEqual(pool.apply({}, zeros([1, 3, 8, 8])).shape, [1, 3, 4, 4]);
 * ```
 */
export function lpPool2d(
  options: LpPool2dOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.lpPool2d";
  const { pool } = lpPoolSettings(fn, options);
  poolSettings(fn, pool, "avg");
  return defineLayer({
    name: "LPPool2d",
    repr: `LPPool2d(${lpReprArgs(options)})`,
    apply: (_p, x) => lpPool2dOp(x, options),
    outputShape: (s) => pool2dShape(s, pool, "avg"),
  });
}

/**
 * 1-D power-average pooling layer (PyTorch's `nn.LPPool1d`):
 * {@linkcode lpPool1dOp}; no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = nn.lpPool1d({ normType: 3, kernelSize: 2 });
 * assert.equal(pool.info.repr, "LPPool1d(norm_type=3, kernel_size=2, stride=None, ceil_mode=False)");
 * assert.deepEqual(pool.apply({}, zeros([1, 3, 8])).shape, [1, 3, 4]);
 * ```
 */
export function lpPool1d(
  options: LpPool1dOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.lpPool1d";
  const { pool } = lpPoolSettings(fn, options);
  pool1dSettings(fn, pool, "avg");
  return defineLayer({
    name: "LPPool1d",
    repr: `LPPool1d(${lpReprArgs(options)})`,
    apply: (_p, x) => lpPool1dOp(x, options),
    outputShape: (s) => pool1dShape(s, pool, "avg", "lpPool1d"),
  });
}

/** Options of {@linkcode upsample}: those of the op, {@linkcode InterpolateOptions}, but antialias (nn.Upsample has none). */
export type UpsampleLayerOptions = Omit<InterpolateOptions, "antialias">;

/**
 * Upsampling layer (PyTorch's `nn.Upsample`): {@linkcode interpolate} of
 * `[N, C, L]`, `[N, C, H, W]` or `[N, C, D, H, W]` to `size` or by
 * `scaleFactor`, in any of its modes ("nearest" by default); no parameters.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const up = nn.upsample({ scaleFactor: 2 });
 * assert.equal(up.info.repr, "Upsample(scale_factor=2.0, mode=nearest)");
 * assert.deepEqual(toArray(up.apply({}, tensor([[[1, 2]]]))), [[[1, 1, 2, 2]]]);
 * assert.deepEqual(nn.upsample({ size: [3, 5], mode: "bilinear" }).info.outputShape([2, 4, 8, 8]), [2, 4, 3, 5]);
 * ```
 */
export function upsample(
  options: UpsampleLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.upsample";
  if (typeof options !== "object" || options === null) {
    throw new Error(
      `${fn}: expected an options object with size or scaleFactor, got ${
        describe(options)
      }`,
    );
  }
  const { mode } = interpolatePlan(fn, null, options);
  const { alignCorners, recomputeScaleFactor } = options;
  const what = sizeOrFactor(options);
  let call = `Upsample(${what}, mode='${mode}'`;
  if (alignCorners !== undefined) {
    call += `, align_corners=${pyBool(alignCorners)}`;
  }
  if (recomputeScaleFactor !== undefined) {
    call += `, recompute_scale_factor=${pyBool(recomputeScaleFactor)}`;
  }
  return defineLayer({
    name: "Upsample",
    repr: `Upsample(${what}, mode=${mode})`,
    // PyTorch's repr leaves the quotes and align_corners out
    torch: `${call})`,
    apply: (_p, x) => interpolateOp(x, options),
    outputShape: (s) => interpolatePlan("nn.Upsample", s, options).shape,
  });
}

/** An upsampling's `size=...` or `scale_factor=...`, as PyTorch's reprs print it. */
function sizeOrFactor(
  { size, scaleFactor }: {
    size?: number | readonly number[];
    scaleFactor?: number | readonly number[];
  },
): string {
  const tuple = (v: number | readonly number[], f: (d: number) => string) =>
    typeof v === "number"
      ? f(v)
      : `(${v.map(f).join(", ")}${v.length === 1 ? "," : ""})`;
  return size !== undefined
    ? `size=${tuple(size, String)}`
    : `scale_factor=${tuple(scaleFactor!, pyFloat)}`;
}

/** Options of {@linkcode upsamplingNearest2d} and {@linkcode upsamplingBilinear2d}: a size or a factor. */
export interface Upsampling2dOptions {
  /** The output's [H, W] (or one size for both). */
  size?: number | readonly number[];
  /** The factor of H and W (or one for both). */
  scaleFactor?: number | readonly number[];
}

/** `nn.Upsample` under PyTorch's older class name `name`, its mode fixed. */
function upsampling2d(
  fn: string,
  name: string,
  options: Upsampling2dOptions,
  fixed: InterpolateOptions,
): Layer<LeafParams, EmptyState> {
  if (typeof options !== "object" || options === null) {
    throw new Error(
      `${fn}: expected an options object with size or scaleFactor, got ${
        describe(options)
      }`,
    );
  }
  checkOptions(fn, options, ["size", "scaleFactor"]);
  const merged = { ...options, ...fixed } as InterpolateOptions;
  interpolatePlan(fn, null, merged); // (its errors named by this layer)
  const inner = upsample(merged);
  const what = sizeOrFactor(options);
  return defineLayer({
    name,
    repr: `${name}(${what}, mode=${fixed.mode})`,
    torch: `${name}(${what})`,
    apply: (p, x) => inner.apply(p, x),
    outputShape: inner.info.outputShape,
  });
}

/**
 * Nearest-neighbour upsampling of `[N, C, H, W]`, as PyTorch's
 * `nn.UpsamplingNearest2d` (`nn.upsample` with mode "nearest").
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.upsamplingNearest2d({ scaleFactor: 2 }).info.repr, "UpsamplingNearest2d(scale_factor=2.0, mode=nearest)");
 * ```
 */
export function upsamplingNearest2d(
  options: Upsampling2dOptions,
): Layer<LeafParams, EmptyState> {
  return upsampling2d(
    "nn.upsamplingNearest2d",
    "UpsamplingNearest2d",
    options,
    {
      mode: "nearest",
    },
  );
}

/**
 * Bilinear upsampling of `[N, C, H, W]` with the corners aligned, as
 * PyTorch's `nn.UpsamplingBilinear2d` (`nn.upsample` with mode "bilinear"
 * and alignCorners true).
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const up = nn.upsamplingBilinear2d({ size: [3, 5] });
 * assert.equal(up.info.repr, "UpsamplingBilinear2d(size=(3, 5), mode=bilinear)");
 * assert.deepEqual(up.info.outputShape([2, 1, 8, 8]), [2, 1, 3, 5]);
 * ```
 */
export function upsamplingBilinear2d(
  options: Upsampling2dOptions,
): Layer<LeafParams, EmptyState> {
  return upsampling2d(
    "nn.upsamplingBilinear2d",
    "UpsamplingBilinear2d",
    options,
    { mode: "bilinear", alignCorners: true },
  );
}

/**
 * Softmax over the channels of `[N, C, H, W]` (or `[C, H, W]`), as
 * PyTorch's `nn.Softmax2d`: at each position, a distribution over C.
 *
 * @example
 * ```ts
 * import { nn, sum, toArray, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = nn.softmax2d.apply({}, zeros([1, 4, 2, 2]));
 * assert.deepEqual(toArray(sum(y, { axis: 1 })), [[[1, 1], [1, 1]]]);
 * ```
 */
export const softmax2d: Layer<LeafParams, EmptyState> = defineLayer({
  name: "Softmax2d",
  apply: (_p, x) => {
    if (x.shape.length !== 3 && x.shape.length !== 4) {
      throw new Error(
        `nn.Softmax2d.apply: x must be [N, C, H, W] or [C, H, W], got ${
          describe(x)
        }`,
      );
    }
    return softmaxOp(x, -3);
  },
});

// ---------------------------------------------------------------------------
// reshaping, dropout

/**
 * Flattens axes `startDim..endDim` into one (PyTorch's `nn.Flatten`;
 * defaults `startDim = 1`, `endDim = -1`, so the batch axis stays).
 * Callable with no argument: `nn.flatten()`.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.flatten().info.repr, "Flatten(start_dim=1, end_dim=-1)");
 * assert.deepEqual(nn.flatten().apply({}, zeros([2, 16, 5, 5])).shape, [2, 400]);
 * assert.deepEqual(nn.flatten({ startDim: 0 }).info.outputShape([2, 3]), [6]);
 * ```
 */
export function flatten(
  options?: { startDim?: number; endDim?: number },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.flatten";
  checkOptions(fn, options, ["startDim", "endDim"]);
  const startDim = options.startDim ?? 1, endDim = options.endDim ?? -1;
  for (
    const [name, v] of [["startDim", startDim], ["endDim", endDim]] as const
  ) {
    if (!Number.isInteger(v)) {
      throw new Error(`${fn}: ${name} must be an integer, got ${describe(v)}`);
    }
  }
  return defineLayer({
    name: "Flatten",
    repr: `Flatten(start_dim=${startDim}, end_dim=${endDim})`,
    apply: (_p, x) => flattenOp(x, startDim, endDim),
    outputShape: (s) => {
      // (a scalar takes the dims 0 and -1, as PyTorch's, and becomes [1])
      const nd = s.length, wrap = Math.max(nd, 1);
      const norm = (a: number, name: string) => {
        const r = a < 0 ? a + wrap : a;
        if (r < 0 || r >= wrap) {
          throw new Error(
            `nn.Flatten: ${name} ${a} is out of range for input ${fmtShape(s)}`,
          );
        }
        return r;
      };
      const a = norm(startDim, "startDim"), b = norm(endDim, "endDim");
      if (a > b) {
        throw new Error(
          `nn.Flatten: startDim ${startDim} comes after endDim ${endDim} for input ${
            fmtShape(s)
          }`,
        );
      }
      const mid = s.slice(a, b + 1).reduce((p, d) => p * d, 1);
      return [...s.slice(0, a), mid, ...s.slice(b + 1)];
    },
  });
}

/**
 * Unflattens axis `dim` into `unflattenedSize` (PyTorch's `nn.Unflatten`):
 * the inverse of {@linkcode flatten} over those axes; one size may be -1.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const u = nn.unflatten({ dim: 1, unflattenedSize: [16, 5, 5] });
 * assert.equal(u.info.repr, "Unflatten(dim=1, unflattened_size=(16, 5, 5))");
 * assert.deepEqual(u.apply({}, zeros([2, 400])).shape, [2, 16, 5, 5]);
 * ```
 */
export function unflatten(
  options: { dim: number; unflattenedSize: readonly number[] },
): Layer<LeafParams, EmptyState> {
  const fn = "nn.unflatten";
  requireOptions(fn, options, ["dim", "unflattenedSize"], [
    "dim",
    "unflattenedSize",
  ]);
  const { dim, unflattenedSize: sizes } = options;
  if (!Number.isInteger(dim)) {
    throw new Error(`${fn}: dim must be an integer, got ${describe(dim)}`);
  }
  if (
    !Array.isArray(sizes) || sizes.length === 0 ||
    !sizes.every((d) => Number.isInteger(d) && (d >= 0 || d === -1)) ||
    sizes.filter((d) => d === -1).length > 1
  ) {
    throw new Error(
      `${fn}: unflattenedSize must be a non-empty array of sizes >= 0 (one may be -1), got ${
        describe(sizes)
      }`,
    );
  }
  const shapeOf = (s: readonly number[]): number[] => {
    const a = dim < 0 ? dim + s.length : dim;
    if (a < 0 || a >= s.length) {
      throw new Error(
        `nn.Unflatten: dim ${dim} is out of range for input ${fmtShape(s)}`,
      );
    }
    const known = sizes.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    const filled = sizes.map((d) => d === -1 ? s[a] / known : d);
    if (
      !filled.every(Number.isInteger) ||
      filled.reduce((p, d) => p * d, 1) !== s[a]
    ) {
      throw new Error(
        `nn.Unflatten: unflattenedSize ${
          fmtShape(sizes)
        } does not multiply to axis ${dim}'s size ${s[a]} (input ${
          fmtShape(s)
        })`,
      );
    }
    return [...s.slice(0, a), ...filled, ...s.slice(a + 1)];
  };
  return defineLayer({
    name: "Unflatten",
    repr: `Unflatten(dim=${dim}, unflattened_size=${pySize(sizes)})`,
    apply: (_p, x) => reshapeOp(x, shapeOf(x.shape)),
    outputShape: shapeOf,
  });
}

/**
 * The identity layer (PyTorch's `nn.Identity()`): a placeholder that
 * returns its input, a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([1, 2]);
 * assert.equal(nn.identity.apply({}, x), x);
 * assert.equal(nn.identity.info.repr, "Identity()");
 * ```
 */
export const identity: Layer<LeafParams, EmptyState> = defineLayer({
  name: "Identity",
  apply: (_p, x) => x,
});

/** A softmax-like layer over axis `dim` (required: PyTorch's implicit choice is deprecated). */
function overDim(
  fn: string,
  name: string,
  op: (x: Tensor, axis: number) => Tensor,
  options: { dim: number },
): Layer<LeafParams, EmptyState> {
  requireOptions(fn, options, ["dim"], ["dim"]);
  if (!Number.isInteger(options.dim)) {
    throw new Error(
      `${fn}: dim must be an integer, got ${describe(options.dim)}`,
    );
  }
  const dim = options.dim;
  return defineLayer({
    name,
    repr: `${name}(dim=${dim})`,
    apply: (_p, x) => op(x, dim),
  });
}

/**
 * Softmax layer over axis `dim` (PyTorch's `nn.Softmax(dim)`); `dim` is
 * required, as PyTorch's implicit choice is deprecated.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const s = nn.softmax({ dim: 1 });
 * assert.equal(s.info.repr, "Softmax(dim=1)");
 * assert.deepEqual(toArray(s.apply({}, tensor([[0, 0]]))), [[0.5, 0.5]]);
 * ```
 */
export function softmax(
  options: { dim: number },
): Layer<LeafParams, EmptyState> {
  return overDim("nn.softmax", "Softmax", softmaxOp, options);
}

/**
 * Log-softmax layer over axis `dim` (PyTorch's `nn.LogSoftmax(dim)`), the
 * output layer of a network trained with {@linkcode nllLoss}.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.logSoftmax({ dim: -1 }).info.repr, "LogSoftmax(dim=-1)");
 * ```
 */
export function logSoftmax(
  options: { dim: number },
): Layer<LeafParams, EmptyState> {
  return overDim("nn.logSoftmax", "LogSoftmax", logSoftmaxOp, options);
}

/**
 * A padding layer of `dims` spatial axes (1, 2 or 3): PyTorch's
 * `nn.{Zero,Constant,Reflection,Replication}Pad{1,2,3}d`. `padding` is one
 * number for every side, or `[left, right]` (1-D) / `[left, right, top,
 * bottom]` (2-D) / `[left, right, top, bottom, front, back]` (3-D) as
 * PyTorch's tuples.
 */
function padLayer(
  kind: "Zero" | "Constant" | "Reflection" | "Replication",
  dims: 1 | 2 | 3,
  padding: number | readonly number[],
  given?: number,
): Layer<LeafParams, EmptyState> {
  const name = `${kind}Pad${dims}d`;
  const fn = `nn.${kind[0].toLowerCase()}${kind.slice(1)}Pad${dims}d`;
  const n = 2 * dims;
  const sides = typeof padding === "number" ? Array(n).fill(padding) : padding;
  if (
    !Array.isArray(sides) || sides.length !== n ||
    !sides.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    throw new Error(
      `${fn}: padding must be an integer >= 0 or ${n} of them (${
        [
          "[left, right]",
          "[left, right, top, bottom]",
          "[left, right, top, bottom, front, back]",
        ][dims - 1]
      }), got ${describe(padding)}`,
    );
  }
  // (required by the constant pads, as PyTorch's value argument)
  if (kind === "Constant" && typeof given !== "number") {
    throw new Error(`${fn}: value must be a number, got ${describe(given)}`);
  }
  const value = given ?? 0;
  // widths of the last axes, outermost first: ([front, back],) [top,
  // bottom], [left, right]
  const last = Array.from({ length: dims }, (_, i) => {
    const k = dims - 1 - i;
    return [sides[2 * k], sides[2 * k + 1]];
  });
  const widths = (s: readonly number[]) => {
    if (s.length !== dims + 1 && s.length !== dims + 2) {
      throw new Error(
        `nn.${name}: expected a ${dims + 1}-D or ${dims + 2}-D input, got ${
          fmtShape(s)
        }`,
      );
    }
    return [...s.slice(0, -dims).map(() => [0, 0]), ...last] as [
      number,
      number,
    ][];
  };
  const mode = kind === "Reflection"
    ? "reflect"
    : kind === "Replication"
    ? "replicate"
    : "constant";
  const tuple = `(${sides.join(", ")})`;
  return defineLayer({
    name,
    repr: kind === "Constant"
      ? `${name}(padding=${tuple}, value=${pyFloat(value)})`
      : `${name}(${tuple})`,
    apply: (_p, x) =>
      padOp(x, widths(x.shape), mode === "constant" ? { value } : { mode }),
    outputShape: (s) => s.map((d, i) => d + widths(s)[i][0] + widths(s)[i][1]),
  });
}

/**
 * Zero padding of the last two axes (PyTorch's `nn.ZeroPad2d(padding)`):
 * `padding` is one number or `[left, right, top, bottom]`.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.zeroPad2d([1, 1, 2, 0]);
 * assert.equal(p.info.repr, "ZeroPad2d((1, 1, 2, 0))");
 * assert.deepEqual(p.apply({}, zeros([1, 3, 4, 4])).shape, [1, 3, 6, 6]);
 * ```
 */
export function zeroPad2d(
  padding: number | readonly number[],
): Layer<LeafParams, EmptyState> {
  return padLayer("Zero", 2, padding);
}

/**
 * Constant padding of the last two axes (PyTorch's
 * `nn.ConstantPad2d(padding, value)`): `padding` is one number or
 * `[left, right, top, bottom]`.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.constantPad2d([1, 0, 0, 1], 0.5);
 * assert.equal(p.info.repr, "ConstantPad2d(padding=(1, 0, 0, 1), value=0.5)");
 * const y = p.apply({}, tensor([[[1, 2], [3, 4]]]));
 * assert.deepEqual(toArray(y), [[[0.5, 1, 2], [0.5, 3, 4], [0.5, 0.5, 0.5]]]);
 * ```
 */
export function constantPad2d(
  padding: number | readonly number[],
  value: number,
): Layer<LeafParams, EmptyState> {
  return padLayer("Constant", 2, padding, value);
}

/**
 * Reflection padding of the last two axes (PyTorch's
 * `nn.ReflectionPad2d(padding)`): `padding` is one number or `[left, right,
 * top, bottom]`, each side below that axis's size.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.reflectionPad2d([1, 1, 2, 0]);
 * assert.equal(p.info.repr, "ReflectionPad2d((1, 1, 2, 0))");
 * const y = p.apply({}, tensor([[[1, 2], [3, 4], [5, 6]]]));
 * assert.deepEqual(toArray(y), [[
 *   [6, 5, 6, 5],
 *   [4, 3, 4, 3],
 *   [2, 1, 2, 1],
 *   [4, 3, 4, 3],
 *   [6, 5, 6, 5],
 * ]]);
 * ```
 */
export function reflectionPad2d(
  padding: number | readonly number[],
): Layer<LeafParams, EmptyState> {
  return padLayer("Reflection", 2, padding);
}

/**
 * Replication padding of the last two axes (PyTorch's
 * `nn.ReplicationPad2d(padding)`): `padding` is one number or `[left,
 * right, top, bottom]`.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.replicationPad2d([1, 0, 0, 1]);
 * assert.equal(p.info.repr, "ReplicationPad2d((1, 0, 0, 1))");
 * const y = p.apply({}, tensor([[[1, 2], [3, 4]]]));
 * assert.deepEqual(toArray(y), [[[1, 1, 2], [3, 3, 4], [3, 3, 4]]]);
 * ```
 */
export function replicationPad2d(
  padding: number | readonly number[],
): Layer<LeafParams, EmptyState> {
  return padLayer("Replication", 2, padding);
}

/**
 * Constant padding of the last axis (PyTorch's
 * `nn.ConstantPad1d(padding, value)`): `padding` is one number or
 * `[left, right]`.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.constantPad1d([2, 1], 3.5);
 * assert.equal(p.info.repr, "ConstantPad1d(padding=(2, 1), value=3.5)");
 * const y = p.apply({}, tensor([[[1, 2]]]));
 * assert.deepEqual(toArray(y), [[[3.5, 3.5, 1, 2, 3.5]]]);
 * ```
 */
export function constantPad1d(
  padding: number | readonly number[],
  value: number,
): Layer<LeafParams, EmptyState> {
  return padLayer("Constant", 1, padding, value);
}

/**
 * Reflection padding of the last axis (PyTorch's
 * `nn.ReflectionPad1d(padding)`): `padding` is one number or `[left,
 * right]`, each below the axis's size.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.reflectionPad1d([2, 1]);
 * assert.equal(p.info.repr, "ReflectionPad1d((2, 1))");
 * const y = p.apply({}, tensor([[[1, 2, 3]]]));
 * assert.deepEqual(toArray(y), [[[3, 2, 1, 2, 3, 2]]]);
 * ```
 */
export function reflectionPad1d(
  padding: number | readonly number[],
): Layer<LeafParams, EmptyState> {
  return padLayer("Reflection", 1, padding);
}

/**
 * Replication padding of the last axis (PyTorch's
 * `nn.ReplicationPad1d(padding)`): `padding` is one number or `[left,
 * right]`.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.replicationPad1d([2, 1]);
 * assert.equal(p.info.repr, "ReplicationPad1d((2, 1))");
 * const y = p.apply({}, tensor([[[1, 2, 3]]]));
 * assert.deepEqual(toArray(y), [[[1, 1, 1, 2, 3, 3]]]);
 * ```
 */
export function replicationPad1d(
  padding: number | readonly number[],
): Layer<LeafParams, EmptyState> {
  return padLayer("Replication", 1, padding);
}

/**
 * Constant padding of the last three axes (PyTorch's
 * `nn.ConstantPad3d(padding, value)`): `padding` is one number or `[left,
 * right, top, bottom, front, back]`.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.constantPad3d([1, 0, 0, 0, 0, 1], 2.5);
 * assert.equal(p.info.repr, "ConstantPad3d(padding=(1, 0, 0, 0, 0, 1), value=2.5)");
 * const y = p.apply({}, tensor([[[[1, 2]]]])); // [C, D, H, W] = [1, 1, 1, 2]
 * assert.deepEqual(toArray(y), [[[[2.5, 1, 2]], [[2.5, 2.5, 2.5]]]]);
 * ```
 */
export function constantPad3d(
  padding: number | readonly number[],
  value: number,
): Layer<LeafParams, EmptyState> {
  return padLayer("Constant", 3, padding, value);
}

/**
 * Reflection padding of the last three axes (PyTorch's
 * `nn.ReflectionPad3d(padding)`): `padding` is one number or `[left,
 * right, top, bottom, front, back]`, each side below that axis's size.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.reflectionPad3d([1, 0, 0, 0, 0, 1]);
 * assert.equal(p.info.repr, "ReflectionPad3d((1, 0, 0, 0, 0, 1))");
 * const y = p.apply({}, tensor([[[[1, 2]], [[3, 4]]]])); // [C, D, H, W] = [1, 2, 1, 2]
 * assert.deepEqual(toArray(y), [[[[2, 1, 2]], [[4, 3, 4]], [[2, 1, 2]]]]);
 * ```
 */
export function reflectionPad3d(
  padding: number | readonly number[],
): Layer<LeafParams, EmptyState> {
  return padLayer("Reflection", 3, padding);
}

/**
 * Replication padding of the last three axes (PyTorch's
 * `nn.ReplicationPad3d(padding)`): `padding` is one number or `[left,
 * right, top, bottom, front, back]`.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p = nn.replicationPad3d([1, 0, 0, 0, 0, 1]);
 * assert.equal(p.info.repr, "ReplicationPad3d((1, 0, 0, 0, 0, 1))");
 * const y = p.apply({}, tensor([[[[1, 2]], [[3, 4]]]])); // [C, D, H, W] = [1, 2, 1, 2]
 * assert.deepEqual(toArray(y), [[[[1, 1, 2]], [[3, 3, 4]], [[3, 3, 4]]]]);
 * ```
 */
export function replicationPad3d(
  padding: number | readonly number[],
): Layer<LeafParams, EmptyState> {
  return padLayer("Replication", 3, padding);
}

/**
 * Dropout layer (PyTorch's `nn.Dropout`, default `p = 0.5`). The identity
 * unless applied with `{ training: true, key }`; then each element is zeroed
 * with probability `p` and the rest scaled by `1 / (1 - p)`. Inside a
 * container, pass the key to the container: it splits it among its layers.
 *
 * @example
 * ```ts
 * import { item, nn, ones, random, sum } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const drop = nn.dropout({ p: 0.5 });
 * assert.equal(drop.info.repr, "Dropout(p=0.5, inplace=False)");
 * const x = ones([1000]);
 * assert.equal(drop.apply({}, x), x); // inference: the identity
 * const y = drop.apply({}, x, { training: true, key: random.key(0) });
 * const kept = item(sum(y)) / 2; // survivors are scaled by 2
 * assert.ok(kept > 430 && kept < 570);
 * ```
 */
export function dropout(
  options?: { p?: number },
): Layer<LeafParams, EmptyState> {
  return dropoutLayer("nn.dropout", "Dropout", options, dropoutOp);
}

/**
 * A dropout layer (`name` is PyTorch's class) applying `op` in training:
 * the option `p` checked, the identity in inference, the key required.
 */
function dropoutLayer(
  fn: string,
  name: string,
  options: { p?: number } | undefined,
  op: typeof dropoutOp,
  outputShape?: (s: readonly number[]) => number[],
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  checkOptions(fn, options, ["p"]);
  const p = numberOption(fn, "p", options.p, 0.5);
  if (!(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: p must be in [0, 1], got ${p}`);
  }
  return defineLayer({
    name,
    repr: `${name}(p=${pyFloat(p)}, inplace=False)`,
    needsKey: p > 0 && p < 1,
    apply: (_p, x, { training, key }) => {
      if (!training) return x;
      if (!key && p > 0 && p < 1) {
        throw new Error(
          `nn.${name}.apply: training needs opts.key (a random.key); containers split the key they are given among their dropout layers`,
        );
      }
      return op(x, { p, key, training: true });
    },
    ...(outputShape ? { outputShape } : {}),
  });
}

// ---------------------------------------------------------------------------
// batch norm

/** Options of {@linkcode batchNorm2d}. */
export interface BatchNorm2dOptions {
  /** Channels C of the `[N, C, H, W]` input. */
  numFeatures: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Running-statistics update rate; `null` for a cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (params `weight`, `bias`). Default true. */
  affine?: boolean;
  /** Keep running statistics (state); without them evaluation uses batch statistics. Default true. */
  trackRunningStats?: boolean;
  /** Parameter and buffer dtype. Default "float32". */
  dtype?: FloatDType;
}

/** The buffers of {@linkcode batchNorm2d}, keyed as PyTorch's state_dict. */
export type BatchNormState = Readonly<Record<string, Tensor>>;

/**
 * Batch normalisation over the channels of `[N, C, H, W]` (PyTorch's
 * `nn.BatchNorm2d`). Params `{ weight: ones [C], bias: zeros [C] }`; buffers
 * in the state tree, keyed as PyTorch's state_dict: `running_mean` (zeros),
 * `running_var` (ones) and `num_batches_tracked` (int32 scalar).
 * `applyWithState(params, state, x, { training: true })` normalises with the
 * batch statistics and returns the updated buffers (running variance with
 * the unbiased batch variance, as PyTorch); with `training: false` it uses
 * the running statistics and returns the state unchanged. Plain `apply`
 * is an error (it would use the initial buffers), unless
 * `trackRunningStats: false` (no buffers: batch statistics always).
 *
 * @example
 * ```ts
 * import { nn, random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const bn = nn.batchNorm2d({ numFeatures: 1, dtype: "float64" });
 * assert.equal(bn.info.repr, "BatchNorm2d(1, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
 * const params = bn.init(random.key(0));
 * const x = tensor([[[[1, 3]]], [[[5, 7]]]], { dtype: "float64" }); // mean 4, variance 5
 * const { state } = bn.applyWithState(params, bn.initState(), x, { training: true });
 * assert.ok(Math.abs((toArray(state.running_mean) as number[])[0] - 0.4) < 1e-12); // 0.9·0 + 0.1·4
 * assert.ok(Math.abs((toArray(state.running_var) as number[])[0] - (0.9 + 0.1 * 20 / 3)) < 1e-12);
 * assert.equal(toArray(state.num_batches_tracked), 1);
 * ```
 */
export function batchNorm2d(
  options: BatchNorm2dOptions,
): Layer<LeafParams, BatchNormState> {
  return normLayer("Batch", 2, options);
}

/** Options of {@linkcode batchNorm1d}: those of {@linkcode batchNorm2d}, for `[N, C]` or `[N, C, L]`. */
export type BatchNorm1dOptions = BatchNorm2dOptions;

/**
 * Batch normalisation over the features of `[N, C]` or the channels of
 * `[N, C, L]` (PyTorch's `nn.BatchNorm1d`): {@linkcode batchNorm2d}'s
 * params, buffers and modes on those inputs.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const bn = nn.batchNorm1d({ numFeatures: 2, affine: false, dtype: "float64" });
 * assert.equal(bn.info.repr, "BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=False, track_running_stats=True)");
 * const x = tensor([[1, 10], [3, 30]], { dtype: "float64" });
 * const { y } = bn.applyWithState({}, bn.initState(), x, { training: true });
 * assert.ok(Math.abs((toArray(y) as number[][])[1][0] - 1) < 1e-5); // (3 - 2) / sqrt(1 + eps)
 * ```
 */
export function batchNorm1d(
  options: BatchNorm1dOptions,
): Layer<LeafParams, BatchNormState> {
  return normLayer("Batch", 1, options);
}

/** Options of {@linkcode batchNorm3d}: those of {@linkcode batchNorm2d}, for `[N, C, D, H, W]`. */
export type BatchNorm3dOptions = BatchNorm2dOptions;

/**
 * Batch normalisation over the channels of volumes `[N, C, D, H, W]`
 * (PyTorch's `nn.BatchNorm3d`): {@linkcode batchNorm2d}'s params, buffers
 * and modes on 5-D inputs.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.batchNorm3d({ numFeatures: 4 }).info.repr, "BatchNorm3d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
 * ```
 */
export function batchNorm3d(
  options: BatchNorm3dOptions,
): Layer<LeafParams, BatchNormState> {
  return normLayer("Batch", 3, options);
}

/**
 * Instance normalisation over each example's channels of `[N, C, D, H, W]`
 * (or unbatched `[C, D, H, W]`), PyTorch's `nn.InstanceNorm3d`; params,
 * state and modes as {@linkcode instanceNorm2d}.
 *
 * @example
 * ```ts
 * import { nn, random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const inorm = nn.instanceNorm3d({ numFeatures: 1, eps: 0, affine: true, dtype: "float64" });
 * assert.equal(inorm.info.repr, "InstanceNorm3d(1, eps=0.0, momentum=0.1, affine=True, track_running_stats=False)");
 * const params = inorm.init(random.key(0)); // weight ones, bias zeros
 * const x = tensor([[[[1, 1]], [[3, 3]]]], { dtype: "float64" }); // [C, D, H, W] = [1, 2, 1, 2]
 * assert.deepEqual(toArray(inorm.apply(params, x)), [[[[-1, -1]], [[1, 1]]]]);
 * ```
 */
export function instanceNorm3d(
  options: InstanceNormLayerOptions,
): Layer<LeafParams, BatchNormState> {
  return normLayer("Instance", 3, options);
}

/** Options of {@linkcode localResponseNorm}: the window of channels and the op's {@linkcode LocalResponseNormOptions}. */
export interface LocalResponseNormLayerOptions
  extends LocalResponseNormOptions {
  /** Channels in each window. Required. */
  size: number;
}

/**
 * Local response normalisation layer (PyTorch's `nn.LocalResponseNorm`,
 * AlexNet's): {@linkcode localResponseNormOp} over windows of `size`
 * channels; no parameters.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.localResponseNorm({ size: 5 }).info.repr, "LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=1.0)");
 * ```
 */
export function localResponseNorm(
  options: LocalResponseNormLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.localResponseNorm";
  requireOptions(fn, options, ["size"], ["size", "alpha", "beta", "k"]);
  const size = positiveInt(fn, "size", options.size);
  const alpha = numberOption(fn, "alpha", options.alpha, 1e-4);
  const beta = numberOption(fn, "beta", options.beta, 0.75);
  const k = numberOption(fn, "k", options.k, 1);
  return defineLayer({
    name: "LocalResponseNorm",
    repr: `LocalResponseNorm(${size}, alpha=${pyFloat(alpha)}, beta=${
      pyFloat(beta)
    }, k=${pyFloat(k)})`,
    apply: (_p, x) => localResponseNormOp(x, size, { alpha, beta, k }),
  });
}

/** Options of {@linkcode instanceNorm2d} and {@linkcode instanceNorm1d}: batch norm's, with defaults `affine: false`, `trackRunningStats: false`. */
export type InstanceNormLayerOptions = BatchNorm2dOptions;

/**
 * Instance normalisation over each example's channels of `[N, C, H, W]` (or
 * unbatched `[C, H, W]`), PyTorch's `nn.InstanceNorm2d` (style transfer,
 * GANs): by default no params and no state; with `affine` params `weight`
 * and `bias` `[C]`; with `trackRunningStats` the buffers of
 * {@linkcode batchNorm2d}, updated in training (the mean over the batch of
 * each example's statistics) and used in evaluation.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const inorm = nn.instanceNorm2d({ numFeatures: 1, eps: 0, dtype: "float64" });
 * assert.equal(inorm.info.repr, "InstanceNorm2d(1, eps=0.0, momentum=0.1, affine=False, track_running_stats=False)");
 * const y = inorm.apply({}, tensor([[[[1, 3], [1, 3]]]], { dtype: "float64" }));
 * assert.deepEqual(toArray(y), [[[[-1, 1], [-1, 1]]]]);
 * ```
 */
export function instanceNorm2d(
  options: InstanceNormLayerOptions,
): Layer<LeafParams, BatchNormState> {
  return normLayer("Instance", 2, options);
}

/**
 * Instance normalisation over each example's channels of `[N, C, L]` (or
 * unbatched `[C, L]`), PyTorch's `nn.InstanceNorm1d`; params, state and
 * modes as {@linkcode instanceNorm2d}.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const inorm = nn.instanceNorm1d({ numFeatures: 2, eps: 0, dtype: "float64" });
 * assert.equal(inorm.info.repr, "InstanceNorm1d(2, eps=0.0, momentum=0.1, affine=False, track_running_stats=False)");
 * const y = inorm.apply({}, tensor([[[1, 3], [0, 4]]], { dtype: "float64" }));
 * assert.deepEqual(toArray(y), [[[-1, 1], [-1, 1]]]); // each channel: mean 2, variances 1 and 4
 * ```
 */
export function instanceNorm1d(
  options: InstanceNormLayerOptions,
): Layer<LeafParams, BatchNormState> {
  return normLayer("Instance", 1, options);
}

/** While {@linkcode updateBn} runs: batch norms keep a cumulative average (momentum null). */
let cumulativeStats = false;

/** One batch of what {@linkcode updateBn} runs the model on: the inputs, or a record or array whose first part they are. */
export type UpdateBnBatch =
  | Tensor
  | { x: Tensor }
  | readonly [Tensor, ...unknown[]];

/**
 * Recomputes the running statistics of every batch norm in `model` from
 * the inputs of `batches`, as `torch.optim.swa_utils.update_bn` does after
 * stochastic weight averaging: the batch norms' statistics reset (means 0,
 * variances 1, counts 0), then the model run in training mode over the
 * batches with those statistics kept as the cumulative average of the
 * batches' (momentum null), whatever the layers' momentum. Other layers'
 * state follows training mode as in PyTorch; `key` is split among the
 * batches for dropout. Returns the new state.
 *
 * @example
 * ```ts
 * import { nn, random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.sequential(nn.batchNorm1d({ numFeatures: 1, momentum: 0.1 }));
 * const batches = [tensor([[1], [3]]), tensor([[5], [7]])];
 * const state = nn.updateBn(net, net.init(random.key(0)), net.initState(), batches);
 * assert.deepEqual(toArray(state[0].running_mean), [4]); // the mean of 2 and 6
 * ```
 */
export function updateBn<P, S>(
  model: Layer<P, S>,
  params: P,
  state: S,
  batches: Iterable<UpdateBnBatch>,
  options?: { key?: Key },
): S {
  const fn = "nn.updateBn";
  checkLayer(fn, "model", model);
  checkOptions(fn, options, ["key"]);
  if (
    batches === null || typeof batches !== "object" ||
    typeof (batches as Iterable<unknown>)[Symbol.iterator] !== "function"
  ) {
    throw new Error(
      `${fn}: batches must be an iterable of input tensors (or of { x } records or [x, ...] arrays), got ${
        describe(batches)
      }`,
    );
  }
  const reset = (layer: AnyLayer, s: unknown, path: string): unknown => {
    if (/^BatchNorm[123]d$/.test(layer.info.name) && layer.info.hasState) {
      const bn = s as Record<string, Tensor>;
      if (!isTensor(bn?.running_mean)) {
        throw new Error(
          `${fn}: state${path} must be the batch norm's state (from initState()), got ${
            describe(s)
          }`,
        );
      }
      return {
        running_mean: zerosLike(bn.running_mean),
        running_var: onesLike(bn.running_var),
        num_batches_tracked: zerosLike(bn.num_batches_tracked),
      };
    }
    const children = layer.info.children;
    if (children.length === 0 || !layer.info.hasState) return s;
    const out: Record<string, unknown> | unknown[] = Array.isArray(s)
      ? [...s]
      : { ...(s as Record<string, unknown>) };
    for (const [name, child] of children) {
      (out as Record<string, unknown>)[name] = reset(
        child,
        (s as Record<string, unknown>)?.[name],
        `${path}.${name}`,
      );
    }
    return out;
  };
  let next = reset(model as AnyLayer, state, "") as S;
  let key = options?.key;
  let i = 0;
  cumulativeStats = true;
  try {
    for (const batch of batches) {
      const x = isTensor(batch)
        ? batch
        : Array.isArray(batch)
        ? batch[0]
        : (batch as { x?: unknown })?.x;
      if (!isTensor(x)) {
        throw new Error(
          `${fn}: batch ${i} must be an input tensor, a { x } record or an [x, ...] array, got ${
            describe(batch)
          }`,
        );
      }
      let k: Key | undefined;
      if (key !== undefined) [key, k] = split(key);
      next = model.applyWithState(params, next, x, {
        training: true,
        ...(k === undefined ? {} : { key: k }),
      }).state;
      i++;
    }
  } finally {
    cumulativeStats = false;
  }
  return next;
}

/**
 * nn.batchNorm1d (`dims` 1: `[N, C]` or `[N, C, L]`), nn.batchNorm2d (2:
 * `[N, C, H, W]`), nn.instanceNorm1d (`[N, C, L]` or unbatched `[C, L]`) or
 * nn.instanceNorm2d (`[N, C, H, W]` or unbatched `[C, H, W]`), and the 3-D
 * ones (`dims` 3: `[N, C, D, H, W]`, or unbatched for instance norm): PyTorch's
 * `_NormBase` modules, which share params, buffers and modes; instance
 * norm defaults to no affine and no running statistics, uses its running
 * statistics only in evaluation with `trackRunningStats`, and does not
 * count batches (as PyTorch's).
 */
function normLayer(
  kind: "Batch" | "Instance",
  dims: 1 | 2 | 3,
  options: BatchNorm2dOptions,
): Layer<LeafParams, BatchNormState> {
  const instance = kind === "Instance";
  const fn = `nn.${kind.toLowerCase()}Norm${dims}d`,
    name = `${kind}Norm${dims}d`;
  requireOptions(fn, options, ["numFeatures"], [
    "numFeatures",
    "eps",
    "momentum",
    "affine",
    "trackRunningStats",
    "dtype",
  ]);
  const c = positiveInt(fn, "numFeatures", options.numFeatures);
  const eps = numberOption(fn, "eps", options.eps, 1e-5);
  if (instance && options.momentum === null) {
    throw new Error(
      `${fn}: momentum must be a number (instance norm has no cumulative average), got null`,
    );
  }
  const momentum = options.momentum === null
    ? null
    : numberOption(fn, "momentum", options.momentum, 0.1);
  const affine = checkBool(fn, "affine", options.affine, !instance);
  const track = checkBool(
    fn,
    "trackRunningStats",
    options.trackRunningStats,
    !instance,
  );
  const dtype = floatDType(fn, options.dtype);
  const params: Record<string, ParamSpec> = affine
    ? { weight: { shape: [c], dtype }, bias: { shape: [c], dtype } }
    : {};
  // the ranks taken (the first one unbatched for instance norm) and their description
  const ranks = dims > 1 && !instance ? [dims + 2] : [dims + 1, dims + 2];
  const batched = ["", "[N, C, L]", "[N, C, H, W]", "[N, C, D, H, W]"][dims];
  const expected = instance
    ? `a ${dims + 2}-D input ${batched} or an unbatched ${dims + 1}-D one [${
      batched.slice(4)
    }`
    : dims === 1
    ? "a 2-D input [N, C] or a 3-D input [N, C, L]"
    : `a ${dims + 2}-D input ${batched}`;
  const outputShape = (s: readonly number[]) => {
    if (!ranks.includes(s.length)) {
      throw new Error(`nn.${name}: expected ${expected}, got ${fmtShape(s)}`);
    }
    const channels = instance ? s[s.length - dims - 1] : s[1];
    if (channels !== c) {
      throw new Error(
        `nn.${name}: expected ${c} channels, got ${channels} (input ${
          fmtShape(s)
        })`,
      );
    }
    return s.slice();
  };
  const info: LayerInfo = Object.freeze({
    name,
    repr: `${name}(${c}, eps=${pyFloat(eps)}, momentum=${
      momentum === null ? "None" : pyFloat(momentum)
    }, affine=${pyBool(affine)}, track_running_stats=${pyBool(track)})`,
    params,
    needsKey: false,
    hasState: track,
    children: [],
    outputShape,
  });
  const initState = (): BatchNormState =>
    track
      ? {
        running_mean: zeros([c], { dtype }),
        running_var: ones([c], { dtype }),
        num_batches_tracked: tensor(0, { dtype: "int32" }),
      }
      : {};
  // instance norm of x (an unbatched one as a batch of one)
  const instanceNormOf = (x: Tensor, o: InstanceNormOptions) => {
    const unbatched = x.shape.length === dims + 1;
    const r = instanceNormOp(unbatched ? expandDimsOp(x, 0) : x, o);
    return { ...r, y: unbatched ? squeezeOp(r.y, 0) : r.y };
  };
  const applyWithState = (
    p: LeafParams,
    state: BatchNormState,
    x: Tensor,
    opts?: ApplyOptions,
  ): { y: Tensor; state: BatchNormState } => {
    const afn = `nn.${name}.applyWithState`;
    const { training } = applyOptions(afn, opts);
    checkParams(afn, p, params);
    if (!isTensor(x)) {
      throw new Error(`${afn}: x must be a Tensor, got ${describe(x)}`);
    }
    outputShape(x.shape);
    const weight = affine ? p.weight : null, bias = affine ? p.bias : null;
    if (!track) {
      return {
        y: instance
          ? instanceNormOf(x, { eps, weight, bias }).y
          : batchNormOp(x, { training: true, eps, weight, bias }).y,
        state,
      };
    }
    for (const k of ["running_mean", "running_var", "num_batches_tracked"]) {
      if (!isTensor(state?.[k])) {
        throw new Error(
          `${afn}: state.${k} must be a Tensor (use initState()), got ${
            describe(state?.[k])
          }`,
        );
      }
    }
    const running = {
      runningMean: state.running_mean,
      runningVar: state.running_var,
    };
    if (!training) {
      const { y } = instance
        ? instanceNormOf(x, {
          useInputStats: false,
          ...running,
          eps,
          weight,
          bias,
        })
        : batchNormOp(x, { training: false, ...running, eps, weight, bias });
      return { y, state };
    }
    if (instance) {
      const r = instanceNormOf(x, {
        ...running,
        momentum: momentum!,
        eps,
        weight,
        bias,
      });
      return {
        y: r.y,
        state: {
          running_mean: r.runningMean!,
          running_var: r.runningVar!,
          num_batches_tracked: state.num_batches_tracked,
        },
      };
    }
    // (counted with ops, so that jit traces the count and the cumulative
    // average's rate, momentum null: 1/n in float64, as PyTorch's Python)
    const count = add(state.num_batches_tracked, 1);
    const r = batchNormOp(x, {
      training: true,
      ...running,
      momentum: (cumulativeStats ? null : momentum) ??
        div(1, astype(count, "float64")),
      eps,
      weight,
      bias,
    });
    return {
      y: r.y,
      state: {
        running_mean: r.runningMean!,
        running_var: r.runningVar!,
        num_batches_tracked: count,
      },
    };
  };
  const init = (): LeafParams =>
    affine ? { weight: ones([c], { dtype }), bias: zeros([c], { dtype }) } : {};
  const apply = plainApply(`nn.${name}.apply`, {
    info,
    init,
    initState,
    applyWithState,
  });
  return Object.freeze({ info, init, apply, initState, applyWithState });
}

// ---------------------------------------------------------------------------
// layer norm, group norm, channel dropout

/** Options of {@linkcode layerNorm}. */
export interface LayerNormLayerOptions {
  /** The trailing axes normalised: a size, or the sizes of several axes. */
  normalizedShape: number | readonly number[];
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Learn a scale and shift of shape `normalizedShape` (params `weight`, `bias`). Default true. */
  elementwiseAffine?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/** Scale `weight` (ones) and shift `bias` (zeros) of `shape`, or none: PyTorch's init of the norm layers. */
function affineParams(
  affine: boolean,
  shape: number[],
  dtype: FloatDType,
): { params: Record<string, ParamSpec>; init: () => LeafParams } {
  return {
    params: affine ? { weight: { shape, dtype }, bias: { shape, dtype } } : {},
    init: (): LeafParams =>
      affine
        ? { weight: ones(shape, { dtype }), bias: zeros(shape, { dtype }) }
        : {},
  };
}

/**
 * Layer normalisation over the trailing `normalizedShape` axes (PyTorch's
 * `nn.LayerNorm`): params `{ weight: ones, bias: zeros }` of shape
 * `normalizedShape` (none with `elementwiseAffine: false`), the same in
 * training and inference.
 *
 * @example
 * ```ts
 * import { nn, random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const ln = nn.layerNorm({ normalizedShape: 2, eps: 0 });
 * assert.equal(ln.info.repr, "LayerNorm((2,), eps=0.0, elementwise_affine=True)");
 * const params = ln.init(random.key(0));
 * assert.deepEqual(toArray(params.weight), [1, 1]);
 * assert.deepEqual(toArray(ln.apply(params, tensor([[1, 3], [0, 10]]))), [[-1, 1], [-1, 1]]);
 * assert.equal(nn.layerNorm({ normalizedShape: [3, 4], elementwiseAffine: false }).info.repr, "LayerNorm((3, 4), eps=1e-05, elementwise_affine=False)");
 * ```
 */
export function layerNorm(
  options: LayerNormLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.layerNorm";
  requireOptions(fn, options, ["normalizedShape"], [
    "normalizedShape",
    "eps",
    "elementwiseAffine",
    "dtype",
  ]);
  const given = options.normalizedShape;
  const ns = typeof given === "number" ? [given] : given;
  if (!Array.isArray(ns) || ns.length === 0) {
    throw new Error(
      `${fn}: normalizedShape must be a positive integer or a non-empty array of them, got ${
        describe(given)
      }`,
    );
  }
  const shape = ns.map((d, i) => positiveInt(fn, `normalizedShape[${i}]`, d));
  const eps = numberOption(fn, "eps", options.eps, 1e-5);
  const affine = checkBool(
    fn,
    "elementwiseAffine",
    options.elementwiseAffine,
    true,
  );
  const { params, init } = affineParams(
    affine,
    shape,
    floatDType(fn, options.dtype),
  );
  const tuple = pySize(shape);
  return defineLayer({
    name: "LayerNorm",
    repr: `LayerNorm(${tuple}, eps=${pyFloat(eps)}, elementwise_affine=${
      pyBool(affine)
    })`,
    params,
    init,
    apply: (p, x) =>
      layerNormOp(x, shape, p.weight ?? null, p.bias ?? null, { eps }),
    outputShape: (s) => {
      const k = shape.length;
      if (
        s.length < k || !s.slice(s.length - k).every((d, i) => d === shape[i])
      ) {
        throw new Error(
          `nn.LayerNorm: expected an input of shape [*, ${
            shape.join(", ")
          }], got ${fmtShape(s)}`,
        );
      }
      return s.slice();
    },
  });
}

/** Options of {@linkcode groupNorm}. */
export interface GroupNormLayerOptions {
  /** Groups the channels are split into (it must divide numChannels). */
  numGroups: number;
  /** Channels C of the `[N, C, ...]` input. */
  numChannels: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Learn a per-channel scale and shift (params `weight`, `bias`). Default true. */
  affine?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * Group normalisation (PyTorch's `nn.GroupNorm`): each example's channels
 * in `numGroups` groups, each normalised over its channels and positions;
 * params `{ weight: ones [C], bias: zeros [C] }` (none with `affine:
 * false`), the same in training and inference.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const gn = nn.groupNorm({ numGroups: 2, numChannels: 4 });
 * assert.equal(gn.info.repr, "GroupNorm(2, 4, eps=1e-05, affine=True)");
 * const params = gn.init(random.key(0));
 * assert.deepEqual(params.bias.shape, [4]);
 * assert.deepEqual(gn.apply(params, zeros([3, 4, 5, 5])).shape, [3, 4, 5, 5]);
 * ```
 */
export function groupNorm(
  options: GroupNormLayerOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.groupNorm";
  requireOptions(fn, options, ["numGroups", "numChannels"], [
    "numGroups",
    "numChannels",
    "eps",
    "affine",
    "dtype",
  ]);
  const g = positiveInt(fn, "numGroups", options.numGroups);
  const c = positiveInt(fn, "numChannels", options.numChannels);
  if (c % g !== 0) {
    throw new Error(
      `${fn}: numChannels ${c} must be divisible by numGroups ${g}`,
    );
  }
  const eps = numberOption(fn, "eps", options.eps, 1e-5);
  const affine = checkBool(fn, "affine", options.affine, true);
  const { params, init } = affineParams(
    affine,
    [c],
    floatDType(fn, options.dtype),
  );
  return defineLayer({
    name: "GroupNorm",
    repr: `GroupNorm(${g}, ${c}, eps=${pyFloat(eps)}, affine=${
      pyBool(affine)
    })`,
    params,
    init,
    apply: (p, x) =>
      groupNormOp(x, g, p.weight ?? null, p.bias ?? null, { eps }),
    outputShape: (s) => {
      if (s.length < 2 || s[1] !== c) {
        throw new Error(
          `nn.GroupNorm: expected an input [N, ${c}, ...], got ${fmtShape(s)}`,
        );
      }
      return s.slice();
    },
  });
}

/**
 * Channel dropout layer (PyTorch's `nn.Dropout2d`, default `p = 0.5`): the
 * identity unless applied with `{ training: true, key }`; then each channel
 * of `[N, C, H, W]` (or unbatched `[C, H, W]`) is zeroed whole with
 * probability `p` and the rest scaled by `1 / (1 - p)`.
 *
 * @example
 * ```ts
 * import { nn, ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const drop = nn.dropout2d({ p: 0.5 });
 * assert.equal(drop.info.repr, "Dropout2d(p=0.5, inplace=False)");
 * const x = ones([4, 8, 2, 2]);
 * assert.equal(drop.apply({}, x), x); // inference: the identity
 * const y = drop.apply({}, x, { training: true, key: random.key(0) });
 * assert.ok([...y.data].every((v) => v === 0 || v === 2));
 * ```
 */
export function dropout2d(
  options?: { p?: number },
): Layer<LeafParams, EmptyState> {
  return dropoutLayer(
    "nn.dropout2d",
    "Dropout2d",
    options,
    dropout2dOp,
    (s) => {
      if (s.length !== 3 && s.length !== 4) {
        throw new Error(
          `nn.Dropout2d: expected an input [N, C, H, W] or [C, H, W], got ${
            fmtShape(s)
          }`,
        );
      }
      return s.slice();
    },
  );
}

/**
 * Channel dropout layer for sequences (PyTorch's `nn.Dropout1d`, default
 * `p = 0.5`): the identity unless applied with `{ training: true, key }`;
 * then each channel of `[N, C, L]` (or unbatched `[C, L]`) is zeroed whole
 * with probability `p` and the rest scaled by `1 / (1 - p)`.
 *
 * @example
 * ```ts
 * import { nn, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const drop = nn.dropout1d({ p: 0.25 });
 * assert.equal(drop.info.repr, "Dropout1d(p=0.25, inplace=False)");
 * const x = ones([4, 8, 5]);
 * assert.equal(drop.apply({}, x), x); // inference: the identity
 * ```
 */
export function dropout1d(
  options?: { p?: number },
): Layer<LeafParams, EmptyState> {
  return dropoutLayer(
    "nn.dropout1d",
    "Dropout1d",
    options,
    dropout1dOp,
    (s) => {
      if (s.length !== 2 && s.length !== 3) {
        throw new Error(
          `nn.Dropout1d: expected an input [N, C, L] or [C, L], got ${
            fmtShape(s)
          }`,
        );
      }
      return s.slice();
    },
  );
}

/**
 * Channel dropout layer for volumes (PyTorch's `nn.Dropout3d`, default
 * `p = 0.5`): the identity unless applied with `{ training: true, key }`;
 * then each channel of `[N, C, D, H, W]` (or unbatched `[C, D, H, W]`) is
 * zeroed whole with probability `p` and the rest scaled by `1 / (1 - p)`.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.dropout3d({ p: 0.2 }).info.repr, "Dropout3d(p=0.2, inplace=False)");
 * ```
 */
export function dropout3d(
  options?: { p?: number },
): Layer<LeafParams, EmptyState> {
  return dropoutLayer(
    "nn.dropout3d",
    "Dropout3d",
    options,
    dropout3dOp,
    (s) => {
      if (s.length !== 4 && s.length !== 5) {
        throw new Error(
          `nn.Dropout3d: expected an input [N, C, D, H, W] or [C, D, H, W], got ${
            fmtShape(s)
          }`,
        );
      }
      return s.slice();
    },
  );
}

/**
 * Alpha dropout layer (PyTorch's `nn.AlphaDropout`, for SELU networks,
 * default `p = 0.5`): {@linkcode alphaDropoutOp} when training, the
 * identity otherwise.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.alphaDropout({ p: 0.1 }).info.repr, "AlphaDropout(p=0.1, inplace=False)");
 * ```
 */
export function alphaDropout(
  options?: { p?: number },
): Layer<LeafParams, EmptyState> {
  return dropoutLayer(
    "nn.alphaDropout",
    "AlphaDropout",
    options,
    alphaDropoutOp,
  );
}

/**
 * Channel alpha dropout layer (PyTorch's `nn.FeatureAlphaDropout`, default
 * `p = 0.5`): {@linkcode featureAlphaDropoutOp} when training, the identity
 * otherwise.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.featureAlphaDropout().info.repr, "FeatureAlphaDropout(p=0.5, inplace=False)");
 * ```
 */
export function featureAlphaDropout(
  options?: { p?: number },
): Layer<LeafParams, EmptyState> {
  return dropoutLayer(
    "nn.featureAlphaDropout",
    "FeatureAlphaDropout",
    options,
    featureAlphaDropoutOp,
  );
}

/**
 * Channel shuffle layer (PyTorch's `nn.ChannelShuffle`, ShuffleNet's):
 * {@linkcode channelShuffleOp} with `groups`, no parameters.
 *
 * @example
 * ```ts
 * import { nn, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const shuffle = nn.channelShuffle({ groups: 3 });
 * assert.equal(shuffle.info.repr, "ChannelShuffle(groups=3)");
 * assert.deepEqual(shuffle.apply({}, zeros([2, 6, 4, 4])).shape, [2, 6, 4, 4]);
 * ```
 */
export function channelShuffle(
  options: { groups: number },
): Layer<LeafParams, EmptyState> {
  const fn = "nn.channelShuffle";
  requireOptions(fn, options, ["groups"], ["groups"]);
  const groups = positiveInt(fn, "groups", options.groups);
  return defineLayer({
    name: "ChannelShuffle",
    repr: `ChannelShuffle(groups=${groups})`,
    apply: (_p, x) => channelShuffleOp(x, groups),
    outputShape: (s) => channelShuffleShape(s, groups),
  });
}

// ---------------------------------------------------------------------------
// activations

/**
 * ReLU layer `max(x, 0)` (PyTorch's `nn.ReLU()`): a layer value, no
 * parameters.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.relu.apply({}, tensor([-1, 2]))), [0, 2]);
 * assert.equal(nn.relu.info.repr, "ReLU()");
 * ```
 */
export const relu: Layer<LeafParams, EmptyState> = defineLayer({
  name: "ReLU",
  apply: (_p, x) => reluOp(x),
});

/**
 * Tanh layer (PyTorch's `nn.Tanh()`): a layer value, no parameters.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.tanh.apply({}, tensor([0]))), [0]);
 * assert.equal(nn.tanh.info.repr, "Tanh()");
 * ```
 */
export const tanh: Layer<LeafParams, EmptyState> = defineLayer({
  name: "Tanh",
  apply: (_p, x) => tanhOp(x),
});

/**
 * Sigmoid layer `1 / (1 + e^-x)` (PyTorch's `nn.Sigmoid()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.sigmoid.apply({}, tensor([0]))), [0.5]);
 * ```
 */
export const sigmoid: Layer<LeafParams, EmptyState> = defineLayer({
  name: "Sigmoid",
  apply: (_p, x) => sigmoidOp(x),
});

/**
 * GELU layer `x · Φ(x)` with the exact normal CDF (PyTorch's `nn.GELU()`):
 * a layer value.
 *
 * @example
 * ```ts
 * import { item, nn, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(nn.gelu.apply({}, tensor(1, { dtype: "float64" }))) - 0.8413447460685429) < 1e-12);
 * assert.equal(nn.gelu.info.repr, "GELU(approximate='none')");
 * ```
 */
export const gelu: Layer<LeafParams, EmptyState> = defineLayer({
  name: "GELU",
  repr: "GELU(approximate='none')",
  apply: (_p, x) => geluOp(x),
});

/**
 * SiLU (swish) layer `x · sigmoid(x)` (PyTorch's `nn.SiLU()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.silu.apply({}, tensor([0]))), [0]);
 * ```
 */
export const silu: Layer<LeafParams, EmptyState> = defineLayer({
  name: "SiLU",
  apply: (_p, x) => siluOp(x),
});

/**
 * Leaky ReLU layer `max(x, 0) + negativeSlope · min(x, 0)` (PyTorch's
 * `nn.LeakyReLU`, default slope 0.01).
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const act = nn.leakyRelu({ negativeSlope: 0.5 });
 * assert.deepEqual(toArray(act.apply({}, tensor([-2, 3]))), [-1, 3]);
 * assert.equal(nn.leakyRelu().info.repr, "LeakyReLU(negative_slope=0.01)");
 * ```
 */
export function leakyRelu(
  options?: { negativeSlope?: number },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.leakyRelu";
  checkOptions(fn, options, ["negativeSlope"]);
  const negativeSlope = numberOption(
    fn,
    "negativeSlope",
    options.negativeSlope,
    0.01,
  );
  return defineLayer({
    name: "LeakyReLU",
    repr: `LeakyReLU(negative_slope=${pyFloat(negativeSlope)})`,
    apply: (_p, x) => leakyReluOp(x, { negativeSlope }),
  });
}

/**
 * Randomized leaky ReLU layer (PyTorch's `nn.RReLU`, defaults lower 1/8 and
 * upper 1/3): the op `rrelu` with slopes drawn per element in training
 * (a key needed, as dropout's), `leakyRelu` with their mean in inference.
 *
 * @example
 * ```ts
 * import { nn, random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const r = nn.rrelu();
 * assert.equal(r.info.repr, "RReLU(lower=0.125, upper=0.3333333333333333)");
 * const y = r.apply({}, tensor([-1, 1]), { training: true, key: random.key(0) });
 * assert.ok(y.data[0] <= -0.125 && y.data[0] > -1 / 3 && y.data[1] === 1);
 * ```
 */
export function rrelu(
  options?: { lower?: number; upper?: number },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.rrelu";
  checkOptions(fn, options, ["lower", "upper"]);
  const lower = numberOption(fn, "lower", options.lower, 1 / 8);
  const upper = numberOption(fn, "upper", options.upper, 1 / 3);
  if (!(lower <= upper)) {
    throw new Error(
      `${fn}: lower must be at most upper, got ${lower} and ${upper}`,
    );
  }
  return defineLayer({
    name: "RReLU",
    repr: `RReLU(lower=${pyFloat(lower)}, upper=${pyFloat(upper)})`,
    needsKey: lower < upper,
    apply: (_p, x, { training, key }) => {
      if (training && !key && lower < upper) {
        throw new Error(
          `nn.RReLU.apply: training needs opts.key (a random.key); containers split the key they are given among their random layers`,
        );
      }
      return rreluOp(x, { lower, upper, training, ...(key ? { key } : {}) });
    },
  });
}

/**
 * ELU layer: x for x > 0, `alpha · (e^x - 1)` otherwise (PyTorch's `nn.ELU`,
 * default alpha 1).
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.elu().apply({}, tensor([0, 2]))), [0, 2]);
 * assert.equal(nn.elu().info.repr, "ELU(alpha=1.0)");
 * ```
 */
export function elu(
  options?: { alpha?: number },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.elu";
  checkOptions(fn, options, ["alpha"]);
  const alpha = numberOption(fn, "alpha", options.alpha, 1);
  return defineLayer({
    name: "ELU",
    repr: `ELU(alpha=${pyFloat(alpha)})`,
    apply: (_p, x) => eluOp(x, { alpha }),
  });
}

/**
 * Softplus layer `log(1 + e^(beta·x)) / beta`, linear above `threshold`
 * (PyTorch's `nn.Softplus`, defaults beta 1, threshold 20).
 *
 * @example
 * ```ts
 * import { item, nn, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(item(nn.softplus().apply({}, tensor(0, { dtype: "float64" }))) - Math.log(2)) < 1e-15);
 * assert.equal(nn.softplus().info.repr, "Softplus(beta=1, threshold=20)");
 * ```
 */
export function softplus(
  options?: { beta?: number; threshold?: number },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.softplus";
  checkOptions(fn, options, ["beta", "threshold"]);
  const beta = numberOption(fn, "beta", options.beta, 1);
  const threshold = numberOption(fn, "threshold", options.threshold, 20);
  // (the op's own rules, beta nonzero among them, when the layer is built)
  opChecks(fn, "softplus", () => softplusOp(zeros([1]), { beta, threshold }));
  return defineLayer({
    name: "Softplus",
    repr: `Softplus(beta=${pyNum(beta)}, threshold=${pyNum(threshold)})`,
    apply: (_p, x) => softplusOp(x, { beta, threshold }),
  });
}

/**
 * HardTanh layer: x limited to `[minVal, maxVal]` (PyTorch's `nn.Hardtanh`,
 * defaults -1 and 1).
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.hardtanh().apply({}, tensor([-2, 0.5, 3]))), [-1, 0.5, 1]);
 * assert.equal(nn.hardtanh().info.repr, "Hardtanh(min_val=-1.0, max_val=1.0)");
 * ```
 */
export function hardtanh(
  options?: { minVal?: number; maxVal?: number },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.hardtanh";
  checkOptions(fn, options, ["minVal", "maxVal"]);
  const minVal = numberOption(fn, "minVal", options.minVal, -1);
  const maxVal = numberOption(fn, "maxVal", options.maxVal, 1);
  if (!(minVal < maxVal)) {
    throw new Error(
      `${fn}: minVal must be below maxVal, got ${minVal} and ${maxVal}`,
    );
  }
  return defineLayer({
    name: "Hardtanh",
    repr: `Hardtanh(min_val=${pyFloat(minVal)}, max_val=${pyFloat(maxVal)})`,
    apply: (_p, x) => hardtanhOp(x, { minVal, maxVal }),
  });
}

/**
 * PReLU layer: x where `x > 0`, else a learned slope times x (PyTorch's
 * `nn.PReLU`): params `{ weight }` of `numParameters` slopes (1, shared, or
 * one per channel), each `init` (default 0.25).
 *
 * @example
 * ```ts
 * import { nn, random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const act = nn.prelu();
 * assert.equal(act.info.repr, "PReLU(num_parameters=1)");
 * const params = act.init(random.key(0));
 * assert.deepEqual(toArray(act.apply(params, tensor([-4, 2]))), [-1, 2]);
 * ```
 */
export function prelu(
  options?: { numParameters?: number; init?: number; dtype?: FloatDType },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.prelu";
  checkOptions(fn, options, ["numParameters", "init", "dtype"]);
  const n = options.numParameters ?? 1;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `${fn}: numParameters must be a positive integer, got ${describe(n)}`,
    );
  }
  const init = numberOption(fn, "init", options.init, 0.25);
  const dtype = floatDType(fn, options.dtype);
  return defineLayer({
    name: "PReLU",
    repr: `PReLU(num_parameters=${n})`,
    params: { weight: { shape: [n], dtype } },
    init: () => ({ weight: full([n], init, { dtype }) }),
    apply: (p, x) => preluOp(x, p.weight),
  });
}

/**
 * Runs the op `op`'s option checks when the layer `fn` is built, its errors
 * named by the layer (`nn.celu: alpha ...`, not `celu: alpha ...`).
 */
function opChecks(fn: string, op: string, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(`${op}: `)) {
      throw new Error(`${fn}: ${e.message.slice(op.length + 2)}`);
    }
    throw e;
  }
}

/** A parameterless activation layer named as PyTorch's module (`repr` `Name()`). */
const activation = (name: string, op: (x: Tensor) => Tensor) =>
  defineLayer({ name, apply: (_p, x) => op(x) });

/**
 * ReLU6 layer `min(max(x, 0), 6)` (PyTorch's `nn.ReLU6()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.relu6.apply({}, tensor([-1, 3, 9]))), [0, 3, 6]);
 * assert.equal(nn.relu6.info.repr, "ReLU6()");
 * ```
 */
export const relu6: Layer<LeafParams, EmptyState> = activation(
  "ReLU6",
  relu6Op,
);

/**
 * Hard sigmoid layer `min(max(x + 3, 0), 6) / 6` (PyTorch's
 * `nn.Hardsigmoid()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.hardsigmoid.apply({}, tensor([-4, 0, 1.5, 4]))), [0, 0.5, 0.75, 1]);
 * assert.equal(nn.hardsigmoid.info.repr, "Hardsigmoid()");
 * ```
 */
export const hardsigmoid: Layer<LeafParams, EmptyState> = activation(
  "Hardsigmoid",
  hardsigmoidOp,
);

/**
 * Hard swish layer `x · min(max(x + 3, 0), 6) / 6` (PyTorch's
 * `nn.Hardswish()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = nn.hardswish.apply({}, tensor([-1.5, 0, 1.5, 4]));
 * assert.deepEqual(toArray(y), [-0.375, 0, 1.125, 4]); // -1.5 · 1.5 / 6, 0, 1.5 · 4.5 / 6, 4
 * assert.equal(nn.hardswish.info.repr, "Hardswish()");
 * ```
 */
export const hardswish: Layer<LeafParams, EmptyState> = activation(
  "Hardswish",
  hardswishOp,
);

/**
 * `log(sigmoid(x))` layer (PyTorch's `nn.LogSigmoid()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = toArray(nn.logSigmoid.apply({}, tensor([0, -100], { dtype: "float64" }))) as number[];
 * assert.ok(Math.abs(a + Math.log(2)) < 1e-15); // log(1 / 2)
 * assert.ok(Math.abs(b + 100) < 1e-12); // -100 - log(1 + e^-100), no overflow
 * assert.equal(nn.logSigmoid.info.repr, "LogSigmoid()");
 * ```
 */
export const logSigmoid: Layer<LeafParams, EmptyState> = activation(
  "LogSigmoid",
  logSigmoidOp,
);

/**
 * Softsign layer `x / (1 + |x|)` (PyTorch's `nn.Softsign()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.softsign.apply({}, tensor([-3, 0, 1]))), [-0.75, 0, 0.5]);
 * assert.equal(nn.softsign.info.repr, "Softsign()");
 * ```
 */
export const softsign: Layer<LeafParams, EmptyState> = activation(
  "Softsign",
  softsignOp,
);

/**
 * Mish layer `x · tanh(softplus(x))` (PyTorch's `nn.Mish()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = toArray(nn.mish.apply({}, tensor([1, -1], { dtype: "float64" }))) as number[];
 * // torch.nn.Mish()(torch.tensor([1., -1.], dtype=torch.float64))
 * assert.ok(Math.abs(a - 0.8650983882673103) < 1e-12);
 * assert.ok(Math.abs(b + 0.30340146137410895) < 1e-12);
 * assert.equal(nn.mish.info.repr, "Mish()");
 * ```
 */
export const mish: Layer<LeafParams, EmptyState> = activation(
  "Mish",
  mishOp,
);

/**
 * SELU layer `scale · (max(x, 0) + min(alpha · (e^x - 1), 0))` with
 * `alpha ≈ 1.6733`, `scale ≈ 1.0507` (PyTorch's `nn.SELU()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = toArray(nn.selu.apply({}, tensor([1, -1], { dtype: "float64" }))) as number[];
 * // torch.nn.SELU()(torch.tensor([1., -1.], dtype=torch.float64))
 * assert.ok(Math.abs(a - 1.0507009873554805) < 1e-12); // scale
 * assert.ok(Math.abs(b + 1.1113307378125625) < 1e-12); // scale · alpha · (1/e - 1)
 * assert.equal(nn.selu.info.repr, "SELU()");
 * ```
 */
export const selu: Layer<LeafParams, EmptyState> = activation("SELU", seluOp);

/**
 * Tanhshrink layer `x - tanh(x)` (PyTorch's `nn.Tanhshrink()`): a layer value.
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = toArray(nn.tanhshrink.apply({}, tensor([1, -1], { dtype: "float64" }))) as number[];
 * assert.ok(Math.abs(a - (1 - Math.tanh(1))) < 1e-15);
 * assert.ok(Math.abs(b + (1 - Math.tanh(1))) < 1e-15);
 * assert.equal(nn.tanhshrink.info.repr, "Tanhshrink()");
 * ```
 */
export const tanhshrink: Layer<LeafParams, EmptyState> = activation(
  "Tanhshrink",
  tanhshrinkOp,
);

/**
 * CELU layer (PyTorch's `nn.CELU`, default alpha 1).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.celu({ alpha: 2 }).info.repr, "CELU(alpha=2.0)");
 * ```
 */
export function celu(
  options?: { alpha?: number },
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.celu";
  checkOptions(fn, options, ["alpha"]);
  const alpha = numberOption(fn, "alpha", options.alpha, 1);
  opChecks(fn, "celu", () => celuOp(zeros([1]), { alpha }));
  return defineLayer({
    name: "CELU",
    repr: `CELU(alpha=${pyFloat(alpha)})`,
    apply: (_p, x) => celuOp(x, { alpha }),
  });
}

/**
 * GLU layer over axis `dim` (PyTorch's `nn.GLU`, default -1): halves the
 * axis.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const g = nn.glu();
 * assert.equal(g.info.repr, "GLU(dim=-1)");
 * assert.deepEqual(g.info.outputShape([2, 8]), [2, 4]);
 * ```
 */
export function glu(options?: { dim?: number }): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.glu";
  checkOptions(fn, options, ["dim"]);
  const dim = options.dim ?? -1;
  if (!Number.isInteger(dim)) {
    throw new Error(`${fn}: dim must be an integer, got ${describe(dim)}`);
  }
  return defineLayer({
    name: "GLU",
    repr: `GLU(dim=${dim})`,
    apply: (_p, x) => gluOp(x, dim),
    outputShape: (s) => {
      const a = dim < 0 ? dim + s.length : dim;
      if (a < 0 || a >= s.length || s[a] % 2 !== 0) {
        throw new Error(
          `nn.GLU: dim ${dim} of input ${
            fmtShape(s)
          } must exist and have an even size`,
        );
      }
      return s.map((d, i) => (i === a ? d / 2 : d));
    },
  });
}

/**
 * Softmin layer `softmax(-x)` over axis `dim` (PyTorch's `nn.Softmin(dim)`;
 * `dim` required, as for {@linkcode softmax}).
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const s = nn.softmin({ dim: 1 });
 * assert.equal(s.info.repr, "Softmin(dim=1)");
 * const [[a, b]] = toArray(s.apply({}, tensor([[0, Math.log(3)]], { dtype: "float64" }))) as number[][];
 * assert.ok(Math.abs(a - 0.75) < 1e-15 && Math.abs(b - 0.25) < 1e-15); // 1 : 1/3
 * ```
 */
export function softmin(
  options: { dim: number },
): Layer<LeafParams, EmptyState> {
  return overDim("nn.softmin", "Softmin", softminOp, options);
}

/** A shrink layer (`Softshrink(0.5)`, `Hardshrink(0.5)`), its lambd checked when built. */
function shrinkLayer(
  name: string,
  op: (x: Tensor, o: { lambd?: number }) => Tensor,
  options: { lambd?: number } | undefined,
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = `nn.${name[0].toLowerCase()}${name.slice(1)}`;
  checkOptions(fn, options, ["lambd"]);
  const lambd = numberOption(fn, "lambd", options.lambd, 0.5);
  opChecks(fn, name.toLowerCase(), () => op(zeros([1]), { lambd }));
  return defineLayer({
    name,
    repr: `${name}(${pyFloat(lambd)})`,
    apply: (_p, x) => op(x, { lambd }),
  });
}

/**
 * Soft shrinkage layer (PyTorch's `nn.Softshrink`, default lambd 0.5).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.softshrink().info.repr, "Softshrink(0.5)");
 * ```
 */
export function softshrink(
  options?: { lambd?: number },
): Layer<LeafParams, EmptyState> {
  return shrinkLayer("Softshrink", softshrinkOp, options);
}

/**
 * Hard shrinkage layer: x where `|x| > lambd`, else 0 (PyTorch's
 * `nn.Hardshrink`, default lambd 0.5).
 *
 * @example
 * ```ts
 * import { nn, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const h = nn.hardshrink();
 * assert.equal(h.info.repr, "Hardshrink(0.5)");
 * assert.deepEqual(toArray(h.apply({}, tensor([-1, -0.5, 0.25, 0.5, 2]))), [-1, 0, 0, 0, 2]);
 * ```
 */
export function hardshrink(
  options?: { lambd?: number },
): Layer<LeafParams, EmptyState> {
  return shrinkLayer("Hardshrink", hardshrinkOp, options);
}

/**
 * Threshold layer (PyTorch's `nn.Threshold(threshold, value)`): `x` above
 * the threshold, `value` elsewhere.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.threshold({ threshold: 0.1, value: 20 }).info.repr, "Threshold(threshold=0.1, value=20)");
 * ```
 */
export function threshold(
  options: { threshold: number; value: number },
): Layer<LeafParams, EmptyState> {
  const fn = "nn.threshold";
  requireOptions(fn, options, ["threshold", "value"], ["threshold", "value"]);
  const t = numberOption(fn, "threshold", options.threshold, 0);
  const v = numberOption(fn, "value", options.value, 0);
  return defineLayer({
    name: "Threshold",
    // PyTorch prints the numbers as given (an integer without ".0")
    repr: `Threshold(threshold=${pyNum(t)}, value=${pyNum(v)})`,
    apply: (_p, x) => thresholdOp(x, t, v),
  });
}

// ---------------------------------------------------------------------------
// weight normalisation

/** Options of {@linkcode weightNorm} (torch.nn.utils.weight_norm's). */
export interface WeightNormOptions {
  /** The parameter to reparametrise. Default "weight". */
  name?: string;
  /** The axis kept by the norm (one magnitude per slice along it), or null for one magnitude of the whole tensor. Default 0. */
  dim?: number | null;
}

/**
 * A layer with weight normalisation (`torch.nn.utils.weight_norm`): its
 * parameter `name` becomes a direction `${name}_v` and a magnitude
 * `${name}_g` (the norm over every axis but `dim`, shape 1 on those), and
 * `apply` uses `v · g / ‖v‖`. Initialised from the layer's own init (g =
 * ‖v‖, so the layer starts as it was); PyTorch's repr and state_dict keys;
 * `toTorch` wraps the module in `nn.utils.weight_norm`.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const fc = nn.weightNorm(nn.linear({ inFeatures: 3, outFeatures: 2 }));
 * const p = fc.init(random.key(0));
 * assert.deepEqual(Object.keys(p).sort(), ["bias", "weight_g", "weight_v"]);
 * assert.deepEqual(p.weight_g.shape, [2, 1]);
 * assert.deepEqual(fc.apply(p, zeros([4, 3])).shape, [4, 2]);
 * ```
 */
export function weightNorm(
  layer: Layer<LeafParams, EmptyState>,
  options?: WeightNormOptions,
): Layer<LeafParams, EmptyState> {
  if (options === undefined) options = {};
  const fn = "nn.weightNorm";
  checkLayer(fn, "layer", layer);
  checkOptions(fn, options, ["name", "dim"]);
  const name = options.name ?? "weight";
  const info = layer.info;
  const specs = info.params as Record<string, ParamSpec>;
  const spec = typeof name === "string" ? specs[name] : undefined;
  if (
    !spec || typeof (spec as ParamSpec).shape !== "object" ||
    info.children.length > 0 || info.hasState
  ) {
    throw new Error(
      `${fn}: layer must be a leaf layer without state with a parameter ${
        showValue(name)
      } (its parameters: ${
        Object.keys(specs).join(", ") || "none"
      }), got ${info.name}`,
    );
  }
  const rank = spec.shape.length;
  const dim = options.dim === undefined ? 0 : options.dim;
  if (
    dim !== null &&
    (!Number.isInteger(dim) || (dim as number) < -rank ||
      (dim as number) >= rank)
  ) {
    throw new Error(
      `${fn}: dim must be an integer in [${-rank}, ${rank}) or null, got ${
        describe(dim)
      }`,
    );
  }
  const d = dim === null ? null : ((dim as number) + rank) % rank;
  const axes = [...Array(rank).keys()].filter((a) => a !== d);
  const gShape = d === null ? [] : spec.shape.map((n, a) => (a === d ? n : 1));
  const norm = (v: Tensor) =>
    sqrt(sum(mul(v, v), { axis: axes, keepDims: d !== null }));
  const { [name]: _, ...rest } = specs;
  const params: Record<string, ParamSpec> = {
    ...rest,
    [`${name}_g`]: { shape: gShape, dtype: spec.dtype },
    [`${name}_v`]: { shape: spec.shape, dtype: spec.dtype },
  };
  const inner = (p: LeafParams) => {
    const { [`${name}_g`]: g, [`${name}_v`]: v, ...others } = p;
    return { ...others, [name]: mul(v, div(g, norm(v))) } as LeafParams;
  };
  const call = info.torch ?? info.repr;
  return defineLayer({
    name: info.name,
    repr: info.repr,
    torch: `utils.weight_norm(nn.${call}, name='${name}', dim=${
      d === null ? "None" : d
    })`,
    params,
    init: (key) => {
      const p = layer.init(key) as LeafParams;
      const { [name]: v, ...others } = p;
      return { ...others, [`${name}_g`]: norm(v), [`${name}_v`]: v };
    },
    apply: (p, x, opts) => layer.apply(inner(p), x, opts),
    outputShape: (s) => info.outputShape(s),
    needsKey: info.needsKey,
  });
}
