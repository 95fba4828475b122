/**
 * The training loop the examples share, written once: for each batch, the
 * loss and its gradient with respect to the params, the optimizer's update,
 * the new params and the new optimizer state. Everything is a value: the
 * loop takes params and state and returns new ones.
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";

/** A batch of inputs and their int32 class labels. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** What {@linkcode trainEpoch} reports after each step. */
export interface StepInfo {
  /** Steps done in this epoch, counting from 1. */
  step: number;
  /** The loss of this step's batch. */
  loss: number;
  /** The mean loss per example over the epoch so far. */
  meanLoss: number;
  /** Examples seen in the epoch so far. */
  seen: number;
}

/** The arguments of {@linkcode trainEpoch}. */
export interface TrainEpochOptions<P extends Tree, S extends Tree> {
  /** The model; the loss is the cross-entropy of `model.apply(params, x)` against `y`. */
  model: { apply(params: P, x: Tensor): Tensor };
  /** The params to start from. */
  params: P;
  /** The optimizer's state: `opt.init(params)`, or what the last epoch returned. */
  state: S;
  /** The optimizer. */
  opt: T.optim.GradientTransformation<S>;
  /** The batches of one epoch, e.g. `data.batches(train, { batchSize, shuffle: true, key })`. */
  batches: Iterable<Batch>;
  /** Called after each step (a progress bar, a loss curve, a NaN check that throws). */
  onStep?: (info: StepInfo) => void;
  /**
   * Run each step (loss, gradient, the optimizer's update, the new params)
   * as one `jit` plan: the same bits as eager, traced once per model,
   * optimizer and batch shape. Default true.
   */
  jit?: boolean;
}

/** One training step: the batch's loss, the new params and the new optimizer state. */
type Step = (p: Tree, s: Tree, x: Tensor, y: Tensor) => [Tensor, Tree, Tree];
const jitted = new WeakMap<object, WeakMap<object, Step>>();

/** The training step of `model` with `opt`: eager, or its jitted form (kept across epochs). */
function stepOf(
  model: { apply(params: never, x: Tensor): Tensor },
  opt: T.optim.GradientTransformation<never>,
  useJit: boolean,
): Step {
  const lossAndGrad = T.valueAndGrad((p: Tree, x: Tensor, y: Tensor) =>
    T.crossEntropy(model.apply(p as never, x), y)
  );
  const step: Step = (params, state, x, y) => {
    const [loss, grads] = lossAndGrad(params, x, y); // 1. the loss and its gradient
    const { updates, state: next } = opt.update(grads, state as never, params); // 2. the optimizer's step
    return [loss, T.optim.applyUpdates(params, updates), next]; // 3. new params, 4. new state
  };
  if (!useJit) return step;
  const byOpt = jitted.get(model) ?? new WeakMap<object, Step>();
  jitted.set(model, byOpt);
  let j = byOpt.get(opt);
  if (!j) byOpt.set(opt, j = T.jit(step));
  return j;
}

/** One pass over `batches`; returns the new params and optimizer state and the epoch's mean loss per example. */
export function trainEpoch<P extends Tree, S extends Tree>(
  { model, params, state, opt, batches, onStep, jit = true }: TrainEpochOptions<
    P,
    S
  >,
): { params: P; state: S; meanLoss: number } {
  const step = stepOf(model, opt as never, jit);
  let total = 0, seen = 0, n = 0;
  for (const { x, y } of batches) {
    const [loss, p, s] = step(params, state, x, y);
    params = p as P;
    state = s as S;
    const l = T.item(loss);
    total += l * y.shape[0];
    seen += y.shape[0];
    onStep?.({ step: ++n, loss: l, meanLoss: total / seen, seen });
  }
  return { params, state, meanLoss: total / seen };
}

/**
 * `epochs` passes of {@linkcode trainEpoch} over `train` in batches of 64,
 * shuffled by keys split from `key`, with a line per epoch; returns the
 * params.
 */
export function trainEpochs<P extends Tree, S extends Tree>(
  { model, params, opt, train, epochs, key, jit = true }: {
    model: { apply(params: P, x: Tensor): Tensor };
    params: P;
    opt: T.optim.GradientTransformation<S>;
    train: T.data.Dataset;
    epochs: number;
    key: T.random.Key;
    /** Run each step as a `jit` plan (default true; see {@linkcode TrainEpochOptions}). */
    jit?: boolean;
  },
): P {
  let state = opt.init(params);
  const keys = T.random.split(key, Math.max(epochs, 1));
  for (let e = 0; e < epochs; e++) {
    ({ params, state } = trainEpoch({
      model,
      params,
      state,
      opt,
      jit,
      batches: T.data.batches(train, {
        batchSize: 64,
        shuffle: true,
        key: keys[e],
      }),
    }));
    console.log(`epoch ${e + 1}/${epochs} done`);
  }
  return params;
}

/** MNIST's images standardised by the training set's mean and deviation (0.1307, 0.3081). */
export const standardiseMnist = (ds: T.data.Dataset): T.data.Dataset => ({
  x: T.div(T.sub(ds.x, 0.1307), 0.3081),
  y: ds.y,
});

/**
 * The first `n` of the embedded MNIST's 7,996 training digits and its 2,004
 * test digits, each set through `prepare` (standardising, reshaping).
 */
export async function mnistSplit(
  n: number,
  prepare: (ds: T.data.Dataset) => T.data.Dataset,
): Promise<{ train: T.data.Dataset; test: T.data.Dataset }> {
  const mnist = await T.data.loadMnist();
  const count = Math.min(n, mnist.train.y.shape[0]);
  return {
    train: prepare(T.data.take(mnist.train, [...Array(count).keys()])),
    test: prepare(mnist.test),
  };
}

/**
 * {@linkcode trainEpochs}, then the test accuracy of the trained model
 * (jitted with the training), printed with the time both took; returns it.
 */
export function fitAndScore<P extends Tree, S extends Tree>(
  options: Parameters<typeof trainEpochs<P, S>>[0] & {
    test: T.data.Dataset;
    accuracy: (predict: (x: Tensor) => Tensor, ds: T.data.Dataset) => number;
  },
): number {
  const { test, accuracy, ...training } = options;
  const t0 = performance.now();
  const params = trainEpochs(training);
  const predict = (x: Tensor) => training.model.apply(params, x);
  const acc = accuracy(training.jit === false ? predict : T.jit(predict), test);
  console.log(
    `test accuracy: ${acc.toFixed(4)} (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s)`,
  );
  return acc;
}
