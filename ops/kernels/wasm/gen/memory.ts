/**
 * Moving memory: `copy` and `zero` (which the other kernels call on short
 * runs), and `padPlanes` (x copied into a zeroed, larger plane, so a padded
 * convolution can run on the direct kernels).
 *
 * @module
 */
import {
  block,
  br,
  brIf,
  call,
  f32,
  for_,
  get,
  I32,
  i32,
  loop,
  set,
  v128,
} from "../_asm.ts";
import {
  add,
  c,
  F,
  type FamilyTemplates,
  kernel,
  mul,
  type Template,
  x4,
} from "./emit.ts";

// ---- copy / zero `bytes` (a multiple of 4): 16 bytes at a time, then 4.
// (memory.copy and memory.fill would do, but V8 calls out to C for them,
// which costs more than the short runs of im2col take.)
const copy: Template = () =>
  kernel(
    "copy",
    { e: I32 },
    (p, l) => [
      set(l.e, add(get(p.dst), get(p.bytes))),
      block(loop(
        brIf(1, i32.gt_s(add(get(p.dst), c(16)), get(l.e))),
        v128.store(get(p.dst), v128.load(get(p.src))),
        set(p.dst, add(get(p.dst), c(16))),
        set(p.src, add(get(p.src), c(16))),
        br(0),
      )),
      block(loop(
        brIf(1, i32.ge_s(get(p.dst), get(l.e))),
        f32.store(get(p.dst), f32.load(get(p.src))),
        set(p.dst, add(get(p.dst), c(4))),
        set(p.src, add(get(p.src), c(4))),
        br(0),
      )),
    ],
  );

const zero: Template = () =>
  kernel(
    "zero",
    { e: I32 },
    (p, l) => [
      set(l.e, add(get(p.dst), get(p.bytes))),
      block(loop(
        brIf(1, i32.gt_s(add(get(p.dst), c(16)), get(l.e))),
        v128.store(get(p.dst), v128.zero()),
        set(p.dst, add(get(p.dst), c(16))),
        br(0),
      )),
      block(loop(
        brIf(1, i32.ge_s(get(p.dst), get(l.e))),
        f32.store(get(p.dst), f32.const_(0)),
        set(p.dst, add(get(p.dst), c(4))),
        br(0),
      )),
    ],
  );

// ---- copies `planes` planes of h × w floats at src into planes of
// hp × wp at dst (zeroed by the caller), each row at column pl of row
// r + pt: x padded, so that a padded convolution runs on the direct
// kernels (no window then reads outside).
const padPlanes: Template = () =>
  kernel(
    "padPlanes",
    { p: I32, r: I32, s: I32, d: I32 },
    (p, l) => [
      set(l.s, get(p.src)),
      for_(l.p, c(0), get(p.planes), c(1), [
        set(
          l.d,
          add(
            get(p.dst),
            x4(add(
              mul(add(mul(get(l.p), get(p.hp)), get(p.pt)), get(p.wp)),
              get(p.pl),
            )),
          ),
        ),
        for_(l.r, c(0), get(p.h), c(1), [
          call(F.copy, get(l.d), get(l.s), x4(get(p.w))),
          set(l.s, add(get(l.s), x4(get(p.w)))),
          set(l.d, add(get(l.d), x4(get(p.wp)))),
        ]),
      ]),
    ],
  );

/** The memory kernels' templates. */
export const memory: FamilyTemplates<"memory"> = { copy, zero, padPlanes };
