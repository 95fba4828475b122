/**
 * Edge cases of the linalg namespace found by probing it against PyTorch
 * 1.13: NaN propagation through the LU and triangular solves, the SVD and
 * QR kernels at extreme scales, pinv's gradient where singular values
 * repeat or vanish (PyTorch's, from tests/fixtures/linalg_probe.json,
 * written by tests/fixtures/gen_linalg_probe.py), the Frobenius norm's
 * gradient at zero, cond of singular and empty matrices, and matrixExp of a
 * matrix whose exponential overflows.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/linalg_probe.json" with { type: "json" };

const { linalg } = T;
const f64 = { dtype: "float64" as const };
const t64 = (x: unknown) => T.tensor(x as number[][], f64);

Deno.test("linalg NaN in, NaN out: the LU (det, solve, inv, lu) and triangular solves never skip a NaN through a zero multiplier, as LAPACK's", () => {
  const a = t64([[1, NaN], [0, 1]]);
  assert.ok(Number.isNaN(T.item(linalg.det(a))));
  assert.ok(Number.isNaN(T.item(linalg.slogdet(a).logabsdet)));
  assert.ok([...linalg.solve(a, T.ones([2], f64)).data].some(Number.isNaN));
  assert.ok([...linalg.inv(t64([[1, 0], [NaN, 1]])).data].every(Number.isNaN));
  assert.ok(Number.isNaN(linalg.lu(a).U.data[3] as number));
  // a NaN of b reaches the rows below through a zero entry of a
  const x = linalg.solveTriangular(T.eye(2, f64), t64([[NaN], [1]]), {
    upper: false,
  });
  assert.ok([...x.data].every(Number.isNaN));
});

Deno.test("linalg.svd keeps its accuracy for entries near 1e±150 (the column norms' squares scaled), linalg.qr for subnormal ones", () => {
  const a = T.add(
    T.random.normal(T.random.key(1), [2, 4, 3], f64),
    T.mul(T.eye(4, 3, f64), 3),
  );
  const s = linalg.svdvals(a);
  for (const scale of [1e150, 1e-160, 1e300]) {
    assertAllClose(
      T.div(linalg.svdvals(T.mul(a, scale)), scale),
      s,
      { atol: 0, rtol: 1e-13, msg: `svdvals at ${scale}` },
    );
    assertAllClose(
      linalg.matrixNorm(T.mul(a, scale), { ord: 2 }),
      T.mul(T.max(s, { axis: -1 }), scale),
      {
        atol: 0,
        rtol: 1e-13,
        msg: `2-norm at ${scale}`,
      },
    );
  }
  const b = T.add(T.random.normal(T.random.key(2), [3, 3], f64), T.eye(3, f64));
  const r = linalg.qr(b).R, tiny = linalg.qr(T.mul(b, 1e-310)).R;
  assert.ok([...tiny.data].every(Number.isFinite));
  assertAllClose(T.div(tiny, 1e-310), r, { atol: 1e-10, rtol: 1e-6 });
});

type ProbeCase = {
  name: string;
  fn: "pinv" | "lstsq";
  options: Record<string, number>;
  inputs: number[][][];
  output: number[][];
  cotangent: number[][];
  grads: number[][][];
};

for (const c of fixture as ProbeCase[]) {
  Deno.test(`PyTorch: linalg.${c.fn} gradient, ${c.name}`, () => {
    const xs = c.inputs.map(t64);
    const cot = t64(c.cotangent);
    const f = (...ys: Tensor[]) =>
      c.fn === "pinv"
        ? linalg.pinv(ys[0], c.options)
        : linalg.lstsq(ys[0], ys[1], c.options).solution;
    assertAllClose(f(...xs), t64(c.output), { atol: 1e-12, rtol: 1e-10 });
    const argnums = xs.map((_, i) => i) as [0] | [0, 1];
    const gs = T.grad(
      (...ys: Tensor[]) => T.sum(T.mul(f(...ys), cot)),
      { argnums },
    )(...xs) as Tensor[];
    gs.forEach((g, i) =>
      assertAllClose(g, t64(c.grads[i]), {
        atol: 1e-10,
        rtol: 1e-8,
        msg: `gradient of input ${i}`,
      })
    );
  });
}

Deno.test("linalg.pinv's derivative where singular values repeat or vanish: -da at the identity, 0 at a zero matrix, to second order; under vmap and jit", () => {
  const g = T.random.normal(T.random.key(3), [3, 3], f64);
  const loss = (x: Tensor) => T.sum(T.mul(linalg.pinv(x), g));
  assertAllClose(T.grad(loss)(T.eye(3, f64)), T.neg(g), {
    atol: 1e-14,
    rtol: 0,
  });
  assert.deepEqual(
    [
      ...T.grad((x: Tensor) => T.sum(T.sin(linalg.pinv(x))))(
        T.zeros([2, 3], f64),
      ).data,
    ],
    [0, 0, 0, 0, 0, 0],
  );
  T.checkGrads((x: Tensor) => linalg.pinv(x), [T.eye(3, f64)], { order: 2 });
  T.checkGrads(
    (x: Tensor) => linalg.pinv(x),
    [T.random.normal(T.random.key(4), [2, 4, 3], f64)],
    { order: 2 },
  );
  const xs = T.random.normal(T.random.key(5), [4, 3, 2], f64);
  const dl = T.grad((x: Tensor) => T.sum(T.sin(linalg.pinv(x))));
  assertAllClose(T.vmap(dl)(xs), dl(xs), { atol: 1e-13, rtol: 1e-13 });
  assertAllClose(T.jit(dl)(xs), dl(xs), { atol: 1e-13, rtol: 1e-13 });
  assert.throws(
    () => T.jit((x: Tensor) => linalg.pinv(x))(t64([[NaN, 0], [0, 1]])),
    /^Error: linalg\.pinv: a has a NaN or infinite entry/,
  );
});

Deno.test("linalg.matrixNorm: the Frobenius norm's gradient at a zero matrix is 0 (as PyTorch's); a maximum over no entries is an error naming it", () => {
  const g = T.grad((x: Tensor) => linalg.matrixNorm(x))(T.zeros([2, 2], f64));
  assert.deepEqual([...g.data], [0, 0, 0, 0]);
  T.checkGrads((x: Tensor) => linalg.matrixNorm(x), [
    T.random.normal(T.random.key(6), [3, 2], f64),
  ]);
  for (const ord of [2, -2, Infinity]) {
    assert.throws(
      () => linalg.matrixNorm(T.zeros([0, 3]), { ord }),
      /^Error: linalg\.matrixNorm: the ord number -?(2|Infinity) norm of an empty matrix is undefined/,
    );
  }
  assert.equal(T.item(linalg.matrixNorm(T.zeros([0, 3]), { ord: 1 })), 0);
});

Deno.test("linalg.cond: a singular matrix's condition number is Infinity in every norm (not an error), an empty matrix's 0, as PyTorch's; under jit and vmap", () => {
  const a = T.stack([t64([[1, 2], [2, 4]]), t64([[2, 0], [0, 1]])]);
  for (const p of [1, -1, Infinity, -Infinity, "fro", "nuc"] as const) {
    const want = linalg.matrixNorm(t64([[2, 0], [0, 1]]), { ord: p });
    const c = linalg.cond(a, { p });
    assert.equal(c.data[0], Infinity, `p ${p}`);
    const wantValue = T.item(want) *
      T.item(linalg.matrixNorm(t64([[0.5, 0], [0, 1]]), { ord: p }));
    assert.ok(Math.abs((c.data[1] as number) - wantValue) < 1e-12, `p ${p}`);
    assert.deepEqual([...T.jit((x: Tensor) => linalg.cond(x, { p }))(a).data], [
      ...c.data,
    ]);
    assert.deepEqual(
      [...T.vmap((x: Tensor) => linalg.cond(x, { p }))(a).data],
      [...c.data],
    );
  }
  T.checkGrads((x: Tensor) => linalg.cond(x, { p: "fro" }), [
    T.add(
      T.random.normal(T.random.key(7), [3, 3], f64),
      T.mul(T.eye(3, f64), 3),
    ),
  ]);
  assert.deepEqual([...linalg.cond(T.zeros([2, 0, 0], f64)).data], [0, 0]);
  assert.deepEqual([...linalg.cond(T.zeros([0, 0]), { p: 1 }).data], [0]);
});

Deno.test("linalg.matrixExp: an exponential that overflows is infinite where it overflows and exact elsewhere, not NaN (as PyTorch's)", () => {
  assert.deepEqual(
    [...linalg.matrixExp(t64([[1000, 0], [0, 1]])).data].slice(0, 3),
    [Infinity, 0, 0],
  );
  assert.ok(
    Math.abs(
      (linalg.matrixExp(t64([[1000, 0], [0, 1]])).data[3] as number) - Math.E,
    ) < 1e-12,
  );
  // one squaring short of overflow: a finite gradient
  const g = T.grad((x: Tensor) => T.sum(linalg.matrixExp(x)))(
    t64([[400, 1], [0, 1]]),
  );
  assert.ok([...g.data].every(Number.isFinite));
});
