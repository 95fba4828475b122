/**
 * A probe of the user-defined derivative rules and rematerialisation
 * (ops/custom_vjp.ts, ops/checkpoint.ts, `stopGradient`, `linearize`):
 * `customVjp`, `customJvp`, `checkpoint`, `pureCallback` composed with
 * grad, grad of grad, vjp, jvp, jvp of grad, vmap (inAxes null, nested,
 * zero examples), jit inside and outside, hasAux and trees, against closed
 * forms, float64 finite differences and PyTorch 1.13
 * (`torch.autograd.Function`, `torch.utils.checkpoint`:
 * tests/fixtures/custom_rules_probe.json, written by
 * tests/fixtures/gen_custom_rules_probe.py); and bad rules: wrong counts,
 * shapes, dtypes and non-tensors are errors that name the rule and the
 * argument.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import fixture from "./fixtures/custom_rules_probe.json" with { type: "json" };
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";
import { fixtureTensor } from "./_fixture_cases.ts";

const t = fixtureTensor;
const f64 = { dtype: "float64" } as const;
const x = T.tensor([0.5, -1.25, 2], f64);
const xs = T.tensor([[0.5, -1.25, 2], [3, 0.1, -0.7]], f64);

/** sin with its own VJP, cos(x)·g, written with ops (so it differentiates again). */
const csin = T.customVjp(
  (a: Tensor) => T.sin(a),
  (a: Tensor) => [T.sin(a), a],
  (a: Tensor, g: Tensor) => [T.mul(g, T.cos(a))],
);
/** sin with its own JVP, cos(x)·t. */
const jsin = T.customJvp(
  (a: Tensor) => T.sin(a),
  ([a], [ta]) => [T.sin(a), T.mul(ta, T.cos(a))],
);

Deno.test("custom rules probe: customVjp and customJvp under every transform give sin's closed-form derivatives", () => {
  const cos = T.cos(x), nsin = T.neg(T.sin(x));
  for (const [name, h] of [["customVjp", csin], ["customJvp", jsin]] as const) {
    const loss = (a: Tensor) => T.sum(h(a));
    const o = { rtol: 1e-15, atol: 0, msg: name };
    assertAllClose(T.grad(loss)(x), cos, o);
    assertAllClose(T.grad((a: Tensor) => T.sum(T.grad(loss)(a)))(x), nsin, o);
    const [y, back] = T.vjp(h, x);
    assertAllClose(y, T.sin(x), o);
    assertAllClose(
      back(T.tensor([1, 2, 3], f64))[0],
      T.mul(cos, T.tensor([1, 2, 3], f64)),
      o,
    );
    assertAllClose(
      T.jvp(h, [x], [T.tensor([1, 2, 3], f64)])[1],
      T.mul(cos, T.tensor([1, 2, 3], f64)),
      o,
    );
    assertAllClose(T.jvp(T.grad(loss), [x], [T.onesLike(x)])[1], nsin, o);
    assertAllClose(T.linearize(h, x)[1](T.onesLike(x)), cos, o);
    assertAllClose(
      T.hessian(loss)(x) as Tensor,
      T.mul(T.eye(3, undefined, f64), nsin),
      o,
    );
    // vmap: mapped, one argument not mapped, nested, of grad
    assertAllClose(T.vmap(T.grad(loss))(xs), T.cos(xs), o);
    const withB = (a: Tensor, b: Tensor) => T.mul(h(a), b);
    assertAllClose(
      T.vmap(T.grad((a: Tensor, b: Tensor) => T.sum(withB(a, b))), {
        inAxes: [null, 0],
      })(x, xs),
      T.mul(cos, xs),
      o,
    );
    assertAllClose(
      T.vmap(T.vmap(h))(T.reshape(xs, [2, 3, 1])),
      T.reshape(T.sin(xs), [2, 3, 1]),
      o,
    );
    // jit outside and inside, replayed on new values
    const j = T.jit(T.grad(loss));
    j(x);
    assertAllClose(j(xs), T.cos(xs), o);
    assert.equal(j.traceCount(), 2);
    assertAllClose(T.grad(T.jit(loss))(x), cos, o);
    // hasAux, a tree argument, a scalar and an empty tensor
    const [g, aux] = T.grad(
      (p: { a: Tensor[] }) => [loss(p.a[0]), { y: h(p.a[0]) }],
      { hasAux: true },
    )({ a: [x] });
    assertAllClose(g.a[0], cos, o);
    assertAllClose(aux.y, T.sin(x), o);
    assertAllClose(
      T.grad((a: Tensor) => h(a))(T.tensor(0.3, f64)),
      Math.cos(0.3),
      o,
    );
    assert.deepEqual(T.grad(loss)(T.zeros([0], f64)).shape, [0]);
  }
});

Deno.test("custom rules probe: customVjp with an int32 argument and one used twice, against finite differences", () => {
  // f(a, n) = a·n, its bwd the true derivative; n is int32 (no cotangent: bwd's entry is unused)
  const scale = T.customVjp(
    (a: Tensor, n: Tensor) => T.mul(a, n),
    (a: Tensor, n: Tensor) => [T.mul(a, n), n],
    (n: Tensor, g: Tensor) => [T.mul(g, n), T.zerosLike(n)],
  );
  const n = T.tensor([1, 2, 3], { dtype: "int32" });
  assertAllClose(T.grad((a: Tensor) => T.sum(scale(a, n)))(x), [1, 2, 3], {
    rtol: 0,
    atol: 0,
  });
  // a·sin(b) with a = b = x: the cotangents of both positions add up
  const asin = T.customVjp(
    (a: Tensor, b: Tensor) => T.mul(a, T.sin(b)),
    (a: Tensor, b: Tensor) => [T.mul(a, T.sin(b)), { a, b }],
    (
      r: { a: Tensor; b: Tensor },
      g: Tensor,
    ) => [T.mul(g, T.sin(r.b)), T.mul(T.mul(g, r.a), T.cos(r.b))],
  );
  const f = (a: Tensor) => T.sum(asin(a, a));
  T.checkGrads(f, [x], { order: 2, modes: ["rev"] });
  const g = T.grad(f)(x);
  // d/dx x·sin x = sin x + x cos x
  assertAllClose(g, T.add(T.sin(x), T.mul(x, T.cos(x))), {
    rtol: 1e-15,
    atol: 0,
  });
});

Deno.test("custom rules probe: PyTorch autograd.Function numbers (a clipped cotangent; double backward through a rule)", () => {
  const { clip, cube } = fixture;
  // ClipGrad: identity whose backward clamps the cotangent to [-1, 1]
  const clipGrad = T.customVjp(
    (a: Tensor) => a,
    (a: Tensor) => [a, null],
    (_r: null, g: Tensor) => [T.clamp(g, { min: -1, max: 1 })],
  );
  const [gx, gw] = T.grad(
    (a: Tensor, w: Tensor) => T.sum(T.mul(clipGrad(T.mul(a, w)), t(clip.ct))),
    { argnums: [0, 1] },
  )(t(clip.x), t(clip.w));
  assertAllClose(gx, t(clip.grads.x), { rtol: 1e-15, atol: 0 });
  assertAllClose(gw, t(clip.grads.w), { rtol: 1e-15, atol: 0 });
  // Cube: x³ with backward 3x²·g; grad and the Hessian-vector product
  const cubeV = T.customVjp(
    (a: Tensor) => T.mul(T.mul(a, a), a),
    (a: Tensor) => [T.mul(T.mul(a, a), a), a],
    (a: Tensor, g: Tensor) => [T.mul(T.mul(T.mul(a, a), 3), g)],
  );
  const cubeJ = T.customJvp(
    (a: Tensor) => T.mul(T.mul(a, a), a),
    ([a], [ta]) => [T.mul(T.mul(a, a), a), T.mul(T.mul(T.mul(a, a), 3), ta)],
  );
  for (const h of [cubeV, cubeJ]) {
    const gradOf = (a: Tensor) =>
      T.grad((b: Tensor) => T.sum(T.mul(h(b), t(cube.ct))))(a);
    assertAllClose(gradOf(t(cube.x)), t(cube.grad), { rtol: 1e-14, atol: 0 });
    const hvp = T.grad((a: Tensor) => T.sum(T.mul(gradOf(a), t(cube.v))))(
      t(cube.x),
    );
    assertAllClose(hvp, t(cube.hvp), { rtol: 1e-14, atol: 0 });
    assertAllClose(T.jvp(gradOf, [t(cube.x)], [t(cube.v)])[1], t(cube.hvp), {
      rtol: 1e-14,
      atol: 0,
    });
  }
});

Deno.test("custom rules probe: checkpoint of a conv block gives torch.utils.checkpoint's values, gradients and Hessian-vector product", () => {
  const b = fixture.block;
  type P = { w1: Tensor; b1: Tensor; w2: Tensor };
  const block = (p: P, v: Tensor) =>
    T.conv2d(
      T.maxPool2d(T.tanh(T.conv2d(v, p.w1, p.b1, { padding: 1 })), {
        kernelSize: 2,
      }),
      p.w2,
    );
  const p: P = { w1: t(b.w1), b1: t(b.b1), w2: t(b.w2) };
  const xb = t(b.x), ct = t(b.ct);
  const loss = (q: P, v: Tensor) => T.sum(T.mul(T.checkpoint(block)(q, v), ct));
  const o = { rtol: 1e-12, atol: 1e-13 };
  assertAllClose(T.checkpoint(block)(p, xb), t(b.out), o);
  for (
    const g of [
      T.grad(loss, { argnums: [0, 1] }),
      T.jit(T.grad(loss, { argnums: [0, 1] })),
    ]
  ) {
    const [gp, gx] = g(p, xb);
    assertAllClose(gx, t(b.grads.x), o);
    assertAllClose(gp.w1, t(b.grads.w1), o);
    assertAllClose(gp.b1, t(b.grads.b1), o);
    assertAllClose(gp.w2, t(b.grads.w2), o);
  }
  const hvp = T.grad((q: P) =>
    T.sum(T.mul(T.grad(loss, { argnums: 1 })(q, xb), t(b.v)))
  )(p);
  assertAllClose(hvp.w1, t(b.hvp_w1), o);
});

Deno.test("custom rules probe: checkpoint of a tree with an int32 leaf and a random key: the function's own bits under grad, jit, vmap", () => {
  type P = { w: Tensor; b: Tensor[]; n: Tensor };
  const blk = (p: P, k: T.Key, v: Tensor) =>
    T.add(
      T.mul(
        T.mul(T.tanh(T.mul(p.w, v)), p.b[0]),
        T.astype(T.random.bernoulli(k, 0.5, [3]), "float64"),
      ),
      T.astype(p.n, "float64"),
    );
  const p: P = {
    w: T.tensor([0.3, -0.7, 1.1], f64),
    b: [T.tensor([2, 3, 4], f64)],
    n: T.tensor([1, 2, 3], { dtype: "int32" }),
  };
  const key = T.random.key(11);
  const lossC = (v: Tensor) => T.sum(T.sin(T.checkpoint(blk)(p, key, v)));
  const lossF = (v: Tensor) => T.sum(T.sin(blk(p, key, v)));
  sameBits(T.grad(lossC)(x), T.grad(lossF)(x), "grad");
  sameBits(T.jit(T.grad(lossC))(x), T.grad(lossF)(x), "jit(grad)");
  // (second order: the same terms, possibly summed in another order)
  assertAllClose(
    T.grad((v: Tensor) => T.sum(T.grad(lossC)(v)))(x),
    T.grad((v: Tensor) => T.sum(T.grad(lossF)(v)))(x),
    { rtol: 1e-15, atol: 1e-15, msg: "grad(grad)" },
  );
  T.checkGrads(lossC, [x], { order: 2 });
  const keys = T.random.split(key, 2);
  const perC = T.vmap((k: T.Key, v: Tensor) => T.checkpoint(blk)(p, k, v))(
    keys,
    xs,
  );
  const perF = T.vmap((k: T.Key, v: Tensor) => blk(p, k, v))(keys, xs);
  sameBits(perC, perF, "vmap over keys");
  assert.deepEqual(
    T.vmap((v: Tensor) => T.checkpoint(blk)(p, key, v))(T.zeros([0, 3], f64))
      .shape,
    [0, 3],
  );
});

Deno.test("custom rules probe: vmap over zero examples of customVjp, customJvp and pureCallback gives [0, ...] (the rule is not looped over nothing)", () => {
  const empty = T.zeros([0, 3], f64);
  for (const h of [csin, jsin]) {
    const y = T.vmap(h)(empty);
    assert.deepEqual([y.shape, y.dtype], [[0, 3], "float64"]);
    const g = T.vmap(T.grad((a: Tensor) => T.sum(h(a))))(empty);
    assert.deepEqual(g.shape, [0, 3]);
    // an unmapped argument alongside
    const z = T.vmap((a: Tensor, b: Tensor) => T.mul(h(a), b), {
      inAxes: [0, null],
    })(empty, x);
    assert.deepEqual(z.shape, [0, 3]);
  }
  let calls = 0;
  const cb = T.vmap((a: Tensor) =>
    T.pureCallback(
      (v) => {
        calls++;
        return T.sum(v);
      },
      { shape: [], dtype: "float64" },
      a,
    )
  );
  const s = cb(empty);
  assert.deepEqual([s.shape, s.dtype, calls], [[0], "float64", 0]);
  // a function that makes NaN at zeros, with the NaN checks on: its shape only is asked for
  const ratio = T.customVjp(
    (a: Tensor) => T.div(a, a),
    (a: Tensor) => [T.div(a, a), a],
    (_a: Tensor, g: Tensor) => [T.zerosLike(g)],
  );
  T.setDebugNans(true);
  try {
    assert.deepEqual(T.vmap(ratio)(empty).shape, [0, 3]);
  } finally {
    T.setDebugNans(false);
  }
});

Deno.test("custom rules probe: a customVjp rule's bad results are errors naming customVjp, the rule and the argument", () => {
  const withBwd = (bwd: (r: Tensor, g: Tensor) => unknown) =>
    T.customVjp(
      (a: Tensor) => T.sin(a),
      (a: Tensor) => [T.sin(a), a],
      bwd as never,
    );
  const withFwd = (fwd: (a: Tensor) => unknown) =>
    T.customVjp(
      (a: Tensor) => T.sin(a),
      fwd as never,
      (_r: Tensor, g: Tensor) => [g],
    );
  const gradOf = (h: (a: Tensor) => Tensor) => () =>
    T.grad((a: Tensor) => T.sum(h(a)))(x);
  assertErrors("customVjp", [
    [
      gradOf(withBwd((_r, g) => [g, g])),
      /bwd must return an array of 1 cotangent\(s\), one per argument, got an array of length 2/,
    ],
    [
      gradOf(withBwd((_r, g) => [T.sum(g)])),
      /the cotangent 0 bwd returns must be a Tensor of the shape of argument 0, \[3\], got Tensor float64 \[\]/,
    ],
    [
      gradOf(withBwd(() => [3])),
      /the cotangent 0 bwd returns must be a Tensor .* got number 3/,
    ],
    [
      gradOf(withBwd(() => [null])),
      /the cotangent 0 bwd returns must be a Tensor .* got null/,
    ],
    // forward mode transposes bwd: the same checks (a number gave zeros silently)
    [
      () => T.jvp(withBwd(() => [3]), [x], [x]),
      /the cotangent 0 bwd returns must be a Tensor .* got number 3/,
    ],
    [
      () => T.jvp(withBwd((_r, g) => [T.sum(g)]), [x], [x]),
      /the cotangent 0 bwd returns must be a Tensor of the shape of argument 0/,
    ],
    [
      gradOf(withFwd(() => 3)),
      /fwd must return \[output, residuals\], got number 3/,
    ],
    [
      gradOf(withFwd((a) => a)),
      /fwd must return \[output, residuals\], got Tensor float64 \[3\]/,
    ],
    [
      gradOf(withFwd((a) => [T.sum(a), a])),
      /the output fwd returns must be a Tensor of the shape and dtype of f's output, float64 \[3\], got Tensor float64 \[\]/,
    ],
    [
      gradOf(withFwd((a) => [T.astype(a, "float32"), a])),
      /the output fwd returns must be .* got Tensor float32 \[3\]/,
    ],
    [
      () =>
        T.customVjp((() => 3) as never, (a: Tensor) => [a, a], (_r, g) => [g])(
          x,
        ),
      /f must return a Tensor, got number 3/,
    ],
    [
      () =>
        T.customVjp(
          ((a: Tensor) => [a]) as never,
          (a: Tensor) => [a, a],
          (_r, g) => [g],
        )(x),
      /f must return a Tensor, got an array of length 1/,
    ],
  ]);
  // a cotangent of another float dtype (or int32) is cast to the argument's, as JAX allows
  const g = T.grad((a: Tensor) =>
    T.sum(withBwd((_r, g) => [T.astype(T.mul(g, 2), "float32")])(a))
  )(x);
  assert.deepEqual([g.dtype, [...g.data]], ["float64", [2, 2, 2]]);
});

Deno.test("custom rules probe: a customJvp rule's bad results are errors naming customJvp (JAX checks the tangent's shape and dtype)", () => {
  const withJvp = (rule: (p: Tensor[], ts: Tensor[]) => unknown) =>
    T.customJvp((a: Tensor) => T.sin(a), rule as never);
  assertErrors("customJvp", [
    [
      () => T.jvp(withJvp(([a], [ta]) => [T.sin(a), T.sum(ta)]), [x], [x]),
      /the tangent jvp returns must be a Tensor of the shape and dtype of f's output, float64 \[3\], got Tensor float64 \[\]/,
    ],
    [
      () =>
        T.grad((a: Tensor) =>
          T.sum(withJvp(([b], [tb]) => [T.sin(b), T.sum(tb)])(a))
        )(x),
      /the tangent jvp returns must be a Tensor of the shape and dtype of f's output/,
    ],
    [
      () =>
        T.jvp(withJvp(([a], [ta]) => [T.sin(a), T.astype(ta, "int32")]), [x], [
          x,
        ]),
      /the tangent jvp returns .* got Tensor int32 \[3\]/,
    ],
    [
      () =>
        T.jvp(
          withJvp(([a], [ta]) => [T.sin(a), T.astype(ta, "float32")]),
          [x],
          [x],
        ),
      /the tangent jvp returns .* got Tensor float32 \[3\]/,
    ],
    [
      () => T.jvp(withJvp(([a], [ta]) => [T.sum(a), ta]), [x], [x]),
      /the output jvp returns must be a Tensor of the shape and dtype of f's output, float64 \[3\], got Tensor float64 \[\]/,
    ],
    [
      () => T.customJvp((() => 3) as never, ([a], [ta]) => [a, ta])(x),
      /f must return a Tensor, got number 3/,
    ],
  ]);
});

Deno.test("custom rules probe: pureCallback returning a traced value it closed over is an error, not a derivative or a recorded constant", () => {
  const leak = (a: Tensor) =>
    T.pureCallback(() => a, { shape: [3], dtype: "float64" });
  assertErrors("pureCallback", [
    [
      () => T.grad((a: Tensor) => T.sum(T.mul(leak(a), a)))(x),
      /the callback returned a traced value/,
    ],
    [() => T.jit(leak)(x), /the callback returned a traced value/],
    [() => T.vmap(leak)(xs), /the callback returned a traced value/],
  ]);
  // one computed from its arguments is fine under each, and jit replays it with new values
  const twice = (a: Tensor) =>
    T.pureCallback((v) => T.mul(v, 2), { shape: [3], dtype: "float64" }, a);
  const j = T.jit(twice);
  j(x);
  assertAllClose(j(T.neg(x)), T.mul(x, -2), { rtol: 0, atol: 0 });
  assertAllClose(T.vmap(twice)(xs), T.mul(xs, 2), { rtol: 0, atol: 0 });
  assertAllClose(
    T.grad((a: Tensor) => T.sum(T.mul(twice(T.stopGradient(a)), a)))(x),
    T.mul(x, 2),
    { rtol: 0, atol: 0 },
  );
});
