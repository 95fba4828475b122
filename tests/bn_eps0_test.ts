/**
 * batchNorm (training) and instanceNorm with `eps: 0` on a constant channel
 * (variance 0), against PyTorch 1.13 (tests/fixtures/bn_eps0.json, written
 * by tests/fixtures/gen_bn_eps0.py): PyTorch's CPU kernel sets the inverse
 * standard deviation to 0 there, so the channel's output is its bias and its
 * derivatives (first and second) are 0, not NaN. Eagerly, under jit (the
 * eager bits) and under vmap.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { sameBits } from "./_helpers.ts";
import fixture from "./fixtures/bn_eps0.json" with { type: "json" };
import {
  callNorm,
  checkNormCase,
  inputsOf,
  type NormCase,
} from "./_norm_cases.ts";

type Case = NormCase & { op: "batchNorm" | "instanceNorm" };

const cases = fixture.cases as unknown as Case[];

/** y and the running statistics (where given) of case `c` on the tensors `v`. */
function call(c: Case, v: Record<string, Tensor>): Tensor[] {
  const r = callNorm(c, v);
  return [r.y, ...(v.runningMean ? [r.runningMean!, r.runningVar!] : [])];
}

for (const op of ["batchNorm", "instanceNorm"]) {
  Deno.test(`${op} with eps 0: a constant channel gives the bias and zero derivatives (rstd 0, as PyTorch), eagerly and under jit`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        checkNormCase(c);
      });
    }
  });
}

Deno.test("batchNorm and instanceNorm with eps 0 under vmap: each example's constant channel as eagerly", () => {
  for (const c of cases) {
    const inputs = inputsOf(c);
    const names = Object.keys(inputs);
    // a second example: an affine map keeps the constant channel constant
    const other = Object.fromEntries(
      names.map((n, i) => [n, T.add(T.mul(inputs[n], 1.5), 0.25 * i)]),
    );
    const f = (...xs: Tensor[]) =>
      call(c, Object.fromEntries(names.map((n, i) => [n, xs[i]])));
    const batched = T.vmap(f)(
      ...names.map((n) => T.stack([inputs[n], other[n]])),
    ) as Tensor[];
    [inputs, other].forEach((one, b) => {
      f(...names.map((n) => one[n])).forEach((w, i) => {
        const got = T.reshape(
          T.slice(batched[i], [b], [b + 1]),
          w.shape as number[],
        );
        assert.ok(w.data.every(Number.isFinite), `${c.name}: finite`);
        sameBits(got, w, `${c.op} ${c.name} (${c.dtype}) example ${b} ${i}`);
      });
    });
  }
});
