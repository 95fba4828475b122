/**
 * Probe of gridSample (bicubic, volumes), affineGrid, interpolate's
 * antialias option and the 1-D / 3-D max pooling with indices and
 * unpooling: the fixes it led to, against PyTorch 1.13
 * (fixtures/new_features_probe.json, written by
 * fixtures/gen_new_features_probe.py).
 *
 * - gridSample's reflection padding folded a volume's position far outside
 *   it with `d - floor(d / span)·span` (as PyTorch's vectorised kernel for
 *   images), which loses every digit when d is large, where PyTorch's
 *   scalar kernel for volumes takes the exact fmod: volumes use fmod now.
 * - interpolate with antialias gathered each tap of a window separately,
 *   so its gradient scattered into the whole input once per tap: a
 *   downscale by a factor k cost k times the input (4000 -> 1 over 400
 *   rows took 17 s). Windows longer than 64 are gathered at once.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { caseVjp, type FixtureCase, fixtureTensor } from "./_fixture_cases.ts";
import fixture from "./fixtures/new_features_probe.json" with {
  type: "json",
};

/** The largest |v| of a tensor, at least 1 (the scale of its rounding). */
const scaleOf = (t: Tensor) =>
  Math.max(1, ...Array.from(t.data, (v) => Math.abs(Number(v))));

function check(
  c: FixtureCase,
  call: (inputs: Record<string, Tensor>) => Tensor,
  eps: number,
) {
  const { y, grads, names } = caseVjp(c, call);
  const want = fixtureTensor(c.output!);
  assertAllClose(y, want, {
    atol: eps * scaleOf(want),
    rtol: 0,
    msg: `${c.name} (${c.dtype}) output`,
  });
  names.forEach((n, i) => {
    const g = fixtureTensor(c.grads[n]);
    assertAllClose(grads[i], g, {
      atol: eps * scaleOf(g),
      rtol: 0,
      msg: `${c.name} (${c.dtype}) grad ${n}`,
    });
  });
}

const reflection = fixture.reflection as unknown as FixtureCase[];
const antialias = fixture.antialias as unknown as FixtureCase[];

Deno.test("PyTorch: gridSample with reflection padding folds positions far outside (1e3 to 1e30) as PyTorch: volumes with its scalar kernel's exact fmod, images with its vectorised kernel's d - floor(d / span)·span", () => {
  assert.equal(reflection.length, 15);
  for (const c of reflection) {
    check(
      c,
      ({ input, grid }) => T.gridSample(input, grid, c.options),
      c.dtype === "float64" ? 1e-12 : 1e-5,
    );
  }
});

Deno.test("PyTorch: interpolate antialias with windows longer than 64 inputs (large downscales), float64 and float32", () => {
  assert.equal(antialias.length, 10);
  for (const c of antialias) {
    check(
      c,
      ({ x }) => T.interpolate(x, c.options),
      c.dtype === "float64" ? 1e-12 : 2e-6,
    );
  }
});

Deno.test("interpolate antialias: the gradient of a large downscale is one scatter, not one per window tap (its program stays short; 1000 -> 1 was ~1000 gathers and scatters)", () => {
  const x = T.zeros([1, 1, 2, 1000], { dtype: "float64" });
  for (const mode of ["bilinear", "bicubic"] as const) {
    // (a nonlinear loss: the gradient of a linear one is a constant)
    const f = (x: Tensor) =>
      T.sum(T.sin(T.interpolate(x, { size: [2, 1], mode, antialias: true })));
    const n = T.makeJaxpr(T.grad(f))(x).eqns.length;
    assert.ok(n < 100, `${mode}: ${n} equations`);
  }
  // and the gradient is right: each input's weight (a triangle over the
  // whole row, normalised), d/dx of the one output
  const w = T.grad((x: Tensor) =>
    T.sum(T.interpolate(x, { size: [2, 1], mode: "bilinear", antialias: true }))
  )(x);
  const want = Array.from(
    { length: 1000 },
    (_, j) => 1 - Math.abs((j + 0.5 - 500) / 1000),
  );
  const total = want.reduce((a, b) => a + b);
  assertAllClose(
    w,
    T.tensor([...want, ...want].map((v) => v / total), {
      shape: [1, 1, 2, 1000],
      dtype: "float64",
    }),
    { atol: 1e-15, rtol: 1e-12 },
  );
});

Deno.test("interpolate antialias: long windows under jit, vmap (a batch axis other than 0) and to order 2", () => {
  const x = T.random.normal(T.random.key(4), [2, 3, 1, 2, 150], {
    dtype: "float64",
  });
  const f = (xi: Tensor) =>
    T.interpolate(xi, { size: [1, 2], mode: "bicubic", antialias: true });
  const each = T.stack(
    [0, 1, 2].map((b) =>
      f(T.squeeze(T.slice(x, [0, b, 0, 0, 0], [2, b + 1, 1, 2, 150]), 1))
    ),
    1,
  );
  const mapped = T.vmap(f, { inAxes: 1, outAxes: 1 })(x);
  assertAllClose(mapped, each, { atol: 0, rtol: 0 });
  const first = T.squeeze(T.slice(x, [0, 0, 0, 0, 0], [2, 1, 1, 2, 150]), 1);
  assertAllClose(T.jit(f)(first), f(first), { atol: 0, rtol: 0 });
  T.checkGrads(f, [T.slice(first, [0, 0, 0, 0], [1, 1, 2, 90])], {
    order: 2,
  });
});
