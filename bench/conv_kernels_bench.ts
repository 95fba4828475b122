/**
 * Times the five direct float32 convolution kernels on LeNet-5's shapes
 * (batch 64) through `ops/kernels/conv.ts`, and the second one's weight
 * and input gradients on y as max pooling leaves it (the sparse weight
 * gradient; the input gradient without y's zeros), on 1 and 2 threads, and prints
 * µs per call and GFLOP/s (2 flops a multiply-add). With `--against DIR`
 * (another checkout's root) it times that checkout's kernels too, the two
 * alternating call by call so both see the same machine load.
 *
 *   deno run -A bench/conv_kernels_bench.ts [--calls N] [--rounds R] [--against /tmp/main] [--only convDirectC]
 *
 * @module
 */
import type { ConvGeometry } from "../ops/kernels/conv.ts";
const arg = (name: string, def: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : def;
};
const calls = Number(arg("--calls", "100"));
const rounds = Number(arg("--rounds", "5"));
const against = arg("--against", "");
const only = arg("--only", "");

type Geometry = ConvGeometry;
const geom = (c: number, h: number, o: number): Geometry => ({
  n: 64,
  c,
  h,
  w: h,
  o,
  kh: 5,
  kw: 5,
  oh: h - 4,
  ow: h - 4,
  sh: 1,
  sw: 1,
  pt: 0,
  pl: 0,
  dh: 1,
  dw: 1,
  groups: 1,
});
const conv1 = geom(1, 32, 6), conv2 = geom(6, 14, 16);
const rand = (n: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  return a;
};
const sizes = (g: Geometry) => ({
  x: rand(g.n * g.c * g.h * g.w),
  w: rand(g.o * g.c * g.kh * g.kw),
  b: rand(g.o),
  y: rand(g.n * g.o * g.oh * g.ow),
  macs: g.n * g.o * g.oh * g.ow * g.c * g.kh * g.kw,
});
const d1 = sizes(conv1), d2 = sizes(conv2);
// y as max pooling and relu leave it (LeNet-5 in training: 13-16% nonzero):
// one entry per 2×2 window, 60% of the windows
const pooledY = (g: Geometry) => {
  const y = new Float32Array(g.n * g.o * g.oh * g.ow);
  let s = 7;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  for (let p = 0; p < g.n * g.o; p++) {
    for (let a = 0; a + 1 < g.oh; a += 2) {
      for (let b = 0; b + 1 < g.ow; b += 2) {
        if (r() >= 0.6) continue;
        const i = a + (r() < 0.5 ? 1 : 0), j = b + (r() < 0.5 ? 1 : 0);
        y[(p * g.oh + i) * g.ow + j] = r() - 0.5;
      }
    }
  }
  return y;
};
const y2sparse = pooledY(conv2);

// deno-lint-ignore no-explicit-any
type Conv = any;
const load = async (root: string) => {
  const conv = await import(`${root}/ops/kernels/conv.ts`) as Conv;
  const rt = (await import(`${root}/ops/kernels/wasm/runtime.ts`)).runtime();
  // the time inside the kernels' calls (`parallel`), apart from the copies
  const r = { conv, rt, inKernel: 0 };
  const parallel = rt.parallel.bind(rt);
  rt.parallel = (fn: string, tasks: number[][]) => {
    const t0 = performance.now();
    parallel(fn, tasks);
    r.inKernel += performance.now() - t0;
  };
  return r;
};
const mine = await load(new URL("..", import.meta.url).href.replace(/\/$/, ""));
const other = against
  ? await load(against.startsWith("/") ? `file://${against}` : against)
  : null;

const cases: [string, number, (c: Conv) => void][] = [
  ["convDirect (conv1 fwd)", d1.macs, (c) => {
    c.conv2dForward(d1.x, d1.w, d1.b, conv1, out1);
  }],
  ["convDirectC (conv2 fwd)", d2.macs, (c) => {
    c.conv2dForward(d2.x, d2.w, d2.b, conv2, out2);
  }],
  ["convWeightRows (conv1 dw)", d1.macs, (c) => {
    c.conv2dWeightAdjoint(d1.x, d1.y, conv1, dw1);
  }],
  ["convWeightDirect (conv2 dw)", d2.macs, (c) => {
    c.conv2dWeightAdjoint(d2.x, d2.y, conv2, dw2);
  }],
  ["convWeightSparse (conv2 dw, pooled)", d2.macs, (c) => {
    c.conv2dWeightAdjoint(d2.x, y2sparse, conv2, dw2);
  }],
  ["convInputDirect (conv2 dx)", d2.macs, (c) => {
    c.conv2dInputAdjoint(d2.y, d2.w, conv2, dx2);
  }],
  ["convInputDirect (conv2 dx, pooled)", d2.macs, (c) => {
    c.conv2dInputAdjoint(y2sparse, d2.w, conv2, dx2);
  }],
];
const out1 = new Float32Array(d1.y.length),
  out2 = new Float32Array(d2.y.length);
const dw1 = new Float32Array(d1.w.length), dw2 = new Float32Array(d2.w.length);
const dx2 = new Float32Array(d2.x.length);

const median = (xs: number[]) =>
  xs.slice().sort((a, b) => a - b)[xs.length >> 1];
for (const threads of [1, 2]) {
  for (const r of [mine, other]) {
    r?.rt.setThreads(threads);
    r?.rt.waitReady?.();
  }
  for (const [name, macs, run] of cases) {
    if (only && !name.includes(only)) continue;
    const runs = other ? [mine, other] : [mine];
    const times = runs.map(() => [] as number[]);
    const inner = runs.map(() => [] as number[]);
    for (let i = 0; i < 10; i++) runs.forEach((r) => run(r.conv));
    for (let round = 0; round < rounds; round++) {
      // each side first in every other round
      const order = round % 2 ? [...runs.keys()].reverse() : [...runs.keys()];
      order.forEach((k) => {
        const r = runs[k];
        r.inKernel = 0;
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) run(r.conv);
        times[k].push((performance.now() - t0) / calls);
        inner[k].push(r.inKernel / calls);
      });
    }
    const fmt = (ms: number) =>
      `${(ms * 1000).toFixed(0).padStart(5)} µs ${
        (2 * macs / ms / 1e6).toFixed(1).padStart(5)
      } GFLOP/s`;
    const line = (t: number[][], f: (xs: number[]) => number) =>
      `${fmt(f(t[0]))}` +
      (other
        ? `   against: ${fmt(f(t[1]))}` +
          `  (${(f(t[0]) / f(t[1])).toFixed(3)}x)`
        : "");
    const min = (xs: number[]) => Math.min(...xs);
    console.log(
      `${threads}T ${name.padEnd(36)} call median ${line(times, median)}`,
    );
    console.log(
      `${threads}T ${name.padEnd(36)} kernel min  ${line(inner, min)}`,
    );
  }
}
