/**
 * Normalization and regularization: batchNorm (training statistics as one
 * fused primitive with explicit VJP primitives, evaluation as a composition)
 * and dropout.
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
  fromData,
  ones,
  promote,
  type Tensor,
  tensor,
  zeros,
} from "./tensor.ts";
import {
  bind,
  concrete,
  definePrimitive,
  type Primitive,
  Tracer,
} from "./trace.ts";
import { userOp } from "./debug.ts";
import { floatCheck, fmt } from "./_args.ts";
import {
  add,
  astype,
  div,
  mul,
  neg,
  sqrt,
  square,
  sub,
} from "./elementwise.ts";
import { bernoulli, type Key } from "./random.ts";
import { mean } from "./reductions.ts";
import {
  batchFront,
  batchSize,
  reshape,
  sum,
  transpose,
} from "./structural.ts";
import { vjp } from "./transforms.ts";
import * as bnk from "./kernels/batch_norm.ts";

// ---------------------------------------------------------------------------
// dropout and batch norm

/**
 * Inverted dropout: zeroes each element with probability `p` (drawn from
 * `key`) and scales the rest by 1/(1-p); the identity when not training.
 *
 * @example
 * ```ts
 * import { dropout, ones, random, sum, item } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = dropout(ones([1000]), { p: 0.5, key: random.key(0) });
 * assert.ok(Math.abs(item(sum(y)) - 1000) < 150);
 * assert.equal(item(sum(dropout(ones([10]), { p: 0.5, training: false }))), 10);
 * ```
 */
export function dropout(
  x: Tensor,
  options?: { p?: number; key?: Key; training?: boolean },
): Tensor {
  if (options === undefined) options = {};
  using _op = userOp("dropout");
  const fn = "dropout";
  checkOptions(fn, options, ["p", "key", "training"]);
  checkTensor(fn, x, "x");
  const { p = 0.5, training = true } = options;
  if (!(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: p must be in [0, 1], got ${p}`);
  }
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  if (!options.key) {
    throw new Error(
      `${fn}: training needs options.key (a random.key) to draw the mask`,
    );
  }
  const keepMask = bernoulli(options.key, 1 - p, x.shape as number[]);
  return mul(x, mul(astype(keepMask, x.dtype), 1 / (1 - p)));
}

/** Options of {@linkcode batchNorm}. */
export interface BatchNormOptions {
  /** Running mean `[C]` (required when not training). */
  runningMean?: Tensor | null;
  /** Running variance `[C]` (required when not training). */
  runningVar?: Tensor | null;
  /** Scale `[C]`. */
  weight?: Tensor | null;
  /** Shift `[C]`. */
  bias?: Tensor | null;
  /** Use batch statistics and update the running ones. Default false. */
  training?: boolean;
  /** Running-statistics update rate. Default 0.1. */
  momentum?: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/**
 * Batch normalisation over axis 1 of `[N, C]` or `[N, C, H, W]`, as
 * `torch.nn.functional.batch_norm`, returning the new running statistics
 * instead of updating them (`runningVar` uses the unbiased batch variance).
 * Computed as PyTorch's CPU kernel does, `x·α + β` with per-channel
 * `α = weight / sqrt(var + eps)` and `β = bias - mean·α`; in training mode
 * one primitive whose derivatives are fused kernels too (about the cost of
 * a bias add and a relu), differentiable to any order.
 *
 * @example
 * ```ts
 * import { batchNorm, tensor, toArray, zeros, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([[1], [3]], { dtype: "float64" });
 * const { y, runningMean, runningVar } = batchNorm(x, {
 *   training: true, runningMean: zeros([1], { dtype: "float64" }), runningVar: ones([1], { dtype: "float64" }), eps: 0,
 * });
 * assert.deepEqual(toArray(y), [[-1], [1]]);
 * assert.deepEqual(toArray(runningMean!), [0.2]); // 0.9·0 + 0.1·2
 * assert.deepEqual(toArray(runningVar!), [1.1]); // 0.9·1 + 0.1·2 (unbiased)
 * ```
 */
export function batchNorm(
  x: Tensor,
  options?: BatchNormOptions,
): { y: Tensor; runningMean: Tensor | null; runningVar: Tensor | null } {
  if (options === undefined) options = {};
  using _op = userOp("batchNorm");
  const fn = "batchNorm";
  checkOptions(fn, options, [
    "runningMean",
    "runningVar",
    "weight",
    "bias",
    "training",
    "momentum",
    "eps",
  ]);
  checkTensor(fn, x, "x");
  floatCheck(fn, "x", x);
  if (x.shape.length < 2) {
    throw new Error(`${fn}: x must be [N, C, ...], got ${fmt(x.shape)}`);
  }
  const c = x.shape[1];
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  const stat = (name: string, t: Tensor | null | undefined) => {
    if (t === undefined || t === null) return null;
    checkTensor(fn, t, name);
    if (t.shape.length !== 1 || t.shape[0] !== c) {
      throw new Error(
        `${fn}: ${name} must have shape [${c}] for x ${fmt(x.shape)}, got ${
          fmt(t.shape)
        }`,
      );
    }
    return t;
  };
  const rm = stat("runningMean", options.runningMean),
    rv = stat("runningVar", options.runningVar);
  const w = stat("weight", options.weight), b = stat("bias", options.bias);
  const bshape = [1, c, ...x.shape.slice(2).map(() => 1)];
  // one dtype for x and the per-channel tensors y depends on (float64 if any
  // is; in training the running statistics are only updated)
  let dtype = x.dtype;
  for (const t of training ? [w, b] : [rm, rv, w, b]) {
    if (t) dtype = promote(dtype, t.dtype);
  }
  const as = (t: Tensor) => t.dtype === dtype ? t : astype(t, dtype);
  const xd = as(x);
  if (!training) {
    if (!rm || !rv) {
      throw new Error(
        `${fn}: evaluation (training: false) needs runningMean and runningVar`,
      );
    }
    // x·α + β with α = w / sqrt(var + eps), β = b - mean·α (as PyTorch's CPU
    // kernel): two passes over x
    let alpha = div(1, sqrt(add(as(rv), eps)));
    if (w) alpha = mul(alpha, as(w));
    let beta = neg(mul(as(rm), alpha));
    if (b) beta = add(beta, as(b));
    return {
      y: add(mul(xd, reshape(alpha, bshape)), reshape(beta, bshape)),
      runningMean: rm,
      runningVar: rv,
    };
  }
  const [n, , s] = ncs(x.shape);
  if (n * s < 2) {
    throw new Error(
      `${fn}: training needs more than 1 value per channel, got x ${
        fmt(x.shape)
      }`,
    );
  }
  const y = bind(batchNormTrainPrim, [
    xd,
    w ? as(w) : ones([c], { dtype }),
    b ? as(b) : zeros([c], { dtype }),
  ], { eps });
  let newMean = rm, newVar = rv;
  if (rm || rv) { // buffers: no derivative flows into them
    const xc = concrete(xd);
    let mu: Tensor, v: Tensor;
    if (xc instanceof Tracer) { // under vmap: each example's own statistics, with ops
      const axes = bnAxes(xc.shape);
      mu = mean(xc, { axis: axes });
      v = mean(
        square(sub(xc, reshape(mu, [1, c, ...xc.shape.slice(2).map(() => 1)]))),
        {
          axis: axes,
        },
      );
    } else {
      const st = bnk.moments(xc.data, n, c, s);
      mu = tensor(st.mean, { shape: [c], dtype });
      v = tensor(st.variance, { shape: [c], dtype });
    }
    if (rm) newMean = add(mul(rm, 1 - momentum), mul(mu, momentum));
    if (rv) {
      const unbiased = (momentum * n * s) / (n * s - 1);
      newVar = add(mul(rv, 1 - momentum), mul(v, unbiased));
    }
  }
  return { y, runningMean: newMean, runningVar: newVar };
}

/** `[N, C, ...]` viewed as `[n, c, s]`, s the product of the spatial sizes. */
function ncs(shape: readonly number[]): [number, number, number] {
  return [shape[0], shape[1], shape.slice(2).reduce((p, d) => p * d, 1)];
}

/** The axes batch norm reduces over: all but the channel axis 1. */
function bnAxes(shape: readonly number[]): number[] {
  return [0, ...shape.slice(2).map((_, i) => i + 2)];
}

/** The static parameter of the batch-norm primitives. */
interface BnParams {
  eps: number;
}

/**
 * Batch norm in training mode, `(x - mean)·rstd·w + b` with the batch's
 * statistics, as one primitive: a fused kernel reads x for the statistics
 * and writes y once. Its VJP is two more primitives with fused kernels (the
 * input and the weight derivative) and a sum (the bias derivative), so a
 * training step makes one full-size array forward and one backward.
 */
/**
 * Batch norm under vmap: each example's batch statistics are its own, so
 * the examples go side by side in the channels: x [B, N, C, ...] as
 * [N, B·C, ...], per-channel vectors [B, C] as [B·C].
 */
function bnIntoChannels(x: Tensor, d: number | null, b: number): Tensor {
  const xf = batchFront(x, d, b);
  const [, n, c, ...rest] = xf.shape;
  const perm = [1, 0, ...xf.shape.slice(2).map((_, i) => i + 2)];
  return reshape(transpose(xf, perm), [n, b * c, ...rest]);
}

/** A per-channel vector [C] of every example as [B·C]. */
function bnChannels(v: Tensor, d: number | null, b: number): Tensor {
  return reshape(batchFront(v, d, b), [-1]);
}

/** [N, B·C, ...] back to [N, B, C, ...] (batch axis 1). */
function bnOutOfChannels(y: Tensor, b: number): Tensor {
  const [n, bc, ...rest] = y.shape;
  return reshape(y, [n, b, bc / b, ...rest]);
}

const batchNormTrainPrim: Primitive<BnParams> = definePrimitive({
  name: "batchNorm",
  forward: ([x, w, b], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    const out = allocData(x.dtype, x.data.length);
    return fromData(
      bnk.forward(x.data, n, c, s, w.data, b.data, eps, out),
      x.shape,
    );
  },
  vjp: ([x, w], _y, p) => [
    (g) => bind(batchNormInputGradPrim, [g, x, w], p),
    (g) => bind(batchNormWeightGradPrim, [g, x], p),
    (g) => sum(g, { axis: bnAxes(x.shape) }),
  ],
  batch: ([x, w, bias], [dx, dw, db], p) => {
    const b = batchSize([x, w, bias], [dx, dw, db]);
    const y = bind(batchNormTrainPrim, [
      bnIntoChannels(x, dx, b),
      bnChannels(w, dw, b),
      bnChannels(bias, db, b),
    ], p);
    return [bnOutOfChannels(y, b), 1];
  },
});

/** x̂ = (x - mean)·rstd with the batch statistics, in public ops. */
function normalizedRef(x: Tensor, eps: number): Tensor {
  const keep = { axis: bnAxes(x.shape), keepDims: true };
  const d = sub(x, mean(x, keep));
  return div(d, sqrt(add(mean(square(d), keep), eps)));
}

/**
 * The input derivative of training-mode batch norm in public ops,
 * `w·rstd·(g - mean(g) - x̂·mean(g·x̂))`: what the input-derivative kernel
 * computes, written so its own derivatives (grad of grad) come from autodiff.
 */
function inputGradRef(g: Tensor, x: Tensor, w: Tensor, eps: number): Tensor {
  const keep = { axis: bnAxes(x.shape), keepDims: true };
  const d = sub(x, mean(x, keep));
  const rstd = div(1, sqrt(add(mean(square(d), keep), eps)));
  const xh = mul(d, rstd);
  const inner = sub(sub(g, mean(g, keep)), mul(xh, mean(mul(g, xh), keep)));
  return mul(inner, mul(reshape(w, rstd.shape as number[]), rstd));
}

/** The VJP closures of `f` at `inputs`, one per input, sharing one backward pass per cotangent. */
function vjpOf(
  f: (...args: Tensor[]) => Tensor,
  inputs: Tensor[],
): ((ct: Tensor) => Tensor)[] {
  const [, back] = vjp(f, ...inputs);
  let cache: [Tensor, Tensor[]] | null = null;
  return inputs.map((_, i) => (ct: Tensor) => {
    if (!cache || cache[0] !== ct) cache = [ct, back(ct)];
    return cache[1][i];
  });
}

/** The input derivative of {@linkcode batchNormTrainRule}: inputs g, x, w. */
const batchNormInputGradPrim: Primitive<BnParams> = definePrimitive({
  name: "batchNormInputGrad",
  forward: ([g, x, w], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    const out = allocData(x.dtype, x.data.length);
    return fromData(
      bnk.inputGrad(g.data, x.data, n, c, s, w.data, eps, out),
      x.shape,
    );
  },
  vjp: (inputs, _y, { eps }) =>
    vjpOf((g, x, w) => inputGradRef(g, x, w, eps), inputs),
  batch: ([g, x, w], [dg, dx, dw], p) => {
    const b = batchSize([g, x, w], [dg, dx, dw]);
    const y = bind(batchNormInputGradPrim, [
      bnIntoChannels(g, dg, b),
      bnIntoChannels(x, dx, b),
      bnChannels(w, dw, b),
    ], p);
    return [bnOutOfChannels(y, b), 1];
  },
});

/** The weight derivative of {@linkcode batchNormTrainRule}, `Σ g·x̂` per channel: inputs g, x. */
const batchNormWeightGradPrim: Primitive<BnParams> = definePrimitive({
  name: "batchNormWeightGrad",
  forward: ([g, x], { eps }) => {
    const [n, c, s] = ncs(x.shape);
    return fromData(
      bnk.weightGrad(g.data, x.data, n, c, s, eps, allocData(x.dtype, c)),
      [c],
    );
  },
  vjp: (inputs, _y, { eps }) =>
    vjpOf(
      (g, x) => sum(mul(g, normalizedRef(x, eps)), { axis: bnAxes(x.shape) }),
      inputs,
    ),
  batch: ([g, x], [dg, dx], p) => {
    const b = batchSize([g, x], [dg, dx]);
    const y = bind(batchNormWeightGradPrim, [
      bnIntoChannels(g, dg, b),
      bnIntoChannels(x, dx, b),
    ], p);
    return [reshape(y, [b, y.shape[0] / b]), 0];
  },
});
