/**
 * Data: dataset loaders and file formats.
 *
 * - IDX (MNIST format): {@linkcode parseIdx}, {@linkcode readIdx}
 * - CIFAR-10 binary: {@linkcode parseCifar10}, {@linkcode readCifar10}
 * - PNG: {@linkcode decodePng}, {@linkcode encodePng}, {@linkcode readPng},
 *   {@linkcode writePng}
 * - safetensors checkpoints of any tree (params, layer and optimizer state,
 *   random keys, epochs), readable from PyTorch:
 *   {@linkcode serializeSafetensors}, {@linkcode deserializeSafetensors},
 *   {@linkcode saveSafetensors}, {@linkcode loadSafetensors} (`like`: load
 *   into a template's structure, checking every entry)
 * - Batching: {@linkcode batches}, {@linkcode split}, {@linkcode take}
 * - Transforms: {@linkcode hwcToChw}, {@linkcode scaleTo01},
 *   {@linkcode normalize}, {@linkcode padImages}, {@linkcode randomCrop},
 *   {@linkcode randomHorizontalFlip}
 * - MNIST (embedded, no permission needed): {@linkcode loadMnist};
 *   Fashion-MNIST: {@linkcode loadFashionMnist}
 *
 * Images load as float32 (MNIST-style sets in [0, 1], CIFAR-10 and PNG on
 * the 0..255 scale), labels as int32. Functions that touch files need
 * `--allow-read` / `--allow-write` and say so when it is missing.
 *
 * @example
 * ```ts
 * import { deserializeSafetensors, parseIdx, serializeSafetensors } from "./mod.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const t = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]));
 * assert.deepEqual([...t.data], [7, 9]);
 * const tree = deserializeSafetensors(serializeSafetensors([{ w: tensor([1]) }, {}]));
 * assert.deepEqual(tree, [{ w: tensor([1]) }, {}]);
 * ```
 *
 * @module
 */
export type { LabeledImages, TrainTest } from "./types.ts";
export type { DType, Tensor, TypedArray } from "../ops/tensor.ts";
export type { Tree } from "../ops/tree.ts";
export { parseIdx, readIdx } from "./idx.ts";
export {
  CIFAR10_CLASSES,
  CIFAR10_FILES,
  CIFAR10_RECORD_BYTES,
  type Cifar10Options,
  parseCifar10,
  readCifar10,
} from "./cifar.ts";
export {
  decodePng,
  type DecodePngOptions,
  encodePng,
  PNG_MAX_PIXELS,
  readPng,
  writePng,
} from "./png.ts";
export {
  type CheckpointLeaf,
  type CheckpointTree,
  deserializeSafetensors,
  type DeserializeSafetensorsOptions,
  loadSafetensors,
  parseSafetensorsHeader,
  SAFETENSORS_MAX_HEADER,
  SAFETENSORS_TREE_KEY,
  type SafetensorsEntry,
  type SafetensorsHeader,
  safetensorsMetadata,
  saveSafetensors,
  type SaveSafetensorsOptions,
  serializeSafetensors,
  type SerializeSafetensorsOptions,
} from "./safetensors.ts";
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  loadFashionMnist,
  loadMnist,
} from "./mnist.ts";
export {
  batches,
  type BatchOptions,
  type Dataset,
  split,
  take,
} from "./batches.ts";
export { cutmix, type Mixed, type MixOptions, mixup } from "./mix.ts";
export {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  adjustSharpness,
  autocontrast,
  colorJitter,
  type ColorJitterOptions,
  erase,
  type EraseOptions,
  gaussianBlur,
  invert,
  randomAdjustSharpness,
  type RandomAdjustSharpnessOptions,
  type RandomApplyOptions,
  randomAutocontrast,
  randomErasing,
  type RandomErasingOptions,
  randomGrayscale,
  randomInvert,
  randomSolarize,
  type RandomSolarizeOptions,
  rgbToGrayscale,
  solarize,
} from "./color.ts";
export {
  affine,
  type AffineOptions,
  centerCrop,
  type CropBox,
  randomAffine,
  type RandomAffineOptions,
  randomResizedCrop,
  randomResizedCropBoxes,
  type RandomResizedCropBoxesOptions,
  type RandomResizedCropOptions,
  randomRotation,
  type RandomRotationOptions,
  resize,
  resizedCrop,
  type ResizedCropOptions,
  type ResizeOptions,
  rotate,
  type RotateOptions,
} from "./geometric.ts";
export {
  hwcToChw,
  normalize,
  padImages,
  randomCrop,
  randomHorizontalFlip,
  randomVerticalFlip,
  scaleTo01,
} from "./transforms.ts";
