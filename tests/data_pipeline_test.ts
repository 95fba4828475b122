/** batches, split, take and the image transforms. */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const { data, random } = T;
const ds = {
  x: T.reshape(T.arange(20), [10, 2]),
  y: T.arange(10, undefined, 1, { dtype: "int32" }),
};

Deno.test("batches: every row once per pass, reproducible by key, dropLast", () => {
  const it = data.batches(ds, {
    batchSize: 3,
    shuffle: true,
    key: random.key(5),
  });
  const seen = [...it].flatMap((b) => Array.from(b.y.data));
  assert.deepEqual([...seen].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.notDeepEqual(seen, [...Array(10).keys()]); // shuffled
  const again = [
    ...data.batches(ds, { batchSize: 3, shuffle: true, key: random.key(5) }),
  ].flatMap((b) => Array.from(b.y.data));
  assert.deepEqual(again, seen);
  // x rows stay with their labels
  for (const b of it) {
    b.y.data.forEach((label, i) => assert.equal(b.x.data[2 * i], 2 * label));
  }
  assert.equal(
    [...data.batches(ds, { batchSize: 3, dropLast: true })].length,
    3,
  );
  assert.throws(
    () => data.batches(ds, { batchSize: 0 }),
    /batches: batchSize must be a positive integer, got 0/,
  );
  assert.throws(
    () => data.batches(ds, { batchSize: 2, shuffle: true }),
    /batches: shuffle needs options.key/,
  );
  assert.throws(
    () =>
      data.batches({ x: T.zeros([3, 1]), y: T.zeros([2]) }, { batchSize: 2 }),
    /same first dimension/,
  );
});

Deno.test("batches with weights: rows drawn with replacement by weight, as WeightedRandomSampler", () => {
  // 4 rows; row 1 has weight 0, row 3 three times row 0's, row 2 twice.
  const small = {
    x: T.reshape(T.arange(8), [4, 2]),
    y: T.arange(4, undefined, 1, { dtype: "int32" }),
  };
  const weights = T.tensor([1, 0, 2, 3]);
  const counts = [0, 0, 0, 0];
  for (let e = 0; e < 3000; e++) {
    const it = data.batches(small, {
      batchSize: 3,
      weights,
      key: random.key(e),
    });
    assert.equal(it.length, 2);
    let rows = 0;
    for (const b of it) {
      b.y.data.forEach((label, i) => {
        assert.equal(b.x.data[2 * i], 2 * label); // x rows stay with labels
        counts[label]++;
      });
      rows += b.y.shape[0];
    }
    assert.equal(rows, 4); // an epoch is len(ds) draws
  }
  assert.equal(counts[1], 0);
  const total = 3000 * 4;
  // Binomial standard deviations are about 0.004 of the total here.
  assertAllClose(counts.map((c) => c / total), [1 / 6, 0, 2 / 6, 3 / 6], {
    atol: 0.02,
  });
  const draw = (k: number) =>
    [...data.batches(small, { batchSize: 4, weights, key: random.key(k) })]
      .flatMap((b) => Array.from(b.y.data));
  assert.deepEqual(draw(7), draw(7));
  assert.throws(
    () => data.batches(small, { batchSize: 2, weights }),
    /batches: weights need options.key/,
  );
  assert.throws(
    () =>
      data.batches(small, {
        batchSize: 2,
        weights,
        shuffle: true,
        key: random.key(0),
      }),
    /batches: give weights or shuffle, not both/,
  );
  assert.throws(
    () =>
      data.batches(small, {
        batchSize: 2,
        weights: T.ones([3]),
        key: random.key(0),
      }),
    /batches: weights must be a 1-D tensor of 4 weights \(one per row\), got Tensor float32 \[3\]/,
  );
  // bad values are an error of batches at the call, not of random.choice
  // when the rows are drawn
  for (
    const [w, re] of [
      [
        [-1, 1, 1, 1],
        /^Error: batches: weights must be finite numbers >= 0, got -1 at row 0$/,
      ],
      [
        [1, NaN, 1, 1],
        /^Error: batches: weights must be finite numbers >= 0, got NaN at row 1$/,
      ],
      [
        [1, 1, Infinity, 1],
        /^Error: batches: weights must be finite numbers >= 0, got Infinity at row 2$/,
      ],
      [
        [0, 0, 0, 0],
        /^Error: batches: weights must have a positive, finite sum, got 0$/,
      ],
    ] as const
  ) {
    assert.throws(
      () =>
        data.batches(small, {
          batchSize: 2,
          weights: T.tensor([...w]),
          key: random.key(0),
        }),
      re,
    );
  }
});

Deno.test("split and take", () => {
  const [a, b] = data.split(ds, { fraction: 0.7, key: random.key(0) });
  assert.equal(a.y.shape[0] + b.y.shape[0], 10);
  assert.equal(a.y.shape[0], 7);
  const all = [...a.y.data, ...b.y.data].sort((p, q) => p - q);
  assert.deepEqual(all, [...Array(10).keys()]);
  assert.deepEqual(T.toArray(data.take(ds, [3, 1]).x), [[6, 7], [2, 3]]);
  assert.throws(
    () => data.take(ds, [10]),
    /take: indices must be integers in \[0, 10\), got 10/,
  );
});

Deno.test("transforms: hwcToChw, scaleTo01, normalize, padImages", () => {
  const img = T.reshape(T.arange(12), [2, 2, 3]); // H W C
  const chw = data.hwcToChw(img);
  assert.deepEqual(chw.shape, [3, 2, 2]);
  assert.deepEqual(T.toArray(chw), [[[0, 3], [6, 9]], [[1, 4], [7, 10]], [[
    2,
    5,
  ], [8, 11]]]);
  assertAllClose(data.scaleTo01(T.tensor([0, 51, 255])), [0, 0.2, 1], {
    atol: 1e-7,
  });
  assertAllClose(data.normalize(T.ones([1, 2, 1, 1]), [0.5, 1], [0.25, 1]), [
    2,
    0,
  ]);
  assert.throws(
    () => data.normalize(T.ones([3, 1, 1]), [0], [1]),
    /normalize: mean and std need one value per channel \(3/,
  );
  const padded = data.padImages(T.ones([1, 1, 2, 2]), 1);
  assert.deepEqual(T.toArray(padded), [[[[0, 0, 0, 0], [0, 1, 1, 0], [
    0,
    1,
    1,
    0,
  ], [0, 0, 0, 0]]]]);
});

Deno.test("randomCrop shifts each image by at most the padding; flips mirror", () => {
  const x = T.reshape(T.arange(2 * 5 * 5), [2, 1, 5, 5]);
  for (let s = 0; s < 20; s++) {
    const y = data.randomCrop(x, { size: 5, padding: 2, key: random.key(s) });
    assert.deepEqual(y.shape, [2, 1, 5, 5]);
    // the content is a shifted copy: some pixel value of the source stays at a shifted position
    for (let n = 0; n < 2; n++) {
      const src = x.data.subarray(n * 25, n * 25 + 25),
        dst = y.data.subarray(n * 25, n * 25 + 25);
      let found = false;
      for (let dy = -2; dy <= 2 && !found; dy++) {
        for (let dx = -2; dx <= 2 && !found; dx++) {
          let ok = true;
          for (let r = 0; r < 5 && ok; r++) {
            for (let c = 0; c < 5 && ok; c++) {
              const sr = r + dy, sc = c + dx;
              const want = sr >= 0 && sr < 5 && sc >= 0 && sc < 5
                ? src[sr * 5 + sc]
                : 0;
              ok = dst[r * 5 + c] === want;
            }
          }
          found = ok;
        }
      }
      assert.ok(found, `image ${n} of seed ${s} is not a shift within ±2`);
    }
  }
  const same1 = data.randomCrop(x, { size: 5, padding: 2, key: random.key(3) });
  const same2 = data.randomCrop(x, { size: 5, padding: 2, key: random.key(3) });
  assert.deepEqual(same1.data, same2.data);
  const f = data.randomHorizontalFlip(T.tensor([[[1, 2, 3]]]), {
    p: 1,
    key: random.key(0),
  });
  assert.deepEqual(T.toArray(f), [[[3, 2, 1]]]);
  const none = data.randomHorizontalFlip(T.tensor([[[1, 2, 3]]]), {
    p: 0,
    key: random.key(0),
  });
  assert.deepEqual(T.toArray(none), [[[1, 2, 3]]]);
  // a vertical flip is the horizontal flip of the transposed image, drawn
  // per image with the same key
  const img = T.random.normal(random.key(5), [8, 2, 3, 4]);
  const k = random.key(9);
  const v = data.randomVerticalFlip(img, { key: k });
  const h = data.randomHorizontalFlip(T.transpose(img, [0, 1, 3, 2]), {
    key: k,
  });
  assert.deepEqual(v.data, T.transpose(h, [0, 1, 3, 2]).data);
  const flipped = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) =>
    v.data[i * 24] !== img.data[i * 24]
  );
  assert.ok(flipped.length > 0 && flipped.length < 8);
  assert.throws(
    () => data.randomVerticalFlip(img, { p: 2, key: k }),
    /^Error: randomVerticalFlip: p must be in \[0, 1\], got 2$/,
  );
  assert.throws(
    () => data.randomCrop(x, { size: 10, key: random.key(0) }),
    /randomCrop: size 10 must fit in the padded image 5x5/,
  );
});
