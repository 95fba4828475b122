/**
 * The optimizer comparison table of the PyTorch basics tutorial, run: one
 * small model (an MLP on 2,048 embedded MNIST digits) trained with each of
 * the 13 optimizers from the same initialisation; writes an SVG of the loss
 * curves (`out/optimizers.svg`, or `DIR/optimizers.svg`) and prints a table
 * of final losses.
 *
 *   deno run --allow-write examples/optimizers.ts [--out DIR]
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { accuracy, makeOptimizer } from "./lenet.ts";
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
import { trainEpoch } from "./_train.ts";

const { data, nn, random } = T;

/** The 13 rows of the tutorial's table, with a learning rate that suits this model. */
export const TABLE = [
  ["sgd", 0.1],
  ["momentum", 0.05],
  ["nag", 0.05],
  ["adagrad", 0.03],
  ["rmsprop", 1e-3],
  ["adam", 1e-3],
  ["adamw", 1e-3],
  ["adadelta", 1],
  ["nadam", 1e-3],
  ["lion", 1e-4],
  ["lamb", 5e-3],
  ["adafactor", 1e-2],
  ["radam", 1e-3],
] as const;

const specs = {
  epochs: {
    kind: "int",
    default: 4,
    min: 1,
    max: MAX_EPOCHS,
    help: "passes over the 2,048 training digits",
  },
  out: outFlag("optimizers.svg (the loss curves)"),
  seed: {
    kind: "int",
    default: 0,
    help: "seed of the shared initialisation and the batch order",
  },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Trains one small model with each of the 13 optimizers of the PyTorch basics tutorial's comparison table.";

/** Ten to thirteen distinguishable line colours (matplotlib's tab10, then three more). */
const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#000000",
  "#aec7e8",
  "#98df8a",
];

/**
 * An SVG line chart of loss curves: one polyline per `[label, losses]`,
 * the loss on a log scale, a titled legend (a line sample and the label per
 * curve), both axes labelled, with ticks and grid lines.
 */
export function lossChart(
  curves: [string, number[]][],
  { title = "", xLabel = "step", yLabel = "training loss (log scale)" } = {},
): string {
  const w = 800, h = 460, left = 70, right = 190, top = 40, bottom = 50;
  const all = curves.flatMap(([, c]) => c).filter((v) =>
    v > 0 && Number.isFinite(v)
  );
  const lo = Math.log10(Math.min(...all)), hi = Math.log10(Math.max(...all));
  const n = Math.max(...curves.map(([, c]) => c.length));
  const px = (i: number) =>
    left + (i / Math.max(n - 1, 1)) * (w - left - right);
  const py = (v: number) =>
    top +
    (1 - (Math.log10(v) - lo) / Math.max(hi - lo, 1e-9)) * (h - top - bottom);
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  // y: a grid line and label at 1, 2 and 5 times each power of ten in range
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e, y = py(v);
      if (Math.log10(v) < lo - 1e-9 || Math.log10(v) > hi + 1e-9) continue;
      parts.push(
        `<line x1="${left}" x2="${w - right}" y1="${f(y)}" y2="${
          f(y)
        }" stroke="#e5e5e5"/>`,
        `<text x="${left - 6}" y="${
          f(y + 4)
        }" font-size="11" text-anchor="end">${Number(v.toPrecision(1))}</text>`,
      );
    }
  }
  // x: about six round steps
  const stepTick = 10 ** Math.floor(Math.log10(Math.max(n - 1, 1) / 5));
  const tick = [1, 2, 5, 10].map((m) => m * stepTick).find((t) =>
    (n - 1) / t <= 6
  )!;
  for (let i = 0; i <= n - 1; i += tick) {
    parts.push(
      `<line x1="${f(px(i))}" x2="${f(px(i))}" y1="${h - bottom}" y2="${
        h - bottom + 5
      }" stroke="black"/>`,
      `<text x="${f(px(i))}" y="${
        h - bottom + 18
      }" font-size="11" text-anchor="middle">${i}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${
      h - bottom
    }" stroke="black"/>`,
    `<line x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${
      h - bottom
    }" stroke="black"/>`,
    `<text x="${(left + w - right) / 2}" y="${
      h - 12
    }" font-size="13" text-anchor="middle">${xLabel}</text>`,
    `<text x="18" y="${
      (top + h - bottom) / 2
    }" font-size="13" transform="rotate(-90 18 ${
      (top + h - bottom) / 2
    })" text-anchor="middle">${yLabel}</text>`,
    `<text x="${
      w / 2
    }" y="24" font-size="15" text-anchor="middle">${title}</text>`,
  );
  curves.forEach(([, c], k) => {
    const pts = c.map((v, i) => `${f(px(i))},${f(py(Math.max(v, 10 ** lo)))}`);
    parts.push(
      `<polyline fill="none" stroke="${
        COLORS[k % COLORS.length]
      }" stroke-width="1.5" points="${pts.join(" ")}"/>`,
    );
  });
  // the legend: a framed box right of the plot
  const lx = w - right + 16, ly = top, lh = 18 * curves.length + 30;
  parts.push(
    `<rect x="${lx}" y="${ly}" width="${
      right - 24
    }" height="${lh}" fill="white" stroke="#999"/>`,
    `<text x="${lx + 10}" y="${
      ly + 18
    }" font-size="12" font-weight="bold">optimizer (lr)</text>`,
    ...curves.map(([name], k) => {
      const y = ly + 36 + 18 * k;
      return `<line x1="${lx + 10}" x2="${lx + 34}" y1="${y - 4}" y2="${
        y - 4
      }" stroke="${COLORS[k % COLORS.length]}" stroke-width="3"/>` +
        `<text x="${lx + 42}" y="${y}" font-size="11">${name}</text>`;
    }),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>\n`;
}

/** Runs every optimizer; returns [name, final loss, test accuracy] rows. */
export async function main(
  args: string[],
): Promise<[string, number, number][]> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/optimizers.ts", summary, specs));
    return [];
  }
  // the folder first: a bad --out is reported before the training
  const path = await outPath(opts.out, "optimizers.svg", ["write"]);
  const mnist = await data.loadMnist();
  const norm = (x: Tensor) => T.div(T.sub(x, 0.1307), 0.3081);
  const train = data.take({ x: norm(mnist.train.x), y: mnist.train.y }, [
    ...Array(2048).keys(),
  ]);
  const test = { x: norm(mnist.test.x), y: mnist.test.y };
  const model = nn.sequential(
    nn.flatten(),
    nn.linear({ inFeatures: 784, outFeatures: 64 }),
    nn.relu,
    nn.linear({ inFeatures: 64, outFeatures: 10 }),
  );
  const init = model.init(random.key(opts.seed)); // the same start for everyone
  // evaluation, as one jit plan per batch shape (or eager with --no-jit)
  const apply = (p: typeof init, x: Tensor) => model.apply(p, x);
  const infer = opts.jit ? T.jit(apply) : apply;
  const curves: [string, number[]][] = [];
  const rows: [string, number, number][] = [];
  for (const [name, lr] of TABLE) {
    const opt: T.optim.GradientTransformation = makeOptimizer(name, lr);
    let params = init, state = opt.init(params);
    const curve: number[] = [];
    const epochKeys = random.split(random.key(opts.seed + 1), opts.epochs);
    for (let e = 0; e < opts.epochs; e++) {
      ({ params, state } = trainEpoch({
        model,
        params,
        state,
        opt,
        jit: opts.jit,
        batches: data.batches(train, {
          batchSize: 64,
          shuffle: true,
          key: epochKeys[e],
        }),
        onStep: ({ loss }) => curve.push(loss),
      }));
    }
    const tail = curve.slice(-8);
    const final = tail.reduce((a, b) => a + b, 0) / tail.length;
    const acc = accuracy((x) => infer(params, x), test);
    rows.push([name, final, acc]);
    curves.push([`${name} (${lr})`, curve]);
    console.log(
      `${name.padEnd(10)} lr ${String(lr).padEnd(7)} final loss ${
        final.toFixed(4)
      }  test accuracy ${acc.toFixed(4)}`,
    );
  }
  await Deno.writeTextFile(
    path,
    lossChart(curves, {
      title: `13 optimizers, one MLP (784-64-10), ${
        train.y.shape[0]
      } MNIST images`,
      xLabel: "step (batches of 64)",
    }),
  ).catch((e) => {
    if (e instanceof Deno.errors.NotCapable) {
      throw new Error(`cannot write ${path}: run with --allow-write`);
    }
    throw e;
  });
  console.log(`wrote ${path}`);
  return rows;
}

if (import.meta.main) {
  await runMain(
    "examples/optimizers.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
