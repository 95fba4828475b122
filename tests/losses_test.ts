/**
 * Losses (ops/losses.ts): argument errors of crossEntropy, nllLoss, mseLoss,
 * l1Loss and binaryCrossEntropyWithLogits. Their values and gradients are
 * checked against PyTorch (cnn_fixtures_test.ts, numerics_test.ts) and by the
 * gradient table (grad_table_test.ts, rows in _cnn_table.ts); the index is in
 * docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

Deno.test("errors: class labels for crossEntropy and nllLoss", () => {
  const logits = T.zeros([2, 3]);
  const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });
  for (
    const [name, fn] of [["crossEntropy", T.crossEntropy], [
      "nllLoss",
      T.nllLoss,
    ]] as const
  ) {
    assert.throws(
      () => fn(logits, i32([0, 3])),
      new RegExp(
        `^Error: ${name}: labels must be in \\[0, 3\\) \\(or ignoreIndex -100\\), got 3 at flat index 1 \\(labels \\[2\\]\\)$`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([-1, 0])),
      /labels must be in \[0, 3\).*got -1 at flat index 0/,
    );
    assert.throws(
      () => fn(logits, i32([0, 0, 0])),
      new RegExp(
        `${name}: labels must have shape \\[2\\] for input \\[2,3\\], got \\[3\\]`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([0, 1]), { reduction: "avg" as T.Reduction }),
      new RegExp(
        `${name}: reduction must be "mean", "sum" or "none", got "avg"`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([0, 1]), { weight: T.ones([2]) }),
      new RegExp(
        `${name}: weight must have shape \\[3\\] \\(one per class\\), got \\[2\\]`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([0, 1]), { ignore_index: 1 } as never),
      /unknown option "ignore_index"/,
    );
  }
  // ignoreIndex makes an otherwise out-of-range label legal
  assert.doesNotThrow(() => T.nllLoss(logits, i32([0, 7]), { ignoreIndex: 7 }));
  // float labels: nllLoss wants int32 class indices ...
  assert.throws(
    () => T.nllLoss(logits, T.tensor([0, 1])),
    /^Error: nllLoss: labels must be int32 class indices, got float32 \[2\]$/,
  );
  // ... while crossEntropy reads float labels as class probabilities of the logits' shape
  assert.throws(
    () => T.crossEntropy(logits, T.tensor([0, 1])),
    /crossEntropy: logits \[2,3\] and labels \(class probabilities\) \[2\] must have the same shape/,
  );
  assert.throws(
    () => T.crossEntropy(logits, i32([0, 1]), { labelSmoothing: 1.5 }),
    /crossEntropy: labelSmoothing must be in \[0, 1\], got 1.5/,
  );
  assert.throws(
    () => T.crossEntropy(T.zeros([3]), i32([0])),
    /crossEntropy: with unbatched input \[3\], labels must be a class index of shape \[\] or class probabilities of shape \[3\], got int32 \[1\]/,
  );
});

Deno.test("errors: mseLoss, l1Loss, binaryCrossEntropyWithLogits", () => {
  const z = (s: number[]) => T.zeros(s);
  assert.throws(
    () => T.mseLoss(z([2, 3]), z([3, 2])),
    /mseLoss: x \[2,3\] and target \[3,2\] must have the same shape/,
  );
  assert.throws(
    () => T.l1Loss(z([2]), z([2]), { reduction: "max" as T.Reduction }),
    /l1Loss: reduction must be/,
  );
  assert.throws(
    () => T.binaryCrossEntropyWithLogits(z([2]), z([3])),
    /binaryCrossEntropyWithLogits: logits \[2\] and targets \[3\] must have the same shape/,
  );
});

Deno.test("binaryCrossEntropy: an input outside [0, 1] is an error in eager calls, jit replays and vmap; a saturated sigmoid's 0 and 1 give finite gradients", () => {
  const bad = (v: number, i: number, shape: string) =>
    new RegExp(
      `^Error: binaryCrossEntropy: input must hold probabilities in \\[0, 1\\] \\(for logits use binaryCrossEntropyWithLogits\\), got ${v} at flat index ${i} \\(input \\[${shape}\\]\\)$`,
    );
  const y = T.tensor([1, 0, 1]);
  assert.throws(
    () => T.binaryCrossEntropy(T.tensor([0.5, 1.5, 0.2]), y),
    bad(1.5, 1, "3"),
  );
  assert.throws(
    () => T.binaryCrossEntropy(T.tensor([0.5, NaN, 0.2]), y),
    bad(NaN, 1, "3"),
  );
  // in a replay of the plan (the check is the kernel's, not the trace's)
  const f = T.jit((p: T.Tensor) => T.binaryCrossEntropy(p, y));
  const good = f(T.tensor([0.5, 0.5, 0.5]));
  assert.throws(() => f(T.tensor([0.5, -0.25, 0.5])), bad(-0.25, 1, "3"));
  assert.equal(f.traceCount(), 1);
  assert.deepEqual(
    T.toArray(f(T.tensor([0.5, 0.5, 0.5]))),
    T.toArray(good),
  );
  // under vmap, every example's values (the index counts across them)
  assert.throws(
    () =>
      T.vmap((p: T.Tensor) => T.binaryCrossEntropy(p, y))(
        T.tensor([[0.5, 0.5, 0.5], [0.5, 0.5, 2]]),
      ),
    bad(2, 5, "2,3"),
  );
  // sigmoid(40) is 1 and sigmoid(-120) 0 in float32: PyTorch's gradient,
  // (p - y) / max(p (1 - p), 1e-12), stays finite (it was NaN as a composition)
  const g = T.grad((x: T.Tensor) =>
    T.binaryCrossEntropy(T.sigmoid(x), T.tensor([0, 1]), { reduction: "sum" })
  )(T.tensor([40, -120]));
  assert.ok(Array.from(g.data).every(Number.isFinite), `${Array.from(g.data)}`);
});

Deno.test("gaussianNllLoss: a negative variance is an error in eager calls, jit replays and vmap; the closed form; var's shapes; errors", () => {
  const f64 = { dtype: "float64" } as const;
  const mu = T.tensor([[0, 1], [2, 3]], f64),
    y = T.tensor([[1, 1], [0, 3]], f64);
  const bad = (i: number, extra = "") =>
    new RegExp(
      `^Error: gaussianNllLoss: var must be >= 0, got a negative entry at flat index ${i} \\(var \\[2,2\\]${extra}\\)$`,
    );
  assert.throws(
    () => T.gaussianNllLoss(mu, y, T.tensor([[1, 1], [-0.5, 1]], f64)),
    bad(2),
  );
  const f = T.jit((v: T.Tensor) => T.gaussianNllLoss(mu, y, v));
  const good = f(T.tensor([[1, 2], [3, 4]], f64));
  assert.throws(() => f(T.tensor([[1, 2], [3, -4]], f64)), bad(3));
  assert.equal(f.traceCount(), 1);
  assert.deepEqual(
    T.toArray(f(T.tensor([[1, 2], [3, 4]], f64))),
    T.toArray(good),
  );
  assert.throws(
    () =>
      T.vmap((v: T.Tensor) => T.gaussianNllLoss(mu, y, v))(
        T.tensor([[[1, 1], [1, 1]], [[1, 1], [1, -1]]], f64),
      ),
    bad(7, ", each of 2 examples'"),
  );
  // the closed form, with one variance per row ([N] and [N, 1] alike)
  const rows = T.tensor([2, 0.5], f64);
  const want = (0.5 * (Math.log(2) + 1 / 2) + 0.5 * Math.log(2) +
        0.5 * (Math.log(0.5) + 4 / 0.5) + 0.5 * Math.log(0.5)) / 4 +
    0.5 * Math.log(2 * Math.PI);
  for (const v of [rows, T.reshape(rows, [2, 1])]) {
    const l = T.item(T.gaussianNllLoss(mu, y, v, { full: true }));
    assert.ok(Math.abs(l - want) < 1e-14, `${l} vs ${want}`);
  }
  // below eps the value is clamped and the gradient is var's own (PyTorch's no_grad clamp)
  const g = T.grad((v: T.Tensor) =>
    T.gaussianNllLoss(mu, y, v, { eps: 0.5, reduction: "sum" })
  )(T.tensor([[0.1, 1], [1, 1]], f64));
  // d/dv 0.5 (log v + d² / v) at v = 0.5 (clamped), d = -1: 0.5 (1/0.5 - 1/0.25)
  assert.ok(Math.abs(g.data[0] - 0.5 * (2 - 4)) < 1e-14);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.gaussianNllLoss(mu, y, T.ones([2, 3], f64)),
      /^Error: gaussianNllLoss: var must have input's shape \[2,2\], or it without its last axis, or with 1 there; got var \[2,3\]$/,
    ],
    [
      () => T.gaussianNllLoss(mu, T.ones([2], f64), mu),
      /^Error: gaussianNllLoss: input \[2,2\] and target \[2\] must have the same shape$/,
    ],
    [
      () => T.gaussianNllLoss(mu, y, mu, { eps: 0 }),
      /^Error: gaussianNllLoss: eps must be a finite number > 0, got 0$/,
    ],
    [
      () => T.gaussianNllLoss(mu, y, mu, { full: 1 as never }),
      /^Error: gaussianNllLoss: full must be a boolean, got number 1$/,
    ],
    [
      () => T.gaussianNllLoss(mu, y, T.ones([2, 2], { dtype: "int32" })),
      /^Error: gaussianNllLoss: var must be float32 or float64, got int32/,
    ],
  ];
  for (const [fn, re] of cases) assert.throws(fn, re);
});

Deno.test("errors: the margin and embedding losses name the loss, the argument, what was expected and what came", () => {
  const x = T.zeros([4, 3]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.marginRankingLoss(x, T.zeros([4, 2]), x),
      /^marginRankingLoss: input1 \[4,3\] and input2 \[4,2\] must have the same shape$/,
    ],
    [
      () => T.hingeEmbeddingLoss(x, x, { margin: NaN }),
      /^hingeEmbeddingLoss: margin must be a finite number, got number NaN$/,
    ],
    [
      () => T.multiMarginLoss(x, T.tensor([0, 1, 3, 2], { dtype: "int32" })),
      /^multiMarginLoss: labels must be in \[0, 3\), got 3 at flat index 2 \(labels \[4\]\)$/,
    ],
    [
      () => T.multiMarginLoss(x, T.zeros([4]), {}),
      /^multiMarginLoss: labels must be int32 class indices, got float32 \[4\]$/,
    ],
    [
      () =>
        T.multiMarginLoss(x, T.zeros([4], { dtype: "int32" }), { p: 3 as 1 }),
      /^multiMarginLoss: p must be 1 or 2, got number 3$/,
    ],
    [
      () =>
        T.multiMarginLoss(x, T.zeros([4], { dtype: "int32" }), {
          weight: T.ones([4]),
        }),
      /^multiMarginLoss: weight must have shape \[3\] \(one per class\), got \[4\]$/,
    ],
    [
      () => T.cosineEmbeddingLoss(x, x, T.ones([3])),
      /^cosineEmbeddingLoss: target must have shape \[4\] for inputs \[4,3\], got \[3\]$/,
    ],
    [
      () => T.pairwiseDistance(x, T.zeros([2, 3])),
      /^pairwiseDistance: x1 \[4,3\] and x2 \[2,3\] must broadcast to a shape with at least one axis$/,
    ],
    [
      () => T.tripletMarginLoss(x, x, x, { swap: 1 as never }),
      /^tripletMarginLoss: swap must be a boolean, got number 1$/,
    ],
    [
      () => T.poissonNllLoss(x, x, { eps: -1 }),
      /^poissonNllLoss: eps must be a finite number >= 0, got -1$/,
    ],
    [
      () => T.multilabelSoftMarginLoss(x, x, { weight: T.ones([4]) }),
      /^multilabelSoftMarginLoss: weight \[4\] must broadcast to the loss's shape \[4,3\]$/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e) => {
      assert.ok(e instanceof Error && e.constructor === Error, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
  // PyTorch's documented example of multi_margin_loss, and a 1-D input with a scalar label
  const y = T.tensor([[0.1, 0.2, 0.4, 0.8]], { dtype: "float64" });
  const l = T.item(T.multiMarginLoss(y, T.tensor([3], { dtype: "int32" })));
  assert.ok(Math.abs(l - 0.325) < 1e-15);
  const l1 = T.multiMarginLoss(
    T.reshape(y, [4]),
    T.tensor(3, { dtype: "int32" }),
    { reduction: "none" },
  );
  assert.deepEqual(l1.shape, []);
  assert.ok(Math.abs(T.item(l1) - 0.325) < 1e-15);
});

Deno.test("crossEntropy and nllLoss: unbatched input [C] with a label of shape [] (or probabilities [C]) is a batch of one with a loss of shape [], as PyTorch", () => {
  const x = T.tensor([0.1, 0.2, 0.3], { dtype: "float64" });
  const label = T.tensor(1, { dtype: "int32" });
  const batched = T.expandDims(x, 0),
    labels = T.tensor([1], { dtype: "int32" });
  for (const reduction of ["mean", "sum", "none"] as const) {
    for (
      const [name, f] of [
        [
          "crossEntropy",
          (a: Tensor, l: Tensor) =>
            T.crossEntropy(a, l, { reduction, labelSmoothing: 0.1 }),
        ],
        [
          "nllLoss",
          (a: Tensor, l: Tensor) =>
            T.nllLoss(T.logSoftmax(a), l, { reduction }),
        ],
      ] as const
    ) {
      const got = f(x, label), want = f(batched, labels);
      assert.deepEqual(got.shape, [], `${name} ${reduction}`);
      assert.equal(got.data[0], want.data[0], `${name} ${reduction}`);
      const g = T.grad((v: Tensor) => T.sum(f(v, label)))(x);
      const gb = T.grad((v: Tensor) => T.sum(f(v, labels)))(batched);
      assert.deepEqual(Array.from(g.data), Array.from(gb.data));
    }
  }
  const p = T.tensor([0.2, 0.5, 0.3], { dtype: "float64" });
  assert.equal(
    T.item(T.crossEntropy(x, p)),
    T.item(T.crossEntropy(batched, T.expandDims(p, 0))),
  );
  assert.throws(
    () => T.crossEntropy(x, labels),
    /^Error: crossEntropy: with unbatched input \[3\], labels must be a class index of shape \[\] or class probabilities of shape \[3\], got int32 \[1\]$/,
  );
  assert.throws(
    () => T.crossEntropy(T.tensor(1), label),
    /^Error: crossEntropy: logits must be \[N, C, \.\.\.\], got \[\]$/,
  );
});
