/**
 * jit, checkpoint and transforms composed: values traced by an enclosing
 * transform that a jitted or checkpointed function closes over, and random
 * keys passed to a checkpointed block.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { sameBits } from "./_helpers.ts";

const { random } = T;

Deno.test("jit: a jitted function closing over a grad's traced value gives that call's value and gradient on every call", () => {
  let w: Tensor = T.tensor(0);
  const f = T.jit((x: Tensor) => T.mul(x, w));
  const outer = (v: Tensor) => {
    w = v;
    return T.sum(f(T.tensor([1, 2])));
  };
  for (const v of [[3, 4], [5, 6]]) {
    sameBits(T.grad(outer)(T.tensor(v)) as Tensor, T.tensor([1, 2]), `${v}`);
  }
  sameBits(outer(T.tensor([5, 6])), T.tensor(17), "value after the grads");
});

Deno.test("jit: a jitted function closing over a vmap's or an outer jit's traced value", () => {
  let v: Tensor = T.tensor(0);
  const g = T.jit((x: Tensor) => T.mul(x, v));
  const mapped = T.vmap((u: Tensor) => {
    v = u;
    return g(T.tensor([1, 2]));
  });
  for (const [a, b] of [[1, 2], [5, 6]]) {
    sameBits(
      mapped(T.tensor([[a, b], [b, a]])) as Tensor,
      T.tensor([[a, 2 * b], [b, 2 * a]]),
      "vmap",
    );
  }
  let u: Tensor = T.tensor(0);
  const h = T.jit((x: Tensor) => T.mul(x, u));
  const oj = T.jit((y: Tensor) => {
    u = y;
    return h(T.tensor([1, 2]));
  });
  // (a donated argument too: the results are the vmap's tracers)
  const gd = T.jit((x: Tensor) => T.mul(x, v), { donateArgnums: 0 });
  sameBits(
    T.vmap((w: Tensor) => {
      v = w;
      return gd(T.tensor([1, 2]));
    })(T.tensor([[1, 2], [3, 4]])) as Tensor,
    T.tensor([[1, 4], [3, 8]]),
    "vmap, donated",
  );
  sameBits(oj(T.tensor([1, 1])), T.tensor([1, 2]), "outer jit, traced");
  sameBits(oj(T.tensor([2, 3])), T.tensor([2, 6]), "outer jit, replayed");
  assert.equal(oj.traceCount(), 1);
});

Deno.test("checkpoint: a function closing over a traced value is an error naming it, not a lost derivative", () => {
  const x = T.tensor([1, 2]), w = T.tensor([5, 6]);
  const h = (a: Tensor, b: Tensor) =>
    T.sum(T.checkpoint((v: Tensor) => T.mul(v, b))(a));
  const closure = /checkpoint: .*traced value that is not one of its arguments/;
  assert.throws(() => T.grad(h, { argnums: 1 })(x, w), closure);
  assert.throws(
    () => T.jvp((b: Tensor) => h(x, b), [w], [T.tensor([1, 1])]),
    closure,
  );
  assert.throws(() => T.jit(h)(x, w), closure);
  assert.throws(
    () => T.vmap(h)(T.tensor([[1, 2], [3, 4]]), T.tensor([[5, 6], [7, 8]])),
    closure,
  );
  // a closure over values (not traced) is fine, and so are arguments
  sameBits(T.grad(h)(x, w) as Tensor, w, "grad wrt the argument");
});

Deno.test("checkpoint: a block given a random key (dropout) is the block's own, eager, differentiated, vmapped and jitted", () => {
  const block = (v: Tensor, k: T.Key) =>
    T.dropout(T.sin(v), { p: 0.5, key: k, training: true });
  const cp = T.checkpoint(block);
  const x = T.tensor([1, 2, 3, 4, 5, 6]);
  const loss = (f: typeof block) => (v: Tensor, k: T.Key) => T.sum(f(v, k));
  const step = T.jit((v: Tensor, k: T.Key) => T.grad(loss(cp))(v, k));
  for (let i = 0; i < 3; i++) {
    const k = random.key(i);
    sameBits(cp(x, k), block(x, k), `forward ${i}`);
    const g = T.grad(loss(block))(x, k) as Tensor;
    sameBits(T.grad(loss(cp))(x, k) as Tensor, g, `grad ${i}`);
    sameBits(step(x, k) as Tensor, g, `jit(grad) ${i}`);
  }
  assert.equal(step.traceCount(), 1);
  const ks = random.split(random.key(3), 2);
  const xs = T.tensor([[1, 2, 3], [4, 5, 6]]);
  sameBits(
    T.jit(T.vmap(cp))(xs, ks) as Tensor,
    T.vmap(block)(xs, ks) as Tensor,
    "jit(vmap)",
  );
});

Deno.test("customVjp and customJvp: f closing over a traced value is an error naming them, not a lost derivative", () => {
  const h = (x: Tensor, w: Tensor) => {
    const f = T.customVjp(
      function scaled(v: Tensor) {
        return T.mul(T.sin(v), w);
      },
      (v: Tensor) => [T.mul(T.sin(v), w), v] as const,
      (v: Tensor, g: Tensor) => [T.mul(T.mul(T.cos(v), w), g)] as [Tensor],
    );
    return T.sum(f(x));
  };
  const x = T.tensor([1, 2]), w = T.tensor([5, 6]);
  const closed =
    /customVjp: f used a traced value that is not one of its arguments/;
  // (grad with respect to w gave zeros, vmap a wrong shape, jit an error
  // about an op's result)
  assert.throws(() => T.grad(h, { argnums: 1 })(x, w), closed);
  assert.throws(() => T.vmap(h)(T.stack([x]), T.stack([w])), closed);
  assert.throws(() => T.jit(h)(x, w), closed);
  // w not traced: the rule's own derivative, and the value
  sameBits(
    T.grad(h)(x, w) as Tensor,
    T.mul(T.cos(x), w),
    "grad with respect to x",
  );
  sameBits(h(x, w), T.sum(T.mul(T.sin(x), w)), "value");
  const k = (v: Tensor) =>
    T.sum(
      T.customJvp(
        (u: Tensor) => T.mul(u, v),
        ([u]: Tensor[], [t]: Tensor[]) =>
          [T.mul(u, v), T.mul(t, v)] as [Tensor, Tensor],
      )(x),
    );
  assert.throws(
    () => T.grad(k)(w),
    /customJvp: f used a traced value that is not one of its arguments/,
  );
});
