/**
 * Helpers of the examples' tests: running an example's `main` with its
 * printing captured, and a tiny CIFAR-10 folder to train on.
 *
 * @module
 */
import { join } from "node:path";
import * as T from "../mod.ts";

/** Runs `f` with console.log captured; returns [result, printed lines]. */
export async function quiet<R>(f: () => Promise<R>): Promise<[R, string[]]> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    return [await f(), lines];
  } finally {
    console.log = orig;
  }
}

/** Writes a CIFAR-10 folder into `dir`: 20 random records per batch file, labels cycling 0..9. */
export async function tinyCifar(dir: string): Promise<void> {
  const bits = T.random.randint(T.random.key(0), [20 * 3073], 0, 256).data;
  for (
    const f of [
      "data_batch_1",
      "data_batch_2",
      "data_batch_3",
      "data_batch_4",
      "data_batch_5",
      "test_batch",
    ]
  ) {
    const bytes = Uint8Array.from(bits);
    for (let r = 0; r < 20; r++) bytes[r * 3073] = r % 10;
    await Deno.writeFile(join(dir, `${f}.bin`), bytes);
  }
}
