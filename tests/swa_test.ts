/**
 * Stochastic weight averaging: optim.averagedModel against
 * torch.optim.swa_utils.AveragedModel (tests/fixtures/swa.json, written by
 * tests/fixtures/gen_swa.py) bit for bit with the equal average and an EMA
 * avgFn; jit; averaging a batch-norm model's statistics with its params;
 * that the average of SGD's noisy iterates lands nearer the optimum than
 * the iterates do (what SWA is for); the errors. (schedules.swaLR is checked
 * against torch's SWALR with the other schedules in optim_test.ts.)
 */
import assert from "node:assert/strict";
import { assertAllClose, assertErrors } from "./_helpers.ts";
import {
  add,
  grad,
  item,
  jit,
  mean,
  mul,
  nn,
  optim,
  random,
  square,
  sub,
  type Tensor,
  tensor,
  type Tree,
} from "../mod.ts";
import fixture from "./fixtures/swa.json" with { type: "json" };

type Params = { w: Tensor; b: Tensor };
type DT = "float32" | "float64";
const model = (i: number, dtype: DT): Params => ({
  w: tensor(fixture.models[i].w, { dtype }),
  b: tensor(fixture.models[i].b, { dtype }),
});
const AVG: Record<string, optim.AvgFn | undefined> = {
  "equal": undefined,
  "ema 0.1": (a, p) => add(mul(a, 0.1), mul(p, 0.9)),
};

Deno.test("averagedModel: the averaged params after each update are torch's AveragedModel's, bit for bit (equal average and an EMA, float32 and float64)", async (t) => {
  assert.equal(fixture.cases.length, 4);
  for (const c of fixture.cases) {
    await t.step(c.label, () => {
      const swa = optim.averagedModel({ avgFn: AVG[c.avgFn] });
      const dtype = c.dtype as DT;
      let s = swa.init(model(0, dtype));
      c.after.forEach((e, i) => {
        s = swa.updateParameters(s, model(i, dtype));
        assert.equal(item(s.nAveraged), e.nAveraged);
        assert.deepEqual(
          Array.from(s.params.w.data),
          e.w.data,
          `update ${i + 1}: w`,
        );
        assert.deepEqual(
          Array.from(s.params.b.data),
          e.b.data,
          `update ${i + 1}: b`,
        );
      });
    });
  }
});

Deno.test("averagedModel: a jitted updateParameters gives the eager bits, traced once", () => {
  const swa = optim.averagedModel();
  const update = jit((s: optim.AveragedModelState<Params>, p: Params) =>
    swa.updateParameters(s, p)
  );
  let a = swa.init(model(0, "float32")), b = a;
  for (let i = 0; i < fixture.models.length; i++) {
    a = swa.updateParameters(a, model(i, "float32"));
    b = update(b, model(i, "float32"));
    assert.deepEqual(b.params.w.data, a.params.w.data);
  }
  assert.equal(update.traceCount(), 1);
});

Deno.test("averagedModel: a batch-norm model's statistics average with its params (torch's use_buffers); the batch count takes the model's value", () => {
  const net = nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
    nn.batchNorm2d({ numFeatures: 2 }),
  );
  const params = net.init(random.key(0));
  let state = net.initState();
  const swa = optim.averagedModel();
  let s = swa.init({ params, state } as Tree);
  const bn = (tree: Tree) => (tree as Tree[])[1] as Record<string, Tensor>;
  const seen: number[][] = [];
  for (let i = 0; i < 3; i++) {
    const x = random.normal(random.key(i + 1), [4, 1, 6, 6]);
    state = net.applyWithState(params, state, x, { training: true }).state;
    s = swa.updateParameters(s, { params, state } as Tree);
    seen.push(Array.from(bn(state).running_mean.data));
  }
  const avg = bn((s.params as { state: Tree }).state);
  const expected = [0, 1].map((c) =>
    (seen[0][c] + seen[1][c] + seen[2][c]) / 3
  );
  avg.running_mean.data.forEach((v, c) =>
    assert.ok(Math.abs(v - expected[c]) < 1e-6, `${v} vs ${expected[c]}`)
  );
  assert.equal(item(avg.num_batches_tracked), 3);
});

Deno.test("averagedModel: the average of SGD's noisy iterates at a constant rate lands nearer the optimum than the iterates (what SWA is for)", () => {
  // minimise E (w - xi)^2 with xi ~ N(target, 1), one sample a step
  const target = tensor([1, -2, 0.5], { dtype: "float64" });
  const opt = optim.sgd({ lr: 0.2 });
  const swa = optim.averagedModel();
  let p = { w: tensor([0, 0, 0], { dtype: "float64" }) };
  let st = opt.init(p);
  let avg = swa.init(p);
  const dist = (w: Tensor) => Math.sqrt(item(mean(square(sub(w, target)))));
  let iterateDist = 0;
  for (let k = 0; k < 400; k++) {
    const xi = add(
      target,
      random.normal(random.key(k), [3], { dtype: "float64" }),
    );
    const g = grad((q: typeof p) => mean(square(sub(q.w, xi))))(p);
    const r = opt.update(g, st, p);
    p = optim.applyUpdates(p, r.updates);
    st = r.state;
    if (k >= 100) {
      avg = swa.updateParameters(avg, p);
      iterateDist += dist(p.w) / 300;
    }
  }
  const avgDist = dist(avg.params.w);
  assert.ok(
    avgDist < iterateDist / 4,
    `average ${avgDist} vs iterates ${iterateDist}`,
  );
  assert.ok(avgDist < 0.1, `${avgDist}`);
});

Deno.test("averagedModel: errors name the function, the argument, what was expected and what came", () => {
  const fn = "optim.averagedModel";
  const swa = optim.averagedModel();
  const s = swa.init(model(0, "float32"));
  const bad: [() => unknown, RegExp][] = [
    [
      () => optim.averagedModel({ avgFn: 3 } as never),
      /avgFn must be a function \(averaged, param, numAveraged\) => Tensor, got number 3/,
    ],
    [
      () => optim.averagedModel({ decay: 0.9 } as never),
      /unknown option "decay"/,
    ],
    [
      () => swa.init(7 as never),
      /init\(params\): leaf \(root\) must be a Tensor/,
    ],
    [
      () => swa.updateParameters({} as never, model(1, "float32")),
      /updateParameters: state must be what init returned/,
    ],
    [
      () =>
        swa.updateParameters(
          { ...s, nAveraged: 0 } as never,
          model(1, "float32"),
        ),
      /state.nAveraged must be an int32 scalar tensor/,
    ],
    [
      () => swa.updateParameters(s, { w: model(1, "float32").w } as never),
      /does not match the structure/,
    ],
    [
      () =>
        optim.averagedModel({ avgFn: (a) => a.shape.length ? tensor(1) : a })
          .updateParameters(
            swa.updateParameters(s, model(1, "float32")),
            model(2, "float32"),
          ),
      /avgFn must return a tensor of the param's shape and dtype \(float32 \[3\]\), got Tensor float32 \[\]/,
    ],
  ];
  assertErrors(fn, bad);
});

Deno.test("nn.updateBn: the batch norms' statistics recomputed as torch.optim.swa_utils.update_bn's (float64, 1e-12), whatever their momentum; the layers' momentum back after", () => {
  const u = fixture.updateBn as unknown as {
    stateDict: Record<string, { shape: number[]; data: number[] }>;
    batches: { shape: number[]; data: number[] }[];
    after: Record<string, { shape: number[]; data: number[] }>;
  };
  const f64 = (
    j: { shape: number[]; data: number[] },
    dtype: "float64" | "int32" = "float64",
  ) => tensor(j.data, { shape: j.shape, dtype });
  const net = nn.sequential(
    nn.conv2d({
      inChannels: 1,
      outChannels: 2,
      kernelSize: 3,
      dtype: "float64",
    }),
    nn.batchNorm2d({ numFeatures: 2, momentum: 0.3, dtype: "float64" }),
    nn.relu,
    nn.conv2d({
      inChannels: 2,
      outChannels: 3,
      kernelSize: 1,
      dtype: "float64",
    }),
    nn.batchNorm2d({ numFeatures: 3, dtype: "float64" }),
  );
  const sd = u.stateDict;
  const lin = (i: number) => ({
    weight: f64(sd[`${i}.weight`]),
    bias: f64(sd[`${i}.bias`]),
  });
  const params = [lin(0), lin(1), {}, lin(3), lin(4)];
  const bnState = (i: number) => ({
    running_mean: f64(sd[`${i}.running_mean`]),
    running_var: f64(sd[`${i}.running_var`]),
    num_batches_tracked: f64(sd[`${i}.num_batches_tracked`], "int32"),
  });
  const state = [{}, bnState(1), {}, {}, bnState(4)];
  const batches = u.batches.map((b) => f64(b));
  const next = nn.updateBn(
    net,
    params as never,
    state as never,
    batches,
  ) as unknown as Record<string, Tensor>[];
  for (const i of [1, 4]) {
    for (const k of ["running_mean", "running_var"]) {
      assertAllClose(next[i][k], u.after[`${i}.${k}`].data, {
        rtol: 1e-12,
        atol: 1e-14,
        msg: `${i}.${k}`,
      });
    }
    assert.equal(
      item(next[i].num_batches_tracked),
      u.after[`${i}.num_batches_tracked`].data[0],
    );
  }
  // afterwards the layers update with their own momentum again: one
  // training batch from the fresh statistics moves the mean by 0.3 of the way
  const x = batches[0];
  const once = net.applyWithState(params as never, next as never, x, {
    training: true,
  }).state as unknown as Record<string, Tensor>[];
  const batchMean = (nn.updateBn(net, params as never, state as never, [
    x,
  ]) as unknown as Record<string, Tensor>[])[1].running_mean;
  Array.from(once[1].running_mean.data).forEach((v, c) => {
    const before = next[1].running_mean.data[c], m = batchMean.data[c];
    assert.ok(Math.abs(v - (0.7 * before + 0.3 * m)) < 1e-12, `channel ${c}`);
  });
  // the inputs as { x } records or [x, y] arrays, as data.batches gives them
  const asRecords = nn.updateBn(
    net,
    params as never,
    state as never,
    batches.map((b) => ({ x: b, y: b })),
  );
  assert.deepEqual(
    (asRecords as unknown as Record<string, Tensor>[])[4].running_var.data,
    next[4].running_var.data,
  );
  assertErrors("nn.updateBn", [
    [
      () => nn.updateBn(net, params as never, state as never, 3 as never),
      /batches must be an iterable of input tensors/,
    ],
    [
      () =>
        nn.updateBn(net, params as never, state as never, [{ y: 1 }] as never),
      /batch 0 must be an input tensor, a \{ x \} record or an \[x, ...\] array, got an object/,
    ],
    [
      () =>
        nn.updateBn(
          net,
          params as never,
          [{}, {}, {}, {}, {}] as never,
          batches,
        ),
      /state.1 must be the batch norm's state/,
    ],
    [
      () => nn.updateBn({} as never, params as never, state as never, batches),
      /model must be a layer/,
    ],
  ]);
});
