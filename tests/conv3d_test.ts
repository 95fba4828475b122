/**
 * conv3d, maxPool3d, avgPool3d (ops/conv3d.ts) and the 3-D layers:
 * identities that need no reference (a depth of one is the 2-D op, a
 * depth-only kernel is a sum of scaled slices), the layers' init, shapes
 * and errors. Values and gradients against PyTorch are in
 * cnn_fixtures_test.ts (`gen_cnn.py`), the reprs in conv1d_test.ts, the
 * export in tests/_onnx_models.ts.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const { nn, random } = T;
const f64 = (shape: number[], seed = 1) =>
  random.normal(random.key(seed), shape, { dtype: "float64" });

Deno.test("conv3d and the 3-D pools on a depth of one are the 2-D ops", () => {
  const x = f64([2, 4, 1, 7, 6]), w = f64([6, 2, 1, 3, 2], 2), b = f64([6], 3);
  const o = {
    stride: [1, 2, 1] as const,
    padding: [0, 1, 1] as const,
    groups: 2,
  };
  assertAllClose(
    T.squeeze(T.conv3d(x, w, b, o), 2),
    T.conv2d(T.squeeze(x, 2), T.squeeze(w, 2), b, {
      stride: [2, 1],
      padding: [1, 1],
      groups: 2,
    }),
    { atol: 1e-13, rtol: 1e-13 },
  );
  const x2 = T.squeeze(x, 2);
  assert.deepEqual(
    T.squeeze(T.maxPool3d(x, { kernelSize: [1, 3, 2], padding: [0, 1, 1] }), 2)
      .data,
    T.maxPool2d(x2, { kernelSize: [3, 2], padding: 1 }).data,
  );
  assertAllClose(
    T.squeeze(T.avgPool3d(x, { kernelSize: [1, 2, 2], ceilMode: true }), 2),
    T.avgPool2d(x2, { kernelSize: 2, ceilMode: true }),
    { atol: 1e-15, rtol: 1e-15 },
  );
});

Deno.test("conv3d with a depth-only kernel sums scaled slices; maxPool3d over depth is the slices' maximum", () => {
  const x = f64([1, 1, 4, 3, 3]);
  const w = T.tensor([2, -1], { shape: [1, 1, 2, 1, 1], dtype: "float64" });
  const y = T.conv3d(x, w);
  const slice = (t: T.Tensor, d: number) =>
    T.slice(t, [0, 0, d, 0, 0], [1, 1, d + 1, 3, 3]);
  for (let d = 0; d < 3; d++) {
    assertAllClose(
      slice(y, d),
      T.sub(T.mul(slice(x, d), 2), slice(x, d + 1)),
      { atol: 1e-15, rtol: 1e-15 },
    );
  }
  const m = T.maxPool3d(x, { kernelSize: [4, 1, 1] });
  assert.deepEqual(m.data, T.max(x, { axis: 2, keepDims: true }).data);
});

Deno.test("nn.conv3d: PyTorch's init bound and shapes; the 3-D layers' output shapes and errors", () => {
  const conv = nn.conv3d({
    inChannels: 4,
    outChannels: 6,
    kernelSize: [1, 3, 3],
    groups: 2,
  });
  const p = conv.init(random.key(0));
  const bound = 1 / Math.sqrt(2 * 9);
  assert.ok([...p.weight.data].every((v) => Math.abs(v) <= bound));
  assert.ok([...p.bias.data].every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...p.weight.data) > bound * 0.9);
  const net = nn.sequential(
    conv,
    nn.batchNorm3d({ numFeatures: 6 }),
    nn.relu,
    nn.maxPool3d({ kernelSize: [1, 2, 2] }),
    nn.avgPool3d({ kernelSize: 2, ceilMode: true }),
    nn.dropout3d(),
  );
  assert.deepEqual(net.info.outputShape!([2, 4, 3, 10, 10]), [2, 6, 2, 2, 2]);
  const { y } = net.applyWithState(
    net.init(random.key(1)),
    net.initState(),
    T.ones([2, 4, 3, 10, 10]),
    { training: true, key: random.key(2) },
  );
  assert.deepEqual(y.shape, [2, 6, 2, 2, 2]);
  const x = T.zeros([2, 3, 4, 5, 5]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.conv3d(T.zeros([2, 3, 5, 5]), T.zeros([4, 3, 2, 2, 2])),
      /^Error: conv3d: weight has 3 input channels but x has 2 /,
    ],
    [
      () => T.conv3d(T.zeros([3, 5, 5]), T.zeros([4, 3, 2, 2, 2])),
      /^Error: conv3d: x must be \[N, C, D, H, W\] or unbatched \[C, D, H, W\], got \[3,5,5\]$/,
    ],
    [
      () => T.conv3d(x, T.zeros([4, 3, 2, 2])),
      /^Error: conv3d: weight must be \[outChannels, inChannels \/ groups, kD, kH, kW\], got \[4,3,2,2\]$/,
    ],
    [
      () => T.conv3d(x, T.zeros([4, 3, 5, 2, 2])),
      /^Error: conv3d: output size would be 0x4x4 \(< 1\)/,
    ],
    [
      () =>
        T.conv3d(x, T.zeros([4, 3, 2, 2, 2]), null, {
          stride: [1, 2] as never,
        }),
      /^Error: conv3d: stride must be an integer >= 1 or a triple \[d, h, w\] of them, got \[1,2\]$/,
    ],
    [
      () =>
        T.conv3d(x, T.zeros([4, 3, 2, 2, 2]), null, {
          padding: "same",
          stride: 2,
        }),
      /^Error: conv3d: padding "same" needs stride 1, got stride \[2,2,2\]$/,
    ],
    [
      () => T.conv3d(x, T.zeros([4, 3, 2, 2, 2]), T.zeros([3])),
      /^Error: conv3d: bias must have shape \[4\], got \[3\]$/,
    ],
    [
      () => T.maxPool3d(x, {} as never),
      /^Error: maxPool3d: options.kernelSize is required$/,
    ],
    [
      () => T.maxPool3d(x, { kernelSize: 2, padding: 2 }),
      /^Error: maxPool3d: pad should be at most half of effective kernel size/,
    ],
    [
      () => T.maxPool3d(x, { kernelSize: [5, 1, 1] }),
      /^Error: maxPool3d: output size would be 0x5x5 \(< 1\)/,
    ],
    [
      () => T.avgPool3d(x, { kernelSize: 2, divisorOverride: 0 }),
      /^Error: avgPool3d: divisorOverride must be a non-zero integer, got 0$/,
    ],
    [
      () => T.avgPool3d(x, { kernelSize: 2, dilation: 2 } as never),
      /^Error: avgPool3d: unknown option "dilation"/,
    ],
    [
      () => T.avgPool3d(x, { kernelSize: 2, countIncludePad: 1 as never }),
      /^Error: avgPool3d: countIncludePad must be a boolean, got number 1$/,
    ],
    [
      () =>
        nn.conv3d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }),
      /^Error: nn.conv3d: inChannels 3 and outChannels 4 must both be divisible by groups 2$/,
    ],
    [
      () => nn.maxPool3d({ kernelSize: [2, 2] as never }),
      /^Error: nn.maxPool3d: kernelSize must be an integer >= 1 or a triple/,
    ],
    [
      () => nn.batchNorm3d({ numFeatures: 3 }).info.outputShape!([2, 3, 4, 4]),
      /^Error: nn.BatchNorm3d: expected a 5-D input \[N, C, D, H, W\], got \[2,3,4,4\]$/,
    ],
    [
      () => nn.instanceNorm3d({ numFeatures: 3 }).info.outputShape!([3, 4, 4]),
      /^Error: nn.InstanceNorm3d: expected a 5-D input \[N, C, D, H, W\] or an unbatched 4-D one \[C, D, H, W\], got \[3,4,4\]$/,
    ],
    [
      () => T.dropout3d(T.ones([2, 3, 4]), { key: random.key(0) }),
      /^Error: dropout3d: x must be \[N, C, D, H, W\] or unbatched \[C, D, H, W\], got \[2,3,4\]$/,
    ],
    [
      () => T.adaptiveAvgPool3d(x, [1, 2] as never),
      /^Error: adaptiveAvgPool3d: outputSize must be an integer >= 1 or a triple \[d, h, w\] of them, got \[1,2\]$/,
    ],
    [
      () => T.adaptiveMaxPool3d(T.zeros([1, 2, 0, 3, 3]), 1),
      /^Error: adaptiveMaxPool3d: x's depth, height and width must be >= 1, got x \[1,2,0,3,3\]$/,
    ],
    [
      () => T.adaptiveAvgPool3d(x, 2 ** 30),
      /^Error: adaptiveAvgPool3d: outputSize \[1073741824,1073741824,1073741824\] is too large for x \[2,3,4,5,5\]: the output .* more than 2\^31 - 1$/,
    ],
    [
      () => T.convTranspose3d(x, T.zeros([4, 2, 2, 2, 2])),
      /^Error: convTranspose3d: weight has 4 input channels but x has 3 /,
    ],
    [
      () =>
        T.convTranspose3d(x, T.zeros([3, 2, 2, 2, 2]), null, {
          outputPadding: [0, 2, 0],
          stride: 2,
        }),
      /^Error: convTranspose3d: outputPadding must be smaller than either stride or dilation, got outputPadding \[0,2,0\], stride \[2,2,2\], dilation \[1,1,1\]$/,
    ],
    [
      () =>
        T.convTranspose3d(x, T.zeros([3, 2, 1, 1, 1]), null, { padding: 3 }),
      /^Error: convTranspose3d: output size would be -2x-1x-1 \(< 1\)/,
    ],
    [
      () =>
        nn.convTranspose3d({
          inChannels: 3,
          outChannels: 4,
          kernelSize: 2,
          groups: 2,
        }),
      /^Error: nn.convTranspose3d: inChannels 3 and outChannels 4 must both be divisible by groups 2$/,
    ],
    [
      () => nn.adaptiveAvgPool3d({ outputSize: [1, 0, 1] as never }),
      /^Error: nn.adaptiveAvgPool3d: outputSize must be a positive integer or a triple/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
  // an input too large for the op is an Error before any work (a padding of
  // 1e8 took 18 s to fail in conv2d; a 2^30 depth window hung building its taps)
  const one = T.ones([1, 1, 2, 2, 2]), w1 = T.ones([1, 1, 1, 1, 1]);
  assert.throws(
    () => T.conv3d(one, w1, null, { padding: 1e8 }),
    /^Error: conv3d: the output \[1,1,200000002,200000002,200000002\] would have .* elements, more than 2\^31 - 1$/,
  );
  assert.throws(
    () => T.maxPool3d(one, { kernelSize: 2 ** 30, ceilMode: true }),
    /^Error: maxPool3d: the depth taps \[1,1073741824\] would have 1073741824 elements, more than 2\^26$/,
  );
  assert.throws(
    () => T.convTranspose3d(one, w1, null, { stride: 1e9 }),
    /^Error: convTranspose3d: the output \[1,1,1000000001,1000000001,1000000001\] would have/,
  );
  // the adaptive pools are the fixed ones where the sizes divide
  const v = f64([2, 3, 4, 6, 6]);
  assert.deepEqual(
    T.adaptiveMaxPool3d(v, [2, 3, 2]).data,
    T.maxPool3d(v, { kernelSize: [2, 2, 3] }).data,
  );
  assertAllClose(
    T.adaptiveAvgPool3d(v, [2, 3, 2]),
    T.avgPool3d(v, { kernelSize: [2, 2, 3] }),
    { atol: 1e-15, rtol: 1e-14 },
  );
});

Deno.test("convTranspose3d is conv3d's transpose: <conv3d(x), y> = <x, convTranspose3d(y)>", () => {
  const x = f64([2, 4, 5, 6, 5]), w = f64([6, 2, 2, 3, 2], 2);
  const o = {
    stride: [2, 1, 2] as const,
    padding: [1, 1, 0] as const,
    dilation: [1, 2, 1] as const,
    groups: 2,
  };
  const y = T.conv3d(x, w, null, o);
  const g = f64([...y.shape], 3);
  const back = T.convTranspose3d(g, w, null, {
    ...o,
    outputPadding: [1, 0, 1],
  });
  assert.deepEqual(back.shape, x.shape);
  const a = T.item(T.sum(T.mul(y, g))), b = T.item(T.sum(T.mul(x, back)));
  assert.ok(Math.abs(a - b) < 1e-10 * Math.abs(a), `${a} vs ${b}`);
});

Deno.test("nn.constantPad3d, reflectionPad3d, replicationPad3d: [left, right, top, bottom, front, back] on the last three axes, as pad; errors", () => {
  const x = T.random.normal(T.random.key(3), [2, 1, 3, 4, 5], {
    dtype: "float64",
  });
  const sides = [1, 2, 0, 1, 2, 0];
  const widths: [number, number][] = [[0, 0], [0, 0], [2, 0], [0, 1], [1, 2]];
  assert.deepEqual(
    T.nn.constantPad3d(sides, 3.5).apply({}, x).data,
    T.pad(x, widths, { value: 3.5 }).data,
  );
  assert.deepEqual(
    T.nn.replicationPad3d(sides).apply({}, x).data,
    T.pad(x, widths, { mode: "replicate" }).data,
  );
  const r = T.nn.reflectionPad3d(1);
  assert.deepEqual(r.info.outputShape([2, 1, 3, 4, 5]), [2, 1, 5, 6, 7]);
  // unbatched [C, D, H, W]
  assert.deepEqual(r.apply({}, T.zeros([1, 3, 4, 5])).shape, [1, 5, 6, 7]);
  assert.throws(
    () => T.nn.reflectionPad3d([1, 2]),
    /^Error: nn.reflectionPad3d: padding must be an integer >= 0 or 6 of them \(\[left, right, top, bottom, front, back\]\), got an array of length 2$/,
  );
  assert.throws(
    () => r.apply({}, T.zeros([2, 3])),
    /^Error: nn.ReflectionPad3d: expected a 4-D or 5-D input, got \[2,3\]$/,
  );
});
