/**
 * Seed 001's optimizer table, run: one small model (an MLP on 2,048 embedded
 * MNIST digits) trained with each of the 13 optimizers from the same
 * initialisation; writes an SVG of the loss curves (`out/optimizers.svg`, or
 * `DIR/optimizers.svg`) and prints a table of final losses.
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

/** The 13 rows of the seed's table, with a learning rate that suits this model. */
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
    help: "passes over the 2,048 training digits",
  },
  out: outFlag("optimizers.svg (the loss curves)"),
  seed: {
    kind: "int",
    default: 0,
    help: "seed of the shared initialisation and the batch order",
  },
  threads: threadsFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Trains one small model with each of the 13 optimizers of seed 001's table.";

/** An SVG line chart of loss curves (one polyline per optimizer, log-scaled loss). */
export function lossChart(curves: [string, number[]][]): string {
  const w = 720, h = 420, left = 60, right = 130, top = 20, bottom = 40;
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
  const colors = [
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
  const lines = curves.map(([name, c], k) => {
    const pts = c.map((v, i) =>
      `${px(i).toFixed(1)},${py(Math.max(v, 10 ** lo)).toFixed(1)}`
    ).join(" ");
    const color = colors[k % colors.length];
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>` +
      `<text x="${w - right + 8}" y="${
        top + 14 * k + 10
      }" font-size="11" fill="${color}">${name}</text>`;
  });
  const ticks = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    ticks.push(
      `<text x="${left - 6}" y="${
        py(10 ** e) + 4
      }" font-size="10" text-anchor="end">1e${e}</text>` +
        `<line x1="${left}" x2="${w - right}" y1="${py(10 ** e)}" y2="${
          py(10 ** e)
        }" stroke="#ddd"/>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${ticks.join("")}` +
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${
      h - bottom
    }" stroke="black"/>` +
    `<line x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${
      h - bottom
    }" stroke="black"/>` +
    `<text x="${(left + w - right) / 2}" y="${
      h - 8
    }" font-size="12" text-anchor="middle">step</text>` +
    `<text x="14" y="${h / 2}" font-size="12" transform="rotate(-90 14 ${
      h / 2
    })" text-anchor="middle">training loss (log)</text>` +
    `${lines.join("")}</svg>\n`;
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
    const acc = accuracy((x) => model.apply(params, x), test);
    rows.push([name, final, acc]);
    curves.push([name, curve]);
    console.log(
      `${name.padEnd(10)} lr ${String(lr).padEnd(7)} final loss ${
        final.toFixed(4)
      }  test accuracy ${acc.toFixed(4)}`,
    );
  }
  const path = await outPath(opts.out, "optimizers.svg");
  await Deno.writeTextFile(path, lossChart(curves)).catch((e) => {
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
