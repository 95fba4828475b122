/**
 * unfold, fold, pixelShuffle, pixelUnshuffle and adaptiveMaxPool2d beyond
 * the PyTorch fixtures (cnn_fixtures_test.ts) and the op-table rows:
 * closed-form identities (a convolution is a product with unfold's columns,
 * fold is unfold's transpose, the shuffles invert each other, adaptive max
 * pooling of a divisible size is max pooling), PyTorch's choice of the
 * maximum at ties and NaNs, and the errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = { dtype: "float64" as const };
const normal = (seed: number, shape: number[]) =>
  T.random.normal(T.random.key(seed), shape, f64);
const dot = (a: T.Tensor, b: T.Tensor) => T.item(T.sum(T.mul(a, b)));

const CONFIGS: [number[], T.UnfoldOptions][] = [
  [[2, 3, 6, 7], { kernelSize: 3 }],
  [[1, 2, 7, 6], { kernelSize: [2, 3], padding: [1, 2], stride: [2, 1] }],
  [[2, 1, 9, 8], { kernelSize: 2, dilation: [2, 3], stride: 2, padding: 1 }],
];

Deno.test("unfold: conv2d is the weight times unfold's columns", () => {
  CONFIGS.forEach(([shape, o], i) => {
    const x = normal(i, shape);
    const k = typeof o.kernelSize === "number"
      ? [o.kernelSize, o.kernelSize]
      : o.kernelSize;
    const w = normal(10 + i, [4, shape[1], ...k]);
    const { kernelSize: _, ...convOptions } = o;
    const y = T.conv2d(x, w, null, convOptions);
    const cols = T.matmul(T.reshape(w, [4, -1]), T.unfold(x, o));
    assertAllClose(cols, T.reshape(y, [shape[0], 4, -1]), {
      atol: 1e-12,
      rtol: 1e-12,
    });
  });
});

Deno.test("fold is unfold's transpose, and fold(unfold(x)) counts the windows over each pixel", () => {
  CONFIGS.forEach(([shape, o], i) => {
    const x = normal(20 + i, shape);
    const cols = T.unfold(x, o);
    const y = normal(30 + i, cols.shape.slice());
    const back = T.fold(y, { ...o, outputSize: [shape[2], shape[3]] });
    // <unfold(x), y> = <x, fold(y)>
    assert.ok(Math.abs(dot(cols, y) - dot(x, back)) < 1e-10);
    const counts = T.fold(T.unfold(T.onesLike(x), o), {
      ...o,
      outputSize: [shape[2], shape[3]],
    });
    assertAllClose(
      T.fold(cols, { ...o, outputSize: [shape[2], shape[3]] }),
      T.mul(x, counts),
      { atol: 1e-12, rtol: 1e-12 },
    );
  });
});

Deno.test("pixelShuffle and pixelUnshuffle invert each other exactly, and move channel c·r² + i·r + j to offset (i, j)", () => {
  const x = normal(1, [2, 3, 12, 4, 5]);
  const up = T.pixelShuffle(x, 2);
  assert.deepEqual(up.shape, [2, 3, 3, 8, 10]);
  assert.deepEqual(T.pixelUnshuffle(up, 2).data, x.data);
  const xs = T.toArray(x) as number[][][][][];
  const ups = T.toArray(up) as number[][][][][];
  for (
    const [c, i, j, h, w] of [[0, 0, 0, 0, 0], [2, 1, 0, 3, 4], [1, 1, 1, 2, 3]]
  ) {
    assert.equal(
      ups[1][2][c][h * 2 + i][w * 2 + j],
      xs[1][2][c * 4 + i * 2 + j][h][w],
    );
  }
});

Deno.test("adaptiveMaxPool2d of a size its output divides is maxPool2d, values and gradients", () => {
  const x = normal(5, [2, 3, 8, 6]);
  const f = (x: T.Tensor) => T.adaptiveMaxPool2d(x, [4, 2]);
  const g = (x: T.Tensor) => T.maxPool2d(x, { kernelSize: [2, 3] });
  assert.deepEqual(f(x).data, g(x).data);
  const cot = normal(6, [2, 3, 4, 2]);
  const gf = T.grad((x: T.Tensor) => T.sum(T.mul(f(x), cot)))(x);
  const gg = T.grad((x: T.Tensor) => T.sum(T.mul(g(x), cot)))(x);
  assert.deepEqual(gf.data, gg.data);
});

Deno.test("adaptiveMaxPool2d: the gradient goes to each window's first maximum, or its last NaN (PyTorch's CPU kernel: val > max || isnan(val))", () => {
  // one window (outputSize 1) over a 3x3 image
  const one = (values: number[]) =>
    T.toArray(
      T.grad((x: T.Tensor) => T.sum(T.adaptiveMaxPool2d(x, 1)))(
        T.tensor(values, { shape: [1, 3, 3], ...f64 }),
      ),
    );
  // ties: the first in row-major order
  assert.deepEqual(one([1, 5, 2, 5, 0, 5, 1, 1, 1]), [[[0, 1, 0], [0, 0, 0], [
    0,
    0,
    0,
  ]]]);
  // NaNs: the last one
  assert.deepEqual(one([NaN, 5, 2, 3, NaN, 9, 1, 1, 1]), [[
    [0, 0, 0],
    [0, 1, 0],
    [0, 0, 0],
  ]]);
  assert.deepEqual(one([1, 5, 2, 3, 4, 9, 1, 1, NaN]), [[[0, 0, 0], [0, 0, 0], [
    0,
    0,
    1,
  ]]]);
  // all -Infinity: the first
  assert.deepEqual(one(Array(9).fill(-Infinity)), [[[1, 0, 0], [0, 0, 0], [
    0,
    0,
    0,
  ]]]);
  // windows of unequal sizes (5 -> 3: rows [0,2), [1,4), [3,5)), as PyTorch
  // 1.13 gives (checked when this test was written): the
  // padding entries repeat a window's last one and never win a tie early
  const x = T.tensor([
    [7, 7, 7, 7, 7],
    [7, 7, 7, 7, 7],
    [7, 7, 7, 7, 7],
    [7, 7, 7, 7, 7],
    [7, 7, 7, 7, 7],
  ], f64);
  const g = T.grad((x: T.Tensor) => T.sum(T.adaptiveMaxPool2d(x, 3)))(
    T.expandDims(x, 0),
  );
  // each window's top-left corner gets its gradient
  assert.deepEqual(T.toArray(g), [[
    [1, 1, 0, 1, 0],
    [1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0],
    [1, 1, 0, 1, 0],
    [0, 0, 0, 0, 0],
  ]]);
  assert.deepEqual(
    T.toArray(T.adaptiveMaxPool2d(T.tensor([[[1, NaN], [3, 4]]]), 1)),
    [[[NaN]]],
  );
});

Deno.test("unfold, fold, the shuffles and adaptiveMaxPool2d: errors name the op, the argument, what was expected and what came", () => {
  const x = T.zeros([1, 2, 4, 4]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.unfold(x, { kernelSize: 5 }),
      /^unfold: no window fits: an image of 4x4 with kernelSize \[5,5\], dilation \[1,1\], padding \[0,0\] and stride \[1,1\] gives 0x0 windows/,
    ],
    [
      () => T.unfold(x, { kernelSize: 0 }),
      /^unfold: kernelSize must be an integer >= 1/,
    ],
    [
      () => T.unfold(x, { kernelSize: 2, pad: 1 } as never),
      /^unfold: unknown option "pad"/,
    ],
    [
      () => T.unfold(T.zeros([4, 4]), { kernelSize: 2 }),
      /^unfold: x must be \[N, C, H, W\] or unbatched \[C, H, W\], got \[4,4\]/,
    ],
    [
      () => T.unfold(x, undefined as never),
      /^unfold: options must be an object with kernelSize/,
    ],
    [
      () => T.fold(T.zeros([1, 7, 9]), { outputSize: 4, kernelSize: 2 }),
      /^fold: x's axis 1 \(7\) must be divisible by kH·kW = 4/,
    ],
    [
      () => T.fold(T.zeros([1, 8, 10]), { outputSize: 4, kernelSize: 2 }),
      /^fold: x's last axis must have one column per window, 9 \(3x3 for outputSize \[4,4\] with these options\), got 10/,
    ],
    [
      () => T.fold(T.zeros([8, 9]), { kernelSize: 2 } as never),
      /^fold: outputSize must be an integer >= 1/,
    ],
    [
      () => T.fold(x, { outputSize: 4, kernelSize: 2 }),
      /^fold: x must be \[N, C·kH·kW, L\] or unbatched \[C·kH·kW, L\], got \[1,2,4,4\]/,
    ],
    [
      () => T.pixelShuffle(T.zeros([1, 6, 2, 2]), 2),
      /^pixelShuffle: x's channels \(axis -3, 6\) must be divisible by upscaleFactor² = 4/,
    ],
    [
      () => T.pixelShuffle(T.zeros([4, 2]), 2),
      /^pixelShuffle: x must have at least 3 axes/,
    ],
    [
      () => T.pixelShuffle(x, 0),
      /^pixelShuffle: upscaleFactor must be an integer >= 1, got number 0/,
    ],
    [
      () => T.pixelUnshuffle(T.zeros([1, 1, 4, 6]), 4),
      /^pixelUnshuffle: x's height and width \(4x6\) must be divisible by downscaleFactor 4/,
    ],
    [
      () => T.adaptiveMaxPool2d(T.zeros([1, 2, 0, 4]), 2),
      /^adaptiveMaxPool2d: x's height and width must be >= 1, got x \[1,2,0,4\]/,
    ],
    [
      () => T.adaptiveMaxPool2d(x, [2, 0] as never),
      /^adaptiveMaxPool2d: outputSize must be an integer >= 1/,
    ],
    [
      () => T.adaptiveMaxPool2d(T.zeros([2, 2], { dtype: "int32" }), 1),
      /^adaptiveMaxPool2d: x must be float32 or float64, got int32/,
    ],
    [
      () => T.nn.unfold({ kernelSize: -1 }),
      /^nn\.unfold: kernelSize must be an integer >= 1/,
    ],
    [
      () => T.nn.fold({ kernelSize: 2 } as never),
      /^nn\.fold: outputSize must be an integer >= 1/,
    ],
    [
      () => T.nn.pixelShuffle(1.5),
      /^nn\.pixelShuffle: upscaleFactor must be an integer >= 1, got number 1\.5/,
    ],
    [
      () => T.nn.adaptiveMaxPool2d({ outputSize: 0 }),
      /^nn\.adaptiveMaxPool2d: outputSize must be a positive integer/,
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

Deno.test("the new layers: outputShape agrees with apply", () => {
  const key = T.random.key(0);
  const layers: [T.nn.AnyLayer, number[]][] = [
    [T.nn.adaptiveMaxPool2d({ outputSize: [3, null] }), [2, 3, 7, 5]],
    [T.nn.unfold({ kernelSize: [2, 3], padding: 1, stride: 2 }), [2, 3, 7, 5]],
    [T.nn.fold({ outputSize: [4, 5], kernelSize: 2 }), [2, 12, 12]],
    [T.nn.pixelShuffle(3), [1, 18, 2, 3]],
    [T.nn.pixelUnshuffle(2), [4, 6, 8]],
  ];
  for (const [layer, shape] of layers) {
    const y = layer.apply(layer.init(key), T.zeros(shape));
    assert.deepEqual(layer.info.outputShape(shape), y.shape, layer.info.repr);
  }
});
