/**
 * nn.init (nn/init.ts) and random.truncatedNormal: torch.nn.init's gains,
 * fans and uniform bounds (tests/fixtures/init.json, written by
 * tests/fixtures/gen_init.py), and the distributions' moments against
 * closed forms and numerical integration (the draws come from the
 * library's keys, so they cannot be PyTorch's).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import fixture from "./fixtures/init.json" with { type: "json" };

const { nn, random } = T;
const init = nn.init;

/** Sample mean and standard deviation. */
function moments(t: T.Tensor): [number, number] {
  const d = t.data, n = d.length;
  let s = 0;
  for (const v of d) s += v;
  const m = s / n;
  let q = 0;
  for (const v of d) q += (v - m) ** 2;
  return [m, Math.sqrt(q / (n - 1))];
}

Deno.test("nn.init: PyTorch's gains, fans and uniform bounds", () => {
  for (const g of fixture.gains) {
    assert.equal(
      init.calculateGain(
        g.nonlinearity as T.nn.init.Nonlinearity,
        g.param ?? undefined,
      ),
      g.gain,
      `${g.nonlinearity} ${g.param}`,
    );
  }
  for (const f of fixture.fans) {
    assert.deepEqual(init.fans(f.shape), { fanIn: f.fanIn, fanOut: f.fanOut });
  }
  for (const b of fixture.bounds) {
    const draw = b.fn === "xavierUniform"
      ? init.xavierUniform(
        random.key(1),
        b.shape,
        b.options as T.nn.init.XavierOptions,
      )
      : init.kaimingUniform(
        random.key(1),
        b.shape,
        b.options as T.nn.init.KaimingOptions,
      );
    const most = Math.max(...[...draw.data].map(Math.abs));
    assert.ok(most <= b.bound * (1 + 1e-7), `${b.fn}: ${most} > ${b.bound}`);
    assert.ok(most > 0.95 * b.bound, `${b.fn}: ${most} far below ${b.bound}`);
  }
  // the layers' default (kaiming uniform with a = √5) is U(±1/√fanIn)
  const a = init.kaimingUniform(random.key(2), [32, 16, 3, 3], {
    a: Math.sqrt(5),
  });
  const most = Math.max(...[...a.data].map(Math.abs));
  assert.ok(most <= 1 / Math.sqrt(144) * (1 + 1e-7) && most > 0.95 / 12);
});

Deno.test("nn.init: dirac and eye are PyTorch's, value for value; a dirac convolution passes its input through", () => {
  for (const e of fixture.exact) {
    const t = e.fn === "dirac"
      ? init.dirac(e.shape, { groups: (e as { groups: number }).groups })
      : init.eye(e.shape);
    assert.deepEqual(t.shape, e.shape);
    assert.deepEqual([...t.data], e.data, `${e.fn} ${e.shape}`);
  }
  const x = random.normal(random.key(1), [2, 4, 3, 5, 5], { dtype: "float64" });
  const w = init.dirac([4, 2, 3, 3, 3], { groups: 2, dtype: "float64" });
  assert.deepEqual(
    T.conv3d(x, w, null, { padding: 1, groups: 2 }).data,
    x.data,
  );
  assert.throws(
    () => init.dirac([3, 3]),
    /^Error: nn.init.dirac: shape must have 3, 4 or 5 dims, got \[3,3\]$/,
  );
  assert.throws(
    () => init.dirac([3, 3, 3], { groups: 2 }),
    /^Error: nn.init.dirac: groups must be a positive integer dividing shape\[0\] \(3\), got number 2$/,
  );
  assert.throws(
    () => init.eye([2, 2, 2]),
    /^Error: nn.init.eye: shape must have 2 dims, got \[2,2,2\]$/,
  );
});

Deno.test("nn.init.orthogonal: orthonormal rows or columns, the Q of PyTorch's QR (R's diagonal positive) of the same normal draw, times gain", () => {
  for (const shape of [[6, 3], [3, 6], [4, 2, 3, 3], [5, 5]]) {
    const rows = shape[0], cols = shape.slice(1).reduce((a, b) => a * b, 1);
    const key = random.key(rows * 10 + cols);
    const q = T.reshape(
      init.orthogonal(key, shape, { gain: 2, dtype: "float64" }),
      [rows, cols],
    );
    // tall: QᵀQ = 4I; wide: QQᵀ = 4I
    const wide = rows < cols;
    const gram = wide
      ? T.matmul(q, T.transpose(q))
      : T.matmul(T.transpose(q), q);
    const k = Math.min(rows, cols);
    [...gram.data].forEach((v, i) => {
      const want = Math.floor(i / k) === i % k ? 4 : 0;
      assert.ok(Math.abs(v - want) < 1e-12, `${shape}: ${v}`);
    });
    // R = Qᵀ A (tall orientation) is upper triangular with a positive diagonal
    const a = random.normal(key, [rows, cols], { dtype: "float64" });
    const [qt, at] = wide ? [T.transpose(q), T.transpose(a)] : [q, a];
    const r = T.toArray(T.div(T.matmul(T.transpose(qt), at), 2)) as number[][];
    r.forEach((row, i) =>
      row.forEach((v, j) => {
        if (j < i) {
          assert.ok(Math.abs(v) < 1e-12, `${shape}: R[${i}][${j}] = ${v}`);
        }
        if (j === i) {
          assert.ok(v > 0);
        }
      })
    );
  }
  assert.deepEqual(init.orthogonal(random.key(0), [0, 3]).shape, [0, 3]);
  assert.equal(init.orthogonal(random.key(0), [3, 3]).dtype, "float32");
  assert.throws(
    () => init.orthogonal(random.key(0), [4]),
    /^Error: nn.init.orthogonal: shape must have at least 2 dims, got \[4\]$/,
  );
});

Deno.test("nn.init: the normal inits' deviations, uniform's range, constant", () => {
  const shape = [256, 64, 3, 3]; // fanIn 576, fanOut 2304; 147,456 draws
  const cases: [T.Tensor, number][] = [
    [
      init.kaimingNormal(random.key(3), shape, { nonlinearity: "relu" }),
      Math.SQRT2 / 24,
    ],
    [
      init.kaimingNormal(random.key(4), shape, {
        mode: "fanOut",
        nonlinearity: "relu",
      }),
      Math.SQRT2 / 48,
    ],
    [
      init.xavierNormal(random.key(5), shape, { gain: 2 }),
      2 * Math.sqrt(2 / 2880),
    ],
    [init.normal(random.key(6), shape, { mean: 0, std: 0.02 }), 0.02],
    // a uniform's deviation is its bound over √3
    [init.kaimingUniform(random.key(7), shape), Math.sqrt(2 / (1 + 0)) / 24],
  ];
  for (const [t, std] of cases) {
    const [m, s] = moments(t);
    assert.ok(Math.abs(m) < 0.02 * std, `mean ${m}`);
    assert.ok(Math.abs(s / std - 1) < 0.02, `std ${s} vs ${std}`);
  }
  const u = init.uniform(random.key(8), [1000], {
    a: 3,
    b: 5,
    dtype: "float64",
  });
  assert.equal(u.dtype, "float64");
  assert.ok([...u.data].every((v) => v >= 3 && v < 5));
  assert.deepEqual(
    [...init.constant([3], 0.5).data],
    [0.5, 0.5, 0.5],
  );
});

/** The mean and deviation of N(0, 1) truncated to [a, b], by Simpson's rule on the density. */
function truncatedMoments(a: number, b: number): [number, number] {
  const n = 20000, h = (b - a) / n;
  let z = 0, m1 = 0, m2 = 0;
  for (let i = 0; i <= n; i++) {
    const x = a + i * h, w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    const p = Math.exp(-x * x / 2) * w;
    z += p;
    m1 += x * p;
    m2 += x * x * p;
  }
  const mean = m1 / z;
  return [mean, Math.sqrt(m2 / z - mean * mean)];
}

Deno.test("truncated normals: inside the bounds, the truncated distribution's mean and deviation", () => {
  for (const [a, b] of [[-2, 2], [-1, 3], [0.5, 1], [-6, -4]]) {
    for (const dtype of ["float32", "float64"] as const) {
      const z = random.truncatedNormal(random.key(9), a, b, [100000], {
        dtype,
      });
      assert.equal(z.dtype, dtype);
      assert.ok([...z.data].every((v) => v > a && v < b), `${a}, ${b}`);
      const [m, s] = moments(z), [mt, st] = truncatedMoments(a, b);
      assert.ok(
        Math.abs(m - mt) < 0.01 * st + 1e-6,
        `${a}, ${b} mean ${m} vs ${mt}`,
      );
      assert.ok(Math.abs(s / st - 1) < 0.02, `${a}, ${b} std ${s} vs ${st}`);
    }
  }
  // torch.nn.init.trunc_normal_'s bounds are absolute
  const w = init.truncNormal(random.key(10), [50000], {
    mean: 1,
    std: 0.5,
    a: 0,
    b: 1.5,
  });
  assert.ok([...w.data].every((v) => v >= 0 && v <= 1.5));
  const [m] = moments(w), [mt] = truncatedMoments(-2, 1);
  assert.ok(Math.abs(m - (1 + 0.5 * mt)) < 0.01);
});

Deno.test("errors: nn.init and truncatedNormal name the function and the argument", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => init.calculateGain("gelu" as never),
      /^Error: nn.init.calculateGain: unsupported nonlinearity string gelu/,
    ],
    [
      () => init.calculateGain("leaky_relu", NaN),
      /^Error: nn.init.calculateGain: param \(the negative slope\) must be a finite number, got number NaN$/,
    ],
    [
      () => init.fans([5]),
      /^Error: nn.init.fans: fan in and fan out need a shape of at least 2 non-negative integer dims, got \[5\]$/,
    ],
    [
      () => init.kaimingNormal(random.key(0), [4, 0, 3], {}),
      /^Error: nn.init.kaimingNormal: fanIn of shape \[4,0,3\] is 0$/,
    ],
    [
      () =>
        init.kaimingUniform(random.key(0), [4, 4], { mode: "fan_in" as never }),
      /^Error: nn.init.kaimingUniform: mode must be "fanIn" or "fanOut", got string fan_in$/,
    ],
    [
      () =>
        init.kaimingUniform(random.key(0), [4, 4], {
          nonlinearity: "swish" as never,
        }),
      /^Error: nn.init.kaimingUniform: unsupported nonlinearity string swish/,
    ],
    [
      () => init.xavierUniform(random.key(0), [4, 4], { gain: "2" as never }),
      /^Error: nn.init.xavierUniform: gain must be a finite number, got string 2$/,
    ],
    [
      () => init.truncNormal(random.key(0), [4], { a: 1, b: 0 }),
      /^Error: nn.init.truncNormal: std must be > 0 and a < b, got std 1, a 1, b 0$/,
    ],
    [
      () => init.normal(random.key(0), [4], { dtype: "int32" as never }),
      /^Error: nn.init.normal: dtype must be "float32" or "float64", got string int32$/,
    ],
    [
      () => init.uniform(random.key(0), [4], { lo: 1 } as never),
      /^Error: nn.init.uniform: unknown option "lo"/,
    ],
    [
      () => random.truncatedNormal(random.key(0), 2, 1, [3]),
      /^Error: random.truncatedNormal: lower and upper must be numbers with lower < upper, got 2 and 1$/,
    ],
    [
      () => random.truncatedNormal(random.key(0), 40, 41, [3]),
      /^Error: random.truncatedNormal: the interval \(40, 41\) is too far in the tail to sample in float32$/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});
