/**
 * Every row of the gradient-check tables, one list per op family: the
 * gradient table, vmap, jit and the architecture test all run over it, so a
 * family's rows are added here once.
 */
import type { Row } from "./_op_table.ts";
import { coreRows } from "./_op_table.ts";
import { cnnRows } from "./_cnn_table.ts";
import { mathRows } from "./_math_table.ts";
import { statsRows } from "./_stats_table.ts";
import { shapeRows } from "./_shape_table.ts";
import { normRows } from "./_norm_table.ts";
import { conv1dRows } from "./_conv1d_table.ts";
import { gatherRows } from "./_gather_table.ts";
import { linalgRows } from "./_linalg_table.ts";

/** The rows of every table. */
export const allRows: Row[] = [
  ...coreRows,
  ...cnnRows,
  ...mathRows,
  ...statsRows,
  ...shapeRows,
  ...normRows,
  ...conv1dRows,
  ...gatherRows,
  ...linalgRows,
];
