/**
 * PNG images as tensors, through the npm package `fast-png`.
 *
 * One convention everywhere: an image is a float32 tensor `[H, W, C]`
 * (channels last) with values on the 0..255 scale.
 *
 * - decoding gives C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
 *   Palette images are expanded to RGB (RGBA when they have a tRNS chunk),
 *   a tRNS colour key adds an alpha channel, 1/2/4-bit gray is stretched to
 *   0..255, and 16-bit samples are divided by 257 (so 65535 -> 255; values
 *   may then be fractional).
 * - encoding takes `[H, W]` or `[H, W, C]` with C in 1..4 of any dtype,
 *   rounds and clamps each value to 0..255 and writes an 8-bit PNG. Scale
 *   images in [0, 1] by 255 first.
 *
 * @module
 */
// Full npm: specifiers, so that no import map entry is needed.
// deno-lint-ignore no-import-prefix
import { decode, encode } from "npm:fast-png@8";
// deno-lint-ignore no-import-prefix
import { Unzlib } from "npm:fflate@0.8";
import { checkTensor, fromData, type Tensor } from "../ops/tensor.ts";
import { checkBytes, readBytes, rethrowAs, writeBytesAtomic } from "./_io.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Samples per pixel of each PNG colour type, and its allowed bit depths. */
const COLOR_TYPES: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] }, // gray
  2: { channels: 3, depths: [8, 16] }, // RGB
  3: { channels: 1, depths: [1, 2, 4, 8] }, // palette
  4: { channels: 2, depths: [8, 16] }, // gray + alpha
  6: { channels: 4, depths: [8, 16] }, // RGBA
};

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface PngInfo {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  idat: Uint8Array[];
  rawBytes: number;
}

function hex(bytes: Uint8Array, n: number): string {
  return [...bytes.subarray(0, n)].map((b) => b.toString(16).padStart(2, "0"))
    .join(" ");
}

/**
 * Walks the chunk list and checks the header, without decompressing:
 * signature, IHDR first and sane, every chunk inside the file, IEND present.
 */
function scanPng(fn: string, bytes: Uint8Array): PngInfo {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error(
      `${fn}: not a PNG: expected the signature 89 50 4e 47 0d 0a 1a 0a, got ${
        hex(bytes, 8) || "an empty file"
      }`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let info: PngInfo | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (!ended) {
    if (off + 8 > bytes.length) {
      throw new Error(
        `${fn}: truncated PNG: the file ends at byte ${bytes.length} before its IEND chunk`,
      );
    }
    const length = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    if (length > 0x7fffffff || off + 12 + length > bytes.length) {
      throw new Error(
        `${fn}: truncated or corrupt PNG: chunk "${type}" at byte ${off} declares ${length} bytes, but only ${
          Math.max(0, bytes.length - off - 12)
        } remain`,
      );
    }
    const body = bytes.subarray(off + 8, off + 8 + length);
    if (info === null) {
      if (type !== "IHDR" || length !== 13) {
        throw new Error(
          `${fn}: corrupt PNG: expected an IHDR chunk of 13 bytes first, got "${type}" of ${length} bytes`,
        );
      }
      const width = view.getUint32(off + 8);
      const height = view.getUint32(off + 12);
      const depth = body[8];
      const colorType = body[9];
      const interlace = body[12];
      const ct = COLOR_TYPES[colorType];
      if (!ct) {
        throw new Error(
          `${fn}: corrupt PNG: unknown colour type ${colorType} (expected 0, 2, 3, 4 or 6)`,
        );
      }
      if (!ct.depths.includes(depth)) {
        throw new Error(
          `${fn}: corrupt PNG: bit depth ${depth} is not allowed for colour type ${colorType} (allowed: ${ct.depths})`,
        );
      }
      if (
        width === 0 || height === 0 || width > 0x7fffffff ||
        height > 0x7fffffff
      ) {
        throw new Error(
          `${fn}: corrupt PNG: width and height must be 1..2^31-1, got ${width} x ${height}`,
        );
      }
      if (interlace > 1) {
        throw new Error(
          `${fn}: corrupt PNG: unknown interlace method ${interlace}`,
        );
      }
      const passes = interlace === 1 ? ADAM7 : [[0, 0, 1, 1]];
      let rawBytes = 0;
      for (const [x0, y0, dx, dy] of passes) {
        const w = width > x0 ? Math.ceil((width - x0) / dx) : 0;
        const h = height > y0 ? Math.ceil((height - y0) / dy) : 0;
        if (w > 0 && h > 0) {
          rawBytes += h * (Math.ceil((w * ct.channels * depth) / 8) + 1);
        }
      }
      info = { width, height, depth, colorType, idat, rawBytes };
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      ended = true;
    }
    off += 12 + length;
  }
  if (info === null || idat.length === 0) {
    throw new Error(`${fn}: corrupt PNG: no IDAT chunk`);
  }
  return info;
}

/**
 * Decompresses the IDAT stream only to count its bytes, in small steps, and
 * stops as soon as it exceeds what IHDR declares: a PNG bomb or a corrupt
 * header fails here before fast-png allocates anything.
 */
function checkImageDataSize(fn: string, info: PngInfo): void {
  const compressed = info.idat.reduce((a, c) => a + c.length, 0);
  if (info.rawBytes > compressed * 1032 + 1024) {
    throw new Error(
      `${fn}: corrupt PNG: IHDR declares ${info.width} x ${info.height} (${info.rawBytes} bytes of image data), but ${compressed} compressed bytes can hold at most ${
        compressed * 1032 + 1024
      }`,
    );
  }
  let total = 0;
  const tooLong = new Error(
    `${fn}: corrupt PNG: the image data is longer than the ${info.rawBytes} bytes IHDR declares (${info.width} x ${info.height})`,
  );
  const inflater = new Unzlib((chunk) => {
    total += chunk.length;
    if (total > info.rawBytes) throw tooLong;
  });
  const STEP = 4096; // at most ~4 MB of output per push
  try {
    for (let i = 0; i < info.idat.length; i++) {
      const c = info.idat[i];
      for (let o = 0; o < c.length; o += STEP) {
        const last = i === info.idat.length - 1 && o + STEP >= c.length;
        inflater.push(c.subarray(o, o + STEP), last);
      }
    }
  } catch (err) {
    if (err === tooLong) throw err;
    throw new Error(
      `${fn}: corrupt PNG: bad compressed image data (${
        err instanceof Error ? err.message : String(err)
      })`,
      { cause: err },
    );
  }
  if (total < info.rawBytes) {
    throw new Error(
      `${fn}: truncated PNG: ${total} bytes of image data, IHDR declares ${info.rawBytes} (${info.width} x ${info.height})`,
    );
  }
}

/**
 * Decodes a PNG held in memory into a float32 tensor `[H, W, C]` with values
 * 0..255 (see the module docs for palette, alpha and 16-bit handling).
 * Corrupt, truncated or oversized files throw an Error naming `decodePng`.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const img = tensor([[0, 64], [128, 255]]); // gray, H = W = 2
 * const back = decodePng(encodePng(img));
 * assert.deepEqual(back.shape, [2, 2, 1]);
 * assert.deepEqual([...back.data], [0, 64, 128, 255]);
 * assert.throws(() => decodePng(new Uint8Array(10)), /decodePng: not a PNG/);
 * ```
 */
export function decodePng(bytes: Uint8Array): Tensor {
  const fn = "decodePng";
  checkBytes(fn, bytes);
  const info = scanPng(fn, bytes);
  checkImageDataSize(fn, info);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes, { checkCrc: true });
  } catch (err) {
    throw new Error(
      `${fn}: corrupt PNG: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const { width: w, height: h, depth, data } = png;
  const { colorType } = info;
  const n = w * h;
  const samples = COLOR_TYPES[colorType].channels;
  const expected = depth < 8 ? h * Math.ceil((w * depth) / 8) : n * samples;
  if (data.length !== expected) {
    throw new Error(
      `${fn}: corrupt PNG: decoded ${data.length} samples, expected ${expected}`,
    );
  }
  // Sample k of the image (before palette / key expansion), as stored.
  const rowBytes = Math.ceil((w * depth) / 8);
  const mask = (1 << depth) - 1;
  const sample = depth < 8
    ? (k: number) => {
      const y = Math.floor(k / w), x = k - y * w;
      const bit = x * depth;
      return (data[y * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) &
        mask;
    }
    : (k: number) => data[k];
  if (colorType === 3) {
    const palette = png.palette;
    if (!palette || palette.length === 0) {
      throw new Error(`${fn}: corrupt PNG: palette image without a PLTE chunk`);
    }
    const c = palette[0].length; // 3, or 4 with tRNS
    const out = new Float32Array(n * c);
    for (let k = 0; k < n; k++) {
      const entry = palette[sample(k)];
      if (entry === undefined) {
        throw new Error(
          `${fn}: corrupt PNG: pixel ${k} uses palette index ${
            sample(k)
          }, but the palette has ${palette.length} colours`,
        );
      }
      for (let j = 0; j < c; j++) out[k * c + j] = entry[j] ?? 255;
    }
    return fromData(out, [h, w, c]);
  }
  const scale = depth === 16 ? 1 / 257 : 255 / ((1 << depth) - 1);
  const key = png.transparency;
  const hasKey = key !== undefined && key.length > 0 &&
    (colorType === 0 || colorType === 2);
  const c = samples + (hasKey ? 1 : 0);
  const out = new Float32Array(n * c);
  for (let k = 0; k < n; k++) {
    let keyed = hasKey;
    for (let j = 0; j < samples; j++) {
      const v = sample(k * samples + j);
      if (keyed && v !== key![j]) keyed = false;
      out[k * c + j] = depth === 8 ? v : v * scale;
    }
    if (hasKey) out[k * c + samples] = keyed ? 0 : 255;
  }
  return fromData(out, [h, w, c]);
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
  return encode({ width: s[1], height: s[0], data, channels, depth: 8 });
}

/**
 * Reads a PNG file as {@linkcode decodePng}: float32 `[H, W, C]`, values
 * 0..255. Needs `--allow-read`.
 *
 * @example
 * ```ts ignore
 * import { readPng } from "./png.ts";
 * const img = await readPng("digit.png");
 * console.log(img.shape); // e.g. [28, 28, 1]
 * ```
 */
export async function readPng(path: string): Promise<Tensor> {
  const bytes = await readBytes("readPng", path);
  return rethrowAs("readPng", "decodePng", () => decodePng(bytes), path);
}

/**
 * Writes an image tensor as an 8-bit PNG file (see {@linkcode encodePng} for
 * the accepted shapes and values). The file is written to a temporary name
 * and renamed, so a crash never leaves half an image. Needs `--allow-write`
 * (and `--allow-read` for the rename).
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
