/**
 * optim.lbfgs against torch.optim.LBFGS (tests/fixtures/lbfgs.json, written
 * by tests/fixtures/gen_lbfgs.py): the params, the returned loss and the
 * evaluation and iteration counts after each step, with and without the
 * strong-Wolfe line search, history truncation, the stopping rules, float32;
 * a jitted lossAndGrad; a state saved as safetensors; the errors.
 */
import assert from "node:assert/strict";
import {
  add,
  astype,
  item,
  jit,
  log1p,
  matmul,
  mul,
  optim,
  reshape,
  slice,
  square,
  sub,
  sum,
  type Tensor,
  tensor,
  type Tree,
  valueAndGrad,
} from "../mod.ts";
import { deserializeSafetensors, serializeSafetensors } from "../data/mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";
import fixture from "./fixtures/lbfgs.json" with { type: "json" };
import optimFixture from "./fixtures/optim.json" with { type: "json" };

type J = { shape: number[]; data: number[] };
type DT = "float32" | "float64";
const toT = (j: J, dtype: DT = "float64") =>
  tensor(j.data, { shape: j.shape, dtype });
const problem = optimFixture.problem as unknown as {
  A: J;
  Y: J;
  init: { w: J; b: J };
};
const A = toT(problem.A), Y = toT(problem.Y);

/** gen_optim.py's loss: sum log(1 + R²) + 0.1 sum w⁴, R = A w + b - Y (in float64, cast back as the fixture does). */
function optimLoss(p: { w: Tensor; b: Tensor }): Tensor {
  const w = astype(p.w, "float64"), b = astype(p.b, "float64");
  const r = sub(add(matmul(A, w), b), Y);
  const l = add(sum(log1p(mul(r, r))), mul(sum(square(square(w))), 0.1));
  return astype(l, p.w.dtype);
}

/** Rosenbrock's function of xy [2]. */
function rosenbrock(p: { xy: Tensor }): Tensor {
  const x = reshape(slice(p.xy, [0], [1]), []);
  const y = reshape(slice(p.xy, [1], [2]), []);
  return add(square(sub(1, x)), mul(square(sub(y, mul(x, x))), 100));
}

type Case = {
  label: string;
  problem: "optim" | "rosenbrock";
  dtype: DT;
  options: optim.LbfgsOptions;
  steps: {
    loss: number;
    params: Record<string, J>;
    funcEvals: number;
    nIter: number;
  }[];
};
const CASES = fixture.cases as unknown as Case[];

type Loss = (p: Tree) => Tensor;
function start(c: Case): { f: Loss; params: Tree } {
  return c.problem === "optim"
    ? {
      f: optimLoss as unknown as Loss,
      params: {
        w: toT(problem.init.w, c.dtype),
        b: toT(problem.init.b, c.dtype),
      },
    }
    : {
      f: rosenbrock as unknown as Loss,
      params: { xy: tensor([-1.5, 2], { dtype: "float64" }) },
    };
}

Deno.test("lbfgs: params, loss, evaluations and iterations after each step follow torch.optim.LBFGS (9 cases, 6 steps; float64 to 1e-9, float32 to the same minimum)", async (t) => {
  assert.equal(CASES.length, 9);
  for (const c of CASES) {
    await t.step(c.label, () => {
      const opt = optim.lbfgs(c.options);
      let { f, params } = start(c);
      let state = opt.init(params);
      // float32: the scalars here are float64 (torch's are float32 tensors),
      // so a line search may take another number of evaluations; the loss
      // and the minimum reached still agree
      const exact = c.dtype === "float64";
      const rtol = exact ? 1e-9 : 1e-3, atol = exact ? 1e-12 : 1e-6;
      c.steps.forEach((s, i) => {
        const r = opt.step(valueAndGrad(f), params, state);
        ({ params, state } = r);
        const at = `${c.label}, step ${i + 1}`;
        assertAllClose(r.loss, [s.loss], {
          rtol: exact ? rtol : 0.2,
          atol,
          msg: `${at}: loss`,
        });
        if (!exact && i < c.steps.length - 1) return;
        for (const [k, v] of Object.entries(s.params)) {
          assertAllClose((params as Record<string, Tensor>)[k], v.data, {
            rtol,
            atol,
            msg: `${at}: ${k}`,
          });
        }
        if (!exact) return;
        assert.equal(item(state.funcEvals), s.funcEvals, `${at}: funcEvals`);
        assert.equal(item(state.nIter), s.nIter, `${at}: nIter`);
      });
    });
  }
});

Deno.test("lbfgs: a jitted lossAndGrad gives the eager steps bit for bit; a state saved as safetensors resumes with the same bits", () => {
  const c = CASES.find((x) =>
    x.label === "optim: strong Wolfe, 4 iterations, history 2, 6 evaluations"
  )!;
  const opt = optim.lbfgs(c.options);
  const { f, params: p0 } = start(c);
  const g = valueAndGrad(f), jg = jit(g);
  let a = { params: p0, state: opt.init(p0) }, b = a;
  for (let i = 0; i < 3; i++) {
    a = opt.step(g, a.params, a.state);
    b = opt.step(jg, b.params, b.state);
  }
  const leaves = (x: Tree) => Object.values(x as Record<string, Tensor>);
  leaves(a.params).forEach((l, i) =>
    assert.deepEqual(l.data, leaves(b.params)[i].data)
  );
  assert.equal(jg.traceCount(), 1);
  // the history has reached its size: a round trip keeps all of it
  assert.equal(a.state.oldDirs.length, 2);
  const loaded = deserializeSafetensors(
    serializeSafetensors(a.state as unknown as Tree),
  ) as unknown as optim.LbfgsState;
  const next = opt.step(g, a.params, a.state);
  const again = opt.step(g, a.params, loaded);
  leaves(next.params).forEach((l, i) =>
    assert.deepEqual(l.data, leaves(again.params)[i].data)
  );
});

Deno.test("lbfgs: errors name the function, the argument, what was expected and what came", () => {
  const fn = "optim.lbfgs";
  const opt = optim.lbfgs();
  const p = { w: tensor([1, 2]) };
  const s = opt.init(p);
  const g = valueAndGrad((q: { w: Tensor }) => sum(q.w));
  const bad: [() => unknown, RegExp][] = [
    [() => optim.lbfgs({ lr: 0 }), /lr must be a number > 0, got 0/],
    [
      () => optim.lbfgs({ maxIter: 0 }),
      /maxIter must be an integer >= 1, got 0/,
    ],
    [
      () => optim.lbfgs({ historySize: 1.5 }),
      /historySize must be an integer >= 1, got 1.5/,
    ],
    [
      () => optim.lbfgs({ lineSearchFn: "strong_wolfe" as never }),
      /lineSearchFn must be "strongWolfe" or null, got "strong_wolfe"/,
    ],
    [() => optim.lbfgs({ max_iter: 3 } as never), /max_iter/],
    [
      () => opt.init({ w: tensor([1]), n: tensor([1], { dtype: "int32" }) }),
      /init\(params\): every leaf must have one float dtype/,
    ],
    [
      () => opt.step(undefined as never, p, s),
      /step: lossAndGrad must be a function of the params returning \[loss, grads\]/,
    ],
    [
      () => opt.step(((q: { w: Tensor }) => sum(q.w)) as never, p, s),
      /step: lossAndGrad must return \[loss, grads\] with a one-element loss, got Tensor/,
    ],
    [
      () => opt.step(g, p, {} as never),
      /step: state must be what init or step returned/,
    ],
    [
      () => opt.step(g, { w: tensor([1, 2, 3]) }, s),
      /step: state is for 2 float32 params, but params have 3 float32/,
    ],
    [
      () => opt.step(g, p, { ...s, nIter: 0 } as never),
      /state.nIter must be an int32 scalar tensor/,
    ],
  ];
  assertErrors(fn, bad);
});
