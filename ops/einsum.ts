/**
 * `einsum`: Einstein summation, parsed from its spec and lowered to
 * transpose, reshape, pad, slice, sum, mul and matmul, so it has no rules of
 * its own (gradients, vmap and jit come from those ops).
 *
 * @module
 */
import { checkTensor, sizeOf, type Tensor } from "./tensor.ts";
import { userOp } from "./debug.ts";
import { fmt } from "./_args.ts";
import { mul } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { pad, reshape, slice, sum, transpose } from "./structural.ts";

/** A tensor with one label per axis. */
interface Term {
  x: Tensor;
  labels: string[];
}

/**
 * Einstein summation, as `torch.einsum` and `jnp.einsum` with an explicit
 * output: `spec` names each operand's axes with letters, `->`, then the
 * output's axes; a letter left out of the output is summed over, a letter
 * shared by operands is multiplied along. A letter repeated within one
 * operand takes its diagonal (`"ii->i"`, and `"ii->"` is the trace). Sizes of
 * a letter must agree exactly (no broadcasting of size-1 axes) and operands
 * of different dtypes are promoted, as `jnp.einsum`. Not supported: an
 * implicit output (no `->`) and the ellipsis `...`.
 *
 * Each operand first takes its diagonals and sums the letters no one else
 * needs; then operands are contracted left to right, each pair as one
 * batched `matmul` (batch letters, kept letters, summed letters) or, when
 * nothing is summed, one broadcast `mul`.
 *
 * @example
 * ```ts
 * import { einsum, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[1, 2], [3, 4]]), b = tensor([[5, 6], [7, 8]]);
 * assert.deepEqual(toArray(einsum("ij,jk->ik", a, b)), [[19, 22], [43, 50]]);
 * assert.deepEqual(toArray(einsum("ij->ji", a)), [[1, 3], [2, 4]]);
 * assert.equal(toArray(einsum("ii->", a)), 5);
 * assert.deepEqual(toArray(einsum("ij,ij->i", a, b)), [17, 53]);
 * ```
 */
export function einsum(spec: string, ...operands: Tensor[]): Tensor {
  using _op = userOp("einsum");
  const fn = "einsum";
  const bad = (why: string) =>
    new Error(`${fn}: ${why} (spec ${JSON.stringify(spec)})`);
  if (typeof spec !== "string") {
    throw new Error(`${fn}: spec must be a string, got ${typeof spec}`);
  }
  const s = spec.replace(/\s+/g, "");
  if (s.includes("...")) {
    throw bad('the ellipsis "..." is not supported: name every axis');
  }
  const arrow = s.split("->");
  if (arrow.length !== 2) {
    throw bad(
      arrow.length === 1
        ? 'the output must be explicit: write "->" and its letters, e.g. "ij,jk->ik"'
        : '"->" appears more than once',
    );
  }
  const ins = arrow[0].split(",");
  const out = [...arrow[1]];
  if (![...ins, arrow[1]].every((t) => /^[a-zA-Z]*$/.test(t))) {
    throw bad("axes must be named by letters a-z, A-Z");
  }
  if (ins.length !== operands.length) {
    throw bad(`it names ${ins.length} operand(s) but ${operands.length} came`);
  }
  const sizes = new Map<string, number>();
  const terms: Term[] = operands.map((x, i) => {
    checkTensor(fn, x, `operands[${i}]`);
    const labels = [...ins[i]];
    if (labels.length !== x.shape.length) {
      throw bad(
        `operand ${i} has ${x.shape.length} dims ${fmt(x.shape)} but "${
          ins[i]
        }" names ${labels.length}`,
      );
    }
    labels.forEach((l, j) => {
      const d = sizes.get(l);
      if (d !== undefined && d !== x.shape[j]) {
        throw bad(
          `"${l}" is ${d} in one place and ${
            x.shape[j]
          } in another (operand ${i}, ${fmt(x.shape)})`,
        );
      }
      sizes.set(l, x.shape[j]);
    });
    return { x, labels };
  });
  out.forEach((l, i) => {
    if (!sizes.has(l)) throw bad(`output letter "${l}" names no input axis`);
    if (out.indexOf(l) !== i) throw bad(`output letter "${l}" appears twice`);
  });
  // the letters needed after operand i: the output's and later operands'
  const after = (i: number) =>
    new Set([...out, ...terms.slice(i + 1).flatMap((t) => t.labels)]);
  let acc = own(terms[0], new Set([...after(0)]));
  for (let i = 1; i < terms.length; i++) {
    const keep = after(i);
    const next = own(terms[i], new Set([...keep, ...acc.labels]));
    acc = contract(own(acc, new Set([...keep, ...next.labels])), next, keep);
  }
  return transpose(acc.x, out.map((l) => acc.labels.indexOf(l)));
}

/** `t` with its repeated letters taken as diagonals and its letters outside `keep` summed. */
function own(t: Term, keep: Set<string>): Term {
  let { x, labels } = t;
  for (let p = 0; p < labels.length; p++) {
    const q = labels.indexOf(labels[p], p + 1);
    if (q < 0) continue;
    // the diagonal of axes p, q (moved last): flat index i * (n + 1)
    const n = x.shape[p];
    const rest = labels.map((_, i) => i).filter((i) => i !== p && i !== q);
    const lead = rest.map((i) => x.shape[i]);
    const flat = reshape(transpose(x, [...rest, p, q]), [...lead, n * n]);
    const padded = pad(flat, [...lead.map(() => [0, 0]), [0, n]]);
    const cols = reshape(padded, [...lead, n, n + 1]);
    x = reshape(slice(cols, [], [...lead, n, 1]), [...lead, n]);
    labels = [...rest.map((i) => labels[i]), labels[p]];
    p = -1; // look again from the start
  }
  const gone = labels.flatMap((l, i) => (keep.has(l) ? [] : [i]));
  if (gone.length === 0) return { x, labels };
  return {
    x: sum(x, { axis: gone }),
    labels: labels.filter((l) => keep.has(l)),
  };
}

/** The product of two terms with distinct letters each, summed over the shared letters outside `keep`. */
function contract(a: Term, b: Term, keep: Set<string>): Term {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const batch = shared.filter((l) => keep.has(l));
  const summed = shared.filter((l) => !keep.has(l));
  const aOnly = a.labels.filter((l) => !shared.includes(l));
  const bOnly = b.labels.filter((l) => !shared.includes(l));
  const dims = (t: Term, ls: string[]) =>
    ls.map((l) => t.x.shape[t.labels.indexOf(l)]);
  const arrange = (t: Term, ls: string[]) =>
    transpose(t.x, ls.map((l) => t.labels.indexOf(l)));
  const [bd, ad, nd] = [dims(a, batch), dims(a, aOnly), dims(b, bOnly)];
  const labels = [...batch, ...aOnly, ...bOnly];
  if (summed.length === 0) { // nothing summed: a broadcast product
    const x = mul(
      reshape(arrange(a, [...batch, ...aOnly]), [
        ...bd,
        ...ad,
        ...nd.map(() => 1),
      ]),
      reshape(arrange(b, [...batch, ...bOnly]), [
        ...bd,
        ...ad.map(() => 1),
        ...nd,
      ]),
    );
    return { x, labels };
  }
  const k = sizeOf(dims(a, summed));
  const [B, M, N] = [sizeOf(bd), sizeOf(ad), sizeOf(nd)];
  const y = matmul(
    reshape(arrange(a, [...batch, ...aOnly, ...summed]), [B, M, k]),
    reshape(arrange(b, [...batch, ...summed, ...bOnly]), [B, k, N]),
  );
  return { x: reshape(y, [...bd, ...ad, ...nd]), labels };
}
