/**
 * How padding, stride, channels and pooling change a feature map's shape, as
 * the CNN introduction, the CIFAR-10 bird/plane tutorial and the LeNet-5 MNIST
 * tutorial work them out, and the summaries of LeNet-5, the bird/plane net
 * (18,090 parameters) and VGG16 (138,357,544 parameters, printed without
 * allocating its weights).
 *
 *   deno run examples/shapes.ts
 *
 * @module
 */
import * as T from "../mod.ts";
import { type FlagSpec, parseFlags, runMain, usage } from "./_cli.ts";

const { nn } = T;
const specs = {} satisfies Record<string, FlagSpec>;
const summary =
  "Conv/pool output sizes, and the summaries of LeNet-5, the bird/plane net and VGG16.";

/** Prints the shape lessons and model summaries; returns the printed text. */
export async function main(args: string[]): Promise<string> {
  const opts = parseFlags(args, specs);
  if (opts.help) {
    console.log(usage("examples/shapes.ts", summary, specs));
    return "";
  }
  const out: string[] = [];
  const say = (s = "") => out.push(s);
  const size = T.conv2dOutputSize;

  say(
    "Output size = floor((H + 2·padding - dilation·(kernel - 1) - 1) / stride) + 1\n",
  );
  say("A 3x3 filter on a 5x5 image (the CNN introduction):");
  say(
    `  stride 1 -> ${size(5, 3)}x${size(5, 3)}    stride 2 -> ${
      size(5, 3, { stride: 2 })
    }x${size(5, 3, { stride: 2 })}`,
  );
  say(
    `  padding 1 keeps 256x256: ${size(256, 3, { padding: 1 })}x${
      size(256, 3, { padding: 1 })
    }`,
  );
  say(
    "  channels: the output has one channel per filter, whatever the input has:",
  );
  const img = T.zeros([1, 3, 256, 256]);
  say(
    `    conv2d(x [1,3,256,256], weight [64,3,3,3], padding 1) -> [${
      T.conv2d(img, T.zeros([64, 3, 3, 3]), null, { padding: 1 }).shape
    }]`,
  );
  say(
    `  max pooling 2x2 halves each side: [1,64,256,256] -> [${
      T.maxPool2d(T.zeros([1, 64, 256, 256]), { kernelSize: 2 }).shape
    }]`,
  );

  say(
    "\nConv2d(3, 16, kernel_size=3) on a 32x32 CIFAR image (the bird/plane tutorial):",
  );
  const cifar = T.zeros([1, 3, 32, 32]), w = T.zeros([16, 3, 3, 3]);
  say(
    `  no padding -> [${T.conv2d(cifar, w).shape}]    padding=1 -> [${
      T.conv2d(cifar, w, null, { padding: 1 }).shape
    }]`,
  );
  say(
    `  weight [${w.shape}] (${
      16 * 3 * 9
    } values) and bias [16] do not depend on the padding`,
  );

  say(
    "\nLeNet-5 on a 1x32x32 image (the LeNet-5 tutorial): 32 -> 28 -> 14 -> 10 -> 5",
  );
  let x = T.zeros([1, 1, 32, 32]);
  const steps: [string, (t: T.Tensor) => T.Tensor][] = [
    ["conv 6@5x5", (t) => T.conv2d(t, T.zeros([6, 1, 5, 5]))],
    ["max pool 2", (t) => T.maxPool2d(t, { kernelSize: 2 })],
    ["conv 16@5x5", (t) => T.conv2d(t, T.zeros([16, 6, 5, 5]))],
    ["max pool 2", (t) => T.maxPool2d(t, { kernelSize: 2 })],
    ["flatten", (t) => T.flatten(t)],
  ];
  for (const [name, f] of steps) {
    x = f(x);
    say(`  ${name.padEnd(12)} -> [${x.shape}]`);
  }

  for (
    const [name, model, input] of [
      ["LeNet-5", nn.lenet5(), [1, 1, 32, 32]],
      ["bird/plane net", nn.birdPlaneNet(), [1, 3, 32, 32]],
      ["VGG16 (torchvision)", nn.vgg16(), [1, 3, 224, 224]],
    ] as const
  ) {
    say(`\n${name}\n`);
    say(nn.summary(model, input as unknown as number[]));
  }
  const text = out.join("\n");
  console.log(text);
  return await Promise.resolve(text);
}

if (import.meta.main) {
  await runMain(
    "examples/shapes.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
