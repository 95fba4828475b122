/**
 * Per-example gradients with `vmap(grad)`: trains the LeNet-5 MNIST
 * tutorial's network briefly, then computes every training digit's own
 * gradient in batched passes, ranks the digits by the norm of their
 * gradient, and writes the 32 hardest as a titled PNG grid
 * (`out/hardest_digits.png`, or `DIR/hardest_digits.png`). The hardest are
 * often mislabelled or odd digits: the title of each shows its label and
 * what the network predicts.
 *
 *   deno run --allow-read --allow-write examples/per_example_grads.ts [--epochs N] [--out DIR]
 *
 * (Writing a file atomically needs both flags.)
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { trainEpochs } from "./_train.ts";
import {
  type FlagSpec,
  jitFlag,
  MAX_EPOCHS,
  outFlag,
  outPath,
  parseFlags,
  runMain,
  threadsFlag,
  usage,
  useThreads,
} from "./_cli.ts";
import { panelGrid, toPixels } from "./_picture.ts";

const specs = {
  epochs: {
    kind: "int",
    default: 1,
    max: MAX_EPOCHS,
    help: "training epochs before ranking",
  },
  limit: {
    kind: "int",
    default: 0,
    help: "rank only the first N training digits (0: all)",
  },
  count: {
    kind: "int",
    default: 32,
    min: 1,
    help: "how many of the hardest to draw",
  },
  seed: { kind: "int", default: 0, help: "random seed" },
  out: outFlag("hardest_digits.png (the grid)"),
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Ranks MNIST training digits by the norm of their own gradient (vmap(grad)) and draws the hardest.";

/** One ranked digit: its index in the training set, gradient norm, label and prediction. */
export interface Ranked {
  index: number;
  norm: number;
  label: number;
  predicted: number;
}

/** Runs the example; returns the digits ranked hardest first. */
export async function main(args: string[]): Promise<Ranked[]> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/per_example_grads.ts", summary, specs));
    return [];
  }
  // the folder first: a bad --out is reported before the training
  const path = await outPath(opts.out, "hardest_digits.png");
  const mnist = await T.data.loadMnist();
  const prep = (x: Tensor) =>
    T.div(T.sub(T.data.padImages(x, 2), 0.1307), 0.3081); // 32x32, normalized
  const n = opts.limit > 0
    ? Math.min(opts.limit, mnist.train.y.shape[0])
    : mnist.train.y.shape[0];
  const train = { x: prep(mnist.train.x), y: mnist.train.y };
  const net = T.nn.lenet5();
  let params = net.init(T.random.key(opts.seed));
  params = trainEpochs({
    jit: opts.jit,
    model: net,
    params,
    opt: T.optim.adam({ lr: 1e-3 }),
    train,
    epochs: opts.epochs,
    key: T.random.key(opts.seed + 1),
  });
  // one example's loss; vmap gives every example's gradient in one pass
  const loss = (p: typeof params, x: Tensor, y: Tensor) =>
    T.crossEntropy(net.apply(p, T.expandDims(x, 0)), T.expandDims(y, 0));
  const vmapped = T.vmap(T.grad(loss), { inAxes: [null, 0, 0] });
  // (as jit plans, one per batch shape, unless --no-jit)
  const perExample = opts.jit ? T.jit(vmapped) : vmapped;
  const apply = (p: typeof params, x: Tensor) => net.apply(p, x);
  const infer = opts.jit ? T.jit(apply) : apply;
  const norms: number[] = [], predicted: number[] = [];
  const ds = { x: T.slice(train.x, [0], [n]), y: T.slice(train.y, [0], [n]) };
  for (const b of T.data.batches(ds, { batchSize: 64 })) {
    const g = perExample(params, b.x, b.y); // each leaf [batch, ...param shape]
    const sq = T.treeLeaves(g).map((l) =>
      T.sum(T.square(T.reshape(l, [l.shape[0], -1])), { axis: 1 })
    );
    const total = sq.reduce((s, t) => T.add(s, t));
    norms.push(...Array.from(T.sqrt(total).data));
    predicted.push(
      ...Array.from(T.argmax(infer(params, b.x), { axis: 1 }).data),
    );
  }
  const ranked: Ranked[] = norms.map((norm, index) => ({
    index,
    norm,
    label: ds.y.data[index],
    predicted: predicted[index],
  })).sort((a, b) => b.norm - a.norm);
  const hardest = ranked.slice(0, Math.min(opts.count, ranked.length));
  const wrong = hardest.filter((r) => r.label !== r.predicted).length;
  console.log(
    `ranked ${n} training digits by gradient norm; of the ${hardest.length} hardest, ${wrong} are predicted wrong (the median norm is ${
      ranked[Math.floor(ranked.length / 2)].norm.toExponential(2)
    }, the largest ${ranked[0].norm.toExponential(2)})`,
  );
  const grid = panelGrid(
    hardest.map((r) => ({
      title: `${r.label} as ${r.predicted}`,
      image: toPixels(
        T.reshape(T.slice(mnist.train.x, [r.index], [r.index + 1]), [28, 28]),
      ),
    })),
    { scale: 4, columns: 8 },
  );
  await T.data.writePng(path, grid);
  console.log(`wrote ${path} (each titled "label as prediction")`);
  return ranked;
}

if (import.meta.main) {
  await runMain(
    "examples/per_example_grads.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
