/**
 * Gathering, scattering, sorting and embedding (ops/indexing.ts): PyTorch
 * 1.13's values, indices and gradients (tests/fixtures/gather.json, written
 * by tests/fixtures/gen_gather.py), forward values against naive loops and
 * identities, the batching rules with batched indices against a loop, jit
 * replaying new indices, the error messages, and nn.embedding (init, repr,
 * summary, toTorch, toOnnx run in ONNX Runtime).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, int } from "./_helpers.ts";
import {
  checkFixtureGrads,
  type FixtureCase,
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";
import { runOnnx } from "./_onnxruntime.ts";
import fixture from "./fixtures/gather.json" with { type: "json" };

type Case = FixtureCase & {
  outputs: Record<string, J>;
  stableIndices?: J;
};

const i32 = (v: number[], shape?: number[]) =>
  T.tensor(v, { dtype: "int32", shape: shape ?? [v.length] });
const f64 = (v: T.NestedArray) => T.tensor(v, { dtype: "float64" });

/** The library's call of a fixture case: the first output (values) and, for sort and topk, the indices. */
function call(c: Case, v: Record<string, Tensor>): [Tensor, Tensor | null] {
  const o = c.options;
  switch (c.op) {
    case "take":
      return [T.take(v.x, v.indices, o), null];
    case "takeAlongAxis":
      return [T.takeAlongAxis(v.x, v.indices, o), null];
    case "scatterAdd":
      return [T.scatterAdd(v.x, v.indices, v.src, o), null];
    case "oneHot":
      return [T.oneHot(v.labels, o.numClasses), null];
    case "argsort":
      return [T.argsort(v.x, o), null];
    case "embedding":
      return [T.embedding(v.indices, v.weight, o), null];
    case "sort": {
      const r = T.sort(v.x, o);
      return [r.values, r.indices];
    }
    case "topk": {
      const { k, ...rest } = o;
      const r = T.topk(v.x, k, rest);
      return [r.values, r.indices];
    }
  }
  throw new Error(`unknown op ${c.op}`);
}

for (const c of fixture.cases as unknown as Case[]) {
  Deno.test(`PyTorch: ${c.op} ${c.name} (${c.dtype})`, () => {
    // gathers and sorts copy values: exact; sums (scatterAdd, gradients) within rounding
    const tol = c.dtype === "float32"
      ? { atol: 1e-6, rtol: 1e-6 }
      : { atol: 1e-14, rtol: 1e-14 };
    const { inputs, y } = checkFixtureGrads(c, (v) => call(c, v)[0], tol);
    const first = c.outputs.values ?? c.outputs.out;
    assert.equal(y.dtype, first.dtype);
    assertAllClose(y, toT(first), { ...tol, msg: `${c.name} values` });
    const idx = call(c, inputs)[1];
    if (idx) {
      const expected = c.stableIndices ?? c.outputs.indices;
      assert.deepEqual(T.toArray(idx), T.toArray(toT(expected)), "indices");
      // without ties, the indices are PyTorch's own too
      if (c.op !== "topk" || Object.keys(c.grads).length) {
        assert.deepEqual(T.toArray(idx), T.toArray(toT(c.outputs.indices)));
      }
    }
  });
}

// ---------------------------------------------------------------------------
// forward values against loops, and identities

/** A float64 tensor of `shape` with distinct values. */
const distinct = (shape: number[], seed: number) =>
  T.random.uniform(T.random.key(seed), shape, { dtype: "float64" });

Deno.test("take equals a loop over x.shape[:axis] + indices.shape + x.shape[axis+1:]; argmax of oneHot gives the labels back", () => {
  fc.assert(
    fc.property(
      fc.array(int(1, 3), { minLength: 1, maxLength: 3 }),
      fc.array(int(0, 3), { minLength: 0, maxLength: 2 }),
      fc.nat(),
      fc.integer({ min: 0, max: 1e6 }),
      (shape, ishape, axisDraw, seed) => {
        const axis = axisDraw % shape.length, n = shape[axis];
        const size = ishape.reduce((a, b) => a * b, 1);
        const idx = [...Array(size).keys()].map((i) => (i * 7 + seed) % n);
        const x = distinct(shape, seed);
        const y = T.take(x, i32(idx, ishape), { axis });
        const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
        const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        const expected: number[] = [];
        for (let o = 0; o < outer; o++) {
          for (const k of idx) {
            for (let i = 0; i < inner; i++) {
              expected.push(x.data[(o * n + k) * inner + i]);
            }
          }
        }
        assert.deepEqual(y.shape, [
          ...shape.slice(0, axis),
          ...ishape,
          ...shape.slice(axis + 1),
        ]);
        assert.deepEqual([...y.data], expected);
        const hot = T.oneHot(i32(idx, ishape), n);
        assert.deepEqual(hot.shape, [...ishape, n]);
        if (size) {
          assert.deepEqual(
            [...T.argmax(hot, { axis: -1 }).data],
            idx,
          );
        }
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("sort: values in order along the axis, indices a permutation, takeAlongAxis(x, argsort(x)) = sort(x).values, topk(x, n) = sort descending", () => {
  fc.assert(
    fc.property(
      fc.array(int(1, 4), { minLength: 1, maxLength: 3 }),
      fc.nat(),
      fc.boolean(),
      fc.integer({ min: 0, max: 1e6 }),
      (shape, axisDraw, descending, seed) => {
        const axis = axisDraw % shape.length;
        // few distinct values: ties everywhere
        const x = T.astype(
          T.random.randint(T.random.key(seed), shape, 0, 3),
          "float32",
        );
        const { values, indices } = T.sort(x, { axis, descending });
        const xs = T.transpose(
          x,
          [...shape.keys()].filter((a) => a !== axis).concat([axis]),
        );
        const vs = T.transpose(
          values,
          [...shape.keys()].filter((a) => a !== axis).concat([axis]),
        );
        const is = T.transpose(
          indices,
          [...shape.keys()].filter((a) => a !== axis).concat([axis]),
        );
        const n = shape[axis];
        for (let r = 0; r < xs.data.length / n; r++) {
          const row = [...xs.data.slice(r * n, r * n + n)];
          const order = [...is.data.slice(r * n, r * n + n)];
          // stable: equal values keep their order
          const ref = [...row.keys()].sort((a, b) =>
            (descending ? row[b] - row[a] : row[a] - row[b]) || a - b
          );
          assert.deepEqual(order, ref);
          assert.deepEqual(
            [...vs.data.slice(r * n, r * n + n)],
            ref.map((i) => row[i]),
          );
        }
        assert.deepEqual(
          T.toArray(
            T.takeAlongAxis(x, T.argsort(x, { axis, descending }), { axis }),
          ),
          T.toArray(values),
        );
        if (descending) {
          const t = T.topk(x, n, { axis });
          assert.deepEqual(T.toArray(t.values), T.toArray(values));
          assert.deepEqual(T.toArray(t.indices), T.toArray(indices));
        }
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("scatterAdd of ones counts the indices (a bincount); embedding is take along axis 0; scatterAdd's gradient of src is takeAlongAxis", () => {
  const idx = i32([3, 1, 3, 3, 0], [1, 5]);
  const counts = T.scatterAdd(T.zeros([1, 5]), idx, T.ones([1, 5]), {
    axis: 1,
  });
  assert.deepEqual(T.toArray(counts), [[1, 1, 0, 3, 0]]);
  const w = distinct([4, 3], 1), e = i32([2, 0, 2, 3], [2, 2]);
  assert.deepEqual(
    T.toArray(T.embedding(e, w)),
    T.toArray(T.take(w, e, { axis: 0 })),
  );
  const x = distinct([3, 4], 2), src = distinct([2, 4], 3);
  const i = i32([0, 2, 2, 1, 1, 1, 0, 2], [2, 4]);
  const g = distinct([3, 4], 4);
  const [, back] = T.vjp(
    (a: Tensor, b: Tensor) => T.scatterAdd(a, i, b, { axis: 0 }),
    x,
    src,
  );
  const [gx, gsrc] = back(g);
  assert.deepEqual(T.toArray(gx), T.toArray(g));
  assert.deepEqual(
    T.toArray(gsrc),
    T.toArray(T.takeAlongAxis(g, i, { axis: 0 })),
  );
  // int32 tensors scatter and gather too (no gradient)
  assert.deepEqual(
    T.toArray(T.take(i32([5, 6, 7]), i32([2, 2, 0]))),
    [7, 7, 5],
  );
  assert.deepEqual(
    T.toArray(
      T.scatterAdd(i32([0, 0]), i32([1, 1]), i32([4, 5]), { axis: 0 }),
    ),
    [0, 9],
  );
});

Deno.test("embedding's paddingIdx: the row's value is returned, its gradient is zero (also when given negative), under grad of grad", () => {
  const w = f64([[1, 2], [3, 4], [5, 6]]);
  const idx = i32([2, 0, 2, 1]);
  const loss = (v: Tensor, pad: number) =>
    T.sum(T.square(T.embedding(idx, v, { paddingIdx: pad })));
  assert.deepEqual(T.toArray(T.embedding(idx, w, { paddingIdx: 2 })), [
    [5, 6],
    [1, 2],
    [5, 6],
    [3, 4],
  ]);
  for (const pad of [2, -1]) {
    const g = T.grad((v: Tensor) => loss(v, pad))(w);
    assert.deepEqual(T.toArray(g), [[2, 4], [6, 8], [0, 0]]);
    const gg = T.grad((v: Tensor) =>
      T.sum(T.grad((u: Tensor) => loss(u, pad))(v))
    )(w);
    assert.deepEqual(T.toArray(gg), [[2, 2], [2, 2], [0, 0]]);
  }
});

// ---------------------------------------------------------------------------
// batching rules with batched indices, and jit

Deno.test("vmap with batched indices (and x batched, or not, at any axis) equals a loop: take, takeAlongAxis, scatterAdd, embedding, sort, and per-example gradients", () => {
  fc.assert(
    fc.property(
      fc.array(int(1, 3), { minLength: 1, maxLength: 3 }),
      fc.nat(),
      int(1, 3),
      fc.constantFrom(0 as const, -1 as const, null),
      fc.constantFrom(0 as const, -1 as const),
      fc.integer({ min: 0, max: 1e6 }),
      (shape, axisDraw, b, xAxis, iAxis, seed) => {
        const axis = axisDraw % shape.length, n = shape[axis];
        const ishape = shape.map((d, i) => (i === axis ? 2 : d));
        const isize = ishape.reduce((p, q) => p * q, 1);
        const idxs = [...Array(b).keys()].map((k) =>
          i32(
            [...Array(isize).keys()].map((i) => (i * 5 + k * 3 + seed) % n),
            ishape,
          )
        );
        const xs = [...Array(b).keys()].map((k) => distinct(shape, seed + k));
        const srcs = xs.map((_, k) => distinct(ishape, seed + 10 + k));
        const stackAt = (ts: Tensor[], a: 0 | -1 | null) =>
          a === null ? ts[0] : T.stack(ts, a === 0 ? 0 : ts[0].shape.length);
        const xk = (k: number) => (xAxis === null ? xs[0] : xs[k]);
        const fs: [string, (x: Tensor, i: Tensor, s: Tensor) => Tensor][] = [
          ["take", (x, i) => T.take(x, i, { axis })],
          ["takeAlongAxis", (x, i) => T.takeAlongAxis(x, i, { axis })],
          ["scatterAdd", (x, i, s) => T.scatterAdd(x, i, s, { axis })],
          [
            "embedding",
            (x, i) => T.embedding(T.reshape(i, [-1]), T.reshape(x, [n, -1])),
          ],
          [
            "sort of a gather",
            (x, i) => T.sort(T.take(x, i, { axis }), { axis }).values,
          ],
          [
            "grad of scatterAdd",
            (x, i, s) =>
              T.grad((u: Tensor) =>
                T.sum(
                  T.square(
                    T.scatterAdd(x, i, T.square(u), { axis }),
                  ),
                )
              )(s),
          ],
          [
            "grad of take",
            (x, i) =>
              T.grad((u: Tensor) => T.sum(T.square(T.take(u, i, { axis }))))(
                x,
              ),
          ],
        ];
        for (const [name, f] of fs) {
          const expected = T.stack(
            [...Array(b).keys()].map((k) =>
              f(xk(k), idxs[k], xAxis === null ? srcs[0] : srcs[k])
            ),
          );
          const actual = T.vmap(f, {
            inAxes: [xAxis, iAxis, xAxis],
            axisSize: b,
          })(stackAt(xs, xAxis), stackAt(idxs, iAxis), stackAt(srcs, xAxis));
          assertAllClose(actual, expected, {
            atol: 1e-12,
            rtol: 1e-12,
            msg: `${name} (x axis ${xAxis}, indices axis ${iAxis})`,
          });
        }
      },
    ),
    { numRuns: 15 },
  );
});

Deno.test("vmap over the indices of a VJP: a constant cotangent scattered at each example's indices (scatterAdd and scatterElementsAdd with only the indices batched)", () => {
  const x0 = f64([[1, 2], [3, 4], [5, 6]]);
  const g = f64([[1, 10], [100, 1000]]);
  const back = (op: (x: Tensor, i: Tensor) => Tensor) => (i: Tensor) =>
    T.vjp((x: Tensor) => op(x, i), x0)[1](g)[0];
  const take = back((x, i) => T.take(x, i, { axis: 0 }));
  assert.deepEqual(T.toArray(T.vmap(take)(i32([0, 2, 1, 1], [2, 2]))), [
    [[1, 10], [0, 0], [100, 1000]],
    [[0, 0], [101, 1010], [0, 0]],
  ]);
  const along = back((x, i) => T.takeAlongAxis(x, i, { axis: 0 }));
  const idx = i32([0, 2, 1, 1, 2, 2, 0, 0], [2, 2, 2]);
  assert.deepEqual(T.toArray(T.vmap(along)(idx)), [
    [[1, 0], [100, 1000], [0, 10]],
    [[100, 1000], [0, 0], [1, 10]],
  ]);
});

Deno.test("jit replays the recorded gather with new indices and checks them", () => {
  const f = T.jit((x: Tensor, i: Tensor) =>
    T.takeAlongAxis(T.mul(x, 2), i, { axis: 1 })
  );
  const x = T.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(T.toArray(f(x, i32([0, 2], [2, 1]))), [[2], [12]]);
  assert.deepEqual(T.toArray(f(x, i32([2, 1], [2, 1]))), [[6], [10]]);
  assert.equal(f.traceCount(), 1);
  // out of range on replay: the op's own error, as eager's (its check is a
  // step of the plan)
  assert.throws(
    () => f(x, i32([3, 0], [2, 1])),
    /^Error: takeAlongAxis: indices must be in \[0, 3\) \(the size of axis 1 of x \[2,3\]\), got 3 at flat index 0 \(indices \[2,1\]\)$/,
  );
  const s = T.jit((v: Tensor) => T.sort(v, { descending: true }).values);
  assert.deepEqual(T.toArray(s(T.tensor([1, 3, 2]))), [3, 2, 1]);
  assert.deepEqual(T.toArray(s(T.tensor([5, 4, 6]))), [6, 5, 4]);
});

// ---------------------------------------------------------------------------
// errors

Deno.test("errors: indices out of range, wrong dtypes, shapes and options name the function, the argument and what came", () => {
  const x = T.zeros([2, 5]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.take(x, i32([0, 5]), { axis: 1 }),
      /^take: indices must be in \[0, 5\) \(the size of axis 1 of x \[2,5\]\), got 5 at flat index 1 \(indices \[2\]\)$/,
    ],
    [
      () => T.take(x, i32([-1]), { axis: -1 }),
      /^take: indices must be in \[0, 5\) \(the size of axis 1 of x \[2,5\]\), got -1 at flat index 0/,
    ],
    [
      () => T.take(x, i32([10])),
      /^take: indices must be in \[0, 10\) \(the size of x \[2,5\], flattened\), got 10/,
    ],
    [
      () => T.take(x, T.tensor([0]), { axis: 0 }),
      /^take: indices must be an int32 tensor, got float32 \[1\]$/,
    ],
    [
      () => T.take(x, i32([0]), { axis: 2 }),
      /^take: axis 2 is out of range for x with 2 dims \(shape \[2,5\]\)$/,
    ],
    [
      () => T.take(T.tensor(1), i32([0]), { axis: 0 }),
      /^take: x must have at least one axis, got a scalar$/,
    ],
    [
      () => T.take(x, i32([0]), { dim: 0 } as never),
      /^take: unknown option "dim" \(known options: axis\)$/,
    ],
    [
      () => T.takeAlongAxis(x, i32([0, 1]), undefined as never),
      /^takeAlongAxis: options.axis is required \(an integer\)$/,
    ],
    [
      () => T.takeAlongAxis(x, i32([0, 1]), { axis: 0 }),
      /^takeAlongAxis: indices must have as many axes as x \(x \[2,5\]\), got \[2\]$/,
    ],
    [
      () => T.takeAlongAxis(x, i32([0, 0, 0], [3, 1]), { axis: 1 }),
      /^takeAlongAxis: indices \[3,1\] is larger than x \[2,5\] at axis 0 \(only axis 1 may be\)$/,
    ],
    [
      () =>
        T.scatterAdd(
          x,
          i32([0], [1, 1]),
          T.zeros([1, 1], { dtype: "float64" }),
          { axis: 0 },
        ),
      /^scatterAdd: src must have x's dtype float32, got float64 \[1,1\]$/,
    ],
    [
      () => T.scatterAdd(x, i32([0, 0], [1, 2]), T.zeros([1, 1]), { axis: 0 }),
      /^scatterAdd: indices \[1,2\] is larger than src \[1,1\] at axis 1$/,
    ],
    [
      () => T.scatterAdd(x, i32([2], [1, 1]), T.zeros([1, 1]), { axis: 0 }),
      /^scatterAdd: indices must be in \[0, 2\) \(the size of axis 0 of x \[2,5\]\), got 2/,
    ],
    [
      () => T.oneHot(i32([0, 3]), 3),
      /^oneHot: labels must be in \[0, 3\) \(numClasses 3\), got 3 at flat index 1 \(labels \[2\]\)$/,
    ],
    [
      () => T.oneHot(T.tensor([0]), 3),
      /^oneHot: labels must be an int32 tensor, got float32 \[1\]$/,
    ],
    [
      () => T.oneHot(i32([0]), 0),
      /^oneHot: numClasses must be an integer in \[1, 2147483647\], got 0$/,
    ],
    [
      () => T.sort(x, { axis: 2 }),
      /^sort: axis 2 is out of range for x with 2 dims/,
    ],
    [
      () => T.sort(x, { descending: 1 } as never),
      /^sort: descending must be a boolean, got 1$/,
    ],
    [
      () => T.argsort(T.tensor(3), { axis: 1 }),
      /^argsort: axis 1 is out of range for x with 0 dims \(shape \[\]\)$/,
    ],
    [
      () => T.topk(x, 6),
      /^topk: k \(axis 1 of x \[2,5\]\) must be an integer in \[0, 5\], got 6$/,
    ],
    [
      () => T.topk(x, 1, { descending: true } as never),
      /^topk: unknown option "descending" \(known options: axis, largest\)$/,
    ],
    [
      () => T.embedding(i32([3]), T.zeros([3, 2])),
      /^embedding: indices must be in \[0, 3\) \(the rows of weight \[3,2\]\), got 3/,
    ],
    [
      () => T.embedding(i32([0]), T.zeros([3])),
      /^embedding: weight must be \[numEmbeddings, dim\], got \[3\]$/,
    ],
    [
      () => T.embedding(i32([0]), T.zeros([3, 2]), { paddingIdx: 3 }),
      /^embedding: paddingIdx must be an integer in \[-3, 2\], got 3$/,
    ],
    [
      () =>
        T.nn.embedding({ numEmbeddings: 3, embeddingDim: 2, paddingIdx: -4 }),
      /^nn.embedding: paddingIdx must be an integer in \[-3, 3\) or null, got number -4$/,
    ],
    [
      () => T.nn.embedding({ numEmbeddings: 3 } as never),
      /^nn.embedding: /,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(
      f,
      (e: Error) =>
        re.test(e.message) || assert.fail(`${e.message} does not match ${re}`),
    );
  }
});

// ---------------------------------------------------------------------------
// nn.embedding

Deno.test("PyTorch: nn.embedding's repr and state_dict keys are nn.Embedding's", () => {
  for (const l of fixture.layers) {
    const o = l.options as Record<string, number>;
    const emb = T.nn.embedding({
      numEmbeddings: o.num_embeddings,
      embeddingDim: o.embedding_dim,
      paddingIdx: o.padding_idx,
    });
    assert.equal(emb.info.repr, l.repr);
    assert.deepEqual(
      T.treePaths(emb.init(T.random.key(0))).map(([p]) => p),
      l.keys,
    );
  }
});

Deno.test("nn.embedding: N(0, 1) init with the padding row zeroed, PyTorch's repr, summary, toTorch, and toOnnx in ONNX Runtime equal to apply", async () => {
  const emb = T.nn.embedding({
    numEmbeddings: 50,
    embeddingDim: 40,
    paddingIdx: -2,
  });
  assert.equal(emb.info.repr, "Embedding(50, 40, padding_idx=48)");
  const { weight } = emb.init(T.random.key(3));
  assert.deepEqual(weight.shape, [50, 40]);
  assert.ok(weight.data.slice(48 * 40, 49 * 40).every((v) => v === 0));
  const rest = [...weight.data.slice(0, 48 * 40)];
  const m = rest.reduce((a, b) => a + b, 0) / rest.length;
  const sd = Math.sqrt(
    rest.reduce((a, b) => a + (b - m) ** 2, 0) / rest.length,
  );
  assert.ok(Math.abs(m) < 0.1 && Math.abs(sd - 1) < 0.1, `mean ${m}, sd ${sd}`);
  assert.equal(
    T.nn.embedding({ numEmbeddings: 10, embeddingDim: 3 }).info.repr,
    "Embedding(10, 3)",
  );
  const net = T.nn.sequential(
    T.nn.embedding({ numEmbeddings: 6, embeddingDim: 4, paddingIdx: 0 }),
    T.nn.flatten(),
    T.nn.linear({ inFeatures: 12, outFeatures: 2 }),
  );
  assert.equal(T.nn.paramCount(net), 6 * 4 + 12 * 2 + 2);
  const table = T.nn.summary(net, [8, 3]);
  assert.match(table, /Embedding\(6, 4, padding_idx=0\)/);
  assert.match(table, /\[8, 3, 4\]/);
  assert.match(
    T.nn.toTorch(net),
    /nn\.Embedding\(6, 4, padding_idx=0\),\n\s+nn\.Flatten\(start_dim=1, end_dim=-1\),\n\s+nn\.Linear\(in_features=12, out_features=2, bias=True\)/,
  );
  // and then the 2 outputs, each twice (ties), sorted by topk: Gather, Where,
  // TopK (argsort, stable as the library's) and GatherElements in one graph
  const top = T.nn.defineLayer({
    name: "Top4",
    apply: (_p, v) => {
      const { values, indices } = T.topk(T.concat([v, v], 1), 4);
      return T.concat([values, T.astype(indices, "float32")], 1);
    },
  });
  const model = T.nn.sequential(net, top);
  const params = model.init(T.random.key(1));
  const bytes = T.nn.toOnnx(model, params, {
    inputShape: [2, 3],
    inputDtype: "int32",
  });
  const x = i32([0, 5, 1, 2, 2, 0, 4, 3, 1], [3, 3]);
  const out = await runOnnx(bytes, {
    input: { data: x.data as Int32Array, shape: [3, 3] },
  });
  const y = model.apply(params, x);
  assertAllClose(
    T.tensor(out.output.data, { shape: out.output.shape }),
    y,
    { atol: 1e-6, rtol: 1e-6, msg: "ONNX Runtime vs apply" },
  );
  // the indices: each value's first copy (j) before its second (j + 2)
  for (const row of T.toArray(T.slice(y, [0, 4], [3, 8])) as number[][]) {
    assert.deepEqual([row[1], row[3]], [row[0] + 2, row[2] + 2], `${row}`);
  }
});

Deno.test("sort, argsort and topk of a scalar sort its one-element vector, as torch's of a 0-d tensor (they refused it)", () => {
  const x = T.tensor(3);
  // torch.sort(torch.tensor(3.)): values tensor(3.), indices tensor(0)
  for (const r of [T.sort(x), T.sort(x, { descending: true, axis: -1 })]) {
    assert.deepEqual([r.values.shape, T.toArray(r.values)], [[], 3]);
    assert.deepEqual([r.indices.shape, r.indices.dtype], [[], "int32"]);
    assert.equal(T.toArray(r.indices), 0);
  }
  // torch.argsort(torch.tensor(3.)): tensor(0)
  assert.deepEqual(T.argsort(x, { axis: 0 }).shape, []);
  // torch.topk(torch.tensor(3.), 1): values tensor(3.), indices tensor(0)
  const top = T.topk(x, 1, { largest: false });
  assert.deepEqual([top.values.shape, T.toArray(top.values)], [[], 3]);
  // k = 0 takes nothing (torch returns the scalar itself there)
  assert.deepEqual(T.topk(x, 0).values.shape, [0]);
  // the gradient of the one value is 1; vmap over a vector sorts each scalar
  const g = T.grad((v: Tensor) => T.topk(v, 1).values)(
    T.tensor(2, { dtype: "float64" }),
  );
  assert.equal(T.item(g), 1);
  const each = T.vmap((v: Tensor) => T.sort(v).values)(T.tensor([3, 1, 2]));
  assert.deepEqual(T.toArray(each), [3, 1, 2]);
  assert.throws(
    () => T.topk(x, 2),
    /^Error: topk: k \(axis 0 of x \[\]\) must be an integer in \[0, 1\], got 2$/,
  );
});

Deno.test("oneHot of no labels builds no table of the classes (2^28 classes took 3 GiB for an empty result)", () => {
  const labels = T.zeros([0, 3], { dtype: "int32" });
  const before = Deno.memoryUsage().rss;
  const y = T.oneHot(labels, 2 ** 28, { dtype: "int32" });
  const grown = Deno.memoryUsage().rss - before;
  assert.deepEqual([y.shape, y.dtype], [[0, 3, 2 ** 28], "int32"]);
  // an arange of 2^28 int32 classes alone is 1 GiB
  assert.ok(grown < 2 ** 28, `resident memory grew ${grown} bytes`);
});
