// Strict readers: PNG chunk structure and zlib checksums, safetensors
// messages that name the missing field, atomic saves that clean up after a
// killed save and write through symlinks.
import assert from "node:assert/strict";
import { crc32, deflateSync } from "node:zlib";
import {
  ADAM7,
  concat,
  filterRow,
  ihdr,
  packRow,
  png,
  pngChunk as chunk,
} from "./_png.ts";
import { withTempDir } from "./_helpers.ts";
// deno-lint-ignore no-import-prefix
import { decode as fastPngDecode } from "npm:fast-png@8";
import {
  decodePng,
  encodePng,
  PNG_MAX_PIXELS,
  readPng,
  writePng,
} from "../data/png.ts";
import {
  deserializeSafetensors,
  loadSafetensors,
  parseSafetensorsHeader,
  saveSafetensors,
  serializeSafetensors,
} from "../data/safetensors.ts";
import { type Tensor, tensor, toArray } from "../ops/tensor.ts";

// -------------------------------------------------------------- PNG helpers

/**
 * The filtered image data of `pixels` (H x W x samples stored values),
 * interlaced or not, row i using filter type i % 5 (offset by `shift`).
 */
function imageData(
  pixels: number[][][],
  depth: number,
  interlace: boolean,
  shift = 0,
): Uint8Array {
  const h = pixels.length, w = pixels[0].length, n = pixels[0][0].length;
  const bpp = Math.max(1, (n * depth) >> 3);
  const rows: Uint8Array[] = [];
  for (const [x0, y0, dx, dy] of interlace ? ADAM7 : [[0, 0, 1, 1]]) {
    let prev: Uint8Array | null = null;
    for (let y = y0; y < h; y += dy) {
      const samples: number[] = [];
      for (let x = x0; x < w; x += dx) samples.push(...pixels[y][x]);
      if (samples.length === 0) break;
      const row = packRow(samples, depth);
      rows.push(
        filterRow(
          (rows.length + shift) % 5,
          row,
          prev ?? row.map(() => 0),
          bpp,
        ),
      );
      prev = row;
    }
  }
  return concat(...rows);
}

/** Pseudo-random stored samples, H x W x n, each below 2^depth. */
function samplesOf(h: number, w: number, n: number, depth: number) {
  let s = 12345 + depth * 7 + n;
  return Array.from(
    { length: h },
    () =>
      Array.from({ length: w }, () =>
        Array.from({ length: n }, () => {
          s = (s * 1103515245 + 12345) % 2 ** 31;
          return s % 2 ** depth;
        })),
  );
}

/** A valid 7 x 5 RGB image (filters 0..4 on its rows) and its pixels. */
function rgb7x5(): { bytes: Uint8Array; pixels: number[][][] } {
  const pixels = samplesOf(5, 7, 3, 8);
  const bytes = png(
    ihdr(7, 5, 8, 2),
    chunk("IDAT", deflateSync(imageData(pixels, 8, false))),
    chunk("IEND"),
  );
  return { bytes, pixels };
}

/** Where the first chunk of `type` starts in `bytes`. */
function chunkAt(bytes: Uint8Array, type: string): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  for (let off = 8; off + 8 <= bytes.length;) {
    if (String.fromCharCode(...bytes.subarray(off + 4, off + 8)) === type) {
      return off;
    }
    off += 12 + v.getUint32(off);
  }
  throw new Error(`no ${type} chunk`);
}

/** Recomputes the CRC of the chunk at `off` in place (after editing its body). */
function fixCrc(bytes: Uint8Array, off: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const n = v.getUint32(off);
  v.setUint32(off + 8 + n, crc32(bytes.subarray(off + 4, off + 8 + n)));
}

/** decodePng must throw an Error starting `decodePng: corrupt PNG: ` matching `re`. */
function assertCorrupt(bytes: Uint8Array, re: RegExp, label: string): void {
  assert.throws(() => decodePng(bytes), (err: unknown) => {
    assert.ok(err instanceof Error, `${label}: not an Error`);
    assert.match(err.message, /^decodePng: corrupt PNG: /, label);
    assert.match(err.message, re, label);
    return true;
  });
}

// -------------------------------------------------------------- PNG tests

Deno.test("decodePng: every filter type, bit depth and Adam7 interlacing decode exactly (and as fast-png does)", () => {
  for (
    const [colorType, n, depths] of [
      [0, 1, [1, 2, 4, 8, 16]],
      [2, 3, [8, 16]],
      [4, 2, [8, 16]],
      [6, 4, [8, 16]],
    ] as const
  ) {
    for (const depth of depths) {
      for (const interlace of [false, true]) {
        for (const [w, h] of [[1, 1], [7, 5], [13, 11]]) {
          const label = `colour type ${colorType}, ${depth}-bit, ${w} x ${h}${
            interlace ? ", Adam7" : ""
          }`;
          const pixels = samplesOf(h, w, n, depth);
          const bytes = png(
            ihdr(w, h, depth, colorType, interlace ? 1 : 0),
            chunk("IDAT", deflateSync(imageData(pixels, depth, interlace, w))),
            chunk("IEND"),
          );
          const scale = depth === 16 ? 1 / 257 : 255 / (2 ** depth - 1);
          const expected = pixels.flat(2).map((s) => Math.fround(s * scale));
          const img = decodePng(bytes);
          assert.deepEqual(img.shape, [h, w, n], label);
          assert.deepEqual([...img.data], expected, label);
          if (depth >= 8) {
            const ref = fastPngDecode(bytes, { checkCrc: true });
            assert.deepEqual(
              [...img.data],
              [...ref.data].map((s) => Math.fround(s * scale)),
              `${label}: fast-png disagrees`,
            );
          }
        }
      }
    }
  }
});

Deno.test("decodePng: a palette image with interlacing and filters, tRNS shorter than the palette", () => {
  const indices = samplesOf(6, 9, 1, 2).map((r) => r.map(([i]) => [i % 3]));
  const plte = [10, 20, 30, 40, 50, 60, 70, 80, 90];
  const bytes = png(
    ihdr(9, 6, 2, 3, 1),
    chunk("PLTE", new Uint8Array(plte)),
    chunk("tRNS", new Uint8Array([7, 8])),
    chunk("IDAT", deflateSync(imageData(indices, 2, true))),
    chunk("IEND"),
  );
  const img = decodePng(bytes);
  assert.deepEqual(img.shape, [6, 9, 4]);
  const alpha = [7, 8, 255];
  assert.deepEqual(
    toArray(img),
    indices.map((r) =>
      r.map(([i]) => [...plte.slice(3 * i, 3 * i + 3), alpha[i]])
    ),
  );
});

Deno.test("decodePng: a second IHDR is refused (it used to give shape [2,7,2] for a 7 x 5 image)", () => {
  const { bytes } = rgb7x5();
  const second = ihdr(2, 7, 8, 4);
  const idat = chunkAt(bytes, "IDAT");
  const bad = concat(bytes.subarray(0, idat), second, bytes.subarray(idat));
  assertCorrupt(bad, /a second IHDR chunk at byte 33/, "second IHDR");
});

Deno.test("decodePng: two tRNS chunks are refused (they used to give 5 channels)", () => {
  const pixels = samplesOf(2, 2, 3, 8);
  const key = chunk("tRNS", new Uint8Array([0, 1, 0, 2, 0, 3]));
  const bytes = png(
    ihdr(2, 2, 8, 2),
    key,
    key,
    chunk("IDAT", deflateSync(imageData(pixels, 8, false))),
    chunk("IEND"),
  );
  assertCorrupt(bytes, /at most one tRNS chunk/, "two tRNS");
});

Deno.test("decodePng: the chunk structure is checked before decoding", () => {
  const pixels = samplesOf(3, 4, 1, 8);
  const data = deflateSync(imageData(pixels, 8, false));
  const idat = chunk("IDAT", data);
  const half1 = chunk("IDAT", data.subarray(0, 9));
  const half2 = chunk("IDAT", data.subarray(9));
  const gray = ihdr(4, 3, 8, 0);
  const pal = ihdr(4, 3, 8, 3);
  const plte = chunk("PLTE", new Uint8Array(768));
  const text = chunk("tEXt", new TextEncoder().encode("a\0b"));
  const end = chunk("IEND");
  const badCrc = text.slice();
  badCrc[badCrc.length - 1] ^= 1;
  const ihdrWith = (i: number, v: number) => {
    const c = gray.slice();
    c[8 + i] = v;
    fixCrc(c, 0);
    return c;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "IHDR not first",
      png(text, gray, idat, end),
      /first chunk must be IHDR, got "tEXt"/,
    ],
    [
      "IHDR of 12 bytes",
      png(chunk("IHDR", new Uint8Array(12)), idat, end),
      /IHDR chunk must hold 13 bytes, got 12/,
    ],
    [
      "compression method 1",
      png(ihdrWith(10, 1), idat, end),
      /compression method 1, filter method 0 and interlace method 0/,
    ],
    ["filter method 1", png(ihdrWith(11, 1), idat, end), /filter method 1/],
    [
      "interlace method 2",
      png(ihdrWith(12, 2), idat, end),
      /interlace method 2/,
    ],
    [
      "PLTE after IDAT",
      png(pal, idat, plte, end),
      /chunk "PLTE" at byte \d+ comes after the image data/,
    ],
    ["two PLTE", png(pal, plte, plte, idat, end), /at most one PLTE chunk/],
    [
      "PLTE after tRNS",
      png(pal, chunk("tRNS", new Uint8Array(1)), plte, idat, end),
      /the tRNS chunk comes before PLTE/,
    ],
    [
      "PLTE of 4 bytes",
      png(pal, chunk("PLTE", new Uint8Array(4)), idat, end),
      /PLTE chunk must hold 1..256 RGB entries .* got 4 bytes/,
    ],
    [
      "PLTE in a gray image",
      png(gray, plte, idat, end),
      /a PLTE chunk in a gray image \(colour type 0\)/,
    ],
    [
      "palette without PLTE",
      png(pal, idat, end),
      /palette image \(colour type 3\) without a PLTE chunk/,
    ],
    [
      "17 entries for 4-bit",
      png(ihdr(4, 3, 4, 3), chunk("PLTE", new Uint8Array(51)), idat, end),
      /17 entries, but 4-bit indices reach only 16/,
    ],
    [
      "tRNS after IDAT",
      png(gray, idat, chunk("tRNS", new Uint8Array(2)), end),
      /at most one tRNS chunk, before IDAT \(chunk "tRNS" at byte \d+ comes after the image data\)/,
    ],
    [
      "tRNS in gray+alpha",
      png(ihdr(4, 3, 8, 4), chunk("tRNS", new Uint8Array(2)), idat, end),
      /tRNS chunk in an image with an alpha channel \(colour type 4\)/,
    ],
    [
      "tRNS of 3 bytes in gray",
      png(gray, chunk("tRNS", new Uint8Array(3)), idat, end),
      /tRNS chunk of colour type 0 must hold 2 bytes, got 3/,
    ],
    [
      "tRNS longer than PLTE",
      png(
        pal,
        chunk("PLTE", new Uint8Array(6)),
        chunk("tRNS", new Uint8Array(3)),
        idat,
        end,
      ),
      /3 alpha values, but the palette has 2 entries/,
    ],
    [
      "IDAT split by tEXt",
      png(gray, half1, text, half2, end),
      /IDAT chunks must be consecutive/,
    ],
    ["no IDAT", png(gray, end), /no IDAT chunk/],
    [
      "bytes after IEND",
      png(gray, idat, end, new Uint8Array([0])),
      /1 bytes follow the IEND chunk/,
    ],
    [
      "chunk after IEND",
      png(gray, idat, end, text),
      /\d+ bytes follow the IEND chunk/,
    ],
    [
      "IEND with a body",
      png(gray, idat, chunk("IEND", new Uint8Array(1))),
      /chunk "IEND" at byte \d+ must be empty, got 1 bytes/,
    ],
    [
      "no IEND",
      png(gray, idat),
      /truncated: the file ends at byte \d+, before an IEND chunk/,
    ],
    [
      "bad CRC on an ancillary chunk",
      png(gray, badCrc, idat, end),
      /chunk "tEXt" at byte 33 fails its CRC check \(stored [0-9a-f]+, computed [0-9a-f]+\)/,
    ],
    [
      "unknown critical chunk",
      png(gray, chunk("ABCD"), idat, end),
      /unknown critical chunk "ABCD" at byte 33/,
    ],
    [
      "chunk type not letters",
      png(gray, chunk("AB1D"), idat, end),
      /chunk at byte 33 has type bytes 41 42 31 44 \(expected 4 ASCII letters\)/,
    ],
    [
      "length over 2^31-1",
      png(
        gray,
        (() => {
          const c = idat.slice();
          new DataView(c.buffer).setUint32(0, 2 ** 31);
          return c;
        })(),
      ),
      /chunk "IDAT" at byte 33 declares 2147483648 bytes/,
    ],
  ];
  for (const [label, bytes, re] of cases) assertCorrupt(bytes, re, label);
  // Unknown ancillary chunks are skipped; the same data decodes.
  assert.deepEqual(
    [...decodePng(png(gray, text, chunk("zzZz"), half1, half2, end)).data],
    pixels.flat(2),
  );
});

Deno.test("decodePng: the image data's zlib stream is checked: Adler-32, length, filter types", () => {
  const { bytes } = rgb7x5();
  const idat = chunkAt(bytes, "IDAT");
  const n = new DataView(bytes.buffer).getUint32(idat);
  const withData = (data: Uint8Array) =>
    concat(bytes.subarray(0, idat), chunk("IDAT", data), chunk("IEND"));
  const data = bytes.slice(idat + 8, idat + 8 + n);
  const adler = data.slice();
  adler[adler.length - 1] ^= 1;
  assertCorrupt(
    withData(adler),
    /the image data fails its zlib Adler-32 checksum/,
    "Adler-32",
  );
  assertCorrupt(
    withData(concat(data, new Uint8Array([1, 2, 3]))),
    /3 bytes of IDAT data follow the end of the zlib stream/,
    "trailing data",
  );
  assertCorrupt(
    withData(data.subarray(0, data.length - 6)),
    /truncated: the compressed image data ends before its zlib stream does/,
    "cut zlib stream",
  );
  assertCorrupt(
    withData(new Uint8Array([1, 2, 3, 4])),
    /bad compressed image data \(zlib: incorrect header check\)/,
    "not zlib",
  );
  // Row 3 with filter type 5, stored uncompressed so that the rest is valid.
  const raw = imageData(rgb7x5().pixels, 8, false);
  raw[3 * 22] = 5;
  assertCorrupt(
    withData(deflateSync(raw)),
    /row 3 has filter type 5 \(expected 0..4\)/,
    "filter 5",
  );
  const pixels = samplesOf(8, 8, 1, 8);
  const inter = imageData(pixels, 8, true);
  inter[0] = 9; // first row of pass 1
  assertCorrupt(
    png(ihdr(8, 8, 8, 0, 1), chunk("IDAT", deflateSync(inter)), chunk("IEND")),
    /row 0 of interlace pass 1 has filter type 9/,
    "interlaced filter 9",
  );
});

Deno.test("decodePng: every single-bit corruption of the IDAT data (CRC recomputed) is an error or the same image", () => {
  const { bytes, pixels } = rgb7x5();
  const expected = pixels.flat(2);
  const idat = chunkAt(bytes, "IDAT");
  const n = new DataView(bytes.buffer).getUint32(idat);
  let rejected = 0, same = 0;
  for (let i = 0; i < n; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = bytes.slice();
      bad[idat + 8 + i] ^= 1 << bit;
      fixCrc(bad, idat);
      let out: number[] | null = null;
      try {
        out = [...decodePng(bad).data];
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^decodePng: corrupt PNG: /);
        assert.doesNotMatch(err.message, /undefined|NaN|\[object/, err.message);
        rejected++;
      }
      if (out !== null) {
        assert.deepEqual(
          out,
          expected,
          `byte ${i} bit ${bit}: different pixels`,
        );
        same++;
      }
    }
  }
  assert.equal(rejected + same, 8 * n);
  assert.ok(rejected > 0.9 * 8 * n, `only ${rejected} of ${8 * n} rejected`);
});

Deno.test("decodePng: ancillary chunks are only CRC-checked; readPng names the path", async () => {
  // An iCCP chunk whose profile is not zlib data: not used, so not an error.
  const { bytes } = rgb7x5();
  const idat = chunkAt(bytes, "IDAT");
  const iccp = chunk("iCCP", new Uint8Array([0x61, 0, 0, 1, 2, 3]));
  const withIccp = concat(bytes.subarray(0, idat), iccp, bytes.subarray(idat));
  assert.deepEqual(decodePng(withIccp).shape, [5, 7, 3]);
  const dir = await Deno.makeTempDir({ prefix: "readers_test_" });
  try {
    const second = concat(
      bytes.subarray(0, idat),
      ihdr(2, 7, 8, 4),
      bytes.subarray(idat),
    );
    await Deno.writeFile(`${dir}/two.png`, second);
    await assert.rejects(
      readPng(`${dir}/two.png`),
      /^Error: readPng: ".*two.png": corrupt PNG: a second IHDR chunk at byte 33$/,
    );
    await writePng(`${dir}/ok.png`, tensor([[1, 2, 3]]));
    assert.deepEqual([...(await readPng(`${dir}/ok.png`)).data], [1, 2, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(toArray(decodePng(encodePng(tensor([[7]])))), [[[7]]]);
});

Deno.test("decodePng: a valid 16 KB 1-bit image of 2^27 pixels is refused by the default pixel limit (it decoded to a 512 MB tensor)", async () => {
  assert.equal(PNG_MAX_PIXELS, 4096 * 4096);
  const width = 2 ** 27; // one row: filter byte 0, then 2^24 bytes of 8 pixels each
  const bomb = png(
    ihdr(width, 1, 1, 0),
    chunk("IDAT", deflateSync(new Uint8Array(1 + width / 8))),
    chunk("IEND"),
  );
  assert.ok(bomb.length < 20_000, `${bomb.length} bytes`);
  assert.throws(
    () => decodePng(bomb),
    /^Error: decodePng: image of 134217728 x 1 = 134217728 pixels is more than maxPixels \(16777216, the default decompression-bomb limit\); pass a larger \{ maxPixels \} to read it$/,
  );
  // The same through readPng, which names the path.
  await withTempDir("readers_test_", async (dir) => {
    await Deno.writeFile(`${dir}/bomb.png`, bomb);
    await assert.rejects(
      readPng(`${dir}/bomb.png`),
      /^Error: readPng: ".*bomb.png": image of 134217728 x 1 = 134217728 pixels is more than maxPixels \(16777216, /,
    );
  });
});

Deno.test("decodePng/readPng: maxPixels: an image at the limit decodes, one pixel over is refused before inflating; the option is checked", async () => {
  const { bytes, pixels } = rgb7x5(); // 35 pixels
  for (const maxPixels of [35, 36, Infinity]) {
    assert.deepEqual([...decodePng(bytes, { maxPixels }).data], pixels.flat(2));
  }
  const over =
    /^Error: decodePng: image of 7 x 5 = 35 pixels is more than maxPixels \(34\); pass a larger \{ maxPixels \} to read it$/;
  assert.throws(() => decodePng(bytes, { maxPixels: 34 }), over);
  // Image data that is not zlib at all: over the limit, it is never inflated.
  const idat = chunkAt(bytes, "IDAT");
  const notZlib = concat(
    bytes.subarray(0, idat),
    chunk("IDAT", new Uint8Array(64).fill(0xff)),
    chunk("IEND"),
  );
  assert.throws(() => decodePng(notZlib, { maxPixels: 34 }), over);
  assertCorrupt(notZlib, /bad compressed image data \(zlib: /, "not zlib");
  // A corrupt size (more pixels than the data can hold) is still called corrupt.
  const huge = png(
    ihdr(2 ** 30, 2 ** 30, 8, 0),
    chunk("IDAT", deflateSync(new Uint8Array(10))),
    chunk("IEND"),
  );
  assertCorrupt(huge, /IHDR declares 1073741824 x 1073741824/, "huge IHDR");
  const bad: [unknown, string][] = [
    [
      { maxPixels: 0 },
      "maxPixels must be a positive integer or Infinity, got number 0",
    ],
    [
      { maxPixels: 1.5 },
      "maxPixels must be a positive integer or Infinity, got number 1.5",
    ],
    [
      { maxPixels: -Infinity },
      "maxPixels must be a positive integer or Infinity, got number -Infinity",
    ],
    [
      { maxPixels: NaN },
      "maxPixels must be a positive integer or Infinity, got number NaN",
    ],
    [
      { maxPixels: "35" },
      "maxPixels must be a positive integer or Infinity, got string 35",
    ],
    [
      { maxPixels: null },
      "maxPixels must be a positive integer or Infinity, got null",
    ],
    [
      { maxpixels: 35 },
      'unknown option "maxpixels" (known options: maxPixels)',
    ],
    [null, "options must be an object, got null"],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => decodePng(bytes, options as never),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal(err.message, `decodePng: ${message}`);
        return true;
      },
    );
    // readPng checks its options before it reads the file.
    await assert.rejects(
      readPng("/no/such/file.png", options as never),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal(err.message, `readPng: ${message}`);
        return true;
      },
    );
  }
  await withTempDir("readers_test_", async (dir) => {
    await Deno.writeFile(`${dir}/a.png`, bytes);
    assert.deepEqual((await readPng(`${dir}/a.png`, { maxPixels: 35 })).shape, [
      5,
      7,
      3,
    ]);
    await assert.rejects(
      readPng(`${dir}/a.png`, { maxPixels: 34 }),
      /^Error: readPng: ".*a.png": image of 7 x 5 = 35 pixels is more than maxPixels \(34\); pass a larger \{ maxPixels \} to read it$/,
    );
  });
});

// ------------------------------------------------------------ safetensors

/** Safetensors bytes from a header value and a data section. */
function safetensors(header: unknown, data = new Uint8Array(8)): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

Deno.test("deserializeSafetensors: a missing or malformed field is named, with what was expected and what came", () => {
  const full = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const without = (k: string) =>
    Object.fromEntries(Object.entries(full).filter(([f]) => f !== k));
  const cases: [unknown, RegExp][] = [
    [
      { w: without("dtype") },
      /header entry "w" has no "dtype" field \(expected "dtype", "shape" and "data_offsets", got \["shape","data_offsets"\]\)/,
    ],
    [{ w: without("shape") }, /header entry "w" has no "shape" field/],
    [
      { w: without("data_offsets") },
      /header entry "w" has no "data_offsets" field/,
    ],
    [
      { w: [1, 2] },
      /header entry "w" must be an object with "dtype", "shape" and "data_offsets", got \[1,2\]/,
    ],
    [{ w: null }, /header entry "w" must be an object .* got null/],
    [
      { w: { ...full, dtype: 4 } },
      /header entry "w" has unsupported "dtype" 4 \(supported: "F32", "F64", "I32"/,
    ],
    [
      { w: { ...full, dtype: null } },
      /header entry "w" has unsupported "dtype" null/,
    ],
    [
      { w: { ...full, shape: "2" } },
      /header entry "w" has "shape" "2", expected an array of non-negative integers/,
    ],
    [{ w: { ...full, shape: [1.5] } }, /has "shape" \[1.5\], expected/],
    [
      { w: { ...full, shape: Array(100).fill(-1) } },
      /has "shape" \[-1,-1,[-1,]*\.\.\., expected/,
    ],
    [
      { w: { ...full, data_offsets: [0] } },
      /header entry "w" has "data_offsets" \[0\], expected \[begin, end\] with integers 0 <= begin <= end/,
    ],
    [
      { w: { ...full, data_offsets: { a: 1 } } },
      /has "data_offsets" \{"a":1\}, expected/,
    ],
    [
      { __metadata__: [1] },
      /the header's "__metadata__" must be an object of strings, got an array/,
    ],
    [
      { __metadata__: { epoch: 3 } },
      /the header's "__metadata__" values must be strings .* but "epoch" is number/,
    ],
    [{ __metadata__: { epoch: null } }, /but "epoch" is null/],
  ];
  for (const [header, re] of cases) {
    assert.throws(() => deserializeSafetensors(safetensors(header)), (err) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /^deserializeSafetensors: /);
      assert.match(err.message, re);
      assert.doesNotMatch(err.message, /undefined|\[object/);
      return true;
    }, JSON.stringify(header));
  }
  // The caller's metadata argument keeps its own name.
  assert.throws(
    () => serializeSafetensors({ w: tensor([1]) }, { metadata: [] as never }),
    /^Error: serializeSafetensors: metadata must be an object of strings, got an array$/,
  );
  assert.throws(
    () =>
      serializeSafetensors({ w: tensor([1]) }, {
        metadata: { a: null } as never,
      }),
    /serializeSafetensors: metadata values must be strings .* but "a" is null/,
  );
});

/** Safetensors bytes from header text as written (duplicate keys survive) and `dataBytes` zero bytes. */
function safetensorsText(json: string, dataBytes = 8): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  return out;
}

Deno.test("deserializeSafetensors/parseSafetensorsHeader: a key twice in one object of the header is refused (JSON.parse kept the last)", async () => {
  const w = '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
  const cases: [string, string][] = [
    // The reference implementation (serde) refuses these.
    [
      '{"a":{"dtype":"F64","dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
      'header entry "a" has the field "dtype" twice',
    ],
    [
      '{"a":{"dtype":"F32","shape":[1],"shape":[2],"data_offsets":[0,8]}}',
      'header entry "a" has the field "shape" twice',
    ],
    [
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4],"data_offsets":[0,8]}}',
      'header entry "a" has the field "data_offsets" twice',
    ],
    [
      `{"__metadata__":{"k":"1"},"__metadata__":{"k":"2"},${w}}`,
      'the header has "__metadata__" twice',
    ],
    // The reference keeps the last of these; they are ambiguous, so refused.
    [`{${w},${w}}`, 'the header names tensor "w" twice'],
    [
      `{${w},${w.replace('"w"', '"\\u0077"')}}`,
      'the header names tensor "w" twice',
    ],
    [
      `{"__metadata__":{"k":"1","k":"2"},${w}}`,
      'the header\'s "__metadata__" has the key "k" twice',
    ],
    [
      `{"a\\\"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":[{"y":1,"y":2}]}}`,
      'header entry "a\\"b" has the key "y" twice (inside "x")',
    ],
  ];
  for (const [json, message] of cases) {
    const bytes = safetensorsText(json);
    assert.throws(() => deserializeSafetensors(bytes), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.message, `deserializeSafetensors: ${message}`, json);
      return true;
    });
    assert.throws(() => parseSafetensorsHeader(bytes), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.message, `parseSafetensorsHeader: ${message}`, json);
      return true;
    });
  }
  await withTempDir("readers_test_", async (dir) => {
    await Deno.writeFile(`${dir}/d.safetensors`, safetensorsText(cases[0][0]));
    await assert.rejects(
      loadSafetensors(`${dir}/d.safetensors`),
      /^Error: loadSafetensors: ".*d.safetensors": header entry "a" has the field "dtype" twice$/,
    );
  });
  // One key in different objects, and key-like text inside strings, are fine.
  const ok =
    '{"__metadata__":{"dtype":"\\"a\\":1,\\"a\\":2}","e\\\\":"\\\\","w":"{"},' +
    '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
    '"v:\\"w\\":{":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
  assert.deepEqual(parseSafetensorsHeader(safetensorsText(ok)).metadata, {
    dtype: '"a":1,"a":2}',
    "e\\": "\\",
    w: "{",
  });
  assert.deepEqual(
    Object.keys(deserializeSafetensors(safetensorsText(ok)) as object),
    ['v:"w":{', "w"],
  );
});

Deno.test("deserializeSafetensors: a duplicate key 100,000 objects deep is found without blowing the stack, and the message stays short", () => {
  const d = 100_000;
  const deep = '{"a":'.repeat(d) + '{"b":1,"b":2}' + "}".repeat(d);
  const json =
    `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":${deep}}}`;
  assert.throws(
    () => deserializeSafetensors(safetensorsText(json)),
    /^Error: deserializeSafetensors: header entry "w" has the key "b" twice \(inside "x" > "a" > "a" > "a" > \.\.\.\)$/,
  );
  // Without the duplicate, the same depth is accepted (extra fields are ignored).
  const fine = json.replace('"b":1,"b":2', '"b":1,"c":2');
  assert.deepEqual(
    parseSafetensorsHeader(safetensorsText(fine)).tensors.map((t) => t.name),
    ["w"],
  );
});

Deno.test("deserializeSafetensors: a header that starts with a byte order mark is refused (JSON and the reference implementation refuse it; it was dropped silently)", () => {
  const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assert.deepEqual(
    parseSafetensorsHeader(safetensorsText(json)).tensors.map((t) => t.name),
    ["w"],
  );
  assert.throws(
    () => deserializeSafetensors(safetensorsText("\uFEFF" + json)),
    /^Error: deserializeSafetensors: corrupt safetensors file: the \d+-byte header is not valid UTF-8 JSON/,
  );
});

// ------------------------------------------------------------ atomic saves

const names = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** The data of tensor "w" in a safetensors file. */
async function loadW(path: string): Promise<number[]> {
  return [...(await loadSafetensors(path) as Record<string, Tensor>).w.data];
}

/** A child process that locks `file` exclusively and waits to be killed. */
function lockInChild(file: string) {
  const code = `const f = await Deno.open(${
    JSON.stringify(file)
  }, { read: true });
await f.lock(true);
console.log("locked");
setTimeout(() => {}, 60_000);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
  }).spawn();
  const locked = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader().read();
  return { child, locked };
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("saveSafetensors: the next save removes the full-size temp files of killed saves to the same path", async () => {
  await withTempDir("readers_test_", async (dir) => {
    const path = `${dir}/ckpt.safetensors`;
    await saveSafetensors(path, { w: tensor([1, 2]) });
    const big = new Uint8Array(1 << 20).fill(7); // a half-written checkpoint
    const stale = [
      `.ckpt.safetensors.tmp-${await deadPid()}-1f2e3d4c`, // writer killed
      `.ckpt.safetensors.tmp-${Deno.pid}-abc123`, // an earlier run, same pid
    ];
    const kept = [
      ".other.safetensors.tmp-1-ab", // another file's
      "ckpt.safetensors.tmp-1-ab", // not our pattern
      ".ckpt.safetensors.tmp-1-xyz",
      "ckpt.safetensors",
    ];
    for (const f of [...stale, ...kept.slice(0, 3)]) {
      await Deno.writeFile(`${dir}/${f}`, big);
    }
    // A save in flight in another process (it holds the lock on its temp
    // file, as writeBytesAtomic does) is left alone.
    const live = `.ckpt.safetensors.tmp-1-beef`;
    await Deno.writeFile(`${dir}/${live}`, big);
    const writer = lockInChild(`${dir}/${live}`);
    try {
      await writer.locked;
      await saveSafetensors(path, { w: tensor([3, 4, 5]) });
      assert.deepEqual(names(dir), [...kept, live].sort());
      assert.deepEqual(await loadW(path), [3, 4, 5]);
    } finally {
      writer.child.kill();
      await writer.child.status;
    }
    // Once that writer is gone, its file is stale too; writePng cleans up the same way.
    await saveSafetensors(path, { w: tensor([6]) });
    assert.deepEqual(names(dir), kept.sort());
    await Deno.writeFile(`${dir}/.a.png.tmp-${Deno.pid}-0`, big);
    await writePng(`${dir}/a.png`, tensor([[1]]));
    assert.deepEqual(names(dir), [...kept, "a.png"].sort());
  });
});

Deno.test("saveSafetensors: a save in this process keeps the temp file of another save in flight", async () => {
  await withTempDir("readers_test_", async (dir) => {
    const path = `${dir}/ckpt.safetensors`;
    const n = 1 << 22; // 16 MB: slow enough to be caught in flight
    let done = false;
    const first = saveSafetensors(path, {
      w: tensor(new Float32Array(n).fill(1), { shape: [n] }),
    }).finally(() => done = true);
    while (!done && !names(dir).some((f) => f.includes(".tmp-"))) {
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.ok(!done, "the first save finished before it was seen in flight");
    const second = saveSafetensors(path, { w: tensor([2]) });
    await Promise.all([first, second]);
    assert.ok([1, 2].includes((await loadW(path))[0]));
    assert.deepEqual(names(dir), ["ckpt.safetensors"]);
  });
});

Deno.test("saveSafetensors: processes saving to one path at once all succeed (a cleanup never removes another's temp file between its creation and its lock), and leave no temp file", async () => {
  await withTempDir("readers_test_", async (dir) => {
    const path = `${dir}/ckpt.safetensors`;
    const data = new URL("../data/mod.ts", import.meta.url).href;
    const code = `import { saveSafetensors } from ${JSON.stringify(data)};
import { zeros } from ${
      JSON.stringify(new URL("../mod.ts", import.meta.url).href)
    };
let fails = 0;
for (let i = 0; i < 150; i++) {
  try { await saveSafetensors(${JSON.stringify(path)}, { w: zeros([10]) }); }
  catch (e) { fails++; console.error(e.message); }
}
console.log(fails);`;
    const runs = Array.from(
      { length: 4 },
      () =>
        new Deno.Command(Deno.execPath(), {
          args: ["eval", code],
          stdout: "piped",
          stderr: "piped",
        }).output(),
    );
    for (const out of await Promise.all(runs)) {
      const err = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, err);
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "0", err);
    }
    assert.deepEqual(names(dir), ["ckpt.safetensors"]);
    assert.deepEqual(await loadW(path), Array(10).fill(0));
  });
});

Deno.test("saveSafetensors/writePng: a symlink stays a link and its target gets the new content", async () => {
  await withTempDir("readers_test_", async (dir) => {
    await Deno.mkdir(`${dir}/real`);
    await Deno.mkdir(`${dir}/links`);
    // An existing target, through a relative link.
    await saveSafetensors(`${dir}/real/ckpt.safetensors`, { w: tensor([1]) });
    await Deno.symlink("../real/ckpt.safetensors", `${dir}/links/latest`);
    await saveSafetensors(`${dir}/links/latest`, { w: tensor([2, 3]) });
    assert.ok((await Deno.lstat(`${dir}/links/latest`)).isSymlink);
    assert.equal(
      await Deno.readLink(`${dir}/links/latest`),
      "../real/ckpt.safetensors",
    );
    assert.deepEqual(await loadW(`${dir}/real/ckpt.safetensors`), [2, 3]);
    // A dangling link, through a second link: the file is created at the end of the chain.
    await Deno.symlink(`${dir}/real/new.png`, `${dir}/links/b`);
    await Deno.symlink("b", `${dir}/links/a`);
    await writePng(`${dir}/links/a`, tensor([[9, 8]]));
    assert.ok((await Deno.lstat(`${dir}/links/a`)).isSymlink);
    assert.ok((await Deno.lstat(`${dir}/links/b`)).isSymlink);
    assert.deepEqual([...(await readPng(`${dir}/real/new.png`)).data], [9, 8]);
    assert.deepEqual(names(`${dir}/links`), ["a", "b", "latest"]);
    assert.deepEqual(names(`${dir}/real`), ["ckpt.safetensors", "new.png"]);
    // A loop of links is an error that names the path.
    await Deno.symlink("loop2", `${dir}/links/loop1`);
    await Deno.symlink("loop1", `${dir}/links/loop2`);
    await assert.rejects(
      saveSafetensors(`${dir}/links/loop1`, { w: tensor([1]) }),
      /^Error: saveSafetensors: path ".*loop1" is a loop of symbolic links \(more than 40 hops\)$/,
    );
  });
});

Deno.test("readers: a device is an error, not a read that never ends; /proc and /sys name --allow-all", async () => {
  // (in a child process with a deadline: the read it replaces never ended)
  const code = `
    import * as T from ${
    JSON.stringify(new URL("../mod.ts", import.meta.url).href)
  };
    const out = [];
    for (const f of [
      () => T.data.loadSafetensors("/dev/zero"),
      () => T.data.readPng("/dev/urandom"),
      () => T.data.readIdx("/dev/zero"),
      () => T.data.saveSafetensors("/sys/x.safetensors", { a: T.zeros([1]) }),
    ]) {
      try { await f(); out.push("no error"); } catch (e) { out.push(e.message); }
    }
    console.log(JSON.stringify(out));`;
  let out: string[] = [];
  await withTempDir("readers-device-", async (dir) => {
    const script = `${dir}/probe.ts`;
    await Deno.writeTextFile(script, code);
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-read", "--allow-write", script],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    out = JSON.parse(new TextDecoder().decode(run.stdout));
  });
  assert.match(
    out[0],
    /^loadSafetensors: "\/dev\/zero" is a device, not a file/,
  );
  assert.match(out[1], /^readPng: "\/dev\/urandom" is a device, not a file/);
  assert.match(out[2], /^readIdx: "\/dev\/zero" is a device, not a file/);
  // (Deno keeps /proc, /sys and /dev to --allow-all: the error says so)
  assert.match(
    out[3],
    /^saveSafetensors: no permission to write "\/sys\/x.safetensors": add --allow-all/,
  );
});
