/**
 * The PyTorch basics tutorial's first program: linear regression y = 2x with
 * `nn.linear(1, 1)`, mean squared error and SGD (lr 0.01), full batch.
 *
 *   deno run examples/linear_regression.ts                 # the tutorial's 10 epochs
 *   deno run examples/linear_regression.ts --epochs 2000   # ends with w = 2.00, b = 0.00
 *
 * Each step (loss, gradient, update) runs as a `jit` plan; `--no-jit` runs
 * it eagerly, with the same numbers. At the end, the answer SGD walks
 * toward, in closed form: the least-squares fit `[w, b] = pinv([x 1]) y`
 * (`linalg.pinv`).
 *
 * @module
 */
import * as T from "../mod.ts";
import {
  type FlagSpec,
  jitFlag,
  parseFlags,
  runMain,
  threadsFlag,
  usage,
  UsageError,
  useThreads,
} from "./_cli.ts";

const { nn, optim, random } = T;

const specs = {
  epochs: { kind: "int", default: 10, help: "full-batch SGD steps" },
  lr: { kind: "number", default: 0.01, help: "learning rate" },
  seed: { kind: "int", default: 0, help: "seed of the initialisation" },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Linear regression y = 2x with nn.linear, MSE and SGD, as the PyTorch basics tutorial's first program.";

/** Trains and returns the final `{ w, b }` and the least-squares `exact` one. */
export async function main(
  args: string[],
): Promise<{ w: number; b: number; exact: { w: number; b: number } }> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/linear_regression.ts", summary, specs));
    return { w: NaN, b: NaN, exact: { w: NaN, b: NaN } };
  }
  if (!(opts.lr > 0)) {
    throw new UsageError(`--lr must be positive, got ${opts.lr}`);
  }
  const x = T.tensor([[1], [2], [3], [4]]); // inputs
  const y = T.tensor([[2], [4], [6], [8]]); // targets (y = 2x)
  const model = nn.linear({ inFeatures: 1, outFeatures: 1 }); // y = wx + b
  let params = model.init(random.key(opts.seed));
  const opt = optim.sgd({ lr: opts.lr });
  let state = opt.init(params);
  const lossFn = (p: typeof params) => T.mseLoss(model.apply(p, x), y);
  const step = (p: typeof params, s: typeof state) => {
    const [loss, grads] = T.valueAndGrad(lossFn)(p); // forward, loss, backward
    const { updates, state: next } = opt.update(grads, s, p); // the optimizer step
    return { loss, params: optim.applyUpdates(p, updates), state: next };
  };
  // traced on the first call, then replayed as one plan (--no-jit: eager)
  const run = opts.jit ? T.jit(step) : step;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const r = run(params, state), loss = r.loss;
    ({ params, state } = r);
    if (!Number.isFinite(T.item(loss))) {
      throw new Error(
        `the loss became ${
          T.item(loss)
        } at epoch ${epoch}: SGD diverged, lower --lr (${opts.lr})`,
      );
    }
    if (
      opts.epochs <= 20 || epoch % Math.ceil(opts.epochs / 10) === 0 ||
      epoch === opts.epochs
    ) {
      console.log(`Epoch ${epoch}: loss=${T.item(loss).toFixed(4)}`);
    }
  }
  const w = T.item(params.weight), b = T.item(params.bias);
  if (!Number.isFinite(w) || !Number.isFinite(b)) {
    throw new Error(
      `the weights became w = ${w}, b = ${b}: SGD diverged, lower --lr (${opts.lr})`,
    );
  }
  console.log(`\nweight and bias after training:\nw = ${w}\nb = ${b}`);
  // the minimum of the loss in closed form: [x 1] [w b]ᵀ = y by least squares
  const design = T.concat([x, T.onesLike(x)], 1);
  const [ew, eb] = T.matmul(T.linalg.pinv(design), y).data;
  console.log(
    `least squares in closed form (linalg.pinv): w = ${ew.toFixed(4)}, b = ${
      eb.toFixed(4)
    }`,
  );
  return await Promise.resolve({ w, b, exact: { w: ew, b: eb } });
}

if (import.meta.main) {
  await runMain(
    "examples/linear_regression.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
