/**
 * The IDX format of MNIST and Fashion-MNIST: bytes `0x00 0x00 TYPE NDIM`,
 * then NDIM big-endian uint32 sizes, then the elements in big-endian
 * row-major order.
 *
 * Element types and the dtype they load as:
 *
 * | code | IDX type            | dtype   |
 * | ---- | ------------------- | ------- |
 * | 0x08 | unsigned byte       | int32   |
 * | 0x09 | signed byte         | int32   |
 * | 0x0B | short (2 bytes)     | int32   |
 * | 0x0C | int (4 bytes)       | int32   |
 * | 0x0D | float (4 bytes)     | float32 |
 * | 0x0E | double (8 bytes)    | float64 |
 *
 * Values are kept as stored (a ubyte image is 0..255 in int32); scale them
 * yourself, or use {@linkcode loadFashionMnist} which gives float32 in [0, 1].
 *
 * @module
 */
import { fromData, type Tensor } from "../ops/tensor.ts";
import { nodeBuiltin } from "../ops/kernels/_node.ts";
import { checkBytes, checkPath, readBytes, rethrowAs } from "./_io.ts";

/** node:zlib (gunzip), loaded on first use. */
const zlib = () => nodeBuiltin<typeof import("node:zlib")>("node:zlib");

/** node:stream (to feed the gunzip), loaded on first use. */
const nodeStream = () =>
  nodeBuiltin<typeof import("node:stream")>("node:stream");

interface IdxType {
  name: string;
  size: number;
}

const IDX_TYPES: Record<number, IdxType> = {
  0x08: { name: "ubyte", size: 1 },
  0x09: { name: "sbyte", size: 1 },
  0x0b: { name: "short", size: 2 },
  0x0c: { name: "int", size: 4 },
  0x0d: { name: "float", size: 4 },
  0x0e: { name: "double", size: 8 },
};

function hex(bytes: Uint8Array, n: number): string {
  return [...bytes.subarray(0, n)].map((b) => b.toString(16).padStart(2, "0"))
    .join(" ");
}

/** The most dimensions of a tensor (the library's limit, as PyTorch's). */
const MAX_IDX_RANK = 64;

/** The largest size of one dimension of a tensor. */
const MAX_IDX_DIM = 2 ** 31 - 1;

/** A parsed IDX header. @internal */
export interface IdxHeader {
  /** The type code (0x08 ... 0x0E). */
  type: number;
  /** Size of one element in bytes. */
  itemSize: number;
  /** The declared sizes. */
  dims: number[];
  /** Bytes taken by the magic number and the sizes. */
  headerBytes: number;
  /** Total file size the header declares (header + elements). */
  totalBytes: number;
}

/**
 * Reads an IDX header from the first bytes of a file; null when `bytes`
 * is too short to hold the whole header yet. Throws on a bad magic number or
 * an unknown type. Never allocates more than the header. @internal
 */
export function idxHeader(fn: string, bytes: Uint8Array): IdxHeader | null {
  if (bytes.length < 4) return null;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(
      `${fn}: not an IDX file: expected the magic number to start with 00 00, got ${
        hex(bytes, 4)
      }`,
    );
  }
  const type = bytes[2];
  const t = IDX_TYPES[type];
  if (!t) {
    throw new Error(
      `${fn}: unknown IDX element type 0x${
        type.toString(16).padStart(2, "0")
      } (expected 0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float or 0x0E double)`,
    );
  }
  const ndim = bytes[3];
  if (ndim > MAX_IDX_RANK) {
    throw new Error(
      `${fn}: IDX header declares ${ndim} dimensions, more than a tensor's ${MAX_IDX_RANK} (corrupt header)`,
    );
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d; // exact up to 2^53; past that the size check below fails anyway
  }
  // A zero dim empties the file whatever the others are: without this, dims
  // whose product overflows to Infinity followed by a 0 would give NaN.
  if (dims.includes(0)) {
    count = 0;
    // an empty tensor's sizes are bounded too, as every shape of the
    // library (a [0, 4294967295] tensor breaks the ops that take it)
    const big = dims.findIndex((d) => d > MAX_IDX_DIM);
    if (big >= 0) {
      throw new Error(
        `${fn}: IDX header declares shape [${dims}]: size ${
          dims[big]
        } of dimension ${big} is more than 2^31 - 1 (corrupt header)`,
      );
    }
  }
  return {
    type,
    itemSize: t.size,
    dims,
    headerBytes,
    totalBytes: headerBytes + count * t.size,
  };
}

/** Parses and size-checks an IDX file, returning its header and element bytes. @internal */
export function parseIdxRaw(
  fn: string,
  bytes: Uint8Array,
): { header: IdxHeader; body: Uint8Array } {
  checkBytes(fn, bytes);
  const header = idxHeader(fn, bytes);
  if (header === null) {
    const need = bytes.length < 4 ? 4 : 4 + 4 * bytes[3];
    throw new Error(
      `${fn}: truncated IDX file: expected a header of at least ${need} bytes, got ${bytes.length} bytes`,
    );
  }
  if (header.totalBytes !== bytes.length) {
    throw new Error(
      `${fn}: IDX header declares shape [${header.dims}] of ${
        IDX_TYPES[header.type].name
      } (${header.totalBytes} bytes in all), but the data is ${bytes.length} bytes${
        header.totalBytes > bytes.length ? " (truncated or corrupt header)" : ""
      }`,
    );
  }
  return { header, body: bytes.subarray(header.headerBytes) };
}

/**
 * Parses an IDX file (the MNIST format) held in memory. Integer types load as
 * int32 and keep their values (ubyte pixels stay 0..255); float loads as
 * float32, double as float64. The declared sizes are checked against the
 * byte length before anything is allocated.
 *
 * @example
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * import assert from "node:assert/strict";
 * // magic 00 00, type 0x08 (ubyte), 2 dims: 2 x 3
 * const bytes = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 255]);
 * const t = parseIdx(bytes);
 * assert.deepEqual(t.shape, [2, 3]);
 * assert.equal(t.dtype, "int32");
 * assert.deepEqual([...t.data], [1, 2, 3, 4, 5, 255]);
 * assert.throws(() => parseIdx(bytes.subarray(0, 15)), /parseIdx: IDX header declares/);
 * ```
 */
export function parseIdx(bytes: Uint8Array): Tensor {
  const { header, body } = parseIdxRaw("parseIdx", bytes);
  const n = body.length / header.itemSize;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (header.type) {
    case 0x08: {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = body[i];
      return fromData(out, header.dims);
    }
    case 0x09: {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return fromData(out, header.dims);
    }
    case 0x0b: {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, false);
      return fromData(out, header.dims);
    }
    case 0x0c: {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, false);
      return fromData(out, header.dims);
    }
    case 0x0d: {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, false);
      return fromData(out, header.dims);
    }
    default: {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, false);
      return fromData(out, header.dims);
    }
  }
}

/**
 * The largest expansion ratio of DEFLATE (about 1032:1). A gzip stream of
 * `n` bytes cannot decompress to more than `n * 1032` bytes (plus a little),
 * so a header declaring more is corrupt. @internal
 */
export const MAX_DEFLATE_RATIO = 1032;

/**
 * Decompresses a gzipped IDX file, allocating no more than the size its
 * header declares (itself capped by the DEFLATE ratio of the compressed
 * size), so a gzip bomb or a corrupt header cannot exhaust memory. @internal
 */
export async function gunzipIdx(
  fn: string,
  path: string,
  gz: Uint8Array,
): Promise<Uint8Array> {
  // node:zlib's gunzip reads every member of a multi-member file, as
  // Python's gzip (torchvision's reader) does; the Web DecompressionStream
  // refused them. The compressed bytes go in in 16 KB slices, on demand:
  // each slice inflates to at most ~17 MB, and nothing more is inflated once
  // the output passes the declared size.
  const STEP = 16384;
  const pending: Uint8Array[] = [];
  let pendingLength = 0;
  let out: Uint8Array | null = null;
  let filled = 0;
  const fail = (msg: string): never => {
    throw new Error(`${fn}: "${path}": ${msg}`);
  };
  /** Inflates the members from `from` on into `out`; the bytes read. */
  const inflate = async (from: number): Promise<number> => {
    const gunzip = zlib().createGunzip();
    nodeStream().Readable.from(function* () {
      for (let o = from; o < gz.length; o += STEP) {
        yield gz.subarray(o, o + STEP);
      }
    }()).pipe(gunzip);
    try {
      for await (const c of gunzip as AsyncIterable<Uint8Array>) take(c);
    } finally {
      gunzip.destroy();
    }
    return gunzip.bytesWritten;
  };
  /** Takes a decompressed chunk: the header's bytes, then the data. */
  const take = (c: Uint8Array): void => {
    if (out === null) {
      pending.push(c);
      pendingLength += c.length;
      const head = new Uint8Array(pendingLength);
      let o = 0;
      for (const p of pending) {
        head.set(p, o);
        o += p.length;
      }
      let header: IdxHeader | null;
      try {
        header = idxHeader(fn, head);
      } catch (err) {
        // the error names the file too (at its end: its start is pinned
        // as "fn: not an IDX file")
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`${msg} (in "${path}")`, { cause: err });
      }
      if (header === null) return; // header not complete yet (at most 1024 bytes)
      const cap = gz.length * MAX_DEFLATE_RATIO + 1024;
      if (header.totalBytes > cap) {
        fail(
          `IDX header declares shape [${header.dims}] (${header.totalBytes} bytes decompressed), but ${gz.length} gzip bytes can hold at most ${cap}: corrupt header`,
        );
      }
      if (pendingLength > header.totalBytes) {
        fail(
          `decompressed data is longer than the ${header.totalBytes} bytes its IDX header declares`,
        );
      }
      out = new Uint8Array(header.totalBytes);
      out.set(head);
      filled = head.length;
      pending.length = 0;
      return;
    }
    if (filled + c.length > out.length) {
      fail(
        `decompressed data is longer than the ${out.length} bytes its IDX header declares`,
      );
    }
    out.set(c, filled);
    filled += c.length;
  };
  try {
    // gunzip stops silently at a 00 byte after a member: as Python's gzip,
    // zero padding after a member is skipped, and another member may follow
    let at = await inflate(0);
    while (at < gz.length) {
      while (at < gz.length && gz[at] === 0) at++;
      if (at === gz.length) break;
      if (gz[at] !== 0x1f || gz[at + 1] !== 0x8b) {
        fail(
          `${gz.length - at} bytes after the gzip data are not a gzip member`,
        );
      }
      const used = await inflate(at);
      if (used === 0) fail(`no gzip member could be read at byte ${at}`);
      at += used;
    }
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(`${fn}: `)) throw err;
    throw new Error(
      `${fn}: "${path}" is not valid gzip data: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { cause: err },
    );
  }
  // (set by take, which TypeScript's narrowing does not follow)
  const data = out as Uint8Array | null;
  if (data === null) {
    throw new Error(
      `${fn}: "${path}": truncated IDX file: the gzip stream holds only ${pendingLength} bytes, less than a header`,
    );
  }
  if (filled < data.length) {
    throw new Error(
      `${fn}: "${path}": truncated IDX file: its header declares ${data.length} bytes, the gzip stream holds ${filled}`,
    );
  }
  return data;
}

/** Reads an IDX file's bytes, decompressing gzip. @internal */
export async function readIdxBytes(
  fn: string,
  path: string,
): Promise<Uint8Array> {
  checkPath(fn, path);
  const bytes = await readBytes(fn, path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    return await gunzipIdx(fn, path, bytes);
  }
  if (path.endsWith(".gz") && !(bytes[0] === 0 && bytes[1] === 0)) {
    throw new Error(
      `${fn}: "${path}" ends in .gz but does not start with the gzip magic 1f 8b (got ${
        hex(bytes, 4) || "an empty file"
      })`,
    );
  }
  return bytes;
}

/**
 * Reads an IDX file (plain, or gzip-compressed: a name ending in `.gz` or
 * bytes starting with `1f 8b`; one gzip member or several, zero padding
 * after a member skipped, as Python's `gzip` reads them) into a tensor, as {@linkcode parseIdx}. Needs
 * `--allow-read`. Decompression never allocates more than the header
 * declares, and a header declaring more than the compressed size could hold
 * is refused.
 *
 * @example
 * ```ts ignore
 * import { readIdx } from "./idx.ts";
 * const labels = await readIdx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
 * console.log(labels.shape); // [10000]
 * ```
 */
export async function readIdx(path: string): Promise<Tensor> {
  const bytes = await readIdxBytes("readIdx", path);
  return rethrowAs("readIdx", "parseIdx", () => parseIdx(bytes), path);
}
