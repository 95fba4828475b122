/**
 * optim: every optimizer against the torch.optim / optax-reference
 * trajectories of tests/fixtures/optim.json (written by
 * tests/fixtures/gen_optim.py) in float64 to 1e-9 relative, the schedules
 * against torch.optim.lr_scheduler to 1e-12, convergence on a parabola and on
 * Rosenbrock (as optax's alias tests), state structure, purity, option errors,
 * the combinators, and the PyTorch basics tutorial's linear regression.
 */
import assert from "node:assert/strict";
import {
  add,
  grad,
  item,
  log,
  matmul,
  mean,
  mul,
  optim as publicOptim,
  random,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  toArray,
  transpose,
  type Tree,
  treeFlatten,
  treeLeaves,
  valueAndGrad,
} from "../mod.ts";
import * as optim from "../optim/mod.ts";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/optim.json" with { type: "json" };

type J = { shape: number[]; data: number[] };
type Params = { w: Tensor; b: Tensor };
const f64 = { dtype: "float64" } as const;
const toT = (j: J): Tensor => tensor(j.data, { shape: j.shape, ...f64 });
const toParams = (p: { w: J; b: J }): Params => ({ w: toT(p.w), b: toT(p.b) });

// deno-lint-ignore no-explicit-any
type Factory = (options?: any) => optim.GradientTransformation;
const OPTIMIZERS: Record<string, Factory> = {
  sgd: optim.sgd,
  adagrad: optim.adagrad,
  rmsprop: optim.rmsprop,
  adam: optim.adam,
  adamw: optim.adamw,
  adadelta: optim.adadelta,
  nadam: optim.nadam,
  radam: optim.radam,
  lion: optim.lion,
  lamb: optim.lamb,
  adafactor: optim.adafactor,
  adamax: optim.adamax,
  rprop: optim.rprop,
  asgd: optim.asgd,
};

/** Largest |a - e| / |e| seen, reported at the end of the fixture test. */
let worstRel = 0;
function close(actual: Tensor, expected: J, msg: string) {
  assertAllClose(actual, expected.data, { rtol: 1e-9, atol: 0, msg });
  actual.data.forEach((a, i) => {
    const e = expected.data[i];
    if (e !== 0) worstRel = Math.max(worstRel, Math.abs(a - e) / Math.abs(e));
  });
}

/** One optimizer step: update, then apply. */
function step<T extends optim.GradientTransformation>(
  opt: T,
  grads: Params,
  state: ReturnType<T["init"]>,
  params: Params,
): { params: Params; state: ReturnType<T["init"]> } {
  const r = opt.update(grads, state, params);
  return {
    params: optim.applyUpdates(params, r.updates),
    state: r.state as ReturnType<T["init"]>,
  };
}

/** Replays a fixture case from its stored grads; checks all 25 steps. */
function replay(opt: optim.GradientTransformation, c: (typeof CASES)[number]) {
  let params = toParams(c.init);
  let state = opt.init(params);
  c.steps.forEach((s, i) => {
    ({ params, state } = step(opt, toParams(s.grads), state, params));
    close(params.w, s.params.w, `${c.label} step ${i + 1} w`);
    close(params.b, s.params.b, `${c.label} step ${i + 1} b`);
  });
}

// deno-lint-ignore no-explicit-any
const CASES = fixture.optimizers as any as {
  name: string;
  label: string;
  options: Record<string, unknown>;
  resolvedOptions: Record<string, unknown>;
  init: { w: J; b: J };
  steps: { loss: number; grads: { w: J; b: J }; params: { w: J; b: J } }[];
}[];

Deno.test("optim fixtures: every trajectory from the stored grads (float64, 1e-9)", async (t) => {
  assert.equal(CASES.length, 53);
  assert.deepEqual(
    [...new Set(CASES.map((c) => c.name))].sort(),
    Object.keys(OPTIMIZERS).sort(),
  );
  for (const c of CASES) {
    await t.step(c.label, () => {
      // the options as given (the rest from our defaults) ...
      replay(OPTIMIZERS[c.name](c.options), c);
      // ... and every option spelt out: our defaults are torch's / optax's
      replay(OPTIMIZERS[c.name](c.resolvedOptions), c);
    });
  }
  console.log(
    `  worst relative error vs the fixture: ${worstRel.toExponential(2)}`,
  );
});

Deno.test("optim fixtures: asgd's averaged params (state.at(-1).ax) follow torch's ax at every step", () => {
  const cases = CASES.filter((c) => c.name === "asgd");
  assert.equal(cases.length, 3);
  for (const c of cases) {
    const opt = optim.asgd(c.options);
    let params = toParams(c.init);
    let state = opt.init(params);
    c.steps.forEach((s, i) => {
      ({ params, state } = step(opt, toParams(s.grads), state, params));
      const ax = (state as optim.ScaleByAsgdState[]).at(-1)!.ax as Params;
      const want = (s as unknown as { ax: { w: J; b: J } }).ax;
      close(ax.w, want.w, `${c.label} step ${i + 1} ax.w`);
      close(ax.b, want.b, `${c.label} step ${i + 1} ax.b`);
    });
    // averaging started: the last ax is not the last params (but for the
    // default t0 of 1e6)
    const last = c.steps.at(-1)!;
    const averaged = !last.params.w.data.every((v, i) =>
      v === (last as unknown as { ax: { w: J } }).ax.w.data[i]
    );
    assert.equal(averaged, c.options.t0 !== undefined, c.label);
  }
});

Deno.test("optim fixtures: lion, lamb and adafactor default to lr 1e-2 (the fixture's 'defaults' cases)", () => {
  for (const name of ["lion", "lamb", "adafactor"]) {
    const c = CASES.find((c) =>
      c.name === name && c.label.includes("defaults")
    )!;
    assert.deepEqual(c.options, { lr: 0.01 });
    replay(OPTIMIZERS[name](), c);
  }
});

Deno.test("optim fixtures: a constant schedule as lr gives the same trajectory", () => {
  for (
    const label of [
      "adam weightDecay",
      "adamw betas",
      "adagrad lrDecay",
      "sgd nesterov",
    ]
  ) {
    const c = CASES.find((c) => c.label === label)!;
    const lr = c.options.lr as number;
    replay(
      OPTIMIZERS[c.name]({ ...c.options, lr: optim.schedules.constant(lr) }),
      c,
    );
  }
});

// ---------------------------------------------------------------------------
// the fixture's problem, differentiated by the library's own grad

const A = toT(fixture.problem.A);
const Y = toT(fixture.problem.Y);
/** L(w, b) = sum log(1 + R^2) + 0.1 sum w^4 with R = A w + b - Y. */
const loss = (p: Params): Tensor => {
  const r = sub(add(matmul(A, p.w), p.b), Y);
  return add(sum(log(add(square(r), 1))), mul(sum(square(square(p.w))), 0.1));
};

Deno.test("optim fixtures: trajectories with grads from the library's grad", async (t) => {
  const c0 = CASES[0];
  const [value, g0] = valueAndGrad(loss)(toParams(c0.init));
  assertAllClose(value, c0.steps[0].loss, { rtol: 1e-13, atol: 0 });
  assertAllClose(g0.w, c0.steps[0].grads.w.data, { rtol: 1e-12, atol: 1e-15 });
  assertAllClose(g0.b, c0.steps[0].grads.b.data, { rtol: 1e-12, atol: 1e-15 });
  const labels = [
    "sgd nesterov",
    "rmsprop centered momentum",
    "adam amsgrad",
    "adamw weightDecay amsgrad",
    "nadam options",
    "radam options",
    "lion options",
    "lamb weightDecay",
    "adafactor factored momentum weightDecayRate",
  ];
  for (const label of labels) {
    await t.step(label, () => {
      const c = CASES.find((c) => c.label === label)!;
      const opt = OPTIMIZERS[c.name](c.options);
      let params = toParams(c.init);
      let state = opt.init(params);
      c.steps.forEach((s, i) => {
        assertAllClose(loss(params), s.loss, { rtol: 1e-10, atol: 0 });
        ({ params, state } = step(opt, grad(loss)(params), state, params));
        close(params.w, s.params.w, `${label} step ${i + 1} w`);
        close(params.b, s.params.b, `${label} step ${i + 1} b`);
      });
    });
  }
});

// ---------------------------------------------------------------------------
// schedules

Deno.test("optim schedules: the 50 torch.optim.lr_scheduler values of each fixture case (1e-12)", async (t) => {
  // deno-lint-ignore no-explicit-any
  const S = optim.schedules as Record<string, (o: any) => optim.Schedule>;
  assert.equal(fixture.schedules.length, 37);
  // gen_optim.py's LAMBDAS, by name
  const LAMBDAS: Record<string, (k: number) => number> = {
    "0.95^k": (k) => 0.95 ** k,
    "warmup 5": (k) => Math.min(1, (k + 1) / 5),
    "0.95": () => 0.95,
    "alternating": (k) => k % 2 ? 0.9 : 1.05,
  };
  // deno-lint-ignore no-explicit-any
  const make = (name: string, lr: number, options: any): optim.Schedule =>
    name === "constant"
      ? optim.schedules.constant(lr)
      : name === "lambdaLR" || name === "multiplicativeLR"
      ? S[name]({ lr, lrLambda: LAMBDAS[options.lrLambda] })
      : name === "chainedScheduler" // each schedule as [name, options]
      ? S.chainedScheduler({
        lr,
        // deno-lint-ignore no-explicit-any
        schedulers: options.schedulers.map(([n, o]: [string, any]) =>
          make(n, lr, o)
        ),
      })
      : name === "oneCycle" || name === "cyclicLR" // their own base rates
      ? S[name](options)
      : name === "sequentialLR" // each schedule as [name, options]
      ? S.sequentialLR({
        milestones: options.milestones,
        // deno-lint-ignore no-explicit-any
        schedulers: options.schedulers.map(([n, o]: [string, any]) =>
          make(n, lr, o)
        ),
      })
      : S[name]({ lr, ...options });
  // every exported schedule has fixture cases
  assert.deepEqual(
    [...new Set(fixture.schedules.map((c) => c.name))].sort(),
    Object.keys(optim.schedules).sort(),
  );
  for (const c of fixture.schedules) {
    await t.step(c.label, () => {
      const s = make(c.name, c.lr, c.options);
      assert.equal(c.values.length, 50);
      c.values.forEach((v, k) => {
        assertAllClose(s(k), v, { rtol: 1e-12, atol: 1e-15, msg: `step ${k}` });
      });
    });
  }
});

Deno.test("optim schedules: options are checked", () => {
  const S = optim.schedules;
  assert.throws(
    () => S.stepLR({ lr: 0.1, stepSize: 3, gama: 0.5 } as never),
    /optim\.schedules\.stepLR: unknown option "gama" \(known options: lr, stepSize, gamma\)/,
  );
  assert.throws(
    () => S.stepLR({ lr: 0.1, stepSize: 0 }),
    /stepSize must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => S.exponentialLR({ lr: -1, gamma: 0.9 }),
    /exponentialLR: lr must be/,
  );
  assert.throws(
    () => S.cosineAnnealing({ lr: 1 } as never),
    /tMax must be an integer >= 1, got undefined/,
  );
  assert.throws(
    () => S.multiStepLR({ lr: 1, milestones: [5, 2] }),
    /milestones must be increasing/,
  );
  assert.throws(
    () => S.cosineAnnealingWarmRestarts({ lr: 1, t0: 5, tMult: 1.5 }),
    /optim\.schedules\.cosineAnnealingWarmRestarts: tMult must be an integer >= 1, got 1\.5/,
  );
  assert.throws(
    () => S.polynomialLR({ lr: 1, power: -1 }),
    /optim\.schedules\.polynomialLR: power must be/,
  );
  assert.throws(
    () => S.constantLR({ lr: 1, factor: 2 }),
    /optim\.schedules\.constantLR: factor must be/,
  );
  assert.throws(
    () => S.cyclicLR({ baseLr: 0.1, maxLr: 1, mode: "exp" as never }),
    /optim\.schedules\.cyclicLR: mode must be "triangular", "triangular2" or "exp_range", got "exp"/,
  );
  assert.throws(
    () => S.cyclicLR({ maxLr: 1 } as never),
    /optim\.schedules\.cyclicLR: baseLr must be/,
  );
  assert.throws(
    () => S.warmupCosine({ lr: 1, warmupSteps: 10, tMax: 10 }),
    /warmupCosine: tMax/,
  );
  assert.throws(
    () => S.linearLR({ lr: 1, startFactor: 0 }),
    /^Error: optim\.schedules\.linearLR: startFactor must be /,
  );
  assert.throws(
    () => S.lambdaLR({ lr: 1 } as never),
    /^Error: optim\.schedules\.lambdaLR: lrLambda must be a function \(step\) => factor, got undefined/,
  );
  assert.throws(
    () => S.lambdaLR({ lr: 1, lrLambda: (k) => 1 / (k - 2) })(2),
    /^Error: optim\.schedules\.lambdaLR: lrLambda returned number Infinity at step 2, not a finite number/,
  );
  assert.throws(
    () => S.multiplicativeLR({ lr: 1, lrLambda: (k) => k === 3 ? NaN : 1 })(5),
    /^Error: optim\.schedules\.multiplicativeLR: lrLambda returned number NaN at step 3/,
  );
  assert.throws(
    () => S.chainedScheduler({ lr: 1, schedulers: [] }),
    /^Error: optim\.schedules\.chainedScheduler: schedulers must be a non-empty array of schedules/,
  );
  assert.throws(
    () => S.chainedScheduler({ lr: 0, schedulers: [S.constant(1)] }),
    /^Error: optim\.schedules\.chainedScheduler: lr must be a number > 0, got 0/,
  );
  const two = [S.constant(1), S.constant(2)];
  assert.throws(
    () => S.sequentialLR({ schedulers: two, milestones: [] }),
    /^Error: optim\.schedules\.sequentialLR: milestones must be 1 increasing integers >= 1 \(one fewer than the schedulers\), got /,
  );
  assert.throws(
    () =>
      S.sequentialLR({
        schedulers: [...two, S.constant(3)],
        milestones: [4, 4],
      }),
    /sequentialLR: milestones must be 2 increasing integers/,
  );
  assert.throws(
    () => S.sequentialLR({ schedulers: [], milestones: [] }),
    /^Error: optim\.schedules\.sequentialLR: schedulers must be a non-empty array of schedules/,
  );
  assert.throws(
    () => S.sequentialLR({ schedulers: [0.1 as never], milestones: [] }),
    /sequentialLR: schedulers must be a non-empty array of schedules/,
  );
  assert.throws(
    () => S.sequentialLR({ schedulers: two, milestones: [2] })(-1),
    /^Error: optim\.schedules\.sequentialLR: step must be an integer >= 0/,
  );
  // one schedule and no milestone is that schedule
  const e = S.exponentialLR({ lr: 1, gamma: 0.5 });
  const one = S.sequentialLR({ schedulers: [e], milestones: [] });
  assert.deepEqual([0, 1, 5].map(one), [0, 1, 5].map(e));
  assert.throws(
    () =>
      S.oneCycle({
        maxLr: 1,
        totalSteps: 10,
        annealStrategy: "cosine" as never,
      }),
    /annealStrategy must be "cos" or "linear"/,
  );
  const s = S.oneCycle({ maxLr: 1, totalSteps: 10 });
  s(10); // torch allows step == totalSteps
  assert.throws(() => s(11), /oneCycle: step 11 is past totalSteps 10/);
  assert.throws(() => S.constant(0.1)(-1), /step must be an integer >= 0/);
  assert.throws(() => S.constant(0.1)(1.5), /step must be an integer >= 0/);
});

// ---------------------------------------------------------------------------
// convergence, as optax's alias tests (parabola and Rosenbrock, float64)

type Problem = {
  init: number[];
  loss: (p: number[]) => number;
  grad: (p: number[]) => number[];
};
const parabola: Problem = {
  init: [-1, 10, 1],
  loss: (p) => (p[0] - 1) ** 2 + (p[1] + 1) ** 2 + (p[2] - 1) ** 2,
  grad: (p) => [2 * (p[0] - 1), 2 * (p[1] + 1), 2 * (p[2] - 1)],
};
const rosenbrock: Problem = {
  init: [0, 0],
  loss: (p) => (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
  grad: (p) => [
    -2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2),
    200 * (p[1] - p[0] ** 2),
  ],
};

function minimize(
  opt: optim.GradientTransformation,
  prob: Problem,
  steps: number,
) {
  let p = tensor(prob.init, f64);
  let state = opt.init(p);
  for (let i = 0; i < steps; i++) {
    const r = opt.update(tensor(prob.grad(Array.from(p.data)), f64), state, p);
    p = optim.applyUpdates(p, r.updates);
    state = r.state;
  }
  return prob.loss(Array.from(p.data));
}

const STEPS = 2000;
/**
 * A cosine-annealed lr over the run. Adaptive methods with a constant lr keep
 * taking steps of about lr, which stall in Rosenbrock's curved valley; a
 * decaying lr lets them settle (as torch users pair them with a scheduler).
 */
const cos = (lr: number) =>
  optim.schedules.cosineAnnealing({ lr, tMax: STEPS });

// [name, parabola options, Rosenbrock options]
const CONVERGENCE: [
  string,
  Record<string, unknown>,
  Record<string, unknown>,
][] = [
  ["sgd", { lr: 1e-3, momentum: 0.9 }, { lr: 1e-3, momentum: 0.9 }],
  ["sgd", { lr: 1e-3, momentum: 0.9, nesterov: true }, {
    lr: 1e-3,
    momentum: 0.9,
    nesterov: true,
  }],
  ["adagrad", { lr: 1 }, { lr: 1 }],
  ["rmsprop", { lr: 1e-2 }, { lr: cos(1e-2) }],
  ["rmsprop", { lr: 5e-3, momentum: 0.9, centered: true }, {
    lr: cos(5e-3),
    momentum: 0.9,
  }],
  ["adam", { lr: 0.1 }, { lr: cos(0.1) }],
  ["adam", { lr: 0.1, amsgrad: true }, { lr: cos(0.1), amsgrad: true }],
  ["adamw", { lr: 0.1, weightDecay: 1e-4 }, {
    lr: cos(0.1),
    weightDecay: 1e-4,
  }],
  ["adadelta", { lr: 1 }, { lr: 0.1 }],
  ["nadam", { lr: 0.05 }, { lr: cos(0.05) }],
  ["radam", { lr: 0.05 }, { lr: 0.05 }],
  ["lion", { lr: 0.01, weightDecay: 1e-4 }, {
    lr: cos(0.01),
    weightDecay: 1e-4,
  }],
  ["lamb", { lr: 0.01 }, { lr: cos(0.02) }],
  ["adafactor", { lr: 0.05 }, { lr: cos(0.05), momentum: 0.9 }],
];

const describeOptions = (o: Record<string, unknown>) =>
  Object.entries(o).map(([k, v]) =>
    `${k}=${typeof v === "function" ? "cosine" : v}`
  ).join(" ");

Deno.test(`optim convergence: every optimizer on a parabola and on Rosenbrock (${STEPS} steps)`, async (t) => {
  const p0 = parabola.loss(parabola.init),
    r0 = rosenbrock.loss(rosenbrock.init);
  for (const [name, po, ro] of CONVERGENCE) {
    await t.step(
      `${name} ${describeOptions(po)} / ${describeOptions(ro)}`,
      () => {
        const p = minimize(OPTIMIZERS[name](po), parabola, STEPS);
        const r = minimize(OPTIMIZERS[name](ro), rosenbrock, STEPS);
        assert.ok(p < 1e-3 * p0, `${name} parabola: ${p0} -> ${p}`);
        assert.ok(r < 5e-2 * r0, `${name} Rosenbrock: ${r0} -> ${r}`);
      },
    );
  }
});

// ---------------------------------------------------------------------------
// state, purity, dtypes

/** Every optimizer with options that switch on each part of its state. */
const CONFIGS: [string, Record<string, unknown>][] = [
  ["sgd", {}],
  ["sgd", { momentum: 0.9, dampening: 0.1, weightDecay: 0.01, maximize: true }],
  ["sgd", {
    momentum: 0.9,
    nesterov: true,
    lr: optim.schedules.exponentialLR({ lr: 0.1, gamma: 0.9 }),
  }],
  ["adagrad", { lrDecay: 0.1, initialAccumulatorValue: 0.1 }],
  ["rmsprop", { momentum: 0.9, centered: true, weightDecay: 0.1 }],
  ["adam", {}],
  ["adam", {
    amsgrad: true,
    lr: optim.schedules.cosineAnnealing({ lr: 1e-3, tMax: 10 }),
  }],
  ["adamw", { amsgrad: true }],
  ["adadelta", { weightDecay: 0.1 }],
  ["nadam", { weightDecay: 0.1 }],
  ["radam", {}],
  ["lion", {}],
  ["lamb", { weightDecay: 0.1 }],
  ["adafactor", {}],
  ["adafactor", {
    minDimSizeToFactor: 2,
    momentum: 0.9,
    weightDecayRate: 0.01,
  }],
];

const treeDef = (t: unknown) => JSON.stringify(treeFlatten(t as Tree)[1]);
const leafInfo = (t: unknown) =>
  treeLeaves(t as Tree).map((l) => `${l.dtype}[${l.shape}]`);
const snapshot = (t: unknown) =>
  treeLeaves(t as Tree).map((l) => Array.from(l.data));

/** A nested params tree (objects, an array, an empty dict, a scalar) and grads like it. */
function testParams(dtype: "float32" | "float64"): {
  params: Tree;
  grads: (k: number) => Tree;
} {
  const key = random.key(7);
  const [k1, k2, k3] = random.split(key, 3);
  return {
    params: {
      conv: { weight: random.normal(k1, [4, 3, 2, 2], { dtype }) },
      layers: [{ bias: random.normal(k2, [4], { dtype }) }, {}] as Tree[],
      scale: tensor(1.5, { dtype }),
    },
    grads: (k: number) => ({
      conv: {
        weight: random.normal(random.split(k3, 9)[k], [4, 3, 2, 2], { dtype }),
      },
      layers: [
        { bias: random.normal(random.split(k3, 9)[k + 3], [4], { dtype }) },
        {},
      ] as Tree[],
      scale: tensor(0.25 * (k + 1), { dtype }),
    }),
  };
}

Deno.test("optim state: structure, shapes and dtypes unchanged by updates; inputs never mutated; pure", async (t) => {
  for (const [name, o] of CONFIGS) {
    await t.step(`${name} ${Object.keys(o).join(",")}`, () => {
      for (const dtype of ["float32", "float64"] as const) {
        const { params, grads } = testParams(dtype);
        const opt = OPTIMIZERS[name](o);
        const s0 = opt.init(params);
        // a state is a tree of tensors: treeLeaves works, counters are int32 scalars
        const counters = treeLeaves(s0).filter((l) => l.dtype === "int32");
        assert.ok(
          counters.every((c) => c.shape.length === 0 && c.data[0] === 0),
        );
        let state = s0, p = params;
        for (let k = 0; k < 3; k++) {
          const g = grads(k);
          const before = [snapshot(p), snapshot(g), snapshot(state)];
          const r1 = opt.update(g, state, p);
          const r2 = opt.update(g, state, p);
          // nothing was written into the inputs
          assert.deepEqual([snapshot(p), snapshot(g), snapshot(state)], before);
          // the same inputs give the same outputs
          assert.deepEqual(snapshot(r1.updates), snapshot(r2.updates));
          assert.deepEqual(snapshot(r1.state), snapshot(r2.state));
          // the state keeps its structure, shapes and dtypes
          assert.equal(treeDef(r1.state), treeDef(s0));
          assert.deepEqual(leafInfo(r1.state), leafInfo(s0));
          assert.equal(treeDef(r1.updates), treeDef(params));
          const next = optim.applyUpdates(p, r1.updates);
          assert.deepEqual(leafInfo(next), leafInfo(params));
          assert.ok(
            treeLeaves(next).every((l) => l.data.every(Number.isFinite)),
          );
          p = next;
          state = r1.state;
        }
        assert.notDeepEqual(snapshot(p), snapshot(params));
      }
    });
  }
});

Deno.test("optim state: the documented layouts", () => {
  const p = { w: tensor([1, 2], f64) };
  const adamState = optim.adam().init(p) as unknown[];
  assert.equal(adamState.length, 2); // [scaleByAdam, scaleByLearningRate]
  const s = adamState[0] as optim.ScaleByAdamState;
  assert.deepEqual(Object.keys(s).sort(), ["count", "mu", "nu"]);
  assert.equal(s.count.dtype, "int32");
  assert.deepEqual(s.count.shape, []);
  assert.deepEqual(toArray((s.mu as { w: Tensor }).w), [0, 0]);
  assert.deepEqual(adamState[1], {});
  // with a schedule the learning-rate link counts its steps too
  const sch = optim.sgd({ lr: (k) => 1 / (k + 1) }).init(p) as {
    count: Tensor;
  }[];
  assert.equal(sch[0].count.data[0], 0);
  // adafactor: factored leaves keep row/column statistics, [1] placeholders elsewhere
  const af = optim.adafactor({ minDimSizeToFactor: 2 });
  const fs = (af.init({
    w: tensor([[1, 2, 3], [4, 5, 6]]),
    b: tensor([1, 2]),
  }) as unknown[])[0] as optim.ScaleByFactoredRmsState;
  const shapes = (t: unknown) => {
    const x = t as { w: Tensor; b: Tensor };
    return [x.w.shape, x.b.shape];
  };
  assert.deepEqual(shapes(fs.vRow), [[2], [1]]);
  assert.deepEqual(shapes(fs.vCol), [[3], [1]]);
  assert.deepEqual(shapes(fs.v), [[1], [2]]);
});

Deno.test("optim: float32 params stay float32", () => {
  const opt = optim.adam({ lr: 0.1 });
  const params = { w: tensor([1, 2]) };
  const r = opt.update({ w: tensor([0.5, -0.5]) }, opt.init(params), params);
  const next = optim.applyUpdates(params, r.updates);
  assert.equal(next.w.dtype, "float32");
  assert.ok(
    treeLeaves(r.state).filter((l) => l.dtype !== "int32").every((l) =>
      l.dtype === "float32"
    ),
  );
  assertAllClose(next.w, [0.9, 2.1], { rtol: 1e-6 });
});

// ---------------------------------------------------------------------------
// options

Deno.test("optim options: unknown keys and bad values throw, naming the optimizer and option", () => {
  for (const name of Object.keys(OPTIMIZERS)) {
    assert.throws(
      () => OPTIMIZERS[name]({ lR: 0.1 }),
      new RegExp(
        `^Error: optim\\.${name}: unknown option "lR" \\(known options: lr, `,
      ),
    );
    assert.throws(
      () => OPTIMIZERS[name]({ lr: -0.1 }),
      // (rprop's lr is its first step size: a number only)
      new RegExp(
        `optim\\.${name}: lr must be a number >= 0${
          name === "rprop" ? "" : " or a schedule"
        }`,
      ),
    );
    assert.throws(
      () => OPTIMIZERS[name]({ lr: "0.1" }),
      new RegExp(`optim\\.${name}: lr must be`),
    );
    assert.throws(
      () => OPTIMIZERS[name]({ lr: NaN }),
      new RegExp(`optim\\.${name}: lr must be`),
    );
    assert.throws(
      () => OPTIMIZERS[name](null),
      new RegExp(`optim\\.${name}: options must be an object`),
    );
  }
  assert.throws(() => optim.adam({ lR: 1 } as never), {
    message:
      'optim.adam: unknown option "lR" (known options: lr, betas, eps, weightDecay, amsgrad, maximize)',
  });
  assert.throws(
    () => optim.rprop({ etas: [0.5, 1] }),
    /optim\.rprop: etas\[1\] must be a number > 1, got 1/,
  );
  assert.throws(
    () => optim.rprop({ stepSizes: [1, 0.5] }),
    /optim\.rprop: stepSizes\[1\] must be a number >= 1, got 0\.5/,
  );
  assert.throws(
    () => optim.rprop({ lr: optim.schedules.constant(0.1) as never }),
    /optim\.rprop: lr must be a number >= 0, got/,
  );
  for (const name of ["adam", "adamw", "nadam", "radam", "adamax"]) {
    assert.throws(
      () => OPTIMIZERS[name]({ betas: [0.9, 1] }),
      new RegExp(
        `optim\\.${name}: betas\\[1\\] must be a number in \\[0, 1\\), got 1`,
      ),
    );
    assert.throws(
      () => OPTIMIZERS[name]({ betas: [-0.1, 0.9] }),
      new RegExp(`optim\\.${name}: betas\\[0\\]`),
    );
    assert.throws(
      () => OPTIMIZERS[name]({ betas: 0.9 }),
      new RegExp(`optim\\.${name}: betas must be a pair`),
    );
    assert.throws(
      () => OPTIMIZERS[name]({ eps: -1 }),
      new RegExp(`optim\\.${name}: eps must be a number >= 0`),
    );
    assert.throws(
      () => OPTIMIZERS[name]({ weightDecay: -1 }),
      new RegExp(`optim\\.${name}: weightDecay`),
    );
  }
  // NAG: torch's rule, nesterov needs momentum > 0 and dampening 0
  assert.throws(
    () => optim.sgd({ nesterov: true }),
    /optim\.sgd: nesterov momentum requires momentum > 0 and dampening 0, got momentum 0/,
  );
  assert.throws(
    () => optim.sgd({ nesterov: true, momentum: 0.9, dampening: 0.1 }),
    /optim\.sgd: nesterov/,
  );
  optim.sgd({ nesterov: true, momentum: 0.9 });
  assert.throws(
    () => optim.sgd({ momentum: -0.9 }),
    /optim\.sgd: momentum must be a number >= 0, got -0.9/,
  );
  assert.throws(
    () => optim.sgd({ maximize: 1 as never }),
    /optim\.sgd: maximize must be a boolean, got 1/,
  );
  assert.throws(
    () => optim.adagrad({ lrDecay: -1 }),
    /optim\.adagrad: lrDecay/,
  );
  assert.throws(
    () => optim.rmsprop({ alpha: 1.5 }),
    /optim\.rmsprop: alpha must be a number in \[0, 1\]/,
  );
  assert.throws(() => optim.adadelta({ rho: 2 }), /optim\.adadelta: rho/);
  assert.throws(
    () => optim.nadam({ momentumDecay: -1 }),
    /optim\.nadam: momentumDecay/,
  );
  assert.throws(() => optim.lion({ b1: 2 }), /optim\.lion: b1/);
  assert.throws(
    () => optim.lamb({ b2: 1 }),
    /optim\.lamb: b2 must be a number in \[0, 1\)/,
  );
  assert.throws(
    () => optim.adafactor({ minDimSizeToFactor: 1.5 }),
    /optim\.adafactor: minDimSizeToFactor must be an integer >= 1/,
  );
  assert.throws(
    () => optim.adafactor({ clippingThreshold: 0 }),
    /optim\.adafactor: clippingThreshold \(a number or null\)/,
  );
  optim.adafactor({
    clippingThreshold: null,
    momentum: null,
    weightDecayRate: null,
  });
  // a schedule that returns garbage is caught at the step that uses it
  const bad = optim.adam({ lr: (k) => (k < 1 ? 0.1 : NaN) });
  const p = tensor([1]);
  const s1 = bad.update(tensor([1]), bad.init(p), p).state;
  assert.throws(
    () => bad.update(tensor([1]), s1, p),
    /schedule returned NaN at step 1/,
  );
  // transforms that need the params say so
  const lamb = optim.lamb();
  assert.throws(
    () => lamb.update(tensor([1]), lamb.init(p)),
    /optim\.scaleByTrustRatio: update needs the params/,
  );
  // a state from another optimizer is refused
  assert.throws(
    () => optim.adam().update(tensor([1]), optim.sgd().init(p) as never, p),
    /state/,
  );
  // grads that do not match the params
  const w = { w: tensor([1, 2]) };
  const o = optim.adam();
  assert.throws(
    () => o.update({ v: tensor([1, 2]) } as never, o.init(w), w),
    /optim\.scaleByAdam: .*structure/,
  );
  assert.throws(
    () => optim.applyUpdates(w, { v: tensor([1, 2]) }),
    /optim\.applyUpdates: params and updates do not have the same structure/,
  );
});

// ---------------------------------------------------------------------------
// combinators

Deno.test("optim combinators: chain, clipByGlobalNorm, addDecayedWeights, scaleByLearningRate", () => {
  const g = { a: tensor([3, 0], f64), b: [tensor([[4]], f64)] };
  const p = { a: tensor([1, -2], f64), b: [tensor([[10]], f64)] };
  // global norm by hand: sqrt(3^2 + 0^2 + 4^2) = 5
  assert.equal(item(optim.globalNorm(g)), 5);
  const clip = optim.clipByGlobalNorm(2);
  const c = clip.update(g, clip.init(p)).updates;
  assert.deepEqual(toArray(c.a), [3 / 5 * 2, 0]);
  assert.deepEqual(toArray(c.b[0]), [[4 / 5 * 2]]);
  assertAllClose(optim.globalNorm(c), 2, { rtol: 1e-15 });
  // below the threshold the updates pass unchanged (optax: norm < maxNorm)
  const loose = optim.clipByGlobalNorm(5.000001);
  assert.deepEqual(
    snapshot(loose.update(g, loose.init(p)).updates),
    snapshot(g),
  );
  assert.throws(
    () => optim.clipByGlobalNorm(0),
    /optim\.clipByGlobalNorm: maxNorm must be a number > 0/,
  );
  // addDecayedWeights: updates + wd * params
  const dec = optim.addDecayedWeights(0.5);
  const d = dec.update(g, dec.init(p), p).updates;
  assert.deepEqual(toArray(d.a), [3.5, -1]);
  assert.deepEqual(toArray(d.b[0]), [[9]]);
  // scaleByLearningRate multiplies by -lr; a schedule sees 0, 1, 2, ...
  const seen: number[] = [];
  const sl = optim.scaleByLearningRate((k) => (seen.push(k), 0.1 * (k + 1)));
  let st = sl.init(p);
  const outs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = sl.update(g, st);
    outs.push((toArray(r.updates.a) as number[])[0]);
    st = r.state;
  }
  assert.deepEqual(seen, [0, 1, 2]);
  assertAllClose(outs, [-0.3, -0.6, -0.9], { rtol: 1e-15 });
  // chain applies in order and keeps one state per link
  const ch = optim.chain(
    optim.clipByGlobalNorm(1),
    optim.addDecayedWeights(0.1),
    optim.scaleByLearningRate(2),
  );
  const cs = ch.init(p);
  assert.equal(cs.length, 3);
  const u = ch.update(g, cs, p).updates;
  assertAllClose(u.a, [-2 * (0.6 + 0.1), -2 * (0 - 0.2)], { rtol: 1e-15 });
  assertAllClose(u.b[0], [[-2 * (0.8 + 1)]], { rtol: 1e-15 });
  // clipping inside an optimizer chain, as in STYLE.md
  const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd({ lr: 1 }));
  const r = opt.update(g, opt.init(p), p);
  assertAllClose(optim.applyUpdates(p, r.updates).a, [1 - 0.6, -2], {
    rtol: 1e-15,
  });
  assert.throws(
    () => optim.chain({} as never),
    /optim\.chain: argument 0 must be a gradient transformation/,
  );
  assert.throws(
    () => ch.update(g, [{}], p),
    /optim\.chain: state must be an array of 3 states/,
  );
  // identity and scale
  const id = optim.identity();
  assert.equal(id.update(g, id.init(p)).updates, g);
  const sc = optim.scale(-1);
  assert.deepEqual(toArray(sc.update(g, sc.init(p)).updates.a), [-3, -0]);
});

Deno.test("optim: sgd with maximize climbs; sgd updates are -lr * grad", () => {
  const p = tensor([1, 2], f64);
  const g = tensor([0.5, -4], f64);
  const down = optim.sgd({ lr: 0.1 });
  const up = optim.sgd({ lr: 0.1, maximize: true });
  assert.deepEqual(toArray(down.update(g, down.init(p), p).updates), [
    -0.05,
    0.4,
  ]);
  assert.deepEqual(toArray(up.update(g, up.init(p), p).updates), [0.05, -0.4]);
});

Deno.test("optim: the public namespace of mod.ts", () => {
  assert.equal(publicOptim.adam, optim.adam);
  assert.equal(publicOptim.schedules.oneCycle, optim.schedules.oneCycle);
  for (const name of Object.keys(OPTIMIZERS)) {
    assert.equal(typeof publicOptim[name as "sgd"], "function");
  }
});

// ---------------------------------------------------------------------------
// the PyTorch basics tutorial: nn.Linear(1, 1) on y = 2x with MSE and SGD(lr=0.01), full batch

Deno.test("The PyTorch basics tutorial: linear regression y = 2x with SGD lr 0.01", () => {
  const x = tensor([[1], [2], [3], [4]]);
  const y = tensor([[2], [4], [6], [8]]);
  const [kw, kb] = random.split(random.key(0));
  let params = {
    weight: random.uniform(kw, [1, 1], { minval: -1, maxval: 1 }),
    bias: random.uniform(kb, [1], { minval: -1, maxval: 1 }),
  };
  const mse = (p: typeof params) =>
    mean(square(sub(add(matmul(x, transpose(p.weight)), p.bias), y)));
  const opt = optim.sgd({ lr: 0.01 });
  let state = opt.init(params);
  const w0 = item(params.weight);
  const losses: number[] = [];
  const train = (epochs: number) => {
    for (let e = 0; e < epochs; e++) {
      const [l, g] = valueAndGrad(mse)(params);
      losses.push(item(l));
      const r = opt.update(g, state, params);
      params = optim.applyUpdates(params, r.updates);
      state = r.state;
    }
  };
  train(10);
  const w10 = item(params.weight);
  assert.ok(Math.abs(w10 - 2) < Math.abs(w0 - 2), `w ${w0} -> ${w10}`);
  assert.ok(losses[9] < losses[0], `loss ${losses[0]} -> ${losses[9]}`);
  train(1990);
  assert.equal(params.weight.dtype, "float32");
  assert.ok(
    Math.abs(item(params.weight) - 2) < 0.01,
    `w = ${item(params.weight)}`,
  );
  assert.ok(Math.abs(item(params.bias)) < 0.01, `b = ${item(params.bias)}`);
});

Deno.test("oneCycle: a phase without steps is an error at construction", () => {
  assert.throws(
    () =>
      optim.schedules.oneCycle({ maxLr: 0.1, totalSteps: 4, pctStart: 0.25 }),
    /optim.schedules.oneCycle: pctStart 0.25 with totalSteps 4 leaves a phase without steps/,
  );
  optim.schedules.oneCycle({ maxLr: 0.1, totalSteps: 8, pctStart: 0.25 });
});

Deno.test("optim.clip: every entry clipped into [-maxDelta, maxDelta] (torch's clip_grad_value_), chained before an optimizer, under jit; errors", () => {
  const f64 = { dtype: "float64" as const };
  const p = { w: T.tensor([1, 1, 1, 1], f64) };
  const g = { w: T.tensor([-3, -0.2, 0.7, NaN], f64) };
  const opt = optim.chain(optim.clip(0.5), optim.sgd({ lr: 0.1 }));
  const { updates } = opt.update(g, opt.init(p), p);
  const u = T.toArray(updates.w) as number[];
  assert.deepEqual(u.slice(0, 3), [0.05, 0.1 * 0.2, -0.05]);
  assert.ok(Number.isNaN(u[3])); // NaN stays NaN, as torch.clamp_
  const state = opt.init(p);
  const jitted = T.jit((g: typeof p) => opt.update(g, state, p).updates);
  assert.deepEqual((jitted(g) as typeof p).w.data, updates.w.data);
  assert.throws(
    () => optim.clip(-1),
    /optim\.clip: maxDelta must be a number >= 0, got -1/,
  );
});
