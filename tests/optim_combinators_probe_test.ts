/**
 * Probe of optim's combinators and wrappers (multiSteps, masked,
 * multiTransform, averagedModel, reduceLROnPlateau) against optax's formulas
 * written out in NumPy float32 and torch 1.13's ReduceLROnPlateau with a
 * min_lr per parameter group (`optim_combinators_probe.json`, written by
 * `gen_optim_combinators_probe.py`); jit of a full step with each, checkpoint
 * and resume, empty trees, integer leaves, NaN gradients, bad input.
 */
import assert from "node:assert/strict";
import {
  item,
  jit,
  optim,
  reshape,
  type Tensor,
  tensor,
  toArray,
  type Tree,
  treeLeaves,
} from "../mod.ts";
import { deserializeSafetensors, serializeSafetensors } from "../data/mod.ts";
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";

type Leaves = Record<string, number[]>;
const fixture = JSON.parse(
  Deno.readTextFileSync(
    new URL("./fixtures/optim_combinators_probe.json", import.meta.url),
  ),
);
const ox = fixture.optax as {
  init: Leaves;
  shapes: Record<string, number[]>;
  grads: Leaves[];
  lion: { lr: number; b1: number; b2: number; weightDecay: number };
  lamb: { lr: number; weightDecay: number };
  multiStepsLion: { everyK: number; steps: OptaxStep[] };
  multiStepsLionStale: {
    everyK: number;
    miniStep0: number;
    steps: OptaxStep[];
  };
  maskedLamb: {
    mask: Record<string, boolean>;
    steps: OptaxStep[];
    state: OptaxState;
  };
  multiTransform: {
    labels: Record<string, string>;
    steps: OptaxStep[];
    state: Record<string, OptaxState>;
  };
};
/** An optax inner state after the last step: count and moments by leaf. */
type OptaxState = { count: number; mu: Leaves; nu?: Leaves };
type OptaxStep = {
  updates: Leaves;
  params: Leaves;
  miniStep?: number;
  gradientStep?: number;
  acc?: Leaves;
};

/** A { w, b } tree of float32 tensors from the fixture's flat lists. */
const f32Tree = (l: Leaves) => ({
  w: reshape(tensor(l.w), ox.shapes.w),
  b: reshape(tensor(l.b), ox.shapes.b),
});

const close = (a: Tree, b: Leaves, msg: string) => {
  const t = a as Record<string, Tensor>;
  for (const k of ["w", "b"]) {
    assertAllClose(t[k], b[k], { atol: 1e-6, rtol: 1e-5, msg: `${msg} ${k}` });
  }
};

/** Runs `opt` on the fixture's grads from its init, comparing each step. */
function followOptax(
  opt: optim.GradientTransformation,
  steps: OptaxStep[],
  state0?: (s: Tree) => Tree,
): Tree {
  let params: Tree = f32Tree(ox.init);
  let state = opt.init(params);
  if (state0) state = state0(state);
  steps.forEach((want, i) => {
    const r = opt.update(f32Tree(ox.grads[i]), state, params);
    close(r.updates, want.updates, `step ${i + 1} updates`);
    params = optim.applyUpdates(params, r.updates);
    state = r.state;
    close(params, want.params, `step ${i + 1} params`);
    if (want.miniStep !== undefined) {
      const s = state as optim.MultiStepsState;
      assert.equal(item(s.miniStep), want.miniStep, `step ${i + 1} miniStep`);
      assert.equal(item(s.gradientStep), want.gradientStep);
      close(s.acc, want.acc!, `step ${i + 1} acc`);
    }
  });
  return state;
}

/**
 * The first part of one of our optimizers' states (a chain's: scaleByLion's
 * or scaleByAdam's { count, mu, nu }, moments as the group's array) against
 * optax's for the one leaf of the group, `leaf`.
 */
function sameMoments(ours: Tree, want: OptaxState, leaf: string) {
  const s = (ours as Tree[])[0] as {
    count: Tensor;
    mu: Tensor[];
    nu?: Tensor[];
  };
  assert.equal(item(s.count), want.count);
  assert.equal(s.mu.length, 1);
  const tol = { atol: 1e-7, rtol: 1e-5 };
  assertAllClose(s.mu[0], want.mu[leaf], { ...tol, msg: `mu ${leaf}` });
  if (want.nu) assertAllClose(s.nu![0], want.nu[leaf], { ...tol, msg: "nu" });
}

const lion = () => optim.lion(ox.lion);
const lamb = () => optim.lamb(ox.lamb);

Deno.test("optim combinators probe: multiSteps(lion) follows optax.MultiSteps (NumPy float32): updates, params, counters and the accumulator, 9 calls", () => {
  const m = ox.multiStepsLion;
  followOptax(optim.multiSteps(lion(), { everyK: m.everyK }), m.steps);
});

Deno.test("optim combinators probe: multiSteps from a state whose miniStep is past everyK - 1 steps as optax's (it never stepped again, its counter growing)", () => {
  const m = ox.multiStepsLionStale;
  const at = (n: number) => tensor(n, { dtype: "int32" });
  followOptax(
    optim.multiSteps(lion(), { everyK: m.everyK }),
    m.steps,
    (s) => ({ ...(s as optim.MultiStepsState), miniStep: at(m.miniStep0) }),
  );
});

Deno.test("optim combinators probe: masked(lamb) and multiTransform({ lion, lamb }) follow optax's masked and multi_transform (NumPy float32), their states' moments too", () => {
  const m = ox.maskedLamb;
  sameMoments(followOptax(optim.masked(lamb(), m.mask), m.steps), m.state, "w");
  const labels = ox.multiTransform.labels;
  const s = followOptax(
    optim.multiTransform({ l: lion(), m: lamb() }, labels),
    ox.multiTransform.steps,
  ) as Record<string, Tree>;
  sameMoments(s.l, ox.multiTransform.state.l, "b");
  sameMoments(s.m, ox.multiTransform.state.m, "w");
  // the same labels given as a function of the path
  followOptax(
    optim.multiTransform({ l: lion(), m: lamb() }, (path) => labels[path]),
    ox.multiTransform.steps,
  );
});

Deno.test("optim combinators probe: ReduceLROnPlateau with a min_lr per parameter group (multiTransform of two wrapped optimizers) follows torch's lrs, counters and params (float64, 1e-12)", () => {
  const pg = fixture.plateauGroups;
  const f64 = (v: number[]) => tensor(v, { dtype: "float64" });
  const wrap = (g: "a" | "b") =>
    optim.reduceLROnPlateau(
      optim.sgd({ lr: pg.groups[g].lr, momentum: pg.momentum }),
      { ...pg.options, minLr: pg.groups[g].minLr },
    );
  const groups = { a: wrap("a"), b: wrap("b") };
  const opt = optim.multiTransform(groups, { a: "a", b: "b" });
  let params: Tree = { a: f64(pg.init.a), b: f64(pg.init.b) };
  let state = opt.init(params) as Record<"a" | "b", optim.PlateauState>;
  pg.epochs.forEach((e: {
    steps: { grads: Leaves; params: Leaves }[];
    metric: number;
    lrs: Record<string, number>;
    numBadEpochs: number;
    cooldownCounter: number;
  }, i: number) => {
    for (const s of e.steps) {
      const r = opt.update(
        { a: f64(s.grads.a), b: f64(s.grads.b) },
        state,
        params,
      );
      params = optim.applyUpdates(params, r.updates);
      state = r.state as typeof state;
      const p = params as Record<string, Tensor>;
      for (const g of ["a", "b"]) {
        assertAllClose(p[g], s.params[g], {
          atol: 1e-12,
          rtol: 1e-12,
          msg: `epoch ${i + 1} ${g}`,
        });
      }
    }
    for (const g of ["a", "b"] as const) {
      state = { ...state, [g]: groups[g].step(state[g], e.metric) };
      assert.equal(item(state[g].lr), e.lrs[g], `epoch ${i + 1} lr ${g}`);
      assert.equal(item(state[g].numBadEpochs), e.numBadEpochs);
      assert.equal(item(state[g].cooldownCounter), e.cooldownCounter);
    }
  });
});

// ---------------------------------------------------------------------------
// jit, checkpoints, empty trees

const combinators = (): Record<string, optim.GradientTransformation> => ({
  "multiSteps(adam)": optim.multiSteps(optim.adam({ lr: 0.1 }), { everyK: 3 }),
  "masked(adamw)": optim.masked(optim.adamw({ lr: 0.1 }), {
    w: true,
    b: false,
  }),
  "multiTransform(lion, lamb)": optim.multiTransform(
    { l: optim.lion({ lr: 0.1 }), m: optim.lamb({ lr: 0.1 }) },
    (path) => path === "w" ? "m" : "l",
  ),
  "multiSteps(multiTransform(adafactor, setToZero))": optim.multiSteps(
    optim.multiTransform(
      {
        a: optim.adafactor({ lr: 0.1, minDimSizeToFactor: 2 }),
        z: optim.setToZero(),
      },
      { w: "a", b: "z" },
    ),
    { everyK: 2 },
  ),
  "reduceLROnPlateau(sgd)": optim.reduceLROnPlateau(
    optim.sgd({ lr: 0.1, momentum: 0.9 }),
  ),
  "multiSteps(reduceLROnPlateau(adam))": optim.multiSteps(
    optim.reduceLROnPlateau(optim.adam({ lr: 0.1 })),
    { everyK: 2 },
  ),
});

const treeSame = (a: Tree, b: Tree, msg: string) => {
  const [la, lb] = [treeLeaves(a), treeLeaves(b)];
  assert.equal(la.length, lb.length, msg);
  la.forEach((x, i) => sameBits(x, lb[i], `${msg}: leaf ${i}`));
};

Deno.test("optim combinators probe: a jitted full step with each combinator gives the eager bits (NaN gradients included), traced once; a checkpoint resumes with the same next step", () => {
  const grads = ox.grads.map((g, i) => {
    const t = f32Tree(g);
    // a NaN in one call's gradient: multiSteps keeps it in the mean until the
    // step it makes (optax's, with no skipping), then starts clean
    return i === 4 ? { ...t, b: tensor([NaN, 1, 2]) } : t;
  });
  for (const [name, opt] of Object.entries(combinators())) {
    const step = (p: Tree, s: Tree, g: Tree) => {
      const r = opt.update(g, s, p);
      return { p: optim.applyUpdates(p, r.updates), s: r.state };
    };
    let traces = 0;
    const jstep = jit((p: Tree, s: Tree, g: Tree) => {
      traces++;
      return step(p, s, g);
    });
    const p0 = f32Tree(ox.init);
    let e = { p: p0 as Tree, s: opt.init(p0) as Tree };
    let j = e;
    for (let i = 0; i < 8; i++) {
      e = step(e.p, e.s, grads[i]);
      j = jstep(j.p, j.s, grads[i]);
      treeSame(j.p, e.p, `${name}: params after ${i + 1}`);
      treeSame(j.s, e.s, `${name}: state after ${i + 1}`);
    }
    assert.equal(traces, 1, `${name}: traces`);
    const back = deserializeSafetensors(serializeSafetensors(e.s), {
      like: opt.init(p0),
    }) as Tree;
    treeSame(back, e.s, `${name}: state read back`);
    treeSame(
      step(e.p, back, grads[8]).p,
      step(e.p, e.s, grads[8]).p,
      `${name}: the step after resuming`,
    );
  }
});

Deno.test("optim combinators probe: empty param trees give empty updates and a state that round-trips, with every combinator", () => {
  const empty = (): Record<string, optim.GradientTransformation> => ({
    ...combinators(),
    "masked(adamw)": optim.masked(optim.adamw(), {}),
    "multiTransform(lion, lamb)": optim.multiTransform(
      { l: optim.lion(), m: optim.lamb() },
      {},
    ),
    "multiSteps(multiTransform(adafactor, setToZero))": optim.multiSteps(
      optim.multiTransform({ z: optim.setToZero() }, {}),
      { everyK: 2 },
    ),
  });
  for (const [name, opt] of Object.entries(empty())) {
    let s = opt.init({});
    for (let i = 0; i < 3; i++) {
      const r = opt.update({}, s, {});
      assert.deepEqual(r.updates, {}, name);
      s = r.state;
    }
    const back = deserializeSafetensors(serializeSafetensors(s), {
      like: opt.init({}),
    }) as Tree;
    treeSame(back, s, name);
  }
  const swa = optim.averagedModel();
  const s = swa.updateParameters(swa.init({}), {});
  assert.deepEqual(s.params, {});
  assert.equal(item(s.nAveraged), 1);
});

// ---------------------------------------------------------------------------
// integer leaves, NaN, bad input

Deno.test("optim combinators probe: multiSteps refuses an int32 leaf (its running mean became float32, changing the state's dtype so a checkpoint no longer loaded); frozen outside it, the leaf keeps its bits", () => {
  const p = { a: tensor([1, 2]), n: tensor(3, { dtype: "int32" }) };
  const inner = optim.multiTransform(
    { x: optim.sgd({ lr: 0.5 }), f: optim.setToZero() },
    { a: "x", n: "f" },
  );
  assertErrors("optim.multiSteps.init(params)", [
    [
      () => optim.multiSteps(inner, { everyK: 2 }).init(p),
      /params leaf "n" is int32; optimizers update float tensors only/,
    ],
  ]);
  // what the message proposes: multiSteps inside the group that trains
  const opt = optim.multiTransform(
    {
      x: optim.multiSteps(optim.sgd({ lr: 0.5 }), { everyK: 2 }),
      f: optim.setToZero(),
    },
    { a: "x", n: "f" },
  );
  let params: Tree = p;
  let state = opt.init(p);
  const g = { a: tensor([1, 3]), n: tensor(7, { dtype: "int32" }) };
  for (let i = 0; i < 2; i++) {
    const r: { updates: Tree; state: typeof state } = opt.update(
      g,
      state,
      params,
    );
    params = optim.applyUpdates(params, r.updates);
    state = r.state;
  }
  const q = params as typeof p;
  assert.deepEqual(toArray(q.a), [0.5, 0.5]); // one step: 1 - 0.5·1, 2 - 0.5·3
  assert.equal(q.n.dtype, "int32");
  assert.equal(item(q.n), 3);
  const back = deserializeSafetensors(serializeSafetensors(state), {
    like: opt.init(p),
  }) as Tree;
  treeSame(back, state, "state read back");
});

Deno.test("optim combinators probe: averagedModel refuses params whose dtype is not the average's (the averaged state turned float64; torch copies into the averaged model's own dtype)", () => {
  const swa = optim.averagedModel();
  const s = swa.init({ w: tensor([1, 2]) });
  assertErrors("optim.averagedModel.updateParameters", [
    [
      () =>
        swa.updateParameters(s, { w: tensor([1, 2], { dtype: "float64" }) }),
      /leaf "w" is float32 in state.params but float64 in params/,
    ],
    [
      () => swa.updateParameters(s, { w: tensor([1, 2], { dtype: "int32" }) }),
      /leaf "w" is float32 in state.params but int32 in params/,
    ],
  ]);
  // a NaN param is averaged in as torch's (the average is NaN from then on)
  let t = swa.updateParameters(s, { w: tensor([NaN, 2]) });
  t = swa.updateParameters(t, { w: tensor([4, 4]) });
  assert.deepEqual(toArray(t.params.w), [NaN, 3]);
});

Deno.test("optim combinators probe: a NaN metric is a bad epoch, as torch's is_better(float('nan'), best) is False", () => {
  const opt = optim.reduceLROnPlateau(optim.sgd({ lr: 1 }), {
    patience: 1,
    factor: 0.5,
  });
  let s = opt.init(tensor([0]));
  const lrs = [];
  for (const m of [1, NaN, NaN, 0.5, NaN]) {
    s = opt.step(s, m);
    lrs.push(item(s.lr));
  }
  // epochs 2 and 3 are bad (patience 1: the second reduces); 4 improves on 1
  assert.deepEqual(lrs, [1, 1, 0.5, 0.5, 0.5]);
  assert.equal(item(s.best), 0.5);
  assert.equal(item(s.numBadEpochs), 1);
});

Deno.test('optim combinators probe: bad options and mismatched masks are errors naming the function, the argument, what was expected and what came (reduceLROnPlateau\'s mode of another type said "got undefined" or threw a TypeError)', () => {
  const sgd = optim.sgd();
  assertErrors("optim.multiSteps", [
    [
      () => optim.multiSteps(sgd, { everyK: 0 }),
      /everyK must be an integer in \[1, 2147483647\], got 0/,
    ],
    [() => optim.multiSteps(sgd, { everyK: -2 }), /everyK .* got -2/],
    [() => optim.multiSteps(sgd, { everyK: 1.5 }), /everyK .* got 1.5/],
    [
      () => optim.multiSteps(sgd, { everyK: "2" as never }),
      /everyK .* got string 2/,
    ],
    [
      () => optim.multiSteps(sgd, { everyK: 2, k: 2 } as never),
      /unknown option "k"/,
    ],
  ]);
  // (a mode that is not a string came out as "got undefined", or as a
  // TypeError from JSON.stringify for a bigint)
  assertErrors("optim.reduceLROnPlateau", [
    [
      () => optim.reduceLROnPlateau(sgd, { mode: (() => "min") as never }),
      /mode must be "min" or "max", got function/,
    ],
    [
      () => optim.reduceLROnPlateau(sgd, { mode: 1n as never }),
      /mode must be "min" or "max", got bigint 1/,
    ],
    [
      () => optim.reduceLROnPlateau(sgd, { thresholdMode: Symbol() as never }),
      /thresholdMode must be "rel" or "abs", got symbol/,
    ],
    [
      () => optim.reduceLROnPlateau(sgd, { mode: "MIN" as never }),
      /mode must be "min" or "max", got "MIN"/,
    ],
  ]);
  const params = { w: tensor([1]), b: { x: tensor([1]), y: tensor([2]) } };
  assertErrors("optim.masked", [
    [
      () => optim.masked(sgd, { w: true }).init(params),
      /mask at \(root\) must be an object with the params' keys \[b,w\], got keys \[w\]/,
    ],
    [
      () =>
        optim.masked(sgd, { w: true, b: { x: 1, y: true } } as never).init(
          params,
        ),
      /mask at "b.x" must be true or false, got number 1/,
    ],
    [
      () => optim.masked(sgd, { w: true, b: [true, true] }).init(params),
      /mask at "b" must be an object with the params' keys \[x,y\], got an array/,
    ],
  ]);
  assertErrors("optim.multiTransform", [
    [
      () => optim.multiTransform({ a: sgd }, () => "c").init(params),
      /labels returned at "b.x" must be one of the transforms' labels \("a"\), got string c/,
    ],
  ]);
});

Deno.test("optim combinators probe: an error of a group's transformation about one of its leaves names that leaf's path in the params too (it named only its index in the group's array)", () => {
  const p = {
    a: tensor([1]),
    m: tensor([2]),
    n: tensor(1, { dtype: "int32" }),
  };
  assertErrors("optim.sgd.init(params)", [
    [
      () => optim.multiTransform({ x: optim.sgd() }, () => "x").init(p),
      /params leaf "2" is int32; .*\(optim\.multiTransform: transforms\.x sees its leaves as an array; its leaf 2 is the params' "n"\)$/,
    ],
    [
      () => optim.masked(optim.sgd(), { a: false, m: true, n: true }).init(p),
      /params leaf "1" is int32; .*\(optim\.masked: inner sees its leaves as an array; its leaf 1 is the params' "n"\)$/,
    ],
    [
      // nested groups: [a, m, n] -> y gets [m, n]
      () =>
        optim.multiTransform(
          {
            x: optim.multiTransform(
              { y: optim.sgd(), z: optim.sgd() },
              (path) => path === "0" ? "z" : "y",
            ),
          },
          () => "x",
        ).init(p),
      /its leaf 1 is the params' "2"\) \(optim\.multiTransform: transforms\.x sees its leaves as an array; its leaf 2 is the params' "n"\)$/,
    ],
  ]);
  const q = { a: tensor([1]), m: tensor([2, 3]) };
  const opt = optim.multiTransform({ x: optim.adam() }, { a: "x", m: "x" });
  assertErrors("optim.scaleByAdam", [
    [
      () => opt.update({ a: tensor([1]), m: tensor([1]) }, opt.init(q), q),
      /leaf "1" has shape \[1\] in the updates but \[2\] .*its leaf 1 is the params' "m"\)$/,
    ],
  ]);
});
