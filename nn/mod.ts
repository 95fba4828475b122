/**
 * Layers as pure `{ init, apply }` pairs, PyTorch's names and defaults.
 *
 * - A layer is `{ init(key) -> params, apply(params, x, opts?) -> y, info }`.
 *   Params are plain trees of tensors: a {@linkcode sequential}'s an array
 *   with one entry per layer (`{}` for a parameterless one), a named
 *   {@linkcode model}'s an object; a leaf's dotted path (`treePaths`) is
 *   PyTorch's state_dict key (`0.weight`, `conv1.bias`).
 * - Parameterless activations are layer values (`nn.relu`, `nn.tanh`,
 *   `nn.sigmoid`, `nn.gelu`, `nn.silu`); layers with options are
 *   constructors (`nn.linear({ inFeatures, outFeatures })`, `nn.flatten()`).
 * - `apply` defaults to inference (`training: false`). Training mode is
 *   `{ training: true, key }`: containers split the key among the layers
 *   that draw random numbers (dropout).
 * - Buffers (batch norm's running statistics) live in a separate state tree:
 *   every layer has `initState()` and `applyWithState(params, state, x,
 *   opts) -> { y, state }` (the state of a layer without buffers is `{}`, so
 *   one training loop fits every model). Plain `apply` on a layer with
 *   state (or a container holding one) is an error that names the layer.
 * - Initialisation is PyTorch's default: weights and biases
 *   `U(-1/sqrt(fanIn), 1/sqrt(fanIn))`, drawn with `random.uniform`.
 * - {@linkcode summary} prints PyTorch's module repr and a torchinfo-like
 *   table without allocating parameters; {@linkcode paramCount} counts them.
 *
 * A training loop threads the params, the state and the key:
 *
 * @example
 * ```ts
 * import { crossEntropy, mul, nn, random, sub, tensor, treeMap, valueAndGrad, zeros } from "../mod.ts";
 * import type { Tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const net = nn.sequential(
 *   nn.conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 }),
 *   nn.batchNorm2d({ numFeatures: 4 }),
 *   nn.relu,
 *   nn.maxPool2d({ kernelSize: 2 }),
 *   nn.flatten(),
 *   nn.dropout({ p: 0.25 }),
 *   nn.linear({ inFeatures: 4 * 4 * 4, outFeatures: 3 }),
 * );
 * const x = random.normal(random.key(7), [6, 1, 8, 8]);
 * const labels = tensor([0, 1, 2, 0, 1, 2], { dtype: "int32" });
 *
 * let params = net.init(random.key(0));
 * let state = net.initState(); // [{}, { running_mean, running_var, num_batches_tracked }, {}, ...]
 * let key = random.key(1);
 * const lossAndState = (p: typeof params, s: typeof state, k: random.Key) => {
 *   const { y, state: next } = net.applyWithState(p, s, x, { training: true, key: k });
 *   return [crossEntropy(y, labels), next];
 * };
 * for (let step = 0; step < 3; step++) {
 *   const [k, rest] = random.split(key);
 *   key = rest;
 *   const [[loss, next], grads] = valueAndGrad(lossAndState, { hasAux: true })(params, state, k);
 *   params = treeMap((w: Tensor, g: Tensor) => sub(w, mul(g, 0.1)), params, grads);
 *   state = next; // the running statistics moved
 *   assert.ok(Number.isFinite(loss.data[0]));
 * }
 * assert.equal(state[1].num_batches_tracked.data[0], 3);
 * // evaluation: running statistics, no dropout
 * const { y } = net.applyWithState(params, state, zeros([2, 1, 8, 8]));
 * assert.deepEqual(y.shape, [2, 3]);
 * ```
 *
 * @module
 */
export {
  type AnyLayer,
  type ApplyOptions,
  defineLayer,
  type EmptyState,
  isLayer,
  type Layer,
  type LayerDefinition,
  type LayerInfo,
  type LeafLayer,
  type LeafParams,
  type LeafSpecs,
  type Params,
  type ParamsOf,
  type ParamSpec,
  type SpecTree,
  type State,
  type StateOf,
} from "./layer.ts";
export {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  type AdaptiveAvgPool2dLayerOptions,
  adaptiveAvgPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  type AdaptiveMaxPool2dLayerOptions,
  adaptiveMaxPool3d,
  type AdaptivePool1dLayerOptions,
  type AdaptivePool3dLayerOptions,
  alphaDropout,
  avgPool1d,
  avgPool2d,
  type AvgPool2dLayerOptions,
  avgPool3d,
  batchNorm1d,
  type BatchNorm1dOptions,
  batchNorm2d,
  type BatchNorm2dOptions,
  batchNorm3d,
  type BatchNorm3dOptions,
  type BatchNormState,
  celu,
  channelShuffle,
  constantPad1d,
  constantPad2d,
  constantPad3d,
  conv1d,
  type Conv1dLayerOptions,
  conv2d,
  type Conv2dLayerOptions,
  conv3d,
  type Conv3dLayerOptions,
  convTranspose1d,
  type ConvTranspose1dLayerOptions,
  convTranspose2d,
  type ConvTranspose2dLayerOptions,
  convTranspose3d,
  type ConvTranspose3dLayerOptions,
  dropout,
  dropout1d,
  dropout2d,
  dropout3d,
  elu,
  embedding,
  type EmbeddingLayerOptions,
  featureAlphaDropout,
  flatten,
  type FloatDType,
  fold,
  fractionalMaxPool2d,
  type FractionalMaxPool2dLayerOptions,
  fractionalMaxPool3d,
  type FractionalMaxPool3dLayerOptions,
  gelu,
  glu,
  groupNorm,
  type GroupNormLayerOptions,
  hardshrink,
  hardsigmoid,
  hardswish,
  hardtanh,
  identity,
  instanceNorm1d,
  instanceNorm2d,
  instanceNorm3d,
  type InstanceNormLayerOptions,
  layerNorm,
  type LayerNormLayerOptions,
  leakyRelu,
  linear,
  type LinearOptions,
  localResponseNorm,
  type LocalResponseNormLayerOptions,
  logSigmoid,
  logSoftmax,
  lpPool1d,
  lpPool2d,
  maxPool1d,
  maxPool2d,
  type MaxPool2dLayerOptions,
  maxPool3d,
  mish,
  type PaddingMode,
  pixelShuffle,
  pixelUnshuffle,
  prelu,
  reflectionPad1d,
  reflectionPad2d,
  reflectionPad3d,
  relu,
  relu6,
  replicationPad1d,
  replicationPad2d,
  replicationPad3d,
  rrelu,
  selu,
  sigmoid,
  silu,
  softmax,
  softmax2d,
  softmin,
  softplus,
  softshrink,
  softsign,
  tanh,
  tanhshrink,
  threshold,
  unflatten,
  unfold,
  updateBn,
  type UpdateBnBatch,
  upsample,
  type UpsampleLayerOptions,
  type Upsampling2dOptions,
  upsamplingBilinear2d,
  upsamplingNearest2d,
  weightNorm,
  type WeightNormOptions,
  zeroPad2d,
} from "./layers.ts";
export {
  gru,
  lstm,
  type LstmOptions,
  type LstmOutput,
  type RecurrentApplyOptions,
  type RecurrentLayer,
  type RecurrentOptions,
  type RecurrentOutput,
  rnn,
  type RnnOptions,
} from "./recurrent.ts";
export {
  multiheadAttention,
  type MultiheadAttentionOptions,
  transformerEncoder,
  transformerEncoderLayer,
  type TransformerEncoderLayerOptions,
  type TransformerEncoderOptions,
} from "./attention.ts";
export {
  type Bound,
  type ForwardOptions,
  model,
  type ModelOptions,
  type ModelParams,
  type ModelState,
  sequential,
  type SequentialParams,
  type SequentialState,
} from "./containers.ts";
export { paramCount, summary } from "./summary.ts";
export { toOnnx, type ToOnnxOptions } from "./onnx.ts";
export { toTorch, type ToTorchOptions } from "./torch.ts";
export {
  alexnet,
  type BirdPlaneLayers,
  birdPlaneNet,
  type ClassicNetOptions,
  densenet121,
  lenet5,
  type LeNet5Layers,
  mobilenetV2,
  type MobileNetV2Options,
  resnet101,
  resnet152,
  resnet18,
  resnet34,
  resnet50,
  type ResNetOptions,
  resnext50_32x4d,
  type SeedModelOptions,
  simpleCNN,
  type SimpleCNNLayers,
  simpleFCN,
  type SimpleFCNLayers,
  squeezenet1_1,
  vgg11,
  vgg13,
  vgg16,
  vgg16Bn,
  type Vgg16Layers,
  type Vgg16Options,
  vgg19,
  wideResnet50_2,
} from "./models.ts";
/** Weight initialisation as `torch.nn.init`'s, functional (key and shape in, tensor out). */
export * as init from "./init.ts";
