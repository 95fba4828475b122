/**
 * Spatial transformer sampling: `affineGrid` (`torch.nn.functional.
 * affine_grid`: the sampling grid of an affine map) and `gridSample`
 * (`torch.nn.functional.grid_sample`: the input read at a grid of
 * normalised positions, bilinearly, bicubically or at the nearest pixel,
 * with zero, border or reflection padding; images and volumes).
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
import { floor, fmod, isFinite, logicalAnd, round } from "./math.ts";
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
 * for an output of `size` `[N, C, H, W]` (or, for volumes, `[N, D, H, W,
 * 3]` of `theta` `[N, 3, 4]` for `size` `[N, C, D, H, W]`), as
 * `torch.nn.functional.affine_grid`: each output pixel's normalised
 * `(x, y[, z])` times `theta`ᵀ. With {@linkcode gridSample}, a spatial
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
    !Array.isArray(size) || (size.length !== 4 && size.length !== 5) ||
    !size.every((d) => Number.isInteger(d) && d >= 1)
  ) {
    throw new Error(
      `${fn}: size must be [N, C, H, W] or [N, C, D, H, W] of positive integers, got ${
        showValue(size)
      }`,
    );
  }
  const n = size[0], dims = size.slice(2), r = dims.length;
  if (
    theta.shape.length !== 3 || theta.shape[0] !== n ||
    theta.shape[1] !== r || theta.shape[2] !== r + 1
  ) {
    throw new Error(
      `${fn}: theta must be [N, ${r}, ${r + 1}] with N = ${n} (size ${
        fmt(size)
      }), got ${fmt(theta.shape)}`,
    );
  }
  using _op = userOp(fn);
  // [P, r + 1] rows (x, y[, z], 1), row-major over the output pixels (x
  // fastest: the last axis)
  const coords = dims.map((d) => baseCoords(d, align));
  const p = dims.reduce((a, b) => a * b, 1);
  const base = allocShape(fn, "float64", [p, r + 1]);
  for (let q = 0; q < p; q++) {
    let rest = q;
    for (let a = r - 1; a >= 0; a--) {
      // axis a of the output is coordinate r - 1 - a (x is the last axis)
      base[q * (r + 1) + r - 1 - a] = coords[a][rest % dims[a]];
      rest = Math.floor(rest / dims[a]);
    }
    base[q * (r + 1) + r] = 1;
  }
  const b = tensor(base, { shape: [p, r + 1], dtype: theta.dtype });
  return reshape(matmul(b, transpose(theta, [0, 2, 1])), [n, ...dims, r]);
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
 * `reflect_coordinates` with twice the bounds). The part past the last
 * fold is `fmod(d, span)` in PyTorch's scalar kernel (volumes: `exact`),
 * `d - floor(d / span)·span` in its vectorised one (images); the two
 * differ only where d / span is inexact (a position some 2^52 pixels
 * outside, or one that rounds up to a fold).
 */
function reflect(
  x: Tensor,
  twiceLow: number,
  twiceHigh: number,
  exact: boolean,
): Tensor {
  if (twiceLow === twiceHigh) return mul(x, 0);
  const min = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
  const d = abs(sub(x, min));
  const flips = floor(div(d, span));
  const extra = exact ? fmod(d, span) : sub(d, mul(flips, span));
  const even = equal(sub(flips, mul(floor(div(flips, 2)), 2)), 0);
  return where(even, add(extra, min), add(sub(span, extra), min));
}

/**
 * Samples `input` `[N, C, H, W]` at `grid` `[N, Ho, Wo, 2]` of normalised
 * `(x, y)` positions (-1 to 1 across the input), as
 * `torch.nn.functional.grid_sample`: output `[N, C, Ho, Wo]`; or a volume
 * `[N, C, D, H, W]` at `[N, Do, Ho, Wo, 3]` positions `(x, y, z)` (trilinear
 * or nearest; float32 results are PyTorch's CPU kernel's bits). Bilinear
 * (default), nearest or bicubic; positions outside read zeros, the border,
 * or the input reflected (`paddingMode`). Differentiable in the input and
 * in the grid (bilinear and bicubic), to any order. A NaN position samples
 * 0 (an infinite one too, except that bilinear and nearest with border
 * padding clamp it to the edge) and its gradient is 0, as in PyTorch's
 * reference kernel (CUDA's, and the CPU's for 5-D grids with zeros padding),
 * which moves such a coordinate outside the input. (PyTorch 1.13's CPU
 * kernels are not consistent there: for 5-D grids with border or reflection
 * padding they clamp a NaN, and with reflection an infinity, to the last
 * pixel; for 4-D grids they can give NaN or read a pixel, and the backward
 * can crash.)
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
  const rank = input.shape.length;
  if (rank !== 4 && rank !== 5) {
    throw new Error(
      `${fn}: input must be [N, C, H, W] or [N, C, D, H, W], got ${
        fmt(input.shape)
      }`,
    );
  }
  const [n, c] = input.shape, dims = input.shape.slice(2), r = dims.length;
  const outDims = grid.shape.slice(1, -1);
  if (
    grid.shape.length !== rank || grid.shape[0] !== n ||
    grid.shape[rank - 1] !== r
  ) {
    throw new Error(
      `${fn}: grid must be ${
        r === 2 ? "[N, Ho, Wo, 2]" : "[N, Do, Ho, Wo, 3]"
      } with N = ${n} (input ${fmt(input.shape)}), got ${fmt(grid.shape)}`,
    );
  }
  if (grid.dtype !== input.dtype) {
    throw new Error(
      `${fn}: grid must have input's dtype ${input.dtype}, got ${grid.dtype} ${
        fmt(grid.shape)
      }`,
    );
  }
  if (dims.some((d) => d < 1)) {
    throw new Error(
      `${fn}: input's ${
        r === 2 ? "height and width" : "depth, height and width"
      } must be >= 1, got ${fmt(input.shape)}`,
    );
  }
  if (mode === "bicubic" && r === 3) {
    throw new Error(
      `${fn}: mode "bicubic" samples 4-D inputs only (as PyTorch), got input ${
        fmt(input.shape)
      }`,
    );
  }
  using _op = userOp(fn);
  const p = outDims.reduce((a, b) => a * b, 1);
  // the size along coordinate k (x, y, z: the last axis first)
  const sizes = dims.slice().reverse();
  // pixel coordinates [N, P] from the normalised ones
  const unnormalized = (k: number) => {
    const size = sizes[k];
    const g = reshape(
      slice(grid, [0, ...outDims.map(() => 0), k], [n, ...outDims, k + 1]),
      [n, p],
    );
    return align
      ? mul(div(add(g, 1), 2), size - 1)
      : div(sub(mul(add(g, 1), size), 1), 2);
  };
  // a coordinate moved inside by the padding (zeros: left outside)
  const padded = (x: Tensor, k: number) => {
    const size = sizes[k];
    if (padding === "border") return clip(x, size);
    if (padding === "reflection") {
      return clip(
        align
          ? reflect(x, 0, 2 * (size - 1), r === 3)
          : reflect(x, -1, 2 * size - 1, r === 3),
        size,
      );
    }
    return x;
  };
  // (as PyTorch's safe_downgrade_to_int_range: a NaN or infinite
  // coordinate becomes one far outside, whose weights are finite, so it
  // adds nothing and passes no NaN to the grid's gradient)
  const coord = (k: number) => {
    const x = padded(unnormalized(k), k);
    return where(isFinite(x), x, -100);
  };
  const flat = reshape(input, [n, c, dims.reduce((a, b) => a * b, 1)]);
  /**
   * The input at integer-valued coordinates `xs` (x, y[, z]; each `[N, P]`)
   * times `weight` (none: 1), 0 outside: `[N, C, P]`. As PyTorch's, a
   * corner outside adds nothing at all (a NaN or infinite coordinate has
   * been moved outside).
   */
  const at = (xs: readonly Tensor[], weight?: Tensor) => {
    const inside = xs.map((x, k) =>
      logicalAnd(greaterEqual(x, 0), lessEqual(x, sizes[k] - 1))
    ).reduce((a, b) => logicalAnd(a, b));
    // the flat position in int32 (exact past 2^24, where float32 is not);
    // the outside positions read pixel 0, then give 0
    const ints = xs.map((x) => astype(where(inside, x, 0), "int32"));
    let pos = ints[r - 1];
    for (let k = r - 2; k >= 0; k--) pos = add(mul(pos, sizes[k]), ints[k]);
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
  if (mode === "bicubic") out = bicubic(unnormalized, padded, at);
  else if (mode === "nearest") out = at(sizes.map((_, k) => round(coord(k))));
  else {
    // PyTorch's corners and weights: x fastest, then y, then z (nw, ne,
    // sw, se; then the same one z further), each weight the product of
    // the distances to the opposite corner along x, y and z, in that order
    const to = sizes.map((_, k) => coord(k));
    const lo = to.map((x) => floor(x)), hi = lo.map((l) => add(l, 1));
    for (let corner = 0; corner < 2 ** r; corner++) {
      const far = (k: number) => ((corner >> k) & 1) === 1;
      const xs = sizes.map((_, k) => (far(k) ? hi[k] : lo[k]));
      const weight = sizes.map((_, k) =>
        far(k) ? sub(to[k], lo[k]) : sub(hi[k], to[k])
      ).reduce((a, b) => mul(a, b));
      const term = at(xs, weight);
      out = corner === 0 ? term : add(out!, term);
    }
  }
  return reshape(out!, [n, c, ...outDims]);
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
  unnormalized: (k: number) => Tensor,
  padded: (x: Tensor, k: number) => Tensor,
  at: (xs: readonly Tensor[], weight: Tensor) => Tensor,
): Tensor {
  const rawX = unnormalized(0), rawY = unnormalized(1);
  const ok = logicalAnd(isFinite(rawX), isFinite(rawY));
  const ix = where(ok, rawX, 0), iy = where(ok, rawY, 0);
  const x0 = floor(ix), y0 = floor(iy);
  const wx = cubicWeights(sub(ix, x0)), wy = cubicWeights(sub(iy, y0));
  const xs = [-1, 0, 1, 2].map((d) => padded(add(x0, d), 0));
  let out: Tensor | undefined;
  for (let i = 0; i < 4; i++) {
    const y = padded(add(y0, i - 1), 1);
    let row = at([xs[0], y], wx[0]);
    for (let j = 1; j < 4; j++) row = add(row, at([xs[j], y], wx[j]));
    const term = mul(expandDims(wy[i], 1), row);
    out = out === undefined ? term : add(out, term);
  }
  return where(expandDims(ok, 1), out!, 0);
}
