/**
 * Rows of the CNN ops for the gradient-check table (grad_table_test.ts):
 * each draws small shapes and static options with fast-check, and draws only
 * what the ops accept: a combination the op's own validation rejects (the op
 * is called on zeros: whatever a user would get an error for) is filtered
 * out of the arbitrary and drawn again. Sizes stay tiny (spatial <= 5,
 * channels <= 4) so the order-2 checks stay fast.
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import { accepts, int, pairOf } from "./_helpers.ts";
import type { Row } from "./_op_table.ts";

type Draw = { shapes: number[][]; p?: unknown };

const zeros = (s: number[]) => T.zeros(s, { dtype: "float64" });
/** Optional leading batch: [n, ...rest] or, when unbatched, rest. */
const batch = (n: number, unbatched: boolean, rest: number[]) =>
  unbatched ? rest : [n, ...rest];
const labelsT = (l: { shape: number[]; data: number[] }) =>
  T.tensor(l.data, { shape: l.shape, dtype: "int32" });

const conv2dRow: Row = {
  name: "conv2d",
  arb: fc.record({
    n: int(1, 2),
    unbatched: fc.boolean(),
    c: int(1, 4),
    groups: int(1, 3),
    o: int(1, 4),
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
  }).map((d): Draw => {
    const shapes = [
      batch(d.n, d.unbatched, [d.c, d.h, d.w]),
      // floor: when groups does not divide c the op itself rejects the draw
      [d.o, Math.max(1, Math.floor(d.c / d.groups)), ...d.k],
      ...(d.bias ? [[d.o]] : []),
    ];
    const opts = {
      stride: d.stride,
      padding: d.padding,
      dilation: d.dilation,
      groups: d.groups,
    };
    return { shapes, p: opts };
  }).filter(({ shapes, p }) =>
    accepts(() =>
      T.conv2d(
        zeros(shapes[0]),
        zeros(shapes[1]),
        shapes[2] ? zeros(shapes[2]) : null,
        p as T.Conv2dOptions,
      )
    )
  ),
  domains: ["real", "real", "real"],
  f: (p, x, w, b) => T.conv2d(x, w, b ?? null, p),
};

const convTranspose2dRow: Row = {
  name: "convTranspose2d",
  arb: fc.record({
    n: int(1, 2),
    unbatched: fc.boolean(),
    c: int(1, 4),
    groups: int(1, 2),
    oPerGroup: int(1, 2),
    h: int(1, 3),
    w: int(1, 3),
    k: fc.tuple(int(1, 3), int(1, 3)),
    stride: pairOf(1, 2),
    padding: pairOf(0, 2),
    outputPadding: pairOf(0, 2),
    dilation: pairOf(1, 3),
    bias: fc.boolean(),
  }).map((d): Draw => ({
    shapes: [
      batch(d.n, d.unbatched, [d.c, d.h, d.w]),
      [d.c, d.oPerGroup, ...d.k],
      ...(d.bias ? [[d.oPerGroup * d.groups]] : []),
    ],
    p: {
      stride: d.stride,
      padding: d.padding,
      outputPadding: d.outputPadding,
      dilation: d.dilation,
      groups: d.groups,
    },
  })).filter(({ shapes, p }) =>
    accepts(() =>
      T.convTranspose2d(
        zeros(shapes[0]),
        zeros(shapes[1]),
        shapes[2] ? zeros(shapes[2]) : null,
        p as T.ConvTranspose2dOptions,
      )
    )
  ),
  domains: ["real", "real", "real"],
  f: (p, x, w, b) => T.convTranspose2d(x, w, b ?? null, p),
};

/** Pooling input shapes: [N, C, H, W] or unbatched [C, H, W]. */
const poolInput = fc.record({
  n: int(1, 2),
  unbatched: fc.boolean(),
  c: int(1, 3),
  h: int(1, 5),
  w: int(1, 5),
}).map((d) => batch(d.n, d.unbatched, [d.c, d.h, d.w]));

/** `[N, C, L]` or unbatched `[C, L]`, small. */
const lengthInput = fc.record({
  n: int(1, 2),
  unbatched: fc.boolean(),
  c: int(1, 2),
  l: int(1, 6),
}).map((d) => batch(d.n, d.unbatched, [d.c, d.l]));

/** `[N, C, D, H, W]` or unbatched `[C, D, H, W]`, small. */
const volumeInput = (c: fc.Arbitrary<number>) =>
  fc.record({
    n: int(1, 2),
    unbatched: fc.boolean(),
    c,
    d: int(1, 4),
    h: int(1, 4),
    w: int(1, 4),
  }).map((d) => batch(d.n, d.unbatched, [d.c, d.d, d.h, d.w]));
const tripleOf = (lo: number, hi: number) =>
  fc.oneof(int(lo, hi), fc.tuple(int(lo, hi), int(lo, hi), int(lo, hi)));

const volumeRows: Row[] = [
  {
    name: "conv3d",
    arb: fc.record({
      x: volumeInput(int(1, 2)),
      groups: int(1, 2),
      o: int(1, 2),
      k: fc.tuple(int(1, 2), int(1, 2), int(1, 2)),
      stride: tripleOf(1, 2),
      padding: fc.oneof(tripleOf(0, 1), fc.constant("same" as const)),
      dilation: tripleOf(1, 2),
      bias: fc.boolean(),
    }).map((d): Draw => {
      const c = d.x[d.x.length - 4];
      return {
        shapes: [
          d.x,
          [d.o * d.groups, Math.max(1, Math.floor(c / d.groups)), ...d.k],
          ...(d.bias ? [[d.o * d.groups]] : []),
        ],
        p: {
          stride: d.stride,
          padding: d.padding,
          dilation: d.dilation,
          groups: d.groups,
        },
      };
    }).filter(({ shapes, p }) =>
      accepts(() =>
        T.conv3d(
          zeros(shapes[0]),
          zeros(shapes[1]),
          shapes[2] ? zeros(shapes[2]) : null,
          p as T.Conv3dOptions,
        )
      )
    ),
    domains: ["real", "real", "real"],
    f: (p, x, w, b) => T.conv3d(x, w, b ?? null, p),
  },
  {
    name: "convTranspose3d",
    arb: fc.record({
      x: volumeInput(int(1, 2)),
      groups: int(1, 2),
      oPerGroup: int(1, 2),
      k: fc.tuple(int(1, 2), int(1, 2), int(1, 2)),
      stride: tripleOf(1, 2),
      padding: tripleOf(0, 1),
      outputPadding: tripleOf(0, 1),
      dilation: tripleOf(1, 2),
      bias: fc.boolean(),
    }).map((d): Draw => {
      const c = d.x[d.x.length - 4];
      return {
        shapes: [
          d.x,
          [c, d.oPerGroup, ...d.k],
          ...(d.bias ? [[d.oPerGroup * d.groups]] : []),
        ],
        p: {
          stride: d.stride,
          padding: d.padding,
          outputPadding: d.outputPadding,
          dilation: d.dilation,
          groups: d.groups,
        },
      };
    }).filter(({ shapes, p }) =>
      accepts(() =>
        T.convTranspose3d(
          zeros(shapes[0]),
          zeros(shapes[1]),
          shapes[2] ? zeros(shapes[2]) : null,
          p as T.ConvTranspose3dOptions,
        )
      )
    ),
    domains: ["real", "real", "real"],
    f: (p, x, w, b) => T.convTranspose3d(x, w, b ?? null, p),
  },
  {
    name: "maxPool3d",
    arb: fc.record({
      x: volumeInput(int(1, 2)),
      kernelSize: tripleOf(1, 2),
      stride: fc.oneof(fc.constant(null), tripleOf(1, 2)),
      padding: tripleOf(0, 1),
      dilation: tripleOf(1, 2),
      ceilMode: fc.boolean(),
    }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
      .filter(({ shapes, p }) =>
        accepts(() => T.maxPool3d(zeros(shapes[0]), p as T.MaxPool3dOptions))
      ),
    domains: ["real"],
    f: (p, x) => T.maxPool3d(x, p),
    // a window of only padding gives -inf, as maxPool2d's
    mayBeInfinite: true,
  },
  ...(["Avg", "Max"] as const).map((kind): Row => ({
    name: `adaptive${kind}Pool3d`,
    arb: fc.record({ x: volumeInput(int(1, 2)), out: tripleOf(1, 3) })
      .map(({ x, out }): Draw => ({ shapes: [x], p: out })),
    domains: ["real"],
    f: (out, x) =>
      kind === "Avg"
        ? T.adaptiveAvgPool3d(x, out as T.Triple)
        : T.adaptiveMaxPool3d(x, out as T.Triple),
  })),
  {
    name: "avgPool3d",
    arb: fc.record({
      x: volumeInput(int(1, 2)),
      kernelSize: tripleOf(1, 2),
      stride: fc.oneof(fc.constant(null), tripleOf(1, 2)),
      padding: tripleOf(0, 1),
      ceilMode: fc.boolean(),
      countIncludePad: fc.boolean(),
      divisorOverride: fc.oneof(fc.constant(null), int(1, 4)),
    }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
      .filter(({ shapes, p }) =>
        accepts(() => T.avgPool3d(zeros(shapes[0]), p as T.AvgPool3dOptions))
      ),
    domains: ["real"],
    f: (p, x) => T.avgPool3d(x, p),
  },
];

const maxPool2dRow: Row = {
  name: "maxPool2d",
  arb: fc.record({
    x: poolInput,
    kernelSize: pairOf(1, 3),
    stride: fc.oneof(fc.constant(null), pairOf(1, 3)),
    padding: pairOf(0, 1),
    dilation: pairOf(1, 3),
    ceilMode: fc.boolean(),
  }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
    .filter(({ shapes, p }) =>
      accepts(() => T.maxPool2d(zeros(shapes[0]), p as T.MaxPool2dOptions))
    ),
  domains: ["real"],
  f: (p, x) => T.maxPool2d(x, p),
  // a window of only padding gives -inf and a zero gradient (pool_test.ts)
  mayBeInfinite: true,
};

const avgPool2dRow: Row = {
  name: "avgPool2d",
  arb: fc.record({
    x: poolInput,
    kernelSize: pairOf(1, 3),
    stride: fc.oneof(fc.constant(null), pairOf(1, 3)),
    padding: pairOf(0, 1),
    ceilMode: fc.boolean(),
    countIncludePad: fc.boolean(),
    divisorOverride: fc.oneof(fc.constant(null), int(-3, 5)),
  }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
    .filter(({ shapes, p }) =>
      accepts(() => T.avgPool2d(zeros(shapes[0]), p as T.AvgPool2dOptions))
    ),
  domains: ["real"],
  f: (p, x) => T.avgPool2d(x, p),
};

const adaptiveAvgPool2dRow: Row = {
  name: "adaptiveAvgPool2d",
  arb: fc.record({ x: poolInput, out: pairOf(1, 5) })
    .map(({ x, out }): Draw => ({ shapes: [x], p: out })),
  domains: ["real"],
  f: (out, x) => T.adaptiveAvgPool2d(x, out),
};

const adaptiveMaxPool2dRow: Row = {
  name: "adaptiveMaxPool2d",
  arb: fc.record({ x: poolInput, out: pairOf(1, 5) })
    .map(({ x, out }): Draw => ({ shapes: [x], p: out })),
  domains: ["real"],
  f: (out, x) => T.adaptiveMaxPool2d(x, out),
};

const lpPool2dRow: Row = {
  name: "lpPool2d",
  arb: fc.record({
    x: poolInput,
    normType: fc.constantFrom(1, 1.5, 2, 3),
    kernelSize: pairOf(1, 3),
    stride: fc.oneof(fc.constant(null), pairOf(1, 3)),
    ceilMode: fc.boolean(),
  }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
    .filter(({ shapes, p }) =>
      accepts(() => T.lpPool2d(zeros(shapes[0]), p as T.LpPool2dOptions))
    ),
  // positive: x^p for any p, and every window's sum away from 0
  domains: ["positive"],
  f: (p, x) => T.lpPool2d(x, p),
};

/** unfold's options, drawn with an image they fit (the op rejects the others). */
const patchDraw = fc.record({
  x: poolInput,
  kernelSize: pairOf(1, 3),
  dilation: pairOf(1, 2),
  padding: pairOf(0, 2),
  stride: pairOf(1, 3),
}).map(({ x, ...p }) => ({ x, p }))
  .filter(({ x, p }) => accepts(() => T.unfold(zeros(x), p)));

const unfoldRow: Row = {
  name: "unfold",
  arb: patchDraw.map(({ x, p }): Draw => ({ shapes: [x], p })),
  domains: ["real"],
  f: (p, x) => T.unfold(x, p as T.UnfoldOptions),
};

const foldRow: Row = {
  name: "fold",
  // columns of unfold's shape for that image, folded back into it
  arb: patchDraw.map(({ x, p }): Draw => ({
    shapes: [T.unfold(zeros(x), p).shape.slice()],
    p: { ...p, outputSize: x.slice(-2) },
  })),
  domains: ["real"],
  f: (p, x) => T.fold(x, p as T.FoldOptions),
};

const pixelShuffleRows: Row[] = [
  {
    name: "pixelShuffle",
    arb: fc.record({
      lead: fc.array(int(1, 2), { maxLength: 2 }),
      c: int(1, 2),
      r: int(1, 3),
      h: int(1, 3),
      w: int(1, 3),
    }).map((d): Draw => ({
      shapes: [[...d.lead, d.c * d.r * d.r, d.h, d.w]],
      p: d.r,
    })),
    domains: ["real"],
    f: (r, x) => T.pixelShuffle(x, r as number),
  },
  {
    name: "channelShuffle",
    arb: fc.record({
      n: int(1, 2),
      groups: int(1, 3),
      perGroup: int(1, 2),
      rest: fc.array(int(1, 3), { minLength: 1, maxLength: 2 }),
    }).map((d): Draw => ({
      shapes: [[d.n, d.groups * d.perGroup, ...d.rest]],
      p: d.groups,
    })),
    domains: ["real"],
    f: (g, x) => T.channelShuffle(x, g as number),
  },
  {
    name: "pixelUnshuffle",
    arb: fc.record({
      lead: fc.array(int(1, 2), { maxLength: 2 }),
      c: int(1, 2),
      r: int(1, 3),
      h: int(1, 2),
      w: int(1, 2),
    }).map((d): Draw => ({
      shapes: [[...d.lead, d.c, d.h * d.r, d.w * d.r]],
      p: d.r,
    })),
    domains: ["real"],
    f: (r, x) => T.pixelUnshuffle(x, r as number),
  },
];

/** gridSample's input and grid shapes, mode and padding. */
const gridArb = fc.record({
  n: int(1, 2),
  c: int(1, 2),
  h: int(1, 4),
  w: int(1, 4),
  ho: int(1, 3),
  wo: int(1, 3),
  paddingMode: fc.constantFrom(
    "zeros" as const,
    "border" as const,
    "reflection" as const,
  ),
  alignCorners: fc.boolean(),
  seed: fc.nat(1000),
});

const gridSampleRows: Row[] = [
  {
    name: "gridSample (bilinear)",
    arb: gridArb.map((d): Draw => ({
      shapes: [[d.n, d.c, d.h, d.w], [d.n, d.ho, d.wo, 2]],
      p: d,
    })),
    domains: ["real", "unit"],
    // positions up to 1.4 outside [-1, 1], so that the padding is read
    f: (d, x, g) =>
      T.gridSample(x, T.mul(g, 1.4), {
        paddingMode: d.paddingMode,
        alignCorners: d.alignCorners,
      }),
  },
  {
    name: "gridSample (bicubic)",
    arb: gridArb.map((d): Draw => ({
      shapes: [[d.n, d.c, d.h, d.w], [d.n, d.ho, d.wo, 2]],
      p: d,
    })),
    domains: ["real", "unit"],
    f: (d, x, g) =>
      T.gridSample(x, T.mul(g, 1.4), {
        mode: "bicubic",
        paddingMode: d.paddingMode,
        alignCorners: d.alignCorners,
      }),
  },
  {
    name: "gridSample 3-D (trilinear)",
    arb: gridArb.map((d): Draw => ({
      shapes: [[d.n, d.c, d.ho, d.h, d.w], [d.n, d.wo, d.ho, 2, 3]],
      p: d,
    })),
    domains: ["real", "unit"],
    f: (d, x, g) =>
      T.gridSample(x, T.mul(g, 1.4), {
        paddingMode: d.paddingMode,
        alignCorners: d.alignCorners,
      }),
  },
  {
    name: "gridSample (nearest; the grid fixed)",
    arb: gridArb.map((d): Draw => ({ shapes: [[d.n, d.c, d.h, d.w]], p: d })),
    domains: ["real"],
    f: (d, x) =>
      T.gridSample(
        x,
        T.random.uniform(T.random.key(d.seed), [d.n, d.ho, d.wo, 2], {
          minval: -1.4,
          maxval: 1.4,
          dtype: x.dtype as "float64",
        }),
        {
          mode: "nearest",
          paddingMode: d.paddingMode,
          alignCorners: d.alignCorners,
        },
      ),
  },
  {
    name: "affineGrid",
    arb: fc.record({
      n: int(1, 2),
      h: int(1, 4),
      w: int(1, 4),
      alignCorners: fc.boolean(),
    }).map((d): Draw => ({ shapes: [[d.n, 2, 3]], p: d })),
    domains: ["real"],
    f: (d, theta) =>
      T.affineGrid(theta, [d.n, 1, d.h, d.w], { alignCorners: d.alignCorners }),
  },
];

const maxUnpool2dRow: Row = {
  name: "maxUnpool2d",
  // indices from pooling a seeded image (overlapping windows included)
  arb: fc.record({
    n: int(1, 2),
    c: int(1, 2),
    h: int(2, 5),
    w: int(2, 5),
    kernelSize: pairOf(1, 2),
    stride: pairOf(1, 2),
    seed: fc.nat(1000),
  }).filter((d) =>
    accepts(() =>
      T.maxPool2d(zeros([d.n, d.c, d.h, d.w]), {
        kernelSize: d.kernelSize,
        stride: d.stride,
      })
    )
  ).map((d): Draw => ({
    shapes: [
      T.maxPool2d(zeros([d.n, d.c, d.h, d.w]), {
        kernelSize: d.kernelSize,
        stride: d.stride,
      }).shape.slice(),
    ],
    p: d,
  })),
  domains: ["real"],
  f: (d, v) => {
    const image = T.random.uniform(T.random.key(d.seed), [d.n, d.c, d.h, d.w]);
    const o = { kernelSize: d.kernelSize, stride: d.stride };
    const { indices } = T.maxPool2dWithIndices(image, o);
    return T.maxUnpool2d(v, indices, { ...o, outputSize: [d.h, d.w] });
  },
};

/** The spatial sizes of an unbatched or batched input of `rank` spatial axes. */
const spatialOf = (shape: readonly number[], rank: number) =>
  shape.slice(-rank);
/** An unpooling's options of a pooling's (or a draw's). */
// deno-lint-ignore no-explicit-any
const unpoolGeometry = ({ kernelSize, stride, padding }: any) => ({
  kernelSize,
  stride,
  padding,
});

/**
 * maxUnpool1d and maxUnpool3d as maxUnpool2d's row: the values free, the
 * indices from pooling a seeded input (overlapping windows included), the
 * output that input's size.
 */
const maxUnpoolNdRows: Row[] = ([1, 3] as const).map((rank): Row => {
  const pool = rank === 1 ? T.maxPool1dWithIndices : T.maxPool3dWithIndices;
  const unpool = rank === 1 ? T.maxUnpool1d : T.maxUnpool3d;
  const size = rank === 1 ? int(1, 3) : tripleOf(1, 2);
  const pooled = (x: T.Tensor, d: unknown) => pool(x, unpoolGeometry(d));
  return {
    name: `maxUnpool${rank}d`,
    arb: fc.record({
      x: rank === 1 ? lengthInput : volumeInput(int(1, 2)),
      kernelSize: size,
      stride: size,
      padding: rank === 1 ? int(0, 1) : tripleOf(0, 1),
      seed: fc.nat(1000),
    }).filter((d) =>
      accepts(() => {
        const { values, indices } = pooled(zeros(d.x), d);
        unpool(values, indices, {
          ...unpoolGeometry(d),
          outputSize: spatialOf(d.x, rank),
        });
      })
    ).map((d): Draw => ({
      shapes: [pooled(zeros(d.x), d).values.shape.slice()],
      p: d,
    })),
    domains: ["real"],
    f: (d, v) => {
      const image = T.random.uniform(T.random.key(d.seed), d.x);
      return unpool(v, pooled(image, d).indices, {
        ...unpoolGeometry(d),
        outputSize: spatialOf(d.x, rank),
      });
    },
  };
});

/**
 * maxPool1dWithIndices and maxPool3dWithIndices (with every pooling
 * option), their values unpooled at their indices into the input's size:
 * both outputs in one differentiable function of x (each maximum kept in
 * place, zeros elsewhere). Draws with a window of only padding (index -1,
 * which unpooling refuses) are filtered out.
 */
const withIndicesRows: Row[] = ([1, 3] as const).map((rank): Row => {
  const pool = rank === 1 ? T.maxPool1dWithIndices : T.maxPool3dWithIndices;
  const unpool = rank === 1 ? T.maxUnpool1d : T.maxUnpool3d;
  const size = rank === 1 ? int(1, 3) : tripleOf(1, 2);
  // deno-lint-ignore no-explicit-any
  const f = (o: any, x: T.Tensor) => {
    const { values, indices } = pool(x, o);
    return unpool(values, indices, {
      ...unpoolGeometry(o),
      outputSize: spatialOf(x.shape, rank),
    });
  };
  return {
    name: `maxPool${rank}dWithIndices, then maxUnpool${rank}d`,
    arb: fc.record({
      x: rank === 1 ? lengthInput : volumeInput(int(1, 2)),
      kernelSize: size,
      stride: fc.oneof(fc.constant(null), size),
      padding: rank === 1 ? int(0, 1) : tripleOf(0, 1),
      dilation: rank === 1 ? int(1, 2) : tripleOf(1, 2),
      ceilMode: fc.boolean(),
    }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
      .filter(({ shapes, p }) => accepts(() => f(p, zeros(shapes[0])))),
    domains: ["real"],
    f,
  };
});

const linearRow: Row = {
  name: "linear",
  arb: fc.record({
    lead: fc.array(int(1, 3), { maxLength: 2 }),
    inF: int(1, 4),
    outF: int(1, 4),
    bias: fc.boolean(),
  }).map((d): Draw => ({
    shapes: [
      [...d.lead, d.inF],
      [d.outF, d.inF],
      ...(d.bias ? [[d.outF]] : []),
    ],
  })),
  domains: ["real", "real", "real"],
  f: (_p, x, w, b) => T.linear(x, w, b ?? null),
};

/** A shape of rank 1-3 and an axis of it (negative or positive, or the options-object form). */
const axisArb = fc.array(int(1, 4), { minLength: 1, maxLength: 3 }).chain((
  s,
) =>
  fc.tuple(int(-s.length, s.length - 1), fc.boolean()).map((
    [axis, asObject],
  ): Draw => ({ shapes: [s], p: asObject ? { axis } : axis }))
);

/** Logits [N, C] or [N, C, d], int labels (some set to ignoreIndex) and class-loss options. */
const classArb = fc.record({
  n: int(1, 3),
  c: int(1, 4),
  extra: fc.option(int(1, 3), { nil: undefined }),
  reduction: fc.constantFrom("mean" as const, "sum" as const, "none" as const),
  ignoreIndex: fc.constantFrom(undefined, -100, 0),
  weighted: fc.boolean(),
  labelSmoothing: fc.constantFrom(0, 0.1, 0.4),
  seed: fc.nat(),
}).chain((d) => {
  const lshape = d.extra === undefined ? [d.n] : [d.n, d.extra];
  const size = lshape.reduce((a, b) => a * b, 1);
  return fc.array(int(0, d.c - 1), { minLength: size, maxLength: size })
    .chain((labels) =>
      fc.array(fc.boolean(), { minLength: size, maxLength: size }).map(
        (ignore) => {
          const ii = d.ignoreIndex;
          const data = labels.map((l, i) =>
            ii !== undefined && ignore[i] ? ii : l
          );
          return { d, lshape, data };
        },
      )
    );
}).filter(({ d, data }) => {
  // a mean over no kept sample is 0/0 (NaN, as PyTorch): not a gradient test
  const ii = d.ignoreIndex ?? -100;
  return d.reduction !== "mean" || data.some((l) => l !== ii);
}).map(({ d, lshape, data }): Draw => {
  const xshape = d.extra === undefined ? [d.n, d.c] : [d.n, d.c, d.extra];
  return {
    shapes: d.weighted ? [xshape, [d.c]] : [xshape],
    p: {
      labels: { shape: lshape, data },
      options: {
        reduction: d.reduction,
        ...(d.ignoreIndex === undefined ? {} : { ignoreIndex: d.ignoreIndex }),
        labelSmoothing: d.labelSmoothing,
      },
    },
  };
});

const reductionArb = fc.constantFrom(
  "mean" as const,
  "sum" as const,
  "none" as const,
);
const anyShape = fc.array(int(1, 3), { maxLength: 3 });

/** The CNN rows. */
export const cnnRows: Row[] = [
  conv2dRow,
  convTranspose2dRow,
  maxPool2dRow,
  avgPool2dRow,
  adaptiveAvgPool2dRow,
  adaptiveMaxPool2dRow,
  lpPool2dRow,
  ...volumeRows,
  unfoldRow,
  foldRow,
  ...pixelShuffleRows,
  ...gridSampleRows,
  maxUnpool2dRow,
  ...maxUnpoolNdRows,
  ...withIndicesRows,
  linearRow,
  {
    name: "softmax",
    arb: axisArb,
    domains: ["real"],
    f: (axis, x) => T.softmax(x, axis),
  },
  {
    name: "logSoftmax",
    arb: axisArb,
    domains: ["real"],
    f: (axis, x) => T.logSoftmax(x, axis),
  },
  {
    name: "crossEntropy (int labels)",
    arb: classArb,
    domains: ["real", "positive"],
    f: (p, x, w) =>
      T.crossEntropy(x, labelsT(p.labels), { ...p.options, weight: w }),
  },
  {
    name: "crossEntropy (class probabilities)",
    arb: fc.record({
      n: int(1, 3),
      c: int(1, 4),
      extra: fc.option(int(1, 2), { nil: undefined }),
      reduction: reductionArb,
      labelSmoothing: fc.constantFrom(0, 0.2),
      weighted: fc.boolean(),
    }).map((d): Draw => {
      const s = d.extra === undefined ? [d.n, d.c] : [d.n, d.c, d.extra];
      return {
        shapes: d.weighted ? [s, s, [d.c]] : [s, s],
        p: { reduction: d.reduction, labelSmoothing: d.labelSmoothing },
      };
    }),
    domains: ["real", "real", "positive"],
    // targets: a softmax over classes of a free argument (differentiable too)
    f: (p, x, t, w) =>
      T.crossEntropy(x, T.softmax(t, 1), { ...p, weight: w ?? null }),
  },
  {
    name: "nllLoss",
    arb: classArb.map(({ shapes, p }): Draw => {
      const { labelSmoothing: _, ...options } =
        (p as { options: Record<string, unknown> }).options;
      return { shapes, p: { ...(p as object), options } };
    }),
    domains: ["real", "positive"],
    f: (p, x, w) =>
      T.nllLoss(T.logSoftmax(x, 1), labelsT(p.labels), {
        ...p.options,
        weight: w,
      }),
  },
  {
    name: "mseLoss",
    arb: fc.tuple(anyShape, reductionArb).map(([s, reduction]): Draw => ({
      shapes: [s, s],
      p: { reduction },
    })),
    domains: ["real", "real"],
    f: (p, x, t) => T.mseLoss(x, t, p),
  },
  {
    name: "l1Loss",
    arb: fc.tuple(anyShape, reductionArb).map(([s, reduction]): Draw => ({
      shapes: [s, s],
      p: { reduction },
    })),
    // x in [-0.9, 0.9]; target = s + sign(s) in ±[1.2, 3]: |x - target| >= 0.3
    // and the sign of x - target varies, with nonzero derivatives in x and s
    domains: ["unit", "nonzero"],
    f: (p, x, s) => T.l1Loss(x, T.add(s, T.div(s, T.abs(s))), p),
  },
  {
    name: "binaryCrossEntropyWithLogits",
    arb: fc.record({
      s: anyShape,
      reduction: reductionArb,
      weight: fc.boolean(),
      posWeight: fc.boolean(),
    }).map((d): Draw => ({
      shapes: [d.s, d.s, d.weight ? d.s : [], d.posWeight ? d.s : []],
      p: d,
    })),
    domains: ["real", "real", "positive", "positive"],
    f: (p, x, t, w, pw) =>
      T.binaryCrossEntropyWithLogits(x, T.sigmoid(t), {
        reduction: p.reduction,
        weight: p.weight ? w : null,
        posWeight: p.posWeight ? pw : null,
      }),
  },
  {
    name: "binaryCrossEntropy (probabilities: sigmoids of the draws)",
    arb: fc.record({
      s: anyShape,
      reduction: reductionArb,
      weight: fc.boolean(),
    }).map((d): Draw => ({
      shapes: [d.s, d.s, d.weight ? d.s : []],
      p: d,
    })),
    domains: ["real", "real", "positive"],
    f: (p, x, t, w) =>
      T.binaryCrossEntropy(T.sigmoid(x), T.sigmoid(t), {
        reduction: p.reduction,
        weight: p.weight ? w : null,
      }),
  },
  {
    name: "prelu (one slope, or one per channel)",
    arb: fc.tuple(fc.array(int(1, 3), { maxLength: 4 }), fc.boolean()).map((
      [s, perChannel],
    ): Draw => ({
      shapes: [s, [perChannel && s.length >= 2 ? s[1] : 1]],
    })),
    domains: ["nonzero", "real"],
    f: (_p, x, w) => T.prelu(x, w),
  },
  {
    name: "leakyRelu",
    arb: fc.tuple(anyShape, fc.constantFrom(undefined, 0, 0.01, 0.2, -0.5))
      .map(([s, negativeSlope]): Draw => ({
        shapes: [s],
        p: negativeSlope === undefined ? {} : { negativeSlope },
      })),
    domains: ["nonzero"],
    f: (p, x) => T.leakyRelu(x, p),
  },
  {
    name: "elu",
    arb: fc.tuple(anyShape, fc.constantFrom(undefined, 1, 0.5, 2))
      .map(([s, alpha]): Draw => ({
        shapes: [s],
        p: alpha === undefined ? {} : { alpha },
      })),
    domains: ["nonzero"],
    f: (p, x) => T.elu(x, p),
  },
  {
    name: "gelu",
    arb: fc.tuple(anyShape, fc.constantFrom(undefined, "none", "tanh"))
      .map(([s, approximate]): Draw => ({
        shapes: [s],
        p: approximate === undefined ? {} : { approximate },
      })),
    domains: ["real"],
    f: (p, x) => T.gelu(x, p),
  },
  {
    name: "silu",
    arb: anyShape.map((s): Draw => ({ shapes: [s] })),
    domains: ["real"],
    f: (_p, x) => T.silu(x),
  },
  {
    name: "softplus",
    arb: fc.tuple(
      anyShape,
      fc.constantFrom(undefined, 0.5, 1, 2),
      fc.constantFrom(undefined, 20, 1.5),
    ).map(([s, beta, threshold]): Draw => ({
      shapes: [s],
      p: {
        ...(beta === undefined ? {} : { beta }),
        ...(threshold === undefined ? {} : { threshold }),
      },
    })),
    domains: ["real"],
    f: (p, x) => T.softplus(x, p),
  },
  {
    name: "hardtanh",
    arb: fc.tuple(anyShape, fc.constantFrom(undefined, [-1, 1], [-0.5, 1.5]))
      .map(([s, b]): Draw => ({
        shapes: [s],
        p: b === undefined ? {} : { minVal: b[0], maxVal: b[1] },
      })),
    domains: ["real"],
    f: (p, x) => T.hardtanh(x, p),
  },
  // x spread over [-7.5, 7.5], so that the kinks (0 and 6, ±3) are crossed
  ...(
    [
      ["relu6", T.relu6],
      ["hardsigmoid", T.hardsigmoid],
      ["hardswish", T.hardswish],
    ] as const
  ).map(([name, op]) => ({
    name,
    arb: anyShape.map((s): Draw => ({ shapes: [s] })),
    domains: ["real" as const],
    f: (_p: unknown, x: T.Tensor) => op(T.mul(x, 3.75)),
  })),
  ...(
    [
      ["logSigmoid", T.logSigmoid],
      ["softsign", T.softsign],
      ["mish", T.mish],
    ] as const
  ).map(([name, op]) => ({
    name,
    arb: anyShape.map((s): Draw => ({ shapes: [s] })),
    domains: ["nonzero" as const],
    f: (_p: unknown, x: T.Tensor) => op(T.mul(x, 10)),
  })),
  // kinks at 0 (selu, celu, threshold 0) and at ±0.05 (the shrinks): the
  // "nonzero" domain stays at least 0.1 away from 0
  ...(
    [
      ["selu", (x: T.Tensor) => T.selu(T.mul(x, 3))],
      ["celu (alpha 2)", (x: T.Tensor) => T.celu(T.mul(x, 3), { alpha: 2 })],
      ["tanhshrink", (x: T.Tensor) => T.tanhshrink(T.mul(x, 3))],
      ["softshrink", (x: T.Tensor) => T.softshrink(x, { lambd: 0.05 })],
      ["hardshrink", (x: T.Tensor) => T.hardshrink(x, { lambd: 0.05 })],
      ["threshold", (x: T.Tensor) => T.threshold(x, 0, -0.5)],
    ] as const
  ).map(([name, op]) => ({
    name,
    arb: anyShape.map((s): Draw => ({ shapes: [s] })),
    domains: ["nonzero" as const],
    f: (_p: unknown, x: T.Tensor) => op(x),
  })),
  {
    name: "glu",
    arb: fc.tuple(anyShape, int(1, 2)).chain(([s, h]) =>
      fc.nat(s.length).map((a): Draw => {
        const shape = [...s.slice(0, a), 2 * h, ...s.slice(a)];
        return { shapes: [shape], p: a };
      })
    ),
    domains: ["real"],
    f: (a, x) => T.glu(x, a as number),
  },
  {
    name: "softmin",
    arb: axisArb,
    domains: ["real"],
    f: (axis, x) => T.softmin(x, axis),
  },
  {
    name: "dropout (training, fixed key)",
    arb: fc.tuple(anyShape, fc.constantFrom(0, 0.2, 0.5, 0.9, 1), fc.nat(100))
      .map(([s, p, seed]): Draw => ({ shapes: [s], p: { p, seed } })),
    domains: ["real"],
    // a fixed mask: a linear function of x
    f: (p, x) =>
      T.dropout(x, { p: p.p, key: T.random.key(p.seed), training: true }),
  },
  {
    name: "rrelu (training, fixed key)",
    arb: fc.tuple(anyShape, fc.nat(100))
      .map(([s, seed]): Draw => ({ shapes: [s], p: { seed } })),
    // away from 0, where the slope changes
    domains: ["nonzero"],
    f: (p, x) =>
      T.rrelu(x, {
        lower: 0.1,
        upper: 0.4,
        key: T.random.key(p.seed),
        training: true,
      }),
  },
  {
    // (soft samples only: a hard one's straight-through gradient is by
    // design not its derivative)
    name: "gumbelSoftmax (fixed key)",
    arb: fc.tuple(axisArb, fc.nat(100), fc.constantFrom(0.5, 1, 2))
      .map(([d, seed, tau]): Draw => ({
        shapes: d.shapes,
        p: {
          axis: typeof d.p === "number" ? d.p : (d.p as { axis: number }).axis,
          seed,
          tau,
        },
      })),
    domains: ["real"],
    f: (p, x) =>
      T.gumbelSoftmax(x, {
        axis: p.axis,
        tau: p.tau,
        key: T.random.key(p.seed),
      }),
  },
  {
    name: "batchNorm",
    arb: fc.record({
      n: int(1, 3),
      c: int(1, 3),
      spatial: fc.option(fc.tuple(int(1, 3), int(1, 3)), { nil: undefined }),
      training: fc.boolean(),
      affine: fc.boolean(),
      momentum: fc.constantFrom(0.1, 0.5),
      eps: fc.constantFrom(1e-5, 0.1),
    }).map((d): Draw => {
      const x = d.spatial ? [d.n, d.c, ...d.spatial] : [d.n, d.c];
      return {
        // x, weight, bias, runningMean, runningVar
        shapes: [x, [d.c], [d.c], [d.c], [d.c]],
        p: d,
      };
    }).filter(({ shapes, p }) =>
      accepts(() =>
        T.batchNorm(zeros(shapes[0]), {
          training: (p as { training: boolean }).training,
          runningMean: zeros(shapes[3]),
          runningVar: zeros(shapes[4]),
        })
      )
    ),
    domains: ["real", "real", "real", "real", "positive"],
    // y only: the new running statistics are buffers (no gradient flows into them from x)
    f: (p, x, w, b, rm, rv) =>
      T.batchNorm(x, {
        training: p.training,
        momentum: p.momentum,
        eps: p.eps,
        weight: p.affine ? w : null,
        bias: p.affine ? b : null,
        runningMean: rm,
        runningVar: rv,
      }).y,
  },
];
