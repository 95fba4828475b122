/**
 * The register tile shared by the GEMM micro-kernel and the direct
 * convolutions: an MR × NR block of results held in MR·NR/4 f32x4 locals
 * (`c00`..`c51`), the k offsets of a tile's rows, and the unrolled k loop.
 *
 * @module
 */
import {
  brIf,
  type Code,
  get,
  I32,
  i32,
  if_,
  loop,
  set,
  V128,
  v128,
} from "../_asm.ts";
import { add, c, min, sub, x4 } from "./emit.ts";
import { CU, MR, NR } from "../layout.ts";

/** The accumulators of an MR × NR tile (NR / 4 vectors a row): locals c00..c51. */
export const tileAcc: Record<string, typeof V128> = {};
for (let r = 0; r < MR; r++) {
  for (let v = 0; v < NR / 4; v++) tileAcc[`c${r}${v}`] = V128;
}
/** MR i32 locals `${p}0`..`${p}5` (one per row of a tile). */
export const rowLocals = (p: string): Record<string, typeof I32> =>
  Object.fromEntries(
    Array.from({ length: MR }, (_, r) => [`${p}${r}`, I32]),
  );
/** The tile accumulator c{r}{v} among a kernel's locals (see tileAcc). */
export const tileAccOf =
  (l: object): (r: number, v: number) => number => (r, v) =>
    (l as Record<string, number>)[`c${r}${v}`];
/** Sets the 12 tile accumulators to zero. */
export const zeroTile = (l: object): Code[] =>
  Array.from({ length: MR }, (_, r) => [
    set(tileAccOf(l)(r, 0), v128.zero()),
    set(tileAccOf(l)(r, 1), v128.zero()),
  ]);
/**
 * k{r} = xb + the x offset (bytes, from the table at `tab`) of k = kb + r,
 * for r < MR; k past the last repeat the last.
 */
export const tileKOffsets = (
  l: { xb: number; kb: number; kk: number },
  tab: Code,
): Code[] =>
  Array.from({ length: MR }, (_, r) =>
    set(
      (l as unknown as Record<string, number>)[`k${r}`],
      add(
        get(l.xb),
        i32.load(
          add(tab, x4(min(add(get(l.kb), c(r)), sub(get(l.kk), c(1))))),
        ),
      ),
    ));
/**
 * The k loop of a direct kernel: `step(u)` is the k u steps past where the
 * pointers are; each pointer [local, stride] moves by its stride per k, and
 * the first one decides the end. CU steps per iteration while it is below
 * `endCU` (an offset of CU whole steps), then one at a time until `end`:
 * fewer loop overheads per k (V8 re-checks interrupts, reloads the shared
 * memory's size and spills around every iteration).
 */
export const kLoop = (
  step: (u: number) => Code[],
  ptrs: [number, number][],
  endCU: Code,
  end: Code,
): Code[] => {
  const pass = (n: number, stop: Code) =>
    if_(i32.lt_u(get(ptrs[0][0]), stop), [
      loop(
        Array.from({ length: n }, (_, u) => step(u)),
        ptrs.map(([q, stride]) => set(q, add(get(q), c(n * stride)))),
        brIf(0, i32.lt_u(get(ptrs[0][0]), stop)),
      ),
    ]);
  return [pass(CU, endCU), pass(1, end)];
};
/**
 * The k loop of a direct kernel, as {@linkcode kLoop} but with `unroll`
 * steps per iteration (a power of two) and the rest without a loop: while
 * at least `unroll` steps are left, `unroll` at a time; then `unroll / 2`,
 * ..., 1 steps once each when that many are left. The same steps in the
 * same order as `kLoop` (so the same sums), with fewer loop iterations
 * and none for the last few k: V8 re-checks interrupts, reloads the shared
 * memory's size and spills around every iteration. `end` is where the
 * first pointer stops (it moves by its stride per step).
 */
export const kLoopU = (
  step: (u: number) => Code[],
  ptrs: [number, number][],
  end: Code,
  unroll: number,
): Code[] => {
  const [p0, s0] = ptrs[0];
  const left = (n: number) => i32.ge_u(end, add(get(p0), c(n * s0)));
  const body = (n: number) => [
    Array.from({ length: n }, (_, u) => step(u)),
    ptrs.map(([q, stride]) => set(q, add(get(q), c(n * stride)))),
  ];
  const code: Code[] = [
    if_(left(unroll), [loop(body(unroll), brIf(0, left(unroll)))]),
  ];
  for (let n = unroll >> 1; n >= 1; n >>= 1) code.push(if_(left(n), body(n)));
  return code;
};
