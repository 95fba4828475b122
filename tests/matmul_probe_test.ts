/**
 * matmul, linear and the broadcasting binary ops probed against PyTorch
 * 1.13: torch.matmul's rank rules (vectors on either side, broadcast batch
 * dims, empty dims), linear on inputs of any rank, and add ... minimum,
 * where and the comparisons on broadcasting shapes, values and gradients in
 * float64 and float32 (tests/fixtures/matmul_probe.json, written by
 * tests/fixtures/gen_matmul_probe.py); the same under jit (eager's bits)
 * and vmap; int32 products and the errors for shapes that do not broadcast.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { runtime } from "../ops/kernels/wasm/runtime.ts";
import { assertAllClose, sameBits } from "./_helpers.ts";
import fixture from "./fixtures/matmul_probe.json" with { type: "json" };

type J = { shape: number[]; dtype: T.DType; data: (number | string)[] };
type Case = {
  op: string;
  dtype: "float32" | "float64";
  shapes: number[][];
  seed: number;
  positive: boolean;
  y: J;
  grads?: (J | null)[];
};
const cases = fixture.cases as unknown as Case[];

/** The generator's vals(n, seed): exact in float64. */
function vals(n: number, seed: number): number[] {
  return Array.from(
    { length: n },
    (_, j) => ((j * 7919 + seed * 104729) % 65521) / 32760.5 - 1,
  );
}

const fromJ = (j: J): Tensor =>
  T.tensor(j.data.map(Number), { shape: j.shape, dtype: j.dtype });

/** The case's inputs, as the generator makes them. */
function inputs(c: Case): Tensor[] {
  return c.shapes.map((s, i) => {
    const n = s.reduce((p, d) => p * d, 1);
    let v = vals(n, c.seed + i);
    if (c.positive) v = v.map((x) => x * 0.75 + 1);
    return T.tensor(v, { shape: s, dtype: c.dtype });
  });
}

const ops: Record<string, (...xs: Tensor[]) => Tensor> = {
  matmul: T.matmul,
  linear: (x, w, b) => T.linear(x, w, b),
  add: T.add,
  sub: T.sub,
  mul: T.mul,
  div: T.div,
  pow: T.pow,
  maximum: T.maximum,
  minimum: T.minimum,
  equal: T.equal,
  notEqual: T.notEqual,
  less: T.less,
  lessEqual: T.lessEqual,
  greater: T.greater,
  greaterEqual: T.greaterEqual,
  where: (c, a, b) => T.where(T.greater(c, 0), a, b),
};

const tol = (dtype: string) =>
  dtype === "float64"
    ? { atol: 1e-12, rtol: 1e-10 }
    : { atol: 1e-6, rtol: 1e-5 };

const caseName = (c: Case) =>
  `${c.op} ${c.shapes.map((s) => `[${s}]`).join(" ")} ${c.dtype}`;

/** The values and the gradients of sum(f(...xs) * cotangent) of a case. */
function valueAndGrads(c: Case, f: (...xs: Tensor[]) => Tensor, xs: Tensor[]) {
  const y = f(...xs);
  if (!c.grads) return [y];
  const size = y.shape.reduce((p, d) => p * d, 1);
  const cot = T.tensor(vals(size, c.seed + 50), {
    shape: y.shape,
    dtype: y.dtype,
  });
  const gs = T.grad(
    (...a: Tensor[]) => T.sum(T.mul(f(...a), cot)),
    { argnums: xs.map((_, i) => i) },
  )(...xs) as Tensor[];
  return [y, ...gs];
}

Deno.test(`PyTorch: matmul, linear and the broadcasting binary ops, values and gradients (${cases.length} cases, float64 and float32)`, () => {
  for (const c of cases) {
    const name = caseName(c);
    const [y, ...gs] = valueAndGrads(c, ops[c.op], inputs(c));
    assert.equal(y.dtype, c.y.dtype, name);
    assertAllClose(y, fromJ(c.y), { ...tol(c.dtype), msg: name });
    c.grads?.forEach((g, i) => {
      if (g === null) return; // (where's condition)
      assertAllClose(gs[i], fromJ(g), {
        ...tol(c.dtype),
        msg: `${name}: grad ${i}`,
      });
    });
  }
});

Deno.test("int32 matmul wraps every product and sum modulo 2^32, as PyTorch's (no float64 rounding past 2^53)", () => {
  const i32 = (v: T.NestedArray) => T.tensor(v, { dtype: "int32" });
  const m = 2147483647;
  // torch.matmul(i32([[m, m, m]]), i32([[m], [m], [-m]])).tolist() == [[1]]
  const y = T.matmul(i32([[m, m, m]]), i32([[m], [m], [-m]]));
  assert.equal(y.dtype, "int32");
  assert.deepEqual(T.toArray(y), [[1]]);
  // torch.matmul(i32([m, m, m]), i32([m, m, -m])).item() == 1
  assert.equal(T.item(T.matmul(i32([m, m, m]), i32([m, m, -m]))), 1);
  // against exact integer arithmetic (BigInt) reduced to int32, on random
  // large entries with broadcast batch dims, eagerly, under jit and vmap
  const [sa, sb] = [[2, 1, 3, 5], [4, 5, 2]];
  const big = (n: number, seed: number) =>
    vals(n, seed).map((v) => Math.trunc(v * 2 ** 31));
  const a = T.tensor(big(30, 1), { shape: sa, dtype: "int32" });
  const b = T.tensor(big(40, 2), { shape: sb, dtype: "int32" });
  const at = (t: Tensor, idx: number[]) =>
    BigInt(t.data[idx.reduce((o, v, d) => o * t.shape[d] + v, 0)] as number);
  const want: number[] = [];
  for (let p = 0; p < 2; p++) {
    for (let q = 0; q < 4; q++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 2; j++) {
          let s = 0n;
          for (let r = 0; r < 5; r++) {
            s += at(a, [p, 0, i, r]) * at(b, [q, r, j]);
          }
          want.push(Number(BigInt.asIntN(32, s)));
        }
      }
    }
  }
  assert.deepEqual([...T.matmul(a, b).data], want);
  assert.deepEqual([...T.jit(T.matmul)(a, b).data], want);
  const mapped = T.vmap(T.matmul, { inAxes: [null, 0] })(a, b);
  assert.deepEqual(mapped.shape, [4, 2, 1, 3, 2]);
  assert.deepEqual(
    [...T.transpose(mapped, [1, 2, 0, 3, 4]).data],
    want,
  );
});

Deno.test("errors: shapes that do not broadcast name the op, the shapes and the axis (as PyTorch's 'at non-singleton dimension')", () => {
  const z = (...s: number[]) => T.zeros(s);
  // torch.add(zeros(2,3), zeros(4,1,4)): "The size of tensor a (3) must match
  // the size of tensor b (4) at non-singleton dimension 2"
  assert.throws(
    () => T.add(z(2, 3), z(4, 1, 4)),
    /^Error: add: cannot broadcast a \[2,3\] with b \[4,1,4\] \(a has size 3 and b size 4 at axis 2\)$/,
  );
  // torch.maximum(zeros(3,1,5), zeros(2,4)): "The size of tensor a (5) must
  // match the size of tensor b (4) at non-singleton dimension 2"
  assert.throws(
    () => T.maximum(z(3, 1, 5), z(2, 4)),
    /^Error: maximum: cannot broadcast a \[3,1,5\] with b \[2,4\] \(a has size 5 and b size 4 at axis 2\)$/,
  );
  assert.throws(
    () => T.less(z(3), z(2)),
    /^Error: less: cannot broadcast a \[3\] with b \[2\] \(a has size 3 and b size 2 at axis 0\)$/,
  );
  // torch.where(zeros(3).bool(), zeros(4), 0): "... (3) ... (4) at non-singleton dimension 0"
  assert.throws(
    () => T.where(z(3), z(4), 0),
    /^Error: where: cannot broadcast cond \[3\] with a \[4\] and b \[\] \(cond has size 3 and a with b size 4 at axis 0\)$/,
  );
  // torch.matmul(zeros(2,2,3), zeros(3,3,4)): "The size of tensor a (2) must
  // match the size of tensor b (3) at non-singleton dimension 0"
  assert.throws(
    () => T.matmul(z(2, 2, 3), z(3, 3, 4)),
    /^Error: matmul: cannot broadcast the batch dims of a \[2,2,3\] and b \[3,3,4\] \(a has size 2 and b size 3 at axis 0 of the batch dims\)$/,
  );
  // torch.matmul(zeros(2,3), zeros(4)): "size mismatch, got 2, 2x3,4"
  assert.throws(
    () => T.matmul(z(2, 3), z(4)),
    /^Error: matmul: a \[2,3\] and b \[4\] have mismatched inner dimensions 3 and 4 \(a's axis 1 and b's axis 0\)$/,
  );
  assert.throws(
    () => T.matmul(z(5, 2, 3), z(2, 4, 2)),
    /^Error: matmul: a \[5,2,3\] and b \[2,4,2\] have mismatched inner dimensions 3 and 4 \(a's axis 2 and b's axis 1\)$/,
  );
});

Deno.test("jit: matmul, linear and the binary ops give eager's bits, values and gradients (every fixture case)", () => {
  for (const c of cases) {
    const f = ops[c.op], xs = inputs(c);
    const eager = valueAndGrads(c, f, xs);
    const jitted = T.jit((...a: Tensor[]) => valueAndGrads(c, f, a))(...xs);
    eager.forEach((e, i) => sameBits(jitted[i], e, `${caseName(c)} [${i}]`));
  }
});

Deno.test({
  name:
    "float32 matmul on 1 and 2 threads: the same bits (values and gradients), and PyTorch's to 1e-5",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => {
    const rt = runtime(), before = rt.threads;
    const big = cases.filter((c) =>
      c.op === "matmul" && c.dtype === "float32" &&
      c.y.data.length * c.shapes[0][c.shapes[0].length - 1] >= 2 ** 19
    );
    assert.equal(big.length, 2);
    try {
      const runs = [1, 2].map((threads) => {
        rt.setThreads(threads);
        if (threads > 1) assert.ok(rt.waitReady(10000), "no worker started");
        return big.map((c) => {
          const xs = inputs(c), y = T.matmul(xs[0], xs[1]);
          assertAllClose(y, fromJ(c.y), { ...tol(c.dtype), msg: caseName(c) });
          const g = T.grad(
            (a: Tensor, b: Tensor) => T.sum(T.square(T.matmul(a, b))),
            { argnums: [0, 1] },
          )(
            xs[0],
            xs[1],
          ) as Tensor[];
          return [y, ...g];
        });
      });
      runs[0].forEach((ts, i) =>
        ts.forEach((t, j) =>
          sameBits(runs[1][i][j], t, `${caseName(big[i])} [${j}]`)
        )
      );
    } finally {
      rt.setThreads(before);
    }
  },
});

/** x without its axis `axis` at index i. */
const take = (x: Tensor, axis: number, i: number) =>
  T.squeeze(
    T.slice(
      x,
      x.shape.map((_, k) => k === axis ? i : 0),
      x.shape.map((s, k) => k === axis ? i + 1 : s),
    ),
    axis,
  );

Deno.test("vmap: matmul, linear and the binary ops with a batched operand on either side or both, the mapped axis anywhere, give the per-example bits", () => {
  const B = 3;
  const pairs: [string, number[], number[]][] = [
    ["matmul", [3], [3]],
    ["matmul", [3], [2, 3, 4]],
    ["matmul", [2, 3, 4], [4]],
    ["matmul", [2, 1, 3, 4], [5, 4, 6]],
    ["matmul", [2, 0], [0, 3]],
    ["linear", [3], [4, 3]],
    ["linear", [2, 5, 3], [4, 3]],
    ["add", [3, 1], [1, 0]],
    ["sub", [2, 1, 3, 1], [4, 1, 1]],
    ["mul", [1], [2, 3, 4]],
    ["div", [5, 1, 4], [1, 3, 1]],
    ["maximum", [], [2, 3]],
    ["minimum", [2, 1], [3]],
    ["pow", [2, 1], [1, 3]],
    ["less", [4, 1], [3]],
  ];
  let n = 0;
  for (const [op, sa, sb] of pairs) {
    const f = ops[op];
    for (const dtype of ["float64", "float32"] as const) {
      for (let ea = -1; ea <= sa.length; ea++) {
        for (let eb = -1; eb <= sb.length; eb++) {
          if (ea < 0 && eb < 0) continue; // (-1: not mapped)
          const input = (s: number[], axis: number, seed: number) => {
            const shape = axis < 0 ? s : s.toSpliced(axis, 0, B);
            const v = vals(shape.reduce((p, d) => p * d, 1), seed);
            return T.tensor(op === "pow" ? v.map((x) => x + 1.5) : v, {
              shape,
              dtype,
            });
          };
          const a = input(sa, ea, 1), b = input(sb, eb, 2);
          const inAxes = [ea < 0 ? null : ea, eb < 0 ? null : eb];
          const got = T.vmap(f, { inAxes })(a, b);
          const want = T.stack(
            Array.from(
              { length: B },
              (_, i) =>
                f(ea < 0 ? a : take(a, ea, i), eb < 0 ? b : take(b, eb, i)),
            ),
          );
          sameBits(got, want, `${op} [${sa}] [${sb}] ${dtype} in ${inAxes}`);
          n++;
        }
      }
    }
  }
  assert.ok(n > 200);
});

Deno.test("weak scalars and pow as PyTorch: dtypes, negative bases, int32 powers and division by 0 (matched)", () => {
  const i32 = (v: T.NestedArray) => T.tensor(v, { dtype: "int32" });
  const same = (t: Tensor, dtype: string, want: number[]) => {
    assert.equal(t.dtype, dtype);
    assert.deepEqual([...t.data], want);
  };
  // torch.add(i32([1, 2]), 2.5) -> float32 [3.5, 4.5]
  same(T.add(i32([1, 2]), 2.5), "float32", [3.5, 4.5]);
  // torch.mul(f32([1.5]), 1e-50) -> float32 [0.]: the number takes float32
  same(T.mul(T.tensor([1.5]), 1e-50), "float32", [0]);
  // torch.where(tensor([True, False]), i32([1, 2]), 2.5) -> float32 [1., 2.5]
  same(T.where(i32([1, 0]), i32([1, 2]), 2.5), "float32", [1, 2.5]);
  // torch.where(tensor([True, False]), i32([1, 2]), 2) -> int32 [1, 2]
  same(T.where(i32([1, 0]), i32([1, 2]), 2), "int32", [1, 2]);
  // torch.div(i32([1, 0, -1]), 0) -> float32 [inf, nan, -inf]
  same(T.div(i32([1, 0, -1]), 0), "float32", [Infinity, NaN, -Infinity]);
  // torch.pow(i32([-2, 3, -1, 1, 0]), i32([3, -1, -3, -5, 0])) -> int32 [-8, 0, -1, 1, 1]
  same(T.pow(i32([-2, 3, -1, 1, 0]), i32([3, -1, -3, -5, 0])), "int32", [
    -8,
    0,
    -1,
    1,
    1,
  ]);
  // torch.pow(i32([2]), -1): "Integers to negative integer powers are not allowed."
  assert.throws(
    () => T.pow(i32([2]), -1),
    /pow: b = -1 is a negative integer with an int32 a \(integers to negative integer powers are not allowed/,
  );
  // torch.pow(b, e) for b = [-2,-2,-3,-0.5,-2,-8,-1,-1.5],
  // e = [3,-2,2,-3,0.5,1/3,2.5,4] (float32 and float64):
  // [-8, 0.25, 9, -8, nan, nan, nan, 5.0625]
  for (const dtype of ["float32", "float64"] as const) {
    const b = T.tensor([-2, -2, -3, -0.5, -2, -8, -1, -1.5], { dtype });
    const e = T.tensor([3, -2, 2, -3, 0.5, 1 / 3, 2.5, 4], { dtype });
    same(T.pow(b, e), dtype, [-8, 0.25, 9, -8, NaN, NaN, NaN, 5.0625]);
  }
  // torch.pow(-2., f32([3, -1, 0.5])) -> [-8, -0.5, nan]
  same(T.pow(-2, T.tensor([3, -1, 0.5])), "float32", [-8, -0.5, NaN]);
});
