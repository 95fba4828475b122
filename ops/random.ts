/**
 * Pure, counter-based random numbers in the style of `jax.random`.
 *
 * There is no hidden global state: every sampler takes a {@linkcode Key} and
 * returns the same numbers for the same key, shape and options. Make fresh
 * keys with {@linkcode split}; never reuse a key for two draws that should be
 * independent.
 *
 * The generator is Threefry-2x32 (20 rounds, Random123), laid out exactly as
 * JAX's original ("non-partitionable") implementation: `key`, `split`,
 * `randomBits`, `uniform`, `permutation` and (for spans up to 2^16) `randint`
 * reproduce the words and values of `jax.random` with
 * `jax_threefry_partitionable=False` (the default before JAX 0.5.0);
 * `normal` agrees to within float rounding of the inverse error function.
 *
 * @example
 * ```ts
 * import { key, normal, split, uniform } from "./random.ts";
 * import assert from "node:assert/strict";
 * const [k1, k2] = split(key(0));
 * const w = normal(k1, [3, 2]);
 * const b = uniform(k2, [2], { minval: -1, maxval: 1 });
 * assert.deepEqual(w.shape, [3, 2]);
 * assert.ok([...b.data].every((v) => v >= -1 && v < 1));
 * assert.deepEqual(normal(k1, [3, 2]).data, w.data); // same key, same numbers
 * ```
 *
 * @module
 */
import {
  allocData,
  checkDType,
  checkOptions,
  checkShape,
  checkTensor,
  describe,
  type DType,
  fmtShape,
  fromData,
  isTensor,
  type Key,
  showValue,
  sizeOf,
  type Tensor,
} from "./tensor.ts";
import { batchFront, reshape, sum, transpose } from "./structural.ts";
import {
  add,
  astype,
  div,
  erfScalar,
  exp,
  greaterEqual,
  log,
  mul,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.ts";
import { floor } from "./math.ts";
import { softmax } from "./activations.ts";
import { take } from "./indexing.ts";
import { matmul } from "./matmul.ts";
import { cholesky, positiveQ } from "./kernels/linalg.ts";
import { argmax } from "./reductions.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";
import { bind, definePrimitive, Tracer } from "./trace.ts";
import type { Primitive } from "./grad_types.ts";
import { registerLeafKind } from "./tree.ts";
import { bounded } from "./_args.ts";

export type { Key };

const UINT32 = 0x1_0000_0000;
const INT32_MAX = 0x7fff_ffff;
/** Largest element count a single draw accepts (counters must fit in uint32). */
const MAX_SIZE = 0x7fff_ffff;

function makeKey(w0: number, w1: number): Key {
  return Object.freeze({
    kind: "key" as const,
    words: Object.freeze([w0 >>> 0, w1 >>> 0] as [number, number]),
  });
}

/**
 * Keys that stand for a tensor traced by `jit` (a jitted function's key
 * argument, or a key split from one): their words as int32 bits, `[2]`.
 */
const traced = new WeakMap<object, Tensor>();

/** The words of a key tensor (int32 bits `[2]`). */
const wordsOf = (t: Tensor): [number, number] => [
  t.data[0] >>> 0,
  t.data[1] >>> 0,
];

/** The int32 `[2]` tensor of a key's words (their bits). */
const keyData = (w: readonly [number, number]): Tensor =>
  fromData(Int32Array.of(w[0] | 0, w[1] | 0), [2]);

/**
 * A key standing for the traced tensor `t`: the samplers draw from `t` (a
 * step of the plan), and reading its words reads `t` (an error while
 * tracing).
 */
function tracedKey(t: Tensor): Key {
  const k = Object.freeze(Object.defineProperties({}, {
    kind: { value: "key", enumerable: true },
    words: { get: () => wordsOf(t), enumerable: true },
  })) as Key;
  traced.set(k, t);
  return k;
}

/**
 * What a draw reads its key from: the traced tensor a key stands for, or a
 * key's words as a tensor (after checking the key).
 */
function keyInput(fn: string, key: Key): Tensor {
  return traced.get(key as object) ?? keyData(checkKey(fn, key));
}

/**
 * The draw every sampler binds: `draw` computes the result from the key's
 * words. So under `jit` a draw from a key argument is a step of the plan,
 * made anew from each call's key, and a draw from any other key a
 * constant.
 */
const randomPrim: Primitive<{
  fn: string;
  draw: (k: readonly [number, number]) => Tensor;
}> = definePrimitive({
  name: "random",
  forward: ([k], { draw }) => draw(wordsOf(k)),
  vjp: () => [null],
  // a key per example (vmap over a list of keys): each example's draw
  batch: ([k], [d], params) => [
    bind(randomRowsPrim, [d === 0 ? k : transpose(k, [1, 0])], params),
    0,
  ],
});

/**
 * `draw` from each row of an int32 `[B, 2]` tensor of keys' words, stacked
 * along a new first axis: the draws of a key per example (`vmap`).
 */
const randomRowsPrim: Primitive<{
  fn: string;
  draw: (k: readonly [number, number]) => Tensor;
}> = definePrimitive({
  name: "randomRows",
  forward: ([k], { draw }) => {
    const rows = k.shape[0];
    const draws = Array.from(
      { length: rows },
      (_, b) => draw([k.data[2 * b] >>> 0, k.data[2 * b + 1] >>> 0]),
    );
    const first = draws[0] ?? draw([0, 0]);
    const n = first.data.length;
    const out = allocData(first.dtype, rows * n);
    draws.forEach((t, b) => out.set(t.data, b * n));
    return fromData(out, [rows, ...first.shape]);
  },
  vjp: () => [null],
  // keys per example of keys per example: the rows of both, then split
  batch: ([k], [d], params) => {
    const perm = [d!, ...[0, 1, 2].filter((a) => a !== d)];
    const front = transpose(k, perm); // [B1, B, 2]
    const [b1, b] = front.shape;
    const out = bind(randomRowsPrim, [reshape(front, [b1 * b, 2])], params);
    return [reshape(out, [b1, b, ...out.shape.slice(1)]), 0];
  },
});

// keys are leaves of transformed functions' arguments and results: a
// jitted function's key arguments are traced, and vmap maps lists of keys
/** The key a key tensor stands for: a traced key for a traced tensor. */
const keyOf = (t: Tensor): Key =>
  t instanceof Tracer ? tracedKey(t) : makeKey(...wordsOf(t));

registerLeafKind({
  is: (x) => traced.has(x as object) || isKey(x),
  toTensor: (x) => keyInput("jit", x as Key),
  fromTensor: keyOf,
});

function isUint32(x: unknown): x is number {
  return Number.isInteger(x) && (x as number) >= 0 && (x as number) < UINT32;
}

/** Whether `k` is a key as `key` and `split` make them (not a traced one). */
function isKey(k: unknown): k is Key {
  return typeof k === "object" && k !== null && !traced.has(k) &&
    (k as Key).kind === "key" && Array.isArray((k as Key).words) &&
    (k as Key).words.length === 2 && isUint32((k as Key).words[0]) &&
    isUint32((k as Key).words[1]);
}

function checkKey(fn: string, k: unknown): readonly [number, number] {
  if (traced.has(k as object)) return (k as Key).words; // (jit's error)
  if (!isKey(k)) {
    throw new Error(
      `${fn}: key must be a Key made by random.key or random.split, got ${
        describe(k)
      }`,
    );
  }
  return (k as Key).words;
}

function checkSize(fn: string, shape: unknown): number[] {
  const s = checkShape(fn, shape);
  const n = sizeOf(s);
  if (n > MAX_SIZE) {
    throw new Error(
      `${fn}: shape [${s}] has ${n} elements, more than the maximum ${MAX_SIZE}`,
    );
  }
  return s;
}

function checkCount(fn: string, name: string, n: unknown): number {
  if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > MAX_SIZE) {
    throw new Error(
      `${fn}: ${name} must be an integer in [0, ${MAX_SIZE}], got ${
        describe(n)
      }`,
    );
  }
  return n as number;
}

/**
 * Makes a PRNG key from an integer seed, as `jax.random.PRNGKey(seed)`.
 *
 * The seed is read as a 64-bit two's-complement integer and split into words
 * `[seed >> 32, seed & 0xFFFFFFFF]` (JAX with `jax_enable_x64`). So a seed in
 * `[0, 2^32)` gives `[0, seed]`, and `key(-1)` gives
 * `[0xFFFFFFFF, 0xFFFFFFFF]` (JAX without x64 truncates seeds to int32 first
 * and gives `[0, 0xFFFFFFFF]` there). The seed must be a finite integer with
 * `|seed| < 2^53`.
 *
 * @example
 * ```ts
 * import { key } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(key(42).words, [0, 42]);
 * assert.deepEqual(key(2 ** 32 + 5).words, [1, 5]);
 * assert.deepEqual(key(-1).words, [0xffffffff, 0xffffffff]);
 * assert.throws(() => key(1.5), /random.key: seed must be/);
 * ```
 */
export function key(seed: number): Key {
  if (
    typeof seed !== "number" || !Number.isInteger(seed) ||
    Math.abs(seed) >= 2 ** 53
  ) {
    throw new Error(
      `random.key: seed must be a finite integer with |seed| < 2^53, got ${
        describe(seed)
      }`,
    );
  }
  // Floor division keeps two's-complement semantics for negative seeds.
  const hi = Math.floor(seed / UINT32);
  const lo = seed - hi * UINT32;
  return makeKey(hi >>> 0, lo >>> 0);
}

/**
 * Threefry-2x32 without argument checks; writes the block into `out`.
 * Random123's rotation constants alternate between two groups of four
 * (13, 15, 26, 6 and 17, 29, 16, 24); the key (k0, k1, k2) is injected
 * after every four rounds. Arithmetic is int32 (`| 0`): a Uint32Array
 * stores the same bits, and V8 keeps every value in a register.
 */
function threefryBlock(
  k0: number,
  k1: number,
  x0: number,
  x1: number,
  out: Uint32Array,
  i0: number,
  i1: number,
): void {
  const k2 = k0 ^ k1 ^ 0x1bd11bda;
  x0 = (x0 + k0) | 0;
  x1 = (x1 + k1) | 0;
  for (let s = 1; s <= 5; s++) {
    const odd = s & 1;
    const ra = odd ? 13 : 17, rb = odd ? 15 : 29;
    const rc = odd ? 26 : 16, rd = odd ? 6 : 24;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << ra) | (x1 >>> (32 - ra))) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << rb) | (x1 >>> (32 - rb))) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << rc) | (x1 >>> (32 - rc))) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << rd) | (x1 >>> (32 - rd))) ^ x0;
    const m = s % 3; // inject key words m and m + 1 (mod 3), and s
    x0 = (x0 + (m === 0 ? k0 : m === 1 ? k1 : k2)) | 0;
    x1 = (x1 + (m === 0 ? k1 : m === 1 ? k2 : k0) + s) | 0;
  }
  out[i0] = x0;
  out[i1] = x1;
}

/**
 * The Threefry-2x32 block cipher (20 rounds, Random123 rotation constants
 * 13, 15, 26, 6, 17, 29, 16, 24, key-schedule parity 0x1BD11BDA): encrypts
 * the counter pair `(x0, x1)` under the two-word `key`. All values are uint32.
 *
 * @example
 * ```ts
 * import { threefry2x32 } from "./random.ts";
 * import assert from "node:assert/strict";
 * // Random123 known-answer vector.
 * assert.deepEqual(threefry2x32([0, 0], 0, 0), [0x6b200159, 0x99ba4efe]);
 * ```
 */
export function threefry2x32(
  key: readonly [number, number],
  x0: number,
  x1: number,
): [number, number] {
  const fn = "random.threefry2x32";
  if (
    !Array.isArray(key) || key.length !== 2 || !isUint32(key[0]) ||
    !isUint32(key[1])
  ) {
    throw new Error(
      `${fn}: key must be an array of two uint32 integers, got ${
        Array.isArray(key) ? showValue(key) : describe(key)
      }`,
    );
  }
  if (!isUint32(x0) || !isUint32(x1)) {
    throw new Error(
      `${fn}: x0 and x1 must be uint32 integers in [0, 2^32), got ${
        describe(x0)
      } and ${describe(x1)}`,
    );
  }
  const out = new Uint32Array(2);
  threefryBlock(key[0], key[1], x0, x1, out, 0, 1);
  return [out[0], out[1]];
}

/**
 * `threefry_2x32(key, iota(n))` in JAX's layout: the counters (padded with a
 * trailing 0 when `n` is odd) are split into halves `[0, h)` and `[h, 2h)`,
 * pair `i` is `(i, h + i)`, and the first and second output words are
 * concatenated (dropping the padding's output).
 */
function threefryIota(k: readonly [number, number], n: number): Uint32Array {
  const h = Math.ceil(n / 2);
  const out = new Uint32Array(2 * h);
  const odd = n % 2 === 1;
  for (let i = 0; i < h; i++) {
    const x1 = odd && i === h - 1 ? 0 : h + i;
    threefryBlock(k[0], k[1], i, x1, out, i, h + i);
  }
  return odd ? out.subarray(0, n) : out;
}

/**
 * The most keys one `split` makes (2^24, about 2.5 GB of key objects): more
 * would exhaust the JavaScript heap, a crash rather than an Error.
 */
export const MAX_SPLIT = 2 ** 24;

/**
 * Splits a key into `n` new, independent keys (default 2, at most
 * {@linkcode MAX_SPLIT}), as `jax.random.split` with JAX's original
 * Threefry layout: the words of the `n` keys are `threefry_2x32(key,
 * iota(2n))` read in pairs.
 *
 * @example
 * ```ts
 * import { key, split } from "./random.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = split(key(0));
 * assert.deepEqual(a.words, [4146024105, 967050713]); // as JAX
 * assert.deepEqual(b.words, [2718843009, 1272950319]);
 * assert.equal(split(key(0), 5).length, 5);
 * ```
 */
export function split(key: Key, n?: number): Key[] {
  n ??= 2;
  const fn = "random.split";
  const t = traced.get(key as object);
  const k = t ? null : checkKey(fn, key);
  checkCount(fn, "n", n);
  if (n > MAX_SPLIT) {
    throw new Error(
      `${fn}: n must be at most ${MAX_SPLIT} (each key is a JavaScript object of about 150 bytes; draw many numbers from one key with uniform, normal or randint instead), got ${n}`,
    );
  }
  if (t) { // each new key a step of the plan
    return Array.from({ length: n }, (_, i) =>
      tracedKey(bind(randomPrim, [t], {
        fn,
        draw: (w) => keyData(splitWords(w, n, i)),
      })));
  }
  const words = threefryIota(k!, 2 * n);
  const keys: Key[] = [];
  for (let i = 0; i < n; i++) {
    keys.push(makeKey(words[2 * i], words[2 * i + 1]));
  }
  return keys;
}

/** fold_in's words: the key's words encrypting the counter pair (0, data), as JAX's `threefry_seed(data)`. */
function foldWords(
  k: readonly [number, number],
  data: number,
): [number, number] {
  const out = new Uint32Array(2);
  threefryBlock(k[0], k[1], 0, data | 0, out, 0, 1);
  return [out[0], out[1]];
}

/**
 * `foldIn` on tensors: keys' words `[..., 2]` (int32 bits) and data `[...]`
 * (int32 bits) to the folded keys' words, so a traced or per-example data
 * value folds in at every call (the step count of a jitted training step).
 */
const foldInPrim: Primitive<Record<string, never>> = definePrimitive({
  name: "foldIn",
  forward: ([k, d]) => {
    const out = new Int32Array(2 * d.data.length);
    for (let i = 0; i < d.data.length; i++) {
      const w = foldWords(
        [k.data[2 * i] >>> 0, k.data[2 * i + 1] >>> 0],
        d.data[i],
      );
      out[2 * i] = w[0] | 0;
      out[2 * i + 1] = w[1] | 0;
    }
    return fromData(out, k.shape);
  },
  vjp: () => [null, null],
  batch: ([k, d], [dk, dd]) => {
    const b = dk !== null ? k.shape[dk] : d.shape[dd!];
    return [
      bind(foldInPrim, [batchFront(k, dk, b), batchFront(d, dd, b)], {}),
      0,
    ];
  },
});

/**
 * A new key made from `key` and an integer, as `jax.random.fold_in`: the
 * key encrypts the counter pair (0, data) (JAX's `threefry_seed(data)`), so
 * the same words as JAX's. Keys for many items (a layer, a step, an
 * example) without splitting: `foldIn(key, i)` depends on i alone.
 * `data` is an integer in [0, 2^32) or an int32 scalar tensor (its bits
 * as uint32, as `jnp.uint32`), which may be traced: under `jit` each call
 * folds in its own value, under `vmap` each example's.
 *
 * @example
 * ```ts
 * import { foldIn, key, randint, split } from "./random.ts";
 * import assert from "node:assert/strict";
 * // JAX 0.4: key_data(fold_in(key(0), 3)) is [2467461003, 3840466878]
 * assert.deepEqual(foldIn(key(0), 3).words, [2467461003, 3840466878]);
 * assert.notDeepEqual(foldIn(key(0), 4).words, foldIn(key(0), 3).words);
 * ```
 */
export function foldIn(key: Key, data: number | Tensor): Key {
  const fn = "random.foldIn";
  const t = traced.get(key as object);
  if (typeof data === "number") {
    if (!isUint32(data)) {
      throw new Error(
        `${fn}: data must be an integer in [0, 2^32) or an int32 scalar tensor, got ${data}`,
      );
    }
    if (!t) return makeKey(...foldWords(checkKey(fn, key), data));
    return tracedKey(bind(randomPrim, [t], {
      fn,
      draw: (w) => keyData(foldWords(w, data)),
    }));
  }
  if (!isTensor(data) || data.dtype !== "int32" || data.shape.length !== 0) {
    throw new Error(
      `${fn}: data must be an integer in [0, 2^32) or an int32 scalar tensor, got ${
        describe(data)
      }`,
    );
  }
  return keyOf(bind(foldInPrim, [keyInput(fn, key), data], {}));
}

/**
 * The words of key `i` of `split(key, n)` (words `2i` and `2i + 1` of
 * `threefryIota(key, 2n)`: word `j` is block `j mod n`'s first output for
 * `j < n`, its second after), without the other keys' blocks.
 */
function splitWords(
  k: readonly [number, number],
  n: number,
  i: number,
): [number, number] {
  const out = new Uint32Array(2);
  const word = (j: number) => {
    const b = j < n ? j : j - n;
    threefryBlock(k[0], k[1], b, n + b, out, 0, 1);
    return out[j < n ? 0 : 1];
  };
  return [word(2 * i), word(2 * i + 1)];
}

/**
 * `n` random uint32 words from `key`, as JAX's 32-bit `random_bits` /
 * `jax.random.bits(key, (n,))`: `threefry_2x32(key, iota(n))`.
 *
 * @example
 * ```ts
 * import { key, randomBits } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...randomBits(key(0), 3)], [4146024105, 1351547692, 2718843009]);
 * ```
 */
export function randomBits(key: Key, n: number): Uint32Array {
  const fn = "random.randomBits";
  const k = checkKey(fn, key);
  checkCount(fn, "n", n);
  return threefryIota(k, n);
}

/** The two 32-bit halves of `n` 64-bit words, as JAX's 64-bit random_bits. */
function randomBits64(
  k: readonly [number, number],
  n: number,
): [Uint32Array, Uint32Array] {
  const words = threefryIota(k, 2 * n);
  return [words.subarray(0, n), words.subarray(n, 2 * n)];
}

/** Options for {@linkcode uniform}. */
export interface UniformOptions {
  /** Inclusive lower bound; default 0. */
  minval?: number;
  /** Exclusive upper bound; default 1. */
  maxval?: number;
  /** "float32" (default) or "float64". */
  dtype?: DType;
}

function checkFloatDType(fn: string, dtype: unknown): "float32" | "float64" {
  if (dtype !== "float32" && dtype !== "float64") {
    throw new Error(
      `${fn}: dtype must be "float32" or "float64", got ${
        showValue(dtype) ?? describe(dtype)
      }`,
    );
  }
  return dtype;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The largest float (of the dtype) strictly below `x`; `x` finite, > 0 spacing. */
function below(x: number, dtype: "float32" | "float64"): number {
  if (dtype === "float32") {
    F32[0] = x;
    if (x === 0) return -1.401298464324817e-45;
    U32[0] += x > 0 ? -1 : 1;
    return F32[0];
  }
  if (x === 0) return -Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const u = new BigInt64Array(f.buffer);
  u[0] += x > 0 ? -1n : 1n;
  return f[0];
}

/** Uniform floats in [0, 1) of `dtype`, as JAX's `_uniform` before scaling. */
function unitFloats(
  k: readonly [number, number],
  n: number,
  dtype: "float32" | "float64",
): Float64Array {
  const out = new Float64Array(n);
  if (dtype === "float32") {
    const bits = threefryIota(k, n);
    for (let i = 0; i < n; i++) {
      // 23 mantissa bits under exponent of 1.0 gives [1, 2); minus 1 is
      // exact: the top 23 bits as a fraction of 2^23
      out[i] = (bits[i] >>> 9) * 2 ** -23;
    }
  } else {
    const [hi, lo] = randomBits64(k, n);
    for (let i = 0; i < n; i++) {
      // Top 52 of the 64 bits (hi:lo) >>> 12, as a fraction of 2^52.
      out[i] = (hi[i] * 0x100000 + (lo[i] >>> 12)) / 0x10_0000_0000_0000;
    }
  }
  return out;
}

function uniformData(
  fn: string,
  k: readonly [number, number],
  n: number,
  minval: number,
  maxval: number,
  dtype: "float32" | "float64",
): Float32Array | Float64Array {
  const r = dtype === "float32" ? Math.fround : (x: number) => x;
  const lo = r(minval);
  const hi = r(maxval);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new Error(
      `${fn}: minval and maxval must be finite numbers with minval < maxval (in ${dtype}), got ${minval} and ${maxval}`,
    );
  }
  const span = r(hi - lo);
  if (!Number.isFinite(span)) {
    throw new Error(
      `${fn}: maxval - minval overflows ${dtype}, got ${minval} and ${maxval}`,
    );
  }
  const top = below(hi, dtype);
  const u = unitFloats(k, n, dtype);
  // JAX clamps below at minval; rounding can also reach maxval, so clamp
  // above to keep the half-open interval. (Two loops, so that V8 inlines
  // Math.fround in the float32 one.)
  if (dtype === "float32") {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = Math.fround(Math.fround(u[i] * span) + lo);
      out[i] = v < lo ? lo : v > top ? top : v;
    }
    return out;
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = u[i] * span + lo;
    out[i] = v < lo ? lo : v > top ? top : v;
  }
  return out;
}

/**
 * Uniform random floats in `[minval, maxval)`, as `jax.random.uniform`.
 *
 * float32 takes the top 23 bits of each random word as the mantissa of a
 * number in `[1, 2)` (`bits >>> 9 | 0x3f800000` reinterpreted) and subtracts
 * 1. float64 takes JAX's 64-bit words (the two halves of
 * `threefry_2x32(key, iota(2n))`, first half high) and uses their top 52
 * bits the same way, i.e. `(hi * 2^20 + (lo >>> 12)) / 2^52`. The result is
 * then scaled as `u * (maxval - minval) + minval` in the dtype's arithmetic
 * and clamped to `[minval, maxval)`.
 *
 * @example
 * ```ts
 * import { key, uniform } from "./random.ts";
 * import assert from "node:assert/strict";
 * const u = uniform(key(1), [2, 3], { minval: 5, maxval: 6 });
 * assert.deepEqual(u.shape, [2, 3]);
 * assert.equal(u.dtype, "float32");
 * assert.ok([...u.data].every((v) => v >= 5 && v < 6));
 * assert.equal(uniform(key(1), [4], { dtype: "float64" }).dtype, "float64");
 * assert.throws(() => uniform(key(1), [2], { minval: 1, maxval: 1 }), /minval < maxval/);
 * ```
 */
export function uniform(
  key: Key,
  shape?: readonly number[],
  options?: UniformOptions,
): Tensor {
  shape ??= [];
  if (options === undefined) options = {};
  const fn = "random.uniform";
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape);
  checkOptions(fn, options, ["minval", "maxval", "dtype"]);
  const { minval = 0, maxval = 1 } = options ?? {};
  for (const [name, v] of [["minval", minval], ["maxval", maxval]] as const) {
    if (typeof v !== "number") {
      throw new Error(`${fn}: ${name} must be a number, got ${describe(v)}`);
    }
  }
  const dtype = checkFloatDType(fn, options?.dtype ?? "float32");
  return bind(randomPrim, [k], {
    fn,
    draw: (w) =>
      fromData(uniformData(fn, w, sizeOf(s), minval, maxval, dtype), s),
  });
}

/**
 * Inverse error function, double precision (M. Giles, "Approximating the
 * erfinv function", GPU Computing Gems, 2011 — the polynomials XLA uses for
 * f64). Valid for |x| < 1.
 */
function erfinv(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 6.25) {
    w -= 3.125;
    p = -3.6444120640178196996e-21;
    p = -1.685059138182016589e-19 + p * w;
    p = 1.2858480715256400167e-18 + p * w;
    p = 1.115787767802518096e-17 + p * w;
    p = -1.333171662854620906e-16 + p * w;
    p = 2.0972767875968561637e-17 + p * w;
    p = 6.6376381343583238325e-15 + p * w;
    p = -4.0545662729752068639e-14 + p * w;
    p = -8.1519341976054721522e-14 + p * w;
    p = 2.6335093153082322977e-12 + p * w;
    p = -1.2975133253453532498e-11 + p * w;
    p = -5.4154120542946279317e-11 + p * w;
    p = 1.051212273321532285e-09 + p * w;
    p = -4.1126339803469836976e-09 + p * w;
    p = -2.9070369957882005086e-08 + p * w;
    p = 4.2347877827932403518e-07 + p * w;
    p = -1.3654692000834678645e-06 + p * w;
    p = -1.3882523362786468719e-05 + p * w;
    p = 0.0001867342080340571352 + p * w;
    p = -0.00074070253416626697512 + p * w;
    p = -0.0060336708714301490533 + p * w;
    p = 0.24015818242558961693 + p * w;
    p = 1.6536545626831027356 + p * w;
  } else if (w < 16) {
    w = Math.sqrt(w) - 3.25;
    p = 2.2137376921775787049e-09;
    p = 9.0756561938885390979e-08 + p * w;
    p = -2.7517406297064545428e-07 + p * w;
    p = 1.8239629214389227755e-08 + p * w;
    p = 1.5027403968909827627e-06 + p * w;
    p = -4.013867526981545969e-06 + p * w;
    p = 2.9234449089955446044e-06 + p * w;
    p = 1.2475304481671778723e-05 + p * w;
    p = -4.7318229009055733981e-05 + p * w;
    p = 6.8284851459573175448e-05 + p * w;
    p = 2.4031110387097893999e-05 + p * w;
    p = -0.0003550375203628474796 + p * w;
    p = 0.00095328937973738049703 + p * w;
    p = -0.0016882755560235047313 + p * w;
    p = 0.0024914420961078508066 + p * w;
    p = -0.0037512085075692412107 + p * w;
    p = 0.005370914553590063617 + p * w;
    p = 1.0052589676941592334 + p * w;
    p = 3.0838856104922207635 + p * w;
  } else {
    w = Math.sqrt(w) - 5;
    p = -2.7109920616438573243e-11;
    p = -2.5556418169965252055e-10 + p * w;
    p = 1.5076572693500548083e-09 + p * w;
    p = -3.7894654401267369937e-09 + p * w;
    p = 7.6157012080783393804e-09 + p * w;
    p = -1.4960026627149240478e-08 + p * w;
    p = 2.9147953450901080826e-08 + p * w;
    p = -6.7711997758452339498e-08 + p * w;
    p = 2.2900482228026654717e-07 + p * w;
    p = -9.9298272942317002539e-07 + p * w;
    p = 4.5260625972231537039e-06 + p * w;
    p = -1.9681778105531670567e-05 + p * w;
    p = 7.5995277030017761139e-05 + p * w;
    p = -0.00021503011930044477347 + p * w;
    p = -0.00013871931833623122026 + p * w;
    p = 1.0103004648645343977 + p * w;
    p = 4.8499064014085844221 + p * w;
  }
  return p * x;
}

/**
 * Standard normal random floats, as `jax.random.normal`: draws `u` uniform in
 * `[nextafter(-1, 0), 1)` with {@linkcode uniform} (same key, shape and
 * dtype) and returns `sqrt(2) * erfinv(u)`. Because `u` stays strictly inside
 * (-1, 1) the result is always finite (|z| < 5.5 for float32, < 8.3 for
 * float64). erfinv is evaluated in double precision, so float32 results can
 * differ from JAX's in the last bit.
 *
 * @example
 * ```ts
 * import { key, normal } from "./random.ts";
 * import assert from "node:assert/strict";
 * const z = normal(key(0), [4]);
 * // jax.random.normal(PRNGKey(0), (4,)) gives [1.8160863, -0.75488514, 0.33988908, -0.53483534]
 * assert.ok(Math.abs(z.data[0] - 1.8160863) < 1e-6);
 * assert.equal(normal(key(0), [2, 2], { dtype: "float64" }).dtype, "float64");
 * ```
 */
export function normal(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  shape ??= [];
  if (options === undefined) options = {};
  const fn = "random.normal";
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape);
  checkOptions(fn, options, ["dtype"]);
  const dtype = checkFloatDType(fn, options?.dtype ?? "float32");
  // nextafter(-1, 0) in the dtype, so that erfinv(u) is finite.
  const lo = dtype === "float32" ? -(1 - 2 ** -24) : -(1 - 2 ** -53);
  const draw = (w: readonly [number, number]) => {
    const u = uniformData(fn, w, sizeOf(s), lo, 1, dtype);
    if (dtype === "float32") {
      const sqrt2 = Math.fround(Math.SQRT2);
      for (let i = 0; i < u.length; i++) {
        u[i] = Math.fround(sqrt2 * Math.fround(erfinv(u[i])));
      }
    } else {
      for (let i = 0; i < u.length; i++) u[i] = Math.SQRT2 * erfinv(u[i]);
    }
    return fromData(u, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/**
 * Standard normal random floats truncated to `(lower, upper)`, as
 * `jax.random.truncated_normal`: `u` uniform in `[erf(lower/√2),
 * erf(upper/√2))` (same key, shape and dtype), then `√2·erfinv(u)`,
 * clamped strictly inside the bounds.
 *
 * @example
 * ```ts
 * import { key, truncatedNormal } from "./random.ts";
 * import assert from "node:assert/strict";
 * const z = truncatedNormal(key(0), -1, 2, [1000]);
 * assert.ok([...z.data].every((v) => v > -1 && v < 2));
 * ```
 */
export function truncatedNormal(
  key: Key,
  lower: number,
  upper: number,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  shape ??= [];
  if (options === undefined) options = {};
  const fn = "random.truncatedNormal";
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape);
  checkOptions(fn, options, ["dtype"]);
  const dtype = checkFloatDType(fn, options?.dtype ?? "float32");
  if (
    typeof lower !== "number" || typeof upper !== "number" ||
    Number.isNaN(lower) || Number.isNaN(upper) || !(lower < upper)
  ) {
    throw new Error(
      `${fn}: lower and upper must be numbers with lower < upper, got ${lower} and ${upper}`,
    );
  }
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  const a = erfScalar(r(lower) / Math.SQRT2),
    b = erfScalar(r(upper) / Math.SQRT2);
  if (!(a < b)) {
    throw new Error(
      `${fn}: the interval (${lower}, ${upper}) is too far in the tail to sample in ${dtype}`,
    );
  }
  // the bounds' neighbours inside the interval, in the dtype (JAX's nextafter)
  const lo = nextAfter(r(lower), true, dtype);
  const hi = nextAfter(r(upper), false, dtype);
  const draw = (w: readonly [number, number]) => {
    const u = uniformData(fn, w, sizeOf(s), a, b, dtype);
    for (let i = 0; i < u.length; i++) {
      const z = r(Math.SQRT2 * erfinv(u[i]));
      u[i] = z < lo ? lo : z > hi ? hi : z;
    }
    return fromData(u, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/** The dtype's next value after `v` up (toward +inf) or down; infinities stay. */
function nextAfter(
  v: number,
  up: boolean,
  dtype: "float32" | "float64",
): number {
  if (!Number.isFinite(v)) return v;
  if (v === 0) {
    const tiny = dtype === "float32" ? 2 ** -149 : Number.MIN_VALUE;
    return up ? tiny : -tiny;
  }
  if (dtype === "float32") {
    const f = new Float32Array([v]), bits = new Int32Array(f.buffer);
    bits[0] += (v > 0) === up ? 1 : -1;
    return f[0];
  }
  const f = new Float64Array([v]), bits = new BigInt64Array(f.buffer);
  bits[0] += (v > 0) === up ? 1n : -1n;
  return f[0];
}

/** `(a * b) mod m` exactly, for integers `0 <= a, b < m <= 2^32`. */
function mulMod(a: number, b: number, m: number): number {
  const bh = Math.floor(b / 0x10000);
  const bl = b % 0x10000;
  // Every intermediate stays below 2^53.
  return (((a * bh) % m) * 0x10000 % m + (a * bl) % m) % m;
}

/**
 * Random int32 integers uniform in `[minval, maxval)`, as `jax.random.randint`.
 *
 * Like JAX, it draws two 32-bit words per element from `split(key)` (`hi`
 * from the first key, `lo` from the second) and returns
 * `minval + ((hi * 2^32 + lo) mod span)` with `span = maxval - minval`, so
 * the modulo bias is below `span / 2^64`. The remainder is computed exactly;
 * JAX computes it in wrapping uint32 arithmetic, so the values match JAX's
 * exactly for spans up to 2^16 and differ (JAX's being more biased) beyond.
 * `minval` and `maxval` are integers with
 * `-2^31 <= minval < maxval <= 2^31`.
 *
 * @example
 * ```ts
 * import { key, randint } from "./random.ts";
 * import assert from "node:assert/strict";
 * const r = randint(key(0), [100], -3, 4);
 * assert.equal(r.dtype, "int32");
 * assert.ok([...r.data].every((v) => v >= -3 && v < 4));
 * assert.throws(() => randint(key(0), [2], 4, 4), /minval < maxval/);
 * ```
 */
export function randint(
  key: Key,
  shape: readonly number[],
  minval: number,
  maxval: number,
): Tensor {
  const fn = "random.randint";
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape);
  const inRange = (v: unknown) =>
    Number.isInteger(v) && (v as number) >= -(2 ** 31) &&
    (v as number) <= 2 ** 31;
  if (!inRange(minval) || !inRange(maxval) || !(minval < maxval)) {
    throw new Error(
      `${fn}: minval and maxval must be integers with -2^31 <= minval < maxval <= 2^31, got ${
        describe(minval)
      } and ${describe(maxval)}`,
    );
  }
  const n = sizeOf(s);
  const draw = (w: readonly [number, number]) =>
    fromData(randintData(w, n, minval, maxval), s);
  return bind(randomPrim, [k], { fn, draw });
}

/** randint's `n` values from a key's words. */
function randintData(
  w: readonly [number, number],
  n: number,
  minval: number,
  maxval: number,
): Int32Array {
  // [k1, k2] = split(key): the words of k1 then k2.
  const kw = threefryIota(w, 4);
  const hi = threefryIota([kw[0], kw[1]], n);
  const lo = threefryIota([kw[2], kw[3]], n);
  const span = maxval - minval;
  const mult = UINT32 % span; // 2^32 mod span
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const off = (mulMod(hi[i] % span, mult, span) + lo[i] % span) % span;
    out[i] = minval + off;
  }
  return out;
}

/**
 * Random 0/1 draws (int32) that are 1 with probability `p` (default 0.5),
 * as `jax.random.bernoulli`: `uniform(key, shape) < p`, comparing float32
 * uniforms with `p` rounded to float32. `p = 0` never gives 1 and `p = 1`
 * always does.
 *
 * @example
 * ```ts
 * import { bernoulli, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * const b = bernoulli(key(3), 0.5, [8]);
 * assert.equal(b.dtype, "int32");
 * assert.ok([...b.data].every((v) => v === 0 || v === 1));
 * assert.deepEqual([...bernoulli(key(3), 1, [3]).data], [1, 1, 1]);
 * assert.deepEqual(bernoulli(key(3)).data, bernoulli(key(3), 0.5).data); // p = 0.5
 * ```
 */
export function bernoulli(
  key: Key,
  p: number = 0.5,
  shape?: readonly number[],
): Tensor {
  shape ??= [];
  const fn = "random.bernoulli";
  const k = keyInput(fn, key);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new Error(
      `${fn}: p must be a number in [0, 1], got ${describe(p)}`,
    );
  }
  const s = checkSize(fn, shape);
  const n = sizeOf(s);
  const draw = (w: readonly [number, number]) => {
    const u = unitFloats(w, n, "float32");
    const pf = Math.fround(p);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = u[i] < pf ? 1 : 0;
    return fromData(out, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/**
 * A random permutation of `0, 1, ..., n-1` as an int32 tensor of shape `[n]`,
 * as `jax.random.permutation(key, n)`, or of a tensor's entries along an
 * axis (`permutation(key, x, { axis })`, as JAX's with an array: the same
 * order as the permutation of `x.shape[axis]`): JAX's sort-based shuffle, which
 * repeats `ceil(3 ln(n) / ln(2^32 - 1))` times (1 round for n <= 1625):
 * `[key, sub] = split(key)`, then stably sort by `randomBits(sub, n)`.
 *
 * @example
 * ```ts
 * import { key, permutation } from "./random.ts";
 * import assert from "node:assert/strict";
 * const p = permutation(key(0), 6);
 * assert.equal(p.dtype, "int32");
 * assert.deepEqual([...p.data].sort(), [0, 1, 2, 3, 4, 5]);
 * ```
 */
export function permutation(
  key: Key,
  n: number | Tensor,
  options?: { axis?: number },
): Tensor {
  const fn = "random.permutation";
  const k = keyInput(fn, key);
  if (typeof n === "number") {
    checkOptions(fn, options, []);
    checkCount(fn, "n", n);
    return bind(randomPrim, [k], { fn, draw: (w) => shuffled(w, n) });
  }
  // a tensor's entries along an axis, in the order JAX's shuffle of
  // arange gives (as jax.random.permutation(key, x, axis))
  const x = checkTensor(fn, n, "x");
  const o = checkOptions(fn, options, ["axis"]);
  if (x.shape.length === 0) {
    throw new Error(
      `${fn}: x must have an axis to permute, got ${describe(x)}`,
    );
  }
  const axis = (o.axis ?? 0) as number;
  const r = x.shape.length;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) {
    throw new Error(
      `${fn}: options.axis must be an integer in [${-r}, ${r}) for x ${
        fmtShape(x.shape)
      }, got ${describe(axis)}`,
    );
  }
  const size = x.shape[axis < 0 ? axis + r : axis];
  const order = bind(randomPrim, [k], {
    fn,
    draw: (w) => shuffled(w, size),
  });
  return take(x, order, { axis });
}

/** `permutation`'s draw: JAX's rounds of sorting by random words. */
function shuffled(key: readonly [number, number], n: number): Tensor {
  let k = key;
  const rounds = Math.ceil(
    3 * Math.log(Math.max(1, n)) / Math.log(UINT32 - 1),
  );
  let x = new Int32Array(n);
  for (let i = 0; i < n; i++) x[i] = i;
  for (let r = 0; r < rounds; r++) {
    const words = threefryIota(k, 4);
    k = [words[0], words[1]];
    const sortKeys = threefryIota([words[2], words[3]], n);
    const next = new Int32Array(n);
    if (n <= 2 ** 21) {
      // sortKey * 2^21 + position is exact below 2^53 and unique, so a
      // numeric sort is a stable sort by sortKey.
      const packed = new Float64Array(n);
      for (let i = 0; i < n; i++) packed[i] = sortKeys[i] * 2 ** 21 + i;
      packed.sort();
      for (let i = 0; i < n; i++) next[i] = x[packed[i] % 2 ** 21];
    } else {
      const order = Array.from({ length: n }, (_, i) => i);
      order.sort((a, b) => sortKeys[a] - sortKeys[b] || a - b);
      for (let i = 0; i < n; i++) next[i] = x[order[i]];
    }
    x = next;
  }
  return fromData(x, [n]);
}

// ---------------------------------------------------------------------------
// more distributions, as jax.random draws them

/** The smallest normal float, 1 - the largest float below 1, and the float spacing at 1, per dtype (NumPy's finfo tiny, epsneg, eps). */
const FINFO = {
  float32: { tiny: 2 ** -126, epsneg: 2 ** -24, eps: 2 ** -23 },
  float64: { tiny: 2 ** -1022, epsneg: 2 ** -53, eps: 2 ** -52 },
};

/**
 * A sampler of `jax.random`'s form: uniform floats in `[lo, hi)` (lo, hi
 * from the dtype) mapped elementwise by `f` in the dtype's rounding; `f`
 * also gets each element's values of the positive parameters `params`
 * (numbers, or tensors broadcasting to the shape, read when drawing; the
 * shape defaults to theirs broadcast).
 */
function uniformMapped(
  fn: string,
  key: Key,
  shape: readonly number[] | undefined,
  options: { dtype?: DType } | undefined,
  range: (f: typeof FINFO.float32) => [number, number],
  f: (u: number, p: number[]) => number,
  params: Record<string, number | Tensor> = {},
): Tensor {
  if (options === undefined) options = {};
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape ?? paramsShape(Object.values(params)));
  checkOptions(fn, options, ["dtype"]);
  const dtype = checkFloatDType(fn, options.dtype ?? "float32");
  const [lo, hi] = range(FINFO[dtype]);
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  const ps = Object.entries(params).map(([name, v]) =>
    shapeParam(fn, name, v, s)
  );
  const draw = (w: readonly [number, number]) => {
    const u = uniformData(fn, w, sizeOf(s), lo, hi, dtype);
    for (let i = 0; i < u.length; i++) {
      u[i] = r(f(u[i], ps.map((p) => r(p(i)))));
    }
    return fromData(u, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/** The parameters' shapes broadcast (a number's is []), for a default shape. */
const paramsShape = (ps: readonly unknown[]): number[] =>
  ps.reduce<number[] | null>(
    (s, p) =>
      s && broadcastShapes(
        s,
        typeof p === "number" ? [] : (p as Tensor | undefined)?.shape ?? [],
      ),
    [],
  ) ?? [];

/**
 * Standard exponential random floats (density `e^-x`, x >= 0), as
 * `jax.random.exponential`: `-log1p(-u)` of a uniform `u` in [0, 1).
 *
 * @example
 * ```ts
 * import { exponential, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * const e = exponential(key(0), [1000]);
 * assert.ok([...e.data].every((v) => v >= 0));
 * ```
 */
export function exponential(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return uniformMapped(
    "random.exponential",
    key,
    shape,
    options,
    () => [0, 1],
    (u) => -Math.log1p(-u),
  );
}

/**
 * Standard Gumbel random floats (CDF `exp(-exp(-x))`), as
 * `jax.random.gumbel`: `-log(-log(u))` of a uniform `u` in [tiny, 1).
 *
 * @example
 * ```ts
 * import { gumbel, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...gumbel(key(0), [100]).data].every(Number.isFinite));
 * ```
 */
export function gumbel(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return gumbelAs("random.gumbel", key, shape, options);
}

/** {@linkcode gumbel}, its errors naming `fn`. */
const gumbelAs = (
  fn: string,
  key: Key,
  shape: readonly number[] | undefined,
  options: { dtype?: DType } | undefined,
) =>
  uniformMapped(
    fn,
    key,
    shape,
    options,
    (f) => [f.tiny, 1],
    (u) => -Math.log(-Math.log(u)),
  );

/**
 * Standard Laplace random floats (density `e^-|x| / 2`), as
 * `jax.random.laplace`: `sign(u)·log1p(-|u|)` of a uniform `u` in
 * (-1, 1).
 *
 * @example
 * ```ts
 * import { key, laplace } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...laplace(key(0), [100]).data].every(Number.isFinite));
 * ```
 */
export function laplace(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return uniformMapped(
    "random.laplace",
    key,
    shape,
    options,
    (f) => [-1 + f.epsneg, 1],
    (u) => Math.sign(u) * Math.log1p(-Math.abs(u)),
  );
}

/**
 * Standard logistic random floats (CDF `1 / (1 + e^-x)`), as
 * `jax.random.logistic`: `log(u / (1 - u))` of a uniform `u` in [eps, 1).
 *
 * @example
 * ```ts
 * import { key, logistic } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...logistic(key(0), [100]).data].every(Number.isFinite));
 * ```
 */
export function logistic(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return uniformMapped(
    "random.logistic",
    key,
    shape,
    options,
    (f) => [f.eps, 1],
    (u) => Math.log(u / (1 - u)),
  );
}

/** Options of {@linkcode categorical}. */
export interface CategoricalOptions {
  /** The axis of the classes. Default -1. */
  axis?: number;
  /** The result's shape: the logits' other axes, or that with leading axes of more draws. Default the logits' other axes. */
  shape?: readonly number[];
}

/**
 * Random class indices with probabilities `softmax(logits)` along `axis`,
 * as `jax.random.categorical`: the argmax of `logits + gumbel(key)` (the
 * Gumbel-max trick); int32. Differentiable nowhere, but jittable and
 * batchable as any composition.
 *
 * @example
 * ```ts
 * import { key, categorical } from "./random.ts";
 * import { log, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const c = categorical(key(0), log(tensor([0.25, 0.75])), { shape: [1000] });
 * const ones = [...c.data].filter((v) => v === 1).length;
 * assert.ok(ones > 680 && ones < 820);
 * ```
 */
export function categorical(
  key: Key,
  logits: Tensor,
  options?: CategoricalOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "random.categorical";
  checkOptions(fn, options, ["axis", "shape"]);
  checkTensor(fn, logits, "logits");
  if (logits.dtype !== "float32" && logits.dtype !== "float64") {
    throw new Error(
      `${fn}: logits must be float32 or float64, got ${logits.dtype}`,
    );
  }
  const rank = logits.shape.length;
  const ax = options.axis ?? -1;
  if (!Number.isInteger(ax) || ax < -rank || ax >= rank) {
    throw new Error(
      `${fn}: axis must be an integer in [${-rank}, ${rank}) for logits ${
        fmtShape(logits.shape)
      }, got ${describe(ax)}`,
    );
  }
  const axis = ax < 0 ? ax + rank : ax;
  if (logits.shape[axis] === 0) {
    throw new Error(
      `${fn}: logits must have at least one category along axis ${ax}, got ${
        fmtShape(logits.shape)
      }`,
    );
  }
  const batch = logits.shape.filter((_, i) => i !== axis);
  const shape = options.shape === undefined
    ? batch
    : checkSize(fn, options.shape);
  const prefix = shape.length - batch.length;
  if (prefix < 0 || !batch.every((d, i) => d === shape[prefix + i])) {
    throw new Error(
      `${fn}: shape ${fmtShape(shape)} must end with the logits' other axes ${
        fmtShape(batch)
      }`,
    );
  }
  const noise = gumbelAs(fn, key, [
    ...shape.slice(0, prefix),
    ...logits.shape,
  ], { dtype: logits.dtype });
  const lifted = reshape(logits, [
    ...shape.slice(0, prefix).map(() => 1),
    ...logits.shape,
  ]);
  return argmax(add(noise, lifted), { axis: prefix + axis });
}

/**
 * JAX's `_gamma_one` (Marsaglia and Tsang's method, alpha < 1 boosted to
 * alpha + 1) on the words of one key, in the dtype's rounding; with
 * `logSpace` the log of the sample.
 */
function gammaOne(
  w: readonly [number, number],
  alpha: number,
  logSpace: boolean,
  dtype: "float32" | "float64",
): number {
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  const uniformOne = (k: readonly [number, number]) =>
    uniformData("random.gamma", k, 1, 0, 1, dtype)[0];
  const lo = dtype === "float32" ? -(1 - 2 ** -24) : -(1 - 2 ** -53);
  const normalOne = (k: readonly [number, number]) =>
    r(
      r(Math.SQRT2) *
        r(erfinv(uniformData("random.gamma", k, 1, lo, 1, dtype)[0])),
    );
  const boost = alpha >= 1;
  const a = boost ? alpha : r(alpha + 1);
  const d = r(a - r(1 / 3));
  const c = r(r(1 / 3) / r(Math.sqrt(d)));
  let key = splitWords(w, 2, 0);
  const subkey = splitWords(w, 2, 1);
  let X = 0, V = 1, U = 2;
  const accept = () =>
    !(U >= r(1 - r(0.0331 * r(X * X))) &&
      Math.log(U) >= r(r(X * 0.5) + r(d * r(r(1 - V) + r(Math.log(V))))));
  while (!accept()) {
    const xKey = splitWords(key, 3, 1), uKey = splitWords(key, 3, 2);
    key = splitWords(key, 3, 0);
    let kx = xKey, x = 0, v = -1;
    while (v <= 0) {
      const sub = splitWords(kx, 2, 1);
      kx = splitWords(kx, 2, 0);
      x = normalOne(sub);
      v = r(1 + r(x * c));
    }
    X = r(x * x);
    V = r(r(v * v) * v);
    U = uniformOne(uKey);
  }
  if (logSpace) {
    const logSample = -r(-Math.log1p(-uniformOne(subkey)));
    const logBoost = boost || logSample === 0 ? 0 : r(logSample * r(1 / alpha));
    return r(r(r(Math.log(d)) + r(Math.log(V))) + logBoost);
  }
  const sample = r(1 - uniformOne(subkey));
  return r(r(d * V) * (boost ? 1 : r(sample ** r(1 / alpha))));
}

/** Shape parameters: a positive number, or a tensor of them (read as constants) broadcasting to `shape`. */
function shapeParam(
  fn: string,
  name: string,
  v: unknown,
  shape: readonly number[],
  zeroOk = false,
): (i: number) => number {
  const ok = (x: number) => (zeroOk ? x >= 0 : x > 0) && Number.isFinite(x);
  const bound = zeroOk ? ">= 0" : "> 0";
  if (typeof v === "number") {
    if (!ok(v)) {
      throw new Error(
        `${fn}: ${name} must be a finite number ${bound}, got ${v}`,
      );
    }
    return () => v;
  }
  const t = checkTensor(fn, v, name);
  if (t instanceof Tracer) {
    throw new Error(
      `${fn}: ${name} must be a number or a concrete tensor (its values are read when drawing), got a traced value`,
    );
  }
  const s = t.shape;
  const lead = shape.length - s.length;
  if (lead < 0 || !s.every((d, i) => d === 1 || d === shape[lead + i])) {
    throw new Error(
      `${fn}: ${name} ${fmtShape(s)} must broadcast to the shape ${
        fmtShape(shape)
      }`,
    );
  }
  const data = t.data;
  if (!Array.from(data).every(ok)) {
    throw new Error(`${fn}: every ${name} must be a finite number ${bound}`);
  }
  // the flat index into t of the flat index into shape
  return (i: number) => {
    let at = 0, stride = 1;
    for (let k = shape.length - 1; k >= lead; k--) {
      const coord = i % shape[k];
      i = Math.floor(i / shape[k]);
      const d = s[k - lead];
      if (d !== 1) at += coord * stride;
      stride *= d;
    }
    return data[at];
  };
}

/**
 * Gamma random floats of shape `a` (density ∝ `x^(a-1) e^-x`), as
 * `jax.random.gamma`: a key split per element and JAX's Marsaglia-Tsang
 * rejection loop on each (so a draw costs a few JavaScript operations per
 * element). `a` is a number or a tensor broadcasting to `shape` (default
 * its shape), read when drawing.
 *
 * @example
 * ```ts
 * import { gamma, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * const g = gamma(key(0), 3, [4000]);
 * const mean = [...g.data].reduce((s, v) => s + v, 0) / 4000;
 * assert.ok(Math.abs(mean - 3) < 0.15);
 * ```
 */
export function gamma(
  key: Key,
  a: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return gammaLike("random.gamma", key, a, shape, options, false);
}

function gammaLike(
  fn: string,
  key: Key,
  a: number | Tensor,
  shape: readonly number[] | undefined,
  options: { dtype?: DType } | undefined,
  logSpace: boolean,
  name = "a",
): Tensor {
  if (options === undefined) options = {};
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape ?? paramsShape([a]));
  checkOptions(fn, options, ["dtype"]);
  const dtype = checkFloatDType(fn, options.dtype ?? "float32");
  const alpha = shapeParam(fn, name, a, s);
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  const n = sizeOf(s);
  const draw = (w: readonly [number, number]) => {
    const out = allocData(dtype, n);
    for (let i = 0; i < n; i++) {
      out[i] = gammaOne(splitWords(w, n, i), r(alpha(i)), logSpace, dtype);
    }
    return fromData(out, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/**
 * Beta random floats in (0, 1) with shapes `a` and `b`, as
 * `jax.random.beta`: two log-gamma draws from split keys, combined as
 * `ga / (ga + gb)` scaled by their maximum.
 *
 * @example
 * ```ts
 * import { beta, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * const x = beta(key(0), 2, 6, [4000]);
 * const mean = [...x.data].reduce((s, v) => s + v, 0) / 4000;
 * assert.ok(Math.abs(mean - 0.25) < 0.01);
 * ```
 */
export function beta(
  key: Key,
  a: number | Tensor,
  b: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  if (options === undefined) options = {};
  const fn = "random.beta";
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape ?? paramsShape([a, b]));
  checkOptions(fn, options, ["dtype"]);
  const dtype = checkFloatDType(fn, options.dtype ?? "float32");
  const fa = shapeParam(fn, "a", a, s), fb = shapeParam(fn, "b", b, s);
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  const n = sizeOf(s);
  const draw = (w: readonly [number, number]) => {
    const ka = splitWords(w, 2, 0), kb = splitWords(w, 2, 1);
    const out = allocData(dtype, n);
    for (let i = 0; i < n; i++) {
      const la = gammaOne(splitWords(ka, n, i), r(fa(i)), true, dtype);
      const lb = gammaOne(splitWords(kb, n, i), r(fb(i)), true, dtype);
      const m = Math.max(la, lb);
      const ea = r(Math.exp(r(la - m))), eb = r(Math.exp(r(lb - m)));
      out[i] = r(ea / r(ea + eb));
    }
    return fromData(out, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/** Options of {@linkcode choice}. */
export interface ChoiceOptions {
  /** The result's shape (the draws). Default [] (one). */
  shape?: readonly number[];
  /** Draw with replacement. Default true. */
  replace?: boolean;
  /** The probability of each entry (a 1-D float tensor, read when drawing). Default uniform. */
  p?: Tensor;
  /** The axis of `a` to draw along, when `a` is a tensor. Default 0. */
  axis?: number;
}

/**
 * Random entries of `a` (a tensor, along `axis`) or of `0..a-1` (a number),
 * as `jax.random.choice`: with replacement and no `p`, `randint`; without
 * replacement and no `p`, the first draws of `permutation`; with `p`, the
 * cumulative sum searched at uniform draws (with replacement) or the
 * Gumbel top-k (without). The indices are drawn by JAX's algorithm from
 * `key`; the entries are gathered with `take`.
 *
 * @example
 * ```ts
 * import { choice, key } from "./random.ts";
 * import { tensor } from "./tensor.ts";
 * import assert from "node:assert/strict";
 * const c = choice(key(0), 5, { shape: [3], replace: false });
 * assert.equal(new Set(c.data).size, 3);
 * const picked = choice(key(1), tensor([10, 20, 30]), { shape: [4], p: tensor([0, 1, 0]) });
 * assert.deepEqual([...picked.data], [20, 20, 20, 20]);
 * ```
 */
export function choice(
  key: Key,
  a: number | Tensor,
  options?: ChoiceOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "random.choice";
  const k = keyInput(fn, key);
  checkOptions(fn, options, ["shape", "replace", "p", "axis"]);
  const s = checkSize(fn, options.shape ?? []);
  const replace = options.replace ?? true;
  if (typeof replace !== "boolean") {
    throw new Error(
      `${fn}: replace must be a boolean, got ${describe(replace)}`,
    );
  }
  let n: number, axis = 0;
  if (typeof a === "number") {
    n = checkCount(fn, "a", a);
  } else {
    const arr = checkTensor(fn, a, "a");
    if (arr.shape.length === 0) {
      throw new Error(
        `${fn}: a must be a number or a tensor of rank >= 1, got a scalar tensor`,
      );
    }
    const ax = options.axis ?? 0;
    if (
      !Number.isInteger(ax) || ax < -arr.shape.length || ax >= arr.shape.length
    ) {
      throw new Error(
        `${fn}: axis must be an integer in [${-arr.shape
          .length}, ${arr.shape.length}), got ${describe(ax)}`,
      );
    }
    axis = ax < 0 ? ax + arr.shape.length : ax;
    n = arr.shape[axis];
  }
  const draws = sizeOf(s);
  if (draws > 0 && n <= 0) {
    throw new Error(
      `${fn}: a must hold at least one entry unless no draws are taken`,
    );
  }
  if (!replace && draws > n) {
    throw new Error(
      `${fn}: cannot take ${draws} draws without replacement from ${n} entries`,
    );
  }
  let probs: Float64Array | null = null,
    pType: "float32" | "float64" = "float32";
  if (options.p !== undefined) {
    const p = checkTensor(fn, options.p, "p");
    if (p instanceof Tracer) {
      throw new Error(
        `${fn}: p must be a concrete tensor (its values are read when drawing), got a traced value`,
      );
    }
    if (p.shape.length !== 1 || p.shape[0] !== n) {
      throw new Error(
        `${fn}: p must be a 1-D tensor of ${n} probabilities, got ${
          fmtShape(p.shape)
        }`,
      );
    }
    if (!Array.from(p.data).every((v) => v >= 0 && Number.isFinite(v))) {
      throw new Error(`${fn}: p must hold finite numbers >= 0`);
    }
    pType = p.dtype === "float64" ? "float64" : "float32";
    probs = Float64Array.from(p.data);
    // as NumPy: probabilities that sum to a positive number (an all-zero p
    // would always draw entry 0), and without replacement at least as many
    // non-zero ones as draws (else zero-probability entries would be drawn)
    const round = pType === "float32" ? Math.fround : (v: number) => v;
    let total = 0, nonZero = 0;
    for (const v of probs) {
      total = round(total + v);
      nonZero += +(v > 0);
    }
    if (n > 0 && !(total > 0 && Number.isFinite(total))) {
      throw new Error(
        `${fn}: p must sum to a positive finite number, got a sum of ${total} (p ${
          fmtShape(p.shape)
        } ${p.dtype})`,
      );
    }
    if (!replace && nonZero < draws) {
      throw new Error(
        `${fn}: fewer non-zero entries in p (${nonZero}) than draws without replacement (${draws})`,
      );
    }
  }
  const r = pType === "float32" ? Math.fround : (v: number) => v;
  const draw = (w: readonly [number, number]): Tensor => {
    const out = new Int32Array(draws);
    if (!probs) {
      if (replace) return fromData(randintData(w, draws, 0, n), [...s]);
      const perm = shuffled(w, n).data;
      for (let i = 0; i < draws; i++) out[i] = perm[i];
    } else if (replace) {
      const cum = new Float64Array(n);
      let acc = 0;
      for (let i = 0; i < n; i++) cum[i] = acc = r(acc + probs[i]);
      const u = uniformData(fn, w, draws, 0, 1, pType);
      for (let i = 0; i < draws; i++) {
        const target = r(cum[n - 1] * r(1 - u[i]));
        // searchsorted, left: the first index whose sum reaches the target
        let lo = 0, hi = n;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cum[mid] < target) lo = mid + 1;
          else hi = mid;
        }
        out[i] = lo;
      }
    } else {
      const u = uniformData(fn, w, n, FINFO[pType].tiny, 1, pType);
      const g = Array.from(
        { length: n },
        (_, i) => r(-r(-Math.log(-Math.log(u[i]))) - r(Math.log(probs![i]))),
      );
      const order = Array.from({ length: n }, (_, i) => i)
        .sort((x, y) => g[x] - g[y] || x - y);
      for (let i = 0; i < draws; i++) out[i] = order[i];
    }
    return fromData(out, [...s]);
  };
  // the rows picked: checked before any is drawn (a [2, 2^20] a with 4096
  // draws would be 2^32 numbers)
  if (typeof a !== "number") {
    bounded(fn, [[
      "the result",
      [...a.shape.slice(0, axis), ...s, ...a.shape.slice(axis + 1)],
    ]]);
  }
  const idx = bind(randomPrim, [k], { fn, draw });
  if (typeof a === "number") return idx;
  const flatIdx = reshape(idx, [draws]);
  const picked = take(a, flatIdx, { axis });
  return reshape(picked, [
    ...a.shape.slice(0, axis),
    ...s,
    ...a.shape.slice(axis + 1),
  ]);
}

// ---------------------------------------------------------------------------
// the other distributions of jax.random: JAX's formulas, on the samplers above

/** A float dtype option, checked (default float32). */
const floatOption = (fn: string, options: { dtype?: DType } | undefined) => {
  checkOptions(fn, options ?? {}, ["dtype"]);
  return checkFloatDType(fn, options?.dtype ?? "float32");
};

/**
 * The logarithm of gamma random floats of shape `a`, as
 * `jax.random.loggamma`: the same rejection loop kept in log space, so
 * shapes far below 1 (whose draws underflow to 0) stay finite.
 *
 * @example
 * ```ts
 * import { key, loggamma } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...loggamma(key(0), 1e-3, [100]).data].every(Number.isFinite));
 * ```
 */
export function loggamma(
  key: Key,
  a: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return gammaLike("random.loggamma", key, a, shape, options, true);
}

/**
 * Standard Cauchy random floats (CDF `1/2 + atan(x)/π`), as
 * `jax.random.cauchy`: `tan(π (u - 1/2))` of a uniform `u` in [eps, 1).
 *
 * @example
 * ```ts
 * import { cauchy, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...cauchy(key(0), [100]).data].every(Number.isFinite));
 * ```
 */
export function cauchy(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return uniformMapped(
    "random.cauchy",
    key,
    shape,
    options,
    (f) => [f.eps, 1],
    (u) => Math.tan(Math.PI * (u - 0.5)),
  );
}

/**
 * Rayleigh random floats of `scale` (CDF `1 - exp(-x²/(2 scale²))`), as
 * `jax.random.rayleigh`: `scale · sqrt(-2 log u)`. `scale` is a number or
 * a tensor broadcasting to `shape`.
 *
 * @example
 * ```ts
 * import { key, rayleigh } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...rayleigh(key(0), 2, [100]).data].every((v) => v >= 0));
 * ```
 */
export function rayleigh(
  key: Key,
  scale: number | Tensor = 1,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return uniformMapped(
    "random.rayleigh",
    key,
    shape,
    options,
    () => [0, 1],
    (u, [s]) => s * Math.sqrt(-2 * Math.log(u)),
    { scale },
  );
}

/**
 * Weibull random floats of `scale` and `concentration` (CDF `1 -
 * exp(-(x/scale)^concentration)`), as `jax.random.weibull_min`:
 * `(-log1p(-u))^(1/concentration) · scale`.
 *
 * @example
 * ```ts
 * import { key, weibullMin } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...weibullMin(key(0), 1, 2, [100]).data].every((v) => v >= 0));
 * ```
 */
export function weibullMin(
  key: Key,
  scale: number | Tensor,
  concentration: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return uniformMapped(
    "random.weibullMin",
    key,
    shape,
    options,
    () => [0, 1],
    (u, [s, c]) => (-Math.log1p(-u)) ** (1 / c) * s,
    { scale, concentration },
  );
}

/**
 * Pareto random floats of shape `b` (CDF `1 - x^-b` for x >= 1), as
 * `jax.random.pareto`: `exp(e / b)` of a standard exponential `e`.
 *
 * @example
 * ```ts
 * import { key, pareto } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...pareto(key(0), 3, [100]).data].every((v) => v >= 1));
 * ```
 */
export function pareto(
  key: Key,
  b: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  return uniformMapped(
    "random.pareto",
    key,
    shape,
    options,
    () => [0, 1],
    (u, [bb]) => Math.exp(-Math.log1p(-u) / bb),
    { b },
  );
}

/**
 * Log-normal random floats (`exp(sigma · n)` of a standard normal `n`), as
 * `jax.random.lognormal`; `sigma` a number > 0 (default 1).
 *
 * @example
 * ```ts
 * import { key, lognormal } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...lognormal(key(0), 0.5, [100]).data].every((v) => v > 0));
 * ```
 */
export function lognormal(
  key: Key,
  sigma: number = 1,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.lognormal";
  keyInput(fn, key);
  positiveNumber(fn, "sigma", sigma);
  const dtype = floatOption(fn, options);
  const s = checkSize(fn, shape ?? []);
  return exp(mul(normal(key, s, { dtype }), sigma));
}

/** Checks a parameter that must be a finite number > 0. */
function positiveNumber(fn: string, name: string, v: unknown): void {
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
    throw new Error(
      `${fn}: ${name} must be a finite number > 0, got ${describe(v)}`,
    );
  }
}

/**
 * Random signs, -1 or 1 with equal probability, as `jax.random.rademacher`
 * (`2 · bernoulli(1/2) - 1`); int32 by default.
 *
 * @example
 * ```ts
 * import { key, rademacher } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...rademacher(key(0), [100]).data].every((v) => v === 1 || v === -1));
 * ```
 */
export function rademacher(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.rademacher";
  keyInput(fn, key);
  const s = checkSize(fn, shape ?? []);
  checkOptions(fn, options ?? {}, ["dtype"]);
  const dtype = checkDType(fn, options?.dtype ?? "int32");
  const b = bernoulli(key, 0.5, s);
  return sub(mul(astype(b, dtype), 2), 1);
}

/**
 * Maxwell random floats (the speed of a 3-D standard normal vector), as
 * `jax.random.maxwell`: the norm of 3 normal draws per element.
 *
 * @example
 * ```ts
 * import { key, maxwell } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...maxwell(key(0), [100]).data].every((v) => v >= 0));
 * ```
 */
export function maxwell(
  key: Key,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.maxwell";
  keyInput(fn, key);
  const dtype = floatOption(fn, options);
  const s = checkSize(fn, shape ?? []);
  checkSize(fn, [...s, 3]); // the normals drawn (errors naming maxwell)
  return sqrt(sum(square(normal(key, [...s, 3], { dtype })), { axis: -1 }));
}

/**
 * Student's t random floats with `df` degrees of freedom, as
 * `jax.random.t`: from split keys a normal `n` and a gamma `g` of shape
 * `df / 2`, then `n · sqrt(df / 2 / g)`.
 *
 * @example
 * ```ts
 * import { key, t } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...t(key(0), 3, [100]).data].every(Number.isFinite));
 * ```
 */
export function t(
  key: Key,
  df: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.t";
  keyInput(fn, key);
  const dtype = floatOption(fn, options);
  const s = checkSize(fn, shape ?? paramsShape([df]));
  const [kn, kg] = split(key);
  const halfDf = halved(fn, "df", df, dtype);
  const n = normal(kn, s, { dtype });
  return mul(
    n,
    sqrt(div(halfDf, gammaLike(fn, kg, halfDf, s, { dtype }, false, "df"))),
  );
}

/** A positive parameter halved: a number, or a float tensor in `dtype`. */
function halved(
  fn: string,
  name: string,
  v: number | Tensor,
  dtype: DType,
): number | Tensor {
  if (typeof v === "number") {
    positiveNumber(fn, name, v);
    return v / 2;
  }
  return div(astype(checkTensor(fn, v, name), dtype), 2);
}

/**
 * Chi-square random floats with `df` degrees of freedom, as
 * `jax.random.chisquare`: `exp(log 2 + loggamma(df / 2))`.
 *
 * @example
 * ```ts
 * import { chisquare, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...chisquare(key(0), 4, [100]).data].every((v) => v > 0));
 * ```
 */
export function chisquare(
  key: Key,
  df: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.chisquare";
  keyInput(fn, key);
  const dtype = floatOption(fn, options);
  const s = checkSize(fn, shape ?? paramsShape([df]));
  const logG = gammaLike(
    fn,
    key,
    halved(fn, "df", df, dtype),
    s,
    { dtype },
    true,
    "df",
  );
  return exp(add(logG, Math.LN2));
}

/**
 * Dirichlet random floats (points of the simplex) with concentrations
 * `alpha` (a tensor whose last axis has k entries), as
 * `jax.random.dirichlet`: log-gamma draws of shapes alpha, softmaxed
 * along the last axis; the result is `[...shape, k]` (shape defaults to
 * alpha's leading axes).
 *
 * @example
 * ```ts
 * import { dirichlet, key } from "./random.ts";
 * import { sum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = dirichlet(key(0), tensor([1, 2, 3]), [5]);
 * assert.deepEqual(x.shape, [5, 3]);
 * (toArray(sum(x, { axis: -1 })) as number[]).forEach((v) => assert.ok(Math.abs(v - 1) < 1e-6));
 * ```
 */
export function dirichlet(
  key: Key,
  alpha: Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.dirichlet";
  keyInput(fn, key);
  const a = checkTensor(fn, alpha, "alpha");
  if (a.shape.length === 0) {
    throw new Error(
      `${fn}: alpha must have at least one axis (the k concentrations), got ${
        describe(a)
      }`,
    );
  }
  const dtype = floatOption(fn, options);
  const s = checkSize(fn, shape ?? a.shape.slice(0, -1));
  const logG = gammaLike(
    fn,
    key,
    a,
    [...s, a.shape.at(-1)!],
    { dtype },
    true,
    "alpha",
  );
  return softmax(logG, -1);
}

/**
 * Geometric random integers (the trial of the first success, each with
 * probability `p`; so >= 1), as `jax.random.geometric`: `floor(log u /
 * log1p(-p)) + 1` of a uniform `u` (1 for `p = 1`); int32 by default, where
 * counts past 2^31 - 1 (u = 0, or a tiny `p`) saturate at 2^31 - 1. `p` is
 * a number in (0, 1].
 *
 * @example
 * ```ts
 * import { geometric, key } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...geometric(key(0), 0.3, [100]).data].every((v) => v >= 1));
 * assert.deepEqual([...geometric(key(0), 1, [3]).data], [1, 1, 1]);
 * ```
 */
export function geometric(
  key: Key,
  p: number,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.geometric";
  if (typeof p !== "number" || !(p > 0 && p <= 1)) {
    throw new Error(`${fn}: p must be a number in (0, 1], got ${describe(p)}`);
  }
  checkOptions(fn, options ?? {}, ["dtype"]);
  const dtype = checkDType(fn, options?.dtype ?? "int32");
  const u = uniformMapped(fn, key, shape, {}, () => [0, 1], (v) => v);
  // p = 1: every first trial succeeds (log u / log1p(-1) would be 0); else
  // JAX's floor + 1 (a ratio that is a whole number k counts k + 1, where
  // a ceil would give k)
  const g = p === 1
    ? add(mul(u, 0), 1)
    : add(floor(div(log(u), Math.log1p(-p))), 1);
  if (dtype !== "int32") return astype(g, dtype);
  // u = 0 (or a tiny p) gives a count past int32 (astype would give
  // -2^31): saturate at 2^31 - 1, as XLA's conversion
  return where(greaterEqual(g, 2 ** 31), INT32_MAX, astype(g, dtype));
}

/**
 * Triangular random floats between `left` and `right` with the peak at
 * `mode`, as `jax.random.triangular`: the inverse CDF at a uniform `u` on
 * either side of `(mode - left) / (right - left)`.
 *
 * @example
 * ```ts
 * import { key, triangular } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.ok([...triangular(key(0), -1, 0, 2, [100]).data].every((v) => v >= -1 && v <= 2));
 * ```
 */
export function triangular(
  key: Key,
  left: number,
  mode: number,
  right: number,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.triangular";
  if (
    ![left, mode, right].every((v) =>
      typeof v === "number" && Number.isFinite(v)
    ) ||
    !(left <= mode && mode <= right && left < right)
  ) {
    throw new Error(
      `${fn}: left, mode and right must be finite numbers with left <= mode <= right and left < right, got ${
        describe(left)
      }, ${describe(mode)} and ${describe(right)}`,
    );
  }
  const fc = (mode - left) / (right - left);
  return uniformMapped(
    fn,
    key,
    shape,
    options,
    () => [0, 1],
    (u) =>
      u < fc
        ? left + Math.sqrt(u * (right - left) * (mode - left))
        : right - Math.sqrt((1 - u) * (right - left) * (right - mode)),
  );
}

/** log(k!) for an integer k >= 0: a sum of logs, Stirling's series from 64 on. */
function logFactorial(k: number): number {
  if (k < 64) {
    let s = 0;
    for (let i = 2; i <= k; i++) s += Math.log(i);
    return s;
  }
  const n = k + 1; // lgamma(n), n >= 65
  return (n - 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) +
    1 / (12 * n) - 1 / (360 * n ** 3) + 1 / (1260 * n ** 5);
}

/**
 * Poisson random integers with rate `lam` (>= 0; a number or a tensor
 * broadcasting to `shape`), as `jax.random.poisson`: JAX's algorithms,
 * each turn drawing float32 uniforms for the whole shape from a split key
 * (the element's own loop ends when it is done): Knuth's product of
 * uniforms where lam < 10, Hörmann's transformed rejection elsewhere;
 * rate 0 gives 0. int32 by default.
 *
 * @example
 * ```ts
 * import { key, poisson } from "./random.ts";
 * import assert from "node:assert/strict";
 * const x = poisson(key(0), 3, [4000]);
 * const mean = [...x.data].reduce((s, v) => s + v, 0) / 4000;
 * assert.ok(Math.abs(mean - 3) < 0.1);
 * ```
 */
export function poisson(
  key: Key,
  lam: number | Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.poisson";
  const k = keyInput(fn, key);
  const s = checkSize(fn, shape ?? paramsShape([lam]));
  const o = checkOptions(fn, options, ["dtype"]);
  const dtype = checkDType(fn, o.dtype ?? "int32");
  const rate = shapeParam(fn, "lam", lam, s, true);
  const n = sizeOf(s);
  const f = Math.fround;
  // an int32 count near 2^31 would wrap: rates up to 2^30 only
  const tooLarge = (l: number) =>
    dtype === "int32" && l > 2 ** 30
      ? new Error(
        `${fn}: lam must be at most 2^30 for int32 results (draws near 2^31 would wrap), got ${l}`,
      )
      : null;
  const big = typeof lam === "number" ? tooLarge(lam) : null;
  if (big) throw big;
  const draw = (w: readonly [number, number]) => {
    const lams = Float64Array.from({ length: n }, (_, i) => f(rate(i)));
    for (const l of lams) {
      const e = tooLarge(l);
      if (e) throw e;
    }
    const out = allocData(dtype, n);
    // Knuth: count the uniforms whose running log-product stays above -lam
    let key2: readonly [number, number] = w;
    const knuth = lams.map((l) => (l < 10 ? l : 0));
    const kk = new Float64Array(n), logProd = new Float64Array(n);
    while (logProd.some((p, i) => p > -knuth[i])) {
      const [next, sub] = [splitWords(key2, 2, 0), splitWords(key2, 2, 1)];
      key2 = next;
      const u = unitFloats(sub, n, "float32");
      for (let i = 0; i < n; i++) {
        if (logProd[i] > -knuth[i]) kk[i] += 1;
        logProd[i] = f(logProd[i] + f(Math.log(u[i])));
      }
    }
    // Hörmann's transformed rejection (lam >= 10), from the same key
    const rej = lams.map((l) => (l < 10 ? 1e5 : l));
    const kr = new Float64Array(n).fill(-1), done = new Uint8Array(n);
    let key3: readonly [number, number] = w;
    while (done.some((d) => !d)) {
      const [next, s0, s1] = [0, 1, 2].map((j) => splitWords(key3, 3, j));
      key3 = next;
      const us = unitFloats(s0, n, "float32"),
        vs = unitFloats(s1, n, "float32");
      for (let i = 0; i < n; i++) {
        const l = rej[i], b = 0.931 + 2.53 * Math.sqrt(l);
        const a = -0.059 + 0.02483 * b, invAlpha = 1.1239 + 1.1328 / (b - 3.4);
        const vr = 0.9277 - 3.6224 / (b - 2);
        const u = us[i] - 0.5, v = vs[i], us2 = 0.5 - Math.abs(u);
        const kv = Math.floor((2 * a / us2 + b) * u + l + 0.43);
        const sv = Math.log(v * invAlpha / (a / (us2 * us2) + b));
        const tv = -l + kv * Math.log(l) - (kv >= 0 ? logFactorial(kv) : 0);
        const accept1 = us2 >= 0.07 && v <= vr;
        const reject = kv < 0 || (us2 < 0.013 && v > us2);
        if (!done[i] && (accept1 || (!reject && sv <= tv))) {
          kr[i] = kv;
          done[i] = 1;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      out[i] = lams[i] === 0 ? 0 : lams[i] < 10 ? kk[i] - 1 : kr[i];
    }
    return fromData(out, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/**
 * Random orthogonal n×n matrices (Haar-distributed), as
 * `jax.random.orthogonal`: the Q of the QR decomposition of a standard
 * normal matrix drawn as `normal(key, [...shape, n, n])`, with R's
 * diagonal made positive. The result is `[...shape, n, n]`.
 *
 * @example
 * ```ts
 * import { key, orthogonal } from "./random.ts";
 * import { matmul, transpose } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const q = orthogonal(key(0), 3, [], { dtype: "float64" });
 * const qtq = matmul(transpose(q), q).data; // the identity
 * [...qtq].forEach((v, i) => assert.ok(Math.abs(v - (i % 4 === 0 ? 1 : 0)) < 1e-12));
 * ```
 */
export function orthogonal(
  key: Key,
  n: number,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.orthogonal";
  const k = keyInput(fn, key);
  checkCount(fn, "n", n);
  const s = checkSize(fn, [...(shape ?? []), n, n]);
  const dtype = floatOption(fn, options);
  const draw = (w: readonly [number, number]) => {
    // the normals of this key, then each matrix's Q
    const z = normal(makeKey(w[0], w[1]), s, { dtype }).data;
    const out = allocData(dtype, z.length);
    for (let b = 0; b < z.length; b += n * n) {
      out.set(positiveQ(Float64Array.from(z.subarray(b, b + n * n)), n, n), b);
    }
    return fromData(out, s);
  };
  return bind(randomPrim, [k], { fn, draw });
}

/**
 * Multivariate normal random floats with mean `mean` (`[..., d]`) and
 * covariance `cov` (`[d, d]`, symmetric positive definite, read when
 * called), as `jax.random.multivariate_normal` with its default Cholesky
 * method: `mean + L n` for `L` the lower Cholesky factor of `cov` and `n`
 * a standard normal draw of `[...shape, d]` (shape defaults to mean's
 * leading axes). Differentiable in `mean`.
 *
 * @example
 * ```ts
 * import { key, multivariateNormal } from "./random.ts";
 * import { tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = multivariateNormal(key(0), tensor([1, -1]), tensor([[1, 0.8], [0.8, 1]]), [4000]);
 * assert.deepEqual(x.shape, [4000, 2]);
 * ```
 */
export function multivariateNormal(
  key: Key,
  mean: Tensor,
  cov: Tensor,
  shape?: readonly number[],
  options?: { dtype?: DType },
): Tensor {
  const fn = "random.multivariateNormal";
  keyInput(fn, key);
  checkTensor(fn, mean, "mean");
  checkTensor(fn, cov, "cov");
  const d = mean.shape.at(-1);
  if (
    d === undefined || cov.shape.length !== 2 || cov.shape[0] !== d ||
    cov.shape[1] !== d
  ) {
    throw new Error(
      `${fn}: mean must be [..., d] and cov [d, d], got ${describe(mean)} and ${
        describe(cov)
      }`,
    );
  }
  const dtype = floatOption(fn, options);
  const s = checkSize(fn, shape ?? mean.shape.slice(0, -1));
  checkSize(fn, [...s, d]); // the normals drawn (errors naming this function)
  // the lower Cholesky factor, in float64 from cov's values
  const c = cov.data, l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      if (c[i * d + j] !== c[j * d + i]) {
        throw new Error(
          `${fn}: cov must be symmetric positive definite (cov[${i}][${j}] is not cov[${j}][${i}])`,
        );
      }
    }
  }
  const bad = cholesky(c, 1, d, l);
  if (bad) {
    throw new Error(
      `${fn}: cov must be symmetric positive definite (its Cholesky factor failed at row ${
        bad[1] - 1
      })`,
    );
  }
  const factorT = transpose(
    fromData(dtype === "float32" ? Float32Array.from(l) : l, [d, d]),
  );
  const n = normal(key, [...s, d], { dtype });
  return add(mean, matmul(n, factorT));
}
