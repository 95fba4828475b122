/**
 * The examples' command line: `node:util`'s `parseArgs` (which Deno
 * provides) tokenizes `--name value`, `--name=value`, boolean `--flag` and
 * `--no-flag`; this layer adds typed values, choices, defaults and the usage
 * text. Unknown flags and bad values print the usage and exit with code 2.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setNumThreads } from "../mod.ts";

/** Most threads `--threads` accepts (as `setNumThreads`). */
const MAX_THREADS = 8;

/** One flag: its kind, default and help text. */
export interface FlagSpec {
  kind: "string" | "number" | "int" | "boolean";
  default?: string | number | boolean;
  help: string;
  choices?: readonly string[];
}

/** Thrown for bad command lines; `main` prints usage and exits 2. */
export class UsageError extends Error {}

/** `learningRate` -> `learning-rate`, the flag's name on the command line. */
const kebab = (key: string) =>
  key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

/** Parses `args` against `specs`; throws UsageError for unknown flags or bad values. */
export function parseFlags<S extends Record<string, FlagSpec>>(
  args: readonly string[],
  specs: S,
):
  & {
    [K in keyof S]: S[K]["kind"] extends "boolean" ? boolean
      : S[K]["kind"] extends "string" ? string
      : number;
  }
  & {
    help: boolean;
  } {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string }
  > = { help: { type: "boolean", short: "h" } };
  for (const [k, s] of Object.entries(specs)) {
    options[kebab(k)] = { type: s.kind === "boolean" ? "boolean" : "string" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    }));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const out: Record<string, unknown> = { help: values.help === true };
  for (const [k, spec] of Object.entries(specs)) {
    const name = kebab(k), value = values[name];
    if (value === undefined) out[k] = spec.default;
    else if (typeof value === "boolean") out[k] = value;
    else if (spec.kind === "string") {
      if (spec.choices && !spec.choices.includes(value)) {
        throw new UsageError(
          `--${name} must be one of ${spec.choices.join("|")}, got "${value}"`,
        );
      }
      out[k] = value;
    } else {
      const v = Number(value);
      if (
        value.trim() === "" || !Number.isFinite(v) ||
        (spec.kind === "int" && (!Number.isInteger(v) || v < 0))
      ) {
        throw new UsageError(
          `--${name} must be ${
            spec.kind === "int" ? "a non-negative integer" : "a number"
          }, got "${value}"`,
        );
      }
      out[k] = v;
    }
  }
  // deno-lint-ignore no-explicit-any
  return out as any;
}

/** The usage text of a program. */
export function usage(
  program: string,
  summary: string,
  specs: Record<string, FlagSpec>,
): string {
  const lines = Object.entries(specs).map(([k, s]) => {
    const flag = s.kind === "boolean" ? `--[no-]${kebab(k)}` : "--" + kebab(k);
    const arg = s.kind === "boolean"
      ? ""
      : s.choices
      ? ` ${s.choices.join("|")}`
      : ` ${s.kind === "string" ? "VALUE" : "N"}`;
    const def = s.default === undefined || s.default === ""
      ? ""
      : ` (default ${s.default})`;
    return `  ${(flag + arg).padEnd(34)} ${s.help}${def}`;
  });
  return `${summary}\n\nUsage: deno run ${program} [flags]\n\n${
    lines.join("\n")
  }\n  ${"--help".padEnd(34)} show this help`;
}

/** Runs `main`, turning a UsageError into the usage text and exit code 2. */
export async function runMain(
  program: string,
  summary: string,
  specs: Record<string, FlagSpec>,
  main: (args: string[]) => Promise<void>,
): Promise<void> {
  try {
    await main(Deno.args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${usage(program, summary, specs)}`);
      Deno.exit(2);
    }
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}

/** The `--jit` flag of the examples that train (`--no-jit` for the eager path). */
export const jitFlag = {
  kind: "boolean",
  default: true,
  help:
    "run each training step (loss, gradient, optimizer update) and the evaluation as jit plans (the same numbers; --no-jit for the eager path)",
} as const satisfies FlagSpec;

/** The `--threads N` flag of the examples that train. */
export const threadsFlag: FlagSpec = {
  kind: "int",
  help:
    "threads for the float32 kernels, 1-8 (default: the core count, at most 4); results are the same bits for every count",
};

/** Applies a `--threads` value when one was given (see {@linkcode setNumThreads}). */
export function useThreads(n: number | undefined): void {
  if (n === undefined) return;
  if (!(n >= 1 && n <= MAX_THREADS)) {
    throw new UsageError(
      `--threads must be from 1 to ${MAX_THREADS}, got ${n}`,
    );
  }
  setNumThreads(n);
}

/**
 * The `--out DIR` flag of the examples that write files: by default the
 * `out/` folder of the working directory, which git ignores.
 */
export function outFlag(files: string): FlagSpec & { kind: "string" } {
  return {
    kind: "string",
    default: "out",
    help: `folder to write ${files} into, created if missing`,
  };
}

/** Creates the folder `dir` if it is missing and returns the path of `file` in it. */
export async function outPath(dir: string, file: string): Promise<string> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new Error(`cannot create ${dir}: run with --allow-write`);
    }
    throw e;
  }
  return join(dir, file);
}
