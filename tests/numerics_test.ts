/**
 * Numerical edges against PyTorch 1.13 (tests/fixtures/numerics.json, written
 * by tests/fixtures/gen_numerics.py): float32 log-softmax and cross-entropy of
 * large logits, NaN and infinities through softmax, max and the losses (values
 * and gradients), 24 unary and 7 binary elementwise ops at special values
 * (values and gradients), weakly typed numbers with int32 tensors, float -> int32
 * casts; and the int32 sum's wrap-around and the debug NaN checks' names.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/numerics.json" with { type: "json" };
import {
  checkFixtureCase,
  type FixtureCase as Case,
  fixtureNumber as num,
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";

type Num = number | string;

const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });

// deno-lint-ignore no-explicit-any
function callOp(c: Case, v: Record<string, Tensor>): any {
  const o = c.options;
  switch (c.op) {
    case "logSoftmax":
      return T.logSoftmax(v.x, o);
    case "softmax":
      return T.softmax(v.x, o);
    case "logSumExp":
      return T.logSumExp(v.x, o);
    case "max":
      return T.max(v.x, o);
    case "min":
      return T.min(v.x, o);
    case "crossEntropy":
      return T.crossEntropy(v.logits, v.labels, { ...o, weight: v.weight });
  }
  // the elementwise ops, activations and losses at special values: x (with
  // the options), the pair a, b, or a loss's two inputs
  // deno-lint-ignore no-explicit-any
  const f = (T as unknown as Record<string, (...x: any[]) => Tensor>)[c.op];
  if (f && v.x) return Object.keys(o).length ? f(v.x, o) : f(v.x);
  if (f && v.a && v.b) return f(v.a, v.b);
  if (f && v.input && v.target) return f(v.input, v.target, o);
  if (f && v.logits && v.targets) return f(v.logits, v.targets, o);
  throw new Error(`unknown op ${c.op}`);
}

for (const c of fixture.cases as unknown as Case[]) {
  Deno.test(`PyTorch: ${c.op} ${c.name} (${c.dtype}): values and gradients`, () => {
    const tol = c.dtype === "float32"
      ? { atol: 1e-6, rtol: 1e-6 }
      : { atol: 1e-13, rtol: 1e-13 };
    checkFixtureCase(c, (v) => callOp(c, v), tol);
  });
}

Deno.test("float32 crossEntropy of [10000.5, 10000], label 1, is 0.974077 (exact 0.9740769841801067)", () => {
  const loss = T.crossEntropy(T.tensor([[10000.5, 10000]]), i32([1]));
  assert.equal(loss.dtype, "float32");
  assertAllClose(loss, [0.9740769841801067], { atol: 0, rtol: 1e-7 });
});

type Weak = { op: string; a: J; b: J | Num; out: J };
// deno-lint-ignore no-explicit-any
const ops = T as unknown as Record<string, (a: any, b: any) => Tensor>;

Deno.test("PyTorch: an int32 tensor with a number (weakly typed) or with an int32 tensor", () => {
  for (const w of fixture.weak as unknown as Weak[]) {
    const a = toT(w.a);
    const b = typeof w.b === "object" ? toT(w.b) : num(w.b);
    const y = w.op === "where"
      ? T.where(T.greater(a, 0), a, b)
      : ops[w.op](a, b);
    const what = `${w.op}(int32 [${w.a.data}], ${
      typeof w.b === "object" ? `int32 [${w.b.data}]` : w.b
    })`;
    assert.equal(y.dtype, w.out.dtype, what);
    assertAllClose(y, toT(w.out), { atol: 0, rtol: 0, msg: what });
    // the same with the number first (a commuted op, or the mirrored comparison)
    if (
      typeof b === "number" &&
      ["add", "mul", "maximum", "minimum"].includes(w.op)
    ) {
      assertAllClose(ops[w.op](b, a), toT(w.out), {
        atol: 0,
        rtol: 0,
        msg: what,
      });
    }
  }
});

Deno.test("weak numbers: an accuracy from int32 counts, and an integer outside int32's range", () => {
  const p = i32([1, 2, 0, 1]), y = i32([1, 0, 0, 2]);
  const acc = T.mul(T.sum(T.equal(p, y)), 1 / 4);
  assert.equal(acc.dtype, "float32");
  assert.equal(T.item(acc), 0.5);
  assert.equal(T.sub(1, i32([3])).dtype, "int32");
  assert.equal(
    T.add(T.tensor([1], { dtype: "float64" }), 0.5).dtype,
    "float64",
  );
  assert.throws(
    () => T.mul(i32([1]), 2 ** 31),
    /^Error: mul: b = 2147483648 is an integer outside int32's range \[-2147483648, 2147483647\], used with an int32 tensor/,
  );
  assert.throws(
    () => T.pow(i32([2]), -1),
    /^Error: pow: b = -1 is a negative integer with an int32 a \(integers to negative integer powers are not allowed, as in PyTorch\)/,
  );
  // PyTorch: int32 tensor ** int32 tensor truncates; a float exponent gives float32
  assert.deepEqual([...T.pow(i32([2, 1, -1]), i32([-1, -2, -3])).data], [
    0,
    1,
    -1,
  ]);
  assert.deepEqual(
    T.toArray(T.pow(i32([2]), -1.5)),
    [2 ** -1.5].map(Math.fround),
  );
  assert.throws(
    () => T.sub(-(2 ** 40), i32([1])),
    /^Error: sub: a = -1099511627776 is an integer outside int32's range/,
  );
});

Deno.test("PyTorch (x86): float -> int32 of NaN, ±Infinity and out-of-range values is -2147483648", () => {
  for (const c of fixture.casts as unknown as { x: J; out: J }[]) {
    const y = T.astype(toT(c.x), "int32");
    assert.equal(y.dtype, "int32");
    assert.deepEqual(
      [...y.data],
      c.out.data,
      `from ${c.x.dtype} [${c.x.data}]`,
    );
  }
});

Deno.test("int32 sum wraps around modulo 2^32 (PyTorch would promote to int64)", () => {
  const x = T.full([3], 2 ** 30, { dtype: "int32" });
  const s = T.sum(x);
  assert.equal(s.dtype, "int32");
  assert.equal(T.item(s), 3 * 2 ** 30 - 2 ** 32); // -1073741824
  assert.deepEqual(T.toArray(T.sum(T.reshape(x, [3, 1]), { axis: 0 })), [
    -1073741824,
  ]);
  // cast to float64 first for the exact count (up to 2^53)
  assert.equal(T.item(T.sum(T.astype(x, "float64"))), 3 * 2 ** 30);
});

Deno.test("setDebugNans names the op the user called, and the backward (or jvp) of which op made a NaN", () => {
  const ninf = -Infinity;
  const f32 = (v: number[]) => T.tensor(v);
  T.setDebugNans(true);
  try {
    // all -inf logits: -inf - (-inf) inside logSoftmax, inside crossEntropy
    assert.throws(
      () => T.crossEntropy(T.tensor([[ninf, ninf]]), i32([0])),
      /^Error: crossEntropy: produced NaN from inputs without NaN \(in its internal sub: inputs Tensor float32 \[1,2\], Tensor float32 \[1,1\]; output Tensor float32 \[1,2\]\); debug NaN checks are on$/,
    );
    assert.throws(
      () => T.logSoftmax(T.tensor([0, Infinity])),
      /^Error: logSoftmax: produced NaN .*in its internal sub/,
    );
    // the where trap: log(0) is not used, but its VJP computes 0 / 0
    const safeLog = (x: Tensor) => T.sum(T.where(T.greater(x, 0), T.log(x), 0));
    assert.equal(T.item(safeLog(f32([0, 1]))), 0); // the forward is fine
    assert.throws(
      () => T.grad(safeLog)(f32([0, 1])),
      /^Error: backward of log: produced NaN from inputs without NaN \(in its internal div: /,
    );
    // a composite's VJP: logSumExp of all -inf is -inf, its gradient ∞ · 0
    assert.equal(T.item(T.logSumExp(f32([ninf, ninf]))), ninf);
    assert.throws(
      () => T.grad((x: Tensor) => T.logSumExp(x))(f32([ninf, ninf])),
      /^Error: backward of logSumExp: produced NaN .*in its internal mul: /,
    );
    assert.throws(
      () =>
        T.jvp((x: Tensor) => T.logSumExp(x), [f32([ninf, ninf])], [
          f32([1, 1]),
        ]),
      /^Error: jvp of logSumExp: produced NaN .*in its internal div: /,
    );
    // a primitive called directly is named by itself, and the label is gone after an error
    assert.throws(
      () => T.sqrt(f32([-1])),
      /^Error: sqrt: produced NaN from inputs without NaN \(inputs Tensor float32 \[1\]; output Tensor float32 \[1\]\)/,
    );
  } finally {
    T.setDebugNans(false);
  }
  assert.ok(Number.isNaN(T.item(T.sum(T.logSoftmax(T.tensor([0, Infinity]))))));
});
