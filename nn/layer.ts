/**
 * The layer record shared by every layer, container and model, and
 * {@linkcode defineLayer}, which builds one from an `apply` function.
 *
 * @module
 */
import type { DType, Tensor } from "../ops/tensor.ts";
import type { Key } from "../ops/random.ts";
import type { Tree } from "../ops/tree.ts";
import { checkTensor, isTensor, sameShape } from "../ops/tensor.ts";
import {
  bounded,
  checkKeyArg,
  checkOptions,
  describe,
  fmtShape,
  requireOptions,
} from "./_util.ts";

/** A tree of parameters (or gradients): nested arrays and plain objects of tensors. */
export type Params = Tree;

/** A tree of buffers (batch norm's running statistics), kept apart from the parameters. */
export type State = Tree;

/** The parameters of a leaf layer: `{ weight, bias }`, or `{}` for a parameterless one. */
export type LeafParams = Readonly<Record<string, Tensor>>;

/** The state of a layer without buffers: `{}`. */
export type EmptyState = Readonly<Record<string, never>>;

/** Options of a layer's `apply` and `applyWithState`. */
export interface ApplyOptions {
  /**
   * Training mode: dropout drops, batch norm normalises with the batch's
   * statistics (and `applyWithState` updates the running ones). Default
   * `false`: inference is what a bare `apply(params, x)` does.
   */
  training?: boolean;
  /**
   * PRNG key for the layers that draw random numbers when training
   * (dropout). Containers split it among the layers that need one.
   */
  key?: Key;
}

/** Shape and dtype of one parameter, known without allocating it. */
export interface ParamSpec {
  /** The parameter's shape. */
  readonly shape: readonly number[];
  /** The parameter's dtype. */
  readonly dtype: DType;
}

/** A tree of {@linkcode ParamSpec}s with the structure of a layer's `init` result. */
export type SpecTree = ParamSpec | readonly SpecTree[] | {
  readonly [key: string]: SpecTree;
};

/** What `summary` and the containers know about a layer, without allocating anything. */
export interface LayerInfo {
  /** PyTorch's class name: `"Conv2d"`, `"Sequential"`, `"Net"`. */
  readonly name: string;
  /** What PyTorch's `print(module)` shows (several lines for a container). */
  readonly repr: string;
  /**
   * The PyTorch constructor call of a leaf layer where `repr` leaves
   * settings out (AvgPool2d's repr omits ceil_mode and count_include_pad);
   * absent when `repr` is the call.
   */
  readonly torch?: string;
  /** Shapes and dtypes of the tree `init` returns. */
  readonly params: SpecTree;
  /** Applying in training mode needs `opts.key` (dropout, or a container holding one). */
  readonly needsKey: boolean;
  /** The layer has buffers in a state tree (batch norm, or a container holding one). */
  readonly hasState: boolean;
  /** The registered sublayers of a container, in order (`[]` for a leaf layer). */
  readonly children: readonly (readonly [string, Layer<unknown, unknown>])[];
  /** The output shape for an input shape; throws as `apply` would on a mismatch. */
  outputShape(inputShape: readonly number[]): number[];
  /**
   * A named model's forward with every child call (`m.<name>(x)`),
   * functional layer (`m.call(layer, x)`), sum (`m.add(a, b)`) and join (`m.concat(xs, axis)`) done by the given functions
   * instead (for exporters that follow its structure); absent elsewhere.
   */
  readonly forwardWith?: (
    x: Tensor,
    callChild: (
      name: string,
      child: Layer<unknown, unknown>,
      x: Tensor,
    ) => Tensor,
    callLayer: (layer: Layer<unknown, unknown>, x: Tensor) => Tensor,
    callAdd?: (a: Tensor, b: Tensor) => Tensor,
    callConcat?: (xs: readonly Tensor[], axis: number) => Tensor,
  ) => Tensor;
}

/**
 * A layer: a pair of pure functions `init(key) -> params` and
 * `apply(params, x, opts?) -> y`, plus the state pair for layers with
 * buffers and a description for {@linkcode summary}. Every layer has
 * `initState` and `applyWithState` (the state of a layer without buffers is
 * `{}`), so a training loop can treat all models alike.
 */
export interface Layer<P = Params, S = State> {
  /** Description used by `summary`, `paramCount` and the containers. */
  readonly info: LayerInfo;
  /** Fresh parameters drawn from `key` (PyTorch's default initialisation). */
  init(key: Key): P;
  /**
   * The output for input `x`; inference (`training: false`) unless told
   * otherwise. A layer with state (`info.hasState`: batch norm, or a
   * container holding one) throws here, naming that layer: its buffers go
   * through `applyWithState`.
   */
  apply(params: P, x: Tensor, opts?: ApplyOptions): Tensor;
  /** The initial buffers (`{}` for a layer without any). */
  initState(): S;
  /** The output and the updated buffers (unchanged unless training). */
  applyWithState(
    params: P,
    state: S,
    x: Tensor,
    opts?: ApplyOptions,
  ): { y: Tensor; state: S };
}

/** A leaf layer: params `{ weight, bias }` (or `{}`), no buffers. */
export type LeafLayer = Layer<LeafParams, EmptyState>;

/** Any layer, whatever its parameter and state types. */
export type AnyLayer = Layer<unknown, unknown>;

/** The parameter type of a layer. */
export type ParamsOf<L> = L extends Layer<infer P, unknown> ? P : never;

/** The state type of a layer. */
export type StateOf<L> = L extends Layer<unknown, infer S> ? S : never;

/**
 * How a container walks its children for `summary` without allocating
 * parameters: it reports each child call (or functional layer call) with its
 * input shape and receives the output shape. @internal
 */
export type TraceFn = (
  inputShape: readonly number[],
  callChild: (
    name: string,
    child: AnyLayer,
    shape: readonly number[],
  ) => number[],
  callLayer: (layer: AnyLayer, shape: readonly number[]) => number[],
) => number[];

/** Key of the trace function on container layers. @internal */
export const TRACE: unique symbol = Symbol("nn.trace");

/** The trace function of a container, if it is one. @internal */
export function traceOf(layer: AnyLayer): TraceFn | undefined {
  return (layer as unknown as { [TRACE]?: TraceFn })[TRACE];
}

/**
 * The dotted path (PyTorch's state_dict prefix, `""` for the layer itself)
 * and class name of the first layer with state in `layer`. @internal
 */
function statePath(layer: AnyLayer): [string, string] {
  for (const [k, c] of layer.info.children) {
    if (c.info.hasState) {
      const [p, name] = statePath(c);
      return [p ? `${k}.${p}` : k, name];
    }
  }
  return ["", layer.info.name];
}

/**
 * The plain `apply` of a layer, built from its `applyWithState` and
 * `initState`. A layer with state (`info.hasState`, which containers take
 * from their children) throws instead, naming the function, the layer with
 * state (its path in the model) and what to call: a bare `apply` would
 * silently use the initial buffers (batch norm's running statistics). The
 * one check for every layer and container with buffers. @internal
 */
export function plainApply<P, S>(
  fn: string,
  layer: Omit<Layer<P, S>, "apply">,
): (params: P, x: Tensor, opts?: ApplyOptions) => Tensor {
  return (params, x, opts) => {
    if (layer.info.hasState) {
      const [path, name] = statePath(layer as AnyLayer);
      throw new Error(
        `${fn}: ${
          path ? `layer ${path} (${name})` : `this ${name}`
        } has state (buffers) that plain apply would leave at their initial values: use applyWithState(params, state, x, { training }) with state = initState() at first, and keep the state it returns`,
      );
    }
    return layer.applyWithState(params, layer.initState(), x, opts).y;
  };
}

/** Checks apply options and fills the default `training: false`. @internal */
export function applyOptions(
  fn: string,
  opts: ApplyOptions | undefined,
): { training: boolean; key: Key | undefined } {
  checkOptions(fn, opts, ["training", "key"]);
  const training = opts?.training ?? false;
  if (typeof training !== "boolean") {
    throw new Error(
      `${fn}: opts.training must be a boolean, got ${describe(training)}`,
    );
  }
  return { training, key: opts?.key };
}

/**
 * True when `x` is a layer: has `info`, `init`, `apply`, `initState` and
 * `applyWithState` (build custom ones with {@linkcode defineLayer}).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(nn.isLayer(nn.relu));
 * assert.ok(nn.isLayer(nn.flatten()));
 * assert.ok(!nn.isLayer(nn.flatten)); // a constructor, not a layer
 * ```
 */
export function isLayer(x: unknown): x is AnyLayer {
  const l = x as AnyLayer;
  return typeof x === "object" && x !== null &&
    typeof l.info === "object" && l.info !== null &&
    typeof l.init === "function" && typeof l.apply === "function" &&
    typeof l.initState === "function" &&
    typeof l.applyWithState === "function";
}

/** Throws unless `layer` is a layer; names the caller and the argument. @internal */
export function checkLayer(fn: string, name: string, layer: unknown): void {
  if (!isLayer(layer)) {
    throw new Error(
      `${fn}: ${name} must be a layer ({ info, init, apply, initState, applyWithState }; nn.defineLayer builds one), got ${
        typeof layer === "function"
          ? `the function ${
            layer.name || "(anonymous)"
          } (a constructor? call it: nn.flatten(), nn.linear({ ... }))`
          : describe(layer)
      }`,
    );
  }
}

/** A leaf layer's parameter specs: a spec per key, or specs of a sub-object (PyTorch's `out_proj.weight` in `MultiheadAttention`). */
export type LeafSpecs = {
  readonly [key: string]: ParamSpec | LeafSpecs;
};

/** Whether `s` is one parameter's spec (not a sub-object of specs). */
const isSpec = (s: ParamSpec | LeafSpecs): s is ParamSpec =>
  Array.isArray((s as ParamSpec).shape) &&
  typeof (s as ParamSpec).dtype === "string";

/** The dotted paths and shapes of a leaf layer's param specs. */
function specShapes(
  specs: LeafSpecs,
  at = "",
): [string, readonly number[]][] {
  return Object.entries(specs).flatMap(([k, s]) =>
    isSpec(s) ? [[`${at}${k}`, s.shape]] : specShapes(s, `${at}${k}.`)
  );
}

/** Checks that a leaf layer's params hold the declared tensors with the declared shapes. @internal */
export function checkParams(
  fn: string,
  params: unknown,
  specs: LeafSpecs,
  at = "params",
): void {
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw new Error(
      `${fn}: ${at} must be a plain object ({} for a parameterless layer), got ${
        describe(params)
      }`,
    );
  }
  for (const [k, spec] of Object.entries(specs)) {
    const t = (params as Record<string, unknown>)[k];
    if (!isSpec(spec)) {
      checkParams(fn, t, spec, `${at}.${k}`);
      continue;
    }
    if (!isTensor(t)) {
      throw new Error(
        `${fn}: ${at}.${k} must be a Tensor of shape ${
          fmtShape(spec.shape)
        }, got ${describe(t)} (${at} has keys [${
          Object.keys(params).join(", ")
        }])`,
      );
    }
    if (!sameShape(t.shape, spec.shape)) {
      throw new Error(
        `${fn}: ${at}.${k} has shape ${
          fmtShape(t.shape)
        } but the layer expects ${fmtShape(spec.shape)}`,
      );
    }
  }
}

/** Definition of a layer without buffers, for {@linkcode defineLayer}. */
export interface LayerDefinition<P extends LeafParams = LeafParams> {
  /** PyTorch's class name, shown by `summary`. */
  name: string;
  /** The line `print(module)` shows. Default `${name}()`. */
  repr?: string;
  /** The PyTorch constructor call, where `repr` leaves settings out (see {@linkcode LayerInfo.torch}). */
  torch?: string;
  /** Shapes of the parameters `init` returns (a key may hold the specs of a sub-object). Default `{}` (none). */
  params?: LeafSpecs;
  /** Draws the parameters. Required when `params` is not empty. */
  init?: (key: Key) => P;
  /** The forward computation; `opts.training` is filled in (default false). */
  apply: (
    params: P,
    x: Tensor,
    opts: { training: boolean; key: Key | undefined },
  ) => Tensor;
  /** Output shape for an input shape. Default: the input shape. */
  outputShape?: (inputShape: readonly number[]) => number[];
  /** Training mode needs `opts.key`. Default false. */
  needsKey?: boolean;
}

/**
 * Builds a layer without buffers from its `apply` function, as the built-in
 * layers are built: `apply` gets checked options (`training` defaults to
 * false), `initState()` is `{}` and `applyWithState` passes the state
 * through.
 *
 * @example
 * ```ts
 * import { mul, nn, random, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const double = nn.defineLayer({ name: "Double", apply: (_p, x) => mul(x, 2) });
 * assert.deepEqual(toArray(double.apply({}, tensor([1, 2]))), [2, 4]);
 * assert.equal(double.info.repr, "Double()");
 * const model = nn.sequential(nn.linear({ inFeatures: 2, outFeatures: 1 }), double);
 * assert.deepEqual(model.apply(model.init(random.key(0)), tensor([[1, 2]])).shape, [1, 1]);
 * ```
 */
export function defineLayer<P extends LeafParams = LeafParams>(
  definition: LayerDefinition<P>,
): Layer<P, EmptyState> {
  requireOptions("nn.defineLayer", definition, ["name", "apply"], [
    "name",
    "repr",
    "torch",
    "params",
    "init",
    "apply",
    "outputShape",
    "needsKey",
  ]);
  const { name, apply, outputShape } = definition;
  const params = definition.params ?? {};
  if (Object.keys(params).length > 0 && !definition.init) {
    throw new Error(
      `nn.defineLayer: layer ${name} declares params but no init function`,
    );
  }
  const made = definition.init;
  const init = made
    ? (key: Key) => {
      const at = `nn.${name}.init`;
      checkKeyArg(at, key);
      // every param's size before any is drawn: one too large is an error
      // at once, not after gigabytes of the others
      bounded(at, specShapes(params), "param ");
      try {
        return made(key);
      } catch (e) {
        // (params too large to draw: the layer's sizes, named by the layer)
        throw e instanceof Error && !e.message.startsWith("nn.")
          ? new Error(`${at}: ${e.message}`)
          : e;
      }
    }
    : () => ({} as P);
  const fn = `nn.${name}.apply`;
  const info: LayerInfo = Object.freeze({
    name,
    repr: definition.repr ?? `${name}()`,
    ...(definition.torch ? { torch: definition.torch } : {}),
    params,
    needsKey: definition.needsKey ?? false,
    hasState: false,
    children: [],
    outputShape: outputShape ?? ((s: readonly number[]) => s.slice()),
  });
  const run = (params: P, x: Tensor, opts?: ApplyOptions) => {
    checkTensor(fn, x, "x");
    const o = applyOptions(fn, opts);
    checkParams(fn, params, info.params as LeafSpecs);
    return apply(params, x, o);
  };
  return Object.freeze({
    info,
    init,
    apply: run,
    initState: () => ({}),
    applyWithState: (
      params: P,
      state: EmptyState,
      x: Tensor,
      opts?: ApplyOptions,
    ) => ({ y: run(params, x, opts), state }),
  });
}
