/**
 * Reductions. `sumAxes` reads the input once in memory order, whatever the
 * axes; the others work over the last axis of a [rows, n] view (the ops move
 * the reduced axes last, a transpose, before calling them).
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";
import {
  bytesFor,
  runtime,
  taskLists,
  type WasmRuntime,
} from "./wasm/runtime.ts";

/**
 * `sparseStats` on arrays in memory: the nonzeros among y's samples (`ny`
 * floats at `ya`: see the kernel), and whether every value of x (`nx` at
 * `xa`) is finite.
 */
export function sparseStats(
  rt: WasmRuntime,
  ya: number,
  ny: number,
  xa: number,
  nx: number,
): { nonzero: number; finite: boolean } {
  const mark = rt.mark(), out = rt.alloc(48), i = out >> 2;
  rt.exports.sparseStats(ya, ny, xa, nx, out);
  const c = rt.i32;
  const nonzero = c[i + 8] - (c[i] + c[i + 1] + c[i + 2] + c[i + 3]);
  const finite = c[i + 9] === 0;
  rt.rewind(mark);
  return { nonzero, finite };
}

/** float32 sums with reduced runs at least this long, and this many elements, run in WebAssembly. */
const WASM_MIN_RUN = 32, WASM_MIN_ELEMENTS = 1 << 14;

/**
 * The sum of each run of `len` consecutive floats of x, in WebAssembly (float32
 * vector accumulators over blocks of 1024, the blocks added in float64;
 * split over threads when large): their address in memory.
 */
function sumRunsAt(rt: WasmRuntime, x: Float32Array, len: number): number {
  const runs = x.length / len;
  const px = rt.put(x), out = rt.alloc(runs * 4);
  const parts = x.length >= 1 << 18 ? rt.split(runs, 1, 2) : null;
  const tasks = taskLists(parts ? parts.length : 1);
  for (let t = 0; t < tasks.length; t++) {
    const a = tasks[t];
    a[0] = px;
    a[1] = len;
    a[2] = parts ? parts[t][0] : 0;
    a[3] = parts ? parts[t][1] : runs;
    a[4] = out;
    a.length = 5;
  }
  rt.parallel("sumRuns", tasks);
  return out;
}

/** From this many elements `sumAxes` sums columns in WebAssembly. */
const WASM_MIN_ELEMENTS_COLS = 1 << 10;

/**
 * The float64 sums of the columns of the float32 matrix [rows, cols] at
 * address `px` in memory, in row order, into out.
 */
function sumColsAt(
  rt: WasmRuntime,
  px: number,
  rows: number,
  cols: number,
  out: Float32Array,
): Float32Array {
  const po = rt.alloc(cols * 4);
  rt.exports.sumCols(px, rows, cols, po);
  out.set(rt.f32.subarray(po >> 2, (po >> 2) + cols));
  return out;
}

/**
 * Sums `x` of `shape` over `axes` into `out` (the kept axes in order),
 * reading x in memory order: adjacent axes of the same kind are merged, the
 * innermost run is a tight loop (a running sum when reduced, a row added
 * into the output when kept), so no transpose is needed. Accumulates in
 * float64; float32 runs that are summed whole (a conv bias's gradient: N·C
 * runs of H·W) are first summed in WebAssembly, in float32 vectors over
 * blocks of 1024 floats whose sums are added in float64. Large float32
 * sums over the leading axes (a linear bias's gradient), and the runs'
 * sums as [N, C], are added in WebAssembly too (`sumCols`): the same
 * float64 sums in the same order as the loop's.
 */
export function sumAxes(
  x: TypedArray,
  shape: readonly number[],
  axes: readonly number[],
  out: TypedArray,
): TypedArray {
  // merged runs of reduced / kept axes (size-1 axes dropped), in the
  // module's scratch arrays (kernels are never re-entered)
  // (their first nd entries; never emptied, which would drop their store)
  const dims = scratch.dims, reduced = scratch.reduced;
  let nd = 0;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (d === 1) continue;
    const r = axes.includes(i);
    if (nd > 0 && reduced[nd - 1] === r) dims[nd - 1] *= d;
    else {
      dims[nd] = d;
      reduced[nd++] = r;
    }
  }
  if (x.length === 0) return out;
  if (nd === 0) {
    out[0] = x[0];
    return out;
  }
  // the sums of the columns (the leading axes reduced): the same float64
  // sums in WebAssembly
  const rt = runtime();
  if (
    nd === 2 && reduced[0] && x.length >= WASM_MIN_ELEMENTS_COLS &&
    x instanceof Float32Array && out instanceof Float32Array &&
    rt.fits(bytesFor(x.length, out.length))
  ) {
    rt.reset("sum");
    return sumColsAt(rt, rt.put(x), dims[0], dims[1], out);
  }
  // the float64 sums: the scratch when small (zeroed), else an array
  const acc = out.length <= SCRATCH_SUMS
    ? scratch.acc.fill(0, 0, out.length)
    : new Float64Array(out.length);
  // output strides of the merged axes (0 where reduced)
  const ostr = scratch.ostr, count = scratch.count;
  for (let i = nd - 1, s = 1; i >= 0; i--) {
    ostr[i] = reduced[i] ? 0 : s;
    if (!reduced[i]) s *= dims[i];
    count[i] = 0;
  }
  const last = nd - 1, inner = dims[last], innerReduced = reduced[last];
  const n = x.length / inner;
  const inWasm = innerReduced && inner >= WASM_MIN_RUN &&
    x instanceof Float32Array && x.length >= WASM_MIN_ELEMENTS &&
    rt.fits(bytesFor(x.length, n, out.length));
  if (inWasm) rt.reset("sum");
  // the runs' sums added as columns when they are [rows, cols] or [cols]
  // (a conv bias's gradient: N·C runs of H·W)
  if (inWasm && out instanceof Float32Array && nd <= 3) {
    const rows = nd === 3 ? dims[0] : 1;
    return sumColsAt(rt, sumRunsAt(rt, x, inner), rows, n / rows, out);
  }
  const runs = inWasm ? rt.copyOut(sumRunsAt(rt, x, inner), n) : null;
  let o = 0;
  for (let i = 0; i < x.length; i += inner) {
    if (runs) acc[o] += runs[i / inner];
    else if (innerReduced) {
      let s = 0;
      for (let j = i, e = i + inner; j < e; j++) s += x[j];
      acc[o] += s;
    } else {
      for (let j = 0; j < inner; j++) acc[o + j] += x[i + j];
    }
    for (let ax = last - 1; ax >= 0; ax--) {
      count[ax]++;
      o += ostr[ax];
      if (count[ax] < dims[ax]) break;
      o -= ostr[ax] * count[ax];
      count[ax] = 0;
    }
  }
  // (as out.set(acc) would: each sum converted to out's type)
  for (let i = 0; i < out.length; i++) out[i] = acc[i];
  return out;
}

/** Outputs of `sumAxes` whose float64 sums the scratch holds. */
const SCRATCH_SUMS = 1 << 12;

/** `sumAxes`'s scratch: the merged axes, their output strides and counters, the sums. */
const scratch = {
  dims: [] as number[],
  reduced: [] as boolean[],
  ostr: [] as number[],
  count: [] as number[],
  acc: new Float64Array(SCRATCH_SUMS),
};

/** Maximum of each row of `x` viewed as [rows, n] (NaN if any element is NaN). */
export function maxRows(x: TypedArray, n: number, out: TypedArray): TypedArray {
  const rows = out.length;
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let i = r * n, e = i + n; i < e; i++) {
      const v = x[i];
      if (v > m || v !== v) m = v;
      if (m !== m) break;
    }
    out[r] = m;
  }
  return out;
}

/** Index of the first maximum of each row of `x` viewed as [rows, n]. */
export function argmaxRows(
  x: TypedArray,
  n: number,
  out: Int32Array,
): Int32Array {
  const rows = out.length;
  for (let r = 0; r < rows; r++) {
    let m = -Infinity, k = 0;
    for (let i = 0; i < n; i++) {
      const v = x[r * n + i];
      if (v > m || (v !== v && m === m)) {
        m = v;
        k = i;
        if (v !== v) break;
      }
    }
    out[r] = k;
  }
  return out;
}
