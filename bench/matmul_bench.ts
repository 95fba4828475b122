/**
 * matmul, float32 and float64: this library (all cores, and one thread)
 * against tfjs-backend-wasm in the same group. GFLOP/s = 2n³ / time.
 *
 * @module
 */
import { matmul, random, type Tensor } from "../mod.ts";
import { runtime } from "../ops/kernels/wasm/runtime.ts";
import { tf, useBackend } from "./_tf.ts";

await useBackend("wasm");
const threads = runtime().threads;
runtime().waitReady();

for (const n of [256, 512, 1024]) {
  const [ka, kb] = random.split(random.key(n));
  const a = random.normal(ka, [n, n]), b = random.normal(kb, [n, n]);
  const group = `matmul ${n}x${n} float32`;
  Deno.bench({
    name: `tfjs-wasm ${n}`,
    group,
    baseline: true,
    fn: (t) => {
      const ta = tf.tensor(a.data, [n, n]), tb = tf.tensor(b.data, [n, n]);
      t.start();
      const c = tf.matMul(ta, tb);
      c.dataSync();
      t.end();
      tf.dispose([ta, tb, c]);
    },
  });
  Deno.bench({
    name: `ours ${n}, ${threads} threads`,
    group,
    fn: () => {
      matmul(a, b);
    },
  });
  Deno.bench({
    name: `ours ${n}, 1 thread`,
    group,
    fn: (t) => {
      runtime().setThreads(1);
      t.start();
      matmul(a, b);
      t.end();
      runtime().setThreads(threads);
    },
  });
  if (n <= 512) {
    const a64 = random.normal(ka, [n, n], { dtype: "float64" });
    const b64 = random.normal(kb, [n, n], { dtype: "float64" });
    Deno.bench({
      name: `ours ${n} float64 (TypeScript)`,
      group: `matmul ${n}x${n} float64`,
      fn: () => {
        matmul(a64, b64) as Tensor;
      },
    });
  }
}
