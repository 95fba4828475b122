/**
 * `einsum`: Einstein summation, parsed from its spec and lowered to
 * transpose, reshape, pad, slice, sum, mul and matmul, so it has no rules of
 * its own (gradients, vmap and jit come from those ops).
 *
 * @module
 */
import {
  checkTensor,
  describe,
  showValue,
  sizeOf,
  type Tensor,
} from "./tensor.ts";
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
 * operand takes its diagonal (`"ii->i"`, and `"ii->"` is the trace). `...`
 * stands for the axes the letters leave (lined up on the right across
 * operands, as broadcasting does); an output without `...` sums them, as
 * torch. A letter's size must agree between operands or be 1 in some (those
 * broadcast, as torch); operands of different dtypes are promoted, as
 * `jnp.einsum` (torch requires one dtype). Not supported: an implicit output
 * (no `->`).
 *
 * Each operand first takes its diagonals and sums the letters no one else
 * needs (and its size-1 axes that broadcast, so that, as torch, no operand
 * is copied to a broadcast size); then operands are contracted left to
 * right, each pair as one batched `matmul` (batch letters, kept letters,
 * summed letters) or, when nothing is summed, one broadcast `mul`.
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
 * assert.deepEqual(einsum("...ij,jk->...ik", tensor([[[1, 2]]]), b).shape, [1, 1, 2]);
 * ```
 */
export function einsum(spec: string, ...operands: Tensor[]): Tensor {
  using _op = userOp("einsum");
  const { terms, out } = parse(spec, operands);
  // the letters needed after operand i: the output's and later operands'
  const after = (i: number) =>
    new Set([...out, ...terms.slice(i + 1).flatMap((t) => t.labels)]);
  let acc = own(terms[0], after(0));
  for (let i = 1; i < terms.length; i++) {
    const keep = after(i);
    const next = own(terms[i], new Set([...keep, ...acc.labels]));
    acc = contract(own(acc, new Set([...keep, ...next.labels])), next, keep);
  }
  return transpose(acc.x, out.map((l) => acc.labels.indexOf(l)));
}

/**
 * The operands as terms (one label per axis: a letter, or one of the
 * ellipsis' own labels, lined up on the right; a size-1 axis that
 * broadcasts, a label of its own); and the output's labels.
 */
function parse(
  spec: string,
  operands: Tensor[],
): { terms: Term[]; out: string[] } {
  const fn = "einsum";
  const bad = (why: string) =>
    new Error(`${fn}: ${why} (spec ${JSON.stringify(spec)})`);
  if (typeof spec !== "string") {
    throw new Error(`${fn}: spec must be a string, got ${typeof spec}`);
  }
  const arrow = spec.replace(/\s+/g, "").split("->");
  if (arrow.length !== 2) {
    throw bad(
      arrow.length === 1
        ? 'the output must be explicit: write "->" and its letters, e.g. "ij,jk->ik"'
        : '"->" appears more than once',
    );
  }
  const ins = arrow[0].split(",");
  if (
    ![...ins, arrow[1]].every((t) => /^[a-zA-Z]*(\.\.\.)?[a-zA-Z]*$/.test(t))
  ) {
    throw bad('axes must be named by letters a-z, A-Z (and one "..." at most)');
  }
  if (ins.length !== operands.length) {
    throw bad(`it names ${ins.length} operand(s) but ${operands.length} came`);
  }
  operands.forEach((x, i) => checkTensor(fn, x, `operands[${i}]`));
  // the ellipsis stands for the axes the letters leave, the same on every operand
  const extra = ins.map((t, i) => {
    const named = t.replace("...", "").length;
    const n = operands[i].shape.length - named;
    if (t.includes("...") ? n < 0 : n !== 0) {
      throw bad(
        `operand ${i} has ${operands[i].shape.length} dims ${
          fmt(operands[i].shape)
        } but "${t}" names ${named}`,
      );
    }
    return n;
  });
  const e = Math.max(0, ...extra);
  const ell = (n: number) =>
    [...Array(n)].map((_, k) => String.fromCharCode(0x100 + e - n + k));
  const expand = (t: string, n: number) => {
    const [a, b = ""] = t.split("...");
    return [...a, ...ell(n), ...b];
  };
  const labelsOf = ins.map((t, i) => expand(t, extra[i]));
  const out = expand(arrow[1], arrow[1].includes("...") ? e : 0);
  // a label's size: equal everywhere, or 1 where it broadcasts
  const sizes = new Map<string, number>();
  labelsOf.forEach((ls, i) =>
    ls.forEach((l, j) => {
      const d = operands[i].shape[j], seen = sizes.get(l) ?? 1;
      const mine = ls.indexOf(l) !== j ? operands[i].shape[ls.indexOf(l)] : d;
      if ((seen !== 1 && d !== 1 && d !== seen) || mine !== d) {
        const name = l < "\u0100" ? `"${l}"` : "an axis of ...";
        throw bad(
          `${name} is ${
            mine !== d ? mine : seen
          } in one place and ${d} in another (operand ${i}, ${
            fmt(operands[i].shape)
          })`,
        );
      }
      sizes.set(l, d === 1 ? seen : d);
    })
  );
  out.forEach((l, i) => {
    if (!sizes.has(l)) throw bad(`output letter "${l}" names no input axis`);
    if (out.indexOf(l) !== i) throw bad(`output letter "${l}" appears twice`);
  });
  // a size-1 axis whose letter is longer elsewhere broadcasts: it takes a
  // label of its own (summed first, a squeeze), never a copy of that size
  const terms = operands.map((x, i) => ({
    x,
    labels: labelsOf[i].map((l, j) =>
      x.shape[j] === sizes.get(l) ? l : `${l}/${i}`
    ),
  }));
  return { terms, out };
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

/**
 * The contraction of `a`'s and `b`'s axes listed in `axes`, as
 * `torch.tensordot` and `jnp.tensordot`: a number n pairs a's last n axes
 * with b's first n; `[axesA, axesB]` pairs them in order. The result's
 * axes are a's free axes, then b's (one matmul after transposes).
 *
 * @example
 * ```ts
 * import { tensordot, ones } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(tensordot(ones([2, 3, 4]), ones([4, 3]), [[1, 2], [1, 0]]).shape, [2]);
 * assert.deepEqual(tensordot(ones([2, 3, 4]), ones([4, 5]), 1).shape, [2, 3, 5]);
 * ```
 */
export function tensordot(
  a: Tensor,
  b: Tensor,
  axes: number | [readonly number[], readonly number[]] = 2,
): Tensor {
  using _op = userOp("tensordot");
  const fn = "tensordot";
  checkTensor(fn, a, "a");
  checkTensor(fn, b, "b");
  const ra = a.shape.length, rb = b.shape.length;
  let [la, lb]: [number[], number[]] = [[], []];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > ra || axes > rb) {
      throw new Error(
        `${fn}: axes must be an integer in [0, ${
          Math.min(ra, rb)
        }] or two lists of axes, got ${axes}`,
      );
    }
    la = Array.from({ length: axes }, (_, i) => ra - axes + i);
    lb = Array.from({ length: axes }, (_, i) => i);
  } else if (
    Array.isArray(axes) && axes.length === 2 && Array.isArray(axes[0]) &&
    Array.isArray(axes[1]) && axes[0].length === axes[1].length
  ) {
    const norm = (list: readonly number[], x: Tensor, which: string) => {
      const r = x.shape.length;
      return list.map((d) => {
        if (!Number.isInteger(d) || d < -r || d >= r) {
          throw new Error(
            `${fn}: axes for ${which} must be integers in [${-r}, ${
              r - 1
            }] (${which} ${fmt(x.shape)}), got ${describe(d)}`,
          );
        }
        return d < 0 ? d + r : d;
      });
    };
    la = norm(axes[0], a, "a");
    lb = norm(axes[1], b, "b");
  } else {
    throw new Error(
      `${fn}: axes must be an integer or two lists of axes of one length, got ${
        Array.isArray(axes) ? showValue(axes) : describe(axes)
      }`,
    );
  }
  if (new Set(la).size !== la.length || new Set(lb).size !== lb.length) {
    throw new Error(
      `${fn}: an axis is listed twice in ${showValue(axes)}`,
    );
  }
  la.forEach((d, i) => {
    if (a.shape[d] !== b.shape[lb[i]]) {
      throw new Error(
        `${fn}: a's axis ${d} (${a.shape[d]}) and b's axis ${lb[i]} (${
          b.shape[lb[i]]
        }) must have one size, got a ${fmt(a.shape)} and b ${fmt(b.shape)}`,
      );
    }
  });
  const freeA = a.shape.map((_, i) => i).filter((i) => !la.includes(i));
  const freeB = b.shape.map((_, i) => i).filter((i) => !lb.includes(i));
  const k = sizeOf(la.map((d) => a.shape[d]));
  const am = reshape(transpose(a, [...freeA, ...la]), [
    sizeOf(freeA.map((d) => a.shape[d])),
    k,
  ]);
  const bm = reshape(transpose(b, [...lb, ...freeB]), [
    k,
    sizeOf(freeB.map((d) => b.shape[d])),
  ]);
  return reshape(matmul(am, bm), [
    ...freeA.map((d) => a.shape[d]),
    ...freeB.map((d) => b.shape[d]),
  ]);
}

/**
 * The Kronecker product, as `torch.kron` and `jnp.kron`: the smaller rank
 * padded with leading 1s, entry `(i·|b| + j)` along each axis `a[i]·b[j]`.
 *
 * @example
 * ```ts
 * import { kron, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(kron(tensor([1, 2]), tensor([1, 10]))), [1, 10, 2, 20]);
 * ```
 */
export function kron(a: Tensor, b: Tensor): Tensor {
  using _op = userOp("kron");
  checkTensor("kron", a, "a");
  checkTensor("kron", b, "b");
  const r = Math.max(a.shape.length, b.shape.length);
  const pa = [...Array(r - a.shape.length).fill(1), ...a.shape];
  const pb = [...Array(r - b.shape.length).fill(1), ...b.shape];
  // a as [a0, 1, a1, 1, ...] times b as [1, b0, 1, b1, ...]
  const ai = reshape(a, pa.flatMap((d) => [d, 1]));
  const bi = reshape(b, pb.flatMap((d) => [1, d]));
  return reshape(mul(ai, bi), pa.map((d, i) => d * pb[i]));
}
