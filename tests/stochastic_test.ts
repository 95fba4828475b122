/**
 * rrelu and gumbelSoftmax (and nn.rrelu): the training draws are the key's
 * uniforms / Gumbel noise, inference is leakyRelu with the mean slope, the
 * straight-through gradient of hard samples, the Gumbel-max class
 * frequencies, the layer's repr and key handling, errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";

const { random, nn } = T;
const x = random.normal(random.key(0), [4, 6], { dtype: "float64" });
const key = random.key(1);

Deno.test("rrelu: in training each element <= 0 times its slope from the key's uniforms in [lower, upper), gradient that slope; in inference leakyRelu with the mean slope", () => {
  const o = { lower: 0.1, upper: 0.4, key };
  const y = T.rrelu(x, { ...o, training: true });
  const slopes = random.uniform(key, x.shape, {
    minval: 0.1,
    maxval: 0.4,
    dtype: "float64",
  });
  x.data.forEach((v, i) => {
    assert.equal(y.data[i], v > 0 ? v : v * slopes.data[i]);
  });
  const g = T.grad((v: Tensor) => T.sum(T.rrelu(v, { ...o, training: true })))(
    x,
  ) as Tensor;
  x.data.forEach((v, i) => assert.equal(g.data[i], v > 0 ? 1 : slopes.data[i]));
  assert.deepEqual(
    T.rrelu(x, { lower: 0.1, upper: 0.4 }).data,
    T.leakyRelu(x, { negativeSlope: 0.25 }).data,
  );
  // defaults 1/8 and 1/3
  assert.deepEqual(
    T.rrelu(x).data,
    T.leakyRelu(x, { negativeSlope: (1 / 8 + 1 / 3) / 2 }).data,
  );
});

Deno.test("gumbelSoftmax: softmax((logits + gumbel) / tau); hard one-hot with the soft sample's gradient; the argmax follows softmax(logits)", () => {
  const logits = T.log(
    T.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], { dtype: "float64" }),
  );
  const soft = T.gumbelSoftmax(logits, { tau: 0.5, key });
  const g = random.gumbel(key, [2, 3], { dtype: "float64" });
  assert.deepEqual(
    soft.data,
    T.softmax(T.div(T.add(logits, g), 0.5), { axis: -1 }).data,
  );
  const hard = T.gumbelSoftmax(logits, { tau: 0.5, hard: true, key });
  const idx = T.argmax(soft, { axis: 1 });
  assert.deepEqual(
    Array.from(hard.data),
    [0, 1].flatMap((r) => [0, 1, 2].map((c) => (c === idx.data[r] ? 1 : 0))),
  );
  const w = T.tensor([[1, -2, 3], [0.5, 4, -1]], { dtype: "float64" });
  const gradOf = (hardness: boolean) =>
    T.grad((l: Tensor) =>
      T.sum(T.mul(w, T.gumbelSoftmax(l, { tau: 0.5, hard: hardness, key })))
    )(logits) as Tensor;
  assertAllClose(gradOf(true), gradOf(false), { rtol: 1e-12, atol: 1e-15 });
  // classes along axis 0
  const t = T.gumbelSoftmax(T.transpose(logits, [1, 0]), {
    hard: true,
    axis: 0,
    key,
  });
  assert.deepEqual(Array.from(T.sum(t, { axis: 0 }).data), [1, 1]);
  // Gumbel-max: the hard sample's class is drawn with probability softmax(logits)
  const counts = [0, 0, 0];
  for (let s = 0; s < 3000; s++) {
    const h = T.gumbelSoftmax(T.slice(logits, [0, 0], [1, 3]), {
      hard: true,
      key: random.key(100 + s),
    });
    counts[h.data.indexOf(1)]++;
  }
  [0.2, 0.3, 0.5].forEach((p, c) => {
    const sd = Math.sqrt(3000 * p * (1 - p));
    assert.ok(
      Math.abs(counts[c] - 3000 * p) < 5 * sd,
      `class ${c}: ${counts[c]}`,
    );
  });
});

Deno.test("nn.rrelu: PyTorch's repr, a key in training (split by containers), inference without", () => {
  assert.equal(
    nn.rrelu({ lower: 0.1, upper: 0.3 }).info.repr,
    "RReLU(lower=0.1, upper=0.3)",
  );
  const net = nn.sequential(
    nn.linear({ inFeatures: 6, outFeatures: 6 }),
    nn.rrelu(),
  );
  assert.ok(net.info.needsKey);
  const p = net.init(random.key(2));
  const v = T.astype(x, "float32");
  const a = net.apply(p, v, { training: true, key: random.key(3) });
  assert.deepEqual(
    net.apply(p, v, { training: true, key: random.key(3) }).data,
    a.data,
  );
  assert.notDeepEqual(net.apply(p, v).data, a.data);
  assertErrors("nn.RReLU.apply", [[
    () => nn.rrelu().apply({}, v, { training: true }),
    /training needs opts.key/,
  ]]);
  assertErrors("nn.rrelu", [[
    () => nn.rrelu({ lower: 0.5, upper: 0.1 }),
    /lower must be at most upper, got 0.5 and 0.1/,
  ]]);
});

Deno.test("rrelu and gumbelSoftmax: errors name them", () => {
  assertErrors("rrelu", [
    [
      () => T.rrelu(x, { lower: 0.5, upper: 0.1 }),
      /lower and upper must be finite numbers with lower <= upper, got number 0.5 and number 0.1/,
    ],
    [() => T.rrelu(x, { training: true }), /training needs options.key/],
    [() => T.rrelu(T.tensor([1], { dtype: "int32" })), /x/],
  ]);
  assertErrors("gumbelSoftmax", [
    [
      () => T.gumbelSoftmax(x, { tau: 0, key }),
      /tau must be a finite number > 0, got number 0/,
    ],
    [
      () => T.gumbelSoftmax(x, { axis: 2, key }),
      /axis must be an integer in \[-2, 2\), got number 2/,
    ],
    [
      () => T.gumbelSoftmax(x, {} as never),
      /options.key \(a random.key\) is required/,
    ],
  ]);
});
