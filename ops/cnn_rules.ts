/**
 * CNN primitives: forward kernel calls and VJP rules side by side.
 *
 * Convolution is three primitives that are each other's adjoints, as in JAX:
 * `conv2d(x, w)`, its transpose in x `conv2dInputAdjoint(y, w)` (a transposed
 * convolution: the input VJP, and the public `convTranspose2d`), and its
 * transpose in w `conv2dWeightAdjoint(x, y)` (the weight VJP). Each one's VJP
 * is written with the other two, so every order of derivative works.
 *
 * Max pooling is `maxPool2d` with `maxPool2dScatter` (route g to each
 * window's first maximum, as PyTorch) and `maxPool2dGather` (read a tensor at
 * those maxima); the last two are linear in their first input and transpose
 * each other. Average pooling is `avgPool2d` and its transpose.
 *
 * @module
 */
import { allocData, fromData, type Tensor } from "./tensor.ts";
import { differentiating, type Rule } from "./trace.ts";
import * as cv from "./kernels/conv.ts";
import * as pk from "./kernels/pool.ts";
import { gemm, linearF32 } from "./kernels/matmul.ts";
import { bind, type Params, promote } from "./primitives.ts";
import {
  add,
  broadcastTo,
  matmul,
  reshape,
  slice,
  sum,
  transpose,
} from "./ops.ts";

/** Geometry shared by the three convolution primitives. */
export interface ConvParams {
  stride: [number, number];
  /** top, bottom, left, right */
  padding: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/** Geometry of a pooling window. */
export interface PoolParams {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

/** Average pooling's divisor settings. */
export interface AvgParams extends PoolParams {
  countIncludePad: boolean;
  divisorOverride: number | null;
}

/** The static parameters of each CNN primitive. */
export interface CnnParams {
  conv2d: ConvParams;
  conv2dInputAdjoint: ConvParams & { inputSize: [number, number] };
  conv2dWeightAdjoint: ConvParams & { kernelSize: [number, number] };
  maxPool2d: PoolParams;
  maxPool2dScatter: PoolParams;
  maxPool2dGather: PoolParams;
  avgPool2d: AvgParams;
  avgPool2dAdjoint: AvgParams & { inputSize: [number, number] };
  linear: Record<never, never>;
}

/**
 * Output length of a convolution or pooling along one axis:
 * floor((size + padTotal - dilation·(kernel - 1) - 1) / stride) + 1, and with
 * ceilMode PyTorch's rule (ceil, but the last window must start inside the
 * input or the left padding).
 */
export function outputLength(
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = size + padBefore + padAfter - dilation * (kernel - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) +
    1;
  if (ceilMode && (out - 1) * stride >= size + padBefore) out--;
  return out;
}

function convGeometry(
  x: readonly number[],
  o: number,
  k: [number, number],
  out: [number, number],
  p: ConvParams,
): cv.ConvGeometry {
  return {
    n: x[0],
    c: x[1],
    h: x[2],
    w: x[3],
    o,
    kh: k[0],
    kw: k[1],
    oh: out[0],
    ow: out[1],
    sh: p.stride[0],
    sw: p.stride[1],
    pt: p.padding[0],
    pl: p.padding[2],
    dh: p.dilation[0],
    dw: p.dilation[1],
    groups: p.groups,
  };
}

/** Output `[H, W]` of a convolution of x `[N, C, H, W]` with weight `[O, I, kH, kW]`. */
export function convOutSize(
  x: readonly number[],
  k: readonly number[],
  p: ConvParams,
): [number, number] {
  const axis = (a: number) =>
    outputLength(
      x[2 + a],
      k[2 + a],
      p.stride[a],
      p.padding[2 * a], // top / left
      p.padding[2 * a + 1], // bottom / right
      p.dilation[a],
    );
  return [axis(0), axis(1)];
}

/** Output `[H, W]` of pooling an input of spatial size `hw`. */
export function poolOutSize(
  hw: readonly [number, number],
  p: PoolParams,
): [number, number] {
  const axis = (a: number) =>
    outputLength(
      hw[a],
      p.kernelSize[a],
      p.stride[a],
      p.padding[a],
      p.padding[a],
      p.dilation[a],
      p.ceilMode,
    );
  return [axis(0), axis(1)];
}

function poolGeometry(
  x: readonly number[],
  p: PoolParams,
  inputSize?: [number, number],
): pk.PoolGeometry {
  const [h, w] = inputSize ?? [x[2], x[3]];
  const [oh, ow] = poolOutSize([h, w], p);
  return {
    planes: x[0] * x[1],
    h,
    w,
    oh,
    ow,
    kh: p.kernelSize[0],
    kw: p.kernelSize[1],
    sh: p.stride[0],
    sw: p.stride[1],
    ph: p.padding[0],
    pw: p.padding[1],
    dh: p.dilation[0],
    dw: p.dilation[1],
  };
}

/** conv2d whose output is cropped to `size` (an adjoint's VJP may ask for fewer rows than conv2d gives). */
function convCropped(
  x: Tensor,
  w: Tensor,
  p: ConvParams,
  size: readonly number[],
): Tensor {
  const y = bind("conv2d", [x, w], p);
  if (y.shape[2] === size[0] && y.shape[3] === size[1]) return y;
  return slice(y, [0, 0, 0, 0], [y.shape[0], y.shape[1], size[0], size[1]]);
}

/** JVP of a primitive bilinear in its first two inputs (plus an optional additive bias). */
function bilinearJvp<
  P extends "conv2d" | "conv2dInputAdjoint" | "conv2dWeightAdjoint" | "linear",
>(name: P) {
  return (
    inputs: Tensor[],
    [ta, tb, tc]: (Tensor | null)[],
    out: Tensor,
    params: CnnParams[P],
  ): Tensor => {
    const [a, b] = inputs;
    const terms: Tensor[] = [];
    if (ta) terms.push(bind(name, [ta, b], params as Params[P]));
    if (tb) terms.push(bind(name, [a, tb], params as Params[P]));
    if (tc) {
      terms.push(
        broadcastTo(
          reshape(tc, name === "linear" ? [tc.shape[0]] : [tc.shape[0], 1, 1]),
          out.shape,
        ),
      );
    }
    return terms.reduce((s, t) => add(s, t));
  };
}

const sumToBias = (g: Tensor) => sum(g, { axis: [0, 2, 3] });

/** The CNN rows of the primitive table. */
export const cnnRules: { [P in keyof CnnParams]: Rule<CnnParams[P]> } = {
  conv2d: {
    name: "conv2d",
    forward: ([x, w, b], p) => {
      const [oh, ow] = convOutSize(x.shape, w.shape, p);
      const g = convGeometry(x.shape, w.shape[0], [w.shape[2], w.shape[3]], [
        oh,
        ow,
      ], p);
      return fromData(
        cv.conv2dForward(x.data, w.data, b ? b.data : null, g),
        [g.n, g.o, oh, ow],
      );
    },
    vjp: ([x, w, b], _y, p) => [
      (g) =>
        bind("conv2dInputAdjoint", [g, w], {
          ...p,
          inputSize: [x.shape[2], x.shape[3]],
        }), // dx = convᵀ(g, w)
      (g) =>
        bind("conv2dWeightAdjoint", [x, g], {
          ...p,
          kernelSize: [w.shape[2], w.shape[3]],
        }), // dw = conv_wᵀ(x, g)
      ...(b ? [sumToBias] : []), // db = Σ g over n, h, w
    ],
    jvp: bilinearJvp("conv2d"),
  },
  conv2dInputAdjoint: {
    name: "conv2dInputAdjoint",
    forward: ([y, w, b], p) => {
      const c = w.shape[1] * p.groups;
      const g = convGeometry([y.shape[0], c, ...p.inputSize], w.shape[0], [
        w.shape[2],
        w.shape[3],
      ], [
        y.shape[2],
        y.shape[3],
      ], p);
      const out = cv.conv2dInputAdjoint(y.data, w.data, g);
      if (b) {
        const hw = g.h * g.w;
        for (let i = 0; i < out.length; i++) {
          out[i] += b.data[Math.floor(i / hw) % c];
        }
      }
      return fromData(out, [g.n, c, g.h, g.w]);
    },
    vjp: ([y, w, b], _x, p) => [
      (g) => convCropped(g, w, p, [y.shape[2], y.shape[3]]), // the adjoint of the adjoint is conv
      (g) =>
        bind("conv2dWeightAdjoint", [g, y], {
          ...p,
          kernelSize: [w.shape[2], w.shape[3]],
        }),
      ...(b ? [sumToBias] : []),
    ],
    jvp: bilinearJvp("conv2dInputAdjoint"),
  },
  conv2dWeightAdjoint: {
    name: "conv2dWeightAdjoint",
    forward: ([x, y], p) => {
      const g = convGeometry(x.shape, y.shape[1], p.kernelSize, [
        y.shape[2],
        y.shape[3],
      ], p);
      const out = allocData(
        promote(x.dtype, y.dtype),
        g.o * (g.c / g.groups) * g.kh * g.kw,
      );
      return fromData(cv.conv2dWeightAdjoint(x.data, y.data, g, out), [
        g.o,
        g.c / g.groups,
        g.kh,
        g.kw,
      ]);
    },
    vjp: ([x, y], _w, p) => [
      (g) =>
        bind("conv2dInputAdjoint", [y, g], {
          ...p,
          inputSize: [x.shape[2], x.shape[3]],
        }),
      (g) => convCropped(x, g, p, [y.shape[2], y.shape[3]]),
    ],
    jvp: bilinearJvp("conv2dWeightAdjoint"),
  },

  maxPool2d: {
    name: "maxPool2d",
    forward: ([x], p) => {
      const g = poolGeometry(x.shape, p);
      // the argmax is kept only when a backward pass may ask for it
      const y = pk.maxPoolForward(x.data, g, undefined, differentiating());
      return fromData(y, [x.shape[0], x.shape[1], g.oh, g.ow]);
    },
    vjp: ([x], _y, p) => [(g) => bind("maxPool2dScatter", [g, x], p)], // g goes to each window's first max
    jvp: ([x], [t], _y, p) => bind("maxPool2dGather", [t!, x], p),
  },
  maxPool2dScatter: {
    name: "maxPool2dScatter",
    forward: ([gr, x], p) => {
      const g = poolGeometry(x.shape, p);
      return fromData(
        pk.maxPoolScatter(gr.data, pk.maxPoolArgmax(x.data, g), g),
        x.shape,
      );
    },
    vjp: ([, x], _y, p) => [(g) => bind("maxPool2dGather", [g, x], p), null], // linear in g; x only picks positions
    jvp: ([, x], [t], _y, p) => bind("maxPool2dScatter", [t!, x], p),
  },
  maxPool2dGather: {
    name: "maxPool2dGather",
    forward: ([t, x], p) => {
      const g = poolGeometry(x.shape, p);
      const out = allocData(t.dtype, g.planes * g.oh * g.ow);
      return fromData(
        pk.poolGather(t.data, pk.maxPoolArgmax(x.data, g), g, out),
        [x.shape[0], x.shape[1], g.oh, g.ow],
      );
    },
    vjp: ([, x], _y, p) => [(g) => bind("maxPool2dScatter", [g, x], p), null],
    jvp: ([, x], [t], _y, p) => bind("maxPool2dGather", [t!, x], p),
  },

  avgPool2d: {
    name: "avgPool2d",
    forward: ([x], p) => {
      const g = poolGeometry(x.shape, p);
      const out = allocData(x.dtype, g.planes * g.oh * g.ow);
      return fromData(pk.avgPoolForward(x.data, g, p, out), [
        x.shape[0],
        x.shape[1],
        g.oh,
        g.ow,
      ]);
    },
    vjp: (
      [x],
      _y,
      p,
    ) => [
      (g) =>
        bind("avgPool2dAdjoint", [g], {
          ...p,
          inputSize: [x.shape[2], x.shape[3]],
        }),
    ],
    jvp: (_, [t], _y, p) => bind("avgPool2d", [t!], p),
  },
  avgPool2dAdjoint: {
    name: "avgPool2dAdjoint",
    forward: ([y], p) => {
      const g = poolGeometry(y.shape, p, p.inputSize);
      const out = allocData(y.dtype, g.planes * g.h * g.w);
      return fromData(pk.avgPoolAdjoint(y.data, g, p, out), [
        y.shape[0],
        y.shape[1],
        g.h,
        g.w,
      ]);
    },
    vjp: (_, __, { inputSize: _s, ...p }) => [(g) => bind("avgPool2d", [g], p)],
    jvp: (_, [t], _y, p) => bind("avgPool2dAdjoint", [t!], p),
  },

  linear: {
    name: "linear",
    // y = x wᵀ + b over the last axis of x
    forward: ([x, w, b]) => {
      const inF = w.shape[1], outF = w.shape[0];
      const m = x.data.length / inF;
      const shape = [...x.shape.slice(0, -1), outF];
      const y = linearF32(x.data, w.data, b ? b.data : null, m, inF, outF);
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
      return fromData(out, shape);
    },
    vjp: ([x, w, b]) => [
      (g) => matmul(g, w), // dx = g w
      (g) =>
        matmul(
          transpose(reshape(g, [-1, w.shape[0]])),
          reshape(x, [-1, w.shape[1]]),
        ), // dw = gᵀ x
      ...(b
        ? [(g: Tensor) => sum(reshape(g, [-1, w.shape[0]]), { axis: 0 })]
        : []), // db = Σ g
    ],
    jvp: bilinearJvp("linear"),
  },
};
