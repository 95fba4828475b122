/**
 * Datasets `{ x, y }` in memory: selecting rows, splitting, and iterating in
 * mini-batches (shuffled by a random key, so a run is reproducible).
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
  describe,
  fromData,
  isTensor,
  showValue,
  type Tensor,
} from "../ops/tensor.ts";
import { concrete } from "../ops/trace.ts";
import { choice, type Key, permutation } from "../ops/random.ts";
import type { LabeledImages } from "./types.ts";
import { checkKeyArg } from "../ops/_args.ts";

/** A dataset: inputs `x` and targets `y` with the same first dimension. */
export type Dataset = LabeledImages;

function checkDataset(fn: string, ds: Dataset): number {
  if (!ds || typeof ds !== "object") {
    throw new Error(
      `${fn}: ds must be a dataset { x, y }, got ${describe(ds)}`,
    );
  }
  checkTensor(fn, ds.x, "ds.x");
  checkTensor(fn, ds.y, "ds.y");
  const n = ds.x.shape[0];
  if (ds.x.shape.length === 0 || ds.y.shape[0] !== n) {
    throw new Error(
      `${fn}: ds.x [${ds.x.shape}] and ds.y [${ds.y.shape}] must have the same first dimension`,
    );
  }
  return n;
}

/** Rows `indices` of `t` along axis 0 (a copy). */
function rows(t: Tensor, indices: ArrayLike<number>): Tensor {
  const c = concrete(t);
  const per = c.shape.slice(1).reduce((p, d) => p * d, 1);
  const out = allocData(c.dtype, indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const s = indices[i] * per;
    out.set(c.data.subarray(s, s + per), i * per);
  }
  return fromData(out, [indices.length, ...c.shape.slice(1)]);
}

/**
 * `take`'s indices as a list: an array or typed array of numbers (each
 * checked by the caller), or the values of an int32 tensor of rank 1.
 */
function takeIndices(indices: unknown): ArrayLike<number> {
  const expected =
    "an array of integer row indices or an int32 tensor of rank 1";
  if (isTensor(indices)) {
    if (indices.dtype !== "int32" || indices.shape.length !== 1) {
      throw new Error(
        `take: indices must be ${expected}, got ${describe(indices)}`,
      );
    }
    return concrete(indices).data;
  }
  if (
    typeof indices !== "object" || indices === null ||
    !Number.isSafeInteger((indices as { length?: unknown }).length) ||
    (indices as ArrayLike<unknown>).length < 0
  ) {
    throw new Error(
      `take: indices must be ${expected}, got ${
        typeof indices === "string"
          ? `string ${JSON.stringify(indices)}`
          : describe(indices)
      }`,
    );
  }
  return indices as ArrayLike<number>;
}

/**
 * The rows of a dataset at `indices` (an array of row numbers, or an int32
 * tensor of them), in that order.
 *
 * @example
 * ```ts
 * import { take } from "./batches.ts";
 * import { tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const ds = { x: tensor([[1], [2], [3]]), y: tensor([0, 1, 2], { dtype: "int32" }) };
 * assert.deepEqual(toArray(take(ds, [2, 0]).y), [2, 0]);
 * ```
 */
export function take(
  ds: Dataset,
  indices: ArrayLike<number> | Tensor,
): Dataset {
  const n = checkDataset("take", ds);
  indices = takeIndices(indices);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new Error(
        `take: indices must be integers in [0, ${n}), got ${v} at position ${i}`,
      );
    }
  }
  return { x: rows(ds.x, indices), y: rows(ds.y, indices) };
}

/**
 * Splits a dataset into two parts (e.g. train/validation): the first
 * `fraction` of the rows (after a shuffle by `key`, when given) and the rest.
 *
 * @example
 * ```ts
 * import { split } from "./batches.ts";
 * import { arange, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const ds = { x: arange(10), y: arange(10, undefined, 1, { dtype: "int32" }) };
 * const [train, val] = split(ds, { fraction: 0.8, key: random.key(0) });
 * assert.equal(train.x.shape[0], 8);
 * assert.equal(val.x.shape[0], 2);
 * ```
 */
export function split(
  ds: Dataset,
  options?: { fraction?: number; key?: Key },
): [Dataset, Dataset] {
  if (options === undefined) options = {};
  const fn = "split";
  checkOptions(fn, options, ["fraction", "key"]);
  const n = checkDataset(fn, ds);
  const fraction = options.fraction ?? 0.8;
  if (typeof fraction !== "number" || !(fraction >= 0 && fraction <= 1)) {
    throw new Error(
      `${fn}: fraction must be a number in [0, 1], got ${describe(fraction)}`,
    );
  }
  if (options.key !== undefined) checkKeyArg(fn, options.key, "options.key");
  const order = options.key
    ? permutation(options.key, n).data
    : Int32Array.from({ length: n }, (_, i) => i);
  const cut = Math.round(n * fraction);
  return [take(ds, order.subarray(0, cut)), take(ds, order.subarray(cut))];
}

/** Options of {@linkcode batches}. */
export interface BatchOptions {
  /** Rows per batch. Required. */
  batchSize: number;
  /** Shuffle the order (needs `key`). Default false. */
  shuffle?: boolean;
  /** Random key of the shuffle: the same key gives the same order. */
  key?: Key;
  /** Skip a last, smaller batch. Default false. */
  dropLast?: boolean;
  /**
   * A weight per row: the epoch's rows are drawn with replacement with
   * these probabilities (PyTorch's `WeightedRandomSampler(weights,
   * len(ds))`, e.g. to balance classes; needs `key`, instead of `shuffle`).
   */
  weights?: Tensor;
}

/**
 * Iterates over a dataset in mini-batches `{ x, y }` (a new order per key).
 * The iterable can be consumed several times and knows its `length`.
 *
 * @example
 * ```ts
 * import { batches } from "./batches.ts";
 * import { arange, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const ds = { x: arange(10), y: arange(10, undefined, 1, { dtype: "int32" }) };
 * const it = batches(ds, { batchSize: 4, shuffle: true, key: random.key(1) });
 * assert.deepEqual([...it].map((b) => b.x.shape[0]), [4, 4, 2]);
 * assert.equal(it.length, 3);
 * assert.equal(batches(ds, { batchSize: 4, dropLast: true }).length, 2);
 * ```
 */
export function batches(
  ds: Dataset,
  options: BatchOptions,
): Iterable<Dataset> & { length: number } {
  const fn = "batches";
  checkOptions(fn, options, [
    "batchSize",
    "shuffle",
    "key",
    "dropLast",
    "weights",
  ]);
  const n = checkDataset(fn, ds);
  const { batchSize, shuffle = false, key, dropLast = false, weights } =
    options ?? {};
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(
      `${fn}: batchSize must be a positive integer, got ${
        showValue(batchSize)
      }`,
    );
  }
  for (const [name, v] of [["shuffle", shuffle], ["dropLast", dropLast]]) {
    if (typeof v !== "boolean") {
      throw new Error(
        `${fn}: options.${name} must be a boolean, got ${describe(v)}`,
      );
    }
  }
  if (shuffle && !key) {
    throw new Error(
      `${fn}: shuffle needs options.key (a random.key), so the order is reproducible`,
    );
  }
  let probs: Tensor | undefined;
  if (weights !== undefined) {
    if (shuffle) {
      throw new Error(
        `${fn}: give weights or shuffle, not both (weighted rows are drawn in a random order already)`,
      );
    }
    if (!key) {
      throw new Error(
        `${fn}: weights need options.key (a random.key) to draw the rows`,
      );
    }
    if (
      !isTensor(weights) || weights.shape.length !== 1 || weights.shape[0] !== n
    ) {
      throw new Error(
        `${fn}: weights must be a 1-D tensor of ${n} weights (one per row), got ${
          describe(weights)
        }`,
      );
    }
    // (checked here, not when the rows are drawn: the error names batches
    // and comes from the call)
    let total = 0;
    const w64 = Float64Array.from(concrete(weights).data);
    for (let i = 0; i < n; i++) {
      const w = w64[i];
      if (!(w >= 0 && w < Infinity)) {
        throw new Error(
          `${fn}: weights must be finite numbers >= 0, got ${w} at row ${i}`,
        );
      }
      total += w;
    }
    if (n > 0 && !(total > 0 && total < Infinity)) {
      throw new Error(
        `${fn}: weights must have a positive, finite sum, got ${total}`,
      );
    }
    // drawn from the weights in float64, as WeightedRandomSampler (it makes
    // them a double tensor): float32 sums would overflow (weights of 3e38)
    // or stop growing past 2^24 (later rows never drawn)
    probs = fromData(w64, [n]);
  }
  if (key !== undefined) checkKeyArg(fn, key, "options.key");
  const count = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  return {
    length: count,
    *[Symbol.iterator]() {
      const order = probs !== undefined
        ? choice(key!, n, { shape: [n], p: probs }).data as Int32Array
        : shuffle
        ? permutation(key!, n).data
        : Int32Array.from({ length: n }, (_, i) => i);
      for (let b = 0; b < count; b++) {
        yield take(
          ds,
          order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize)),
        );
      }
    },
  };
}
