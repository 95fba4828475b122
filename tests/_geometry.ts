/**
 * Geometries for the kernel geometry tests (`kernel_geometry_test.ts`):
 * fast-check arbitraries for convolutions and poolings well outside LeNet's
 * (kernels up to the padded input, large paddings and dilations, strides
 * larger than the kernel, 1-pixel images, many channels), kept within a
 * memory and work budget; PyTorch's output-size rules and closed forms,
 * written here independently of the library; and the comparisons.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ConvGeometry } from "../ops/kernels/conv.ts";
import type { PoolGeometry } from "../ops/kernels/pool.ts";
import {
  runtime,
  setRuntime,
  WasmRuntime,
} from "../ops/kernels/wasm/runtime.ts";

/** Most elements of any one array (x, y, w, a gradient) in a drawn case. */
export const MAX_ELEMENTS = 1 << 20;
/** Most multiply-adds of one convolution in a drawn case (the float64 reference runs them too). */
export const MAX_MACS = 1 << 22;
/** Most numbers of one image's im2col matrix (the reference's scratch). */
export const MAX_COLS = 1 << 22;
/** float32 max pooling runs in WebAssembly from this many outputs (`WASM_MIN_OUTPUTS` in pool.ts). */
export const POOL_WASM_OUTPUTS = 256;

/**
 * Output length along one axis, as PyTorch (`pooling_output_shape` /
 * conv): floor (or ceil) of (size + pads - dilation·(kernel - 1) - 1) /
 * stride, + 1; in ceil mode one less when the last window would start at
 * or past the end of the input and its left padding.
 */
export function outLength(
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
  ceil = false,
): number {
  const span = size + padBefore + padAfter - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceil ? stride - 1 : 0)) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + padBefore) out--;
  return out;
}

/**
 * How many taps of the window of output `o` lie inside an input of `size`
 * (window start o·stride - pad, taps every `dilation`, `kernel` of them):
 * for all-ones x and weight, each conv2d output is the product of this
 * count over the two axes (times the input channels per group).
 */
export function tapsInside(
  o: number,
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
): number {
  const start = o * stride - pad;
  // first tap i with start + i·d >= 0, last with start + i·d <= size - 1
  const lo = Math.max(0, Math.ceil(-start / dilation));
  const hi = Math.min(kernel - 1, Math.floor((size - 1 - start) / dilation));
  return Math.max(0, hi - lo + 1);
}

/**
 * An integer from one of these ranges, the first the likeliest (weights 3,
 * 2, 2...): common sizes often, the whole range still.
 */
function mix(...ranges: [number, number][]): fc.Arbitrary<number> {
  return fc.oneof(
    ...ranges.map(([min, max], i) => ({
      weight: i === 0 ? 3 : 2,
      arbitrary: fc.integer({ min, max }),
    })),
  );
}

/** A drawn window, per axis (h, w): kernel, stride, dilation, padding. */
interface WindowDraw {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  ph: number;
  pw: number;
}

/**
 * The window fields of a record of draws: each arbitrary drawn for both
 * axes (kh and kw from `k`...), in the order of {@linkcode WindowDraw}.
 */
function windowDraw(
  k: fc.Arbitrary<number>,
  s: fc.Arbitrary<number>,
  d: fc.Arbitrary<number>,
  p: fc.Arbitrary<number>,
): { [F in keyof WindowDraw]: fc.Arbitrary<number> } {
  return { kh: k, kw: k, sh: s, sw: s, dh: d, dw: d, ph: p, pw: p };
}

// ---------------------------------------------------------------------------
// convolutions

/** A drawn convolution: the fields as fast-check draws them (it shrinks these). */
export interface ConvDraw extends WindowDraw {
  /** conv2d (false), or convTranspose2d (true: h, w are then its input's size). */
  transposed: boolean;
  n: number;
  groups: number;
  /** Channels per group: x's (conv2d's input, convTranspose2d's output) and y's. */
  cg: number;
  og: number;
  h: number;
  w: number;
  /** convTranspose2d's outputPadding (clamped below max(stride, dilation)). */
  oph: number;
  opw: number;
  bias: boolean;
  seed: number;
}

/** The drawn fields (see {@linkcode ConvDraw}); sizes are clamped in {@linkcode convCase}. */
export const convDraw: fc.Arbitrary<ConvDraw> = fc.record({
  transposed: fc.boolean(),
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 4 }),
  cg: mix([1, 4], [1, 16]),
  og: mix([1, 4], [1, 16]),
  h: fc.integer({ min: 1, max: 40 }),
  w: fc.integer({ min: 1, max: 40 }),
  ...windowDraw(
    mix([1, 5], [1, 48]),
    mix([1, 1], [1, 3], [1, 12]),
    mix([1, 1], [1, 4]),
    mix([0, 0], [0, 3], [0, 80]),
  ),
  oph: fc.integer({ min: 0, max: 11 }),
  opw: fc.integer({ min: 0, max: 11 }),
  bias: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1 << 20 }),
});

/** One axis of a convolution: input size, kernel, output size, stride, padding, dilation (and outputPadding). */
interface ConvAxis {
  size: number;
  k: number;
  out: number;
  s: number;
  p: number;
  d: number;
  op: number;
}

/**
 * One axis, clamped: conv2d — padding at most 2× the input, kernel (with
 * dilation) at most the padded input; convTranspose2d (`size` is its input,
 * the conv's output) — outputPadding below max(stride, dilation), padding at
 * most what leaves an output of 1. With `clamp` false the kernel and
 * padding are left as drawn (the output may be empty).
 */
function convAxis(
  transposed: boolean,
  size: number,
  k: number,
  s: number,
  d: number,
  p: number,
  op: number,
  clamp = true,
): ConvAxis {
  if (!transposed) {
    if (clamp) {
      p = Math.min(p, 2 * size);
      k = Math.min(k, Math.floor((size + 2 * p - 1) / d) + 1);
    }
    return { size, k, out: outLength(size, k, s, p, p, d), s, p, d, op: 0 };
  }
  op = Math.min(op, Math.max(s, d) - 1);
  const full = (size - 1) * s + d * (k - 1) + op + 1;
  if (clamp) p = Math.min(p, Math.floor((full - 1) / 2));
  return { size: full - 2 * p, k, out: size, s, p, d, op };
}

/** A drawn convolution made concrete: the kernels' geometry and the public op's shapes and options. */
export interface ConvCase {
  draw: ConvDraw;
  /** The kernels' geometry (for convTranspose2d: that of the conv it transposes). */
  g: ConvGeometry;
  /** The public op's x and weight shapes and options. */
  xShape: number[];
  wShape: number[];
  options: {
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    groups: number;
    outputPadding?: [number, number];
  };
  /** The public op's output shape (PyTorch's rule), or null when empty. */
  outShape: number[] | null;
}

/**
 * The case of a draw, or null when it does not fit the budget even with one
 * image and one channel per group. Channel counts (then the batch) are
 * halved until every array, the im2col matrix and the work fit. With
 * `clamp` false, kernel and padding stay as drawn (for the public op's
 * error on an empty output).
 */
export function convCase(r: ConvDraw, clamp = true): ConvCase | null {
  const ah = convAxis(r.transposed, r.h, r.kh, r.sh, r.dh, r.ph, r.oph, clamp);
  const aw = convAxis(r.transposed, r.w, r.kw, r.sw, r.dw, r.pw, r.opw, clamp);
  let { n, cg, og } = r;
  const empty = ah.out < 1 || aw.out < 1 || ah.size < 1 || aw.size < 1;
  if (!empty) {
    const cost = () => {
      const x = n * cg * r.groups * ah.size * aw.size;
      const y = n * og * r.groups * ah.out * aw.out;
      const wt = og * r.groups * cg * ah.k * aw.k;
      const cols = cg * ah.k * aw.k * ah.out * aw.out;
      const macs = y * cg * ah.k * aw.k;
      return Math.max(
        x / MAX_ELEMENTS,
        y / MAX_ELEMENTS,
        wt / MAX_ELEMENTS,
        cols / MAX_COLS,
        macs / MAX_MACS,
      );
    };
    while (cost() > 1 && (cg > 1 || og > 1 || n > 1)) {
      if (og >= cg && og > 1) og = Math.ceil(og / 2);
      else if (cg > 1) cg = Math.ceil(cg / 2);
      else n--;
    }
    if (cost() > 1) return null;
  }
  const c = cg * r.groups, o = og * r.groups;
  const g: ConvGeometry = {
    n,
    c,
    h: ah.size,
    w: aw.size,
    o,
    kh: ah.k,
    kw: aw.k,
    oh: ah.out,
    ow: aw.out,
    sh: r.sh,
    sw: r.sw,
    pt: ah.p,
    pl: aw.p,
    dh: r.dh,
    dw: r.dw,
    groups: r.groups,
  };
  const options = {
    stride: [r.sh, r.sw] as [number, number],
    padding: [ah.p, aw.p] as [number, number],
    dilation: [r.dh, r.dw] as [number, number],
    groups: r.groups,
    ...(r.transposed
      ? { outputPadding: [ah.op, aw.op] as [number, number] }
      : {}),
  };
  return r.transposed
    ? {
      draw: { ...r, n, cg, og },
      g,
      xShape: [n, o, ah.out, aw.out],
      wShape: [o, cg, ah.k, aw.k],
      options,
      outShape: empty ? null : [n, c, ah.size, aw.size],
    }
    : {
      draw: { ...r, n, cg, og },
      g,
      xShape: [n, c, ah.size, aw.size],
      wShape: [o, cg, ah.k, aw.k],
      options,
      outShape: empty ? null : [n, o, ah.out, aw.out],
    };
}

/**
 * A conv2d drawn with padding far beyond the input (up to 1500 on a few
 * pixels) and strides up to 200: the kernels pad x, so their copy is far
 * larger than x or y. The stride is raised until the output has at most
 * 2^16 pixels.
 */
export const farPadDraw: fc.Arbitrary<ConvDraw> = fc.record({
  transposed: fc.constant(false),
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 2 }),
  og: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 6 }),
  w: fc.integer({ min: 1, max: 6 }),
  ...windowDraw(
    fc.integer({ min: 1, max: 5 }),
    mix([1, 20], [1, 200]),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 0, max: 1500 }),
  ),
  oph: fc.constant(0),
  opw: fc.constant(0),
  bias: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1 << 20 }),
});

/** The case of a {@linkcode farPadDraw} (no budget halving: the draw keeps it small). */
export function farPadCase(r: ConvDraw): ConvCase {
  const raise = (size: number, p: number, s: number) =>
    Math.max(s, Math.ceil((size + 2 * p) / 256));
  const sh = raise(r.h, r.ph, r.sh), sw = raise(r.w, r.pw, r.sw);
  const cc = convCase({ ...r, sh, sw, transposed: false }, false)!;
  if (cc.outShape) return cc;
  // a kernel longer than the padded input (a few pixels, dilation 3): clamp
  return convCase({ ...r, sh, sw, transposed: false })!;
}

/** A short description of a convolution case, for messages. */
export function describeConv(cc: ConvCase): string {
  const op = cc.draw.transposed ? "convTranspose2d" : "conv2d";
  return `${op}(x [${cc.xShape}], weight [${cc.wShape}], ${
    cc.draw.bias ? `bias [${cc.draw.transposed ? cc.g.c : cc.g.o}]` : "null"
  }, ${JSON.stringify(cc.options)}); kernel geometry ${JSON.stringify(cc.g)}`;
}

// ---------------------------------------------------------------------------
// pooling

/**
 * A drawn pooling (as fast-check draws it). Stride 0 is the default stride
 * (the kernel); the dilation is max pooling's only (avgPool2d has none).
 */
export interface PoolDraw extends WindowDraw {
  n: number;
  c: number;
  h: number;
  w: number;
  ceilMode: boolean;
  countIncludePad: boolean;
  divisorOverride: number | null;
  /** Overrides the window: 2×2, stride 2, no padding or dilation (max pooling's SIMD kernel). */
  plain2x2: boolean;
  /** Ties and NaN in x (max pooling). */
  ties: boolean;
  nan: boolean;
  seed: number;
}

/** The drawn fields (see {@linkcode PoolDraw}); clamped in {@linkcode poolCase}. */
export const poolDraw: fc.Arbitrary<PoolDraw> = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: mix([1, 64], [64, 512]),
  h: fc.integer({ min: 1, max: 40 }),
  w: fc.integer({ min: 1, max: 40 }),
  ...windowDraw(
    mix([1, 4], [1, 40]),
    mix([0, 0], [1, 3], [1, 12]),
    mix([1, 1], [1, 4]),
    mix([0, 0], [0, 20]),
  ),
  ceilMode: fc.boolean(),
  countIncludePad: fc.boolean(),
  divisorOverride: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 9 }) },
  ),
  plain2x2: fc.oneof(
    { weight: 5, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  ties: fc.boolean(),
  nan: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1 << 20 }),
});

/** A drawn pooling made concrete. */
export interface PoolCase {
  draw: PoolDraw;
  kind: "max" | "avg";
  g: PoolGeometry;
  xShape: number[];
  /** The public op's options (only ones it accepts: padding at most half the kernel). */
  options: {
    kernelSize: [number, number];
    stride?: [number, number];
    padding: [number, number];
    dilation?: [number, number];
    ceilMode: boolean;
    countIncludePad?: boolean;
    divisorOverride?: number | null;
  };
  /** Output shape (PyTorch's rule), or null when empty. */
  outShape: number[] | null;
}

/**
 * One pooling axis, clamped: padding at most half the kernel (the public
 * op's rule, as PyTorch), the kernel (with dilation) at most the padded
 * input (with `clamp`).
 */
function poolAxis(
  size: number,
  k: number,
  p: number,
  d: number,
  clamp: boolean,
): { k: number; p: number } {
  p = Math.min(p, Math.floor(k / 2));
  while (clamp && k > 1 && d * (k - 1) + 1 > size + 2 * p) {
    k--;
    p = Math.min(p, Math.floor(k / 2));
  }
  return { k, p };
}

/**
 * The case of a draw, or null when over budget. `minOutputs`: channels are
 * raised until there are that many outputs (so float32 max pooling takes
 * the WebAssembly path), then lowered while over budget.
 */
export function poolCase(
  r: PoolDraw,
  kind: "max" | "avg",
  clamp = true,
  minOutputs = 0,
): PoolCase | null {
  if (r.plain2x2) {
    const two = { kh: 2, kw: 2, sh: 0, sw: 0, dh: 1, dw: 1, ph: 0, pw: 0 };
    r = { ...r, ...two };
  }
  const dh = kind === "max" ? r.dh : 1, dw = kind === "max" ? r.dw : 1;
  const ah = poolAxis(r.h, r.kh, r.ph, dh, clamp);
  const aw = poolAxis(r.w, r.kw, r.pw, dw, clamp);
  const sh = r.sh || ah.k, sw = r.sw || aw.k;
  const oh = outLength(r.h, ah.k, sh, ah.p, ah.p, dh, r.ceilMode);
  const ow = outLength(r.w, aw.k, sw, aw.p, aw.p, dw, r.ceilMode);
  let { n, c } = r;
  const empty = oh < 1 || ow < 1;
  if (!empty) {
    if (n * c * oh * ow < minOutputs) c = Math.ceil(minOutputs / (n * oh * ow));
    const over = () =>
      n * c * Math.max(r.h * r.w, oh * ow) > MAX_ELEMENTS ||
      n * c * oh * ow * ah.k * aw.k > MAX_MACS;
    while (over() && c > 1) c = Math.ceil(c / 2);
    if (over()) return null;
  }
  const options: PoolCase["options"] = {
    kernelSize: [ah.k, aw.k],
    ...(r.sh || r.sw ? { stride: [sh, sw] as [number, number] } : {}),
    padding: [ah.p, aw.p],
    ...(kind === "max" ? { dilation: [dh, dw] as [number, number] } : {}),
    ceilMode: r.ceilMode,
    ...(kind === "avg"
      ? {
        countIncludePad: r.countIncludePad,
        divisorOverride: r.divisorOverride,
      }
      : {}),
  };
  return {
    draw: { ...r, n, c },
    kind,
    g: {
      planes: n * c,
      h: r.h,
      w: r.w,
      oh,
      ow,
      kh: ah.k,
      kw: aw.k,
      sh,
      sw,
      ph: ah.p,
      pw: aw.p,
      dh,
      dw,
    },
    xShape: [n, c, r.h, r.w],
    options,
    outShape: empty ? null : [n, c, oh, ow],
  };
}

/** A short description of a pooling case, for messages. */
export function describePool(pc: PoolCase): string {
  return `${pc.kind}Pool2d(x [${pc.xShape}], ${
    JSON.stringify(pc.options)
  }); kernel geometry ${JSON.stringify(pc.g)}`;
}

/**
 * Average pooling as PyTorch's `avg_pool2d` (float64), written here from its
 * definition: window [oy·s - p, oy·s - p + k) clipped to the padded input
 * [-p, size + p) gives the countIncludePad divisor, clipped to the input
 * the summed part and the other divisor. With `adjoint`, the transpose
 * (spreads y over the windows).
 */
export function avgPoolRef(
  src: ArrayLike<number>,
  pc: PoolCase,
  adjoint = false,
): Float64Array {
  const g = pc.g, o = pc.options;
  const out = new Float64Array(
    adjoint ? g.planes * g.h * g.w : g.planes * g.oh * g.ow,
  );
  for (let pl = 0; pl < g.planes; pl++) {
    for (let oy = 0; oy < g.oh; oy++) {
      const y0 = oy * g.sh - g.ph, y1 = Math.min(y0 + g.kh, g.h + g.ph);
      for (let ox = 0; ox < g.ow; ox++) {
        const x0 = ox * g.sw - g.pw, x1 = Math.min(x0 + g.kw, g.w + g.pw);
        const ys = Math.max(y0, 0), ye = Math.min(y1, g.h);
        const xs = Math.max(x0, 0), xe = Math.min(x1, g.w);
        const div = o.divisorOverride ??
          (o.countIncludePad ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs));
        const k = (pl * g.oh + oy) * g.ow + ox;
        for (let y = ys; y < ye; y++) {
          for (let x = xs; x < xe; x++) {
            const i = (pl * g.h + y) * g.w + x;
            if (adjoint) out[i] += src[k] / div;
            else out[k] += src[i] / div;
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// comparisons and runtimes

/** The largest |v| (NaN ignored). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * Asserts |got - want| <= atol + rtol·|want| with float32 tolerances for a
 * sum of `k` terms: atol = 1e-5·sqrt(k)·max|want|, rtol 1e-4. Names the
 * worst index.
 */
export function assertF32Close(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  k: number,
  msg: string,
): void {
  assert.equal(got.length, want.length, `${msg}: length`);
  const atol = 1e-5 * Math.sqrt(Math.max(k, 1)) * Math.max(maxAbs(want), 1e-6);
  const rtol = 1e-4;
  let worst = -1, worstErr = -1;
  for (let i = 0; i < got.length; i++) {
    const a = got[i], e = want[i];
    if (a === e || (a !== a && e !== e)) continue;
    const err = Math.abs(a - e);
    if (!(err <= atol + rtol * Math.abs(e)) && !(err <= worstErr)) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${msg}: not close at flat index ${worst} of ${got.length}: ${
        got[worst]
      } vs expected ${
        want[worst]
      } (|diff| ${worstErr}, atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Asserts two float32 arrays are bit for bit the same (compares the Uint32 views); names the first difference. */
export function assertBits(a: Float32Array, b: Float32Array, msg: string) {
  assert.equal(a.length, b.length, `${msg}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let first = -1, count = 0;
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first >= 0) {
    assert.fail(
      `${msg}: ${count} of ${a.length} elements differ; first at ${first}: ${
        a[first]
      } vs ${b[first]}`,
    );
  }
}

/** Asserts equal values (Object.is: NaN equals NaN, 0 is not -0); names the first difference. */
export function assertSame(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  msg: string,
) {
  assert.equal(a.length, b.length, `${msg}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      assert.fail(
        `${msg}: element ${i} of ${a.length} is ${a[i]}, expected ${b[i]}`,
      );
    }
  }
}

/**
 * Two runtimes that send every float32 size to WebAssembly (minMacs 0): one
 * thread, and two (the worker started).
 */
export function wasmRuntimes(): { threads: number; rt: WasmRuntime }[] {
  return [1, 2].map((threads) => {
    const rt = new WasmRuntime();
    rt.minMacs = 0;
    rt.setThreads(threads);
    if (threads > 1) assert.ok(rt.waitReady(10000), "the worker did not start");
    return { threads, rt };
  });
}

/**
 * `body()` with the kernels on `rt`, then the previous runtime put back; an
 * error thrown (a trap: "memory access out of bounds") gets `msg` in front.
 */
export function withRuntime<T>(rt: WasmRuntime, body: () => T, msg = ""): T {
  runtime(); // the default one exists, so there is one to put back
  const prev = setRuntime(rt);
  try {
    return body();
  } catch (e) {
    if (!msg || e instanceof assert.AssertionError) throw e;
    throw new Error(`${msg}: ${(e as Error)?.stack ?? e}`);
  } finally {
    if (prev) setRuntime(prev);
  }
}

/** A small convolution drawn for the kernel-vs-reference tests, and how to run it. */
export interface SmallConv {
  g: ConvGeometry;
  /** Input channels per group. */
  cg: number;
  bias: boolean;
  /** Run the im2col kernels in bands of one or two output rows. */
  banded: boolean;
}

/**
 * Small convolutions (up to 3 images, 13x13, 5x5 kernels, strides 3,
 * paddings and dilations 2-3, each axis its own; `maxGroups` groups) with a
 * non-empty output: the cases `kernels_test.ts` and `kernels_f64_test.ts`
 * compare the WebAssembly kernels with the TypeScript references on.
 */
export function smallConv(maxGroups: number): fc.Arbitrary<SmallConv> {
  const int = (min: number, max: number) => fc.integer({ min, max });
  return fc.record({
    n: int(1, 3),
    cg: int(1, 4),
    og: int(1, 9),
    groups: int(1, maxGroups),
    h: int(1, 13),
    w: int(1, 13),
    kh: int(1, 5),
    kw: int(1, 5),
    sh: int(1, 3),
    sw: int(1, 3),
    pt: int(0, 3),
    pl: int(0, 3),
    dh: int(1, 2),
    dw: int(1, 2),
    bias: fc.boolean(),
    banded: fc.boolean(),
  }).map((r) => {
    const oh = outLength(r.h, r.kh, r.sh, r.pt, r.pt, r.dh);
    const ow = outLength(r.w, r.kw, r.sw, r.pl, r.pl, r.dw);
    const g: ConvGeometry = {
      n: r.n,
      c: r.cg * r.groups,
      h: r.h,
      w: r.w,
      o: r.og * r.groups,
      kh: r.kh,
      kw: r.kw,
      oh,
      ow,
      sh: r.sh,
      sw: r.sw,
      pt: r.pt,
      pl: r.pl,
      dh: r.dh,
      dw: r.dw,
      groups: r.groups,
    };
    return { g, cg: r.cg, bias: r.bias, banded: r.banded };
  }).filter(({ g }) => g.oh >= 1 && g.ow >= 1);
}
