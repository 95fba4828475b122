/**
 * The kernel module's generator: the templates of each family in `gen/`,
 * assembled (with the assembler in `_asm.ts`) in the order of the manifest
 * (`manifest.ts`). `buildKernels({ relaxed })` returns the module's bytes;
 * `build.ts` commits them (base64) to `_module.generated.ts`, and a test
 * checks that the committed bytes are what this file produces. Nothing at
 * run time imports this file: the runtime reads the committed bytes, the
 * manifest and `layout.ts`.
 *
 * The families:
 *
 * - `gen/matmul.ts`: the packed GEMM (micro-kernel, packers, driver);
 * - `gen/im2col.ts`: convolution through im2col / col2im and the GEMM;
 * - `gen/conv_direct.ts`: direct convolution, forward;
 * - `gen/conv_grad.ts`: direct convolution, weight and input gradients;
 * - `gen/conv_direct_f64.ts`: direct convolution, forward, float64;
 * - `gen/pool.ts`: max pooling and its gradient;
 * - `gen/elementwise.ts`: relu, its gradient, + - · /;
 * - `gen/reduce.ts`: sums of runs;
 * - `gen/memory.ts`: copy, zero, padding planes;
 *
 * with the shared pieces in `gen/emit.ts` (the link to the manifest, short
 * names), `gen/tile.ts` (the register tile) and `gen/conv_geometry.ts` (the
 * convolution record). A template names its kernel's locals; its
 * parameters (`p.dst`, `p.bytes`, ...) are the ones the kernel's manifest
 * line lists, and the constants it bakes in come from `layout.ts`.
 *
 * All addresses are byte offsets into the one shared memory; sizes and
 * strides are element counts (f32 = 4 bytes).
 *
 * @module
 */
import { assemble, type Func } from "./_asm.ts";
import { type Family, KERNEL_NAMES, KERNELS } from "./manifest.ts";
import { MEMORY_PAGES } from "./layout.ts";
import {
  emitContext,
  type FamilyTemplates,
  type KernelOptions,
  type Template,
} from "./gen/emit.ts";
import { matmul } from "./gen/matmul.ts";
import { im2colKernels } from "./gen/im2col.ts";
import { convDirectKernels } from "./gen/conv_direct.ts";
import { convGradKernels } from "./gen/conv_grad.ts";
import { convDirectF64Kernels } from "./gen/conv_direct_f64.ts";
import { pool } from "./gen/pool.ts";
import { elementwise } from "./gen/elementwise.ts";
import { reduce } from "./gen/reduce.ts";
import { memory } from "./gen/memory.ts";

export type { KernelOptions } from "./gen/emit.ts";

/** The templates of every family, by the family's name in the manifest. */
const FAMILIES: { readonly [F in Family]: FamilyTemplates<F> } = {
  matmul,
  im2col: im2colKernels,
  conv_direct: convDirectKernels,
  conv_grad: convGradKernels,
  conv_direct_f64: convDirectF64Kernels,
  pool,
  elementwise,
  reduce,
  memory,
};

/** Builds the kernel module's functions, in the manifest's (index) order. */
export function kernelFuncs(opts: KernelOptions): Func[] {
  const ctx = emitContext(opts);
  return KERNEL_NAMES.map((name) => {
    const family = KERNELS[name][0];
    const template =
      (FAMILIES[family] as Record<string, Template | undefined>)[name];
    if (!template) throw new Error(`no template for kernel ${name}`);
    const f = template(ctx);
    if (f.name !== name) {
      throw new Error(`the template of ${name} builds ${f.name}`);
    }
    return f;
  });
}

/** The module's bytes. */
export function buildKernels(opts: KernelOptions): Uint8Array<ArrayBuffer> {
  return assemble(kernelFuncs(opts), MEMORY_PAGES);
}
