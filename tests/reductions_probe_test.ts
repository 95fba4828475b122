/**
 * Probe of the reductions (sum mean max min argmax argmin logSumExp var std
 * prod norm any all) and the stochastic activations (rrelu, gumbelSoftmax):
 * values, result dtypes, gradients and Hessian-vector products against
 * PyTorch 1.13 (tests/fixtures/reductions_probe.json, written by
 * tests/fixtures/gen_reductions_probe.py) on ties, NaN, ±inf, empty axes and
 * int32 inputs; second derivatives against float64 finite differences; vmap
 * over each axis against a loop; rrelu and gumbelSoftmax against their
 * formulas on the same noise.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/reductions_probe.json" with { type: "json" };
import {
  fixtureNumber as num,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";

type Num = number | string;
type J = { shape: number[]; dtype: T.DType; data: Num[] };
type Case = {
  op: string;
  name: string;
  dtype: T.DType;
  options: Record<string, Num | number[] | boolean>;
  x: J;
  output: J;
  cotangent?: J;
  grad?: J;
  v?: J;
  hvp?: J;
};

const f64 = { dtype: "float64" as const };

// deno-lint-ignore no-explicit-any
const ops: Record<string, (x: Tensor, o: any) => Tensor> = {
  sum: T.sum,
  mean: T.mean,
  max: T.max,
  min: T.min,
  argmax: T.argmax,
  argmin: T.argmin,
  logSumExp: T.logSumExp,
  var: T.var,
  std: T.std,
  prod: T.prod,
  norm: T.norm,
  any: T.any,
  all: T.all,
};

const tolerance = (dtype: T.DType) =>
  dtype === "float64"
    ? { atol: 1e-13, rtol: 1e-12 }
    : { atol: 1e-6, rtol: 1e-5 };

for (const c of fixture.cases as unknown as Case[]) {
  Deno.test(`reductions probe, PyTorch: ${c.op} ${c.name} (${c.dtype})`, () => {
    const o = Object.fromEntries(
      Object.entries(c.options).map(([k, v]) => [
        k,
        typeof v === "string" && k === "ord" ? num(v) : v,
      ]),
    );
    const f = (x: Tensor) => ops[c.op](x, o);
    const x = toT(c.x), expected = toT(c.output);
    const y = f(x);
    assert.equal(y.dtype, expected.dtype, `${c.name}: dtype`);
    assert.deepEqual(y.shape, expected.shape, `${c.name}: shape`);
    if (y.dtype === "int32") {
      assert.deepEqual(Array.from(y.data), Array.from(expected.data));
    } else {
      assertAllClose(y, expected, { ...tolerance(c.dtype), msg: c.name });
    }
    if (!c.grad || !c.cotangent) return;
    const cot = toT(c.cotangent);
    const [, back] = T.vjp(f, x);
    assertAllClose(back(cot)[0], toT(c.grad), {
      ...tolerance(c.dtype),
      msg: `${c.name}: gradient`,
    });
    if (!c.v || !c.hvp) return;
    const v = toT(c.v);
    const gv = (x: Tensor) => T.sum(T.mul(T.vjp(f, x)[1](cot)[0], v));
    assertAllClose(T.grad(gv)(x), toT(c.hvp), {
      ...(c.dtype === "float64"
        ? tolerance(c.dtype)
        : { atol: 1e-5, rtol: 1e-4 }),
      msg: `${c.name}: Hessian-vector product`,
    });
  });
}

/** Central differences of `f`'s gradient (float64): row i is d grad / d x_i. */
function fdHessian(f: (x: Tensor) => Tensor, x: Tensor, h = 1e-5): number[] {
  const g = T.grad(f), n = x.data.length, out: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = (s: number) => {
      const d = Float64Array.from(x.data);
      d[i] += s * h;
      return g(T.tensor(d, { shape: x.shape, ...f64 })).data;
    };
    const p = at(1), m = at(-1);
    for (let j = 0; j < n; j++) out.push((p[j] - m[j]) / (2 * h));
  }
  return out;
}

Deno.test("reductions probe: second derivatives of logSumExp, std, var and norm against float64 finite differences", () => {
  const x = T.tensor([[0.3, -1.2, 2.0], [1.1, 1.1, -0.4]], f64);
  const cot = T.tensor([0.7, -1.3], f64);
  const fs: [string, (x: Tensor) => Tensor][] = [
    ["logSumExp", (x) => T.logSumExp(x, { axis: -1 })],
    ["logSumExp (all)", (x) => T.logSumExp(x)],
    ["std", (x) => T.std(x, { axis: 1 })],
    ["std, correction 0", (x) => T.std(x, { axis: 1, correction: 0 })],
    ["var", (x) => T.var(x, { axis: -1 })],
    ["norm 2", (x) => T.norm(x, { axis: 1 })],
    ["norm 3", (x) => T.norm(x, { axis: 1, ord: 3 })],
    ["norm 0.5", (x) => T.norm(x, { axis: 1, ord: 0.5 })],
    ["norm -1", (x) => T.norm(x, { axis: 1, ord: -1 })],
    ["prod", (x) => T.prod(x, { axis: 1 })],
  ];
  for (const [name, op] of fs) {
    const f = (x: Tensor) => {
      const y = op(x);
      return T.sum(T.mul(y, y.shape.length ? cot : T.sum(cot)));
    };
    const hess = T.hessian(f)(x) as Tensor;
    assertAllClose(hess, fdHessian(f, x), {
      atol: 1e-7,
      rtol: 1e-6,
      msg: `${name}: Hessian`,
    });
    assertAllClose(T.jacfwd(T.grad(f))(x) as Tensor, hess, {
      ...tolerance("float64"),
      msg: `${name}: forward over reverse`,
    });
  }
});

Deno.test("reductions probe: vmap of each reduction over every axis is the loop over slices", () => {
  const x = T.random.normal(T.random.key(3), [3, 4, 5], f64);
  const xi = T.astype(T.mul(x, 4), "int32");
  const fs: [string, (x: Tensor) => Tensor][] = [
    ["mean", (x) => T.mean(x, { axis: -1 })],
    ["max", (x) => T.max(x, { axis: [0, -1], keepDims: true })],
    ["min", (x) => T.min(x, { axis: 0 })],
    ["argmax", (x) => T.argmax(x, { axis: -1 })],
    ["argmin (flattened, keepDims)", (x) => T.argmin(x, { keepDims: true })],
    ["logSumExp", (x) => T.logSumExp(x, { axis: [1] })],
    ["std", (x) => T.std(x, { axis: 1 })],
    ["prod", (x) => T.prod(x, { axis: -1 })],
    ["norm 3", (x) => T.norm(x, { ord: 3, axis: 0 })],
    ["norm inf", (x) => T.norm(x, { ord: Infinity, axis: 1 })],
    ["any", (x) => T.any(x, { axis: 1 })],
    ["all", (x) => T.all(x, { axis: 0, keepDims: true })],
  ];
  for (const src of [x, xi]) {
    for (const [name, f] of fs) {
      for (let ax = 0; ax < 3; ax++) {
        const slices = Array.from({ length: src.shape[ax] }, (_, i) => {
          const st = [0, 0, 0], en = [...src.shape];
          st[ax] = i;
          en[ax] = i + 1;
          return f(T.squeeze(T.slice(src, st, en), ax));
        });
        const y = T.vmap(f, { inAxes: ax })(src), ref = T.stack(slices);
        const msg = `${name} of ${src.dtype}, inAxes ${ax}`;
        assert.equal(y.dtype, ref.dtype, msg);
        assertAllClose(y, ref, { ...tolerance("float64"), msg });
      }
    }
  }
});

Deno.test("reductions probe: rrelu in inference is leakyRelu with slope (lower + upper) / 2, 11/48 by default (F.rrelu(training=False))", () => {
  const x = T.tensor([-4, -1, 0, 2.5], f64);
  // F.rrelu(torch.tensor([-4., -1., 0., 2.5], dtype=torch.float64)):
  // tensor([-0.9166666667, -0.2291666667, 0., 2.5])
  assertAllClose(
    T.rrelu(x),
    [-4 * 11 / 48, -11 / 48, 0, 2.5],
    tolerance("float64"),
  );
  assertAllClose(
    T.rrelu(x, { lower: 0.1, upper: 0.3 }),
    [-0.8, -0.2, 0, 2.5],
    tolerance("float64"),
  );
  // the slope is the gradient at and below 0, as leaky_relu's backward
  assertAllClose(
    T.grad((x: Tensor) => T.sum(T.rrelu(x)))(x),
    [11 / 48, 11 / 48, 11 / 48, 1],
    tolerance("float64"),
  );
});

Deno.test("reductions probe: rrelu in training multiplies each entry <= 0 by its own uniform slope in [lower, upper), also its gradient", () => {
  const key = T.random.key(7);
  const x = T.tensor([-4, -1, 0, 2.5, -0.5, -3], f64);
  const o = { training: true, key, lower: 0.2, upper: 0.6 };
  const slopes = T.random.uniform(key, x.shape, {
    minval: 0.2,
    maxval: 0.6,
    dtype: "float64",
  });
  const s = Array.from(slopes.data);
  assert.ok(s.every((v) => v >= 0.2 && v < 0.6));
  const xs = Array.from(x.data);
  assertAllClose(
    T.rrelu(x, o),
    xs.map((v, i) => (v > 0 ? v : v * s[i])),
    tolerance("float64"),
  );
  assertAllClose(
    T.grad((x: Tensor) => T.sum(T.rrelu(x, o)))(x),
    xs.map((v, i) => (v > 0 ? 1 : s[i])),
    tolerance("float64"),
  );
});

Deno.test("reductions probe: gumbelSoftmax is softmax((logits + gumbel(key)) / tau) along axis; hard is its one-hot with the soft gradient", () => {
  const key = T.random.key(11);
  const logits = T.random.normal(T.random.key(2), [2, 4, 3], f64);
  for (const axis of [-1, 0, 1]) {
    for (const tau of [1, 0.25]) {
      const g = T.random.gumbel(key, logits.shape, f64);
      const soft = T.softmax(T.div(T.add(logits, g), tau), { axis });
      assertAllClose(
        T.gumbelSoftmax(logits, { key, tau, axis }),
        soft,
        tolerance("float64"),
      );
      assertAllClose(
        T.sum(T.gumbelSoftmax(logits, { key, tau, axis }), { axis }),
        T.onesLike(T.sum(soft, { axis })),
        tolerance("float64"),
      );
      const hard = T.gumbelSoftmax(logits, { key, tau, axis, hard: true });
      const index = T.argmax(soft, { axis, keepDims: true });
      const c = logits.shape.at(axis)!;
      const positions = T.reshape(
        T.arange(c, { dtype: "int32" }),
        logits.shape.map((_, i) => (i === (axis + 3) % 3 ? c : 1)),
      );
      assert.deepEqual(
        Array.from(hard.data),
        Array.from(T.astype(T.equal(positions, index), "float64").data),
        `hard, axis ${axis}, tau ${tau}`,
      );
      // straight-through: the hard sample's gradient is the soft one's
      const w = T.random.normal(T.random.key(4), logits.shape, f64);
      const loss = (hard: boolean) => (x: Tensor) =>
        T.sum(T.mul(T.gumbelSoftmax(x, { key, tau, axis, hard }), w));
      assertAllClose(
        T.grad(loss(true))(logits),
        T.grad(loss(false))(logits),
        tolerance("float64"),
      );
    }
  }
});

Deno.test("reductions probe: gumbelSoftmax of a scalar (one class) is 1, soft and hard (F.gumbel_softmax(torch.tensor(1.)) is tensor(1.))", () => {
  const key = T.random.key(0);
  for (const hard of [false, true]) {
    for (const axis of [undefined, 0, -1]) {
      const y = T.gumbelSoftmax(T.tensor(1.5, f64), { key, hard, axis });
      assert.deepEqual(y.shape, []);
      assert.equal(T.item(y), 1);
    }
  }
  assert.throws(
    () => T.gumbelSoftmax(T.tensor(1.5), { key, axis: 1 }),
    /^Error: gumbelSoftmax: axis must be an integer in \[-1, 1\), got number 1$/,
  );
});
