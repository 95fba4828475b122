/**
 * Small functional models exported with `toOnnx` and run in ONNX Runtime
 * against `apply`, shared by tests/onnx_ops_test.ts and
 * tests/onnx_dtypes_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { type OnnxTensor, runOnnxAll } from "./_onnxruntime.ts";
import type { AnyLayer } from "./_onnx_models.ts";

const { nn } = T;

/** A model, its input at a batch size and the input's shape after the batch axis. */
export interface OnnxCase {
  name: string;
  net: AnyLayer;
  /** The input at a batch size (its first axis). */
  input: (batch: number) => Float32Array;
  shape: number[];
  inputDtype?: "int32";
}

/**
 * Exports each case at batch 2 (opsets 17 and 26, the newest ONNX Runtime
 * 1.30 runs), runs ONNX Runtime at batches 1 and 3 (one child process for
 * all), and makes a step per run that calls `compare` with the case, apply's
 * output and ONNX Runtime's.
 */
export async function checkOnnxCases<C extends OnnxCase>(
  t: Deno.TestContext,
  cases: readonly C[],
  compare: (what: string, c: C, y: Tensor, output: OnnxTensor) => void,
): Promise<void> {
  const runs: [string, C, Tensor][] = [];
  const jobs = cases.flatMap((c) => {
    const params = c.net.init(T.random.key(0));
    return [17, 26].flatMap((opset) => {
      const model = nn.toOnnx(c.net, params, {
        inputShape: [2, ...c.shape],
        inputDtype: c.inputDtype,
        opset,
      });
      return [1, 3].map((batch) => {
        const s = [batch, ...c.shape], data = c.input(batch);
        const x = c.inputDtype
          ? T.tensor(Int32Array.from(data), { shape: s, dtype: "int32" })
          : T.tensor(data, { shape: s });
        runs.push([
          `${c.name}, opset ${opset}, batch ${batch}`,
          c,
          c.net.apply(params, x),
        ]);
        return {
          model,
          inputs: {
            input: { data: x.data as Float32Array | Int32Array, shape: s },
          },
        };
      });
    });
  });
  const outs = await runOnnxAll(jobs);
  for (const [k, { output }] of outs.entries()) {
    const [what, c, y] = runs[k];
    await t.step(what, () => compare(what, c, y, output));
  }
}

/** A value as text, -0 as "-0". */
const show = (v: number) => Object.is(v, -0) ? "-0" : String(v);

/** Asserts that every zero of `y` has its sign in ONNX Runtime's `output`. */
export function assertSameZeros(
  what: string,
  output: OnnxTensor,
  y: Tensor,
): void {
  const bad = [...y.data.keys()].filter((i) =>
    y.data[i] === 0 && !Object.is(output.data[i], y.data[i])
  );
  assert.deepEqual(
    bad.map((i) => `${i}: ${show(output.data[i])}`),
    [],
    `${what}: zeros of the other sign (flat index: ONNX Runtime's)`,
  );
}

/** A parameterless layer computing `f`. */
export const fl = (name: string, f: (x: Tensor) => Tensor): AnyLayer =>
  T.nn.defineLayer({ name, apply: (_p, x) => f(x) }) as AnyLayer;
