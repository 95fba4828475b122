/**
 * The PyTorch fixture cases of numerics.json (gen_numerics.py) and norm.json
 * (gen_norm.py): one call of an op with its inputs, PyTorch's output and
 * the gradients of `sum(output · cotangent)`, as JSON tensors; and the same
 * computed by the library with `vjp`.
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

/** A number of a fixture: NaN and ±infinity come as strings (JSON has no such numbers). */
export type Num = number | string;
/** A tensor of a fixture. */
export type J = { shape: number[]; dtype: string; data: Num[] };
/** One call of an op and PyTorch's results. */
export type FixtureCase = {
  op: string;
  name: string;
  dtype: "float32" | "float64";
  // deno-lint-ignore no-explicit-any
  options: any;
  inputs: Record<string, J>;
  output: J;
  cotangent: J;
  grads: Record<string, J>;
};

/** A number of a fixture as a number. */
export const num = (v: Num): number =>
  typeof v === "number"
    ? v
    : ({ NaN, Infinity, "-Infinity": -Infinity } as Record<string, number>)[v];

/** A tensor of a fixture as a Tensor. */
export const toT = (j: J): Tensor =>
  T.tensor(j.data.map(num), { shape: j.shape, dtype: j.dtype as T.DType });

/**
 * The library's output for case `c` (`call` maps the case and its inputs to
 * the op's call) and its gradients for the inputs the case has gradients of,
 * in that order (`names`), for the case's cotangent.
 */
export function caseVjp<C extends FixtureCase>(
  c: C,
  call: (c: C, inputs: Record<string, Tensor>) => Tensor,
): { y: Tensor; grads: Tensor[]; names: string[] } {
  const inputs: Record<string, Tensor> = {};
  for (const [k, j] of Object.entries(c.inputs)) inputs[k] = toT(j);
  const names = Object.keys(c.grads);
  const f = (...xs: Tensor[]) =>
    call(c, {
      ...inputs,
      ...Object.fromEntries(names.map((n, i) => [n, xs[i]])),
    });
  const [y, back] = T.vjp(f, ...names.map((n) => inputs[n]));
  return { y, grads: back(toT(c.cotangent)), names };
}
