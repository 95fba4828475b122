/**
 * metrics: accuracy, topKAccuracy and confusionMatrix against plain loops
 * over JavaScript arrays, their identities, and their errors.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";

const { metrics } = T;
const int32 = { dtype: "int32" as const };

/** Random logits [n, c] with ties (small integers), and labels. */
const caseArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.integer({ min: 1, max: 6 }).chain((c) =>
    fc.record({
      n: fc.constant(n),
      c: fc.constant(c),
      logits: fc.array(fc.integer({ min: -3, max: 3 }), {
        minLength: n * c,
        maxLength: n * c,
      }),
      labels: fc.array(fc.integer({ min: 0, max: c - 1 }), {
        minLength: n,
        maxLength: n,
      }),
    })
  )
);

Deno.test("metrics: accuracy, top-k and the confusion matrix equal loops over arrays", () => {
  fc.assert(
    fc.property(caseArb, fc.integer({ min: 1, max: 6 }), (t, kRaw) => {
      const { n, c } = t;
      const logits = T.tensor(t.logits, { shape: [n, c] });
      const labels = T.tensor(t.labels, int32);
      const rows = [...Array(n).keys()].map((i) =>
        t.logits.slice(i * c, (i + 1) * c)
      );
      // the first index of the maximum, as argmax
      const pred = rows.map((r) => r.indexOf(Math.max(...r)));
      const hits = pred.filter((p, i) => p === t.labels[i]).length;
      assert.equal(metrics.accuracy(logits, labels), hits / n);
      assert.equal(
        metrics.accuracy(T.tensor(pred, int32), labels),
        hits / n,
      );
      const k = Math.min(kRaw, c);
      const inTopK = rows.filter((r, i) =>
        r.filter((v) => v > r[t.labels[i]]).length < k
      ).length;
      assert.equal(metrics.topKAccuracy(logits, labels, k), inTopK / n);
      const cm = metrics.confusionMatrix(logits, labels, c);
      const expected = [...Array(c)].map(() => Array(c).fill(0));
      pred.forEach((p, i) => expected[t.labels[i]][p]++);
      assert.deepEqual(T.toArray(cm), expected);
      // the diagonal's share is the accuracy; top-1 is the accuracy without ties
      let diag = 0;
      for (let j = 0; j < c; j++) diag += cm.data[j * c + j];
      assert.equal(diag / n, metrics.accuracy(logits, labels));
      assert.ok(metrics.topKAccuracy(logits, labels, 1) >= hits / n);
      assert.equal(metrics.topKAccuracy(logits, labels, c), 1);
    }),
    { numRuns: 100 },
  );
});

Deno.test("metrics: class axis 1 for dense predictions, 0 for one example", () => {
  // [N, C, L] logits against [N, L] labels, as crossEntropy's layout
  const logits = T.tensor([[[1, 0], [0, 1]], [[0, 0], [2, 1]]]); // [2, 2, 2]
  const labels = T.tensor([[0, 1], [1, 1]], int32);
  // argmax over axis 1 is [[0, 1], [1, 1]] (over the last axis it would be
  // [[0, 1], [0, 0]], half right)
  assert.equal(metrics.accuracy(logits, labels), 1);
  assert.equal(
    metrics.accuracy(T.tensor([0.1, 0.7, 0.2]), T.tensor(1, int32)),
    1,
  );
});

Deno.test("metrics: NaN logits rank first, the first NaN before later ones, as torch.topk and argmax; top-1 is accuracy", () => {
  const logits = T.tensor([
    [NaN, 1, 2],
    [0, 1, 2],
    [1, NaN, NaN],
    [NaN, 1, NaN],
    [5, NaN, 1],
  ]);
  const labels = T.tensor([0, 2, 2, 2, 0], int32);
  // torch 1.13: logits.topk(k, dim=1).indices is [[0], [2], [1], [0], [1]]
  // for k = 1 and [[0, 2], [2, 1], [1, 2], [0, 2], [1, 0]] for k = 2; the
  // label among them: 0.4 and 1.0 (argmax == labels: 0.4)
  assert.equal(metrics.topKAccuracy(logits, labels, 1), 0.4);
  assert.equal(metrics.accuracy(logits, labels), 0.4);
  assert.equal(metrics.topKAccuracy(logits, labels, 2), 1);
  assert.equal(metrics.topKAccuracy(logits, labels, 3), 1);
});

Deno.test("metrics: formatConfusionMatrix with class names and an empty row", () => {
  const cm = T.tensor([[0, 0], [10, 2]], int32);
  assert.equal(
    metrics.formatConfusionMatrix(cm, { classNames: ["bird", "plane"] }),
    [
      "true \\ predicted   bird  plane  recall",
      "            bird      0      0  -",
      "           plane     10      2  0.1667",
    ].join("\n"),
  );
});

Deno.test("errors: metrics arguments", () => {
  const logits = T.zeros([4, 3]);
  const labels = T.tensor([0, 1, 2, 0], int32);
  const cases: [() => unknown, RegExp][] = [
    [
      () => metrics.accuracy(logits, T.tensor([0, 1, 2, 0])),
      /accuracy: labels must be int32 class indices, got float32$/,
    ],
    [
      () => metrics.accuracy(T.zeros([4, 3, 2]), labels),
      /accuracy: predictions \[4,3,2\] do not fit labels \[4\]: expected class indices of the labels' shape or logits with a class axis at 1$/,
    ],
    [
      () => metrics.accuracy(T.zeros([4]), labels),
      /accuracy: predictions of the labels' shape must be int32 class indices, got float32/,
    ],
    [
      () => metrics.accuracy(T.zeros([0, 3]), T.zeros([0], int32)),
      /accuracy: labels is empty$/,
    ],
    [
      () => metrics.topKAccuracy(logits, labels, 4),
      /topKAccuracy: k must be an integer in \[1, 3\], got 4$/,
    ],
    [
      () => metrics.topKAccuracy(logits, T.tensor([0, 1, 3, 0], int32), 1),
      /topKAccuracy: labels has class index 3 at position 2, outside \[0, 2\]$/,
    ],
    [
      () => metrics.topKAccuracy(T.zeros([4]), labels, 1),
      /topKAccuracy: expected logits \[N, C\] and labels \[N\], got logits \[4\] and labels \[4\]$/,
    ],
    [
      () => metrics.confusionMatrix(labels, T.tensor([0, 1, 2, -1], int32), 3),
      /confusionMatrix: labels has class index -1 at position 3, outside \[0, 2\]$/,
    ],
    [
      () => metrics.confusionMatrix(labels, labels, 2),
      /confusionMatrix: labels has class index 2 at position 2, outside \[0, 1\]$/,
    ],
    [
      () => metrics.confusionMatrix(labels, labels, 0),
      /confusionMatrix: numClasses must be a positive integer, got 0$/,
    ],
    [
      () => metrics.formatConfusionMatrix(T.zeros([2, 3], int32)),
      /formatConfusionMatrix: matrix must be square \[C, C\], got \[2,3\]$/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("precisionRecallF1: scikit-learn's documented example (macro 0.22/0.33/0.27, micro 1/3, weighted as macro there), per class, logits, zero division, errors", () => {
  const y = T.tensor([0, 1, 2, 0, 1, 2], { dtype: "int32" });
  const p = T.tensor([0, 2, 1, 0, 0, 1], { dtype: "int32" });
  const near = (a: number, b: number) =>
    assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  const macro = T.metrics.precisionRecallF1(p, y, { numClasses: 3 });
  near(macro.precision, 2 / 9);
  near(macro.recall, 1 / 3);
  near(macro.f1, 0.8 / 3);
  const micro = T.metrics.precisionRecallF1(p, y, {
    numClasses: 3,
    average: "micro",
  });
  for (const v of [micro.precision, micro.recall, micro.f1]) near(v, 1 / 3);
  const weighted = T.metrics.precisionRecallF1(p, y, {
    numClasses: 3,
    average: "weighted",
  });
  near(weighted.precision, 2 / 9);
  near(weighted.f1, 0.8 / 3);
  const per = T.metrics.precisionRecallF1(p, y, {
    numClasses: 3,
    average: "none",
  });
  assert.deepEqual(per.precision, [2 / 3, 0, 0]);
  assert.deepEqual(per.recall, [1, 0, 0]);
  // against counting by hand on random predictions, every average
  const labels = T.random.randint(T.random.key(1), [200], 0, 4);
  const logits = T.random.normal(T.random.key(2), [200, 4]);
  const pred = T.argmax(logits, { axis: 1 });
  const k = 4, tp = [0, 0, 0, 0], fp = [0, 0, 0, 0], fn = [0, 0, 0, 0];
  for (let i = 0; i < 200; i++) {
    const t = labels.data[i], q = pred.data[i];
    if (t === q) tp[t]++;
    else {
      fp[q]++;
      fn[t]++;
    }
  }
  const got = T.metrics.precisionRecallF1(logits, labels, {
    numClasses: k,
    average: "none",
  });
  for (let c = 0; c < k; c++) {
    near(got.precision[c], tp[c] / (tp[c] + fp[c]));
    near(got.recall[c], tp[c] / (tp[c] + fn[c]));
  }
  // a class never predicted: 0, not NaN
  const none = T.metrics.precisionRecallF1(
    T.tensor([0, 0], { dtype: "int32" }),
    T.tensor([0, 1], { dtype: "int32" }),
    { numClasses: 3, average: "none" },
  );
  assert.deepEqual(none.precision, [0.5, 0, 0]);
  assert.throws(
    () =>
      T.metrics.precisionRecallF1(p, y, {
        numClasses: 3,
        average: "mean" as never,
      }),
    /^Error: precisionRecallF1: average must be "macro", "micro", "weighted" or "none", got "mean"$/,
  );
  assert.throws(
    () =>
      T.metrics.precisionRecallF1(p, T.tensor([], { dtype: "int32" }), {
        numClasses: 3,
      }),
    /^Error: precisionRecallF1: labels is empty$/,
  );
  assert.throws(
    () =>
      T.metrics.precisionRecallF1(p, y, { numClasses: 3, beta: 2 } as never),
    /unknown option "beta"/,
  );
});
