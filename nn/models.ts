/**
 * The models of the PyTorch tutorials the examples follow: LeNet-5 (the `Net`
 * of the LeNet-5 MNIST tutorial), the SimpleFCN and SimpleCNN of the PyTorch
 * basics tutorial, the bird/plane CNN of the CIFAR-10 bird/plane tutorial and
 * torchvision's VGG16.
 *
 * @module
 */
import { mul } from "../ops/elementwise.ts";
import { type Key, normal, split, uniform } from "../ops/random.ts";
import { ones, type Tensor, zeros } from "../ops/tensor.ts";
import {
  type Tree,
  treeFlatten,
  treePaths,
  treeUnflatten,
} from "../ops/tree.ts";
import {
  model,
  type ModelParams,
  type ModelState,
  sequential,
  type SequentialParams,
  type SequentialState,
} from "./containers.ts";
import type {
  AnyLayer,
  EmptyState,
  Layer,
  LeafLayer,
  LeafParams,
  ParamSpec,
} from "./layer.ts";
import {
  adaptiveAvgPool2d,
  avgPool2d,
  batchNorm2d,
  conv2d,
  dropout,
  flatten,
  type FloatDType,
  floatDType,
  linear,
  maxPool2d,
  relu,
  relu6,
  tanh,
} from "./layers.ts";
import { checkOptions, describe, positiveInt } from "./_util.ts";

/**
 * A model's options, checked before any layer is built, so that an error
 * names the model and its option (`nn.resnet18: numClasses ...`), not the
 * layer it would have reached.
 */
function modelOptions<
  O extends { numClasses?: number; dropout?: number; dtype?: FloatDType },
>(fn: string, options: O | undefined, known: readonly string[]): O {
  const o = checkOptions(fn, options, known) as O;
  if (o.numClasses !== undefined) positiveInt(fn, "numClasses", o.numClasses);
  const p: unknown = o.dropout;
  if (p !== undefined && !(typeof p === "number" && p >= 0 && p <= 1)) {
    throw new Error(
      `${fn}: dropout must be a probability in [0, 1], got ${
        typeof p === "number" ? p : describe(p)
      }`,
    );
  }
  if (o.dtype !== undefined) floatDType(fn, o.dtype);
  return o;
}

/**
 * Options of the tutorial models: {@linkcode lenet5}, {@linkcode simpleFCN},
 * {@linkcode simpleCNN} and {@linkcode birdPlaneNet}.
 */
export interface SeedModelOptions {
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/** Children of {@linkcode lenet5}. */
export type LeNet5Layers = {
  conv1: LeafLayer;
  conv2: LeafLayer;
  fc1: LeafLayer;
  fc2: LeafLayer;
  fc3: LeafLayer;
};

/**
 * LeNet-5 as the LeNet-5 MNIST tutorial's `Net`: input `[N, 1, 32, 32]`;
 * conv1 6@5x5 → ReLU → 2x2 max pool → conv2 16@5x5 → ReLU → 2x2 max pool →
 * flatten (400) → fc1 120 → ReLU → fc2 84 → ReLU → fc3 10 (logits). A named
 * model with children `conv1 conv2 fc1 fc2 fc3` (the pools and ReLUs are
 * functional, as `F.relu` / `F.max_pool2d` in the tutorial), so its 10
 * parameter tensors are named as the tutorial's state_dict (`conv1.weight`,
 * ...) and its repr is the tutorial's `print(net)`; 61,706 parameters.
 *
 * @example
 * ```ts
 * import { nn, random, treePaths, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.lenet5();
 * const params = net.init(random.key(0));
 * assert.equal(treePaths(params).length, 10);
 * assert.deepEqual(params.conv1.weight.shape, [6, 1, 5, 5]);
 * assert.deepEqual(net.apply(params, zeros([2, 1, 32, 32])).shape, [2, 10]);
 * ```
 */
export function lenet5(
  options?: SeedModelOptions,
): Layer<ModelParams<LeNet5Layers>, ModelState<LeNet5Layers>> {
  options = modelOptions("nn.lenet5", options, ["dtype"]);
  const { dtype } = options;
  const pool = maxPool2d({ kernelSize: 2 });
  const flat = flatten();
  return model(
    {
      conv1: conv2d({ inChannels: 1, outChannels: 6, kernelSize: 5, dtype }),
      conv2: conv2d({ inChannels: 6, outChannels: 16, kernelSize: 5, dtype }),
      fc1: linear({ inFeatures: 16 * 5 * 5, outFeatures: 120, dtype }),
      fc2: linear({ inFeatures: 120, outFeatures: 84, dtype }),
      fc3: linear({ inFeatures: 84, outFeatures: 10, dtype }),
    },
    (m, input) => {
      const c1 = m.call(relu, m.conv1(input)); // [N, 6, 28, 28]
      const s2 = m.call(pool, c1); // [N, 6, 14, 14]
      const c3 = m.call(relu, m.conv2(s2)); // [N, 16, 10, 10]
      const s4 = m.call(pool, c3); // [N, 16, 5, 5]
      const f = m.call(flat, s4); // [N, 400]
      const f5 = m.call(relu, m.fc1(f)); // [N, 120]
      const f6 = m.call(relu, m.fc2(f5)); // [N, 84]
      return m.fc3(f6); // [N, 10]
    },
    { name: "Net" },
  );
}

/** Children of {@linkcode simpleFCN}. */
export type SimpleFCNLayers = { fc1: LeafLayer; fc2: LeafLayer };

/**
 * The PyTorch basics tutorial's `SimpleFCN`: a 4x4 RGB image `[N, 3, 4, 4]`
 * flattened to 48 features → fc1 2 → ReLU → fc2 3 (logits); 107 parameters.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.simpleFCN();
 * assert.equal(nn.paramCount(net), 48 * 2 + 2 + 2 * 3 + 3);
 * assert.deepEqual(net.apply(net.init(random.key(0)), zeros([1, 3, 4, 4])).shape, [1, 3]);
 * ```
 */
export function simpleFCN(
  options?: SeedModelOptions,
): Layer<ModelParams<SimpleFCNLayers>, ModelState<SimpleFCNLayers>> {
  options = modelOptions("nn.simpleFCN", options, ["dtype"]);
  const { dtype } = options;
  const flat = flatten();
  return model(
    {
      fc1: linear({ inFeatures: 4 * 4 * 3, outFeatures: 2, dtype }),
      fc2: linear({ inFeatures: 2, outFeatures: 3, dtype }),
    },
    (m, x) => {
      x = m.call(flat, x); // x.view(-1, 4 * 4 * 3)
      x = m.call(relu, m.fc1(x));
      return m.fc2(x);
    },
    { name: "SimpleFCN" },
  );
}

/** Children of {@linkcode simpleCNN}. */
export type SimpleCNNLayers = {
  conv1: LeafLayer;
  conv2: LeafLayer;
  pool: LeafLayer;
  fc: LeafLayer;
};

/**
 * The PyTorch basics tutorial's `SimpleCNN` for 32x32 RGB images: conv1
 * 3→16 (3x3, padding 1) → ReLU → pool → conv2 16→32 (3x3, padding 1) → ReLU
 * → pool → flatten (32·8·8 = 2048) → fc 10. `pool` is a registered
 * `MaxPool2d(2, 2)` used twice, as in the tutorial; 25,578 parameters.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.simpleCNN();
 * assert.equal(nn.paramCount(net), 25578);
 * assert.deepEqual(net.apply(net.init(random.key(0)), zeros([2, 3, 32, 32])).shape, [2, 10]);
 * ```
 */
export function simpleCNN(
  options?: SeedModelOptions,
): Layer<ModelParams<SimpleCNNLayers>, ModelState<SimpleCNNLayers>> {
  options = modelOptions("nn.simpleCNN", options, ["dtype"]);
  const { dtype } = options;
  const flat = flatten();
  return model(
    {
      conv1: conv2d({
        inChannels: 3,
        outChannels: 16,
        kernelSize: 3,
        padding: 1,
        dtype,
      }),
      conv2: conv2d({
        inChannels: 16,
        outChannels: 32,
        kernelSize: 3,
        padding: 1,
        dtype,
      }),
      pool: maxPool2d({ kernelSize: 2, stride: 2 }),
      fc: linear({ inFeatures: 32 * 8 * 8, outFeatures: 10, dtype }),
    },
    (m, x) => {
      x = m.pool(m.call(relu, m.conv1(x))); // [N, 16, 16, 16]
      x = m.pool(m.call(relu, m.conv2(x))); // [N, 32, 8, 8]
      x = m.call(flat, x); // x.view(-1, 32 * 8 * 8)
      return m.fc(x);
    },
    { name: "SimpleCNN" },
  );
}

/** Layers of {@linkcode birdPlaneNet}. */
export type BirdPlaneLayers = readonly [
  LeafLayer,
  LeafLayer,
  LeafLayer,
  LeafLayer,
  LeafLayer,
  LeafLayer,
  LeafLayer,
  LeafLayer,
  LeafLayer,
  LeafLayer,
];

/**
 * The CIFAR-10 bird/plane tutorial's classifier for 32x32 RGB images of its
 * two classes, an `nn.Sequential`: conv 3→16 (3x3, padding 1) → Tanh → max
 * pool 2 → conv 16→8 (3x3, padding 1) → Tanh → max pool 2 → flatten (512) →
 * linear 32 → Tanh → linear 2. Parameter tensors of 432, 16, 1152, 8, 16384,
 * 32, 64 and 2 values: 18,090.
 *
 * @example
 * ```ts
 * import { nn, random, treeLeaves, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.birdPlaneNet();
 * const params = net.init(random.key(0));
 * assert.equal(nn.paramCount(params), 18090);
 * assert.deepEqual(net.apply(params, zeros([4, 3, 32, 32])).shape, [4, 2]);
 * ```
 */
export function birdPlaneNet(
  options?: SeedModelOptions,
): Layer<SequentialParams<BirdPlaneLayers>, SequentialState<BirdPlaneLayers>> {
  options = modelOptions("nn.birdPlaneNet", options, ["dtype"]);
  const { dtype } = options;
  return sequential(
    conv2d({
      inChannels: 3,
      outChannels: 16,
      kernelSize: 3,
      padding: 1,
      dtype,
    }),
    tanh,
    maxPool2d({ kernelSize: 2 }),
    conv2d({
      inChannels: 16,
      outChannels: 8,
      kernelSize: 3,
      padding: 1,
      dtype,
    }),
    tanh,
    maxPool2d({ kernelSize: 2 }),
    flatten(),
    linear({ inFeatures: 8 * 8 * 8, outFeatures: 32, dtype }),
    tanh,
    linear({ inFeatures: 32, outFeatures: 2, dtype }),
  );
}

/** Options of {@linkcode vgg16}. */
export interface Vgg16Options {
  /** Size of the last linear layer. Default 1000 (ImageNet). */
  numClasses?: number;
  /** Dropout probability of the classifier. Default 0.5. */
  dropout?: number;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/** Children of {@linkcode vgg16}. */
export type Vgg16Layers = {
  features: Layer<LeafParams[], EmptyState[]>;
  avgpool: LeafLayer;
  classifier: Layer<LeafParams[], EmptyState[]>;
};

/**
 * torchvision's VGG16 (configuration "D", no batch norm): `features` (13
 * 3x3 convolutions with padding 1 and ReLU, five 2x2 max pools), `avgpool`
 * (adaptive, to 7x7), flatten, `classifier` (Linear 25088→4096, ReLU,
 * Dropout, Linear 4096→4096, ReLU, Dropout, Linear 4096→numClasses). State
 * dict keys as torchvision's (`features.0.weight`, `classifier.6.bias`);
 * 138,357,544 parameters for 1000 classes. `init` follows torchvision:
 * convolution weights normal with std `sqrt(2 / fanOut)` (kaiming, fan-out,
 * ReLU), linear weights normal with std 0.01, biases zero. Its `summary`
 * needs no allocation; `init` allocates 553 MB (float32).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.vgg16();
 * assert.equal(nn.paramCount(net), 138357544);
 * assert.deepEqual(net.info.outputShape([1, 3, 224, 224]), [1, 1000]);
 * assert.match(nn.summary(net, [1, 3, 224, 224]), /Total params: 138,357,544/);
 * assert.equal(nn.paramCount(nn.vgg16({ numClasses: 10 })), 138357544 - 4096 * 990 - 990);
 * ```
 */
export function vgg16(
  options?: Vgg16Options,
): Layer<ModelParams<Vgg16Layers>, ModelState<Vgg16Layers>> {
  return vgg("nn.vgg16", "D", false, options);
}

/** torchvision's VGG configurations: channels per convolution, 0 for a 2x2 max pool. */
const VGG_CFGS = {
  A: [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
  B: [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
  D: [
    64,
    64,
    0,
    128,
    128,
    0,
    256,
    256,
    256,
    0,
    512,
    512,
    512,
    0,
    512,
    512,
    512,
    0,
  ],
  E: [
    64,
    64,
    0,
    128,
    128,
    0,
    256,
    256,
    256,
    256,
    0,
    512,
    512,
    512,
    512,
    0,
    512,
    512,
    512,
    512,
    0,
  ],
} as const;

/** torchvision's VGG of configuration `cfg`, with batch norm after each convolution when `bn`. */
function vgg(
  fn: string,
  cfg: keyof typeof VGG_CFGS,
  bn: boolean,
  options: Vgg16Options | undefined,
): Layer<ModelParams<Vgg16Layers>, ModelState<Vgg16Layers>> {
  options = modelOptions(fn, options, ["numClasses", "dropout", "dtype"]);
  const { numClasses = 1000, dropout: p = 0.5, dtype } = options;
  const features: AnyLayer[] = [];
  let c = 3;
  for (const v of VGG_CFGS[cfg]) {
    if (v === 0) features.push(maxPool2d({ kernelSize: 2, stride: 2 }));
    else {
      features.push(
        conv2d({
          inChannels: c,
          outChannels: v,
          kernelSize: 3,
          padding: 1,
          dtype,
        }),
        ...(bn ? [batchNorm2d({ numFeatures: v, dtype }) as AnyLayer] : []),
        relu,
      );
      c = v;
    }
  }
  const flat = flatten();
  const base = model(
    {
      features: sequential(...features) as Layer<LeafParams[], EmptyState[]>,
      avgpool: adaptiveAvgPool2d({ outputSize: [7, 7] }),
      classifier: sequential(
        linear({ inFeatures: 512 * 7 * 7, outFeatures: 4096, dtype }),
        relu,
        dropout({ p }),
        linear({ inFeatures: 4096, outFeatures: 4096, dtype }),
        relu,
        dropout({ p }),
        linear({ inFeatures: 4096, outFeatures: numClasses, dtype }),
      ) as Layer<LeafParams[], EmptyState[]>,
    },
    (m, x) => m.classifier(m.call(flat, m.avgpool(m.features(x)))),
    { name: "VGG" },
  );
  // torchvision's VGG._initialize_weights, layer by layer
  const initSequential = (key: Key, layer: AnyLayer): LeafParams[] => {
    const specs = layer.info.params as Readonly<Record<string, ParamSpec>>[];
    const keys = split(key, specs.length);
    return specs.map((s, i) => {
      if (!s.weight) return {};
      const w = s.weight;
      if (w.shape.length === 1) { // batch norm: ones and zeros
        return {
          weight: ones(w.shape, { dtype: w.dtype }),
          bias: zeros(w.shape, { dtype: w.dtype }),
        };
      }
      const std = w.shape.length === 4
        ? Math.sqrt(2 / (w.shape[0] * w.shape[2] * w.shape[3])) // fan_out, ReLU gain
        : 0.01;
      const out: Record<string, Tensor> = {
        weight: mul(normal(keys[i], w.shape, { dtype: w.dtype }), std),
      };
      if (s.bias) out.bias = zeros(s.bias.shape, { dtype: s.bias.dtype });
      return out;
    });
  };
  const children = Object.fromEntries(base.info.children);
  return Object.freeze({
    ...base,
    init: (key: Key) => {
      const [kf, kc] = split(key);
      return {
        features: initSequential(kf, children.features),
        avgpool: {},
        classifier: initSequential(kc, children.classifier),
      };
    },
  });
}

/**
 * torchvision's VGG11 (configuration "A"), otherwise as {@linkcode vgg16};
 * 132,863,336 parameters for 1000 classes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.vgg11()), 132863336);
 * ```
 */
export function vgg11(options?: Vgg16Options): AnyLayer {
  return vgg("nn.vgg11", "A", false, options) as AnyLayer;
}

/**
 * torchvision's VGG13 (configuration "B"); 133,047,848 parameters.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.vgg13()), 133047848);
 * ```
 */
export function vgg13(options?: Vgg16Options): AnyLayer {
  return vgg("nn.vgg13", "B", false, options) as AnyLayer;
}

/**
 * torchvision's VGG19 (configuration "E"); 143,667,240 parameters.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.vgg19()), 143667240);
 * ```
 */
export function vgg19(options?: Vgg16Options): AnyLayer {
  return vgg("nn.vgg19", "E", false, options) as AnyLayer;
}

/**
 * torchvision's VGG16 with batch norm after each convolution (`vgg16_bn`);
 * 138,365,992 parameters.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.vgg16Bn()), 138365992);
 * ```
 */
export function vgg16Bn(options?: Vgg16Options): AnyLayer {
  return vgg("nn.vgg16Bn", "D", true, options) as AnyLayer;
}

/**
 * `base` whose `init` re-draws each param with `draw(path, param, key)`, a
 * key per param (torchvision's per-module init, applied after the layers'
 * own).
 */
function reinit(
  base: AnyLayer,
  draw: (path: string, w: Tensor, key: Key) => Tensor,
): AnyLayer {
  return Object.freeze({
    ...base,
    init: (key: Key) => {
      const [kb, kc] = split(key);
      const tree = base.init(kb) as Tree;
      const [leaves, def] = treeFlatten(tree);
      const paths = treePaths(tree).map(([q]) => q);
      const keys = split(kc, leaves.length);
      return treeUnflatten(
        def,
        leaves.map((w, i) => draw(paths[i], w, keys[i])),
      );
    },
  }) as AnyLayer;
}

/** Normal draws of `w`'s shape with deviation `std`. */
const normalLike = (w: Tensor, key: Key, std: number) =>
  mul(normal(key, w.shape, { dtype: w.dtype }), std);

/** A 4-D convolution weight's fan out (out channels times the kernel) and fan in. */
const fanOut = (w: Tensor) => w.shape[0] * w.shape[2] * w.shape[3];
const fanIn = (w: Tensor) => w.shape[1] * w.shape[2] * w.shape[3];

/** Options of {@linkcode resnet18} and {@linkcode resnet34}. */
export interface ResNetOptions {
  /** Size of the last linear layer. Default 1000 (ImageNet). */
  numClasses?: number;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * torchvision's BasicBlock: two 3x3 convolutions (no bias) with batch norm,
 * ReLU between and after, the input added back before the last ReLU (through
 * a 1x1 convolution and batch norm, `downsample`, when the stride or the
 * width changes).
 */
function basicBlock(
  inC: number,
  outC: number,
  stride: number,
  dtype: FloatDType | undefined,
): AnyLayer {
  const conv = (i: number, o: number, k: number, s: number) =>
    conv2d({
      inChannels: i,
      outChannels: o,
      kernelSize: k,
      stride: s,
      padding: k === 3 ? 1 : 0,
      bias: false,
      dtype,
    });
  const down = stride !== 1 || inC !== outC;
  const children: Record<string, AnyLayer> = {
    conv1: conv(inC, outC, 3, stride),
    bn1: batchNorm2d({ numFeatures: outC, dtype }),
    conv2: conv(outC, outC, 3, 1),
    bn2: batchNorm2d({ numFeatures: outC, dtype }),
    ...(down
      ? {
        downsample: sequential(
          conv(inC, outC, 1, stride),
          batchNorm2d({ numFeatures: outC, dtype }),
        ),
      }
      : {}),
  };
  return model(children, (m, x) => {
    const out = m.bn2(m.conv2(m.call(relu, m.bn1(m.conv1(x)))));
    return m.call(relu, m.add(out, down ? m.downsample(x) : x));
  }, { name: "BasicBlock" }) as AnyLayer;
}

/**
 * torchvision's Bottleneck (ResNet v1.5): a 1x1 convolution to `width`, a
 * 3x3 one with the stride, a 1x1 one to `4·width`, each with batch norm
 * and the ReLUs between, the input added back (through `downsample` when
 * the stride or the width changes) before the last ReLU.
 */
function bottleneck(
  inC: number,
  planes: number,
  stride: number,
  dtype: FloatDType | undefined,
  groups = 1,
  baseWidth = 64,
): AnyLayer {
  // torchvision: width = planes · baseWidth / 64 · groups; output 4 · planes
  const width = Math.floor(planes * (baseWidth / 64)) * groups;
  const conv = (i: number, o: number, k: number, s: number) =>
    conv2d({
      inChannels: i,
      outChannels: o,
      kernelSize: k,
      stride: s,
      padding: k === 3 ? 1 : 0,
      bias: false,
      dtype,
    });
  const outC = 4 * planes;
  const down = stride !== 1 || inC !== outC;
  const bn = (c: number) => batchNorm2d({ numFeatures: c, dtype });
  const children: Record<string, AnyLayer> = {
    conv1: conv(inC, width, 1, 1),
    bn1: bn(width),
    conv2: conv2d({
      inChannels: width,
      outChannels: width,
      kernelSize: 3,
      stride,
      padding: 1,
      groups,
      bias: false,
      dtype,
    }),
    bn2: bn(width),
    conv3: conv(width, outC, 1, 1),
    bn3: bn(outC),
    ...(down
      ? { downsample: sequential(conv(inC, outC, 1, stride), bn(outC)) }
      : {}),
  };
  return model(children, (m, x) => {
    let out = m.call(relu, m.bn1(m.conv1(x)));
    out = m.call(relu, m.bn2(m.conv2(out)));
    out = m.bn3(m.conv3(out));
    return m.call(relu, m.add(out, down ? m.downsample(x) : x));
  }, { name: "Bottleneck" }) as AnyLayer;
}

/** torchvision's ResNet with BasicBlocks (or Bottlenecks), `blocks` per stage; init as torchvision's. */
function basicResNet(
  fn: string,
  blocks: readonly number[],
  options: ResNetOptions | undefined,
  bottlenecks = false,
  groups = 1,
  baseWidth = 64,
): AnyLayer {
  options = modelOptions(fn, options, ["numClasses", "dtype"]);
  const { numClasses = 1000, dtype } = options;
  let c = 64;
  const stage = (width: number, n: number, stride: number) => {
    const layers = Array.from({ length: n }, (_, i) => {
      const s = i === 0 ? stride : 1;
      const b = bottlenecks
        ? bottleneck(c, width, s, dtype, groups, baseWidth)
        : basicBlock(c, width, s, dtype);
      c = bottlenecks ? 4 * width : width;
      return b;
    });
    return sequential(...layers) as AnyLayer;
  };
  const base = model({
    conv1: conv2d({
      inChannels: 3,
      outChannels: 64,
      kernelSize: 7,
      stride: 2,
      padding: 3,
      bias: false,
      dtype,
    }),
    bn1: batchNorm2d({ numFeatures: 64, dtype }),
    maxpool: maxPool2d({ kernelSize: 3, stride: 2, padding: 1 }),
    layer1: stage(64, blocks[0], 1),
    layer2: stage(128, blocks[1], 2),
    layer3: stage(256, blocks[2], 2),
    layer4: stage(512, blocks[3], 2),
    avgpool: adaptiveAvgPool2d({ outputSize: [1, 1] }),
    fc: linear({
      inFeatures: bottlenecks ? 2048 : 512,
      outFeatures: numClasses,
      dtype,
    }),
  }, (m, x) => {
    x = m.maxpool(m.call(relu, m.bn1(m.conv1(x))));
    x = m.layer4(m.layer3(m.layer2(m.layer1(x))));
    return m.fc(m.call(flatten(), m.avgpool(x)));
  }, { name: "ResNet" });
  // torchvision's init: convolutions kaiming normal (fan out, ReLU), the rest as built
  return reinit(
    base as AnyLayer,
    (_, w, k) =>
      w.shape.length === 4 ? normalLike(w, k, Math.sqrt(2 / fanOut(w))) : w,
  );
}

/**
 * torchvision's ResNet-18 (`torchvision.models.resnet18`): a 7x7 stride-2
 * convolution, batch norm, ReLU, 3x3 max pooling, four stages of two
 * BasicBlocks (64, 128, 256, 512 channels, the last three halving the
 * size), global average pooling and a linear layer. State dict keys as
 * torchvision's (`layer2.0.downsample.0.weight`, `fc.bias`); 11,689,512
 * parameters for 1000 classes; init as torchvision's. Residual sums are
 * `m.add`, so `toTorch` writes them.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.resnet18();
 * assert.equal(nn.paramCount(net), 11689512);
 * assert.deepEqual(net.info.outputShape([2, 3, 224, 224]), [2, 1000]);
 * ```
 */
export function resnet18(options?: ResNetOptions): AnyLayer {
  return basicResNet("nn.resnet18", [2, 2, 2, 2], options);
}

/**
 * torchvision's ResNet-34: as {@linkcode resnet18} with 3, 4, 6 and 3
 * BasicBlocks per stage; 21,797,672 parameters for 1000 classes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.resnet34({ numClasses: 10 })), 21797672 - 512 * 990 - 990);
 * ```
 */
export function resnet34(options?: ResNetOptions): AnyLayer {
  return basicResNet("nn.resnet34", [3, 4, 6, 3], options);
}

/**
 * torchvision's ResNet-50 (v1.5): four stages of 3, 4, 6 and 3 Bottleneck
 * blocks (widths 64 to 512, outputs 256 to 2048 channels, the stride on the
 * 3x3 convolution), otherwise as {@linkcode resnet18}; 25,557,032
 * parameters for 1000 classes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.resnet50()), 25557032);
 * ```
 */
export function resnet50(options?: ResNetOptions): AnyLayer {
  return basicResNet("nn.resnet50", [3, 4, 6, 3], options, true);
}

/** Options of {@linkcode mobilenetV2}: those of the classic nets (its dropout's default 0.2). */
export type MobileNetV2Options = ClassicNetOptions;

/**
 * torchvision's MobileNetV2 (width 1): a stride-2 3x3 convolution to 32
 * channels, seventeen inverted residual blocks (a 1x1 expansion by t, a 3x3
 * depthwise convolution with the stride, a linear 1x1 projection, each
 * with batch norm and ReLU6 but the last, the input added back when the
 * shape is kept), a 1x1 convolution to 1280 channels, global average
 * pooling, dropout and a linear layer. State dict keys as torchvision's
 * (`features.2.conv.1.0.weight`, `classifier.1.bias`); 3,504,872 parameters
 * for 1000 classes; init as torchvision's (convolutions kaiming normal, fan
 * out; the linear layer normal with std 0.01, zero bias).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.mobilenetV2();
 * assert.equal(nn.paramCount(net), 3504872);
 * assert.deepEqual(net.info.outputShape([1, 3, 224, 224]), [1, 1000]);
 * ```
 */
export function mobilenetV2(options?: MobileNetV2Options): AnyLayer {
  const fn = "nn.mobilenetV2";
  options = modelOptions(fn, options, ["numClasses", "dropout", "dtype"]);
  const { numClasses = 1000, dropout: p = 0.2, dtype } = options;
  const convBnRelu6 = (i: number, o: number, k: number, s = 1, groups = 1) =>
    sequential(
      conv2d({
        inChannels: i,
        outChannels: o,
        kernelSize: k,
        stride: s,
        padding: (k - 1) / 2,
        groups,
        bias: false,
        dtype,
      }),
      batchNorm2d({ numFeatures: o, dtype }),
      relu6,
    ) as AnyLayer;
  const invertedResidual = (inp: number, oup: number, s: number, t: number) => {
    const hidden = Math.round(inp * t);
    const layers: AnyLayer[] = [
      ...(t !== 1 ? [convBnRelu6(inp, hidden, 1)] : []),
      convBnRelu6(hidden, hidden, 3, s, hidden),
      conv2d({
        inChannels: hidden,
        outChannels: oup,
        kernelSize: 1,
        bias: false,
        dtype,
      }),
      batchNorm2d({ numFeatures: oup, dtype }),
    ];
    const residual = s === 1 && inp === oup;
    return model(
      { conv: sequential(...layers) as AnyLayer },
      (m, x) => (residual ? m.add(x, m.conv(x)) : m.conv(x)),
      { name: "InvertedResidual" },
    ) as AnyLayer;
  };
  const features: AnyLayer[] = [convBnRelu6(3, 32, 3, 2)];
  let c = 32;
  for (
    const [t, out, n, s] of [
      [1, 16, 1, 1],
      [6, 24, 2, 2],
      [6, 32, 3, 2],
      [6, 64, 4, 2],
      [6, 96, 3, 1],
      [6, 160, 3, 2],
      [6, 320, 1, 1],
    ]
  ) {
    for (let i = 0; i < n; i++) {
      features.push(invertedResidual(c, out, i === 0 ? s : 1, t));
      c = out;
    }
  }
  features.push(convBnRelu6(c, 1280, 1));
  const pool = adaptiveAvgPool2d({ outputSize: [1, 1] });
  const base = model(
    {
      features: sequential(...features) as AnyLayer,
      classifier: sequential(
        dropout({ p }),
        linear({ inFeatures: 1280, outFeatures: numClasses, dtype }),
      ) as AnyLayer,
    },
    (m, x) => m.classifier(m.call(flatten(), m.call(pool, m.features(x)))),
    {
      name: "MobileNetV2",
    },
  );
  // torchvision's init: convolutions kaiming normal (fan out), linear N(0, 0.01²), zero bias
  return reinit(base as AnyLayer, (path, w, k) => {
    if (w.shape.length === 4) return normalLike(w, k, Math.sqrt(2 / fanOut(w)));
    if (!path.startsWith("classifier.")) return w;
    return w.shape.length === 2
      ? normalLike(w, k, 0.01)
      : zeros(w.shape, { dtype: w.dtype });
  });
}

/**
 * torchvision's ResNet-101: as {@linkcode resnet50} with 3, 4, 23 and 3
 * Bottleneck blocks; 44,549,160 parameters for 1000 classes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.resnet101()), 44549160);
 * ```
 */
export function resnet101(options?: ResNetOptions): AnyLayer {
  return basicResNet("nn.resnet101", [3, 4, 23, 3], options, true);
}

/**
 * torchvision's ResNet-152: as {@linkcode resnet50} with 3, 8, 36 and 3
 * Bottleneck blocks; 60,192,808 parameters for 1000 classes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.resnet152()), 60192808);
 * ```
 */
export function resnet152(options?: ResNetOptions): AnyLayer {
  return basicResNet("nn.resnet152", [3, 8, 36, 3], options, true);
}

/**
 * torchvision's ResNeXt-50 32x4d: {@linkcode resnet50} whose 3x3
 * convolutions have 32 groups of 4 channels per 64 (twice ResNet-50's
 * width); 25,028,904 parameters for 1000 classes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.resnext50_32x4d()), 25028904);
 * ```
 */
export function resnext50_32x4d(options?: ResNetOptions): AnyLayer {
  return basicResNet("nn.resnext50_32x4d", [3, 4, 6, 3], options, true, 32, 4);
}

/**
 * torchvision's Wide ResNet-50-2: {@linkcode resnet50} with twice the
 * width inside each Bottleneck; 68,883,240 parameters for 1000 classes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.wideResnet50_2()), 68883240);
 * ```
 */
export function wideResnet50_2(options?: ResNetOptions): AnyLayer {
  return basicResNet("nn.wideResnet50_2", [3, 4, 6, 3], options, true, 1, 128);
}

/** Options of {@linkcode alexnet} and {@linkcode squeezenet1_1}. */
export interface ClassicNetOptions {
  /** Size of the output. Default 1000 (ImageNet). */
  numClasses?: number;
  /** Dropout probability. Default 0.5 (MobileNetV2's: 0.2). */
  dropout?: number;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * torchvision's AlexNet: five convolutions (11x11 stride 4, 5x5, three
 * 3x3) with ReLU and three 3x3 stride-2 max pools, adaptive average pooling
 * to 6x6, and a classifier of dropout, Linear 9216→4096, ReLU, dropout,
 * Linear 4096→4096, ReLU, Linear 4096→numClasses. State dict keys as
 * torchvision's; 61,100,840 parameters for 1000 classes; PyTorch's default
 * init, as torchvision's.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.alexnet()), 61100840);
 * assert.deepEqual(nn.alexnet().info.outputShape([1, 3, 224, 224]), [1, 1000]);
 * ```
 */
export function alexnet(options?: ClassicNetOptions): AnyLayer {
  const fn = "nn.alexnet";
  options = modelOptions(fn, options, ["numClasses", "dropout", "dtype"]);
  const { numClasses = 1000, dropout: p = 0.5, dtype } = options;
  const conv = (i: number, o: number, k: number, s: number, pad: number) =>
    conv2d({
      inChannels: i,
      outChannels: o,
      kernelSize: k,
      stride: s,
      padding: pad,
      dtype,
    });
  const pool = () => maxPool2d({ kernelSize: 3, stride: 2 });
  const flat = flatten();
  return model(
    {
      features: sequential(
        conv(3, 64, 11, 4, 2),
        relu,
        pool(),
        conv(64, 192, 5, 1, 2),
        relu,
        pool(),
        conv(192, 384, 3, 1, 1),
        relu,
        conv(384, 256, 3, 1, 1),
        relu,
        conv(256, 256, 3, 1, 1),
        relu,
        pool(),
      ) as AnyLayer,
      avgpool: adaptiveAvgPool2d({ outputSize: [6, 6] }),
      classifier: sequential(
        dropout({ p }),
        linear({ inFeatures: 256 * 6 * 6, outFeatures: 4096, dtype }),
        relu,
        dropout({ p }),
        linear({ inFeatures: 4096, outFeatures: 4096, dtype }),
        relu,
        linear({ inFeatures: 4096, outFeatures: numClasses, dtype }),
      ) as AnyLayer,
    },
    (m, x) => m.classifier(m.call(flat, m.avgpool(m.features(x)))),
    {
      name: "AlexNet",
    },
  ) as AnyLayer;
}

/**
 * torchvision's SqueezeNet 1.1: a stride-2 3x3 convolution, ReLU, and
 * eight Fire modules (a 1x1 squeeze convolution, then 1x1 and 3x3 expand
 * convolutions whose ReLU outputs are joined along the channels, through
 * `m.concat`) between ceil-mode 3x3 max pools; the classifier is dropout,
 * a 1x1 convolution to the classes, ReLU and global average pooling.
 * State dict keys as torchvision's (`features.3.expand3x3.weight`,
 * `classifier.1.bias`); 1,235,496 parameters for 1000 classes; init as
 * torchvision's (kaiming uniform, the last convolution normal with std
 * 0.01, zero biases).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.squeezenet1_1()), 1235496);
 * assert.deepEqual(nn.squeezenet1_1({ numClasses: 10 }).info.outputShape([2, 3, 64, 64]), [2, 10]);
 * ```
 */
export function squeezenet1_1(options?: ClassicNetOptions): AnyLayer {
  const fn = "nn.squeezenet1_1";
  options = modelOptions(fn, options, ["numClasses", "dropout", "dtype"]);
  const { numClasses = 1000, dropout: p = 0.5, dtype } = options;
  const conv = (i: number, o: number, k: number, s = 1, pad = 0) =>
    conv2d({
      inChannels: i,
      outChannels: o,
      kernelSize: k,
      stride: s,
      padding: pad,
      dtype,
    });
  const fire = (i: number, sq: number, e1: number, e3: number) =>
    model({
      squeeze: conv(i, sq, 1),
      expand1x1: conv(sq, e1, 1),
      expand3x3: conv(sq, e3, 3, 1, 1),
    }, (m, x) => {
      const s = m.call(relu, m.squeeze(x));
      return m.concat([
        m.call(relu, m.expand1x1(s)),
        m.call(relu, m.expand3x3(s)),
      ]);
    }, { name: "Fire" }) as AnyLayer;
  const pool = () => maxPool2d({ kernelSize: 3, stride: 2, ceilMode: true });
  const flat = flatten();
  const base = model(
    {
      features: sequential(
        conv(3, 64, 3, 2),
        relu,
        pool(),
        fire(64, 16, 64, 64),
        fire(128, 16, 64, 64),
        pool(),
        fire(128, 32, 128, 128),
        fire(256, 32, 128, 128),
        pool(),
        fire(256, 48, 192, 192),
        fire(384, 48, 192, 192),
        fire(384, 64, 256, 256),
        fire(512, 64, 256, 256),
      ) as AnyLayer,
      classifier: sequential(
        dropout({ p }),
        conv(512, numClasses, 1),
        relu,
        adaptiveAvgPool2d({ outputSize: [1, 1] }),
      ) as AnyLayer,
    },
    (m, x) => m.call(flat, m.classifier(m.features(x))),
    {
      name: "SqueezeNet",
    },
  );
  // torchvision's init: kaiming uniform (fan in, ReLU's gain, bound
  // sqrt(6 / fan_in)), the last convolution normal with std 0.01, zero biases
  return reinit(base as AnyLayer, (path, w, k) => {
    if (w.shape.length === 1) return zeros(w.shape, { dtype: w.dtype });
    if (path === "classifier.1.weight") return normalLike(w, k, 0.01);
    const bound = Math.sqrt(6 / fanIn(w));
    return uniform(k, w.shape, {
      minval: -bound,
      maxval: bound,
      dtype: w.dtype,
    });
  });
}

/**
 * torchvision's DenseNet-121: a 7x7 stride-2 convolution, batch norm, ReLU
 * and max pooling, then four dense blocks of 6, 12, 24 and 16 layers (each
 * layer batch norm, ReLU, a 1x1 convolution to 128 channels, batch norm,
 * ReLU and a 3x3 convolution to 32 new channels, fed the block's input and
 * every earlier layer's output joined along the channels, through
 * `m.concat`) with transitions between (batch norm, ReLU, a 1x1 convolution
 * halving the channels, 2x2 average pooling), a last batch norm, ReLU,
 * global average pooling and a linear layer. State dict keys as
 * torchvision's (`features.denseblock2.denselayer3.conv1.weight`,
 * `features.transition1.norm.bias`); 7,978,856 parameters for 1000
 * classes; init as torchvision's (kaiming normal, fan in, zero linear bias).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.paramCount(nn.densenet121()), 7978856);
 * ```
 */
export function densenet121(options?: ResNetOptions): AnyLayer {
  const fn = "nn.densenet121";
  options = modelOptions(fn, options, ["numClasses", "dtype"]);
  const { numClasses = 1000, dtype } = options;
  const growth = 32, bnSize = 4;
  const bn = (c: number) => batchNorm2d({ numFeatures: c, dtype });
  const conv = (i: number, o: number, k: number) =>
    conv2d({
      inChannels: i,
      outChannels: o,
      kernelSize: k,
      padding: (k - 1) / 2,
      bias: false,
      dtype,
    });
  const denseLayer = (inC: number) =>
    model({
      norm1: bn(inC),
      conv1: conv(inC, bnSize * growth, 1),
      norm2: bn(bnSize * growth),
      conv2: conv(bnSize * growth, growth, 3),
    }, (m, x) =>
      m.conv2(m.call(relu, m.norm2(m.conv1(m.call(relu, m.norm1(x)))))), {
      name: "_DenseLayer",
    }) as AnyLayer;
  const denseBlock = (n: number, inC: number) => {
    const layers: Record<string, AnyLayer> = {};
    for (let i = 0; i < n; i++) {
      layers[`denselayer${i + 1}`] = denseLayer(inC + i * growth);
    }
    return model(layers, (m, x) => {
      const feats = [x];
      const b = m as unknown as Record<string, (t: Tensor) => Tensor>;
      for (let i = 0; i < n; i++) {
        feats.push(b[`denselayer${i + 1}`](m.concat(feats)));
      }
      return m.concat(feats);
    }, { name: "_DenseBlock" }) as AnyLayer;
  };
  const pool2 = avgPool2d({ kernelSize: 2, stride: 2 });
  const transition = (inC: number) =>
    model(
      { norm: bn(inC), conv: conv(inC, inC / 2, 1) },
      (m, x) => m.call(pool2, m.conv(m.call(relu, m.norm(x)))),
      { name: "_Transition" },
    ) as AnyLayer;
  const children: Record<string, AnyLayer> = {
    conv0: conv2d({
      inChannels: 3,
      outChannels: 64,
      kernelSize: 7,
      stride: 2,
      padding: 3,
      bias: false,
      dtype,
    }),
    norm0: bn(64),
  };
  let c = 64;
  [6, 12, 24, 16].forEach((n, i, all) => {
    children[`denseblock${i + 1}`] = denseBlock(n, c);
    c += n * growth;
    if (i < all.length - 1) {
      children[`transition${i + 1}`] = transition(c);
      c /= 2;
    }
  });
  children.norm5 = bn(c);
  const pool0 = maxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
  const features = model(children, (m, x) => {
    const f = m as unknown as Record<string, (t: Tensor) => Tensor>;
    x = m.call(pool0, m.call(relu, f.norm0(f.conv0(x))));
    for (let i = 1; i <= 4; i++) {
      x = f[`denseblock${i}`](x);
      if (i < 4) x = f[`transition${i}`](x);
    }
    return f.norm5(x);
    // (torchvision's is an nn.Sequential with named children; toTorch writes
    // a class of its own, so the names stay)
  }, { name: "DenseFeatures" });
  const gap = adaptiveAvgPool2d({ outputSize: [1, 1] });
  const base = model(
    {
      features: features as AnyLayer,
      classifier: linear({ inFeatures: c, outFeatures: numClasses, dtype }),
    },
    (m, x) =>
      m.classifier(m.call(flatten(), m.call(gap, m.call(relu, m.features(x))))),
    {
      name: "DenseNet",
    },
  );
  // torchvision's init: kaiming normal (fan in, ReLU's gain), zero linear bias
  return reinit(base as AnyLayer, (path, w, k) => {
    if (w.shape.length === 4) return normalLike(w, k, Math.sqrt(2 / fanIn(w)));
    return path === "classifier.bias" ? zeros(w.shape, { dtype: w.dtype }) : w;
  });
}
