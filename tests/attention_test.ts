/**
 * scaledDotProductAttention against PyTorch 2.0's documented reference,
 * written with PyTorch 1.13's ops (tests/fixtures/attention.json, made by
 * tests/fixtures/gen_attention.py): causal, int32 and float masks, a given
 * scale, broadcast batches; outputs and the gradients of q, k, v and a float
 * mask in float64. Then jit, vmap, dropout and errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/attention.json" with { type: "json" };
import attnLayers from "./fixtures/attention_layers.json" with { type: "json" };

type J = { shape: number[]; dtype: string; data: number[] };
const toT = (j: J): Tensor =>
  T.tensor(j.data, { shape: j.shape, dtype: j.dtype as T.DType });
type Case = {
  name: string;
  options: { isCausal?: boolean; scale?: number };
  q: J;
  k: J;
  v: J;
  mask: J | null;
  output: J;
  cotangent: J;
  grads: Record<string, J>;
};
const tight = { atol: 1e-13, rtol: 1e-12 };

Deno.test("scaledDotProductAttention: PyTorch's reference, values and gradients", async (t) => {
  for (const c of fixture.cases as unknown as Case[]) {
    await t.step(c.name, () => {
      const q = toT(c.q), k = toT(c.k), v = toT(c.v), cot = toT(c.cotangent);
      // PyTorch's bool mask is int32 here
      const mask = c.mask && toT(c.mask);
      const f = (a: Tensor, b: Tensor, w: Tensor, m?: Tensor) =>
        T.scaledDotProductAttention(a, b, w, {
          ...c.options,
          ...(m ? { attnMask: m } : {}),
        });
      assertAllClose(f(q, k, v, mask ?? undefined), toT(c.output), tight);
      const floatMask = mask && mask.dtype !== "int32" ? mask : null;
      const args = floatMask ? [q, k, v, floatMask] : [q, k, v];
      const gs = T.grad(
        (...xs: Tensor[]) =>
          T.sum(
            T.mul(
              f(xs[0], xs[1], xs[2], floatMask ? xs[3] : mask ?? undefined),
              cot,
            ),
          ),
        { argnums: args.map((_, i) => i) },
      )(...args);
      ["q", "k", "v", "mask"].slice(0, args.length).forEach((n, i) =>
        assertAllClose(gs[i], toT(c.grads[n]), { ...tight, msg: n })
      );
    });
  }
});

Deno.test("scaledDotProductAttention: jit, vmap over heads, dropout by key, a fully masked query is NaN", () => {
  const key = T.random.key(0);
  const [kq, kk, kv] = T.random.split(key, 3);
  const q = T.random.normal(kq, [2, 4, 3, 8]);
  const k = T.random.normal(kk, [2, 4, 5, 8]);
  const v = T.random.normal(kv, [2, 4, 5, 6]);
  const y = T.scaledDotProductAttention(q, k, v, { isCausal: true });
  const jf = T.jit((a: Tensor, b: Tensor, c: Tensor) =>
    T.scaledDotProductAttention(a, b, c, { isCausal: true })
  );
  assert.deepEqual(jf(q, k, v).data, y.data);
  const perHead = T.vmap(
    (a: Tensor, b: Tensor, c: Tensor) =>
      T.scaledDotProductAttention(a, b, c, { isCausal: true }),
    { inAxes: 1, outAxes: 1 },
  )(q, k, v);
  assertAllClose(perHead, y, { atol: 1e-6, rtol: 1e-5 });
  const drop = (s: number) =>
    T.scaledDotProductAttention(q, k, v, {
      dropoutP: 0.5,
      key: T.random.key(s),
    });
  assert.deepEqual(drop(1).data, drop(1).data);
  assert.notDeepEqual(drop(1).data, drop(2).data);
  const masked = T.scaledDotProductAttention(
    T.ones([2, 4]),
    T.ones([3, 4]),
    T.ones([3, 2]),
    { attnMask: T.tensor([[1, 0, 1], [0, 0, 0]], { dtype: "int32" }) },
  );
  assert.deepEqual(Array.from(masked.data.slice(0, 2)), [1, 1]);
  assert.ok(Number.isNaN(masked.data[2]) && Number.isNaN(masked.data[3]));
});

Deno.test("scaledDotProductAttention: errors name the argument and what came", () => {
  assert.throws(
    () =>
      T.scaledDotProductAttention(
        T.ones([2, 4]),
        T.ones([3, 5]),
        T.ones([3, 2]),
      ),
    /scaledDotProductAttention: q \[\.\.\., L, E\], k \[\.\.\., S, E\] and v \[\.\.\., S, Ev\] must agree on E and S, got Tensor float32 \[2,4\], Tensor float32 \[3,5\] and Tensor float32 \[3,2\]/,
  );
  assert.throws(
    () =>
      T.scaledDotProductAttention(
        T.ones([2, 4]),
        T.ones([3, 4]),
        T.ones([3, 2]),
        { dropoutP: 0.1 },
      ),
    /options.dropoutP in \(0, 1\) needs options.key/,
  );
  assert.throws(
    () =>
      T.scaledDotProductAttention(
        T.ones([2, 4]),
        T.ones([3, 4]),
        T.ones([3, 2]),
        { scale: NaN },
      ),
    /options.scale must be a finite number, got number NaN/,
  );
});

type LayerCase = {
  kind: "MultiheadAttention" | "TransformerEncoderLayer" | "TransformerEncoder";
  // deno-lint-ignore no-explicit-any
  options: any;
  params: Record<string, J>;
  x: J;
  output: J;
  cotangent: J;
  grads: Record<string, J>;
};

/** A tree of params from state_dict keys (their dots the tree's levels). */
function paramsFrom(c: LayerCase): Record<string, unknown> {
  // state_dict keys as a tree's paths
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.params)) {
    const parts = k.split(".");
    let node = out;
    for (const part of parts.slice(0, -1)) {
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    node[parts.at(-1)!] = toT(v);
  }
  // the dropout layers' empty params, which the state_dict leaves out
  const drops = (o: Record<string, unknown>) => {
    for (const d of ["dropout", "dropout1", "dropout2"]) o[d] = {};
  };
  if (c.kind === "TransformerEncoderLayer") drops(out);
  if (c.kind === "TransformerEncoder") {
    const layers = out.layers as Record<string, Record<string, unknown>>;
    Object.values(layers).forEach(drops);
    out.layers = Object.keys(layers).sort().map((k) => layers[k]);
  }
  return out;
}

Deno.test("nn.multiheadAttention, transformerEncoderLayer and transformerEncoder: PyTorch's keys, outputs and gradients", async (t) => {
  for (const c of attnLayers.cases as unknown as LayerCase[]) {
    await t.step(
      `${c.kind} ${JSON.stringify(c.options)} on [${c.x.shape}]`,
      () => {
        const layer = c.kind === "MultiheadAttention"
          ? T.nn.multiheadAttention(c.options)
          : c.kind === "TransformerEncoderLayer"
          ? T.nn.transformerEncoderLayer(c.options)
          : T.nn.transformerEncoder(
            T.nn.transformerEncoderLayer(c.options.layer),
            {
              numLayers: c.options.numLayers,
              norm: T.nn.layerNorm({ normalizedShape: c.options.layer.dModel }),
            },
          );
        const params = paramsFrom(c);
        assert.deepEqual(
          T.treePaths(layer.init(T.random.key(0)) as never).map(([p]) => p)
            .sort(),
          Object.keys(c.params).sort(),
        );
        const x = toT(c.x), cot = toT(c.cotangent);
        const tol = { atol: 1e-12, rtol: 1e-10 };
        assertAllClose(layer.apply(params as never, x), toT(c.output), tol);
        const [gp, gx] = T.grad(
          (p: unknown, v: Tensor) =>
            T.sum(T.mul(layer.apply(p as never, v), cot)),
          { argnums: [0, 1] },
        )(params, x);
        assertAllClose(gx, toT(c.grads.x), { ...tol, msg: "x" });
        for (const [path, g] of T.treePaths(gp as never)) {
          assertAllClose(g as Tensor, toT(c.grads[path]), {
            ...tol,
            msg: path,
          });
        }
      },
    );
  }
});

Deno.test("attention layers: init (xavier in-projection, zero biases), jit, dropout in training, errors", () => {
  const attn = T.nn.multiheadAttention({
    embedDim: 8,
    numHeads: 2,
    dropout: 0.5,
  });
  const p = attn.init(T.random.key(1));
  assert.ok(p.in_proj_bias.data.every((v) => v === 0));
  const bound = Math.sqrt(6 / (8 + 24));
  const m = Math.max(...Array.from(p.in_proj_weight.data, Math.abs));
  assert.ok(m <= bound && m > 0.8 * bound, `${m} vs ${bound}`);
  // a checkpoint round-trips with PyTorch's keys
  const bytes = T.data.serializeSafetensors(p as never);
  const back = T.data.deserializeSafetensors(bytes, { like: p as never });
  assert.deepEqual(
    T.data.parseSafetensorsHeader(bytes).tensors.map((t) => t.name).sort(),
    ["in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"],
  );
  assert.deepEqual(
    T.treePaths(back as never).map(([k]) => k),
    T.treePaths(p as never).map(([k]) => k),
  );
  const x = T.random.normal(T.random.key(2), [5, 3, 8]);
  const jf = T.jit((q: typeof p, v: Tensor) => attn.apply(q, v));
  assert.deepEqual(jf(p, x).data, attn.apply(p, x).data);
  const train = (k: number) =>
    attn.apply(p, x, { training: true, key: T.random.key(k) });
  assert.deepEqual(train(1).data, train(1).data);
  assert.notDeepEqual(train(1).data, attn.apply(p, x).data);
  assert.throws(
    () => T.nn.multiheadAttention({ embedDim: 8, numHeads: 3 }),
    /nn.multiheadAttention: numHeads must divide embedDim, got embedDim 8 and numHeads 3/,
  );
  assert.throws(
    () => attn.apply(p, T.zeros([5, 3, 6])),
    /nn.MultiheadAttention.apply: x must be \[seq, batch, 8\] or unbatched \[seq, 8\], got Tensor float32 \[5,3,6\]/,
  );
  assert.throws(
    () =>
      T.nn.transformerEncoderLayer({
        dModel: 8,
        nhead: 2,
        activation: "tanh" as "relu",
      }),
    /nn.transformerEncoderLayer: activation must be "relu" or "gelu", got string tanh/,
  );
});

Deno.test("dropout of every attention weight (dropoutP 1, a layer's dropout 1) needs no key and gives zero attention, as dropout(p = 1): a transformerEncoderLayer with dropout 1 trains", () => {
  const y = T.scaledDotProductAttention(
    T.ones([1, 2, 3]),
    T.ones([1, 2, 3]),
    T.ones([1, 2, 3]),
    { dropoutP: 1 },
  );
  assert.deepEqual(T.toArray(y), [[[0, 0, 0], [0, 0, 0]]]);
  const layer = T.nn.transformerEncoderLayer({
    dModel: 4,
    nhead: 2,
    dropout: 1,
  });
  const p = layer.init(T.random.key(0));
  const x = T.random.normal(T.random.key(1), [3, 2, 4]);
  const out = layer.apply(p, x, { training: true, key: T.random.key(2) });
  assert.deepEqual(out.shape, [3, 2, 4]);
  assert.ok(Array.from(out.data).every(Number.isFinite));
});
