/**
 * The primitive table: every primitive's forward kernel call and its VJP
 * rule, side by side. Everything else in the library is a composition of
 * these. VJP rules use only public ops, so they can be differentiated again.
 *
 * The table is typed `{ [P in keyof Params]: Rule<Params[P]> }`: adding a
 * primitive to `Params` without a rule does not compile.
 *
 * @module
 */
import {
  allocData,
  type DType,
  fromData,
  sameShape,
  sizeOf,
  type Tensor,
  type TypedArray,
} from "./tensor.ts";
import { bindRule, type Rule } from "./trace.ts";
import * as ew from "./kernels/elementwise.ts";
import * as shp from "./kernels/shape.ts";
import * as red from "./kernels/reduce.ts";
import { matmul as matmulKernel } from "./kernels/matmul.ts";
import { type CnnParams, cnnRules } from "./cnn_rules.ts";
import {
  add,
  astype,
  broadcastTo,
  div,
  equal,
  exp,
  greater,
  less,
  log,
  matmul,
  mul,
  neg,
  notEqual,
  pad,
  reshape,
  slice,
  square,
  sub,
  sum,
  transpose,
  where,
} from "./ops.ts";

type Empty = Record<never, never>;
/** Comparison kinds of the `compare` primitive. */
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

/** The static parameters of each core primitive. */
export interface CoreParams {
  neg: Empty;
  exp: Empty;
  log: Empty;
  log1p: Empty;
  erf: Empty;
  sqrt: Empty;
  abs: Empty;
  tanh: Empty;
  sigmoid: Empty;
  relu: Empty;
  reluMask: Empty;
  add: Empty;
  sub: Empty;
  mul: Empty;
  div: Empty;
  pow: Empty;
  maximum: Empty;
  compare: { op: CompareOp };
  where: Empty;
  cast: { dtype: DType };
  sum: { axes: number[]; keepDims: boolean };
  max: { axes: number[]; keepDims: boolean };
  argmax: { axis: number; keepDims: boolean };
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  broadcastTo: { shape: number[] };
  slice: { starts: number[]; ends: number[] };
  pad: { widths: [number, number][]; value: number };
  concat: { axis: number };
  matmul: Empty;
}

/** The static parameters of every primitive. */
export type Params = CoreParams & CnnParams;

/** The names of all primitives. */
export type PrimitiveName = keyof Params;

// ---------------------------------------------------------------------------
// helpers shared by the rules

/** The float dtype an op on `d` computes in (int32 promotes to float32). */
function floatOf(d: DType): DType {
  return d === "int32" ? "float32" : d;
}

/** Result dtype of a binary op (float64 > float32 > int32). @internal */
export function promote(a: DType, b: DType): DType {
  if (a === "float64" || b === "float64") return "float64";
  if (a === "float32" || b === "float32") return "float32";
  return "int32";
}

/** Sums `g` down to `shape`, undoing NumPy broadcasting (the one shared unbroadcast). */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const s = axes.length ? sum(g, { axis: axes, keepDims: true }) : g;
  return reshape(s, shape as number[]);
}

/** Swaps the last two axes. */
function mT(x: Tensor): Tensor {
  const n = x.shape.length;
  const perm = [...Array(n).keys()];
  [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
  return transpose(x, perm);
}

/** The shape kept after reducing `axes` (ones in their place with keepDims). */
export function reducedShape(
  shape: readonly number[],
  axes: readonly number[],
  keepDims: boolean,
): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

/** Moves `axes` last (a transpose kernel) and returns the [rows, n] view. */
function axesLast(
  x: Tensor,
  axes: readonly number[],
): { data: TypedArray; n: number } {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const n = axes.reduce((p, a) => p * x.shape[a], 1);
  if (perm.every((p, i) => p === i)) return { data: x.data, n };
  const out = allocData(x.dtype, x.data.length);
  return { data: shp.transpose(x.data, x.shape, perm, out), n };
}

function unaryForward(
  f: (v: number) => number,
  keepInt = false,
): (inputs: Tensor[]) => Tensor {
  return ([x]) => {
    const dtype = keepInt ? x.dtype : floatOf(x.dtype);
    return fromData(
      ew.unary(x.data, allocData(dtype, x.data.length), f),
      x.shape,
    );
  };
}

function binaryForward(
  f: (a: number, b: number) => number,
  dtypeRule: (a: DType, b: DType) => DType = promote,
  op?: ew.ArithOp,
): (inputs: Tensor[]) => Tensor {
  return ([a, b]) => {
    const shape = ew.broadcastShapes(a.shape, b.shape)!;
    // same-shape float32 arithmetic: the WebAssembly kernel
    const fast = op && ew.arithF32(op, a.data, b.data, sizeOf(shape));
    if (fast) return fromData(fast, shape);
    const out = allocData(dtypeRule(a.dtype, b.dtype), sizeOf(shape));
    return fromData(
      ew.binary(a.data, a.shape, b.data, b.shape, out, shape, f),
      shape,
    );
  };
}

/**
 * An elementwise unary primitive. Its Jacobian is diagonal, hence symmetric,
 * so its JVP is its VJP closure applied to the tangent.
 */
function unaryRule(
  name: string,
  f: (v: number) => number,
  vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor,
  keepInt = false,
): Rule<Empty> {
  return {
    name,
    forward: unaryForward(f, keepInt),
    vjp: ([x], y) => [(g) => vjp(g, x, y)],
    jvp: ([x], [t], y) => vjp(t!, x, y),
  };
}

/** JVP of a primitive that is linear in its single input: apply it to the tangent. */
function linearJvp<P extends keyof CoreParams>(name: P) {
  return (_: Tensor[], [t]: (Tensor | null)[], __: Tensor, params: Params[P]) =>
    bind(name, [t!], params);
}

const compareFns: Record<CompareOp, (a: number, b: number) => number> = {
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
};

// ---------------------------------------------------------------------------
// the table

const coreRules: { [P in keyof CoreParams]: Rule<CoreParams[P]> } = {
  neg: unaryRule("neg", (v) => -v, (g) => neg(g), true),
  exp: unaryRule("exp", Math.exp, (g, _x, y) => mul(g, y)), // d e^x = e^x
  log: unaryRule("log", Math.log, (g, x) => div(g, x)), // d log x = 1/x
  log1p: unaryRule("log1p", Math.log1p, (g, x) => div(g, add(x, 1))), // d log(1+x) = 1/(1+x)
  erf: unaryRule( // d erf x = 2/√π e^(-x²)
    "erf",
    erf,
    (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))),
  ),
  sqrt: unaryRule("sqrt", Math.sqrt, (g, _x, y) => div(g, mul(y, 2))), // 1/(2√x)
  abs: unaryRule( // d|x| = sign(x), 0 at 0 as PyTorch
    "abs",
    Math.abs,
    (g, x) => mul(g, sub(greater(x, 0), less(x, 0))),
    true,
  ),
  tanh: unaryRule("tanh", Math.tanh, (g, _x, y) => mul(g, sub(1, square(y)))), // 1 - tanh²
  sigmoid: unaryRule( // σ(1 - σ)
    "sigmoid",
    (v) => v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)),
    (g, _x, y) => mul(g, mul(y, sub(1, y))),
  ),
  relu: {
    name: "relu",
    forward: ([x]) => fromData(ew.relu(x.data), x.shape),
    // d relu = 1 where x > 0, 0 elsewhere (0 at 0, as PyTorch)
    vjp: ([x]) => [(g) => reluMask(g, x)],
    jvp: ([x], [t]) => reluMask(t!, x),
  },
  // g where x > 0, else 0: relu's VJP as one pass. Linear in g, so its VJP
  // and JVP in g are itself; flat in x (a mask), so none in x.
  reluMask: {
    name: "reluMask",
    forward: ([g, x]) => fromData(ew.reluMask(g.data, x.data), g.shape),
    vjp: ([, x]) => [(ct) => reluMask(ct, x), null],
    jvp: ([g, x], [t]) => t ? reluMask(t, x) : zerosFor(g),
  },

  add: {
    name: "add",
    forward: binaryForward((a, b) => a + b, promote, "add"),
    vjp: (
      [a, b],
    ) => [(g) => unbroadcast(g, a.shape), (g) => unbroadcast(g, b.shape)],
    jvp: (_, [ta, tb], y) =>
      ta && tb ? add(ta, tb) : broadcastTo((ta ?? tb)!, y.shape as number[]),
  },
  sub: {
    name: "sub",
    forward: binaryForward((a, b) => a - b, promote, "sub"),
    vjp: ([a, b]) => [
      (g) => unbroadcast(g, a.shape),
      (g) => unbroadcast(neg(g), b.shape),
    ],
    jvp: (_, [ta, tb], y) =>
      ta && tb ? sub(ta, tb) : broadcastTo(ta ?? neg(tb!), y.shape as number[]),
  },
  mul: {
    name: "mul",
    forward: binaryForward((a, b) => a * b, promote, "mul"),
    vjp: ([a, b]) => [
      (g) => unbroadcast(mul(g, b), a.shape),
      (g) => unbroadcast(mul(g, a), b.shape),
    ],
  },
  div: {
    name: "div",
    forward: binaryForward(
      (a, b) => a / b,
      (a, b) => floatOf(promote(a, b)),
      "div",
    ),
    vjp: ([a, b], y) => [
      (g) => unbroadcast(div(g, b), a.shape), // d(a/b)/da = 1/b
      (g) => unbroadcast(neg(mul(g, div(y, b))), b.shape), // d(a/b)/db = -a/b²
    ],
  },
  pow: {
    name: "pow",
    forward: binaryForward(powC),
    vjp: ([a, b], y) => [
      // d a^b / da = b a^(b-1)
      (g) => unbroadcast(mul(g, mul(b, powOp(a, sub(b, 1)))), a.shape),
      // d a^b / db = a^b log a (taken as 0 where a = 0)
      (g) =>
        unbroadcast(mul(g, mul(y, log(where(equal(a, 0), 1, a)))), b.shape),
    ],
  },
  maximum: {
    name: "maximum",
    forward: binaryForward((a, b) => (a > b || a !== a ? a : b)),
    // the larger input gets g; a tie splits it evenly (as JAX and PyTorch)
    vjp: ([a, b]) => {
      const share = (x: Tensor, y: Tensor, g: Tensor) =>
        add(
          astype(greater(x, y), g.dtype),
          mul(astype(equal(x, y), g.dtype), 0.5),
        );
      return [
        (g) => unbroadcast(mul(g, share(a, b, g)), a.shape),
        (g) => unbroadcast(mul(g, share(b, a, g)), b.shape),
      ];
    },
  },
  compare: {
    name: "compare",
    forward: (inputs, { op }) =>
      binaryForward(compareFns[op], () => "int32")(inputs),
    vjp: () => [null, null],
  },
  where: {
    name: "where",
    forward: ([c, a, b]) => {
      const ab = ew.broadcastShapes(a.shape, b.shape)!;
      const shape = ew.broadcastShapes(c.shape, ab)!;
      const out = allocData(promote(a.dtype, b.dtype), sizeOf(shape));
      ew.select(c.data, c.shape, a.data, a.shape, b.data, b.shape, out, shape);
      return fromData(out, shape);
    },
    vjp: ([c, a, b]) => [
      null,
      (g) => unbroadcast(where(c, g, 0), a.shape),
      (g) => unbroadcast(where(c, 0, g), b.shape),
    ],
    jvp: ([c], [, ta, tb], y) =>
      broadcastTo(where(c, ta ?? 0, tb ?? 0), y.shape as number[]),
  },
  cast: {
    name: "cast",
    forward: ([x], { dtype }) => {
      const out = allocData(dtype, x.data.length);
      if (dtype === "int32") {
        // truncation toward zero; NaN, ±Infinity and out-of-range values give
        // INT_MIN, as x86's cvttsd2si (and so PyTorch) does
        const d = x.data;
        for (let i = 0; i < out.length; i++) {
          const v = d[i];
          out[i] = v > -2147483649 && v < 2147483648 ? v : -2147483648;
        }
      } else out.set(x.data);
      return fromData(out, x.shape);
    },
    vjp: ([x]) => [(g) => astype(g, x.dtype)],
    jvp: linearJvp("cast"),
  },

  sum: {
    name: "sum",
    forward: ([x], { axes, keepDims }) => {
      const shape = reducedShape(x.shape, axes, keepDims);
      const out = allocData(x.dtype, sizeOf(shape));
      return fromData(red.sumAxes(x.data, x.shape, axes, out), shape);
    },
    vjp: ([x], _, { axes }) => [
      (g) =>
        broadcastTo(
          reshape(g, reducedShape(x.shape, axes, true)),
          x.shape as number[],
        ),
    ],
    jvp: linearJvp("sum"),
  },
  max: {
    name: "max",
    forward: ([x], { axes, keepDims }) => {
      const { data, n } = axesLast(x, axes);
      const shape = reducedShape(x.shape, axes, keepDims);
      return fromData(
        red.maxRows(data, n, allocData(x.dtype, sizeOf(shape))),
        shape,
      );
    },
    // g goes to the maxima, shared evenly among ties (as JAX); a NaN is the
    // maximum and takes g (as torch.max)
    vjp: ([x], y, { axes }) => [
      (g) => {
        const kept = reducedShape(x.shape, axes, true);
        const m = reshape(y, kept);
        const isMax = add(equal(x, m), mul(notEqual(x, x), notEqual(m, m)));
        const mask = astype(isMax, g.dtype);
        const count = sum(mask, { axis: axes, keepDims: true });
        return mul(div(mask, count), reshape(g, kept));
      },
    ],
  },
  argmax: {
    name: "argmax",
    forward: ([x], { axis, keepDims }) => {
      const { data, n } = axesLast(x, [axis]);
      const shape = reducedShape(x.shape, [axis], keepDims);
      return fromData(
        red.argmaxRows(data, n, new Int32Array(sizeOf(shape))),
        shape,
      );
    },
    vjp: () => [null],
  },

  reshape: {
    name: "reshape",
    forward: ([x], { shape }) => fromData(x.data, shape),
    vjp: ([x]) => [(g) => reshape(g, x.shape as number[])],
    jvp: linearJvp("reshape"),
  },
  transpose: {
    name: "transpose",
    forward: ([x], { perm }) =>
      fromData(
        shp.transpose(x.data, x.shape, perm, allocData(x.dtype, x.data.length)),
        perm.map((p) => x.shape[p]),
      ),
    vjp: (_, __, { perm }) => {
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [(g) => transpose(g, inv)];
    },
    jvp: linearJvp("transpose"),
  },
  broadcastTo: {
    name: "broadcastTo",
    forward: ([x], { shape }) =>
      fromData(
        ew.broadcastTo(
          x.data,
          x.shape,
          allocData(x.dtype, sizeOf(shape)),
          shape,
        ),
        shape,
      ),
    vjp: ([x]) => [(g) => unbroadcast(g, x.shape)],
    jvp: linearJvp("broadcastTo"),
  },
  slice: {
    name: "slice",
    forward: ([x], { starts, ends }) => {
      const shape = ends.map((e, i) => e - starts[i]);
      const out = allocData(x.dtype, sizeOf(shape));
      return fromData(shp.copyBox(x.data, x.shape, starts, shape, out), shape);
    },
    vjp: ([x], _, { starts, ends }) => [
      (g) => pad(g, starts.map((s, i) => [s, x.shape[i] - ends[i]])),
    ],
    jvp: linearJvp("slice"),
  },
  pad: {
    name: "pad",
    forward: ([x], { widths, value }) => {
      const shape = x.shape.map((d, i) => d + widths[i][0] + widths[i][1]);
      const out = allocData(x.dtype, sizeOf(shape));
      if (value !== 0) out.fill(value);
      const starts = widths.map((w) => w[0]);
      return fromData(
        shp.copyBox(x.data, shape, starts, x.shape, out, true),
        shape,
      );
    },
    vjp: ([x], _, { widths }) => [
      (g) =>
        slice(
          g,
          widths.map((w) => w[0]),
          widths.map((w, i) => w[0] + x.shape[i]),
        ),
    ],
    jvp: (_, [t], __, { widths }) => pad(t!, widths), // pads the tangent with 0
  },
  concat: {
    name: "concat",
    forward: (xs, { axis }) => {
      const shape = xs[0].shape.slice();
      shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
      let dtype: DType = xs[0].dtype;
      for (const x of xs) dtype = promote(dtype, x.dtype);
      const out = allocData(dtype, sizeOf(shape));
      shp.concat(xs.map((x) => x.data), xs.map((x) => x.shape), axis, out);
      return fromData(out, shape);
    },
    vjp: (xs, _, { axis }) => {
      let offset = 0;
      return xs.map((x) => {
        const starts = x.shape.map((_, i) => (i === axis ? offset : 0));
        offset += x.shape[axis];
        const ends = x.shape.map((d, i) => (i === axis ? starts[i] + d : d));
        return (g: Tensor) => slice(g, starts, ends);
      });
    },
    jvp: (xs, ts, _, params) =>
      bind("concat", ts.map((t, i) => t ?? zerosFor(xs[i])), params),
  },

  matmul: {
    name: "matmul",
    forward: ([a, b]) => {
      const m = a.shape[a.shape.length - 2], k = a.shape[a.shape.length - 1];
      const n = b.shape[b.shape.length - 1];
      const batchShape = ew.broadcastShapes(
        a.shape.slice(0, -2),
        b.shape.slice(0, -2),
      )!;
      const batch = sizeOf(batchShape);
      const dtype = promote(a.dtype, b.dtype);
      // broadcast batch dims by materialising (cheap next to the product)
      const full = (x: Tensor, r: number, c: number) =>
        sizeOf(x.shape.slice(0, -2)) === batch
          ? { data: x.data, step: r * c }
          : sizeOf(x.shape.slice(0, -2)) === 1
          ? { data: x.data, step: 0 }
          : {
            data: ew.broadcastTo(
              x.data,
              x.shape,
              allocData(x.dtype, batch * r * c),
              [...batchShape, r, c],
            ),
            step: r * c,
          };
      const A = full(a, m, k), B = full(b, k, n);
      // a new array from the kernel when it has the right type (no zero-fill)
      const out = A.data instanceof Int32Array || B.data instanceof Int32Array
        ? allocData(dtype, batch * m * n)
        : null;
      return fromData(
        matmulKernel(A.data, B.data, out, batch, m, k, n, A.step, B.step),
        [...batchShape, m, n],
      );
    },
    vjp: ([a, b]) => [
      (g) => unbroadcast(matmul(g, mT(b)), a.shape), // dA = G Bᵀ
      (g) => unbroadcast(matmul(mT(a), g), b.shape), // dB = Aᵀ G
    ],
  },
};

/**
 * The error function to double precision: for |x| < 3 the series
 * erf x = 2/√π e^(-x²) Σ 2ⁿ x^(2n+1) / (1·3···(2n+1)) (all terms positive, no
 * cancellation); beyond, erfc's continued fraction.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax !== ax) return x;
  if (ax < 3) {
    let term = ax, total = ax;
    for (let n = 1; n < 200 && term > 1e-17 * total; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      total += term;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * total;
  }
  if (ax > 6) return Math.sign(x);
  let t = ax;
  for (let n = 80; n >= 1; n--) t = ax + n / 2 / t;
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / t);
}

/**
 * `a ** b` as C's `pow` (and so PyTorch): 1 for `1 ** NaN` and
 * `(-1) ** ±Infinity`, where `Math.pow` gives NaN.
 */
function powC(a: number, b: number): number {
  return a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b);
}

/** `x > 0 ? g : 0` (g and x of one shape). */
function reluMask(g: Tensor, x: Tensor): Tensor {
  return bind("reluMask", [g, x], {});
}

function powOp(a: Tensor, b: Tensor): Tensor {
  return bind("pow", [a, b], {});
}

function zerosFor(x: Tensor): Tensor {
  return fromData(allocData(x.dtype, x.data.length), x.shape);
}

/** Every primitive's rule. */
export const rules: { [P in PrimitiveName]: Rule<Params[P]> } = {
  ...coreRules,
  ...cnnRules,
};

/** Applies primitive `name` to `inputs` (tracing it if any input is traced). */
export function bind<P extends PrimitiveName>(
  name: P,
  inputs: Tensor[],
  params: Params[P],
): Tensor {
  return bindRule(rules[name] as Rule<Params[P]>, inputs, params);
}
