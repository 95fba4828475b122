/**
 * Elementwise kernels over typed arrays, with NumPy broadcasting. No tensors,
 * no autodiff: arrays and shapes in, a new array out.
 *
 * @module
 */
import { allocLike, type TypedArray } from "../tensor.ts";
import {
  bytesFor,
  runtime,
  taskLists,
  type TaskName,
  type WasmRuntime,
} from "./wasm/runtime.ts";

/** The broadcast shape of two shapes (NumPy rules), or null when incompatible. */
export function broadcastShapes(
  a: readonly number[],
  b: readonly number[],
): number[] | null {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Strides for reading an array of `shape` broadcast to `outShape` (0 on broadcast axes). */
function broadcastStrides(
  shape: readonly number[],
  outShape: readonly number[],
): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) =>
    i < off || shape[i - off] === 1 ? 0 : own[i - off]
  );
}

/**
 * Calls `row(o, at, inner, step)` for every row of `outShape` (its last
 * axis, `inner` elements from output index o), with `at[j]` the index of
 * the row's first element in input j (of `shapes[j]`, broadcast) and
 * `step[j]` its stride along the row (0 where broadcast): the callers run a
 * tight loop per row. Used by the general paths.
 */
function forEachRow(
  outShape: readonly number[],
  shapes: readonly (readonly number[])[],
  row: (o: number, at: Int32Array, inner: number, step: Int32Array) => void,
): void {
  const nd = outShape.length, k = shapes.length;
  const strides = shapes.map((s) => broadcastStrides(s, outShape));
  const inner = nd === 0 ? 1 : outShape[nd - 1];
  const step = Int32Array.from(strides, (st) => nd === 0 ? 0 : st[nd - 1]);
  const at = new Int32Array(k), counter = new Int32Array(nd);
  let total = 1;
  for (let ax = 0; ax < nd; ax++) total *= outShape[ax];
  for (let o = 0; o < total; o += inner) {
    row(o, at, inner, step);
    // the next row: increment the multi-index of the outer axes
    for (let ax = nd - 2; ax >= 0; ax--) {
      counter[ax]++;
      for (let j = 0; j < k; j++) at[j] += strides[j][ax];
      if (counter[ax] < outShape[ax]) break;
      for (let j = 0; j < k; j++) at[j] -= strides[j][ax] * counter[ax];
      counter[ax] = 0;
    }
  }
}

// ---------------------------------------------------------------------------
// Specialised loops. `unary` and `binary` take the operation as a function.
// A loop that calls many different functions is megamorphic: V8 cannot inline
// the call and every element costs a real call (about 3 ns, 10× the work).
// So each distinct `f` gets its own copy of the loop, made once with
// `new Function` from the source below plus a comment with a fresh number:
// copies of one closure share one feedback vector, and so do functions made
// from the same source text (V8 caches their compilation), which stay
// megamorphic (measured: a 300,000-element mul 0.4 ms alone, 4.6 ms once
// add, sub and div had run through the same loop source); inside a copy,
// `f` is the only callee, V8 inlines it, and the loop runs at typed-array
// speed. The rules
// pass a fixed set of functions, so the caches stay small; they are WeakMaps,
// so a function made per call does not leak.

type Unary = (v: number) => number;
type Binary = (x: number, y: number) => number;
type UnaryLoop = (x: TypedArray, out: TypedArray, f: Unary, n: number) => void;
type BinaryLoop = (
  a: TypedArray,
  b: TypedArray,
  out: TypedArray,
  f: Binary,
  n: number,
  shape: readonly number[],
  sa: readonly number[],
  sb: readonly number[],
) => void;

const UNARY_SOURCE = "for (let i = 0; i < n; i++) out[i] = f(x[i]);";
/** One loop per broadcast case: same length, b a scalar, a a scalar, strided. */
const BINARY_SOURCES = [
  "for (let i = 0; i < n; i++) out[i] = f(a[i], b[i]);",
  "const y = b[0]; for (let i = 0; i < n; i++) out[i] = f(a[i], y);",
  "const x = a[0]; for (let i = 0; i < n; i++) out[i] = f(x, b[i]);",
  // strided: the last axis is a tight loop, the others a counter
  `const nd = shape.length, last = nd - 1, inner = shape[last];
  const ia = sa[last], ib = sb[last];
  const count = new Int32Array(nd);
  let pa = 0, pb = 0;
  for (let o = 0; o < n; o += inner) {
    for (let j = 0, qa = pa, qb = pb; j < inner; j++, qa += ia, qb += ib) {
      out[o + j] = f(a[qa], b[qb]);
    }
    for (let ax = last - 1; ax >= 0; ax--) {
      count[ax]++;
      pa += sa[ax];
      pb += sb[ax];
      if (count[ax] < shape[ax]) break;
      pa -= sa[ax] * count[ax];
      pb -= sb[ax] * count[ax];
      count[ax] = 0;
    }
  }`,
];

/** A letter per array type, so each loop copy sees one element type per array. */
function tag(x: TypedArray): string {
  return x instanceof Float32Array
    ? "f"
    : x instanceof Float64Array
    ? "d"
    : "i";
}

const unaryLoops = new WeakMap<Unary, Map<string, UnaryLoop>>();
/** Numbers the loop copies, so that no two have the same source text. */
let loopCopies = 0;
const binaryLoops = new WeakMap<Binary, Map<string, BinaryLoop>>();

function unaryLoop(f: Unary, key: string): UnaryLoop {
  let byKey = unaryLoops.get(f);
  if (!byKey) unaryLoops.set(f, byKey = new Map());
  let loop = byKey.get(key);
  if (!loop) {
    loop = new Function(
      "x",
      "out",
      "f",
      "n",
      `${UNARY_SOURCE} // copy ${loopCopies++}`,
    ) as UnaryLoop;
    byKey.set(key, loop);
  }
  return loop;
}

function binaryLoop(f: Binary, mode: number, key: string): BinaryLoop {
  let byKey = binaryLoops.get(f);
  if (!byKey) binaryLoops.set(f, byKey = new Map());
  let loop = byKey.get(mode + key);
  if (!loop) {
    loop = new Function(
      "a",
      "b",
      "out",
      "f",
      "n",
      "shape",
      "sa",
      "sb",
      `${BINARY_SOURCES[mode]}\n// copy ${loopCopies++}`,
    ) as BinaryLoop;
    byKey.set(mode + key, loop);
  }
  return loop;
}

/** Applies `f` to each element. */
export function unary(
  x: TypedArray,
  out: TypedArray,
  f: (v: number) => number,
): TypedArray {
  unaryLoop(f, tag(x) + tag(out))(x, out, f, x.length);
  return out;
}

const NONE: readonly number[] = [];

/** Applies `f` elementwise to two broadcast arrays, writing into `out` of `outShape`. */
export function binary(
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
  f: (x: number, y: number) => number,
): TypedArray {
  const n = out.length;
  if (n === 0) return out;
  const mode = a.length === n && b.length === n
    ? 0
    : b.length === 1 && a.length === n
    ? 1
    : a.length === 1 && b.length === n
    ? 2
    : 3;
  const loop = binaryLoop(f, mode, tag(a) + tag(b) + tag(out));
  if (mode < 3) loop(a, b, out, f, n, NONE, NONE, NONE);
  else {
    loop(
      a,
      b,
      out,
      f,
      n,
      outShape,
      broadcastStrides(aShape, outShape),
      broadcastStrides(bShape, outShape),
    );
  }
  return out;
}

/** The plain (unspecialised) loops: the reference for the tests. */
export function unaryRef(
  x: TypedArray,
  out: TypedArray,
  f: (v: number) => number,
): TypedArray {
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}

/** The plain broadcast loop of {@linkcode binary}: the reference for the tests. */
export function binaryRef(
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
  f: (x: number, y: number) => number,
): TypedArray {
  forEachRow(outShape, [aShape, bShape], (o, at, inner, step) => {
    for (let j = 0, p = at[0], q = at[1]; j < inner; j++) {
      out[o + j] = f(a[p], b[q]);
      p += step[0];
      q += step[1];
    }
  });
  return out;
}

/** `where` of one element: a where c is nonzero, else b. */
export const selectScalar = (c: number, a: number, b: number): number =>
  c !== 0 ? a : b;

/** Writes `c ? a : b` elementwise (broadcast) into `out`. */
export function select(
  c: TypedArray,
  cShape: readonly number[],
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
): TypedArray {
  forEachRow(outShape, [cShape, aShape, bShape], (o, at, inner, step) => {
    const [sc, sa, sb] = step;
    for (let j = 0, p = at[0], q = at[1], r = at[2]; j < inner; j++) {
      out[o + j] = c[p] !== 0 ? a[q] : b[r]; // selectScalar
      p += sc;
      q += sa;
      r += sb;
    }
  });
  return out;
}

/** Copies `x` of `shape` broadcast to `outShape` into `out`. */
export function broadcastTo(
  x: TypedArray,
  shape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
): TypedArray {
  if (x.length === 1) out.fill(x[0]);
  else {
    forEachRow(outShape, [shape], (o, at, inner, step) => {
      const p = at[0];
      if (step[0] === 0) out.fill(x[p], o, o + inner);
      else for (let j = 0; j < inner; j++) out[o + j] = x[p + j];
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// relu and its VJP: the largest elementwise arrays of a CNN step. float32
// arrays of at least WASM_MIN_ELEMENTS run in WebAssembly SIMD
// (branch-free: a max, or an AND with the comparison's mask), and so does
// float64 relu; the result is copied out of the WebAssembly memory by
// `result` (float64: `readF64`). float64 reluMask stays in TypeScript:
// copying its two inputs in and its result out made the kernel no faster
// in the LeNet-5 step.

/** float32 elementwise kernels, and float64 relu, with at least this many elements run in WebAssembly. */
export const WASM_MIN_ELEMENTS = 1 << 12;

/**
 * relu of one element, `Math.max(v, 0)` (NaN kept, -0 as +0) without a
 * branch on the sign, which costs 6-8x on random signs: the mask product,
 * + 0 turning -0 into +0; only -Infinity (where the product is NaN) takes
 * the rarely taken branch.
 */
const reluScalar = (v: number) => v === -Infinity ? 0 : v * +(v > 0) + 0;

/**
 * relu's mask of one element, `x <= 0 ? 0 : g` (a NaN x passes g, as
 * PyTorch's threshold_backward), without a branch on the sign where g is
 * finite (as `reluScalar`): g times the mask m, plus a zero that keeps a -0
 * where m = 1 (-0) and turns one into +0 where m = 0 (+0).
 */
const reluMaskScalar = (g: number, x: number) => {
  const m = +!(x <= 0);
  return g - g === 0 ? g * m + (0 - m) * 0 : m ? g : 0;
};

/**
 * The argument lists of an elementwise WebAssembly kernel over `n`
 * elements of `bytes` each at the addresses `x`, `y` (unless -1) and
 * `out`: one range per thread from 2^20 elements on, else one (lists of
 * `taskLists`). The copies in and out run on the calling thread either
 * way, and the loop itself is short: on LeNet-sized arrays (301,056
 * elements) waking a worker cost more than it saved (add, div and relu's
 * VJP 1.5-2x slower split over 2 threads).
 */
function wasmTasks(
  n: number,
  x: number,
  y: number,
  out: number,
  bytes: number,
): number[][] {
  const parts = n >= 1 << 20 ? runtime().split(n, 1 << 15) : null;
  const tasks = taskLists(parts ? parts.length : 1);
  for (let t = 0; t < tasks.length; t++) {
    const lo = parts ? parts[t][0] : 0, hi = parts ? parts[t][1] : n;
    const args = tasks[t];
    let k = 0;
    args[k++] = x + bytes * lo;
    if (y >= 0) args[k++] = y + bytes * lo;
    args[k++] = out + bytes * lo;
    args[k++] = hi - lo;
    args.length = k;
  }
  return tasks;
}

/**
 * Runs the elementwise WebAssembly kernel `fn` over `n` float32 or float64
 * of x (and y, unless null; the same type) (see `wasmTasks`); returns its
 * result as a new array of their type, or null when the arrays are short
 * or do not fit the WebAssembly memory (the caller then runs the
 * TypeScript loop).
 */
function lanewise<A extends Float32Array | Float64Array>(
  fn: TaskName,
  x: A,
  y: A | null,
  n: number,
): A | null {
  const rt = runtime(), words = x instanceof Float64Array ? 2 : 1;
  if (
    n < WASM_MIN_ELEMENTS ||
    !rt.fits(
      bytesFor(words * n, words * x.length) +
        (y ? bytesFor(words * y.length) : 0),
    )
  ) {
    return null;
  }
  rt.reset(fn);
  const px = putIn(rt, x), py = y ? putIn(rt, y) : -1;
  const po = rt.alloc(4 * words * n);
  rt.parallel(fn, wasmTasks(n, px, py, po, 4 * words));
  return (words === 2 ? rt.resultF64(po, n) : rt.result(po, n)) as A;
}

/** Copies float32 or float64 `a` into the runtime's memory; returns its address. */
const putIn = (rt: WasmRuntime, a: Float32Array | Float64Array) =>
  a instanceof Float64Array ? rt.putF64(a) : rt.put(a);

/** max(x, 0) elementwise, NaN kept, -0 as 0: a new array of x's type. */
export function relu(x: TypedArray): TypedArray {
  return (x instanceof Float32Array && lanewise("relu", x, null, x.length)) ||
    (x instanceof Float64Array && lanewise("reluF64", x, null, x.length)) ||
    unary(x, allocLike(x, x.length), reluScalar);
}

/** The arithmetic with a WebAssembly kernel for same-shape float32 arrays. */
export type ArithOp = "add" | "sub" | "mul" | "div";

/**
 * `a op b` of two float32 arrays of `n` (no broadcasting) in WebAssembly, as
 * a new array, bit for bit the TypeScript loop's result (float32 rounding of
 * the exact result either way); null when the arrays are not that, or are
 * short (the caller then runs the loop).
 */
export function arithF32(
  op: ArithOp,
  a: TypedArray,
  b: TypedArray,
  n: number,
): Float32Array | null {
  if (
    !(a instanceof Float32Array && b instanceof Float32Array) ||
    a.length !== n || b.length !== n
  ) return null;
  return lanewise(ARITH_F32[op], a, b, n);
}

/** The WebAssembly kernel of each {@linkcode ArithOp}. */
const ARITH_F32 = {
  add: "addF32",
  sub: "subF32",
  mul: "mulF32",
  div: "divF32",
} as const satisfies Record<ArithOp, TaskName>;

/** `x <= 0 ? 0 : g` elementwise (relu's VJP; a NaN in x passes g, as PyTorch): a new array of g's type. */
export function reluMask(g: TypedArray, x: TypedArray): TypedArray {
  return (g instanceof Float32Array && x instanceof Float32Array &&
    lanewise("reluMask", g, x, g.length)) ||
    reluMaskRef(g, x);
}

/** The TypeScript loop of {@linkcode reluMask}: the reference for the tests. */
export function reluMaskRef(g: TypedArray, x: TypedArray): TypedArray {
  const out = allocLike(g, g.length);
  for (let i = 0; i < g.length; i++) out[i] = reluMaskScalar(g[i], x[i]);
  return out;
}

/** `min(max(x, lo), hi)` elementwise into `out` (NaN stays NaN; lo > hi gives hi). */
export function clamp(
  x: TypedArray,
  out: TypedArray,
  lo: number,
  hi: number,
): TypedArray {
  for (let i = 0; i < x.length; i++) {
    const r = x[i] < lo ? lo : x[i];
    out[i] = r > hi ? hi : r;
  }
  return out;
}
