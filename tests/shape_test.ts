/**
 * Shape, creation and einsum ops (ops/shape.ts, ops/einsum.ts, eye and
 * linspace in ops/tensor.ts): values and gradients against PyTorch 1.13
 * (tests/fixtures/shape.json, written by tests/fixtures/gen_shape.py),
 * identities, and errors. Gradients to order 2, vmap and jit: the rows of
 * tests/_shape_table.ts. The index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";
import fixture from "./fixtures/shape.json" with { type: "json" };

type J = { shape: number[]; dtype: string; data: number[] };
type Case = {
  op: string;
  name: string;
  dtype: T.DType;
  // deno-lint-ignore no-explicit-any
  options: any;
  inputs: J[];
  output: J | J[];
  cotangent: J | null;
  grads: J[];
};

const toT = (j: J): Tensor =>
  T.tensor(j.data, { shape: j.shape, dtype: j.dtype as T.DType });

function call(c: Case, xs: Tensor[]): Tensor | Tensor[] {
  const o = c.options;
  const x = xs[0];
  switch (c.op) {
    case "flip":
      return T.flip(x, o);
    case "roll":
      return T.roll(x, o.shifts, o.axis === undefined ? {} : { axis: o.axis });
    case "tile":
      return T.tile(x, o.reps);
    case "repeat":
      return T.repeat(
        x,
        o.repeats,
        o.axis === undefined ? {} : { axis: o.axis },
      );
    case "tril":
      return T.tril(x, o);
    case "triu":
      return T.triu(x, o);
    case "meshgrid":
      return T.meshgrid(...xs, o);
    case "einsum":
      return T.einsum(o.spec, ...xs);
    case "eye":
      return T.eye(o.n, o.m ?? undefined, { dtype: c.dtype });
    case "split":
      return T.split(x, o.sections ?? o.indices, { axis: o.axis });
    case "chunk":
      return T.chunk(x, o.chunks, { axis: o.axis });
    case "moveaxis":
      return T.moveaxis(x, o.source, o.destination);
    case "swapaxes":
      return T.swapaxes(x, o.axis1, o.axis2);
    case "diff":
      return T.diff(x, o);
    case "diagonal":
      return T.diagonal(x, o);
    case "trace":
      return T.trace(x, o);
    case "outer":
      return T.outer(x, xs[1]);
    case "tensordot":
      return T.tensordot(x, xs[1], o.axes);
    case "kron":
      return T.kron(x, xs[1]);
    case "rot90":
      return T.rot90(x, o.k, o.axes ? { axes: o.axes } : undefined);
    case "diag":
      return T.diag(x, o);
    case "searchsorted":
      return T.searchsorted(x, xs[1], o);
    case "bucketize":
      return T.bucketize(x, xs[1], o);
    case "logspace":
      return T.logspace(o.start, o.stop, o.num, {
        base: o.base,
        dtype: c.dtype as "float32" | "float64",
      });
    case "linspace":
      return T.linspace(o.start, o.stop, o.num, { dtype: c.dtype });
  }
  throw new Error(`unknown op ${c.op}`);
}

const cases = fixture.cases as unknown as Case[];
for (const op of new Set(cases.map((c) => c.op))) {
  Deno.test(`PyTorch fixtures: ${op}`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(`${c.name} (${c.dtype})`, () => {
        // exact data movement, creation and masks; einsum and tensordot sum
        // in their own order (kron's gradient too)
        const tol = !["einsum", "tensordot", "kron"].includes(op)
          ? { atol: 0, rtol: 0 }
          : c.dtype === "float32"
          ? { atol: 1e-6, rtol: 1e-5 }
          : { atol: 1e-13, rtol: 1e-13 };
        const xs = c.inputs.map(toT);
        const out = call(c, xs);
        const want = Array.isArray(c.output) ? c.output : [c.output];
        const got = Array.isArray(out) ? out : [out];
        assert.equal(got.length, want.length);
        got.forEach((y, i) => {
          assert.equal(y.dtype, want[i].dtype);
          assertAllClose(y, toT(want[i]), { ...tol, msg: `output ${i}` });
        });
        if (c.cotangent === null) return;
        // each output's cotangent: the fixture's pattern in its shape
        const cotOf = (y: Tensor) =>
          T.reshape(
            T.mul(
              T.sub(
                T.remainder(
                  T.arange(y.shape.reduce((a, b) => a * b, 1), undefined, 1, {
                    dtype: c.dtype,
                  }),
                  5,
                ),
                2,
              ),
              0.5,
            ),
            [...y.shape],
          );
        assert.deepEqual(T.toArray(cotOf(got[0])), T.toArray(toT(c.cotangent)));
        const f = (...vs: Tensor[]) => {
          const ys = call(c, vs);
          return (Array.isArray(ys) ? ys : [ys]).reduce(
            (s: Tensor, y) => T.add(s, T.sum(T.mul(y, cotOf(y)))),
            T.zeros([], { dtype: c.dtype }),
          );
        };
        const grads = T.grad(f, { argnums: xs.map((_, i) => i) })(...xs);
        c.grads.forEach((g, i) =>
          assertAllClose(grads[i], toT(g), { ...tol, msg: `grad ${i}` })
        );
      });
    }
  });
}

Deno.test("PyTorch fixtures: linspace of up to 100003 values (torch on one thread)", () => {
  for (const c of fixture.linspaceLong) {
    const y = T.linspace(c.start, c.stop, c.num, { dtype: c.dtype as T.DType });
    const got = c.indices.map((i) => y.data[i]);
    assert.deepEqual(got, c.values, `${c.dtype} ${c.start} to ${c.stop}`);
  }
});

Deno.test("shape ops: identities (flip twice, roll back, tile and repeat agree, tril + triu)", () => {
  const x = T.reshape(
    T.arange(24, undefined, undefined, { dtype: "float64" }),
    [
      2,
      3,
      4,
    ],
  );
  const same = (a: Tensor, b: Tensor) =>
    assert.deepEqual(T.toArray(a), T.toArray(b));
  same(T.flip(T.flip(x, { axis: [0, 2] }), { axis: [2, 0] }), x);
  same(
    T.roll(T.roll(x, [5, -7], { axis: [1, 2] }), [-5, 7], { axis: [1, 2] }),
    x,
  );
  same(T.roll(x, 24), x);
  // torch's Tensor.repeat is tile; a single-axis tile of a [n, 1] column is repeat
  same(
    T.tile(T.reshape(x, [-1, 1]), [1, 3]),
    T.reshape(T.repeat(x, 3), [-1, 3]),
  );
  same(T.add(T.tril(x), T.triu(x, { k: 1 })), x);
  same(T.tril(x, { k: -3 }), T.zerosLike(x));
  same(T.einsum("ijk->kji", x), T.transpose(x));
  same(
    T.einsum("ijk,kl->ijl", x, T.eye(4, 2, { dtype: "float64" })),
    T.slice(x, [0, 0, 0], [2, 3, 2]),
  );
  // zero-size axes and zero counts
  assert.deepEqual(T.repeat(x, 0, { axis: 1 }).shape, [2, 0, 4]);
  assert.deepEqual(T.repeat(x, [0, 0, 0], { axis: 1 }).shape, [2, 0, 4]);
  assert.deepEqual(T.tile(x, [0, 1]).shape, [2, 0, 4]);
  assert.deepEqual(T.repeat(T.zeros([2, 0]), [], { axis: 1 }).shape, [2, 0]);
  assert.equal(T.toArray(T.einsum(",->", T.tensor(2), T.tensor(3))), 6);
  assert.deepEqual(T.roll(T.zeros([0, 3]), 2, { axis: 0 }).shape, [0, 3]);
  assert.deepEqual(T.flip(T.zeros([2, 0]), { axis: 0 }).shape, [2, 0]);
  assert.deepEqual(T.linspace(0, 1, 0).shape, [0]);
  assert.deepEqual(
    T.einsum("ij,jk->ik", T.zeros([2, 0]), T.zeros([0, 3])).shape,
    [2, 3],
  );
  // scalars: flip and tile as torch (axis 0 of a scalar is an error in roll and repeat)
  assert.equal(T.toArray(T.flip(T.tensor(3), { axis: 0 })), 3);
  assert.deepEqual(T.toArray(T.tile(T.tensor(3), [2])), [3, 3]);
  assert.deepEqual(T.toArray(T.repeat(T.tensor(3), 2)), [3, 3]);
  assert.deepEqual(T.toArray(T.roll(T.tensor(3), 1)), 3);
  // int32 stays int32
  const i = T.tensor([[1, 2], [3, 4]], { dtype: "int32" });
  for (
    const y of [
      T.flip(i, { axis: 0 }),
      T.roll(i, 1),
      T.tile(i, [2]),
      T.repeat(i, 2),
      T.tril(i),
      T.einsum("ij->j", i),
    ]
  ) {
    assert.equal(y.dtype, "int32");
  }
  // mixed dtypes promote, as jnp.einsum (torch.einsum requires one dtype)
  const f64 = T.tensor([1, 2], { dtype: "float64" });
  assert.equal(T.einsum("i,i->", T.tensor([3, 4]), f64).dtype, "float64");
  assert.equal(
    T.einsum("i,j->ij", T.tensor([3, 4], { dtype: "int32" }), f64).dtype,
    "float64",
  );
  // a NaN above the diagonal is dropped, as torch.tril drops it
  assert.deepEqual(T.toArray(T.tril(T.tensor([[1, NaN], [2, 3]]))), [[1, 0], [
    2,
    3,
  ]]);
});

Deno.test("shape ops: inputs are not written into; vmap and jit of flip", () => {
  const x = T.tensor([[1, 2, 3], [4, 5, 6]]);
  const before = [...x.data];
  T.flip(x, { axis: 1 });
  T.roll(x, 1);
  T.einsum("ij->ji", x);
  assert.deepEqual([...x.data], before);
  const perRow = T.vmap((r: Tensor) => T.flip(r, { axis: 0 }))(x);
  assert.deepEqual(T.toArray(perRow), [[3, 2, 1], [6, 5, 4]]);
  const perCol = T.vmap((c: Tensor) => T.flip(c, { axis: 0 }), { inAxes: 1 })(
    x,
  );
  assert.deepEqual(T.toArray(perCol), [[4, 1], [5, 2], [6, 3]]);
  assert.deepEqual(
    T.toArray(T.jit((v: Tensor) => T.flip(v, { axis: -1 }))(x)),
    [[3, 2, 1], [6, 5, 4]],
  );
});

Deno.test("errors: flip, roll, rot90, tile, repeat, tril, triu, meshgrid, eye, linspace", () => {
  const x = T.zeros([2, 3]);
  const cases: [() => unknown, RegExp][] = [
    [() => T.flip(x), /^Error: flip: options.axis is required/],
    [
      () => T.flip(x, { axis: 2 }),
      /^Error: flip: axis 2 is out of range for x with 2 dims \(shape \[2,3\]\)/,
    ],
    [
      () => T.flip(x, { axis: [0, -2] }),
      /^Error: flip: axis lists an axis twice: \[0,-2\]/,
    ],
    [
      () => T.flip(x, { dims: 0 } as never),
      /^Error: flip: unknown option "dims" \(known options: axis\)/,
    ],
    [
      () => T.roll(x, [1, 2]),
      /^Error: roll: without axis, shifts must be one integer/,
    ],
    [
      () => T.roll(x, [1, 2], { axis: 0 }),
      /^Error: roll: shifts and axis must have the same length, got shifts \[1,2\] and axis 0/,
    ],
    [
      () => T.roll(x, [], { axis: [] }),
      /^Error: roll: shifts must list at least one shift \(as torch.roll\), got \[\]/,
    ],
    [
      () => T.rot90(x, 1, { axes: [0, 2] }),
      /^Error: rot90: options.axes 2 is out of range for x with 2 dims/,
    ],
    [
      () => T.rot90(x, 1, { axes: [1, -1] }),
      /^Error: rot90: options.axes lists an axis twice: \[1,-1\]/,
    ],
    [
      () => T.rot90(T.zeros([3]), 1),
      /^Error: rot90: x must have at least 2 dims \(it turns in the plane of two axes\), got \[3\]/,
    ],
    [
      () => T.roll(x, 1.5, { axis: 0 }),
      /^Error: roll: shifts must be an integer or an array of integers, got 1.5/,
    ],
    [
      () => T.roll(T.tensor(3), 1, { axis: 0 }),
      /^Error: roll: x is a scalar \(shape \[\]\): it has no axis 0/,
    ],
    [
      () => T.repeat(T.tensor(3), 2, { axis: 0 }),
      /^Error: repeat: x is a scalar \(shape \[\]\): it has no axis 0/,
    ],
    [
      () => T.tile(x, [-1]),
      /^Error: tile: reps must be an integer >= 0 or an array of them, got \[-1\]/,
    ],
    [
      () => T.repeat(x, [1, 2], { axis: 1 }),
      /^Error: repeat: repeats must be one count or 3 \(one per element of axis 1 of x \[2,3\]\), got 2/,
    ],
    [
      () => T.tril(T.zeros([3])),
      /^Error: tril: x must have at least 2 dims \(the matrix is its last two\), got \[3\]/,
    ],
    [
      () => T.triu(x, { k: 0.5 }),
      /^Error: triu: k must be an integer, got 0.5/,
    ],
    [
      () => T.triu(x, { diagonal: 1 } as never),
      /^Error: triu: unknown option "diagonal" \(known options: k\)/,
    ],
    [() => T.meshgrid(), /^Error: meshgrid: needs at least one tensor/],
    [
      () => T.meshgrid(x),
      /^Error: meshgrid: tensors\[0\] must be 1-D \(or a scalar\), got \[2,3\]/,
    ],
    [
      () => T.meshgrid(T.zeros([2]), T.zeros([2], { dtype: "int32" })),
      /^Error: meshgrid: tensors must have one dtype, got float32 \(tensors\[0\]\) and int32 \(tensors\[1\]\)/,
    ],
    [
      () => T.meshgrid(T.zeros([2]), { indexing: "ji" } as never),
      /^Error: meshgrid: indexing must be "ij" or "xy", got "ji"/,
    ],
    [
      () => T.eye(-1),
      /^Error: eye: n and m must be integers >= 0, got -1 and -1/,
    ],
    [
      () => T.linspace(0, 1, 2.5),
      /^Error: linspace: num must be an integer >= 0, got 2.5/,
    ],
    [
      () => T.linspace(0, Infinity, 2),
      /^Error: linspace: start and stop must be finite numbers, got 0 and Infinity/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("errors: einsum names its spec", () => {
  const a = T.zeros([2, 3]), b = T.zeros([4, 5]);
  const cases: [() => unknown, RegExp][] = [
    [
      () => T.einsum("ij,jk", a, b),
      /^Error: einsum: the output must be explicit: write "->" and its letters, e.g. "ij,jk->ik" \(spec "ij,jk"\)/,
    ],
    [
      () => T.einsum("ij,jk->ik", a, b),
      /^Error: einsum: "j" is 3 in one place and 4 in another \(operand 1, \[4,5\]\) \(spec "ij,jk->ik"\)/,
    ],
    [
      () => T.einsum("ij->ik", a),
      /^Error: einsum: output letter "k" names no input axis \(spec "ij->ik"\)/,
    ],
    [
      () => T.einsum("ij->ii", a),
      /^Error: einsum: output letter "i" appears twice \(spec "ij->ii"\)/,
    ],
    [
      () => T.einsum("ijk->i", a),
      /^Error: einsum: operand 0 has 2 dims \[2,3\] but "ijk" names 3 \(spec "ijk->i"\)/,
    ],
    [
      () => T.einsum("ij,jk->ik", a),
      /^Error: einsum: it names 2 operand\(s\) but 1 came \(spec "ij,jk->ik"\)/,
    ],
    [
      () => T.einsum("i1->i", a),
      /^Error: einsum: axes must be named by letters a-z, A-Z \(and one "..." at most\) \(spec "i1->i"\)/,
    ],
    [
      () => T.einsum("...i...->i", a),
      /^Error: einsum: axes must be named by letters a-z, A-Z \(and one "..." at most\)/,
    ],
    [
      () => T.einsum("ii->i", a),
      /^Error: einsum: "i" is 2 in one place and 3 in another \(operand 0, \[2,3\]\) \(spec "ii->i"\)/,
    ],
    [
      () => T.einsum("...i,...i->...i", T.zeros([2, 3]), T.zeros([4, 3])),
      /^Error: einsum: an axis of ... is 2 in one place and 4 in another \(operand 1, \[4,3\]\)/,
    ],
    [
      () => T.einsum("ij->i->j", a),
      /^Error: einsum: "->" appears more than once \(spec "ij->i->j"\)/,
    ],
    [
      () => T.einsum("ij->i", [1, 2] as never),
      /^Error: einsum: operands\[0\] must be a Tensor, got an array of length 2/,
    ],
  ];
  for (const [f, re] of cases) assert.throws(f, re);
});

Deno.test("flatten and repeat of an empty x refuse an axis past 2^31 - 1, naming themselves (the error named reshape)", () => {
  const big = 2 ** 20;
  assertErrors("flatten", [[
    () => T.flatten(T.zeros([0, big, big, big])),
    /^flatten: x \[0,1048576,1048576,1048576\]: the result \[0,1152921504606847000\] would have an axis of 1152921504606847000, more than 2\^31 - 1$/,
  ]]);
  assertErrors("repeat", [[
    () => T.repeat(T.zeros([0, big]), big, { axis: 1 }),
    /^repeat: repeats 1048576 on x \[0,1048576\]: the result \[0,1099511627776\] would have an axis of 1099511627776/,
  ]]);
  // within the bounds they stay empty, as torch.flatten and repeat_interleave
  assert.deepEqual(T.flatten(T.zeros([0, big, 2 ** 10])).shape, [0, 2 ** 30]);
  assert.deepEqual(T.repeat(T.zeros([0, 2]), 3, { axis: 1 }).shape, [0, 6]);
});
