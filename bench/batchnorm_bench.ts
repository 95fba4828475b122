/**
 * A batchNorm2d layer's forward + backward in training mode (batch
 * statistics, running statistics updated) next to what a conv layer does
 * after its convolution on the same activation: the bias add and a relu,
 * forward + backward. Both take the gradient for the activation and for the
 * layer's parameters; float32, inputs and cotangents made outside the timed
 * part. Then a whole training step (forward, backward, SGD update) of the
 * LeNet-5 tutorial's network, batch 64, with and without a batchNorm2d after
 * each convolution.
 *
 *   deno bench bench/batchnorm_bench.ts
 *
 * @module
 */
import {
  add,
  crossEntropy,
  mul,
  nn,
  random,
  relu,
  reshape,
  sub,
  type Tensor,
  treeMap,
  valueAndGrad,
  vjp,
} from "../mod.ts";

const shapes = [[64, 16, 10, 10], [64, 6, 28, 28]];

for (const shape of shapes) {
  const c = shape[1];
  const [kx, kb, kg] = random.split(random.key(1), 3);
  const x = random.normal(kx, shape), g = random.normal(kg, shape);
  const bias = random.normal(kb, [c]);
  const bn = nn.batchNorm2d({ numFeatures: c });
  const params = bn.init(random.key(0)), state = bn.initState();
  const group = `forward+backward x [${shape}]`;
  Deno.bench({
    name: "bias+relu",
    group,
    baseline: true,
    fn: () => {
      const [, back] = vjp(
        (a: Tensor, b: Tensor) => relu(add(a, reshape(b, [1, c, 1, 1]))),
        x,
        bias,
      );
      back(g);
    },
  });
  Deno.bench({
    name: "batchNorm2d (training)",
    group,
    fn: () => {
      const [, back] = vjp(
        (a: Tensor, p: typeof params) =>
          bn.applyWithState(p, state, a, { training: true }).y,
        x,
        params,
      );
      back(g);
    },
  });
}

/** LeNet-5 as a sequential, with a batchNorm2d after each convolution or not. */
function lenet(withBatchNorm: boolean) {
  const bn = (c: number) =>
    withBatchNorm ? [nn.batchNorm2d({ numFeatures: c })] : [];
  return nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 6, kernelSize: 5 }),
    ...bn(6),
    nn.relu,
    nn.maxPool2d({ kernelSize: 2 }),
    nn.conv2d({ inChannels: 6, outChannels: 16, kernelSize: 5 }),
    ...bn(16),
    nn.relu,
    nn.maxPool2d({ kernelSize: 2 }),
    nn.flatten(),
    nn.linear({ inFeatures: 400, outFeatures: 120 }),
    nn.relu,
    nn.linear({ inFeatures: 120, outFeatures: 84 }),
    nn.relu,
    nn.linear({ inFeatures: 84, outFeatures: 10 }),
  );
}

{
  const x = random.normal(random.key(2), [64, 1, 32, 32]);
  const labels = random.randint(random.key(3), [64], 0, 10);
  for (const withBatchNorm of [false, true]) {
    const net = lenet(withBatchNorm);
    const params = net.init(random.key(0)), state = net.initState();
    const loss = (p: typeof params, s: typeof state) => {
      const r = net.applyWithState(p, s, x, { training: true });
      return [crossEntropy(r.y, labels), r.state] as [Tensor, typeof state];
    };
    const step = valueAndGrad(loss, { hasAux: true });
    Deno.bench({
      name: withBatchNorm ? "with batchNorm2d" : "without batchNorm2d",
      group: "LeNet-5 training step, batch 64",
      baseline: !withBatchNorm,
      fn: () => {
        const [, grads] = step(params, state);
        treeMap((w: Tensor, g: Tensor) => sub(w, mul(g, 0.01)), params, grads);
      },
    });
  }
}
