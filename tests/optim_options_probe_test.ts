/**
 * Probe of the optimizers' option grid: every option of every optimizer
 * against torch.optim 1.13 (and NumPy transcriptions of optax for lion, lamb
 * and adafactor) over 30 steps of fed gradients in float64, from
 * tests/fixtures/optim_options_probe.json (tests/fixtures/gen_optim_options_probe.py):
 * the params after every step, the state a user reads, zero, sparse and NaN
 * gradients, the lr as a schedule; the same steps under jit bit for bit; and
 * the options torch rejects.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import fixture from "./fixtures/optim_options_probe.json" with { type: "json" };

const { optim } = T;
type Leaves = Record<string, (number | null)[]>;
type Params = { w: Tensor; b: Tensor };
type Case = {
  label: string;
  name: string;
  options: Record<string, unknown>;
  grads: string;
  schedule: string | null;
  params: Leaves[];
  states: Record<string, Record<string, unknown>>;
};
const F = fixture as unknown as {
  steps: number;
  stateAt: number[];
  init: Leaves;
  shapes: Record<string, number[]>;
  grads: Record<string, Leaves[]>;
  cases: Case[];
  errors: { name: string; options: Record<string, unknown>; torch: string }[];
};

// deno-lint-ignore no-explicit-any
type Factory = (options?: any) => T.optim.Optimizer;
const OPTIMIZERS: Record<string, Factory> = {
  sgd: optim.sgd,
  adagrad: optim.adagrad,
  rmsprop: optim.rmsprop,
  adam: optim.adam,
  adamw: optim.adamw,
  adamax: optim.adamax,
  adadelta: optim.adadelta,
  nadam: optim.nadam,
  radam: optim.radam,
  rprop: optim.rprop,
  asgd: optim.asgd,
  lion: optim.lion,
  lamb: optim.lamb,
  adafactor: optim.adafactor,
};

/** The fixture's schedules, written as the generator's torch schedulers. */
const SCHEDULES: Record<string, (lr: number) => T.optim.Schedule> = {
  // torch LambdaLR(lambda k: (1 + k) ** -0.5)
  invsqrt: (lr) => (k) => lr * (1 + k) ** -0.5,
  // torch StepLR(step_size=4, gamma=0.5)
  step4: (lr) => optim.schedules.stepLR({ lr, stepSize: 4, gamma: 0.5 }),
};

const f64 = { dtype: "float64" } as const;
const leaf = (v: (number | null)[], shape: number[]) =>
  T.tensor(v.map((x) => (x === null ? NaN : x)), { shape, ...f64 });
const toParams = (j: Leaves): Params => ({
  w: leaf(j.w, F.shapes.w),
  b: leaf(j.b, F.shapes.b),
});

function makeOptimizer(c: Case): T.optim.Optimizer {
  const o = { ...c.options };
  if (c.schedule) o.lr = SCHEDULES[c.schedule](c.options.lr as number);
  return OPTIMIZERS[c.name](o);
}

let worst = 0;
/** Entry by entry: NaN where torch has NaN, else within 1e-12 relative (1e-13 absolute near 0). */
function close(actual: Tensor, expected: (number | null)[], what: string) {
  assert.equal(actual.data.length, expected.length, what);
  actual.data.forEach((a, i) => {
    const e = expected[i];
    if (e === null) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: ${a}, want NaN`);
      return;
    }
    const err = Math.abs(a - e);
    if (Math.abs(e) > 1e-3) worst = Math.max(worst, err / Math.abs(e));
    assert.ok(
      err <= 1e-12 * Math.abs(e) + 1e-13,
      `${what}[${i}]: ${a}, want ${e} (error ${err.toExponential(2)})`,
    );
  });
}

/** The record of a chain's state that holds `key` (the transform that keeps it). */
function part(state: Tree, key: string): Record<string, unknown> | undefined {
  return (state as Record<string, unknown>[]).find((s) =>
    s !== null && typeof s === "object" && key in s
  );
}

function checkState(c: Case, step: number, state: Tree) {
  const want = c.states[String(step)];
  if (!want) return;
  for (const [key, value] of Object.entries(want)) {
    if (key === "step") continue;
    const rec = part(state, key);
    assert.ok(rec, `${c.label}: no "${key}" in the state`);
    const what = `${c.label} step ${step} state.${key}`;
    if (typeof value === "number") { // nadam's muProduct, a scalar
      close(rec[key] as Tensor, [value], what);
      continue;
    }
    const v = value as Leaves;
    const got = rec[key] as Params;
    close(got.w, v.w, `${what}.w`);
    close(got.b, v.b, `${what}.b`);
    if (rec.count !== undefined && typeof want.step === "number") {
      assert.equal(T.item(rec.count as Tensor), want.step, `${what}: count`);
    }
  }
}

function stepFn(opt: T.optim.Optimizer) {
  return (params: Params, state: Tree, grads: Params) => {
    const r = opt.update(grads, state, params);
    return { params: optim.applyUpdates(params, r.updates), state: r.state };
  };
}

Deno.test("optim options probe: the fixture covers every optimizer", () => {
  assert.equal(F.steps, 30);
  assert.equal(F.cases.length, 90);
  assert.deepEqual(
    [...new Set(F.cases.map((c) => c.name))].sort(),
    Object.keys(OPTIMIZERS).sort(),
  );
});

Deno.test("optim options probe: every option grid case, params after each step and the state torch keeps (float64, 1e-12)", async (t) => {
  for (const c of F.cases) {
    await t.step(c.label, () => {
      const opt = makeOptimizer(c);
      const step = stepFn(opt);
      let params = toParams(F.init);
      let state = opt.init(params);
      F.grads[c.grads].forEach((g, i) => {
        ({ params, state } = step(params, state, toParams(g)));
        close(params.w, c.params[i].w, `${c.label} step ${i + 1} w`);
        close(params.b, c.params[i].b, `${c.label} step ${i + 1} b`);
        checkState(c, i + 1, state);
      });
    });
  }
  console.log(`  worst relative error: ${worst.toExponential(2)}`);
});

Deno.test("optim options probe: our defaults are torch's (optax's) defaults", () => {
  // each case with options {} (and sgd with torch 2.x's lr 1e-3) run as opt()
  const defaults = F.cases.filter((c) =>
    !c.schedule && c.grads === "random" &&
    (Object.keys(c.options).length === 0 ||
      (c.name === "sgd" && Object.keys(c.options).join() === "lr"))
  );
  assert.deepEqual(
    defaults.map((c) => c.name).sort(),
    Object.keys(OPTIMIZERS).sort(),
  );
  for (const c of defaults) {
    const opt = OPTIMIZERS[c.name]();
    const step = stepFn(opt);
    let params = toParams(F.init);
    let state = opt.init(params);
    F.grads.random.forEach((g, i) => {
      ({ params, state } = step(params, state, toParams(g)));
      close(params.w, c.params[i].w, `${c.name}() step ${i + 1} w`);
      close(params.b, c.params[i].b, `${c.name}() step ${i + 1} b`);
    });
  }
});

Deno.test("optim options probe: every case under jit gives the eager bits (two leaves of different shapes, NaN included)", async (t) => {
  const bits = (x: Tensor) =>
    new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
  for (const c of F.cases) {
    await t.step(c.label, () => {
      const opt = makeOptimizer(c);
      const step = stepFn(opt);
      const jitted = T.jit(step);
      let [pe, pj] = [toParams(F.init), toParams(F.init)];
      let [se, sj]: Tree[] = [opt.init(pe), opt.init(pj)];
      F.grads[c.grads].forEach((g, i) => {
        const grads = toParams(g);
        ({ params: pe, state: se } = step(pe, se, grads));
        ({ params: pj, state: sj } = jitted(pj, sj, grads));
        const le: Tensor[] = T.treeLeaves({ pe, se } as Tree);
        const lj: Tensor[] = T.treeLeaves({ pj, sj } as Tree);
        assert.equal(le.length, lj.length);
        le.forEach((x, k) =>
          assert.deepEqual(bits(lj[k]), bits(x), `step ${i + 1} leaf ${k}`)
        );
      });
    });
  }
});

Deno.test("optim options probe: the options torch rejects are errors naming the optimizer and the option", () => {
  assert.equal(F.errors.length, 35);
  for (const e of F.errors) {
    // the option at fault is the last one given (nesterov: the combination)
    const key = Object.keys(e.options).at(-1)!;
    const re = new RegExp(
      `^optim\\.${e.name}: ${key}(\\[\\d\\])? (must be|momentum requires)`,
    );
    assert.throws(
      () => OPTIMIZERS[e.name](e.options),
      (err: Error) => re.test(err.message),
      `${e.name} ${JSON.stringify(e.options)} (torch: ${e.torch})`,
    );
  }
});

Deno.test("optim options probe: lion keeps a NaN gradient's NaN (optax's jnp.sign), where sign(NaN) = 0 froze the entry silently", () => {
  const t = optim.scaleByLion({ b1: 0.9, b2: 0.99 });
  const g = T.tensor([NaN, 2, -3, 0, Infinity, -Infinity], f64);
  const one = t.update(g, t.init(g));
  // sign((1 - b1) g + b1 * 0): jnp.sign gives [nan, 1, -1, 0, 1, -1]
  assert.deepEqual(T.toArray(one.updates), [NaN, 1, -1, 0, 1, -1]);
  // the momentum is NaN now; the next updates stay NaN (optax), not 0 (a frozen entry)
  const two = t.update(T.tensor([1, 1, 1, 1, 1, 1], f64), one.state);
  assert.ok(Number.isNaN((T.toArray(two.updates) as number[])[0]));
  // the fixture's lion case: the param of the NaN entry is NaN from step 10 on
  const c = F.cases.find((c) => c.name === "lion" && c.grads === "nan")!;
  const opt = makeOptimizer(c);
  let params = toParams(F.init);
  let state = opt.init(params);
  F.grads.nan.forEach((g, i) => {
    ({ params, state } = stepFn(opt)(params, state, toParams(g)));
    close(params.w, c.params[i].w, `lion step ${i + 1} w`);
  });
  assert.ok(Number.isNaN(params.w.data[1]));
});

Deno.test("optim options probe: scaleByLearningRate checks its options (an unknown key or a non-boolean flipSign was taken silently)", () => {
  assert.throws(
    () => optim.scaleByLearningRate(0.1, { fipSign: false } as never),
    /^Error: optim\.scaleByLearningRate: unknown option "fipSign" \(known options: flipSign\)/,
  );
  assert.throws(
    () => optim.scaleByLearningRate(0.1, { flipSign: "no" as never }),
    /^Error: optim\.scaleByLearningRate: flipSign must be a boolean/,
  );
  assert.throws(
    () => optim.scaleByLearningRate(0.1, null as never),
    /^Error: optim\.scaleByLearningRate: options must be an object, got null/,
  );
  const up = optim.scaleByLearningRate(0.5, { flipSign: false });
  const x = T.tensor([2], f64);
  assert.deepEqual(T.toArray(up.update(x, up.init(x)).updates), [1]);
});
