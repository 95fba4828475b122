/**
 * Argument checking shared by the ops and the transforms, so that they read
 * as what they compute: shape formatting, `[h, w]` pairs, batched or
 * unbatched images, float-only inputs, values under tracers; functions,
 * trees of tensors and matching shapes for the transforms, derivatives'
 * shapes for ad.ts. Every error names the function, the argument, what was
 * expected and what came. @internal
 *
 * @module
 */
import {
  describe,
  fmtShape as fmt,
  isTensor,
  sameShape,
  showValue,
  type Tensor,
} from "./tensor.ts";
import { checkSameStructure, type Tree, treeFlatten } from "./tree.ts";
import { cast } from "./core_prims.ts";

export { fmt };

/** A numeric option `name` of `fn` (`def` when absent): a finite number. @internal */
export function numberOption(
  fn: string,
  name: string,
  v: unknown,
  def: number,
): number {
  const n = v ?? def;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new Error(
      `${fn}: ${name} must be a finite number, got ${describe(n)}`,
    );
  }
  return n;
}

/** Throws unless `v` is a function. */
/**
 * Throws unless `key` is a random key (by its tag: one that `jit` traces
 * included; the samplers check its words); names `fn` and the argument
 * `name`. @internal
 */
export function checkKeyArg(fn: string, key: unknown, name = "key"): void {
  if (
    typeof key !== "object" || key === null ||
    (key as { kind?: unknown }).kind !== "key"
  ) {
    throw new Error(
      `${fn}: ${name} must be a random key (random.key(seed) or one split from it), got ${
        describe(key)
      }`,
    );
  }
}

export function checkFunction(fn: string, name: string, v: unknown): void {
  if (typeof v !== "function") {
    throw new Error(`${fn}: ${name} must be a function, got ${describe(v)}`);
  }
}

/** The leaves of `tree`, or an error saying that `what` is not a tree of tensors. */
export function treeLeavesOf(
  fn: string,
  what: string,
  tree: unknown,
): Tensor[] {
  try {
    return treeFlatten(tree as Tree)[0];
  } catch (e) {
    throw new Error(
      `${fn}: ${what} is not a tree of tensors: ${(e as Error).message}`,
    );
  }
}

/**
 * `f` whose result is checked to be a tree of tensors (`part` picks what is
 * checked: the pair [output, aux] with hasAux), errors naming `fn`.
 * @internal
 */
export function outputChecked<A extends unknown[], R>(
  fn: string,
  f: (...args: A) => R,
  part: (r: R) => unknown = (r) => r,
): (...args: A) => R {
  return (...args: A) => {
    const r = f(...args);
    treeLeavesOf(fn, "the output of f", part(r));
    return r;
  };
}

/** Throws unless every argument is a tree of tensors. */
export function checkArgs(fn: string, args: readonly unknown[]): void {
  args.forEach((a, i) => treeLeavesOf(fn, `argument ${i}`, a));
}

/**
 * Throws unless tree `b` has the structure of `a` (`pair` names both in
 * the error) and each leaf the shape of `a`'s (`leaf(i)` names leaf i of
 * `b`, `whose` the leaves of `a`).
 */
export function checkLike(
  fn: string,
  a: Tree,
  b: Tree,
  pair: string,
  leaf: (i: number) => string,
  whose: string,
): void {
  checkSameStructure(fn, a, b, pair);
  const as = treeFlatten(a)[0], bs = treeFlatten(b)[0];
  bs.forEach((t, i) => {
    if (!sameShape(t.shape, as[i].shape)) {
      throw new Error(
        `${fn}: ${leaf(i)} has shape ${fmt(t.shape)} but ${whose} has ${
          fmt(as[i].shape)
        }`,
      );
    }
  });
}

/**
 * Throws unless `primals` and `tangents` are arrays of one length, the
 * primals trees of tensors and each tangent a tree like its primal.
 */
export function checkTangents(
  fn: string,
  primals: unknown,
  tangents: unknown,
): void {
  if (
    !Array.isArray(primals) || !Array.isArray(tangents) ||
    primals.length !== tangents.length
  ) {
    throw new Error(
      `${fn}: primals and tangents must be arrays of the same length, got ${
        describe(primals)
      } and ${describe(tangents)}`,
    );
  }
  checkArgs(fn, primals);
  primals.forEach((p, i) =>
    checkLike(
      fn,
      p,
      tangents[i],
      `primals[${i}] and tangents[${i}]`,
      (j) => `tangent leaf ${j} of argument ${i}`,
      "its primal",
    )
  );
}

/** Throws unless `cotangent` is a tree like `out` (for `fn`'s returned function). */
export function checkCotangent(fn: string, out: Tree, cotangent: Tree): void {
  checkLike(
    `${fn} (the returned function)`,
    out,
    cotangent,
    "the cotangent and the output",
    (i) => `cotangent leaf ${i}`,
    "the output",
  );
}

/** The positions `argnums` names, each checked against `nargs` arguments. */
export function checkArgnums(
  fn: string,
  argnums: number | readonly number[],
  nargs: number,
): readonly number[] {
  const list = Array.isArray(argnums) ? argnums : [argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= nargs) {
      throw new Error(
        `${fn}: argnums ${
          JSON.stringify(argnums)
        } is out of range for ${nargs} argument(s)`,
      );
    }
  }
  return list;
}

/**
 * Throws if the list `argnums` names a position twice (each position is
 * one differentiated argument: a repeat would get zeros, as the argument
 * is replaced by the last of its copies). Call after {@linkcode checkArgnums}.
 */
export function checkArgnumsUnique(
  fn: string,
  argnums: number | readonly number[],
): void {
  if (!Array.isArray(argnums)) return;
  const seen = new Set<number>();
  for (const a of argnums as readonly number[]) {
    if (seen.has(a)) {
      throw new Error(
        `${fn}: argnums must not repeat a position, got ${
          JSON.stringify(argnums)
        } (${a} is given more than once)`,
      );
    }
    seen.add(a);
  }
}

/** Throws unless argument `i` is a tree of float tensors (int32 has no gradient). */
export function checkDifferentiable(fn: string, i: number, arg: unknown): void {
  for (const l of treeLeavesOf(fn, `argument ${i}`, arg)) {
    if (l.dtype === "int32") {
      throw new Error(
        `${fn}: cannot differentiate with respect to int32 argument ${i} (${
          describe(l)
        }); int32 tensors have no gradient`,
      );
    }
  }
}

/** `f`'s result split into `[scalar, aux]`, checked: a float scalar tensor (and aux with `hasAux`). */
export function checkScalarOutput(
  fn: string,
  res: unknown,
  hasAux: boolean,
): void {
  if (hasAux && (!Array.isArray(res) || res.length !== 2)) {
    throw new Error(
      `${fn}: with hasAux, f must return [value, aux], got ${describe(res)}`,
    );
  }
  const out = hasAux ? (res as unknown[])[0] : res;
  if (!isTensor(out) || out.shape.length !== 0 || out.dtype === "int32") {
    throw new Error(
      `${fn}: f must return a float scalar tensor (shape []), got ${
        describe(out)
      }${
        isTensor(out) && out.shape.length ? "; reduce it with sum or mean" : ""
      }`,
    );
  }
}

/** (re-exported: the option checks here and elsewhere show values with it) */
export { showValue };

/** An integer argument or option `name` of `fn` in [min, max]. @internal */
export function intIn(
  fn: string,
  name: string,
  v: unknown,
  min: number,
  max: number,
): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw new Error(
      `${fn}: ${name} must be an integer in [${min}, ${max}], got ${
        showValue(v)
      }`,
    );
  }
  return v as number;
}

/**
 * Throws unless each array an op would build (`what`, its shape, at most
 * `limit` elements: 2^31 - 1 by default, or 2^26 for a table; and no axis
 * past 2^31 - 1, which an empty array could otherwise have) fits, so an
 * input or option too large for the op is an Error before any work;
 * `context` comes after the op's name in the message. @internal
 */
export function bounded(
  fn: string,
  parts: readonly [string, readonly number[], number?][],
  context = "",
): void {
  for (const [what, shape, limit = 2 ** 31 - 1] of parts) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(n <= limit)) {
      throw new Error(
        `${fn}: ${context}${what} ${
          fmt(shape)
        } would have ${n} elements, more than ${
          limit === 2 ** 31 - 1 ? "2^31 - 1" : `2^${Math.log2(limit)}`
        }`,
      );
    }
    const long = shape.find((d) => !(d <= 2 ** 31 - 1));
    if (long !== undefined) {
      throw new Error(
        `${fn}: ${context}${what} ${
          fmt(shape)
        } would have an axis of ${long}, more than 2^31 - 1`,
      );
    }
  }
}

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
        showValue(v)
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

/**
 * A derivative `g` (from the rule of `name`) of a value `like`, checked for
 * its shape and cast to its dtype.
 */
export function castLike(
  g: Tensor,
  like: Pick<Tensor, "shape" | "dtype">,
  name: string,
): Tensor {
  if (!sameShape(g.shape, like.shape)) {
    throw new Error(
      `internal error: the derivative rule of ${name} gave ${
        describe(g)
      } for a value of shape [${like.shape}]`,
    );
  }
  return cast(g, like.dtype);
}
