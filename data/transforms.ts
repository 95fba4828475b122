/**
 * Pure image transforms, as torchvision's: HWC to CHW, scaling to [0, 1],
 * per-channel normalisation, padding, and random crops and flips driven by
 * a random key (so augmentation is reproducible). They work on one image
 * `[C, H, W]` or a batch `[N, C, H, W]` (the random ones draw per image).
 * The crops and flips gather pixels with the library's ops: gradients flow
 * through them, and `jit` (with a fixed key) and `vmap` run them.
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
  describe,
  fmtShape as fmt,
  fromData,
  showValue,
  type Tensor,
  tensor,
} from "../ops/tensor.ts";
import { div, sub } from "../ops/elementwise.ts";
import { pad, reshape, transpose } from "../ops/structural.ts";
import { takeAlongAxis } from "../ops/indexing.ts";
import { Tracer } from "../ops/trace.ts";
import { bernoulli, type Key, randint, split } from "../ops/random.ts";
import { checkKeyArg } from "../ops/_args.ts";

/**
 * `[H, W, C]` (or `[N, H, W, C]`) to `[C, H, W]` (or `[N, C, H, W]`).
 *
 * @example
 * ```ts
 * import { hwcToChw } from "./transforms.ts";
 * import { zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(hwcToChw(zeros([32, 32, 3])).shape, [3, 32, 32]);
 * ```
 */
export function hwcToChw(x: Tensor): Tensor {
  checkTensor("hwcToChw", x, "x");
  if (x.shape.length === 3) return transpose(x, [2, 0, 1]);
  if (x.shape.length === 4) return transpose(x, [0, 3, 1, 2]);
  throw new Error(
    `hwcToChw: x must be [H, W, C] or [N, H, W, C], got ${fmt(x.shape)}`,
  );
}

/**
 * Scales 0..255 pixel values to [0, 1] (divides by 255), as float32.
 *
 * @example
 * ```ts
 * import { scaleTo01 } from "./transforms.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(scaleTo01(tensor([0, 255], { dtype: "int32" }))), [0, 1]);
 * ```
 */
export function scaleTo01(x: Tensor): Tensor {
  checkTensor("scaleTo01", x, "x");
  return div(x, 255);
}

function channelAxis(fn: string, x: Tensor): number {
  if (x.shape.length === 3) return 0;
  if (x.shape.length === 4) return 1;
  throw new Error(
    `${fn}: x must be [C, H, W] or [N, C, H, W], got ${fmt(x.shape)}`,
  );
}

/**
 * Per-channel `(x - mean) / std`, as torchvision's `Normalize` (a std of 0,
 * or one that rounds to 0 in x's dtype, is an error; so is a negative one).
 *
 * @example
 * ```ts
 * import { normalize } from "./transforms.ts";
 * import { ones, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = normalize(ones([2, 1, 1]), [0.5, 0], [0.5, 2]);
 * assert.deepEqual(toArray(y), [[[1]], [[0.5]]]);
 * ```
 */
export function normalize(
  x: Tensor,
  mean: readonly number[],
  std: readonly number[],
): Tensor {
  const fn = "normalize";
  checkTensor(fn, x, "x");
  const a = channelAxis(fn, x);
  const c = x.shape[a];
  for (const [name, v] of [["mean", mean], ["std", std]] as const) {
    if (!Array.isArray(v) || !v.every((e) => typeof e === "number")) {
      throw new Error(
        `${fn}: ${name} must be an array of numbers (one per channel), got ${
          describe(v)
        }`,
      );
    }
  }
  if (mean.length !== c || std.length !== c) {
    throw new Error(
      `${fn}: mean and std need one value per channel (${c} for x ${
        fmt(x.shape)
      }), got ${mean.length} and ${std.length}`,
    );
  }
  const dtype = x.dtype === "float64" ? "float64" : "float32";
  // (as torchvision's, a std that is 0 in x's dtype is refused: 1e-50 in float32)
  const round = dtype === "float32" ? Math.fround : (v: number) => v;
  if (std.some((s) => !(round(s) > 0))) {
    throw new Error(
      `${fn}: std must be positive (in ${dtype}), got [${std}]`,
    );
  }
  const shape = a === 0 ? [c, 1, 1] : [1, c, 1, 1];
  const m = tensor(mean as number[], { shape, dtype });
  const s = tensor(std as number[], { shape, dtype });
  return div(sub(x, m), s);
}

/**
 * Pads the two spatial axes with `padding` pixels of `value` on each side
 * (e.g. MNIST's 28x28 to LeNet-5's 32x32 with padding 2).
 *
 * @example
 * ```ts
 * import { padImages } from "./transforms.ts";
 * import { zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(padImages(zeros([5, 1, 28, 28]), 2).shape, [5, 1, 32, 32]);
 * ```
 */
export function padImages(
  x: Tensor,
  padding: number,
  options?: { value?: number },
): Tensor {
  if (options === undefined) options = {};
  const fn = "padImages";
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["value"]);
  channelAxis(fn, x);
  if (!Number.isInteger(padding) || padding < 0) {
    throw new Error(
      `${fn}: padding must be a non-negative integer, got ${
        showValue(padding)
      }`,
    );
  }
  if (padding >= 2 ** 30) {
    throw new Error(`${fn}: padding must be below 2^30, got ${padding}`);
  }
  const widths = x.shape.map((_, i) =>
    i >= x.shape.length - 2 ? [padding, padding] : [0, 0]
  );
  const value = options.value ?? 0;
  if (typeof value !== "number") {
    throw new Error(`${fn}: value must be a number, got ${describe(value)}`);
  }
  return pad(x, widths as [number, number][], { value });
}

/** Treats one image as a batch of one; returns the 4-D view and whether it was single. @internal */
export function asBatch(fn: string, x: Tensor): [Tensor, boolean] {
  checkTensor(fn, x, "x");
  const single = channelAxis(fn, x) === 0;
  return [single ? reshape(x, [1, ...x.shape]) : x, single];
}

/**
 * The values of `flat` `[N, M]` at `at` (`N·K` indices into each row; the
 * index M stands for a 0 past the row) as `shape`. Traced (by `grad`,
 * `vmap` or `jit`), a gather, so gradients flow back to the images and a
 * jitted function with a fixed key replays it; otherwise the same values
 * read by a plain loop (a batch of augmentation per training step: the
 * gather's op costs 5x more).
 */
function gatherImages(
  flat: Tensor,
  at: Int32Array,
  shape: readonly number[],
): Tensor {
  const [n, m] = flat.shape, k = n === 0 ? 0 : at.length / n;
  if (!(flat instanceof Tracer)) {
    const src = flat.data, out = allocData(flat.dtype, at.length);
    for (let i = 0, q = 0; i < n; i++) {
      const e = q + k, row = i * m;
      for (; q < e; q++) if (at[q] < m) out[q] = src[row + at[q]];
    }
    return fromData(out, shape);
  }
  const padded = at.includes(m) ? pad(flat, [[0, 0], [0, 1]]) : flat;
  const index = fromData(at, [n, k]);
  return reshape(takeAlongAxis(padded, index, { axis: 1 }), shape);
}

/**
 * A random `size` crop of each image after zero-padding by `padding`, as
 * torchvision's `RandomCrop` (with padding 2 on 32x32 images: random shifts of
 * up to ±2 pixels).
 *
 * @example
 * ```ts
 * import { randomCrop } from "./transforms.ts";
 * import { ones, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = randomCrop(ones([4, 1, 8, 8]), { size: 8, padding: 2, key: random.key(0) });
 * assert.deepEqual(y.shape, [4, 1, 8, 8]);
 * ```
 */
export function randomCrop(
  x: Tensor,
  options: { size: number | [number, number]; padding?: number; key: Key },
): Tensor {
  const fn = "randomCrop";
  checkOptions(fn, options, ["size", "padding", "key"]);
  const [xb, single] = asBatch(fn, x);
  if (!options?.key) {
    throw new Error(`${fn}: options.key (a random.key) is required`);
  }
  checkKeyArg(fn, options.key, "options.key");
  const size = options.size;
  const [sh, sw] = typeof size === "number"
    ? [size, size]
    : Array.isArray(size) && size.length === 2
    ? size
    : [NaN, NaN]; // (refused below)
  const p = options.padding ?? 0;
  const [n, c, h, w] = xb.shape;
  if (!Number.isInteger(p) || p < 0 || h + 2 * p >= 2 ** 31) {
    throw new Error(
      `${fn}: padding must be a non-negative integer (and the padded image below 2^31 pixels a side), got ${
        describe(p)
      }`,
    );
  }
  const hp = h + 2 * p, wp = w + 2 * p;
  if (
    !(Number.isInteger(sh) && Number.isInteger(sw) && sh >= 1 && sw >= 1 &&
      sh <= hp && sw <= wp)
  ) {
    throw new Error(
      `${fn}: size ${
        showValue(options.size)
      } must fit in the padded image ${hp}x${wp}`,
    );
  }
  const [ky, kx] = split(options.key);
  const oy = randint(ky, [n], 0, hp - sh + 1).data,
    ox = randint(kx, [n], 0, wp - sw + 1).data;
  // calls visit(i, k, from, x0, x1) for each crop row of image i inside
  // the image: the row's first value is at k among the crop's n·c·sh·sw,
  // its columns xx in [x0, x1) fall inside the image at from + xx among
  // the image's c·h·w values (the rest of the crop is padding, 0)
  const cropRows = (
    visit: (i: number, k: number, from: number, x0: number, x1: number) => void,
  ) => {
    for (let i = 0, k = 0; i < n; i++) {
      const dx = ox[i] - p, x0 = Math.max(0, -dx), x1 = Math.min(sw, w - dx);
      for (let ch = 0; ch < c; ch++) {
        for (let y = 0; y < sh; y++, k += sw) {
          const yy = y + oy[i] - p;
          if (yy >= 0 && yy < h) visit(i, k, (ch * h + yy) * w + dx, x0, x1);
        }
      }
    }
  };
  let y: Tensor;
  if (!(xb instanceof Tracer)) {
    // a batch of augmentation per training step: the rows copied (a table
    // of positions and a gather cost 2.5x more)
    const src = xb.data, out = allocData(xb.dtype, n * c * sh * sw);
    const per = c * h * w;
    cropRows((i, k, from, x0, x1) => {
      const at = i * per + from;
      for (let xx = x0; xx < x1; xx++) out[k + xx] = src[at + xx];
    });
    y = fromData(out, [n, c, sh, sw]);
  } else {
    // traced: a gather of each crop pixel's place among its image's c·h·w
    // values, or the zero appended after them
    const at = new Int32Array(n * c * sh * sw).fill(c * h * w);
    cropRows((_, k, from, x0, x1) => {
      for (let xx = x0; xx < x1; xx++) at[k + xx] = from + xx;
    });
    y = gatherImages(reshape(xb, [n, c * h * w]), at, [n, c, sh, sw]);
  }
  return single ? reshape(y, [c, sh, sw]) : y;
}

/**
 * Mirrors each image left-right with probability `p` (default 0.5), as
 * torchvision's `RandomHorizontalFlip`.
 *
 * @example
 * ```ts
 * import { randomHorizontalFlip } from "./transforms.ts";
 * import { random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2]]]]);
 * assert.deepEqual(toArray(randomHorizontalFlip(x, { p: 1, key: random.key(0) })), [[[[2, 1]]]]);
 * ```
 */
export function randomHorizontalFlip(
  x: Tensor,
  options: { p?: number; key: Key },
): Tensor {
  return randomFlip("randomHorizontalFlip", x, options, false);
}

/**
 * Mirrors each image top-bottom with probability `p` (default 0.5), as
 * torchvision's `RandomVerticalFlip`.
 *
 * @example
 * ```ts
 * import { randomVerticalFlip } from "./transforms.ts";
 * import { random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[1, 2], [3, 4]]]]);
 * assert.deepEqual(toArray(randomVerticalFlip(x, { p: 1, key: random.key(0) })), [[[[3, 4], [1, 2]]]]);
 * ```
 */
export function randomVerticalFlip(
  x: Tensor,
  options: { p?: number; key: Key },
): Tensor {
  return randomFlip("randomVerticalFlip", x, options, true);
}

/** The random flips: each image mirrored (its rows when `vertical`, else its columns) with probability p. */
function randomFlip(
  fn: string,
  x: Tensor,
  options: { p?: number; key: Key },
  vertical: boolean,
): Tensor {
  checkOptions(fn, options, ["p", "key"]);
  const [xb, single] = asBatch(fn, x);
  if (!options?.key) {
    throw new Error(`${fn}: options.key (a random.key) is required`);
  }
  checkKeyArg(fn, options.key, "options.key");
  const prob = options.p ?? 0.5;
  if (typeof prob !== "number" || !(prob >= 0 && prob <= 1)) {
    throw new Error(
      `${fn}: p must be in [0, 1], got ${
        typeof prob === "number" ? prob : describe(prob)
      }`,
    );
  }
  const [n, c, h, w] = xb.shape;
  const flip = bernoulli(options.key, prob, [n]).data;
  // each pixel's source among its image's c·h·w values
  const at = new Int32Array(n * c * h * w);
  for (let i = 0, k = 0; i < n; i++) {
    const rows = flip[i] && vertical, cols = flip[i] && !vertical;
    for (let ch = 0; ch < c; ch++) {
      for (let r = 0; r < h; r++) {
        const from = (ch * h + (rows ? h - 1 - r : r)) * w;
        for (let q = 0; q < w; q++, k++) at[k] = from + (cols ? w - 1 - q : q);
      }
    }
  }
  const y = gatherImages(reshape(xb, [n, c * h * w]), at, xb.shape);
  return single ? reshape(y, x.shape) : y;
}
