/**
 * Private helpers of nn: option checks, PyTorch-style repr formatting and
 * shape arithmetic. Nothing here allocates a tensor.
 *
 * @module
 */
import {
  checkBool,
  checkOptions,
  describe,
  fmtShape,
  showValue,
  sizeOf,
} from "../ops/tensor.ts";

export { checkBool, checkOptions, describe, fmtShape, sizeOf };
export { bounded, checkKeyArg } from "../ops/_args.ts";

/** `[1, 6, 28, 28]`, as torchinfo prints shapes in its table. */
export function fmtShapeSpaced(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

/** `61706` -> `"61,706"`. */
export function withCommas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Python's `repr(float)`: `1.0`, `0.1`, `1e-05`, `1e+16`. */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = v.toExponential().split("e");
  const e = Number(expStr);
  if (e < -4 || e >= 16) {
    return `${mant}e${e < 0 ? "-" : "+"}${
      String(Math.abs(e)).padStart(2, "0")
    }`;
  }
  const s = String(v);
  return s.includes(".") ? s : `${s}.0`;
}

/** A number as Python prints a value the user gave: integers without `.0`. */
export function pyNum(v: number): string {
  return Number.isInteger(v) ? String(v) : pyFloat(v);
}

/** `True` / `False`. */
export function pyBool(v: boolean): string {
  return v ? "True" : "False";
}

/** A size given as a number or a tuple, printed as Python prints the int or tuple PyTorch stores: `2`, `(4,)`, `(2, 3)`. */
export function pySize(v: number | readonly (number | null)[]): string {
  if (typeof v === "number") return String(v);
  const items = v.map((d) => d === null ? "None" : String(d));
  // (a tuple of one is `(4,)` in Python)
  return `(${items.join(", ")}${items.length === 1 ? "," : ""})`;
}

/** An input shape option: positive integers, batch first; names `fn`. */
export function checkInputShape(fn: string, shape: unknown): number[] {
  if (
    !Array.isArray(shape) || shape.length < 1 ||
    !shape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw new Error(
      `${fn}: inputShape must be an array of positive integers, batch first, got ${
        Array.isArray(shape) ? showValue(shape) : describe(shape)
      }`,
    );
  }
  return shape as number[];
}

/**
 * Runs `f`, which runs the layer on an input of `shape`; an error it throws
 * (the shape does not fit the layer) is named by `fn` and the shape.
 */
export function onShape<T>(
  fn: string,
  shape: readonly number[],
  f: () => T,
): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof Error) || e.message.startsWith(`${fn}:`)) throw e;
    throw new Error(
      `${fn}: inputShape [${shape}] does not fit the layer: ${e.message}`,
    );
  }
}

/** A positive integer option; names the layer and option in errors. */
export function positiveInt(fn: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new Error(
      `${fn}: ${name} must be a positive integer, got ${
        typeof v === "number" ? v : describe(v)
      }`,
    );
  }
  // (a size past 2^31 - 1 could not be a typed array's length)
  if ((v as number) >= 2 ** 31) {
    throw new Error(`${fn}: ${name} must be below 2^31, got ${v}`);
  }
  return v as number;
}

/** A required option bag. */
export function requireOptions(
  fn: string,
  options: unknown,
  required: readonly string[],
  known: readonly string[],
): void {
  if (typeof options !== "object" || options === null) {
    throw new Error(
      `${fn}: expected an options object with ${required.join(", ")}, got ${
        describe(options)
      }`,
    );
  }
  checkOptions(fn, options, known);
  for (const k of required) {
    if ((options as Record<string, unknown>)[k] === undefined) {
      throw new Error(`${fn}: options.${k} is required`);
    }
  }
}

/**
 * Throws unless `shape` is a sequence of `size` features, `[seq, batch,
 * size]` (`[batch, seq, size]` with `batchFirst`) or unbatched `[seq,
 * size]`, as the recurrent and attention layers take; `where` names the
 * caller and `what` describes x.
 */
export function checkSequenceShape(
  where: string,
  shape: readonly number[],
  what: string,
  size: number,
  batchFirst: boolean,
): void {
  const rank = shape.length;
  if ((rank !== 2 && rank !== 3) || shape[rank - 1] !== size) {
    throw new Error(
      `${where}: x must be [seq, batch, ${size}]${
        batchFirst ? ` (batchFirst: [batch, seq, ${size}])` : ""
      } or unbatched [seq, ${size}], got ${what}`,
    );
  }
}
