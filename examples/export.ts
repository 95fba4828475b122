/**
 * Two roads out of this library for a trained model: trains the LeNet-5
 * MNIST tutorial's network briefly (or loads `--load PATH.safetensors`),
 * then writes into `out/export/` (or `--out DIR`):
 *
 * - `lenet.onnx`: the model for ONNX Runtime (any language, server, browser);
 * - `lenet.py`: the same model as a `torch.nn.Module` (`nn.toTorch`), whose
 *   `state_dict` keys are this library's parameter paths;
 * - `lenet.safetensors`: the weights, for `load_state_dict(strict=True)`;
 * - `train_ddp.py`: a data-parallel training script for `torchrun` that
 *   continues from those weights on every GPU (DistributedDataParallel).
 *
 *   deno run --allow-read --allow-write examples/export.ts [--epochs N] [--out DIR]
 *
 * It prints the commands that take each file further. See docs/scaling.md.
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
  outPaths,
  parseFlags,
  readFileFlag,
  runMain,
  threadsFlag,
  usage,
  UsageError,
  useThreads,
} from "./_cli.ts";

const specs = {
  epochs: {
    kind: "int",
    default: 1,
    max: MAX_EPOCHS,
    help: "training epochs before export",
  },
  load: {
    kind: "string",
    help:
      "start from the params of a LeNet-5 checkpoint (examples/lenet.ts --save) instead of training",
  },
  out: {
    kind: "string",
    default: "out/export",
    help:
      "folder to write lenet.onnx, lenet.py, lenet.safetensors and train_ddp.py into",
  },
  threads: threadsFlag,
  jit: jitFlag,
} satisfies Record<string, FlagSpec>;
const summary =
  "Exports a trained LeNet-5 to ONNX and to PyTorch (module, weights, a torchrun training script).";

/** The torchrun script: DistributedDataParallel from the exported weights. */
const DDP_SCRIPT =
  `"""Continue training the exported LeNet-5 on every GPU with PyTorch.

    pip install torch torchvision safetensors
    torchrun --nproc_per_node=N train_ddp.py

Each process holds a replica (DistributedDataParallel) and a shard of MNIST
(DistributedSampler); gradients are averaged across processes every step.
The weights come from lenet.safetensors, written by cnn-tensor's
examples/export.ts, and go back to lenet_ddp.safetensors.
"""
import os

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler
from torchvision import datasets, transforms

from lenet import make_model


def main():
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank, local = dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    model = make_model()
    model.load_state_dict(load_file("lenet.safetensors"), strict=True)
    model = DDP(model.to(device), device_ids=[local] if device.type == "cuda" else None)
    data = datasets.MNIST(
        "data", train=True, download=(rank == 0),
        transform=transforms.Compose([
            transforms.Pad(2), transforms.ToTensor(),
            transforms.Normalize((0.1307,), (0.3081,)),
        ]),
    ) if rank == 0 else None
    dist.barrier()
    if data is None:
        data = datasets.MNIST("data", train=True, transform=transforms.Compose([
            transforms.Pad(2), transforms.ToTensor(),
            transforms.Normalize((0.1307,), (0.3081,)),
        ]))
    sampler = DistributedSampler(data)
    loader = DataLoader(data, batch_size=64, sampler=sampler)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        if rank == 0:
            print(f"epoch {epoch + 1}: last loss {loss.item():.4f}")
    if rank == 0:
        save_file({k: v.contiguous().cpu() for k, v in model.module.state_dict().items()},
                  "lenet_ddp.safetensors")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;

/** Runs the example; returns the paths it wrote. */
export async function main(args: string[]): Promise<string[]> {
  const opts = parseFlags(args, specs);
  useThreads(opts.threads);
  if (opts.help) {
    console.log(usage("examples/export.ts", summary, specs));
    return [];
  }
  if (
    opts.load && args.some((a) => a === "--epochs" || a.startsWith("--epochs="))
  ) {
    throw new UsageError(
      "--epochs does not apply with --load: the loaded params are exported as they are",
    );
  }
  const net = T.nn.lenet5();
  let params = net.init(T.random.key(0));
  if (opts.load) {
    const path = opts.load as string;
    const bytes = await readFileFlag("--load", path);
    try {
      const loaded = T.data.deserializeSafetensors(bytes) as {
        params?: typeof params;
      };
      params = T.data.deserializeSafetensors(
        T.data.serializeSafetensors((loaded.params ?? loaded) as never),
        { like: params },
      ) as typeof params;
    } catch (e) {
      throw new Error(
        `--load ${path}: expected LeNet-5's params (a checkpoint of examples/lenet.ts --save, or its params alone): ${
          (e as Error).message
        }`,
        { cause: e },
      );
    }
    console.log(`loaded the params of ${path}`);
  }
  const dir = opts.out;
  // the folder (and the permissions) first: nothing is trained, or written
  // in part, when the files cannot all be written
  const [onnx, py, weights, ddp] = await outPaths(dir, [
    "lenet.onnx",
    "lenet.py",
    "lenet.safetensors",
    "train_ddp.py",
  ]);
  const files = { onnx, py, weights, ddp };
  if (!opts.load && opts.epochs > 0) {
    const mnist = await T.data.loadMnist();
    const train = {
      x: T.div(T.sub(T.data.padImages(mnist.train.x, 2), 0.1307), 0.3081),
      y: mnist.train.y,
    };
    params = trainEpochs({
      jit: opts.jit,
      model: net,
      params,
      opt: T.optim.sgd({ lr: 0.05, momentum: 0.9, nesterov: true }),
      train,
      epochs: opts.epochs,
      key: T.random.key(1),
    });
  }
  // every export made before any file is written: one that fails (params
  // that turned NaN) leaves no file behind
  const onnxBytes = T.nn.toOnnx(net, params, { inputShape: [1, 1, 32, 32] });
  const source = T.nn.toTorch(net, { inputShape: [1, 1, 32, 32] });
  await Deno.writeFile(files.onnx, onnxBytes);
  await Deno.writeTextFile(files.py, source);
  await T.data.saveSafetensors(files.weights, params as never);
  await Deno.writeTextFile(files.ddp, DDP_SCRIPT);
  const x: Tensor = T.zeros([1, 1, 32, 32]);
  console.log(
    `wrote ${Object.values(files).join(", ")} (the model gives ${
      net.apply(params, x).shape.join("x")
    } logits)\n\n` +
      `serve it with ONNX Runtime (Python: pip install onnxruntime):\n` +
      `  python3 -c "import onnxruntime as ort, numpy as np; s = ort.InferenceSession('${files.onnx}'); print(s.run(None, {'input': np.zeros((1, 1, 32, 32), np.float32)})[0])"\n\n` +
      `train it further on N GPUs with PyTorch (pip install torch torchvision safetensors):\n` +
      `  cd ${dir} && torchrun --nproc_per_node=N train_ddp.py`,
  );
  return Object.values(files);
}

if (import.meta.main) {
  await runMain(
    "examples/export.ts",
    summary,
    specs,
    async (a) => void (await main(a)),
  );
}
