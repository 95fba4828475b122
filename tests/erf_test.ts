/**
 * erf in float64 against Python's math.erf (glibc's erf, the one PyTorch's
 * float64 erf calls; tests/fixtures/erf.json, written by
 * tests/fixtures/gen_erf.py): within 1 ulp everywhere, the branch boundaries
 * of fdlibm's algorithm included, and jit's fused loops give eager's bits.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { sameBits } from "./_helpers.ts";
import fixture from "./fixtures/erf.json" with { type: "json" };

const f64 = (v: number[]) => T.tensor(v, { dtype: "float64" });

/** The distance in ulps of two doubles (0 for the same bits). */
function ulps(a: number, b: number): number {
  const f = new Float64Array([a, b]), i = new BigInt64Array(f.buffer);
  // onto a line ordered as the doubles: -0 and 0 one apart
  const key = (k: bigint) => k < 0n ? -(k & 0x7fffffffffffffffn) - 1n : k;
  const d = key(i[0]) - key(i[1]);
  return Number(d < 0n ? -d : d);
}

Deno.test("erf: float64 within 1 ulp of math.erf at 3000+ points and fdlibm's branch boundaries", () => {
  const got = T.erf(f64(fixture.x)).data;
  let worst = 0, at = 0;
  for (let i = 0; i < got.length; i++) {
    const d = ulps(got[i], fixture.erf[i]);
    if (d > worst) [worst, at] = [d, i];
  }
  assert.ok(
    worst <= 1,
    `erf(${fixture.x[at]}) = ${got[at]}, math.erf: ${
      fixture.erf[at]
    } (${worst} ulps)`,
  );
});

Deno.test("erf: the values near ±1 the series and continued fraction missed by ulps", () => {
  // math.erf(-2.5)
  assert.equal(T.item(T.erf(f64([-2.5]))), -0.999593047982555);
  // math.erf(-3.5 * math.sqrt(0.5)) (gelu(-3.5)'s erf)
  assert.equal(
    T.item(T.erf(f64([-3.5 * Math.SQRT1_2]))),
    -0.9995347418419289,
  );
  // math.erf(-2.9060540783190616)
  assert.equal(
    T.item(T.erf(f64([-2.9060540783190616]))),
    -0.9999603965627152,
  );
});

Deno.test("erf: ±0, subnormals, ±inf and NaN; odd bit for bit", () => {
  // math.erf of each: -0.0, 0.0, -5e-324, 5e-324, 1.1283791670955e-310,
  // 1.0, -1.0, nan
  assert.deepEqual(
    T.toArray(
      T.erf(f64([-0, 0, -5e-324, 5e-324, 1e-310, Infinity, -Infinity, NaN])),
    ),
    [-0, 0, -5e-324, 5e-324, 1.1283791670955e-310, 1, -1, NaN],
  );
  const x = f64(fixture.x);
  sameBits(T.erf(T.neg(x)), T.neg(T.erf(x)), "erf(-x) = -erf(x)");
});

Deno.test("erf: jit's fused loops give eager's bits (float64, float32, gelu)", () => {
  const f = (x: Tensor) => T.mul(T.erf(T.mul(x, 1)), 1);
  for (const dtype of ["float64", "float32"] as const) {
    const x = T.tensor(fixture.x, { dtype });
    sameBits(T.jit(f)(x), f(x), `erf ${dtype}`);
    sameBits(T.jit(T.gelu)(x), T.gelu(x), `gelu ${dtype}`);
  }
});
