/**
 * Losses (ops/losses.ts): argument errors of crossEntropy, nllLoss, mseLoss,
 * l1Loss and binaryCrossEntropyWithLogits. Their values and gradients are
 * checked against PyTorch (cnn_fixtures_test.ts, numerics_test.ts) and by the
 * gradient table (grad_table_test.ts, rows in _cnn_table.ts); the index is in
 * docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

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
    /crossEntropy: logits must be \[N, C, \.\.\.\], got \[3\]/,
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
