import assert from "node:assert/strict";
import fc from "fast-check";
import {
  bernoulli,
  foldIn,
  key,
  MAX_SPLIT,
  normal,
  permutation,
  randint,
  randomBits,
  split,
  threefry2x32,
  uniform,
} from "../ops/random.ts";
import { isTensor, tensor } from "../ops/tensor.ts";
import * as T from "../mod.ts";
import { arange, jit, vmap } from "../mod.ts";
import type { Key, Tensor } from "../mod.ts";
import fixture from "./fixtures/random_known.json" with { type: "json" };

const words = (ks: { words: readonly number[] }[]) => ks.map((k) => k.words);

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

function variance(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return s / (xs.length - 1);
}

function assertClose(actual: number, expected: number, tol: number, what = "") {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual} not within ${tol} of ${expected}`,
  );
}

// ---------------------------------------------------------------------------
// Independent known-answer checks.

Deno.test("threefry2x32: Random123 known-answer vectors", () => {
  assert.deepEqual(threefry2x32([0, 0], 0, 0), [0x6b200159, 0x99ba4efe]);
  assert.deepEqual(
    threefry2x32([0xffffffff, 0xffffffff], 0xffffffff, 0xffffffff),
    [0x1cb996fc, 0xbb002be7],
  );
  assert.deepEqual(
    threefry2x32([0x13198a2e, 0x03707344], 0x243f6a88, 0x85a308d3),
    [0xc4923a9c, 0x483df7a0],
  );
});

// The values below are JAX outputs with jax_threefry_partitionable=False
// (the layout this module reproduces), taken from JAX's own test suite
// (tests/random_test.py: test_prng_seeds_and_keys, testRngRandomBits,
// testPRNGValues, _RANDOM_VALUES_CASES) and from printed JAX 0.4.x sessions.

Deno.test("key: seeds as jax.random.PRNGKey (x64 semantics)", () => {
  assert.deepEqual(key(0).words, [0, 0]);
  assert.deepEqual(key(3).words, [0, 3]);
  assert.deepEqual(key(2 ** 31 - 1 + 100).words, [0, 2147483747]);
  assert.deepEqual(key(-1).words, [4294967295, 4294967295]);
  assert.deepEqual(key(-3).words, [4294967295, 4294967293]);
  assert.deepEqual(key(-(2 ** 31) - 100).words, [4294967295, 2147483548]);
  assert.deepEqual(key(2 ** 40 + 7).words, [256, 7]);
  assert.deepEqual(key(-(2 ** 53) + 1).words, [0xffe00000, 1]);
});

Deno.test("split: matches JAX", () => {
  assert.deepEqual(words(split(key(0))), [
    [4146024105, 967050713],
    [2718843009, 1272950319],
  ]);
  assert.deepEqual(words(split(key(0), 4)), [
    [2285895361, 1501764800],
    [1518642379, 4090693311],
    [433833334, 4221794875],
    [839183663, 3740430601],
  ]);
  assert.deepEqual(split(key(0), 0), []);
});

Deno.test("foldIn: JAX's words, and traced or batched data folds in at every call", () => {
  // a JAX 0.4.38 session: key_data(fold_in(key(0), 3)) (its split(key(0), 4)
  // printed the words of the test above, so its key was key(0))
  assert.deepEqual(foldIn(key(0), 3).words, [2467461003, 3840466878]);
  // JAX's definition: threefry_2x32(key, threefry_seed(data)), the seed's
  // words being key(data)'s
  for (const d of [0, 1, 12345, 2 ** 32 - 1]) {
    const [w0, w1] = key(0).words, seed = key(d).words;
    assert.deepEqual(
      foldIn(key(7), d).words,
      threefry2x32(key(7).words, seed[0], seed[1]),
    );
    assert.deepEqual(foldIn(key(0), d).words, threefry2x32([w0, w1], 0, d));
  }
  const i32 = (v: number) => tensor(v, { dtype: "int32" });
  // an int32 tensor's bits, as jnp.uint32
  assert.deepEqual(
    foldIn(key(1), i32(-1)).words,
    foldIn(key(1), 2 ** 32 - 1).words,
  );
  // under jit: the data and the key are traced, each call folds its own
  const draw = jit((k: Key, i: Tensor) => uniform(foldIn(k, i), [3]));
  for (const i of [0, 5, 2]) {
    assert.deepEqual(
      draw(key(3), i32(i)).data,
      uniform(foldIn(key(3), i), [3]).data,
    );
  }
  assert.equal(draw.traceCount(), 1);
  const viaNumber = jit((k: Key) => uniform(foldIn(k, 9), [2]));
  assert.deepEqual(
    viaNumber(key(4)).data,
    uniform(foldIn(key(4), 9), [2]).data,
  );
  // under vmap: a key per example, from one key and each example's index
  const perExample = vmap((i: Tensor) => uniform(foldIn(key(5), i), [2]))(
    arange(4, undefined, 1, { dtype: "int32" }),
  );
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(
      Array.from(perExample.data.slice(2 * i, 2 * i + 2)),
      Array.from(uniform(foldIn(key(5), i), [2]).data),
    );
  }
  assert.throws(
    () => foldIn(key(0), -1),
    /random.foldIn: data must be an integer in \[0, 2\^32\) or an int32 scalar tensor, got -1/,
  );
  assert.throws(
    () => foldIn(key(0), tensor([1, 2], { dtype: "int32" })),
    /random.foldIn: data must be .* got Tensor int32 \[2\]/,
  );
});

Deno.test("split: more than MAX_SPLIT keys is an Error, not an exhausted heap (also traced)", () => {
  const tooMany =
    /^Error: random\.split: n must be at most 16777216 \(each key is a JavaScript object/;
  assert.equal(MAX_SPLIT, 2 ** 24);
  // 10^9 keys used to be made one object at a time until the heap ran out
  assert.throws(() => split(key(0), 1e9), tooMany);
  assert.throws(() => split(key(0), 2 ** 24 + 1), tooMany);
  assert.throws(
    () => jit((k: Key) => split(k, 2 ** 24 + 1)[0])(key(0)),
    tooMany,
  );
  assert.equal(split(key(0), 1000).length, 1000);
});

Deno.test("randomBits: matches JAX, including odd counts", () => {
  assert.deepEqual([...randomBits(key(0), 4)], [
    4146024105,
    967050713,
    2718843009,
    1272950319,
  ]);
  assert.deepEqual([...randomBits(key(0), 3)], [
    4146024105,
    1351547692,
    2718843009,
  ]);
  assert.deepEqual([...randomBits(key(0), 1)], [0x6b200159]);
  assert.deepEqual([...randomBits(key(1701), 3)], [
    56197195,
    4200222568,
    961309823,
  ]);
  // Seed = zlib.adler32(b"bitsthreefry2x32").
  assert.deepEqual([...randomBits(key(942802475), 5)], [
    1978747883,
    4134381225,
    3628107870,
    689687174,
    2788938207,
  ]);
  assert.deepEqual([...randomBits(key(0), 0)], []);
});

Deno.test("uniform float64 uses JAX's 64-bit words (top 52 bits)", () => {
  // JAX (x64) _random_bits(key, 64, shape) for these keys.
  const cases: [number, bigint[]][] = [
    [1701, [3982329540505020460n, 16822122385914693683n, 7882654074788531506n]],
    [942802475, [
      17649965731882839947n,
      1415307058040849897n,
      8282622628079774249n,
      14024425113645909402n,
      2012979996110532418n,
    ]],
  ];
  for (const [seed, bits] of cases) {
    const u = uniform(key(seed), [bits.length], { dtype: "float64" });
    assert.deepEqual(
      [...u.data],
      bits.map((b) => Number(b >> 12n) / 2 ** 52),
    );
  }
});

Deno.test("uniform, normal, randint, bernoulli: match JAX values", () => {
  // Seeds are zlib.adler32(name + "threefry2x32"), as in JAX's tests.
  const u = uniform(key(1338574713), [5]);
  const ju = [0.298671, 0.073213, 0.873356, 0.260549, 0.412797];
  u.data.forEach((v, i) => assertClose(v, ju[i], 1e-6, "uniform"));

  const z = normal(key(1193674498), [5]);
  const jz = [-1.173234, -1.511662, 0.070593, -0.099764, 1.052845];
  z.data.forEach((v, i) => assertClose(v, jz[i], 2e-6, "normal"));

  // jax.random.normal(PRNGKey(0), (4,)) and ((3, 3)), and on split(key)[1].
  const z4 = [1.8160863, -0.75488514, 0.33988908, -0.53483534];
  normal(key(0), [4]).data.forEach((v, i) => assertClose(v, z4[i], 1e-6));
  const z33 = [
    -0.3721109,
    0.26423115,
    -0.18252768,
    -0.7368197,
    0.44973662,
    -0.1521442,
    -0.67135346,
    -0.5908641,
    0.73168886,
  ];
  normal(key(0), [3, 3]).data.forEach((v, i) => assertClose(v, z33[i], 1e-6));
  assertClose(normal(split(key(0))[1], [1]).data[0], -1.2515389, 1e-6);

  assert.deepEqual([...randint(key(1319372649), [5], 0, 10).data], [
    0,
    5,
    7,
    7,
    5,
  ]);
  const r = randint(key(0), [3, 3], 0, 8);
  assert.deepEqual(r.shape, [3, 3]);
  assert.deepEqual([...r.data], [2, 1, 3, 6, 1, 5, 6, 3, 4]);

  assert.deepEqual([...bernoulli(key(1612777541), 0.5, [5]).data], [
    0,
    1,
    1,
    1,
    0,
  ]);
});

// ---------------------------------------------------------------------------
// Regression fixture (written once by tests/fixtures/gen_random_known.ts).

Deno.test("regression fixture tests/fixtures/random_known.json", () => {
  const k0 = key(0);
  const k42 = key(42);
  const f = fixture;
  assert.match(f.note, /regression fixture/i);
  assert.deepEqual(f.keys["key(0)"], k0.words);
  assert.deepEqual(f.keys["key(42)"], k42.words);
  assert.deepEqual(f.keys["key(-1)"], key(-1).words);
  assert.deepEqual(f.keys["key(2**40+7)"], key(2 ** 40 + 7).words);
  assert.deepEqual(f.split["split(key(0))"], words(split(k0)));
  assert.deepEqual(f.split["split(key(42), 3)"], words(split(k42, 3)));
  assert.deepEqual(f.split["split(key(42), 0)"], []);
  assert.deepEqual(f.randomBits["randomBits(key(42), 5)"], [
    ...randomBits(k42, 5),
  ]);
  assert.deepEqual(f.randomBits["randomBits(key(42), 6)"], [
    ...randomBits(k42, 6),
  ]);
  assert.deepEqual(f.uniform["uniform(key(42), [5])"], [
    ...uniform(k42, [5]).data,
  ]);
  assert.deepEqual(f.uniform["uniform(key(42), [5], {minval:-2,maxval:3})"], [
    ...uniform(k42, [5], { minval: -2, maxval: 3 }).data,
  ]);
  assert.deepEqual(f.uniform["uniform(key(42), [5], {dtype:float64})"], [
    ...uniform(k42, [5], { dtype: "float64" }).data,
  ]);
  assert.deepEqual(f.normal["normal(key(42), [5])"], [
    ...normal(k42, [5]).data,
  ]);
  assert.deepEqual(f.normal["normal(key(42), [5], {dtype:float64})"], [
    ...normal(k42, [5], { dtype: "float64" }).data,
  ]);
  assert.deepEqual(f.randint["randint(key(42), [8], 0, 10)"], [
    ...randint(k42, [8], 0, 10).data,
  ]);
  assert.deepEqual(f.randint["randint(key(42), [4], -2**31, 2**31)"], [
    ...randint(k42, [4], -(2 ** 31), 2 ** 31).data,
  ]);
  assert.deepEqual(f.bernoulli["bernoulli(key(42), 0.3, [10])"], [
    ...bernoulli(k42, 0.3, [10]).data,
  ]);
  assert.deepEqual(f.permutation["permutation(key(42), 10)"], [
    ...permutation(k42, 10).data,
  ]);
  assert.deepEqual(f.permutation["permutation(key(42), 2000).slice(0, 10)"], [
    ...permutation(k42, 2000).data.slice(0, 10),
  ]);
});

// ---------------------------------------------------------------------------
// Keys and purity.

Deno.test("keys are frozen, not tensors", () => {
  const k = key(7);
  assert.equal(k.kind, "key");
  assert.ok(Object.isFrozen(k) && Object.isFrozen(k.words));
  assert.equal(isTensor(k), false);
  assert.throws(() => {
    (k.words as unknown as number[])[0] = 1;
  }, TypeError);
});

Deno.test("same key gives the same numbers; split keys give different streams", () => {
  const k = key(123);
  assert.deepEqual(uniform(k, [100]).data, uniform(k, [100]).data);
  assert.deepEqual(normal(k, [50]).data, normal(k, [50]).data);
  assert.deepEqual(randint(k, [50], 0, 9).data, randint(k, [50], 0, 9).data);
  assert.deepEqual(permutation(k, 50).data, permutation(k, 50).data);

  const [a, b] = split(k);
  const ua = uniform(a, [1000]).data;
  const ub = uniform(b, [1000]).data;
  const uk = uniform(k, [1000]).data;
  let same = 0;
  for (let i = 0; i < 1000; i++) {
    same += ua[i] === ub[i] || ua[i] === uk[i] ? 1 : 0;
  }
  assert.ok(same <= 1, `${same} equal draws between split streams`);
  assert.notDeepEqual(split(k, 3)[0].words, split(k, 2)[0].words);
});

Deno.test("split: keys are distinct (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.integer({ min: 0, max: 64 }),
      (seed, n) => {
        const ks = split(key(seed), n);
        assert.equal(ks.length, n);
        const set = new Set(ks.map((k) => `${k.words[0]},${k.words[1]}`));
        set.add(`${key(seed).words}`);
        assert.equal(set.size, n + 1);
      },
    ),
    { numRuns: 100 },
  );
});

// ---------------------------------------------------------------------------
// Distributions: 10^5 draws, bounds at about 5 standard errors.

const N = 100_000;

Deno.test("uniform: range, mean 1/2 and variance 1/12", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const u = uniform(key(2024), [N], { dtype });
    assert.equal(u.dtype, dtype);
    assert.ok(u.data.every((v) => v >= 0 && v < 1));
    assertClose(mean(u.data), 0.5, 5 * Math.sqrt(1 / 12 / N), `${dtype} mean`);
    // Var((U - 1/2)^2) = 1/80 - 1/144 = 1/180.
    assertClose(
      variance(u.data),
      1 / 12,
      5 * Math.sqrt(1 / 180 / N),
      `${dtype} variance`,
    );
  }
  // float32 draws are multiples of 2^-23.
  const f = uniform(key(5), [1000]).data;
  assert.ok(f.every((v) => Number.isInteger(v * 2 ** 23)));
  // float64 draws use all 52 bits.
  const d = uniform(key(5), [1000], { dtype: "float64" }).data;
  assert.ok(d.some((v) => !Number.isInteger(v * 2 ** 40)));
});

Deno.test("uniform: minval/maxval scaling and the half-open interval", () => {
  const u = uniform(key(9), [N], { minval: -2, maxval: 6 });
  assert.ok(u.data.every((v) => v >= -2 && v < 6));
  assertClose(mean(u.data), 2, 5 * 8 * Math.sqrt(1 / 12 / N), "mean");
  // Adjacent float32 bounds: every draw is minval.
  const one = Math.fround(1 + 2 ** -23);
  const t = uniform(key(9), [100], { minval: 1, maxval: one });
  assert.ok(t.data.every((v) => v === 1));
  // A scalar draw has shape [].
  assert.deepEqual(uniform(key(9)).shape, []);
  assert.deepEqual(uniform(key(9), [2, 0, 3]).shape, [2, 0, 3]);
});

Deno.test("normal: mean 0, variance 1, finite, float64 too", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const z = normal(key(77), [N], { dtype });
    assert.equal(z.dtype, dtype);
    assert.ok(z.data.every((v) => Number.isFinite(v) && Math.abs(v) < 6));
    assertClose(mean(z.data), 0, 5 / Math.sqrt(N), `${dtype} mean`);
    assertClose(variance(z.data), 1, 5 * Math.sqrt(2 / N), `${dtype} variance`);
    // Tail mass beyond 1.96 is 5%.
    const tail = z.data.filter((v) => Math.abs(v) > 1.959964).length / N;
    assertClose(tail, 0.05, 5 * Math.sqrt(0.05 * 0.95 / N), `${dtype} tail`);
  }
});

Deno.test("bernoulli: rate p, and p = 0 / 1 exactly", () => {
  for (const p of [0.3, 0.5, 0.9]) {
    const b = bernoulli(key(11), p, [N]);
    assert.equal(b.dtype, "int32");
    assert.ok(b.data.every((v) => v === 0 || v === 1));
    assertClose(mean(b.data), p, 5 * Math.sqrt(p * (1 - p) / N), `p=${p}`);
  }
  assert.ok(bernoulli(key(1), 0, [1000]).data.every((v) => v === 0));
  assert.ok(bernoulli(key(1), 1, [1000]).data.every((v) => v === 1));
  assert.deepEqual(bernoulli(key(1), 0.5).shape, []);
});

Deno.test("randint: range and chi-square uniformity", () => {
  const lo = -3;
  const hi = 7;
  const r = randint(key(31), [N], lo, hi);
  assert.equal(r.dtype, "int32");
  const counts = new Array(hi - lo).fill(0);
  for (const v of r.data) {
    assert.ok(v >= lo && v < hi, `out of range: ${v}`);
    counts[v - lo]++;
  }
  const e = N / (hi - lo);
  const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
  // 9 degrees of freedom: P(chi2 > 45) is about 1e-6.
  assert.ok(chi2 < 45, `chi-square ${chi2} for counts ${counts}`);

  // Full int32 range, and a large odd span.
  const full = randint(key(32), [N], -(2 ** 31), 2 ** 31).data;
  assert.ok(full.some((v) => v < -(2 ** 30)) && full.some((v) => v > 2 ** 30));
  const big = 3_000_000_001;
  const rb = randint(key(33), [N], -1_000_000_000, big - 1_000_000_000).data;
  assert.ok(rb.every((v) => v >= -1_000_000_000 && v < big - 1_000_000_000));
  assertClose(
    mean(rb),
    (big - 1) / 2 - 1_000_000_000,
    5 * big * Math.sqrt(1 / 12 / N),
    "large-span mean",
  );
  // Span 1 always gives minval.
  assert.ok(randint(key(34), [100], 5, 6).data.every((v) => v === 5));
});

Deno.test("permutation: is a permutation of 0..n-1 (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      (n, seed) => {
        const p = permutation(key(seed), n);
        assert.equal(p.dtype, "int32");
        assert.deepEqual(p.shape, [n]);
        const seen = new Uint8Array(n);
        for (const v of p.data) {
          assert.ok(v >= 0 && v < n && seen[v] === 0);
          seen[v] = 1;
        }
      },
    ),
    { numRuns: 60 },
  );
  // Not the identity, and first positions are roughly uniform.
  const p = permutation(key(0), 100).data;
  assert.ok(p.some((v, i) => v !== i));
  const firsts = new Array(4).fill(0);
  for (const k of split(key(1), 4000)) firsts[permutation(k, 4).data[0]]++;
  const chi2 = firsts.reduce((s, c) => s + (c - 1000) ** 2 / 1000, 0);
  assert.ok(chi2 < 30, `chi-square ${chi2} for ${firsts}`);
});

// ---------------------------------------------------------------------------
// Errors.

Deno.test("errors name the function, the argument and what came", () => {
  const k = key(0);
  const bad = <T>(f: () => T, re: RegExp) => assert.throws(f, re);
  bad(() => key(1.5), /^Error: random\.key: seed must be .*got number 1\.5/);
  bad(() => key(NaN), /random\.key: seed must be/);
  bad(() => key(Infinity), /random\.key: seed must be/);
  bad(() => key(2 ** 53), /random\.key: seed must be/);
  bad(() => key("1" as unknown as number), /random\.key: seed .*got string 1/);

  bad(
    () => split(tensor([0, 0]) as never),
    /random\.split: key must be a Key .*got Tensor float32 \[2\]/,
  );
  bad(
    () => split({ kind: "key", words: [0, -1] } as never),
    /random\.split: key/,
  );
  bad(
    () => split(k, -1),
    /random\.split: n must be an integer .*got number -1/,
  );
  bad(() => split(k, 1.5), /random\.split: n must be/);

  bad(
    () => threefry2x32([0] as never, 0, 0),
    /random\.threefry2x32: key must be an array of two uint32 .*\[0\]/,
  );
  bad(() => threefry2x32([0, 0], -1, 0), /random\.threefry2x32: x0 and x1/);
  bad(
    () => threefry2x32([0, 0], 0, 2 ** 32),
    /random\.threefry2x32: x0 and x1/,
  );

  bad(() => randomBits(k, -1), /random\.randomBits: n must be/);
  bad(() => randomBits(null as never, 1), /random\.randomBits: key .*got null/);

  bad(
    () => uniform(k, [-1]),
    /random\.uniform: shape must be an array of non-negative integers, got \[-1\]/,
  );
  bad(() => uniform(k, 3 as never), /random\.uniform: shape must be/);
  bad(
    () => uniform(k, [2], { minval: 2, maxval: 1 }),
    /random\.uniform: minval and maxval must be finite numbers with minval < maxval.*got 2 and 1/,
  );
  bad(
    () => uniform(k, [2], { minval: NaN }),
    /random\.uniform: minval and maxval/,
  );
  bad(() => uniform(k, [2], { maxval: Infinity }), /random\.uniform: minval/);
  bad(
    () => uniform(k, [2], { minval: 1, maxval: 1 + 1e-10 }),
    /minval < maxval \(in float32\)/,
  );
  bad(
    () => uniform(k, [2], { minval: -3e38, maxval: 3e38 }),
    /random\.uniform: maxval - minval overflows float32/,
  );
  bad(
    () => uniform(k, [2], { minval: "0" as never }),
    /random\.uniform: minval must be a number, got string 0/,
  );
  bad(
    () => uniform(k, [2], { dtype: "int32" }),
    /random\.uniform: dtype must be "float32" or "float64", got "int32"/,
  );
  bad(
    () => uniform(k, [2], { mean: 1 } as never),
    /random\.uniform: unknown option "mean"/,
  );
  bad(
    () => uniform(k, [2 ** 20, 2 ** 12]),
    /random\.uniform: shape .* maximum/,
  );

  bad(
    () => normal(k, [2], { dtype: "int32" }),
    /random\.normal: dtype must be/,
  );
  bad(() => normal(k, [1.5]), /random\.normal: shape must be/);
  bad(
    () => normal(k, [2], { std: 2 } as never),
    /random\.normal: unknown option/,
  );

  bad(
    () => randint(k, [2], 3, 3),
    /random\.randint: minval and maxval .*got number 3 and number 3/,
  );
  bad(() => randint(k, [2], 0.5, 3), /random\.randint: minval and maxval/);
  bad(
    () => randint(k, [2], 0, 2 ** 31 + 1),
    /random\.randint: minval and maxval/,
  );
  bad(() => randint(k, [2], -(2 ** 31) - 1, 0), /random\.randint: minval/);
  bad(() => randint(k, [-2], 0, 3), /random\.randint: shape must be/);

  bad(
    () => bernoulli(k, 1.5, [2]),
    /random\.bernoulli: p must be a number in \[0, 1\], got number 1\.5/,
  );
  bad(() => bernoulli(k, NaN, [2]), /random\.bernoulli: p must be/);
  bad(
    () => bernoulli(k, "0.5" as never, [2]),
    /random\.bernoulli: p must be .*string/,
  );
  bad(() => bernoulli(k, 0.5, [0.5]), /random\.bernoulli: shape must be/);

  bad(() => permutation(k, -1), /random\.permutation: n must be an integer/);
  bad(() => permutation(k, 2.5), /random\.permutation: n must be/);
  bad(
    () => permutation("k" as never, 3),
    /random\.permutation: key must be a Key/,
  );
});

Deno.test("permutation of a tensor: its entries along an axis in the order of permutation(key, n), as JAX's", () => {
  const k = key(9);
  const x = T.reshape(T.arange(12, undefined, 1, { dtype: "float64" }), [3, 4]);
  const order = Array.from(permutation(k, 4).data);
  const cols = permutation(k, x, { axis: -1 });
  assert.deepEqual(
    T.toArray(cols),
    (T.toArray(x) as number[][]).map((row) => order.map((j) => row[j])),
  );
  const rows = permutation(k, x);
  const rowOrder = Array.from(permutation(k, 3).data);
  assert.deepEqual(
    T.toArray(rows),
    rowOrder.map((i) => (T.toArray(x) as number[][])[i]),
  );
  // a traced key under jit
  const jp = jit((kk: Key, v: Tensor) => permutation(kk, v));
  assert.deepEqual(jp(k, x).data, rows.data);
  assert.throws(
    () => permutation(k, x, { axis: 2 }),
    /random.permutation: options.axis must be an integer in \[-2, 2\) for x \[3,4\], got number 2/,
  );
  assert.throws(
    () => permutation(k, T.tensor(3)),
    /random.permutation: x must have an axis to permute/,
  );
});
