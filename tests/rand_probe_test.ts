/**
 * Random ops under transforms and as values: every sampler eagerly, under
 * jit (the key an argument, two keys), vmap over keys and jit(vmap); and
 * the fixes found probing them (geometric at p = 1 and past int32, errors
 * naming the sampler and its argument).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { random } from "../mod.ts";
import type { Key, Tensor } from "../mod.ts";

const same = (a: Tensor, b: ArrayLike<number>) =>
  a.data.length === b.length &&
  Array.from(a.data).every((v, i) => Object.is(v, b[i]));

Deno.test("every sampler: jit with the key an argument, vmap over keys and jit(vmap) give each key's eager numbers", () => {
  const lg = T.log(T.tensor([0.2, 0.3, 0.5]));
  const samplers: [string, (k: Key) => Tensor][] = [
    ["uniform", (k) => random.uniform(k, [5], { minval: -2, maxval: 3 })],
    ["uniform64", (k) => random.uniform(k, [3], { dtype: "float64" })],
    ["normal", (k) => random.normal(k, [2, 3])],
    ["truncatedNormal", (k) => random.truncatedNormal(k, -1, 2, [5])],
    ["randint", (k) => random.randint(k, [5], -3, 100)],
    ["bernoulli", (k) => random.bernoulli(k, 0.3, [7])],
    ["permutation", (k) => random.permutation(k, 9)],
    ["permutationX", (k) => random.permutation(k, T.arange(6))],
    ["exponential", (k) => random.exponential(k, [5])],
    ["categorical", (k) => random.categorical(k, lg, { shape: [6] })],
    ["gamma", (k) => random.gamma(k, T.tensor([0.5, 2, 3]))],
    ["beta", (k) => random.beta(k, 2, 3, [4])],
    ["choice", (k) => random.choice(k, 10, { shape: [4], replace: false })],
    ["choiceP", (k) =>
      random.choice(k, T.tensor([1, 2, 3]), {
        shape: [4],
        p: T.tensor([0.1, 0.5, 0.4]),
      })],
    ["dirichlet", (k) => random.dirichlet(k, T.tensor([1, 2, 3]), [2])],
    ["geometric", (k) => random.geometric(k, 0.3, [4])],
    ["poisson", (k) => random.poisson(k, 30, [4])],
    ["orthogonal", (k) => random.orthogonal(k, 3)],
    ["t", (k) => random.t(k, 3, [3], { dtype: "float64" })],
    [
      "split+foldIn",
      (k) => random.normal(random.foldIn(random.split(k, 3)[2], 7), [3]),
    ],
  ];
  const keys = random.split(random.key(11), 3);
  const other = random.split(random.key(99), 3);
  for (const [name, f] of samplers) {
    const jf = T.jit(f);
    for (const k of [...keys, ...other]) {
      assert.ok(same(jf(k), f(k).data), `${name}: jit`);
    }
    assert.equal(jf.traceCount(), 1, name);
    const jv = T.jit(T.vmap(f));
    for (const ks of [keys, other]) {
      for (const batched of [T.vmap(f)(ks), jv(ks)]) {
        ks.forEach((k, i) => {
          const e = f(k), n = e.data.length;
          assert.deepEqual(batched.shape, [3, ...e.shape], name);
          assert.ok(
            same(e, batched.data.slice(i * n, (i + 1) * n)),
            `${name}: vmap row ${i}`,
          );
        });
      }
    }
  }
});

Deno.test("keys derived inside jit and vmap, returned from them and in trees equal the eager ones", () => {
  const k = random.key(5);
  const words = (ks: readonly Key[]) => ks.map((x) => x.words);
  const js = T.jit((kk: Key) => random.split(kk, 3));
  assert.deepEqual(
    words(js(random.key(6))),
    words(random.split(random.key(6), 3)),
  );
  assert.deepEqual(words(js(k)), words(random.split(k, 3)));
  const r = js(k)[0];
  assert.ok(Object.isFrozen(r) && Object.isFrozen(r.words));
  const jt = T.jit((s: { k: Key; x: Tensor }) => {
    const [a, b] = random.split(s.k);
    return {
      k: random.foldIn(a, 2 ** 32 - 1),
      x: T.add(s.x, random.normal(b, [2])),
    };
  });
  const out = jt({ k, x: T.zeros([2]) });
  const [a, b] = random.split(k);
  assert.deepEqual(out.k.words, random.foldIn(a, 2 ** 32 - 1).words);
  assert.deepEqual(out.x.data, random.normal(b, [2]).data);
  const ks = random.split(k, 3);
  const folded = T.vmap((kk: Key) => random.foldIn(kk, 3))(
    ks,
  ) as unknown as Key[];
  assert.deepEqual(words(folded), words(ks.map((x) => random.foldIn(x, 3))));
});

Deno.test("grad through a fixed-key sample: the sample is a constant, normal(key) * sigma + mu differentiates", () => {
  const k = random.key(3);
  const z = random.normal(k, [4]);
  const g = T.grad((p: { mu: Tensor; s: Tensor }) =>
    T.sum(T.add(T.mul(random.normal(k, [4]), p.s), p.mu))
  )({ mu: T.tensor(1), s: T.tensor(2) });
  assert.equal(g.mu.data[0], 4);
  assert.ok(Math.abs(g.s.data[0] - T.sum(z).data[0]) < 1e-6);
});

Deno.test("geometric: p = 1 always gives 1; int32 counts past 2^31 - 1 saturate instead of wrapping to -2^31", () => {
  const k = random.key(0);
  assert.deepEqual([...random.geometric(k, 1, [4]).data], [1, 1, 1, 1]);
  assert.deepEqual(
    [...random.geometric(k, 1, [2], { dtype: "float64" }).data],
    [1, 1],
  );
  assert.deepEqual(
    [...T.jit((kk: Key) => random.geometric(kk, 1, [2]))(k).data],
    [1, 1],
  );
  // p = 1e-12: counts near 1e12
  const tiny = random.geometric(k, 1e-12, [3]);
  assert.equal(tiny.dtype, "int32");
  assert.deepEqual([...tiny.data], [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1]);
  // float dtypes keep the counts
  const f = random.geometric(k, 1e-12, [3], { dtype: "float32" });
  assert.ok([...f.data].every((v) => v > 2 ** 31));
  // every draw >= 1
  assert.ok([...random.geometric(k, 0.3, [1000]).data].every((v) => v >= 1));
});

Deno.test("geometric: JAX's floor(log u / log1p(-p)) + 1, on the same key's uniforms and where the ratio is a whole number", () => {
  const k = random.key(3);
  // the same key's uniforms through JAX's formula, in float32
  const u = Array.from(random.uniform(k, [500]).data);
  const want = u.map((x) =>
    Math.floor(
      Math.fround(Math.fround(Math.log(x)) / Math.fround(Math.log1p(-0.3))),
    ) + 1
  );
  assert.deepEqual(Array.from(random.geometric(k, 0.3, [500]).data), want);
  // a key whose draw is 0.25 (found by a search over foldIn's data): with
  // p = 0.5, log u / log1p(-p) is 2 exactly in float32, which JAX counts
  // as 3 (a ceil would give 2)
  const k25 = random.foldIn(random.key(0), 85948);
  assert.equal(random.uniform(k25, []).data[0], 0.25);
  assert.equal(
    Math.fround(Math.fround(Math.log(0.25)) / Math.fround(Math.log1p(-0.5))),
    2,
  );
  assert.deepEqual(Array.from(random.geometric(k25, 0.5, []).data), [3]);
});

Deno.test("errors of composite samplers name the sampler and its argument", () => {
  const k = random.key(0);
  assert.throws(
    () => random.maxwell(k, [2 ** 30]),
    /^Error: random\.maxwell: shape \[1073741824,3\] has/,
  );
  assert.throws(
    () => random.multivariateNormal(k, T.zeros([2]), T.eye(2), [2 ** 30]),
    /^Error: random\.multivariateNormal: shape \[1073741824,2\] has/,
  );
  assert.throws(
    () => random.dirichlet(k, T.tensor([1, -1])),
    /random\.dirichlet: every alpha must be a finite number > 0/,
  );
  assert.throws(
    () => random.t(k, T.tensor([1, -1])),
    /random\.t: every df must be a finite number > 0/,
  );
  assert.throws(
    () => random.chisquare(k, T.tensor([1, 2]), [3]),
    /random\.chisquare: df \[2\] must broadcast to the shape \[3\]/,
  );
  assert.throws(
    () =>
      T.grad((a: Tensor) => T.sum(random.dirichlet(k, a)))(T.tensor([1, 2])),
    /random\.dirichlet: alpha must be a number or a concrete tensor/,
  );
});

Deno.test("random.choice of rows checks the result's size before drawing (2^32 numbers were allocated)", () => {
  const t0 = performance.now();
  assert.throws(
    () =>
      T.random.choice(T.random.key(0), T.zeros([2, 2 ** 20]), {
        shape: [4096],
      }),
    /^Error: random\.choice: the result \[4096,1048576\] would have 4294967296 elements, more than 2\^31 - 1$/,
  );
  assert.ok(performance.now() - t0 < 5000);
  // within the limit, rows as before
  const rows = T.random.choice(
    T.random.key(0),
    T.reshape(T.arange(6), [3, 2]),
    {
      shape: [4],
    },
  );
  assert.deepEqual(rows.shape, [4, 2]);
});
