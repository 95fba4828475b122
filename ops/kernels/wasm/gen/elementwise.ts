/**
 * Elementwise kernels over n floats of same-shape float32 arrays: relu, its
 * VJP, and the four arithmetic operations; relu also for float64
 * (`reluF64`). Each is the `lanewise` loop: four vectors of results a
 * step (a vector: 4 with f32x4 instructions, 2 with f64x2), then a vector
 * a step while a vector's worth is left, then one at a time. The inputs are the parameters the manifest lists
 * before `out n`.
 *
 * @module
 */
import {
  block,
  br,
  brIf,
  type Code,
  F32,
  f32,
  f32x4,
  f64,
  f64x2,
  get,
  I32,
  i32,
  loop,
  set,
  V128,
  v128,
} from "../_asm.ts";
import {
  add,
  c,
  type FamilyTemplates,
  kernel,
  mul,
  reluVec,
  type Template,
  x4,
} from "./emit.ts";
import type { KernelsOf } from "../manifest.ts";
import { bytesOf, E32, E64, type Elem } from "./matmul.ts";

/**
 * The template of elementwise kernel `name` over n elements of type `el`
 * at its input arrays, into out: `vec` makes a vector of results from the
 * input vectors at byte offset i while a vector's worth is left, then
 * `one` makes each of the rest (`at(k)` reads input k there).
 */
const lanewise = (
  name: KernelsOf<"elementwise">,
  vec: (at: (k: string) => Code) => Code,
  one: (at: (k: string) => Code) => Code,
  el: Elem = E32,
): Template =>
() =>
  kernel(name, { i: I32, e: I32 }, (p, l) => {
    const P = p as Record<string, number>;
    const at = (k: string) => add(get(P[k]), get(l.i));
    return [
      set(l.e, bytesOf(el, get(P.n))),
      set(l.i, c(0)),
      // four vectors a step (the loop's own instructions would be as many
      // as a vector's), then one
      block(loop(
        brIf(1, i32.gt_s(add(get(l.i), c(64)), get(l.e))),
        [0, 16, 32, 48].map((o) =>
          v128.store(at("out"), vec((k) => v128.load(at(k), o)), o)
        ),
        set(l.i, add(get(l.i), c(64))),
        br(0),
      )),
      block(loop(
        brIf(1, i32.gt_s(add(get(l.i), c(16)), get(l.e))),
        v128.store(at("out"), vec((k) => v128.load(at(k)))),
        set(l.i, add(get(l.i), c(16))),
        br(0),
      )),
      block(loop(
        brIf(1, i32.ge_s(get(l.i), get(l.e))),
        el.store(at("out"), one((k) => el.load(at(k)))),
        set(l.i, add(get(l.i), c(1 << el.shift))),
        br(0),
      )),
    ];
  });

// ---- relu: max(x, 0), which keeps NaN and turns -0 into 0 as the
// TypeScript rule (vectors as `reluVec`: pmax then + 0, two instructions)
const relu = lanewise(
  "relu",
  (x) => reluVec(x("x")),
  (x) => f32.max(x("x"), f32.const_(0)),
);

// ---- relu's VJP: 0 where x <= 0, else g (a NaN in x passes g, as
// PyTorch's threshold_backward): g AND NOT the comparison's all-ones lanes
const reluMask = lanewise(
  "reluMask",
  (v) => v128.andnot(v("g"), f32x4.le(v("x"), v128.zero())),
  (v) => f32.select(f32.const_(0), v("g"), f32.le(v("x"), f32.const_(0))),
);

// ---- relu for float64, as the float32 one with f64x2. (Its VJP stays in
// TypeScript: in the LeNet-5 step, copying both float64 inputs in and the
// result out made a WebAssembly reluMask no faster than the loop.)
const reluF64 = lanewise(
  "reluF64",
  (x) => reluVec(x("x"), f64x2),
  (x) => f64.max(x("x"), f64.const_(0)),
  E64,
);

// ---- a + b, a - b, a · b, a / b of same-shape float32 arrays: each
// correctly rounded in float32, as the TypeScript loops' float64 result
// rounded on store (exact for these four operations)
const arith = (o: "add" | "sub" | "mul" | "div") =>
  lanewise(
    `${o}F32`,
    (v) => f32x4[o](v("a"), v("b")),
    (v) => f32[o](v("a"), v("b")),
  );

// ---- outer products: out[i·n + j] = a[i] · c[j] for i < m, j < n (a
// float32 matmul with k = 1, the per-example weight gradients of vmap):
// each row is a[i] splatted times c, 4 products a step, then one at a time
const outerF32: Template = () =>
  kernel(
    "outerF32",
    { i: I32, j: I32, e: I32, o: I32, s: F32, v: V128 },
    (p, l) => [
      set(l.e, x4(get(p.n))),
      set(l.i, c(0)),
      block(loop(
        brIf(1, i32.ge_s(get(l.i), get(p.m))),
        set(l.s, f32.load(add(get(p.a), x4(get(l.i))))),
        set(l.v, f32x4.splat(get(l.s))),
        set(l.o, add(get(p.out), x4(mul(get(l.i), get(p.n))))),
        set(l.j, c(0)),
        block(loop(
          brIf(1, i32.gt_s(add(get(l.j), c(16)), get(l.e))),
          v128.store(
            add(get(l.o), get(l.j)),
            f32x4.mul(get(l.v), v128.load(add(get(p.c), get(l.j)))),
          ),
          set(l.j, add(get(l.j), c(16))),
          br(0),
        )),
        block(loop(
          brIf(1, i32.ge_s(get(l.j), get(l.e))),
          f32.store(
            add(get(l.o), get(l.j)),
            f32.mul(get(l.s), f32.load(add(get(p.c), get(l.j)))),
          ),
          set(l.j, add(get(l.j), c(4))),
          br(0),
        )),
        set(l.i, add(get(l.i), c(1))),
        br(0),
      )),
    ],
  );

/** The elementwise kernels' templates. */
export const elementwise: FamilyTemplates<"elementwise"> = {
  relu,
  reluMask,
  addF32: arith("add"),
  subF32: arith("sub"),
  mulF32: arith("mul"),
  divF32: arith("div"),
  outerF32,
  reluF64,
};
