/**
 * Scaled dot-product attention, as PyTorch's
 * `F.scaled_dot_product_attention`: a composition of matmul, softmax and
 * where, so every transform applies.
 *
 * @module
 */
import { add, mul, where } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { softmax } from "./activations.ts";
import { dropout } from "./normalization.ts";
import { swapaxes, tril } from "./shape.ts";
import {
  checkBool,
  checkOptions,
  checkTensor,
  describe,
  full,
  ones,
  type Tensor,
} from "./tensor.ts";
import { userOp } from "./debug.ts";
import type { Key } from "./random.ts";

/** Options of {@linkcode scaledDotProductAttention}. */
export interface AttentionOptions {
  /**
   * Which keys each query may attend to, broadcasting to `[..., L, S]`: an
   * int32 mask (nonzero: attend; as PyTorch's bool mask) or a float tensor
   * added to the scores (0 and -Infinity, or any bias).
   */
  attnMask?: Tensor;
  /**
   * Query i attends to keys 0..i only (the lower triangle of [L, S], aligned
   * top-left when L != S, as PyTorch 2.0). With `attnMask` too, both apply
   * (PyTorch 2.0's documented reference; its kernels refuse the pair).
   * Default false.
   */
  isCausal?: boolean;
  /** The scores' factor. Default `1 / sqrt(E)`, E the queries' last axis. */
  scale?: number;
  /** Dropout on the attention weights (as PyTorch, whenever > 0: pass 0 in evaluation). Default 0. */
  dropoutP?: number;
  /** The dropout's key, needed when `dropoutP` is in (0, 1). */
  key?: Key;
}

/**
 * Attention of queries `q` `[..., L, E]` over keys `k` `[..., S, E]` and
 * values `v` `[..., S, Ev]`: `softmax(q kᵀ · scale + mask) v`, as
 * `torch.nn.functional.scaled_dot_product_attention` (leading axes, e.g.
 * batch and heads, broadcast as matmul's). q, k and v must be float
 * (PyTorch refuses integer ones); float dtypes mixed promote, as matmul's.
 * Masks are added to the scores as PyTorch's reference does (an int32 mask
 * and `isCausal` as a bias of 0 and -Infinity), so a query whose keys are all
 * masked gets NaN, in the output and in the gradients, as PyTorch's.
 *
 * @example
 * ```ts
 * import { scaledDotProductAttention, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const q = tensor([[1, 0], [0, 1]]), k = tensor([[1, 0], [0, 1]]), v = tensor([[1, 2], [3, 4]]);
 * // causal: the first query sees the first key alone
 * const y = scaledDotProductAttention(q, k, v, { isCausal: true });
 * assert.deepEqual((toArray(y) as number[][])[0], [1, 2]);
 * ```
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options?: AttentionOptions,
): Tensor {
  using _op = userOp("scaledDotProductAttention");
  const fn = "scaledDotProductAttention";
  const o: AttentionOptions = checkOptions(fn, options ?? {}, [
    "attnMask",
    "isCausal",
    "scale",
    "dropoutP",
    "key",
  ]);
  checkTensor(fn, q, "q");
  checkTensor(fn, k, "k");
  checkTensor(fn, v, "v");
  if (q.dtype === "int32" || k.dtype === "int32" || v.dtype === "int32") {
    throw new Error(
      `${fn}: q, k and v must be float tensors, got ${describe(q)}, ${
        describe(k)
      } and ${describe(v)}`,
    );
  }
  const causal = checkBool(fn, "options.isCausal", o.isCausal, false);
  const r = (t: Tensor) => t.shape.length;
  if (
    r(q) < 2 || r(k) < 2 || r(v) < 2 || q.shape.at(-1) !== k.shape.at(-1) ||
    k.shape.at(-2) !== v.shape.at(-2)
  ) {
    throw new Error(
      `${fn}: q [..., L, E], k [..., S, E] and v [..., S, Ev] must agree on E and S, got ${
        describe(q)
      }, ${describe(k)} and ${describe(v)}`,
    );
  }
  const e = q.shape.at(-1)!, l = q.shape.at(-2)!, s = k.shape.at(-2)!;
  if (o.scale === undefined && e === 0) {
    throw new Error(
      `${fn}: E = 0 leaves the default scale 1 / sqrt(E) infinite: pass options.scale, got ${
        describe(q)
      }`,
    );
  }
  const scale = o.scale ?? 1 / Math.sqrt(e);
  if (typeof scale !== "number" || !Number.isFinite(scale)) {
    throw new Error(
      `${fn}: options.scale must be a finite number, got ${describe(o.scale)}`,
    );
  }
  const p = o.dropoutP ?? 0;
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new Error(
      `${fn}: options.dropoutP must be a number in [0, 1], got ${describe(p)}`,
    );
  }
  let scores = mul(matmul(q, swapaxes(k, -1, -2)), scale);
  // a keep mask as PyTorch's reference: a bias of 0 and -Infinity added to
  // the scores (not where(keep, scores, -Infinity), whose gradient would
  // skip a fully masked query's NaN)
  const bias = (keep: Tensor) =>
    where(keep, full([], 0, { dtype: scores.dtype }), -Infinity);
  if (causal) {
    scores = add(scores, bias(tril(ones([l, s], { dtype: "int32" }))));
  }
  if (o.attnMask !== undefined) {
    const m = checkTensor(fn, o.attnMask, "options.attnMask");
    scores = add(scores, m.dtype === "int32" ? bias(m) : m);
  }
  let weights = softmax(scores, -1);
  if (p > 0) {
    // (p = 1 drops every weight: no draw, no key, as dropout's)
    if (p < 1 && !o.key) {
      throw new Error(
        `${fn}: options.dropoutP in (0, 1) needs options.key (a random.key)`,
      );
    }
    weights = dropout(weights, { p, key: o.key, training: true });
  }
  return matmul(weights, v);
}
