/**
 * Attention layers, as `torch.nn.MultiheadAttention` (self-attention) and
 * `torch.nn.TransformerEncoderLayer`: PyTorch's parameter names
 * (`in_proj_weight`, `out_proj.weight`, `self_attn.in_proj_bias`, ...),
 * shapes, init and options, built on `scaledDotProductAttention`.
 *
 * @module
 */
import type { Key } from "../ops/random.ts";
import { split } from "../ops/random.ts";
import { describe, fmtShape, type Tensor, zeros } from "../ops/tensor.ts";
import { checkBool } from "../ops/tensor.ts";
import { gelu } from "../ops/activations.ts";
import { relu } from "../ops/elementwise.ts";
import { linear as linearOp } from "../ops/matmul.ts";
import { reshape, transpose } from "../ops/structural.ts";
import { split as splitOp } from "../ops/shape.ts";
import { scaledDotProductAttention } from "../ops/attention.ts";
import {
  type AnyLayer,
  checkLayer,
  defineLayer,
  type EmptyState,
  type Layer,
  type LeafParams,
  type LeafSpecs,
  type Params,
  type ParamSpec,
  type State,
} from "./layer.ts";
import {
  dropout,
  type FloatDType,
  floatDType,
  layerNorm,
  linear,
  uniformInit,
} from "./layers.ts";
import { model, sequential } from "./containers.ts";
import { numberOption } from "../ops/_args.ts";
import { xavierUniform } from "./init.ts";
import {
  checkSequenceShape,
  positiveInt,
  pyBool,
  pyNum,
  requireOptions,
} from "./_util.ts";

/** Options of {@linkcode multiheadAttention}. */
export interface MultiheadAttentionOptions {
  /** Features of each token (E); split among the heads. */
  embedDim: number;
  /** Heads; must divide embedDim. */
  numHeads: number;
  /** Learn `in_proj_bias` and `out_proj.bias`. Default true. */
  bias?: boolean;
  /** Input and output `[batch, seq, E]` (else `[seq, batch, E]`). Default false. */
  batchFirst?: boolean;
  /** Dropout on the attention weights, in training. Default 0. */
  dropout?: number;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/** The constructor arguments PyTorch's repr leaves out, as Python keywords. */
const keywords = (pairs: [string, string | false][]) =>
  pairs.filter(([, v]) => v !== false).map(([k, v]) => `, ${k}=${v}`).join("");

/**
 * Multi-head self-attention, as `torch.nn.MultiheadAttention(embedDim,
 * numHeads)` called with the input as query, key and value: the input
 * projected by `in_proj_weight` `[3E, E]` into queries, keys and values,
 * each split into `numHeads` heads, scaled dot-product attention per head,
 * the heads joined and projected by `out_proj`. Input `[seq, batch, E]`
 * (`batchFirst`: batch first; or unbatched `[seq, E]`); `apply` returns the
 * attention output, PyTorch's first result. Params have PyTorch's
 * state_dict keys (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`,
 * `out_proj.bias`) and init (xavier-uniform in-projection, zero biases).
 *
 * @example
 * ```ts
 * import { nn, random, treePaths, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const attn = nn.multiheadAttention({ embedDim: 8, numHeads: 2, batchFirst: true });
 * const params = attn.init(random.key(0));
 * assert.deepEqual(treePaths(params).map(([p]) => p), ["in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"]);
 * assert.deepEqual(attn.apply(params, zeros([3, 5, 8])).shape, [3, 5, 8]);
 * ```
 */
export function multiheadAttention(
  options: MultiheadAttentionOptions,
): Layer<LeafParams, EmptyState> {
  const fn = "nn.multiheadAttention";
  requireOptions(fn, options, ["embedDim", "numHeads"], [
    "embedDim",
    "numHeads",
    "bias",
    "batchFirst",
    "dropout",
    "dtype",
  ]);
  const e = positiveInt(fn, "embedDim", options.embedDim);
  const heads = positiveInt(fn, "numHeads", options.numHeads);
  if (e % heads !== 0) {
    throw new Error(
      `${fn}: numHeads must divide embedDim, got embedDim ${e} and numHeads ${heads}`,
    );
  }
  const bias = checkBool(fn, "bias", options.bias, true);
  const batchFirst = checkBool(fn, "batchFirst", options.batchFirst, false);
  const p = numberOption(fn, "dropout", options.dropout, 0);
  if (!(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: dropout must be in [0, 1], got ${p}`);
  }
  const dtype = floatDType(fn, options.dtype);
  // out_proj a sub-object, as PyTorch's submodule (state_dict keys
  // out_proj.weight, out_proj.bias)
  const outSpecs: Record<string, ParamSpec> = {
    weight: { shape: [e, e], dtype },
  };
  if (bias) outSpecs.bias = { shape: [e], dtype };
  const params: LeafSpecs = {
    in_proj_weight: { shape: [3 * e, e], dtype },
    ...(bias ? { in_proj_bias: { shape: [3 * e], dtype } } : {}),
    out_proj: outSpecs,
  };
  const hd = e / heads;
  /** apply's check of x's shape (`what` describes x in the message). */
  const checkInput = (where: string, shape: readonly number[], what: string) =>
    checkSequenceShape(where, shape, what, e, batchFirst);
  return defineLayer({
    name: "MultiheadAttention",
    repr:
      `MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=${e}, out_features=${e}, bias=${
        pyBool(bias)
      })\n)`,
    torch: `MultiheadAttention(${e}, ${heads}${
      keywords([
        ["dropout", p !== 0 && pyNum(p)],
        ["bias", !bias && "False"],
        ["batch_first", batchFirst && "True"],
      ])
    })`,
    params,
    needsKey: p > 0 && p < 1,
    init: (key: Key) => {
      const [kin, kout] = split(key);
      const out: Record<string, Tensor> = {
        weight: uniformInit(kout, [e, e], e, dtype),
      };
      if (bias) out.bias = zeros([e], { dtype });
      return {
        in_proj_weight: xavierUniform(kin, [3 * e, e], { dtype }),
        ...(bias ? { in_proj_bias: zeros([3 * e], { dtype }) } : {}),
        out_proj: out,
      } as unknown as LeafParams;
    },
    apply: (prm, x, { training, key }) => {
      const rank = x.shape.length;
      checkInput("nn.MultiheadAttention.apply", x.shape, describe(x));
      if (training && p > 0 && p < 1 && !key) {
        throw new Error(
          `nn.MultiheadAttention.apply: training with dropout needs opts.key (a random.key)`,
        );
      }
      // [batch, seq, E] inside
      const xb = rank === 2
        ? reshape(x, [1, ...x.shape])
        : batchFirst
        ? x
        : transpose(x, [1, 0, 2]);
      const l = xb.shape[1];
      // the batch for reshape: -1, so that an ONNX export keeps it dynamic,
      // but its size when a sequence of 0 leaves -1 undetermined
      const nb = l === 0 ? xb.shape[0] : -1;
      const qkv = linearOp(xb, prm.in_proj_weight, prm.in_proj_bias ?? null);
      // each [batch, heads, seq, head dim]
      const [q, k, v] = splitOp(qkv, 3, { axis: -1 }).map((t) =>
        transpose(reshape(t, [nb, l, heads, hd]), [0, 2, 1, 3])
      );
      const a = scaledDotProductAttention(q, k, v, {
        dropoutP: training ? p : 0,
        ...(training && key ? { key } : {}),
      });
      const joined = reshape(transpose(a, [0, 2, 1, 3]), [nb, l, e]);
      const outProj = (prm as unknown as { out_proj: LeafParams }).out_proj;
      const y = linearOp(joined, outProj.weight, outProj.bias ?? null);
      if (rank === 2) return reshape(y, [l, e]);
      return batchFirst ? y : transpose(y, [1, 0, 2]);
    },
    // (the check of apply: a wrong size or rank is an error here too)
    outputShape: (s) => {
      checkInput(
        "nn.MultiheadAttention.outputShape",
        s,
        `shape ${fmtShape(s)}`,
      );
      return s.slice();
    },
  });
}

/** Options of {@linkcode transformerEncoderLayer}. */
export interface TransformerEncoderLayerOptions {
  /** Features of each token. */
  dModel: number;
  /** Attention heads; must divide dModel. */
  nhead: number;
  /** Hidden units of the feed-forward block. Default 2048. */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block, in training. Default 0.1. */
  dropout?: number;
  /** The feed-forward block's activation: "relu" (default) or "gelu". */
  activation?: "relu" | "gelu";
  /** The layer norms' eps. Default 1e-5. */
  layerNormEps?: number;
  /** Input and output `[batch, seq, dModel]`. Default false. */
  batchFirst?: boolean;
  /** Normalise before each block (pre-norm) instead of after. Default false. */
  normFirst?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/**
 * A transformer encoder layer, as `torch.nn.TransformerEncoderLayer`: self
 * attention, then a feed-forward block (`linear2(dropout(act(linear1(x))))`),
 * each added to its input and layer-normalised (after each block, or
 * before with `normFirst`). PyTorch's children and so its state_dict keys
 * (`self_attn.in_proj_weight`, `linear1.weight`, `norm2.bias`, ...).
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const layer = nn.transformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16, batchFirst: true });
 * assert.equal(nn.paramCount(layer), 3 * 8 * 8 + 3 * 8 + 8 * 8 + 8 + 16 * 8 + 16 + 8 * 16 + 8 + 4 * 8);
 * assert.deepEqual(layer.apply(layer.init(random.key(0)), zeros([2, 5, 8])).shape, [2, 5, 8]);
 * ```
 */
export function transformerEncoderLayer(
  options: TransformerEncoderLayerOptions,
): Layer<Params, State> {
  const fn = "nn.transformerEncoderLayer";
  requireOptions(fn, options, ["dModel", "nhead"], [
    "dModel",
    "nhead",
    "dimFeedforward",
    "dropout",
    "activation",
    "layerNormEps",
    "batchFirst",
    "normFirst",
    "dtype",
  ]);
  const d = positiveInt(fn, "dModel", options.dModel);
  const ff = positiveInt(fn, "dimFeedforward", options.dimFeedforward ?? 2048);
  const p = numberOption(fn, "dropout", options.dropout, 0.1);
  const eps = numberOption(fn, "layerNormEps", options.layerNormEps, 1e-5);
  const normFirst = checkBool(fn, "normFirst", options.normFirst, false);
  const act = options.activation ?? "relu";
  if (act !== "relu" && act !== "gelu") {
    throw new Error(
      `${fn}: activation must be "relu" or "gelu", got ${describe(act)}`,
    );
  }
  const dtype = floatDType(fn, options.dtype);
  const children = {
    self_attn: multiheadAttention({
      embedDim: d,
      numHeads: options.nhead,
      dropout: p,
      batchFirst: options.batchFirst ?? false,
      dtype,
    }),
    linear1: linear({ inFeatures: d, outFeatures: ff, dtype }),
    dropout: dropout({ p }),
    linear2: linear({ inFeatures: ff, outFeatures: d, dtype }),
    norm1: layerNorm({ normalizedShape: d, eps, dtype }),
    norm2: layerNorm({ normalizedShape: d, eps, dtype }),
    dropout1: dropout({ p }),
    dropout2: dropout({ p }),
  };
  const activation = defineLayer({
    name: act === "relu" ? "ReLU" : "GELU",
    repr: act === "relu" ? "ReLU()" : "GELU(approximate='none')",
    apply: (_p, x) => (act === "relu" ? relu(x) : gelu(x)),
  });
  return model(
    children,
    (m, x) => {
      const sa = (v: Tensor) => m.dropout1(m.self_attn(v));
      const ffBlock = (v: Tensor) =>
        m.dropout2(m.linear2(m.dropout(m.call(activation, m.linear1(v)))));
      if (normFirst) {
        x = m.add(x, sa(m.norm1(x)));
        return m.add(x, ffBlock(m.norm2(x)));
      }
      x = m.norm1(m.add(x, sa(x)));
      return m.norm2(m.add(x, ffBlock(x)));
    },
    { name: "TransformerEncoderLayer" },
  ) as unknown as Layer<Params, State>;
}

/** Options of {@linkcode transformerEncoder}. */
export interface TransformerEncoderOptions {
  /** How many copies of the layer, each with its own params. */
  numLayers: number;
  /** A layer applied to the last one's output (a layerNorm, for pre-norm layers). Default none. */
  norm?: AnyLayer;
}

/**
 * A stack of `numLayers` copies of an encoder layer (each with its own
 * params), then an optional norm, as `torch.nn.TransformerEncoder(layer,
 * numLayers, norm)`: PyTorch's keys (`layers.0.self_attn.in_proj_weight`,
 * ..., `norm.weight`).
 *
 * @example
 * ```ts
 * import { nn, random, treePaths, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const layer = nn.transformerEncoderLayer({ dModel: 8, nhead: 2, dimFeedforward: 16 });
 * const enc = nn.transformerEncoder(layer, { numLayers: 2, norm: nn.layerNorm({ normalizedShape: 8 }) });
 * const params = enc.init(random.key(0));
 * assert.ok(treePaths(params).some(([p]) => p === "layers.1.linear2.weight"));
 * assert.deepEqual(enc.apply(params, zeros([5, 3, 8])).shape, [5, 3, 8]);
 * ```
 */
export function transformerEncoder(
  encoderLayer: AnyLayer,
  options: TransformerEncoderOptions,
): Layer<Params, State> {
  const fn = "nn.transformerEncoder";
  checkLayer(fn, "encoderLayer", encoderLayer);
  requireOptions(fn, options, ["numLayers"], ["numLayers", "norm"]);
  const n = positiveInt(fn, "numLayers", options.numLayers);
  if (options.norm !== undefined) checkLayer(fn, "options.norm", options.norm);
  const layers = sequential(...Array.from({ length: n }, () => encoderLayer));
  return (options.norm
    ? model(
      { layers, norm: options.norm },
      (m, x) => m.norm(m.layers(x)),
      { name: "TransformerEncoder" },
    )
    : model({ layers }, (m, x) => m.layers(x), {
      name: "TransformerEncoder",
    })) as unknown as Layer<Params, State>;
}
