/**
 * conv2d forward, and forward + backward (the input and weight VJPs), and
 * maxPool2d, against tfjs. tfjs-backend-wasm has no Conv2DBackpropFilter
 * kernel, so the backward peer is tfjs-backend-cpu. tfjs is NHWC: its inputs
 * are the same numbers transposed, made outside the timed part.
 *
 * @module
 */
import {
  conv2d,
  maxPool2d,
  random,
  type Tensor,
  transpose,
  vjp,
} from "../mod.ts";
import { tf, useBackend } from "./_tf.ts";

await useBackend("wasm");

const shapes = [
  { x: [64, 6, 14, 14], w: [16, 6, 5, 5], padding: 0 },
  { x: [64, 3, 32, 32], w: [16, 3, 3, 3], padding: 1 },
];

/** tfjs tensors in NHWC / HWIO for our NCHW / OIHW tensors. */
function toTf(x: Tensor, w: Tensor) {
  return {
    x: tf.tensor(transpose(x, [0, 2, 3, 1]).data, [
      x.shape[0],
      x.shape[2],
      x.shape[3],
      x.shape[1],
    ]) as tf.Tensor4D,
    w: tf.tensor(transpose(w, [2, 3, 1, 0]).data, [
      w.shape[2],
      w.shape[3],
      w.shape[1],
      w.shape[0],
    ]) as tf.Tensor4D,
  };
}

for (const s of shapes) {
  const [kx, kw, kb] = random.split(random.key(1), 3);
  const x = random.normal(kx, s.x), w = random.normal(kw, s.w);
  const b = random.normal(kb, [s.w[0]]);
  const tag = `x [${s.x}] w [${s.w}] padding ${s.padding}`;
  const pad = s.padding;
  Deno.bench({
    name: "tfjs-wasm",
    group: `conv2d forward ${tag}`,
    baseline: true,
    fn: async (t) => {
      await useBackend("wasm");
      const p = toTf(x, w);
      t.start();
      const y = tf.conv2d(
        p.x,
        p.w,
        1,
        pad === 0 ? "valid" : [[0, 0], [pad, pad], [pad, pad], [0, 0]],
      );
      y.dataSync();
      t.end();
      tf.dispose([p.x, p.w, y]);
    },
  });
  Deno.bench({
    name: "ours",
    group: `conv2d forward ${tag}`,
    fn: () => {
      conv2d(x, w, b, { padding: pad });
    },
  });
  const g = conv2d(x, w, b, { padding: pad });
  Deno.bench({
    name: "tfjs-cpu",
    group: `conv2d forward+backward ${tag}`,
    baseline: true,
    n: 3,
    warmup: 1,
    fn: async (t) => {
      await useBackend("cpu");
      const p = toTf(x, w);
      const gy = tf.onesLike(
        tf.conv2d(
          p.x,
          p.w,
          1,
          pad === 0 ? "valid" : [[0, 0], [pad, pad], [pad, pad], [0, 0]],
        ),
      );
      t.start();
      const grads = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
        tf.conv2d(
          a as tf.Tensor4D,
          f as tf.Tensor4D,
          1,
          pad === 0 ? "valid" : [[0, 0], [pad, pad], [pad, pad], [0, 0]],
        )
      )([p.x, p.w], gy);
      grads.forEach((t) => t.dataSync());
      t.end();
      tf.dispose([p.x, p.w, gy, ...grads]);
    },
  });
  Deno.bench({
    name: "ours",
    group: `conv2d forward+backward ${tag}`,
    fn: () => {
      const [, back] = vjp(
        (a: Tensor, f: Tensor) => conv2d(a, f, b, { padding: pad }),
        x,
        w,
      );
      back(g);
    },
  });
}

{
  const x = random.normal(random.key(2), [64, 6, 28, 28]);
  const tx = tf.tensor(transpose(x, [0, 2, 3, 1]).data, [
    64,
    28,
    28,
    6,
  ]) as tf.Tensor4D;
  Deno.bench({
    name: "tfjs-wasm",
    group: "maxPool2d 2x2 x [64,6,28,28]",
    baseline: true,
    fn: async (t) => {
      await useBackend("wasm");
      t.start();
      const y = tf.maxPool(tx, 2, 2, "valid");
      y.dataSync();
      t.end();
      y.dispose();
    },
  });
  Deno.bench({
    name: "ours",
    group: "maxPool2d 2x2 x [64,6,28,28]",
    fn: () => {
      maxPool2d(x, { kernelSize: 2 });
    },
  });
  const g = maxPool2d(x, { kernelSize: 2 });
  Deno.bench({
    name: "ours forward+backward",
    group: "maxPool2d 2x2 x [64,6,28,28]",
    fn: () => {
      const [, back] = vjp((a: Tensor) => maxPool2d(a, { kernelSize: 2 }), x);
      back(g);
    },
  });
}
