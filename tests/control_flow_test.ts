/**
 * cond, switch, whileLoop, foriLoop and scan: eager, under jit (the plan reads the
 * predicate at every replay: one trace, every branch), vmap (a predicate per
 * example), grad and jvp (the chosen branch's derivatives, under jit too),
 * against plain JavaScript control flow and finite differences.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const {
  add,
  cond,
  foriLoop,
  grad,
  greater,
  jit,
  jvp,
  less,
  mul,
  scan,
  sin,
  sum,
  tensor,
  toArray,
  vmap,
  whileLoop,
} = T;
const f64 = { dtype: "float64" } as const;
const same = (a: Tensor, b: Tensor) => assert.deepEqual(a.data, b.data);

// |x|-like: doubles a vector with a positive sum, else squares its sine
const branchy = (x: Tensor, w: Tensor) =>
  cond(
    greater(sum(x), 0),
    (v: Tensor, u: Tensor) => mul(mul(v, 2), u),
    (v: Tensor, u: Tensor) => mul(sin(v), add(u, v)),
    x,
    w,
  );
const plain = (x: Tensor, w: Tensor) =>
  toArray(sum(x)) as number > 0 ? mul(mul(x, 2), w) : mul(sin(x), add(w, x));
const pos = tensor([0.5, 1.5, -0.25]), neg = tensor([-0.5, 0.25, -1]);
const w = tensor([0.3, -0.7, 1.1]);

Deno.test("cond: picks the branch by value, eagerly and with a boolean", () => {
  same(branchy(pos, w), plain(pos, w));
  same(branchy(neg, w), plain(neg, w));
  assert.deepEqual(
    toArray(cond(false, (a: Tensor) => a, (a: Tensor) => T.neg(a), w)),
    toArray(T.neg(w)),
  );
});

Deno.test("cond under jit: one trace, each call runs the branch its predicate picks", () => {
  const f = jit(branchy);
  for (const x of [pos, neg, pos, neg]) same(f(x, w), plain(x, w));
  assert.equal(f.traceCount(), 1);
  // derivatives under jit: the chosen branch's, the same bits as eager
  const loss = (x: Tensor, v: Tensor) => sum(branchy(x, v));
  const g = jit(grad(loss, { argnums: [0, 1] }));
  for (const x of [neg, pos, neg]) {
    const [gx, gw] = g(x, w), [ex, ew] = grad(loss, { argnums: [0, 1] })(x, w);
    same(gx, ex);
    same(gw, ew);
  }
  assert.equal(g.traceCount(), 1);
  // second order: the VJP rule's cond is differentiated again
  const gg = jit(grad((x: Tensor) => sum(grad(loss)(x, w))));
  for (const x of [pos, neg]) {
    same(gg(x), grad((v: Tensor) => sum(grad(loss)(v, w)))(x));
  }
  // forward mode
  const t = tensor([1, -2, 0.5]);
  const jv = jit((x: Tensor) => jvp((v: Tensor) => branchy(v, w), [x], [t])[1]);
  for (const x of [pos, neg]) {
    same(jv(x), jvp((v: Tensor) => branchy(v, w), [x], [t])[1]);
  }
});

Deno.test("cond: gradients against finite differences in float64, on both sides", () => {
  const w64 = T.astype(w, "float64");
  for (const x of [pos, neg]) {
    T.checkGrads(
      jit((v: Tensor, u: Tensor) => sum(branchy(v, u))),
      [T.astype(x, "float64"), w64],
      { order: 2 },
    );
  }
});

Deno.test("cond: trees of mixed dtypes pass through exactly", () => {
  const big = tensor([16777217, -3], { dtype: "int32" }); // not a float32
  const f = jit((p: Tensor, n: Tensor, x: Tensor) =>
    cond(
      p,
      (a: Tensor, b: Tensor) => ({ count: a, scaled: [mul(b, 3)] }),
      (a: Tensor, b: Tensor) => ({ count: add(a, 1), scaled: [b] }),
      n,
      x,
    )
  );
  const on = f(tensor(1, { dtype: "int32" }), big, w);
  assert.deepEqual(toArray(on.count), [16777217, -3]);
  assert.equal(on.count.dtype, "int32");
  same(on.scaled[0], mul(w, 3));
  const off = f(tensor(0, { dtype: "int32" }), big, w);
  assert.deepEqual(toArray(off.count), [16777218, -2]);
  same(off.scaled[0], w);
  assert.equal(f.traceCount(), 1);
});

Deno.test("cond under vmap: a predicate per example picks each example's branch", () => {
  const xs = T.stack([pos, neg, T.neg(neg), T.neg(pos)]);
  const rows = [pos, neg, T.neg(neg), T.neg(pos)];
  const batched = vmap((x: Tensor) => branchy(x, w))(xs);
  rows.forEach((x, i) =>
    same(
      T.take(batched, tensor([i], { dtype: "int32" }), { axis: 0 }),
      T.expandDims(plain(x, w), 0),
    )
  );
  // jitted, and differentiated through the per-example choice
  same(jit(vmap((x: Tensor) => branchy(x, w)))(xs), batched);
  const loss = (v: Tensor) => sum(vmap((x: Tensor) => branchy(x, w))(v));
  const g = grad(loss)(xs);
  rows.forEach((x, i) =>
    assertAllClose(
      toArray(T.take(g, tensor([i], { dtype: "int32" }), { axis: 0 })),
      [toArray(grad((v: Tensor) => sum(plain(v, w)))(x))],
      { atol: 0, rtol: 0 },
    )
  );
  // one predicate for the whole batch, traced by jit: the unbatched rule
  const shared = jit((p: Tensor, v: Tensor) =>
    vmap((x: Tensor) => cond(greater(p, 0), (a: Tensor) => mul(a, 2), sin, x))(
      v,
    )
  );
  same(shared(tensor(1), xs), mul(xs, 2));
  same(shared(tensor(-1), xs), sin(xs));
});

Deno.test("cond: errors name the argument, the branch and what came", () => {
  assert.throws(
    () => cond(tensor([1, 0]), (a: Tensor) => a, (a: Tensor) => a, w),
    /cond: pred must be a scalar \(a tensor of shape \[\] or a boolean\), got Tensor float32 \[2\]/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => cond(true, 3 as any, (a: Tensor) => a, w),
    /cond: trueFn must be a function, got number 3/,
  );
  // under jit each branch's result is checked against the other's
  const f = jit((x: Tensor) =>
    cond(greater(sum(x), 0), (a: Tensor) => a, (a: Tensor) => sum(a), x)
  );
  f(pos);
  assert.throws(
    () => f(neg),
    /cond: falseFn returned float32\[\], but trueFn returned float32\[3\]; they must return the same structure, shapes and dtypes/,
  );
  // a branch that closes over a traced value (here x) instead of taking it
  assert.throws(
    () =>
      jit((x: Tensor) =>
        cond(greater(sum(x), 0), (a: Tensor) => mul(a, x), sin, x)
      )(pos),
    /cond: trueFn used a traced value that is not one of its operands/,
  );
  // under vmap with a predicate per example: the mapped value closed over
  assert.throws(
    () =>
      T.vmap((x: Tensor) =>
        cond(greater(x, 0), (a: Tensor) => mul(a, x), sin, tensor(2))
      )(pos),
    /cond: trueFn used a traced value that is not one of its operands/,
  );
});

// Collatz-like: halve while above 1, counting the turns
const halve = (x: Tensor) =>
  whileLoop(
    ([v]: [Tensor, Tensor]) => greater(v, 1),
    ([v, n]: [Tensor, Tensor]) => [mul(v, 0.5), add(n, 1)] as [Tensor, Tensor],
    [x, tensor(0, { dtype: "int32" })] as [Tensor, Tensor],
  );

Deno.test("whileLoop: turns that depend on values, eagerly, jitted and batched", () => {
  const jitted = jit(halve);
  for (
    const [x, turns, end] of [[5, 3, 0.625], [1000, 10, 1000 / 1024], [
      0.5,
      0,
      0.5,
    ]]
  ) {
    const [v, n] = halve(tensor(x));
    assert.equal(toArray(n), turns);
    assert.equal(toArray(v), end);
    const [jv, jn] = jitted(tensor(x));
    same(jv, v);
    same(jn, n);
  }
  assert.equal(jitted.traceCount(), 1);
  // vmap: each example stops on its own condition
  const xs = tensor([5, 1000, 0.5, 2]);
  const [vs, ns] = vmap(halve)(xs);
  assert.deepEqual(toArray(ns), [3, 10, 0, 1]);
  assert.deepEqual(toArray(vs), [0.625, 1000 / 1024, 0.5, 1]);
  const [jvs, jns] = jit(vmap(halve))(xs);
  same(jvs, vs);
  same(jns, ns);
});

Deno.test("whileLoop: forward mode under jit, reverse mode eagerly, and its errors", () => {
  // x·1.5^k until it passes 10: the derivative is 1.5^k
  const grow = (x: Tensor) =>
    whileLoop((v: Tensor) => less(v, 10), (v: Tensor) => mul(v, 1.5), x);
  const [y, dy] = jit((x: Tensor) => jvp(grow, [x], [tensor(1)]))(tensor(2));
  assert.equal(toArray(y), Math.fround(2 * 1.5 ** 4));
  assert.equal(toArray(dy), 1.5 ** 4);
  // eagerly the loop runs turn by turn, so grad sees it
  assert.equal(toArray(grad(grow)(tensor(2))), 1.5 ** 4);
  assert.throws(
    () => jit(grad(grow))(tensor(2)),
    /whileLoop: reverse-mode differentiation of a loop whose condition is traced \(under jit or vmap\) is not supported/,
  );
  assert.throws(
    () =>
      whileLoop(
        (v: Tensor) => less(v, 10),
        (v: Tensor) => T.stack([v, v]),
        tensor(1),
      ),
    /whileLoop: bodyFn returned float32\[2\], but init returned float32\[\]/,
  );
  assert.throws(
    () => whileLoop(() => tensor([1, 1]), (v: Tensor) => v, tensor(1)),
    /whileLoop: condFn's result must be a scalar/,
  );
});

Deno.test("foriLoop: number bounds unroll (reverse mode too); traced bounds loop in the plan", () => {
  const body = (i: Tensor, v: Tensor) =>
    add(mul(v, 1.1), T.astype(i, "float32"));
  let ref = 0.5;
  for (let i = 2; i < 6; i++) {
    ref = Math.fround(Math.fround(ref * Math.fround(1.1)) + i);
  }
  assert.equal(toArray(foriLoop(2, 6, body, tensor(0.5))), ref);
  T.checkGrads(
    (x: Tensor) => foriLoop(0, 4, (_i: Tensor, v: Tensor) => sin(mul(v, v)), x),
    [tensor([0.3, -0.8], f64)],
    { order: 2 },
  );
  const upTo = jit((n: Tensor, x: Tensor) => foriLoop(0, n, body, x));
  for (const n of [0, 3, 7]) {
    same(
      upTo(tensor(n, { dtype: "int32" }), tensor(0.5)),
      foriLoop(0, n, body, tensor(0.5)),
    );
  }
  assert.equal(upTo.traceCount(), 1);
  // per-example trip counts under vmap: x^n, x carried through the loop
  const power = T.vmap((n: Tensor, x: Tensor) =>
    foriLoop(
      0,
      n,
      (_i: Tensor, [v, y]: [Tensor, Tensor]) =>
        [mul(v, y), y] as [Tensor, Tensor],
      [tensor(1), x] as [Tensor, Tensor],
    )[0]
  );
  assert.deepEqual(
    toArray(power(tensor([0, 1, 3], { dtype: "int32" }), tensor([2, 5, 2]))),
    [1, 5, 8],
  );
  // closing over the mapped x instead is a clear error, not a leaked tracer
  assert.throws(
    () =>
      T.vmap((n: Tensor, x: Tensor) =>
        foriLoop(0, n, (_i: Tensor, v: Tensor) => mul(v, x), tensor(1))
      )(tensor([0, 1, 3], { dtype: "int32" }), tensor([2, 5, 2])),
    /whileLoop: bodyFn used a traced value that is not one of its operands .* the mapped value of an enclosing vmap/,
  );
  assert.throws(
    () => foriLoop(0, 2.5, body, tensor(0)),
    /foriLoop: upper must be an integer in int32.s range or an int32 scalar tensor, got 2.5/,
  );
});

Deno.test("scan: a running carry and stacked ys, reversed, over trees, differentiated", () => {
  const xs = tensor([1, 2, 3, 4]);
  const step = (c: Tensor, x: Tensor) => {
    const s = add(c, x);
    return [s, s] as const;
  };
  const [total, sums] = scan(step, tensor(0), xs);
  assert.equal(toArray(total), 10);
  same(sums, T.cumsum(xs, { axis: 0 }));
  const [, back] = scan(step, tensor(0), xs, { reverse: true });
  assert.deepEqual(toArray(back), [10, 9, 7, 4]);
  // an RNN over a sequence: trees in and out, checked by finite differences
  const rnn = (wh: Tensor, seq: { u: Tensor }) =>
    scan(
      (h: Tensor, x: { u: Tensor }) => {
        const next = T.tanh(add(T.matmul(wh, h), x.u));
        return [next, { h: next, norm: sum(mul(next, next)) }] as const;
      },
      T.zeros([2], f64),
      seq,
    );
  const wh = tensor([[0.5, -0.3], [0.2, 0.9]], f64);
  const seq = { u: tensor([[1, 0], [0.5, -1], [-0.2, 0.3]], f64) };
  const [, ys] = rnn(wh, seq);
  assert.deepEqual(ys.h.shape, [3, 2]);
  assert.deepEqual(ys.norm.shape, [3]);
  T.checkGrads(
    (a: Tensor, u: Tensor) => sum(rnn(a, { u })[1].norm),
    [wh, seq.u],
    { order: 2 },
  );
  same(jit((a: Tensor) => rnn(a, seq)[1].h)(wh), ys.h);
  // vmap over a batch of sequences
  const batch = T.stack([seq.u, mul(seq.u, 2)]);
  const vb = vmap((u: Tensor) => rnn(wh, { u })[1].h)(batch);
  same(
    T.take(vb, tensor([1], { dtype: "int32" }), { axis: 0 }),
    T.expandDims(rnn(wh, { u: mul(seq.u, 2) })[1].h, 0),
  );
  // no xs: length turns; zero turns: empty ys of the right shape
  const [, counts] = scan(
    (c: Tensor) => [add(c, 1), c] as const,
    tensor(0, { dtype: "int32" }),
    null,
    { length: 3 },
  );
  assert.deepEqual(toArray(counts), [0, 1, 2]);
  const [c0, none] = scan(step, tensor(7), T.zeros([0]));
  assert.equal(toArray(c0), 7);
  assert.deepEqual(none.shape, [0]);
});

Deno.test("scan: errors", () => {
  const id = (c: Tensor, x: Tensor) => [c, x] as const;
  assert.throws(
    () =>
      scan(
        (c: Tensor, x: { a: Tensor }) => [c, x.a] as const,
        tensor(0),
        { a: T.zeros([3]), b: T.zeros([4]) },
      ),
    /scan: xs's leaves and options.length must agree on the length, got 3, 4/,
  );
  assert.throws(
    () =>
      scan(
        (c: Tensor, x: Tensor) => [T.stack([c, x]), x] as const,
        tensor(0),
        T.zeros([2]),
      ),
    /scan: f's carry returned float32\[2\], but init returned float32\[\]/,
  );
  assert.throws(
    () => scan((c: Tensor) => [c, c] as const, tensor(0), null),
    /scan: give xs or options.length/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => scan(id, tensor(0), T.zeros([2]), { steps: 2 } as any),
    /scan: unknown option "steps"; expected length or reverse/,
  );
});

Deno.test("switch: the branch at the index (clamped, as JAX's), eagerly, jitted (one trace), per example under vmap, differentiated", () => {
  const branches = [
    (x: Tensor) => T.neg(x),
    (x: Tensor) => mul(x, 2),
    (x: Tensor) => mul(sin(x), x),
  ];
  const x = tensor([0.5, -1.5], f64);
  const byHand = (i: number) => branches[Math.min(Math.max(i, 0), 2)](x);
  const idx = (i: number) => tensor(i, { dtype: "int32" });
  const f = (i: Tensor | number, v: Tensor) => T.switch(i, branches, v);
  const fj = jit((i: Tensor, v: Tensor) => f(i, v));
  for (const i of [-1, 0, 1, 2, 5]) {
    assert.deepEqual(toArray(f(i, x)), toArray(byHand(i)), `number ${i}`);
    assert.deepEqual(toArray(f(idx(i), x)), toArray(byHand(i)), `tensor ${i}`);
    assert.deepEqual(toArray(fj(idx(i), x)), toArray(byHand(i)), `jit ${i}`);
    // the chosen branch's gradient, eagerly and under jit
    const g = grad((v: Tensor) => sum(f(i, v)))(x);
    const want = grad((v: Tensor) =>
      sum(branches[Math.min(Math.max(i, 0), 2)](v))
    )(x);
    assertAllClose(g, want, { atol: 0, rtol: 0 });
    const gj = jit((j: Tensor, v: Tensor) =>
      grad((w: Tensor) => sum(f(j, w)))(v)
    );
    assertAllClose(gj(idx(i), x), want, { atol: 1e-15, rtol: 0 });
  }
  assert.equal(fj.traceCount(), 1);
  // an index per example: each row its own branch
  const xs = tensor([[1, 2], [3, 4], [5, 6]], f64);
  const is = tensor([2, 0, 1], { dtype: "int32" });
  const out = vmap((i: Tensor, v: Tensor) => f(i, v))(is, xs);
  const rows = [2, 0, 1].map((i, r) =>
    toArray(branches[i](T.slice(xs, [r], [r + 1])))
  );
  assert.deepEqual(toArray(out), rows.map((r) => (r as number[][])[0]));
});

Deno.test("switch: errors name the argument and what came", () => {
  const x = tensor([1]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.switch(0, [], x),
      /^Error: switch: branches must be a non-empty array of functions, got an array of length 0/,
    ],
    [
      () => T.switch(0, [1 as never], x),
      /^Error: switch: branches\[0\] must be a function/,
    ],
    [
      () => T.switch(0.5, [T.neg], x),
      /^Error: switch: index must be an integer or an int32 scalar tensor, got 0\.5/,
    ],
    [
      () => T.switch(tensor([0, 1], { dtype: "int32" }), [T.neg], x),
      /^Error: switch: index must be an integer or an int32 scalar tensor, got Tensor int32 \[2\]/,
    ],
    [
      () => T.switch(tensor(1), [T.neg], x),
      /^Error: switch: index must be an integer or an int32 scalar tensor, got Tensor float32 \[\]/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
  // a branch closing over a traced value, named by its index; branches that
  // disagree on their results, named too
  const w = tensor([2]);
  const bad = jit((i: Tensor, p: Tensor) =>
    T.switch(i, [(v: Tensor) => mul(v, p), T.neg], x)
  );
  assert.throws(
    () => bad(tensor(0, { dtype: "int32" }), w),
    /^Error: switch: branches\[0\] used a traced value that is not one of its operands/,
  );
  const mixed = jit((i: Tensor) =>
    T.switch(i, [T.neg, (v: Tensor) => T.concat([v, v])], x)
  );
  // (checked when each branch first runs, as cond's)
  mixed(tensor(0, { dtype: "int32" }));
  assert.throws(
    () => mixed(tensor(1, { dtype: "int32" })),
    /^Error: switch: branches\[1\] returned float32\[2\], but branches\[0\] returned float32\[1\]/,
  );
});

Deno.test("cond and whileLoop: a NaN predicate is an error naming the op (a loop on it would never end), eager, traced and replayed", () => {
  const nanMsg = (what: string) =>
    new RegExp(
      `: ${what} is NaN; a predicate must be zero \\(false\\) or nonzero \\(true\\)$`,
    );
  assert.throws(
    () => T.cond(T.tensor(NaN), () => T.tensor(1), () => T.tensor(2)),
    /^Error: cond: pred is NaN/,
  );
  const jc = T.jit((p: Tensor) =>
    T.cond(p, () => T.tensor(1), () => T.tensor(2))
  );
  assert.equal(T.item(jc(T.tensor(0.5))), 1, "nonzero is true");
  assert.equal(T.item(jc(T.tensor(0))), 2);
  assert.throws(() => jc(T.tensor(NaN)), nanMsg("pred"));
  // 0/0 once the carry reaches 3
  const condFn = (c: Tensor) => T.div(T.sub(3, c), T.sub(3, c));
  const down = (c: Tensor) => T.sub(c, 1);
  assert.throws(
    () => T.whileLoop(condFn, down, T.tensor(6)),
    /^Error: whileLoop: condFn's result is NaN/,
  );
  const jw = T.jit((x: Tensor) => T.whileLoop(condFn, down, x));
  assert.throws(() => jw(T.tensor(10)), nanMsg("condFn's result"));
  assert.throws(() => jw(T.tensor(7)), nanMsg("condFn's result"));
  assert.equal(
    T.item(T.whileLoop((c: Tensor) => T.sub(c, 2), down, T.tensor(5))),
    2,
    "a nonzero float is true, 0 false",
  );
});

Deno.test("vmap of a cond's derivatives (hessian, jacfwd: conds whose results carry an inner transform's axes) and of a cond whose only mapped value is the predicate: each example's own branch", () => {
  const g = (x: Tensor) =>
    T.sum(
      T.cond(
        T.greater(T.sum(x), 0),
        (a: Tensor) => T.mul(a, a),
        (a: Tensor) => T.sin(a),
        x,
      ),
    );
  const x = T.tensor([0.3, -0.2, 0.5], { dtype: "float64" });
  const xs = T.stack([x, T.neg(x), T.mul(x, 2)], 0);
  const rows = [0, 1, 2].map((i) =>
    T.reshape(T.slice(xs, [i, 0], [i + 1, 3]), [3])
  );
  for (
    const [name, t] of [["hessian", T.hessian], ["jacfwd", T.jacfwd]] as const
  ) {
    const got = T.vmap(t(g) as (v: Tensor) => Tensor)(xs);
    const want = T.stack(rows.map((r) => t(g)(r) as Tensor), 0);
    assertAllClose(got, want, { atol: 1e-15, rtol: 0, msg: name });
  }
  const c = T.tensor([1, 2], { dtype: "float64" });
  const r = T.vmap((p: Tensor) =>
    T.cond(p, (a: Tensor) => T.mul(a, 2), (a: Tensor) => T.neg(a), c)
  )(T.tensor([1, 0, 1], { dtype: "int32" }));
  assert.deepEqual(T.toArray(r), [[2, 4], [-1, -2], [2, 4]]);
});

Deno.test("foriLoop bounds and scan's length are int32s (as JAX's): a bound of 1e12 or a length of 1e12 is an error at once, not months of looping or V8's RangeError", () => {
  const body = (_i: Tensor | number, c: Tensor) => T.add(c, 1);
  for (const [name, v] of [["upper", 1e12], ["upper", 2 ** 31]] as const) {
    assert.throws(
      () => T.foriLoop(0, v, body, T.tensor(0)),
      new RegExp(
        `^Error: foriLoop: ${name} must be an integer in int32's range or an int32 scalar tensor, got ${v}$`,
      ),
    );
  }
  assert.throws(
    () => T.foriLoop(-1e12, 0, body, T.tensor(0)),
    /^Error: foriLoop: lower must be an integer in int32's range/,
  );
  assert.equal(T.item(T.foriLoop(0, 5, body, T.tensor(0))), 5);
  assert.throws(
    () => T.scan((c: Tensor) => [c, c], T.tensor(0), null, { length: 1e12 }),
    /^Error: scan: options.length must be an integer in \[0, 2\^31 - 1\], got number 1000000000000$/,
  );
});
