/**
 * Types shared by the dataset loaders.
 *
 * @module
 */
import type { Tensor } from "../ops/tensor.ts";

/** A labelled image set: images `x` and int32 class labels `y`. */
export interface LabeledImages {
  /** Images, float32 `[N, C, H, W]`. */
  x: Tensor;
  /** Class labels, int32 `[N]`. */
  y: Tensor;
}

/** A dataset split into training and test sets. */
export interface TrainTest {
  /** The training set. */
  train: LabeledImages;
  /** The test set. */
  test: LabeledImages;
}
