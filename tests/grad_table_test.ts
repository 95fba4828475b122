/**
 * Every differentiable op, as a fast-check property: draw shapes (including
 * broadcasting pairs), static options and float64 values, then run
 * checkGrads to order 2 in both modes, the JVP/VJP consistency property, and
 * the no-mutation property (inputs' bytes unchanged by the op and its grad).
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { drawValues, type Row } from "./_op_table.ts";
import { allRows } from "./_rows.ts";

const rows: Row[] = allRows;
const numRuns = 25;

function argsFor(row: Row, shapes: number[][], seed: number): Tensor[] {
  return shapes.map((s, i) =>
    drawValues(s, row.domains[i] ?? "real", seed + 7919 * i)
  );
}

function dot(a: Tensor, b: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}

for (const row of rows) {
  Deno.test(`checkGrads order 2: ${row.name}`, () => {
    fc.assert(
      fc.property(
        row.arb,
        fc.integer({ min: 0, max: 1e6 }),
        ({ shapes, p }, seed) => {
          const args = argsFor(row, shapes, seed);
          if (row.mayBeInfinite) {
            fc.pre(row.f(p, ...args).data.every(Number.isFinite));
          }
          if (row.wellConditioned) fc.pre(row.wellConditioned(p, ...args));
          T.checkGrads((...xs: Tensor[]) => row.f(p, ...xs), args, {
            order: 2,
            seed,
            ...row.check,
          });
        },
      ),
      { numRuns, verbose: 1 },
    );
  });

  Deno.test(`<u, vjp(v)> = <jvp(u), v>: ${row.name}`, () => {
    fc.assert(
      fc.property(
        row.arb,
        fc.integer({ min: 0, max: 1e6 }),
        ({ shapes, p }, seed) => {
          const args = argsFor(row, shapes, seed);
          const f = (...xs: Tensor[]) => row.f(p, ...xs);
          const us = args.map((a, i) =>
            drawValues([...a.shape], "real", seed + 31 + i)
          );
          const [y, tangent] = T.jvp(f, args, us);
          const v = drawValues([...y.shape], "real", seed + 97);
          const [, back] = T.vjp(f, ...args);
          const cts = back(v);
          const lhs = us.reduce((s, u, i) => s + dot(u, cts[i]), 0);
          const rhs = dot(tangent, v);
          // a row that rounds to float32 (cast) gets its checkGrads tolerance
          const tol = row.check?.rtol ?? 1e-9;
          if (!(Math.abs(lhs - rhs) <= tol * (1 + Math.abs(rhs)))) {
            throw new Error(`<u, vjp(v)> = ${lhs} but <jvp(u), v> = ${rhs}`);
          }
        },
      ),
      { numRuns, verbose: 1 },
    );
  });

  Deno.test(`no op writes into its inputs: ${row.name}`, () => {
    fc.assert(
      fc.property(
        row.arb,
        fc.integer({ min: 0, max: 1e6 }),
        ({ shapes, p }, seed) => {
          const args = argsFor(row, shapes, seed);
          const before = args.map((a) => a.data.slice());
          const f = (...xs: Tensor[]) => T.sum(row.f(p, ...xs));
          f(...args);
          T.grad(f, { argnums: args.map((_, i) => i) })(...args);
          T.grad((...xs: Tensor[]) => T.sum(T.grad(f)(...xs)))(...args);
          args.forEach((a, i) => {
            if (a.data.some((v, j) => !Object.is(v, before[i][j]))) {
              throw new Error(`${row.name} changed the bytes of argument ${i}`);
            }
          });
        },
      ),
      { numRuns: 5, verbose: 1 },
    );
  });
}
