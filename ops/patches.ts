/**
 * Patches of images: `unfold` (`torch.nn.functional.unfold`, im2col: every
 * window of a convolution as a column) and `fold` (its transpose,
 * col2im: columns added back into an image), `pixelShuffle` and
 * `pixelUnshuffle` (channels to space and back).
 *
 * No primitive of their own: `unfold` gathers the image at the windows' flat
 * positions (a tap in the zero padding reads a zero appended to the image,
 * so no padded copy is made) and `fold` scatter-adds them back, so each is the
 * other's VJP, and gradients to any order, vmap, jit and ONNX come with the
 * indexing primitives. A convolution is `matmul(weight as [O, C·kH·kW],
 * unfold(x))`: the op that shows what conv2d computes.
 *
 * @module
 */
import {
  allocShape,
  checkOptions,
  checkTensor,
  describe,
  type Tensor,
  tensor,
} from "./tensor.ts";
import { userOp } from "./debug.ts";
import {
  batchShape,
  floatCheck,
  fmt,
  type Pair,
  pair,
  showValue,
} from "./_args.ts";
import { outputLength } from "./conv.ts";
import { gatherAt, scatterAddAt } from "./indexing.ts";
import { pad, reshape, slice, squeeze, transpose } from "./structural.ts";

/** Options of {@linkcode unfold}. */
export interface UnfoldOptions {
  /** Window size. Required. */
  kernelSize: Pair;
  /** Spacing between window taps. Default 1. */
  dilation?: Pair;
  /** Zero padding per side. Default 0. */
  padding?: Pair;
  /** Step between windows. Default 1. */
  stride?: Pair;
}

/** Options of {@linkcode fold}: {@linkcode unfold}'s, and the image size. */
export interface FoldOptions extends UnfoldOptions {
  /** The spatial size `[H, W]` of the image the columns came from. Required. */
  outputSize: Pair;
}

/** The windows of unfold/fold: the kernel size, their count along each axis, and where they read. */
interface Windows {
  k: [number, number];
  /** Windows along each axis; L = bh · bw. */
  bh: number;
  bw: number;
  /** True when a tap falls in the padding. */
  padded: boolean;
  /**
   * `[kH·kW, L]` (made once the caller has checked its sizes): each tap's
   * flat position in the image, window by window; a tap in the padding
   * reads position H·W, a zero appended to the image.
   */
  indices: () => Tensor;
}

const UNFOLD_KEYS = ["kernelSize", "dilation", "padding", "stride"];

/**
 * unfold's options (fold's with `fold`), checked with `fn`'s messages:
 * kernel size, dilation, padding, stride (and fold's output size) as
 * pairs; needs no shape, so a layer checks them when it is built. @internal
 */
export function patchSettings(
  fn: string,
  options: unknown,
  fold: boolean,
): {
  k: [number, number];
  d: [number, number];
  p: [number, number];
  s: [number, number];
  size: [number, number] | null;
} {
  const what = fold ? "outputSize and kernelSize" : "kernelSize";
  if (typeof options !== "object" || options === null) {
    throw new Error(
      `${fn}: options must be an object with ${what}, got ${describe(options)}`,
    );
  }
  const o = options as FoldOptions;
  checkOptions(fn, o, fold ? ["outputSize", ...UNFOLD_KEYS] : UNFOLD_KEYS);
  return {
    size: fold ? pair(fn, "outputSize", o.outputSize, 1) : null,
    k: pair(fn, "kernelSize", o.kernelSize, 1),
    d: pair(fn, "dilation", o.dilation ?? 1, 1),
    p: pair(fn, "padding", o.padding ?? 0, 0),
    s: pair(fn, "stride", o.stride ?? 1, 1),
  };
}

/** The windows of settled options over an image of `[h, w]`; throws when none fits. */
function windows(
  fn: string,
  { k, d, p, s }: ReturnType<typeof patchSettings>,
  [h, w]: readonly number[],
): Windows {
  const bh = outputLength(h, k[0], s[0], p[0], p[0], d[0]);
  const bw = outputLength(w, k[1], s[1], p[1], p[1], d[1]);
  if (bh < 1 || bw < 1) {
    throw new Error(
      `${fn}: no window fits: an image of ${h}x${w} with kernelSize ${
        fmt(k)
      }, dilation ${fmt(d)}, padding ${fmt(p)} and stride ${
        fmt(s)
      } gives ${bh}x${bw} windows (each must be >= 1)`,
    );
  }
  const indices = () => {
    const idx = allocShape(fn, "int32", [k[0] * k[1], bh * bw]);
    for (let i = 0, at = 0; i < k[0]; i++) {
      for (let j = 0; j < k[1]; j++) {
        for (let y = 0; y < bh; y++) {
          const py = y * s[0] + i * d[0] - p[0];
          for (let x = 0; x < bw; x++, at++) {
            const px = x * s[1] + j * d[1] - p[1];
            idx[at] = py >= 0 && py < h && px >= 0 && px < w
              ? py * w + px
              : h * w;
          }
        }
      }
    }
    return tensor(idx, { shape: [k[0] * k[1], bh * bw], dtype: "int32" });
  };
  return { k, bh, bw, padded: p[0] > 0 || p[1] > 0, indices };
}

/** unfold's geometry for x's shape, with its checks: batch `[n, c]`, and the windows. */
function unfoldSetup(fn: string, xShape: readonly number[], options: unknown) {
  const [n, c, h, w] = batchShape(fn, xShape);
  const win = windows(fn, patchSettings(fn, options, false), [h, w]);
  return { n, c, h, w, win };
}

/** The output shape of {@linkcode unfold}, with its checks, without computing anything. @internal */
export function unfoldShape(
  xShape: readonly number[],
  options: unknown,
): number[] {
  const { c, win } = unfoldSetup("unfold", xShape, options);
  const cols = [c * win.k[0] * win.k[1], win.bh * win.bw];
  return xShape.length === 3 ? cols : [xShape[0], ...cols];
}

/** fold's geometry for x's shape, with its checks: `[n, c, taps, L]`, the image size and the windows. */
function foldSetup(fn: string, xShape: readonly number[], options: unknown) {
  const r = xShape.length;
  if (r !== 2 && r !== 3) {
    throw new Error(
      `${fn}: x must be [N, C·kH·kW, L] or unbatched [C·kH·kW, L], got ${
        fmt(xShape)
      }`,
    );
  }
  const settings = patchSettings(fn, options, true);
  const [h, w] = settings.size!;
  const win = windows(fn, settings, [h, w]);
  const [n, rows, l] = r === 3 ? xShape : [1, ...xShape];
  const taps = win.k[0] * win.k[1];
  if (rows % taps !== 0) {
    throw new Error(
      `${fn}: x's axis ${
        r - 2
      } (${rows}) must be divisible by kH·kW = ${taps} (kernelSize ${
        fmt(win.k)
      }), got x ${fmt(xShape)}`,
    );
  }
  if (l !== win.bh * win.bw) {
    throw new Error(
      `${fn}: x's last axis must have one column per window, ${
        win.bh * win.bw
      } (${win.bh}x${win.bw} for outputSize ${
        fmt([h, w])
      } with these options), got ${l} (x ${fmt(xShape)})`,
    );
  }
  return { n, c: rows / taps, taps, l, h, w, win };
}

/** The output shape of {@linkcode fold}, with its checks, without computing anything. @internal */
export function foldShape(
  xShape: readonly number[],
  options: unknown,
): number[] {
  const { n, c, h, w } = foldSetup("fold", xShape, options);
  return xShape.length === 2 ? [c, h, w] : [n, c, h, w];
}

/**
 * Every window of a convolution over x `[N, C, H, W]` (or unbatched
 * `[C, H, W]`) as a column, as `torch.nn.functional.unfold` (im2col): the
 * result is `[N, C·kH·kW, L]` with rows channel by channel, tap by tap in
 * row-major order, and one column per window (L windows, row-major). Zero
 * padding; its gradient is {@linkcode fold}.
 *
 * @example
 * ```ts
 * import { arange, reshape, toArray, unfold } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(9), [1, 1, 3, 3]);
 * // the four 2x2 windows, one per column
 * assert.deepEqual(toArray(unfold(x, { kernelSize: 2 })), [[
 *   [0, 1, 3, 4],
 *   [1, 2, 4, 5],
 *   [3, 4, 6, 7],
 *   [4, 5, 7, 8],
 * ]]);
 * ```
 */
export function unfold(x: Tensor, options: UnfoldOptions): Tensor {
  const fn = "unfold";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  using _op = userOp(fn);
  const { n, c, h, w, win } = unfoldSetup(fn, x.shape, options);
  const flat = reshape(x, [n, c, h * w]);
  // a zero after the image for the taps in the padding
  const src = win.padded ? pad(flat, [[0, 0], [0, 0], [0, 1]]) : flat;
  const taps = win.k[0] * win.k[1];
  const cols = reshape(gatherAt(src, win.indices(), 2), [
    n,
    c * taps,
    win.bh * win.bw,
  ]);
  return x.shape.length === 3 ? squeeze(cols, 0) : cols;
}

/**
 * Columns `[N, C·kH·kW, L]` (or unbatched `[C·kH·kW, L]`) added back into
 * an image `[N, C, H, W]` of `outputSize`, as `torch.nn.functional.fold`
 * (col2im): each column's taps are added at its window's positions, so
 * overlapping windows add up, then the padding is cropped. The transpose of
 * {@linkcode unfold} (`fold(unfold(x))` is x times how many windows cover
 * each pixel); its gradient is `unfold`.
 *
 * @example
 * ```ts
 * import { fold, ones, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // four 2x2 windows over a 3x3 image: how many cover each pixel
 * const counts = fold(ones([4, 4]), { outputSize: 3, kernelSize: 2 }); // unbatched
 * assert.deepEqual(toArray(counts), [[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]);
 * ```
 */
export function fold(x: Tensor, options: FoldOptions): Tensor {
  const fn = "fold";
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  using _op = userOp(fn);
  const { n, c, taps, l, h, w, win } = foldSetup(fn, x.shape, options);
  const cols = reshape(x, [n, c, taps, l]);
  // the taps in the padding land on a position after the image, dropped
  const size = h * w + (win.padded ? 1 : 0);
  const added = scatterAddAt(cols, win.indices(), 2, size);
  const out = reshape(
    win.padded ? slice(added, [0, 0, 0], [n, c, h * w]) : added,
    [n, c, h, w],
  );
  return x.shape.length === 2 ? squeeze(out, 0) : out;
}

/**
 * The output shape of {@linkcode pixelShuffle} (`up`) or
 * {@linkcode pixelUnshuffle} of x's shape by `factor`, with their checks.
 * @internal
 */
export function pixelShuffleShape(
  xShape: readonly number[],
  factor: unknown,
  up: boolean,
): number[] {
  const fn = up ? "pixelShuffle" : "pixelUnshuffle";
  const name = up ? "upscaleFactor" : "downscaleFactor";
  if (!Number.isInteger(factor) || (factor as number) < 1) {
    throw new Error(
      `${fn}: ${name} must be an integer >= 1, got ${describe(factor)}`,
    );
  }
  const r = factor as number;
  if (xShape.length < 3) {
    throw new Error(
      `${fn}: x must have at least 3 axes ([..., C, H, W]), got ${fmt(xShape)}`,
    );
  }
  const [c, h, w] = xShape.slice(-3);
  if (up && c % (r * r) !== 0) {
    throw new Error(
      `${fn}: x's channels (axis -3, ${c}) must be divisible by upscaleFactor² = ${
        r * r
      }, got x ${fmt(xShape)}`,
    );
  }
  if (!up && (h % r !== 0 || w % r !== 0)) {
    throw new Error(
      `${fn}: x's height and width (${h}x${w}) must be divisible by downscaleFactor ${r}, got x ${
        fmt(xShape)
      }`,
    );
  }
  const lead = xShape.slice(0, -3);
  return up
    ? [...lead, c / (r * r), h * r, w * r]
    : [...lead, c * r * r, h / r, w / r];
}

/**
 * Rearranges `[..., C·r², H, W]` into `[..., C, H·r, W·r]`, as
 * `torch.nn.functional.pixel_shuffle` (sub-pixel convolution's upsampling):
 * channel `c·r² + i·r + j` becomes the pixel offset `(i, j)` of each block.
 * Any number of leading axes; its inverse is {@linkcode pixelUnshuffle}.
 *
 * @example
 * ```ts
 * import { arange, pixelShuffle, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(4), [4, 1, 1]); // four channels of one pixel
 * assert.deepEqual(toArray(pixelShuffle(x, 2)), [[[0, 1], [2, 3]]]);
 * ```
 */
export function pixelShuffle(x: Tensor, upscaleFactor: number): Tensor {
  return shuffle(x, upscaleFactor, true);
}

/**
 * Rearranges `[..., C, H·r, W·r]` into `[..., C·r², H, W]`, as
 * `torch.nn.functional.pixel_unshuffle`: the inverse of
 * {@linkcode pixelShuffle}.
 *
 * @example
 * ```ts
 * import { arange, pixelUnshuffle, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(4), [1, 2, 2]);
 * assert.deepEqual(toArray(pixelUnshuffle(x, 2)), [[[0]], [[1]], [[2]], [[3]]]);
 * ```
 */
export function pixelUnshuffle(x: Tensor, downscaleFactor: number): Tensor {
  return shuffle(x, downscaleFactor, false);
}

/**
 * pixelShuffle (`up`) or pixelUnshuffle by r: the channels split into
 * `[C, i, j]` and the pixels into `[H, i, W, j]` blocks, the two block
 * layouts being one transpose apart.
 */
function shuffle(x: Tensor, r: number, up: boolean): Tensor {
  const fn = up ? "pixelShuffle" : "pixelUnshuffle";
  checkTensor(fn, x, "x");
  const out = pixelShuffleShape(x.shape, r, up);
  using _op = userOp(fn);
  const k = x.shape.length - 3, lead = x.shape.slice(0, k);
  const [c, h, w] = (up ? out : x.shape).slice(-3); // the large image's size
  const byChannel = [...lead, c, r, r, h / r, w / r]; // [..., C, i, j, H, W]
  const byPixel = [...lead, c, h / r, r, w / r, r]; // [..., C, H, i, W, j]
  const perm = up
    ? [...lead.keys(), k, k + 3, k + 1, k + 4, k + 2]
    : [...lead.keys(), k, k + 2, k + 4, k + 1, k + 3];
  return reshape(transpose(reshape(x, up ? byChannel : byPixel), perm), out);
}

/**
 * The output shape of {@linkcode channelShuffle} (x's), with its checks.
 * @internal
 */
export function channelShuffleShape(
  xShape: readonly number[],
  groups: number,
): number[] {
  const fn = "channelShuffle";
  if (xShape.length < 3) {
    throw new Error(
      `${fn}: x must be [N, C, ...] with at least 3 axes, got ${fmt(xShape)}`,
    );
  }
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(
      `${fn}: groups must be an integer >= 1, got ${showValue(groups)}`,
    );
  }
  if (xShape[1] % groups !== 0) {
    throw new Error(
      `${fn}: x's ${
        xShape[1]
      } channels must be divisible by groups ${groups}, got x ${fmt(xShape)}`,
    );
  }
  return xShape.slice();
}

/**
 * Interleaves the channels of `[N, C, ...]` from `groups` groups, as
 * `torch.nn.functional.channel_shuffle` (ShuffleNet's): channel
 * `g·(C/groups) + i` goes to position `i·groups + g`; a reshape, a
 * transpose and a reshape.
 *
 * @example
 * ```ts
 * import { arange, channelShuffle, reshape, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = reshape(arange(6), [1, 6, 1]);
 * assert.deepEqual(toArray(channelShuffle(x, 3)), [[[0], [2], [4], [1], [3], [5]]]);
 * ```
 */
export function channelShuffle(x: Tensor, groups: number): Tensor {
  const fn = "channelShuffle";
  checkTensor(fn, x, "x");
  channelShuffleShape(x.shape, groups);
  using _op = userOp(fn);
  const [n, c, ...rest] = x.shape;
  const grouped = reshape(x, [n, groups, c / groups, ...rest]);
  const perm = [0, 2, 1, ...rest.map((_, i) => i + 3)];
  return reshape(transpose(grouped, perm), x.shape);
}
