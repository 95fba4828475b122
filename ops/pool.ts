/**
 * Pooling, with PyTorch's semantics and argument checking.
 *
 * Max pooling is `maxPool2d` with `maxPool2dScatter` (route g to each
 * window's first maximum, or its last NaN, as PyTorch) and `maxPool2dGather` (read a tensor at
 * those maxima); the last two are linear in their first input and transpose
 * each other. Average pooling is `avgPool2d` and its transpose. Adaptive
 * pooling gathers each axis's windows and averages them, or reads each
 * one's first maximum, axis by axis (separable, as the 3-D pools).
 *
 * @module
 */
import {
  allocData,
  allocShape,
  arange,
  checkBool,
  checkOptions,
  checkTensor,
  describe,
  fromData,
  sameShape,
  type Tensor,
  tensor,
  zerosLike,
} from "./tensor.ts";
import {
  type BatchRule,
  bind,
  definePrimitive,
  type Primitive,
} from "./trace.ts";
import { differentiating, userOp } from "./debug.ts";
import {
  batchShape,
  bounded,
  floatCheck,
  fmt,
  type Pair,
  pair,
  showValue,
} from "./_args.ts";
import {
  foldIntoN,
  lengthBatchShape,
  onBatch,
  onLength,
  outputLength,
  single,
} from "./conv.ts";
import {
  batchFront,
  batchSize,
  expandDims,
  pad,
  reshape,
  squeeze,
  sum,
} from "./structural.ts";
import {
  abs,
  astype,
  div,
  mul,
  notEqual,
  pow,
  relu,
  where,
} from "./elementwise.ts";
import { sign } from "./math.ts";
import { any, argmax } from "./reductions.ts";
import {
  checkedValues,
  gatherAt,
  lastOccurrences,
  scatterAddAlongAt,
  takeAlongAxisAt,
} from "./indexing.ts";
import * as pk from "./kernels/pool.ts";

/** Geometry of a pooling window. */
export interface PoolParams {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

/** Average pooling's divisor settings. */
export interface AvgParams extends PoolParams {
  countIncludePad: boolean;
  divisorOverride: number | null;
}

/** Output `[H, W]` of pooling an input of spatial size `hw`. */
export function poolOutSize(
  hw: readonly [number, number],
  p: PoolParams,
): [number, number] {
  const axis = (a: number) =>
    outputLength(
      hw[a],
      p.kernelSize[a],
      p.stride[a],
      p.padding[a],
      p.padding[a],
      p.dilation[a],
      p.ceilMode,
    );
  return [axis(0), axis(1)];
}

function poolGeometry(
  x: readonly number[],
  p: PoolParams,
  inputSize?: [number, number],
): pk.PoolGeometry {
  const [h, w] = inputSize ?? [x[2], x[3]];
  const [oh, ow] = poolOutSize([h, w], p);
  return {
    planes: x[0] * x[1],
    h,
    w,
    oh,
    ow,
    kh: p.kernelSize[0],
    kw: p.kernelSize[1],
    sh: p.stride[0],
    sw: p.stride[1],
    ph: p.padding[0],
    pw: p.padding[1],
    dh: p.dilation[0],
    dw: p.dilation[1],
  };
}

/** Options of {@linkcode maxPool2d}. */
export interface MaxPool2dOptions {
  /** Window size. Required. */
  kernelSize: Pair;
  /** Step between windows. Default kernelSize. */
  stride?: Pair | null;
  /** Implicit -infinity padding per side (at most half the kernel). Default 0. */
  padding?: Pair;
  /** Spacing between window taps. Default 1. */
  dilation?: Pair;
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
}

/** Options of {@linkcode avgPool2d}. */
export interface AvgPool2dOptions {
  /** Window size. Required. */
  kernelSize: Pair;
  /** Step between windows. Default kernelSize. */
  stride?: Pair | null;
  /** Zero padding per side (at most half the kernel). Default 0. */
  padding?: Pair;
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor. Default true. */
  countIncludePad?: boolean;
  /** Divide by this instead of the window size. */
  divisorOverride?: number | null;
}

/** The option keys of a max (with dilation) or average pooling (with countIncludePad and `avgExtra`). */
function poolOptionKeys(kind: "max" | "avg", avgExtra: string[]): string[] {
  return [
    "kernelSize",
    "stride",
    "padding",
    ...(kind === "max" ? ["dilation"] : []),
    "ceilMode",
    ...(kind === "avg" ? ["countIncludePad", ...avgExtra] : []),
  ];
}

/**
 * Checks the options of maxPool2d (`kind` "max") or avgPool2d ("avg") with
 * the op's messages and returns the primitive's params; needs no shape, so a
 * layer checks its options when it is built (`fn` names the caller).
 * @internal
 */
export function poolSettings(
  fn: string,
  options: MaxPool2dOptions,
  kind: "max",
): PoolParams;

export function poolSettings(
  fn: string,
  options: AvgPool2dOptions,
  kind: "avg",
): AvgParams;

export function poolSettings(
  fn: string,
  options: MaxPool2dOptions | AvgPool2dOptions,
  kind: "max" | "avg",
): PoolParams;

export function poolSettings(
  fn: string,
  options: MaxPool2dOptions | AvgPool2dOptions,
  kind: "max" | "avg",
): PoolParams | AvgParams {
  const o = options as MaxPool2dOptions & AvgPool2dOptions;
  checkOptions(fn, o, poolOptionKeys(kind, ["divisorOverride"]));
  if (!o || o.kernelSize === undefined) {
    throw new Error(`${fn}: options.kernelSize is required`);
  }
  const kernelSize = pair(fn, "kernelSize", o.kernelSize, 1);
  const stride = o.stride === undefined || o.stride === null
    ? kernelSize
    : pair(fn, "stride", o.stride, 1);
  const padding = pair(fn, "padding", o.padding ?? 0, 0);
  const dilation = pair(fn, "dilation", o.dilation ?? 1, 1);
  windowInInt32(fn, kernelSize, padding, dilation, fmt);
  for (let a = 0; a < 2; a++) {
    if (padding[a] > kernelSize[a] / 2) {
      throw new Error(
        `${fn}: pad should be at most half of effective kernel size, but got pad=${
          padding[a]
        }, kernel_size=${kernelSize[a]} (padding ${fmt(padding)}, kernelSize ${
          fmt(kernelSize)
        })`,
      );
    }
  }
  const ceilMode = checkBool(fn, "ceilMode", o.ceilMode, false);
  const p: PoolParams = { kernelSize, stride, padding, dilation, ceilMode };
  if (kind === "max") return p;
  const d = o.divisorOverride ?? null;
  if (d !== null && !(Number.isInteger(d) && d !== 0)) {
    throw new Error(
      `${fn}: divisorOverride must be a non-zero integer, got ${showValue(d)}`,
    );
  }
  return {
    ...p,
    countIncludePad: checkBool(
      fn,
      "countIncludePad",
      o.countIncludePad,
      true,
    ),
    divisorOverride: d,
  };
}

/**
 * Throws unless the window's kernel size, padding, dilation and span
 * `dilation·(kernelSize - 1) + 1` are at most 2^31 - 1 on each axis:
 * PyTorch keeps them in an int ("integer out of range"), the kernels too
 * (a stride past it only leaves one window on that axis). `show` formats
 * the values (a 1-D op shows its one axis).
 */
function windowInInt32(
  fn: string,
  kernelSize: readonly number[],
  padding: readonly number[],
  dilation: readonly number[],
  show: (v: readonly number[]) => string,
): void {
  const span = kernelSize.map((k, a) => dilation[a] * (k - 1) + 1);
  const sizes = { kernelSize, padding, dilation, span };
  for (const [name, v] of Object.entries(sizes)) {
    if (v.some((d) => d > 2 ** 31 - 1)) {
      throw new Error(
        `${fn}: ${
          name === "span"
            ? "the window's span dilation·(kernelSize - 1) + 1"
            : name
        } must be at most 2^31 - 1, got ${show(v)} (kernelSize ${
          show(kernelSize)
        }, padding ${show(padding)}, dilation ${show(dilation)})`,
      );
    }
  }
}

/** The shape of x pooled with settled params; throws when a side would be < 1. */
function pooledShape(
  fn: string,
  xShape: readonly number[],
  p: PoolParams,
): number[] {
  const x4 = batchShape(fn, xShape);
  const [oh, ow] = poolOutSize([x4[2], x4[3]], p);
  if (oh < 1 || ow < 1) {
    throw new Error(
      `${fn}: output size would be ${oh}x${ow} (< 1) for x ${
        fmt(x4)
      } with kernelSize ${fmt(p.kernelSize)}, padding ${fmt(p.padding)}${
        // (the pools without a dilation option have 1)
        p.dilation.every((d) => d === 1)
          ? ""
          : `, dilation ${fmt(p.dilation)}`}`,
    );
  }
  return [...xShape.slice(0, -2), oh, ow];
}

/**
 * The output shape of {@linkcode maxPool2d} (`kind` "max") or
 * {@linkcode avgPool2d} ("avg") for x's shape and these options, with the
 * op's checks and errors, without computing anything. @internal
 */
export function pool2dShape(
  xShape: readonly number[],
  options: MaxPool2dOptions | AvgPool2dOptions,
  kind: "max" | "avg",
): number[] {
  const fn = kind === "max" ? "maxPool2d" : "avgPool2d";
  return pooledShape(fn, xShape, poolSettings(fn, options, kind));
}

/**
 * 2-D max pooling as `torch.nn.functional.max_pool2d`; the gradient goes to
 * the first maximum of each window in row-major order (to the last NaN of a
 * window holding NaNs, as PyTorch, where each NaN replaces the maximum).
 *
 * @example
 * ```ts
 * import { maxPool2d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8], [0, 0, 1, 1], [0, 9, 1, 1]]]]);
 * assert.deepEqual(toArray(maxPool2d(x, { kernelSize: 2 })), [[[[4, 8], [9, 1]]]]);
 * ```
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  const fn = "maxPool2d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const p = poolSettings(fn, options, "max");
  pooledShape(fn, x.shape, p);
  return onBatch(x, (x4) => bind(maxPool2dPrim, [x4], p));
}

/**
 * {@linkcode maxPool2d}'s values and where each came from, as
 * `torch.nn.functional.max_pool2d(..., return_indices=True)`: the int32
 * index within its `H·W` plane of each window's first maximum (its last
 * NaN), -1 for a window made only of padding. The indices feed
 * {@linkcode maxUnpool2d}.
 *
 * @example
 * ```ts
 * import { maxPool2dWithIndices, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8]]]]);
 * const { values, indices } = maxPool2dWithIndices(x, { kernelSize: 2 });
 * assert.deepEqual(toArray(values), [[[[4, 8]]]]);
 * assert.deepEqual(toArray(indices), [[[[5, 7]]]]); // row 1, columns 1 and 3 of a 4-wide plane
 * ```
 */
export function maxPool2dWithIndices(
  x: Tensor,
  options: MaxPool2dOptions,
): { values: Tensor; indices: Tensor } {
  const fn = "maxPool2dWithIndices";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const p = poolSettings(fn, options, "max");
  pooledShape(fn, x.shape, p);
  return {
    values: onBatch(x, (x4) => bind(maxPool2dPrim, [x4], p)),
    indices: onBatch(x, (x4) => bind(maxPool2dIndicesPrim, [x4], p)),
  };
}

/** Options of {@linkcode maxUnpool2d}. */
export interface MaxUnpool2dOptions {
  /** The pooling's window size. Required. */
  kernelSize: Pair;
  /** The pooling's stride. Default kernelSize. */
  stride?: Pair | null;
  /** The pooling's padding. Default 0. */
  padding?: Pair;
  /** The output's `[H, W]` (or the whole shape), when the default `(H - 1)·stride - 2·padding + kernelSize` is not the pooled input's (a floor dropped a row). */
  outputSize?: readonly number[] | null;
}

/**
 * The partial inverse of max pooling, as
 * `torch.nn.functional.max_unpool2d`: each value of `x` `[N, C, H, W]` put
 * back at its index (from {@linkcode maxPool2dWithIndices}) in a zero plane
 * of the pooled input's size. Where two values name one index the later
 * one stays, as PyTorch's CPU loop writes them; so the gradient reaches
 * only that one (PyTorch's backward gathers for both).
 *
 * @example
 * ```ts
 * import { maxPool2dWithIndices, maxUnpool2d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2, 5, 6], [3, 4, 7, 8]]]]);
 * const { values, indices } = maxPool2dWithIndices(x, { kernelSize: 2 });
 * assert.deepEqual(toArray(maxUnpool2d(values, indices, { kernelSize: 2 })), [[[[0, 0, 0, 0], [0, 4, 0, 8]]]]);
 * ```
 */
export function maxUnpool2d(
  x: Tensor,
  indices: Tensor,
  options: MaxUnpool2dOptions,
): Tensor {
  const fn = "maxUnpool2d";
  return maxUnpoolNd(fn, x, indices, options, {
    rank: 2,
    // (dilation and ceilMode are not max_unpool2d's: refused, not overridden)
    settle: (pool) =>
      poolSettings(
        fn,
        { ...pool, dilation: 1, ceilMode: false } as MaxPool2dOptions,
        "max",
      ),
    batched: (shape) => batchShape(fn, shape),
  });
}

/** What {@linkcode maxUnpoolNd} needs of a pooling's options, per spatial axis. @internal */
export interface UnpoolGeometry {
  kernelSize: readonly number[];
  stride: readonly number[];
  padding: readonly number[];
}

/** The spatial axes' names in an unpooling's messages, by rank. */
const SPATIAL_NAMES = ["", "[L]", "[H, W]", "[D, H, W]"];

/**
 * maxUnpool1d, maxUnpool2d and maxUnpool3d (`fn`), one code path over the
 * spatial `rank` (`settle` checks the pooling's options with the caller's
 * messages and returns `rank` sizes of each): the arguments checked in
 * the 2-D op's order, the output size (the default
 * `(in - 1)·stride - 2·padding + kernelSize` per axis, or `outputSize`
 * within a stride of it, as PyTorch's `_unpool_output_size`), then each
 * value added into a zero plane at its index, the later of two writes to
 * one index kept (PyTorch's CPU loop). `batched` gives x's shape as
 * `[N, C, ...spatial]` (the op's rank error for any other). @internal
 */
export function maxUnpoolNd(
  fn: string,
  x: Tensor,
  indices: Tensor,
  options: unknown,
  how: {
    rank: 1 | 2 | 3;
    settle: (pool: Readonly<Record<string, unknown>>) => UnpoolGeometry;
    batched: (shape: readonly number[]) => readonly number[];
  },
): Tensor {
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  checkTensor(fn, indices, "indices");
  const rank = how.rank;
  if (indices.dtype !== "int32") {
    throw new Error(
      `${fn}: indices must be int32 (from maxPool${rank}dWithIndices), got ${indices.dtype} ${
        fmt(indices.shape)
      }`,
    );
  }
  if (!sameShape(indices.shape, x.shape)) {
    throw new Error(
      `${fn}: indices ${fmt(indices.shape)} must have x's shape ${
        fmt(x.shape)
      }`,
    );
  }
  if (typeof options !== "object" || options === null) {
    throw new Error(`${fn}: options must be an object with kernelSize`);
  }
  checkOptions(fn, options, ["kernelSize", "stride", "padding", "outputSize"]);
  const { outputSize, ...pool } = options as { outputSize?: unknown };
  const o = how.settle(pool);
  const [n, c, ...spatial] = how.batched(x.shape);
  const dflt = spatial.map((s, a) =>
    (s - 1) * o.stride[a] - 2 * o.padding[a] + o.kernelSize[a]
  );
  let size = dflt;
  if (outputSize !== undefined && outputSize !== null) {
    // the spatial sizes, or x's whole shape, or PyTorch's rank + 2 entries:
    // the last `rank` read
    const given = Array.isArray(outputSize) &&
        [rank, rank + 2, x.shape.length].includes(outputSize.length)
      ? outputSize.slice(-rank)
      : [];
    if (
      given.length !== rank ||
      !given.every((d, a) =>
        Number.isInteger(d) && d > dflt[a] - o.stride[a] &&
        d < dflt[a] + o.stride[a]
      )
    ) {
      throw new Error(
        `${fn}: outputSize must be ${
          SPATIAL_NAMES[rank]
        } within a stride of the default ${fmt(dflt)} (stride ${
          fmt(o.stride)
        }), got ${showValue(outputSize)}`,
      );
    }
    size = given;
  }
  // an output too large is an error before any allocation
  bounded(fn, [["the output", [n, c, ...size]]]);
  const plane = size.reduce((a, b) => a * b, 1);
  const inPlane = spatial.reduce((a, b) => a * b, 1);
  const flatIdx = checkedValues(
    reshape(indices, [n, c, inPlane]),
    (data) => {
      for (let i = 0; i < data.length; i++) {
        if (data[i] < 0 || data[i] >= plane) {
          throw new Error(
            `${fn}: indices must be in [0, ${plane}) (an output plane of ${
              size.join("x")
            }), got ${data[i]} at flat index ${i}`,
          );
        }
      }
    },
  );
  // the last of several writes to one position is the one that stays
  const keep = astype(lastOccurrences(flatIdx), x.dtype);
  const src = mul(reshape(x, [n, c, inPlane]), keep);
  const y = scatterAddAlongAt(src, flatIdx, 2, plane);
  return reshape(y, [...x.shape.slice(0, -rank), ...size]);
}

/**
 * 2-D average pooling as `torch.nn.functional.avg_pool2d`.
 *
 * @example
 * ```ts
 * import { avgPool2d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2], [3, 6]]]]);
 * assert.deepEqual(toArray(avgPool2d(x, { kernelSize: 2 })), [[[[3]]]]);
 * assert.deepEqual(toArray(avgPool2d(x, { kernelSize: 2, padding: 1, countIncludePad: false })), [[[[1, 2], [3, 6]]]]);
 * ```
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const fn = "avgPool2d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const p = poolSettings(fn, options, "avg");
  pooledShape(fn, x.shape, p);
  return onBatch(x, (x4) => bind(avgPool2dPrim, [x4], p));
}

/**
 * The longest of adaptive pooling's windows along an axis of `size` for
 * `out` outputs, without visiting them: with `size = q·out + r` and
 * g = gcd(size, out), window i holds q + ceil((i·size mod out + r) / out)
 * entries and i·size mod out reaches out - g, so the longest holds q
 * (r = 0), q + 1 (r = g) or q + 2 (r > g). @internal
 */
export function adaptiveLongest(size: number, out: number): number {
  const q = Math.floor(size / out), r = size - q * out;
  if (r === 0) return q;
  let a = size, b = out;
  while (b !== 0) [a, b] = [b, a % b];
  return r > a ? q + 2 : q + 1;
}

/** The largest table of one axis's windows that adaptive pooling builds (as conv3d's depth taps). */
const ADAPTIVE_TABLE_LIMIT = 2 ** 26;

/**
 * Throws unless adaptive pooling of x `xShape` to `outs` (its last
 * `outs.length` axes, pooled the last first, as the ops do) stays within
 * the arrays it may build: the output and each axis's gathered windows at
 * most 2^31 - 1 elements, each axis's window table at most 2^26; so an
 * outputSize too large is an Error naming it before any allocation or
 * loop. `shown` is outputSize as the caller's message shows it. @internal
 */
export function adaptiveBounds(
  fn: string,
  xShape: readonly number[],
  outs: readonly number[],
  shown: string = fmt(outs),
): void {
  const r = xShape.length, m = outs.length;
  const context = `outputSize ${shown} is too large for x ${fmt(xShape)}: `;
  const check = (what: string, shape: readonly number[], limit: number) =>
    bounded(fn, [[what, shape, limit]], context);
  check("the output", [...xShape.slice(0, r - m), ...outs], 2 ** 31 - 1);
  const now = xShape.slice();
  for (let j = m - 1; j >= 0; j--) {
    const a = r - m + j, o = outs[j], k = adaptiveLongest(xShape[a], o);
    check("the window table", [o, k], ADAPTIVE_TABLE_LIMIT);
    check(
      "the gathered windows",
      [...now.slice(0, a), o, k, ...now.slice(a + 1)],
      2 ** 31 - 1,
    );
    now[a] = o;
  }
}

/**
 * Adaptive pooling's windows along an axis of `size` for `out` outputs
 * (PyTorch's: window i spans floor(i·size/out) to ceil((i+1)·size/out)) as
 * an int32 `[out, k]` table of positions, k the largest window, each
 * window padded with `fill` (its last entry again when "last"); and each
 * window's length. Typed arrays filled by loops (no array per window, no
 * spread): a table of millions of windows costs its bytes, no more. The
 * caller has bounded `out` ({@linkcode adaptiveBounds}). @internal
 */
export function adaptiveWindows(
  fn: string,
  size: number,
  out: number,
  fill: number | "last",
): { positions: Tensor; lengths: Int32Array; k: number } {
  const k = adaptiveLongest(size, out);
  const idx = allocShape(fn, "int32", [out, k]);
  const lengths = allocShape(fn, "int32", [out]) as Int32Array;
  for (let i = 0; i < out; i++) {
    const s = Math.floor((i * size) / out),
      e = Math.ceil(((i + 1) * size) / out);
    lengths[i] = e - s;
    const pad = fill === "last" ? e - 1 : fill;
    for (let t = 0; t < k; t++) idx[i * k + t] = s + t < e ? s + t : pad;
  }
  return {
    positions: fromData(idx, [out, k]),
    lengths,
    k,
  };
}

/**
 * Adaptive average pooling of x along `axis` to `out`: each window's
 * entries gathered (a zero appended for the shorter ones), summed and
 * divided by its length, so a non-finite entry reaches only its own
 * windows (a product with an averaging matrix would spread its NaN). @internal
 */
export function adaptiveAvgAlong(
  fn: string,
  x: Tensor,
  axis: number,
  out: number,
): Tensor {
  const size = x.shape[axis];
  const { positions, lengths } = adaptiveWindows(fn, size, out, size);
  const zero = pad(
    x,
    x.shape.map((_, a) => (a === axis ? [0, 1] : [0, 0])) as [
      number,
      number,
    ][],
  );
  const total = sum(gatherAt(zero, positions, axis), { axis: axis + 1 });
  const shape = x.shape.map((_, a) => (a === axis ? out : 1));
  return div(total, tensor(lengths, { shape, dtype: x.dtype }));
}

/**
 * The entry of v along `axis` that max pooling picks in each window, as
 * PyTorch's: the first maximum, or the last NaN of a window holding NaNs
 * (NaNs ranked by position, the largest rank winning); the axis removed.
 * @internal
 */
export function firstMaxAlong(v: Tensor, axis: number): Tensor {
  return squeeze(takeAlongAxisAt(v, firstMaxPick(v, axis), axis), axis);
}

/**
 * The position along `axis` of the entry {@linkcode firstMaxAlong} reads
 * (int32, the axis kept with size 1): the first maximum, or the last NaN.
 * @internal
 */
export function firstMaxPick(v: Tensor, axis: number): Tensor {
  const k = v.shape[axis];
  const nan = notEqual(v, v);
  const rank = mul(
    nan,
    reshape(
      arange(1, k + 1, 1, { dtype: "int32" }),
      v.shape.slice(axis).map((d, a) => (a === 0 ? d : 1)),
    ),
  );
  const o = { axis, keepDims: true };
  return where(any(nan, o), argmax(rank, o), argmax(v, o));
}

/**
 * The output shape of {@linkcode adaptiveAvgPool2d}, with the op's checks and
 * errors, without computing anything. @internal
 */
export function adaptiveAvgPool2dShape(
  xShape: readonly number[],
  outputSize: number | readonly [number | null, number | null],
): number[] {
  return adaptiveShape("adaptiveAvgPool2d", xShape, outputSize);
}

/**
 * outputSize with its `null` entries (PyTorch's `None`: keep the input's
 * size) replaced by the sizes of x's last `n` axes; anything else as given
 * (checked by the caller). @internal
 */
export function keepInputSize(
  outputSize: unknown,
  xShape: readonly number[],
  n: number,
): unknown {
  if (!Array.isArray(outputSize) || outputSize.length !== n) return outputSize;
  return outputSize.map((d, a) =>
    d === null && xShape.length >= n ? xShape[xShape.length - n + a] : d
  );
}

/** An adaptive 2-D pool's output shape (`fn` names it): every window holds an entry of x, as PyTorch requires. */
function adaptiveShape(
  fn: string,
  xShape: readonly number[],
  outputSize: number | readonly [number | null, number | null],
): number[] {
  const [, , h, w] = batchShape(fn, xShape);
  if (h < 1 || w < 1) {
    throw new Error(
      `${fn}: x's height and width must be >= 1, got x ${fmt(xShape)}`,
    );
  }
  const out = pair(
    fn,
    "outputSize",
    keepInputSize(outputSize, xShape, 2) as Pair,
    1,
  );
  adaptiveBounds(fn, xShape, out);
  return [...xShape.slice(0, -2), ...out];
}

/**
 * Adaptive average pooling to `outputSize` as
 * `torch.nn.functional.adaptive_avg_pool2d` (window i spans
 * floor(i·H/out) to ceil((i+1)·H/out)); a composition: the windows'
 * entries gathered and averaged along the width, then the height. A `null`
 * entry of `outputSize` keeps that axis's size (PyTorch's `None`).
 *
 * @example
 * ```ts
 * import { adaptiveAvgPool2d, arange, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(9), [1, 1, 3, 3]);
 * assert.deepEqual(toArray(adaptiveAvgPool2d(x, 1)), [[[[4]]]]);
 * assert.deepEqual(adaptiveAvgPool2d(x, [2, 2]).shape, [1, 1, 2, 2]);
 * ```
 */
export function adaptiveAvgPool2d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null],
): Tensor {
  using _op = userOp("adaptiveAvgPool2d");
  const fn = "adaptiveAvgPool2d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const [oh, ow] = adaptiveAvgPool2dShape(x.shape, outputSize).slice(-2);
  const r = x.shape.length;
  return adaptiveAvgAlong(fn, adaptiveAvgAlong(fn, x, r - 1, ow), r - 2, oh);
}

/**
 * The output shape of {@linkcode adaptiveMaxPool2d}, with the op's checks
 * and errors, without computing anything. @internal
 */
export function adaptiveMaxPool2dShape(
  xShape: readonly number[],
  outputSize: number | readonly [number | null, number | null],
): number[] {
  return adaptiveShape("adaptiveMaxPool2d", xShape, outputSize);
}

/**
 * Adaptive max pooling to `outputSize` as
 * `torch.nn.functional.adaptive_max_pool2d`: output (i, j) is the maximum
 * of rows floor(i·H/oh) to ceil((i+1)·H/oh) and the same columns for j;
 * the gradient goes to each window's first maximum in row-major order (its
 * last NaN when it holds NaNs), as PyTorch's. A composition: along the
 * width, then the height, the windows are gathered and each one's first
 * maximum (last NaN) is read. A `null` entry of `outputSize` keeps that
 * axis's size (PyTorch's `None`).
 *
 * @example
 * ```ts
 * import { adaptiveMaxPool2d, arange, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(9), [1, 1, 3, 3]);
 * // rows [0, 2) and [1, 3), and the same columns
 * assert.deepEqual(toArray(adaptiveMaxPool2d(x, 2)), [[[[4, 5], [7, 8]]]]);
 * ```
 */
export function adaptiveMaxPool2d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null],
): Tensor {
  using _op = userOp("adaptiveMaxPool2d");
  const fn = "adaptiveMaxPool2d";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const [oh, ow] = adaptiveMaxPool2dShape(x.shape, outputSize).slice(-2);
  const r = x.shape.length;
  // separable: each row's first maximum, then the first row's (the first
  // maximum in row-major order; the last NaN likewise)
  return adaptiveMaxAlong(fn, adaptiveMaxAlong(fn, x, r - 1, ow), r - 2, oh);
}

/**
 * Adaptive max pooling of x along `axis` to `out`: each window's entries
 * gathered (the shorter ones padded with their last entry, which moves
 * neither rule's choice) and {@linkcode firstMaxAlong} read. @internal
 */
export function adaptiveMaxAlong(
  fn: string,
  x: Tensor,
  axis: number,
  out: number,
): Tensor {
  const { positions } = adaptiveWindows(fn, x.shape[axis], out, "last");
  return firstMaxAlong(gatherAt(x, positions, axis), axis + 1);
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

/** The batching rule of every pooling primitive: the examples fold into N. */
function poolBatch<P>(prim: () => Primitive<P>): BatchRule<P> {
  return (vals, dims, p) => {
    const b = batchSize(vals, dims);
    const folded = vals.map((v, i) => foldIntoN(batchFront(v, dims[i], b)));
    const y = bind(prim(), folded.map(([f]) => f), p);
    return [folded[0][1](y), 0];
  };
}

const maxPool2dPrim: Primitive<PoolParams> = definePrimitive({
  name: "maxPool2d",
  forward: ([x], p) => {
    const g = poolGeometry(x.shape, p);
    // the argmax is kept only when a backward pass may ask for it
    const y = pk.maxPoolForward(x.data, g, undefined, differentiating());
    return fromData(y, [x.shape[0], x.shape[1], g.oh, g.ow]);
  },
  vjp: ([x], _y, p) => [(g) => bind(maxPool2dScatterPrim, [g, x], p)], // g goes to each window's first max
  jvp: ([x], [t], _y, p) => bind(maxPool2dGatherPrim, [t!, x], p),
  batch: poolBatch(() => maxPool2dPrim),
});

/**
 * maxPool2dScatter's forward, then `reluMask(·, mask)` when given (in the
 * kernel; reading `pooled`, window-shaped, when given too: see
 * pk.maxPoolScatter).
 */
const scatterKernel = (
  gr: Tensor,
  x: Tensor,
  p: PoolParams,
  mask?: Tensor,
  pooled?: Tensor,
) => {
  const g = poolGeometry(x.shape, p);
  const idx = pk.maxPoolArgmax(x.data, g);
  return fromData(
    pk.maxPoolScatter(gr.data, idx, g, mask?.data, pooled?.data),
    x.shape,
  );
};

const maxPool2dScatterPrim: Primitive<PoolParams> = definePrimitive({
  name: "maxPool2dScatter",
  forward: ([gr, x], p) => scatterKernel(gr, x, p),
  // relu's VJP after it (relu before the pooling) masks as the kernel stores
  epilogue: { reluMask: ([gr, x], p, [m]) => scatterKernel(gr, x, p, m) },
  // relu's mask being the pooling's input x: the pooled maxima are its
  // values at the argmaxes (when the plan computes maxPool2d of x)
  epilogueFrom: {
    name: "reluMask",
    input: 1,
    producer: "maxPool2d",
    forward: ([gr, x], p, [m], y) => scatterKernel(gr, x, p, m, y),
  },
  vjp: ([, x], _y, p) => [(g) => bind(maxPool2dGatherPrim, [g, x], p), null], // linear in g; x only picks positions
  // (linear in g; with only x traced, x just picks positions: zero)
  jvp: ([, x], [t], y, p) =>
    t ? bind(maxPool2dScatterPrim, [t, x], p) : zerosLike(y),
  batch: poolBatch(() => maxPool2dScatterPrim),
});

const maxPool2dGatherPrim: Primitive<PoolParams> = definePrimitive({
  name: "maxPool2dGather",
  forward: ([t, x], p) => {
    const g = poolGeometry(x.shape, p);
    const out = allocData(t.dtype, g.planes * g.oh * g.ow);
    return fromData(
      pk.poolGather(t.data, pk.maxPoolArgmax(x.data, g), g, out),
      [x.shape[0], x.shape[1], g.oh, g.ow],
    );
  },
  vjp: ([, x], _y, p) => [(g) => bind(maxPool2dScatterPrim, [g, x], p), null],
  jvp: ([, x], [t], y, p) =>
    t ? bind(maxPool2dGatherPrim, [t, x], p) : zerosLike(y),
  batch: poolBatch(() => maxPool2dGatherPrim),
});

/** maxPool2dIndices: the argmax of each window within its plane (int32); no derivative. */
const maxPool2dIndicesPrim: Primitive<PoolParams> = definePrimitive({
  name: "maxPool2dIndices",
  forward: ([x], p) => {
    const g = poolGeometry(x.shape, p);
    // a copy: the kernel may keep its array for a backward pass
    const idx = Int32Array.from(pk.maxPoolArgmax(x.data, g));
    return fromData(idx, [x.shape[0], x.shape[1], g.oh, g.ow]);
  },
  vjp: () => [null],
  batch: poolBatch(() => maxPool2dIndicesPrim),
});

const avgPool2dPrim: Primitive<AvgParams> = definePrimitive({
  name: "avgPool2d",
  forward: ([x], p) => {
    const g = poolGeometry(x.shape, p);
    const out = allocData(x.dtype, g.planes * g.oh * g.ow);
    return fromData(pk.avgPoolForward(x.data, g, p, out), [
      x.shape[0],
      x.shape[1],
      g.oh,
      g.ow,
    ]);
  },
  vjp: (
    [x],
    _y,
    p,
  ) => [
    (g) =>
      bind(avgPool2dAdjointPrim, [g], {
        ...p,
        inputSize: [x.shape[2], x.shape[3]],
      }),
  ],
  jvp: (_, [t], _y, p) => bind(avgPool2dPrim, [t!], p),
  batch: poolBatch(() => avgPool2dPrim),
});

const avgPool2dAdjointPrim: Primitive<
  AvgParams & { inputSize: [number, number] }
> = definePrimitive({
  name: "avgPool2dAdjoint",
  forward: ([y], p) => {
    const g = poolGeometry(y.shape, p, p.inputSize);
    const out = allocData(y.dtype, g.planes * g.h * g.w);
    return fromData(pk.avgPoolAdjoint(y.data, g, p, out), [
      y.shape[0],
      y.shape[1],
      g.h,
      g.w,
    ]);
  },
  vjp: (_, __, { inputSize: _s, ...p }) => [(g) => bind(avgPool2dPrim, [g], p)],
  jvp: (_, [t], _y, p) => bind(avgPool2dAdjointPrim, [t!], p),
  batch: poolBatch(() => avgPool2dAdjointPrim),
});

// ---------------------------------------------------------------------------
// the public ops

// ---------------------------------------------------------------------------
// 1-D pooling: the 2-D ops on a height of 1, with their arguments checked
// first and 1-D messages

/** Options of {@linkcode maxPool1d}. */
export interface MaxPool1dOptions {
  /** Window size. Required. */
  kernelSize: number;
  /** Step between windows. Default kernelSize. */
  stride?: number | null;
  /** Implicit -infinity padding per side (at most half the kernel). Default 0. */
  padding?: number;
  /** Spacing between window taps. Default 1. */
  dilation?: number;
  /** Use ceil instead of floor for the output length. Default false. */
  ceilMode?: boolean;
}

/** Options of {@linkcode avgPool1d}. */
export interface AvgPool1dOptions {
  /** Window size. Required. */
  kernelSize: number;
  /** Step between windows. Default kernelSize. */
  stride?: number | null;
  /** Zero padding per side (at most half the kernel). Default 0. */
  padding?: number;
  /** Use ceil instead of floor for the output length. Default false. */
  ceilMode?: boolean;
  /** Count padded zeros in the divisor. Default true. */
  countIncludePad?: boolean;
}

/**
 * Checks the options of maxPool1d (`kind` "max") or avgPool1d ("avg") with
 * 1-D messages and returns them as the 2-D op's (height 1); needs no shape,
 * so a layer checks its options when it is built. @internal
 */
export function pool1dSettings(
  fn: string,
  options: MaxPool1dOptions | AvgPool1dOptions,
  kind: "max" | "avg",
): MaxPool2dOptions & AvgPool2dOptions {
  const o = options as MaxPool1dOptions & AvgPool1dOptions;
  checkOptions(fn, o, poolOptionKeys(kind, []));
  // the sizes as the 2-D op's [1, n], checked here for 1-D messages
  const lift = (name: "kernelSize" | "stride" | "padding" | "dilation") => {
    const v = o?.[name];
    // (null is a setting's default; a null kernelSize is refused as 1-D)
    return v === undefined || (v === null && name !== "kernelSize") ? v : [
      name === "padding" ? 0 : 1,
      single(fn, name, v, name === "padding" ? 0 : 1),
    ] as [number, number];
  };
  const lifted: MaxPool2dOptions & AvgPool2dOptions = {
    ...o,
    kernelSize: lift("kernelSize")!,
    stride: lift("stride"),
    padding: lift("padding") ?? [0, 0],
    ...(kind === "max" ? { dilation: lift("dilation") ?? [1, 1] } : {}),
  };
  const k = lifted.kernelSize as number[] | null | undefined;
  const p = (lifted.padding as number[])[1];
  if (k && p > k[1] / 2) {
    throw new Error(
      `${fn}: pad should be at most half of effective kernel size, but got pad=${p}, kernel_size=${
        k[1]
      }`,
    );
  }
  if (k) {
    const d = (lifted.dilation ?? [1, 1]) as number[];
    windowInInt32(fn, k, lifted.padding as number[], d, (v) => String(v[1]));
  }
  poolSettings(fn, lifted, kind); // the rest: kernelSize required, ceilMode, countIncludePad
  return lifted;
}

/**
 * The output shape of {@linkcode maxPool1d} (`kind` "max") or
 * {@linkcode avgPool1d} ("avg") for x's shape and these options, with the
 * op's checks and errors, without computing anything. @internal
 */
export function pool1dShape(
  xShape: readonly number[],
  options: MaxPool1dOptions | AvgPool1dOptions,
  kind: "max" | "avg",
  fn = kind === "max" ? "maxPool1d" : "avgPool1d",
): number[] {
  const p = poolSettings(fn, pool1dSettings(fn, options, kind), kind);
  const [, , l] = lengthBatchShape(fn, xShape);
  const [, ol] = poolOutSize([1, l], p);
  if (ol < 1) {
    throw new Error(
      `${fn}: output length would be ${ol} (< 1) for x ${
        fmt(xShape)
      } with kernelSize ${p.kernelSize[1]}, padding ${p.padding[1]}, dilation ${
        p.dilation[1]
      }`,
    );
  }
  return [...xShape.slice(0, -1), ol];
}

/**
 * 1-D max pooling as `torch.nn.functional.max_pool1d` on x `[N, C, L]` (or
 * unbatched `[C, L]`); the gradient goes to the first maximum of each
 * window. It runs as {@linkcode maxPool2d} on a height of 1.
 *
 * @example
 * ```ts
 * import { maxPool1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 5, 2, 4, 3]]]);
 * assert.deepEqual(toArray(maxPool1d(x, { kernelSize: 2 })), [[[5, 4]]]);
 * assert.deepEqual(toArray(maxPool1d(x, { kernelSize: 2, ceilMode: true })), [[[5, 4, 3]]]);
 * assert.deepEqual(toArray(maxPool1d(x, { kernelSize: 3, stride: 1, padding: 1 })), [[[5, 5, 5, 4, 4]]]);
 * ```
 */
export function maxPool1d(x: Tensor, options: MaxPool1dOptions): Tensor {
  return pool1d(x, options, "max");
}

/**
 * 1-D average pooling as `torch.nn.functional.avg_pool1d` on x `[N, C, L]`
 * (or unbatched `[C, L]`). It runs as {@linkcode avgPool2d} on a height of 1.
 *
 * @example
 * ```ts
 * import { avgPool1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 3, 5, 7]]]);
 * assert.deepEqual(toArray(avgPool1d(x, { kernelSize: 2 })), [[[2, 6]]]);
 * assert.deepEqual(toArray(avgPool1d(x, { kernelSize: 2, padding: 1 })), [[[0.5, 4, 3.5]]]);
 * assert.deepEqual(toArray(avgPool1d(x, { kernelSize: 2, padding: 1, countIncludePad: false })), [[[1, 4, 7]]]);
 * ```
 */
export function avgPool1d(x: Tensor, options: AvgPool1dOptions): Tensor {
  return pool1d(x, options, "avg");
}

/** maxPool1d or avgPool1d: checked with 1-D messages, then the 2-D op on a height of 1. */
function pool1d(
  x: Tensor,
  options: MaxPool1dOptions | AvgPool1dOptions,
  kind: "max" | "avg",
): Tensor {
  const fn = kind === "max" ? "maxPool1d" : "avgPool1d";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  pool1dShape(x.shape, options, kind);
  const lifted = pool1dSettings(fn, options, kind);
  return onLength(
    x,
    (x2) => kind === "max" ? maxPool2d(x2, lifted) : avgPool2d(x2, lifted),
  );
}

/**
 * {@linkcode maxPool1d}'s values and where each came from, as
 * `torch.nn.functional.max_pool1d(..., return_indices=True)` on x
 * `[N, C, L]` (or unbatched `[C, L]`): the int32 position along L of each
 * window's first maximum (its last NaN), -1 for a window made only of
 * padding (PyTorch's index there lies outside the window). It runs as
 * {@linkcode maxPool2dWithIndices} on a height of 1. The indices feed
 * {@linkcode maxUnpool1d}.
 *
 * @example
 * ```ts
 * import { maxPool1dWithIndices, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 5, 2, 4, 3]]]);
 * const { values, indices } = maxPool1dWithIndices(x, { kernelSize: 2 });
 * assert.deepEqual(toArray(values), [[[5, 4]]]);
 * assert.deepEqual(toArray(indices), [[[1, 3]]]);
 * ```
 */
export function maxPool1dWithIndices(
  x: Tensor,
  options: MaxPool1dOptions,
): { values: Tensor; indices: Tensor } {
  const fn = "maxPool1dWithIndices";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  pool1dShape(x.shape, options, "max", fn);
  const lifted = pool1dSettings(fn, options, "max");
  // (the index h·L + l within the 1 x L plane is l)
  const { values, indices } = maxPool2dWithIndices(expandDims(x, -2), lifted);
  return { values: squeeze(values, -2), indices: squeeze(indices, -2) };
}

/** Options of {@linkcode maxUnpool1d}. */
export interface MaxUnpool1dOptions {
  /** The pooling's window size. Required. */
  kernelSize: number;
  /** The pooling's stride. Default kernelSize. */
  stride?: number | null;
  /** The pooling's padding. Default 0. */
  padding?: number;
  /** The output's `[L]` (or the whole shape), when the default `(L - 1)·stride - 2·padding + kernelSize` is not the pooled input's (a floor dropped an entry). */
  outputSize?: readonly number[] | null;
}

/**
 * The partial inverse of 1-D max pooling, as
 * `torch.nn.functional.max_unpool1d`: each value of `x` `[N, C, L]` (or
 * unbatched `[C, L]`) put back at its index (from
 * {@linkcode maxPool1dWithIndices}) in a zero row of the pooled input's
 * length. Where two values name one index the later one stays, as
 * PyTorch's CPU loop writes them; so the gradient reaches only that one
 * (PyTorch's backward gathers for both). The same code as
 * {@linkcode maxUnpool2d}.
 *
 * @example
 * ```ts
 * import { maxPool1dWithIndices, maxUnpool1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 5, 2, 4, 3]]]);
 * const { values, indices } = maxPool1dWithIndices(x, { kernelSize: 2 });
 * assert.deepEqual(toArray(maxUnpool1d(values, indices, { kernelSize: 2 })), [[[0, 5, 0, 4]]]);
 * // the floor dropped the last entry: outputSize gives the length back
 * assert.deepEqual(toArray(maxUnpool1d(values, indices, { kernelSize: 2, outputSize: [5] })), [[[0, 5, 0, 4, 0]]]);
 * ```
 */
export function maxUnpool1d(
  x: Tensor,
  indices: Tensor,
  options: MaxUnpool1dOptions,
): Tensor {
  const fn = "maxUnpool1d";
  return maxUnpoolNd(fn, x, indices, options, {
    rank: 1,
    settle: (pool) => {
      const lifted = pool1dSettings(
        fn,
        { ...pool, dilation: 1, ceilMode: false } as MaxPool1dOptions,
        "max",
      );
      const p = poolSettings(fn, lifted, "max");
      return {
        kernelSize: [p.kernelSize[1]],
        stride: [p.stride[1]],
        padding: [p.padding[1]],
      };
    },
    batched: (shape) => lengthBatchShape(fn, shape),
  });
}

// ---------------------------------------------------------------------------
// 1-D adaptive pooling: the 2-D ops on a height of 1

/**
 * The output shape of {@linkcode adaptiveAvgPool1d} (`kind` "avg") or
 * {@linkcode adaptiveMaxPool1d} ("max"), with the op's checks and errors,
 * without computing anything. @internal
 */
export function adaptivePool1dShape(
  xShape: readonly number[],
  outputSize: number,
  kind: "max" | "avg",
): number[] {
  const fn = kind === "max" ? "adaptiveMaxPool1d" : "adaptiveAvgPool1d";
  const [, , l] = lengthBatchShape(fn, xShape);
  const out = single(fn, "outputSize", outputSize, 1);
  if (l < 1) {
    throw new Error(`${fn}: x's length must be >= 1, got x ${fmt(xShape)}`);
  }
  // an output too large is an error before any allocation or loop
  adaptiveBounds(fn, xShape, [out], String(out));
  return [...xShape.slice(0, -1), out];
}

/**
 * Adaptive average pooling of x `[N, C, L]` (or unbatched `[C, L]`) to
 * `outputSize` as `torch.nn.functional.adaptive_avg_pool1d` (window i spans
 * floor(i·L/out) to ceil((i+1)·L/out)); {@linkcode adaptiveAvgPool2d} on a
 * height of 1.
 *
 * @example
 * ```ts
 * import { adaptiveAvgPool1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 2, 3, 4, 5]]]);
 * // windows [0, 3) and [2, 5)
 * assert.deepEqual(toArray(adaptiveAvgPool1d(x, 2)), [[[2, 4]]]);
 * ```
 */
export function adaptiveAvgPool1d(x: Tensor, outputSize: number): Tensor {
  return adaptivePool1d(x, outputSize, "avg");
}

/**
 * Adaptive max pooling of x `[N, C, L]` (or unbatched `[C, L]`) to
 * `outputSize` as `torch.nn.functional.adaptive_max_pool1d`: the maximum of
 * entries floor(i·L/out) to ceil((i+1)·L/out), the gradient to the first
 * maximum (the last NaN); {@linkcode adaptiveMaxPool2d} on a height of 1.
 *
 * @example
 * ```ts
 * import { adaptiveMaxPool1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 5, 2, 4, 3]]]);
 * assert.deepEqual(toArray(adaptiveMaxPool1d(x, 2)), [[[5, 4]]]);
 * ```
 */
export function adaptiveMaxPool1d(x: Tensor, outputSize: number): Tensor {
  return adaptivePool1d(x, outputSize, "max");
}

/** adaptiveAvgPool1d or adaptiveMaxPool1d: checked with 1-D messages, then the 2-D op. */
function adaptivePool1d(
  x: Tensor,
  outputSize: number,
  kind: "max" | "avg",
): Tensor {
  const fn = kind === "max" ? "adaptiveMaxPool1d" : "adaptiveAvgPool1d";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const out = adaptivePool1dShape(x.shape, outputSize, kind).at(-1)!;
  const op = kind === "max" ? adaptiveMaxPool2d : adaptiveAvgPool2d;
  return onLength(x, (x2) => op(x2, [1, out]));
}

// ---------------------------------------------------------------------------
// power-average pooling

/** Options of {@linkcode lpPool2d}. */
export interface LpPool2dOptions {
  /** The power p (PyTorch's `norm_type`): finite and nonzero. Required. */
  normType: number;
  /** Window size. Required. */
  kernelSize: Pair;
  /** Step between windows. Default kernelSize. */
  stride?: Pair | null;
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
}

/** Options of {@linkcode lpPool1d}. */
export interface LpPool1dOptions {
  /** The power p (PyTorch's `norm_type`): finite and nonzero. Required. */
  normType: number;
  /** Window size. Required. */
  kernelSize: number;
  /** Step between windows. Default kernelSize. */
  stride?: number | null;
  /** Use ceil instead of floor for the output length. Default false. */
  ceilMode?: boolean;
}

/**
 * Checks lpPool1d's or lpPool2d's options (`fn` names the caller) and
 * returns the power and the average pooling's options (no padding, the
 * padding counted, as PyTorch's). @internal
 */
export function lpPoolSettings(
  fn: string,
  options: LpPool1dOptions | LpPool2dOptions,
): { normType: number; pool: AvgPool2dOptions & AvgPool1dOptions } {
  checkOptions(fn, options, ["normType", "kernelSize", "stride", "ceilMode"]);
  const p = options?.normType;
  if (p === undefined) throw new Error(`${fn}: options.normType is required`);
  if (typeof p !== "number" || !Number.isFinite(p) || p === 0) {
    throw new Error(
      `${fn}: normType must be a finite nonzero number, got ${describe(p)}`,
    );
  }
  const { kernelSize, stride, ceilMode } = options;
  return {
    normType: p,
    pool: { kernelSize, stride, ceilMode, padding: 0 } as
      & AvgPool2dOptions
      & AvgPool1dOptions,
  };
}

/**
 * Power-average pooling as `torch.nn.functional.lp_pool2d`: each window's
 * (Σ x^p)^(1/p), computed as PyTorch does, from the average pooling of x^p
 * times the window's size (so a window cut short by ceilMode is summed as
 * PyTorch sums it), with PyTorch's gradients. p = 1 is sum pooling; as p
 * grows it approaches max pooling (of nonnegative inputs).
 *
 * @example
 * ```ts
 * import { lpPool2d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[3, 0], [0, 4]]]]);
 * assert.deepEqual(toArray(lpPool2d(x, { normType: 2, kernelSize: 2 })), [[[[5]]]]);
 * assert.deepEqual(toArray(lpPool2d(x, { normType: 1, kernelSize: 2 })), [[[[7]]]]);
 * ```
 */
export function lpPool2d(x: Tensor, options: LpPool2dOptions): Tensor {
  const fn = "lpPool2d";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const { normType, pool } = lpPoolSettings(fn, options);
  const p = poolSettings(fn, pool, "avg");
  pooledShape(fn, x.shape, p);
  const [kh, kw] = p.kernelSize;
  return lpFinish(avgPool2d(pow(x, normType), pool), normType, kh * kw);
}

/**
 * 1-D power-average pooling as `torch.nn.functional.lp_pool1d` on x
 * `[N, C, L]` (or unbatched `[C, L]`): each window's (Σ x^p)^(1/p), as
 * {@linkcode lpPool2d}.
 *
 * @example
 * ```ts
 * import { lpPool1d, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[3, 4, 6, 8]]]);
 * assert.deepEqual(toArray(lpPool1d(x, { normType: 2, kernelSize: 2 })), [[[5, 10]]]);
 * ```
 */
export function lpPool1d(x: Tensor, options: LpPool1dOptions): Tensor {
  const fn = "lpPool1d";
  using _op = userOp(fn);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const { normType, pool } = lpPoolSettings(fn, options);
  const lifted = pool1dSettings(fn, pool, "avg");
  pool1dShape(x.shape, pool, "avg", fn);
  const k = (lifted.kernelSize as [number, number])[1];
  const pooled = onLength(pow(x, normType), (x2) => avgPool2d(x2, lifted));
  return lpFinish(pooled, normType, k);
}

/** PyTorch's last step of Lp pooling: (sign(a) · relu(|a|)) · k, to the power 1/p. */
const lpFinish = (avg: Tensor, p: number, k: number) =>
  pow(mul(mul(sign(avg), relu(abs(avg))), k), 1 / p);
