/**
 * vmap along other axes than vmap_test.ts uses: every table row with the
 * mapped axis last and in the middle of each argument in turn, outAxes -1
 * and in the middle, over 2 and 0 examples, nested vmap with other axes at
 * each level, and vmap of grad per example, each against a loop of the
 * eager op bit for bit; batch norm's running statistics under vmap; and
 * the Jacobian transforms refusing int32 arguments as grad does.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { drawValues, type Row } from "./_op_table.ts";
import { allRows } from "./_rows.ts";
import { assertAllClose, sameBits } from "./_helpers.ts";

/**
 * `got` equals the loop's `want` bit for bit; conv1d and conv2d to a few
 * ulps (their batching rule adds a batched bias after the grouped
 * convolution, where the kernel starts its sums from it).
 */
function sameAsLoop(row: Row, got: Tensor, want: Tensor, msg: string): void {
  if (row.name.startsWith("conv")) {
    assertAllClose(got, want, { atol: 1e-13, rtol: 1e-13, msg });
  } else sameBits(got, want, msg);
}

/** `xs` stacked along `axis`; zero of them as an empty axis there. */
function stackAt(xs: Tensor[], axis: number, like: Tensor): Tensor {
  if (xs.length) return T.stack(xs, axis);
  const shape = like.shape.slice();
  shape.splice(axis, 0, 0);
  return T.zeros(shape, { dtype: like.dtype });
}

/** One draw of the row: its function and `n` examples of each argument (at least one, to know the shapes). */
function examples(row: Row, n: number, seed: number) {
  const [{ shapes, p }] = fc.sample(row.arb, { seed, numRuns: 1 });
  const f = (...xs: Tensor[]) => row.f(p, ...xs);
  const ex = shapes.map((s, i) =>
    [...Array(Math.max(n, 1)).keys()].map((k) =>
      drawValues(s, row.domains[i] ?? "real", seed + 7919 * i + 104729 * k)
    )
  );
  return { shapes, p, f, ex };
}

Deno.test("vmap with the mapped axis last and in the middle of each argument in turn, outAxes -1 and in the middle, over 2 and 0 examples, equals a loop of the eager op bit for bit: every table row", () => {
  for (
    const [row, seed] of allRows.flatMap((r) => [[r, 42], [r, 43]] as const)
  ) {
    const { shapes, p, f, ex } = examples(row, 2, seed);
    let outRank: number;
    try {
      outRank = f(...ex.map((e) => e[0])).shape.length;
    } catch {
      continue; // a draw the op rejects (as the loop would)
    }
    for (const size of [2, 0]) {
      for (let i = 0; i < shapes.length; i++) {
        const r = shapes[i].length;
        for (const pos of new Set([r, Math.floor(r / 2)])) {
          for (const outAxes of new Set([-1, Math.floor((outRank + 1) / 2)])) {
            // the other arguments mapped along 0 (size 2) or shared (size 0)
            const inAxes = shapes.map((_, j) =>
              j === i ? pos : size ? 0 : null
            );
            const args = ex.map((e, j) =>
              inAxes[j] === null
                ? e[0]
                : stackAt(e.slice(0, size), inAxes[j]!, e[0])
            );
            const loop = [...Array(size).keys()].map((k) =>
              f(...ex.map((e, j) => e[inAxes[j] === null ? 0 : k]))
            );
            const at = outAxes < 0 ? outAxes + outRank + 1 : outAxes;
            const want = stackAt(loop, at, f(...ex.map((e) => e[0])));
            const got = T.vmap(f, { inAxes, outAxes, axisSize: size })(
              ...args,
            );
            sameAsLoop(
              row,
              got,
              want,
              `${row.name} shapes ${JSON.stringify(shapes)} p ${
                JSON.stringify(p)
              } size ${size} inAxes ${
                JSON.stringify(inAxes)
              } outAxes ${outAxes}`,
            );
          }
        }
      }
    }
  }
});

Deno.test("vmap(vmap(f)) with the inner axis in the middle and the outer last (outAxes -1 inside, 0 outside) equals a double loop bit for bit: every table row", () => {
  const b1 = 2, b2 = 3;
  for (const [row, seed] of allRows.flatMap((r) => [[r, 7], [r, 8]] as const)) {
    const { shapes, p, f, ex } = examples(row, b1 * b2, seed);
    try {
      f(...ex.map((e) => e[0]));
    } catch {
      continue;
    }
    const inner = shapes.map((s) => Math.floor(s.length / 2));
    const outer = shapes.map((s) => s.length + 1);
    const at = (e: Tensor[], i: number, o: number) => e[i * b2 + o];
    const args = ex.map((e, j) =>
      T.stack(
        [...Array(b1).keys()].map((i) =>
          T.stack([...Array(b2).keys()].map((o) => at(e, i, o)), inner[j])
        ),
        outer[j],
      )
    );
    const want = T.stack(
      [...Array(b1).keys()].map((i) =>
        T.stack(
          [...Array(b2).keys()].map((o) => f(...ex.map((e) => at(e, i, o)))),
          -1,
        )
      ),
    );
    const got = T.vmap(T.vmap(f, { inAxes: inner, outAxes: -1 }), {
      inAxes: outer,
    })(...args);
    sameAsLoop(
      row,
      got,
      want,
      `${row.name} shapes ${JSON.stringify(shapes)} p ${JSON.stringify(p)}`,
    );
  }
});

Deno.test("vmap(grad) per example with every argument mapped along its last axis equals a loop of grad: every table row", () => {
  const n = 2;
  for (const row of allRows) {
    const { shapes, p, f, ex } = examples(row, n, 5);
    const loss = (...xs: Tensor[]) => T.sum(T.square(f(...xs)));
    const g = T.grad(loss, { argnums: [...shapes.keys()] });
    try {
      loss(...ex.map((e) => e[0]));
    } catch {
      continue;
    }
    const inAxes = shapes.map((s) => s.length);
    const got = T.vmap(g, { inAxes, outAxes: -1 })(
      ...ex.map((e, j) => T.stack(e, inAxes[j])),
    ) as unknown as Tensor[];
    const loop = [...Array(n).keys()].map((k) =>
      g(...ex.map((e) => e[k])) as unknown as Tensor[]
    );
    shapes.forEach((_, j) =>
      // (the batched reductions of a VJP may sum in another order)
      assertAllClose(got[j], T.stack(loop.map((l) => l[j]), -1), {
        atol: 1e-12,
        rtol: 1e-12,
        msg: `${row.name} shapes ${JSON.stringify(shapes)} p ${
          JSON.stringify(p)
        } argument ${j}`,
      })
    );
  }
});

Deno.test("batchNorm (training) under vmap: each example's running statistics in float32 equal a loop's bit for bit (the moments summed in float64, as the kernel), x mapped along any axis", () => {
  const c = 3;
  const xs = [0, 1, 2].map((k) =>
    T.astype(drawValues([3, c, 2, 2], "real", 11 + k), "float32")
  );
  const rm = T.zeros([c]), rv = T.ones([c]);
  const f = (x: Tensor) => {
    const r = T.batchNorm(x, {
      runningMean: rm,
      runningVar: rv,
      training: true,
    });
    return [r.y, r.runningMean!, r.runningVar!];
  };
  const loop = xs.map(f);
  for (const axis of [0, 2, 4]) {
    const got = T.vmap(f, { inAxes: axis })(T.stack(xs, axis));
    [0, 1, 2].forEach((k) =>
      sameBits(
        got[k],
        T.stack(loop.map((l) => l[k])),
        `axis ${axis} output ${k}`,
      )
    );
  }
});

Deno.test("jacfwd, jacrev, hessian: an int32 argument is an Error naming the transform, as grad (it has no derivative), not a Jacobian of zeros", () => {
  const i = T.tensor([1, 2], { dtype: "int32" });
  const f = (v: Tensor) => T.mul(T.astype(v, "float32"), 2);
  for (
    const [name, call] of [
      ["jacfwd", () => T.jacfwd(f)(i)],
      ["jacrev", () => T.jacrev(f)(i)],
      ["hessian", () => T.hessian((v: Tensor) => T.sum(f(v)))(i)],
      [
        "jacrev",
        () => T.jacrev((p: { a: Tensor; k: Tensor }) => f(p.k))({ a: i, k: i }),
      ],
    ] as const
  ) {
    assert.throws(
      call,
      new RegExp(
        `^Error: ${name}: cannot differentiate with respect to int32 argument 0 \\(Tensor int32 \\[2\\]\\)`,
      ),
    );
  }
  // a float argument next to an int32 one that is not differentiated works
  const j = T.jacrev((x: Tensor, k: Tensor) =>
    T.mul(x, T.astype(k, "float32"))
  )(
    T.tensor([1, 1]),
    i,
  ) as Tensor;
  assert.deepEqual(T.toArray(j), [[1, 0], [0, 2]]);
});

Deno.test("hessian with hasAux returns [hessian, aux], as jax.hessian (the option was refused)", () => {
  // f(x, y) = sum(x³) + x·y with an aux; d²f/dx² = diag(6x), d²f/dxdy = I
  const f = (x: Tensor, y: Tensor) =>
    [
      T.add(T.sum(T.mul(T.mul(x, x), x)), T.sum(T.mul(x, y))),
      { twice: T.mul(x, 2) },
    ] as [Tensor, { twice: Tensor }];
  const x = T.tensor([1, 2], { dtype: "float64" });
  const y = T.tensor([3, 5], { dtype: "float64" });
  const [h, aux] = T.hessian(f, { hasAux: true })(x, y) as [
    Tensor,
    { twice: Tensor },
  ];
  assert.deepEqual(T.toArray(h), [[6, 0], [0, 12]]);
  assert.deepEqual(T.toArray(aux.twice), [2, 4]);
  // both arguments: blocks [[xx, xy], [yx, yy]], the aux once
  const [hb] = T.hessian(f, { argnums: [0, 1], hasAux: true })(x, y) as [
    Tensor[][],
    unknown,
  ];
  assert.deepEqual(T.toArray(hb[0][1]), [[1, 0], [0, 1]]);
  assert.deepEqual(T.toArray(hb[1][1]), [[0, 0], [0, 0]]);
  // hasAux must come with [output, aux]
  assert.throws(
    () => T.hessian((v: Tensor) => T.sum(v), { hasAux: true })(x),
    /hessian: with hasAux, f must return \[output, aux\]/,
  );
});

Deno.test("conv2d and conv1d under vmap with per-example biases (and weights): each example's bits, as a loop of the op (the bias was added after the grouped kernel, 1 ulp off)", () => {
  const { random } = T;
  const one = (t: Tensor, i: number) =>
    T.squeeze(
      T.slice(t, [i, ...t.shape.slice(1).map(() => 0)], [
        i + 1,
        ...t.shape.slice(1),
      ]),
      0,
    );
  for (const dtype of ["float64", "float32"] as const) {
    const x = random.normal(random.key(1), [1, 2, 4, 3], { dtype });
    const w = random.normal(random.key(2), [2, 1, 1, 2], { dtype });
    const bs = random.normal(random.key(3), [3, 2], { dtype });
    const ws = random.normal(random.key(4), [3, 2, 1, 1, 2], { dtype });
    const opts = { groups: 2, dilation: 2, stride: 2 };
    const loop = (f: (i: number) => Tensor) => T.stack([0, 1, 2].map(f));
    sameBits(
      T.vmap((b: Tensor) => T.conv2d(x, w, b, opts))(bs),
      loop((i) => T.conv2d(x, w, one(bs, i), opts)),
      dtype,
    );
    sameBits(
      T.vmap((ww: Tensor, b: Tensor) => T.conv2d(x, ww, b, opts))(ws, bs),
      loop((i) => T.conv2d(x, one(ws, i), one(bs, i), opts)),
      dtype,
    );
    const x1 = random.normal(random.key(5), [2, 2, 9], { dtype });
    const w1 = random.normal(random.key(6), [2, 2, 3], { dtype });
    sameBits(
      T.vmap((b: Tensor) => T.conv1d(x1, w1, b, { padding: 1 }))(bs),
      loop((i) => T.conv1d(x1, w1, one(bs, i), { padding: 1 })),
      dtype,
    );
  }
});
