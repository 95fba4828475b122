/**
 * The LeNet-5 training step (batch 64) of another checkout against this
 * one's, in one process: blocks of steps alternate between the two (each
 * first in every other round), so both see the same machine load, and the
 * line printed gives the medians, the minima and the median of the rounds'
 * ratios. Each checkout runs its own kernels, memory and workers.
 *
 *   git worktree add /tmp/old d5eb325   # e.g. the day issue 17 was filed
 *   deno run -A bench/step_against.ts --against /tmp/old [--threads T] [--rounds R] [--block B] [--eager-here] [--jit-there]
 *
 * By default the other checkout runs its eager step and this one its
 * jitted step (issue 17's goal is the ratio of the two); `--eager-here`
 * times this checkout's eager step instead, `--jit-there` the other's
 * jitted step.
 *
 * @module
 */
const arg = (name: string, def: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : def;
};
const against = arg("--against", "");
if (!against) {
  throw new Error("step_against: give --against DIR (another checkout's root)");
}
const threads = Number(arg("--threads", "2"));
const rounds = Number(arg("--rounds", "20"));
const block = Number(arg("--block", "40"));
const jitHere = !Deno.args.includes("--eager-here");
const jitThere = Deno.args.includes("--jit-there");

const here = new URL("..", import.meta.url).href.replace(/\/$/, "");
const there = against.startsWith("/") ? `file://${against}` : against;

/** One checkout's step, ready to run `n` times; returns ms per step. */
async function stepper(root: string, jitted: boolean) {
  const lenet = await import(`${root}/bench/_lenet.ts`);
  const { jit } = await import(`${root}/mod.ts`);
  const rt = (await import(`${root}/ops/kernels/wasm/runtime.ts`)).runtime();
  rt.setThreads(threads);
  rt.waitReady?.();
  const step = jitted ? jit(lenet.trainStep) : lenet.trainStep;
  let params = lenet.initLeNet(0);
  const { x, y } = lenet.lenetBatch(64);
  return (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) params = step(params, x, y).params;
    return (performance.now() - t0) / n;
  };
}

const other = await stepper(there, jitThere);
const mine = await stepper(here, jitHere);
other(20);
mine(20);
const a: number[] = [], b: number[] = [], r: number[] = [];
for (let k = 0; k < rounds; k++) {
  let ta: number, tb: number;
  if (k % 2) {
    ta = other(block);
    tb = mine(block);
  } else {
    tb = mine(block);
    ta = other(block);
  }
  a.push(ta);
  b.push(tb);
  r.push(tb / ta);
}
const median = (v: number[]) => v.slice().sort((p, q) => p - q)[v.length >> 1];
const f = (v: number) => v.toFixed(3);
console.log(
  `${threads} thread(s), ${rounds} rounds of ${block} steps: there (${
    jitThere ? "jit" : "eager"
  }) median ${f(median(a))} ms, min ${f(Math.min(...a))}; here (${
    jitHere ? "jit" : "eager"
  }) median ${f(median(b))} ms, min ${
    f(Math.min(...b))
  }; here / there: median of the rounds' ratios ${
    f(median(r))
  }, ratio of the minima ${f(Math.min(...b) / Math.min(...a))}`,
);
