/**
 * ONNX export of the ops nn/onnx.ts writes as compositions or as ONNX
 * operators with settings (cumsum, flip, log2, log10, exp2, expm1, log1p,
 * trunc, atan2, remainder, fmod, floorDivide, logaddexp, hypot): each in a
 * small layer exported at batch 2, run in ONNX Runtime (tests/_onnxruntime.ts)
 * at batches 1 and 3 on inputs with negative values, signed zeros,
 * infinities and (for the divisions) negative and zero divisors, and
 * compared with `apply`.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import {
  assertSameZeros,
  checkOnnxCases,
  fl,
  type OnnxCase,
} from "./_onnx_cases.ts";

/** Unary inputs: both signs, ±0, values near 0 and ±∞. */
const UNARY = [
  -Infinity,
  -100,
  -3.7,
  -2.5,
  -1,
  -0.5,
  -1e-4,
  -1e-7,
  -0,
  0,
  1e-7,
  1e-4,
  0.3,
  0.5,
  1,
  2.5,
  3.7,
  8,
  50,
  Infinity,
];

/**
 * Binary inputs, as [a, b] pairs: divisors of both signs, ±0 and ±∞
 * (5.5 by each sign of 2, 1 by 0.1 where floor(a / b) rounds to 10 and
 * floor division gives 9), equal and opposite infinities, and values whose
 * squares overflow float32.
 */
const PAIRS: [number, number][] = [
  [1, 0.1],
  [5.5, 2],
  [-5.5, 2],
  [5.5, -2],
  [-5.5, -2],
  [7, -3],
  [-7, 3],
  [6, -3],
  [0, -3],
  [-0, 3],
  [-0, -3],
  [0, 0],
  [-0, -0],
  [0, -0],
  [7, 0],
  [-7, -0],
  [1e-3, -0.1],
  [-0.3, 2.5],
  [5, Infinity],
  [-5, Infinity],
  [5, -Infinity],
  [Infinity, 2],
  [-Infinity, 2],
  [Infinity, Infinity],
  [-Infinity, Infinity],
  [Infinity, -Infinity],
  [-Infinity, -Infinity],
  [1e30, 1e30],
  [-3e25, 4e25],
  [1e-30, -1e-30],
];

/** `pool` rotated by `shift` per row: every row holds every value, in another order. */
function rows(pool: number[], batch: number, shift: number): Float32Array {
  const k = pool.length;
  return Float32Array.from(
    { length: batch * k },
    (_, i) => pool[(i % k + shift * Math.floor(i / k)) % k],
  );
}

/** a and b of `PAIRS`, stacked on axis 1 (each row another order): [N, 2, K]. */
function pairRows(batch: number): Float32Array {
  const k = PAIRS.length, out = new Float32Array(batch * 2 * k);
  for (let n = 0; n < batch; n++) {
    for (let j = 0; j < k; j++) {
      const [a, b] = PAIRS[(j + 7 * n) % k];
      out[(2 * n) * k + j] = a;
      out[(2 * n + 1) * k + j] = b;
    }
  }
  return out;
}

/** A binary op on an input's two rows (x[:, 0] op x[:, 1]). */
const onPairs = (name: string, f: (a: Tensor, b: Tensor) => Tensor) =>
  fl(name, (x) => {
    const [n, , k] = x.shape;
    return f(
      T.slice(x, [0, 0, 0], [n, 1, k]),
      T.slice(x, [0, 1, 0], [n, 2, k]),
    );
  });

type Case = OnnxCase & { atol?: number };

/**
 * Each case in ONNX Runtime against apply (see checkOnnxCases), the sign of
 * each zero included.
 */
function check(t: Deno.TestContext, cases: Case[]): Promise<void> {
  return checkOnnxCases(t, cases, (what, { atol }, y, output) => {
    const y32 = T.astype(y, "float32");
    assert.deepEqual(output.shape, [...y32.shape], `${what}: output shape`);
    assertAllClose(T.tensor(output.data, { shape: output.shape }), y32, {
      atol: atol ?? 1e-6,
      rtol: 1e-5,
      msg: `${what}: ONNX Runtime vs apply`,
    });
    assertSameZeros(what, output, y32);
  });
}

const unary = (
  name: string,
  f: (x: Tensor) => Tensor,
  atol?: number,
): Case => ({
  name,
  net: fl(name, f),
  input: (b) => rows(UNARY, b, 3),
  shape: [UNARY.length],
  atol,
});

const binary = (name: string, f: (a: Tensor, b: Tensor) => Tensor): Case => ({
  name,
  net: onPairs(name, f),
  input: pairRows,
  shape: [2, PAIRS.length],
});

Deno.test("toOnnx: log2, log10, exp2, trunc, and expm1 and log1p to a relative 1e-5 near 0, run in ONNX Runtime as in apply", async (t) => {
  await check(t, [
    unary("log2", T.log2),
    unary("log10", T.log10),
    unary("exp2", T.exp2),
    unary("trunc", T.trunc),
    // (atol 0: Exp(x) - 1 gives 1.19e-7 for expm1(1e-7), and Log(1 + x)
    // the same for log1p(1e-7))
    unary("expm1", T.expm1, 0),
    unary("log1p", T.log1p, 0),
    // constants in the graph's dtype: float64 steps
    unary("float64 log1p, expm1, trunc, log2", (x) => {
      const d = T.astype(x, "float64");
      return T.concat([T.log1p(d), T.expm1(d), T.trunc(d), T.log2(d)], 1);
    }),
  ]);
});

Deno.test("toOnnx: atan2, remainder, fmod, floorDivide, logaddexp and hypot (signed zeros, infinities, zero and negative divisors) run in ONNX Runtime as in apply", async (t) => {
  await check(t, [
    binary("atan2", T.atan2),
    binary("remainder", T.remainder),
    binary("fmod", T.fmod),
    binary("floorDivide", T.floorDivide),
    binary("logaddexp", T.logaddexp),
    binary("hypot", T.hypot),
    // broadcast operands: a number and a constant row
    {
      name: "remainder and floorDivide by -2.5, and of 3 by x",
      net: fl("Broadcast", (x) =>
        T.concat([
          T.remainder(x, -2.5),
          T.floorDivide(x, -2.5),
          T.remainder(3, x),
          T.fmod(x, T.tensor([[-2, 0.5, -1, 3, -0.5, 2, -3, 1]])),
        ], 1)),
      input: (b) => rows([-7.5, -0.4, 0, 2.5, -0, 5.2, 1e-3, -3], b, 3),
      shape: [8],
    },
  ]);
});

Deno.test("toOnnx: int32 remainder and floorDivide (ONNX Mod with fmod 0, exact division) run in ONNX Runtime as in apply", async (t) => {
  const ints = [-7, 7, -6, 6, 0, 5, -5, 1];
  const divisors = T.tensor([[3, -3, 3, -3, 2, -2, 1, -1]], { dtype: "int32" });
  await check(
    t,
    [
      ["remainder", T.remainder],
      ["floorDivide", T.floorDivide],
    ].map(([name, f]) => ({
      name: `int32 ${name}`,
      net: fl(name as string, (x) => (f as typeof T.remainder)(x, divisors)),
      input: (b) => rows(ints, b, 3),
      shape: [ints.length],
      inputDtype: "int32",
    })),
  );
});

Deno.test("toOnnx: cumsum (ONNX CumSum, forward and reverse) and flip (Slice with step -1) along each axis run in ONNX Runtime as in apply", async (t) => {
  const x = (b: number) => rows(UNARY.slice(1, -1), b, 5).map((v) => v / 7);
  const k = UNARY.length - 2; // [N, 2, 9]
  const shape = [2, k / 2];
  const cases: Case[] = [
    ...[0, 1, 2].map((axis) => ({
      name: `cumsum along axis ${axis}`,
      net: fl("Cumsum", (v) => T.cumsum(v, { axis })),
      input: x,
      shape,
    })),
    {
      // the transpose of cumsum, the running sum from the end
      name: "cumsum's vjp (reverse) along axis 2",
      net: fl(
        "Reverse",
        (v) => T.vjp((u: Tensor) => T.cumsum(u, { axis: 2 }), v)[1](v)[0],
      ),
      input: x,
      shape,
    },
    ...[[0], [2], [1, 2], [0, 1, 2]].map((axis) => ({
      name: `flip of axes ${axis}`,
      net: fl("Flip", (v) => T.flip(v, { axis })),
      input: x,
      shape,
    })),
  ];
  await check(t, cases);
});
