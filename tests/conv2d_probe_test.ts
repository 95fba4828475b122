/**
 * What probing conv2d, convTranspose2d and the 2-D poolings on awkward
 * geometries found, each pinned with an independent reference: a stride
 * past int32 on an axis of one output (a naive loop), a float64 bias on
 * float32 x and weight (the promotion of `add`); and the geometries that
 * PyTorch 1.13 matched (tests/fixtures/conv2d_probe.json, written by
 * tests/fixtures/gen_conv2d_probe.py): values and gradients in float64 to
 * 1e-10 and in float32 to 1e-4, float32 on 1 and 2 threads and under `jit`
 * bit for bit, and max pooling's indices.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, sameBits } from "./_helpers.ts";
import {
  caseVjp,
  type FixtureCase,
  type FixtureTensor,
  fixtureTensor,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/conv2d_probe.json" with { type: "json" };

/** n numbers in steps of 1/8 from a fixed sequence (exact in float32). */
const steps = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => (((i * 37 + seed * 11) % 29) - 14) / 8);

/**
 * conv2d by its definition, in float64 loops over plain arrays: x [n, c, h,
 * w], weight [o, c / groups, kh, kw], the same padding per side.
 */
function naiveConv2d(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  stride: [number, number],
  padding: [number, number],
): { y: number[]; shape: number[] } {
  const [n, c, h, wd] = x.shape, [o, , kh, kw] = w.shape;
  const oh = Math.floor((h + 2 * padding[0] - kh) / stride[0]) + 1;
  const ow = Math.floor((wd + 2 * padding[1] - kw) / stride[1]) + 1;
  const y: number[] = [];
  for (let e = 0; e < n; e++) {
    for (let q = 0; q < o; q++) {
      for (let r = 0; r < oh; r++) {
        for (let s = 0; s < ow; s++) {
          let acc = b ? b.data[q] : 0;
          for (let ch = 0; ch < c; ch++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const yy = r * stride[0] - padding[0] + i;
                const xx = s * stride[1] - padding[1] + j;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                acc += x.data[((e * c + ch) * h + yy) * wd + xx] *
                  w.data[((q * c + ch) * kh + i) * kw + j];
              }
            }
          }
          y.push(acc);
        }
      }
    }
  }
  return { y, shape: [n, o, oh, ow] };
}

Deno.test("conv2d and convTranspose2d with a stride past 2^31 on an axis of one output compute that output (the kernels' int32 record wrapped it: wrong values, or a WebAssembly trap at 2^32)", () => {
  // large enough for the WebAssembly kernels (4608 multiply-adds), in both dtypes
  for (const dtype of ["float32", "float64"] as const) {
    const x = T.tensor(steps(2 * 16 * 9, 1), { shape: [2, 16, 3, 3], dtype });
    const w = T.tensor(steps(16 * 16 * 9, 2), { shape: [16, 16, 3, 3], dtype });
    const b = T.tensor(steps(16, 3), { shape: [16], dtype });
    const tol = dtype === "float32"
      ? { atol: 1e-4, rtol: 1e-5 }
      : { atol: 1e-12, rtol: 1e-12 };
    for (const s of [2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53]) {
      const msg = `${dtype} stride ${s}`;
      // one window per axis: the stride never steps (output 1x1)
      const want = naiveConv2d(x, w, b, [s, s], [1, 1]);
      const y = T.conv2d(x, w, b, { stride: s, padding: 1 });
      assert.deepEqual(y.shape, want.shape, msg);
      assertAllClose(y, want.y, { ...tol, msg });
      // d sum(y) / dw: each weight's tap summed over the examples
      const gw = T.grad((v: Tensor) =>
        T.sum(T.conv2d(x, v, b, { stride: [s, 1], padding: 1 }))
      )(w);
      const rows = naiveConv2d(x, w, null, [s, 1], [1, 1]).shape[3];
      const wantW: number[] = [];
      for (let q = 0; q < 16; q++) {
        for (let ch = 0; ch < 16; ch++) {
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              let acc = 0;
              for (let e = 0; e < 2; e++) {
                for (let col = 0; col < rows; col++) {
                  const yy = i - 1, xx = col - 1 + j;
                  if (yy < 0 || xx < 0 || xx >= 3) continue;
                  acc += x.data[((e * 16 + ch) * 3 + yy) * 3 + xx];
                }
              }
              wantW.push(acc);
            }
          }
        }
      }
      assertAllClose(gw, wantW, { ...tol, msg: `${msg} dw` });
      // convTranspose2d of a one-row x: the stride along it never steps
      // either; the transpose of conv2d (one window per row, x 1 row)
      const xt = T.tensor(steps(2 * 32 * 4, 4), {
        shape: [2, 32, 1, 4],
        dtype,
      });
      const wt = T.tensor(steps(32 * 8 * 3, 5), {
        shape: [32, 8, 1, 3],
        dtype,
      });
      const yt = T.convTranspose2d(xt, wt, null, { stride: [s, 2] });
      const ref = T.convTranspose2d(xt, wt, null, { stride: [1, 2] });
      assert.deepEqual(yt.shape, [2, 8, 1, 9], msg);
      // ref by its definition: y[e, q, 0, 2·col + j] += x[e, ch, 0, col]·w[ch, q, 0, j]
      const wantT = new Array(2 * 8 * 9).fill(0);
      for (let e = 0; e < 2; e++) {
        for (let ch = 0; ch < 32; ch++) {
          for (let q = 0; q < 8; q++) {
            for (let col = 0; col < 4; col++) {
              for (let j = 0; j < 3; j++) {
                wantT[(e * 8 + q) * 9 + 2 * col + j] +=
                  xt.data[(e * 32 + ch) * 4 + col] *
                  wt.data[(ch * 8 + q) * 3 + j];
              }
            }
          }
        }
      }
      assertAllClose(yt, wantT, { ...tol, msg: `${msg} convTranspose2d` });
      sameBits(yt, ref, `${msg} convTranspose2d against stride 1`);
    }
  }
});

Deno.test("conv2d, convTranspose2d and conv1d with a float64 bias on float32 x and weight give float64, as add, linear, conv3d and their vmap do (they gave float32)", () => {
  const x = T.tensor(steps(2 * 3 * 5 * 4, 1), { shape: [2, 3, 5, 4] });
  const w = T.tensor(steps(4 * 3 * 3 * 2, 2), { shape: [4, 3, 3, 2] });
  const b = T.tensor([0.1, -0.2, 0.3, 1 / 3], { dtype: "float64" });
  const o = { padding: 1, stride: [2, 1] as [number, number] };
  const y = T.conv2d(x, w, b, o);
  assert.equal(y.dtype, "float64");
  // the float32 convolution plus the float64 bias, as add promotes
  const want = T.add(T.conv2d(x, w, null, o), T.reshape(b, [4, 1, 1]));
  sameBits(y, want, "conv2d");
  sameBits(T.jit((a: Tensor) => T.conv2d(a, w, b, o))(x), want, "jit");
  // vmap over the weights (per-example filters) gave float64 already
  const yv = T.vmap((v: Tensor) => T.conv2d(x, v, b, o))(T.stack([w, w]));
  sameBits(yv, T.stack([want, want]), "vmap");
  // the bias's gradient in its own dtype, x's and w's in theirs
  const g = T.grad(
    (a: Tensor, v: Tensor, c: Tensor) => T.sum(T.conv2d(a, v, c, o)),
    { argnums: [0, 1, 2] },
  )(x, w, b) as Tensor[];
  assert.deepEqual(g.map((t) => t.dtype), ["float32", "float32", "float64"]);
  // each output channel's N·oh·ow = 2·3·5 outputs
  assertAllClose(g[2], [30, 30, 30, 30], { atol: 0 });
  // convTranspose2d: weight [C_in 4, C_out 3, 3, 2], bias [3]
  const xt = T.tensor(steps(2 * 4 * 3 * 3, 3), { shape: [2, 4, 3, 3] });
  const bt = T.tensor([0.5, -1 / 3, 0.25], { dtype: "float64" });
  const yt = T.convTranspose2d(xt, w, bt, o);
  assert.equal(yt.dtype, "float64");
  const wantT = T.add(
    T.convTranspose2d(xt, w, null, o),
    T.reshape(bt, [3, 1, 1]),
  );
  sameBits(yt, wantT, "convTranspose2d");
  // conv1d runs as conv2d
  const x1 = T.reshape(x, [2, 3, 20]), w1 = T.reshape(w, [4, 3, 6]);
  sameBits(
    T.conv1d(x1, w1, b),
    T.add(T.conv1d(x1, w1), T.reshape(b, [4, 1])),
    "conv1d",
  );
  // a float32 bias on float64 x stays in the kernel: float64 too
  const y64 = T.conv2d(T.astype(x, "float64"), w, T.astype(b, "float32"), o);
  assert.equal(y64.dtype, "float64");
});

const cases =
  (fixture as { cases: (FixtureCase & { indices?: FixtureTensor })[] })
    .cases;

/** The op of a case on its inputs. */
function call(c: FixtureCase, v: Record<string, Tensor>): Tensor {
  const o = c.options;
  switch (c.op) {
    case "conv2d":
      return T.conv2d(v.x, v.weight, v.bias ?? null, o);
    case "convTranspose2d":
      return T.convTranspose2d(v.x, v.weight, v.bias ?? null, o);
    case "maxPool2d":
      return T.maxPool2d(v.x, o);
    case "avgPool2d":
      return T.avgPool2d(v.x, o);
    case "adaptiveAvgPool2d":
      return T.adaptiveAvgPool2d(v.x, o.outputSize);
    case "adaptiveMaxPool2d":
      return T.adaptiveMaxPool2d(v.x, o.outputSize);
    case "lpPool2d":
      return T.lpPool2d(v.x, o);
  }
  throw new Error(`unknown op ${c.op}`);
}

Deno.test("PyTorch: 2-D convolutions and poolings on awkward geometries (values, gradients, indices; float32 on 1 and 2 threads and under jit, bit for bit)", async (t) => {
  assert.ok(cases.length >= 80, `${cases.length} cases`);
  const threads = T.getNumThreads();
  try {
    for (const c of cases) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        const tol = c.dtype === "float64"
          ? { atol: 1e-10, rtol: 1e-10 }
          : { atol: 1e-4, rtol: 1e-4 };
        const runs = [1, 2].map((n) => {
          T.setNumThreads(n);
          return caseVjp(c, (v) => call(c, v));
        });
        const { inputs, y, grads, names } = runs[0];
        assert.equal(y.dtype, c.dtype);
        assertAllClose(y, fixtureTensor(c.output!), {
          ...tol,
          msg: `${c.name} output`,
        });
        names.forEach((n, i) =>
          assertAllClose(grads[i], fixtureTensor(c.grads[n]), {
            ...tol,
            msg: `${c.name} grad ${n}`,
          })
        );
        // the same bits on 2 threads and under jit
        sameBits(runs[1].y, y, "2 threads");
        runs[1].grads.forEach((g, i) =>
          sameBits(g, grads[i], `2 threads d${names[i]}`)
        );
        const f = (...xs: Tensor[]) =>
          call(c, Object.fromEntries(names.map((n, i) => [n, xs[i]])));
        const args = names.map((n) => inputs[n]);
        sameBits(T.jit(f)(...args), y, "jit");
        const cot = fixtureTensor(c.cotangent!);
        const loss = (...xs: Tensor[]) => T.sum(T.mul(f(...xs), cot));
        const argnums = names.map((_, i) => i);
        const gj = T.jit(T.grad(loss, { argnums }))(...args) as Tensor[];
        const ge = T.grad(loss, { argnums })(...args) as Tensor[];
        gj.forEach((g, i) => sameBits(g, ge[i], `jit d${names[i]}`));
        if (c.indices) {
          // torch's return_indices: each window's first maximum, its last NaN
          const { values, indices } = T.maxPool2dWithIndices(
            inputs.x,
            c.options,
          );
          sameBits(values, y, "maxPool2dWithIndices values");
          const want = fixtureTensor(c.indices);
          assert.deepEqual(indices.shape, want.shape);
          assert.deepEqual(Array.from(indices.data), Array.from(want.data));
        }
      });
    }
  } finally {
    T.setNumThreads(threads);
  }
});

Deno.test("pools without a dilation option do not name one in their output-size errors", () => {
  assert.throws(
    () => T.avgPool2d(T.ones([1, 1, 2, 2]), { kernelSize: 3 }),
    /^Error: avgPool2d: output size would be 0x0 \(< 1\) for x \[1,1,2,2\] with kernelSize \[3,3\], padding \[0,0\]$/,
  );
  assert.throws(
    () => T.maxPool2d(T.ones([1, 1, 3, 3]), { kernelSize: 2, dilation: 3 }),
    /, dilation \[3,3\]$/,
  );
});
