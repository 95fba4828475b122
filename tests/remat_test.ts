/**
 * checkpoint (remat): the values and derivatives of the function itself, bit
 * for bit (first and second order, forward mode, vmap, jit), a second
 * forward pass in the backward pass and not before, trees of arguments,
 * errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import { assertErrors } from "./_helpers.ts";
import { vmapLoops } from "../ops/custom_vjp.ts";

const { nn, random } = T;
const net = nn.sequential(
  nn.conv2d({ inChannels: 1, outChannels: 3, kernelSize: 3 }),
  nn.relu,
  nn.maxPool2d({ kernelSize: 2 }),
  nn.conv2d({ inChannels: 3, outChannels: 2, kernelSize: 2 }),
  nn.tanh,
);
const params = net.init(random.key(0)) as Tree;
const x = random.normal(random.key(1), [4, 1, 9, 9]);
const block = (p: Tree, v: Tensor) => net.apply(p as never, v);

const sameTree = (a: Tree, b: Tree) =>
  T.treeLeaves(a).forEach((l, i) =>
    assert.deepEqual(l.data, T.treeLeaves(b)[i].data, `leaf ${i}`)
  );

Deno.test("checkpoint: a network block's value and gradients (params and input) are the block's own, bit for bit", () => {
  const cp = T.checkpoint(block);
  assert.deepEqual(cp(params, x).data, block(params, x).data);
  const loss = (f: typeof block) => (p: Tree, v: Tensor) =>
    T.sum(T.square(f(p, v)));
  const g = T.grad(loss(block), { argnums: [0, 1] })(params, x);
  const gc = T.grad(loss(cp), { argnums: [0, 1] })(params, x);
  sameTree(gc as Tree, g as Tree);
});

Deno.test("checkpoint: the backward pass runs the function again, the forward pass once", () => {
  let calls = 0;
  const counted = (p: Tree, v: Tensor) => {
    calls++;
    return block(p, v);
  };
  const cp = T.checkpoint(counted);
  const loss = (p: Tree) => T.sum(cp(p, x));
  const [, pullback] = T.vjp(loss, params);
  assert.equal(calls, 1, "the forward pass");
  pullback(T.tensor(1));
  assert.equal(calls, 2, "recomputed in the backward pass");
});

Deno.test("checkpoint: second derivatives, jvp and hessian-vector products match the function's", () => {
  const f = (v: Tensor) => T.sum(T.sin(T.mul(v, T.exp(v))));
  const cf = (v: Tensor) =>
    T.sum(T.checkpoint((u: Tensor) => T.sin(T.mul(u, T.exp(u))))(v));
  const v = T.tensor([0.3, -0.7, 1.1], { dtype: "float64" });
  const second = (g: typeof f) =>
    T.grad((u: Tensor) => T.sum((T.grad(g) as (w: Tensor) => Tensor)(u)))(
      v,
    ) as Tensor;
  assert.deepEqual(second(cf).data, second(f).data);
  const t = T.tensor([1, 2, -1], { dtype: "float64" });
  assert.deepEqual(T.jvp(cf, [v], [t])[1].data, T.jvp(f, [v], [t])[1].data);
  const hvp = (g: typeof f) =>
    T.jvp(T.grad(g) as (u: Tensor) => Tensor, [v], [t])[1];
  assert.deepEqual(hvp(cf).data, hvp(f).data);
});

Deno.test("checkpoint: under vmap (batched, not looped) and jit, the function's bits", () => {
  const cp = T.checkpoint((v: Tensor) => T.tanh(T.matmul(v, T.transpose(v))));
  const xs = random.normal(random.key(2), [5, 3, 4]);
  const plain = T.vmap((v: Tensor) => T.tanh(T.matmul(v, T.transpose(v))))(xs);
  const loops = vmapLoops();
  assert.deepEqual(T.vmap(cp)(xs).data, plain.data);
  assert.equal(vmapLoops(), loops, "no per-example loop");
  const per = T.vmap(T.grad((v: Tensor) => T.sum(cp(v))))(xs);
  const perPlain = T.vmap(
    T.grad((v: Tensor) => T.sum(T.tanh(T.matmul(v, T.transpose(v))))),
  )(xs);
  assert.deepEqual(per.data, perPlain.data);
  const step = (p: Tree, v: Tensor) =>
    T.grad((q: Tree) => T.sum(T.checkpoint(block)(q, v)))(p);
  const j = T.jit(step);
  for (let i = 0; i < 3; i++) sameTree(j(params, x), step(params, x));
  assert.equal(j.traceCount(), 1);
});

Deno.test("checkpoint: errors name it", () => {
  assertErrors("checkpoint", [
    [() => T.checkpoint(3 as never), /f must be a function/],
    [
      () => T.checkpoint(((v: Tensor) => [v]) as never)(T.tensor(1)),
      /f must return a Tensor, got an array of length 1/,
    ],
    [() => T.checkpoint((v: Tensor) => v)(3 as never), /argument 0/],
  ]);
  assertErrors("remat", [[() => T.remat(3 as never), /f must be a function/]]);
});

Deno.test("checkpoint and remat take only the function: an options argument (JAX's policy, static_argnums) is an error, not silently dropped", () => {
  for (
    const [name, t] of [["checkpoint", T.checkpoint], [
      "remat",
      T.remat,
    ]] as const
  ) {
    assert.throws(
      () =>
        (t as (...a: unknown[]) => unknown)((x: T.Tensor) => x, { policy: 5 }),
      new RegExp(
        `^Error: ${name}: takes only the function \\(no options\\), got 1 more argument\\(s\\): `,
      ),
    );
  }
});
