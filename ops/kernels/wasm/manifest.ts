/**
 * The one list of the WebAssembly kernels: each kernel's name, the family
 * (the file in `gen/` that holds its template), who calls it, and its
 * parameters (all i32: addresses, sizes, ranges). Everything else is
 * derived from it:
 *
 * - the function index of each kernel (its position here; `call` in the
 *   generator uses {@linkcode KERNEL_INDEX}), and so the module's order;
 * - the parameters of each template in the generator (`kernel` in
 *   `gen/emit.ts` names them from here);
 * - the generator's check that every kernel has exactly one template, in
 *   the family named here (`FamilyTemplates` in `gen/emit.ts`);
 * - `KernelExports`, `TaskName` and the task table in `runtime.ts`, and the
 *   convolution kernels `conv.ts` dispatches to.
 *
 * Adding a kernel: write its template in its family's file, add its line
 * at the END of this list (the existing kernels keep their indices and
 * bytes), and run `deno task build:wasm`.
 *
 * This module imports nothing, so the runtime reads it without loading the
 * generator.
 *
 * @module
 */

/** The kernel families: one generator file (`gen/<family>.ts`) each. */
export type Family =
  | "memory"
  | "elementwise"
  | "reduce"
  | "pool"
  | "matmul"
  | "im2col"
  | "conv_direct"
  | "conv_grad"
  | "conv_direct_f64";

/**
 * Who calls a kernel: "internal" only other kernels (not in
 * `KernelExports`); "main" the runtime's thread, through `exports`; "task"
 * also worker threads, through `WasmRuntime.parallel`.
 */
export type Use = "internal" | "main" | "task";

/** One kernel's line: its family, its use, its parameter names (space-separated). */
export type KernelSpec = readonly [family: Family, use: Use, params: string];

/** Every kernel, in the module's function order. */
export const KERNELS = {
  // name: [family, use, parameters]
  micro: ["matmul", "internal", "kcp pa pb cp ldc"],
  packA: ["matmul", "internal", "src rs cs mc kc kcp dst list skip"],
  packB: ["matmul", "internal", "src rs cs kc kcp nc dst fin"],
  gemm: ["matmul", "task", "m n k a ars acs b brs bcs cc ldc work skip"],
  im2col: ["im2col", "internal", "g cg xp cols"],
  col2im: ["im2col", "internal", "g cg xp cols"],
  convForward: ["im2col", "task", "g n0 n1 work"],
  convInputAdjoint: ["im2col", "task", "g n0 n1 work"],
  convWeightAdjoint: ["im2col", "task", "g n0 n1 work dw"],
  maxPool: ["pool", "task", "g x pl0 pl1 out idx"],
  relu: ["elementwise", "task", "x out n"],
  copy: ["memory", "internal", "dst src bytes"],
  zero: ["memory", "main", "dst bytes"],
  reluMask: ["elementwise", "task", "g x out n"],
  maxPool2x2: ["pool", "task", "g x pl0 pl1 out idx"],
  convDirect: ["conv_direct", "task", "g n0 n1 work"],
  convDirectC: ["conv_direct", "task", "g n0 n1 work"],
  convWeightDirect: ["conv_grad", "task", "g n0 n1 work dw"],
  convInputDirect: [
    "conv_grad",
    "task",
    "g n0 n1 work wp ktab vtab vend sparse",
  ],
  convWeightRows: ["conv_grad", "task", "g n0 n1 work dwv"],
  sumRuns: ["reduce", "task", "x len r0 r1 out"],
  padPlanes: ["memory", "main", "src dst planes h w hp wp pt pl"],
  maxUnpool2x2: ["pool", "task", "g gr idx pl0 pl1 out"],
  addF32: ["elementwise", "task", "a b out n"],
  subF32: ["elementwise", "task", "a b out n"],
  mulF32: ["elementwise", "task", "a b out n"],
  divF32: ["elementwise", "task", "a b out n"],
  outerF32: ["elementwise", "task", "a c out m n"],
  microF64: ["matmul", "internal", "kcp pa pb cp ldc"],
  packAF64: ["matmul", "internal", "src rs cs mc kc kcp dst list skip"],
  packBF64: ["matmul", "internal", "src rs cs kc kcp nc dst fin"],
  gemmF64: ["matmul", "task", "m n k a ars acs b brs bcs cc ldc work skip"],
  im2colF64: ["im2col", "internal", "g cg xp cols"],
  col2imF64: ["im2col", "internal", "g cg xp cols"],
  convForwardF64: ["im2col", "task", "g n0 n1 work"],
  convInputAdjointF64: ["im2col", "task", "g n0 n1 work"],
  convWeightAdjointF64: ["im2col", "task", "g n0 n1 work dw"],
  maxPool2x2F64: ["pool", "task", "g x pl0 pl1 out idx"],
  reluF64: ["elementwise", "task", "x out n"],
  convDirectF64: ["conv_direct_f64", "task", "g n0 n1 work"],
  convWeightDirectF64: ["conv_direct_f64", "task", "g n0 n1 work dw"],
  convInputDirectF64: ["conv_direct_f64", "task", "g n0 n1 work"],
  sumParts: ["reduce", "main", "table parts at n lanes out"],
  convWeightSparse: ["conv_grad", "task", "g n0 n1 work dw"],
  sparseStats: ["reduce", "main", "y ny x nx out"],
  microSparse: ["matmul", "internal", "kl pa pb cp ldc"],
  microSparseF64: ["matmul", "internal", "kl pa pb cp ldc"],
  packPanels: ["conv_grad", "main", "w cg kh kw og groups dst fin tab"],
  sumCols: ["reduce", "main", "x rows cols out"],
  convInputSparse: ["conv_grad", "task", "g n0 n1 work wa"],
} as const satisfies Record<string, KernelSpec>;

/** A kernel's name. */
export type KernelName = keyof typeof KERNELS;

/** The kernels' names in function order. */
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/** Each kernel's function index (what `call` takes). */
export const KERNEL_INDEX = Object.fromEntries(
  KERNEL_NAMES.map((name, i) => [name, i]),
) as { readonly [K in KernelName]: number };

/** "a b c" as ["a", "b", "c"], at the type level. */
export type Words<S extends string> = S extends `${infer W} ${infer Rest}`
  ? [W, ...Words<Rest>]
  : [S];

/** The parameter names of kernel K, in order, as a tuple type. */
export type ParamsOf<K extends KernelName> = Words<(typeof KERNELS)[K][2]>;

/** The parameter names of a kernel, in order. */
export function paramsOf<K extends KernelName>(name: K): ParamsOf<K> {
  return KERNELS[name][2].split(" ") as ParamsOf<K>;
}

/** The kernels of the families F. */
export type KernelsOf<F extends Family> = {
  [K in KernelName]: (typeof KERNELS)[K][0] extends F ? K : never;
}[KernelName];

/** The kernels whose use is one of U. */
export type KernelsFor<U extends Use> = {
  [K in KernelName]: (typeof KERNELS)[K][1] extends U ? K : never;
}[KernelName];
