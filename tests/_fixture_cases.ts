/**
 * The case format of the PyTorch op fixtures (numerics.json, conv1d.json):
 * an op's inputs and options, PyTorch's output, a cotangent and PyTorch's
 * gradients of sum(output · cotangent); and the check of one case.
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
  output: FixtureTensor;
  cotangent: FixtureTensor;
  grads: Record<string, FixtureTensor>;
};

/** A number of a fixture (the strings for NaN and the infinities included). */
export const fixtureNumber = (v: number | string): number =>
  typeof v === "number"
    ? v
    : ({ NaN, Infinity, "-Infinity": -Infinity } as Record<string, number>)[v];

/** A fixture tensor as a Tensor. */
export const fixtureTensor = (j: FixtureTensor): Tensor =>
  T.tensor(j.data.map(fixtureNumber), {
    shape: j.shape,
    dtype: j.dtype as T.DType,
  });

/**
 * Checks the library against one case: `call` computes the op from the
 * inputs by name; its output and the VJP of the cotangent must be PyTorch's
 * within `tol`.
 */
export function checkFixtureCase(
  c: FixtureCase,
  call: (inputs: Record<string, Tensor>) => Tensor,
  tol: { atol: number; rtol: number },
): void {
  const inputs: Record<string, Tensor> = {};
  for (const [k, j] of Object.entries(c.inputs)) inputs[k] = fixtureTensor(j);
  const names = Object.keys(c.grads);
  const f = (...xs: Tensor[]) =>
    call({ ...inputs, ...Object.fromEntries(names.map((n, i) => [n, xs[i]])) });
  const [y, back] = T.vjp(f, ...names.map((n) => inputs[n]));
  assert.equal(y.dtype, c.dtype);
  assertAllClose(y, fixtureTensor(c.output), {
    ...tol,
    msg: `${c.name} output`,
  });
  const grads = back(fixtureTensor(c.cotangent));
  names.forEach((n, i) =>
    assertAllClose(grads[i], fixtureTensor(c.grads[n]), {
      ...tol,
      msg: `${c.name} grad ${n}`,
    })
  );
}
