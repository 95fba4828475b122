/**
 * Recurrent layers, as `torch.nn.RNN`, `LSTM` and `GRU`: PyTorch's
 * equations, gate order, parameter names (`weight_ih_l0`,
 * `bias_hh_l1_reverse`, ...), shapes, init and options. Each layer's input
 * projection runs for the whole sequence as one matrix product; the
 * recurrence is a `scan` over time, so it differentiates, jits and vmaps
 * as any composition of ops does. `apply` returns the output sequence (the
 * last layer's hidden states), as the first element of PyTorch's result;
 * the initial states are zeros.
 *
 * @module
 */
import type { Key } from "../ops/random.ts";
import { split } from "../ops/random.ts";
import { describe, fmtShape, type Tensor, zeros } from "../ops/tensor.ts";
import { add, mul, relu, sigmoid, sub, tanh } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import {
  concat,
  reshape,
  slice,
  squeeze,
  transpose,
} from "../ops/structural.ts";
import { split as splitOp } from "../ops/shape.ts";
import { scan } from "../ops/control_flow.ts";
import { dropout as dropoutOp } from "../ops/normalization.ts";
import { checkBool } from "../ops/tensor.ts";
import { floatCheck } from "../ops/_args.ts";
import {
  defineLayer,
  type EmptyState,
  type Layer,
  type LeafParams,
  type ParamSpec,
} from "./layer.ts";
import {
  type FloatDType,
  floatDType,
  numberOption,
  uniformInit,
} from "./layers.ts";
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
  options: RnnOptions,
  extra: string[],
): Layer<LeafParams, EmptyState> {
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
  const dtype = floatDType(fn, options.dtype);
  const { gates: g, cell: makeCell } = CELLS[name];
  const cell = makeCell(nonlinearity === "relu" ? relu : tanh);
  const dirs = bidirectional ? 2 : 1;
  const suffixes = bidirectional ? ["", "_reverse"] : [""];
  const params: Record<string, ParamSpec> = {};
  for (let l = 0; l < layers; l++) {
    const inSize = l === 0 ? inputSize : dirs * hidden;
    for (const sfx of suffixes) {
      params[`weight_ih_l${l}${sfx}`] = { shape: [g * hidden, inSize], dtype };
      params[`weight_hh_l${l}${sfx}`] = { shape: [g * hidden, hidden], dtype };
      if (bias) {
        params[`bias_ih_l${l}${sfx}`] = { shape: [g * hidden], dtype };
        params[`bias_hh_l${l}${sfx}`] = { shape: [g * hidden], dtype };
      }
    }
  }
  // PyTorch's repr: the sizes, then the settings that differ from defaults
  const settings = [
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
  /** One direction of one layer over `xs` [L, N, in]: its outputs [L, N, H]. */
  const pass = (prm: LeafParams, l: number, sfx: string, xs: Tensor) => {
    const at = (k: string) => prm[`${k}_l${l}${sfx}`];
    const steps = xs.shape[0], reverse = sfx !== "";
    const wi = transpose(at("weight_ih")), wh = transpose(at("weight_hh"));
    const bi = at("bias_ih") ?? null, bh = at("bias_hh") ?? null;
    // the input projection of every step as one product (-1: the batch,
    // so that an ONNX export keeps it dynamic); the steps' slices of it get
    // their gradients summed in one pass
    const all = reshape(
      plus(matmul(reshape(xs, [-1, xs.shape[2]]), wi), bi),
      [steps, -1, g * hidden],
    );
    const hh = (h: Tensor) => plus(matmul(h, wh), bh);
    // the first step from a zero state (one row, broadcast over the batch,
    // so that it needs no zeros of the batch's size), then a scan over the
    // others
    const first = reverse ? steps - 1 : 0;
    const zero = zeros([1, hidden], { dtype: wh.dtype });
    const s0 = cell(
      squeeze(slice(all, [first], [first + 1]), 0),
      name === "LSTM" ? [zero, zero] : [zero],
      hh,
    );
    const y0 = reshape(s0[0], [1, ...s0[0].shape]);
    if (steps === 1) return y0;
    const rest = reverse ? slice(all, [0], [steps - 1]) : slice(all, [1]);
    const [, ys] = scan(
      (state: Tensor[], x: Tensor) => {
        const next = cell(x, state, hh);
        return [next, next[0]] as const;
      },
      s0,
      rest,
      { reverse },
    );
    return concat(reverse ? [ys, y0] : [y0, ys], 0);
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
  return defineLayer({
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
    apply: (prm, x, { training, key }) => {
      const rank = x.shape.length;
      const where = `nn.${name}.apply`;
      checkInput(where, x.shape, describe(x));
      // (as PyTorch's, which takes no integer input)
      floatCheck(where, "x", x);
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
      for (let l = 0; l < layers; l++) {
        if (l > 0 && training && p > 0) {
          h = dropoutOp(h, { p, key: dropKeys[l], training: true });
        }
        const outs = suffixes.map((sfx) => pass(prm, l, sfx, h));
        h = outs.length === 1 ? outs[0] : concat(outs, 2);
      }
      if (rank === 2) return squeeze(h, 1);
      return batchFirst ? transpose(h, [1, 0, 2]) : h;
    },
    // (the checks of apply: a wrong size or rank is an error here too)
    outputShape: (s) => {
      checkInput(`nn.${name}.outputShape`, s, `shape ${fmtShape(s)}`);
      return [...s.slice(0, -1), dirs * hidden];
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
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const layer = nn.rnn({ inputSize: 3, hiddenSize: 5, nonlinearity: "relu" });
 * assert.equal(layer.info.repr, "RNN(3, 5)");
 * const y = layer.apply(layer.init(random.key(0)), zeros([7, 2, 3]));
 * assert.deepEqual(y.shape, [7, 2, 5]);
 * ```
 */
export function rnn(options: RnnOptions): Layer<LeafParams, EmptyState> {
  return recurrent("nn.rnn", "RNN", options, ["nonlinearity"]);
}

/**
 * A long short-term memory layer, as `torch.nn.LSTM`: gates i, f, g, o
 * (PyTorch's order in `weight_ih`'s rows), `c' = f c + i g`, `h' = o
 * tanh(c')`. Shapes and options as {@linkcode rnn}'s.
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
 * ```
 */
export function lstm(
  options: RecurrentOptions,
): Layer<LeafParams, EmptyState> {
  return recurrent("nn.lstm", "LSTM", options as RnnOptions, []);
}

/**
 * A gated recurrent unit layer, as `torch.nn.GRU`: gates r, z, n, `n =
 * tanh(x_n + r (h W_hn^T + b_hn))`, `h' = (1 - z) n + z h`. Shapes and
 * options as {@linkcode rnn}'s.
 *
 * @example
 * ```ts
 * import { nn, random, zeros } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const layer = nn.gru({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
 * assert.equal(layer.info.repr, "GRU(3, 4, num_layers=2)");
 * assert.deepEqual(layer.apply(layer.init(random.key(0)), zeros([5, 3])).shape, [5, 4]);
 * ```
 */
export function gru(
  options: RecurrentOptions,
): Layer<LeafParams, EmptyState> {
  return recurrent("nn.gru", "GRU", options as RnnOptions, []);
}
