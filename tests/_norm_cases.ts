/**
 * The normalization fixture cases (values, running statistics, gradients
 * of sum(y·cotangent) and Hessian-vector products from PyTorch 1.13),
 * shared by tests/norm_probe_test.ts and tests/bn_eps0_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, sameBits } from "./_helpers.ts";
import {
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";

const f64 = { dtype: "float64" as const };

/** A case of the fixtures. */
export type NormCase = {
  op: string;
  name: string;
  dtype: "float32" | "float64";
  // deno-lint-ignore no-explicit-any
  options: any;
  inputs: Record<string, J>;
  outputs: Record<string, J>;
  cotangent: J;
  grads: Record<string, J>;
  v?: Record<string, J>;
  hvp?: Record<string, J>;
};
/** What a norm returns. */
export type NormOut = {
  y: Tensor;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
};

/** The library's op for case `c` on the tensors `v` (by name). */
export function callNorm(c: NormCase, v: Record<string, Tensor>): NormOut {
  const { normalizedShape, numGroups, size, ...o } = c.options;
  const given = (k: string) => v[k] ?? null;
  switch (c.op) {
    case "batchNorm":
    case "instanceNorm": {
      const opts = {
        ...o,
        weight: given("weight"),
        bias: given("bias"),
        runningMean: given("runningMean"),
        runningVar: given("runningVar"),
      };
      return c.op === "batchNorm"
        ? T.batchNorm(v.x, opts)
        : T.instanceNorm(v.x, opts);
    }
    case "layerNorm":
      return {
        y: T.layerNorm(v.x, normalizedShape, given("weight"), given("bias"), o),
      };
    case "groupNorm":
      return {
        y: T.groupNorm(v.x, numGroups, given("weight"), given("bias"), o),
      };
    case "localResponseNorm":
      return { y: T.localResponseNorm(v.x, size, o) };
  }
  throw new Error(`unknown op ${c.op}`);
}

/** y, the running statistics (where returned), the gradients of sum(y·cotangent) and, with `v`, the Hessian-vector products of case `c`. */
export function evaluate(
  c: NormCase,
  inputs: Record<string, Tensor>,
): Tensor[] {
  const names = Object.keys(c.grads);
  const call = (...xs: Tensor[]) =>
    callNorm(c, {
      ...inputs,
      ...Object.fromEntries(names.map((n, i) => [n, xs[i]])),
    });
  const ct = toT(c.cotangent);
  const loss = (...xs: Tensor[]) => T.sum(T.mul(call(...xs).y, ct));
  const argnums = names.map((_, i) => i);
  const primals = names.map((n) => inputs[n]);
  const out = call(...primals);
  const res = [out.y];
  for (const k of ["runningMean", "runningVar"] as const) {
    if (c.outputs[k]) res.push(out[k]!);
  }
  res.push(...(T.grad(loss, { argnums })(...primals) as Tensor[]));
  if (c.v) {
    const vs = names.map((n) => toT(c.v![n]));
    const dot = (...xs: Tensor[]) => {
      const gs = T.grad(loss, { argnums })(...xs) as Tensor[];
      return gs.reduce(
        (s: Tensor, g, i) => T.add(s, T.sum(T.mul(g, vs[i]))),
        T.zeros([], f64),
      );
    };
    res.push(...(T.grad(dot, { argnums })(...primals) as Tensor[]));
  }
  return res;
}

/** PyTorch's numbers of case `c` in the order {@linkcode evaluate} gives them. */
export function expected(c: NormCase): [string, Tensor][] {
  const names = Object.keys(c.grads);
  const res: [string, Tensor][] = [["y", toT(c.outputs.y)]];
  for (const k of ["runningMean", "runningVar"]) {
    if (c.outputs[k]) res.push([k, toT(c.outputs[k])]);
  }
  names.forEach((n) => res.push([`grad ${n}`, toT(c.grads[n])]));
  if (c.hvp) names.forEach((n) => res.push([`hvp ${n}`, toT(c.hvp![n])]));
  return res;
}

/** The case's inputs as tensors, by name. */
export const inputsOf = (c: NormCase) =>
  Object.fromEntries(
    Object.entries(c.inputs).map(([k, j]) => [k, toT(j)]),
  ) as Record<string, Tensor>;

/**
 * Checks case `c` against PyTorch's numbers (2e-5 in float32, 1e-10 in
 * float64), and that a jitted evaluation gives the eager bits.
 */
export function checkNormCase(c: NormCase): void {
  const tol = c.dtype === "float32"
    ? { atol: 2e-5, rtol: 2e-5 }
    : { atol: 1e-10, rtol: 1e-10 };
  const inputs = inputsOf(c);
  const got = evaluate(c, inputs);
  const want = expected(c);
  assert.equal(got.length, want.length);
  want.forEach(([what, w], i) => {
    assert.equal(got[i].dtype, c.dtype, `${c.name}: ${what} dtype`);
    assertAllClose(got[i], w, { ...tol, msg: `${c.name}: ${what}` });
  });
  // jit: the eager bits
  const names = Object.keys(inputs);
  const jitted = T.jit((...xs: Tensor[]) =>
    evaluate(c, Object.fromEntries(names.map((n, i) => [n, xs[i]])))
  );
  const replay = jitted(...names.map((n) => inputs[n]));
  got.forEach((g, i) => sameBits(replay[i], g, `${c.name} jit ${i}`));
}
