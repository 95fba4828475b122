/**
 * nn.rnn, nn.lstm and nn.gru against PyTorch 1.13 (tests/fixtures/recurrent.json,
 * written by tests/fixtures/gen_recurrent.py): the repr, state_dict keys and
 * shapes, outputs and the gradients of the input and every parameter, in
 * float64 (and float32), for stacked, bidirectional, batch-first, bias-free
 * and unbatched layers; then init bounds, jit, vmap, dropout and errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/recurrent.json" with { type: "json" };

const { nn, random } = T;
type J = { shape: number[]; dtype: string; data: number[] };
const toT = (j: J): Tensor =>
  T.tensor(j.data, { shape: j.shape, dtype: j.dtype as T.DType });
type Case = {
  kind: "RNN" | "LSTM" | "GRU";
  options: T.nn.RnnOptions;
  repr: string;
  params: Record<string, J>;
  x: J;
  output: J;
  cotangent: J;
  grads: Record<string, J>;
};
const make = (c: Case) =>
  c.kind === "RNN"
    ? nn.rnn(c.options)
    : c.kind === "LSTM"
    ? nn.lstm(c.options)
    : nn.gru(c.options);

Deno.test("recurrent layers: PyTorch's repr, keys, outputs and gradients", async (t) => {
  for (const c of fixture.cases as unknown as Case[]) {
    await t.step(`${c.repr} on [${c.x.shape}] (${c.x.dtype})`, () => {
      const layer = make(c);
      assert.equal(layer.info.repr, c.repr);
      const init = layer.init(random.key(0));
      assert.deepEqual(
        Object.keys(init).sort(),
        Object.keys(c.params).sort(),
      );
      const params = Object.fromEntries(
        Object.entries(c.params).map(([k, v]) => {
          assert.deepEqual(init[k].shape, v.shape, k);
          return [k, toT(v)];
        }),
      );
      const tol = c.x.dtype === "float32"
        ? { atol: 1e-5, rtol: 1e-4 }
        : { atol: 1e-12, rtol: 1e-10 };
      const x = toT(c.x), cot = toT(c.cotangent);
      assertAllClose(layer.apply(params, x), toT(c.output), tol);
      const [gp, gx] = T.grad(
        (p: typeof params, v: Tensor) => T.sum(T.mul(layer.apply(p, v), cot)),
        { argnums: [0, 1] },
      )(params, x);
      assertAllClose(gx, toT(c.grads.x), { ...tol, msg: "x" });
      for (const k of Object.keys(params)) {
        assertAllClose(gp[k], toT(c.grads[k]), { ...tol, msg: k });
      }
    });
  }
});

Deno.test("recurrent layers: init U(±1/sqrt(hidden)), jit, vmap over sequences, dropout between layers", () => {
  const layer = nn.lstm({
    inputSize: 3,
    hiddenSize: 16,
    numLayers: 2,
    dropout: 0.5,
  });
  const params = layer.init(random.key(1));
  for (const [k, v] of Object.entries(params)) {
    const m = Math.max(...Array.from(v.data, Math.abs));
    assert.ok(m <= 0.25 && m > 0.2, `${k}: max |w| ${m}`);
  }
  const x = random.normal(random.key(2), [6, 2, 3]);
  const eager = layer.apply(params, x);
  const jitted = T.jit((p: typeof params, v: Tensor) => layer.apply(p, v));
  assert.deepEqual(jitted(params, x).data, eager.data);
  assert.deepEqual(
    jitted(params, T.mul(x, 2)).data,
    layer.apply(params, T.mul(x, 2)).data,
  );
  assert.equal(jitted.traceCount(), 1);
  // vmap over unbatched sequences = the batched layer
  const perSeq = T.vmap((s: Tensor) => layer.apply(params, s), {
    inAxes: 1,
    outAxes: 1,
  })(x);
  assertAllClose(perSeq, eager, { atol: 1e-6, rtol: 1e-5 });
  // dropout between the layers in training only, reproducible by key
  const train = (k: number) =>
    layer.apply(params, x, { training: true, key: random.key(k) });
  assert.deepEqual(train(3).data, train(3).data);
  assert.notDeepEqual(train(3).data, eager.data);
  assert.throws(
    () => layer.apply(params, x, { training: true }),
    /nn.LSTM.apply: training with dropout needs opts.key/,
  );
});

Deno.test("recurrent layers: errors name the layer, the option and what came", () => {
  assert.throws(
    () => nn.gru({ inputSize: 3 } as T.nn.RecurrentOptions),
    /nn.gru: .*hiddenSize/,
  );
  assert.throws(
    () =>
      nn.rnn({
        inputSize: 3,
        hiddenSize: 2,
        nonlinearity: "sigmoid" as "tanh",
      }),
    /nn.rnn: nonlinearity must be "tanh" or "relu", got string sigmoid/,
  );
  assert.throws(
    () => nn.lstm({ inputSize: 3, hiddenSize: 2, dropout: 2 }),
    /nn.lstm: dropout must be in \[0, 1\], got 2/,
  );
  const layer = nn.lstm({ inputSize: 3, hiddenSize: 2, batchFirst: true });
  assert.throws(
    () => layer.apply(layer.init(random.key(0)), T.zeros([2, 5, 4])),
    /nn.LSTM.apply: x must be \[seq, batch, 3\] \(batchFirst: \[batch, seq, 3\]\) or unbatched \[seq, 3\], got Tensor float32 \[2,5,4\]/,
  );
});

Deno.test("rnn, lstm, gru: an empty sequence is an error naming the layer (as PyTorch), an empty batch runs", () => {
  for (
    const [name, make] of [
      ["RNN", T.nn.rnn],
      ["LSTM", T.nn.lstm],
      ["GRU", T.nn.gru],
    ] as const
  ) {
    for (const batchFirst of [false, true]) {
      const layer = make({ inputSize: 4, hiddenSize: 3, batchFirst });
      const p = layer.init(T.random.key(0));
      const empty = batchFirst ? [[2, 0, 4], [0, 4]] : [[0, 2, 4], [0, 4]];
      for (const shape of empty) {
        assert.throws(
          () => layer.apply(p, T.ones(shape)),
          new RegExp(
            `^Error: nn\\.${name}\\.apply: x's sequence length must be at least 1, got Tensor float32 \\[${shape}\\]$`,
          ),
        );
      }
      const noBatch = batchFirst ? [0, 5, 4] : [5, 0, 4];
      assert.deepEqual(
        layer.apply(p, T.ones(noBatch)).shape,
        batchFirst ? [0, 5, 3] : [5, 0, 3],
      );
    }
  }
});
