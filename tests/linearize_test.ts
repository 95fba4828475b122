/**
 * linearize and linearTranspose: the linear function gives jvp's tangents
 * (trees of arguments, a CNN's params), without running f again; the
 * transpose of a linear map is its adjoint (<A t, c> = <t, Aᵀ c>); errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";

const { nn, random } = T;
const net = nn.sequential(
  nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, dtype: "float64" }),
  nn.tanh,
  nn.flatten(),
  nn.linear({ inFeatures: 18, outFeatures: 3, dtype: "float64" }),
);
const params = net.init(random.key(0)) as Tree;
const x = random.normal(random.key(1), [2, 1, 5, 5], { dtype: "float64" });
const like = (tree: Tree, seed: number) => {
  const [leaves, def] = T.treeFlatten(tree);
  return T.treeUnflatten(
    def,
    leaves.map((l, i) =>
      random.normal(random.key(seed + i), l.shape, { dtype: "float64" })
    ),
  );
};

Deno.test("linearize: the output and J·t of jvp for several tangents (params and input), f run once", () => {
  let calls = 0;
  const f = (p: Tree, v: Tensor) => {
    calls++;
    return net.apply(p as never, v);
  };
  const [out, df] = T.linearize(f, params, x);
  assert.equal(calls, 1);
  assert.deepEqual(out.data, f(params, x).data);
  calls = 0;
  for (let s = 0; s < 3; s++) {
    const tp = like(params, 10 * s), tx = like(x, 10 * s + 7) as Tensor;
    const got = df(tp, tx);
    assert.equal(calls, 0, "the linear function does not run f");
    const want = T.jvp(f, [params, x], [tp, tx])[1];
    calls = 0;
    assertAllClose(got, want, { rtol: 1e-12, atol: 1e-14 });
  }
});

Deno.test("linearTranspose: the adjoint of a linear map, <A t, c> = <t, Aᵀ c>", () => {
  const w = random.normal(random.key(3), [2, 1, 3, 3], { dtype: "float64" });
  const conv = (v: Tensor) => T.conv2d(v, w, null, { padding: 1 });
  const tr = T.linearTranspose(conv, x);
  const t = like(x, 20) as Tensor;
  const c = random.normal(random.key(30), [2, 2, 5, 5], { dtype: "float64" });
  const lhs = T.item(T.sum(T.mul(conv(t), c)));
  const rhs = T.item(T.sum(T.mul(t, tr(c)[0])));
  assert.ok(Math.abs(lhs - rhs) < 1e-10 * Math.abs(lhs), `${lhs} vs ${rhs}`);
});

Deno.test("linearize, linearTranspose: errors name them", () => {
  assertErrors("linearize", [
    [() => T.linearize(3 as never, x), /f must be a function/],
    [() => T.linearize(T.sin, x)[1](T.zeros([2])), /tangent/],
  ]);
  assertErrors("linearTranspose", [[
    () => T.linearTranspose(3 as never, x),
    /f must be a function/,
  ]]);
});
