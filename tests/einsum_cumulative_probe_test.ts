/**
 * einsum, tensordot, kron and the cumulative ops (cumsum, cumprod,
 * logCumSumExp) probed against PyTorch 1.13: values, gradients and
 * Hessian-vector products (double backward) on repeated letters, ellipses
 * with broadcasting, size-1 letters, zero-size axes, scalars, three
 * operands, negative axes, zeros in cumprod's rows and infinities in
 * logCumSumExp's (tests/fixtures/einsum_cumulative_probe.json, written by
 * tests/fixtures/gen_einsum_cumulative_probe.py); jvp and second
 * derivatives against float64 finite differences, logCumSumExp's jvp next
 * to infinities against its closed form, einsum's broadcasting of size-1
 * axes without copies, vmap against a loop over the examples, and the
 * errors for bad specs and axes.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/einsum_cumulative_probe.json" with {
  type: "json",
};

type J = { shape: number[]; dtype: T.DType; data: (number | string)[] };
type Case = {
  op: string;
  name: string;
  args: { spec?: string; axes?: number | [number[], number[]]; axis?: number };
  xs: J[];
  y: J;
  cotangent?: J;
  grads?: J[];
  direction?: J[];
  hvp?: J[];
};
const cases = fixture.cases as unknown as Case[];
const fromJ = (j: J): Tensor =>
  T.tensor(j.data.map(Number), { shape: j.shape, dtype: j.dtype });

/** The case's op on its inputs. */
function run(c: Case, xs: Tensor[]): Tensor {
  const a = c.args;
  switch (c.op) {
    case "einsum":
      return T.einsum(a.spec!, ...xs);
    case "tensordot":
      return T.tensordot(xs[0], xs[1], a.axes!);
    case "kron":
      return T.kron(xs[0], xs[1]);
    case "cumsum":
      return T.cumsum(xs[0], { axis: a.axis! });
    case "cumprod":
      return T.cumprod(xs[0], { axis: a.axis! });
    case "logCumSumExp":
      return T.logCumSumExp(xs[0], { axis: a.axis! });
  }
  throw new Error(`unknown op ${c.op}`);
}

/** An einsum spec in implicit mode (no "->"), which the library refuses by design. */
const implicit = (c: Case) => c.op === "einsum" && !c.args.spec!.includes("->");

/**
 * The case's expected gradient (or Hessian-vector product): PyTorch's,
 * except where logcumsumexp's is NaN because every entry so far is -inf (a
 * documented difference: there y_k = x_k while x_0..x_{k-1} are -inf, so
 * the limit dy_k/dx_k = 1 sends cotangent k to entry k, a constant whose
 * own derivative is 0, and later finite entries send it nothing).
 */
function expected(c: Case, what: "grads" | "hvp", i: number): number[] {
  const g = fromJ(c[what]![i]).data, ct = fromJ(c.cotangent!).data;
  return Array.from(g, (v, k) => {
    if (!Number.isNaN(v)) return v;
    assert.equal(c.op, "logCumSumExp", `NaN in torch's ${what} of ${c.name}`);
    assert.equal(c.xs[0].shape.length, 1);
    const x = fromJ(c.xs[0]).data;
    assert.ok(x.slice(0, k + 1).every((xj) => xj === -Infinity));
    return what === "grads" ? ct[k] : 0;
  });
}

const tol = (dtype: string) =>
  dtype === "float64"
    ? { atol: 1e-10, rtol: 1e-10 }
    : { atol: 1e-4, rtol: 1e-4 };

for (
  const op of [
    "einsum",
    "tensordot",
    "kron",
    "cumsum",
    "cumprod",
    "logCumSumExp",
  ]
) {
  Deno.test(`PyTorch: ${op} values, gradients and Hessian-vector products`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.y.dtype})`, () => {
        const xs = c.xs.map(fromJ);
        if (implicit(c)) { // torch's implicit output: a clear error here
          assert.throws(
            () => run(c, xs),
            /^Error: einsum: the output must be explicit/,
          );
          return;
        }
        const y = run(c, xs);
        assert.equal(y.dtype, c.y.dtype);
        const o = tol(c.y.dtype);
        assertAllClose(y, fromJ(c.y), { ...o, msg: "value" });
        if (!c.grads) return;
        const ct = fromJ(c.cotangent!);
        const loss = (...ws: Tensor[]) => T.sum(T.mul(run(c, ws), ct));
        const argnums = xs.map((_, i) => i);
        const gs = T.grad(loss, { argnums })(...xs) as Tensor[];
        gs.forEach((g, i) =>
          assertAllClose(g, expected(c, "grads", i), { ...o, msg: `grad ${i}` })
        );
        if (!c.hvp) return;
        const v = c.direction!.map(fromJ);
        const inner = (...ws: Tensor[]) => {
          const g = T.grad(loss, { argnums })(...ws) as Tensor[];
          return g.reduce(
            (s, gi, i) => T.add(s, T.sum(T.mul(gi, v[i]))),
            T.tensor(0, { dtype: "float64" }),
          );
        };
        const hs = T.grad(inner, { argnums })(...xs) as Tensor[];
        hs.forEach((h, i) =>
          assertAllClose(h, expected(c, "hvp", i), { ...o, msg: `hvp ${i}` })
        );
      });
    }
  });
}

// ---------------------------------------------------------------------------
// jvp and second derivatives against float64 central differences

const f64 = { dtype: "float64" as const };
const seq = (shape: number[], seed: number): Tensor => {
  const n = shape.reduce((p, d) => p * d, 1);
  const v = Array.from({ length: n }, (_, j) => Math.sin(1.3 * j + seed) * 1.5);
  return T.tensor(v, { shape, ...f64 });
};
/** (f(x + h·t) - f(x - h·t)) / 2h: the directional derivative. */
const centralDiff = (f: (x: Tensor) => Tensor, x: Tensor, t: Tensor) => {
  const h = 1e-6;
  return T.div(
    T.sub(f(T.add(x, T.mul(t, h))), f(T.sub(x, T.mul(t, h)))),
    2 * h,
  );
};
const zeroed = (x: Tensor, at: number[]) =>
  T.tensor(Array.from(x.data, (v, i) => (at.includes(i) ? 0 : v)), {
    shape: x.shape,
    ...f64,
  });
const b34 = seq([3, 4], 7);
const fdCases: [string, (x: Tensor) => Tensor, Tensor][] = [
  [
    "einsum 'ij,jk,ik->j' (x in two operands)",
    (x) => T.einsum("ij,jk,ik->j", x, b34, T.tanh(T.matmul(x, b34))),
    seq([2, 3], 1),
  ],
  [
    "einsum 'iij,ij->j'",
    (x) => T.einsum("iij,ij->j", x, T.sum(x, { axis: 0 })),
    seq([3, 3, 2], 2),
  ],
  [
    "tensordot",
    (x) => T.tensordot(x, T.mul(x, x), [[0, -1], [0, 2]]),
    seq([2, 3, 4], 3),
  ],
  ["kron", (x) => T.kron(x, T.exp(x)), seq([2, 3], 4)],
  ["cumsum", (x) => T.cumsum(T.mul(x, x), { axis: -1 }), seq([2, 5], 5)],
  [
    "cumprod with two zeros",
    (x) => T.cumprod(x, { axis: 1 }),
    zeroed(seq([2, 6], 6), [1, 4, 7]),
  ],
  ["logCumSumExp", (x) => T.logCumSumExp(x, { axis: 0 }), seq([9, 2], 8)],
];
for (const [name, f, x] of fdCases) {
  Deno.test(`finite differences: jvp and grad of grad of ${name}`, () => {
    const t = seq(x.shape as number[], 11), v = seq(x.shape as number[], 12);
    const [, dy] = T.jvp(f, [x], [t]);
    assertAllClose(dy, centralDiff(f, x, t), { atol: 1e-7, rtol: 1e-7 });
    // the Hessian of <f(x), c> along v, as the derivative of its gradient
    const c = seq(f(x).shape as number[], 13);
    const g = T.grad((w: Tensor) => T.sum(T.mul(f(w), c)));
    const hv = T.grad((w: Tensor) => T.sum(T.mul(g(w), v)))(x);
    assertAllClose(hv, centralDiff(g, x, v), { atol: 1e-6, rtol: 1e-6 });
  });
}

// ---------------------------------------------------------------------------
// broadcasting without copies, vmap, errors

Deno.test("einsum: a size-1 axis that broadcasts is summed first, never copied to the broadcast size (as torch)", () => {
  // "...i,...i->" on [n,1,2] and [n,2] broadcasts the ellipsis to [n,n]:
  // torch sums a's and b's batch axes first (memory O(n)); a copy would
  // take 2n² = 2e10 elements. Closed form: sum_i (sum_x a[x,i]) (sum_y b[y,i]).
  const n = 100000;
  const a = T.reshape(T.arange(0, 2 * n, 1, f64), [n, 1, 2]);
  const b = T.reshape(T.arange(0, 2 * n, 1, f64), [n, 2]);
  const s0 = n * (n - 1); // sum over x of 2x (i = 0)
  const s1 = s0 + n; // sum over x of 2x + 1 (i = 1)
  assert.equal(T.item(T.einsum("...i,...i->", a, b)), s0 * s0 + s1 * s1);
  // d/da[x,0,i] = sum_y b[y,i]
  const [ga, gb] = T.grad(
    (p: Tensor, q: Tensor) => T.einsum("...i,...i->", p, q),
    {
      argnums: [0, 1],
    },
  )(a, b) as Tensor[];
  assert.deepEqual(ga.shape, [n, 1, 2]);
  assert.deepEqual(Array.from(ga.data.slice(0, 4)), [s0, s1, s0, s1]);
  assert.deepEqual(gb.shape, [n, 2]);
  assert.deepEqual(Array.from(gb.data.slice(-2)), [s0, s1]);
  // a size-1 letter in the output or summed, with a repeated letter: against
  // the same spec on the explicitly broadcast operands
  const m = seq([1, 1], 3), v = seq([3], 4), w = seq([2, 1, 3], 5);
  assertAllClose(
    T.einsum("ii,i->i", m, v),
    T.einsum("ii,i->i", T.broadcastTo(m, [3, 3]), v),
    { atol: 0, rtol: 0 },
  );
  assertAllClose(
    T.einsum("ij,kj->ik", T.reshape(w, [2, 3]), seq([4, 1], 6)),
    T.einsum(
      "ij,kj->ik",
      T.reshape(w, [2, 3]),
      T.broadcastTo(seq([4, 1], 6), [4, 3]),
    ),
    { atol: 1e-12, rtol: 1e-12 },
  );
});

Deno.test("vmap of einsum, tensordot and the cumulative ops equals a loop over the examples", () => {
  const loop = (
    f: (...a: Tensor[]) => Tensor,
    xs: Tensor[],
    axes: (number | null)[],
    n: number,
  ) =>
    T.stack(
      Array.from({ length: n }, (_, i) =>
        f(...xs.map((x, j) => {
          const d = axes[j];
          if (d === null) return x;
          const starts = x.shape.map((_, k) => (k === d ? i : 0));
          const ends = x.shape.map((s, k) => (k === d ? i + 1 : s));
          return T.squeeze(T.slice(x, starts, ends), [d]);
        }))),
    );
  const rows: [
    string,
    (...a: Tensor[]) => Tensor,
    Tensor[],
    (number | null)[],
  ][] = [
    ["einsum, one operand batched", (a, b) => T.einsum("ij,jk->ik", a, b), [
      seq([5, 2, 3], 1),
      seq([3, 4], 2),
    ], [0, null]],
    [
      "einsum, both batched on other axes",
      (a, b) => T.einsum("ij,jk->ki", a, b),
      [seq([2, 5, 3], 1), seq([3, 4, 5], 2)],
      [1, 2],
    ],
    ["einsum 'ii->i'", (a) => T.einsum("ii->i", a), [seq([3, 5, 3], 3)], [1]],
    [
      "einsum ellipsis, size-1 batch",
      (a, b) => T.einsum("...ij,...jk->...ik", a, b),
      [seq([5, 2, 1, 2, 3], 4), seq([4, 3, 2], 5)],
      [0, null],
    ],
    ["tensordot", (a, b) => T.tensordot(a, b, [[0, -1], [1, 0]]), [
      seq([2, 5, 3, 4], 6),
      seq([4, 2, 3], 7),
    ], [1, null]],
    ["kron", (a, b) => T.kron(a, b), [seq([2, 5, 3], 8), seq([5, 2], 9)], [
      1,
      0,
    ]],
    ["cumsum", (a) => T.cumsum(a, { axis: -1 }), [seq([3, 4, 5], 10)], [2]],
    ["cumprod", (a) => T.cumprod(a, { axis: 0 }), [
      zeroed(seq([3, 5, 4], 11), [2, 7, 30]),
    ], [1]],
    ["logCumSumExp", (a) => T.logCumSumExp(a, { axis: 1 }), [
      seq([3, 4, 5], 12),
    ], [2]],
  ];
  for (const [name, f, xs, inAxes] of rows) {
    const n = xs[
      inAxes.findIndex((d) => d !== null)
    ].shape[inAxes.find((d) => d !== null)!];
    assertAllClose(T.vmap(f, { inAxes })(...xs), loop(f, xs, inAxes, n), {
      atol: 0,
      rtol: 0,
      msg: name,
    });
    const g = T.grad((...a: Tensor[]) => T.sum(T.sin(f(...a))));
    assertAllClose(T.vmap(g, { inAxes })(...xs), loop(g, xs, inAxes, n), {
      atol: 1e-14,
      rtol: 1e-14,
      msg: `${name} grad`,
    });
  }
});

Deno.test("einsum, tensordot, cumulative ops: bad arguments name the function, the argument and what came", () => {
  const a = T.ones([2, 3]), b = T.ones([4, 5]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.einsum("ij,jk->ik", a),
      /^Error: einsum: it names 2 operand\(s\) but 1 came \(spec "ij,jk->ik"\)$/,
    ],
    [
      () => T.einsum("ijk->i", a),
      /^Error: einsum: operand 0 has 2 dims \[2,3\] but "ijk" names 3/,
    ],
    [
      () => T.einsum("ij,jk->ik", a, b),
      /^Error: einsum: "j" is 3 in one place and 4 in another/,
    ],
    [
      () => T.einsum("ij->i->j", a),
      /^Error: einsum: "->" appears more than once/,
    ],
    [
      () => T.einsum("ij->k", a),
      /^Error: einsum: output letter "k" names no input axis/,
    ],
    [
      () => T.einsum("ij->jj", a),
      /^Error: einsum: output letter "j" appears twice/,
    ],
    [
      () => T.einsum("ii->i", a),
      /^Error: einsum: "i" is 2 in one place and 3 in another/,
    ],
    // implicit output (torch.einsum("ij,jk", a, b)): refused by design (see einsum's JSDoc)
    [
      () => T.einsum("ij,jk", a, T.ones([3, 4])),
      /^Error: einsum: the output must be explicit/,
    ],
    [
      () => T.cumsum(T.tensor(1), { axis: 1 }),
      /^Error: cumsum: axis 1 is out of range for x with 0 dims \(shape \[\]\)$/,
    ],
    [
      () => T.tensordot(a, a, [[0.5], [0]]),
      /^Error: tensordot: axes for a must be integers in \[-2, 1\] \(a \[2,3\]\), got number 0\.5$/,
    ],
    [
      () => T.tensordot(a, b, [[1], [-3]]),
      /^Error: tensordot: axes for b must be integers in \[-2, 1\] \(b \[4,5\]\), got number -3$/,
    ],
  ];
  // an axis that is not a number (a bigint or a symbol) is shown, not a TypeError
  for (const odd of [1n, Symbol("s")]) {
    cases.push([
      () => T.tensordot(a, a, [[odd as unknown as number], [0]]),
      /^Error: tensordot: axes for a must be integers in \[-2, 1\] \(a \[2,3\]\), got (bigint 1|symbol Symbol\(s\))$/,
    ]);
  }
  // axes that are neither (a bigint, a tensor) are described, not serialised
  cases.push(
    [
      () => T.tensordot(a, a, 1n as unknown as number),
      /^Error: tensordot: axes must be an integer or two lists of axes of one length, got bigint 1$/,
    ],
    [
      () => T.tensordot(a, a, T.zeros([1000]) as unknown as number),
      /^Error: tensordot: axes must be an integer or two lists of axes of one length, got .{0,80}$/,
    ],
  );
  for (const [f, re] of cases) assert.throws(f, re);
  // a scalar takes axis 0 and -1, as torch.cumsum(torch.tensor(3.), -1)
  assert.equal(T.item(T.cumprod(T.tensor(3), { axis: -1 })), 3);
});

Deno.test("logCumSumExp jvp next to -inf and +inf: the closed form (torch 1.13 has no forward mode for it)", () => {
  // dy_k = sum_{j<=k} softmax(x_0..x_k)_j t_j; while x_0..x_k are all -inf,
  // y_k = x_k and dy_k = t_k; from a +inf x_k on, dy = t_k (the limit)
  const t = T.tensor([1, 2, 3], f64);
  const s = 1 / (1 + Math.exp(-1)); // e^2 / (e^1 + e^2)
  const rows: [number[], number[]][] = [
    [[-Infinity, 1, 2], [1, 2, 2 * (1 - s) + 3 * s]],
    [[1, -Infinity, 2], [1, 1, 1 * (1 - s) + 3 * s]],
    [[-Infinity, -Infinity, 2], [1, 2, 3]],
    [[1, Infinity, 2], [1, 2, 2]],
  ];
  for (const [x, want] of rows) {
    const [, dy] = T.jvp(
      (w: Tensor) => T.logCumSumExp(w, { axis: 0 }),
      [T.tensor(x, f64)],
      [t],
    );
    assertAllClose(dy, want, { atol: 1e-15, rtol: 1e-15, msg: `${x}` });
  }
});
