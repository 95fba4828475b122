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
    /toTorch: className must be a Python identifier, got "not a name"/,
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
