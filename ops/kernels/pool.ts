/**
 * Pooling kernels on NCHW typed arrays. Windows outside the input count as
 * -infinity for max pooling; for average pooling the divisor follows
 * PyTorch (countIncludePad, divisorOverride).
 *
 * @module
 */
import { allocLike, type TypedArray } from "../tensor.ts";
import { POOL_FIELDS } from "./wasm/layout.ts";
import {
  bytesFor,
  runtime,
  taskLists,
  type WasmRuntime,
} from "./wasm/runtime.ts";
import * as ew from "./elementwise.ts";

/** Sizes and settings of one pooling (planes = n·c). */
export interface PoolGeometry {
  planes: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

/**
 * float32 max pooling, and float64 in 2×2 windows of stride 2, with at
 * least this many outputs run in WebAssembly.
 */
const WASM_MIN_OUTPUTS = 256;

/**
 * The argmax of the last max-pooling of each input array (that kept it),
 * keyed by the array itself: the backward pass (`maxPool2dScatter`) asks for
 * the argmax of the same x the forward pass just pooled, and tensors never
 * change, so it is reused instead of recomputed. A WeakMap: the entry goes
 * when the array does (or, in a jit plan, once used: see `maxPoolArgmax`).
 */
const argmaxCache = new WeakMap<
  TypedArray,
  { g: PoolGeometry; idx: Int32Array }
>();

/** The fields of a {@linkcode PoolGeometry}: the planes, then the record's. */
const GEOMETRY_FIELDS = [
  "planes",
  ...POOL_FIELDS.filter((f) => f !== "mask" && f !== "pooled"),
] as readonly (keyof PoolGeometry)[];

/** Whether two geometries are equal, field by field (no key to build). */
function sameGeometry(a: PoolGeometry, b: PoolGeometry): boolean {
  for (let i = 0; i < GEOMETRY_FIELDS.length; i++) {
    if (a[GEOMETRY_FIELDS[i]] !== b[GEOMETRY_FIELDS[i]]) return false;
  }
  return true;
}

/** Keeps the argmax of x pooled in g for the backward pass (g copied: the callers' objects are theirs). */
function keepArgmax(x: TypedArray, g: PoolGeometry, idx: Int32Array): void {
  argmaxCache.set(x, { g: { ...g }, idx });
}

/** 2×2 windows, stride 2, no padding or dilation, all inside: the SIMD kernel's case. */
function isPlain2x2(g: PoolGeometry): boolean {
  return g.kh === 2 && g.kw === 2 && g.sh === 2 && g.sw === 2 &&
    g.ph === 0 && g.pw === 0 && g.dh === 1 && g.dw === 1 &&
    2 * g.oh <= g.h && 2 * g.ow <= g.w;
}

/** The geometry record the pooling kernels read, in the runtime's memory (a mask's address, and whether it holds one value per window). */
function poolRecord(
  rt: WasmRuntime,
  g: PoolGeometry,
  mask = 0,
  pooled = false,
): number {
  const rec = rt.alloc(POOL_FIELDS.length * 4), i32 = rt.i32;
  for (let i = 0; i < POOL_FIELDS.length; i++) {
    const f = POOL_FIELDS[i];
    i32[(rec >> 2) + i] = f === "mask" ? mask : f === "pooled" ? +pooled : g[f];
  }
  return rec;
}

/**
 * The argument lists of a pooling kernel with `n` outputs, its planes
 * split over threads when large: `args` with each task's planes p0, p1
 * inserted at position `at` (lists of `taskLists`).
 */
function planeTasks(
  rt: WasmRuntime,
  g: PoolGeometry,
  n: number,
  args: readonly number[],
  at: number,
): number[][] {
  // (from 2^14 outputs the split pays for waking a worker: LeNet-5's
  // second pooling, 25,600 outputs, and its gradient)
  const parts = n >= 1 << 14 ? rt.split(g.planes, 1, 2) : null;
  const tasks = taskLists(parts ? parts.length : 1);
  for (let t = 0; t < tasks.length; t++) {
    const a = tasks[t];
    for (let i = 0; i < at; i++) a[i] = args[i];
    a[at] = parts ? parts[t][0] : 0;
    a[at + 1] = parts ? parts[t][1] : g.planes;
    for (let i = at; i < args.length; i++) a[i + 2] = args[i];
    a.length = args.length + 2;
  }
  return tasks;
}

/**
 * Float32 elements per element of `x` in the WebAssembly pooling kernels:
 * 1 for float32, 2 for float64 in 2×2 windows of stride 2 (see
 * `isPlain2x2`), 0 when no kernel pools it.
 */
function wasmWords(x: TypedArray, g: PoolGeometry): 0 | 1 | 2 {
  return x instanceof Float32Array
    ? 1
    : x instanceof Float64Array && isPlain2x2(g)
    ? 2
    : 0;
}

/** Whether max pooling of x runs in WebAssembly: a kernel's type, enough outputs, and the arrays fit its memory. */
function maxPoolFits(
  x: TypedArray,
  g: PoolGeometry,
): x is Float32Array | Float64Array {
  const n = g.planes * g.oh * g.ow, words = wasmWords(x, g);
  return words > 0 && n >= WASM_MIN_OUTPUTS &&
    runtime().fits(
      bytesFor(POOL_FIELDS.length, words * x.length, words * n, n),
    );
}

/**
 * Max pooling of float32 or float64 x in WebAssembly: the values (a new
 * array of x's type) when `values` is set, and the argmax (cached for the
 * backward pass) when `argmax` is set.
 */
function maxPoolWasm(
  x: Float32Array | Float64Array,
  g: PoolGeometry,
  values: boolean,
  argmax: boolean,
): { idx: Int32Array | null; out: Float32Array | Float64Array | null } {
  const rt = runtime(), f64 = x instanceof Float64Array;
  rt.reset("maxPool2d");
  const rec = poolRecord(rt, g), px = f64 ? rt.putF64(x) : rt.put(x);
  const nOut = g.planes * g.oh * g.ow;
  const pv = rt.alloc(nOut * x.BYTES_PER_ELEMENT), pi = rt.alloc(nOut * 4);
  rt.parallel(
    f64 ? "maxPool2x2F64" : isPlain2x2(g) ? "maxPool2x2" : "maxPool",
    planeTasks(rt, g, nOut, [rec, px, pv, pi], 2),
  );
  const out = !values
    ? null
    : f64
    ? rt.resultF64(pv, nOut)
    : rt.result(pv, nOut);
  const idx = argmax ? rt.resultI32(pi, nOut, x) : null;
  if (idx) keepArgmax(x, g, idx);
  return { idx, out };
}

/**
 * For each output position, the flat index (within its plane) of the first
 * maximum of its window, in row-major window order (NaN counts as maximal).
 */
export function maxPoolArgmax(x: TypedArray, g: PoolGeometry): Int32Array {
  const hit = argmaxCache.get(x);
  if (hit && sameGeometry(hit.g, g)) {
    // in a jit plan (x a view of its memory), used once (the plan's
    // backward step of that pooling), then forgotten (a later call
    // recomputes the same values): there, an entry left until its array
    // died kept its values through V8's young-generation collections, more
    // than half of what each copied in a jitted LeNet-5 step (46 KB, 19 KB
    // without), which made V8 double its young generation, and the
    // process's memory, within 5,000 steps. Outside a plan every call for
    // x returns the same kept array.
    if (runtime().inPlan(x)) argmaxCache.delete(x);
    return hit.idx;
  }
  if (maxPoolFits(x, g)) return maxPoolWasm(x, g, false, true).idx!;
  return argmaxTS(x, g, true);
}

/**
 * {@linkcode maxPoolArgmax} in TypeScript (what WebAssembly does not pool:
 * small arrays, other types, float64 in other windows): plain 2×2 windows
 * without bounds tests, else the reference;
 * kept for the backward pass when `keep` is set.
 */
function argmaxTS(x: TypedArray, g: PoolGeometry, keep: boolean): Int32Array {
  const idx = isPlain2x2(g) ? argmax2x2(x, g) : maxPoolArgmaxRef(x, g);
  if (keep) keepArgmax(x, g, idx);
  return idx;
}

/**
 * {@linkcode maxPoolArgmaxRef} for 2×2 windows of stride 2 inside x (see
 * `isPlain2x2`): the same first maximum in row-major window order, NaN
 * maximal (the last NaN, as PyTorch).
 */
export function argmax2x2(x: TypedArray, g: PoolGeometry): Int32Array {
  const idx = new Int32Array(g.planes * g.oh * g.ow), w = g.w;
  let o = 0;
  for (let pl = 0; pl < g.planes; pl++) {
    const base = pl * g.h * w;
    for (let oy = 0; oy < g.oh; oy++) {
      const r = 2 * oy * w;
      for (let ox = 0; ox < g.ow; ox++, o++) {
        const i0 = r + 2 * ox, i2 = i0 + w;
        let best = i0, m = x[base + i0], v = x[base + i0 + 1];
        // v > m, or v NaN: v becomes the maximum (the last NaN wins, as
        // PyTorch's: each NaN replaces the maximum)
        if (v > m || v !== v) {
          m = v;
          best = i0 + 1;
        }
        v = x[base + i2];
        if (v > m || v !== v) {
          m = v;
          best = i2;
        }
        v = x[base + i2 + 1];
        if (v > m || v !== v) best = i2 + 1;
        idx[o] = best;
      }
    }
  }
  return idx;
}

/**
 * The taps `[i0, i1)` of a window starting at `p0` (`k` taps `d` apart) that
 * fall inside `[0, n)`: the others are padding, skipped without a visit (a
 * window of 2^20 taps mostly in padding would otherwise take seconds).
 */
function tapsInside(
  p0: number,
  k: number,
  d: number,
  n: number,
): [number, number] {
  const i0 = p0 >= 0 ? 0 : Math.ceil(-p0 / d);
  const i1 = p0 >= n ? 0 : Math.min(k, Math.floor((n - 1 - p0) / d) + 1);
  return [Math.min(i0, i1), i1];
}

/** The TypeScript reference of {@linkcode maxPoolArgmax}. */
export function maxPoolArgmaxRef(x: TypedArray, g: PoolGeometry): Int32Array {
  const idx = new Int32Array(g.planes * g.oh * g.ow);
  let o = 0;
  for (let pl = 0; pl < g.planes; pl++) {
    const base = pl * g.h * g.w;
    for (let oy = 0; oy < g.oh; oy++) {
      const y0 = oy * g.sh - g.ph;
      const [i0, i1] = tapsInside(y0, g.kh, g.dh, g.h);
      for (let ox = 0; ox < g.ow; ox++, o++) {
        const x0 = ox * g.sw - g.pw;
        const [j0, j1] = tapsInside(x0, g.kw, g.dw, g.w);
        let best = -1, m = -Infinity;
        for (let i = i0; i < i1; i++) {
          const y = y0 + i * g.dh;
          for (let j = j0; j < j1; j++) {
            const xx = x0 + j * g.dw;
            const v = x[base + y * g.w + xx];
            if (best < 0 || v > m || v !== v) {
              m = v;
              best = y * g.w + xx;
            }
          }
        }
        idx[o] = best;
      }
    }
  }
  return idx;
}

/**
 * out[o] = t[argmax window position of o] (gathers a plane-shaped t); a
 * window made only of padding (index -1) gives `empty`.
 */
export function poolGather(
  t: TypedArray,
  idx: Int32Array,
  g: PoolGeometry,
  out: TypedArray,
  empty = 0,
): TypedArray {
  const per = g.oh * g.ow, hw = g.h * g.w;
  for (let pl = 0, o = 0; pl < g.planes; pl++) {
    const base = pl * hw;
    for (const e = o + per; o < e; o++) {
      const i = idx[o];
      out[o] = i < 0 ? empty : t[base + i];
    }
  }
  return out;
}

/**
 * maxPool2d's VJP: a new input-shaped array of gr's type, with gr at each
 * window's argmax (summed where windows overlap) and 0 elsewhere; float32
 * 2×2 windows of stride 2 in WebAssembly (float64 stays in TypeScript:
 * copying its large result out of the WebAssembly memory costs more than
 * the loop, which writes only the argmax positions of a zero-filled array).
 * With a `mask` (input-shaped), the result is `reluMask(result, mask)` (the
 * same bits; in WebAssembly as the kernel stores: relu's VJP fused). With
 * `pooled` too (window-shaped: the mask's values at the argmaxes, as max
 * pooling's output is when the mask is its input), the kernel masks each
 * window's g before it routes it: the same bits, reading a quarter as
 * much; the TypeScript loops take `mask` as input-shaped only (the caller
 * passes the input-shaped one, which they then read).
 */
export function maxPoolScatter(
  gr: TypedArray,
  idx: Int32Array,
  g: PoolGeometry,
  mask?: TypedArray,
  pooled?: TypedArray,
): TypedArray {
  const n = g.planes * g.h * g.w;
  if (
    gr instanceof Float32Array && isPlain2x2(g) &&
    gr.length >= WASM_MIN_OUTPUTS &&
    (!mask || mask instanceof Float32Array) &&
    (!pooled || pooled instanceof Float32Array) &&
    runtime().fits(
      bytesFor(POOL_FIELDS.length, gr.length, idx.length, n, mask ? n : 0),
    )
  ) {
    const rt = runtime();
    rt.reset("maxPool2d's gradient");
    const m = mask && pooled ? pooled : mask;
    const pm = m ? rt.put(m as Float32Array) : 0;
    const rec = poolRecord(rt, g, pm, !!(mask && pooled));
    const pg = rt.put(gr), pi = rt.put(idx);
    const po = rt.alloc(4 * n);
    rt.parallel(
      "maxUnpool2x2",
      planeTasks(rt, g, n, [rec, pg, pi, po], 3),
    );
    return rt.result(po, n);
  }
  const out = allocLike(gr, n);
  poolScatter(gr, idx, g, out);
  return mask ? ew.reluMask(out, mask) : out;
}

/** out (input-shaped, zero-filled) += g at each window's argmax position. */
export function poolScatter(
  gr: TypedArray,
  idx: Int32Array,
  g: PoolGeometry,
  out: TypedArray,
): TypedArray {
  const per = g.oh * g.ow, hw = g.h * g.w;
  // float32 and float64 sum in place (float32 as PyTorch); others through a
  // float64 accumulator
  const acc = out instanceof Float32Array || out instanceof Float64Array
    ? out
    : new Float64Array(out.length);
  for (let pl = 0, o = 0; pl < g.planes; pl++) {
    const base = pl * hw;
    for (const e = o + per; o < e; o++) {
      const i = idx[o];
      if (i >= 0) acc[base + i] += gr[o];
    }
  }
  if (acc !== out) out.set(acc);
  return out;
}

/** Divisor options of average pooling. */
export interface AvgOptions {
  countIncludePad: boolean;
  divisorOverride: number | null;
}

/** Calls visit(outIndex, inIndex, weight) for each (output, input) pair of average pooling. */
function forEachAvg(
  g: PoolGeometry,
  o: AvgOptions,
  visit: (out: number, inp: number, weight: number) => void,
): void {
  let k = 0;
  for (let pl = 0; pl < g.planes; pl++) {
    const base = pl * g.h * g.w;
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++, k++) {
        const y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
        const y1 = Math.min(y0 + g.kh, g.h + g.ph),
          x1 = Math.min(x0 + g.kw, g.w + g.pw);
        const padded = (y1 - y0) * (x1 - x0);
        const ys = Math.max(y0, 0), xs = Math.max(x0, 0);
        const ye = Math.min(y1, g.h), xe = Math.min(x1, g.w);
        const divisor = o.divisorOverride ??
          (o.countIncludePad ? padded : (ye - ys) * (xe - xs));
        for (let y = ys; y < ye; y++) {
          for (let x = xs; x < xe; x++) {
            visit(k, base + y * g.w + x, 1 / divisor);
          }
        }
      }
    }
  }
}

/** Average pooling forward. */
export function avgPoolForward(
  x: TypedArray,
  g: PoolGeometry,
  o: AvgOptions,
  out: TypedArray,
): TypedArray {
  const acc = new Float64Array(out.length);
  forEachAvg(g, o, (k, i, w) => (acc[k] += x[i] * w));
  out.set(acc);
  return out;
}

/** The transpose of average pooling (its VJP): spreads each output back over its window. */
export function avgPoolAdjoint(
  y: TypedArray,
  g: PoolGeometry,
  o: AvgOptions,
  out: TypedArray,
): TypedArray {
  const acc = new Float64Array(out.length);
  forEachAvg(g, o, (k, i, w) => (acc[i] += y[k] * w));
  out.set(acc);
  return out;
}

/**
 * Max pooling forward: the value at each window's first maximum, as a new
 * array of x's type (copied into `out` when given). With `keepArgmax` (a
 * backward pass may follow) the WebAssembly kernel also keeps the argmax for
 * {@linkcode maxPoolArgmax}; without it (inference) that array is never made.
 */
export function maxPoolForward(
  x: TypedArray,
  g: PoolGeometry,
  out?: TypedArray,
  keepArgmax = true,
): TypedArray {
  const n = g.planes * g.oh * g.ow;
  if (maxPoolFits(x, g)) {
    // a window of padding only gives -Infinity there too
    const values = maxPoolWasm(x, g, true, keepArgmax).out!;
    if (!out) return values;
    out.set(values);
    return out;
  }
  const o = out ?? allocLike(x, n);
  return poolGather(x, argmaxTS(x, g, keepArgmax), g, o, -Infinity);
}
