/**
 * Fractional max pooling (Graham, 2014) with PyTorch 1.13's semantics:
 * `fractionalMaxPool2d` and `fractionalMaxPool3d`, and their
 * `...WithIndices` forms. Each plane draws one sample u in [0, 1) per
 * axis; with alpha = (in - k) / (out - 1) (in the input's dtype), window i
 * starts at trunc((i + u)·alpha) - trunc(u·alpha), the last one at in - k.
 * A composition with no rule of its own: the windows' taps gathered as
 * flat indices, each window's first maximum (its last NaN) picked as max
 * pooling picks it, and the input read at the picks, so the gradient is
 * PyTorch's (the cotangent added at each pick, in output order) and vmap
 * and jit come with the ops.
 *
 * @module
 */
import {
  arange,
  checkOptions,
  checkTensor,
  describe,
  sameShape,
  showValue,
  type Tensor,
  tensor,
} from "./tensor.ts";
import { userOp } from "./debug.ts";
import {
  bounded,
  checkKeyArg,
  floatCheck,
  fmt,
  type Pair,
  pair,
} from "./_args.ts";
import {
  add,
  astype,
  equal,
  greaterEqual,
  less,
  mul,
  sub,
  where,
} from "./elementwise.ts";
import { expandDims, reshape, slice } from "./structural.ts";
import { checkedValues, takeAlongAxisAt } from "./indexing.ts";
import { type Key, uniform } from "./random.ts";
import { firstMaxPick } from "./pool.ts";
import { type Triple, triple } from "./conv3d.ts";

/** Options of {@linkcode fractionalMaxPool2d}. */
export interface FractionalMaxPool2dOptions {
  /** Window size, a number or `[h, w]`. Required. */
  kernelSize: Pair;
  /** The output's `[H, W]` (or one number for both); this or `outputRatio`. */
  outputSize?: Pair;
  /** The output's size as a fraction in (0, 1) of the input's, `[h, w]` or one for both: `floor(H·ratio)`; this or `outputSize`. */
  outputRatio?: number | readonly [number, number];
  /** PRNG key the windows' samples are drawn from (PyTorch's `torch.rand`); this or `samples`. */
  key?: Key;
  /** The samples themselves, PyTorch's `_random_samples`: `[N, C, 2]` (`[1, C, 2]` unbatched) in [0, 1), x's dtype; entry 0 places the columns, entry 1 the rows. */
  samples?: Tensor;
}

/** Options of {@linkcode fractionalMaxPool3d}. */
export interface FractionalMaxPool3dOptions {
  /** Window size, a number or `[d, h, w]`. Required. */
  kernelSize: Triple;
  /** The output's `[D, H, W]` (or one number for all); this or `outputRatio`. */
  outputSize?: Triple;
  /** The output's size as a fraction in (0, 1) of the input's, `[d, h, w]` or one for all: `floor(D·ratio)`; this or `outputSize`. */
  outputRatio?: number | readonly [number, number, number];
  /** PRNG key the windows' samples are drawn from; this or `samples`. */
  key?: Key;
  /** PyTorch's `_random_samples`: `[N, C, 3]` (`[1, C, 3]` unbatched) in [0, 1), x's dtype; entries for the depth, height and width. */
  samples?: Tensor;
}

/** A fractional pooling's sizes, checked: the kernel, and the output size or ratio per axis. @internal */
export interface FractionalSettings {
  kernelSize: number[];
  outputSize: number[] | null;
  outputRatio: number[] | null;
}

/** The spatial axes' names by rank, for messages. */
const AXES: Record<number, string[]> = {
  2: ["H", "W"],
  3: ["D", "H", "W"],
};

/** What the axes are called in messages. */
const AXIS_WORDS = ["depth", "height", "width"];

/**
 * Checks the sizes of a fractional pooling of spatial `rank` (`fn` names
 * the caller; `extra` the other option keys it takes): needs no shape, so
 * a layer checks its options when it is built. @internal
 */
export function fractionalSettings(
  fn: string,
  options: unknown,
  rank: 2 | 3,
  extra: string[],
): FractionalSettings {
  if (typeof options !== "object" || options === null) {
    throw new Error(
      `${fn}: options must be an object with kernelSize and outputSize or outputRatio, got ${
        describe(options)
      }`,
    );
  }
  checkOptions(fn, options, [
    "kernelSize",
    "outputSize",
    "outputRatio",
    ...extra,
  ]);
  const o = options as Record<string, unknown>;
  const sizes = (name: string, min: number) =>
    rank === 2 ? pair(fn, name, o[name], min) : triple(fn, name, o[name], min);
  if (o.kernelSize === undefined) {
    throw new Error(`${fn}: options.kernelSize is required`);
  }
  const kernelSize = sizes("kernelSize", 1);
  const given = (v: unknown) => v !== undefined && v !== null;
  if (given(o.outputSize) === given(o.outputRatio)) {
    throw new Error(
      `${fn}: exactly one of options.outputSize and options.outputRatio is needed, got ${
        given(o.outputSize) ? "both" : "neither"
      }`,
    );
  }
  if (given(o.outputSize)) {
    return {
      kernelSize,
      outputSize: sizes("outputSize", 0),
      outputRatio: null,
    };
  }
  const r = typeof o.outputRatio === "number"
    ? Array(rank).fill(o.outputRatio)
    : o.outputRatio;
  if (
    !Array.isArray(r) || r.length !== rank ||
    !r.every((v) => typeof v === "number" && v > 0 && v < 1)
  ) {
    throw new Error(
      `${fn}: outputRatio must be a number in (0, 1) or ${
        rank === 2 ? "a pair [h, w]" : "a triple [d, h, w]"
      } of them, got ${showValue(o.outputRatio)}`,
    );
  }
  return { kernelSize, outputSize: null, outputRatio: r };
}

/**
 * x's shape as `[N, C, ...spatial]` (an unbatched one with N = 1) and the
 * output's spatial sizes, with PyTorch's checks: every axis but the batch
 * nonempty, and each window inside the input (`out + k - 1` at most the
 * input's size in 2-D, below it in 3-D, as PyTorch's kernels). @internal
 */
export function fractionalGeometry(
  fn: string,
  xShape: readonly number[],
  s: FractionalSettings,
  rank: 2 | 3,
): { batched: number[]; out: number[] } {
  const names = AXES[rank].join(", ");
  if (xShape.length !== rank + 1 && xShape.length !== rank + 2) {
    throw new Error(
      `${fn}: x must be [N, C, ${names}] or unbatched [C, ${names}], got ${
        fmt(xShape)
      }`,
    );
  }
  const batched = xShape.length === rank + 1 ? [1, ...xShape] : [...xShape];
  if (batched.slice(1).some((d) => d === 0)) {
    throw new Error(
      `${fn}: x must have C, ${names} >= 1 (only the batch may be empty), got ${
        fmt(xShape)
      }`,
    );
  }
  const sp = batched.slice(2);
  const out = s.outputSize ??
    sp.map((d, a) => Math.trunc(d * s.outputRatio![a]));
  const k = s.kernelSize, words = AXIS_WORDS.slice(3 - rank);
  for (let a = 0; a < rank; a++) {
    const span = out[a] + k[a] - 1;
    if (rank === 2 ? span > sp[a] : span >= sp[a]) {
      throw new Error(
        `${fn}: kernelSize ${fmt(k)} is too large for x ${
          fmt(xShape)
        } and an output of ${fmt(out)}: along the ${
          words[a]
        }, outputSize + kernelSize - 1 = ${span} must be ${
          rank === 2 ? "at most" : "less than"
        } the input's ${sp[a]}`,
      );
    }
  }
  const windows = out.reduce((p, d) => p * d, 1);
  const taps = k.reduce((p, d) => p * d, 1);
  bounded(fn, [
    ["the output", [...batched.slice(0, 2), ...out]],
    ["the windows' taps", [...batched.slice(0, 2), windows, taps]],
  ]);
  return { batched, out };
}

/**
 * The output shape of {@linkcode fractionalMaxPool2d} (`rank` 2) or
 * {@linkcode fractionalMaxPool3d} (3) for x's shape and these options,
 * with the op's checks and errors, without computing anything. @internal
 */
export function fractionalPoolShape(
  fn: string,
  xShape: readonly number[],
  s: FractionalSettings,
  rank: 2 | 3,
): number[] {
  const { out } = fractionalGeometry(fn, xShape, s, rank);
  return [...xShape.slice(0, -rank), ...out];
}

/**
 * The samples of a pooling of batched x `[N, C, ...]`: `options.samples`
 * checked (shape, dtype, values in [0, 1): a step of the computation, so
 * the check runs in jit replays and under vmap too) or drawn from
 * `options.key`.
 */
function samplesOf(
  fn: string,
  options: { key?: unknown; samples?: unknown },
  x: Tensor,
  batched: readonly number[],
  rank: number,
): Tensor {
  const { key, samples } = options;
  if ((key === undefined) === (samples === undefined)) {
    throw new Error(
      `${fn}: exactly one of options.key (a random.key) and options.samples (PyTorch's _random_samples) is needed, got ${
        key === undefined ? "neither" : "both"
      }`,
    );
  }
  const want = [batched[0], batched[1], rank];
  if (key !== undefined) {
    checkKeyArg(fn, key, "options.key");
    return uniform(key as Key, want, { dtype: x.dtype });
  }
  checkTensor(fn, samples, "options.samples");
  const u = samples as Tensor;
  if (u.dtype !== x.dtype || !sameShape(u.shape, want)) {
    throw new Error(
      `${fn}: options.samples must be ${x.dtype} ${
        fmt(want)
      } (one sample per plane and axis, x's dtype, for x ${
        fmt(x.shape)
      }), got ${u.dtype} ${fmt(u.shape)}`,
    );
  }
  const inside = mul(greaterEqual(u, 0), less(u, 1));
  const checked = checkedValues(inside, (data) => {
    const i = data.indexOf(0);
    if (i >= 0) {
      throw new Error(
        `${fn}: options.samples must be in [0, 1), got a value outside (or NaN) at flat index ${i} (samples ${
          fmt(u.shape)
        })`,
      );
    }
  });
  return where(checked, u, 0);
}

/**
 * Where the windows along an axis of `size` start for each plane's sample
 * `u` `[N, C, 1]`: int32 `[N, C, out]`, PyTorch's generate_intervals (its
 * arithmetic in u's dtype, truncated to integers as its casts).
 */
function windowStarts(u: Tensor, size: number, out: number, k: number) {
  const alpha = tensor(out > 1 ? (size - k) / (out - 1) : 0, {
    dtype: u.dtype,
  });
  const i = arange(0, out, 1, { dtype: u.dtype });
  const start = sub(
    astype(mul(add(i, u), alpha), "int32"),
    astype(mul(u, alpha), "int32"),
  );
  return where(
    equal(arange(0, out, 1, { dtype: "int32" }), out - 1),
    size - k,
    start,
  );
}

/**
 * fractionalMaxPool2d and fractionalMaxPool3d (`rank`), values and
 * indices: the flat index within its plane of every tap of every window
 * `[N, C, windows, taps]` (both in row-major order), each window's first
 * maximum (its last NaN) picked among its taps, and x read at the picks.
 */
function fractionalMaxPoolNd(
  fn: string,
  x: Tensor,
  options: FractionalMaxPool2dOptions | FractionalMaxPool3dOptions,
  rank: 2 | 3,
): { values: Tensor; indices: Tensor } {
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const s = fractionalSettings(fn, options, rank, ["key", "samples"]);
  const { batched, out } = fractionalGeometry(fn, x.shape, s, rank);
  const [n, c, ...sp] = batched, k = s.kernelSize;
  const u = samplesOf(fn, options, x, batched, rank);
  // each axis's part of the taps' flat indices, [N, C, ...out, ...k]
  const parts = sp.map((size, a) => {
    const j = rank === 2 ? 1 - a : a; // PyTorch's samples: [w, h]; [d, h, w]
    const starts = windowStarts(
      slice(u, [0, 0, j], [n, c, j + 1]),
      size,
      out[a],
      k[a],
    );
    const at = add(
      reshape(starts, [
        n,
        c,
        ...out.map((d, b) => (b === a ? d : 1)),
        ...k.map(() => 1),
      ]),
      reshape(
        arange(0, k[a], 1, { dtype: "int32" }),
        k.map((d, b) => (b === a ? d : 1)),
      ),
    );
    return mul(at, sp.slice(a + 1).reduce((p, d) => p * d, 1));
  });
  const windows = out.reduce((p, d) => p * d, 1);
  const taps = k.reduce((p, d) => p * d, 1);
  const plane = sp.reduce((p, d) => p * d, 1);
  const xb = x.shape.length === rank + 1 ? expandDims(x, 0) : x;
  const flat = reshape(xb, [n, c, plane]);
  const tapIdx = reshape(parts.reduce((p, t) => add(p, t)), [
    n,
    c,
    windows,
    taps,
  ]);
  const tapValues = reshape(
    takeAlongAxisAt(flat, reshape(tapIdx, [n, c, windows * taps]), 2),
    [n, c, windows, taps],
  );
  const picked = reshape(
    takeAlongAxisAt(tapIdx, firstMaxPick(tapValues, 3), 3),
    [n, c, windows],
  );
  const shape = [...x.shape.slice(0, -rank), ...out];
  return {
    values: reshape(takeAlongAxisAt(flat, picked, 2), shape),
    indices: reshape(picked, shape),
  };
}

/**
 * 2-D fractional max pooling as `torch.nn.functional.fractional_max_pool2d`
 * on x `[N, C, H, W]` (or unbatched `[C, H, W]`): windows of `kernelSize`
 * at pseudo-random steps that shrink the input to `outputSize` (or
 * `outputRatio` of it), each plane's steps from its two samples (drawn from
 * `key`, or given as `samples`, PyTorch's `_random_samples`, for its exact
 * windows); the gradient goes to each window's first maximum (its last
 * NaN), as PyTorch's. The same key gives the same windows.
 *
 * @example
 * ```ts
 * import { arange, fractionalMaxPool2d, random, reshape, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(25), [1, 1, 5, 5]);
 * // samples 0: windows start at rows and columns 0, 1, 3
 * const samples = tensor([[[0, 0]]]);
 * const y = fractionalMaxPool2d(x, { kernelSize: 2, outputSize: 3, samples });
 * assert.deepEqual(toArray(y), [[[[6, 7, 9], [11, 12, 14], [21, 22, 24]]]]);
 * const key = random.key(0);
 * const a = fractionalMaxPool2d(x, { kernelSize: 2, outputRatio: 0.5, key });
 * assert.deepEqual(a.shape, [1, 1, 2, 2]);
 * assert.deepEqual(toArray(fractionalMaxPool2d(x, { kernelSize: 2, outputRatio: 0.5, key })), toArray(a));
 * ```
 */
export function fractionalMaxPool2d(
  x: Tensor,
  options: FractionalMaxPool2dOptions,
): Tensor {
  return fractionalMaxPoolNd("fractionalMaxPool2d", x, options, 2).values;
}

/**
 * {@linkcode fractionalMaxPool2d}'s values and where each came from, as
 * `torch.nn.functional.fractional_max_pool2d(..., return_indices=True)`:
 * the int32 index within its `H·W` plane of each window's first maximum
 * (its last NaN). The indices feed {@linkcode maxUnpool2d}.
 *
 * @example
 * ```ts
 * import { arange, fractionalMaxPool2dWithIndices, reshape, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(25), [1, 1, 5, 5]);
 * // the sample 0.5 starts the columns' windows at 0, 2, 3; 0 the rows' at 0, 1, 3
 * const samples = tensor([[[0.5, 0]]]);
 * const { values, indices } = fractionalMaxPool2dWithIndices(x, { kernelSize: 2, outputSize: 3, samples });
 * assert.deepEqual(toArray(values), [[[[6, 8, 9], [11, 13, 14], [21, 23, 24]]]]);
 * assert.deepEqual(toArray(indices), [[[[6, 8, 9], [11, 13, 14], [21, 23, 24]]]]); // x[i] = i
 * ```
 */
export function fractionalMaxPool2dWithIndices(
  x: Tensor,
  options: FractionalMaxPool2dOptions,
): { values: Tensor; indices: Tensor } {
  return fractionalMaxPoolNd("fractionalMaxPool2dWithIndices", x, options, 2);
}

/**
 * 3-D fractional max pooling as `torch.nn.functional.fractional_max_pool3d`
 * on x `[N, C, D, H, W]` (or unbatched `[C, D, H, W]`): as
 * {@linkcode fractionalMaxPool2d} over three axes, each plane's three
 * samples placing its depths, rows and columns.
 *
 * @example
 * ```ts
 * import { arange, fractionalMaxPool3d, random, reshape } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(64), [1, 1, 4, 4, 4]);
 * const y = fractionalMaxPool3d(x, { kernelSize: 2, outputSize: 2, key: random.key(0) });
 * // each window's last corner is its maximum; the last window ends at the input's end
 * assert.deepEqual(y.shape, [1, 1, 2, 2, 2]);
 * assert.equal(y.data[7], 63);
 * ```
 */
export function fractionalMaxPool3d(
  x: Tensor,
  options: FractionalMaxPool3dOptions,
): Tensor {
  return fractionalMaxPoolNd("fractionalMaxPool3d", x, options, 3).values;
}

/**
 * {@linkcode fractionalMaxPool3d}'s values and where each came from, as
 * `torch.nn.functional.fractional_max_pool3d(..., return_indices=True)`:
 * the int32 index within its `D·H·W` volume of each window's first maximum
 * in (d, h, w) order (its last NaN). The indices feed
 * {@linkcode maxUnpool3d}.
 *
 * @example
 * ```ts
 * import { arange, fractionalMaxPool3dWithIndices, reshape, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(27), [1, 1, 3, 3, 3]);
 * const samples = tensor([[[0, 0, 0]]]);
 * const { values, indices } = fractionalMaxPool3dWithIndices(x, { kernelSize: 2, outputSize: 1, samples });
 * assert.deepEqual(toArray(values), [[[[[26]]]]]);
 * assert.deepEqual(toArray(indices), [[[[[26]]]]]);
 * ```
 */
export function fractionalMaxPool3dWithIndices(
  x: Tensor,
  options: FractionalMaxPool3dOptions,
): { values: Tensor; indices: Tensor } {
  return fractionalMaxPoolNd("fractionalMaxPool3dWithIndices", x, options, 3);
}
