/**
 * A 3-D CNN on volumes: synthetic 16x16x16 scans, each holding one shape (a
 * ball, a cube or a rod along a random axis, of random size and place, in
 * noise), classified by `conv3d`, `maxPool3d` and `adaptiveMaxPool3d` as
 * PyTorch's 3-D CNNs for medical volumes and video are built. Prints the
 * test accuracy and the confusion matrix.
 *
 *   deno run examples/volumes.ts [--epochs N] [--train N]
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { trainEpochs } from "./_train.ts";
import { accuracy, predictClasses } from "./lenet.ts";
import {
  type FlagSpec,
  jitFlag,
  MAX_EPOCHS,
  parseFlags,
  runMain,
  threadsFlag,
  usage,
  useThreads,
} from "./_cli.ts";

const { nn } = T;

const specs = {
  epochs: { kind: "int", default: 5, max: MAX_EPOCHS, help: "training epochs" },
  train: {
    kind: "int",
    default: 1024,
    min: 1,
    max: 16384,
    help: "training volumes",
  },
  seed: { kind: "int", default: 0, help: "random seed" },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Classifies synthetic 16^3 volumes (ball, cube, rod) with a small 3-D CNN.";

/** The classes, in label order. */
export const SHAPES = ["ball", "cube", "rod"] as const;

/** The side of a volume. */
const SIDE = 16;

/**
 * `n` volumes `[n, 1, 16, 16, 16]` and their labels: label c's shape
 * (`SHAPES[c]`) with a random centre, size and (for rods) axis, drawn
 * from `key`, at intensity 1 in Gaussian noise of deviation 0.3.
 */
export function makeVolumes(n: number, key: T.random.Key): T.data.Dataset {
  const [kl, kp, kn] = T.random.split(key, 3);
  const labels = T.random.randint(kl, [n], 0, SHAPES.length);
  const u = T.random.uniform(kp, [n, 5], { dtype: "float64" }).data;
  const noise = T.random.normal(kn, [n, 1, SIDE, SIDE, SIDE]).data;
  const data = new Float32Array(n * SIDE ** 3);
  for (let i = 0; i < n; i++) {
    const c = labels.data[i], p = (k: number) => u[i * 5 + k];
    const r = 2.5 + 2 * p(0); // the size
    const centre = [0, 1, 2].map((k) => 5.5 + 5 * p(1 + k));
    const axis = Math.floor(3 * p(4)); // a rod's direction
    for (let z = 0; z < SIDE; z++) {
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          const d = [z, y, x].map((v, k) => v - centre[k]);
          const inside = c === 0
            ? Math.hypot(...d) <= r
            : c === 1
            ? Math.max(...d.map(Math.abs)) <= 0.8 * r
            : Math.abs(d[axis]) <= 1.8 * r &&
              Math.hypot(...d.filter((_, k) => k !== axis)) <= 0.45 * r;
          const at = ((i * SIDE + z) * SIDE + y) * SIDE + x;
          data[at] = (inside ? 1 : 0) + 0.3 * noise[at];
        }
      }
    }
  }
  return {
    x: T.tensor(data, { shape: [n, 1, SIDE, SIDE, SIDE] }),
    y: labels,
  };
}

/**
 * The 3-D CNN: two conv3d + relu + maxPool3d blocks, global max pooling
 * (whether a feature fired anywhere: a corner, a flat face), a linear head.
 */
export function volumeNet() {
  return nn.sequential(
    nn.conv3d({ inChannels: 1, outChannels: 8, kernelSize: 3, padding: 1 }),
    nn.relu,
    nn.maxPool3d({ kernelSize: 2 }),
    nn.conv3d({ inChannels: 8, outChannels: 16, kernelSize: 3, padding: 1 }),
    nn.relu,
    nn.maxPool3d({ kernelSize: 2 }),
    nn.adaptiveMaxPool3d({ outputSize: 1 }),
    nn.flatten(),
    nn.linear({ inFeatures: 16, outFeatures: SHAPES.length }),
  );
}

/** Runs the example; returns the test accuracy. */
export function main(args: string[]): number {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/volumes.ts", summary, specs));
    return NaN;
  }
  const [kTrain, kTest, kInit, kData] = T.random.split(
    T.random.key(opts.seed),
    4,
  );
  const train = makeVolumes(opts.train, kTrain);
  const test = makeVolumes(384, kTest);
  const net = volumeNet();
  console.log(net.info.repr);
  const params = trainEpochs({
    jit: opts.jit,
    model: net,
    params: net.init(kInit),
    opt: T.optim.adam({ lr: 1e-2 }),
    train,
    epochs: opts.epochs,
    key: kData,
  });
  const predict = (x: Tensor) => net.apply(params, x);
  const f = opts.jit ? T.jit(predict) : predict;
  const acc = accuracy(f, test, 128);
  const confusion = T.metrics.confusionMatrix(
    predictClasses(f, test, 128),
    test.y,
    SHAPES.length,
  );
  console.log(`test accuracy: ${acc.toFixed(4)}`);
  console.log(`confusion (rows: true ${SHAPES.join(", ")}):`);
  for (const row of T.toArray(confusion) as number[][]) {
    console.log(`  ${row.map((v) => String(v).padStart(4)).join("")}`);
  }
  return acc;
}

if (import.meta.main) {
  await runMain(
    "examples/volumes.ts",
    summary,
    specs,
    (a) => Promise.resolve(void main(a)),
  );
}
