/**
 * random.exponential, gumbel, laplace, logistic, categorical, gamma and
 * beta: each is JAX's formula on JAX's uniform bits (checked against the
 * uniform draws of the same key), and its values follow the distribution:
 * Kolmogorov-Smirnov against closed-form CDFs (gamma of shape 1/2, 1 and 2,
 * beta (1, 1), (2, 1) and (1/2, 1/2)), moments elsewhere, class
 * frequencies for categorical; jit and vmap over keys; the errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertErrors } from "./_helpers.ts";

const { random } = T;
const key = random.key(2024);

/** The Kolmogorov-Smirnov distance between a sample and a CDF. */
function ks(sample: ArrayLike<number>, cdf: (x: number) => number): number {
  const xs = Array.from(sample).sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return d;
}
/** The 0.1% critical value of the KS distance for n draws. */
const ksCritical = (n: number) => 1.95 / Math.sqrt(n);

const moments = (v: ArrayLike<number>) => {
  const xs = Array.from(v), n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, variance };
};

const erf = (x: number) => T.item(T.erf(T.tensor(x, { dtype: "float64" })));

Deno.test("exponential, gumbel, laplace, logistic: JAX's formulas on the same key's uniforms, bit for bit", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const r = dtype === "float32" ? Math.fround : (v: number) => v;
    const f = dtype === "float32"
      ? { tiny: 2 ** -126, epsneg: 2 ** -24, eps: 2 ** -23 }
      : { tiny: 2 ** -1022, epsneg: 2 ** -53, eps: 2 ** -52 };
    const u = (lo: number, hi: number) =>
      Array.from(
        random.uniform(key, [500], { minval: lo, maxval: hi, dtype }).data,
      );
    const cases: [T.Tensor, number[]][] = [
      [
        random.exponential(key, [500], { dtype }),
        u(0, 1).map((x) => r(-Math.log1p(-x))),
      ],
      [
        random.gumbel(key, [500], { dtype }),
        u(f.tiny, 1).map((x) => r(-Math.log(-Math.log(x)))),
      ],
      [
        random.laplace(key, [500], { dtype }),
        u(-1 + f.epsneg, 1).map((x) =>
          r(Math.sign(x) * Math.log1p(-Math.abs(x)))
        ),
      ],
      [
        random.logistic(key, [500], { dtype }),
        u(f.eps, 1).map((x) => r(Math.log(x / (1 - x)))),
      ],
    ];
    for (const [t, want] of cases) {
      assert.equal(t.dtype, dtype);
      assert.deepEqual(Array.from(t.data), want);
    }
  }
});

Deno.test("exponential, gumbel, laplace, logistic: Kolmogorov-Smirnov against their CDFs", () => {
  const n = 20000;
  const cases: [string, T.Tensor, (x: number) => number][] = [
    ["exponential", random.exponential(key, [n]), (x) => 1 - Math.exp(-x)],
    ["gumbel", random.gumbel(key, [n]), (x) => Math.exp(-Math.exp(-x))],
    [
      "laplace",
      random.laplace(key, [n], { dtype: "float64" }),
      (x) => (x < 0 ? 0.5 * Math.exp(x) : 1 - 0.5 * Math.exp(-x)),
    ],
    ["logistic", random.logistic(key, [n]), (x) => 1 / (1 + Math.exp(-x))],
  ];
  for (const [name, t, cdf] of cases) {
    const d = ks(t.data, cdf);
    assert.ok(d < ksCritical(n), `${name}: KS ${d}`);
  }
  // and a wrong CDF is told apart (the test has power)
  assert.ok(
    ks(random.gumbel(key, [n]).data, (x) => 1 / (1 + Math.exp(-x))) >
      ksCritical(n),
  );
});

Deno.test("gamma: Kolmogorov-Smirnov for shapes 1/2, 1 and 2; mean and variance a for small and large shapes; a tensor of shapes", () => {
  const n = 8000;
  const cdfs: [number, (x: number) => number][] = [
    [0.5, (x) => erf(Math.sqrt(x))],
    [1, (x) => 1 - Math.exp(-x)],
    [2, (x) => 1 - Math.exp(-x) * (1 + x)],
  ];
  for (const [a, cdf] of cdfs) {
    for (const dtype of ["float32", "float64"] as const) {
      const g = random.gamma(key, a, [n], { dtype });
      assert.equal(g.dtype, dtype);
      const d = ks(g.data, cdf);
      assert.ok(d < ksCritical(n), `gamma(${a}) ${dtype}: KS ${d}`);
    }
  }
  for (const a of [0.05, 0.3, 5, 40]) {
    const { mean, variance } = moments(
      random.gamma(key, a, [n], { dtype: "float64" }).data,
    );
    const se = Math.sqrt(a / n);
    assert.ok(Math.abs(mean - a) < 5 * se, `gamma(${a}) mean ${mean}`);
    assert.ok(
      Math.abs(variance / a - 1) < 0.1,
      `gamma(${a}) variance ${variance}`,
    );
  }
  // shapes per column, broadcast over rows
  const a = T.tensor([0.5, 2, 8]);
  const g = random.gamma(key, a, [3000, 3], { dtype: "float64" });
  for (let c = 0; c < 3; c++) {
    const col = Array.from({ length: 3000 }, (_, i) => g.data[i * 3 + c]);
    const { mean } = moments(col);
    assert.ok(
      Math.abs(mean - a.data[c]) < 5 * Math.sqrt(a.data[c] / 3000),
      `column ${c}: ${mean}`,
    );
  }
  assert.deepEqual(random.gamma(key, a).shape, [3]);
});

Deno.test("beta: Kolmogorov-Smirnov for (1, 1), (2, 1) and (1/2, 1/2); moments of (2, 5); mixed shapes", () => {
  const n = 8000;
  const cdfs: [number, number, (x: number) => number][] = [
    [1, 1, (x) => x],
    [2, 1, (x) => x * x],
    [0.5, 0.5, (x) => (2 / Math.PI) * Math.asin(Math.sqrt(x))],
  ];
  for (const [a, b, cdf] of cdfs) {
    const x = random.beta(key, a, b, [n], { dtype: "float64" });
    assert.ok([...x.data].every((v) => v >= 0 && v <= 1));
    const d = ks(x.data, cdf);
    assert.ok(d < ksCritical(n), `beta(${a}, ${b}): KS ${d}`);
  }
  const { mean, variance } = moments(random.beta(key, 2, 5, [n]).data);
  assert.ok(Math.abs(mean - 2 / 7) < 0.01, `${mean}`);
  assert.ok(Math.abs(variance - 10 / (49 * 8)) < 0.003, `${variance}`);
  assert.deepEqual(random.beta(key, T.tensor([1, 2]), 3).shape, [2]);
});

Deno.test("categorical: class frequencies follow softmax(logits) along the axis; extra leading draws", () => {
  const p = [0.1, 0.2, 0.7];
  const logits = T.log(T.tensor([p, [0.5, 0.25, 0.25]]));
  const n = 6000;
  const c = random.categorical(key, logits, { shape: [n, 2] });
  assert.equal(c.dtype, "int32");
  assert.deepEqual(c.shape, [n, 2]);
  const rows = [p, [0.5, 0.25, 0.25]];
  rows.forEach((probs, r) => {
    probs.forEach((q, k) => {
      let count = 0;
      for (let i = 0; i < n; i++) if (c.data[i * 2 + r] === k) count++;
      const sd = Math.sqrt(n * q * (1 - q));
      assert.ok(
        Math.abs(count - n * q) < 5 * sd,
        `row ${r} class ${k}: ${count}`,
      );
    });
  });
  // classes along axis 0
  const t = random.categorical(key, T.transpose(logits, [1, 0]), { axis: 0 });
  assert.deepEqual(t.shape, [2]);
});

Deno.test("the new samplers under jit and vmap: the eager draws of each key", () => {
  const f = (k: T.Key) => random.gamma(k, 1.5, [6]);
  const jf = T.jit(f);
  const keys = random.split(key, 3);
  for (const k of keys) assert.deepEqual(jf(k).data, f(k).data);
  assert.equal(jf.traceCount(), 1);
  const batched = T.vmap((k: T.Key) => random.beta(k, 2, 3, [4]))(keys);
  keys.forEach((k, i) =>
    assert.deepEqual(
      Array.from(batched.data.slice(i * 4, i * 4 + 4)),
      Array.from(random.beta(k, 2, 3, [4]).data),
    )
  );
});

Deno.test("the new samplers: errors name the function, the argument, what was expected and what came", () => {
  assertErrors("random.gamma", [
    [() => random.gamma(key, 0), /a must be a finite number > 0, got 0/],
    [
      () => random.gamma(key, T.tensor([1, -1])),
      /every a must be a finite number > 0/,
    ],
    [
      () => random.gamma(key, T.tensor([1, 2]), [3]),
      /a \[2\] must broadcast to the shape \[3\]/,
    ],
    [
      () => random.gamma(key, 1, [2], { dtype: "int32" }),
      /dtype must be "float32" or "float64"/,
    ],
  ]);
  assertErrors("random.beta", [[
    () => random.beta(key, 1, NaN),
    /b must be a finite number > 0, got NaN/,
  ]]);
  assertErrors("random.categorical", [
    [
      () => random.categorical(key, T.tensor([1, 2], { dtype: "int32" })),
      /logits must be float32 or float64, got int32/,
    ],
    [
      () => random.categorical(key, T.zeros([2, 3]), { axis: 2 }),
      /axis must be an integer in \[-2, 2\) for logits \[2,3\], got number 2/,
    ],
    [
      () => random.categorical(key, T.zeros([2, 3]), { shape: [4, 3] }),
      /shape \[4,3\] must end with the logits' other axes \[2\]/,
    ],
  ]);
  assertErrors("random.exponential", [[
    () => random.exponential(key, [-1]),
    /shape/,
  ]]);
  assertErrors("random.gamma", [[
    () => T.jit((a: T.Tensor) => random.gamma(key, a))(T.tensor([1, 2])),
    /a must be a number or a concrete tensor \(its values are read when drawing\), got a traced value/,
  ]]);
});

Deno.test("choice: JAX's draws (randint with replacement, permutation without), frequencies following p, Gumbel top-k without replacement, entries of a tensor along an axis, jit; errors", () => {
  assert.deepEqual(
    random.choice(key, 7, { shape: [20] }).data,
    random.randint(key, [20], 0, 7).data,
  );
  assert.deepEqual(
    Array.from(random.choice(key, 9, { shape: [4], replace: false }).data),
    Array.from(random.permutation(key, 9).data).slice(0, 4),
  );
  const p = T.tensor([0.1, 0, 0.6, 0.3]);
  const n = 6000;
  const c = random.choice(key, 4, { shape: [n], p });
  const counts = [0, 0, 0, 0];
  for (const v of c.data) counts[v]++;
  assert.equal(counts[1], 0);
  [0.1, 0, 0.6, 0.3].forEach((q, i) => {
    const sd = Math.sqrt(n * q * (1 - q)) || 1;
    assert.ok(Math.abs(counts[i] - n * q) < 5 * sd, `entry ${i}: ${counts[i]}`);
  });
  // without replacement: distinct, never an entry of p 0 while others remain
  for (let s = 0; s < 50; s++) {
    const d = Array.from(
      random.choice(random.key(s), 4, { shape: [3], replace: false, p }).data,
    );
    assert.equal(new Set(d).size, 3);
    assert.ok(!d.includes(1), `${d}`);
  }
  // entries of a tensor along axis 1
  const a = T.reshape(T.arange(12), [3, 4]);
  const cols = random.choice(key, a, { shape: [2], axis: 1, replace: false });
  assert.deepEqual(cols.shape, [3, 2]);
  const picked = Array.from(random.permutation(key, 4).data).slice(0, 2);
  assert.deepEqual(
    Array.from(cols.data),
    [0, 1, 2].flatMap((r) => picked.map((q) => r * 4 + q)),
  );
  const j = T.jit((k: T.Key) =>
    random.choice(k, 10, { shape: [5], replace: false })
  );
  assert.deepEqual(
    j(key).data,
    random.choice(key, 10, { shape: [5], replace: false }).data,
  );
  assertErrors("random.choice", [
    [
      () => random.choice(key, 3, { shape: [4], replace: false }),
      /cannot take 4 draws without replacement from 3 entries/,
    ],
    [
      () => random.choice(key, 3, { p: T.tensor([1, 2]) }),
      /p must be a 1-D tensor of 3 probabilities, got \[2\]/,
    ],
    [
      () => random.choice(key, 3, { p: T.tensor([1, -1, 2]) }),
      /p must hold finite numbers >= 0/,
    ],
    [
      () => random.choice(key, T.tensor(3)),
      /a must be a number or a tensor of rank >= 1/,
    ],
    [
      () => random.choice(key, a, { axis: 2 }),
      /axis must be an integer in \[-2, 2\), got number 2/,
    ],
    [
      () => random.choice(key, 3, { replace: 1 } as never),
      /replace must be a boolean, got number 1/,
    ],
  ]);
});

Deno.test("cauchy, rayleigh, weibullMin, pareto, triangular: JAX's formulas on the same key's uniforms, bit for bit", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const r = dtype === "float32" ? Math.fround : (v: number) => v;
    const eps = dtype === "float32" ? 2 ** -23 : 2 ** -52;
    const u = (lo: number) =>
      Array.from(
        random.uniform(key, [300], { minval: lo, maxval: 1, dtype }).data,
      );
    const cases: [T.Tensor, number[]][] = [
      [
        random.cauchy(key, [300], { dtype }),
        u(eps).map((x) => r(Math.tan(Math.PI * (x - 0.5)))),
      ],
      [
        random.rayleigh(key, 2, [300], { dtype }),
        u(0).map((x) => r(2 * Math.sqrt(-2 * Math.log(x)))),
      ],
      [
        random.weibullMin(key, 1.5, 2, [300], { dtype }),
        u(0).map((x) => r((-Math.log1p(-x)) ** 0.5 * 1.5)),
      ],
      [
        random.pareto(key, 3, [300], { dtype }),
        u(0).map((x) => r(Math.exp(-Math.log1p(-x) / 3))),
      ],
      [
        random.triangular(key, -1, 0, 2, [300], { dtype }),
        u(0).map((x) =>
          r(x < 1 / 3 ? -1 + Math.sqrt(x * 3) : 2 - Math.sqrt((1 - x) * 6))
        ),
      ],
    ];
    for (const [t, want] of cases) {
      assert.equal(t.dtype, dtype);
      assert.deepEqual(Array.from(t.data), want);
    }
  }
});

Deno.test("the other samplers: Kolmogorov-Smirnov against their CDFs (and a wrong CDF is told apart)", () => {
  const n = 20000;
  const f64 = { dtype: "float64" } as const;
  const [k1, k2, k3] = random.split(key, 3);
  const exp = Math.exp, sqrt = Math.sqrt;
  const cases: [string, T.Tensor, (x: number) => number][] = [
    [
      "cauchy",
      random.cauchy(key, [n], f64),
      (x) => 0.5 + Math.atan(x) / Math.PI,
    ],
    ["rayleigh(2)", random.rayleigh(key, 2, [n]), (x) => 1 - exp(-(x * x) / 8)],
    [
      "weibullMin(1.5, 2)",
      random.weibullMin(key, 1.5, 2, [n]),
      (x) => 1 - exp(-((x / 1.5) ** 2)),
    ],
    ["pareto(3)", random.pareto(key, 3, [n]), (x) => 1 - x ** -3],
    [
      "lognormal(0.5)",
      random.lognormal(key, 0.5, [n], f64),
      (x) => 0.5 * (1 + erf(Math.log(x) / (0.5 * Math.SQRT2))),
    ],
    [
      "maxwell",
      random.maxwell(k1, [n], f64),
      (x) => erf(x / Math.SQRT2) - sqrt(2 / Math.PI) * x * exp(-x * x / 2),
    ],
    [
      "t(3)",
      random.t(k2, 3, [n], f64),
      (x) =>
        0.5 +
        (x / sqrt(3) / (1 + x * x / 3) + Math.atan(x / sqrt(3))) / Math.PI,
    ],
    [
      "t(1) is Cauchy",
      random.t(k3, 1, [n], f64),
      (x) => 0.5 + Math.atan(x) / Math.PI,
    ],
    ["chisquare(2)", random.chisquare(key, 2, [n]), (x) => 1 - exp(-x / 2)],
    [
      "chisquare(4)",
      random.chisquare(k1, 4, [n]),
      (x) => 1 - exp(-x / 2) * (1 + x / 2),
    ],
    [
      "exp(loggamma(2)) is gamma(2)",
      T.exp(random.loggamma(k2, 2, [n], f64)),
      (x) => 1 - exp(-x) * (1 + x),
    ],
    [
      "dirichlet(1, 1, 1)'s first entry is beta(1, 2)",
      T.take(
        random.dirichlet(key, T.tensor([1, 1, 1]), [n]),
        T.tensor([0], { dtype: "int32" }),
        { axis: 1 },
      ),
      (x) => 1 - (1 - x) ** 2,
    ],
    [
      "triangular(-1, 0, 2)",
      random.triangular(key, -1, 0, 2, [n]),
      (x) => (x < 0 ? (x + 1) ** 2 / 3 : 1 - (2 - x) ** 2 / 6),
    ],
  ];
  for (const [name, s, cdf] of cases) {
    const d = ks(s.data, cdf);
    assert.ok(d < ksCritical(n), `${name}: KS ${d}`);
  }
  assert.ok(
    ks(random.t(k2, 3, [n], f64).data, (x) => 0.5 * (1 + erf(x / Math.SQRT2))) >
      ksCritical(n),
    "t(3) is not normal",
  );
});

Deno.test("geometric and rademacher: frequencies; lognormal, maxwell and rademacher take the dtype", () => {
  const n = 40000, p = 0.3;
  const g = random.geometric(key, p, [n]);
  assert.equal(g.dtype, "int32");
  const counts = new Map<number, number>();
  for (const v of g.data) counts.set(v, (counts.get(v) ?? 0) + 1);
  assert.equal(counts.get(0), undefined);
  for (let k = 1; k <= 6; k++) {
    const want = (1 - p) ** (k - 1) * p;
    const got = (counts.get(k) ?? 0) / n;
    // binomial standard deviation at most 0.0023 here
    assert.ok(Math.abs(got - want) < 0.01, `P(${k}) ${got} vs ${want}`);
  }
  const r = random.rademacher(key, [n]);
  assert.equal(r.dtype, "int32");
  assert.ok(r.data.every((v) => v === 1 || v === -1));
  assert.ok(Math.abs(moments(r.data).mean) < 0.02);
  assert.equal(
    random.rademacher(key, [2], { dtype: "float32" }).dtype,
    "float32",
  );
  assert.equal(random.maxwell(key, [2], { dtype: "float64" }).dtype, "float64");
  assert.deepEqual(random.maxwell(key, [2, 3]).shape, [2, 3]);
  assert.deepEqual(random.dirichlet(key, T.ones([4, 3])).shape, [4, 3]);
});

Deno.test("the other samplers under jit and vmap over keys: the eager draws", () => {
  const draws = (k: T.Key) => [
    random.cauchy(k, [3]),
    random.t(k, 2.5, [3]),
    random.dirichlet(k, T.tensor([0.5, 1, 2]), [2]),
    random.geometric(k, 0.5, [3]),
    random.rademacher(k, [3]),
    random.lognormal(k, 0.3, [3]),
    random.chisquare(k, 3, [2]),
  ];
  const jd = T.jit(draws);
  const keys = random.split(key, 3);
  for (const k of keys) {
    jd(k).forEach((d, i) => assert.deepEqual(d.data, draws(k)[i].data));
  }
  assert.equal(jd.traceCount(), 1);
  const batched = T.vmap(draws)(keys);
  keys.forEach((k, b) =>
    draws(k).forEach((d, i) => {
      const n = d.data.length;
      assert.deepEqual(
        Array.from(batched[i].data.slice(b * n, (b + 1) * n)),
        Array.from(d.data),
      );
    })
  );
});

Deno.test("the other samplers: errors name the function and the argument", () => {
  assertErrors("random.rayleigh", [[
    () => random.rayleigh(key, -1),
    /scale must be a finite number > 0, got -1/,
  ]]);
  assertErrors("random.weibullMin", [[
    () => random.weibullMin(key, 1, T.tensor([1, 0])),
    /every concentration must be a finite number > 0/,
  ]]);
  assertErrors("random.t", [[
    () => random.t(key, 0),
    /df must be a finite number > 0, got number 0/,
  ]]);
  assertErrors("random.lognormal", [[
    () => random.lognormal(key, NaN),
    /sigma must be a finite number > 0, got number NaN/,
  ]]);
  assertErrors("random.dirichlet", [[
    () => random.dirichlet(key, T.tensor(1)),
    /alpha must have at least one axis/,
  ]]);
  assertErrors("random.geometric", [[
    () => random.geometric(key, 0),
    /p must be a number in \(0, 1\], got number 0/,
  ]]);
  assertErrors("random.triangular", [[
    () => random.triangular(key, 0, 3, 2),
    /left <= mode <= right/,
  ]]);
});

Deno.test("poisson: frequencies against the pmf for Knuth's range and the rejection range; rate 0; jit and vmap; errors", () => {
  const n = 20000;
  const pmf = (l: number, k: number) => {
    let logp = -l + k * Math.log(l);
    for (let i = 2; i <= k; i++) logp -= Math.log(i);
    return Math.exp(logp);
  };
  for (const lam of [3, 25]) {
    const x = random.poisson(key, lam, [n]);
    assert.equal(x.dtype, "int32");
    const counts = new Map<number, number>();
    for (const v of x.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    // every value with expected count >= 50: within 4.5 binomial deviations
    for (let k = 0; k < 4 * lam; k++) {
      const p = pmf(lam, k), want = n * p;
      if (want < 50) continue;
      const sd = Math.sqrt(n * p * (1 - p));
      const got = counts.get(k) ?? 0;
      assert.ok(
        Math.abs(got - want) < 4.5 * sd,
        `lam ${lam}, P(${k}): ${got} vs ${want.toFixed(0)}`,
      );
    }
    const { mean, variance } = moments(x.data);
    assert.ok(Math.abs(mean - lam) < 0.05 * lam, `mean ${mean}`);
    assert.ok(Math.abs(variance - lam) < 0.1 * lam, `variance ${variance}`);
  }
  // a tensor of rates, zeros included
  const mixed = random.poisson(key, T.tensor([0, 2, 0, 40]), [500, 4]);
  const col = (j: number) =>
    Array.from(mixed.data).filter((_, i) => i % 4 === j);
  assert.ok(col(0).every((v) => v === 0) && col(2).every((v) => v === 0));
  assert.ok(Math.abs(moments(col(3)).mean - 40) < 2);
  assert.equal(
    random.poisson(key, 2, [3], { dtype: "float32" }).dtype,
    "float32",
  );
  const keys = random.split(key, 3);
  const f = (k: T.Key) => random.poisson(k, T.tensor([1.5, 12]), [2]);
  const jf = T.jit(f);
  for (const k of keys) assert.deepEqual(jf(k).data, f(k).data);
  const batched = T.vmap(f)(keys);
  keys.forEach((k, i) =>
    assert.deepEqual(
      Array.from(batched.data.slice(2 * i, 2 * i + 2)),
      Array.from(f(k).data),
    )
  );
  assertErrors("random.poisson", [
    [() => random.poisson(key, -1), /lam must be a finite number >= 0, got -1/],
    [
      () => random.poisson(key, 1e12),
      /lam must be at most 2\^30 for int32 results \(draws near 2\^31 would wrap\), got 1000000000000/,
    ],
  ]);
  // float results take any finite rate
  assert.ok(
    Math.abs(
      T.item(random.poisson(key, 1e12, [], { dtype: "float64" })) / 1e12 - 1,
    ) < 1e-4,
  );
});

Deno.test("orthogonal: QᵀQ = I, the Q of the same key's normal draws with R's diagonal positive, Haar (first entry's CDF); jit", () => {
  const n = 4;
  const q = random.orthogonal(key, n, [300], { dtype: "float64" });
  assert.deepEqual(q.shape, [300, n, n]);
  const qtq = T.matmul(T.swapaxes(q, -1, -2), q);
  const eye = T.broadcastTo(T.eye(n, undefined, { dtype: "float64" }), [
    300,
    n,
    n,
  ]);
  assert.ok(T.item(T.max(T.abs(T.sub(qtq, eye)))) < 1e-12);
  // R = QᵀZ is upper triangular with a positive diagonal (the QR of Z)
  const z = random.normal(key, [300, n, n], { dtype: "float64" });
  const r = T.matmul(T.swapaxes(q, -1, -2), z);
  const rv = T.toArray(r) as number[][][];
  for (const m of rv) {
    for (let i = 0; i < n; i++) {
      assert.ok(m[i][i] > 0);
      for (let j = 0; j < i; j++) assert.ok(Math.abs(m[i][j]) < 1e-10);
    }
  }
  // Haar: the first entry's square is beta(1/2, (n-1)/2); for n = 4 its
  // CDF is (2/π)(asin(√x) + √(x(1-x)))
  const big = random.orthogonal(random.key(5), 4, [20000]);
  const x2 = Array.from({ length: 20000 }, (_, i) => big.data[i * 16] ** 2);
  const cdf = (x: number) =>
    (2 / Math.PI) * (Math.asin(Math.sqrt(x)) + Math.sqrt(x * (1 - x)));
  assert.ok(ks(x2, cdf) < ksCritical(20000), `KS ${ks(x2, cdf)}`);
  const jf = T.jit((k: T.Key) => random.orthogonal(k, 3));
  assert.deepEqual(jf(key).data, random.orthogonal(key, 3).data);
});

Deno.test("multivariateNormal: mean + L n with the same key's normals; moments; errors", () => {
  const mean = T.tensor([1, -1, 0.5], { dtype: "float64" });
  const cov = T.tensor([[2, 0.6, 0], [0.6, 1, -0.3], [0, -0.3, 0.5]], {
    dtype: "float64",
  });
  const x = random.multivariateNormal(key, mean, cov, [20000], {
    dtype: "float64",
  });
  assert.deepEqual(x.shape, [20000, 3]);
  // the Cholesky factor times the same normals
  const nrm = random.normal(key, [20000, 3], { dtype: "float64" });
  const l = [[Math.sqrt(2), 0, 0], [0.6 / Math.sqrt(2), 0, 0], [0, 0, 0]];
  l[1][1] = Math.sqrt(1 - l[1][0] ** 2);
  l[2][1] = (-0.3 - 0) / l[1][1];
  l[2][2] = Math.sqrt(0.5 - l[2][1] ** 2);
  const want = T.add(
    mean,
    T.matmul(nrm, T.transpose(T.tensor(l, { dtype: "float64" }))),
  );
  assert.ok(T.item(T.max(T.abs(T.sub(x, want)))) < 1e-12);
  // sample covariance near cov
  const centred = T.sub(x, T.mean(x, { axis: 0 }));
  const sc = T.div(T.matmul(T.transpose(centred), centred), 19999);
  assert.ok(T.item(T.max(T.abs(T.sub(sc, cov)))) < 0.06);
  assertErrors("random.multivariateNormal", [
    [
      () =>
        random.multivariateNormal(
          key,
          mean,
          T.tensor([[1, 2, 0], [2, 1, 0], [0, 0, 1]]),
        ),
      /cov must be symmetric positive definite/,
    ],
    [
      () => random.multivariateNormal(key, mean, T.eye(2)),
      /mean must be \[\.\.\., d\] and cov \[d, d\]/,
    ],
  ]);
});
