/**
 * A functional tensor library for convolutional networks, in the style of
 * JAX with PyTorch's CNN semantics: immutable tensors, pure ops with explicit
 * VJP rules, and `grad` / `vjp` / `jvp` as function transforms.
 *
 * @example
 * ```ts
 * import { grad, mul, sum, type Tensor, tensor, toArray } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const f = (x: Tensor) => sum(mul(x, x));
 * assert.deepEqual(toArray(grad(f)(tensor([1, 2, 3]))), [2, 4, 6]);
 * ```
 *
 * @module
 */
export {
  arange,
  type DType,
  eye,
  full,
  item,
  linspace,
  logspace,
  type NestedArray,
  ones,
  onesLike,
  type Tensor,
  tensor,
  type TensorOptions,
  toArray,
  type TypedArray,
  zeros,
  zerosLike,
} from "./ops/tensor.ts";
export {
  abs,
  add,
  astype,
  div,
  equal,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  type Operand,
  pow,
  relu,
  resultType,
  sigmoid,
  sqrt,
  square,
  sub,
  tanh,
  where,
} from "./ops/elementwise.ts";
export { matmul } from "./ops/matmul.ts";
export {
  all,
  any,
  argmax,
  argmin,
  logSumExp,
  max,
  mean,
  min,
  norm,
  type NormOptions,
  prod,
  std,
  var,
  type VarOptions,
} from "./ops/reductions.ts";
export {
  cumprod,
  cumsum,
  type CumulativeOptions,
  logCumSumExp,
} from "./ops/cumulative.ts";
export {
  broadcastTo,
  concat,
  expandDims,
  flatten,
  pad,
  type PadMode,
  type ReduceOptions,
  reshape,
  slice,
  squeeze,
  stack,
  sum,
  transpose,
} from "./ops/structural.ts";
export {
  type AxisOption,
  chunk,
  diag,
  diagonal,
  type DiagonalOptions,
  diff,
  type DiffOptions,
  flip,
  meshgrid,
  type MeshgridOptions,
  moveaxis,
  outer,
  repeat,
  roll,
  rot90,
  split,
  swapaxes,
  tile,
  trace,
  tril,
  triu,
} from "./ops/shape.ts";
export { einsum, kron, tensordot } from "./ops/einsum.ts";
export {
  type AttentionOptions,
  scaledDotProductAttention,
} from "./ops/attention.ts";
export {
  bucketize,
  median,
  nanmean,
  type NanReduceOptions,
  nansum,
  quantile,
  type QuantileMethod,
  type QuantileOptions,
  searchsorted,
} from "./ops/order_stats.ts";
export {
  argwhere,
  bincount,
  type BincountOptions,
  countNonzero,
  cummax,
  cummin,
  histc,
  type HistcOptions,
  kthvalue,
  mode,
  nonzero,
  type SelectOptions,
  unique,
  type UniqueOptions,
  type UniqueResult,
} from "./ops/counting.ts";
export { isTensor } from "./ops/tensor.ts";
export { setDebugNans } from "./ops/debug.ts";
export { getNumThreads, setNumThreads } from "./ops/threads.ts";
export {
  customJvp,
  customVjp,
  pureCallback,
  type ShapeDtype,
} from "./ops/custom_vjp.ts";
export { checkpoint, remat } from "./ops/checkpoint.ts";
export {
  cond,
  foriLoop,
  scan,
  type ScanOptions,
  switch,
  whileLoop,
} from "./ops/control_flow.ts";
export {
  gumbelSoftmax,
  type GumbelSoftmaxOptions,
  rrelu,
  type RreluOptions,
} from "./ops/stochastic.ts";
export { jit, type JitOptions, type Jitted } from "./ops/jit.ts";
export {
  type Jaxpr,
  type JaxprEqn,
  type JaxprVar,
  makeJaxpr,
  type MakeJaxprOptions,
} from "./ops/jaxpr.ts";
export {
  type AxisSpec,
  hessian,
  jacfwd,
  type JacobianOptions,
  jacrev,
  type KeyListArgs,
  type KeyListResult,
  vmap,
  type VmapOptions,
} from "./ops/vmap.ts";
export {
  grad,
  jvp,
  linearize,
  linearTranspose,
  stopGradient,
  valueAndGrad,
  vjp,
} from "./ops/transforms.ts";
export type {
  Argnums,
  GradOf,
  GradOptions,
  WithAux,
} from "./ops/grad_types.ts";
export {
  type Tree,
  type TreeDef,
  treeFlatten,
  treeLeaves,
  treeMap,
  treePaths,
  treeUnflatten,
} from "./ops/tree.ts";
export * as random from "./ops/random.ts";
export * as linalg from "./ops/linalg.ts";
export type { Key } from "./ops/random.ts";
export * as optim from "./optim/mod.ts";
export * as data from "./data/mod.ts";
export * as metrics from "./nn/metrics.ts";
export { type Pair } from "./ops/_args.ts";
export {
  celu,
  elu,
  gelu,
  glu,
  hardshrink,
  hardsigmoid,
  hardswish,
  hardtanh,
  leakyRelu,
  logSigmoid,
  logSoftmax,
  mish,
  prelu,
  relu6,
  selu,
  silu,
  softmax,
  softmin,
  softplus,
  softshrink,
  softsign,
  tanhshrink,
  threshold,
} from "./ops/activations.ts";
export {
  conv1d,
  type Conv1dOptions,
  conv2d,
  type Conv2dOptions,
  conv2dOutputSize,
  convTranspose1d,
  type ConvTranspose1dOptions,
  convTranspose2d,
  type ConvTranspose2dOptions,
} from "./ops/conv.ts";
export {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  type ClassLossOptions,
  cosineEmbeddingLoss,
  cosineSimilarity,
  crossEntropy,
  type CrossEntropyOptions,
  gaussianNllLoss,
  hingeEmbeddingLoss,
  huberLoss,
  klDiv,
  type KlDivOptions,
  l1Loss,
  marginRankingLoss,
  mseLoss,
  multilabelSoftMarginLoss,
  multiMarginLoss,
  nllLoss,
  pairwiseDistance,
  type PairwiseDistanceOptions,
  poissonNllLoss,
  type Reduction,
  smoothL1Loss,
  softMarginLoss,
  tripletMarginLoss,
} from "./ops/losses.ts";
export {
  type AlongAxisOptions,
  argsort,
  embedding,
  type EmbeddingOptions,
  oneHot,
  scatterAdd,
  sort,
  type SortOptions,
  take,
  takeAlongAxis,
  type TakeOptions,
  topk,
  type TopkOptions,
  type ValuesAndIndices,
} from "./ops/indexing.ts";
export { linear } from "./ops/matmul.ts";
export {
  alphaDropout,
  batchNorm,
  type BatchNormOptions,
  dropout,
  dropout1d,
  dropout2d,
  dropout3d,
  featureAlphaDropout,
  groupNorm,
  instanceNorm,
  type InstanceNormOptions,
  layerNorm,
  localResponseNorm,
  type LocalResponseNormOptions,
  normalize,
} from "./ops/normalization.ts";
export {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  avgPool1d,
  type AvgPool1dOptions,
  avgPool2d,
  type AvgPool2dOptions,
  lpPool1d,
  type LpPool1dOptions,
  lpPool2d,
  type LpPool2dOptions,
  maxPool1d,
  type MaxPool1dOptions,
  maxPool1dWithIndices,
  maxPool2d,
  type MaxPool2dOptions,
  maxPool2dWithIndices,
  maxUnpool1d,
  type MaxUnpool1dOptions,
  maxUnpool2d,
  type MaxUnpool2dOptions,
} from "./ops/pool.ts";
export {
  adaptiveAvgPool3d,
  adaptiveMaxPool3d,
  avgPool3d,
  type AvgPool3dOptions,
  conv3d,
  type Conv3dOptions,
  convTranspose3d,
  type ConvTranspose3dOptions,
  maxPool3d,
  type MaxPool3dOptions,
  maxPool3dWithIndices,
  maxUnpool3d,
  type MaxUnpool3dOptions,
  type Triple,
} from "./ops/conv3d.ts";
export {
  fractionalMaxPool2d,
  type FractionalMaxPool2dOptions,
  fractionalMaxPool2dWithIndices,
  fractionalMaxPool3d,
  type FractionalMaxPool3dOptions,
  fractionalMaxPool3dWithIndices,
} from "./ops/fractional_pool.ts";
export {
  affineGrid,
  type AlignCornersOption,
  gridSample,
  type GridSampleOptions,
} from "./ops/grid_sample.ts";
export {
  channelShuffle,
  fold,
  type FoldOptions,
  pixelShuffle,
  pixelUnshuffle,
  unfold,
  type UnfoldOptions,
} from "./ops/patches.ts";
export {
  interpolate,
  type InterpolateMode,
  type InterpolateOptions,
} from "./ops/upsample.ts";
export { checkGrads, type CheckGradsOptions } from "./ops/check.ts";
export {
  acos,
  allclose,
  asin,
  atan,
  atan2,
  ceil,
  clamp,
  cos,
  cosh,
  erf,
  exp2,
  expm1,
  floor,
  floorDivide,
  fmod,
  hypot,
  isclose,
  type IscloseOptions,
  isFinite,
  isNan,
  log10,
  log1p,
  log2,
  logaddexp,
  logicalAnd,
  logicalNot,
  logicalOr,
  nanToNum,
  type NanToNumOptions,
  reciprocal,
  remainder,
  round,
  rsqrt,
  sign,
  sin,
  sinh,
  tan,
  trunc,
  xlogy,
} from "./ops/math.ts";
export {
  cdist,
  type CdistOptions,
  copysign,
  digamma,
  erfinv,
  fmax,
  fmin,
  frac,
  heaviside,
  lerp,
  lgamma,
  logit,
  type LogitOptions,
  polygamma,
  sinc,
} from "./ops/special.ts";
export * as nn from "./nn/mod.ts";
