/**
 * The geometric image transforms (data/geometric.ts): centerCrop, resize,
 * affine and rotate against torchvision 0.14 on tensors
 * (tests/fixtures/transforms.json, written by
 * tests/fixtures/gen_transforms.py) in float64, and in float32 where the
 * sampling is bilinear; the random versions' draws, gradients through them,
 * jit, and their errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/transforms.json" with { type: "json" };

const { data, random } = T;
type J = { shape: number[]; dtype: string; data: number[] };
type Case = {
  op: string;
  name: string;
  // deno-lint-ignore no-explicit-any
  options: any;
  x: J;
  y: J;
};
const CASES = fixture.cases as unknown as Case[];

function run(c: Case, x: Tensor): Tensor {
  const { size, angle, ...o } = c.options;
  switch (c.op) {
    case "centerCrop":
      return data.centerCrop(x, size);
    case "resize":
      return data.resize(x, size, o);
    case "affine":
      return data.affine(x, { angle, ...o });
    case "rotate":
      return data.rotate(x, angle, o);
    case "rgbToGrayscale":
      return data.rgbToGrayscale(x, o);
    case "adjustBrightness":
      return data.adjustBrightness(x, o.factor);
    case "adjustContrast":
      return data.adjustContrast(x, o.factor);
    case "adjustSaturation":
      return data.adjustSaturation(x, o.factor);
    case "adjustHue":
      return data.adjustHue(x, o.factor);
    case "resizedCrop":
      return data.resizedCrop(x, { ...o, size });
    case "invert":
      return data.invert(x);
    case "solarize":
      return data.solarize(x, o.threshold);
    case "adjustSharpness":
      return data.adjustSharpness(x, o.factor);
    case "autocontrast":
      return data.autocontrast(x);
    case "gaussianBlur": {
      const { kernelSize, ...rest } = o;
      return data.gaussianBlur(x, kernelSize, rest);
    }
  }
  throw new Error(`unknown op ${c.op}`);
}

for (
  const op of [
    "centerCrop",
    "resize",
    "affine",
    "rotate",
    "rgbToGrayscale",
    "adjustBrightness",
    "adjustContrast",
    "adjustSaturation",
    "adjustHue",
    "resizedCrop",
    "invert",
    "solarize",
    "adjustSharpness",
    "autocontrast",
    "gaussianBlur",
  ]
) {
  Deno.test(`torchvision fixtures: ${op}`, async (t) => {
    const cases = CASES.filter((c) => c.op === op);
    assert.ok(cases.length >= 2);
    for (const c of cases) {
      await t.step(c.name, () => {
        const x = T.tensor(c.x.data, { shape: c.x.shape, dtype: "float64" });
        const y = run(c, x);
        assert.deepEqual(y.shape, c.y.shape);
        assertAllClose(y, c.y.data, { atol: 1e-12, rtol: 1e-12 });
        // float32 images: the same up to float32 rounding where nothing
        // rounds to a pixel (a nearest choice could flip at a tie)
        if (c.options.mode !== "nearest") {
          const y32 = run(c, T.astype(x, "float32"));
          assert.equal(y32.dtype, "float32");
          assertAllClose(y32, c.y.data, { atol: 1e-5, rtol: 1e-5 });
        }
      });
    }
  });
}

Deno.test("random transforms: per-image draws from the key, in range, reproducible; identities", () => {
  const x = random.uniform(random.key(0), [6, 2, 9, 9], { dtype: "float64" });
  const k = random.key(7);
  const a = data.randomAffine(x, {
    degrees: 20,
    translate: [0.2, 0.1],
    scale: [0.8, 1.2],
    shear: [-5, 5, -3, 3],
    mode: "bilinear",
    key: k,
  });
  assert.deepEqual(a.shape, x.shape);
  // the same key, the same images; each image its own map
  assert.deepEqual(
    a.data,
    data.randomAffine(x, {
      degrees: 20,
      translate: [0.2, 0.1],
      scale: [0.8, 1.2],
      shear: [-5, 5, -3, 3],
      mode: "bilinear",
      key: k,
    }).data,
  );
  const per = T.reshape(a, [6, 162]);
  const rows = T.toArray(per) as number[][];
  assert.ok(new Set(rows.map((r) => r.join())).size === 6);
  // a degenerate range is that fixed map: degrees [30, 30] is affine 30
  const fixed = data.randomAffine(x, { degrees: [30, 30], key: k });
  assert.deepEqual(fixed.data, data.affine(x, { angle: 30 }).data);
  const r = data.randomRotation(x, {
    degrees: [-45, -45],
    mode: "bilinear",
    key: k,
  });
  // (with torchvision's default fill of 0, whose mask blends the borders)
  assert.deepEqual(
    r.data,
    data.rotate(x, -45, { mode: "bilinear", fill: 0 }).data,
  );
  // rotation by 0, scale 1 and no shift is the identity
  assert.deepEqual(data.affine(x, {}).data, x.data);
  // (bilinear: to rounding, the grid's normalised positions read back)
  assertAllClose(data.rotate(x, 0, { mode: "bilinear" }), x, {
    atol: 1e-15,
    rtol: 1e-15,
  });
  // four quarter turns
  let q = x;
  for (let i = 0; i < 4; i++) q = data.rotate(q, 90);
  assert.deepEqual(q.data, x.data);
});

Deno.test("geometric transforms are differentiable and jit as eager", () => {
  const x = random.uniform(random.key(2), [2, 1, 6, 6], { dtype: "float64" });
  const f = (v: Tensor) =>
    T.sum(
      T.square(data.affine(v, { angle: 17, scale: 0.9, mode: "bilinear" })),
    );
  T.checkGrads(f, [x], { order: 1 });
  const g = (v: Tensor) => data.resize(data.centerCrop(v, 4), [7, 5]);
  T.checkGrads((v: Tensor) => T.sum(T.square(g(v))), [x], { order: 1 });
  const j = T.jit(
    (v: Tensor) => data.rotate(v, 33, { mode: "bilinear", fill: 0.5 }),
  );
  assert.deepEqual(
    j(x).data,
    data.rotate(x, 33, { mode: "bilinear", fill: 0.5 }).data,
  );
  assert.deepEqual(
    j(x).data,
    data.rotate(x, 33, { mode: "bilinear", fill: 0.5 }).data,
  );
  assert.equal(j.traceCount(), 1);
});

Deno.test("errors: the geometric transforms name themselves and the argument", () => {
  const x = T.zeros([2, 3, 8, 8]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => data.centerCrop(x, 0),
      /^Error: centerCrop: size must be an integer >= 1 or a pair \[h, w\] of them, got number 0$/,
    ],
    [
      () => data.centerCrop(T.zeros([8, 8]), 2),
      /^Error: centerCrop: x must be \[C, H, W\] or \[N, C, H, W\], got \[8,8\]$/,
    ],
    [() => data.resize(x, [2, 0]), /^Error: resize: size must be/],
    [
      () => data.resize(x, 4, { mode: "area" as never }),
      /^Error: resize: mode must be "bilinear", "nearest" or "bicubic", got string area$/,
    ],
    [
      () => data.resize(x, 4, { maxSize: 4 }),
      /^Error: resize: maxSize must be an integer greater than size \(4\), got number 4$/,
    ],
    [
      () => data.resize(x, [4, 4], { maxSize: 9 }),
      /^Error: resize: maxSize applies only when size is a single number/,
    ],
    [
      () => data.resize(T.zeros([1, 2, 2], { dtype: "int32" }), 4),
      /^Error: resize: x must be float32 or float64, got int32/,
    ],
    [
      () => data.affine(x, { scale: 0 }),
      /^Error: affine: scale must be > 0, got 0$/,
    ],
    [
      () => data.affine(x, { angle: NaN }),
      /^Error: affine: angle must be a finite number, got number NaN$/,
    ],
    [
      () => data.affine(x, { translate: [1] as never }),
      /^Error: affine: translate must be a pair \[x, y\] of finite numbers/,
    ],
    [
      () => data.affine(x, { fill: [1, 2] }),
      /^Error: affine: fill must be a number or one per channel \(3\), got /,
    ],
    [
      () => data.affine(x, { mode: "bicubic" as never }),
      /^Error: affine: mode must be "nearest" or "bilinear"/,
    ],
    [
      () => data.affine(x, { degrees: 3 } as never),
      /^Error: affine: unknown option "degrees"/,
    ],
    [
      () => data.rotate(x, undefined as never),
      /^Error: rotate: angle is required$/,
    ],
    [
      () => data.affine(T.zeros([1, 3, 0, 4]), { angle: 3 }),
      /^Error: affine: x must have a height and width >= 1, got \[1,3,0,4\]$/,
    ],
    [
      () => data.rotate(x, 10, { expand: 1 as never }),
      /^Error: rotate: expand must be a boolean, got number 1$/,
    ],
    [
      () => data.randomAffine(x, { degrees: 10 } as never),
      /^Error: randomAffine: options.key \(a random.key\) is required$/,
    ],
    [
      () => data.randomAffine(x, { degrees: -1, key: random.key(0) }),
      /^Error: randomAffine: degrees must be a number >= 0 or a range \[min, max\], got number -1$/,
    ],
    [
      () =>
        data.randomAffine(x, {
          degrees: 0,
          translate: [2, 0],
          key: random.key(0),
        }),
      /^Error: randomAffine: translate must be fractions in \[0, 1\]/,
    ],
    [
      () =>
        data.randomAffine(x, { degrees: 0, scale: [0, 1], key: random.key(0) }),
      /^Error: randomAffine: scale must be a range of numbers > 0/,
    ],
    [
      () => data.randomRotation(x, { degrees: [5, 1], key: random.key(0) }),
      /^Error: randomRotation: degrees must be a number >= 0 or a range \[min, max\], got \[5,1\]$/,
    ],
    [
      () =>
        data.randomRotation(
          x,
          { degrees: 5, expand: true, key: random.key(0) } as never,
        ),
      /^Error: randomRotation: unknown option "expand"/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("colorJitter: each image's factors from the key, in a random order; brightness and hue alone; no spread is the identity; errors", () => {
  const x = random.uniform(random.key(0), [6, 3, 5, 5], { dtype: "float64" });
  const k = random.key(3);
  const o = { brightness: 0.5, contrast: 0.3, saturation: 0.8, key: k };
  const y = data.colorJitter(x, o);
  assert.deepEqual(y.data, data.colorJitter(x, o).data);
  assert.ok([...y.data].every((v) => v >= 0 && v <= 1));
  // only brightness: each image is x times one factor in [0.5, 1.5]
  const b = data.colorJitter(x, { brightness: 0.5, key: k });
  for (let i = 0; i < 6; i++) {
    const f = new Set<number>();
    for (let j = 0; j < 75; j++) {
      const v = x.data[i * 75 + j], w = b.data[i * 75 + j];
      if (w < 1 && v > 0.01) f.add(Math.round((w / v) * 1e9) / 1e9);
    }
    assert.equal(f.size, 1, `image ${i}`);
    const [factor] = f;
    assert.ok(factor >= 0.5 && factor <= 1.5, `${factor}`);
  }
  assert.deepEqual(data.colorJitter(x, { key: k }).data, x.data);
  // only hue: each image is adjustHue of x by one factor in [-0.2, 0.2]
  const hued = data.colorJitter(x, { hue: 0.2, key: k });
  assert.ok(
    Math.max(...Array.from(hued.data, (v, j) => Math.abs(v - x.data[j]))) >
      0.05,
    "the hues turned",
  );
  for (let i = 0; i < 6; i++) {
    const img = T.slice(x, [i, 0, 0, 0], [i + 1, 3, 5, 5]);
    const got = Array.from(hued.data.slice(i * 75, (i + 1) * 75));
    // the factor that reproduces the image, searched on a fine grid
    let best = Infinity, at = NaN;
    for (let f = -0.2; f <= 0.2 + 1e-12; f += 0.0005) {
      const d = Math.max(
        ...Array.from(
          data.adjustHue(img, f).data,
          (v, j) => Math.abs(v - got[j]),
        ),
      );
      if (d < best) [best, at] = [d, f];
    }
    assert.ok(
      best < 0.01,
      `image ${i}: no hue factor in [-0.2, 0.2] gives it (${best} at ${at})`,
    );
  }
  const cases: [() => unknown, RegExp][] = [
    [
      () => data.colorJitter(x, { brightness: -1, key: k }),
      /^Error: colorJitter: brightness must be a finite number >= 0, got number -1$/,
    ],
    [
      () => data.colorJitter(x, { hue: 0.6, key: k }),
      /^Error: colorJitter: hue must be at most 0.5, got 0.6$/,
    ],
    [
      () => data.colorJitter(x, { hue: -0.1, key: k }),
      /^Error: colorJitter: hue must be a finite number >= 0, got number -0.1$/,
    ],
    [
      () => data.adjustHue(x, 0.7),
      /^Error: adjustHue: hueFactor must be a number in \[-0.5, 0.5\], got number 0.7$/,
    ],
    [
      () => data.adjustHue(T.zeros([1, 2, 3, 3]), 0.1),
      /^Error: adjustHue: x must have 1 or 3 channels, got 2$/,
    ],
    [
      () => data.colorJitter(x, {} as never),
      /^Error: colorJitter: options.key \(a random.key\) is required$/,
    ],
    [
      () => data.colorJitter(T.zeros([2, 2, 3, 3]), { key: k }),
      /^Error: colorJitter: x must have 1 or 3 channels, got 2$/,
    ],
    [
      () => data.gaussianBlur(x, 4),
      /^Error: gaussianBlur: kernelSize must be an odd positive integer or a pair \[kx, ky\] of them, got number 4$/,
    ],
    [
      () => data.gaussianBlur(x, 3, { sigma: 0 }),
      /^Error: gaussianBlur: sigma must be a number > 0 or a pair \[sx, sy\] of them, got number 0$/,
    ],
    [
      () => data.gaussianBlur(x, 11),
      /^Error: gaussianBlur: the reflection padding \(5, 5\) must be smaller than the image 5x5$/,
    ],
    [
      () => data.adjustContrast(x, NaN),
      /^Error: adjustContrast: factor must be a finite number >= 0, got number NaN$/,
    ],
    [
      () => data.rgbToGrayscale(T.zeros([1, 2, 3, 3])),
      /^Error: rgbToGrayscale: x must have 1 or 3 channels, got 2$/,
    ],
    [
      () => data.adjustBrightness(T.zeros([3, 3], { dtype: "int32" }), 1),
      /^Error: adjustBrightness: x must be \[C, H, W\] or \[N, C, H, W\], got \[3,3\]$/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
  // differentiable: the blur and the adjustments are compositions
  T.checkGrads(
    (v: T.Tensor) =>
      T.sum(T.square(data.gaussianBlur(data.adjustContrast(v, 0.7), 3))),
    [T.mul(x, 0.5)],
    { order: 1 },
  );
  // hue too, away from the sector boundaries and the clamps (where it is
  // not differentiable): distinct channels, hue turned by a small factor
  const distinct = T.add(
    T.mul(
      T.tensor([0.1, 0.4, 0.7], { dtype: "float64", shape: [1, 3, 1, 1] }),
      1,
    ),
    T.mul(
      random.uniform(random.key(5), [2, 3, 3, 3], { dtype: "float64" }),
      0.05,
    ),
  );
  T.checkGrads(
    (v: T.Tensor) => T.sum(T.square(data.adjustHue(v, 0.04))),
    [distinct],
    { order: 1 },
  );
});

Deno.test("erase and randomErasing: torchvision's rectangle, area and aspect ranges, per-image draws; errors", () => {
  const x = T.add(
    random.uniform(random.key(0), [5, 3, 12, 10], { dtype: "float64" }),
    1,
  );
  const e = data.erase(x, {
    top: 2,
    left: 7,
    height: 4,
    width: 9,
    value: [0.5, -1, 2],
  });
  for (let i = 0; i < 5; i++) {
    for (let ch = 0; ch < 3; ch++) {
      for (let r = 0; r < 12; r++) {
        for (let q = 0; q < 10; q++) {
          const at = ((i * 3 + ch) * 12 + r) * 10 + q;
          const inside = r >= 2 && r < 6 && q >= 7; // cut at the right edge
          assert.equal(e.data[at], inside ? [0.5, -1, 2][ch] : x.data[at]);
        }
      }
    }
  }
  const k = random.key(2);
  const y = data.randomErasing(x, { p: 1, key: k });
  assert.deepEqual(y.data, data.randomErasing(x, { p: 1, key: k }).data);
  for (let i = 0; i < 5; i++) {
    // the erased pixels form one rectangle, the same in every channel
    const rows = new Set<number>(), cols = new Set<number>();
    let count = 0;
    for (let r = 0; r < 12; r++) {
      for (let q = 0; q < 10; q++) {
        const zero = [0, 1, 2].map((ch) =>
          y.data[((i * 3 + ch) * 12 + r) * 10 + q] === 0
        );
        assert.ok(zero.every((z) => z === zero[0]));
        if (zero[0]) (rows.add(r), cols.add(q), count++);
      }
    }
    if (count === 0) continue; // (no rectangle fitted in 10 draws: left as it is)
    assert.equal(count, rows.size * cols.size);
    assert.ok(
      count >= Math.floor(0.02 * 120) - 2 && count <= 0.33 * 120 * 1.3,
      `${count}`,
    );
    const aspect = rows.size / cols.size;
    assert.ok(aspect > 0.3 / 1.5 && aspect < 3.3 * 1.5, `${aspect}`);
  }
  assert.deepEqual(data.randomErasing(x, { p: 0, key: k }).data, x.data);
  const noisy = data.randomErasing(x, { p: 1, value: "random", key: k });
  assert.ok([...noisy.data].some((v, i) => v !== x.data[i] && v !== 0));
  // differentiable in x where it is kept
  T.checkGrads(
    (v: T.Tensor) =>
      T.sum(T.square(data.erase(v, { top: 0, left: 0, height: 3, width: 3 }))),
    [T.slice(x, [0, 0, 0, 0], [1, 3, 5, 5])],
    { order: 1 },
  );
  const cases: [() => unknown, RegExp][] = [
    [
      () => data.erase(x, { top: -1, left: 0, height: 1, width: 1 }),
      /^Error: erase: options.top must be an integer >= 0, got number -1$/,
    ],
    [
      () =>
        data.erase(x, { top: 0, left: 0, height: 1, width: 1, value: [1, 2] }),
      /^Error: erase: value must be a number or one per channel \(3\), got /,
    ],
    [
      () => data.randomErasing(x, { p: 2, key: k }),
      /^Error: randomErasing: p must be in \[0, 1\], got number 2$/,
    ],
    [
      () => data.randomErasing(x, { scale: [0.5, 0.1], key: k }),
      /^Error: randomErasing: scale must be a range \[min, max\] of numbers > 0, got /,
    ],
    [
      () => data.randomErasing(x, {} as never),
      /^Error: randomErasing: options.key \(a random.key\) is required$/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("randomResizedCropBoxes: torchvision's get_params: boxes inside the image with an area fraction in scale and an aspect in ratio, placed anywhere; the centre fallback", () => {
  const key = random.key(11);
  const boxes = data.randomResizedCropBoxes(2000, [32, 40], { key });
  const tops = new Set<number>(), lefts = new Set<number>();
  for (const b of boxes) {
    assert.ok(b.top >= 0 && b.left >= 0, JSON.stringify(b));
    assert.ok(
      b.top + b.height <= 32 && b.left + b.width <= 40,
      JSON.stringify(b),
    );
    // w and h are rounded: the area and aspect within half a pixel of range
    const lo = ((b.width - 0.5) * (b.height - 0.5)) / 1280;
    const hi = ((b.width + 0.5) * (b.height + 0.5)) / 1280;
    assert.ok(hi >= 0.08 && lo <= 1, `area ${lo}..${hi}`);
    const aspectLo = (b.width - 0.5) / (b.height + 0.5);
    const aspectHi = (b.width + 0.5) / (b.height - 0.5);
    assert.ok(aspectHi >= 3 / 4 && aspectLo <= 4 / 3, JSON.stringify(b));
    tops.add(b.top);
    lefts.add(b.left);
  }
  assert.ok(tops.size > 20 && lefts.size > 25, `${tops.size} ${lefts.size}`);
  // the mean area fraction of the accepted draws: near the middle of [0.08, 1]
  const meanArea = boxes.reduce((s, b) => s + b.width * b.height / 1280, 0) /
    boxes.length;
  assert.ok(meanArea > 0.4 && meanArea < 0.6, `${meanArea}`);
  // the same key, the same boxes
  assert.deepEqual(data.randomResizedCropBoxes(2000, [32, 40], { key }), boxes);
  // no box of aspect 3..4 and 95% of the area fits: the centre box with
  // the aspect clamped, w 32 and h round(32 / 3) = 11 (Python's round)
  assert.deepEqual(
    data.randomResizedCropBoxes(1, [32, 32], {
      scale: [0.95, 1],
      ratio: [3, 4],
      key,
    }),
    [{ top: 10, left: 0, height: 11, width: 32 }],
  );
  assert.deepEqual(
    data.randomResizedCropBoxes(1, [20, 30], {
      scale: [0.99, 1],
      ratio: [0.2, 0.25],
      key,
    }),
    [{ top: 0, left: 12, height: 20, width: 5 }],
  );
});

Deno.test("randomResizedCrop: each image is resizedCrop of its box from randomResizedCropBoxes; differentiable; errors", () => {
  const x = random.uniform(random.key(2), [5, 3, 12, 14], { dtype: "float64" });
  const key = random.key(4);
  const o = { scale: [0.2, 0.9] as [number, number], key };
  const y = data.randomResizedCrop(x, { size: [8, 6], mode: "bilinear", ...o });
  assert.deepEqual(y.shape, [5, 3, 8, 6]);
  const boxes = data.randomResizedCropBoxes(5, [12, 14], o);
  boxes.forEach((b, i) => {
    const img = T.slice(x, [i, 0, 0, 0], [i + 1, 3, 12, 14]);
    const want = data.resizedCrop(img, { ...b, size: [8, 6] });
    assert.deepEqual(
      Array.from(y.data.slice(i * 144, (i + 1) * 144)),
      Array.from(want.data),
      `image ${i}`,
    );
  });
  assert.ok(new Set(boxes.map((b) => JSON.stringify(b))).size > 1);
  // unbatched, a square size
  assert.deepEqual(
    data.randomResizedCrop(T.slice(x, [0, 0, 0, 0], [1, 3, 12, 14]), {
      size: 5,
      key,
    }).shape,
    [1, 3, 5, 5],
  );
  T.checkGrads(
    (v: Tensor) =>
      T.sum(T.square(data.randomResizedCrop(v, { size: 4, ...o }))),
    [T.slice(x, [0, 0, 0, 0], [2, 3, 12, 14])],
    { order: 1 },
  );
  const cases: [() => unknown, RegExp][] = [
    [
      () => data.randomResizedCrop(x, { size: 0, key }),
      /^Error: randomResizedCrop: size must be an integer >= 1 or a pair \[h, w\] of them, got/,
    ],
    [
      () => data.randomResizedCrop(x, { size: 4, scale: [0.5, 0.2], key }),
      /^Error: randomResizedCrop: scale must be a range \[min, max\] of finite numbers > 0, got \[0.5,0.2\]$/,
    ],
    [
      () => data.randomResizedCrop(x, { size: 4, ratio: [0, 1], key }),
      /^Error: randomResizedCrop: ratio must be a range/,
    ],
    [
      () => data.randomResizedCrop(x, { size: 4 } as never),
      /^Error: randomResizedCrop: options.key \(a random.key\) is required$/,
    ],
    [
      () =>
        data.resizedCrop(x, { top: 0, left: 0, height: 0, width: 3, size: 4 }),
      /^Error: resizedCrop: the crop box must have integer top and left and integer height and width >= 1, got \{"top":0,"left":0,"height":0,"width":3\}$/,
    ],
    [
      () =>
        data.resizedCrop(x, {
          top: 0.5,
          left: 0,
          height: 2,
          width: 3,
          size: 4,
        }),
      /^Error: resizedCrop: the crop box must have integer top/,
    ],
    [
      () => data.randomResizedCropBoxes(-1, [4, 4], { key }),
      /^Error: randomResizedCropBoxes: n must be an integer >= 0, got number -1$/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("randomInvert, randomSolarize, randomAdjustSharpness, randomAutocontrast, randomGrayscale: each image transformed where the key's per-image draw says, kept elsewhere; errors", () => {
  const x = random.uniform(random.key(5), [8, 3, 5, 6], { dtype: "float64" });
  const key = random.key(6);
  const picks = (p: number) => Array.from(random.bernoulli(key, p, [8]).data);
  const cases: [string, T.Tensor, (v: T.Tensor) => T.Tensor, number][] = [
    ["randomInvert", data.randomInvert(x, { p: 0.5, key }), data.invert, 0.5],
    [
      "randomSolarize",
      data.randomSolarize(x, { threshold: 0.6, p: 0.5, key }),
      (v) => data.solarize(v, 0.6),
      0.5,
    ],
    [
      "randomAdjustSharpness",
      data.randomAdjustSharpness(x, { sharpnessFactor: 2, p: 0.5, key }),
      (v) => data.adjustSharpness(v, 2),
      0.5,
    ],
    [
      "randomAutocontrast",
      data.randomAutocontrast(x, { p: 0.5, key }),
      data.autocontrast,
      0.5,
    ],
    [
      "randomGrayscale",
      data.randomGrayscale(x, { p: 0.4, key }),
      (v) => data.rgbToGrayscale(v, { numOutputChannels: 3 }),
      0.4,
    ],
  ];
  for (const [name, y, f, p] of cases) {
    const pick = picks(p);
    assert.ok(
      pick.includes(1) && pick.includes(0),
      `${name}: both kinds drawn`,
    );
    for (let i = 0; i < 8; i++) {
      const img = T.slice(x, [i, 0, 0, 0], [i + 1, 3, 5, 6]);
      const want = pick[i] ? f(img) : img;
      assertAllClose(T.slice(y, [i, 0, 0, 0], [i + 1, 3, 5, 6]), want, {
        atol: 1e-15,
        rtol: 1e-15,
        msg: `${name}, image ${i}`,
      });
    }
  }
  // randomGrayscale's default p is 0.1; one-channel images stay
  const g = T.slice(x, [0, 0, 0, 0], [8, 1, 5, 6]);
  assert.deepEqual(data.randomGrayscale(g, { p: 1, key }).data, g.data);
  const cases2: [() => unknown, RegExp][] = [
    [
      () => data.solarize(x, 1.5),
      /^Error: solarize: threshold must be a number at most 1 \(the image's bound\), got number 1.5$/,
    ],
    [
      () => data.invert(T.zeros([1, 2, 3, 3])),
      /^Error: invert: x must have 1 or 3 channels, got 2$/,
    ],
    [
      () => data.adjustSharpness(x, -1),
      /^Error: adjustSharpness: factor must be a finite number >= 0, got number -1$/,
    ],
    [
      () => data.randomInvert(x, { p: 2, key }),
      /^Error: randomInvert: p must be a number in \[0, 1\], got number 2$/,
    ],
    [
      () => data.randomSolarize(x, { p: 0.5, key } as never),
      /^Error: randomSolarize: threshold must be a number at most 1, got undefined$/,
    ],
    [
      () => data.randomAutocontrast(x, {} as never),
      /^Error: randomAutocontrast: options.key \(a random.key\) is required$/,
    ],
  ];
  for (const [f, re] of cases2) assert.throws(f, re);
  // differentiable compositions
  T.checkGrads(
    (v: T.Tensor) =>
      T.sum(T.square(data.adjustSharpness(data.autocontrast(v), 1.5))),
    [T.slice(x, [0, 0, 0, 0], [2, 3, 5, 6])],
    { order: 1 },
  );
});

Deno.test("rgbToGrayscale: a 1-channel image stays as it is with either numOutputChannels (torchvision's shape), a 3-channel one gets 1 or 3", () => {
  const one = T.random.uniform(T.random.key(0), [1, 5, 6]);
  for (const n of [1, 3] as const) {
    const g = data.rgbToGrayscale(one, { numOutputChannels: n });
    assert.deepEqual(g.shape, [1, 5, 6]);
    assert.deepEqual(Array.from(g.data), Array.from(one.data));
  }
  const rgb = T.random.uniform(T.random.key(1), [2, 3, 4, 4]);
  assert.deepEqual(data.rgbToGrayscale(rgb).shape, [2, 1, 4, 4]);
  assert.deepEqual(
    data.rgbToGrayscale(rgb, { numOutputChannels: 3 }).shape,
    [2, 3, 4, 4],
  );
});
