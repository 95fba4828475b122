/**
 * Cumulative ops along one axis: `cumsum` (a primitive: its VJP is the
 * running sum from the other end), `cumprod` (a primitive whose forward is
 * PyTorch's in-order loop and whose derivatives are those of the
 * composition below) and the composition `logCumSumExp`: inclusive scans by
 * doubling (Hillis–Steele: log2(n) steps, each combining every entry with
 * the one 1, 2, 4, ... places before it). They are built from
 * multiplications and log-add-exps only, so their derivatives of every
 * order are right with zeros in the row (no division by an input). Float32
 * inputs are scanned in float64 and rounded once, as PyTorch's CPU kernels
 * accumulate.
 *
 * @module
 */
import { allocData, checkOptions, checkTensor, fromData } from "./tensor.ts";
import type { Tensor } from "./tensor.ts";
import { bind, concrete, definePrimitive, type Primitive } from "./trace.ts";
import { userOp } from "./debug.ts";
import {
  abs,
  add,
  astype,
  equal,
  exp,
  greaterEqual,
  log1p,
  maximum,
  mul,
  sub,
  where,
} from "./elementwise.ts";
import { normAxis, pad, slice } from "./structural.ts";
import { jvp, vjp } from "./transforms.ts";
import * as scan from "./kernels/scan.ts";

/** Options of the cumulative ops. */
export interface CumulativeOptions {
  /** The axis to run along (negative counts from the end); required, as PyTorch's `dim`. */
  axis: number;
}

/** The checked axis of a cumulative op (0 for a scalar, which is its own result). */
function cumulativeAxis(
  fn: string,
  x: Tensor,
  options: CumulativeOptions | undefined,
): number {
  checkTensor(fn, x, "x");
  checkOptions(fn, options, ["axis"]);
  if (options === undefined || options.axis === undefined) {
    throw new Error(
      `${fn}: options.axis is required (the axis to run along, as PyTorch's dim), got ${
        options === undefined ? "no options" : "no axis"
      }`,
    );
  }
  // (normAxis lets a scalar take axis 0 and -1)
  return normAxis(fn, options.axis, x.shape.length, x.shape);
}

/**
 * Running sum along `axis` (as `torch.cumsum`): entry i is the sum of entries
 * 0..i. int32 stays int32 and wraps around past 2147483647 (PyTorch gives
 * int64); float32 accumulates in float64 and rounds each entry once.
 *
 * @example
 * ```ts
 * import { cumsum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * assert.deepEqual(toArray(cumsum(x, { axis: 1 })), [[1, 3, 6], [4, 9, 15]]);
 * assert.deepEqual(toArray(cumsum(x, { axis: -2 })), [[1, 2, 3], [5, 7, 9]]);
 * ```
 */
export function cumsum(x: Tensor, options: CumulativeOptions): Tensor {
  const axis = cumulativeAxis("cumsum", x, options);
  if (x.shape.length === 0) return x;
  return bind(cumsumPrim, [x], { axis, reverse: false });
}

/**
 * Running product along `axis` (as `torch.cumprod`). Its gradient is right
 * when the row holds zeros (each entry's is a sum of products of the
 * others, as PyTorch's). int32 stays int32 and wraps around modulo 2^32.
 *
 * @example
 * ```ts
 * import { cumprod, grad, sum, type Tensor, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(cumprod(tensor([2, 3, 0, 4]), { axis: 0 })), [2, 6, 0, 0]);
 * const g = grad((x: Tensor) => sum(cumprod(x, { axis: 0 })));
 * // d/dx2 of 2 + 2·3 + 2·3·x2 + 2·3·x2·4 at x2 = 0 is 6 + 24
 * assert.deepEqual(toArray(g(tensor([2, 3, 0, 4]))), [4, 2, 30, 0]);
 * ```
 */
export function cumprod(x: Tensor, options: CumulativeOptions): Tensor {
  using _op = userOp("cumprod");
  const axis = cumulativeAxis("cumprod", x, options);
  if (x.shape.length === 0) return x;
  return bind(cumprodPrim, [x], { axis });
}

/**
 * The running product as a composition (by doubling; float32 in float64):
 * where {@linkcode cumprod}'s derivatives come from, its products of the
 * other entries exact with zeros in the row.
 */
function cumprodByDoubling(x: Tensor, axis: number): Tensor {
  return inFloat64(x, (w) => scanByDoubling(w, axis, 1, mul));
}

/**
 * `log(cumsum(exp(x)))` along `axis`, computed stably (as
 * `torch.logcumsumexp`): each step adds two terms in log space, shifted by
 * the larger, so neither overflow nor underflow of `exp` loses an entry.
 * int32 gives float32. From a +inf on the result is +inf; the gradient of
 * the entries before it is PyTorch's, and the +inf entry's is its limit
 * (PyTorch: NaN). A -inf entry's gradient is 0 once a finite entry is in
 * the running sum (as PyTorch's); while every entry so far is -inf, the
 * result is -inf and its gradient goes to the latest entry (PyTorch: NaN).
 *
 * @example
 * ```ts
 * import { logCumSumExp, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = toArray(logCumSumExp(tensor([-1000, 0, 1000], { dtype: "float64" }), { axis: 0 })) as number[];
 * assert.deepEqual(y, [-1000, 0, 1000]);
 * ```
 */
export function logCumSumExp(x: Tensor, options: CumulativeOptions): Tensor {
  using _op = userOp("logCumSumExp");
  const axis = cumulativeAxis("logCumSumExp", x, options);
  const xf = x.dtype === "int32" ? astype(x, "float32") : x;
  if (x.shape.length === 0) return xf;
  return inFloat64(xf, (w) => scanByDoubling(w, axis, -Infinity, logAddExp));
}

/** `f` of a float32 `x` computed in float64 and rounded once (int32 and float64 as they are). */
function inFloat64(x: Tensor, f: (w: Tensor) => Tensor): Tensor {
  if (x.dtype !== "float32") return f(x);
  return astype(f(astype(x, "float64")), "float32");
}

/**
 * Inclusive scan of an associative, commutative `combine` along `axis` by
 * doubling: after the step of shift k, entry i combines entries i-2k+1..i
 * (`identity` stands in before the start).
 */
function scanByDoubling(
  x: Tensor,
  axis: number,
  identity: number,
  combine: (a: Tensor, b: Tensor) => Tensor,
): Tensor {
  const n = x.shape[axis];
  const starts = x.shape.map(() => 0);
  let y = x;
  for (let k = 1; k < n; k *= 2) {
    const ends = x.shape.map((d, i) => (i === axis ? n - k : d));
    const widths = x.shape.map((_, i) => [i === axis ? k : 0, 0]);
    const before = pad(slice(y, starts, ends), widths, { value: identity });
    y = combine(y, before);
  }
  return y;
}

/**
 * `log(e^a + e^b)`, with the larger of the two taken out (a constant shift:
 * it cancels in the value and in every derivative, so ties are smooth). With
 * the shift, one exponential is exactly 1, and log1p keeps the other's
 * digits. NaN stays NaN. An inf, or two -inf, give that infinity, taken as
 * the larger operand itself (`a` for two -inf): its derivative 1 goes to it
 * and 0 to the other (the limit; the formula's would be inf · 0 = NaN, which
 * the scan would spread to every earlier entry, or for two -inf to both of
 * them even where a later finite entry makes PyTorch's gradient 0).
 */
function logAddExp(a: Tensor, b: Tensor): Tensor {
  const m = concrete(maximum(a, b));
  const inf = equal(abs(m), Infinity);
  // the formula on values that cannot reach inf (where it is not used, so
  // that its derivative there is 0, not NaN)
  const as = where(inf, 0, a), bs = where(inf, 0, b);
  const shift = where(inf, 0, m);
  const ea = exp(sub(as, shift)), eb = exp(sub(bs, shift));
  // ea + eb - 1, exactly: the 1 comes out of the larger term
  const rest = where(
    greaterEqual(as, bs),
    add(sub(ea, 1), eb),
    add(sub(eb, 1), ea),
  );
  const larger = where(greaterEqual(a, b), a, b);
  return where(inf, larger, add(log1p(rest), shift));
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

const cumsumPrim: Primitive<{ axis: number; reverse: boolean }> =
  definePrimitive({
    name: "cumsum",
    forward: ([x], { axis, reverse }) =>
      fromData(
        scan.cumsumAxis(
          x.data,
          x.shape,
          axis,
          reverse,
          allocData(x.dtype, x.data.length),
        ),
        x.shape,
      ),
    // the transpose of a running sum is the running sum from the other end
    vjp: (_, __, { axis, reverse }) => [
      (g) => bind(cumsumPrim, [g], { axis, reverse: !reverse }),
    ],
    jvp: "linear",
    // the batch axis stays where it is; the scanned axis moves past it
    batch: ([x], [d], p) => [
      bind(cumsumPrim, [x], { ...p, axis: p.axis + (d! <= p.axis ? 1 : 0) }),
      d,
    ],
  });

/**
 * cumprod: the running product in order, by the kernel (so an overflow or
 * underflow lands where PyTorch's loop puts it; the doubling scan's other
 * grouping could meet inf · 0 = NaN there). Its derivatives are those of
 * the composition {@linkcode cumprodByDoubling}, which are exact with zeros
 * and differentiable again.
 */
const cumprodPrim: Primitive<{ axis: number }> = definePrimitive({
  name: "cumprod",
  forward: ([x], { axis }) =>
    fromData(
      scan.cumprodAxis(
        x.data,
        x.shape,
        axis,
        allocData(x.dtype, x.data.length),
      ),
      x.shape,
    ),
  vjp: ([x], _, { axis }) => {
    if (x.dtype === "int32") return [null];
    const [, back] = vjp((w: Tensor) => cumprodByDoubling(w, axis), x);
    return [(g) => back(g)[0]];
  },
  jvp: ([x], [t], _, { axis }) =>
    jvp((w: Tensor) => cumprodByDoubling(w, axis), [x], [t!])[1],
  batch: ([x], [d], p) => [
    bind(cumprodPrim, [x], { axis: p.axis + (d! <= p.axis ? 1 : 0) }),
    d,
  ],
});
