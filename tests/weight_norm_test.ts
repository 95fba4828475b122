/**
 * nn.weightNorm against torch.nn.utils.weight_norm
 * (tests/fixtures/weight_norm.json, written by
 * tests/fixtures/gen_weight_norm.py): outputs and the gradients of g, v, the
 * bias and the input for linear and conv2d with dim 0, 1 and None; the init
 * keeps the layer's function; PyTorch's state_dict keys and toTorch; errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";
import fixture from "./fixtures/weight_norm.json" with { type: "json" };

type J = { shape: number[]; data: number[] };
const f64 = (j: J) => T.tensor(j.data, { shape: j.shape, dtype: "float64" });
const { nn } = T;

Deno.test("weightNorm: outputs and gradients (g, v, bias, x) as torch's weight_norm, float64 to 1e-12", async (t) => {
  assert.equal(fixture.cases.length, 4);
  for (const c of fixture.cases) {
    await t.step(c.label, () => {
      const [[kind, o]] = Object.entries(c.layer) as [
        ["linear" | "conv2d", Record<string, number>],
      ];
      const base = kind === "linear"
        ? nn.linear({ ...o, dtype: "float64" } as never)
        : nn.conv2d({ ...o, dtype: "float64" } as never);
      const layer = nn.weightNorm(base as never, { dim: c.dim });
      const sd = c.stateDict as Record<string, J>;
      const params = Object.fromEntries(
        Object.entries(sd).map(([k, v]) => [k, f64(v)]),
      );
      const x = f64(c.x as J);
      const out = layer.apply(params, x);
      assertAllClose(out, (c.output as J).data, { rtol: 1e-12, atol: 1e-12 });
      const cot = f64(c.cotangent as J);
      const [gp, gx] = T.grad(
        (p: Record<string, Tensor>, v: Tensor) =>
          T.sum(T.mul(layer.apply(p, v), cot)),
        { argnums: [0, 1] },
      )(params, x) as [Record<string, Tensor>, Tensor];
      const grads = c.grads as Record<string, J>;
      for (const k of Object.keys(sd)) {
        assertAllClose(gp[k], grads[k].data, {
          rtol: 1e-11,
          atol: 1e-12,
          msg: k,
        });
      }
      assertAllClose(gx, grads.x.data, { rtol: 1e-11, atol: 1e-12, msg: "x" });
    });
  }
});

Deno.test("weightNorm: init keeps the layer's function (g = ‖v‖); PyTorch's repr and toTorch; jit and vmap", () => {
  const conv = nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 });
  const wn = nn.weightNorm(conv);
  const key = T.random.key(0);
  const p = wn.init(key);
  const x = T.random.normal(T.random.key(1), [2, 1, 5, 5]);
  assertAllClose(wn.apply(p, x), conv.apply(conv.init(key), x), {
    rtol: 1e-5,
    atol: 1e-6,
  });
  assert.equal(wn.info.repr, conv.info.repr);
  assert.match(
    nn.toTorch(nn.sequential(wn, nn.relu), { inputShape: [1, 1, 5, 5] }),
    /nn\.utils\.weight_norm\(nn\.Conv2d\(1, 2, kernel_size=\(3, 3\), stride=\(1, 1\)\), name='weight', dim=0\)/,
  );
  const j = T.jit((q: typeof p, v: Tensor) => wn.apply(q, v));
  assert.deepEqual(j(p, x).data, wn.apply(p, x).data);
});

Deno.test("weightNorm: errors name it", () => {
  assertErrors("nn.weightNorm", [
    [
      () => nn.weightNorm(nn.relu, {}),
      /layer must be a leaf layer without state with a parameter "weight" \(its parameters: none\), got ReLU/,
    ],
    [
      () =>
        nn.weightNorm(nn.linear({ inFeatures: 2, outFeatures: 2 }), { dim: 2 }),
      /dim must be an integer in \[-2, 2\) or null, got number 2/,
    ],
    [
      () =>
        nn.weightNorm(nn.linear({ inFeatures: 2, outFeatures: 2 }), {
          name: "w",
        }),
      /parameter "w" \(its parameters: weight, bias\)/,
    ],
    [() => nn.weightNorm(3 as never), /layer/],
  ]);
});
