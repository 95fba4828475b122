/**
 * The linalg kernels (unblocked float64 loops in TypeScript) on square
 * matrices of 64 and 200: solve and inv (LU), cholesky, qr, eigh and svd,
 * each call one public op with its factorization computed once. QR of a
 * float32 200×200 matrix also against tfjs's `tf.linalg.qr` (its
 * Householder QR in tensor ops) on its wasm backend, the one linalg peer it
 * has.
 *
 *   deno bench --config bench/deno.json --allow-read --allow-env bench/linalg_bench.ts
 *
 * @module
 */
import { add, eye, linalg, matmul, random, transpose } from "../mod.ts";
import { tf, useBackend } from "./_tf.ts";

await useBackend("wasm");
const f64 = { dtype: "float64" as const };

for (const n of [64, 200]) {
  const x = random.normal(random.key(n), [n, n], f64);
  const a = add(x, eye(n, f64)); // (invertible almost surely)
  const spd = add(matmul(x, transpose(x)), eye(n, f64));
  const sym = add(x, transpose(x));
  const b = random.normal(random.key(n + 1), [n, 4], f64);
  const group = `linalg ${n}x${n} float64`;
  Deno.bench({
    name: "solve (4 columns)",
    group,
    baseline: true,
    fn: () => void linalg.solve(a, b),
  });
  Deno.bench({ name: "inv", group, fn: () => void linalg.inv(a) });
  Deno.bench({ name: "cholesky", group, fn: () => void linalg.cholesky(spd) });
  Deno.bench({ name: "qr", group, fn: () => void linalg.qr(a) });
  Deno.bench({ name: "eigh", group, fn: () => void linalg.eigh(sym) });
  Deno.bench({ name: "svd", group, fn: () => void linalg.svd(a) });
}

const x32 = random.normal(random.key(7), [200, 200]);
const tx = tf.tensor(x32.data, [200, 200]);
const group = "qr 200x200 float32";
Deno.bench({
  name: "tfjs-wasm tf.linalg.qr",
  group,
  baseline: true,
  fn: () => {
    const [q, r] = tf.linalg.qr(tx);
    q.dataSync();
    r.dataSync();
    q.dispose();
    r.dispose();
  },
});
Deno.bench({ name: "ours", group, fn: () => void linalg.qr(x32) });
