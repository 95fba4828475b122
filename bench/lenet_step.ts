/**
 * Times the LeNet-5 training step (batch 64) and inference (batch 256) with
 * the library's public API and prints one JSON line; `compare_pytorch.py`
 * runs it next to PyTorch. Needs no permission flags.
 *
 *   deno run bench/lenet_step.ts [--steps N] [--threads T] [--jit] [--rss]
 *
 * `--jit` times `jit(trainStep)` and `jit(lenet)`: the recorded kernels
 * replayed, the same numbers as eager.
 * `--rss` adds the process's resident set size every N/10 steps (memory must
 * stay flat over thousands of steps).
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
const threads = arg("--threads", runtime().threads);
const wantRss = Deno.args.includes("--rss");
const useJit = Deno.args.includes("--jit");
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
for (let i = 0; i < 20; i++) params = trainStep(params, x, y).params;
const times: number[] = [];
const rss: number[] = [];
let loss = 0;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const r = trainStep(params, x, y);
  params = r.params;
  loss = item(r.loss);
  times.push(performance.now() - t0);
  if (wantRss && i % Math.max(1, Math.floor(steps / 10)) === 0) {
    rss.push(Math.round(Deno.memoryUsage().rss / 2 ** 20));
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
  inferenceMs: median(inf),
  steps,
  threads: 1 + runtime().readyWorkers(),
  jit: useJit,
  relaxedSimd: runtime().relaxed,
  finalLoss: loss,
  ...(wantRss ? { rssMiB: rss } : {}),
}));
