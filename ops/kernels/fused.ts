/**
 * `jit`'s fused float32 kernels: a chain of elementwise steps (add, sub,
 * mul, div, neg, abs, sqrt, maximum, where, sign, and copy: a broadcast of
 * a scalar; see `Rule.simd`) assembled at plan time
 * into its own small WebAssembly function on the runtime's memory, four
 * lanes a step. Each lane operation rounds as the TypeScript loop's
 * `Math.fround(a op b)` does (float32 arithmetic and sqrt give the rounded
 * exact result, as the double result rounded to float32 does: double has
 * more than twice float32's precision), so the bits are the
 * fused JavaScript loop's; the kernel is several times faster on large
 * arrays (an optimizer's update over every parameter).
 *
 * @module
 */
import type { TypedArray } from "../tensor.ts";
import type { SimdOp } from "../grad_types.ts";
import {
  assemble,
  block,
  br,
  brIf,
  call,
  type Code,
  f32,
  f32x4,
  for_,
  func,
  get,
  I32,
  i32,
  i32x4,
  loop,
  set,
  V128,
  v128,
  type ValType,
} from "./wasm/_asm.ts";
import { MEMORY_PAGES } from "./wasm/layout.ts";
import { bytesFor, runtime } from "./wasm/runtime.ts";

/** 1.0 in every f32 lane. */
const ONE = v128.i32Const([0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000]);

/** An operand of a step: input `k` of the kernel, or the result of step `j` before it. */
export type Operand = { input: number } | { step: number };

/** A fused chain of float32 lane operations over `n` elements. */
export interface SimdProgram {
  /** Each input: an array of n, or a scalar (one element), float32 or int32. */
  inputs: readonly { scalar: boolean; dtype: "float32" | "int32" }[];
  /** The steps in order; `where` takes (condition, a, b). */
  steps: readonly { op: SimdOp; args: readonly Operand[] }[];
  /** The steps whose values are written out, one output array each. */
  outputs: readonly number[];
}

/**
 * Runs a fused kernel over one or more parts (the same program on other
 * arrays: an optimizer's update of each parameter), in one call: part `j`
 * reads `ins[j]` as the program's inputs and writes one float32 array of
 * `ns[j]` (at least 4) per output, after every input is read, so an
 * output may be an input's array; false when the arrays do not fit the
 * memory (the caller then runs its loop).
 */
export type FusedKernel = (
  ins: readonly (readonly TypedArray[])[],
  outs: readonly TypedArray[][],
  ns: readonly number[],
) => boolean;

/**
 * The kernel of `p`, or null when a step's operands are not float32 (an
 * int32 array only as `where`'s condition).
 */
export function fusedKernel(p: SimdProgram): FusedKernel | null {
  const ok = p.steps.every((st) =>
    st.args.every((a, k) =>
      !("input" in a) || p.inputs[a.input].dtype === "float32" ||
      (st.op === "where" && k === 0)
    )
  );
  if (!ok) return null;
  const rt = runtime();
  const ni = p.inputs.length, no = p.outputs.length, per = ni + no + 1;
  const multi = new WebAssembly.Instance(
    new WebAssembly.Module(
      assemble([kernelOf(p), multiOf(per)], MEMORY_PAGES),
    ),
    { env: { memory: rt.memory } },
  ).exports.multi as (table: number, parts: number) => void;
  return (ins, outs, ns) => {
    const parts = ns.length;
    let bytes = bytesFor(per * parts);
    for (let j = 0; j < parts; j++) {
      if (ns[j] < 4) return false;
      bytes += no * bytesFor(ns[j]);
      for (let k = 0; k < ni; k++) bytes += bytesFor(ins[j][k].length);
    }
    if (!rt.fits(bytes)) return false;
    rt.reset("jit's fused loop");
    // the table: per part the addresses of its inputs, then its outputs, then n
    const table = rt.alloc(4 * per * parts);
    for (let j = 0, at = table >> 2; j < parts; j++, at += per) {
      for (let k = 0; k < ni; k++) {
        rt.i32[at + k] = rt.put(ins[j][k] as Float32Array);
      }
      // (an output in memory already, a plan's intermediate, is written in
      // place: it is a block of its own, no input's)
      for (let q = 0; q < no; q++) {
        const o = outs[j][q];
        rt.i32[at + ni + q] = rt.inPlan(o) ? o.byteOffset : rt.alloc(4 * ns[j]);
      }
      rt.i32[at + ni + no] = ns[j];
    }
    multi(table, parts);
    const i32 = rt.i32, f32 = rt.f32;
    for (let j = 0, at = table >> 2; j < parts; j++, at += per) {
      for (let q = 0; q < no; q++) {
        const o = outs[j][q], from = i32[at + ni + q] >> 2;
        if (!rt.inPlan(o)) o.set(f32.subarray(from, from + ns[j]));
      }
    }
    return true;
  };
}

/**
 * The function `multi(table, parts)`: `fused` (function 0) on each part,
 * whose `per` arguments are consecutive int32 in the table.
 */
function multiOf(per: number) {
  return func("multi", { table: I32, parts: I32 }, { at: I32, end: I32 }, (
    { table, parts },
    { at, end },
  ) => [
    set(end, i32.add(get(table), i32.mul(get(parts), i32.const_(4 * per)))),
    for_(
      at,
      get(table),
      get(end),
      i32.const_(4 * per),
      call(
        0,
        ...Array.from({ length: per }, (_, k) => i32.load(get(at), 4 * k)),
      ),
    ),
  ]);
}

/**
 * The function `fused(in0.., out0.., n)`: per vector of 4 elements (the
 * last one moved back to end at n, recomputing a few: outputs never alias
 * inputs in memory), each step's lanes, then the outputs stored.
 */
function kernelOf(p: SimdProgram) {
  const params: Record<string, ValType> = {};
  p.inputs.forEach((_, k) => (params[`in${k}`] = I32));
  p.outputs.forEach((_, q) => (params[`out${q}`] = I32));
  params.n = I32;
  const locals: Record<string, ValType> = { at: I32, i: I32, e: I32 };
  p.inputs.forEach((_, k) => (locals[`s${k}`] = V128));
  p.steps.forEach((_, j) => (locals[`t${j}`] = V128));
  locals.a = V128;
  locals.b = V128;
  return func("fused", params, locals, (P, L) => {
    const pv = P as Record<string, number>, lv = L as Record<string, number>;
    const operand = (a: Operand): Code => {
      if ("step" in a) return get(lv[`t${a.step}`]);
      return p.inputs[a.input].scalar
        ? get(lv[`s${a.input}`])
        : v128.load(i32.add(get(pv[`in${a.input}`]), get(lv.at)));
    };
    const lanes = (op: SimdOp, args: readonly Operand[]): Code => {
      const [x, y, z] = args.map(operand);
      switch (op) {
        case "copy":
          return x;
        case "sign": // (x > 0) - (x < 0): lanes of 1.0 or 0.0 subtracted
          return [
            set(lv.a, x),
            f32x4.sub(
              v128.and(f32x4.gt(get(lv.a), v128.zero()), ONE),
              v128.and(f32x4.lt(get(lv.a), v128.zero()), ONE),
            ),
          ];
        case "neg":
        case "abs":
        case "sqrt":
          return f32x4[op](x);
        case "maximum": // a > b or a is NaN ? a : b
          return [
            set(lv.a, x),
            set(lv.b, y),
            v128.bitselect(
              get(lv.a),
              get(lv.b),
              v128.or(
                f32x4.gt(get(lv.a), get(lv.b)),
                f32x4.ne(get(lv.a), get(lv.a)),
              ),
            ),
          ];
        case "where": { // condition !== 0 ? a : b
          const c = args[0];
          const isZero = "input" in c && p.inputs[c.input].dtype === "int32"
            ? i32x4.eq(x, v128.zero())
            : f32x4.eq(x, v128.zero());
          return v128.bitselect(z, y, isZero);
        }
        default:
          return f32x4[op](x, y);
      }
    };
    return [
      // the scalars, each splatted once
      p.inputs.map((inp, k) =>
        inp.scalar
          ? set(
            lv[`s${k}`],
            inp.dtype === "int32"
              ? i32x4.splat(i32.load(get(pv[`in${k}`])))
              : f32x4.splat(f32.load(get(pv[`in${k}`]))),
          )
          : []
      ),
      // e: the byte offset of the last whole vector
      set(lv.e, i32.sub(i32.shl(get(pv.n), i32.const_(2)), i32.const_(16))),
      set(lv.i, i32.const_(0)),
      block(loop(
        set(
          lv.at,
          i32.select(
            get(lv.i),
            get(lv.e),
            i32.lt_s(get(lv.i), get(lv.e)),
          ),
        ),
        p.steps.map((st, j) => set(lv[`t${j}`], lanes(st.op, st.args))),
        p.outputs.map((j, q) =>
          v128.store(
            i32.add(get(pv[`out${q}`]), get(lv.at)),
            get(lv[`t${j}`]),
          )
        ),
        brIf(1, i32.ge_s(get(lv.i), get(lv.e))),
        set(lv.i, i32.add(get(lv.i), i32.const_(16))),
        br(0),
      )),
    ];
  });
}
