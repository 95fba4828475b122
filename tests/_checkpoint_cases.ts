/**
 * What tests/checkpoint_test.ts and its fresh process
 * (tests/_checkpoint_worker.ts) both run: every optimizer (plain, with a
 * learning-rate schedule, inside a chain after clipByGlobalNorm) on a small
 * network with parameterless layers, one deterministic training step.
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tree } from "../mod.ts";

const { nn, optim, random } = T;
type Opt = T.optim.GradientTransformation;
type Lr = T.optim.LearningRate;

/** conv, relu, max pool, flatten, linear: params `[{weight, bias}, {}, {}, {}, {weight, bias}]`. */
export const net = nn.sequential(
  nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
  nn.relu,
  nn.maxPool2d({ kernelSize: 2 }),
  nn.flatten(),
  nn.linear({ inFeatures: 18, outFeatures: 3 }),
);

const x = random.normal(random.key(1), [4, 1, 8, 8]);
const y = T.tensor([0, 1, 2, 0], { dtype: "int32" });
const lossGrad = T.grad((p: Tree) =>
  T.crossEntropy(net.apply(p as never, x), y)
);

/**
 * sgd with momentum under reduceLROnPlateau (patience 0, factor 0.5), its
 * state from `init` already past two reductions (lr / 4), so its updates are
 * the wrapped optimizer's times a ratio that is not 1.
 */
export function plateauSgd(lr: number): Opt {
  const p = optim.reduceLROnPlateau(optim.sgd({ lr, momentum: 0.9 }), {
    patience: 0,
    factor: 0.5,
  });
  return {
    ...p,
    init: (params) => [1, 2, 3].reduce((s, m) => p.step(s, m), p.init(params)),
  } as Opt;
}

/** The optimizers (those of examples/optimizers.ts and the rest), given a learning rate. */
const OPTIMIZERS: [string, number, (lr: Lr) => Opt][] = [
  ["sgd", 0.1, (lr) => optim.sgd({ lr })],
  ["momentum", 0.05, (lr) => optim.sgd({ lr, momentum: 0.9 })],
  ["nag", 0.05, (lr) => optim.sgd({ lr, momentum: 0.9, nesterov: true })],
  ["adagrad", 0.03, (lr) => optim.adagrad({ lr, weightDecay: 1e-2 })],
  ["rmsprop", 1e-3, (lr) => optim.rmsprop({ lr, centered: true })],
  ["adam", 1e-3, (lr) => optim.adam({ lr, amsgrad: true })],
  ["adamw", 1e-3, (lr) => optim.adamw({ lr })],
  ["adadelta", 1, (lr) => optim.adadelta({ lr })],
  ["nadam", 1e-3, (lr) => optim.nadam({ lr })],
  ["radam", 1e-3, (lr) => optim.radam({ lr })],
  ["lion", 1e-4, (lr) => optim.lion({ lr })],
  ["lamb", 5e-3, (lr) => optim.lamb({ lr })],
  // minDimSizeToFactor 3: the conv and linear weights are factored, the biases not
  ["adafactor", 1e-2, (lr) => optim.adafactor({ lr, minDimSizeToFactor: 3 })],
  ["adamax", 1e-3, (lr) => optim.adamax({ lr })],
  ["asgd", 1e-2, (lr) => optim.asgd({ lr, t0: 3 })],
  // parameter groups: weights with decay, biases without, the first conv's
  // bias frozen
  [
    "groups",
    1e-3,
    (lr) =>
      optim.multiTransform({
        decay: optim.adamw({ lr, weightDecay: 0.1 }),
        noDecay: optim.adamw({ lr, weightDecay: 0 }),
        frozen: optim.setToZero(),
      }, (path) =>
        path === "0.bias"
          ? "frozen"
          : path.endsWith("weight")
          ? "decay"
          : "noDecay"),
  ],
  // gradient accumulation: saved after 3 calls, halfway through the second step
  [
    "multiSteps",
    1e-3,
    (lr) => optim.multiSteps(optim.adam({ lr }), { everyK: 2 }),
  ],
  // (reduceLROnPlateau needs a number lr: "+schedule" is the plain case)
  [
    "plateau",
    0.05,
    (lr) => plateauSgd(typeof lr === "number" ? lr : 0.05),
  ],
  // (rprop's lr is its first step size, not a schedule: "+schedule" is plain rprop)
  [
    "rprop",
    1e-3,
    (lr) => optim.rprop({ lr: typeof lr === "number" ? lr : 1e-3 }),
  ],
];

const S = optim.schedules;
/** A schedule per optimizer, taking turns, so that every schedule is used. */
const SCHEDULES: ((lr: number) => Lr)[] = [
  (lr) => S.cosineAnnealing({ lr, tMax: 10 }),
  (lr) => S.oneCycle({ maxLr: lr, totalSteps: 10 }),
  (lr) => S.stepLR({ lr, stepSize: 2, gamma: 0.5 }),
  (lr) => S.multiStepLR({ lr, milestones: [1, 3], gamma: 0.5 }),
  (lr) => S.exponentialLR({ lr, gamma: 0.9 }),
  (lr) => S.linearWarmup({ lr, startFactor: 0.25, totalIters: 5 }),
  (lr) => S.warmupCosine({ lr, warmupSteps: 2, tMax: 10 }),
  (lr) => S.constant(lr),
  (lr) => S.cosineAnnealingWarmRestarts({ lr, t0: 2, tMult: 2 }),
  (lr) => S.polynomialLR({ lr, totalIters: 8, power: 2 }),
  (lr) => S.constantLR({ lr, factor: 0.5, totalIters: 2 }),
  (lr) => S.cyclicLR({ baseLr: lr / 10, maxLr: lr, stepSizeUp: 2 }),
  (lr) => S.linearLR({ lr, startFactor: 0.5, totalIters: 3 }),
  (lr) =>
    S.sequentialLR({
      schedulers: [
        S.constant(lr / 2),
        S.swaLR({ lr, swaLr: lr / 4, annealEpochs: 2 }),
      ],
      milestones: [2],
    }),
  (lr) => S.lambdaLR({ lr, lrLambda: (k) => 1 / (1 + k) }),
  (lr) => S.multiplicativeLR({ lr, lrLambda: (k) => (k % 2 ? 0.8 : 1.1) }),
  (lr) =>
    S.chainedScheduler({
      lr,
      schedulers: [
        S.constantLR({ lr, factor: 0.5, totalIters: 2 }),
        S.exponentialLR({ lr, gamma: 0.9 }),
      ],
    }),
];

/** Case name -> optimizer: `adam`, `adam+schedule`, `adam+clip`, ... (57 in all). */
export const CASES: Record<string, () => Opt> = Object.fromEntries(
  OPTIMIZERS.flatMap(([name, lr, make], i) => [
    [name, () => make(lr)],
    [`${name}+schedule`, () => make(SCHEDULES[i % SCHEDULES.length](lr))],
    [`${name}+clip`, () => optim.chain(optim.clipByGlobalNorm(0.05), make(lr))],
  ]),
);

/** The params every case starts from. */
export function initParams(): Tree {
  return net.init(random.key(0));
}

/** `n` training steps of `opt` from `params` and `state` (the same batch each time). */
export function train(
  opt: Opt,
  params: Tree,
  state: Tree,
  n: number,
): { params: Tree; state: Tree } {
  for (let i = 0; i < n; i++) {
    const r = opt.update(lossGrad(params), state, params);
    params = optim.applyUpdates(params, r.updates);
    state = r.state;
  }
  return { params, state };
}
