/**
 * The types of `grad` and `valueAndGrad`'s typed overloads (transforms.ts):
 * which arguments they differentiate, the type of the gradient, and what
 * `f` returns with `hasAux`.
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
