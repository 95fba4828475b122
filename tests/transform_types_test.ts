/**
 * Type-level tests of the transforms: `deno check` (and so `deno test`) fails
 * if a case that must compile does not, or if a line marked
 * `// @ts-expect-error` compiles. `Equal` checks types exactly, so a result
 * of type `any` (which would let every property through) fails too. The
 * tests also run, on tiny tensors, so the values match their types.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

/** True when X and Y are the same type (`any` equals only `any`). */
type Equal<X, Y> = (<V>() => V extends X ? 1 : 2) extends
  (<V>() => V extends Y ? 1 : 2) ? true : false;
/** Compiles only when given `true`: `expectType<Equal<A, B>>(true)`. */
function expectType<Ok extends true>(_ok: Ok): void {}

type Params = { w: Tensor; b: Tensor };
type Net = { conv1: { weight: Tensor; bias: Tensor }; fc: Tensor[] };

const f64 = { dtype: "float64" as const };
const params: Params = { w: T.tensor([1, 2], f64), b: T.tensor([0.5], f64) };
const x = T.tensor([3, 4], f64);
const net: Net = {
  conv1: { weight: T.tensor([1, 2], f64), bias: T.tensor([0], f64) },
  fc: [T.tensor([3, 4], f64)],
};
const loss = (p: Params, x: Tensor) => T.sum(T.add(T.mul(p.w, x), p.b));
const netLoss = (n: Net, x: Tensor) =>
  T.sum(T.mul(T.add(n.conv1.weight, n.fc[0]), x));

Deno.test("grad: the gradient has the type of the differentiated argument", () => {
  const g = T.grad(loss)(params, x);
  expectType<Equal<typeof g, Params>>(true);
  expectType<Equal<typeof g.w, Tensor>>(true);
  assert.deepEqual(T.toArray(g.w), [3, 4]);
  assert.deepEqual(T.toArray(g.b), [2]); // b broadcasts over the 2 entries
  // a nested tree keeps its type
  const gn = T.grad(netLoss)(net, x);
  expectType<Equal<typeof gn, Net>>(true);
  expectType<Equal<typeof gn.conv1.weight, Tensor>>(true);
  assert.deepEqual(T.toArray(gn.fc[0]), [3, 4]);
  // a tensor argument gives a tensor
  const dx = T.grad((x: Tensor) => T.sum(T.mul(x, x)))(x);
  expectType<Equal<typeof dx, Tensor>>(true);
  // the returned function has f's parameters
  const df = T.grad(loss);
  expectType<Equal<Parameters<typeof df>, Parameters<typeof loss>>>(true);
  // second order: grad of a function that uses a gradient
  const d2 = T.grad((x: Tensor) =>
    T.sum(T.grad((y: Tensor) => T.sum(T.mul(y, y)))(x))
  );
  expectType<Equal<ReturnType<typeof d2>, Tensor>>(true);
});

Deno.test("grad: argnums picks the argument, an array gives a tuple", () => {
  const gx = T.grad(loss, { argnums: 1 })(params, x);
  expectType<Equal<typeof gx, Tensor>>(true);
  assert.deepEqual(T.toArray(gx), [1, 2]);
  const both = T.grad(loss, { argnums: [1, 0] })(params, x);
  expectType<Equal<typeof both, [Tensor, Params]>>(true);
  const [gx2, gp] = both;
  assert.deepEqual([T.toArray(gx2), T.toArray(gp.w)], [[1, 2], [3, 4]]);
  // argnums known only at run time: an array of the possible types
  const nums: number[] = [0, 1];
  const dyn = T.grad(loss, { argnums: nums })(params, x);
  expectType<Equal<typeof dyn, (Params | Tensor)[]>>(true);
});

Deno.test("grad and valueAndGrad with hasAux: [grads, aux] and [[value, aux], grads]", () => {
  const lossAux = (p: Params, x: Tensor) => {
    const y = T.mul(p.w, x);
    return [T.sum(y), { y }] as const;
  };
  const [g, aux] = T.grad(lossAux, { hasAux: true })(params, x);
  expectType<Equal<typeof g, Params>>(true);
  expectType<Equal<typeof aux, { readonly y: Tensor }>>(true);
  assert.deepEqual(T.toArray(aux.y), [3, 8]);
  const [[value, aux2], g2] = T.valueAndGrad(lossAux, { hasAux: true })(
    params,
    x,
  );
  expectType<Equal<typeof value, Tensor>>(true);
  expectType<Equal<typeof aux2.y, Tensor>>(true);
  expectType<Equal<typeof g2, Params>>(true);
  assert.equal(T.item(value), 11);
  // a function declared on its own returning [loss, aux] is typed as an
  // array, (Tensor | Aux)[]: the aux type is still found
  const named = (p: Params) => [T.sum(p.w), { n: T.tensor(2) }];
  const [, aux3] = T.grad(named, { hasAux: true })(params);
  expectType<Equal<typeof aux3, { n: Tensor }>>(true);
  // inline, with argnums
  const [gx, aux4] = T.grad(
    (p: Params, x: Tensor) => [T.sum(T.mul(p.w, x)), p.b],
    { argnums: 1, hasAux: true },
  )(params, x);
  expectType<Equal<typeof gx, Tensor>>(true);
  expectType<Equal<typeof aux4, Tensor>>(true);
});

Deno.test("valueAndGrad: the value is a Tensor, the gradient the argument's type", () => {
  const [l, g] = T.valueAndGrad(loss)(params, x);
  expectType<Equal<typeof l, Tensor>>(true);
  expectType<Equal<typeof g, Params>>(true);
  assert.equal(T.item(l), 12);
  const [, gs] = T.valueAndGrad(netLoss, { argnums: [0, 1] })(net, x);
  expectType<Equal<typeof gs, [Net, Tensor]>>(true);
});

Deno.test("vjp, jvp, customVjp, stopGradient keep their types", () => {
  const f = (p: Params, x: Tensor) => ({ y: T.mul(p.w, x), s: T.sum(x) });
  const [y, back] = T.vjp(f, params, x);
  expectType<Equal<typeof y, { y: Tensor; s: Tensor }>>(true);
  const cts = back({ y: T.onesLike(y.y), s: T.onesLike(y.s) });
  expectType<Equal<typeof cts, [p: Params, x: Tensor]>>(true);
  assert.deepEqual(T.toArray(cts[0].w), [3, 4]);
  const [out, tangent] = T.jvp(f, [params, x], [params, T.zerosLike(x)]);
  expectType<Equal<typeof out, typeof tangent>>(true);
  assert.deepEqual(T.toArray(tangent.y), [3, 8]);
  const twice = T.customVjp(
    (x: Tensor, w: Tensor) => T.mul(x, w),
    (x: Tensor, w: Tensor) => [T.mul(x, w), [x, w]],
    ([x, w], g) => [T.mul(g, w), T.mul(g, x)],
  );
  expectType<Equal<Parameters<typeof twice>, [x: Tensor, w: Tensor]>>(true);
  expectType<Equal<ReturnType<typeof twice>, Tensor>>(true);
  const gw = T.grad((w: Tensor) => T.sum(twice(x, w)))(T.tensor([1, 1], f64));
  assert.deepEqual(T.toArray(gw), [3, 4]);
  const s = T.stopGradient(params);
  expectType<Equal<typeof s, Params>>(true);
});

// Never run: each marked line must fail to type-check (if one compiled,
// its unused `@ts-expect-error` would be the error).
const _mustNotCompile = () => {
  const g = T.grad(loss)(params, x);
  // @ts-expect-error: a typo in a parameter name
  g.wieght;
  const gn = T.grad(netLoss)(net, x);
  // @ts-expect-error: a typo deep in the tree
  gn.conv1.wieght;
  const [l] = T.valueAndGrad(loss)(params, x);
  // @ts-expect-error: the value is a Tensor, not a number
  l.toFixed();
  // @ts-expect-error: wrong argument types (x is a Tensor)
  T.grad(loss)(params, 3);
  // @ts-expect-error: a missing field in the parameters
  T.grad(loss)({ w: x }, x);
  // @ts-expect-error: a missing argument
  T.grad(loss)(params);
  // @ts-expect-error: with argnums [0, 1] the result is a tuple
  T.grad(loss, { argnums: [0, 1] })(params, x).w;
  // @ts-expect-error: with argnums 1 the gradient is x's, a Tensor
  T.grad(loss, { argnums: 1 })(params, x).w;
  // @ts-expect-error: f must return a Tensor
  T.grad((x: Tensor) => T.item(x));
  // @ts-expect-error: with hasAux, f must return [value, aux]
  T.grad(loss, { hasAux: true });
  const [, aux] = T.grad((x: Tensor) => [T.sum(x), { x }], { hasAux: true })(x);
  // @ts-expect-error: the aux keeps its type
  aux.y;
  const [, back] = T.vjp((x: Tensor) => ({ y: x }), x);
  // @ts-expect-error: the cotangent has the output's type
  back(x);
  // @ts-expect-error: tangents have the primals' types
  T.jvp(loss, [params, x], [x, x]);
  const cube = T.customVjp(
    (x: Tensor) => T.mul(T.mul(x, x), x),
    (x: Tensor) => [T.mul(T.mul(x, x), x), x],
    (x, g) => [T.mul(g, T.mul(T.mul(x, x), 3))],
  );
  // @ts-expect-error: cube takes one tensor
  cube(x, x);
  T.customVjp(
    (x: Tensor) => x,
    (x: Tensor) => [x, null],
    // @ts-expect-error: bwd returns one cotangent per argument
    (_r, g) => [g, g],
  );
  // @ts-expect-error: stopGradient returns the type it is given
  T.stopGradient(params).c;
  // @ts-expect-error: checkGrads's args match f's parameters
  T.checkGrads(loss, [x, x]);
};
