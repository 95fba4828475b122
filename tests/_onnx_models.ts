/**
 * The models and layer options that ONNX export is checked on: the
 * tutorials' models, VGG16 at a small input and a matrix of layer options.
 * tests/onnx_test.ts runs them in ONNX Runtime; export_onnx_models.ts writes
 * them for the Python checker (tests/fixtures/gen_onnx.py check).
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const { nn, random } = T;
/** Any layer, as the export takes it. */
export type AnyLayer = T.nn.Layer<unknown, unknown>;

/** The tutorials' models and VGG16: name, layer and input shape (batch first). */
export function modelCases(): [string, AnyLayer, number[]][] {
  return [
    ["lenet5", nn.lenet5() as AnyLayer, [2, 1, 32, 32]],
    ["birdPlaneNet", nn.birdPlaneNet() as AnyLayer, [2, 3, 32, 32]],
    ["simpleCNN", nn.simpleCNN() as AnyLayer, [2, 3, 32, 32]],
    ["vgg16", nn.vgg16() as AnyLayer, [1, 3, 32, 32]],
  ];
}

/** Layer options, one small sequential model each. */
export function optionCases(): [string, AnyLayer, number[]][] {
  const seq = (...ls: unknown[]) =>
    nn.sequential(...(ls as AnyLayer[])) as AnyLayer;
  const conv = (o: Record<string, unknown>) =>
    nn.conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, ...o } as never);
  return [
    [
      "conv stride 2, padding [1, 2], dilation [1, 2], groups 2",
      seq(conv({ stride: 2, padding: [1, 2], dilation: [1, 2], groups: 2 })),
      [2, 4, 11, 10],
    ],
    [
      'conv padding "same", dilation 2, no bias',
      seq(conv({ padding: "same", dilation: 2, bias: false })),
      [2, 4, 9, 9],
    ],
    [
      "conv paddingMode reflect, replicate, circular",
      seq(
        conv({ padding: 1, paddingMode: "reflect" }),
        conv({ padding: [2, 1], stride: 2, paddingMode: "replicate" }),
        conv({ padding: "same", paddingMode: "circular" }),
      ),
      [2, 4, 9, 8],
    ],
    [
      "convTranspose2d stride 2, outputPadding 1, groups 2",
      seq(
        nn.convTranspose2d({
          inChannels: 4,
          outChannels: 2,
          kernelSize: 3,
          stride: 2,
          padding: 1,
          outputPadding: 1,
          groups: 2,
        }),
      ),
      [2, 4, 5, 6],
    ],
    [
      "maxPool2d floor, padding 1, dilation 2",
      seq(nn.maxPool2d({ kernelSize: 2, padding: 1, dilation: 2 })),
      [2, 3, 9, 8],
    ],
    [
      "maxPool2d ceilMode (a last window kept)",
      seq(nn.maxPool2d({ kernelSize: 3, stride: 2, ceilMode: true })),
      [2, 3, 10, 8],
    ],
    [
      "maxPool2d ceilMode (PyTorch's rule drops a window)",
      seq(nn.maxPool2d({ kernelSize: 2, padding: 1, ceilMode: true })),
      [2, 3, 9, 9],
    ],
    [
      "maxPool2d ceilMode, a last window kept along H and dropped along W",
      seq(
        nn.maxPool2d({ kernelSize: 3, stride: 3, padding: 1, ceilMode: true }),
      ),
      [2, 3, 3, 5],
    ],
    [
      "avgPool2d countIncludePad true",
      seq(nn.avgPool2d({ kernelSize: 3, stride: 2, padding: 1 })),
      [2, 3, 9, 8],
    ],
    [
      "avgPool2d divisorOverride (padding 1; countIncludePad false, which it overrides)",
      seq(
        nn.avgPool2d({
          kernelSize: 3,
          stride: 2,
          padding: 1,
          divisorOverride: 4,
          countIncludePad: false,
        }),
      ),
      [2, 3, 9, 8],
    ],
    [
      "avgPool2d ceilMode, a last window kept along H and dropped along W",
      seq(
        nn.avgPool2d({ kernelSize: 3, stride: 3, padding: 1, ceilMode: true }),
      ),
      [2, 3, 3, 8],
    ],
    [
      "avgPool2d ceilMode, countIncludePad false, kept along W, dropped along H",
      seq(
        nn.avgPool2d({
          kernelSize: 3,
          stride: 3,
          padding: 1,
          ceilMode: true,
          countIncludePad: false,
        }),
      ),
      [2, 2, 8, 3],
    ],
    [
      "avgPool2d countIncludePad false, ceilMode",
      seq(
        nn.avgPool2d({
          kernelSize: 2,
          padding: 1,
          ceilMode: true,
          countIncludePad: false,
        }),
      ),
      [2, 3, 9, 9],
    ],
    [
      "conv1d paddingMode reflect, replicate, circular",
      seq(
        nn.conv1d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          padding: 2,
          paddingMode: "reflect",
        }),
        nn.conv1d({
          inChannels: 4,
          outChannels: 4,
          kernelSize: 3,
          padding: 1,
          stride: 2,
          paddingMode: "replicate",
        }),
        nn.conv1d({
          inChannels: 4,
          outChannels: 2,
          kernelSize: 4,
          padding: "same",
          paddingMode: "circular",
        }),
      ),
      [2, 3, 11],
    ],
    [
      'conv1d (stride 2, groups 2; "same"), maxPool1d ceilMode, avgPool1d, upsample nearest and linear',
      seq(
        nn.conv1d({
          inChannels: 4,
          outChannels: 4,
          kernelSize: 3,
          stride: 2,
          padding: 1,
          dilation: 2,
          groups: 2,
        }),
        nn.relu,
        nn.maxPool1d({ kernelSize: 2, ceilMode: true }),
        nn.avgPool1d({ kernelSize: 2, padding: 1, countIncludePad: false }),
        nn.conv1d({
          inChannels: 4,
          outChannels: 2,
          kernelSize: 4,
          padding: "same",
          bias: false,
        }),
        nn.upsample({ scaleFactor: 2 }),
        nn.upsample({ size: 13, mode: "linear", alignCorners: true }),
      ),
      [2, 4, 23],
    ],
    [
      "upsample bilinear by [1.5, 2], nearest to [5, 7], nearest by 0.5",
      seq(
        nn.upsample({ scaleFactor: [1.5, 2], mode: "bilinear" }),
        nn.upsample({ size: [5, 7] }),
        nn.upsample({ scaleFactor: 0.5 }),
      ),
      [2, 3, 4, 5],
    ],
    [
      "adaptiveAvgPool2d, flatten, linear",
      seq(
        nn.adaptiveAvgPool2d({ outputSize: [3, 2] }),
        nn.flatten(),
        nn.linear({ inFeatures: 18, outFeatures: 5 }),
      ),
      [2, 3, 7, 5],
    ],
    [
      "pixelShuffle, pixelUnshuffle, adaptiveMaxPool2d, unfold",
      seq(
        nn.conv2d({ inChannels: 2, outChannels: 8, kernelSize: 3 }),
        nn.pixelShuffle(2),
        nn.pixelUnshuffle(3),
        nn.adaptiveMaxPool2d({ outputSize: [3, 4] }),
        nn.unfold({ kernelSize: [2, 3], padding: 1, stride: [1, 2] }),
      ),
      [2, 2, 8, 11],
    ],
    [
      "adaptiveAvgPool1d, adaptiveMaxPool1d, lpPool1d (p 2, and 1.5 after a sigmoid)",
      seq(
        nn.conv1d({ inChannels: 3, outChannels: 4, kernelSize: 3 }),
        nn.lpPool1d({ normType: 2, kernelSize: 3, stride: 2, ceilMode: true }),
        nn.sigmoid,
        nn.lpPool1d({ normType: 1.5, kernelSize: 2, stride: 1 }),
        nn.adaptiveMaxPool1d({ outputSize: 4 }),
        nn.adaptiveAvgPool1d({ outputSize: 3 }),
      ),
      [2, 3, 17],
    ],
    [
      "lpPool2d (p 2, kernel [2, 3], ceilMode; p 3 after a sigmoid)",
      seq(
        nn.conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }),
        nn.lpPool2d({ normType: 2, kernelSize: [2, 3], ceilMode: true }),
        nn.sigmoid,
        nn.lpPool2d({ normType: 3, kernelSize: 2, stride: 1 }),
      ),
      [2, 2, 11, 12],
    ],
    [
      "linear without bias on [N, 3, 8]",
      seq(nn.linear({ inFeatures: 8, outFeatures: 4, bias: false } as never)),
      [2, 3, 8],
    ],
    [
      "activations",
      seq(
        conv({}),
        nn.relu,
        conv({}),
        nn.tanh,
        conv({}),
        nn.sigmoid,
        conv({}),
        nn.gelu,
        conv({}),
        nn.silu,
        conv({}),
        nn.leakyRelu({ negativeSlope: 0.2 }),
        conv({}),
        nn.elu(),
        conv({}),
        nn.softplus(),
      ),
      [2, 4, 20, 20],
    ],
    [
      "more activations: hardtanh, relu6, hardsigmoid, hardswish, logSigmoid, softsign, mish, prelu",
      seq(
        nn.hardtanh({ minVal: -0.5, maxVal: 2 }),
        conv({}),
        nn.relu6,
        conv({}),
        nn.hardsigmoid,
        conv({}),
        nn.hardswish,
        conv({}),
        nn.logSigmoid,
        conv({}),
        nn.softsign,
        conv({}),
        nn.mish,
        nn.prelu(),
        conv({}),
        nn.prelu({ numParameters: 4, init: 0.1 }),
      ),
      [2, 4, 18, 18],
    ],
    [
      "dropout is the identity in inference",
      seq(
        nn.flatten(),
        nn.dropout({ p: 0.5 }),
        nn.linear({ inFeatures: 12, outFeatures: 2 }),
      ),
      [2, 3, 2, 2],
    ],
    [
      "batchNorm2d with its running statistics",
      seq(conv({}), nn.batchNorm2d({ numFeatures: 4 }), nn.relu),
      [2, 4, 6, 6],
    ],
    [
      "convTranspose1d: stride 2, padding 1, outputPadding 1, dilation 2, groups 2",
      seq(
        nn.convTranspose1d({
          inChannels: 4,
          outChannels: 6,
          kernelSize: 3,
          stride: 2,
          padding: 1,
          outputPadding: 1,
          dilation: 2,
          groups: 2,
        }),
        nn.relu,
        nn.convTranspose1d({ inChannels: 6, outChannels: 2, kernelSize: 4 }),
      ),
      [2, 4, 9],
    ],
    [
      "2-D padding layers, flatten and unflatten, softmax over channels",
      seq(
        conv({}),
        nn.zeroPad2d([1, 1, 2, 0]),
        nn.reflectionPad2d([1, 0, 2, 1]),
        nn.replicationPad2d(1),
        nn.constantPad2d(1, 3.5),
        conv({}),
        nn.flatten(),
        nn.unflatten({ dim: 1, unflattenedSize: [4, -1] }),
        nn.softmax({ dim: 1 }),
      ),
      [2, 4, 6, 5],
    ],
    [
      "1-D padding layers, logSoftmax, identity",
      seq(
        nn.conv1d({ inChannels: 3, outChannels: 4, kernelSize: 3 }),
        nn.constantPad1d(2, -1),
        nn.reflectionPad1d(1),
        nn.replicationPad1d([0, 3]),
        nn.identity,
        nn.logSoftmax({ dim: -1 }),
      ),
      [2, 3, 8],
    ],
    [
      "selu, celu, tanhshrink, softshrink, hardshrink, threshold, glu, softmin",
      seq(
        conv({}),
        nn.selu,
        conv({}),
        nn.celu({ alpha: 2 }),
        conv({}),
        nn.tanhshrink,
        nn.softshrink({ lambd: 0.2 }),
        conv({}),
        nn.hardshrink(),
        conv({}),
        nn.threshold({ threshold: 0.1, value: -1 }),
        nn.glu({ dim: 1 }),
        nn.softmin({ dim: 1 }),
      ),
      [2, 4, 16, 16],
    ],
    [
      "localResponseNorm (AlexNet's, and a wider window)",
      seq(
        conv({}),
        nn.localResponseNorm({ size: 5 }),
        nn.relu,
        conv({}),
        nn.localResponseNorm({ size: 2, alpha: 0.1, beta: 0.5, k: 2 }),
      ),
      [2, 4, 8, 8],
    ],
    [
      "instanceNorm2d with running statistics and affine, instanceNorm1d plain",
      seq(
        conv({}),
        nn.instanceNorm2d({
          numFeatures: 4,
          affine: true,
          trackRunningStats: true,
        }),
        nn.relu,
        nn.flatten({ startDim: 2 }),
        nn.instanceNorm1d({ numFeatures: 4 }),
      ),
      [2, 4, 6, 6],
    ],
    [
      "batchNorm1d on [N, C, L] and on [N, C], with running statistics",
      seq(
        nn.conv1d({ inChannels: 3, outChannels: 4, kernelSize: 3 }),
        nn.batchNorm1d({ numFeatures: 4 }),
        nn.relu,
        nn.flatten(),
        nn.linear({ inFeatures: 24, outFeatures: 5 }),
        nn.batchNorm1d({ numFeatures: 5, momentum: null }),
      ),
      [3, 3, 8],
    ],
    [
      "layerNorm, groupNorm (2 groups on [N, C, H, W], 4 on [N, C]), dropout2d",
      seq(
        conv({}),
        nn.layerNorm({ normalizedShape: [4, 4, 4] }),
        conv({ padding: 1 }),
        nn.groupNorm({ numGroups: 2, numChannels: 4 }),
        nn.dropout2d({ p: 0.3 }),
        nn.relu,
        nn.flatten(),
        nn.layerNorm({ normalizedShape: 64, elementwiseAffine: false }),
        nn.groupNorm({ numGroups: 4, numChannels: 64, eps: 0.1 }),
      ),
      [2, 4, 6, 6],
    ],
    [
      "3-D: conv3d (stride, groups; reflect padding), batchNorm3d, maxPool3d, dropout3d, avgPool3d, instanceNorm3d, the adaptive pools",
      seq(
        nn.conv3d({
          inChannels: 2,
          outChannels: 4,
          kernelSize: [2, 3, 3],
          stride: [1, 2, 1],
          padding: [1, 1, 0],
        }),
        nn.batchNorm3d({ numFeatures: 4 }),
        nn.relu,
        nn.maxPool3d({ kernelSize: 2, stride: [1, 2, 2], ceilMode: true }),
        nn.dropout3d({ p: 0.2 }),
        nn.conv3d({
          inChannels: 4,
          outChannels: 4,
          kernelSize: 3,
          padding: 1,
          groups: 2,
          paddingMode: "reflect",
        }),
        nn.avgPool3d({
          kernelSize: [2, 1, 2],
          padding: [1, 0, 0],
          countIncludePad: false,
        }),
        nn.instanceNorm3d({ numFeatures: 4, affine: true }),
        nn.adaptiveMaxPool3d({ outputSize: [2, null, 1] }),
        nn.adaptiveAvgPool3d({ outputSize: [1, 2, 1] }),
      ),
      [2, 2, 5, 9, 8],
    ],
    [
      "3-D upsampling: convTranspose3d (stride 2; outputPadding, groups, dilation), trilinear and nearest upsample",
      seq(
        nn.convTranspose3d({
          inChannels: 2,
          outChannels: 4,
          kernelSize: 2,
          stride: 2,
        }),
        nn.relu,
        nn.convTranspose3d({
          inChannels: 4,
          outChannels: 2,
          kernelSize: [3, 1, 3],
          stride: [2, 1, 2],
          padding: [1, 0, 1],
          outputPadding: [1, 0, 0],
          dilation: [1, 2, 1],
          groups: 2,
        }),
        nn.upsample({ scaleFactor: [1, 1.5, 0.5], mode: "trilinear" }),
        nn.upsample({ size: [5, 4, 7] }),
      ),
      [2, 2, 2, 3, 3],
    ],
    [
      "unfold then fold (col2im)",
      seq(
        nn.unfold({ kernelSize: [2, 3], padding: 1, stride: [1, 2] }),
        nn.fold({
          outputSize: [5, 6],
          kernelSize: [2, 3],
          padding: 1,
          stride: [1, 2],
        }),
      ),
      [2, 3, 5, 6],
    ],
    [
      "channelShuffle (ShuffleNet's), alphaDropout, featureAlphaDropout, dropout1d",
      seq(
        nn.conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, groups: 3 }),
        nn.channelShuffle({ groups: 3 }),
        nn.selu,
        nn.alphaDropout({ p: 0.2 }),
        nn.featureAlphaDropout({ p: 0.1 }),
        nn.flatten({ startDim: 2 }),
        nn.dropout1d({ p: 0.3 }),
        nn.channelShuffle({ groups: 2 }),
      ),
      [2, 3, 7, 7],
    ],
    [
      "torchvision's ResNet-18 (10 classes): BasicBlocks with residual sums and downsampling",
      nn.resnet18({ numClasses: 10 }),
      [2, 3, 32, 32],
    ],
    [
      "torchvision's MobileNetV2 (10 classes): inverted residuals, depthwise convolutions, ReLU6",
      nn.mobilenetV2({ numClasses: 10 }),
      [2, 3, 32, 32],
    ],
    [
      "torchvision's SqueezeNet 1.1 (10 classes): Fire modules joined along the channels",
      nn.squeezenet1_1({ numClasses: 10 }),
      [2, 3, 32, 32],
    ],
    [
      "torchvision's DenseNet-121 (10 classes): dense blocks joined along the channels, transitions",
      nn.densenet121({ numClasses: 10 }),
      [2, 3, 32, 32],
    ],
    [
      "weight normalisation: conv2d (dim 0) and linear (one magnitude)",
      seq(
        nn.weightNorm(
          nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
        ),
        nn.relu,
        nn.flatten(),
        nn.weightNorm(nn.linear({ inFeatures: 18, outFeatures: 4 }), {
          dim: null,
        }),
      ),
      [2, 1, 5, 5],
    ],
    [
      "rrelu in inference (leaky with the mean slope)",
      seq(
        nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
        nn.rrelu({ lower: 0.1, upper: 0.3 }),
        nn.flatten(),
        nn.linear({ inFeatures: 18, outFeatures: 4 }),
        nn.rrelu(),
      ),
      [2, 1, 5, 5],
    ],
    [
      "3-D paddings: constant, reflection and replication around conv3d",
      seq(
        nn.constantPad3d([1, 2, 0, 1, 2, 0], 3.5),
        nn.conv3d({ inChannels: 2, outChannels: 3, kernelSize: 2 }),
        nn.reflectionPad3d(1),
        nn.replicationPad3d([0, 1, 1, 0, 2, 1]),
      ),
      [2, 2, 3, 4, 5],
    ],
    [
      "recurrent: a bidirectional batch-first LSTM, a 2-layer relu RNN and a GRU over the sequence",
      seq(
        nn.lstm({
          inputSize: 3,
          hiddenSize: 4,
          batchFirst: true,
          bidirectional: true,
        }),
        nn.rnn({
          inputSize: 8,
          hiddenSize: 3,
          batchFirst: true,
          numLayers: 2,
          nonlinearity: "relu",
        }),
        nn.gru({ inputSize: 3, hiddenSize: 2, batchFirst: true }),
        nn.flatten(),
      ),
      [2, 5, 3],
    ],
    [
      "attention: a transformer encoder layer (post-norm, relu) and multi-head self-attention",
      seq(
        nn.transformerEncoderLayer({
          dModel: 8,
          nhead: 2,
          dimFeedforward: 16,
          batchFirst: true,
        }),
        nn.multiheadAttention({ embedDim: 8, numHeads: 4, batchFirst: true }),
        nn.flatten(),
      ),
      [2, 5, 8],
    ],
    [
      "UpsamplingBilinear2d, UpsamplingNearest2d and Softmax2d (a segmentation head)",
      seq(
        nn.conv2d({ inChannels: 1, outChannels: 3, kernelSize: 3, padding: 1 }),
        nn.upsamplingBilinear2d({ scaleFactor: 2 }),
        nn.upsamplingNearest2d({ size: [10, 9] }),
        nn.softmax2d,
      ),
      [2, 1, 4, 4],
    ],
    [
      "upsample bicubic (SRCNN's input) and nearest-exact, area down",
      seq(
        nn.upsample({ scaleFactor: [2, 1.5], mode: "bicubic" }),
        nn.conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3 }),
        nn.upsample({ size: [9, 5], mode: "bicubic", alignCorners: true }),
        nn.upsample({ scaleFactor: 1.5, mode: "nearest-exact" }),
        nn.upsample({ size: [4, 3], mode: "area" }),
      ),
      [2, 2, 5, 4],
    ],
  ];
}

/**
 * Params (key 1) and state for `net`: running statistics moved away from 0
 * and 1 by a training step, so that exporting them is tested.
 */
export function paramsAndState(
  net: AnyLayer,
  shape: number[],
): { params: unknown; state: unknown } {
  // one init per model and shape in a process (VGG16's takes seconds)
  const memoKey = `${net.info.repr} ${shape}`;
  const memo = made.get(memoKey);
  if (memo) return memo;
  const made1 = initialised(net, shape);
  made.set(memoKey, made1);
  return made1;
}

const made = new Map<string, { params: unknown; state: unknown }>();

/**
 * Params for the export checks: `init` (key 1), except for models of more
 * than 10M parameters (VGG16: 138M, whose torchvision init draws 138M
 * normals, about 16 s): a block of 4099 uniform values in [-1, 1),
 * repeated and scaled by 1/sqrt(fan-in). The checks need varied weights of
 * the right shapes, not the init.
 */
function paramsFor(net: AnyLayer): unknown {
  if (nn.paramCount(net) <= 1e7) return net.init(random.key(1));
  const block = random.uniform(random.key(1), [4099], { minval: -1 }).data;
  const leaf = (p: T.nn.ParamSpec): Tensor => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const scale = 1 / Math.sqrt(Math.max(1, n / p.shape[0]));
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = block[i % 4099] * scale;
    return T.tensor(data, { shape: [...p.shape] });
  };
  const walk = (t: T.nn.SpecTree): unknown =>
    Array.isArray(t)
      ? t.map(walk)
      : "shape" in t && "dtype" in t
      ? leaf(t as T.nn.ParamSpec)
      : Object.fromEntries(
        Object.entries(t as Record<string, T.nn.SpecTree>).map((
          [k, v],
        ) => [k, walk(v)]),
      );
  return walk(net.info.params);
}

function initialised(
  net: AnyLayer,
  shape: number[],
): { params: unknown; state: unknown } {
  const params = paramsFor(net);
  const state = net.info.hasState
    ? net.applyWithState(
      params,
      net.initState(),
      T.add(T.mul(random.normal(random.key(4), shape), 3), 1),
      // (a key for the dropout layers of a model that also has state)
      { training: true, key: random.key(5) },
    ).state
    : undefined;
  return { params, state };
}

/** The exported bytes of a case. */
export function exportCase(net: AnyLayer, shape: number[]): Uint8Array {
  const { params, state } = paramsAndState(net, shape);
  return nn.toOnnx(net, params, { inputShape: shape, state });
}

export type { Tensor };
