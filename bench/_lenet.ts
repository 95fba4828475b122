/**
 * LeNet-5 built from the public API only (conv2d, relu, maxPool2d, flatten,
 * linear, crossEntropy, valueAndGrad, treeMap), shared by the benchmarks and
 * by `compare_pytorch.ts`. The same network, batch and update as
 * `compare_pytorch.py`: conv 6@5 / relu / pool 2 / conv 16@5 / relu / pool 2 /
 * fc 400-120-84-10, cross-entropy, full backward, plain SGD.
 *
 * @module
 */
import {
  conv2d,
  crossEntropy,
  flatten,
  linear,
  maxPool2d,
  mul,
  random,
  relu,
  sub,
  type Tensor,
  treeMap,
  valueAndGrad,
} from "../mod.ts";

/** LeNet-5 parameters, PyTorch names. */
export type LeNetParams = {
  conv1: { weight: Tensor; bias: Tensor };
  conv2: { weight: Tensor; bias: Tensor };
  fc1: { weight: Tensor; bias: Tensor };
  fc2: { weight: Tensor; bias: Tensor };
  fc3: { weight: Tensor; bias: Tensor };
};

/** PyTorch-style uniform(-1/√fanIn, 1/√fanIn) initialisation. */
export function initLeNet(
  seed = 0,
  dtype: "float32" | "float64" = "float32",
): LeNetParams {
  const keys = random.split(random.key(seed), 10);
  let k = 0;
  const layer = (wShape: number[], fanIn: number) => {
    const b = 1 / Math.sqrt(fanIn);
    const opts = { minval: -b, maxval: b, dtype };
    return {
      weight: random.uniform(keys[k++], wShape, opts),
      bias: random.uniform(keys[k++], [wShape[0]], opts),
    };
  };
  return {
    conv1: layer([6, 1, 5, 5], 25),
    conv2: layer([16, 6, 5, 5], 150),
    fc1: layer([120, 400], 400),
    fc2: layer([84, 120], 120),
    fc3: layer([10, 84], 84),
  };
}

/** The forward pass: logits [N, 10] for x [N, 1, 32, 32]. */
export function lenet(p: LeNetParams, x: Tensor): Tensor {
  let h = maxPool2d(relu(conv2d(x, p.conv1.weight, p.conv1.bias)), {
    kernelSize: 2,
  });
  h = maxPool2d(relu(conv2d(h, p.conv2.weight, p.conv2.bias)), {
    kernelSize: 2,
  });
  h = flatten(h);
  h = relu(linear(h, p.fc1.weight, p.fc1.bias));
  h = relu(linear(h, p.fc2.weight, p.fc2.bias));
  return linear(h, p.fc3.weight, p.fc3.bias);
}

const lossAndGrad = valueAndGrad(
  (p: LeNetParams, x: Tensor, y: Tensor) => crossEntropy(lenet(p, x), y),
);

/** One SGD training step; returns the new parameters and the loss. */
export function trainStep(
  p: LeNetParams,
  x: Tensor,
  y: Tensor,
  lr = 0.01,
): { params: LeNetParams; loss: Tensor } {
  const [loss, grads] = lossAndGrad(p, x, y);
  const params = treeMap(
    (w: Tensor, g: Tensor) => sub(w, mul(g, lr)),
    p,
    grads,
  ) as unknown as LeNetParams;
  return { params, loss };
}

/** A random batch: x [n, 1, 32, 32] float32 in [0, 1), labels [n] int32. */
export function lenetBatch(
  n: number,
  seed = 1,
  dtype: "float32" | "float64" = "float32",
): { x: Tensor; y: Tensor } {
  const [kx, ky] = random.split(random.key(seed));
  return {
    x: random.uniform(kx, [n, 1, 32, 32], { dtype }),
    y: random.randint(ky, [n], 0, 10),
  };
}
