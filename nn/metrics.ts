/**
 * Classification metrics: accuracy, top-k accuracy and the confusion matrix
 * (rows are true classes, columns predicted ones, as scikit-learn and
 * torchmetrics lay it out). They read values, so they are plain functions
 * outside every transform: call them on finished tensors, not under `grad`,
 * `vmap` or `jit`.
 *
 * Predictions are either int32 class indices of the labels' shape, or logits
 * (or probabilities) with one more axis: the class axis, axis 1 as in
 * `crossEntropy` (axis 0 for a single example's `[C]` logits).
 *
 * @module
 */
import {
  checkOptions,
  checkTensor,
  describe,
  fmtShape,
  fromData,
  showValue,
  type Tensor,
} from "../ops/tensor.ts";
import { argmax } from "../ops/reductions.ts";

/** The class axis of logits for labels of rank `labelRank`. */
const classAxis = (labelRank: number) => (labelRank === 0 ? 0 : 1);

function checkLabels(fn: string, labels: unknown): Tensor {
  const y = checkTensor(fn, labels, "labels");
  if (y.dtype !== "int32") {
    throw new Error(
      `${fn}: labels must be int32 class indices, got ${y.dtype}`,
    );
  }
  return y;
}

/** Predicted class indices from predictions or logits (see the module doc). */
function predictedClasses(fn: string, x: unknown, y: Tensor): Tensor {
  const p = checkTensor(fn, x, "predictions");
  const r = y.shape.length;
  if (p.shape.length === r + 1) {
    const ax = classAxis(r);
    const rest = p.shape.filter((_, i) => i !== ax);
    if (rest.every((d, i) => d === y.shape[i]) && p.shape[ax] > 0) {
      return argmax(p, { axis: ax });
    }
  } else if (
    p.shape.length === r && p.shape.every((d, i) => d === y.shape[i])
  ) {
    if (p.dtype !== "int32") {
      throw new Error(
        `${fn}: predictions of the labels' shape must be int32 class indices, got ${p.dtype} (logits need a class axis)`,
      );
    }
    return p;
  }
  throw new Error(
    `${fn}: predictions ${fmtShape(p.shape)} do not fit labels ${
      fmtShape(y.shape)
    }: expected class indices of the labels' shape or logits with a class axis at ${
      classAxis(r)
    }`,
  );
}

function nonEmpty(fn: string, y: Tensor) {
  if (y.data.length === 0) throw new Error(`${fn}: labels is empty`);
}

/**
 * Fraction of examples whose predicted class (the argmax of logits, or the
 * given int32 predictions) equals the label. A label outside the logits'
 * classes (or a negative one) is an error, as in `crossEntropy`.
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const logits = tensor([[2, 1], [0, 3], [5, 4], [1, 2]]);
 * const labels = tensor([0, 1, 1, 1], { dtype: "int32" });
 * assert.equal(metrics.accuracy(logits, labels), 0.75);
 * ```
 */
export function accuracy(
  logitsOrPredictions: Tensor,
  labels: Tensor,
): number {
  const fn = "accuracy";
  const y = checkLabels(fn, labels);
  const p = predictedClasses(fn, logitsOrPredictions, y);
  nonEmpty(fn, y);
  // a label is a class of the logits (as topKAccuracy's and crossEntropy's);
  // without logits the number of classes is unknown, so only >= 0
  const x = logitsOrPredictions;
  const c = x.shape.length > y.shape.length
    ? x.shape[classAxis(y.shape.length)]
    : Infinity;
  let correct = 0;
  for (let i = 0; i < y.data.length; i++) {
    correct += +(p.data[i] === checkClass(fn, "labels", y.data[i], c, i));
  }
  return correct / y.data.length;
}

/**
 * Fraction of examples whose label is among the `k` largest logits. A logit
 * tied with the label's counts in the label's favour (the label is in the
 * top k when fewer than k logits are strictly larger); a NaN logit ranks
 * above every number, as in `torch.topk`, and among NaNs the first ranks
 * first, as `argmax` picks it, so `k = 1` gives {@linkcode accuracy}'s
 * number.
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const logits = tensor([[3, 2, 1], [1, 2, 3]]);
 * const labels = tensor([1, 0], { dtype: "int32" });
 * assert.equal(metrics.topKAccuracy(logits, labels, 2), 0.5);
 * assert.equal(metrics.topKAccuracy(logits, labels, 3), 1);
 * ```
 */
export function topKAccuracy(
  logits: Tensor,
  labels: Tensor,
  k: number,
): number {
  const fn = "topKAccuracy";
  const y = checkLabels(fn, labels);
  const x = checkTensor(fn, logits, "logits");
  if (
    x.shape.length !== 2 || y.shape.length !== 1 || x.shape[0] !== y.shape[0]
  ) {
    throw new Error(
      `${fn}: expected logits [N, C] and labels [N], got logits ${
        fmtShape(x.shape)
      } and labels ${fmtShape(y.shape)}`,
    );
  }
  const [n, c] = x.shape;
  if (!Number.isInteger(k) || k < 1 || k > c) {
    throw new Error(
      `${fn}: k must be an integer in [1, ${c}], got ${
        typeof k === "number" ? k : describe(k)
      }`,
    );
  }
  nonEmpty(fn, y);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const label = checkClass(fn, "labels", y.data[i], c, i);
    const v = x.data[i * c + label];
    // a NaN logit ranks above every number, as in torch.topk, and among
    // NaNs the first ranks first, as argmax picks it (so top-1 agrees
    // with accuracy)
    let larger = 0;
    for (let j = 0; j < c; j++) {
      const u = x.data[i * c + j];
      larger += v !== v ? +(u !== u && j < label) : +(u > v || u !== u);
    }
    correct += +(larger < k);
  }
  return correct / n;
}

/** `v`, entry `i` of `what`, a class index in [0, n - 1] (n may be Infinity: any index >= 0). */
function checkClass(
  fn: string,
  what: "labels" | "predictions",
  v: number,
  n: number,
  i: number,
): number {
  if (!(v >= 0 && v < n)) {
    throw new Error(
      `${fn}: ${what} has class index ${v} at position ${i}, ${
        n === Infinity ? "a negative one" : `outside [0, ${n - 1}]`
      }`,
    );
  }
  return v;
}

/**
 * The confusion matrix `[numClasses, numClasses]` (int32): entry `[t, p]`
 * counts the examples of true class `t` predicted as `p`. Logits must have
 * `numClasses` classes, and every label and prediction must be one.
 *
 * @example
 * ```ts
 * import { metrics, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const predictions = tensor([0, 1, 1, 2], { dtype: "int32" });
 * const labels = tensor([0, 1, 2, 2], { dtype: "int32" });
 * assert.deepEqual(toArray(metrics.confusionMatrix(predictions, labels, 3)), [
 *   [1, 0, 0],
 *   [0, 1, 0],
 *   [0, 1, 1],
 * ]);
 * ```
 */
export function confusionMatrix(
  predictions: Tensor,
  labels: Tensor,
  numClasses: number,
): Tensor {
  return confusionOf("confusionMatrix", predictions, labels, numClasses);
}

/** {@linkcode confusionMatrix}, its errors naming `fn`. */
function confusionOf(
  fn: string,
  predictions: Tensor,
  labels: Tensor,
  numClasses: number,
): Tensor {
  const y = checkLabels(fn, labels);
  const p = predictedClasses(fn, predictions, y);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(
      `${fn}: numClasses must be a positive integer, got ${numClasses}`,
    );
  }
  // the matrix is bounded before it is allocated (as the library's other
  // results: at most 2^31 - 1 elements)
  if (numClasses * numClasses > 2 ** 31 - 1) {
    throw new Error(
      `${fn}: numClasses ${numClasses} is too large: the matrix [${numClasses}, ${numClasses}] would have ${
        numClasses * numClasses
      } elements, more than 2^31 - 1`,
    );
  }
  // logits rank numClasses classes (torchmetrics' check): argmax over
  // fewer or more columns would count silently wrong
  const r = y.shape.length;
  if (predictions.shape.length > r) {
    const c = predictions.shape[classAxis(r)];
    if (c !== numClasses) {
      throw new Error(
        `${fn}: logits ${fmtShape(predictions.shape)} have ${c} classes (axis ${
          classAxis(r)
        }) but numClasses is ${numClasses}`,
      );
    }
  }
  const counts = new Int32Array(numClasses * numClasses);
  for (let i = 0; i < y.data.length; i++) {
    const t = checkClass(fn, "labels", y.data[i], numClasses, i);
    counts[
      t * numClasses + checkClass(fn, "predictions", p.data[i], numClasses, i)
    ]++;
  }
  return fromData(counts, [numClasses, numClasses]);
}

/**
 * A confusion matrix as a text table: a row per true class, a column per
 * predicted class, and each row's recall (its diagonal over its total).
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const cm = tensor([[3, 1], [0, 4]], { dtype: "int32" });
 * assert.equal(
 *   metrics.formatConfusionMatrix(cm),
 *   [
 *     "true \\ predicted  0  1  recall",
 *     "               0  3  1  0.7500",
 *     "               1  0  4  1.0000",
 *   ].join("\n"),
 * );
 * ```
 */
export function formatConfusionMatrix(
  matrix: Tensor,
  options?: { classNames?: readonly string[] },
): string {
  const fn = "formatConfusionMatrix";
  options = checkOptions(fn, options, ["classNames"]) as {
    classNames?: readonly string[];
  };
  const m = checkTensor(fn, matrix, "matrix");
  const n = m.shape[0];
  if (m.shape.length !== 2 || m.shape[1] !== n) {
    throw new Error(
      `${fn}: matrix must be square [C, C], got ${fmtShape(m.shape)}`,
    );
  }
  const names = options.classNames ?? [...Array(n).keys()].map(String);
  if (!Array.isArray(names) || !names.every((s) => typeof s === "string")) {
    throw new Error(
      `${fn}: classNames must be an array of strings, got ${
        Array.isArray(names) ? "an array holding a non-string" : typeof names
      }`,
    );
  }
  if (names.length !== n) {
    throw new Error(
      `${fn}: classNames has ${names.length} names for ${n} classes`,
    );
  }
  const head = "true \\ predicted";
  const cell = (v: number) => String(v);
  // (a loop, not a spread: a large matrix would overflow the stack)
  let w = 0;
  for (const s of names) w = Math.max(w, s.length);
  for (let i = 0; i < m.data.length; i++) {
    w = Math.max(w, cell(m.data[i]).length);
  }
  // the first column fits the header and the longest class name
  let first = head.length;
  for (const s of names) first = Math.max(first, s.length);
  const lines = [
    [head.padStart(first), ...names.map((s) => s.padStart(w)), "recall"].join(
      "  ",
    ),
  ];
  for (let t = 0; t < n; t++) {
    const row = Array.from(m.data.subarray(t * n, (t + 1) * n));
    const total = row.reduce((a, b) => a + b, 0);
    const recall = total === 0 ? "-" : (row[t] / total).toFixed(4);
    lines.push(
      [
        names[t].padStart(first),
        ...row.map((v) => cell(v).padStart(w)),
        recall,
      ]
        .join("  "),
    );
  }
  return lines.join("\n");
}

/** Options of {@linkcode precisionRecallF1}. */
export interface PrecisionRecallOptions {
  /** The number of classes. Required. */
  numClasses: number;
  /**
   * "macro" (default: the classes' mean), "micro" (from the totals; equal to
   * accuracy for single-label classes), "weighted" (the mean weighted by each
   * class's count of true labels) or "none" (one value per class).
   */
  average?: "macro" | "micro" | "weighted" | "none";
}

/** Precision, recall and F1 score, numbers or per class. */
export interface PrecisionRecallF1<V> {
  /** Of the examples predicted as a class, the share that is. */
  precision: V;
  /** Of the examples of a class, the share predicted as it. */
  recall: V;
  /** The harmonic mean of precision and recall. */
  f1: V;
}

/**
 * Precision, recall and F1 score of class predictions, as scikit-learn's
 * `precision_recall_fscore_support` (and torchmetrics'): per class from the
 * confusion matrix, a class never predicted (or never present) counting 0
 * where its ratio is 0/0 (scikit-learn's `zero_division=0`), then averaged
 * by `average`.
 *
 * @example
 * ```ts
 * import { metrics, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = tensor([0, 0, 1, 1], { dtype: "int32" });
 * const p = tensor([0, 1, 1, 1], { dtype: "int32" });
 * const r = metrics.precisionRecallF1(p, y, { numClasses: 2, average: "none" });
 * assert.deepEqual(r.precision, [1, 2 / 3]);
 * assert.deepEqual(r.recall, [0.5, 1]);
 * ```
 */
export function precisionRecallF1(
  predictions: Tensor,
  labels: Tensor,
  options: PrecisionRecallOptions & { average: "none" },
): PrecisionRecallF1<number[]>;
/** Averaged over the classes (see the first overload). */
export function precisionRecallF1(
  predictions: Tensor,
  labels: Tensor,
  options: PrecisionRecallOptions,
): PrecisionRecallF1<number>;
export function precisionRecallF1(
  predictions: Tensor,
  labels: Tensor,
  options: PrecisionRecallOptions,
): PrecisionRecallF1<number> | PrecisionRecallF1<number[]> {
  const fn = "precisionRecallF1";
  if (typeof options !== "object" || options === null) {
    throw new Error(
      `${fn}: options must be an object with numClasses, got ${options}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (k !== "numClasses" && k !== "average") {
      throw new Error(
        `${fn}: unknown option "${k}" (known options: numClasses, average)`,
      );
    }
  }
  const average = options.average ?? "macro";
  if (!["macro", "micro", "weighted", "none"].includes(average)) {
    throw new Error(
      `${fn}: average must be "macro", "micro", "weighted" or "none", got ${
        showValue(average)
      }`,
    );
  }
  nonEmpty(fn, checkLabels(fn, labels));
  const c = options.numClasses;
  const cm = confusionOf(fn, predictions, labels, c).data;
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const tp = Array.from({ length: c }, (_, k) => cm[k * c + k]);
  const predicted = Array.from(
    { length: c },
    (_, k) => tp.reduce((s, _, t) => s + cm[t * c + k], 0),
  );
  const support = Array.from(
    { length: c },
    (_, k) => tp.reduce((s, _, q) => s + cm[k * c + q], 0),
  );
  const f1Of = (p: number, r: number) => ratio(2 * p * r, p + r);
  if (average === "micro") {
    const total = tp.reduce((s, v) => s + v, 0);
    const p = ratio(total, predicted.reduce((s, v) => s + v, 0));
    const r = ratio(total, support.reduce((s, v) => s + v, 0));
    return { precision: p, recall: r, f1: f1Of(p, r) };
  }
  const precision = tp.map((t, k) => ratio(t, predicted[k]));
  const recall = tp.map((t, k) => ratio(t, support[k]));
  const f1 = precision.map((p, k) => f1Of(p, recall[k]));
  if (average === "none") return { precision, recall, f1 };
  const n = support.reduce((s, v) => s + v, 0);
  const weights = support.map((s) => (average === "weighted" ? s / n : 1 / c));
  const mean = (v: number[]) => v.reduce((s, x, k) => s + x * weights[k], 0);
  return { precision: mean(precision), recall: mean(recall), f1: mean(f1) };
}
