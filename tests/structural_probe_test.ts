// The structural and shape ops against PyTorch 1.13 (a probe): values,
// gradients and double backward in float64, int32 values and dtype, empty
// tensors and scalars, 110 random geometries (tests/fixtures/gen_structural_probe.py writes
// structural_probe.json); vmap and jit of every case give the eager bits.
// The tests after the table pin what the probe found and fixed; each failed
// before its fix.
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, assertErrors, sameBits } from "./_helpers.ts";
import { type FixtureTensor, fixtureTensor } from "./_fixture_cases.ts";

type Case = {
  name: string;
  inputs: FixtureTensor[];
  outputs: FixtureTensor[];
  cotangents: FixtureTensor[];
  grads: FixtureTensor[];
  directions: FixtureTensor[];
  hvps: FixtureTensor[];
  intInputs: FixtureTensor[];
  intOutputs: FixtureTensor[];
  /** A random geometry's op and options (the library's names). */
  // deno-lint-ignore no-explicit-any
  params?: { op: string } & Record<string, any>;
};

const fixture = JSON.parse(
  Deno.readTextFileSync(
    new URL("./fixtures/structural_probe.json", import.meta.url),
  ),
) as { cases: Case[] };

type Op = (...xs: Tensor[]) => Tensor | Tensor[];
const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });

/** The library's call of each fixture case (the torch call is in the generator, by name). */
const OPS: Record<string, Op> = {
  "pad constant 1-D": (x) => T.pad(x, [[2, 3]], { value: 1.5 }),
  "pad constant 2-D both axes": (x) => T.pad(x, [[1, 0], [2, 4]]),
  "pad constant 3-D": (x) => T.pad(x, [[0, 1], [3, 3], [1, 0]], { value: -2 }),
  "pad constant empty axis": (x) => T.pad(x, [[1, 2], [1, 1]], { value: 7 }),
  "pad constant wider than x": (x) => T.pad(x, [[9, 5]]),
  "pad constant number": (x) => T.pad(x, 2),
  "pad reflect 1-D": (x) => T.pad(x, [[4, 2]], { mode: "reflect" }),
  "pad reflect last axis of 3-D": (x) =>
    T.pad(x, [[0, 0], [0, 0], [3, 4]], { mode: "reflect" }),
  "pad reflect 2-D": (x) =>
    T.pad(x, [[0, 0], [2, 1], [3, 0]], { mode: "reflect" }),
  "pad reflect 3-D": (x) =>
    T.pad(x, [[0, 0], [2, 1], [1, 2], [3, 3]], { mode: "reflect" }),
  "pad replicate 1-D": (x) => T.pad(x, [[2, 1]], { mode: "replicate" }),
  "pad replicate wider than x": (x) =>
    T.pad(x, [[0, 0], [7, 5]], { mode: "replicate" }),
  "pad replicate 2-D": (x) =>
    T.pad(x, [[0, 0], [3, 1], [1, 4]], { mode: "replicate" }),
  "pad replicate 3-D": (x) =>
    T.pad(x, [[0, 0], [1, 2], [2, 0], [1, 1]], { mode: "replicate" }),
  "pad replicate size-1 axis": (x) =>
    T.pad(x, [[0, 0], [3, 2]], { mode: "replicate" }),
  "pad circular 1-D": (x) => T.pad(x, [[3, 2]], { mode: "circular" }),
  "pad circular width = size": (x) =>
    T.pad(x, [[0, 0], [3, 3]], { mode: "circular" }),
  "pad circular 2-D": (x) =>
    T.pad(x, [[0, 0], [2, 3], [4, 1]], { mode: "circular" }),
  "pad circular 3-D": (x) =>
    T.pad(x, [[0, 0], [2, 1], [1, 3], [0, 2]], { mode: "circular" }),
  "pad reflect leading axis": (x) =>
    T.pad(x, [[3, 1], [0, 0]], { mode: "reflect" }),
  "pad replicate middle axis": (x) =>
    T.pad(x, [[0, 0], [4, 1], [0, 0]], { mode: "replicate" }),
  "pad circular first and last axes": (x) =>
    T.pad(x, [[1, 2], [0, 0], [2, 4]], { mode: "circular" }),
  "pad reflect every axis": (x) =>
    T.pad(x, [[2, 2], [1, 3]], { mode: "reflect" }),
  "concat axis 0": (a, b, c) => T.concat([a, b, c], 0),
  "concat axis -1": (a, b) => T.concat([a, b], -1),
  "concat with an empty piece": (a, b, c) => T.concat([a, b, c], 1),
  "stack axis 0": (a, b) => T.stack([a, b], 0),
  "stack axis -1": (a, b, c) => T.stack([a, b, c], -1),
  "stack scalars": (a, b) => T.stack([a, b]),
  "stack empty": (a, b) => T.stack([a, b], 1),
  "split sections": (x) => T.split(x, 3),
  "split indices": (x) => T.split(x, [2, 5], { axis: 1 }),
  "split indices negative and past the end": (x) => T.split(x, [-3, 9]),
  "split indices decreasing": (x) => T.split(x, [4, 2]),
  "chunk uneven": (x) => T.chunk(x, 3),
  "chunk fewer pieces": (x) => T.chunk(x, 4),
  "chunk more than size": (x) => T.chunk(x, 5, { axis: -1 }),
  "chunk empty axis": (x) => T.chunk(x, 3),
  "tile 1-D": (x) => T.tile(x, [2]),
  "tile more reps than dims": (x) => T.tile(x, [2, 1, 3]),
  "tile fewer reps than dims": (x) => T.tile(x, 2),
  "tile zero": (x) => T.tile(x, [0, 2]),
  "tile scalar": (x) => T.tile(x, [2, 3]),
  "repeat flat": (x) => T.repeat(x, 2),
  "repeat per element": (x) => T.repeat(x, i32([2, 0, 3]), { axis: 0 }),
  "repeat axis -1": (x) => T.repeat(x, 3, { axis: -1 }),
  "repeat zero": (x) => T.repeat(x, 0, { axis: 1 }),
  "repeat scalar": (x) => T.repeat(x, 3),
  "broadcastTo new axes": (x) => T.broadcastTo(x, [2, 4, 3]),
  "broadcastTo size-1 axes": (x) => T.broadcastTo(x, [2, 3, 4]),
  "broadcastTo scalar": (x) => T.broadcastTo(x, [2, 3]),
  "broadcastTo zero": (x) => T.broadcastTo(x, [0, 3]),
  "roll flat": (x) => T.roll(x, 4),
  "roll one axis negative": (x) => T.roll(x, -5, { axis: 1 }),
  "roll two axes": (x) => T.roll(x, [2, -1], { axis: [0, 1] }),
  "roll axis twice": (x) => T.roll(x, [2, 2], { axis: [0, 0] }),
  "roll scalar": (x) => T.roll(x, 3),
  "roll empty": (x) => T.roll(x, 1, { axis: 0 }),
  "flip one axis": (x) => T.flip(x, { axis: 1 }),
  "flip all axes": (x) => T.flip(x, { axis: [0, -1, 1] }),
  "flip scalar": (x) => T.flip(x, { axis: 0 }),
  "rot90 k=1": (x) => T.rot90(x, 1),
  "rot90 k=2": (x) => T.rot90(x, 2),
  "rot90 k=-1 axes 2, 0": (x) => T.rot90(x, -1, { axes: [2, 0] }),
  "rot90 k=7": (x) => T.rot90(x, 7),
  "tril": (x) => T.tril(x),
  "tril k=-1 batched": (x) => T.tril(x, { k: -1 }),
  "tril k past the corner": (x) => T.tril(x, { k: 5 }),
  "triu k=1": (x) => T.triu(x, { k: 1 }),
  "triu k=-2": (x) => T.triu(x, { k: -2 }),
  "triu empty": (x) => T.triu(x),
  "diag of a vector": (x) => T.diag(x),
  "diag of a vector k=2": (x) => T.diag(x, { k: 2 }),
  "diag of a vector k=-1": (x) => T.diag(x, { k: -1 }),
  "diag of a matrix k=1": (x) => T.diag(x, { k: 1 }),
  "diag of a matrix k=-2": (x) => T.diag(x, { k: -2 }),
  "diag of an empty vector": (x) => T.diag(x),
  "diagonal": (x) => T.diagonal(x),
  "diagonal offset past the edge": (x) => T.diagonal(x, { offset: 5 }),
  "diagonal axes 2, 0 offset -1": (x) =>
    T.diagonal(x, { offset: -1, axis1: 2, axis2: 0 }),
  "diagonal axes -1, -2 offset 1": (x) =>
    T.diagonal(x, { offset: 1, axis1: -1, axis2: -2 }),
  "trace": (x) => T.trace(x),
  "moveaxis one": (x) => T.moveaxis(x, 0, -1),
  "moveaxis two": (x) => T.moveaxis(x, [3, 0], [1, 2]),
  "swapaxes": (x) => T.swapaxes(x, 0, 2),
  "transpose perm": (x) => T.transpose(x, [1, 2, 0]),
  "transpose reversed": (x) => T.transpose(x),
  "transpose with size-1 axes": (x) => T.transpose(x, [2, 3, 0, 1]),
  "flatten default": (x) => T.flatten(x),
  "flatten middle": (x) => T.flatten(x, 1, 2),
  "flatten scalar": (x) => T.flatten(x, 0),
  "flatten empty": (x) => T.flatten(x, 0),
  "squeeze all": (x) => T.squeeze(x),
  "squeeze one": (x) => T.squeeze(x, -1),
  "expandDims": (x) => T.expandDims(x, 1),
  "expandDims -1": (x) => T.expandDims(x, -1),
  "expandDims scalar": (x) => T.expandDims(x, 0),
  "reshape -1": (x) => T.reshape(x, [3, -1]),
  "reshape empty -1": (x) => T.reshape(x, [-1]),
  "reshape scalar": (x) => T.reshape(x, [1, 1]),
  "slice negative": (x) => T.slice(x, [-3, 1], [-1, 5]),
  "slice clamped": (x) => T.slice(x, [-9, 3], [2, 99]),
  "slice empty": (x) => T.slice(x, [3], [1]),
  "meshgrid ij": (a, b) => T.meshgrid(a, b),
  "meshgrid xy": (a, b) => T.meshgrid(a, b, { indexing: "xy" }),
  "meshgrid xy three": (a, b, c) => T.meshgrid(a, b, c, { indexing: "xy" }),
  "meshgrid one": (a) => T.meshgrid(a, { indexing: "xy" }),
  "meshgrid empty": (a, b) => T.meshgrid(a, b),
  "diff": (x) => T.diff(x),
  "diff n=2 axis 0": (x) => T.diff(x, { n: 2, axis: 0 }),
  "diff n past the size": (x) => T.diff(x, { n: 5 }),
  "outer": (a, b) => T.outer(a, b),
  "sum axes keepDims": (x) => T.sum(x, { axis: [0, 2], keepDims: true }),
  "sum all": (x) => T.sum(x),
};

/** The library's call of a random geometry, from its parameters. */
// deno-lint-ignore no-explicit-any
function fromParams({ op, ...p }: { op: string } & Record<string, any>): Op {
  switch (op) {
    case "pad":
      return (x) =>
        T.pad(
          x,
          p.widths,
          p.mode === "constant" ? { value: p.value } : { mode: p.mode },
        );
    case "roll":
      return (x) => T.roll(x, p.shifts, { axis: p.axis });
    case "diagonal":
      return (x) => T.diagonal(x, p as T.DiagonalOptions);
    case "tile":
      return (x) => T.tile(x, p.reps);
    case "repeat":
      return (x) => T.repeat(x, p.repeats, { axis: p.axis });
    case "rot90":
      return (x) => T.rot90(x, p.k, { axes: p.axes });
    case "moveaxis":
      return (x) => T.moveaxis(x, p.source, p.destination);
    case "split":
      return (x) => T.split(x, p.indices, { axis: p.axis });
    case "chunk":
      return (x) => T.chunk(x, p.chunks, { axis: p.axis });
    case "tril":
      return (x) => T.tril(x, { k: p.k });
    case "triu":
      return (x) => T.triu(x, { k: p.k });
  }
  throw new Error(`no op ${op}`);
}
for (const c of fixture.cases) if (c.params) OPS[c.name] = fromParams(c.params);

const list = (y: Tensor | Tensor[]) => (Array.isArray(y) ? y : [y]);
const tensors = (js: FixtureTensor[]) => js.map(fixtureTensor);

/** sum_i sum(c_i * y_i^3): a loss whose gradient and Hessian go through the op's rules. */
const lossOf = (op: Op, cots: Tensor[]) => (xs: Tensor[]) =>
  list(op(...xs)).reduce(
    (s: Tensor, y, i) => T.add(s, T.sum(T.mul(cots[i], T.pow(y, 3)))),
    T.tensor(0, { dtype: "float64" }),
  );

Deno.test("the fixture covers every case of the table and no other", () => {
  assert.deepEqual(
    fixture.cases.map((c) => c.name).sort(),
    Object.keys(OPS).sort(),
  );
  assert.equal(fixture.cases.filter((c) => c.params).length, 110);
});

for (const c of fixture.cases) {
  const op = OPS[c.name];
  Deno.test(`PyTorch: ${c.name}: values, gradients, double backward (float64), int32`, () => {
    const xs = tensors(c.inputs), cots = tensors(c.cotangents);
    const ys = list(op(...xs));
    assert.equal(ys.length, c.outputs.length, "number of outputs");
    // (copies are exact; a sum may round in another order)
    const tol = /^(sum|trace)/.test(c.name) ? 1e-14 : 0;
    ys.forEach((y, i) => {
      assert.equal(y.dtype, "float64");
      assertAllClose(y, fixtureTensor(c.outputs[i]), {
        atol: tol,
        rtol: tol,
        msg: `output ${i}`,
      });
    });
    const loss = lossOf(op, cots);
    const g = T.grad(loss)(xs) as Tensor[];
    g.forEach((gi, i) =>
      assertAllClose(gi, fixtureTensor(c.grads[i]), {
        atol: 1e-12,
        rtol: 1e-12,
        msg: `grad ${i}`,
      })
    );
    const dirs = tensors(c.directions);
    const hvp = T.grad((v: Tensor[]) =>
      (T.grad(loss)(v) as Tensor[]).reduce(
        (s: Tensor, gi, i) => T.add(s, T.sum(T.mul(gi, dirs[i]))),
        T.tensor(0, { dtype: "float64" }),
      )
    )(xs) as Tensor[];
    hvp.forEach((h, i) =>
      assertAllClose(h, fixtureTensor(c.hvps[i]), {
        atol: 1e-12,
        rtol: 1e-12,
        msg: `double backward ${i}`,
      })
    );
    const yi = list(op(...tensors(c.intInputs)));
    yi.forEach((y, i) => {
      assert.equal(y.dtype, "int32", `int32 output ${i}`);
      assertAllClose(y, fixtureTensor(c.intOutputs[i]), {
        atol: 0,
        rtol: 0,
        msg: `int32 output ${i}`,
      });
    });
  });
}

/** `x` with each element shifted by k (a different example per k, same shape). */
const variant = (x: Tensor, k: number) => T.add(x, k * 0.25);

Deno.test("vmap (inAxes 0, 1, null, nested) and jit of every case give the eager bits", () => {
  for (const c of fixture.cases) {
    const op = OPS[c.name];
    const xs = tensors(c.inputs);
    const eager = (k: number) => list(op(...xs.map((x) => variant(x, k))));
    const B = 3;
    const want = Array.from({ length: B }, (_, k) => eager(k));
    // inAxes 0
    const b0 = xs.map((x) => T.stack(want.map((_, k) => variant(x, k)), 0));
    const got0 = list(T.vmap(op)(...b0));
    got0.forEach((y, i) =>
      want.forEach((w, k) =>
        sameBits(
          T.squeeze(T.slice(y, [k], [k + 1]), 0),
          w[i],
          `${c.name} vmap 0`,
        )
      )
    );
    // inAxes 1 (where the example has an axis)
    if (xs.every((x) => x.shape.length >= 1)) {
      const b1 = xs.map((x) => T.stack(want.map((_, k) => variant(x, k)), 1));
      const got1 = list(T.vmap(op, { inAxes: 1 })(...b1));
      got1.forEach((y, i) =>
        want.forEach((w, k) =>
          sameBits(
            T.squeeze(T.slice(y, [k], [k + 1]), 0),
            w[i],
            `${c.name} vmap 1`,
          )
        )
      );
    }
    // inAxes null for the first input (cases of several inputs)
    if (xs.length > 1) {
      const inAxes = xs.map((_, i) => (i === 0 ? null : 0));
      const bn = xs.map((x, i) =>
        i === 0 ? x : T.stack(want.map((_, k) => variant(x, k)), 0)
      );
      const gotn = list(T.vmap(op, { inAxes })(...bn));
      gotn.forEach((y, i) =>
        want.forEach((_, k) => {
          const w = list(
            op(...xs.map((x, j) => (j === 0 ? x : variant(x, k)))),
          );
          sameBits(
            T.squeeze(T.slice(y, [k], [k + 1]), 0),
            w[i],
            `${c.name} vmap null`,
          );
        })
      );
    }
    // nested: the outer batch on axis 1 of a [2, B, ...] stack, the inner on 0
    const nested = xs.map((x) =>
      T.stack(
        [0, 1].map((o) =>
          T.stack(want.map((_, k) => variant(x, k + 4 * o)), 0)
        ),
        1,
      )
    );
    const gotN = list(T.vmap(T.vmap(op), { inAxes: 1 })(...nested));
    gotN.forEach((y, i) =>
      [0, 1].forEach((o) =>
        want.forEach((_, k) => {
          const w = eager(k + 4 * o)[i];
          // (the outer batch comes out first: y is [2, B, ...])
          const e = T.squeeze(T.slice(y, [o, k], [o + 1, k + 1]), [0, 1]);
          sameBits(e, w, `${c.name} nested vmap`);
        })
      )
    );
    // jit, twice (the trace, then a replay)
    const jf = T.jit(op);
    for (let r = 0; r < 2; r++) {
      list(jf(...xs)).forEach((y, i) =>
        sameBits(y, want[0][i], `${c.name} jit ${r}`)
      );
    }
    // int32 through jit
    const xi = tensors(c.intInputs);
    list(T.jit(op)(...xi)).forEach((y, i) =>
      sameBits(y, list(op(...xi))[i], `${c.name} jit int32`)
    );
  }
});

Deno.test("vmap and jit of every case's gradient match the eager gradient", () => {
  for (const c of fixture.cases) {
    const op = OPS[c.name];
    const xs = tensors(c.inputs), cots = tensors(c.cotangents);
    const gradOf = T.grad(lossOf(op, cots));
    const want = [0, 1].map((k) =>
      gradOf(xs.map((x) => variant(x, k))) as Tensor[]
    );
    const batched = T.vmap((v: Tensor[]) => gradOf(v))(
      xs.map((x) => T.stack([0, 1].map((k) => variant(x, k)), 0)),
    ) as Tensor[];
    batched.forEach((g, i) =>
      [0, 1].forEach((k) =>
        assertAllClose(T.squeeze(T.slice(g, [k], [k + 1]), 0), want[k][i], {
          atol: 1e-12,
          rtol: 1e-12,
          msg: `${c.name} vmap(grad) ${i}`,
        })
      )
    );
    (T.jit(gradOf)(xs) as Tensor[]).forEach((g, i) =>
      sameBits(g, want[0][i], `${c.name} jit(grad) ${i}`)
    );
  }
});

Deno.test("every case in float32 keeps float32 and gives the float64 values rounded (copies are exact)", () => {
  for (const c of fixture.cases) {
    const xs = tensors(c.inputs).map((x) => T.astype(x, "float32"));
    list(OPS[c.name](...xs)).forEach((y, i) => {
      assert.equal(y.dtype, "float32", c.name);
      // the float64 case on the rounded inputs, rounded: a copy's exact bits
      const want = list(OPS[c.name](...xs.map((x) =>
        T.astype(x, "float64")
      )))[i];
      const tol = /^(sum|trace)/.test(c.name) ? 1e-6 : 0;
      assertAllClose(y, Array.from(Float32Array.from(want.data)), {
        atol: tol,
        rtol: tol,
        msg: c.name,
      });
    });
  }
});

// ---------------------------------------------------------------------------
// what the probe found and fixed

Deno.test("diag, pad, repeat and meshgrid refuse a result past 2^31 - 1 elements before any work (diag with k = 2^31 ran out of memory)", () => {
  const x = T.tensor([1, 2]);
  const past = /would have \d+ elements, more than 2\^31 - 1$/;
  assertErrors("diag", [[
    () => T.diag(x, { k: 2 ** 20 }),
    /^diag: k 1048576 on x \[2\]: the result \[1048578,1048578\] would have/,
  ], [() => T.diag(x, { k: -(2 ** 31) }), past]]);
  assertErrors("pad", [
    [
      () => T.pad(x, [[0, 2 ** 40]]),
      /^pad: widths \[\[0,1099511627776\]\]: the result \[1099511627778\]/,
    ],
    [() => T.pad(x, [[2 ** 40, 0]], { mode: "replicate" }), past],
    [() => T.pad(T.zeros([2 ** 20, 1]), [[0, 0], [0, 2 ** 20]]), past],
    // no elements, but a size past the kernels' index range (as checkShape)
    [
      () => T.pad(T.zeros([0, 2]), [[0, 0], [0, 2 ** 31]]),
      /^pad: the result's shape\[1\] must be at most 2147483647 \(2\^31 - 1\), got 2147483650$/,
    ],
  ]);
  assertErrors("meshgrid", [[
    () => T.meshgrid(T.zeros([2 ** 20]), T.zeros([2 ** 20])),
    /^meshgrid: tensors of sizes \[1048576,1048576\]: each result \[1048576,1048576\] would have/,
  ]]);
});

Deno.test("pad of an int32 x takes a value int32 holds, as torch (1e10 wrapped to 1410065408 and NaN became 0)", () => {
  const x = T.tensor([0, 1, 2], { dtype: "int32" });
  // F.pad(torch.arange(3, dtype=torch.int32), (1, 1), value=v) for v = 1e10, nan, inf:
  // "value cannot be converted to type int without overflow"
  assertErrors(
    "pad",
    [1e10, NaN, Infinity, -(2 ** 31) - 1].map((v) => [
      () => T.pad(x, [[1, 1]], { value: v }),
      /^pad: value must be a number in int32's range \[-2147483648, 2147483647\] for dtype "int32", got /,
    ]),
  );
  // F.pad(torch.arange(3, dtype=torch.int32), (1, 1), value=-2.7): tensor([-2, 0, 1, 2, -2])
  assert.deepEqual(T.toArray(T.pad(x, [[1, 1]], { value: -2.7 })), [
    -2,
    0,
    1,
    2,
    -2,
  ]);
  // a float x takes any number
  assertAllClose(T.pad(T.astype(x, "float64"), [[1, 0]], { value: 1e10 }), [
    1e10,
    0,
    1,
    2,
  ]);
});

Deno.test("squeeze refuses an axis listed twice, as NumPy (it squeezed it once)", () => {
  // np.squeeze(np.zeros((1, 1)), axis=(0, -2)): ValueError: repeated axis
  assertErrors("squeeze", [
    [
      () => T.squeeze(T.zeros([1, 1]), [0, -2]),
      /^squeeze: axis lists an axis twice: \[0,-2\]$/,
    ],
    [
      () => T.squeeze(T.zeros([1, 2, 1]), [2, 2]),
      /^squeeze: axis lists an axis twice: \[2,2\]$/,
    ],
  ]);
  assert.deepEqual(T.squeeze(T.zeros([1, 2, 1]), [0, -1]).shape, [2]);
});

Deno.test("jvp of every case agrees with its vjp: <jvp(t), c> = <t, vjp(c)>", () => {
  for (const c of fixture.cases) {
    const op = OPS[c.name];
    const xs = tensors(c.inputs), cots = tensors(c.cotangents);
    const ts = tensors(c.directions);
    const [ys, tangents] = T.jvp((...v: Tensor[]) => list(op(...v)), xs, ts);
    const [, back] = T.vjp((...v: Tensor[]) => list(op(...v)), ...xs);
    const gs = back(cots) as Tensor[];
    const dot = (a: Tensor[], b: Tensor[]) =>
      a.reduce((s, t, i) => s + T.item(T.sum(T.mul(t, b[i]))), 0);
    assert.equal((ys as Tensor[]).length, cots.length, c.name);
    assertAllClose(dot(tangents as Tensor[], cots), dot(ts, gs), {
      atol: 1e-12,
      rtol: 1e-12,
      msg: c.name,
    });
  }
});

Deno.test("vmap with inAxes -1 and outAxes -1 of every case gives the eager bits", () => {
  for (const c of fixture.cases) {
    const op = OPS[c.name];
    const xs = tensors(c.inputs);
    if (!xs.every((x) => x.shape.length >= 1)) continue;
    const want = [0, 1].map((k) => list(op(...xs.map((x) => variant(x, k)))));
    const b = xs.map((x) => T.stack([0, 1].map((k) => variant(x, k)), -1));
    const got = list(T.vmap(op, { inAxes: -1, outAxes: -1 })(...b));
    got.forEach((y, i) =>
      [0, 1].forEach((k) => {
        const r = y.shape.length - 1;
        const e = T.squeeze(
          T.slice(
            y,
            y.shape.map((_, j) => (j === r ? k : 0)),
            y.shape.map((d, j) => (j === r ? k + 1 : d)),
          ),
          r,
        );
        sameBits(e, want[k][i], `${c.name} vmap -1`);
      })
    );
  }
});

Deno.test("a hole in a sparse list of axes, sizes or tensors is an error naming the function (a TypeError, a silent wrong result or a tensor of shape [,2] before)", () => {
  const m = T.zeros([2, 3]), c = T.zeros([2, 2, 2]);
  // deno-lint-ignore no-explicit-any
  const sparse = (...v: unknown[]): any => {
    const a = [...v];
    delete a[1]; // (a hole at index 1)
    return a;
  };
  assertErrors("pad", [[
    () => T.pad(m, sparse([1, 1], 0)),
    /^pad: widths must be 2 pairs/,
  ]]);
  assertErrors("pad", [[
    () => T.pad(m, [[1, 1], sparse(1, 0)]),
    /^pad: widths must be 2 pairs/,
  ]]);
  assertErrors("transpose", [[
    () => T.transpose(m, sparse(1, 0)),
    /^transpose: axis must be an integer, got undefined$/,
  ]]);
  assertErrors("repeat", [[
    () => T.repeat(T.zeros([3]), sparse(1, 0, 2), { axis: 0 }),
    /^repeat: repeats must be an integer >= 0/,
  ]]);
  assertErrors("tile", [[
    () => T.tile(m, sparse(2, 0, 3)),
    /^tile: reps must be an integer >= 0/,
  ]]);
  assertErrors("roll", [
    [
      () => T.roll(c, sparse(1, 0, 2), { axis: [0, 1, 2] }),
      /^roll: shifts must be an integer or an array of integers/,
    ],
    [
      () => T.roll(c, [1, 1, 1], { axis: sparse(0, 1, 2) }),
      /^roll: axis must be a number or an array of numbers, got undefined$/,
    ],
  ]);
  assertErrors("split", [[
    () => T.split(T.zeros([6]), sparse(1, 0, 2)),
    /^split: indicesOrSections must be/,
  ]]);
  assertErrors("flip", [[
    () => T.flip(c, { axis: sparse(0, 0, 1) }),
    /^flip: axis must be an integer, got undefined$/,
  ]]);
  assertErrors("squeeze", [[
    () => T.squeeze(T.zeros([1, 1, 1]), sparse(0, 0, 1)),
    /^squeeze: axis must be an integer, got undefined$/,
  ]]);
  assertErrors("sum", [[
    () => T.sum(c, { axis: sparse(0, 0, 1) }),
    /^sum: axis must be an integer, got undefined$/,
  ]]);
  assertErrors("moveaxis", [[
    () => T.moveaxis(c, sparse(0, 0, 1), [0, 1, 2]),
    /^moveaxis: source must be an integer, got undefined$/,
  ]]);
  assertErrors("concat", [[
    () => T.concat(sparse(m, m, m)),
    /^concat: tensors\[1\] must be a Tensor, got undefined$/,
  ]]);
  assertErrors("stack", [[
    () => T.stack(sparse(m, m, m)),
    /^stack: tensors\[1\] must be a Tensor, got undefined$/,
  ]]);
  assertErrors("rot90", [[
    () => T.rot90(m, 1, { axes: sparse(0, 1) }),
    /^rot90: options.axes must be an integer, got undefined$/,
  ]]);
});

Deno.test("vmap of every case over a batch of 0 examples gives 0 results of the eager shape and dtype", () => {
  for (const c of fixture.cases) {
    const op = OPS[c.name];
    const xs = tensors(c.inputs);
    const want = list(op(...xs));
    const got = list(
      T.vmap(op)(
        ...xs.map((x) => T.zeros([0, ...x.shape], { dtype: x.dtype })),
      ),
    );
    got.forEach((y, i) => {
      assert.deepEqual(y.shape, [0, ...want[i].shape], c.name);
      assert.equal(y.dtype, want[i].dtype, c.name);
    });
  }
});

Deno.test("chunk of an empty axis into more than 2^20 pieces is an error naming chunks (2^32 was a raw RangeError, 2^31 took 8 s and then one)", () => {
  // torch.chunk(torch.zeros(0), 5): 5 empty pieces; 2^20 of them too
  assert.equal(T.chunk(T.zeros([0]), 5).length, 5);
  assertErrors(
    "chunk",
    [2 ** 32, 2 ** 20 + 1].map((n) => [
      () => T.chunk(T.zeros([2, 0]), n, { axis: 1 }),
      new RegExp(
        `^chunk: chunks must be at most 2\\^20 \\(1048576\\) when axis 1 of x \\[2,0\\] is empty \\(it gives as many empty pieces\\), got ${n}$`,
      ),
    ]),
  );
});

Deno.test("tril and triu of an empty batch of large matrices are empty at once (their n x m mask was a raw RangeError, or 16 GiB filled for 2^16 x 2^16)", () => {
  // torch.tril(torch.zeros(0, 2**20, 2**20)).shape: [0, 1048576, 1048576]
  const z = T.zeros([0, 2 ** 20, 2 ** 20], { dtype: "int32" });
  for (const f of [T.tril, T.triu]) {
    const y = f(z, { k: 1 });
    assert.deepEqual(y.shape, [0, 2 ** 20, 2 ** 20]);
    assert.equal(y.dtype, "int32");
  }
  // the checks still come first
  assertErrors("tril", [[
    () => T.tril(T.zeros([0]), { k: 0.5 }),
    /^tril: k must be an integer, got 0.5$/,
  ]]);
});
