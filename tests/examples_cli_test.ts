/**
 * The examples' command lines on bad input: every mistake is a clear
 * message naming the flag, found before any work (no training wasted, no
 * file written in part), never a stack trace from inside the library, a
 * silent NaN or a huge allocation.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as T from "../mod.ts";
import { quiet, tinyCifar } from "./_examples.ts";
import { UsageError } from "../examples/_cli.ts";
import { main as lenet } from "../examples/lenet.ts";
import { main as linearRegression } from "../examples/linear_regression.ts";
import { main as cifar } from "../examples/cifar_bird_plane.ts";
import { main as exportMain } from "../examples/export.ts";
import { main as featureMaps } from "../examples/feature_maps.ts";
import { main as filters, panelScale } from "../examples/filters.ts";
import { main as optimizers } from "../examples/optimizers.ts";
import { main as perExampleGrads } from "../examples/per_example_grads.ts";
import { main as spatialTransformer } from "../examples/spatial_transformer.ts";
import { main as sequences } from "../examples/sequences.ts";
import { main as vit } from "../examples/vit.ts";
import { main as volumes } from "../examples/volumes.ts";

/** `f` rejects with a UsageError whose message matches `re`, printing nothing. */
async function usageError(f: () => unknown, re: RegExp) {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    await assert.rejects(async () => await f(), (e: Error) => {
      assert.ok(e instanceof UsageError, `${e.constructor.name}: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });
  } finally {
    console.log = orig;
  }
  assert.deepEqual(
    lines,
    [],
    "nothing printed (no work done) before the error",
  );
}

/** Runs an example in a fresh process in `cwd` with the permission flags `perms`. */
async function run(
  example: string,
  perms: string[],
  args: string[],
  cwd: string,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      ...perms,
      new URL(`../examples/${example}`, import.meta.url).pathname,
      ...args,
    ],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

const entries = async (d: string) =>
  (await Array.fromAsync(Deno.readDir(d))).map((e) => e.name).sort();

Deno.test("an empty path is a usage error, not a silently ignored flag", async () => {
  await usageError(() => lenet(["--save", ""]), /^--save needs a value/);
  await usageError(() => lenet(["--load", ""]), /^--load needs a value/);
  await usageError(() => cifar(["--data", ""]), /^--data needs a value/);
  await usageError(
    () => exportMain(["--epochs", "0", "--out", ""]),
    /^--out needs a value/,
  );
});

Deno.test("ints out of range are usage errors naming the flag, before any allocation", async () => {
  // a seed past 2^53 failed inside random.key
  await usageError(
    () => linearRegression(["--seed", "1e20"]),
    /^--seed must be at most 9007199254740991, got 1e20$/,
  );
  // sizes that would allocate gigabytes (or fail inside nn / random)
  await usageError(
    () => volumes(["--train", "1e12"]),
    /^--train must be at most/,
  );
  await usageError(
    () => volumes(["--train", "0"]),
    /^--train must be at least 1/,
  );
  await usageError(() => vit(["--dim", "40000"]), /^--dim must be at most/);
  await usageError(
    () => vit(["--depth", "100000"]),
    /^--depth must be at most/,
  );
  await usageError(
    () => sequences(["--hidden", "1e12"]),
    /^--hidden must be at most/,
  );
  // a key per epoch drawn up front: 10^8 epochs failed inside random.split
  // (whose limit, 2^24 keys, is itself 2.5 GB of key objects)
  for (const main of [volumes, vit, sequences, optimizers, featureMaps]) {
    await usageError(
      () => main(["--epochs", "1e8"]),
      /^--epochs must be at most 100000, got 1e8$/,
    );
  }
  // zero counts that crashed (per_example_grads) or wrote NaN losses (optimizers)
  await usageError(
    () => perExampleGrads(["--count", "0"]),
    /^--count must be at least 1, got 0$/,
  );
  await usageError(
    () => optimizers(["--epochs", "0"]),
    /^--epochs must be at least 1/,
  );
  await usageError(
    () => cifar(["--data", "nowhere", "--batch-size", "0"]),
    /^--batch-size must be at least 1, got 0$/,
  );
  // the ranges show in the usage text
  const [, help] = await quiet(() => sequences(["--help"]));
  assert.match(help.join("\n"), /--hidden N +hidden units .*\(1 to 1024\)/);
});

Deno.test("learning rates and weight decay are checked by the examples, not by the optimizers", async () => {
  await usageError(
    () => linearRegression(["--lr=-1"]),
    /^--lr must be positive, got -1$/,
  );
  await usageError(
    () => cifar(["--data", "nowhere", "--lr=-1"]),
    /^--lr must be positive, got -1$/,
  );
  await usageError(
    () => lenet(["--weight-decay=-1"]),
    /^--weight-decay must be at least 0, got -1$/,
  );
});

Deno.test("a diverging run is an error, not a silent NaN", async () => {
  await assert.rejects(
    () => quiet(() => linearRegression(["--lr", "1e12"])),
    /the loss became Infinity at epoch 3: SGD diverged, lower --lr/,
  );
  // two steps: finite losses, but w and b overflow
  await assert.rejects(
    () => quiet(() => linearRegression(["--lr", "1e38", "--epochs", "1"])),
    /the weights became .*: SGD diverged, lower --lr/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await tinyCifar(dir);
    await assert.rejects(
      () =>
        quiet(() => cifar(["--data", dir, "--lr", "1e38", "--epochs", "3"])),
      /the loss became NaN at epoch 3, step 1: lower --lr/,
    );
    // --epochs 0 reports the untrained network instead of nothing
    const [acc, lines] = await quiet(() =>
      cifar(["--data", dir, "--epochs", "0"])
    );
    assert.ok(acc >= 0 && acc <= 1, `${acc}`);
    assert.match(
      lines.at(-1)!,
      /^validation accuracy of the untrained network: 0\.\d{4}$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lenet.ts: a bad --save or --load is reported before the data is loaded or an epoch trained", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const short = ["--epochs", "1", "--limit", "64"];
    const missing = join(dir, "no", "ckpt.safetensors");
    await usageError(
      () => lenet([...short, "--save", missing]),
      new RegExp(
        `^--save ${missing}: the folder ${join(dir, "no")} does not exist`,
      ),
    );
    await usageError(
      () => lenet([...short, "--save", dir]),
      new RegExp(`^--save ${dir} is a folder`),
    );
    await usageError(
      () => lenet([...short, "--load", join(dir, "none.safetensors")]),
      /^--load .*none\.safetensors: no such file$/,
    );
    await usageError(
      () => lenet([...short, "--load", dir]),
      new RegExp(`^--load ${dir} is a folder, expected a file$`),
    );
    // a read-only folder (sysfs): said at once, not after the first epoch
    if (
      await Deno.stat("/sys/kernel").then((s) => s.isDirectory, () => false)
    ) {
      const ro = await run(
        "lenet.ts",
        ["--allow-all"],
        [...short, "--save", "/sys/kernel/c.safetensors"],
        dir,
      );
      assert.equal(ro.code, 1, ro.stderr);
      assert.match(
        ro.stderr,
        /^error: --save \/sys\/kernel\/c\.safetensors: cannot write into \/sys\/kernel: /,
      );
      assert.equal(ro.stdout, "");
    }
    // an endless device was read until memory ran out
    if (await Deno.stat("/dev/zero").then(() => true, () => false)) {
      for (
        const [example, ...more] of [
          ["lenet.ts"],
          ["export.ts", "--out", join(dir, "x")],
        ]
      ) {
        const z = await run(
          example,
          ["--allow-read", "--allow-write"],
          ["--load", "/dev/zero", ...more],
          dir,
          10_000,
        );
        assert.equal(z.code, 2, z.stderr);
        assert.match(
          z.stderr,
          /^error: --load \/dev\/zero is not a regular file, expected a file\n/,
        );
      }
    }
    // --epochs 0 without --load evaluates the initial params, not "loaded" ones
    const [, lines] = await quiet(() =>
      lenet(["--epochs", "0", "--limit", "64"])
    );
    assert.ok(
      lines.some((l) =>
        /^test accuracy of the initial \(untrained\) parameters: /.test(l)
      ),
      lines.join("\n"),
    );
    // without --allow-write: said at once, not after the first epoch
    const r = await run("lenet.ts", ["--allow-read"], [
      ...short,
      "--save",
      "c.safetensors",
    ], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: --save c\.safetensors: run with --allow-read --allow-write\n$/,
    );
    assert.equal(r.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--out: a file in the way or missing permissions are reported before any training, and nothing is written in part", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "x");
    const isFile = new RegExp(`^--out ${file} is a file, expected a folder$`);
    await usageError(
      () => exportMain(["--epochs", "0", "--out", file]),
      isFile,
    );
    await usageError(
      () => optimizers(["--epochs", "1", "--out", file]),
      isFile,
    );
    await usageError(() => filters(["--out", file]), isFile);
    await usageError(
      () => featureMaps(["--epochs", "1", "--out", file]),
      isFile,
    );
    await usageError(
      () => perExampleGrads(["--epochs", "0", "--limit", "8", "--out", file]),
      isFile,
    );
    await usageError(
      () =>
        spatialTransformer(["--epochs", "0", "--limit", "8", "--out", file]),
      isFile,
    );
    // export.ts with --allow-write alone wrote lenet.onnx and lenet.py, then
    // failed on lenet.safetensors (whose atomic write reads too)
    const r = await run("export.ts", ["--allow-write"], ["--epochs", "0"], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: --out out\/export: run with --allow-read --allow-write\n$/,
    );
    assert.deepEqual(await entries(dir), ["a-file"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export.ts: --load errors name the flag; --epochs with --load is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const other = join(dir, "other.safetensors");
    await T.data.saveSafetensors(
      other,
      T.nn.linear({ inFeatures: 4, outFeatures: 2 }).init(T.random.key(0)),
    );
    const out = join(dir, "out");
    await assert.rejects(
      () => quiet(() => exportMain(["--load", other, "--out", out])),
      new RegExp(
        `^Error: --load ${other}: expected LeNet-5's params .*"conv1\\.weight" is missing`,
      ),
    );
    await usageError(
      () => exportMain(["--load", join(dir, "none"), "--out", out]),
      /^--load .*none: no such file$/,
    );
    await usageError(
      () => exportMain(["--load", other, "--epochs", "3", "--out", out]),
      /^--epochs does not apply with --load/,
    );
    assert.deepEqual(await entries(dir), ["other.safetensors"]); // no out/
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("feature_maps.ts: --image out of range and --data without fashion-mnist are usage errors before training", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "out");
    await usageError(
      () => featureMaps(["--epochs", "1", "--image", "5000", "--out", out]),
      /^--image must be below 2004, got 5000$/,
    );
    await usageError(
      () => featureMaps(["--data", dir, "--out", out]),
      /^--data only applies to --dataset fashion-mnist$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("filters.ts: small and narrow images are drawn (their titles fit), an oversized picture is a usage error", async () => {
  assert.equal(panelScale([28, 28]), 6);
  assert.equal(panelScale([100, 100]), 1);
  assert.equal(panelScale([10, 10]), 8); // 77 px of title over 10 px
  assert.equal(panelScale([4000, 40]), 2); // tall: not 6x (24000 px high)
  const dir = await Deno.makeTempDir();
  try {
    for (const [h, w] of [[1, 1], [10, 10], [70, 70]]) {
      const png = join(dir, `${h}x${w}.png`);
      await T.data.writePng(png, T.zeros([h, w, 1]));
      const [row] = await quiet(() => filters(["--image", png, "--out", dir]));
      const s = panelScale([h, w]);
      assert.equal(row.shape[1], 8 + 5 * (w * s + 8));
    }
    const thin = join(dir, "thin.png");
    await T.data.writePng(thin, T.zeros([8000, 1, 1]));
    await assert.rejects(
      () => quiet(() => filters(["--image", thin, "--out", dir])),
      (e: Error) =>
        e instanceof UsageError &&
        /^--image .*thin\.png is 1x8000 pixels: its 5 panels at 77x would have \d+ pixels, more than 67108864/
          .test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
