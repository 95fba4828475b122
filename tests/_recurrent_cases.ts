/**
 * The recurrent layer of a PyTorch fixture case, shared by
 * tests/recurrent_probe_test.ts and tests/recurrent_states_test.ts.
 *
 * @module
 */
import * as T from "../mod.ts";

/** A fixture case's layer: its torch class and options. */
export interface RecurrentCase {
  kind: "RNN" | "LSTM" | "GRU";
  options: T.nn.RnnOptions & { projSize?: number };
}

/** The case's layer, in float64. */
export const makeRecurrent = (c: RecurrentCase) =>
  c.kind === "RNN"
    ? T.nn.rnn({ ...c.options, dtype: "float64" })
    : c.kind === "LSTM"
    ? T.nn.lstm({ ...c.options, dtype: "float64" })
    : T.nn.gru({ ...c.options, dtype: "float64" });

/** The tolerance of the float64 fixture comparisons. */
export const recurrentTol = { atol: 1e-12, rtol: 1e-10 };
