/** Rows of the CNN ops for the gradient-check table (filled with the CNN ops). */
import type { Row } from "./_op_table.ts";

/** The CNN rows. */
export const cnnRows: Row[] = [];
