/**
 * The threaded runtime under stress: every thread count from 1 to 8 (more
 * than this machine's cores) gives one thread's bits for the kernels that
 * split work (convolutions forward and backward on the direct and im2col
 * paths, pooling and its gradient, unpooling, products split by rows, by
 * columns and by batch entry, elementwise ops past the split threshold,
 * sums of long runs, float64 kernels), with task counts of 1, 2, many and
 * the queue's most; the thread count changed between the replays of a
 * jitted training step; several runtimes alive at once, some of whose
 * workers have not started; and a kernel that fails on one thread.
 */
import assert from "node:assert/strict";
import {
  add,
  avgPool2d,
  conv2d,
  div,
  flatten,
  grad,
  jit,
  linear,
  matmul,
  maxPool2d,
  maxPool2dWithIndices,
  maxUnpool2d,
  mul,
  relu,
  setNumThreads,
  sub,
  sum,
  type Tensor,
  tensor,
  treeMap,
} from "../mod.ts";
import { MAX_TASKS } from "../ops/kernels/wasm/layout.ts";
import { type TaskName, WasmRuntime } from "../ops/kernels/wasm/runtime.ts";
import { values } from "./_helpers.ts";
import { withRuntime } from "./_geometry.ts";

/** A float32 (or float64) tensor of deterministic values. */
function t(
  shape: number[],
  seed: number,
  dtype: "float32" | "float64" = "float32",
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = values(n, seed);
  return tensor(dtype === "float32" ? v : Float64Array.from(v), {
    shape,
    dtype,
  });
}

/** The bytes of a tensor's data (bit comparisons, NaN and -0 included). */
const bytesOf = (x: Tensor): Uint8Array =>
  new Uint8Array(
    x.data.buffer.slice(
      x.data.byteOffset,
      x.data.byteOffset + x.data.byteLength,
    ) as ArrayBuffer,
  );

/** Asserts the same bits; names the first differing byte. */
function assertSameBytes(a: Uint8Array, b: Uint8Array, msg: string): void {
  assert.equal(a.length, b.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${msg}: byte ${i} of ${a.length} differs`);
  }
}

/** Records the task counts `parallel` is given, per kernel. */
function countTasks(rt: WasmRuntime): Map<TaskName, number[]> {
  const seen = new Map<TaskName, number[]>();
  const parallel = rt.parallel.bind(rt);
  rt.parallel = (fn, tasks) => {
    let counts = seen.get(fn);
    if (!counts) seen.set(fn, counts = []);
    counts.push(tasks.length);
    parallel(fn, tasks);
  };
  return seen;
}

/** A convolution's output and its gradients (x, weight, bias) for sum(y · r). */
function convCase(
  xs: number[],
  ws: number[],
  opts: Parameters<typeof conv2d>[3],
  dtype: "float32" | "float64" = "float32",
): Tensor[] {
  const x = t(xs, 1, dtype), w = t(ws, 2, dtype), b = t([ws[0]], 3, dtype);
  const y = conv2d(x, w, b, opts);
  const r = t(y.shape as number[], 4, dtype);
  const f = (x: Tensor, w: Tensor, b: Tensor) =>
    sum(mul(conv2d(x, w, b, opts), r));
  const [gx, gw, gb] = grad(f, { argnums: [0, 1, 2] })(x, w, b) as Tensor[];
  return [y, gx, gw, gb];
}

/** Every kernel family that splits work, each result named. */
function suite(): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const push = (name: string, ts: Tensor[]) =>
    ts.forEach((x, i) => out.push([`${name}[${i}]`, x]));
  // convolutions: direct (no padding, stride 1), im2col (padding, strides,
  // dilation, groups), few images with much work each, one image
  push("conv direct", convCase([37, 4, 18, 18], [12, 4, 3, 3], {}));
  push("conv directC", convCase([37, 4, 12, 12], [12, 4, 3, 3], {}));
  push(
    "conv im2col",
    convCase([33, 6, 13, 11], [8, 3, 3, 3], {
      padding: [1, 2],
      stride: [2, 1],
      dilation: [1, 2],
      groups: 2,
    }),
  );
  push(
    "conv 2 images",
    convCase([2, 8, 24, 24], [16, 8, 3, 3], { padding: 1 }),
  );
  push("conv 1 image", convCase([1, 8, 30, 30], [16, 8, 3, 3], { padding: 1 }));
  push(
    "conv float64",
    convCase([19, 4, 12, 12], [12, 4, 3, 3], {}, "float64"),
  );
  push(
    "conv float64 im2col",
    convCase(
      [24, 4, 12, 12],
      [12, 2, 3, 3],
      { padding: 1, groups: 2 },
      "float64",
    ),
  );
  // pooling: 2x2 (its own kernel), general, average; gradients; unpooling
  const px = t([5, 13, 64, 64], 5);
  const pr = t([5, 13, 32, 32], 6);
  push("maxPool 2x2", [
    maxPool2d(px, { kernelSize: 2 }),
    grad((x: Tensor) => sum(mul(maxPool2d(x, { kernelSize: 2 }), pr)))(px),
    grad((x: Tensor) => sum(mul(maxPool2d(relu(x), { kernelSize: 2 }), pr)))(
      px,
    ),
  ]);
  const gen = { kernelSize: 3, stride: 2, padding: 1, dilation: 1 };
  push("maxPool 3x3", [
    maxPool2d(px, gen),
    grad((x: Tensor) => sum(maxPool2d(x, gen)))(px),
  ]);
  push("avgPool", [avgPool2d(px, { kernelSize: 3, stride: 2, padding: 1 })]);
  const { values: pv, indices } = maxPool2dWithIndices(px, { kernelSize: 2 });
  push("maxUnpool", [pv, indices, maxUnpool2d(pv, indices, { kernelSize: 2 })]);
  push("maxPool float64", [
    maxPool2d(t([3, 11, 64, 64], 7, "float64"), { kernelSize: 2 }),
  ]);
  // products: split by rows, by columns, batched, linear, outer products
  // (one task per batch entry: 63, 63 and 4)
  push("matmul rows", [matmul(t([301, 64], 8), t([64, 40], 9))]);
  push("matmul cols", [matmul(t([40, 64], 10), t([64, 301], 11))]);
  push("matmul batched", [matmul(t([3, 100, 64], 12), t([3, 64, 101], 13))]);
  push("linear", [linear(t([200, 128], 14), t([96, 128], 15), t([96], 16))]);
  push("matmul float64", [
    matmul(t([150, 64], 17, "float64"), t([64, 90], 18, "float64")),
  ]);
  push("outer", [matmul(t([130, 100, 1], 19), t([130, 1, 90], 20))]);
  // elementwise past 2^20 elements (an odd count), float32 and float64
  const n = (1 << 20) + 13;
  const ea = t([n], 21), eb = t([n], 22);
  push("elementwise", [add(ea, eb), mul(ea, eb), div(ea, eb), relu(ea)]);
  push("relu float64", [relu(t([n], 23, "float64"))]);
  // sums of long runs (37 runs of 8000), and of a few long ones
  const s = t([37, 8000], 24);
  push("sum", [sum(s, { axis: 1 }), sum(t([3, 100000], 25), { axis: 1 })]);
  return out;
}

Deno.test({
  name:
    "threads probe: every thread count from 1 to 8 gives one thread's bits, changed between calls",
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    const rt = new WasmRuntime();
    rt.minMacs = 0;
    const tasks = countTasks(rt);
    let want: Map<string, Uint8Array> | null = null;
    for (const threads of [1, 2, 3, 4, 5, 6, 7, 8, 3, 1, 2]) {
      rt.setThreads(threads);
      assert.ok(rt.waitReady(30000), `workers for ${threads} threads`);
      const got = new Map(
        withRuntime(rt, suite, `${threads} threads`).map((
          [k, v],
        ) => [k, bytesOf(v)]),
      );
      if (!want) want = got;
      else {
        for (const [k, v] of want) {
          assertSameBytes(got.get(k)!, v, `${k} on ${threads} threads`);
        }
      }
    }
    const most = (fn: TaskName) => Math.max(0, ...(tasks.get(fn) ?? []));
    // the suite ran 1, 2, many and the most tasks a request holds, and
    // counts that are no multiple of the thread count
    const all = new Set([...tasks.values()].flat());
    for (const c of [1, 2, 3, 5, 7, 26, MAX_TASKS]) {
      assert.ok(all.has(c), `some request had ${c} tasks: ${[...all]}`);
    }
    assert.equal(most("outerF32"), MAX_TASKS);
    assert.ok(most("convForward") >= 16 && most("convDirect") >= 16);
  },
});

/** One thread's bits of the suite, computed once. */
let oneThread: Map<string, Uint8Array> | null = null;
function reference(): Map<string, Uint8Array> {
  if (oneThread) return oneThread;
  const rt = new WasmRuntime();
  rt.minMacs = 0;
  return oneThread = new Map(
    withRuntime(rt, suite).map(([k, v]) => [k, bytesOf(v)]),
  );
}

/** Asserts that the suite on `rt` gives one thread's bits. */
function assertSuite(rt: WasmRuntime, msg: string): void {
  const want = reference();
  for (const [k, v] of withRuntime(rt, suite, msg)) {
    assertSameBytes(bytesOf(v), want.get(k)!, `${k}: ${msg}`);
  }
}

Deno.test({
  name:
    "threads probe: runtimes alive at once, with no worker started, some started, or all",
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    reference();
    // no worker started yet: the first call runs on this thread alone
    const fresh = new WasmRuntime();
    fresh.minMacs = 0;
    fresh.setThreads(4);
    assert.equal(fresh.readyWorkers(), 0);
    assertSuite(fresh, "4 threads, none started");
    // some started: one worker ready, then six more asked for
    const some = new WasmRuntime();
    some.minMacs = 0;
    some.setThreads(2);
    assert.ok(some.waitReady(30000));
    some.setThreads(8);
    assertSuite(some, "8 threads, some started");
    // all started, two runtimes interleaved
    const a = new WasmRuntime(), b = new WasmRuntime();
    a.minMacs = b.minMacs = 0;
    a.setThreads(4);
    b.setThreads(3);
    assert.ok(a.waitReady(30000) && b.waitReady(30000));
    assert.equal(a.readyWorkers(), 3);
    assert.equal(b.readyWorkers(), 2);
    for (let i = 0; i < 2; i++) {
      assertSuite(a, "runtime a, 4 threads");
      assertSuite(b, "runtime b, 3 threads");
      assertSuite(fresh, "the first runtime, 4 threads");
      assertSuite(some, "8 threads");
    }
  },
});

/** A small CNN's parameters. */
type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };

/** A training step: the parameters after one SGD step on (x, y). */
function step(p: Params, x: Tensor, y: Tensor): Params {
  const loss = (p: Params) => {
    const h = maxPool2d(relu(conv2d(x, p.w1, p.b1, { padding: 1 })), {
      kernelSize: 2,
    });
    const z = linear(flatten(h), p.w2, p.b2);
    return sum(mul(sub(z, y), sub(z, y)));
  };
  const g = grad(loss)(p) as Params;
  return treeMap((v: Tensor, d: Tensor) => sub(v, mul(d, 0.001)), p, g);
}

Deno.test({
  name:
    "threads probe: a jitted training step replayed on 1, 4, 2, 8 and 3 threads gives eager's bits",
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    const rt = new WasmRuntime();
    const x = t([40, 3, 16, 16], 30), y = t([40, 10], 31);
    const p0: Params = {
      w1: t([8, 3, 3, 3], 32),
      b1: t([8], 33),
      w2: t([10, 512], 34),
      b2: t([10], 35),
    };
    const counts = [1, 4, 2, 8, 3];
    const run = (f: typeof step, eagerThreads: number | null) =>
      withRuntime(rt, () => {
        let p = p0;
        const out: Params[] = [];
        for (const n of counts) {
          setNumThreads(eagerThreads ?? n);
          assert.ok(rt.waitReady(30000));
          p = f(p, x, y);
          out.push(p);
        }
        return out;
      });
    const eager = run(step, 1);
    const tasks = countTasks(rt);
    const jitted = run(jit(step), null);
    for (let i = 0; i < counts.length; i++) {
      for (const k of ["w1", "b1", "w2", "b2"] as const) {
        assertSameBytes(
          bytesOf(jitted[i][k]),
          bytesOf(eager[i][k]),
          `step ${i} on ${counts[i]} threads: ${k}`,
        );
      }
    }
    // the replays did split work
    assert.ok(
      [...tasks.values()].some((c) => c.some((n) => n > 2)),
      "some kernel ran more than 2 tasks",
    );
  },
});

Deno.test({
  name:
    "threads probe: a kernel that fails on a thread is reported (the calling thread's own error named), and the runtime works on",
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    reference();
    const rt = new WasmRuntime();
    rt.minMacs = 0;
    rt.setThreads(2);
    assert.ok(rt.waitReady(30000));
    // relu over `n` floats per task, task i at its own offset; a task whose
    // input lies past the memory's end traps
    const n = 1 << 16, count = 40;
    const run = (bad: number[]) => {
      rt.reset("probe");
      const x = rt.alloc(4 * n * count), y = rt.alloc(4 * n * count);
      const tasks = Array.from({ length: count }, (_, i) => [
        bad.includes(i) ? 0x7fff0000 : x + 4 * n * i,
        y + 4 * n * i,
        n,
      ]);
      try {
        rt.parallel("relu", tasks);
      } catch (e) {
        return (e as Error).message;
      }
      return null;
    };
    // the first task is the calling thread's first claim (the worker takes
    // the other 39 from the back first): its trap is named
    const messages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = run([0]);
      assert.ok(
        m?.startsWith("probe: the WebAssembly kernel relu failed on"),
        String(m),
      );
      messages.push(String(m));
      assertSuite(rt, `after a failure on a thread (${i})`);
    }
    assert.ok(
      messages.some((m) =>
        m.includes("the calling thread (memory access out of bounds)")
      ),
      messages.join("\n"),
    );
    // wherever the failing task runs, the call throws and the next is right
    for (const bad of [[count - 1], [0, count - 1], [...Array(count).keys()]]) {
      const m = run(bad);
      assert.ok(
        m?.startsWith("probe: the WebAssembly kernel relu failed on"),
        String(m),
      );
      assert.equal(run([]), null);
      assertSuite(rt, `after tasks ${bad.join(", ")} failed`);
    }
  },
});

Deno.test("threads probe: split's ranges cover 0..n in order, none empty, within the queue", () => {
  const rt = new WasmRuntime();
  let checked = 0;
  for (let threads = 1; threads <= 8; threads++) {
    rt.setThreads(threads);
    for (let n = 1; n <= 150; n++) {
      for (const minPer of [1, 2, 5]) {
        for (const perThread of [1, 2, 4]) {
          for (const shrinking of [false, true]) {
            const r = rt.split(n, minPer, perThread, shrinking);
            const msg =
              `split(${n}, ${minPer}, ${perThread}, ${shrinking}) on ${threads}: ${
                JSON.stringify(r)
              }`;
            assert.ok(r.length >= 1 && r.length <= MAX_TASKS, msg);
            assert.ok(r.length <= Math.max(1, threads * perThread), msg);
            if (threads === 1) assert.deepEqual(r, [[0, n]], msg);
            let at = 0;
            for (const [lo, hi] of r) {
              assert.ok(lo === at && hi > lo, msg);
              at = hi;
            }
            assert.equal(at, n, msg);
            // the same arguments give the same (kept) ranges
            assert.equal(rt.split(n, minPer, perThread, shrinking), r, msg);
            checked++;
          }
        }
      }
    }
  }
  assert.equal(checked, 8 * 150 * 18);
});

Deno.test("threads probe: parallel checks its tasks and names a failing kernel whether or not workers have started", () => {
  // a runtime of one thread: no worker ever starts, every task runs here
  const rt = new WasmRuntime();
  rt.setThreads(1);
  rt.reset("probe");
  const y = rt.alloc(64);
  // no tasks: nothing to run
  rt.parallel("relu", []);
  // a trap in the calling thread's only task is named as in the shared queue
  assert.throws(
    () => rt.parallel("relu", [[0x7fff0000, y, 16]]),
    /^Error: probe: the WebAssembly kernel relu failed on the calling thread \(memory access out of bounds\)/,
  );
  // more tasks than the queue holds: refused here too (with workers they
  // would not fit the shared queue)
  const many = Array.from({ length: MAX_TASKS + 1 }, () => [y, y, 0]);
  assert.throws(
    () => rt.parallel("relu", many),
    new RegExp(`relu was given ${MAX_TASKS + 1} tasks; at most ${MAX_TASKS}`),
  );
  // and the runtime works on
  const x = rt.put(Float32Array.from([-1, 2, -3, 4]));
  const out = rt.alloc(16);
  rt.parallel("relu", [[x, out, 4]]);
  assert.deepEqual(Array.from(rt.f32.subarray(out >> 2, (out >> 2) + 4)), [
    0,
    2,
    0,
    4,
  ]);
});
