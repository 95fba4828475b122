/**
 * scaledDotProductAttention against PyTorch 2.0's documented reference
 * (written with PyTorch 1.13's ops: `sdpa` below is tests/fixtures/
 * gen_attention.py's): where a probe found the library differing, each
 * expected value with the torch expression in the comment next to it, or a
 * closed form.
 *
 * `q = [[1,0],[0,1]]`, `k = [[1,0],[0,1],[1,1]]`, `v = [[1,2],[3,4],[5,6]]`
 * (float64, requires_grad) throughout.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = (v: T.NestedArray) => T.tensor(v, { dtype: "float64" });
const i32 = (v: T.NestedArray) => T.tensor(v, { dtype: "int32" });
const q = f64([[1, 0], [0, 1]]);
const k = f64([[1, 0], [0, 1], [1, 1]]);
const v = f64([[1, 2], [3, 4], [5, 6]]);
const N = NaN;

/** Values and the gradients of sum(output) w.r.t. q, k, v: eager, jit and vmap (over a stacked copy). */
function check(
  options: T.AttentionOptions,
  want: { y: number[][]; gq: number[][]; gk: number[][]; gv: number[][] },
) {
  const f = (a: Tensor, b: Tensor, c: Tensor) =>
    T.scaledDotProductAttention(a, b, c, options);
  const g = T.grad((a: Tensor, b: Tensor, c: Tensor) => T.sum(f(a, b, c)), {
    argnums: [0, 1, 2],
  });
  const tol = { atol: 1e-14, rtol: 1e-14 };
  const expect = (y: Tensor, gs: Tensor[], how: string) => {
    assertAllClose(y, want.y, { ...tol, msg: `${how} y` });
    ["gq", "gk", "gv"].forEach((n, i) =>
      assertAllClose(gs[i], want[n as "gq"], { ...tol, msg: `${how} ${n}` })
    );
  };
  expect(f(q, k, v), g(q, k, v), "eager");
  expect(T.jit(f)(q, k, v), T.jit(g)(q, k, v), "jit");
  const st = (t: Tensor) => T.stack([t, t]);
  const first = (t: Tensor) => T.squeeze(T.split(t, 2, { axis: 0 })[1], 0);
  expect(
    first(T.vmap(f)(st(q), st(k), st(v))),
    T.vmap(g)(st(q), st(k), st(v)).map(first),
    "vmap",
  );
}

Deno.test("a query whose keys are all masked (int32 mask) is NaN in the output and the gradients, as PyTorch's reference", () => {
  // sdpa(q, k, v, attn_mask=torch.tensor([[1,0,1],[0,0,0]], dtype=torch.bool))
  //   -> [[3, 4], [nan, nan]]
  // torch.autograd.grad(y.sum(), [q, k, v]) -> q: [[0, 1.414213562373095],
  //   [nan, nan]], k: all nan, v: all nan (the NaN row's weights reach every
  //   key through the added -inf bias)
  check({ attnMask: i32([[1, 0, 1], [0, 0, 0]]) }, {
    y: [[3, 4], [N, N]],
    gq: [[0, 1.414213562373095], [N, N]],
    gk: [[N, N], [N, N], [N, N]],
    gv: [[N, N], [N, N], [N, N]],
  });
});

Deno.test("isCausal with an int32 mask combine (PyTorch 2.0's reference): a query left no key is NaN, in the gradients too", () => {
  // sdpa(q, k, v, attn_mask=torch.tensor([[0,1,1],[1,1,1]], dtype=torch.bool),
  //   is_causal=True) -> [[nan, nan], [2.3395230986533138, 3.3395230986533138]]
  // grads: q [[nan, nan], [-0.6255943861804415, 0.6255943861804416]], k, v all nan
  check({ attnMask: i32([[0, 1, 1], [1, 1, 1]]), isCausal: true }, {
    y: [[N, N], [2.3395230986533138, 3.3395230986533138]],
    gq: [[N, N], [-0.6255943861804415, 0.6255943861804416]],
    gk: [[N, N], [N, N], [N, N]],
    gv: [[N, N], [N, N], [N, N]],
  });
});

Deno.test("isCausal is aligned top-left when L != S (closed forms: equal scores average the allowed values)", () => {
  const vs = f64([[1, 2], [3, 4]]);
  // L 4 > S 2: query 0 sees key 0, the others both keys
  const tall = T.scaledDotProductAttention(
    T.zeros([4, 3], { dtype: "float64" }),
    T.zeros([2, 3], { dtype: "float64" }),
    vs,
    { isCausal: true },
  );
  assert.deepEqual(T.toArray(tall), [[1, 2], [2, 3], [2, 3], [2, 3]]);
  // L 2 < S 4: query i sees keys 0..i
  const wide = T.scaledDotProductAttention(
    T.zeros([2, 3], { dtype: "float64" }),
    T.zeros([4, 3], { dtype: "float64" }),
    f64([[1, 2], [3, 4], [5, 6], [7, 8]]),
    { isCausal: true },
  );
  assert.deepEqual(T.toArray(wide), [[1, 2], [2, 3]]);
});

Deno.test("options.isCausal must be a boolean (a truthy string or number is not taken as true)", () => {
  for (const bad of ["false", 1]) {
    assert.throws(
      () => T.scaledDotProductAttention(q, k, v, { isCausal: bad as never }),
      /scaledDotProductAttention: options.isCausal must be a boolean, got/,
    );
  }
});

Deno.test("integer q, k or v is an error (PyTorch refuses them; no int32 q kᵀ)", () => {
  // torch.softmax(torch.ones(2, 3, dtype=torch.int32) @ ..., -1) raises:
  // attention needs floating point
  for (
    const [a, b, c] of [
      [i32([[1, 0]]), k, v],
      [q, i32([[1, 0]]), v],
      [q, k, i32([[1], [2], [3]])],
    ]
  ) {
    assert.throws(
      () => T.scaledDotProductAttention(a, b, c),
      /scaledDotProductAttention: q, k and v must be float tensors, got Tensor/,
    );
  }
});

Deno.test("E = 0: the default scale is infinite (an error naming it); a given scale averages v", () => {
  const z = (n: number) => T.zeros([n, 0], { dtype: "float64" });
  assert.throws(
    () => T.scaledDotProductAttention(z(2), z(3), v),
    /scaledDotProductAttention: E = 0 leaves the default scale 1 \/ sqrt\(E\) infinite: pass options\.scale/,
  );
  // sdpa(torch.zeros(2, 0), torch.zeros(3, 0), v, scale=1.0) -> [[3, 4], [3, 4]]
  assert.deepEqual(
    T.toArray(T.scaledDotProductAttention(z(2), z(3), v, { scale: 1 })),
    [[3, 4], [3, 4]],
  );
});
