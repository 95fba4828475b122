/**
 * Activations (ops/activations.ts): argument errors. Their values and
 * gradients are checked against PyTorch (cnn_fixtures_test.ts,
 * numerics_test.ts) and by the gradient table (grad_table_test.ts); relu,
 * sigmoid and tanh are elementwise ops (elementwise_test.ts). The index is in
 * docs/testing.md.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

Deno.test("errors: leakyRelu, gelu, softmax", () => {
  const z = (s: number[]) => T.zeros(s);
  assert.throws(
    () => T.leakyRelu(z([2]), { slope: 0.1 } as never),
    /leakyRelu: unknown option "slope"/,
  );
  assert.throws(
    () => T.gelu(z([2]), { approximate: "erf" as never }),
    /gelu: approximate must be "none" or "tanh", got "erf"/,
  );
  assert.throws(
    () => T.softmax(z([2]), { dim: 0 } as never),
    /softmax: unknown option "dim"/,
  );
});
