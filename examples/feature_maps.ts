/**
 * Feature maps, as the PyTorch basics tutorial shows them: trains a small CNN
 * (1 -> 4 -> 8 channels, 3x3 kernels with padding 1, as the tutorial's
 * SimpleCNN) on MNIST or Fashion-MNIST and writes what its first convolution
 * sees in one image, as a PNG grid (the input, then one tile per channel,
 * scaled up 4x with a title each):
 * `out/feature_maps.png`, or `DIR/feature_maps.png`.
 *
 *   deno run --allow-read --allow-write examples/feature_maps.ts [--dataset fashion-mnist] [--out DIR]
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { accuracy } from "./lenet.ts";
import {
  type FlagSpec,
  jitFlag,
  MAX_EPOCHS,
  outFlag,
  outPath,
  parseFlags,
  runMain,
  threadsFlag,
  usage,
  UsageError,
  useThreads,
} from "./_cli.ts";
import { panelGrid, toPixels } from "./_picture.ts";
import { trainEpoch } from "./_train.ts";

const { data, nn, optim, random } = T;

const specs = {
  dataset: {
    kind: "string",
    default: "mnist",
    choices: ["mnist", "fashion-mnist"],
    help: "dataset",
  },
  data: { kind: "string", help: "directory with the Fashion-MNIST IDX files" },
  epochs: {
    kind: "int",
    default: 1,
    max: MAX_EPOCHS,
    help: "training epochs before looking",
  },
  image: { kind: "int", default: 0, help: "index of the test image to show" },
  out: outFlag("feature_maps.png (the PNG grid)"),
  seed: { kind: "int", default: 0, help: "random seed" },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Trains the PyTorch basics tutorial's SimpleCNN and writes its first conv layer's feature maps as a PNG grid.";

/** The PyTorch basics tutorial's SimpleCNN, with a classifier head so it can be trained. */
export function simpleFeatureCNN() {
  return nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 }), // 1 -> 4 channels
    nn.relu,
    nn.maxPool2d({ kernelSize: 2 }),
    nn.conv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, padding: 1 }), // 4 -> 8 channels
    nn.relu,
    nn.maxPool2d({ kernelSize: 2 }),
    nn.flatten(),
    nn.linear({ inFeatures: 8 * 7 * 7, outFeatures: 10 }),
  );
}

/** Trains, writes the grid and returns the feature maps [4, 28, 28]. */
export async function main(args: string[]): Promise<Tensor> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/feature_maps.ts", summary, specs));
    return T.zeros([0]);
  }
  if (opts.dataset === "mnist" && opts.data) {
    throw new UsageError("--data only applies to --dataset fashion-mnist");
  }
  // the folder first: a bad --out is reported before the training
  const path = await outPath(opts.out, "feature_maps.png");
  const ds = opts.dataset === "mnist"
    ? await data.loadMnist()
    : await data.loadFashionMnist(opts.data as string | undefined);
  const n = ds.test.y.shape[0];
  if (opts.image >= n) {
    throw new UsageError(`--image must be below ${n}, got ${opts.image}`);
  }
  const model = simpleFeatureCNN();
  let params = model.init(random.key(opts.seed));
  const opt = optim.adam({ lr: 2e-3 });
  let state = opt.init(params);
  const keys = random.split(
    random.key(opts.seed + 1),
    Math.max(opts.epochs, 1),
  );
  // evaluation, as one jit plan per batch shape (or eager with --no-jit)
  const apply = (p: typeof params, x: Tensor) => model.apply(p, x);
  const infer = opts.jit ? T.jit(apply) : apply;
  for (let e = 0; e < opts.epochs; e++) {
    ({ params, state } = trainEpoch({
      model,
      params,
      state,
      opt,
      jit: opts.jit,
      batches: data.batches(ds.train, {
        batchSize: 64,
        shuffle: true,
        key: keys[e],
      }),
    }));
    console.log(
      `epoch ${e + 1}: test accuracy ${
        accuracy((x) => infer(params, x), ds.test).toFixed(4)
      }`,
    );
  }
  const x = T.slice(ds.test.x, [opts.image], [opts.image + 1]);
  // the first layer's output: conv1 then relu, with the trained weights
  const conv1 = (params as unknown as { weight: Tensor; bias: Tensor }[])[0];
  const maps = T.squeeze(
    T.relu(T.conv2d(x, conv1.weight, conv1.bias, { padding: 1 })),
    0,
  ); // [4, 28, 28]
  const label = ds.test.y.data[opts.image];
  const grid = panelGrid([
    { title: `label ${label}`, image: toPixels(T.reshape(x, [28, 28])) },
    ...[0, 1, 2, 3].map((c) => ({
      title: `channel ${c}`,
      image: toPixels(T.squeeze(T.slice(maps, [c], [c + 1]), 0)),
    })),
  ], { scale: 4 });
  await data.writePng(path, grid);
  console.log(
    `image ${opts.image} (label ${
      ds.test.y.data[opts.image]
    }): wrote the input and its 4 feature maps to ${path}`,
  );
  return maps;
}

if (import.meta.main) {
  await runMain(
    "examples/feature_maps.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
