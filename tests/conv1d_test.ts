/**
 * conv1d, maxPool1d, avgPool1d and interpolate: values and gradients against
 * PyTorch 1.13 (tests/fixtures/conv1d.json, written by
 * tests/fixtures/gen_conv1d.py) in float32 and float64, identities that need
 * no reference, the argument errors (named after the 1-D op, with 1-D
 * shapes), and the layers (nn.conv1d, nn.maxPool1d, nn.avgPool1d,
 * nn.upsample): PyTorch's reprs, init, summary rows. Their export cases are
 * in tests/_onnx_models.ts (ONNX Runtime: onnx_test.ts; PyTorch:
 * torch_test.ts).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/conv1d.json" with { type: "json" };
import { checkFixtureCase, type FixtureCase } from "./_fixture_cases.ts";

function callOp(c: FixtureCase, v: Record<string, Tensor>): Tensor {
  switch (c.op) {
    case "conv1d":
      return T.conv1d(v.x, v.weight, v.bias ?? null, c.options);
    case "maxPool1d":
      return T.maxPool1d(v.x, c.options);
    case "avgPool1d":
      return T.avgPool1d(v.x, c.options);
    case "interpolate":
      return T.interpolate(v.x, c.options);
    case "convTranspose1d":
      return T.convTranspose1d(v.x, v.weight, v.bias ?? null, c.options);
    case "adaptiveAvgPool1d":
      return T.adaptiveAvgPool1d(v.x, c.options.outputSize);
    case "adaptiveMaxPool1d":
      return T.adaptiveMaxPool1d(v.x, c.options.outputSize);
    case "lpPool1d":
      return T.lpPool1d(v.x, c.options);
  }
  throw new Error(`unknown op ${c.op}`);
}

for (
  const op of [
    "conv1d",
    "maxPool1d",
    "avgPool1d",
    "interpolate",
    "convTranspose1d",
    "adaptiveAvgPool1d",
    "adaptiveMaxPool1d",
    "lpPool1d",
  ]
) {
  Deno.test(`PyTorch fixtures: ${op}`, async (t) => {
    const cases = (fixture.cases as unknown as FixtureCase[]).filter((c) =>
      c.op === op
    );
    assert.ok(cases.length > 0);
    for (const c of cases) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        // (float32 bicubic: 16 products of O(1) values summed in float32,
        // where PyTorch's sums land nearer the exact value; both within
        // about 1e-6 of float64's)
        const cubic32 = c.dtype === "float32" &&
          (c.options as { mode?: string }).mode === "bicubic";
        const tol = cubic32
          ? { atol: 1e-5, rtol: 1e-5 }
          : c.dtype === "float32"
          ? { atol: 2e-6, rtol: 2e-6 }
          : { atol: 1e-13, rtol: 1e-13 };
        checkFixtureCase(c, (v) => callOp(c, v), tol);
      });
    }
  });
}

// ---------------------------------------------------------------------------
// identities

const f64 = (shape: number[], seed = 1) =>
  T.random.normal(T.random.key(seed), shape, { dtype: "float64" });

Deno.test("conv1d is conv2d on a height of 1; the pools are the 2-D pools", () => {
  const x = f64([2, 4, 9]), w = f64([6, 2, 3], 2), b = f64([6], 3);
  const o = { stride: 2, padding: 1, dilation: 2, groups: 2 };
  const y2 = T.conv2d(T.expandDims(x, 2), T.expandDims(w, 2), b, {
    stride: [1, 2],
    padding: [0, 1],
    dilation: [1, 2],
    groups: 2,
  });
  assert.deepEqual(T.conv1d(x, w, b, o).data, T.squeeze(y2, 2).data);
  const p = T.maxPool1d(x, {
    kernelSize: 3,
    stride: 2,
    padding: 1,
    ceilMode: true,
  });
  const p2 = T.maxPool2d(T.expandDims(x, 2), {
    kernelSize: [1, 3],
    stride: [1, 2],
    padding: [0, 1],
    ceilMode: true,
  });
  assert.deepEqual(p.data, T.squeeze(p2, 2).data);
  // unbatched [C, L] is the batch of one
  assert.deepEqual(
    T.conv1d(T.squeeze(T.slice(x, [0, 0, 0], [1, 4, 9]), 0), w, b, o).data,
    T.slice(T.conv1d(x, w, b, o), [0, 0, 0], [1, 6, 5]).data,
  );
  // 1-tuples as PyTorch's
  assert.deepEqual(
    T.conv1d(x, w, b, {
      stride: [2] as unknown as number,
      padding: [1] as unknown as number,
      dilation: 2,
      groups: 2,
    }).data,
    T.conv1d(x, w, b, o).data,
  );
});

Deno.test("interpolate: nearest by integer factors copies exactly, infinities included", () => {
  const x = T.tensor([[[1, -Infinity, 3, NaN]]]);
  assert.deepEqual(
    Array.from(T.interpolate(x, { scaleFactor: 3 }).data),
    [1, 1, 1, -Infinity, -Infinity, -Infinity, 3, 3, 3, NaN, NaN, NaN],
  );
  assert.deepEqual(Array.from(T.interpolate(x, { size: 2 }).data), [1, 3]);
  const img = T.reshape(T.arange(12), [1, 1, 3, 4]);
  assert.deepEqual(T.toArray(T.interpolate(img, { scaleFactor: [2, 0.5] })), [[[
    [0, 2],
    [0, 2],
    [4, 6],
    [4, 6],
    [8, 10],
    [8, 10],
  ]]]);
});

Deno.test("interpolate: an infinite input stays in the outputs that read it, as PyTorch's (it spread NaN through an interpolation matrix)", () => {
  const x = T.tensor([[[1, Infinity, 3]]]);
  // PyTorch 1.13: nearest [1, 1, inf, inf, 3]; linear to 5 [1, 1, inf, inf, 3]
  // (each reads only its sources; 0.2·inf + 0.8·3 is still inf)
  assert.deepEqual(
    Array.from(T.interpolate(x, { size: 5 }).data),
    [1, 1, Infinity, Infinity, 3],
  );
  assert.deepEqual(
    Array.from(
      T.interpolate(T.tensor([[[Infinity, 1, 2, 3]]]), {
        size: 8,
        mode: "linear",
      }).data,
    ),
    [Infinity, Infinity, Infinity, 1.25, 1.75, 2.25, 2.75, 3],
  );
  // bilinear: PyTorch 1.13's values, NaN where a zero weight meets the
  // infinite pixel (its row and column above and left) and finite beyond
  const img = T.tensor([[[[1, 2, 3], [4, Infinity, 6], [7, 8, 9]]]]);
  const inf = Infinity;
  assert.deepEqual(
    T.toArray(T.interpolate(img, { size: [6, 6], mode: "bilinear" })),
    [[[
      [NaN, NaN, NaN, NaN, NaN, 3],
      [NaN, inf, inf, inf, inf, 3.75],
      [NaN, inf, inf, inf, inf, 5.25],
      [NaN, inf, inf, inf, inf, 6.75],
      [NaN, inf, inf, inf, inf, 8.25],
      [7, 7.25, 7.75, 8.25, 8.75, 9],
    ]]],
  );
  // a NaN is still named by the debug checks (where PyTorch makes one too:
  // a zero weight on an infinite source)
  T.setDebugNans(true);
  try {
    assert.throws(
      () => T.interpolate(img, { size: [6, 6], mode: "bilinear" }),
      /^Error: interpolate: produced NaN/,
    );
    assert.throws(
      () => T.conv1d(x, T.tensor([[[1, 0]]])), // 0 · inf
      /^Error: conv1d: produced NaN/,
    );
  } finally {
    T.setDebugNans(false);
  }
});

Deno.test("interpolate: linear modes keep constants and (alignCorners) the corners", () => {
  const c = T.full([2, 3, 4, 5], 2.5, { dtype: "float64" });
  for (const alignCorners of [false, true]) {
    for (const size of [[7, 3], [1, 9], [4, 5]]) {
      const y = T.interpolate(c, { size, mode: "bilinear", alignCorners });
      assertAllClose(y, T.full([2, 3, ...size], 2.5, { dtype: "float64" }), {
        atol: 1e-15,
      });
    }
  }
  const x = f64([1, 2, 6]);
  const y = T.interpolate(x, { size: 11, mode: "linear", alignCorners: true });
  const xs = T.toArray(x) as number[][][], ys = T.toArray(y) as number[][][];
  for (let ch = 0; ch < 2; ch++) {
    assert.equal(ys[0][ch][0], xs[0][ch][0]);
    assert.equal(ys[0][ch][10], xs[0][ch][5]);
    assert.equal(ys[0][ch][2], xs[0][ch][1]); // 2·5/10 = 1: an input sample
  }
});

Deno.test("interpolate: bilinear is linear along H then along W", () => {
  const x = f64([2, 3, 4, 5]);
  const opts = { mode: "linear" as const, alignCorners: false };
  // resize W as a 3-D [N·C·H, 1, W] problem, then H the same way after a transpose
  const alongW = T.reshape(
    T.interpolate(T.reshape(x, [24, 1, 5]), { ...opts, size: 8 }),
    [2, 3, 4, 8],
  );
  const t = T.transpose(alongW, [0, 1, 3, 2]);
  const both = T.transpose(
    T.reshape(
      T.interpolate(T.reshape(t, [48, 1, 4]), { ...opts, size: 3 }),
      [2, 3, 8, 3],
    ),
    [0, 1, 3, 2],
  );
  assertAllClose(
    T.interpolate(x, { size: [3, 8], mode: "bilinear" }),
    both,
    { atol: 1e-14, rtol: 1e-14 },
  );
});

Deno.test("the 1-D ops and interpolate under vmap and jit", () => {
  const xs = f64([3, 1, 2, 6]), w = f64([2, 2, 3], 4);
  const f = (x: Tensor) =>
    T.interpolate(
      T.avgPool1d(
        T.maxPool1d(T.conv1d(x, w, null, { padding: 1 }), {
          kernelSize: 2,
          stride: 1,
        }),
        { kernelSize: 2, ceilMode: true },
      ),
      { scaleFactor: 1.5, mode: "linear" },
    );
  const example = (i: number) =>
    T.squeeze(T.slice(xs, [i, 0, 0, 0], [i + 1, 1, 2, 6]), 0);
  const loop = T.stack([0, 1, 2].map((i) => f(example(i))));
  assertAllClose(T.vmap(f)(xs), loop, { atol: 1e-14, rtol: 1e-14 });
  assert.deepEqual(T.jit(f)(example(1)).data, f(example(1)).data);
});

// ---------------------------------------------------------------------------
// errors

Deno.test("convTranspose1d is convTranspose2d on a height of 1, and conv1d's VJP with respect to x", () => {
  const x = f64([2, 4, 5]), w = f64([4, 3, 3], 2), b = f64([6], 3);
  const o = { stride: 2, padding: 1, outputPadding: 1, dilation: 2, groups: 2 };
  const y2 = T.convTranspose2d(T.expandDims(x, 2), T.expandDims(w, 2), b, {
    stride: [1, 2],
    padding: [0, 1],
    outputPadding: [0, 1],
    dilation: [1, 2],
    groups: 2,
  });
  const y = T.convTranspose1d(x, w, b, o);
  assert.deepEqual(y.shape, [2, 6, 12]);
  assert.deepEqual(y.data, T.squeeze(y2, 2).data);
  // conv1d of an input of y's length maps back to x's: its VJP is convTranspose1d
  const z = f64([2, 6, 12], 4);
  const conv = (z: Tensor) =>
    T.conv1d(z, w, null, { stride: 2, padding: 1, dilation: 2, groups: 2 });
  const [, back] = T.vjp(conv, z);
  const [g] = back(x);
  assertAllClose(g, T.convTranspose1d(x, w, null, o), {
    atol: 1e-12,
    rtol: 1e-12,
  });
});

Deno.test("errors: convTranspose1d arguments name convTranspose1d and the 1-D shapes", () => {
  const x = T.zeros([2, 3, 5]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.convTranspose1d(x, T.zeros([2, 4, 3])),
      /^convTranspose1d: weight has 2 input channels but x has 3 \(x \[2,3,5\], weight \[2,4,3\]\)$/,
    ],
    [
      () => T.convTranspose1d(T.zeros([2, 3, 5, 5]), T.zeros([3, 4, 3])),
      /^convTranspose1d: x must be \[N, C, L\] or unbatched \[C, L\], got \[2,3,5,5\]$/,
    ],
    [
      () => T.convTranspose1d(x, T.zeros([3, 4, 3, 3])),
      /^convTranspose1d: weight must have 3 dims \[C_in, C_out \/ groups, K\], got \[3,4,3,3\]$/,
    ],
    [
      () =>
        T.convTranspose1d(x, T.zeros([3, 4, 3]), null, { outputPadding: 1 }),
      /^convTranspose1d: outputPadding must be smaller than either stride or dilation, got outputPadding 1, stride 1, dilation 1$/,
    ],
    [
      () => T.convTranspose1d(x, T.zeros([3, 4, 3]), null, { padding: 4 }),
      /^convTranspose1d: output length would be -1 \(< 1\) for x \[2,3,5\], padding 4$/,
    ],
    [
      () => T.convTranspose1d(x, T.zeros([3, 4, 3]), T.zeros([3])),
      /^convTranspose1d: bias must have shape \[4\]/,
    ],
    [
      () =>
        T.convTranspose1d(
          x,
          T.zeros([3, 4, 3]),
          null,
          { stride: [2, 2] } as never,
        ),
      /^convTranspose1d: stride must be an integer >= 1 \(or a one-element array of one\), got \[2,2\]$/,
    ],
    [
      () => T.convTranspose1d(x, T.zeros([3, 4, 3]), null, { groups: 2 }),
      /^convTranspose1d: x has 3 channels, which groups 2 does not divide/,
    ],
    [
      () =>
        T.nn.convTranspose1d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 3,
          groups: 2,
        }),
      /^nn\.convTranspose1d: inChannels 3 and outChannels 4 must both be divisible by groups 2$/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e) => {
      assert.ok(e instanceof Error && e.constructor === Error, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("errors: conv1d arguments name conv1d and the 1-D shapes", () => {
  const x = T.zeros([8, 1, 28]), w = T.zeros([6, 3, 5]);
  assert.throws(
    () => T.conv1d(x, w),
    /^Error: conv1d: weight has 3 input channels but x has 1 \(x \[8,1,28\], weight \[6,3,5\]\)$/,
  );
  assert.throws(
    () => T.conv1d(T.zeros([8, 1, 28, 28]), w),
    /conv1d: x must be \[N, C, L\] or unbatched \[C, L\], got \[8,1,28,28\]/,
  );
  assert.throws(
    () => T.conv1d(x, T.zeros([6, 1, 5, 5])),
    /conv1d: weight must have 3 dims \[O, C \/ groups, K\], got \[6,1,5,5\]/,
  );
  assert.throws(
    () => T.conv1d(T.zeros([1, 4, 9]), T.zeros([6, 1, 3]), null, { groups: 2 }),
    /conv1d: weight has 1 input channels per group \(groups 2\) but x has 4 = 2 per group \(x \[1,4,9\], weight \[6,1,3\]\)/,
  );
  assert.throws(
    () => T.conv1d(T.zeros([1, 3, 9]), T.zeros([6, 1, 3]), null, { groups: 2 }),
    /conv1d: x has 3 channels, which groups 2 does not divide/,
  );
  assert.throws(
    () => T.conv1d(T.zeros([1, 4, 9]), T.zeros([3, 2, 3]), null, { groups: 2 }),
    /conv1d: weight has 3 output channels, which groups 2 does not divide/,
  );
  assert.throws(
    () => T.conv1d(T.zeros([1, 1, 3]), T.zeros([1, 1, 5])),
    /conv1d: output length would be -1 \(< 1\): kernel 5 with dilation 1 is larger than the padded input \(x \[1,1,3\], padding 0 \+ 0\)/,
  );
  assert.throws(
    () =>
      T.conv1d(x, T.zeros([6, 1, 5]), null, {
        stride: [1, 2] as unknown as number,
      }),
    /conv1d: stride must be an integer >= 1 \(or a one-element array of one\), got \[1,2\]/,
  );
  assert.throws(
    () => T.conv1d(x, T.zeros([6, 1, 5]), null, { padding: "same", stride: 2 }),
    /conv1d: padding "same" needs stride 1, got stride 2/,
  );
  assert.throws(
    () => T.conv1d(x, T.zeros([6, 1, 5]), T.zeros([5])),
    /conv1d: bias must have shape \[6\], got \[5\]/,
  );
  assert.throws(
    () => T.conv1d(x, T.zeros([6, 1, 5]), null, { kernelSize: 3 } as never),
    /conv1d: unknown option "kernelSize"/,
  );
  assert.throws(
    () => T.conv1d(T.zeros([1, 1, 5], { dtype: "int32" }), T.zeros([1, 1, 2])),
    /conv1d: x must be float32 or float64, got int32 \[1,1,5\]/,
  );
});

Deno.test("the 1-D adaptive and Lp pools are the 2-D ones on a height of 1", () => {
  const x = f64([2, 3, 11]);
  const x2 = T.expandDims(x, 2);
  for (const out of [1, 4, 11, 15]) {
    assert.deepEqual(
      T.adaptiveAvgPool1d(x, out).data,
      T.adaptiveAvgPool2d(x2, [1, out]).data,
    );
    assert.deepEqual(
      T.adaptiveMaxPool1d(x, out).data,
      T.adaptiveMaxPool2d(x2, [1, out]).data,
    );
  }
  const o = { normType: 2, kernelSize: 3, stride: 2, ceilMode: true };
  assert.deepEqual(
    T.lpPool1d(x, o).data,
    T.lpPool2d(x2, { ...o, kernelSize: [1, 3], stride: [1, 2] }).data,
  );
  // unbatched [C, L] is the batch of one
  const first = T.slice(x, [0, 0, 0], [1, 3, 11]);
  assert.deepEqual(
    T.adaptiveMaxPool1d(T.squeeze(first, 0), 4).data,
    T.adaptiveMaxPool1d(first, 4).data,
  );
});

Deno.test("errors: the 1-D adaptive and Lp pools name the 1-D op", () => {
  const x = T.zeros([2, 3, 5]);
  assert.throws(
    () => T.adaptiveAvgPool1d(x, 0),
    /^Error: adaptiveAvgPool1d: outputSize must be an integer >= 1 \(or a one-element array of one\), got 0$/,
  );
  assert.throws(
    () => T.adaptiveMaxPool1d(T.zeros([2, 3, 4, 5]), 2),
    /^Error: adaptiveMaxPool1d: x must be \[N, C, L\] or unbatched \[C, L\], got \[2,3,4,5\]$/,
  );
  for (const f of [T.adaptiveAvgPool1d, T.adaptiveMaxPool1d]) {
    assert.throws(
      () => f(T.zeros([2, 3, 0]), 2),
      /^Error: adaptive(Avg|Max)Pool1d: x's length must be >= 1, got x \[2,3,0\]$/,
    );
  }
  assert.throws(
    () => T.adaptiveAvgPool1d(x, 1e12),
    /^Error: adaptiveAvgPool1d: outputSize 1000000000000 is too large for x \[2,3,5\]: the output \[2,3,1000000000000\] would have 6000000000000 elements, more than 2\^31 - 1$/,
  );
  assert.throws(
    () => T.lpPool1d(x, { normType: 0, kernelSize: 2 }),
    /^Error: lpPool1d: normType must be a finite nonzero number, got number 0$/,
  );
  assert.throws(
    () => T.lpPool1d(x, { normType: 2, kernelSize: 6 }),
    /^Error: lpPool1d: output length would be 0 \(< 1\) for x \[2,3,5\] with kernelSize 6/,
  );
  assert.throws(
    () => T.lpPool1d(x, { normType: 2, kernelSize: [2, 2] as never }),
    /^Error: lpPool1d: kernelSize must be an integer >= 1 \(or a one-element array of one\), got \[2,2\]$/,
  );
  assert.throws(
    () => T.nn.lpPool1d({ normType: 2, kernelSize: 2, ceil: true } as never),
    /^Error: nn.lpPool1d: unknown option "ceil"/,
  );
  assert.throws(
    () => T.nn.adaptiveMaxPool1d({} as never),
    /^Error: nn.adaptiveMaxPool1d: options.outputSize is required$/,
  );
  assert.deepEqual(
    T.nn.adaptiveAvgPool1d({ outputSize: 3 }).info.outputShape!([2, 4, 9]),
    [2, 4, 3],
  );
  assert.deepEqual(
    T.nn.lpPool1d({ normType: 2, kernelSize: 3, stride: 2, ceilMode: true })
      .info.outputShape!([2, 4, 10]),
    [2, 4, 5],
  );
});

Deno.test("errors: maxPool1d and avgPool1d arguments name the 1-D op", () => {
  const x = T.zeros([2, 3, 5]);
  assert.throws(
    () => T.maxPool1d(x, {} as never),
    /^Error: maxPool1d: options.kernelSize is required$/,
  );
  assert.throws(
    () => T.maxPool1d(x, { kernelSize: [2, 2] as unknown as number }),
    /maxPool1d: kernelSize must be an integer >= 1 \(or a one-element array of one\), got \[2,2\]/,
  );
  assert.throws(
    () => T.maxPool1d(x, { kernelSize: 2, padding: 2 }),
    /maxPool1d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=2/,
  );
  assert.throws(
    () => T.maxPool1d(x, { kernelSize: 4, dilation: 2 }),
    /maxPool1d: output length would be 0 \(< 1\) for x \[2,3,5\] with kernelSize 4, padding 0, dilation 2/,
  );
  assert.throws(
    () => T.maxPool1d(T.zeros([2, 3, 4, 5]), { kernelSize: 2 }),
    /maxPool1d: x must be \[N, C, L\] or unbatched \[C, L\], got \[2,3,4,5\]/,
  );
  assert.throws(
    () => T.avgPool1d(x, { kernelSize: 2, divisorOverride: 2 } as never),
    /avgPool1d: unknown option "divisorOverride"/,
  );
  assert.throws(
    () => T.avgPool1d(x, { kernelSize: 2, dilation: 2 } as never),
    /avgPool1d: unknown option "dilation"/,
  );
  assert.throws(
    () => T.avgPool1d(x, { kernelSize: 2, countIncludePad: 1 as never }),
    /avgPool1d: countIncludePad must be a boolean, got 1/,
  );
  assert.throws(
    () => T.avgPool1d(x, { kernelSize: 6 }),
    /avgPool1d: output length would be 0 \(< 1\) for x \[2,3,5\] with kernelSize 6/,
  );
});

Deno.test("errors: interpolate arguments", () => {
  const x = T.zeros([1, 2, 5]), img = T.zeros([1, 2, 4, 4]);
  assert.throws(
    () => T.interpolate(x),
    /^Error: interpolate: give exactly one of options.size and options.scaleFactor, got neither$/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, scaleFactor: 2 }),
    /interpolate: give exactly one of options.size and options.scaleFactor, got both/,
  );
  assert.throws(
    () => T.interpolate(img, { size: 3, mode: "linear" }),
    /interpolate: mode "linear" needs x of shape \[N, C, L\], got \[1,2,4,4\]/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, mode: "bilinear" }),
    /interpolate: mode "bilinear" needs x of shape \[N, C, H, W\], got \[1,2,5\]/,
  );
  assert.throws(
    () => T.interpolate(T.zeros([2, 5]), { size: 3 }),
    /interpolate: mode "nearest" needs x of shape \[N, C, L\], \[N, C, H, W\] or \[N, C, D, H, W\], got \[2,5\]/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, mode: "cubic" as never }),
    /interpolate: mode must be one of "nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area", got "cubic"/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, mode: "bicubic" }),
    /interpolate: mode "bicubic" needs x of shape \[N, C, H, W\], got \[1,2,5\]/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, mode: "area", alignCorners: false }),
    /interpolate: alignCorners can only be set with the interpolating modes "linear", "bilinear", "bicubic" and "trilinear", got mode "area"/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, alignCorners: true }),
    /interpolate: alignCorners can only be set with the interpolating modes "linear", "bilinear", "bicubic" and "trilinear", got mode "nearest"/,
  );
  assert.throws(
    () => T.interpolate(img, { size: [3, 4, 5] }),
    /interpolate: size must be a positive integer or an array of 2 of them \(one per spatial axis\), got \[3,4,5\]/,
  );
  assert.throws(
    () => T.interpolate(x, { scaleFactor: -1 }),
    /interpolate: scaleFactor must be a positive number or an array of 1 of them/,
  );
  assert.throws(
    () => T.interpolate(x, { scaleFactor: 0.1 }),
    /interpolate: output size would be \[0\] for x \[1,2,5\] with scaleFactor 0.1; each must be >= 1/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, recomputeScaleFactor: true }),
    /interpolate: recomputeScaleFactor needs options.scaleFactor/,
  );
  assert.throws(
    () => T.interpolate(x, { size: 3, antialias: true }),
    /interpolate: antialias is only supported with modes "bilinear" and "bicubic" \(x \[N, C, H, W\]\), got mode "nearest"/,
  );
  assert.throws(
    () => T.interpolate(T.zeros([1, 1, 2], { dtype: "int32" }), { size: 3 }),
    /interpolate: x must be float32 or float64, got int32/,
  );
});

// ---------------------------------------------------------------------------
// layers

type ReprCase = {
  layer: "conv1d" | "maxPool1d" | "avgPool1d" | "upsample" | "convTranspose1d";
  options: never;
  repr: string;
};

Deno.test("nn.conv1d, maxPool1d, avgPool1d, upsample, convTranspose1d, the adaptive and Lp pools, dropout1d, the alpha dropouts, channelShuffle, the 3-D layers and paddings: PyTorch's reprs", () => {
  const reprs = fixture.reprs as unknown as ReprCase[];
  assert.equal(reprs.length, 42);
  for (const r of reprs) {
    // (the padding layers take positional arguments, as PyTorch's)
    const args = (r.options as { args?: unknown[] }).args ?? [r.options];
    const make = T.nn[r.layer] as (...a: unknown[]) => T.nn.AnyLayer;
    assert.equal(make(...args).info.repr, r.repr);
  }
});

Deno.test("nn.conv1d: PyTorch's init, state_dict paths, apply and outputShape agree", () => {
  const net = T.nn.sequential(
    T.nn.conv1d({
      inChannels: 4,
      outChannels: 6,
      kernelSize: 3,
      groups: 2,
      padding: 1,
    }),
    T.nn.maxPool1d({ kernelSize: 2, ceilMode: true }),
    T.nn.avgPool1d({ kernelSize: 3, stride: 1, padding: 1 }),
    T.nn.upsample({ scaleFactor: 1.5, mode: "linear" }),
  );
  const params = net.init(T.random.key(3));
  assert.deepEqual(T.treePaths(params).map(([p]) => p), ["0.bias", "0.weight"]);
  const w = params[0].weight, b = params[0].bias;
  assert.deepEqual(w.shape, [6, 2, 3]);
  const bound = 1 / Math.sqrt(2 * 3); // fanIn = inChannels / groups · kernelSize
  for (const v of [...w.data, ...b.data]) assert.ok(Math.abs(v) <= bound);
  assert.ok(Math.max(...Array.from(w.data, Math.abs)) > 0.8 * bound);
  const x = f64([2, 4, 9]);
  const y = net.apply(params, T.astype(x, "float32"));
  assert.deepEqual(y.shape, net.info.outputShape([2, 4, 9]));
  assert.deepEqual(y.shape, [2, 6, 7]);
  assert.match(
    T.nn.summary(net, [1, 4, 9]),
    /├─Conv1d \(0\) +\[1, 6, 9\] +42\n├─MaxPool1d \(1\) +\[1, 6, 5\][^\n]*\n├─AvgPool1d \(2\) +\[1, 6, 5\][^\n]*\n├─Upsample \(3\) +\[1, 6, 7\]/,
  );
});

Deno.test("errors: the 1-D layers check their options when built", () => {
  assert.throws(
    () =>
      T.nn.conv1d({
        inChannels: 3,
        outChannels: 4,
        kernelSize: [3, 3] as unknown as number,
      }),
    /nn.conv1d: kernelSize must be an integer >= 1 \(or a one-element array of one\), got \[3,3\]/,
  );
  assert.throws(
    () =>
      T.nn.conv1d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }),
    /nn.conv1d: inChannels 3 and outChannels 4 must both be divisible by groups 2/,
  );
  assert.throws(
    () =>
      T.nn.conv1d({
        inChannels: 3,
        outChannels: 4,
        kernelSize: 3,
        padding: "same",
        stride: 2,
      }),
    /nn.conv1d: padding "same" needs stride 1, got stride 2/,
  );
  assert.throws(
    () => T.nn.maxPool1d({ kernelSize: 2, padding: 3 }),
    /nn.maxPool1d: pad should be at most half of effective kernel size/,
  );
  assert.throws(
    () => T.nn.avgPool1d({ kernelSize: 2, divisorOverride: 1 } as never),
    /nn.avgPool1d: unknown option "divisorOverride"/,
  );
  assert.throws(
    () => T.nn.upsample({}),
    /nn.upsample: give exactly one of options.size and options.scaleFactor, got neither/,
  );
  assert.throws(
    () => T.nn.upsample({ size: [3, 5], mode: "linear" }),
    /nn.upsample: mode "linear" resizes 1 spatial axes, got \[3,5\]/,
  );
  assert.throws(
    () => T.nn.upsample({ scaleFactor: 2 }).info.outputShape([2, 3]),
    /nn.Upsample: mode "nearest" needs x of shape \[N, C, L\], \[N, C, H, W\] or \[N, C, D, H, W\], got \[2,3\]/,
  );
});

Deno.test("errors: interpolate to a size too large to build", () => {
  assert.throws(
    () => T.interpolate(T.zeros([1, 1, 4, 4]), { scaleFactor: 1e9 }),
    /interpolate: output size \[4000000000,4000000000\] for x \[1,1,4,4\] is too large/,
  );
});
