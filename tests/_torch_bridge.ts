/**
 * The PyTorch bridge fixture (tests/fixtures/torch_bridge.json, made by
 * `deno task verify:torch` with Debian's PyTorch from nn.toTorch's source and
 * the library's weights) and the check of one of its cases.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { paramsAndState } from "./_onnx_models.ts";
import { inputOf, torchCases } from "./fixtures/torch_bridge.ts";

/** One case of the fixture: the source PyTorch ran, and its output. */
export interface BridgeCase {
  name: string;
  source: string;
  input: { shape: number[] };
  output: { shape: number[]; data: number[] };
}

/** The fixture's cases. */
export const bridgeCases: BridgeCase[] = (JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/torch_bridge.json", import.meta.url),
  ),
) as { cases: BridgeCase[] }).cases;

/** nn.toTorch still writes the source the fixture ran, and apply gives PyTorch's output (1e-5). */
export function checkBridgeCase(c: BridgeCase): void {
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
}
