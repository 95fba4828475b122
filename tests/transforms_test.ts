/** grad, valueAndGrad, vjp, jvp, stopGradient, customVjp, nesting and errors. */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = { dtype: "float64" as const };
const x3 = T.tensor([1, 2, 3], f64);

Deno.test("grad of sum(x*x) is 2x; of a constant function is zeros", () => {
  assertAllClose(T.grad((x: Tensor) => T.sum(T.mul(x, x)))(x3), [2, 4, 6]);
  assertAllClose(T.grad((_x: Tensor) => T.sum(T.tensor([1, 2], f64)))(x3), [
    0,
    0,
    0,
  ]);
});

Deno.test("perturbation confusion: d/dx [x * d/dy (x + y)] = 1", () => {
  const f = (x: Tensor) => {
    const inner = T.grad((y: Tensor) => T.add(x, y))(T.tensor(1, f64));
    return T.mul(x, inner);
  };
  assert.equal(T.item(T.grad(f)(T.tensor(3, f64))), 1);
  // and in forward mode
  const [, t] = T.jvp(f, [T.tensor(3, f64)], [T.tensor(1, f64)]);
  assert.equal(T.item(t), 1);
});

Deno.test("grad(grad(f)), third order, jvp of grad (forward-over-reverse), Hessian-vector products", () => {
  const cube = (x: Tensor) => T.sum(T.mul(T.mul(x, x), x));
  const d1 = T.grad(cube);
  const d2 = T.grad((x: Tensor) => T.sum(d1(x)));
  const d3 = T.grad((x: Tensor) => T.sum(d2(x)));
  assertAllClose(d2(x3), [6, 12, 18]);
  assertAllClose(d3(x3), [6, 6, 6]);
  const v = T.tensor([1, 0, -1], f64);
  // Hessian of sum(x³) is diag(6x): H v = [6, 0, -18]
  const hvpRev = T.grad((x: Tensor) => T.sum(T.mul(d1(x), v)))(x3);
  const [, hvpFwd] = T.jvp(d1, [x3], [v]);
  assertAllClose(hvpRev, [6, 0, -18]);
  assertAllClose(hvpFwd, [6, 0, -18]);
  // reverse-over-forward too
  const rof = T.grad((x: Tensor) => T.sum(T.jvp(d1, [x], [v])[1]))(x3);
  assertAllClose(rof, [6, 0, -6]); // d/dx Σ 6 x v = 6 v... then summed over the cube's 3rd derivative
});

Deno.test("argnums (number and array), trees in and out, hasAux", () => {
  const f = (a: Tensor, p: { w: Tensor; b: Tensor[] }) =>
    T.sum(T.mul(a, T.add(p.w, p.b[0])));
  const a = T.tensor([1, 2], f64),
    p = { w: T.tensor([3, 4], f64), b: [T.tensor([0.5, 0.5], f64)] };
  const gp = T.grad(f, { argnums: 1 })(a, p);
  assertAllClose(gp.w, [1, 2]);
  assertAllClose(gp.b[0], [1, 2]);
  const [ga, gp2] = T.grad(f, { argnums: [0, 1] })(a, p);
  assertAllClose(ga, [3.5, 4.5]);
  assertAllClose(gp2.w, [1, 2]);
  const [[value, aux], g] = T.valueAndGrad(
    (x: Tensor) => [T.sum(T.square(x)), { sq: T.square(x) }],
    { hasAux: true },
  )(a);
  assert.equal(T.item(value), 5);
  assertAllClose(aux.sq, [1, 4]);
  assertAllClose(g, [2, 4]);
  const [gAux, aux2] = T.grad((x: Tensor) => [T.sum(x), x], { hasAux: true })(
    a,
  );
  assertAllClose(gAux, [1, 1]);
  assertAllClose(aux2, [1, 2]);
});

Deno.test("jvp with hasAux: [output, tangent, aux], aux without a tangent (JAX's has_aux)", () => {
  const v = T.tensor([1, 0, 2], f64);
  const f = (x: Tensor) => [T.mul(x, x), { total: T.sum(x), x }] as const;
  const [y, t, aux] = T.jvp(f, [x3], [v], { hasAux: true });
  assertAllClose(y, [1, 4, 9]);
  assertAllClose(t, [2, 0, 12]); // 2 x v
  assert.equal(T.item(aux.total), 6);
  assertAllClose(aux.x, [1, 2, 3]);
  // the aux is a plain value of this level: usable as any tensor
  assertAllClose(T.add(aux.x, 1), [2, 3, 4]);
  // nested: the gradient of the tangent, with the aux computed on the way
  const g = T.grad((x: Tensor) => {
    const [, tx, a] = T.jvp(f, [x], [v], { hasAux: true });
    return T.add(T.sum(tx), T.mul(a.total, 0));
  })(x3);
  assertAllClose(g, [2, 0, 4]); // d/dx Σ 2 x v = 2 v
  // without hasAux (or false) the pair, as before
  assert.equal(
    T.jvp((x: Tensor) => T.sum(x), [x3], [v], { hasAux: false }).length,
    2,
  );
  assert.throws(
    // @ts-expect-error: with hasAux, f must return [output, aux]
    () => T.jvp((x: Tensor) => T.sum(x), [x3], [v], { hasAux: true }),
    /^Error: jvp: with hasAux, f must return \[output, aux\], got Tensor/,
  );
  assert.throws(
    // @ts-expect-error: hasAux is a boolean
    () => T.jvp((x: Tensor) => T.sum(x), [x3], [v], { hasAux: 1 }),
    /^Error: jvp: options.hasAux must be a boolean, got 1/,
  );
  assert.throws(
    // @ts-expect-error: an unknown option
    () => T.jvp((x: Tensor) => T.sum(x), [x3], [v], { has_aux: true }),
    /^Error: jvp: unknown option "has_aux"/,
  );
});

Deno.test("vjp and jvp with tree outputs", () => {
  const f = (x: Tensor) => ({ s: T.sum(x), d: T.mul(x, 2) });
  const [y, back] = T.vjp(f, x3);
  assert.equal(T.item(y.s), 6);
  const [ct] = back({ s: T.tensor(1, f64), d: T.tensor([1, 1, 1], f64) });
  assertAllClose(ct, [3, 3, 3]);
  const [, t] = T.jvp(f, [x3], [T.tensor([1, 0, 0], f64)]);
  assert.equal(T.item(t.s), 1);
  assertAllClose(t.d, [2, 0, 0]);
});

Deno.test("stopGradient and closed-over tensors are constants", () => {
  const c = T.tensor([5, 5, 5], f64);
  assertAllClose(T.grad((x: Tensor) => T.sum(T.mul(x, c)))(x3), [5, 5, 5]);
  assertAllClose(
    T.grad((x: Tensor) => T.sum(T.mul(T.stopGradient(x), x)))(x3),
    [1, 2, 3],
  );
});

Deno.test("customVjp: the user's rule is used, also inside second order", () => {
  // f(x) = x³ with its derivative declared by hand
  const cube = T.customVjp(
    (x) => T.mul(T.mul(x, x), x),
    (x) => [T.mul(T.mul(x, x), x), x],
    (x, g) => [T.mul(g, T.mul(T.mul(x, x), 3))],
  );
  assertAllClose(T.grad((x: Tensor) => T.sum(cube(x)))(x3), [3, 12, 27]);
  assertAllClose(
    T.grad((x: Tensor) => T.sum(T.grad((y: Tensor) => T.sum(cube(y)))(x)))(x3),
    [6, 12, 18],
  );
  const [, t] = T.jvp(cube, [x3], [T.ones([3], f64)]);
  assertAllClose(t, [3, 12, 27]);
  // a rule that differs from the true derivative is what grad returns
  const fake = T.customVjp(
    (x) => x,
    (x) => [x, null],
    (_r, g) => [T.mul(g, 7)],
  );
  assertAllClose(T.grad((x: Tensor) => T.sum(fake(x)))(x3), [7, 7, 7]);
});

Deno.test("int32 has no gradient; float32 gradients are float32", () => {
  const labels = T.tensor([0, 1], { dtype: "int32" });
  assert.throws(
    () => T.grad((l: Tensor) => T.sum(T.astype(l, "float32")))(labels),
    /grad: cannot differentiate with respect to int32 argument 0/,
  );
  const g = T.grad((x: Tensor, l: Tensor) => T.sum(T.mul(x, l)))(
    T.tensor([1, 1]),
    labels,
  );
  assert.equal(g.dtype, "float32");
  assert.deepEqual(T.toArray(g), [0, 1]);
  const g32 = T.grad((x: Tensor) => T.sum(T.mul(x, T.tensor([1, 2], f64))))(
    T.tensor([1, 1]),
  );
  assert.equal(g32.dtype, "float32");
  assert.equal(
    T.grad((x: Tensor) => T.sum(T.astype(x, "float64")))(T.tensor([1])).dtype,
    "float32",
  );
});

Deno.test("transform errors name the transform and what came", () => {
  assert.throws(
    () => T.grad((x: Tensor) => T.mul(x, 2))(x3),
    /grad: f must return a float scalar tensor \(shape \[\]\), got Tensor float64 \[3\]; reduce it with sum or mean/,
  );
  assert.throws(
    () => T.grad((x: Tensor) => T.argmax(x))(x3),
    /grad: f must return a float scalar tensor/,
  );
  assert.throws(
    () => T.grad((x: Tensor) => T.sum(x), { argnums: 2 })(x3),
    /grad: argnums 2 is out of range for 1 argument\(s\)/,
  );
  assert.throws(
    () => T.grad((x: unknown) => x as Tensor)({ a: 3 }),
    /grad: argument 0 is not a tree of tensors: treeFlatten: leaf "a" must be a Tensor/,
  );
  assert.throws(
    // @ts-expect-error: with hasAux, f's type must be [value, aux] too
    () => T.valueAndGrad((x: Tensor) => T.sum(x), { hasAux: true })(x3),
    /valueAndGrad: with hasAux, f must return \[value, aux\]/,
  );
  assert.throws(
    () => T.jvp((x: Tensor) => x, [x3], [T.zeros([2])]),
    /jvp: tangent leaf 0 of argument 0 has shape \[2\] but its primal has \[3\]/,
  );
  assert.throws(() => T.grad(3 as never), /grad: f must be a function/);
});

Deno.test("checkGrads catches a wrong rule and passes a right one", () => {
  const wrong = T.customVjp(
    (x) => T.tanh(x),
    (x) => [T.tanh(x), x],
    (_x, g) => [g],
  );
  assert.throws(
    () => T.checkGrads(wrong, [x3], { order: 1 }),
    /checkGrads: VJP \(order 1/,
  );
  assert.throws(
    () => T.checkGrads(wrong, [x3], { order: 1, modes: ["fwd"] }),
    /checkGrads: JVP \(order 1\) mismatch/,
  );
  T.checkGrads((x: Tensor) => T.tanh(x), [x3]);
  // second order catches a first-order-correct rule whose own derivative is wrong
  const badSecond = T.customVjp(
    (x) => T.mul(T.mul(x, x), x),
    (x) => [T.mul(T.mul(x, x), x), T.stopGradient(x)],
    (x, g) => [T.mul(g, T.mul(T.mul(x, x), 3))],
  );
  T.checkGrads(badSecond, [x3], { order: 1 });
  assert.throws(
    () => T.checkGrads(badSecond, [x3], { order: 2, modes: ["rev"] }),
    /checkGrads: VJP \(order 2/,
  );
});

Deno.test("trees: map, leaves, flatten/unflatten, paths, mismatch errors", () => {
  const t = { b: [T.tensor(1), T.tensor(2)], a: T.tensor(3) };
  assert.deepEqual(T.treeLeaves(t).map((l) => T.item(l)), [3, 1, 2]);
  const [leaves, def] = T.treeFlatten(t);
  const back = T.treeUnflatten(def, leaves) as typeof t;
  assert.equal(T.item(back.b[1]), 2);
  assert.deepEqual(T.treePaths(t).map(([p]) => p), ["a", "b.0", "b.1"]);
  const doubled = T.treeMap((x) => T.mul(x, 2), t);
  assert.equal(T.item(doubled.b[0]), 2);
  assert.throws(
    () =>
      T.treeMap((x, y) => T.add(x, y), t, { a: T.tensor(1), b: [T.tensor(1)] }),
    /treeMap: tree 1 does not match the structure of the first tree at "b": array of length 2 vs 1/,
  );
  assert.throws(
    () => T.treeMap((x, y) => T.add(x, y), t, { a: T.tensor(1), c: [] }),
    /at \(root\): keys \[a,b\] vs \[a,c\]/,
  );
  assert.throws(
    () => T.treeUnflatten(def, leaves.slice(1)),
    /treeUnflatten: the structure needs more leaves than the 2 given/,
  );
});

Deno.test("the cast primitive in checkGrads: float32 round trip, with float32's step and tolerance", () => {
  // cast is linear, so central differences are exact up to float32 rounding
  // (relative 6e-8 per value): a step of 1e-2 keeps that error near 1e-5.
  const f = (x: Tensor) =>
    T.mul(
      T.astype(T.astype(x, "float32"), "float64"),
      T.tensor([1, 2, 3], f64),
    );
  T.checkGrads(f, [T.tensor([0.5, -1.25, 2], f64)], {
    eps: 1e-2,
    atol: 1e-4,
    rtol: 1e-4,
  });
  const g = T.grad((x: Tensor) => T.sum(f(x)))(T.tensor([0.5, -1.25, 2], f64));
  assert.equal(g.dtype, "float64");
  assert.deepEqual(T.toArray(g), [1, 2, 3]);
});

Deno.test("setDebugNans: a NaN made in a forward or backward primitive is an error", () => {
  T.setDebugNans(true);
  try {
    assert.throws(
      () => T.sqrt(T.tensor([-1])),
      /sqrt: produced NaN from inputs without NaN/,
    );
    // 0 · ∞ (exp overflows to ∞, times 0)
    assert.throws(
      () =>
        T.grad((x: Tensor) => T.sum(T.mul(T.exp(T.mul(x, 1000)), 0)))(
          T.tensor([1], f64),
        ),
      /mul: produced NaN/,
    );
    // NaN already in the input is passed on (only new NaNs are reported)
    assert.ok(Number.isNaN(T.item(T.add(T.tensor([NaN]), 1))));
  } finally {
    T.setDebugNans(false);
  }
  assert.ok(Number.isNaN(T.item(T.sqrt(T.tensor([-1])))));
});

Deno.test("pureCallback: JavaScript on values inside grad, vmap and jit; its errors", () => {
  const decay = (n: T.Tensor) =>
    T.pureCallback(
      (c) => T.tensor(0.5 ** c.data[0], { dtype: "float64" }),
      { shape: [], dtype: "float64" },
      n,
    );
  // an int32 argument carries no derivative: grad flows through the rest
  const f = (x: T.Tensor, n: T.Tensor) => T.sum(T.mul(x, decay(n)));
  const x = T.tensor([1, 2], { dtype: "float64" });
  assert.deepEqual(
    T.toArray(T.grad(f)(x, T.tensor(2, { dtype: "int32" }))),
    [0.25, 0.25],
  );
  // vmap runs it once per example
  const ns = T.tensor([0, 1, 3], { dtype: "int32" });
  assert.deepEqual(T.toArray(T.vmap(decay)(ns)), [1, 0.5, 0.125]);
  // a float argument under grad: a clear error when the derivative is needed
  const g = (y: T.Tensor) =>
    T.sum(T.pureCallback((v) => v, { shape: [2], dtype: "float64" }, y));
  assert.throws(
    () => T.grad(g)(x),
    /pureCallback: its callback is opaque JavaScript and has no derivative/,
  );
  assert.throws(
    () => T.pureCallback(() => T.tensor([1]), { shape: [], dtype: "float32" }),
    /pureCallback: the callback returned Tensor float32 \[1\], but declared float32 \[\]/,
  );
  assert.throws(
    () => T.pureCallback((v) => v, { shape: [-1], dtype: "float32" }, x),
    /pureCallback: result must be \{ shape, dtype \}/,
  );
  assert.throws(
    () => T.pureCallback((v) => v, { shape: [], dtype: "float32" }, 3 as never),
    /pureCallback: argument 0 must be a Tensor, got number 3/,
  );
});
