/**
 * dropout and batchNorm (ops/normalization.ts): dropout's keep rate, scale and
 * mask gradient, batchNorm's evaluation and training statistics by hand, and
 * argument errors. The layers (nn.dropout, nn.batchNorm2d) are tested in
 * nn_test.ts; batchNorm's gradients in the gradient table (grad_table_test.ts,
 * rows in _cnn_table.ts) and against PyTorch (cnn_fixtures_test.ts). The
 * index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, tight } from "./_helpers.ts";
import { drawValues } from "./_op_table.ts";

const f64 = { dtype: "float64" } as const;
const rnd = (shape: number[], seed: number) => drawValues(shape, "real", seed);

Deno.test("dropout keeps about 1-p of the elements, scales them by 1/(1-p), and is the identity when not training", () => {
  const n = 20000;
  const x = T.ones([n], f64);
  for (const p of [0.1, 0.3, 0.5, 0.8]) {
    const y = T.dropout(x, { p, key: T.random.key(42) });
    const kept = Array.from(y.data).filter((v) => v !== 0);
    assert.ok(
      kept.every((v) => Math.abs(v - 1 / (1 - p)) < 1e-12),
      `p ${p}: kept values are 1/(1-p)`,
    );
    const frac = kept.length / n;
    const sd = Math.sqrt(p * (1 - p) / n);
    assert.ok(Math.abs(frac - (1 - p)) < 5 * sd, `p ${p}: kept ${frac}`);
    // the same key gives the same mask; the gradient is that mask scaled
    const g = T.grad((x: Tensor) =>
      T.sum(T.dropout(x, { p, key: T.random.key(42) }))
    )(x);
    assert.deepEqual(Array.from(g.data), Array.from(y.data));
  }
  const r = rnd([3, 4], 5);
  assert.deepEqual(
    T.toArray(T.dropout(r, { p: 0.5, training: false })),
    T.toArray(r),
  );
  assert.deepEqual(
    T.toArray(T.dropout(r, { p: 0, key: T.random.key(1) })),
    T.toArray(r),
  );
  // p = 1 is x · 0 (as PyTorch: negative x gives -0)
  const all = T.dropout(r, { p: 1, key: T.random.key(1) });
  assert.deepEqual(all.shape, [3, 4]);
  assert.ok(Array.from(all.data).every((v) => v === 0));
});

Deno.test("batchNorm eval uses the running statistics (not the batch's) and returns them unchanged", () => {
  const x = T.tensor([[1, 2], [3, 4]], f64); // batch means would be [2, 3]
  const runningMean = T.tensor([1, 2], f64),
    runningVar = T.tensor([4, 0.25], f64);
  const out = T.batchNorm(x, {
    runningMean,
    runningVar,
    weight: T.tensor([2, 1], f64),
    bias: T.tensor([0, 1], f64),
    eps: 0,
  });
  // channel 0: (x - 1) / 2 · 2 + 0; channel 1: (x - 2) / 0.5 · 1 + 1
  assert.deepEqual(T.toArray(out.y), [[0, 1], [2, 5]]);
  assert.deepEqual(T.toArray(out.runningMean!), [1, 2]);
  assert.deepEqual(T.toArray(out.runningVar!), [4, 0.25]);
  // NCHW: the statistics broadcast over H, W
  const x4 = T.reshape(T.arange(8, undefined, 1, f64), [1, 2, 2, 2]);
  const y4 = T.batchNorm(x4, { runningMean, runningVar, eps: 0 }).y;
  assert.deepEqual(T.toArray(y4), [[[[-0.5, 0], [0.5, 1]], [[4, 6], [8, 10]]]]);
  // training on the same x uses the batch statistics instead and updates the running ones
  const tr = T.batchNorm(x, {
    runningMean,
    runningVar,
    training: true,
    eps: 0,
  });
  assert.deepEqual(T.toArray(tr.y), [[-1, -1], [1, 1]]);
  assertAllClose(
    tr.runningMean!,
    [0.9 * 1 + 0.1 * 2, 0.9 * 2 + 0.1 * 3],
    tight,
  );
  // unbiased batch variance: 2 for both channels
  assertAllClose(
    tr.runningVar!,
    [0.9 * 4 + 0.1 * 2, 0.9 * 0.25 + 0.1 * 2],
    tight,
  );
});

Deno.test("errors: dropout, batchNorm", () => {
  const z = (s: number[]) => T.zeros(s);
  assert.throws(
    () => T.dropout(z([2]), { p: 1.5 }),
    /dropout: p must be in \[0, 1\], got 1.5/,
  );
  assert.throws(
    () => T.dropout(z([2]), { p: 0.5 }),
    /dropout: training needs options.key/,
  );
  assert.throws(
    () => T.batchNorm(z([2, 3])),
    /batchNorm: evaluation \(training: false\) needs runningMean and runningVar/,
  );
  assert.throws(
    () => T.batchNorm(z([1, 3]), { training: true }),
    /batchNorm: training needs more than 1 value per channel, got x \[1,3\]/,
  );
  assert.throws(
    () => T.batchNorm(z([2, 3]), { training: true, weight: z([2]) }),
    /batchNorm: weight must have shape \[3\] for x \[2,3\], got \[2\]/,
  );
});

Deno.test("batchNorm's running statistics under vmap are each example's own, as a loop over the examples gives them", () => {
  const xs = T.random.normal(T.random.key(4), [3, 4, 2, 5, 5]);
  const rm = T.tensor([0.5, -1]), rv = T.tensor([2, 0.5]);
  const f = (x: Tensor) => {
    const r = T.batchNorm(x, {
      training: true,
      runningMean: rm,
      runningVar: rv,
      momentum: 0.3,
    });
    return T.stack([r.runningMean!, r.runningVar!]);
  };
  const want = T.stack(
    [0, 1, 2].map((i) => f(T.reshape(T.slice(xs, [i], [i + 1]), [4, 2, 5, 5]))),
  );
  // (vmap's statistics are float32 ops, the loop's float64 sums)
  assertAllClose(T.vmap(f)(xs), want, { rtol: 1e-5, atol: 1e-6 });
});
