/**
 * data.mixup and data.cutmix against torchvision's classification
 * references (RandomMixup, RandomCutmix): the mix and the box written out
 * from the proportion each call used, the proportion's Beta(alpha, alpha)
 * over many keys, the probability of mixing, soft labels in, gradients,
 * errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";

const { data, random } = T;
const x = random.uniform(random.key(0), [5, 2, 6, 8], { dtype: "float64" });
const y = T.tensor([0, 1, 2, 1, 0], { dtype: "int32" });
const opts = (seed: number, extra = {}) => ({
  numClasses: 3,
  p: 1,
  key: random.key(seed),
  ...extra,
});
const rolled = (t: T.Tensor) => T.roll(t, 1, { axis: 0 });

/** λ from mixed one-hot labels: example 1 (class 1) follows example 0 (class 0). */
const lambdaOf = (probs: T.Tensor) => probs.data[1 * 3 + 1];

Deno.test("mixup: λ x + (1 - λ) x_prev and the same mix of one-hot labels (the references' order of operations, bit for bit)", () => {
  for (let seed = 0; seed < 5; seed++) {
    const m = data.mixup(x, y, opts(seed));
    const lambda = lambdaOf(m.y);
    assert.ok(lambda > 0 && lambda < 1);
    const want = T.add(T.mul(x, lambda), T.mul(rolled(x), 1 - lambda));
    assert.deepEqual(m.x.data, want.data);
    const oh = T.oneHot(y, 3, { dtype: "float64" });
    assert.deepEqual(
      m.y.data,
      T.add(T.mul(oh, lambda), T.mul(rolled(oh), 1 - lambda)).data,
    );
    // rows stay probabilities
    for (let i = 0; i < 5; i++) {
      const row = Array.from(m.y.data.slice(i * 3, i * 3 + 3));
      assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    }
  }
});

Deno.test("mixup and cutmix: λ from Beta(alpha, alpha) over keys (uniform for alpha 1; mean 1/2, variance 1/(4(2 alpha + 1)) for alpha 0.2); p the share of mixed batches", () => {
  const small = T.slice(x, [0, 0, 0, 0], [2, 1, 2, 2]);
  const two = T.tensor([0, 1], { dtype: "int32" });
  const lambdas = (alpha: number) =>
    Array.from({ length: 600 }, (_, s) =>
      lambdaOf(
        data.mixup(
          T.concat([small, small, small]),
          T.tensor([0, 1, 0, 1, 0, 1], { dtype: "int32" }),
          opts(1000 + s, { alpha }),
        ).y,
      ));
  const uniformish = lambdas(1).sort((a, b) => a - b);
  const d = Math.max(
    ...uniformish.map((v, i) => Math.abs(v - (i + 0.5) / 600)),
  );
  assert.ok(d < 1.95 / Math.sqrt(600), `KS ${d}`);
  const l2 = lambdas(0.2);
  const mean = l2.reduce((s, v) => s + v, 0) / l2.length;
  const variance = l2.reduce((s, v) => s + (v - mean) ** 2, 0) /
    (l2.length - 1);
  assert.ok(Math.abs(mean - 0.5) < 0.05, `${mean}`);
  assert.ok(Math.abs(variance - 1 / (4 * 1.4)) < 0.03, `${variance}`);
  // p: the share of calls that mix
  let mixed = 0;
  for (let s = 0; s < 400; s++) {
    const m = data.mixup(small, two, {
      numClasses: 2,
      p: 0.3,
      key: random.key(s),
    });
    if (m.x !== small) mixed++;
  }
  assert.ok(Math.abs(mixed / 400 - 0.3) < 0.08, `${mixed}`);
  const none = data.cutmix(small, two, {
    numClasses: 2,
    p: 0,
    key: random.key(1),
  });
  assert.equal(none.x, small);
  assert.deepEqual(Array.from(none.y.data), [1, 0, 0, 1]);
});

Deno.test("cutmix: one box of each image from the previous image, its position and size as the references draw them; labels mixed by the share kept", () => {
  let boxes = 0;
  for (let seed = 0; seed < 30; seed++) {
    const m = data.cutmix(x, y, opts(seed));
    const prev = rolled(x);
    // the pixels that changed form one rectangle, the same in every image and channel
    const [n, c, h, w] = x.shape;
    const changed = new Set<string>();
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        for (let r = 0; r < h; r++) {
          for (let q = 0; q < w; q++) {
            const at = ((i * c + ch) * h + r) * w + q;
            if (m.x.data[at] !== x.data[at]) {
              assert.equal(m.x.data[at], prev.data[at]);
              changed.add(`${r},${q}`);
            }
          }
        }
      }
    }
    const cells = [...changed].map((s) => s.split(",").map(Number));
    const kept = lambdaOf(m.y);
    if (cells.length === 0) {
      assert.equal(kept, 1);
      continue;
    }
    boxes++;
    const rs = cells.map((p) => p[0]), qs = cells.map((p) => p[1]);
    const bh = Math.max(...rs) - Math.min(...rs) + 1;
    const bw = Math.max(...qs) - Math.min(...qs) + 1;
    assert.equal(cells.length, bh * bw, `seed ${seed}: a rectangle`);
    assertAllClose([kept], [1 - (bh * bw) / (h * w)], { atol: 1e-12 });
    // half-sides of at most 0.5·W and 0.5·H
    assert.ok(bw <= w && bh <= h);
  }
  assert.ok(boxes > 20, `${boxes}`);
});

Deno.test("mixup and cutmix: class probabilities in, int32 labels in; differentiable in x", () => {
  const probs = T.softmax(
    random.normal(random.key(3), [5, 3], { dtype: "float64" }),
    { axis: 1 },
  );
  const m = data.mixup(x, probs, { p: 1, key: random.key(4) });
  assert.deepEqual(m.y.shape, [5, 3]);
  T.checkGrads(
    (v: T.Tensor) => T.sum(T.square(data.cutmix(v, y, opts(7)).x)),
    [T.slice(x, [0, 0, 0, 0], [5, 1, 3, 3])],
    { order: 1 },
  );
  const loss = T.crossEntropy(
    T.reshape(T.slice(m.x, [0, 0, 0, 0], [5, 1, 1, 3]), [5, 3]),
    m.y,
  );
  assert.ok(Number.isFinite(T.item(loss)));
});

Deno.test("mixup and cutmix: errors name the function, the argument, what was expected and what came", () => {
  assertErrors("mixup", [
    [
      () => data.mixup(x, y, { key: random.key(0) }),
      /numClasses is required with int32 labels/,
    ],
    [
      () => data.mixup(x, T.tensor([0, 1]), opts(0)),
      /y must be int32 labels \[5\] or class probabilities \[5, C\] for x \[5,2,6,8\], got Tensor float32 \[2\]/,
    ],
    [
      () => data.mixup(T.zeros([5, 6]), y, opts(0)),
      /x must be \[N, C, H, W\], got \[5,6\]/,
    ],
    [
      () => data.mixup(x, y, opts(0, { alpha: 0 })),
      /alpha must be a finite number > 0, got number 0/,
    ],
    [
      () => data.mixup(x, y, opts(0, { p: 2 })),
      /p must be a number in \[0, 1\], got number 2/,
    ],
    [
      () => data.mixup(x, y, { numClasses: 3 } as never),
      /options.key \(a random.key\) is required/,
    ],
  ]);
  assertErrors("cutmix", [[
    () => data.cutmix(x, y, opts(0, { beta: 1 })),
    /unknown option "beta"/,
  ]]);
});
