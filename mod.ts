/**
 * A functional tensor library for convolutional networks, in the style of
 * JAX with PyTorch's CNN semantics: immutable tensors, pure ops with explicit
 * VJP rules, and `grad` / `vjp` / `jvp` as function transforms.
 *
 * @example
 * ```ts
 * import { grad, mul, sum, tensor, toArray } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const f = (x: any) => sum(mul(x, x));
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
  argmax,
  astype,
  broadcastTo,
  concat,
  div,
  equal,
  exp,
  expandDims,
  flatten,
  greater,
  greaterEqual,
  isTensor,
  less,
  lessEqual,
  log,
  logSumExp,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  neg,
  notEqual,
  type Operand,
  pad,
  pow,
  type ReduceOptions,
  relu,
  reshape,
  resultType,
  sigmoid,
  slice,
  sqrt,
  square,
  squeeze,
  stack,
  sub,
  sum,
  tanh,
  transpose,
  where,
} from "./ops/ops.ts";
export { setDebugNans } from "./ops/trace.ts";
export { getNumThreads, setNumThreads } from "./ops/threads.ts";
export {
  customVjp,
  grad,
  type GradOptions,
  jvp,
  stopGradient,
  valueAndGrad,
  vjp,
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
export {
  adaptiveAvgPool2d,
  avgPool2d,
  type AvgPool2dOptions,
  batchNorm,
  type BatchNormOptions,
  binaryCrossEntropyWithLogits,
  type ClassLossOptions,
  conv2d,
  type Conv2dOptions,
  conv2dOutputSize,
  convTranspose2d,
  type ConvTranspose2dOptions,
  crossEntropy,
  type CrossEntropyOptions,
  dropout,
  elu,
  gelu,
  l1Loss,
  leakyRelu,
  linear,
  logSoftmax,
  maxPool2d,
  type MaxPool2dOptions,
  mseLoss,
  nllLoss,
  type Pair,
  type Reduction,
  silu,
  softmax,
  softplus,
} from "./ops/cnn.ts";
export { checkGrads, type CheckGradsOptions } from "./ops/check.ts";
export * as nn from "./nn/mod.ts";
