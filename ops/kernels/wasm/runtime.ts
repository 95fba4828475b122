/**
 * The WebAssembly runtime behind the float32 kernels: one shared memory, the
 * kernel module instantiated on it, a bump allocator that is reset by every
 * kernel call, and a small pool of worker threads that run exported kernel
 * functions on the same memory.
 *
 * - The module's bytes are in `_module.generated.ts` (built from
 *   `_kernels.ts`; nothing is fetched). The relaxed-SIMD variant is used when
 *   `WebAssembly.validate` accepts it, else the plain-SIMD one.
 * - Kernels copy their inputs into the memory, run, and copy the result out,
 *   so no tensor ever points into WebAssembly memory and nothing needs
 *   freeing. The memory grows to the largest call's needs and stays there
 *   (WebAssembly memory cannot shrink), so it is flat across training steps.
 * - Threads: `node:worker_threads` workers (unref'd, so they never keep the
 *   process alive, and needing no permission) receive the compiled module and
 *   the memory once. A call posts work through an atomic control block in
 *   the memory: the main thread stores the function and arguments, bumps a
 *   request counter and `Atomics.notify`s; it runs its own share, then
 *   `Atomics.wait`s for the worker's done counter. Both sides spin for up to
 *   `SPIN_MS` before they sleep: a training step calls kernels every few
 *   hundred microseconds, and waking a sleeping thread costs about as much
 *   on a virtual machine (side by side on a busy 2-core VM: conv2d
 *   forward+backward medians 2.6-3.5 ms before, 2.1-2.5 ms after). The
 *   public API stays synchronous. A worker takes part only once it has reported ready, so
 *   nothing ever waits for a worker that is still starting.
 *
 * @module
 */
import { PLAIN_SIMD, RELAXED_SIMD } from "./_module.generated.ts";
import { GEMM_WORK_BYTES, MEMORY_PAGES } from "./_kernels.ts";
import { Worker } from "node:worker_threads";

/** The functions the kernel module exports (addresses and sizes are i32). */
export interface KernelExports {
  gemm(
    m: number,
    n: number,
    k: number,
    a: number,
    ars: number,
    acs: number,
    b: number,
    brs: number,
    bcs: number,
    c: number,
    ldc: number,
    work: number,
  ): void;
  convForward(g: number, n0: number, n1: number, work: number): void;
  convDirect(g: number, n0: number, n1: number, work: number): void;
  convDirectC(g: number, n0: number, n1: number, work: number): void;
  convInputAdjoint(g: number, n0: number, n1: number, work: number): void;
  convWeightAdjoint(
    g: number,
    n0: number,
    n1: number,
    work: number,
    dw: number,
  ): void;
  convWeightDirect(
    g: number,
    n0: number,
    n1: number,
    work: number,
    dw: number,
  ): void;
  convInputDirect(
    g: number,
    n0: number,
    n1: number,
    work: number,
    wp: number,
    ktab: number,
    vtab: number,
    vend: number,
  ): void;
  maxPool(
    g: number,
    x: number,
    pl0: number,
    pl1: number,
    out: number,
    idx: number,
  ): void;
  relu(x: number, out: number, n: number): void;
  reluMask(g: number, x: number, out: number, n: number): void;
  maxPool2x2(
    g: number,
    x: number,
    pl0: number,
    pl1: number,
    out: number,
    idx: number,
  ): void;
  convWeightRows(
    g: number,
    n0: number,
    n1: number,
    work: number,
    dwv: number,
  ): void;
}

/** Names of the exports a worker may be asked to run. */
const TASKS = [
  "gemm",
  "convForward",
  "convInputAdjoint",
  "convWeightAdjoint",
  "maxPool",
  "relu",
  "reluMask",
  "maxPool2x2",
  "convDirect",
  "convDirectC",
  "convWeightDirect",
  "convInputDirect",
  "convWeightRows",
] as const;
/** A function a worker can run. */
export type TaskName = (typeof TASKS)[number];

/** Decodes base64 into bytes. */
function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Whether this engine accepts relaxed SIMD (f32x4.relaxed_madd). */
export const RELAXED_AVAILABLE: boolean = WebAssembly.validate(
  fromBase64(RELAXED_SIMD),
);

/** How long a waiting thread spins (checking the clock) before it sleeps. */
const SPIN_MS = 2;

// Control block: one 128-byte slot per worker at the bottom of memory.
const SLOT_BYTES = 128;
const MAX_WORKERS = 7;
/** Slot fields (i32 indices). */
const REQ = 0, DONE = 1, READY = 2, ERR = 3, FN = 4, ARGC = 5, ARGS = 8;
/** The allocator starts above the control block, 64-byte aligned. */
const HEAP_BASE = 4096;

/** Source of a worker: instantiate, report ready, then serve requests forever. */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { wasmModule, memory, slot, names } = workerData;
const ex = new WebAssembly.Instance(wasmModule, { env: { memory } }).exports;
const fns = names.map((n) => ex[n]);
const ctl = new Int32Array(memory.buffer, slot, ${SLOT_BYTES / 4});
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  // spin a while (the next request usually follows soon), then sleep
  const t0 = performance.now();
  while (Atomics.load(ctl, ${REQ}) === seen && performance.now() - t0 < ${SPIN_MS});
  while (Atomics.load(ctl, ${REQ}) === seen) Atomics.wait(ctl, ${REQ}, seen);
  seen = Atomics.load(ctl, ${REQ});
  const args = [];
  for (let i = 0; i < ctl[${ARGC}]; i++) args.push(ctl[${ARGS} + i]);
  try {
    fns[ctl[${FN}]](...args);
    ctl[${ERR}] = 0;
  } catch (e) {
    ctl[${ERR}] = 1;
  }
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}
`;

interface WorkerSlot {
  ctl: Int32Array;
  seq: number;
}

/**
 * One instance of the kernels on one shared memory, with its allocator and
 * its workers.
 */
export class WasmRuntime {
  /** The shared memory. */
  readonly memory: WebAssembly.Memory;
  /** The module's exports. */
  readonly exports: KernelExports;
  /** True when this instance runs the relaxed-SIMD variant. */
  readonly relaxed: boolean;
  /**
   * float32 products and convolutions with fewer multiply-adds than this stay
   * in TypeScript, where copying in and out would cost more than the work
   * (the tests set 0 to send everything here).
   */
  minMacs = 4096;
  readonly #module: WebAssembly.Module;
  #top = HEAP_BASE;
  #f32: Float32Array;
  #i32: Int32Array;
  #threads = 1;
  #workers: WorkerSlot[] = [];
  #spawned = false;

  constructor(options: { relaxed?: boolean } = {}) {
    this.relaxed = options.relaxed ?? RELAXED_AVAILABLE;
    this.#module = new WebAssembly.Module(
      fromBase64(this.relaxed ? RELAXED_SIMD : PLAIN_SIMD),
    );
    this.memory = new WebAssembly.Memory({
      initial: MEMORY_PAGES.min,
      maximum: MEMORY_PAGES.max,
      shared: true,
    });
    this.exports = new WebAssembly.Instance(this.#module, {
      env: { memory: this.memory },
    }).exports as unknown as KernelExports;
    this.#f32 = new Float32Array(this.memory.buffer);
    this.#i32 = new Int32Array(this.memory.buffer);
  }

  // ---- allocation

  /** Forgets every allocation: call at the start of each kernel. */
  reset(): void {
    this.#top = HEAP_BASE;
  }

  /** Allocates `bytes` (64-byte aligned), growing the memory when needed; returns the address. */
  alloc(bytes: number): number {
    const at = this.#top;
    this.#top = (at + bytes + 63) & ~63;
    if (this.#top > this.memory.buffer.byteLength) {
      const need = Math.ceil(
        (this.#top - this.memory.buffer.byteLength) / 65536,
      );
      if (this.#top > MEMORY_PAGES.max * 65536) {
        throw new RangeError(
          `kernels: a float32 kernel needs ${this.#top} bytes of WebAssembly memory, more than the ${
            MEMORY_PAGES.max * 65536
          } available`,
        );
      }
      this.memory.grow(need);
    }
    return at;
  }

  /** The memory as float32 (refreshed after growth). */
  get f32(): Float32Array {
    if (this.#f32.byteLength !== this.memory.buffer.byteLength) {
      this.#f32 = new Float32Array(this.memory.buffer);
      this.#i32 = new Int32Array(this.memory.buffer);
    }
    return this.#f32;
  }

  /** The memory as int32 (refreshed after growth). */
  get i32(): Int32Array {
    void this.f32;
    return this.#i32;
  }

  /** Allocates room for `data` and copies it in; returns the address. */
  put(data: Float32Array | Int32Array): number {
    const at = this.alloc(data.length * 4);
    if (data instanceof Float32Array) this.f32.set(data, at >> 2);
    else this.i32.set(data, at >> 2);
    return at;
  }

  /** Allocates a zero-filled float32 array of `n`; returns the address. */
  zeros(n: number): number {
    const at = this.alloc(n * 4);
    this.f32.fill(0, at >> 2, (at >> 2) + n);
    return at;
  }

  /** A copy of `n` float32 values at `at`. */
  readF32(at: number, n: number, out?: Float32Array): Float32Array {
    const view = this.f32.subarray(at >> 2, (at >> 2) + n);
    if (out) {
      out.set(view);
      return out;
    }
    return view.slice();
  }

  // ---- threads

  /** How many threads a large kernel may use (1 = main thread only). */
  get threads(): number {
    return this.#threads;
  }

  /**
   * Sets the number of threads (main thread included), at most 8. Workers
   * start in the background; until one reports ready its share runs on the
   * main thread.
   */
  setThreads(n: number): void {
    this.#threads = Math.max(1, Math.min(MAX_WORKERS + 1, Math.floor(n)));
    if (this.#threads > 1) this.#spawn(this.#threads - 1);
  }

  #spawn(count: number): void {
    if (this.#spawned && this.#workers.length >= count) return;
    this.#spawned = true;
    for (let i = this.#workers.length; i < count; i++) {
      const slot = i * SLOT_BYTES;
      const ctl = new Int32Array(this.memory.buffer, slot, SLOT_BYTES / 4);
      ctl.fill(0);
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        // An explicit (empty) env: by default the worker copies process.env,
        // which would make Deno ask for --allow-env (a prompt on a terminal).
        env: {},
        workerData: {
          wasmModule: this.#module,
          memory: this.memory,
          slot,
          names: TASKS,
        },
      });
      w.unref();
      this.#workers.push({ ctl, seq: 0 });
    }
  }

  /** Number of workers that have started and can take work now. */
  readyWorkers(): number {
    let n = 0;
    for (let i = 0; i < this.#threads - 1 && i < this.#workers.length; i++) {
      if (Atomics.load(this.#workers[i].ctl, READY) === 1) n++;
    }
    return n;
  }

  /** Waits (up to `ms`) until the requested workers are ready; true if they are. */
  waitReady(ms = 5000): boolean {
    const end = performance.now() + ms;
    for (let i = 0; i < this.#threads - 1 && i < this.#workers.length; i++) {
      const ctl = this.#workers[i].ctl;
      while (Atomics.load(ctl, READY) !== 1) {
        const left = end - performance.now();
        if (left <= 0) return false;
        Atomics.wait(ctl, READY, 0, left);
      }
    }
    return true;
  }

  /**
   * Runs `fn` once per argument list: the first on this thread, the others
   * on ready workers (or here, when fewer are ready), and returns when all
   * are done.
   */
  parallel(fn: TaskName, tasks: number[][]): void {
    const f = this.exports[fn] as (...a: number[]) => void;
    const posted: WorkerSlot[] = [];
    const local: number[][] = [tasks[0]];
    const fi = TASKS.indexOf(fn);
    let w = 0;
    for (let t = 1; t < tasks.length; t++) {
      while (
        w < this.#threads - 1 && w < this.#workers.length &&
        Atomics.load(this.#workers[w].ctl, READY) !== 1
      ) w++;
      if (w >= this.#threads - 1 || w >= this.#workers.length) {
        local.push(tasks[t]);
        continue;
      }
      const slot = this.#workers[w++];
      const ctl = slot.ctl;
      ctl[FN] = fi;
      ctl[ARGC] = tasks[t].length;
      for (let i = 0; i < tasks[t].length; i++) ctl[ARGS + i] = tasks[t][i];
      slot.seq++;
      Atomics.store(ctl, REQ, slot.seq);
      Atomics.notify(ctl, REQ);
      posted.push(slot);
    }
    for (const args of local) f(...args);
    let failed = false;
    for (const slot of posted) {
      const ctl = slot.ctl;
      const t0 = performance.now();
      while (
        Atomics.load(ctl, DONE) !== slot.seq && performance.now() - t0 < SPIN_MS
      );
      let d: number;
      while ((d = Atomics.load(ctl, DONE)) !== slot.seq) {
        Atomics.wait(ctl, DONE, d, 1000);
      }
      if (ctl[ERR] !== 0) failed = true;
    }
    if (failed) throw new Error(`kernels: ${fn} failed on a worker thread`);
  }

  /** Splits `0..n` into at most `threads` contiguous ranges, each at least `minPer` long. */
  split(n: number, minPer: number): [number, number][] {
    const ready = 1 + this.readyWorkers();
    const parts = Math.max(
      1,
      Math.min(ready, Math.floor(n / Math.max(1, minPer))),
    );
    const out: [number, number][] = [];
    for (let i = 0; i < parts; i++) {
      out.push([
        Math.floor((n * i) / parts),
        Math.floor((n * (i + 1)) / parts),
      ]);
    }
    return out;
  }
}

/** Bytes of GEMM scratch one thread needs. */
export const GEMM_WORK = GEMM_WORK_BYTES;

let defaultRuntime: WasmRuntime | null = null;

/** The runtime the kernels use (created on first use, with all cores). */
export function runtime(): WasmRuntime {
  if (!defaultRuntime) {
    defaultRuntime = new WasmRuntime();
    defaultRuntime.setThreads(defaultThreads());
  }
  return defaultRuntime;
}

/** Threads used by default: the cores the engine reports, at most 4. */
function defaultThreads(): number {
  const n = typeof navigator !== "undefined"
    ? navigator.hardwareConcurrency ?? 1
    : 1;
  return Math.max(1, Math.min(4, n));
}

/**
 * Replaces the runtime the kernels use (tests: the plain-SIMD variant, or a
 * thread count); returns the previous one.
 */
export function setRuntime(rt: WasmRuntime): WasmRuntime | null {
  const prev = defaultRuntime;
  defaultRuntime = rt;
  return prev;
}
