/**
 * A training step (loss, gradient, SGD update) eager and under `jit`, side
 * by side: the LeNet-5 tutorial's network at batch 64 on 32x32 inputs, and a
 * 3-layer MLP (2 -> 64 -> 64 -> 2, tanh) at batch 64. float32; inputs made
 * outside the timed part.
 *
 *   deno bench --config bench/deno.json --allow-read bench/jit_bench.ts
 *
 * @module
 */
import {
  crossEntropy,
  jit,
  mul,
  nn,
  random,
  sub,
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
  const jitted = jit(step);
  const force = (r: { params: Tree }) =>
    treeLeaves(r.params).forEach((l) => l.data);
  const group = `${name}: training step, batch 64`;
  Deno.bench({
    name: `${name} eager`,
    group,
    baseline: true,
    fn: () => force(step(params, x, y)),
  });
  Deno.bench({
    name: `${name} jit`,
    group,
    fn: () => force(jitted(params, x, y)),
  });
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
