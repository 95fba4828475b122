/**
 * The WebAssembly GEMM with the k where a packed panel of A is all ±0 left
 * out (`gemmLimits.skipZeros`, `microSparse`) against every product: the
 * same bits for A with zero columns, zero rows, scattered zeros, -0, NaN
 * and infinities, B sometimes infinite or NaN (then nothing is left out:
 * 0 · inf is NaN), C starting at values that include -0, all three
 * layouts, shapes across the packing blocks (k past KC, m past MC), both
 * module variants, 1 and 3 threads; and float64.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { gemmF32, gemmF64, gemmLimits, matmul } from "../ops/kernels/matmul.ts";
import { KC, MC } from "../ops/kernels/wasm/layout.ts";
import { WasmRuntime } from "../ops/kernels/wasm/runtime.ts";
import { moduleVariants } from "./_helpers.ts";

/** A deterministic stream of floats in [-0.5, 0.5). */
function stream(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
}

/** One product's setting: sizes, layout, A's zeros and B's and C's specials. */
const product = fc.record({
  m: fc.oneof(
    fc.integer({ min: 1, max: 20 }),
    fc.integer({ min: MC - 2, max: MC + 14 }),
  ),
  n: fc.integer({ min: 1, max: 40 }),
  k: fc.oneof(
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: KC - 3, max: KC + 30 }),
  ),
  layout: fc.constantFrom("nn", "tn", "nt"),
  // the share of A's columns that are zero in every row (dead units), of
  // its rows that are zero, and of its other entries
  zeroCols: fc.double({ min: 0, max: 1, noNaN: true }),
  zeroRows: fc.double({ min: 0, max: 0.5, noNaN: true }),
  zeros: fc.double({ min: 0, max: 1, noNaN: true }),
  specialsA: fc.boolean(),
  specialB: fc.constantFrom("none", "inf", "nan"),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

type Product = typeof product extends fc.Arbitrary<infer T> ? T : never;

/** A [m, k] (stored as the layout says), B [k, n], C [m, n] for one setting. */
function operands(p: Product) {
  const r = stream(p.seed);
  const deadCol = Array.from({ length: p.k }, () => r() + 0.5 < p.zeroCols);
  const deadRow = Array.from({ length: p.m }, () => r() + 0.5 < p.zeroRows);
  // a[i][q]: row i, column q of A
  const a = Array.from(
    { length: p.m },
    (_, i) =>
      Array.from({ length: p.k }, (_, q) => {
        if (deadCol[q] || deadRow[i] || r() + 0.5 < p.zeros) {
          return r() < 0 ? -0 : 0;
        }
        return r();
      }),
  );
  if (p.specialsA) {
    for (const v of [NaN, Infinity, -Infinity]) {
      a[Math.floor((r() + 0.5) * p.m)][Math.floor((r() + 0.5) * p.k)] = v;
    }
  }
  const b = Array.from(
    { length: p.k },
    () => Array.from({ length: p.n }, () => r()),
  );
  if (p.specialB !== "none") {
    // in a column of A that is zero when there is one
    const q = deadCol.indexOf(true);
    b[q >= 0 ? q : 0][Math.floor((r() + 0.5) * p.n)] = p.specialB === "inf"
      ? Infinity
      : NaN;
  }
  const c = Array.from({ length: p.m * p.n }, () => r() < -0.3 ? -0 : r());
  return { a, b, c };
}

/** C + A·B in WebAssembly (float32 or float64), with zeros skipped or not. */
function run(
  rt: WasmRuntime,
  p: Product,
  f64: boolean,
  skip: boolean,
): Float32Array | Float64Array {
  const { a, b, c } = operands(p);
  const { m, n, k } = p;
  const Arr = (v: number[]) =>
    f64 ? Float64Array.from(v) : Float32Array.from(v);
  // A as stored: [m, k], or [k, m] for "tn"; B [k, n], or [n, k] for "nt"
  const as = Arr(
    p.layout === "tn"
      ? Array.from({ length: m * k }, (_, t) => a[t % m][Math.floor(t / m)])
      : a.flat(),
  );
  const bs = Arr(
    p.layout === "nt"
      ? Array.from({ length: k * n }, (_, t) => b[t % k][Math.floor(t / k)])
      : b.flat(),
  );
  const [ars, acs] = p.layout === "tn" ? [1, m] : [k, 1];
  const [brs, bcs] = p.layout === "nt" ? [1, k] : [n, 1];
  rt.reset("gemm_sparse_test");
  const put = (x: Float32Array | Float64Array) =>
    f64 ? rt.putF64(x as Float64Array) : rt.put(x as Float32Array);
  const pa = put(as), pb = put(bs), pc = put(Arr(c));
  const before = gemmLimits.skipZeros;
  gemmLimits.skipZeros = skip;
  try {
    (f64 ? gemmF64 : gemmF32)(rt, m, n, k, pa, ars, acs, pb, brs, bcs, pc, n);
  } finally {
    gemmLimits.skipZeros = before;
  }
  return f64 ? rt.readF64(pc, m * n) : rt.readF32(pc, m * n);
}

/** Object.is for every element, naming the first difference. */
function assertSame(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  msg: string,
): void {
  assert.equal(got.length, want.length, msg);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) {
      assert.fail(
        `${msg}: C[${i}] is ${got[i]}, every product gives ${want[i]}`,
      );
    }
  }
}

const variants = moduleVariants;

for (const variant of variants) {
  for (const threads of [1, 3]) {
    const rt = new WasmRuntime({ relaxed: variant.relaxed });
    rt.setThreads(threads);
    for (const f64 of [false, true]) {
      Deno.test(`GEMM (${f64 ? "float64" : "float32"}, ${variant.name}, ${threads} thread(s)): A's zero k left out, every product's bits`, () => {
        fc.assert(
          fc.property(product, (p) => {
            const msg = JSON.stringify(p);
            const skipped = run(rt, p, f64, true);
            assertSame(skipped, run(rt, p, f64, false), msg);
            if (p.specialB !== "none" && p.zeroCols === 1) {
              // every column of A is zero: B's special still reaches C
              assert.ok(
                skipped.some(Number.isNaN),
                `0 · ${p.specialB}: ${msg}`,
              );
            }
          }),
          {
            numRuns: f64 ? 30 : 60,
            seed: 29 + threads + (variant.relaxed ? 0 : 100) + (f64 ? 7 : 0),
          },
        );
      });
    }
  }
}

Deno.test("matmul with A stored transposed (a weight gradient gᵀx): A's zero rows left out (their results 0), every product's bits; an infinite or NaN B runs it whole", () => {
  fc.assert(
    fc.property(
      fc.record({
        m: fc.integer({ min: 1, max: 130 }),
        n: fc.integer({ min: 256, max: 300 }),
        k: fc.integer({ min: 1, max: 70 }),
        dead: fc.double({ min: 0, max: 1, noNaN: true }),
        special: fc.constantFrom(0, NaN, Infinity, -0),
        bad: fc.constantFrom("none", "inf", "nan"),
        seed: fc.integer({ min: 1, max: 1e6 }),
      }),
      ({ m, n, k, dead, special, bad, seed }) => {
        const r = stream(seed);
        // A stored [k, m]: the dead rows of A are columns here (±0)
        const deadRow = Array.from({ length: m }, () => r() + 0.5 < dead);
        const a = Float32Array.from(
          { length: k * m },
          (_, t) => deadRow[t % m] ? (r() < 0 ? -0 : 0) : r(),
        );
        if (special) a[Math.floor((r() + 0.5) * a.length)] = special;
        const b = Float32Array.from({ length: k * n }, () => r());
        if (bad !== "none") {
          b[Math.floor((r() + 0.5) * b.length)] = bad === "inf"
            ? Infinity
            : NaN;
        }
        const run = (skip: boolean) => {
          const before = gemmLimits.skipZeros;
          gemmLimits.skipZeros = skip;
          try {
            return matmul(a, b, null, 1, m, k, n, 0, 0, true) as Float32Array;
          } finally {
            gemmLimits.skipZeros = before;
          }
        };
        const msg = JSON.stringify({ m, n, k, dead, special, bad, seed });
        const left = run(true), every = run(false);
        assertSame(left, every, msg);
        if (bad === "nan") assert.ok(left.some(Number.isNaN), msg);
      },
    ),
    { numRuns: 60 },
  );
});
