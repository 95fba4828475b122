/**
 * gridSample and affineGrid beyond the PyTorch fixtures
 * (cnn_fixtures_test.ts) and the op-table rows: closed forms (the identity
 * map reproduces the input; a shift by one pixel moves it and reads the
 * padding), and the errors. Their ONNX export: onnx_test.ts.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import f32 from "./fixtures/grid_sample_f32.json" with { type: "json" };

const f64 = { dtype: "float64" as const };

Deno.test("gridSample of affineGrid: the identity map reproduces the input, a one-pixel shift moves it", () => {
  const x = T.random.normal(T.random.key(1), [2, 3, 4, 5], f64);
  const identity = T.tensor(
    [[[1, 0, 0], [0, 1, 0]], [[1, 0, 0], [0, 1, 0]]],
    f64,
  );
  for (const alignCorners of [false, true]) {
    for (const mode of ["bilinear", "nearest", "bicubic"] as const) {
      const grid = T.affineGrid(identity, [2, 3, 4, 5], { alignCorners });
      assertAllClose(T.gridSample(x, grid, { alignCorners, mode }), x, {
        atol: 1e-12,
        rtol: 1e-12,
      });
    }
  }
  // x moved one pixel left (the sample at column j is column j + 1): with
  // alignCorners, one pixel is 2 / (W - 1) in normalised units
  const shift = T.tensor([[[1, 0, 2 / 4], [0, 1, 0]], [[1, 0, 2 / 4], [
    0,
    1,
    0,
  ]]], f64);
  const grid = T.affineGrid(shift, [2, 3, 4, 5], { alignCorners: true });
  const moved = T.gridSample(x, grid, { alignCorners: true });
  assertAllClose(
    T.slice(moved, [0, 0, 0, 0], [2, 3, 4, 4]),
    T.slice(x, [0, 0, 0, 1], [2, 3, 4, 5]),
    { atol: 1e-12, rtol: 1e-12 },
  );
  // the last column reads past the edge: zeros, or the edge itself with "border"
  assert.ok(
    T.toArray(
      T.max(T.abs(T.slice(moved, [0, 0, 0, 4], [2, 3, 4, 5]))),
    ) as number < 1e-12,
  );
  const border = T.gridSample(x, grid, {
    alignCorners: true,
    paddingMode: "border",
  });
  assertAllClose(
    T.slice(border, [0, 0, 0, 4], [2, 3, 4, 5]),
    T.slice(x, [0, 0, 0, 4], [2, 3, 4, 5]),
    { atol: 1e-12, rtol: 1e-12 },
  );
});

Deno.test("errors: gridSample and affineGrid name the op, the argument, what was expected and what came", () => {
  const x = T.zeros([2, 3, 4, 5]), g = T.zeros([2, 4, 4, 2]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.gridSample(T.zeros([3, 4, 5]), g),
      /^gridSample: input must be \[N, C, H, W\] or \[N, C, D, H, W\], got \[3,4,5\]$/,
    ],
    [
      () => T.gridSample(x, T.zeros([1, 4, 4, 2])),
      /^gridSample: grid must be \[N, Ho, Wo, 2\] with N = 2 \(input \[2,3,4,5\]\), got \[1,4,4,2\]$/,
    ],
    [
      () => T.gridSample(x, T.zeros([2, 4, 4, 2], f64)),
      /^gridSample: grid must have input's dtype float32, got float64 \[2,4,4,2\]$/,
    ],
    [
      () => T.gridSample(x, g, { mode: "cubic" as never }),
      /^gridSample: mode must be "bilinear", "nearest" or "bicubic", got string cubic/,
    ],
    [
      () => T.gridSample(x, g, { paddingMode: "wrap" as never }),
      /^gridSample: paddingMode must be "zeros", "border" or "reflection", got/,
    ],
    [
      () => T.gridSample(x, g, { align: true } as never),
      /^gridSample: unknown option "align"/,
    ],
    [
      () => T.affineGrid(T.zeros([2, 3, 3]), [2, 3, 4, 5]),
      /^affineGrid: theta must be \[N, 2, 3\] with N = 2 \(size \[2,3,4,5\]\), got \[2,3,3\]$/,
    ],
    [
      () => T.affineGrid(T.zeros([2, 2, 3]), [2, 3, 4]),
      /^affineGrid: size must be \[N, C, H, W\] or \[N, C, D, H, W\] of positive integers, got \[2,3,4\]/,
    ],
    [
      () => T.affineGrid(T.zeros([2, 2, 3]), [2, 3, 4, 5, 6]),
      /^affineGrid: theta must be \[N, 3, 4\] with N = 2 \(size \[2,3,4,5,6\]\), got \[2,2,3\]$/,
    ],
    [
      () => T.gridSample(T.zeros([2, 3, 4, 5, 6]), g),
      /^gridSample: grid must be \[N, Do, Ho, Wo, 3\] with N = 2 \(input \[2,3,4,5,6\]\), got \[2,4,4,2\]$/,
    ],
    [
      () =>
        T.gridSample(T.zeros([1, 1, 2, 2, 2]), T.zeros([1, 1, 1, 1, 3]), {
          mode: "bicubic",
        }),
      /^gridSample: mode "bicubic" samples 4-D inputs only \(as PyTorch\), got input \[1,1,2,2,2\]$/,
    ],
    [
      () => T.gridSample(T.zeros([1, 1, 0, 2, 2]), T.zeros([1, 1, 1, 1, 3])),
      /^gridSample: input's depth, height and width must be >= 1, got \[1,1,0,2,2\]$/,
    ],
  ];
  cases.push([
    () => T.affineGrid(T.zeros([1, 2, 3]), [1, 1, 1e6, 1e6]),
    /^affineGrid: shape \[1000000000000,3\] has 3000000000000 elements/,
  ]);
  for (const [f, re] of cases) {
    assert.throws(f, (e) => {
      assert.ok(e instanceof Error && e.constructor === Error, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("gridSample: a NaN grid coordinate samples 0 (an infinite one too with zeros padding, as PyTorch, and in bicubic mode; otherwise border padding clamps it to the edge), and adds nothing to the input's gradient", () => {
  const input = T.reshape(T.arange(1, 10), [1, 1, 3, 3]);
  // the second point is a good one: (0, 0) is the centre pixel, 5
  const at = (x: number) => T.tensor([[[[x, 0], [0, 0]]]]);
  for (const mode of ["bilinear", "nearest", "bicubic"] as const) {
    for (const paddingMode of ["zeros", "border", "reflection"] as const) {
      for (const alignCorners of [false, true]) {
        const opts = { mode, paddingMode, alignCorners };
        const what = `${mode} ${paddingMode} ${alignCorners}`;
        const sample = (x: number) =>
          Array.from(T.gridSample(input, at(x), opts).data);
        assert.deepEqual(sample(NaN), [0, 5], `NaN ${what}`);
        const gx = T.grad((x: Tensor) => T.sum(T.gridSample(x, at(NaN), opts)))(
          input,
        );
        assert.deepEqual(
          Array.from(gx.data),
          [0, 0, 0, 0, 1, 0, 0, 0, 0],
          `grad NaN ${what}`,
        );
        const inf = [sample(Infinity), sample(-Infinity)];
        if (paddingMode === "zeros" || mode === "bicubic") {
          assert.deepEqual(inf, [[0, 5], [0, 5]], `Infinity ${what}`);
        } else if (paddingMode === "border") {
          assert.deepEqual(inf, [[6, 5], [4, 5]], `Infinity ${what}`);
        } else assert.ok(inf.flat().every(Number.isFinite), what);
      }
    }
  }
});

Deno.test("gridSample of a volume (float32) is PyTorch's scalar kernel bit for bit, every mode, padding and alignCorners (gen_grid_sample_f32.py)", () => {
  const input = T.tensor(f32.input.data, { shape: f32.input.shape });
  const grid = T.tensor(f32.grid.data, { shape: f32.grid.shape });
  for (const c of f32.cases) {
    const y = T.gridSample(input, grid, {
      mode: c.mode as "bilinear" | "nearest",
      paddingMode: c.paddingMode as "zeros" | "border" | "reflection",
      alignCorners: c.alignCorners,
    });
    // (a sum starting from 0 turns PyTorch's -0 into 0)
    const got = Array.from(y.data, (v) => v + 0);
    assert.deepEqual(
      got,
      Array.from(Float32Array.from(c.output), (v) => v + 0),
      `${c.mode} ${c.paddingMode} ${c.alignCorners}`,
    );
  }
});

Deno.test("gridSample reads the pixel a float32 grid names in an image past 2^24 pixels (its flat position was rounded in float32)", () => {
  // 3 rows of 2^23 + 1: row 2, column 1 is pixel 2^24 + 3, which float32
  // rounds to 2^24 + 4 (column 2)
  const w = 2 ** 23 + 1;
  const data = new Float32Array(3 * w);
  data[2 * w + 1] = 7;
  data[2 * w + 2] = 9;
  const x = T.tensor(data, { shape: [1, 1, 3, w] });
  // with alignCorners, column 1 is -1 + 2 / (w - 1) = -1 + 2^-22 and row 2 is 1
  const grid = T.tensor([-1 + 2 ** -22, 1], { shape: [1, 1, 1, 2] });
  for (const mode of ["nearest", "bilinear", "bicubic"] as const) {
    const y = T.gridSample(x, grid, { mode, alignCorners: true });
    assert.deepEqual(Array.from(y.data), [7], mode);
  }
});
