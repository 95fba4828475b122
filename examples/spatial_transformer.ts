/**
 * A spatial transformer network (PyTorch's "Spatial Transformer Networks"
 * tutorial) on distorted MNIST digits: each digit is rotated, scaled and
 * moved at random (`affineGrid` and `gridSample` as data augmentation);
 * a small CNN learns to classify them, once as it is and once behind a
 * spatial transformer, a localisation network that predicts an affine map
 * per image and samples the image through it before the classifier. The
 * transformer is trained with the classifier, by gradients that flow
 * through `gridSample` into the grid and on into the localisation net.
 * Prints both test accuracies and writes the distorted test digits next to
 * what the transformer makes of them (`out/spatial_transformer.png`, or
 * `DIR/...`).
 *
 *   deno run --allow-read --allow-write examples/spatial_transformer.ts [--epochs N] [--out DIR]
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { trainEpochs } from "./_train.ts";
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
  useThreads,
} from "./_cli.ts";
import { panelGrid, toPixels } from "./_picture.ts";

const { nn } = T;

const specs = {
  epochs: {
    kind: "int",
    default: 3,
    max: MAX_EPOCHS,
    help: "training epochs of each model",
  },
  limit: {
    kind: "int",
    default: 0,
    help: "use only the first N training digits (0: all)",
  },
  seed: { kind: "int", default: 0, help: "random seed" },
  out: outFlag("spatial_transformer.png (digits and their rectified forms)"),
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Classifies randomly rotated, scaled and moved MNIST digits with a small CNN, plain and behind a spatial transformer.";

/**
 * The digits `x` [N, 1, 28, 28] each rotated by up to ±45°, scaled by
 * 0.8–1.25 and moved by up to 15% of the image: every output pixel reads
 * the input at its affine image (`affineGrid`, then `gridSample`).
 */
export function distort(x: Tensor, key: T.random.Key): Tensor {
  const n = x.shape[0];
  const [ka, ks, kt] = T.random.split(key, 3);
  const angle = T.random.uniform(ka, [n], {
    minval: -Math.PI / 4,
    maxval: Math.PI / 4,
  });
  const scale = T.random.uniform(ks, [n], { minval: 0.8, maxval: 1.25 });
  const shift = T.random.uniform(kt, [n, 2], { minval: -0.3, maxval: 0.3 });
  const c = T.mul(T.cos(angle), scale), s = T.mul(T.sin(angle), scale);
  const [tx, ty] = [0, 1].map((i) =>
    T.reshape(T.slice(shift, [0, i], [n, i + 1]), [n])
  );
  const theta = T.reshape(
    T.stack([c, T.neg(s), tx, s, c, ty], 1),
    [n, 2, 3],
  );
  return T.gridSample(x, T.affineGrid(theta, x.shape));
}

/** The tutorial's classifier (without dropout): two convolutions and two linear layers. */
const classifier = () =>
  nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 10, kernelSize: 5 }),
    nn.maxPool2d({ kernelSize: 2 }),
    nn.relu,
    nn.conv2d({ inChannels: 10, outChannels: 20, kernelSize: 5 }),
    nn.maxPool2d({ kernelSize: 2 }),
    nn.relu,
    nn.flatten(),
    nn.linear({ inFeatures: 320, outFeatures: 50 }),
    nn.relu,
    nn.linear({ inFeatures: 50, outFeatures: 10 }),
  );

/** The transformer net's layers: the localisation net and its head, and the classifier. */
const parts = () => ({
  localization: nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 8, kernelSize: 7 }),
    nn.maxPool2d({ kernelSize: 2 }),
    nn.relu,
    nn.conv2d({ inChannels: 8, outChannels: 10, kernelSize: 5 }),
    nn.maxPool2d({ kernelSize: 2 }),
    nn.relu,
  ),
  fcLoc: nn.sequential(
    nn.flatten(),
    nn.linear({ inFeatures: 90, outFeatures: 32 }),
    nn.relu,
    nn.linear({ inFeatures: 32, outFeatures: 6 }),
  ),
  classifier: classifier(),
});

/**
 * The tutorial's spatial transformer in front of the classifier: the
 * localisation net predicts each image's 2x3 affine map (starting at the
 * identity), and the classifier sees the image sampled through it.
 */
export function transformerNet() {
  return nn.model(parts(), (m, x) => m.classifier(rectify(m, x)), {
    name: "SpatialTransformerNet",
  });
}

/** The same params' transformer alone: the images as the classifier sees them. */
const rectifier = () =>
  nn.model(parts(), (m, x) => rectify(m, x), { name: "Rectifier" });

/** `x` sampled through the affine maps the localisation net predicts for it. */
// deno-lint-ignore no-explicit-any
function rectify(m: any, x: Tensor): Tensor {
  const theta = T.reshape(m.fcLoc(m.localization(x)), [x.shape[0], 2, 3]);
  return T.gridSample(x, T.affineGrid(theta, x.shape));
}

/** What {@linkcode main} returns: both models' test accuracies on the distorted digits. */
export interface Result {
  plain: number;
  transformer: number;
}

/** Runs the example. */
export async function main(args: string[]): Promise<Result> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/spatial_transformer.ts", summary, specs));
    return { plain: NaN, transformer: NaN };
  }
  // the folder first: a bad --out is reported before the training
  const path = await outPath(opts.out, "spatial_transformer.png");
  const mnist = await T.data.loadMnist();
  const n = opts.limit > 0
    ? Math.min(opts.limit, mnist.train.y.shape[0])
    : mnist.train.y.shape[0];
  const [kTrain, kTest] = T.random.split(T.random.key(opts.seed + 7));
  const train = {
    x: distort(T.slice(mnist.train.x, [0], [n]), kTrain),
    y: T.slice(mnist.train.y, [0], [n]),
  };
  const test = { x: distort(mnist.test.x, kTest), y: mnist.test.y };
  const fit = <P extends T.Tree>(
    net: { apply(p: P, x: Tensor): Tensor },
    params: P,
  ) =>
    trainEpochs({
      jit: opts.jit,
      model: net,
      params,
      opt: T.optim.adam({ lr: 1e-3 }),
      train,
      epochs: opts.epochs,
      key: T.random.key(opts.seed + 1),
    });
  const plainNet = classifier();
  console.log("the plain CNN:");
  const plainParams = fit(plainNet, plainNet.init(T.random.key(opts.seed)));
  const stn = transformerNet();
  // the last layer of the localisation net starts at the identity map
  const init = stn.init(T.random.key(opts.seed));
  const last = init.fcLoc[3] as { weight: Tensor; bias: Tensor };
  const params = {
    ...init,
    fcLoc: [...init.fcLoc.slice(0, 3), {
      weight: T.zerosLike(last.weight),
      bias: T.tensor([1, 0, 0, 0, 1, 0]),
    }] as unknown as typeof init.fcLoc,
  };
  console.log("the CNN behind a spatial transformer:");
  const stnParams = fit(stn, params);
  const infer = <P>(net: { apply(p: P, x: Tensor): Tensor }, p: P) => {
    const f = (x: Tensor) => net.apply(p, x);
    return opts.jit ? T.jit(f) : f;
  };
  const result = {
    plain: accuracy(infer(plainNet, plainParams), test),
    transformer: accuracy(infer(stn, stnParams), test),
  };
  console.log(
    `test accuracy on distorted digits: plain CNN ${
      result.plain.toFixed(4)
    }, with a spatial transformer ${result.transformer.toFixed(4)}`,
  );
  // the first 8 distorted test digits over what the transformer makes of them
  const shown = T.slice(test.x, [0], [8]);
  const rectified = rectifier().apply(stnParams, shown);
  const panels = [shown, rectified].flatMap((t, row) =>
    Array.from({ length: 8 }, (_, i) => ({
      title: row === 0 ? "input" : "rectified",
      image: toPixels(T.reshape(T.slice(t, [i], [i + 1]), [28, 28])),
    }))
  );
  await T.data.writePng(path, panelGrid(panels, { scale: 4, columns: 8 }));
  console.log(
    `wrote ${path} (the distorted test digits over their rectified forms)`,
  );
  return result;
}

if (import.meta.main) {
  await runMain(
    "examples/spatial_transformer.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
