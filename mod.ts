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
  full,
  item,
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
export { argmax, logSumExp, max, mean, min } from "./ops/reductions.ts";
export {
  broadcastTo,
  concat,
  expandDims,
  flatten,
  pad,
  type ReduceOptions,
  reshape,
  slice,
  squeeze,
  stack,
  sum,
  transpose,
} from "./ops/structural.ts";
export { isTensor } from "./ops/tensor.ts";
export { setDebugNans } from "./ops/debug.ts";
export { getNumThreads, setNumThreads } from "./ops/threads.ts";
export { customVjp } from "./ops/custom_vjp.ts";
export { jit, type JitOptions, type Jitted } from "./ops/jit.ts";
export {
  type AxisSpec,
  hessian,
  jacfwd,
  type JacobianOptions,
  jacrev,
  vmap,
  type VmapOptions,
} from "./ops/vmap.ts";
export {
  type Argnums,
  grad,
  type GradOf,
  type GradOptions,
  jvp,
  stopGradient,
  valueAndGrad,
  vjp,
  type WithAux,
} from "./ops/transforms.ts";
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
export type { Key } from "./ops/random.ts";
export * as optim from "./optim/mod.ts";
export * as data from "./data/mod.ts";
export { type Pair } from "./ops/_args.ts";
export {
  elu,
  gelu,
  leakyRelu,
  logSoftmax,
  silu,
  softmax,
  softplus,
} from "./ops/activations.ts";
export {
  conv2d,
  type Conv2dOptions,
  conv2dOutputSize,
  convTranspose2d,
  type ConvTranspose2dOptions,
} from "./ops/conv.ts";
export {
  binaryCrossEntropyWithLogits,
  type ClassLossOptions,
  crossEntropy,
  type CrossEntropyOptions,
  l1Loss,
  mseLoss,
  nllLoss,
  type Reduction,
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
  batchNorm,
  type BatchNormOptions,
  dropout,
} from "./ops/normalization.ts";
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type MaxPool2dOptions,
} from "./ops/pool.ts";
export { checkGrads, type CheckGradsOptions } from "./ops/check.ts";
export * as nn from "./nn/mod.ts";
