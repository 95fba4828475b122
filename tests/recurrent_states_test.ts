/**
 * Initial and final states of nn.rnn, nn.lstm and nn.gru (`opts.h0`,
 * `opts.c0`, `applyWithHidden`) and LSTM's `projSize`, against PyTorch 1.13
 * (tests/fixtures/recurrent_states.json, written by
 * tests/fixtures/gen_recurrent_states.py): outputs, final states and the
 * gradients of x, h0, c0 and every parameter in float64; the states compose
 * (a sequence run in pieces, each from the state the last returned, is the
 * sequence run whole: truncated backpropagation through time), under jit
 * (the eager bits) and vmap (per example); and the errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";
import fixture from "./fixtures/recurrent_states.json" with { type: "json" };
import { type FixtureTensor, fixtureTensor } from "./_fixture_cases.ts";
import {
  makeRecurrent,
  type RecurrentCase,
  recurrentTol,
} from "./_recurrent_cases.ts";

const { nn, random } = T;
type Case = RecurrentCase & {
  repr: string;
  layout: "seq" | "batch" | "unbatched";
  params: Record<string, FixtureTensor>;
  x: FixtureTensor;
  h0: FixtureTensor | null;
  c0: FixtureTensor | null;
  output: FixtureTensor;
  h: FixtureTensor;
  c?: FixtureTensor;
  cotangents: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
};
const cases = fixture.cases as unknown as Case[];
const make = makeRecurrent, tol = recurrentTol;
const name = (c: Case) =>
  `${c.repr} on [${c.x.shape}]${c.h0 ? ` from h0${c.c0 ? ", c0" : ""}` : ""}`;
type P = Record<string, Tensor>;
/** The initial states as apply options (none when the case has none). */
const statesOf = (h0?: Tensor, c0?: Tensor) => ({
  ...(h0 ? { h0 } : {}),
  ...(c0 ? { c0 } : {}),
});
/** The case's tensors: params, x, h0, c0 and the cotangents of y, h, c. */
const load = (c: Case) => ({
  layer: make(c),
  params: Object.fromEntries(
    Object.entries(c.params).map(([k, v]) => [k, fixtureTensor(v)]),
  ) as P,
  x: fixtureTensor(c.x),
  h0: c.h0 ? fixtureTensor(c.h0) : undefined,
  c0: c.c0 ? fixtureTensor(c.c0) : undefined,
  cot: Object.fromEntries(
    Object.entries(c.cotangents).map(([k, v]) => [k, fixtureTensor(v)]),
  ) as P,
});
/** PyTorch's loss: sum(output · cot.output) + sum(h_n · cot.h) (+ sum(c_n · cot.c)). */
const lossOf = (c: Case) => {
  const { layer, cot } = load(c);
  return (p: P, x: Tensor, h0?: Tensor, c0?: Tensor) => {
    const r = layer.applyWithHidden(p, x, statesOf(h0, c0)) as {
      y: Tensor;
      h: Tensor;
      c?: Tensor;
    };
    let l = T.add(T.sum(T.mul(r.y, cot.output)), T.sum(T.mul(r.h, cot.h)));
    if (r.c) l = T.add(l, T.sum(T.mul(r.c, cot.c)));
    return l;
  };
};
/** The positional arguments of lossOf's function, and their names in the fixture's grads. */
const argsOf = (c: Case, d = load(c)) => {
  const args: (P | Tensor)[] = [d.params, d.x];
  const names = ["params", "x"];
  if (d.h0) args.push(d.h0), names.push("h0");
  if (d.c0) args.push(d.c0), names.push("c0");
  return { args, names };
};

Deno.test("recurrent states: PyTorch's outputs, final states and gradients of x, h0, c0 and every param", async (t) => {
  assert.ok(cases.length >= 30);
  for (const c of cases) {
    await t.step(name(c), () => {
      const { layer, params, x, h0, c0 } = load(c);
      assert.equal(layer.info.repr, c.repr);
      const init = layer.init(random.key(0));
      assert.deepEqual(Object.keys(init), Object.keys(c.params));
      for (const [k, v] of Object.entries(c.params)) {
        assert.deepEqual(init[k].shape, v.shape, k);
      }
      assert.equal(
        nn.paramCount(init),
        Object.values(c.params).reduce((n, v) => n + v.data.length, 0),
      );
      const r = layer.applyWithHidden(params, x, statesOf(h0, c0)) as {
        y: Tensor;
        h: Tensor;
        c?: Tensor;
      };
      assertAllClose(r.y, fixtureTensor(c.output), { ...tol, msg: "output" });
      assertAllClose(r.h, fixtureTensor(c.h), { ...tol, msg: "h_n" });
      if (c.kind === "LSTM") {
        assertAllClose(r.c!, fixtureTensor(c.c!), { ...tol, msg: "c_n" });
      } else assert.equal(r.c, undefined);
      assert.deepEqual(layer.info.outputShape(c.x.shape), c.output.shape);
      // apply's output is applyWithHidden's, bit for bit
      sameBits(layer.apply(params, x, statesOf(h0, c0)), r.y, "apply");
      sameBits(
        layer.applyWithState(params, {}, x, statesOf(h0, c0)).y,
        r.y,
        "applyWithState",
      );
      const { args, names } = argsOf(c);
      const argnums = args.map((_, i) => i);
      const grads = T.grad(lossOf(c), { argnums })(
        ...(args as [P, Tensor]),
      ) as (P | Tensor)[];
      names.forEach((n, i) => {
        if (n === "params") {
          for (const k of Object.keys(params)) {
            assertAllClose((grads[i] as P)[k], fixtureTensor(c.grads[k]), {
              ...tol,
              msg: k,
            });
          }
        } else {
          assertAllClose(grads[i] as Tensor, fixtureTensor(c.grads[n]), {
            ...tol,
            msg: n,
          });
        }
      });
    });
  }
});

Deno.test("recurrent states: a sequence run in pieces from the returned states is the sequence run whole (truncated BPTT)", async (t) => {
  // (one direction only: a backward pass needs the steps after the cut)
  for (const c of cases.filter((c) => !c.options.bidirectional)) {
    await t.step(name(c), () => {
      const { layer, params, x, h0, c0 } = load(c);
      const time = c.layout === "batch" ? 1 : 0;
      const steps = x.shape[time];
      const cut = (v: Tensor, a: number, b: number) =>
        T.slice(
          v,
          v.shape.map((_, i) => (i === time ? a : 0)),
          v.shape.map((d, i) => (i === time ? b : d)),
        );
      const whole = layer.applyWithHidden(params, x, statesOf(h0, c0)) as {
        y: Tensor;
        h: Tensor;
        c?: Tensor;
      };
      for (let k = 1; k < steps; k++) {
        const a = layer.applyWithHidden(
          params,
          cut(x, 0, k),
          statesOf(h0, c0),
        ) as { y: Tensor; h: Tensor; c?: Tensor };
        const b = layer.applyWithHidden(
          params,
          cut(x, k, steps),
          statesOf(a.h, a.c),
        ) as { y: Tensor; h: Tensor; c?: Tensor };
        sameBits(T.concat([a.y, b.y], time), whole.y, `y, cut at ${k}`);
        sameBits(b.h, whole.h, `h, cut at ${k}`);
        if (whole.c) sameBits(b.c!, whole.c, `c, cut at ${k}`);
      }
      // gradients flow through the carried state: the pieces' loss has
      // the gradients of the whole (PyTorch's)
      const k = steps >> 1;
      const { cot } = load(c);
      const split = (p: P, v: Tensor, s0?: Tensor, s1?: Tensor) => {
        const a = layer.applyWithHidden(p, cut(v, 0, k), statesOf(s0, s1)) as {
          y: Tensor;
          h: Tensor;
          c?: Tensor;
        };
        const b = layer.applyWithHidden(
          p,
          cut(v, k, steps),
          statesOf(a.h, a.c),
        ) as {
          y: Tensor;
          h: Tensor;
          c?: Tensor;
        };
        let l = T.add(
          T.sum(T.mul(T.concat([a.y, b.y], time), cot.output)),
          T.sum(T.mul(b.h, cot.h)),
        );
        if (b.c) l = T.add(l, T.sum(T.mul(b.c, cot.c)));
        return l;
      };
      const { args, names } = argsOf(c);
      const argnums = args.map((_, i) => i);
      const g = T.grad(split, { argnums })(...(args as [P, Tensor]));
      names.forEach((n, i) => {
        if (n === "params") {
          for (const key of Object.keys(c.params)) {
            assertAllClose((g[i] as P)[key], fixtureTensor(c.grads[key]), {
              ...tol,
              msg: key,
            });
          }
        } else {
          assertAllClose(g[i] as Tensor, fixtureTensor(c.grads[n]), {
            ...tol,
            msg: n,
          });
        }
      });
    });
  }
});

Deno.test("recurrent states: jit gives the eager bits, vmap over examples gives the batched layer", async (t) => {
  for (const c of cases) {
    await t.step(name(c), () => {
      const { layer, params, x, h0, c0 } = load(c);
      const { args } = argsOf(c);
      const argnums = args.map((_, i) => i);
      const f = lossOf(c);
      const run = (...a: (P | Tensor)[]): Tensor[] => [
        ...(T.treeLeaves(
          layer.applyWithHidden(
            a[0] as P,
            a[1] as Tensor,
            statesOf(a[2] as Tensor | undefined, a[3] as Tensor | undefined),
          ) as unknown as T.Tree,
        ) as Tensor[]),
        ...(T.treeLeaves(
          T.grad(f, { argnums })(...(a as [P, Tensor])),
        ) as Tensor[]),
      ];
      const eager = run(...args);
      const jitted = T.jit(run);
      for (let i = 0; i < 2; i++) {
        jitted(...args).forEach((g, j) => sameBits(g, eager[j], `${j}`));
      }
      assert.equal(jitted.traceCount(), 1);
      if (c.layout === "unbatched") return;
      // per example: x's batch axis, and the states' axis 1
      const b = c.layout === "batch" ? 0 : 1;
      const per = T.vmap(
        (v: Tensor, s0?: Tensor, s1?: Tensor) =>
          layer.applyWithHidden(params, v, statesOf(s0, s1)) as {
            y: Tensor;
            h: Tensor;
          },
        {
          inAxes: [b, ...(h0 ? [1] : []), ...(c0 ? [1] : [])],
          outAxes: c.kind === "LSTM" ? { y: b, h: 1, c: 1 } : { y: b, h: 1 },
        },
      )(x, ...(h0 ? [h0] : []), ...(c0 ? [c0] : [])) as {
        y: Tensor;
        h: Tensor;
        c?: Tensor;
      };
      assertAllClose(per.y, fixtureTensor(c.output), { ...tol, msg: "y" });
      assertAllClose(per.h, fixtureTensor(c.h), { ...tol, msg: "h" });
      if (c.c) assertAllClose(per.c!, fixtureTensor(c.c), { ...tol, msg: "c" });
    });
  }
});

Deno.test("recurrent states: checkGrads through h0 and c0 (order 2, float64 finite differences)", () => {
  for (
    const layer of [
      nn.gru({ inputSize: 2, hiddenSize: 3, numLayers: 2, dtype: "float64" }),
      nn.lstm({
        inputSize: 2,
        hiddenSize: 3,
        projSize: 2,
        bidirectional: true,
        dtype: "float64",
      }),
    ]
  ) {
    const params = layer.init(random.key(1));
    const x = random.normal(random.key(2), [3, 2, 2], { dtype: "float64" });
    // (D · numLayers: the GRU has 2 layers, the LSTM 2 directions)
    const d = 2;
    const lstm = layer.info.name === "LSTM";
    const h0 = random.normal(random.key(3), [d, 2, lstm ? 2 : 3], {
      dtype: "float64",
    });
    const c0 = random.normal(random.key(4), [d, 2, 3], { dtype: "float64" });
    const f = (s0: Tensor, s1: Tensor) => {
      const r = layer.applyWithHidden(
        params,
        x,
        lstm ? { h0: s0, c0: s1 } : { h0: s0 },
      ) as { y: Tensor; h: Tensor; c?: Tensor };
      return T.add(T.sum(T.tanh(r.y)), T.sum(T.square(r.c ?? r.h)));
    };
    T.checkGrads(f, [h0, c0], { order: 2 });
  }
});

Deno.test("recurrent states: projSize as PyTorch's proj_size (repr, keys, counts, toTorch, summary)", () => {
  const layer = nn.lstm({
    inputSize: 10,
    hiddenSize: 20,
    projSize: 5,
    numLayers: 2,
    bidirectional: true,
  });
  // print(torch.nn.LSTM(10, 20, proj_size=5, num_layers=2, bidirectional=True))
  assert.equal(
    layer.info.repr,
    "LSTM(10, 20, proj_size=5, num_layers=2, bidirectional=True)",
  );
  const params = layer.init(random.key(0));
  // list(m.state_dict())[:6] and their shapes
  assert.deepEqual(
    Object.keys(params).slice(0, 6),
    [
      "weight_ih_l0",
      "weight_hh_l0",
      "bias_ih_l0",
      "bias_hh_l0",
      "weight_hr_l0",
      "weight_ih_l0_reverse",
    ],
  );
  assert.deepEqual(params.weight_hh_l0.shape, [80, 5]);
  assert.deepEqual(params.weight_hr_l0.shape, [5, 20]);
  assert.deepEqual(params.weight_ih_l1.shape, [80, 10]);
  // sum(p.numel() for p in m.parameters())
  assert.equal(nn.paramCount(params), 5840);
  assert.equal(
    nn.paramCount(
      nn.lstm({ inputSize: 10, hiddenSize: 20, projSize: 5 }).init(
        random.key(0),
      ),
    ),
    1460,
  );
  // init as PyTorch's: every param U(±1/sqrt(hiddenSize)), weight_hr too
  const hr = T.toArray(T.flatten(params.weight_hr_l1_reverse, 0)) as number[];
  assert.ok(hr.every((v) => Math.abs(v) <= 1 / Math.sqrt(20)));
  assert.ok(Math.max(...hr.map(Math.abs)) > 0.8 / Math.sqrt(20));
  assert.deepEqual(layer.info.outputShape([7, 3, 10]), [7, 3, 10]);
  assert.match(
    nn.toTorch(nn.sequential(layer)),
    /LSTMOutput\(10, 20, proj_size=5, num_layers=2, bidirectional=True\)/,
  );
  assert.match(nn.summary(layer, [7, 3, 10]), /5,840/);
  // projSize 0: none, as PyTorch's default
  assert.equal(
    nn.lstm({ inputSize: 3, hiddenSize: 4, projSize: 0 }).info.repr,
    "LSTM(3, 4)",
  );
});

Deno.test("recurrent states: a sequential of recurrent layers runs them from zero states", () => {
  const a = nn.lstm({ inputSize: 3, hiddenSize: 4, projSize: 2 });
  const b = nn.gru({ inputSize: 2, hiddenSize: 3 });
  const net = nn.sequential(a, b);
  const p = net.init(random.key(0));
  const x = random.normal(random.key(1), [5, 2, 3]);
  const ya = a.apply(p[0], x), y = b.apply(p[1], ya);
  sameBits(net.apply(p, x), y, "sequential");
  // zero states given are the default's numbers
  assertAllClose(
    a.apply(p[0], x, { h0: T.zeros([1, 2, 2]), c0: T.zeros([1, 2, 4]) }),
    ya,
    { atol: 0, rtol: 0 },
  );
});

Deno.test("recurrent states: bad states and projSize name the layer, the option and what came", () => {
  const lstm = nn.lstm({
    inputSize: 3,
    hiddenSize: 4,
    numLayers: 2,
    projSize: 2,
  });
  const lp = lstm.init(random.key(0));
  const gru = nn.gru({
    inputSize: 3,
    hiddenSize: 4,
    bidirectional: true,
    batchFirst: true,
  });
  const gp = gru.init(random.key(0));
  const x = T.zeros([5, 2, 3]), xb = T.zeros([2, 5, 3]);
  assertErrors("nn.LSTM.apply", [
    [
      () =>
        lstm.apply(lp, x, { h0: T.zeros([2, 2, 4]), c0: T.zeros([2, 2, 4]) }),
      /opts\.h0 must be \[2,2,2\] \(\[D · numLayers, batch, projSize\]\) for x Tensor float32 \[5,2,3\], got Tensor float32 \[2,2,4\]$/,
    ],
    [
      () =>
        lstm.apply(lp, x, { h0: T.zeros([2, 2, 2]), c0: T.zeros([2, 2, 2]) }),
      /opts\.c0 must be \[2,2,4\] \(\[D · numLayers, batch, hiddenSize\]\)/,
    ],
    [
      () => lstm.apply(lp, x, { h0: T.zeros([2, 2, 2]) }),
      /opts\.h0 and opts\.c0 go together \(as PyTorch's \(h0, c0\)\), got h0 alone$/,
    ],
    [
      () => lstm.apply(lp, x, { c0: T.zeros([2, 2, 4]) }),
      /got c0 alone$/,
    ],
    [
      // unbatched x: unbatched states, as PyTorch's
      () =>
        lstm.apply(lp, T.zeros([5, 3]), {
          h0: T.zeros([2, 1, 2]),
          c0: T.zeros([2, 1, 4]),
        }),
      /opts\.h0 must be \[2,2\] \(\[D · numLayers, projSize\]\) for x Tensor float32 \[5,3\]/,
    ],
    [
      () =>
        lstm.apply(lp, x, {
          h0: T.zeros([2, 2, 2], { dtype: "int32" }),
          c0: T.zeros([2, 2, 4]),
        }),
      /opts\.h0 must be float32 or float64, got int32 \[2,2,2\]$/,
    ],
    [
      () =>
        lstm.apply(lp, x, {
          h0: [[0]] as unknown as Tensor,
          c0: T.zeros([2, 2, 4]),
        }),
      /opts\.h0 must be a Tensor, got/,
    ],
    [
      () => lstm.apply(lp, x, { hx: 1 } as unknown as T.nn.ApplyOptions),
      /unknown option "hx" \(known options: training, key, h0, c0\)/,
    ],
  ]);
  assertErrors("nn.GRU.applyWithHidden", [
    [
      // batchFirst x [batch, seq, ·]; the states stay [D · numLayers, batch, H]
      () => gru.applyWithHidden(gp, xb, { h0: T.zeros([2, 5, 4]) }),
      /opts\.h0 must be \[2,2,4\] \(\[D · numLayers, batch, hiddenSize\]\) for x Tensor float32 \[2,5,3\], got Tensor float32 \[2,5,4\]$/,
    ],
    [
      () =>
        gru.applyWithHidden(gp, xb, {
          h0: T.zeros([2, 2, 4]),
          c0: T.zeros([2, 2, 4]),
        }),
      /opts\.c0 is an LSTM's cell state \(GRU has none\), got Tensor float32 \[2,2,4\]$/,
    ],
  ]);
  assertErrors("nn.lstm", [
    [
      () => nn.lstm({ inputSize: 3, hiddenSize: 4, projSize: 4 }),
      /projSize must be an integer in \[0, hiddenSize\) = \[0, 4\) \(0: no projection\), got 4$/,
    ],
    [() => nn.lstm({ inputSize: 3, hiddenSize: 4, projSize: -1 }), /got -1$/],
    [() => nn.lstm({ inputSize: 3, hiddenSize: 4, projSize: 1.5 }), /got 1.5$/],
    [
      () =>
        nn.lstm({
          inputSize: 3,
          hiddenSize: 4,
          projSize: "2" as unknown as number,
        }),
      /got string/,
    ],
  ]);
  // (PyTorch: "proj_size argument is only supported for LSTM, not RNN or GRU")
  for (const f of [nn.rnn, nn.gru]) {
    assert.throws(
      () => f({ inputSize: 3, hiddenSize: 4, projSize: 2 } as T.nn.RnnOptions),
      /unknown option "projSize"/,
    );
  }
});
