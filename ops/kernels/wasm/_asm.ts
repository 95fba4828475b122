/**
 * A very small WebAssembly assembler: just enough of the binary format to
 * write the float32 and float64 kernels (the templates in `gen/`) in
 * TypeScript, with no toolchain. Read it as documentation of the encoding.
 *
 * Code is written in the "folded" style of the text format: an instruction
 * takes its operands as arguments, and the bytes come out in stack order
 * (operands first, then the opcode):
 *
 * ```ts
 * import { flat, get, i32 } from "./_asm.ts";
 * import assert from "node:assert/strict";
 * // local.get 0 (20 00), i32.const 4 (41 04), i32.add (6a)
 * assert.deepEqual(flat(i32.add(get(0), i32.const_(4))), [0x20, 0, 0x41, 4, 0x6a]);
 * ```
 *
 * A piece of code is a `Code`: a byte, or a (nested) array of them, flattened
 * when the function is assembled.
 *
 * The binary format in one paragraph (WebAssembly Core Specification, ch. 5):
 * a module is the magic `\0asm`, version 1, then sections, each `id`,
 * `byte length` (unsigned LEB128) and contents. Vectors are a LEB128 count and
 * their items. Integers in immediates are LEB128: 7 bits a byte, low bits
 * first, the high bit set on every byte but the last; signed values
 * sign-extend from bit 6 of the last byte. Value types are single bytes
 * (i32 0x7f, i64 0x7e, f32 0x7d, f64 0x7c, v128 0x7b).
 *
 * @module
 */

/** Bytes, or nested arrays of bytes (flattened on assembly). */
export type Code = number | readonly Code[];

/** Value types. */
export const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
/** A value type byte. */
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

/** Flattens nested code into a byte list. */
export function flat(code: Code, out: number[] = []): number[] {
  if (typeof code === "number") out.push(code);
  else for (const c of code) flat(c, out);
  return out;
}

/** Unsigned LEB128: 7 bits per byte, low first, high bit = "more follows". */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128: like uleb, stops once the rest is all sign bits (bit 6 of the last byte). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) ||
      (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A string as a vector of UTF-8 bytes. */
function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

/** A vector: count, then the items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

// ---------------------------------------------------------------------------
// locals and control

/** local.get (0x20 idx). */
export const get = (i: number): Code => [0x20, uleb(i)];
/** local.set (0x21 idx): pops the value. */
export const set = (i: number, v: Code): Code => [v, 0x21, uleb(i)];
/** local.tee (0x22 idx): sets and keeps the value on the stack. */
export const tee = (i: number, v: Code): Code => [v, 0x22, uleb(i)];

/** block (0x02, empty block type 0x40) ... end (0x0b). Branch depth 0 inside jumps to its end. */
export const block = (...body: Code[]): Code => [0x02, 0x40, body, 0x0b];
/** loop (0x03 0x40) ... end. Branch depth 0 inside jumps back to its start. */
export const loop = (...body: Code[]): Code => [0x03, 0x40, body, 0x0b];
/** if (0x04 0x40) then [else (0x05)] end, on a popped i32 condition. */
export const if_ = (cond: Code, then: Code[], else_?: Code[]): Code => [
  cond,
  0x04,
  0x40,
  then,
  else_ ? [0x05, else_] : [],
  0x0b,
];
/** br (0x0c depth). */
export const br = (depth: number): Code => [0x0c, uleb(depth)];
/** br_if (0x0d depth) on a popped condition. */
export const brIf = (depth: number, cond: Code): Code => [
  cond,
  0x0d,
  uleb(depth),
];
/** call (0x10 funcidx). */
export const call = (fn: number, ...args: Code[]): Code => [
  args,
  0x10,
  uleb(fn),
];
/** return (0x0f). */
export const ret: Code = 0x0f;

/**
 * `for (i = start; i < end; i += step) body` as
 * `block loop (br_if 1 (i >= end)) body (i += step) (br 0) end end`.
 * `end` is re-evaluated each turn, so keep it a local or a constant. The
 * comparison is signed.
 */
export function for_(
  i: number,
  start: Code,
  end: Code,
  step: Code,
  ...body: Code[]
): Code {
  return [
    set(i, start),
    block(loop(
      brIf(1, i32.ge_s(get(i), end)),
      body,
      set(i, i32.add(get(i), step)),
      br(0),
    )),
  ];
}

/** `while (cond) body`. */
export function while_(cond: Code, ...body: Code[]): Code {
  return block(loop(brIf(1, i32.eqz(cond)), body, br(0)));
}

// ---------------------------------------------------------------------------
// numeric instructions: one byte each, operands first

const op = (...opcode: number[]) => (...args: Code[]): Code => [args, opcode];

/** i32 instructions. */
export const i32 = {
  /** i32.const (0x41, signed LEB128 immediate). */
  const_: (v: number): Code => [0x41, sleb(v | 0)],
  eqz: op(0x45),
  eq: op(0x46),
  ne: op(0x47),
  lt_s: op(0x48),
  lt_u: op(0x49),
  gt_s: op(0x4a),
  le_s: op(0x4c),
  ge_s: op(0x4e),
  ge_u: op(0x4f),
  add: op(0x6a),
  sub: op(0x6b),
  mul: op(0x6c),
  div_s: op(0x6d),
  div_u: op(0x6e),
  rem_s: op(0x6f),
  and: op(0x71),
  or: op(0x72),
  shl: op(0x74),
  shr_s: op(0x75),
  /** i32.popcnt (0x69): the number of one bits. */
  popcnt: op(0x69),
  /** i32.select (0x1b): a if c else b. */
  select: (a: Code, b: Code, c: Code): Code => [a, b, c, 0x1b],
  /** i32.load (0x28 align offset): align is log2 bytes. */
  load: (addr: Code, offset = 0): Code => [addr, 0x28, 2, uleb(offset)],
  store: (addr: Code, v: Code, offset = 0): Code => [
    addr,
    v,
    0x36,
    2,
    uleb(offset),
  ],
};

/** f32 instructions. */
export const f32 = {
  /** f32.const (0x43, 4 bytes little-endian IEEE 754). */
  const_: (v: number): Code => [
    0x43,
    ...new Uint8Array(new Float32Array([v]).buffer),
  ],
  load: (addr: Code, offset = 0): Code => [addr, 0x2a, 2, uleb(offset)],
  store: (addr: Code, v: Code, offset = 0): Code => [
    addr,
    v,
    0x38,
    2,
    uleb(offset),
  ],
  eq: op(0x5b),
  ne: op(0x5c),
  gt: op(0x5e),
  le: op(0x5f),
  add: op(0x92),
  sub: op(0x93),
  mul: op(0x94),
  div: op(0x95),
  max: op(0x97),
  /** select (0x1b) works for every number type. */
  select: (a: Code, b: Code, c: Code): Code => [a, b, c, 0x1b],
  /** f32.demote_f64 (0xb6): a float64 rounded to float32. */
  demote: op(0xb6),
  /** f32.reinterpret_i32 (0xbe): the same 32 bits read as a float. */
  fromBits: op(0xbe),
  /** i32.reinterpret_f32 (0xbc): a float's 32 bits as an integer. */
  bits: op(0xbc),
};

/** f64 instructions (the float64 kernels). */
export const f64 = {
  /** f64.const (0x44, 8 bytes little-endian IEEE 754). */
  const_: (v: number): Code => [
    0x44,
    ...new Uint8Array(new Float64Array([v]).buffer),
  ],
  load: (addr: Code, offset = 0): Code => [addr, 0x2b, 3, uleb(offset)],
  store: (addr: Code, v: Code, offset = 0): Code => [
    addr,
    v,
    0x39,
    3,
    uleb(offset),
  ],
  eq: op(0x61),
  ne: op(0x62),
  gt: op(0x64),
  add: op(0xa0),
  max: op(0xa5),
  /** f64.promote_f32 (0xbb): a float32 as a float64, exactly. */
  promote: op(0xbb),
};

/** Memory bulk operations (0xfc prefix). */
export const memory = {
  /** memory.copy (0xfc 10, memory 0, memory 0): dst, src, byte count. */
  copy: (dst: Code, src: Code, n: Code): Code => [dst, src, n, 0xfc, 10, 0, 0],
  /** memory.fill (0xfc 11, memory 0): dst, byte value, byte count. */
  fill: (dst: Code, v: Code, n: Code): Code => [dst, v, n, 0xfc, 11, 0],
};

// ---------------------------------------------------------------------------
// SIMD: prefix 0xfd, then the opcode as an unsigned LEB128 (so opcodes
// >= 128 take two bytes: f32x4.relaxed_madd 0x105 is fd 85 02).

const simd = (code: number) => (...args: Code[]): Code => [
  args,
  0xfd,
  uleb(code),
];
const simdMem = (code: number) => (addr: Code, offset = 0): Code => [
  addr,
  0xfd,
  uleb(code),
  4, // alignment hint log2(16); unaligned addresses still work
  uleb(offset),
];

/** v128 instructions. */
export const v128 = {
  /** v128.load (fd 00 memarg). */
  load: simdMem(0x00),
  /** v128.load32_splat (fd 09): one f32 from memory into all four lanes. */
  load32Splat: (addr: Code, offset = 0): Code => [
    addr,
    0xfd,
    0x09,
    2,
    uleb(offset),
  ],
  /** v128.load64_splat (fd 0a): one f64 from memory into both lanes. */
  load64Splat: (addr: Code, offset = 0): Code => [
    addr,
    0xfd,
    0x0a,
    3,
    uleb(offset),
  ],
  /** v128.store (fd 0b memarg): address, then value. */
  store: (addr: Code, v: Code, offset = 0): Code => [
    addr,
    v,
    0xfd,
    0x0b,
    4,
    uleb(offset),
  ],
  /** v128.store32_lane (fd 5a memarg lane): lane `lane` of v to address. */
  store32Lane: (addr: Code, v: Code, lane: number, offset = 0): Code => [
    addr,
    v,
    0xfd,
    0x5a,
    2,
    uleb(offset),
    lane,
  ],
  /** v128.const (fd 0c, 16 bytes): here all-zero or a splatted f32. */
  zero: (): Code => [0xfd, 0x0c, new Array(16).fill(0)],
  /** v128.const (fd 0c, 16 bytes) of four i32 lanes (little-endian). */
  i32Const: (lanes: [number, number, number, number]): Code => [
    0xfd,
    0x0c,
    lanes.flatMap((v) => [v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24]),
  ],
  /**
   * i8x16.shuffle (fd 0d, 16 lane indices): byte i of the result is byte
   * `lanes[i]` of a (0-15) or of b (16-31).
   */
  shuffle: (
    a: Code,
    b: Code,
    lanes: number[],
  ): Code => [a, b, 0xfd, 0x0d, lanes],
  and: simd(0x4e),
  andnot: simd(0x4f),
  or: simd(0x50),
  /** v128.bitselect (fd 52): bits of a where mask is 1, else b. */
  bitselect: simd(0x52),
  anyTrue: simd(0x53),
  /**
   * i8x16.swizzle (fd 0e): byte i of the result is byte `idx[i]` of a, or
   * 0 where `idx[i]` is 16 or more.
   */
  swizzle: simd(0x0e),
};

/** i32x4 lane-wise instructions. */
export const i32x4 = {
  splat: simd(0x11),
  /** i32x4.eq (fd 37): all ones where a == b, else zero. */
  eq: simd(0x37),
  /** i32x4.ge_s (fd 3f): all ones where a >= b (signed), else zero. */
  geS: simd(0x3f),
  /** i32x4.shl (fd ab 01): each lane shifted left by an i32 count. */
  shl: simd(0xab),
  add: simd(0xae),
  /** i32x4.sub (fd b1 01): a - b in each lane. */
  sub: simd(0xb1),
  /** i32x4.bitmask (fd a4 01): bit i of the i32 result is lane i's top bit. */
  bitmask: simd(0xa4),
};

/** f32x4 lane-wise instructions. */
export const f32x4 = {
  splat: simd(0x13),
  /** f32x4.extract_lane (fd 1f lane). */
  extractLane: (v: Code, lane: number): Code => [v, 0xfd, 0x1f, lane],
  eq: simd(0x41),
  ne: simd(0x42),
  lt: simd(0x43),
  gt: simd(0x44),
  le: simd(0x45),
  abs: simd(0xe0),
  neg: simd(0xe1),
  sqrt: simd(0xe3),
  /** f32x4.demote_f64x2_zero (fd 5e): the two f64 lanes rounded to float32, then two zeros. */
  demoteZero: simd(0x5e),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
  min: simd(0xe8),
  max: simd(0xe9),
  /**
   * f32x4.pmax (fd eb): `a < b ? b : a` lane-wise (one `maxps` on x64, where
   * `max`, with its NaN and ±0 rules, takes about eight instructions).
   */
  pmax: simd(0xeb),
  /**
   * f32x4.relaxed_madd (fd 0x105 = fd 85 02): a·b + c, fused or not at the
   * engine's choice (the relaxed-SIMD proposal). One vfmadd on x64 with FMA.
   */
  relaxedMadd: simd(0x105),
};

/** f64x2 lane-wise instructions (the float64 kernels). */
export const f64x2 = {
  splat: simd(0x14),
  /** f64x2.extract_lane (fd 21 lane). */
  extractLane: (v: Code, lane: number): Code => [v, 0xfd, 0x21, lane],
  /** f64x2.eq (fd 47): all ones where a == b, else zero. */
  eq: simd(0x47),
  ne: simd(0x48),
  gt: simd(0x4a),
  le: simd(0x4b),
  add: simd(0xf0),
  mul: simd(0xf2),
  max: simd(0xf5),
  /** f64x2.pmax (fd f7): `a < b ? b : a` lane-wise (as f32x4.pmax). */
  pmax: simd(0xf7),
  /** f64x2.promote_low_f32x4 (fd 5f): lanes 0 and 1 of an f32x4, exactly. */
  promoteLow: simd(0x5f),
};

// ---------------------------------------------------------------------------
// functions and the module

/** One function: its signature, its extra locals, and its body. */
export interface Func {
  /** The export name. */
  name: string;
  /** The parameters' types (locals 0, 1, ...). */
  params: ValType[];
  /** The results' types. */
  results: ValType[];
  /** The types of the locals after the parameters. */
  locals: ValType[];
  /** The instructions. */
  body: Code;
  /** Whether the module exports it (by `name`). */
  export: boolean;
}

/**
 * Declares locals by name for a function: `p` maps each parameter name to its
 * index, `l` each local name (after the parameters).
 */
export function func<
  P extends Record<string, ValType>,
  L extends Record<string, ValType>,
>(
  fname: string,
  params: P,
  locals: L,
  body: (p: { [K in keyof P]: number }, l: { [K in keyof L]: number }) => Code,
  options: { results?: ValType[]; export?: boolean } = {},
): Func {
  const pi = {} as { [K in keyof P]: number };
  const li = {} as { [K in keyof L]: number };
  let i = 0;
  for (const k of Object.keys(params)) (pi as Record<string, number>)[k] = i++;
  for (const k of Object.keys(locals)) (li as Record<string, number>)[k] = i++;
  return {
    name: fname,
    params: Object.values(params),
    results: options.results ?? [],
    locals: Object.values(locals),
    body: body(pi, li),
    export: options.export ?? true,
  };
}

/**
 * Assembles a module that imports a shared memory `env.memory` (limits
 * min/max pages) and exports the given functions by name.
 */
export function assemble(
  funcs: Func[],
  memoryPages: { min: number; max: number },
): Uint8Array<ArrayBuffer> {
  const section = (id: number, body: number[]) => [
    id,
    ...uleb(body.length),
    ...body,
  ];
  // type section (1): one function type (0x60 params results) per function
  const types = funcs.map((
    f,
  ) => [
    0x60,
    ...vec(f.params.map((t) => [t])),
    ...vec(f.results.map((t) => [t])),
  ]);
  // import section (2): "env" "memory", kind 2 (memory), limits flag 3
  // (has max, shared), min, max
  const imports = [[
    ...name("env"),
    ...name("memory"),
    0x02,
    0x03,
    ...uleb(memoryPages.min),
    ...uleb(memoryPages.max),
  ]];
  // function section (3): the type index of each function (type i for function i)
  const fsec = funcs.map((_, i) => uleb(i));
  // export section (7): name, kind 0 (function), function index
  const exps = funcs.flatMap((f, i) =>
    f.export ? [[...name(f.name), 0x00, ...uleb(i)]] : []
  );
  // code section (10): per function its byte size, locals as runs of
  // (count, type), the body's instructions, end (0x0b)
  const codes = funcs.map((f) => {
    const runs: number[][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const body = [
      ...vec(runs.map(([n, t]) => [...uleb(n), t])),
      ...flat(f.body),
      0x0b,
    ];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d, // magic "\0asm"
    0x01,
    0x00,
    0x00,
    0x00, // version 1
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(fsec)),
    ...section(7, vec(exps)),
    ...section(10, vec(codes)),
  ]);
}
