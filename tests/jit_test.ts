/**
 * jit: a traced plan replays the same kernels, so results are the same bits
 * as the eager calls (a LeNet-5 training step for 50 steps, every row of the
 * op tables forward and under grad); one trace per signature; static
 * arguments; the error when a jitted function reads tensor data; jit inside
 * other transforms.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { drawValues, type Row } from "./_op_table.ts";
import { allRows } from "./_rows.ts";
import { sameBits } from "./_helpers.ts";
import { primitives } from "../ops/trace.ts";
import { alignUp, runtime, WasmRuntime } from "../ops/kernels/wasm/runtime.ts";
import { HEAP_BASE } from "../ops/kernels/wasm/layout.ts";
import { fuseEpilogues, MAX_PLANS, trace } from "../ops/jit.ts";
import { plateauSgd } from "./_checkpoint_cases.ts";
import { type Fused, schedule } from "../ops/fusion.ts";

const rows: Row[] = allRows;

Deno.test("jit: 50 LeNet-5 training steps (loss, gradient, SGD) equal the eager steps bit for bit, with one trace", async () => {
  const { train } = await T.data.loadMnist();
  const x = T.data.padImages(T.slice(train.x, [0], [32]), 2);
  const y = T.slice(train.y, [0], [32]);
  const net = T.nn.lenet5();
  type P = ReturnType<typeof net.init>;
  const step = (p: P, xb: Tensor, yb: Tensor) => {
    const [loss, g] = T.valueAndGrad((q: P) =>
      T.crossEntropy(net.apply(q, xb), yb)
    )(p);
    const next = T.treeMap(
      (w: Tensor, gw: Tensor) => T.sub(w, T.mul(gw, 0.05)),
      p,
      g,
    ) as P;
    return { params: next, loss };
  };
  const jitted = T.jit(step);
  let eager = net.init(T.random.key(0)), fast = eager;
  for (let s = 0; s < 50; s++) {
    const lo = 16 * (s % 2); // two batches of 16, alternating
    const xb = T.slice(x, [lo], [lo + 16]), yb = T.slice(y, [lo], [lo + 16]);
    const a = step(eager, xb, yb), b = jitted(fast, xb, yb);
    sameBits(b.loss, a.loss, `loss at step ${s}`);
    eager = a.params;
    fast = b.params;
  }
  const [le, lf] = [T.treeLeaves(eager), T.treeLeaves(fast)];
  le.forEach((l, i) => sameBits(lf[i], l, `param ${i} after 50 steps`));
  assert.equal(jitted.traceCount(), 1);
});

Deno.test("jit: a whole training step with every optimizer and every schedule equals the eager steps bit for bit, with one trace", () => {
  const { optim } = T;
  const { schedules: sch } = optim;
  // a small CNN: 4-D, 2-D and 1-D params; adafactor factors its 2-D ones
  const net = T.nn.sequential(
    T.nn.conv2d({ inChannels: 1, outChannels: 3, kernelSize: 3 }),
    T.nn.relu,
    T.nn.flatten(),
    T.nn.linear({ inFeatures: 48, outFeatures: 5 }),
  );
  type P = ReturnType<typeof net.init>;
  const x = T.random.normal(T.random.key(1), [4, 1, 6, 6]);
  const y = T.random.randint(T.random.key(2), [4], 0, 5);
  const opts: Record<string, T.optim.GradientTransformation> = {
    "sgd (Nesterov, weight decay)": optim.sgd({
      lr: 0.05,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 5e-4,
    }),
    "adagrad (lrDecay)": optim.adagrad({ lrDecay: 0.1 }),
    rmsprop: optim.rmsprop({ momentum: 0.5, centered: true }),
    adam: optim.adam({ lr: 0.01 }),
    "adam (amsgrad)": optim.adam({ lr: 0.01, amsgrad: true }),
    adamw: optim.adamw({ lr: 0.01 }),
    adadelta: optim.adadelta({}),
    nadam: optim.nadam({}),
    radam: optim.radam({}), // rho_t > 5 from step 6: both branches run
    lion: optim.lion({ lr: 1e-3 }),
    lamb: optim.lamb({ lr: 1e-2 }),
    adafactor: optim.adafactor({ minDimSizeToFactor: 2 }),
    adamax: optim.adamax({ lr: 0.01, weightDecay: 0.01 }),
    rprop: optim.rprop({ lr: 0.01 }),
    asgd: optim.asgd({ lr: 0.01, t0: 2 }),
    "reduceLROnPlateau(sgd), lr reduced": plateauSgd(0.1),
    "multiTransform(adamw, sgd, setToZero)": optim.multiTransform(
      {
        weights: optim.adamw({ lr: 0.01 }),
        head: optim.sgd({ lr: 0.1, momentum: 0.9 }),
        frozen: optim.setToZero(),
      },
      (path) =>
        path === "0.bias"
          ? "frozen"
          : path.startsWith("3.")
          ? "head"
          : "weights",
    ),
    "multiSteps(adam), everyK 3": optim.multiSteps(optim.adam({ lr: 0.01 }), {
      everyK: 3,
    }),
    "chain(masked(addDecayedWeights), sgd)": optim.chain(
      optim.masked(optim.addDecayedWeights(0.1), (p) => p.endsWith("weight")),
      optim.sgd({ lr: 0.1 }),
    ),
    "chain(clipByGlobalNorm, adam)": optim.chain(
      optim.clipByGlobalNorm(0.5),
      optim.adam({ lr: 0.01 }),
    ),
    "sgd, stepLR": optim.sgd({ lr: sch.stepLR({ lr: 0.1, stepSize: 3 }) }),
    "sgd, multiStepLR": optim.sgd({
      lr: sch.multiStepLR({ lr: 0.1, milestones: [2, 5] }),
    }),
    "sgd, exponentialLR": optim.sgd({
      lr: sch.exponentialLR({ lr: 0.1, gamma: 0.7 }),
    }),
    "adam, cosineAnnealing": optim.adam({
      lr: sch.cosineAnnealing({ lr: 0.01, tMax: 5 }),
    }),
    "adamw, linearWarmup": optim.adamw({
      lr: sch.linearWarmup({ lr: 0.01, totalIters: 4 }),
    }),
    "sgd, warmupCosine": optim.sgd({
      lr: sch.warmupCosine({ lr: 0.1, warmupSteps: 2, tMax: 7 }),
      momentum: 0.9,
    }),
    "sgd, cosineAnnealingWarmRestarts": optim.sgd({
      lr: sch.cosineAnnealingWarmRestarts({ lr: 0.1, t0: 2, tMult: 2 }),
    }),
    "adam, polynomialLR": optim.adam({
      lr: sch.polynomialLR({ lr: 0.01, totalIters: 6, power: 2 }),
    }),
    "sgd, constantLR": optim.sgd({
      lr: sch.constantLR({ lr: 0.1, factor: 0.5, totalIters: 3 }),
    }),
    "sgd, cyclicLR": optim.sgd({
      lr: sch.cyclicLR({ baseLr: 0.01, maxLr: 0.1, stepSizeUp: 2 }),
      momentum: 0.9,
    }),
    "adam, linearLR": optim.adam({
      lr: sch.linearLR({ lr: 0.01, startFactor: 0.25, totalIters: 4 }),
    }),
    "sgd, sequentialLR (linearLR, exponentialLR)": optim.sgd({
      lr: sch.sequentialLR({
        schedulers: [
          sch.linearLR({ lr: 0.1, startFactor: 0.5, totalIters: 3 }),
          sch.exponentialLR({ lr: 0.1, gamma: 0.8 }),
        ],
        milestones: [3],
      }),
    }),
    "sgd, swaLR": optim.sgd({
      lr: sch.swaLR({ lr: 0.1, swaLr: 0.02, annealEpochs: 3 }),
    }),
    "sgd, lambdaLR": optim.sgd({
      lr: sch.lambdaLR({ lr: 0.1, lrLambda: (k) => 1 / (1 + k) }),
    }),
    "adam, multiplicativeLR": optim.adam({
      lr: sch.multiplicativeLR({
        lr: 0.01,
        lrLambda: (k) => k % 2 ? 0.8 : 1.1,
      }),
    }),
    "sgd, chainedScheduler (constantLR, exponentialLR)": optim.sgd({
      lr: sch.chainedScheduler({
        lr: 0.1,
        schedulers: [
          sch.constantLR({ lr: 0.1, factor: 0.5, totalIters: 3 }),
          sch.exponentialLR({ lr: 0.1, gamma: 0.8 }),
        ],
      }),
    }),
    "sgd, oneCycle": optim.sgd({
      lr: sch.oneCycle({ maxLr: 0.1, totalSteps: 8 }),
      momentum: 0.9,
      nesterov: true,
    }),
  };
  for (const [name, opt] of Object.entries(opts)) {
    const step = (p: P, s: T.Tree) => {
      const g = T.grad((q: P) => T.crossEntropy(net.apply(q, x), y))(p);
      const { updates, state } = opt.update(g, s, p);
      return { params: T.optim.applyUpdates(p, updates), state };
    };
    const jitted = T.jit(step);
    let a = {
      params: net.init(T.random.key(0)),
      state: opt.init(net.init(T.random.key(0))) as T.Tree,
    };
    let b = a;
    for (let i = 0; i < 8; i++) {
      a = step(a.params, a.state);
      b = jitted(b.params, b.state);
    }
    const [la, lb] = [T.treeLeaves(a as T.Tree), T.treeLeaves(b as T.Tree)];
    la.forEach((l, i) => sameBits(lb[i], l, `${name}: leaf ${i}`));
    assert.equal(jitted.traceCount(), 1, name);
  }
});

for (const row of rows) {
  Deno.test(`jit: the same bits as eager, forward and gradient: ${row.name}`, () => {
    fc.assert(
      fc.property(
        row.arb,
        fc.integer({ min: 0, max: 1e6 }),
        ({ shapes, p }, seed) => {
          const args = shapes.map((s, i) =>
            drawValues(s, row.domains[i] ?? "real", seed + 7919 * i)
          );
          const f = (...xs: Tensor[]) => row.f(p, ...xs);
          const g = T.grad((...xs: Tensor[]) => T.sum(f(...xs)), {
            argnums: args.map((_, i) => i),
          });
          // other values of the same shapes: a replay must compute them, not
          // what the trace saw
          const other = shapes.map((s, i) =>
            drawValues(s, row.domains[i] ?? "real", seed + 104729 + 7919 * i)
          );
          const jf = T.jit(f), jg = T.jit(g);
          // the later calls replay the plan the first one traced
          for (const xs of [args, args, other]) {
            sameBits(jf(...xs), f(...xs), `${row.name} forward`);
            const ge = g(...xs), gj = jg(...xs);
            ge.forEach((t, i) => sameBits(gj[i], t, `${row.name} grad ${i}`));
          }
          assert.equal(jf.traceCount(), 1);
          assert.equal(jg.traceCount(), 1);
        },
      ),
      { numRuns: 6 },
    );
  });
}

Deno.test("jit: a call checked against the last one's structure, dtypes and shapes (no key built) replays only a call of that signature", () => {
  const f = (p: { w: Tensor; b: Tensor[] }, x: Tensor) =>
    T.add(T.mul(p.w, x), T.sum(T.stack(T.treeLeaves(p.b))));
  const jf = T.jit(f);
  const t = (v: number[], dtype: "float32" | "float64" = "float32") =>
    T.tensor(v, { dtype });
  const p = { w: t([1, 2]), b: [t([3]), t([4])] };
  // each call after one of the first signature, so that it differs from
  // the last call in one thing only
  const x = t([5, 6]);
  const hidden = { w: p.w, c: t([1]) };
  Object.defineProperty(hidden, "b", { value: p.b, enumerable: false });
  const calls: [unknown, unknown, number][] = [
    [{ w: t([2, 3]), b: [t([1]), t([1])] }, t([1, 1]), 1], // the same signature
    [{ w: t([1, 2, 3]), b: p.b }, t([5, 6, 7]), 2], // another shape
    [p, t([5, 6], "float64"), 3], // another dtype
    [{ ...p, b: [t([3]), t([4]), t([5])] }, x, 4], // a longer list
    [{ w: p.w, b: p.b, c: t([1]) }, x, 5], // a key more
    [{ w: p.w, b: [t([3]), [t([4])]] }, x, 6], // a deeper tree
  ];
  jf(p, x); // traced
  for (const [q, xq, traces] of calls) {
    const got = jf(q as typeof p, xq as Tensor);
    assert.deepEqual(got.data, f(q as typeof p, xq as Tensor).data);
    assert.equal(jf.traceCount(), traces);
    assert.deepEqual(jf(p, x).data, f(p, x).data);
    assert.equal(jf.traceCount(), traces);
  }
  // what the full path refuses, it still refuses: b not enumerable is no
  // part of the tree, which f gets rebuilt
  assert.throws(
    () => jf(hidden as unknown as typeof p, x),
    /treeLeaves: leaf \(root\)/,
  );
  assert.throws(
    () => jf({ w: p.w, b: [t([3]), ,] as Tensor[] }, x),
    /jit: argument 0 is not a tree of tensors/,
  );
  assert.throws(
    () => jf({ w: p.w, b: [t([3]), 4 as unknown as Tensor] }, x),
    /jit: argument 0 is not a tree of tensors/,
  );
  // a tracer is never replayed: the function runs inside the transform
  const g = T.grad((x: Tensor) => T.sum(jf(p, x)))(t([5, 6]));
  assert.deepEqual(T.toArray(g), [1, 2]);
});

Deno.test("jit: one trace per signature (shapes, dtypes, tree structure, static values)", () => {
  const f = T.jit((x: Tensor, k: number) => T.mul(x, k), { staticArgnums: 1 });
  assert.deepEqual(T.toArray(f(T.tensor([1, 2]), 3)), [3, 6]);
  assert.deepEqual(T.toArray(f(T.tensor([4, 5]), 3)), [12, 15]);
  assert.equal(f.traceCount(), 1);
  assert.deepEqual(T.toArray(f(T.tensor([4, 5]), 2)), [8, 10]); // new static value
  assert.equal(f.traceCount(), 2);
  assert.deepEqual(T.toArray(f(T.tensor([1, 2, 3]), 2)), [2, 4, 6]); // new shape
  assert.equal(f.traceCount(), 3);
  f(T.tensor([1, 2, 3], { dtype: "float64" }), 2); // new dtype
  assert.equal(f.traceCount(), 4);
  f(T.tensor([7, 8, 9]), 2); // seen before
  assert.equal(f.traceCount(), 4);
  // trees: a new structure is a new trace
  const g = T.jit((p: Record<string, Tensor>) =>
    T.sum(T.stack(Object.values(p)))
  );
  g({ a: T.tensor(1), b: T.tensor(2) });
  g({ a: T.tensor(3), b: T.tensor(4) });
  assert.equal(g.traceCount(), 1);
  assert.equal(
    T.item(g({ a: T.tensor(1), b: T.tensor(2), c: T.tensor(3) })),
    6,
  );
  assert.equal(g.traceCount(), 2);
  // captured tensors are constants of the plan; results are fresh each call
  const c = T.tensor([10, 20]);
  const h = T.jit((x: Tensor) => T.add(x, c));
  const r1 = h(T.tensor([1, 1])), r2 = h(T.tensor([2, 2]));
  assert.deepEqual([T.toArray(r1), T.toArray(r2)], [[11, 21], [12, 22]]);
});

Deno.test("jit keeps the plans of the MAX_PLANS signatures used last: a static argument new on every call adds no plan for good", () => {
  const f = T.jit((x: Tensor, k: number) => T.mul(x, k), { staticArgnums: 1 });
  const x = T.tensor([1, 2]);
  for (let k = 0; k < MAX_PLANS; k++) f(x, k);
  assert.equal(f.traceCount(), MAX_PLANS);
  f(x, 0); // used last now: k = 1 is the least recently used
  assert.equal(f.traceCount(), MAX_PLANS);
  assert.deepEqual(T.toArray(f(x, MAX_PLANS)), [MAX_PLANS, 2 * MAX_PLANS]); // a new plan drops k = 1's
  assert.equal(f.traceCount(), MAX_PLANS + 1);
  f(x, 0);
  f(x, 2);
  assert.equal(f.traceCount(), MAX_PLANS + 1); // both kept
  assert.deepEqual(T.toArray(f(x, 1)), [1, 2]); // dropped: traced again
  assert.equal(f.traceCount(), MAX_PLANS + 2);
});

Deno.test("jit: labels and indices are checked in every replay, with eager's errors (crossEntropy, nllLoss, oneHot, take, takeAlongAxis, scatterAdd, embedding)", () => {
  const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });
  const x = T.random.normal(T.random.key(0), [4, 10]);
  const w = T.random.normal(T.random.key(1), [5, 3]);
  const cases: [string, (i: Tensor) => Tensor, number[], number[]][] = [
    ["crossEntropy", (y) => T.crossEntropy(x, y), [1, 2, 3, 4], [1, 2, 3, 12]],
    ["crossEntropy", (y) => T.crossEntropy(x, y), [1, 2, 3, 4], [-5, 2, 3, 4]],
    ["nllLoss", (y) => T.nllLoss(T.logSoftmax(x), y), [0, 9, 3, 4], [
      0,
      10,
      3,
      4,
    ]],
    ["oneHot", (y) => T.oneHot(y, 4), [0, 3], [0, 4]],
    ["take", (i) => T.take(w, i, { axis: 0 }), [0, 4], [0, 5]],
    [
      "takeAlongAxis",
      (i) => T.takeAlongAxis(w, T.reshape(i, [1, 2]), { axis: 1 }),
      [0, 2],
      [3, 0],
    ],
    [
      "scatterAdd",
      (i) =>
        T.scatterAdd(T.zeros([2, 3]), T.reshape(i, [1, 2]), T.ones([1, 2]), {
          axis: 1,
        }),
      [0, 2],
      [0, -1],
    ],
    ["embedding", (i) => T.embedding(i, w), [4, 0], [4, 5]],
  ];
  for (const [name, f, good, bad] of cases) {
    const jf = T.jit(f);
    sameBits(jf(i32(good)), f(i32(good)), name);
    let eager = "";
    try {
      f(i32(bad));
    } catch (e) {
      eager = (e as Error).message;
    }
    assert.match(eager, new RegExp(`^${name}: `), name);
    assert.throws(() => jf(i32(bad)), (e: Error) => e.message === eager, name);
    assert.equal(jf.traceCount(), 1, name); // replayed, not traced again
    sameBits(jf(i32(good)), f(i32(good)), `${name} after the error`);
  }
});

Deno.test("jit: reading a traced value's data is an error naming the op; a schedule's error at a replayed step", () => {
  const f = T.jit((x: Tensor) => (T.item(T.sum(x)) > 0 ? x : T.neg(x)));
  assert.throws(
    () => f(T.tensor([1, 2])),
    /jit: the jitted function reads the data of a traced value \(the result of the op sum, shape \[\]\); .*static argument \(staticArgnums\)/,
  );
  // a schedule runs at every replay (pureCallback), so its errors show there
  const opt = T.optim.sgd({ lr: (step) => (step < 2 ? 0.1 : NaN) });
  const params = { w: T.tensor([1, 2]) };
  // (the updates are returned: a callback whose result is unused is pruned)
  const update = T.jit((g: typeof params, s: T.Tree): [T.Tree, T.Tree] => {
    const r = opt.update(g, s, params);
    return [r.updates, r.state];
  });
  let state: T.Tree = opt.init(params);
  for (let i = 0; i < 2; i++) state = update(params, state)[1];
  assert.throws(
    () => update(params, state),
    /optim.scaleByLearningRate: the learning-rate schedule returned NaN at step 2/,
  );
  assert.equal(update.traceCount(), 1);
  assert.throws(
    () => T.jit((x: Tensor) => x, { staticArgnums: 3 })(T.tensor(1)),
    /jit: staticArgnums 3 is out of range for 1 argument\(s\)/,
  );
  assert.throws(
    () => T.jit((x: Tensor) => x, { donateArgnums: "0" as never })(T.tensor(1)),
    /jit: donateArgnums must be an argument position \(an integer, negative from the end\) or an array of them, got string 0/,
  );
  // a negative position counts from the end, as JAX's
  const scaled = T.jit((x: Tensor, s: number) => T.mul(x, s), {
    staticArgnums: -1,
  });
  assert.deepEqual(T.toArray(scaled(T.tensor([1, 2]), 3)), [3, 6]);
  assert.deepEqual(T.toArray(scaled(T.tensor([1, 2]), 4)), [4, 8]);
  assert.equal(scaled.traceCount(), 2, "one trace per static value");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(
    () =>
      T.jit((_x: Tensor, _o: unknown) => _x, { staticArgnums: 1 })(
        T.tensor(1),
        cyclic,
      ),
    /jit: static argument 1 must be a value jit can key its plans by .*: it contains itself, got/,
  );
  assert.throws(
    () =>
      T.jit((_x: Tensor, _o: unknown) => _x, { staticArgnums: 1 })(
        T.tensor(1),
        { s: Symbol("s") },
      ),
    /jit: static argument 1 must be a value jit can key its plans by .*: a symbol/,
  );
});

Deno.test("jit: static values that differ never share a plan (NaN, -0, the infinities, Maps, functions by identity, class instances)", () => {
  const x = T.tensor([1, -2, 0, 3]);
  const scale = (v: Tensor, s: number) => T.mul(v, s);
  const jf = T.jit(scale, { staticArgnums: 1 });
  for (const s of [Infinity, -Infinity, NaN, 0, -0, 1e300, 2n as never]) {
    if (typeof s === "bigint") {
      // a bigint keys a plan too (the function may use it as it likes)
      const jb = T.jit((v: Tensor, n: bigint) => T.mul(v, Number(n)), {
        staticArgnums: 1,
      });
      sameBits(jb(x, 2n), T.mul(x, 2), "bigint");
      continue;
    }
    sameBits(jf(x, s), scale(x, s), `static ${s}`);
  }
  assert.equal(jf.traceCount(), 6, "one plan per value, -0 apart from 0");
  sameBits(jf(x, -0), scale(x, -0), "-0 again");
  assert.equal(jf.traceCount(), 6);
  // containers by their contents, functions and class instances by identity
  const apply = (v: Tensor, o: unknown) => {
    if (o instanceof Map) return T.mul(v, o.get("k"));
    if (o instanceof Scale) return T.mul(v, o.s);
    return (o as { act: (t: Tensor) => Tensor }).act(v);
  };
  class Scale {
    constructor(readonly s: number) {}
  }
  const jg = T.jit(apply, { staticArgnums: 1 });
  const cases: unknown[] = [
    new Map([["k", 2]]),
    new Map([["k", 7]]),
    { act: T.relu },
    { act: T.neg },
    new Scale(3),
    new Scale(5),
  ];
  for (const o of cases) sameBits(jg(x, o), apply(x, o), String(o));
  assert.equal(jg.traceCount(), 6);
  sameBits(jg(x, new Map([["k", 7]])), T.mul(x, 7), "an equal Map");
  sameBits(jg(x, { act: T.neg }), T.neg(x), "an equal object");
  assert.equal(jg.traceCount(), 6, "equal contents replay their plan");
});

Deno.test("jit: a result that is not a tree of tensors is an error naming jit and the leaf", () => {
  const x = T.ones([3]);
  assert.throws(
    () => T.jit((v: Tensor) => ({ y: T.exp(v), n: 3 }) as never)(x),
    /^Error: jit: the jitted function must return a tree of tensors: treeFlatten: leaf "n" must be a Tensor, an array or a plain object, got number 3$/,
  );
  assert.throws(
    () => T.jit((_: Tensor) => undefined as never)(x),
    /jit: the jitted function must return a tree of tensors: .* got undefined$/,
  );
});

Deno.test("jit inside grad and vmap runs f directly", () => {
  const f = T.jit((x: Tensor) => T.sum(T.mul(T.mul(x, x), x)));
  assert.deepEqual(T.toArray(T.grad(f)(T.tensor([1, 2]))), [3, 12]);
  assert.deepEqual(T.toArray(T.vmap(f)(T.tensor([[1, 2], [3, 4]]))), [9, 91]);
  assert.equal(f.traceCount(), 0);
});

/** Runs `f` with `name`'s forward kernel wrapped by `spy` (called with its inputs). */
function spying<R>(
  name: string,
  spy: (inputs: Tensor[]) => void,
  f: () => R,
): R {
  const rule = primitives().find((p) => p.name === name)!.rule;
  const forward = rule.forward;
  (rule as { forward: typeof forward }).forward = (inputs, params) => {
    spy(inputs);
    return forward(inputs, params);
  };
  try {
    return f();
  } finally {
    (rule as { forward: typeof forward }).forward = forward;
  }
}

const isView = (t: Tensor) => t.data.buffer instanceof SharedArrayBuffer;

Deno.test("jit: a replay keeps intermediates in WebAssembly memory and returns fresh arrays; the memory stays flat; an error ends the plan", () => {
  const n = 1 << 14; // large enough for the WebAssembly kernels
  const x = T.random.normal(T.random.key(0), [n]);
  const y = T.random.normal(T.random.key(1), [n]);
  let fail = false;
  const stash: Tensor[] = [];
  const check = (c: Tensor) => {
    if (fail) throw new Error("callback failed");
    assert.ok(!isView(c), "a callback gets a copy, not a view of the memory");
    stash.push(T.relu(c)); // what a callback computes is its own too
    assert.ok(!isView(stash.at(-1)!));
    return c;
  };
  const f = (a: Tensor, b: Tensor) => {
    const r = T.relu(a); // a kernel whose readers below are not elementwise
    const s = T.sum(T.reshape(r, [128, n / 128]), { axis: 1 }); // reads r in place
    const c = T.pureCallback(
      check,
      { shape: [n], dtype: "float32" },
      T.mul(r, b),
    );
    return { r, m2: T.reshape(r, [2, n / 2]), s, t: T.add(c, r) };
  };
  const jf = T.jit(f);
  const eager = f(x, y);
  jf(x, y); // traced
  const seen: boolean[] = [];
  const out = spying("sum", (ins) => seen.push(isView(ins[0])), () => jf(x, y));
  assert.deepEqual(seen, [true], "sum read relu's result in place");
  for (const k of ["r", "m2", "s", "t"] as const) {
    assert.ok(!isView(out[k]), `${k} is a fresh array`);
    assert.deepEqual(out[k].data, eager[k].data, k);
  }
  const rt = runtime();
  const bytes = rt.memory.buffer.byteLength;
  const kept = stash[1].data.slice();
  for (let i = 0; i < 20; i++) jf(x, y);
  assert.deepEqual(stash[1].data, kept, "a callback's value never changes");
  assert.equal(rt.memory.buffer.byteLength, bytes, "no growth over replays");
  // a failing step ends the plan: eager ops and later replays still work
  fail = true;
  assert.throws(() => jf(x, y), /callback failed/);
  fail = false;
  assert.ok(!isView(T.relu(x)));
  assert.deepEqual(T.relu(x).data, eager.m2.data);
  assert.deepEqual(jf(x, y).t.data, eager.t.data);
});

/** A LeNet-5 SGD step on a fixed batch of 16, eager and jitted, and its first params. */
function lenetSgdStep() {
  const net = T.nn.lenet5();
  type P = ReturnType<typeof net.init>;
  const x = T.random.uniform(T.random.key(2), [16, 1, 32, 32]);
  const y = T.random.randint(T.random.key(3), [16], 0, 10);
  const step = (p: P): P => {
    const g = T.grad((q: P) => T.crossEntropy(net.apply(q, x), y))(p);
    return T.treeMap(
      (w: Tensor, gw: Tensor) => T.sub(w, T.mul(gw, 0.1)),
      p,
      g,
    ) as P;
  };
  return { step, jstep: T.jit(step), p0: net.init(T.random.key(0)) };
}

Deno.test("jit: a replay copies each float32 argument into memory once and keeps max pooling's argmax there: a training step puts no other array", () => {
  const { step, jstep, p0 } = lenetSgdStep();
  type P = typeof p0;
  jstep(p0); // traced
  const rt = runtime();
  const put = rt.put, readI32 = rt.readI32;
  const outside: number[] = [];
  let reads = 0;
  Object.assign(rt, {
    put(data: Float32Array | Int32Array) {
      if (!(data.buffer instanceof SharedArrayBuffer)) {
        outside.push(data.length);
      }
      return put.call(rt, data);
    },
    readI32(at: number, n: number) {
      reads++;
      return readI32.call(rt, at, n);
    },
  });
  let out: P;
  try {
    out = jstep(p0);
  } finally {
    Object.assign(rt, { put, readI32 });
  }
  assert.deepEqual(outside, [], "every array a kernel reads is in memory");
  assert.equal(reads, 0, "the argmax is never copied out");
  const want = step(p0);
  const [lw, lo] = [T.treeLeaves(want), T.treeLeaves(out)];
  lw.forEach((l, i) => sameBits(lo[i], l, `param ${i}`));
  assert.ok(lo.every((l) => !isView(l)), "the outputs are fresh arrays");
});

Deno.test("jit: a call's float32 outputs (and its constants) stay in memory after it, so the next call reads them in place instead of copying them in; eager kernels in between may take that memory, and every call keeps the eager bits", () => {
  const { step, jstep, p0 } = lenetSgdStep();
  type P = typeof p0;
  const rt = runtime();
  // which arrays `place` copies in (it allocates for a copy only)
  const copied = (f: () => void) => {
    const place = rt.place, alloc = rt.alloc;
    const out: number[] = [];
    Object.assign(rt, {
      place(data: Float32Array) {
        let copy = false;
        Object.assign(rt, {
          alloc(bytes: number) {
            copy = true;
            return alloc.call(rt, bytes);
          },
        });
        try {
          return place.call(rt, data);
        } finally {
          Object.assign(rt, { alloc });
          if (copy) out.push(data.length);
        }
      },
    });
    try {
      f();
    } finally {
      Object.assign(rt, { place });
    }
    return out;
  };
  // the eager steps first: eager kernels between calls take the memory
  const want: P[] = [p0];
  for (let i = 0; i < 9; i++) want.push(step(want[i]));
  const ps: P[] = [p0];
  const call = () => void ps.push(jstep(ps.at(-1)!));
  call(); // traced
  call(); // its outputs came from eager kernels
  call();
  assert.deepEqual(copied(call), [], "nothing copied in: the params and x");
  // a copy of the params is copied in
  const q = T.treeMap((w: Tensor) => T.mul(w, 1), ps.at(-1)!) as P;
  assert.equal(
    copied(() => void ps.push(jstep(q))).length,
    T.treeLeaves(q).length,
  );
  // eager kernels that need more memory than is free forget what they do
  // not read; the next call copies what is gone
  for (let i = 0; i < 3; i++) {
    const big = T.random.normal(T.random.key(10 + i), [1 << 20]);
    T.relu(T.add(big, big));
    call();
  }
  ps.forEach((p, k) => {
    const [lw, lg] = [T.treeLeaves(want[k]), T.treeLeaves(p)];
    lw.forEach((l, i) => sameBits(lg[i], l, `call ${k}: param ${i}`));
    assert.ok(lg.every((l) => !isView(l)), "the outputs are fresh arrays");
  });
  assert.equal(jstep.traceCount(), 1);
});

Deno.test("jit: an argument whose memory the plan let go (and wrote over) is not taken for it by the next call", () => {
  const a = T.random.normal(T.random.key(0), [128, 256]);
  const w = T.random.normal(T.random.key(1), [256, 256]);
  // relu is a's last reader; the product, of a's size, then fits where a was
  const f = (a: Tensor, w: Tensor) => T.matmul(T.relu(a), w);
  const jf = T.jit(f), want = f(a, w);
  for (let i = 0; i < 4; i++) sameBits(jf(a, w), want, `call ${i}`);
});

Deno.test("jit's memory during a plan: arrays for TypeScript kernels are zeroed and kept until let go, an argmax with its input; past the limit an array of its own", () => {
  const rt = new WasmRuntime({ maxPages: 64 }); // 4 MiB
  assert.equal(rt.planArray("float32", 8), null, "no plan: no array");
  assert.ok(rt.beginPlan());
  const a = rt.planArray("float32", 1000)!, b = rt.planArray("int32", 10)!;
  assert.ok(a instanceof Float32Array && b instanceof Int32Array);
  assert.ok(a.every((v) => v === 0) && b.every((v) => v === 0));
  assert.equal(rt.planArray("float64", 8), null, "float64 stays outside");
  assert.equal(rt.planArray("float32", 1 << 21), null, "8 MiB: outside");
  a.fill(7);
  rt.hold(a, 1);
  // an int32 result kept with a: swept only when a is let go
  rt.reset("test");
  const at = rt.alloc(4 * 16);
  rt.i32.fill(5, at >> 2, (at >> 2) + 16);
  const idx = rt.resultI32(at, 16, a);
  rt.sweep(); // b has no reader: forgotten
  for (let i = 0; i < 50; i++) { // new blocks never overlap the kept ones
    rt.reset("test");
    rt.f32.fill(-1, rt.alloc(4 * 500) >> 2, (rt.alloc(0) >> 2) - 4);
    const c = rt.planArray("float32", 300)!;
    c.fill(-2);
  }
  assert.ok(a.every((v) => v === 7), "a is intact");
  assert.ok(idx.every((v) => v === 5), "the argmax with it too");
  rt.hold(a, -1);
  rt.sweep();
  assert.ok(!rt.inPlan(a) && !rt.inPlan(idx), "both let go together");
  rt.endPlan();
  // outside a plan the argmax is a copy
  rt.reset("test");
  assert.ok(
    !(rt.resultI32(rt.alloc(16), 4, a).buffer instanceof SharedArrayBuffer),
  );
});

Deno.test("jit's memory during a plan is first fit: each block at the lowest address it fits, however the kept results were made and let go (random sequences)", () => {
  // the model: the kept blocks, and a call's blocks from the bottom on
  type Kept = { data: Float32Array; at: number; end: number; id: number };
  const firstFit = (kept: Kept[], from: number, size: number) => {
    let at = from;
    for (const k of [...kept].sort((a, b) => a.at - b.at)) {
      if (k.end > at && k.at < at + size) at = k.end;
    }
    return at;
  };
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.constantFrom("keep", "keep", "letGo", "call"),
          n: fc.integer({ min: 1, max: 200 }),
          pick: fc.nat(),
        }),
        { maxLength: 120 },
      ),
      (ops) => {
        const rt = new WasmRuntime({ maxPages: 64 });
        assert.ok(rt.beginPlan());
        const kept: Kept[] = [];
        let top = HEAP_BASE, id = 0;
        for (const { op, n, pick } of ops) {
          const size = alignUp(4 * n + 16);
          if (op === "keep") { // a TypeScript kernel's array, kept
            const want = firstFit(kept, top, size);
            const data = rt.planArray("float32", n) as Float32Array;
            assert.equal(data.byteOffset, want);
            top = want + size;
            rt.hold(data, 1);
            data.fill(++id);
            kept.push({ data, at: want, end: want + size, id });
          } else if (op === "letGo" && kept.length > 0) {
            const [k] = kept.splice(pick % kept.length, 1);
            rt.hold(k.data, -1);
          } else { // a new call: its scratch from the bottom on, overwritten
            rt.reset("test");
            top = HEAP_BASE;
            for (let j = 0; j <= pick % 3; j++) {
              const want = firstFit(kept, top, size);
              assert.equal(rt.alloc(4 * n), want);
              rt.f32.fill(-1, want >> 2, (want + size) >> 2);
              top = want + size;
            }
          }
          rt.sweep();
        }
        for (const k of kept) assert.ok(k.data.every((v) => v === k.id));
        rt.endPlan();
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("jit: constants with the same bits are one constant of the plan (a deep backward pass's copies of a weight's transpose go into memory once per call)", () => {
  const w = T.random.normal(T.random.key(7), [8, 8]);
  const f = (x: Tensor) => {
    for (let i = 0; i < 50; i++) x = T.tanh(T.matmul(x, w));
    return T.sum(x);
  };
  const x = T.random.normal(T.random.key(8), [4, 8]);
  const g = T.jit(T.grad(f));
  g(x); // traced
  const rt = runtime(), place = rt.place;
  const placed: number[] = [];
  Object.assign(rt, {
    place(data: Float32Array) {
      placed.push(data.length);
      return place.call(rt, data);
    },
  });
  let out: Tensor;
  try {
    out = g(x);
  } finally {
    Object.assign(rt, { place });
  }
  // x, w, its transpose (each of the 50 layers' backward made its own)
  // and the few constants of sum's gradient
  assert.ok(placed.length <= 5, `${placed.length} arrays placed`);
  assert.equal(placed.filter((n) => n === 64).length, 2, "w and wᵀ once");
  sameBits(out, T.grad(f)(x), "the gradient");
  // two constants whose bits have the same 32-bit FNV-1a hash (0x1f8dbcf6)
  // stay two
  const a = T.tensor([1.188429355621338]), b = T.tensor([2.7454915046691895]);
  const h = (v: Tensor) => T.add(T.mul(v, a), b);
  const jh = T.jit(h);
  jh(x); // traced
  sameBits(jh(x), h(x), "a · x + b");
});

Deno.test("jit: a random key is a traced argument, as in JAX: each call draws from its own key (split inside, returned, in a tree, under grad) with eager's bits, traced once", () => {
  type Out = { y: Tensor; g: Tensor; u: Tensor; i: Tensor; p: Tensor };
  const w = T.tensor([0.5, -1, 2]);
  const f = (s: { key: T.random.Key; x: Tensor }) => {
    const [k1, k2, next] = T.random.split(s.key, 3);
    const loss = (v: Tensor) =>
      T.sum(T.dropout(T.mul(v, s.x), { p: 0.5, key: k2 }));
    const out: Out = {
      y: T.add(s.x, T.random.normal(k1, [3])),
      g: T.grad(loss)(w),
      u: T.random.uniform(k2, [5], { minval: -1, maxval: 1 }),
      i: T.random.randint(next, [4], 0, 10),
      p: T.random.permutation(k1, 6),
    };
    return { out, next: T.random.split(next)[1] };
  };
  const jf = T.jit(f);
  const x = T.tensor([1, 2, 3]);
  for (const seed of [0, 1, 2, 3]) {
    const s = { key: T.random.key(seed), x };
    const got = jf(s), want = f(s);
    for (const name of ["y", "g", "u", "i", "p"] as const) {
      sameBits(got.out[name], want.out[name], `${name}, seed ${seed}`);
    }
    assert.deepEqual(got.next, want.next, `the returned key, seed ${seed}`);
    assert.ok(Object.isFrozen(got.next));
  }
  assert.equal(jf.traceCount(), 1);
  // a traced key's words are its traced value: reading them is jit's error
  const k = T.random.key(0);
  for (
    const g of [
      (key: T.random.Key) => T.tensor([...key.words]),
      (key: T.random.Key) => T.tensor([...T.random.randomBits(key, 2)]),
    ]
  ) {
    assert.throws(
      () => T.jit(g)(k),
      /jit: the jitted function reads the data of a traced value \(the jitted function's argument leaf 0, shape \[2\]\)/,
    );
  }
  // a key that is no argument is a constant: the same numbers every call
  const h = T.jit((v: Tensor) => T.add(v, T.random.normal(k, [3])));
  sameBits(h(x), h(x), "closed-over key");
});

Deno.test("jit: a training step of a model with batch norm (its state updated: running statistics, the batch count, a cumulative average) gives eager's bits, traced once", () => {
  const model = T.nn.sequential(
    T.nn.conv2d({ inChannels: 1, outChannels: 3, kernelSize: 3 }),
    T.nn.batchNorm2d({ numFeatures: 3 }),
    T.nn.relu,
    T.nn.batchNorm2d({ numFeatures: 3, momentum: null }), // cumulative
    T.nn.flatten(),
    T.nn.linear({ inFeatures: 27, outFeatures: 2 }),
  );
  const x = T.random.normal(T.random.key(1), [4, 1, 5, 5]);
  const y = T.tensor([0, 1, 1, 0], { dtype: "int32" });
  type S = { params: T.Tree; state: T.Tree };
  const step = ({ params, state }: S): S & { loss: Tensor } => {
    let next = state;
    const [loss, g] = T.valueAndGrad((p: T.Tree) => {
      const r = model.applyWithState(p as never, state as never, x, {
        training: true,
      });
      next = r.state as T.Tree;
      return T.crossEntropy(r.y, y);
    })(params);
    const params2 = T.treeMap(
      (w: Tensor, d: Tensor) => T.sub(w, T.mul(d, 0.1)),
      params,
      g,
    );
    return { loss, params: params2, state: next };
  };
  const jstep = T.jit(step);
  let a: S = { params: model.init(T.random.key(0)), state: model.initState() };
  let b = a;
  for (let i = 0; i < 5; i++) {
    const ra = step(a), rb = jstep(b);
    sameBits(rb.loss, ra.loss, `loss ${i}`);
    const [la, lb] = [T.treeLeaves(ra), T.treeLeaves(rb)];
    la.forEach((l, k) => sameBits(lb[k], l, `leaf ${k} after step ${i}`));
    a = { params: ra.params, state: ra.state };
    b = { params: rb.params, state: rb.state };
  }
  assert.equal(T.toArray(T.treeLeaves(b.state)[0]), 5, "5 batches counted");
  assert.equal(jstep.traceCount(), 1);
});

Deno.test("jit with the debug NaN checks on: a replay that makes a NaN throws eager's error, naming the op (fused loops included)", () => {
  const f = T.jit((x: Tensor) => T.sum(T.log(x)));
  const g = T.jit((x: Tensor) => T.mul(T.sqrt(T.add(x, 1)), 2)); // one loop
  const h = T.jit((z: Tensor, y: Tensor) => T.crossEntropy(z, y));
  const y = T.tensor([0], { dtype: "int32" });
  // traced with the checks off: the plans are the same either way
  f(T.tensor([1, 2]));
  g(T.tensor([1, 2]));
  h(T.tensor([[1, 2]]), y);
  T.setDebugNans(true);
  try {
    for (
      const [run, eager] of [
        [() => f(T.tensor([-1, 2])), () => T.sum(T.log(T.tensor([-1, 2])))],
        [
          () => g(T.tensor([-3, 2])),
          () => T.mul(T.sqrt(T.add(T.tensor([-3, 2]), 1)), 2),
        ],
        [
          () => h(T.tensor([[Infinity, 2]]), y),
          () => T.crossEntropy(T.tensor([[Infinity, 2]]), y),
        ],
      ] as const
    ) {
      let want = "";
      try {
        eager();
      } catch (e) {
        want = (e as Error).message;
      }
      assert.match(want, /produced NaN from inputs without NaN/);
      assert.throws(run, (e: Error) => e.message === want);
    }
    // a NaN that came in goes through
    assert.ok(Number.isNaN(T.item(f(T.tensor([NaN, 2])))));
  } finally {
    T.setDebugNans(false);
  }
  assert.ok(Number.isNaN(T.item(f(T.tensor([-1, 2])))), "checks off: NaN");
});

Deno.test("jit: a step whose result cannot be allocated in a replay is the op's Error, as eager's, not V8's RangeError", () => {
  let fail = false;
  const big = (x: Tensor) =>
    T.pureCallback(
      (v) => {
        if (fail) throw new RangeError("Array buffer allocation failed");
        return T.mul(v, 2);
      },
      { shape: x.shape, dtype: x.dtype },
      x,
    );
  const j = T.jit(big);
  j(T.tensor([1, 2]));
  fail = true;
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return `${(e as Error).constructor.name}: ${(e as Error).message}`;
    }
    return "";
  };
  assert.match(
    message(() => big(T.tensor([1, 2]))),
    /^Error: pureCallback: cannot allocate the result of pureCallback/,
  );
  assert.match(
    message(() => j(T.tensor([1, 2]))),
    /^Error: pureCallback: cannot allocate the result of pureCallback in a jit replay \(inputs \[2\]\): Array buffer allocation failed$/,
  );
});

Deno.test("jit: elementwise ops alone and in fused chains give eager's bits on special values (±0, ±inf, NaN, subnormals, the float32 extremes), float32 and float64", () => {
  const vals = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.4e38];
  const more = [-3.4e38, 1, -1, 0.5, -2.5, 1e-10];
  const all = [...vals, ...more];
  const A = all.flatMap((a) => all.map(() => a));
  const B = all.flatMap(() => all);
  const ops = T as unknown as Record<string, (...x: Tensor[]) => Tensor>;
  const unary = [
    "neg",
    "abs",
    "sqrt",
    "exp",
    "log",
    "tanh",
    "sigmoid",
    "relu",
    "square",
    "floor",
    "ceil",
    "round",
    "trunc",
    "sign",
    "log1p",
    "expm1",
    "erf",
    "softplus",
    "gelu",
    "silu",
    "reciprocal",
    "rsqrt",
    "sin",
    "cos",
  ].filter((n) => typeof ops[n] === "function");
  const binary = ["add", "sub", "mul", "div", "maximum", "minimum", "pow"];
  assert.ok(unary.length >= 20, `${unary.length} unary ops`);
  for (const dtype of ["float32", "float64"] as const) {
    const a = T.tensor(A, { dtype }), b = T.tensor(B, { dtype });
    const cases: [string, (x: Tensor, y: Tensor) => Tensor][] = [
      ...unary.flatMap((n): [string, (x: Tensor) => Tensor][] => [
        [n, (x) => ops[n](x)],
        [`${n} in a chain`, (x) => T.mul(ops[n](T.add(x, 0)), 1)],
      ]),
      ...binary.flatMap((n): [string, (x: Tensor, y: Tensor) => Tensor][] => [
        [n, (x, y) => ops[n](x, y)],
        [`${n} in a chain`, (x, y) => T.add(ops[n](T.mul(x, 1), y), 0)],
      ]),
    ];
    for (const [name, f] of cases) {
      const j = T.jit(f);
      j(a, b); // traced
      sameBits(j(a, b), f(a, b), `${dtype} ${name}`);
    }
  }
});

Deno.test("jit: donateArgnums takes the donated tensors' memory over; using one afterwards is an error", () => {
  const n = 1 << 13;
  const g = T.random.normal(T.random.key(2), [n]);
  const step = T.jit((w: Tensor, d: Tensor) => T.sub(w, T.mul(d, 0.5)), {
    donateArgnums: 0,
  });
  let w = T.random.normal(T.random.key(3), [n]);
  const expect = T.sub(w, T.mul(g, 0.5)).data;
  const proto = ArrayBuffer.prototype as { transfer(): ArrayBuffer };
  const transfer = proto.transfer, taken = new Set<ArrayBuffer>();
  const spy = function (this: ArrayBuffer) {
    const b = transfer.call(this);
    taken.add(b);
    return b;
  };
  for (let i = 0; i < 3; i++) {
    const prev = w;
    proto.transfer = spy;
    try {
      w = step(prev, g); // i = 0 traces, then replays reuse prev's memory
    } finally {
      proto.transfer = transfer;
    }
    assert.equal(prev.data.length, 0, "the donated array is detached");
    assert.equal(taken.has(w.data.buffer as ArrayBuffer), i > 0, "reused");
    assert.equal(g.data.length, n, "a non-donated argument is untouched");
    assert.throws(
      () => T.add(prev, 1),
      /add: input 0 \(shape \[8192\]\) was donated to a jitted call \(donateArgnums\)/,
    );
    assert.throws(() => T.toArray(prev), /toArray: x .* was donated/);
    assert.throws(() => step(prev, g), /jit: argument leaf 0 .* was donated/);
  }
  assert.equal(step.traceCount(), 1);
  assert.equal(w.data.length, n);
  assert.ok(!isView(w));
  // a replay with donation gives the eager values
  const w0 = T.random.normal(T.random.key(3), [n]);
  assert.deepEqual(step(w0, g).data, expect);
  // a donated argument that the function also captures stays valid (and so
  // does the plan's constant)
  const c = T.random.normal(T.random.key(4), [n]);
  const withC = T.jit((a: Tensor) => T.add(a, c), { donateArgnums: 0 });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(withC(c).data, T.add(c, c).data);
    assert.equal(c.data.length, n);
  }
  // a donated argument that is also returned stays valid
  const keep = T.jit((a: Tensor) => ({ a, s: T.sum(a) }), { donateArgnums: 0 });
  const a = T.tensor([1, 2, 3]);
  keep(a);
  keep(a);
  assert.deepEqual(T.toArray(a), [1, 2, 3]);
  assert.throws(
    () => T.jit((a: Tensor) => a, { staticArgnums: 0, donateArgnums: 0 })(a),
    /jit: argument 0 is both static and donated/,
  );
});

/** A random elementwise program: each op reads earlier values, inputs or numbers. */
type Prog = { op: number; a: number; b: number; c: number }[];
const UNARY = [
  T.neg,
  T.exp,
  T.tanh,
  T.relu,
  T.sigmoid,
  (v: Tensor) => T.sqrt(T.abs(v)),
];
const BINARY = [
  T.add,
  T.sub,
  T.mul,
  T.div,
  T.maximum,
  (u: Tensor, v: Tensor) => T.vjp(T.relu, u)[1](v)[0], // relu's mask
];

function runProg(prog: Prog, xs: Tensor[]): Tensor[] {
  const vals = xs.slice();
  for (const { op, a, b, c } of prog) {
    const u = vals[a % vals.length], v = vals[b % vals.length];
    if (op < UNARY.length) vals.push(UNARY[op](u));
    else if (op < UNARY.length + BINARY.length) {
      const k = op - UNARY.length; // (relu's mask needs v's shape)
      const w = c % 3 === 0 && k < BINARY.length - 1
        ? T.tensor(c / 7 - 1, { dtype: u.dtype })
        : v;
      vals.push(BINARY[k](u, w));
    } else if (op === UNARY.length + BINARY.length) {
      vals.push(T.mul(u, T.sum(v))); // read through a reduction: seals u's group
    } else vals.push(T.reshape(u, [u.shape[0]])); // shares data
  }
  return vals.slice(xs.length).filter((_, i) => (prog[i].c & 1) === 0);
}

Deno.test("jit: fused elementwise chains give the eager bits (random programs, float32 and float64, lengths around the WebAssembly threshold)", () => {
  const n0 = UNARY.length + BINARY.length + 2;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          op: fc.nat({ max: n0 - 1 }),
          a: fc.nat(),
          b: fc.nat(),
          c: fc.nat({ max: 20 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      fc.constantFrom(1, 7, 4096, 5000),
      fc.constantFrom("float32" as const, "float64" as const),
      fc.nat(),
      (prog, n, dtype, seed) => {
        const xs = [0, 1, 2].map((i) =>
          T.random.normal(T.random.key(seed + i), [n], { dtype })
        );
        const want = runProg(prog, xs);
        const jf = T.jit((...a: Tensor[]) => runProg(prog, a));
        jf(...xs);
        const got = jf(...xs);
        want.forEach((w, i) => sameBits(got[i], w, `output ${i}`));
      },
    ),
    { numRuns: 60 },
  );
});

/** Shapes of a broadcast program: the full shape, then operands broadcast to it (the last one's kept axes are not one block). */
const BROADCAST_SHAPES: number[][][] = [
  [[64, 10], [64, 1], [1, 10], [10], [1], []],
  [[2, 3, 4, 5], [1, 3, 1, 1], [2, 1, 1, 1], [4, 5], [1, 3, 4, 1], [
    2,
    1,
    4,
    1,
  ]],
  [[1, 5, 1, 6], [5, 1, 1], [6], [1, 1, 1, 6], [1, 5, 1, 1], []],
  [[3, 4096], [3, 1], [4096], [1, 1], [1], [1, 4096]],
];

Deno.test("jit: steps that read an input broadcast (a column, a row, a channel's bias, broadcastTo) fuse, with eager's bits (random programs, float32 and float64)", () => {
  const unary = [T.neg, T.exp, T.tanh, (v: Tensor) => T.sqrt(T.abs(v))];
  const binary = [T.add, T.sub, T.mul, T.div, T.maximum];
  fc.assert(
    fc.property(
      fc.constantFrom(...BROADCAST_SHAPES),
      fc.array(
        fc.record({ op: fc.nat({ max: 9 }), a: fc.nat(), b: fc.nat() }),
        { minLength: 1, maxLength: 10 },
      ),
      fc.constantFrom("float32" as const, "float64" as const),
      fc.nat(),
      (shapes, prog, dtype, seed) => {
        const xs = shapes.map((sh, i) =>
          T.random.normal(T.random.key(seed + i), sh, { dtype })
        );
        const run = (...a: Tensor[]) => {
          const full = [a[0]], small = a.slice(1);
          for (const { op, a: i, b: j } of prog) {
            const u = full[i % full.length], v = small[j % small.length];
            full.push(
              op < 4
                ? unary[op](T.add(u, v))
                : op < 9
                ? binary[op - 4](j % 2 ? v : u, j % 2 ? u : v)
                : T.where(T.greater(v, 0), T.broadcastTo(v, u.shape), u),
            );
          }
          return full.slice(1);
        };
        const want = run(...xs);
        const jf = T.jit(run);
        jf(...xs);
        jf(...xs).forEach((g, i) => sameBits(g, want[i], `output ${i}`));
      },
    ),
    { numRuns: 80 },
  );
  // softmax's chain: x - max(x) and exp are one loop that reads max by rows
  const f = (x: Tensor) =>
    T.exp(T.sub(x, T.max(x, { axis: 1, keepDims: true })));
  const x = T.random.normal(T.random.key(0), [64, 10]);
  const flat = [T.treeFlatten(x)];
  const [, plan] = trace(f, [x], [0], flat);
  const tasks = schedule(plan.nIn, plan.steps, () => x, plan.outs);
  const fused = tasks.filter((t) => typeof t !== "number") as Fused[];
  assert.equal(fused.length, 1);
  assert.deepEqual(
    fused[0].parts[0].members.map((id) => plan.steps[id - plan.nIn]!.rule.name),
    ["sub", "exp"],
  );
  sameBits(T.jit(f)(x), f(x), "softmax's numerator");
});

Deno.test("jit: gradient accumulation (addAny) and casts to a float dtype fuse with their neighbours, with eager's bits", () => {
  // x is read three times: its cotangents meet in addAny; the int32 mask is cast
  const f = (x: Tensor) =>
    T.sum(
      T.add(
        T.mul(T.mul(x, x), T.astype(T.greater(x, 0), x.dtype)),
        T.exp(T.neg(x)),
      ),
    );
  for (const dtype of ["float32", "float64"] as const) {
    const x = T.random.normal(T.random.key(3), [257], { dtype });
    (x.data as Float32Array).set([NaN, -0, 0, Infinity, -Infinity, 1e-40]);
    const g = T.grad(f);
    const [, plan] = trace(g, [x], [0], [T.treeFlatten(x)]);
    const tasks = schedule(plan.nIn, plan.steps, () => x, plan.outs);
    const names = (tasks.filter((t) => typeof t !== "number") as Fused[])
      .flatMap((t) =>
        t.parts[0].members.map((id) => plan.steps[id - plan.nIn]!.rule.name)
      );
    assert.ok(names.includes("addAny"), `${dtype}: addAny fused (${names})`);
    assert.ok(names.includes("cast"), `${dtype}: cast fused (${names})`);
    const jg = T.jit(g);
    jg(x);
    sameBits(jg(x), g(x), dtype);
  }
});

Deno.test("jit: a long elementwise chain (an unrolled loop) is cut into loops of at most 256 steps, with eager's bits", () => {
  const c = T.random.normal(T.random.key(0), [5]);
  const f = (x: Tensor) => {
    let acc = x;
    for (let i = 0; i < 1500; i++) acc = T.add(acc, T.mul(x, c));
    return acc;
  };
  const x = T.random.normal(T.random.key(1), [5]);
  const [, plan] = trace(f, [x], [0], [T.treeFlatten(x)]);
  const tasks = schedule(plan.nIn, plan.steps, () => x, plan.outs);
  const sizes = (tasks.filter((t) => typeof t !== "number") as Fused[])
    .map((t) => t.parts[0].members.length);
  assert.ok(Math.max(...sizes) <= 256, `largest loop ${Math.max(...sizes)}`);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 3000, "every step in a loop");
  const jf = T.jit(f);
  jf(x);
  sameBits(jf(x), f(x), "the chain");
});

/**
 * An optimizer's update of `params` by `grads` as a plan: its recorded
 * steps and fused tasks, and a check that its replay gives eager's bits.
 */
function updatePlan<P extends T.Tree>(
  opt: T.optim.GradientTransformation,
  grads: P,
  params: P,
) {
  const update = (g: P, s: T.Tree, p: P) => {
    const r = opt.update(g, s as never, p);
    return [T.optim.applyUpdates(p, r.updates), r.state];
  };
  const args = [grads, opt.init(params), params] as [P, T.Tree, P];
  const flat = args.map((a) => T.treeFlatten(a as T.Tree));
  const [, plan] = trace(update, args, [0, 1, 2], flat);
  const leaves = flat.flatMap(([l]) => l);
  const tasks = schedule(plan.nIn, plan.steps, (i) => leaves[i], plan.outs);
  const fused = tasks.filter((t) => typeof t !== "number") as Fused[];
  const sameAsEager = () => {
    const j = T.jit(update);
    j(...args);
    const want = T.treeLeaves(update(...args) as T.Tree) as Tensor[];
    (T.treeLeaves(j(...args) as T.Tree) as Tensor[]).forEach((l, i) =>
      sameBits(l, want[i], `leaf ${i}`)
    );
  };
  return { plan, fused, sameAsEager };
}

Deno.test("jit: an optimizer's update over all parameters runs as one fused task, one part per parameter", () => {
  const params = {
    w: T.random.normal(T.random.key(0), [30, 40]),
    b: T.random.normal(T.random.key(1), [40]),
  };
  const opt = T.optim.sgd({
    lr: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
  });
  const { plan, fused, sameAsEager } = updatePlan(opt, params, params);
  assert.equal(fused.length, 1, "one task");
  assert.deepEqual(
    fused[0].parts.map((p) => p.n).sort((a, b) => a - b),
    [40, 1200],
    "one part per parameter",
  );
  const elementwise =
    plan.steps.filter((st) => st?.rule.scalar && st.dtype !== "int32" // (the step count's add is int32)
    ).length;
  assert.equal(
    fused[0].parts.reduce((k, p) => k + p.members.length, 0),
    elementwise,
    "every elementwise step is in a loop",
  );
  sameAsEager();
});

Deno.test("jit: Lion's update (its sign included) over all parameters is fused tasks of one part per parameter, with eager's bits", () => {
  const params = {
    w: T.random.normal(T.random.key(0), [30, 40]),
    b: T.random.normal(T.random.key(1), [40]),
  };
  const grads = T.treeMap((p: Tensor) => T.sub(T.mul(p, 0.5), 0.1), params);
  (grads.b.data as Float32Array).set([0, -0, NaN]); // sign 0, 0, NaN
  const opt = T.optim.lion({ lr: 1e-3, weightDecay: 0.1 });
  const { plan, fused, sameAsEager } = updatePlan(opt, grads, params);
  assert.ok(fused.every((t) => t.parts.length === 2), "one part per parameter");
  const names = fused.flatMap((t) =>
    t.parts[0].members.map((id) => plan.steps[id - plan.nIn]!.rule.name)
  );
  assert.ok(names.includes("sign"), `sign is fused (${names})`);
  const elementwise =
    plan.steps.filter((st) =>
      st?.rule.scalar && st.dtype !== "int32" && st.shape.length > 0
    ).length;
  assert.equal(names.length, elementwise / 2, "every step of both in a loop");
  sameAsEager();
});

Deno.test("jit: a donated float64 or int32 argument read through a view (reshape, flatten, a cond passing it on) gives the eager results on every call", () => {
  const programs: [string, (x: Tensor) => Tensor[], T.DType][] = [
    ["reshape float64", (x) => {
      const v = T.reshape(x, [3, 2]);
      return [T.neg(T.neg(v)), T.mul(v, v)];
    }, "float64"],
    ["reshape int32", (w) => [T.reshape(w, [3, 2]), T.add(w, 1)], "int32"],
    ["flatten int32", (w) => [T.flatten(w, 0), T.add(w, 1)], "int32"],
    [
      "cond int32",
      (w) => [T.cond(T.tensor(1), (a) => a, (a) => T.neg(a), w), T.add(w, 1)],
      "int32",
    ],
  ];
  for (const [name, f, dtype] of programs) {
    const jf = T.jit(f, { donateArgnums: 0 });
    for (let call = 0; call < 3; call++) {
      const make = () =>
        T.tensor([1, 2, 3, 4, 5, 6].map((v) => v + call), {
          dtype,
          shape: [2, 3],
        });
      const got = jf(make()), want = f(make());
      got.forEach((g, i) => sameBits(g, want[i], `${name} call ${call}`));
    }
  }
});

Deno.test("jit: a donation never takes the memory of any plan's constant (captured, or returned without being computed), so other calls' results stay valid", () => {
  // a constant that one jitted function returns, donated to another
  const init = T.jit((k: T.random.Key) => ({
    w: T.random.normal(k, [3]),
    m: T.zeros([3]),
  }));
  const step = T.jit(
    (s: { w: Tensor; m: Tensor }) => ({ w: T.add(s.w, s.m), m: T.add(s.m, 1) }),
    { donateArgnums: 0 },
  );
  const a = init(T.random.key(1)), b = init(T.random.key(2));
  const next = step(a);
  assert.deepEqual(Array.from(next.m.data), [1, 1, 1]);
  assert.deepEqual(Array.from(b.m.data), [0, 0, 0], "another call's result");
  assert.deepEqual(Array.from(step(b).m.data), [1, 1, 1]);
  assert.deepEqual(Array.from(init(T.random.key(3)).m.data), [0, 0, 0]);
  // a captured constant that the plan shares with an equal one
  const c1 = T.tensor([1, 2, 3]), c2 = T.tensor([1, 2, 3]);
  const f = (w: Tensor) => T.mul(T.add(w, c1), c2);
  const jf = T.jit(f, { donateArgnums: 0 });
  jf(T.tensor([1, 1, 1]));
  sameBits(jf(c2), f(T.tensor([1, 2, 3])), "c2 donated");
  assert.deepEqual(Array.from(c2.data), [1, 2, 3], "c2 stays valid");
  sameBits(jf(T.tensor([1, 1, 1])), T.tensor([2, 6, 12]), "later calls");
});

Deno.test("jit: donated parameters of one shape, updated in one fused task, each part reading its own (float32 and float64)", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const make = (seed: number) => ({
      a: T.random.normal(T.random.key(seed), [1000], { dtype }),
      b: T.random.normal(T.random.key(seed + 1), [1000], { dtype }),
      c: T.random.normal(T.random.key(seed + 2), [1000], { dtype }),
    });
    const opt = T.optim.sgd({ lr: 0.1, momentum: 0.9, weightDecay: 1e-2 });
    const update = (g: T.Tree, s: T.Tree, p: T.Tree) => {
      const r = opt.update(g as never, s as never, p as never);
      return [T.optim.applyUpdates(p, r.updates), r.state];
    };
    const step = T.jit(update, { donateArgnums: [1, 2] });
    const grads = make(10);
    let p = make(0), s: T.Tree = opt.init(p);
    s = update(grads, s, p)[1]; // a momentum that is not zero
    for (let i = 0; i < 3; i++) {
      const copy = (t: T.Tree) => T.treeMap((x: Tensor) => T.add(x, 0), t);
      const want = T.treeLeaves(
        update(grads, copy(s), copy(p)) as T.Tree,
      ) as Tensor[];
      const [np, ns] = step(grads, s, p) as [typeof p, T.Tree];
      (T.treeLeaves([np, ns]) as Tensor[]).forEach((l, k) =>
        sameBits(l, want[k], `${dtype}, call ${i}, leaf ${k}`)
      );
      [p, s] = [np, ns];
    }
    assert.equal(step.traceCount(), 1);
  }
});

Deno.test("jit: relu after linear runs on the linear kernel's result in place (the eager bits, special values included)", () => {
  const f = (w: Tensor, b: Tensor, x: Tensor) => T.relu(T.linear(x, w, b));
  const step = (w: Tensor, b: Tensor, x: Tensor, r: Tensor) =>
    T.valueAndGrad(
      (w2: Tensor, b2: Tensor) => T.sum(T.mul(f(w2, b2, x), r)),
      { argnums: [0, 1] },
    )(w, b);
  const args = [[5, 3], [5], [4, 3]].map((s, i) =>
    T.random.normal(T.random.key(i), s)
  );
  const flat = args.map((a) => T.treeFlatten(a));
  const [, plan] = trace(f as never, args, [0, 1, 2], flat);
  const names = fuseEpilogues(plan).flatMap((st) => st ? [st.rule.name] : []);
  assert.deepEqual(names, ["linear+relu"]);
  fc.assert(
    fc.property(
      fc.record({
        m: fc.integer({ min: 1, max: 70 }),
        k: fc.integer({ min: 1, max: 70 }),
        n: fc.integer({ min: 1, max: 70 }),
        special: fc.constantFrom(NaN, Infinity, -Infinity, -0, 0),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      ({ m, k, n, special, seed }) => {
        const ks = T.random.split(T.random.key(seed), 4);
        const w = T.random.normal(ks[0], [n, k]);
        const xs = Array.from(T.random.normal(ks[1], [m, k]).data);
        xs[seed % (m * k)] = special;
        if (m > 1) xs.fill(0, 0, k); // a row of zeros: outputs at the bias
        const x = T.reshape(T.tensor(xs), [m, k]);
        const b = seed % 2 ? T.zeros([n]) : T.random.normal(ks[2], [n]);
        const r = T.random.normal(ks[3], [m, n]);
        const jf = T.jit(f), js = T.jit(step);
        jf(w, b, x);
        js(w, b, x, r);
        sameBits(jf(w, b, x), f(w, b, x), "relu(linear)");
        const [jv, [jw, jb]] = js(w, b, x, r);
        const [ev, [ew, eb]] = step(w, b, x, r);
        sameBits(jv, ev, "value");
        sameBits(jw, ew, "dw");
        sameBits(jb, eb, "db");
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("jit: a transpose that only matmul reads is read in place by the GEMM (transpose+matmul: the eager bits, special values, every dtype and rank)", () => {
  const f = (a: Tensor, b: Tensor) => T.matmul(T.transpose(a), b);
  const namesOf = (g: (...a: Tensor[]) => T.Tree, args: Tensor[]) => {
    const flat = args.map((a) => T.treeFlatten(a));
    const [, plan] = trace(g, args, args.map((_, i) => i), flat);
    return fuseEpilogues(plan).flatMap((st) => st ? [st.rule.name] : []);
  };
  const a0 = T.ones([3, 4]), b0 = T.ones([3, 5]);
  assert.deepEqual(namesOf(f as never, [a0, b0]), ["transpose+matmul"]);
  // read by anything else too, the transpose stays a step of its own
  const shared = (a: Tensor, b: Tensor) => {
    const at = T.transpose(a);
    return [T.matmul(at, b), at];
  };
  assert.deepEqual(namesOf(shared as never, [a0, b0]), ["transpose", "matmul"]);
  // linear's weight gradient (gᵀx) is one such product
  const dw = T.grad((w: Tensor, x: Tensor, r: Tensor) =>
    T.sum(T.mul(T.linear(x, w), r))
  );
  const args = [T.ones([5, 4]), T.ones([3, 4]), T.ones([3, 5])];
  assert.ok(namesOf(dw as never, args).includes("transpose+matmul"));
  fc.assert(
    fc.property(
      fc.record({
        // k 1 is an outer product, small sizes run in the TypeScript loops
        m: fc.integer({ min: 1, max: 80 }),
        k: fc.integer({ min: 1, max: 80 }),
        n: fc.integer({ min: 1, max: 80 }),
        dtypes: fc.constantFrom(
          ["float32", "float32"],
          ["float64", "float64"],
          ["float32", "float64"],
          ["int32", "float32"],
        ),
        batched: fc.boolean(),
        special: fc.constantFrom(NaN, Infinity, -Infinity, -0, 0),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      ({ m, k, n, dtypes, batched, special, seed }) => {
        const [ka, kb] = T.random.split(T.random.key(seed));
        const lead = batched ? [2] : [];
        let a = T.random.normal(ka, [...lead, k, m], { dtype: "float64" });
        const vals = Float64Array.from(a.data);
        vals[seed % vals.length] = special;
        a = T.astype(T.tensor(vals, { shape: a.shape }), dtypes[0] as never);
        const b = T.astype(
          T.mul(T.random.normal(kb, [...lead, k, n]), 3),
          dtypes[1] as never,
        );
        const g = batched
          ? (x: Tensor, y: Tensor) => T.matmul(T.swapaxes(x, -1, -2), y)
          : f;
        const jg = T.jit(g);
        jg(a, b);
        sameBits(jg(a, b), g(a, b), `${m}x${k}x${n} ${dtypes} ${batched}`);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("jit: relu runs inside conv2d's kernel and its mask inside max pooling's gradient (the eager bits, special values included)", () => {
  const net = (p: { w: Tensor; b: Tensor }, x: Tensor) =>
    T.maxPool2d(T.relu(T.conv2d(x, p.w, p.b)), { kernelSize: 2 });
  const loss = (p: { w: Tensor; b: Tensor }, x: Tensor, r: Tensor) =>
    T.sum(T.mul(net(p, x), r));
  const step = (p: { w: Tensor; b: Tensor }, x: Tensor, r: Tensor) =>
    T.valueAndGrad(loss, { argnums: [0, 1] })(p, x, r);
  // the plan: both fused, nothing left of the separate steps
  const key = T.random.key(0);
  const p = {
    w: T.random.normal(key, [6, 2, 3, 3]),
    b: T.random.normal(T.random.key(1), [6]),
  };
  const x0 = T.random.normal(T.random.key(2), [4, 2, 14, 14]);
  const r0 = T.random.normal(T.random.key(3), [4, 6, 6, 6]);
  const names = (f: (...a: Tensor[]) => T.Tree, args: T.Tree[]) => {
    const flat = args.map((a) => T.treeFlatten(a));
    const [, plan] = trace(f, args, args.map((_, i) => i), flat);
    return fuseEpilogues(plan).flatMap((st) => st ? [st.rule.name] : []);
  };
  const fused = names(step as never, [p, x0, r0]);
  assert.ok(fused.includes("conv2d+relu"), fused.join(" "));
  assert.ok(fused.includes("maxPool2dScatter+reluMask"), fused.join(" "));
  for (const n of ["conv2d", "relu", "reluMask", "maxPool2dScatter"]) {
    assert.ok(!fused.includes(n), `${n} is left in ${fused.join(" ")}`);
  }
  // a conv2d output read by anything else stays a step of its own
  const both = (w: Tensor, x: Tensor) => {
    const y = T.conv2d(x, w);
    return [T.relu(y), y];
  };
  assert.ok(!names(both as never, [p.w, x0]).includes("conv2d+relu"));
  // a customVjp function called relu is not the primitive: not fused
  const twice = function relu(y: Tensor) {
    return T.mul(y, 2);
  };
  const relu = T.customVjp(
    twice,
    (y: Tensor) => [twice(y), null] as const,
    (_r, g) => [T.mul(g, 2)],
  );
  const custom = (w: Tensor, x: Tensor) => relu(T.conv2d(x, w));
  assert.ok(!names(custom as never, [p.w, x0]).includes("conv2d+relu"));
  const jCustom = T.jit(custom);
  jCustom(p.w, x0);
  sameBits(jCustom(p.w, x0), custom(p.w, x0), "customVjp named relu");
  const jBoth = T.jit(both);
  jBoth(p.w, x0);
  const [ja, jb] = jBoth(p.w, x0) as Tensor[];
  const [ea, eb] = both(p.w, x0) as Tensor[];
  sameBits(ja, ea, "relu(y)");
  sameBits(jb, eb, "y");
  // random sizes (the WebAssembly kernels and the TypeScript ones); x with
  // zero blocks (outputs at exactly ±0 with a zero bias), or one NaN or
  // ±inf: replays give the eager outputs and gradients
  type Out = [Tensor, [Tensor, [{ w: Tensor; b: Tensor }, Tensor]]];
  let atZero = 0; // cases where a pooled relu is 0
  const withOut = (q: { w: Tensor; b: Tensor }, x: Tensor, r: Tensor): Out => [
    net(q, x),
    step(q, x, r) as Out[1],
  ];
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 9 }),
        c: fc.integer({ min: 1, max: 3 }),
        o: fc.integer({ min: 1, max: 9 }),
        hw: fc.integer({ min: 2, max: 9 }), // output size 2·hw
        special: fc.constantFrom(NaN, Infinity, -Infinity, -0, 0),
        zeroBias: fc.boolean(),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      ({ n, c, o, hw, special, zeroBias, seed }) => {
        const k = T.random.split(T.random.key(seed), 4);
        const q = {
          w: T.random.normal(k[0], [o, c, 3, 3]),
          b: zeroBias ? T.zeros([o]) : T.random.normal(k[1], [o]),
        };
        const side = 2 * hw + 2, plane = side * side;
        const xs = Array.from(T.random.normal(k[2], [n, c, side, side]).data);
        // the first image's first rows are ±0, one element is special
        for (let i = 0; i < 4 * side; i++) xs[i] = i % 3 ? 0 : -0;
        xs[(seed * 7919) % (n * c * plane)] = special;
        const x = T.reshape(T.tensor(xs), [n, c, side, side]);
        const r = T.random.normal(k[3], [n, o, hw, hw]);
        const j = T.jit(withOut);
        j(q, x, r);
        const [jy, [jv, [jp, jx]]] = j(q, x, r);
        const [ey, [ev, [ep, ex]]] = withOut(q, x, r);
        sameBits(jy, ey, "relu, then max pooling");
        sameBits(jv, ev, "value");
        sameBits(jp.w, ep.w, "dw");
        sameBits(jp.b, ep.b, "db");
        sameBits(jx, ex, "dx");
        if (jy.data.some((v) => v === 0)) atZero++;
      },
    ),
    { numRuns: 40 },
  );
  assert.ok(atZero > 10, `relu at 0 in only ${atZero} cases`);
});

Deno.test("jit: a traced value that leaks out of the jitted function (through a variable) is an error wherever it is used later, naming the op that made it", () => {
  let leaked: Tensor | undefined;
  const j = T.jit((x: Tensor) => {
    leaked = T.mul(x, 2);
    return T.add(x, 1);
  });
  sameBits(j(T.tensor([1, 2])), T.tensor([2, 3]), "first call");
  sameBits(j(T.tensor([3, 4])), T.tensor([4, 5]), "replay");
  const msg =
    /^Error: jit: a value traced inside a jitted function \(the result of the op mul, shape \[2\]\) was used after that function returned: it leaked out through a variable or a closure; return it from the jitted function instead$/;
  assert.throws(() => T.add(leaked!, 1), msg);
  assert.throws(() => leaked!.data, msg);
  assert.throws(() => T.toArray(leaked!), msg);
});

Deno.test("jit: max pooling's gradient with relu's VJP reads the pooled maxima as relu's mask (Rule.epilogueFrom: the eager bits, special values included)", () => {
  const f = (w: Tensor, x: Tensor, r: Tensor) =>
    T.sum(T.mul(T.maxPool2d(T.relu(T.conv2d(x, w)), { kernelSize: 2 }), r));
  // (the value too: the plan then computes the pooling's output)
  const g = T.valueAndGrad(f);
  const args = [
    T.ones([4, 2, 3, 3]),
    T.ones([2, 2, 10, 10]),
    T.ones([2, 4, 4, 4]),
  ];
  const flat = args.map((a) => T.treeFlatten(a));
  const [, plan] = trace(g as never, args, [0, 1, 2], flat);
  const steps = fuseEpilogues(plan);
  const scatter = steps.find((st) =>
    st?.rule.name === "maxPool2dScatter+reluMask"
  )!;
  const pooling = steps.findIndex((st) => st?.rule.name === "maxPool2d");
  assert.ok(scatter && pooling >= 0, steps.map((s) => s?.rule.name).join(" "));
  // its inputs: g, the pooling's input, relu's mask (the same), the pooled maxima
  assert.equal(scatter.inputs.length, 4);
  assert.equal(scatter.inputs[3], plan.nIn + pooling);
  fc.assert(
    fc.property(
      fc.record({
        // (up to 7,000 windows: the WebAssembly kernel's sizes too)
        n: fc.integer({ min: 1, max: 4 }),
        c: fc.integer({ min: 1, max: 6 }),
        hw: fc.integer({ min: 5, max: 32 }),
        special: fc.constantFrom(NaN, Infinity, -Infinity, -0, 0),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      ({ n, c, hw, special, seed }) => {
        const ks = T.random.split(T.random.key(seed), 3);
        const w = T.random.normal(ks[0], [c + 1, c, 3, 3]);
        const xs = Array.from(T.random.normal(ks[1], [n, c, hw, hw]).data);
        xs[seed % xs.length] = special;
        const x = T.reshape(T.tensor(xs), [n, c, hw, hw]);
        const o = Math.floor((hw - 2) / 2);
        const r = T.random.normal(ks[2], [n, c + 1, o, o]);
        const jg = T.jit(g);
        jg(w, x, r);
        const [jv, jw] = jg(w, x, r), [ev, ew] = g(w, x, r);
        sameBits(jv, ev, "value");
        sameBits(jw, ew, "dw");
      },
    ),
    { numRuns: 40 },
  );
});
