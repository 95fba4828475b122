/**
 * Probes of the indexing, order-statistics and cumulative ops against
 * PyTorch 1.13 at edge cases; each expected value is the torch expression
 * in the comment next to it.
 */
import assert from "node:assert/strict";
const assertEquals = (a: unknown, b: unknown) => assert.deepEqual(a, b);
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const f64 = (v: number[]) => T.tensor(v, { dtype: "float64" });
const weights = (n: number) => T.arange(1, n + 1, 1, { dtype: "float64" });
/** The gradient of sum(f(x) · [1, 2, ...]). */
const gradW = (f: (x: Tensor) => Tensor, x: Tensor) =>
  T.grad((x: Tensor) => {
    const y = f(x);
    return T.sum(
      T.mul(y, T.reshape(weights(y.shape.reduce((a, b) => a * b, 1)), y.shape)),
    );
  })(x);
const lcse = (x: Tensor) => T.logCumSumExp(x, { axis: 0 });

Deno.test("logCumSumExp: a -inf entry after a finite one has gradient 0, not NaN", () => {
  const inf = Infinity;
  // x = torch.tensor(v, dtype=torch.float64, requires_grad=True)
  // (torch.logcumsumexp(x, 0) * torch.arange(1., n + 1)).sum().backward()
  assertEquals(T.toArray(gradW(lcse, f64([0, -inf, -inf]))), [6, 0, 0]);
  assertEquals(T.toArray(gradW(lcse, f64([0, 0, -inf, -inf]))), [
    5.5,
    4.5,
    0,
    0,
  ]);
  // torch: [0, 0, 0, 10.000000000000002]
  const g = T.toArray(gradW(lcse, f64([2, -inf, -inf, -inf]))) as number[];
  assertEquals(g.slice(1), [0, 0, 0]);
  assertEquals(Math.abs(g[0] - 10) < 1e-12, true);
  // the same under jit and vmap
  const h = T.jit(T.vmap((x: Tensor) => gradW(lcse, x)));
  assertEquals(
    T.toArray(h(T.tensor([[0, -inf, -inf]], { dtype: "float64" }))),
    [[6, 0, 0]],
  );
  // second order: torch.autograd.functional.hessian of the same sum at
  // [0.5, -inf, 2, -inf]: zero rows and columns at the -inf entries
  const hess = T.toArray(
    T.hessian((x: Tensor) => T.sum(T.mul(lcse(x), weights(4))))(
      f64([0.5, -inf, 2, -inf]),
    ) as Tensor,
  ) as number[][];
  for (const i of [1, 3]) {
    assertEquals(hess[i], [0, 0, 0, 0]);
    assertEquals(hess.map((r) => r[i]), [0, 0, 0, 0]);
  }
});

Deno.test("cumprod: an overflow or underflow stays where PyTorch's in-order loop puts it", () => {
  // torch.cumprod(torch.tensor([1e200, 1e200, 1e-200, 1e-200], dtype=torch.float64), 0)
  // -> [1e200, inf, inf, inf] (the doubling scan gave [1e200, inf, 1e200, nan])
  assertEquals(
    T.toArray(T.cumprod(f64([1e200, 1e200, 1e-200, 1e-200]), { axis: 0 })),
    [1e200, Infinity, Infinity, Infinity],
  );
  // torch.cumprod(torch.tensor([1e-200, 1e-200, 1e200, 1e200], dtype=torch.float64), 0)
  assertEquals(
    T.toArray(T.cumprod(f64([1e-200, 1e-200, 1e200, 1e200]), { axis: 0 })),
    [1e-200, 0, 0, 0],
  );
  // float64 products in order: the same bits as torch (1.1 * 1.3 * 1.7 * 1.9 left to right)
  const v = [1.1, 1.3, 1.7, 1.9, 0.3];
  const seq = v.map((_, i) => v.slice(0, i + 1).reduce((p, a) => p * a, 1));
  assertEquals(Array.from(T.cumprod(f64(v), { axis: 0 }).data), seq);
  // under vmap along another axis and jit: the same values
  const x = T.tensor([[1e200, 1e-200], [1e200, 1e-200], [1e-200, 1e200]], {
    dtype: "float64",
  });
  const want = [[1e200, 1e-200], [Infinity, 0], [Infinity, 0]];
  assertEquals(
    T.toArray(T.jit((x: Tensor) => T.cumprod(x, { axis: 0 }))(x)),
    want,
  );
  const mapped = T.vmap((c: Tensor) => T.cumprod(c, { axis: 0 }), {
    inAxes: 1,
    outAxes: 1,
  });
  assertEquals(T.toArray(mapped(x)), want);
  // int32 wraps modulo 2^32: torch.cumprod(x_int32, 0, dtype=torch.int32)
  assertEquals(
    T.toArray(
      T.cumprod(T.tensor([46341, 46341, 46341, 3], { dtype: "int32" }), {
        axis: 0,
      }),
    ),
    [46341, -2147479015, -1932785795, -1503390089],
  );
});

Deno.test("cumprod: gradients with zeros stay exact (first and second order)", () => {
  const cp = (x: Tensor) => T.cumprod(x, { axis: 0 });
  // x = torch.tensor([2., 0, 3, 0, 4], dtype=torch.float64, requires_grad=True)
  // (torch.cumprod(x, 0) * torch.arange(1., 6)).sum().backward() -> [1, 22, 0, 0, 0]
  assertEquals(T.toArray(gradW(cp, f64([2, 0, 3, 0, 4]))), [1, 22, 0, 0, 0]);
  assertEquals(T.toArray(gradW(cp, f64([2, 3, 0]))), [7, 4, 18]);
  // torch.autograd.functional.hessian(lambda x: (torch.cumprod(x, 0) * w).sum(), [0., 2, 3])
  assertEquals(
    T.toArray(
      T.hessian((x: Tensor) => T.sum(T.mul(cp(x), weights(3))))(
        f64([0, 2, 3]),
      ) as Tensor,
    ),
    [[0, 11, 6], [11, 0, 0], [6, 0, 0]],
  );
  // forward mode agrees: jvp along e_1 at [2, 0, 3] is column 1 of the Jacobian [0, 2, 6]
  const [, t] = T.jvp(cp, [f64([2, 0, 3])], [f64([0, 1, 0])]);
  assertEquals(T.toArray(t), [0, 2, 6]);
});
