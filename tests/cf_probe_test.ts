/**
 * Control flow and transforms against JAX's documented semantics: each
 * example's derivatives under vmap are its own branch's (no NaN from the
 * branch it did not take), scan's y may be null, and linearize goes through
 * a whileLoop whose condition is traced.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = { dtype: "float64" } as const;

// sqrt for positive x, else 0: sqrt's derivative at a negative x is NaN
const safeSqrt = (x: Tensor) =>
  T.cond(T.greater(x, 0), T.sqrt, (v: Tensor) => T.mul(v, 0), x);
const safeLog = (x: Tensor, w: Tensor) =>
  T.cond(
    T.greater(x, 0),
    (v: Tensor, u: Tensor) => T.mul(T.log(v), u),
    (v: Tensor, u: Tensor) => T.mul(v, u),
    x,
    w,
  );

Deno.test("grad of vmap of cond: each example's derivative is its own branch's, no NaN from the other", () => {
  const xs = T.tensor([-1, 4, 0], f64);
  const loss = (x: Tensor) => T.sum(T.vmap(safeSqrt)(x));
  const want = [0, 0.25, 0];
  assert.deepEqual(Array.from(T.grad(loss)(xs).data), want);
  assert.deepEqual(Array.from(T.jit(T.grad(loss))(xs).data), want);
  assert.deepEqual(Array.from(T.vmap(T.grad(safeSqrt))(xs).data), want);
  // an unmapped operand: its cotangent sums each example's own branch's
  const w = T.tensor(3, f64);
  const lw = (x: Tensor, u: Tensor) =>
    T.sum(T.vmap(safeLog, { inAxes: [0, null] })(x, u));
  const [gx, gw] = T.grad(lw, { argnums: [0, 1] })(xs, w);
  assert.deepEqual(Array.from(gx.data), [3, 0.75, 3]);
  assertAllClose(gw, -1 + Math.log(4) + 0, { atol: 1e-15, rtol: 0 });
  // nested vmaps and second order
  const m = T.tensor([[-1, 4], [9, -4]], f64);
  const g2 = T.grad((x: Tensor) => T.sum(T.vmap(T.vmap(safeSqrt))(x)))(m);
  assert.deepEqual(Array.from(g2.data), [0, 0.25, 1 / 6, 0]);
  const h = T.hessian((x: Tensor) => T.sum(T.vmap(safeSqrt)(x)))(xs);
  assertAllClose(h as Tensor, [0, 0, 0, 0, -1 / 32, 0, 0, 0, 0], {
    atol: 0,
    rtol: 0,
  });
});

Deno.test("grad of vmap of whileLoop: a finished example's body (NaN there) does not reach its derivative", () => {
  // c -> sqrt(c - 1) while c > 1: the finished example 0.5 would give NaN
  const w = (x: Tensor) =>
    T.whileLoop(
      (c: Tensor) => T.greater(c, 1),
      (c: Tensor) => T.sqrt(T.sub(c, 1)),
      x,
    );
  const xs = T.tensor([0.5, 5], f64);
  assert.deepEqual(Array.from(T.vmap(w)(xs).data), [0.5, 1]);
  const g = T.grad((x: Tensor) => T.sum(T.vmap(w)(x)))(xs);
  assert.deepEqual(Array.from(g.data), [1, 0.125]);
});

Deno.test("scan: a null y gives null ys (JAX's None), for any length", () => {
  const f = (c: Tensor, x: Tensor): [Tensor, null] => [T.add(c, x), null];
  const [c, ys] = T.scan(f, T.tensor(0), T.tensor([1, 2, 3]));
  assert.equal(T.item(c), 6);
  assert.equal(ys, null);
  const [c0, ys0] = T.scan(f, T.tensor(5), T.zeros([0]));
  assert.equal(T.item(c0), 5);
  assert.equal(ys0, null);
  const [cl, ysl] = T.scan(
    (c: Tensor, _x: null): [Tensor, null] => [T.mul(c, 2), null],
    T.tensor(1),
    null,
    { length: 3 },
  );
  assert.equal(T.item(cl), 8);
  assert.equal(ysl, null);
  assert.throws(
    () =>
      T.scan(
        (c: Tensor, x: Tensor) => [c, T.item(x) > 1 ? null : c],
        T.tensor(0),
        T.tensor([1, 2]),
      ),
    /^Error: scan: f's y must be null on every turn or on none/,
  );
});

Deno.test("linearize through a whileLoop whose condition is traced (jit): J·t as jvp's, as JAX's", () => {
  const sq = (v: Tensor) =>
    T.whileLoop(
      (c: Tensor) => T.less(c, 10),
      (c: Tensor) => T.mul(c, c),
      v,
    );
  const f = T.jit((x: Tensor, t: Tensor) => {
    const [y, df] = T.linearize(sq, x);
    return [y, df(t)];
  });
  const [y, dy] = f(T.tensor(1.5, f64), T.tensor(2, f64));
  // three squarings: x^8, derivative 8 x^7
  assert.equal(T.item(y), 1.5 ** 8);
  assertAllClose(dy, 2 * 8 * 1.5 ** 7, { atol: 0, rtol: 1e-15 });
  // reverse mode stays an error, as JAX's
  assert.throws(
    () => T.jit(T.grad(sq))(T.tensor(1.5, f64)),
    /whileLoop: reverse-mode differentiation of a loop whose condition is traced/,
  );
});
