/**
 * What probing the poolings other than the 2-D ones of conv2d_probe_test.ts
 * (1-D and 3-D max/average/power pooling, adaptive pooling to sizes that do
 * not divide the input, maxUnpool2d) and unfold/fold found, each pinned
 * with an independent reference; and what PyTorch 1.13 matched
 * (tests/fixtures/pool_patches_probe.json, written by
 * tests/fixtures/gen_pool_patches_probe.py): values, gradients and second
 * derivatives in float64 to 1e-10 and float32 to 1e-4 (ties, -inf and NaN
 * windows, ceilMode windows starting in the padding, batch 0, 1x1 inputs),
 * and vmap and jit bit for bit against eager.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";
import {
  caseVjp,
  type FixtureCase,
  type FixtureTensor,
  fixtureTensor,
  keptWritesGrad,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/pool_patches_probe.json" with { type: "json" };

type Case = FixtureCase & {
  direction?: FixtureTensor;
  grads2?: Record<string, FixtureTensor>;
};
const cases = fixture.cases as unknown as Case[];

/** The library's op of a fixture case, on its inputs by name. */
function call(c: Case): (inputs: Record<string, Tensor>) => Tensor {
  // deno-lint-ignore no-explicit-any
  const o = c.options as any;
  const { outputSize, ...rest } = o;
  const ops: Record<string, (i: Record<string, Tensor>) => Tensor> = {
    maxPool1d: ({ x }) => T.maxPool1d(x, o),
    avgPool1d: ({ x }) => T.avgPool1d(x, o),
    lpPool1d: ({ x }) => T.lpPool1d(x, o),
    lpPool2d: ({ x }) => T.lpPool2d(x, o),
    maxPool3d: ({ x }) => T.maxPool3d(x, o),
    avgPool3d: ({ x }) => T.avgPool3d(x, o),
    adaptiveAvgPool1d: ({ x }) => T.adaptiveAvgPool1d(x, outputSize),
    adaptiveMaxPool1d: ({ x }) => T.adaptiveMaxPool1d(x, outputSize),
    adaptiveAvgPool2d: ({ x }) => T.adaptiveAvgPool2d(x, outputSize),
    adaptiveMaxPool2d: ({ x }) => T.adaptiveMaxPool2d(x, outputSize),
    adaptiveAvgPool3d: ({ x }) => T.adaptiveAvgPool3d(x, outputSize),
    adaptiveMaxPool3d: ({ x }) => T.adaptiveMaxPool3d(x, outputSize),
    unfold: ({ x }) => T.unfold(x, o),
    fold: ({ x }) => T.fold(x, o),
    maxUnpool2d: ({ x, indices }) =>
      T.maxUnpool2d(x, indices, { ...rest, outputSize }),
  };
  return ops[c.op];
}

/** The rank of a batched input of the case's op (one less is unbatched). */
const batchedRank = (c: Case) =>
  c.op === "fold"
    ? 3
    : c.op === "unfold" || c.op === "maxUnpool2d"
    ? 4
    : 2 + Number(c.op.at(-2));

const tolOf = (c: Case) =>
  c.dtype === "float64" ? { atol: 1e-10, rtol: 1e-10 } : {
    atol: 1e-4,
    rtol: 1e-4,
  };

Deno.test("pool/patches probe: values and gradients match PyTorch 1.13", () => {
  assert.ok(cases.length >= 100);
  for (const c of cases) {
    const tol = tolOf(c);
    const { y, grads, names } = caseVjp(c, call(c));
    const msg = `${c.op} ${c.name} ${c.dtype}`;
    assert.equal(y.dtype, c.dtype, msg);
    assertAllClose(y, fixtureTensor(c.output!), { ...tol, msg: `${msg} y` });
    names.forEach((n, i) =>
      assertAllClose(grads[i], unpoolGrad(c, fixtureTensor(c.grads[n])), {
        ...tol,
        msg: `${msg} grad ${n}`,
      })
    );
  }
});

/**
 * PyTorch's gradient of maxUnpool2d's x, but 0 where a later entry of the
 * plane names the same index: the library keeps only the last write (as
 * PyTorch's forward) and so differentiates its own forward, where PyTorch's
 * backward gathers for every duplicate (documented on maxUnpool2d). Other
 * ops' gradients as they are.
 */
function unpoolGrad(c: Case, g: Tensor): Tensor {
  if (c.op !== "maxUnpool2d") return g;
  return keptWritesGrad(fixtureTensor(c.inputs.indices), 2, g);
}

Deno.test("pool/patches probe: second derivatives match PyTorch's double backward", () => {
  let checked = 0;
  for (const c of cases) {
    if (!c.grads2) continue;
    const f = call(c);
    const x = fixtureTensor(c.inputs.x), v = fixtureTensor(c.direction!);
    // d sum(vjp(f, x)(cot) · v) / d (x, cot)
    const inner = (x: Tensor, cot: Tensor) => {
      const [, back] = T.vjp((x: Tensor) => f({ x }), x);
      return T.sum(T.mul(back(cot)[0], v));
    };
    const [gx, gc] = T.grad(inner, { argnums: [0, 1] })(
      x,
      fixtureTensor(c.cotangent!),
    );
    const msg = `${c.op} ${c.name} ${c.dtype}`;
    const tol = tolOf(c);
    assertAllClose(gx, fixtureTensor(c.grads2.x), { ...tol, msg: `${msg} xx` });
    assertAllClose(gc, fixtureTensor(c.grads2.cotangent), {
      ...tol,
      msg: `${msg} x cot`,
    });
    checked++;
  }
  assert.ok(checked >= 80, String(checked));
});

Deno.test("pool/patches probe: vmap and jit give eager's bits, values and gradients", () => {
  for (const c of cases) {
    const x = fixtureTensor(c.inputs.x);
    if (
      c.op === "maxUnpool2d" || x.shape[0] === 0 ||
      x.shape.length < batchedRank(c)
    ) {
      continue;
    }
    const f = call(c);
    const g = (x: Tensor) => f({ x });
    const msg = `${c.op} ${c.name} ${c.dtype}`;
    const eager = g(x);
    sameBits(T.jit(g)(x), eager, `${msg} jit`);
    // vmap over the batch axis: each example as an unbatched input
    const perExample = T.vmap(g)(x);
    for (let i = 0; i < x.shape[0]; i++) {
      sameBits(
        T.squeeze(T.slice(perExample, [i], [i + 1]), 0),
        g(T.squeeze(T.slice(x, [i], [i + 1]), 0)),
        `${msg} vmap example ${i}`,
      );
    }
    const loss = (x: Tensor) => T.sum(T.mul(g(x), g(x)));
    const dx = T.grad(loss)(x);
    sameBits(T.jit(T.grad(loss))(x), dx, `${msg} jit grad`);
  }
});

Deno.test("maxUnpool2d refuses options it does not have, as PyTorch's max_unpool2d has none of them", () => {
  // found: dilation and ceilMode were overridden with 1 and false, and any
  // other key ignored, so a pooling's own options passed on unpooled
  // silently with the wrong geometry
  const x = T.tensor([[[[1, 2, 5, 6], [3, 4, 7, 8]]]]);
  const { values, indices } = T.maxPool2dWithIndices(x, { kernelSize: 2 });
  assertErrors("maxUnpool2d", [
    [
      () =>
        T.maxUnpool2d(values, indices, {
          kernelSize: 2,
          dilation: 2,
        } as T.MaxUnpool2dOptions),
      /unknown option "dilation" \(known options: kernelSize, stride, padding, outputSize\)/,
    ],
    [
      () =>
        T.maxUnpool2d(values, indices, {
          kernelSize: 2,
          ceilMode: true,
        } as T.MaxUnpool2dOptions),
      /unknown option "ceilMode"/,
    ],
    [
      () =>
        T.maxUnpool2d(values, indices, {
          kernelSize: 2,
          strides: 2,
        } as T.MaxUnpool2dOptions),
      /unknown option "strides"/,
    ],
  ]);
  // the options it has still work: torch.nn.functional.max_unpool2d(
  //   values, indices, 2, 2, 0, output_size=(3, 5)) puts 4 and 8 at flat 6, 8
  assert.deepEqual(
    T.toArray(
      T.maxUnpool2d(
        values,
        T.tensor([[[[6, 8]]]], { dtype: "int32" }),
        { kernelSize: 2, stride: 2, padding: 0, outputSize: [3, 5] },
      ),
    ),
    [[[[0, 0, 0, 0, 0], [0, 4, 0, 8, 0], [0, 0, 0, 0, 0]]]],
  );
});

Deno.test("maxUnpool2d takes an outputSize of 2 entries or the whole shape, and its errors show a bad one and an output too large before allocating", () => {
  const v = T.ones([1, 1, 2, 2]);
  const i = T.tensor([[[[0, 1], [2, 3]]]], { dtype: "int32" });
  // [H, W], PyTorch's 4 entries, or x's whole shape (unbatched too)
  for (const outputSize of [[4, 4], [1, 1, 4, 4]]) {
    assert.deepEqual(
      T.maxUnpool2d(v, i, { kernelSize: 2, outputSize }).shape,
      [1, 1, 4, 4],
    );
  }
  const u = T.maxUnpool2d(T.ones([1, 2, 2]), T.squeeze(i, 0), {
    kernelSize: 2,
    outputSize: [1, 4, 4],
  });
  assert.deepEqual(u.shape, [1, 4, 4]);
  assertErrors("maxUnpool2d", [
    // found: "got an array of length 2"; torch: invalid output_size "(9, 9)"
    // (dim 0 must be between 2 and 6)
    [
      () => T.maxUnpool2d(v, i, { kernelSize: 2, outputSize: [9, 9] }),
      /outputSize must be \[H, W\] within a stride of the default \[4,4\] \(stride \[2,2\]\), got \[9,9\]/,
    ],
    // found: any length taken, its last two read; torch: "output_size should
    // be a sequence containing 2 or 4 elements, but it has a length of '3'"
    [
      () => T.maxUnpool2d(v, i, { kernelSize: 2, outputSize: [1, 4, 4] }),
      /outputSize must be \[H, W\] within a stride of the default \[4,4\] \(stride \[2,2\]\), got \[1,4,4\]/,
    ],
    [
      () => T.maxUnpool2d(v, i, { kernelSize: 2, outputSize: [9, 9, 1, 4, 4] }),
      /got \[9,9,1,4,4\]/,
    ],
    // found: "cannot allocate the result of scatterElementsAdd" after trying
    // to; the default size is (2 - 1)·100000 + 1 = 100001 per side
    [
      () => T.maxUnpool2d(v, i, { kernelSize: 1, stride: 100000 }),
      /the output \[1,1,100001,100001\] would have 10000200001 elements, more than 2\^31 - 1/,
    ],
  ]);
});

Deno.test("pooling refuses a window past int32 (PyTorch: integer out of range) instead of pooling a wrapped one", () => {
  // found: kernelSize 2^32 reached the WebAssembly kernel's int32 record as
  // 0, and every window came out -infinity; the window of
  // torch.nn.functional.max_pool2d(x, (1, 2**32), 1, (0, 2**31)) holds x
  const x = T.add(T.reshape(T.arange(5000), [1, 1, 5000, 1]), 1);
  assertErrors("maxPool2d", [
    [
      () =>
        T.maxPool2d(x, {
          kernelSize: [1, 2 ** 32],
          padding: [0, 2 ** 31],
          stride: 1,
        }),
      /kernelSize must be at most 2\^31 - 1, got \[1,4294967296\] \(kernelSize \[1,4294967296\], padding \[0,2147483648\], dilation \[1,1\]\)/,
    ],
    [
      () =>
        T.maxPool2d(x, {
          kernelSize: [1, 2 ** 16],
          padding: [0, 2 ** 15],
          dilation: [1, 2 ** 16],
          stride: 1,
        }),
      /the window's span dilation·\(kernelSize - 1\) \+ 1 must be at most 2\^31 - 1, got \[1,4294901761\]/,
    ],
  ]);
  assertErrors("avgPool2d", [[
    () => T.avgPool2d(x, { kernelSize: [1, 2 ** 32], padding: [0, 2 ** 31] }),
    /kernelSize must be at most 2\^31 - 1/,
  ]]);
  assertErrors("maxPool1d", [[
    () =>
      T.maxPool1d(T.ones([1, 1, 5]), { kernelSize: 2 ** 33, padding: 2 ** 32 }),
    /kernelSize must be at most 2\^31 - 1, got 8589934592 \(kernelSize 8589934592, padding 4294967296, dilation 1\)/,
  ]]);
});
