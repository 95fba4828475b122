/**
 * The peer for the benchmarks: TensorFlow.js 4.22 with its WebAssembly
 * backend (and the plain-JavaScript CPU backend where it finishes in
 * reasonable time). Importing `@tensorflow/tfjs` registers the gradient
 * kernels that `tf.grad` needs.
 *
 * @module
 */
// Pinned in bench/deno.json (its own config and lockfile, used by
// `deno task bench`), so that tfjs stays out of the library's deno.lock.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

export { tf };

/** Switches tfjs to `backend` ("wasm" or "cpu"), waiting for it to load. */
export async function useBackend(backend: "wasm" | "cpu"): Promise<void> {
  if (tf.getBackend() !== backend) {
    if (!(await tf.setBackend(backend))) {
      throw new Error(`tfjs backend ${backend} did not load`);
    }
  }
  await tf.ready();
}
