import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix
import { decode as fastPngDecode } from "npm:fast-png@8";
import { fromData, type Tensor, tensor, toArray } from "../ops/tensor.ts";
import {
  decodePng,
  deserializeSafetensors,
  encodePng,
  loadFashionMnist,
  loadMnist,
  loadSafetensors,
  parseCifar10,
  parseIdx,
  parseSafetensorsHeader,
  readCifar10,
  readIdx,
  readPng,
  safetensorsMetadata,
  saveSafetensors,
  serializeSafetensors,
  writePng,
} from "../data/mod.ts";
import { fsError } from "../data/_io.ts";
import type { Tree } from "../ops/tree.ts";
import { crc32 } from "node:zlib";
import { concat, ihdr, png, pngChunk as chunk } from "./_png.ts";
import { withTempDir } from "./_helpers.ts";

// ---------------------------------------------------------------- helpers

async function pipe(
  bytes: Uint8Array,
  stream: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const buf = await new Response(
    new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream),
  ).arrayBuffer();
  return new Uint8Array(buf);
}
const gzip = (b: Uint8Array) => pipe(b, new CompressionStream("gzip"));
const zlib = (b: Uint8Array) => pipe(b, new CompressionStream("deflate"));

/** IDX bytes: magic, big-endian dims, then the body as given. */
function idx(type: number, dims: number[], body: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return concat(head, body);
}

function bigEndian(
  values: number[],
  size: number,
  set: (v: DataView, o: number, x: number) => void,
): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => set(v, i * size, x));
  return out;
}

/** A hand-built PNG: `rows` are the unfiltered scanlines (filter byte 0 is added). */
async function makePng(
  o: {
    width: number;
    height: number;
    depth: number;
    colorType: number;
    rows: Uint8Array[];
    extra?: Uint8Array[];
  },
): Promise<Uint8Array> {
  const raw = concat(...o.rows.map((r) => concat(new Uint8Array([0]), r)));
  return png(
    ihdr(o.width, o.height, o.depth, o.colorType),
    ...(o.extra ?? []),
    chunk("IDAT", await zlib(raw)),
    chunk("IEND", new Uint8Array(0)),
  );
}

function timed<T>(f: () => T, ms = 200): T {
  const t0 = performance.now();
  try {
    return f();
  } finally {
    assert.ok(performance.now() - t0 < ms, `took over ${ms} ms`);
  }
}

function leaf(tree: unknown, path: string): Tensor {
  // deno-lint-ignore no-explicit-any
  return path.split(".").reduce((t: any, k) => t?.[k], tree) as Tensor;
}

// -------------------------------------------------------------------- IDX

Deno.test("parseIdx: every element type round-trips", () => {
  const be =
    (size: number, set: (v: DataView, o: number, x: number) => void) =>
    (xs: number[]) => bigEndian(xs, size, set);
  const cases: [number, number[], string, Uint8Array][] = [
    [0x08, [0, 1, 254, 255], "int32", new Uint8Array([0, 1, 254, 255])],
    [0x09, [-128, -1, 0, 127], "int32", new Uint8Array([128, 255, 0, 127])],
    [
      0x0b,
      [-32768, -2, 300, 32767],
      "int32",
      be(2, (v, o, x) => v.setInt16(o, x))([-32768, -2, 300, 32767]),
    ],
    [
      0x0c,
      [-(2 ** 31), -7, 70000, 2 ** 31 - 1],
      "int32",
      be(4, (v, o, x) => v.setInt32(o, x))([
        -(2 ** 31),
        -7,
        70000,
        2 ** 31 - 1,
      ]),
    ],
    [
      0x0d,
      [0.5, -1.25, 3e30, 0],
      "float32",
      be(4, (v, o, x) => v.setFloat32(o, x))([0.5, -1.25, 3e30, 0]),
    ],
    [
      0x0e,
      [0.1, -1e300, Math.PI, 5e-324],
      "float64",
      be(8, (v, o, x) => v.setFloat64(o, x))([0.1, -1e300, Math.PI, 5e-324]),
    ],
  ];
  for (const [type, values, dtype, body] of cases) {
    const t = parseIdx(idx(type, [2, 2], body));
    assert.equal(t.dtype, dtype, `type 0x${type.toString(16)}`);
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual(
      [...t.data],
      dtype === "float32" ? [...new Float32Array(values)] : values,
    );
  }
  // 1-d and 3-d shapes, zero-size
  assert.deepEqual(parseIdx(idx(8, [3, 1, 2], new Uint8Array(6))).shape, [
    3,
    1,
    2,
  ]);
  assert.deepEqual(parseIdx(idx(8, [0], new Uint8Array(0))).shape, [0]);
});

Deno.test("parseIdx: corrupt inputs give clear errors", () => {
  const good = idx(8, [2, 3], new Uint8Array([1, 2, 3, 4, 5, 6]));
  assert.throws(
    () => parseIdx(good.subarray(0, 3)),
    /parseIdx: truncated IDX file: expected a header of at least 4 bytes, got 3/,
  );
  assert.throws(
    () => parseIdx(good.subarray(0, 9)),
    /parseIdx: truncated IDX file: expected a header of at least 12 bytes, got 9/,
  );
  assert.throws(
    () => parseIdx(good.subarray(0, 15)),
    /parseIdx: IDX header declares shape \[2,3\] of ubyte \(18 bytes in all\), but the data is 15 bytes \(truncated/,
  );
  assert.throws(
    () => parseIdx(concat(good, new Uint8Array(1))),
    /but the data is 19 bytes/,
  );
  const flipped = good.slice();
  flipped[0] ^= 0x80;
  assert.throws(
    () => parseIdx(flipped),
    /parseIdx: not an IDX file: expected the magic number to start with 00 00, got 80 00 08 02/,
  );
  const badType = good.slice();
  badType[2] = 0x0a;
  assert.throws(() => parseIdx(badType), /unknown IDX element type 0x0a/);
  assert.throws(
    () => parseIdx([0, 0, 8, 1] as never),
    /parseIdx: bytes must be a Uint8Array, got Array/,
  );
});

Deno.test("parseIdx: absurd dims in a small file fail fast without allocating", () => {
  // 2^31 ubyte items (and 2^32 x 2^32 x 2^32 doubles) declared in a 100-byte file.
  const big = concat(idx(8, [2 ** 31], new Uint8Array(0)), new Uint8Array(92));
  assert.equal(big.length, 100);
  timed(() =>
    assert.throws(
      () => parseIdx(big),
      /declares shape \[2147483648\] of ubyte \(2147483656 bytes in all\), but the data is 100 bytes/,
    )
  );
  const huge = concat(
    idx(0x0e, [2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1], new Uint8Array(0)),
    new Uint8Array(84),
  );
  timed(() =>
    assert.throws(() => parseIdx(huge), /parseIdx: IDX header declares/)
  );
});

Deno.test("readIdx: plain and gzip files, gzip bomb cap, bad gzip", async () => {
  await withTempDir("data_test_", async (dir) => {
    const bytes = idx(8, [2, 2], new Uint8Array([9, 8, 7, 6]));
    await Deno.writeFile(`${dir}/a-idx2-ubyte`, bytes);
    await Deno.writeFile(`${dir}/a-idx2-ubyte.gz`, await gzip(bytes));
    await Deno.writeFile(`${dir}/gz-without-suffix`, await gzip(bytes));
    for (
      const name of ["a-idx2-ubyte", "a-idx2-ubyte.gz", "gz-without-suffix"]
    ) {
      const t = await readIdx(`${dir}/${name}`);
      assert.deepEqual(toArray(t), [[9, 8], [7, 6]], name);
    }
    // Truncated gzip stream, and a truncated IDX inside a valid gzip.
    const gz = await gzip(bytes);
    await Deno.writeFile(`${dir}/cut.gz`, gz.subarray(0, gz.length - 12));
    await assert.rejects(readIdx(`${dir}/cut.gz`), /readIdx: ".*cut.gz"/);
    await Deno.writeFile(`${dir}/short.gz`, await gzip(bytes.subarray(0, 14)));
    await assert.rejects(
      readIdx(`${dir}/short.gz`),
      /readIdx: ".*short.gz": truncated IDX file: its header declares 16 bytes, the gzip stream holds 14/,
    );
    await Deno.writeFile(`${dir}/notgz.gz`, new Uint8Array([1, 2, 3, 4]));
    await assert.rejects(
      readIdx(`${dir}/notgz.gz`),
      /does not start with the gzip magic 1f 8b \(got 01 02 03 04\)/,
    );
    // Gzip bomb: the header declares 4 bytes but the stream inflates to 16 MB.
    const bomb = await gzip(
      concat(idx(8, [4], new Uint8Array(0)), new Uint8Array(16 << 20)),
    );
    assert.ok(bomb.length < 100_000);
    await Deno.writeFile(`${dir}/bomb.gz`, bomb);
    await assert.rejects(
      readIdx(`${dir}/bomb.gz`),
      /decompressed data is longer than the 12 bytes its IDX header declares/,
    );
    // A header declaring far more than the compressed size could ever hold.
    await Deno.writeFile(
      `${dir}/liar.gz`,
      await gzip(idx(0x0e, [2 ** 31, 2 ** 31], new Uint8Array(64))),
    );
    await assert.rejects(
      readIdx(`${dir}/liar.gz`),
      /IDX header declares shape \[2147483648,2147483648\] .* gzip bytes can hold at most \d+: corrupt header/,
    );
    // Bit-flipped magic inside gzip, and plain corrupt files name readIdx and the path.
    const flipped = bytes.slice();
    flipped[1] = 0x40;
    await Deno.writeFile(`${dir}/flip.gz`, await gzip(flipped));
    await assert.rejects(readIdx(`${dir}/flip.gz`), /readIdx: not an IDX file/);
    await Deno.writeFile(`${dir}/flip`, flipped);
    await assert.rejects(
      readIdx(`${dir}/flip`),
      /readIdx: ".*flip": not an IDX file/,
    );
    await assert.rejects(
      readIdx(`${dir}/missing`),
      /readIdx: no such file or directory ".*missing"/,
    );
  });
});

Deno.test({
  name: "readIdx: without --allow-read the error says which flag to add",
  permissions: "none",
  fn: async () => {
    await assert.rejects(
      readIdx("/tmp/some-idx3-ubyte"),
      /readIdx: no permission to read "\/tmp\/some-idx3-ubyte": add --allow-read/,
    );
  },
});

Deno.test("fsError: maps Deno errors to messages naming the flag", () => {
  const e = fsError(
    "f",
    "write",
    "x.bin",
    new Deno.errors.NotCapable(
      'Requires write access to "x.bin", run again with the --allow-write flag',
    ),
  );
  assert.match(
    e.message,
    /^f: no permission to write "x.bin": add --allow-read --allow-write/,
  );
  const r = fsError(
    "f",
    "write",
    "x.bin",
    new Deno.errors.NotCapable(
      'Requires read access to "x.bin", run again with the --allow-read flag',
    ),
  );
  assert.match(r.message, /add --allow-read/);
  const p = fsError(
    "g",
    "read",
    "y",
    new Deno.errors.PermissionDenied("EACCES"),
  );
  assert.match(p.message, /^g: permission denied to read "y" .*--allow-read/);
});

// ------------------------------------------------------------------ CIFAR

function cifarRecords(labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((l, i) => {
    out[i * 3073] = l;
    for (let p = 0; p < 3072; p++) out[i * 3073 + 1 + p] = (p + i * 7) & 0xff;
  });
  return out;
}

Deno.test("parseCifar10: layout, dtypes and validation", () => {
  const { x, y } = parseCifar10(cifarRecords([6, 0, 9]));
  assert.deepEqual(x.shape, [3, 3, 32, 32]);
  assert.equal(x.dtype, "float32");
  assert.equal(y.dtype, "int32");
  assert.deepEqual([...y.data], [6, 0, 9]);
  // image 1, green channel (1), row 2, col 5 -> pixel byte 1024 + 2 * 32 + 5
  assert.equal(x.data[1 * 3072 + 1024 + 2 * 32 + 5], (1024 + 69 + 7) & 0xff);
  assert.throws(
    () => parseCifar10(new Uint8Array(3072)),
    /parseCifar10: data: expected a non-zero multiple of 3073 bytes .* got 3072 bytes \(0 whole records and 3072 extra bytes\)/,
  );
  assert.throws(() => parseCifar10(new Uint8Array(0)), /multiple of 3073/);
  assert.throws(
    () => parseCifar10(cifarRecords([1, 10])),
    /parseCifar10: data: record 1 has label 10, expected 0..9/,
  );
});

Deno.test("readCifar10: subfolder, train/test files, missing-file message", async () => {
  await withTempDir("data_test_", async (dir) => {
    await Deno.mkdir(`${dir}/cifar-10-batches-bin`);
    await Deno.writeFile(
      `${dir}/cifar-10-batches-bin/test_batch.bin`,
      cifarRecords([3, 4]),
    );
    const test = await readCifar10(dir, { train: false });
    assert.deepEqual(test.x.shape, [2, 3, 32, 32]);
    assert.deepEqual([...test.y.data], [3, 4]);
    await assert.rejects(
      readCifar10(dir),
      /readCifar10: missing data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin in ".*cifar-10-batches-bin": expected data_batch_1.bin, .*data_batch_5.bin/,
    );
    for (let i = 1; i <= 5; i++) {
      await Deno.writeFile(
        `${dir}/cifar-10-batches-bin/data_batch_${i}.bin`,
        cifarRecords([i, i + 1]),
      );
    }
    const train = await readCifar10(`${dir}/cifar-10-batches-bin/`, {
      train: true,
    });
    assert.deepEqual(train.x.shape, [10, 3, 32, 32]);
    assert.deepEqual([...train.y.data], [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    await Deno.writeFile(
      `${dir}/cifar-10-batches-bin/data_batch_3.bin`,
      new Uint8Array(100),
    );
    await assert.rejects(
      readCifar10(dir),
      /readCifar10: ".*data_batch_3.bin": expected a non-zero multiple of 3073 bytes/,
    );
    await assert.rejects(
      readCifar10(`${dir}/nope`),
      /readCifar10: ".*nope" is missing: expected a directory holding the CIFAR-10 binary version/,
    );
    await assert.rejects(
      readCifar10(dir, { training: true } as never),
      /readCifar10: unknown option "training"/,
    );
  });
});

// -------------------------------------------------------------------- PNG

Deno.test("encodePng/decodePng: gray, gray+alpha, RGB, RGBA round trips", () => {
  const h = 5, w = 7;
  for (const c of [0, 1, 2, 3, 4]) {
    const n = h * w * Math.max(c, 1);
    const values = Array.from({ length: n }, (_, i) => (i * 37 + 11) % 256);
    const shape = c === 0 ? [h, w] : [h, w, c];
    const img = tensor(values, { shape });
    const png = encodePng(img);
    const back = decodePng(png);
    assert.equal(back.dtype, "float32");
    assert.deepEqual(back.shape, [h, w, Math.max(c, 1)]);
    assert.deepEqual([...back.data], values, `C = ${c}`);
    // an independent decoder reads the same pixels
    const other = fastPngDecode(png);
    assert.deepEqual([other.width, other.height], [w, h]);
    assert.deepEqual([...other.data], values, `C = ${c} (fast-png)`);
  }
  // int32 and float64 input; rounding and clamping
  const t = tensor([-5, 0.4, 0.6, 254.5, 300, 128], {
    shape: [2, 3],
    dtype: "float64",
  });
  assert.deepEqual([...decodePng(encodePng(t)).data], [0, 0, 1, 255, 255, 128]);
  assert.deepEqual([
    ...decodePng(encodePng(tensor([1, 2], { shape: [1, 2], dtype: "int32" })))
      .data,
  ], [1, 2]);
  assert.throws(
    () => encodePng(tensor([1, NaN], { shape: [1, 2] })),
    /encodePng: t holds NaN at flat index 1/,
  );
  assert.throws(
    () => encodePng(tensor([1, 2, 3, 4, 5], { shape: [1, 1, 5] })),
    /encodePng: t must have shape \[H, W\] or \[H, W, C\] .* got \[1,1,5\]/,
  );
  assert.throws(() => encodePng(tensor([], { shape: [0, 3] })), /H, W >= 1/);
  assert.throws(
    () => encodePng([[1]] as never),
    /encodePng: t must be a Tensor, got an array/,
  );
});

Deno.test("decodePng: palette with tRNS, 2-bit gray, 16-bit, colour key", async () => {
  // 2 x 3 palette image, 2-bit indices, 3 colours, two with alpha.
  const pal = await makePng({
    width: 3,
    height: 2,
    depth: 2,
    colorType: 3,
    rows: [new Uint8Array([0b00011000]), new Uint8Array([0b10010000])],
    extra: [
      chunk("PLTE", new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255])),
      chunk("tRNS", new Uint8Array([10, 20])),
    ],
  });
  const p = decodePng(pal);
  assert.deepEqual(p.shape, [2, 3, 4]);
  assert.deepEqual(toArray(p), [
    [[255, 0, 0, 10], [0, 255, 0, 20], [0, 0, 255, 255]],
    [[0, 0, 255, 255], [0, 255, 0, 20], [255, 0, 0, 10]],
  ]);
  // 2-bit gray: 0..3 -> 0, 85, 170, 255
  const g2 = await makePng({
    width: 4,
    height: 1,
    depth: 2,
    colorType: 0,
    rows: [new Uint8Array([0b00011011])],
  });
  assert.deepEqual([...decodePng(g2).data], [0, 85, 170, 255]);
  // 16-bit gray: divided by 257
  const g16 = await makePng({
    width: 2,
    height: 1,
    depth: 16,
    colorType: 0,
    rows: [new Uint8Array([0xff, 0xff, 0x01, 0x01])],
  });
  const d16 = decodePng(g16);
  assert.deepEqual(d16.shape, [1, 2, 1]);
  assert.deepEqual([...d16.data], [255, 1]);
  // 8-bit RGB with a tRNS colour key -> RGBA
  const key = await makePng({
    width: 2,
    height: 2,
    depth: 8,
    colorType: 2,
    rows: [
      new Uint8Array([1, 2, 3, 4, 5, 6]),
      new Uint8Array([4, 5, 6, 4, 5, 7]),
    ],
    extra: [chunk("tRNS", new Uint8Array([0, 4, 0, 5, 0, 6]))],
  });
  assert.deepEqual(toArray(decodePng(key)), [
    [[1, 2, 3, 255], [4, 5, 6, 0]],
    [[4, 5, 6, 0], [4, 5, 7, 255]],
  ]);
});

Deno.test("decodePng: corrupt PNGs give clear errors, bombs are refused", async () => {
  const good = encodePng(
    tensor(Array.from({ length: 64 }, (_, i) => i * 3), { shape: [8, 8] }),
  );
  assert.throws(
    () => decodePng(good.subarray(0, 5)),
    /decodePng: not a PNG: expected the signature 89 50 4e 47 0d 0a 1a 0a, got 89 50 4e 47 0d/,
  );
  const flipped = good.slice();
  flipped[1] ^= 0x01;
  assert.throws(() => decodePng(flipped), /decodePng: not a PNG/);
  assert.throws(
    () => decodePng(good.subarray(0, good.length - 20)),
    /decodePng: corrupt PNG: truncated/,
  );
  // Flip a bit inside the IDAT data: the CRC check catches it.
  const idatAt = good.indexOf(0x49, 33); // "I" of IDAT after IHDR
  const bad = good.slice();
  bad[idatAt + 6] ^= 0x10;
  assert.throws(
    () => decodePng(bad),
    /decodePng: corrupt PNG: chunk "IDAT" at byte 33 fails its CRC check/,
  );
  // IHDR claiming 2^30 x 2^30 pixels: refused before any allocation.
  const big = good.slice();
  new DataView(big.buffer).setUint32(16, 2 ** 30);
  new DataView(big.buffer).setUint32(20, 2 ** 30);
  new DataView(big.buffer).setUint32(29, crc32(big.subarray(12, 29)));
  timed(() =>
    assert.throws(
      () => decodePng(big),
      /decodePng: corrupt PNG: IHDR declares 1073741824 x 1073741824 .* compressed bytes can hold at most/,
    )
  );
  // A PNG bomb: 1 x 1 pixel declared, 16 MB of zeros compressed in IDAT.
  const bomb = await makePng({
    width: 1,
    height: 1,
    depth: 8,
    colorType: 0,
    rows: [new Uint8Array(16 << 20)],
  });
  timed(() =>
    assert.throws(
      () => decodePng(bomb),
      /decodePng: corrupt PNG: the image data is longer than the 2 bytes IHDR declares \(1 x 1\)/,
    )
  );
  // Too little image data for the declared size.
  const short = await makePng({
    width: 4,
    height: 4,
    depth: 8,
    colorType: 0,
    rows: [new Uint8Array(4)],
  });
  assert.throws(
    () => decodePng(short),
    /decodePng: corrupt PNG: truncated: 5 bytes of image data, IHDR declares 20/,
  );
  assert.throws(() => decodePng(new Uint8Array(0)), /got an empty file/);
});

Deno.test("writePng/readPng: files round-trip; errors name the path", async () => {
  await withTempDir("data_test_", async (dir) => {
    const img = tensor(Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 10), {
      shape: [2, 3, 3],
    });
    await writePng(`${dir}/a.png`, img);
    const back = await readPng(`${dir}/a.png`);
    assert.deepEqual(back.shape, [2, 3, 3]);
    assert.deepEqual([...back.data], [...img.data]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.png"]);
    await Deno.writeFile(`${dir}/b.png`, new Uint8Array([1, 2, 3]));
    await assert.rejects(
      readPng(`${dir}/b.png`),
      /readPng: ".*b.png": not a PNG/,
    );
    await assert.rejects(
      writePng(`${dir}/c.png`, tensor([1, 2])),
      /writePng: t must have shape/,
    );
    await assert.rejects(
      writePng(`${dir}/no/such/dir.png`, img),
      /writePng: no such file or directory/,
    );
  });
});

// ------------------------------------------------------------ safetensors

function sampleTree(): Tree {
  return {
    layers: [
      {
        weight: tensor([[1.5, -2], [3.25, 4]]),
        bias: tensor([0.1, 0.2]),
      },
      {},
      { weight: tensor([[Math.PI]], { dtype: "float64" }) },
    ],
    step: tensor(7, { dtype: "int32" }),
    stats: {
      counts: tensor([-(2 ** 31), 0, 2 ** 31 - 1], { dtype: "int32" }),
      empty: tensor([], { shape: [0, 3] }),
    },
    seq: [tensor([1]), tensor([2]), tensor([3])],
  };
}

Deno.test("safetensors: tree round trip with float32/float64/int32 and nesting", () => {
  const tree = sampleTree();
  const bytes = serializeSafetensors(tree, {
    metadata: { epoch: "3", note: "héllo" },
  });
  const n = new DataView(bytes.buffer).getUint32(0, true);
  assert.equal(n % 8, 0, "header padded to 8 bytes");
  assert.equal(new DataView(bytes.buffer).getUint32(4, true), 0);
  assert.deepEqual(safetensorsMetadata(bytes), { epoch: "3", note: "héllo" });
  const header = parseSafetensorsHeader(bytes);
  // PyTorch's state_dict keys, in the order of the tree
  assert.deepEqual(header.tensors.map((t) => t.name), [
    "layers.0.weight",
    "layers.0.bias",
    "layers.2.weight",
    "step",
    "stats.counts",
    "stats.empty",
    "seq.0",
    "seq.1",
    "seq.2",
  ]);
  const back = deserializeSafetensors(bytes);
  // the same tree: arrays with their {} entries, key order, dtypes, bytes
  assert.deepEqual(back, tree);
  assert.deepEqual(Object.keys(back), ["layers", "step", "stats", "seq"]);
  assert.deepEqual(Object.keys(leaf(back, "layers.0")), ["weight", "bias"]);
  for (const { name } of header.tensors) {
    const a = leaf(tree, name), b = leaf(back, name);
    assert.equal(b.dtype, a.dtype, name);
    assert.deepEqual(b.shape, a.shape, name);
    assert.deepEqual([...b.data], [...a.data], name);
  }
  assert.equal(leaf(back, "layers.2.weight").data[0], Math.PI);
  // Arrays at the root, and a copy independent of the input bytes.
  const rootArray = deserializeSafetensors(
    serializeSafetensors([tensor([1]), tensor([2])]),
  );
  assert.ok(Array.isArray(rootArray));
  const s = serializeSafetensors({ w: tensor([5]) });
  const w = leaf(deserializeSafetensors(s), "w");
  s.fill(0);
  assert.equal(w.data[0], 5);
  // Empty trees
  assert.deepEqual(deserializeSafetensors(serializeSafetensors({})), {});
  assert.deepEqual(deserializeSafetensors(serializeSafetensors([])), []);
  // A tensor whose data is a view into a larger buffer
  const view = fromData(new Float32Array([9, 8, 7, 6]).subarray(1, 3), [2]);
  assert.deepEqual([
    ...leaf(deserializeSafetensors(serializeSafetensors({ v: view })), "v")
      .data,
  ], [8, 7]);
});

Deno.test("deserializeSafetensors: a file without the structure entry (PyTorch's) loads by its dotted names", () => {
  const f32 = (begin: number) => ({
    dtype: "F32",
    shape: [1],
    data_offsets: [begin, begin + 4],
  });
  const bytes = rawSafetensors({
    __metadata__: { format: "pt" },
    "layers.2.weight": f32(0),
    "layers.0.weight": f32(4),
    "seq.1": f32(8),
    "seq.0": f32(12),
  }, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
  // deno-lint-ignore no-explicit-any
  const back = deserializeSafetensors(bytes) as any;
  assert.ok(Array.isArray(back.seq), "keys 0..n-1 load as an array");
  assert.deepEqual(back.seq.map((t: Tensor) => t.data[0]), [4, 3]);
  assert.ok(!Array.isArray(back.layers), "keys 0 and 2 load as an object");
  assert.deepEqual(Object.keys(back.layers), ["0", "2"]);
  assert.deepEqual(safetensorsMetadata(bytes), { format: "pt" });
});

Deno.test("serializeSafetensors: refuses what cannot round-trip", () => {
  assert.throws(
    () => serializeSafetensors(tensor([1])),
    {
      message:
        "serializeSafetensors: tree must be an object or array (its leaves are named by their paths), got Tensor float32 [1]; wrap it, e.g. { x: t }",
    },
  );
  assert.throws(
    () => serializeSafetensors({ "a.b": tensor([1]) }),
    /serializeSafetensors: key "a.b" cannot be stored/,
  );
  assert.throws(
    () => serializeSafetensors({ x: { "": tensor([1]) } }),
    /key "" under "x" cannot be stored/,
  );
  assert.throws(
    () => serializeSafetensors({ __metadata__: tensor([1]) }),
    /"__metadata__" is reserved/,
  );
  assert.throws(
    () =>
      serializeSafetensors({ w: tensor([1]) }, {
        metadata: { epoch: 3 },
      } as never),
    /metadata values must be strings .* "epoch" is number/,
  );
  assert.throws(
    () => serializeSafetensors({ w: "5" } as never),
    {
      message:
        'serializeSafetensors: tree holds the string "5" at "w"; expected a tensor, a random key, a number, a boolean, null, an array or a plain object',
    },
  );
  assert.throws(
    () => serializeSafetensors({ w: tensor([1]) }, { epoch: "3" } as never),
    /serializeSafetensors: unknown option "epoch" \(known options: metadata\)/,
  );
});

/** Builds a safetensors file from a header object and a data section. */
function rawSafetensors(
  header: unknown,
  data: Uint8Array,
  n?: number,
): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, n ?? h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("deserializeSafetensors: corrupt files give clear errors", () => {
  const fn = /deserializeSafetensors: /;
  const good = serializeSafetensors({
    a: tensor([1, 2]),
    b: tensor([3], { dtype: "float64" }),
  });
  assert.throws(
    () => deserializeSafetensors(good.subarray(0, 5)),
    /deserializeSafetensors: truncated safetensors file: expected at least 8 bytes .* got 5/,
  );
  assert.throws(
    () => deserializeSafetensors(good.subarray(0, 40)),
    /deserializeSafetensors: corrupt safetensors file: header length \d+ exceeds the 32 bytes after the length field/,
  );
  assert.throws(
    () => deserializeSafetensors(good.subarray(0, good.length - 1)),
    /header entry "b" has "data_offsets" \[8, 16\], which run past the end of the data section \(15 bytes\): truncated file/,
  );
  // Oversized header length: 2^40 and 200 MB declared.
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(4, 256, true);
  timed(() =>
    assert.throws(
      () => deserializeSafetensors(huge),
      /header length 1099511627\d+ exceeds the 100000000-byte limit/,
    )
  );
  const big = good.slice();
  new DataView(big.buffer).setUint32(0, 200_000_000, true);
  assert.throws(
    () => deserializeSafetensors(big),
    /exceeds the 100000000-byte limit/,
  );
  // Bit flip inside the JSON.
  const flipped = good.slice();
  flipped[8] ^= 0x40;
  assert.throws(
    () => deserializeSafetensors(flipped),
    /deserializeSafetensors: corrupt safetensors file: the \d+-byte header is not valid UTF-8 JSON/,
  );
  const d8 = new Uint8Array(8);
  assert.throws(
    () => deserializeSafetensors(rawSafetensors([1, 2], new Uint8Array(0))),
    /the header must be a JSON object, got an array/,
  );
  assert.throws(
    () =>
      deserializeSafetensors(
        rawSafetensors({
          w: { dtype: "F8_E4M3", shape: [8], data_offsets: [0, 8] },
        }, d8),
      ),
    /deserializeSafetensors: header entry "w" has unsupported "dtype" "F8_E4M3" \(supported: "F32", "F64", "I32", "F16", "BF16", "I64", "U64", "U32", "I16", "U16", "I8", "U8", "BOOL"\)$/,
  );
  assert.throws(
    () =>
      deserializeSafetensors(
        rawSafetensors({
          w: { dtype: "C64", shape: [1], data_offsets: [0, 8] },
        }, d8),
      ),
    /unsupported "dtype" "C64"/,
  );
  assert.throws(
    () =>
      deserializeSafetensors(
        rawSafetensors({
          w: { dtype: "F32", shape: [3], data_offsets: [0, 8] },
        }, d8),
      ),
    /header entry "w" has "shape" \[3\] of F32, which needs 12 bytes, but "data_offsets" \[0, 8\] span 8/,
  );
  assert.throws(
    () =>
      deserializeSafetensors(
        rawSafetensors({
          w: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
        }, d8),
      ),
    /run past the end/,
  );
  assert.throws(
    () =>
      deserializeSafetensors(
        rawSafetensors({
          w: { dtype: "F32", shape: [-2], data_offsets: [0, 8] },
        }, d8),
      ),
    /header entry "w" has "shape" \[-2\], expected an array of non-negative integers/,
  );
  assert.throws(
    () =>
      deserializeSafetensors(
        rawSafetensors({
          w: { dtype: "F32", shape: [2], data_offsets: [8, 0] },
        }, d8),
      ),
    /has "data_offsets" \[8,0\], expected \[begin, end\]/,
  );
  assert.throws(
    () => deserializeSafetensors(rawSafetensors({ w: 5 }, d8)),
    /header entry "w" must be an object with "dtype", "shape" and "data_offsets", got 5/,
  );
  const two = (o1: number[], o2: number[], len: number) =>
    rawSafetensors({
      a: { dtype: "F32", shape: [1], data_offsets: o1 },
      b: { dtype: "F32", shape: [1], data_offsets: o2 },
    }, new Uint8Array(len));
  assert.throws(
    () => deserializeSafetensors(two([0, 4], [0, 4], 8)),
    /tensor "b" starts at byte 0 of the data section, expected 4 \(overlapping tensors\)/,
  );
  assert.throws(
    () => deserializeSafetensors(two([0, 4], [8, 12], 12)),
    /tensor "b" starts at byte 8 .* expected 4 \(a gap between tensors\)/,
  );
  assert.throws(
    () => deserializeSafetensors(two([0, 4], [4, 8], 12)),
    /the tensors cover 8 bytes, but the data section holds 12/,
  );
  // Name clashes and empty path segments
  const clash = rawSafetensors({
    a: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    "a.b": { dtype: "F32", shape: [1], data_offsets: [4, 8] },
  }, d8);
  assert.throws(() => deserializeSafetensors(clash), fn);
  assert.throws(() => deserializeSafetensors(clash), /clashes with/);
  assert.throws(
    () =>
      deserializeSafetensors(
        rawSafetensors({
          "a..b": { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        }, d8),
      ),
    /tensor name "a..b" has an empty path segment/,
  );
  // Files from other writers: unpadded header, offsets in any order, metadata.
  const other = rawSafetensors({
    __metadata__: { format: "pt" },
    z: { dtype: "I32", shape: [1], data_offsets: [4, 8] },
    y: { dtype: "F32", shape: [], data_offsets: [0, 4] },
  }, new Uint8Array([0, 0, 0x80, 0x3f, 5, 0, 0, 0]));
  // deno-lint-ignore no-explicit-any
  const t = deserializeSafetensors(other) as any;
  assert.deepEqual(t.y.shape, []);
  assert.equal(t.y.data[0], 1);
  assert.equal(t.z.data[0], 5);
  assert.deepEqual(safetensorsMetadata(other), { format: "pt" });
});

Deno.test("saveSafetensors/loadSafetensors: atomic save, no temp files left", async () => {
  await withTempDir("data_test_", async (dir) => {
    const path = `${dir}/ckpt.safetensors`;
    await saveSafetensors(path, sampleTree(), { metadata: { epoch: "1" } });
    const first = await Deno.readFile(path);
    // deno-lint-ignore no-explicit-any
    const back = (await loadSafetensors(path)) as any;
    assert.deepEqual([...back.stats.counts.data], [-(2 ** 31), 0, 2 ** 31 - 1]);
    // A failing save leaves the previous checkpoint intact and no temp file.
    await assert.rejects(
      saveSafetensors(path, { "bad.key": tensor([1]) }),
      /saveSafetensors: key "bad.key" cannot be stored/,
    );
    assert.deepEqual(await Deno.readFile(path), first);
    await saveSafetensors(path, { w: tensor([1, 2]) });
    assert.deepEqual(Object.keys(await loadSafetensors(path) as object), [
      "w",
    ]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "ckpt.safetensors",
    ]);
    await assert.rejects(
      saveSafetensors(`${dir}/missing/x.safetensors`, { w: tensor([1]) }),
      /saveSafetensors: no such file or directory ".*missing\/x.safetensors"/,
    );
    await assert.rejects(
      saveSafetensors(path, { w: tensor([1]) }, { meta: {} } as never),
      /saveSafetensors: unknown option "meta"/,
    );
    await Deno.writeFile(
      `${dir}/cut.safetensors`,
      first.subarray(0, first.length - 3),
    );
    await assert.rejects(
      loadSafetensors(`${dir}/cut.safetensors`),
      /loadSafetensors: ".*cut.safetensors": header entry "seq.2" has "data_offsets" .* run past the end/,
    );
    await assert.rejects(
      loadSafetensors(`${dir}/none.safetensors`),
      /loadSafetensors: no such file or directory/,
    );
  });
});

Deno.test({
  name:
    "saveSafetensors: without --allow-write the error says which flag to add",
  permissions: { read: true, write: false },
  fn: async () => {
    await assert.rejects(
      saveSafetensors("/tmp/never-written.safetensors", { w: tensor([1]) }),
      /saveSafetensors: no permission to write ".*never-written.safetensors": add --allow-read --allow-write/,
    );
  },
});

Deno.test("loadSafetensors: PyTorch-written fixture matches its JSON exactly", async () => {
  const dir = new URL("./fixtures/", import.meta.url);
  const tree = await loadSafetensors(
    new URL("torch_small.safetensors", dir).pathname,
  );
  const expected: Record<
    string,
    { dtype: string; shape: number[]; values: number[] }
  > = JSON.parse(
    await Deno.readTextFile(new URL("torch_small.json", dir)),
  );
  assert.deepEqual(Object.keys(expected), [
    "0.bias",
    "0.weight",
    "2.bias",
    "2.weight",
    "extra.f64",
    "extra.i32",
  ]);
  // Sequential(Conv2d, ReLU, Linear): keys 0 and 2, so an object, not an array.
  assert.deepEqual(Object.keys(tree as object), ["0", "2", "extra"]);
  for (const [name, e] of Object.entries(expected)) {
    const t = leaf(tree, name);
    assert.equal(t.dtype, e.dtype, name);
    assert.deepEqual(t.shape, e.shape, name);
    assert.deepEqual([...t.data], e.values, name);
  }
  const bytes = await Deno.readFile(new URL("torch_small.safetensors", dir));
  assert.deepEqual(safetensorsMetadata(bytes), {
    format: "pt",
    source: "gen_safetensors.py",
  });
  // Re-serializing gives a file with the same header entries and data.
  const again = serializeSafetensors(tree, {
    metadata: safetensorsMetadata(bytes),
  });
  assert.deepEqual(
    parseSafetensorsHeader(again).tensors,
    parseSafetensorsHeader(bytes).tensors,
  );
});

Deno.test("loadSafetensors: PyTorch's other dtypes load widened exactly (F16, BF16 as float32; I64, I16, I8, U8, BOOL as int32), so a BatchNorm state_dict loads whole", async () => {
  const dir = new URL("./fixtures/", import.meta.url);
  const path = new URL("torch_dtypes.safetensors", dir).pathname;
  const expected: Record<
    string,
    {
      stored: string;
      dtype: string;
      shape: number[];
      values: (number | string)[];
    }
  > = JSON.parse(await Deno.readTextFile(new URL("torch_dtypes.json", dir)));
  const tree = await loadSafetensors(path);
  const bytes = await Deno.readFile(path);
  const header = new Map(
    parseSafetensorsHeader(bytes).tensors.map((e) => [e.name, e]),
  );
  const num = (v: number | string) =>
    typeof v === "number"
      ? v
      : ({ inf: Infinity, "-inf": -Infinity, nan: NaN } as Record<
        string,
        number
      >)[v];
  for (const [name, e] of Object.entries(expected)) {
    const t = leaf(tree, name);
    assert.equal(header.get(name)!.stored, e.stored, name);
    assert.equal(t.dtype, e.dtype, name);
    assert.deepEqual(t.shape, e.shape, name);
    // PyTorch's .float() / .int() of each value, to the bit (NaN included)
    assert.deepEqual([...t.data], e.values.map(num), name);
  }
  assert.deepEqual(
    new Set(Object.values(expected).map((e) => e.stored)),
    new Set(["F32", "I64", "F16", "BF16", "I16", "I8", "U8", "BOOL"]),
  );
  // into a model of the same layers, checked against the template
  const { nn, random } = await import("../mod.ts");
  const net = nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
    nn.batchNorm2d({ numFeatures: 2 }),
  );
  const params = net.init(random.key(0)), state = net.initState();
  const like = { "0": params[0], "1": { ...params[1], ...state[1] } };
  const loaded = await loadSafetensors(path, {
    like: { ...like, extra: (tree as { extra: unknown }).extra },
  }) as typeof like;
  assert.equal(loaded["1"].num_batches_tracked.dtype, "int32");
  assert.deepEqual(toArray(loaded["1"].num_batches_tracked), 1);
  // an integer outside int32's range is an error naming the tensor
  const big = serializeSafetensors({ n: tensor([0], { dtype: "int32" }) });
  const text = new TextDecoder().decode(big.subarray(8));
  const huge = text.replace('"I32"', '"I64"').replace("[0,4]", "[0,8]");
  const head = new TextEncoder().encode(huge.slice(0, huge.indexOf("}}") + 2));
  const padded = new Uint8Array(Math.ceil(head.length / 8) * 8).fill(32);
  padded.set(head);
  const file = new Uint8Array(8 + padded.length + 8);
  new DataView(file.buffer).setBigUint64(0, BigInt(padded.length), true);
  file.set(padded, 8);
  new DataView(file.buffer).setBigInt64(8 + padded.length, 2n ** 31n, true);
  assert.throws(
    () => deserializeSafetensors(file),
    /^Error: deserializeSafetensors: tensor "n" \(I64\) holds 2147483648 at flat index 0, outside int32's range/,
  );
  new DataView(file.buffer).setBigInt64(8 + padded.length, -(2n ** 31n), true);
  assert.deepEqual(
    [...(deserializeSafetensors(file) as { n: Tensor }).n.data],
    [-(2 ** 31)],
  );
});

// ------------------------------------------------------------------ MNIST

Deno.test({
  name: "loadMnist: needs no permissions; shapes, balance, determinism, range",
  permissions: "none",
  fn: async () => {
    const a = await loadMnist();
    const b = await loadMnist();
    assert.deepEqual(a.train.x.shape, [7996, 1, 28, 28]);
    assert.deepEqual(a.train.y.shape, [7996]);
    assert.deepEqual(a.test.x.shape, [2004, 1, 28, 28]);
    assert.deepEqual(a.test.y.shape, [2004]);
    assert.equal(a.train.x.dtype, "float32");
    assert.equal(a.train.y.dtype, "int32");
    const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
    const count = (y: Tensor) => {
      const c = new Array(10).fill(0);
      for (const v of y.data) c[v]++;
      return c;
    };
    assert.deepEqual(
      count(a.train.y),
      perDigit.map((n) => Math.floor((n * 4) / 5)),
    );
    assert.deepEqual(
      count(a.test.y),
      perDigit.map((n) => n - Math.floor((n * 4) / 5)),
    );
    assert.deepEqual([...a.train.y.data.subarray(0, 20)], [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
    ]);
    for (const k of ["train", "test"] as const) {
      for (const f of ["x", "y"] as const) {
        const p = a[k][f].data, q = b[k][f].data;
        assert.equal(p.length, q.length);
        for (let i = 0; i < p.length; i++) {
          if (p[i] !== q[i]) assert.fail(`${k}.${f}[${i}] differs`);
        }
      }
    }
    let min = Infinity, max = -Infinity, sum = 0;
    for (const v of a.train.x.data) {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    assert.equal(min, 0);
    assert.ok(max <= 1 && max > 0.99, `max ${max}`);
    const mean = sum / a.train.x.data.length;
    assert.ok(mean > 0.08 && mean < 0.2, `mean ${mean}`); // MNIST's mean is ~0.13
    // Train and test hold different images.
    const img = (t: Tensor, i: number) =>
      t.data.subarray(i * 784, (i + 1) * 784).join();
    assert.notEqual(img(a.train.x, 0), img(a.test.x, 0));
  },
});

const FASHION = "/usr/share/datasets/fashion-mnist";
const hasFashion = (() => {
  try {
    return Deno.statSync(`${FASHION}/train-images-idx3-ubyte.gz`).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "loadFashionMnist: the Debian dataset loads as [N,1,28,28] in [0,1]",
  ignore: !hasFashion,
  fn: async () => {
    const { train, test } = await loadFashionMnist();
    assert.deepEqual(train.x.shape, [60000, 1, 28, 28]);
    assert.deepEqual(test.x.shape, [10000, 1, 28, 28]);
    assert.deepEqual(test.y.shape, [10000]);
    assert.equal(train.y.dtype, "int32");
    const c = new Array(10).fill(0);
    for (const v of train.y.data) c[v]++;
    assert.deepEqual(c, new Array(10).fill(6000));
    let max = 0;
    for (const v of test.x.data) if (v > max) max = v;
    assert.equal(max, 1);
  },
});

Deno.test("loadFashionMnist: a missing folder says how to install it", async () => {
  await assert.rejects(
    loadFashionMnist("/nonexistent/fashion"),
    /loadFashionMnist: Fashion-MNIST not found in "\/nonexistent\/fashion" \(missing train-images-idx3-ubyte.gz, .*\): install it with: apt-get install dataset-fashion-mnist, or pass --data DIR/,
  );
  await withTempDir("data_test_", async (dir) => {
    // Plain (uncompressed) files work too; a corrupt one names its path.
    const imgs = idx(8, [2, 28, 28], new Uint8Array(2 * 784).fill(255));
    const labels = idx(8, [2], new Uint8Array([4, 7]));
    for (const p of ["train", "t10k"]) {
      await Deno.writeFile(`${dir}/${p}-images-idx3-ubyte`, imgs);
      await Deno.writeFile(
        `${dir}/${p}-labels-idx1-ubyte.gz`,
        await gzip(labels),
      );
    }
    const { train } = await loadFashionMnist(dir);
    assert.deepEqual(train.x.shape, [2, 1, 28, 28]);
    assert.equal(train.x.data[100], 1);
    assert.deepEqual([...train.y.data], [4, 7]);
    await Deno.writeFile(
      `${dir}/t10k-labels-idx1-ubyte.gz`,
      await gzip(idx(8, [3], new Uint8Array([1, 2, 3]))),
    );
    await assert.rejects(
      loadFashionMnist(dir),
      /loadFashionMnist: ".*t10k-labels-idx1-ubyte.gz": expected ubyte labels \[2\], got type 0x8 shape \[3\]/,
    );
  });
});
