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
