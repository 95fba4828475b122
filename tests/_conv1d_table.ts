/**
 * Rows of conv1d, the 1-D pools and interpolate for the gradient-check table
 * (grad_table_test.ts, and vmap, jit and the architecture test through
 * tests/_rows.ts): small shapes and static options drawn with fast-check;
 * a combination the op rejects is filtered out of the arbitrary and drawn
 * again (as in _cnn_table.ts). Lengths stay <= 6, channels <= 4.
 */
import fc from "fast-check";
import * as T from "../mod.ts";
import { accepts, int } from "./_helpers.ts";
import type { Row } from "./_op_table.ts";

type Draw = { shapes: number[][]; p?: unknown };

const zeros = (s: number[]) => T.zeros(s, { dtype: "float64" });

/** [N, C, L] or unbatched [C, L]. */
const lengthInput = (c: fc.Arbitrary<number>) =>
  fc.record({
    n: int(1, 2),
    unbatched: fc.boolean(),
    c,
    l: int(1, 6),
  }).map((d) => (d.unbatched ? [d.c, d.l] : [d.n, d.c, d.l]));

const conv1dRow: Row = {
  name: "conv1d",
  arb: fc.record({
    x: lengthInput(int(1, 4)),
    groups: int(1, 2),
    o: int(1, 4),
    k: int(1, 3),
    stride: int(1, 3),
    padding: fc.oneof(
      int(0, 2),
      fc.constantFrom("same" as const, "valid" as const),
    ),
    dilation: int(1, 2),
    bias: fc.boolean(),
  }).map((d): Draw => {
    const c = d.x[d.x.length - 2];
    return {
      shapes: [
        d.x,
        [d.o, Math.max(1, Math.floor(c / d.groups)), d.k],
        ...(d.bias ? [[d.o]] : []),
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
      T.conv1d(
        zeros(shapes[0]),
        zeros(shapes[1]),
        shapes[2] ? zeros(shapes[2]) : null,
        p as T.Conv1dOptions,
      )
    )
  ),
  domains: ["real", "real", "real"],
  f: (p, x, w, b) => T.conv1d(x, w, b ?? null, p),
};

const convTranspose1dRow: Row = {
  name: "convTranspose1d",
  arb: fc.record({
    x: lengthInput(int(1, 4)),
    groups: int(1, 2),
    oPerGroup: int(1, 2),
    k: int(1, 3),
    stride: int(1, 3),
    padding: int(0, 2),
    outputPadding: int(0, 2),
    dilation: int(1, 2),
    bias: fc.boolean(),
  }).map((d): Draw => {
    const c = d.x[d.x.length - 2];
    return {
      shapes: [
        d.x,
        [c, d.oPerGroup, d.k],
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
      T.convTranspose1d(
        zeros(shapes[0]),
        zeros(shapes[1]),
        shapes[2] ? zeros(shapes[2]) : null,
        p as T.ConvTranspose1dOptions,
      )
    )
  ),
  domains: ["real", "real", "real"],
  f: (p, x, w, b) => T.convTranspose1d(x, w, b ?? null, p),
};

const maxPool1dRow: Row = {
  name: "maxPool1d",
  arb: fc.record({
    x: lengthInput(int(1, 3)),
    kernelSize: int(1, 3),
    stride: fc.oneof(fc.constant(null), int(1, 3)),
    padding: int(0, 1),
    dilation: int(1, 2),
    ceilMode: fc.boolean(),
  }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
    .filter(({ shapes, p }) =>
      accepts(() => T.maxPool1d(zeros(shapes[0]), p as T.MaxPool1dOptions))
    ),
  domains: ["real"],
  f: (p, x) => T.maxPool1d(x, p),
  // a window of only padding gives -inf, as maxPool2d's
  mayBeInfinite: true,
};

const avgPool1dRow: Row = {
  name: "avgPool1d",
  arb: fc.record({
    x: lengthInput(int(1, 3)),
    kernelSize: int(1, 3),
    stride: fc.oneof(fc.constant(null), int(1, 3)),
    padding: int(0, 1),
    ceilMode: fc.boolean(),
    countIncludePad: fc.boolean(),
  }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
    .filter(({ shapes, p }) =>
      accepts(() => T.avgPool1d(zeros(shapes[0]), p as T.AvgPool1dOptions))
    ),
  domains: ["real"],
  f: (p, x) => T.avgPool1d(x, p),
};

/** adaptiveAvgPool1d's or adaptiveMaxPool1d's row. */
const adaptivePool1dRow = (kind: "Avg" | "Max"): Row => ({
  name: `adaptive${kind}Pool1d`,
  arb: fc.record({ x: lengthInput(int(1, 3)), out: int(1, 5) })
    .map(({ x, out }): Draw => ({ shapes: [x], p: out })),
  domains: ["real"],
  f: (out, x) =>
    kind === "Avg"
      ? T.adaptiveAvgPool1d(x, out as number)
      : T.adaptiveMaxPool1d(x, out as number),
});

const lpPool1dRow: Row = {
  name: "lpPool1d",
  arb: fc.record({
    x: lengthInput(int(1, 3)),
    normType: fc.constantFrom(1, 1.5, 2, 3),
    kernelSize: int(1, 3),
    stride: fc.oneof(fc.constant(null), int(1, 3)),
    ceilMode: fc.boolean(),
  }).map(({ x, ...opts }): Draw => ({ shapes: [x], p: opts }))
    .filter(({ shapes, p }) =>
      accepts(() => T.lpPool1d(zeros(shapes[0]), p as T.LpPool1dOptions))
    ),
  // positive: x^p for any p, and every window's sum away from 0
  domains: ["positive"],
  f: (p, x) => T.lpPool1d(x, p),
};

/**
 * interpolate's rows: x [N, C, ...spatial] and a size or scale factor per
 * axis (with `antialias`, inputs up to 7 wide, so that the windows of a
 * downscale are wider than the plain mode's taps).
 */
const interpolateRow = (
  mode: T.InterpolateMode,
  spatial: number,
  antialias = false,
): Row => ({
  name: `interpolate (${mode}, ${["", "NCL", "NCHW", "NCDHW"][spatial]}${
    antialias ? ", antialias" : ""
  })`,
  arb: fc.record({
    n: int(1, 2),
    c: int(1, 2),
    sizes: fc.array(int(1, antialias ? 7 : 4), {
      minLength: spatial,
      maxLength: spatial,
    }),
    out: fc.oneof(
      fc.array(int(1, 6), { minLength: spatial, maxLength: spatial })
        .map((size) => ({ size })),
      fc.array(fc.constantFrom(0.5, 1, 1.5, 2, 2.5, 3), {
        minLength: spatial,
        maxLength: spatial,
      }).map((scaleFactor) => ({ scaleFactor })),
    ),
    alignCorners: fc.boolean(),
  }).map((d): Draw => ({
    shapes: [[d.n, d.c, ...d.sizes]],
    p: {
      ...d.out,
      mode,
      ...(["linear", "bilinear", "bicubic", "trilinear"].includes(mode)
        ? { alignCorners: d.alignCorners }
        : {}),
      ...(antialias ? { antialias } : {}),
    },
  })).filter(({ shapes, p }) =>
    accepts(() => T.interpolate(zeros(shapes[0]), p as T.InterpolateOptions))
  ),
  domains: ["real"],
  f: (p, x) => T.interpolate(x, p),
});

/** The rows of the 1-D convolution and pooling ops and of interpolate. */
export const conv1dRows: Row[] = [
  conv1dRow,
  convTranspose1dRow,
  maxPool1dRow,
  avgPool1dRow,
  adaptivePool1dRow("Avg"),
  adaptivePool1dRow("Max"),
  lpPool1dRow,
  interpolateRow("nearest", 1),
  interpolateRow("nearest", 2),
  interpolateRow("linear", 1),
  interpolateRow("bilinear", 2),
  interpolateRow("nearest", 3),
  interpolateRow("trilinear", 3),
  interpolateRow("bicubic", 2),
  interpolateRow("bilinear", 2, true),
  interpolateRow("bicubic", 2, true),
  interpolateRow("nearest-exact", 1),
  interpolateRow("nearest-exact", 2),
  interpolateRow("nearest-exact", 3),
  interpolateRow("area", 2),
];
