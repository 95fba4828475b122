/**
 * Probe of the containers, the model zoo, summary and the metrics.
 *
 * Models against torch 1.13 / torchvision 0.14 (tests/fixtures/nn_zoo_probe.json, written by
 * tests/fixtures/gen_nn_zoo_probe.py): at odd input sizes, every registered child's output
 * shape in `nn.summary`'s table equals the output shape of the module of that qualified name
 * (forward hooks), the totals equal torch's parameter and buffer counts, and with the same
 * state_dict values the outputs (evaluation and training mode) and the updated running
 * statistics agree (float64). Metrics against closed forms counted by hand.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { filled } from "./_state_dicts.ts";
import fixture from "./fixtures/nn_zoo_probe.json" with { type: "json" };

const { nn, metrics } = T;
const int32 = { dtype: "int32" } as const;
type M = (typeof fixture.models)[number] & {
  eval?: number[];
  train?: number[];
  state?: Record<string, { head: number[]; sum: number }>;
};

/** Our model of the fixture's name, float64, 5 classes and no dropout where it has those options. */
function make(name: string): T.nn.AnyLayer {
  const d = { dtype: "float64" } as const;
  const c = { numClasses: 5, dtype: "float64" } as const;
  const makers: Record<string, () => T.nn.AnyLayer> = {
    simpleFCN: () => nn.simpleFCN(d),
    simpleCNN: () => nn.simpleCNN(d),
    birdPlaneNet: () => nn.birdPlaneNet(d),
    resnet18: () => nn.resnet18(c),
    resnet50: () => nn.resnet50(c),
    squeezenet1_1: () => nn.squeezenet1_1({ ...c, dropout: 0 }),
    mobilenetV2: () => nn.mobilenetV2({ ...c, dropout: 0 }),
    densenet121: () => nn.densenet121(c),
    alexnet: () => nn.alexnet({ ...c, dropout: 0 }),
  };
  return makers[name]();
}

/** The summary table's registered rows: qualified name -> output shape (first call). */
function summaryShapes(text: string): Map<string, number[]> {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith("Layer (type (name))")) + 2;
  const out = new Map<string, number[]>();
  const stack: string[] = [];
  for (const line of lines.slice(start)) {
    if (line.startsWith("=")) break;
    const m = /^((?:│ {4})*)(├─|└─)?(.*?) +(\[[\d, ]*\])/.exec(line);
    assert.ok(m, line);
    const depth = m[2] ? m[1].length / 5 + 1 : 0;
    const name = /\(([^()]+)\)$/.exec(m[3]);
    if (depth === 0 || !name) continue; // the root, or a functional layer
    stack[depth] = name[1];
    const path = stack.slice(1, depth + 1).join(".");
    if (!out.has(path)) out.set(path, JSON.parse(m[4]));
  }
  return out;
}

/** A tree of the spec tree's structure whose leaf at path p is make(p, shape, dtype). */
function fromSpecs(
  specs: unknown,
  make: (p: string, s: number[], dtype: string) => Tensor,
): Tree {
  const isSpec = (v: unknown) =>
    typeof v === "object" && v !== null && "shape" in v && "dtype" in v;
  const [leaves, def] = T.treeFlatten(specs as Tree, isSpec);
  const paths = T.treePaths(specs as Tree, isSpec).map(([p]) => p);
  return T.treeUnflatten(
    def,
    leaves.map((l, i) => {
      const s = l as unknown as { shape: number[]; dtype: string };
      return make(paths[i], s.shape, s.dtype);
    }),
  );
}

for (const m of fixture.models as M[]) {
  Deno.test(`${m.name}: summary's rows, totals and output shape as torch's modules at input ${JSON.stringify(m.inputShape)}`, () => {
    const net = make(m.name);
    const text = nn.summary(net, m.inputShape);
    const ours = summaryShapes(text);
    const theirs = new Map(Object.entries(m.moduleShapes));
    assert.ok(ours.size >= 2, text);
    for (const [path, shape] of ours) {
      assert.ok(theirs.has(path), `${path} is not a torch module`);
      assert.deepEqual(shape, theirs.get(path), path);
    }
    // every torch module holding a parameter or buffer is a row of ours
    for (const path of theirs.keys()) {
      if (m.keys.some((k) => k.startsWith(path + "."))) {
        assert.ok(ours.has(path), `no row for ${path}`);
      }
    }
    assert.deepEqual(net.info.outputShape(m.inputShape), m.outputShape);
    const count = (s: string) =>
      Number(
        new RegExp(`^${s}: ([\\d,]+)$`, "m").exec(text)?.[1].replaceAll(
          ",",
          "",
        ),
      );
    assert.equal(nn.paramCount(net), m.params);
    assert.equal(count("Total params"), m.params);
    assert.equal(count("Trainable params"), m.params);
    if (m.buffers > 0) assert.equal(count("Buffers \\(state\\)"), m.buffers);
    else assert.doesNotMatch(text, /Buffers/);
    // float64 parameters are 8 bytes each
    assert.match(
      text,
      new RegExp(
        `Params size \\(MB\\): ${(m.params * 8 / 1e6).toFixed(2)}$`,
        "m",
      ),
    );
  });

  if (m.eval === undefined) continue;
  Deno.test(`${m.name}: state_dict keys, outputs (eval and train) and running statistics as torch's with the same values (float64)`, () => {
    const net = make(m.name);
    const index = new Map(m.keys.map((k, i) => [k, i]));
    const fill = (p: string, s: number[], dtype: string) => {
      assert.ok(index.has(p), `${p} is not in torch's state_dict`);
      return filled(
        p,
        index.get(p)!,
        s,
        dtype === "int32" ? "int32" : "float64",
      );
    };
    const params = fromSpecs(net.info.params, fill);
    const st = fromSpecs(net.initState(), fill);
    const ours = [...T.treePaths(params), ...T.treePaths(st)].map(([p]) => p)
      .sort();
    assert.deepEqual(ours, [...m.keys].sort());
    const x = T.reshape(
      T.sin(
        T.mul(
          T.arange(m.inputShape.reduce((a, b) => a * b, 1), undefined, 1, {
            dtype: "float64",
          }),
          0.01,
        ),
      ),
      m.inputShape,
    );
    const ev = net.applyWithState(params as never, st as never, x);
    assertAllClose(ev.y, m.eval, { rtol: 1e-9, atol: 1e-12 });
    const tr = net.applyWithState(params as never, st as never, x, {
      training: true,
    });
    assertAllClose(tr.y, m.train!, { rtol: 1e-8, atol: 1e-11 });
    const after = new Map(T.treePaths(tr.state as Tree));
    assert.equal(after.size, Object.keys(m.state!).length);
    for (const [k, { head, sum }] of Object.entries(m.state!)) {
      const t = after.get(k)!;
      assertAllClose(T.slice(T.reshape(t, [-1]), [0], [head.length]), head, {
        rtol: 1e-9,
        atol: 1e-12,
        msg: k,
      });
      assertAllClose(T.item(T.sum(T.astype(t, "float64"))), sum, {
        rtol: 1e-9,
        atol: 1e-9,
        msg: k,
      });
    }
  });
}

Deno.test("model zoo: a bad numClasses, dropout or dtype names the model and the option, not an inner layer", () => {
  const makers = {
    "nn.resnet18": nn.resnet18,
    "nn.resnet50": nn.resnet50,
    "nn.vgg16": nn.vgg16,
    "nn.mobilenetV2": nn.mobilenetV2,
    "nn.alexnet": nn.alexnet,
    "nn.squeezenet1_1": nn.squeezenet1_1,
    "nn.densenet121": nn.densenet121,
  } as Record<string, (o: unknown) => unknown>;
  for (const [fn, make] of Object.entries(makers)) {
    for (const [v, got] of [[0, "0"], [2.5, "2.5"], ["10", "string 10"]]) {
      assert.throws(
        () => make({ numClasses: v }),
        new RegExp(
          `^Error: ${fn}: numClasses must be a positive integer, got ${got}$`,
        ),
      );
    }
    assert.throws(
      () => make({ dtype: "int32" }),
      new RegExp(
        `^Error: ${fn}: dtype must be "float32" or "float64", got string int32$`,
      ),
    );
  }
  for (
    const fn of ["nn.vgg16", "nn.mobilenetV2", "nn.alexnet", "nn.squeezenet1_1"]
  ) {
    assert.throws(
      () => makers[fn]({ dropout: 1.5 }),
      new RegExp(
        `^Error: ${fn}: dropout must be a probability in \\[0, 1\\], got 1.5$`,
      ),
    );
  }
  assert.throws(
    () => nn.lenet5({ dtype: "float16" as never }),
    /^Error: nn\.lenet5: dtype must be "float32" or "float64", got string float16$/,
  );
});

const y = (v: number[]) => T.tensor(v, int32);

Deno.test("accuracy: a label outside the logits' classes (or negative) is an error, as topKAccuracy's, not a miss", () => {
  const logits = T.tensor([[0, 1, 0], [2, 0, 0]]);
  assert.throws(
    () => metrics.accuracy(logits, y([1, 3])),
    /^Error: accuracy: labels has class index 3 at position 1, outside \[0, 2\]$/,
  );
  assert.throws(
    () => metrics.accuracy(logits, y([-1, 0])),
    /^Error: accuracy: labels has class index -1 at position 0, outside \[0, 2\]$/,
  );
  // class indices: any label >= 0 may be a class, a negative one is not
  assert.throws(
    () => metrics.accuracy(y([0, 1]), y([0, -100])),
    /^Error: accuracy: labels has class index -100 at position 1, a negative one$/,
  );
  // per pixel: logits [N, C, H, W], labels [N, H, W]
  const seg = T.tensor([[[[1, 0]], [[0, 1]], [[0, 0]]]]); // [1, 3, 1, 2]: argmax 0 and 1
  assert.equal(metrics.accuracy(seg, T.tensor([[[0, 2]]], int32)), 1 / 2);
  assert.throws(
    () => metrics.accuracy(seg, T.tensor([[[0, 3]]], int32)),
    /outside \[0, 2\]$/,
  );
});

Deno.test("confusionMatrix: logits whose class count is not numClasses are an error (torchmetrics'), not counted silently", () => {
  const five = T.tensor([[0, 1, 0, 0, 0]]);
  assert.throws(
    () => metrics.confusionMatrix(five, y([1]), 3),
    /^Error: confusionMatrix: logits \[1,5\] have 5 classes \(axis 1\) but numClasses is 3$/,
  );
  assert.throws(
    () => metrics.confusionMatrix(T.tensor([[0, 1]]), y([1]), 3),
    /^Error: confusionMatrix: logits \[1,2\] have 2 classes \(axis 1\) but numClasses is 3$/,
  );
  assert.throws(
    () =>
      metrics.precisionRecallF1(T.tensor([[0, 1]]), y([1]), { numClasses: 3 }),
    /^Error: precisionRecallF1: logits \[1,2\] have 2 classes/,
  );
  // matching logits count by their argmax
  assert.deepEqual(
    T.toArray(
      metrics.confusionMatrix(T.tensor([[0, 1], [3, 2]]), y([1, 1]), 2),
    ),
    [[0, 0], [1, 1]],
  );
});

Deno.test("topKAccuracy: k that is not a number is described in the error", () => {
  assert.throws(
    () => metrics.topKAccuracy(T.zeros([2, 3]), y([0, 1]), "2" as never),
    /^Error: topKAccuracy: k must be an integer in \[1, 3\], got string 2$/,
  );
  assert.throws(
    () => metrics.topKAccuracy(T.zeros([2, 3]), y([0, 1]), 1.5),
    /^Error: topKAccuracy: k must be an integer in \[1, 3\], got 1\.5$/,
  );
});

Deno.test("metrics against closed forms: top-k with ties and -Infinity, one class, precision/recall/F1 by hand", () => {
  // ties count in the label's favour: fewer than k logits strictly larger
  const tied = T.tensor([[1, 1, 0], [0, 2, 2], [-Infinity, -Infinity, 0]]);
  assert.equal(metrics.topKAccuracy(tied, y([1, 1, 0]), 1), 2 / 3); // 0 larger, 0 larger, 1 larger
  assert.equal(metrics.topKAccuracy(tied, y([1, 1, 0]), 2), 1);
  // one class: everything is right
  assert.equal(metrics.accuracy(T.zeros([3, 1]), y([0, 0, 0])), 1);
  assert.deepEqual(
    metrics.precisionRecallF1(y([0, 0]), y([0, 0]), { numClasses: 1 }),
    { precision: 1, recall: 1, f1: 1 },
  );
  // y = [0 1 2 2 2 1], p = [0 1 1 2 2 0]: tp = [1, 1, 2], predicted = [2, 2, 2], support = [1, 2, 3]
  const t = y([0, 1, 2, 2, 2, 1]), p = y([0, 1, 1, 2, 2, 0]);
  const P = [1 / 2, 1 / 2, 1], R = [1, 1 / 2, 2 / 3];
  const F = P.map((v, k) => (2 * v * R[k]) / (v + R[k]));
  const close = (a: number, b: number) =>
    assert.ok(Math.abs(a - b) < 1e-15, `${a} vs ${b}`);
  const none = metrics.precisionRecallF1(p, t, {
    numClasses: 3,
    average: "none",
  });
  none.precision.forEach((v, k) => close(v, P[k]));
  none.recall.forEach((v, k) => close(v, R[k]));
  none.f1.forEach((v, k) => close(v, F[k]));
  const w = [1 / 6, 2 / 6, 3 / 6],
    dot = (v: number[]) => v.reduce((s, x, k) => s + x * w[k], 0);
  const weighted = metrics.precisionRecallF1(p, t, {
    numClasses: 3,
    average: "weighted",
  });
  close(weighted.precision, dot(P));
  close(weighted.recall, dot(R));
  close(weighted.f1, dot(F));
  const micro = metrics.precisionRecallF1(p, t, {
    numClasses: 3,
    average: "micro",
  });
  close(micro.f1, 4 / 6); // = accuracy
  close(metrics.accuracy(p, t), 4 / 6);
  // empty batches: accuracy and top-k refuse, the confusion matrix is zeros
  assert.throws(
    () => metrics.accuracy(T.zeros([0, 3]), y([])),
    /^Error: accuracy: labels is empty$/,
  );
  assert.deepEqual(T.toArray(metrics.confusionMatrix(y([]), y([]), 2)), [
    [0, 0],
    [0, 0],
  ]);
});

Deno.test("a container's child error names the child's path (a plain Error, its cause the child's); errors of other classes pass unchanged, under grad and jit too", () => {
  const net = T.nn.resnet18({ numClasses: 10 });
  type P = ReturnType<typeof net.init>;
  const p = net.init(T.random.key(0)) as P & {
    layer1: Record<string, { conv1: Record<string, unknown> }>;
  };
  const x = T.zeros([1, 3, 32, 32]);
  const bad = structuredClone(p) as typeof p;
  delete bad.layer1["0"].conv1.weight;
  const run = (q: P) => net.applyWithState(q, net.initState(), x).y;
  const want =
    /^Error: nn\.Conv2d\.apply: params\.weight must be a Tensor of shape \[64,64,3,3\], got undefined .* \(in child layer1\.0\.conv1\)$/;
  for (const f of [() => run(bad), () => T.jit(run)(bad)]) {
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof Error && e.constructor === Error);
      assert.match(String(e), want);
      const cause = (e as Error).cause as Error;
      assert.match(cause.message, /^nn\.Conv2d\.apply: params\.weight /);
      assert.doesNotMatch(cause.message, /in child/);
      return true;
    });
  }
  // under grad: the layer's input error, in a sequential in a model
  const inner = T.nn.sequential(
    T.nn.linear({ inFeatures: 2, outFeatures: 3 }),
    T.nn.relu,
  );
  const m = T.nn.model({ body: inner }, (c, v) => c.body(v));
  const mp = m.init(T.random.key(1));
  assert.throws(
    () => T.grad((q: typeof mp) => T.sum(m.apply(q, T.zeros([4, 5]))))(mp),
    /^Error: linear: x has 5 features but weight expects 2 .* \(in child body\.0\)$/,
  );
  // another class (here a TypeError from a layer's own code) passes as it is
  const odd = T.nn.defineLayer({
    name: "Odd",
    apply: () => {
      throw new TypeError("odd layer");
    },
  });
  const s = T.nn.sequential(T.nn.relu, odd);
  assert.throws(
    () => s.apply(s.init(T.random.key(2)), T.zeros([2])),
    (e: unknown) => e instanceof TypeError && e.message === "odd layer",
  );
});
