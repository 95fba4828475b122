/**
 * The losses called from a PyTorch fixture case, shared by the fixture tests
 * of the losses (tests/losses_probe_test.ts, tests/norm_test.ts).
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

/**
 * The library's loss (or distance) `op` on the case's named inputs `v` with
 * options `o`; undefined for another op.
 */
export function callLoss(
  op: string,
  v: Record<string, Tensor>,
  // deno-lint-ignore no-explicit-any
  o: Record<string, any>,
): Tensor | undefined {
  switch (op) {
    case "crossEntropy":
      return T.crossEntropy(v.logits, v.labels, { ...o, weight: v.weight });
    case "nllLoss":
      return T.nllLoss(v.logProbs, v.labels, { ...o, weight: v.weight });
    case "binaryCrossEntropyWithLogits":
      return T.binaryCrossEntropyWithLogits(v.logits, v.targets, {
        ...o,
        weight: v.weight,
        posWeight: v.posWeight,
      });
    case "binaryCrossEntropy":
      return T.binaryCrossEntropy(v.input, v.target, {
        ...o,
        weight: v.weight,
      });
    case "mseLoss":
      return T.mseLoss(v.x, v.target, o);
    case "l1Loss":
      return T.l1Loss(v.x, v.target, o);
    case "huberLoss":
      return T.huberLoss(v.input, v.target, o);
    case "smoothL1Loss":
      return T.smoothL1Loss(v.input, v.target, o);
    case "klDiv":
      return T.klDiv(v.input, v.target, o);
    case "poissonNllLoss":
      return T.poissonNllLoss(v.input, v.target, o);
    case "gaussianNllLoss":
      return T.gaussianNllLoss(v.input, v.target, v.var, o);
    case "marginRankingLoss":
      return T.marginRankingLoss(v.input1, v.input2, v.target, o);
    case "hingeEmbeddingLoss":
      return T.hingeEmbeddingLoss(v.input, v.target, o);
    case "softMarginLoss":
      return T.softMarginLoss(v.input, v.target, o);
    case "multilabelSoftMarginLoss":
      return T.multilabelSoftMarginLoss(v.input, v.target, {
        ...o,
        weight: v.weight,
      });
    case "multiMarginLoss":
      return T.multiMarginLoss(v.input, v.labels, { ...o, weight: v.weight });
    case "cosineEmbeddingLoss":
      return T.cosineEmbeddingLoss(v.input1, v.input2, v.target, o);
    case "tripletMarginLoss":
      return T.tripletMarginLoss(v.anchor, v.positive, v.negative, o);
    case "pairwiseDistance":
      return T.pairwiseDistance(v.x1, v.x2, o);
    case "cosineSimilarity":
      return T.cosineSimilarity(v.x1, v.x2, o);
  }
  return undefined;
}
