/**
 * Argument checking shared by the CNN ops: shape formatting, `[h, w]`
 * pairs, batched or unbatched images, float-only inputs. @internal
 *
 * @module
 */
import { fmtShape as fmt, type Tensor } from "./tensor.ts";

export { fmt };

/** A size given as one number for both axes or as `[h, w]`. */
export type Pair = number | [number, number] | readonly [number, number];

/** A number or `[h, w]` pair of integers >= min; `fn` and `name` name the caller and option in errors. @internal */
export function pair(
  fn: string,
  name: string,
  v: unknown,
  min: number,
): [number, number] {
  const p = typeof v === "number" ? [v, v] : v;
  if (
    !Array.isArray(p) || p.length !== 2 ||
    !p.every((d) => Number.isInteger(d) && d >= min)
  ) {
    throw new Error(
      `${fn}: ${name} must be an integer >= ${min} or a pair [h, w] of them, got ${
        JSON.stringify(v)
      }`,
    );
  }
  return [p[0], p[1]];
}

/** x's shape as a batch: `[N, C, H, W]` as it is, an unbatched `[C, H, W]` with N = 1. */
export function batchShape(
  fn: string,
  shape: readonly number[],
): readonly number[] {
  if (shape.length === 3) return [1, ...shape];
  if (shape.length !== 4) {
    throw new Error(
      `${fn}: x must be [N, C, H, W] or unbatched [C, H, W], got ${fmt(shape)}`,
    );
  }
  return shape;
}

export function floatCheck(fn: string, name: string, t: Tensor): void {
  if (t.dtype === "int32") {
    throw new Error(
      `${fn}: ${name} must be float32 or float64, got int32 ${fmt(t.shape)}`,
    );
  }
}
