/**
 * The peer for the benchmarks: TensorFlow.js 4.22 with its WebAssembly
 * backend (and the plain-JavaScript CPU backend where it finishes in
 * reasonable time). Importing `@tensorflow/tfjs` registers the gradient
 * kernels that `tf.grad` needs.
 *
 * @module
 */
// Pinned here rather than in deno.json: only the benchmarks use tfjs.
// deno-lint-ignore no-import-prefix
import * as tf from "npm:@tensorflow/tfjs@4.22.0";
// deno-lint-ignore no-import-prefix
import "npm:@tensorflow/tfjs-backend-wasm@4.22.0";

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
