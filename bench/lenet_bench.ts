/**
 * The LeNet-5 training step (batch 64, full backward, SGD) and inference
 * (batch 256), float32 (and the float64 step), built from the public API
 * (`_lenet.ts`). Peers: tfjs-backend-wasm for inference (it has no
 * Conv2DBackpropFilter kernel, so no training step), tfjs-backend-cpu for the
 * training step (seconds per step: three runs).
 *
 * @module
 */
import {
  initLeNet,
  lenet,
  lenetBatch,
  type LeNetParams,
  trainStep,
} from "./_lenet.ts";
import { tf, useBackend } from "./_tf.ts";
import { runtime } from "../ops/kernels/wasm/runtime.ts";

await useBackend("wasm");
runtime().waitReady();

let params = initLeNet(0);
const batch = lenetBatch(64);
Deno.bench({
  name: "ours float32",
  group: "LeNet-5 training step, batch 64",
  fn: () => {
    params = trainStep(params, batch.x, batch.y).params;
  },
});
let params64 = initLeNet(0, "float64");
const batch64 = lenetBatch(64, 1, "float64");
Deno.bench({
  name: "ours float64",
  group: "LeNet-5 training step, batch 64",
  n: 10,
  warmup: 2,
  fn: () => {
    params64 = trainStep(params64, batch64.x, batch64.y).params;
  },
});

/** The same network in tfjs (NHWC), from the same initial values. */
function tfLeNet(p: LeNetParams) {
  const conv = (w: typeof p.conv1.weight) =>
    tf.variable(
      tf.transpose(tf.tensor(w.data, w.shape as number[]), [2, 3, 1, 0]),
    );
  const fc = (w: typeof p.fc1.weight) =>
    tf.variable(tf.transpose(tf.tensor(w.data, w.shape as number[])));
  const bias = (b: typeof p.fc1.bias) => tf.variable(tf.tensor(b.data));
  const v = {
    c1: conv(p.conv1.weight),
    b1: bias(p.conv1.bias),
    c2: conv(p.conv2.weight),
    b2: bias(p.conv2.bias),
    f1: fc(p.fc1.weight),
    g1: bias(p.fc1.bias),
    f2: fc(p.fc2.weight),
    g2: bias(p.fc2.bias),
    f3: fc(p.fc3.weight),
    g3: bias(p.fc3.bias),
  };
  const forward = (x: tf.Tensor4D) => {
    const block = (h: tf.Tensor4D, w: tf.Variable, b: tf.Variable) =>
      tf.maxPool(
        tf.relu(
          tf.add(tf.conv2d(h, w as tf.Tensor4D, 1, "valid"), b),
        ) as tf.Tensor4D,
        2,
        2,
        "valid",
      );
    const h = block(block(x, v.c1, v.b1), v.c2, v.b2);
    // flatten in NCHW order, as PyTorch and ours
    const f = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [x.shape[0], 400]);
    const h1 = tf.relu(tf.add(tf.matMul(f, v.f1), v.g1));
    const h2 = tf.relu(tf.add(tf.matMul(h1, v.f2), v.g2));
    return tf.add(tf.matMul(h2, v.f3), v.g3);
  };
  return { v, forward };
}

const x256 = lenetBatch(256).x;
const p0 = initLeNet(0);
const net = tfLeNet(p0);
const tx256 = tf.tensor(x256.data, [256, 32, 32, 1]) as tf.Tensor4D; // C = 1: NCHW = NHWC
Deno.bench({
  name: "tfjs-wasm",
  group: "LeNet-5 inference, batch 256",
  baseline: true,
  fn: () => {
    const y = tf.tidy(() => net.forward(tx256));
    y.dataSync();
    y.dispose();
  },
});
Deno.bench({
  name: "ours float32",
  group: "LeNet-5 inference, batch 256",
  fn: () => {
    lenet(p0, x256);
  },
});

Deno.bench({
  name: "tfjs-cpu",
  group: "LeNet-5 training step, batch 64",
  baseline: true,
  n: 3,
  warmup: 1,
  fn: async (t) => {
    await useBackend("cpu");
    const cpuNet = tfLeNet(p0);
    const tx = tf.tensor(batch.x.data, [64, 32, 32, 1]) as tf.Tensor4D;
    const labels = tf.oneHot(
      tf.tensor1d(batch.y.data as Int32Array, "int32"),
      10,
    );
    const opt = tf.train.sgd(0.01);
    t.start();
    opt.minimize(() =>
      tf.losses.softmaxCrossEntropy(labels, cpuNet.forward(tx)) as tf.Scalar
    );
    t.end();
    tf.dispose([tx, labels, ...Object.values(cpuNet.v)]);
    await useBackend("wasm");
  },
});
