/**
 * Issue 17's goals measured back to back in one run, each against its
 * target, as one table: the commands below, run one after another on the
 * same host minutes.
 *
 *   deno run -A bench/goals.ts [--old DIR] [--rounds R]
 *
 * - the jitted LeNet-5 step (batch 64) over the eager step of the day the
 *   issue was filed (`bench/step_against.ts --against DIR`, 1 and 2 threads,
 *   the median of R rounds' ratios; DIR a checkout of d5eb325, made with
 *   `git worktree add` when not given);
 * - the jitted step and inference against PyTorch on the same threads
 *   (`/usr/bin/python3 bench/compare_pytorch.py --rounds 3`);
 * - the main job's wall time with `jit` over `--no-jit` (`deno run
 *   examples/lenet.ts`, five pairs, each mode first in turn; the median
 *   of the pairs' ratios), and over the issue-date checkout's main job
 *   (three pairs);
 * - eager float32 elementwise ops against tfjs-wasm (`deno bench` of
 *   `bench/elementwise_bench.ts`, JSON);
 * - the float64 step over the float32 one (`bench/lenet_step.ts --float64`);
 * - the resident set size over 5,000 jitted steps (`bench/lenet_step.ts
 *   --jit --steps 5000 --rss`).
 *
 * Needs git, Python with torch (Debian's python3-torch, with
 * libopenblas0-pthread installed: without it PyTorch runs on a BLAS about
 * twice as slow, and the ratios to it flatter this library) and the
 * network-free npm cache the benches use (tfjs). Takes about five minutes.
 *
 * @module
 */
const arg = (name: string, def: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : def;
};
const root = new URL("..", import.meta.url).pathname;
const rounds = arg("--rounds", "20");
const ISSUE_DATE = "d5eb325";

/** Runs a command in the checkout's root (or `cwd`); its stdout (stderr passed through). */
async function run(cmd: string, ...args: string[]): Promise<string> {
  return await runIn(root, cmd, ...args);
}

/** {@linkcode run} in directory `cwd`. */
async function runIn(
  cwd: string,
  cmd: string,
  ...args: string[]
): Promise<string> {
  console.error(`$ (${cwd}) ${cmd} ${args.join(" ")}`);
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`goals: ${cmd} ${args.join(" ")} failed:\n${text}`);
  }
  return text;
}

/** The number after `label` in `text` (an Error naming the command's line when absent). */
function numberAfter(text: string, label: string | RegExp): number {
  const re = typeof label === "string"
    ? new RegExp(label.replace(/[()[\]/.*+?]/g, "\\$&") + "\\s*([0-9.]+)")
    : label;
  const m = text.match(re);
  if (!m) throw new Error(`goals: no ${label} in:\n${text}`);
  return Number(m[1]);
}

/** The issue-date checkout: --old, or a worktree made once in the temp dir. */
async function oldCheckout(): Promise<string> {
  const given = arg("--old", "");
  if (given) return given;
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/lenet-${ISSUE_DATE}`;
  try {
    await Deno.stat(`${dir}/mod.ts`);
  } catch {
    await run("git", "worktree", "add", "-f", dir, ISSUE_DATE);
  }
  return dir;
}

const rows: [goal: string, value: string, target: string, met: boolean][] = [];
const row = (
  goal: string,
  value: number,
  target: number,
  unit = "×",
  detail = "",
) =>
  rows.push([
    goal,
    `${value.toFixed(2)}${unit}${detail && ` (${detail})`}`,
    `≤ ${target}${unit}`,
    value <= target,
  ]);

// 1. the jitted step over the issue-date eager step
const old = await oldCheckout();
for (const threads of ["1", "2"]) {
  const out = await run(
    "deno",
    "run",
    "-A",
    "bench/step_against.ts",
    "--against",
    old,
    "--threads",
    threads,
    "--rounds",
    rounds,
  );
  console.error(out.trim());
  row(
    `jitted step ÷ issue-date eager step, ${threads} thread(s)`,
    numberAfter(out, "median of the rounds' ratios"),
    0.55,
  );
}

// 2. against PyTorch
{
  const out = await run(
    "/usr/bin/python3",
    "bench/compare_pytorch.py",
    "--rounds",
    "3",
  );
  console.error(out.trim());
  // the medians' line of one side: training step and inference, in ms
  const times = (side: string, t: number) => {
    const m = out.match(
      new RegExp(`${side}, ${t} thread\\(s\\)\\s+([0-9.]+)\\s+([0-9.]+)`),
    );
    if (!m) {
      throw new Error(`goals: no '${side}, ${t} thread(s)' line in:\n${out}`);
    }
    return [Number(m[1]), Number(m[2])];
  };
  const versus = (t: number, k: number) =>
    `ours ${times("ours, jit", t)[k]} ms, PyTorch ${times("PyTorch", t)[k]}`;
  for (const t of [1, 2]) {
    const re = new RegExp(
      `ratio ours \\(jit\\) / PyTorch, ${t} thread\\(s\\): training step ([0-9.]+)`,
    );
    row(
      `jitted step ÷ PyTorch, ${t} thread(s)`,
      numberAfter(out, re),
      1,
      "×",
      versus(t, 0),
    );
  }
  row(
    "jitted inference (batch 256) ÷ PyTorch, 2 threads",
    numberAfter(
      out,
      /ratio ours \(jit\) \/ PyTorch, 2 thread\(s\): training step [^,]*, inference ([0-9.]+)/,
    ),
    0.6,
    "×",
    versus(2, 1),
  );
}

// 3. the main job, jit over --no-jit, and over the issue date's main job
{
  const wall = async (dir: string, ...flags: string[]) => {
    const t0 = performance.now();
    const out = await runIn(dir, "deno", "run", "examples/lenet.ts", ...flags);
    numberAfter(out, "test accuracy:");
    return performance.now() - t0;
  };
  /** `count` pairs, each side first in turn; a row with the median of the pairs' ratios. */
  const pairs = async (
    goal: string,
    count: number,
    mine: () => Promise<number>,
    theirs: () => Promise<number>,
  ) => {
    const ps: [number, number][] = [];
    for (let k = 0; k < count; k++) {
      if (k % 2) {
        const e = await theirs();
        ps.push([await mine(), e]);
      } else {
        const j = await mine();
        ps.push([j, await theirs()]);
      }
    }
    const ratios = ps.map(([j, e]) => j / e).sort((a, b) => a - b);
    const median = ratios[(count - 1) / 2];
    const secs = ps.map(([j, e]) =>
      `${(j / 1000).toFixed(1)}/${(e / 1000).toFixed(1)} s`
    );
    rows.push([
      `${goal} (the median of ${count} pairs)`,
      `${median.toFixed(2)}× (${secs.join(", ")})`,
      "≤ 0.6×",
      median <= 0.6,
    ]);
  };
  const here = () => wall(root);
  await pairs(
    "main job wall time, jit ÷ --no-jit",
    5,
    here,
    () => wall(root, "--no-jit"),
  );
  // (the goal's "today's": the main job of the day the issue was filed)
  await pairs(
    `main job wall time, jit ÷ the issue date's (${ISSUE_DATE})`,
    3,
    here,
    () => wall(old),
  );
}

// 4. eager elementwise ops against tfjs-wasm
{
  const out = await run(
    "deno",
    "bench",
    "--json",
    "--config",
    "bench/deno.json",
    "--allow-read",
    "--allow-env",
    "bench/elementwise_bench.ts",
  );
  const report = JSON.parse(out) as {
    benches: {
      name: string;
      group: string | null;
      results: { ok?: { avg: number; min: number } }[];
    }[];
  };
  for (
    const op of ["relu", "add", "sub", "mul", "div", "relu's forward and VJP"]
  ) {
    const group = `${op} [64,6,28,28] float32`;
    const result = (name: string) => {
      const b = report.benches.find((b) =>
        b.group === group && b.name === name
      );
      const ok = b?.results[0]?.ok;
      if (!ok) {
        throw new Error(`goals: no '${name}' result in group '${group}'`);
      }
      return ok;
    };
    // (deno bench's means, as its group summary compares; the minima too:
    // both sides' means swing with the page faults of fresh output arrays)
    const ours = result("ours"), theirs = result("tfjs-wasm");
    const mean = ours.avg / theirs.avg, min = ours.min / theirs.min;
    rows.push([
      `eager ${op} ÷ tfjs-wasm (means; minima)`,
      `${mean.toFixed(2)}×; ${min.toFixed(2)}× (ours ${
        (ours.avg / 1000).toFixed(0)
      } µs, tfjs-wasm ${(theirs.avg / 1000).toFixed(0)})`,
      "≤ 1×",
      mean <= 1,
    ]);
  }
}

// 5. float64 over float32, and 6. RSS over 5,000 jitted steps
{
  const f64 = JSON.parse(
    await run(
      "deno",
      "run",
      "bench/lenet_step.ts",
      "--float64",
      "--steps",
      "200",
    ),
  );
  row("float64 step ÷ float32 step", f64.ratio64, 3);
  const long = JSON.parse(
    await run(
      "deno",
      "run",
      "--v8-flags=--expose-gc",
      "bench/lenet_step.ts",
      "--jit",
      "--steps",
      "5000",
      "--rss",
    ),
  ) as { rssMiB: number[]; liveMiB: number[] };
  // flat: what is live after full collections grows by at most 2 MiB (no
  // leak), and the resident size ends on a plateau (its last three samples
  // within 5 MiB: V8 sizes its young generation once, at a step that
  // varies from run to run, by up to about 30 MiB)
  const rss = long.rssMiB, live = long.liveMiB, tail = rss.slice(-3);
  rows.push([
    "RSS over 5,000 jitted steps (MiB, every 500; live after full GCs)",
    `${rss.join(" ")}; live ${Math.min(...live)}–${Math.max(...live)}`,
    "flat",
    Math.max(...live) - live[0] <= 2 &&
    Math.max(...tail) - Math.min(...tail) <= 5,
  ]);
}

console.log("\n| goal | this run | target | met |\n|---|---|---|---|");
for (const [goal, value, target, met] of rows) {
  console.log(`| ${goal} | ${value} | ${target} | ${met ? "yes" : "**no**"} |`);
}
console.log(
  `\n${rows.filter((r) => r[3]).length} of ${rows.length} met in this run (${
    new Date().toISOString()
  }, ${Deno.build.target})`,
);
