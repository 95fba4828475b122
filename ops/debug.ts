/**
 * Debugging aids of the primitive dispatch: NaN checks (`setDebugNans`, as
 * `jax_debug_nans`) and the user-level op that errors name (the public
 * composite the user called, or `backward of <op>` while a derivative rule
 * runs). The core runs every concrete forward through {@linkcode runForward}
 * (the NaN check, and an error naming the op when a result cannot be
 * allocated) and notes every primitive it binds for
 * {@linkcode recordPrimitives}; the derivative tracers say when they are
 * at work ({@linkcode differentiating}).
 *
 * @module
 */
import { checkNotDonated, describe, fmtShape, type Tensor } from "./tensor.ts";

let debugNans = false;

/**
 * The user-level op being computed, as errors should name it: the public
 * composite the user called (`crossEntropy`, not its internal `sub`), or
 * `backward of <op>` / `jvp of <op>` while a derivative rule runs. Null at
 * the top level, where a primitive is named by itself.
 */
let opLabel: string | null = null;
const keepLabel: Disposable = { [Symbol.dispose]() {} };

/**
 * Names the public composite op that is running, for the debug NaN checks:
 * `using _op = userOp("crossEntropy");` as the first line of its body. The
 * outermost one wins (crossEntropy calling logSoftmax stays crossEntropy);
 * the name is dropped when the body returns or throws. @internal
 */
export function userOp(name: string): Disposable {
  if (opLabel !== null) return keepLabel;
  opLabel = name;
  return {
    [Symbol.dispose]() {
      opLabel = null;
    },
  };
}

/** Runs `f` with `label` as the user-level op (a derivative rule of one). */
export function labelled<T>(label: string, f: () => T): T {
  const outer = opLabel;
  opLabel = label;
  try {
    return f();
  } finally {
    opLabel = outer;
  }
}

/**
 * Turns NaN checking on or off (off by default, as `jax_debug_nans`): when
 * on, any primitive that makes a NaN from inputs without one throws an
 * error naming the op the user called (`crossEntropy: produced NaN ... (in
 * its internal sub ...)`), or, when a derivative rule made it, `backward of
 * <op>` (`jvp of <op>` in forward mode). A `jit` replay checks too, with
 * the same errors (its fused loops run op by op while the checks are on).
 *
 * @example
 * ```ts
 * import { log, setDebugNans, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * setDebugNans(true);
 * assert.throws(() => log(tensor([-1])), /log: produced NaN from inputs without NaN/);
 * setDebugNans(false);
 * ```
 *
 * @example A NaN made by the gradient of `log` at 0 (where picks the 0, its
 * gradient sends 0 to log, and log's VJP computes 0 / 0):
 * ```ts
 * import { grad, greater, log, setDebugNans, sum, type Tensor, tensor, where } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const f = (x: Tensor) => sum(where(greater(x, 0), log(x), 0));
 * setDebugNans(true);
 * assert.throws(() => grad(f)(tensor([0, 1])), /^Error: backward of log: produced NaN/);
 * setDebugNans(false);
 * ```
 */
export function setDebugNans(on: boolean): void {
  if (typeof on !== "boolean") {
    throw new Error(`setDebugNans: on must be a boolean, got ${describe(on)}`);
  }
  debugNans = on;
}

/** Whether the debug NaN checks are on (`jit`'s replay asks per call). @internal */
export function debugNansOn(): boolean {
  return debugNans;
}

function hasNan(t: Tensor): boolean {
  if (t.dtype === "int32") return false;
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (d[i] !== d[i]) return true;
  return false;
}

export function checkNans(
  name: string,
  inputs: Tensor[],
  out: Tensor,
): void {
  if (!debugNans) return;
  if (hasNan(out) && !inputs.some(hasNan)) {
    const op = opLabel ?? name;
    throw new Error(
      `${op}: produced NaN from inputs without NaN (${
        op === name ? "" : `in its internal ${name}: `
      }inputs ${inputs.map(describe).join(", ")}; output ${
        describe(out)
      }); debug NaN checks are on`,
    );
  }
}

/** The op errors name: the user-level op running, else the primitive `name`. @internal */
export function currentOp(name: string): string {
  return opLabel ?? name;
}

/**
 * Runs the forward kernel call of primitive `name` on concrete inputs, then
 * the NaN check; a result too large to allocate is an Error naming the op
 * (not V8's RangeError from deep in a kernel). @internal
 */
export function runForward(
  name: string,
  inputs: Tensor[],
  forward: () => Tensor,
): Tensor {
  inputs.forEach((x, i) => checkNotDonated(currentOp(name), `input ${i}`, x));
  let out: Tensor;
  try {
    out = forward();
  } catch (e) {
    throw allocationError(e, currentOp(name), name, inputs);
  }
  checkNans(name, inputs, out);
  return out;
}

/**
 * `e` as thrown by a primitive's forward call: V8's RangeError for a result
 * too large becomes an Error naming the op `op` (the primitive `name`, its
 * inputs' shapes, and `where` it ran); anything else as it is. @internal
 */
export function allocationError(
  e: unknown,
  op: string,
  name: string,
  inputs: readonly Tensor[],
  where = "",
): unknown {
  if (!(e instanceof RangeError)) return e;
  return new Error(
    `${op}: cannot allocate the result of ${name}${where} (inputs ${
      inputs.map((x) => fmtShape(x.shape)).join(", ")
    }): ${e.message}`,
  );
}

let bound: Set<string> | null = null;

/** Notes that primitive `name` was bound (for recordPrimitives). @internal */
export function noteBound(name: string): void {
  bound?.add(name);
}

/**
 * Runs `f` and returns its result with the names of the primitives bound
 * while it ran, derivative rules included (for tests and tools). @internal
 */
export function recordPrimitives<T>(f: () => T): [T, Set<string>] {
  const outer = bound;
  const names = new Set<string>();
  bound = names;
  try {
    return [f(), names];
  } finally {
    bound = outer;
    names.forEach((n) => outer?.add(n));
  }
}

let differentiatingNow = false;

/**
 * True while a primitive's forward runs on inputs traced by `grad`, `vjp` or
 * `jvp` (ad.ts), so that its derivative rules may follow: a forward kernel
 * may then keep what they will ask for (max pooling keeps its argmax).
 * @internal
 */
export function differentiating(): boolean {
  return differentiatingNow;
}

/**
 * Makes {@linkcode differentiating} answer `on`; returns what it answered,
 * for the caller to put back (in a `finally`): jit's replay, which sets it
 * for every step, without a closure per step. @internal
 */
export function swapDifferentiating(on: boolean): boolean {
  const outer = differentiatingNow;
  differentiatingNow = on;
  return outer;
}

/**
 * Runs `f` with {@linkcode differentiating} answering `on` (the derivative
 * tracers; jit's replay: what it answered when the step was recorded).
 * @internal
 */
export function withDifferentiating<T>(on: boolean, f: () => T): T {
  const outer = differentiatingNow;
  differentiatingNow = on;
  try {
    return f();
  } finally {
    differentiatingNow = outer;
  }
}

/**
 * Runs `f` with the debug NaN checks off (a call whose values are dropped,
 * made only for its result's shape). @internal
 */
export function withoutNanChecks<T>(f: () => T): T {
  const outer = debugNans;
  debugNans = false;
  try {
    return f();
  } finally {
    debugNans = outer;
  }
}
