/**
 * fractionalMaxPool2d and fractionalMaxPool3d (and their WithIndices forms,
 * and the nn layers): values, indices and gradients against PyTorch 1.13
 * bit for bit, given PyTorch's own _random_samples
 * (tests/fixtures/fractional_pool.json, written by
 * tests/fixtures/gen_fractional_pool.py); finite differences, jit and vmap
 * against eager, the key path, the layers and the errors.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertErrors, sameBits } from "./_helpers.ts";
import {
  caseVjp,
  type FixtureCase,
  type FixtureTensor,
  fixtureTensor,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/fractional_pool.json" with { type: "json" };

type Case = FixtureCase & { indices: FixtureTensor };
const cases = fixture.cases as unknown as Case[];
const f64 = { dtype: "float64" as const };

/** The op of a case's rank, with indices. */
const opOf = (c: Case) =>
  c.op === "fractionalMaxPool2d"
    ? T.fractionalMaxPool2dWithIndices
    : T.fractionalMaxPool3dWithIndices;

Deno.test("PyTorch: fractionalMaxPool2d and fractionalMaxPool3d values, indices and gradients, bit for bit, with PyTorch's samples (float64 and float32)", () => {
  assert.equal(cases.length, 52);
  let withGrads = 0, empty = 0;
  for (const c of cases) {
    const msg = `${c.op} ${c.name} ${c.dtype}`;
    const o = { ...c.options, samples: fixtureTensor(c.inputs.samples) };
    const x = fixtureTensor(c.inputs.x);
    const { values, indices } = opOf(c)(x, o);
    assert.equal(values.dtype, c.dtype, msg);
    assert.equal(indices.dtype, "int32", msg);
    sameBits(values, fixtureTensor(c.output!), `${msg} values`);
    sameBits(indices, fixtureTensor(c.indices), `${msg} indices`);
    const plain = c.op === "fractionalMaxPool2d"
      ? T.fractionalMaxPool2d(x, o)
      : T.fractionalMaxPool3d(x, o);
    sameBits(plain, values, `${msg} the op without indices`);
    if (values.data.length === 0) empty++;
    const { grads, names } = caseVjp(c, ({ x }) => opOf(c)(x, o).values);
    names.forEach((n, i) =>
      sameBits(grads[i], fixtureTensor(c.grads[n]), `${msg} grad ${n}`)
    );
    if (names.length) withGrads++;
  }
  assert.equal(withGrads, 48);
  assert.equal(empty, 6); // batch 0 (2-D, 3-D) and a ratio flooring to 0, two dtypes
});

Deno.test("fractionalMaxPool2d and fractionalMaxPool3d: gradients to order 2 by finite differences (float64)", () => {
  const x2 = T.random.normal(T.random.key(1), [2, 3, 7, 8], f64);
  const s2 = T.random.uniform(T.random.key(2), [2, 3, 2], f64);
  T.checkGrads(
    (x: Tensor) =>
      T.fractionalMaxPool2d(x, { kernelSize: 2, outputSize: 5, samples: s2 }),
    [x2],
    { order: 2 },
  );
  const x3 = T.random.normal(T.random.key(3), [3, 5, 6, 5], f64);
  T.checkGrads(
    (x: Tensor) =>
      T.fractionalMaxPool3d(x, {
        kernelSize: [2, 3, 2],
        outputRatio: 0.5,
        key: T.random.key(4),
      }),
    [x3],
    { order: 2 },
  );
});

Deno.test("fractionalMaxPool2d and fractionalMaxPool3d: jit gives eager's bits (samples or key traced), vmap each example's, and a bad sample is found in a jit replay", () => {
  const x = T.random.normal(T.random.key(5), [3, 2, 9, 9], f64);
  const s = T.random.uniform(T.random.key(6), [3, 2, 2], f64);
  const pool = (x: Tensor, samples: Tensor) =>
    T.fractionalMaxPool2dWithIndices(x, {
      kernelSize: 3,
      outputSize: 5,
      samples,
    });
  const eager = pool(x, s);
  const jitted = T.jit(pool);
  jitted(x, T.random.uniform(T.random.key(7), [3, 2, 2], f64)); // traced once
  const replay = jitted(x, s);
  sameBits(replay.values, eager.values, "jit values");
  sameBits(replay.indices, eager.indices, "jit indices");
  const loss = (x: Tensor, samples: Tensor) =>
    T.sum(
      T.mul(
        pool(x, samples).values,
        T.reshape(T.arange(0, 25, 1, f64), [5, 5]),
      ),
    );
  sameBits(T.jit(T.grad(loss))(x, s), T.grad(loss)(x, s), "jit grad");
  // vmap over unbatched examples, each with its own [1, C, 2] samples
  const each = T.vmap(pool)(x, T.expandDims(s, 1));
  sameBits(each.values, eager.values, "vmap values");
  sameBits(each.indices, eager.indices, "vmap indices");
  sameBits(
    T.vmap(T.grad(loss))(x, T.expandDims(s, 1)),
    T.grad(loss)(x, s),
    "vmap grad",
  );
  // the key traced by jit, mapped by vmap (a key per example)
  const byKey = (x: Tensor, key: T.random.Key) =>
    T.fractionalMaxPool3d(x, { kernelSize: 2, outputSize: [2, 3, 2], key });
  const v = T.random.normal(T.random.key(8), [2, 3, 4, 5, 4], f64);
  const k = T.random.key(9);
  T.jit(byKey)(v, T.random.key(10));
  sameBits(T.jit(byKey)(v, k), byKey(v, k), "jit with a key");
  const keys = T.random.split(k, 2);
  const mapped = T.vmap(byKey)(v, keys);
  for (let i = 0; i < 2; i++) {
    const vi = T.squeeze(T.slice(v, [i], [i + 1]), 0);
    sameBits(
      T.squeeze(T.slice(mapped, [i], [i + 1]), 0),
      byKey(vi, keys[i]),
      `vmap with a key per example ${i}`,
    );
  }
  // the samples' range is checked in every replay, not only when traced
  const bad = T.tensor([0.5, 0.25, 0.5, 1, 0, 0.5], { shape: [3, 2, 1] });
  const xs = T.random.normal(T.random.key(11), [3, 2, 6, 6]);
  const f = (x: Tensor, u: Tensor) =>
    T.fractionalMaxPool2d(x, {
      kernelSize: 2,
      outputSize: 3,
      samples: T.concat([u, u], 2),
    });
  const jf = T.jit(f);
  jf(xs, T.mul(bad, 0.5));
  assert.throws(
    () => jf(xs, bad),
    /^Error: fractionalMaxPool2d: options.samples must be in \[0, 1\), got a value outside \(or NaN\) at flat index 6 \(samples \[3,2,2\]\)$/,
  );
});

Deno.test("fractionalMaxPool2d and fractionalMaxPool3d with a key: the same key gives the same windows, other keys other ones; the samples are random.uniform(key, [N, C, rank]) in x's dtype", () => {
  const x = T.random.normal(T.random.key(12), [2, 4, 20, 20]);
  const o = { kernelSize: 2, outputRatio: 0.6 };
  const at = (seed: number) =>
    T.fractionalMaxPool2dWithIndices(x, { ...o, key: T.random.key(seed) });
  const a = at(0);
  assert.deepEqual(a.values.shape, [2, 4, 12, 12]);
  sameBits(at(0).indices, a.indices, "same key");
  sameBits(at(0).values, a.values, "same key");
  for (const seed of [1, 2, 3]) {
    assert.notDeepEqual(
      Array.from(at(seed).indices.data),
      Array.from(a.indices.data),
      `key ${seed}`,
    );
  }
  const samples = T.random.uniform(T.random.key(0), [2, 4, 2]);
  sameBits(
    T.fractionalMaxPool2dWithIndices(x, { ...o, samples }).indices,
    a.indices,
    "the key's samples",
  );
  // unbatched 3-D: [1, C, 3] samples, in float64
  const v = T.random.normal(T.random.key(13), [3, 6, 7, 8], f64);
  const o3 = {
    kernelSize: 2,
    outputSize: [3, 4, 5] as [number, number, number],
  };
  sameBits(
    T.fractionalMaxPool3d(v, { ...o3, key: T.random.key(14) }),
    T.fractionalMaxPool3d(v, {
      ...o3,
      samples: T.random.uniform(T.random.key(14), [1, 3, 3], f64),
    }),
    "3-D unbatched",
  );
});

Deno.test("nn.fractionalMaxPool2d and nn.fractionalMaxPool3d: the op with the key of each apply (in inference too), split by containers; PyTorch's repr and constructor", () => {
  const x = T.random.normal(T.random.key(15), [2, 3, 10, 10]);
  const key = T.random.key(16);
  const layer = T.nn.fractionalMaxPool2d({ kernelSize: 3, outputSize: [4, 6] });
  assert.equal(layer.info.repr, "FractionalMaxPool2d()");
  assert.equal(
    layer.info.torch,
    "FractionalMaxPool2d(kernel_size=(3, 3), output_size=(4, 6))",
  );
  assert.ok(layer.info.needsKey);
  assert.deepEqual(layer.info.outputShape([2, 3, 10, 10]), [2, 3, 4, 6]);
  const want = T.fractionalMaxPool2d(x, {
    kernelSize: 3,
    outputSize: [4, 6],
    key,
  });
  sameBits(layer.apply({}, x, { key }), want, "inference");
  sameBits(layer.apply({}, x, { key, training: true }), want, "training");
  // a sequential splits its key among the layers that need one, in order
  const net = T.nn.sequential(T.nn.relu, layer, T.nn.dropout({ p: 0.5 }));
  const [k0] = T.random.split(key, 2);
  const y = net.apply(net.init(T.random.key(0)), x, { key });
  sameBits(
    y,
    T.fractionalMaxPool2d(T.relu(x), {
      kernelSize: 3,
      outputSize: [4, 6],
      key: k0,
    }),
    "sequential, inference",
  );
  assert.throws(
    () => layer.apply({}, x),
    /^Error: nn\.FractionalMaxPool2d\.apply: needs opts\.key \(a random\.key\) in training and inference alike/,
  );
  const l3 = T.nn.fractionalMaxPool3d({
    kernelSize: [1, 2, 2],
    outputRatio: [0.5, 0.5, 0.4],
  });
  assert.equal(
    l3.info.torch,
    "FractionalMaxPool3d(kernel_size=(1, 2, 2), output_ratio=(0.5, 0.5, 0.4))",
  );
  const v = T.random.normal(T.random.key(17), [4, 6, 8, 10]);
  sameBits(
    l3.apply({}, v, { key }),
    T.fractionalMaxPool3d(v, {
      kernelSize: [1, 2, 2],
      outputRatio: [0.5, 0.5, 0.4],
      key,
    }),
    "3-D unbatched",
  );
  assert.deepEqual(l3.info.outputShape([4, 6, 8, 10]), [4, 3, 4, 4]);
});

Deno.test("errors: fractionalMaxPool2d, fractionalMaxPool3d and their layers name the op, the option, what was expected and what came", () => {
  const x = T.ones([2, 3, 6, 6]), key = T.random.key(0);
  const s = (shape: number[], dtype: T.DType = "float32") =>
    T.full(shape, 0.5, { dtype });
  assertErrors("fractionalMaxPool2d", [
    [
      () =>
        T.fractionalMaxPool2d(T.ones([3, 6]), {
          kernelSize: 2,
          outputSize: 3,
          key,
        }),
      /^fractionalMaxPool2d: x must be \[N, C, H, W\] or unbatched \[C, H, W\], got \[3,6\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(T.ones([2, 3, 6, 6], { dtype: "int32" }), {
          kernelSize: 2,
          outputSize: 3,
          key,
        }),
      /^fractionalMaxPool2d: x must be float32 or float64, got int32 \[2,3,6,6\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(T.ones([2, 0, 6, 6]), {
          kernelSize: 2,
          outputSize: 3,
          key,
        }),
      /^fractionalMaxPool2d: x must have C, H, W >= 1 \(only the batch may be empty\), got \[2,0,6,6\]$/,
    ],
    [
      () => T.fractionalMaxPool2d(x, { outputSize: 3, key } as never),
      /^fractionalMaxPool2d: options.kernelSize is required$/,
    ],
    [
      () => T.fractionalMaxPool2d(x, { kernelSize: 0, outputSize: 3, key }),
      /^fractionalMaxPool2d: kernelSize must be an integer >= 1 or a pair \[h, w\] of them, got 0$/,
    ],
    [
      () => T.fractionalMaxPool2d(x, { kernelSize: 2, key }),
      /^fractionalMaxPool2d: exactly one of options.outputSize and options.outputRatio is needed, got neither$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: 2,
          outputSize: 3,
          outputRatio: 0.5,
          key,
        }),
      /^fractionalMaxPool2d: exactly one of options.outputSize and options.outputRatio is needed, got both$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, { kernelSize: 2, outputSize: [3, -1], key }),
      /^fractionalMaxPool2d: outputSize must be an integer >= 0 or a pair \[h, w\] of them, got \[3,-1\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, { kernelSize: 2, outputRatio: [0.5, 1], key }),
      /^fractionalMaxPool2d: outputRatio must be a number in \(0, 1\) or a pair \[h, w\] of them, got \[0.5,1\]$/,
    ],
    [
      () => T.fractionalMaxPool2d(x, { kernelSize: 7, outputSize: 1, key }),
      /^fractionalMaxPool2d: kernelSize \[7,7\] is too large for x \[2,3,6,6\] and an output of \[1,1\]: along the height, outputSize \+ kernelSize - 1 = 7 must be at most the input's 6$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: [2, 3],
          outputSize: [5, 5],
          key,
        }),
      /^fractionalMaxPool2d: .* along the width, outputSize \+ kernelSize - 1 = 7 must be at most the input's 6$/,
    ],
    [
      () => T.fractionalMaxPool2d(x, { kernelSize: 2, outputSize: 3 }),
      /^fractionalMaxPool2d: exactly one of options.key \(a random.key\) and options.samples \(PyTorch's _random_samples\) is needed, got neither$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: 2,
          outputSize: 3,
          key,
          samples: s([2, 3, 2]),
        }),
      /^fractionalMaxPool2d: exactly one of options.key .* got both$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: 2,
          outputSize: 3,
          key: 3 as never,
        }),
      /^fractionalMaxPool2d: options.key must be a random key/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: 2,
          outputSize: 3,
          samples: s([1, 3, 2]),
        }),
      /^fractionalMaxPool2d: options.samples must be float32 \[2,3,2\] \(one sample per plane and axis, x's dtype, for x \[2,3,6,6\]\), got float32 \[1,3,2\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: 2,
          outputSize: 3,
          samples: s([2, 3, 2], "float64"),
        }),
      /^fractionalMaxPool2d: options.samples must be float32 \[2,3,2\] .* got float64 \[2,3,2\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(T.ones([3, 6, 6]), {
          kernelSize: 2,
          outputSize: 3,
          samples: s([3, 2]),
        }),
      /^fractionalMaxPool2d: options.samples must be float32 \[1,3,2\] .* got float32 \[3,2\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: 2,
          outputSize: 3,
          samples: T.where(
            T.equal(T.reshape(T.arange(12), [2, 3, 2]), 5),
            NaN,
            s([2, 3, 2]),
          ),
        }),
      /^fractionalMaxPool2d: options.samples must be in \[0, 1\), got a value outside \(or NaN\) at flat index 5 \(samples \[2,3,2\]\)$/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(x, {
          kernelSize: 2,
          outputSize: 3,
          samples: T.neg(s([2, 3, 2])),
        }),
      /^fractionalMaxPool2d: options.samples must be in \[0, 1\), got a value outside \(or NaN\) at flat index 0/,
    ],
    [
      () =>
        T.fractionalMaxPool2d(
          x,
          { kernelSize: 2, outputSize: 3, key, stride: 2 } as never,
        ),
      /^fractionalMaxPool2d: unknown option "stride"/,
    ],
  ]);
  const v = T.ones([1, 2, 5, 6, 7]);
  assertErrors("fractionalMaxPool3d", [
    [
      () =>
        T.fractionalMaxPool3d(T.ones([6, 6]), {
          kernelSize: 2,
          outputSize: 2,
          key,
        }),
      /^fractionalMaxPool3d: x must be \[N, C, D, H, W\] or unbatched \[C, D, H, W\], got \[6,6\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool3d(
          v,
          { kernelSize: [2, 2], outputSize: 2, key } as never,
        ),
      /^fractionalMaxPool3d: kernelSize must be an integer >= 1 or a triple \[d, h, w\] of them, got \[2,2\]$/,
    ],
    [
      // PyTorch's 3-D check is strict: outputSize + kernelSize - 1 < the input
      () =>
        T.fractionalMaxPool3d(v, { kernelSize: 2, outputSize: [4, 3, 3], key }),
      /^fractionalMaxPool3d: kernelSize \[2,2,2\] is too large for x \[1,2,5,6,7\] and an output of \[4,3,3\]: along the depth, outputSize \+ kernelSize - 1 = 5 must be less than the input's 5$/,
    ],
    [
      () =>
        T.fractionalMaxPool3d(
          v,
          { kernelSize: 2, outputRatio: [0.5, 0.5], key } as never,
        ),
      /^fractionalMaxPool3d: outputRatio must be a number in \(0, 1\) or a triple \[d, h, w\] of them, got \[0.5,0.5\]$/,
    ],
    [
      () =>
        T.fractionalMaxPool3d(v, {
          kernelSize: 2,
          outputSize: 2,
          samples: s([1, 2, 2]),
        }),
      /^fractionalMaxPool3d: options.samples must be float32 \[1,2,3\] .* got float32 \[1,2,2\]$/,
    ],
  ]);
  assertErrors("fractionalMaxPool2dWithIndices", [
    [
      () =>
        T.fractionalMaxPool2dWithIndices(x, {
          kernelSize: 2,
          outputRatio: 0,
          key,
        }),
      /^fractionalMaxPool2dWithIndices: outputRatio must be a number in \(0, 1\)/,
    ],
  ]);
  assertErrors("fractionalMaxPool3dWithIndices", [
    [
      () =>
        T.fractionalMaxPool3dWithIndices(v, {
          kernelSize: 6,
          outputSize: 1,
          key,
        }),
      /^fractionalMaxPool3dWithIndices: kernelSize \[6,6,6\] is too large .* along the depth, outputSize \+ kernelSize - 1 = 6 must be less than the input's 5$/,
    ],
  ]);
  assertErrors("nn.fractionalMaxPool2d", [
    [
      () => T.nn.fractionalMaxPool2d({ kernelSize: 2 }),
      /^nn.fractionalMaxPool2d: exactly one of options.outputSize and options.outputRatio is needed, got neither$/,
    ],
    [
      () =>
        T.nn.fractionalMaxPool2d(
          { kernelSize: 2, outputSize: 3, key } as never,
        ),
      /^nn.fractionalMaxPool2d: unknown option "key"/,
    ],
  ]);
  assertErrors("nn.fractionalMaxPool3d", [
    [
      () => T.nn.fractionalMaxPool3d({ kernelSize: 2, outputRatio: 1.5 }),
      /^nn.fractionalMaxPool3d: outputRatio must be a number in \(0, 1\)/,
    ],
  ]);
  // the layer's shape check is the op's
  assertErrors("fractionalMaxPool2d", [
    [
      () =>
        T.nn.fractionalMaxPool2d({ kernelSize: 4, outputSize: 4 }).info
          .outputShape([1, 1, 6, 6]),
      /^fractionalMaxPool2d: kernelSize \[4,4\] is too large/,
    ],
  ]);
});
