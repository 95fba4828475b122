/**
 * Gradient checking against central finite differences, as
 * `jax.test_util.check_grads`.
 *
 * @module
 */
import {
  checkOptions,
  describe,
  fmtShape,
  showValue,
  type Tensor,
} from "./tensor.ts";
import { outputChecked, treeLeavesOf } from "./_args.ts";
import { add, astype, mul } from "./elementwise.ts";
import { jvp, vjp } from "./transforms.ts";
import {
  type Tree,
  treeFlatten,
  treeMap,
  treePaths,
  treeUnflatten,
} from "./tree.ts";
import * as random from "./random.ts";

/** Options of {@linkcode checkGrads}. */
export interface CheckGradsOptions {
  /** Derivative order to check (1 or 2; 2 also checks the VJP/JVP functions). Default 2. */
  order?: number;
  /** Which modes: reverse (`vjp`) and/or forward (`jvp`). Default both. */
  modes?: ("rev" | "fwd")[];
  /** Finite-difference step. Default 1e-6. */
  eps?: number;
  /** Absolute tolerance. Default 1e-6. */
  atol?: number;
  /** Relative tolerance. Default 1e-5. */
  rtol?: number;
  /** Seed of the random directions. Default 0. */
  seed?: number;
}

let directionKey = random.key(0);
function randomLike(tree: Tree): Tree {
  const [leaves, def] = treeFlatten(tree);
  return treeUnflatten(
    def,
    leaves.map((l) => {
      if (l.dtype === "int32") return l.data.length ? mul(l, 0) : l;
      const [k, next] = random.split(directionKey);
      directionKey = next;
      return random.normal(k, l.shape, { dtype: "float64" });
    }),
  );
}

function toFloat64(tree: Tree): Tree {
  return treeMap(
    (l) => (l.dtype === "float32" ? astype(l, "float64") : l),
    tree,
  );
}

function axpy(a: number, x: Tree, y: Tree): Tree {
  return treeMap(
    (xl, yl) => (yl.dtype === "int32" ? yl : add(yl, mul(xl, a))),
    x,
    y,
  );
}

function flatValues(tree: Tree): number[] {
  return treeFlatten(tree)[0].flatMap((l: Tensor) => Array.from(l.data));
}

function vdot(a: Tree, b: Tree): number {
  const x = flatValues(a), y = flatValues(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

type Fn = (...args: Tree[]) => Tree;

/** What a checked function and its positional arguments are called in errors. */
interface Names {
  /** `f`, or `the VJP function of f` at order 2. */
  fn: string;
  /** Positional argument `i`: `args[0]`, `the cotangent u`. */
  arg: (i: number) => string;
}

function numericalJvp(
  f: Fn,
  args: Tree[],
  dirs: Tree[],
  eps: number,
): number[] {
  const plus = flatValues(f(...args.map((a, i) => axpy(eps, dirs[i], a))));
  const minus = flatValues(f(...args.map((a, i) => axpy(-eps, dirs[i], a))));
  return plus.map((p, i) => (p - minus[i]) / (2 * eps));
}

/** The index of the worst value outside `atol + rtol * |numerical|`, or -1. */
function worstMismatch(
  analytic: number[],
  numerical: number[],
  atol: number,
  rtol: number,
): number {
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < analytic.length; i++) {
    const err = Math.abs(analytic[i] - numerical[i]);
    const excess = err - (atol + rtol * Math.abs(numerical[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  return worst;
}

/** `analytic a vs finite differences b (|diff| ... > atol ... + rtol ... * |numerical|)`. */
function numbers(a: number, b: number, atol: number, rtol: number): string {
  return `analytic ${a} vs finite differences ${b} (|diff| ${
    Math.abs(a - b)
  } > atol ${atol} + rtol ${rtol} * |numerical|)${
    Number.isFinite(a) && Number.isFinite(b)
      ? ""
      : "; a value is NaN or infinite: f or its derivative is not finite at these arguments"
  }`;
}

/** The leaves of the positional arguments, each with its argument, path and flat position. */
function leavesOf(args: Tree[]): {
  arg: number;
  path: string;
  leaf: Tensor;
  index: number;
}[] {
  return args.flatMap((a, arg) =>
    treePaths(a).map(([path, leaf], index) => ({ arg, path, leaf, index }))
  );
}

const leafName = (
  names: Names,
  l: { arg: number; path: string; leaf: Tensor },
) =>
  `${names.arg(l.arg)}${l.path === "" ? "" : ` leaf "${l.path}"`} ${
    fmtShape(l.leaf.shape)
  }`;

/** Row-major multi-index of flat position `k` in `shape`. */
function unravel(k: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = k % shape[d];
    k = Math.floor(k / shape[d]);
  }
  return idx;
}

/** `output leaf "b" [2,3] at index [1,0] (flat output index 4 of 12)`. */
function outputAt(out: Tree, flat: number, total: number): string {
  let k = flat;
  for (const [path, leaf] of treePaths(out)) {
    const n = leaf.data.length;
    if (k < n) {
      const name = path === "" ? "the output" : `output leaf "${path}"`;
      return `${name} ${fmtShape(leaf.shape)}${
        leaf.shape.length ? ` at index ${fmtShape(unravel(k, leaf.shape))}` : ""
      } (flat output index ${flat} of ${total})`;
    }
    k -= n;
  }
  return `flat output index ${flat} of ${total}`;
}

/** A hint when f computes in float32 even though its arguments were cast to float64. */
function float32Hint(out: Tree, eps: number): string {
  const f32 = treePaths(out).find(([, l]) => l.dtype === "float32");
  if (!f32) return "";
  return `; note: f computes in float32 (${
    f32[0] === "" ? "its output" : `output leaf "${f32[0]}"`
  } is float32 although checkGrads casts float32 arguments to float64), and float32 rounding swamps finite differences of step ${eps}: compute in float64, or pass a larger eps, atol and rtol`;
}

/** At most this many argument leaves are tried one by one to name the one whose derivative is wrong. */
const MAX_LOCATE = 64;

/** `dirs` with every float leaf zeroed but leaf number `keep` (in {@linkcode leavesOf}'s order). */
function onlyLeaf(dirs: Tree[], keep: number): Tree[] {
  let k = 0;
  return dirs.map((d) => {
    const [leaves, def] = treeFlatten(d);
    return treeUnflatten(
      def,
      leaves.map((l) => (k++ === keep || l.dtype === "int32" ? l : mul(l, 0))),
    );
  });
}

function checkOnce(
  f: Fn,
  args: Tree[],
  mode: "rev" | "fwd",
  order: number,
  o: Required<CheckGradsOptions>,
  names: Names,
): void {
  const dirs = args.map(randomLike);
  const num = numericalJvp(f, args, dirs, o.eps);
  const of = names.fn === "f" ? "" : `, of ${names.fn}`;
  const leaves = leavesOf(args);
  const floatLeaves = leaves
    .map((l, i) => [l, i] as const)
    .filter(([l]) => l.leaf.dtype !== "int32" && l.leaf.data.length > 0);
  if (mode === "fwd") {
    const [, t] = jvp(f, args, dirs);
    const analytic = flatValues(t);
    const bad = worstMismatch(analytic, num, o.atol, o.rtol);
    if (bad < 0) return;
    // which argument leaf's tangent makes the output wrong
    let along = "";
    if (floatLeaves.length > 1 && floatLeaves.length <= MAX_LOCATE) {
      for (const [l, i] of floatLeaves) {
        const d = onlyLeaf(dirs, i);
        const a = flatValues(jvp(f, args, d)[1]);
        const n = numericalJvp(f, args, d, o.eps);
        if (worstMismatch(a, n, o.atol, o.rtol) >= 0) {
          along = `, along ${leafName(names, l)}`;
          break;
        }
      }
    } else if (floatLeaves.length === 1) {
      along = `, along ${leafName(names, floatLeaves[0][0])}`;
    }
    throw new Error(
      `checkGrads: JVP (order ${order}${of}) mismatch at ${
        outputAt(t, bad, analytic.length)
      }${along}: ${numbers(analytic[bad], num[bad], o.atol, o.rtol)}${
        float32Hint(t, o.eps)
      }`,
    );
  }
  const [y, back] = vjp(f, ...args);
  const u = randomLike(y);
  const cts = back(u);
  const lhs = cts.reduce((s: number, c, i) => s + vdot(c, dirs[i]), 0);
  const flatU = flatValues(u);
  const rhs = num.reduce((s, v, i) => s + v * flatU[i], 0);
  if (worstMismatch([lhs], [rhs], o.atol, o.rtol) < 0) return;
  // name the argument leaf whose cotangent is wrong: <vjp(u)_leaf, v_leaf> vs <u, J v_leaf>
  let leafLhs = lhs, leafRhs = rhs, which = "";
  if (floatLeaves.length === 1) {
    which = ` in the gradient of ${leafName(names, floatLeaves[0][0])}`;
  } else if (floatLeaves.length > 1 && floatLeaves.length <= MAX_LOCATE) {
    const ctLeaves = leavesOf(cts);
    for (const [l, i] of floatLeaves) {
      const d = onlyLeaf(dirs, i);
      const ct = ctLeaves.find((c) => c.arg === l.arg && c.index === l.index);
      const dl = leavesOf(d).find((c) =>
        c.arg === l.arg && c.index === l.index
      );
      if (!ct || !dl) continue;
      const a = vdot(ct.leaf, dl.leaf);
      const n = numericalJvp(f, args, d, o.eps)
        .reduce((s, v, k) => s + v * flatU[k], 0);
      if (worstMismatch([a], [n], o.atol, o.rtol) >= 0) {
        which = ` in the gradient of ${leafName(names, l)}`;
        leafLhs = a;
        leafRhs = n;
        break;
      }
    }
  }
  throw new Error(
    `checkGrads: VJP (order ${order}${of}, <vjp(u), v> vs <u, J v>) mismatch${which}: ${
      numbers(leafLhs, leafRhs, o.atol, o.rtol)
    }${float32Hint(y, o.eps)}`,
  );
}

/**
 * Checks the derivatives of `f` at `args` (an array of positional arguments,
 * each a tensor or a tree) against central finite differences along random
 * directions, in float64, as `jax.test_util.check_grads`. With `order: 2` it
 * also checks the derivatives of the VJP and JVP functions themselves.
 * Throws an error naming the worst mismatch: the two numbers, the output
 * leaf and index (forward mode), the argument leaf whose derivative is wrong
 * (tried leaf by leaf, up to 64 leaves, once a check fails), and a hint when
 * `f` computes in float32 (float32 arguments are cast to float64 first).
 *
 * Types: `A` is the tuple of `f`'s parameters, trees of tensors, and `args`
 * must match it; `f` returns a tree of tensors.
 *
 * @example
 * ```ts
 * import { checkGrads, mul, sum, tanh, type Tensor, tensor } from "../mod.ts";
 * checkGrads((x: Tensor) => sum(mul(tanh(x), x)), [tensor([0.5, -1.2, 2])]);
 * ```
 */
export function checkGrads<A extends Tree[]>(
  f: (...args: A) => Tree,
  args: A,
  options?: CheckGradsOptions,
): void {
  if (options === undefined) options = {};
  const fn = "checkGrads";
  checkOptions(fn, options, ["order", "modes", "eps", "atol", "rtol", "seed"]);
  if (typeof f !== "function") {
    throw new Error(`${fn}: f must be a function, got ${describe(f)}`);
  }
  if (!Array.isArray(args)) {
    throw new Error(
      `${fn}: args must be an array of positional arguments, got ${
        describe(args)
      }`,
    );
  }
  const o: Required<CheckGradsOptions> = {
    order: 2,
    modes: ["rev", "fwd"],
    eps: 1e-6,
    atol: 1e-6,
    rtol: 1e-5,
    seed: 0,
    ...options,
  };
  if (!(o.order === 1 || o.order === 2)) {
    throw new Error(`${fn}: order must be 1 or 2, got ${showValue(o.order)}`);
  }
  if (
    !Array.isArray(o.modes) || o.modes.length === 0 ||
    !o.modes.every((m) => m === "rev" || m === "fwd")
  ) {
    throw new Error(
      `${fn}: modes must be a non-empty array of "rev" and/or "fwd", got ${
        describe(o.modes)
      }`,
    );
  }
  for (const k of ["eps", "atol", "rtol"] as const) {
    if (typeof o[k] !== "number" || !(o[k] >= 0) || !Number.isFinite(o[k])) {
      throw new Error(
        `${fn}: ${k} must be a finite non-negative number, got ${
          describe(o[k])
        }`,
      );
    }
  }
  if (!(o.eps > 0)) {
    throw new Error(`${fn}: eps must be positive, got ${o.eps}`);
  }
  if (!Number.isSafeInteger(o.seed)) {
    throw new Error(`${fn}: seed must be an integer, got ${describe(o.seed)}`);
  }
  (args as unknown[]).forEach((a, i) => treeLeavesOf(fn, `args[${i}]`, a));
  directionKey = random.key(o.seed);
  const a64 = (args as Tree[]).map(toFloat64);
  const run = (g: Fn, xs: Tree[], order: number, names: Names) => {
    for (const mode of o.modes) {
      if (mode !== "rev" && mode !== "fwd") {
        throw new Error(
          `${fn}: modes must contain "rev" and/or "fwd", got ${
            showValue(o.modes)
          }`,
        );
      }
      checkOnce(g, xs, mode, o.order - order + 1, o, names);
      if (order < 2) continue;
      if (mode === "rev") {
        // the VJP function of (args, u) is itself checked to order - 1
        const [y] = vjp(g, ...xs);
        const u = randomLike(y);
        const n = xs.length;
        run(
          (...au: Tree[]) => vjp(g, ...au.slice(0, -1))[1](au[au.length - 1]),
          [...xs, u],
          order - 1,
          {
            fn: `the VJP function (args, u) => vjp(${names.fn})(u)`,
            arg: (i) => (i < n ? names.arg(i) : "the cotangent u"),
          },
        );
      } else {
        const dirs = xs.map(randomLike);
        const n = xs.length;
        run(
          (...pt: Tree[]) => jvp(g, pt.slice(0, n), pt.slice(n))[1],
          [...xs, ...dirs],
          order - 1,
          {
            fn: `the JVP function (args, tangents) => jvp(${names.fn})`,
            arg: (i) =>
              i < n ? names.arg(i) : `the tangent of ${names.arg(i - n)}`,
          },
        );
      }
    }
  };
  // (f's output checked first, so that a non-tree names checkGrads)
  run(outputChecked(fn, f as Fn), a64, o.order, {
    fn: "f",
    arg: (i) => `args[${i}]`,
  });
}
