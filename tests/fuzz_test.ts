/**
 * The data readers under the fuzz harness (tests/fuzz/): a small run per
 * format, the oracles against the seeds and against known-bad inputs, the
 * harness's own hang and crash detection, and regression tests for what it
 * found.
 */
import assert from "node:assert/strict";
import { deflateSync, gzipSync } from "node:zlib";
import { parseIdx, readIdx } from "../data/idx.ts";
import { decodePng } from "../data/png.ts";
import { loadFashionMnist } from "../data/mnist.ts";
import { parseCifar10 } from "../data/cifar.ts";
import { deserializeSafetensors } from "../data/safetensors.ts";
import { formatReport, runFuzz } from "./fuzz/fuzz.ts";
import { classifyError, FORMATS } from "./fuzz/_formats.ts";
import {
  cifarOracle,
  diffTensor,
  fashionOracle,
  gunzipOracle,
  idxOracle,
  parseJson,
  pngOracle,
  safetensorsOracle,
} from "./fuzz/_oracles.ts";
import {
  cifarSeeds,
  fashionIdx,
  idxSeeds,
  makeSafetensors,
  packSafetensors,
  pngSeeds,
  safetensorsSeeds,
} from "./fuzz/_seeds.ts";
import { Rng } from "./fuzz/_mutate.ts";
import { concat, pngChunk } from "./_png.ts";

/** Seed of the test's runs (`deno task fuzz` defaults to 1, so the two cover different inputs). */
const SEED = 12;
const N = 1000;

for (const f of FORMATS) {
  Deno.test(`fuzz ${f.name}: ${N} mutated inputs, no crash, hang or wrong result`, async () => {
    const [r] = await runFuzz({ n: N, seed: SEED, formats: [f.name], jobs: 1 });
    const failures = r.failures.length;
    assert.equal(failures, 0, formatReport([r], SEED));
    const total = Object.values(r.counts).reduce((a, c) => a + c, 0);
    assert.equal(total, N);
    // The mutations must leave enough inputs valid for the comparison to mean something.
    assert.ok(r.counts["accepted-ok"] >= N / 20, formatReport([r], SEED));
  });
}

Deno.test("oracles: every seed is valid and the readers decode it as the oracle does", async () => {
  for (const b of idxSeeds()) {
    const v = idxOracle(b);
    assert.equal(v.kind, "valid");
    if (v.kind === "valid") {
      assert.equal(diffTensor(parseIdx(b), v.value), null);
    }
  }
  for (const b of cifarSeeds()) {
    const v = cifarOracle(b);
    assert.equal(v.kind, "valid");
    if (v.kind === "valid") {
      assert.equal(diffTensor(parseCifar10(b).x, v.value.x), null);
    }
  }
  for (const b of pngSeeds()) {
    const v = pngOracle(b);
    assert.equal(v.kind, "valid", (v as { why?: string }).why);
    if (v.kind === "valid") {
      assert.equal(diffTensor(decodePng(b), v.value, 1e-4), null);
    }
  }
  for (const b of safetensorsSeeds()) {
    assert.equal(safetensorsOracle(b).kind, "valid");
    deserializeSafetensors(b);
  }
  const files = Object.fromEntries(
    Object.entries(fashionIdx(new Rng(5), 2, 1)).map((
      [k, b],
    ) => [`${k}.gz`, new Uint8Array(gzipSync(b))]),
  );
  const v = fashionOracle(files);
  assert.equal(v.kind, "valid");
  const dir = await Deno.makeTempDir({ prefix: "fuzz_test_" });
  try {
    for (const [k, b] of Object.entries(files)) {
      await Deno.writeFile(`${dir}/${k}`, b);
    }
    const { train } = await loadFashionMnist(dir);
    if (v.kind === "valid") {
      assert.equal(diffTensor(train.x, v.value.train.x), null);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("oracles: known-bad inputs are invalid and wrong decodings are told apart", () => {
  const idx = idxSeeds()[3]; // ubyte [2, 3]
  assert.equal(idxOracle(idx.subarray(0, idx.length - 1)).kind, "invalid");
  const v = idxOracle(idx);
  assert.ok(v.kind === "valid");
  const wrong = {
    ...v.value,
    data: Int32Array.from(v.value.data, (x, i) => i === 4 ? x + 1 : x),
  };
  assert.match(diffTensor(wrong, v.value) ?? "", /element 4/);
  assert.match(diffTensor({ ...v.value, shape: [6] }, v.value) ?? "", /shape/);

  const cifar = cifarSeeds()[0].slice();
  cifar[0] = 10;
  assert.equal(cifarOracle(cifar).kind, "invalid");

  // PNG: a flipped CRC, a flipped IDAT byte with its CRC fixed (zlib or Adler-32 catches it).
  const png = pngSeeds()[6];
  const badCrc = png.slice();
  badCrc[png.length - 13] ^= 1; // the last IDAT chunk's CRC
  assert.equal(pngOracle(badCrc).kind, "invalid");
  const onePixel = (z: Uint8Array) =>
    concat(
      png.subarray(0, 8),
      pngChunk("IHDR", new Uint8Array([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])), // 1 x 1, 8-bit gray
      pngChunk("IDAT", z),
      pngChunk("IEND", new Uint8Array(0)),
    );
  const z = new Uint8Array(deflateSync(new Uint8Array([0, 7]))); // filter 0, pixel 7
  const g = pngOracle(onePixel(z));
  assert.ok(g.kind === "valid", JSON.stringify(g));
  assert.deepEqual(Array.from(g.value.data), [7]);
  const adler = z.slice();
  adler[adler.length - 1] ^= 1;
  assert.match((pngOracle(onePixel(adler)) as { why: string }).why, /zlib/);
  assert.match(
    (pngOracle(
      onePixel(new Uint8Array(deflateSync(new Uint8Array([5, 7])))),
    ) as { why: string }).why,
    /filter type 5/,
  );

  // gzip: a bad CRC-32 trailer, trailing garbage.
  const gz = new Uint8Array(gzipSync(idx));
  const crc = gz.slice();
  crc[gz.length - 8] ^= 1;
  assert.equal(gunzipOracle(crc, 1 << 20).kind, "invalid");
  assert.equal(
    gunzipOracle(concat(gz, new Uint8Array([1])), 1 << 20).kind,
    "invalid",
  );
  assert.equal(gunzipOracle(concat(gz, gz), 1 << 20).kind, "valid"); // two members

  // safetensors: overlapping offsets, a duplicate field, a non-string metadata value.
  const st = (json: string, data = 8) =>
    safetensorsOracle(packSafetensors(json, new Uint8Array(data)));
  assert.equal(
    st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}').kind,
    "valid",
  );
  assert.equal(
    st(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    ).kind,
    "invalid",
  );
  assert.equal(
    st('{"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}')
      .kind,
    "invalid",
  );
  assert.equal(
    st(
      '{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    ).kind,
    "invalid",
  );
  assert.equal(makeSafetensors(new Rng(1), []).length, 16);
});

Deno.test("parseJson: nesting far past the call stack, duplicate keys kept, number texts kept", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.ok(Array.isArray(parseJson(deep)));
  const o = parseJson('{"a":1,"a":2.0}') as {
    pairs: [string, { text: string }][];
  };
  assert.deepEqual(o.pairs.map(([k, v]) => [k, v.text]), [["a", "1"], [
    "a",
    "2.0",
  ]]);
  for (const bad of ["{", '{"a":}', "[1,]", '"\\x"', "01", "1 2", '{"a" 1}']) {
    assert.throws(() => parseJson(bad), /JSON/, bad);
  }
});

Deno.test("classifyError: only an Error named after the reader is a clean rejection", () => {
  const cases: [unknown, string][] = [
    [new Error("parseIdx: bad"), "rejected-clean"],
    [new TypeError("parseIdx: bad"), "raw-exception"],
    [new RangeError("offset is out of bounds"), "raw-exception"],
    [new Error("not an IDX file"), "raw-exception"],
    ["a string", "raw-exception"],
    [new Error(`parseIdx: ${"x".repeat(20_000)}`), "raw-exception"],
  ];
  for (const [thrown, cls] of cases) {
    assert.equal(classifyError(thrown, "parseIdx").cls, cls);
  }
});

Deno.test("runFuzz: a child that hangs is killed and counted, one that dies is a crash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fuzz_test_" });
  try {
    const hang = `${dir}/hang.ts`;
    await Deno.writeTextFile(
      hang,
      "console.log(JSON.stringify({ ready: true }));\nwhile (true) { /* spin */ }\n",
    );
    const die = `${dir}/die.ts`;
    await Deno.writeTextFile(
      die,
      "console.log(JSON.stringify({ ready: true }));\nDeno.exit(3);\n",
    );
    const t0 = performance.now();
    const [h] = await runFuzz({
      n: 2,
      formats: ["idx"],
      timeoutMs: 100,
      runner: new URL(`file://${hang}`),
      out: `${dir}/out`,
    });
    assert.equal(h.counts.hang, 2);
    assert.ok(performance.now() - t0 < 10_000);
    assert.ok((await Deno.stat(`${dir}/out/idx-0/input.idx`)).isFile); // the reproducer
    const [d] = await runFuzz({
      n: 3,
      formats: ["idx"],
      runner: new URL(`file://${die}`),
      out: `${dir}/out`,
    });
    assert.equal(d.counts.crash, 3);
    assert.match(d.failures[0].detail, /exited \(code 3/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------- regression tests (found by the fuzzer)

/** IDX bytes with the given type, dims and body. */
function idxBytes(
  type: number,
  dims: number[],
  body = new Uint8Array(0),
): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  return concat(head, body);
}

Deno.test("IDX: a zero dim among dims whose product overflows to Infinity is a clean error, not NaN or a RangeError", async () => {
  // 40 dims of 2^32 - 1 overflow a float64 product (Infinity); Infinity * 0 was NaN,
  // so parseIdx refused the file for the wrong reason and readIdx of its gzip threw a
  // raw "RangeError: offset is out of bounds" (new Uint8Array(NaN) has length 0).
  // Such a shape has sizes past 2^31 - 1, which no tensor of the library takes
  // (beside a 0 either), so the header is corrupt; a small empty one still loads.
  const bytes = idxBytes(8, [...new Array(40).fill(2 ** 32 - 1), 0]);
  assert.throws(() => parseIdx(bytes), /corrupt header/);
  const empty = parseIdx(idxBytes(8, [3, 0, 5]));
  assert.deepEqual([empty.shape, empty.data.length], [[3, 0, 5], 0]);
  const dir = await Deno.makeTempDir({ prefix: "fuzz_test_" });
  try {
    await Deno.writeFile(`${dir}/empty-idx.gz`, gzipSync(bytes));
    await assert.rejects(
      readIdx(`${dir}/empty-idx.gz`),
      (e: Error) =>
        e.constructor === Error && /^readIdx: .*corrupt header/.test(e.message),
    );
    // The same dims over one stray byte: a clean error, not a RangeError.
    await Deno.writeFile(
      `${dir}/bad-idx.gz`,
      gzipSync(concat(bytes, new Uint8Array(1))),
    );
    await assert.rejects(
      readIdx(`${dir}/bad-idx.gz`),
      (e: Error) => e.constructor === Error && /^readIdx: /.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
