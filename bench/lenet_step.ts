/**
 * Times the LeNet-5 training step (batch 64) and inference (batch 256) with
 * the library's public API and prints one JSON line; `compare_pytorch.py`
 * runs it next to PyTorch. Needs no permission flags.
 *
 *   deno run bench/lenet_step.ts [--steps N] [--warmup W] [--threads T] [--jit] [--rss] [--float64]
 *
 * `--float64` also times the same step with float64 parameters and batch,
 * one float64 step after every fourth float32 one (so both see the same
 * machine load), and the JSON line gains `stepMs64` (median) and the ratio
 * `ratio64` of the medians.
 * `--jit` times `jit(trainStep)` and `jit(lenet)`: the recorded kernels
 * replayed, the same numbers as eager.
 * `--warmup W` runs W untimed steps first (default 20).
 * `--rss` adds the process's resident set size every N/10 steps (memory must
 * stay bounded over thousands of steps); run with
 * `--v8-flags=--expose-gc` to also get `liveMiB`, what is still allocated
 * after full collections at those steps (V8's heap in use plus the
 * ArrayBuffers outside it: flat when nothing leaks, while the resident size
 * also follows how far V8 has grown its young generation).
 *
 * @module
 */
import { item, jit } from "../mod.ts";
import {
  initLeNet,
  lenet as lenetEager,
  lenetBatch,
  trainStep as trainStepEager,
} from "./_lenet.ts";
import { runtime } from "../ops/kernels/wasm/runtime.ts";

const arg = (name: string, def: number) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
};
const steps = arg("--steps", 200);
const warmup = arg("--warmup", 20);
const threads = arg("--threads", runtime().threads);
const wantRss = Deno.args.includes("--rss");
const useJit = Deno.args.includes("--jit");
const wantF64 = Deno.args.includes("--float64");
const trainStep = useJit ? jit(trainStepEager) : trainStepEager;
const lenet = useJit ? jit(lenetEager) : lenetEager;
runtime().setThreads(threads);
runtime().waitReady();

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

let params = initLeNet(0);
const { x, y } = lenetBatch(64);
for (let i = 0; i < warmup; i++) params = trainStep(params, x, y).params;
let params64 = initLeNet(0, "float64");
const batch64 = lenetBatch(64, 1, "float64");
if (wantF64) {
  for (let i = 0; i < 3; i++) {
    params64 = trainStep(params64, batch64.x, batch64.y).params;
  }
}
const times: number[] = [], times64: number[] = [];
const rss: number[] = [], live: number[] = [];
const gc = (globalThis as { gc?: () => void }).gc;
let loss = 0;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const r = trainStep(params, x, y);
  params = r.params;
  loss = item(r.loss);
  times.push(performance.now() - t0);
  if (wantF64 && i % 4 === 0) {
    const t1 = performance.now();
    params64 = trainStep(params64, batch64.x, batch64.y).params;
    times64.push(performance.now() - t1);
  }
  if (wantRss && i % Math.max(1, Math.floor(steps / 10)) === 0) {
    rss.push(Math.round(Deno.memoryUsage().rss / 2 ** 20));
    if (gc) {
      for (let k = 0; k < 4; k++) gc(); // ArrayBuffers go on the later passes
      const m = Deno.memoryUsage();
      live.push(Math.round((m.heapUsed + m.external) / 2 ** 20));
    }
  }
}
const xb = lenetBatch(256).x;
for (let i = 0; i < 5; i++) lenet(params, xb);
const inf: number[] = [];
for (let i = 0; i < 30; i++) {
  const t0 = performance.now();
  lenet(params, xb);
  inf.push(performance.now() - t0);
}
console.log(JSON.stringify({
  stepMs: median(times),
  ...(wantF64
    ? {
      stepMs64: median(times64),
      ratio64: +(median(times64) / median(times)).toFixed(2),
    }
    : {}),
  inferenceMs: median(inf),
  steps,
  warmup,
  threads: 1 + runtime().readyWorkers(),
  jit: useJit,
  relaxedSimd: runtime().relaxed,
  finalLoss: loss,
  ...(wantRss ? { rssMiB: rss } : {}),
  ...(wantRss && gc ? { liveMiB: live } : {}),
}));
