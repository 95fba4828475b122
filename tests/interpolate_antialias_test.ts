/**
 * interpolate's `antialias` option ("bilinear" and "bicubic", as
 * `torch.nn.functional.interpolate(..., antialias=True)`): outputs and input
 * gradients against PyTorch 1.13 (`fixtures/interpolate_antialias.json`,
 * written by `fixtures/gen_interpolate_antialias.py`), a closed form, where
 * it differs from the plain modes, gradients to order 2, vmap and jit, and
 * the errors. Its gradient-table rows: `interpolate (bilinear, NCHW,
 * antialias)` and `interpolate (bicubic, NCHW, antialias)` in
 * `_conv1d_table.ts`.
 *
 * The fixture holds each case twice: "portable" is PyTorch's scalar build
 * of its kernel (ATEN_CPU_CAPABILITY=default), whose outputs interpolate
 * matches bit for bit in float32 and float64; "native" (float32) is what
 * PyTorch ran on the generating machine (AVX2, whose fused multiply-adds
 * change the last bits), matched to rounding.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";
import fixture from "./fixtures/interpolate_antialias.json" with {
  type: "json",
};

type J = { shape: number[]; dtype: string; data: number[] };
type Result = { output: J; grad: J };
type Case = {
  name: string;
  shape: number[];
  options: T.InterpolateOptions;
  input: J;
  cotangent: J;
  portable: { float32: Result; float64: Result };
  native: { float32: Result };
};
type Plain = {
  name: string;
  options: T.InterpolateOptions;
  withoutAntialias: { float32: Result; float64: Result };
};

const cases = fixture.cases as unknown as Case[];
const plain = fixture.plain as unknown as Plain[];
const DTYPES = ["float32", "float64"] as const;

/** A fixture tensor in `dtype` (float64 data rounded to float32 for float32, as the generator's `.to`). */
const load = (t: J, dtype: T.DType = t.dtype as T.DType) =>
  T.tensor(t.data, { shape: t.shape, dtype });

/** interpolate's output and d sum(output · cotangent) / dx. */
function run(
  c: { input: J; cotangent: J },
  o: T.InterpolateOptions,
  dtype: T.DType,
) {
  const x = load(c.input, dtype), g = load(c.cotangent, dtype);
  const [y, back] = T.vjp((x: Tensor) => T.interpolate(x, o), x);
  return { y, gx: back(g)[0] };
}

/** Largest |v| of a fixture tensor (the scale of its rounding errors). */
const maxAbs = (t: J) => Math.max(1, ...t.data.map(Math.abs));

Deno.test("the antialias fixture covers what it should", () => {
  assert.equal(fixture.torch, "1.13.0a0");
  assert.equal(cases.length, 64);
  const seen = new Set(
    cases.map((c) => `${c.options.mode} ${c.options.alignCorners}`),
  );
  assert.equal(seen.size, 4); // both modes, alignCorners false and true
  assert.ok(cases.some((c) => c.options.scaleFactor !== undefined));
  assert.ok(cases.some((c) => c.options.recomputeScaleFactor));
  // downscales, upscales and a same-size axis resampled by a scaleFactor
  const grows = (c: Case) =>
    c.portable.float64.output.shape.slice(2).some((o, i) => o > c.shape[2 + i]);
  assert.ok(cases.filter(grows).length >= 16);
  assert.equal(plain.length, cases.filter(grows).length);
});

for (const c of cases) {
  for (const dtype of DTYPES) {
    Deno.test(`PyTorch: interpolate antialias ${c.name} (${dtype})`, () => {
      const { y, gx } = run(c, c.options, dtype);
      const want = c.portable[dtype];
      // the forward: PyTorch's bits (its weights, sums in its order)
      sameBits(y, load(want.output), "output");
      // the gradient: PyTorch's backward scatters w_x·w_y·g per output
      // pixel, this one transposes the two passes: the same to rounding
      const eps = dtype === "float32" ? 2e-6 : 1e-14;
      const scale = maxAbs(want.grad) * maxAbs(c.cotangent);
      assertAllClose(gx, load(want.grad), {
        atol: eps * scale,
        rtol: 0,
        msg: "grad",
      });
      if (dtype === "float32") {
        // PyTorch as it ran (AVX2 and FMA): to rounding
        const native = c.native.float32;
        assertAllClose(y, load(native.output), {
          atol: 2e-6 * maxAbs(native.output),
          rtol: 0,
          msg: "native output",
        });
        assertAllClose(gx, load(native.grad), {
          atol: 2e-6 * scale,
          rtol: 0,
          msg: "native grad",
        });
      }
    });
  }
}

Deno.test("PyTorch: antialiased upsampling is not the plain mode (its window, a = -0.5, cut borders) but for bilinear without alignCorners, and each matches PyTorch's", () => {
  for (const p of plain) {
    const c = cases.find((c) => c.name === p.name)!;
    const { antialias: _, ...plainOptions } = p.options;
    const outShape = c.portable.float64.output.shape;
    const onlyUp = c.shape.slice(2).every((n, i) => outShape[2 + i] >= n);
    // (the same triangle at the same source positions, cut where plain
    // bilinear clamps: only the rounding differs)
    const same = onlyUp && p.options.mode === "bilinear" &&
      !p.options.alignCorners;
    for (const dtype of DTYPES) {
      const { y, gx } = run(c, plainOptions, dtype);
      const want = p.withoutAntialias[dtype];
      const tol = dtype === "float32" ? 1e-5 : 1e-12;
      const msg = `${p.name} (${dtype})`;
      assertAllClose(y, load(want.output), { atol: tol, rtol: tol, msg });
      assertAllClose(gx, load(want.grad), { atol: tol, rtol: tol, msg });
      // PyTorch's two outputs, antialiased and plain
      const aa = c.portable[dtype].output.data;
      const gap = Math.max(
        ...want.output.data.map((v, i) => Math.abs(v - aa[i])),
      );
      assert.equal(gap < tol, same, `${msg}: antialias - plain = ${gap}`);
    }
  }
});

Deno.test("interpolate antialias: a 2x bilinear downscale weighs 4 inputs by 1/8, 3/8, 3/8, 1/8 (the borders renormalised)", () => {
  const x = T.tensor(
    Array.from({ length: 8 }, (_, i) => (i * i) % 7),
    { shape: [1, 1, 1, 8], dtype: "float64" },
  );
  const y = T.interpolate(x, {
    size: [1, 4],
    mode: "bilinear",
    antialias: true,
  });
  const v = Array.from(x.data);
  // output d is centred at 2d + 1: inputs 2d - 1 .. 2d + 2 at distances
  // 1.5, 0.5, 0.5, 1.5, a triangle of half-width 2: 1/4, 3/4, 3/4, 1/4
  const want = [0, 1, 2, 3].map((d) => {
    const taps = [-1, 0, 1, 2].map((k) => [2 * d + k, [1, 3, 3, 1][k + 1]])
      .filter(([i]) => i >= 0 && i < 8);
    const total = taps.reduce((s, [, w]) => s + w, 0);
    return taps.reduce((s, [i, w]) => s + v[i] * w / total, 0);
  });
  assertAllClose(y, want, { atol: 1e-15, rtol: 1e-15 });
});

Deno.test("interpolate antialias: an infinite input reaches only the outputs whose window holds it (shorter windows read an appended zero, not a neighbour)", () => {
  const x = T.tensor([1, 2, 3, 4, 5, 6, 7, Infinity], { shape: [1, 1, 1, 8] });
  for (const mode of ["bilinear", "bicubic"] as const) {
    const y = T.interpolate(x, { size: [1, 4], mode, antialias: true });
    // output d's window: centre 2d + 1, half-width 2 (bilinear) or 4
    // (bicubic), cut to [0, 8): [5, 8) holds input 7, and for bicubic
    // [1, 8) too, [0, 7) not (PyTorch 1.13: [1.71, 3.5, 5.5, inf] and
    // [1.54, 3.46, -inf, inf])
    const finite = Array.from(y.data).map(Number.isFinite);
    assert.deepEqual(
      finite,
      mode === "bilinear"
        ? [true, true, true, false]
        : [true, true, false, false],
      mode,
    );
  }
});

Deno.test("interpolate antialias: constants stay constant, the output lies within the input for bilinear", () => {
  for (const mode of ["bilinear", "bicubic"] as const) {
    for (const size of [[3, 5], [10, 2], [1, 1], [17, 19]]) {
      const c = T.full([1, 2, 11, 13], 0.75, { dtype: "float64" });
      const y = T.interpolate(c, { size, mode, antialias: true });
      assertAllClose(y, T.full([1, 2, ...size], 0.75, { dtype: "float64" }), {
        atol: 1e-15,
        rtol: 0,
      });
    }
  }
  const x = T.random.uniform(T.random.key(3), [2, 3, 20, 17]);
  const y = T.interpolate(x, {
    size: [6, 4],
    mode: "bilinear",
    antialias: true,
  });
  assert.ok(Math.min(...y.data) >= 0 && Math.max(...y.data) <= 1);
});

Deno.test("interpolate antialias: gradients to order 2, vmap and jit", () => {
  const x = T.random.normal(T.random.key(5), [3, 2, 9, 7], {
    dtype: "float64",
  });
  for (const mode of ["bilinear", "bicubic"] as const) {
    for (
      const o of [
        { size: [4, 3] },
        { scaleFactor: [0.4, 1.5], alignCorners: true },
      ] as T.InterpolateOptions[]
    ) {
      const opts = { ...o, mode, antialias: true };
      const f = (x: Tensor) => T.interpolate(x, opts);
      T.checkGrads(f, [T.slice(x, [0, 0, 0, 0], [1, 2, 9, 7])], { order: 2 });
      // vmap over the batch is the batch; jit replays the same bits
      const loop = T.stack(
        [0, 1, 2].map((i) =>
          T.squeeze(f(T.slice(x, [i, 0, 0, 0], [i + 1, 2, 9, 7])), 0)
        ),
      );
      const mapped = T.vmap((e: Tensor) => T.squeeze(f(T.expandDims(e, 0)), 0))(
        x,
      );
      sameBits(mapped, loop, `vmap ${mode}`);
      sameBits(T.jit(f)(x), f(x), `jit ${mode}`);
    }
  }
});

Deno.test("errors: interpolate's antialias", () => {
  const img = T.zeros([1, 1, 4, 4]);
  assertErrors("interpolate", [
    [
      () =>
        T.interpolate(img, {
          size: 2,
          mode: "bilinear",
          antialias: "yes" as never,
        }),
      /^interpolate: antialias must be a boolean, got string yes$/,
    ],
    [
      () =>
        T.interpolate(img, {
          size: 2,
          mode: "bilinear",
          antialias: 1 as never,
        }),
      /^interpolate: antialias must be a boolean, got 1$/,
    ],
    [
      () => T.interpolate(img, { size: 2, antialias: true }),
      /^interpolate: antialias is only supported with modes "bilinear" and "bicubic" \(x \[N, C, H, W\]\), got mode "nearest"$/,
    ],
    [
      () => T.interpolate(img, { size: 2, mode: "area", antialias: true }),
      /got mode "area"$/,
    ],
    [
      () =>
        T.interpolate(T.zeros([1, 1, 4]), {
          size: 2,
          mode: "linear",
          antialias: true,
        }),
      /got mode "linear"$/,
    ],
    [
      () =>
        T.interpolate(T.zeros([1, 1, 2, 4, 4]), {
          size: 2,
          mode: "trilinear",
          antialias: true,
        }),
      /got mode "trilinear"$/,
    ],
    [
      () =>
        T.interpolate(T.zeros([1, 1, 4]), {
          size: 2,
          mode: "bilinear",
          antialias: true,
        }),
      /mode "bilinear" needs x of shape \[N, C, H, W\], got \[1,1,4\]/,
    ],
  ]);
  // false is PyTorch's default, accepted with every mode
  assert.deepEqual(
    T.interpolate(img, { size: 2, antialias: false }).shape,
    [1, 1, 2, 2],
  );
  // nn.Upsample has no antialias in PyTorch; nor has nn.upsample
  assertErrors("nn.upsample", [[
    () =>
      T.nn.upsample(
        { size: 2, mode: "bilinear", antialias: true } as never,
      ),
    /^nn.upsample: unknown option "antialias"/,
  ]]);
});
