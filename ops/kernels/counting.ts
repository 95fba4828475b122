/**
 * Index selection along the rows of a row-major `[rows, n]` array (the
 * axis moved last), PyTorch's CPU algorithms step for step so that the
 * index chosen among equal values is PyTorch's: `kthIndexRows`
 * (torch.kthvalue's quickselect, NaN as the largest value), `modeIndexRows`
 * (torch.mode: libstdc++'s `std::sort` of (value, index) pairs by value,
 * then the last pair of the first longest run) and `cumArgRows`
 * (torch.cummax and cummin: the latest of equal values, a NaN taking over).
 * No tensors and no autodiff here.
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";

/** NaN sorts above every number (torch's `gt_or_nan`). */
const gtOrNan = (a: number, b: number) => (a !== a && b === b) || a > b;

/**
 * For each row of `x` (`n` values each), the index of its `k`-th smallest
 * value (k from 0) as torch.kthvalue picks it: its quickselect with a
 * median-of-three pivot, on a copy of the row and of the indices 0..n-1.
 */
export function kthIndexRows(
  x: TypedArray,
  n: number,
  k: number,
  out: Int32Array,
): Int32Array {
  const v = new Float64Array(n), ix = new Int32Array(n);
  const swap = (i: number, j: number) => {
    const t = v[i];
    v[i] = v[j];
    v[j] = t;
    const u = ix[i];
    ix[i] = ix[j];
    ix[j] = u;
  };
  for (let r = 0; r < out.length; r++) {
    for (let j = 0; j < n; j++) {
      v[j] = x[r * n + j];
      ix[j] = j;
    }
    let lo = 0, hi = n - 1;
    while (hi > lo) {
      if (hi === lo + 1) {
        if (gtOrNan(v[lo], v[hi])) swap(lo, hi);
        break;
      }
      // median of three: v[lo] <= v[lo + 1] <= v[hi] after these swaps
      swap(lo + Math.floor((hi - lo) / 2), lo + 1);
      if (gtOrNan(v[lo + 1], v[hi])) swap(lo + 1, hi);
      if (gtOrNan(v[lo], v[hi])) swap(lo, hi);
      if (gtOrNan(v[lo + 1], v[lo])) swap(lo + 1, lo);
      let i = lo + 1, j = hi;
      const piv = v[lo];
      for (;;) {
        do i++; while (i < hi && gtOrNan(piv, v[i]));
        do j--; while (j > lo && gtOrNan(v[j], piv));
        if (j < i) break;
        swap(i, j);
      }
      swap(lo, j);
      if (j <= k) lo = i;
      if (j >= k) hi = j - 1;
    }
    out[r] = ix[k];
  }
  return out;
}

/**
 * For each row of `x` (`n >= 1` values each), the index of its mode as
 * torch.mode picks it: the (value, index) pairs sorted by value with
 * libstdc++'s `std::sort` (introsort: median-of-three quicksort down to
 * runs of 16, heapsort past a depth of 2·log2(n), then insertion sort; not
 * stable, so which of equal values comes last is the algorithm's), then
 * the last pair of the first longest run of equal values (NaN equals
 * nothing).
 */
export function modeIndexRows(
  x: TypedArray,
  n: number,
  out: Int32Array,
): Int32Array {
  const v = new Float64Array(n), ix = new Int32Array(n);
  for (let r = 0; r < out.length; r++) {
    for (let j = 0; j < n; j++) {
      v[j] = x[r * n + j];
      ix[j] = j;
    }
    stdSort(v, ix, n);
    let best = 0, bestFreq = 0, freq = 0;
    for (let i = 0; i < n; i++) {
      freq++;
      if (i === n - 1 || v[i] !== v[i + 1]) {
        if (freq > bestFreq) {
          best = ix[i];
          bestFreq = freq;
        }
        freq = 0;
      }
    }
    out[r] = best;
  }
  return out;
}

/**
 * libstdc++'s `std::sort(first, last, comp)` of the pairs (v[i], ix[i]) by
 * `v[a] < v[b]`, step for step (bounds guarded where NaN would let
 * libstdc++'s unguarded loops run off the range).
 */
function stdSort(v: Float64Array, ix: Int32Array, n: number): void {
  if (n < 2) return;
  const swap = (i: number, j: number) => {
    const t = v[i];
    v[i] = v[j];
    v[j] = t;
    const u = ix[i];
    ix[i] = ix[j];
    ix[j] = u;
  };
  const lt = (i: number, j: number) => v[i] < v[j];
  // __adjust_heap and __push_heap on the heap at `first` of `len`
  const adjustHeap = (
    first: number,
    hole: number,
    len: number,
    val: number,
    vi: number,
  ) => {
    const top = hole;
    let child = hole;
    while (child < Math.floor((len - 1) / 2)) {
      child = 2 * (child + 1);
      if (lt(first + child, first + child - 1)) child--;
      v[first + hole] = v[first + child];
      ix[first + hole] = ix[first + child];
      hole = child;
    }
    if ((len & 1) === 0 && child === Math.floor((len - 2) / 2)) {
      child = 2 * (child + 1);
      v[first + hole] = v[first + child - 1];
      ix[first + hole] = ix[first + child - 1];
      hole = child - 1;
    }
    let parent = Math.floor((hole - 1) / 2);
    while (hole > top && v[first + parent] < val) {
      v[first + hole] = v[first + parent];
      ix[first + hole] = ix[first + parent];
      hole = parent;
      parent = Math.floor((hole - 1) / 2);
    }
    v[first + hole] = val;
    ix[first + hole] = vi;
  };
  // __partial_sort(first, last, last): make_heap, then sort_heap
  const heapSort = (first: number, last: number) => {
    const len = last - first;
    if (len >= 2) {
      for (let parent = Math.floor((len - 2) / 2);; parent--) {
        adjustHeap(first, parent, len, v[first + parent], ix[first + parent]);
        if (parent === 0) break;
      }
    }
    while (last - first > 1) {
      last--;
      const val = v[last], vi = ix[last];
      v[last] = v[first];
      ix[last] = ix[first];
      adjustHeap(first, 0, last - first, val, vi);
    }
  };
  const moveMedianToFirst = (res: number, a: number, b: number, c: number) => {
    if (lt(a, b)) {
      if (lt(b, c)) swap(res, b);
      else if (lt(a, c)) swap(res, c);
      else swap(res, a);
    } else if (lt(a, c)) swap(res, a);
    else if (lt(b, c)) swap(res, c);
    else swap(res, b);
  };
  const partition = (first: number, last: number, pivot: number) => {
    const end = last;
    for (;;) {
      while (first < end && lt(first, pivot)) first++;
      last--;
      while (last > pivot && lt(pivot, last)) last--;
      if (!(first < last)) return first;
      swap(first, last);
      first++;
    }
  };
  const introsort = (first: number, last: number, depth: number) => {
    while (last - first > 16) {
      if (depth === 0) {
        heapSort(first, last);
        return;
      }
      depth--;
      const mid = first + Math.floor((last - first) / 2);
      moveMedianToFirst(first, first + 1, mid, last - 1);
      const cut = partition(first + 1, last, first);
      introsort(cut, last, depth);
      last = cut;
    }
  };
  // __unguarded_linear_insert: moves the pair at `i` left past larger ones
  const linearInsert = (i: number, lowest: number) => {
    const val = v[i], vi = ix[i];
    let next = i - 1;
    while (next >= lowest && val < v[next]) {
      v[i] = v[next];
      ix[i] = ix[next];
      i = next;
      next--;
    }
    v[i] = val;
    ix[i] = vi;
  };
  const insertionSort = (first: number, last: number) => {
    for (let i = first + 1; i < last; i++) {
      if (lt(i, first)) {
        const val = v[i], vi = ix[i];
        for (let j = i; j > first; j--) {
          v[j] = v[j - 1];
          ix[j] = ix[j - 1];
        }
        v[first] = val;
        ix[first] = vi;
      } else linearInsert(i, first);
    }
  };
  introsort(0, n, 2 * Math.floor(Math.log2(n)));
  if (n > 16) {
    insertionSort(0, 16);
    for (let i = 16; i < n; i++) linearInsert(i, 0);
  } else insertionSort(0, n);
}

/**
 * For each row of `x` (`n` values each), the running index of its maximum
 * (`max`) or minimum, as torch.cummax and cummin: a value equal to the one
 * so far takes over (the latest index), and so does a NaN, which then stays
 * until the next NaN.
 */
export function cumArgRows(
  x: TypedArray,
  n: number,
  max: boolean,
  out: Int32Array,
): Int32Array {
  for (let r = 0; r < x.length; r += n) {
    let best = x[r], at = 0;
    for (let i = 0; i < n; i++) {
      const c = x[r + i];
      if (c !== c || (best === best && (max ? c >= best : c <= best))) {
        best = c;
        at = i;
      }
      out[r + i] = at;
    }
  }
  return out;
}
