/**
 * Probes of optim's robustness: grads shaped unlike the params, integer
 * leaves, a state made by another transformation, and checkpoint/resume in
 * float64 and under jit (the checkpoint test covers float32 eagerly).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import { deserializeSafetensors, serializeSafetensors } from "../data/mod.ts";

const { optim } = T;
const S = optim.schedules;
const tensor = T.tensor;
const i32 = { dtype: "int32" } as const;

function sameBits(a: Tree, b: Tree, what: string): void {
  const [la, lb] = [T.treeLeaves(a), T.treeLeaves(b)];
  assert.equal(la.length, lb.length, `${what}: leaves`);
  la.forEach((x: Tensor, i) => {
    const y = lb[i];
    assert.equal(x.dtype, y.dtype, `${what}: leaf ${i} dtype`);
    assert.deepEqual(x.shape, y.shape, `${what}: leaf ${i} shape`);
    const bits = (t: Tensor) =>
      new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    assert.deepEqual(bits(x), bits(y), `${what}: leaf ${i} bits`);
  });
}

Deno.test("optim probe: grads shaped unlike the params are an error naming the leaf, not a broadcast that reshapes the state", () => {
  const params = { b: tensor([1, 2, 3]), w: tensor([[1, 2], [3, 4]]) };
  const wrong = { b: tensor([[1, 1, 1]]), w: tensor([[1, 1], [1, 1]]) };
  const scalar = { b: tensor(1), w: tensor([[1, 1], [1, 1]]) };
  const cases: [string, T.optim.GradientTransformation, RegExp][] = [
    [
      "adam",
      optim.adam(),
      /optim\.scaleByAdam: leaf "b" has shape \[1,3\] in the updates but \[3\]/,
    ],
    ["sgd momentum", optim.sgd({ momentum: 0.9 }), /optim\.trace: leaf "b"/],
    ["rmsprop", optim.rmsprop(), /optim\.scaleByRms: leaf "b"/],
    ["adagrad", optim.adagrad(), /optim\.scaleByAdagrad: leaf "b"/],
    ["rprop", optim.rprop(), /optim\.scaleByRprop: leaf "b"/],
    ["lion", optim.lion(), /optim\.scaleByLion: leaf "b"/],
    [
      "adafactor",
      optim.adafactor({ minDimSizeToFactor: 1 }),
      /optim\.scaleByFactoredRms: leaf "b" has shape \[1,3\] in the updates, but the state's statistics/,
    ],
    [
      "multiSteps",
      optim.multiSteps(optim.adam(), { everyK: 2 }),
      /optim\.multiSteps: leaf "b"/,
    ],
    [
      "masked",
      optim.masked(optim.adam(), () => true),
      /optim\.scaleByAdam: leaf "0"/,
    ],
  ];
  for (const [name, opt, re] of cases) {
    const state = opt.init(params);
    assert.throws(() => opt.update(wrong, state, params), re, name);
    assert.throws(() => opt.update(scalar, state, params), /has shape \[\]/);
  }
  // transforms without a state: applyUpdates catches the shape
  const sgd = optim.sgd({ lr: 0.1 });
  const r = sgd.update(wrong, sgd.init(params), params);
  assert.throws(
    () => optim.applyUpdates(params, r.updates),
    /optim\.applyUpdates: leaf "b" has shape \[3\] in the params but \[1,3\] in the updates/,
  );
  // averagedModel: params of another shape than the average
  const swa = optim.averagedModel();
  const s = swa.updateParameters(swa.init(params), params);
  assert.throws(
    () => swa.updateParameters(s, wrong),
    /optim\.averagedModel\.updateParameters: leaf "b" has shape \[3\] in state\.params but \[1,3\] in params/,
  );
});

Deno.test("optim probe: an integer param is an error naming the optimizer and the leaf (its update would be truncated); masked and setToZero freeze it", () => {
  const params = { n: tensor([1, 2], i32), w: tensor([1, 2]) };
  for (
    const [name, opt] of [
      ["sgd", optim.sgd({ lr: 0.1, weightDecay: 0.1 })],
      ["adam", optim.adam()],
      ["asgd", optim.asgd()],
      ["rprop", optim.rprop()],
    ] as const
  ) {
    assert.throws(
      () => opt.init(params),
      new RegExp(
        `optim\\.${name}\\.init\\(params\\): params leaf "n" is int32; optimizers update float tensors only`,
      ),
    );
  }
  const sgd = optim.sgd({ lr: 0.1 });
  const p = { w: tensor([1, 2]) };
  assert.throws(
    () => sgd.update({ w: tensor([1, 1], i32) }, sgd.init(p), p),
    /optim\.sgd\.update\(updates\): updates leaf "w" is int32/,
  );
  // the way out the message names: freeze the integer leaf
  const frozen = optim.multiTransform(
    {
      train: optim.sgd({ lr: 0.1, weightDecay: 0.1 }),
      frozen: optim.setToZero(),
    },
    (path) => (path === "n" ? "frozen" : "train"),
  );
  const grads = { n: tensor([0, 0], i32), w: tensor([1, 1]) };
  const r = frozen.update(grads, frozen.init(params), params);
  const next = optim.applyUpdates(params, r.updates);
  assert.deepEqual(T.toArray(next.n), [1, 2]);
  assert.equal(next.n.dtype, "int32");
});

Deno.test("optim probe: a state made by another transformation (or none) is an error naming the transform and the keys it expects", () => {
  const p = { w: tensor([1, 2, 3]) };
  const g = { w: tensor([1, 1, 1]) };
  const cases: [T.optim.GradientTransformation, Tree, RegExp][] = [
    // same array length, so only the keys tell them apart
    [
      optim.rmsprop(),
      optim.adam().init(p),
      /optim\.scaleByRms: state must be what init returned \(\{ nu \}\), got an object with keys \[count,mu,nu\]/,
    ],
    [
      optim.nadam(),
      optim.adam().init(p),
      /optim\.scaleByNadam: state must be what init returned \(\{ count, mu, nu, muProduct \}\)/,
    ],
    [
      optim.lion(),
      optim.adamw().init(p),
      /optim\.scaleByLion: state must be what init returned \(\{ count, mu \}\)/,
    ],
    [
      optim.adam({ amsgrad: true }),
      optim.adam().init(p),
      /optim\.scaleByAdam: state must be what init returned \(\{ count, mu, nu, nuMax \}\)/,
    ],
    [
      optim.adagrad(),
      optim.rmsprop().init(p),
      /optim\.scaleByAdagrad: state must be what init returned \(\{ sumOfSquares \}\)/,
    ],
  ];
  for (const [opt, state, re] of cases) {
    assert.throws(() => opt.update(g, state, p), re);
  }
  // a transform called directly with no state: no TypeError
  assert.throws(
    () => optim.scaleByAdam().update(g, undefined as never),
    /optim\.scaleByAdam: state must be what init returned \(\{ count, mu, nu \}\), got undefined/,
  );
  assert.throws(
    () => optim.scaleBySchedule(() => 1).update(g, {} as never),
    /optim\.scaleBySchedule: state must be what init returned \(\{ count \}\)/,
  );
});

Deno.test("optim probe: training resumed from a safetensors checkpoint equals the uninterrupted run bit for bit, in float64 and under jit, with and without like", () => {
  const makers: Record<string, () => T.optim.GradientTransformation> = {
    "adam amsgrad maximize": () =>
      optim.adam({ lr: 0.01, amsgrad: true, maximize: true }),
    "sgd dampening, oneCycle": () =>
      optim.sgd({
        lr: S.oneCycle({ maxLr: 0.1, totalSteps: 12, threePhase: true }),
        momentum: 0.9,
        dampening: 0.3,
      }),
    "multiSteps(chain(clip, nadam))": () =>
      optim.multiSteps(
        optim.chain(optim.clipByGlobalNorm(0.5), optim.nadam({ lr: 0.01 })),
        { everyK: 3 },
      ),
    "adafactor, multiplicativeLR": () =>
      optim.adafactor({
        lr: S.multiplicativeLR({
          lr: 0.01,
          lrLambda: (k) => k % 2 ? 0.8 : 1.1,
        }),
        minDimSizeToFactor: 2,
        momentum: 0.9,
      }),
    "multiTransform(radam, asgd, setToZero)": () =>
      optim.multiTransform(
        {
          a: optim.radam({ lr: 0.01 }),
          b: optim.asgd({ lr: 0.01, t0: 2 }),
          z: optim.setToZero(),
        },
        (path) => path === "w" ? "a" : path === "s" ? "z" : "b",
      ),
  };
  const loss = (p: { w: Tensor; b: Tensor; s: Tensor }) =>
    T.add(
      T.add(
        T.sum(T.mul(T.sin(p.w), T.sub(p.w, 0.3))),
        T.sum(T.mul(p.b, T.mul(p.b, p.b))),
      ),
      T.mul(p.s, p.s),
    );
  for (const dtype of ["float64", "float32"] as const) {
    const p0: Tree = {
      w: T.astype(tensor([[0.5, -1], [2, 0.25], [-0.7, 1.5]]), dtype),
      b: T.astype(tensor([0.3, -0.2]), dtype),
      s: T.astype(tensor(1.5), dtype),
      e: {},
      l: [],
    };
    for (const [name, make] of Object.entries(makers)) {
      for (const jitted of [false, true]) {
        const at = `${name} (${dtype}${jitted ? ", jit" : ""})`;
        const stepper = () => {
          const opt = make();
          const f = (p: Tree, s: Tree) => {
            const r = opt.update(T.grad(loss as never)(p) as Tree, s, p);
            return { params: optim.applyUpdates(p, r.updates), state: r.state };
          };
          return { opt, step: jitted ? T.jit(f) : f };
        };
        const { opt, step } = stepper();
        let run: { params: Tree; state: Tree } = {
          params: p0,
          state: opt.init(p0),
        };
        let mid = run;
        for (let i = 0; i < 10; i++) {
          run = step(run.params, run.state);
          if (i === 4) mid = run;
        }
        const bytes = serializeSafetensors(mid);
        for (const like of [undefined, mid]) {
          let r = deserializeSafetensors(bytes, like ? { like } : {}) as {
            params: Tree;
            state: Tree;
          };
          const fresh = stepper(); // a new process builds its optimizer anew
          for (let i = 0; i < 5; i++) r = fresh.step(r.params, r.state);
          sameBits(r, run, `${at}${like ? " with like" : ""}`);
        }
      }
    }
  }
});
