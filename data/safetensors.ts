/**
 * Checkpoints in the safetensors format (as written by Hugging Face's
 * `safetensors` and readable from PyTorch): an 8-byte little-endian header
 * length N, N bytes of JSON header (space-padded to a multiple of 8), then the
 * raw little-endian tensor bytes.
 *
 * Tensor names are the dotted paths of {@linkcode treePaths} (PyTorch
 * state_dict keys: `"0.weight"`, `"conv1.bias"`). Loading rebuilds the
 * nested tree; a level whose keys are exactly `"0"` .. `"n-1"` becomes an
 * array (a sequential model's parameter list), any other level an object.
 *
 * Supported dtypes: float32 (`F32`), float64 (`F64`), int32 (`I32`). Files
 * holding other dtypes (`BF16`, `F16`, `I64`, ...) are refused with a clear
 * error; convert them in PyTorch first (e.g. `t.float()`, `t.int()`).
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
import {
  checkOptions,
  type DType,
  fromData,
  isTensor,
  sizeOf,
  type Tensor,
  type TypedArray,
} from "../ops/tensor.ts";
import { type Tree, treePaths } from "../ops/tree.ts";
import { checkBytes, readBytes, rethrowAs, writeBytesAtomic } from "./_io.ts";

/** The largest JSON header accepted (100 MB), as the reference implementation. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

const TO_ST: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  int32: "I32",
};
const FROM_ST: Record<string, { dtype: DType; size: number }> = {
  F32: { dtype: "float32", size: 4 },
  F64: { dtype: "float64", size: 8 },
  I32: { dtype: "int32", size: 4 },
};

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  /** The tensor's name (a dotted path). */
  name: string;
  /** Its dtype. */
  dtype: DType;
  /** Its shape. */
  shape: number[];
  /** Byte range `[begin, end)` within the data section. */
  offsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** The tensors, in data order. */
  tensors: SafetensorsEntry[];
  /** The `__metadata__` string map (empty when absent). */
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

/** Checks the tree's keys so that their dotted paths name tensors unambiguously. */
function checkKeys(fn: string, tree: unknown, path: string): void {
  if (isTensor(tree)) return;
  if (Array.isArray(tree)) {
    tree.forEach((c, i) =>
      checkKeys(fn, c, path === "" ? `${i}` : `${path}.${i}`)
    );
    return;
  }
  if (typeof tree === "object" && tree !== null) {
    for (const [k, v] of Object.entries(tree)) {
      if (k === "" || k.includes(".")) {
        throw new Error(
          `${fn}: key ${JSON.stringify(k)}${
            path ? ` under "${path}"` : ""
          } cannot be stored: keys must be non-empty and contain no "." (dots separate the levels of a path)`,
        );
      }
      if (path === "" && k === "__metadata__") {
        throw new Error(
          `${fn}: the top-level key "__metadata__" is reserved by the safetensors format`,
        );
      }
      checkKeys(fn, v, path === "" ? k : `${path}.${k}`);
    }
  }
}

/**
 * Serializes a tree of tensors (nested objects and arrays) to safetensors
 * bytes. Names are the dotted paths of `treePaths`; `metadata` is an
 * optional string map stored as `__metadata__`.
 *
 * @example
 * ```ts
 * import { deserializeSafetensors, serializeSafetensors } from "./safetensors.ts";
 * import { tensor, toArray } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * import { treePaths } from "../ops/tree.ts";
 * const params = [{ weight: tensor([[1, 2]]), bias: tensor([0.5]) }];
 * const bytes = serializeSafetensors(params, { epoch: "3" });
 * const back = deserializeSafetensors(bytes);
 * assert.ok(Array.isArray(back)); // keys "0.bias", "0.weight": an array again
 * const leaves = treePaths(back).map(([name, t]) => [name, toArray(t)]);
 * assert.deepEqual(leaves, [["0.bias", [0.5]], ["0.weight", [[1, 2]]]]);
 * ```
 */
export function serializeSafetensors(
  tree: Tree,
  metadata?: Record<string, string>,
): Uint8Array {
  const fn = "serializeSafetensors";
  const meta = checkMetadata(fn, metadata);
  if (isTensor(tree)) {
    throw new Error(
      `${fn}: tree must be an object or array of tensors (a bare tensor has no name); wrap it, e.g. { x: t }`,
    );
  }
  checkKeys(fn, tree, "");
  const paths = treePaths(tree);
  const header: Record<string, unknown> = {};
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let offset = 0;
  for (const [name, t] of paths) {
    const st = TO_ST[t.dtype];
    if (!st) {
      throw new Error(
        `${fn}: tensor "${name}" has unsupported dtype ${
          JSON.stringify(t.dtype)
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
  for (const [, t] of paths) {
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
 *
 * @example
 * ```ts
 * import { parseSafetensorsHeader, serializeSafetensors } from "./safetensors.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const h = parseSafetensorsHeader(serializeSafetensors({ w: tensor([1, 2, 3]) }, { a: "b" }));
 * assert.deepEqual(h.tensors.map((t) => [t.name, t.dtype, t.shape]), [["w", "float32", [3]]]);
 * assert.deepEqual(h.metadata, { a: "b" });
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
    text = new TextDecoder("utf-8", { fatal: true }).decode(
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
            JSON.stringify(field)
          } field (expected "dtype", "shape" and "data_offsets", got ${
            show(Object.keys(entry))
          })`,
        );
      }
    }
    const st = entry.dtype;
    const known = typeof st === "string" ? FROM_ST[st] : undefined;
    if (!known) {
      bad(
        `has unsupported "dtype" ${
          show(st)
        } (supported: "F32", "F64", "I32"; convert it in PyTorch first, e.g. .float() or .int())`,
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

/**
 * Deserializes safetensors bytes into a tree of tensors (see the module docs
 * for how names become nested objects and arrays). Validates everything
 * before allocating, as {@linkcode parseSafetensorsHeader} (a header that
 * names a tensor twice, or repeats a field, is an error); the tensors are
 * copies, independent of `bytes`.
 *
 * @example
 * ```ts
 * import { deserializeSafetensors, serializeSafetensors } from "./safetensors.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * import { treePaths } from "../ops/tree.ts";
 * const bytes = serializeSafetensors({ conv1: { bias: tensor([1, 2], { dtype: "int32" }) } });
 * const [[name, bias]] = treePaths(deserializeSafetensors(bytes));
 * assert.equal(name, "conv1.bias");
 * assert.equal(bias.dtype, "int32");
 * assert.throws(() => deserializeSafetensors(bytes.subarray(0, 20)), /deserializeSafetensors: corrupt/);
 * ```
 */
export function deserializeSafetensors(bytes: Uint8Array): Tree {
  const fn = "deserializeSafetensors";
  const { tensors, dataStart } = parseHeader(fn, bytes);
  const leaves: [string, Tensor][] = tensors.map((e) => {
    const raw = bytes.slice(dataStart + e.offsets[0], dataStart + e.offsets[1]);
    const n = sizeOf(e.shape);
    let data: TypedArray;
    if (LITTLE_ENDIAN) {
      data = e.dtype === "float32"
        ? new Float32Array(raw.buffer, 0, n)
        : e.dtype === "float64"
        ? new Float64Array(raw.buffer, 0, n)
        : new Int32Array(raw.buffer, 0, n);
    } else {
      const v = new DataView(raw.buffer);
      data = e.dtype === "float32"
        ? Float32Array.from({ length: n }, (_, i) => v.getFloat32(4 * i, true))
        : e.dtype === "float64"
        ? Float64Array.from({ length: n }, (_, i) => v.getFloat64(8 * i, true))
        : Int32Array.from({ length: n }, (_, i) => v.getInt32(4 * i, true));
    }
    return [e.name, fromData(data, e.shape)];
  });
  return buildTree(fn, leaves);
}

/** Options for {@linkcode saveSafetensors}. */
export interface SaveSafetensorsOptions {
  /** A string map stored as `__metadata__` (e.g. `{ epoch: "3" }`). */
  metadata?: Record<string, string>;
}

/**
 * Saves a tree of tensors as a safetensors file. Writes a temporary file in
 * the same directory and renames it over `path`, so a crash mid-save never
 * leaves a broken checkpoint; the next save removes the temporary files of
 * killed ones. A symbolic link at `path` stays: its target is replaced.
 * Needs `--allow-write` (and `--allow-read`, for the rename).
 *
 * @example
 * ```ts ignore
 * import { loadSafetensors, saveSafetensors } from "./safetensors.ts";
 * await saveSafetensors("model.safetensors", params, { metadata: { epoch: "3" } });
 * const restored = await loadSafetensors("model.safetensors");
 * ```
 */
export async function saveSafetensors(
  path: string,
  tree: Tree,
  options: SaveSafetensorsOptions = {},
): Promise<void> {
  const fn = "saveSafetensors";
  checkOptions(fn, options, ["metadata"]);
  const bytes = rethrowAs(
    fn,
    "serializeSafetensors",
    () => serializeSafetensors(tree, options.metadata),
  );
  await writeBytesAtomic(fn, path, bytes);
}

/**
 * Loads a safetensors file (ours, or one written from PyTorch) into a tree
 * of tensors, as {@linkcode deserializeSafetensors}. Needs `--allow-read`.
 *
 * @example
 * ```ts ignore
 * import { loadSafetensors } from "./safetensors.ts";
 * const params = await loadSafetensors("model.safetensors");
 * ```
 */
export async function loadSafetensors(path: string): Promise<Tree> {
  const fn = "loadSafetensors";
  const bytes = await readBytes(fn, path);
  return rethrowAs(
    fn,
    "deserializeSafetensors",
    () => deserializeSafetensors(bytes),
    path,
  );
}

/**
 * The `__metadata__` string map of safetensors bytes (empty when absent),
 * reading only the header.
 *
 * @example
 * ```ts
 * import { safetensorsMetadata, serializeSafetensors } from "./safetensors.ts";
 * import { tensor } from "../ops/tensor.ts";
 * import assert from "node:assert/strict";
 * const bytes = serializeSafetensors({ w: tensor([1]) }, { epoch: "7" });
 * assert.deepEqual(safetensorsMetadata(bytes), { epoch: "7" });
 * ```
 */
export function safetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  return parseHeader("safetensorsMetadata", bytes).metadata;
}
