/**
 * Tensors: immutable, row-major, contiguous records `{ shape, dtype, data }`,
 * and the functions that create and read them.
 *
 * @module
 */

/** The element types a tensor can hold. float32 is the default. */
export type DType = "float32" | "float64" | "int32";

/** The typed array behind a tensor of each dtype. */
export type TypedArray = Float32Array | Float64Array | Int32Array;

/**
 * An immutable n-dimensional array. The record and its shape are frozen; the
 * typed-array data cannot be frozen, so no op ever writes into it.
 */
export interface Tensor {
  /** Size of each axis, outermost first. `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** The elements in row-major order (length = product of shape). */
  readonly data: TypedArray;
}

/** Nested arrays of numbers, as accepted by {@linkcode tensor} and returned by {@linkcode toArray}. */
export type NestedArray = number | NestedArray[];

const ARRAY_OF = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
} as const;

/** Result dtype of a binary op (float64 > float32 > int32). @internal */
export function promote(a: DType, b: DType): DType {
  if (a === "float64" || b === "float64") return "float64";
  if (a === "float32" || b === "float32") return "float32";
  return "int32";
}

/**
 * A PRNG key (`random.key`): two uint32 words, frozen. It is deliberately
 * not a Tensor, so tree utilities never take it for a parameter; `jit`
 * traces one passed to it (its words stand for an int32 tensor). Make one
 * with `random.key` and derive more with `random.split`.
 */
export interface Key {
  /** Tag that marks the record as a PRNG key. */
  readonly kind: "key";
  /** The two uint32 words `[hi, lo]`, as in JAX's `key_data`. */
  readonly words: readonly [number, number];
}

/** Allocates a zero-filled typed array for `dtype` (in the arena, when one is set). @internal */
export function allocData(dtype: DType, size: number): TypedArray {
  return arena?.(dtype, size) ?? freshData(dtype, size);
}

/** Allocates a zero-filled array of `n` of `data`'s type (as `allocData`). @internal */
export function allocLike(data: TypedArray, n: number): TypedArray {
  return allocData(dtypeOfArray(data), n);
}

/** Allocates a zero-filled typed array for `dtype` of its own (never in the arena). @internal */
export function freshData(dtype: DType, size: number): TypedArray {
  return new ARRAY_OF[dtype](size);
}

/**
 * Makes the C allocator keep freed arrays for reuse, once, when this module
 * loads. glibc's malloc hands out blocks from 128 KiB up as fresh mappings
 * and gives them back on free, so every new activation-sized array (a
 * LeNet conv output is 1.2 MiB) page-faults each of its pages in again;
 * freeing one mapped block raises that threshold to the block's size (and
 * the heap's trim threshold to twice it), up to 32 MiB. One buffer just
 * under that, made and freed at once (`transfer(0)` releases its memory
 * without a garbage collection), does that: relu's forward and VJP of float32
 * [64,6,28,28] (two new arrays a call) went from about 160 page faults and
 * 560 µs a call to none and 280 µs. Other C libraries ignore it.
 */
function keepFreedArrays(): void {
  const buffer = new ArrayBuffer((32 << 20) - 8192);
  new Uint8Array(buffer)[0] = 1; // (touched: a real block, not a reserved one)
  buffer.transfer?.(0);
}
keepFreedArrays();

/** Where `allocData` takes memory while `withArena` runs (null: a fresh array). */
let arena: ((dtype: DType, size: number) => TypedArray | null) | null = null;

/**
 * Runs `f` with `allocData` asking `take` first (a jit replay keeps its
 * intermediates in WebAssembly memory so). @internal
 */
export function withArena<T>(
  take: (dtype: DType, size: number) => TypedArray | null,
  f: () => T,
): T {
  const outer = arena;
  arena = take;
  try {
    return f();
  } finally {
    arena = outer;
  }
}

/**
 * The most elements one typed array of `dtype` can hold: V8 caps an
 * ArrayBuffer at 2^53 - 1 bytes (below that, the machine's memory is the
 * limit). @internal
 */
export function maxElements(dtype: DType): number {
  return Math.floor(
    Number.MAX_SAFE_INTEGER / ARRAY_OF[dtype].BYTES_PER_ELEMENT,
  );
}

/**
 * Allocates the zero-filled data of a new tensor of `shape`, or throws an
 * error naming `fn`, the shape, its element count and the most a typed array
 * can hold, instead of V8's bare `RangeError`. @internal
 */
export function allocShape(
  fn: string,
  dtype: DType,
  shape: readonly number[],
): TypedArray {
  const n = sizeOf(shape);
  const most = maxElements(dtype);
  const what = `${fn}: shape [${shape}] has ${n} elements`;
  if (n > most) {
    throw new Error(
      `${what}, more than a ${dtype} typed array can hold (${most})`,
    );
  }
  try {
    return allocData(dtype, n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const gib = (n * ARRAY_OF[dtype].BYTES_PER_ELEMENT / 2 ** 30).toFixed(1);
    throw new Error(
      `${what} (${gib} GiB of ${dtype}), more than this machine could allocate (a ${dtype} typed array can hold at most ${most} elements; V8: ${e.message})`,
    );
  }
}

/** The dtype that a typed array stores. @internal */
export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  return "int32";
}

/** Product of a shape's sizes (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Checks that `dtype` is a known dtype. @internal */
export function checkDType(fn: string, dtype: unknown): DType {
  if (dtype !== "float32" && dtype !== "float64" && dtype !== "int32") {
    throw new Error(
      `${fn}: dtype must be "float32", "float64" or "int32", got ${
        showValue(dtype)
      }`,
    );
  }
  return dtype;
}

/** The most dimensions a tensor can have (PyTorch's limit). */
const MAX_RANK = 64;

/** The largest size of one dimension: the index range of the kernels' typed arrays. */
const MAX_DIM = 2 ** 31 - 1;

/** int32's range. */
const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/**
 * Checks that `shape` is an array of at most {@linkcode MAX_RANK}
 * non-negative integers. A shape with no elements has each size at most
 * {@linkcode MAX_DIM} too (a 0 beside it would let any size through); one
 * with elements is bounded by its element count, which
 * {@linkcode allocShape} checks (naming the function, count and limit).
 * @internal
 */
export function checkShape(
  fn: string,
  shape: unknown,
  name = "shape",
): number[] {
  // (a for loop, not every(), so that a hole in a sparse array is caught)
  let ok = Array.isArray(shape);
  for (let i = 0; ok && i < (shape as unknown[]).length; i++) {
    const d = (shape as unknown[])[i];
    ok = Number.isInteger(d) && (d as number) >= 0;
  }
  if (!ok || !Array.isArray(shape)) {
    throw new Error(
      `${fn}: ${name} must be an array of non-negative integers, got ${
        showValue(shape)
      }`,
    );
  }
  if (shape.length > MAX_RANK) {
    throw new Error(
      `${fn}: ${name} must have at most ${MAX_RANK} dimensions, got ${shape.length}`,
    );
  }
  const big = shape.findIndex((d: number) => d > MAX_DIM);
  if (big >= 0 && shape.includes(0)) {
    throw new Error(
      `${fn}: ${name}[${big}] must be at most ${MAX_DIM} (2^31 - 1), got ${
        shape[big]
      }`,
    );
  }
  return shape as number[];
}

/**
 * Throws unless `v` converts to int32 without overflow, as PyTorch checks a
 * number it stores as int32: NaN, ±Infinity and numbers outside
 * [-2^31, 2^31 - 1] do not; a fraction in range truncates toward zero.
 * `what` names the number in the message. @internal
 */
export function checkInt32(fn: string, what: string, v: number): void {
  if (!(v >= INT32_MIN && v <= INT32_MAX)) {
    throw new Error(
      `${fn}: ${what} must be a number in int32's range [-2147483648, 2147483647] for dtype "int32", got ${v}`,
    );
  }
}

/**
 * Wraps a typed array as a tensor without copying. The caller promises never
 * to write into `data` afterwards. Used by ops and kernels. @internal
 */
export function fromData(
  data: TypedArray,
  shape: readonly number[],
): Tensor {
  return Object.freeze({
    // (a frozen shape, such as another tensor's, is shared as it is)
    shape: Object.isFrozen(shape) ? shape : Object.freeze(shape.slice()),
    dtype: dtypeOfArray(data),
    data,
  });
}

/** Options for creating a tensor. */
export interface TensorOptions {
  /** The shape; inferred from nested arrays when omitted. */
  shape?: readonly number[];
  /**
   * Element type; default float32 (float64 for a Float64Array, int32 for an
   * Int32Array or another typed array of integers, such as a Uint8Array).
   */
  dtype?: DType;
}

function flattenNested(
  values: NestedArray,
  fn: string,
): { shape: number[]; flat: number[] } {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    if (shape.length === MAX_RANK) {
      throw new Error(
        `${fn}: values must be nested at most ${MAX_RANK} arrays deep (a tensor has at most ${MAX_RANK} dimensions), got more`,
      );
    }
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  const flat: number[] = [];
  const walk = (x: NestedArray, depth: number, path: string, hole = false) => {
    if (depth === shape.length) {
      if (typeof x !== "number") {
        throw new Error(
          `${fn}: values must be numbers or nested arrays of equal length; at ${path} expected a number, got ${
            hole
              ? "an empty slot (a hole in a sparse array)"
              : Array.isArray(x)
              ? "an array"
              : typeof x
          }`,
        );
      }
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new Error(
        `${fn}: ragged nested array; at ${path} expected an array of length ${
          shape[depth]
        }, got ${
          Array.isArray(x)
            ? `length ${x.length}`
            : hole
            ? "an empty slot (a hole in a sparse array)"
            : typeof x
        }`,
      );
    }
    // (a for loop, not forEach, which skips the holes of a sparse array)
    for (let i = 0; i < x.length; i++) {
      walk(x[i], depth + 1, `${path}[${i}]`, !(i in x));
    }
  };
  walk(values, 0, "values");
  return { shape, flat };
}

/**
 * Creates a tensor from nested arrays, a flat array or typed array with a
 * shape, or a scalar.
 *
 * @example
 * ```ts
 * import { tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const t = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(t.shape, [2, 3]);
 * assert.equal(t.dtype, "float32");
 * assert.deepEqual(tensor([1, 2, 3, 4], { shape: [2, 2], dtype: "int32" }).shape, [2, 2]);
 * ```
 */
export function tensor(
  values: NestedArray | TypedArray | readonly number[],
  options?: TensorOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "tensor";
  checkOptions(fn, options, ["shape", "dtype"]);
  let dtype: DType | undefined = options.dtype === undefined
    ? undefined
    : checkDType(fn, options.dtype);
  let flat: ArrayLike<number>;
  let shape: number[];
  // the shape of `values` as given, which int32 errors index
  let given: number[] = [];
  if (ArrayBuffer.isView(values)) {
    flat = values as TypedArray;
    const inferred = typedArrayDType(fn, values); // (checks it, too)
    dtype ??= inferred;
    given = [(values as TypedArray).length];
    shape = options.shape ? checkShape(fn, options.shape) : given;
  } else if (typeof values === "number") {
    flat = [values];
    shape = options.shape ? checkShape(fn, options.shape) : [];
  } else if (Array.isArray(values)) {
    const nested = flattenNested(values as NestedArray, fn);
    flat = nested.flat;
    given = nested.shape;
    shape = options.shape ? checkShape(fn, options.shape) : nested.shape;
  } else {
    throw new Error(
      `${fn}: values must be a number, a (nested) array or a typed array, got ${typeof values}`,
    );
  }
  dtype ??= "float32";
  if (sizeOf(shape) !== flat.length) {
    throw new Error(
      `${fn}: shape [${shape}] needs ${
        sizeOf(shape)
      } values, got ${flat.length}`,
    );
  }
  if (dtype === "int32" && !(flat instanceof Int32Array)) {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (!(v >= INT32_MIN && v <= INT32_MAX)) {
        checkInt32(fn, `values${indexPath(i, given)}`, v);
      }
    }
  }
  const data = allocShape(fn, dtype, shape);
  data.set(flat);
  return fromData(data, shape);
}

/**
 * The default dtype of a typed array passed to {@linkcode tensor}: float64
 * for a Float64Array, float32 for a Float32Array or Float16Array, int32 for
 * an array of integers (Int32Array, and Int8, Uint8, Uint8Clamped, Int16,
 * Uint16 and Uint32 arrays, whose values stay integers as in PyTorch; a
 * Uint32Array's values past 2^31 - 1 are then an error). A BigInt64Array,
 * BigUint64Array or DataView is an error.
 */
function typedArrayDType(fn: string, values: ArrayBufferView): DType {
  if (values instanceof Float64Array) return "float64";
  if (values instanceof Float32Array) return "float32";
  const name = values.constructor?.name ?? "ArrayBufferView";
  if (
    values instanceof DataView || values instanceof BigInt64Array ||
    values instanceof BigUint64Array
  ) {
    throw new Error(
      `${fn}: values must be numbers; a ${name} is not supported (use a Float32Array, Float64Array or Int32Array, or convert: Int32Array.from(values, Number))`,
    );
  }
  // (a Float16Array, where the runtime has one: its values are exact in float32)
  return name === "Float16Array" ? "float32" : "int32";
}

/** Flat index `i` as the nested index into an array of `shape`: `[1][0]`. */
function indexPath(i: number, shape: readonly number[]): string {
  let path = "";
  for (let a = shape.length - 1; a >= 0; a--) {
    path = `[${i % shape[a]}]${path}`;
    i = Math.floor(i / shape[a]);
  }
  return path;
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { zeros } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...zeros([2, 2]).data], [0, 0, 0, 0]);
 * ```
 */
export function zeros(
  shape: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  if (options === undefined) options = {};
  return filled("zeros", shape, 0, options);
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import { ones } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...ones([3], { dtype: "int32" }).data], [1, 1, 1]);
 * ```
 */
export function ones(
  shape: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  if (options === undefined) options = {};
  return filled("ones", shape, 1, options);
}

/**
 * A tensor filled with `value`.
 *
 * @example
 * ```ts
 * import { full } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...full([2], 7).data], [7, 7]);
 * ```
 */
export function full(
  shape: readonly number[],
  value: number,
  options?: { dtype?: DType },
): Tensor {
  if (options === undefined) options = {};
  return filled("full", shape, value, options);
}

/** full, zeros and ones, with `fn` naming the caller in errors. */
function filled(
  fn: string,
  shape: readonly number[],
  value: number,
  options: { dtype?: DType },
): Tensor {
  checkOptions(fn, options, ["dtype"]);
  checkShape(fn, shape);
  if (typeof value !== "number") {
    throw new Error(`${fn}: value must be a number, got ${typeof value}`);
  }
  const dtype = options.dtype ? checkDType(fn, options.dtype) : "float32";
  if (dtype === "int32") checkInt32(fn, "value", value);
  const data = allocShape(fn, dtype, shape);
  if (!Object.is(value, 0)) data.fill(value); // (-0 is not +0)
  return fromData(data, shape);
}

/**
 * Evenly spaced values in `[start, stop)`, as `torch.arange`: with one
 * number it counts from 0; there are `ceil((stop - start) / step)` values
 * (none when that is not positive, as `numpy.arange`, where torch throws),
 * with torch 1.13's exact values on x86 with AVX2 (`start + step·i` by a
 * fused multiply-add in float64 and rounded once to the dtype, except inside
 * torch's vectorised blocks of 8 float32 or int32 or 4 float64 values, in
 * pairs, whose values add `j·step` to the block's first; beyond 32768 values
 * as torch on one thread). An int32 arange counts from the truncated start
 * by the truncated step, as torch (`arange(-0.5, 3, { dtype: "int32" })` is
 * `[0, 1, 2, 3]`), and a step that truncates to 0 is an error. The options
 * may take the place of the numbers left out (`arange(5, { dtype: "int32" })`,
 * as `jnp.arange(5, dtype=...)`).
 *
 * @example
 * ```ts
 * import { arange } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...arange(4).data], [0, 1, 2, 3]);
 * assert.deepEqual([...arange(1, 2, 0.25, { dtype: "float64" }).data], [1, 1.25, 1.5, 1.75]);
 * assert.equal(arange(3, { dtype: "int32" }).dtype, "int32");
 * ```
 */
export function arange(
  start: number,
  stop?: number | { dtype?: DType },
  step?: number | { dtype?: DType },
  options?: { dtype?: DType },
): Tensor {
  const fn = "arange";
  const [[stop_, step_ = 1], opts] = numbersThenOptions(
    fn,
    [stop, step],
    options,
  );
  let [a, b] = [start, stop_];
  if (b === undefined) [a, b] = [0, a];
  if (!(typeof step_ === "number" && step_ !== 0 && Number.isFinite(step_))) {
    throw new Error(
      `${fn}: step must be a finite non-zero number, got ${shown(step_)}`,
    );
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new Error(
      `${fn}: start and stop must be finite numbers, got ${shown(a)} and ${
        shown(b)
      }`,
    );
  }
  // (the count from the numbers as given, in float64, as torch's)
  const n = Math.max(0, Math.ceil(((b as number) - a) / step_));
  const dtype = opts.dtype ? checkDType(fn, opts.dtype) : "float32";
  let [start_, stepN] = [a, step_];
  if (dtype === "int32") {
    // torch's int32 arange truncates start and step first
    [start_, stepN] = [Math.trunc(a), Math.trunc(step_)];
    if (stepN === 0) {
      throw new Error(
        `${fn}: step ${step_} truncates to 0 for dtype "int32" (as torch, which counts from the truncated start by the truncated step); give an integer step`,
      );
    }
    if (n > 0) {
      // the values run from the first to the last
      checkInt32(fn, "the first value", start_);
      checkInt32(
        fn,
        `the last value (index ${n - 1})`,
        start_ + (n - 1) * stepN,
      );
    }
  }
  const data = allocShape(fn, dtype, [n]);
  // the value's rounding to the dtype (int32's are integers already)
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  // torch's values: start + step·i by a fused multiply-add in float64,
  // except in its vectorised blocks (8 float32 or int32, 4 float64, in
  // pairs), whose values add j·step to the block's first, rounded to the
  // dtype
  const lanes = dtype === "float64" ? 4 : 8;
  const blocks = n - (n % (2 * lanes));
  let i = 0;
  for (; i < blocks; i += lanes) {
    const base = r(fma(stepN, i, start_, f64));
    for (let j = 0; j < lanes; j++) data[i + j] = fma(j, stepN, base, f64);
  }
  for (; i < n; i++) data[i] = fma(stepN, i, start_, f64);
  return fromData(data, [n]);
}

/** No rounding: float64's (the fused multiply-add's own rounding is float64's). */
const f64 = (v: number) => v;

/** A number as it is, anything else described (creation functions' messages). */
const shown = (v: unknown): string =>
  typeof v === "number" ? String(v) : describe(v);

/**
 * The optional numbers of a creation function, and its options, which may
 * take the place of the numbers left out (`eye(3, { dtype })`): the numbers
 * (undefined where left out) and the checked options.
 */
function numbersThenOptions(
  fn: string,
  numbers: readonly unknown[],
  options: unknown,
): [(number | undefined)[], { dtype?: DType }] {
  const at = numbers.findIndex((v) => typeof v === "object" && v !== null);
  const given = at < 0 ? numbers : numbers.slice(0, at);
  const rest = at < 0 ? [options] : [...numbers.slice(at + 1), options];
  if (rest.slice(at < 0 ? 1 : 0).some((v) => v !== undefined)) {
    throw new Error(
      `${fn}: the options must be the last argument, got ${
        describe(rest.find((v) => v !== undefined))
      } after them`,
    );
  }
  const opts = (at < 0 ? options : numbers[at]) ?? {};
  checkOptions(fn, opts as object, ["dtype"]);
  for (const v of given) {
    if (v !== undefined && typeof v !== "number") {
      throw new Error(
        `${fn}: expected a number or the options, got ${describe(v)}`,
      );
    }
  }
  return [given as (number | undefined)[], opts as { dtype?: DType }];
}

/**
 * The identity matrix `[n, m]` (m defaults to n): ones on the diagonal, as
 * `torch.eye`.
 *
 * @example
 * ```ts
 * import { eye, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(eye(2)), [[1, 0], [0, 1]]);
 * assert.deepEqual(toArray(eye(2, 3, { dtype: "int32" })), [[1, 0, 0], [0, 1, 0]]);
 * assert.equal(eye(2, { dtype: "float64" }).dtype, "float64");
 * ```
 */
export function eye(
  n: number,
  m?: number | { dtype?: DType },
  options?: { dtype?: DType },
): Tensor {
  const fn = "eye";
  const [[cols = n], opts] = numbersThenOptions(fn, [m], options);
  if (![n, cols].every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw new Error(
      `${fn}: n and m must be integers >= 0, got ${shown(n)} and ${
        shown(cols)
      }`,
    );
  }
  const shape = [n, cols as number];
  const data = allocShape(
    fn,
    opts.dtype ? checkDType(fn, opts.dtype) : "float32",
    shape,
  );
  const m_ = shape[1];
  for (let i = 0; i < Math.min(n, m_); i++) data[i * m_ + i] = 1;
  return fromData(data, shape);
}

/**
 * `num` numbers spaced evenly on a log scale from `base^start` to
 * `base^stop`, as `torch.logspace` and `jnp.logspace`; PyTorch's values:
 * the step from `stop - start` in the dtype, the exponents in float64
 * (`start + step·i` for the first half, from `stop` for the second), each
 * power rounded once to the dtype.
 *
 * @example
 * ```ts
 * import { logspace, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(logspace(0, 3, 4, { dtype: "float64" })), [1, 10, 100, 1000]);
 * assert.deepEqual(toArray(logspace(-1, 1, 3, { base: 2 })), [0.5, 1, 2]);
 * ```
 */
export function logspace(
  start: number,
  stop: number,
  num: number,
  options?: { base?: number; dtype?: DType },
): Tensor {
  const fn = "logspace";
  const o = checkOptions(fn, options, ["base", "dtype"]);
  const base = (o.base ?? 10) as number;
  for (
    const [name, v] of [["start", start], ["stop", stop], [
      "options.base",
      base,
    ]] as const
  ) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(
        `${fn}: ${name} must be a finite number, got ${describe(v)}`,
      );
    }
  }
  if (!Number.isInteger(num) || num < 0) {
    throw new Error(`${fn}: num must be an integer >= 0, got ${describe(num)}`);
  }
  const dtype = o.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") {
    throw new Error(
      `${fn}: options.dtype must be "float32" or "float64", got ${
        describe(dtype)
      }`,
    );
  }
  const data = allocShape(fn, dtype, [num]);
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  const s = r(start), e = r(stop);
  // (stop - start in the dtype, then the step in float64, as PyTorch)
  const step = num > 1 ? r(e - s) / (num - 1) : 0, half = Math.floor(num / 2);
  for (let i = 0; i < num; i++) {
    data[i] = base ** (i < half ? s + step * i : e - step * (num - i - 1));
  }
  return fromData(data, [num]);
}

/**
 * `num` evenly spaced values from `start` to `stop`, both included, with
 * torch.linspace's exact values (the bits of PyTorch 1.13 on x86 with AVX2:
 * for any thread count up to 32768 values, and beyond that as torch on one
 * thread; with more threads torch splits a longer range among them and its
 * last bits depend on how many). The step is `(stop - start) / (num - 1)` in
 * the dtype; the first half counts up from `start` and the second half down
 * from `stop` (so both ends are exact), each value rounded once as torch's
 * fused multiply-add rounds it, except inside torch's vectorised blocks (8
 * float32 or 4 float64 values, in pairs), whose values add `j * step` to the
 * block's first. An int32 linspace truncates start, stop and each value
 * toward zero, as torch does.
 *
 * @example
 * ```ts
 * import { linspace, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(linspace(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1]);
 * assert.deepEqual(toArray(linspace(2, 3, 1)), [2]);
 * assert.deepEqual(toArray(linspace(0, 10, 5, { dtype: "int32" })), [0, 2, 5, 7, 10]);
 * ```
 */
export function linspace(
  start: number,
  stop: number,
  num: number,
  options?: { dtype?: DType },
): Tensor {
  if (options === undefined) options = {};
  const fn = "linspace";
  checkOptions(fn, options, ["dtype"]);
  if (!Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new Error(
      `${fn}: start and stop must be finite numbers, got ${
        showValue(start)
      } and ${showValue(stop)}`,
    );
  }
  if (!Number.isInteger(num) || num < 0) {
    throw new Error(
      `${fn}: num must be an integer >= 0, got ${showValue(num)}`,
    );
  }
  const dtype = options.dtype ? checkDType(fn, options.dtype) : "float32";
  if (dtype === "int32") {
    // the values lie between start and stop
    checkInt32(fn, "start", start);
    checkInt32(fn, "stop", stop);
  }
  const data = allocShape(fn, dtype, [num]);
  // the dtype's rounding: float32, none, or int32's truncation
  const r = dtype === "float32"
    ? Math.fround
    : dtype === "int32"
    ? Math.trunc
    : (v: number) => v;
  const s = r(start), e = r(stop);
  if (num === 1) data[0] = s;
  if (num < 2) return fromData(data, [num]);
  // int32 steps in float64, as torch's
  const step = dtype === "int32"
    ? (e - s) / (num - 1)
    : r(r(e - s) / (num - 1));
  const half = Math.floor(num / 2);
  const at = (i: number) =>
    i < half ? fma(step, i, s, r) : fma(-step, num - 1 - i, e, r);
  const lanes = dtype === "float64" ? 4 : 8;
  let i = 0;
  // j * step is rounded to the dtype in float blocks, not in int32 ones
  const rj = dtype === "int32" ? (v: number) => v : r;
  // torch's vector loop takes two blocks at a time; the rest is scalar
  const blocks = num - (num % (2 * lanes));
  for (; i < blocks; i += lanes) {
    const base = r(at(i));
    for (let j = 0; j < lanes; j++) data[i + j] = r(base + rj(j * step));
  }
  for (; i < num; i++) data[i] = at(i);
  return fromData(data, [num]);
}

/** `a * b + c` rounded once by `r` (the fused multiply-add of torch's kernels). */
function fma(a: number, b: number, c: number, r: (v: number) => number) {
  if (r !== Math.fround) {
    // float64 (and int32, whose step is float64): the product's rounding
    // error (Dekker) added back before the one rounding to float64, then
    // int32's truncation of that
    const p = a * b;
    const split = (v: number) => {
      const t = 134217729 * v;
      const hi = t - (t - v);
      return [hi, v - hi];
    };
    const [ah, al] = split(a), [bh, bl] = split(b);
    const err = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    const sum = p + c, back = sum - p;
    const v = sum + (((p - (sum - back)) + (c - back)) + err);
    // (past about 1e300 the splitting overflows: the plain sum there)
    return r(Number.isFinite(v) ? v : sum);
  }
  return r(a * b + c); // exact in float64 before rounding to float32
}

/**
 * Zeros with the shape (and by default the dtype) of `x`.
 *
 * @example
 * ```ts
 * import { tensor, zerosLike } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const z = zerosLike(tensor([1, 2], { dtype: "float64" }));
 * assert.equal(z.dtype, "float64");
 * assert.deepEqual([...z.data], [0, 0]);
 * ```
 */
export function zerosLike(x: Tensor, options?: { dtype?: DType }): Tensor {
  checkTensor("zerosLike", x, "x");
  checkOptions("zerosLike", options, ["dtype"]);
  if (options === undefined) options = {};
  return full(x.shape, 0, { dtype: options.dtype ?? x.dtype });
}

/**
 * Ones with the shape (and by default the dtype) of `x`.
 *
 * @example
 * ```ts
 * import { onesLike, tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...onesLike(tensor([5, 6])).data], [1, 1]);
 * ```
 */
export function onesLike(x: Tensor, options?: { dtype?: DType }): Tensor {
  checkTensor("onesLike", x, "x");
  checkOptions("onesLike", options, ["dtype"]);
  if (options === undefined) options = {};
  return full(x.shape, 1, { dtype: options.dtype ?? x.dtype });
}

/**
 * The elements as nested arrays of numbers (a number for a scalar).
 *
 * @example
 * ```ts
 * import { tensor, toArray } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(tensor([[1, 2], [3, 4]])), [[1, 2], [3, 4]]);
 * assert.equal(toArray(tensor(5)), 5);
 * ```
 */
export function toArray(x: Tensor): NestedArray {
  checkTensor("toArray", x, "x");
  checkNotDonated("toArray", "x", x);
  const { shape, data } = x;
  if (shape.length === 0) return data[0];
  if (shape.length > MAX_RANK) {
    throw new Error(
      `toArray: x must have at most ${MAX_RANK} dimensions, got ${shape.length}`,
    );
  }
  // arrays to build: one, then one per row of each axis but the last
  let arrays = 1, rows = 1;
  for (let a = 0; a < shape.length - 1 && shape[a] !== 0; a++) {
    rows *= shape[a];
    arrays += rows;
  }
  if (arrays > MAX_ARRAYS) {
    const count = arrays > Number.MAX_SAFE_INTEGER
      ? `about ${arrays.toExponential(2)}`
      : `${arrays}`;
    throw new Error(
      `toArray: x of shape ${
        fmtShape(shape)
      } would need ${count} nested arrays, more than the ${MAX_ARRAYS} (2^26) that toArray builds`,
    );
  }
  if (data.length > MAX_NUMBERS) {
    // (a JavaScript array of more fails in V8, and holds 16 bytes a number)
    throw new Error(
      `toArray: x of shape ${
        fmtShape(shape)
      } has ${data.length} elements, more than the ${MAX_NUMBERS} (2^27) that toArray puts in arrays; read x.data instead`,
    );
  }
  let offset = 0;
  const build = (axis: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[axis]; i++) {
      out.push(axis === shape.length - 1 ? data[offset++] : build(axis + 1));
    }
    return out;
  };
  return build(0);
}

/** The most JavaScript arrays {@linkcode toArray} builds for one tensor. */
const MAX_ARRAYS = 2 ** 26;
/** The most numbers {@linkcode toArray} puts in arrays. */
const MAX_NUMBERS = 2 ** 27;

/**
 * The single element of a one-element tensor, as a number.
 *
 * @example
 * ```ts
 * import { item, tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(item(tensor([[3.5]])), 3.5);
 * ```
 */
export function item(x: Tensor): number {
  checkTensor("item", x, "x");
  checkNotDonated("item", "x", x);
  if (x.data.length !== 1) {
    throw new Error(
      `item: x must have exactly one element, got shape [${x.shape}]`,
    );
  }
  return x.data[0];
}

/** True when `x` looks like a Tensor record (or a tracer standing for one). */
export function isTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && "shape" in x &&
    "dtype" in x && "data" in x && Array.isArray((x as Tensor).shape);
}

/** Throws a clear error when `x` is not a tensor. @internal */
export function checkTensor(fn: string, x: unknown, name: string): Tensor {
  if (!isTensor(x)) {
    throw new Error(
      `${fn}: ${name} must be a Tensor, got ${describe(x)}`,
    );
  }
  return x;
}

/**
 * Throws when `x` was donated to a jitted call (`donateArgnums`), which took
 * its memory over. @internal
 */
export function checkNotDonated(fn: string, name: string, x: Tensor): void {
  if (x.data.length === 0 && (x.data.buffer as ArrayBuffer).detached) {
    throw new Error(
      `${fn}: ${name} (shape ${
        fmtShape(x.shape)
      }) was donated to a jitted call (donateArgnums), which took its memory over; a donated tensor cannot be used afterwards: use the call's result instead`,
    );
  }
}

/** A short description of any value, for error messages. @internal */
export function describe(x: unknown): string {
  if (isTensor(x)) return `Tensor ${x.dtype} [${x.shape}]`;
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (typeof x === "object") return "an object";
  return `${typeof x} ${String(x)}`;
}

/**
 * An option's value as an error shows it: JSON, but numbers as JavaScript
 * prints them (JSON writes NaN and the infinities as null). @internal
 */
export function showValue(v: unknown): string {
  if (typeof v === "number") return String(v);
  // (Array.from: a hole in a sparse list is not a number; JSON shows null)
  if (Array.isArray(v) && Array.from(v).every((x) => typeof x === "number")) {
    return `[${v.join(",")}]`;
  }
  if (typeof v === "bigint" || typeof v === "symbol" || isTensor(v)) {
    return describe(v);
  }
  // (JSON has no bigint or symbol, and refuses a cycle)
  const shown = (_: string, x: unknown) =>
    typeof x === "bigint" ? `${x}n` : typeof x === "symbol" ? String(x) : x;
  try {
    return JSON.stringify(v, shown) ?? String(v);
  } catch {
    return describe(v);
  }
}

/** A shape as errors print it: `[1,6,28,28]`. @internal */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** True when two shapes are equal. @internal */
export function sameShape(
  a: readonly number[],
  b: readonly number[],
): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A boolean option, or `def` when it is absent and a default is given; names the function and option in errors. @internal */
export function checkBool(
  fn: string,
  name: string,
  v: unknown,
  def?: boolean,
): boolean {
  const b = v ?? def;
  if (typeof b !== "boolean") {
    throw new Error(
      `${fn}: ${name} must be a boolean, got ${
        typeof v === "number" ? v : describe(v)
      }`,
    );
  }
  return b;
}

/**
 * Checks an option bag: undefined (no options) or a plain object whose keys
 * are all in `known`; returns it (`{}` for undefined). The one option
 * checker of the library. @internal
 */
export function checkOptions(
  fn: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  if (
    typeof options !== "object" || options === null || Array.isArray(options)
  ) {
    throw new Error(
      `${fn}: options must be an object, got ${describe(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      throw new Error(
        `${fn}: unknown option "${k}" (known options: ${known.join(", ")})`,
      );
    }
  }
  return options as Record<string, unknown>;
}
