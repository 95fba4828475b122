/**
 * A small vision transformer on MNIST: 7x7 patches embedded by a strided
 * `conv2d` (16 tokens per digit), a learned position embedding, two
 * `nn.transformerEncoderLayer`s (PyTorch's, pre-norm) and a linear head on
 * the tokens' mean. The attention counterpart of LeNet-5, on the same
 * embedded 7,996 training digits; prints the test accuracy.
 *
 *   deno run examples/vit.ts [--epochs N] [--dim D] [--depth L] [--train N]
 *
 * @module
 */
import * as T from "../mod.ts";
import { fitAndScore, mnistSplit, standardiseMnist } from "./_train.ts";
import { accuracy } from "./lenet.ts";
import {
  type FlagSpec,
  jitFlag,
  MAX_EPOCHS,
  parseFlags,
  runMain,
  threadsFlag,
  usage,
  UsageError,
  useThreads,
} from "./_cli.ts";

const { nn } = T;

const specs = {
  epochs: { kind: "int", default: 5, max: MAX_EPOCHS, help: "training epochs" },
  dim: {
    kind: "int",
    default: 32,
    min: 4,
    max: 512,
    help: "token features (a multiple of 4: 4 heads)",
  },
  depth: { kind: "int", default: 2, min: 1, max: 16, help: "encoder layers" },
  train: {
    kind: "int",
    default: 8000,
    min: 1,
    help: "training digits (of the 7,996)",
  },
  seed: { kind: "int", default: 0, help: "random seed" },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Classifies MNIST digits with a small vision transformer (7x7 patches, 2 encoder layers).";

/** The patches per digit: 4x4 of 7x7 pixels. */
const TOKENS = 16;

/** Adds a learned embedding per token position to `[batch, 16, dim]`. */
function positions(dim: number) {
  return nn.defineLayer({
    name: "PositionEmbedding",
    params: { weight: { shape: [TOKENS, dim], dtype: "float32" } },
    init: (key) => ({
      weight: T.mul(T.random.normal(key, [TOKENS, dim]), 0.02),
    }),
    apply: (p, x) => T.add(x, p.weight),
  });
}

/** The vision transformer: patches, positions, encoder layers, mean, head. */
export function vit(dim: number, depth: number) {
  const layer = nn.transformerEncoderLayer({
    dModel: dim,
    nhead: 4,
    dimFeedforward: 2 * dim,
    dropout: 0,
    batchFirst: true,
    normFirst: true,
  });
  return nn.model(
    {
      patches: nn.conv2d({
        inChannels: 1,
        outChannels: dim,
        kernelSize: 7,
        stride: 7,
      }),
      positions: positions(dim),
      encoder: nn.transformerEncoder(layer, {
        numLayers: depth,
        norm: nn.layerNorm({ normalizedShape: dim }),
      }),
      head: nn.linear({ inFeatures: dim, outFeatures: 10 }),
    },
    (m, x) => {
      // [batch, dim, 4, 4] -> 16 tokens of dim features
      const p = m.patches(x);
      const tokens = T.swapaxes(T.reshape(p, [p.shape[0], dim, TOKENS]), 1, 2);
      const h = m.encoder(m.positions(tokens));
      return m.head(T.mean(h, { axis: 1 }));
    },
    { name: "ViT" },
  );
}

/** Runs the example; returns the test accuracy. */
export async function main(args: string[]): Promise<number> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/vit.ts", summary, specs));
    return NaN;
  }
  if (opts.dim % 4 !== 0) {
    throw new UsageError(
      `--dim must be a positive multiple of 4, got ${opts.dim}`,
    );
  }
  const { train, test } = await mnistSplit(opts.train, standardiseMnist);
  const [kInit, kData] = T.random.split(T.random.key(opts.seed));
  const net = vit(opts.dim, opts.depth);
  console.log(`ViT: ${T.nn.paramCount(net)} parameters`);
  return fitAndScore({
    jit: opts.jit,
    model: net,
    params: net.init(kInit),
    opt: T.optim.adamw({ lr: 6e-3 }),
    train,
    epochs: opts.epochs,
    key: kData,
    test,
    accuracy,
  });
}

if (import.meta.main) {
  await runMain(
    "examples/vit.ts",
    summary,
    specs,
    (a) => main(a).then(() => {}),
  );
}
