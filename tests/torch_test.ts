/**
 * The PyTorch bridge: for every case of tests/fixtures/torch_bridge.json
 * (made by `deno task verify:torch` with Debian's PyTorch from nn.toTorch's
 * source and the library's weights), nn.toTorch still writes the source the
 * fixture ran, and the library's apply gives PyTorch's output (1e-5).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { paramsAndState } from "./_onnx_models.ts";
import { inputOf, torchCases } from "./fixtures/torch_bridge.ts";

interface Case {
  name: string;
  source: string;
  input: { shape: number[] };
  output: { shape: number[]; data: number[] };
}

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/torch_bridge.json", import.meta.url),
  ),
) as { cases: Case[] };

Deno.test("toTorch: every bridge case is in the fixture", () => {
  assert.deepEqual(
    fixture.cases.map((c) => c.name).sort(),
    torchCases().map(([n]) => n).sort(),
  );
});

for (const c of fixture.cases) {
  Deno.test(`toTorch: PyTorch runs the generated module as apply does: ${c.name}`, () => {
    const [, net, shape] = torchCases().find(([n]) => n === c.name)!;
    // the fixture ran this very source (regenerate with deno task verify:torch)
    assert.equal(T.nn.toTorch(net, { inputShape: shape }), c.source);
    const { params, state } = paramsAndState(net, shape);
    const x = inputOf(shape); // the input the fixture ran
    assert.deepEqual(x.shape, c.input.shape);
    const y = state === undefined
      ? net.apply(params, x)
      : (net.applyWithState(params, state, x) as { y: Tensor }).y;
    assertAllClose(y, T.tensor(c.output.data, { shape: c.output.shape }), {
      atol: 1e-5,
      rtol: 1e-5,
      msg: c.name,
    });
  });
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
