/**
 * The float32 WebAssembly kernels against the TypeScript reference kernels
 * (float64 accumulation) on geometries well outside LeNet's: kernels up to
 * the padded input, paddings up to twice the input, dilations up to 4,
 * strides larger than the kernel, 1-pixel images, up to 64 channels,
 * transposed convolutions with outputPadding, ceil mode. Each property runs
 * with one thread and with two, and the two must agree bit for bit. Then
 * large all-ones convolutions at the public op, against the closed form.
 *
 * The draws live in `_geometry.ts` (fast-check shrinks the drawn fields;
 * the messages print the clamped case as a public op call and as the
 * kernels' geometry).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as cv from "../ops/kernels/conv.ts";
import * as pk from "../ops/kernels/pool.ts";
import {
  avgPool2d,
  conv2d,
  convTranspose2d,
  jvp,
  maxPool2d,
  ones,
  type Tensor,
  tensor,
  vjp,
} from "../mod.ts";
import {
  assertBits,
  assertF32Close,
  assertSame,
  avgPoolRef,
  type ConvCase,
  convCase,
  type ConvDraw,
  convDraw,
  describeConv,
  describePool,
  farPadCase,
  farPadDraw,
  outLength,
  POOL_WASM_OUTPUTS,
  type PoolCase,
  poolCase,
  type PoolDraw,
  poolDraw,
  tapsInside,
  wasmRuntimes,
  withRuntime,
} from "./_geometry.ts";
import { values } from "./_helpers.ts";

/** Tests that start worker threads (unref'd; they outlive the test). */
const threaded = { sanitizeOps: false, sanitizeResources: false };

type Runtimes = ReturnType<typeof wasmRuntimes>;
let cached: Runtimes | null = null;
/** A one-thread and a two-thread runtime, minMacs 0 (made once). */
const runtimes = () => (cached ??= wasmRuntimes());

/**
 * A test (it may start worker threads) that asserts the property made from
 * the one- and two-thread runtimes.
 */
function threadedProperty<Ts>(
  name: string,
  property: (rts: Runtimes) => fc.IRawProperty<Ts>,
  params: fc.Parameters<Ts>,
): void {
  Deno.test({
    name,
    ...threaded,
    fn: () => {
      fc.assert(property(runtimes()), params);
    },
  });
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Asserts the public op refuses a case whose output would be empty. */
function assertEmptyRefused(op: () => unknown, msg: string): void {
  assert.throws(op, /output size would be/, msg);
}

// ---------------------------------------------------------------------------
// convolutions, at the kernels

/** The inputs of a convolution case: x, w, bias, and a y-shaped array (the adjoints' input). */
function convData(cc: ConvCase) {
  const g = cc.g, s = cc.draw.seed;
  return {
    x: values(g.n * g.c * g.h * g.w, s),
    w: values(g.o * (g.c / g.groups) * g.kh * g.kw, s + 1),
    b: cc.draw.bias ? values(g.o, s + 2) : null,
    y: values(g.n * g.o * g.oh * g.ow, s + 3),
  };
}
type ConvData = ReturnType<typeof convData>;

/** A zeroed float32 / float64 array as long as `a` (a kernel's output). */
const f32 = (a: ArrayLike<number>) => new Float32Array(a.length);
const f64 = (a: ArrayLike<number>) => new Float64Array(a.length);

/** The three kernels: WebAssembly (float32 in and out), the reference (float64 out), and the sum length. */
const CONV_KERNELS: {
  name: string;
  wasm: (d: ConvData, g: cv.ConvGeometry) => Float32Array;
  ref: (d: ConvData, g: cv.ConvGeometry) => Float64Array;
  k: (g: cv.ConvGeometry) => number;
}[] = [
  {
    name: "forward (conv2d; convTranspose2d's input VJP)",
    wasm: (d, g) => cv.conv2dForward(d.x, d.w, d.b, g) as Float32Array,
    ref: (d, g) =>
      cv.conv2dForwardRef(d.x, d.w, d.b, g, f64(d.y)) as Float64Array,
    k: (g) => (g.c / g.groups) * g.kh * g.kw,
  },
  {
    name: "input adjoint (conv2d's input VJP; convTranspose2d)",
    wasm: (d, g) => cv.conv2dInputAdjoint(d.y, d.w, g) as Float32Array,
    ref: (d, g) =>
      cv.conv2dInputAdjointRef(d.y, d.w, g, f64(d.x)) as Float64Array,
    k: (g) => (g.o / g.groups) * g.kh * g.kw,
  },
  {
    name: "weight adjoint (the weight VJP of both)",
    wasm: (d, g) =>
      cv.conv2dWeightAdjoint(d.x, d.y, g, f32(d.w)) as Float32Array,
    ref: (d, g) =>
      cv.conv2dWeightAdjointRef(d.x, d.y, g, f64(d.w)) as Float64Array,
    k: (g) => g.n * g.oh * g.ow,
  },
];

/** A conv case from a draw, skipped (fc.pre) when over budget. */
function drawnConv(r: ConvDraw, clamp = true): ConvCase {
  const cc = convCase(r, clamp);
  fc.pre(cc !== null);
  return cc!;
}

/**
 * The kernel in WebAssembly on each runtime, each output checked against
 * the reference; the outputs.
 */
function wasmMatchesRef(
  kernel: (typeof CONV_KERNELS)[number],
  cc: ConvCase,
  d: ConvData,
  rts: Runtimes,
): Float32Array[] {
  const want = kernel.ref(d, cc.g);
  return rts.map(({ threads, rt }) => {
    const m = `${kernel.name}, ${threads} thread(s): ${describeConv(cc)}`;
    const v = withRuntime(rt, () => kernel.wasm(d, cc.g), m);
    assertF32Close(v, want, kernel.k(cc.g), m);
    return v;
  });
}

for (const kernel of CONV_KERNELS) {
  threadedProperty(
    `kernel geometry: conv ${kernel.name}, WebAssembly (1 and 2 threads) matches the reference`,
    (rts) =>
      fc.property(convDraw, (r) => {
        const cc = drawnConv(r);
        wasmMatchesRef(kernel, cc, convData(cc), rts);
      }),
    { numRuns: 70, maxSkipsPerRun: 1000 },
  );

  threadedProperty(
    `kernel geometry: conv ${kernel.name}, 1 and 2 threads give the same bits`,
    (rts) =>
      fc.property(convDraw, (r) => {
        const cc = drawnConv(r), d = convData(cc);
        const m = `${kernel.name}: ${describeConv(cc)}`;
        const [one, two] = rts.map(({ threads, rt }) =>
          withRuntime(rt, () => kernel.wasm(d, cc.g), `${threads}: ${m}`)
        );
        assertBits(two, one, m);
      }),
    { numRuns: 70, maxSkipsPerRun: 1000 },
  );
}

threadedProperty(
  "kernel geometry: conv with padding far beyond the input (up to 1500) and strides up to 200, all three kernels, WebAssembly (1 and 2 threads) match the reference",
  (rts) =>
    fc.property(farPadDraw, (r) => {
      const cc = farPadCase(r), d = convData(cc);
      for (const kernel of CONV_KERNELS) {
        const got = wasmMatchesRef(kernel, cc, d, rts);
        assertBits(got[1], got[0], `${kernel.name}: ${describeConv(cc)}`);
      }
    }),
  { numRuns: 15 },
);

// ---------------------------------------------------------------------------
// conv2d and convTranspose2d, at the public ops

/** A tensor of (a copy of) these values in this dtype. */
const t = (v: Float32Array, shape: number[], dtype: "float32" | "float64") =>
  // a copy: the argmax cache of max pooling is keyed by the array
  tensor(dtype === "float32" ? v.slice() : Float64Array.from(v), {
    shape,
    dtype,
  });

threadedProperty(
  "kernel geometry: conv2d / convTranspose2d in float32 (WebAssembly) give float64's value and VJPs",
  (rts) =>
    fc.property(convDraw, fc.boolean(), (r, clamp) => {
      const cc = drawnConv(r, clamp);
      const { g, xShape, wShape, options, outShape } = cc;
      const op = r.transposed ? convTranspose2d : conv2d;
      const msg = describeConv(cc);
      if (!outShape) {
        return assertEmptyRefused(
          () => op(ones(xShape), ones(wShape), null, options),
          msg,
        );
      }
      const bShape = [r.transposed ? g.c : g.o];
      const xs = values(size(xShape), r.seed),
        ws = values(size(wShape), r.seed + 1),
        bs = values(bShape[0], r.seed + 2),
        cts = values(size(outShape), r.seed + 3);
      const run = (dtype: "float32" | "float64") => {
        const args = [t(xs, xShape, dtype), t(ws, wShape, dtype)];
        if (r.bias) args.push(t(bs, bShape, dtype));
        const [y, back] = vjp(
          (...a: Tensor[]) => op(a[0], a[1], a[2] ?? null, options),
          ...args,
        );
        return [y, ...back(t(cts, outShape, dtype))].map((v) => v.data);
      };
      const want = run("float64");
      const kf = (g.c / g.groups) * g.kh * g.kw,
        ki = (g.o / g.groups) * g.kh * g.kw;
      // y, dx, dw, db: the sums' lengths
      const ks = r.transposed
        ? [ki, kf, g.n * g.oh * g.ow, g.n * g.h * g.w]
        : [kf, ki, g.n * g.oh * g.ow, g.n * g.oh * g.ow];
      for (const { threads, rt } of rts) {
        const got = withRuntime(
          rt,
          () => run("float32"),
          `${threads} thread(s): ${msg}`,
        );
        ["value", "dx", "dweight", "dbias"].slice(0, got.length).forEach(
          (name, i) =>
            assertF32Close(
              got[i],
              want[i],
              ks[i],
              `${name}, ${threads} thread(s): ${msg}`,
            ),
        );
      }
    }),
  { numRuns: 50, maxSkipsPerRun: 1000 },
);

// ---------------------------------------------------------------------------
// max pooling

/** A pooling case from a draw (see {@linkcode poolCase}), skipped (fc.pre) when over budget. */
function drawnPool(
  r: PoolDraw,
  kind: "max" | "avg",
  clamp: boolean,
  minOutputs?: number,
): PoolCase {
  const pc = poolCase(r, kind, clamp, minOutputs);
  fc.pre(pc !== null);
  return pc!;
}

/** How many windows of a pooling overlap at most: the length of a VJP's sums. */
const overlap = (g: PoolCase["g"]) =>
  Math.ceil(g.kh / g.sh) * Math.ceil(g.kw / g.sw);

/** x of a pooling case: values, with ties (runs of equal values) and NaN when drawn. */
function poolInput(pc: PoolCase): Float32Array {
  const g = pc.g, r = pc.draw;
  const x = values(g.planes * g.h * g.w, r.seed);
  if (r.ties) { for (let i = 7; i < x.length; i += 7) x[i] = x[i - 1]; }
  if (r.nan) { for (let i = 3; i < x.length; i += 11) x[i] = NaN; }
  return x;
}

threadedProperty(
  "kernel geometry: max pooling's argmax, values and scatter in WebAssembly (1 and 2 threads) match the reference, bit for bit",
  (rts) =>
    fc.property(poolDraw, (r) => {
      const pc = drawnPool(r, "max", true, POOL_WASM_OUTPUTS);
      const g = pc.g, msg = describePool(pc);
      const x = poolInput(pc);
      const nOut = g.planes * g.oh * g.ow;
      const idxRef = pk.maxPoolArgmaxRef(x, g);
      const yRef = pk.poolGather(
        x,
        idxRef,
        g,
        new Float32Array(nOut),
        -Infinity,
      );
      const gr = values(nOut, r.seed + 1);
      const sRef = pk.poolScatter(gr, idxRef, g, new Float32Array(x.length));
      const tg = values(x.length, r.seed + 2);
      const gRef = pk.poolGather(tg, idxRef, g, new Float32Array(nOut));
      const outs = rts.map(({ threads, rt }) =>
        withRuntime(rt, () => {
          const m = `${threads} thread(s): ${msg}`;
          // a fresh copy each time: the argmax cache is keyed by the array
          const xa = x.slice(), xb = x.slice();
          const y = pk.maxPoolForward(xa, g) as Float32Array;
          assertSame(y, yRef, `values, ${m}`);
          // the argmax kept by the forward pass, and one made alone
          const idx = pk.maxPoolArgmax(xa, g);
          assert.deepEqual(idx, idxRef, `argmax (kept), ${m}`);
          assert.deepEqual(pk.maxPoolArgmax(xb, g), idxRef, `argmax, ${m}`);
          const s = pk.maxPoolScatter(gr, idx, g) as Float32Array;
          assertSame(s, sRef, `scatter (the VJP), ${m}`);
          const gt = pk.poolGather(tg, idx, g, new Float32Array(nOut));
          assertSame(gt, gRef, `gather (the JVP), ${m}`);
          return [y, s, gt as Float32Array];
        }, `${threads} thread(s): ${msg}`)
      );
      ["values", "scatter", "gather"].forEach((name, i) =>
        assertBits(outs[1][i], outs[0][i], `${name}, 1 vs 2 threads: ${msg}`)
      );
    }),
  { numRuns: 80, maxSkipsPerRun: 1000 },
);

threadedProperty(
  "kernel geometry: maxPool2d in float32 (WebAssembly) gives float64's value, VJP and JVP",
  (rts) =>
    fc.property(poolDraw, fc.boolean(), (r, clamp) => {
      const pc = drawnPool(r, "max", clamp, POOL_WASM_OUTPUTS);
      const { g, xShape, options, outShape } = pc;
      const msg = describePool(pc);
      if (!outShape) {
        return assertEmptyRefused(
          () => maxPool2d(ones(xShape), options),
          msg,
        );
      }
      const xs = poolInput(pc);
      const cts = values(size(outShape), r.seed + 1),
        ts = values(xs.length, r.seed + 2);
      const f = (x: Tensor) => maxPool2d(x, options);
      const run = (dtype: "float32" | "float64") => {
        const [y, back] = vjp(f, t(xs, xShape, dtype));
        assert.deepEqual(y.shape, outShape, msg);
        const [dx] = back(t(cts, outShape, dtype));
        const [, tan] = jvp(f, [t(xs, xShape, dtype)], [
          t(ts, xShape, dtype),
        ]);
        return [y.data, dx.data, tan.data];
      };
      const want = run("float64");
      for (const { threads, rt } of rts) {
        const m = `${threads} thread(s): ${msg}`;
        const got = withRuntime(rt, () => run("float32"), m);
        assertSame(got[0], want[0], `value, ${m}`);
        assertF32Close(got[1], want[1], overlap(g), `VJP, ${m}`);
        assertSame(got[2], want[2], `JVP, ${m}`);
      }
    }),
  { numRuns: 60, maxSkipsPerRun: 1000 },
);

// ---------------------------------------------------------------------------
// average pooling (TypeScript only: there is no WebAssembly kernel)

Deno.test("kernel geometry: avgPool2d's value and VJP match PyTorch's definition, float32 and float64", () => {
  fc.assert(
    fc.property(poolDraw, fc.boolean(), (r, clamp) => {
      const pc = drawnPool(r, "avg", clamp);
      const { g, xShape, options, outShape } = pc;
      const msg = describePool(pc);
      if (!outShape) {
        return assertEmptyRefused(
          () => avgPool2d(ones(xShape), options),
          msg,
        );
      }
      const xs = values(size(xShape), r.seed),
        cts = values(size(outShape), r.seed + 1);
      const yRef = avgPoolRef(xs, pc), dxRef = avgPoolRef(cts, pc, true);
      for (const dtype of ["float64", "float32"] as const) {
        const [y, back] = vjp(
          (x: Tensor) => avgPool2d(x, options),
          t(xs, xShape, dtype),
        );
        assert.deepEqual(y.shape, outShape, msg);
        const [dx] = back(t(cts, outShape, dtype));
        const tol = dtype === "float64" ? 1e-7 : 1;
        assertF32Close(
          y.data,
          yRef,
          tol * g.kh * g.kw,
          `value ${dtype}: ${msg}`,
        );
        assertF32Close(
          dx.data,
          dxRef,
          tol * overlap(g),
          `VJP ${dtype}: ${msg}`,
        );
      }
    }),
    { numRuns: 40, maxSkipsPerRun: 1000 },
  );
});

// ---------------------------------------------------------------------------
// large all-ones convolutions at the public op: each output is the number of
// kernel taps inside the image (the closed form), exact in float32

/**
 * conv2d(ones([1, 1, h, w]), ones([1, 1, k, k]), null, options) against the
 * closed form at every output, and its shape.
 */
function allOnes(
  h: number,
  w: number,
  k: number,
  options: { padding?: number; stride?: number } = {},
): void {
  const { padding: p = 0, stride: s = 1 } = options;
  const oh = outLength(h, k, s, p, p, 1), ow = outLength(w, k, s, p, p, 1);
  const y = conv2d(ones([1, 1, h, w]), ones([1, 1, k, k]), null, options);
  assert.deepEqual(y.shape, [1, 1, oh, ow]);
  const rows = Array.from(
    { length: oh },
    (_, i) => tapsInside(i, h, k, s, p, 1),
  );
  const cols = Array.from(
    { length: ow },
    (_, j) => tapsInside(j, w, k, s, p, 1),
  );
  const data = y.data;
  for (let i = 0, q = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++, q++) {
      if (data[q] !== rows[i] * cols[j]) {
        assert.fail(
          `output [0, 0, ${i}, ${j}] is ${data[q]}, expected ${
            rows[i] * cols[j]
          } (${rows[i]} × ${cols[j]} taps inside)`,
        );
      }
    }
  }
}

for (
  const [h, w, k, options] of [
    [1024, 1024, 100, {}],
    [1024, 1024, 31, {}],
    [512, 512, 100, {}],
    [2, 2, 3, { padding: 6000 }],
    [2, 2, 3, { padding: 6000, stride: 100 }],
  ] as const
) {
  const settings = Object.entries(options).map(([key, v]) => `, ${key} ${v}`);
  Deno.test({
    name:
      `kernel geometry: conv2d of ones [1,1,${h},${w}] with ones [1,1,${k},${k}]${
        settings.join("")
      }`,
    ...threaded,
    fn: () => allOnes(h, w, k, options),
  });
}
