/**
 * What every kernel template shares: the link to the manifest (`kernel`
 * declares a function with the parameters `manifest.ts` lists for it;
 * {@linkcode F} gives the function indices `call` takes), the template
 * types, and short names for the assembler's most used instructions.
 *
 * A template is a function of the build options that returns one kernel:
 *
 * ```
 * const zero: Template = () =>
 *   kernel("zero", { e: I32 }, (p, l) => [set(l.e, add(get(p.dst), get(p.bytes))), ...]);
 * ```
 *
 * `p` holds the index of each parameter named in the manifest ("dst bytes"),
 * `l` the index of each local declared here.
 *
 * @module
 */
import {
  type Code,
  f32,
  f32x4,
  type Func,
  func,
  get,
  I32,
  i32,
  v128,
  type ValType,
} from "../_asm.ts";
import {
  type Family,
  KERNEL_INDEX,
  type KernelName,
  type KernelsOf,
  type ParamsOf,
  paramsOf,
} from "../manifest.ts";
import { KU } from "../layout.ts";

/** Build options: the relaxed-SIMD multiply-add or the plain-SIMD one. */
export interface KernelOptions {
  /** Emit f32x4.relaxed_madd (else f32x4.mul + f32x4.add). */
  relaxed: boolean;
}

/** What a template is given: the options, and what depends on them. */
export interface EmitContext extends KernelOptions {
  /** acc + a·b on f32x4 (fused or not as the options say). */
  madd(a: Code, b: Code, acc: Code): Code;
}

/** The context for the options `opts`. */
export function emitContext(opts: KernelOptions): EmitContext {
  return {
    relaxed: opts.relaxed,
    madd: (a, b, acc) =>
      opts.relaxed
        ? f32x4.relaxedMadd(a, b, acc)
        : f32x4.add(f32x4.mul(a, b), acc),
  };
}

/** A kernel's template: the function, for the given context. */
export type Template = (ctx: EmitContext) => Func;

/**
 * The templates of family `Fam`: one for each of its kernels in the
 * manifest, no more (so a kernel without a template, or in the wrong
 * file, is a type error).
 */
export type FamilyTemplates<Fam extends Family> = {
  readonly [K in KernelsOf<Fam>]: Template;
};

/** Each kernel's function index, for `call(F.zero, ...)`. */
export const F: { readonly [K in KernelName]: number } = KERNEL_INDEX;

/**
 * Declares kernel `name`: its parameters (all i32) are the ones the
 * manifest lists, `locals` its extra locals, and `body` gets the index of
 * each (`p`, `l`) by name.
 */
export function kernel<
  K extends KernelName,
  L extends Record<string, ValType>,
>(
  name: K,
  locals: L,
  body: (
    p: { [P in ParamsOf<K>[number]]: number },
    l: { [N in keyof L]: number },
  ) => Code,
): Func {
  const params = Object.fromEntries(
    paramsOf(name).map((p) => [p, I32]),
  ) as { [P in ParamsOf<K>[number]]: typeof I32 };
  return func(name, params, locals, body);
}

// ---------------------------------------------------------------------------
// short names over the assembler

/** i32.const. */
export const c: (v: number) => Code = i32.const_;
/** i32.add. */
export const add: (a: Code, b: Code) => Code = i32.add;
/** i32.mul. */
export const mul: (a: Code, b: Code) => Code = i32.mul;
/** i32.sub. */
export const sub: (a: Code, b: Code) => Code = i32.sub;
/** 4·x: an element count as bytes. */
export const x4 = (x: Code): Code => i32.shl(x, c(2));
/** Stores f32 `v` as a vector of 4 copies at `addr`. */
export const storeSplat = (addr: Code, v: Code): Code =>
  v128.store(addr, f32x4.splat(v));
/** The smaller of two i32 (signed). */
export const min = (a: Code, b: Code): Code => i32.select(a, b, i32.lt_s(a, b));
/** The larger of two i32 (signed). */
export const max = (a: Code, b: Code): Code => i32.select(a, b, i32.gt_s(a, b));
/**
 * relu of a vector, `max(v, 0)` with NaN kept and -0 made 0 (the relu
 * rule's values): `pmax(v, 0)` is `v < 0 ? 0 : v` (NaN and -0 pass through,
 * -inf gives 0), then adding +0 turns -0 into +0 and changes nothing else.
 * One `maxps` and one `addps` on x64, where `max` costs about eight.
 */
export const reluVec = (
  v: Code,
  t: { pmax: (a: Code, b: Code) => Code; add: (a: Code, b: Code) => Code } =
    f32x4,
): Code => t.add(t.pmax(v, v128.zero()), v128.zero());

/** Reads i32 field `off` of the record at local `rec`. */
export const field = (rec: number, off: number): Code =>
  i32.load(get(rec), off);
/** Rounds up to a multiple of KU (a power of two). */
export const roundKU = (x: Code): Code => i32.and(add(x, c(KU - 1)), c(-KU));
/** f32 lanes as i8x16.shuffle byte indices (0-3 from a, 4-7 from b). */
export const lanes = (...ls: number[]): number[] =>
  ls.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);

/** `cond ? v : 0` for an i32 value and an i32 condition. */
export function if_i32(cond: Code, v: Code): Code {
  return i32.select(v, c(0), cond);
}

/** `cond ? v : 0` for an f32 value and an i32 condition. */
export function if_f32(cond: Code, v: Code): Code {
  return f32.select(v, f32.const_(0), cond);
}
