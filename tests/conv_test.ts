/**
 * conv2d and convTranspose2d (ops/conv.ts): identities as fast-check
 * properties (1x1 conv = per-pixel linear map, grouped conv = concatenated
 * per-group convs, conv2d against a naive loop, convTranspose2d = conv2d's
 * input VJP) and argument errors. Also covering them: the gradient table
 * (grad_table_test.ts, rows in _cnn_table.ts), the PyTorch fixtures
 * (cnn_fixtures_test.ts), the kernels (kernels_test.ts,
 * kernel_geometry_test.ts) and the tutorials' numbers (seeds_test.ts); the
 * index is in docs/testing.md.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import {
  accepts,
  asPair,
  assertAllClose,
  int,
  pairOf,
  tight,
} from "./_helpers.ts";
import { drawValues } from "./_op_table.ts";

const rnd = (shape: number[], seed: number) => drawValues(shape, "real", seed);

// ---------------------------------------------------------------------------
// naive reference (a direct loop over PyTorch's definition)

type ConvOpts = {
  stride: number | [number, number];
  padding: number | [number, number] | "same" | "valid";
  dilation: number | [number, number];
  groups: number;
};

/** conv2d by its definition: y[n,o,i,j] = b[o] + Σ x[n, g·cg + c, i·s - p + ki·d, j·s - p + kj·d] w[o, c, ki, kj]. */
function naiveConv2d(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  o: ConvOpts,
): { shape: number[]; data: number[] } {
  const [n, c, h, wd] = x.shape;
  const [oc, cg, kh, kw] = w.shape;
  const [sh, sw] = asPair(o.stride), [dh, dw] = asPair(o.dilation);
  let pt: number, pb: number, pl: number, pr: number;
  if (o.padding === "valid") [pt, pb, pl, pr] = [0, 0, 0, 0];
  else if (o.padding === "same") {
    const th = dh * (kh - 1), tw = dw * (kw - 1);
    [pt, pb, pl, pr] = [
      Math.floor(th / 2),
      th - Math.floor(th / 2),
      Math.floor(tw / 2),
      tw - Math.floor(tw / 2),
    ];
  } else {
    const [ph, pw] = asPair(o.padding);
    [pt, pb, pl, pr] = [ph, ph, pw, pw];
  }
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const opg = oc / o.groups;
  const out: number[] = [];
  for (let in_ = 0; in_ < n; in_++) {
    for (let oo = 0; oo < oc; oo++) {
      const g = Math.floor(oo / opg);
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          let s = b ? b.data[oo] : 0;
          for (let ci = 0; ci < cg; ci++) {
            const cc = g * cg + ci;
            for (let ki = 0; ki < kh; ki++) {
              const y = i * sh - pt + ki * dh;
              if (y < 0 || y >= h) continue;
              for (let kj = 0; kj < kw; kj++) {
                const xx = j * sw - pl + kj * dw;
                if (xx < 0 || xx >= wd) continue;
                s += x.data[((in_ * c + cc) * h + y) * wd + xx] *
                  w.data[((oo * cg + ci) * kh + ki) * kw + kj];
              }
            }
          }
          out.push(s);
        }
      }
    }
  }
  return { shape: [n, oc, oh, ow], data: out };
}

// ---------------------------------------------------------------------------
// identities

Deno.test("a 1x1 convolution is a per-pixel linear map (values and gradients)", () => {
  fc.assert(
    fc.property(
      fc.record({
        n: int(1, 2),
        c: int(1, 4),
        o: int(1, 4),
        h: int(1, 5),
        w: int(1, 5),
        bias: fc.boolean(),
        seed: fc.nat(1e6),
      }),
      ({ n, c, o, h, w, bias, seed }) => {
        const x = rnd([n, c, h, w], seed);
        const wt = rnd([o, c, 1, 1], seed + 1);
        const b = bias ? rnd([o], seed + 2) : null;
        const conv = (x: Tensor, wt: Tensor) => T.conv2d(x, wt, b);
        const lin = (x: Tensor, wt: Tensor) =>
          T.transpose(
            T.linear(T.transpose(x, [0, 2, 3, 1]), T.reshape(wt, [o, c]), b),
            [0, 3, 1, 2],
          );
        assertAllClose(conv(x, wt), lin(x, wt), tight);
        const g = rnd([n, o, h, w], seed + 3);
        const [, backConv] = T.vjp(conv, x, wt);
        const [, backLin] = T.vjp(lin, x, wt);
        const [a, bb] = [backConv(g), backLin(g)];
        assertAllClose(a[0], bb[0], tight);
        assertAllClose(a[1], bb[1], tight);
      },
    ),
    { numRuns: 60 },
  );
});

/** Random conv geometry that conv2d itself accepts. */
const convCase = fc.record({
  n: int(1, 2),
  groups: int(1, 3),
  cpg: int(1, 2),
  opg: int(1, 2),
  h: int(1, 5),
  w: int(1, 5),
  k: fc.tuple(int(1, 3), int(1, 3)),
  stride: pairOf(1, 3),
  padding: fc.oneof(
    pairOf(0, 2),
    fc.constantFrom("same" as const, "valid" as const),
  ),
  dilation: pairOf(1, 3),
  bias: fc.boolean(),
  seed: fc.nat(1e6),
}).map((d) => ({
  ...d,
  xs: [d.n, d.groups * d.cpg, d.h, d.w],
  ws: [d.groups * d.opg, d.cpg, ...d.k],
  opts: {
    stride: d.stride,
    padding: d.padding,
    dilation: d.dilation,
    groups: d.groups,
  } as ConvOpts,
})).filter((d) =>
  accepts(() =>
    T.conv2d(T.zeros(d.xs), T.zeros(d.ws), null, d.opts as T.Conv2dOptions)
  )
);

Deno.test("conv2d with groups is the concatenation of per-group convs (values and gradients)", () => {
  fc.assert(
    fc.property(convCase, (d) => {
      const x = rnd(d.xs, d.seed);
      const w = rnd(d.ws, d.seed + 1);
      const b = d.bias ? rnd([d.ws[0]], d.seed + 2) : null;
      const grouped = (x: Tensor, w: Tensor) =>
        T.conv2d(x, w, b, d.opts as T.Conv2dOptions);
      const perGroup = (x: Tensor, w: Tensor) =>
        T.concat(
          [...Array(d.groups).keys()].map((g) =>
            T.conv2d(
              T.slice(x, [0, g * d.cpg], [d.n, (g + 1) * d.cpg]),
              T.slice(w, [g * d.opg], [(g + 1) * d.opg]),
              b ? T.slice(b, [g * d.opg], [(g + 1) * d.opg]) : null,
              { ...d.opts, groups: 1 } as T.Conv2dOptions,
            )
          ),
          1,
        );
      const y = grouped(x, w);
      assertAllClose(y, perGroup(x, w), tight);
      const ct = rnd([...y.shape], d.seed + 3);
      const a = T.vjp(grouped, x, w)[1](ct);
      const e = T.vjp(perGroup, x, w)[1](ct);
      assertAllClose(a[0], e[0], tight);
      assertAllClose(a[1], e[1], tight);
    }),
    { numRuns: 80 },
  );
});

Deno.test("conv2d matches a naive loop (stride, padding incl. same/valid, dilation, groups, bias)", () => {
  fc.assert(
    fc.property(convCase, (d) => {
      const x = rnd(d.xs, d.seed);
      const w = rnd(d.ws, d.seed + 1);
      const b = d.bias ? rnd([d.ws[0]], d.seed + 2) : null;
      const y = T.conv2d(x, w, b, d.opts as T.Conv2dOptions);
      const ref = naiveConv2d(x, w, b, d.opts);
      assert.deepEqual(y.shape, ref.shape);
      assertAllClose(y, ref.data, tight);
      if (d.opts.padding === "same") {
        assert.deepEqual(
          y.shape,
          d.xs.slice(0, 1).concat([d.ws[0]], d.xs.slice(2)),
        );
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("convTranspose2d(g, w) is conv2d's VJP in x (outputPadding recovers the size)", () => {
  fc.assert(
    fc.property(
      convCase.filter((d) => typeof d.padding !== "string"),
      (d) => {
        const x = rnd(d.xs, d.seed);
        const w = rnd(d.ws, d.seed + 1);
        const o = d.opts as T.Conv2dOptions;
        const [y, back] = T.vjp((x: Tensor) => T.conv2d(x, w, null, o), x);
        const g = rnd([...y.shape], d.seed + 2);
        const [s, p, dl] = [
          asPair(d.stride),
          asPair(d.padding as number | [number, number]),
          asPair(d.dilation),
        ];
        const outputPadding = [0, 1].map((a) =>
          d.xs[2 + a] -
          ((y.shape[2 + a] - 1) * s[a] - 2 * p[a] + dl[a] * (d.k[a] - 1) + 1)
        ) as [number, number];
        const t = T.convTranspose2d(g, w, null, {
          stride: d.stride,
          padding: d.padding as number | [number, number],
          dilation: d.dilation,
          groups: d.groups,
          outputPadding,
        });
        assertAllClose(t, back(g)[0], tight);
      },
    ),
    { numRuns: 80 },
  );
});

// ---------------------------------------------------------------------------
// errors

Deno.test("errors: conv2d arguments", () => {
  const z = (s: number[]) => T.zeros(s);
  assert.throws(
    () => T.conv2d(z([1, 3, 5, 5]), z([2, 1, 3, 3]), null, { groups: 2 }),
    /^Error: conv2d: x has 3 channels, which groups 2 does not divide \(x \[1,3,5,5\], weight \[2,1,3,3\]\)$/,
  );
  assert.throws(
    () => T.conv2d(z([1, 4, 5, 5]), z([3, 2, 3, 3]), null, { groups: 2 }),
    /conv2d: weight has 3 output channels, which groups 2 does not divide/,
  );
  assert.throws(
    () => T.conv2d(z([8, 1, 28, 28]), z([6, 3, 5, 5])),
    (e: Error) => {
      assert.equal(
        e.message,
        "conv2d: weight has 3 input channels but x has 1 (x [8,1,28,28], weight [6,3,5,5])",
      );
      return true;
    },
  );
  assert.throws(
    () => T.conv2d(z([1, 4, 5, 5]), z([2, 1, 3, 3]), null, { groups: 2 }),
    /conv2d: weight has 1 input channels per group \(groups 2\) but x has 4 = 2 per group/,
  );
  assert.throws(
    () => T.conv2d(z([1, 1, 2, 2]), z([1, 1, 3, 3])),
    /conv2d: output size would be 0x0 \(< 1\): kernel 3x3 with dilation \[1,1\] is larger than the padded input \(x \[1,1,2,2\], padding \[0,0,0,0\]\)/,
  );
  assert.throws(
    () => T.conv2d(z([1, 1, 5, 5]), z([1, 1, 3, 3]), null, { dilation: 3 }),
    /output size would be -1x-1 \(< 1\)/,
  );
  assert.throws(
    () =>
      T.conv2d(z([1, 1, 5, 5]), z([1, 1, 3, 3]), null, {
        padding: "same",
        stride: 2,
      }),
    /conv2d: padding "same" needs stride 1, got stride \[2,2\]/,
  );
  assert.throws(
    () => T.conv2d(z([1, 1, 5, 5]), z([2, 1, 3, 3]), z([3])),
    /conv2d: bias must have shape \[2\], got \[3\]/,
  );
  assert.throws(
    () => T.conv2d(z([1, 1, 5, 5]), z([2, 1, 3, 3]), z([2, 1])),
    /conv2d: bias must have shape \[2\], got \[2,1\]/,
  );
  assert.throws(
    () =>
      T.conv2d(z([1, 1, 5, 5]), z([1, 1, 3, 3]), null, { strides: 2 } as never),
    /conv2d: unknown option "strides" \(known options: stride, padding, dilation, groups\)/,
  );
  assert.throws(
    () => T.conv2d(z([5, 5]), z([1, 1, 3, 3])),
    /conv2d: x must be \[N, C, H, W\] or unbatched \[C, H, W\], got \[5,5\]/,
  );
  assert.throws(
    () => T.conv2d(z([1, 1, 5, 5]), z([1, 1, 3, 3]), null, { stride: 0 }),
    /conv2d: stride must be an integer >= 1 or a pair \[h, w\] of them, got 0/,
  );
  assert.throws(
    () => T.conv2d(T.zeros([1, 1, 5, 5], { dtype: "int32" }), z([1, 1, 3, 3])),
    /conv2d: x must be float32 or float64, got int32/,
  );
  // PyTorch: "kernel size should be greater than zero"
  assert.throws(
    () => T.conv2d(z([1, 1, 3, 3]), z([2, 1, 0, 0])),
    /^Error: conv2d: weight must have kernel sizes of at least 1, got \[2,1,0,0\] \(kernel 0x0\)$/,
  );
  assert.throws(
    () => T.conv2d(z([1, 1, 3, 3]), z([2, 1, 3, 0]), null, { padding: 1 }),
    /conv2d: weight must have kernel sizes of at least 1, got \[2,1,3,0\]/,
  );
});

Deno.test("errors: convTranspose2d arguments", () => {
  const z = (s: number[]) => T.zeros(s);
  assert.throws(
    () =>
      T.convTranspose2d(z([1, 2, 3, 3]), z([2, 1, 3, 3]), null, {
        outputPadding: 1,
      }),
    /convTranspose2d: outputPadding must be smaller than either stride or dilation/,
  );
  assert.throws(
    () => T.convTranspose2d(z([1, 3, 3, 3]), z([2, 1, 3, 3])),
    /convTranspose2d: weight has 2 input channels but x has 3/,
  );
  assert.throws(
    () => T.convTranspose2d(z([1, 2, 3, 3]), z([2, 1, 3, 3]), z([2])),
    /convTranspose2d: bias must have shape \[1\], got \[2\]/,
  );
  assert.throws(
    () =>
      T.convTranspose2d(z([1, 2, 1, 1]), z([2, 1, 1, 1]), null, { padding: 1 }),
    /convTranspose2d: output size would be -1x-1 \(< 1\)/,
  );
  assert.throws(
    () =>
      T.convTranspose2d(z([1, 2, 3, 3]), z([2, 1, 3, 3]), null, {
        padding: "same" as never,
      }),
    /convTranspose2d: padding "same" is not supported/,
  );
  assert.throws(
    () => T.convTranspose2d(z([1, 2, 3, 3]), z([2, 1, 0, 3])),
    /^Error: convTranspose2d: weight must have kernel sizes of at least 1, got \[2,1,0,3\] \(kernel 0x3\)$/,
  );
});
