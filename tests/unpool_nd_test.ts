/**
 * maxPool1dWithIndices, maxPool3dWithIndices, maxUnpool1d and maxUnpool3d:
 * values, indices and gradients against PyTorch 1.13
 * (tests/fixtures/unpool_nd.json, written by
 * tests/fixtures/gen_unpool_nd.py) in float64 to 1e-10 and float32 to 1e-4,
 * indices exactly; identities against the 2-D ops and the plain poolings
 * (bit for bit), loops over the windows, jit and vmap against eager, and
 * the errors. The gradient table rows are in tests/_cnn_table.ts.
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
import fixture from "./fixtures/unpool_nd.json" with { type: "json" };

type Case = FixtureCase & { indices?: FixtureTensor; empty?: FixtureTensor };
const cases = fixture.cases as unknown as Case[];
const f64 = { dtype: "float64" as const };
const tolOf = (c: Case) =>
  c.dtype === "float64"
    ? { atol: 1e-10, rtol: 1e-10 }
    : { atol: 1e-4, rtol: 1e-4 };

/** The pooling's values (the output the fixture's gradients are of) or the unpooling. */
function call(c: Case): (inputs: Record<string, Tensor>) => Tensor {
  const o = c.options;
  const ops: Record<string, (i: Record<string, Tensor>) => Tensor> = {
    maxPool1dWithIndices: ({ x }) => T.maxPool1dWithIndices(x, o).values,
    maxPool3dWithIndices: ({ x }) => T.maxPool3dWithIndices(x, o).values,
    maxUnpool1d: ({ x, indices }) => T.maxUnpool1d(x, indices, o),
    maxUnpool3d: ({ x, indices }) => T.maxUnpool3d(x, indices, o),
  };
  return ops[c.op];
}

/** PyTorch's gradient of an unpooling's x, made the library's (only the last write of an index gets it). */
const unpoolGrad = (c: Case, g: Tensor): Tensor =>
  keptWritesGrad(
    fixtureTensor(c.inputs.indices),
    c.op === "maxUnpool1d" ? 1 : 3,
    g,
  );

Deno.test("PyTorch: maxPool1dWithIndices and maxPool3dWithIndices values, indices and gradients (float64 and float32)", () => {
  const pools = cases.filter((c) => c.op.endsWith("WithIndices"));
  assert.equal(pools.length, 46);
  let empty = 0;
  for (const c of pools) {
    const msg = `${c.op} ${c.name} ${c.dtype}`;
    const tol = tolOf(c);
    const x = fixtureTensor(c.inputs.x);
    const op = c.op === "maxPool1dWithIndices"
      ? T.maxPool1dWithIndices
      : T.maxPool3dWithIndices;
    const { values, indices } = op(x, c.options);
    assert.equal(values.dtype, c.dtype, msg);
    assert.equal(indices.dtype, "int32", msg);
    assertAllClose(values, fixtureTensor(c.output!), { ...tol, msg });
    // PyTorch's index, exactly; -1 where the window holds only padding
    // (PyTorch's index there lies outside the window)
    let want = fixtureTensor(c.indices!);
    if (c.empty) {
      want = T.where(fixtureTensor(c.empty), -1, want);
      empty++;
    }
    assert.deepEqual(indices.shape, want.shape, msg);
    assert.deepEqual(Array.from(indices.data), Array.from(want.data), msg);
    const { grads, names } = caseVjp(c, call(c));
    names.forEach((n, i) =>
      assertAllClose(grads[i], fixtureTensor(c.grads[n]), {
        ...tol,
        msg: `${msg} grad ${n}`,
      })
    );
  }
  assert.equal(empty, 6); // (three cases, two dtypes)
});

Deno.test("PyTorch: maxUnpool1d and maxUnpool3d values and gradients (float64 and float32)", () => {
  const unpools = cases.filter((c) => c.op.startsWith("maxUnpool"));
  assert.equal(unpools.length, 24);
  for (const c of unpools) {
    const msg = `${c.op} ${c.name} ${c.dtype}`;
    const tol = tolOf(c);
    const { y, grads, names } = caseVjp(c, call(c));
    assert.equal(y.dtype, c.dtype, msg);
    assertAllClose(y, fixtureTensor(c.output!), { ...tol, msg: `${msg} y` });
    assert.deepEqual(names, ["x"], msg);
    assertAllClose(grads[0], unpoolGrad(c, fixtureTensor(c.grads.x)), {
      ...tol,
      msg: `${msg} grad x`,
    });
  }
  // the cases with an index written twice do differ from PyTorch's gradient
  const dup = unpools.filter((c) => c.name.includes("written twice"));
  assert.equal(dup.length, 4);
  for (const c of dup) {
    const g = fixtureTensor(c.grads.x);
    assert.notDeepEqual(unpoolGrad(c, g).data, g.data, c.name);
  }
});

/** The flat index within x's last `rank` axes of each output, by loops over the windows (the first maximum, the last NaN; -1 for no tap inside). */
function loopIndices(
  x: Tensor,
  outShape: readonly number[],
  rank: number,
  o: {
    kernelSize: number[];
    stride: number[];
    padding: number[];
    dilation: number[];
  },
): number[] {
  const sp = x.shape.slice(-rank), osp = outShape.slice(-rank);
  const plane = sp.reduce((a, b) => a * b, 1);
  const oplane = osp.reduce((a, b) => a * b, 1);
  const planes = x.data.length / plane, out: number[] = [];
  for (let pl = 0; pl < planes; pl++) {
    for (let q = 0; q < oplane; q++) {
      // the output position, then every tap of its window in row-major order
      const pos: number[] = [];
      for (let a = rank - 1, r = q; a >= 0; a--) {
        pos[a] = r % osp[a];
        r = Math.floor(r / osp[a]);
      }
      let best = -1, m = -Infinity;
      const taps = o.kernelSize.reduce((a, b) => a * b, 1);
      for (let t = 0; t < taps; t++) {
        let flat = 0, inside = true;
        for (let a = 0, r = t; a < rank; a++) {
          const div = o.kernelSize.slice(a + 1).reduce((u, v) => u * v, 1);
          const k = Math.floor(r / div);
          r %= div;
          const at = pos[a] * o.stride[a] - o.padding[a] + k * o.dilation[a];
          if (at < 0 || at >= sp[a]) inside = false;
          flat = flat * sp[a] + at;
        }
        if (!inside) continue;
        const v = x.data[pl * plane + flat];
        if (best < 0 || v > m || v !== v) [best, m] = [flat, v];
      }
      out.push(best);
    }
  }
  return out;
}

Deno.test("maxPool3dWithIndices: each index is its window's first maximum in (d, h, w) order, by loops, over random geometries; values are maxPool3d's bits", () => {
  let seed = 0;
  for (const shape of [[2, 2, 5, 6, 4], [1, 3, 3, 4, 7], [3, 5, 2, 6]]) {
    for (
      const o of [
        { kernelSize: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0] },
        { kernelSize: [3, 2, 3], stride: [1, 2, 2], padding: [1, 1, 1] },
        { kernelSize: [2, 3, 2], stride: [2, 1, 3], padding: [1, 0, 1] },
      ]
    ) {
      for (const dilation of [[1, 1, 1], [2, 1, 2]]) {
        for (const ceilMode of [false, true]) {
          // small integers: ties everywhere
          const x = T.floor(
            T.mul(T.random.uniform(T.random.key(seed++), shape, f64), 3),
          );
          const opts = {
            kernelSize: o.kernelSize as [number, number, number],
            stride: o.stride as [number, number, number],
            padding: o.padding as [number, number, number],
            dilation: dilation as [number, number, number],
            ceilMode,
          };
          let r;
          try {
            r = T.maxPool3dWithIndices(x, opts);
          } catch (e) {
            assert.match((e as Error).message, /output size would be/);
            continue;
          }
          const msg = `${shape} ${JSON.stringify(opts)}`;
          sameBits(r.values, T.maxPool3d(x, opts), msg);
          assert.deepEqual(
            Array.from(r.indices.data),
            loopIndices(x, r.indices.shape, 3, { ...o, dilation }),
            msg,
          );
        }
      }
    }
  }
});

Deno.test("maxPool1dWithIndices is maxPool2dWithIndices on a height of 1, values are maxPool1d's bits; maxPool3dWithIndices on a depth of 1 is the 2-D op", () => {
  const x = T.floor(
    T.mul(T.random.uniform(T.random.key(3), [2, 3, 11], f64), 4),
  );
  for (
    const o of [
      { kernelSize: 2 },
      { kernelSize: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true },
      { kernelSize: 4, stride: 1, padding: 2 },
    ]
  ) {
    const r = T.maxPool1dWithIndices(x, o);
    sameBits(r.values, T.maxPool1d(x, o), JSON.stringify(o));
    const two = T.maxPool2dWithIndices(T.expandDims(x, 2), {
      kernelSize: [1, o.kernelSize],
      stride: [1, o.stride ?? o.kernelSize],
      padding: [0, o.padding ?? 0],
      dilation: [1, o.dilation ?? 1],
      ceilMode: o.ceilMode ?? false,
    });
    sameBits(r.indices, T.squeeze(two.indices, 2), JSON.stringify(o));
    assert.deepEqual(
      Array.from(r.indices.data),
      loopIndices(x, r.indices.shape, 1, {
        kernelSize: [o.kernelSize],
        stride: [o.stride ?? o.kernelSize],
        padding: [o.padding ?? 0],
        dilation: [o.dilation ?? 1],
      }),
    );
  }
  const v = T.random.normal(T.random.key(5), [2, 3, 1, 5, 6], f64);
  const o3 = { kernelSize: [1, 2, 3] as [number, number, number] };
  const r3 = T.maxPool3dWithIndices(v, o3);
  const r2 = T.maxPool2dWithIndices(T.squeeze(v, 2), { kernelSize: [2, 3] });
  sameBits(T.squeeze(r3.indices, 2), r2.indices, "depth 1");
  sameBits(T.squeeze(r3.values, 2), r2.values, "depth 1");
});

Deno.test("maxUnpool1d and maxUnpool3d put each maximum back (zeros elsewhere), keep the later of two writes and send the gradient only there; unbatched inputs", () => {
  // 1-D: the floor dropped the last entry; outputSize restores it
  const x1 = T.random.normal(T.random.key(1), [2, 3, 9], f64);
  const p1 = T.maxPool1dWithIndices(x1, { kernelSize: 2 });
  const u1 = T.maxUnpool1d(p1.values, p1.indices, {
    kernelSize: 2,
    outputSize: [9],
  });
  sameBits(u1, T.where(T.equal(u1, 0), 0, x1), "1-D put back");
  assert.equal(T.item(T.sum(T.notEqual(u1, 0))), 2 * 3 * 4);
  // 3-D, unbatched, the floor dropping a slice and a column
  const x3 = T.random.normal(T.random.key(2), [2, 5, 4, 5], f64);
  const p3 = T.maxPool3dWithIndices(x3, { kernelSize: 2 });
  const u3 = T.maxUnpool3d(p3.values, p3.indices, {
    kernelSize: 2,
    outputSize: [5, 4, 5],
  });
  assert.deepEqual(u3.shape, [2, 5, 4, 5]);
  sameBits(u3, T.where(T.equal(u3, 0), 0, x3), "3-D put back");
  assert.equal(T.item(T.sum(T.notEqual(u3, 0))), 2 * 2 * 2 * 2);
  // two writes to one index: the later stays, and only it gets the gradient
  const v = T.tensor([[[1, 2, 3]]], f64);
  const same = T.tensor([[[2, 0, 2]]], { dtype: "int32" });
  const u = (t: Tensor) => T.maxUnpool1d(t, same, { kernelSize: 2, stride: 1 });
  assert.deepEqual(T.toArray(u(v)), [[[2, 0, 3, 0]]]);
  assert.deepEqual(T.toArray(T.grad((t: Tensor) => T.sum(u(t)))(v)), [[[
    0,
    1,
    1,
  ]]]);
  const vv = T.tensor([[[[[1]], [[2]]]]], f64);
  const same3 = T.tensor([[[[[1]], [[1]]]]], { dtype: "int32" });
  const w = (t: Tensor) =>
    T.maxUnpool3d(t, same3, { kernelSize: [1, 1, 2], stride: 1 });
  assert.deepEqual(T.toArray(w(vv)), [[[[[0, 2]], [[0, 0]]]]]);
  assert.deepEqual(
    T.toArray(T.grad((t: Tensor) => T.sum(w(t)))(vv)),
    [[[[[0]], [[1]]]]],
  );
  // (the index is within the whole D·H·W volume: 1 is (0, 0, 1))
  T.checkGrads(
    (t: Tensor) =>
      T.maxUnpool3d(t, p3.indices, { kernelSize: 2, outputSize: [5, 4, 5] }),
    [p3.values],
    { order: 2 },
  );
  T.checkGrads(
    (t: Tensor) => T.maxUnpool1d(t, p1.indices, { kernelSize: 2 }),
    [p1.values],
    { order: 2 },
  );
});

Deno.test("maxPool3dWithIndices and the unpoolings: jit gives eager's bits, vmap each example's (the indices per example)", () => {
  const x = T.random.normal(T.random.key(8), [3, 2, 4, 5, 4], f64);
  const o = { kernelSize: 2, stride: [2, 1, 2] as [number, number, number] };
  const round = (x: Tensor) => {
    const { values, indices } = T.maxPool3dWithIndices(x, o);
    return T.maxUnpool3d(T.mul(values, 2), indices, {
      ...o,
      outputSize: x.shape.slice(-3),
    });
  };
  const eager = round(x);
  sameBits(T.jit(round)(x), eager, "jit 3-D");
  const each = T.vmap(round)(x);
  for (let i = 0; i < 3; i++) {
    const xi = T.squeeze(T.slice(x, [i], [i + 1]), 0);
    sameBits(T.squeeze(T.slice(each, [i], [i + 1]), 0), round(xi), `vmap ${i}`);
  }
  const ix = (x: Tensor) => T.maxPool3dWithIndices(x, o).indices;
  sameBits(T.jit(ix)(x), ix(x), "jit indices");
  sameBits(T.vmap(ix)(x), ix(x), "vmap indices");
  const y = T.random.normal(T.random.key(9), [3, 2, 7], f64);
  const round1 = (y: Tensor) => {
    const { values, indices } = T.maxPool1dWithIndices(y, { kernelSize: 3 });
    return T.maxUnpool1d(values, indices, { kernelSize: 3, outputSize: [7] });
  };
  sameBits(T.jit(round1)(y), round1(y), "jit 1-D");
  sameBits(T.vmap(round1)(y), round1(y), "vmap 1-D");
  // the gradient through both: 1 at each maximum kept
  const g = T.grad((y: Tensor) => T.sum(round1(y)))(y);
  sameBits(g, T.astype(T.notEqual(round1(y), 0), "float64"), "grad 1-D");
  // a bad index is found in a jit replay too, and under vmap
  const bad = T.tensor([[[0, 5]]], { dtype: "int32" });
  const un = (v: Tensor, i: Tensor) => T.maxUnpool1d(v, i, { kernelSize: 2 });
  const jitted = T.jit(un);
  jitted(T.ones([1, 1, 2], f64), T.tensor([[[0, 3]]], { dtype: "int32" }));
  assert.throws(
    () => jitted(T.ones([1, 1, 2], f64), bad),
    /^Error: maxUnpool1d: indices must be in \[0, 4\) \(an output plane of 4\), got 5 at flat index 1$/,
  );
});

Deno.test("errors: maxPool1dWithIndices, maxPool3dWithIndices, maxUnpool1d and maxUnpool3d name the op, the argument, what was expected and what came", () => {
  const x1 = T.ones([2, 3, 8]), x3 = T.ones([1, 2, 4, 4, 4]);
  assertErrors("maxPool1dWithIndices", [
    [
      () => T.maxPool1dWithIndices(T.ones([2, 3, 4, 5]), { kernelSize: 2 }),
      /^maxPool1dWithIndices: x must be \[N, C, L\] or unbatched \[C, L\], got \[2,3,4,5\]$/,
    ],
    [
      () =>
        T.maxPool1dWithIndices(T.ones([1, 2, 3], { dtype: "int32" }), {
          kernelSize: 2,
        }),
      /^maxPool1dWithIndices: x must be float32 or float64, got int32/,
    ],
    [
      () => T.maxPool1dWithIndices(x1, {} as T.MaxPool1dOptions),
      /^maxPool1dWithIndices: options.kernelSize is required$/,
    ],
    [
      () => T.maxPool1dWithIndices(x1, { kernelSize: [2, 2] as never }),
      /^maxPool1dWithIndices: kernelSize must be an integer >= 1 \(or a one-element array of one\), got \[2,2\]/,
    ],
    [
      () => T.maxPool1dWithIndices(x1, { kernelSize: 2, padding: 2 }),
      /^maxPool1dWithIndices: pad should be at most half of effective kernel size, but got pad=2, kernel_size=2/,
    ],
    [
      () => T.maxPool1dWithIndices(x1, { kernelSize: 9 }),
      /^maxPool1dWithIndices: output length would be 0 \(< 1\)/,
    ],
    [
      () =>
        T.maxPool1dWithIndices(x1, {
          kernelSize: 2,
          returnIndices: true,
        } as T.MaxPool1dOptions),
      /^maxPool1dWithIndices: unknown option "returnIndices"/,
    ],
  ]);
  assertErrors("maxPool3dWithIndices", [
    [
      () => T.maxPool3dWithIndices(T.ones([2, 3, 4]), { kernelSize: 2 }),
      /^maxPool3dWithIndices: x must be \[N, C, D, H, W\] or unbatched \[C, D, H, W\], got \[2,3,4\]$/,
    ],
    [
      () =>
        T.maxPool3dWithIndices(T.zeros([1, 1, 2, 2, 2], { dtype: "int32" }), {
          kernelSize: 2,
        }),
      /^maxPool3dWithIndices: x must be float32 or float64, got int32/,
    ],
    [
      () => T.maxPool3dWithIndices(x3, { kernelSize: [2, 2] as never }),
      /^maxPool3dWithIndices: kernelSize must be an integer >= 1 or a triple \[d, h, w\] of them, got \[2,2\]/,
    ],
    [
      () => T.maxPool3dWithIndices(x3, { kernelSize: 2, padding: [0, 2, 0] }),
      /^maxPool3dWithIndices: pad should be at most half of effective kernel size/,
    ],
    [
      () => T.maxPool3dWithIndices(x3, { kernelSize: [5, 2, 2] }),
      /^maxPool3dWithIndices: output size would be 0x2x2 \(< 1\)/,
    ],
    [
      () =>
        T.maxPool3dWithIndices(x3, {
          kernelSize: 2,
          ceilMode: 1 as unknown as boolean,
        }),
      /^maxPool3dWithIndices: ceilMode must be a boolean, got/,
    ],
  ]);
  const p1 = T.maxPool1dWithIndices(x1, { kernelSize: 2 });
  assertErrors("maxUnpool1d", [
    [
      () =>
        T.maxUnpool1d(p1.values, T.astype(p1.indices, "float32"), {
          kernelSize: 2,
        }),
      /^maxUnpool1d: indices must be int32 \(from maxPool1dWithIndices\), got float32 \[2,3,4\]$/,
    ],
    [
      () =>
        T.maxUnpool1d(p1.values, T.zeros([2, 3, 3], { dtype: "int32" }), {
          kernelSize: 2,
        }),
      /^maxUnpool1d: indices \[2,3,3\] must have x's shape \[2,3,4\]$/,
    ],
    [
      () =>
        T.maxUnpool1d(
          T.ones([2, 3, 4, 1]),
          T.zeros([2, 3, 4, 1], { dtype: "int32" }),
          { kernelSize: 2 },
        ),
      /^maxUnpool1d: x must be \[N, C, L\] or unbatched \[C, L\], got \[2,3,4,1\]$/,
    ],
    [
      () => T.maxUnpool1d(p1.values, T.add(p1.indices, 2), { kernelSize: 2 }),
      /^maxUnpool1d: indices must be in \[0, 8\) \(an output plane of 8\), got 8 at flat index \d+$/,
    ],
    [
      () =>
        T.maxUnpool1d(p1.values, p1.indices, {
          kernelSize: 2,
          outputSize: [10],
        }),
      /^maxUnpool1d: outputSize must be \[L\] within a stride of the default \[8\] \(stride \[2\]\), got \[10\]$/,
    ],
    [
      () =>
        T.maxUnpool1d(p1.values, p1.indices, {
          kernelSize: 2,
          outputSize: [3, 9],
        }),
      /^maxUnpool1d: outputSize must be \[L\] within a stride of the default \[8\]/,
    ],
    [
      () =>
        T.maxUnpool1d(p1.values, p1.indices, {
          kernelSize: 2,
          dilation: 1,
        } as T.MaxUnpool1dOptions),
      /^maxUnpool1d: unknown option "dilation" \(known options: kernelSize, stride, padding, outputSize\)$/,
    ],
    [
      () =>
        T.maxUnpool1d(p1.values, p1.indices, {
          kernelSize: [2, 2],
        } as unknown as T.MaxUnpool1dOptions),
      /^maxUnpool1d: kernelSize must be an integer >= 1 \(or a one-element array of one\), got \[2,2\]/,
    ],
    [
      () =>
        T.maxUnpool1d(p1.values, p1.indices, {
          kernelSize: 2,
          padding: 2,
        }),
      /^maxUnpool1d: pad should be at most half of effective kernel size/,
    ],
    [
      () =>
        T.maxUnpool1d(
          p1.values,
          p1.indices,
          null as unknown as T.MaxUnpool1dOptions,
        ),
      /^maxUnpool1d: options must be an object with kernelSize$/,
    ],
    [
      () => T.maxUnpool1d(p1.values, p1.indices, {} as T.MaxUnpool1dOptions),
      /^maxUnpool1d: options.kernelSize is required$/,
    ],
    [
      // an output too large is refused before allocating it
      () =>
        T.maxUnpool1d(p1.values, p1.indices, {
          kernelSize: 1,
          stride: 2 ** 30,
        }),
      /^maxUnpool1d: the output \[2,3,3221225473\] would have 19327352838 elements, more than 2\^31 - 1$/,
    ],
  ]);
  // a window of only padding has index -1, which unpooling refuses
  const e3 = T.maxPool3dWithIndices(T.ones([1, 1, 1, 2, 2]), {
    kernelSize: 2,
    stride: 1,
    padding: 1,
    dilation: 2,
  });
  assert.deepEqual(Array.from(e3.indices.data), [-1, -1, -1, -1]);
  assert.deepEqual(Array.from(e3.values.data), Array(4).fill(-Infinity));
  const p3 = T.maxPool3dWithIndices(x3, { kernelSize: 2 });
  assertErrors("maxUnpool3d", [
    [
      () =>
        T.maxUnpool3d(e3.values, e3.indices, {
          kernelSize: 2,
          stride: 1,
          padding: 1,
        }),
      /^maxUnpool3d: indices must be in \[0, 0\) \(an output plane of 0x1x1\), got -1 at flat index 0$/,
    ],
    [
      () =>
        T.maxUnpool3d(p3.values, T.astype(p3.indices, "float64"), {
          kernelSize: 2,
        }),
      /^maxUnpool3d: indices must be int32 \(from maxPool3dWithIndices\), got float64 \[1,2,2,2,2\]$/,
    ],
    [
      () =>
        T.maxUnpool3d(
          T.ones([2, 2, 2]),
          T.zeros([2, 2, 2], { dtype: "int32" }),
          {
            kernelSize: 2,
          },
        ),
      /^maxUnpool3d: x must be \[N, C, D, H, W\] or unbatched \[C, D, H, W\], got \[2,2,2\]$/,
    ],
    [
      () =>
        T.maxUnpool3d(p3.values, p3.indices, {
          kernelSize: 2,
          outputSize: [4, 4, 6],
        }),
      /^maxUnpool3d: outputSize must be \[D, H, W\] within a stride of the default \[4,4,4\] \(stride \[2,2,2\]\), got \[4,4,6\]$/,
    ],
    [
      () =>
        T.maxUnpool3d(p3.values, p3.indices, {
          kernelSize: 2,
          outputSize: [4, 4],
        }),
      /^maxUnpool3d: outputSize must be \[D, H, W\]/,
    ],
    [
      () =>
        T.maxUnpool3d(p3.values, p3.indices, {
          kernelSize: 2,
          ceilMode: true,
        } as T.MaxUnpool3dOptions),
      /^maxUnpool3d: unknown option "ceilMode"/,
    ],
    [
      () =>
        T.maxUnpool3d(p3.values, p3.indices, {
          kernelSize: 2,
          stride: [2, 0, 2],
        }),
      /^maxUnpool3d: stride must be an integer >= 1 or a triple \[d, h, w\] of them, got \[2,0,2\]/,
    ],
    [
      () => T.maxUnpool3d(p3.values, T.add(p3.indices, 64), { kernelSize: 2 }),
      /^maxUnpool3d: indices must be in \[0, 64\) \(an output plane of 4x4x4\), got \d+ at flat index 0$/,
    ],
  ]);
  // the whole shape as outputSize (PyTorch's rank + 2 entries, or x's rank)
  assert.deepEqual(
    T.maxUnpool3d(p3.values, p3.indices, {
      kernelSize: 2,
      outputSize: [1, 2, 5, 4, 4],
    }).shape,
    [1, 2, 5, 4, 4],
  );
  assert.deepEqual(
    T.maxUnpool1d(T.reshape(p1.values, [6, 4]), T.reshape(p1.indices, [6, 4]), {
      kernelSize: 2,
      outputSize: [3, 9],
    }).shape,
    [6, 9],
  );
});
