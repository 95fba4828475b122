/**
 * layerNorm, groupNorm, dropout2d, huberLoss, smoothL1Loss, klDiv and
 * cosineSimilarity: values and gradients against PyTorch 1.13
 * (tests/fixtures/norm.json, written by tests/fixtures/gen_norm.py) in
 * float32 and float64, closed forms and identities, the error messages, and
 * the layers nn.layerNorm, nn.groupNorm and nn.dropout2d.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import {
  caseVjp,
  type FixtureCase,
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/norm.json" with { type: "json" };
import { callLoss } from "./_loss_calls.ts";

type Exact = { output: J; grads: Record<string, J> };
type Case = FixtureCase & {
  output: J;
  /** Where PyTorch's float32 kernel loses digits: the same inputs in float64. */
  exact?: Exact;
};

const { nn, random } = T;
const f64 = { dtype: "float64" as const };

function callOp(c: Case, v: Record<string, Tensor>): Tensor {
  const { normalizedShape, numGroups, ...o } = c.options;
  switch (c.op) {
    case "layerNorm":
      return T.layerNorm(v.x, normalizedShape, v.weight, v.bias, o);
    case "groupNorm":
      return T.groupNorm(v.x, numGroups, v.weight, v.bias, o);
    case "normalize":
      return T.normalize(v.x, o);
    case "localResponseNorm": {
      const { size, ...rest } = c.options;
      return T.localResponseNorm(v.x, size, rest);
    }
    case "instanceNorm":
      return T.instanceNorm(v.x, {
        ...o,
        weight: v.weight,
        bias: v.bias,
        runningMean: v.runningMean,
        runningVar: v.runningVar,
      }).y;
  }
  const y = callLoss(c.op, v, o);
  if (y === undefined) throw new Error(`unknown op ${c.op}`);
  return y;
}

const cases = fixture.cases as unknown as Case[];
for (const op of [...new Set(cases.map((c) => c.op))]) {
  Deno.test(`PyTorch: ${op} (float32 and float64): values and gradients`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        const tol = c.dtype === "float32"
          ? { atol: 2e-6, rtol: 2e-6 }
          : { atol: 1e-12, rtol: 1e-12 };
        const { y, grads, names } = caseVjp(c, (v) => callOp(c, v));
        assert.equal(y.dtype, c.dtype);
        const ref = c.exact ?? c;
        assertAllClose(y, toT(ref.output), { ...tol, msg: `${c.name} output` });
        if (c.exact) { // closer to the exact numbers than PyTorch's float32
          const exact = toT(c.exact.output).data;
          const err = (a: ArrayLike<number>) =>
            Math.max(...[...exact].map((v, i) => Math.abs(a[i] - v)));
          assert.ok(err(y.data) < err(toT(c.output).data), c.name);
        }
        // a norm clamped at eps = 1e-8 divides by 1e-8: gradients of 1e8
        const gradTol = c.name.includes("below eps") && c.dtype === "float32"
          ? { atol: 1, rtol: 1e-5 }
          : tol;
        names.forEach((n, i) =>
          assertAllClose(grads[i], toT(ref.grads[n]), {
            ...gradTol,
            msg: `${c.name} grad ${n}`,
          })
        );
      });
    }
  });
}

const r64 = (seed: number, shape: number[]) =>
  random.normal(random.key(seed), shape, f64);
const tight = { atol: 1e-12, rtol: 1e-12 };

Deno.test("layerNorm and groupNorm: zero mean and unit variance per slice, affine, invariances, groupNorm as layerNorm", () => {
  const x = T.add(T.mul(r64(1, [2, 3, 4]), 3), 5);
  const y = T.layerNorm(x, [3, 4], null, null, { eps: 0 });
  const axes = { axis: [1, 2], keepDims: true };
  assertAllClose(T.mean(y, axes), T.zeros([2, 1, 1], f64), tight);
  assertAllClose(T.mean(T.square(y), axes), T.ones([2, 1, 1], f64), tight);
  // y·w + b, and the same y for 2x + 7
  const w = r64(2, [3, 4]), b = r64(3, [3, 4]);
  assertAllClose(
    T.layerNorm(x, [3, 4], w, b, { eps: 0 }),
    T.add(T.mul(y, w), b),
    tight,
  );
  const shifted = T.add(T.mul(x, 2), 7);
  assertAllClose(T.layerNorm(shifted, [3, 4], null, null, { eps: 0 }), y, {
    atol: 1e-13,
    rtol: 1e-13,
  });
  // eps = var adds under the root: y / sqrt(2) when the variance is 1
  const unit = T.layerNorm(x, 4, null, null, { eps: 0 });
  assertAllClose(
    T.layerNorm(unit, 4, null, null, { eps: 1 }),
    T.div(unit, Math.SQRT2),
    tight,
  );
  // groupNorm with one group is layerNorm over [C, H, W]; with C groups, over [H, W]
  const img = r64(4, [2, 4, 3, 3]);
  assertAllClose(
    T.groupNorm(img, 1),
    T.layerNorm(img, [4, 3, 3]),
    tight,
  );
  assertAllClose(T.groupNorm(img, 4), T.layerNorm(img, [3, 3]), tight);
  // 2 groups: each half of the channels on its own
  const halves = [0, 2].map((c) =>
    T.layerNorm(T.slice(img, [0, c, 0, 0], [2, c + 2, 3, 3]), [2, 3, 3])
  );
  assertAllClose(T.groupNorm(img, 2), T.concat(halves, 1), tight);
  const gw = r64(5, [4]), gb = r64(6, [4]);
  assertAllClose(
    T.groupNorm(img, 2, gw, gb),
    T.add(
      T.mul(T.groupNorm(img, 2), T.reshape(gw, [1, 4, 1, 1])),
      T.reshape(gb, [1, 4, 1, 1]),
    ),
    tight,
  );
  // float32 in, float32 out; a float64 weight promotes
  const x32 = T.astype(x, "float32");
  assert.equal(T.layerNorm(x32, 4).dtype, "float32");
  assert.equal(T.layerNorm(x32, 4, T.ones([4], f64)).dtype, "float64");
});

Deno.test("huberLoss, smoothL1Loss, klDiv, cosineSimilarity: closed forms and identities", () => {
  const x = r64(7, [3, 4]), t = r64(8, [3, 4]);
  // huber(delta) = delta · smoothL1(beta = delta); smoothL1(beta = 0) = l1
  for (const delta of [0.3, 1, 2.5]) {
    assertAllClose(
      T.huberLoss(x, t, { delta, reduction: "none" }),
      T.mul(T.smoothL1Loss(x, t, { beta: delta, reduction: "none" }), delta),
      tight,
    );
  }
  assertAllClose(T.smoothL1Loss(x, t, { beta: 0 }), T.l1Loss(x, t), tight);
  assertAllClose(
    T.huberLoss(T.tensor([0.5, -3, 2], f64), T.zeros([3], f64), {
      reduction: "none",
    }),
    [0.125, 2.5, 1.5],
    tight,
  );
  // a huge delta is half the squared error
  assertAllClose(
    T.huberLoss(x, t, { delta: 1e6 }),
    T.mul(T.mseLoss(x, t), 0.5),
    tight,
  );
  // klDiv: logTarget is the same divergence; batchmean = sum / N; mean = sum / size
  const logq = T.logSoftmax(x, 1), p = T.softmax(t, 1);
  const sum = T.item(T.klDiv(logq, p, { reduction: "sum" }));
  assertAllClose(
    T.klDiv(logq, T.log(p), { logTarget: true, reduction: "none" }),
    T.klDiv(logq, p, { reduction: "none" }),
    tight,
  );
  assertAllClose(T.klDiv(logq, p, { reduction: "batchmean" }), sum / 3, tight);
  assertAllClose(T.klDiv(logq, p), sum / 12, tight);
  assertAllClose(T.klDiv(T.log(p), p, { reduction: "sum" }), 0, tight);
  assert.ok(sum > 0);
  // a zero target contributes 0, and its derivative in target is -input (not NaN)
  const z = T.tensor([0, 1], f64), lq = T.tensor([-2, -0.1], f64);
  assertAllClose(T.klDiv(lq, z, { reduction: "none" }), [0, 0.1], tight);
  const dt = T.grad((tt: Tensor) => T.klDiv(lq, tt, { reduction: "sum" }))(z);
  assertAllClose(dt, [2, 1 + 0.1], tight);
  // cosineSimilarity: 1 with itself, -1 with its negative, scale-free
  const a = r64(9, [4, 5]);
  assertAllClose(T.cosineSimilarity(a, a), T.ones([4], f64), tight);
  assertAllClose(T.cosineSimilarity(a, T.neg(a)), T.full([4], -1, f64), tight);
  assertAllClose(
    T.cosineSimilarity(T.mul(a, 3), a, { axis: 0 }),
    T.cosineSimilarity(a, a, { axis: 0 }),
    tight,
  );
  const u = T.tensor([1, 0], f64), v = T.tensor([1, 1], f64);
  assertAllClose(T.cosineSimilarity(u, v, { axis: 0 }), Math.SQRT1_2, tight);
  // eps: a norm under eps is taken as eps
  assertAllClose(
    T.cosineSimilarity(T.mul(u, 0.1), v, { axis: 0, eps: 0.5 }),
    0.1 / (0.5 * Math.SQRT2),
    tight,
  );
  // int32 inputs compute in float32
  const i = T.tensor([[3, 4]], { dtype: "int32" });
  assert.equal(T.cosineSimilarity(i, i).dtype, "float32");
});

Deno.test("dropout2d: whole channels dropped at rate p and the rest scaled, the same mask for the same key, the identity when not training", () => {
  const x = T.ones([50, 40, 2, 3]);
  const key = random.key(3);
  const y = T.dropout2d(x, { p: 0.3, key });
  const channels = [...Array(2000).keys()].map((c) => y.data[6 * c]);
  for (let c = 0; c < 2000; c++) {
    const ch = y.data.slice(6 * c, 6 * c + 6);
    assert.ok(ch.every((v) => v === channels[c]), `channel ${c} is not whole`);
  }
  const kept = channels.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  const rate = 1 - kept.length / 2000; // 0.3 ± 4 standard deviations (0.01)
  assert.ok(Math.abs(rate - 0.3) < 0.041, `dropped ${rate}`);
  assert.deepEqual(T.dropout2d(x, { p: 0.3, key }).data, y.data);
  // unbatched [C, H, W]: one draw per channel
  const u = T.dropout2d(T.ones([40, 2, 2]), { key });
  for (let c = 0; c < 40; c++) {
    assert.equal(new Set(u.data.slice(4 * c, 4 * c + 4)).size, 1);
  }
  assert.equal(T.dropout2d(x, { training: false }), x);
  assert.equal(T.dropout2d(x, { p: 0, key }), x);
  assert.equal(T.item(T.sum(T.dropout2d(x, { p: 1 }))), 0);
});

Deno.test("dropout1d: whole channels of [N, C, L] dropped at rate p, the rest scaled", () => {
  const x = T.ones([50, 40, 3]);
  const key = random.key(4);
  const y = T.dropout1d(x, { p: 0.3, key });
  const kept = [...Array(2000).keys()].filter((c) => {
    const ch = y.data.slice(3 * c, 3 * c + 3);
    assert.equal(new Set(ch).size, 1, `channel ${c} is not whole`);
    return ch[0] !== 0;
  });
  assert.ok(kept.every((c) => Math.abs(y.data[3 * c] - 1 / 0.7) < 1e-6));
  const rate = 1 - kept.length / 2000; // 0.3 ± 4 standard deviations
  assert.ok(Math.abs(rate - 0.3) < 0.041, `dropped ${rate}`);
  // the mask is dropout2d's on a width of 1
  assert.deepEqual(
    y.data,
    T.dropout2d(T.expandDims(x, 3), { p: 0.3, key }).data,
  );
  assert.equal(T.dropout1d(x, { training: false }), x);
  assert.throws(
    () => T.dropout1d(T.ones([2, 3, 4, 5]), { key }),
    /^Error: dropout1d: x must be \[N, C, L\] or unbatched \[C, L\], got \[2,3,4,5\]$/,
  );
});

Deno.test("alphaDropout and featureAlphaDropout: PyTorch's a and b on the kept and dropped entries, a standard input stays standard", () => {
  const p = 0.2, key = random.key(6);
  const x = random.normal(random.key(5), [200, 500], { dtype: "float64" });
  const y = T.alphaDropout(x, { p, key });
  // PyTorch's _dropout_impl: a = 1 / sqrt((alpha² p + 1)(1 - p)),
  // kept: a·x + alpha·a·p, dropped: -alpha·a + alpha·a·p
  const alpha = 1.7580993408473766;
  const a = 1 / Math.sqrt((alpha * alpha * p + 1) * (1 - p));
  const keep = random.bernoulli(key, 1 - p, [200, 500]).data;
  y.data.forEach((v, i) => {
    const want = keep[i]
      ? a * x.data[i] + alpha * a * p
      : -alpha * a + alpha * a * p;
    assert.ok(Math.abs(v - want) < 1e-12, `entry ${i}: ${v} vs ${want}`);
  });
  const m = T.item(T.mean(y)), v = T.item(T.var(y));
  assert.ok(
    Math.abs(m) < 0.01 && Math.abs(v - 1) < 0.02,
    `mean ${m}, variance ${v}`,
  );
  // whole channels: one draw per [N, C]
  const f = T.featureAlphaDropout(
    T.ones([30, 20, 2, 2], { dtype: "float64" }),
    { p, key },
  );
  for (let c = 0; c < 600; c++) {
    assert.equal(new Set(f.data.slice(4 * c, 4 * c + 4)).size, 1);
  }
  const fKeep = random.bernoulli(key, 1 - p, [30, 20, 1, 1]).data;
  for (let c = 0; c < 600; c++) {
    const want = fKeep[c] ? a + alpha * a * p : -alpha * a + alpha * a * p;
    assert.ok(Math.abs(f.data[4 * c] - want) < 1e-12);
  }
  // p 0 or not training: the identity; p 1: zeros, as PyTorch's
  assert.equal(T.alphaDropout(x, { p: 0, key }), x);
  assert.equal(T.featureAlphaDropout(x, { training: false }), x);
  assert.equal(T.item(T.sum(T.abs(T.alphaDropout(x, { p: 1 })))), 0);
  assert.throws(
    () => T.featureAlphaDropout(T.ones([5]), { key }),
    /^Error: featureAlphaDropout: x must be \[N, C, \.\.\.\] \(at least 2-D\), got \[5\]$/,
  );
  assert.throws(
    () => T.alphaDropout(x, { p: 0.5 }),
    /^Error: alphaDropout: training needs options.key/,
  );
  assert.throws(
    () => T.alphaDropout(T.ones([2], { dtype: "int32" }), { p: 0.5, key }),
    /^Error: alphaDropout: x must be float32 or float64, got int32/,
  );
});

Deno.test("channelShuffle: channel g·(C/groups) + i goes to i·groups + g; shuffling by C/groups undoes it; errors", () => {
  const x = random.normal(random.key(1), [2, 12, 3, 2]);
  const y = T.channelShuffle(x, 3);
  for (let g = 0; g < 3; g++) {
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(
        T.slice(y, [0, i * 3 + g, 0, 0], [2, i * 3 + g + 1, 3, 2]).data,
        T.slice(x, [0, g * 4 + i, 0, 0], [2, g * 4 + i + 1, 3, 2]).data,
      );
    }
  }
  assert.deepEqual(T.channelShuffle(y, 4).data, x.data);
  assert.throws(
    () => T.channelShuffle(x, 5),
    /^Error: channelShuffle: x's 12 channels must be divisible by groups 5, got x \[2,12,3,2\]$/,
  );
  assert.throws(
    () => T.channelShuffle(T.ones([12, 3]), 3),
    /^Error: channelShuffle: x must be \[N, C, \.\.\.\] with at least 3 axes, got \[12,3\]$/,
  );
  assert.throws(
    () => T.channelShuffle(x, 0),
    /^Error: channelShuffle: groups must be an integer >= 1, got 0$/,
  );
  assert.throws(
    () => T.nn.channelShuffle({ groups: 1.5 }),
    /^Error: nn.channelShuffle: groups must be/,
  );
});

Deno.test("errors: layerNorm, groupNorm, dropout2d", () => {
  const x = T.zeros([2, 3]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.layerNorm(x, [4]),
      /^Error: layerNorm: normalizedShape \[4\] expects x of shape \[\*, 4\], got x \[2,3\]$/,
    ],
    [
      () => T.layerNorm(x, [2, 3, 1]),
      /layerNorm: normalizedShape \[2,3,1\] expects x of shape \[\*, 2, 3, 1\], got x \[2,3\]/,
    ],
    [
      () => T.layerNorm(x, []),
      /layerNorm: normalizedShape must be a positive integer or a non-empty array of them, got an array of length 0/,
    ],
    [
      () => T.layerNorm(x, [0]),
      /layerNorm: normalizedShape\[0\] must be a positive integer, got 0/,
    ],
    [
      () => T.layerNorm(x, 3, T.ones([2])),
      /layerNorm: weight must have shape \[3\] \(normalizedShape\), got \[2\]/,
    ],
    [
      () => T.layerNorm(x, 3, null, T.ones([3, 1])),
      /layerNorm: bias must have shape \[3\] \(normalizedShape\), got \[3,1\]/,
    ],
    [
      () => T.layerNorm(x, 3, null, null, { eps: -1 }),
      /layerNorm: eps must be a finite number >= 0, got -1/,
    ],
    [
      () => T.layerNorm(x, 3, null, null, { epsilon: 1 } as never),
      /layerNorm: unknown option "epsilon" \(known options: eps\)/,
    ],
    [
      () => T.layerNorm(T.zeros([2, 3], { dtype: "int32" }), 3),
      /layerNorm: x must be float32 or float64, got int32 \[2,3\]/,
    ],
    [
      () => T.groupNorm(x, 2),
      /groupNorm: x has 3 channels, which numGroups 2 does not divide \(x \[2,3\]\)/,
    ],
    [
      () => T.groupNorm(T.zeros([3]), 1),
      /groupNorm: x must be \[N, C, \.\.\.\], got \[3\]/,
    ],
    [
      () => T.groupNorm(x, 1.5),
      /groupNorm: numGroups must be a positive integer, got 1\.5/,
    ],
    [
      () => T.groupNorm(x, 3, T.ones([2])),
      /groupNorm: weight must have shape \[3\] \(one per channel\), got \[2\]/,
    ],
    [
      () => T.dropout2d(x, { key: random.key(0) }),
      /dropout2d: x must be \[N, C, H, W\] or unbatched \[C, H, W\], got \[2,3\]/,
    ],
    [
      () => T.dropout2d(T.zeros([1, 2, 2, 2]), { p: 1.5 }),
      /dropout2d: p must be in \[0, 1\], got 1\.5/,
    ],
    [
      () => T.dropout2d(T.zeros([1, 2, 2, 2])),
      /dropout2d: training needs options\.key \(a random\.key\) to draw the mask/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("errors: huberLoss, smoothL1Loss, klDiv, cosineSimilarity", () => {
  const a = T.zeros([2, 3]), b = T.zeros([3]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.huberLoss(a, b),
      /^Error: huberLoss: input \[2,3\] and target \[3\] must have the same shape$/,
    ],
    [
      () => T.huberLoss(a, a, { delta: 0 }),
      /huberLoss: delta must be a finite number > 0, got 0/,
    ],
    [
      () => T.huberLoss(a, a, { reduction: "avg" as never }),
      /huberLoss: reduction must be "mean", "sum" or "none", got "avg"/,
    ],
    [
      () => T.smoothL1Loss(a, a, { beta: -1 }),
      /smoothL1Loss: beta must be a finite number >= 0, got -1/,
    ],
    [
      () => T.smoothL1Loss(T.zeros([2], { dtype: "int32" }), T.zeros([2])),
      /smoothL1Loss: input must be float32 or float64, got int32 \[2\]/,
    ],
    [
      () => T.klDiv(a, a, { reduction: "avg" as never }),
      /klDiv: reduction must be "mean", "batchmean", "sum" or "none", got "avg"/,
    ],
    [
      () => T.klDiv(a, a, { logTarget: 1 as never }),
      /klDiv: logTarget must be a boolean, got number 1/,
    ],
    [
      () => T.klDiv(a, T.zeros([2, 1])),
      /klDiv: input \[2,3\] and target \[2,1\] must have the same shape/,
    ],
    [
      () => T.cosineSimilarity(a, T.zeros([2])),
      /cosineSimilarity: x1 \[2,3\] and x2 \[2\] do not broadcast/,
    ],
    [
      () => T.cosineSimilarity(a, b, { axis: 2 }),
      /cosineSimilarity: axis 2 is out of range for x with 2 dims \(shape \[2,3\]\)/,
    ],
    [
      () => T.cosineSimilarity(T.zeros([]), T.zeros([])),
      /cosineSimilarity: x1 and x2 must have at least one axis, got \[\]/,
    ],
    [
      () => T.cosineSimilarity(a, a, { dim: 1 } as never),
      /cosineSimilarity: unknown option "dim" \(known options: axis, eps\)/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("nn.layerNorm, nn.groupNorm, nn.dropout2d: reprs, PyTorch's init and state_dict keys, apply, summary, errors", () => {
  const net = nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3 }),
    nn.groupNorm({ numGroups: 2, numChannels: 4 }),
    nn.dropout2d({ p: 0.25 }),
    nn.flatten(),
    nn.layerNorm({ normalizedShape: 16, eps: 1e-3 }),
  );
  const params = net.init(random.key(0));
  assert.deepEqual(T.treePaths(params).map(([p]) => p), [
    "0.bias",
    "0.weight",
    "1.bias",
    "1.weight",
    "4.bias",
    "4.weight",
  ]);
  assert.deepEqual(T.toArray(params[1].weight), [1, 1, 1, 1]);
  assert.deepEqual(T.toArray(params[4].bias), new Array(16).fill(0));
  assert.ok(net.info.needsKey);
  const x = r64(11, [2, 1, 4, 4]);
  const conv = T.conv2d(x, params[0].weight, params[0].bias);
  const expected = T.layerNorm(
    T.flatten(T.groupNorm(conv, 2)),
    16,
    null,
    null,
    { eps: 1e-3 },
  );
  assertAllClose(net.apply(params, x), expected, tight);
  // training: dropout2d drops channels (the key split by the sequential)
  const yt = net.apply(params, x, { training: true, key: random.key(1) });
  assert.deepEqual(yt.shape, [2, 16]);
  const text = nn.summary(net, [2, 1, 4, 4]);
  assert.match(text, /\(1\): GroupNorm\(2, 4, eps=1e-05, affine=True\)/);
  assert.match(text, /\(2\): Dropout2d\(p=0\.25, inplace=False\)/);
  assert.match(
    text,
    /\(4\): LayerNorm\(\(16,\), eps=0\.001, elementwise_affine=True\)/,
  );
  assert.match(text, /├─GroupNorm \(1\)\s+\[2, 4, 2, 2\]\s+8\n/);
  assert.match(text, /├─LayerNorm \(4\)\s+\[2, 16\]\s+32\n/);
  assert.match(text, /Total params: 80\n/);
  // no affine: no params
  const plain = nn.groupNorm({ numGroups: 1, numChannels: 3, affine: false });
  assert.deepEqual(plain.init(random.key(0)), {});
  assert.equal(
    nn.layerNorm({ normalizedShape: [2, 3], dtype: "float64" }).init(
      random.key(0),
    ).weight.dtype,
    "float64",
  );
  const errors: [() => unknown, RegExp][] = [
    [
      () => nn.groupNorm({ numGroups: 2, numChannels: 3 }),
      /nn\.groupNorm: numChannels 3 must be divisible by numGroups 2/,
    ],
    [
      () => nn.groupNorm({ numGroups: 2 } as never),
      /nn\.groupNorm: /,
    ],
    [
      () => nn.layerNorm({ normalizedShape: [] }),
      /nn\.layerNorm: normalizedShape must be a positive integer or a non-empty array of them, got an array of length 0/,
    ],
    [
      () => nn.layerNorm({ normalizedShape: 4, bias: false } as never),
      /nn\.layerNorm: unknown option "bias"/,
    ],
    [
      () => nn.dropout2d({ p: 2 }),
      /nn\.dropout2d: p must be in \[0, 1\], got 2/,
    ],
    [
      () => nn.summary(nn.layerNorm({ normalizedShape: 4 }), [2, 3]),
      /nn\.LayerNorm: expected an input of shape \[\*, 4\], got \[2,3\]/,
    ],
    [
      () =>
        nn.summary(nn.groupNorm({ numGroups: 1, numChannels: 4 }), [2, 3, 5]),
      /nn\.GroupNorm: expected an input \[N, 4, \.\.\.\], got \[2,3,5\]/,
    ],
    [
      () => nn.summary(nn.dropout2d(), [2, 3]),
      /nn\.Dropout2d: expected an input \[N, C, H, W\] or \[C, H, W\], got \[2,3\]/,
    ],
    [
      () => nn.dropout2d().apply({}, T.zeros([1, 2, 2, 2]), { training: true }),
      /nn\.Dropout2d\.apply: training needs opts\.key/,
    ],
  ];
  for (const [f, re] of errors) assert.throws(f, re);
});

Deno.test("instanceNorm: groupNorm with a group per channel; errors", () => {
  const x = T.random.normal(T.random.key(3), [2, 3, 4, 5], f64);
  const w = T.tensor([0.5, 1, 2], f64), b = T.tensor([1, 0, -1], f64);
  assertAllClose(
    T.instanceNorm(x, { weight: w, bias: b }).y,
    T.groupNorm(x, 3, w, b),
    { atol: 1e-13, rtol: 1e-13 },
  );
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.instanceNorm(T.zeros([2, 3])),
      /^instanceNorm: x must be \[N, C, \.\.\.\] with at least one spatial axis, got \[2,3\]$/,
    ],
    [
      () => T.instanceNorm(T.zeros([2, 3, 1])),
      /^instanceNorm: each instance needs more than 1 value \(x \[2,3,1\] has one position per channel\)$/,
    ],
    [
      () => T.instanceNorm(T.zeros([2, 3, 4]), { useInputStats: false }),
      /^instanceNorm: useInputStats: false normalises with runningMean and runningVar, which are missing$/,
    ],
    [
      () => T.instanceNorm(T.zeros([2, 3, 4]), { weight: T.ones([2]) }),
      /^instanceNorm: weight must have shape \[3\] for x \[2,3,4\], got \[2\]$/,
    ],
    [
      () => T.instanceNorm(T.zeros([2, 3, 4]), { momentum: NaN }),
      /^instanceNorm: momentum must be a finite number/,
    ],
    [
      () => T.nn.instanceNorm2d({ numFeatures: 2, momentum: null }),
      /^nn\.instanceNorm2d: momentum must be a number \(instance norm has no cumulative average\), got null$/,
    ],
    [
      () =>
        T.nn.instanceNorm2d({ numFeatures: 2 }).apply({}, T.zeros([3, 2, 3])),
      /^nn\.InstanceNorm2d: expected 2 channels, got 3 \(input \[3,2,3\]\)$/,
    ],
    [
      () =>
        T.nn.instanceNorm1d({ numFeatures: 2 }).apply(
          {},
          T.zeros([2, 2, 3, 3]),
        ),
      /^nn\.InstanceNorm1d: expected a 3-D input \[N, C, L\] or an unbatched 2-D one \[C, L\], got \[2,2,3,3\]$/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e) => {
      assert.ok(e instanceof Error && e.constructor === Error, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
  // unbatched [C, H, W] is the batch of one
  const inorm = T.nn.instanceNorm2d({ numFeatures: 3, dtype: "float64" });
  const one = T.slice(x, [0, 0, 0, 0], [1, 3, 4, 5]);
  assert.deepEqual(
    inorm.apply({}, T.squeeze(one, 0)).data,
    T.squeeze(inorm.apply({}, one), 0).data,
  );
});
