/**
 * Private helpers of optim: argument checks shared by the optimizers,
 * transforms and schedules (every message names the function, the option,
 * what was expected and what came), and the step counter kept in states.
 *
 * @module
 */
import {
  checkBool,
  checkOptions,
  describe,
  fromData,
  isTensor,
  showValue,
  type Tensor,
  zerosLike,
} from "../ops/tensor.ts";
import {
  flattenAs,
  isPlainObject,
  type Tree,
  treeMap,
  treePaths,
} from "../ops/tree.ts";
import { pureCallback } from "../ops/custom_vjp.ts";
import { add, astype } from "../ops/elementwise.ts";
import { reshape, slice } from "../ops/structural.ts";

export { checkBool, checkOptions };

/**
 * A learning-rate schedule: the learning rate to use at `step`, the number of
 * updates already made (0 for the first update).
 */
export type Schedule = (step: number) => number;

/** A learning rate: a constant, or a {@linkcode Schedule}. */
export type LearningRate = number | Schedule;

/** A numeric range: `[min, max]`, either end open or absent. */
export interface Range {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  integer?: boolean;
}

function rangeText(r: Range): string {
  const kind = r.integer ? "an integer" : "a number";
  if (r.min !== undefined && r.max !== undefined) {
    return `${kind} in ${r.minOpen ? "(" : "["}${r.min}, ${r.max}${
      r.maxOpen ? ")" : "]"
    }`;
  }
  if (r.min !== undefined) return `${kind} ${r.minOpen ? ">" : ">="} ${r.min}`;
  if (r.max !== undefined) return `${kind} ${r.maxOpen ? "<" : "<="} ${r.max}`;
  return `a finite ${r.integer ? "integer" : "number"}`;
}

function show(x: unknown): string {
  if (x === undefined) return "undefined";
  return typeof x === "number" ? String(x) : describe(x);
}

/** Checks a finite number (or integer) within `range`; returns it. */
export function checkNum(
  fn: string,
  name: string,
  value: unknown,
  range: Range = {},
): number {
  const ok = typeof value === "number" && Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.min === undefined ||
      (range.minOpen ? value > range.min : value >= range.min)) &&
    (range.max === undefined ||
      (range.maxOpen ? value < range.max : value <= range.max));
  if (!ok) {
    throw new Error(
      `${fn}: ${name} must be ${rangeText(range)}, got ${show(value)}`,
    );
  }
  return value as number;
}

/** Checks a learning rate: a number >= 0 or a schedule function. */
export function checkLr(
  fn: string,
  value: unknown,
  name = "lr",
): LearningRate {
  if (typeof value === "function") return value as LearningRate;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
    return value;
  }
  throw new Error(
    `${fn}: ${name} must be a number >= 0 or a schedule (step) => number, got ${
      show(value)
    }`,
  );
}

/** Checks torch's `betas`: a pair of numbers in [0, 1). */
export function checkBetas(fn: string, value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new Error(
      `${fn}: betas must be a pair [beta1, beta2] of numbers in [0, 1), got ${
        Array.isArray(value) ? showValue(value) : show(value)
      }`,
    );
  }
  const r = { min: 0, max: 1, maxOpen: true };
  return [
    checkNum(fn, "betas[0]", value[0], r),
    checkNum(fn, "betas[1]", value[1], r),
  ];
}

/** Evaluates a learning rate at `step`, checking what a schedule returns. */
export function lrAt(fn: string, lr: LearningRate, step: number): number {
  if (typeof lr === "number") return lr;
  const v = lr(step);
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(
      `${fn}: the learning-rate schedule returned ${show(v)} at step ${step}`,
    );
  }
  return v;
}

/** `params`, or a clear error when a transform that needs them got none. */
export function needParams<T extends Tree>(fn: string, params?: T): T {
  if (params === undefined) {
    throw new Error(
      `${fn}: update needs the params (pass them as the third argument: update(grads, state, params))`,
    );
  }
  return params;
}

/** Zeros like each leaf of `params` (a moment's or an accumulator's start). */
export const zerosTree = (params: Tree): Tree =>
  treeMap((p) => zerosLike(p), params);

/**
 * treeMap whose structure errors are prefixed with the calling function.
 * The leaves it pairs must have one shape (the updates, the params and a
 * state's moments are all shaped like the params): a leaf of another shape
 * is an error naming its path, where the ops would broadcast it silently
 * (and a state would change shape).
 */
export function leafwise<T extends Tree>(
  fn: string,
  f: (...leaves: Tensor[]) => Tensor,
  tree: T,
  ...rest: Tree[]
): T {
  let at = -1;
  let mismatch: readonly number[][] | null = null;
  const g = rest.length === 0 ? f : (...leaves: Tensor[]) => {
    at++;
    const s = leaves[0].shape;
    for (let i = 1; i < leaves.length; i++) {
      const o = leaves[i].shape;
      if (o.length !== s.length || o.some((d, j) => d !== s[j])) {
        mismatch = [s as number[], o as number[]];
        throw new ShapeMismatch();
      }
    }
    return f(...leaves);
  };
  try {
    return treeMap(g, tree, ...rest);
  } catch (e) {
    if (e instanceof ShapeMismatch && mismatch) {
      const [a, b] = mismatch as number[][];
      const path = treePaths(tree)[at]?.[0] ?? "";
      throw new Error(
        `${fn}: leaf ${
          path === "" ? "(root)" : `"${path}"`
        } has shape [${a}] in the updates but [${b}] in the params or the state (the updates must be shaped like the params the state was made for)`,
      );
    }
    throw prefixed(fn, e);
  }
}

class ShapeMismatch extends Error {}

/** `e` with its message prefixed by `fn` (unless it already names it). */
function prefixed(fn: string, e: unknown): Error {
  const m = (e as Error).message;
  return new Error(m.startsWith(`${fn}: `) ? m : `${fn}: ${m}`);
}

/**
 * Checks that two trees of one structure have the same shape leaf by leaf;
 * the error names the path and both sides (`aName`, `bName`).
 */
export function checkSameShapes(
  fn: string,
  a: Tree,
  b: Tree,
  aName: string,
  bName: string,
): void {
  const pa = treePaths(a), pb = treePaths(b);
  pa.forEach(([path, x], i) => {
    const y = pb[i]?.[1];
    if (y && x.shape.join() !== y.shape.join()) {
      throw new Error(
        `${fn}: leaf ${
          path === "" ? "(root)" : `"${path}"`
        } has shape [${x.shape}] in ${aName} but [${y.shape}] in ${bName}`,
      );
    }
  });
}

/** {@linkcode leafwise} for trees whose leaves differ in shape on purpose (adafactor's factored moments). */
export function leafwiseAnyShape<T extends Tree>(
  fn: string,
  f: (...leaves: Tensor[]) => Tensor,
  tree: T,
  ...rest: Tree[]
): T {
  try {
    return treeMap(f, tree, ...rest);
  } catch (e) {
    throw prefixed(fn, e);
  }
}

/**
 * Checks that every leaf of `params` is a float tensor: an optimizer's
 * updates are fractional, and adding them to an integer leaf would
 * truncate it silently (torch never steps a tensor that has no gradient).
 */
export function checkFloatLeaves(fn: string, what: string, tree: Tree): void {
  const [leaves] = flattenAs(fn, tree);
  const float = (t: Tensor) => t.dtype === "float32" || t.dtype === "float64";
  if (leaves.every(float)) return;
  for (const [path, leaf] of treePaths(tree)) {
    if (!float(leaf)) {
      throw new Error(
        `${fn}: ${what} leaf ${
          path === "" ? "(root)" : `"${path}"`
        } is ${leaf.dtype}; optimizers update float tensors only (take it out of the params, or freeze it with optim.masked or optim.multiTransform and optim.setToZero)`,
      );
    }
  }
}

/**
 * Checks that a transform's `state` is a record with exactly `keys` (what
 * its init returns), so that a state of another transformation (or none) is
 * an error naming `fn` rather than a silent mix-up or a TypeError.
 */
export function checkStateKeys<S>(
  fn: string,
  state: unknown,
  keys: readonly string[],
): S {
  const want = [...keys].sort();
  const ok = isPlainObject(state) &&
    Object.keys(state).sort().join("\0") === want.join("\0");
  if (!ok) {
    throw new Error(
      `${fn}: state must be what init returned ({ ${keys.join(", ")} }), got ${
        isPlainObject(state)
          ? `an object with keys [${Object.keys(state)}]`
          : describe(state)
      }`,
    );
  }
  return state as S;
}

/**
 * A step counter as an int32 scalar tensor, so a whole state stays a tree of
 * tensors (treeLeaves, treeMap and saving work on it).
 */
export function countTensor(n: number): Tensor {
  return fromData(Int32Array.of(n), []);
}

/** Checks a counter made by {@linkcode countTensor} without reading it (so it works under jit). */
export function checkCount(
  fn: string,
  count: unknown,
  name = "count",
): Tensor {
  if (
    !isTensor(count) || count.shape.length !== 0 || count.dtype !== "int32"
  ) {
    throw new Error(
      `${fn}: state.${name} must be an int32 scalar tensor (from init), got ${
        describe(count)
      }`,
    );
  }
  return count;
}

/** The counter after one more update (`count + 1`, int32). */
export function nextCount(count: Tensor): Tensor {
  return add(count, 1);
}

/**
 * Scalars an optimizer computes in JavaScript from its step count (and other
 * scalar state: `inputs`), as float64 scalar tensors, `n` of them. They are
 * computed through {@linkcode pureCallback} when the step runs, so a jitted
 * training step recomputes them on every call with the same float64
 * arithmetic as an eager one; use them through {@linkcode like}.
 */
export function stepScalars(
  inputs: Tensor[],
  n: number,
  f: (...values: number[]) => number[],
): Tensor[] {
  const v = pureCallback(
    (...xs) => fromData(Float64Array.from(f(...xs.map((x) => x.data[0]))), [n]),
    { shape: [n], dtype: "float64" },
    ...inputs,
  );
  return [...Array(n).keys()].map((i) => reshape(slice(v, [i], [i + 1]), []));
}

/**
 * A float64 scalar from {@linkcode stepScalars} in the dtype of `x`: rounded
 * as a plain number would be in an op with `x`, so the arithmetic keeps the
 * bits of the number version.
 */
export function like(s: Tensor, x: Tensor): Tensor {
  // converted once per dtype, not once per leaf of the tree
  let byDtype = converted.get(s);
  if (!byDtype) converted.set(s, byDtype = new Map());
  let t = byDtype.get(x.dtype);
  if (!t) byDtype.set(x.dtype, t = astype(s, x.dtype));
  return t;
}

const converted = new WeakMap<Tensor, Map<string, Tensor>>();
