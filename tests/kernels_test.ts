/**
 * The WebAssembly float32 kernels against the TypeScript reference kernels
 * (float64 accumulation), on random shapes and odd sizes, for both module
 * variants (relaxed SIMD and plain SIMD) and with worker threads; and the
 * committed module against its generator.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { smallConv } from "./_geometry.ts";
import {
  assertAllClose as allClose,
  moduleVariants,
  values,
} from "./_helpers.ts";
import * as mm from "../ops/kernels/matmul.ts";
import * as cv from "../ops/kernels/conv.ts";
import * as pk from "../ops/kernels/pool.ts";
import * as ew from "../ops/kernels/elementwise.ts";
import * as rd from "../ops/kernels/reduce.ts";
import type { TypedArray } from "../ops/tensor.ts";
import type { SimdOp } from "../ops/grad_types.ts";
import { GENERATED_PATH, generatedSource } from "../ops/kernels/wasm/build.ts";
import { buildKernels } from "../ops/kernels/wasm/_kernels.ts";
import {
  GEMM_WORK,
  RELAXED_AVAILABLE,
  runtime,
  setRuntime,
  WasmRuntime,
} from "../ops/kernels/wasm/runtime.ts";

/** assertAllClose for typed arrays. */
function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { atol?: number; rtol?: number; msg?: string },
): void {
  allClose(Array.from(actual), Array.from(expected), opts);
}

/** Runs `body` with the kernels on `rt`, then puts the previous runtime back. */
/**
 * Asserts two arrays hold the same values (Object.is: NaN equals NaN, 0 is
 * not -0), naming the first difference (deepEqual's diff of large arrays
 * takes minutes).
 */
function assertSame(a: ArrayLike<number>, b: ArrayLike<number>, msg = "") {
  assert.equal(a.length, b.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      assert.fail(`${msg}: element ${i} is ${a[i]}, expected ${b[i]}`);
    }
  }
}

/** The geometry of 2×2 max pooling, stride 2, over `planes` planes of h × w. */
function pool2x2(planes: number, h: number, w: number): pk.PoolGeometry {
  const oh = Math.floor(h / 2), ow = Math.floor(w / 2);
  const one = { kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1 };
  return { planes, h, w, oh, ow, ...one };
}

function withRuntime(rt: WasmRuntime, body: () => void): void {
  const prev = setRuntime(rt);
  try {
    body();
  } finally {
    if (prev) setRuntime(prev);
  }
}

// float32 accumulation against float64: error grows with the sum's length
const tol = (k: number) => ({ atol: 2e-6 * Math.max(k, 8), rtol: 1e-5 });

Deno.test("kernels: the committed module is what the generator produces", () => {
  const committed = Deno.readTextFileSync(GENERATED_PATH);
  assert.equal(
    committed,
    generatedSource(),
    "ops/kernels/wasm/_module.generated.ts is stale: run `deno task build:wasm`",
  );
  for (const relaxed of [true, false]) {
    assert.ok(WebAssembly.validate(buildKernels({ relaxed })));
  }
  // This engine (Deno 2.9's V8) has relaxed SIMD; the runtime picks it.
  assert.equal(new WasmRuntime().relaxed, RELAXED_AVAILABLE);
});

const variants = moduleVariants;

for (const variant of variants) {
  const rt = new WasmRuntime({ relaxed: variant.relaxed });
  rt.minMacs = 0; // every float32 size goes to WebAssembly

  Deno.test(`kernels (${variant.name}): gemm nn/tn/nt matches the reference`, () => {
    withRuntime(rt, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 1, max: 300 }),
          fc.constantFrom("nn", "tn", "nt") as fc.Arbitrary<
            "nn" | "tn" | "nt"
          >,
          fc.integer({ min: 0, max: 5 }),
          (m, n, k, layout, off) => {
            const a = values(off + m * k, m + 7 * k);
            const b = values(off + k * n, n + 3 * k);
            const c0 = Float64Array.from(values(m * n, m * n));
            const got = c0.slice(), want = c0.slice();
            mm.gemm(a, off, b, off, got, 0, m, k, n, layout);
            mm.gemmRef(a, off, b, off, want, 0, m, k, n, layout);
            assertAllClose(got, want, {
              ...tol(k),
              msg: `${m}x${n}x${k} ${layout}`,
            });
            if (layout === "nt") {
              // a linear layer: the bias preloaded into C
              const bias = values(n, n + 1), ref = new Float64Array(m * n);
              mm.gemmRef(a, off, b, off, ref, 0, m, k, n, "nt");
              const y = mm.linearF32(
                a.subarray(off, off + m * k),
                b.subarray(off, off + k * n),
                bias,
                m,
                k,
                n,
              );
              assert.ok(y, "linearF32 declined a float32 product");
              assertAllClose(y, ref.map((v, i) => v + bias[i % n]), {
                ...tol(k),
                msg: `linear ${m}x${n}x${k}`,
              });
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  Deno.test(`kernels (${variant.name}): batched matmul, odd and blocked sizes`, () => {
    withRuntime(rt, () => {
      // sizes around the blocking constants (MR 6, NR 8, KC 256, MC 48, NC 512)
      const cases: [number, number, number, number, boolean][] = [
        [1, 17, 1, 9, false],
        [3, 7, 5, 13, false],
        [2, 97, 257, 9, true],
        [1, 49, 40, 33, false],
        [1, 96, 513, 520, false],
        [1, 130, 300, 70, false],
        [4, 6, 8, 256, true],
      ];
      for (const [batch, m, k, n, shareB] of cases) {
        const a = values(batch * m * k, m),
          b = values((shareB ? 1 : batch) * k * n, n);
        const got = new Float32Array(batch * m * n),
          want = new Float32Array(batch * m * n);
        const cStep = shareB ? 0 : k * n;
        mm.matmul(a, b, got, batch, m, k, n, m * k, cStep);
        mm.matmulRef(a, b, want, batch, m, k, n, m * k, cStep);
        assertAllClose(got, want, {
          ...tol(k),
          msg: `[${batch}] ${m}x${k}x${n}`,
        });
      }
    });
  });

  Deno.test(`kernels (${variant.name}): the three convolutions match the reference`, () => {
    withRuntime(rt, () => {
      fc.assert(
        fc.property(
          smallConv(2),
          (r) => {
            const g = r.g, oh = g.oh, ow = g.ow;
            const x = values(g.n * g.c * g.h * g.w, 1 + g.h);
            const w = values(g.o * r.cg * g.kh * g.kw, 2 + g.kw);
            const b = r.bias ? values(g.o, 3) : null;
            const y = values(g.n * g.o * oh * ow, 4 + oh);
            const k = r.cg * g.kh * g.kw;
            const msg = JSON.stringify(g);
            const f = (n: number) => [new Float32Array(n), new Float32Array(n)];
            // runs the kernel and, when banded, the reference in bands too
            const limits = { ...cv.convLimits };
            const both = (
              kernel: (out: Float32Array) => unknown,
              ref: (out: Float32Array) => unknown,
              got: Float32Array,
              want: Float32Array,
              t: { atol: number; rtol: number },
              what: string,
            ) => {
              ref(want);
              if (r.banded) {
                Object.assign(cv.convLimits, {
                  colsBytes: 64,
                  refCols: 16,
                  directWorkBytes: 0,
                });
              }
              try {
                kernel(got);
                assertAllClose(got, want, { ...t, msg: `${what} ${msg}` });
                if (r.banded) {
                  const banded = new Float32Array(want.length);
                  ref(banded);
                  assertAllClose(banded, want, {
                    ...t,
                    msg: `banded reference ${what} ${msg}`,
                  });
                }
              } finally {
                Object.assign(cv.convLimits, limits);
              }
            };
            let [got, want] = f(y.length);
            both(
              (o) => cv.conv2dForward(x, w, b, g, o),
              (o) => cv.conv2dForwardRef(x, w, b, g, o),
              got,
              want,
              tol(k),
              "forward",
            );
            [got, want] = f(x.length);
            both(
              (o) => cv.conv2dInputAdjoint(y, w, g, o),
              (o) => cv.conv2dInputAdjointRef(y, w, g, o),
              got,
              want,
              tol(k),
              "input adjoint",
            );
            [got, want] = f(w.length);
            both(
              (o) => cv.conv2dWeightAdjoint(x, y, g, o),
              (o) => cv.conv2dWeightAdjointRef(x, y, g, o),
              got,
              want,
              tol(g.n * oh * ow),
              "weight adjoint",
            );
          },
        ),
        { numRuns: 80 },
      );
    });
  });

  Deno.test(`kernels (${variant.name}): max pooling values and argmax, with padding and NaN`, () => {
    withRuntime(rt, () => {
      fc.assert(
        fc.property(
          fc.record({
            planes: fc.integer({ min: 1, max: 6 }),
            h: fc.integer({ min: 1, max: 20 }),
            w: fc.integer({ min: 1, max: 20 }),
            k: fc.integer({ min: 1, max: 4 }),
            s: fc.integer({ min: 1, max: 3 }),
            p: fc.integer({ min: 0, max: 2 }),
            d: fc.integer({ min: 1, max: 2 }),
            nan: fc.boolean(),
            seed: fc.integer({ min: 0, max: 1000 }),
          }),
          (r) => {
            const oh = Math.floor((r.h + 2 * r.p - r.d * (r.k - 1) - 1) / r.s) +
              1;
            const ow = Math.floor((r.w + 2 * r.p - r.d * (r.k - 1) - 1) / r.s) +
              1;
            fc.pre(oh >= 1 && ow >= 1); // an empty output is skipped, not passed
            const g: pk.PoolGeometry = {
              planes: r.planes * 60, // enough outputs for the WebAssembly path
              h: r.h,
              w: r.w,
              oh,
              ow,
              kh: r.k,
              kw: r.k,
              sh: r.s,
              sw: r.s,
              ph: r.p,
              pw: r.p,
              dh: r.d,
              dw: r.d,
            };
            const x = values(g.planes * g.h * g.w, r.seed);
            for (let i = 0; i < x.length; i += 7) x[i] = x[i - 1] ?? 0; // ties
            if (r.nan) { for (let i = 3; i < x.length; i += 11) x[i] = NaN; }
            const want = pk.maxPoolArgmaxRef(x, g);
            assert.deepEqual(pk.maxPoolArgmax(x.slice(), g), want);
            const got = new Float32Array(want.length);
            pk.maxPoolForward(x, g, got);
            const ref = pk.poolGather(
              x,
              want,
              g,
              new Float32Array(want.length),
              -Infinity,
            );
            assertAllClose(got, ref, { atol: 0, rtol: 0 });
          },
        ),
        { numRuns: 80 },
      );
    });
  });

  Deno.test(`kernels (${variant.name}): max pooling visits only the taps inside the plane: the argmax of every tap checked, for windows mostly in padding or past the end; a window of 2^31 - 1 taps costs its taps inside`, () => {
    // the definition: every tap of the window, those outside the plane skipped
    const everyTap = (x: Float32Array, g: pk.PoolGeometry) => {
      const idx = new Int32Array(g.planes * g.oh * g.ow);
      for (let pl = 0, o = 0; pl < g.planes; pl++) {
        for (let oy = 0; oy < g.oh; oy++) {
          for (let ox = 0; ox < g.ow; ox++, o++) {
            let best = -1, m = -Infinity;
            for (let i = 0; i < g.kh; i++) {
              const y = oy * g.sh - g.ph + i * g.dh;
              for (let j = 0; j < g.kw; j++) {
                const xx = ox * g.sw - g.pw + j * g.dw;
                if (y < 0 || y >= g.h || xx < 0 || xx >= g.w) continue;
                const v = x[pl * g.h * g.w + y * g.w + xx];
                if (best < 0 || v > m || v !== v) [m, best] = [v, y * g.w + xx];
              }
            }
            idx[o] = best;
          }
        }
      }
      return idx;
    };
    withRuntime(rt, () => {
      fc.assert(
        fc.property(
          fc.record({
            h: fc.integer({ min: 1, max: 9 }),
            w: fc.integer({ min: 1, max: 9 }),
            kh: fc.integer({ min: 1, max: 12 }),
            kw: fc.integer({ min: 1, max: 12 }),
            s: fc.integer({ min: 1, max: 4 }),
            d: fc.integer({ min: 1, max: 3 }),
            // padding up to the window's half, and windows past the end
            // (outputs beyond the floor formula's, as ceil mode makes)
            p: fc.integer({ min: 0, max: 6 }),
            extra: fc.integer({ min: 0, max: 2 }),
            seed: fc.integer({ min: 0, max: 1000 }),
          }),
          (r) => {
            const out = (n: number, k: number) =>
              Math.floor((n + 2 * r.p - r.d * (k - 1) - 1) / r.s) + 1 +
              r.extra;
            const g: pk.PoolGeometry = {
              planes: 300, // enough outputs for the WebAssembly path
              h: r.h,
              w: r.w,
              oh: out(r.h, r.kh),
              ow: out(r.w, r.kw),
              kh: r.kh,
              kw: r.kw,
              sh: r.s,
              sw: r.s,
              ph: r.p,
              pw: r.p,
              dh: r.d,
              dw: r.d,
            };
            fc.pre(g.oh >= 1 && g.ow >= 1);
            const x = values(g.planes * g.h * g.w, r.seed);
            for (let i = 0; i < x.length; i += 5) x[i] = x[i - 1] ?? 0; // ties
            const want = everyTap(x, g);
            assert.deepEqual(pk.maxPoolArgmaxRef(x, g), want);
            assert.deepEqual(pk.maxPoolArgmax(x.slice(), g), want);
          },
        ),
        { numRuns: 150 },
      );
      // one tap of each window is inside: the maximum of its row, at once
      // (a visit per tap took seconds)
      for (const planes of [1, 100]) { // TypeScript, WebAssembly
        const k = 2 ** 31 - 1, h = 3;
        const g: pk.PoolGeometry = {
          planes,
          h,
          w: 1,
          oh: h,
          ow: 1,
          kh: 1,
          kw: k,
          sh: 1,
          sw: 1,
          ph: 0,
          pw: (k - 1) / 2,
          dh: 1,
          dw: 1,
        };
        const x = values(planes * h, 7);
        const idx = pk.maxPoolArgmax(x.slice(), g);
        assert.deepEqual(
          [...idx],
          Array.from({ length: planes * h }, (_, i) => i % h),
        );
      }
    });
  });

  Deno.test(`kernels (${variant.name}): direct convolutions and weight gradients (no padding) match the reference`, () => {
    withRuntime(rt, () => {
      // [n, c, h, w, o, kh, kw, sh, sw, dh, dw, groups]: LeNet's two layers,
      // rows of exactly 8 and of 8k+1, channel counts not a multiple of 6 or
      // 8, strides, dilation, groups, a plane of exactly 6 outputs, a single
      // output pixel, one channel per group
      const cases = [
        [3, 1, 32, 32, 6, 5, 5, 1, 1, 1, 1, 1],
        [2, 6, 14, 14, 16, 5, 5, 1, 1, 1, 1, 1],
        [2, 3, 10, 10, 7, 3, 3, 1, 1, 1, 1, 1],
        [1, 2, 9, 21, 13, 2, 5, 2, 1, 1, 1, 1],
        [2, 4, 11, 17, 8, 3, 2, 1, 1, 2, 3, 2],
        [1, 6, 6, 9, 12, 1, 1, 3, 1, 1, 1, 3],
        [2, 3, 13, 11, 16, 3, 3, 2, 2, 1, 1, 1],
        [1, 4, 7, 5, 32, 3, 3, 2, 1, 1, 1, 2],
        [3, 2, 4, 5, 24, 2, 2, 1, 1, 1, 1, 1],
        [2, 4, 12, 19, 12, 3, 2, 1, 1, 2, 3, 2],
        [1, 3, 11, 24, 6, 3, 3, 2, 1, 1, 1, 1],
        [2, 5, 3, 3, 9, 3, 3, 1, 1, 1, 1, 1],
        [3, 6, 8, 7, 6, 3, 2, 2, 3, 1, 2, 6],
      ];
      for (const [n, c, h, w, o, kh, kw, sh, sw, dh, dw, groups] of cases) {
        const oh = Math.floor((h - dh * (kh - 1) - 1) / sh) + 1;
        const ow = Math.floor((w - dw * (kw - 1) - 1) / sw) + 1;
        const g: cv.ConvGeometry = {
          n,
          c,
          h,
          w,
          o,
          kh,
          kw,
          oh,
          ow,
          sh,
          sw,
          pt: 0,
          pl: 0,
          dh,
          dw,
          groups,
        };
        const x = values(n * c * h * w, c + h);
        const wt = values(o * (c / groups) * kh * kw, o + kw);
        for (const b of [values(o, 5), null]) {
          const want = cv.conv2dForwardRef(
            x,
            wt,
            b,
            g,
            new Float32Array(n * o * oh * ow),
          );
          assertAllClose(cv.conv2dForward(x, wt, b, g), want, {
            ...tol((c / groups) * kh * kw),
            msg: JSON.stringify(g),
          });
        }
        // the weight gradient (the direct kernel: no im2col)
        const y = values(n * o * oh * ow, o + oh);
        const gw = new Float32Array(wt.length).fill(7);
        cv.conv2dWeightAdjoint(x, y, g, gw);
        assertAllClose(
          gw,
          cv.conv2dWeightAdjointRef(x, y, g, new Float32Array(wt.length)),
          { ...tol(n * oh * ow), msg: `weight gradient ${JSON.stringify(g)}` },
        );
      }
    });
  });

  Deno.test(`kernels (${variant.name}): the direct input gradient matches the reference`, () => {
    withRuntime(rt, () => {
      // [n, c, h, w, o, kh, kw, sh, dh, dw, groups, pt, pl, pb, pr]: stride 1
      // along x (any stride down), rows of 4, 5, 7, 8, 9 and wide ones, an
      // odd number of 4-output vectors, one output row, k not a multiple
      // of 6, dilation, groups, and padding on any side (the padded path)
      const cases = [
        [2, 6, 14, 14, 16, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0],
        [3, 1, 32, 32, 6, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0],
        [2, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0],
        [1, 2, 6, 8, 7, 3, 4, 2, 1, 1, 1, 0, 0, 0, 0],
        [2, 4, 11, 12, 6, 2, 3, 3, 2, 1, 2, 0, 0, 0, 0],
        [1, 6, 5, 13, 9, 1, 1, 1, 1, 1, 3, 0, 0, 0, 0],
        [2, 3, 3, 21, 17, 3, 5, 1, 1, 2, 1, 0, 0, 0, 0],
        [1, 5, 8, 10, 1, 4, 2, 1, 2, 2, 1, 0, 0, 0, 0],
        [3, 4, 7, 9, 8, 3, 3, 2, 1, 1, 4, 0, 0, 0, 0],
        [2, 3, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1],
        [1, 4, 10, 11, 6, 5, 5, 1, 1, 1, 2, 2, 2, 2, 2],
        [2, 2, 9, 6, 5, 3, 2, 2, 2, 1, 1, 1, 0, 2, 3],
        [1, 3, 5, 5, 4, 5, 5, 1, 1, 1, 1, 3, 3, 3, 3],
      ];
      for (
        const [n, c, h, w, o, kh, kw, sh, dh, dw, groups, pt, pl, pb, pr]
          of cases
      ) {
        const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
        const ow = w + pl + pr - dw * (kw - 1);
        const g: cv.ConvGeometry = {
          n,
          c,
          h,
          w,
          o,
          kh,
          kw,
          oh,
          ow,
          sh,
          sw: 1,
          pt,
          pl,
          dh,
          dw,
          groups,
        };
        const y = values(n * o * oh * ow, o + ow);
        const wt = values(o * (c / groups) * kh * kw, c + kh);
        const want = cv.conv2dInputAdjointRef(
          y,
          wt,
          g,
          new Float32Array(n * c * h * w),
        );
        const msg = JSON.stringify(g);
        assertAllClose(cv.conv2dInputAdjoint(y, wt, g), want, {
          ...tol((o / groups) * kh * kw),
          msg,
        });
        const got = new Float32Array(want.length).fill(7);
        cv.conv2dInputAdjoint(y, wt, g, got);
        assertAllClose(got, want, { ...tol((o / groups) * kh * kw), msg });
      }
    });
  });

  Deno.test(`kernels (${variant.name}): 2x2 stride-2 max pooling (the SIMD path), ties and NaN`, () => {
    withRuntime(rt, () => {
      for (const [h, w] of [[28, 28], [10, 10], [7, 9], [2, 2], [5, 17]]) {
        const g = pool2x2(70, h, w);
        const x = values(g.planes * h * w, h * 31 + w);
        for (let i = 5; i < x.length; i += 7) x[i] = x[i - 1]; // ties
        for (let i = 3; i < x.length; i += 13) x[i] = NaN;
        for (let i = 9; i < x.length; i += 17) x[i] = -Infinity;
        const want = pk.maxPoolArgmaxRef(x, g);
        assert.deepEqual(pk.maxPoolArgmax(x.slice(), g), want, `${h}x${w}`);
        const ref = pk.poolGather(x, want, g, new Float32Array(want.length));
        assert.deepEqual(pk.maxPoolForward(x, g), ref, `${h}x${w}`);
        // inference (no argmax kept), then the argmax of the same array
        const fresh = x.slice();
        assert.deepEqual(pk.maxPoolForward(fresh, g, undefined, false), ref);
        assert.deepEqual(pk.maxPoolArgmax(fresh, g), want, `${h}x${w}`);
        // the VJP: g to each window's argmax, as the TypeScript sum (which
        // turns -0 into 0), over memory left dirty by the kernels above
        const gr = values(want.length, h + w);
        gr[0] = -0;
        gr[1] = NaN;
        const n = g.planes * h * w;
        assertSame(
          pk.maxPoolScatter(gr, want, g),
          pk.poolScatter(gr, want, g, new Float32Array(n)),
          `${h}x${w}`,
        );
      }
    });
  });

  Deno.test(`kernels (${variant.name}): relu and its mask match the TypeScript loops`, () => {
    withRuntime(rt, () => {
      for (const n of [ew.WASM_MIN_ELEMENTS, ew.WASM_MIN_ELEMENTS + 7, 50001]) {
        let x = values(n, n), g = values(n, n + 1);
        x[0] = NaN;
        x[1] = -0;
        x[2] = 0;
        g[3] = NaN;
        x[3] = -1;
        // elementwise Object.is: NaN equals NaN whatever its bits, 0 is not -0
        const same = (a: Float32Array | TypedArray, b: TypedArray) =>
          assert.deepEqual(Array.from(a), Array.from(b));
        same(ew.relu(x), Float32Array.from(x, (v) => Math.max(v, 0)));
        assert.ok(Object.is(ew.relu(x)[1], 0));
        same(ew.reluMask(g, x), ew.reluMaskRef(g, x));
        // same-shape arithmetic, bit for bit the TypeScript loops (float32
        // rounding of the exact result), specials included
        const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-45, 3e38, -3e38];
        // new arrays: kernels may keep an array they saw in memory (arrays
        // never change), so changing x or g in place would be stale there
        x = x.slice(), g = g.slice();
        specials.forEach((v, i) => {
          x[10 + i] = v;
          g[10 + (i * 3) % 8] = v;
        });
        const ops = {
          add: (p: number, q: number) => p + q,
          sub: (p: number, q: number) => p - q,
          mul: (p: number, q: number) => p * q,
          div: (p: number, q: number) => p / q,
        };
        for (const [name, f] of Object.entries(ops)) {
          const want = ew.binaryRef(
            x,
            [n],
            g,
            [n],
            new Float32Array(n),
            [n],
            f,
          );
          assertSame(ew.arithF32(name as ew.ArithOp, x, g, n)!, want, name);
        }
      }
    });
  });
}

Deno.test({
  name: "kernels: two threads give the single-thread results",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    const one = new WasmRuntime();
    const two = new WasmRuntime();
    two.setThreads(2);
    assert.ok(two.waitReady(10000), "the worker did not start");
    const m = 130, k = 150, n = 300;
    const a = values(m * k, 1), b = values(k * n, 2);
    const outs = [one, two].map((rt) => {
      let r!: Float32Array;
      withRuntime(rt, () => {
        r = new Float32Array(m * n);
        mm.matmul(a, b, r, 1, m, k, n, 0, 0);
      });
      return r;
    });
    assert.deepEqual(outs[1], outs[0]);
    const g: cv.ConvGeometry = {
      n: 16,
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
    const x = values(16 * 6 * 196, 3),
      w = values(16 * 150, 4),
      y = values(16 * 1600, 5);
    const run = (rt: WasmRuntime) => {
      const r = [
        new Float32Array(y.length),
        new Float32Array(x.length),
        new Float32Array(w.length),
      ];
      withRuntime(rt, () => {
        cv.conv2dForward(x, w, null, g, r[0]);
        cv.conv2dInputAdjoint(y, w, g, r[1]);
        cv.conv2dWeightAdjoint(x, y, g, r[2]);
      });
      return r;
    };
    const [r1, r2] = [run(one), run(two)];
    assert.deepEqual(r2[0], r1[0]);
    assert.deepEqual(r2[1], r1[1]);
    // the input gradient with padding (into a padded x, then cropped)
    const gp = { ...g, pt: 2, pl: 2, oh: 14, ow: 14 };
    const yp = values(16 * 16 * 196, 6);
    const [p1, p2] = [one, two].map((rt) => {
      let r!: Float32Array;
      withRuntime(rt, () => {
        r = cv.conv2dInputAdjoint(yp, w, gp) as Float32Array;
      });
      return r;
    });
    assert.deepEqual(p2, p1);
    // per-thread partial sums are added in another order
    assertAllClose(r2[2], r1[2], { atol: 1e-4, rtol: 1e-5 });
    // max pooling's VJP split into plane ranges
    const gpool = pool2x2(200, 29, 28);
    const xp = values(200 * 29 * 28, 9), gp2 = values(200 * 196, 10);
    withRuntime(two, () => {
      const idx = pk.maxPoolArgmax(xp, gpool);
      assertSame(
        pk.maxPoolScatter(gp2, idx, gpool),
        pk.poolScatter(gp2, idx, gpool, new Float32Array(xp.length)),
      );
    });
    // relu, its mask and arithmetic split into ranges (an odd length: a
    // scalar tail)
    const big = values((1 << 20) + 3, 7), gb = values((1 << 20) + 3, 8);
    withRuntime(two, () => {
      assertSame(ew.relu(big), Float32Array.from(big, (v) => Math.max(v, 0)));
      assertSame(ew.reluMask(gb, big), ew.reluMaskRef(gb, big));
      assertSame(
        ew.arithF32("div", big, gb, big.length)!,
        Float32Array.from(big, (v, i) => v / gb[i]),
      );
    });
  },
});

Deno.test({
  name: "kernels: the task queue runs every task once, on any thread",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    const rt = new WasmRuntime();
    rt.setThreads(2);
    assert.ok(rt.waitReady(10000), "the worker did not start");
    // 40 tasks, each C_t += A_t·B_t into its own zeroed C_t (with its own
    // scratch): a task skipped leaves zeros, a task run twice doubles C_t
    const m = 3, k = 5, n = 9, count = 40;
    for (let round = 0; round < 10; round++) {
      rt.reset();
      const a = values(count * m * k, round), b = values(count * k * n, 99);
      const pa = rt.put(a), pb = rt.put(b), pc = rt.zeros(count * m * n);
      const tasks = Array.from({ length: count }, (_, t) => [
        m,
        n,
        k,
        pa + 4 * t * m * k,
        k,
        1,
        pb + 4 * t * k * n,
        n,
        1,
        pc + 4 * t * m * n,
        n,
        rt.alloc(GEMM_WORK),
      ]);
      rt.parallel("gemm", tasks);
      const got = rt.readF32(pc, count * m * n);
      const want = new Float32Array(count * m * n);
      mm.matmulRef(a, b, want, count, m, k, n, m * k, k * n);
      assertAllClose(got, want, { atol: 1e-5, msg: `round ${round}` });
    }
    assert.throws(
      () => rt.parallel("relu", Array.from({ length: 64 }, () => [0, 0, 0])),
      /kernels: relu was given 64 tasks; at most 63/,
    );
  },
});

Deno.test({
  name:
    "kernels: float32 sums of long runs (WebAssembly) match the float64 loop",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    for (const threads of [1, 2]) {
      const rt = new WasmRuntime();
      rt.setThreads(threads);
      rt.waitReady(10000);
      withRuntime(rt, () => {
        // runs of 32 (the smallest: two 16-float steps), 33 (then a single
        // float), 47 (16-float steps, single vectors, single floats), 100
        // and 784 (LeNet's bias gradients); the last is split over threads;
        // runs of one block of 1024 floats exactly, one float more, two
        // blocks and a tail, and five blocks
        const cases: [number[], number[]][] = [
          [[512, 32], [1]],
          [[500, 33], [1]],
          [[120, 3, 47], [0, 2]],
          [[64, 16, 10, 10], [0, 2, 3]],
          [[64, 6, 28, 28], [0, 2, 3]],
          [[128, 6, 28, 28], [0, 2, 3]],
          [[17, 1024], [1]],
          [[16, 1025], [1]],
          [[8, 2095], [1]],
          [[4, 5000], [1]],
        ];
        for (const [shape, axes] of cases) {
          const n = shape.reduce((a, b) => a * b);
          const x = values(n, n);
          const kept = shape.filter((_, i) => !axes.includes(i));
          const size = kept.reduce((a, b) => a * b, 1);
          const got = rd.sumAxes(x, shape, axes, new Float32Array(size));
          const want = rd.sumAxes(
            Float64Array.from(x),
            shape,
            axes,
            new Float64Array(size),
          );
          assertAllClose(got, want, {
            atol: 1e-4,
            rtol: 1e-5,
            msg: JSON.stringify(shape),
          });
        }
        // NaN and infinities propagate
        const x = values(256 * 100, 3);
        x[150] = NaN;
        x[3210] = Infinity;
        const got = rd.sumAxes(x, [256, 100], [1], new Float32Array(256));
        assert.ok(Number.isNaN(got[1]) && got[32] === Infinity);
        // and from any block of a long run
        const y = values(8 * 3000, 3);
        y[2500] = NaN;
        y[3000 + 2900] = -Infinity;
        const long = rd.sumAxes(y, [8, 3000], [1], new Float32Array(8));
        assert.ok(Number.isNaN(long[0]) && long[1] === -Infinity);
        assert.ok(Number.isFinite(long[2]));
      });
    }
  },
});

Deno.test({
  name:
    "kernels: sumAxes over leading axes (sumCols) gives the float64 sums in row order, bit for bit",
  sanitizeResources: false,
  fn: () => {
    // the reference: each column's float64 sum from row 0 on, rounded once
    const reference = (x: Float32Array, rows: number, cols: number) => {
      const out = new Float32Array(cols);
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += x[r * cols + j];
        out[j] = s;
      }
      return out;
    };
    // LeNet-5's bias gradients ([64, 120], [64, 84], [64, 10]), columns
    // that are not a multiple of 4, and the smallest array summed in
    // WebAssembly (1024)
    const shapes = [[64, 120], [64, 84], [128, 10], [3, 3, 5, 7], [16, 64]];
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b), rows = n / shape.at(-1)!;
      const cols = shape.at(-1)!, x = values(n, 7);
      // where the order matters: 1 + 2^60 - 2^60 is 0 in row order, 1
      // otherwise; -0 alone sums to 0; NaN and infinities propagate
      // (in the first column, and in the last: a column of the scalar loop
      // when cols is no multiple of 4)
      for (const j of [0, cols - 1]) {
        x[j] = 1;
        x[cols + j] = 2 ** 60;
        x[2 * cols + j] = -(2 ** 60);
      }
      for (let r = 0; r < rows; r++) x[r * cols + 1] = -0;
      x[cols + 2] = NaN;
      x[3] = Infinity;
      const axes = shape.slice(0, -1).map((_, i) => i);
      const got = rd.sumAxes(x, shape, axes, new Float32Array(cols));
      const want = reference(x, rows, cols);
      assert.deepEqual([...got], [...want], JSON.stringify(shape));
      assert.ok(Object.is(got[1], 0) && got[0] === want[0]);
      assert.ok(Number.isNaN(got[2]) && got[3] === Infinity);
    }
    // a conv bias's gradient: the runs' sums (of H·W) added in float64 in
    // image order, as the columns of [N, C]
    for (const [nImg, ch, hw] of [[64, 16, 100], [64, 6, 784], [64, 3, 100]]) {
      const x = values(nImg * ch * hw, 5);
      // runs of sum 1, 2^60 and -2^60 for channel 0 of the first images
      for (const [img, v] of [[0, 1], [1, 2 ** 60], [2, -(2 ** 60)]]) {
        const at = img * ch * hw;
        x.fill(0, at, at + hw);
        x[at + 1] = v;
      }
      const runs = rd.sumAxes(
        x,
        [nImg * ch, hw],
        [1],
        new Float32Array(nImg * ch),
      ) as Float32Array;
      const shape = [nImg, ch, hw];
      const got = rd.sumAxes(x, shape, [0, 2], new Float32Array(ch));
      assert.deepEqual([...got], [...reference(runs, nImg, ch)]);
      // (the runs, [N·C]: the same values as one column each)
      const one = rd.sumAxes(
        x,
        [1, nImg * ch, hw],
        [0, 2],
        new Float32Array(nImg * ch),
      );
      assert.deepEqual([...one], [...runs]);
    }
  },
});

Deno.test("kernels: specialised elementwise loops match the plain loops", () => {
  const fns: ((a: number, b: number) => number)[] = [
    (a, b) => a + b,
    (a, b) => a * b,
    (a, b) => +(a > b),
    Math.pow,
  ];
  const shapes: [number[], number[]][] = [
    [[3, 4], [3, 4]],
    [[3, 4], []],
    [[], [2, 5]],
    [[2, 1, 4], [3, 1]],
    [[5, 1], [1, 6]],
    [[2, 3, 1, 2], [3, 4, 1]],
  ];
  for (const f of fns) {
    for (const [sa, sb] of shapes) {
      const out = ew.broadcastShapes(sa, sb)!;
      const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      const a = values(size(sa), 1),
        b = Int32Array.from(values(size(sb), 2), (v) => Math.round(v * 3));
      const got = new Float32Array(size(out)),
        want = new Float32Array(size(out));
      ew.binary(a, sa, b, sb, got, out, f);
      ew.binaryRef(a, sa, b, sb, want, out, f);
      assert.deepEqual(got, want, `${f} [${sa}] [${sb}]`);
    }
  }
  const x = values(100, 3);
  for (const f of [Math.exp, (v: number) => (v > 0 ? v : 0)]) {
    assert.deepEqual(
      ew.unary(x, new Float64Array(100), f),
      ew.unaryRef(x, new Float64Array(100), f),
    );
  }
});

Deno.test("kernels: the last result is reused in place only while it is intact", () => {
  const rt = new WasmRuntime();
  const relu = (v: Float32Array) => Float32Array.from(v, (e) => Math.max(e, 0));
  withRuntime(rt, () => {
    const n = 3 * 4096 + 5, x = values(n, 1), m = values(n, 2);
    // relu's result stays in memory; other kernels' allocations step over
    // it (a sum and a product that would start where it lies), and the
    // next kernel given it reads it in place
    const y = ew.relu(x) as Float32Array;
    rd.sumAxes(values(4096 * 40, 3), [4096, 40], [1], new Float32Array(4096));
    mm.linearF32(values(64 * 300, 4), values(50 * 300, 5), null, 64, 300, 50);
    const g: pk.PoolGeometry = {
      planes: 1,
      h: 1,
      w: n,
      oh: 1,
      ow: Math.floor(n / 2),
      kh: 1,
      kw: 2,
      sh: 1,
      sw: 2,
      ph: 0,
      pw: 0,
      dh: 1,
      dw: 1,
    };
    assert.deepEqual(
      pk.maxPoolForward(y, g),
      pk.poolGather(y, pk.maxPoolArgmaxRef(y, g), g, new Float32Array(g.ow)),
    );
    // a result read in place by several kernels in turn (none writes into
    // its inputs), and by one kernel twice
    const z = ew.relu(x) as Float32Array;
    rd.sumAxes(z, [n], [0], new Float32Array(1));
    assert.deepEqual(ew.reluMask(z, m), ew.reluMaskRef(z, m));
    const z2 = ew.relu(m) as Float32Array;
    assert.deepEqual(ew.reluMask(z2, z2), ew.reluMaskRef(z2, z2));
    assert.deepEqual(ew.relu(z2), relu(z2));
    assert.deepEqual(ew.relu(z2), relu(z2));
  });
});

Deno.test("kernels: a resident result is forgotten rather than overflow the memory", () => {
  // 4 MiB of memory: relu of 400,000 floats takes 3.2 MB (input, output)
  const rt = new WasmRuntime({ maxPages: 64 });
  const relu = (v: Float32Array) => Float32Array.from(v, (e) => Math.max(e, 0));
  withRuntime(rt, () => {
    const a = values(400_000, 1), b = values(400_000, 2);
    const ra = ew.relu(a) as Float32Array; // resident above a's copy
    // b's output cannot step over it and fit: the resident result goes
    assertSame(ew.relu(b), relu(b), "after a resident result");
    assertSame(ew.relu(ra), relu(ra), "the forgotten result, copied in");
    // too large whatever is resident: the TypeScript loop runs it
    const big = values(600_000, 3);
    assertSame(ew.relu(big), relu(big), "past the memory's limit");
  });
});

Deno.test("kernels: near the memory's limit, arrays kept from earlier calls (resident inputs, a plan's results) never make a call fail", async () => {
  const T = await import("../mod.ts");
  // 4 MiB of memory; three arrays of 100,000 to 600,000 floats may not fit
  // beside the ones kept in it
  type Tensor = import("../mod.ts").Tensor;
  const f = (x: Tensor, y: Tensor) =>
    T.div(T.mul(T.relu(T.add(x, y)), T.sub(x, y)), T.add(T.exp(y), 1));
  const cases = Array.from({ length: 60 }, (_, i) => {
    const n = 100_000 + (i * 7919 * 61) % 500_000;
    return [0, 1].map((k) => T.random.normal(T.random.key(2 * i + k), [n]));
  });
  // the default memory's results (the WebAssembly and TypeScript kernels
  // give the same bits)
  const want = cases.map(([x, y]) => f(x, y));
  withRuntime(new WasmRuntime({ maxPages: 64 }), () => {
    const jf = T.jit(f);
    cases.forEach(([x, y], i) => {
      assertSame(f(x, y).data, want[i].data, `eager, case ${i}`);
      assertSame(jf(x, y).data, want[i].data, `jit, case ${i}`);
    });
  });
});

Deno.test("kernels: sumParts adds float32 arrays in float64 at chosen offsets, parts in table order, then lanes, rounded to float32 once (any length, 1 to 8 parts, 1 to 4 lanes, special values)", () => {
  const rt = runtime();
  const specials = [NaN, -0, 0, Infinity, -Infinity, 1e-42, -3e38, 3e38];
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 4 }),
      fc.nat(),
      (n, parts, lanes, seed) => {
        const size = n * lanes + 7;
        const xs = Array.from({ length: parts }, (_, t) => {
          const v = values(size, seed + t);
          for (let i = (seed + t) % 7; i < size; i += 11) {
            v[i] = specials[(i + t) % specials.length];
          }
          // large and small magnitudes, where float32 sums would round
          for (let i = t; i < size; i += 5) {
            v[i] *= 2 ** ((i * 13 + t) % 60 - 30);
          }
          return v;
        });
        // each output's lanes somewhere in the parts, in a shuffled order
        const at = Int32Array.from(
          { length: n },
          (_, i) => ((i * 7919 + seed) % n) * lanes + (seed % 8),
        );
        const want = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          let sum = 0;
          for (let l = 0; l < lanes; l++) {
            let part = xs[0][at[i] + l];
            for (let t = 1; t < parts; t++) part += xs[t][at[i] + l];
            sum += part;
          }
          want[i] = sum;
        }
        rt.reset("test");
        const table = rt.alloc(4 * parts), out = rt.alloc(4 * n);
        xs.forEach((x, t) => (rt.i32[(table >> 2) + t] = rt.put(x)));
        const ats = rt.alloc(4 * n);
        rt.i32.set(at, ats >> 2);
        rt.exports.sumParts(table, parts, ats, n, lanes, out);
        assertSame(
          rt.f32.subarray(out >> 2, (out >> 2) + n),
          want,
          `n ${n}, ${parts} parts, ${lanes} lanes`,
        );
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("kernels: an allocation past the memory's limit is an Error naming the op, never a wrapped address", () => {
  const rt = new WasmRuntime({ maxPages: 64 });
  rt.reset("conv2d", () => " (x [1,1,2,2])");
  // sizes past 2^31 and 2^32 once wrapped in 32-bit alignment arithmetic
  for (const bytes of [2 ** 31 + 8, 2 ** 32 + 64, 2 ** 33]) {
    assert.throws(
      () => rt.alloc(bytes),
      (e: Error) =>
        e.constructor === Error &&
        e.message.startsWith(
          `conv2d: needs at least ${
            4096 + bytes + 16 + (64 - (bytes + 16) % 64) % 64
          } bytes of WebAssembly memory (x [1,1,2,2]), more than its limit of 4194304 bytes`,
        ),
    );
  }
  assert.ok(rt.fits(4194304 - 4096) && !rt.fits(4194304 - 4095));
  // the default memory stops one page short of 2 GiB: addresses stay below 2^31
  assert.ok(!new WasmRuntime().fits(2 ** 31 - 4096));
});

Deno.test({
  name:
    "kernels: split covers 0..n with contiguous ranges, shrinking toward the middle when asked",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    const rt = new WasmRuntime();
    rt.setThreads(2); // the split counts threads asked for, started or not
    for (const n of [1, 5, 8, 17, 64, 1000]) {
      for (const shrinking of [false, true]) {
        const parts = rt.split(n, 1, 4, shrinking);
        assert.equal(parts[0][0], 0);
        assert.equal(parts[parts.length - 1][1], n);
        parts.forEach(([lo, hi], i) => {
          assert.ok(hi > lo, `n ${n}: empty range ${i}`);
          if (i > 0) assert.equal(lo, parts[i - 1][1]);
        });
        // 8 ranges (4 per thread) or one per element; shrinking ones may
        // leave out a range that rounds to nothing
        const want = Math.min(8, n);
        if (shrinking) {
          assert.ok(parts.length >= want - 2 && parts.length <= want);
        } else assert.equal(parts.length, want, `n ${n}: ${parts.length}`);
        if (shrinking && n >= 64) {
          // the main thread claims from the front, the workers from the
          // back: large ranges at both ends, small ones in the middle
          const sizes = parts.map(([lo, hi]) => hi - lo);
          for (let i = 1; i < 4; i++) {
            assert.ok(sizes[i] <= sizes[i - 1], `n ${n}: ${sizes}`);
            assert.ok(sizes[7 - i] <= sizes[8 - i], `n ${n}: ${sizes}`);
          }
          assert.ok(sizes[0] >= 3 * sizes[3], `n ${n}: ${sizes}`);
          assert.ok(sizes[7] >= 3 * sizes[4], `n ${n}: ${sizes}`);
        }
      }
    }
  },
});

Deno.test("outer products (a float32 matmul with k = 1): WebAssembly bit for bit as the TypeScript loop, rows of any length, more batch entries than one parallel call takes, a shared operand", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 130 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 70 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 1000 }),
      (batch, m, n, shared, seed) => {
        let s = seed;
        const rnd = () =>
          (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 30 - 1;
        const a = Float32Array.from({ length: batch * m }, rnd);
        const c = Float32Array.from({ length: shared ? n : batch * n }, rnd);
        const stepC = shared ? 0 : n;
        const got = mm.outerF32(a, c, batch, m, n, m, stepC);
        const want = mm.outerF32Ref(
          a,
          c,
          new Float32Array(batch * m * n),
          batch,
          m,
          n,
          m,
          stepC,
        );
        assert.deepEqual(got, want);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("kernels: the TypeScript relu and its mask are max(v, 0) and (x <= 0 ? 0 : g, a NaN x passing g as PyTorch) on special values, float64 and float32", () => {
  const specials = [
    NaN,
    -NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    5e-324,
    -5e-324,
    1e-45,
    -1,
    1,
    3e38,
    -3e38,
    1.7e308,
    -1.7e308,
  ];
  for (
    const Ctor of [Float64Array, Float32Array] as Float64ArrayConstructor[]
  ) {
    const x = Ctor.from(specials.flatMap((a) => specials.map(() => a)));
    const g = Ctor.from(specials.flatMap(() => specials));
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      assert.deepEqual(Array.from(a), Array.from(b)); // Object.is per element
    // short arrays take the TypeScript loops
    same(ew.relu(x), Ctor.from(x, (v: number) => Math.max(v, 0)));
    same(
      ew.reluMaskRef(g, x),
      Ctor.from(g, (v: number, i: number) => (x[i] <= 0 ? 0 : v)),
    );
    same(
      ew.reluMask(g, x),
      Ctor.from(g, (v: number, i: number) => (x[i] <= 0 ? 0 : v)),
    );
  }
});

Deno.test("kernels: the fused epilogues (relu in conv2d's stores, relu's mask in max pooling's gradient) give the bits of the two kernels, special values included", () => {
  // x with NaN, ±0, ±inf and subnormals among random values
  const specials = [NaN, -0, 0, Infinity, -Infinity, 1e-40, -1e-40];
  const withSpecials = (n: number, seed: number) => {
    const v = values(n, seed);
    for (let i = 0; i < n; i += 7) v[i] = specials[(i / 7) % specials.length];
    return v;
  };
  const convs: [string, Partial<cv.ConvGeometry>][] = [
    ["LeNet conv1 (convDirect)", {
      n: 8,
      c: 1,
      h: 32,
      w: 32,
      o: 6,
      kh: 5,
      kw: 5,
    }],
    ["LeNet conv2 (convDirectC)", {
      n: 8,
      c: 6,
      h: 14,
      w: 14,
      o: 16,
      kh: 5,
      kw: 5,
    }],
    ["odd channels (partial tiles)", {
      n: 3,
      c: 3,
      h: 11,
      w: 13,
      o: 13,
      kh: 3,
      kw: 3,
    }],
    ["padding (im2col, relu after)", {
      n: 4,
      c: 3,
      h: 12,
      w: 12,
      o: 8,
      kh: 3,
      kw: 3,
      pt: 1,
      pl: 1,
    }],
    ["small (TypeScript)", { n: 1, c: 1, h: 4, w: 4, o: 2, kh: 2, kw: 2 }],
  ];
  for (const [name, part] of convs) {
    const g0 = { sh: 1, sw: 1, pt: 0, pl: 0, dh: 1, dw: 1, groups: 1, ...part };
    const g = {
      ...g0,
      oh: g0.h! + 2 * g0.pt - g0.kh! + 1,
      ow: g0.w! + 2 * g0.pl - g0.kw! + 1,
    } as cv.ConvGeometry;
    for (const f64 of [false, true]) {
      const cast = (a: Float32Array) => f64 ? Float64Array.from(a) : a;
      const x = cast(withSpecials(g.n * g.c * g.h * g.w, 1));
      const w = cast(values(g.o * g.c * g.kh * g.kw, 2));
      const b = cast(values(g.o, 3));
      const fused = cv.conv2dForwardRelu(x, w, b, g);
      const plain = cv.conv2dForward(x, w, b, g);
      assertSame(fused, ew.relu(plain), `${name}, float${f64 ? 64 : 32}`);
      assert.ok(plain.some((v) => v < 0), `${name}: relu changes something`);
    }
  }
  for (
    const [planes, h, w] of [[48, 28, 28], [128, 10, 10], [40, 9, 7], [3, 6, 6]]
  ) {
    const g = pool2x2(planes, h, w);
    for (const f64 of [false, true]) {
      const cast = (a: Float32Array) => f64 ? Float64Array.from(a) : a;
      const x = cast(withSpecials(planes * h * w, 4));
      const gr = cast(withSpecials(planes * g.oh * g.ow, 5));
      const idx = pk.maxPoolArgmax(x, g);
      const plain = pk.maxPoolScatter(gr, idx, g);
      const fused = pk.maxPoolScatter(gr, idx, g, x);
      const msg = `pooling ${planes}x${h}x${w}, float${f64 ? 64 : 32}`;
      assertSame(fused, ew.reluMask(plain, x), msg);
      assert.ok(
        fused.some((v, i) => !Object.is(v, plain[i])),
        `${msg}: the mask changes something`,
      );
    }
  }
});

Deno.test("kernels: jit's fused float32 kernels give the bits of the scalar loop (random chains of add, sub, mul, div, neg, abs, sqrt, maximum, where, copy, sign; scalars, int32 conditions, special values, lengths 4 to 1000, one to three parts in one call)", async () => {
  const { fusedKernel } = await import("../ops/kernels/fused.ts");
  type Op = SimdOp;
  const fr = Math.fround;
  const scalarOf: Record<Op, (...v: number[]) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    neg: (a) => -a,
    abs: Math.abs,
    sqrt: Math.sqrt,
    maximum: (a, b) => (a > b || a !== a ? a : b),
    where: (c, a, b) => (c !== 0 ? a : b),
    copy: (a) => a,
    sign: (a) => +(a > 0) - +(a < 0),
  };
  const ops = Object.keys(scalarOf) as Op[];
  const specials = [NaN, -0, 0, Infinity, -Infinity, 1e-40, 3e38];
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 4, max: 1000 }), {
        minLength: 1,
        maxLength: 3,
      }),
      fc.array(
        fc.record({
          op: fc.constantFrom(...ops),
          a: fc.nat(),
          b: fc.nat(),
          c: fc.nat(),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      fc.nat(),
      (ns, prog, seed0) => {
        // inputs: two float32 arrays with specials, a float32 scalar, an
        // int32 condition array and an int32 scalar condition; per part
        const partIns = (n: number, seed: number) => {
          const arr = (s: number) => {
            const v = values(n, s);
            for (let i = s % 5; i < n; i += 9) {
              v[i] = specials[i % specials.length];
            }
            return v;
          };
          return [
            arr(seed),
            arr(seed + 1),
            new Float32Array([seed % 2 ? -0.5 : 3]),
            Int32Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3 - 1),
            new Int32Array([seed % 2]),
          ];
        };
        const insOf = ns.map((n, j) => partIns(n, seed0 + 5 * j));
        const inputs = [
          { scalar: false, dtype: "float32" as const },
          { scalar: false, dtype: "float32" as const },
          { scalar: true, dtype: "float32" as const },
          { scalar: false, dtype: "int32" as const },
          { scalar: true, dtype: "int32" as const },
        ];
        // an operand: a float input or an earlier step; a condition may also be an int32 input
        const steps = prog.map(({ op, a, b, c }, j) => {
          const pick = (x: number) =>
            x % (j + 3) < 3
              ? { input: x % (j + 3) }
              : { step: (x % (j + 3)) - 3 };
          const args = op === "neg" || op === "abs" || op === "sqrt" ||
              op === "copy" || op === "sign"
            ? [pick(a)]
            : op === "where"
            ? [
              c % 2 ? { input: 3 + (c % 4 === 1 ? 0 : 1) } : pick(c),
              pick(a),
              pick(b),
            ]
            : [pick(a), pick(b)];
          return { op, args };
        });
        const outputs = steps.map((_, j) => j).filter((j) =>
          j % 2 === 0 || j === steps.length - 1
        );
        const kernel = fusedKernel({ inputs, steps, outputs })!;
        const outsOf = ns.map((n) => outputs.map(() => new Float32Array(n)));
        assert.ok(kernel(insOf, outsOf, ns), "fits");
        // the loop fusion.ts runs: each step's scalar, rounded to float32
        ns.forEach((n, part) => {
          const ins = insOf[part], outs = outsOf[part];
          const val = (
            a: { input: number } | { step: number },
            i: number,
            t: number[],
          ) =>
            "step" in a
              ? t[a.step]
              : inputs[a.input].scalar
              ? ins[a.input][0]
              : ins[a.input][i];
          for (let i = 0; i < n; i++) {
            const t: number[] = [];
            steps.forEach((st) =>
              t.push(fr(scalarOf[st.op](...st.args.map((a) => val(a, i, t)))))
            );
            outputs.forEach((j, q) => {
              if (
                !Object.is(outs[q][i], t[j]) &&
                !(t[j] !== t[j] && outs[q][i] !== outs[q][i])
              ) {
                assert.fail(
                  `part ${part} of ${ns.length}, n ${n}, element ${i}, step ${j} (${
                    steps[j].op
                  }): ${outs[q][i]}, expected ${t[j]}`,
                );
              }
            });
          }
        });
      },
    ),
    { numRuns: 200 },
  );
});

/** Geometries of the bit-for-bit check of the direct float32 convolutions. */
const DIRECT_CASES: [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  Partial<cv.ConvGeometry>,
][] = [
  [16, 1, 32, 32, 6, 5, 5, {}], // LeNet conv1 (x padded to 32×32)
  [16, 6, 14, 14, 16, 5, 5, {}], // LeNet conv2
  [4, 1, 28, 28, 6, 5, 5, { pt: 2, pl: 2 }],
  [3, 5, 13, 17, 7, 3, 3, {}],
  [2, 4, 11, 23, 9, 3, 2, { sh: 2 }],
  [5, 6, 12, 15, 12, 3, 3, { groups: 3 }],
  [4, 3, 19, 21, 13, 3, 3, { dh: 2, dw: 2 }],
  [3, 2, 16, 16, 10, 4, 4, { sh: 2, sw: 2 }],
  [2, 8, 10, 30, 20, 1, 1, {}],
  [9, 16, 10, 10, 24, 3, 3, {}],
  [2, 2, 10, 27, 6, 3, 3, {}],
  [2, 1, 8, 29, 6, 3, 3, {}],
  [2, 1, 8, 28, 6, 3, 3, {}],
  [3, 6, 11, 12, 5, 3, 3, {}],
  [2, 12, 15, 12, 8, 3, 3, { sh: 2 }],
  [2, 12, 9, 8, 4, 3, 3, { groups: 2 }],
  [3, 6, 10, 10, 8, 3, 3, { pt: 1, pl: 1 }],
  [2, 6, 14, 14, 4, 3, 3, { dh: 2, dw: 2 }],
  [2, 6, 3, 12, 7, 2, 3, {}],
];

/**
 * SHA-256 (first 16 hex digits) of the float32 results of the forward
 * convolution (with bias, with relu), its input adjoint and its weight
 * adjoint on each of DIRECT_CASES, from seeded values with -0, ±inf,
 * subnormals and NaN among them; every NaN counted as one (its sign and
 * payload are V8's choice: its two compilers' code differs there).
 */
async function directDigest(): Promise<string> {
  let seed = 777;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const specials = [NaN, Infinity, -Infinity, -0, 1e-40, -3e-39, 0];
  const data = (n: number) =>
    Float32Array.from({ length: n }, () => {
      const v = (rnd() * 2 - 1) * (rnd() < 0.1 ? 1e3 : 1);
      return rnd() < 0.003 ? specials[Math.floor(rnd() * specials.length)] : v;
    });
  const parts: Uint32Array[] = [];
  const push = (a: Float32Array) => {
    const u = new Uint32Array(a.slice().buffer);
    for (let i = 0; i < u.length; i++) {
      if (a[i] !== a[i]) u[i] = 0x7fc00000;
    }
    parts.push(u);
  };
  for (const [n, c, h, w, o, kh, kw, opt] of DIRECT_CASES) {
    const sh = opt.sh ?? 1,
      sw = opt.sw ?? 1,
      pt = opt.pt ?? 0,
      pl = opt.pl ?? 0;
    const dh = opt.dh ?? 1, dw = opt.dw ?? 1, groups = opt.groups ?? 1;
    const oh = Math.floor((h + 2 * pt - dh * (kh - 1) - 1) / sh) + 1;
    const ow = Math.floor((w + 2 * pl - dw * (kw - 1) - 1) / sw) + 1;
    const g = { n, c, h, w, o, kh, kw, oh, ow, sh, sw, pt, pl, dh, dw, groups };
    const x = data(n * c * h * w), wt = data(o * (c / groups) * kh * kw);
    const b = data(o), y = data(n * o * oh * ow);
    push(cv.conv2dForward(x, wt, b, g) as Float32Array);
    push(cv.conv2dForwardRelu(x, wt, null, g) as Float32Array);
    push(cv.conv2dInputAdjoint(y, wt, g) as Float32Array);
    push(
      cv.conv2dWeightAdjoint(
        x,
        y,
        g,
        new Float32Array(wt.length),
      ) as Float32Array,
    );
  }
  const all = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    all.set(new Uint8Array(p.buffer), at);
    at += p.byteLength;
  }
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(hash.slice(0, 8), (v) => v.toString(16).padStart(2, "0"))
    .join("");
}

Deno.test({
  name:
    "kernels: the direct float32 convolutions give the same bits as before their tuning (digests of results on 19 geometries)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // computed with the kernels of commit 5fdf9a4; the sums' order is part
    // of the kernels' contract (the jitted and eager steps, and a run's
    // numbers from one version to the next)
    const plain = "6f1c2971a49c24d1", fused = "8ca1a746b9e3e843";
    for (const relaxed of RELAXED_AVAILABLE ? [true, false] : [false]) {
      for (const threads of [1, 2]) {
        const rt = new WasmRuntime({ relaxed });
        rt.setThreads(threads);
        assert.ok(rt.waitReady(10000), "the worker did not start");
        const prev = setRuntime(rt);
        try {
          const digest = await directDigest();
          // relaxed SIMD's multiply-add is fused where the machine has FMA
          // (else a multiply and an add, as the plain module)
          assert.ok(
            relaxed ? [fused, plain].includes(digest) : digest === plain,
            `relaxed ${relaxed}, ${threads} thread(s): digest ${digest}`,
          );
        } finally {
          if (prev) setRuntime(prev);
        }
      }
    }
  },
});
