/**
 * Recurrent and scan training steps, eager and under `jit`, side by side:
 * an LSTM over 28 steps (MNIST read row by row: 28 features, hidden 64,
 * batch 64) with a linear head, loss, gradient and SGD update; and the
 * gradient of a 200-turn `scan` over [200, 64, 64] (the turns' slices of
 * xs summed into one gradient in one pass); and the gradient of an LSTM
 * over 800 steps, eager and jitted (a plan that keeps thousands of results
 * for its backward pass). float32.
 *
 *   deno bench --config bench/deno.json --allow-read bench/rnn_bench.ts
 *
 * @module
 */
import {
  add,
  crossEntropy,
  grad,
  jit,
  mul,
  nn,
  random,
  reshape,
  scan,
  slice,
  sub,
  sum,
  tanh,
  type Tensor,
  treeMap,
  zeros,
} from "../mod.ts";

const lstm = nn.lstm({ inputSize: 28, hiddenSize: 64, batchFirst: true });
const head = nn.linear({ inFeatures: 64, outFeatures: 10 });
const [k1, k2, k3, k4] = random.split(random.key(0), 4);
let params = { rnn: lstm.init(k1), head: head.init(k2) };
const x = random.normal(k3, [64, 28, 28]);
const y = random.randint(k4, [64], 0, 10);
const loss = (p: typeof params) => {
  const h = lstm.apply(p.rnn, x);
  const last = reshape(slice(h, [0, 27, 0], [64, 28, 64]), [64, 64]);
  return crossEntropy(head.apply(p.head, last), y);
};
const step = (p: typeof params) =>
  treeMap((w: Tensor, g: Tensor) => sub(w, mul(g, 0.01)), p, grad(loss)(p));
const jitted = jit(step);

Deno.bench("LSTM 28 steps training step, eager", { group: "lstm" }, () => {
  params = step(params);
});
Deno.bench("LSTM 28 steps training step, jit", {
  group: "lstm",
  baseline: true,
}, () => {
  params = jitted(params);
});

const xs = random.normal(random.key(1), [200, 64, 64]);
const scanned = (v: Tensor) =>
  sum(
    scan(
      (c: Tensor, xi: Tensor) => {
        const n = add(c, tanh(xi));
        return [n, n] as const;
      },
      zeros([64, 64]),
      v,
    )[0],
  );
const scanGrad = grad(scanned);
Deno.bench("gradient of a 200-turn scan over [200,64,64]", () => {
  scanGrad(xs);
});

// a long sequence: the backward keeps each step's results (thousands of
// blocks the jit replay's allocator steps over)
const long = nn.lstm({ inputSize: 16, hiddenSize: 64 });
const longParams = long.init(random.key(2));
const longX = random.normal(random.key(3), [800, 16, 16]);
const longGrad = grad((p: typeof longParams) => sum(long.apply(p, longX)));
const longGradJit = jit(longGrad);
const group = "gradient of an LSTM over 800 steps (hidden 64, batch 16)";
Deno.bench("eager", { group, baseline: true }, () => {
  void longGrad(longParams).weight_hh_l0.data;
});
Deno.bench("jit", { group }, () => {
  void longGradJit(longParams).weight_hh_l0.data;
});
