/**
 * CNN primitives (conv2d, convTranspose2d, pooling, linear): forward kernel
 * calls and VJP rules side by side.
 *
 * @module
 */
import type { Rule } from "./trace.ts";

/** The static parameters of each CNN primitive. */
// deno-lint-ignore no-empty-interface
export interface CnnParams {}

/** The CNN rows of the primitive table. */
export const cnnRules: { [P in keyof CnnParams]: Rule<CnnParams[P]> } = {};
