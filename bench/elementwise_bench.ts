/**
 * Elementwise ops and per-op overhead: an add of two tiny tensors (the fixed
 * cost of one op: argument checks, dispatch, allocation), the same under
 * `grad` (the tracing cost), and relu, relu's VJP (with its forward), add,
 * sub, mul, div and sum on a LeNet-sized activation, against
 * tfjs-backend-wasm.
 *
 * @module
 */
import {
  add,
  div,
  grad,
  mul,
  random,
  relu,
  sub,
  sum,
  type Tensor,
  tensor,
  vjp,
} from "../mod.ts";
import { tf, useBackend } from "./_tf.ts";

await useBackend("wasm");

const a = tensor([1, 2, 3, 4]), b = tensor([5, 6, 7, 8]);
const ta = tf.tensor([1, 2, 3, 4]), tb = tf.tensor([5, 6, 7, 8]);
Deno.bench({
  name: "tfjs-wasm",
  group: "add [4] + [4] (per-op overhead)",
  baseline: true,
  fn: () => {
    const c = tf.add(ta, tb);
    c.dataSync();
    c.dispose();
  },
});
Deno.bench({
  name: "ours",
  group: "add [4] + [4] (per-op overhead)",
  fn: () => {
    add(a, b);
  },
});
const f = (x: Tensor) => sum(mul(add(x, b), x)); // 3 ops
const df = grad(f);
Deno.bench({
  name: "ours: f = sum((x + b) · x), 3 ops",
  group: "tracing cost of grad on tiny tensors",
  baseline: true,
  fn: () => {
    f(a);
  },
});
Deno.bench({
  name: "ours: grad(f)",
  group: "tracing cost of grad on tiny tensors",
  fn: () => {
    df(a);
  },
});

const x = random.normal(random.key(0), [64, 6, 28, 28]);
const y = random.normal(random.key(1), [64, 6, 28, 28]);
const tx = tf.tensor(x.data, [64, 6, 28, 28]),
  ty = tf.tensor(y.data, [64, 6, 28, 28]);
const reluGrad = tf.grad((v: typeof tx) => tf.relu(v));
const large = [
  ["relu", () => relu(x), () => tf.relu(tx)],
  ["add", () => add(x, y), () => tf.add(tx, ty)],
  ["sub", () => sub(x, y), () => tf.sub(tx, ty)],
  ["mul", () => mul(x, y), () => tf.mul(tx, ty)],
  ["div", () => div(x, y), () => tf.div(tx, ty)],
  [
    "relu's forward and VJP",
    () => vjp(relu, x)[1](y)[0],
    () => reluGrad(tx, ty),
  ],
  [
    "sum over [0,2,3]",
    () => sum(x, { axis: [0, 2, 3] }),
    () => tf.sum(tx, [0, 2, 3]),
  ],
] as const;
// every op on both sides a few hundred times first: the first group to
// run on large arrays otherwise pays the process's warm-up (the allocator
// growing its heaps, the engine's tiering), and the groups measure it in
// turn rather than the ops
for (const [, ours, theirs] of large) {
  for (let i = 0; i < 200; i++) {
    ours();
    const r = theirs();
    r.dataSync();
    r.dispose();
  }
}
for (const [name, ours, theirs] of large) {
  const group = `${name} [64,6,28,28] float32`;
  Deno.bench({
    name: "tfjs-wasm",
    group,
    baseline: true,
    fn: () => {
      const r = theirs();
      r.dataSync();
      r.dispose();
    },
  });
  Deno.bench({ name: "ours", group, fn: () => void ours() });
}
