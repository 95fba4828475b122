/**
 * Probes of the normalization and stochastic ops (ops/normalization.ts,
 * ops/stochastic.ts) where the other tests do not reach: batchNorm on
 * [N, C, L] and 5-D inputs, without weight or bias, its running statistics
 * over several steps (momentum null: PyTorch's cumulative average), instance
 * norm's running statistics, even local-response sizes, and the second
 * derivatives of every norm, against PyTorch 1.13
 * (tests/fixtures/norm_probe.json, written by tests/fixtures/gen_norm_probe.py),
 * eagerly, under jit (the eager bits) and under vmap; the dropouts' masks,
 * scales and rates against torch's documented semantics, with tolerances
 * from the binomial variance.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, sameBits } from "./_helpers.ts";
import {
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/norm_probe.json" with { type: "json" };
import {
  callNorm,
  checkNormCase,
  inputsOf,
  type NormCase,
} from "./_norm_cases.ts";

const { random, nn } = T;
const f64 = { dtype: "float64" as const };

type Case = NormCase;

const cases = fixture.cases as unknown as Case[];

for (const op of [...new Set(cases.map((c) => c.op))]) {
  Deno.test(`PyTorch probe: ${op}: values, running statistics, gradients and second derivatives, eagerly and under jit`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        checkNormCase(c);
      });
    }
  });
}

Deno.test("PyTorch probe: every norm under vmap over a batch of two cases is each case's own", () => {
  for (const c of cases.filter((c) => c.dtype === "float64")) {
    const inputs = inputsOf(c);
    const names = Object.keys(inputs);
    const other = Object.fromEntries(
      names.map((n, i) => [n, T.add(T.mul(inputs[n], 1.5), 0.25 * i)]),
    );
    const f = (...xs: Tensor[]) => {
      const o = callNorm(
        c,
        Object.fromEntries(names.map((n, i) => [n, xs[i]])),
      );
      return [o.y, o.runningMean ?? o.y, o.runningVar ?? o.y];
    };
    const stacked = names.map((n) => T.stack([inputs[n], other[n]]));
    const batched = T.vmap(f)(...stacked) as Tensor[];
    [inputs, other].forEach((one, b) => {
      const want = f(...names.map((n) => one[n]));
      want.forEach((w, i) => {
        const got = T.reshape(
          T.slice(batched[i], [b], [b + 1]),
          w.shape as number[],
        );
        assertAllClose(got, w, {
          atol: 1e-12,
          rtol: 1e-12,
          msg: `${c.op} ${c.name} example ${b} output ${i}`,
        });
      });
    });
  }
});

type Steps = {
  name: string;
  momentum: number | null;
  inputs: J[];
  runningMean: J[];
  runningVar: J[];
};

Deno.test("PyTorch probe: batchNorm's running statistics over several batches (momentum null: the cumulative average), functional and nn.batchNorm1d, eagerly and jitted", () => {
  for (const s of fixture.steps as unknown as Steps[]) {
    const xs = s.inputs.map(toT);
    const c = xs[0].shape[1];
    // the functional op: momentum 1/k for the k-th batch is torch's None
    let rm: Tensor = T.zeros([c], f64), rv: Tensor = T.ones([c], f64);
    xs.forEach((x, k) => {
      const r = T.batchNorm(x, {
        training: true,
        runningMean: rm,
        runningVar: rv,
        momentum: s.momentum ?? 1 / (k + 1),
      });
      rm = r.runningMean!;
      rv = r.runningVar!;
      assertAllClose(rm, toT(s.runningMean[k]), {
        atol: 1e-14,
        rtol: 1e-14,
        msg: `${s.name} step ${k} mean`,
      });
      assertAllClose(rv, toT(s.runningVar[k]), {
        atol: 1e-14,
        rtol: 1e-14,
        msg: `${s.name} step ${k} var`,
      });
    });
    // the layer (momentum null counts its batches), eagerly and jitted
    const layer = nn.batchNorm1d({
      numFeatures: c,
      momentum: s.momentum,
      dtype: "float64",
    });
    const params = layer.init(random.key(0));
    const step = (st: T.nn.BatchNormState, x: Tensor) =>
      layer.applyWithState(params, st, x, { training: true }).state;
    const jstep = T.jit(step);
    let st = layer.initState(), jst = layer.initState();
    xs.forEach((x, k) => {
      st = step(st, x);
      jst = jstep(jst, x);
      assertAllClose(st.running_mean, toT(s.runningMean[k]), {
        atol: 1e-14,
        rtol: 1e-14,
        msg: `${s.name} layer step ${k}`,
      });
      assertAllClose(st.running_var, toT(s.runningVar[k]), {
        atol: 1e-14,
        rtol: 1e-14,
        msg: `${s.name} layer step ${k}`,
      });
      sameBits(jst.running_mean, st.running_mean, `${s.name} jit ${k}`);
      sameBits(jst.running_var, st.running_var, `${s.name} jit ${k}`);
    });
  }
});

Deno.test("dropouts and batchNorm: a training option that is not a boolean is an error naming it (PyTorch: 'must be bool'), not truthy", () => {
  const key = random.key(0), x = T.ones([2, 3, 2, 2]);
  const calls: [
    string,
    (o: { training: never; key: T.random.Key }) => unknown,
  ][] = [
    ["dropout", (o) => T.dropout(x, o)],
    ["dropout1d", (o) => T.dropout1d(T.ones([2, 3, 4]), o)],
    ["dropout2d", (o) => T.dropout2d(x, o)],
    ["dropout3d", (o) => T.dropout3d(T.ones([2, 3, 2, 2, 2]), o)],
    ["alphaDropout", (o) => T.alphaDropout(x, o)],
    ["featureAlphaDropout", (o) => T.featureAlphaDropout(x, o)],
    ["batchNorm", (o) => T.batchNorm(x, { training: o.training })],
  ];
  for (const [fn, call] of calls) {
    for (const bad of ["yes", 1, "false"]) {
      assert.throws(
        () => call({ training: bad as never, key }),
        new RegExp(`^Error: ${fn}: training must be a boolean, got`),
        `${fn} training ${bad}`,
      );
    }
  }
});

Deno.test("dropouts of an int32 x: an error where the mask would scale it (PyTorch: 'result type Float can't be cast'), x itself when not training or p = 0, zeros for p = 1", () => {
  const key = random.key(0), xi = T.ones([2, 3, 2, 2], { dtype: "int32" });
  for (const p of [0.5, 0.3]) {
    assert.throws(
      () => T.dropout(xi, { p, key }),
      /^Error: dropout: x must be float32 or float64, got int32 \[2,3,2,2\]$/,
    );
    assert.throws(
      () => T.dropout2d(xi, { p, key }),
      /^Error: dropout2d: x must be float32 or float64, got int32/,
    );
  }
  // torch.nn.functional.dropout(int tensor, p, training=False) and p = 0 return it
  assert.equal(T.dropout(xi, { p: 0.5, training: false }), xi);
  assert.equal(T.dropout(xi, { p: 0, key }), xi);
  const zero = T.dropout(xi, { p: 1 });
  assert.equal(zero.dtype, "int32");
  assert.deepEqual([...new Set(zero.data)], [0]);
});

Deno.test("instanceNorm: momentum outside [0, 1] is an error, as batchNorm's", () => {
  const x = T.ones([2, 3, 4]);
  const stats = { runningMean: T.zeros([3]), runningVar: T.ones([3]) };
  for (const momentum of [2, -0.5, NaN, Infinity]) {
    assert.throws(
      () => T.instanceNorm(x, { ...stats, momentum }),
      /^Error: instanceNorm: momentum must be a finite number in \[0, 1\], got number/,
      `momentum ${momentum}`,
    );
  }
  for (const momentum of [0, 1]) T.instanceNorm(x, { ...stats, momentum });
});

/** The fraction of `mask`'s entries that are true, checked within 5 standard deviations of a binomial(n, q). */
function assertRate(kept: number, n: number, q: number, msg: string) {
  const sd = Math.sqrt(q * (1 - q) / n);
  assert.ok(
    Math.abs(kept / n - q) < 5 * sd,
    `${msg}: kept ${kept / n}, want ${q} ± ${5 * sd}`,
  );
}

Deno.test("channel dropouts: one draw per (example, channel) shared by its positions, kept at rate 1-p and scaled by 1/(1-p); the gradient is the mask", () => {
  const p = 0.3;
  // name, x's shape, the positions per channel, the op
  const cases: [
    string,
    number[],
    number,
    (x: Tensor, k: T.random.Key) => Tensor,
  ][] = [
    ["dropout1d", [40, 25, 3], 3, (x, key) => T.dropout1d(x, { p, key })],
    [
      "dropout1d unbatched",
      [400, 3],
      3,
      (x, key) => T.dropout1d(x, { p, key }),
    ],
    ["dropout2d", [40, 25, 2, 2], 4, (x, key) => T.dropout2d(x, { p, key })],
    [
      "dropout2d unbatched",
      [400, 1, 3],
      3,
      (x, key) => T.dropout2d(x, { p, key }),
    ],
    ["dropout3d", [40, 25, 2, 1, 2], 4, (x, key) => T.dropout3d(x, { p, key })],
    [
      "dropout3d unbatched",
      [400, 2, 2, 1],
      4,
      (x, key) => T.dropout3d(x, { p, key }),
    ],
  ];
  for (const [name, shape, per, f] of cases) {
    const x = T.add(T.abs(T.random.normal(random.key(1), shape, f64)), 1);
    const key = random.key(2);
    const y = f(x, key);
    const g = T.grad((v: Tensor) => T.sum(f(v, key)))(x) as Tensor;
    const channels = x.data.length / per;
    let kept = 0;
    for (let ch = 0; ch < channels; ch++) {
      const on = g.data[ch * per] !== 0;
      kept += on ? 1 : 0;
      for (let i = ch * per; i < (ch + 1) * per; i++) {
        const want = on ? 1 / (1 - p) : 0;
        assert.equal(g.data[i], want, `${name}: channel ${ch} shares its draw`);
        assert.equal(y.data[i], x.data[i] * want, `${name}: y = x·mask`);
      }
    }
    assertRate(kept, channels, 1 - p, name);
  }
});

Deno.test("alphaDropout and featureAlphaDropout: PyTorch's affine constants, mean 0 and variance 1 of a standard input kept within the sampling error, the gradient a·mask, p = 1 gives x·0", () => {
  const alpha = 1.7580993408473766; // torch's _dropout_impl
  for (const p of [0.1, 0.5]) {
    const a = 1 / Math.sqrt((alpha * alpha * p + 1) * (1 - p));
    const b = alpha * a * p;
    const n = 40000;
    const x = T.random.normal(random.key(3), [n], f64);
    const key = random.key(4);
    const y = T.alphaDropout(x, { p, key });
    const g = T.grad((v: Tensor) => T.sum(T.alphaDropout(v, { p, key })))(x);
    let kept = 0, s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const on = g.data[i] !== 0;
      kept += on ? 1 : 0;
      if (on) assert.ok(Math.abs(g.data[i] - a) < 1e-15);
      const want = on ? a * x.data[i] + b : -alpha * a + b;
      assert.ok(Math.abs(y.data[i] - want) < 1e-12, `p ${p} entry ${i}`);
      s += y.data[i];
      s2 += y.data[i] * y.data[i];
    }
    assertRate(kept, n, 1 - p, `alphaDropout p ${p}`);
    // mean 0, variance 1: standard errors of the sample mean (1/√n) and of
    // the sample variance (√(m4 - 1)/√n, m4 the fourth moment, < 6 here)
    const mean = s / n, variance = s2 / n - mean * mean;
    assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `p ${p}: mean ${mean}`);
    assert.ok(
      Math.abs(variance - 1) < 5 * Math.sqrt(5 / n),
      `p ${p}: variance ${variance}`,
    );
    // featureAlphaDropout: whole channels of [N, C, L]
    const xf = T.reshape(x, [100, 100, 4]);
    const yf = T.featureAlphaDropout(xf, { p, key });
    let keptF = 0;
    for (let ch = 0; ch < 10000; ch++) {
      const on = yf.data[4 * ch] !== -alpha * a + b;
      keptF += on ? 1 : 0;
      for (let i = 4 * ch; i < 4 * ch + 4; i++) {
        const want = on ? a * xf.data[i] + b : -alpha * a + b;
        assert.ok(Math.abs(yf.data[i] - want) < 1e-12, `feature p ${p}`);
      }
    }
    assertRate(keptF, 10000, 1 - p, `featureAlphaDropout p ${p}`);
  }
  // p = 1: x·0 (torch multiplies by zeros: -0 for negative x, NaN for ±inf)
  const edge = T.tensor([-2, 3, Infinity], f64);
  for (const f of [T.alphaDropout, T.dropout]) {
    const y = f(edge, { p: 1, key: random.key(0) });
    assert.ok(Object.is(y.data[0], -0) && Object.is(y.data[1], 0));
    assert.ok(Number.isNaN(y.data[2]));
  }
});

Deno.test("rrelu in training: the slopes are uniform in [lower, upper) (mean and variance within the sampling error), entries >= 0 pass", () => {
  const n = 20000, lower = 0.1, upper = 0.6;
  const x = T.full([n], -1, f64);
  const y = T.rrelu(x, { lower, upper, training: true, key: random.key(5) });
  let s = 0, s2 = 0;
  for (const v of y.data) {
    const slope = -v;
    assert.ok(slope >= lower && slope < upper);
    s += slope;
    s2 += slope * slope;
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  const w = upper - lower;
  // the sample mean's standard error √(w²/12/n); the variance's √((m4 - σ⁴)/n) with m4 = w⁴/80
  assert.ok(
    Math.abs(mean - (lower + upper) / 2) < 5 * Math.sqrt(w * w / 12 / n),
  );
  const sdVar = Math.sqrt((w ** 4 / 80 - (w * w / 12) ** 2) / n);
  assert.ok(
    Math.abs(variance - w * w / 12) < 5 * sdVar,
    `variance ${variance}`,
  );
  const pos = T.tensor([0.5, 2, 0], f64);
  const yp = T.rrelu(pos, { training: true, key: random.key(6) });
  assert.deepEqual(Array.from(yp.data), [0.5, 2, 0]);
});

Deno.test("every random op: jitted with the key as an argument, the eager draws; under vmap, split keys give each example its own draw (a loop's), one unmapped key the same draw for every example", () => {
  const x = T.add(T.abs(T.random.normal(random.key(9), [4, 6, 3, 3], f64)), 1);
  const o = { p: 0.3 };
  const ops: [string, (v: Tensor, k: T.random.Key) => Tensor][] = [
    ["dropout", (v, key) => T.dropout(v, { ...o, key })],
    [
      "dropout1d",
      (v, key) => T.dropout1d(T.reshape(v, [v.shape[0], 6, 9]), { ...o, key }),
    ],
    ["dropout2d", (v, key) => T.dropout2d(v, { ...o, key })],
    [
      "dropout3d",
      (v, key) =>
        T.dropout3d(T.reshape(v, [v.shape[0], 6, 3, 3, 1]), { ...o, key }),
    ],
    ["alphaDropout", (v, key) => T.alphaDropout(v, { ...o, key })],
    [
      "featureAlphaDropout",
      (v, key) => T.featureAlphaDropout(v, { ...o, key }),
    ],
    ["rrelu", (v, key) => T.rrelu(T.neg(v), { training: true, key })],
    ["gumbelSoftmax", (v, key) => T.gumbelSoftmax(v, { key })],
  ];
  const key = random.key(7), keys = random.split(key, 4);
  const row = (t: Tensor, i: number) => T.slice(t, [i], [i + 1]);
  for (const [name, f] of ops) {
    const jf = T.jit(f);
    for (const k of [key, random.key(8)]) {
      sameBits(jf(x, k), f(x, k), `${name} jit`);
    }
    const one = (v: Tensor, k: T.random.Key) => f(T.expandDims(v, 0), k);
    const split = T.vmap(one)(x, keys) as Tensor;
    const fixed = T.vmap((v: Tensor) => one(v, key))(x) as Tensor;
    for (let i = 0; i < 4; i++) {
      const want = f(row(x, i), keys[i]);
      sameBits(T.reshape(row(split, i), want.shape as number[]), want, name);
      const same = f(row(x, i), key); // the unmapped key's draw for every example
      sameBits(T.reshape(row(fixed, i), same.shape as number[]), same, name);
    }
    assert.notDeepEqual(row(split, 0).data, row(split, 1).data, name);
  }
});

Deno.test("empty inputs: batchNorm and instanceNorm give an empty y and the running statistics as they were, zero weight and bias gradients (PyTorch's batch_norm)", () => {
  const rm = T.full([3], 0.5, f64), rv = T.full([3], 2, f64);
  const w = T.ones([3], f64), b = T.zeros([3], f64);
  for (const shape of [[0, 3, 4], [2, 3, 0], [0, 3, 0]]) {
    const x = T.zeros(shape, f64);
    for (const op of ["batchNorm", "instanceNorm"] as const) {
      const run = (x: Tensor, w: Tensor, b: Tensor) => {
        const o = { runningMean: rm, runningVar: rv, weight: w, bias: b };
        return op === "batchNorm"
          ? T.batchNorm(x, { ...o, training: true })
          : T.instanceNorm(x, o);
      };
      const r = run(x, w, b);
      assert.deepEqual(r.y.shape, shape);
      assert.deepEqual(Array.from(r.runningMean!.data), [0.5, 0.5, 0.5], op);
      assert.deepEqual(Array.from(r.runningVar!.data), [2, 2, 2], op);
      const g = T.grad((...a: Tensor[]) => T.sum(run(a[0], a[1], a[2]).y), {
        argnums: [0, 1, 2],
      })(x, w, b) as Tensor[];
      assert.deepEqual(g[0].shape, shape);
      assert.deepEqual(Array.from(g[1].data), [0, 0, 0], `${op} grad weight`);
      assert.deepEqual(Array.from(g[2].data), [0, 0, 0], `${op} grad bias`);
    }
  }
});

Deno.test("gumbelSoftmax: hard samples of an empty class axis are an error naming gumbelSoftmax (PyTorch: 'Expected reduction dim 1 to have non-zero size'); soft ones and empty batches are empty", () => {
  const key = random.key(0);
  for (const shape of [[2, 0], [0, 0]]) {
    assert.throws(
      () => T.gumbelSoftmax(T.ones(shape), { key, hard: true }),
      /^Error: gumbelSoftmax: hard samples need at least one class along axis -1, got logits \[\d,0\]$/,
    );
  }
  assert.deepEqual(T.gumbelSoftmax(T.ones([2, 0]), { key }).shape, [2, 0]);
  assert.deepEqual(
    T.gumbelSoftmax(T.ones([0, 3]), { key, hard: true }).shape,
    [0, 3],
  );
});

Deno.test("every dropout: p = 0 and not training give x, p = 1 gives x·0 (torch multiplies by zeros) with a zero gradient, no key needed for either", () => {
  const x = T.random.normal(random.key(11), [2, 3, 2, 2, 2], f64);
  const ops: [string, typeof T.dropout][] = [
    ["dropout", T.dropout],
    ["dropout3d", T.dropout3d],
    ["alphaDropout", T.alphaDropout],
    ["featureAlphaDropout", T.featureAlphaDropout],
  ];
  for (const [name, f] of ops) {
    assert.equal(f(x, { p: 0 }), x, `${name} p 0`);
    assert.equal(f(x, { p: 0.5, training: false }), x, `${name} eval`);
    const y = f(x, { p: 1 });
    x.data.forEach((v, i) => assert.ok(Object.is(y.data[i], v * 0), name));
    const g = T.grad((v: Tensor) => T.sum(f(v, { p: 1 })))(x);
    assert.ok(g.data.every((v) => v === 0), `${name} gradient`);
  }
});
