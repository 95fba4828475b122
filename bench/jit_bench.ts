/**
 * A training step (loss, gradient, SGD update) eager and under `jit`, side
 * by side: the LeNet-5 tutorial's network at batch 64 on 32x32 inputs, and a
 * 3-layer MLP (2 -> 64 -> 64 -> 2, tanh) at batch 64; and an optimizer's
 * update alone (SGD with Nesterov momentum and weight decay, Adam) over
 * LeNet-5's parameters, which `jit` runs as one WebAssembly call; and the
 * gradient of a deep chain of tiny layers, where a plan keeps thousands of
 * results for the backward pass (jit's bookkeeping per kept result).
 * float32; inputs made outside the timed part.
 *
 *   deno bench --config bench/deno.json --allow-read bench/jit_bench.ts
 *
 * @module
 */
import {
  crossEntropy,
  grad,
  jit,
  matmul,
  mul,
  nn,
  optim,
  random,
  sub,
  sum,
  tanh,
  type Tensor,
  type Tree,
  treeLeaves,
  treeMap,
  valueAndGrad,
} from "../mod.ts";
import { mlpApply, mlpBatch, mlpParams } from "./_mlp.ts";

function cases<P extends Tree>(
  name: string,
  apply: (p: P, x: Tensor) => Tensor,
  params: P,
  x: Tensor,
  y: Tensor,
) {
  const step = (p: P, xb: Tensor, yb: Tensor) => {
    const [loss, g] = valueAndGrad((q: P) => crossEntropy(apply(q, xb), yb))(p);
    return {
      loss,
      params: treeMap((w: Tensor, gw: Tensor) => sub(w, mul(gw, 0.01)), p, g),
    };
  };
  sideBySide(`${name}: training step, batch 64`, name, step, [params, x, y]);
}

/** `f` eager (the baseline) and under `jit` on `args`, in one group. */
function sideBySide<A extends unknown[]>(
  group: string,
  name: string,
  f: (...args: A) => { params: Tree },
  args: A,
) {
  const jitted = jit(f);
  const force = (r: { params: Tree }) =>
    treeLeaves(r.params).forEach((l) => l.data);
  Deno.bench({
    name: `${name} eager`,
    group,
    baseline: true,
    fn: () => force(f(...args)),
  });
  Deno.bench({ name: `${name} jit`, group, fn: () => force(jitted(...args)) });
}

{
  const net = nn.lenet5();
  cases(
    "LeNet-5",
    (p, xb) => net.apply(p, xb),
    net.init(random.key(0)),
    random.normal(random.key(1), [64, 1, 32, 32]),
    random.randint(random.key(2), [64], 0, 10),
  );
}
cases("MLP", mlpApply, mlpParams, mlpBatch.x, mlpBatch.y);

{
  const params = nn.lenet5().init(random.key(0));
  const grads = treeMap((w: Tensor) => mul(w, 0.5), params);
  for (
    const [name, opt] of [
      [
        "SGD, Nesterov momentum, weight decay",
        optim.sgd({
          lr: 0.05,
          momentum: 0.9,
          nesterov: true,
          weightDecay: 5e-4,
        }),
      ],
      ["Adam", optim.adam({ lr: 1e-3 })],
    ] as const
  ) {
    const update = (g: Tree, s: Tree, p: Tree) => {
      const r = opt.update(g as never, s as never, p as never);
      return { params: optim.applyUpdates(p, r.updates), state: r.state };
    };
    sideBySide(`${name}: the update of LeNet-5's params`, name, update, [
      grads,
      opt.init(params),
      params,
    ]);
  }
}

{
  const w = random.normal(random.key(5), [8, 8]);
  const x = random.normal(random.key(6), [4, 8]);
  const deep = (v: Tensor) => {
    for (let i = 0; i < 2000; i++) v = tanh(matmul(v, w));
    return sum(v);
  };
  const g = grad(deep), jg = jit(g);
  const group = "gradient of a 2,000-layer chain tanh(x W), W [8,8], x [4,8]";
  Deno.bench({
    name: "eager",
    group,
    baseline: true,
    fn: () => void g(x).data,
  });
  Deno.bench({ name: "jit", group, fn: () => void jg(x).data });
}
