/**
 * vmap and the Jacobian transforms: every row of the gradient tables as a
 * vmap property (vmap(f) = f stacked over the examples, with inAxes 0, last
 * and null per argument), per-example gradients of LeNet-5 and of a float32
 * MLP against a loop, jacrev = jacfwd = finite differences, a closed-form
 * Hessian, the nesting orders, customVjp under vmap, and the errors.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { vmapLoops } from "../ops/custom_vjp.ts";
import { drawValues, type Row } from "./_op_table.ts";
import { allRows } from "./_rows.ts";
import { assertAllClose } from "./_helpers.ts";

const f64 = { dtype: "float64" as const };
const rows: Row[] = allRows;

/** Example k's arguments and the batched arguments for `modes` (0, -1 or null per argument). */
function batchArgs(
  row: Row,
  shapes: number[][],
  size: number,
  modes: (0 | -1 | null)[],
  seed: number,
): { examples: Tensor[][]; batched: Tensor[] } {
  const perArg = shapes.map((s, i) =>
    [...Array(size).keys()].map((k) =>
      drawValues(s, row.domains[i] ?? "real", seed + 7919 * i + 104729 * k)
    )
  );
  const examples = [...Array(size).keys()].map((k) =>
    perArg.map((xs, i) => (modes[i] === null ? xs[0] : xs[k]))
  );
  const batched = perArg.map((xs, i) =>
    modes[i] === null
      ? xs[0]
      : T.stack(xs, modes[i] === 0 ? 0 : xs[0].shape.length)
  );
  return { examples, batched };
}

for (const row of rows) {
  Deno.test(`vmap(f) = f stacked over the examples: ${row.name}`, () => {
    fc.assert(
      fc.property(
        row.arb,
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom(0 as const, -1 as const, null), {
          minLength: 6,
          maxLength: 6,
        }),
        fc.integer({ min: 0, max: 1e6 }),
        ({ shapes, p }, size, modeDraw, seed) => {
          const modes = shapes.map((_, i) => modeDraw[i]);
          const { examples, batched } = batchArgs(
            row,
            shapes,
            size,
            modes,
            seed,
          );
          const f = (...xs: Tensor[]) => row.f(p, ...xs);
          const expected = T.stack(examples.map((xs) => f(...xs)), 0);
          const actual = T.vmap(f, {
            inAxes: modes,
            axisSize: size,
          })(...batched);
          assertAllClose(actual, expected, {
            atol: 1e-10,
            rtol: 1e-9,
            msg: `${row.name} modes ${JSON.stringify(modes)} size ${size}`,
          });
        },
      ),
      { numRuns: 12 },
    );
  });
}

Deno.test("vmap(grad(loss), { inAxes: [null, 0, 0] }) of LeNet-5 on 8 digits equals a loop of grad, and its mean equals grad of the mean loss; no example loop", async () => {
  const { test } = await T.data.loadMnist();
  const x = T.data.padImages(
    T.astype(T.reshape(T.slice(test.x, [0], [8]), [8, 1, 28, 28]), "float64"),
    2,
  ); // 32x32, as LeNet-5 expects
  const y = T.slice(test.y, [0], [8]);
  const net = T.nn.lenet5({ dtype: "float64" });
  const params = net.init(T.random.key(3));
  const loss = (p: typeof params, xi: Tensor, yi: Tensor) =>
    T.crossEntropy(
      net.apply(p, T.expandDims(xi, 0)),
      T.expandDims(yi, 0),
    );
  const loops = vmapLoops();
  const perExample = T.vmap(T.grad(loss), { inAxes: [null, 0, 0] })(
    params,
    x,
    y,
  );
  assert.equal(vmapLoops(), loops, "vmap looped over examples");
  const [leaves] = T.treeFlatten(perExample);
  const [paramLeaves] = T.treeFlatten(params);
  leaves.forEach((l, i) =>
    assert.deepEqual(l.shape, [8, ...paramLeaves[i].shape])
  );
  for (let k = 0; k < 8; k++) {
    const g = T.grad(loss)(
      params,
      T.squeeze(T.slice(x, [k], [k + 1]), 0),
      T.squeeze(T.slice(y, [k], [k + 1]), 0),
    );
    T.treeFlatten(g)[0].forEach((gl, i) =>
      assertAllClose(T.squeeze(T.slice(leaves[i], [k], [k + 1]), 0), gl, {
        atol: 1e-12,
        rtol: 1e-9,
        msg: `example ${k} leaf ${i}`,
      })
    );
  }
  const meanLoss = (p: typeof params) => T.crossEntropy(net.apply(p, x), y);
  const g = T.grad(meanLoss)(params);
  T.treeFlatten(g)[0].forEach((gl, i) =>
    assertAllClose(T.mean(leaves[i], { axis: 0 }), gl, {
      atol: 1e-12,
      rtol: 1e-9,
      msg: `mean leaf ${i}`,
    })
  );
});

/** `got` and `want` hold the same values bit for bit (the first difference named, not a diff of the arrays). */
function assertSameBits(got: Tensor, want: Tensor, msg: string): void {
  assert.deepEqual(got.shape, want.shape, msg);
  const a = got.data, b = want.data;
  const i = a.findIndex((v, j) => !Object.is(v, b[j]));
  assert.equal(i, -1, `${msg}: element ${i} is ${a[i]}, the loop's ${b[i]}`);
}

Deno.test("float32 per-example gradients of a 2-64-64-2 tanh MLP (batched outer products in WebAssembly) equal a loop of grad bit for bit", () => {
  const [k1, k2, k3, kx] = T.random.split(T.random.key(5), 4);
  const u = (k: T.random.Key, shape: number[]) =>
    T.random.uniform(k, shape, { minval: -0.5, maxval: 0.5 });
  const params = {
    w1: u(k1, [64, 2]),
    b1: u(k2, [64]),
    w2: u(k2, [64, 64]),
    b2: u(k3, [64]),
    w3: u(k3, [2, 64]),
    b3: u(k1, [2]),
  };
  const apply = (p: typeof params, x: Tensor) =>
    T.linear(
      T.tanh(T.linear(T.tanh(T.linear(x, p.w1, p.b1)), p.w2, p.b2)),
      p.w3,
      p.b3,
    );
  const n = 16;
  const x = T.random.normal(kx, [n, 2]);
  const y = T.random.randint(T.random.key(6), [n], 0, 2);
  const loss = (p: typeof params, xi: Tensor, yi: Tensor) =>
    T.crossEntropy(apply(p, T.expandDims(xi, 0)), T.expandDims(yi, 0));
  const [leaves] = T.treeFlatten(
    T.vmap(T.grad(loss), { inAxes: [null, 0, 0] })(params, x, y),
  );
  // [16, 64, 64], [16, 64, 2], [16, 2, 64]: the outer products the loop's
  // examples compute one at a time (some of them in TypeScript)
  for (let k = 0; k < n; k++) {
    const g = T.grad(loss)(
      params,
      T.squeeze(T.slice(x, [k], [k + 1]), 0),
      T.squeeze(T.slice(y, [k], [k + 1]), 0),
    );
    T.treeFlatten(g)[0].forEach((gl, i) =>
      assertSameBits(
        T.squeeze(T.slice(leaves[i], [k], [k + 1]), 0),
        gl,
        `example ${k} leaf ${i}`,
      )
    );
  }
});

Deno.test("float32 per-example gradients of a wide linear layer (2^20 outer-product entries, shared with the worker threads) equal a loop of grad bit for bit", () => {
  const [kw, kx] = T.random.split(T.random.key(7), 2);
  const w = T.random.uniform(kw, [256, 256], { minval: -0.5, maxval: 0.5 });
  const x = T.random.normal(kx, [16, 256]);
  const loss = (w: Tensor, xi: Tensor) => T.sum(T.tanh(T.linear(xi, w)));
  const perExample = T.vmap(T.grad(loss), { inAxes: [null, 0] })(w, x);
  assert.deepEqual(perExample.shape, [16, 256, 256]);
  for (let k = 0; k < 16; k++) {
    const g = T.grad(loss)(w, T.squeeze(T.slice(x, [k], [k + 1]), 0));
    assertSameBits(
      T.squeeze(T.slice(perExample, [k], [k + 1]), 0),
      g,
      `example ${k}`,
    );
  }
});

/** Central differences of f at x (float64), as [...outShape, ...inShape]. */
function finiteJacobian(
  f: (x: Tensor) => Tensor,
  x: Tensor,
  eps = 1e-6,
): Tensor {
  const y = f(x);
  const n = x.data.length, m = y.data.length;
  const jac = new Float64Array(m * n);
  for (let j = 0; j < n; j++) {
    const plus = x.data.slice() as Float64Array,
      minus = x.data.slice() as Float64Array;
    plus[j] += eps;
    minus[j] -= eps;
    const yp = f(T.tensor(plus, { shape: [...x.shape], ...f64 })).data;
    const ym = f(T.tensor(minus, { shape: [...x.shape], ...f64 })).data;
    for (let i = 0; i < m; i++) jac[i * n + j] = (yp[i] - ym[i]) / (2 * eps);
  }
  return T.tensor(jac, { shape: [...y.shape, ...x.shape], ...f64 });
}

for (const row of rows) {
  Deno.test(`jacrev = jacfwd = finite differences: ${row.name}`, () => {
    fc.assert(
      fc.property(
        row.arb,
        fc.integer({ min: 0, max: 1e6 }),
        ({ shapes, p }, seed) => {
          const args = shapes.map((s, i) =>
            drawValues(s, row.domains[i] ?? "real", seed + 7919 * i)
          );
          const f = (...xs: Tensor[]) => row.f(p, ...xs);
          // a window of only padding gives -inf, where differences are NaN
          fc.pre(!row.mayBeInfinite || f(...args).data.every(Number.isFinite));
          const rev = T.jacrev(f)(...args) as Tensor;
          const fwd = T.jacfwd(f)(...args) as Tensor;
          const fd = finiteJacobian(
            (x) => f(x, ...args.slice(1)),
            args[0],
            row.check?.eps,
          );
          assertAllClose(rev, fwd, {
            atol: 1e-10,
            rtol: 1e-9,
            msg: "rev vs fwd",
          });
          // a float32 round trip (cast) needs its larger step and tolerance
          const tol = row.check?.atol ?? 1e-5;
          assertAllClose(rev, fd, {
            atol: tol,
            rtol: tol,
            msg: "rev vs differences",
          });
        },
      ),
      { numRuns: 4 },
    );
  });
}

Deno.test("hessian of x -> sum(x³) + xᵀAx is diag(6x) + A + Aᵀ; trees of Jacobians", () => {
  const a = T.tensor([[1, 2, 0], [0.5, -1, 3], [2, 0, 1]], f64);
  const x = T.tensor([0.3, -1.2, 2], f64);
  const f = (v: Tensor) =>
    T.add(T.sum(T.mul(T.mul(v, v), v)), T.sum(T.mul(v, T.matmul(a, v))));
  const h = T.hessian(f)(x) as Tensor;
  const expected = T.add(
    T.add(
      T.mul(T.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], f64), T.mul(x, 6)),
      a,
    ),
    T.transpose(a),
  );
  assertAllClose(h, expected, { atol: 1e-12, rtol: 1e-12 });
  // a tree in, a tree out: the output's structure outside, the input's inside
  const g = (p: { u: Tensor; w: Tensor }) => ({
    s: T.mul(p.u, p.w),
    t: T.sum(p.w),
  });
  const jac = T.jacrev(g)({
    u: T.tensor([1, 2], f64),
    w: T.tensor([3, 4], f64),
  }) as unknown as Record<string, Record<string, Tensor>>;
  assert.deepEqual(T.toArray(jac.s.u), [[3, 0], [0, 4]]);
  assert.deepEqual(T.toArray(jac.s.w), [[1, 0], [0, 2]]);
  assert.deepEqual(T.toArray(jac.t.u), [0, 0]);
  assert.deepEqual(T.toArray(jac.t.w), [1, 1]);
  const jf = T.jacfwd(g)({
    u: T.tensor([1, 2], f64),
    w: T.tensor([3, 4], f64),
  }) as unknown as Record<string, Record<string, Tensor>>;
  assert.deepEqual(T.toArray(jf.s.u), [[3, 0], [0, 4]]);
  assert.deepEqual(T.toArray(jf.t.w), [1, 1]);
});

Deno.test("vmap nests with itself and with grad, jvp and jacrev, in every order", () => {
  const x = T.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], f64); // [2, 2, 2]
  const f = (v: Tensor) => T.sum(T.mul(T.tanh(v), v));
  // vmap(vmap(f)) = f of every [i, j] row
  const vv = T.vmap(T.vmap(f))(x);
  const loop = T.tensor(
    [0, 1].map((i) =>
      [0, 1].map((j) =>
        T.item(f(T.squeeze(T.slice(x, [i, j, 0], [i + 1, j + 1, 2]), [0, 1])))
      )
    ),
    f64,
  );
  assertAllClose(vv, loop, { atol: 1e-14, rtol: 1e-14 });
  // the outer maps axis 1 (j) and stacks last, the inner maps i: [i, j] again
  const v2 = T.vmap(T.vmap(f), { inAxes: 1, outAxes: -1 })(x);
  assertAllClose(v2, loop, { atol: 1e-14, rtol: 1e-14 }); // outer over j, inner over i
  // vmap(grad(f)) = grad of each row; grad(sum of vmap(f)) = the same
  const rows2 = T.reshape(x, [4, 2]);
  const g1 = T.vmap(T.grad(f))(rows2);
  const g2 = T.grad((r: Tensor) => T.sum(T.vmap(f)(r)))(rows2);
  assertAllClose(g1, g2, { atol: 1e-14, rtol: 1e-14 });
  const g0 = T.stack(
    [0, 1, 2, 3].map((k) =>
      T.grad(f)(T.squeeze(T.slice(rows2, [k], [k + 1]), 0))
    ),
    0,
  );
  assertAllClose(g1, g0, { atol: 1e-14, rtol: 1e-14 });
  // vmap(jvp): a batch of tangents
  const u = T.tensor([1, -1], f64);
  const tangents = T.tensor([[1, 0], [0, 1]], f64);
  const jv = T.vmap((t: Tensor) => T.jvp(f, [u], [t])[1])(tangents);
  assertAllClose(jv, T.grad(f)(u), { atol: 1e-14, rtol: 1e-14 });
  // jacrev(vmap(f)): diagonal blocks
  const jr = T.jacrev(T.vmap(f))(rows2) as Tensor; // [4, 4, 2]
  assert.deepEqual(jr.shape, [4, 4, 2]);
  for (let k = 0; k < 4; k++) {
    for (let l = 0; l < 4; l++) {
      const block = T.squeeze(T.slice(jr, [k, l, 0], [k + 1, l + 1, 2]), [
        0,
        1,
      ]);
      assertAllClose(
        block,
        k === l ? T.squeeze(T.slice(g0, [k], [k + 1]), 0) : T.zeros([2], f64),
        { atol: 1e-14, rtol: 1e-14 },
      );
    }
  }
  // grad(grad) under vmap: the second derivative of each example
  const d2 = T.vmap(
    T.grad((s: Tensor) =>
      T.sum(T.grad((t: Tensor) => T.sum(T.mul(T.mul(t, t), t)))(s))
    ),
  )(T.tensor([1, 2, 3], f64));
  assert.deepEqual(T.toArray(d2), [6, 12, 18]);
});

Deno.test("vmap: outputs that do not depend on a mapped input are repeated; inAxes null and axisSize", () => {
  const out = T.vmap((_x: Tensor, c: Tensor) => c, { inAxes: [0, null] })(
    T.zeros([3, 2]),
    T.tensor([1, 2]),
  );
  assert.deepEqual(T.toArray(out), [[1, 2], [1, 2], [1, 2]]);
  const k = T.vmap(() => T.tensor(7), { inAxes: [], axisSize: 2 })();
  assert.deepEqual(T.toArray(k), [7, 7]);
  // a tree prefix: one axis for a subtree
  const s = T.vmap(
    (p: { a: Tensor; b: Tensor }) => T.add(p.a, p.b),
    { inAxes: [{ a: 0, b: null }] },
  )({ a: T.tensor([[1, 2], [3, 4]]), b: T.tensor([10, 20]) });
  assert.deepEqual(T.toArray(s), [[11, 22], [13, 24]]);
});

Deno.test("vmap: an argument with inAxes null may be anything (a number, a random key) and goes to f as it is, as JAX's in_axes None", () => {
  const xs = T.random.normal(T.random.key(3), [3, 6]);
  const f = (x: Tensor, s: number, k: T.random.Key) =>
    T.mul(T.dropout(x, { p: 0.5, key: k }), s);
  const k = T.random.key(4);
  const got = T.vmap(f, { inAxes: [0, null, null] })(xs, 3, k);
  // each example as f alone gives it: the same key, so the same mask
  [0, 1, 2].forEach((i) => {
    const x = T.reshape(T.slice(xs, [i], [i + 1]), [6]);
    assert.deepEqual(
      T.toArray(T.reshape(T.slice(got, [i], [i + 1]), [6])),
      T.toArray(f(x, 3, k)),
    );
  });
  // mapped, a number is still an error naming vmap
  assert.throws(
    () => T.vmap(f, { inAxes: [0, 0, null] })(xs, 3 as never, k),
    /^Error: vmap: argument 1 is not a tree of tensors/,
  );
});

Deno.test("vmap maps a list of keys (random.split(key, n)), as JAX's vmap maps a key array: each example draws from its own key, with the loop's bits (splits, dropout under grad, jit, nested lists, keys returned)", () => {
  const R = T.random;
  const same = (a: Tensor, b: Tensor, msg: string) => {
    assert.deepEqual(a.shape, b.shape, msg);
    assert.ok(
      Array.from(a.data).every((v, i) => Object.is(v, b.data[i])),
      msg,
    );
  };
  const keys = R.split(R.key(0), 3);
  const draw = (k: T.random.Key) => R.uniform(R.split(k)[1], [4]);
  same(T.vmap(draw)(keys), T.stack(keys.map(draw)), "split, uniform");
  // per-example dropout, differentiated
  const xs = R.normal(R.key(9), [3, 5], { dtype: "float64" });
  const loss = (x: Tensor, k: T.random.Key) =>
    T.sum(T.square(T.dropout(x, { p: 0.5, key: k })));
  same(
    T.vmap(T.grad(loss))(xs, keys),
    T.stack(
      keys.map((k, b) =>
        T.grad(loss)(T.reshape(T.slice(xs, [b], [b + 1]), [5]), k)
      ),
    ),
    "dropout under grad",
  );
  // under jit: each call's keys, one trace
  const jv = T.jit(T.vmap(draw));
  const other = R.split(R.key(5), 3);
  same(jv(keys), T.stack(keys.map(draw)), "jit");
  same(jv(other), T.stack(other.map(draw)), "jit, other keys");
  assert.equal(jv.traceCount(), 1);
  // a list of lists under vmap of vmap
  const grid = [R.split(R.key(1), 2), R.split(R.key(2), 2)];
  same(
    T.vmap(T.vmap(draw))(grid as never),
    T.stack(grid.map((ks) => T.stack(ks.map(draw)))),
    "nested",
  );
  // keys returned: a list, one per example
  const out = T.vmap((k: T.random.Key) => R.split(k)[0])(keys);
  assert.deepEqual(
    out.map((k) => k.words),
    keys.map((k) => R.split(k)[0].words),
  );
  // a single key has no axis to map
  assert.throws(
    () => T.vmap(draw)(R.key(0) as never),
    /^Error: vmap: argument 0 holds a single random key where an axis is mapped: map a list of keys/,
  );
  assert.throws(
    () => T.vmap(draw, { inAxes: -1 })(keys as never),
    /^Error: vmap: inAxes\[0\] \(leaf 0\) maps a list of keys, which is mapped along the list: give 0, got -1$/,
  );
});

Deno.test("customVjp under vmap runs once per example (a documented loop, counted)", () => {
  const clip = T.customVjp(
    (x: Tensor) => T.mul(x, 2),
    (x: Tensor) => [T.mul(x, 2), null],
    (_r, g) => [T.mul(g, 2)],
  );
  const before = vmapLoops();
  const y = T.vmap(clip)(T.tensor([[1, 2], [3, 4]]));
  assert.deepEqual(T.toArray(y), [[2, 4], [6, 8]]);
  assert.equal(vmapLoops(), before + 1);
  const g = T.vmap(T.grad((x: Tensor) => T.sum(clip(x))))(
    T.tensor([[1, 2], [3, 4]]),
  );
  assert.deepEqual(T.toArray(g), [[2, 2], [2, 2]]);
});

Deno.test("vmap errors: data read inside, inAxes out of range, not a prefix, sizes that differ, no mapped input", () => {
  assert.throws(
    () => T.vmap((x: Tensor) => T.tensor([x.data[0]]))(T.zeros([2, 3])),
    /vmap: cannot read the data of a value inside vmap: it differs per example \(one example has shape \[3\]/,
  );
  assert.throws(
    () => T.vmap((x: Tensor) => x, { inAxes: 2 })(T.zeros([2, 3])),
    /vmap: inAxes\[0\] \(leaf 0\) is axis 2, out of range for a value of rank 2/,
  );
  assert.throws(
    () =>
      T.vmap((p: { a: Tensor }) => p.a, { inAxes: [{ b: 0 }] })({
        a: T.zeros([2]),
      }),
    /vmap: inAxes\[0\] has keys \[b\] but the value has \[a\]/,
  );
  assert.throws(
    () =>
      T.vmap((x: Tensor, y: Tensor) => T.add(x, y))(T.zeros([2]), T.zeros([3])),
    /vmap: mapped axes have different sizes: argument 1 leaf 0 has 3 \(axis 0 of \[3\]\) but argument 0 leaf 0 \(axis 0 of \[2\]\) has 2/,
  );
  assert.throws(
    () => T.vmap((x: Tensor) => x, { inAxes: null })(T.zeros([2])),
    /vmap: no input is mapped \(every inAxes entry is null\): give axisSize/,
  );
  assert.throws(
    () => T.vmap((x: Tensor) => x, { inAxes: [0, 0] })(T.zeros([2])),
    /vmap: inAxes has 2 entries but f got 1 argument\(s\)/,
  );
});

Deno.test("jacfwd, jacrev, hessian: a Jacobian too large to allocate is an error naming the transform, not V8's RangeError", () => {
  const big = T.ones([2e5]); // a 2e5 x 2e5 basis: 149 GiB
  for (
    const [name, f] of [
      ["jacfwd", () => T.jacfwd((v: Tensor) => v)(big)],
      ["jacrev", () => T.jacrev((v: Tensor) => v)(big)],
      ["jacfwd", () => T.hessian((v: Tensor) => T.sum(v))(big)],
    ] as const
  ) {
    assert.throws(
      f,
      new RegExp(
        `^Error: ${name} \\(its basis of 200000 vectors\\): shape \\[200000,200000\\] has 40000000000 elements`,
      ),
    );
  }
});

Deno.test("vmap: a mapped value that leaks out of the mapped function (through a variable) is an error wherever it is used later", () => {
  let leaked: Tensor | undefined;
  const y = T.vmap((x: Tensor) => {
    leaked = T.mul(x, 2);
    return leaked;
  })(T.tensor([[1, 2], [3, 4]]));
  assert.deepEqual(T.toArray(y), [[2, 4], [6, 8]]);
  const msg =
    /^Error: vmap: a value mapped inside vmap \(one example of shape \[2\]\) was used after the mapped function returned: it leaked out through a variable or a closure; return it from the mapped function instead$/;
  assert.throws(() => T.add(leaked!, 1), msg);
  assert.throws(() => leaked!.data, msg);
  // nested: the inner vmap's values are used by the outer one's ops after the inner returns only through its results
  const z = T.vmap(T.vmap((x: Tensor) => T.mul(x, 3)))(T.ones([2, 3]));
  assert.deepEqual(T.toArray(z), [[3, 3, 3], [3, 3, 3]]);
});
