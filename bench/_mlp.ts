/**
 * The small MLP the vmap and jit benches use: 2 -> 64 -> 64 -> 2 with tanh,
 * weights uniform in [-0.5, 0.5), zero biases, and a batch of 64 inputs and
 * labels, all from fixed keys.
 *
 * @module
 */
import { linear, random, tanh, type Tensor, tensor } from "../mod.ts";

const [k1, k2, k3, kx] = random.split(random.key(3), 4);
const w = (k: random.Key, o: number, i: number) =>
  random.uniform(k, [o, i], { minval: -0.5, maxval: 0.5 });

/** The MLP's parameters. */
export const mlpParams = {
  w1: w(k1, 64, 2),
  b1: tensor(new Float32Array(64)),
  w2: w(k2, 64, 64),
  b2: tensor(new Float32Array(64)),
  w3: w(k3, 2, 64),
  b3: tensor(new Float32Array(2)),
};

/** The MLP's forward pass on a batch `[N, 2]`. */
export function mlpApply(p: typeof mlpParams, x: Tensor): Tensor {
  return linear(
    tanh(linear(tanh(linear(x, p.w1, p.b1)), p.w2, p.b2)),
    p.w3,
    p.b3,
  );
}

/** A batch of 64 inputs `[64, 2]` and int32 labels in {0, 1}. */
export const mlpBatch = {
  x: random.normal(kx, [64, 2]),
  y: random.randint(random.key(4), [64], 0, 2),
};
