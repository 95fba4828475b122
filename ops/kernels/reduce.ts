/**
 * Reductions. `sumAxes` reads the input once in memory order, whatever the
 * axes; the others work over the last axis of a [rows, n] view (the ops move
 * the reduced axes last, a transpose, before calling them).
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";
import { bytesFor, runtime } from "./wasm/runtime.ts";

/** float32 sums with reduced runs at least this long, and this many elements, run in WebAssembly. */
const WASM_MIN_RUN = 32, WASM_MIN_ELEMENTS = 1 << 14;

/**
 * The sum of each run of `len` consecutive floats of x, in WebAssembly (float32
 * vector accumulators, split over threads when large).
 */
function sumRunsWasm(x: Float32Array, len: number): Float32Array {
  const rt = runtime(), runs = x.length / len;
  rt.reset("sum");
  const px = rt.put(x), out = rt.alloc(runs * 4);
  const parts = x.length >= 1 << 18 ? rt.split(runs, 1, 2) : [[0, runs]];
  rt.parallel("sumRuns", parts.map(([r0, r1]) => [px, len, r0, r1, out]));
  return rt.copyOut(out, runs);
}

/**
 * Sums `x` of `shape` over `axes` into `out` (the kept axes in order),
 * reading x in memory order: adjacent axes of the same kind are merged, the
 * innermost run is a tight loop (a running sum when reduced, a row added
 * into the output when kept), so no transpose is needed. Accumulates in
 * float64; float32 runs that are summed whole (a conv bias's gradient: N·C
 * runs of H·W) are first summed in WebAssembly, in float32 vectors.
 */
export function sumAxes(
  x: TypedArray,
  shape: readonly number[],
  axes: readonly number[],
  out: TypedArray,
): TypedArray {
  // merged runs of reduced / kept axes (size-1 axes dropped)
  const dims: number[] = [], reduced: boolean[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const r = axes.includes(i), k = dims.length - 1;
    if (k >= 0 && reduced[k] === r) dims[k] *= d;
    else {
      dims.push(d);
      reduced.push(r);
    }
  });
  const acc = new Float64Array(out.length);
  const nd = dims.length;
  if (x.length === 0) return out;
  if (nd === 0) {
    out[0] = x[0];
    return out;
  }
  // output strides of the merged axes (0 where reduced)
  const ostr = new Array<number>(nd);
  for (let i = nd - 1, s = 1; i >= 0; i--) {
    ostr[i] = reduced[i] ? 0 : s;
    if (!reduced[i]) s *= dims[i];
  }
  const last = nd - 1, inner = dims[last], innerReduced = reduced[last];
  const runs = innerReduced && inner >= WASM_MIN_RUN &&
      x instanceof Float32Array && x.length >= WASM_MIN_ELEMENTS &&
      runtime().fits(bytesFor(x.length, x.length / inner))
    ? sumRunsWasm(x, inner)
    : null;
  const count = new Int32Array(nd);
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
  out.set(acc);
  return out;
}

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
