/**
 * The sparse weight gradient (`convWeightSparse`) against the dense one it
 * stands in for: the same bits as `convWeightDirect` on every geometry in
 * its domain, with max-pooling-like and random sparse y (NaN, infinities
 * and -0 among the values), for both module variants and 1 or 3 threads;
 * where the dense kernel is `convWeightRows` (its pixels summed in lanes),
 * the same infinities and NaNs and sums within rounding of it; and the
 * cases where the dense kernel must run instead (a y that is not sparse, an
 * x with an infinity or NaN, a geometry outside the domain).
 * Likewise the direct input gradient (`convInputDirect`) with the products
 * with y's zeros left out against every product (`convLimits.skipZeros`),
 * with weights that are sometimes infinite or NaN; and the sparse input
 * gradient (`convInputSparse`) against the direct kernel with every
 * product: the same NaNs and infinities, sums within rounding.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertAllClose, moduleVariants } from "./_helpers.ts";
import * as cv from "../ops/kernels/conv.ts";
import type { ConvGeometry } from "../ops/kernels/conv.ts";
import { setRuntime, WasmRuntime } from "../ops/kernels/wasm/runtime.ts";

/** Output length of a convolution along one axis. */
const outLength = (n: number, k: number, s: number, p: number, d: number) =>
  Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

/** A deterministic stream of floats in [-0.5, 0.5). */
function stream(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
}

/**
 * y with `density` of its entries nonzero: either one entry per 2×2 window
 * (max pooling's gradient, some windows empty as relu leaves them) or
 * scattered; `specials` puts NaN, ±Infinity and -0 among them.
 */
function sparseY(
  g: ConvGeometry,
  density: number,
  pooled: boolean,
  specials: boolean,
  seed: number,
): Float32Array {
  const r = stream(seed), y = new Float32Array(g.n * g.o * g.oh * g.ow);
  const plane = g.oh * g.ow;
  for (let p = 0; p < g.n * g.o; p++) {
    if (pooled) {
      for (let a = 0; a < g.oh; a += 2) {
        for (let b = 0; b < g.ow; b += 2) {
          if (r() + 0.5 >= 4 * density) continue;
          const i = Math.min(g.oh - 1, a + (r() < 0 ? 1 : 0));
          const j = Math.min(g.ow - 1, b + (r() < 0 ? 1 : 0));
          y[p * plane + i * g.ow + j] = r();
        }
      }
    } else {
      for (let i = 0; i < plane; i++) {
        if (r() + 0.5 < density) y[p * plane + i] = r();
      }
    }
  }
  if (specials && y.length > 8) {
    // each at a random place
    for (const v of [NaN, Infinity, -Infinity, -0]) {
      y[Math.floor((r() + 0.5) * y.length)] = v;
    }
  }
  return y;
}

/** Runs `body` on runtime `rt`, counting the kernels it runs by name. */
function counting(rt: WasmRuntime, body: () => void): Map<string, number> {
  const counts = new Map<string, number>();
  const parallel = rt.parallel;
  rt.parallel = (fn, tasks) => {
    counts.set(fn, (counts.get(fn) ?? 0) + 1);
    parallel.call(rt, fn, tasks);
  };
  const prev = setRuntime(rt);
  try {
    body();
  } finally {
    if (prev) setRuntime(prev);
    rt.parallel = parallel;
  }
  return counts;
}

/** `body`'s result with convLimits' `key` set to `value` meanwhile. */
function withLimit<K extends keyof typeof cv.convLimits, T>(
  key: K,
  value: (typeof cv.convLimits)[K],
  body: () => T,
): T {
  const before = cv.convLimits[key];
  cv.convLimits[key] = value;
  try {
    return body();
  } finally {
    cv.convLimits[key] = before;
  }
}

/** The weight gradient with the sparse kernel allowed (density) or not (-1). */
const weightGrad = (
  x: Float32Array,
  y: Float32Array,
  g: ConvGeometry,
  density: number,
) =>
  withLimit("sparseDensity", density, () =>
    cv.conv2dWeightAdjoint(
      x,
      y,
      g,
      new Float32Array(g.o * (g.c / g.groups) * g.kh * g.kw),
    ) as Float32Array);

/** `got` within 1e-5 of the float64 reference kernel `ref` on a and b. */
function assertNearRef(
  got: Float32Array<ArrayBufferLike>,
  ref: (
    a: Float64Array,
    b: Float64Array,
    g: ConvGeometry,
    out: Float64Array,
  ) => unknown,
  a: Float32Array,
  b: Float32Array,
  g: ConvGeometry,
  msg: string,
): void {
  const want = new Float64Array(got.length);
  ref(Float64Array.from(a), Float64Array.from(b), g, want);
  assertAllClose(Array.from(got), Array.from(want), {
    atol: 1e-5,
    rtol: 1e-5,
    msg,
  });
}

/** Object.is for every element, naming the first difference. */
function assertSame(
  a: Float32Array<ArrayBufferLike>,
  b: Float32Array<ArrayBufferLike>,
  msg: string,
): void {
  assert.equal(a.length, b.length, msg);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      assert.fail(`${msg}: value ${i} is ${a[i]}, the dense kernel's ${b[i]}`);
    }
  }
}

/** Geometries in the sparse kernel's domain (windows 4 to 8 wide, no dilation along x). */
const sparseGeometry: fc.Arbitrary<ConvGeometry> = fc.record({
  n: fc.integer({ min: 1, max: 9 }),
  cg: fc.integer({ min: 1, max: 7 }),
  og: fc.integer({ min: 1, max: 10 }),
  groups: fc.integer({ min: 1, max: 2 }),
  kh: fc.integer({ min: 1, max: 7 }),
  kw: fc.integer({ min: 4, max: 8 }),
  extraH: fc.integer({ min: 0, max: 20 }),
  extraW: fc.integer({ min: 0, max: 24 }),
  sh: fc.integer({ min: 1, max: 2 }),
  sw: fc.integer({ min: 1, max: 2 }),
  dh: fc.integer({ min: 1, max: 2 }),
  pt: fc.integer({ min: 0, max: 2 }),
  pl: fc.integer({ min: 0, max: 1 }),
}).map((r) => {
  const h = (r.kh - 1) * r.dh + 1 + r.extraH;
  const w = r.kw + r.extraW;
  return {
    n: r.n,
    c: r.cg * r.groups,
    h,
    w,
    o: r.og * r.groups,
    kh: r.kh,
    kw: r.kw,
    oh: outLength(h, r.kh, r.sh, r.pt, r.dh),
    ow: outLength(w, r.kw, r.sw, r.pl, 1),
    sh: r.sh,
    sw: r.sw,
    pt: r.pt,
    pl: r.pl,
    dh: r.dh,
    dw: 1,
    groups: r.groups,
  };
}).filter((g) => g.oh >= 1 && g.ow >= 1);

const variants = moduleVariants;

/** Each module variant on 1 and 3 threads, every float32 size in WebAssembly. */
const runtimes = variants.flatMap((variant) =>
  [1, 3].map((threads) => {
    const rt = new WasmRuntime({ relaxed: variant.relaxed });
    rt.minMacs = 0;
    rt.setThreads(threads);
    return { variant, threads, rt };
  })
);

for (const { variant, threads, rt } of runtimes) {
  Deno.test(`convWeightSparse (${variant.name}, ${threads} thread(s)): the dense kernel's bits`, () => {
    let sparseRuns = 0, forRows = 0;
    fc.assert(
      fc.property(
        sparseGeometry,
        fc.double({ min: 0, max: 0.25, noNaN: true }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e6 }),
        (g, density, pooled, specials, seed) => {
          const r = stream(seed + 1);
          const x = new Float32Array(g.n * g.c * g.h * g.w).map(() => r());
          const y = sparseY(g, density, pooled, specials, seed);
          const msg = JSON.stringify(g);
          let sparse: Float32Array<ArrayBufferLike> = new Float32Array();
          let dense = sparse;
          const counts = counting(rt, () => {
            sparse = weightGrad(x, y, g, 0.3);
          });
          const denseCounts = counting(rt, () => {
            dense = weightGrad(x, y, g, -1);
          });
          const ran = counts.get("convWeightSparse") ?? 0;
          sparseRuns += ran;
          // where the dense kernel is a direct one, the sparse one stands
          // in for it when at most 30% of y's samples are nonzero: the
          // first 16 of each whole block of 128 values, then all the rest
          const sampled = (i: number) =>
            i % 128 < 16 || i >= y.length - (y.length % 128);
          const samples = y.filter((_, i) => sampled(i)).length;
          const nonzero = y.filter((v, i) => v !== 0 && sampled(i)).length;
          const direct = denseCounts.has("convWeightDirect");
          if (direct || denseCounts.has("convWeightRows")) {
            assert.equal(
              ran,
              nonzero <= 0.3 * samples ? 1 : 0,
              `the sparse kernel ran: ${msg}`,
            );
          }
          if (direct || ran === 0) assertSame(sparse, dense, msg);
          else {
            forRows++;
            // convWeightRows sums its pixels in lanes: other roundings,
            // the same infinities and NaNs
            for (let i = 0; i < dense.length; i++) {
              if (!Number.isFinite(dense[i]) || !Number.isFinite(sparse[i])) {
                assert.ok(Object.is(sparse[i], dense[i]), `${msg}: ${i}`);
              }
            }
          }
          if (!specials) {
            assertNearRef(sparse, cv.conv2dWeightAdjointRef, x, y, g, msg);
          }
        },
      ),
      { numRuns: 60, seed: 17 + threads + (variant.relaxed ? 0 : 100) },
    );
    assert.ok(sparseRuns > 20, `the sparse kernel ran ${sparseRuns} times`);
    assert.ok(forRows > 5, `in place of convWeightRows ${forRows} times`);
  });
}

Deno.test("convWeightSparse: LeNet-5's second convolution after max pooling, and when the dense kernel runs instead", () => {
  const rt = new WasmRuntime();
  rt.setThreads(2);
  const g: ConvGeometry = {
    n: 64,
    c: 6,
    h: 14,
    w: 14,
    o: 16,
    kh: 5,
    kw: 5,
    oh: 10,
    ow: 10,
    sh: 1,
    sw: 1,
    pt: 0,
    pl: 0,
    dh: 1,
    dw: 1,
    groups: 1,
  };
  const r = stream(5);
  const x = new Float32Array(g.n * g.c * g.h * g.w).map(() => r());
  const kernelOf = (xs: Float32Array, ys: Float32Array) => {
    let out: Float32Array<ArrayBufferLike> = new Float32Array();
    const counts = counting(rt, () => out = weightGrad(xs, ys, g, 0.3));
    return { out, fn: [...counts.keys()].find((k) => k.startsWith("conv")) };
  };
  // max pooling's gradient, a quarter of the windows empty: sparse
  const y = sparseY(g, 0.18, true, false, 9);
  const sparse = kernelOf(x, y);
  assert.equal(sparse.fn, "convWeightSparse");
  let dense: Float32Array<ArrayBufferLike> = new Float32Array();
  counting(rt, () => dense = weightGrad(x, y, g, -1));
  assertSame(sparse.out, dense, "LeNet-5's shapes");
  // a dense y: the dense kernel
  const full = new Float32Array(y.length).map(() => r());
  assert.equal(kernelOf(x, full).fn, "convWeightDirect");
  // an infinite x where y is zero makes NaN (0·inf), as in PyTorch: dense
  const xi = x.slice();
  xi[3] = Infinity;
  const withInf = kernelOf(xi, y);
  assert.equal(withInf.fn, "convWeightDirect");
  assert.ok(withInf.out.some(Number.isNaN), "0 · inf is NaN");
  const xn = x.slice();
  xn[x.length - 1] = NaN;
  assert.equal(kernelOf(xn, y).fn, "convWeightDirect");
  // outside its domain (windows 3 wide): dense
  const narrow = { ...g, kw: 3, ow: 12 };
  const yw = sparseY(narrow, 0.15, true, false, 3);
  const counts = counting(rt, () => weightGrad(x, yw, narrow, 0.3));
  assert.deepEqual([...counts.keys()], ["convWeightDirect"]);
});

/** The input gradient with the products with y's zeros left out or not. */
const inputGrad = (
  y: Float32Array,
  w: Float32Array,
  g: ConvGeometry,
  skip: boolean,
) =>
  withLimit(
    "inputSparseDensity",
    -1,
    () =>
      withLimit("skipZeros", skip, () =>
        cv.conv2dInputAdjoint(
          y,
          w,
          g,
          new Float32Array(g.n * g.c * g.h * g.w),
        ) as Float32Array),
  );

/** Geometries of `convInputDirect` (stride 1 along x, rows of at least 4 outputs; padding through a padded x). */
const inputGeometry: fc.Arbitrary<ConvGeometry> = fc.record({
  n: fc.integer({ min: 1, max: 5 }),
  cg: fc.integer({ min: 1, max: 8 }),
  og: fc.integer({ min: 1, max: 40 }),
  groups: fc.integer({ min: 1, max: 2 }),
  kh: fc.integer({ min: 1, max: 5 }),
  kw: fc.integer({ min: 1, max: 5 }),
  oh: fc.integer({ min: 1, max: 9 }),
  ow: fc.integer({ min: 4, max: 13 }),
  sh: fc.integer({ min: 1, max: 2 }),
  dh: fc.integer({ min: 1, max: 2 }),
  dw: fc.integer({ min: 1, max: 2 }),
  pt: fc.integer({ min: 0, max: 2 }),
  pl: fc.integer({ min: 0, max: 2 }),
}).map((r) => ({
  n: r.n,
  c: r.cg * r.groups,
  h: Math.max(1, (r.oh - 1) * r.sh + (r.kh - 1) * r.dh + 1 - 2 * r.pt),
  w: Math.max(1, r.ow + (r.kw - 1) * r.dw - 2 * r.pl),
  o: r.og * r.groups,
  kh: r.kh,
  kw: r.kw,
  oh: r.oh,
  ow: r.ow,
  sh: r.sh,
  sw: 1,
  pt: r.pt,
  pl: r.pl,
  dh: r.dh,
  dw: r.dw,
  groups: r.groups,
})).filter((g) =>
  outLength(g.h, g.kh, g.sh, g.pt, g.dh) === g.oh &&
  outLength(g.w, g.kw, 1, g.pl, g.dw) === g.ow
);

/**
 * Input gradients' cases: a geometry, weights in [-0.5, 0.5) with one `bad`
 * value (an infinity or NaN; 0: none), a sparse y (see {@linkcode sparseY},
 * `specials` among it or not), and `msg` naming the geometry.
 */
const inputCases = fc.tuple(
  inputGeometry,
  fc.double({ min: 0, max: 0.5, noNaN: true }),
  fc.boolean(),
  fc.boolean(),
  fc.constantFrom(0, 0, Infinity, NaN),
  fc.integer({ min: 1, max: 1e6 }),
).map(([g, density, pooled, specials, bad, seed]) => {
  const r = stream(seed + 2);
  const w = new Float32Array(g.o * (g.c / g.groups) * g.kh * g.kw)
    .map(() => r());
  if (bad) w[Math.floor((r() + 0.5) * w.length)] = bad;
  const y = sparseY(g, density, pooled, specials, seed);
  return { g, w, y, msg: JSON.stringify(g), specials, bad };
});

for (const { variant, threads, rt } of runtimes) {
  Deno.test(`convInputDirect (${variant.name}, ${threads} thread(s)): y's zeros left out, the same bits`, () => {
    let runs = 0;
    fc.assert(
      fc.property(
        inputCases,
        ({ g, w, y, msg, specials, bad }) => {
          let skipped: Float32Array<ArrayBufferLike> = new Float32Array();
          let every = skipped;
          const counts = counting(rt, () => {
            skipped = inputGrad(y, w, g, true);
            every = inputGrad(y, w, g, false);
          });
          runs += counts.get("convInputDirect") ?? 0;
          assertSame(skipped, every, msg);
          if (!specials && !bad) {
            assertNearRef(skipped, cv.conv2dInputAdjointRef, y, w, g, msg);
          }
          // an infinite or NaN weight where y is zero still makes NaN
          // (without padding, where every product lands in x)
          if (bad && counts.has("convInputDirect") && !g.pt && !g.pl) {
            assert.ok(skipped.some(Number.isNaN), `0 · ${bad}: ${msg}`);
          }
        },
      ),
      { numRuns: 60, seed: 23 + threads + (variant.relaxed ? 0 : 100) },
    );
    assert.ok(runs > 60, `convInputDirect ran ${runs} times`);
  });
}

for (const { variant, threads, rt } of runtimes) {
  Deno.test(`convInputSparse (${variant.name}, ${threads} thread(s)): the dense kernel's sums, NaNs and infinities`, () => {
    let runs = 0;
    fc.assert(
      fc.property(
        inputCases,
        ({ g, w, y, msg, specials, bad }) => {
          let got: Float32Array<ArrayBufferLike> = new Float32Array();
          const counts = counting(rt, () => {
            got = withLimit(
              "inputSparseDensity",
              0.5,
              () =>
                cv.conv2dInputAdjoint(
                  y,
                  w,
                  g,
                  new Float32Array(g.n * g.c * g.h * g.w),
                ) as Float32Array,
            );
          });
          const ran = counts.get("convInputSparse") ?? 0;
          runs += ran;
          // never with an infinite or NaN weight (0 · inf is NaN), nor
          // with dilation along x
          if (bad || g.dw !== 1) assert.equal(ran, 0, msg);
          let every = got;
          counting(rt, () => void (every = inputGrad(y, w, g, false)));
          for (let i = 0; i < got.length; i++) {
            const a = got[i], b = every[i];
            if (Number.isFinite(a) && Number.isFinite(b)) {
              assert.ok(
                Math.abs(a - b) <= 1e-5 * (1 + Math.abs(b)),
                `${msg}: value ${i} is ${a}, the dense kernel's ${b}`,
              );
            } else {
              assert.ok(
                Object.is(a, b),
                `${msg}: value ${i} is ${a}, the dense kernel's ${b}`,
              );
            }
          }
          if (!specials && !bad) {
            assertNearRef(got, cv.conv2dInputAdjointRef, y, w, g, msg);
          }
        },
      ),
      { numRuns: 150, seed: 29 + threads + (variant.relaxed ? 0 : 100) },
    );
    assert.ok(runs > 30, `convInputSparse ran ${runs} times`);
  });
}

/** The forward convolution (relu after it or not) with x's zero channels left out or not. */
const forward = (
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  g: ConvGeometry,
  relu: boolean,
  skip: boolean,
) =>
  withLimit(
    "skipZeros",
    skip,
    () =>
      (relu ? cv.conv2dForwardRelu : cv.conv2dForward)(
        x,
        w,
        bias,
        g,
      ) as Float32Array,
  );

/** Geometries of `convDirectC` (windows inside x, any stride and dilation, at least 6 output pixels). */
const forwardGeometry: fc.Arbitrary<ConvGeometry> = fc.record({
  n: fc.integer({ min: 1, max: 5 }),
  cg: fc.integer({ min: 1, max: 9 }),
  og: fc.integer({ min: 5, max: 24 }),
  groups: fc.integer({ min: 1, max: 2 }),
  kh: fc.integer({ min: 1, max: 5 }),
  kw: fc.integer({ min: 1, max: 5 }),
  oh: fc.integer({ min: 1, max: 7 }),
  ow: fc.integer({ min: 1, max: 7 }),
  sh: fc.integer({ min: 1, max: 2 }),
  sw: fc.integer({ min: 1, max: 2 }),
  dh: fc.integer({ min: 1, max: 2 }),
  dw: fc.integer({ min: 1, max: 2 }),
}).map((r) => ({
  n: r.n,
  c: r.cg * r.groups,
  h: (r.oh - 1) * r.sh + (r.kh - 1) * r.dh + 1,
  w: (r.ow - 1) * r.sw + (r.kw - 1) * r.dw + 1,
  o: r.og * r.groups,
  kh: r.kh,
  kw: r.kw,
  oh: r.oh,
  ow: r.ow,
  sh: r.sh,
  sw: r.sw,
  pt: 0,
  pl: 0,
  dh: r.dh,
  dw: r.dw,
  groups: r.groups,
})).filter((g) => g.oh * g.ow >= 6);

for (const { variant, threads, rt } of runtimes) {
  Deno.test(`convDirectC (${variant.name}, ${threads} thread(s)): x's zero channels left out, the same bits`, () => {
    let runs = 0;
    fc.assert(
      fc.property(
        forwardGeometry,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        fc.constantFrom(0, Infinity, NaN),
        fc.constantFrom("none", "bias", "-0 bias"),
        fc.integer({ min: 1, max: 1e6 }),
        (g, dead, relu, bad, biasKind, seed) => {
          const r = stream(seed);
          // whole planes of x zero (±0) with probability `dead`, NaN,
          // infinities and -0 among the rest
          const plane = g.h * g.w;
          const x = new Float32Array(g.n * g.c * plane);
          for (let p = 0; p < g.n * g.c; p++) {
            const zero = r() + 0.5 < dead;
            for (let i = 0; i < plane; i++) {
              x[p * plane + i] = zero ? (r() < 0 ? -0 : 0) : r();
            }
          }
          for (const v of [NaN, Infinity, -0]) {
            if (r() < -0.3) x[Math.floor((r() + 0.5) * x.length)] = v;
          }
          const w = new Float32Array(g.o * (g.c / g.groups) * g.kh * g.kw)
            .map(() => r());
          if (bad) w[Math.floor((r() + 0.5) * w.length)] = bad;
          const bias = biasKind === "none"
            ? null
            : new Float32Array(g.o).map((_, i) =>
              biasKind === "-0 bias" && i % 3 === 0 ? -0 : r()
            );
          const msg = JSON.stringify(g);
          let skipped: Float32Array<ArrayBufferLike> = new Float32Array();
          let every = skipped;
          const counts = counting(rt, () => {
            skipped = forward(x, w, bias, g, relu, true);
            every = forward(x, w, bias, g, relu, false);
          });
          runs += counts.get("convDirectC") ?? 0;
          assertSame(skipped, every, msg);
        },
      ),
      { numRuns: 80, seed: 31 + threads + (variant.relaxed ? 0 : 100) },
    );
    assert.ok(runs > 40, `convDirectC ran ${runs} times`);
  });
}
