/**
 * Probe of nn.rnn, nn.lstm and nn.gru against PyTorch 1.13
 * (tests/fixtures/recurrent_probe.json, written by
 * tests/fixtures/gen_recurrent_probe.py): every kind with stacked,
 * bidirectional, batch-first and bias-free layers, a sequence of 1, a batch
 * of 1, unbatched inputs, dropout in eval mode and dropout 1 in training;
 * outputs, the gradients of the input and every parameter, and the
 * parameters' gradients of a function of the input's gradient (double
 * backward); the same under jit (the eager bits) and vmap (per example).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/recurrent_probe.json" with { type: "json" };
import { type FixtureTensor, fixtureTensor } from "./_fixture_cases.ts";
import {
  makeRecurrent,
  type RecurrentCase,
  recurrentTol,
} from "./_recurrent_cases.ts";

const { nn, random } = T;
type Case = RecurrentCase & {
  repr: string;
  training: boolean;
  params: Record<string, FixtureTensor>;
  x: FixtureTensor;
  output: FixtureTensor;
  cotangent: FixtureTensor;
  grads: Record<string, FixtureTensor>;
  w: FixtureTensor;
  grads2: Record<string, FixtureTensor>;
};
const cases = fixture.cases as unknown as Case[];
const make = makeRecurrent, tol = recurrentTol;
const name = (c: Case) =>
  `${c.repr}${c.training ? " training" : ""} on [${c.x.shape}]`;

Deno.test("recurrent probe: PyTorch's repr, keys, shapes, outputs, gradients and double backward", async (t) => {
  for (const c of cases) {
    await t.step(name(c), () => {
      const layer = make(c);
      assert.equal(layer.info.repr, c.repr);
      const init = layer.init(random.key(0));
      assert.deepEqual(Object.keys(init), Object.keys(c.params));
      const params: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(c.params)) {
        assert.deepEqual(init[k].shape, v.shape, k);
        assert.equal(init[k].dtype, "float64", k);
        params[k] = fixtureTensor(v);
      }
      const x = fixtureTensor(c.x),
        cot = fixtureTensor(c.cotangent),
        w = fixtureTensor(c.w);
      // (dropout 1 draws nothing: no key needed)
      const opts = { training: c.training };
      const y = layer.apply(params, x, opts);
      assert.deepEqual(y.shape, c.output.shape);
      assertAllClose(y, fixtureTensor(c.output), tol);
      const f = (p: typeof params, v: Tensor) =>
        T.sum(T.mul(layer.apply(p, v, opts), cot));
      const [gp, gx] = T.grad(f, { argnums: [0, 1] })(params, x);
      assertAllClose(gx, fixtureTensor(c.grads.x), { ...tol, msg: "x" });
      for (const k of Object.keys(params)) {
        assertAllClose(gp[k], fixtureTensor(c.grads[k]), { ...tol, msg: k });
      }
      const gg = T.grad((p: typeof params) =>
        T.sum(T.mul(T.grad(f, { argnums: 1 })(p, x), w))
      )(params);
      for (const k of Object.keys(params)) {
        assertAllClose(gg[k], fixtureTensor(c.grads2[k]), {
          ...tol,
          msg: `d2 ${k}`,
        });
      }
    });
  }
});

Deno.test("recurrent probe: jit gives the eager bits, vmap over sequences gives the batched layer", async (t) => {
  for (const c of cases) {
    await t.step(name(c), () => {
      const layer = make(c);
      const params = Object.fromEntries(
        Object.entries(c.params).map(([k, v]) => [k, fixtureTensor(v)]),
      );
      const x = fixtureTensor(c.x), cot = fixtureTensor(c.cotangent);
      const opts = { training: c.training };
      const f = (p: typeof params, v: Tensor) =>
        T.sum(T.mul(layer.apply(p, v, opts), cot));
      const eager = [
        layer.apply(params, x, opts),
        ...T.treeLeaves(
          T.grad(f, { argnums: [0, 1] })(params, x),
        ),
      ];
      const jitted = T.jit((p: typeof params, v: Tensor) => [
        layer.apply(p, v, opts),
        ...T.treeLeaves(T.grad(f, { argnums: [0, 1] })(p, v)),
      ]);
      for (let i = 0; i < 2; i++) {
        const got = jitted(params, x);
        got.forEach((g, j) => assert.deepEqual(g.data, eager[j].data, `${j}`));
      }
      assert.equal(jitted.traceCount(), 1);
      if (c.x.shape.length === 3) {
        const batchAxis = c.options.batchFirst ? 0 : 1;
        const perSeq = T.vmap((s: Tensor) => layer.apply(params, s, opts), {
          inAxes: batchAxis,
          outAxes: batchAxis,
        })(x);
        assertAllClose(perSeq, fixtureTensor(c.output), tol);
      }
    });
  }
});

Deno.test("recurrent probe: reprs as PyTorch prints them (dropout stored as a float)", () => {
  const cases: [T.nn.LeafLayer, string][] = [
    // str(torch.nn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True))
    [
      nn.lstm({
        inputSize: 10,
        hiddenSize: 20,
        numLayers: 2,
        batchFirst: true,
        bidirectional: true,
      }),
      "LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)",
    ],
    // str(torch.nn.RNN(2, 3, num_layers=3, dropout=1, batch_first=True, nonlinearity='relu'))
    [
      nn.rnn({
        inputSize: 2,
        hiddenSize: 3,
        numLayers: 3,
        dropout: 1,
        batchFirst: true,
        nonlinearity: "relu",
      }),
      "RNN(2, 3, num_layers=3, batch_first=True, dropout=1.0)",
    ],
    // str(torch.nn.GRU(10, 20, dropout=1e-5))
    [
      nn.gru({ inputSize: 10, hiddenSize: 20, dropout: 1e-5 }),
      "GRU(10, 20, dropout=1e-05)",
    ],
  ];
  for (const [layer, repr] of cases) assert.equal(layer.info.repr, repr);
});

Deno.test("recurrent probe: init U(±1/sqrt(hiddenSize)) for every parameter, each its own draw", () => {
  for (const make of [nn.rnn, nn.lstm, nn.gru]) {
    const layer = make({
      inputSize: 7,
      hiddenSize: 64,
      numLayers: 2,
      bidirectional: true,
      dtype: "float64",
    });
    const bound = 1 / 8, firsts = new Set<number>();
    for (const [k, v] of Object.entries(layer.init(random.key(3)))) {
      const a = Array.from(v.data);
      const max = Math.max(...a), min = Math.min(...a);
      const meanSq = a.reduce((s, x) => s + x * x, 0) / a.length;
      assert.ok(max <= bound && max > 0.9 * bound, `${k}: max ${max}`);
      assert.ok(min >= -bound && min < -0.9 * bound, `${k}: min ${min}`);
      // the variance of U(-b, b): b^2 / 3 (at least 256 draws each)
      assert.ok(Math.abs(meanSq / (bound ** 2 / 3) - 1) < 0.2, `${k}`);
      firsts.add(a[0]);
    }
    assert.equal(firsts.size, Object.keys(layer.info.params).length);
  }
});

Deno.test("recurrent probe: training dropout scales the kept outputs of the layers below by 1 / (1 - p), none after the last", () => {
  // a relu RNN without bias on positive weights and inputs is linear in its
  // input: with hiddenSize 1 and one step, the second layer's output is
  // w_ih1 * m * h1 / (1 - p) for a keep bit m of each batch row, so each
  // row is 0 or the eval output / (1 - p)
  const p = 0.3;
  const layer = nn.rnn({
    inputSize: 2,
    hiddenSize: 1,
    numLayers: 2,
    nonlinearity: "relu",
    bias: false,
    dropout: p,
    dtype: "float64",
  });
  const params = T.treeMap(
    (w: Tensor) => T.add(T.abs(w), 0.1),
    layer.init(random.key(0)),
  );
  const x = T.add(
    T.abs(random.normal(random.key(1), [1, 400, 2], { dtype: "float64" })),
    0.1,
  );
  const ev = layer.apply(params, x);
  const tr = layer.apply(params, x, { training: true, key: random.key(5) });
  let dropped = 0;
  for (let i = 0; i < 400; i++) {
    assert.ok(ev.data[i] > 0);
    if (tr.data[i] === 0) dropped++;
    else {
      assertAllClose(tr.data[i], ev.data[i] / (1 - p), {
        atol: 0,
        rtol: 1e-14,
      });
    }
  }
  // 400 draws of p = 0.3: 120 ± 4.6 standard deviations of 9.2
  assert.ok(dropped > 78 && dropped < 162, `${dropped} dropped`);
  // one layer: nothing to drop between, so training is eval (and needs no key)
  const one = nn.gru({ inputSize: 2, hiddenSize: 3, dropout: 0.5 });
  const p1 = one.init(random.key(0));
  assert.equal(one.info.needsKey, false);
  const x1 = T.astype(x, "float32");
  assert.deepEqual(
    one.apply(p1, x1, { training: true }).data,
    one.apply(p1, x1).data,
  );
});

Deno.test("recurrent probe: bad input names the layer and the argument", () => {
  const layer = nn.lstm({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
  const params = layer.init(random.key(0));
  // PyTorch takes no integer input either (RuntimeError: expected scalar type)
  assert.throws(
    () => layer.apply(params, T.zeros([5, 2, 3], { dtype: "int32" })),
    /^Error: nn\.LSTM\.apply: x must be float32 or float64, got int32 \[5,2,3\]$/,
  );
  const drop = nn.gru({
    inputSize: 3,
    hiddenSize: 4,
    numLayers: 2,
    dropout: 0.5,
  });
  assert.throws(
    () =>
      drop.apply(drop.init(random.key(0)), T.zeros([5, 2, 3]), {
        training: true,
        key: 3 as unknown as T.Key,
      }),
    /^Error: nn\.GRU\.apply: opts\.key must be a random key \(random\.key\(seed\) or one split from it\), got number 3$/,
  );
  assert.throws(
    () => layer.apply(params, T.zeros([5, 2, 5])),
    /^Error: nn\.LSTM\.apply: x must be \[seq, batch, 3\] or unbatched \[seq, 3\], got Tensor float32 \[5,2,5\]$/,
  );
  assert.throws(
    () =>
      layer.apply(
        { ...params, weight_hh_l1: T.zeros([16, 3]) },
        T.zeros([5, 2, 3]),
      ),
    /^Error: nn\.LSTM\.apply: params\.weight_hh_l1 has shape \[16,3\] but the layer expects \[16,4\]$/,
  );
  assert.throws(
    () => nn.rnn({ inputSize: 3, hiddenSize: 4, numLayers: 0 }),
    /^Error: nn\.rnn: numLayers must be a positive integer, got 0$/,
  );
  for (const p of [-0.1, 1.5]) {
    assert.throws(
      () => nn.gru({ inputSize: 3, hiddenSize: 4, dropout: p }),
      new RegExp(`^Error: nn\\.gru: dropout must be in \\[0, 1\\], got ${p}$`),
    );
  }
  // (projSize is LSTM's alone, as torch's)
  assert.throws(
    () =>
      nn.gru(
        { inputSize: 3, hiddenSize: 4, projSize: 2 } as T.nn.RecurrentOptions,
      ),
    /^Error: nn\.gru: unknown option "projSize"/,
  );
});
