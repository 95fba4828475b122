/**
 * Resources of `jit` and the kernels' runtime: the cache key of a large
 * static typed array, a program's fused loop compiled once for every
 * trace, and a kernel that fails on the worker threads.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { flattenArgs, signature } from "../ops/jit.ts";
import { runtime } from "../ops/kernels/wasm/runtime.ts";
import { fusedLoopsCompiled } from "../ops/fusion.ts";

const keyOf = (args: unknown[], statics: number[]) =>
  signature("jit", args, statics, flattenArgs("jit", args, statics).flat);

Deno.test("jit: a static typed array's key takes about its bytes (was ~19 characters per float32, kept by each plan)", () => {
  const n = 1 << 20;
  const s = new Float32Array(n).map((_, i) => Math.sin(i) * 1e-7);
  const key = keyOf([T.ones([2]), s], [1]);
  // two bytes a character (a 1M-element float32 array: 2M characters,
  // not the 18M of its numbers' decimal text)
  assert.ok(
    key.length <= s.byteLength / 2 + 200,
    `key of ${key.length} characters`,
  );
  assert.equal(keyOf([T.ones([2]), s.slice()], [1]), key); // by contents
});

Deno.test("jit: static typed arrays key plans by type and contents (-0 and 0 differ, odd byte counts, views)", () => {
  const x = T.ones([2]);
  const keys = [
    new Float32Array([1, 2]),
    new Float32Array([1, -0]),
    new Float32Array([1, 0]),
    new Float64Array([1, 2]),
    new Int32Array([1, 2]),
    new Uint8Array([1, 2, 3]),
    new Uint8Array([1, 2, 3, 0]),
    new Uint8Array([1, 2]),
    new Uint8Array([1, 2, 3, 4]).subarray(1, 4),
    new DataView(new Uint8Array([1, 2, 3]).buffer),
    new BigInt64Array([1n]),
    [new Uint8Array([1]), new Uint8Array([2, 3])],
    [new Uint8Array([1, 2]), new Uint8Array([3])],
  ].map((v) => keyOf([x, v], [1]));
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(
    keyOf([x, new Uint8Array([9, 1, 2, 3]).subarray(1)], [1]),
    keys[5],
  );

  let calls = 0;
  const f = T.jit((t: Tensor, s: Float32Array) => {
    calls++;
    return T.mul(t, s[0] + s[1]);
  }, { staticArgnums: 1 });
  const s = new Float32Array([1, 2]);
  assert.deepEqual(T.toArray(f(x, s)), [3, 3]);
  assert.deepEqual(T.toArray(f(x, new Float32Array([1, 2]))), [3, 3]);
  assert.equal(f.traceCount(), 1);
  s[1] = 5; // changed contents: a plan of their own
  assert.deepEqual(T.toArray(f(x, s)), [6, 6]);
  assert.equal(f.traceCount(), 2);
  assert.equal(calls, 2);
});

Deno.test("kernels: a kernel that fails on the worker threads is an error, and the next calls run", () => {
  const rt = runtime(), before = rt.threads;
  try {
    rt.setThreads(2);
    rt.waitReady();
    const past = rt.memory.buffer.byteLength;
    // addresses past the memory's end: a trap in every task
    const tasks = Array.from(
      { length: 4 },
      (_, i) => [past + 4096 * i, 1 << 20, 64],
    );
    for (let k = 0; k < 3; k++) assert.throws(() => rt.parallel("relu", tasks));
    const y = T.relu(T.full([1 << 18], -2));
    assert.equal(T.item(T.sum(y)), 0);
    assert.equal(T.item(T.sum(T.relu(T.full([1 << 18], 2)))), 2 * (1 << 18));
  } finally {
    rt.setThreads(before);
  }
});

Deno.test("jit: retracing a program reuses its compiled fused loop (each new one's source was kept by V8 for good, ~1.7 KB a trace)", () => {
  const w = T.tensor([1, 2, 3]), x = T.tensor([1, -2, 3]);
  const g = (a: T.Tensor, b: T.Tensor) => T.sum(T.relu(T.mul(T.add(a, w), b)));
  T.jit(g)(x, x); // the program compiled once
  const before = fusedLoopsCompiled();
  for (let i = 0; i < 50; i++) T.jit(g)(x, x); // fresh jitted functions: 50 traces
  assert.equal(fusedLoopsCompiled() - before, 0);
  // another program is a loop of its own
  T.jit((a: T.Tensor, b: T.Tensor) => T.sum(T.mul(T.sub(a, w), b)))(x, x);
  assert.equal(fusedLoopsCompiled() - before, 1);
});
