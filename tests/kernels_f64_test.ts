/**
 * The WebAssembly float64 kernels (the f64x2 GEMM, the float64 im2col and
 * direct convolutions, 2×2 max pooling, relu) against the TypeScript
 * reference kernels, on random shapes and sizes around the blocking
 * constants, for both module variants and with worker threads; each test
 * also checks that the WebAssembly kernel ran (a spy on `parallel`).
 * Pooling and relu compute no sums: they are the reference's bits
 * everywhere.
 *
 * Tolerance: the kernels round every product and every sum as the
 * TypeScript loops do (f64x2.mul then f64x2.add, never fused) and only
 * group the sums differently (each KC = 256 slice of k, or each image of a
 * weight gradient, summed from zero, then added), so results differ by at
 * most the rounding of two groupings of the same sum: within
 * k·2⁻⁵²·Σ|terms| (`bound` below, with Σ|terms| <= k for these inputs in
 * [-1, 1], plus what C held). Where the grouping is the same (C zero and
 * k <= 256; a convolution without bias; an input gradient not in bands)
 * they are the reference's bits. The direct forward convolution sums each
 * output from zero in k order as the reference does: without a bias, its
 * bits for every k.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { smallConv } from "./_geometry.ts";
import { moduleVariants, values } from "./_helpers.ts";
import * as mm from "../ops/kernels/matmul.ts";
import * as cv from "../ops/kernels/conv.ts";
import * as pk from "../ops/kernels/pool.ts";
import * as ew from "../ops/kernels/elementwise.ts";
import { KC } from "../ops/kernels/wasm/layout.ts";
import {
  setRuntime,
  type TaskName,
  WasmRuntime,
} from "../ops/kernels/wasm/runtime.ts";

/** A 2x2 window with stride 2, no padding: LeNet's pooling. */
const POOL_2X2 = {
  kh: 2,
  kw: 2,
  sh: 2,
  sw: 2,
  ph: 0,
  pw: 0,
  dh: 1,
  dw: 1,
};

/** n float64 values in [-1, 1) with full 53-bit mantissas. */
function values64(n: number, seed: number): Float64Array {
  const hi = values(n, seed), lo = values(n, seed + 1000);
  return Float64Array.from(hi, (v, i) => v * (1 - 2 ** -20) + lo[i] * 2 ** -22);
}

/** The largest difference two groupings of sums of k terms of size <= `size` can make. */
const bound = (k: number, size = k) => 2 * k * 2 ** -52 * size + 1e-300;

/** Asserts |a - b| <= atol elementwise (the first failure named). */
function assertWithin(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  atol: number,
  msg: string,
): void {
  assert.equal(a.length, b.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= atol)) {
      assert.fail(
        `${msg}: element ${i} is ${a[i]}, expected ${b[i]} ± ${atol}`,
      );
    }
  }
}

/** The finite values of a, 0 for the others. */
const finite = (a: ArrayLike<number>) =>
  Float64Array.from(a, (v) => Number.isFinite(v) ? v : 0);
/** The NaNs and infinities of a, 0 for the others. */
const nonFinite = (a: ArrayLike<number>) =>
  Float64Array.from(a, (v) => Number.isFinite(v) ? 0 : v);

/** Asserts the same bits (Object.is), naming the first difference. */
function assertSame(a: ArrayLike<number>, b: ArrayLike<number>, msg: string) {
  assert.equal(a.length, b.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      assert.fail(`${msg}: element ${i} is ${a[i]}, expected ${b[i]}`);
    }
  }
}

/**
 * Runs `body` with the kernels on `rt`, recording the kernels `parallel`
 * runs; returns them.
 */
function ran(rt: WasmRuntime, body: () => void): Set<TaskName> {
  const seen = new Set<TaskName>();
  const parallel = rt.parallel;
  rt.parallel = (fn, tasks) => {
    seen.add(fn);
    parallel.call(rt, fn, tasks);
  };
  const prev = setRuntime(rt);
  try {
    body();
  } finally {
    rt.parallel = parallel;
    if (prev) setRuntime(prev);
  }
  return seen;
}

const variants = moduleVariants;

for (const variant of variants) {
  const rt = new WasmRuntime({ relaxed: variant.relaxed });
  rt.minMacs = 0; // every float64 size goes to WebAssembly

  Deno.test(`kernels float64 (${variant.name}): gemm nn/tn/nt, C added to, matches the reference`, () => {
    const seen = ran(rt, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 60 }),
          fc.integer({ min: 1, max: 60 }),
          fc.integer({ min: 1, max: 2 * KC + 20 }),
          fc.constantFrom("nn", "tn", "nt") as fc.Arbitrary<
            "nn" | "tn" | "nt"
          >,
          fc.integer({ min: 0, max: 5 }),
          fc.boolean(),
          (m, n, k, layout, off, zeroC) => {
            const a = values64(off + m * k, m + 7 * k);
            const b = values64(off + k * n, n + 3 * k);
            const c0 = zeroC ? new Float64Array(m * n) : values64(m * n, m);
            const got = c0.slice(), want = c0.slice();
            mm.gemm(a, off, b, off, got, 0, m, k, n, layout);
            mm.gemmRef(a, off, b, off, want, 0, m, k, n, layout);
            const msg = `${m}x${n}x${k} ${layout} ${zeroC ? "C = 0" : ""}`;
            if (zeroC && k <= KC) assertSame(got, want, msg);
            else assertWithin(got, want, bound(k, k + 1), msg);
          },
        ),
        { numRuns: 60 },
      );
    });
    assert.deepEqual([...seen], ["gemmF64"]);
  });

  Deno.test(`kernels float64 (${variant.name}): batched matmul around the blocking sizes`, () => {
    // MR 6, NR_F64 4, KC 256, MC 48, NC_F64 256
    const cases: [number, number, number, number, boolean][] = [
      [1, 1, 1, 1, false],
      [3, 7, 5, 13, false],
      [2, 97, 257, 9, true],
      [1, 49, 40, 257, false],
      [1, 6, 256, 4, false],
      [1, 50, 600, 300, false],
      [4, 6, 8, 255, true],
    ];
    const seen = ran(rt, () => {
      for (const [batch, m, k, n, shareB] of cases) {
        const a = values64(batch * m * k, m),
          b = values64((shareB ? 1 : batch) * k * n, n);
        const cStep = shareB ? 0 : k * n;
        const got = mm.matmul(a, b, null, batch, m, k, n, m * k, cStep);
        const want = mm.matmulRef(
          a,
          b,
          new Float64Array(batch * m * n),
          batch,
          m,
          k,
          n,
          m * k,
          cStep,
        );
        assert.ok(got instanceof Float64Array);
        const msg = `[${batch}] ${m}x${k}x${n}`;
        if (k <= KC) assertSame(got, want, msg);
        else assertWithin(got, want, bound(k), msg);
      }
    });
    assert.deepEqual([...seen], ["gemmF64"]);
  });

  Deno.test(`kernels float64 (${variant.name}): the three convolutions match the reference`, () => {
    const seen = ran(rt, () => {
      fc.assert(
        fc.property(
          smallConv(3),
          (r) => {
            const g = r.g, oh = g.oh, ow = g.ow;
            const x = values64(g.n * g.c * g.h * g.w, 1 + g.h);
            const w = values64(g.o * r.cg * g.kh * g.kw, 2 + g.kw);
            const b = r.bias ? values64(g.o, 3) : null;
            const y = values64(g.n * g.o * oh * ow, 4 + oh);
            const k = r.cg * g.kh * g.kw, msg = JSON.stringify(r);
            const limits = { ...cv.convLimits };
            if (r.banded) Object.assign(cv.convLimits, { colsBytes: 64 });
            try {
              const want = cv.conv2dForwardRef(
                x,
                w,
                b,
                g,
                new Float64Array(y.length),
              );
              const got = cv.conv2dForward(x, w, b, g);
              if (b) assertWithin(got, want, bound(k, k + 1), `forward ${msg}`);
              else assertSame(got, want, `forward ${msg}`);
              // in bands, an x element's terms come band by band (not
              // kernel row by kernel row): the same bits only unbanded
              const gotX = cv.conv2dInputAdjoint(y, w, g);
              const wantX = cv.conv2dInputAdjointRef(
                y,
                w,
                g,
                new Float64Array(x.length),
              );
              if (r.banded) {
                assertWithin(
                  gotX,
                  wantX,
                  bound((g.o / g.groups) * g.kh * g.kw),
                  `input adjoint ${msg}`,
                );
              } else assertSame(gotX, wantX, `input adjoint ${msg}`);
              assertWithin(
                cv.conv2dWeightAdjoint(x, y, g, new Float64Array(w.length)),
                cv.conv2dWeightAdjointRef(
                  x,
                  y,
                  g,
                  new Float64Array(w.length),
                ),
                bound(g.n * oh * ow),
                `weight adjoint ${msg}`,
              );
            } finally {
              Object.assign(cv.convLimits, limits);
            }
          },
        ),
        { numRuns: 80 },
      );
    });
    // the direct kernel takes the shapes it applies to (see below)
    assert.deepEqual(
      [...seen].filter((f) => !f.endsWith("DirectF64")).sort(),
      ["convForwardF64", "convInputAdjointF64", "convWeightAdjointF64"],
    );
  });

  Deno.test(`kernels float64 (${variant.name}): the direct convolutions: forward the reference's bits without a bias, within a regrouped sum's bound with one; input gradient its bits; weight gradient within that bound (overlapping tiles, k past KC, NaN, infinities)`, () => {
    const seen = ran(rt, () => {
      fc.assert(
        fc.property(
          fc.record({
            n: fc.integer({ min: 1, max: 3 }),
            cg: fc.integer({ min: 1, max: 13 }),
            og: fc.integer({ min: 6, max: 14 }),
            groups: fc.integer({ min: 1, max: 2 }),
            oh: fc.integer({ min: 1, max: 7 }),
            ow: fc.integer({ min: 2, max: 11 }),
            kh: fc.integer({ min: 1, max: 5 }),
            kw: fc.integer({ min: 1, max: 5 }),
            sh: fc.integer({ min: 1, max: 2 }),
            dh: fc.integer({ min: 1, max: 2 }),
            dw: fc.integer({ min: 1, max: 2 }),
            bias: fc.boolean(),
            special: fc.constantFrom(0, NaN, Infinity, -Infinity),
          }),
          (r) => {
            const g: cv.ConvGeometry = {
              n: r.n,
              c: r.cg * r.groups,
              h: (r.oh - 1) * r.sh + (r.kh - 1) * r.dh + 1 + (r.oh % 2),
              w: r.ow + (r.kw - 1) * r.dw,
              o: r.og * r.groups,
              kh: r.kh,
              kw: r.kw,
              oh: r.oh,
              ow: r.ow,
              sh: r.sh,
              sw: 1,
              pt: 0,
              pl: 0,
              dh: r.dh,
              dw: r.dw,
              groups: r.groups,
            };
            const x = values64(g.n * g.c * g.h * g.w, 1 + g.h);
            if (r.special !== 0) x[(7 * g.w + 3) % x.length] = r.special;
            const w = values64(g.o * r.cg * g.kh * g.kw, 2 + g.kw);
            const b = r.bias ? values64(g.o, 3) : null;
            const k = r.cg * g.kh * g.kw, msg = JSON.stringify(r);
            const want = cv.conv2dForwardRef(
              x,
              w,
              b,
              g,
              new Float64Array(g.n * g.o * g.oh * g.ow),
            );
            const got = cv.conv2dForward(x, w, b, g);
            if (!b) assertSame(got, want, `forward ${msg}`);
            else {
              // NaN and the infinities where the reference has them
              assertSame(
                nonFinite(got),
                nonFinite(want),
                `forward's non-finite values ${msg}`,
              );
              assertWithin(finite(got), finite(want), bound(k, k + 1), msg);
            }
            // the input gradient (direct when ow is even): the reference's
            // bits, NaN and infinities included
            const y = values64(got.length, 4 + g.oh);
            if (r.special !== 0) y[(5 * g.ow + 1) % y.length] = r.special;
            assertSame(
              cv.conv2dInputAdjoint(y, w, g),
              cv.conv2dInputAdjointRef(y, w, g, new Float64Array(x.length)),
              `input adjoint ${msg}`,
            );
            // the weight gradient (direct when ow is even): a regrouped sum
            const gotW = cv.conv2dWeightAdjoint(
              x,
              y,
              g,
              new Float64Array(w.length),
            );
            const wantW = cv.conv2dWeightAdjointRef(
              x,
              y,
              g,
              new Float64Array(w.length),
            );
            assertSame(
              nonFinite(gotW),
              nonFinite(wantW),
              `weight adjoint's non-finite values ${msg}`,
            );
            assertWithin(
              finite(gotW),
              finite(wantW),
              bound(g.n * g.oh * g.ow),
              `weight adjoint ${msg}`,
            );
          },
        ),
        { numRuns: 100 },
      );
    });
    assert.deepEqual(
      [...seen].sort(),
      [
        "convDirectF64",
        "convInputAdjointF64",
        "convInputDirectF64",
        "convWeightAdjointF64",
        "convWeightDirectF64",
      ],
    );
  });

  Deno.test(`kernels float64 (${variant.name}): 2x2 stride-2 max pooling and its VJP are the reference's bits (ties, NaN, -0, odd sizes)`, () => {
    const seen = ran(rt, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 23 }),
          fc.integer({ min: 2, max: 23 }),
          fc.integer({ min: 0, max: 3 }),
          fc.array(
            fc.constantFrom(-1, -0, 0, 0.5, 2, NaN, -Infinity, Infinity),
            { minLength: 1, maxLength: 40 },
          ),
          fc.integer({ min: 0, max: 1000 }),
          (h, w, extra, specials, seed) => {
            const oh = h >> 1, ow = w >> 1;
            // at least WASM_MIN_OUTPUTS (256) windows: WebAssembly's size
            const planes = Math.ceil(256 / (oh * ow)) + extra;
            const g: pk.PoolGeometry = { planes, h, w, oh, ow, ...POOL_2X2 };
            // random values, and every third a special value: ties between
            // them (equal values, -0 and 0) and NaN in most windows
            const x = values64(planes * h * w, seed);
            for (let i = seed % 3; i < x.length; i += 3) {
              x[i] = specials[(i * 7) % specials.length];
            }
            const msg = `${planes}x${h}x${w}`;
            const want = pk.maxPoolArgmaxRef(x, g);
            const values = pk.poolGather(
              x,
              want,
              g,
              new Float64Array(want.length),
              -Infinity,
            );
            assertSame(pk.maxPoolForward(x, g), values, `values ${msg}`);
            // the argmax the forward pass kept, and one computed alone
            assertSame(pk.maxPoolArgmax(x, g), want, `argmax ${msg}`);
            assertSame(pk.maxPoolArgmax(x.slice(), g), want, `alone ${msg}`);
            // the VJP (in TypeScript, see maxPoolScatter): g to each
            // window's argmax, summed into zeros (-0 comes out as 0)
            const gr = values64(want.length, seed + 1);
            for (let i = 0; i < gr.length; i += 5) {
              gr[i] = specials[i % specials.length];
            }
            assertSame(
              pk.maxPoolScatter(gr, want, g),
              pk.poolScatter(gr, want, g, new Float64Array(x.length)),
              `scatter ${msg}`,
            );
          },
        ),
        { numRuns: 120 },
      );
    });
    // the VJP stays in TypeScript (see maxPoolScatter)
    assert.deepEqual([...seen], ["maxPool2x2F64"]);
  });

  Deno.test(`kernels float64 (${variant.name}): relu and its mask are Math.max's and the ternary's bits (NaN, -0, infinities, subnormals)`, () => {
    const specials = [NaN, -0, 0, Infinity, -Infinity, 5e-324, -5e-324, 1];
    const seen = ran(rt, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: ew.WASM_MIN_ELEMENTS, max: 3 * 4096 + 3 }),
          fc.integer({ min: 0, max: 1000 }),
          (n, seed) => {
            const x = values64(n, seed), g = values64(n, seed + 1);
            // specials at both ends (the vector loop and the scalar tail)
            specials.forEach((v, i) => {
              x[i] = x[n - 1 - i] = v;
              g[(i * 3) % 8] = g[n - 1 - ((i * 5) % 8)] = v;
            });
            assertSame(
              ew.relu(x),
              Float64Array.from(x, (v) => Math.max(v, 0)),
              `relu ${n}`,
            );
            assertSame(
              ew.reluMask(g, x),
              Float64Array.from(x, (v, i) => v <= 0 ? 0 : g[i]),
              `mask ${n}`,
            );
          },
        ),
        { numRuns: 40 },
      );
    });
    // the mask stays in TypeScript (see reluMask)
    assert.deepEqual([...seen], ["reluF64"]);
  });
}

Deno.test({
  name:
    "kernels float64: two threads give the single-thread bits (GEMM split by columns, convolutions by images, weight gradients in fixed image ranges, pooling by planes, relu by ranges)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn() {
    const one = new WasmRuntime(), two = new WasmRuntime();
    one.setThreads(1);
    two.setThreads(2);
    assert.ok(two.waitReady(), "the worker did not start");
    const g: cv.ConvGeometry = {
      n: 16,
      c: 6,
      h: 14,
      w: 14,
      o: 16,
      kh: 5,
      kw: 5,
      oh: 12,
      ow: 12,
      sh: 1,
      sw: 1,
      pt: 1,
      pl: 1,
      dh: 1,
      dw: 1,
      groups: 1,
    };
    const x = values64(g.n * g.c * g.h * g.w, 1);
    const w = values64(g.o * g.c * g.kh * g.kw, 2);
    const b = values64(g.o, 3);
    const y = values64(g.n * g.o * g.oh * g.ow, 4);
    const gd = { ...g, pt: 0, pl: 0, oh: 10, ow: 10 };
    const yd = values64(g.n * g.o * gd.oh * gd.ow, 9);
    const [m, k, n] = [90, 300, 130]; // 3.5M multiply-adds: split
    const a = values64(m * k, 5), c = values64(k * n, 6);
    // pooling split into plane ranges (2^16 outputs and more), relu into
    // element ranges (an odd length: a scalar tail)
    const gp: pk.PoolGeometry = {
      planes: 64 * 6,
      h: 28,
      w: 29,
      oh: 14,
      ow: 14,
      ...POOL_2X2,
    };
    const xp = values64(gp.planes * gp.h * gp.w, 7);
    const big = values64(200003, 8);
    const results = [one, two].map((rt) => {
      const out: Float64Array[] = [];
      const seen = ran(rt, () => {
        out.push(
          pk.maxPoolForward(xp, gp) as Float64Array,
          ew.relu(big) as Float64Array,
          mm.matmul(a, c, null, 1, m, k, n, 0, 0) as Float64Array,
          cv.conv2dForward(x, w, b, g) as Float64Array,
          cv.conv2dInputAdjoint(y, w, g) as Float64Array,
          cv.conv2dWeightAdjoint(
            x,
            y,
            g,
            new Float64Array(w.length),
          ) as Float64Array,
          // no padding: the direct kernels
          cv.conv2dForward(x, w, b, gd) as Float64Array,
          cv.conv2dInputAdjoint(yd, w, gd) as Float64Array,
          cv.conv2dWeightAdjoint(
            x,
            yd,
            gd,
            new Float64Array(w.length),
          ) as Float64Array,
        );
      });
      assert.ok(seen.has("gemmF64") && seen.has("convWeightAdjointF64"));
      assert.ok(seen.has("convDirectF64") && seen.has("convWeightDirectF64"));
      assert.ok(seen.has("convInputDirectF64"));
      assert.ok(seen.has("maxPool2x2F64") && seen.has("reluF64"));
      return out;
    });
    results[0].forEach((r, i) => assertSame(results[1][i], r, `result ${i}`));
    // and they are the reference's (pooling, relu: its bits)
    assertSame(
      results[0][0],
      pk.poolGather(
        xp,
        pk.maxPoolArgmaxRef(xp, gp),
        gp,
        new Float64Array(results[0][0].length),
      ),
      "max pooling",
    );
    assertSame(
      results[0][1],
      Float64Array.from(big, (v) => Math.max(v, 0)),
      "relu",
    );
    const [, , mmOut, , , wOut] = results[0];
    assertWithin(
      mmOut,
      mm.matmulRef(a, c, new Float64Array(m * n), 1, m, k, n, 0, 0),
      bound(k),
      "matmul",
    );
    assertWithin(
      wOut,
      cv.conv2dWeightAdjointRef(x, y, g, new Float64Array(w.length)),
      bound(g.n * g.oh * g.ow),
      "weight adjoint",
    );
  },
});

Deno.test("kernels float64: mixed float32/float64 and small products stay in the TypeScript loops", () => {
  const rt = new WasmRuntime();
  const [m, k, n] = [20, 30, 40];
  const a64 = values64(m * k, 1), c64 = values64(k * n, 2);
  const a32 = new Float32Array(a64);
  const seen = ran(rt, () => {
    // mixed: float64 accumulation of the float32 values, in TypeScript
    const mixed = mm.matmul(a32, c64, null, 1, m, k, n, 0, 0);
    assertSame(
      mixed,
      mm.matmulRef(a32, c64, new Float64Array(m * n), 1, m, k, n, 0, 0),
      "mixed",
    );
    // small: under minMacs
    rt.minMacs = 1e9;
    const small = mm.matmul(a64, c64, null, 1, m, k, n, 0, 0);
    assertSame(
      small,
      mm.matmulRef(a64, c64, new Float64Array(m * n), 1, m, k, n, 0, 0),
      "small",
    );
  });
  assert.equal(seen.size, 0);
});

Deno.test("kernels float64: the 2x2 stride-2 argmax loop is the reference's (ties, NaN, odd sizes), and max pooling keeps it for the backward pass", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 2, max: 9 }),
      fc.integer({ min: 2, max: 9 }),
      fc.array(fc.constantFrom(-1, 0, 0.5, 2, NaN, -Infinity), {
        minLength: 1,
        maxLength: 300,
      }),
      (planes, h, w, pool) => {
        const oh = Math.floor(h / 2), ow = Math.floor(w / 2);
        const one = { kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1 };
        const g: pk.PoolGeometry = { planes, h, w, oh, ow, ...one };
        // few distinct values: ties and NaN in most windows
        const x = Float64Array.from(
          { length: planes * h * w },
          (_, i) => pool[(i * 7) % pool.length],
        );
        const want = pk.maxPoolArgmaxRef(x, g);
        assertSame(pk.argmax2x2(x, g), want, `${planes}x${h}x${w}`);
        const y = pk.maxPoolForward(x, g);
        assertSame(
          y,
          pk.poolGather(x, want, g, new Float64Array(want.length), -Infinity),
          "values",
        );
        assert.equal(pk.maxPoolArgmax(x, g), pk.maxPoolArgmax(x, g));
      },
    ),
    { numRuns: 200 },
  );
});
