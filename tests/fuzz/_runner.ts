/**
 * The fuzz harness's child process: runs inputs `start` .. `end - 1` of one
 * format and writes one JSON line per input to stdout (index, outcome,
 * milliseconds in the reader, resident memory), so that the parent can kill it when an
 * input hangs and start a new one after it.
 *
 * Usage: `deno run --allow-read --allow-write _runner.ts FORMAT SEED START END DIR`
 *
 * @module
 */
import { FORMATS, makeInput, type Outcome } from "./_formats.ts";

const [name, seed, start, end, dir] = Deno.args;
const format = FORMATS.find((f) => f.name === name);
if (!format) throw new Error(`_runner: unknown format ${name}`);
await Deno.mkdir(dir, { recursive: true });
const out = new TextEncoder();
const say = (x: unknown) => {
  const line = out.encode(JSON.stringify(x) + "\n");
  for (let o = 0; o < line.length;) {
    o += Deno.stdout.writeSync(line.subarray(o));
  }
};
say({ ready: true });
for (let i = Number(start); i < Number(end); i++) {
  let o: Outcome;
  try {
    o = await format.run(makeInput(Number(seed), format, i), dir);
  } catch (err) {
    o = {
      cls: "crash",
      detail: `the harness failed: ${err instanceof Error ? err.stack : err}`,
    };
  }
  say({ i, rss: Deno.memoryUsage().rss, ...o });
}
