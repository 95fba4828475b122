/**
 * Test helpers: assertAllClose (replaces @std/assert, which JSR cannot serve
 * here), deterministic test values, temporary directories, and the small
 * fast-check pieces the op-family tests share.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Tensor } from "../mod.ts";
import { RELAXED_AVAILABLE } from "../ops/kernels/wasm/runtime.ts";

/** The kernel module's variants this engine runs: relaxed SIMD (when it has it) and plain SIMD. */
export const moduleVariants: readonly { name: string; relaxed: boolean }[] = [
  { name: "relaxed SIMD", relaxed: true },
  { name: "plain SIMD", relaxed: false },
].filter((v) => !v.relaxed || RELAXED_AVAILABLE);

/** Flat numbers of a tensor, nested array or number. */
function flat(x: Tensor | ArrayLike<number> | number | unknown[]): number[] {
  if (typeof x === "number") return [x];
  if (
    x && typeof x === "object" && "data" in (x as object) &&
    "shape" in (x as object)
  ) {
    return Array.from((x as Tensor).data);
  }
  return (x as unknown[]).flat(Infinity as 1) as number[];
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (NaN
 * equals NaN); the message names the worst index. Shapes are compared when
 * both are tensors.
 */
export function assertAllClose(
  actual: Tensor | ArrayLike<number> | number | unknown[],
  expected: Tensor | ArrayLike<number> | number | unknown[],
  { atol = 1e-6, rtol = 1e-6, msg = "" }: {
    atol?: number;
    rtol?: number;
    msg?: string;
  } = {},
): void {
  const isT = (v: unknown): v is Tensor =>
    typeof v === "object" && v !== null && "shape" in v;
  if (isT(actual) && isT(expected)) {
    if (actual.shape.join() !== expected.shape.join()) {
      throw new Error(
        `${msg} shape mismatch: [${actual.shape}] vs expected [${expected.shape}]`,
      );
    }
  }
  const a = flat(actual), e = flat(expected);
  if (a.length !== e.length) {
    throw new Error(
      `${msg} length mismatch: ${a.length} vs expected ${e.length}`,
    );
  }
  let worst = -1, worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(e[i])) continue;
    if (a[i] === e[i]) continue;
    const err = Math.abs(a[i] - e[i]);
    const ok = err <= atol + rtol * Math.abs(e[i]);
    if (!ok && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${msg} not close at flat index ${worst} of ${a.length}: ${
        a[worst]
      } vs expected ${
        e[worst]
      } (|diff| ${worstErr}, atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Deterministic values in [-1, 1) from a seed (a small LCG). */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Runs `f` in a fresh temporary directory (its name starts with `prefix`),
 * and removes the directory afterwards, also when `f` throws.
 */
export async function withTempDir(
  prefix: string,
  f: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The tolerance of float64 results against a float64 reference loop. */
export const tight = { atol: 1e-12, rtol: 1e-12 };

/** True when `build` runs without throwing (an op's own validation). */
export function accepts(build: () => unknown): boolean {
  try {
    build();
    return true;
  } catch {
    return false;
  }
}

/** An integer in [min, max]. */
export const int = (min: number, max: number): fc.Arbitrary<number> =>
  fc.integer({ min, max });

/** One integer for both axes or a pair [h, w] of them. */
export const pairOf = (
  min: number,
  max: number,
): fc.Arbitrary<number | [number, number]> =>
  fc.oneof(int(min, max), fc.tuple(int(min, max), int(min, max)));

/** A number or pair option as the pair [h, w]. */
export const asPair = (v: number | readonly number[]): [number, number] =>
  typeof v === "number" ? [v, v] : [v[0], v[1]];

/**
 * `build()`, or undefined when `op`'s own validation rejects the call (an
 * Error whose message starts with "op: "); any other throw propagates. For
 * `fc.pre(result !== undefined)`: a rejected draw is skipped, not passed.
 */
export function unlessRejected<R>(op: string, build: () => R): R | undefined {
  try {
    return build();
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(`${op}: `)) return undefined;
    throw e;
  }
}

/**
 * Asserts that each case throws a plain `Error` (not a TypeError or
 * RangeError) whose message starts with `fn` and matches the case's
 * pattern.
 */
export function assertErrors(
  fn: string,
  cases: readonly (readonly [() => unknown, RegExp])[],
): void {
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof Error && e.constructor === Error, String(e));
      assert.ok(e.message.startsWith(fn), e.message);
      assert.match(e.message, re);
      return true;
    });
  }
}

/** Asserts that `a` and `b` have one shape, dtype and bits (Object.is per element: -0 and NaN too). */
export function sameBits(a: Tensor, b: Tensor, msg: string): void {
  assert.deepEqual(a.shape, b.shape, msg);
  assert.equal(a.dtype, b.dtype, msg);
  for (let i = 0; i < a.data.length; i++) {
    if (!Object.is(a.data[i], b.data[i])) {
      assert.fail(`${msg}: index ${i}: ${a.data[i]} vs ${b.data[i]}`);
    }
  }
}

/** The error `f` throws or rejects with, checked to contain `text`. */
export async function failsWith(
  f: () => unknown,
  text: string,
): Promise<Error> {
  try {
    await f();
  } catch (err) {
    assert.ok(err instanceof Error, String(err));
    assert.ok(err.message.includes(text), `${err.message}\n  lacks: ${text}`);
    return err;
  }
  throw new Error(`expected an error containing: ${text}`);
}
