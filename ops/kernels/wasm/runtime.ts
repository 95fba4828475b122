/**
 * The WebAssembly runtime behind the float32 kernels: one shared memory, the
 * kernel module instantiated on it, a bump allocator that is reset by every
 * kernel call, and a small pool of worker threads that run exported kernel
 * functions on the same memory.
 *
 * - The module's bytes are in `_module.generated.ts` (built from the
 *   templates in `gen/` by `_kernels.ts`; nothing is fetched). The kernels'
 *   names and parameters come from `manifest.ts`, the control block's and
 *   the heap's addresses from `layout.ts`; nothing here loads the generator. The relaxed-SIMD variant is used when
 *   `WebAssembly.validate` accepts it, else the plain-SIMD one.
 * - Kernels copy their inputs into the memory, run, and copy the result out,
 *   so no tensor ever points into WebAssembly memory and nothing needs
 *   freeing. The arrays of the last `MAX_RESIDENT` results and inputs stay
 *   where they were (the allocator steps over them), so when a later kernel
 *   is given one of them (relu after conv2d, maxPool2d after relu: a CNN's
 *   forward pass is such a chain; in the backward pass, a gradient feeds the
 *   weight, input and bias gradients, and the weights come back) `put`
 *   returns its address instead of copying it in again. This relies on
 *   kernels never writing into their inputs, and, like the argmax cache in
 *   `pool.ts`, on tensors never changing. A call that would have to grow
 *   the memory to step over them forgets those it does not read instead, so
 *   the memory grows only to the largest call's needs and stays there
 *   (WebAssembly memory cannot shrink): flat across training steps.
 * - Plans (`jit`'s replay, see `beginPlan`): results are not copied out but
 *   returned as views of the memory, kept while the plan holds them; the
 *   plan copies its outputs out, so no view outlives it, and their arrays
 *   stay resident after it (`keepAfterPlan`): a training step's next call
 *   finds its params in place.
 * - Threads: `node:worker_threads` workers (unref'd, so they never keep the
 *   process alive, and needing no permission) receive the compiled module and
 *   the memory once. A call posts work through an atomic control block in
 *   the memory: the main thread writes the function and each task's
 *   arguments into a queue, bumps each worker's request counter and
 *   `Atomics.notify`s; every thread then claims tasks one at a time, the
 *   main one from the front and the workers from the back, until none is
 *   left (so a thread slowed down by the machine takes fewer, and a thread
 *   keeps its images from one kernel to the next), and the main thread
 *   `Atomics.wait`s until all are
 *   done. Both sides spin for up to
 *   `SPIN_MS` before they sleep: a training step calls kernels every few
 *   hundred microseconds, and waking a sleeping thread costs about as much
 *   on a virtual machine (side by side on a busy 2-core VM: conv2d
 *   forward+backward medians 2.6-3.5 ms before, 2.1-2.5 ms after). The
 *   public API stays synchronous. A worker takes part only once it has
 *   reported ready, so nothing ever waits for a worker that is still
 *   starting.
 *
 * @module
 */
import { PLAIN_SIMD, RELAXED_SIMD } from "./_module.generated.ts";
import {
  ARGC,
  ARGS,
  DONE,
  ERR,
  FN,
  GEMM_WORK_BYTES,
  HEAP_BASE,
  MAX_TASKS,
  MAX_WORKERS,
  MEMORY_PAGES,
  NEXT,
  QUEUE,
  READY,
  REQ,
  SLOT_BYTES,
} from "./layout.ts";
import {
  KERNEL_NAMES,
  KERNELS,
  type KernelsFor,
  type ParamsOf,
} from "./manifest.ts";
import { nodeBuiltin } from "../_node.ts";

/** One number per name of the tuple T (a kernel's arguments). */
export type Args<T extends readonly string[]> = { [I in keyof T]: number };

/**
 * The functions the kernel module exports to TypeScript (every kernel the
 * manifest does not mark "internal"), each with one number per parameter
 * the manifest lists (addresses and sizes are i32).
 */
export type KernelExports = {
  readonly [K in KernelsFor<"main" | "task">]: (
    ...args: Args<ParamsOf<K>>
  ) => void;
};

/** A function a worker can run (use "task" in the manifest). */
export type TaskName = KernelsFor<"task">;

/** Names of the exports a worker may be asked to run, by task index. */
const TASKS: readonly TaskName[] = KERNEL_NAMES.filter(
  (name): name is TaskName => KERNELS[name][1] === "task",
);

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

/** Most threads a kernel runs on (the main one and the workers). */
export const MAX_THREADS: number = MAX_WORKERS + 1;

/**
 * Claims and runs tasks of the current request until none is left, on the
 * main thread and (as source text) in every worker. The claim word holds
 * the first and one past the last unclaimed task: the main thread claims
 * from the front, the workers from the back, each with one
 * compare-and-swap of the word, so threads share the tasks however fast
 * each one is, and one that comes late finds nothing to do. Tasks are image
 * (or plane) ranges in order, so a thread tends to get the same images in
 * consecutive kernels and reads what it wrote itself (moving data from
 * another core's cache is slow). The generation in the word keeps a stale
 * claim from taking a later request's task. A task that throws sets the
 * error flag; the first such error on this thread is returned (boxed), so
 * the calling thread can report its own.
 */
function drain(
  q: Int32Array,
  fns: ((...a: number[]) => void)[],
  back: boolean,
): { error: unknown } | null {
  const args: number[] = [];
  let failed: { error: unknown } | null = null;
  for (;;) {
    const cur = Atomics.load(q, 0);
    const lo = cur & 63, hi = (cur >>> 6) & 63;
    if (lo >= hi) return failed;
    if (
      Atomics.compareExchange(q, 0, cur, back ? cur - 64 : cur + 1) !== cur
    ) continue;
    const argc = q[4], base = 8 + (back ? hi - 1 : lo) * argc;
    args.length = argc;
    for (let i = 0; i < argc; i++) args[i] = q[base + i];
    try {
      fns[q[3]](...args);
    } catch (error) {
      failed ??= { error };
      Atomics.store(q, 2, 1);
    }
    Atomics.add(q, 1, 1);
    Atomics.notify(q, 1);
  }
}

/**
 * Source of a worker: instantiate, report ready, then forever wait for a
 * wake-up and drain the queue.
 */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { wasmModule, memory, slot, names } = workerData;
const ex = new WebAssembly.Instance(wasmModule, { env: { memory } }).exports;
const fns = names.map((n) => ex[n]);
const ctl = new Int32Array(memory.buffer, slot, ${SLOT_BYTES / 4});
const q = new Int32Array(memory.buffer, ${QUEUE}, ${(HEAP_BASE - QUEUE) / 4});
${drain.toString()}
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  // spin a while (the next request usually follows soon), then sleep
  const t0 = performance.now();
  while (Atomics.load(ctl, ${REQ}) === seen && performance.now() - t0 < ${SPIN_MS});
  while (Atomics.load(ctl, ${REQ}) === seen) Atomics.wait(ctl, ${REQ}, seen);
  seen = Atomics.load(ctl, ${REQ});
  drain(q, fns, true);
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
   * float32 and float64 products and convolutions with fewer multiply-adds
   * than this stay in TypeScript, where copying in and out would cost more
   * than the work (the tests set 0 to send everything here).
   */
  minMacs = 4096;
  readonly #module: WebAssembly.Module;
  #top = HEAP_BASE;
  /** Arrays still in memory from earlier calls, least recently used first (see `put`). */
  #resident: Resident[] = [];
  /** Blocks the allocator steps over until the next reset, by address. */
  #holes: Block[] = [];
  /** During a plan (see `beginPlan`): the results left in memory, by address. */
  #pins: Pin[] | null = null;
  /**
   * A count of the first pins that lie end to end (at most all of those
   * that do; the plan's earliest results, kept longest): the allocator
   * jumps over them at once rather than stepping over each, which on a
   * deep plan (thousands kept for the backward pass) made every allocation
   * walk them all.
   */
  #run = 0;
  /** What stays resident after the plan (see `keepAfterPlan`). */
  #after: { data: Float32Array; pin: Pin }[] = [];
  /** Pins that may be held no more: made, or let go to no reader, since the last `sweep`. */
  #loose: Pin[] = [];
  /** Whether results are copied out during a plan (see `outsidePlan`). */
  #paused = false;
  /** The memory's buffers that views were made on (see `put`). */
  readonly #buffers = new WeakSet<ArrayBufferLike>();
  /** The memory's limit. */
  readonly #maxBytes: number;
  /** The current call's op and shapes, for the out-of-memory error (see `reset`). */
  #op = "kernels";
  #describe: () => string = NO_SHAPES;
  #f32: Float32Array;
  #i32: Int32Array;
  #f64: Float64Array | null = null;
  #threads = 1;
  /** `split`'s ranges by n, then the other arguments and thread setting. */
  readonly #splits = new Map<number, SplitEntry[]>();
  #workers: WorkerSlot[] = [];
  #spawned = false;
  /** The task queue (see `drain`) and the request generation. */
  readonly #queue: Int32Array;
  #gen = 0;
  /** The exports by task index, as the workers hold them. */
  readonly #fns: ((...a: number[]) => void)[];

  /**
   * `relaxed`: the relaxed-SIMD variant (default: when available);
   * `maxPages`: the memory's limit in 64 KiB pages (default and most: the
   * module's, 2 GiB; the tests set less).
   */
  constructor(options: { relaxed?: boolean; maxPages?: number } = {}) {
    this.relaxed = options.relaxed ?? RELAXED_AVAILABLE;
    this.#module = new WebAssembly.Module(
      fromBase64(this.relaxed ? RELAXED_SIMD : PLAIN_SIMD),
    );
    // one page under 2 GiB: every address plus a vector stays below 2^31
    this.#maxBytes =
      Math.min(options.maxPages ?? Infinity, MEMORY_PAGES.max - 1) * 65536;
    this.memory = new WebAssembly.Memory({
      initial: MEMORY_PAGES.min,
      maximum: this.#maxBytes / 65536,
      shared: true,
    });
    this.exports = new WebAssembly.Instance(this.#module, {
      env: { memory: this.memory },
    }).exports as unknown as KernelExports;
    this.#f32 = new Float32Array(this.memory.buffer);
    this.#i32 = new Int32Array(this.memory.buffer);
    this.#buffers.add(this.memory.buffer);
    this.#queue = new Int32Array(
      this.memory.buffer,
      QUEUE,
      (HEAP_BASE - QUEUE) / 4,
    );
    this.#fns = TASKS.map((n) => this.exports[n] as (...a: number[]) => void);
  }

  // ---- allocation

  /**
   * Forgets every allocation: call at the start of each kernel. `op` and
   * `describe` name the call (the public op and its shapes) in the error
   * that an allocation past the memory's limit throws.
   */
  reset(op = "kernels", describe: () => string = NO_SHAPES): void {
    this.#top = HEAP_BASE;
    const resident = this.#resident;
    for (let i = 0; i < resident.length; i++) resident[i].inUse = false;
    // (during a plan nothing is resident: the holes are the pins, by address)
    this.#holes = this.#resident.length
      ? holesOf(this.#pins, this.#resident)
      : this.#pins ?? [];
    this.#op = op;
    this.#describe = describe;
  }

  /**
   * Whether a kernel call that allocates `bytes` in all (inputs, outputs and
   * scratch, each rounded up as `alloc` does) fits the memory's limit; the
   * callers route calls that do not to the TypeScript kernels. Every caller
   * asks before its `reset`, so the blocks kept from earlier calls cannot
   * make the call fail: when `bytes` might not fit above them, the
   * resident arrays are forgotten (the call then starts from an empty
   * memory), and during a plan, whose results cannot move, the answer is
   * no.
   */
  fits(bytes: number): boolean {
    if (HEAP_BASE + bytes > this.#maxBytes) return false;
    // (the pins do not overlap and are sorted: the last one ends highest)
    const pins = this.#pins;
    let end = pins?.length ? pins[pins.length - 1].end : HEAP_BASE;
    if (end + bytes > this.#maxBytes) return false;
    for (const r of this.#resident) end = Math.max(end, r.end);
    if (end + bytes > this.#maxBytes) this.#resident = [];
    return true;
  }

  /** Where the next allocation starts: a mark to {@linkcode rewind} to. */
  mark(): number {
    return this.#top;
  }

  /**
   * Frees everything allocated since `mark` (a kernel's scratch, dead once
   * the kernel has returned), so that a loop of kernel calls reuses it.
   */
  rewind(mark: number): void {
    this.#top = mark;
  }

  /**
   * Allocates `bytes` (64-byte aligned, with at least 16 bytes of slack
   * after them for a kernel's last vector), growing the memory when needed;
   * returns the address. Every address a kernel is given comes from here
   * (or `put`), so every range it touches lies inside the memory: a call
   * that cannot fit is an Error naming the op before any kernel runs. Sizes
   * are computed in float64 (exact up to 2^53), never with 32-bit bit
   * operations, and the limit keeps every address and end below 2^31, so
   * the kernels' signed 32-bit address arithmetic cannot wrap.
   */
  alloc(bytes: number): number {
    if (!(bytes >= 0) || !Number.isSafeInteger(bytes)) {
      throw new Error(
        `${this.#op}: internal allocation of ${bytes} bytes${this.#describe()}`,
      );
    }
    const size = alignUp(bytes + 16); // as bytesFor
    let at = this.#stepOver(this.#top, size);
    if (at + size > this.memory.buffer.byteLength) {
      // forget the resident arrays this call does not read rather than
      // grow the memory to step over them
      this.#resident = this.#resident.filter((r) => r.inUse);
      this.#holes = holesOf(this.#pins, this.#resident);
      at = this.#stepOver(this.#top, size);
    }
    const top = at + size;
    if (top > this.#maxBytes) {
      throw new Error(
        `${this.#op}: needs at least ${top} bytes of WebAssembly memory${this.#describe()}, more than its limit of ${this.#maxBytes} bytes`,
      );
    }
    this.#top = top;
    if (top > this.memory.buffer.byteLength) {
      this.memory.grow(
        Math.ceil((top - this.memory.buffer.byteLength) / 65536),
      );
    }
    return at;
  }

  /**
   * The first address from `at` on where `size` bytes miss every hole. The
   * holes are sorted and do not overlap (so their ends are sorted too): from
   * the first that ends after `at`, step over each one the block would
   * overlap.
   */
  #stepOver(at: number, size: number): number {
    const holes = this.#holes;
    let lo = 0, hi = holes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (holes[mid].end <= at) lo = mid + 1;
      else hi = mid;
    }
    if (holes !== this.#pins) {
      for (let i = lo; i < holes.length && holes[i].at < at + size; i++) {
        at = holes[i].end;
      }
      return at;
    }
    // during a plan: a block that steps over one pin of the run steps over
    // all of them; the pins stepped over that continue the run join it
    let run = this.#run;
    if (lo < run && holes[lo].at < at + size) {
      at = holes[run - 1].end;
      lo = run;
    }
    for (let i = lo; i < holes.length && holes[i].at < at + size; i++) {
      if (i === run && (i === 0 || holes[i].at === holes[i - 1].end)) run++;
      at = holes[i].end;
    }
    this.#run = run;
    return at;
  }

  /** The memory as float32 (refreshed after growth). */
  get f32(): Float32Array {
    if (this.#f32.byteLength !== this.memory.buffer.byteLength) {
      this.#f32 = new Float32Array(this.memory.buffer);
      this.#i32 = new Int32Array(this.memory.buffer);
      this.#buffers.add(this.memory.buffer);
    }
    return this.#f32;
  }

  /** The memory as int32 (refreshed after growth). */
  get i32(): Int32Array {
    void this.f32;
    return this.#i32;
  }

  /** The memory as float64 (refreshed after growth; for the float64 GEMM). */
  get f64(): Float64Array {
    if (this.#f64?.byteLength !== this.memory.buffer.byteLength) {
      this.#f64 = new Float64Array(this.memory.buffer);
    }
    return this.#f64;
  }

  /**
   * Allocates room for float64 `data` and copies it in; returns the
   * address (64-byte aligned, as every `alloc`).
   */
  putF64(data: Float64Array): number {
    const kept = this.#kept(data);
    if (kept >= 0) return kept;
    const at = this.alloc(data.length * 8);
    this.f64.set(data, at >> 3);
    if (data.byteLength === data.buffer.byteLength) this.#keep(data, at, true);
    return at;
  }

  /** The kernel's float64 result, as {@linkcode result} (kept for a later `putF64`). */
  resultF64(at: number, n: number): Float64Array {
    const data = this.readF64(at, n);
    this.#keep(data, at, false);
    return data;
  }

  /** A copy of `n` float64 values at `at` (into `out` when given). */
  readF64(at: number, n: number, out?: Float64Array): Float64Array {
    const view = this.f64.subarray(at >> 3, (at >> 3) + n);
    if (out) {
      out.set(view);
      return out;
    }
    return new Float64Array(view);
  }

  /**
   * Allocates room for `data` and copies it in; returns the address. An
   * array still in memory from an earlier call (one of the last
   * `MAX_RESIDENT` results and inputs) is not copied again: its address is
   * returned (kernels never write into their inputs, and tensors never
   * change).
   */
  put(data: Float32Array | Int32Array): number {
    const kept = this.#kept(data);
    if (kept >= 0) return kept;
    if (this.#pins && this.#buffers.has(data.buffer)) return data.byteOffset;
    const at = this.alloc(data.length * 4);
    if (data instanceof Float32Array) this.f32.set(data, at >> 2);
    else this.i32.set(data, at >> 2);
    // (a part of an array, a fresh view each call, would never be found)
    if (data.byteLength === data.buffer.byteLength && !this.#pins) {
      this.#keep(data, at, true);
    }
    return at;
  }

  /** The address of `data` when it is still in memory (now read by this call), else -1. */
  #kept(data: Resident["data"]): number {
    const resident = this.#resident, i = this.#residentIndex(data);
    if (i < 0) return -1;
    // now the most recently used: moved to the end (no array made)
    const r = resident[i];
    removeAt(resident, i);
    resident.push(r);
    r.inUse = true;
    return r.at;
  }

  /** Where `data` is among the resident arrays, or -1. */
  #residentIndex(data: Resident["data"]): number {
    const resident = this.#resident;
    for (let i = 0; i < resident.length; i++) {
      if (resident[i].data === data) return i;
    }
    return -1;
  }

  /** Keeps `data`, in memory at `at`, for later calls' `put`. */
  #keep(data: Resident["data"], at: number, inUse: boolean): void {
    // the whole block `alloc` took, slack included: a kernel may read a
    // vector past the array's end, and what follows stays 64-byte aligned
    const end = at + alignUp(data.byteLength + 16);
    this.#resident.push({ data, at, end, inUse });
    if (this.#resident.length > MAX_RESIDENT) {
      const old = this.#resident.findIndex((r) => !r.inUse);
      if (old >= 0) this.#resident.splice(old, 1);
    }
  }

  /**
   * Allocates a zero-filled float32 array of `n`; returns the address.
   * (Zeroed in WebAssembly: `fill` on a shared view is about 2.5x slower.)
   */
  zeros(n: number): number {
    const at = this.alloc(n * 4);
    this.exports.zero(at, n * 4);
    return at;
  }

  /**
   * A copy of `n` float32 values at `at` (into `out` when given). A new
   * array is made by the typed-array constructor, which copies a shared
   * view about a third faster than `slice` (no zero-fill first).
   */
  readF32(at: number, n: number, out?: Float32Array): Float32Array {
    const view = this.f32.subarray(at >> 2, (at >> 2) + n);
    if (out) {
      out.set(view);
      return out;
    }
    return new Float32Array(view);
  }

  /**
   * The kernel's result: a copy of `n` float32 at `at` (a block from
   * `alloc(4 * n)`; as `readF32`) that the caller returns unchanged, so that
   * the values left in memory stay its exact copy: they are kept for the
   * next kernel's `put`.
   */
  result(at: number, n: number): Float32Array {
    if (this.#pins && !this.#paused) {
      this.#pin({ at, end: at + alignUp(4 * n + 16), refs: 0 });
      return this.f32.subarray(at >> 2, (at >> 2) + n);
    }
    const data = this.readF32(at, n);
    this.#keep(data, at, false);
    return data;
  }

  /**
   * An int32 result that goes with the plan's result `owner` (max
   * pooling's argmax with its input): during a plan, when `owner` is one of
   * its results, a view of the memory kept as long as `owner` is;
   * otherwise a copy, as `readI32`.
   */
  resultI32(at: number, n: number, owner: ArrayBufferView): Int32Array {
    const pin = this.#paused ? undefined : this.#pinOf(owner);
    if (!pin) return this.readI32(at, n);
    this.#pin({ at, end: at + alignUp(4 * n + 16), refs: 0, owner: pin });
    return this.i32.subarray(at >> 2, (at >> 2) + n);
  }

  /**
   * During a plan (not paused): a zero-filled float32 or int32 array of
   * `n` in memory, a result of the plan (what `allocData` gives the
   * plan's TypeScript kernels, so that their results need no fresh array
   * and no copy in); otherwise null. With `zero` false its values are
   * whatever the memory held (for a caller that writes every one).
   */
  planArray(
    dtype: string,
    n: number,
    zero = true,
  ): Float32Array | Int32Array | null {
    if (!this.#pins || this.#paused) return null;
    if (dtype !== "float32" && dtype !== "int32") return null;
    let at: number;
    try {
      at = zero ? this.zeros(n) : this.alloc(4 * n);
    } catch {
      return null; // past the memory's limit: an array of its own then
    }
    this.#pin({ at, end: at + alignUp(4 * n + 16), refs: 0 });
    return (dtype === "float32" ? this.f32 : this.i32).subarray(
      at >> 2,
      (at >> 2) + n,
    );
  }

  /**
   * During a plan: `data` (an argument of the plan) in memory, kept as a
   * result of the plan that one reader holds, so that every kernel reads it
   * in place instead of copying it in again: where an earlier call or plan
   * left it (a training step's params are the last step's outputs), else a
   * copy; null when it does not fit the memory's limit (the kernels then
   * take `data` as they would outside a plan). Call {@linkcode placed} once
   * all arguments are in.
   */
  place(data: Float32Array): Float32Array | null {
    const i = this.#residentIndex(data);
    let at: number;
    if (i >= 0) {
      at = this.#resident[i].at;
      removeAt(this.#resident, i);
    } else {
      try {
        at = this.alloc(4 * data.length);
      } catch {
        return null;
      }
      this.f32.set(data, at >> 2);
    }
    const view = this.result(at, data.length);
    this.hold(view, 1);
    return view;
  }

  /**
   * The plan's arguments are in (see {@linkcode place}): the arrays left in
   * memory from before the plan are forgotten (during a plan nothing else
   * is kept resident).
   */
  placed(): void {
    this.#resident = [];
  }

  /**
   * During a plan: `data` equals the plan's result `view` (an output copied
   * out, or an argument `place` put there). If the plan still keeps `view`
   * when it ends, its memory stays there for a later `put` or `place` of
   * `data`, as the results of calls outside plans do (at most
   * `MAX_PLAN_RESIDENT` arrays, the first ones given).
   */
  keepAfterPlan(data: Float32Array, view: Float32Array): void {
    const pin = this.#pinOf(view), after = this.#after;
    if (
      !pin || pin.at !== view.byteOffset || data.length !== view.length ||
      after.length >= MAX_PLAN_RESIDENT
    ) return;
    for (let i = 0; i < after.length; i++) if (after[i].pin === pin) return;
    after.push({ data, pin });
  }

  // ---- plans (jit)

  /**
   * Starts a plan: until `endPlan`, results stay where the kernels wrote
   * them and are returned as views of the memory (no copy out, no fresh
   * array), each kept (the allocator steps over it) while `hold` counts a
   * reader of it; a kernel given such a view reads it in place (no copy
   * in). `place` copies an argument in once, `planArray` gives TypeScript
   * kernels their arrays in memory, `resultI32` keeps an int32 result with
   * the result it goes with. The kept blocks are the allocator's holes
   * (sorted by address); nothing else is kept resident during a plan. Only
   * `jit`'s replay uses this: it knows when each value is read last, and
   * copies the plan's outputs out before `endPlan`, so no view of the
   * memory outlives the plan. False (and nothing starts) when a plan is
   * running already.
   */
  beginPlan(): boolean {
    if (this.#pins) return false;
    void this.f32; // the current buffer is known to `put`
    this.#paused = false;
    this.#pins = [];
    this.#run = 0;
    this.#loose = [];
    this.#after = [];
    // (the resident arrays stay until the arguments are in: `placed`)
    return true;
  }

  /**
   * Counts one more (`delta` 1) or one less (-1) reader of the plan's
   * result that `data` views; returns false when `data` is no such view.
   */
  hold(data: ArrayBufferView, delta: 1 | -1): boolean {
    const pin = this.#pinOf(data);
    if (pin && (pin.refs += delta) === 0) this.#loose.push(pin);
    return pin !== undefined;
  }

  /**
   * Forgets the plan's results that no reader holds (after each step): the
   * ones made or let go since the last sweep, and what goes with them, so a
   * sweep costs what changed, not what is kept.
   */
  sweep(): void {
    const pins = this.#pins, loose = this.#loose;
    for (let i = 0; i < loose.length; i++) {
      const p = loose[i];
      if (!pins || held(p)) continue;
      const k = this.#pinIndex(p.at) - 1;
      if (pins[k] !== p) continue; // (forgotten already)
      removeAt(pins, k);
      if (k < this.#run) this.#run = k;
      if (p.dependents) loose.push(...p.dependents);
    }
    loose.length = 0;
  }

  /** Whether `data` is a view of a result of the current plan (copy it out before `endPlan`). */
  inPlan(data: ArrayBufferView): boolean {
    return this.#pinOf(data) !== undefined;
  }

  /**
   * Runs `f` (code that is not the plan's: a callback) with results copied
   * out as outside a plan, so that none of its values is a view of the
   * memory; the plan's kept results stay kept.
   */
  outsidePlan<T>(f: () => T): T {
    const outer = this.#paused;
    this.#paused = true;
    try {
      return f();
    } finally {
      this.#paused = outer;
    }
  }

  /**
   * Ends the plan: every result it kept is forgotten, but for those given
   * to `keepAfterPlan` that it still keeps (and whose arrays were not
   * detached since), which stay resident.
   */
  endPlan(): void {
    const pins = this.#pins;
    this.#resident = [];
    // (a pin let go during the plan may have been written over since)
    for (const { data, pin } of this.#after) {
      if (data.length === 0 || !pins) continue;
      if (pins[this.#pinIndex(pin.at) - 1] !== pin) continue;
      this.#resident.push({ data, at: pin.at, end: pin.end, inUse: false });
    }
    this.#pins = null;
    this.#loose = [];
    this.#after = [];
  }

  #pinOf(data: ArrayBufferView): Pin | undefined {
    const pins = this.#pins;
    if (!pins || !this.#buffers.has(data.buffer)) return undefined;
    const at = data.byteOffset, i = this.#pinIndex(at) - 1;
    return i >= 0 && at < pins[i].end ? pins[i] : undefined;
  }

  /** Keeps a plan's result: `#pins` stays sorted by address (they are the allocator's holes). */
  #pin(p: Pin): void {
    const pins = this.#pins!, i = this.#pinIndex(p.at);
    insertAt(pins, i, p);
    // the run grows when p continues it or comes just before it (and
    // joins more as the allocator steps over them)
    const run = this.#run;
    if (i === 0) this.#run = run > 0 && p.end === pins[1].at ? run + 1 : 1;
    else if (i === run && p.at === pins[i - 1].end) this.#run = run + 1;
    this.#loose.push(p); // (unheld until a reader holds it)
    if (p.owner) (p.owner.dependents ??= []).push(p);
  }

  /** How many pins start at or below `at`. */
  #pinIndex(at: number): number {
    const pins = this.#pins!;
    let lo = 0, hi = pins.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pins[mid].at <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * A kernel's result that the next kernel seldom reads (a convolution's
   * input gradient: the weight gradient reads the output gradient first):
   * copied out as `readF32`, the resident result staying as it is; during a
   * plan, kept in memory as `result`.
   */
  copyOut(at: number, n: number): Float32Array {
    return this.#pins ? this.result(at, n) : this.readF32(at, n);
  }

  /** A copy of `n` int32 values at `at` (as {@linkcode readF32}). */
  readI32(at: number, n: number): Int32Array {
    return new Int32Array(this.i32.subarray(at >> 2, (at >> 2) + n));
  }

  // ---- threads

  /** How many threads a large kernel may use (1 = main thread only). */
  get threads(): number {
    return this.#threads;
  }

  /**
   * Sets the number of threads (main thread included), at most 8. Workers
   * start in the background when a kernel first has work to share (a
   * program of small tensors never starts one); until a worker reports
   * ready its share runs on the main thread.
   */
  setThreads(n: number): void {
    this.#threads = Math.max(1, Math.min(MAX_WORKERS + 1, Math.floor(n)));
  }

  #spawn(count: number): void {
    if (this.#spawned && this.#workers.length >= count) return;
    this.#spawned = true;
    for (let i = this.#workers.length; i < count; i++) {
      const slot = i * SLOT_BYTES;
      const ctl = new Int32Array(this.memory.buffer, slot, SLOT_BYTES / 4);
      ctl.fill(0);
      const { Worker } = nodeBuiltin<typeof import("node:worker_threads")>(
        "node:worker_threads",
      );
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

  /**
   * Starts the workers (in the background; at once when they are already
   * there): for a caller that runs one task until they are ready (a GEMM,
   * whose split would repeat the packing on this thread), so that work
   * which never splits still gets them.
   */
  startWorkers(): void {
    if (this.#threads > 1) this.#spawn(this.#threads - 1);
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
    this.startWorkers();
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
   * Runs `fn` once per argument list (all of one length), on this thread and
   * the ready workers, each taking the next task as it finishes one (see
   * `drain`); returns when all are done.
   */
  parallel(fn: TaskName, tasks: number[][]): void {
    if (tasks.length === 0) return;
    // (checked whether or not workers have started: the same calls fail)
    const q = this.#queue, argc = tasks[0].length;
    if (
      tasks.length > MAX_TASKS || ARGS + tasks.length * argc > q.length ||
      tasks.some((t) => t.length !== argc)
    ) {
      throw new Error(
        `kernels: ${fn} was given ${tasks.length} tasks; at most ${MAX_TASKS}, with equally many arguments, fit the queue`,
      );
    }
    if (tasks.length > 1) this.startWorkers();
    const fi = TASKS.indexOf(fn);
    if (tasks.length === 1 || this.readyWorkers() === 0) {
      try {
        for (let i = 0; i < tasks.length; i++) this.#fns[fi](...tasks[i]);
      } catch (error) {
        throw this.#kernelError(fn, { error });
      }
      return;
    }
    q[FN] = fi;
    q[ARGC] = argc;
    for (let i = 0; i < tasks.length; i++) q.set(tasks[i], ARGS + i * argc);
    q[ERR] = 0;
    Atomics.store(q, DONE, 0);
    this.#gen = (this.#gen + 1) & 0xfffff;
    Atomics.store(q, NEXT, (this.#gen << 12) | (tasks.length << 6));
    // wake the ready workers
    for (let i = 0; i < this.#threads - 1 && i < this.#workers.length; i++) {
      const slot = this.#workers[i];
      if (Atomics.load(slot.ctl, READY) !== 1) continue;
      slot.seq++;
      Atomics.store(slot.ctl, REQ, slot.seq);
      Atomics.notify(slot.ctl, REQ);
    }
    const failed = drain(q, this.#fns, false);
    const t0 = performance.now();
    while (
      Atomics.load(q, DONE) !== tasks.length && performance.now() - t0 < SPIN_MS
    );
    let d: number;
    while ((d = Atomics.load(q, DONE)) !== tasks.length) {
      Atomics.wait(q, DONE, d, 1000);
    }
    if (q[ERR] !== 0) throw this.#kernelError(fn, failed);
  }

  /**
   * The error of a kernel that failed: on the calling thread (`failed`, its
   * error as cause) or, when null, on a worker (whose error stays there).
   */
  #kernelError(fn: TaskName, failed: { error: unknown } | null): Error {
    const where = failed
      ? `the calling thread (${
        (failed.error as Error)?.message ?? failed.error
      })`
      : "a worker thread";
    return new Error(
      `${this.#op}: the WebAssembly kernel ${fn} failed on ${where}${this.#describe()}`,
      failed ? { cause: failed.error } : undefined,
    );
  }

  /**
   * Splits `0..n` into contiguous ranges, each at least `minPer` long:
   * `perThread` per thread (more than one lets a thread that runs ahead take
   * another's share). The count depends on the thread setting only, not on
   * which workers have started, so results that sum per range (weight
   * gradients) are the same in every run. With `shrinking`, sizes fall
   * from both ends toward the middle (in proportion |parts - 1 - 2i| + 1; a
   * range that rounds to nothing is left out): the main thread claims from
   * the front and the workers from the back (see `drain`), so the last
   * ranges claimed are short and the thread that runs out first waits less
   * for the others (convolutions that write disjoint outputs).
   */
  split(
    n: number,
    minPer: number,
    perThread = 1,
    shrinking = false,
  ): readonly (readonly [number, number])[] {
    // the same arguments give the same ranges: kept (frozen) per setting,
    // found by n, then the others (no key to build)
    const threads = this.#threads;
    let kept = this.#splits.get(n);
    if (!kept) {
      if (this.#splits.size >= 256) this.#splits.clear();
      this.#splits.set(n, kept = []);
    }
    for (let i = 0; i < kept.length; i++) {
      const e = kept[i];
      if (
        e.minPer === minPer && e.perThread === perThread &&
        e.shrinking === shrinking && e.threads === threads
      ) return e.ranges;
    }
    const ranges = Object.freeze(
      this.#split(n, minPer, perThread, shrinking).map((r) => Object.freeze(r)),
    );
    if (kept.length >= 16) kept.shift();
    kept.push({ minPer, perThread, shrinking, threads, ranges });
    return ranges;
  }

  /** The ranges of `split`. */
  #split(
    n: number,
    minPer: number,
    perThread: number,
    shrinking: boolean,
  ): [number, number][] {
    const parts = Math.max(
      1,
      Math.min(
        this.#threads === 1 ? 1 : this.#threads * perThread,
        Math.floor(n / Math.max(1, minPer)),
      ),
    );
    // the share of parts before part i: i / parts, or with shrinking parts
    // (the threads claim from both ends: sizes in proportion
    // |parts - 1 - 2i| + 1, large at the ends, small in the middle) the sum
    // of those before
    const weight = (i: number) => Math.abs(parts - 1 - 2 * i) + 1;
    let total = 0;
    const acc = [0];
    for (let i = 0; i < parts; i++) {
      acc.push(total += shrinking ? weight(i) : 1);
    }
    const before = (i: number) => acc[i] / total;
    const out: [number, number][] = [];
    for (let i = 0; i < parts; i++) {
      const lo = Math.floor(n * before(i)), hi = Math.floor(n * before(i + 1));
      if (hi > lo) out.push([lo, hi]);
    }
    return out;
  }
}

/**
 * `list` with `v` inserted at `i`, in place. (By hand: `splice` makes an
 * array of the removed per call, and `copyWithin` on an array of objects
 * costs about 30 ns an element, 50 times this loop: a long scan's backward
 * keeps thousands of pins, and shifting them made its replay quadratic in
 * earnest.)
 */
function insertAt<T>(list: T[], i: number, v: T): void {
  list.push(v);
  for (let j = list.length - 1; j > i; j--) list[j] = list[j - 1];
  list[i] = v;
}

/** `list` without its element `i`, in place (see {@linkcode insertAt}). */
function removeAt<T>(list: T[], i: number): void {
  for (let j = i; j < list.length - 1; j++) list[j] = list[j + 1];
  list.length--;
}

/** The blocks of `pins` and `resident`, by address. */
function holesOf(pins: readonly Block[] | null, resident: readonly Block[]) {
  return [...pins ?? [], ...resident].sort((a, b) => a.at - b.at);
}

/** What `reset` names a call by when its caller gives no shapes. */
const NO_SHAPES = () => "";

/** `split`'s ranges for one n, and the other arguments and thread setting. */
interface SplitEntry {
  minPer: number;
  perThread: number;
  shrinking: boolean;
  threads: number;
  ranges: readonly (readonly [number, number])[];
}

/** A block of memory the allocator steps over. */
interface Block {
  at: number;
  end: number;
}

/** An array left in memory: its block, and whether the current call reads it. */
interface Resident extends Block {
  data: Float32Array | Int32Array | Float64Array;
  inUse: boolean;
}

/** How many arrays `put` finds in memory (results and inputs of the last calls). */
const MAX_RESIDENT = 8;

/**
 * How many of a plan's outputs and arguments stay resident after it (see
 * `keepAfterPlan`): a training step's params and optimizer state; more
 * would lengthen every `put`'s and allocation's search.
 */
const MAX_PLAN_RESIDENT = 64;

/** A result kept during a plan: its block, how many readers hold it, and the result it goes with. */
interface Pin extends Block {
  refs: number;
  owner?: Pin;
  /** The pins that go with this one (its owner is this). */
  dependents?: Pin[];
}

/** Whether a plan's result is still read (or goes with one that is). */
const held = (p: Pin): boolean => p.refs > 0 || (p.owner?.refs ?? 0) > 0;

/** `bytes` rounded up to a multiple of 64, in float64 arithmetic. */
export const alignUp = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** Bytes `alloc` takes for arrays of these numbers of float32 or int32 elements. */
export function bytesFor(...counts: number[]): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += alignUp(4 * counts[i] + 16);
  return sum;
}

/**
 * `count` argument lists to fill for {@linkcode WasmRuntime.parallel}: the
 * same arrays on every call with that count (kernels are synchronous and
 * never re-entered, so each call is done with them before the next), so
 * that running tasks leaves no garbage. The caller writes each list's
 * arguments by index, then sets its length.
 */
export function taskLists(count: number): number[][] {
  const fresh = () => Array.from({ length: count }, (): number[] => []);
  // (a few lists of a few numbers each: the counts are the thread splits)
  return count > MAX_TASKS ? fresh() : (taskListsByCount[count] ??= fresh());
}

/** `taskLists`'s lists, by count. */
const taskListsByCount: number[][][] = [];

/** Bytes of GEMM scratch one thread needs. */
export const GEMM_WORK: number = GEMM_WORK_BYTES;

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
