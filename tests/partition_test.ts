/**
 * optim.multiTransform, optim.masked and optim.setToZero: torch.optim's
 * parameter groups (tests/fixtures/groups.json, written by
 * tests/fixtures/gen_groups.py) replayed from the stored grads to 1e-9;
 * a partition into groups of one leafwise optimizer is that optimizer bit for
 * bit (a property over random labellings); a transform that is not leafwise
 * sees its group only; masks; frozen params; labels from paths; the errors.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  add,
  mul,
  nn,
  optim,
  random,
  type Tensor,
  tensor,
  type Tree,
  treeFlatten,
  treeLeaves,
  treePaths,
  treeUnflatten,
} from "../mod.ts";
import { assertAllClose, assertErrors } from "./_helpers.ts";
import { replayTrajectory } from "./_trajectory.ts";
import fixture from "./fixtures/groups.json" with { type: "json" };

const MAKE: Record<string, (o: never) => optim.GradientTransformation> = {
  SGD: optim.sgd,
  Adam: optim.adam,
  AdamW: optim.adamw,
};

Deno.test("multiTransform: torch.optim's parameter groups, two optimizers and a frozen param follow torch's trajectories from the stored grads (float64, 1e-9)", async (t) => {
  assert.equal(fixture.cases.length, 5);
  for (const c of fixture.cases) {
    await t.step(c.label, () => {
      // one label per group; a param in no group is frozen
      const transforms: Record<string, optim.GradientTransformation> = {
        frozen: optim.setToZero(),
      };
      const labels: Record<string, string> = { w: "frozen", b: "frozen" };
      c.groups.forEach((g, i) => {
        transforms[`g${i}`] = MAKE[g.optimizer](g.options as never);
        for (const p of g.params) labels[p] = `g${i}`;
      });
      const opt = optim.multiTransform(transforms, labels);
      replayTrajectory(opt, c.init, c.steps, c.label);
    });
  }
});

const net = nn.sequential(
  nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
  nn.batchNorm2d({ numFeatures: 2 }),
  nn.relu,
  nn.flatten(),
  nn.linear({ inFeatures: 8, outFeatures: 3 }),
);
const params0 = net.init(random.key(0)) as Tree;
const [leaves0, def0] = treeFlatten(params0);
/** A tree like the params from its leaves in leaf order. */
const rebuild = <L>(leaves: L[]) => treeUnflatten(def0, leaves);
/** Standard normal gradients, other ones for each k. */
const grads = (k: number): Tree =>
  rebuild(
    leaves0.map((l, i) => random.normal(random.key(100 * k + i), l.shape)),
  );

function run(opt: optim.GradientTransformation, steps: number): Tensor[] {
  let params = params0;
  let state = opt.init(params);
  for (let k = 0; k < steps; k++) {
    const r = opt.update(grads(k), state, params);
    params = optim.applyUpdates(params, r.updates);
    state = r.state;
  }
  return treeLeaves(params);
}

function sameBits(a: Tensor[], b: Tensor[], msg: string) {
  assert.equal(a.length, b.length);
  a.forEach((t, i) => assert.deepEqual(t.data, b[i].data, `${msg}: leaf ${i}`));
}

Deno.test("multiTransform: any labelling with the same leafwise optimizer for every label is that optimizer, bit for bit (property)", () => {
  const n = treeLeaves(params0).length;
  const plain = run(optim.adam({ lr: 0.01, weightDecay: 0.1 }), 4);
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("a", "b", "c"), { minLength: n, maxLength: n }),
      (ls) => {
        const labels = rebuild(ls);
        const make = () => optim.adam({ lr: 0.01, weightDecay: 0.1 });
        const opt = optim.multiTransform(
          { a: make(), b: make(), c: make() },
          labels,
        );
        sameBits(run(opt, 4), plain, `labels ${ls}`);
      },
    ),
    { numRuns: 12 },
  );
});

Deno.test("multiTransform: a transform that is not leafwise sees its group only (clipByGlobalNorm's norm over the group's leaves)", () => {
  const isBias = (path: string) => path.endsWith("bias");
  const opt = optim.multiTransform({
    clipped: optim.clipByGlobalNorm(0.5),
    other: optim.identity(),
  }, (path) => isBias(path) ? "clipped" : "other");
  const g = grads(7);
  const { updates } = opt.update(g, opt.init(params0), params0);
  const paths = treePaths(g).map(([p]) => p);
  const gl = treeLeaves(g), ul = treeLeaves(updates);
  const biasNorm = Math.sqrt(
    gl.filter((_, i) => isBias(paths[i]))
      .reduce(
        (s, t) => s + Array.from(t.data).reduce((a, v) => a + v * v, 0),
        0,
      ),
  );
  assert.ok(biasNorm > 0.5); // so the clip acts
  gl.forEach((t, i) => {
    const expected = isBias(paths[i])
      ? Array.from(t.data, (v) => v * 0.5 / biasNorm)
      : Array.from(t.data);
    assertAllClose(ul[i], expected, { rtol: 1e-6, msg: paths[i] });
  });
});

Deno.test("masked: the inner transform on the masked leaves, the other updates unchanged; a mask from paths equals the same mask as a tree", () => {
  const mask = (path: string) => path.endsWith("weight");
  const t = optim.masked(optim.addDecayedWeights(0.5), mask);
  const g = grads(3);
  const { updates } = t.update(g, t.init(params0), params0);
  const paths = treePaths(g).map(([p]) => p);
  const gl = treeLeaves(g), pl = treeLeaves(params0);
  treeLeaves(updates).forEach((u, i) => {
    const expected = mask(paths[i]) ? add(gl[i], mul(pl[i], 0.5)) : gl[i];
    assert.deepEqual(u.data, expected.data, paths[i]);
  });
  const asTree = optim.masked(
    optim.addDecayedWeights(0.5),
    rebuild(paths.map(mask)),
  );
  sameBits(
    treeLeaves(asTree.update(g, asTree.init(params0), params0).updates),
    treeLeaves(updates),
    "tree mask",
  );
  // a stateful inner keeps its state on the masked leaves only
  const m = optim.masked(optim.trace({ decay: 0.9 }), mask);
  const st = m.init(params0) as unknown as { trace: Tensor[] };
  assert.equal(st.trace.length, paths.filter(mask).length);
});

Deno.test("setToZero: params labelled for it stay the same bits through training while the rest move", () => {
  const frozen = (path: string) => path.startsWith("0.");
  const opt = optim.multiTransform(
    { train: optim.sgd({ lr: 0.1, momentum: 0.9 }), frozen: optim.setToZero() },
    (path) => frozen(path) ? "frozen" : "train",
  );
  const after = run(opt, 3);
  const before = treeLeaves(params0);
  treePaths(params0).forEach(([path], i) => {
    if (frozen(path)) assert.deepEqual(after[i].data, before[i].data, path);
    else assert.notDeepEqual(after[i].data, before[i].data, path);
  });
});

Deno.test("multiTransform, masked: errors name the function, the path and both sides", () => {
  const sgd = optim.sgd({ lr: 0.1 });
  const p = { w: tensor([1]), b: [tensor([2]), tensor([3])] };
  const fn = "optim.multiTransform";
  const bad: [string, () => unknown, RegExp][] = [
    [
      fn,
      () => optim.multiTransform({}, {} as never),
      /transforms must be an object of gradient transformations by label/,
    ],
    [
      fn,
      () => optim.multiTransform({ a: 1 } as never, "a"),
      /transforms.a must be a gradient transformation \{ init, update \}, got number 1/,
    ],
    [
      fn,
      () => optim.multiTransform({ a: sgd }, 3 as never),
      /labels must be a tree like the params or a function/,
    ],
    [
      fn,
      () => optim.multiTransform({ a: sgd }, { w: "a", b: ["a"] }).init(p),
      /labels at "b" must be an array of length 2 like the params, got an array of length 1/,
    ],
    [
      fn,
      () => optim.multiTransform({ a: sgd }, { w: "a" } as never).init(p),
      /labels at \(root\) must be an object with the params' keys \[b,w\], got keys \[w\]/,
    ],
    [
      fn,
      () => optim.multiTransform({ a: sgd }, { w: "x", b: ["a", "a"] }).init(p),
      /labels at "w" must be one of the transforms' labels \("a"\), got string x/,
    ],
    [
      fn,
      () => optim.multiTransform({ a: sgd }, () => 5 as never).init(p),
      /labels returned at "b.0" must be one of the transforms' labels \("a"\), got number 5/,
    ],
    [
      fn,
      () =>
        optim.multiTransform({ a: sgd }, () => "a").update(p, {} as never, p),
      /update: state must be what init returned \(an object with keys \[a\]\), got keys \[\]/,
    ],
    [
      fn,
      () =>
        optim.multiTransform({ a: sgd }, () => "a").update(
          p,
          { a: [] },
          { w: tensor([1]) } as never,
        ),
      /update: params and updates do not have the same structure/,
    ],
    [
      "optim.masked",
      () => optim.masked(sgd, { w: 1, b: [true, false] } as never).init(p),
      /mask at "w" must be true or false, got number 1/,
    ],
    [
      "optim.masked",
      () => optim.masked(undefined as never, () => true),
      /inner must be a gradient transformation \{ init, update \}, got undefined/,
    ],
  ];
  for (const [name, f, re] of bad) assertErrors(name, [[f, re]]);
});
