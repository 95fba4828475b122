/**
 * Weight initialisation as `torch.nn.init`'s, functional: each takes a
 * random key (where it draws) and a shape and returns a new tensor, to
 * place in a params tree (`{ ...params, conv1: { ...params.conv1, weight:
 * kaimingNormal(key, shape, { mode: "fanOut" }) } }`). The fans, gains and
 * bounds are PyTorch's; the numbers come from the library's JAX-style
 * random keys, so they differ from PyTorch's draws.
 *
 * @module
 */
import {
  allocShape,
  checkOptions,
  describe,
  type DType,
  fmtShape,
  fromData,
  full,
  type Tensor,
} from "../ops/tensor.ts";
import { add, mul } from "../ops/elementwise.ts";
import { clamp } from "../ops/math.ts";
import {
  type Key,
  normal as randomNormal,
  truncatedNormal,
  uniform as randomUniform,
} from "../ops/random.ts";
import { checkKeyArg } from "../ops/_args.ts";
import { positiveQ } from "../ops/kernels/linalg.ts";

/** A float dtype option. Default float32. */
type FloatOpt = { dtype?: "float32" | "float64" };

/** The dtype option, checked. */
function floatOf(fn: string, dtype: unknown): "float32" | "float64" {
  const d = dtype ?? "float32";
  if (d !== "float32" && d !== "float64") {
    throw new Error(
      `${fn}: dtype must be "float32" or "float64", got ${describe(d)}`,
    );
  }
  return d;
}

/** A shape argument: non-negative integers. */
function shapeOf(fn: string, shape: unknown): readonly number[] {
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 31)
  ) {
    throw new Error(
      `${fn}: shape must be an array of non-negative integers, got ${
        describe(shape)
      }`,
    );
  }
  return shape;
}

/** A finite number option. */
function num(fn: string, name: string, v: unknown, dflt: number): number {
  const x = v ?? dflt;
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new Error(
      `${fn}: ${name} must be a finite number, got ${describe(x)}`,
    );
  }
  return x;
}

/** The nonlinearities of {@linkcode calculateGain}. */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

/**
 * The recommended gain for a nonlinearity, as `torch.nn.init.calculate_gain`:
 * 1 for linear, the convolutions and sigmoid, 5/3 for tanh, √2 for relu,
 * √(2 / (1 + slope²)) for leaky_relu (slope `param`, default 0.01) and 3/4
 * for selu.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(nn.init.calculateGain("relu"), Math.SQRT2);
 * assert.equal(nn.init.calculateGain("tanh"), 5 / 3);
 * ```
 */
export function calculateGain(
  nonlinearity: Nonlinearity,
  param?: number,
): number {
  const fn = "nn.init.calculateGain";
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "conv_transpose3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = num(fn, "param (the negative slope)", param, 0.01);
      return Math.sqrt(2 / (1 + slope ** 2));
    }
    case "selu":
      return 3 / 4;
  }
  throw new Error(
    `${fn}: unsupported nonlinearity ${
      describe(nonlinearity)
    } (linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu)`,
  );
}

/**
 * A weight shape's fans, as PyTorch's `_calculate_fan_in_and_fan_out`:
 * `shape[1]` and `shape[0]` times the receptive field (the product of the
 * rest); at least 2 axes.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nn.init.fans([16, 6, 5, 5]), { fanIn: 150, fanOut: 400 });
 * ```
 */
export function fans(shape: readonly number[]): {
  fanIn: number;
  fanOut: number;
} {
  return fansOf("nn.init.fans", shape);
}

/** {@linkcode fans} with `fn`'s errors. */
function fansOf(fn: string, shape: unknown) {
  if (
    !Array.isArray(shape) || shape.length < 2 ||
    !shape.every((d) => Number.isInteger(d) && d >= 0)
  ) {
    throw new Error(
      `${fn}: fan in and fan out need a shape of at least 2 non-negative integer dims, got ${
        Array.isArray(shape) ? fmtShape(shape) : describe(shape)
      }`,
    );
  }
  const field = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * field, fanOut: shape[0] * field };
}

/** The fan that `mode` names, nonzero. */
function fanOf(fn: string, shape: readonly number[], mode: unknown): number {
  const m = mode ?? "fanIn";
  if (m !== "fanIn" && m !== "fanOut") {
    throw new Error(
      `${fn}: mode must be "fanIn" or "fanOut", got ${describe(m)}`,
    );
  }
  const f = fansOf(fn, shape)[m];
  if (f === 0) {
    throw new Error(`${fn}: ${m} of shape ${fmtShape(shape)} is 0`);
  }
  return f;
}

/**
 * `U(a, b)` (default `U(0, 1)`), as `torch.nn.init.uniform_`: a <= b (a = b
 * fills with a, as torch; a > b is an error).
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const w = nn.init.uniform(random.key(0), [3, 4], { a: -2, b: 2 });
 * assert.ok([...w.data].every((v) => v >= -2 && v < 2));
 * ```
 */
export function uniform(
  key: Key,
  shape: readonly number[],
  options?: { a?: number; b?: number } & FloatOpt,
): Tensor {
  if (options === undefined) options = {};
  const fn = "nn.init.uniform";
  checkKeyArg(fn, key, "key");
  shapeOf(fn, shape);
  checkOptions(fn, options, ["a", "b", "dtype"]);
  const a = num(fn, "a", options.a, 0), b = num(fn, "b", options.b, 1);
  const dtype = floatOf(fn, options.dtype);
  // torch's uniform_: a range [a, b) with a <= b (a = b fills with a)
  if (!(a <= b)) {
    throw new Error(`${fn}: a must be <= b, got a ${a} and b ${b}`);
  }
  const r = dtype === "float32" ? Math.fround : (v: number) => v;
  if (!Number.isFinite(r(a)) || !Number.isFinite(r(b))) {
    throw new Error(
      `${fn}: a and b must be finite in ${dtype}, got a ${a} and b ${b}`,
    );
  }
  if (r(a) === r(b)) return full(shape, r(a), { dtype });
  return randomUniform(key, shape, { minval: a, maxval: b, dtype });
}

/**
 * `N(mean, std²)` (default `N(0, 1)`), as `torch.nn.init.normal_`: std >= 0
 * (std 0 fills with mean).
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nn.init.normal(random.key(0), [2, 3], { std: 0.02 }).shape, [2, 3]);
 * ```
 */
export function normal(
  key: Key,
  shape: readonly number[],
  options?: { mean?: number; std?: number } & FloatOpt,
): Tensor {
  if (options === undefined) options = {};
  const fn = "nn.init.normal";
  checkKeyArg(fn, key, "key");
  shapeOf(fn, shape);
  checkOptions(fn, options, ["mean", "std", "dtype"]);
  const mean = num(fn, "mean", options.mean, 0);
  const std = num(fn, "std", options.std, 1);
  // (torch's normal_ rejects a negative std)
  if (std < 0) throw new Error(`${fn}: std must be >= 0, got ${std}`);
  const z = randomNormal(key, shape, { dtype: floatOf(fn, options.dtype) });
  return add(mul(z, std), mean);
}

/**
 * `N(mean, std²)` truncated to `[a, b]` (default `N(0, 1)` in `[-2, 2]`), as
 * `torch.nn.init.trunc_normal_` (the bounds are absolute, not in standard
 * deviations), drawn by inverting the normal's distribution function as
 * PyTorch does ({@linkcode truncatedNormal}).
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const w = nn.init.truncNormal(random.key(0), [1000], { std: 0.02, a: -0.04, b: 0.04 });
 * assert.ok([...w.data].every((v) => v >= -0.04 && v <= 0.04));
 * ```
 */
export function truncNormal(
  key: Key,
  shape: readonly number[],
  options?: { mean?: number; std?: number; a?: number; b?: number } & FloatOpt,
): Tensor {
  if (options === undefined) options = {};
  const fn = "nn.init.truncNormal";
  checkKeyArg(fn, key, "key");
  shapeOf(fn, shape);
  checkOptions(fn, options, ["mean", "std", "a", "b", "dtype"]);
  const mean = num(fn, "mean", options.mean, 0);
  const std = num(fn, "std", options.std, 1);
  const a = num(fn, "a", options.a, -2), b = num(fn, "b", options.b, 2);
  if (!(std > 0) || !(a < b)) {
    throw new Error(
      `${fn}: std must be > 0 and a < b, got std ${std}, a ${a}, b ${b}`,
    );
  }
  const lo = (a - mean) / std, hi = (b - mean) / std;
  const dtype = floatOf(fn, options.dtype);
  let z: Tensor;
  try {
    z = truncatedNormal(key, lo, hi, shape, { dtype });
  } catch (e) {
    // (named for this function and its own arguments, not the standard
    // normal's bounds random.truncatedNormal was given)
    if (!/too far in the tail/.test((e as Error).message)) throw e;
    throw new Error(
      `${fn}: [a, b] = [${a}, ${b}] lies ${lo} to ${hi} standard deviations from the mean ${mean}, too far in the tail to sample in ${dtype}`,
    );
  }
  // rounding in `z·std + mean` can step past a bound (a mean far from 0
  // next to a small std, in float32): clamp to [a, b] after, as torch does
  return clamp(add(mul(z, std), mean), { min: a, max: b });
}

/**
 * A tensor of `value` (PyTorch's `constant_`; `zeros_` and `ones_` are
 * `value` 0 and 1).
 *
 * @example
 * ```ts
 * import { nn, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.init.constant([2], 0.1, { dtype: "float64" })), [0.1, 0.1]);
 * ```
 */
export function constant(
  shape: readonly number[],
  value: number,
  options?: FloatOpt,
): Tensor {
  if (options === undefined) options = {};
  const fn = "nn.init.constant";
  shapeOf(fn, shape);
  checkOptions(fn, options, ["dtype"]);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(
      `${fn}: value must be a finite number, got ${describe(value)}`,
    );
  }
  return full(shape, value, {
    dtype: floatOf(fn, options.dtype) as DType,
  });
}

/**
 * The identity matrix of a 2-D `shape` (ones on the diagonal), as
 * `torch.nn.init.eye_`: a linear layer that passes its input through.
 *
 * @example
 * ```ts
 * import { nn, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(nn.init.eye([2, 3])), [[1, 0, 0], [0, 1, 0]]);
 * ```
 */
export function eye(shape: readonly number[], options?: FloatOpt): Tensor {
  if (options === undefined) options = {};
  const fn = "nn.init.eye";
  shapeOf(fn, shape);
  checkOptions(fn, options, ["dtype"]);
  if (shape.length !== 2) {
    throw new Error(
      `${fn}: shape must have 2 dims, got ${fmtShape(shape)}`,
    );
  }
  const [r, c] = shape;
  const data = allocShape(fn, floatOf(fn, options.dtype), [r, c]);
  for (let i = 0; i < Math.min(r, c); i++) data[i * c + i] = 1;
  return fromData(data, [r, c]);
}

/**
 * A convolution weight that passes its input through, as
 * `torch.nn.init.dirac_`: for `[O, C, ...k]` (3 to 5 dims), in each of
 * `groups` groups the i-th output channel reads the i-th input channel
 * with a 1 at the kernel's centre (`k // 2`), zeros elsewhere.
 *
 * @example
 * ```ts
 * import { conv2d, nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.normal(random.key(0), [1, 3, 5, 5]);
 * const w = nn.init.dirac([3, 3, 3, 3]);
 * assert.deepEqual(conv2d(x, w, null, { padding: 1 }).data, x.data);
 * ```
 */
export function dirac(
  shape: readonly number[],
  options?: { groups?: number } & FloatOpt,
): Tensor {
  if (options === undefined) options = {};
  const fn = "nn.init.dirac";
  shapeOf(fn, shape);
  checkOptions(fn, options, ["groups", "dtype"]);
  if (shape.length < 3 || shape.length > 5) {
    throw new Error(
      `${fn}: shape must have 3, 4 or 5 dims, got ${fmtShape(shape)}`,
    );
  }
  const groups = options.groups ?? 1;
  if (
    !Number.isInteger(groups) || groups < 1 || shape[0] % groups !== 0
  ) {
    throw new Error(
      `${fn}: groups must be a positive integer dividing shape[0] (${
        shape[0]
      }), got ${describe(groups)}`,
    );
  }
  const data = allocShape(fn, floatOf(fn, options.dtype), shape);
  const [o, c, ...k] = shape,
    per = o / groups,
    kernel = k.reduce((a, b) => a * b, 1);
  // the kernel's centre as a flat offset (row-major)
  let centre = 0;
  for (const d of k) centre = centre * d + (d >> 1);
  for (let g = 0; g < groups; g++) {
    for (let d = 0; d < Math.min(per, c); d++) {
      data[((g * per + d) * c + d) * kernel + centre] = 1;
    }
  }
  return fromData(data, shape);
}

/**
 * A (semi-)orthogonal matrix, as `torch.nn.init.orthogonal_`: the shape
 * seen as `[rows, rest]`, the Q of the QR decomposition of a standard
 * normal matrix (transposed when it is wide) with R's diagonal made
 * positive (so Q is unique), times `gain`. Its rows (or columns, the
 * shorter side) are orthonormal.
 *
 * @example
 * ```ts
 * import { matmul, nn, random, transpose } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const q = nn.init.orthogonal(random.key(0), [3, 5], { dtype: "float64" });
 * const qqt = matmul(q, transpose(q)).data; // the identity
 * [...qqt].forEach((v, i) => assert.ok(Math.abs(v - (i % 4 === 0 ? 1 : 0)) < 1e-12));
 * ```
 */
export function orthogonal(
  key: Key,
  shape: readonly number[],
  options?: { gain?: number } & FloatOpt,
): Tensor {
  if (options === undefined) options = {};
  const fn = "nn.init.orthogonal";
  checkKeyArg(fn, key, "key");
  shapeOf(fn, shape);
  checkOptions(fn, options, ["gain", "dtype"]);
  if (shape.length < 2) {
    throw new Error(
      `${fn}: shape must have at least 2 dims, got ${fmtShape(shape)}`,
    );
  }
  const gain = num(fn, "gain", options.gain, 1);
  const dtype = floatOf(fn, options.dtype);
  const rows = shape[0], cols = shape.slice(1).reduce((a, b) => a * b, 1);
  const out = allocShape(fn, dtype, shape);
  if (rows === 0 || cols === 0) return fromData(out, shape);
  const a = randomNormal(key, [rows, cols], { dtype: "float64" }).data;
  // the tall side down: m x n with m >= n (a, or a transposed)
  const wide = rows < cols, m = wide ? cols : rows, n = wide ? rows : cols;
  const tall = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      tall[i * n + j] = wide ? a[j * cols + i] : a[i * cols + j];
    }
  }
  const q = positiveQ(tall, m, n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      out[wide ? j * cols + i : i * cols + j] = gain * q[i * n + j];
    }
  }
  return fromData(out, shape);
}

/** Options of {@linkcode xavierUniform} and {@linkcode xavierNormal}. */
export interface XavierOptions extends FloatOpt {
  /** Scale. Default 1. */
  gain?: number;
}

/**
 * Glorot uniform, as `torch.nn.init.xavier_uniform_`:
 * `U(-b, b)` with `b = gain·√(6 / (fanIn + fanOut))`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const w = nn.init.xavierUniform(random.key(0), [10, 20]);
 * const b = Math.sqrt(6 / 30);
 * assert.ok([...w.data].every((v) => Math.abs(v) <= b));
 * ```
 */
export function xavierUniform(
  key: Key,
  shape: readonly number[],
  options?: XavierOptions,
): Tensor {
  return xavier("nn.init.xavierUniform", key, shape, options, true);
}

/**
 * Glorot normal, as `torch.nn.init.xavier_normal_`:
 * `N(0, σ²)` with `σ = gain·√(2 / (fanIn + fanOut))`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nn.init.xavierNormal(random.key(0), [6, 1, 5, 5]).shape, [6, 1, 5, 5]);
 * ```
 */
export function xavierNormal(
  key: Key,
  shape: readonly number[],
  options?: XavierOptions,
): Tensor {
  return xavier("nn.init.xavierNormal", key, shape, options, false);
}

/** xavierUniform (`uniform`) or xavierNormal. */
function xavier(
  fn: string,
  key: Key,
  shape: readonly number[],
  options: XavierOptions | undefined,
  isUniform: boolean,
): Tensor {
  if (options === undefined) options = {};
  checkKeyArg(fn, key, "key");
  checkOptions(fn, options, ["gain", "dtype"]);
  const gain = num(fn, "gain", options.gain, 1);
  // (torch's xavier inits reject a negative gain: their normal_ or uniform_ does)
  if (gain < 0) throw new Error(`${fn}: gain must be >= 0, got ${gain}`);
  const { fanIn, fanOut } = fansOf(fn, shape);
  if (fanIn + fanOut === 0) {
    throw new Error(`${fn}: shape ${fmtShape(shape)} has no fans`);
  }
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  return spread(fn, key, shape, std, isUniform, options.dtype);
}

/** Options of {@linkcode kaimingUniform} and {@linkcode kaimingNormal}. */
export interface KaimingOptions extends FloatOpt {
  /** The negative slope of the leaky_relu that follows (`calculateGain`'s param). Default 0. */
  a?: number;
  /** "fanIn" (default: keeps the forward pass's variance) or "fanOut" (the backward pass's). */
  mode?: "fanIn" | "fanOut";
  /** The nonlinearity that follows. Default "leaky_relu". */
  nonlinearity?: Nonlinearity;
}

/**
 * He uniform, as `torch.nn.init.kaiming_uniform_`: `U(-b, b)` with
 * `b = √3 · gain / √fan` (gain from `nonlinearity` and `a`).
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const w = nn.init.kaimingUniform(random.key(0), [8, 4, 3, 3], { nonlinearity: "relu" });
 * const b = Math.sqrt(3) * Math.SQRT2 / Math.sqrt(36);
 * assert.ok([...w.data].every((v) => Math.abs(v) <= b));
 * ```
 */
export function kaimingUniform(
  key: Key,
  shape: readonly number[],
  options?: KaimingOptions,
): Tensor {
  return kaiming("nn.init.kaimingUniform", key, shape, options, true);
}

/**
 * He normal, as `torch.nn.init.kaiming_normal_`: `N(0, σ²)` with
 * `σ = gain / √fan` (ResNet's init with `mode: "fanOut", nonlinearity:
 * "relu"`).
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const w = nn.init.kaimingNormal(random.key(0), [64, 3, 7, 7], { mode: "fanOut", nonlinearity: "relu" });
 * assert.deepEqual(w.shape, [64, 3, 7, 7]);
 * ```
 */
export function kaimingNormal(
  key: Key,
  shape: readonly number[],
  options?: KaimingOptions,
): Tensor {
  return kaiming("nn.init.kaimingNormal", key, shape, options, false);
}

/** kaimingUniform (`uniform`) or kaimingNormal. */
function kaiming(
  fn: string,
  key: Key,
  shape: readonly number[],
  options: KaimingOptions | undefined,
  isUniform: boolean,
): Tensor {
  if (options === undefined) options = {};
  checkKeyArg(fn, key, "key");
  checkOptions(fn, options, ["a", "mode", "nonlinearity", "dtype"]);
  const a = num(fn, "a", options.a, 0);
  const fan = fanOf(fn, shape, options.mode);
  let gain: number;
  try {
    gain = calculateGain(options.nonlinearity ?? "leaky_relu", a);
  } catch (e) {
    throw new Error(
      `${fn}: ${
        (e as Error).message.replace(/^nn\.init\.calculateGain: /, "")
      }`,
    );
  }
  return spread(
    fn,
    key,
    shape,
    gain / Math.sqrt(fan),
    isUniform,
    options.dtype,
  );
}

/** `N(0, std²)`, or the uniform of that deviation (`U(-√3·std, √3·std)`). */
function spread(
  fn: string,
  key: Key,
  shape: readonly number[],
  std: number,
  isUniform: boolean,
  dtype: unknown,
): Tensor {
  const d = floatOf(fn, dtype);
  if (isUniform) {
    const b = Math.sqrt(3) * std;
    // (an empty range, gain 0 or b below the dtype's least value: zeros,
    // as torch's uniform_(-0, 0))
    const r = d === "float32" ? Math.fround : (v: number) => v;
    if (!(r(b) > 0)) return full(shape, 0, { dtype: d });
    return randomUniform(key, shape, { minval: -b, maxval: b, dtype: d });
  }
  return mul(randomNormal(key, shape, { dtype: d }), std);
}
