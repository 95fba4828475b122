/**
 * Resampling and patches on awkward geometries against PyTorch 1.13
 * (tests/fixtures/resample_probe.json, written by
 * tests/fixtures/gen_resample_probe.py): interpolate with non-integer and
 * downsampling scale factors, outputs and inputs of size 1, one channel,
 * recomputeScaleFactor; gridSample at points on the borders, on pixel
 * centres and halves, far outside, on one-pixel and one-row inputs;
 * affineGrid of one pixel, row or column; unfold and fold with dilation,
 * padding and stride (overlapping windows, gaps, windows in the padding).
 * Values and gradients; NaN and infinite grid positions; jit and vmap give
 * the eager bits; the errors show the values that came.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import fixture from "./fixtures/resample_probe.json" with { type: "json" };
import { checkFixtureCase, type FixtureCase } from "./_fixture_cases.ts";

const cases = fixture.cases as unknown as (FixtureCase & {
  torchGrads?: FixtureCase["grads"];
})[];

function callOp(c: FixtureCase, v: Record<string, Tensor>): Tensor {
  const o = c.options;
  switch (c.op) {
    case "interpolate":
      return T.interpolate(v.x, o);
    case "gridSample":
      return T.gridSample(v.input, v.grid, o);
    case "affineGrid": {
      const { size, ...rest } = o;
      return T.affineGrid(v.theta, size, rest);
    }
    case "unfold":
      return T.unfold(v.x, o);
    case "fold":
      return T.fold(v.x, o);
  }
  throw new Error(`unknown op ${c.op}`);
}

for (
  const op of ["interpolate", "gridSample", "affineGrid", "unfold", "fold"]
) {
  Deno.test(`PyTorch fixtures (awkward geometries): ${op}`, async (t) => {
    const mine = cases.filter((c) => c.op === op);
    assert.ok(mine.length > 0);
    for (const c of mine) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        // (float32 gridSample: PyTorch's reflection reaches the grid's
        // gradient by another formula, a few float32 ulps away)
        const tol = c.dtype === "float64"
          ? { atol: 1e-12, rtol: 1e-12 }
          : op === "gridSample"
          ? { atol: 1e-5, rtol: 1e-5 }
          : { atol: 2e-6, rtol: 2e-6 };
        checkFixtureCase(c, (v) => callOp(c, v), tol);
      });
    }
  });
}

Deno.test("interpolate: where PyTorch 1.13's backward is not its forward's, the gradient is the forward's", () => {
  // the generator keeps the gradient of PyTorch's forward (its outputs for
  // each basis vector) and, where PyTorch's backward differs, its own in
  // torchGrads: only nearest and bicubic with a scaleFactor that keeps an
  // axis' size (1.1) or doubles it (2.1), as interpolate's JSDoc says
  const differing = cases.filter((c) => c.torchGrads !== undefined);
  assert.ok(differing.length > 0);
  for (const c of differing) {
    assert.match(c.name, /^(nearest|bicubic) .*scaleFactor (1\.1|2\.1)$/);
  }
  // and the forward of one channel in 3-D takes PyTorch's channels-last
  // shortcuts (an output as long as the input copies it) as in 2-D
  const x = T.reshape(T.arange(24, { dtype: "float64" }), [1, 1, 3, 2, 4]);
  assert.deepEqual(
    T.toArray(T.interpolate(x, { scaleFactor: 1.1 })),
    T.toArray(x),
  );
});

Deno.test("gridSample: NaN and infinite positions sample 0 (border clamps an infinity) and pass 0 to the gradients", () => {
  const f64 = { dtype: "float64" as const };
  const x = T.random.normal(T.random.key(3), [1, 2, 3, 4], f64);
  const I = Infinity;
  const points = [[NaN, 0.1], [0.2, NaN], [I, 0.3], [-I, -0.2], [0.3, I], [
    0.3,
    -0.4,
  ]];
  // the same with each infinity at the border it clamps to
  const clamped = points.map((p) => p.map((v) => Math.max(-1, Math.min(1, v))));
  const grid = T.tensor([[points]], f64);
  for (const mode of ["bilinear", "nearest"] as const) {
    for (const paddingMode of ["zeros", "border", "reflection"] as const) {
      for (const alignCorners of [false, true]) {
        const o = { mode, paddingMode, alignCorners };
        const what = JSON.stringify(o);
        const y = T.toArray(T.gridSample(x, grid, o)) as number[][][][];
        const yc = T.toArray(
          T.gridSample(x, T.tensor([[clamped]], f64), o),
        ) as number[][][][];
        for (const ch of [0, 1]) {
          const row = y[0][ch][0].map((v) => v + 0); // (-0 as 0)
          assert.deepEqual(row.slice(0, 2), [0, 0], what); // NaN
          assert.deepEqual(
            row.slice(2, 5),
            paddingMode === "border" ? yc[0][ch][0].slice(2, 5) : [0, 0, 0],
            what,
          );
          assert.equal(row[5], yc[0][ch][0][5], what);
        }
        const loss = (a: Tensor, g: Tensor) =>
          T.sum(
            T.mul(
              T.gridSample(a, g, o),
              T.reshape(T.arange(1, 13, f64), [1, 2, 1, 6]),
            ),
          );
        const [gx, gg] = T.grad(loss, { argnums: [0, 1] })(x, grid) as Tensor[];
        assert.ok(Array.from(gx.data).every(Number.isFinite), what);
        const gGrid = Array.from(gg.data);
        assert.ok(gGrid.every(Number.isFinite), what);
        // the NaN and infinite coordinates pass nothing back
        points.flat().forEach((v, i) => {
          if (!Number.isFinite(v)) assert.ok(gGrid[i] === 0, what);
        });
        // a NaN point's other coordinate too
        assert.ok(gGrid[1] === 0, what);
        assert.ok(gGrid[2] === 0, what);
      }
    }
  }
});

Deno.test("interpolate, gridSample, affineGrid, unfold and fold under jit and vmap: the eager bits", () => {
  const f64 = { dtype: "float64" as const };
  const rn = (shape: number[], seed: number) =>
    T.random.normal(T.random.key(seed), shape, f64);
  const row = (t: Tensor, i: number) =>
    T.squeeze(
      T.slice(t, [i, ...t.shape.slice(1).map(() => 0)], [
        i + 1,
        ...t.shape.slice(1),
      ]),
      0,
    );
  const same = (a: Tensor, b: Tensor, what: string) => {
    assert.deepEqual(a.shape, b.shape, what);
    assert.ok(
      Array.from(a.data).every((v, i) => Object.is(v, b.data[i])),
      what,
    );
  };
  const eagerOf = <A extends Tensor[]>(
    f: (...a: A) => Tensor,
    args: A,
  ) => T.stack([0, 1, 2].map((i) => f(...(args.map((a) => row(a, i)) as A))));
  // batches of 3
  const images = rn([3, 2, 1, 4, 5], 1);
  const interpOptions: T.InterpolateOptions[] = [
    { scaleFactor: [1.1, 2.1] },
    { scaleFactor: 0.3, mode: "nearest-exact", recomputeScaleFactor: true },
    { size: [1, 7], mode: "bilinear", alignCorners: true },
    { scaleFactor: [0.6, 1.7], mode: "bicubic" },
    { size: [2, 4], mode: "area" },
  ];
  for (const o of interpOptions) {
    const f = (x: Tensor) => T.interpolate(x, o);
    const what = JSON.stringify(o);
    same(T.vmap(f)(images), eagerOf(f, [images]), `vmap ${what}`);
    same(T.jit(f)(row(images, 1)), f(row(images, 1)), `jit ${what}`);
    const g = T.grad((x: Tensor) => T.sum(T.square(f(x))));
    same(T.jit(g)(row(images, 1)), g(row(images, 1)), `jit grad ${what}`);
  }
  const inputs = rn([3, 1, 2, 3, 4], 2);
  // positions up to 2.5 outside, and a NaN and an infinite one
  const grids = T.concat([
    T.mul(
      T.sub(T.random.uniform(T.random.key(4), [3, 1, 2, 3, 2], f64), 0.5),
      5,
    ),
    T.broadcastTo(
      T.tensor([[[NaN, 0.5], [Infinity, -1]]], f64),
      [3, 1, 2, 2, 2],
    ),
  ], 3);
  for (const mode of ["bilinear", "nearest"] as const) {
    for (const paddingMode of ["zeros", "border", "reflection"] as const) {
      const o = { mode, paddingMode, alignCorners: paddingMode === "border" };
      const what = JSON.stringify(o);
      const f = (a: Tensor, g: Tensor) => T.gridSample(a, g, o);
      same(
        T.vmap(f)(inputs, grids),
        eagerOf(f, [inputs, grids]),
        `vmap ${what}`,
      );
      same(
        T.jit(f)(row(inputs, 2), row(grids, 2)),
        f(row(inputs, 2), row(grids, 2)),
        `jit ${what}`,
      );
      const g = T.grad((a: Tensor, b: Tensor) => T.sum(T.square(f(a, b))), {
        argnums: [0, 1],
      });
      const vg = T.vmap(g)(inputs, grids) as Tensor[];
      const per = [0, 1, 2].map((i) =>
        g(row(inputs, i), row(grids, i)) as Tensor[]
      );
      same(vg[0], T.stack(per.map((p) => p[0])), `vmap grad input ${what}`);
      same(vg[1], T.stack(per.map((p) => p[1])), `vmap grad grid ${what}`);
    }
  }
  const thetas = rn([3, 2, 2, 3], 5);
  const ag = (t: Tensor) => T.affineGrid(t, [2, 1, 1, 3]);
  same(T.vmap(ag)(thetas), eagerOf(ag, [thetas]), "vmap affineGrid");
  same(T.jit(ag)(row(thetas, 0)), ag(row(thetas, 0)), "jit affineGrid");
  const opts: T.UnfoldOptions = {
    kernelSize: [2, 3],
    dilation: [2, 1],
    padding: [1, 2],
    stride: [2, 3],
  };
  const xs = rn([3, 2, 2, 5, 7], 6);
  const un = (x: Tensor) => T.unfold(x, opts);
  const fo = (c: Tensor) => T.fold(c, { ...opts, outputSize: [5, 7] });
  same(T.vmap(un)(xs), eagerOf(un, [xs]), "vmap unfold");
  same(T.jit(un)(row(xs, 0)), un(row(xs, 0)), "jit unfold");
  const cols = T.vmap(un)(xs);
  same(T.vmap(fo)(cols), eagerOf(fo, [cols]), "vmap fold");
  same(T.jit(fo)(row(cols, 0)), fo(row(cols, 0)), "jit fold");
});

Deno.test("errors: interpolate, affineGrid and channelShuffle show the values that came (NaN as NaN)", () => {
  const x = T.zeros([1, 2, 5]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.interpolate(x, { scaleFactor: NaN }),
      /^Error: interpolate: scaleFactor must be a positive number or an array of 1 of them \(one per spatial axis\), got NaN$/,
    ],
    [
      () =>
        T.interpolate(T.zeros([1, 1, 2, 3]), { scaleFactor: [2, Infinity] }),
      /^Error: interpolate: scaleFactor must be a positive number or an array of 2 of them \(one per spatial axis\), got \[2,Infinity\]$/,
    ],
    [
      () => T.interpolate(x, { size: NaN }),
      /^Error: interpolate: size must be a positive integer or an array of 1 of them \(one per spatial axis\), got NaN$/,
    ],
    [
      () => T.interpolate(x, { size: 3, scaleFactor: 2 }),
      /^Error: interpolate: give exactly one of options.size and options.scaleFactor, got both$/,
    ],
    [
      () => T.interpolate(x, { scaleFactor: 0.1 }),
      /^Error: interpolate: output size would be \[0\] for x \[1,2,5\] with scaleFactor 0.1; each must be >= 1$/,
    ],
    [
      () => T.affineGrid(T.zeros([2, 2, 3]), [2, 1, 0, 4]),
      /^Error: affineGrid: size must be \[N, C, H, W\] or \[N, C, D, H, W\] of positive integers, got \[2,1,0,4\]$/,
    ],
    [
      () => T.channelShuffle(T.zeros([1, 4, 2]), NaN),
      /^Error: channelShuffle: groups must be an integer >= 1, got NaN$/,
    ],
    [
      () => T.fold(T.zeros([1, 8, 5]), { outputSize: [3, 3], kernelSize: 2 }),
      /^Error: fold: x's last axis must have one column per window, 4 \(2x2 for outputSize \[3,3\] with these options\), got 5 \(x \[1,8,5\]\)$/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("interpolate of an empty batch builds nothing for its output size, as PyTorch's", () => {
  // torch.nn.functional.interpolate(torch.zeros(0, 2, 5), size=2**28, mode=m).shape
  // is (0, 2, 268435456) for each mode, at once
  for (const mode of ["nearest", "nearest-exact", "linear", "area"] as const) {
    const x = T.zeros([0, 2, 5], { dtype: "float64" });
    const f = (v: Tensor) => T.interpolate(v, { size: 2 ** 28, mode });
    assert.deepEqual(f(x).shape, [0, 2, 2 ** 28]);
    const g = T.grad((v: Tensor) => T.sum(f(v)))(x);
    assert.deepEqual([g.shape, g.dtype], [[0, 2, 5], "float64"]);
  }
});
