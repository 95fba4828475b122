/**
 * PNG images as tensors, encoded and decoded here (with `node:zlib` for the
 * deflate, the inflate and the CRC), so that every check on an untrusted
 * file is ours and every rejection is an Error that starts `decodePng: `.
 *
 * One convention everywhere: an image is a float32 tensor `[H, W, C]`
 * (channels last) with values on the 0..255 scale.
 *
 * - decoding gives C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
 *   Palette images are expanded to RGB (RGBA when they have a tRNS chunk),
 *   a tRNS colour key adds an alpha channel, 1/2/4-bit gray is stretched to
 *   0..255, and 16-bit samples are divided by 257 (so 65535 -> 255; values
 *   may then be fractional).
 * - decoding is strict: the signature, the chunk order (one IHDR first, at
 *   most one PLTE and one tRNS before the image data, consecutive IDAT
 *   chunks, IEND last with nothing after it), every chunk's CRC, the zlib
 *   stream's Adler-32 checksum, its exact length and every row's filter type
 *   are checked; anything wrong is an error, never a guessed image.
 * - decoding is bounded: an image of more than {@linkcode PNG_MAX_PIXELS}
 *   pixels (4096 x 4096) is refused before anything is inflated, unless
 *   the caller raises `maxPixels`.
 * - encoding takes `[H, W]` or `[H, W, C]` with C in 1..4 of any dtype,
 *   rounds and clamps each value to 0..255 and writes an 8-bit PNG. Scale
 *   images in [0, 1] by 255 first.
 *
 * @module
 */
import { nodeBuiltin } from "../ops/kernels/_node.ts";
import {
  checkOptions,
  checkTensor,
  describe,
  fromData,
  type Tensor,
} from "../ops/tensor.ts";
import { checkBytes, readBytes, rethrowAs, writeBytesAtomic } from "./_io.ts";

/** node:zlib (deflate, inflate, CRC-32), loaded on first use. */
const zlib = () => nodeBuiltin<typeof import("node:zlib")>("node:zlib");

/**
 * The most pixels (width x height) {@linkcode decodePng} and
 * {@linkcode readPng} decode by default: 2^24 = 16,777,216 (a 4096 x 4096
 * image; a decoded tensor of at most 256 MiB, decoded in about a second).
 * The DEFLATE limit bounds the image data, but a 1-bit pixel becomes a
 * 4-byte float32 (four of them for a palette image with tRNS): without this
 * limit a valid 8 KB file of 8192 x 8192 1-bit pixels decodes to a 1 GB
 * tensor in seconds. Pillow's `Image.MAX_IMAGE_PIXELS` (89,478,485) is
 * higher; this library reads images for convolutional networks, far smaller,
 * and a caller who needs more passes `{ maxPixels }`.
 */
export const PNG_MAX_PIXELS = 2 ** 24;

/** Options for {@linkcode decodePng} and {@linkcode readPng}. */
export interface DecodePngOptions {
  /**
   * The most pixels (width x height) to decode: a positive integer, or
   * `Infinity` for no limit. Default {@linkcode PNG_MAX_PIXELS}.
   */
  maxPixels?: number;
}

/** Checks `options` of `fn` and returns its pixel limit. */
function maxPixelsOf(fn: string, options?: DecodePngOptions): number {
  checkOptions(fn, options, ["maxPixels"]);
  const max = options?.maxPixels === undefined
    ? PNG_MAX_PIXELS
    : options.maxPixels;
  if (!(max === Infinity || (Number.isInteger(max) && max >= 1))) {
    throw new Error(
      `${fn}: maxPixels must be a positive integer or Infinity, got ${
        describe(max)
      }`,
    );
  }
  return max;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Samples per pixel of each PNG colour type, and its allowed bit depths. */
const COLOR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] }, // gray
  2: { channels: 3, depths: [8, 16] }, // RGB
  3: { channels: 1, depths: [1, 2, 4, 8] }, // palette
  4: { channels: 2, depths: [8, 16] }, // gray + alpha
  6: { channels: 4, depths: [8, 16] }, // RGBA
};

/** The passes `[x0, y0, dx, dy]` of Adam7 interlacing, and of none. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
const NO_INTERLACE = [[0, 0, 1, 1]];

interface PngInfo {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  /** Samples per pixel as stored (before palette or colour-key expansion). */
  samples: number;
  passes: number[][];
  /** The PLTE body (3 bytes per entry), or null. */
  palette: Uint8Array | null;
  /** The tRNS body, or null. */
  trns: Uint8Array | null;
  idat: Uint8Array[];
  /** Bytes of filtered image data that IHDR implies. */
  rawBytes: number;
}

function corrupt(what: string, cause?: unknown): Error {
  return new Error(`decodePng: corrupt PNG: ${what}`, { cause });
}

function hex(bytes: Uint8Array, n: number): string {
  return [...bytes.subarray(0, n)].map((b) => b.toString(16).padStart(2, "0"))
    .join(" ");
}

/** Pixels along one axis of a pass that starts at `start` with step `step`. */
function passSize(size: number, start: number, step: number): number {
  return size > start ? Math.ceil((size - start) / step) : 0;
}

function parseIhdr(body: Uint8Array): PngInfo {
  if (body.length !== 13) {
    throw corrupt(`the IHDR chunk must hold 13 bytes, got ${body.length}`);
  }
  const view = new DataView(body.buffer, body.byteOffset, 13);
  const width = view.getUint32(0), height = view.getUint32(4);
  const [depth, colorType, compression, filter, interlace] = body.subarray(8);
  if (
    width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff
  ) {
    throw corrupt(
      `width and height must be 1..2^31-1, got ${width} x ${height}`,
    );
  }
  const ct = COLOR_TYPES[colorType];
  if (!ct) {
    throw corrupt(
      `unknown colour type ${colorType} (expected 0, 2, 3, 4 or 6)`,
    );
  }
  if (!ct.depths.includes(depth)) {
    throw corrupt(
      `bit depth ${depth} is not allowed for colour type ${colorType} (allowed: ${ct.depths})`,
    );
  }
  if (compression !== 0 || filter !== 0 || interlace > 1) {
    throw corrupt(
      `IHDR declares compression method ${compression}, filter method ${filter} and interlace method ${interlace} (expected 0, 0 and 0 or 1)`,
    );
  }
  const passes = interlace === 1 ? ADAM7 : NO_INTERLACE;
  let rawBytes = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = passSize(width, x0, dx), h = passSize(height, y0, dy);
    if (w > 0 && h > 0) {
      rawBytes += h * (Math.ceil((w * ct.channels * depth) / 8) + 1);
    }
  }
  return {
    width,
    height,
    depth,
    colorType,
    samples: ct.channels,
    passes,
    palette: null,
    trns: null,
    idat: [],
    rawBytes,
  };
}

/** Checks what one PLTE or tRNS chunk may hold, given IHDR and the palette. */
function checkPalette(info: PngInfo, body: Uint8Array): void {
  const { colorType, depth } = info;
  if (colorType === 0 || colorType === 4) {
    throw corrupt(`a PLTE chunk in a gray image (colour type ${colorType})`);
  }
  const n = body.length / 3;
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw corrupt(
      `the PLTE chunk must hold 1..256 RGB entries (3..768 bytes, a multiple of 3), got ${body.length} bytes`,
    );
  }
  if (colorType === 3 && n > 2 ** depth) {
    throw corrupt(
      `the PLTE chunk has ${n} entries, but ${depth}-bit indices reach only ${
        2 ** depth
      }`,
    );
  }
}

function checkTrns(info: PngInfo, body: Uint8Array): void {
  const { colorType, palette } = info;
  if (colorType === 4 || colorType === 6) {
    throw corrupt(
      `a tRNS chunk in an image with an alpha channel (colour type ${colorType})`,
    );
  }
  if (colorType === 3) {
    if (palette === null) throw corrupt("the tRNS chunk comes before PLTE");
    if (body.length > palette.length / 3) {
      throw corrupt(
        `the tRNS chunk holds ${body.length} alpha values, but the palette has ${
          palette.length / 3
        } entries`,
      );
    }
  } else if (body.length !== (colorType === 0 ? 2 : 6)) {
    throw corrupt(
      `the tRNS chunk of colour type ${colorType} must hold ${
        colorType === 0 ? 2 : 6
      } bytes, got ${body.length}`,
    );
  }
}

/**
 * Walks and checks the chunk list without decompressing anything: the
 * signature, every chunk's length, type and CRC, and the chunk order.
 */
function scanPng(bytes: Uint8Array): PngInfo {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error(
      `decodePng: not a PNG: expected the signature 89 50 4e 47 0d 0a 1a 0a, got ${
        hex(bytes, 8) || "an empty file"
      }`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let info: PngInfo | null = null;
  let idatDone = false; // a chunk other than IDAT followed the IDAT chunks
  for (let off = 8;;) {
    if (off + 12 > bytes.length) {
      throw corrupt(
        `truncated: the file ends at byte ${bytes.length}, before an IEND chunk`,
      );
    }
    const length = view.getUint32(off);
    const typeBytes = bytes.subarray(off + 4, off + 8);
    if (!typeBytes.every((c) => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a)) {
      throw corrupt(
        `the chunk at byte ${off} has type bytes ${
          hex(typeBytes, 4)
        } (expected 4 ASCII letters)`,
      );
    }
    const type = String.fromCharCode(...typeBytes);
    const at = `chunk "${type}" at byte ${off}`;
    if (length > 0x7fffffff) {
      throw corrupt(`${at} declares ${length} bytes (at most 2^31-1 allowed)`);
    }
    if (off + 12 + length > bytes.length) {
      throw corrupt(
        `truncated: ${at} declares ${length} bytes, but only ${
          Math.max(0, bytes.length - off - 12)
        } remain`,
      );
    }
    const body = bytes.subarray(off + 8, off + 8 + length);
    const stored = view.getUint32(off + 8 + length);
    const crc = zlib().crc32(bytes.subarray(off + 4, off + 8 + length));
    if (stored !== crc) {
      throw corrupt(
        `${at} fails its CRC check (stored ${stored.toString(16)}, computed ${
          crc.toString(16)
        })`,
      );
    }
    off += 12 + length;
    if (info === null) {
      if (type !== "IHDR") {
        throw corrupt(`the first chunk must be IHDR, got "${type}"`);
      }
      info = parseIhdr(body);
      continue;
    }
    if (info.idat.length > 0 && type !== "IDAT") idatDone = true;
    const afterData = info.idat.length > 0
      ? ` (${at} comes after the image data)`
      : "";
    if (type === "IHDR") {
      throw corrupt(`a second IHDR chunk at byte ${off - 12 - length}`);
    } else if (type === "PLTE") {
      if (info.palette !== null || info.trns !== null || afterData) {
        throw corrupt(
          `${at}: a PNG has at most one PLTE chunk, before tRNS and IDAT${afterData}`,
        );
      }
      checkPalette(info, body);
      info.palette = body;
    } else if (type === "tRNS") {
      if (info.trns !== null || afterData) {
        throw corrupt(
          `${at}: a PNG has at most one tRNS chunk, before IDAT${afterData}`,
        );
      }
      checkTrns(info, body);
      info.trns = body;
    } else if (type === "IDAT") {
      if (idatDone) {
        throw corrupt(
          `${at}: the IDAT chunks must be consecutive, but another chunk comes between them`,
        );
      }
      info.idat.push(body);
    } else if (type === "IEND") {
      if (length !== 0) {
        throw corrupt(`${at} must be empty, got ${length} bytes`);
      }
      if (off !== bytes.length) {
        throw corrupt(
          `${bytes.length - off} bytes follow the IEND chunk (it must be last)`,
        );
      }
      break;
    } else if (type.charCodeAt(0) < 0x61) {
      // An uppercase first letter marks a critical chunk: it cannot be skipped.
      throw corrupt(
        `unknown critical ${at} (expected IHDR, PLTE, IDAT or IEND)`,
      );
    }
  }
  if (info.idat.length === 0) throw corrupt("no IDAT chunk");
  if (info.colorType === 3 && info.palette === null) {
    throw corrupt("a palette image (colour type 3) without a PLTE chunk");
  }
  return info;
}

/**
 * Inflates the concatenated IDAT data with zlib, which checks the stream's
 * Adler-32 checksum, and stops as soon as the output exceeds what IHDR
 * declares: a PNG bomb fails before anything large is allocated. Before
 * inflating, refuses a size that the compressed data cannot hold (a corrupt
 * file) or of more than `maxPixels` pixels.
 */
function inflateImageData(info: PngInfo, maxPixels: number): Uint8Array {
  const { width, height, rawBytes } = info;
  const size = `${width} x ${height}`;
  const compressed = new Uint8Array(
    info.idat.reduce((a, c) => a + c.length, 0),
  );
  info.idat.reduce((o, c) => (compressed.set(c, o), o + c.length), 0);
  const limit = compressed.length * 1032 + 1024; // deflate's best ratio
  if (rawBytes > limit) {
    throw corrupt(
      `IHDR declares ${size} (${rawBytes} bytes of image data), but ${compressed.length} compressed bytes can hold at most ${limit}`,
    );
  }
  // Exact: the check above bounds width * height by 8 * 1032 * file size.
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new Error(
      `decodePng: image of ${size} = ${pixels} pixels is more than maxPixels (${maxPixels}${
        maxPixels === PNG_MAX_PIXELS
          ? ", the default decompression-bomb limit"
          : ""
      }); pass a larger { maxPixels } to read it`,
    );
  }
  let out: { buffer: Uint8Array; engine: { bytesWritten: number } };
  try {
    out = zlib().inflateSync(compressed, {
      maxOutputLength: rawBytes,
      info: true,
    }) as unknown as typeof out;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw corrupt(
        `the image data is longer than the ${rawBytes} bytes IHDR declares (${size})`,
      );
    }
    throw corrupt(
      /incorrect data check/.test(msg)
        ? "the image data fails its zlib Adler-32 checksum"
        : /unexpected end/.test(msg)
        ? "truncated: the compressed image data ends before its zlib stream does"
        : `bad compressed image data (zlib: ${msg})`,
      err,
    );
  }
  const raw = out.buffer, used = out.engine.bytesWritten;
  if (raw.length < rawBytes) {
    throw corrupt(
      `truncated: ${raw.length} bytes of image data, IHDR declares ${rawBytes} (${size})`,
    );
  }
  if (used < compressed.length) {
    throw corrupt(
      `${
        compressed.length - used
      } bytes of IDAT data follow the end of the zlib stream`,
    );
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
}

/** The Paeth predictor of the PNG spec: whichever of a, b, c is closest to a + b - c. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Undoes the row filters (in place in `raw`) and the interlacing: the stored
 * samples of every pixel, row-major, `samples` per pixel (palette indices for
 * colour type 3).
 */
function unfilter(info: PngInfo, raw: Uint8Array): Uint16Array {
  const { width, height, depth, samples } = info;
  const out = new Uint16Array(width * height * samples);
  const bpp = Math.max(1, (samples * depth) >> 3); // bytes per pixel, >= 1
  const mask = (1 << depth) - 1;
  let off = 0;
  info.passes.forEach(([x0, y0, dx, dy], pass) => {
    const w = passSize(width, x0, dx), h = passSize(height, y0, dy);
    if (w === 0 || h === 0) return;
    const rowBytes = Math.ceil((w * samples * depth) / 8);
    let prev = -1; // where the previous row's bytes start in raw (-1: none)
    const up = (i: number) => prev < 0 ? 0 : raw[prev + i]; // byte i of prev
    for (let y = 0; y < h; y++, off += 1 + rowBytes) {
      const filter = raw[off];
      if (filter > 4) {
        throw corrupt(
          `row ${y}${
            info.passes.length > 1 ? ` of interlace pass ${pass + 1}` : ""
          } has filter type ${filter} (expected 0..4)`,
        );
      }
      const row = off + 1; // where this row's bytes start in raw
      if (filter === 1) {
        for (let i = bpp; i < rowBytes; i++) raw[row + i] += raw[row + i - bpp];
      } else if (filter === 2) {
        for (let i = 0; i < rowBytes; i++) raw[row + i] += up(i);
      } else if (filter === 3) {
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? raw[row + i - bpp] : 0;
          raw[row + i] += (a + up(i)) >> 1;
        }
      } else if (filter === 4) {
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? raw[row + i - bpp] : 0;
          raw[row + i] += paeth(a, up(i), i >= bpp ? up(i - bpp) : 0);
        }
      }
      const p0 = ((y0 + y * dy) * width + x0) * samples; // first pixel in out
      if (depth < 8) { // one sample per pixel: gray or a palette index
        for (let x = 0; x < w; x++) {
          const bit = x * depth;
          out[p0 + x * dx] =
            (raw[row + (bit >> 3)] >> (8 - depth - (bit & 7))) &
            mask;
        }
      } else if (depth === 8 && dx === 1) {
        out.set(raw.subarray(row, row + rowBytes), p0);
      } else {
        for (let x = 0; x < w; x++) {
          for (let j = 0; j < samples; j++) {
            const s = x * samples + j;
            out[p0 + x * dx * samples + j] = depth === 16
              ? (raw[row + 2 * s] << 8) | raw[row + 2 * s + 1]
              : raw[row + s];
          }
        }
      }
      prev = row;
    }
  });
  return out;
}

/** Expands palette indices and colour keys, and scales samples to 0..255. */
function toImage(info: PngInfo, stored: Uint16Array): Tensor {
  const { width: w, height: h, depth, samples, palette, trns } = info;
  const n = w * h;
  if (info.colorType === 3) {
    const entries = palette!.length / 3;
    const c = trns === null ? 3 : 4;
    const out = new Float32Array(n * c);
    for (let k = 0; k < n; k++) {
      const i = stored[k];
      if (i >= entries) {
        throw corrupt(
          `pixel ${k} uses palette index ${i}, but the palette has ${entries} entries`,
        );
      }
      for (let j = 0; j < 3; j++) out[k * c + j] = palette![3 * i + j];
      if (c === 4) out[k * c + 3] = i < trns!.length ? trns![i] : 255;
    }
    return fromData(out, [h, w, c]);
  }
  const scale = depth === 16 ? 1 / 257 : 255 / ((1 << depth) - 1);
  const key = trns === null ? null : Array.from(
    { length: samples },
    (_, j) => (trns[2 * j] << 8) | trns[2 * j + 1],
  );
  const c = samples + (key === null ? 0 : 1); // 1..4: keys only on gray, RGB
  const out = new Float32Array(n * c);
  for (let k = 0; k < n; k++) {
    let keyed = key !== null;
    for (let j = 0; j < samples; j++) {
      const v = stored[k * samples + j];
      if (keyed && v !== key![j]) keyed = false;
      out[k * c + j] = depth === 8 ? v : v * scale;
    }
    if (key !== null) out[k * c + samples] = keyed ? 0 : 255;
  }
  return fromData(out, [h, w, c]);
}

/**
 * Decodes a PNG held in memory into a float32 tensor `[H, W, C]` with values
 * 0..255 (see the module docs for palette, alpha and 16-bit handling).
 * Corrupt, truncated or oversized files throw an Error whose message starts
 * `decodePng: corrupt PNG: ` (or `decodePng: not a PNG: `) and says what is
 * wrong. An image of more than `options.maxPixels` pixels (default
 * {@linkcode PNG_MAX_PIXELS} = 2^24, a decompression-bomb limit) is refused
 * before it is inflated.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const img = tensor([[0, 64], [128, 255]]); // gray, H = W = 2
 * const png = encodePng(img);
 * const back = decodePng(png);
 * assert.deepEqual(back.shape, [2, 2, 1]);
 * assert.deepEqual([...back.data], [0, 64, 128, 255]);
 * assert.throws(() => decodePng(new Uint8Array(10)), /decodePng: not a PNG/);
 * assert.throws(() => decodePng(png.subarray(0, 40)), /decodePng: corrupt PNG: truncated/);
 * assert.throws(() => decodePng(png, { maxPixels: 3 }), /2 x 2 = 4 pixels is more than maxPixels \(3\)/);
 * ```
 */
export function decodePng(
  bytes: Uint8Array,
  options?: DecodePngOptions,
): Tensor {
  checkBytes("decodePng", bytes);
  const maxPixels = maxPixelsOf("decodePng", options);
  try {
    const info = scanPng(bytes);
    return toImage(info, unfilter(info, inflateImageData(info, maxPixels)));
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("decodePng: ")) {
      throw err;
    }
    // A bug or an allocation failure: still an error that names decodePng.
    throw corrupt(`unexpected failure (${String(err)})`, err);
  }
}

/**
 * Encodes an image tensor as an 8-bit PNG: shape `[H, W]` (gray) or
 * `[H, W, C]` with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
 * Values are on the 0..255 scale, rounded and clamped; NaN is an error.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const rgb = tensor([[[255, 0, 0], [0, 255.4, -3]]]); // 1 x 2, RGB
 * const png = encodePng(rgb);
 * assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
 * assert.deepEqual([...decodePng(png).data], [255, 0, 0, 0, 255, 0]);
 * ```
 */
export function encodePng(t: Tensor): Uint8Array {
  const fn = "encodePng";
  checkTensor(fn, t, "t");
  const s = t.shape;
  if (
    !(s.length === 2 || (s.length === 3 && s[2] >= 1 && s[2] <= 4)) ||
    s[0] < 1 || s[1] < 1
  ) {
    throw new Error(
      `${fn}: t must have shape [H, W] or [H, W, C] with H, W >= 1 and C in 1..4, got [${s}]`,
    );
  }
  const channels = s.length === 2 ? 1 : s[2];
  const src = t.data;
  const data = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v !== v) {
      throw new Error(`${fn}: t holds NaN at flat index ${i}`);
    }
    data[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return encodeRaw(s[1], s[0], channels, data);
}

/** A PNG chunk: its length, type, data and the CRC-32 of type and data. */
function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(
    8 + body.length,
    zlib().crc32(out.subarray(4, 8 + body.length)),
  );
  return out;
}

/** PNG's colour type for 1..4 channels of 8 bits: gray, gray + alpha, RGB, RGBA. */
const COLOR_TYPE = [0, 0, 4, 2, 6];

/**
 * An 8-bit, non-interlaced PNG of `height` rows of `width` pixels of
 * `channels` bytes: the signature, IHDR, one IDAT (every row with filter
 * type 0, deflated by `node:zlib`) and IEND.
 */
function encodeRaw(
  width: number,
  height: number,
  channels: number,
  pixels: Uint8Array,
): Uint8Array {
  const header = new Uint8Array(13);
  const h = new DataView(header.buffer);
  h.setUint32(0, width);
  h.setUint32(4, height);
  header.set([8, COLOR_TYPE[channels], 0, 0, 0], 8); // depth, colour, deflate, filter, no interlace
  const row = width * channels;
  const raw = new Uint8Array(height * (row + 1)); // each row: filter 0, then its bytes
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  }
  const parts = [
    Uint8Array.from(SIGNATURE),
    pngChunk("IHDR", header),
    pngChunk("IDAT", new Uint8Array(zlib().deflateSync(raw))),
    pngChunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads a PNG file as {@linkcode decodePng}: float32 `[H, W, C]`, values
 * 0..255; images of more than `options.maxPixels` pixels (default
 * {@linkcode PNG_MAX_PIXELS}) are refused. Needs `--allow-read`.
 *
 * @example
 * ```ts ignore
 * import { readPng } from "./png.ts";
 * const img = await readPng("digit.png");
 * console.log(img.shape); // e.g. [28, 28, 1]
 * const scan = await readPng("scan.png", { maxPixels: 200_000_000 });
 * ```
 */
export async function readPng(
  path: string,
  options?: DecodePngOptions,
): Promise<Tensor> {
  maxPixelsOf("readPng", options);
  const bytes = await readBytes("readPng", path);
  return rethrowAs(
    "readPng",
    "decodePng",
    () => decodePng(bytes, options),
    path,
  );
}

/**
 * Writes an image tensor as an 8-bit PNG file (see {@linkcode encodePng} for
 * the accepted shapes and values). The file is written to a temporary name
 * and renamed, so a crash never leaves half an image (the next write removes
 * the temporary files of killed ones); a symbolic link at `path` stays and
 * its target is replaced. Needs `--allow-write` (and `--allow-read` for the
 * rename).
 *
 * @example
 * ```ts ignore
 * import { writePng } from "./png.ts";
 * import { full } from "../ops/tensor.ts";
 * await writePng("gray.png", full([28, 28], 128));
 * ```
 */
export async function writePng(path: string, t: Tensor): Promise<void> {
  const bytes = rethrowAs("writePng", "encodePng", () => encodePng(t));
  await writeBytesAtomic("writePng", path, bytes);
}
