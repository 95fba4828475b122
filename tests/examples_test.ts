/**
 * Smoke tests of every example: each runs through its exported `main` with
 * small settings (the full runs are measured in the README).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as T from "../mod.ts";
import { quiet, tinyCifar } from "./_examples.ts";
import { main as filters } from "../examples/filters.ts";
import { main as linearRegression } from "../examples/linear_regression.ts";
import { main as lenet } from "../examples/lenet.ts";
import { lossChart, main as optimizers } from "../examples/optimizers.ts";
import { main as featureMaps } from "../examples/feature_maps.ts";
import { main as shapes } from "../examples/shapes.ts";
import { main as cifar } from "../examples/cifar_bird_plane.ts";
import { UsageError } from "../examples/_cli.ts";
import { panelGrid } from "../examples/_picture.ts";

Deno.test("filters.ts writes the side-by-side PNG into --out DIR (created if missing) and prints the worked Laplacian example's sum", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "pictures"); // does not exist yet
  const [row, lines] = await quiet(() => filters(["--out", out]));
  // five 28x28 panels at 6x (168 px) under a 20 px title band, 8 px gaps
  assert.deepEqual(row.shape, [8 + 20 + 168 + 8, 8 + 5 * (168 + 8)]);
  assert.ok(lines[0].endsWith("= 1196"), lines[0]);
  const png = await T.data.readPng(join(out, "filters.png"));
  assert.deepEqual(png.shape, [...row.shape, 1]);
  // the first panel is the digit, each pixel a 6x6 block
  const { test } = await T.data.loadMnist();
  const digit = test.x.data;
  for (const [y, x] of [[0, 0], [14, 14], [10, 20], [27, 27]]) {
    for (const [dy, dx] of [[0, 0], [5, 5]]) {
      const v: number =
        png.data[(28 + 6 * y + dy) * row.shape[1] + 8 + 6 * x + dx];
      assert.equal(v, Math.round(digit[y * 28 + x] * 255), `pixel ${y},${x}`);
    }
  }
  assert.equal(lines[lines.length - 1].split(" ")[1], join(out, "filters.png"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("filters.ts from the command line writes into out/ of the working directory by default, nothing else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("../deno.json", import.meta.url).pathname,
        "--allow-read",
        "--allow-write",
        new URL("../examples/filters.ts", import.meta.url).pathname,
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const entries = async (d: string) =>
      (await Array.fromAsync(Deno.readDir(d))).map((e) => e.name).sort();
    assert.deepEqual(await entries(dir), ["out"]);
    assert.deepEqual(await entries(join(dir, "out")), ["filters.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("linear_regression.ts: 10 epochs move w toward 2; 2000 epochs reach w = 2, b = 0, the closed-form least squares; --no-jit gives the same numbers", async () => {
  const [short, lines] = await quiet(() => linearRegression([]));
  assert.equal(lines.filter((l) => l.startsWith("Epoch")).length, 10);
  assert.ok(short.w > 1.3 && short.w < 2, `w = ${short.w}`);
  const [long] = await quiet(() => linearRegression(["--epochs", "2000"]));
  assert.ok(
    Math.abs(long.w - 2) < 0.01 && Math.abs(long.b) < 0.01,
    `w = ${long.w}, b = ${long.b}`,
  );
  const [eager, eagerLines] = await quiet(() => linearRegression(["--no-jit"]));
  assert.deepEqual(eager, short);
  assert.deepEqual(eagerLines, lines);
  // the closed-form least squares that SGD walks toward (float32: within
  // a few ulps of 2 and 0)
  assert.ok(
    Math.abs(short.exact.w - 2) < 1e-5 && Math.abs(short.exact.b) < 1e-5,
    `exact w = ${short.exact.w}, b = ${short.exact.b}`,
  );
});

Deno.test("lenet.ts: learns on a subset, same seed gives the same losses, save/load round-trips", async () => {
  const dir = await Deno.makeTempDir();
  const ckpt = join(dir, "lenet.safetensors");
  const args = [
    "--epochs",
    "2",
    "--limit",
    "2048",
    "--batch-size",
    "32",
    "--optimizer",
    "adam",
    "--save",
    ckpt,
  ];
  const [acc, lines] = await quiet(() => lenet(args));
  assert.ok(
    acc > 0.6,
    `accuracy ${acc} after 2 epochs on 2,048 digits:\n${lines.join("\n")}`,
  );
  assert.match(lines[lines.length - 1], /^test accuracy: 0\.\d{4}$/);
  const [, again] = await quiet(() => lenet(args));
  const losses = (ls: string[]) =>
    ls.filter((l) => l.startsWith("epoch")).map((l) => l.split("(")[0]);
  assert.deepEqual(losses(again), losses(lines));
  // the jitted steps (the default) and the eager ones print the same numbers
  const [, eager] = await quiet(() => lenet([...args, "--no-jit"]));
  assert.deepEqual(losses(eager), losses(lines));
  const [loaded] = await quiet(() => lenet(["--epochs", "0", "--load", ckpt]));
  assert.equal(loaded, acc);
  // a file of LeNet-5's params alone (a state_dict) loads too
  const { params } = await T.data.loadSafetensors(ckpt) as { params: T.Tree };
  const paramsOnly = join(dir, "params.safetensors");
  await T.data.saveSafetensors(paramsOnly, params);
  const [alone] = await quiet(() =>
    lenet(["--epochs", "0", "--load", paramsOnly])
  );
  assert.equal(alone, acc);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("lenet.ts: 1 + 1 epochs with --save and --load in separate processes give the bits of 2 epochs straight", async () => {
  const dir = await Deno.makeTempDir();
  const lenetPath = new URL("../examples/lenet.ts", import.meta.url).pathname;
  const run = async (...flags: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", lenetPath, ...flags],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr) + text);
    // the epoch lines without their timings
    return text.split("\n").filter((l) => l.startsWith("epoch "))
      .map((l) => l.split("  (")[0]);
  };
  try {
    // the default recipe: nag, a one-cycle schedule, random shifts
    const common = ["--epochs", "2", "--limit", "640", "--batch-size", "32"];
    const a = join(dir, "straight.safetensors");
    const b = join(dir, "resumed.safetensors");
    const straight = await run(...common, "--save", a);
    const first = await run(...common, "--stop-after", "1", "--save", b);
    const afterFirst = await T.data.loadSafetensors(b) as { epoch: number };
    assert.equal(afterFirst.epoch, 1);
    const second = await run(...common, "--load", b, "--save", b);
    assert.equal(straight.length, 2);
    assert.deepEqual([...first, ...second], straight);
    // params, optimizer state, data-order key, epoch and the metadata
    // (exact last loss, accuracy): the same file, byte for byte
    assert.deepEqual(await Deno.readFile(b), await Deno.readFile(a));
    const meta = T.data.safetensorsMetadata(await Deno.readFile(a));
    assert.match(meta.trainLoss, /^\d\.\d{6,}/);
    // continuing under other flags would not give those numbers
    await assert.rejects(
      () => lenet([...common, "--lr", "0.01", "--load", b]),
      (e: Error) => {
        assert.ok(e instanceof UsageError);
        assert.equal(
          e.message,
          `--load ${b} was saved by a run with --lr 0.05, not --lr 0.01: continue it with the flags it was saved with (or use --epochs 0 to evaluate it)`,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lenet.ts: bad flags are usage errors (exit code 2 from the command line)", async () => {
  await assert.rejects(() => lenet(["--bogus"]), UsageError);
  await assert.rejects(
    () => lenet(["--optimizer", "sgdd"]),
    /--optimizer must be one of sgd\|momentum\|nag/,
  );
  await assert.rejects(
    () => lenet(["--epochs=-1"]),
    /--epochs must be a non-negative integer, got "-1"/,
  );
  await assert.rejects(() => lenet(["--epochs", "-1"]), UsageError); // ambiguous
  await assert.rejects(() => lenet(["--epochs"]), UsageError); // no value
  await assert.rejects(() => lenet(["extra"]), UsageError); // positional
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      new URL("../examples/lenet.ts", import.meta.url).pathname,
      "--batch-size",
      "x",
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stderr } = await cmd.output();
  assert.equal(code, 2);
  assert.match(
    new TextDecoder().decode(stderr),
    /--batch-size must be a non-negative integer, got "x"[\s\S]*Usage: deno run examples\/lenet.ts/,
  );
});

Deno.test("optimizers.ts: all 13 optimizers train from the same start and the SVG is written into --out DIR; --no-jit gives the same numbers", async () => {
  const dir = await Deno.makeTempDir();
  const [rows] = await quiet(() => optimizers(["--epochs", "1", "--out", dir]));
  const [eager] = await quiet(() =>
    optimizers(["--epochs", "1", "--out", dir, "--no-jit"])
  );
  assert.deepEqual(eager, rows);
  assert.equal(rows.length, 13);
  for (const [name, loss] of rows) {
    assert.ok(loss < Math.log(10), `${name} ended at loss ${loss}`);
  }
  const svg = await Deno.readTextFile(join(dir, "optimizers.svg"));
  assert.equal((svg.match(/<polyline/g) ?? []).length, 13);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("feature_maps.ts writes the input and 4 feature maps into --out DIR", async () => {
  const dir = await Deno.makeTempDir();
  const [maps] = await quiet(() =>
    featureMaps(["--epochs", "0", "--out", dir])
  );
  assert.deepEqual(maps.shape, [4, 28, 28]);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), [
    "feature_maps.png",
  ]);
  assert.deepEqual(
    (await T.data.readPng(join(dir, "feature_maps.png"))).shape,
    [8 + 20 + 112 + 8, 8 + 5 * (112 + 8), 1],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("shapes.ts prints the tutorials' output sizes and parameter counts", async () => {
  const [text] = await quiet(() => shapes([]));
  for (
    const s of [
      "stride 1 -> 3x3",
      "no padding -> [1,16,30,30]",
      "padding=1 -> [1,16,32,32]",
      "-> [1,16,5,5]",
    ]
  ) {
    assert.ok(text.includes(s), s);
  }
  for (const n of ["61,706", "18,090", "138,357,544"]) {
    assert.ok(text.includes(`Total params: ${n}`), n);
  }
});

Deno.test("cifar_bird_plane.ts: explains where the data goes without --data; trains on CIFAR-format files", async () => {
  const [none, lines] = await quiet(() => cifar([]));
  assert.ok(Number.isNaN(none));
  assert.ok(lines.join("\n").includes("--data"));
  const dir = await Deno.makeTempDir();
  await tinyCifar(dir);
  const [acc, accLines] = await quiet(() =>
    cifar(["--data", dir, "--epochs", "2"])
  );
  assert.ok(acc >= 0 && acc <= 1);
  // the jitted steps and evaluation (the default) and the eager ones agree
  const [eager, eagerLines] = await quiet(() =>
    cifar(["--data", dir, "--epochs", "2", "--no-jit"])
  );
  assert.equal(eager, acc);
  assert.deepEqual(eagerLines, accLines);
  await Deno.remove(dir, { recursive: true });
});

const hasScript = (() => {
  try {
    return new Deno.Command("script", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "lenet.ts on a terminal: no permission prompt, the progress bar redraws in place",
  ignore: !hasScript,
  async fn() {
    const lenetPath = new URL("../examples/lenet.ts", import.meta.url).pathname;
    // `script` gives the program a pseudo-terminal, where Deno would prompt for any permission it lacks
    const cmd = new Deno.Command("script", {
      args: [
        "-qec",
        `${Deno.execPath()} run ${lenetPath} --epochs 1 --limit 256`,
        "/dev/null",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    });
    const { code, stdout } = await cmd.output();
    const text = new TextDecoder().decode(stdout);
    assert.ok(!text.includes("Deno requests"), text);
    assert.equal(code, 0, text);
    assert.ok(
      text.includes("\r\x1b[2Kepoch 1/1 ["),
      "the bar is redrawn with \\r and erase-line",
    );
    assert.match(text, /test accuracy: 0\.\d{4}/);
  },
});

Deno.test("panelGrid: panels scaled up by nearest neighbour under centred titles, in rows of `columns`", () => {
  const a = T.tensor([[0, 255], [100, 200]]);
  const b = T.tensor([[50, 60], [70, 80]]);
  // 2x2 panels at 10x: 20 px wide, too narrow for "AB" at font scale 2 (22 px)
  const g = panelGrid([{ title: "ab", image: a }, { title: "1", image: b }], {
    scale: 10,
    columns: 1,
  });
  const titleH = 7 + 6, w = 8 + 20 + 8;
  assert.deepEqual(g.shape, [8 + 2 * (titleH + 20 + 8), w]);
  const at = (y: number, x: number) => g.data[y * w + x];
  for (const [panel, img] of [[0, a], [1, b]] as const) {
    const y0 = 8 + panel * (titleH + 20 + 8) + titleH;
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        assert.equal(
          at(y0 + y, 8 + x),
          img.data[Math.floor(y / 10) * 2 + Math.floor(x / 10)],
        );
      }
    }
  }
  // the title band holds black glyph pixels, centred: "AB" is 11 px wide at
  // scale 1, so it starts at 8 + floor((20 - 11) / 2) = 12; A's top row is .###.
  assert.deepEqual([11, 12, 13, 14, 15, 16].map((x) => at(8, x)), [
    255,
    255,
    0,
    0,
    0,
    255,
  ]);
  assert.throws(
    () =>
      panelGrid([{ title: "a", image: a }, {
        title: "b",
        image: T.zeros([3, 2]),
      }], { scale: 10 }),
    /panelGrid: panel "b" is 3x2, expected 2x2/,
  );
  assert.throws(
    () => panelGrid([{ title: "too long", image: a }], { scale: 2 }),
    /panelGrid: title "too long" is wider than its panel/,
  );
});

Deno.test("lossChart: one polyline per curve, a legend entry per curve and labelled axes", () => {
  const svg = lossChart([["a (0.1)", [2, 1, 0.5]], ["b (1)", [3, 2, 1]]], {
    title: "t",
    xLabel: "step",
  });
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.match(svg, />a \(0\.1\)</);
  assert.match(svg, />b \(1\)</);
  assert.match(svg, />step</);
  assert.match(svg, />training loss \(log scale\)</);
  // y ticks at 0.5, 1, 2 (inside [0.5, 3]); x ticks 0, 1, 2
  for (const v of ["0.5", "1", "2"]) {
    assert.match(svg, new RegExp(`>${v}</text>`));
  }
});

Deno.test("per_example_grads.ts ranks digits by their own gradient (vmap(grad)) and writes the hardest as a titled grid", async () => {
  const { main: perExampleGrads } = await import(
    "../examples/per_example_grads.ts"
  );
  const dir = await Deno.makeTempDir();
  const args = ["--epochs", "0", "--limit", "70", "--count", "8", "--out", dir];
  const [ranked] = await quiet(() => perExampleGrads(args));
  assert.equal(ranked.length, 70);
  // jit(vmap(grad)) and the jitted forward (the default) as eager
  const [eager] = await quiet(() => perExampleGrads([...args, "--no-jit"]));
  assert.deepEqual(eager, ranked);
  for (let i = 1; i < ranked.length; i++) {
    assert.ok(ranked[i - 1].norm >= ranked[i].norm);
  }
  // the norm of the hardest digit's gradient, from a plain grad
  const { train } = await T.data.loadMnist();
  const net = T.nn.lenet5();
  const params = net.init(T.random.key(0));
  const k = ranked[0].index;
  const x = T.div(
    T.sub(T.data.padImages(T.slice(train.x, [k], [k + 1]), 2), 0.1307),
    0.3081,
  );
  const g = T.grad((p: typeof params) =>
    T.crossEntropy(net.apply(p, x), T.slice(train.y, [k], [k + 1]))
  )(params);
  const norm = Math.sqrt(
    T.treeLeaves(g).reduce((s, l) => s + T.item(T.sum(T.square(l))), 0),
  );
  assert.ok(
    Math.abs(norm - ranked[0].norm) <= 1e-3 * norm,
    `${norm} vs ${ranked[0].norm}`,
  );
  const png = await T.data.readPng(join(dir, "hardest_digits.png"));
  assert.deepEqual(png.shape, [8 + 20 + 112 + 8, 8 + 8 * (112 + 8), 1]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("spatial_transformer.ts trains a CNN plain and behind a spatial transformer on distorted digits, jit as eager, and draws the rectified digits", async () => {
  const st = await import("../examples/spatial_transformer.ts");
  const dir = await Deno.makeTempDir();
  const args = ["--epochs", "1", "--limit", "256", "--out", dir];
  const [result, lines] = await quiet(() => st.main(args));
  for (const a of [result.plain, result.transformer]) {
    assert.ok(a >= 0 && a <= 1, `${a}`); // (a smoke run: the README has the full one's)
  }
  assert.ok(
    lines.some((l) => l.startsWith("test accuracy on distorted digits")),
  );
  const [eager] = await quiet(() => st.main([...args, "--no-jit"]));
  assert.deepEqual(eager, result);
  // the distortion is an affine resampling: the identity map leaves a digit as it is
  const { test } = await T.data.loadMnist();
  const x = T.slice(test.x, [0], [4]);
  const moved = st.distort(x, T.random.key(3));
  assert.deepEqual(moved.shape, x.shape);
  assert.ok(T.item(T.max(T.abs(T.sub(moved, x)))) > 0.1);
  const png = await T.data.readPng(join(dir, "spatial_transformer.png"));
  assert.equal(png.shape[1], 8 + 8 * (112 + 8));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("volumes.ts trains a 3-D CNN on synthetic volumes, jit as eager; the volumes hold their shapes", async () => {
  const v = await import("../examples/volumes.ts");
  const args = ["--epochs", "1", "--train", "96"];
  const [acc, lines] = await quiet(() => Promise.resolve(v.main(args)));
  assert.ok(acc >= 0 && acc <= 1, `${acc}`); // (a smoke run: the README has the full one's)
  assert.ok(lines.some((l) => l.startsWith("test accuracy: ")));
  assert.ok(lines.some((l) => l.startsWith("confusion (rows: true ball")));
  const [eager] = await quiet(() =>
    Promise.resolve(v.main([...args, "--no-jit"]))
  );
  assert.equal(eager, acc);
  // each label's shape: a ball fills about 4/3·π·r³ voxels, a cube (1.6 r)³,
  // a rod π·(0.45 r)²·3.6 r; the voxels above 0.5 with the noise averaged out
  const ds = v.makeVolumes(30, T.random.key(4));
  const x = ds.x.data, labels = ds.y.data;
  for (let i = 0; i < 30; i++) {
    let inside = 0;
    for (let k = 0; k < 4096; k++) inside += x[i * 4096 + k] > 0.5 ? 1 : 0;
    assert.ok(inside > 10 && inside < 1800, `volume ${i}: ${inside} voxels`);
  }
  assert.equal(new Set(labels).size, 3);
  assert.deepEqual(v.volumeNet().info.outputShape!([2, 1, 16, 16, 16]), [2, 3]);
});

Deno.test("export.ts writes lenet.onnx, lenet.py, lenet.safetensors and train_ddp.py into --out DIR", async () => {
  const { main: exportMain } = await import("../examples/export.ts");
  const dir = await Deno.makeTempDir();
  const [files, lines] = await quiet(() =>
    exportMain(["--epochs", "0", "--out", dir])
  );
  assert.deepEqual(
    files.map((f: string) => f.slice(dir.length + 1)),
    ["lenet.onnx", "lenet.py", "lenet.safetensors", "train_ddp.py"],
  );
  const net = T.nn.lenet5();
  assert.equal(
    await Deno.readTextFile(join(dir, "lenet.py")),
    T.nn.toTorch(net, { inputShape: [1, 1, 32, 32] }),
  );
  const weights = await T.data.loadSafetensors(join(dir, "lenet.safetensors"), {
    like: net.init(T.random.key(0)),
  });
  assert.deepEqual(
    T.treePaths(weights as never).map(([p]) => p),
    T.treePaths(net.init(T.random.key(0))).map(([p]) => p),
  );
  assert.match(lines.join("\n"), /torchrun --nproc_per_node=N train_ddp\.py/);
  assert.match(
    await Deno.readTextFile(join(dir, "train_ddp.py")),
    /DistributedDataParallel/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sequences.ts trains an LSTM (and a GRU) on MNIST read row by row, jit as eager", async () => {
  const s = await import("../examples/sequences.ts");
  const args = ["--epochs", "1", "--train", "256", "--hidden", "16"];
  const [acc, lines] = await quiet(() => s.main(args));
  assert.ok(acc >= 0 && acc <= 1, `${acc}`); // (a smoke run: the README has the full one's)
  assert.ok(lines.some((l) => l.startsWith("test accuracy: ")));
  assert.ok(
    lines.some((l) => l.includes("(0): LSTM(28, 16, batch_first=True)")),
  );
  const [eager] = await quiet(() => s.main([...args, "--no-jit"]));
  assert.equal(eager, acc);
  const [gru, gruLines] = await quiet(() => s.main([...args, "--cell", "gru"]));
  assert.ok(gru >= 0 && gru <= 1, `${gru}`);
  assert.ok(
    gruLines.some((l) => l.includes("(0): GRU(28, 16, batch_first=True)")),
  );
  // a digit's rows are its image's, standardised
  const ds = s.asRows({
    x: T.ones([2, 1, 28, 28]),
    y: T.zeros([2], { dtype: "int32" }),
  });
  assert.deepEqual(ds.x.shape, [2, 28, 28]);
  assert.ok(Math.abs(ds.x.data[0] - (1 - 0.1307) / 0.3081) < 1e-6);
  assert.deepEqual(s.rowNet(8).info.outputShape([3, 28, 28]), [3, 10]);
  await assert.rejects(
    () => s.main(["--cell", "rnn"]),
    /--cell must be lstm or gru, got rnn/,
  );
});

Deno.test("vit.ts trains a small vision transformer on MNIST, jit as eager", async () => {
  const v = await import("../examples/vit.ts");
  const args = [
    "--epochs",
    "1",
    "--train",
    "256",
    "--dim",
    "8",
    "--depth",
    "1",
  ];
  const [acc, lines] = await quiet(() => v.main(args));
  assert.ok(acc >= 0 && acc <= 1, `${acc}`); // (a smoke run: the README has the full one's)
  assert.ok(lines.some((l) => l.startsWith("test accuracy: ")));
  const [eager] = await quiet(() => v.main([...args, "--no-jit"]));
  assert.equal(eager, acc);
  const net = v.vit(8, 1);
  assert.deepEqual(net.info.outputShape([3, 1, 28, 28]), [3, 10]);
  assert.ok(
    T.treePaths(net.init(T.random.key(0)) as never).some(([p]) =>
      p === "encoder.layers.0.self_attn.in_proj_weight"
    ),
  );
  await assert.rejects(
    () => v.main(["--dim", "6"]),
    /--dim must be a positive multiple of 4, got 6/,
  );
});
