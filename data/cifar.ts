/**
 * CIFAR-10, binary version (`cifar-10-binary.tar.gz`): records of one label
 * byte (0..9) and 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each
 * 32x32 row-major), 10000 records per file.
 *
 * Images load as float32 `[N, 3, 32, 32]` (channels first, as PyTorch) with
 * the raw values 0..255 (not scaled: divide by 255 or normalize yourself);
 * labels as int32 `[N]`.
 *
 * @module
 */
import { checkOptions, fromData } from "../ops/tensor.ts";
import { checkBytes, checkPath, pathKind, readBytes } from "./_io.ts";
import type { LabeledImages } from "./types.ts";

/** Bytes in one CIFAR-10 record: 1 label + 3 * 32 * 32 pixels. */
export const CIFAR10_RECORD_BYTES = 3073;

/** The CIFAR-10 class names, indexed by label. */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
]);

function checkRecords(fn: string, bytes: Uint8Array, what: string): number {
  const r = CIFAR10_RECORD_BYTES;
  if (bytes.length === 0 || bytes.length % r !== 0) {
    throw new Error(
      `${fn}: ${what}: expected a non-zero multiple of ${r} bytes (1 label byte + 3072 pixel bytes per image), got ${bytes.length} bytes (${
        Math.floor(bytes.length / r)
      } whole records and ${bytes.length % r} extra bytes)`,
    );
  }
  return bytes.length / r;
}

function fillRecords(
  fn: string,
  bytes: Uint8Array,
  what: string,
  x: Float32Array,
  y: Int32Array,
  first: number,
): void {
  const r = CIFAR10_RECORD_BYTES;
  const n = bytes.length / r;
  for (let i = 0; i < n; i++) {
    const label = bytes[i * r];
    if (label > 9) {
      throw new Error(
        `${fn}: ${what}: record ${i} has label ${label}, expected 0..9 (corrupt or not a CIFAR-10 file; CIFAR-100 records are 3074 bytes)`,
      );
    }
    y[first + i] = label;
    const src = bytes.subarray(i * r + 1, (i + 1) * r);
    x.set(src, (first + i) * 3072); // Uint8 -> Float32 conversion
  }
}

/**
 * Parses CIFAR-10 binary records held in memory: x float32 `[N, 3, 32, 32]`
 * with values 0..255, y int32 `[N]`. Checks that the length is a multiple of
 * 3073 and every label is 0..9.
 *
 * @example
 * ```ts
 * import { parseCifar10 } from "./cifar.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(2 * 3073);
 * bytes[0] = 3; // label of image 0
 * bytes[1] = 255; // its red pixel (0, 0)
 * bytes[3073] = 9; // label of image 1
 * const { x, y } = parseCifar10(bytes);
 * assert.deepEqual(x.shape, [2, 3, 32, 32]);
 * assert.equal(x.data[0], 255);
 * assert.deepEqual([...y.data], [3, 9]);
 * assert.throws(() => parseCifar10(bytes.subarray(1)), /multiple of 3073/);
 * ```
 */
export function parseCifar10(bytes: Uint8Array): LabeledImages {
  const fn = "parseCifar10";
  checkBytes(fn, bytes);
  const n = checkRecords(fn, bytes, "data");
  const x = new Float32Array(n * 3072);
  const y = new Int32Array(n);
  fillRecords(fn, bytes, "data", x, y, 0);
  return { x: fromData(x, [n, 3, 32, 32]), y: fromData(y, [n]) };
}

/** The file names of the CIFAR-10 binary version. */
export const CIFAR10_FILES: {
  readonly train: readonly string[];
  readonly test: readonly string[];
} = Object.freeze({
  train: Object.freeze([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`)),
  test: Object.freeze(["test_batch.bin"]),
});

/** Options for {@linkcode readCifar10}. */
export interface Cifar10Options {
  /** Read the 50000 training images (default) or the 10000 test images. */
  train?: boolean;
}

/**
 * Reads CIFAR-10 (binary version) from `dir`, or from its
 * `cifar-10-batches-bin` subfolder when there is one: `data_batch_1.bin` ..
 * `data_batch_5.bin` with `train: true` (the default), `test_batch.bin`
 * with `train: false`. Returns x float32 `[N, 3, 32, 32]` with values 0..255
 * and y int32 `[N]`. Needs `--allow-read`. Missing files give an error that
 * lists the expected names.
 *
 * @example
 * ```ts ignore
 * import { readCifar10 } from "./cifar.ts";
 * const { x, y } = await readCifar10("./cifar-10-batches-bin", { train: false });
 * console.log(x.shape, y.shape); // [10000, 3, 32, 32] [10000]
 * ```
 */
export async function readCifar10(
  dir: string,
  options?: Cifar10Options,
): Promise<LabeledImages> {
  if (options === undefined) options = {};
  const fn = "readCifar10";
  checkPath(fn, dir, "dir");
  checkOptions(fn, options, ["train"]);
  const train = options.train ?? true;
  if (typeof train !== "boolean") {
    throw new Error(
      `${fn}: options.train must be a boolean, got ${typeof train}`,
    );
  }
  const top = dir.replace(/\/+$/, "") || "/";
  const kind = await pathKind(fn, top);
  if (kind !== "dir") {
    throw new Error(
      `${fn}: "${dir}" is ${
        kind === null ? "missing" : "not a directory"
      }: expected a directory holding the CIFAR-10 binary version (${
        [...CIFAR10_FILES.train, ...CIFAR10_FILES.test].join(", ")
      })`,
    );
  }
  const sub = `${top === "/" ? "" : top}/cifar-10-batches-bin`;
  const base = (await pathKind(fn, sub)) === "dir" ? sub : top;
  const names = train ? CIFAR10_FILES.train : CIFAR10_FILES.test;
  const paths = names.map((n) => `${base === "/" ? "" : base}/${n}`);
  const kinds = await Promise.all(paths.map((p) => pathKind(fn, p)));
  const missing = names.filter((_, i) => kinds[i] !== "file");
  if (missing.length > 0) {
    throw new Error(
      `${fn}: missing ${missing.join(", ")} in "${base}": expected ${
        names.join(", ")
      } (the CIFAR-10 binary version, cifar-10-binary.tar.gz, unpacked)`,
    );
  }
  const files = await Promise.all(paths.map((p) => readBytes(fn, p)));
  const counts = files.map((b, i) => checkRecords(fn, b, `"${paths[i]}"`));
  const n = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * 3072);
  const y = new Int32Array(n);
  let first = 0;
  files.forEach((b, i) => {
    fillRecords(fn, b, `"${paths[i]}"`, x, y, first);
    first += counts[i];
  });
  return { x: fromData(x, [n, 3, 32, 32]), y: fromData(y, [n]) };
}
