/**
 * ONNX export of models whose ops mix dtypes: the library's ops promote
 * (an int32 operand of a float op is converted, a float op on int32
 * computes in float32, `floor`/`ceil`/`round`/`trunc` of int32 are the
 * identity), ONNX's operators take their inputs in one type, so the
 * exported graph casts where they differ. Each model (int32 input, mixed
 * binary ops, comparisons, `where`, reductions, indices, float64 graphs,
 * `xlogy`) is exported at batch 2 (opsets 17 and 26), run in ONNX Runtime
 * (tests/_onnxruntime.ts) at batches 1 and 3 and compared with `apply`:
 * integer results exactly, float ones to float32's precision with the sign
 * of each zero.
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
import type { AnyLayer } from "./_onnx_models.ts";

const { nn } = T;

/** int32 inputs: both signs, 0, and a value whose log and exp are large. */
const INTS = [-7, -3, -2, -1, 0, 1, 2, 3, 5, 100];

/** Float inputs: both signs, ±0, halves (rounding ties), ±∞ and NaN. */
const FLOATS = [
  -Infinity,
  -3.7,
  -2.5,
  -1,
  -0.5,
  -0,
  0,
  1e-4,
  0.5,
  1,
  2.5,
  7,
  Infinity,
  NaN,
];

/** `pool` rotated by `shift` per row: every row holds every value. */
const rows = (pool: number[], batch: number, shift = 3) =>
  Float32Array.from(
    { length: batch * pool.length },
    (_, i) =>
      pool[
        (i % pool.length + shift * Math.floor(i / pool.length)) % pool.length
      ],
  );

/** Inputs of shape [2, 8]: 16 floats of both signs. */
const PIXELS = [
  -3.7,
  -2.5,
  -1,
  -0.5,
  0,
  0.5,
  1,
  2.5,
  7,
  3,
  0.25,
  -6,
  4,
  1.5,
  -2,
  9,
];

/** A constant row of `INTS.length` floats, with fractions and ±0. */
const FROW = T.tensor([[0.5, -1.5, 2, -0, 0, 3.25, -2, 7, 1, -0.25]]);
/** A constant row of nonzero int32 divisors. */
const IROW = T.tensor([[3, -3, 2, -2, 1, 4, -4, 5, 2, 7]], { dtype: "int32" });

type Case = OnnxCase;

/** A case on the int32 input `INTS`. */
const onInts = (name: string, f: (x: Tensor) => Tensor): Case => ({
  name,
  net: fl(name.replace(/\W/g, "_"), f),
  input: (b) => rows(INTS, b),
  shape: [INTS.length],
  inputDtype: "int32",
});

/** A case on the float32 input `FLOATS`. */
const onFloats = (name: string, f: (x: Tensor) => Tensor): Case => ({
  name,
  net: fl(name.replace(/\W/g, "_"), f),
  input: (b) => rows(FLOATS, b),
  shape: [FLOATS.length],
});

/** The float32 input as float64 (the params are float32: a float64 graph casts inside). */
const f64 = (x: Tensor) => T.astype(x, "float64");

/**
 * `xlogy` pairs [x, y]: ±0 with y finite, 0, ∞ and NaN, y = 1 (a zero of
 * x's sign), y = 0 (±∞), y < 0 (NaN), infinite x and y.
 */
const XLOGY: [number, number][] = [
  [0, 0],
  [-0, 2],
  [0, -1],
  [-0, Infinity],
  [0, NaN],
  [-0, NaN],
  [2, NaN],
  [NaN, 2],
  [2, 1],
  [-2, 1],
  [2, 0],
  [-2, 0],
  [3, -1],
  [Infinity, 1],
  [-Infinity, 3],
  [2, Infinity],
  [1e-3, 5],
  [-3.5, 0.25],
];

/** x and y of `XLOGY` stacked on axis 1, each row rotated: [N, 2, K]. */
function xlogyRows(batch: number): Float32Array {
  const k = XLOGY.length, out = new Float32Array(batch * 2 * k);
  for (let n = 0; n < batch; n++) {
    for (let j = 0; j < k; j++) {
      const [x, y] = XLOGY[(j + 5 * n) % k];
      out[2 * n * k + j] = x;
      out[(2 * n + 1) * k + j] = y;
    }
  }
  return out;
}

/** xlogy of the input's two rows, in float32 and in float64. */
const xlogyCase = (name: string, g: (x: Tensor) => Tensor): Case => ({
  name,
  net: fl(name.replace(/\W/g, "_"), (v) => {
    const [n, , k] = v.shape, w = g(v);
    return T.xlogy(
      T.slice(w, [0, 0, 0], [n, 1, k]),
      T.slice(w, [0, 1, 0], [n, 2, k]),
    );
  }),
  input: xlogyRows,
  shape: [2, XLOGY.length],
});

/** The float ops ONNX has no integer type for, on an int32 input. */
const FLOAT_UNARY: [string, (x: Tensor) => Tensor][] = [
  ["log", T.log],
  ["exp", T.exp],
  ["sqrt", T.sqrt],
  ["sigmoid", T.sigmoid],
  ["tanh", T.tanh],
  ["erf", T.erf],
  ["sin", T.sin],
  ["atan", T.atan],
  ["log1p", T.log1p],
  ["expm1", T.expm1],
  ["exp2", T.exp2],
  ["log2", T.log2],
];

/**
 * Every case, for {@linkcode check} (exported to write the models out for
 * a check by hand with Python's `onnx.checker.check_model(full_check=True)`).
 */
export function dtypeCases(): Case[] {
  return [
    // a float op on int32 computes in float32
    ...FLOAT_UNARY.map(([name, f]) => onInts(`${name} of int32`, f)),
    // rounding int32 is the identity
    ...([
      ["floor", T.floor],
      ["ceil", T.ceil],
      ["round", T.round],
      ["trunc", T.trunc],
    ] as const).map(([name, f]) => onInts(`${name} of int32`, f)),
    // int32 ops that stay int32
    onInts(
      "relu, abs, neg, sign, square of int32",
      (x) =>
        T.concat([T.relu(x), T.abs(x), T.neg(x), T.sign(x), T.square(x)], 1),
    ),
    onInts(
      "clamp of int32 (one bound, both)",
      (x) =>
        T.concat([T.clamp(x, { min: -2 }), T.clamp(x, { min: -2, max: 3 })], 1),
    ),
    onInts(
      "pad of int32 with 3",
      (x) => T.pad(x, [[0, 0], [2, 1]], { value: 3 }),
    ),
    onInts(
      "cumsum and cumprod of int32",
      (x) => T.concat([T.cumsum(x, { axis: 1 }), T.cumprod(x, { axis: 1 })], 1),
    ),
    onInts(
      "matmul of int32",
      (x) => T.matmul(x, T.reshape(T.concat([IROW, T.neg(IROW)], 0), [10, 2])),
    ),
    onInts(
      "int32 times int32 power 2 and weak int",
      (x) => T.concat([T.pow(x, 2), T.add(x, 2), T.sub(1, x)], 1),
    ),
    // reductions and indices of int32
    onInts("sum, max, min of int32", (x) =>
      T.concat([
        T.sum(x, { axis: 1, keepDims: true }),
        T.max(x, { axis: 1, keepDims: true }),
        T.min(x, { axis: 1, keepDims: true }),
      ], 1)),
    onInts("mean of int32 (float32)", (x) => T.mean(x, { axis: 1 })),
    onInts("argmax and argsort of int32", (x) =>
      T.concat([
        T.argmax(x, { axis: 1, keepDims: true }),
        T.argsort(x, { axis: 1 }),
        T.argsort(x, { axis: 1, descending: true }),
      ], 1)),
    onFloats("argmax and argsort of float32 (int32 indices)", (x) =>
      T.concat([
        T.argmax(T.nanToNum(x), { axis: 1, keepDims: true }),
        T.argsort(T.nanToNum(x), { axis: 1 }),
      ], 1)),
    {
      name: "oneHot of int32 (float32 and int32)",
      net: fl("OneHot", (x) =>
        T.concat([
          T.reshape(T.oneHot(x, 5), [x.shape[0], -1]),
          T.reshape(T.oneHot(x, 5, { dtype: "int32" }), [x.shape[0], -1]),
        ], 1)),
      input: (b) => rows([0, 4, 2, 1, 3, 3], b),
      shape: [6],
      inputDtype: "int32",
    },
    {
      name: "nn.embedding of int32 indices",
      net: nn.embedding({ numEmbeddings: 5, embeddingDim: 3 }) as AnyLayer,
      input: (b) => rows([0, 4, 2, 1, 3, 3], b),
      shape: [6],
      inputDtype: "int32",
    },
    // binary ops mixing int32 and float32 compute in float32
    onInts("add(int32, ones)", (x) => T.add(x, T.ones([INTS.length]))),
    onInts("int32 by float numbers and rows", (x) =>
      T.concat([
        T.mul(x, 0.5),
        T.sub(1.5, x),
        T.mul(x, FROW),
        T.maximum(x, FROW),
        T.minimum(x, FROW),
        T.pow(FROW, T.abs(x)),
      ], 1)),
    onInts("div of int32 by int32 (float32)", (x) => T.div(x, IROW)),
    onInts("remainder, fmod, floorDivide of int32 by floats", (x) =>
      T.concat([
        T.remainder(x, 2.5),
        T.fmod(x, -2.5),
        T.floorDivide(x, T.add(FROW, 10)),
      ], 1)),
    onInts(
      "atan2, hypot, logaddexp, xlogy of int32 and floats",
      (x) =>
        T.concat([
          T.atan2(x, FROW),
          T.hypot(x, FROW),
          T.logaddexp(x, FROW),
          T.xlogy(x, T.abs(FROW)),
          T.xlogy(FROW, T.abs(x)),
        ], 1),
    ),
    onInts(
      "matmul of int32 and float32",
      (x) => T.matmul(x, T.reshape(T.concat([FROW, T.neg(FROW)], 0), [10, 2])),
    ),
    onInts(
      "concat of int32 and float32",
      (x) => T.concat([x, T.add(T.mul(x, 0), FROW)], 1),
    ),
    // comparisons compare in the promoted dtype; where takes any condition
    onInts("comparisons of int32 with floats", (x) =>
      T.concat([
        T.less(x, FROW),
        T.equal(x, T.tensor([[0.5, -3, 2, -0, 0, 3, -2, 7, 1, 100]])),
        T.greaterEqual(x, 0.5),
        T.notEqual(x, T.tensor([[-7.5]], { dtype: "float64" })),
        T.lessEqual(x, IROW),
      ], 1)),
    onInts(
      "where with int32 and float branches and conditions",
      (x) =>
        T.concat([
          T.where(x, x, FROW),
          T.where(T.less(x, 0), 2.5, x),
          T.where(FROW, x, T.neg(x)),
          T.where(x, IROW, x),
        ], 1),
    ),
    // float64 graphs: float32 constants and params cast to float64
    onFloats(
      "float64 graph: add, mul of a float32 row, exp, log, clamp, pad",
      (x) => {
        const d = f64(x), row = T.reshape(T.arange(FLOATS.length), [1, -1]);
        return T.concat([
          T.add(d, row),
          T.mul(row, d),
          T.exp(d),
          T.log(d),
          T.clamp(d, { min: -1, max: 2.25 }),
          T.clamp(d, { max: 1.5 }),
          T.pad(d, [[0, 0], [1, 2]], { value: 2.5 }),
          T.floor(d),
          T.round(d),
          T.cumprod(T.clamp(T.nanToNum(d), { min: -5, max: 5 }), { axis: 1 }),
        ], 1);
      },
    ),
    onFloats(
      "float64 graph: comparisons with float32, where, sum, mean, argmax, matmul",
      (x) => {
        const d = T.nanToNum(f64(x)),
          row = T.reshape(T.arange(FLOATS.length), [1, -1]);
        return T.concat([
          T.astype(T.less(d, row), "float64"),
          T.astype(T.equal(row, d), "float64"),
          T.where(T.greater(d, 0), d, row),
          T.sum(d, { axis: 1, keepDims: true }),
          T.mean(d, { axis: 1, keepDims: true }),
          T.astype(T.argmax(d, { axis: 1, keepDims: true }), "float64"),
          T.matmul(T.tanh(d), T.reshape(row, [-1, 1])),
        ], 1);
      },
    ),
    onInts("float64 graph from int32: int32 with float64", (x) =>
      T.concat([
        T.add(x, T.ones([1, INTS.length], { dtype: "float64" })),
        T.log(T.astype(x, "float64")),
        T.div(T.astype(x, "float64"), IROW),
      ], 1)),
    ...([
      // (batch norm's eps, in the graph's dtype)
      [
        "float64 graph: batch norm with batch statistics",
        (d: Tensor) =>
          T.batchNorm(d, {
            training: true,
            weight: T.tensor([0.5, 2]),
            bias: T.tensor([1, -1]),
          }).y,
      ],
      // (scatterAdd's zeros, in the graph's dtype)
      [
        "float64 graph: fold (scatterAdd)",
        (d: Tensor) =>
          T.fold(T.reshape(d, [d.shape[0], 4, 4]), {
            outputSize: 3,
            kernelSize: 2,
          }),
      ],
    ] as const).map(([name, f]): Case => ({
      name,
      net: fl(name.replace(/\W/g, "_"), (x) => f(f64(x))),
      input: (b) => rows(PIXELS, b, 5),
      shape: [2, 8],
    })),
    // xlogy: 0 where x is ±0 (NaN where y is), the product's signed zeros
    xlogyCase("xlogy", (v) => v),
    xlogyCase("xlogy in float64", f64),
    xlogyCase(
      "xlogy of int32 operands",
      (v) => T.astype(T.nanToNum(v, { posinf: 9, neginf: -9 }), "int32"),
    ),
  ];
}

/**
 * Each case in ONNX Runtime against apply (see checkOnnxCases): exactly for
 * an int32 result, to float32's precision (the sign of each zero included)
 * otherwise.
 */
function check(t: Deno.TestContext, cases: Case[]): Promise<void> {
  return checkOnnxCases(t, cases, (what, _c, y, output) => {
    const exact = y.dtype === "int32", y32 = T.astype(y, "float32");
    assert.deepEqual(output.shape, [...y32.shape], `${what}: output shape`);
    if (exact) {
      assert.deepEqual(
        [...output.data],
        [...y32.data],
        `${what}: ONNX Runtime vs apply (int32, exact)`,
      );
      return;
    }
    assertAllClose(T.tensor(output.data, { shape: output.shape }), y32, {
      atol: 1e-6,
      rtol: 1e-5,
      msg: `${what}: ONNX Runtime vs apply`,
    });
    assertSameZeros(what, output, y32);
  });
}

Deno.test("toOnnx: models mixing dtypes (int32 inputs of float ops, rounding int32, mixed binary ops, comparisons and where, reductions, indices, float64 graphs, xlogy) load and run in ONNX Runtime as in apply", async (t) => {
  await check(t, dtypeCases());
});
