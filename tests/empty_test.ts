/**
 * Empty tensors: an axis of size 0 in any argument of any op-table row, and
 * vmap over zero examples. PyTorch and JAX compute with them (an empty
 * result, a reduction's identity); here each op either does the same, with
 * gradients of its arguments' shapes and the same result under jit, or
 * refuses with a clear Error. The values where PyTorch 1.13 gives a number
 * are checked against it (its outputs quoted in each test).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { drawValues } from "./_op_table.ts";
import { allRows } from "./_rows.ts";
import { assertAllClose } from "./_helpers.ts";

/** The row's draws with axis `k` of argument `i` set to 0 (and the axes aligned with it of the same size). */
function emptied(shapes: number[][], i: number, k: number): number[][] {
  const out = shapes.map((s) => s.slice());
  const d = shapes[i][k];
  out[i][k] = 0;
  for (let j = 0; j < out.length; j++) {
    const kk = k - shapes[i].length + shapes[j].length;
    if (j !== i && kk >= 0 && kk < out[j].length && out[j][kk] === d) {
      out[j][kk] = 0;
    }
  }
  return out;
}

for (const row of allRows) {
  Deno.test(`an empty axis: a result with gradients, or an Error: ${row.name}`, () => {
    const seen = new Set<string>();
    for (const { shapes, p } of fc.sample(row.arb, { numRuns: 10, seed: 7 })) {
      for (let i = 0; i < shapes.length; i++) {
        for (let k = 0; k < shapes[i].length; k++) {
          const sh = emptied(shapes, i, k);
          const tag = `${row.name} shapes ${JSON.stringify(sh)} p ${
            JSON.stringify(p)
          }`;
          if (seen.has(tag)) continue;
          seen.add(tag);
          const xs = sh.map((s, q) =>
            drawValues(s, row.domains[q] ?? "real", q)
          );
          const f = (...a: Tensor[]) => row.f(p, ...a);
          let y: Tensor;
          try {
            y = f(...xs);
          } catch (e) {
            // refused: an Error (not a TypeError or RangeError) naming a function
            assert.equal((e as Error).constructor, Error, `${tag}: ${e}`);
            assert.match((e as Error).message, /^[\w.]+: /, tag);
            continue;
          }
          const grads = T.grad((...a: Tensor[]) => T.sum(f(...a)), {
            argnums: xs.map((_, q) => q),
          })(...xs) as Tensor[];
          grads.forEach((g, q) =>
            assert.deepEqual(g.shape, xs[q].shape, `${tag}: gradient ${q}`)
          );
          assertAllClose(T.jit(f)(...xs), y, { atol: 0, rtol: 0, msg: tag });
        }
      }
    }
  });
}

for (const row of allRows) {
  Deno.test(`vmap over zero examples: ${row.name}`, () => {
    for (const { shapes, p } of fc.sample(row.arb, { numRuns: 6, seed: 3 })) {
      const one = shapes.map((s, q) =>
        drawValues(s, row.domains[q] ?? "real", q)
      );
      let y1: Tensor;
      try {
        y1 = row.f(p, ...one);
      } catch {
        continue; // (a draw the op refuses for other reasons)
      }
      const f = (...a: Tensor[]) => row.f(p, ...a);
      const all = shapes.map(() => 0 as const);
      for (
        const modes of [
          all,
          all.map((_, q) => q === 0 ? 0 : null),
          all.map((_, q) => q === 0 ? null : 0),
        ]
      ) {
        if (modes.every((m) => m === null)) continue;
        const tag = `${row.name} shapes ${JSON.stringify(shapes)} inAxes ${
          JSON.stringify(modes)
        }`;
        const xs = one.map((x, q) =>
          modes[q] === null ? x : T.zeros([0, ...x.shape], { dtype: x.dtype })
        );
        const v = T.vmap(f, { inAxes: modes, axisSize: 0 });
        assert.deepEqual(v(...xs).shape, [0, ...y1.shape], tag);
        assert.deepEqual(T.jit(v)(...xs).shape, [0, ...y1.shape], tag);
        const last = shapes.length - 1;
        const g = T.vmap(
          T.grad((...a: Tensor[]) => T.sum(f(...a)), {
            argnums: shapes.map((_, q) => q),
          }),
          { inAxes: modes, axisSize: 0 },
        )(...xs) as Tensor[];
        assert.deepEqual(g[last].shape, [0, ...shapes[last]], tag);
      }
    }
  });
}

Deno.test("softmax, logSoftmax and logSumExp over an empty axis: empty, empty, -Infinity (PyTorch)", () => {
  // torch.softmax(torch.zeros(3, 0), 1).shape == (3, 0); same for dim 0 of
  // zeros(0, 3) and for log_softmax; torch.logsumexp(torch.zeros(3, 0), 1)
  // == [-inf, -inf, -inf], of zeros(0) == -inf
  for (const dtype of ["float32", "float64"] as const) {
    const e = T.zeros([3, 0], { dtype });
    for (const f of [T.softmax, T.logSoftmax]) {
      assert.deepEqual(f(e, 1).shape, [3, 0]);
      assert.deepEqual(f(T.zeros([0, 3], { dtype }), 0).shape, [0, 3]);
      assert.deepEqual(T.grad((x: Tensor) => T.sum(f(x, 1)))(e).shape, [3, 0]);
    }
    assert.deepEqual(T.toArray(T.logSumExp(e, { axis: 1 })), [
      -Infinity,
      -Infinity,
      -Infinity,
    ]);
    assert.deepEqual(
      T.logSumExp(e, { axis: 1, keepDims: true }).shape,
      [3, 1],
    );
    assert.equal(T.item(T.logSumExp(T.zeros([0], { dtype }))), -Infinity);
    assert.deepEqual(
      T.grad((x: Tensor) => T.sum(T.logSumExp(x, { axis: 1 })))(e).shape,
      [3, 0],
    );
    // a non-empty reduced axis next to an empty one: an empty result
    assert.deepEqual(
      T.logSumExp(T.zeros([0, 3], { dtype }), { axis: 1 }).shape,
      [0],
    );
  }
});

Deno.test("linear with 0 input or 0 output features: values and gradients (PyTorch)", () => {
  for (const dtype of ["float32", "float64"] as const) {
    // F.linear(zeros(3, 0), ones(2, 0), ones(2)) == ones(3, 2); the grads:
    // x [3, 0], weight [2, 0], bias [3, 3]
    const g = T.grad(
      (x: Tensor, w: Tensor, b: Tensor) => T.sum(T.linear(x, w, b)),
      { argnums: [0, 1, 2] },
    );
    const x0 = T.zeros([3, 0], { dtype }), w0 = T.ones([2, 0], { dtype });
    const b = T.ones([2], { dtype });
    assert.deepEqual(T.toArray(T.linear(x0, w0, b)), [[1, 1], [1, 1], [1, 1]]);
    const [gx, gw, gb] = g(x0, w0, b) as Tensor[];
    assert.deepEqual([gx.shape, gw.shape], [[3, 0], [2, 0]]);
    assert.deepEqual(T.toArray(gb), [3, 3]);
    // F.linear(ones(3, 2), ones(0, 2)).shape == (3, 0); x's grad zeros(3, 2)
    const x = T.ones([3, 2], { dtype }), w = T.ones([0, 2], { dtype });
    assert.deepEqual(T.linear(x, w).shape, [3, 0]);
    const [dx, dw, db] = g(x, w, T.ones([0], { dtype })) as Tensor[];
    assert.deepEqual(T.toArray(dx), [[0, 0], [0, 0], [0, 0]]);
    assert.deepEqual([dw.shape, db.shape], [[0, 2], [0]]);
    // rows of x along leading axes
    assert.deepEqual(
      T.toArray(T.linear(T.zeros([2, 2, 0], { dtype }), w0, b)),
      [[[1, 1], [1, 1]], [[1, 1], [1, 1]]],
    );
  }
  // a product with k = 0 under vmap (a shared right operand): zeros
  const v = T.vmap((x: Tensor) => T.matmul(x, T.ones([0, 2])))(
    T.zeros([2, 3, 0]),
  );
  assert.deepEqual(T.toArray(v), [[[0, 0], [0, 0], [0, 0]], [[0, 0], [0, 0], [
    0,
    0,
  ]]]);
});

Deno.test("batchNorm in training on an empty batch: empty y, running statistics kept, zero weight and bias gradients (PyTorch)", () => {
  // F.batch_norm(zeros(0, 3), rm, rv, w, b, training=True): shape (0, 3),
  // rm and rv unchanged, w.grad == b.grad == zeros(3)
  const rm = T.tensor([0.5, 1, 2]), rv = T.tensor([1, 2, 3]);
  const r = T.batchNorm(T.zeros([0, 3, 4, 4]), {
    training: true,
    runningMean: rm,
    runningVar: rv,
    weight: T.ones([3]),
    bias: T.zeros([3]),
  });
  assert.deepEqual(r.y.shape, [0, 3, 4, 4]);
  assert.deepEqual(T.toArray(r.runningMean!), T.toArray(rm));
  assert.deepEqual(T.toArray(r.runningVar!), T.toArray(rv));
  const g = T.grad(
    (w: Tensor, b: Tensor) =>
      T.sum(
        T.batchNorm(T.zeros([0, 3]), { training: true, weight: w, bias: b }).y,
      ),
    { argnums: [0, 1] },
  )(T.ones([3]), T.zeros([3])) as Tensor[];
  assert.deepEqual(g.map((t) => T.toArray(t)), [[0, 0, 0], [0, 0, 0]]);
  // one value per channel stays an error, as PyTorch's
  assert.throws(
    () => T.batchNorm(T.zeros([1, 3]), { training: true }),
    /batchNorm: training needs more than 1 value per channel/,
  );
  // the layer: nn.BatchNorm2d(3)(zeros(0, 3, 2, 2)) keeps its statistics
  const bn = T.nn.batchNorm2d({ numFeatures: 3 });
  const out = bn.applyWithState(
    bn.init(T.random.key(0)),
    bn.initState(),
    T.zeros([0, 3, 2, 2]),
    { training: true },
  );
  assert.deepEqual(out.y.shape, [0, 3, 2, 2]);
  assert.deepEqual(T.toArray(out.state.running_mean), [0, 0, 0]);
  assert.deepEqual(T.toArray(out.state.running_var), [1, 1, 1]);
});

Deno.test("per-example gradients of zero examples: vmap(grad) through a convolution", () => {
  const f = (w: Tensor, x: Tensor) =>
    T.sum(T.conv2d(x, w, undefined, { padding: 1 }));
  const pg = T.vmap(T.grad(f), { inAxes: [null, 0] })(
    T.ones([2, 1, 3, 3]),
    T.zeros([0, 1, 1, 5, 5]),
  );
  assert.deepEqual(pg.shape, [0, 2, 1, 3, 3]);
});

Deno.test("cross-entropy of an empty batch: NaN for the mean, 0 for the sum, empty per example (PyTorch)", () => {
  const x = T.zeros([0, 3]), y = T.zeros([0], { dtype: "int32" });
  assert.ok(Number.isNaN(T.item(T.crossEntropy(x, y))));
  assert.equal(T.item(T.crossEntropy(x, y, { reduction: "sum" })), 0);
  assert.deepEqual(T.crossEntropy(x, y, { reduction: "none" }).shape, [0]);
  assert.deepEqual(
    T.grad((l: Tensor) => T.crossEntropy(l, y, { reduction: "sum" }))(x).shape,
    [0, 3],
  );
});
