/**
 * The examples' command line: `node:util`'s `parseArgs` (which Deno
 * provides) tokenizes `--name value`, `--name=value`, boolean `--flag` and
 * `--no-flag`; this layer adds typed values, choices, ranges, defaults and
 * the usage text. Unknown flags, an empty value and a value of the wrong
 * kind or out of range print the usage and exit with code 2 (a flag given
 * twice takes its last value, as argparse's); so do paths that cannot
 * work (`--save` into a missing folder, `--out` naming a file), found
 * before any work.
 *
 * @module
 */
import { dirname, join } from "node:path";
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
  /** Smallest value a number or int flag accepts (ints: 0 unless given). */
  min?: number;
  /** Largest value a number or int flag accepts (ints: 2^53 - 1 unless given). */
  max?: number;
}

/**
 * Most `--epochs` of the examples that draw a key per epoch up front
 * (`random.split(key, epochs)`: a JavaScript object each).
 */
export const MAX_EPOCHS = 100_000;

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
      if (value === "") {
        throw new UsageError(`--${name} needs a value, got ""`);
      }
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
      const min = spec.min ?? (spec.kind === "int" ? 0 : -Infinity);
      const max = spec.max ??
        (spec.kind === "int" ? Number.MAX_SAFE_INTEGER : Infinity);
      if (v < min || v > max) {
        throw new UsageError(
          `--${name} must be ${
            v < min ? `at least ${min}` : `at most ${max}`
          }, got ${value}`,
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
    const range = s.min !== undefined && s.max !== undefined
      ? ` (${s.min} to ${s.max})`
      : s.min !== undefined
      ? ` (at least ${s.min})`
      : s.max !== undefined
      ? ` (at most ${s.max})`
      : "";
    return `  ${(flag + arg).padEnd(34)} ${s.help}${range}${def}`;
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

/** Whether Deno has `name` ("read" or "write") permission for `path` (never prompts). */
function allowed(name: "read" | "write", path: string): boolean {
  return Deno.permissions.querySync({ name, path }).state === "granted";
}

/**
 * Checks, before any work, that `path` may be read and written (`needs`):
 * throws an Error naming `what` (the flag and its value) and the
 * permission flags to add, instead of failing (or prompting) at the end.
 */
export function requirePermissions(
  what: string,
  path: string,
  needs: readonly ("read" | "write")[],
): void {
  const missing = needs.filter((n) => !allowed(n, path));
  if (missing.length > 0) {
    throw new Error(
      `${what}: run with ${needs.map((n) => `--allow-${n}`).join(" ")}`,
    );
  }
}

/** `Deno.stat`, or null when nothing is at `path`; other errors name `what`. */
async function statOrNull(
  what: string,
  path: string,
): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Checks, before any work, that the file `path` given to `flag` (`--save`)
 * can be written: the permissions (read too, as the atomic write needs
 * it), an existing folder to hold it, and no folder at the path itself.
 */
export async function checkWritableFile(
  flag: string,
  path: string,
): Promise<void> {
  requirePermissions(`${flag} ${path}`, path, ["read", "write"]);
  const at = await statOrNull(`${flag} ${path}`, path);
  if (at?.isDirectory) {
    throw new UsageError(
      `${flag} ${path} is a folder: expected the path of a file to write`,
    );
  }
  const dir = dirname(path);
  const parent = await statOrNull(`${flag} ${path}`, dir);
  if (!parent) {
    throw new UsageError(
      `${flag} ${path}: the folder ${dir} does not exist (create it first)`,
    );
  }
  if (!parent.isDirectory) {
    throw new UsageError(`${flag} ${path}: ${dir} is not a folder`);
  }
  await probeWrite(`${flag} ${path}`, dir);
}

/**
 * Writes and removes an empty file in `dir`: a read-only folder (or one
 * Deno keeps to --allow-all, as /sys) is found before any work.
 */
async function probeWrite(what: string, dir: string): Promise<void> {
  let probe: string;
  try {
    probe = await Deno.makeTempFile({ dir, prefix: ".write-check-" });
  } catch (e) {
    throw new Error(
      `${what}: cannot write into ${dir}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  await Deno.remove(probe);
}

/**
 * Reads the file `path` given to `flag` (`--load`), with errors that name
 * the flag: a missing file, a folder, no permission.
 */
export async function readFileFlag(
  flag: string,
  path: string,
): Promise<Uint8Array> {
  requirePermissions(`${flag} ${path}`, path, ["read"]);
  const at = await statOrNull(`${flag} ${path}`, path);
  if (!at) throw new UsageError(`${flag} ${path}: no such file`);
  if (!at.isFile) {
    throw new UsageError(
      `${flag} ${path} is ${
        at.isDirectory ? "a folder" : "not a regular file"
      }, expected a file`,
    );
  }
  return await Deno.readFile(path);
}

/**
 * Creates the folder `dir` (the value of `--out`) if it is missing and
 * returns the paths of `files` in it. Call it before the work whose
 * results go there: a folder that cannot be made, or missing permissions
 * (`needs`: "read" too for the atomic writes of `writePng` and
 * `saveSafetensors`), are reported before anything is computed or written.
 */
export async function outPaths(
  dir: string,
  files: readonly string[],
  needs: readonly ("read" | "write")[] = ["read", "write"],
): Promise<string[]> {
  requirePermissions(`--out ${dir}`, dir, needs);
  const at = await statOrNull(`--out ${dir}`, dir).catch(() => null);
  if (at && !at.isDirectory) {
    throw new UsageError(`--out ${dir} is a file, expected a folder`);
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new Error(
      `--out ${dir}: cannot create the folder: ${(e as Error).message}`,
      { cause: e },
    );
  }
  await probeWrite(`--out ${dir}`, dir);
  return files.map((f) => join(dir, f));
}

/** {@linkcode outPaths} of one file. */
export async function outPath(
  dir: string,
  file: string,
  needs: readonly ("read" | "write")[] = ["read", "write"],
): Promise<string> {
  return (await outPaths(dir, [file], needs))[0];
}
