/**
 * Geometric image transforms as torchvision's on tensors
 * (`torchvision.transforms.functional`): centre crops, resizing, and affine
 * maps (rotation, translation, scale, shear) sampled with `gridSample` on
 * torchvision's grid, with the random versions drawn from a key, one set of
 * parameters per image. They work on one image `[C, H, W]` or a batch
 * `[N, C, H, W]`, and are compositions of the library's ops, so they are
 * differentiable and run under `jit` and `vmap` too.
 *
 * @module
 */
import {
  allocShape,
  checkOptions,
  describe,
  fmtShape as fmt,
  fromData,
  ones,
  showValue,
  type Tensor,
  zeros,
} from "../ops/tensor.ts";
import { add, less, mul, sub, where } from "../ops/elementwise.ts";
import { concat, pad, reshape, slice } from "../ops/structural.ts";
import { interpolate } from "../ops/upsample.ts";
import { gridSample } from "../ops/grid_sample.ts";
import { checkKeyArg, floatCheck } from "../ops/_args.ts";
import { type Key, uniform } from "../ops/random.ts";
import { asBatch } from "./transforms.ts";

/** A value as an error message shows it: arrays of numbers spelt out. */
const show = (v: unknown) =>
  Array.isArray(v) && v.every((u) => typeof u === "number")
    ? showValue(v)
    : describe(v);

/** A size option: one number for both sides or `[h, w]`, each an integer >= 1. */
function sizePair(fn: string, size: unknown): [number, number] {
  const s = typeof size === "number" ? [size, size] : size;
  if (
    !Array.isArray(s) || s.length !== 2 ||
    !s.every((v) => Number.isInteger(v) && v >= 1 && v < 2 ** 31)
  ) {
    throw new Error(
      `${fn}: size must be an integer >= 1 or a pair [h, w] of them, got ${
        show(size)
      }`,
    );
  }
  return [s[0], s[1]];
}

/**
 * The centre `size` crop of each image, as torchvision's `center_crop`: the
 * top-left corner at `round((H - h) / 2)` (halves to even, as Python's
 * round), and an image smaller than the crop zero-padded first (the odd
 * pixel at the bottom and right).
 *
 * @example
 * ```ts
 * import { centerCrop } from "./mod.ts";
 * import { reshape, arange, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(16), [1, 4, 4]);
 * assert.deepEqual(toArray(centerCrop(x, 2)), [[[5, 6], [9, 10]]]);
 * assert.deepEqual(centerCrop(x, [6, 5]).shape, [1, 6, 5]); // padded
 * ```
 */
export function centerCrop(x: Tensor, size: number | [number, number]): Tensor {
  const fn = "centerCrop";
  const [xb, single] = asBatch(fn, x);
  const [ch, cw] = sizePair(fn, size);
  allocShape(fn, xb.dtype, [xb.shape[0], xb.shape[1], ch, cw]); // (before any padding)
  let [, , h, w] = xb.shape;
  let img = xb;
  if (ch > h || cw > w) {
    const ph = ch > h ? ch - h : 0, pw = cw > w ? cw - w : 0;
    img = pad(img, [[0, 0], [0, 0], [ph >> 1, (ph + 1) >> 1], [
      pw >> 1,
      (pw + 1) >> 1,
    ]]);
    [, , h, w] = img.shape;
  }
  const top = roundHalfEven((h - ch) / 2), left = roundHalfEven((w - cw) / 2);
  const [n, c] = img.shape;
  const y = slice(img, [0, 0, top, left], [n, c, top + ch, left + cw]);
  return single ? reshape(y, y.shape.slice(1)) : y;
}

/** Python's round: halves to even. */
const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Options of {@linkcode resize}. */
export interface ResizeOptions {
  /** "bilinear" (default), "nearest" or "bicubic", as torchvision's InterpolationMode. */
  mode?: "bilinear" | "nearest" | "bicubic";
  /** With a single size: the longer side's upper bound (then the shorter side shrinks to keep the aspect). */
  maxSize?: number;
}

/**
 * Resizes each image as torchvision's `resize` on tensors: `size` `[h, w]`,
 * or one number for the shorter side (the longer one
 * `floor(size · long / short)`), by `interpolate` with alignCorners false
 * (no antialiasing, torchvision's default for tensors).
 *
 * @example
 * ```ts
 * import { resize } from "./mod.ts";
 * import { zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resize(zeros([3, 28, 56]), 14).shape, [3, 14, 28]);
 * assert.deepEqual(resize(zeros([2, 3, 10, 10]), [5, 8]).shape, [2, 3, 5, 8]);
 * ```
 */
export function resize(
  x: Tensor,
  size: number | [number, number],
  options?: ResizeOptions,
): Tensor {
  return resizeAs("resize", x, size, options);
}

/** {@linkcode resize}, its errors naming `fn`. */
function resizeAs(
  fn: string,
  x: Tensor,
  size: number | [number, number],
  options?: ResizeOptions,
): Tensor {
  if (options === undefined) options = {};
  options = checkOptions(fn, options, ["mode", "maxSize"]) as ResizeOptions;
  const [xb, single] = asBatch(fn, x);
  floatCheck(fn, "x", xb);
  const mode = options.mode ?? "bilinear";
  if (mode !== "bilinear" && mode !== "nearest" && mode !== "bicubic") {
    throw new Error(
      `${fn}: mode must be "bilinear", "nearest" or "bicubic", got ${
        show(mode)
      }`,
    );
  }
  const [n, c, h, w] = xb.shape;
  if (h < 1 || w < 1) {
    throw new Error(
      `${fn}: x must have a height and width >= 1, got ${fmt(x.shape)}`,
    );
  }
  let out: [number, number];
  if (typeof size === "number") {
    const [s] = sizePair(fn, size);
    const short = Math.min(h, w), long = Math.max(h, w);
    let ns = s, nl = Math.floor((s * long) / short);
    const max = options.maxSize;
    if (max !== undefined) {
      if (!Number.isInteger(max) || max <= s) {
        throw new Error(
          `${fn}: maxSize must be an integer greater than size (${s}), got ${
            show(max)
          }`,
        );
      }
      if (nl > max) [ns, nl] = [Math.floor((max * ns) / nl), max];
    }
    out = w <= h ? [nl, ns] : [ns, nl];
  } else {
    if (options.maxSize !== undefined) {
      throw new Error(
        `${fn}: maxSize applies only when size is a single number, got size ${
          show(size)
        }`,
      );
    }
    out = sizePair(fn, size);
  }
  allocShape(fn, xb.dtype, [n, c, ...out]);
  const y = interpolate(xb, {
    size: out,
    mode,
    ...(mode === "nearest" ? {} : { alignCorners: false }),
  });
  return single ? reshape(y, y.shape.slice(1)) : y;
}

/** A crop box: top row, left column, height and width (torchvision's order). */
export interface CropBox {
  /** The top row (may be negative: rows above the image are zeros). */
  top: number;
  /** The left column (may be negative). */
  left: number;
  /** Rows, >= 1. */
  height: number;
  /** Columns, >= 1. */
  width: number;
}

/** Checks a crop box's four integers. */
function checkBox(fn: string, box: unknown): CropBox {
  const b = box as CropBox;
  const ok = typeof box === "object" && box !== null &&
    [b.top, b.left].every((v) =>
      Number.isInteger(v) && Math.abs(v) < 2 ** 31
    ) &&
    [b.height, b.width].every((v) =>
      Number.isInteger(v) && v >= 1 && v < 2 ** 31
    );
  if (!ok) {
    throw new Error(
      `${fn}: the crop box must have integer top and left and integer height and width >= 1, got ${
        typeof box === "object" && box !== null
          ? showValue({
            top: b.top,
            left: b.left,
            height: b.height,
            width: b.width,
          })
          : show(box)
      }`,
    );
  }
  return b;
}

/** torchvision's `crop` of `[N, C, H, W]`: the box, zeros where it leaves the image. */
function cropBox(fn: string, xb: Tensor, box: CropBox): Tensor {
  const [n, c, h, w] = xb.shape;
  const { top, left, height, width } = box;
  allocShape(fn, xb.dtype, [n, c, height, width]);
  const bottom = top + height, right = left + width;
  const r0 = Math.min(Math.max(top, 0), h),
    r1 = Math.max(Math.min(bottom, h), r0);
  const c0 = Math.min(Math.max(left, 0), w),
    c1 = Math.max(Math.min(right, w), c0);
  const inside = slice(xb, [0, 0, r0, c0], [n, c, r1, c1]);
  if (r1 - r0 === height && c1 - c0 === width) return inside;
  const above = Math.min(Math.max(-top, 0), height);
  const before = Math.min(Math.max(-left, 0), width);
  return pad(inside, [[0, 0], [0, 0], [above, height - above - (r1 - r0)], [
    before,
    width - before - (c1 - c0),
  ]]);
}

/** Options of {@linkcode resizedCrop}: the box and the output size. */
export interface ResizedCropOptions extends CropBox {
  /** The output size: `[h, w]`, or one number for the shorter side (as {@linkcode resize}). Required. */
  size: number | [number, number];
  /** "bilinear" (default), "nearest" or "bicubic". */
  mode?: "bilinear" | "nearest" | "bicubic";
}

/**
 * A box of each image resized to `size`, as torchvision's `resized_crop`:
 * the rows `top` to `top + height` and columns `left` to `left + width`
 * (zeros where the box leaves the image, as torchvision's `crop`), then
 * {@linkcode resize}d.
 *
 * @example
 * ```ts
 * import { resizedCrop } from "./mod.ts";
 * import { arange, reshape } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(16), [1, 4, 4]);
 * const y = resizedCrop(x, { top: 1, left: 1, height: 2, width: 2, size: [2, 2] });
 * assert.deepEqual(Array.from(y.data), [5, 6, 9, 10]);
 * ```
 */
export function resizedCrop(x: Tensor, options: ResizedCropOptions): Tensor {
  const fn = "resizedCrop";
  const o = checkOptions(fn, options, [
    "top",
    "left",
    "height",
    "width",
    "size",
    "mode",
  ]) as unknown as ResizedCropOptions;
  const box = checkBox(fn, o);
  const [xb, single] = asBatch(fn, x);
  floatCheck(fn, "x", xb);
  const y = resizeAs(fn, cropBox(fn, xb, box), o.size, {
    ...(o.mode === undefined ? {} : { mode: o.mode }),
  });
  return single ? reshape(y, y.shape.slice(1)) : y;
}

/** Options of {@linkcode randomResizedCropBoxes}. */
export interface RandomResizedCropBoxesOptions {
  /** The box's area as a fraction of the image's, drawn from this range. Default [0.08, 1]. */
  scale?: [number, number];
  /** The box's width / height, drawn log-uniformly from this range. Default [3/4, 4/3]. */
  ratio?: [number, number];
  /** The random key. Required. */
  key: Key;
}

/**
 * The boxes {@linkcode randomResizedCrop} cuts from `n` images of `[h, w]`,
 * as torchvision's `RandomResizedCrop.get_params` draws each: up to 10
 * tries of an area fraction from `scale` and a log-uniform aspect from
 * `ratio`, the first box that fits placed uniformly; when none fits, the
 * centre box of the image's aspect clamped to `ratio`.
 *
 * @example
 * ```ts
 * import { randomResizedCropBoxes } from "./mod.ts";
 * import { random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [box] = randomResizedCropBoxes(1, [32, 32], { scale: [0.5, 0.5], key: random.key(0) });
 * assert.ok(Math.abs(box.height * box.width - 512) < 40);
 * ```
 */
export function randomResizedCropBoxes(
  n: number,
  size: [number, number],
  options: RandomResizedCropBoxesOptions,
): CropBox[] {
  return boxesAs("randomResizedCropBoxes", n, size, options);
}

function boxesAs(
  fn: string,
  n: number,
  size: [number, number],
  options: RandomResizedCropBoxesOptions,
): CropBox[] {
  const o = checkOptions(fn, options, [
    "scale",
    "ratio",
    "key",
  ]) as unknown as RandomResizedCropBoxesOptions;
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 31) {
    throw new Error(`${fn}: n must be an integer >= 0, got ${show(n)}`);
  }
  const [h, w] = sizePair(fn, size);
  const key = requireKey(fn, o.key);
  const pairOf = (name: string, v: unknown, low: number) => {
    if (
      !Array.isArray(v) || v.length !== 2 ||
      !v.every((u) => typeof u === "number" && Number.isFinite(u) && u > low) ||
      v[0] > v[1]
    ) {
      throw new Error(
        `${fn}: ${name} must be a range [min, max] of finite numbers > ${low}, got ${
          show(v)
        }`,
      );
    }
    return v as [number, number];
  };
  const scale = pairOf("scale", o.scale ?? [0.08, 1], 0);
  const ratio = pairOf("ratio", o.ratio ?? [3 / 4, 4 / 3], 0);
  const area = h * w;
  const [lo, hi] = [Math.log(ratio[0]), Math.log(ratio[1])];
  const u = uniform(key, [n, 22], { dtype: "float64" }).data;
  return Array.from({ length: n }, (_, i): CropBox => {
    const at = (k: number) => u[i * 22 + k];
    for (let t = 0; t < 10; t++) {
      const target = area * (scale[0] + (scale[1] - scale[0]) * at(2 * t));
      const aspect = Math.exp(lo + (hi - lo) * at(2 * t + 1));
      const bw = roundHalfEven(Math.sqrt(target * aspect));
      const bh = roundHalfEven(Math.sqrt(target / aspect));
      if (bw > 0 && bw <= w && bh > 0 && bh <= h) {
        return {
          top: Math.floor(at(20) * (h - bh + 1)),
          left: Math.floor(at(21) * (w - bw + 1)),
          height: bh,
          width: bw,
        };
      }
    }
    // the centre box, its aspect clamped to the range
    const inRatio = w / h;
    const [bw, bh] = inRatio < ratio[0]
      ? [w, roundHalfEven(w / ratio[0])]
      : inRatio > ratio[1]
      ? [roundHalfEven(h * ratio[1]), h]
      : [w, h];
    return {
      top: Math.floor((h - bh) / 2),
      left: Math.floor((w - bw) / 2),
      height: bh,
      width: bw,
    };
  });
}

/** Options of {@linkcode randomResizedCrop}. */
export interface RandomResizedCropOptions
  extends RandomResizedCropBoxesOptions {
  /** The output size: `[h, w]` or one number for a square. Required. */
  size: number | [number, number];
  /** "bilinear" (default), "nearest" or "bicubic". */
  mode?: "bilinear" | "nearest" | "bicubic";
}

/**
 * A random box of each image resized to `size`, as torchvision's
 * `RandomResizedCrop` (the "Inception" crop): each image's box from
 * {@linkcode randomResizedCropBoxes} (an area fraction in `scale`, an aspect
 * in `ratio`), then {@linkcode resizedCrop}. One draw per image from `key`.
 *
 * @example
 * ```ts
 * import { randomResizedCrop } from "./mod.ts";
 * import { random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = random.uniform(random.key(0), [4, 3, 32, 32]);
 * const y = randomResizedCrop(x, { size: 24, key: random.key(1) });
 * assert.deepEqual(y.shape, [4, 3, 24, 24]);
 * ```
 */
export function randomResizedCrop(
  x: Tensor,
  options: RandomResizedCropOptions,
): Tensor {
  const fn = "randomResizedCrop";
  const o = checkOptions(fn, options, [
    "size",
    "scale",
    "ratio",
    "mode",
    "key",
  ]) as unknown as RandomResizedCropOptions;
  const [xb, single] = asBatch(fn, x);
  floatCheck(fn, "x", xb);
  const out = sizePair(fn, o.size);
  const [n, c, h, w] = xb.shape;
  allocShape(fn, xb.dtype, [n, c, ...out]);
  const boxes = boxesAs(fn, n, [Math.max(h, 1), Math.max(w, 1)], {
    key: o.key,
    ...(o.scale === undefined ? {} : { scale: o.scale }),
    ...(o.ratio === undefined ? {} : { ratio: o.ratio }),
  });
  const mode = o.mode === undefined ? {} : { mode: o.mode };
  const images = boxes.map((b, i) =>
    resizeAs(
      fn,
      cropBox(fn, slice(xb, [i, 0, 0, 0], [i + 1, c, h, w]), b),
      out,
      mode,
    )
  );
  const y = n === 0
    ? zeros([0, c, ...out], { dtype: xb.dtype })
    : concat(images, 0);
  return single ? reshape(y, y.shape.slice(1)) : y;
}

/** Options of {@linkcode affine} (torchvision's `affine` arguments). */
export interface AffineOptions {
  /** Rotation in degrees, clockwise. Default 0. */
  angle?: number;
  /** Translation `[dx, dy]` in pixels, after the rotation. Default [0, 0]. */
  translate?: readonly [number, number];
  /** Overall scale, > 0. Default 1. */
  scale?: number;
  /** Shear in degrees: one number (parallel to x) or `[x, y]`. Default 0. */
  shear?: number | readonly [number, number];
  /** "nearest" (default, as torchvision's) or "bilinear". */
  mode?: "nearest" | "bilinear";
  /** The value of pixels from outside the image: one number or one per channel. Default: zeros, without torchvision's fill mask. */
  fill?: number | readonly number[];
  /** Centre of the rotation `[x, y]` in pixels from the top-left corner. Default the image's centre. */
  center?: readonly [number, number];
}

/** Options of {@linkcode rotate}. */
export interface RotateOptions {
  /** "nearest" (default, as torchvision's) or "bilinear". */
  mode?: "nearest" | "bilinear";
  /** Enlarge the output to hold the whole rotated image (rotation about the centre only). Default false. */
  expand?: boolean;
  /** Centre of the rotation `[x, y]` in pixels from the top-left corner. Default the image's centre. */
  center?: readonly [number, number];
  /** The value of pixels from outside the image: one number or one per channel. Default: zeros, without torchvision's fill mask. */
  fill?: number | readonly number[];
}

/** The affine map's parameters, checked. */
type AffineParams = {
  angle: number;
  translate: [number, number];
  scale: number;
  shear: [number, number];
};

const DEG = Math.PI / 180; // (Python's math.radians multiplies by pi / 180)

/**
 * torchvision's `_get_inverse_affine_matrix` (inverted): the 2x3 map from
 * output pixels to input pixels, both centred on the image.
 */
function inverseAffine(
  center: readonly [number, number],
  { angle, translate, scale, shear }: AffineParams,
): number[] {
  const rot = angle * DEG, sx = shear[0] * DEG, sy = shear[1] * DEG;
  const [cx, cy] = center, [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = -Math.cos(rot - sy) * Math.tan(sx) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = -Math.sin(rot - sy) * Math.tan(sx) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((v) => v / scale);
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

/**
 * torchvision's `_gen_affine_grid`: the normalised sampling positions of an
 * `oh` x `ow` output for an input `h` x `w` under matrix `m`, written at
 * `out[at...]` (x then y per pixel).
 */
function affineGridInto(
  m: readonly number[],
  w: number,
  h: number,
  ow: number,
  oh: number,
  out: Float64Array,
  at: number,
): void {
  const r = [0, 1, 2].map((k) => m[k] / (0.5 * w))
    .concat([3, 4, 5].map((k) => m[k] / (0.5 * h)));
  for (let i = 0; i < oh; i++) {
    const by = -oh * 0.5 + 0.5 + i;
    for (let j = 0; j < ow; j++) {
      const bx = -ow * 0.5 + 0.5 + j;
      out[at++] = bx * r[0] + by * r[1] + r[2];
      out[at++] = bx * r[3] + by * r[4] + r[5];
    }
  }
}

/**
 * torchvision's `_compute_affine_output_size` for `rotate(expand=True)`:
 * the bounding box of the rotated corners (in float32, truncated to 1e-4
 * before the ceiling and floor, as torchvision).
 */
function expandedSize(m: readonly number[], w: number, h: number) {
  const f = Math.fround, tol = f(1e-4);
  const t = m.map(f);
  const pts = [[-0.5 * w, -0.5 * h], [-0.5 * w, 0.5 * h], [0.5 * w, 0.5 * h], [
    0.5 * w,
    -0.5 * h,
  ]];
  const size = [0, 1].map((k) => {
    const v = pts.map(([px, py]) =>
      f(f(f(px * t[3 * k]) + f(py * t[3 * k + 1])) + t[3 * k + 2])
    );
    const half = f((k === 0 ? w : h) * 0.5);
    const trunc = (u: number) => f(Math.trunc(f(u / tol)) * tol);
    const hi = Math.ceil(trunc(f(Math.max(...v) + half)));
    const lo = Math.floor(trunc(f(Math.min(...v) + half)));
    return hi - lo;
  });
  return { ow: size[0], oh: size[1] };
}

/** The mode and fill options of affine/rotate, checked. */
function samplingOptions(
  fn: string,
  o: { mode?: unknown; fill?: unknown },
  channels: number,
) {
  const mode = o.mode ?? "nearest";
  if (mode !== "nearest" && mode !== "bilinear") {
    throw new Error(
      `${fn}: mode must be "nearest" or "bilinear", got ${show(mode)}`,
    );
  }
  const fill = o.fill;
  if (fill !== undefined) {
    const list = typeof fill === "number" ? [fill] : fill;
    if (
      !Array.isArray(list) || !list.every((v) => typeof v === "number") ||
      (list.length !== 1 && list.length !== channels)
    ) {
      throw new Error(
        `${fn}: fill must be a number or one per channel (${channels}), got ${
          show(fill)
        }`,
      );
    }
  }
  return { mode: mode as "nearest" | "bilinear", fill: fill as Fill };
}

type Fill = number | readonly number[] | undefined;

/**
 * Samples each image of xb `[N, C, H, W]` at the grid its matrix gives (an
 * `oh` x `ow` output), with torchvision's fill: where the sampled mask of
 * ones is below 0.5 (nearest) or blended by it (bilinear).
 */
function warp(
  xb: Tensor,
  matrices: readonly number[][],
  ow: number,
  oh: number,
  mode: "nearest" | "bilinear",
  fill: Fill,
): Tensor {
  const [n, , h, w] = xb.shape;
  const g = new Float64Array(n * oh * ow * 2);
  matrices.forEach((m, i) =>
    affineGridInto(m, w, h, ow, oh, g, i * oh * ow * 2)
  );
  const grid = fromData(
    xb.dtype === "float64" ? g : Float32Array.from(g),
    [n, oh, ow, 2],
  );
  const o = { mode, paddingMode: "zeros" as const, alignCorners: false };
  const y = gridSample(xb, grid, o);
  if (fill === undefined) return y;
  const mask = gridSample(ones([n, 1, h, w], { dtype: xb.dtype }), grid, o);
  const values = typeof fill === "number" ? [fill] : [...fill];
  const f = fromData(
    xb.dtype === "float64"
      ? Float64Array.from(values)
      : Float32Array.from(values),
    [1, values.length, 1, 1],
  );
  return mode === "nearest"
    ? where(less(mask, 0.5), f, y)
    : add(mul(y, mask), mul(sub(1, mask), f));
}

/** The rotation centre relative to the image's centre (torchvision's center_f). */
const centred = (
  center: readonly [number, number] | undefined,
  w: number,
  h: number,
): [number, number] =>
  center ? [center[0] - w * 0.5, center[1] - h * 0.5] : [0, 0];

/**
 * What every warp does first and last (`fn` names it): x as a batch and its
 * sizes, the mode and fill options checked, the centre of its maps
 * (relative to the image's), and `finish`, which samples the images through
 * their matrices into an `oh` x `ow` output with the caller's shape.
 */
function warpSetup(
  fn: string,
  x: Tensor,
  o: { mode?: unknown; fill?: unknown; center?: unknown },
) {
  const [xb, single] = asBatch(fn, x);
  floatCheck(fn, "x", xb);
  const [n, c, h, w] = xb.shape;
  if (h < 1 || w < 1) {
    throw new Error(
      `${fn}: x must have a height and width >= 1, got ${fmt(x.shape)}`,
    );
  }
  const { mode, fill } = samplingOptions(fn, o, c);
  const center = o.center === undefined
    ? undefined
    : numPair(fn, "center", o.center);
  const finish = (matrices: readonly number[][], ow = w, oh = h) => {
    const y = warp(xb, matrices, ow, oh, mode, fill);
    return single ? reshape(y, y.shape.slice(1)) : y;
  };
  return { xb, n, c, h, w, centre: centred(center, w, h), finish };
}

/** A `[x, y]` pair of finite numbers. */
function numPair(fn: string, name: string, v: unknown): [number, number] {
  if (
    !Array.isArray(v) || v.length !== 2 ||
    !v.every((u) => typeof u === "number" && Number.isFinite(u))
  ) {
    throw new Error(
      `${fn}: ${name} must be a pair [x, y] of finite numbers, got ${show(v)}`,
    );
  }
  return [v[0], v[1]];
}

/** A finite number option. */
function finite(
  fn: string,
  name: string,
  v: unknown,
  fallback: number,
): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`${fn}: ${name} must be a finite number, got ${show(v)}`);
  }
  return v;
}

/** affine's map parameters from its options, checked. */
function affineParams(fn: string, o: AffineOptions): AffineParams {
  const angle = finite(fn, "angle", o.angle, 0);
  const translate = o.translate === undefined
    ? [0, 0] as [number, number]
    : numPair(fn, "translate", o.translate);
  const scale = finite(fn, "scale", o.scale, 1);
  if (!(scale > 0)) throw new Error(`${fn}: scale must be > 0, got ${scale}`);
  const shear: [number, number] = typeof o.shear === "number"
    ? [finite(fn, "shear", o.shear, 0), 0]
    : o.shear === undefined
    ? [0, 0]
    : numPair(fn, "shear", o.shear);
  return { angle, translate, scale, shear };
}

/**
 * An affine map of each image as torchvision's `affine` on tensors:
 * rotation by `angle` degrees (clockwise) about `center`, then `scale`,
 * `shear` and `translate`, sampled with `gridSample` (nearest by default,
 * or bilinear; zeros outside, or `fill`) on torchvision's grid.
 *
 * @example
 * ```ts
 * import { affine } from "./mod.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 2], [3, 4]]]);
 * // a one-pixel shift right, zeros coming in
 * assert.deepEqual(toArray(affine(x, { translate: [1, 0] })), [[[0, 1], [0, 3]]]);
 * // a quarter turn clockwise
 * assert.deepEqual(toArray(affine(x, { angle: 90 })), [[[3, 1], [4, 2]]]);
 * ```
 */
export function affine(x: Tensor, options?: AffineOptions): Tensor {
  const fn = "affine";
  options = checkOptions(fn, options, [
    "angle",
    "translate",
    "scale",
    "shear",
    "mode",
    "fill",
    "center",
  ]) as AffineOptions;
  const { n, centre, finish } = warpSetup(fn, x, options);
  const m = inverseAffine(centre, affineParams(fn, options));
  return finish(Array(n).fill(m));
}

/**
 * Rotates each image by `angle` degrees counter-clockwise as torchvision's
 * `rotate` on tensors (about `center`, nearest by default; `expand` grows
 * the output to hold the whole rotated image).
 *
 * @example
 * ```ts
 * import { rotate } from "./mod.ts";
 * import { tensor, toArray, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[1, 2], [3, 4]]]);
 * assert.deepEqual(toArray(rotate(x, 90)), [[[2, 4], [1, 3]]]);
 * assert.deepEqual(rotate(zeros([1, 10, 20]), 90, { expand: true }).shape, [1, 20, 10]);
 * ```
 */
export function rotate(
  x: Tensor,
  angle: number,
  options?: RotateOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "rotate";
  options = checkOptions(fn, options, [
    "mode",
    "expand",
    "center",
    "fill",
  ]) as RotateOptions;
  const { xb, n, c, h, w, centre, finish } = warpSetup(fn, x, options);
  const a = finite(fn, "angle", angle, NaN);
  if (Number.isNaN(a)) throw new Error(`${fn}: angle is required`);
  const expand = options.expand ?? false;
  if (typeof expand !== "boolean") {
    throw new Error(`${fn}: expand must be a boolean, got ${show(expand)}`);
  }
  const m = inverseAffine(centre, {
    angle: -a,
    translate: [0, 0],
    scale: 1,
    shear: [0, 0],
  });
  const { ow, oh } = expand ? expandedSize(m, w, h) : { ow: w, oh: h };
  if (!(ow >= 1 && oh >= 1)) {
    throw new Error(
      `${fn}: the expanded output would be ${ow}x${oh} for x ${
        fmt(x.shape)
      } (expand assumes a rotation about a centre inside the image)`,
    );
  }
  allocShape(fn, xb.dtype, [n, c, oh, ow]);
  return finish(Array(n).fill(m), ow, oh);
}

/** A `[lo, hi]` range option: a number d gives `[-d, d]` (d >= 0). */
function range(fn: string, name: string, v: unknown): [number, number] {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return [-v, v];
  if (
    Array.isArray(v) && v.length === 2 &&
    v.every((u) => typeof u === "number" && Number.isFinite(u)) && v[0] <= v[1]
  ) return [v[0], v[1]];
  throw new Error(
    `${fn}: ${name} must be a number >= 0 or a range [min, max], got ${
      show(v)
    }`,
  );
}

/** Options of {@linkcode randomAffine} (torchvision's `RandomAffine`). */
export interface RandomAffineOptions {
  /** Rotation range in degrees: d for `[-d, d]`, or `[min, max]`. Required. */
  degrees: number | readonly [number, number];
  /** Largest shifts as fractions `[a, b]` of the width and height (each shift rounded to a pixel). Default none. */
  translate?: readonly [number, number];
  /** Scale range `[min, max]`. Default none (1). */
  scale?: readonly [number, number];
  /** Shear range in degrees: s for x in `[-s, s]`, `[min, max]` for x, or `[xmin, xmax, ymin, ymax]`. Default none. */
  shear?: number | readonly number[];
  /** "nearest" (default) or "bilinear". */
  mode?: "nearest" | "bilinear";
  /** The value of pixels from outside the image. Default 0, as torchvision's (so its fill mask blends bilinear borders with it, unlike {@linkcode affine}'s default). */
  fill?: number | readonly number[];
  /** Centre of the rotation `[x, y]` in pixels. Default the image's centre. */
  center?: readonly [number, number];
  /** The random key. Required. */
  key: Key;
}

/**
 * A random affine map of each image, as torchvision's `RandomAffine` with
 * its parameter ranges (angle, a shift of whole pixels up to
 * `translate` · size, scale, shear), drawn from `key` for each image, then
 * {@linkcode affine}.
 *
 * @example
 * ```ts
 * import { randomAffine } from "./mod.ts";
 * import { ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = randomAffine(ones([8, 1, 28, 28]), {
 *   degrees: 15, translate: [0.1, 0.1], scale: [0.9, 1.1], key: random.key(0),
 * });
 * assert.deepEqual(y.shape, [8, 1, 28, 28]);
 * ```
 */
export function randomAffine(x: Tensor, options: RandomAffineOptions): Tensor {
  const fn = "randomAffine";
  options = checkOptions(fn, options, [
    "degrees",
    "translate",
    "scale",
    "shear",
    "mode",
    "fill",
    "center",
    "key",
  ]) as unknown as RandomAffineOptions;
  const { n, h, w, centre, finish } = warpSetup(fn, x, {
    ...options,
    fill: options.fill ?? 0,
  });
  const key = requireKey(fn, options.key);
  const degrees = range(fn, "degrees", options.degrees);
  const tr = options.translate === undefined
    ? null
    : numPair(fn, "translate", options.translate);
  if (tr && !tr.every((v) => v >= 0 && v <= 1)) {
    throw new Error(
      `${fn}: translate must be fractions in [0, 1], got ${show(tr)}`,
    );
  }
  const sc = options.scale === undefined
    ? null
    : range(fn, "scale", options.scale);
  if (sc && !(sc[0] > 0)) {
    throw new Error(
      `${fn}: scale must be a range of numbers > 0, got ${show(options.scale)}`,
    );
  }
  const sh = options.shear;
  const shears: [number, number][] = sh === undefined
    ? []
    : Array.isArray(sh) && sh.length === 4
    ? [range(fn, "shear", sh.slice(0, 2)), range(fn, "shear", sh.slice(2))]
    : [range(fn, "shear", sh)];
  // one draw per parameter and image, in [0, 1) (the two shears independent, as torchvision's)
  const u = uniform(key, [6, n], { dtype: "float64" }).data;
  const lerp = ([lo, hi]: [number, number], t: number) => lo + (hi - lo) * t;
  const matrices = Array.from({ length: n }, (_, i) => {
    const at = (k: number) => u[k * n + i];
    const translate: [number, number] = tr
      ? [
        roundHalfEven(lerp([-tr[0] * w, tr[0] * w], at(1))),
        roundHalfEven(lerp([-tr[1] * h, tr[1] * h], at(2))),
      ]
      : [0, 0];
    return inverseAffine(centre, {
      angle: lerp(degrees, at(0)),
      translate,
      scale: sc ? lerp(sc, at(3)) : 1,
      shear: [
        shears[0] ? lerp(shears[0], at(4)) : 0,
        shears[1] ? lerp(shears[1], at(5)) : 0,
      ],
    });
  });
  return finish(matrices);
}

/** Options of {@linkcode randomRotation} (torchvision's `RandomRotation`, without expand). */
export interface RandomRotationOptions {
  /** Rotation range in degrees: d for `[-d, d]`, or `[min, max]`. Required. */
  degrees: number | readonly [number, number];
  /** "nearest" (default) or "bilinear". */
  mode?: "nearest" | "bilinear";
  /** Centre of the rotation `[x, y]` in pixels. Default the image's centre. */
  center?: readonly [number, number];
  /** The value of pixels from outside the image. Default 0, as torchvision's (so its fill mask blends bilinear borders with it, unlike {@linkcode affine}'s default). */
  fill?: number | readonly number[];
  /** The random key. Required. */
  key: Key;
}

/**
 * Rotates each image by an angle drawn from `degrees` (counter-clockwise,
 * one per image from `key`), as torchvision's `RandomRotation` then
 * {@linkcode rotate}. (No `expand`: images of one batch share a size.)
 *
 * @example
 * ```ts
 * import { randomRotation } from "./mod.ts";
 * import { ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = randomRotation(ones([4, 1, 28, 28]), { degrees: 30, key: random.key(1) });
 * assert.deepEqual(y.shape, [4, 1, 28, 28]);
 * ```
 */
export function randomRotation(
  x: Tensor,
  options: RandomRotationOptions,
): Tensor {
  const fn = "randomRotation";
  options = checkOptions(fn, options, [
    "degrees",
    "mode",
    "center",
    "fill",
    "key",
  ]) as unknown as RandomRotationOptions;
  const { n, centre, finish } = warpSetup(fn, x, {
    ...options,
    fill: options.fill ?? 0,
  });
  const key = requireKey(fn, options.key);
  const degrees = range(fn, "degrees", options.degrees);
  const u = uniform(key, [n], { dtype: "float64" }).data;
  const matrices = Array.from(
    { length: n },
    (_, i) =>
      inverseAffine(centre, {
        angle: -(degrees[0] + (degrees[1] - degrees[0]) * u[i]),
        translate: [0, 0],
        scale: 1,
        shear: [0, 0],
      }),
  );
  return finish(matrices);
}

/** The required random key of a random transform. @internal */
export function requireKey(fn: string, key: unknown): Key {
  if (!key) throw new Error(`${fn}: options.key (a random.key) is required`);
  checkKeyArg(fn, key, "options.key");
  return key as Key;
}
