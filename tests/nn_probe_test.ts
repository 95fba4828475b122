/**
 * Layers against their torch.nn modules on the options the other fixtures
 * leave out (tests/fixtures/nn_probe.json, written by
 * tests/fixtures/gen_nn_probe.py with PyTorch 1.13): stacked, bidirectional,
 * batch-first and unbatched recurrent layers, multi-head attention and
 * encoder layers (no bias, unbatched, gelu, pre-norm, empty sequences),
 * norms on odd shapes, embedding's padding gradient, upsampling modes,
 * pixel shuffles, unfold/fold and grouped, dilated transposed convolutions:
 * the repr, state_dict keys and shapes, outputShape, the output and the
 * gradients of the input and every parameter, in float64. Then
 * outputShape's checks of the input, as apply's.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/nn_probe.json" with { type: "json" };

const { nn, random } = T;
type J = { shape: number[]; dtype: string; data: number[] };
const toT = (j: J): Tensor =>
  T.tensor(j.data, { shape: j.shape, dtype: j.dtype as T.DType });
type Case = {
  name: string;
  fn: string;
  opts: unknown;
  ctor: string;
  repr: string;
  keys: string[];
  params: Record<string, J>;
  x: J;
  output: J;
  cotangent: J;
  grads: Record<string, J>;
};
const tol = { atol: 1e-12, rtol: 1e-10 };

Deno.test("nn layers against torch.nn on more options: repr, keys, outputs and gradients", async (t) => {
  for (const c of fixture.cases as unknown as Case[]) {
    await t.step(`${c.name}: ${c.ctor} on [${c.x.shape}]`, () => {
      const withParams = Object.keys(c.params).length > 0;
      const opts = typeof c.opts === "object" && withParams
        ? { ...c.opts, dtype: "float64" }
        : c.opts;
      const layer =
        (nn as unknown as Record<string, (o: unknown) => T.nn.AnyLayer>)[
          c.fn
        ](opts);
      assert.equal(layer.info.repr, c.repr);
      const init = layer.init(random.key(0)) as T.Tree;
      const paths = T.treePaths(init);
      assert.deepEqual(paths.map(([p]) => p).sort(), [...c.keys].sort());
      const [, def] = T.treeFlatten(init);
      const params = T.treeUnflatten(
        def,
        paths.map(([p, v]) => {
          assert.deepEqual(v.shape, c.params[p].shape, p);
          return toT(c.params[p]);
        }),
      );
      const x = toT(c.x), cot = toT(c.cotangent);
      const state = layer.info.hasState ? layer.initState() : undefined;
      const run = (p: unknown, v: Tensor) =>
        state === undefined
          ? layer.apply(p, v)
          : layer.applyWithState(p, state, v).y;
      const y = run(params, x);
      assertAllClose(y, toT(c.output), { ...tol, msg: "output" });
      assert.deepEqual(layer.info.outputShape(x.shape), y.shape);
      const loss = (p: unknown, v: Tensor) => T.sum(T.mul(run(p, v), cot));
      let gp: T.Tree;
      if (c.x.dtype === "int32") {
        gp = T.grad((p: T.Tree) => loss(p, x))(params) as T.Tree;
      } else {
        const [g, gx] = T.grad(loss, { argnums: [0, 1] })(params, x) as [
          T.Tree,
          Tensor,
        ];
        assertAllClose(gx, toT(c.grads.x), { ...tol, msg: "x" });
        gp = g;
      }
      for (const [p, g] of T.treePaths(gp)) {
        assertAllClose(g, toT(c.grads[p]), { ...tol, msg: p });
      }
    });
  }
});

Deno.test("recurrent and attention layers: outputShape rejects the inputs apply rejects", () => {
  const cases: [T.nn.AnyLayer, number[], number[]][] = [
    [nn.rnn({ inputSize: 3, hiddenSize: 2 }), [5, 2, 3], [5, 2, 2]],
    [
      nn.lstm({
        inputSize: 3,
        hiddenSize: 2,
        bidirectional: true,
        batchFirst: true,
      }),
      [2, 5, 3],
      [2, 5, 4],
    ],
    [nn.gru({ inputSize: 3, hiddenSize: 4 }), [5, 3], [5, 4]],
    [nn.multiheadAttention({ embedDim: 4, numHeads: 2 }), [5, 2, 4], [
      5,
      2,
      4,
    ]],
  ];
  for (const [layer, good, out] of cases) {
    assert.deepEqual(layer.info.outputShape(good), out);
    const features = good[good.length - 1];
    const bads = [
      [...good.slice(0, -1), features + 1], // the wrong features
      [1, 1, ...good], // rank 4 or 5
      [features], // rank 1
    ];
    for (const bad of bads) {
      assert.throws(() => layer.info.outputShape(bad), {
        message: /outputShape: x must be \[seq, batch, \d+\]/,
      }, `${layer.info.name} [${bad}]`);
      // as apply does
      assert.throws(
        () => layer.apply(layer.init(random.key(0)), T.zeros(bad)),
        { message: /apply: x must be \[seq, batch, \d+\]/ },
      );
    }
  }
  // an empty sequence: PyTorch's recurrent layers reject it, as apply does
  assert.throws(
    () => nn.lstm({ inputSize: 3, hiddenSize: 2 }).info.outputShape([0, 2, 3]),
    { message: /sequence length must be at least 1/ },
  );
});

Deno.test("recurrent layers: the first step's zero state multiplies W_hh, so a non-finite weight gives NaN there as in PyTorch", () => {
  // torch.nn.RNN/LSTM/GRU(2, 2, bias=False).double(), weight_ih_l0 0.5,
  // weight_hh_l0 0.25 with [0, 1] = inf, on torch.ones(3, 2): h0 = 0 and
  // 0 · inf is NaN in the first step's row 0 (the layers skipped h0 W_hh)
  const expected: Record<string, number[][]> = {
    RNN: [[NaN, 0.7615941559557649], [NaN, NaN], [NaN, NaN]],
    LSTM: [[NaN, 0.36960635293570576], [NaN, NaN], [NaN, NaN]],
    GRU: [[NaN, 0.20482421480982516], [NaN, NaN], [NaN, NaN]],
  };
  const make = { RNN: nn.rnn, LSTM: nn.lstm, GRU: nn.gru };
  for (const [name, ys] of Object.entries(expected)) {
    const layer = make[name as keyof typeof make]({
      inputSize: 2,
      hiddenSize: 2,
      bias: false,
      dtype: "float64",
    });
    const g = name === "LSTM" ? 4 : name === "GRU" ? 3 : 1;
    const hh = new Array(g * 2 * 2).fill(0.25);
    hh[1] = Infinity;
    const params = {
      weight_ih_l0: T.full([g * 2, 2], 0.5, { dtype: "float64" }),
      weight_hh_l0: T.tensor(hh, { shape: [g * 2, 2], dtype: "float64" }),
    };
    const y = layer.apply(params, T.ones([3, 2], { dtype: "float64" }));
    const got = Array.from(y.data as Float64Array), want = ys.flat();
    got.forEach((v, i) =>
      assert.ok(
        Number.isNaN(want[i])
          ? Number.isNaN(v)
          : Math.abs(v - want[i]) <= 1e-15,
        `${name}: [${got}]`,
      )
    );
  }
});
