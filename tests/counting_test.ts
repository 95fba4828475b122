/**
 * ops/counting.ts: bincount, histc, unique, nonzero, argwhere, countNonzero,
 * kthvalue, mode, cummax, cummin against PyTorch 1.13
 * (tests/fixtures/counting.json, written by tests/fixtures/gen_counting.py:
 * values, the indices chosen among ties, gradients for a cotangent), and
 * against closed forms: NaN in unique, first-appearance order, eager
 * results under grad, the same bits under jit and vmap where the shapes are
 * static, a clear error under jit and vmap where they are not, and errors
 * for bad input.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";
import {
  type FixtureTensor as J,
  fixtureTensor as toT,
} from "./_fixture_cases.ts";
import fixture from "./fixtures/counting.json" with { type: "json" };

type Case = {
  op: string;
  name: string;
  // deno-lint-ignore no-explicit-any
  options: any;
  inputs: Record<string, J>;
  outputs: Record<string, J>;
  cotangent: J | null;
  grads: Record<string, J>;
};

const cases = fixture.cases as unknown as Case[];
const i32 = (v: number[], shape?: number[]) =>
  T.tensor(v, { dtype: "int32", shape: shape ?? [v.length] });

/** The library's outputs for a fixture case, by the fixture's output names. */
function call(
  c: Case,
  v: Record<string, Tensor>,
): Record<string, Tensor> {
  const o = c.options;
  switch (c.op) {
    case "kthvalue": {
      const { k, ...rest } = o;
      return T.kthvalue(v.x, k, rest);
    }
    case "mode":
      return T.mode(v.x, o);
    case "cummax":
      return T.cummax(v.x, o);
    case "cummin":
      return T.cummin(v.x, o);
    case "bincount":
      return {
        out: T.bincount(v.x, v.weights ? { ...o, weights: v.weights } : o),
      };
    case "histc":
      return { out: T.histc(v.x, o) };
    case "unique": {
      const r = T.unique(v.x, o);
      return "values" in r ? r as Record<string, Tensor> : { values: r };
    }
    case "nonzero":
      return { out: T.nonzero(v.x) };
    case "argwhere":
      return { out: T.argwhere(v.x) };
    case "countNonzero":
      return { out: T.countNonzero(v.x, o) };
  }
  throw new Error(`unknown op ${c.op}`);
}

/** The inputs of a case: int64 x of bincount comes as int32 already. */
const inputsOf = (c: Case) =>
  Object.fromEntries(
    Object.entries(c.inputs).map(([k, j]) => [k, toT(j)]),
  ) as Record<string, Tensor>;

Deno.test("PyTorch fixtures: counting.json is PyTorch 1.13's, with every op", () => {
  assert.match(fixture.torch, /^1\.13/);
  const ops = new Set(cases.map((c) => c.op));
  assert.deepEqual([...ops].sort(), [
    "argwhere",
    "bincount",
    "countNonzero",
    "cummax",
    "cummin",
    "histc",
    "kthvalue",
    "mode",
    "nonzero",
    "unique",
  ]);
  assert.ok(cases.length >= 500, `${cases.length} cases`);
});

for (const op of new Set(cases.map((c) => c.op))) {
  Deno.test(`PyTorch fixtures: ${op} (values and indices bit for bit, gradients)`, () => {
    let n = 0;
    for (const c of cases.filter((c) => c.op === op)) {
      const inputs = inputsOf(c);
      const before = Object.values(inputs).map((t) => t.data.slice());
      const outs = call(c, inputs);
      const msg = `${op} ${c.name}`;
      assert.deepEqual(
        Object.keys(outs).sort(),
        Object.keys(c.outputs).sort(),
        msg,
      );
      for (const [k, j] of Object.entries(c.outputs)) {
        sameBits(outs[k], toT(j), `${msg}: ${k}`);
      }
      // inputs never written
      Object.values(inputs).forEach((t, i) =>
        assert.deepEqual(t.data, before[i], msg)
      );
      const names = Object.keys(c.grads);
      if (names.length) {
        const f = (...xs: Tensor[]) => {
          const v = { ...inputs };
          names.forEach((nm, i) => (v[nm] = xs[i]));
          const r = call(c, v);
          return r.values ?? r.out;
        };
        const [, back] = T.vjp(f, ...names.map((nm) => inputs[nm]));
        const gs = back(toT(c.cotangent!));
        names.forEach((nm, i) =>
          assertAllClose(gs[i], toT(c.grads[nm]), {
            atol: 0,
            rtol: 0,
            msg: `${msg}: d${nm}`,
          })
        );
      }
      n++;
    }
    assert.ok(n > 0);
  });
}

Deno.test("mode and kthvalue: PyTorch's index among ties for rows past 16 values (its std::sort and quickselect)", () => {
  // the fixtures hold rows up to 100 values with 2 to 5 distinct ones; the
  // last occurrence (a stable sort's answer) differs from PyTorch's there
  const long = cases.filter((c) =>
    (c.op === "mode" || c.op === "kthvalue") &&
    /ties \[\d+, (\d+)\]/.test(c.name) &&
    Number(/ties \[\d+, (\d+)\]/.exec(c.name)![1]) > 16
  );
  assert.ok(long.length >= 20, `${long.length} cases`);
  let differsFromLast = 0;
  for (const c of long.filter((c) => c.op === "mode")) {
    const x = toT(c.inputs.x), idx = toT(c.outputs.indices);
    const n = x.shape[1];
    for (let r = 0; r < x.shape[0]; r++) {
      const row = Array.from(x.data.subarray(r * n, (r + 1) * n));
      const v = row[idx.data[r]];
      if (row.lastIndexOf(v) !== idx.data[r]) differsFromLast++;
    }
  }
  assert.ok(
    differsFromLast > 0,
    "no row where PyTorch's mode index is not the last occurrence",
  );
});

Deno.test("kthvalue, mode, cummax, cummin: the same bits under jit and vmap as eagerly (ties included)", () => {
  const c = cases.find((c) =>
    c.op === "mode" && c.name.startsWith("ties [8, 40]")
  )!;
  const x = toT(c.inputs.x);
  const fs: [string, (t: Tensor) => T.ValuesAndIndices][] = [
    ["kthvalue", (t) => T.kthvalue(t, 7, { axis: -1 })],
    ["mode", (t) => T.mode(t)],
    ["cummax", (t) => T.cummax(t, { axis: -1 })],
    ["cummin", (t) => T.cummin(t, { axis: 0 })],
  ];
  for (const [name, f] of fs) {
    const eager = f(x);
    const jitted = T.jit(f)(x);
    sameBits(jitted.values, eager.values, `${name} jit values`);
    sameBits(jitted.indices, eager.indices, `${name} jit indices`);
    if (name !== "cummin") { // rows mapped: each row is one example
      const mapped = T.vmap(f)(x);
      sameBits(mapped.values, eager.values, `${name} vmap values`);
      sameBits(mapped.indices, eager.indices, `${name} vmap indices`);
    }
    // mapped along the other axis: each column is one example
    const cols = T.vmap(f, { inAxes: 1, outAxes: 0 })(x);
    const each = Array.from(
      { length: x.shape[1] },
      (_, j) => f(T.reshape(T.slice(x, [0, j], [x.shape[0], j + 1]), [-1])),
    );
    sameBits(
      cols.values,
      T.stack(each.map((r) => r.values)),
      `${name} vmap axis 1 values`,
    );
    sameBits(
      cols.indices,
      T.stack(each.map((r) => r.indices)),
      `${name} vmap axis 1 indices`,
    );
  }
});

Deno.test("kthvalue, mode, cummax: gradients of every order (checkGrads) and the gradient's closed form", () => {
  const x = T.tensor([[0.3, -1.2, 2.5, 0.7], [1.1, 0.2, -0.4, 3.3]], {
    dtype: "float64",
  });
  T.checkGrads((t: Tensor) => T.kthvalue(T.tanh(t), 3).values, [x], {
    order: 2,
  });
  T.checkGrads((t: Tensor) => T.mul(T.cummax(t, { axis: 1 }).values, t), [x], {
    order: 2,
  });
  T.checkGrads((t: Tensor) => T.cummin(T.square(t), { axis: 0 }).values, [x], {
    order: 2,
  });
  // mode of distinct values is the smallest, its gradient one-hot there
  const g = T.grad((t: Tensor) => T.sum(T.mode(t, { axis: 1 }).values))(x);
  assert.deepEqual(T.toArray(g), [[0, 1, 0, 0], [0, 0, 1, 0]]);
});

Deno.test("bincount: the weights' gradient is the cotangent at x, under jit of the weights too", () => {
  const x = i32([2, 0, 2, 4]);
  const w = T.tensor([1, 2, 3, 4], { dtype: "float64" });
  const ct = T.tensor([10, 20, 30, 40, 50], { dtype: "float64" });
  const f = (v: Tensor) => T.sum(T.mul(T.bincount(x, { weights: v }), ct));
  assert.deepEqual(T.toArray(T.grad(f)(w)), [30, 10, 30, 50]);
  // x closed over (not traced): the length is known, so jit applies
  assert.deepEqual(T.toArray(T.jit(T.grad(f))(w)), [30, 10, 30, 50]);
  T.checkGrads((v: Tensor) => T.bincount(x, { weights: T.square(v) }), [w], {
    order: 2,
  });
});

Deno.test("unique, nonzero, argwhere, bincount: an error under jit and vmap that names the op and why; eager under grad", () => {
  const x = T.tensor([[1, 0], [3, 1]]);
  const xi = i32([1, 0, 3]);
  const ops: [string, (t: Tensor) => unknown, Tensor][] = [
    ["unique", (t) => T.unique(t), x],
    ["nonzero", (t) => T.nonzero(t), x],
    ["argwhere", (t) => T.argwhere(t), x],
    ["bincount", (t) => T.bincount(t), xi],
  ];
  for (const [name, f, arg] of ops) {
    assert.throws(
      () => T.jit(f as (t: Tensor) => Tensor)(arg),
      (e: Error) => {
        assert.equal(e.constructor, Error);
        assert.match(
          e.message,
          new RegExp(
            `^${name}: cannot run under jit: .*depends on the values of x`,
          ),
        );
        return true;
      },
    );
    assert.throws(
      () => T.vmap(f as (t: Tensor) => Tensor)(T.stack([arg, arg])),
      (e: Error) => {
        assert.equal(e.constructor, Error);
        assert.match(
          e.message,
          new RegExp(`^${name}: cannot run under vmap: .*differ per example`),
        );
        return true;
      },
    );
  }
  // under grad: the values are known (the results have no gradient)
  const g = T.grad((t: Tensor) => {
    const u = T.unique(t);
    const nz = T.nonzero(t);
    assert.deepEqual(T.toArray(u), [0, 1, 3]);
    assert.deepEqual(T.toArray(nz), [[0, 0], [1, 0], [1, 1]]);
    return T.sum(T.mul(t, t));
  })(x);
  assert.deepEqual(T.toArray(g), [[2, 0], [6, 2]]);
});

Deno.test("histc and countNonzero: compositions, the same bits under jit and vmap", () => {
  const x = T.tensor([[0.1, 2.5, -1, 0, 7], [3, 3, 3, NaN, 0], [
    5,
    1,
    2,
    2,
    9,
  ]]);
  const h = (t: Tensor) => T.histc(t, { bins: 6 });
  const rows = [0, 1, 2].map((r) => T.slice(x, [r], [r + 1]));
  // (row 1's range would come from a NaN: an error eagerly, unspecified
  // counts when traced)
  const mapped = T.vmap(h)(x);
  for (const r of [0, 2]) {
    sameBits(
      T.slice(mapped, [r], [r + 1]),
      T.reshape(h(rows[r]), [1, 6]),
      `row ${r}`,
    );
  }
  const given = (t: Tensor) => T.histc(t, { bins: 4, min: 0, max: 4 });
  sameBits(T.jit(given)(x), given(x), "jit histc");
  sameBits(T.jit(h)(rows[2]), h(rows[2]), "jit histc, range from x");
  // closed form: 0.1 0 0 NaN | 1 | 2.5 2 2 | 3 3 3 in [0, 4] with 4 bins
  // (NaN in the first, as PyTorch 1.13's); -1, 5, 7, 9 out
  assert.deepEqual(T.toArray(given(x)), [4, 1, 3, 3]);
  const c = (t: Tensor) => T.countNonzero(t, { axis: 1 });
  sameBits(T.jit(c)(x), c(x), "jit countNonzero");
  sameBits(
    T.vmap((t: Tensor) => T.countNonzero(t))(x),
    c(x),
    "vmap countNonzero",
  );
  assert.deepEqual(T.toArray(c(x)), [4, 4, 5]);
  // no gradient: the counts are constants
  const g = T.grad((t: Tensor) => T.sum(T.histc(t, { bins: 3 })))(rows[0]);
  assert.deepEqual(T.toArray(g), [[0, 0, 0, 0, 0]]);
});

Deno.test("unique: NaN sorted last, each NaN its own value; sorted: false keeps the order of first appearance", () => {
  const x = T.tensor([2, NaN, 1, NaN, 2]);
  const r = T.unique(x, { returnInverse: true, returnCounts: true });
  assert.deepEqual(T.toArray(r.values), [1, 2, NaN, NaN]);
  assert.deepEqual(T.toArray(r.inverse), [1, 2, 0, 3, 1]);
  assert.deepEqual(T.toArray(r.counts), [1, 2, 1, 1]);
  const u = T.unique(x, {
    sorted: false,
    returnInverse: true,
    returnCounts: true,
  });
  assert.deepEqual(T.toArray(u.values), [2, NaN, 1, NaN]);
  assert.deepEqual(T.toArray(u.inverse), [0, 1, 2, 3, 0]);
  assert.deepEqual(T.toArray(u.counts), [2, 1, 1, 1]);
  // slices along an axis, first appearance; their inverse and counts
  const m = i32([3, 1, 0, 0, 3, 1, 0, 2], [4, 2]);
  const s = T.unique(m, {
    axis: 0,
    sorted: false,
    returnInverse: true,
    returnCounts: true,
  });
  assert.deepEqual(T.toArray(s.values), [[3, 1], [0, 0], [0, 2]]);
  assert.deepEqual(T.toArray(s.inverse), [0, 1, 0, 2]);
  assert.deepEqual(T.toArray(s.counts), [2, 1, 1]);
  const t = T.unique(m, { axis: 0 });
  assert.deepEqual(T.toArray(t), [[0, 0], [0, 2], [3, 1]]);
  assert.equal(t.dtype, "int32");
  // a scalar: one value; its inverse a scalar
  const sc = T.unique(T.tensor(4), { returnInverse: true });
  assert.deepEqual(sc.values.shape, [1]);
  assert.deepEqual(sc.inverse.shape, []);
});

Deno.test("bincount: a length past 2^26 set by max(x), or past 2^31 - 1 by minlength, is refused before any allocation", () => {
  assertErrors("bincount", [
    [
      () => T.bincount(i32([0, 2e9])),
      /max\(x\) = 2000000000: the result \[2000000001\] would have 2000000001 elements, more than 2\^26/,
    ],
    [() => T.bincount(i32([2 ** 31 - 1])), /more than 2\^26/],
    [
      () => T.bincount(i32([1]), { minlength: 2 ** 31 }),
      /minlength must be an integer in \[0, 2147483647\]/,
    ],
  ]);
  // a long result that minlength asks for is made
  assert.equal(T.bincount(i32([3]), { minlength: 2 ** 20 }).shape[0], 2 ** 20);
});

Deno.test("errors: bad input to the counting ops names the op, the argument, what was expected and what came", () => {
  const x = T.tensor([1, 2, 3]);
  assertErrors("bincount", [
    [
      () => T.bincount(x),
      /x must be a 1-D int32 tensor.*got Tensor float32 \[3\]/,
    ],
    [() => T.bincount(i32([1, 2], [1, 2])), /1-D int32.*\[1,2\]/],
    [
      () => T.bincount(i32([1, -2])),
      /non-negative integers, got -2 at index 1/,
    ],
    [
      () => T.bincount(i32([1]), { minlength: -1 }),
      /minlength must be an integer in \[0/,
    ],
    [
      () => T.bincount(i32([1]), { weights: x }),
      /weights must be 1-D with x's length 1, got Tensor float32 \[3\]/,
    ],
    [
      () => T.bincount(i32([1]), { weights: [1] as unknown as Tensor }),
      /weights must be a Tensor/,
    ],
    [() => T.bincount(i32([1]), { size: 3 } as never), /unknown option "size"/],
  ]);
  assertErrors("histc", [
    [() => T.histc(i32([1])), /x must be float32 or float64.*int32/],
    [() => T.histc(x, { bins: 0 }), /bins must be an integer in \[1,/],
    [() => T.histc(x, { bins: 2.5 }), /bins must be an integer/],
    [
      () => T.histc(x, { min: 3, max: 1 }),
      /max must be at least options.min, got min 3 and max 1/,
    ],
    [() => T.histc(x, { min: NaN }), /min must be a finite number, got NaN/],
    [
      () => T.histc(T.tensor([1, NaN])),
      /range taken from x, \[NaN, NaN\], is not finite/,
    ],
    [() => T.histc(T.tensor([1, Infinity])), /not finite/],
    [() => T.histc(x, { bins: 2 ** 31 }), /bins must be an integer/],
  ]);
  assertErrors("unique", [
    [
      () => T.unique(x, { axis: 1 }),
      /options.axis 1 is out of range for x with 1 dims/,
    ],
    [() => T.unique(x, { sorted: 1 } as never), /sorted must be a boolean/],
    [
      () => T.unique(x, { returnCounts: "yes" } as never),
      /returnCounts must be a boolean/,
    ],
    [() => T.unique(T.zeros([3, 0]), { axis: 0 }), /no values along axis 1/],
    [() => T.unique(null as unknown as Tensor), /x must be a Tensor/],
  ]);
  assertErrors("nonzero", [[
    () => T.nonzero(3 as unknown as Tensor),
    /x must be a Tensor, got number 3/,
  ]]);
  assertErrors("argwhere", [[
    () => T.argwhere({} as Tensor),
    /x must be a Tensor/,
  ]]);
  assertErrors("countNonzero", [
    [() => T.countNonzero(x, { axis: 2 }), /axis/],
    [
      () => T.countNonzero(x, { keepDims: true } as never),
      /unknown option "keepDims"/,
    ],
  ]);
  assertErrors("kthvalue", [
    [
      () => T.kthvalue(x, 0),
      /k \(axis 0 of x \[3\] has 3\) must be an integer in \[1, 3\], got 0/,
    ],
    [() => T.kthvalue(x, 4), /must be an integer in \[1, 3\], got 4/],
    [() => T.kthvalue(x, 1.5), /got 1.5/],
    [() => T.kthvalue(T.zeros([2, 0]), 1), /in \[1, 0\]/],
    [() => T.kthvalue(x, 1, { axis: 1 }), /axis/],
    [
      () => T.kthvalue(x, 1, { keepDims: 1 } as never),
      /keepDims must be a boolean/,
    ],
  ]);
  assertErrors("mode", [
    [() => T.mode(T.zeros([2, 0])), /x \[2,0\] has no values along axis 1/],
    [() => T.mode(x, { dim: 0 } as never), /unknown option "dim"/],
  ]);
  assertErrors("cummax", [
    [() => T.cummax(x, undefined as never), /options.axis is required/],
    [() => T.cummax(x, { axis: 3 }), /axis/],
    [
      () => T.cummax(x, { axis: 0, keepDims: true } as never),
      /unknown option "keepDims"/,
    ],
  ]);
  assertErrors("cummin", [[
    () => T.cummin(x, {} as never),
    /options.axis is required/,
  ]]);
});

Deno.test("kthvalue, mode: keepDims, scalars, and int32 values with int32 indices", () => {
  const x = i32([5, 1, 4, 1, 4, 4], [2, 3]);
  const k = T.kthvalue(x, 1, { axis: 0, keepDims: true });
  assert.deepEqual(k.values.shape, [1, 3]);
  assert.equal(k.values.dtype, "int32");
  assert.equal(k.indices.dtype, "int32");
  assert.deepEqual(T.toArray(k.values), [[1, 1, 4]]);
  const s = T.mode(T.tensor(2.5), { keepDims: true });
  assert.deepEqual(s.values.shape, []);
  assert.equal(T.toArray(s.values), 2.5);
  assert.equal(T.toArray(T.cummax(T.tensor(2), { axis: -1 }).indices), 0);
});
