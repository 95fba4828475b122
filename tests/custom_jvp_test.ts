/**
 * customJvp: forward mode uses the rule, reverse mode its transpose (so a
 * rule that differs from the function's derivative shows in both), a
 * correct rule gives the autodiff derivatives, higher orders differentiate
 * the rule, vmap and jit, errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;
const x = T.tensor([0.5, -1.25, 2], f64), y = T.tensor([3, 0.5, -2], f64);

Deno.test("customJvp: jvp follows the rule and grad its transpose, for each argument", () => {
  // the rule doubles y's contribution: not the product's derivative, on purpose
  const prod = T.customJvp(
    (a: Tensor, b: Tensor) => T.mul(a, b),
    (
      [a, b],
      [ta, tb],
    ) => [T.mul(a, b), T.add(T.mul(ta, b), T.mul(T.mul(a, tb), 2))],
  );
  const tx = T.tensor([1, 0, 2], f64), ty = T.tensor([0, 1, 1], f64);
  const [out, tangent] = T.jvp(prod, [x, y], [tx, ty]);
  assert.deepEqual(out.data, T.mul(x, y).data);
  assertAllClose(tangent, T.add(T.mul(tx, y), T.mul(T.mul(x, ty), 2)), {
    rtol: 1e-15,
  });
  const [gx, gy] = T.grad((a: Tensor, b: Tensor) => T.sum(prod(a, b)), {
    argnums: [0, 1],
  })(x, y) as Tensor[];
  assertAllClose(gx, y, { rtol: 1e-15 });
  assertAllClose(gy, T.mul(x, 2), { rtol: 1e-15 });
});

Deno.test("customJvp: a correct rule gives autodiff's derivatives; second order differentiates the rule", () => {
  const cube = T.customJvp(
    (a: Tensor) => T.mul(T.mul(a, a), a),
    ([a], [t]) => [T.mul(T.mul(a, a), a), T.mul(T.mul(T.mul(a, a), 3), t)],
  );
  const g = T.grad((a: Tensor) => T.sum(cube(a)))(x) as Tensor;
  assertAllClose(g, T.mul(T.mul(x, x), 3), { rtol: 1e-15 });
  const g2 = T.grad((a: Tensor) =>
    T.sum(T.grad((b: Tensor) => T.sum(cube(b)))(a) as Tensor)
  )(x) as Tensor;
  assertAllClose(g2, T.mul(x, 6), { rtol: 1e-15 });
  T.checkGrads((a: Tensor) => T.sum(T.sin(cube(a))), [x], { order: 2 });
});

Deno.test("customJvp: under vmap and jit, the eager values and derivatives", () => {
  const softplus = T.customJvp(
    (a: Tensor) => T.log1p(T.exp(a)),
    ([a], [t]) => [T.log1p(T.exp(a)), T.mul(t, T.sigmoid(a))],
  );
  const xs = T.reshape(T.tensor([0.1, 2, -3, 800, -800, 5], f64), [3, 2]);
  const per = T.vmap(T.grad((a: Tensor) => T.sum(softplus(a))))(xs);
  assertAllClose(per, T.sigmoid(xs), { rtol: 1e-15 });
  assert.ok([...per.data].every(Number.isFinite)); // exp(800) overflows; the rule does not
  const j = T.jit(T.grad((a: Tensor) => T.sum(softplus(a))));
  assert.deepEqual(j(xs).data, per.data);
});

Deno.test("customJvp: errors name it", () => {
  assertErrors("customJvp", [
    [
      () => T.customJvp(3 as never, () => [T.tensor(1), T.tensor(1)]),
      /f must be a function/,
    ],
    [() => T.customJvp((a: Tensor) => a, 3 as never), /jvp must be a function/],
    [
      () =>
        T.jvp(
          T.customJvp((a: Tensor) => a, () => [T.tensor(1)] as never),
          [x],
          [x],
        ),
      /jvp must return \[output, tangent\], got an array of length 1/,
    ],
    [
      () => T.customJvp((a: Tensor) => a, ([a], [t]) => [a, t])(3 as never),
      /argument 0 must be a Tensor, got number 3/,
    ],
  ]);
});
