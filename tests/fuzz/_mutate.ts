/**
 * Deterministic randomness and format-blind byte mutations for the fuzz
 * harness. Every input is made from its own generator, seeded from
 * (seed, format, index), so any single input can be rebuilt on its own.
 *
 * @module
 */
import { concat } from "../_png.ts";

/** A small seeded generator (mulberry32): fast, deterministic, not cryptographic. */
export class Rng {
  #s: number;
  /** Seeds the generator from any 32-bit integer. */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** The next uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A uniform integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 2 ** 32) * n);
  }
  /** A uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** Mixes integers into one 32-bit seed (FNV-1a over their bytes, then a finaliser). */
export function mixSeed(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    for (let k = 0; k < 4; k++) {
      h ^= (x >>> (8 * k)) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** Byte values that tend to sit on boundaries. */
const BYTES = [
  0,
  1,
  2,
  3,
  7,
  8,
  9,
  10,
  0x0b,
  0x0d,
  0x0e,
  0x10,
  0x1f,
  0x20,
  0x7f,
  0x80,
  0x8b,
  0xfe,
  0xff,
];

/** 32-bit values that tend to sit on boundaries (sizes, lengths, counts). */
export const WORDS = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  28,
  255,
  256,
  3073,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
  2 ** 24,
  2 ** 30,
];

/** Writes a 32-bit value at `at` (big- or little-endian), clipped to the array. */
export function setWord(
  b: Uint8Array,
  at: number,
  v: number,
  le: boolean,
): void {
  for (let k = 0; k < 4; k++) {
    const i = at + k;
    if (i < 0 || i >= b.length) continue;
    const shift = le ? 8 * k : 8 * (3 - k);
    b[i] = Math.floor(v / 2 ** shift) & 0xff;
  }
}

/** Inserts `part` into `b` at `at`. */
export function insertAt(
  b: Uint8Array,
  at: number,
  part: Uint8Array,
): Uint8Array {
  return concat(b.subarray(0, at), part, b.subarray(at));
}

/**
 * A position in `b`, biased towards the start (headers) and the end
 * (trailers, truncation points), where the interesting structure is.
 */
function position(rng: Rng, n: number): number {
  if (n === 0) return 0;
  const r = rng.int(4);
  if (r === 0) return rng.int(Math.min(n, 64));
  if (r === 1) return Math.max(0, n - 1 - rng.int(Math.min(n, 32)));
  return rng.int(n);
}

/** The format-blind mutations, each returning a new array. */
const MUTATIONS: ((rng: Rng, b: Uint8Array) => Uint8Array)[] = [
  // flip one bit
  (rng, b) => {
    const out = b.slice();
    if (out.length) out[position(rng, out.length)] ^= 1 << rng.int(8);
    return out;
  },
  // set a byte to a boundary value or a random one
  (rng, b) => {
    const out = b.slice();
    if (out.length) {
      out[position(rng, out.length)] = rng.chance(0.5)
        ? rng.pick(BYTES)
        : rng.int(256);
    }
    return out;
  },
  // truncate
  (rng, b) => b.slice(0, position(rng, b.length)),
  // insert 1..16 random bytes, or a large zero block
  (rng, b) =>
    insertAt(
      b,
      position(rng, b.length + 1),
      rng.chance(0.9)
        ? rng.bytes(rng.range(1, 16))
        : new Uint8Array(rng.range(1, 5000)),
    ),
  // delete a range
  (rng, b) => {
    const at = position(rng, b.length);
    const n = rng.range(1, Math.max(1, Math.min(64, b.length - at)));
    return concat(b.subarray(0, at), b.subarray(at + n));
  },
  // duplicate a region somewhere (possibly right after itself)
  (rng, b) => {
    const at = position(rng, b.length);
    const n = rng.range(
      1,
      Math.max(1, Math.min(b.length - at, rng.chance(0.5) ? 16 : 4096)),
    );
    const part = b.slice(at, at + n);
    return insertAt(b, rng.chance(0.5) ? at + n : rng.int(b.length + 1), part);
  },
  // overwrite a 32-bit field with a boundary value
  (rng, b) => {
    const out = b.slice();
    setWord(out, position(rng, out.length), rng.pick(WORDS), rng.chance(0.5));
    return out;
  },
  // append random bytes
  (rng, b) => concat(b, rng.bytes(rng.range(1, 64))),
];

/** One to four stacked format-blind mutations of `b` (mostly one). */
export function mutateBytes(rng: Rng, b: Uint8Array): Uint8Array {
  const n = rng.chance(0.7) ? 1 : rng.range(2, 4);
  let out = b;
  for (let i = 0; i < n; i++) out = rng.pick(MUTATIONS)(rng, out);
  return out === b ? b.slice() : out;
}
