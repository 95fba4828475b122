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
   * Run the loss and gradient as a `jit` plan (the same bits as eager,
   * traced once per model and batch shape). Default true.
   */
  jit?: boolean;
}

type LossAndGrad = (p: Tree, x: Tensor, y: Tensor) => [Tensor, Tree];
const jitted = new WeakMap<object, LossAndGrad>();

/** The loss-and-gradient function of `model`: eager, or its jitted form (kept across epochs). */
function lossAndGradOf(
  model: { apply(params: never, x: Tensor): Tensor },
  useJit: boolean,
): LossAndGrad {
  const eager = T.valueAndGrad((p: Tree, x: Tensor, y: Tensor) =>
    T.crossEntropy(model.apply(p as never, x), y)
  ) as LossAndGrad;
  if (!useJit) return eager;
  let j = jitted.get(model);
  if (!j) jitted.set(model, j = T.jit(eager));
  return j;
}

/** One pass over `batches`; returns the new params and optimizer state and the epoch's mean loss per example. */
export function trainEpoch<P extends Tree, S extends Tree>(
  { model, params, state, opt, batches, onStep, jit = true }: TrainEpochOptions<
    P,
    S
  >,
): { params: P; state: S; meanLoss: number } {
  const lossAndGrad = lossAndGradOf(model, jit);
  let total = 0, seen = 0, step = 0;
  for (const { x, y } of batches) {
    const [loss, grads] = lossAndGrad(params, x, y); // 1. the loss and its gradient
    const { updates, state: next } = opt.update(grads as P, state, params); // 2. the optimizer's step
    params = T.optim.applyUpdates(params, updates); // 3. new params
    state = next; // 4. new optimizer state
    const l = T.item(loss);
    total += l * y.shape[0];
    seen += y.shape[0];
    onStep?.({ step: ++step, loss: l, meanLoss: total / seen, seen });
  }
  return { params, state, meanLoss: total / seen };
}

/**
 * `epochs` passes of {@linkcode trainEpoch} over `train` in batches of 64,
 * shuffled by keys split from `key`, with a line per epoch; returns the
 * params.
 */
export function trainEpochs<P extends Tree, S extends Tree>(
  { model, params, opt, train, epochs, key }: {
    model: { apply(params: P, x: Tensor): Tensor };
    params: P;
    opt: T.optim.GradientTransformation<S>;
    train: T.data.Dataset;
    epochs: number;
    key: T.random.Key;
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
