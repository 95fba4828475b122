/**
 * The PyTorch bridge: for every case of tests/fixtures/torch_bridge.json
 * (VGG16's in onnx_test.ts)
 * (made by `deno task verify:torch` with Debian's PyTorch from nn.toTorch's
 * source and the library's weights), nn.toTorch still writes the source the
 * fixture ran, and the library's apply gives PyTorch's output (1e-5).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { bridgeCases, checkBridgeCase } from "./_torch_bridge.ts";
import { torchCases } from "./fixtures/torch_bridge.ts";

Deno.test("toTorch: every bridge case is in the fixture", () => {
  assert.deepEqual(
    bridgeCases.map((c) => c.name).sort(),
    torchCases().map(([n]) => n).sort(),
  );
});

// VGG16's case runs in onnx_test.ts, next to its ONNX check, sharing the
// 138M-parameter init
for (const c of bridgeCases.filter((c) => c.name !== "vgg16")) {
  Deno.test(`toTorch: PyTorch runs the generated module as apply does: ${c.name}`, () =>
    checkBridgeCase(c));
}

Deno.test("toTorch: a className, and what it cannot write", () => {
  assert.match(
    T.nn.toTorch(T.nn.birdPlaneNet(), { className: "BirdPlane" }),
    /class BirdPlane\(nn\.Sequential\):/,
  );
  assert.throws(
    () => T.nn.toTorch(T.nn.lenet5(), { className: "not a name" }),
    /toTorch: className must be a Python identifier that is no keyword \(nor torch, nn, F or make_model, which the source uses\), got "not a name"/,
  );
  const glue = T.nn.model(
    { fc: T.nn.linear({ inFeatures: 4, outFeatures: 4 }) },
    (m, x) => T.add(m.fc(x), x),
  );
  assert.throws(
    () => T.nn.toTorch(glue, { inputShape: [1, 4] }),
    /toTorch: Model's forward computes with tensor ops between its layers \(at its output\)/,
  );
});

Deno.test("toTorch: names Python cannot take as they are (keys that are keywords, model names with spaces or called F, a model called Sequential) still give a module whose state_dict keys are the paths", () => {
  const { nn } = T;
  const lin = () => nn.linear({ inFeatures: 3, outFeatures: 3 });
  for (const cn of ["None", "torch", "class", "F"]) {
    assert.throws(
      () => nn.toTorch(nn.lenet5(), { className: cn }),
      /toTorch: className must be a Python identifier that is no keyword/,
    );
  }
  // a model called Sequential is a module with forward, not nn.Sequential
  const seq = nn.toTorch(
    nn.model({ s: nn.sequential(lin()) }, (m, x) => m.s(x), {
      name: "Sequential",
    }),
    { inputShape: [2, 3] },
  );
  assert.match(seq, /class Sequential\(nn\.Module\):/);
  assert.match(seq, /self\.s = nn\.Sequential\(/);
  // keys that are keywords: add_module and getattr, the keys unchanged
  const kw = nn.toTorch(
    nn.model({ in: lin(), def: lin() }, (m, x) => m.def(m.in(x)), {
      name: "K",
    }),
    { inputShape: [2, 3] },
  );
  assert.match(kw, /self\.add_module\("in", nn\.Linear\(/);
  assert.match(kw, /x2 = getattr\(self, "def"\)\(x1\)/);
  // model names: other characters as _, a name the source uses with _ after
  const inner = nn.model({ a: lin() }, (m, x) => m.a(x), { name: "F" });
  const named = nn.toTorch(
    nn.model({ f: inner, g: lin() }, (m, x) => m.g(m.f(x)), {
      name: "My Net",
    }),
    { inputShape: [2, 3] },
  );
  assert.match(named, /class F_\(nn\.Module\):/);
  assert.match(named, /class My_Net\(nn\.Module\):/);
  assert.match(named, /self\.f = F_\(\)/);
});
