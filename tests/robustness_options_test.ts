/**
 * Options and sizes that used to hang, exhaust memory, overflow the stack,
 * throw a raw V8 error or give silent NaN/garbage: each now gives a plain
 * `Error` naming the function, the argument, what was expected and what
 * came (or, for legal but large inputs, a result at a bounded cost), with
 * the results for ordinary inputs unchanged.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

/** Asserts that `f` throws a plain Error (not a RangeError/TypeError) matching `re`, within `ms` milliseconds. */
function throwsPlain(f: () => unknown, re: RegExp, ms = 2000): void {
  const t0 = performance.now();
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.equal((e as Error).constructor, Error, (e as Error).message);
    assert.match((e as Error).message, re);
    return true;
  });
  const took = performance.now() - t0;
  assert.ok(took < ms, `took ${took.toFixed(0)} ms`);
}

/** Bits of a tensor's data. */
const bits = (t: T.Tensor) =>
  new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

const assertSameBits = (a: T.Tensor, b: T.Tensor) => {
  assert.deepEqual(a.shape, b.shape);
  assert.equal(a.dtype, b.dtype);
  assert.deepEqual(bits(a), bits(b));
};

// ---------------------------------------------------------------------------
// 1. adaptive pooling: huge output sizes rejected at once, large ones cheap

Deno.test("adaptive pooling: an output size too large is an Error naming outputSize, before any allocation", () => {
  throwsPlain(
    () => T.adaptiveMaxPool1d(T.ones([1, 1, 5]), 1e8),
    /^adaptiveMaxPool1d: outputSize 100000000 is too large for x \[1,1,5\]: the window table \[100000000,1\] would have 100000000 elements, more than 2\^26$/,
  );
  throwsPlain(
    () => T.adaptiveAvgPool1d(T.ones([1, 1, 5]), 1e9),
    /^adaptiveAvgPool1d: outputSize 1000000000 is too large for x \[1,1,5\]: .*more than 2\^26$/,
  );
  throwsPlain(
    () => T.adaptiveAvgPool2d(T.ones([1, 1, 5, 5]), 1e9),
    /^adaptiveAvgPool2d: outputSize \[1000000000,1000000000\] is too large for x \[1,1,5,5\]: the output \[1,1,1000000000,1000000000\] would have 1000000000000000000 elements, more than 2\^31 - 1$/,
  );
  throwsPlain(
    () => T.adaptiveMaxPool2d(T.ones([1, 1, 5, 5]), [1, 1e9]),
    /^adaptiveMaxPool2d: outputSize \[1,1000000000\] is too large/,
  );
  throwsPlain(
    () => T.adaptiveAvgPool3d(T.ones([1, 1, 2, 2, 2]), 1e5),
    /^adaptiveAvgPool3d: outputSize \[100000,100000,100000\] is too large for x \[1,1,2,2,2\]: the output .* more than 2\^31 - 1$/,
  );
  throwsPlain(
    () => T.adaptiveMaxPool3d(T.ones([1, 1, 2, 2, 2]), [1, 1, 1e8]),
    /^adaptiveMaxPool3d: outputSize \[1,1,100000000\] is too large .*2\^26$/,
  );
});

Deno.test("adaptive pooling: millions of outputs do not overflow the stack", () => {
  for (const n of [1e6, 1e7]) {
    const avg = T.adaptiveAvgPool1d(T.ones([1, 1, 5]), n);
    assert.deepEqual(avg.shape, [1, 1, n]);
    assert.equal(avg.data[0], 1);
    assert.equal(avg.data[n - 1], 1);
  }
  const x = T.tensor([[[1, 5, 2, 4, 3]]]);
  const mx = T.adaptiveMaxPool1d(x, 1e6);
  assert.deepEqual(mx.shape, [1, 1, 1e6]);
  // output i reads entry floor(5i / 1e6) (windows of one entry)
  for (const i of [0, 199999, 200000, 999999]) {
    assert.equal(mx.data[i], [1, 5, 2, 4, 3][Math.floor((5 * i) / 1e6)]);
  }
  const y = T.adaptiveAvgPool2d(T.ones([1, 1, 3, 3]), [1000, 1000]);
  assert.deepEqual(y.shape, [1, 1, 1000, 1000]);
});

Deno.test("adaptive pooling: the windows and results of small sizes are PyTorch's", () => {
  // windows [floor(i·L/out), ceil((i+1)·L/out)), of 1 to q + 2 entries
  const v = [3, 1, 4, 1, 5, 9, 2];
  const x = T.tensor([[v]], { dtype: "float64" });
  for (const out of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 13, 20]) {
    const avg: number[] = [], max: number[] = [];
    for (let i = 0; i < out; i++) {
      const s = Math.floor((i * 7) / out), e = Math.ceil(((i + 1) * 7) / out);
      const w = v.slice(s, e);
      avg.push(w.reduce((a, b) => a + b, 0) / w.length);
      max.push(Math.max(...w));
    }
    assert.deepEqual([...T.adaptiveAvgPool1d(x, out).data], avg);
    assert.deepEqual([...T.adaptiveMaxPool1d(x, out).data], max);
  }
  assert.deepEqual([...T.adaptiveAvgPool1d(x, 3).data], [
    8 / 3,
    10 / 3,
    16 / 3,
  ]);
  const m = T.reshape(T.arange(9), [1, 1, 3, 3]);
  assert.deepEqual(T.toArray(T.adaptiveMaxPool2d(m, 2)), [[[[4, 5], [7, 8]]]]);
  assert.deepEqual(T.toArray(T.adaptiveAvgPool2d(m, 1)), [[[[4]]]]);
  // a NaN reaches only its own windows
  const nan = T.tensor([[[1, NaN, 3, 4]]]);
  assert.deepEqual([...T.adaptiveAvgPool1d(nan, 2).data], [NaN, 3.5]);
});

// ---------------------------------------------------------------------------
// 2. localResponseNorm: a cost in the channels, not in size

/** localResponseNorm as it was computed: the squares padded by size/2 and (size-1)/2 zeros, averaged over windows of size. */
function lrnReference(
  x: T.Tensor,
  size: number,
  o: { alpha: number; beta: number; k: number },
): T.Tensor {
  const [n, c] = x.shape, m = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const sq = T.reshape(T.mul(x, x), [n, 1, c, m]);
  const padded = T.pad(sq, [[0, 0], [0, 0], [
    Math.floor(size / 2),
    Math.floor((size - 1) / 2),
  ], [0, 0]]);
  const mean = T.avgPool2d(padded, { kernelSize: [size, 1], stride: 1 });
  const scale = T.pow(T.add(T.mul(mean, o.alpha), o.k), o.beta);
  return T.div(x, T.reshape(scale, x.shape));
}

Deno.test("localResponseNorm: a huge size is quick and gives the mean over size channels", () => {
  const t0 = performance.now();
  const y = T.localResponseNorm(T.ones([1, 2, 2, 2]), 1e9, {
    alpha: 1e9,
    beta: 1,
    k: 0,
  });
  assert.ok(performance.now() - t0 < 2000);
  // every window holds both channels: (1 + 1) / 1e9 · 1e9 = 2
  assert.deepEqual([...y.data], Array(8).fill(0.5));
});

Deno.test("localResponseNorm: the same bits as the padded average pooling, values and gradients", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const shape of [[2, 1, 3], [1, 5, 2, 2], [2, 7, 3]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const data = Array.from(
        { length: count },
        (_, i) => Math.sin(i * 2.3) * 3 + (i === 4 ? NaN : 0),
      );
      const x = T.tensor(data, { shape, dtype });
      for (const size of [1, 2, 3, 4, 5, 8, 13, 14, 15, 30]) {
        for (
          const o of [{ alpha: 1e-4, beta: 0.75, k: 1 }, {
            alpha: 0.5,
            beta: 0.3,
            k: 2,
          }]
        ) {
          assertSameBits(
            T.localResponseNorm(x, size, o),
            lrnReference(x, size, o),
          );
          const w = T.tensor(data.map((_, i) => (i % 3) - 1), {
            shape,
            dtype,
          });
          const x1 = T.tensor(data.map((v) => (Number.isNaN(v) ? 0.5 : v)), {
            shape,
            dtype,
          });
          assertSameBits(
            T.grad((v: T.Tensor) =>
              T.sum(T.mul(T.localResponseNorm(v, size, o), w))
            )(x1),
            T.grad((v: T.Tensor) => T.sum(T.mul(lrnReference(v, size, o), w)))(
              x1,
            ),
          );
        }
      }
    }
  }
});

Deno.test("localResponseNorm: an input without entries comes back as it is (PyTorch)", () => {
  for (const shape of [[1, 0, 3], [2, 3, 0], [0, 3, 2]]) {
    assert.deepEqual(T.localResponseNorm(T.ones(shape), 3).shape, shape);
  }
});

// ---------------------------------------------------------------------------
// 3. multiplicativeLR: bounded memory, the same products

Deno.test("optim.schedules.multiplicativeLR: the same products in any order of steps", () => {
  const lam = (k: number) => 1 + Math.sin(k * 0.37) * 1e-3;
  const ref = [0.3];
  for (let j = 1; j <= 20000; j++) ref.push(ref[j - 1] * lam(j));
  const s = T.optim.schedules.multiplicativeLR({ lr: 0.3, lrLambda: lam });
  const steps = [0, 1, 5, 4095, 4096, 4097, 3, 12000, 8191, 8192, 8193, 0];
  for (let k = 0; k <= 20000; k += 7) steps.push(k);
  steps.push(20000, 19999, 1, 4096 * 4, 4096 * 4 - 1);
  for (const k of steps) assert.ok(Object.is(s(k), ref[k]), `step ${k}`);
  // a fresh schedule asked for a late step first
  const late = T.optim.schedules.multiplicativeLR({ lr: 0.3, lrLambda: lam });
  for (const k of [20000, 9000, 0, 19999, 4096]) {
    assert.ok(Object.is(late(k), ref[k]), `step ${k}`);
  }
});

Deno.test("optim.schedules.multiplicativeLR: memory does not grow with the step", () => {
  const s = T.optim.schedules.multiplicativeLR({ lr: 1, lrLambda: () => 1 });
  s(1); // (compiled before measuring)
  const before = Deno.memoryUsage().heapUsed;
  assert.equal(s(3e7), 1);
  const grown = Deno.memoryUsage().heapUsed - before;
  // a value per step would be 240 MB; the marks every 4096 steps, 60 kB
  assert.ok(grown < 20 * 2 ** 20, `heap grew by ${grown} bytes`);
  throwsPlain(
    () => s(2 ** 60),
    /^optim\.schedules\.multiplicativeLR: step must be at most 2\^53 - 1 .*got 1152921504606847000$/,
  );
});

Deno.test("optim.schedules.multiplicativeLR: a non-finite factor is still an Error naming the step", () => {
  const s = T.optim.schedules.multiplicativeLR({
    lr: 1,
    lrLambda: (k) => (k === 5000 ? NaN : 1),
  });
  assert.equal(s(4999), 1);
  throwsPlain(
    () => s(6000),
    /^optim\.schedules\.multiplicativeLR: lrLambda returned .*NaN at step 5000, not a finite number$/,
  );
  assert.equal(s(4000), 1);
});

// ---------------------------------------------------------------------------
// 4. confusionMatrix: numClasses² bounded

Deno.test("metrics.confusionMatrix: numClasses too large is an Error, not a failed allocation", () => {
  const labels = T.tensor([0, 1, 1], { dtype: "int32" });
  throwsPlain(
    () => T.metrics.confusionMatrix(labels, labels, 1e6),
    /^confusionMatrix: numClasses 1000000 is too large: the matrix \[1000000, 1000000\] would have 1000000000000 elements, more than 2\^31 - 1$/,
  );
  const cm = T.metrics.confusionMatrix(labels, labels, 46340);
  assert.deepEqual(cm.shape, [46340, 46340]);
  assert.equal(cm.data[46340 + 1], 2);
});

Deno.test("metrics.formatConfusionMatrix: a large matrix does not overflow the stack", () => {
  const n = 1200;
  const labels = T.tensor([0, n - 1, n - 1], { dtype: "int32" });
  const text = T.metrics.formatConfusionMatrix(
    T.metrics.confusionMatrix(labels, labels, n),
  );
  assert.equal(text.split("\n").length, n + 1);
  const cm = T.tensor([[3, 1], [0, 4]], { dtype: "int32" });
  assert.equal(
    T.metrics.formatConfusionMatrix(cm),
    [
      "true \\ predicted  0  1  recall",
      "               0  3  1  0.7500",
      "               1  0  4  1.0000",
    ].join("\n"),
  );
});

// ---------------------------------------------------------------------------
// 5. options that gave silent NaN or garbage

Deno.test("batchNorm: momentum must be a finite number in [0, 1]", () => {
  const x = T.tensor([[1, 2], [3, 5]]);
  const stats = () => ({ runningMean: T.zeros([2]), runningVar: T.ones([2]) });
  for (const momentum of [NaN, Infinity, -0.1, 1.5]) {
    throwsPlain(
      () => T.batchNorm(x, { training: true, momentum, ...stats() }),
      new RegExp(
        `^batchNorm: momentum must be a finite number in \\[0, 1\\], got ${momentum}$`,
      ),
    );
  }
  throwsPlain(
    () =>
      T.batchNorm(x, { training: true, momentum: T.tensor(NaN), ...stats() }),
    /^batchNorm: momentum must be a finite number in \[0, 1\], got a scalar tensor holding NaN$/,
  );
  throwsPlain(
    () =>
      T.batchNorm(x, {
        training: true,
        momentum: null as unknown as number,
        ...stats(),
      }),
    /^batchNorm: momentum must be a number or a float scalar tensor, got null$/,
  );
  // the bounds themselves, and a scalar tensor, are fine
  const m0 = T.batchNorm(x, { training: true, momentum: 0, ...stats() });
  assert.deepEqual([...m0.runningMean!.data], [0, 0]);
  const m1 = T.batchNorm(x, { training: true, momentum: 1, ...stats() });
  assert.deepEqual([...m1.runningMean!.data], [2, 3.5]);
  const mt = T.batchNorm(x, {
    training: true,
    momentum: T.tensor(0.5, { dtype: "float64" }),
    ...stats(),
  });
  assert.deepEqual([...mt.runningMean!.data], [1, 1.75]);
  // the layer's cumulative average (momentum null) still works
  const bn = T.nn.batchNorm1d({ numFeatures: 2, momentum: null });
  const params = bn.init(T.random.key(0));
  const state = bn.initState!();
  const out = bn.applyWithState!(params, state, x, { training: true });
  assert.deepEqual([...out.state.running_mean.data], [2, 3.5]);
});

Deno.test("random.choice: p must sum to a positive number", () => {
  const k = T.random.key(0);
  throwsPlain(
    () => T.random.choice(k, 3, { shape: [4], p: T.tensor([0, 0, 0]) }),
    /^random\.choice: p must sum to a positive finite number, got a sum of 0 \(p \[3\] float32\)$/,
  );
  throwsPlain(
    () =>
      T.random.choice(k, 3, {
        shape: [2],
        replace: false,
        p: T.tensor([0, 0, 0], { dtype: "float64" }),
      }),
    /^random\.choice: p must sum to a positive finite number, got a sum of 0 \(p \[3\] float64\)$/,
  );
  throwsPlain(
    () => T.random.choice(k, 2, { shape: [4], p: T.tensor([3e38, 3e38]) }),
    /^random\.choice: p must sum to a positive finite number, got a sum of Infinity/,
  );
  // negative and NaN entries (already rejected)
  throwsPlain(
    () => T.random.choice(k, 3, { p: T.tensor([1, -1, 1]) }),
    /^random\.choice: p must hold finite numbers >= 0$/,
  );
  throwsPlain(
    () => T.random.choice(k, 3, { p: T.tensor([1, NaN, 1]) }),
    /^random\.choice: p must hold finite numbers >= 0$/,
  );
  // unnormalised p: as before, scaled by its sum
  const c = T.random.choice(k, T.tensor([10, 20, 30]), {
    shape: [50],
    p: T.tensor([0, 5, 0]),
  });
  assert.ok([...c.data].every((v) => v === 20));
});

Deno.test("random.choice: without replacement, no more draws than non-zero probabilities", () => {
  const k = T.random.key(1);
  throwsPlain(
    () =>
      T.random.choice(k, 3, {
        shape: [3],
        replace: false,
        p: T.tensor([1, 0, 0]),
      }),
    /^random\.choice: fewer non-zero entries in p \(1\) than draws without replacement \(3\)$/,
  );
  const two = T.random.choice(k, 4, {
    shape: [2],
    replace: false,
    p: T.tensor([0, 0.5, 0, 0.5]),
  });
  assert.deepEqual([...two.data].sort(), [1, 3]);
  // with replacement the zeros are fine
  const rep = T.random.choice(k, 3, { shape: [5], p: T.tensor([1, 0, 0]) });
  assert.deepEqual([...rep.data], [0, 0, 0, 0, 0]);
});

Deno.test("nn.init.normal: std must be >= 0 (torch's normal_)", () => {
  const k = T.random.key(0);
  throwsPlain(
    () => T.nn.init.normal(k, [3], { std: -1 }),
    /^nn\.init\.normal: std must be >= 0, got -1$/,
  );
  assert.deepEqual(
    [...T.nn.init.normal(k, [3], { mean: 2, std: 0 }).data],
    [2, 2, 2],
  );
  const z = T.random.normal(k, [3]);
  assertSameBits(
    T.nn.init.normal(k, [3], { mean: 1, std: 0.5 }),
    T.add(T.mul(z, 0.5), 1),
  );
});

Deno.test("nn.init.uniform: a > b is an Error naming nn.init.uniform; a = b fills (torch's uniform_)", () => {
  const k = T.random.key(0);
  throwsPlain(
    () => T.nn.init.uniform(k, [3], { a: 2, b: 1 }),
    /^nn\.init\.uniform: a must be <= b, got a 2 and b 1$/,
  );
  throwsPlain(
    () => T.nn.init.uniform(k, [3], { a: -1e39, b: 1 }),
    /^nn\.init\.uniform: a and b must be finite in float32, got a -1e\+39 and b 1$/,
  );
  assert.deepEqual([...T.nn.init.uniform(k, [3], { a: 1, b: 1 }).data], [
    1,
    1,
    1,
  ]);
  assertSameBits(
    T.nn.init.uniform(k, [4], { a: -2, b: 2 }),
    T.random.uniform(k, [4], { minval: -2, maxval: 2 }),
  );
});

Deno.test("nn.init.xavierNormal and xavierUniform: gain must be >= 0", () => {
  const k = T.random.key(0);
  throwsPlain(
    () => T.nn.init.xavierNormal(k, [3, 3], { gain: -1 }),
    /^nn\.init\.xavierNormal: gain must be >= 0, got -1$/,
  );
  throwsPlain(
    () => T.nn.init.xavierUniform(k, [3, 3], { gain: -1 }),
    /^nn\.init\.xavierUniform: gain must be >= 0, got -1$/,
  );
  assert.ok(
    [...T.nn.init.xavierUniform(k, [3, 3], { gain: 0 }).data].every((v) =>
      v === 0
    ),
  );
});

Deno.test("random.categorical with no category, oneHot too large, vmap's axisSize too large: errors naming the function, at once", () => {
  for (const shape of [[0], [3, 0]]) {
    assert.throws(
      () => T.random.categorical(T.random.key(0), T.zeros(shape)),
      new RegExp(
        `^Error: random\\.categorical: logits must have at least one category along axis -1, got \\[${shape}\\]$`,
      ),
    );
  }
  assert.throws(
    () => T.oneHot(T.zeros([100], { dtype: "int32" }), 1e9),
    /^Error: oneHot: the result \[100,1000000000\] would have 100000000000 elements, more than 2\^31 - 1 \(labels \[100\], numClasses 1000000000\)$/,
  );
  assert.deepEqual(
    T.oneHot(T.tensor([1], { dtype: "int32" }), 3).data,
    Float32Array.from([0, 1, 0]),
  );
  assert.throws(
    () =>
      T.vmap((x: T.Tensor) => x, { inAxes: null, axisSize: 1e12 })(T.ones([2])),
    /^Error: vmap: axisSize must be an integer in \[0, 2\^31 - 1\], got 1000000000000$/,
  );
});

Deno.test("conv2d and convTranspose2d: an output or padded input past 2^31 - 1 elements (a padding or stride of gigabytes) is an error before any work, as conv3d's", () => {
  const x = T.ones([1, 1, 4, 4]), w = T.ones([1, 1, 3, 3]);
  assert.throws(
    () => T.conv2d(x, w, null, { padding: 1e9 }),
    /^Error: conv2d: output \[1,1,2000000002,2000000002\] would have 4000000008000000000 elements, more than 2\^31 - 1$/,
  );
  assert.throws(
    () => T.conv2d(x, w, null, { padding: 1e5, stride: 1e6 }),
    /^Error: conv2d: padded input \[1,1,200004,200004\] would have 40001600016 elements, more than 2\^31 - 1$/,
  );
  assert.throws(
    () => T.convTranspose2d(x, w, null, { stride: 1e12 }),
    /^Error: convTranspose2d: output \[1,1,3000000000003,3000000000003\] would have/,
  );
  assert.deepEqual(T.conv2d(x, w, null, { padding: 1 }).shape, [1, 1, 4, 4]);
});

Deno.test("a layer's init checks every param's size before drawing any (a transformer layer drew 6.4 GB before failing)", () => {
  const key = T.random.key(0);
  assert.throws(
    () => T.nn.linear({ inFeatures: 50000, outFeatures: 50000 }).init(key),
    /^Error: nn\.Linear\.init: param weight \[50000,50000\] would have 2500000000 elements, more than 2\^31 - 1$/,
  );
  const t0 = performance.now();
  assert.throws(
    () =>
      T.nn.transformerEncoderLayer({
        dModel: 40000,
        nhead: 4,
        dimFeedforward: 80000,
      }).init(key),
    /nn\.MultiheadAttention\.init: param in_proj_weight \[120000,40000\] would have 4800000000 elements/,
  );
  assert.ok(performance.now() - t0 < 5000, "no param drawn first");
});
