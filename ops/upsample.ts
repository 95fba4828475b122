/**
 * Resampling: `interpolate` as `torch.nn.functional.interpolate` for
 * `[N, C, L]`, `[N, C, H, W]` and `[N, C, D, H, W]` inputs, modes "nearest"
 * (PyTorch's legacy nearest), "nearest-exact", "linear", "bilinear",
 * "bicubic", "trilinear" and "area", and antialiased "bilinear" and
 * "bicubic" (PyTorch's `antialias=True`, PIL's resampling filters).
 *
 * No primitive of its own: along each resized axis the output is a fixed
 * linear map of the input, applied with the existing ops. Nearest resizing
 * by an integer factor is a reshape and a broadcast (up) or a reshape and a
 * slice (down), any other a gather; a linear resize gathers each output's
 * two sources and weighs them (one pass per axis, two for bilinear); an
 * antialiased one gathers each output's window of sources (its width grows
 * with the downscaling factor) and weighs them. So it
 * is differentiable to any order, batchable, jittable and exportable to
 * ONNX with the rules those ops already have. The weights are computed with
 * PyTorch's source-index formulas in its arithmetic (float32 or float64),
 * so they are PyTorch's bit for bit.
 *
 * @module
 */
import {
  checkBool,
  checkOptions,
  checkTensor,
  type DType,
  sizeOf,
  type Tensor,
  tensor,
} from "./tensor.ts";
import { userOp } from "./debug.ts";
import { floatCheck, fmt, showValue } from "./_args.ts";
import { add, mul } from "./elementwise.ts";
import { gatherAt } from "./indexing.ts";
import { broadcastTo, pad, reshape, slice, sum } from "./structural.ts";
import { adaptiveAvgPool1d, adaptiveAvgPool2d } from "./pool.ts";
import { adaptiveAvgPool3d } from "./conv3d.ts";

/** The resampling modes of {@linkcode interpolate}. */
export type InterpolateMode =
  | "nearest"
  | "nearest-exact"
  | "linear"
  | "bilinear"
  | "bicubic"
  | "trilinear"
  | "area";

/** Options of {@linkcode interpolate}: exactly one of `size` and `scaleFactor`. */
export interface InterpolateOptions {
  /** Output size of the spatial axes: one number for all, or one per axis. */
  size?: number | readonly number[];
  /** Multiplier of the spatial sizes (output = floor(input · scaleFactor)): one for all, or one per axis. */
  scaleFactor?: number | readonly number[];
  /**
   * "nearest" (default), "nearest-exact" and "area" (`[N, C, L]`, `[N, C, H,
   * W]` or `[N, C, D, H, W]`), "linear" (`[N, C, L]`), "bilinear" and
   * "bicubic" (`[N, C, H, W]`) or "trilinear" (`[N, C, D, H, W]`).
   */
  mode?: InterpolateMode;
  /**
   * Linear and cubic modes: map the corner pixels' centres onto each other
   * (source index `dst·(in - 1)/(out - 1)`) instead of the corners' edges
   * (source `(dst + 0.5)·scale - 0.5`). Only with those modes. Default
   * false.
   */
  alignCorners?: boolean;
  /** With `scaleFactor`: compute the source scale from the output size (as `size` does) instead of using 1/scaleFactor. Default false. */
  recomputeScaleFactor?: boolean;
  /**
   * "bilinear" and "bicubic" only (PyTorch's `antialias`): resample with
   * PIL's filters, whose support is stretched by the downscaling factor,
   * so that every input pixel under an output pixel counts (a triangle of
   * half-width `scale` for bilinear, Keys' cubic with a = -0.5 and
   * half-width `2·scale` for bicubic, where scale = in/out, or
   * `(in - 1)/(out - 1)` with alignCorners; at least 1 and 2), each output's
   * weights normalised to sum to 1. Upsampling with it is not the plain
   * mode: the window is centred at `(dst + 0.5)·scale` whatever
   * alignCorners says, bicubic uses a = -0.5 (the plain mode -0.75), and at
   * the borders the window is cut and renormalised instead of clamped.
   * Default false. (Not an option of `nn.upsample`: PyTorch's
   * `nn.Upsample` has none.)
   */
  antialias?: boolean;
}

/** One resized axis: its input and output sizes and the scale PyTorch's kernels are given (null: in/out). */
interface AxisPlan {
  inSize: number;
  outSize: number;
  scale: number | null;
}

/** The checked options and, per spatial axis, what to do. @internal */
export interface InterpolatePlan {
  mode: InterpolateMode;
  alignCorners: boolean;
  /** Antialiased "bilinear" or "bicubic" (only when the caller allows the option). */
  antialias: boolean;
  axes: AxisPlan[];
  shape: number[];
}

const MODES: readonly InterpolateMode[] = [
  "nearest",
  "nearest-exact",
  "linear",
  "bilinear",
  "bicubic",
  "trilinear",
  "area",
];

/** The modes that read neighbours with weights (and take alignCorners). */
const INTERPOLATING = ["linear", "bilinear", "bicubic", "trilinear"];

/** A number or one per spatial axis, each checked by `ok`. */
function perAxis(
  fn: string,
  name: string,
  v: unknown,
  n: number,
  ok: (d: number) => boolean,
  what: string,
): number[] {
  const list = typeof v === "number" ? Array(n).fill(v) : v;
  if (
    !Array.isArray(list) || list.length !== n ||
    !list.every((d) => typeof d === "number" && ok(d))
  ) {
    throw new Error(
      `${fn}: ${name} must be ${what} or an array of ${n} of them (one per spatial axis), got ${
        showValue(v)
      }`,
    );
  }
  return list;
}

/**
 * Checks interpolate's arguments (x's shape and the options) with its
 * messages and works out each axis' sizes; needs no data. `antialias` is
 * an option only where `allowAntialias` says so (interpolate; not
 * nn.upsample, as PyTorch's nn.Upsample). @internal
 */
export function interpolatePlan(
  fn: string,
  xShape: readonly number[] | null,
  options: InterpolateOptions,
  allowAntialias = false,
): InterpolatePlan {
  checkOptions(fn, options, [
    "size",
    "scaleFactor",
    "mode",
    "alignCorners",
    "recomputeScaleFactor",
    ...(allowAntialias ? ["antialias"] : []),
  ]);
  const mode = options.mode ?? "nearest";
  if (!MODES.includes(mode)) {
    throw new Error(
      `${fn}: mode must be one of ${
        MODES.map((m) => `"${m}"`).join(", ")
      }, got ${showValue(mode)}`,
    );
  }
  if (!INTERPOLATING.includes(mode) && options.alignCorners !== undefined) {
    throw new Error(
      `${fn}: alignCorners can only be set with the interpolating modes "linear", "bilinear", "bicubic" and "trilinear", got mode "${mode}"`,
    );
  }
  const alignCorners = checkBool(
    fn,
    "alignCorners",
    options.alignCorners,
    false,
  );
  const recompute = checkBool(
    fn,
    "recomputeScaleFactor",
    options.recomputeScaleFactor,
    false,
  );
  const antialias = checkBool(fn, "antialias", options.antialias, false);
  if (antialias && mode !== "bilinear" && mode !== "bicubic") {
    // (PyTorch: "Anti-alias option is only supported for bilinear and bicubic modes")
    throw new Error(
      `${fn}: antialias is only supported with modes "bilinear" and "bicubic" (x [N, C, H, W]), got mode "${mode}"`,
    );
  }
  const { size, scaleFactor } = options;
  if ((size === undefined) === (scaleFactor === undefined)) {
    throw new Error(
      `${fn}: give exactly one of options.size and options.scaleFactor, got ${
        size === undefined ? "neither" : "both"
      }`,
    );
  }
  if (recompute && scaleFactor === undefined) {
    throw new Error(
      `${fn}: recomputeScaleFactor needs options.scaleFactor (with size the scale is always computed)`,
    );
  }
  const spatialOf: Record<InterpolateMode, number[]> = {
    nearest: [1, 2, 3],
    "nearest-exact": [1, 2, 3],
    linear: [1],
    bilinear: [2],
    bicubic: [2],
    trilinear: [3],
    area: [1, 2, 3],
  };
  const spatial = xShape === null ? null : xShape.length - 2;
  if (xShape !== null && !spatialOf[mode].includes(spatial!)) {
    const shapes = ["", "[N, C, L]", "[N, C, H, W]", "[N, C, D, H, W]"];
    const ws = spatialOf[mode].map((k) => shapes[k]);
    const want = ws.length > 1
      ? `${ws.slice(0, -1).join(", ")} or ${ws[ws.length - 1]}`
      : ws[0];
    throw new Error(
      `${fn}: mode "${mode}" needs x of shape ${want}, got ${fmt(xShape)}`,
    );
  }
  const given = size ?? scaleFactor;
  const n = spatial ??
    (Array.isArray(given) ? given.length : spatialOf[mode][0]);
  if (!spatialOf[mode].includes(n)) {
    throw new Error(
      `${fn}: mode "${mode}" resizes ${
        spatialOf[mode].join(" or ")
      } spatial axes, got ${showValue(given)}`,
    );
  }
  const inSizes = xShape === null ? Array(n).fill(1) : xShape.slice(2);
  if (inSizes.some((s) => s < 1)) {
    // (as PyTorch: nothing to interpolate from)
    throw new Error(
      `${fn}: x's spatial sizes must be >= 1, got x ${fmt(xShape!)}`,
    );
  }
  let outSizes: number[], scales: (number | null)[];
  if (size !== undefined) {
    outSizes = perAxis(
      fn,
      "size",
      size,
      n,
      (d) => Number.isInteger(d) && d >= 1,
      "a positive integer",
    );
    scales = Array(n).fill(null);
  } else {
    const f = perAxis(
      fn,
      "scaleFactor",
      scaleFactor,
      n,
      (d) => Number.isFinite(d) && d > 0,
      "a positive number",
    );
    outSizes = inSizes.map((s, i) => Math.floor(s * f[i]));
    scales = recompute ? Array(n).fill(null) : f;
    if (xShape !== null && outSizes.some((o) => o < 1)) {
      throw new Error(
        `${fn}: output size would be ${fmt(outSizes)} for x ${
          fmt(xShape)
        } with scaleFactor ${showValue(scaleFactor)}; each must be >= 1`,
      );
    }
  }
  // bounded before anything is built: the output
  const limit = 2 ** 31 - 1;
  if (
    xShape !== null && sizeOf(xShape.slice(0, 2)) * sizeOf(outSizes) > limit
  ) {
    throw new Error(
      `${fn}: output size ${fmt(outSizes)} for x ${
        fmt(xShape)
      } is too large (the output may have at most 2^31 - 1 elements)`,
    );
  }
  return {
    mode,
    alignCorners,
    antialias,
    axes: inSizes.map((inSize, i) => ({
      inSize,
      outSize: outSizes[i],
      scale: scales[i],
    })),
    shape: xShape === null ? [] : [...xShape.slice(0, 2), ...outSizes],
  };
}

/**
 * The source index of each output position for "nearest": PyTorch's
 * `min(floor(dst · scale), in - 1)` with scale = 1/scaleFactor when it was
 * given, else in/out; in float32 the scale and the product are float32, in
 * float64 they are float64 and the product is rounded to float32 before the
 * floor (as PyTorch 1.13's CPU kernel). With `shortcuts` (a 2-D or 3-D
 * resize of one channel, which PyTorch 1.13 runs with its channels-last
 * kernels: the layouts coincide) two cases ignore scaleFactor, as they do: an
 * output as long as the input copies it, and one twice as long repeats
 * each input twice. (PyTorch's backward takes those shortcuts for any
 * number of channels, and for 1-D, so there its gradient is not that of
 * its forward; here a gradient is always its forward's.)
 */
function nearestIndices(
  a: AxisPlan,
  dtype: DType,
  shortcuts: boolean,
  exact = false,
): number[] {
  if (
    !exact && shortcuts &&
    (a.outSize === a.inSize || a.outSize === 2 * a.inSize)
  ) {
    const shift = a.outSize === a.inSize ? 0 : 1;
    return Array.from({ length: a.outSize }, (_, d) => d >> shift);
  }
  const f32 = dtype === "float32";
  const r = f32 ? Math.fround : (v: number) => v;
  const scale = r(a.scale !== null ? 1 / a.scale : a.inSize / a.outSize);
  // "nearest-exact" reads the input under the output pixel's centre
  const at = exact ? 0.5 : 0;
  return Array.from(
    { length: a.outSize },
    (_, d) =>
      Math.min(Math.floor(Math.fround(r((d + at) * scale))), a.inSize - 1),
  );
}

/**
 * Linear interpolation along one axis: output d is `λ0·x[i0] + λ1·x[i1]`
 * with PyTorch's source index (`dst·(in-1)/(out-1)` with alignCorners,
 * else `(dst + 0.5)·scale - 0.5` clamped at 0) and PyTorch's rounding: in
 * float32 the scale and the weights are float32, the source index in
 * between is exact. The two sources are gathered, so each output reads
 * only them, as PyTorch's kernel (a non-finite input stays in its own
 * outputs).
 */
function linearAxis(
  x: Tensor,
  axis: number,
  a: AxisPlan,
  alignCorners: boolean,
): Tensor {
  const { inSize: n, outSize: o } = a;
  const r = roundingOf(x);
  const scale = axisScale(a, alignCorners, r);
  const i0 = new Int32Array(o), i1 = new Int32Array(o);
  const l0 = new Float64Array(o), l1 = new Float64Array(o);
  for (let d = 0; d < o; d++) {
    const src = alignCorners ? scale * d : Math.max(scale * (d + 0.5) - 0.5, 0);
    i0[d] = Math.trunc(src);
    i1[d] = i0[d] < n - 1 ? i0[d] + 1 : i0[d];
    l1[d] = r(Math.min(Math.max(src - i0[d], 0), 1));
    l0[d] = r(1 - l1[d]);
  }
  return weighedTaps(x, axis, [[i0, l0], [i1, l1]]);
}

/** Rounding to x's precision: float32 rounds, float64 keeps. */
const roundingOf = (x: Tensor) =>
  x.dtype === "float32" ? Math.fround : (v: number) => v;

/** PyTorch's area_pixel_compute_scale, in the precision `r` rounds to. */
function axisScale(
  a: AxisPlan,
  alignCorners: boolean,
  r: (v: number) => number,
): number {
  const { inSize: n, outSize: o } = a;
  return alignCorners
    ? (o > 1 ? r((n - 1) / (o - 1)) : 0)
    : r(a.scale !== null ? 1 / a.scale : n / o);
}

/**
 * `Σ_k x[idx_k] · w_k` along `axis`, the taps' sources gathered (so each
 * output reads only them) and the products summed in order.
 */
function weighedTaps(
  x: Tensor,
  axis: number,
  taps: [Int32Array, Float64Array][],
): Tensor {
  const o = taps[0][0].length;
  // the weights broadcast along the axis
  const wShape = x.shape.slice(axis).map((_, k) => (k === 0 ? o : 1));
  const terms = taps.map(([idx, w]) =>
    mul(
      gatherAt(x, tensor(idx, { shape: [o], dtype: "int32" }), axis),
      tensor(w, { shape: wShape, dtype: x.dtype }),
    )
  );
  return terms.reduce((acc, t) => add(acc, t));
}

/**
 * Cubic convolution along one axis (PyTorch's bicubic, A = -0.75): output d
 * is `Σ c_k·x[i + k - 1]`, k = 0..3, the taps clamped to the axis, from
 * the source index `(dst + 0.5)·scale - 0.5` (not clamped at 0) or
 * `dst·(in-1)/(out-1)` with alignCorners; in float32 the scale and the
 * coefficients are float32. The four sources are gathered.
 */
function cubicAxis(
  x: Tensor,
  axis: number,
  a: AxisPlan,
  alignCorners: boolean,
): Tensor {
  const { inSize: n, outSize: o } = a;
  const r = roundingOf(x);
  const scale = axisScale(a, alignCorners, r);
  const A = -0.75;
  const near = (t: number) => r(r(r(r(r((A + 2) * t) - (A + 3)) * t) * t) + 1);
  const far = (t: number) =>
    r(r(r(r(r(r(A * t) - 5 * A) * t) + 8 * A) * t) - 4 * A);
  const taps = Array.from(
    { length: 4 },
    (): [Int32Array, Float64Array] => [new Int32Array(o), new Float64Array(o)],
  );
  for (let d = 0; d < o; d++) {
    // (PyTorch: the index in double, rounded once to the scalar type)
    const src = r(alignCorners ? scale * d : scale * (d + 0.5) - 0.5);
    const i = Math.floor(src), t = r(src - i), t2 = r(1 - t);
    const c = [far(r(t + 1)), near(t), near(t2), far(r(t2 + 1))];
    taps.forEach(([idx, w], k) => {
      idx[d] = Math.min(Math.max(i + k - 1, 0), n - 1);
      w[d] = c[k];
    });
  }
  return weighedTaps(x, axis, taps);
}

/**
 * PIL's filters as PyTorch 1.13's antialiased kernels compute them, in its
 * arithmetic (`r` rounds to the scalar type). The triangle's `1 - t` and
 * the cubic's inner piece are evaluated in double and rounded once (their
 * constants are double literals); the cubic's outer piece
 * `(((t - 5)·t + 8)·t - 4)·a` in the scalar type (integer constants), the
 * final product by -0.5 exact.
 */
const aaFilters = {
  bilinear: (t: number, r: (v: number) => number) => {
    t = Math.abs(t);
    return t < 1 ? r(1 - t) : 0;
  },
  bicubic: (t: number, r: (v: number) => number) => {
    const a = -0.5;
    t = Math.abs(t);
    if (t < 1) return r(((a + 2) * t - (a + 3)) * t * t + 1);
    if (t < 2) return r(r(r(r(r(t - 5) * t) + 8) * t) - 4) * a;
    return 0;
  },
};

/**
 * The longest window antialiasAxis sums tap by tap (PyTorch's bits); longer
 * ones are summed as one reduction.
 */
const WIDE_WINDOW = 64;

/**
 * Antialiased resampling along one axis (PyTorch's `_upsample_*2d_aa`,
 * PIL's separable resampling): output d reads the window of inputs
 * `[lo, lo + size)` around the centre `c = (d + 0.5)·scale` (scale =
 * in/out, 1/scaleFactor when given, `(in - 1)/(out - 1)` with
 * alignCorners), `lo = max(trunc(c - support + 0.5), 0)`, `lo + size =
 * min(trunc(c + support + 0.5), in)`, with support = `k·scale` (k = 1
 * bilinear, 2 bicubic) or k when scale < 1, and weighs input j by
 * `filter((j - c + 0.5) / max(scale, 1))`, the weights divided by their
 * sum (unless it is 0). Every step in PyTorch's order and precision (float32
 * or float64), so the weights are its bit for bit, and the products are
 * summed in the window's order, as its kernel (windows longer than
 * 64 inputs (`WIDE_WINDOW`), a large downscale, are summed as one
 * reduction in float64: its sums to rounding). (Those of its portable build,
 * `ATEN_CPU_CAPABILITY=default`; its AVX2 build fuses multiply-adds, in the
 * filter and the sums, and differs in the last bits.) The window's inputs are
 * gathered, zero weights included (as PyTorch, which reads them); windows
 * shorter than the longest read an appended zero with weight 0.
 */
function antialiasAxis(
  x: Tensor,
  axis: number,
  a: AxisPlan,
  alignCorners: boolean,
  mode: "bilinear" | "bicubic",
): Tensor {
  const { inSize: n, outSize: o } = a;
  const r = roundingOf(x);
  const scale = axisScale(a, alignCorners, r);
  const half = mode === "bicubic" ? 2 : 1;
  const support = scale >= 1 ? r(half * scale) : half;
  const invscale = scale >= 1 ? r(1 / scale) : 1;
  const filter = aaFilters[mode];
  const los: number[] = [], windows: number[][] = [];
  for (let d = 0; d < o; d++) {
    const center = r(scale * (d + 0.5));
    const lo = Math.max(Math.trunc(r(center - support) + 0.5), 0);
    const size = Math.min(Math.trunc(r(center + support) + 0.5), n) - lo;
    const w: number[] = [];
    let total = 0;
    for (let j = 0; j < size; j++) {
      w.push(filter(r((r(j + lo - center) + 0.5) * invscale), r));
      total = r(total + w[j]);
    }
    los.push(lo);
    windows.push(total !== 0 ? w.map((v) => r(v / total)) : w);
  }
  let k = 1;
  for (const w of windows) k = Math.max(k, w.length);
  const short = windows.some((w) => w.length < k);
  // (a zero after the last input for the shorter windows' missing taps)
  const src = short
    ? pad(x, x.shape.map((_, i): [number, number] => [0, i === axis ? 1 : 0]))
    : x;
  if (k > WIDE_WINDOW) {
    // a long window (a large downscale): every tap gathered at once, [..,
    // o, k, ..], weighed and summed over k, so the gradient is one
    // scatter (a gather per tap would scatter into all of x once per tap:
    // k times the input, quadratic in the factor). The sum is float64's,
    // rounded once in float32: PyTorch's to rounding, not its bits.
    const idx = new Int32Array(o * k), w = new Float64Array(o * k);
    for (let d = 0; d < o; d++) {
      for (let j = 0; j < k; j++) {
        const inside = j < windows[d].length;
        idx[d * k + j] = inside ? los[d] + j : n;
        w[d * k + j] = inside ? windows[d][j] : 0;
      }
    }
    const all = splitAxis(
      gatherAt(src, tensor(idx, { shape: [o * k], dtype: "int32" }), axis),
      axis,
      [o, k],
    );
    const wShape = all.shape.slice(axis).map((_, i) =>
      i === 0 ? o : i === 1 ? k : 1
    );
    return sum(mul(all, tensor(w, { shape: wShape, dtype: x.dtype })), {
      axis: axis + 1,
    });
  }
  const taps = Array.from({ length: k }, (_, j): [Int32Array, Float64Array] => {
    const idx = new Int32Array(o), w = new Float64Array(o);
    for (let d = 0; d < o; d++) {
      const inside = j < windows[d].length;
      idx[d] = inside ? los[d] + j : n;
      w[d] = inside ? windows[d][j] : 0;
    }
    return [idx, w];
  });
  return weighedTaps(src, axis, taps);
}

/** x with `axis` replaced by the axes `parts` (whose product is its size). */
const splitAxis = (x: Tensor, axis: number, parts: number[]) =>
  reshape(x, [
    ...x.shape.slice(0, axis),
    ...parts,
    ...x.shape.slice(axis + 1),
  ]);

/** Nearest resizing along `axis`: a reshape for integer factors, else a gather. */
function nearestAxis(x: Tensor, axis: number, idx: number[], n: number) {
  const o = idx.length;
  const outShape = [...x.shape.slice(0, axis), o, ...x.shape.slice(axis + 1)];
  if (o === n && idx.every((s, d) => s === d)) return x;
  if (o % n === 0 && idx.every((s, d) => s === Math.floor(d / (o / n)))) {
    // each input repeated o/n times: [.., n, 1, ..] broadcast to [.., n, o/n, ..]
    const col = splitAxis(x, axis, [n, 1]);
    const shape = col.shape.slice();
    shape[axis + 1] = o / n;
    return reshape(broadcastTo(col, shape), outShape);
  }
  const k = Math.floor(n / o);
  if (k >= 1 && idx.every((s, d) => s === d * k)) {
    // every k-th input: the first o·k inputs as [.., o, k, ..], the first of each row
    const ends = x.shape.slice();
    ends[axis] = o * k;
    const zero = (t: { shape: readonly number[] }) => t.shape.map(() => 0);
    const rows = splitAxis(slice(x, zero(x), ends), axis, [o, k]);
    const firsts = rows.shape.slice();
    firsts[axis + 1] = 1;
    return reshape(slice(rows, zero(rows), firsts), outShape);
  }
  // any other: the inputs read (copied exactly, as PyTorch's)
  return gatherAt(x, tensor(idx, { shape: [o], dtype: "int32" }), axis);
}

/**
 * Resizes the spatial axes of x as `torch.nn.functional.interpolate`: x
 * `[N, C, L]` ("linear"), `[N, C, H, W]` ("bilinear", "bicubic") or
 * `[N, C, D, H, W]` ("trilinear"), or any of them ("nearest",
 * "nearest-exact", "area"), to `size` or by `scaleFactor` (output `floor(in ·
 * scaleFactor)`). "nearest" is PyTorch's (legacy) nearest: output d copies
 * input `floor(d · in/out)` (`floor(d / scaleFactor)` when scaleFactor is
 * given, except, as PyTorch 1.13 on one channel `[N, 1, H, W]` or
 * `[N, 1, D, H, W]`, along an axis whose output is as long as the input or
 * twice as long: a copy, or each input twice). The linear and cubic modes
 * follow PyTorch's source index for `alignCorners` true and false,
 * including the scale it uses when `scaleFactor` is given. With
 * `antialias` ("bilinear" and "bicubic", as PyTorch's `antialias=True`) a
 * downscale averages every input under each output pixel through PIL's
 * filters, stretched by the factor (a 32 → 8 bilinear output reads 8
 * inputs, not 2), in two passes, W then H, with PyTorch's weights and
 * sums bit for bit (those of its portable kernel; its AVX2 kernel fuses
 * multiply-adds and differs in the last bits; a window of more than 64
 * inputs is summed in float64, to rounding). An empty batch (N or C of
 * 0) gives an empty output at once. Differentiable (its gradient is the
 * transposed resampling), batchable and exportable like any composition of
 * ops.
 *
 * The gradient is always the forward's. PyTorch 1.13's backward copies
 * the gradient along an axis whose output is as long as the input
 * ("nearest" and "bicubic"; "nearest" also adds pairs along one twice as
 * long), even where its forward resampled with the `scaleFactor` given (1.1
 * or 2.1 on a size of 5, say): there PyTorch's gradient is not that of its
 * own forward (its `gradcheck` fails), and this one differs from it.
 *
 * Each output reads only its sources (nearest copies them exactly), so a
 * non-finite input value stays in the outputs that read it, as PyTorch's.
 *
 * @example
 * ```ts
 * import { interpolate, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 2, 4]]]);
 * assert.deepEqual(toArray(interpolate(x, { scaleFactor: 2 })), [[[1, 1, 2, 2, 4, 4]]]);
 * assert.deepEqual(toArray(interpolate(x, { size: 5, mode: "linear", alignCorners: true })), [[[1, 1.5, 2, 3, 4]]]);
 * assert.deepEqual(toArray(interpolate(x, { size: 2, mode: "linear" })), [[[1.25, 3.5]]]);
 * const img = tensor([[[[1, 2], [3, 4]]]]);
 * assert.deepEqual(interpolate(img, { size: [3, 5], mode: "bilinear" }).shape, [1, 1, 3, 5]);
 * // 4 -> 2: plain bilinear reads the two inputs nearest each output's centre;
 * // antialiased, a triangle twice as wide weighs inputs 0, 1, 2 by 3/7, 3/7, 1/7
 * const row = tensor([[[[0, 4, 8, 12]]]], { dtype: "float64" });
 * assert.deepEqual(toArray(interpolate(row, { size: [1, 2], mode: "bilinear" })), [[[[2, 10]]]]);
 * const [a, b] = interpolate(row, { size: [1, 2], mode: "bilinear", antialias: true }).data;
 * assert.ok(Math.abs(a - 20 / 7) < 1e-12 && Math.abs(b - 64 / 7) < 1e-12);
 * ```
 */
export function interpolate(x: Tensor, options?: InterpolateOptions): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("interpolate");
  const fn = "interpolate";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  const plan = interpolatePlan(fn, x.shape, options, true);
  if (sizeOf(x.shape.slice(0, 2)) === 0) {
    // no image: nothing to read, and no tables to build for the output size
    const ones = plan.axes.map(() => 1);
    return broadcastTo(
      reshape(x, [...x.shape.slice(0, 2), ...ones]),
      plan.shape,
    );
  }
  if (plan.mode === "area") {
    // PyTorch's "area" is adaptive average pooling to the output size
    const out = plan.axes.map((a) => a.outSize);
    return out.length === 1
      ? adaptiveAvgPool1d(x, out[0])
      : out.length === 2
      ? adaptiveAvgPool2d(x, out as [number, number])
      : adaptiveAvgPool3d(x, out as [number, number, number]);
  }
  if (plan.antialias) {
    // PyTorch's separable passes: along W, then along H (each axis always,
    // as its 1.13 kernel: with a scaleFactor, an axis of the same size is
    // still resampled)
    const mode = plan.mode as "bilinear" | "bicubic";
    const w = antialiasAxis(x, 3, plan.axes[1], plan.alignCorners, mode);
    return antialiasAxis(w, 2, plan.axes[0], plan.alignCorners, mode);
  }
  let y = x;
  // (bicubic: the last axis first, so each output sums PyTorch's row
  // interpolations in its order, with its bits)
  const order = plan.axes.map((_, i) => i);
  if (plan.mode === "bicubic") order.reverse();
  order.forEach((i) => {
    const a = plan.axes[i];
    const axis = 2 + i;
    const nearest = plan.mode === "nearest" || plan.mode === "nearest-exact";
    y = nearest
      ? nearestAxis(
        y,
        axis,
        nearestIndices(
          a,
          x.dtype,
          plan.axes.length > 1 && x.shape[1] === 1,
          plan.mode === "nearest-exact",
        ),
        a.inSize,
      )
      : plan.mode === "bicubic"
      ? cubicAxis(y, axis, a, plan.alignCorners)
      : a.outSize === a.inSize
      ? y
      : linearAxis(y, axis, a, plan.alignCorners);
  });
  return y;
}
