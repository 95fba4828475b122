/**
 * Per-example gradients at batch 64: `vmap(grad(loss))` next to one batched
 * `grad` of the mean loss (the floor: the same arithmetic, one pass) and next
 * to a loop of 64 `grad` calls, for the LeNet-5 tutorial's network on 32x32
 * digits and for a 3-layer MLP (2 -> 64 -> 64 -> 2, tanh). float32; inputs
 * made outside the timed part.
 *
 *   deno bench --allow-read bench/vmap_bench.ts
 *
 * @module
 */
import {
  crossEntropy,
  expandDims,
  grad,
  nn,
  random,
  slice,
  squeeze,
  type Tensor,
  treeLeaves,
  vmap,
} from "../mod.ts";
import { mlpApply, mlpBatch, mlpParams } from "./_mlp.ts";

const batch = 64;

function cases(
  name: string,
  apply: (p: never, x: Tensor) => Tensor,
  params: unknown,
  x: Tensor,
  y: Tensor,
) {
  const one = (p: never, xi: Tensor, yi: Tensor) =>
    crossEntropy(apply(p, expandDims(xi, 0)), expandDims(yi, 0));
  const mean = (p: never) => crossEntropy(apply(p, x), y);
  const perExample = vmap(grad(one), { inAxes: [null, 0, 0] });
  const examples = [...Array(batch).keys()].map((k) => [
    squeeze(slice(x, [k], [k + 1]), 0),
    squeeze(slice(y, [k], [k + 1]), 0),
  ]);
  const group = `${name}: per-example gradients, batch ${batch}`;
  const force = (t: unknown) =>
    treeLeaves(t as Tensor).forEach((l: Tensor) => l.data);
  Deno.bench({
    name: `${name} grad of the mean loss (one batched pass)`,
    group,
    baseline: true,
    fn: () => force(grad(mean)(params as never)),
  });
  Deno.bench({
    name: `${name} vmap(grad) per-example`,
    group,
    fn: () => force(perExample(params as never, x, y)),
  });
  Deno.bench({
    name: `${name} loop of ${batch} grad calls`,
    group,
    fn: () =>
      examples.forEach(([xi, yi]) => force(grad(one)(params as never, xi, yi))),
  });
}

// LeNet-5 on 32x32 inputs
{
  const net = nn.lenet5();
  const params = net.init(random.key(0));
  const x = random.normal(random.key(1), [batch, 1, 32, 32]);
  const y = random.randint(random.key(2), [batch], 0, 10);
  cases("LeNet-5", (p, xb) => net.apply(p, xb), params, x, y);
}

// a 3-layer MLP, 2 -> 64 -> 64 -> 2, tanh
cases("MLP", mlpApply as never, mlpParams, mlpBatch.x, mlpBatch.y);
