/**
 * Fuzzes the data readers: mutated IDX (plain and gzip), CIFAR-10, PNG,
 * safetensors and Fashion-MNIST files, each accepted result checked against
 * an independent oracle (`_oracles.ts`), each rejection required to be an
 * `Error` whose message starts with the reader's name.
 *
 * Each format runs in a child `deno` process that reports every input as it
 * finishes, with the time spent in the reader and its resident memory. An
 * input whose reader takes longer than the limit (default 2 s) is a hang;
 * when no report comes within twice the limit plus a second, the child is
 * killed (SIGKILL) and a new one carries on after that input. A child that
 * dies, or whose resident memory passes the limit (default 1536 MB; its V8
 * heap is capped the same), is a crash. Nothing needs more than
 * --allow-read, --allow-write and --allow-run: no permission prompt. (A
 * Worker would not do: in Deno 2.9 `terminate()` does not stop a worker
 * spinning in a loop.)
 *
 * Same seed, same inputs: input i of a format is made from its own
 * generator, seeded from (seed, format, i), so it can be rebuilt alone
 * (`--index`).
 *
 * ```sh
 * deno task fuzz [N] [--seed S] [--format idx,png,...] [--timeout MS]
 *                [--max-rss MB] [--jobs J] [--out DIR]
 * deno task fuzz --format png --seed S --index I [--out DIR]   # one input
 * ```
 *
 * Exits with status 1 when any input fails (accepted-wrong, raw-exception,
 * hang, crash), after printing the first reproducers (saved under --out,
 * by default a new temporary directory).
 *
 * @module
 */
import {
  type Case,
  type Class,
  CLASSES,
  FAILURES,
  FORMATS,
  makeInput,
  type Outcome,
} from "./_formats.ts";

/** Options of {@linkcode runFuzz}. */
export interface FuzzOptions {
  /** Inputs per format. */
  n: number;
  /** The seed that determines every input (default 1). */
  seed?: number;
  /** Format names (default: all). */
  formats?: string[];
  /** Time limit per input in milliseconds (default 2000). */
  timeoutMs?: number;
  /** Resident memory limit of a child process in MB (default 1536). */
  maxRssMb?: number;
  /** Formats run at once (default: the number of CPUs). */
  jobs?: number;
  /** Where reproducers go (default: a new temporary directory, made on the first failure). */
  out?: string;
  /** Reproducers saved per format (default 5). */
  keep?: number;
  /** The child script (default `./_runner.ts`; tests pass one that hangs or dies). */
  runner?: URL;
}

/** One failed input. */
export interface Failure {
  format: string;
  index: number;
  cls: Class;
  detail: string;
  /** The saved input (a directory of its files), when saved. */
  saved?: string;
}

/** What one format's run found. */
export interface FormatReport {
  format: string;
  counts: Record<Class, number>;
  /** Rejected inputs the oracle thought valid (not failures, but worth a look). */
  validRejected: number;
  /** Why inputs were unchecked, with counts. */
  unchecked: Map<string, number>;
  failures: Failure[];
  /** Wall-clock milliseconds. */
  ms: number;
  /** The slowest reader call, in milliseconds. */
  maxMs: number;
}

const ROOT = new URL("../../", import.meta.url);
const RUNNER = new URL("./_runner.ts", import.meta.url);
/** Time a fresh child gets to load its modules before its first input. */
const STARTUP_MS = 120_000;

/** Writes an input's files into `dir`. */
async function saveCase(dir: string, input: Case): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, b] of Object.entries(input)) {
    if (b) await Deno.writeFile(`${dir}/${name}`, b);
  }
}

/** Reads a child's stdout line by line, each line within a deadline. */
class Lines {
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next line, null at the end, "timeout" past `ms`. */
  async next(ms: number): Promise<string | null | "timeout"> {
    const deadline = performance.now() + ms;
    while (true) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"timeout">((res) => {
        timer = setTimeout(
          () => res("timeout"),
          Math.max(0, deadline - performance.now()),
        );
      });
      const r = await Promise.race([this.#reader.read(), late]);
      clearTimeout(timer);
      if (r === "timeout") return r;
      if (r.done) return null;
      this.#buf += r.value;
    }
  }
  /** Stops reading. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** Runs `n` inputs of one format in child processes, restarting after a hang or a crash. */
async function runFormat(
  name: string,
  o: Required<Omit<FuzzOptions, "formats" | "jobs" | "out">> & {
    work: string;
    saveDir: () => Promise<string>;
  },
): Promise<FormatReport> {
  const format = FORMATS.find((f) => f.name === name)!;
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<
    Class,
    number
  >;
  const report: FormatReport = {
    format: name,
    counts,
    validRejected: 0,
    unchecked: new Map(),
    failures: [],
    ms: 0,
    maxMs: 0,
  };
  const t0 = performance.now();
  const fail = async (index: number, cls: Class, detail: string) => {
    counts[cls]++;
    const f: Failure = { format: name, index, cls, detail };
    if (report.failures.length < o.keep) {
      f.saved = `${await o.saveDir()}/${name}-${index}`;
      await saveCase(f.saved, makeInput(o.seed, format, index));
    }
    report.failures.push(f);
  };
  let next = 0;
  while (next < o.n) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-read",
        "--allow-write",
        `--v8-flags=--max-old-space-size=${o.maxRssMb}`,
        o.runner.pathname,
        name,
        String(o.seed),
        String(next),
        String(o.n),
        `${o.work}/${name}`,
      ],
      cwd: ROOT.pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const drain = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({
        write: (s) => void (stderr = (stderr + s).slice(-4000)),
      }),
    ).catch(() => {});
    const lines = new Lines(child.stdout);
    let ready = false;
    let restart = false;
    while (next < o.n && !restart) {
      // The watchdog allows for making the input and running the oracle too.
      const line = await lines.next(
        ready ? 2 * o.timeoutMs + 1000 : STARTUP_MS,
      );
      if (line === "timeout" || line === null) {
        if (line === "timeout") {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }
        const status = await child.status;
        await drain;
        if (line === "timeout" && !ready) {
          throw new Error(`fuzz: the ${name} child did not start: ${stderr}`);
        }
        await fail(
          next,
          line === "timeout" ? "hang" : "crash",
          line === "timeout"
            ? `no result within ${
              2 * o.timeoutMs + 1000
            } ms (the child was killed)`
            : `the child exited (code ${status.code}${
              status.signal ? `, ${status.signal}` : ""
            }): ${stderr.trim().slice(-1000)}`,
        );
        next++;
        restart = true;
        break;
      }
      const r = JSON.parse(line) as Outcome & {
        ready?: boolean;
        i: number;
        rss: number;
      };
      if (r.ready) {
        ready = true;
        continue;
      }
      const ms = r.ms ?? 0;
      report.maxMs = Math.max(report.maxMs, ms);
      if (ms > o.timeoutMs) {
        await fail(
          r.i,
          "hang",
          `the reader took ${ms.toFixed(0)} ms (limit ${o.timeoutMs})`,
        );
      } else if (r.rss > o.maxRssMb * 2 ** 20) {
        await fail(
          r.i,
          "crash",
          `resident memory ${
            (r.rss / 2 ** 20).toFixed(0)
          } MB after this input (limit ${o.maxRssMb})`,
        );
        restart = true; // a fresh process, so that later inputs are measured from a clean start
      } else if (FAILURES.includes(r.cls)) {
        await fail(r.i, r.cls, r.detail ?? "");
      } else {
        counts[r.cls]++;
        if (r.validRejected) report.validRejected++;
        if (r.cls === "accepted-unchecked") {
          const why = r.detail ?? "";
          report.unchecked.set(why, (report.unchecked.get(why) ?? 0) + 1);
        }
      }
      next = r.i + 1;
    }
    if (restart && next < o.n) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await lines.cancel();
    await child.status;
    await drain;
  }
  report.ms = performance.now() - t0;
  return report;
}

/**
 * Fuzzes the chosen formats with `n` inputs each; returns one report per
 * format. Needs --allow-read, --allow-write and --allow-run.
 *
 * @example
 * ```ts ignore
 * import { runFuzz } from "./fuzz.ts";
 * const [idx] = await runFuzz({ n: 1000, formats: ["idx"] });
 * console.log(idx.counts["accepted-ok"], idx.failures.length);
 * ```
 */
export async function runFuzz(options: FuzzOptions): Promise<FormatReport[]> {
  const names = options.formats ?? FORMATS.map((f) => f.name);
  for (const n of names) {
    if (!FORMATS.some((f) => f.name === n)) {
      throw new Error(
        `runFuzz: unknown format "${n}" (expected ${
          FORMATS.map((f) => f.name).join(", ")
        })`,
      );
    }
  }
  const work = await Deno.makeTempDir({ prefix: "fuzz-work-" });
  let out = options.out;
  const saveDir = async () => {
    out ??= await Deno.makeTempDir({ prefix: "fuzz-findings-" });
    return out;
  };
  const o = {
    n: options.n,
    seed: options.seed ?? 1,
    timeoutMs: options.timeoutMs ?? 2000,
    maxRssMb: options.maxRssMb ?? 1536,
    keep: options.keep ?? 5,
    runner: options.runner ?? RUNNER,
    work,
    saveDir,
  };
  const reports: FormatReport[] = new Array(names.length);
  let k = 0;
  const worker = async () => {
    while (k < names.length) {
      const i = k++;
      reports[i] = await runFormat(names[i], o);
    }
  };
  try {
    const jobs = Math.max(
      1,
      options.jobs ?? navigator.hardwareConcurrency ?? 1,
    );
    await Promise.all(
      Array.from({ length: Math.min(jobs, names.length) }, worker),
    );
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return reports;
}

/** The report as a table, the reasons for unchecked inputs, and the first failures. */
export function formatReport(reports: FormatReport[], seed: number): string {
  const cols = [
    "format",
    ...CLASSES,
    "oracle-valid-rejected",
    "slowest",
    "time",
  ];
  const rows = reports.map((r) => [
    r.format,
    ...CLASSES.map((c) => String(r.counts[c])),
    String(r.validRejected),
    `${r.maxMs.toFixed(0)} ms`,
    `${(r.ms / 1000).toFixed(1)} s`,
  ]);
  const width = cols.map((c, j) =>
    Math.max(c.length, ...rows.map((r) => r[j].length))
  );
  const line = (r: string[]) =>
    r.map((x, j) => j === 0 ? x.padEnd(width[j]) : x.padStart(width[j])).join(
      "  ",
    );
  const lines = [line(cols), ...rows.map(line)];
  for (const r of reports) {
    if (r.unchecked.size === 0) continue;
    const top = [...r.unchecked].sort((a, b) => b[1] - a[1]).slice(0, 4);
    lines.push(
      `${r.format}: accepted-unchecked because ${
        top.map(([w, c]) => `${w} (${c})`).join("; ")
      }`,
    );
  }
  const failures = reports.flatMap((r) => r.failures);
  if (failures.length > 0) {
    lines.push("", `${failures.length} failures; the first of each format:`);
    for (const r of reports) {
      for (const f of r.failures.slice(0, 3)) {
        lines.push(
          `  ${f.format} #${f.index} ${f.cls}: ${f.detail.slice(0, 300)}`,
        );
        lines.push(
          `    input: ${
            f.saved ?? "(not saved)"
          }  rerun: deno task fuzz --format ${f.format} --seed ${seed} --index ${f.index}`,
        );
      }
    }
  }
  return lines.join("\n");
}

function parseArgs(args: string[]): FuzzOptions & { index?: number } {
  const o: FuzzOptions & { index?: number } = { n: 20_000 };
  const num = (flag: string, v: string | undefined) => {
    const x = Number(v);
    if (v === undefined || !Number.isSafeInteger(x) || x < 0) {
      throw new Error(`fuzz: ${flag} needs a non-negative integer, got ${v}`);
    }
    return x;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const value = () => inline ?? args[++i];
    if (flag === "--seed") o.seed = num(flag, value());
    else if (flag === "--format" || flag === "--formats") {
      o.formats = value().split(",");
    } else if (flag === "--timeout") o.timeoutMs = num(flag, value());
    else if (flag === "--max-rss") o.maxRssMb = num(flag, value());
    else if (flag === "--jobs") o.jobs = num(flag, value());
    else if (flag === "--out") o.out = value();
    else if (flag === "--index") o.index = num(flag, value());
    else if (/^[0-9]+$/.test(a)) o.n = Number(a);
    else {throw new Error(
        `fuzz: unknown argument ${a} (usage: deno task fuzz [N] [--seed S] [--format F,...] [--timeout MS] [--max-rss MB] [--jobs J] [--out DIR] [--index I])`,
      );}
  }
  return o;
}

/** `--index I`: runs one input in this process and prints what happened. */
async function runOne(o: FuzzOptions & { index: number }): Promise<number> {
  const seed = o.seed ?? 1;
  let status = 0;
  for (const name of o.formats ?? FORMATS.map((f) => f.name)) {
    const format = FORMATS.find((f) => f.name === name);
    if (!format) throw new Error(`fuzz: unknown format ${name}`);
    const input = makeInput(seed, format, o.index);
    const dir = await Deno.makeTempDir({ prefix: "fuzz-one-" });
    const t0 = performance.now();
    const r = await format.run(input, dir);
    const ms = performance.now() - t0;
    await Deno.remove(dir, { recursive: true });
    const sizes = Object.entries(input).map(([n, b]) =>
      `${n}: ${b ? `${b.length} bytes` : "absent"}`
    ).join(", ");
    console.log(
      `${name} #${o.index} (${sizes}): ${r.cls} in ${ms.toFixed(1)} ms${
        r.detail ? `: ${r.detail}` : ""
      }`,
    );
    if (o.out) {
      await saveCase(`${o.out}/${name}-${o.index}`, input);
      console.log(`  saved to ${o.out}/${name}-${o.index}`);
    }
    if (FAILURES.includes(r.cls)) status = 1;
  }
  return status;
}

if (import.meta.main) {
  const o = parseArgs(Deno.args);
  if (o.index !== undefined) Deno.exit(await runOne({ ...o, index: o.index }));
  const seed = o.seed ?? 1;
  console.log(
    `fuzz: ${o.n} inputs per format, seed ${seed}, limit ${
      o.timeoutMs ?? 2000
    } ms and ${o.maxRssMb ?? 1536} MB per input; readers: ${
      FORMATS.filter((f) => o.formats?.includes(f.name) ?? true)
        .map((f) => `${f.name} ${f.readers.join("+")}`).join(", ")
    }`,
  );
  const t0 = performance.now();
  const reports = await runFuzz(o);
  console.log(formatReport(reports, seed));
  const failed = reports.some((r) => r.failures.length > 0);
  console.log(
    `${failed ? "FAILED" : "ok"} in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  Deno.exit(failed ? 1 : 0);
}
