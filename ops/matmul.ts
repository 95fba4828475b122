/**
 * Matrix products: `matmul` (NumPy's batched, broadcasting semantics) and
 * `linear` (torch.nn.functional.linear, y = x wᵀ + b), one fused primitive
 * whose JVP is bilinear like its VJP.
 *
 * @module
 */
import {
  allocData,
  checkTensor,
  fromData,
  promote,
  sizeOf,
  type Tensor,
} from "./tensor.ts";
import { bind, definePrimitive, type Empty, type Primitive } from "./trace.ts";
import { floatCheck, fmt } from "./_args.ts";
import { bilinearJvp, checkBias } from "./conv.ts";
import { add, broadcastMismatch } from "./elementwise.ts";
import {
  alignBatched,
  batchFront,
  batchSize,
  reshape,
  squeeze,
  sum,
  transpose,
  transposeKernel,
  unbroadcast,
} from "./structural.ts";
import * as ew from "./kernels/elementwise.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";
import {
  gemm,
  linearF32,
  matmul as matmulKernel,
  outerF32,
} from "./kernels/matmul.ts";

/** Swaps the last two axes. */
function mT(x: Tensor): Tensor {
  const n = x.shape.length;
  const perm = [...Array(n).keys()];
  [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
  return transpose(x, perm);
}

/**
 * Matrix product with NumPy's rules: 2-D, batched (batch dims broadcast), and
 * 1-D operands (a vector is promoted to a matrix and the axis removed after).
 *
 * @example
 * ```ts
 * import { matmul, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(matmul(tensor([[1, 2], [3, 4]]), tensor([[5], [6]]))), [[17], [39]]);
 * assert.equal(toArray(matmul(tensor([1, 2]), tensor([3, 4]))), 11);
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const fn = "matmul";
  checkTensor(fn, a, "a");
  checkTensor(fn, b, "b");
  if (a.shape.length === 0 || b.shape.length === 0) {
    throw new Error(
      `${fn}: operands must have at least 1 dim, got a ${fmt(a.shape)} and b ${
        fmt(b.shape)
      }`,
    );
  }
  const av = a.shape.length === 1, bv = b.shape.length === 1;
  const A = av ? reshape(a, [1, a.shape[0]]) : a;
  const B = bv ? reshape(b, [b.shape[0], 1]) : b;
  const k = A.shape[A.shape.length - 1];
  if (B.shape[B.shape.length - 2] !== k) {
    throw new Error(
      `${fn}: a ${fmt(a.shape)} and b ${
        fmt(b.shape)
      } have mismatched inner dimensions ${k} and ${
        B.shape[B.shape.length - 2]
      } (a's axis ${a.shape.length - 1} and b's axis ${
        Math.max(b.shape.length - 2, 0)
      })`,
    );
  }
  const batchA = A.shape.slice(0, -2), batchB = B.shape.slice(0, -2);
  if (!broadcastShapes(batchA, batchB)) {
    throw new Error(
      `${fn}: cannot broadcast the batch dims of a ${fmt(a.shape)} and b ${
        fmt(b.shape)
      } (${broadcastMismatch(batchA, batchB)} of the batch dims)`,
    );
  }
  let y = bind(matmulPrim, [A, B], {});
  if (av) y = squeeze(y, -2);
  if (bv) y = squeeze(y, -1);
  return y;
}

/**
 * The output shape of {@linkcode linear}, with the op's checks and errors,
 * without computing anything. @internal
 */
export function linearShape(
  xShape: readonly number[],
  weightShape: readonly number[],
): number[] {
  const fn = "linear";
  if (weightShape.length !== 2) {
    throw new Error(`${fn}: weight must be [out, in], got ${fmt(weightShape)}`);
  }
  if (xShape.length < 1 || xShape[xShape.length - 1] !== weightShape[1]) {
    throw new Error(
      `${fn}: x has ${
        xShape[xShape.length - 1] ?? "no"
      } features but weight expects ${weightShape[1]} (x ${
        fmt(xShape)
      }, weight ${fmt(weightShape)})`,
    );
  }
  return [...xShape.slice(0, -1), weightShape[0]];
}

/**
 * Fully connected layer `x · weightᵀ + bias` over the last axis of x (any
 * number of leading axes), weight `[out, in]`, as `torch.nn.functional.linear`.
 *
 * @example
 * ```ts
 * import { linear, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const y = linear(tensor([[1, 2]]), tensor([[1, 0], [1, 1], [0, 2]]), tensor([0, 0, 1]));
 * assert.deepEqual(toArray(y), [[1, 3, 5]]);
 * ```
 */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
): Tensor {
  const fn = "linear";
  checkTensor(fn, x, "x");
  checkTensor(fn, weight, "weight");
  floatCheck(fn, "x", x);
  floatCheck(fn, "weight", weight);
  linearShape(x.shape, weight.shape);
  const b = checkBias(fn, bias, weight.shape[0]);
  return bind(linearPrim, b ? [x, weight, b] : [x, weight], {});
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

/** matmul's forward kernel (NumPy's batched, broadcasting product). */
function matmulForward([a, b]: Tensor[]): Tensor {
  const m = a.shape[a.shape.length - 2], k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  const batchShape = ew.broadcastShapes(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  )!;
  const batch = sizeOf(batchShape);
  const dtype = promote(a.dtype, b.dtype);
  // broadcast batch dims by materialising (cheap next to the product)
  const full = (x: Tensor, r: number, c: number) =>
    sizeOf(x.shape.slice(0, -2)) === batch
      ? { data: x.data, step: r * c }
      : sizeOf(x.shape.slice(0, -2)) === 1
      ? { data: x.data, step: 0 }
      : {
        data: ew.broadcastTo(
          x.data,
          x.shape,
          allocData(x.dtype, batch * r * c),
          [...batchShape, r, c],
        ),
        step: r * c,
      };
  const A = full(a, m, k), B = full(b, k, n);
  if (
    k === 1 && A.data instanceof Float32Array &&
    B.data instanceof Float32Array
  ) {
    // outer products (per-example weight gradients under vmap): one
    // product per entry, as the GEMM computes it
    return fromData(
      outerF32(A.data, B.data, batch, m, n, A.step, B.step),
      [...batchShape, m, n],
    );
  }
  // a new array from the kernel when it has the right type (no zero-fill)
  const out = A.data instanceof Int32Array || B.data instanceof Int32Array
    ? allocData(dtype, batch * m * n)
    : null;
  return fromData(
    matmulKernel(A.data, B.data, out, batch, m, k, n, A.step, B.step),
    [...batchShape, m, n],
  );
}

const matmulPrim: Primitive<Empty> = definePrimitive({
  name: "matmul",
  forward: matmulForward,
  // a transpose of a float32 matrix that only this product reads (linear's
  // weight gradient gᵀx, matmul's Aᵀg) is read in place through the GEMM's
  // strides: the same sums, no transposed copy (jit's fused prologue)
  prologue: {
    transpose: ([x], params, [b]) => {
      const { perm } = params as { perm: readonly number[] };
      if (
        x.shape.length === 2 && perm[0] === 1 && b.shape.length === 2 &&
        x.shape[0] > 1 && x.data instanceof Float32Array &&
        b.data instanceof Float32Array
      ) {
        const [k, m] = x.shape, n = b.shape[1];
        return fromData(
          matmulKernel(x.data, b.data, null, 1, m, k, n, m * k, k * n, true),
          [m, n],
        );
      }
      return matmulForward([transposeKernel(x, perm), b]);
    },
  },
  vjp: ([a, b]) => [
    (g) => unbroadcast(matmul(g, mT(b)), a.shape), // dA = G Bᵀ
    (g) => unbroadcast(matmul(mT(a), g), b.shape), // dB = Aᵀ G
  ],
  batch: ([a, b], [da, db]) => {
    if (db === null && b.shape.length === 2) {
      // a shared matrix b: every example's rows of a are rows of one product
      const af = batchFront(a, da, 0);
      const k = af.shape[af.shape.length - 1];
      const y = bind(
        matmulPrim,
        [reshape(af, [sizeOf(af.shape.slice(0, -1)), k]), b],
        {},
      );
      return [reshape(y, [...af.shape.slice(0, -1), b.shape[1]]), 0];
    }
    // else the batch axis joins the batch dims, in front of both operands' own
    return [bind(matmulPrim, alignBatched([a, b], [da, db]), {}), 0];
  },
});

/** linear's forward kernel: y = x wᵀ + b over the last axis of x, then relu when `relu` is set. */
function linearKernel([x, w, b]: Tensor[], relu: boolean): Tensor {
  const inF = w.shape[1], outF = w.shape[0];
  const m = sizeOf(x.shape.slice(0, -1)); // (x's rows: in or out may be 0)
  const shape = [...x.shape.slice(0, -1), outF];
  const y = linearF32(x.data, w.data, b ? b.data : null, m, inF, outF, relu);
  if (y) return fromData(y, shape);
  const acc = new Float64Array(m * outF);
  gemm(x.data, 0, w.data, 0, acc, 0, m, inF, outF, "nt");
  const out = allocData(
    promote(promote(x.dtype, w.dtype), b ? b.dtype : x.dtype),
    m * outF,
  );
  for (let i = 0; i < acc.length; i++) {
    out[i] = acc[i] + (b ? b.data[i % outF] : 0);
  }
  return fromData(relu ? ew.relu(out) : out, shape);
}

const linearPrim: Primitive<Record<never, never>> = definePrimitive({
  name: "linear",
  forward: (ins) => linearKernel(ins, false),
  // relu after it runs on its result in place (jit's fused epilogue)
  epilogue: { relu: (ins) => linearKernel(ins, true) },
  vjp: ([x, w, b]) => {
    // x's rows as one axis (counted, not -1: in or out features may be 0)
    const m = sizeOf(x.shape.slice(0, -1));
    const rows = (t: Tensor) => reshape(t, [m, t.shape[t.shape.length - 1]]);
    return [
      (g) => matmul(g, w), // dx = g w
      (g) => matmul(transpose(rows(g)), rows(x)), // dw = gᵀ x
      ...(b ? [(g: Tensor) => sum(rows(g), { axis: 0 })] : []), // db = Σ g
    ];
  },
  jvp: bilinearJvp(() => linearPrim, false),
  batch: ([x, w, b], [dx, dw, db]) => {
    if (dw === null && (db ?? null) === null) { // shared weights: x's batch axis leads
      const xf = batchFront(x, dx, 0);
      return [bind(linearPrim, b ? [xf, w, b] : [xf, w], {}), 0];
    }
    // weights per example: [B, M, in] x [B, in, out] as one batched matmul
    const size = batchSize([x, w, ...(b ? [b] : [])], [dx, dw, db ?? null]);
    const wf = batchFront(w, dw, size); // [B, out, in]
    const inF = wf.shape[2];
    const xf = dx === null ? x : batchFront(x, dx, 0);
    const lead = xf.shape.slice(dx === null ? 0 : 1, -1);
    const m = sizeOf(lead);
    const x3 = reshape(xf, [dx === null ? 1 : size, m, inF]);
    let y = matmul(x3, transpose(wf, [0, 2, 1]));
    const outF = wf.shape[1];
    if (b) {
      y = add(y, reshape(batchFront(b, db ?? null, size), [size, 1, outF]));
    }
    return [reshape(y, [size, ...lead, outF]), 0];
  },
});

// ---------------------------------------------------------------------------
// the public ops
