/**
 * Checkpoints in the safetensors format (as written by Hugging Face's
 * `safetensors` and readable from PyTorch): an 8-byte little-endian header
 * length N, N bytes of JSON header (space-padded to a multiple of 8), then the
 * raw little-endian tensor bytes.
 *
 * A file written here round-trips any tree exactly: model params (the `{}`
 * entries of parameterless layers included), layer state, optimizer states,
 * random keys, step counts. Tensors are stored under their dotted paths
 * (PyTorch state_dict keys: `"0.weight"`, `"conv1.bias"`), so PyTorch loads
 * the file as a state_dict; the tree's structure travels in the header's
 * `__metadata__` under {@linkcode SAFETENSORS_TREE_KEY} (the format is
 * described on {@linkcode serializeSafetensors}). A file without that entry
 * (written by PyTorch) loads by its dotted names: a level whose keys are
 * exactly `"0"` .. `"n-1"` becomes an array, any other level an object with
 * sorted keys; pass `like` to give it the structure of a template (a fresh
 * model's params) and have every entry checked.
 *
 * Dtypes: float32 (`F32`), float64 (`F64`) and int32 (`I32`) load and save
 * as they are. PyTorch's others load widened exactly: `F16` and `BF16` as
 * float32, `I64`, `U64`, `U32`, `I16`, `U16`, `I8`, `U8` and `BOOL` as int32
 * (a value outside int32's range is an error naming the tensor), so a
 * PyTorch state_dict loads whole (a BatchNorm's `num_batches_tracked` is
 * I64). Other dtypes (`F8_E4M3`, ...) are an error naming the tensor.
 *
 * A header that holds a key twice in one object is refused. The reference
 * implementation (Rust, serde) refuses a second `__metadata__` or a second
 * `dtype`, `shape` or `data_offsets` in an entry too; for two tensors of one
 * name, or two metadata values of one key, it keeps the last, but such a
 * file is ambiguous (JSON parsers differ on which one they keep), so it is
 * refused here as well.
 *
 * @module
 */
import type { Key } from "../ops/random.ts";
import {
  checkOptions,
  checkShape,
  describe,
  type DType,
  freshData,
  fromData,
  isTensor,
  showValue,
  sizeOf,
  type Tensor,
  type TypedArray,
} from "../ops/tensor.ts";
import { isPlainObject, type Tree } from "../ops/tree.ts";
import { checkBytes, readBytes, rethrowAs, writeBytesAtomic } from "./_io.ts";

/** The largest JSON header accepted (100 MB), as the reference implementation. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/**
 * The `__metadata__` key that holds a saved tree's structure (see
 * {@linkcode serializeSafetensors}); user metadata cannot use it.
 */
export const SAFETENSORS_TREE_KEY = "cnn-tensor.tree";

/** How deeply a tree may nest (deeper ones are refused, not a stack overflow). */
const MAX_DEPTH = 1000;

/**
 * What a checkpoint holds at a leaf: a tensor, a random key (from
 * `random.key` / `random.split`), a number (a step count, an epoch), a
 * boolean or null.
 */
export type CheckpointLeaf = Tensor | Key | number | boolean | null;

/**
 * A tree that {@linkcode serializeSafetensors} stores: nested plain objects
 * and arrays whose leaves are {@linkcode CheckpointLeaf}s (params, layer
 * state, optimizer state, or a record of all of them).
 */
export type CheckpointTree = Tree<CheckpointLeaf>;

const TO_ST: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  int32: "I32",
};
/**
 * A stored dtype: the dtype it loads as, its bytes per value, how to read
 * value `i` (little-endian) as a number of that dtype, exactly (integers
 * outside int32's range are an error, see `readTensor`), and whether its
 * bytes are already that dtype's (then a little-endian machine views them).
 */
interface StoredType {
  dtype: DType;
  size: number;
  read: (v: DataView, i: number) => number | bigint;
  native?: true;
}

const FROM_ST: Record<string, StoredType> = {
  F32: {
    dtype: "float32",
    size: 4,
    read: (v, i) => v.getFloat32(4 * i, true),
    native: true,
  },
  F64: {
    dtype: "float64",
    size: 8,
    read: (v, i) => v.getFloat64(8 * i, true),
    native: true,
  },
  I32: {
    dtype: "int32",
    size: 4,
    read: (v, i) => v.getInt32(4 * i, true),
    native: true,
  },
  // PyTorch's other dtypes, widened exactly: halves to float32, the other
  // integers (a BatchNorm's num_batches_tracked is I64) to int32
  F16: {
    dtype: "float32",
    size: 2,
    read: (v, i) => half(v.getUint16(2 * i, true)),
  },
  BF16: {
    dtype: "float32",
    size: 2,
    read: (v, i) => bfloat(v.getUint16(2 * i, true)),
  },
  I64: { dtype: "int32", size: 8, read: (v, i) => v.getBigInt64(8 * i, true) },
  U64: { dtype: "int32", size: 8, read: (v, i) => v.getBigUint64(8 * i, true) },
  U32: { dtype: "int32", size: 4, read: (v, i) => v.getUint32(4 * i, true) },
  I16: { dtype: "int32", size: 2, read: (v, i) => v.getInt16(2 * i, true) },
  U16: { dtype: "int32", size: 2, read: (v, i) => v.getUint16(2 * i, true) },
  I8: { dtype: "int32", size: 1, read: (v, i) => v.getInt8(i) },
  U8: { dtype: "int32", size: 1, read: (v, i) => v.getUint8(i) },
  BOOL: { dtype: "int32", size: 1, read: (v, i) => v.getUint8(i) },
};

/** An IEEE half (binary16) given by its bits, as a number (exact). */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (e === 0 ? m * 2 ** -24 : (1024 + m) * 2 ** (e - 25));
}

const bf = new DataView(new ArrayBuffer(4));
/** A bfloat16 given by its bits: the upper half of a float32's (exact). */
function bfloat(h: number): number {
  bf.setUint32(0, h << 16);
  return bf.getFloat32(0);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  /** The tensor's name (a dotted path). */
  name: string;
  /** The dtype it loads as (F16 and BF16 load as float32, the other integers as int32). */
  dtype: DType;
  /** Its dtype in the file (`"F32"`, `"I64"`, ...). */
  stored: string;
  /** Its shape. */
  shape: number[];
  /** Byte range `[begin, end)` within the data section. */
  offsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** The tensors, in data order. */
  tensors: SafetensorsEntry[];
  /** The `__metadata__` string map (empty when absent), the tree's structure entry included. */
  metadata: Record<string, string>;
  /** Where the data section starts in the file (8 + header length). */
  dataStart: number;
}

function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A JSON value for an error message, cut to 60 characters. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** What kind of value `v` is, for an error message. */
function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

/** Checks a string map; `what` names it: `metadata` or the header's `"__metadata__"`. */
function checkMetadata(
  fn: string,
  metadata: unknown,
  what = "metadata",
): Record<string, string> {
  if (metadata === undefined) return {};
  if (
    typeof metadata !== "object" || metadata === null ||
    Array.isArray(metadata)
  ) {
    throw new Error(
      `${fn}: ${what} must be an object of strings, got ${kind(metadata)}`,
    );
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") {
      throw new Error(
        `${fn}: ${what} values must be strings (safetensors stores a string map), but ${
          JSON.stringify(k)
        } is ${kind(v)}`,
      );
    }
  }
  return metadata as Record<string, string>;
}

const join = (path: string, k: string | number) =>
  path === "" ? String(k) : `${path}.${k}`;

/** True for a random key as `random.key` makes it: `{ kind: "key", words: [hi, lo] }`. */
function isKey(x: unknown): x is Key {
  const k = x as Key;
  return typeof x === "object" && x !== null && k.kind === "key" &&
    Array.isArray(k.words) && k.words.length === 2 &&
    k.words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32);
}

/** A random key with these words, frozen as `random.key` makes it. */
function makeKey(hi: number, lo: number): Key {
  return Object.freeze({
    kind: "key" as const,
    words: Object.freeze([hi, lo] as [number, number]),
  });
}

function isLeaf(x: unknown): x is CheckpointLeaf {
  return isTensor(x) || isKey(x) || x === null || typeof x === "boolean" ||
    typeof x === "number";
}

/** A leaf for a message: `float32 [2,3]`, `a random key`, `a number`, ... */
function what(x: CheckpointLeaf): string {
  if (isTensor(x)) return `${x.dtype} [${x.shape}]`;
  if (isKey(x)) return "a random key";
  return x === null ? "null" : `a ${typeof x}`;
}

/** What a value that is not a tree node is, for a message. */
function notANode(x: unknown): string {
  if (x === undefined || typeof x === "function") return String(typeof x);
  if (typeof x === "string") return `the string ${show(x)}`;
  if (typeof x !== "object" || x === null) return describe(x);
  const name = Object.getPrototypeOf(x)?.constructor?.name;
  return name ? `a ${name}` : "an object";
}

/** The structure JSON of a leaf (see {@linkcode serializeSafetensors}). */
function leafNode(x: CheckpointLeaf): unknown {
  if (isTensor(x)) return "tensor";
  if (isKey(x)) return { ".key": [...x.words] };
  if (typeof x === "number" && (!Number.isFinite(x) || Object.is(x, -0))) {
    return { ".number": Object.is(x, -0) ? "-0" : String(x) };
  }
  return x;
}

/**
 * Walks a tree to save, or a `like` template (`arg` names which): checks its
 * keys and leaves, and returns its structure as JSON (key order kept) and
 * its leaves with their dotted paths, in that order.
 */
function flattenTree(
  fn: string,
  arg: string,
  tree: unknown,
): { structure: unknown; leaves: [string, CheckpointLeaf][] } {
  const leaves: [string, CheckpointLeaf][] = [];
  const open = new Set<unknown>(); // the containers being walked: a cycle
  const walk = (x: unknown, path: string): unknown => {
    if (path !== "" && isLeaf(x)) {
      leaves.push([path, x]);
      return leafNode(x);
    }
    if (isLeaf(x)) {
      throw new Error(
        `${fn}: ${arg} must be an object or array (its leaves are named by their paths), got ${
          describe(x)
        }; wrap it, e.g. { x: t }`,
      );
    }
    const at = path === "" ? "" : ` at "${path}"`;
    if (!Array.isArray(x) && !isPlainObject(x)) {
      throw new Error(
        `${fn}: ${arg} holds ${
          notANode(x)
        }${at}; expected a tensor, a random key, a number, a boolean, null, an array or a plain object`,
      );
    }
    if (open.has(x)) throw new Error(`${fn}: ${arg}${at} contains itself`);
    if (open.size >= MAX_DEPTH) {
      throw new Error(`${fn}: ${arg} nests deeper than ${MAX_DEPTH} levels`);
    }
    open.add(x);
    const node = Array.isArray(x)
      ? Array.from(x, (c, i) => walk(c, join(path, i)))
      : Object.fromEntries(
        Object.keys(x).map((k) => {
          if (k === "" || k.includes(".")) {
            throw new Error(
              `${fn}: key ${JSON.stringify(k)}${
                path ? ` under "${path}"` : ""
              } cannot be stored: keys must be non-empty and contain no "." (dots separate the levels of a path)`,
            );
          }
          if (!k.isWellFormed()) {
            throw new Error(
              `${fn}: key ${JSON.stringify(k)}${
                path ? ` under "${path}"` : ""
              } cannot be stored: it holds a lone UTF-16 surrogate (not Unicode text), which the safetensors reference reader refuses`,
            );
          }
          if (path === "" && k === "__metadata__") {
            throw new Error(
              `${fn}: the top-level key "__metadata__" is reserved by the safetensors format`,
            );
          }
          return [k, walk(x[k], join(path, k))];
        }),
      );
    open.delete(x);
    return node;
  };
  const structure = walk(tree, "");
  return { structure, leaves };
}

/** Options for {@linkcode serializeSafetensors} and {@linkcode saveSafetensors}. */
export interface SerializeSafetensorsOptions {
  /**
   * A string map stored in the header's `__metadata__` (e.g.
   * `{ epoch: "3" }`), next to the tree's structure; its keys must differ
   * from {@linkcode SAFETENSORS_TREE_KEY}.
   */
  metadata?: Record<string, string>;
}

/**
 * Serializes a tree (nested plain objects and arrays) to safetensors bytes
 * that {@linkcode deserializeSafetensors} turns back into the same tree.
 *
 * The tensors are stored under their dotted paths (`"0.weight"`,
 * `"optState.1.mu.conv1.bias"`), in the order of the tree, which is what
 * PyTorch expects of a state_dict. The tree's structure is stored as JSON
 * text in `__metadata__` under {@linkcode SAFETENSORS_TREE_KEY}: the tree
 * with each leaf replaced by
 * - `"tensor"` for a tensor (its dtype, shape and bytes are the header entry
 *   and data named by the leaf's path),
 * - the number itself for a finite number (a step count, an epoch), and
 *   `{".number": "NaN"}` (or `"Infinity"`, `"-Infinity"`, `"-0"`) for the
 *   others,
 * - `true`, `false` or `null` for themselves,
 * - `{".key": [hi, lo]}` for a random key (its two uint32 words).
 *
 * Objects keep their key order (as JavaScript orders keys: integer-like keys
 * first), arrays their length, empty `{}` and `[]` entries stay. Keys cannot
 * contain `.` or be empty (dots separate path levels), so a tag such as
 * `".key"` never clashes with a key; keys and `options.metadata` must be
 * Unicode text (a lone UTF-16 surrogate is refused: the reference reader
 * refuses its JSON escape). E.g. `[{ weight: w, bias: b }, {}]`
 * is stored as `[{"weight":"tensor","bias":"tensor"},{}]` with tensors
 * `"0.weight"` and `"0.bias"`.
 *
 * The optimizers' states are trees of tensors (step counts are int32
 * scalars); numbers, booleans, null and keys are for what else a training
 * checkpoint holds. `options.metadata` is stored next to the structure.
 *
 * @param tree An object or array of {@linkcode CheckpointLeaf}s.
 * @param options `metadata`: a string map stored in the header.
 * @returns The file's bytes.
 *
 * @example
 * ```ts
 * import {
 *   type CheckpointTree,
 *   deserializeSafetensors,
 *   parseSafetensorsHeader,
 *   SAFETENSORS_TREE_KEY,
 *   serializeSafetensors,
 * } from "./safetensors.ts";
 * import { tensor, toArray } from "../ops/tensor.ts";
 * import { key } from "../ops/random.ts";
 * import assert from "node:assert/strict";
 * const params: CheckpointTree = [{ weight: tensor([[1, 2]]), bias: tensor([0.5]) }, {}];
 * const bytes = serializeSafetensors(
 *   { params, epoch: 3, key: key(7) },
 *   { metadata: { note: "after epoch 3" } },
 * );
 * const { tensors, metadata } = parseSafetensorsHeader(bytes);
 * assert.deepEqual(tensors.map((t) => t.name), ["params.0.weight", "params.0.bias"]);
 * assert.equal(metadata.note, "after epoch 3");
 * assert.equal(
 *   metadata[SAFETENSORS_TREE_KEY],
 *   '{"params":[{"weight":"tensor","bias":"tensor"},{}],"epoch":3,"key":{".key":[0,7]}}',
 * );
 * // deno-lint-ignore no-explicit-any
 * const back = deserializeSafetensors(bytes) as any;
 * assert.deepEqual(back.params[1], {}); // the parameterless layer's entry
 * assert.deepEqual(toArray(back.params[0].weight), [[1, 2]]);
 * assert.deepEqual([back.epoch, back.key.words], [3, [0, 7]]);
 * ```
 */
export function serializeSafetensors(
  tree: CheckpointTree,
  options?: SerializeSafetensorsOptions,
): Uint8Array {
  if (options === undefined) options = {};
  const fn = "serializeSafetensors";
  checkOptions(fn, options, ["metadata"]);
  const meta = checkMetadata(fn, options.metadata);
  const odd = Object.entries(meta).flat().find((m) => !m.isWellFormed());
  if (odd !== undefined) {
    throw new Error(
      `${fn}: metadata holds ${
        showValue(odd)
      }, which has a lone UTF-16 surrogate (not Unicode text): the safetensors reference reader refuses it`,
    );
  }
  if (Object.hasOwn(meta, SAFETENSORS_TREE_KEY)) {
    throw new Error(
      `${fn}: metadata key "${SAFETENSORS_TREE_KEY}" is reserved for the tree's structure; use another key`,
    );
  }
  const { structure, leaves } = flattenTree(fn, "tree", tree);
  const tensors = leaves.filter((l): l is [string, Tensor] => isTensor(l[1]));
  const header: Record<string, unknown> = {
    __metadata__: {
      ...meta,
      [SAFETENSORS_TREE_KEY]: JSON.stringify(structure),
    },
  };
  let offset = 0;
  for (const [name, t] of tensors) {
    const st = TO_ST[t.dtype];
    if (!st) {
      throw new Error(
        `${fn}: tensor "${name}" has unsupported dtype ${
          showValue(t.dtype)
        } (expected float32, float64 or int32)`,
      );
    }
    if (t.data.length !== sizeOf(t.shape)) {
      throw new Error(
        `${fn}: tensor "${name}" has shape [${t.shape}] but ${t.data.length} elements`,
      );
    }
    const end = offset + t.data.byteLength;
    header[name] = {
      dtype: st,
      shape: [...t.shape],
      data_offsets: [offset, end],
    };
    offset = end;
  }
  let json = JSON.stringify(header);
  const utf8 = new TextEncoder();
  let headerBytes = utf8.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad > 0) {
    json += " ".repeat(pad);
    headerBytes = utf8.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true);
  view.setUint32(4, Math.floor(headerBytes.length / 2 ** 32), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of tensors) {
    if (LITTLE_ENDIAN) {
      out.set(bytesOf(t.data), pos);
    } else {
      const size = t.data.BYTES_PER_ELEMENT;
      for (let i = 0; i < t.data.length; i++) {
        const o = pos + i * size;
        if (t.dtype === "float32") view.setFloat32(o, t.data[i], true);
        else if (t.dtype === "float64") view.setFloat64(o, t.data[i], true);
        else view.setInt32(o, t.data[i], true);
      }
    }
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Reads and validates the header of safetensors bytes, without touching the
 * tensor data: header length within the file and at most 100 MB, valid
 * UTF-8 JSON with no key twice in one object (no tensor name, field or
 * metadata key repeated; see the module docs), known dtypes, sizes matching
 * shapes, offsets covering the data section exactly with no gap or overlap.
 * The metadata is the whole `__metadata__` map, the tree's structure entry
 * ({@linkcode SAFETENSORS_TREE_KEY}) included; it is not checked here.
 *
 * @example
 * ```ts
 * import { parseSafetensorsHeader, serializeSafetensors } from "./safetensors.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const h = parseSafetensorsHeader(serializeSafetensors({ w: tensor([1, 2, 3]) }, { metadata: { a: "b" } }));
 * assert.deepEqual(h.tensors.map((t) => [t.name, t.dtype, t.shape]), [["w", "float32", [3]]]);
 * assert.deepEqual(h.metadata, { a: "b", "cnn-tensor.tree": '{"w":"tensor"}' });
 * ```
 */
export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  return parseHeader("parseSafetensorsHeader", bytes);
}

/**
 * The first key that one object of the JSON `text` holds twice, and the keys
 * leading to that object; null when there is none. `text` must be valid JSON
 * (it is parsed first; JSON.parse silently keeps the last of two keys). One
 * pass with an explicit stack: linear time, and any depth of nesting.
 */
function duplicateKey(text: string): { path: string[]; key: string } | null {
  // One entry per open object (its keys so far, the current one last) or array (null).
  const open: ({ keys: Set<string>; key: string } | null)[] = [];
  let start = 0, end = 0; // the last string literal is text.slice(start, end)
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      end = i + 1;
    } else if (c === ":") { // after a key: the string just read
      const obj = open[open.length - 1]!;
      const key: string = JSON.parse(text.slice(start, end));
      if (obj.keys.has(key)) {
        const path = open.slice(0, -1).flatMap((o) => o === null ? [] : o.key);
        return { path, key };
      }
      obj.keys.add(key);
      obj.key = key;
    } else if (c === "{") open.push({ keys: new Set(), key: "" });
    else if (c === "[") open.push(null);
    else if (c === "}" || c === "]") open.pop();
  }
  return null;
}

/** Says that the object at `path` in a header holds `key` twice. */
function twice(path: string[], key: string): string {
  const k = JSON.stringify(key);
  if (path.length === 0) {
    return key === "__metadata__"
      ? 'the header has "__metadata__" twice'
      : `the header names tensor ${k} twice`;
  }
  const where = path[0] === "__metadata__"
    ? 'the header\'s "__metadata__"'
    : `header entry ${JSON.stringify(path[0])}`;
  const what = path.length === 1 && path[0] !== "__metadata__"
    ? "field"
    : "key";
  const outer = path.slice(1, 5).map((p) => JSON.stringify(p));
  if (path.length > 5) outer.push("...");
  const inside = path.length === 1 ? "" : ` (inside ${outer.join(" > ")})`;
  return `${where} has the ${what} ${k} twice${inside}`;
}

function parseHeader(fn: string, bytes: Uint8Array): SafetensorsHeader {
  checkBytes(fn, bytes);
  if (bytes.length < 8) {
    throw new Error(
      `${fn}: truncated safetensors file: expected at least 8 bytes (the header length), got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > bytes.length - 8 || n > SAFETENSORS_MAX_HEADER) {
    throw new Error(
      `${fn}: corrupt safetensors file: header length ${n} ${
        n > SAFETENSORS_MAX_HEADER
          ? `exceeds the ${SAFETENSORS_MAX_HEADER}-byte limit`
          : `exceeds the ${bytes.length - 8} bytes after the length field`
      } (truncated file, or not safetensors)`,
    );
  }
  let header: unknown, text: string;
  try {
    // ignoreBOM keeps a byte order mark, which JSON (and the reference
    // implementation) refuses, instead of dropping it silently
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + n),
    );
    header = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${fn}: corrupt safetensors file: the ${n}-byte header is not valid UTF-8 JSON (${
        err instanceof Error ? err.message : String(err)
      })`,
      { cause: err },
    );
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new Error(
      `${fn}: corrupt safetensors file: the header must be a JSON object, got ${
        Array.isArray(header)
          ? "an array"
          : header === null
          ? "null"
          : typeof header
      }`,
    );
  }
  const dup = duplicateKey(text);
  if (dup !== null) throw new Error(`${fn}: ${twice(dup.path, dup.key)}`);
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(
        fn,
        e === null ? undefined : e,
        'the header\'s "__metadata__"',
      );
      continue;
    }
    const bad = (what: string): never => {
      throw new Error(`${fn}: header entry ${JSON.stringify(name)} ${what}`);
    };
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
      bad(
        `must be an object with "dtype", "shape" and "data_offsets", got ${
          show(e)
        }`,
      );
    }
    const entry = e as Record<string, unknown>;
    for (const field of ["dtype", "shape", "data_offsets"]) {
      if (!Object.hasOwn(entry, field)) {
        bad(
          `has no ${
            showValue(field)
          } field (expected "dtype", "shape" and "data_offsets", got ${
            show(Object.keys(entry))
          })`,
        );
      }
    }
    const st = entry.dtype;
    const known = typeof st === "string" && Object.hasOwn(FROM_ST, st)
      ? FROM_ST[st]
      : undefined;
    if (!known) {
      bad(
        `has unsupported "dtype" ${show(st)} (supported: ${
          Object.keys(FROM_ST).map((k) => `"${k}"`).join(", ")
        })`,
      );
    }
    const shape = entry.shape;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      bad(
        `has "shape" ${
          show(shape)
        }, expected an array of non-negative integers`,
      );
    }
    try {
      checkShape(fn, shape, "shape");
    } catch (err) {
      bad(
        `has "shape" ${show(shape)}: ${
          (err as Error).message.slice(fn.length + 2)
        }`,
      );
    }
    const offs = entry.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offs[0] > offs[1]
    ) {
      bad(
        `has "data_offsets" ${
          show(offs)
        }, expected [begin, end] with integers 0 <= begin <= end`,
      );
    }
    const [begin, end] = offs as [number, number];
    const need = sizeOf(shape as number[]) * known!.size;
    if (end - begin !== need) {
      bad(
        `has "shape" ${
          show(shape)
        } of ${st}, which needs ${need} bytes, but "data_offsets" [${begin}, ${end}] span ${
          end - begin
        }`,
      );
    }
    if (end > dataLength) {
      bad(
        `has "data_offsets" [${begin}, ${end}], which run past the end of the data section (${dataLength} bytes): truncated file`,
      );
    }
    tensors.push({
      name,
      dtype: known!.dtype,
      stored: st as string,
      shape: shape as number[],
      offsets: [begin, end],
    });
  }
  tensors.sort((a, b) =>
    a.offsets[0] - b.offsets[0] || a.offsets[1] - b.offsets[1]
  );
  let pos = 0;
  for (const t of tensors) {
    if (t.offsets[0] !== pos) {
      throw new Error(
        `${fn}: corrupt safetensors file: tensor "${t.name}" starts at byte ${
          t.offsets[0]
        } of the data section, expected ${pos} (${
          t.offsets[0] < pos ? "overlapping" : "a gap between"
        } tensors)`,
      );
    }
    pos = t.offsets[1];
  }
  if (pos !== dataLength) {
    throw new Error(
      `${fn}: corrupt safetensors file: the tensors cover ${pos} bytes, but the data section holds ${dataLength}`,
    );
  }
  return { tensors, metadata, dataStart };
}

function buildTree(fn: string, leaves: [string, Tensor][]): Tree {
  type Node = Map<string, Node | Tensor>;
  const root: Node = new Map();
  for (const [name, t] of leaves) {
    const parts = name.split(".");
    if (parts.some((p) => p === "")) {
      throw new Error(
        `${fn}: tensor name ${JSON.stringify(name)} has an empty path segment`,
      );
    }
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const prefix = parts.slice(0, i + 1).join(".");
      const child = node.get(p);
      if (i === parts.length - 1) {
        if (child !== undefined) {
          throw new Error(
            `${fn}: tensor "${name}" clashes with ${
              child instanceof Map
                ? `other tensors under "${prefix}."`
                : "another tensor of the same name"
            }`,
          );
        }
        node.set(p, t);
      } else if (child === undefined) {
        const next: Node = new Map();
        node.set(p, next);
        node = next;
      } else if (child instanceof Map) {
        node = child;
      } else {
        throw new Error(
          `${fn}: tensor "${name}" clashes with tensor "${prefix}" (a path cannot be both a tensor and a group)`,
        );
      }
    }
  }
  const convert = (node: Node): Tree => {
    const keys = [...node.keys()];
    const isArray = keys.length > 0 &&
      keys.every((k) => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < keys.length);
    const value = (k: string): Tree => {
      const c = node.get(k)!;
      return c instanceof Map ? convert(c) : c;
    };
    if (isArray) return keys.map((_, i) => value(String(i)));
    const out: Record<string, Tree> = {};
    for (const k of keys.sort()) out[k] = value(k);
    return out;
  };
  return convert(root);
}

/** A copy of one tensor's bytes, independent of `bytes` (widened where the file's dtype is not the library's). */
function readTensor(
  fn: string,
  bytes: Uint8Array,
  dataStart: number,
  e: SafetensorsEntry,
): Tensor {
  const raw = bytes.slice(dataStart + e.offsets[0], dataStart + e.offsets[1]);
  const n = sizeOf(e.shape);
  const { read, native } = FROM_ST[e.stored];
  if (native && LITTLE_ENDIAN) {
    const Ctor = {
      float32: Float32Array,
      float64: Float64Array,
      int32: Int32Array,
    }[e.dtype];
    return fromData(new Ctor(raw.buffer, 0, n), e.shape);
  }
  const v = new DataView(raw.buffer), data = freshData(e.dtype, n);
  for (let i = 0; i < n; i++) {
    const x = read(v, i);
    if (e.dtype === "int32" && (x < -2147483648 || x > 2147483647)) {
      throw new Error(
        `${fn}: tensor ${
          JSON.stringify(e.name)
        } (${e.stored}) holds ${x} at flat index ${i}, outside int32's range (the library's integer dtype)`,
      );
    }
    data[i] = Number(x);
  }
  return fromData(data, e.shape);
}

/** True for a leaf of a structure: `"tensor"`, a number, a boolean, null or a `{".tag": ...}` object. */
function isLeafNode(s: unknown): boolean {
  if (s === "tensor" || isLeaf(s)) return true;
  if (!isPlainObject(s)) return false;
  const keys = Object.keys(s);
  return keys.length === 1 && keys[0].startsWith(".");
}

/**
 * Builds the tree that `structure` describes (as {@linkcode flattenTree}
 * makes it, or as read from a file: then `corrupt` says so), taking each
 * leaf from `leafAt`.
 */
function unflattenTree(
  structure: unknown,
  leafAt: (path: string, node: unknown) => CheckpointLeaf,
  corrupt: (path: string, problem: string) => Error,
): CheckpointTree {
  const walk = (s: unknown, path: string, depth: number): CheckpointTree => {
    if (isLeafNode(s)) {
      if (path === "") throw corrupt(path, `the root is ${show(s)}`);
      return leafAt(path, s);
    }
    if (depth >= MAX_DEPTH) {
      throw corrupt("", `it nests deeper than ${MAX_DEPTH} levels`);
    }
    if (Array.isArray(s)) {
      return s.map((c, i) => walk(c, join(path, i), depth + 1));
    }
    if (!isPlainObject(s)) {
      throw corrupt(
        path,
        `${
          show(s)
        } is not a node ("tensor", a number, a boolean, null, {".key": [hi, lo]}, {".number": "NaN"}, an array or an object)`,
      );
    }
    return Object.fromEntries(
      Object.keys(s).map((k) => {
        if (k === "" || k.includes(".")) {
          throw corrupt(
            path,
            `the key ${JSON.stringify(k)} is empty or holds a "."`,
          );
        }
        return [k, walk(s[k], join(path, k), depth + 1)];
      }),
    );
  };
  return walk(structure, "", 0);
}

/** The tree of a file with a structure entry: its structure, with the file's tensors at their paths. */
function treeFromStructure(
  fn: string,
  text: string,
  tensors: Map<string, Tensor>,
): CheckpointTree {
  const corrupt = (path: string, problem: string) =>
    new Error(
      `${fn}: corrupt tree structure (the header's "__metadata__" entry "${SAFETENSORS_TREE_KEY}")${
        path === "" ? "" : ` at "${path}"`
      }: ${problem}`,
    );
  let structure: unknown;
  try {
    structure = JSON.parse(text);
  } catch (err) {
    throw corrupt("", `not valid JSON (${(err as Error).message})`);
  }
  const used = new Set<string>();
  const leafAt = (path: string, node: unknown): CheckpointLeaf => {
    if (node === "tensor") {
      const t = tensors.get(path);
      if (t === undefined) {
        throw corrupt(path, "a tensor the file does not hold");
      }
      used.add(path);
      return t;
    }
    if (isLeaf(node)) return node;
    const [[tag, v]] = Object.entries(node as object);
    if (
      tag === ".key" && Array.isArray(v) && v.length === 2 &&
      v.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)
    ) return makeKey(v[0], v[1]);
    if (
      tag === ".number" && ["NaN", "Infinity", "-Infinity", "-0"].includes(v)
    ) {
      return Number(v);
    }
    throw corrupt(
      path,
      `${
        show(node)
      } is not a leaf ({".key": [hi, lo]} with uint32 words, or {".number": "NaN" | "Infinity" | "-Infinity" | "-0"})`,
    );
  };
  const tree = unflattenTree(structure, leafAt, corrupt);
  const extra = [...tensors.keys()].find((name) => !used.has(name));
  if (extra !== undefined) {
    throw corrupt(
      "",
      `the file holds tensor "${extra}", which it does not name`,
    );
  }
  return tree;
}

function sameKind(a: CheckpointLeaf, b: CheckpointLeaf): boolean {
  if (isTensor(a) || isTensor(b)) {
    return isTensor(a) && isTensor(b) && a.dtype === b.dtype &&
      a.shape.length === b.shape.length &&
      a.shape.every((d, i) => d === b.shape[i]);
  }
  return what(a) === what(b);
}

/**
 * The file's tree in the structure of `like`: the leaves are compared path
 * by path (tensors by dtype and shape, other leaves by kind); the first
 * difference is an error.
 */
function matchLike(
  fn: string,
  tree: CheckpointTree,
  like: { structure: unknown; leaves: [string, CheckpointLeaf][] },
): CheckpointTree {
  const found = new Map(flattenTree(fn, "the file's tree", tree).leaves);
  const problems: string[] = [];
  const result = new Map<string, CheckpointLeaf>();
  for (const [path, want] of like.leaves) {
    if (!found.has(path)) {
      problems.push(
        `"${path}" is missing from the file (like has ${what(want)})`,
      );
      continue;
    }
    const got = found.get(path)!;
    found.delete(path);
    if (!sameKind(got, want)) {
      problems.push(
        `"${path}" is ${what(got)} in the file but ${what(want)} in like`,
      );
    }
    result.set(path, got);
  }
  for (const [path, got] of found) {
    problems.push(
      `the file has "${path}" (${what(got)}), which like does not have`,
    );
  }
  if (problems.length > 0) {
    const more = problems.length - 1;
    throw new Error(
      `${fn}: the file does not match like: ${problems[0]}${
        more === 0 ? "" : ` (and ${more} more difference${more > 1 ? "s" : ""})`
      }`,
    );
  }
  return unflattenTree(
    like.structure,
    (path) => result.get(path)!,
    (_, p) => new Error(`${fn}: ${p}`),
  );
}

/** Options for {@linkcode deserializeSafetensors} and {@linkcode loadSafetensors}. */
export interface DeserializeSafetensorsOptions<T = CheckpointTree> {
  /**
   * A template tree (a freshly initialised model's params, `opt.init(params)`,
   * a record of both): the result takes its structure, and every leaf is
   * checked against it (path, tensor dtype and shape, kind of other leaves).
   */
  like?: T;
}

/**
 * Deserializes safetensors bytes into the tree they hold, validating
 * everything before allocating, as {@linkcode parseSafetensorsHeader} does
 * (a header that names a tensor twice, or repeats a field, is an error); the
 * tensors are copies, independent of `bytes`.
 *
 * A file written by {@linkcode serializeSafetensors} holds its tree's
 * structure in `__metadata__` under {@linkcode SAFETENSORS_TREE_KEY}: the
 * tree as JSON text with `"tensor"` at each tensor (stored under its dotted
 * path), numbers, booleans and null as themselves, `{".key": [hi, lo]}` for
 * a random key and `{".number": "NaN"}` (or `"Infinity"`, `"-Infinity"`,
 * `"-0"`) for numbers JSON lacks (details on
 * {@linkcode serializeSafetensors}). It comes back as exactly that tree: objects
 * with their key order, arrays with their `{}` entries, empty objects and
 * arrays, int32 tensors as int32, random keys, numbers, booleans and null. A
 * file without that entry (written by PyTorch) is built from its dotted
 * names: a level whose keys are exactly `"0"` .. `"n-1"` becomes an array,
 * any other an object with sorted keys.
 *
 * With `options.like`, the result has the structure of that template and
 * every leaf is checked: a path of the template missing from the file, a
 * path of the file missing from the template, a tensor of another dtype or
 * shape, or another kind of leaf (a number where the template has a tensor)
 * is an error that names the path and both sides. Values come from the file
 * (the template's tensors and numbers only say what to expect). Leaves are
 * matched by path, so a PyTorch state_dict whose keys are a model's
 * parameter paths loads into that model's params, `{}` entries included.
 *
 * @param bytes The file's bytes.
 * @param options `like`: a template tree to match.
 * @returns The tree (typed as `like` when it is given).
 *
 * @example
 * ```ts
 * import { deserializeSafetensors, serializeSafetensors } from "./safetensors.ts";
 * import { tensor, zeros } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const int32 = { dtype: "int32" } as const;
 * const bytes = serializeSafetensors({ count: tensor(3, int32), mu: { w: tensor([0.5, 1]) } });
 * // a template: e.g. opt.init(freshParams)
 * const like = { count: zeros([], int32), mu: { w: zeros([2]) } };
 * const state = deserializeSafetensors(bytes, { like }); // typed as like
 * assert.deepEqual([state.count.data[0], [...state.mu.w.data]], [3, [0.5, 1]]);
 * assert.throws(() => deserializeSafetensors(bytes, { like: { ...like, mu: { w: zeros([3]) } } }), {
 *   message:
 *     'deserializeSafetensors: the file does not match like: "mu.w" is float32 [2] in the file but float32 [3] in like',
 * });
 * assert.throws(() => deserializeSafetensors(bytes.subarray(0, 20)), /deserializeSafetensors: corrupt/);
 * ```
 */
export function deserializeSafetensors<T = CheckpointTree>(
  bytes: Uint8Array,
  options?: DeserializeSafetensorsOptions<T>,
): T {
  if (options === undefined) options = {};
  const fn = "deserializeSafetensors";
  checkOptions(fn, options, ["like"]);
  const like = options.like === undefined
    ? undefined
    : flattenTree(fn, "like", options.like);
  const { tensors, metadata, dataStart } = parseHeader(fn, bytes);
  const leaves: [string, Tensor][] = tensors.map((
    e,
  ) => [e.name, readTensor(fn, bytes, dataStart, e)]);
  const structure = metadata[SAFETENSORS_TREE_KEY];
  const tree = structure === undefined
    ? buildTree(fn, leaves)
    : treeFromStructure(fn, structure, new Map(leaves));
  return (like === undefined ? tree : matchLike(fn, tree, like)) as T;
}

/** Options for {@linkcode saveSafetensors}. */
export type SaveSafetensorsOptions = SerializeSafetensorsOptions;

/**
 * Saves a tree as a safetensors file that {@linkcode loadSafetensors} turns
 * back into the same tree (and PyTorch's `safetensors.torch.load_file` into
 * a state_dict, its keys the dotted paths): the format is
 * {@linkcode serializeSafetensors}'s, the tree's structure being JSON text in
 * `__metadata__` under {@linkcode SAFETENSORS_TREE_KEY} (`"tensor"` at each
 * tensor leaf, numbers, booleans and null as themselves, `{".key": [hi, lo]}`
 * for a random key) next to `options.metadata`. Writes a temporary file in the same
 * directory and renames it over `path`, so a crash mid-save never leaves a
 * broken checkpoint; the next save removes the temporary files of killed
 * ones. A symbolic link at `path` stays: its target is replaced. Needs
 * `--allow-write` (and `--allow-read`, for the rename).
 *
 * @param path Where to write.
 * @param tree An object or array of {@linkcode CheckpointLeaf}s: params, an
 * optimizer state, or a record such as `{ params, optState, key, epoch }`.
 * @param options `metadata`: a string map stored in the header.
 *
 * @example Save a training checkpoint (runs with `--allow-read --allow-write`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { nn, optim, random } from "../mod.ts";
 * import { loadSafetensors, saveSafetensors } from "./safetensors.ts";
 * const net = nn.lenet5();
 * const params = net.init(random.key(0));
 * const opt = optim.adam({ lr: 1e-3 });
 * const optState = opt.init(params);
 * // ... train ...
 * const path = `${await Deno.makeTempDir()}/ckpt.safetensors`;
 * await saveSafetensors(path, { params, optState, key: random.key(1), epoch: 1 });
 * // the same tree back: arrays, {} entries, the key, the epoch
 * const back = await loadSafetensors<{ epoch: number }>(path);
 * assert.deepEqual(Object.keys(back), ["params", "optState", "key", "epoch"]);
 * assert.equal(back.epoch, 1);
 * ```
 */
export async function saveSafetensors(
  path: string,
  tree: CheckpointTree,
  options?: SaveSafetensorsOptions,
): Promise<void> {
  if (options === undefined) options = {};
  const fn = "saveSafetensors";
  checkOptions(fn, options, ["metadata"]);
  const bytes = rethrowAs(
    fn,
    "serializeSafetensors",
    () => serializeSafetensors(tree, options),
  );
  await writeBytesAtomic(fn, path, bytes);
}

/**
 * Loads a safetensors file (ours, or one written from PyTorch) into the
 * tree it holds, as {@linkcode deserializeSafetensors}: exactly the tree
 * that {@linkcode saveSafetensors} saved (its structure is JSON text in
 * `__metadata__` under {@linkcode SAFETENSORS_TREE_KEY}: `"tensor"` at each
 * tensor leaf, numbers, booleans and null as themselves, `{".key": [hi, lo]}`
 * for a random key; see {@linkcode serializeSafetensors}), or, for a file
 * without that entry (PyTorch's), the tree of its dotted names. With
 * `options.like`, the result has the template's structure and every leaf is
 * checked (a missing or extra path, another dtype or shape is an error that
 * names the path and both sides). Needs `--allow-read`.
 *
 * @param path The file.
 * @param options `like`: a template tree to match (fresh params,
 * `opt.init(params)`, ...).
 * @returns The tree (typed as `like` when it is given).
 *
 * @example Resume from a training checkpoint (runs with `--allow-read`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { nn, optim, random, toArray } from "../mod.ts";
 * import { loadSafetensors, saveSafetensors } from "./safetensors.ts";
 * const net = nn.lenet5();
 * const fresh = net.init(random.key(0));
 * const opt = optim.adam({ lr: 1e-3 });
 * const like = { params: fresh, optState: opt.init(fresh), key: random.key(0), epoch: 0 };
 * const path = `${await Deno.makeTempDir()}/ckpt.safetensors`;
 * await saveSafetensors(path, { ...like, epoch: 3 });
 * const { params, epoch } = await loadSafetensors(path, { like });
 * assert.equal(epoch, 3);
 * assert.deepEqual(toArray(params.conv1.bias), toArray(fresh.conv1.bias));
 * // a state_dict saved from PyTorch (keys conv1.weight, ...) loads as
 * // params the same way: loadSafetensors(torchFile, { like: fresh })
 * ```
 */
export async function loadSafetensors<T = CheckpointTree>(
  path: string,
  options?: DeserializeSafetensorsOptions<T>,
): Promise<T> {
  if (options === undefined) options = {};
  const fn = "loadSafetensors";
  checkOptions(fn, options, ["like"]);
  if (options.like !== undefined) flattenTree(fn, "like", options.like);
  const bytes = await readBytes(fn, path);
  return rethrowAs(
    fn,
    "deserializeSafetensors",
    () => deserializeSafetensors(bytes, options),
    path,
  );
}

/**
 * The user's `__metadata__` string map of safetensors bytes (empty when
 * absent): what was given to {@linkcode serializeSafetensors} as
 * `metadata`, without the tree's structure entry. Reads only the header.
 *
 * @example
 * ```ts
 * import { safetensorsMetadata, serializeSafetensors } from "./safetensors.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const bytes = serializeSafetensors({ w: tensor([1]) }, { metadata: { epoch: "7" } });
 * assert.deepEqual(safetensorsMetadata(bytes), { epoch: "7" });
 * ```
 */
export function safetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  const { [SAFETENSORS_TREE_KEY]: _, ...user } =
    parseHeader("safetensorsMetadata", bytes).metadata;
  return user;
}
