/**
 * Probes of nn.init against torch.nn.init and of the containers' key and
 * state threading (nn/init.ts, nn/containers.ts, nn/models.ts). Reference
 * values were taken from PyTorch 1.13 / torchvision 0.14.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

const { nn, random } = T;
const init = nn.init;

Deno.test("nn.init.truncNormal: float32 draws stay inside [a, b] when the mean is far from 0 next to a small std (torch clamps after the affine map)", () => {
  // z·std + mean rounds in float32: without the final clamp 13 of these
  // 100,000 draws landed just outside [a, b]
  const mean = 648.1892366596937, std = 0.028404007703408445;
  const a = 648.1412671756905, b = 648.2055481594819;
  const w = init.truncNormal(random.key(0), [100000], { mean, std, a, b });
  const lo = Math.fround(a), hi = Math.fround(b);
  const out = [...w.data].filter((v) => v < lo || v > hi);
  assert.deepEqual(out, []);
  // ordinary settings keep their values (the clamp touches only strays)
  const u = init.truncNormal(random.key(1), [1000], { std: 0.02 });
  const z = random.truncatedNormal(random.key(1), -100, 100, [1000]);
  assert.deepEqual([...u.data], [...T.mul(z, 0.02).data]);
});

Deno.test("nn.init: gains, kaiming deviations, dirac and eye as torch.nn.init's", () => {
  const gains: [T.nn.init.Nonlinearity, number | undefined, number][] = [
    ["linear", undefined, 1],
    ["conv_transpose3d", undefined, 1],
    ["sigmoid", undefined, 1],
    ["tanh", undefined, 1.6666666666666667],
    ["relu", 0.3, 1.4142135623730951],
    ["leaky_relu", undefined, 1.4141428569978354],
    ["leaky_relu", 0.2, 1.3867504905630728],
    ["leaky_relu", -0.5, 1.2649110640673518],
    ["selu", undefined, 0.75],
  ];
  for (const [n, p, g] of gains) assert.equal(init.calculateGain(n, p), g);
  // std of kaiming_normal_ on [64, 32, 3, 3] (torch: gain / sqrt(fan))
  const stds: [string, "fanIn" | "fanOut", number, number][] = [
    ["tanh", "fanIn", 0, 0.09820927516479828],
    ["leaky_relu", "fanIn", 0.1, 0.08291976585083244],
    ["selu", "fanOut", 0, 0.03125],
    ["leaky_relu", "fanOut", 0.1, 0.058633128727524325],
  ];
  for (const [nonlinearity, mode, a, sd] of stds) {
    const w = init.kaimingNormal(random.key(3), [64, 32, 3, 3], {
      nonlinearity: nonlinearity as T.nn.init.Nonlinearity,
      mode,
      a,
    });
    let q = 0;
    for (const v of w.data) q += v * v;
    assert.ok(Math.abs(Math.sqrt(q / w.data.length) / sd - 1) < 0.03);
  }
  // torch.nn.init.dirac_(torch.empty(6, 4, 2, 4), groups=2): ones at
  // [g·3 + d, d, 1, 2] for d < 3 (flat indices from torch)
  const d = init.dirac([6, 4, 2, 4], { groups: 2 });
  const ones = [...d.data].flatMap((v, i) => v === 1 ? [i] : []);
  assert.deepEqual(ones, [6, 46, 86, 102, 142, 182]);
  assert.ok([...d.data].every((v) => v === 0 || v === 1));
  assert.deepEqual(T.toArray(init.eye([3, 2])), [[1, 0], [0, 1], [0, 0]]);
});

Deno.test("nn.model: a child that needs a key draws afresh at each call (torch's reused dropout module), the first call as before", () => {
  const ones = T.ones([1, 20000]);
  const twice = nn.model(
    { drop: nn.dropout({ p: 0.5 }) },
    (m, x) => T.concat([m.drop(x), m.drop(x)], 0),
  );
  const once = nn.model({ drop: nn.dropout({ p: 0.5 }) }, (m, x) => m.drop(x));
  const opts = { training: true, key: random.key(3) };
  const y = twice.apply({ drop: {} }, ones, opts);
  const first = y.data.slice(0, 20000), second = y.data.slice(20000);
  // the masks differ: they agree on about half the entries, not all
  const same = first.filter((v, i) => v === second[i]).length / 20000;
  assert.ok(same > 0.45 && same < 0.55, `masks agree on ${same}`);
  // the first call's mask is the one a single call draws
  assert.deepEqual([...first], [...once.apply({ drop: {} }, ones, opts).data]);
  // same key, same result
  assert.deepEqual(
    [...twice.apply({ drop: {} }, ones, opts).data],
    [...y.data],
  );
  // dropout applied twice keeps a quarter
  const chained = nn.model(
    { drop: nn.dropout({ p: 0.5 }) },
    (m, x) => m.drop(m.drop(x)),
  );
  const kept =
    [...chained.apply({ drop: {} }, ones, opts).data].filter((v) => v !== 0)
      .length / 20000;
  assert.ok(Math.abs(kept - 0.25) < 0.02, `kept ${kept}`);
});

Deno.test("containers: nested state trees and key splitting; seed models' state_dict keys as torchvision's", () => {
  const x = random.normal(random.key(1), [4, 3, 5, 5]);
  const net = nn.sequential(
    nn.sequential(
      nn.conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 }),
      nn.batchNorm2d({ numFeatures: 4 }),
    ),
    nn.relu,
    nn.sequential(nn.dropout({ p: 0.5 }), nn.sequential(nn.dropout())),
  );
  const p = net.init(random.key(0));
  assert.deepEqual(
    T.treePaths(net.initState() as T.Tree).map(([k]) => k),
    ["0.1.num_batches_tracked", "0.1.running_mean", "0.1.running_var"],
  );
  assert.throws(() => net.apply(p, x), /layer 0\.1 \(BatchNorm2d\)/);
  const run = (seed: number) =>
    net.applyWithState(p, net.initState(), x, {
      training: true,
      key: random.key(seed),
    });
  assert.deepEqual([...run(5).y.data], [...run(5).y.data]);
  assert.notDeepEqual([...run(5).y.data], [...run(6).y.data]);
  const bnState = (s: unknown) => (s as Record<string, T.Tensor>[][])[0][1];
  const r = run(5);
  assert.equal(T.item(bnState(r.state).num_batches_tracked), 1);
  // eval leaves the state as it is
  const e = net.applyWithState(p, r.state, x, { training: false });
  assert.equal(bnState(e.state), bnState(r.state));
  // two dropouts in nested containers draw independent masks
  const dd = nn.sequential(
    nn.sequential(nn.dropout({ p: 0.5 })),
    nn.sequential(nn.dropout({ p: 0.5 })),
  );
  const kept = [
    ...dd.apply([[{}], [{}]], T.ones([1, 20000]), {
      training: true,
      key: random.key(3),
    }).data,
  ].filter((v) => v !== 0).length / 20000;
  assert.ok(Math.abs(kept - 0.25) < 0.02, `kept ${kept}`);
  // key counts of torchvision's state_dict() (params and buffers)
  const specCount = (t: unknown): number =>
    Array.isArray((t as { shape?: unknown }).shape)
      ? 1
      : Object.values(t as object).reduce((s, v) => s + specCount(v), 0);
  for (
    const [make, n] of [
      [nn.resnet18, 122],
      [nn.mobilenetV2, 314],
      [nn.densenet121, 727],
    ] as const
  ) {
    const m = make();
    const buffers = T.treePaths(m.initState() as T.Tree).length;
    assert.equal(specCount(m.info.params) + buffers, n);
  }
});

Deno.test("nn.init errors name the function and its own arguments: truncNormal's far tail, constant's missing value", () => {
  assert.throws(
    () => init.truncNormal(random.key(0), [3], { std: 0.01, a: 0.4, b: 0.5 }),
    /^Error: nn\.init\.truncNormal: \[a, b\] = \[0\.4, 0\.5\] lies 40 to 50 standard deviations from the mean 0, too far in the tail to sample in float32$/,
  );
  assert.throws(
    () => init.constant([2], undefined as unknown as number),
    /^Error: nn\.init\.constant: value must be a finite number, got undefined$/,
  );
});
