/**
 * optim.multiSteps (gradient accumulation, optax's MultiSteps): zero updates
 * between optimizer steps and the wrapped optimizer's step on the running
 * mean every k calls, bit for bit against the same formula written out;
 * everyK 1 is the optimizer itself; k micro-batches make the step of their
 * union; the errors.
 */
import assert from "node:assert/strict";
import {
  add,
  crossEntropy,
  div,
  grad,
  item,
  nn,
  optim,
  random,
  sub,
  type Tensor,
  tensor,
  type Tree,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeUnflatten,
} from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";

const net = nn.sequential(
  nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
  nn.relu,
  nn.flatten(),
  nn.linear({ inFeatures: 32, outFeatures: 3 }),
);
const params0 = net.init(random.key(0)) as Tree;
const [leaves0, def0] = treeFlatten(params0);
const grads = (k: number): Tree =>
  treeUnflatten(
    def0,
    leaves0.map((l, i) => random.normal(random.key(50 * k + i), l.shape)),
  );
const same = (a: Tree, b: Tree, msg: string) =>
  treeLeaves(a).forEach((t, i) =>
    assert.deepEqual(t.data, treeLeaves(b)[i].data, `${msg}: leaf ${i}`)
  );

Deno.test("multiSteps: zero updates for k - 1 calls, then the optimizer's step on the running mean, bit for bit (adam, k = 3, 9 calls)", () => {
  const k = 3;
  const opt = optim.multiSteps(optim.adam({ lr: 0.01 }), { everyK: k });
  const ref = optim.adam({ lr: 0.01 });
  let params = params0, state = opt.init(params);
  let refParams = params0, refState = ref.init(params0);
  let mean: Tree = treeMap((p) => sub(p, p), params0);
  for (let call = 0; call < 9; call++) {
    const g = grads(call);
    const n = call % k;
    // optax's running mean, written out
    mean = treeMap(
      (u, a) => add(a, div(sub(u, a), tensor(n + 1))),
      g,
      mean,
    );
    const r = opt.update(g, state, params);
    params = optim.applyUpdates(params, r.updates);
    state = r.state;
    if (n < k - 1) {
      for (const u of treeLeaves(r.updates)) {
        assert.ok(u.data.every((v) => v === 0), `call ${call}: zero updates`);
      }
    } else {
      const s = ref.update(mean, refState, refParams);
      refParams = optim.applyUpdates(refParams, s.updates);
      refState = s.state;
      mean = treeMap((p) => sub(p, p), params0);
    }
    same(params, refParams, `after call ${call + 1}`);
    assert.equal(item(state.miniStep), (n + 1) % k);
  }
  assert.equal(item(state.gradientStep), 3);
  same(state.inner, refState, "inner state");
});

Deno.test("multiSteps: everyK 1 is the optimizer itself, bit for bit (sgd with momentum)", () => {
  const opt = optim.multiSteps(optim.sgd({ lr: 0.1, momentum: 0.9 }), {
    everyK: 1,
  });
  const ref = optim.sgd({ lr: 0.1, momentum: 0.9 });
  let [p, s, q, t] = [params0, opt.init(params0), params0, ref.init(params0)];
  for (let call = 0; call < 4; call++) {
    const r = opt.update(grads(call), s, p);
    const e = ref.update(grads(call), t, q);
    [p, s] = [optim.applyUpdates(p, r.updates), r.state];
    [q, t] = [optim.applyUpdates(q, e.updates), e.state];
  }
  same(p, q, "params");
});

Deno.test("multiSteps: k micro-batches make the step of their union (a large batch on small memory), to float32 rounding", () => {
  const x = random.normal(random.key(9), [12, 1, 6, 6]);
  const y = random.randint(random.key(10), [12], 0, 3);
  const lossGrad = (xs: Tensor, ys: Tensor) =>
    grad((p: Tree) => crossEntropy(net.apply(p as never, xs), ys))(params0);
  const opt = optim.multiSteps(optim.sgd({ lr: 0.5 }), { everyK: 3 });
  let state = opt.init(params0);
  let updates: Tree = params0;
  for (let m = 0; m < 3; m++) {
    const xs = x.shape[0] / 3;
    const slice = (t: Tensor) =>
      tensor(
        Array.from(
          t.data.slice(m * t.data.length / 3, (m + 1) * t.data.length / 3),
        ),
        {
          shape: [xs, ...t.shape.slice(1)],
          dtype: t.dtype,
        },
      );
    const r = opt.update(lossGrad(slice(x), slice(y)), state, params0);
    state = r.state;
    updates = r.updates;
  }
  const whole = optim.sgd({ lr: 0.5 });
  const w = whole.update(lossGrad(x, y), whole.init(params0), params0).updates;
  treeLeaves(updates).forEach((u, i) =>
    assertAllClose(u, Array.from(treeLeaves(w)[i].data), {
      rtol: 1e-5,
      atol: 1e-7,
      msg: `leaf ${i}`,
    })
  );
});

Deno.test("multiSteps: errors name the function, the argument, what was expected and what came", () => {
  const fn = "optim.multiSteps";
  const sgd = optim.sgd({ lr: 0.1 });
  const opt = optim.multiSteps(sgd, { everyK: 2 });
  const s = opt.init(params0);
  const bad: [() => unknown, RegExp][] = [
    [
      () => optim.multiSteps(undefined as never, { everyK: 2 }),
      /inner must be a gradient transformation \{ init, update \}, got undefined/,
    ],
    [
      () => optim.multiSteps(sgd, undefined as never),
      /everyK must be an integer in \[1, 2147483647\], got undefined/,
    ],
    [
      () => optim.multiSteps(sgd, { everyK: 0 }),
      /everyK must be an integer in \[1, 2147483647\], got 0/,
    ],
    [
      () => optim.multiSteps(sgd, { everyK: 1.5 }),
      /everyK must be an integer in \[1, 2147483647\], got 1.5/,
    ],
    [() => optim.multiSteps(sgd, { everyK: 2, k: 3 } as never), /k/],
    [
      () => opt.update(params0, {} as never, params0),
      /update: state must be what init returned/,
    ],
    [
      () => opt.update(params0, { ...s, miniStep: 0 } as never, params0),
      /state.miniStep must be an int32 scalar tensor \(from init\), got number 0/,
    ],
    [
      () => opt.update(undefined as never, s, params0),
      /update\(updates\): leaf \(root\) must be a Tensor/,
    ],
    [
      () => opt.init(7 as never),
      /init\(params\): leaf \(root\) must be a Tensor/,
    ],
  ];
  assertErrors(fn, bad);
});
