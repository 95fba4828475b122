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

/**
 * `out[o, j, i] = x[o, idx[j], i]` for x viewed as `[outer, n, inner]` and
 * out as `[outer, idx.length, inner]`.
 */
export function gather(
  x: TypedArray,
  outer: number,
  n: number,
  inner: number,
  idx: Int32Array,
  out: TypedArray,
): TypedArray {
  checkIndices("gather", idx, n);
  const m = idx.length;
  for (let o = 0; o < outer; o++) {
    const xo = o * n * inner, oo = o * m * inner;
    if (inner === 1) {
      for (let j = 0; j < m; j++) out[oo + j] = x[xo + idx[j]];
    } else {
      for (let j = 0; j < m; j++) {
        const s = xo + idx[j] * inner;
        out.set(x.subarray(s, s + inner), oo + j * inner);
      }
    }
  }
  return out;
}

/**
 * `out[o, idx[j], i] += src[o, j, i]` into a zeroed `out` viewed as
 * `[outer, n, inner]`, src as `[outer, idx.length, inner]`; the sums run
 * in index order (the same bits on every run).
 */
export function scatterAdd(
  src: TypedArray,
  outer: number,
  n: number,
  inner: number,
  idx: Int32Array,
  out: TypedArray,
): TypedArray {
  checkIndices("scatterAdd", idx, n);
  const m = idx.length;
  for (let o = 0; o < outer; o++) {
    const so = o * m * inner, oo = o * n * inner;
    for (let j = 0; j < m; j++) {
      const d = oo + idx[j] * inner, s = so + j * inner;
      for (let i = 0; i < inner; i++) out[d + i] += src[s + i];
    }
  }
  return out;
}

/** Ascending order with NaN largest and -0 equal to 0 (as PyTorch's sort). */
function compare(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  return (a !== a ? 1 : 0) - (b !== b ? 1 : 0); // a NaN is above any number
}

/**
 * The stable argsort of each row of `x` viewed as `[rows, n]`: equal values
 * (NaNs among them) keep their order, in both directions.
 */
export function argsortRows(
  x: TypedArray,
  n: number,
  descending: boolean,
  out: Int32Array,
): Int32Array {
  const rows = n === 0 ? 0 : out.length / n;
  const order = new Array<number>(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let i = 0; i < n; i++) order[i] = i;
    const sign = descending ? -1 : 1;
    order.sort((a, b) => sign * compare(x[base + a], x[base + b]) || a - b);
    for (let i = 0; i < n; i++) out[base + i] = order[i];
  }
  return out;
}

/**
 * `out[o, j, i] = x[o, idx[o, j, i], i]` for x viewed as `[outer, n, inner]`
 * and idx and out as `[outer, m, inner]` (torch.gather).
 */
export function gatherAlong(
  x: TypedArray,
  outer: number,
  n: number,
  inner: number,
  idx: Int32Array,
  out: TypedArray,
): TypedArray {
  checkIndices("gatherElements", idx, n);
  const m = outer * inner === 0 ? 0 : idx.length / (outer * inner);
  for (let o = 0, p = 0; o < outer; o++) {
    const xo = o * n * inner;
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++, p++) out[p] = x[xo + idx[p] * inner + i];
    }
  }
  return out;
}

/**
 * `out[o, idx[o, j, i], i] += src[o, j, i]` into a zeroed `out` viewed as
 * `[outer, n, inner]`, src and idx as `[outer, m, inner]`
 * (torch.Tensor.scatter_add), in index order.
 */
export function scatterAlong(
  src: TypedArray,
  outer: number,
  n: number,
  inner: number,
  idx: Int32Array,
  out: TypedArray,
): TypedArray {
  checkIndices("scatterElementsAdd", idx, n);
  const m = outer * inner === 0 ? 0 : idx.length / (outer * inner);
  for (let o = 0, p = 0; o < outer; o++) {
    const oo = o * n * inner;
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++, p++) {
        out[oo + idx[p] * inner + i] += src[p];
      }
    }
  }
  return out;
}
