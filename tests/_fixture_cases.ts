/**
 * The case format of the PyTorch op fixtures (numerics.json, norm.json,
 * conv1d.json, gather.json): an op's inputs and options, PyTorch's output, a cotangent
 * and PyTorch's gradients of sum(output · cotangent); the library's answer
 * to one case, and its check.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

/** A tensor of a fixture; JSON has no NaN or infinity, so they come as the strings "NaN", "Infinity", "-Infinity". */
export type FixtureTensor = {
  shape: number[];
  dtype: string;
  data: (number | string)[];
};

/** One case: `grads` are d sum(output · cotangent) / d input, for the inputs named there. */
export type FixtureCase = {
  op: string;
  name: string;
  dtype: "float32" | "float64";
  // deno-lint-ignore no-explicit-any
  options: any;
  inputs: Record<string, FixtureTensor>;
  /** PyTorch's output (fixtures with several outputs name them otherwise). */
  output?: FixtureTensor;
  /** null when no gradient is checked. */
  cotangent: FixtureTensor | null;
  grads: Record<string, FixtureTensor>;
};

/** A number of a fixture (the strings for NaN, the infinities and -0 included). */
export const fixtureNumber = (v: number | string): number =>
  typeof v === "number"
    ? v
    : ({ NaN, Infinity, "-Infinity": -Infinity, "-0": -0 } as Record<
      string,
      number
    >)[v];

/** A fixture tensor as a Tensor. */
export const fixtureTensor = (j: FixtureTensor): Tensor =>
  T.tensor(j.data.map(fixtureNumber), {
    shape: j.shape,
    dtype: j.dtype as T.DType,
  });

/**
 * The library's output for case `c` (`call` computes the op from the inputs
 * by name), the inputs, and its gradients, for the case's cotangent, of the
 * inputs the case has gradients of, in that order (`names`; none when the
 * case has no cotangent).
 */
export function caseVjp(
  c: FixtureCase,
  call: (inputs: Record<string, Tensor>) => Tensor,
): {
  inputs: Record<string, Tensor>;
  y: Tensor;
  grads: Tensor[];
  names: string[];
} {
  const inputs: Record<string, Tensor> = {};
  for (const [k, j] of Object.entries(c.inputs)) inputs[k] = fixtureTensor(j);
  const names = Object.keys(c.grads);
  if (!names.length) return { inputs, y: call(inputs), grads: [], names };
  const f = (...xs: Tensor[]) =>
    call({ ...inputs, ...Object.fromEntries(names.map((n, i) => [n, xs[i]])) });
  const [y, back] = T.vjp(f, ...names.map((n) => inputs[n]));
  return { inputs, y, grads: back(fixtureTensor(c.cotangent!)), names };
}

/** Checks the library's gradients for case `c` against PyTorch's within `tol`; returns the inputs and the output (for the caller to check). */
export function checkFixtureGrads(
  c: FixtureCase,
  call: (inputs: Record<string, Tensor>) => Tensor,
  tol: { atol: number; rtol: number },
): { inputs: Record<string, Tensor>; y: Tensor } {
  const { inputs, y, grads, names } = caseVjp(c, call);
  names.forEach((n, i) =>
    assertAllClose(grads[i], fixtureTensor(c.grads[n]), {
      ...tol,
      msg: `${c.name} grad ${n}`,
    })
  );
  return { inputs, y };
}

/** Checks the library against one case: its output and gradients must be PyTorch's within `tol`. */
export function checkFixtureCase(
  c: FixtureCase,
  call: (inputs: Record<string, Tensor>) => Tensor,
  tol: { atol: number; rtol: number },
): void {
  const { y } = checkFixtureGrads(c, call, tol);
  assert.equal(y.dtype, c.dtype);
  assertAllClose(y, fixtureTensor(c.output!), {
    ...tol,
    msg: `${c.name} output`,
  });
}

/**
 * PyTorch's unpool gradient `g` made the library's: where two indices of
 * one plane (the last `rank` axes of `indices`) name the same output, only
 * the later write is kept, so only it gets the gradient (PyTorch's
 * backward gathers for every duplicate; documented on the unpool ops).
 */
export function keptWritesGrad(
  indices: Tensor,
  rank: number,
  g: Tensor,
): Tensor {
  const plane = indices.shape.slice(-rank).reduce((a, b) => a * b, 1);
  const data = Float64Array.from(g.data);
  for (let at = 0; at < data.length; at += plane) {
    const seen = new Set<number>();
    for (let i = plane - 1; i >= 0; i--) {
      if (seen.has(indices.data[at + i])) data[at + i] = 0;
      seen.add(indices.data[at + i]);
    }
  }
  return T.tensor(data, { shape: g.shape, dtype: g.dtype });
}
