/**
 * Row-by-row MNIST: each 28x28 digit read as a sequence of 28 rows of 28
 * pixels by an LSTM (`nn.lstm`, PyTorch's equations; its recurrence a
 * `scan`), whose last hidden state a linear layer classifies. The classic
 * test that a recurrent layer learns long-range structure: a row alone
 * says little, the digit is in the sequence. Trains on the embedded MNIST
 * (7,996 training digits), prints the test accuracy.
 *
 *   deno run examples/sequences.ts [--epochs N] [--hidden H] [--cell lstm|gru] [--train N]
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
  epochs: { kind: "int", default: 4, max: MAX_EPOCHS, help: "training epochs" },
  train: {
    kind: "int",
    default: 8000,
    min: 1,
    help: "training digits (of the 7,996)",
  },
  hidden: {
    kind: "int",
    default: 64,
    min: 1,
    max: 1024,
    help: "hidden units of the recurrent layer",
  },
  cell: { kind: "string", default: "lstm", help: "lstm or gru" },
  seed: { kind: "int", default: 0, help: "random seed" },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Classifies MNIST digits read row by row (28 steps of 28 pixels) with an LSTM or a GRU.";

/** The last step of a `[batch, seq, features]` sequence: `[batch, features]`. */
export const lastStep = nn.defineLayer({
  name: "LastStep",
  apply: (_p, x) => {
    const [n, s, f] = x.shape;
    return T.reshape(T.slice(x, [0, s - 1, 0], [n, s, f]), [n, f]);
  },
  outputShape: (s) => [s[0], s[2]],
});

/** The recurrent classifier: rows in, the last hidden state to 10 classes. */
export function rowNet(hidden: number, cell: "lstm" | "gru" = "lstm") {
  const options = { inputSize: 28, hiddenSize: hidden, batchFirst: true };
  return nn.sequential(
    cell === "lstm" ? nn.lstm(options) : nn.gru(options),
    lastStep,
    nn.linear({ inFeatures: hidden, outFeatures: 10 }),
  );
}

/** MNIST's images `[n, 1, 28, 28]` as sequences of rows `[n, 28, 28]`, standardised. */
export function asRows(ds: T.data.Dataset): T.data.Dataset {
  const { x, y } = standardiseMnist(ds);
  return { x: T.reshape(x, [ds.x.shape[0], 28, 28]), y };
}

/** Runs the example; returns the test accuracy. */
export async function main(args: string[]): Promise<number> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/sequences.ts", summary, specs));
    return NaN;
  }
  if (opts.cell !== "lstm" && opts.cell !== "gru") {
    throw new UsageError(`--cell must be lstm or gru, got ${opts.cell}`);
  }
  const { train, test } = await mnistSplit(opts.train, asRows);
  const [kInit, kData] = T.random.split(T.random.key(opts.seed));
  const net = rowNet(opts.hidden, opts.cell);
  console.log(net.info.repr);
  return fitAndScore({
    jit: opts.jit,
    model: net,
    params: net.init(kInit),
    opt: T.optim.adam({ lr: 1e-2 }),
    train,
    epochs: opts.epochs,
    key: kData,
    test,
    accuracy,
  });
}

if (import.meta.main) {
  await runMain(
    "examples/sequences.ts",
    summary,
    specs,
    (a) => main(a).then(() => {}),
  );
}
