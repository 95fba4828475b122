/** Probes of checkGrads, the debug NaN mode, makeJaxpr and nn.summary / nn.paramCount: their fixes. */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const f64 = { dtype: "float64" as const };
const x3 = T.tensor([0.5, -1.2, 2], f64);
/** sin with a VJP twice too large. */
const wrongSin = T.customVjp(
  (x: Tensor) => T.sin(x),
  (x: Tensor) => [T.sin(x), x] as const,
  (x: Tensor, g: Tensor) => [T.mul(g, T.mul(T.cos(x), 2))] as [Tensor],
);

Deno.test("checkGrads: modes [] is an error, not a check of nothing", () => {
  assert.throws(
    () => T.checkGrads(wrongSin, [x3], { modes: [] }),
    /checkGrads: modes must be a non-empty array of "rev" and\/or "fwd", got an array of length 0/,
  );
});

Deno.test("checkGrads: an argument that is not a tree names checkGrads and the argument", () => {
  assert.throws(
    () => T.checkGrads((x: Tensor, _n: Tensor) => T.sin(x), [x3, 2 as never]),
    /^Error: checkGrads: args\[1\] is not a tree of tensors/,
  );
});

Deno.test("checkGrads: a mismatch names the argument leaf (rev) and the output leaf and index (fwd)", () => {
  const f = (p: { a: Tensor; b: Tensor[] }) => T.mul(p.a, wrongSin(p.b[0]));
  const args: [{ a: Tensor; b: Tensor[] }] = [{ a: T.exp(x3), b: [x3] }];
  assert.throws(
    () => T.checkGrads(f, args, { order: 1, modes: ["rev"] }),
    /checkGrads: VJP \(order 1, .*\) mismatch in the gradient of args\[0\] leaf "b\.0" \[3\]: analytic \S+ vs finite differences \S+/,
  );
  assert.throws(
    () =>
      T.checkGrads(
        (x: Tensor, y: Tensor) => ({ s: T.sin(y), w: wrongSin(x) }),
        [
          x3,
          x3,
        ],
        { order: 1, modes: ["fwd"] },
      ),
    /checkGrads: JVP \(order 1\) mismatch at output leaf "w" \[3\] at index \[\d\] \(flat output index \d of 6\), along args\[0\] \[3\]: analytic/,
  );
  // a wrong second derivative names the function checked
  const badSecond = T.customVjp(
    (x: Tensor) => T.sin(x),
    (x: Tensor) => [T.sin(x), T.stopGradient(x)] as const,
    (x: Tensor, g: Tensor) => [T.mul(g, T.cos(x))] as [Tensor],
  );
  assert.throws(
    () => T.checkGrads(badSecond, [x3], { modes: ["rev"] }),
    /VJP \(order 2, of the VJP function \(args, u\) => vjp\(f\)\(u\), .*mismatch in the gradient of args\[0\] \[3\]/,
  );
});

Deno.test("checkGrads: a function computing in float32 gets a hint, a NaN says so", () => {
  assert.throws(
    () =>
      T.checkGrads((x: Tensor) => T.sin(T.astype(x, "float32")), [
        T.tensor([1, 2, 3]),
      ], { order: 1 }),
    /note: f computes in float32/,
  );
  assert.throws(
    () => T.checkGrads((x: Tensor) => T.mul(x, NaN), [x3], { order: 1 }),
    /NaN or infinite/,
  );
});

Deno.test("makeJaxpr: float32 literals print as float32's shortest digits, nan/inf/-0.0 as numpy, params without JSON's null", () => {
  const x = T.tensor([1, 2]);
  const j = T.makeJaxpr((x: Tensor) =>
    T.maximum(T.add(T.mul(x, 0.1), NaN), -Infinity)
  )(x);
  assert.deepEqual(j.eqns.map((e) => e.inputs[1]), [
    "0.1:f32[]",
    "nan:f32[]",
    "-inf:f32[]",
  ]);
  assert.equal(
    T.makeJaxpr((x: Tensor) => T.mul(x, 1e30))(x).eqns[0].inputs[1],
    "1e+30:f32[]",
  );
  assert.equal(
    T.makeJaxpr((x: Tensor) => T.mul(x, -0))(x).eqns[0].inputs[1],
    "-0.0:f32[]",
  );
  assert.equal(
    T.makeJaxpr((x: Tensor) => T.mul(x, 0.1))(T.tensor([1], f64)).eqns[0]
      .inputs[1],
    "0.1:f64[]",
  );
  const p = String(
    T.makeJaxpr((x: Tensor) => T.pad(x, [[1, 0]], { value: -Infinity }))(x),
  );
  assert.match(p, /pad\[widths=\[\[1,0\]\] value=-inf\] a/);
});

Deno.test("nn.summary: zero activations in a named model make no debug NaN error, and the checks stay on", () => {
  const net = T.nn.model(
    { fc: T.nn.linear({ inFeatures: 3, outFeatures: 2 }) },
    (m, x: Tensor) => m.fc(T.div(x, T.sum(x, { axis: 1, keepDims: true }))),
    { name: "NormNet" },
  );
  T.setDebugNans(true);
  try {
    assert.match(T.nn.summary(net, [1, 3]), /^Total params: 8$/m);
    assert.throws(() => T.log(T.tensor([-1])), /log: produced NaN/);
  } finally {
    T.setDebugNans(false);
  }
});

Deno.test("nn.summary and nn.paramCount: errors name the bad entry", () => {
  assert.throws(
    () => T.nn.summary(T.nn.relu, [2, 0, 3]),
    /nn.summary: inputShape must be an array of positive integers .*got inputShape\[1\] = 0 in \[2, 0, 3\]/,
  );
  assert.throws(
    () => T.nn.paramCount(3 as never),
    /nn.paramCount: expected a params tree .* or a layer, got number 3/,
  );
});
