/**
 * Every loss of ops/losses.ts against PyTorch 1.13 in float64
 * (tests/fixtures/losses_probe.json, written by
 * tests/fixtures/gen_losses_probe.py): values and the gradients of every
 * differentiable input (PyTorch's autograd, or central differences of its
 * forward where PyTorch does not differentiate an input, as class weights),
 * across the options' combinations; the same calls under `jit` (the eager
 * bits) and, with reduction "none", per example under `vmap`.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, sameBits } from "./_helpers.ts";
import {
  caseVjp,
  type FixtureCase,
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/losses_probe.json" with { type: "json" };
import { callLoss } from "./_loss_calls.ts";

type Case = FixtureCase & { output: J; fdGrads: Record<string, J> };
const cases = fixture.cases as unknown as Case[];

/** The library's loss for case `c` on inputs `v`. */
function callOp(c: Case, v: Record<string, Tensor>): Tensor {
  // (an infinite p comes as the string "Infinity": JSON has no infinity)
  const o = Object.fromEntries(
    Object.entries(c.options).map((
      [k, x],
    ) => [k, x === "Infinity" ? Infinity : x]),
  );
  if (c.op === "vmap") {
    // options.op per example: the inputs named in options.mapped mapped over axis 0
    const { op, mapped, ...rest } = o as {
      op: string;
      mapped: string[];
    };
    const names = Object.keys(v);
    const inner = (...xs: Tensor[]) =>
      callOp(
        { ...c, op, options: rest },
        Object.fromEntries(names.map((n, i) => [n, xs[i]])),
      );
    const inAxes = names.map((n) => (mapped.includes(n) ? 0 : null));
    return T.vmap(inner, { inAxes })(...names.map((n) => v[n]));
  }
  const y = callLoss(c.op, v, o);
  if (y === undefined) throw new Error(`unknown op ${c.op}`);
  return y;
}

const tight = { atol: 1e-12, rtol: 1e-12 };
/** Central differences of PyTorch's forward with a step of 1e-6. */
const fdTol = { atol: 1e-7, rtol: 1e-7 };

for (const op of [...new Set(cases.map((c) => c.op))]) {
  Deno.test(`PyTorch: ${op} (float64): values and the gradients of every float input`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(c.name, () => {
        const { inputs, y, grads, names } = caseVjp(c, (v) => callOp(c, v));
        assert.equal(y.dtype, "float64");
        assertAllClose(y, toT(c.output), { ...tight, msg: `${c.name} output` });
        names.forEach((n, i) =>
          assertAllClose(grads[i], toT(c.grads[n]), {
            ...tight,
            msg: `${c.name} grad ${n}`,
          })
        );
        for (const [n, j] of Object.entries(c.fdGrads)) {
          const g = T.vjp(
            (w: Tensor) => callOp(c, { ...inputs, [n]: w }),
            inputs[n],
          )[1](toT(c.cotangent!))[0];
          assertAllClose(g, toT(j), { ...fdTol, msg: `${c.name} grad ${n}` });
        }
      });
    }
  });
}

Deno.test("losses under jit: the eager bits, values and gradients, for every fixture case", () => {
  for (const c of cases) {
    const names = Object.keys(c.inputs);
    const inputs = names.map((n) => toT(c.inputs[n]));
    const call = (...xs: Tensor[]) =>
      callOp(c, Object.fromEntries(names.map((n, i) => [n, xs[i]])));
    const cot = toT(c.cotangent!);
    const floats = names.flatMap((n, i) =>
      c.inputs[n].dtype === "int32" ? [] : [i]
    );
    const withGrads = (...xs: Tensor[]) => {
      const [y, back] = T.vjp(
        (...fs: Tensor[]) => {
          const all = [...xs];
          floats.forEach((k, j) => (all[k] = fs[j]));
          return call(...all);
        },
        ...floats.map((k) => xs[k]),
      );
      return [y, ...back(cot)];
    };
    const eager = withGrads(...inputs);
    const jitted = T.jit(withGrads);
    for (let rep = 0; rep < 2; rep++) {
      const got = jitted(...inputs);
      eager.forEach((e, i) => sameBits(got[i], e, `${c.name} jit [${i}]`));
    }
    assert.equal(jitted.traceCount(), 1, c.name);
  }
});

/** The inputs of an op that hold one entry per example (the others are shared). */
const perExample: Record<string, string[]> = {
  crossEntropy: ["logits", "labels"],
  nllLoss: ["logProbs", "labels"],
  binaryCrossEntropyWithLogits: ["logits", "targets"],
  binaryCrossEntropy: ["input", "target"],
  mseLoss: ["x", "target"],
  l1Loss: ["x", "target"],
  huberLoss: ["input", "target"],
  smoothL1Loss: ["input", "target"],
  klDiv: ["input", "target"],
  poissonNllLoss: ["input", "target"],
  gaussianNllLoss: ["input", "target", "var"],
  marginRankingLoss: ["input1", "input2", "target"],
  hingeEmbeddingLoss: ["input", "target"],
  softMarginLoss: ["input", "target"],
  multilabelSoftMarginLoss: ["input", "target"],
  multiMarginLoss: ["input", "labels"],
  cosineEmbeddingLoss: ["input1", "input2", "target"],
  tripletMarginLoss: ["anchor", "positive", "negative"],
  pairwiseDistance: ["x1"],
};

Deno.test("losses under vmap: reduction none per example is the batched loss (PyTorch's numbers), values and gradients", () => {
  let count = 0;
  for (const c of cases) {
    const main = toT(Object.values(c.inputs)[0]);
    const mapped = perExample[c.op];
    if (
      !mapped || (c.op !== "pairwiseDistance" && c.options.reduction !== "none")
    ) continue;
    // class losses per example: [C] with a label [] (PyTorch has no unbatched N-D form)
    const classLoss = ["crossEntropy", "nllLoss", "multiMarginLoss"];
    if (main.shape.length < 2 || main.shape[0] === 0) continue;
    if (classLoss.includes(c.op) && main.shape.length !== 2) continue;
    const names = Object.keys(c.inputs);
    // per-example weights too (bce's [N, C] and [N, 1])
    const isMapped = (n: string) =>
      mapped.includes(n) ||
      (["weight", "posWeight"].includes(n) && c.op.startsWith("binary") &&
        c.inputs[n].shape.length === main.shape.length &&
        c.inputs[n].shape[0] === main.shape[0]);
    const inputs = names.map((n) => toT(c.inputs[n]));
    const f = (...xs: Tensor[]) =>
      callOp(c, Object.fromEntries(names.map((n, i) => [n, xs[i]])));
    const inAxes = names.map((n) => (isMapped(n) ? 0 : null));
    const y = T.vmap(f, { inAxes })(...inputs);
    assertAllClose(y, toT(c.output), { ...tight, msg: `${c.name} vmap` });
    // the gradient of the first input, per example, through vmap
    const g = T.grad((x0: Tensor) =>
      T.sum(
        T.mul(T.vmap(f, { inAxes })(x0, ...inputs.slice(1)), toT(c.cotangent!)),
      )
    )(inputs[0]);
    assertAllClose(g, toT(c.grads[names[0]]), {
      ...tight,
      msg: `${c.name} vmap grad`,
    });
    count++;
  }
  assert.ok(count > 40, `${count} cases`);
});

Deno.test("crossEntropy: labelSmoothing must be a number; ignoreIndex >= 0 with class probabilities is an error (PyTorch: 'ignore_index is not supported for floating point target'); float labels where indices are expected name int32", () => {
  const x = T.zeros([2, 3], { dtype: "float64" });
  const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });
  const probs = T.softmax(
    T.tensor([[1, 2, 3], [0, 0, 1]], { dtype: "float64" }),
  );
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.crossEntropy(x, i32([0, 1]), { labelSmoothing: "0.1" as never }),
      /^crossEntropy: labelSmoothing must be in \[0, 1\], got string 0\.1$/,
    ],
    [
      () => T.crossEntropy(x, probs, { ignoreIndex: 1 }),
      /^crossEntropy: ignoreIndex is not supported with class probabilities \(float labels\), got number 1$/,
    ],
    [
      () => T.crossEntropy(x, probs, { ignoreIndex: 0 }),
      /^crossEntropy: ignoreIndex is not supported with class probabilities \(float labels\), got number 0$/,
    ],
    [
      () => T.crossEntropy(x, T.tensor([0, 1], { dtype: "float64" })),
      /^crossEntropy: logits \[2,3\] and labels \(class probabilities\) \[2\] must have the same shape \(class indices must be int32, got float64\)$/,
    ],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e) => {
      assert.ok(e instanceof Error && e.constructor === Error, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
  // a negative ignoreIndex is accepted and means nothing, as PyTorch's
  // (F.cross_entropy(x, p, ignore_index=-5) is F.cross_entropy(x, p))
  assert.equal(
    T.item(T.crossEntropy(x, probs, { ignoreIndex: -5 })),
    T.item(T.crossEntropy(x, probs)),
  );
});

Deno.test("class labels out of range under vmap: the message counts the examples", () => {
  const x = T.zeros([2, 2, 3], { dtype: "float64" });
  const y = T.tensor([[0, 1], [2, 3]], { dtype: "int32" });
  for (
    const [name, f] of [
      ["crossEntropy", T.crossEntropy],
      ["nllLoss", T.nllLoss],
      ["multiMarginLoss", T.multiMarginLoss],
    ] as const
  ) {
    const ii = name === "multiMarginLoss" ? "" : " \\(or ignoreIndex -100\\)";
    assert.throws(
      () => T.vmap((a: Tensor, l: Tensor) => f(a, l))(x, y),
      new RegExp(
        `^Error: ${name}: labels must be in \\[0, 3\\)${ii}, got 3 at flat index 3 \\(labels \\[2\\], each of 2 examples'\\)$`,
      ),
    );
  }
});

Deno.test("multiMarginLoss: a batch of 0 has a NaN mean (0 / 0) and a sum of 0", () => {
  const x = T.zeros([0, 3], { dtype: "float64" });
  const y = T.zeros([0], { dtype: "int32" });
  assert.ok(Number.isNaN(T.item(T.multiMarginLoss(x, y))));
  assert.equal(T.item(T.multiMarginLoss(x, y, { reduction: "sum" })), 0);
  assert.deepEqual(T.multiMarginLoss(x, y, { reduction: "none" }).shape, [0]);
});

Deno.test("crossEntropy under jit: replays with other labels (some, none and every one ignored) give the eager bits", () => {
  const f64 = { dtype: "float64" } as const;
  const w = T.tensor([0.5, 2, 1.5], f64);
  const f = (x: Tensor, l: Tensor) =>
    T.valueAndGrad((x: Tensor) =>
      T.crossEntropy(x, l, { weight: w, ignoreIndex: 1, labelSmoothing: 0.2 })
    )(x);
  const jf = T.jit(f);
  const x = T.tensor([[0.1, 0.5, -1], [2, 0, 1], [0, 0, 3]], f64);
  for (const l of [[0, 2, 1], [1, 1, 1], [2, 2, 0], [1, 0, 1]]) {
    const labels = T.tensor(l, { dtype: "int32" });
    const [v, g] = f(x, labels), [vj, gj] = jf(x, labels);
    sameBits(vj, v, `value ${l}`);
    sameBits(gj, g, `grad ${l}`);
  }
  assert.equal(jf.traceCount(), 1);
});
