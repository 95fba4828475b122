/**
 * The primitives autodiff itself needs (as JAX's `ad_util`): cotangents
 * that meet are summed with {@linkcode addAny} (the gradients of many
 * slices of one value with {@linkcode assembleWindows}), and a derivative
 * is converted to its value's dtype with {@linkcode cast} (the primitive of
 * the public `astype`). They live here, below every op family, so that the autodiff
 * modules (ad.ts, transforms.ts) import no family. @internal
 *
 * @module
 */
import {
  allocData,
  type DType,
  fromData,
  sizeOf,
  type Tensor,
  zerosLike,
} from "./tensor.ts";
import * as ew from "./kernels/elementwise.ts";
import * as shp from "./kernels/shape.ts";
import { bind, definePrimitive, type Empty, type Primitive } from "./trace.ts";

/** `u + v` (one function, so the kernel's compiled loop is reused). */
const plus = (u: number, v: number) => u + v;

/**
 * Sum of two values of one shape and dtype (no broadcasting): how the
 * reverse pass accumulates cotangents. Linear: its VJP hands g to both.
 * @internal
 */
export const addAny: Primitive<Empty> = definePrimitive({
  name: "addAny",
  forward: ([a, b]) => {
    const n = a.data.length;
    const fast = ew.arithF32("add", a.data, b.data, n);
    if (fast) return fromData(fast, a.shape);
    const out = allocData(a.dtype, n);
    return fromData(
      ew.binary(
        a.data,
        a.shape,
        b.data,
        b.shape,
        out,
        a.shape,
        plus,
      ),
      a.shape,
    );
  },
  scalar: plus, // (jit fuses it as add)
  simd: "add",
  vjp: () => [(g) => g, (g) => g],
  batch: ([a, b], [da, db]) => {
    if (da === db) return [bind(addAny, [a, b], {}), da];
    const size = da === null ? b.shape[db!] : a.shape[da];
    return [
      bind(addAny, [batchFront(a, da, size), batchFront(b, db, size)], {}),
      0,
    ];
  },
  jvp: (_, [ta, tb]) => ta && tb ? bind(addAny, [ta, tb], {}) : (ta ?? tb)!,
});

/**
 * Conversion to another dtype: truncation toward zero into int32, where
 * NaN, ±Infinity and out-of-range values give INT_MIN, as x86's cvttsd2si
 * (and so PyTorch) does. Its derivative converts back. @internal
 */
export const castPrim: Primitive<{ dtype: DType }> = definePrimitive({
  name: "cast",
  forward: ([x], { dtype }) => {
    const out = allocData(dtype, x.data.length);
    if (dtype === "int32") {
      const d = x.data;
      for (let i = 0; i < out.length; i++) {
        const v = d[i];
        out[i] = v > -2147483649 && v < 2147483648 ? v : -2147483648;
      }
    } else out.set(x.data);
    return fromData(out, x.shape);
  },
  // to a float dtype each element is the value itself, rounded to it (jit
  // fuses only float results)
  scalar: (v) => v,
  vjp: ([x]) => [(g) => cast(g, x.dtype)],
  jvp: "linear",
  batch: ([x], [d], params) => [bind(castPrim, [x], params), d],
});

/** `x` converted to `dtype` (itself when it has that dtype already). @internal */
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind(castPrim, [x], { dtype });
}

let batchFront: (x: Tensor, d: number | null, size: number) => Tensor = () => {
  throw new Error("internal error: vmap's axis mover is not installed");
};

/**
 * Gives addAny's batching rule (values batched along different axes) the one
 * structural op it needs: move axis `d` of `x` to the front, or broadcast an
 * unbatched `x` along a new front axis of `size`. ops/structural.ts installs
 * it when it loads; every batched value comes from vmap, which imports it,
 * so none exists before. @internal
 */
export function installBatchFront(
  f: (x: Tensor, d: number | null, size: number) => Tensor,
): void {
  batchFront = f;
}

let sliceOp: (x: Tensor, starts: number[], ends: number[]) => Tensor = () => {
  throw new Error("internal error: slice is not installed");
};
/** structural.ts gives `assembleWindows`'s VJP the slice op. @internal */
export function installSlice(
  f: (x: Tensor, starts: number[], ends: number[]) => Tensor,
): void {
  sliceOp = f;
}

/** `assembleWindows`' parameters: the whole value's shape, each part's starts. */
interface WindowParams {
  shape: number[];
  starts: number[][];
}

/**
 * Disjoint windows of a value of `shape`, zeros elsewhere: part i at
 * `starts[i]`. How the reverse pass sums the gradients of many slices of
 * one value (each a window of it) in one pass. Linear: part i's cotangent
 * is g's window. @internal
 */
export const assembleWindows: Primitive<WindowParams> = definePrimitive({
  name: "assembleWindows",
  forward: (parts, { shape, starts }) => {
    const out = allocData(parts[0].dtype, sizeOf(shape));
    parts.forEach((p, i) =>
      shp.copyBox(p.data, shape, starts[i], p.shape, out, true)
    );
    return fromData(out, shape);
  },
  vjp: (parts, _out, { starts }) =>
    parts.map((p, i) => (g: Tensor) =>
      sliceOp(g, starts[i], starts[i].map((s, k) => s + p.shape[k]))
    ),
  jvp: (parts, tangents, _out, params) =>
    bind(
      assembleWindows,
      parts.map((p, i) => tangents[i] ?? zerosLike(p)),
      params,
    ),
  batch: (parts, dims, { shape, starts }) => {
    const i = dims.findIndex((d) => d !== null);
    const size = parts[i].shape[dims[i]!];
    return [
      bind(
        assembleWindows,
        parts.map((p, k) => batchFront(p, dims[k], size)),
        { shape: [size, ...shape], starts: starts.map((s) => [0, ...s]) },
      ),
      0,
    ];
  },
});
