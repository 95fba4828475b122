/**
 * Probe of indexing and order statistics against PyTorch 1.13
 * (`tests/fixtures/indexing_order_probe.json`, written by
 * `gen_indexing_order_probe.py`): sort, argsort, topk, take, takeAlongAxis,
 * scatterAdd, embedding, oneHot, quantile, nansum, nanmean, searchsorted and
 * bucketize, values and gradients; and what the probe found and fixed.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { type FixtureTensor, fixtureTensor } from "./_fixture_cases.ts";

type Case = {
  op: string;
  name: string;
  torch: string;
  args: Record<string, FixtureTensor>;
  opts: Record<string, unknown>;
  out: FixtureTensor | { values: FixtureTensor; indices: FixtureTensor };
  w: FixtureTensor | null;
  grads: Record<string, FixtureTensor>;
};

const fixture = JSON.parse(
  Deno.readTextFileSync(
    new URL("./fixtures/indexing_order_probe.json", import.meta.url),
  ),
) as { cases: Case[] };

/** The library's op of a case, on its arguments (in the fixture's order). */
function run(c: Case, a: Record<string, Tensor>): Tensor | T.ValuesAndIndices {
  // deno-lint-ignore no-explicit-any
  const o = c.opts as any;
  switch (c.op) {
    case "sort":
      return T.sort(a.x, o);
    case "argsort":
      return T.argsort(a.x, o);
    case "topk": {
      const { k, ...rest } = o;
      return T.topk(a.x, k, rest);
    }
    case "take":
      return T.take(a.x, a.indices, o);
    case "takeAlongAxis":
      return T.takeAlongAxis(a.x, a.indices, o);
    case "scatterAdd":
      return T.scatterAdd(a.x, a.indices, a.src, o);
    case "embedding":
      return T.embedding(a.indices, a.weight, o);
    case "oneHot":
      return T.oneHot(a.labels, o.numClasses);
    case "quantile": {
      const { q, ...rest } = o;
      return T.quantile(a.x, q, rest);
    }
    case "nansum":
      return T.nansum(a.x, o);
    case "nanmean":
      return T.nanmean(a.x, o);
    case "searchsorted":
      return T.searchsorted(a.s, a.v, o);
    case "bucketize":
      return T.bucketize(a.v, a.s, o);
    // vmap over axis 0 of the arguments (every one batched)
    case "vmap takeAlongAxis":
      return T.vmap((x: Tensor, i: Tensor) => T.takeAlongAxis(x, i, o))(
        a.x,
        a.indices,
      );
    case "vmap sort":
      return T.vmap((x: Tensor) => T.sort(x, o))(a.x);
    case "vmap topk": {
      const { k, ...rest } = o;
      return T.vmap((x: Tensor) => T.topk(x, k, rest))(a.x);
    }
    case "vmap searchsorted":
      return T.vmap((s: Tensor, v: Tensor) => T.searchsorted(s, v, o))(
        a.s,
        a.v,
      );
  }
  throw new Error(`unknown op ${c.op}`);
}

/** The values of a result (the tensor itself, or sort's and topk's values). */
const valuesOf = (r: Tensor | T.ValuesAndIndices): Tensor =>
  "values" in r ? r.values : r;

/** torch's values (its sign of zero too, unless `anyZero`), close (float32's ulps). */
function assertMatches(
  actual: Tensor,
  expected: Tensor,
  msg: string,
  anyZero = false,
): void {
  assert.deepEqual(actual.shape, expected.shape, `${msg}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${msg}: dtype`);
  const tol = expected.dtype === "float32" ? 2e-6 : 1e-13;
  assertAllClose(actual, expected, { atol: tol, rtol: tol, msg });
  expected.data.forEach((e, i) => {
    if (!anyZero && e === 0 && actual.data[i] === 0) {
      assert.equal(
        Object.is(e, -0),
        Object.is(actual.data[i], -0),
        `${msg}: the sign of zero at ${i}`,
      );
    }
  });
}

for (const op of [...new Set(fixture.cases.map((c) => c.op))]) {
  Deno.test(`PyTorch (indexing/order probe): ${op}`, async (t) => {
    for (const c of fixture.cases.filter((c) => c.op === op)) {
      await t.step(`${c.name}: ${c.torch}`, () => {
        const a = Object.fromEntries(
          Object.entries(c.args).map(([k, v]) => [k, fixtureTensor(v)]),
        );
        const r = run(c, a);
        if ("values" in c.out) {
          const p = r as T.ValuesAndIndices;
          assertMatches(p.values, fixtureTensor(c.out.values), "values");
          assert.deepEqual(
            Array.from(p.indices.data),
            c.out.indices.data,
            "indices",
          );
          assert.equal(p.indices.dtype, "int32");
        } else assertMatches(r as Tensor, fixtureTensor(c.out), "out");
        const names = Object.keys(c.grads);
        if (names.length === 0) return;
        const w = fixtureTensor(c.w!);
        const argnums = names.map((k) => Object.keys(c.args).indexOf(k));
        const f = (...xs: Tensor[]) => {
          const b = Object.fromEntries(
            Object.keys(c.args).map((k, i) => [k, xs[i]]),
          );
          return T.sum(T.mul(valuesOf(run(c, b)), w));
        };
        const gs = T.grad(f, { argnums })(...Object.values(a)) as Tensor[];
        names.forEach((k, i) =>
          assertMatches(gs[i], fixtureTensor(c.grads[k]), `grad ${k}`, true)
        );
      });
    }
  });
}

const f64 = (v: number[], shape: number[]) =>
  T.tensor(v, { dtype: "float64", shape });
const i32 = (v: number[], shape?: number[]) =>
  T.tensor(v, { dtype: "int32", shape });

Deno.test("gradients against float64 finite differences (order 2, both modes)", () => {
  const x = f64([
    0.3,
    -1.2,
    2.5,
    0.7,
    -0.4,
    1.9,
    -2.2,
    0.05,
    1.1,
    -0.8,
    0.45,
    3.1,
  ], [
    3,
    4,
  ]);
  const idx = i32([3, 0, 0, 2, 1, 1, 3, 3], [2, 4]);
  const src = f64([1.5, -0.5, 0.25, 2, -1, 0.75, 0.5, -2], [2, 4]);
  const sq = (y: Tensor) => T.sum(T.mul(y, y));
  const cases: [string, (...a: Tensor[]) => Tensor, Tensor[]][] = [
    ["sort", (a) => sq(T.sort(a, { axis: 0 }).values), [x]],
    ["topk", (a) => sq(T.topk(a, 2, { largest: false }).values), [x]],
    ["takeAlongAxis", (a) => sq(T.takeAlongAxis(a, idx, { axis: 1 })), [x]],
    ["take", (a) => sq(T.take(a, idx, { axis: 1 })), [x]],
    [
      "scatterAdd",
      (a, s) =>
        sq(T.scatterAdd(a, i32([2, 0, 0, 2, 1, 1], [2, 3]), s, { axis: 0 })),
      [x, src],
    ],
    [
      "embedding",
      // (paddingIdx's zero gradient is no derivative: against torch above)
      (w) => sq(T.embedding(idx, w)),
      [T.reshape(x, [4, 3])],
    ],
    ["quantile", (a) => sq(T.quantile(a, 0.3, { axis: 1 })), [x]],
    ["nanmean", (a) => sq(T.nanmean(a, { axis: 0 })), [x]],
  ];
  for (const [name, f, args] of cases) {
    try {
      T.checkGrads(f, args, { order: 2, modes: ["fwd", "rev"] });
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
  }
});

Deno.test("searchsorted and bucketize: no values × sequence table (100,000 among 100,000)", () => {
  // 100,000 values among 100,000 boundaries: the table of comparisons had
  // 10^10 entries (an allocation failure; torch.bucketize searches). Closed
  // form: boundaries 0, 1, ..., n - 1 put v in bucket ceil(v) (right:
  // floor(v) + 1), clipped to [0, n].
  const n = 100_000;
  const boundaries = T.arange(0, n, 1, { dtype: "float64" });
  const v = T.sub(
    T.mul(T.random.uniform(T.random.key(7), [n], { dtype: "float64" }), n + 2),
    1,
  );
  const left = T.bucketize(v, boundaries);
  const right = T.bucketize(v, boundaries, { right: true });
  const clip = (k: number) => Math.min(Math.max(k, 0), n);
  v.data.forEach((x, i) => {
    assert.equal(left.data[i], clip(Math.ceil(x)), `left at ${i} (${x})`);
    assert.equal(right.data[i], clip(Math.floor(x) + 1), `right at ${i}`);
  });
});

Deno.test("searchsorted under jit and nested vmap: each example's values in its own sequence", () => {
  // torch.searchsorted(s, v) with s [2,3] and v [2,2]: a row of s per row of v
  // torch.searchsorted(tensor([[1.,3,5],[0,0,7]]), tensor([[3.,6],[0,8]])) == [[1,3],[0,3]]
  const s = T.tensor([[1, 3, 5], [0, 0, 7]]);
  const v = T.tensor([[3, 6], [0, 8]]);
  const f = (a: Tensor, b: Tensor) => T.searchsorted(a, b);
  const jf = T.jit(T.vmap(f));
  jf(s, v);
  assert.deepEqual(T.toArray(jf(s, v)), [[1, 3], [0, 3]]);
  // each value against each sequence: vmap over s outside, over v inside
  // torch.searchsorted(tensor([1.,3,5]), tensor([3.,6,0,8])) == [1,3,0,3];
  // torch.searchsorted(tensor([0.,0,7]), tensor([3.,6,0,8])) == [2,2,0,3]
  const g = T.vmap(T.vmap(f, { inAxes: [null, 0] }), { inAxes: [0, null] });
  assert.deepEqual(T.toArray(g(s, T.reshape(v, [4]))), [[1, 3, 0, 3], [
    2,
    2,
    0,
    3,
  ]]);
});

Deno.test("errors: bucketize names its arguments x and boundaries; a NaN k is NaN, not null", () => {
  assert.throws(
    () => T.bucketize(T.tensor([1]), T.tensor([[1, 2]])),
    /^Error: bucketize: boundaries must be a vector, got Tensor float32 \[1,2\]$/,
  );
  assert.throws(
    () => T.bucketize([1] as never, T.tensor([1])),
    /^Error: bucketize: x must be a Tensor, got an array of length 1$/,
  );
  assert.throws(
    () => T.searchsorted(T.tensor(1), T.tensor([1])),
    /^Error: searchsorted: sortedSequence must be a vector, got Tensor float32 \[\]$/,
  );
  assert.throws(
    () => T.topk(T.tensor([1, 2]), NaN),
    /^Error: topk: k \(axis 0 of x \[2\]\) must be an integer in \[0, 2\], got NaN$/,
  );
  assert.throws(
    () => T.oneHot(i32([0]), Infinity),
    /^Error: oneHot: numClasses must be an integer in \[1, 2147483647\], got Infinity$/,
  );
});

Deno.test("sort and topk results are trees: vmap, jit and vjp of a function returning one", () => {
  // { values, indices } was an interface, which is no Tree: vmap, jit and vjp
  // of a function declared to return it did not type-check
  const x = f64([3, 1, 2, 0, 5, 4], [2, 3]);
  const sorted = (a: Tensor): T.ValuesAndIndices => T.sort(a);
  const top1 = (a: Tensor): T.ValuesAndIndices => T.topk(a, 1);
  const top2 = (a: Tensor): T.ValuesAndIndices => T.topk(a, 2);
  const s = T.jit(sorted)(x);
  // torch.sort(tensor([[3.,1,2],[0,5,4]])) == ([[1,2,3],[0,4,5]], [[1,2,0],[0,2,1]])
  assert.deepEqual(T.toArray(s.values), [[1, 2, 3], [0, 4, 5]]);
  assert.deepEqual(T.toArray(s.indices), [[1, 2, 0], [0, 2, 1]]);
  assert.deepEqual(T.toArray(T.vmap(top1)(x).indices), [[0], [1]]);
  const [, back] = T.vjp(top2, x);
  // the values' cotangent goes back to where they came from; the indices' is ignored
  const [g] = back({
    values: f64([1, 2, 3, 4], [2, 2]),
    indices: T.zeros([2, 2], { dtype: "int32" }),
  });
  assert.deepEqual(T.toArray(g as Tensor), [[1, 0, 2], [0, 3, 4]]);
});
