/**
 * Recurrent layers, as `torch.nn.RNN`, `LSTM` and `GRU`: PyTorch's
 * equations, gate order, parameter names (`weight_ih_l0`,
 * `bias_hh_l1_reverse`, ...), shapes, init and options. Each layer's input
 * projection runs for the whole sequence as one matrix product; the
 * recurrence is a `scan` over time, so it differentiates, jits and vmaps
 * as any composition of ops does. `apply` returns the output sequence (the
 * last layer's hidden states), as the first element of PyTorch's result;
 * the initial states are zeros unless given (`opts.h0`, and `opts.c0` for
 * an LSTM, PyTorch's `hx`). `applyWithHidden` returns the final states too
 * (PyTorch's `h_n` and `c_n`), so that a long sequence runs in pieces
 * (truncated backpropagation through time) or a step at a time.
 *
 * @module
 */
import type { Key } from "../ops/random.ts";
import { split } from "../ops/random.ts";
import {
  checkOptions,
  checkTensor,
  describe,
  fmtShape,
  type Tensor,
  zeros,
} from "../ops/tensor.ts";
import { add, mul, relu, sigmoid, sub, tanh } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import {
  concat,
  reshape,
  slice,
  squeeze,
  stack,
  transpose,
} from "../ops/structural.ts";
import { split as splitOp } from "../ops/shape.ts";
import { scan } from "../ops/control_flow.ts";
import { dropout as dropoutOp } from "../ops/normalization.ts";
import { checkBool } from "../ops/tensor.ts";
import { floatCheck, numberOption } from "../ops/_args.ts";
import {
  type ApplyOptions,
  applyOptions,
  checkParams,
  defineLayer,
  type EmptyState,
  type Layer,
  type LeafParams,
  type LeafSpecs,
  type ParamSpec,
} from "./layer.ts";
import { type FloatDType, floatDType, uniformInit } from "./layers.ts";
import {
  checkKeyArg,
  checkSequenceShape,
  positiveInt,
  pyBool,
  pyFloat,
  requireOptions,
} from "./_util.ts";

/** Options of {@linkcode rnn}, {@linkcode lstm} and {@linkcode gru}. */
export interface RecurrentOptions {
  /** Features of each input step (the input's last axis). */
  inputSize: number;
  /** Features of the hidden state. */
  hiddenSize: number;
  /** Stacked layers, each reading the one below's outputs. Default 1. */
  numLayers?: number;
  /** Learn the biases `bias_ih` and `bias_hh`. Default true. */
  bias?: boolean;
  /** Input and output `[batch, seq, features]` (else `[seq, batch, features]`). Default false. */
  batchFirst?: boolean;
  /** Dropout on every layer's outputs but the last, in training. Default 0. */
  dropout?: number;
  /** A second pass from the end; outputs `[..., 2 · hiddenSize]` (forward, then backward). Default false. */
  bidirectional?: boolean;
  /** Parameter dtype. Default "float32". */
  dtype?: FloatDType;
}

/** Options of {@linkcode rnn}: also the nonlinearity. */
export interface RnnOptions extends RecurrentOptions {
  /** "tanh" (default) or "relu". */
  nonlinearity?: "tanh" | "relu";
}

/** Options of {@linkcode lstm}: also the projection of the hidden state. */
export interface LstmOptions extends RecurrentOptions {
  /**
   * Features of the projected hidden state, as PyTorch's `proj_size`: each
   * layer's `h' = (o tanh(c')) W_hr^T` (`weight_hr_l{k}` `[projSize,
   * hiddenSize]`), so the output and `h` have `projSize` features and `c`
   * keeps `hiddenSize`. In [0, hiddenSize); default 0: no projection.
   */
  projSize?: number;
}

/**
 * Options of a recurrent layer's `apply`, `applyWithState` and
 * `applyWithHidden`: the training options and the initial states, as
 * PyTorch's `hx`, layer by layer and, within a layer, forward then
 * backward (index `l · D + d`, D = 2 when bidirectional, else 1).
 */
export interface RecurrentApplyOptions extends ApplyOptions {
  /**
   * Initial hidden state `[D · numLayers, batch, H_out]` (unbatched x:
   * `[D · numLayers, H_out]`), H_out = projSize or hiddenSize (whatever
   * batchFirst says of x). Default zeros.
   */
  h0?: Tensor;
  /** An LSTM's initial cell state `[D · numLayers, batch, hiddenSize]` (unbatched x: `[D · numLayers, hiddenSize]`); given with h0, as PyTorch's `(h0, c0)`. */
  c0?: Tensor;
}

/** What `applyWithHidden` returns: the output and the final hidden state. */
export interface RecurrentOutput {
  /** The output sequence, what `apply` returns (the same bits). */
  y: Tensor;
  /** The final hidden state of each layer and direction, PyTorch's `h_n`: `[D · numLayers, batch, H_out]` (unbatched: `[D · numLayers, H_out]`). */
  h: Tensor;
}

/** An LSTM's {@linkcode RecurrentOutput}: also the final cell state. */
export interface LstmOutput extends RecurrentOutput {
  /** The final cell state, PyTorch's `c_n`: `[D · numLayers, batch, hiddenSize]` (unbatched: `[D · numLayers, hiddenSize]`). */
  c: Tensor;
}

/**
 * A recurrent layer: a layer whose apply options take the initial states,
 * with `applyWithHidden(params, x, opts)`, which returns the final states
 * beside the output (PyTorch's `output, h_n` / `output, (h_n, c_n)`).
 */
export interface RecurrentLayer<O extends RecurrentOutput = RecurrentOutput>
  extends Layer<LeafParams, EmptyState> {
  /** The output sequence for input `x`, from the initial states `opts.h0` (and `opts.c0`) or zeros. */
  apply(params: LeafParams, x: Tensor, opts?: RecurrentApplyOptions): Tensor;
  /** As `apply`, with the (empty) state passed through. */
  applyWithState(
    params: LeafParams,
    state: EmptyState,
    x: Tensor,
    opts?: RecurrentApplyOptions,
  ): { y: Tensor; state: EmptyState };
  /** The output (`apply`'s) and the final states, in PyTorch's layout. */
  applyWithHidden(
    params: LeafParams,
    x: Tensor,
    opts?: RecurrentApplyOptions,
  ): O;
}

/**
 * One step of a cell: the new state (the hidden state first) from the input
 * projection `xi` (`x W_ih^T + b_ih`, all gates), the state and `hh`, the
 * state's projection `h W_hh^T + b_hh`. The first step's state is zeros
 * `[1, H]`, broadcast over the batch: its products are kept, as PyTorch's
 * with `h0 = 0`, so that a non-finite `W_hh` gives NaN at the first step
 * too (0 · Inf).
 */
type Cell = (
  xi: Tensor,
  state: Tensor[],
  hh: (h: Tensor) => Tensor,
) => Tensor[];

/** The gates along the last axis, in PyTorch's order. */
const gates = (t: Tensor, n: number) => splitOp(t, n, { axis: -1 });
/** a + b, or a when b is absent (a zero state's term). */
const plus = (a: Tensor, b: Tensor | null) => (b ? add(a, b) : a);

const CELLS: Record<
  string,
  { gates: number; cell: (act: (x: Tensor) => Tensor) => Cell }
> = {
  // h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)
  RNN: {
    gates: 1,
    cell: (act) => (xi, state, hh) => [act(add(xi, hh(state[0])))],
  },
  // i, f, g, o; c' = f c + i g; h' = o tanh(c')
  LSTM: {
    gates: 4,
    cell: () => (xi, state, hh) => {
      const [i, f, g, o] = gates(add(xi, hh(state[0])), 4);
      const c2 = add(mul(sigmoid(f), state[1]), mul(sigmoid(i), tanh(g)));
      return [mul(sigmoid(o), tanh(c2)), c2];
    },
  },
  // r, z, n; n = tanh(x_n + r (h W_hn^T + b_hn)); h' = (1 - z) n + z h
  GRU: {
    gates: 3,
    cell: () => (xi, state, hh) => {
      const [xr, xz, xn] = gates(xi, 3), [hr, hz, hn] = gates(hh(state[0]), 3);
      const r = sigmoid(add(xr, hr)), z = sigmoid(add(xz, hz));
      const n = tanh(add(xn, mul(r, hn)));
      return [add(mul(sub(1, z), n), mul(z, state[0]))];
    },
  },
};

/** A recurrent layer of PyTorch's class `name`. */
function recurrent(
  fn: string,
  name: "RNN" | "LSTM" | "GRU",
  options: RnnOptions & LstmOptions,
  extra: string[],
): RecurrentLayer<RecurrentOutput & { c?: Tensor }> {
  requireOptions(fn, options, ["inputSize", "hiddenSize"], [
    "inputSize",
    "hiddenSize",
    "numLayers",
    "bias",
    "batchFirst",
    "dropout",
    "bidirectional",
    "dtype",
    ...extra,
  ]);
  const inputSize = positiveInt(fn, "inputSize", options.inputSize);
  const hidden = positiveInt(fn, "hiddenSize", options.hiddenSize);
  const layers = positiveInt(fn, "numLayers", options.numLayers ?? 1);
  const bias = checkBool(fn, "bias", options.bias, true);
  const batchFirst = checkBool(fn, "batchFirst", options.batchFirst, false);
  const bidirectional = checkBool(
    fn,
    "bidirectional",
    options.bidirectional,
    false,
  );
  const p = numberOption(fn, "dropout", options.dropout, 0);
  if (!(p >= 0 && p <= 1)) {
    throw new Error(`${fn}: dropout must be in [0, 1], got ${p}`);
  }
  const nonlinearity = options.nonlinearity ?? "tanh";
  if (nonlinearity !== "tanh" && nonlinearity !== "relu") {
    throw new Error(
      `${fn}: nonlinearity must be "tanh" or "relu", got ${
        describe(nonlinearity)
      }`,
    );
  }
  // (PyTorch's rule: 0 ≤ proj_size < hidden_size)
  const proj = options.projSize ?? 0;
  if (!Number.isInteger(proj) || proj < 0 || proj >= hidden) {
    throw new Error(
      `${fn}: projSize must be an integer in [0, hiddenSize) = [0, ${hidden}) (0: no projection), got ${
        typeof proj === "number" ? proj : describe(proj)
      }`,
    );
  }
  // features of h and of each direction's output
  const out = proj || hidden;
  const dtype = floatDType(fn, options.dtype);
  const { gates: g, cell: makeCell } = CELLS[name];
  const cell = makeCell(nonlinearity === "relu" ? relu : tanh);
  const dirs = bidirectional ? 2 : 1;
  const suffixes = bidirectional ? ["", "_reverse"] : [""];
  const params: Record<string, ParamSpec> = {};
  for (let l = 0; l < layers; l++) {
    const inSize = l === 0 ? inputSize : dirs * out;
    for (const sfx of suffixes) {
      params[`weight_ih_l${l}${sfx}`] = { shape: [g * hidden, inSize], dtype };
      params[`weight_hh_l${l}${sfx}`] = { shape: [g * hidden, out], dtype };
      if (bias) {
        params[`bias_ih_l${l}${sfx}`] = { shape: [g * hidden], dtype };
        params[`bias_hh_l${l}${sfx}`] = { shape: [g * hidden], dtype };
      }
      if (proj) {
        params[`weight_hr_l${l}${sfx}`] = { shape: [proj, hidden], dtype };
      }
    }
  }
  // PyTorch's repr: the sizes, then the settings that differ from defaults
  const settings = [
    proj ? `proj_size=${proj}` : "",
    layers !== 1 ? `num_layers=${layers}` : "",
    !bias ? "bias=False" : "",
    batchFirst ? `batch_first=${pyBool(true)}` : "",
    // (PyTorch stores float(dropout): `dropout=1.0`)
    p !== 0 ? `dropout=${pyFloat(p)}` : "",
    bidirectional ? "bidirectional=True" : "",
  ].filter((s) => s);
  const repr = [`${inputSize}`, `${hidden}`, ...settings].join(", ");
  // dropout draws a mask: between layers, with 0 < p < 1 (1 zeroes)
  const needsKey = p > 0 && p < 1 && layers > 1;
  /**
   * One direction of one layer over `xs` [L, N, in] from the state `s`
   * ([N, ·] each, or null: zeros): its outputs [L, N, out] and final state.
   */
  const pass = (
    prm: LeafParams,
    l: number,
    sfx: string,
    xs: Tensor,
    s: Tensor[] | null,
  ) => {
    const at = (k: string) => prm[`${k}_l${l}${sfx}`];
    const steps = xs.shape[0], reverse = sfx !== "";
    const wi = transpose(at("weight_ih")), wh = transpose(at("weight_hh"));
    const bi = at("bias_ih") ?? null, bh = at("bias_hh") ?? null;
    const wr = proj ? transpose(at("weight_hr")) : null;
    // the input projection of every step as one product (-1: the batch,
    // so that an ONNX export keeps it dynamic); the steps' slices of it get
    // their gradients summed in one pass
    const all = reshape(
      plus(matmul(reshape(xs, [-1, xs.shape[2]]), wi), bi),
      [steps, -1, g * hidden],
    );
    const hh = (h: Tensor) => plus(matmul(h, wh), bh);
    // (an LSTM with projSize: h' is o tanh(c') projected by W_hr)
    const step = (x: Tensor, state: Tensor[]) => {
      const next = cell(x, state, hh);
      return wr ? [matmul(next[0], wr), ...next.slice(1)] : next;
    };
    // the first step from the given state or from zeros (one row, broadcast
    // over the batch, so that it needs no zeros of the batch's size), then
    // a scan over the others
    const first = reverse ? steps - 1 : 0;
    const zero = (n: number) => zeros([1, n], { dtype: wh.dtype });
    const s0 = step(
      squeeze(slice(all, [first], [first + 1]), 0),
      s ?? (name === "LSTM" ? [zero(out), zero(hidden)] : [zero(out)]),
    );
    const y0 = reshape(s0[0], [1, ...s0[0].shape]);
    if (steps === 1) return { ys: y0, last: s0 };
    const rest = reverse ? slice(all, [0], [steps - 1]) : slice(all, [1]);
    const [last, ys] = scan(
      (state: Tensor[], x: Tensor) => {
        const next = step(x, state);
        return [next, next[0]] as const;
      },
      s0,
      rest,
      { reverse },
    );
    return { ys: concat(reverse ? [ys, y0] : [y0, ys], 0), last };
  };
  /** apply's checks of x's shape (`what` describes x in the messages). */
  const checkInput = (
    where: string,
    shape: readonly number[],
    what: string,
  ) => {
    checkSequenceShape(where, shape, what, inputSize, batchFirst);
    if (shape[shape.length === 3 && batchFirst ? 1 : 0] === 0) {
      // (as PyTorch: "Expected sequence length to be larger than 0")
      throw new Error(
        `${where}: x's sequence length must be at least 1, got ${what}`,
      );
    }
  };
  /** Checks an initial state option against x's batch; splits it by layer and direction ([N, ·] each). */
  const initialState = (
    where: string,
    opt: "h0" | "c0",
    t: unknown,
    x: Tensor,
  ) => {
    const v = checkTensor(where, t, `opts.${opt}`);
    floatCheck(where, `opts.${opt}`, v);
    const size = opt === "h0" ? out : hidden;
    const batched = x.shape.length === 3;
    const want = batched
      ? [dirs * layers, x.shape[batchFirst ? 0 : 1], size]
      : [dirs * layers, size];
    if (
      v.shape.length !== want.length || v.shape.some((d, i) => d !== want[i])
    ) {
      throw new Error(
        `${where}: opts.${opt} must be ${fmtShape(want)} ([D · numLayers, ${
          batched ? "batch, " : ""
        }${
          opt === "c0" ? "hiddenSize" : proj ? "projSize" : "hiddenSize"
        }]) for x ${describe(x)}, got ${describe(v)}`,
      );
    }
    // (an unbatched state's rows are [1, ·]: a batch of one)
    const rows = splitOp(v, dirs * layers, { axis: 0 });
    return batched ? rows.map((r) => squeeze(r, 0)) : rows;
  };
  /** The checked forward: the output and each layer and direction's final state. */
  const forward = (
    where: string,
    prm: LeafParams,
    x: Tensor,
    opts: RecurrentApplyOptions | undefined,
  ) => {
    checkTensor(where, x, "x");
    const o = checkOptions(where, opts, ["training", "key", "h0", "c0"]);
    const { training, key } = applyOptions(where, {
      training: o.training as boolean | undefined,
      key: o.key as Key | undefined,
    });
    checkParams(where, prm, params as LeafSpecs);
    const rank = x.shape.length;
    checkInput(where, x.shape, describe(x));
    // (as PyTorch's, which takes no integer input)
    floatCheck(where, "x", x);
    if (name !== "LSTM" && o.c0 !== undefined) {
      throw new Error(
        `${where}: opts.c0 is an LSTM's cell state (${name} has none), got ${
          describe(o.c0)
        }`,
      );
    }
    if (name === "LSTM" && (o.h0 === undefined) !== (o.c0 === undefined)) {
      throw new Error(
        `${where}: opts.h0 and opts.c0 go together (as PyTorch's (h0, c0)), got ${
          o.h0 === undefined ? "c0" : "h0"
        } alone`,
      );
    }
    const h0 = o.h0 === undefined ? null : initialState(where, "h0", o.h0, x);
    const c0 = o.c0 === undefined ? null : initialState(where, "c0", o.c0, x);
    const drops = training && needsKey;
    if (drops) {
      if (!key) {
        throw new Error(
          `${where}: training with dropout needs opts.key (a random.key)`,
        );
      }
      checkKeyArg(where, key, "opts.key");
    }
    // [seq, batch, features] inside
    let h = rank === 2
      ? reshape(x, [x.shape[0], 1, inputSize])
      : batchFirst
      ? transpose(x, [1, 0, 2])
      : x;
    const dropKeys = drops && key ? split(key, layers) : [];
    const last: Tensor[][] = [];
    for (let l = 0; l < layers; l++) {
      if (l > 0 && training && p > 0) {
        h = dropoutOp(h, { p, key: dropKeys[l], training: true });
      }
      const outs = suffixes.map((sfx, d) => {
        const i = l * dirs + d;
        return pass(
          prm,
          l,
          sfx,
          h,
          h0 ? (c0 ? [h0[i], c0[i]] : [h0[i]]) : null,
        );
      });
      last.push(...outs.map((r) => r.last));
      h = outs.length === 1 ? outs[0].ys : concat(outs.map((r) => r.ys), 2);
    }
    const y = rank === 2
      ? squeeze(h, 1)
      : batchFirst
      ? transpose(h, [1, 0, 2])
      : h;
    return { y, last, batched: rank === 3 };
  };
  const base = defineLayer({
    name,
    repr: `${name}(${repr})`,
    torch: nonlinearity === "relu"
      ? `${name}(${repr}, nonlinearity='relu')`
      : undefined,
    params,
    needsKey,
    init: (key: Key) => {
      const names = Object.keys(params);
      const keys = split(key, names.length);
      return Object.fromEntries(
        names.map((k, i) => [
          k,
          uniformInit(keys[i], params[k].shape, hidden, dtype),
        ]),
      );
    },
    // (replaced below by the apply that takes the initial states too)
    apply: (prm, x, opts) => forward(`nn.${name}.apply`, prm, x, opts).y,
    // (the checks of apply: a wrong size or rank is an error here too)
    outputShape: (s) => {
      checkInput(`nn.${name}.outputShape`, s, `shape ${fmtShape(s)}`);
      return [...s.slice(0, -1), dirs * out];
    },
  });
  // defineLayer's apply takes training and key alone: the recurrent layer's
  // apply and applyWithState take the states too (checked by forward)
  const apply = (prm: LeafParams, x: Tensor, opts?: RecurrentApplyOptions) =>
    forward(`nn.${name}.apply`, prm, x, opts).y;
  return Object.freeze({
    ...base,
    apply,
    applyWithState: (
      prm: LeafParams,
      state: EmptyState,
      x: Tensor,
      opts?: RecurrentApplyOptions,
    ) => ({ y: apply(prm, x, opts), state }),
    applyWithHidden: (
      prm: LeafParams,
      x: Tensor,
      opts?: RecurrentApplyOptions,
    ) => {
      const { y, last, batched } = forward(
        `nn.${name}.applyWithHidden`,
        prm,
        x,
        opts,
      );
      // [D · numLayers, N, ·] (unbatched: the rows are [1, ·] already)
      const join = (ts: Tensor[]) => batched ? stack(ts, 0) : concat(ts, 0);
      const h = join(last.map((s) => s[0]));
      return name === "LSTM"
        ? { y, h, c: join(last.map((s) => s[1])) }
        : { y, h };
    },
  });
}

/**
 * An Elman recurrent layer, as `torch.nn.RNN`: `h' = tanh(x W_ih^T + b_ih
 * + h W_hh^T + b_hh)` (or relu), stacked `numLayers` deep, optionally
 * bidirectional. Input `[seq, batch, inputSize]` (`batchFirst`: batch
 * first; or unbatched `[seq, inputSize]`); output the last layer's hidden
 * states, `[seq, batch, D · hiddenSize]`.
 *
 * The initial states are `opts.h0` `[D · numLayers, batch, hiddenSize]`
 * (unbatched: `[D · numLayers, hiddenSize]`; PyTorch's `h_0`, whatever
 * batchFirst says), zeros when absent. `apply` returns the output;
 * `applyWithHidden(params, x, opts)` returns `{ y, h }`, the output and
 * the final states in h0's layout (PyTorch's `output, h_n = rnn(x, h0)`),
 * so that a sequence runs in pieces, each from the state the last left.
 *
 * @example
 * ```ts
 * import { concat, nn, random, slice, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const layer = nn.rnn({ inputSize: 3, hiddenSize: 5, nonlinearity: "relu" });
 * assert.equal(layer.info.repr, "RNN(3, 5)");
 * const params = layer.init(random.key(0));
 * const x = random.normal(random.key(1), [7, 2, 3]);
 * const { y, h } = layer.applyWithHidden(params, x);
 * assert.deepEqual([y.shape, h.shape], [[7, 2, 5], [1, 2, 5]]);
 * // the first 4 steps, then the other 3 from the state they end in
 * const a = layer.applyWithHidden(params, slice(x, [0], [4]));
 * const b = layer.applyWithHidden(params, slice(x, [4]), { h0: a.h });
 * assert.deepEqual(toArray(concat([a.y, b.y])), toArray(y));
 * assert.deepEqual(toArray(b.h), toArray(h));
 * ```
 */
export function rnn(options: RnnOptions): RecurrentLayer {
  return recurrent("nn.rnn", "RNN", options, ["nonlinearity"]);
}

/**
 * A long short-term memory layer, as `torch.nn.LSTM`: gates i, f, g, o
 * (PyTorch's order in `weight_ih`'s rows), `c' = f c + i g`, `h' = o
 * tanh(c')`, or `h' = (o tanh(c')) W_hr^T` with `projSize` (PyTorch's
 * `proj_size`: `weight_hr_l{k}` `[projSize, hiddenSize]`; the output and h
 * have projSize features, c keeps hiddenSize). Shapes and options as
 * {@linkcode rnn}'s; the initial states are `opts.h0` and `opts.c0`
 * (given together, as PyTorch's `(h0, c0)`; `c0` is `[D · numLayers,
 * batch, hiddenSize]`) and `applyWithHidden` returns `{ y, h, c }`
 * (PyTorch's `output, (h_n, c_n)`).
 *
 * @example
 * ```ts
 * import { nn, random, treePaths, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const layer = nn.lstm({ inputSize: 3, hiddenSize: 4, bidirectional: true, batchFirst: true });
 * const params = layer.init(random.key(0));
 * assert.deepEqual(params.weight_ih_l0.shape, [16, 3]);
 * assert.equal(treePaths(params).length, 8);
 * assert.deepEqual(layer.apply(params, zeros([2, 6, 3])).shape, [2, 6, 8]);
 * // projected: h and the output have 2 features, c has 4
 * const proj = nn.lstm({ inputSize: 3, hiddenSize: 4, projSize: 2 });
 * assert.equal(proj.info.repr, "LSTM(3, 4, proj_size=2)");
 * const p = proj.init(random.key(0));
 * assert.deepEqual(p.weight_hr_l0.shape, [2, 4]);
 * const { y, h, c } = proj.applyWithHidden(p, zeros([6, 5, 3]), {
 *   h0: zeros([1, 5, 2]),
 *   c0: zeros([1, 5, 4]),
 * });
 * assert.deepEqual([y.shape, h.shape, c.shape], [[6, 5, 2], [1, 5, 2], [1, 5, 4]]);
 * ```
 */
export function lstm(options: LstmOptions): RecurrentLayer<LstmOutput> {
  return recurrent("nn.lstm", "LSTM", options, ["projSize"]) as RecurrentLayer<
    LstmOutput
  >;
}

/**
 * A gated recurrent unit layer, as `torch.nn.GRU`: gates r, z, n, `n =
 * tanh(x_n + r (h W_hn^T + b_hn))`, `h' = (1 - z) n + z h`. Shapes,
 * options, initial and final states as {@linkcode rnn}'s (PyTorch's
 * `output, h_n = gru(x, h0)`).
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const layer = nn.gru({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
 * assert.equal(layer.info.repr, "GRU(3, 4, num_layers=2)");
 * const params = layer.init(random.key(0));
 * assert.deepEqual(layer.apply(params, zeros([5, 3])).shape, [5, 4]);
 * // unbatched: h0 and h are [numLayers, hiddenSize]
 * const { y, h } = layer.applyWithHidden(params, zeros([5, 3]), { h0: zeros([2, 4]) });
 * assert.deepEqual([y.shape, h.shape], [[5, 4], [2, 4]]);
 * ```
 */
export function gru(options: RecurrentOptions): RecurrentLayer {
  return recurrent("nn.gru", "GRU", options, []);
}
