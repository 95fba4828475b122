/**
 * Robustness of trees and the transforms that walk them: a cyclic or too
 * deeply nested tree is an Error naming the function and the path (not a
 * stack overflow) while a DAG (a subtree shared by two paths) still works;
 * repeated argnums are rejected (they gave zeros); data.take checks its
 * indices; conv2dOutputSize checks its arguments and that the window fits.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

/** `{ a: ones([2]), self: <itself> }`. */
function cyclic(): Record<string, unknown> {
  const c: Record<string, unknown> = { a: T.ones([2]) };
  c.self = c;
  return c;
}

/** A tensor inside `depth` nested arrays. */
function nested(depth: number): unknown {
  let d: unknown = T.ones([1]);
  for (let i = 0; i < depth; i++) d = [d];
  return d;
}

/** Asserts that `f` throws a plain Error matching `re` (not a RangeError). */
function throwsError(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.equal(e.constructor, Error, `${e.constructor.name}: ${e.message}`);
    assert.match(e.message, re);
    assert.doesNotMatch(e.message, /Maximum call stack/);
    return true;
  });
}

const CYCLE =
  /tree at "self" contains itself \(it is the object at \(root\) again\)/;

Deno.test("trees: a cyclic tree is an error naming the function and the path where the cycle closes", () => {
  const c = cyclic() as unknown as T.Tree;
  const cases: [string, () => unknown][] = [
    ["treeLeaves", () => T.treeLeaves(c)],
    ["treeFlatten", () => T.treeFlatten(c)],
    ["treeMap", () => T.treeMap((x) => x, c)],
    ["treePaths", () => T.treePaths(c)],
    ["stopGradient", () => T.stopGradient(c)],
    ["optim.adam.init\\(params\\)", () => T.optim.adam().init(c)],
    ["optim.globalNorm", () => T.optim.globalNorm(c)],
    ["optim.applyUpdates", () => T.optim.applyUpdates(c, c)],
    [
      "grad: argument 0 is not a tree of tensors: treeFlatten",
      () => T.grad((p: { a: T.Tensor }) => T.sum(p.a))(c as never),
    ],
    [
      "jit: argument 0 is not a tree of tensors.*: treeFlatten",
      () => T.jit((p: { a: T.Tensor }) => p.a)(c as never),
    ],
    [
      "jacrev: argument 0 is not a tree of tensors: treeFlatten",
      () => T.jacrev((p: { a: T.Tensor }) => p.a)(c as never),
    ],
  ];
  for (const [fn, f] of cases) {
    throwsError(f, new RegExp(`^${fn}: ${CYCLE.source}`));
  }
});

Deno.test("trees: a cycle deeper down names its path, in arrays too", () => {
  const inner: unknown[] = [T.ones([1])];
  inner.push({ back: inner });
  throwsError(
    () => T.treeLeaves({ w: T.ones([1]), list: inner } as never),
    /^treeLeaves: tree at "list\.1\.back" contains itself \(it is the array at "list" again\)/,
  );
  throwsError(
    () => T.treePaths({ list: inner } as never),
    /^treePaths: tree at "list\.1\.back" contains itself \(it is the array at "list" again\)/,
  );
  // the second tree of treeMap: named as such
  throwsError(
    () =>
      T.treeMap(
        (x, _y) => x,
        { a: T.ones([2]), self: T.ones([1]) },
        cyclic() as never,
      ),
    /^treeMap \(tree 1\): tree at "self" contains itself/,
  );
});

Deno.test("trees: nesting deeper than 1000 levels is an error, not a stack overflow", () => {
  for (const depth of [1001, 20000]) {
    const d = nested(depth) as T.Tree;
    throwsError(
      () => T.treeLeaves(d),
      /^treeLeaves: tree nests deeper than 1000 levels \(at "0\.0\.0/,
    );
    throwsError(
      () => T.treePaths(d),
      /^treePaths: tree nests deeper than 1000 levels/,
    );
    throwsError(
      () => T.treeMap((x) => x, d),
      /^treeMap: tree nests deeper than 1000 levels/,
    );
    throwsError(
      () => T.optim.globalNorm(d),
      /^optim\.globalNorm: tree nests deeper than 1000 levels/,
    );
  }
  // 1000 levels still work
  const ok = nested(1000) as T.Tree;
  assert.equal(T.treeLeaves(ok).length, 1);
  assert.equal(T.treePaths(ok)[0][0].split(".").length, 1000);
  assert.equal(T.treeLeaves(T.treeMap((x) => T.mul(x, 2), ok))[0].data[0], 2);
});

Deno.test("trees: a DAG (the same subtree on two paths) still works", () => {
  const shared = { w: T.tensor([1, 2]), b: [T.tensor(3)] };
  const dag = { a: shared, b: shared, c: [shared, shared] };
  assert.equal(T.treeLeaves(dag).length, 8);
  assert.deepEqual(T.treePaths(dag).map(([p]) => p), [
    "a.b.0",
    "a.w",
    "b.b.0",
    "b.w",
    "c.0.b.0",
    "c.0.w",
    "c.1.b.0",
    "c.1.w",
  ]);
  const doubled = T.treeMap((x) => T.mul(x, 2), dag);
  assert.deepEqual(T.toArray(doubled.c[1].w), [2, 4]);
  assert.notEqual(doubled.a, doubled.b); // unflattened as a tree
  // a shared leaf array, and a tensor shared by two paths
  const t = T.tensor([1, 2, 3]);
  const leaves = [t, t];
  assert.equal(T.treeLeaves({ x: leaves, y: leaves, z: t }).length, 5);
  // optimizers and transforms take it
  const state = T.optim.adam().init(dag);
  assert.ok(state);
  assert.ok(T.optim.globalNorm(dag).data[0] > 0);
  const g = T.grad((p: typeof dag) => T.sum(T.mul(p.a.w, p.b.w)))(dag);
  assert.deepEqual(T.toArray(g.a.w), [1, 2]);
  assert.deepEqual(T.toArray(g.b.w), [1, 2]);
  assert.deepEqual(T.toArray(g.c[0].w), [0, 0]);
});

Deno.test("grad, valueAndGrad: argnums must not repeat a position", () => {
  const f = (a: T.Tensor) => T.sum(T.mul(a, a));
  const x = T.tensor([1, 2, 3]);
  throwsError(
    () => T.grad(f, { argnums: [0, 0] })(x),
    /^grad: argnums must not repeat a position, got \[0,0\]/,
  );
  throwsError(
    () => T.valueAndGrad(f, { argnums: [0, 0] })(x),
    /^valueAndGrad: argnums must not repeat a position, got \[0,0\]/,
  );
  const g = (a: T.Tensor, b: T.Tensor) => T.sum(T.mul(a, b));
  throwsError(
    () => T.grad(g, { argnums: [1, 0, 1] })(x, x),
    /^grad: argnums must not repeat a position, got \[1,0,1\] \(1 is given more than once\)/,
  );
  // with hasAux too
  throwsError(
    () =>
      T.grad((a: T.Tensor) => [f(a), a] as [T.Tensor, T.Tensor], {
        argnums: [0, 0],
        hasAux: true,
      })(x),
    /^grad: argnums must not repeat a position/,
  );
  // distinct positions still work, in any order
  const [ga, gb] = T.grad(g, { argnums: [1, 0] })(x, T.tensor([4, 5, 6]));
  assert.deepEqual(T.toArray(ga), [1, 2, 3]);
  assert.deepEqual(T.toArray(gb), [4, 5, 6]);
  // out of range is still reported as before
  throwsError(
    () => T.grad(f, { argnums: [0, 1] })(x),
    /^grad: argnums \[0,1\] is out of range for 1 argument\(s\)/,
  );
});

const ds = {
  x: T.tensor([[0, 1], [2, 3], [4, 5], [6, 7]]),
  y: T.tensor([0, 1, 2, 3], { dtype: "int32" }),
};

Deno.test("data.take: indices that are not a list of row numbers are an error", () => {
  const expected =
    /^take: indices must be an array of integer row indices or an int32 tensor of rank 1, got /;
  const bad: [unknown, string][] = [
    [5, "number 5"],
    [null, "null"],
    [undefined, "undefined"],
    ["ab", 'string "ab"'],
    [{}, "an object"],
    [{ length: -1 }, "an object"],
    [T.tensor([1, 2]), "Tensor float32 \\[2\\]"],
    [T.tensor(1, { dtype: "int32" }), "Tensor int32 \\[\\]"],
    [T.tensor([[1]], { dtype: "int32" }), "Tensor int32 \\[1,1\\]"],
  ];
  for (const [indices, got] of bad) {
    throwsError(
      () => T.data.take(ds, indices as never),
      new RegExp(`${expected.source}${got}$`),
    );
  }
  // the values are checked as before
  throwsError(
    () => T.data.take(ds, [1.5]),
    /^take: indices must be integers in \[0, 4\), got 1\.5 at position 0/,
  );
  throwsError(
    () => T.data.take(ds, T.tensor([1, 4], { dtype: "int32" })),
    /^take: indices must be integers in \[0, 4\), got 4 at position 1/,
  );
});

Deno.test("data.take: arrays, typed arrays and int32 tensors of indices", () => {
  assert.deepEqual(T.toArray(T.data.take(ds, [3, 1]).x), [[6, 7], [2, 3]]);
  assert.deepEqual(T.toArray(T.data.take(ds, new Int32Array([2])).y), [2]);
  const t = T.data.take(ds, T.tensor([0, 3, 0], { dtype: "int32" }));
  assert.deepEqual(t.x.shape, [3, 2]);
  assert.deepEqual(T.toArray(t.y), [0, 3, 0]);
  assert.deepEqual(T.data.take(ds, []).x.shape, [0, 2]);
});

Deno.test("conv2dOutputSize: checks its arguments and that the window fits", () => {
  const size = T.conv2dOutputSize as (...args: unknown[]) => number;
  const bad: [unknown[], RegExp][] = [
    [
      ["5", 3],
      /^conv2dOutputSize: size must be an integer >= 0, got string 5$/,
    ],
    [[NaN, 3], /^conv2dOutputSize: size must be an integer >= 0, got NaN$/],
    [[5.5, 3], /^conv2dOutputSize: size must be an integer >= 0, got 5\.5$/],
    [[-1, 3], /^conv2dOutputSize: size must be an integer >= 0, got -1$/],
    [[5, 0], /^conv2dOutputSize: kernelSize must be an integer >= 1, got 0$/],
    [
      [5, undefined],
      /^conv2dOutputSize: kernelSize must be an integer >= 1, got undefined$/,
    ],
    [
      [5, 3, { stride: 0 }],
      /^conv2dOutputSize: stride must be an integer >= 1, got 0$/,
    ],
    [
      [5, 3, { stride: -1 }],
      /^conv2dOutputSize: stride must be an integer >= 1, got -1$/,
    ],
    [
      [5, 3, { stride: [2, 2] }],
      /^conv2dOutputSize: stride must be an integer >= 1, got an array of length 2$/,
    ],
    [
      [5, 3, { padding: -1 }],
      /^conv2dOutputSize: padding must be an integer >= 0, got -1$/,
    ],
    [
      [5, 3, { dilation: 0 }],
      /^conv2dOutputSize: dilation must be an integer >= 1, got 0$/,
    ],
    [
      [5, 3, { ceilMode: 1 }],
      /^conv2dOutputSize: ceilMode must be a boolean, got 1$/,
    ],
    [
      [5, 10],
      /^conv2dOutputSize: output size would be -4 \(< 1\): kernel 10 with dilation 1 is larger than the padded input \(size 5, padding 0\)$/,
    ],
    [
      [5, 3, { dilation: 3 }],
      /^conv2dOutputSize: output size would be -1 \(< 1\): kernel 3 with dilation 3/,
    ],
  ];
  for (const [args, re] of bad) throwsError(() => size(...args), re);
  // valid arguments as before
  assert.equal(size(32, 5), 28);
  assert.equal(size(28, 3, { padding: 1 }), 28);
  assert.equal(size(28, 3, { stride: 2 }), 13);
  assert.equal(size(5, 2, { stride: 2, padding: 1, ceilMode: true }), 3);
  assert.equal(size(5, 5), 1);
  assert.equal(size(0, 1, { padding: 1 }), 2);
  // the same wording as conv2d when the window does not fit
  assert.throws(
    () => T.conv2d(T.ones([1, 1, 5, 5]), T.ones([1, 1, 10, 10])),
    /^Error: conv2d: output size would be -4x-4 \(< 1\): kernel 10x10 with dilation/,
  );
});

Deno.test("vmap and nn.paramCount: a cyclic tree is an error naming them (their own walks, before treeFlatten's)", () => {
  const msg = (fn: string, at: string, kind: string) =>
    new RegExp(
      `^Error: ${fn}: tree at "${at}" contains itself \\(it is the ${kind} at \\(root\\) again\\)`,
    );
  assert.throws(
    () => T.nn.paramCount(cyclic() as never),
    msg("nn.paramCount", "self", "object"),
  );
  assert.throws(
    () => T.vmap((x: { a: T.Tensor }) => x.a)(cyclic() as never),
    msg("vmap", "self", "object"),
  );
  const list: unknown[] = [T.ones([2])];
  list.push(list);
  assert.throws(
    () => T.vmap((x: unknown) => x as never)(list as never),
    msg("vmap", "1", "array"),
  );
  const bare: unknown[] = [];
  bare.push(bare);
  assert.throws(
    () => T.vmap((x: unknown) => x as never)(bare as never),
    msg("vmap", "0", "array"),
  );
});

Deno.test("jacrev, jacfwd, hessian: argnums must not repeat a position", () => {
  const f = (a: T.Tensor) => T.sum(T.mul(a, a));
  for (
    const [fn, t] of [["jacrev", T.jacrev], ["jacfwd", T.jacfwd], [
      "hessian",
      T.hessian,
    ]] as const
  ) {
    assert.throws(
      () => t(f, { argnums: [0, 0] })(T.tensor([1, 2])),
      new RegExp(
        `^Error: ${fn}: argnums must not repeat a position, got \\[0,0\\] \\(0 is given more than once\\)$`,
      ),
    );
  }
});
