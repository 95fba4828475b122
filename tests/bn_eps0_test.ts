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
import { assertAllClose, sameBits } from "./_helpers.ts";
import {
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/bn_eps0.json" with { type: "json" };

type Case = {
  op: "batchNorm" | "instanceNorm";
  name: string;
  dtype: "float32" | "float64";
  options: { training?: boolean; eps: number };
  inputs: Record<string, J>;
  outputs: Record<string, J>;
  cotangent: J;
  grads: Record<string, J>;
  v?: Record<string, J>;
  hvp?: Record<string, J>;
};

const cases = fixture.cases as unknown as Case[];
const inputsOf = (c: Case) =>
  Object.fromEntries(
    Object.entries(c.inputs).map(([k, j]) => [k, toT(j)]),
  ) as Record<string, Tensor>;

/** The library's op of case `c` on the tensors `v` (by name): y and the running statistics. */
function call(c: Case, v: Record<string, Tensor>): Tensor[] {
  const opts = {
    ...c.options,
    weight: v.weight ?? null,
    bias: v.bias ?? null,
    runningMean: v.runningMean ?? null,
    runningVar: v.runningVar ?? null,
  };
  const r = c.op === "batchNorm"
    ? T.batchNorm(v.x, opts)
    : T.instanceNorm(v.x, opts);
  return [r.y, ...(v.runningMean ? [r.runningMean!, r.runningVar!] : [])];
}

/** y, the running statistics (where given), the gradients of sum(y·cotangent) and, with `v`, the Hessian-vector products. */
function evaluate(c: Case, inputs: Record<string, Tensor>): Tensor[] {
  const names = Object.keys(c.grads);
  const argnums = names.map((_, i) => i);
  const with_ = (xs: Tensor[]) => ({
    ...inputs,
    ...Object.fromEntries(names.map((n, i) => [n, xs[i]])),
  });
  const ct = toT(c.cotangent);
  const loss = (...xs: Tensor[]) => T.sum(T.mul(call(c, with_(xs))[0], ct));
  const primals = names.map((n) => inputs[n]);
  const res = [...call(c, inputs)];
  res.push(...(T.grad(loss, { argnums })(...primals) as Tensor[]));
  if (c.v) {
    const vs = names.map((n) => toT(c.v![n]));
    const dot = (...xs: Tensor[]) =>
      (T.grad(loss, { argnums })(...xs) as Tensor[]).reduce(
        (s: Tensor, g, i) => T.add(s, T.sum(T.mul(g, vs[i]))),
        T.zeros([], { dtype: "float64" }),
      );
    res.push(...(T.grad(dot, { argnums })(...primals) as Tensor[]));
  }
  return res;
}

/** PyTorch's numbers of case `c` in the order {@linkcode evaluate} gives them. */
function expected(c: Case): [string, Tensor][] {
  const names = Object.keys(c.grads);
  const res: [string, Tensor][] = [["y", toT(c.outputs.y)]];
  for (const k of ["runningMean", "runningVar"]) {
    if (c.outputs[k]) res.push([k, toT(c.outputs[k])]);
  }
  names.forEach((n) => res.push([`grad ${n}`, toT(c.grads[n])]));
  if (c.hvp) names.forEach((n) => res.push([`hvp ${n}`, toT(c.hvp![n])]));
  return res;
}

for (const op of ["batchNorm", "instanceNorm"]) {
  Deno.test(`${op} with eps 0: a constant channel gives the bias and zero derivatives (rstd 0, as PyTorch), eagerly and under jit`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.dtype})`, () => {
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
        const replay = T.jit((...xs: Tensor[]) =>
          evaluate(c, Object.fromEntries(names.map((n, i) => [n, xs[i]])))
        )(...names.map((n) => inputs[n]));
        got.forEach((g, i) => sameBits(replay[i], g, `${c.name} jit ${i}`));
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
