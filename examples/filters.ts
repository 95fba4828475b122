/**
 * As in the image-filter tutorial: fixed 3x3 kernels applied with conv2d to a
 * grayscale image (the 1/9 blur and vertical edge of the CIFAR-10 bird/plane
 * tutorial, a sharpen kernel, and the Laplacian of the PyTorch basics
 * tutorial).
 *
 *   deno run --allow-read --allow-write examples/filters.ts [--image PATH.png] [--out DIR]
 *
 * Without `--image` the input is an MNIST digit (embedded, no flag needed).
 * The output PNG, `out/filters.png` (or `DIR/filters.png`), shows side by
 * side, each panel titled and scaled up 6x (nearest neighbour; an image
 * larger than 64 pixels on a side is kept at 1x, and a very narrow one is
 * scaled up until its titles fit): the input, 1/9 blur, sharpen,
 * vertical edge and Laplacian (each rescaled to 0..255). It also prints the
 * PyTorch basics tutorial's worked Laplacian example (sum 1196; the tutorial
 * says 1195, but its own products sum to 1196).
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import {
  type FlagSpec,
  outFlag,
  outPath,
  parseFlags,
  runMain,
  usage,
  UsageError,
} from "./_cli.ts";
import { panelGrid, toPixels } from "./_picture.ts";

const specs = {
  image: {
    kind: "string",
    default: "",
    help: "grayscale or colour PNG to filter (default: an MNIST digit)",
  },
  out: outFlag("filters.png (the panels side by side)"),
} satisfies Record<string, FlagSpec>;
const summary =
  "Applies blur, sharpen, vertical-edge and Laplacian kernels to an image with conv2d.";

/** The tutorials' 3x3 kernels (each a [1, 1, 3, 3] conv2d weight when applied). */
export const kernels: Record<string, number[][]> = {
  "blur 1/9": [[1 / 9, 1 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9], [
    1 / 9,
    1 / 9,
    1 / 9,
  ]],
  sharpen: [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
  "vertical edge": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
  laplacian: [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
};

/** Applies one 3x3 kernel to a [H, W] image (padding 1, so the size is kept). */
export function applyKernel(image: Tensor, kernel: number[][]): Tensor {
  const w = T.tensor([[kernel]]);
  const x = T.reshape(image, [1, 1, image.shape[0], image.shape[1]]);
  return T.reshape(
    T.conv2d(x, w, null, { padding: 1 }),
    image.shape as number[],
  );
}

/** The most pixels of the picture (5 panels): 2^26, 256 MB as float32. */
const MAX_PIXELS = 2 ** 26;

/** The longest panel title, "vertical edge", at font scale 1: 13 glyphs of 6 px less 1. */
const TITLE_WIDTH = 13 * 6 - 1;

/**
 * The scale of the panels of an [H, W] image: 6x for small images (as
 * MNIST's 28x28), 1x for larger ones, and at least enough that the panel is
 * as wide as its title.
 */
export function panelScale([h, w]: readonly number[]): number {
  return Math.max(Math.max(h, w) <= 64 ? 6 : 1, Math.ceil(TITLE_WIDTH / w));
}

/** Runs the example; returns the picture: five titled panels side by side. */
export async function main(args: string[]): Promise<Tensor> {
  const opts = parseFlags(args, specs);
  if (opts.help) {
    console.log(usage("examples/filters.ts", summary, specs));
    return T.zeros([0]);
  }
  // the folder first: a bad --out is reported before any work
  const path = await outPath(opts.out, "filters.png");
  // The basics tutorial's worked example: centre 200, neighbours about 50.
  const patch = T.tensor([[[[50, 52, 49], [51, 200, 53], [48, 49, 52]]]]);
  const lap = T.conv2d(patch, T.tensor([[kernels.laplacian]]));
  console.log(
    `Laplacian on the basics tutorial's 3x3 patch (centre 200): sum = ${
      T.item(lap)
    }`,
  );

  let gray: Tensor;
  if (opts.image) {
    const img = await T.data.readPng(opts.image); // [H, W, C] on 0..255
    const c = img.shape[2];
    gray = c >= 3
      ? T.mean(T.slice(img, [0, 0, 0], [img.shape[0], img.shape[1], 3]), {
        axis: 2,
      })
      : T.squeeze(T.slice(img, [0, 0, 0], [img.shape[0], img.shape[1], 1]), 2);
    console.log(`input: ${opts.image} ${gray.shape[0]}x${gray.shape[1]}`);
    const [h, w] = gray.shape, scale = panelScale(gray.shape);
    const pixels = 5 * h * scale * w * scale;
    if (pixels > MAX_PIXELS) {
      throw new UsageError(
        `--image ${opts.image} is ${w}x${h} pixels: its ${
          Object.keys(kernels).length + 1
        } panels${
          scale > 1 ? ` at ${scale}x` : ""
        } would have ${pixels} pixels, more than ${MAX_PIXELS}; use a smaller image`,
      );
    }
  } else {
    const { test } = await T.data.loadMnist();
    gray = T.mul(T.reshape(T.slice(test.x, [0], [1]), [28, 28]), 255);
    console.log(`input: MNIST test digit 0 (label ${test.y.data[0]}), 28x28`);
  }
  const panels = [{ title: "input", image: gray }];
  for (const [name, k] of Object.entries(kernels)) {
    const y = applyKernel(gray, k);
    console.log(
      `${name.padEnd(14)} output ${y.shape.join("x")}, range [${
        T.item(T.min(y)).toFixed(1)
      }, ${T.item(T.max(y)).toFixed(1)}]`,
    );
    panels.push({ title: name, image: toPixels(y) });
  }
  const row = panelGrid(panels, { scale: panelScale(gray.shape) });
  await T.data.writePng(path, row);
  console.log(`wrote ${path} (input, ${Object.keys(kernels).join(", ")})`);
  return row;
}

if (import.meta.main) {
  await runMain(
    "examples/filters.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
