/**
 * CNN ops: identities as fast-check properties (1x1 conv = per-pixel linear,
 * grouped conv = concatenated per-group convs, conv/pool against naive
 * loops, convTranspose2d = conv2d's input VJP), the numbers of the seed notes
 * (shared/seeds/001-004), error messages, and small forward values computed
 * by hand.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import { drawValues } from "./_op_table.ts";

const f64 = { dtype: "float64" } as const;
const rnd = (shape: number[], seed: number) => drawValues(shape, "real", seed);
const int = (min: number, max: number) => fc.integer({ min, max });
const pairOf = (min: number, max: number) =>
  fc.oneof(int(min, max), fc.tuple(int(min, max), int(min, max)));
const asPair = (v: number | readonly number[]): [number, number] =>
  typeof v === "number" ? [v, v] : [v[0], v[1]];
const tight = { atol: 1e-12, rtol: 1e-12 };

function accepts(build: () => unknown): boolean {
  try {
    build();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// naive references (direct loops over PyTorch's definitions)

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

/** PyTorch's pooling output length (ceil mode: the last window must start inside the input or left padding). */
function poolLength(
  size: number,
  k: number,
  s: number,
  p: number,
  d: number,
  ceil: boolean,
): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

type PoolOpts = {
  kernelSize: number | [number, number];
  stride: null | number | [number, number];
  padding: number | [number, number];
  dilation?: number | [number, number];
  ceilMode: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
};

/** max_pool2d / avg_pool2d by PyTorch's definitions, on [N, C, H, W]. */
function naivePool(
  kind: "max" | "avg",
  x: Tensor,
  o: PoolOpts,
): { shape: number[]; data: number[] } {
  const [n, c, h, w] = x.shape;
  const [kh, kw] = asPair(o.kernelSize);
  const [sh, sw] = o.stride === null ? [kh, kw] : asPair(o.stride);
  const [ph, pw] = asPair(o.padding);
  const [dh, dw] = asPair(o.dilation ?? 1);
  const oh = poolLength(h, kh, sh, ph, dh, o.ceilMode);
  const ow = poolLength(w, kw, sw, pw, dw, o.ceilMode);
  const out: number[] = [];
  for (let pl = 0; pl < n * c; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const y0 = i * sh - ph, x0 = j * sw - pw;
        if (kind === "max") {
          let m = -Infinity;
          for (let a = 0; a < kh; a++) {
            for (let bb = 0; bb < kw; bb++) {
              const y = y0 + a * dh, xx = x0 + bb * dw;
              if (y >= 0 && y < h && xx >= 0 && xx < w) {
                m = Math.max(m, x.data[pl * h * w + y * w + xx]);
              }
            }
          }
          out.push(m);
        } else {
          // PyTorch: the window is clipped to the padded input for the
          // countIncludePad divisor, and to the input for the sum
          const y1 = Math.min(y0 + kh, h + ph), x1 = Math.min(x0 + kw, w + pw);
          const padded = (y1 - y0) * (x1 - x0);
          let s = 0, cnt = 0;
          for (let y = Math.max(y0, 0); y < Math.min(y1, h); y++) {
            for (let xx = Math.max(x0, 0); xx < Math.min(x1, w); xx++) {
              s += x.data[pl * h * w + y * w + xx];
              cnt++;
            }
          }
          const div = o.divisorOverride ??
            ((o.countIncludePad ?? true) ? padded : cnt);
          out.push(s / div);
        }
      }
    }
  }
  return { shape: [n, c, oh, ow], data: out };
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

const poolCase = fc.record({
  n: int(1, 2),
  c: int(1, 2),
  h: int(1, 6),
  w: int(1, 6),
  kernelSize: pairOf(1, 3),
  stride: fc.oneof(fc.constant(null), pairOf(1, 3)),
  padding: pairOf(0, 1),
  dilation: pairOf(1, 3),
  ceilMode: fc.boolean(),
  countIncludePad: fc.boolean(),
  divisorOverride: fc.oneof(fc.constant(null), int(1, 5)),
  seed: fc.nat(1e6),
});

Deno.test("maxPool2d matches a naive loop (-inf padding, dilation, ceilMode)", () => {
  fc.assert(
    fc.property(poolCase, (d) => {
      const o = {
        kernelSize: d.kernelSize,
        stride: d.stride,
        padding: d.padding,
        dilation: d.dilation,
        ceilMode: d.ceilMode,
      } as PoolOpts;
      const x = rnd([d.n, d.c, d.h, d.w], d.seed);
      let y: Tensor;
      try {
        y = T.maxPool2d(x, o as T.MaxPool2dOptions);
      } catch {
        return; // rejected by the op's validation
      }
      const ref = naivePool("max", x, o);
      // windows of only padding are a known library bug (see the ignored test below)
      fc.pre(ref.data.every(Number.isFinite));
      assert.deepEqual(y.shape, ref.shape);
      assertAllClose(y, ref.data, tight);
    }),
    { numRuns: 150 },
  );
});

Deno.test("avgPool2d matches a naive loop (countIncludePad, divisorOverride, ceilMode)", () => {
  fc.assert(
    fc.property(poolCase, (d) => {
      const o = {
        kernelSize: d.kernelSize,
        stride: d.stride,
        padding: d.padding,
        ceilMode: d.ceilMode,
        countIncludePad: d.countIncludePad,
        divisorOverride: d.divisorOverride,
      } as PoolOpts;
      const x = rnd([d.n, d.c, d.h, d.w], d.seed);
      let y: Tensor;
      try {
        y = T.avgPool2d(x, o as T.AvgPool2dOptions);
      } catch {
        return;
      }
      const ref = naivePool("avg", x, o);
      assert.deepEqual(y.shape, ref.shape);
      assertAllClose(y, ref.data, tight);
    }),
    { numRuns: 150 },
  );
});

// ---------------------------------------------------------------------------
// seed 001: HWC -> CHW, the Laplacian example, the channel-averaged edge conv

const seedImgHWC = [
  [[148, 63, 211], [33, 158, 182], [232, 46, 26], [240, 102, 51]],
  [[87, 80, 155], [162, 193, 12], [143, 139, 54], [148, 137, 201]],
  [[27, 53, 173], [169, 192, 242], [50, 29, 211], [173, 114, 112]],
  [[35, 138, 50], [25, 77, 91], [144, 90, 141], [38, 153, 162]],
];
/** The seed's printed CHW tensor (Red, Green, Blue planes). */
const seedImgCHW = [
  [
    [148, 33, 232, 240],
    [87, 162, 143, 148],
    [27, 169, 50, 173],
    [35, 25, 144, 38],
  ],
  [
    [63, 158, 46, 102],
    [80, 193, 139, 137],
    [53, 192, 29, 114],
    [138, 77, 90, 153],
  ],
  [
    [211, 182, 26, 51],
    [155, 12, 54, 201],
    [173, 242, 211, 112],
    [50, 91, 141, 162],
  ],
];
const laplacian = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]];

Deno.test("seed 001: HWC (4, 4, 3) -> CHW [3, 4, 4] -> BCHW [1, 3, 4, 4] with transpose", () => {
  const hwc = T.tensor(seedImgHWC, f64);
  assert.deepEqual(hwc.shape, [4, 4, 3]);
  const chw = T.transpose(hwc, [2, 0, 1]); // permute(2, 0, 1)
  assert.deepEqual(chw.shape, [3, 4, 4]);
  assert.deepEqual(T.toArray(chw), seedImgCHW);
  const bchw = T.expandDims(chw, 0); // unsqueeze(0)
  assert.deepEqual(bchw.shape, [1, 3, 4, 4]);
  assert.deepEqual(T.toArray(T.transpose(chw, [1, 2, 0])), seedImgHWC); // permute(1, 2, 0)
  // "입력 텐서: torch.Size([1, 3, 4, 4]) 12.0 242.0"
  assert.equal(T.item(T.min(bchw)), 12);
  assert.equal(T.item(T.max(bchw)), 242);
  // SimpleFCN: view(-1, 4*4*3) -> fc1 (48 -> 2) -> relu -> fc2 (2 -> 3)
  const flat = T.reshape(bchw, [-1, 4 * 4 * 3]);
  assert.deepEqual(flat.shape, [1, 48]);
  const h = T.relu(
    T.linear(T.div(flat, 255), rnd([2, 48], 1), rnd([2], 2)),
  );
  const logits = T.linear(h, rnd([3, 2], 3), rnd([3], 4));
  assert.deepEqual(logits.shape, [1, 3]);
  const loss = T.crossEntropy(logits, T.tensor([2], { dtype: "int32" }));
  assert.deepEqual(loss.shape, []);
  assert.ok(T.item(loss) > 0);
});

Deno.test("seed 001: the Laplacian kernel on the 3x3 patch around e = 200 (the products and their sum)", () => {
  const patch = T.tensor([[50, 52, 49], [51, 200, 53], [48, 49, 52]], f64);
  const k = T.tensor(laplacian, f64);
  // the seed's table "커널*이미지"
  assert.deepEqual(T.toArray(T.mul(k, patch)), [
    [-50, -52, -49],
    [-51, 1600, -53],
    [-48, -49, -52],
  ]);
  const y = T.conv2d(
    T.reshape(patch, [1, 1, 3, 3]),
    T.reshape(k, [1, 1, 3, 3]),
  );
  assert.deepEqual(y.shape, [1, 1, 1, 1]);
  // 1600 - (50+52+49+51+53+48+49+52) = 1600 - 404 = 1196: the seed's "합=1195"
  // is an arithmetic slip; the sum of its own table of products is 1196
  assert.equal(T.item(y), 1196);
  assert.equal(T.item(T.sum(T.mul(k, patch))), 1196);
  // bright centre -> large positive; flat patch -> 0; dark centre -> negative
  assert.equal(
    T.item(T.conv2d(T.full([1, 1, 3, 3], 50, f64), T.reshape(k, [1, 1, 3, 3]))),
    0,
  );
});

Deno.test("seed 001: Conv2d(3, 1, 3, bias=False, padding=1) with the Laplacian / 3 on every channel", () => {
  const x = T.expandDims(T.tensor(seedImgCHW, f64), 0);
  const k = T.tensor(laplacian, f64);
  // conv.weight[:] = kernel.repeat(3,1,1).unsqueeze(0) / 3
  const w = T.div(T.expandDims(T.stack([k, k, k]), 0), 3);
  assert.deepEqual(w.shape, [1, 3, 3, 3]);
  const y = T.conv2d(x, w, null, { padding: 1 });
  assert.deepEqual(y.shape, [1, 1, 4, 4]);
  const yy = T.toArray(y) as number[][][][];
  // by hand: 9·centre - window sum per channel at (1, 1): R 407, G 784, B -1158
  assertAllClose(yy[0][0][1][1], (407 + 784 - 1158) / 3, tight);
  // corner (0, 0), zero padding: 8·centre - 3 neighbours: R 902, G 73, B 1339
  assertAllClose(yy[0][0][0][0], (902 + 73 + 1339) / 3, tight);
  // "채널별 결과 평균 (PyTorch Conv2d와 동일)": the mean of per-channel filters
  const perChannel = [0, 1, 2].map((c) =>
    T.conv2d(
      T.slice(x, [0, c], [1, c + 1]),
      T.reshape(k, [1, 1, 3, 3]),
      null,
      { padding: 1 },
    )
  );
  assertAllClose(
    y,
    T.div(T.add(T.add(perChannel[0], perChannel[1]), perChannel[2]), 3),
    tight,
  );
});

// ---------------------------------------------------------------------------
// seed 002: Conv2d(3, 16, 3) on CIFAR's 32x32, padding, the blur and edge kernels

Deno.test("seed 002: Conv2d(3, 16, 3) shapes on [1, 3, 32, 32], with and without padding=1", () => {
  const img = rnd([1, 3, 32, 32], 7);
  const w = rnd([16, 3, 3, 3], 8), b = rnd([16], 9);
  // (torch.Size([16, 3, 3, 3]), torch.Size([16]))
  assert.deepEqual(T.conv2d(img, w, b).shape, [1, 16, 30, 30]);
  assert.deepEqual(T.conv2d(img, w, b, { padding: 1 }).shape, [1, 16, 32, 32]);
  // conv = nn.Conv2d(3, 1, kernel_size=3, padding=1): [1, 1, 32, 32]
  assert.deepEqual(
    T.conv2d(img, rnd([1, 3, 3, 3], 10), rnd([1], 11), { padding: 1 }).shape,
    [1, 1, 32, 32],
  );
  // unbatched works too (img without unsqueeze(0))
  assert.deepEqual(T.conv2d(T.squeeze(img, 0), w, b).shape, [16, 30, 30]);
  // nn.MaxPool2d(2): [1, 3, 16, 16]
  assert.deepEqual(T.maxPool2d(img, { kernelSize: 2 }).shape, [1, 3, 16, 16]);
});

Deno.test("seed 002: the Sequential model's shapes and its parameter count 18090", () => {
  const params = {
    w1: rnd([16, 3, 3, 3], 1),
    b1: rnd([16], 2),
    w2: rnd([8, 16, 3, 3], 3),
    b2: rnd([8], 4),
    w3: rnd([32, 8 * 8 * 8], 5),
    b3: rnd([32], 6),
    w4: rnd([2, 32], 7),
    b4: rnd([2], 8),
  };
  const numel = Object.values(params).map((p) => p.data.length);
  assert.deepEqual(numel, [432, 16, 1152, 8, 16384, 32, 64, 2]);
  assert.equal(numel.reduce((a, b) => a + b), 18090);
  let x = rnd([1, 3, 32, 32], 9);
  x = T.tanh(T.conv2d(x, params.w1, params.b1, { padding: 1 }));
  assert.deepEqual(x.shape, [1, 16, 32, 32]);
  x = T.maxPool2d(x, { kernelSize: 2 });
  assert.deepEqual(x.shape, [1, 16, 16, 16]);
  x = T.maxPool2d(
    T.tanh(T.conv2d(x, params.w2, params.b2, { padding: 1 })),
    { kernelSize: 2 },
  );
  assert.deepEqual(x.shape, [1, 8, 8, 8]);
  x = T.flatten(x); // nn.Flatten(): 512
  assert.deepEqual(x.shape, [1, 512]);
  x = T.linear(T.tanh(T.linear(x, params.w3, params.b3)), params.w4, params.b4);
  assert.deepEqual(x.shape, [1, 2]);
});

/** A hand-made 3-channel 4x4 image: a vertical edge (0 | 1) with R = P, G = 2P, B = 0. */
const edgePlane = [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]];
const edgeImg = T.tensor(
  [
    edgePlane,
    edgePlane.map((r) => r.map((v) => 2 * v)),
    edgePlane.map((r) => r.map(() => 0)),
  ],
  f64,
);

Deno.test("seed 002: weight.fill_(1/9), bias 0, padding=1: the channel-summed box average by hand", () => {
  const w = T.full([1, 3, 3, 3], 1 / 9, f64);
  const y = T.conv2d(T.expandDims(edgeImg, 0), w, T.zeros([1], f64), {
    padding: 1,
  });
  assert.deepEqual(y.shape, [1, 1, 4, 4]);
  // Σ_c boxsum(c)/9 = 3·boxsum(P)/9; boxsum(P)[i][j] = rows(i)·cols(j) with
  // rows = [2, 3, 3, 2] (zero padding) and cols = [0, 1, 2, 2]
  const third = [0, 2 / 3, 4 / 3, 4 / 3];
  assertAllClose(y, [[[third, [0, 1, 2, 2], [0, 1, 2, 2], third]]], tight);
});

Deno.test("seed 002: the vertical-edge kernel [[-1, 0, 1]] x 3 on every channel, by hand", () => {
  const k = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]];
  const w = T.tensor([[k, k, k]], f64); // conv.weight[:] = tensor(k): broadcast over in-channels
  const y = T.conv2d(T.expandDims(edgeImg, 0), w, T.zeros([1], f64), {
    padding: 1,
  });
  // per channel: rows(i)·(col[j+1] - col[j-1]) = rows(i)·[0, 1, 1, -1], times (1 + 2 + 0)
  assert.deepEqual(T.toArray(y), [[[
    [0, 6, 6, -6],
    [0, 9, 9, -9],
    [0, 9, 9, -9],
    [0, 6, 6, -6],
  ]]]);
});

// ---------------------------------------------------------------------------
// seed 003: output sizes for padding, stride, channels and pooling

Deno.test("seed 003: 5x5 input, 3x3 filter: stride 1 -> 3x3, stride 2 -> 2x2; padding keeps 256x256", () => {
  assert.equal(T.conv2dOutputSize(5, 3), 3);
  assert.equal(T.conv2dOutputSize(5, 3, { stride: 2 }), 2);
  const x = rnd([1, 1, 5, 5], 1), w = rnd([1, 1, 3, 3], 2);
  assert.deepEqual(T.conv2d(x, w).shape, [1, 1, 3, 3]);
  assert.deepEqual(T.conv2d(x, w, null, { stride: 2 }).shape, [1, 1, 2, 2]);
  // padding: the output keeps the input size; channels = number of filters (5)
  assert.equal(T.conv2dOutputSize(256, 3, { padding: 1 }), 256);
  const img = rnd([3, 256, 256], 3); // (c, w, h)
  const filters = rnd([5, 3, 3, 3], 4);
  assert.deepEqual(T.conv2d(img, filters, null, { padding: 1 }).shape, [
    5,
    256,
    256,
  ]);
  assert.deepEqual(
    T.conv2d(img, filters, null, { padding: "same" }).shape,
    [5, 256, 256],
  );
});

Deno.test("seed 003: max pooling keeps channels and halves w, h (VGG16: 224 -> 112 -> 56 -> 28 -> 14 -> 7)", () => {
  const sizes = [224];
  for (let i = 0; i < 5; i++) {
    sizes.push(T.conv2dOutputSize(sizes[i], 2, { stride: 2 }));
  }
  assert.deepEqual(sizes, [224, 112, 56, 28, 14, 7]);
  // 3x3 convs with padding 1 keep the size between the pools
  assert.equal(T.conv2dOutputSize(224, 3, { padding: 1 }), 224);
  let x = T.zeros([1, 3, 224, 224]);
  const shapes = [];
  for (let i = 0; i < 5; i++) {
    x = T.maxPool2d(x, { kernelSize: 2 });
    shapes.push(x.shape);
  }
  assert.deepEqual(shapes, [
    [1, 3, 112, 112],
    [1, 3, 56, 56],
    [1, 3, 28, 28],
    [1, 3, 14, 14],
    [1, 3, 7, 7],
  ]);
});

Deno.test("seed 003: Net (Conv2d(3, 64, 5), Conv2d(64, 128, 5), Linear(128*5*5, 10)) on 32x32", () => {
  const sizes = [32];
  sizes.push(T.conv2dOutputSize(32, 5)); // conv1
  sizes.push(T.conv2dOutputSize(sizes[1], 2, { stride: 2 })); // max_pool2d(x, 2)
  sizes.push(T.conv2dOutputSize(sizes[2], 5)); // conv2
  sizes.push(T.conv2dOutputSize(sizes[3], 2, { stride: 2 }));
  assert.deepEqual(sizes, [32, 28, 14, 10, 5]);
  let x = rnd([1, 3, 32, 32], 1);
  x = T.maxPool2d(
    T.relu(T.conv2d(x, rnd([64, 3, 5, 5], 2), rnd([64], 3))),
    { kernelSize: 2 },
  );
  assert.deepEqual(x.shape, [1, 64, 14, 14]);
  x = T.maxPool2d(
    T.relu(T.conv2d(x, rnd([128, 64, 5, 5], 4), rnd([128], 5))),
    { kernelSize: 2 },
  );
  assert.deepEqual(x.shape, [1, 128, 5, 5]);
  x = T.flatten(x, 1); // torch.flatten(x, 1)
  assert.deepEqual(x.shape, [1, 128 * 5 * 5]);
  const out = T.linear(x, rnd([10, 3200], 6), rnd([10], 7));
  assert.deepEqual(out.shape, [1, 10]);
});

// ---------------------------------------------------------------------------
// seed 004: LeNet-5

Deno.test("seed 004: LeNet-5 shapes 32 -> 28 -> 14 -> 10 -> 5 -> 400 -> 120 -> 84 -> 10", () => {
  const params = [
    rnd([6, 1, 5, 5], 1), // conv1 = nn.Conv2d(1, 6, 5)
    rnd([6], 2),
    rnd([16, 6, 5, 5], 3), // conv2 = nn.Conv2d(6, 16, 5)
    rnd([16], 4),
    rnd([120, 400], 5), // fc1 = nn.Linear(16*5*5, 120)
    rnd([120], 6),
    rnd([84, 120], 7),
    rnd([84], 8),
    rnd([10, 84], 9),
    rnd([10], 10),
  ];
  assert.equal(params.length, 10); // len(params)
  assert.deepEqual(params[0].shape, [6, 1, 5, 5]); // params[0].size()
  const [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5] = params;
  const net = (input: Tensor) => {
    const c1 = T.relu(T.conv2d(input, w1, b1));
    const s2 = T.maxPool2d(c1, { kernelSize: [2, 2] });
    const c3 = T.relu(T.conv2d(s2, w2, b2));
    const s4 = T.flatten(T.maxPool2d(c3, { kernelSize: 2 }), 1);
    const f5 = T.relu(T.linear(s4, w3, b3));
    const f6 = T.relu(T.linear(f5, w4, b4));
    return {
      shapes: [c1, s2, c3, s4, f5, f6].map((t) => t.shape),
      output: T.linear(f6, w5, b5),
    };
  };
  for (const n of [1, 2]) {
    const { shapes, output } = net(rnd([n, 1, 32, 32], 11)); // torch.randn(1, 1, 32, 32)
    assert.deepEqual(shapes, [
      [n, 6, 28, 28],
      [n, 6, 14, 14],
      [n, 16, 10, 10],
      [n, 400],
      [n, 120],
      [n, 84],
    ]);
    assert.deepEqual(output.shape, [n, 10]);
  }
  // "출력크기 = (입력크기 - 필터크기 + 2*패딩) / 스트라이드 + 1": 14 - 5 + 2*0 + 1
  assert.equal(T.conv2dOutputSize(14, 5, { padding: 0, stride: 1 }), 10);
  assert.equal(T.conv2dOutputSize(32, 5), 28);
  assert.equal(T.conv2dOutputSize(28, 2, { stride: 2 }), 14);
  assert.equal(T.conv2dOutputSize(10, 2, { stride: 2 }), 5);
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

Deno.test("errors: pooling arguments", () => {
  const x = T.zeros([1, 1, 4, 4]);
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 2, padding: 2 }),
    /maxPool2d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 \(padding \[2,2\], kernelSize \[2,2\]\)/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: 3, padding: [0, 2] }),
    /avgPool2d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=3/,
  );
  assert.throws(
    () => T.maxPool2d(x, {} as T.MaxPool2dOptions),
    /^Error: maxPool2d: options\.kernelSize is required$/,
  );
  assert.throws(
    () => (T.maxPool2d as (x: Tensor) => Tensor)(x),
    /maxPool2d: options\.kernelSize is required/,
  );
  assert.throws(
    () => T.avgPool2d(x, {} as T.AvgPool2dOptions),
    /avgPool2d: options\.kernelSize is required/,
  );
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 5 }),
    /maxPool2d: output size would be 0x0 \(< 1\) for x \[1,1,4,4\] with kernelSize \[5,5\]/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: 2, divisorOverride: 0 }),
    /avgPool2d: divisorOverride must be a non-zero integer, got 0/,
  );
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 2, kernel_size: 2 } as never),
    /maxPool2d: unknown option "kernel_size"/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: 2, dilation: 2 } as never),
    /avgPool2d: unknown option "dilation"/,
  );
  assert.throws(
    () => T.adaptiveAvgPool2d(x, 0),
    /adaptiveAvgPool2d: outputSize must be an integer >= 1/,
  );
  assert.throws(
    () => T.maxPool2d(x, { kernelSize: 0 }),
    /maxPool2d: kernelSize must be an integer >= 1 or a pair \[h, w\] of them, got 0/,
  );
  assert.throws(
    () => T.avgPool2d(x, { kernelSize: [2, 0] }),
    /avgPool2d: kernelSize must be an integer >= 1 or a pair \[h, w\] of them, got \[2,0\]/,
  );
});

Deno.test("errors: class labels for crossEntropy and nllLoss", () => {
  const logits = T.zeros([2, 3]);
  const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });
  for (
    const [name, fn] of [["crossEntropy", T.crossEntropy], [
      "nllLoss",
      T.nllLoss,
    ]] as const
  ) {
    assert.throws(
      () => fn(logits, i32([0, 3])),
      new RegExp(
        `^Error: ${name}: labels must be in \\[0, 3\\) \\(or ignoreIndex -100\\), got 3 at flat index 1 \\(labels \\[2\\]\\)$`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([-1, 0])),
      /labels must be in \[0, 3\).*got -1 at flat index 0/,
    );
    assert.throws(
      () => fn(logits, i32([0, 0, 0])),
      new RegExp(
        `${name}: labels must have shape \\[2\\] for input \\[2,3\\], got \\[3\\]`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([0, 1]), { reduction: "avg" as T.Reduction }),
      new RegExp(
        `${name}: reduction must be "mean", "sum" or "none", got "avg"`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([0, 1]), { weight: T.ones([2]) }),
      new RegExp(
        `${name}: weight must have shape \\[3\\] \\(one per class\\), got \\[2\\]`,
      ),
    );
    assert.throws(
      () => fn(logits, i32([0, 1]), { ignore_index: 1 } as never),
      /unknown option "ignore_index"/,
    );
  }
  // ignoreIndex makes an otherwise out-of-range label legal
  assert.doesNotThrow(() => T.nllLoss(logits, i32([0, 7]), { ignoreIndex: 7 }));
  // float labels: nllLoss wants int32 class indices ...
  assert.throws(
    () => T.nllLoss(logits, T.tensor([0, 1])),
    /^Error: nllLoss: labels must be int32 class indices, got float32 \[2\]$/,
  );
  // ... while crossEntropy reads float labels as class probabilities of the logits' shape
  assert.throws(
    () => T.crossEntropy(logits, T.tensor([0, 1])),
    /crossEntropy: logits \[2,3\] and labels \(class probabilities\) \[2\] must have the same shape/,
  );
  assert.throws(
    () => T.crossEntropy(logits, i32([0, 1]), { labelSmoothing: 1.5 }),
    /crossEntropy: labelSmoothing must be in \[0, 1\], got 1.5/,
  );
  assert.throws(
    () => T.crossEntropy(T.zeros([3]), i32([0])),
    /crossEntropy: logits must be \[N, C, \.\.\.\], got \[3\]/,
  );
});

Deno.test("errors: linear, losses, activations, dropout, batchNorm", () => {
  const z = (s: number[]) => T.zeros(s);
  assert.throws(
    () => T.linear(z([2, 3]), z([5, 4])),
    /^Error: linear: x has 3 features but weight expects 4 \(x \[2,3\], weight \[5,4\]\)$/,
  );
  assert.throws(
    () => T.linear(z([2, 4]), z([5, 4]), z([4])),
    /linear: bias must have shape \[5\], got \[4\]/,
  );
  assert.throws(
    () => T.linear(z([2, 4]), z([4])),
    /linear: weight must be \[out, in\], got \[4\]/,
  );
  assert.throws(
    () => T.mseLoss(z([2, 3]), z([3, 2])),
    /mseLoss: x \[2,3\] and target \[3,2\] must have the same shape/,
  );
  assert.throws(
    () => T.l1Loss(z([2]), z([2]), { reduction: "max" as T.Reduction }),
    /l1Loss: reduction must be/,
  );
  assert.throws(
    () => T.binaryCrossEntropyWithLogits(z([2]), z([3])),
    /binaryCrossEntropyWithLogits: logits \[2\] and targets \[3\] must have the same shape/,
  );
  assert.throws(
    () => T.leakyRelu(z([2]), { slope: 0.1 } as never),
    /leakyRelu: unknown option "slope"/,
  );
  assert.throws(
    () => T.gelu(z([2]), { approximate: "erf" as never }),
    /gelu: approximate must be "none" or "tanh", got "erf"/,
  );
  assert.throws(
    () => T.softmax(z([2]), { dim: 0 } as never),
    /softmax: unknown option "dim"/,
  );
  assert.throws(
    () => T.dropout(z([2]), { p: 1.5 }),
    /dropout: p must be in \[0, 1\], got 1.5/,
  );
  assert.throws(
    () => T.dropout(z([2]), { p: 0.5 }),
    /dropout: training needs options.key/,
  );
  assert.throws(
    () => T.batchNorm(z([2, 3])),
    /batchNorm: evaluation \(training: false\) needs runningMean and runningVar/,
  );
  assert.throws(
    () => T.batchNorm(z([1, 3]), { training: true }),
    /batchNorm: training needs more than 1 value per channel, got x \[1,3\]/,
  );
  assert.throws(
    () => T.batchNorm(z([2, 3]), { training: true, weight: z([2]) }),
    /batchNorm: weight must have shape \[3\] for x \[2,3\], got \[2\]/,
  );
});

// ---------------------------------------------------------------------------
// forward values by hand

Deno.test("maxPool2d ceilMode: a partial last window is kept, one starting in the right padding is dropped", () => {
  const x = T.tensor([[[[1, 2, 3, 4, 5]]]], f64);
  // size 5, k 2, s 2: floor -> 2 windows, ceil -> 3 (the last covers [4, 5) plus outside)
  assert.deepEqual(T.toArray(T.maxPool2d(x, { kernelSize: [1, 2] })), [[[[
    2,
    4,
  ]]]]);
  assert.deepEqual(
    T.toArray(T.maxPool2d(x, { kernelSize: [1, 2], ceilMode: true })),
    [[[[2, 4, 5]]]],
  );
  // padding 1: ceil((5 + 2 - 2) / 2) + 1 = 4, but the 4th window would start at
  // padded position 6 = the right padding, so PyTorch drops it: 3 windows
  const o = { kernelSize: [1, 2], padding: [0, 1], ceilMode: true } as const;
  assert.equal(
    T.conv2dOutputSize(5, 2, { stride: 2, padding: 1, ceilMode: true }),
    3,
  );
  assert.deepEqual(T.toArray(T.maxPool2d(x, o)), [[[[1, 3, 5]]]]);
  // and the same rule for avgPool2d, whose partial windows divide by their size inside the padded input
  assert.deepEqual(T.toArray(T.avgPool2d(x, o)), [[[[0.5, 2.5, 4.5]]]]);
  assert.deepEqual(
    T.toArray(T.avgPool2d(x, { kernelSize: [1, 2], ceilMode: true })),
    [[[[1.5, 3.5, 5]]]],
  );
});

Deno.test("avgPool2d at the border: countIncludePad true vs false, divisorOverride", () => {
  const x = T.tensor([[[[1, 2], [3, 4]]]], f64);
  const o = { kernelSize: 2, stride: 1, padding: 1 };
  assert.deepEqual(T.toArray(T.avgPool2d(x, o)), [[[
    [0.25, 0.75, 0.5],
    [1, 2.5, 1.5],
    [0.75, 1.75, 1],
  ]]]);
  assert.deepEqual(
    T.toArray(T.avgPool2d(x, { ...o, countIncludePad: false })),
    [[[
      [1, 1.5, 2],
      [2, 2.5, 3],
      [3, 3.5, 4],
    ]]],
  );
  assertAllClose(T.avgPool2d(x, { ...o, divisorOverride: 3 }), [
    1 / 3,
    1,
    2 / 3,
    4 / 3,
    10 / 3,
    2,
    1,
    7 / 3,
    4 / 3,
  ], tight);
});

Deno.test("maxPool2d with ties: the gradient goes to the FIRST maximum in row-major order", () => {
  const x = T.tensor([[[[1, 3], [3, 0]]]], f64);
  const f = (x: Tensor) => T.sum(T.maxPool2d(x, { kernelSize: 2 }));
  assert.equal(T.item(f(x)), 3);
  assert.deepEqual(T.toArray(T.grad(f)(x)), [[[[0, 1], [0, 0]]]]);
  // JVP reads the tangent at the same position
  const [, t] = T.jvp(f, [x], [T.tensor([[[[10, 20], [30, 40]]]], f64)]);
  assert.equal(T.item(t as Tensor), 20);
  // a 2x3 plane with overlapping windows (stride 1) and an all-equal window
  const y = T.tensor([[[[5, 5, 1], [5, 5, 5]]]], f64);
  const g = T.grad((y: Tensor) =>
    T.sum(T.maxPool2d(y, { kernelSize: 2, stride: 1 }))
  )(y);
  // window (0,0) -> (0,0); window (0,1) -> (0,1)
  assert.deepEqual(T.toArray(g), [[[[1, 1, 0], [0, 0, 0]]]]);
  // -inf padding never wins, even against negative values
  const z = T.tensor([[[[-3, -1]]]], f64);
  const gz = T.grad((z: Tensor) =>
    T.sum(T.maxPool2d(z, { kernelSize: [1, 2], padding: [0, 1], stride: 1 }))
  )(z);
  // windows: [pad, -3] -> -3, [-3, -1] -> -1, [-1, pad] -> -1
  assert.deepEqual(
    T.toArray(
      T.maxPool2d(z, { kernelSize: [1, 2], padding: [0, 1], stride: 1 }),
    ),
    [[[[-3, -1, -1]]]],
  );
  assert.deepEqual(T.toArray(gz), [[[[1, 2]]]]);
});

Deno.test({
  name: "maxPool2d: a window made only of padding gives -inf and no gradient",
  fn() {
    // H = 1, kernel 2, padding 1, dilation 2: the only window's taps are
    // rows -1 and 1, both outside the input; PyTorch's -inf padding gives -inf
    const x = T.tensor([5, 7], { shape: [1, 2, 1, 1], dtype: "float64" });
    const o = {
      kernelSize: [2, 1],
      padding: [1, 0],
      dilation: [2, 1],
    } as const;
    assert.deepEqual(Array.from(T.maxPool2d(x, o).data), [
      -Infinity,
      -Infinity,
    ]);
    assert.deepEqual(
      Array.from(T.grad((x: Tensor) => T.sum(T.maxPool2d(x, o)))(x).data),
      [0, 0],
    );
  },
});

Deno.test("dropout keeps about 1-p of the elements, scales them by 1/(1-p), and is the identity when not training", () => {
  const n = 20000;
  const x = T.ones([n], f64);
  for (const p of [0.1, 0.3, 0.5, 0.8]) {
    const y = T.dropout(x, { p, key: T.random.key(42) });
    const kept = Array.from(y.data).filter((v) => v !== 0);
    assert.ok(
      kept.every((v) => Math.abs(v - 1 / (1 - p)) < 1e-12),
      `p ${p}: kept values are 1/(1-p)`,
    );
    const frac = kept.length / n;
    const sd = Math.sqrt(p * (1 - p) / n);
    assert.ok(Math.abs(frac - (1 - p)) < 5 * sd, `p ${p}: kept ${frac}`);
    // the same key gives the same mask; the gradient is that mask scaled
    const g = T.grad((x: Tensor) =>
      T.sum(T.dropout(x, { p, key: T.random.key(42) }))
    )(x);
    assert.deepEqual(Array.from(g.data), Array.from(y.data));
  }
  const r = rnd([3, 4], 5);
  assert.deepEqual(
    T.toArray(T.dropout(r, { p: 0.5, training: false })),
    T.toArray(r),
  );
  assert.deepEqual(
    T.toArray(T.dropout(r, { p: 0, key: T.random.key(1) })),
    T.toArray(r),
  );
  // p = 1 is x · 0 (as PyTorch: negative x gives -0)
  const all = T.dropout(r, { p: 1, key: T.random.key(1) });
  assert.deepEqual(all.shape, [3, 4]);
  assert.ok(Array.from(all.data).every((v) => v === 0));
});

Deno.test("batchNorm eval uses the running statistics (not the batch's) and returns them unchanged", () => {
  const x = T.tensor([[1, 2], [3, 4]], f64); // batch means would be [2, 3]
  const runningMean = T.tensor([1, 2], f64),
    runningVar = T.tensor([4, 0.25], f64);
  const out = T.batchNorm(x, {
    runningMean,
    runningVar,
    weight: T.tensor([2, 1], f64),
    bias: T.tensor([0, 1], f64),
    eps: 0,
  });
  // channel 0: (x - 1) / 2 · 2 + 0; channel 1: (x - 2) / 0.5 · 1 + 1
  assert.deepEqual(T.toArray(out.y), [[0, 1], [2, 5]]);
  assert.deepEqual(T.toArray(out.runningMean!), [1, 2]);
  assert.deepEqual(T.toArray(out.runningVar!), [4, 0.25]);
  // NCHW: the statistics broadcast over H, W
  const x4 = T.reshape(T.arange(8, undefined, 1, f64), [1, 2, 2, 2]);
  const y4 = T.batchNorm(x4, { runningMean, runningVar, eps: 0 }).y;
  assert.deepEqual(T.toArray(y4), [[[[-0.5, 0], [0.5, 1]], [[4, 6], [8, 10]]]]);
  // training on the same x uses the batch statistics instead and updates the running ones
  const tr = T.batchNorm(x, {
    runningMean,
    runningVar,
    training: true,
    eps: 0,
  });
  assert.deepEqual(T.toArray(tr.y), [[-1, -1], [1, 1]]);
  assertAllClose(
    tr.runningMean!,
    [0.9 * 1 + 0.1 * 2, 0.9 * 2 + 0.1 * 3],
    tight,
  );
  // unbiased batch variance: 2 for both channels
  assertAllClose(
    tr.runningVar!,
    [0.9 * 4 + 0.1 * 2, 0.9 * 0.25 + 0.1 * 2],
    tight,
  );
});

Deno.test("maxPool2d float32: a plain forward (no argmax kept) and the gradient, in either order", () => {
  // large enough for the WebAssembly kernel; ties route to the first maximum
  const ints = Array.from({ length: 6912 }, (_, i) => ((i * 7919) % 11) - 5);
  const x = T.reshape(T.tensor(ints, { dtype: "float32" }), [4, 3, 24, 24]);
  const f = (a: Tensor) => T.sum(T.maxPool2d(a, { kernelSize: 2 }));
  // reference: 1 at each window's first maximum (row-major), from the values
  const want = new Float32Array(x.data.length);
  for (let pl = 0; pl < 12; pl++) {
    for (let oy = 0; oy < 12; oy++) {
      for (let ox = 0; ox < 12; ox++) {
        let best = -1;
        for (const [i, j] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const at = pl * 576 + (2 * oy + i) * 24 + 2 * ox + j;
          if (best < 0 || x.data[at] > x.data[best]) best = at;
        }
        want[best] = 1;
      }
    }
  }
  T.maxPool2d(x, { kernelSize: 2 }); // inference first: nothing kept
  assert.deepEqual(T.grad(f)(x).data, want);
  const x2 = T.add(x, 0); // a new array: gradient first, then inference
  assert.deepEqual(T.grad(f)(x2).data, want);
  assert.deepEqual(
    T.maxPool2d(x2, { kernelSize: 2 }).data,
    T.maxPool2d(x, { kernelSize: 2 }).data,
  );
});
