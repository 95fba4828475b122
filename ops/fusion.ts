/**
 * Fusion of elementwise steps in a `jit` plan: a chain (any connected set)
 * of elementwise primitives over one float dtype and one length runs as one
 * generated loop that keeps the intermediates in registers, instead of one
 * pass and one fresh array per op. An input of another length is read
 * broadcast, where its kept axes are one block (a column [R, 1], a row, a
 * channel's bias [1, C, 1, 1]; `broadcastTo` is such a step): softmax's
 * `exp(x - max)` and cross-entropy's gradient are loops too. An
 * optimizer's update (weight decay, momentum, the step) is such a chain per
 * parameter, and the chains of all parameters are one task.
 *
 * Bits: each primitive declares the function of one element it computes
 * (`Rule.scalar`), and the loop applies those functions in the recorded
 * order to the same numbers (an input of one element, such as a learning
 * rate or an int32 condition, is read once), rounding each result to
 * float32 as the op's own array would (`Math.fround`; float64 needs no
 * rounding). The WebAssembly kernels of the
 * same ops give the same bits (float32 arithmetic is the rounded exact
 * result), so a fused plan computes what the eager calls compute. relu and
 * its mask are left to their WebAssembly kernels (branch-free; a loop here
 * would branch on every element's sign).
 *
 * A float32 group whose members all declare their lane operation
 * (`Rule.simd`: add, sub, mul, div, neg, abs, sqrt, maximum, where, copy)
 * and that reads no input broadcast (whole arrays and scalars) runs
 * instead as a WebAssembly kernel assembled for it (`kernels/fused.ts`),
 * four lanes a step with the same bits: an optimizer's update over
 * LeNet-5's parameters is one call of it.
 *
 * @module
 */
import { type DType, sizeOf, type Tensor, type TypedArray } from "./tensor.ts";
import type { SimdOp } from "./grad_types.ts";
import {
  type FusedKernel,
  fusedKernel,
  type Operand,
} from "./kernels/fused.ts";

/** Where a step's input comes from: a value id (an argument's leaf or a step), or a constant. */
export type Ref = number | Tensor;

/** What fusion reads of a recorded step. */
export interface StepInfo {
  readonly rule: {
    readonly scalar?: (...v: number[]) => number;
    readonly simd?: SimdOp;
  };
  readonly inputs: readonly Ref[];
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** A fused group: its steps' values computed by one loop. */
export interface FusedPart {
  /** Value ids of the steps it replaces, in order. */
  readonly members: readonly number[];
  /** What its loop reads: arrays of `n` elements, or scalars (one element). */
  readonly inputs: readonly Ref[];
  /** The members whose values are read after the group (or are outputs). */
  readonly outputs: readonly number[];
  /** The length of every member. */
  readonly n: number;
}

/**
 * A task of fused groups: one, or several that run the same program on
 * other arrays (an optimizer's update of each parameter), in one kernel.
 */
export interface Fused {
  /** The groups, none reading another's values. */
  readonly parts: readonly FusedPart[];
  /** The dtype of every member. */
  readonly dtype: DType;
  /**
   * Runs the loop of each part: `ins[j]` as part j's `inputs`, one array of
   * its `n` per output. Each element of a part's inputs is read before that
   * element of its outputs is written, so an output may be an input's
   * array that nothing else reads later.
   */
  run(ins: readonly (readonly TypedArray[])[], outs: TypedArray[][]): void;
}

/** One task of a schedule: a step's value id, or a fused group. */
export type Task = number | Fused;

/**
 * How a fused loop reads an input of `shape` for a step of shape `out`
 * (numpy broadcasting): "i" the whole array, "s" its one element (read once,
 * before the loop), or [mid, inner] element `((i / inner) | 0) % mid` (a
 * block of kept axes: a column [R, 1], a row [1, C], a channel's bias
 * [1, C, 1, 1]); null when the kept axes are not one block.
 */
type Read = "i" | "s" | readonly [mid: number, inner: number];

function readOf(shape: readonly number[], out: readonly number[]): Read | null {
  const size = sizeOf(shape), n = sizeOf(out);
  if (size === n) return "i";
  if (size === 1) return "s";
  const pad = out.length - shape.length;
  if (pad < 0) return null;
  // axes of out longer than 1: before the kept block, in it, after it
  let mid = 1, inner = 1, at: "before" | "in" | "after" = "before";
  for (let d = 0; d < out.length; d++) {
    const o = out[d], k = d < pad ? 1 : shape[d - pad];
    if (o === 1) continue;
    if (k === o) {
      if (at === "after") return null;
      at = "in";
      mid *= o;
    } else if (k !== 1) return null;
    else if (at !== "before") (at = "after", inner *= o);
  }
  return [mid, inner];
}

/** The code that reads input `x` as `read` says, at element i of the loop. */
/**
 * The code that reads input `x` (of `info`) for a step of shape `out` in a
 * group of `dtype`: an int32 input of a float32 group is rounded to float32
 * first, as the op's own forward does.
 */
function inputCode(
  x: string,
  info: { shape: readonly number[]; dtype: DType },
  out: readonly number[],
  n: number,
  dtype: DType,
): string {
  const code = readCode(x, readOf(info.shape, out)!, n);
  return info.dtype === "int32" && dtype === "float32" ? `fr(${code})` : code;
}

function readCode(x: string, read: Read, n: number): string {
  if (read === "i") return `${x}[i]`;
  if (read === "s") return x;
  const [mid, inner] = read;
  const row = inner === 1 ? "i" : `((i / ${inner}) | 0)`;
  return `${x}[${mid * inner === n ? row : `${row} % ${mid}`}]`;
}

/**
 * A plan's steps as tasks, in their recorded order, with elementwise groups
 * fused. `steps[s]` makes value `nIn + s` (null: dropped); `leaf(i)` is the
 * shape and dtype of argument leaf i; `outs` are the plan's outputs.
 *
 * A step is fusable when its rule declares its function of one element
 * (`Rule.scalar`), its result is float and it reads each input whole, as a
 * scalar, or broadcast along one block of axes (see `readOf`). Groups grow
 * in recorded order: a fusable step joins the groups of the
 * fusable steps whose whole result it reads (of its dtype and length), and a
 * group runs where its last member was recorded. So that nothing reads a
 * member before the group runs, a group is sealed (takes no more members)
 * once a step outside it reads one of its members. Groups next to each
 * other with the same program (the same ops on operands of the same kinds)
 * become one task, unless one reads another.
 */
export function schedule(
  nIn: number,
  steps: readonly (StepInfo | null)[],
  leaf: (i: number) => { shape: readonly number[]; dtype: DType },
  outs: readonly Ref[],
): Task[] {
  const info = (r: Ref) =>
    typeof r !== "number" ? r : r < nIn ? leaf(r) : steps[r - nIn]!;
  const groupOf: (Set<number> | null)[] = steps.map(() => null);
  const sealed = new Set<Set<number>>();
  steps.forEach((st, s) => {
    if (!st) return;
    const n = sizeOf(st.shape);
    const fusable = st.rule.scalar !== undefined &&
      (st.dtype === "float32" || st.dtype === "float64") &&
      st.inputs.every((r) => readOf(info(r).shape, st.shape) !== null);
    let group: Set<number> | null = null;
    for (const r of st.inputs) {
      const g = typeof r === "number" && r >= nIn ? groupOf[r - nIn] : null;
      if (!g || g === group) continue;
      const p = steps[(r as number) - nIn]!;
      if (
        !fusable || sealed.has(g) || sizeOf(p.shape) !== n ||
        p.dtype !== st.dtype || (group?.size ?? 0) + g.size >= MAX_MEMBERS
      ) {
        sealed.add(g); // read from outside (or full)
      } else if (!group) group = g;
      else { // s joins two groups: merge them
        for (const m of g) (group.add(m), groupOf[m] = group);
      }
    }
    if (fusable) (groupOf[s] = group ?? new Set()).add(s);
  });
  // by value, the steps that read it (-1: an output)
  const readers = new Map<number, number[]>();
  const reads = (r: Ref, s: number) => {
    if (typeof r !== "number") return;
    const list = readers.get(r);
    if (list) list.push(s);
    else readers.set(r, [s]);
  };
  steps.forEach((st, s) => st?.inputs.forEach((r) => reads(r, s)));
  outs.forEach((r) => reads(r, -1));
  // a group runs at its last member
  const lastOf = new Map<Set<number>, number>();
  groupOf.forEach((g, s) => g && lastOf.set(g, s));
  const tasks: (number | Group)[] = [];
  steps.forEach((st, s) => {
    const g = groupOf[s];
    if (!st || (g && lastOf.get(g) !== s)) return;
    tasks.push(
      g && g.size > 1
        ? group(nIn, steps, [...g].sort((a, b) => a - b), readers, info)
        : nIn + s,
    );
  });
  const code = (g: Group) => {
    let c = compiled.get(g.key);
    if (c) {
      compiled.delete(g.key); // most recently used last
    } else {
      c = compileProgram(g, steps, nIn, info);
      if (compiled.size >= MAX_PROGRAMS) {
        compiled.delete(compiled.keys().next().value!);
      }
    }
    compiled.set(g.key, c);
    return c;
  };
  // runs of groups with one program become one task (`inRun`: the values
  // the current run's groups make)
  const runs: (number | Group[])[] = [];
  const inRun = new Set<Ref>();
  for (const t of tasks) {
    const last = runs[runs.length - 1];
    if (
      typeof t !== "number" && Array.isArray(last) &&
      last[0].key === t.key && !t.inputs.some((r) => inRun.has(r))
    ) last.push(t);
    else {
      runs.push(typeof t === "number" ? t : [t]);
      inRun.clear();
    }
    if (typeof t !== "number") t.members.forEach((id) => inRun.add(id));
  }
  return runs.map((r) => typeof r === "number" ? r : fusedTask(r, code(r[0])));
}

/** A group before it becomes (part of) a task: its part and its program's key. */
interface Group extends FusedPart {
  /** The program: ops, operand kinds, outputs (equal keys, one loop). */
  readonly key: string;
  /** By value id, its position in `members`. */
  readonly member: ReadonlyMap<number, number>;
  /** By input, its position in `inputs`. */
  readonly input: ReadonlyMap<Ref, number>;
}

/** The part of a group of steps (in recorded order); `readers` by value: the steps that read it (-1: an output). */
function group(
  nIn: number,
  steps: readonly (StepInfo | null)[],
  members: number[],
  readers: ReadonlyMap<number, readonly number[]>,
  info: (r: Ref) => { shape: readonly number[]; dtype: DType },
): Group {
  const ids = members.map((s) => nIn + s);
  const n = sizeOf(steps[members[0]]!.shape);
  const member = new Map(ids.map((id, j) => [id, j]));
  const inputs: Ref[] = [], input = new Map<Ref, number>();
  const operand = (r: Ref, out: readonly number[]): string => {
    const j = typeof r === "number" ? member.get(r) : undefined;
    if (j !== undefined) return `t${j}`;
    let k = input.get(r);
    if (k === undefined) input.set(r, k = inputs.push(r) - 1);
    return inputCode(`x${k}`, info(r), out, n, steps[members[0]]!.dtype);
  };
  const inGroup = new Set(members);
  const outputs = ids.filter((id) =>
    readers.get(id)?.some((s) => !inGroup.has(s))
  );
  const key = JSON.stringify([
    steps[members[0]]!.dtype,
    members.map((s) => [
      ruleId(steps[s]!.rule),
      steps[s]!.inputs.map((r) => operand(r, steps[s]!.shape)),
    ]),
    inputs.map((r) => info(r).dtype),
    outputs.map((id) => member.get(id)),
  ]);
  return { members: ids, inputs, outputs, n, key, member, input };
}

let loops = 0;

/**
 * One loop and kernel per program, for every plan (an unrolled network
 * repeats a few; a retrace makes the same ones again): each compiled loop's
 * source is its own (see `compileProgram`), and V8 keeps every source it
 * compiled, so compiling a program anew on each trace grew the heap by
 * about 1.7 KB a trace for as long as the process ran. The programs used
 * last are kept, at most MAX_PROGRAMS.
 */
const compiled = new Map<string, Code>();

/** Most programs `compiled` keeps. */
const MAX_PROGRAMS = 4096;

/** How many loops have been compiled (tests read it). @internal */
export function fusedLoopsCompiled(): number {
  return loops;
}

/**
 * Most steps in one group: a longer chain (an unrolled loop) is cut into
 * groups of this many, which keeps each generated loop and kernel small
 * (a WebAssembly function has at most 50,000 locals).
 */
const MAX_MEMBERS = 256;

/** A number per rule, for programs' keys. */
const ruleIds = new WeakMap<object, number>();
let rules = 0;
const ruleId = (rule: object) => {
  if (!ruleIds.has(rule)) ruleIds.set(rule, rules++);
  return ruleIds.get(rule)!;
};

/** A program's generated loop, and its WebAssembly kernel (or null). */
interface Code {
  readonly dtype: DType;
  readonly loop: (
    ins: readonly TypedArray[],
    outs: TypedArray[],
    n: number,
  ) => void;
  readonly kernel: FusedKernel | null;
}

/** The loop and kernel of group `g`'s program, for every group with its key. */
function compileProgram(
  g: Group,
  steps: readonly (StepInfo | null)[],
  nIn: number,
  info: (r: Ref) => { shape: readonly number[]; dtype: DType },
): Code {
  const { members: ids, inputs, outputs, n, member, input } = g;
  const members = ids.map((id) => id - nIn);
  const first = steps[members[0]]!;
  const operand = (r: Ref, out: readonly number[]): string => {
    const j = typeof r === "number" ? member.get(r) : undefined;
    if (j !== undefined) return `t${j}`;
    return inputCode(`x${input.get(r)}`, info(r), out, n, first.dtype);
  };
  // a scalar input is read once, before the loop
  const scalar = (r: Ref) => n !== 1 && sizeOf(info(r).shape) === 1;
  const round = first.dtype === "float32" ? "fr" : "";
  const body = members.map((s, j) =>
    `const t${j} = ${round}(f${j}(${
      steps[s]!.inputs.map((r) => operand(r, steps[s]!.shape)).join(", ")
    }));`
  );
  const source =
    `// fused loop ${loops++} (its own source, so that its calls stay monomorphic)
const fr = Math.fround;
const [${members.map((_, j) => `f${j}`).join(", ")}] = fns;
return (ins, outs, n) => {
  ${
      inputs.map((r, k) => `const x${k} = ins[${k}]${scalar(r) ? "[0]" : ""};`)
        .join(" ")
    }
  ${outputs.map((_, q) => `const o${q} = outs[${q}];`).join(" ")}
  for (let i = 0; i < n; i++) {
    ${body.join("\n    ")}
    ${outputs.map((id, q) => `o${q}[i] = t${member.get(id)};`).join(" ")}
  }
};`;
  const loop = new Function("fns", source)(
    members.map((s) => steps[s]!.rule.scalar),
  ) as (ins: readonly TypedArray[], outs: TypedArray[], n: number) => void;
  const kernel = simdKernel(steps, nIn, g, info);
  return { dtype: first.dtype, loop, kernel };
}

/** The task of groups with one program: one loop, one kernel call for all. */
function fusedTask(
  groups: readonly Group[],
  { dtype, loop, kernel }: Code,
): Fused {
  // the kernel runs the parts of 4 elements or more, the loop the others
  const parts = groups.map(({ members, inputs, outputs, n }) => ({
    members,
    inputs,
    outputs,
    n,
  }));
  const big = parts.flatMap((p, j) => p.n >= 4 ? [j] : []);
  const small = parts.flatMap((p, j) => p.n >= 4 ? [] : [j]);
  const ns = big.map((j) => parts[j].n), every = parts.map((_, j) => j);
  const pick = <X>(xs: readonly X[]) =>
    small.length ? big.map((j) => xs[j]) : xs;
  return {
    parts,
    dtype,
    run: (ins, outs) => {
      const done = kernel !== null && big.length > 0 &&
        kernel(pick(ins), pick(outs), ns);
      for (const j of done ? small : every) {
        loop(ins[j], outs[j], parts[j].n);
      }
    },
  };
}

/**
 * The group as a WebAssembly kernel (`kernels/fused.ts`) when it is float32,
 * every member declares its lane operation (`Rule.simd`) and its inputs are
 * float32 (or int32 conditions): the same bits as the loop, several times
 * faster; else null.
 */
function simdKernel(
  steps: readonly (StepInfo | null)[],
  nIn: number,
  { members: ids, inputs, outputs, n, member, input }: Group,
  info: (r: Ref) => { shape: readonly number[]; dtype: DType },
) {
  const members = ids.map((id) => id - nIn);
  const ops = members.map((s) => steps[s]!.rule.simd);
  if (steps[members[0]]!.dtype !== "float32" || !ops.every(Boolean)) {
    return null;
  }
  const types = inputs.map((r) => info(r).dtype);
  if (!types.every((t) => t === "float32" || t === "int32")) return null;
  // (whole arrays and scalars only: no broadcast reads)
  if (!inputs.every((r) => [n, 1].includes(sizeOf(info(r).shape)))) {
    return null;
  }
  return fusedKernel({
    inputs: inputs.map((r, k) => ({
      scalar: sizeOf(info(r).shape) !== n,
      dtype: types[k] as "float32" | "int32",
    })),
    steps: members.map((s, j) => ({
      op: ops[j]!,
      args: steps[s]!.inputs.map((r): Operand => {
        const at = typeof r === "number" ? member.get(r) : undefined;
        return at !== undefined ? { step: at } : { input: input.get(r)! };
      }),
    })),
    outputs: outputs.map((id) => member.get(id)!),
  });
}
