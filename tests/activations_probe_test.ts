/**
 * A probe of the activations (ops/activations.ts, rrelu in inference, and
 * the nn layers' apply) against PyTorch 1.13 (tests/fixtures/
 * activations_probe.json, written by tests/fixtures/gen_activations_probe.py):
 * values, gradients and second derivatives on a grid holding the kinks and
 * thresholds exactly, large |x|, ±inf and NaN, in float64 and float32; jit
 * and vmap give eager's bits; bad options and int32 inputs are rejected.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { fixtureNumber } from "./_fixture_cases.ts";
import fixture from "./fixtures/activations_probe.json" with { type: "json" };
import { assertErrors, sameBits } from "./_helpers.ts";

type Json = { shape: number[]; dtype: "float32" | "float64"; data: unknown[] };
interface Case {
  name: string;
  dtype: "float32" | "float64";
  x: Json;
  y: Json;
  g: Json;
  gg: Json | null;
  w?: Json;
  gw?: Json;
}
const cases = fixture.cases as unknown as Case[];

const num = (v: unknown): number => fixtureNumber(v as number | string);
const ten = (t: Json) =>
  T.tensor(t.data.map(num), { shape: t.shape, dtype: t.dtype });

/** The fixture's activations by name, each the op with the generator's options. */
const OPS: Record<string, (x: Tensor) => Tensor> = {
  relu: T.relu,
  relu6: T.relu6,
  leakyRelu: (x) => T.leakyRelu(x),
  leakyRelu_neg: (x) => T.leakyRelu(x, { negativeSlope: -0.5 }),
  leakyRelu_big: (x) => T.leakyRelu(x, { negativeSlope: 3 }),
  elu: (x) => T.elu(x),
  elu_a2: (x) => T.elu(x, { alpha: 2 }),
  selu: T.selu,
  celu: (x) => T.celu(x),
  celu_a05: (x) => T.celu(x, { alpha: 0.5 }),
  gelu: (x) => T.gelu(x),
  gelu_tanh: (x) => T.gelu(x, { approximate: "tanh" }),
  silu: T.silu,
  mish: T.mish,
  softplus: (x) => T.softplus(x),
  softplus_b2: (x) => T.softplus(x, { beta: 2, threshold: 20 }),
  softplus_b05t5: (x) => T.softplus(x, { beta: 0.5, threshold: 5 }),
  softsign: T.softsign,
  tanhshrink: T.tanhshrink,
  hardtanh: (x) => T.hardtanh(x),
  hardtanh_m2_3: (x) => T.hardtanh(x, { minVal: -2, maxVal: 3 }),
  hardsigmoid: T.hardsigmoid,
  hardswish: T.hardswish,
  hardshrink: (x) => T.hardshrink(x),
  hardshrink_0: (x) => T.hardshrink(x, { lambd: 0 }),
  softshrink: (x) => T.softshrink(x),
  softshrink_2: (x) => T.softshrink(x, { lambd: 2 }),
  threshold: (x) => T.threshold(x, 0.5, -7),
  threshold_neg: (x) => T.threshold(x, -1, 2),
  logSigmoid: T.logSigmoid,
  sigmoid: T.sigmoid,
  tanh: T.tanh,
  rrelu: (x) => T.rrelu(x),
  rrelu_lu: (x) => T.rrelu(x, { lower: 0.25, upper: 0.75 }),
  softmax: (x) => T.softmax(x, -1),
  logSoftmax: (x) => T.logSoftmax(x, -1),
  softmin: (x) => T.softmin(x, -1),
  softmax_ax0: (x) => T.softmax(x, 0),
  logSoftmax_ax0: (x) => T.logSoftmax(x, 0),
  glu: (x) => T.glu(x, -1),
  glu_ax0: (x) => T.glu(x, 0),
};
/** The ones that mix elements: their derivatives are of sum(f(x) · w). */
const MIXING = /^(softmax|logSoftmax|softmin|glu)/;

/**
 * Where PyTorch 1.13 is not the reference (name, what, x): its conventions
 * at kinks that its own backward contradicts, its position-dependent
 * kernels, inf · 0 artifacts, and a documented rounding of its own.
 */
function exempt(c: Case, what: string, x: number, want: number): boolean {
  const n = c.name;
  // elu's double backward masks x < 0, its backward x <= 0: at 0 the
  // second derivative here is the gradient's branch's (alpha · scale)
  if (/^(elu|selu|celu)/.test(n) && what === "gg" && x === 0) return true;
  // softplus's double backward is 0 from beta·x = threshold on, its
  // backward linear only above: here the log branch's at the threshold
  const atThreshold: Record<string, number> = {
    softplus: 20, // beta 1, threshold 20
    softplus_b2: 10, // beta 2, threshold 20
    softplus_b05t5: 10, // beta 0.5, threshold 5
  };
  if (what === "gg" && atThreshold[n] === x) return true;
  // hardswish's backward at 3 is 1 in its vector loop, 1.5 in its scalar
  // tail (by position); its double backward is 0 at ±3 (here 1/3)
  if (
    n === "hardswish" &&
    (what === "g" && x === 3 || what === "gg" && Math.abs(x) === 3)
  ) {
    return true;
  }
  // elu's backward at NaN: NaN in its vector loop, g in its scalar tail
  if (/^(elu|selu|celu)/.test(n) && Number.isNaN(x) && what !== "y") {
    return true;
  }
  // softshrink's backward passes the gradient at NaN (its forward gives 0)
  if (n.startsWith("softshrink") && what === "g" && Number.isNaN(x)) {
    return true;
  }
  // mish at +inf: PyTorch's inf · 0 gives NaN (here 1, and 0 for f'')
  if (n === "mish" && (x === Infinity || what === "gg" && x >= 1000)) {
    return true;
  }
  // hardsigmoid: PyTorch's float64 backward uses float32's 1/6 (documented)
  if (n === "hardsigmoid" && c.dtype === "float64" && what === "g") return true;
  // glu's gate beside a -inf half: PyTorch's ±inf, here inf - inf (NaN)
  // from sigmoid's VJP rule y·(1 - y) differentiated (elementwise.ts)
  if (n.startsWith("glu") && what === "gg" && Math.abs(want) === Infinity) {
    return true;
  }
  return false;
}

/** got within atol + rtol·|want|; non-finite values equal. */
function close(got: number, want: number, rtol: number, atol: number): boolean {
  if (!Number.isFinite(want) || !Number.isFinite(got)) {
    return Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want));
  }
  return Math.abs(got - want) <= atol + rtol * Math.abs(want);
}

const cot = (shape: readonly number[], dtype: Case["dtype"]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return T.tensor(Array.from({ length: n }, (_, i) => (i % 3 + 1) * 0.5), {
    shape: shape as number[],
    dtype,
  });
};

/** f, its gradient and second derivative (of sum(f · w) for the mixing ones). */
function derivatives(c: Case, f: (x: Tensor) => Tensor) {
  const x = ten(c.x);
  const y = f(x);
  const mix = MIXING.test(c.name);
  const wy = cot(y.shape, c.dtype), wx = cot(x.shape, c.dtype);
  const gf = T.grad((t: Tensor) => T.sum(mix ? T.mul(f(t), wy) : f(t)));
  const ggf = T.grad((t: Tensor) => T.sum(mix ? T.mul(gf(t), wx) : gf(t)));
  return { x, y, gf, g: gf(x), gg: c.gg ? ggf(x) : null };
}

Deno.test("activations vs PyTorch: values, gradients, second derivatives", () => {
  let checked = 0;
  const fails: string[] = [];
  for (const c of cases) {
    if (c.name.startsWith("prelu")) continue;
    const f = OPS[c.name];
    assert.ok(f, `no op for the fixture's ${c.name}`);
    const { x, y, g, gg } = derivatives(c, f);
    const xs = Array.from(x.data);
    const f64 = c.dtype === "float64";
    // float64: tight; float32: y to 1 ulp (2^-23 relative; subnormals
    // absolute), g to 1e-3 (both sides' 1 - y² cancels), gg only in float64
    const tol = {
      y: f64 ? [1e-12, 1e-15] : [2 ** -23, 2 ** -126],
      g: f64 ? [1e-9, 1e-15] : [1e-3, 1e-20],
      gg: [1e-6, 1e-15],
    } as const;
    const parts: [keyof typeof tol, Tensor | null, Json | null][] = [
      ["y", y, c.y],
      ["g", g, c.g],
      ["gg", f64 ? gg : null, c.gg],
    ];
    for (const [what, got, want] of parts) {
      if (!got || !want) continue;
      // PyTorch's float32 gelu takes a less exact vectorised erf
      if (!f64 && c.name.startsWith("gelu")) continue;
      const [rtol, atol] = tol[what];
      for (let i = 0; i < want.data.length; i++) {
        const xi = xs[MIXING.test(c.name) ? i : i % xs.length];
        const w = num(want.data[i]), v = got.data[i];
        if (exempt(c, what, xi, w)) continue;
        checked++;
        if (!close(v, w, rtol, atol)) {
          fails.push(
            `${c.name} ${c.dtype} ${what} [${i}] x=${xi}: ${v} vs ${w}`,
          );
        }
      }
    }
  }
  assert.deepEqual(fails, []);
  assert.ok(checked > 5000, `${checked} values checked`);
});

Deno.test("prelu vs PyTorch: per channel, one slope, 1-D; both gradients", () => {
  for (const c of cases.filter((c) => c.name.startsWith("prelu"))) {
    const x = ten(c.x), w = ten(c.w!);
    const y = T.prelu(x, w);
    const wy = cot(y.shape, c.dtype);
    const [gx, gw] = T.grad(
      (a: Tensor, b: Tensor) => T.sum(T.mul(T.prelu(a, b), wy)),
      { argnums: [0, 1] },
    )(x, w) as Tensor[];
    for (
      const [what, got, want] of [["y", y, c.y], ["gx", gx, c.g], [
        "gw",
        gw,
        c.gw!,
      ]] as const
    ) {
      const exp = want.data.map(num);
      Array.from(got.data).forEach((v, i) =>
        assert.ok(
          close(v, exp[i], 1e-6, 0),
          `${c.name} ${c.dtype} ${what}[${i}]: ${v} vs ${exp[i]}`,
        )
      );
    }
  }
});

Deno.test("logSigmoid: second derivative -σ(x)(1 - σ(x)), -1/4 at 0", () => {
  // closed form; PyTorch's torch.autograd.grad twice gives -0.25 at 0 too
  const xs = [-0, 0, 1e-300, -1e-300, 1e-8, -0.5, 0.5, 3, -3];
  const x = T.tensor(xs, { dtype: "float64" });
  const g = (t: Tensor) => T.grad((u: Tensor) => T.sum(T.logSigmoid(u)))(t);
  const gg = T.grad((t: Tensor) => T.sum(g(t)))(x);
  xs.forEach((v, i) => {
    const s = 1 / (1 + Math.exp(-v));
    assert.ok(
      Math.abs(gg.data[i] + s * (1 - s)) < 1e-15,
      `x=${v}: ${gg.data[i]}`,
    );
  });
  // and it is still jit's and vmap's
  sameBits(
    T.jit((t: Tensor) => T.grad((u: Tensor) => T.sum(g(u)))(t))(x),
    gg,
    "jit",
  );
});

Deno.test("jit and vmap: the bits of eager, chains of activations included", () => {
  const f32 = T.tensor(
    [
      -Infinity,
      -1e3,
      -50,
      -20,
      -3,
      -1,
      -0.5,
      -0,
      0,
      0.5,
      1,
      3,
      6,
      20,
      50,
      1e3,
      Infinity,
      NaN,
    ],
  );
  for (const x of [f32, T.astype(f32, "float64")]) {
    for (const [name, f] of Object.entries(OPS)) {
      if (MIXING.test(name)) continue;
      const gf = T.grad((t: Tensor) => T.sum(f(t)));
      sameBits(T.jit(f)(x), f(x), `jit ${name}`);
      sameBits(T.jit(gf)(x), gf(x), `jit grad ${name}`);
      sameBits(T.vmap(gf)(x), gf(x), `vmap grad ${name}`);
      const x2 = T.stack([x, T.neg(x)]);
      sameBits(T.vmap(f)(x2), f(x2), `vmap ${name}`);
    }
    // a chain jit fuses into elementwise loops
    const chain = (t: Tensor) =>
      T.mish(T.softplus(T.hardswish(T.gelu(T.elu(T.silu(T.logSigmoid(t)))))));
    sameBits(T.jit(chain)(x), chain(x), "jit chain");
    const gchain = T.grad((t: Tensor) => T.sum(chain(t)));
    sameBits(T.jit(gchain)(x), gchain(x), "jit grad chain");
    const rows = T.reshape(T.slice(x, [0], [16]), [4, 4]);
    for (const name of ["softmax", "logSoftmax", "softmin", "glu"]) {
      sameBits(T.jit(OPS[name])(rows), OPS[name](rows), `jit ${name}`);
      sameBits(T.vmap(OPS[name])(rows), OPS[name](rows), `vmap ${name}`);
    }
  }
});

Deno.test("nn layers apply the ops", () => {
  const x = T.tensor([-3, -0.5, 0, 0.5, 3, 25], { dtype: "float64" });
  const pairs: [Tensor, Tensor][] = [
    [T.nn.elu({ alpha: 2 }).apply({}, x), T.elu(x, { alpha: 2 })],
    [
      T.nn.leakyRelu({ negativeSlope: -0.5 }).apply({}, x),
      T.leakyRelu(x, { negativeSlope: -0.5 }),
    ],
    [
      T.nn.softplus({ beta: 2, threshold: 5 }).apply({}, x),
      T.softplus(x, { beta: 2, threshold: 5 }),
    ],
    [
      T.nn.hardtanh({ minVal: -2, maxVal: 1 }).apply({}, x),
      T.hardtanh(x, { minVal: -2, maxVal: 1 }),
    ],
    [T.nn.logSigmoid.apply({}, x), T.logSigmoid(x)],
    [T.nn.mish.apply({}, x), T.mish(x)],
    [T.nn.selu.apply({}, x), T.selu(x)],
    [T.nn.hardswish.apply({}, x), T.hardswish(x)],
    [
      T.nn.rrelu().apply({}, x),
      T.leakyRelu(x, { negativeSlope: (1 / 8 + 1 / 3) / 2 }),
    ],
  ];
  pairs.forEach(([a, b], i) => sameBits(a, b, `layer ${i}`));
});

Deno.test("errors: bad options and int32 inputs name the op and the option", () => {
  const x = T.tensor([-1, 1]), xi = T.tensor([-1, 1], { dtype: "int32" });
  // PyTorch: F.leaky_relu(x, nan) and F.elu(x, alpha=nan) give NaN silently,
  // F.softplus(x, beta=0) inf; F.glu(torch.tensor(1.)) raises "glu does not
  // support scalars"; the int ones raise "not implemented for 'Int'"
  assertErrors("leakyRelu", [
    [
      () => T.leakyRelu(x, { negativeSlope: NaN }),
      /negativeSlope must be a finite number, got number NaN/,
    ],
    [
      () => T.leakyRelu(x, { negativeSlope: "0.1" as never }),
      /negativeSlope must be a finite number, got string/,
    ],
    [() => T.leakyRelu(xi), /x must be float32 or float64, got int32/],
  ]);
  assertErrors("elu", [
    [
      () => T.elu(x, { alpha: NaN }),
      /alpha must be a finite number, got number NaN/,
    ],
    [() => T.elu(x, { alpha: Infinity }), /alpha must be a finite number/],
    [() => T.elu(xi), /x must be float32 or float64, got int32/],
  ]);
  assertErrors("softplus", [
    [() => T.softplus(x, { beta: 0 }), /beta must be nonzero, got 0/],
    [
      () => T.softplus(x, { beta: NaN }),
      /beta must be a finite number, got number NaN/,
    ],
    [
      () => T.softplus(x, { threshold: NaN }),
      /threshold must be a finite number, got number NaN/,
    ],
    [() => T.softplus(xi), /x must be float32 or float64, got int32/],
  ]);
  assertErrors("gelu", [[() => T.gelu(xi), /x must be float32 or float64/]]);
  assertErrors("silu", [[() => T.silu(xi), /x must be float32 or float64/]]);
  assertErrors("glu", [
    [
      () => T.glu(T.tensor(1)),
      /x must have at least one axis .* got shape \[\]/,
    ],
    [() => T.glu(T.zeros([2, 3])), /must have an even size, got 3/],
  ]);
  assertErrors("hardtanh", [
    [
      () => T.hardtanh(x, { minVal: 2, maxVal: 1 }),
      /minVal must be below maxVal, got 2 and 1/,
    ],
    [
      () => T.hardtanh(x, { maxVal: NaN }),
      /maxVal must be a finite number, got number NaN/,
    ],
  ]);
  assertErrors("celu", [[
    () => T.celu(x, { alpha: 0 }),
    /alpha must be a finite nonzero number/,
  ]]);
  assertErrors("softshrink", [[
    () => T.softshrink(x, { lambd: -1 }),
    /lambd must be a finite number >= 0/,
  ]]);
});
