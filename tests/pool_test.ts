/**
 * maxPool2d, avgPool2d and adaptiveAvgPool2d (ops/pool.ts): maxPool2d and
 * avgPool2d against naive loops of PyTorch's definitions (fast-check),
 * argument errors, and forward values and gradients by hand (ceilMode, the
 * border divisors, ties, windows of only padding, the float32 kernel). Also
 * covering them: the gradient table (grad_table_test.ts, rows in
 * _cnn_table.ts), the PyTorch fixtures (cnn_fixtures_test.ts), the kernels
 * (kernels_test.ts, kernel_geometry_test.ts) and the tutorials' numbers
 * (seeds_test.ts); the index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import {
  asPair,
  assertAllClose,
  int,
  pairOf,
  tight,
  unlessRejected,
} from "./_helpers.ts";
import { drawValues } from "./_op_table.ts";

const f64 = { dtype: "float64" } as const;
const rnd = (shape: number[], seed: number) => drawValues(shape, "real", seed);

// ---------------------------------------------------------------------------
// naive references (direct loops over PyTorch's definitions)

/** PyTorch's pooling output length (ceil mode: the last window must start inside the input or left padding). */
function poolLength(
  size: number,
  k: number,
  s: number,
  p: number,
  d: number,
  ceil: boolean,
): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

type PoolOpts = {
  kernelSize: number | [number, number];
  stride: null | number | [number, number];
  padding: number | [number, number];
  dilation?: number | [number, number];
  ceilMode: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
};

/** max_pool2d / avg_pool2d by PyTorch's definitions, on [N, C, H, W]. */
function naivePool(
  kind: "max" | "avg",
  x: Tensor,
  o: PoolOpts,
): { shape: number[]; data: number[] } {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = asPair(o.kernelSize);
  const [sh, sw] = o.stride === null ? [kh, kw] : asPair(o.stride);
  const [ph, pw] = asPair(o.padding);
  const [dh, dw] = asPair(o.dilation ?? 1);
  const oh = poolLength(h, kh, sh, ph, dh, o.ceilMode);
  const ow = poolLength(w, kw, sw, pw, dw, o.ceilMode);
  const out: number[] = [];
  for (let pl = 0; pl < n * c; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const y0 = i * sh - ph, x0 = j * sw - pw;
        if (kind === "max") {
          let m = -Infinity;
          for (let a = 0; a < kh; a++) {
            for (let bb = 0; bb < kw; bb++) {
              const y = y0 + a * dh, xx = x0 + bb * dw;
              if (y >= 0 && y < h && xx >= 0 && xx < w) {
                m = Math.max(m, x.data[pl * h * w + y * w + xx]);
              }
            }
          }
          out.push(m);
        } else {
          // PyTorch: the window is clipped to the padded input for the
          // countIncludePad divisor, and to the input for the sum
          const y1 = Math.min(y0 + kh, h + ph), x1 = Math.min(x0 + kw, w + pw);
          const padded = (y1 - y0) * (x1 - x0);
          let s = 0, cnt = 0;
          for (let y = Math.max(y0, 0); y < Math.min(y1, h); y++) {
            for (let xx = Math.max(x0, 0); xx < Math.min(x1, w); xx++) {
              s += x.data[pl * h * w + y * w + xx];
              cnt++;
            }
          }
          const div = o.divisorOverride ??
            ((o.countIncludePad ?? true) ? padded : cnt);
          out.push(s / div);
        }
      }
    }
  }
  return { shape: [n, c, oh, ow], data: out };
}

// ---------------------------------------------------------------------------
// against the naive loops

const poolCase = fc.record({
  n: int(1, 2),
  c: int(1, 2),
  h: int(1, 6),
  w: int(1, 6),
  kernelSize: pairOf(1, 3),
  stride: fc.oneof(fc.constant(null), pairOf(1, 3)),
  padding: pairOf(0, 1),
  dilation: pairOf(1, 3),
  ceilMode: fc.boolean(),
  countIncludePad: fc.boolean(),
  divisorOverride: fc.oneof(fc.constant(null), int(1, 5)),
  seed: fc.nat(1e6),
});

Deno.test("maxPool2d matches a naive loop (-inf padding, dilation, ceilMode)", () => {
  fc.assert(
    fc.property(poolCase, (d) => {
      const o = {
        kernelSize: d.kernelSize,
        stride: d.stride,
        padding: d.padding,
        dilation: d.dilation,
        ceilMode: d.ceilMode,
      } as PoolOpts;
      const x = rnd([d.n, d.c, d.h, d.w], d.seed);
      const y = unlessRejected(
        "maxPool2d",
        () => T.maxPool2d(x, o as T.MaxPool2dOptions),
      );
      fc.pre(y !== undefined); // a draw the op rejects is skipped, not passed
      // a window of only padding gives -inf in both (PyTorch's value)
      const ref = naivePool("max", x, o);
      assert.deepEqual(y.shape, ref.shape);
      assertAllClose(y, ref.data, tight);
    }),
    { numRuns: 150 },
  );
});

Deno.test("avgPool2d matches a naive loop (countIncludePad, divisorOverride, ceilMode)", () => {
  fc.assert(
    fc.property(poolCase, (d) => {
      const o = {
        kernelSize: d.kernelSize,
        stride: d.stride,
        padding: d.padding,
        ceilMode: d.ceilMode,
        countIncludePad: d.countIncludePad,
        divisorOverride: d.divisorOverride,
      } as PoolOpts;
      const x = rnd([d.n, d.c, d.h, d.w], d.seed);
      const y = unlessRejected(
        "avgPool2d",
        () => T.avgPool2d(x, o as T.AvgPool2dOptions),
      );
      fc.pre(y !== undefined); // a draw the op rejects is skipped, not passed
      const ref = naivePool("avg", x, o);
      assert.deepEqual(y.shape, ref.shape);
      assertAllClose(y, ref.data, tight);
    }),
    { numRuns: 150 },
  );
});

// ---------------------------------------------------------------------------
// errors

Deno.test("errors: pooling arguments", () => {
  const x = T.zeros([1, 1, 4, 4]);
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 2, padding: 2 }),
    /maxPool2d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 \(padding \[2,2\], kernelSize \[2,2\]\)/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: 3, padding: [0, 2] }),
    /avgPool2d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=3/,
  );
  assert.throws(
    () => T.maxPool2d(x, {} as T.MaxPool2dOptions),
    /^Error: maxPool2d: options\.kernelSize is required$/,
  );
  assert.throws(
    () => (T.maxPool2d as (x: Tensor) => Tensor)(x),
    /maxPool2d: options\.kernelSize is required/,
  );
  assert.throws(
    () => T.avgPool2d(x, {} as T.AvgPool2dOptions),
    /avgPool2d: options\.kernelSize is required/,
  );
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 5 }),
    /maxPool2d: output size would be 0x0 \(< 1\) for x \[1,1,4,4\] with kernelSize \[5,5\]/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: 2, divisorOverride: 0 }),
    /avgPool2d: divisorOverride must be a non-zero integer, got 0/,
  );
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 2, kernel_size: 2 } as never),
    /maxPool2d: unknown option "kernel_size"/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: 2, dilation: 2 } as never),
    /avgPool2d: unknown option "dilation"/,
  );
  assert.throws(
    () => T.adaptiveAvgPool2d(x, 0),
    /adaptiveAvgPool2d: outputSize must be an integer >= 1/,
  );
  // an empty window has no average (it was a silent 0; PyTorch refuses it)
  assert.throws(
    () => T.adaptiveAvgPool2d(T.zeros([1, 2, 4, 0]), 2),
    /^Error: adaptiveAvgPool2d: x's height and width must be >= 1, got x \[1,2,4,0\]$/,
  );
  assert.throws(
    () => T.lpPool2d(x, { kernelSize: 2 } as never),
    /^Error: lpPool2d: options.normType is required$/,
  );
  for (const p of [0, Infinity, NaN, "2"]) {
    assert.throws(
      () => T.lpPool2d(x, { normType: p as number, kernelSize: 2 }),
      /^Error: lpPool2d: normType must be a finite nonzero number, got /,
    );
  }
  assert.throws(
    () => T.lpPool2d(x, { normType: 2, kernelSize: 2, padding: 1 } as never),
    /^Error: lpPool2d: unknown option "padding"/,
  );
  assert.throws(
    () => T.lpPool2d(x, { normType: 2, kernelSize: 5 }),
    /^Error: lpPool2d: output size would be 0x0 \(< 1\) for x \[1,1,4,4\] with kernelSize \[5,5\]/,
  );
  assert.throws(
    () => T.nn.lpPool2d({ normType: 2, kernelSize: [2, 0] }),
    /^Error: nn.lpPool2d: kernelSize must be an integer >= 1 or a pair \[h, w\] of them, got \[2,0\]$/,
  );
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 0 }),
    /maxPool2d: kernelSize must be an integer >= 1 or a pair \[h, w\] of them, got 0/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: [2, 0] }),
    /avgPool2d: kernelSize must be an integer >= 1 or a pair \[h, w\] of them, got \[2,0\]/,
  );
});

// ---------------------------------------------------------------------------
// forward values by hand

Deno.test("maxPool2d ceilMode: a partial last window is kept, one starting in the right padding is dropped", () => {
  const x = T.tensor([[[[1, 2, 3, 4, 5]]]], f64);
  // size 5, k 2, s 2: floor -> 2 windows, ceil -> 3 (the last covers [4, 5) plus outside)
  assert.deepEqual(T.toArray(T.maxPool2d(x, { kernelSize: [1, 2] })), [[[[
    2,
    4,
  ]]]]);
  assert.deepEqual(
    T.toArray(T.maxPool2d(x, { kernelSize: [1, 2], ceilMode: true })),
    [[[[2, 4, 5]]]],
  );
  // padding 1: ceil((5 + 2 - 2) / 2) + 1 = 4, but the 4th window would start at
  // padded position 6 = the right padding, so PyTorch drops it: 3 windows
  const o = { kernelSize: [1, 2], padding: [0, 1], ceilMode: true } as const;
  assert.equal(
    T.conv2dOutputSize(5, 2, { stride: 2, padding: 1, ceilMode: true }),
    3,
  );
  assert.deepEqual(T.toArray(T.maxPool2d(x, o)), [[[[1, 3, 5]]]]);
  // and the same rule for avgPool2d, whose partial windows divide by their size inside the padded input
  assert.deepEqual(T.toArray(T.avgPool2d(x, o)), [[[[0.5, 2.5, 4.5]]]]);
  assert.deepEqual(
    T.toArray(T.avgPool2d(x, { kernelSize: [1, 2], ceilMode: true })),
    [[[[1.5, 3.5, 5]]]],
  );
});

Deno.test("avgPool2d at the border: countIncludePad true vs false, divisorOverride", () => {
  const x = T.tensor([[[[1, 2], [3, 4]]]], f64);
  const o = { kernelSize: 2, stride: 1, padding: 1 };
  assert.deepEqual(T.toArray(T.avgPool2d(x, o)), [[[
    [0.25, 0.75, 0.5],
    [1, 2.5, 1.5],
    [0.75, 1.75, 1],
  ]]]);
  assert.deepEqual(
    T.toArray(T.avgPool2d(x, { ...o, countIncludePad: false })),
    [[[
      [1, 1.5, 2],
      [2, 2.5, 3],
      [3, 3.5, 4],
    ]]],
  );
  assertAllClose(T.avgPool2d(x, { ...o, divisorOverride: 3 }), [
    1 / 3,
    1,
    2 / 3,
    4 / 3,
    10 / 3,
    2,
    1,
    7 / 3,
    4 / 3,
  ], tight);
});

Deno.test("maxPool2d with ties: the gradient goes to the FIRST maximum in row-major order", () => {
  const x = T.tensor([[[[1, 3], [3, 0]]]], f64);
  const f = (x: Tensor) => T.sum(T.maxPool2d(x, { kernelSize: 2 }));
  assert.equal(T.item(f(x)), 3);
  assert.deepEqual(T.toArray(T.grad(f)(x)), [[[[0, 1], [0, 0]]]]);
  // JVP reads the tangent at the same position
  const [, t] = T.jvp(f, [x], [T.tensor([[[[10, 20], [30, 40]]]], f64)]);
  assert.equal(T.item(t), 20);
  // a 2x3 plane with overlapping windows (stride 1) and an all-equal window
  const y = T.tensor([[[[5, 5, 1], [5, 5, 5]]]], f64);
  const g = T.grad((y: Tensor) =>
    T.sum(T.maxPool2d(y, { kernelSize: 2, stride: 1 }))
  )(y);
  // window (0,0) -> (0,0); window (0,1) -> (0,1)
  assert.deepEqual(T.toArray(g), [[[[1, 1, 0], [0, 0, 0]]]]);
  // -inf padding never wins, even against negative values
  const z = T.tensor([[[[-3, -1]]]], f64);
  const gz = T.grad((z: Tensor) =>
    T.sum(T.maxPool2d(z, { kernelSize: [1, 2], padding: [0, 1], stride: 1 }))
  )(z);
  // windows: [pad, -3] -> -3, [-3, -1] -> -1, [-1, pad] -> -1
  assert.deepEqual(
    T.toArray(
      T.maxPool2d(z, { kernelSize: [1, 2], padding: [0, 1], stride: 1 }),
    ),
    [[[[-3, -1, -1]]]],
  );
  assert.deepEqual(T.toArray(gz), [[[[1, 2]]]]);
});

Deno.test({
  name: "maxPool2d: a window made only of padding gives -inf and no gradient",
  fn() {
    // H = 1, kernel 2, padding 1, dilation 2: the only window's taps are
    // rows -1 and 1, both outside the input; PyTorch's -inf padding gives -inf
    const x = T.tensor([5, 7], { shape: [1, 2, 1, 1], dtype: "float64" });
    const o = {
      kernelSize: [2, 1],
      padding: [1, 0],
      dilation: [2, 1],
    } as const;
    assert.deepEqual(Array.from(T.maxPool2d(x, o).data), [
      -Infinity,
      -Infinity,
    ]);
    assert.deepEqual(
      Array.from(T.grad((x: Tensor) => T.sum(T.maxPool2d(x, o)))(x).data),
      [0, 0],
    );
  },
});

Deno.test("maxPool2d float32: a plain forward (no argmax kept) and the gradient, in either order", () => {
  // large enough for the WebAssembly kernel; ties route to the first maximum
  const ints = Array.from({ length: 6912 }, (_, i) => ((i * 7919) % 11) - 5);
  const x = T.reshape(T.tensor(ints, { dtype: "float32" }), [4, 3, 24, 24]);
  const f = (a: Tensor) => T.sum(T.maxPool2d(a, { kernelSize: 2 }));
  // reference: 1 at each window's first maximum (row-major), from the values
  const want = new Float32Array(x.data.length);
  for (let pl = 0; pl < 12; pl++) {
    for (let oy = 0; oy < 12; oy++) {
      for (let ox = 0; ox < 12; ox++) {
        let best = -1;
        for (const [i, j] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const at = pl * 576 + (2 * oy + i) * 24 + 2 * ox + j;
          if (best < 0 || x.data[at] > x.data[best]) best = at;
        }
        want[best] = 1;
      }
    }
  }
  T.maxPool2d(x, { kernelSize: 2 }); // inference first: nothing kept
  assert.deepEqual(T.grad(f)(x).data, want);
  const x2 = T.add(x, 0); // a new array: gradient first, then inference
  assert.deepEqual(T.grad(f)(x2).data, want);
  assert.deepEqual(
    T.maxPool2d(x2, { kernelSize: 2 }).data,
    T.maxPool2d(x, { kernelSize: 2 }).data,
  );
});

Deno.test("maxPool2dWithIndices and maxUnpool2d: PyTorch's indices, the maxima put back, the later of two writes kept, the true gradient, errors", () => {
  const f64 = { dtype: "float64" as const };
  const x = T.random.normal(T.random.key(4), [2, 3, 6, 7], f64);
  const o = { kernelSize: 2 };
  const { values, indices } = T.maxPool2dWithIndices(x, o);
  assert.deepEqual(values.data, T.maxPool2d(x, o).data);
  // each index names its window's maximum within the 6x7 plane
  const flat = T.reshape(x, [2, 3, 42]);
  assert.deepEqual(
    T.takeAlongAxis(flat, T.reshape(indices, [2, 3, 9]), { axis: 2 }).data,
    T.reshape(values, [2, 3, 9]).data,
  );
  // unpooling puts each maximum back and zeros elsewhere (the floor dropped
  // the last column: outputSize restores it)
  const up = T.maxUnpool2d(values, indices, { ...o, outputSize: [6, 7] });
  const kept = T.where(T.equal(up, 0), 0, x);
  assert.deepEqual(up.data, kept.data);
  assert.equal(T.item(T.sum(T.notEqual(up, 0))), 2 * 3 * 9);
  // two writes to one position: the later stays, and only it gets the gradient
  const v = T.tensor([[[[1, 2]]]], f64),
    same = T.tensor([[[[2, 2]]]], { dtype: "int32" });
  const u = (t: T.Tensor) =>
    T.maxUnpool2d(t, same, { kernelSize: [1, 2], stride: 1 });
  assert.deepEqual(T.toArray(u(v)), [[[[0, 0, 2]]]]);
  assert.deepEqual(T.toArray(T.grad((t: T.Tensor) => T.sum(u(t)))(v)), [[[[
    0,
    1,
  ]]]]);
  T.checkGrads(
    (t: T.Tensor) => T.maxUnpool2d(t, indices, { ...o, outputSize: [6, 7] }),
    [values],
    { order: 2 },
  );
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.maxUnpool2d(values, T.add(indices, 40), o),
      /^maxUnpool2d: indices must be in \[0, 36\) \(an output plane of 6x6\), got \d+ at flat index/,
    ],
    [
      () => T.maxUnpool2d(values, T.astype(indices, "float32"), o),
      /^maxUnpool2d: indices must be int32 \(from maxPool2dWithIndices\), got float32/,
    ],
    [
      () => T.maxUnpool2d(values, T.zeros([2, 3, 3, 2], { dtype: "int32" }), o),
      /^maxUnpool2d: indices \[2,3,3,2\] must have x's shape \[2,3,3,3\]$/,
    ],
    [
      () => T.maxUnpool2d(values, indices, { ...o, outputSize: [8, 7] }),
      /^maxUnpool2d: outputSize must be \[H, W\] within a stride of the default \[6,6\] \(stride \[2,2\]\), got/,
    ],
    [
      () => T.maxPool2dWithIndices(x, { kernelSize: 9 }),
      /^maxPool2dWithIndices: output size would be/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e) => {
      assert.ok(e instanceof Error && e.constructor === Error, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("lpPool2d: p 1 sums each window, a large p tends to the maximum, p 2 is the windows' norms", () => {
  const x = T.random.uniform(T.random.key(3), [2, 3, 7, 6], {
    minval: 0.5,
    maxval: 2,
    dtype: "float64",
  });
  const o = {
    kernelSize: [3, 2] as [number, number],
    stride: [2, 1] as [number, number],
    ceilMode: true,
  };
  // sum pooling: avgPool2d (padding counted, none here) times the window
  assertAllClose(
    T.lpPool2d(x, { normType: 1, ...o }),
    T.mul(T.avgPool2d(x, o), 6),
    { atol: 1e-14, rtol: 1e-14 },
  );
  // (Σ x^64)^(1/64) is within a factor 6^(1/64) of the maximum
  const big = T.lpPool2d(x, { normType: 64, kernelSize: 2 });
  const max = T.maxPool2d(x, { kernelSize: 2 });
  const r = T.div(big, max).data as Float64Array;
  assert.ok(r.every((v) => v >= 1 && v <= 4 ** (1 / 64) + 1e-12));
  // p 2: each window's Euclidean norm, the window read by unfold
  const cols = T.unfold(x, { kernelSize: 2, stride: 2 }); // [N, C·4, L]
  const norms = T.sqrt(
    T.sum(T.square(T.reshape(cols, [2, 3, 4, 9])), { axis: 2 }),
  );
  assertAllClose(
    T.reshape(T.lpPool2d(x, { normType: 2, kernelSize: 2 }), [2, 3, 9]),
    norms,
    { atol: 1e-14, rtol: 1e-14 },
  );
});

Deno.test("adaptive average pooling: an infinite entry stays in its own windows (a product with an averaging matrix spread NaN to every window)", () => {
  const x = T.random.normal(T.random.key(2), [1, 2, 4, 6], {
    dtype: "float64",
  });
  const data = Float64Array.from(x.data);
  data[8] = Infinity; // channel 0, row 1, column 2
  data[24 + 23] = -Infinity; // channel 1, row 3, column 5
  const xi = T.tensor(data, { shape: [1, 2, 4, 6], dtype: "float64" });
  const y = T.adaptiveAvgPool2d(xi, [2, 3]).data;
  // PyTorch's windows: rows [0, 2) and [2, 4); columns [0, 2), [2, 4), [4, 6)
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let r = 2 * i; r < 2 * i + 2; r++) {
          for (let q = 2 * j; q < 2 * j + 2; q++) s += data[c * 24 + r * 6 + q];
        }
        const got = y[c * 6 + i * 3 + j];
        if (Number.isFinite(s / 4)) assert.ok(Math.abs(got - s / 4) < 1e-14);
        else assert.equal(got, s / 4);
      }
    }
  }
  assert.equal(y[1], Infinity);
  assert.equal(y[6 + 5], -Infinity);
  assert.equal([...y].filter((v) => !Number.isFinite(v)).length, 2);
});

Deno.test("maxPool2d: second derivatives of a function linear in its windows' maxima are zero (forward mode over the pooling's gradient), in hessian, jacfwd(jacrev) and under jit", () => {
  const x = T.reshape(
    T.arange(16, undefined, undefined, { dtype: "float64" }),
    [
      1,
      1,
      4,
      4,
    ],
  );
  const f = (v: T.Tensor) => T.sum(T.maxPool2d(v, { kernelSize: 2 }));
  const zero = T.zeros([1, 1, 4, 4, 1, 1, 4, 4], { dtype: "float64" });
  for (const h of [T.hessian(f), T.jacfwd(T.jacrev(f)), T.jit(T.hessian(f))]) {
    assert.deepEqual(T.toArray(h(x) as T.Tensor), T.toArray(zero));
  }
  // with curvature: d²/dx² of sum(max²) is 2 at each window's max
  const h2 = T.hessian((v: T.Tensor) =>
    T.sum(T.square(T.maxPool2d(v, { kernelSize: 2 })))
  )(x) as T.Tensor;
  const diag = Array.from({ length: 16 }, (_, i) => h2.data[i * 16 + i]);
  assert.deepEqual(diag, [0, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0, 0, 2, 0, 2]);
});
