/**
 * Valid seed files for the fuzz harness, written here from the format
 * specifications (not with the library's writers): IDX of every element
 * type, CIFAR-10 records, PNGs of every colour type and bit depth
 * (interlaced or not, every scanline filter, split IDAT, palette and tRNS),
 * and safetensors files. Made from a fixed generator, so the corpus is the
 * same on every run.
 *
 * @module
 */
import { deflateSync, gzipSync } from "node:zlib";
import { Rng } from "./_mutate.ts";
import {
  ADAM7,
  concat,
  filterRow,
  ihdr,
  packRow,
  png,
  pngChunk,
} from "../_png.ts";

/** The bytes of one element of each IDX element type. */
export const IDX_SIZE: Record<number, number> = {
  0x08: 1,
  0x09: 1,
  0x0b: 2,
  0x0c: 4,
  0x0d: 4,
  0x0e: 8,
};

/** IDX bytes of `type` and `dims` with random elements. */
export function makeIdx(rng: Rng, type: number, dims: number[]): Uint8Array {
  const count = dims.reduce((a, d) => a * d, 1);
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  return concat(head, rng.bytes(count * IDX_SIZE[type]));
}

/** IDX seeds: every element type, 0 to 4 dims, a few sizes. */
export function idxSeeds(): Uint8Array[] {
  const rng = new Rng(1);
  const out: Uint8Array[] = [];
  for (const type of [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e]) {
    for (
      const dims of [[], [0], [5], [2, 3], [3, 4, 4], [1, 2, 1, 3], [2, 0, 3]]
    ) {
      out.push(makeIdx(rng, type, dims));
    }
  }
  return out;
}

/** IDX seeds gzip-compressed (with and without a file name field). */
export function idxGzSeeds(): Uint8Array[] {
  return idxSeeds().map((b, i) =>
    new Uint8Array(gzipSync(b, { level: i % 10 }))
  );
}

/** CIFAR-10 seeds: one to three records with labels 0..9. */
export function cifarSeeds(): Uint8Array[] {
  const rng = new Rng(2);
  return [1, 2, 3].map((n) => {
    const b = rng.bytes(n * 3073);
    for (let i = 0; i < n; i++) b[i * 3073] = rng.int(10);
    return b;
  });
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** The filtered scanlines (filter byte + row) of one image or pass, each row with a random filter. */
function filterRows(rng: Rng, rows: Uint8Array[], bpp: number): Uint8Array {
  const out: Uint8Array[] = [];
  let prev: Uint8Array = new Uint8Array(rows[0]?.length ?? 0);
  for (const row of rows) {
    out.push(filterRow(rng.int(5), row, prev, bpp));
    prev = row;
  }
  return concat(...out);
}

/** What {@linkcode makePng} builds. */
export interface PngSpec {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: boolean;
  /** Palette entries (type 3) or a suggested palette. */
  palette?: number;
  /** tRNS chunk contents. */
  trns?: Uint8Array;
  /** Number of IDAT chunks to split the zlib stream into. */
  idats?: number;
}

/** The unfiltered, filter-byte-free raw image data of a PNG spec, per pass, as row lists. */
function packPasses(
  rng: Rng,
  s: PngSpec,
): { rows: Uint8Array[]; bpp: number }[] {
  const ch = CHANNELS[s.colorType];
  const max = s.colorType === 3
    ? Math.min(s.palette ?? 1, 2 ** s.depth) - 1
    : 2 ** s.depth - 1;
  const passes = s.interlace ? ADAM7 : [[0, 0, 1, 1]];
  const out = [];
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil(Math.max(0, s.width - x0) / dx),
      ph = Math.ceil(Math.max(0, s.height - y0) / dy);
    if (pw === 0 || ph === 0) continue;
    const rows: Uint8Array[] = [];
    for (let j = 0; j < ph; j++) {
      const samples = Array.from({ length: pw * ch }, () => rng.int(max + 1));
      rows.push(packRow(samples, s.depth));
    }
    out.push({ rows, bpp: Math.max(1, (ch * s.depth) >> 3) });
  }
  return out;
}

/** A valid PNG of the given spec with random pixels and random scanline filters. */
export function makePng(rng: Rng, s: PngSpec): Uint8Array {
  const raw = concat(
    ...packPasses(rng, s).map((p) => filterRows(rng, p.rows, p.bpp)),
  );
  const z = new Uint8Array(deflateSync(raw, { level: rng.int(10) }));
  const parts = s.idats ?? 1;
  const idats: Uint8Array[] = [];
  for (let k = 0; k < parts; k++) {
    idats.push(
      pngChunk(
        "IDAT",
        z.subarray(
          Math.floor((k * z.length) / parts),
          Math.floor(((k + 1) * z.length) / parts),
        ),
      ),
    );
  }
  return png(
    ihdr(s.width, s.height, s.depth, s.colorType, s.interlace ? 1 : 0),
    pngChunk("tEXt", new TextEncoder().encode("Comment\0fuzz seed")),
    ...(s.palette ? [pngChunk("PLTE", rng.bytes(3 * s.palette))] : []),
    ...(s.trns ? [pngChunk("tRNS", s.trns)] : []),
    ...idats,
    pngChunk("IEND", new Uint8Array(0)),
  );
}

/** The PNG colour types and their bit depths. */
export const PNG_TYPES: [number, number[]][] = [
  [0, [1, 2, 4, 8, 16]],
  [2, [8, 16]],
  [3, [1, 2, 4, 8]],
  [4, [8, 16]],
  [6, [8, 16]],
];

/**
 * A random valid PNG spec of the given type: up to `size` pixels a side,
 * a palette (type 3, sometimes with tRNS), a colour key (types 0 and 2,
 * half the time), a suggested palette (type 2, sometimes).
 */
export function randomPngSpec(
  rng: Rng,
  colorType: number,
  depth: number,
  interlace: boolean,
  size: number,
): PngSpec {
  const spec: PngSpec = {
    width: rng.range(1, size),
    height: rng.range(1, size),
    depth,
    colorType,
    interlace,
    idats: rng.range(1, 3),
  };
  if (colorType === 3) {
    spec.palette = rng.range(1, Math.min(256, 2 ** depth));
    if (rng.chance(0.5)) spec.trns = rng.bytes(rng.range(0, spec.palette));
  } else if ((colorType === 0 || colorType === 2) && rng.chance(0.5)) {
    // A colour key equal to 0 (likely present in small random images) or random.
    const key = new Uint8Array(colorType === 0 ? 2 : 6);
    if (rng.chance(0.5)) key.set(rng.bytes(key.length));
    if (depth < 16) { for (let i = 0; i < key.length; i += 2) key[i] = 0; }
    if (depth < 8) {
      for (let i = 1; i < key.length; i += 2) key[i] &= 2 ** depth - 1;
    }
    spec.trns = key;
  }
  if (colorType === 2 && rng.chance(0.3)) spec.palette = rng.range(1, 16); // suggested palette
  return spec;
}

/** PNG seeds: every colour type and bit depth, interlaced or not, palettes with and without tRNS, colour keys. */
export function pngSeeds(): Uint8Array[] {
  const rng = new Rng(3);
  const out: Uint8Array[] = [];
  for (const [colorType, depths] of PNG_TYPES) {
    for (const depth of depths) {
      for (const interlace of [false, true]) {
        const spec = randomPngSpec(rng, colorType, depth, interlace, 11);
        out.push(makePng(rng, spec));
      }
    }
  }
  return out;
}

/** One tensor of a safetensors seed. */
export interface StSeedTensor {
  name: string;
  dtype:
    | "F32"
    | "F64"
    | "I32"
    | "F16"
    | "BF16"
    | "I64"
    | "U64"
    | "U32"
    | "I16"
    | "U16"
    | "I8"
    | "U8"
    | "BOOL";
  shape: number[];
}

/** Safetensors bytes: header JSON (space-padded to 8 bytes), then each tensor's random bytes in order. */
export function makeSafetensors(
  rng: Rng,
  tensors: StSeedTensor[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    const size: Record<string, number> = {
      F64: 8,
      I64: 8,
      U64: 8,
      F16: 2,
      BF16: 2,
      I16: 2,
      U16: 2,
      I8: 1,
      U8: 1,
      BOOL: 1,
    };
    const n = t.shape.reduce((a, d) => a * d, 1) * (size[t.dtype] ?? 4);
    header[t.name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [off, off + n],
    };
    off += n;
  }
  const data = rng.bytes(off);
  // the wide integers within int32's range, as a valid file's are (values
  // below 2^24: the high bytes of each little-endian word cleared)
  for (const t of tensors) {
    const w = { I64: 8, U64: 8, U32: 4 }[t.dtype as string];
    if (w === undefined) continue;
    const entry = header[t.name] as { data_offsets: [number, number] };
    const [begin, end] = entry.data_offsets;
    for (let i = begin; i < end; i += w) data.fill(0, i + 3, i + w);
  }
  return packSafetensors(JSON.stringify(header), data);
}

/** Length field + header text (space-padded to a multiple of 8) + data. */
export function packSafetensors(json: string, data: Uint8Array): Uint8Array {
  let head: Uint8Array = new TextEncoder().encode(json);
  head = concat(head, new Uint8Array((8 - (head.length % 8)) % 8).fill(0x20));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(head.length), true);
  return concat(len, head, data);
}

/** Safetensors seeds: a LeNet-like tree, scalars, empty tensors, the library's three dtypes and PyTorch's others, with and without metadata. */
export function safetensorsSeeds(): Uint8Array[] {
  const rng = new Rng(4);
  return [
    makeSafetensors(rng, [
      { name: "0.weight", dtype: "F32", shape: [2, 1, 3, 3] },
      { name: "0.bias", dtype: "F32", shape: [2] },
      { name: "3.weight", dtype: "F32", shape: [4, 2] },
      { name: "3.bias", dtype: "F32", shape: [4] },
    ], { format: "pt" }),
    makeSafetensors(rng, [{ name: "w", dtype: "F64", shape: [3] }, {
      name: "step",
      dtype: "I32",
      shape: [],
    }]),
    makeSafetensors(rng, [
      { name: "conv1.weight", dtype: "F32", shape: [1, 2] },
      { name: "empty", dtype: "F32", shape: [0, 3] },
      { name: "opt.m.0", dtype: "F64", shape: [2, 2] },
      { name: "opt.m.1", dtype: "I32", shape: [1] },
    ], { tree: '{"kind":"object"}', epoch: "3" }),
    makeSafetensors(rng, [{ name: "x", dtype: "I32", shape: [2, 2] }], {}),
    makeSafetensors(rng, []),
    // PyTorch's other dtypes, which load widened
    makeSafetensors(rng, [
      { name: "bn.weight", dtype: "F16", shape: [3] },
      { name: "bn.bias", dtype: "BF16", shape: [3] },
      { name: "bn.num_batches_tracked", dtype: "I64", shape: [] },
      { name: "m.a", dtype: "I16", shape: [2] },
      { name: "m.b", dtype: "U16", shape: [1] },
      { name: "m.c", dtype: "I8", shape: [3] },
      { name: "m.d", dtype: "U8", shape: [2, 2] },
      { name: "m.e", dtype: "BOOL", shape: [2] },
      { name: "m.f", dtype: "U32", shape: [1] },
      { name: "m.g", dtype: "U64", shape: [1] },
    ], { format: "pt" }),
  ];
}

/** The four Fashion-MNIST file names, without `.gz`. */
export const FASHION_NAMES = [
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
] as const;

/** A small valid Fashion-MNIST: `n` train and `m` test images as plain IDX bytes, by file name. */
export function fashionIdx(
  rng: Rng,
  n: number,
  m: number,
): Record<string, Uint8Array> {
  const labels = (k: number) => {
    const b = makeIdx(rng, 8, [k]);
    for (let i = 8; i < b.length; i++) b[i] %= 10;
    return b;
  };
  return {
    [FASHION_NAMES[0]]: makeIdx(rng, 8, [n, 28, 28]),
    [FASHION_NAMES[1]]: labels(n),
    [FASHION_NAMES[2]]: makeIdx(rng, 8, [m, 28, 28]),
    [FASHION_NAMES[3]]: labels(m),
  };
}
