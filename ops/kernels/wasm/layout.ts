/**
 * Where things live in the kernels' shared WebAssembly memory, and the sizes
 * both sides must agree on: the generator (`gen/`) bakes these numbers into
 * the module's code, and the runtime and the kernels in `ops/kernels/*.ts`
 * lay out memory by them. This module imports nothing, so runtime code
 * reads the layout without loading the generator.
 *
 * The memory, from address 0:
 *
 * ```
 * 0     CONTROL: one SLOT_BYTES slot per worker (wake-up counter, ready flag)
 * QUEUE the task queue of the current `parallel` call (claim word, counters,
 *       function, argument count, then each task's arguments)
 * HEAP_BASE ... the bump allocator's blocks (64-byte aligned): inputs,
 *       outputs, geometry records, per-task scratch
 * ```
 *
 * @module
 */

/** Memory pages the module declares (min, max); 64 KiB each. */
export const MEMORY_PAGES = { min: 32, max: 32768 };

// ---------------------------------------------------------------------------
// the control block and the heap (see `runtime.ts`)

/** Bytes of one worker's slot at the bottom of memory. */
export const SLOT_BYTES = 128;
/** Worker slots below the queue (SLOT_BYTES each). */
export const MAX_WORKERS = 7;
/** Slot fields (i32 indices): the wake-up counter and the ready flag. */
export const REQ = 0, READY = 2;
/** Byte offset of the task queue. */
export const QUEUE = 1024;
/**
 * Queue fields (i32 indices; `drain` in `runtime.ts` uses the same numbers):
 * the claim word (generation << 12 | one past the last unclaimed task << 6
 * | the first unclaimed task: the main thread claims from the front, the
 * workers from the back), tasks
 * done, an error flag, the function, the argument count, then each task's
 * arguments.
 */
export const NEXT = 0, DONE = 1, ERR = 2, FN = 3, ARGC = 4, ARGS = 8;
/** Most tasks one request may have (6 bits of the claim word). */
export const MAX_TASKS = 63;
/** The allocator starts above the control block, 64-byte aligned. */
export const HEAP_BASE = 4096;

// ---------------------------------------------------------------------------
// GEMM blocking (see `gen/matmul.ts`)

/** Rows of the GEMM micro-kernel's tile. */
export const MR = 6;
/** Columns of the micro-kernel's tile (two f32x4 vectors). */
export const NR = 8;
/** The micro-kernel's k loop is unrolled this many times; packed panels are padded with zeros to a multiple. */
export const KU = 4;
/** k steps per iteration of the direct convolutions' inner loops (a power of two). */
export const CU = 4;
/** k slice per packing (a B panel is KC·NR·4 = 8 KiB: L1). */
export const KC = 256;
/** Rows of A packed at once, a multiple of MR (MC·KC·16 = 192 KiB, each value broadcast to a vector: L2). */
export const MC = MR * 8;
/** Columns of B packed at once (KC·NC·4 = 512 KiB: L2). */
export const NC = 512;

/**
 * The float64 GEMM's tile columns and packed columns of B: half as many as
 * float32's, so its panels, packed blocks and edge tile take the same bytes
 * (a row of a B panel is two vectors either way) and `GEMM_WORK_BYTES`
 * serves both.
 */
export const NR_F64 = NR / 2, NC_F64 = NC / 2;

/**
 * Words per A panel's list of the k where the panel is not all zero (the
 * count, then one B offset per k): see packA in `gen/matmul.ts`.
 */
export const KLIST = KC + 1;

/**
 * Bytes of GEMM scratch per thread: packed A, packed B, one edge tile, the
 * word packB leaves its finiteness in, and the lists of the packed A panels.
 */
export const GEMM_WORK_BYTES = (4 * MC * KC + KC * NC + MR * NR + 4) * 4 +
  (MC / MR) * KLIST * 4 + 64;

// ---------------------------------------------------------------------------
// geometry records: i32 fields, written by `conv.ts` / `pool.ts`, read by
// the kernels at these byte offsets

/** Fields of the convolution geometry record (i32 each) in memory, in this order. */
export const CONV_FIELDS = [
  "c", // input channels
  "h",
  "w",
  "o", // output channels
  "kh",
  "kw",
  "oh",
  "ow",
  "sh",
  "sw",
  "pt",
  "pl",
  "dh",
  "dw",
  "groups",
  "x", // address of x [n, c, h, w]
  "wt", // address of the weight [o, c/groups, kh, kw]
  "y", // address of y [n, o, oh, ow]
  "bias", // address of the bias [o], or 0 for none
  "yp", // y's plane stride (its oh·ow; a band of output rows reads y at y + band start)
  "act", // 1: relu applied to each output as it is stored (the forward kernels), else 0
  "skip", // 1: convDirectC may leave out the channels of x that are all zero (no bias of -0), else 0
] as const;

/**
 * The sparse kernels' density check (`sparseStats`) samples the first 16
 * values of each whole block of this many (then every value after them).
 */
export const SPARSE_SAMPLE = 128;

/** Fields of the pooling geometry record (i32 each). */
export const POOL_FIELDS = [
  "h",
  "w",
  "oh",
  "ow",
  "kh",
  "kw",
  "sh",
  "sw",
  "ph",
  "pw",
  "dh",
  "dw",
  "mask", // address of an input-shaped mask m, or 0: the gradient kernel then keeps g only where m > 0 (relu's VJP fused)
  "pooled", // 1: the mask holds one value per window instead (the pooled output: m at the argmax), else 0
] as const;

/** The byte offset of each field of a record of i32 fields F. */
export type RecordOffsets<F extends readonly string[]> = {
  readonly [K in F[number]]: number;
};

/** Byte offset of each field of a record of i32 `fields`. */
function offsets<const F extends readonly string[]>(
  fields: F,
): RecordOffsets<F> {
  return Object.fromEntries(
    fields.map((f, i) => [f, i * 4]),
  ) as RecordOffsets<F>;
}

/** Byte offset of each field of the convolution record. */
export const CONV_OFFSETS: RecordOffsets<typeof CONV_FIELDS> = offsets(
  CONV_FIELDS,
);
/** Byte offset of each field of the pooling record. */
export const POOL_OFFSETS: RecordOffsets<typeof POOL_FIELDS> = offsets(
  POOL_FIELDS,
);
