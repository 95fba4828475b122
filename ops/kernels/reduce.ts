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
 * floats at `ya`: see the kernel) and the values of x (`nx` at `xa`) that
 * are not finite.
 */
export function sparseStats(
  rt: WasmRuntime,
  ya: number,
  ny: number,
  xa: number,
  nx: number,
): { nonzero: number; notFinite: number } {
  const mark = rt.mark(), out = rt.alloc(48), i = out >> 2;
  rt.exports.sparseStats(ya, ny, xa, nx, out);
  const c = rt.i32;
  const nonzero = c[i + 8] - (c[i] + c[i + 1] + c[i + 2] + c[i + 3]);
  const notFinite = c[i + 9] - (c[i + 4] + c[i + 5] + c[i + 6] + c[i + 7]);
  rt.rewind(mark);
  return { nonzero, notFinite };
}

/** float32 sums with reduced runs at least this long, and this many elements, run in WebAssembly. */
const WASM_MIN_RUN = 32, WASM_MIN_ELEMENTS = 1 << 14;

/**
 * The sum of each run of `len` consecutive floats of x, in WebAssembly (float32
 * vector accumulators over blocks of 1024, the blocks added in float64;
 * split over threads when large).
 */
function sumRunsWasm(x: Float32Array, len: number): Float32Array {
  const rt = runtime(), runs = x.length / len;
  rt.reset("sum");
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
  return rt.copyOut(out, runs);
}

/**
 * Sums `x` of `shape` over `axes` into `out` (the kept axes in order),
 * reading x in memory order: adjacent axes of the same kind are merged, the
 * innermost run is a tight loop (a running sum when reduced, a row added
 * into the output when kept), so no transpose is needed. Accumulates in
 * float64; float32 runs that are summed whole (a conv bias's gradient: N·C
 * runs of H·W) are first summed in WebAssembly, in float32 vectors over
 * blocks of 1024 floats whose sums are added in float64.
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
  const runs = innerReduced && inner >= WASM_MIN_RUN &&
      x instanceof Float32Array && x.length >= WASM_MIN_ELEMENTS &&
      runtime().fits(bytesFor(x.length, x.length / inner))
    ? sumRunsWasm(x, inner)
    : null;
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
