/**
 * Spatial transformer sampling: `affineGrid` (`torch.nn.functional.
 * affine_grid`: the sampling grid of an affine map) and `gridSample`
 * (`torch.nn.functional.grid_sample`: the input read at a grid of
 * normalised positions, bilinearly, bicubically or at the nearest pixel,
 * with zero, border or reflection padding).
 *
 * No primitive of their own: `gridSample` computes each output's corner
 * positions and weights with elementwise ops (the corners' `floor` carries
 * no derivative, the weights carry the grid's), gathers the input at the
 * corners and adds the weighted values in PyTorch's order, so gradients
 * with respect to the input and the grid, to any order, vmap and jit come
 * with the ops it uses.
 *
 * @module
 */
import {
  allocShape,
  checkBool,
  checkOptions,
  checkTensor,
  describe,
  type Tensor,
  tensor,
} from "./tensor.ts";
import { userOp } from "./debug.ts";
import { floatCheck, fmt, showValue } from "./_args.ts";
import {
  abs,
  add,
  astype,
  div,
  equal,
  greaterEqual,
  lessEqual,
  mul,
  sub,
  where,
} from "./elementwise.ts";
import { floor, isFinite, logicalAnd, round } from "./math.ts";
import { matmul } from "./matmul.ts";
import { takeAlongAxisAt } from "./indexing.ts";
import {
  broadcastTo,
  expandDims,
  reshape,
  slice,
  transpose,
} from "./structural.ts";

/** Options of {@linkcode affineGrid} and {@linkcode gridSample}. */
export interface AlignCornersOption {
  /**
   * -1 and 1 are the centres of the corner pixels (true) or their outer
   * edges (false, the default, as PyTorch's).
   */
  alignCorners?: boolean;
}

/** The normalised coordinate of each of `n` pixels along an axis (PyTorch's base grid). */
function baseCoords(n: number, alignCorners: boolean): number[] {
  return Array.from(
    { length: n },
    (_, i) =>
      n === 1 ? 0 : alignCorners ? -1 + (2 * i) / (n - 1) : (2 * i + 1) / n - 1,
  );
}

/**
 * The sampling grid `[N, H, W, 2]` of the affine maps `theta` `[N, 2, 3]`
 * for an output of `size` `[N, C, H, W]`, as
 * `torch.nn.functional.affine_grid`: each output pixel's normalised
 * `(x, y)` times `theta`ᵀ. With {@linkcode gridSample}, a spatial
 * transformer.
 *
 * @example
 * ```ts
 * import { affineGrid, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const identity = tensor([[[1, 0, 0], [0, 1, 0]]], { dtype: "float64" });
 * const grid = toArray(affineGrid(identity, [1, 1, 1, 2], { alignCorners: true }));
 * assert.deepEqual(grid, [[[[-1, 0], [1, 0]]]]);
 * ```
 */
export function affineGrid(
  theta: Tensor,
  size: readonly number[],
  options?: AlignCornersOption,
): Tensor {
  if (options === undefined) options = {};
  const fn = "affineGrid";
  checkTensor(fn, theta, "theta");
  floatCheck(fn, "theta", theta);
  checkOptions(fn, options, ["alignCorners"]);
  const align = checkBool(fn, "alignCorners", options.alignCorners, false);
  if (
    !Array.isArray(size) || size.length !== 4 ||
    !size.every((d) => Number.isInteger(d) && d >= 1)
  ) {
    throw new Error(
      `${fn}: size must be [N, C, H, W] of positive integers, got ${
        showValue(size)
      }`,
    );
  }
  const [n, , h, w] = size;
  if (
    theta.shape.length !== 3 || theta.shape[0] !== n || theta.shape[1] !== 2 ||
    theta.shape[2] !== 3
  ) {
    throw new Error(
      `${fn}: theta must be [N, 2, 3] with N = ${n} (size ${fmt(size)}), got ${
        fmt(theta.shape)
      }`,
    );
  }
  using _op = userOp(fn);
  // [H·W, 3] rows (x, y, 1), row-major over the output pixels
  const xs = baseCoords(w, align), ys = baseCoords(h, align);
  const base = allocShape(fn, "float64", [h * w, 3]);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) base.set([xs[j], ys[i], 1], (i * w + j) * 3);
  }
  const b = tensor(base, { shape: [h * w, 3], dtype: theta.dtype });
  return reshape(matmul(b, transpose(theta, [0, 2, 1])), [n, h, w, 2]);
}

/** Options of {@linkcode gridSample}. */
export interface GridSampleOptions extends AlignCornersOption {
  /**
   * "bilinear" (default), "nearest" (halves round to even, as PyTorch's) or
   * "bicubic" (PyTorch's cubic convolution over 4 × 4 pixels, A = -0.75).
   */
  mode?: "bilinear" | "nearest" | "bicubic";
  /** What lies outside the input: "zeros" (default), "border" (its edge) or "reflection". */
  paddingMode?: "zeros" | "border" | "reflection";
}

/** A pixel coordinate clipped to `[0, size - 1]`, with PyTorch's gradient (0 at and past the ends). */
function clip(x: Tensor, size: number): Tensor {
  return where(
    lessEqual(x, 0),
    0,
    where(greaterEqual(x, size - 1), size - 1, x),
  );
}

/**
 * A coordinate reflected into `[low/2, high/2]` (PyTorch's
 * `reflect_coordinates` with twice the bounds).
 */
function reflect(x: Tensor, twiceLow: number, twiceHigh: number): Tensor {
  if (twiceLow === twiceHigh) return mul(x, 0);
  const min = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
  const d = abs(sub(x, min));
  const flips = floor(div(d, span));
  const extra = sub(d, mul(flips, span)); // fmod of a non-negative value
  const even = equal(sub(flips, mul(floor(div(flips, 2)), 2)), 0);
  return where(even, add(extra, min), add(sub(span, extra), min));
}

/**
 * Samples `input` `[N, C, H, W]` at `grid` `[N, Ho, Wo, 2]` of normalised
 * `(x, y)` positions (-1 to 1 across the input), as
 * `torch.nn.functional.grid_sample`: output `[N, C, Ho, Wo]`. Bilinear
 * (default), nearest or bicubic; positions outside read zeros, the border,
 * or the input reflected (`paddingMode`). Differentiable in the input and
 * in the grid (bilinear and bicubic), to any order. A NaN position samples
 * 0 (an infinite one too, except that bilinear and nearest with border
 * padding clamp it to the edge) and its gradient is 0, as in PyTorch's
 * reference kernel (CUDA's, and the CPU's for 5-D grids), which moves such
 * a coordinate outside the input. (PyTorch 1.13's
 * vectorised CPU kernel for 4-D grids is not consistent there: it can give
 * NaN or read a pixel, and its backward can crash.)
 *
 * @example
 * ```ts
 * import { gridSample, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[[[0, 10], [20, 30]]]], { dtype: "float64" });
 * // the centre of the image, and its top-left pixel's centre
 * const grid = tensor([[[[0, 0], [-1, -1]]]], { dtype: "float64" });
 * assert.deepEqual(toArray(gridSample(x, grid, { alignCorners: true })), [[[[15, 0]]]]);
 * ```
 */
export function gridSample(
  input: Tensor,
  grid: Tensor,
  options?: GridSampleOptions,
): Tensor {
  if (options === undefined) options = {};
  const fn = "gridSample";
  checkTensor(fn, input, "input");
  checkTensor(fn, grid, "grid");
  floatCheck(fn, "input", input);
  floatCheck(fn, "grid", grid);
  checkOptions(fn, options, ["mode", "paddingMode", "alignCorners"]);
  const mode = options.mode ?? "bilinear";
  if (mode !== "bilinear" && mode !== "nearest" && mode !== "bicubic") {
    throw new Error(
      `${fn}: mode must be "bilinear", "nearest" or "bicubic", got ${
        describe(mode)
      }`,
    );
  }
  const padding = options.paddingMode ?? "zeros";
  if (!["zeros", "border", "reflection"].includes(padding)) {
    throw new Error(
      `${fn}: paddingMode must be "zeros", "border" or "reflection", got ${
        describe(padding)
      }`,
    );
  }
  const align = checkBool(fn, "alignCorners", options.alignCorners, false);
  if (input.shape.length !== 4) {
    throw new Error(
      `${fn}: input must be [N, C, H, W], got ${fmt(input.shape)}`,
    );
  }
  const [n, c, h, w] = input.shape;
  if (
    grid.shape.length !== 4 || grid.shape[0] !== n || grid.shape[3] !== 2
  ) {
    throw new Error(
      `${fn}: grid must be [N, Ho, Wo, 2] with N = ${n} (input ${
        fmt(input.shape)
      }), got ${fmt(grid.shape)}`,
    );
  }
  if (grid.dtype !== input.dtype) {
    throw new Error(
      `${fn}: grid must have input's dtype ${input.dtype}, got ${grid.dtype} ${
        fmt(grid.shape)
      }`,
    );
  }
  if (h < 1 || w < 1) {
    throw new Error(
      `${fn}: input's height and width must be >= 1, got ${fmt(input.shape)}`,
    );
  }
  using _op = userOp(fn);
  const [, ho, wo] = grid.shape, p = ho * wo;
  // pixel coordinates [N, P] from the normalised ones
  const unnormalized = (k: number, size: number) => {
    const g = reshape(slice(grid, [0, 0, 0, k], [n, ho, wo, k + 1]), [n, p]);
    return align
      ? mul(div(add(g, 1), 2), size - 1)
      : div(sub(mul(add(g, 1), size), 1), 2);
  };
  // a coordinate moved inside by the padding (zeros: left outside)
  const padded = (x: Tensor, size: number) => {
    if (padding === "border") return clip(x, size);
    if (padding === "reflection") {
      return clip(
        align ? reflect(x, 0, 2 * (size - 1)) : reflect(x, -1, 2 * size - 1),
        size,
      );
    }
    return x;
  };
  // (as PyTorch's safe_downgrade_to_int_range: a NaN or infinite
  // coordinate becomes one far outside, whose weights are finite, so it
  // adds nothing and passes no NaN to the grid's gradient)
  const coord = (k: number, size: number) => {
    const x = padded(unnormalized(k, size), size);
    return where(isFinite(x), x, -100);
  };
  const flat = reshape(input, [n, c, h * w]);
  /**
   * The input at integer-valued coordinates `[N, P]` times `weight` (none:
   * 1), 0 outside: `[N, C, P]`. As PyTorch's, a corner outside adds nothing
   * at all (a NaN or infinite coordinate has been moved outside).
   */
  const at = (x: Tensor, y: Tensor, weight?: Tensor) => {
    const inside = logicalAnd(
      logicalAnd(greaterEqual(x, 0), lessEqual(x, w - 1)),
      logicalAnd(greaterEqual(y, 0), lessEqual(y, h - 1)),
    );
    // the outside positions read pixel 0, then give 0
    const pos = astype(where(inside, add(mul(y, w), x), 0), "int32");
    const idx = broadcastTo(expandDims(pos, 1), [n, c, p]);
    const v = takeAlongAxisAt(flat, idx, 2), on = expandDims(inside, 1);
    // (the weight masked too: an outside corner passes nothing to pixel 0)
    return where(
      on,
      weight ? mul(v, where(on, expandDims(weight, 1), 0)) : v,
      0,
    );
  };
  let out: Tensor;
  if (mode === "bicubic") out = bicubic(unnormalized, padded, at, [w, h]);
  else if (mode === "nearest") {
    out = at(round(coord(0, w)), round(coord(1, h)));
  } else {
    const ix = coord(0, w), iy = coord(1, h);
    const x0 = floor(ix), y0 = floor(iy), x1 = add(x0, 1), y1 = add(y0, 1);
    // PyTorch's corner weights and order: nw, ne, sw, se
    const nw = mul(sub(x1, ix), sub(y1, iy));
    const ne = mul(sub(ix, x0), sub(y1, iy));
    const sw = mul(sub(x1, ix), sub(iy, y0));
    const se = mul(sub(ix, x0), sub(iy, y0));
    out = add(
      add(add(at(x0, y0, nw), at(x1, y0, ne)), at(x0, y1, sw)),
      at(x1, y1, se),
    );
  }
  return reshape(out, [n, c, ho, wo]);
}

/**
 * PyTorch's cubic convolution weights (A = -0.75) of the four taps at
 * distances `t + 1, t, 1 - t, 2 - t`, in the order and rounding of its
 * vectorised kernel (`get_cubic_coefficients`).
 */
function cubicWeights(t: Tensor): Tensor[] {
  const a = -0.75;
  const near = (x: Tensor) => add(mul(mul(sub(mul(x, a + 2), a + 3), x), x), 1);
  const far = (x: Tensor) =>
    sub(mul(add(mul(sub(mul(x, a), 5 * a), x), 8 * a), x), 4 * a);
  return [far(add(t, 1)), near(t), near(sub(1, t)), far(sub(2, t))];
}

/**
 * gridSample's bicubic mode, as PyTorch's: the 4 × 4 pixels around each
 * (unpadded) position, each tap's coordinates moved inside by the padding
 * (`padded`), interpolated along x row by row and then along y. A NaN or
 * infinite position samples 0 with no gradient (its coordinates are
 * replaced by 0 before any arithmetic, so no NaN reaches the gradient).
 */
function bicubic(
  unnormalized: (k: number, size: number) => Tensor,
  padded: (x: Tensor, size: number) => Tensor,
  at: (x: Tensor, y: Tensor, weight: Tensor) => Tensor,
  [w, h]: readonly number[],
): Tensor {
  const rawX = unnormalized(0, w), rawY = unnormalized(1, h);
  const ok = logicalAnd(isFinite(rawX), isFinite(rawY));
  const ix = where(ok, rawX, 0), iy = where(ok, rawY, 0);
  const x0 = floor(ix), y0 = floor(iy);
  const wx = cubicWeights(sub(ix, x0)), wy = cubicWeights(sub(iy, y0));
  const xs = [-1, 0, 1, 2].map((d) => padded(add(x0, d), w));
  let out: Tensor | undefined;
  for (let i = 0; i < 4; i++) {
    const y = padded(add(y0, i - 1), h);
    let row = at(xs[0], y, wx[0]);
    for (let j = 1; j < 4; j++) row = add(row, at(xs[j], y, wx[j]));
    const term = mul(expandDims(wy[i], 1), row);
    out = out === undefined ? term : add(out, term);
  }
  return where(expandDims(ok, 1), out!, 0);
}
