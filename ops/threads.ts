/**
 * How many threads the float32 kernels use, as `torch.set_num_threads`.
 * Results are the same bits for every setting: work whose partial results
 * are summed (a convolution's weight gradient) is split by the shapes alone
 * and summed in one fixed order, and all other work writes disjoint outputs.
 *
 * @module
 */
import { MAX_THREADS, runtime } from "./kernels/wasm/runtime.ts";

/**
 * Sets the number of threads (the main one included) the float32 kernels
 * use: an integer from 1 to 8. The default is the machine's core count, at
 * most 4. Changes speed only, never results.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getNumThreads, setNumThreads } from "../mod.ts";
 *
 * const before = getNumThreads();
 * setNumThreads(1);
 * assert.equal(getNumThreads(), 1);
 * setNumThreads(before);
 * ```
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new Error(
      `setNumThreads: n must be an integer from 1 to ${MAX_THREADS}, got ${
        typeof n === "number" ? n : typeof n
      }`,
    );
  }
  runtime().setThreads(n);
}

/** The number of threads the float32 kernels use (see {@linkcode setNumThreads}). */
export function getNumThreads(): number {
  return runtime().threads;
}
