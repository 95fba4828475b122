/**
 * nn.resnet18, resnet34, resnet50 and mobilenetV2 against torchvision's
 * (tests/fixtures/torchvision_models.json, written by
 * tests/fixtures/gen_torchvision_models.py): the same state_dict keys and
 * shapes (params and batch-norm buffers), parameter counts, and with every
 * entry filled by the same formula the same outputs in evaluation and in
 * training mode and the same updated running statistics (float64); init as
 * torchvision's; toTorch writes the residual sums.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { filled } from "./_state_dicts.ts";
import fixture from "./fixtures/torchvision_models.json" with { type: "json" };

const { nn } = T;
type M = (typeof fixture.models)[number];

/** A tree like `template` whose leaf at path p is make(p, leaf). */
function mapPaths(
  template: Tree,
  make: (path: string, leaf: Tensor) => Tensor,
): Tree {
  const [leaves, def] = T.treeFlatten(template);
  const paths = T.treePaths(template).map(([p]) => p);
  return T.treeUnflatten(def, leaves.map((l, i) => make(paths[i], l)));
}

for (const m of fixture.models as M[]) {
  Deno.test(`${m.name}: torchvision's state_dict keys and shapes, parameter count, and outputs (eval and train) and running statistics with the same values (float64)`, () => {
    const makers: Record<string, typeof nn.resnet18> = {
      resnet18: nn.resnet18,
      resnet34: nn.resnet34,
      resnet50: nn.resnet50,
      mobilenetV2: nn.mobilenetV2,
      alexnet: nn.alexnet,
      squeezenet1_1: nn.squeezenet1_1,
      densenet121: nn.densenet121,
    };
    const make = makers[m.name];
    // (mobilenetV2 without dropout, as the fixture's, so training draws nothing)
    const net = make({
      numClasses: 10,
      dtype: "float64",
      ...(m.name.startsWith("resnet") || m.name === "densenet121"
        ? {}
        : { dropout: 0 }),
    });
    assert.equal(nn.paramCount(net), m.params);
    // zeros of the params' shapes (drawing 21M float64 normals would take longer than the test)
    const isSpec = (v: unknown) =>
      typeof v === "object" && v !== null && "shape" in v && "dtype" in v;
    const specs = net.info.params as unknown as Tree;
    const [specLeaves, specDef] = T.treeFlatten(specs, isSpec);
    const params = T.treeUnflatten(
      specDef,
      specLeaves.map((sp) =>
        T.zeros(sp.shape as number[], { dtype: "float64" })
      ),
    );
    const state = net.initState() as Tree;
    const ours = new Map<string, number[]>([
      ...T.treePaths(params).map((
        [p, t],
      ): [string, number[]] => [p, [...t.shape]]),
      ...T.treePaths(state).map((
        [p, t],
      ): [string, number[]] => [p, [...t.shape]]),
    ]);
    const theirs = new Map(Object.entries(m.shapes));
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
    for (const [k, s] of theirs) assert.deepEqual(ours.get(k), s, k);
    const index = new Map(m.keys.map((k, i) => [k, i]));
    const fill = (tree: Tree) =>
      mapPaths(
        tree,
        (p, l) =>
          filled(
            p,
            index.get(p)!,
            l.shape,
            l.dtype === "int32" ? "int32" : "float64",
          ),
      );
    const p = fill(params), s = fill(state);
    const x = T.reshape(
      T.sin(
        T.mul(
          T.arange(2 * 3 * m.size * m.size, undefined, 1, { dtype: "float64" }),
          0.01,
        ),
      ),
      [2, 3, m.size, m.size],
    );
    const evaluation = net.applyWithState(p as never, s as never, x).y;
    assertAllClose(evaluation, m.eval, { rtol: 1e-9, atol: 1e-12 });
    const trained = net.applyWithState(p as never, s as never, x, {
      training: true,
    });
    assertAllClose(trained.y, m.train, { rtol: 1e-8, atol: 1e-10 });
    if (m.runningMeanKey === null) return; // (no batch norm)
    const bn = T.treePaths(trained.state as Tree).find(([q]) =>
      q === m.runningMeanKey
    )!;
    assertAllClose(bn[1], m.runningMean!, { rtol: 1e-8, atol: 1e-12 });
  });
}

Deno.test("resnet18: torchvision's init (kaiming normal, fan out, for every convolution); toTorch writes BasicBlock's residual sums", () => {
  const net = nn.resnet18({ numClasses: 10 });
  const params = net.init(T.random.key(3)) as Tree;
  for (const [path, w] of T.treePaths(params)) {
    if (w.shape.length !== 4) continue;
    const std = Math.sqrt(2 / (w.shape[0] * w.shape[2] * w.shape[3]));
    const n = w.data.length;
    const sd = Math.sqrt(Array.from(w.data).reduce((a, v) => a + v * v, 0) / n);
    if (n > 1000) {
      assert.ok(Math.abs(sd / std - 1) < 0.1, `${path}: ${sd} vs ${std}`);
    }
  }
  const src = nn.toTorch(net, { inputShape: [1, 3, 32, 32] });
  assert.match(src, /class BasicBlock\(nn\.Module\):/);
  assert.match(src, /= x\d+ \+ x\d*/);
  assert.match(src, /self\.downsample = nn\.Sequential\(/);
});

Deno.test("resnet101, resnet152, resnext50_32x4d, wideResnet50_2, vgg11, vgg13, vgg19, vgg16Bn: torchvision's state_dict keys, shapes and parameter counts", () => {
  const makers: Record<string, (o: { numClasses: number }) => T.nn.AnyLayer> = {
    resnet101: nn.resnet101,
    resnet152: nn.resnet152,
    resnext50_32x4d: nn.resnext50_32x4d,
    wideResnet50_2: nn.wideResnet50_2,
    vgg11: nn.vgg11,
    vgg13: nn.vgg13,
    vgg19: nn.vgg19,
    vgg16Bn: nn.vgg16Bn,
  };
  const structures = fixture.structures as Record<
    string,
    { shapes: Record<string, number[]>; params: number }
  >;
  assert.deepEqual(Object.keys(structures).sort(), Object.keys(makers).sort());
  const isSpec = (v: unknown) =>
    typeof v === "object" && v !== null && "shape" in v && "dtype" in v;
  for (const [name, s] of Object.entries(structures)) {
    const net = makers[name]({ numClasses: 10 });
    assert.equal(nn.paramCount(net), s.params, name);
    const ours = new Map<string, number[]>([
      ...T.treePaths(net.info.params as unknown as Tree, isSpec)
        .map((
          [p, sp],
        ): [string, number[]] => [p, [
          ...(sp as unknown as { shape: number[] }).shape,
        ]]),
      ...T.treePaths(net.initState() as Tree).map((
        [p, t],
      ): [string, number[]] => [p, [...t.shape]]),
    ]);
    assert.deepEqual(
      [...ours.keys()].sort(),
      Object.keys(s.shapes).sort(),
      name,
    );
    for (const [k, shape] of Object.entries(s.shapes)) {
      assert.deepEqual(ours.get(k), shape, `${name} ${k}`);
    }
  }
});
