/**
 * Every row of the gradient-check tables, one list per op family: the
 * gradient table, vmap, jit and the architecture test all run over it, so a
 * family's rows are added here once.
 */
import type { Row } from "./_op_table.ts";
import { coreRows } from "./_op_table.ts";
import { cnnRows } from "./_cnn_table.ts";
import { gatherRows } from "./_gather_table.ts";

/** The rows of every table. */
export const allRows: Row[] = [
  ...coreRows,
  ...cnnRows,
  ...gatherRows,
];
