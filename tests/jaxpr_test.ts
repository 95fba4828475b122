/** makeJaxpr: the recorded program in JAX's notation, for plain functions, trees, statics, constants and transforms. */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const { makeJaxpr } = T;

Deno.test("makeJaxpr: trees, literals, constants and static arguments print as JAX's jaxprs", () => {
  const w = T.tensor([[1, 2], [3, 4], [5, 6]]);
  const net = (p: { b: Tensor }, x: Tensor, scale: number) =>
    T.mul(T.relu(T.linear(x, w, p.b)), scale);
  const j = makeJaxpr(net, { staticArgnums: 2 })(
    { b: T.zeros([3]) },
    T.ones([4, 2]),
    0.5,
  );
  assert.equal(
    String(j),
    [
      "{ lambda a:f32[3,2]; b:f32[3] c:f32[4,2]. let",
      "    d:f32[4,3] = linear c a b",
      "    e:f32[4,3] = relu d",
      "    f:f32[4,3] = mul e 0.5:f32[]",
      "  in (f,) }",
    ].join("\n"),
  );
  assert.deepEqual(j.invars.map((v) => [v.name, v.dtype, v.shape]), [
    ["b", "float32", [3]],
    ["c", "float32", [4, 2]],
  ]);
  assert.deepEqual(j.eqns.map((e) => e.primitive), ["linear", "relu", "mul"]);
  assert.deepEqual(j.outvars, ["f"]);
  // another static value is another program
  assert.equal(
    makeJaxpr(net, { staticArgnums: 2 })({ b: T.zeros([3]) }, T.ones([4, 2]), 2)
      .eqns[2].inputs[1],
    "2.0:f32[]",
  );
  // an int32 literal, several outputs, an output that is an argument
  const k = makeJaxpr((x: Tensor, n: Tensor) => [T.add(n, 3), x])(
    T.ones([2], { dtype: "float64" }),
    T.tensor([1], { dtype: "int32" }),
  );
  assert.equal(
    String(k),
    "{ lambda ; a:f64[2] b:i32[1]. let\n    c:i32[1] = add b 3:i32[]\n  in (c, a) }",
  );
});

Deno.test("makeJaxpr of transforms: grad shows the VJP rules' ops, vmap the batched ones, jit inside is f", () => {
  const f = (x: Tensor) => T.sum(T.tanh(x));
  const g = makeJaxpr(T.grad(f))(T.tensor([0.5, -1]));
  const prims = g.eqns.map((e) => e.primitive);
  // tanh's VJP is g·(1 - tanh²): the forward tanh, then its square and a product
  assert.equal(prims[0], "tanh");
  assert.ok(prims.includes("mul") && prims.includes("sub"), prims.join(" "));
  assert.ok(!prims.includes("sum"), "the loss value is not an output");
  const v = makeJaxpr(T.vmap((x: Tensor) => T.sum(x)))(T.ones([3, 4]));
  assert.equal(v.eqns.length, 1);
  assert.deepEqual(v.eqns[0].params, { axes: [1], keepDims: false });
  assert.equal(
    String(makeJaxpr(T.jit(f))(T.ones([2]))),
    String(makeJaxpr(f)(T.ones([2]))),
  );
});

Deno.test("makeJaxpr: errors", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => makeJaxpr(3 as any),
    /makeJaxpr: f must be a function, got number 3/,
  );
  assert.throws(
    () => makeJaxpr((x: Tensor) => x)("x" as never),
    /makeJaxpr: argument 0 is not a tree of tensors \(make it static with staticArgnums\)/,
  );
  assert.throws(
    () =>
      T.grad((x: Tensor) => T.sum(makeJaxpr((y: Tensor) => y)(x) as never))(
        T.ones([2]),
      ),
    /makeJaxpr: called inside a transform/,
  );
});

/** The jaxprs a control-flow equation holds under `key` (`branches`: an array). */
const nested = (j: T.Jaxpr, eqn: number, key: string): T.Jaxpr[] => {
  const v = j.eqns[eqn].params[key];
  return (Array.isArray(v) ? v : [v]) as T.Jaxpr[];
};

Deno.test("makeJaxpr: cond prints its branches as nested jaxprs, the true branch first, each with its own constants", () => {
  const w = T.tensor([10, 20]);
  const f = (x: Tensor) =>
    T.cond(T.greater(T.sum(x), 0), T.neg, (v: Tensor) => T.add(v, w), x);
  // the predicate is true here: the printed program is the same for any x
  for (const x of [T.tensor([1, 2]), T.tensor([-1, -2])]) {
    const j = makeJaxpr(f)(x);
    assert.equal(
      String(j),
      [
        "{ lambda ; a:f32[2]. let",
        "    b:f32[] = sum[axes=[0] keepDims=false] a",
        "    c:i32[] = compare[op=gt] b 0.0:f32[]",
        "    d:f32[2] = cond[",
        "      branches=(",
        "        { lambda ; e:f32[2]. let f:f32[2] = neg e in (f,) }",
        "        { lambda g:f32[2]; h:f32[2]. let i:f32[2] = add h g in (i,) }",
        "      )",
        "    ] c a",
        "  in (d,) }",
      ].join("\n"),
    );
    // the structure: params.branches holds the jaxprs
    const [t, e] = nested(j, 2, "branches");
    assert.deepEqual(t.invars.map((v) => [v.name, v.shape]), [["e", [2]]]);
    assert.deepEqual(t.eqns.map((q) => q.primitive), ["neg"]);
    assert.deepEqual(t.outvars, ["f"]);
    assert.deepEqual(e.constvars.map((v) => v.name), ["g"]);
    assert.deepEqual(e.eqns[0].inputs, ["h", "g"]);
    assert.equal(j.eqns[2].out.name, "d");
  }
  // a branch that returns its operand has no equation
  assert.equal(
    String(
      nested(
        makeJaxpr((x: Tensor) =>
          T.cond(
            T.greater(T.sum(x), 0),
            (v: Tensor) => v,
            T.neg,
            x,
          )
        )(T.tensor([1, 2])),
        2,
        "branches",
      )[0],
    ),
    "{ lambda ; e:f32[2]. let\n  in (e,) }",
  );
  // a tree operand is passed as leaves; a result that is not one vector is
  // packed into one (reshape to [6]) and unpacked after
  const g = (p: { a: Tensor; b: Tensor }) =>
    T.cond(T.less(T.sum(p.b), 0), (q) => T.exp(q.a), (q) => T.mul(q.a, q.b), p);
  assert.equal(
    String(makeJaxpr(g)({ a: T.ones([2, 3]), b: T.ones([3]) })),
    [
      "{ lambda ; a:f32[2,3] b:f32[3]. let",
      "    c:f32[] = sum[axes=[0] keepDims=false] b",
      "    d:i32[] = compare[op=lt] c 0.0:f32[]",
      "    e:f32[6] = cond[",
      "      branches=(",
      "        { lambda ; f:f32[2,3] g:f32[3]. let",
      "            h:f32[2,3] = exp f",
      "            i:f32[6] = reshape[shape=[6]] h",
      "          in (i,) }",
      "        { lambda ; j:f32[2,3] k:f32[3]. let",
      "            l:f32[2,3] = mul j k",
      "            m:f32[6] = reshape[shape=[6]] l",
      "          in (m,) }",
      "      )",
      "    ] d a b",
      "    n:f32[2,3] = reshape[shape=[2,3]] e",
      "  in (n,) }",
    ].join("\n"),
  );
});

Deno.test("makeJaxpr: whileLoop prints condJaxpr and bodyJaxpr; foriLoop with traced bounds is a whileLoop", () => {
  const grow = (x: Tensor) =>
    T.whileLoop(
      (v: Tensor) => T.less(T.sum(v), 100),
      (v: Tensor) => T.mul(v, 2),
      x,
    );
  const j = makeJaxpr(grow)(T.tensor([1, 2]));
  assert.equal(
    String(j),
    [
      "{ lambda ; a:f32[2]. let",
      "    b:f32[2] = whileLoop[",
      "      condJaxpr={ lambda ; c:f32[2]. let",
      "          d:f32[] = sum[axes=[0] keepDims=false] c",
      "          e:i32[] = compare[op=lt] d 100.0:f32[]",
      "        in (e,) }",
      "      bodyJaxpr={ lambda ; f:f32[2]. let g:f32[2] = mul f 2.0:f32[] in (g,) }",
      "    ] a",
      "  in (b,) }",
    ].join("\n"),
  );
  const [c] = nested(j, 0, "condJaxpr"), [b] = nested(j, 0, "bodyJaxpr");
  assert.deepEqual(c.eqns.map((e) => e.out.dtype), ["float32", "int32"]);
  assert.deepEqual(b.outvars, ["g"]);
  // the carry [i, upper, val] (int32 and float32 leaves: packed as float64);
  // a one-equation jaxpr too wide for 80 columns breaks
  const pow = (n: Tensor, x: Tensor) =>
    T.foriLoop(0, n, (_i: Tensor, v: Tensor) => T.mul(v, v), x);
  assert.equal(
    String(makeJaxpr(pow)(T.tensor(3, { dtype: "int32" }), T.tensor([1.5]))),
    [
      "{ lambda ; a:i32[] b:f32[1]. let",
      "    c:f64[3] = whileLoop[",
      "      condJaxpr={ lambda ; d:i32[] e:i32[] f:f32[1]. let",
      "          g:i32[] = compare[op=lt] d e",
      "        in (g,) }",
      "      bodyJaxpr={ lambda ; h:i32[] i:i32[] j:f32[1]. let",
      "          k:i32[] = add h 1:i32[]",
      "          l:f32[1] = mul j j",
      "        in (k, i, l) }",
      "    ] 0:i32[] a b",
      "    m:f64[1] = slice[starts=[2] ends=[3]] c",
      "    n:f32[1] = cast[dtype=float32] m",
      "  in (n,) }",
    ].join("\n"),
  );
});

Deno.test("makeJaxpr: a traced switch is nested conds on index <= k, branch k first", () => {
  const f = (i: Tensor, x: Tensor) => T.switch(i, [T.neg, T.exp, T.sin], x);
  const j = makeJaxpr(f)(T.tensor(1, { dtype: "int32" }), T.tensor([1, 2]));
  // (the first four equations clamp the index into [0, 2])
  assert.equal(
    String(j).split("\n").slice(5).join("\n"),
    [
      "    g:i32[] = compare[op=le] f 0:i32[]",
      "    h:f32[2] = switch[",
      "      branches=(",
      "        { lambda ; i:i32[] j:f32[2]. let k:f32[2] = neg j in (k,) }",
      "        { lambda ; l:i32[] m:f32[2]. let",
      "            n:i32[] = compare[op=le] l 1:i32[]",
      "            o:f32[2] = switch[",
      "              branches=(",
      "                { lambda ; p:i32[] q:f32[2]. let r:f32[2] = exp q in (r,) }",
      "                { lambda ; s:i32[] t:f32[2]. let u:f32[2] = sin t in (u,) }",
      "              )",
      "            ] n l m",
      "          in (o,) }",
      "      )",
      "    ] g f b",
      "  in (h,) }",
    ].join("\n"),
  );
  // a nested jaxpr prints on its own as a whole jaxpr
  const rest = nested(j, 5, "branches")[1];
  assert.equal(
    String(nested(rest, 1, "branches")[0]),
    "{ lambda ; p:i32[] q:f32[2]. let\n    r:f32[2] = exp q\n  in (r,) }",
  );
});

Deno.test("makeJaxpr of grad and jvp through control flow: a cond of the branches' VJPs, a whileLoop of primal and tangent", () => {
  const f = (x: Tensor) =>
    T.sum(T.cond(T.greater(T.sum(x), 0), T.sin, T.cos, x));
  const j = makeJaxpr(T.valueAndGrad(f))(T.tensor([1, 2]));
  // the forward cond, the loss, then the VJP cond: each branch's forward op
  // and its VJP (sin' = cos, cos' = -sin) applied to the cotangent a (ones)
  assert.equal(
    String(j),
    [
      "{ lambda a:f32[2]; b:f32[2]. let",
      "    c:f32[] = sum[axes=[0] keepDims=false] b",
      "    d:i32[] = compare[op=gt] c 0.0:f32[]",
      "    e:f32[2] = cond[",
      "      branches=(",
      "        { lambda ; f:f32[2]. let g:f32[2] = sin f in (g,) }",
      "        { lambda ; h:f32[2]. let i:f32[2] = cos h in (i,) }",
      "      )",
      "    ] d b",
      "    j:f32[] = sum[axes=[0] keepDims=false] e",
      "    k:f32[2] = cond[",
      "      branches=(",
      "        { lambda ; l:f32[2] m:f32[2]. let",
      "            n:f32[2] = cos l",
      "            o:f32[2] = mul m n",
      "          in (o,) }",
      "        { lambda ; p:f32[2] q:f32[2]. let",
      "            r:f32[2] = sin p",
      "            s:f32[2] = mul q r",
      "            t:f32[2] = neg s",
      "          in (t,) }",
      "      )",
      "    ] d b a",
      "  in (j, k) }",
    ].join("\n"),
  );
  // jvp of a loop: the body carries the primal and the tangent
  const sq = (x: Tensor) =>
    T.whileLoop(
      (v: Tensor) => T.less(T.sum(v), 100),
      (v: Tensor) => T.mul(v, v),
      x,
    );
  const k = makeJaxpr((x: Tensor) => T.jvp(sq, [x], [T.onesLike(x)])[1])(
    T.tensor([1.5, 2]),
  );
  assert.deepEqual(k.eqns.map((e) => e.primitive), ["whileLoop", "slice"]);
  const [body] = nested(k, 0, "bodyJaxpr");
  assert.deepEqual(body.invars.map((v) => v.shape), [[2], [2]]);
  assert.deepEqual(body.eqns.map((e) => e.primitive), [
    "mul",
    "mul",
    "mul",
    "addAny",
  ]);
  assert.equal(body.outvars.length, 2);
});

Deno.test("makeJaxpr of vmap through cond: a shared predicate keeps the cond (batched branches), one per example runs both", () => {
  const h = (p: Tensor, x: Tensor) => T.cond(T.greater(p, 0), T.neg, T.exp, x);
  const xs = T.tensor([[1, 2], [-3, 1]]);
  assert.equal(
    String(makeJaxpr(T.vmap(h, { inAxes: [null, 0] }))(T.tensor(1), xs)),
    [
      "{ lambda ; a:f32[] b:f32[2,2]. let",
      "    c:i32[] = compare[op=gt] a 0.0:f32[]",
      "    d:f32[2,2] = cond[",
      "      branches=(",
      "        { lambda ; e:f32[2,2]. let f:f32[2,2] = neg e in (f,) }",
      "        { lambda ; g:f32[2,2]. let h:f32[2,2] = exp g in (h,) }",
      "      )",
      "    ] c b",
      "  in (d,) }",
    ].join("\n"),
  );
  const g = (x: Tensor) => T.cond(T.greater(T.sum(x), 0), T.sin, T.cos, x);
  assert.equal(
    String(makeJaxpr(T.vmap(g))(xs)),
    [
      "{ lambda ; a:f32[2,2]. let",
      "    b:f32[2] = sum[axes=[1] keepDims=false] a",
      "    c:i32[2] = compare[op=gt] b 0.0:f32[]",
      "    d:f32[2,2] = sin a",
      "    e:f32[2,2] = cos a",
      "    f:i32[2,1] = reshape[shape=[2,1]] c",
      "    g:f32[2,2] = where f d e",
      "  in (g,) }",
    ].join("\n"),
  );
  // under reverse mode, one equation that picks per example
  const v = makeJaxpr(T.valueAndGrad((x: Tensor) => T.sum(T.vmap(g)(x))))(xs);
  const pick = v.eqns.find((e) => e.primitive === "cond")!;
  assert.equal(pick.params.perExample, true);
  assert.deepEqual(pick.inputs, ["d", "b"]);
  assert.deepEqual(
    nested(v, v.eqns.indexOf(pick), "branches").map(String),
    [
      "{ lambda ; f:f32[2,2]. let\n    g:f32[2,2] = sin f\n  in (g,) }",
      "{ lambda ; h:f32[2,2]. let\n    i:f32[2,2] = cos h\n  in (i,) }",
    ],
  );
});

Deno.test("makeJaxpr traces control flow's functions at shapes, not values: no branch is picked, no loop runs", () => {
  // the true branch's loop would never end on x = [-1, -1] (or on zeros):
  // it is traced once, not run
  let bodyCalls = 0;
  const f = (x: Tensor) =>
    T.cond(
      T.greater(T.sum(x), 0),
      (v: Tensor) =>
        T.whileLoop(
          (c: Tensor) => T.less(T.sum(c), 100),
          (c: Tensor) => (bodyCalls++, T.mul(c, 2)),
          v,
        ),
      T.neg,
      x,
    );
  const j = makeJaxpr(f)(T.tensor([-1, -1]));
  assert.equal(bodyCalls, 1);
  assert.equal(
    String(j),
    [
      "{ lambda ; a:f32[2]. let",
      "    b:f32[] = sum[axes=[0] keepDims=false] a",
      "    c:i32[] = compare[op=gt] b 0.0:f32[]",
      "    d:f32[2] = cond[",
      "      branches=(",
      "        { lambda ; e:f32[2]. let",
      "            f:f32[2] = whileLoop[",
      "              condJaxpr={ lambda ; g:f32[2]. let",
      "                  h:f32[] = sum[axes=[0] keepDims=false] g",
      "                  i:i32[] = compare[op=lt] h 100.0:f32[]",
      "                in (i,) }",
      "              bodyJaxpr={ lambda ; j:f32[2]. let",
      "                  k:f32[2] = mul j 2.0:f32[]",
      "                in (k,) }",
      "            ] e",
      "          in (f,) }",
      "        { lambda ; l:f32[2]. let m:f32[2] = neg l in (m,) }",
      "      )",
      "    ] c a",
      "  in (d,) }",
    ].join("\n"),
  );
  // a kernel that rejects zeros (a Cholesky factorization, an inverse)
  // learns its result's shape on identity matrices
  const chol = (x: Tensor) =>
    T.cond(T.greater(T.sum(x), 0), T.linalg.cholesky, T.linalg.inv, x);
  assert.deepEqual(
    nested(makeJaxpr(chol)(T.tensor([[2, 1], [1, 2]])), 2, "branches")
      .map((b) => b.eqns.map((e) => e.primitive)),
    [["linalg.cholesky", "reshape"], ["linalg.solve", "reshape"]],
  );
  // a branch whose result does not match the other's is an error (it was
  // not run, but it is traced)
  assert.throws(
    () =>
      makeJaxpr((x: Tensor) =>
        T.cond(T.greater(x, 0), (v: Tensor) => T.stack([v, v]), T.neg, x)
      )(T.tensor(-1)),
    /cond: trueFn returned float32\[2\], but falseFn returned float32\[\]/,
  );
});
