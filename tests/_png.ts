/**
 * Test helpers that build PNG files by hand from the specification (not with
 * the library's writer): chunks with their CRC, the IHDR chunk, packed and
 * filtered scanlines, and the Adam7 passes. Shared by the reader tests and
 * the fuzz seeds.
 *
 * @module
 */
import { crc32 } from "node:zlib";

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The PNG signature. */
export const PNG_SIGNATURE: Uint8Array = new Uint8Array([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
]);

/** One PNG chunk: length, type, data, and a correct CRC. */
export function pngChunk(
  type: string,
  data: Uint8Array = new Uint8Array(),
): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The IHDR chunk (compression and filter method 0). */
export function ihdr(
  width: number,
  height: number,
  depth: number,
  colorType: number,
  interlace = 0,
): Uint8Array {
  const b = new Uint8Array(13);
  new DataView(b.buffer).setUint32(0, width);
  new DataView(b.buffer).setUint32(4, height);
  b.set([depth, colorType, 0, 0, interlace], 8);
  return pngChunk("IHDR", b);
}

/** A PNG file: the signature, then the chunks as given. */
export function png(...chunks: Uint8Array[]): Uint8Array {
  return concat(PNG_SIGNATURE, ...chunks);
}

/** One row of stored samples -> raw scanline bytes (packed for depth < 8). */
export function packRow(samples: number[], depth: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((samples.length * depth) / 8));
  samples.forEach((s, i) => {
    if (depth === 16) out.set([s >> 8, s & 0xff], 2 * i);
    else {
      const bit = i * depth;
      out[bit >> 3] |= s << (8 - depth - (bit & 7));
    }
  });
  return out;
}

/**
 * Applies PNG filter `type` to `row` given the previous raw row (encoder
 * side); the result starts with the filter byte.
 */
export function filterRow(
  type: number,
  row: Uint8Array,
  prev: Uint8Array,
  bpp: number,
): Uint8Array {
  const out = new Uint8Array(row.length + 1);
  out[0] = type;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp] : 0, b = prev[i];
    const c = i >= bpp ? prev[i - bpp] : 0;
    const p = a + b - c;
    const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
    const pred = [
      0,
      a,
      b,
      (a + b) >> 1,
      pa <= pb && pa <= pc ? a : pb <= pc ? b : c,
    ][type];
    out[i + 1] = (row[i] - pred) & 0xff;
  }
  return out;
}

/** The seven Adam7 passes: [x0, y0, dx, dy]. */
export const ADAM7: readonly number[][] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
