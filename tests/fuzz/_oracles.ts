/**
 * Independent minimal parsers for the fuzz harness: each reads a format
 * from its specification, sharing no code with `data/`, and says whether
 * an input is valid (and what it decodes to), invalid (and why), or
 * outside what the oracle checks ("unchecked": the library may accept it,
 * but nothing is compared).
 *
 * @module
 */
import { inflateRawSync, inflateSync } from "node:zlib";

/** What an oracle makes of an input. */
export type Verdict<T> =
  | { kind: "valid"; value: T }
  | { kind: "invalid"; why: string }
  | { kind: "unchecked"; why: string };

/** The tensor a reader should return. */
export interface Expected {
  dtype: "int32" | "float32" | "float64";
  shape: number[];
  data: ArrayLike<number>;
}

const valid = <T>(value: T): Verdict<T> => ({ kind: "valid", value });
const invalid = <T>(why: string): Verdict<T> => ({ kind: "invalid", why });
const unchecked = <T>(why: string): Verdict<T> => ({ kind: "unchecked", why });

/**
 * The first difference between a tensor and the expected one, or null.
 * Floats may differ by `tol` (absolute); NaN matches NaN and -0 matches only -0.
 */
export function diffTensor(
  actual: { dtype: string; shape: readonly number[]; data: ArrayLike<number> },
  expected: Expected,
  tol = 0,
): string | null {
  if (actual.dtype !== expected.dtype) {
    return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  }
  if (
    actual.shape.join() !== expected.shape.join() ||
    actual.shape.length !== expected.shape.length
  ) {
    return `shape [${actual.shape}], expected [${expected.shape}]`;
  }
  if (actual.data.length !== expected.data.length) {
    return `${actual.data.length} elements, expected ${expected.data.length}`;
  }
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i], e = expected.data[i];
    const same = Object.is(a, e) || (a !== a && e !== e) ||
      (tol > 0 && Math.abs(a - e) <= tol);
    if (!same) return `element ${i} is ${a}, expected ${e}`;
  }
  return null;
}

// ---------------------------------------------------------------- IDX

const IDX: Record<number, { size: number; dtype: Expected["dtype"] }> = {
  0x08: { size: 1, dtype: "int32" },
  0x09: { size: 1, dtype: "int32" },
  0x0b: { size: 2, dtype: "int32" },
  0x0c: { size: 4, dtype: "int32" },
  0x0d: { size: 4, dtype: "float32" },
  0x0e: { size: 8, dtype: "float64" },
};

/** An IDX file: magic 00 00, type, ndim, big-endian uint32 dims, big-endian elements, nothing more. */
export function idxOracle(b: Uint8Array): Verdict<Expected & { type: number }> {
  if (b.length < 4) return invalid("shorter than the magic number");
  if (b[0] !== 0 || b[1] !== 0) return invalid("magic does not start 00 00");
  const t = IDX[b[2]];
  if (!t) return invalid(`unknown type 0x${b[2].toString(16)}`);
  const ndim = b[3];
  const start = 4 + 4 * ndim;
  if (b.length < start) return invalid("header cut short");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shape: number[] = [];
  let count = 1n;
  for (let i = 0; i < ndim; i++) {
    shape.push(v.getUint32(4 + 4 * i));
    count *= BigInt(shape[i]);
  }
  if (BigInt(start) + count * BigInt(t.size) !== BigInt(b.length)) {
    return invalid(
      `dims [${shape}] do not match the ${b.length - start} data bytes`,
    );
  }
  const n = Number(count);
  const data = t.dtype === "int32"
    ? new Int32Array(n)
    : t.dtype === "float32"
    ? new Float32Array(n)
    : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = start + i * t.size;
    data[i] = b[2] === 0x08
      ? b[o]
      : b[2] === 0x09
      ? v.getInt8(o)
      : b[2] === 0x0b
      ? v.getInt16(o)
      : b[2] === 0x0c
      ? v.getInt32(o)
      : b[2] === 0x0d
      ? v.getFloat32(o)
      : v.getFloat64(o);
  }
  return valid({ type: b[2], dtype: t.dtype, shape, data });
}

// ---------------------------------------------------------------- gzip

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (ISO 3309), as gzip and PNG use it. */
export function crc32(bytes: Uint8Array, c = 0xffffffff): number {
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface Inflated {
  out: Uint8Array;
  used: number;
}

/** Inflates with node's zlib, returning the output and how many input bytes the stream used. */
function inflateWith(
  f: typeof inflateSync,
  data: Uint8Array,
  max: number,
): Inflated | string {
  try {
    // deno-lint-ignore no-explicit-any
    const r = f(data, { info: true, maxOutputLength: max } as any) as any;
    return { out: new Uint8Array(r.buffer), used: r.engine.bytesWritten };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * A gzip file (RFC 1952): one or more members, each a header, a DEFLATE
 * stream and a CRC-32 + size trailer; as Python's gzip reads it, zero bytes
 * after a member are padding, skipped. `max` bounds the output.
 */
export function gunzipOracle(b: Uint8Array, max: number): Verdict<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  let o = 0;
  do {
    if (b.length - o < 18) return invalid(`gzip member at ${o} is too short`);
    if (b[o] !== 0x1f || b[o + 1] !== 0x8b || b[o + 2] !== 8) {
      return invalid(`no gzip magic/method at ${o}`);
    }
    const flags = b[o + 3];
    if (flags & 0xe0) return invalid("reserved gzip flags set");
    let p = o + 10;
    if (flags & 4) p += 2 + (b[p] | (b[p + 1] << 8)); // FEXTRA
    for (const bit of [8, 16]) { // FNAME, FCOMMENT: zero-terminated
      if (flags & bit) {
        while (p < b.length && b[p] !== 0) p++;
        p++;
      }
    }
    if (flags & 2) { // FHCRC: the low 16 bits of the header's CRC-32
      if (p + 2 > b.length) return invalid("gzip header cut short");
      if ((crc32(b.subarray(o, p)) & 0xffff) !== (b[p] | (b[p + 1] << 8))) {
        return invalid("gzip header CRC mismatch");
      }
      p += 2;
    }
    if (p > b.length) return invalid("gzip header cut short");
    const r = inflateWith(inflateRawSync, b.subarray(p), max - total);
    if (typeof r === "string") {
      return /larger than/.test(r)
        ? unchecked(`more than ${max} bytes decompressed`)
        : invalid(`deflate: ${r}`);
    }
    p += r.used;
    if (p + 8 > b.length) return invalid("gzip trailer cut short");
    const v = new DataView(b.buffer, b.byteOffset + p, 8);
    if (v.getUint32(0, true) !== crc32(r.out)) {
      return invalid("gzip CRC mismatch");
    }
    if (v.getUint32(4, true) !== (r.out.length >>> 0)) {
      return invalid("gzip size mismatch");
    }
    parts.push(r.out);
    total += r.out.length;
    o = p + 8;
    while (o < b.length && b[o] === 0) o++;
  } while (o < b.length);
  const out = new Uint8Array(total);
  let k = 0;
  for (const part of parts) {
    out.set(part, k);
    k += part.length;
  }
  return valid(out);
}

// ---------------------------------------------------------------- CIFAR-10

/** CIFAR-10 binary: a non-zero number of 3073-byte records, each label 0..9 then 3072 pixels. */
export function cifarOracle(
  b: Uint8Array,
): Verdict<{ x: Expected; y: Expected }> {
  const r = 3073;
  if (b.length === 0 || b.length % r !== 0) {
    return invalid(`${b.length} bytes is not a multiple of ${r}`);
  }
  const n = b.length / r;
  const x = new Float32Array(n * 3072);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (b[i * r] > 9) return invalid(`record ${i} has label ${b[i * r]}`);
    y[i] = b[i * r];
    for (let j = 0; j < 3072; j++) x[i * 3072 + j] = b[i * r + 1 + j];
  }
  return valid({
    x: { dtype: "float32", shape: [n, 3, 32, 32], data: x },
    y: { dtype: "int32", shape: [n], data: y },
  });
}

// ---------------------------------------------------------------- Fashion-MNIST

/** One Fashion-MNIST split as the loader should return it. */
export interface Split {
  x: Expected;
  y: Expected;
}

/**
 * Fashion-MNIST from four files (`name` -> bytes, `name.gz` preferred when
 * both exist; a missing file is null): gzip when the bytes start 1f 8b,
 * plain IDX otherwise (a `.gz` name must then start 00 00); images ubyte
 * [N, 28, 28] scaled by 1/255, labels ubyte [N] in 0..9.
 */
export function fashionOracle(
  files: Record<string, Uint8Array | null>,
): Verdict<{ train: Split; test: Split }> {
  const idx = (name: string): Verdict<Expected & { type: number }> => {
    const gz = files[`${name}.gz`];
    const path = gz ? `${name}.gz` : name;
    const b = gz ?? files[name];
    if (!b) return invalid(`${name} missing`);
    let raw = b;
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
      const r = gunzipOracle(b, 4 << 20);
      if (r.kind !== "valid") return r as Verdict<never>;
      raw = r.value;
    } else if (path.endsWith(".gz") && !(b[0] === 0 && b[1] === 0)) {
      return invalid(`${path} is neither gzip nor IDX`);
    }
    return idxOracle(raw);
  };
  const split = (p: string): Verdict<Split> => {
    const im = idx(`${p}-images-idx3-ubyte`);
    if (im.kind !== "valid") return im as Verdict<never>;
    const lb = idx(`${p}-labels-idx1-ubyte`);
    if (lb.kind !== "valid") return lb as Verdict<never>;
    const [n, h, w] = im.value.shape;
    if (
      im.value.type !== 8 || im.value.shape.length !== 3 || h !== 28 || w !== 28
    ) {
      return invalid(
        `${p} images are type ${im.value.type} [${im.value.shape}]`,
      );
    }
    if (
      lb.value.type !== 8 || lb.value.shape.length !== 1 ||
      lb.value.shape[0] !== n
    ) {
      return invalid(
        `${p} labels are type ${lb.value.type} [${lb.value.shape}] for ${n} images`,
      );
    }
    const y = Int32Array.from(lb.value.data);
    if (y.some((l) => l > 9)) return invalid(`${p} has a label above 9`);
    const x = Float32Array.from(im.value.data, (v) => v / 255);
    return valid({
      x: { dtype: "float32", shape: [n, 1, 28, 28], data: x },
      y: { dtype: "int32", shape: [n], data: y },
    });
  };
  const train = split("train");
  if (train.kind !== "valid") return train as Verdict<never>;
  const test = split("t10k");
  if (test.kind !== "valid") return test as Verdict<never>;
  return valid({ train: train.value, test: test.value });
}

// ---------------------------------------------------------------- PNG

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
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
/** The largest image data (bytes) this oracle inflates. */
const PNG_MAX_RAW = 64 << 20;
/** The most samples this oracle decodes (a bigger image is "unchecked" when accepted). */
const PNG_MAX_SAMPLES = 1 << 24;

/**
 * Reverses the PNG scanline filters of one (sub)image in place and returns
 * its rows' bytes without filter bytes, or an error for an unknown filter.
 */
function unfilter(
  raw: Uint8Array,
  rows: number,
  rowBytes: number,
  bpp: number,
): Uint8Array | string {
  const out = new Uint8Array(rows * rowBytes);
  for (let y = 0; y < rows; y++) {
    const f = raw[y * (rowBytes + 1)];
    const src = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    const cur = out.subarray(y * rowBytes, (y + 1) * rowBytes);
    const prev = y > 0
      ? out.subarray((y - 1) * rowBytes, y * rowBytes)
      : new Uint8Array(rowBytes);
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0,
        b = prev[i],
        c = i >= bpp ? prev[i - bpp] : 0;
      let pred: number;
      if (f === 0) pred = 0;
      else if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c,
          pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else return `row ${y} has filter type ${f}`;
      cur[i] = (src[i] + pred) & 0xff;
    }
  }
  return out;
}

/**
 * A PNG file (ISO/IEC 15948), decoded as `decodePng` documents it: float32
 * [H, W, C] on the 0..255 scale; palette expanded to RGB (RGBA with tRNS);
 * a tRNS colour key adds an alpha channel (0 where the pixel equals the
 * key); 1/2/4-bit gray stretched to 0..255; 16-bit samples divided by 257.
 * Every CRC, the zlib stream (with its Adler-32), chunk order and the exact
 * amount of image data are checked. Lenient corners that decoders treat
 * differently (extra data, odd tRNS/PLTE placement) are "unchecked".
 */
export function pngOracle(b: Uint8Array): Verdict<Expected> {
  const SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (b.length < 8 || SIG.some((s, i) => b[i] !== s)) {
    return invalid("no PNG signature");
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let ihdr: Uint8Array | null = null;
  let plte: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatDone = false; // an IDAT run has ended
  const odd: string[] = []; // lenient corners seen
  let off = 8;
  let ended = false;
  while (!ended) {
    if (off + 12 > b.length) {
      return invalid(`chunk at ${off} cut short (no IEND)`);
    }
    const len = v.getUint32(off);
    if (len > 0x7fffffff || off + 12 + len > b.length) {
      return invalid(`chunk at ${off} declares ${len} bytes`);
    }
    const typeBytes = b.subarray(off + 4, off + 8);
    if (
      [...typeBytes].some((c) =>
        !((c >= 65 && c <= 90) || (c >= 97 && c <= 122))
      )
    ) {
      return invalid(`chunk type at ${off} is not four letters`);
    }
    const type = String.fromCharCode(...typeBytes);
    const critical = typeBytes[0] < 97;
    const data = b.subarray(off + 8, off + 8 + len);
    if (
      v.getUint32(off + 8 + len) !== crc32(b.subarray(off + 4, off + 8 + len))
    ) {
      if (critical) return invalid(`${type} CRC mismatch`);
      odd.push(`${type} CRC mismatch (ancillary)`);
    }
    off += 12 + len;
    if (ihdr === null && type !== "IHDR") {
      return invalid(`first chunk is ${type}`);
    }
    if (type !== "IDAT" && idat.length > 0) idatDone = true;
    if (type === "IHDR") {
      if (ihdr !== null) return invalid("second IHDR");
      if (len !== 13) return invalid(`IHDR of ${len} bytes`);
      ihdr = data;
    } else if (type === "PLTE") {
      if (plte !== null) return invalid("second PLTE");
      plte = data;
      if (trns !== null) odd.push("PLTE after tRNS");
      if (idat.length > 0) odd.push("PLTE after IDAT");
    } else if (type === "tRNS") {
      if (
        trns !== null || idat.length > 0 || (ihdr![9] === 3 && plte === null)
      ) odd.push("tRNS out of place");
      else trns = data;
    } else if (type === "IDAT") {
      if (idatDone) return invalid("IDAT chunks not consecutive");
      idat.push(data);
    } else if (type === "IEND") {
      if (len !== 0) odd.push("IEND with data");
      ended = true;
      if (off < b.length) odd.push("data after IEND");
    } else if (critical) return invalid(`unknown critical chunk ${type}`);
  }
  const ih = new DataView(ihdr!.buffer, ihdr!.byteOffset, 13);
  const width = ih.getUint32(0), height = ih.getUint32(4);
  const [depth, ct, comp, filt, lace] = ihdr!.subarray(8, 13);
  if (
    width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff
  ) {
    return invalid(`size ${width} x ${height}`);
  }
  if (!DEPTHS[ct]?.includes(depth)) {
    return invalid(`colour type ${ct} with depth ${depth}`);
  }
  if (comp !== 0 || filt !== 0 || lace > 1) {
    return invalid(`IHDR methods ${comp}/${filt}/${lace}`);
  }
  if (idat.length === 0) return invalid("no IDAT");
  if (plte !== null) {
    if (ct === 0 || ct === 4) return invalid(`PLTE in colour type ${ct}`);
    if (plte.length === 0 || plte.length % 3 !== 0 || plte.length > 768) {
      if (ct === 3) return invalid(`PLTE of ${plte.length} bytes`);
      odd.push(`PLTE of ${plte.length} bytes`);
    }
    if (ct === 3 && plte.length / 3 > 2 ** depth) {
      odd.push("PLTE longer than the bit depth allows");
    }
    if (ct === 3 && odd.includes("PLTE after IDAT")) {
      return invalid("PLTE after IDAT");
    }
  } else if (ct === 3) return invalid("palette image without PLTE");
  if (trns !== null) {
    const want = ct === 0 ? 2 : ct === 2 ? 6 : -1;
    if (ct === 4 || ct === 6) odd.push(`tRNS in colour type ${ct}`);
    else if (
      ct === 3 && trns.length > plte!.length / 3
    ) odd.push(`tRNS of ${trns.length} bytes`);
    else if (ct !== 3 && trns.length !== want) {
      odd.push(`tRNS of ${trns.length} bytes`);
    }
  }
  const channels = CHANNELS[ct];
  const passes = lace ? ADAM7 : [[0, 0, 1, 1]];
  let rawBytes = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil(Math.max(0, width - x0) / dx),
      ph = Math.ceil(Math.max(0, height - y0) / dy);
    if (pw > 0 && ph > 0) {
      rawBytes += ph * (Math.ceil((pw * channels * depth) / 8) + 1);
    }
  }
  const z = idat.length === 1 ? idat[0] : idat.reduce((a, c) => {
    const out = new Uint8Array(a.length + c.length);
    out.set(a);
    out.set(c, a.length);
    return out;
  });
  const cap = Math.min(rawBytes + 1, PNG_MAX_RAW);
  const r = inflateWith(inflateSync, z, cap);
  if (typeof r === "string") {
    if (/larger than/.test(r)) {
      return rawBytes + 1 > PNG_MAX_RAW
        ? unchecked("image too large for the oracle")
        : unchecked("more image data than IHDR needs");
    }
    return invalid(`zlib: ${r}`);
  }
  if (r.out.length < rawBytes) {
    return invalid(`${r.out.length} bytes of image data, ${rawBytes} needed`);
  }
  if (r.out.length > rawBytes) odd.push("more image data than IHDR needs");
  if (r.used < z.length) odd.push("data after the zlib stream");
  if (width * height * channels > PNG_MAX_SAMPLES) {
    return unchecked("image too large for the oracle");
  }
  // Samples of the full image, row-major, as stored (palette indices for type 3).
  const samples = new Uint16Array(width * height * channels);
  let pos = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil(Math.max(0, width - x0) / dx),
      ph = Math.ceil(Math.max(0, height - y0) / dy);
    if (pw === 0 || ph === 0) continue;
    const rowBytes = Math.ceil((pw * channels * depth) / 8);
    const rows = unfilter(
      r.out.subarray(pos, pos + ph * (rowBytes + 1)),
      ph,
      rowBytes,
      Math.max(1, (channels * depth) >> 3),
    );
    if (typeof rows === "string") return invalid(rows);
    pos += ph * (rowBytes + 1);
    for (let j = 0; j < ph; j++) {
      for (let i = 0; i < pw * channels; i++) {
        let s: number;
        if (depth === 16) {
          s = (rows[j * rowBytes + 2 * i] << 8) |
            rows[j * rowBytes + 2 * i + 1];
        } else {
          const bit = i * depth;
          s = (rows[j * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) &
            ((1 << depth) - 1);
        }
        const px = (y0 + j * dy) * width + x0 + Math.floor(i / channels) * dx;
        samples[px * channels + (i % channels)] = s;
      }
    }
  }
  const n = width * height;
  let c: number;
  let data: Float32Array;
  if (ct === 3) {
    const entries = plte!.length / 3;
    c = trns ? 4 : 3;
    data = new Float32Array(n * c);
    for (let k = 0; k < n; k++) {
      const idx = samples[k];
      if (idx >= entries) {
        return invalid(`pixel ${k} uses palette index ${idx} of ${entries}`);
      }
      for (let j = 0; j < 3; j++) data[k * c + j] = plte![3 * idx + j];
      if (trns) data[k * c + 3] = idx < trns.length ? trns[idx] : 255;
    }
  } else {
    const key = trns && (ct === 0 || ct === 2) && trns.length === 2 * channels
      ? Array.from(
        { length: channels },
        (_, j) => (trns![2 * j] << 8) | trns![2 * j + 1],
      )
      : null;
    c = channels + (key ? 1 : 0);
    data = new Float32Array(n * c);
    for (let k = 0; k < n; k++) {
      let keyed = key !== null;
      for (let j = 0; j < channels; j++) {
        const s = samples[k * channels + j];
        if (key && s !== key[j]) keyed = false;
        data[k * c + j] = depth === 16
          ? s / 257
          : depth === 8
          ? s
          : (s * 255) / ((1 << depth) - 1);
      }
      if (key) data[k * c + channels] = keyed ? 0 : 255;
    }
  }
  const value: Expected = { dtype: "float32", shape: [height, width, c], data };
  return odd.length > 0 ? unchecked(odd.join("; ")) : valid(value);
}

// ---------------------------------------------------------------- JSON

/** A JSON number with its source text (to tell `4` from `4.0` or `4e0`). */
export class JsonNumber {
  /** Its value and source text. */
  constructor(readonly value: number, readonly text: string) {}
}
/** A JSON object as its key/value pairs in source order (duplicates kept). */
export class JsonObject {
  /** The pairs. */
  readonly pairs: [string, Json][] = [];
}
/** A JSON value. */
export type Json = null | boolean | string | JsonNumber | JsonObject | Json[];

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * Parses JSON (RFC 8259) without recursion, so any nesting depth works;
 * keeps duplicate keys and number texts. Throws on a syntax error.
 */
export function parseJson(s: string): Json {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`JSON: ${what} at ${i}`);
  };
  const ws = () => {
    while (
      i < s.length &&
      (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r")
    ) i++;
  };
  const str = (): string => {
    if (s[i] !== '"') fail("expected a string");
    i++;
    let out = "";
    while (true) {
      if (i >= s.length) fail("unterminated string");
      const ch = s[i++];
      if (ch === '"') return out;
      if (ch < " ") fail("control character in string");
      if (ch !== "\\") {
        const run = i - 1; // copy the whole run up to the next quote, backslash or control character
        while (i < s.length && s[i] !== '"' && s[i] !== "\\" && s[i] >= " ") {
          i++;
        }
        out += s.slice(run, i);
        continue;
      }
      const e = s[i++];
      if (e in ESCAPES) out += ESCAPES[e];
      else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(s.slice(i, i + 4))) {
        out += String.fromCharCode(parseInt(s.slice(i, i + 4), 16));
        i += 4;
      } else fail("bad escape");
    }
  };
  const NUM = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const scalar = (): Json => {
    for (
      const [word, value] of [["true", true], ["false", false], [
        "null",
        null,
      ]] as const
    ) {
      if (s.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    if (s[i] === '"') return str();
    NUM.lastIndex = i;
    const m = NUM.exec(s);
    if (!m) return fail("expected a value");
    i += m[0].length;
    return new JsonNumber(Number(m[0]), m[0]);
  };
  type Frame = { arr: Json[] } | { obj: JsonObject; key: string };
  const stack: Frame[] = [];
  const key = (): string => {
    ws();
    const k = str();
    ws();
    if (s[i++] !== ":") fail("expected ':'");
    return k;
  };
  while (true) {
    ws();
    let value: Json;
    if (s[i] === "{") {
      i++;
      ws();
      const obj = new JsonObject();
      if (s[i] !== "}") {
        stack.push({ obj, key: key() });
        continue;
      }
      i++;
      value = obj;
    } else if (s[i] === "[") {
      i++;
      ws();
      if (s[i] !== "]") {
        stack.push({ arr: [] });
        continue;
      }
      i++;
      value = [];
    } else value = scalar();
    // Hand the value to its container; close containers that end here.
    while (true) {
      const top = stack.at(-1);
      if (top === undefined) {
        ws();
        if (i !== s.length) fail("text after the value");
        return value;
      }
      ws();
      if ("arr" in top) {
        top.arr.push(value);
        if (s[i] === ",") {
          i++;
          break;
        }
        if (s[i++] !== "]") fail("expected ',' or ']'");
        value = top.arr;
      } else {
        top.obj.pairs.push([top.key, value]);
        if (s[i] === ",") {
          i++;
          top.key = key();
          break;
        }
        if (s[i++] !== "}") fail("expected ',' or '}'");
        value = top.obj;
      }
      stack.pop();
    }
  }
}

/** An object's pairs with a later duplicate key replacing the earlier one. */
function lastWins(o: JsonObject): [string, Json][] {
  return [...new Map(o.pairs)];
}

// ---------------------------------------------------------------- safetensors

/** One tensor of a safetensors header. */
export interface StTensor {
  name: string;
  dtype: Expected["dtype"];
  /** The dtype in the file. */
  stored: string;
  shape: number[];
  begin: number;
  end: number;
}

const ST: Record<string, { dtype: Expected["dtype"]; size: number }> = {
  F32: { dtype: "float32", size: 4 },
  F64: { dtype: "float64", size: 8 },
  I32: { dtype: "int32", size: 4 },
  F16: { dtype: "float32", size: 2 },
  BF16: { dtype: "float32", size: 2 },
  I64: { dtype: "int32", size: 8 },
  U64: { dtype: "int32", size: 8 },
  U32: { dtype: "int32", size: 4 },
  I16: { dtype: "int32", size: 2 },
  U16: { dtype: "int32", size: 2 },
  I8: { dtype: "int32", size: 1 },
  U8: { dtype: "int32", size: 1 },
  BOOL: { dtype: "int32", size: 1 },
};

/** float32 bits of an IEEE half, built bit by bit (subnormals normalised). */
function halfBits(h: number): number {
  const sign = (h & 0x8000) << 16, e = (h >> 10) & 0x1f;
  let m = h & 0x3ff;
  if (e === 0x1f) return sign | 0x7f800000 | (m << 13);
  if (e !== 0) return sign | ((e + 112) << 23) | (m << 13);
  if (m === 0) return sign;
  let k = 113; // a subnormal: shift the mantissa up to its leading 1
  while (!(m & 0x400)) {
    m <<= 1;
    k--;
  }
  return sign | (k << 23) | ((m & 0x3ff) << 13);
}

/**
 * A tensor's values as the library should load them from the file's bytes
 * (little-endian), or why it cannot: an integer outside int32's range.
 */
export function stValues(
  stored: string,
  raw: Uint8Array,
): Float32Array | Float64Array | Int32Array | string {
  const b = raw.slice().buffer;
  const ints = (xs: ArrayLike<number | bigint>) => {
    const out = new Int32Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const x = BigInt(xs[i]);
      if (x < -(2n ** 31n) || x >= 2n ** 31n) return `value ${x} of ${stored}`;
      out[i] = Number(x);
    }
    return out;
  };
  const u16 = () => new Uint16Array(b);
  switch (stored) {
    case "F32":
      return new Float32Array(b);
    case "F64":
      return new Float64Array(b);
    case "I32":
      return new Int32Array(b);
    case "F16":
      return new Float32Array(Uint32Array.from(u16(), halfBits).buffer);
    case "BF16":
      return new Float32Array(Uint32Array.from(u16(), (h) => h << 16).buffer);
    case "I64":
      return ints(new BigInt64Array(b));
    case "U64":
      return ints(new BigUint64Array(b));
    case "U32":
      return ints(new Uint32Array(b));
    case "I16":
      return ints(new Int16Array(b));
    case "U16":
      return ints(u16());
    case "I8":
      return ints(new Int8Array(b));
    default: // U8, BOOL
      return ints(new Uint8Array(b));
  }
}

/**
 * A safetensors file: u64 LE header length N (at most 100,000,000, within
 * the file), N bytes of UTF-8 JSON object; an optional `__metadata__`
 * (null or an object of strings); every other
 * entry an object with dtype (F32, F64 or I32, or one the library widens:
 * F16, BF16, I64, U64, U32, I16, U16, I8, U8, BOOL),
 * shape (non-negative integers) and data_offsets [begin, end] whose span is
 * the shape's size; sorted by offsets, the tensors tile the data section
 * exactly. Duplicate keys follow the reference implementation (Rust serde):
 * a later tensor name or metadata key replaces the earlier one; a second
 * `__metadata__`, or a second dtype, shape or data_offsets field in an
 * entry, is an error.
 */
export function safetensorsOracle(
  b: Uint8Array,
): Verdict<
  { tensors: StTensor[]; metadata: [string, string][]; dataStart: number }
> {
  if (b.length < 8) return invalid("shorter than the length field");
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getBigUint64(0, true);
  if (n > 100_000_000n || n > BigInt(b.length - 8)) {
    return invalid(`header length ${n}`);
  }
  const dataStart = 8 + Number(n);
  const odd: string[] = [];
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      b.subarray(8, dataStart),
    );
  } catch {
    return invalid("header is not UTF-8");
  }
  if (text.startsWith("\ufeff")) {
    odd.push("header starts with a byte order mark");
    text = text.slice(1);
  }
  let root: Json;
  try {
    root = parseJson(text);
  } catch (err) {
    return invalid((err as Error).message);
  }
  if (!(root instanceof JsonObject)) return invalid("header is not an object");
  if (root.pairs.filter(([k]) => k === "__metadata__").length > 1) {
    return invalid("two __metadata__ entries");
  }
  const dataLength = b.length - dataStart;
  const size = (x: Json, what: string): number | string => {
    if (
      !(x instanceof JsonNumber) || !Number.isInteger(x.value) || x.value < 0 ||
      x.value > Number.MAX_SAFE_INTEGER
    ) {
      return `${what} is not a size`;
    }
    if (!/^(0|[1-9][0-9]*)$/.test(x.text)) {
      odd.push(
        `${what.endsWith("dim") ? "a dim" : "an offset"} written as ${x.text}`,
      );
    }
    return x.value;
  };
  let metadata: [string, string][] = [];
  const tensors: StTensor[] = [];
  for (const [name, e] of lastWins(root)) {
    if (name === "__metadata__") {
      if (e === null) continue;
      if (!(e instanceof JsonObject)) {
        return invalid("__metadata__ is not an object");
      }
      if (e.pairs.some(([, x]) => typeof x !== "string")) {
        return invalid("__metadata__ holds a non-string");
      }
      metadata = lastWins(e) as [string, string][];
      continue;
    }
    if (!(e instanceof JsonObject)) return invalid(`${name} is not an object`);
    for (const f of ["dtype", "shape", "data_offsets"]) {
      if (e.pairs.filter(([k]) => k === f).length > 1) {
        return invalid(`${name} has two ${f} fields`);
      }
    }
    const field = (k: string) => e.pairs.find(([f]) => f === k)?.[1];
    const dt = field("dtype");
    const st = typeof dt === "string" ? ST[dt] : undefined;
    if (!st) return invalid(`${name} has dtype ${JSON.stringify(dt)}`);
    const sh = field("shape"), offs = field("data_offsets");
    if (!Array.isArray(sh)) return invalid(`${name} shape is not an array`);
    if (!Array.isArray(offs) || offs.length !== 2) {
      return invalid(`${name} data_offsets is not a pair`);
    }
    const shape: number[] = [];
    let count = BigInt(st.size);
    for (const d of sh) {
      const x = size(d, `${name} dim`);
      if (typeof x === "string") return invalid(x);
      shape.push(x);
      count *= BigInt(x);
    }
    const [begin, end] = offs.map((o) => size(o, `${name} offset`));
    if (typeof begin === "string") return invalid(begin);
    if (typeof end === "string") return invalid(end);
    if (begin > end || BigInt(end - begin) !== count) {
      return invalid(`${name} offsets do not span its size`);
    }
    if (end > dataLength) return invalid(`${name} ends past the data`);
    tensors.push({
      name,
      dtype: st.dtype,
      stored: dt as string,
      shape,
      begin,
      end,
    });
  }
  const sorted = [...tensors].sort((a, c) =>
    a.begin - c.begin || a.end - c.end
  );
  let pos = 0;
  for (const t of sorted) {
    if (t.begin !== pos) {
      return invalid(`${t.name} starts at ${t.begin}, expected ${pos}`);
    }
    pos = t.end;
  }
  if (pos !== dataLength) {
    return invalid(`tensors cover ${pos} of ${dataLength} data bytes`);
  }
  const value = { tensors, metadata, dataStart };
  return odd.length > 0 ? unchecked(odd.join("; ")) : valid(value);
}
