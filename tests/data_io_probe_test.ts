// Probes of the file readers and writers (safetensors, IDX, PNG, the shared
// file helpers) against independent references: hand-written PNGs checked
// against Pillow (tests/fixtures/gen_data_io_probe.py), Python's gzip, the
// safetensors format spec. The tests marked "(was: ...)" failed before
// their fix.
import assert from "node:assert/strict";
import { failsWith, withTempDir } from "./_helpers.ts";
import { readIdx } from "../data/idx.ts";
import { loadFashionMnist } from "../data/mnist.ts";
import { decodePng, writePng } from "../data/png.ts";
import {
  deserializeSafetensors,
  loadSafetensors,
  parseSafetensorsHeader,
  saveSafetensors,
  serializeSafetensors,
} from "../data/safetensors.ts";
import { fromData, tensor } from "../ops/tensor.ts";

interface PngCase {
  name: string;
  png: string;
  shape: number[];
  pixels: number[];
}
const fixture: { png: PngCase[]; pillowPng: PngCase[] } = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/data_io_probe.json", import.meta.url),
  ),
);

const fromBase64 = (s: string) =>
  Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** A safetensors file written by hand as the spec says: u64 LE header length, JSON header, data. */
function safetensorsBytes(header: string, data = new Uint8Array(0)) {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** One gzip member holding `bytes` (CompressionStream writes one member per stream). */
async function gzipMember(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
  return out;
};

// ------------------------------------------------------------------ PNG

Deno.test("decodePng: hand-written PNGs of every colour type, bit depth, interlacing, tRNS and split IDAT decode as written (checked against Pillow)", () => {
  assert.equal(fixture.png.length, 52);
  for (const c of fixture.png) {
    const t = decodePng(fromBase64(c.png));
    assert.deepEqual(t.shape, c.shape, c.name);
    // float32 of the expected float64 values (16-bit samples / 257)
    assert.deepEqual([...t.data], [...Float32Array.from(c.pixels)], c.name);
  }
});

Deno.test("decodePng: PNGs written by Pillow decode as Pillow decodes them", () => {
  for (const c of fixture.pillowPng) {
    const t = decodePng(fromBase64(c.png));
    assert.deepEqual(t.shape, c.shape, c.name);
    assert.deepEqual([...t.data], [...Float32Array.from(c.pixels)], c.name);
  }
});

// ------------------------------------------------------------------ IDX

Deno.test("readIdx: a multi-member gzip file reads as Python's gzip reads it (was: 'failed to write whole buffer'), zero padding after a member included; other bytes after the last member are an error", async () => {
  // IDX ubyte [2, 3]: magic 00 00 08 02, sizes 2 and 3, then the values
  const idx = concat(
    new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]),
    new Uint8Array([1, 2, 3, 4, 5, 255]),
  );
  await withTempDir("data_io_probe_", async (dir) => {
    // `cat a.gz b.gz` is one valid gzip file (RFC 1952 section 2.2);
    // python3 -c "import gzip; gzip.decompress(open(p, 'rb').read())" gives idx
    await Deno.writeFile(
      `${dir}/multi.gz`,
      concat(
        await gzipMember(idx.subarray(0, 7)),
        await gzipMember(idx.subarray(7)),
      ),
    );
    const t = await readIdx(`${dir}/multi.gz`);
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual([...t.data], [1, 2, 3, 4, 5, 255]);
    // zero padding after a member is skipped, as Python's gzip and GNU gzip
    // skip it (python3 -c "import gzip; gzip.decompress(member + bytes(4))"
    // gives idx), even with a member after it; other bytes are refused
    for (
      const pad of [[0, 0, 0, 0], [0]]
    ) {
      await Deno.writeFile(
        `${dir}/padded.gz`,
        concat(await gzipMember(idx), new Uint8Array(pad)),
      );
      assert.deepEqual([...(await readIdx(`${dir}/padded.gz`)).data], [
        1,
        2,
        3,
        4,
        5,
        255,
      ]);
    }
    await Deno.writeFile(
      `${dir}/padded2.gz`,
      concat(
        await gzipMember(idx.subarray(0, 7)),
        new Uint8Array(3),
        await gzipMember(idx.subarray(7)),
        new Uint8Array(2),
      ),
    );
    assert.deepEqual((await readIdx(`${dir}/padded2.gz`)).shape, [2, 3]);
    for (
      const tail of [[0, 0x6a, 0x75, 0x6e, 0x6b], [0x6a, 0x75], [0, 0, 0x1f]]
    ) {
      await Deno.writeFile(
        `${dir}/tail.gz`,
        concat(await gzipMember(idx), new Uint8Array(tail)),
      );
      await failsWith(
        () => readIdx(`${dir}/tail.gz`),
        `readIdx: "${dir}/tail.gz"`,
      );
    }
    // a second member that runs past the declared size is still refused
    await Deno.writeFile(
      `${dir}/long.gz`,
      concat(await gzipMember(idx), await gzipMember(new Uint8Array([7]))),
    );
    await failsWith(
      () => readIdx(`${dir}/long.gz`),
      "decompressed data is longer than the 18 bytes its IDX header declares",
    );
  });
});

// ------------------------------------------------------------------ safetensors

Deno.test('deserializeSafetensors: a "dtype" named like an Object method ("toString", "constructor") is an unsupported dtype (was: "needs NaN bytes")', async () => {
  for (
    const dtype of ["toString", "constructor", "hasOwnProperty", "valueOf"]
  ) {
    const bytes = safetensorsBytes(
      `{"w":{"dtype":"${dtype}","shape":[1],"data_offsets":[0,4]}}`,
      new Uint8Array(4),
    );
    await failsWith(
      () => deserializeSafetensors(bytes),
      `deserializeSafetensors: header entry "w" has unsupported "dtype" "${dtype}" (supported: "F32"`,
    );
  }
});

Deno.test("deserializeSafetensors: a shape no tensor can have (more than 64 dimensions; a size past 2^31 - 1 beside a 0) is refused, as readIdx and tensor() refuse it (was: loaded)", async () => {
  const ones = JSON.stringify(Array(65).fill(1));
  await failsWith(
    () =>
      deserializeSafetensors(
        safetensorsBytes(
          `{"w":{"dtype":"F32","shape":${ones},"data_offsets":[0,4]}}`,
          new Uint8Array(4),
        ),
      ),
    'deserializeSafetensors: header entry "w" has "shape" [1,1,1,',
  );
  await failsWith(
    () =>
      parseSafetensorsHeader(
        safetensorsBytes(
          `{"w":{"dtype":"F32","shape":${ones},"data_offsets":[0,4]}}`,
          new Uint8Array(4),
        ),
      ),
    "must have at most 64 dimensions, got 65",
  );
  await failsWith(
    () =>
      deserializeSafetensors(
        safetensorsBytes(
          '{"w":{"dtype":"F32","shape":[0,1099511627776],"data_offsets":[0,0]}}',
        ),
      ),
    'header entry "w" has "shape" [0,1099511627776]: shape[1] must be at most 2147483647 (2^31 - 1), got 1099511627776',
  );
  // 64 dimensions, and an empty tensor of sizes up to 2^31 - 1, still load
  const ok = deserializeSafetensors(safetensorsBytes(
    `{"a":{"dtype":"F32","shape":${
      JSON.stringify(Array(64).fill(1))
    },"data_offsets":[0,4]},` +
      '"b":{"dtype":"I32","shape":[2147483647,0],"data_offsets":[4,4]}}',
    new Uint8Array(4),
  )) as Record<string, { shape: number[] }>;
  assert.equal(ok.a.shape.length, 64);
  assert.deepEqual(ok.b.shape, [2147483647, 0]);
});

Deno.test("safetensors: NaN payloads, -0, infinities, subnormals and int32 extremes round-trip bit for bit; empty and scalar tensors keep their shapes", () => {
  const f32 = new Float32Array(6), f64 = new Float64Array(5);
  new Uint32Array(f32.buffer).set([
    0x7fc00123,
    0xffbfffff,
    0x80000000,
    0x7f800000,
    0x00000001,
    0xff800000,
  ]);
  new Uint32Array(f64.buffer).set([
    0x1,
    0x7ff00000,
    0,
    0x80000000,
    0xdeadbeef,
    0xfff80000,
    1,
    0,
    0,
    0x80000000,
  ]);
  const tree = {
    f32: fromData(f32, [2, 3]),
    f64: fromData(f64, [5]),
    i32: tensor([-2147483648, 2147483647, 0], { dtype: "int32" }),
    empty: fromData(new Float32Array(0), [0, 3]),
    scalar: fromData(new Float64Array([-0]), []),
  };
  const back = deserializeSafetensors(
    serializeSafetensors(tree),
  ) as typeof tree;
  for (const k of Object.keys(tree) as (keyof typeof tree)[]) {
    assert.equal(back[k].dtype, tree[k].dtype, k);
    assert.deepEqual(back[k].shape, tree[k].shape, k);
    const bits = (
      t: {
        data: ArrayLike<number> & {
          buffer: ArrayBufferLike;
          byteOffset: number;
          byteLength: number;
        };
      },
    ) => [
      ...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ];
    assert.deepEqual(bits(back[k]), bits(tree[k]), k);
  }
});

// ------------------------------------------------------------------ writing files

Deno.test("saveSafetensors: a file it replaces keeps its permission bits, as a write in place (torch.save, safetensors.save_file) keeps them (was: 0600 became 0644)", async () => {
  if (Deno.build.os === "windows") return;
  await withTempDir("data_io_probe_", async (dir) => {
    const path = `${dir}/private.safetensors`;
    await saveSafetensors(path, { w: tensor([1]) });
    await Deno.chmod(path, 0o600);
    await saveSafetensors(path, { w: tensor([2]) });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await Deno.chmod(path, 0o640);
    await saveSafetensors(path, { w: tensor([3]) });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    const back = await loadSafetensors(path) as { w: { data: Float32Array } };
    assert.deepEqual([...back.w.data], [3]);
  });
});

Deno.test("saveSafetensors/loadSafetensors: a directory at the path is named as such; nothing is written into it", async () => {
  await withTempDir("data_io_probe_", async (dir) => {
    await Deno.mkdir(`${dir}/d`);
    await failsWith(
      () => saveSafetensors(`${dir}/d`, { w: tensor([1]) }),
      `saveSafetensors: "${dir}/d" is a directory, expected a file path`,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["d"]);
    await failsWith(
      () => loadSafetensors(`${dir}/d`),
      `loadSafetensors: "${dir}/d" is a directory, not a file`,
    );
  });
});

Deno.test("serializeSafetensors: a key or metadata string with a lone UTF-16 surrogate is refused (was: written as a \\ud800 escape, which the reference reader, Rust serde_json, refuses)", async () => {
  // serde_json: "lone leading surrogate in hex escape" (ErrorCode::LoneLeadingSurrogateInHexEscape)
  await failsWith(
    () => serializeSafetensors({ ["w\ud800"]: tensor([1]) }),
    'serializeSafetensors: key "w\\ud800" cannot be stored: it holds a lone UTF-16 surrogate',
  );
  await failsWith(
    () => serializeSafetensors({ a: [{ ["\udc00"]: 1 }] }),
    'key "\\udc00" under "a.0" cannot be stored',
  );
  await failsWith(
    () =>
      serializeSafetensors({ w: tensor([1]) }, {
        metadata: { note: "x\ud83d" },
      }),
    'serializeSafetensors: metadata holds "x\\ud83d", which has a lone UTF-16 surrogate',
  );
  await withTempDir("data_io_probe_", async (dir) => {
    await failsWith(
      () =>
        saveSafetensors(`${dir}/x.safetensors`, { w: tensor([1]) }, {
          metadata: { ["\ud800"]: "v" },
        }),
      'saveSafetensors: metadata holds "\\ud800"',
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
  // a surrogate pair is Unicode text (U+1F600): stored as UTF-8, read back
  const bytes = serializeSafetensors({ ["w\u{1F600}"]: tensor([1]) }, {
    metadata: { e: "\u{1F600}" },
  });
  assert.deepEqual(parseSafetensorsHeader(bytes).tensors.map((t) => t.name), [
    "w\u{1F600}",
  ]);
  assert.deepEqual(Object.keys(deserializeSafetensors(bytes) as object), [
    "w\u{1F600}",
  ]);
});

Deno.test("loadFashionMnist: a file given as the folder is named as not a directory (was: 'could not read .../train-images-idx3-ubyte.gz: Not a directory (os error 20)'); multi-member gzip files load", async () => {
  await withTempDir("data_io_probe_", async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await failsWith(
      () => loadFashionMnist(`${dir}/file`),
      `loadFashionMnist: "${dir}/file" is not a directory: expected the folder holding train-images-idx3-ubyte.gz,`,
    );
    // two images of 28 x 28 and their labels, each file in two gzip members
    const idx = (dims: number[], body: number[]) => {
      const out = new Uint8Array(4 + 4 * dims.length + body.length);
      out.set([0, 0, 8, dims.length]);
      dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d));
      out.set(body, 4 + 4 * dims.length);
      return out;
    };
    const pixels = Array.from({ length: 2 * 784 }, (_, i) => i % 256);
    for (const split of ["train", "t10k"]) {
      for (
        const [name, bytes] of [
          ["images-idx3-ubyte", idx([2, 28, 28], pixels)],
          ["labels-idx1-ubyte", idx([2], [7, 2])],
        ] as const
      ) {
        await Deno.writeFile(
          `${dir}/${split}-${name}.gz`,
          concat(
            await gzipMember(bytes.subarray(0, 9)),
            await gzipMember(bytes.subarray(9)),
          ),
        );
      }
    }
    const { train, test } = await loadFashionMnist(dir);
    assert.deepEqual(train.x.shape, [2, 1, 28, 28]);
    assert.deepEqual([...test.y.data], [7, 2]);
    // x = byte / 255 in float32
    assert.deepEqual([...train.x.data], [
      ...Float32Array.from(pixels, (p) => p / 255),
    ]);
  });
});

Deno.test("saveSafetensors/writePng: a FIFO (or a device: /dev/null as root) at the path is refused, not replaced by a regular file (was: renamed over)", async () => {
  if (Deno.build.os === "windows") return;
  await withTempDir("data_io_probe_", async (dir) => {
    const fifo = `${dir}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success, "mkfifo");
    await failsWith(
      () => saveSafetensors(fifo, { w: tensor([1]) }),
      `saveSafetensors: "${fifo}" is a device, FIFO or socket, not a regular file`,
    );
    await failsWith(
      () => writePng(fifo, tensor([[1]])),
      `writePng: "${fifo}" is a device, FIFO or socket, not a regular file`,
    );
    assert.ok((await Deno.lstat(fifo)).isFifo);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["fifo"]);
  });
});
