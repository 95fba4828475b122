/**
 * Results do not depend on the thread count: the main job's LeNet-5 trained
 * for 20 steps with 1, 2, 3 and 4 threads ends with bit-identical parameters.
 * And the workers start for every kind of large work, products included.
 */
import assert from "node:assert/strict";
import { main } from "../examples/lenet.ts";
import {
  data,
  getNumThreads,
  matmul,
  random,
  setNumThreads,
  type Tensor,
} from "../mod.ts";
import {
  runtime,
  setRuntime,
  WasmRuntime,
} from "../ops/kernels/wasm/runtime.ts";

Deno.test({
  name:
    "threads: 20 LeNet-5 steps of the main job give the same bits on 1, 2, 3 and 4 threads",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const before = getNumThreads();
    const dir = await Deno.makeTempDir();
    const leaves: Record<number, Map<string, Uint8Array>> = {};
    try {
      for (const threads of [1, 2, 3, 4]) {
        setNumThreads(threads);
        // the workers take part once started: wait, so every count really runs
        assert.ok(runtime().waitReady(), `workers for ${threads} threads`);
        const path = `${dir}/t${threads}.safetensors`;
        await main([
          "--epochs=1",
          "--limit=1280", // 20 steps of 64
          `--threads=${threads}`,
          `--save=${path}`,
        ]);
        // --save writes a checkpoint: { params, optState, key, epoch }
        const { params } = await data.loadSafetensors(path) as {
          params: Record<string, Record<string, Tensor>>;
        };
        const m = new Map<string, Uint8Array>();
        for (const [layer, p] of Object.entries(params)) {
          for (const [name, t] of Object.entries(p)) {
            m.set(`${layer}.${name}`, new Uint8Array(t.data.buffer.slice(0)));
          }
        }
        leaves[threads] = m;
      }
    } finally {
      setNumThreads(before);
      await Deno.remove(dir, { recursive: true });
    }
    assert.equal(leaves[1].size, 10);
    for (const threads of [2, 3, 4]) {
      for (const [path, bytes] of leaves[1]) {
        const other = leaves[threads].get(path)!;
        const same = other.length === bytes.length &&
          bytes.every((b, i) => b === other[i]);
        assert.ok(same, `${path}: ${threads} threads differ from 1`);
      }
    }
  },
});

Deno.test({
  name:
    "threads: a program of large products alone starts the workers (a product runs as one task until they are ready)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    const rt = new WasmRuntime();
    rt.setThreads(2);
    const prev = setRuntime(rt);
    try {
      const a = random.normal(random.key(0), [128, 128]); // 2^21 multiply-adds
      const t0 = performance.now();
      // (a synchronous loop, as a training loop is: the workers start
      // without the event loop)
      while (rt.readyWorkers() === 0 && performance.now() - t0 < 5000) {
        matmul(a, a);
      }
      assert.equal(rt.readyWorkers(), 1);
    } finally {
      if (prev) setRuntime(prev);
    }
  },
});
