/**
 * Containers: {@linkcode sequential} (PyTorch's `nn.Sequential`, params an
 * array) and {@linkcode model} (a named model with a forward function,
 * params an object), both layers themselves.
 *
 * @module
 */
import { isTensor, type Tensor, zeros } from "../ops/tensor.ts";
import { foldIn, type Key, split } from "../ops/random.ts";
import { add as addOp } from "../ops/elementwise.ts";
import { concat as concatOp } from "../ops/structural.ts";
import {
  type AnyLayer,
  type ApplyOptions,
  applyOptions,
  checkLayer,
  type Layer,
  type LayerInfo,
  type ParamsOf,
  plainApply,
  type SpecTree,
  type StateOf,
  TRACE,
  type TraceFn,
  traceOf,
} from "./layer.ts";
import { checkKeyArg, checkOptions, describe } from "./_util.ts";

/** PyTorch's container repr: `Name(\n  (key): child\n)`, children indented. */
function containerRepr(
  name: string,
  children: readonly (readonly [string, AnyLayer])[],
): string {
  if (children.length === 0) return `${name}()`;
  const lines = children.map(([k, c]) =>
    `  (${k}): ${c.info.repr.split("\n").join("\n  ")}`
  );
  return `${name}(\n${lines.join("\n")}\n)`;
}

/** Output shape of a container, by tracing it (children by their shape rules). */
function traceShape(trace: TraceFn, inputShape: readonly number[]): number[] {
  const walk = (layer: AnyLayer, s: readonly number[]): number[] => {
    const t = traceOf(layer);
    return t
      ? t(s, (_n, c, cs) => walk(c, cs), walk)
      : layer.info.outputShape(s);
  };
  return trace(inputShape, (_n, c, s) => walk(c, s), walk);
}

/** One key per child that needs one, split from `key` in child order. */
function childKeys(
  children: readonly (readonly [string, AnyLayer])[],
  key: Key | undefined,
): Map<string, Key> {
  const keyed = children.filter(([, c]) => c.info.needsKey);
  const out = new Map<string, Key>();
  if (key === undefined || keyed.length === 0) return out;
  const keys = split(key, keyed.length);
  keyed.forEach(([name], i) => out.set(name, keys[i]));
  return out;
}

/** Keys for `init` of the container `fn`: one per child, in order. */
function initKeys(fn: string, key: Key, n: number): Key[] {
  checkKeyArg(fn, key);
  return n === 0 ? [] : split(key, n);
}

// ---------------------------------------------------------------------------
// sequential

/** Params of a sequential: one entry per layer. */
export type SequentialParams<L extends readonly AnyLayer[]> = {
  -readonly [I in keyof L]: ParamsOf<L[I]>;
};

/** State of a sequential: one entry per layer (`{}` for a layer without buffers). */
export type SequentialState<L extends readonly AnyLayer[]> = {
  -readonly [I in keyof L]: StateOf<L[I]>;
};

/**
 * Chains layers, each applied to the previous one's output (PyTorch's
 * `nn.Sequential`). Its params are an array with one entry per layer (`{}`
 * for a parameterless one), so a parameter's dotted path is PyTorch's
 * state_dict key (`0.weight`); its state likewise. `init` splits the key
 * into one per layer; `apply` with `{ training: true, key }` splits the key
 * among the layers that need one (dropout), in order. A layer object passed
 * twice gets two independent entries (its own params at each position;
 * PyTorch's `nn.Sequential(lin, lin)` shares one module): to share weights,
 * call one child twice in a {@linkcode model}.
 *
 * @example
 * ```ts
 * import { nn, random, treePaths, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const model = nn.sequential(
 *   nn.conv2d({ inChannels: 1, outChannels: 6, kernelSize: 5 }),
 *   nn.relu,
 *   nn.maxPool2d({ kernelSize: 2 }),
 *   nn.flatten(),
 *   nn.linear({ inFeatures: 6 * 14 * 14, outFeatures: 10 }),
 * );
 * const params = model.init(random.key(0));
 * assert.deepEqual(treePaths(params).map(([p]) => p), ["0.bias", "0.weight", "4.bias", "4.weight"]);
 * assert.deepEqual(model.apply(params, zeros([2, 1, 32, 32])).shape, [2, 10]);
 * assert.equal(model.info.repr.split("\n")[1], "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))");
 * ```
 */
export function sequential<const L extends readonly AnyLayer[]>(
  ...layers: L
): Layer<SequentialParams<L>, SequentialState<L>> {
  const fn = "nn.sequential";
  layers.forEach((l, i) => checkLayer(fn, `layer ${i}`, l));
  const children = layers.map((l, i) => [String(i), l] as const);
  const trace: TraceFn = (shape, callChild) =>
    children.reduce<number[]>((s, [name, c]) => callChild(name, c, s), [
      ...shape,
    ]);
  const info: LayerInfo = Object.freeze({
    name: "Sequential",
    repr: containerRepr("Sequential", children),
    params: layers.map((l) => l.info.params) as SpecTree,
    needsKey: layers.some((l) => l.info.needsKey),
    hasState: layers.some((l) => l.info.hasState),
    children,
    outputShape: (s: readonly number[]) => traceShape(trace, s),
  });
  type P = SequentialParams<L>;
  type S = SequentialState<L>;
  const initState = () => layers.map((l) => l.initState()) as unknown as S;
  const applyWithState = (
    params: P,
    state: S,
    x: Tensor,
    opts?: ApplyOptions,
  ): { y: Tensor; state: S } => {
    const afn = "nn.Sequential.apply";
    const { training, key } = applyOptions(afn, opts);
    for (
      const [name, tree] of [["params", params], ["state", state]] as const
    ) {
      if (!Array.isArray(tree) || tree.length !== layers.length) {
        throw new Error(
          `${afn}: ${name} must be an array with one entry per layer (${layers.length}), got ${
            describe(tree)
          }`,
        );
      }
    }
    const keys = childKeys(children, key);
    const ps = params as readonly unknown[], ss = state as readonly unknown[];
    const next: unknown[] = [];
    let y = x;
    layers.forEach((l, i) => {
      const r = inChild(String(i), () =>
        l.applyWithState(ps[i], ss[i], y, {
          training,
          key: keys.get(String(i)),
        }));
      if (!isTensor(r.y)) {
        throw new Error(
          `${afn}: layer ${i} (${l.info.name}) returned ${
            describe(r.y)
          } instead of a Tensor`,
        );
      }
      y = r.y;
      next.push(r.state);
    });
    return { y, state: next as unknown as S };
  };
  const init = (key: Key) => {
    const keys = initKeys("nn.Sequential.init", key, layers.length);
    return layers.map((l, i) => l.init(keys[i])) as unknown as P;
  };
  const apply = plainApply("nn.Sequential.apply", {
    info,
    init,
    initState,
    applyWithState,
  });
  return Object.freeze({
    info,
    init,
    apply,
    initState,
    applyWithState,
    [TRACE]: trace,
  });
}

// ---------------------------------------------------------------------------
// named models

/**
 * What a named model's forward function receives: each registered child as
 * a function of its input (its params, state and key are threaded for you),
 * and `call(layer, x)` for a parameterless layer used functionally (like
 * `F.relu(x)` in PyTorch; it shows in `summary`'s table but not in the repr).
 */
export type Bound<C> =
  & { readonly [K in keyof C]: (x: Tensor) => Tensor }
  & {
    /** Applies an unregistered layer without params, state or key (`nn.relu`, `nn.maxPool2d(...)`). */
    readonly call: (layer: AnyLayer, x: Tensor) => Tensor;
    /** The sum of two activations, a residual connection (`toTorch` writes it as `a + b`). */
    readonly add: (a: Tensor, b: Tensor) => Tensor;
    /** Activations joined along `axis` (default 1, the channels; `toTorch` writes `torch.cat`). */
    readonly concat: (xs: readonly Tensor[], axis?: number) => Tensor;
  };

/** Options a forward function receives. */
export interface ForwardOptions {
  /** Training mode, as given to `apply` (default false). */
  readonly training: boolean;
}

/** Params of a named model: one entry per child, under its name. */
export type ModelParams<C> = { -readonly [K in keyof C]: ParamsOf<C[K]> };

/** State of a named model: one entry per child, under its name. */
export type ModelState<C> = { -readonly [K in keyof C]: StateOf<C[K]> };

/** Options of {@linkcode model}. */
export interface ModelOptions {
  /** Class name shown by the repr and `summary` (PyTorch's class name). Default "Model". */
  name?: string;
}

/**
 * A named model: registered sublayers plus a forward function, like a
 * PyTorch `nn.Module` subclass. Params (and state) are an object with one
 * entry per child, so paths are PyTorch's state_dict keys (`conv1.weight`).
 * The forward gets `m`, where `m.conv1(x)` applies child `conv1` with its
 * params (threading its state, and a key split from the model's key when the
 * child needs one), and `m.call(layer, x)` applies an unregistered
 * parameterless layer; plain ops (`relu(x)`, `maxPool2d(x, ...)`) work too.
 * A child may be called more than once (shared weights; its state threads
 * through the calls in order, and a child that needs a key, dropout, draws
 * afresh at each call, as a reused PyTorch module does). `summary` runs the
 * forward on zero activations with every child replaced by its shape rule,
 * so it never allocates parameters.
 *
 * @example
 * ```ts
 * import { nn, random, treePaths, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.model(
 *   {
 *     conv: nn.conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 }),
 *     fc: nn.linear({ inFeatures: 4 * 4 * 4, outFeatures: 10 }),
 *   },
 *   (m, x) => {
 *     x = m.call(nn.maxPool2d({ kernelSize: 2 }), m.call(nn.relu, m.conv(x)));
 *     return m.fc(m.call(nn.flatten(), x));
 *   },
 *   { name: "Tiny" },
 * );
 * const params = net.init(random.key(0));
 * assert.deepEqual(treePaths(params).map(([p]) => p), ["conv.bias", "conv.weight", "fc.bias", "fc.weight"]);
 * assert.deepEqual(net.apply(params, zeros([2, 1, 8, 8])).shape, [2, 10]);
 * assert.equal(net.info.repr.split("\n")[0], "Tiny(");
 * assert.deepEqual(net.info.outputShape([5, 1, 8, 8]), [5, 10]);
 * ```
 */
export function model<C extends Readonly<Record<string, AnyLayer>>>(
  children: C,
  forward: (m: Bound<C>, x: Tensor, opts: ForwardOptions) => Tensor,
  options?: ModelOptions,
): Layer<ModelParams<C>, ModelState<C>> {
  if (options === undefined) options = {};
  const fn = "nn.model";
  if (
    typeof children !== "object" || children === null || Array.isArray(children)
  ) {
    throw new Error(
      `${fn}: children must be an object of named layers, got ${
        describe(children)
      }`,
    );
  }
  if (typeof forward !== "function") {
    throw new Error(
      `${fn}: forward must be a function, got ${describe(forward)}`,
    );
  }
  checkOptions(fn, options, ["name"]);
  if (options.name !== undefined && typeof options.name !== "string") {
    throw new Error(
      `${fn}: options.name must be a string, got ${describe(options.name)}`,
    );
  }
  const name = options.name ?? "Model";
  const entries = Object.entries(children) as [string, AnyLayer][];
  for (const [k, c] of entries) {
    if (k === "call" || k === "add" || k === "concat") {
      throw new Error(
        `${fn}: a child cannot be named "${k}" (m.call applies functional layers, m.add and m.concat join activations)`,
      );
    }
    // (as PyTorch's add_module: a name is one non-empty part of the dotted
    // state_dict keys)
    if (k === "" || k.includes(".")) {
      throw new Error(
        `${fn}: a child's name must be non-empty and without ".", as a PyTorch module's (its params' paths are "name.weight"), got ${
          JSON.stringify(k)
        }`,
      );
    }
    checkLayer(fn, `child "${k}"`, c);
  }
  const checkFunctional = (layer: AnyLayer) => {
    checkLayer("nn.model forward: m.call", "layer", layer);
    const i = layer.info;
    if (
      JSON.stringify(i.params) !== "{}" || i.hasState || i.needsKey
    ) {
      throw new Error(
        `nn.model forward: m.call(${i.name}) takes only layers without params, state or key; register it as a child instead`,
      );
    }
  };
  const bind = (
    callChild: (k: string, c: AnyLayer, x: Tensor) => Tensor,
    callLayer: (l: AnyLayer, x: Tensor) => Tensor,
    callAdd: (a: Tensor, b: Tensor) => Tensor = addOp,
    callConcat: (xs: readonly Tensor[], axis: number) => Tensor = concatOp,
  ): Bound<C> => {
    const m: Record<string, unknown> = {};
    for (const [k, c] of entries) m[k] = (x: Tensor) => callChild(k, c, x);
    m.call = (layer: AnyLayer, x: Tensor) => {
      checkFunctional(layer);
      return callLayer(layer, x);
    };
    m.add = (a: Tensor, b: Tensor) => {
      for (const [what, t] of [["a", a], ["b", b]] as const) {
        if (!isTensor(t)) {
          throw new Error(
            `nn.model forward: m.add: ${what} must be a Tensor, got ${
              describe(t)
            }`,
          );
        }
      }
      return callAdd(a, b);
    };
    m.concat = (xs: readonly Tensor[], axis = 1) => {
      if (!Array.isArray(xs) || xs.length === 0 || !xs.every(isTensor)) {
        throw new Error(
          `nn.model forward: m.concat: xs must be a non-empty array of Tensors, got ${
            describe(xs)
          }`,
        );
      }
      return callConcat(xs, axis);
    };
    return m as Bound<C>;
  };
  const runForward = (m: Bound<C>, x: Tensor, training: boolean): Tensor => {
    const y = forward(m, x, { training });
    if (!isTensor(y)) {
      throw new Error(
        `${name} forward: must return a Tensor, got ${describe(y)}`,
      );
    }
    return y;
  };
  const trace: TraceFn = (shape, callChild, callLayer) => {
    // children and functional layers by their shape rules; glue ops on zeros
    const m = bind(
      (k, c, x) => zeros(callChild(k, c, x.shape), { dtype: x.dtype }),
      (l, x) => zeros(callLayer(l, x.shape), { dtype: x.dtype }),
    );
    return runForward(m, zeros(shape), false).shape.slice();
  };
  const info: LayerInfo = Object.freeze({
    name,
    repr: containerRepr(name, entries),
    params: Object.fromEntries(entries.map(([k, c]) => [k, c.info.params])),
    needsKey: entries.some(([, c]) => c.info.needsKey),
    hasState: entries.some(([, c]) => c.info.hasState),
    children: entries,
    outputShape: (s: readonly number[]) => traceShape(trace, s),
    forwardWith: (
      x: Tensor,
      callChild: (k: string, c: AnyLayer, x: Tensor) => Tensor,
      callLayer: (l: AnyLayer, x: Tensor) => Tensor,
      callAdd?: (a: Tensor, b: Tensor) => Tensor,
      callConcat?: (xs: readonly Tensor[], axis: number) => Tensor,
    ) => runForward(bind(callChild, callLayer, callAdd, callConcat), x, false),
  });
  type P = ModelParams<C>;
  type S = ModelState<C>;
  const initState = () =>
    Object.fromEntries(entries.map(([k, c]) => [k, c.initState()])) as S;
  const applyWithState = (
    params: P,
    state: S,
    x: Tensor,
    opts?: ApplyOptions,
  ): { y: Tensor; state: S } => {
    const afn = `nn.${name}.apply`;
    const { training, key } = applyOptions(afn, opts);
    for (
      const [what, tree] of [["params", params], ["state", state]] as const
    ) {
      const bad = typeof tree !== "object" || tree === null ||
        Array.isArray(tree);
      const missing = bad
        ? undefined
        : entries.find(([k]) => !(k in (tree as object)));
      if (bad || missing) {
        throw new Error(
          `${afn}: ${what} must be an object with one entry per child (${
            entries.map(([k]) => k).join(", ")
          }), got ${describe(tree)}${
            missing ? ` without "${missing[0]}"` : ""
          }`,
        );
      }
    }
    const keys = childKeys(entries, key);
    const ps = params as Record<string, unknown>;
    const next: Record<string, unknown> = { ...state };
    // a child called again draws afresh (PyTorch's dropout module reused in
    // a forward draws a new mask per call): the n-th call (n >= 1) gets its
    // key folded with n, the first the key itself
    const calls = new Map<string, number>();
    const m = bind(
      (k, c, x) => {
        const n = calls.get(k) ?? 0, ck = keys.get(k);
        calls.set(k, n + 1);
        const r = inChild(k, () =>
          c.applyWithState(ps[k], next[k], x, {
            training,
            key: ck === undefined || n === 0 ? ck : foldIn(ck, n),
          }));
        next[k] = r.state;
        return r.y;
      },
      (l, x) => l.apply({}, x, { training }),
    );
    return { y: runForward(m, x, training), state: next as S };
  };
  const init = (key: Key) => {
    const keys = initKeys(`nn.${name}.init`, key, entries.length);
    return Object.fromEntries(
      entries.map(([k, c], i) => [k, c.init(keys[i])]),
    ) as P;
  };
  const apply = plainApply(`nn.${name}.apply`, {
    info,
    init,
    initState,
    applyWithState,
  });
  return Object.freeze({
    info,
    init,
    apply,
    initState,
    applyWithState,
    [TRACE]: trace,
  });
}

/**
 * Runs `f`, a child's apply: a plain Error from it (a layer's check of its
 * params, state or input) is thrown again, still a plain Error, with the
 * child's path appended, `(in child layer1.0.conv1)`, each enclosing
 * container putting its key in front, so that an error about one of many
 * alike layers says which. Errors of other classes (the transforms' own
 * signals) pass unchanged.
 */
function inChild<T>(key: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    const known = childErrors.get(e);
    const message = known?.message ?? e.message;
    const path = [key, ...known?.path ?? []];
    const err = new Error(`${message} (in child ${path.join(".")})`, {
      cause: known ? e.cause : e,
    });
    childErrors.set(err, { message, path });
    throw err;
  }
}

/** The errors `inChild` made: the first error's message and the child path so far. */
const childErrors = new WeakMap<Error, { message: string; path: string[] }>();
