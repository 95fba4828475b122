/**
 * Batched matrix multiply on typed arrays.
 *
 * float32 products above a small size run in WebAssembly SIMD
 * (`wasm/gen/matmul.ts`: a packed, register-blocked GEMM accumulating in
 * float32, split over threads when large), and so do float64 ones (the same
 * GEMM on f64x2 vectors: `gemmF64`, products and sums rounded as in the
 * TypeScript loops, only grouped by slices of k); everything else (small or
 * mixed-type products) runs in the TypeScript loops below (`matmulRef`,
 * `gemmRef`), which accumulate in float64 and are the reference the tests
 * compare against.
 *
 * @module
 */
import { allocData, type TypedArray } from "../tensor.ts";
import { sparseStats } from "./reduce.ts";
import { MAX_TASKS, MR, NR, NR_F64 } from "./wasm/layout.ts";
import {
  bytesFor,
  GEMM_WORK,
  runtime,
  taskLists,
  type WasmRuntime,
} from "./wasm/runtime.ts";

/** Products with at least this many multiply-adds are split over threads. */
export const PARALLEL_MIN_MACS = 1 << 19;

/**
 * Settings of the WebAssembly GEMM (tests switch them).
 */
export const gemmLimits = {
  /**
   * Whether each packed panel of A (6 rows) leaves out the k where its 6
   * values are ±0, when B is finite (the same bits: see packA in
   * `wasm/gen/matmul.ts`; LeNet-5's first linear layer's input gradient,
   * behind relu, takes 0.63x the time; false: every product).
   */
  skipZeros: true,
};

/** Most GEMM tasks one product is split into (one per thread, at most 8 threads). */
const MAX_GEMM_TASKS = 8;

/**
 * Whether a float32 product of arrays of these lengths fits the WebAssembly
 * memory with its scratch (else the TypeScript loops run it); `bytes` 8 for
 * float64.
 */
function gemmFits(a: number, b: number, c: number, bytes = 4): boolean {
  const s = bytes / 4;
  return runtime().fits(
    bytesFor(s * a, s * b, s * c) + MAX_GEMM_TASKS * bytesFor(GEMM_WORK / 4),
  );
}

/** Both operands float64 (and the output, when given), and the product large enough for WebAssembly. */
function isF64Gemm(
  a: TypedArray,
  b: TypedArray,
  out: TypedArray | null,
  macs: number,
): a is Float64Array {
  return a instanceof Float64Array && b instanceof Float64Array &&
    (out === null || out instanceof Float64Array) &&
    macs >= runtime().minMacs;
}

/**
 * `out[b] = a[b] @ c[b]` for `batch` pairs of [m, k] and [k, n] matrices.
 * `aStep` / `cStep` are the element offsets between consecutive batch
 * matrices (0 to reuse one matrix for every batch entry). With `out` null,
 * the result is a new array (float32 when both inputs are, else float64).
 * With `aTransposed`, each a[b] is stored [k, m] (aᵀ's rows): the GEMM reads
 * it through its strides, the same products summed in the same order as
 * for the [m, k] copy (`jit` fuses a transpose into the product so).
 */
export function matmul(
  a: TypedArray,
  c: TypedArray,
  out: TypedArray | null,
  batch: number,
  m: number,
  k: number,
  n: number,
  aStep: number,
  cStep: number,
  aTransposed = false,
): TypedArray {
  const na = (batch - 1) * aStep + m * k, nc = (batch - 1) * cStep + k * n;
  // float32 or float64 throughout: the WebAssembly GEMM of that type
  const bytes = a instanceof Float32Array && c instanceof Float32Array &&
      (out === null || out instanceof Float32Array)
    ? 4
    : isF64Gemm(a, c, out, batch * m * n * k)
    ? 8
    : 0;
  if (
    bytes > 0 && batch * m * n * k >= runtime().minMacs &&
    gemmFits(na, nc, batch * m * n, bytes)
  ) {
    const rt = runtime(), f32 = bytes === 4;
    rt.reset("matmul");
    const put = (x: TypedArray, len: number) =>
      f32
        ? rt.put((x as Float32Array).subarray(0, len))
        : rt.putF64((x as Float64Array).subarray(0, len));
    const pa = put(a, na), pc = put(c, nc);
    const po = rt.alloc(bytes * batch * m * n);
    rt.exports.zero(po, bytes * batch * m * n);
    // (wide products only: the scan and the copies cost about as much as
    // a dead row's products below 256 columns)
    const live = f32 && batch === 1 && aTransposed && n >= 256 &&
        gemmLimits.skipZeros
      ? liveRows(a as Float32Array, m, k)
      : null;
    if (live) {
      productOfLiveRows(rt, live, m, n, k, pa, pc, po);
      return out
        ? rt.readF32(po, m * n, out as Float32Array)
        : rt.copyOut(po, m * n);
    }
    for (let b = 0; b < batch; b++) {
      (f32 ? gemmF32 : gemmF64)(
        rt,
        m,
        n,
        k,
        pa + bytes * b * aStep,
        aTransposed ? 1 : k,
        aTransposed ? m : 1,
        pc + bytes * b * cStep,
        n,
        1,
        po + bytes * b * m * n,
        n,
      );
    }
    if (!f32) {
      return rt.readF64(po, batch * m * n, out as Float64Array | undefined);
    }
    return out
      ? rt.readF32(po, batch * m * n, out as Float32Array)
      : rt.copyOut(po, batch * m * n);
  }
  const o = out ??
    (a instanceof Float32Array && c instanceof Float32Array
      ? new Float32Array(batch * m * n)
      : new Float64Array(batch * m * n));
  if (aTransposed) {
    // (the loops read a as [m, k]: each matrix transposed first)
    const at = a.slice(0, na);
    for (let b = 0; b < batch; b++) {
      const o0 = b * aStep;
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) at[o0 + i * k + p] = a[o0 + p * m + i];
      }
    }
    return matmulRef(at, c, o, batch, m, k, n, aStep, cStep);
  }
  return matmulRef(a, c, o, batch, m, k, n, aStep, cStep);
}

/**
 * The rows of A (stored transposed, [k, m]: a weight gradient's gᵀ, whose
 * rows are a layer's units) with a value that is not ±0, when at least
 * max(6, m / 8) are all ±0 (relu's dead units: a panel of the GEMM's
 * saved at least); else null.
 */
function liveRows(a: Float32Array, m: number, k: number): Int32Array | null {
  const bits = new Uint32Array(a.buffer, a.byteOffset, m * k);
  const any = new Uint32Array(m);
  for (let p = 0, at = 0; p < k; p++) {
    for (let i = 0; i < m; i++) any[i] |= bits[at++];
  }
  let dead = 0;
  for (let i = 0; i < m; i++) if ((any[i] & 0x7fffffff) === 0) dead++;
  if (dead < Math.max(MR, m >> 3)) return null;
  const live = new Int32Array(m - dead);
  for (let i = 0, j = 0; i < m; i++) if (any[i] & 0x7fffffff) live[j++] = i;
  return live;
}

/**
 * C (at po, [m, n], zeros) = A·B for A stored transposed at pa ([k, m])
 * and B at pb ([k, n]), computing only the `live` rows of A: those columns
 * of A packed ([k, live]), their product, its rows put in place. The
 * other rows stay 0, which their products (each ±0) would leave too when
 * B is finite; a B with an infinity or NaN runs the whole product. Each computed value is the full product's (the same
 * products in the same order: the GEMM's sums do not depend on the other
 * rows).
 */
function productOfLiveRows(
  rt: WasmRuntime,
  live: Int32Array,
  m: number,
  n: number,
  k: number,
  pa: number,
  pb: number,
  po: number,
): void {
  const f = rt.f32, ml = live.length;
  if (!sparseStats(rt, 0, 0, pb, k * n).finite) {
    gemmF32(rt, m, n, k, pa, 1, m, pb, n, 1, po, n);
    return;
  }
  const pl = rt.alloc(4 * k * ml), pt = rt.zeros(ml * n);
  for (let p = 0, d = pl >> 2, s = pa >> 2; p < k; p++, s += m) {
    for (let j = 0; j < ml; j++) f[d++] = f[s + live[j]];
  }
  gemmF32(rt, ml, n, k, pl, 1, ml, pb, n, 1, pt, n);
  for (let j = 0; j < ml; j++) {
    const from = (pt >> 2) + j * n;
    f.copyWithin((po >> 2) + live[j] * n, from, from + n);
  }
}

/**
 * The two GEMM kernels' shared driver, for kernel `fn`: one call, or tasks
 * over threads (C's rows or columns split into blocks of whole
 * micro-tiles). Each task's arguments: sizes, A's and B's addresses and
 * strides, C's address and row stride, scratch. (Plain parameters, no rest
 * arguments: no garbage per call.)
 */
const gemmOf = (fn: "gemm" | "gemmF64") =>
  function runGemm(
    rt: WasmRuntime,
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
  ): void {
    if (m === 0 || n === 0 || k === 0) return;
    const bytes = fn === "gemm" ? 4 : 8;
    const macs = m * n * k;
    // one task (it runs on this thread), or split the longer side into
    // blocks of whole micro-tiles
    const byCols = n >= m, len = byCols ? n : m;
    const unit = byCols ? (fn === "gemm" ? NR : NR_F64) : MR;
    // (until the workers are ready, one task: started here, else a
    // program of products alone would never start them)
    const large = macs >= PARALLEL_MIN_MACS;
    if (large && rt.readyWorkers() === 0) rt.startWorkers();
    const parts = !large || rt.readyWorkers() === 0
      ? null
      : rt.split(Math.ceil(len / unit), 1);
    const tasks = taskLists(parts ? parts.length : 1);
    const mark = rt.mark();
    for (let t = 0; t < tasks.length; t++) {
      // the task's columns (or rows) s..e
      const s = parts ? parts[t][0] * unit : 0;
      const e = parts ? Math.min(len, parts[t][1] * unit) : len;
      const args = tasks[t];
      args[0] = byCols ? m : e - s;
      args[1] = byCols ? e - s : n;
      args[2] = k;
      args[3] = byCols ? a : a + bytes * s * ars;
      args[4] = ars;
      args[5] = acs;
      args[6] = byCols ? b + bytes * s * bcs : b;
      args[7] = brs;
      args[8] = bcs;
      args[9] = byCols ? c + bytes * s : c + bytes * s * ldc;
      args[10] = ldc;
      args[11] = rt.alloc(GEMM_WORK);
      args[12] = gemmLimits.skipZeros ? 1 : 0;
      args.length = 13;
    }
    rt.parallel(fn, tasks);
    // the scratch is dead: a batch of products reuses it (it grew the memory
    // by GEMM_WORK per product of the batch)
    rt.rewind(mark);
  };

/**
 * C[m×n] (row stride ldc) += A·B in WebAssembly, all addresses in the
 * runtime's memory (element (i, p) of A at a + 4·(i·ars + p·acs), likewise
 * B). Large products are split into column (or row) blocks, one per thread.
 * Allocates its scratch from the runtime and frees it again; does not
 * reset the runtime.
 */
export const gemmF32: ReturnType<typeof gemmOf> = gemmOf("gemm");

/**
 * {@linkcode gemmF32} for float64 matrices (element (i, p) of A at
 * a + 8·(i·ars + p·acs)).
 */
export const gemmF64: ReturnType<typeof gemmOf> = gemmOf("gemmF64");

/**
 * The TypeScript reference of {@linkcode matmul} (float64 accumulation; int32
 * operands into an int32 result wrap every product and sum modulo 2^32, as
 * PyTorch's, where a float64 sum past 2^53 would lose its low bits).
 */
export function matmulRef(
  a: TypedArray,
  c: TypedArray,
  out: TypedArray,
  batch: number,
  m: number,
  k: number,
  n: number,
  aStep: number,
  cStep: number,
): TypedArray {
  if (
    a instanceof Int32Array && c instanceof Int32Array &&
    out instanceof Int32Array
  ) {
    out.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < m; i++) {
        const o = (b * m + i) * n;
        for (let p = 0; p < k; p++) {
          const v = a[b * aStep + i * k + p], cp = b * cStep + p * n;
          for (let j = 0; j < n; j++) {
            out[o + j] = (out[o + j] + Math.imul(v, c[cp + j])) | 0;
          }
        }
      }
    }
    return out;
  }
  const row = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    const ao = b * aStep, co = b * cStep, oo = b * m * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      const ai = ao + i * k;
      for (let p = 0; p < k; p++) {
        const v = a[ai + p];
        const cp = co + p * n;
        for (let j = 0; j < n; j++) row[j] += v * c[cp + j];
      }
      out.set(row, oo + i * n);
    }
  }
  return out;
}

/**
 * C[cOff: m×n] += op(A) · op(B) with row-major storage: "nn" A [m,k] B [k,n];
 * "tn" A stored [k,m]; "nt" B stored [n,k]. Accumulates into a Float64Array.
 * float32 A and B above a small size go to the WebAssembly GEMM (float32
 * accumulation, then added into C), float64 ones to its float64 version
 * (C copied in and added to); otherwise {@linkcode gemmRef}.
 */
export function gemm(
  a: TypedArray,
  aOff: number,
  b: TypedArray,
  bOff: number,
  c: Float64Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
  layout: "nn" | "tn" | "nt",
): void {
  if (
    a instanceof Float32Array && b instanceof Float32Array &&
    m * n * k >= runtime().minMacs && gemmFits(m * k, k * n, m * n)
  ) {
    const rt = runtime();
    rt.reset("matmul");
    const pa = rt.put(a.subarray(aOff, aOff + m * k));
    const pb = rt.put(b.subarray(bOff, bOff + k * n));
    const pc = rt.zeros(m * n);
    const [ars, acs] = layout === "tn" ? [1, m] : [k, 1];
    const [brs, bcs] = layout === "nt" ? [1, k] : [n, 1];
    gemmF32(rt, m, n, k, pa, ars, acs, pb, brs, bcs, pc, n);
    const r = rt.f32.subarray(pc >> 2, (pc >> 2) + m * n);
    for (let i = 0; i < m * n; i++) c[cOff + i] += r[i];
    return;
  }
  if (isF64Gemm(a, b, null, m * n * k) && gemmFits(m * k, k * n, m * n, 8)) {
    // C's values go in and are added to
    const rt = runtime();
    rt.reset("matmul");
    const pa = rt.putF64(a.subarray(aOff, aOff + m * k));
    const pb = rt.putF64((b as Float64Array).subarray(bOff, bOff + k * n));
    const pc = rt.putF64(c.subarray(cOff, cOff + m * n));
    const [ars, acs] = layout === "tn" ? [1, m] : [k, 1];
    const [brs, bcs] = layout === "nt" ? [1, k] : [n, 1];
    gemmF64(rt, m, n, k, pa, ars, acs, pb, brs, bcs, pc, n);
    rt.readF64(pc, m * n, c.subarray(cOff, cOff + m * n));
    return;
  }
  gemmRef(a, aOff, b, bOff, c, cOff, m, k, n, layout);
}

/**
 * y [m, n] = a [m, k] · bᵀ (b [n, k]) + bias [n] (a linear layer) for
 * float32 arrays, in WebAssembly with C preloaded with the bias, as a new
 * array, with relu applied in place when `relu` is set (jit's fused
 * epilogue: the relu kernel's bits); null when the arrays are not all
 * float32 or the product is small (the caller then takes the float64
 * route).
 */
export function linearF32(
  a: TypedArray,
  b: TypedArray,
  bias: TypedArray | null,
  m: number,
  k: number,
  n: number,
  relu = false,
): Float32Array | null {
  if (
    !(a instanceof Float32Array && b instanceof Float32Array &&
      (bias === null || bias instanceof Float32Array)) ||
    m * n * k < runtime().minMacs || !gemmFits(a.length, b.length, m * n)
  ) return null;
  const rt = runtime();
  rt.reset("linear");
  const pa = rt.put(a), pb = rt.put(b);
  // C starts as the bias in every row (every element written), else zero
  const pc = bias ? rt.alloc(4 * m * n) : rt.zeros(m * n);
  if (bias) {
    const f = rt.f32;
    for (let i = 0; i < m; i++) f.set(bias, (pc >> 2) + i * n);
  }
  gemmF32(rt, m, n, k, pa, k, 1, pb, 1, k, pc, n);
  if (relu) rt.parallel("relu", [[pc, pc, m * n]]);
  return rt.result(pc, m * n);
}

/**
 * The TypeScript reference of {@linkcode gemm}. Rows of C are done four at a
 * time over column blocks that stay in cache, so each row of B is read once
 * per four rows of C.
 */
export function gemmRef(
  a: TypedArray,
  aOff: number,
  b: TypedArray,
  bOff: number,
  c: Float64Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
  layout: "nn" | "tn" | "nt",
): void {
  if (layout === "nt") return gemmNT(a, aOff, b, bOff, c, cOff, m, k, n);
  // element (i, p) of A is a[aOff + i·si + p·sp]
  const si = layout === "nn" ? k : 1, sp = layout === "nn" ? 1 : m;
  const JB = 512;
  for (let j0 = 0; j0 < n; j0 += JB) {
    const j1 = Math.min(n, j0 + JB);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const c0 = cOff + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
      const a0 = aOff + i * si;
      for (let p = 0; p < k; p++) {
        const ap = a0 + p * sp;
        const v0 = a[ap],
          v1 = a[ap + si],
          v2 = a[ap + 2 * si],
          v3 = a[ap + 3 * si];
        const bp = bOff + p * n;
        for (let j = j0; j < j1; j++) {
          const bj = b[bp + j];
          c[c0 + j] += v0 * bj;
          c[c1 + j] += v1 * bj;
          c[c2 + j] += v2 * bj;
          c[c3 + j] += v3 * bj;
        }
      }
    }
    for (; i < m; i++) {
      const ci = cOff + i * n;
      for (let p = 0; p < k; p++) {
        const v = a[aOff + i * si + p * sp], bp = bOff + p * n;
        for (let j = j0; j < j1; j++) c[ci + j] += v * b[bp + j];
      }
    }
  }
}

/** C[m, n] += A[m, k] · B[n, k]ᵀ: 2×2 blocks of dot products along k. */
function gemmNT(
  a: TypedArray,
  aOff: number,
  b: TypedArray,
  bOff: number,
  c: Float64Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const a0 = aOff + i * k, a1 = a0 + k;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const b0 = bOff + j * k, b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p], x1 = a[a1 + p], y0 = b[b0 + p], y1 = b[b1 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      const ci = cOff + i * n + j;
      c[ci] += s00;
      c[ci + 1] += s01;
      c[ci + n] += s10;
      c[ci + n + 1] += s11;
    }
    for (; j < n; j++) {
      const bj = bOff + j * k;
      let s0 = 0, s1 = 0;
      for (let p = 0; p < k; p++) {
        s0 += a[a0 + p] * b[bj + p];
        s1 += a[a1 + p] * b[bj + p];
      }
      c[cOff + i * n + j] += s0;
      c[cOff + (i + 1) * n + j] += s1;
    }
  }
  for (; i < m; i++) {
    const ai = aOff + i * k;
    for (let j = 0; j < n; j++) {
      const bj = bOff + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
      c[cOff + i * n + j] += s;
    }
  }
}

/**
 * Outer products with fewer entries than `OUTER_MIN` stay in TypeScript (the
 * WebAssembly kernel is faster from about a thousand: 64 x 8 x 8, 7 us
 * against 15 us); from `OUTER_PARALLEL` (4 MB of float32) on they are
 * shared with the worker threads.
 */
const OUTER_MIN = 1 << 10, OUTER_PARALLEL = 1 << 20;

/**
 * `out[b, i, j] = a[b, i] * c[b, j]`: batched outer products (a float32
 * matmul with k = 1; the per-example weight gradients of `vmap`), one
 * rounded product per entry: in WebAssembly when large, else the
 * TypeScript loop {@linkcode outerF32Ref}. One kernel call per batch entry:
 * on this thread below `OUTER_PARALLEL` entries, a pass writing the result
 * that the workers do not speed up and waiting for them on a busy 2-core
 * machine slows down (side by side, medians: the MLP's 64 x 64 x 64
 * 0.17 ms either way on a quiet machine, 0.19-0.21 ms against 0.25 ms on a
 * busy one; its vmap(grad) 1.5-1.9 ms against 3.9-4.4 ms); from there a task
 * per batch entry, which a quiet machine runs faster (LeNet-5's
 * 64 x 120 x 400: 2.1 ms against 2.8 ms).
 */
export function outerF32(
  a: Float32Array,
  c: Float32Array,
  batch: number,
  m: number,
  n: number,
  stepA: number,
  stepC: number,
): Float32Array {
  const rt = runtime(), size = batch * m * n;
  if (size < OUTER_MIN || !rt.fits(bytesFor(a.length, c.length, size))) {
    const out = allocData("float32", size) as Float32Array;
    return outerF32Ref(a, c, out, batch, m, n, stepA, stepC);
  }
  rt.reset("outerF32");
  const pa = rt.put(a), pc = rt.put(c), po = rt.alloc(4 * size);
  const task = (b: number): [number, number, number, number, number] => [
    pa + 4 * b * stepA,
    pc + 4 * b * stepC,
    po + 4 * b * m * n,
    m,
    n,
  ];
  if (size < OUTER_PARALLEL) {
    for (let b = 0; b < batch; b++) rt.exports.outerF32(...task(b));
  } else {
    for (let b0 = 0; b0 < batch; b0 += MAX_TASKS) {
      const tasks: number[][] = [];
      for (let b = b0; b < Math.min(batch, b0 + MAX_TASKS); b++) {
        tasks.push(task(b));
      }
      rt.parallel("outerF32", tasks);
    }
  }
  return rt.result(po, size);
}

/** The TypeScript loop of {@linkcode outerF32}: the reference for the tests. */
export function outerF32Ref(
  a: Float32Array,
  c: Float32Array,
  out: Float32Array,
  batch: number,
  m: number,
  n: number,
  stepA: number,
  stepC: number,
): Float32Array {
  for (let b = 0; b < batch; b++) {
    const ao = b * stepA, co = b * stepC;
    for (let i = 0; i < m; i++) {
      const v = a[ao + i], o = (b * m + i) * n;
      for (let j = 0; j < n; j++) out[o + j] = v * c[co + j];
    }
  }
  return out;
}
