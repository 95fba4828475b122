/**
 * The types of the autodiff core: a primitive's rule (its forward, VJP, JVP
 * and batching rules; trace.ts registers it), and those of `grad` and
 * `valueAndGrad`'s typed overloads (transforms.ts): which arguments they
 * differentiate, the type of the gradient, and what `f` returns with
 * `hasAux`.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";

/**
 * Which arguments `grad` and `valueAndGrad` differentiate: one position
 * (`0`, the default) or a list of positions (`[0, 1]`).
 */
export type Argnums = number | readonly number[];

/**
 * The type of the gradient of a function with parameters `A` with respect to
 * the argument(s) `N`. A gradient has the type of its argument: with respect
 * to a `Tensor` it is a `Tensor`, with respect to a tree such as
 * `{ conv1: { weight: Tensor } }` it is a `{ conv1: { weight: Tensor } }`. A
 * list of positions gives a tuple in that order:
 * `GradOf<[Tensor, P], [1, 0]>` is `[P, Tensor]`.
 */
export type GradOf<A extends readonly unknown[], N extends Argnums> =
  // one position: the type of that argument
  N extends number ? A[N]
    // a list of positions: a tuple of their types, in that order
    : { -readonly [K in keyof N]: A[N[K] & number] };

/**
 * What `f` returns with `hasAux: true`: `[value, aux]`, the scalar tensor
 * to differentiate and a tree of tensors passed through undifferentiated.
 * An array `(Tensor | Aux)[]` is accepted too: it is the type TypeScript
 * gives `return [loss, aux]` in a function declared on its own (written
 * inline, in the call to `grad`, it is a tuple).
 */
export type WithAux<Aux> = readonly [Tensor, Aux] | readonly (Tensor | Aux)[];

/**
 * Options of `grad` and `valueAndGrad`; `N` is the type of `argnums`, which
 * decides the type of the gradient ({@linkcode GradOf}).
 */
export interface GradOptions<N extends Argnums = Argnums> {
  /** Which positional argument(s) to differentiate; default 0. */
  argnums?: N;
  /**
   * `f` returns `[value, aux]`; aux is passed through. Default false. Write
   * it as a literal `true` or `false`: the overloads choose the result type
   * by it.
   */
  hasAux?: boolean;
}

/**
 * A primitive's rule: its forward kernel call and its derivatives.
 * `P` is the type of the primitive's static parameters.
 */
export interface Rule<P> {
  /** Name used in error messages. */
  readonly name: string;
  /** Computes the output from concrete (untraced) inputs. */
  forward(inputs: Tensor[], params: P): Tensor;
  /**
   * One VJP closure per input: `vjp(inputs, out, params)[i](g)` is the
   * cotangent of input i given the output's cotangent g. Written with public
   * ops, so it can be differentiated again. Inputs that have no derivative
   * (int32, or masks) may map to `null`.
   */
  vjp(inputs: Tensor[], out: Tensor, params: P): readonly (Vjp | null)[];
  /**
   * Optional forward-mode rule: the output tangent given the input tangents
   * (null where an input has none). `"linear"` says the primitive is linear
   * in its single input, so its JVP is the primitive applied to the tangent.
   * When absent, JVP is the transpose of VJP.
   */
  jvp?:
    | ((
      inputs: Tensor[],
      tangents: (Tensor | null)[],
      out: Tensor,
      params: P,
    ) => Tensor)
    | "linear";
  /**
   * The batching rule (for `vmap`): given the inputs with a batch axis
   * (`dims[i]`, or null where input i is the same for every example),
   * returns the batched output and where its batch axis is (null when it
   * does not depend on the batch). Written with public ops and `bind`, so it
   * nests with every other transform.
   */
  batch: BatchRule<P>;
  /**
   * Optional, for elementwise primitives: the function of one element of
   * each input that `forward` computes (the result rounded to its float
   * dtype). `jit` fuses chains of such steps into one loop.
   */
  scalar?: (...v: number[]) => number;
  /**
   * Optional, with `scalar`: the float32 vector instruction that computes
   * `scalar` lane by lane with the same bits, so that `jit` can run a fused
   * chain of such steps as a WebAssembly kernel (see `kernels/fused.ts`).
   */
  simd?: SimdOp;
  /**
   * Optional, for primitives whose VJP puts the cotangent into a window of
   * an input (slice's: `g` padded with zeros): the window's starts per
   * input (null where the VJP is another). The reverse pass then sums the
   * windows that reach one value in one pass (`assembleWindows`) instead of
   * padding each to the whole value, which made n slices of one value (a
   * scan over a sequence) cost n times its size.
   */
  window?: (
    inputs: Tensor[],
    params: P,
  ) => readonly (readonly number[] | null)[];
  /**
   * Optional epilogues `jit` fuses into this primitive's kernel:
   * `epilogue[c](inputs, params, rest)` is primitive `c` applied to this
   * one's output (c's first input) and `rest` (c's other inputs), computed
   * in one kernel with the same bits (conv2d then relu).
   */
  epilogue?: Readonly<Record<string, Epilogue<P>>>;
  /**
   * Optional prologues `jit` fuses into this primitive's kernel, the other
   * way round: `prologue[p](inputs, params, rest)` is this primitive
   * applied to primitive `p`'s output (p run on `inputs` with its
   * `params`) as its first input and `rest`, computed in one kernel with
   * the same bits (a transpose read in place by matmul).
   */
  prologue?: Readonly<Record<string, Epilogue<unknown>>>;
  /**
   * Optional, with `epilogue[name]`: where that epilogue's other input is
   * this primitive's input `input`, and the plan also computes primitive
   * `producer` of that input with the same params, `jit` runs
   * `forward(inputs, params, rest, produced)` instead, with that result
   * (max pooling's gradient with relu's VJP, relu's mask being the
   * pooling's input: the pooled maxima are the mask's values at the
   * argmaxes, a quarter of its size; the same bits).
   */
  epilogueFrom?: Readonly<{
    name: string;
    input: number;
    producer: string;
    forward: (
      inputs: Tensor[],
      params: P,
      rest: Tensor[],
      produced: Tensor,
    ) => Tensor;
  }>;
}

/** The lane operations of `jit`'s fused float32 kernels (see {@linkcode Rule.simd}). */
export type SimdOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "neg"
  | "abs"
  | "sqrt"
  | "maximum"
  | "where"
  | "copy"
  | "sign";

/** A fused epilogue: see {@linkcode Rule.epilogue}. */
export type Epilogue<P> = (
  inputs: Tensor[],
  params: P,
  rest: Tensor[],
) => Tensor;

/** A VJP closure: an output cotangent to one input's cotangent. */
export type Vjp = (g: Tensor) => Tensor;

/** A batching rule: see {@linkcode Rule.batch}. */
export type BatchRule<P> = (
  inputs: Tensor[],
  dims: (number | null)[],
  params: P,
) => [Tensor, number | null];

/** The parameters of a primitive that has none. */
export type Empty = Record<never, never>;

/**
 * A registered primitive: its rule, applied with `bind` (trace.ts). Each op
 * family defines its own next to the op that binds it.
 */
export interface Primitive<P> {
  readonly name: string;
  readonly rule: Rule<P>;
}

/**
 * A node of the reverse-mode record (ad.ts): a primitive application, or a
 * leaf. Ids grow in creation order.
 */
export interface Node {
  readonly id: number;
  readonly parents: readonly Parent[];
}

/** A traced input of a node's primitive `name`, and the VJP to its cotangent. */
export interface Parent extends Pick<Tensor, "shape" | "dtype"> {
  readonly node: Node;
  readonly name: string;
  /** What a NaN made by `vjp` is reported as: "backward of" the user-level op. */
  readonly label: string;
  readonly vjp: Vjp;
  /** Where `vjp` puts g into the input (see {@linkcode Rule.window}). */
  readonly window?: readonly number[] | null;
}
