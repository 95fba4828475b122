// Bugs found by probing the data pipeline, the metrics and the IDX reader;
// each test failed before its fix.
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { data, metrics, random } from "../mod.ts";
import { failsWith } from "./_helpers.ts";

const int32 = { dtype: "int32" } as const;

/** The error `f` throws, checked to contain `text`. */
function throwsWith(f: () => unknown, text: string): Error {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof Error, String(err));
    assert.ok(err.message.includes(text), `${err.message}\n  lacks: ${text}`);
    return err;
  }
  throw new Error(`expected an error containing: ${text}`);
}

const ds = (n: number) => ({
  x: T.arange(n),
  y: T.arange(n, undefined, 1, int32),
});
const drawn = (it: Iterable<{ y: T.Tensor }>) =>
  [...it].flatMap((b) => Array.from(b.y.data));

Deno.test("batches: weights are drawn in float64, as WeightedRandomSampler (torch.as_tensor(weights, dtype=torch.double))", () => {
  // float32 weights whose sum overflows float32 (6e38) but not float64:
  // torch draws both rows; before, the iteration threw random.choice's
  // "p must sum to a positive finite number".
  const w = T.tensor([3e38, 3e38]);
  const rows = drawn(
    data.batches(ds(2), { batchSize: 2, weights: w, key: random.key(0) }),
  );
  assert.deepEqual(rows.length, 2);
  let ones = 0;
  for (let k = 0; k < 200; k++) {
    ones += drawn(
      data.batches(ds(2), { batchSize: 2, weights: w, key: random.key(k) }),
    ).filter((v) => v === 1).length;
  }
  assert.ok(Math.abs(ones / 400 - 0.5) < 0.1, `${ones}`);
  // A float32 running sum stops growing past 2^24: after a row of weight
  // 2^24, rows of weight 1 were never drawn. Their share is
  // 65536 / (2^24 + 65536), about 255 of 65537 draws (sd about 16).
  const n = 65537;
  const big = new Float32Array(n).fill(1);
  big[0] = 2 ** 24;
  const order = drawn(
    data.batches(ds(n), {
      batchSize: n,
      weights: T.tensor(big, { shape: [n] }),
      key: random.key(0),
    }),
  );
  const others = order.filter((v) => v !== 0).length;
  assert.ok(others > 150 && others < 360, `${others}`);
});

Deno.test("batches and split: non-boolean flags, a string fraction and a bad key are errors naming the function", () => {
  throwsWith(
    () =>
      data.batches(ds(4), {
        batchSize: 3,
        shuffle: "false" as never,
        key: random.key(0),
      }),
    "batches: options.shuffle must be a boolean",
  );
  throwsWith(
    () => data.batches(ds(4), { batchSize: 3, dropLast: "no" as never }),
    "batches: options.dropLast must be a boolean",
  );
  throwsWith(
    () => data.split(ds(4), { fraction: "0.5" as never }),
    "split: fraction must be a number in [0, 1]",
  );
  throwsWith(
    () => data.split(ds(4), { key: 3 as never }),
    "split: options.key must be a random key",
  );
  // the valid calls still work
  assert.deepEqual(
    data.batches(ds(4), { batchSize: 3, dropLast: true }).length,
    1,
  );
  assert.deepEqual(data.split(ds(4), { fraction: 0.5 })[0].y.shape, [2]);
});

Deno.test("topKAccuracy: a NaN logit of another class ranks above the label, as torch.topk (and as accuracy's argmax)", () => {
  // torch.tensor([[nan, 1., 0.]]).topk(1).indices == [[0]]; topk(2) == [[0, 1]]
  const logits = T.tensor([[NaN, 1, 0], [0, NaN, 5]]);
  const labels = T.tensor([1, 2], int32);
  assert.deepEqual(metrics.topKAccuracy(logits, labels, 1), 0);
  assert.deepEqual(metrics.accuracy(logits, labels), 0);
  assert.deepEqual(metrics.topKAccuracy(logits, labels, 2), 1);
  // the label's own NaN ranks first too: torch.tensor([[nan, 1.]]).topk(1)
  // is [[0]], as argmax
  assert.deepEqual(
    metrics.topKAccuracy(T.tensor([[NaN, 1]]), T.tensor([0], int32), 1),
    1,
  );
  assert.deepEqual(
    metrics.accuracy(T.tensor([[NaN, 1]]), T.tensor([0], int32)),
    1,
  );
});

Deno.test("formatConfusionMatrix: a class name longer than the header keeps the columns aligned; bad classNames/options are errors", () => {
  const cm = T.tensor([[1, 0], [0, 2]], int32);
  const text = metrics.formatConfusionMatrix(cm, {
    classNames: ["a-very-long-class-name", "b"],
  });
  const lines = text.split("\n");
  // every line has the same length up to its recall column, and each
  // column ends at the same position
  const ends = (l: string) =>
    [...l.matchAll(/\S+/g)].map((m) => m.index! + m[0].length);
  assert.deepEqual(lines[1].length, lines[2].length);
  assert.deepEqual(ends(lines[1]).slice(-3), ends(lines[2]).slice(-3));
  assert.deepEqual(ends(lines[0]).slice(-3), ends(lines[1]).slice(-3));
  assert.deepEqual(
    lines[0],
    "      true \\ predicted  a-very-long-class-name                       b  recall",
  );
  throwsWith(
    () => metrics.formatConfusionMatrix(cm, { classNames: [5, 6] as never }),
    "formatConfusionMatrix: classNames must be an array of strings",
  );
  throwsWith(
    () => metrics.formatConfusionMatrix(cm, null as never),
    "formatConfusionMatrix: options must be an object",
  );
  throwsWith(
    () => metrics.formatConfusionMatrix(cm, { names: [] } as never),
    'formatConfusionMatrix: unknown option "names"',
  );
});

Deno.test("precisionRecallF1: errors from its confusion matrix name precisionRecallF1", () => {
  const y = T.tensor([0, 1], int32);
  throwsWith(
    () =>
      metrics.precisionRecallF1(T.tensor([0, 5], int32), y, { numClasses: 2 }),
    "precisionRecallF1: predictions has class index 5 at position 1, outside [0, 1]",
  );
  throwsWith(
    () => metrics.precisionRecallF1(y, y, {} as never),
    "precisionRecallF1: numClasses must be a positive integer, got undefined",
  );
});

Deno.test("mixup/cutmix: numClasses that contradicts the columns of class probabilities is an error, not ignored", () => {
  const x = random.uniform(random.key(0), [2, 1, 2, 2]);
  const probs = T.tensor([[0.2, 0.8], [1, 0]]);
  for (const f of [data.mixup, data.cutmix]) {
    throwsWith(
      () => f(x, probs, { numClasses: 5, p: 1, key: random.key(1) }),
      "numClasses number 5 does not match the 2 columns",
    );
    assert.deepEqual(
      f(x, probs, { numClasses: 2, p: 1, key: random.key(1) }).y.shape,
      [2, 2],
    );
  }
});

Deno.test("readIdx (gzip): a bad header names the file; no rank past 64, no size past 2^31 - 1 beside a 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gzip = async (b: Uint8Array) =>
      new Uint8Array(
        await new Response(
          new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
            new CompressionStream("gzip"),
          ),
        ).arrayBuffer(),
      );
    const write = async (name: string, b: number[], gz = true) => {
      const u = new Uint8Array(b);
      await Deno.writeFile(`${dir}/${name}`, gz ? await gzip(u) : u);
      return `${dir}/${name}`;
    };
    const magic = await write("magic.gz", [1, 2, 8, 1, 0, 0, 0, 1, 5]);
    const e1 = await failsWith(() => data.readIdx(magic), magic);
    assert.ok(e1.message.startsWith("readIdx: not an IDX file"), e1.message);
    assert.ok(e1.message.includes(magic), e1.message);
    const type = await write("type.gz", [0, 0, 7, 1, 0, 0, 0, 1, 5]);
    const e2 = await failsWith(() => data.readIdx(type), type);
    assert.ok(e2.message.includes(type), e2.message);
    // [0, 4294967295, 4294967295] ubyte: 0 elements, but no tensor may have
    // such sizes (zeros([0, 2 ** 32]) is an error; sum over it failed with
    // "Invalid typed array length")
    const ff = [0xff, 0xff, 0xff, 0xff];
    for (const gz of [true, false]) {
      const zero = await write(
        `zero${gz ? ".gz" : ""}`,
        [0, 0, 8, 3, 0, 0, 0, 0, ...ff, ...ff],
        gz,
      );
      await failsWith(
        () => data.readIdx(zero),
        "size 4294967295 of dimension 1 is more than 2^31 - 1",
      );
    }
    throwsWith(
      () => data.parseIdx(new Uint8Array([0, 0, 8, 2, 0, 0, 0, 0, ...ff])),
      "parseIdx: IDX header declares shape [0,4294967295]",
    );
    // 65 dimensions of size 1 (a tensor has at most 64)
    const deep = [0, 0, 8, 65, ...Array(65).fill([0, 0, 0, 1]).flat(), 7];
    throwsWith(
      () => data.parseIdx(new Uint8Array(deep)),
      "parseIdx: IDX header declares 65 dimensions, more than a tensor's 64",
    );
    const deepGz = await write("deep.gz", deep);
    await failsWith(() => data.readIdx(deepGz), "65 dimensions");
    // 64 are fine
    const ok = [0, 0, 8, 64, ...Array(64).fill([0, 0, 0, 1]).flat(), 7];
    assert.deepEqual(data.parseIdx(new Uint8Array(ok)).shape.length, 64);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
