/**
 * Indexing kernels: gather and scatter-add along one axis of an
 * `[outer, n, inner]` view, and a stable argsort of each row of a
 * `[rows, n]` view. Arrays and sizes in, a new array out.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/** Throws unless every index is in [0, n) (a plan replayed by jit is not checked by the ops). */
function checkIndices(fn: string, idx: Int32Array, n: number): void {
  for (let j = 0; j < idx.length; j++) {
    const k = idx[j];
    if (k < 0 || k >= n) {
      throw new Error(
        `${fn}: index ${k} at flat index ${j} is out of range for an axis of size ${n}`,
      );
    }
  }
}

/** How {@linkcode moveAlong} indexes and moves values. */
export interface MoveMode {
  /** The primitive, for the out-of-range error. */
  name: string;
  /** One index per element (`[outer, m, inner]` of them), or one per j (`m`). */
  perElement: boolean;
  /** Scatter-add instead of gather. */
  scatter: boolean;
}

/**
 * The loop of the four indexing primitives, between `x` and `out`: the
 * gathered-from (or the scattered-into) side is viewed as `[outer, n,
 * inner]`, the other as `[outer, m, inner]`; for each position p of that
 * other side and the position q its index points at, a gather writes
 * `out[p] = x[q]`, a scatter-add `out[q] += x[p]` (into a zeroed out, in
 * index order). Returns out.
 */
export function moveAlong(
  x: TypedArray,
  out: TypedArray,
  outer: number,
  n: number,
  inner: number,
  idx: Int32Array,
  { name, perElement, scatter }: MoveMode,
): TypedArray {
  checkIndices(name, idx, n);
  const m = perElement
    ? (outer * inner === 0 ? 0 : idx.length / (outer * inner))
    : idx.length;
  // each slice (one index per j) or element (one per p) moves from q0 on
  for (let o = 0, p = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < m; j++) {
      if (!perElement) {
        const q0 = base + idx[j] * inner;
        if (!scatter) out.set(x.subarray(q0, q0 + inner), p);
        else for (let i = 0; i < inner; i++) out[q0 + i] += x[p + i];
        p += inner;
      } else if (scatter) {
        for (let i = 0; i < inner; i++, p++) {
          out[base + idx[p] * inner + i] += x[p];
        }
      } else {
        for (let i = 0; i < inner; i++, p++) {
          out[p] = x[base + idx[p] * inner + i];
        }
      }
    }
  }
  return out;
}

/**
 * The stable argsort of each row of `x` viewed as `[rows, n]`, as PyTorch's
 * `sort(stable=True)`: NaN above every number, -0 equal to 0, equal values
 * (NaNs among them) in their order, in both directions.
 */
export function argsortRows(
  x: TypedArray,
  n: number,
  descending: boolean,
  out: Int32Array,
): Int32Array {
  const rows = n === 0 ? 0 : out.length / n;
  const key = new Float64Array(n); // the row, negated when descending
  // a difference of 0 (-0 and 0) or NaN (equal infinities) is a tie
  const byKey = (a: number, b: number) => key[a] - key[b] || a - b;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    const numbers: number[] = [], nans: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = x[base + i];
      if (v !== v) nans.push(i);
      else {
        key[i] = descending ? -v : v;
        numbers.push(i);
      }
    }
    numbers.sort(byKey);
    // NaN is the largest value: last ascending, first descending
    const order = descending ? nans.concat(numbers) : numbers.concat(nans);
    for (let i = 0; i < n; i++) out[base + i] = order[i];
  }
  return out;
}
