/**
 * The fuzzed formats: for each, how to make input number i (a valid seed
 * with format-aware and format-blind mutations) and how to run the reader
 * on it and judge the outcome against the oracle.
 *
 * @module
 */
import { deflateSync, gzipSync, inflateSync } from "node:zlib";
import { parseIdx, readIdx } from "../../data/idx.ts";
import { parseCifar10 } from "../../data/cifar.ts";
import { decodePng } from "../../data/png.ts";
import {
  deserializeSafetensors,
  parseSafetensorsHeader,
} from "../../data/safetensors.ts";
import { loadFashionMnist } from "../../data/mnist.ts";
import { mixSeed, mutateBytes, Rng, setWord, WORDS } from "./_mutate.ts";
import {
  cifarOracle,
  crc32,
  diffTensor,
  type Expected,
  fashionOracle,
  gunzipOracle,
  idxOracle,
  pngOracle,
  safetensorsOracle,
  type StTensor,
  stValues,
  type Verdict,
} from "./_oracles.ts";
import {
  cifarSeeds,
  FASHION_NAMES,
  fashionIdx,
  IDX_SIZE,
  idxGzSeeds,
  idxSeeds,
  makeIdx,
  makePng,
  packSafetensors,
  PNG_TYPES,
  pngSeeds,
  randomPngSpec,
  safetensorsSeeds,
} from "./_seeds.ts";
import { concat, PNG_SIGNATURE, pngChunk } from "../_png.ts";

/** The outcome classes. The last three are failures. */
export const CLASSES = [
  "accepted-ok",
  "accepted-unchecked",
  "rejected-clean",
  "accepted-wrong",
  "raw-exception",
  "hang",
  "crash",
] as const;
/** One outcome class. */
export type Class = typeof CLASSES[number];
/** The classes that fail a run. */
export const FAILURES: readonly Class[] = [
  "accepted-wrong",
  "raw-exception",
  "hang",
  "crash",
];

/** What happened to one input. */
export interface Outcome {
  cls: Class;
  /** Why (for failures and unchecked inputs). */
  detail?: string;
  /** For a rejected input: the oracle thought it valid. */
  validRejected?: boolean;
  /** Milliseconds spent in the reader (not in making the input or in the oracle). */
  ms?: number;
}

/** One input: file name -> bytes (null: the file is absent). */
export type Case = Record<string, Uint8Array | null>;

/** A fuzzed format. */
export interface Format {
  /** Its name on the command line. */
  name: string;
  /** The reader functions it calls. */
  readers: string[];
  /** Input number `index` for `seed`. */
  make(rng: Rng): Case;
  /** Runs the reader(s) on `input` (files go in `dir`, a scratch directory) and judges the result. */
  run(input: Case, dir: string): Promise<Outcome>;
}

/** Longest error message accepted as readable. */
const MAX_MESSAGE = 10_000;

/** Classifies a thrown value: an Error (exactly) whose message starts with `fn:` is a clean rejection. */
export function classifyError(err: unknown, fn: string): Outcome {
  if (
    err instanceof Error && Object.getPrototypeOf(err) === Error.prototype &&
    err.message.startsWith(`${fn}:`)
  ) {
    if (err.message.length > MAX_MESSAGE) {
      return {
        cls: "raw-exception",
        detail: `${fn} threw a ${err.message.length}-character message: ${
          err.message.slice(0, 200)
        }...`,
      };
    }
    return { cls: "rejected-clean" };
  }
  const name = err instanceof Error ? err.constructor.name : typeof err;
  const msg = err instanceof Error ? err.message : String(err);
  return {
    cls: "raw-exception",
    detail: `${fn} threw ${name}: ${msg.slice(0, 300)}`,
  };
}

/** An accepted result judged against the oracle's verdict; `compare` returns the first difference. */
function judge<T>(
  v: Verdict<T>,
  compare: (value: T) => string | null,
): Outcome {
  if (v.kind === "invalid") {
    return {
      cls: "accepted-wrong",
      detail: `accepted, but the oracle rejects it: ${v.why}`,
    };
  }
  if (v.kind === "unchecked") {
    return { cls: "accepted-unchecked", detail: v.why };
  }
  const d = compare(v.value);
  return d === null
    ? { cls: "accepted-ok" }
    : { cls: "accepted-wrong", detail: d };
}

/** Runs `f`; judges a result, or classifies the error (noting when the oracle thought the input valid). */
async function outcome<R, T>(
  fn: string,
  f: () => R | Promise<R>,
  oracle: () => Verdict<T>,
  compare: (result: R, value: T) => string | null,
): Promise<Outcome> {
  let result: R;
  const t0 = performance.now();
  try {
    result = await f();
  } catch (err) {
    const ms = performance.now() - t0;
    const o = classifyError(err, fn);
    if (o.cls === "rejected-clean" && oracle().kind === "valid") {
      o.validRejected = true;
    }
    return { ...o, ms };
  }
  const ms = performance.now() - t0;
  return { ...judge(oracle(), (value) => compare(result, value)), ms };
}

const ARRAYS: Record<string, unknown> = {
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** `diffTensor`, after checking the tensor's data is the typed array of its dtype and length. */
function diff(
  t: { dtype: string; shape: readonly number[]; data: ArrayLike<number> },
  e: Expected,
  tol = 0,
  what = "",
): string | null {
  const at = what ? `${what}: ` : "";
  if (Object.getPrototypeOf(t.data)?.constructor !== ARRAYS[t.dtype]) {
    return `${at}data is not the typed array of ${t.dtype}`;
  }
  const size = t.shape.reduce((a, d) => a * BigInt(d), 1n); // exact: dims may overflow a float
  if (BigInt(t.data.length) !== size) {
    return `${at}data length does not match shape [${t.shape}]`;
  }
  const d = diffTensor(t, e, tol);
  return d === null ? null : at + d;
}

// ------------------------------------------------------------- IDX

const IDX_TYPES = [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e];

/** IDX-aware mutations: dims, ndim, type, body length, or a consistent reshape (a valid file). */
function mutateIdx(rng: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  const ndim = b[3];
  switch (rng.int(6)) {
    case 0: { // a dim to a boundary value, or off by one
      if (ndim === 0) return mutateBytes(rng, b);
      const at = 4 + 4 * rng.int(ndim);
      const d = new DataView(out.buffer).getUint32(at);
      setWord(
        out,
        at,
        rng.chance(0.5)
          ? rng.pick(WORDS)
          : (d + rng.pick([1, -1, 2 ** 16, 2 ** 31])) >>> 0,
        false,
      );
      return out;
    }
    case 1: // ndim
      out[3] = rng.chance(0.5)
        ? (ndim + rng.pick([1, -1, 2])) & 0xff
        : rng.int(256);
      return out;
    case 2: // type (a valid one of another size, or any byte)
      out[2] = rng.chance(0.7) ? rng.pick(IDX_TYPES) : rng.int(256);
      return out;
    case 3: { // body one element longer or shorter
      const size = IDX_SIZE[b[2]] ?? 1;
      return rng.chance(0.5)
        ? out.slice(0, Math.max(0, out.length - size))
        : concat(out, rng.bytes(size));
    }
    case 4: { // a consistent new shape and type: a valid file
      const dims = Array.from({ length: rng.int(5) }, () => rng.int(5));
      return makeIdx(rng, rng.pick(IDX_TYPES), dims);
    }
    default: { // huge or many dims (up to 255, a product past 2^1024), maybe with a zero
      const many = rng.chance(0.5);
      const dims = Array.from(
        { length: many ? rng.range(30, 255) : rng.range(1, 4) },
        () => rng.pick([2 ** 31, 2 ** 32 - 1, 65536, 28, 60000, 1]),
      );
      if (rng.chance(0.5)) dims[rng.int(dims.length)] = 0;
      const type = rng.pick(IDX_TYPES);
      const count = dims.reduce((a, d) => a * BigInt(d), 1n);
      const h = makeIdx(rng, type, []);
      h[3] = dims.length;
      const head = concat(h, new Uint8Array(4 * dims.length));
      dims.forEach((d, i) => setWord(head, 4 + 4 * i, d, false));
      const body = count * BigInt(IDX_SIZE[type]) <= 64n
        ? Number(count) * IDX_SIZE[type]
        : rng.int(64);
      return concat(head, rng.bytes(body));
    }
  }
}

function mutateIdxAny(rng: Rng, b: Uint8Array): Uint8Array {
  let out = rng.chance(0.5) ? mutateIdx(rng, b) : mutateBytes(rng, b);
  if (rng.chance(0.2)) out = mutateBytes(rng, out);
  return out;
}

let idxCorpus: Uint8Array[] | undefined;
let idxGzCorpus: Uint8Array[] | undefined;
const bombs = new Map<string, Uint8Array>();

const idxFormat: Format = {
  name: "idx",
  readers: ["parseIdx"],
  make(rng) {
    idxCorpus ??= idxSeeds();
    return { "input.idx": mutateIdxAny(rng, rng.pick(idxCorpus)) };
  },
  run(input) {
    const b = input["input.idx"]!;
    return outcome(
      "parseIdx",
      () => parseIdx(b),
      () => idxOracle(b),
      (t, e) => diff(t, e),
    );
  },
};

/** A gzip member with optional header fields (FTEXT, FEXTRA, FNAME, FCOMMENT, FHCRC), written by hand. */
function gzipWithFields(rng: Rng, data: Uint8Array): Uint8Array {
  const flags = rng.int(32);
  const head: number[] = [0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 255];
  if (flags & 4) {
    const n = rng.int(20);
    head.push(n & 0xff, n >> 8, ...rng.bytes(n));
  }
  if (flags & 8) head.push(...new TextEncoder().encode("name.idx"), 0);
  if (flags & 16) head.push(...new TextEncoder().encode("comment"), 0);
  if (flags & 2) {
    const c = crc32(new Uint8Array(head));
    head.push(c & 0xff, (c >> 8) & 0xff);
  }
  const gz = new Uint8Array(gzipSync(data));
  return concat(new Uint8Array(head), gz.subarray(10));
}

/** A gzipped-IDX input: IDX mutations then gzip, gzip-level mutations, bombs, odd headers, several members. */
function makeIdxGz(rng: Rng): Uint8Array {
  idxCorpus ??= idxSeeds();
  idxGzCorpus ??= idxGzSeeds();
  const seed = rng.pick(idxCorpus);
  switch (rng.int(8)) {
    case 0:
    case 1:
      return new Uint8Array(gzipSync(mutateIdxAny(rng, seed)));
    case 2:
    case 3:
      return mutateBytes(rng, rng.pick(idxGzCorpus));
    case 4: { // a bomb: a small header followed by far more zeros than it declares, or a valid big file
      const valid = rng.chance(0.3);
      // Valid files up to 4 MB (about 0.2 s to read), bombs up to 16 MB.
      const zeros = rng.pick([1, 4096, 1 << 20, valid ? 4 << 20 : 16 << 20]);
      const k = rng.int(4); // four seeds only, so that few bombs are compressed
      const key = `${valid ? -1 : k}-${zeros}`;
      if (!bombs.has(key)) {
        const head = valid
          ? new Uint8Array([0, 0, 8, 2, 0, 0, 0, 0, 0, 0, 0, 4])
          : idxCorpus[k * 7 + 3]; // [2, 3] of each of the first four types
        if (valid) setWord(head, 4, zeros >> 2, false); // ubyte [zeros / 4, 4]
        bombs.set(
          key,
          new Uint8Array(gzipSync(concat(head, new Uint8Array(zeros)))),
        );
      }
      return bombs.get(key)!;
    }
    case 5:
      return gzipWithFields(
        rng,
        rng.chance(0.8) ? seed : mutateIdxAny(rng, seed),
      );
    case 6: { // two members, or a member and trailing bytes
      const gz = new Uint8Array(gzipSync(seed));
      return rng.chance(0.5) ? concat(gz, gz) : concat(
        gz,
        rng.chance(0.5)
          ? new Uint8Array(rng.range(1, 8))
          : rng.bytes(rng.range(1, 8)),
      );
    }
    default: // plain IDX behind a .gz name
      return rng.chance(0.5) ? seed : mutateIdxAny(rng, seed);
  }
}

/** The most decompressed bytes the oracles look at (the valid inputs made here are far smaller). */
const ORACLE_MAX = 8 << 20;

/** What `readIdx` should make of a file: gzip when it starts 1f 8b, else plain (a .gz name must then start 00 00). */
function idxFileOracle(name: string, b: Uint8Array): Verdict<Expected> {
  let raw = b;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    const r = gunzipOracle(b, ORACLE_MAX);
    if (r.kind !== "valid") return r as Verdict<never>;
    raw = r.value;
  } else if (name.endsWith(".gz") && !(b[0] === 0 && b[1] === 0)) {
    return { kind: "invalid", why: "a .gz name without gzip or IDX magic" };
  }
  return idxOracle(raw);
}

const idxGzFormat: Format = {
  name: "idx-gz",
  readers: ["readIdx"],
  make(rng) {
    return { [rng.chance(0.85) ? "input.gz" : "input-idx"]: makeIdxGz(rng) };
  },
  run(input, dir) {
    const [name, b] = Object.entries(input)[0] as [string, Uint8Array];
    const path = `${dir}/${name}`;
    Deno.writeFileSync(path, b);
    return outcome(
      "readIdx",
      () => readIdx(path),
      () => idxFileOracle(name, b),
      (t, e) => diff(t, e),
    );
  },
};

// ------------------------------------------------------------- CIFAR-10

let cifarCorpus: Uint8Array[] | undefined;

const cifarFormat: Format = {
  name: "cifar",
  readers: ["parseCifar10"],
  make(rng) {
    cifarCorpus ??= cifarSeeds();
    const b = rng.pick(cifarCorpus);
    let out: Uint8Array;
    switch (rng.int(4)) {
      case 0: { // a label out of range (or back in range)
        out = b.slice();
        out[3073 * rng.int(b.length / 3073)] = rng.chance(0.8)
          ? rng.range(10, 255)
          : rng.int(10);
        break;
      }
      case 1: // one byte, or one record, more or less
        out = rng.chance(0.5)
          ? b.slice(0, b.length - rng.pick([1, 3072, 3073, 3074]))
          : concat(b, rng.bytes(rng.pick([1, 3072, 3073])));
        break;
      default:
        out = mutateBytes(rng, b);
    }
    return { "input.bin": out };
  },
  run(input) {
    const b = input["input.bin"]!;
    return outcome(
      "parseCifar10",
      () => parseCifar10(b),
      () => cifarOracle(b),
      (r, e) => diff(r.x, e.x, 0, "x") ?? diff(r.y, e.y, 0, "y"),
    );
  },
};

// ------------------------------------------------------------- PNG

interface Chunk {
  type: string;
  data: Uint8Array;
  /** A CRC to write instead of the right one. */
  crc?: number;
  /** A length to write instead of the right one. */
  length?: number;
}

/** The chunks of a (valid seed) PNG. */
function pngChunks(b: Uint8Array): Chunk[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Chunk[] = [];
  for (let off = 8; off + 12 <= b.length;) {
    const len = v.getUint32(off);
    out.push({
      type: String.fromCharCode(...b.subarray(off + 4, off + 8)),
      data: b.slice(off + 8, off + 8 + len),
    });
    off += 12 + len;
  }
  return out;
}

function writeChunks(chunks: Chunk[]): Uint8Array {
  return concat(
    PNG_SIGNATURE,
    ...chunks.map((c) => {
      const out = pngChunk(c.type, c.data);
      const v = new DataView(out.buffer);
      if (c.length !== undefined) v.setUint32(0, c.length >>> 0);
      if (c.crc !== undefined) v.setUint32(8 + c.data.length, c.crc >>> 0);
      return out;
    }),
  );
}

/** The IDAT chunks replaced by `z` split into `parts` chunks (some possibly empty). */
function withIdat(chunks: Chunk[], z: Uint8Array, parts: number): Chunk[] {
  const first = chunks.findIndex((c) => c.type === "IDAT");
  const rest = chunks.filter((c) => c.type !== "IDAT");
  const idats: Chunk[] = [];
  for (let k = 0; k < parts; k++) {
    idats.push({
      type: "IDAT",
      data: z.slice(
        Math.floor((k * z.length) / parts),
        Math.floor(((k + 1) * z.length) / parts),
      ),
    });
  }
  rest.splice(first < 0 ? rest.length - 1 : first, 0, ...idats);
  return rest;
}

function zlibOf(chunks: Chunk[]): Uint8Array {
  return concat(...chunks.filter((c) => c.type === "IDAT").map((c) => c.data));
}

/** PNG-aware mutations, CRCs kept right unless the mutation is about CRCs. */
function mutatePngChunks(rng: Rng, chunks: Chunk[]): Chunk[] {
  const cs = chunks.map((c) => ({ ...c }));
  if (cs.length === 0) return cs;
  const i = rng.int(cs.length);
  const h = cs.find((c) => c.type === "IHDR" && c.data.length === 13);
  switch (rng.int(12)) {
    case 0: { // an IHDR field
      if (!h) break;
      const ihdr = h.data = h.data.slice();
      const f = rng.int(7);
      if (f < 2) {
        const cur = new DataView(ihdr.buffer).getUint32(4 * f);
        setWord(
          ihdr,
          4 * f,
          rng.chance(0.5) ? rng.pick(WORDS) : cur + rng.pick([1, -1, 7, 8]),
          false,
        );
      } else {
        ihdr[6 + f] = rng.pick(
          [[0, 1, 2, 3, 4, 5, 8, 16, 32, 255], [
            0,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            255,
          ]][f - 2] ?? [0, 1, 2, 255],
        );
      }
      break;
    }
    case 1: // drop a chunk
      cs.splice(i, 1);
      break;
    case 2: // duplicate a chunk, next to itself or anywhere
      cs.splice(rng.chance(0.5) ? i : rng.int(cs.length + 1), 0, { ...cs[i] });
      break;
    case 3: { // move a chunk
      const [c] = cs.splice(i, 1);
      cs.splice(rng.int(cs.length + 1), 0, c);
      break;
    }
    case 4: { // insert a PLTE, tRNS, unknown, IEND-with-data or second IHDR chunk
      const type = rng.pick([
        "PLTE",
        "tRNS",
        "ABCD",
        "abCD",
        "IEND",
        "IHDR",
        "PLTE",
        "tRNS",
      ]);
      const n = rng.pick([0, 1, 2, 3, 6, 9, 12, 48, 255, 256, 768, 771, 1024]);
      cs.splice(rng.int(cs.length + 1), 0, {
        type,
        data: type === "IHDR" ? cs[0].data.slice() : rng.bytes(n),
      });
      break;
    }
    case 5: // re-split the image data into 1..6 IDAT chunks (some may be empty)
      return withIdat(cs, zlibOf(cs), rng.range(1, 6));
    case 6: { // mutate the decompressed image data (filter bytes, length), recompress: valid zlib, wrong content
      let raw: Uint8Array;
      try {
        raw = new Uint8Array(inflateSync(zlibOf(cs)));
      } catch {
        return cs;
      }
      return withIdat(
        cs,
        new Uint8Array(
          deflateSync(mutateBytes(rng, raw), { level: rng.int(10) }),
        ),
        rng.range(1, 3),
      );
    }
    case 7: { // corrupt the zlib stream itself (header, blocks, Adler-32), CRCs fixed up
      const z = zlibOf(cs).slice();
      let out: Uint8Array;
      const k = rng.int(4);
      if (k === 0 && z.length >= 4) { // the Adler-32
        out = z;
        out[z.length - 1 - rng.int(4)] ^= 1 << rng.int(8);
      } else if (k === 1 && z.length >= 2) { // the zlib header (method, window, FDICT, check bits)
        out = z;
        out[rng.int(2)] = rng.int(256);
      } else if (k === 2) out = concat(z, rng.bytes(rng.range(1, 8))); // data after the stream
      else out = mutateBytes(rng, z);
      return withIdat(cs, out, rng.range(1, 3));
    }
    case 8: { // a bomb: tiny image, megabytes of zeros; or huge dims over tiny data
      if (rng.chance(0.5)) {
        const z = new Uint8Array(
          deflateSync(new Uint8Array(rng.pick([1 << 16, 8 << 20]))),
        );
        return withIdat(cs, z, 1);
      }
      if (!h) break;
      const ihdr = h.data = h.data.slice();
      setWord(ihdr, 0, rng.pick([2 ** 31 - 1, 65535, 1 << 20]), false);
      setWord(ihdr, 4, rng.pick([2 ** 31 - 1, 65535, 1 << 20]), false);
      break;
    }
    case 9: // a wrong CRC
      cs[i].crc = crc32(cs[i].data) ^ (1 << rng.int(32));
      break;
    case 10: // a lying length field
      cs[i].length = rng.chance(0.5)
        ? rng.pick(WORDS)
        : cs[i].data.length + rng.pick([1, -1, 4, -4]);
      break;
    default: { // a chunk's contents mutated, CRC fixed up
      cs[i].data = mutateBytes(rng, cs[i].data);
    }
  }
  return cs;
}

let pngCorpus: Uint8Array[] | undefined;
const pngZeros = new Map<number, Uint8Array>();

/**
 * A valid PNG bomb: 1-bit gray or palette (RGBA through tRNS) pixels, all
 * zero, 2^27 of them: 16 MB of image data that deflate to 16 KB, and up to
 * 2 GB as a float32 tensor.
 */
function pngBomb(rng: Rng): Uint8Array {
  const [width, height] = rng.pick([[2 ** 27, 1], [2 ** 14, 2 ** 13], [
    1,
    2 ** 26,
  ]]);
  const raw = height * (Math.ceil(width / 8) + 1);
  if (!pngZeros.has(raw)) {
    pngZeros.set(
      raw,
      new Uint8Array(deflateSync(new Uint8Array(raw), { level: 9 })),
    );
  }
  const ihdr = new Uint8Array(13);
  setWord(ihdr, 0, width, false);
  setWord(ihdr, 4, height, false);
  ihdr[8] = 1;
  ihdr[9] = rng.pick([0, 3]);
  return writeChunks([
    { type: "IHDR", data: ihdr },
    ...(ihdr[9] === 3
      ? [{ type: "PLTE", data: rng.bytes(6) }, {
        type: "tRNS",
        data: rng.bytes(2),
      }]
      : []),
    { type: "IDAT", data: pngZeros.get(raw)! },
    { type: "IEND", data: new Uint8Array(0) },
  ]);
}

const pngFormat: Format = {
  name: "png",
  readers: ["decodePng"],
  make(rng) {
    pngCorpus ??= pngSeeds();
    if (rng.chance(0.0005)) return { "input.png": pngBomb(rng) };
    let seed = rng.pick(pngCorpus);
    if (rng.chance(0.25)) { // a fresh valid image of any type and size up to 64 x 64
      const [colorType, depths] = rng.pick(PNG_TYPES);
      const spec = randomPngSpec(
        rng,
        colorType,
        rng.pick(depths),
        rng.chance(0.5),
        rng.pick([3, 9, 64]),
      );
      seed = makePng(rng, spec);
      if (rng.chance(0.4)) return { "input.png": seed };
    }
    let out: Uint8Array;
    if (rng.chance(0.75)) {
      let cs = pngChunks(seed);
      const n = rng.chance(0.7) ? 1 : rng.range(2, 3);
      for (let k = 0; k < n; k++) cs = mutatePngChunks(rng, cs);
      out = writeChunks(cs);
      if (rng.chance(0.1)) out = mutateBytes(rng, out);
    } else out = mutateBytes(rng, seed);
    return { "input.png": out };
  },
  run(input) {
    const b = input["input.png"]!;
    return outcome(
      "decodePng",
      () => decodePng(b),
      () => pngOracle(b),
      (t, e) => diff(t, e, 1e-4),
    );
  },
};

// ------------------------------------------------------------- safetensors

/** JSON text to splice in as is (deep nesting, odd numbers, duplicate keys). */
class Raw {
  constructor(readonly text: string) {}
}

function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${
      Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(v) ?? "null";
}

const deep = (rng: Rng) => {
  const d = rng.pick([64, 1000, 10_000, 50_000]);
  const [open, close] = rng.pick([["[", "]"], ['{"a":', "}"]]);
  return new Raw(open.repeat(d) + "0" + close.repeat(d));
};
const ODD_NUMBERS = [
  -1,
  1.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  new Raw("9007199254740993"),
  new Raw("18446744073709551616"),
  new Raw("1e400"),
  new Raw("-0"),
  new Raw("4.0"),
  new Raw("4e0"),
  new Raw("1E1"),
  "4",
  null,
  true,
  [],
  {},
];
const NAMES = [
  "",
  ".",
  "a..b",
  ".a",
  "a.",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "0",
  "00",
  "1",
  "-1",
  "__metadata__",
  "é",
  "\u0000",
  "𝄞",
  "x".repeat(5000),
  "0.__proto__",
  "a.__proto__.b",
];

/** One safetensors file as editable parts: header pairs (duplicates allowed), data bytes. */
interface StParts {
  pairs: [string, unknown][];
  data: Uint8Array;
}

function stParts(b: Uint8Array): StParts {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)));
  return { pairs: Object.entries(header), data: b.slice(8 + n) };
}

const isEntry = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) &&
  !(v instanceof Raw);

/** Safetensors header mutations (one of them). */
function mutateStHeader(rng: Rng, p: StParts): void {
  const tensors = p.pairs.filter(([k, v]) =>
    k !== "__metadata__" && isEntry(v)
  );
  const pick = () => tensors.length ? rng.pick(tensors) : undefined;
  const t = pick();
  const e = t && isEntry(t[1])
    ? (t[1] = { ...t[1] }) as Record<string, unknown>
    : undefined;
  switch (rng.int(15)) {
    case 0: // dtype
      if (e) {
        e.dtype = rng.pick([
          "F16",
          "BF16",
          "I64",
          "U8",
          "BOOL",
          "F32",
          "F64",
          "I32",
          "f32",
          "",
          5,
          null,
          ["F32"],
        ]);
      }
      break;
    case 1: { // shape: a dim changed, added or removed, odd numbers, not an array, or a consistent reshape
      if (!e || !Array.isArray(e.shape)) break;
      const shape = [...e.shape as unknown[]];
      const k = rng.int(5);
      if (k === 0 && shape.length) {
        shape[rng.int(shape.length)] = rng.pick(ODD_NUMBERS);
      } else if (k === 1) {
        shape.splice(
          rng.int(shape.length + 1),
          0,
          rng.pick([0, 1, 2, 2 ** 20]),
        );
      } else if (k === 2) shape.splice(rng.int(shape.length), 1);
      else if (k === 3) {
        e.shape = rng.pick([5, "x", {}, null, deep(rng)]);
        break;
      } else { // same element count, another shape: still valid
        const n = shape.reduce((a: number, d) => a * (d as number), 1);
        e.shape = n > 1 && n % 2 === 0 ? [2, n / 2] : [n, 1];
        break;
      }
      e.shape = shape;
      break;
    }
    case 2: { // data_offsets: shifted, swapped, wrong arity, odd numbers, overlapping another tensor, out of range
      if (!e || !Array.isArray(e.data_offsets)) break;
      const [b0, e0] = e.data_offsets as number[];
      const other = pick()?.[1] as { data_offsets?: number[] } | undefined;
      e.data_offsets = rng.pick([
        [b0, e0 + 1],
        [b0 + 1, e0 + 1],
        [b0 - 4, e0 - 4],
        [e0, b0],
        [b0],
        [b0, e0, e0],
        [b0, rng.pick(ODD_NUMBERS)],
        [rng.pick(ODD_NUMBERS), e0],
        other?.data_offsets ?? [0, 0],
        [p.data.length, p.data.length + (e0 - b0)],
        [b0 + 2 ** 32, e0 + 2 ** 32],
        new Raw(`[${b0}.0,${e0}]`),
      ]);
      break;
    }
    case 3: // an entry that is not an object
      if (t) t[1] = rng.pick([5, "x", null, [], true, [1, 2], {}, deep(rng)]);
      break;
    case 4: { // a duplicate key: the same pair again, or a changed copy; or a duplicate field
      if (!t) break;
      if (rng.chance(0.3) && e) {
        t[1] = new Raw(`{"dtype":"F64",${toJson(e).slice(1)}`);
        break;
      }
      const copy: [string, unknown] = [
        t[0],
        rng.chance(0.5)
          ? t[1]
          : { ...(e ?? {}), data_offsets: [0, 0], shape: [0] },
      ];
      p.pairs.splice(rng.int(p.pairs.length + 1), 0, copy);
      break;
    }
    case 5: // rename a tensor
      if (t) {
        t[0] = rng.chance(0.7)
          ? rng.pick(NAMES)
          : rng.chance(0.5)
          ? `${t[0]}.x`
          : t[0].split(".")[0];
      }
      break;
    case 6: { // __metadata__ abuse
      const m = rng.pick<unknown>([
        null,
        [],
        5,
        "s",
        { a: 1 },
        { a: null },
        { a: { b: "c" } },
        { ["__proto__"]: "x" },
        { a: "x".repeat(100_000) },
        deep(rng),
        new Raw('{"a":"1","a":"2"}'),
        {},
        { a: "b", c: "d" },
      ]);
      const at = p.pairs.findIndex(([k]) => k === "__metadata__");
      if (at >= 0 && rng.chance(0.8)) p.pairs[at] = ["__metadata__", m];
      else p.pairs.splice(rng.int(p.pairs.length + 1), 0, ["__metadata__", m]);
      break;
    }
    case 7: // deep nesting in an extra field or a new top-level key
      if (e && rng.chance(0.5)) e.extra = deep(rng);
      else p.pairs.push(["nested", deep(rng)]);
      break;
    case 8: // an extra field (ignored by the format)
      if (e) {
        e[rng.pick(["extra", "offsets", "__proto__", "dtype2"])] = rng.pick([
          1,
          "x",
          [1, 2],
          { a: 1 },
        ]);
      }
      break;
    case 9: // entries reordered: still valid
      for (let k = p.pairs.length - 1; k > 0; k--) {
        const j = rng.int(k + 1);
        [p.pairs[k], p.pairs[j]] = [p.pairs[j], p.pairs[k]];
      }
      break;
    case 10: { // data laid out in another order, offsets to match: still valid
      const ts = tensors.filter(([, v]) =>
        Array.isArray((v as { data_offsets?: unknown }).data_offsets)
      );
      const order = ts.map((_, k) => k).sort(() => rng.int(3) - 1);
      const parts: Uint8Array[] = [];
      let off = 0;
      for (const k of order) {
        const entry = { ...ts[k][1] as { data_offsets: number[] } };
        const [b0, e0] = entry.data_offsets;
        parts.push(p.data.slice(b0, e0));
        entry.data_offsets = [off, off + (e0 - b0)];
        off += e0 - b0;
        ts[k][1] = entry;
      }
      p.data = concat(
        ...parts,
        p.data.subarray(
          ts.reduce(
            (a, [, v]) =>
              Math.max(a, (v as { data_offsets: number[] }).data_offsets[1]),
            0,
          ) + p.data.length,
        ),
      );
      break;
    }
    case 11: // a tensor removed (a gap), or a zero-size one added anywhere
      if (t && rng.chance(0.5)) p.pairs.splice(p.pairs.indexOf(t), 1);
      else {
        const at = rng.pick([0, p.data.length, rng.int(p.data.length + 1)]);
        p.pairs.push([`z${rng.int(100)}`, {
          dtype: "F32",
          shape: [0],
          data_offsets: [at, at],
        }]);
      }
      break;
    case 12: // the data section longer or shorter
      p.data = rng.chance(0.5)
        ? concat(p.data, rng.bytes(rng.pick([1, 4, 8])))
        : p.data.slice(0, Math.max(0, p.data.length - rng.pick([1, 4, 8])));
      break;
    case 13: { // a tree structure in __metadata__, sound or not
      const names = tensors.map(([k]) => k);
      const at = p.pairs.findIndex(([k]) => k === "__metadata__");
      const old = at >= 0 && isEntry(p.pairs[at][1]) ? p.pairs[at][1] : {};
      const meta = { ...old, [TREE_KEY]: treeStructure(rng, names) };
      if (at >= 0) p.pairs[at] = ["__metadata__", meta];
      else p.pairs.unshift(["__metadata__", meta]);
      break;
    }
    default: // the whole header replaced
      p.pairs = [];
      p.data = new Uint8Array(0);
      p.pairs.push(
        ...[[], [["a", null]], [["", {
          dtype: "F32",
          shape: [],
          data_offsets: [0, 0],
        }]]][rng.int(3)] as [string, unknown][],
      );
  }
}

/** Header text from the pairs (keys as given, so duplicates survive). */
function headerText(p: StParts): string {
  return `{${
    p.pairs.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")
  }}`;
}

let stCorpus: Uint8Array[] | undefined;

function makeSafetensorsInput(rng: Rng): Uint8Array {
  stCorpus ??= safetensorsSeeds();
  const seed = rng.pick(stCorpus);
  const r = rng.int(10);
  if (r === 0) return mutateBytes(rng, seed);
  const p = stParts(seed);
  const n = rng.chance(0.7) ? 1 : rng.range(2, 3);
  for (let k = 0; k < n; k++) mutateStHeader(rng, p);
  let text = headerText(p);
  if (r === 1) { // whitespace, NULs, a byte order mark or garbage around the JSON
    const pad = rng.pick([
      "  ",
      "\n",
      "\t",
      "\u0000\u0000",
      "\ufeff",
      "}",
      "x",
      "\r\n",
      "\u00a0",
    ]);
    text = rng.chance(0.5) ? text + pad : pad + text;
  }
  let out: Uint8Array;
  if (r === 2) { // JSON syntax damage, the length field following it
    const head = mutateBytes(rng, new TextEncoder().encode(text));
    out = concat(new Uint8Array(8), head, p.data);
    new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  } else out = packSafetensors(text, p.data);
  if (r === 3) { // a lying header length
    const len = Number(new DataView(out.buffer).getBigUint64(0, true));
    const v = rng.pick([
      0,
      1,
      len - 1,
      len + 1,
      out.length - 8,
      out.length - 7,
      100_000_001,
      2 ** 32 + len,
      2 ** 53,
    ]);
    new DataView(out.buffer).setBigUint64(
      0,
      rng.chance(0.1) ? 2n ** 63n : BigInt(v),
      true,
    );
  }
  return out;
}

/** The metadata key under which serializeSafetensors stores a tree's structure. */
const TREE_KEY = "cnn-tensor.tree";

/** A tree structure for `__metadata__`, sound or not, for the tensor names `names`. */
function treeStructure(rng: Rng, names: string[]): string {
  const tree: Record<string, unknown> = {};
  for (const n of names) {
    const parts = n.split(".");
    let node = tree;
    for (const p of parts.slice(0, -1)) {
      node = (node[p] ??= {}) as Record<string, unknown>;
      if (typeof node !== "object") break;
    }
    if (typeof node === "object") node[parts.at(-1)!] = "tensor";
  }
  const extras = [
    3,
    1.5,
    true,
    null,
    { ".key": [0, 7] },
    { ".number": "NaN" },
    { ".number": "-0" },
  ];
  if (rng.chance(0.5)) tree.extra = rng.pick(extras);
  const good = JSON.stringify(tree);
  if (rng.chance(0.5)) return good;
  return rng.pick([
    good.replace('"tensor"', '"tensors"'),
    good.replace('"tensor"', "3"),
    good.slice(0, -1),
    JSON.stringify({ ...tree, missing: "tensor" }),
    JSON.stringify(Object.fromEntries(Object.entries(tree).slice(1))),
    JSON.stringify([tree]),
    '"tensor"',
    "[]",
    "{}",
    "null",
    "[".repeat(50_000) + "]".repeat(50_000),
    '{"a":'.repeat(50_000) + "{}" + "}".repeat(50_000),
    '{"__proto__":"tensor"}',
    '{"k":{".key":[1]}}',
    '{"k":{".key":[-1,1099511627776]}}',
    '{"k":{".key":[0,1],"x":2}}',
    '{"k":{".number":"foo"}}',
    '{"k":{".number":5}}',
    '{"a.b":"tensor"}',
    '{"":3}',
    "x",
  ]);
}

/** The leaves of a deserialized tree as [dotted path, tensor], checking arrays are used exactly for 0..n-1 levels. */
function treeLeaves(
  tree: unknown,
  structured: boolean,
): [string, Expected][] | string {
  const out: [string, Expected][] = [];
  const todo: [string, unknown][] = [["", tree]];
  while (todo.length > 0) {
    const [path, node] = todo.pop()!;
    const at = (k: string) => path === "" ? k : `${path}.${k}`;
    if (
      node !== null && typeof node === "object" &&
      ArrayBuffer.isView((node as { data?: unknown }).data)
    ) {
      out.push([path, node as Expected]);
    } else if (Array.isArray(node)) {
      node.forEach((c, i) => todo.push([at(String(i)), c]));
    } else if (node !== null && typeof node === "object") {
      if (Object.getPrototypeOf(node) !== Object.prototype) {
        return `"${path}" is an object with an unusual prototype`;
      }
      const keys = Object.keys(node);
      if (
        !structured && keys.length > 0 &&
        keys.every((k) =>
          /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < keys.length
        )
      ) {
        return `"${path}" has keys 0..${keys.length - 1} but is not an array`;
      }
      for (const k of keys) {
        todo.push([at(k), (node as Record<string, unknown>)[k]]);
      }
    } else if (!structured) {
      return `"${path}" is ${String(node)}, not a tensor or a group`;
    } // else a number, boolean or null leaf of a stored structure
  }
  return out;
}

/** Whether names form a tree: no empty segment, no name that is also a group of another. */
function treeProblem(names: string[]): string | null {
  const set = new Set(names);
  for (const n of names) {
    const parts = n.split(".");
    if (parts.some((s) => s === "")) {
      return `name ${JSON.stringify(n)} has an empty segment`;
    }
    for (let i = 1; i < parts.length; i++) {
      if (set.has(parts.slice(0, i).join("."))) {
        return `name ${JSON.stringify(n)} is under tensor "${
          parts.slice(0, i).join(".")
        }"`;
      }
    }
  }
  return null;
}

/** Compares a deserialized tree with the header's tensors and the file's bytes. */
function compareTree(
  tree: unknown,
  b: Uint8Array,
  v: {
    tensors: StTensor[];
    metadata: [string, string][];
    dataStart: number;
  },
): string | null {
  // With a stored structure, the tree may hold numbers, booleans, null and
  // random keys too, and arrays and objects as the structure says.
  const structured = v.metadata.some(([k]) => k === TREE_KEY);
  const leaves = treeLeaves(tree, structured);
  if (typeof leaves === "string") return leaves;
  const got = new Map(leaves);
  if (got.size !== v.tensors.length || leaves.length !== v.tensors.length) {
    return `tree has ${leaves.length} tensors (${
      leaves.map(([n]) => JSON.stringify(n)).slice(0, 5)
    }), header ${v.tensors.length}`;
  }
  for (const t of v.tensors) {
    const a = got.get(t.name);
    if (!a) return `tensor ${JSON.stringify(t.name)} missing from the tree`;
    const raw = b.slice(v.dataStart + t.begin, v.dataStart + t.end);
    const data = stValues(t.stored, raw);
    if (typeof data === "string") return `${t.name}: loaded, but holds ${data}`;
    const d = diff(a, { dtype: t.dtype, shape: t.shape, data }, 0, t.name);
    if (d) return d;
    if (!["F32", "F64", "I32"].includes(t.stored)) continue; // widened
    // Same bits too (NaN payloads): the data are copies of the file's bytes.
    const view = a.data as unknown as Uint8Array;
    const bits = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (bits.some((x, i) => x !== raw[i])) {
      return `${t.name}: bytes differ from the file's`;
    }
  }
  return null;
}

const safetensorsFormat: Format = {
  name: "safetensors",
  readers: ["deserializeSafetensors", "parseSafetensorsHeader"],
  make(rng) {
    return { "input.safetensors": makeSafetensorsInput(rng) };
  },
  async run(input) {
    const b = input["input.safetensors"]!;
    const oracle = () => safetensorsOracle(b);
    const header = await outcome(
      "parseSafetensorsHeader",
      () => parseSafetensorsHeader(b),
      oracle,
      (h, v) => {
        if (
          h.dataStart !== v.dataStart
        ) return `dataStart ${h.dataStart}, expected ${v.dataStart}`;
        const show = (
          ts: {
            name: string;
            dtype: string;
            shape: readonly number[];
            offsets: readonly number[];
          }[],
        ) =>
          JSON.stringify(
            ts.map((t) => [t.name, t.dtype, [...t.shape], [...t.offsets]])
              .sort(),
          );
        const want = show(
          v.tensors.map((t) => ({ ...t, offsets: [t.begin, t.end] })),
        );
        if (show(h.tensors) !== want) {
          return `tensors ${show(h.tensors).slice(0, 300)}, expected ${
            want.slice(0, 300)
          }`;
        }
        const meta = (m: [string, string][]) => JSON.stringify(m.sort());
        if (meta(Object.entries(h.metadata)) !== meta([...v.metadata])) {
          return `metadata ${
            meta(Object.entries(h.metadata)).slice(0, 200)
          }, expected ${meta([...v.metadata]).slice(0, 200)}`;
        }
        return null;
      },
    );
    if (FAILURES.includes(header.cls)) return header;
    // A valid file whose names do not form a tree cannot be deserialized.
    const treeOracle = () => {
      const v = oracle();
      const problem = v.kind === "valid"
        ? treeProblem(v.value.tensors.map((t) => t.name)) ??
          v.value.tensors.map((t) => {
            const d = stValues(
              t.stored,
              b.slice(v.value.dataStart + t.begin, v.value.dataStart + t.end),
            );
            return typeof d === "string" ? `${t.name} holds ${d}` : null;
          }).find((p) => p !== null) ?? null
        : null;
      return problem === null ? v : { kind: "invalid" as const, why: problem };
    };
    const tree = await outcome(
      "deserializeSafetensors",
      () => deserializeSafetensors(b),
      treeOracle,
      (t, v) => compareTree(t, b, v),
    );
    return { ...tree, ms: (header.ms ?? 0) + (tree.ms ?? 0) };
  },
};

// ------------------------------------------------------------- Fashion-MNIST

const fashionFormat: Format = {
  name: "fashion",
  readers: ["loadFashionMnist"],
  make(rng) {
    const idx = fashionIdx(rng, rng.int(4), rng.int(4));
    const names = [...FASHION_NAMES];
    const target = rng.pick(names);
    const files: Case = {};
    for (const name of names) {
      let b = idx[name];
      const mutate = name === target || rng.chance(0.05);
      let gz = rng.chance(0.9);
      if (mutate) {
        const k = rng.int(7);
        if (k === 0) b = mutateIdxAny(rng, b);
        else if (k === 1) { // labels out of range, or a count off by one
          b = b.slice();
          if (name.includes("labels") && b.length > 8) {
            b[rng.range(8, b.length - 1)] = rng.range(10, 255);
          } else {setWord(
              b,
              4,
              rng.pick([0, 1, 2, 4, 60000, 2 ** 32 - 1]),
              false,
            );}
        } else if (k === 2) {
          b = makeIdx(
            rng,
            rng.pick([8, 8, 9, 0x0c]),
            rng.pick([[2, 28, 28], [1, 28, 27], [2], [3], [1, 784], [0]]),
          );
        } else if (k === 3) { // byte-level damage to the gzip file
          files[`${name}.gz`] = mutateBytes(rng, new Uint8Array(gzipSync(b)));
          continue;
        } else if (k === 4) { // absent
          files[`${name}.gz`] = null;
          continue;
        } else if (k === 5) gz = false;
        else b = mutateBytes(rng, b);
      }
      if (gz) files[`${name}.gz`] = new Uint8Array(gzipSync(b));
      else files[rng.chance(0.5) ? `${name}.gz` : name] = b;
    }
    return files;
  },
  run(input, dir) {
    // Synchronous file calls: several times faster than the async ones here.
    for (const e of Deno.readDirSync(dir)) Deno.removeSync(`${dir}/${e.name}`);
    for (const [name, b] of Object.entries(input)) {
      if (b) Deno.writeFileSync(`${dir}/${name}`, b);
    }
    return outcome(
      "loadFashionMnist",
      () => loadFashionMnist(dir),
      () => fashionOracle(input),
      (r, e) =>
        diff(r.train.x, e.train.x, 0, "train.x") ??
          diff(r.train.y, e.train.y, 0, "train.y") ??
          diff(r.test.x, e.test.x, 0, "test.x") ??
          diff(r.test.y, e.test.y, 0, "test.y"),
    );
  },
};

/** Every fuzzed format, in report order. */
export const FORMATS: readonly Format[] = [
  idxFormat,
  idxGzFormat,
  cifarFormat,
  pngFormat,
  safetensorsFormat,
  fashionFormat,
];

/** The generator for input `index` of `format` under `seed`. */
export function inputRng(seed: number, format: string, index: number): Rng {
  const f = FORMATS.findIndex((x) => x.name === format);
  return new Rng(mixSeed(seed, f, index));
}

/** Input `index` of `format` under `seed`. */
export function makeInput(seed: number, format: Format, index: number): Case {
  return format.make(inputRng(seed, format.name, index));
}
