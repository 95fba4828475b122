/**
 * The CIFAR-10 bird/plane tutorial's bird-versus-airplane network (Conv
 * 3->16, Tanh, pool, Conv 16->8, Tanh, pool, Linear 512->32, Tanh, Linear
 * 32->2; 18,090 parameters) trained on the CIFAR-10 images of those two
 * classes.
 *
 *   deno run --allow-read examples/cifar_bird_plane.ts --data DIR
 *
 * DIR holds CIFAR-10's binary batches (data_batch_1.bin ... data_batch_5.bin,
 * test_batch.bin, directly or in cifar-10-batches-bin/), from
 * https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz. Without --data
 * the program says so and exits.
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
  parseFlags,
  runMain,
  threadsFlag,
  usage,
  UsageError,
  useThreads,
} from "./_cli.ts";
import { trainEpoch } from "./_train.ts";

const { data, nn, optim, random } = T;

const specs = {
  data: {
    kind: "string",
    help: "directory with CIFAR-10's binary batches (needs --allow-read)",
  },
  epochs: {
    kind: "int",
    default: 10,
    max: MAX_EPOCHS,
    help: "passes over the 10,000 bird and airplane images",
  },
  lr: {
    kind: "number",
    default: 1e-2,
    help: "SGD learning rate (the tutorial's)",
  },
  batchSize: { kind: "int", default: 64, min: 1, help: "images per step" },
  seed: { kind: "int", default: 0, help: "random seed" },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Trains the CIFAR-10 tutorial's bird/plane CNN on CIFAR-10's airplane (0) and bird (2) images.";

const MEAN = [0.4915, 0.4823, 0.4468], STD = [0.2470, 0.2435, 0.2616];

/** Keeps airplanes (label 0 -> 0) and birds (label 2 -> 1), scaled and normalised. */
export function birdsAndPlanes(
  ds: { x: Tensor; y: Tensor },
): { x: Tensor; y: Tensor } {
  const keep: number[] = [];
  ds.y.data.forEach((label, i) => (label === 0 || label === 2) && keep.push(i));
  const sub = data.take(ds, keep);
  const y = T.astype(T.equal(sub.y, 2), "int32");
  return { x: data.normalize(data.scaleTo01(sub.x), MEAN, STD), y };
}

/** Trains and returns the validation accuracy (NaN when no data was given). */
export async function main(args: string[]): Promise<number> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help || !opts.data) {
    console.log(usage("examples/cifar_bird_plane.ts", summary, specs));
    if (!opts.help) {
      console.log(
        "\nCIFAR-10 is not bundled: download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html,\n" +
          "unpack it and pass the folder with --data (and --allow-read).",
      );
    }
    return NaN;
  }
  if (!(opts.lr > 0)) {
    throw new UsageError(`--lr must be positive, got ${opts.lr}`);
  }
  const train = birdsAndPlanes(
    await data.readCifar10(opts.data as string, { train: true }),
  );
  const val = birdsAndPlanes(
    await data.readCifar10(opts.data as string, { train: false }),
  );
  const model = nn.birdPlaneNet();
  console.log(nn.summary(model, [1, 3, 32, 32]).split("\n\n")[0]);
  console.log(
    `${train.y.shape[0]} training and ${val.y.shape[0]} validation images; ${
      nn.paramCount(model)
    } parameters`,
  );
  let params = model.init(random.key(opts.seed));
  const opt = optim.sgd({ lr: opts.lr });
  let state = opt.init(params);
  const keys = random.split(
    random.key(opts.seed + 1),
    Math.max(opts.epochs, 1),
  );
  // evaluation, as one jit plan per batch shape (or eager with --no-jit)
  const apply = (p: typeof params, x: Tensor) => model.apply(p, x);
  const infer = opts.jit ? T.jit(apply) : apply;
  let acc = NaN;
  if (opts.epochs === 0) {
    acc = accuracy((x) => infer(params, x), val);
    console.log(
      `validation accuracy of the untrained network: ${acc.toFixed(4)}`,
    );
  }
  for (let e = 0; e < opts.epochs; e++) {
    const epoch = trainEpoch({
      model,
      params,
      state,
      opt,
      jit: opts.jit,
      onStep: ({ step, loss }) => {
        if (!Number.isFinite(loss)) {
          throw new Error(
            `the loss became ${loss} at epoch ${
              e + 1
            }, step ${step}: lower --lr`,
          );
        }
      },
      batches: data.batches(train, {
        batchSize: opts.batchSize,
        shuffle: true,
        key: keys[e],
      }),
    });
    ({ params, state } = epoch);
    acc = accuracy((x) => infer(params, x), val);
    console.log(
      `Epoch ${e + 1}, Training loss ${
        epoch.meanLoss.toFixed(4)
      }, validation accuracy ${acc.toFixed(4)}`,
    );
  }
  return acc;
}

if (import.meta.main) {
  await runMain(
    "examples/cifar_bird_plane.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
