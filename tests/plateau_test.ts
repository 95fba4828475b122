/**
 * optim.reduceLROnPlateau against torch.optim.lr_scheduler.ReduceLROnPlateau
 * (tests/fixtures/plateau.json, written by tests/fixtures/gen_plateau.py):
 * the scheduler's lr, best, bad-epoch count and cooldown after every epoch
 * bit for bit, whole training trajectories (sgd with momentum, adam, adamw)
 * replayed from the stored grads to 1e-9, jit, checkpoints, purity and the
 * errors.
 */
import assert from "node:assert/strict";
import { item, jit, optim, type Tensor, tensor, type Tree } from "../mod.ts";
import { deserializeSafetensors, serializeSafetensors } from "../data/mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";
import { type J, replayTrajectory } from "./_trajectory.ts";
import fixture from "./fixtures/plateau.json" with { type: "json" };

const f64 = { dtype: "float64" } as const;
const num = (v: number | string) =>
  typeof v === "number"
    ? v
    : v === "NaN"
    ? NaN
    : v === "Infinity"
    ? Infinity
    : -Infinity;

type Options = optim.ReduceLROnPlateauOptions;
const SCHEDULES = fixture.schedules as unknown as {
  label: string;
  options: Options;
  lr: number;
  metrics: (number | string)[];
  after: {
    lr: number;
    best: number | string;
    numBadEpochs: number;
    cooldownCounter: number;
  }[];
}[];

function checkAfter(
  s: optim.PlateauState,
  e: (typeof SCHEDULES)[number]["after"][number],
  at: string,
) {
  assert.ok(Object.is(item(s.lr), e.lr), `${at}: lr ${item(s.lr)} vs ${e.lr}`);
  assert.ok(Object.is(item(s.best), num(e.best)), `${at}: best`);
  assert.equal(item(s.numBadEpochs), e.numBadEpochs, `${at}: numBadEpochs`);
  assert.equal(
    item(s.cooldownCounter),
    e.cooldownCounter,
    `${at}: cooldownCounter`,
  );
}

Deno.test("reduceLROnPlateau: lr, best, bad epochs and cooldown after every epoch equal torch's bit for bit (12 option sets, 40 epochs)", async (t) => {
  assert.equal(SCHEDULES.length, 12);
  for (const c of SCHEDULES) {
    await t.step(c.label, () => {
      const opt = optim.reduceLROnPlateau(optim.sgd({ lr: c.lr }), c.options);
      let s = opt.init(tensor([0]));
      c.metrics.forEach((m, i) => {
        // numbers and scalar tensors (float32 where the value is exact) alike
        const metric = i % 3 === 0 ? num(m) : tensor(num(m), f64);
        s = opt.step(s, metric);
        checkAfter(s, c.after[i], `${c.label}, epoch ${i + 1}`);
      });
    });
  }
});

Deno.test("reduceLROnPlateau: a jitted step gives the eager states, traced once", () => {
  const c = SCHEDULES.find((s) => s.label === "cooldown 3")!;
  const opt = optim.reduceLROnPlateau(optim.sgd({ lr: c.lr }), c.options);
  const step = jit((s: optim.PlateauState, m: Tensor) => opt.step(s, m));
  let s = opt.init(tensor([0]));
  c.metrics.forEach((m, i) => {
    s = step(s, tensor(num(m), f64));
    checkAfter(s, c.after[i], `epoch ${i + 1}`);
  });
  assert.equal(step.traceCount(), 1);
});

const TRAINING = fixture.training as unknown as {
  label: string;
  optimizer: "SGD" | "Adam" | "AdamW";
  optimizerOptions: Record<string, number>;
  options: Options;
  init: { w: J; b: J };
  stepsPerEpoch: number;
  steps: { grads: { w: J; b: J }; params: { w: J; b: J } }[];
  metrics: number[];
  lrAfterEpoch: number[];
}[];

function inner(c: (typeof TRAINING)[number]): optim.Optimizer {
  const o = c.optimizerOptions;
  const lr = o.lr;
  if (c.optimizer === "SGD") {
    return optim.sgd({ lr, momentum: o.momentum, weightDecay: o.weight_decay });
  }
  return c.optimizer === "Adam" ? optim.adam({ lr }) : optim.adamw({ lr });
}

Deno.test("reduceLROnPlateau: training trajectories (sgd with momentum and weight decay, adam with minLr, adamw in max mode with cooldown) follow torch's from the stored grads (float64, 1e-9)", async (t) => {
  for (const c of TRAINING) {
    await t.step(c.label, () => {
      const opt = optim.reduceLROnPlateau(inner(c), c.options);
      const lrs: number[] = [];
      replayTrajectory(opt, c.init, c.steps, c.label, (i, state) => {
        if ((i + 1) % c.stepsPerEpoch !== 0) return state;
        const next = opt.step(state, c.metrics[lrs.length]);
        lrs.push(item(next.lr));
        return next;
      });
      assert.deepEqual(lrs, c.lrAfterEpoch);
      // the trajectories do lower the rate
      assert.ok(lrs.at(-1)! < c.optimizerOptions.lr);
    });
  }
});

Deno.test("reduceLROnPlateau: until the first reduction the updates are the optimizer's own bits (float32); after it, the optimizer's times the ratio", () => {
  const params = { w: tensor([0.3, -1.2, 2.5]) };
  const grads = { w: tensor([0.7, 0.01, -3]) };
  const plain = optim.adam({ lr: 0.01 });
  const opt = optim.reduceLROnPlateau(optim.adam({ lr: 0.01 }), {
    patience: 0,
    factor: 0.25,
  });
  let s = opt.init(params);
  const a = plain.update(grads, plain.init(params), params).updates.w;
  const b = opt.update(grads, s, params).updates.w;
  assert.deepEqual(b.data, a.data);
  s = opt.step(s, 1);
  s = opt.step(s, 2); // bad epoch, patience 0: lr 0.0025
  assert.equal(item(s.lr), 0.0025);
  const c = opt.update(grads, s, params).updates.w;
  assertAllClose(c, Array.from(a.data, (v) => v * 0.25), { rtol: 1e-6 });
});

Deno.test("reduceLROnPlateau: a rate of 0 stays 0 and gives zero updates, not NaN", () => {
  const opt = optim.reduceLROnPlateau(optim.sgd({ lr: 0 }), { patience: 0 });
  const p = tensor([1, 2]);
  const s = [1, 2, 3].reduce((st, m) => opt.step(st, m), opt.init(p));
  assert.equal(item(s.lr), 0);
  const u = opt.update(tensor([1, -1]), s, p).updates.data;
  assert.ok(u.every((v) => v === 0), `${u}`); // (-0 where the gradient is negative)
});

Deno.test("reduceLROnPlateau: step and update are pure; a state saved as safetensors resumes with the same bits", () => {
  const params = { w: tensor([1, 2]), b: tensor([0.5]) };
  const grads = { w: tensor([0.1, -0.2]), b: tensor([1]) };
  const opt = optim.reduceLROnPlateau(optim.sgd({ lr: 0.1, momentum: 0.9 }), {
    patience: 1,
    cooldown: 2,
  });
  let s = opt.init(params);
  for (const m of [3, 2, 2.5, 2.4, 2.6]) {
    s = opt.update(grads, s, params).state;
    s = opt.step(s, m);
  }
  assert.ok(Math.abs(item(s.lr) - 0.01) < 1e-15);
  // epoch 4 reduced (two bad epochs > patience 1); epoch 5 used one of the 2 cooldown epochs
  assert.equal(item(s.cooldownCounter), 1);
  const again = opt.step(s, 7);
  assert.deepEqual(opt.step(s, 7), again); // same arguments, same result
  assert.equal(item(s.cooldownCounter), 1); // s itself is unchanged
  const loaded = deserializeSafetensors(
    serializeSafetensors(s as unknown as Tree),
  ) as unknown as optim.PlateauState;
  const run = (st: optim.PlateauState) => {
    const out: number[] = [];
    for (const m of [2.7, 2.8, 2.9, 3]) {
      const r = opt.update(grads, st, params);
      out.push(...(r.updates as { w: Tensor }).w.data);
      st = opt.step(r.state, m);
      out.push(item(st.lr));
    }
    return out;
  };
  assert.deepEqual(run(loaded), run(s));
});

Deno.test("reduceLROnPlateau: errors name the function, the argument, what was expected and what came", () => {
  const fn = "optim.reduceLROnPlateau";
  const sgd = optim.sgd({ lr: 0.1 });
  const bad: [() => unknown, RegExp][] = [
    [
      () => optim.reduceLROnPlateau(optim.rprop()),
      /not rprop or asgd.*lr undefined/,
    ],
    [() => optim.reduceLROnPlateau(optim.asgd()), /optimizer must be/],
    [
      () =>
        optim.reduceLROnPlateau(
          optim.sgd({ lr: optim.schedules.constant(0.1) }),
        ),
      /nor a schedule.*lr function/,
    ],
    [
      () => optim.reduceLROnPlateau(optim.chain(optim.scale(-0.1))),
      /custom chain/,
    ],
    [() => optim.reduceLROnPlateau(undefined as never), /got undefined/],
    [
      () => optim.reduceLROnPlateau(sgd, { mode: "mean" as never }),
      /mode must be "min" or "max", got "mean"/,
    ],
    [
      () => optim.reduceLROnPlateau(sgd, { factor: 1 }),
      /factor must be a number in \[0, 1\), got 1/,
    ],
    [
      () => optim.reduceLROnPlateau(sgd, { patience: 1.5 }),
      /patience must be an integer >= 0, got 1.5/,
    ],
    [() => optim.reduceLROnPlateau(sgd, { cooldown: -1 }), /cooldown must be/],
    [
      () => optim.reduceLROnPlateau(sgd, { threshold: NaN }),
      /threshold must be/,
    ],
    [
      () =>
        optim.reduceLROnPlateau(sgd, { thresholdMode: "relative" as never }),
      /thresholdMode must be "rel" or "abs"/,
    ],
    [() => optim.reduceLROnPlateau(sgd, { minLr: -1 }), /minLr must be/],
    [() => optim.reduceLROnPlateau(sgd, { eps: Infinity }), /eps must be/],
    [() => optim.reduceLROnPlateau(sgd, { min_lr: 0 } as never), /min_lr/],
  ];
  const opt = optim.reduceLROnPlateau(sgd);
  const s = opt.init(tensor([1]));
  bad.push(
    [
      () => opt.step(s, "0.5" as never),
      /metric must be a number or a one-element float tensor.*got string 0.5/,
    ],
    [
      () => opt.step(s, tensor([1, 2])),
      /metric must be.*got Tensor float32 \[2\]/,
    ],
    [
      () => opt.step(s, tensor([1], { dtype: "int32" })),
      /metric must be.*int32/,
    ],
    [() => opt.step({} as never, 1), /step: state must be what init returned/],
    [
      () => opt.step({ ...s, lr: tensor(0.1) }, 1),
      /state.lr must be a float64 scalar tensor.*float32/,
    ],
    [
      () => opt.update(tensor([1]), { ...s, numBadEpochs: 0 } as never),
      /update: state.numBadEpochs must be an int32 scalar tensor \(from init\), got number 0/,
    ],
  );
  assertErrors(fn, bad);
});
