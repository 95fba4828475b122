/**
 * The formula the torchvision fixtures (`gen_torchvision_models.py`,
 * `gen_nn_zoo_probe.py`) fill a model's state_dict with, so that a test
 * loads the same values without shipping them.
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

/** Entry `k` (in torchvision's key order) named `name`, of `shape`, as the fixtures fill it. */
export function filled(
  name: string,
  k: number,
  shape: readonly number[],
  dtype: "float64" | "int32",
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, (_, j) => {
    if (name.endsWith("num_batches_tracked")) return 0;
    const s = Math.sin(0.7 * j + 1.3 * k);
    return name.endsWith("running_var") ? 1 + 0.5 * s * s : 0.05 * s;
  });
  return T.tensor(v, { shape: [...shape], dtype });
}
