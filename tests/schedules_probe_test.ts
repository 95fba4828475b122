/**
 * optim.schedules at awkward settings against torch 1.13's
 * torch.optim.lr_scheduler stepped for up to 300 steps
 * (tests/fixtures/schedules_probe.json, written by
 * tests/fixtures/gen_schedules_probe.py): the value at step 0 and past the
 * end, milestones at the ends, restarts at their boundaries, chains of
 * multiplicative schedules, a multiplicativeLR after a milestone, lambdaLR
 * per parameter group, schedules inside a jitted optimizer step, and the
 * errors; and optim.lbfgs against torch.optim.LBFGS on Rosenbrock and a
 * least-squares problem (same fixture).
 */
import assert from "node:assert/strict";
import {
  add,
  item,
  jit,
  matmul,
  mul,
  optim,
  slice,
  sub,
  sum,
  type Tensor,
  tensor,
  type Tree,
  valueAndGrad,
} from "../mod.ts";
import fixture from "./fixtures/schedules_probe.json" with { type: "json" };

const S = optim.schedules;
// the lrLambda functions the fixture names (gen_schedules_probe.py's LAMBDAS)
const LAMBDAS: Record<string, (k: number) => number> = {
  "0.95^k": (k) => 0.95 ** k,
  "0.99": () => 0.99,
  "alternating": (k) => (k % 2 ? 0.9 : 1.05),
  "1/(k+1)": (k) => 1 / (k + 1),
  "cos k": (k) => 1.5 + Math.cos(k),
};

type Options = Record<string, unknown> & {
  schedulers?: [string, Options][];
  milestones?: number[];
  lrLambda?: string;
};

// deno-lint-ignore no-explicit-any
const BY_NAME = S as unknown as Record<string, (o: any) => optim.Schedule>;

/** The schedule of a fixture case (sub-schedules given as [name, options]). */
function make(name: string, lr: number, o: Options): optim.Schedule {
  const subs = () => o.schedulers!.map(([n, so]) => make(n, lr, so));
  if (name === "sequentialLR") {
    return S.sequentialLR({ schedulers: subs(), milestones: o.milestones! });
  }
  if (name === "chainedScheduler") {
    return S.chainedScheduler({ lr, schedulers: subs() });
  }
  if (o.lrLambda) return BY_NAME[name]({ lr, lrLambda: LAMBDAS[o.lrLambda] });
  // oneCycle and cyclicLR ignore the optimizer's lr, as torch
  if (name === "oneCycle" || name === "cyclicLR") return BY_NAME[name](o);
  return BY_NAME[name]({ lr, ...o });
}

const close = (got: number, want: number, what: string) =>
  assert.ok(
    Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)),
    `${what}: got ${got}, torch ${want}`,
  );

// torch's ChainedScheduler with a LambdaLR is not a product of factors
// (LambdaLR sets the rate); chainedScheduler's JSDoc says so
const NOT_A_PRODUCT = new Set([
  "exponentialLR then lambdaLR",
  "lambdaLR then exponentialLR",
]);
// torch's SequentialLR with milestone 0 gives the second schedule one step
// late; sequentialLR refuses it
const REFUSED = new Set(["milestone 0"]);

Deno.test("schedules probe: torch 1.13 values over 250 steps at awkward settings (1e-12)", async (t) => {
  assert.equal(fixture.cases.length, 46);
  for (const c of fixture.cases) {
    if (NOT_A_PRODUCT.has(c.label) || REFUSED.has(c.label)) continue;
    await t.step(`${c.name} ${c.label}`, () => {
      // where torch's recursive values differ from its closed form, say so
      assert.equal(c.closed, null, "torch's recursive and closed forms agree");
      const s = make(c.name, c.lr, c.options as Options);
      c.values.forEach((v, k) => close(s(k), v, `step ${k}`));
    });
  }
});

Deno.test("schedules probe: sequentialLR continues a multiplicativeLR from the rate it finds, as torch", () => {
  const c = fixture.cases.find((c) =>
    c.label === "exponentialLR then multiplicativeLR"
  )!;
  // torch: lr 0.1 * 0.9^k up to step 4, then 0.9^4 * 0.99^(k - 5) from step 5
  const s = make(c.name, c.lr, c.options as Options);
  c.values.forEach((v, k) => close(s(k), v, `step ${k}`));
  close(s(5), 0.1 * 0.9 ** 4, "step 5");
  close(s(7), 0.1 * 0.9 ** 4 * 0.99 ** 2, "step 7");
  // the multiplicativeLR's own lr is not used there (torch ignores it too)
  const other = S.sequentialLR({
    schedulers: [
      S.exponentialLR({ lr: 0.1, gamma: 0.9 }),
      S.multiplicativeLR({ lr: 7, lrLambda: () => 0.99 }),
    ],
    milestones: [5],
  });
  c.values.forEach((v, k) => close(other(k), v, `step ${k}`));
});

Deno.test("schedules probe: torch's milestone 0 and chains with lambdaLR are what the docs say", () => {
  // torch SequentialLR([ExponentialLR(0.9), StepLR(3, 0.5)], milestones=[0]):
  // step 0 from the first schedule, then the second one step late
  const m0 = fixture.cases.find((c) => c.label === "milestone 0")!;
  const step = S.stepLR({ lr: 0.1, stepSize: 3, gamma: 0.5 });
  m0.values.forEach((v, k) => close(v, k === 0 ? 0.1 : step(k - 1), `${k}`));
  assert.throws(
    () => make(m0.name, m0.lr, m0.options as Options),
    /^Error: optim\.schedules\.sequentialLR: milestones must be 1 increasing integers >= 1 \(one fewer than the schedulers\), got \[0\]$/,
  );
  // torch ChainedScheduler([ExponentialLR(0.9), LambdaLR(1/(k+1))]) is
  // LambdaLR's rate alone; with LambdaLR first, one factor 0.9 (not 0.9^k)
  const a = fixture.cases.find((c) =>
    c.label === "exponentialLR then lambdaLR"
  )!;
  const b = fixture.cases.find((c) =>
    c.label === "lambdaLR then exponentialLR"
  )!;
  a.values.forEach((v, k) => close(v, 0.1 / (k + 1), `${k}`));
  b.values.forEach((v, k) => close(v, 0.1 / (k + 1) * (k ? 0.9 : 1), `${k}`));
});

Deno.test("schedules probe: oneCycle reaches totalSteps and refuses the step after it, as torch", () => {
  const c = fixture.cases.find((c) => c.label === "totalSteps 251 cos")!;
  const s = make(c.name, c.lr, c.options as Options);
  assert.equal(c.values.length, 252);
  close(s(251), c.values[251], "step 251");
  assert.match(fixture.oneCycleError, /Tried to step 12 times/);
  const short = S.oneCycle({ maxLr: 0.4, totalSteps: 10 });
  short(10);
  assert.throws(() => short(11), /oneCycle: step 11 is past totalSteps 10/);
});

Deno.test("schedules probe: lambdaLR per parameter group (optim.multiTransform) as torch's list of lambdas", () => {
  const g = fixture.lambdaGroups;
  const tx = optim.multiTransform(
    Object.fromEntries(g.lambdas.map((name, i) => [
      `g${i}`,
      optim.sgd({
        lr: S.lambdaLR({ lr: g.lrs[i], lrLambda: LAMBDAS[name] }),
      }),
    ])),
    { a: "g0", b: "g1" },
  );
  const params = {
    a: tensor([1, 2], { dtype: "float64" }),
    b: tensor([3], { dtype: "float64" }),
  };
  const grads = {
    a: tensor([1, -1], { dtype: "float64" }),
    b: tensor([1], { dtype: "float64" }),
  };
  let state = tx.init(params);
  for (let k = 0; k < g.values.length; k++) {
    const r = tx.update(grads, state, params);
    state = r.state;
    close(-r.updates.a.data[0], g.values[k][0], `group 0 step ${k}`);
    close(-r.updates.b.data[0], g.values[k][1], `group 1 step ${k}`);
  }
});

Deno.test("schedules probe: schedules in a jitted sgd step give torch's rates, as eager", () => {
  const labels = [
    "totalSteps 251 cos",
    "t0 5 tMult 3 etaMin 0.05",
    "multiplicativeLR 0.99, multiplicativeLR alternating, exponentialLR, stepLR",
    "exponentialLR then multiplicativeLR",
    "triangular2 up 7 down 3",
  ];
  for (const label of labels) {
    const c = fixture.cases.find((c) => c.label === label)!;
    const opt = optim.sgd({ lr: make(c.name, c.lr, c.options as Options) });
    const params = { w: tensor([1, -2], { dtype: "float64" }) };
    const grads = { w: tensor([1, 0.5], { dtype: "float64" }) };
    type R = { updates: typeof params; state: Tree };
    const step = (s: Tree) => opt.update(grads, s, params) as unknown as R;
    const jitted = jit(step as never) as unknown as typeof step;
    let eager = opt.init(params), traced = opt.init(params);
    c.values.forEach((v, k) => {
      const e = step(eager), j = jitted(traced);
      [eager, traced] = [e.state, j.state];
      close(-e.updates.w.data[0], v, `${label} eager step ${k}`);
      assert.deepEqual(
        j.updates.w.data,
        e.updates.w.data,
        `${label} jit step ${k}`,
      );
    });
  }
});

Deno.test("schedules probe: bad options name the schedule and the option", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => S.oneCycle({ maxLr: 1, totalSteps: 0 }),
      /^optim\.schedules\.oneCycle: totalSteps must be an integer >= 1, got 0$/,
    ],
    [
      () => S.oneCycle({ maxLr: 1, totalSteps: 100, pctStart: 0 }),
      /^optim\.schedules\.oneCycle: pctStart 0 with totalSteps 100 leaves a phase without steps \(it would end at step -1, before it starts\)/,
    ],
    [
      () => S.oneCycle({ maxLr: 1, totalSteps: 4, pctStart: 0.25 }),
      /^optim\.schedules\.oneCycle: pctStart 0\.25 with totalSteps 4 leaves a phase without steps \(it would end at step 0, where torch divides by zero\)/,
    ],
    [
      () => S.multiStepLR({ lr: 1, milestones: [5, 3] }),
      /^optim\.schedules\.multiStepLR: milestones must be increasing, got \[5,3\]$/,
    ],
    [
      () =>
        S.sequentialLR({
          schedulers: [S.constant(1), S.constant(2), S.constant(3)],
          milestones: [5, 3],
        }),
      /^optim\.schedules\.sequentialLR: milestones must be 2 increasing integers >= 1 \(one fewer than the schedulers\), got \[5,3\]$/,
    ],
    [
      () => S.stepLR({ lr: 1, stepSize: 2 })(-1),
      /^optim\.schedules\.stepLR: step must be an integer >= 0 \(updates already made\), got -1$/,
    ],
    [
      () => S.cosineAnnealingWarmRestarts({ lr: 1, t0: 0 }),
      /^optim\.schedules\.cosineAnnealingWarmRestarts: t0 must be an integer >= 1, got 0$/,
    ],
    [
      () => S.cyclicLR({ baseLr: 0, maxLr: 1, stepSizeDown: 0 }),
      /^optim\.schedules\.cyclicLR: stepSizeDown must be an integer >= 1, got 0$/,
    ],
    [
      () => S.polynomialLR({ lr: 1, totalIters: 0 }),
      /^optim\.schedules\.polynomialLR: totalIters must be an integer >= 1, got 0$/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(
      f,
      (e: Error) => re.test(e.message) || assert.fail(e.message),
    );
  }
});

Deno.test("lbfgs probe: trajectories of torch.optim.LBFGS on Rosenbrock and least squares, evaluation counts exact", async (t) => {
  const L = fixture.lbfgs;
  const f64 = { dtype: "float64" } as const;
  const A = tensor(L.A, f64), b = tensor(L.b, f64);
  const losses: Record<string, (p: { x: Tensor }) => Tensor> = {
    rosen: ({ x }) => {
      const n = x.shape[0];
      const lo = slice(x, [0], [n - 1]);
      const u = sub(slice(x, [1], [n]), mul(lo, lo)), v = sub(1, lo);
      return sum(add(mul(100, mul(u, u)), mul(v, v)));
    },
    lsq: ({ x }) => {
      const r = sub(matmul(A, x), b), x2 = mul(x, x);
      return add(mul(0.5, sum(mul(r, r))), mul(0.01, sum(mul(x2, x2))));
    },
  };
  const names: Record<string, string> = {
    lr: "lr",
    max_iter: "maxIter",
    max_eval: "maxEval",
    tolerance_grad: "toleranceGrad",
    tolerance_change: "toleranceChange",
    history_size: "historySize",
    line_search_fn: "lineSearchFn",
  };
  assert.equal(L.cases.length, 9);
  for (const c of L.cases) {
    await t.step(`${c.problem} ${JSON.stringify(c.options)}`, () => {
      const options = Object.fromEntries(
        Object.entries(c.options).map((
          [k, v],
        ) => [names[k], v === "strong_wolfe" ? "strongWolfe" : v]),
      );
      const opt = optim.lbfgs(options);
      const f = losses[c.problem];
      const x0 = L.x0[c.problem as "rosen" | "lsq"];
      let params = { x: tensor(x0, f64) };
      let state = opt.init(params);
      c.steps.forEach((want, k) => {
        const r = opt.step(valueAndGrad(f), params, state);
        [params, state] = [r.params, r.state];
        const near = (got: number, w: number, what: string) =>
          assert.ok(
            Math.abs(got - w) <= c.tol * Math.max(1, Math.abs(w)),
            `step ${k} ${what}: got ${got}, torch ${w}`,
          );
        near(item(r.loss), want.loss, "loss");
        want.x.forEach((w, i) => near(params.x.data[i], w, `x[${i}]`));
        assert.equal(item(state.funcEvals), want.funcEvals, `step ${k} evals`);
        assert.equal(item(state.nIter), want.nIter, `step ${k} iterations`);
      });
    });
  }
});
