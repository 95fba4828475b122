/**
 * Special functions and more elementwise math, as PyTorch 1.13:
 * `lgamma`, `digamma`, `polygamma` and `erfinv` are primitives with scalar
 * kernels (fdlibm's lgamma, the algorithm of glibc's; PyTorch's own
 * digamma, trigamma, Hurwitz zeta and erfinv from
 * `aten/src/ATen/native/Math.h`, after Cephes and Pavlis); float32 runs
 * PyTorch's float kernels step by step in float32 (`Math.fround` after
 * each operation, one rounding where its AVX2 build fuses a multiply-add),
 * so the bits follow PyTorch's. `lerp` (PyTorch's two fused forms),
 * `logit` and `sinc` (their derivatives as PyTorch writes them: infinite
 * at logit's ends, 0 at sinc's 0) and `copysign` (it reads the sign bit of
 * -0 and NaN) are primitives too; `heaviside`, `fmin`, `fmax`, `frac` and
 * `cdist` are compositions of public ops with PyTorch's formulas (and its
 * gradients: `cdist`'s is 0 at zero distance, not NaN).
 *
 * @module
 */
import {
  allocData,
  checkOptions,
  checkTensor,
  describe,
  type DType,
  fromData,
  isTensor,
  onesLike,
  promote,
  sizeOf,
  type Tensor,
} from "./tensor.ts";
import { bind, definePrimitive, type Empty, type Primitive } from "./trace.ts";
import { userOp } from "./debug.ts";
import { fmt } from "./_args.ts";
import {
  abs,
  add,
  astype,
  binaryForward,
  broadcastBatch,
  div,
  equal,
  erfScalar,
  exp,
  floatOf,
  greater,
  greaterEqual,
  less,
  lessEqual,
  mul,
  notEqual,
  type Operand,
  operands,
  pow,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.ts";
import {
  clamp,
  cos,
  isFinite,
  isNan,
  logicalAnd,
  logicalOr,
  sin,
  trunc,
} from "./math.ts";
import {
  broadcastTo,
  concat,
  expandDims,
  sum,
  transpose,
  unbroadcast,
} from "./structural.ts";
import { max } from "./reductions.ts";
import { matmul } from "./matmul.ts";
import { stopGradient } from "./transforms.ts";
import * as ew from "./kernels/elementwise.ts";
import { broadcastShapes } from "./kernels/elementwise.ts";

const fr = Math.fround;

// ---------------------------------------------------------------------------
// scalar kernels

// a double's two 32-bit words
const wordF64 = new Float64Array(1);
const wordI32 = new Int32Array(wordF64.buffer);
const HI = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** The high 32-bit word of a double (signed) and the low one. */
function words(x: number): [number, number] {
  wordF64[0] = x;
  return [wordI32[HI], wordI32[LO]];
}

// fdlibm's e_lgamma_r.c (Sun Microsystems, 1993; freely distributable),
// the algorithm of glibc's lgamma, which PyTorch's lgamma calls
const a0 = 7.72156649015328655494e-02,
  a1 = 3.22467033424113591611e-01,
  a2 = 6.73523010531292681824e-02,
  a3 = 2.05808084325167332806e-02,
  a4 = 7.38555086081402883957e-03,
  a5 = 2.89051383673415629091e-03,
  a6 = 1.19270763183362067845e-03,
  a7 = 5.10069792153511336608e-04,
  a8 = 2.20862790713908385557e-04,
  a9 = 1.08011567247583939954e-04,
  a10 = 2.52144565451257326939e-05,
  a11 = 4.48640949618915160150e-05,
  tc = 1.46163214496836224576e+00,
  tf = -1.21486290535849611461e-01,
  tt = -3.63867699703950536541e-18,
  t0 = 4.83836122723810047042e-01,
  t1 = -1.47587722994593911752e-01,
  t2 = 6.46249402391333854778e-02,
  t3 = -3.27885410759859649565e-02,
  t4 = 1.79706750811820387126e-02,
  t5 = -1.03142241298341437450e-02,
  t6 = 6.10053870246291332635e-03,
  t7 = -3.68452016781138256760e-03,
  t8 = 2.25964780900612472250e-03,
  t9 = -1.40346469989232843813e-03,
  t10 = 8.81081882437654011382e-04,
  t11 = -5.38595305356740546715e-04,
  t12 = 3.15632070903625950361e-04,
  t13 = -3.12754168375120860518e-04,
  t14 = 3.35529192635519073543e-04,
  u0 = -7.72156649015328655494e-02,
  u1 = 6.32827064025093366517e-01,
  u2 = 1.45492250137234768737e+00,
  u3 = 9.77717527963372745603e-01,
  u4 = 2.28963728064692451092e-01,
  u5 = 1.33810918536787660377e-02,
  v1 = 2.45597793713041134822e+00,
  v2 = 2.12848976379893395361e+00,
  v3 = 7.69285150456672783825e-01,
  v4 = 1.04222645593369134254e-01,
  v5 = 3.21709242282423911810e-03,
  s0 = -7.72156649015328655494e-02,
  s1 = 2.14982415960608852501e-01,
  s2 = 3.25778796408930981787e-01,
  s3 = 1.46350472652464452805e-01,
  s4 = 2.66422703033638609560e-02,
  s5 = 1.84028451407337715652e-03,
  s6 = 3.19475326584100867617e-05,
  r1 = 1.39200533467621045958e+00,
  r2 = 7.21935547567138069525e-01,
  r3 = 1.71933865632803078993e-01,
  r4 = 1.86459191715652901344e-02,
  r5 = 7.77942496381893596434e-04,
  r6 = 7.32668430744625636189e-06,
  w0 = 4.18938533204672725052e-01,
  w1 = 8.33333333333329678849e-02,
  w2 = -2.77777777728775536470e-03,
  w3 = 7.93650558643019558500e-04,
  w4 = -5.95187557450339963135e-04,
  w5 = 8.36339918996282139126e-04,
  w6 = -1.63092934096575273989e-03;
const PI = 3.14159265358979311600e+00;

/** sin(πx) for a negative x (fdlibm's sin_pi); 0 at the integers. */
function sinPi(x: number): number {
  if (Math.abs(x) < 0.25) return -Math.sin(PI * -x);
  let y = -x;
  if (Math.floor(y) === y) return 0;
  y *= 0.5;
  y = 2 * (y - Math.floor(y)); // |x| mod 2
  const n = Math.trunc(y * 4);
  switch (n) {
    case 0:
      y = Math.sin(PI * y);
      break;
    case 1:
    case 2:
      y = Math.cos(PI * (0.5 - y));
      break;
    case 3:
    case 4:
      y = Math.sin(PI * (1 - y));
      break;
    case 5:
    case 6:
      y = -Math.cos(PI * (y - 1.5));
      break;
    default:
      y = Math.sin(PI * (y - 2));
  }
  return -y;
}

/** log|Γ(x)| in double precision (fdlibm's lgamma_r): +inf at 0, the negative integers and ±inf. */
function lgammaScalar(x: number): number {
  if (x !== x) return x;
  if (x === Infinity || x === -Infinity) return Infinity;
  const [hx, lx] = words(x);
  const ix = hx & 0x7fffffff;
  if (x === 0) return Infinity;
  if (ix < 0x3b900000) return -Math.log(Math.abs(x)); // |x| < 2^-70
  let nadj = 0;
  if (hx < 0) {
    if (ix >= 0x43300000) return Infinity; // |x| >= 2^52: an integer
    const t = sinPi(x);
    if (t === 0) return Infinity;
    nadj = Math.log(PI / Math.abs(t * x));
    x = -x;
  }
  let r: number;
  if (((ix - 0x3ff00000) | lx) === 0 || ((ix - 0x40000000) | lx) === 0) {
    r = 0; // 1 and 2
  } else if (ix < 0x40000000) { // x < 2
    let y: number, i: number;
    if (ix <= 0x3feccccc) { // lgamma(x) = lgamma(x + 1) - log(x)
      r = -Math.log(x);
      if (ix >= 0x3fe76944) (y = 1 - x, i = 0);
      else if (ix >= 0x3fcda661) (y = x - (tc - 1), i = 1);
      else (y = x, i = 2);
    } else {
      r = 0;
      if (ix >= 0x3ffbb4c3) (y = 2 - x, i = 0); // [1.7316, 2]
      else if (ix >= 0x3ff3b4c4) (y = x - tc, i = 1); // [1.23, 1.73]
      else (y = x - 1, i = 2);
    }
    if (i === 0) {
      const z = y * y;
      const p1 = a0 + z * (a2 + z * (a4 + z * (a6 + z * (a8 + z * a10))));
      const p2 = z * (a1 + z * (a3 + z * (a5 + z * (a7 + z * (a9 + z * a11)))));
      const p = y * p1 + p2;
      r += p - 0.5 * y;
    } else if (i === 1) {
      const z = y * y, w = z * y;
      const p1 = t0 + w * (t3 + w * (t6 + w * (t9 + w * t12)));
      const p2 = t1 + w * (t4 + w * (t7 + w * (t10 + w * t13)));
      const p3 = t2 + w * (t5 + w * (t8 + w * (t11 + w * t14)));
      const p = z * p1 - (tt - w * (p2 + y * p3));
      r += tf + p;
    } else {
      const p1 = y * (u0 + y * (u1 + y * (u2 + y * (u3 + y * (u4 + y * u5)))));
      const p2 = 1 + y * (v1 + y * (v2 + y * (v3 + y * (v4 + y * v5))));
      r += -0.5 * y + p1 / p2;
    }
  } else if (ix < 0x40200000) { // x < 8
    const i = Math.trunc(x);
    const y = x - i;
    const p = y *
      (s0 + y * (s1 + y * (s2 + y * (s3 + y * (s4 + y * (s5 + y * s6))))));
    const q = 1 + y * (r1 + y * (r2 + y * (r3 + y * (r4 + y * (r5 + y * r6)))));
    r = 0.5 * y + p / q;
    let z = 1; // lgamma(1 + s) = log(s) + lgamma(s)
    if (i >= 7) z *= y + 6;
    if (i >= 6) z *= y + 5;
    if (i >= 5) z *= y + 4;
    if (i >= 4) z *= y + 3;
    if (i >= 3) {
      z *= y + 2;
      r += Math.log(z);
    }
  } else if (ix < 0x43900000) { // 8 <= x < 2^58
    const t = Math.log(x), z = 1 / x, y = z * z;
    const w = w0 +
      z * (w1 + y * (w2 + y * (w3 + y * (w4 + y * (w5 + y * w6)))));
    r = (x - 0.5) * (t - 1) + w;
  } else r = x * (Math.log(x) - 1);
  return hx < 0 ? nadj - r : r;
}

// Cephes' digamma asymptotic series (PyTorch's calc_digamma)
const PSI_10 = 2.25175258906672110764;
const PSI_A = [
  8.33333333333333333333e-2,
  -2.10927960927960927961e-2,
  7.57575757575757575758e-3,
  -4.16666666666666666667e-3,
  3.96825396825396825397e-3,
  -8.33333333333333333333e-3,
  8.33333333333333333333e-2,
];
const PSI_A32 = PSI_A.map(fr);

/** ψ(x) in double precision, PyTorch's calc_digamma(double): ∓inf at ±0, NaN at the negative integers. */
function digammaScalar(x: number): number {
  if (x === 0) return 1 / x > 0 ? -Infinity : Infinity;
  if (x < 0) {
    if (x === Math.trunc(x)) return NaN;
    const r = x - Math.trunc(x); // modf's fraction: exact
    return digammaScalar(1 - x) - Math.PI / Math.tan(Math.PI * r);
  }
  let result = 0;
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  if (x === 10) return result + PSI_10;
  let y = 0;
  if (x < 1e17) {
    const z = 1 / (x * x);
    let p = 0;
    for (const c of PSI_A) p = p * z + c;
    y = z * p;
  }
  return result + Math.log(x) - 0.5 / x - y;
}

/** PyTorch's calc_digamma(float): the same steps, each rounded to float32. */
function digamma32(x: number): number {
  if (x === 0) return 1 / x > 0 ? -Infinity : Infinity;
  if (x < 0) {
    if (x === Math.trunc(x)) return NaN;
    const r = x - Math.trunc(x);
    const piOverTan = fr(Math.PI / Math.tan(Math.PI * r)); // in double
    return fr(digamma32(fr(1 - x)) - piOverTan);
  }
  let result = 0;
  while (x < 10) {
    result = fr(result - fr(1 / x));
    x = fr(x + 1);
  }
  if (x === 10) return fr(result + fr(PSI_10));
  let y = 0;
  if (x < 1e17) {
    const z = fr(1 / fr(x * x));
    let p = 0;
    for (const c of PSI_A32) p = fr(fr(p * z) + c);
    y = fr(z * p);
  }
  return fr(fr(fr(result + fr(Math.log(x))) - fr(0.5 / x)) - y);
}

/** ψ'(x) in double precision, PyTorch's trigamma(double). */
function trigamma64(x: number): number {
  let sign = 1, result = 0;
  if (x < 0.5) {
    sign = -1;
    const s = Math.sin(Math.PI * x);
    result -= (Math.PI * Math.PI) / (s * s);
    x = 1 - x;
  }
  for (let i = 0; i < 6; i++) {
    result += 1 / (x * x);
    x += 1;
  }
  const ixx = 1 / (x * x);
  result += (1 + 1 / (2 * x) +
    ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / x;
  return sign * result;
}

// a float32's bits, for stepping to its neighbours
const f32Box = new Float32Array(1);
const i32Box = new Int32Array(f32Box.buffer);

/** The float32 next to the float32 r in the direction of the double s. */
function f32Toward(r: number, s: number): number {
  f32Box[0] = r;
  i32Box[0] += (s > r) === (r >= 0) ? 1 : -1; // r is finite and not 0 here
  return f32Box[0];
}

/**
 * a·b + c in float32 with one rounding, as the fused multiply-add GCC makes
 * of PyTorch's float kernels (its AVX2 builds; a, b, c float32): the product
 * is exact in double and TwoSum gives the sum's rounding error t, so
 * rounding s = fl(a·b + c) to float32 is the one rounding of a·b + c except
 * when s lies halfway between two floats, where t decides.
 */
function fma32(a: number, b: number, c: number): number {
  const p = a * b, s = p + c;
  const r = fr(s);
  if (r === s || !Number.isFinite(s)) return r;
  const bb = s - p, t = (p - (s - bb)) + (c - bb);
  if (t === 0) return r;
  const other = f32Toward(r, s);
  // s halfway between r and its neighbour: the exact sum is on t's side
  return s - r === other - s ? ((t > 0) === (other > r) ? other : r) : r;
}

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter

/**
 * a·b + c in double with one rounding (C's fma, PyTorch's AVX2 lerp):
 * Dekker's exact product p + e, TwoSum of p and c into s + t, then
 * s + (t + e). Exact where p, c or the result is 0, ±inf or NaN or the
 * product overflows (then a·b + c as it rounds); the compensated sum is the
 * correctly rounded result except in double-rounding ties, rarer than one
 * in 2^50 of random arguments.
 */
function fma64(a: number, b: number, c: number): number {
  const p = a * b;
  if (p === 0 || c === 0 || !Number.isFinite(p) || !Number.isFinite(c)) {
    return p + c;
  }
  if (Math.abs(a) > 1e290 || Math.abs(b) > 1e290) return p + c;
  let h = SPLIT * a;
  const ah = h - (h - a), al = a - ah;
  h = SPLIT * b;
  const bh = h - (h - b), bl = b - bh;
  const e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  const s = p + c, bb = s - p, t = (p - (s - bb)) + (c - bb);
  return s + (t + e);
}

const PI32 = fr(Math.PI), PI32SQ = fr(PI32 * PI32);
const SIXTH = fr(1 / 6), THIRTIETH = fr(1 / 30), FORTYSECOND = fr(1 / 42);

/** PyTorch's trigamma(float), each step rounded to float32. */
function trigamma32(x: number): number {
  let sign = 1, result = 0;
  if (x < 0.5) {
    sign = -1;
    const s = fr(Math.sin(fr(PI32 * x)));
    result = fr(result - fr(PI32SQ / fr(s * s)));
    x = fr(1 - x);
  }
  for (let i = 0; i < 6; i++) {
    result = fr(result + fr(1 / fr(x * x)));
    x = fr(x + 1);
  }
  const ixx = fr(1 / fr(x * x));
  // (GCC fuses a - b·c and a + b·c into one rounding: fma32)
  const inner = fma32(-ixx, fma32(-ixx, FORTYSECOND, THIRTIETH), SIXTH);
  const series = fr(fma32(ixx, inner, fr(1 + fr(1 / fr(2 * x)))) / x);
  return fr(sign * fr(result + series));
}

// Cephes' Hurwitz zeta (PyTorch's zeta: Euler-Maclaurin after 9+ terms)
const ZETA_A = [
  12.0,
  -720.0,
  30240.0,
  -1209600.0,
  47900160.0,
  -1.8924375803183791606e9,
  7.47242496e10,
  -2.950130727918164224e12,
  1.1646782814350067249e14,
  -4.5979787224074726105e15,
  1.8152105401943546773e17,
  -7.1661652561756670113e18,
];
const MACHEP = 1.11022302462515654042e-16;
// past -ZETA_FAR, zeta splits q's terms rather than loop |q| times (PyTorch
// loops: the same numbers nearer 0, a hang far out)
const ZETA_FAR = 2 ** 14;

/** ζ(x, q) = Σ_k (k + q)^-x in double precision (PyTorch's zeta). */
function zeta(x: number, q: number): number {
  if (x === 1) return Infinity;
  if (x < 1) return NaN;
  if (q <= 0) {
    if (q === Math.floor(q)) return Infinity;
    if (x !== Math.floor(x)) return NaN;
    if (q < -ZETA_FAR) {
      // PyTorch's loop below would step from q to 9 one at a time (a hang
      // for q = -1e10 - 0.5): the terms of q < 0 split, with f = q - ⌊q⌋,
      // into those of f and, negated for odd x, those of 1 - f up to -q
      const f = q - Math.floor(q);
      const sign = x % 2 === 0 ? 1 : -1;
      return (zeta(x, f) + sign * zeta(x, 1 - f)) - sign * zeta(x, 1 - q);
    }
  }
  let s = Math.pow(q, -x), a = q, i = 0, b = 0;
  while (i < 9 || a <= 9) {
    i += 1;
    a += 1;
    b = Math.pow(a, -x);
    s += b;
    if (-MACHEP * s < b && b < MACHEP * s) return s;
  }
  const w = a;
  s += (b * w) / (x - 1);
  s -= 0.5 * b;
  a = 1;
  let k = 0;
  for (let j = 0; j < 12; j++) {
    a *= x + k;
    b /= w;
    let t = (a * b) / ZETA_A[j];
    s = s + t;
    t = Math.abs(t / s);
    if (t < MACHEP) return s;
    k += 1;
    a *= x + k;
    b /= w;
    k += 1;
  }
  return s;
}

/** ψ⁽ⁿ⁾(x) in double precision, as PyTorch's polygamma kernels (n ≥ 0). */
function polygammaScalar(n: number, x: number): number {
  if (n === 0) return digammaScalar(x);
  if (n === 1) return trigamma64(x);
  return (n % 2 ? 1 : -1) * Math.exp(lgammaScalar(n + 1)) * zeta(n + 1, x);
}

/** PyTorch's float polygamma: digamma and trigamma in float32; for n >= 2 the factor n! and the product in double (its ::exp(::lgamma) is the double one), zeta in double. */
function polygamma32(n: number, x: number): number {
  if (n === 0) return digamma32(x);
  if (n === 1) return trigamma32(x);
  const f = Math.exp(lgammaScalar(n + 1));
  return fr((n % 2 ? 1 : -1) * f * fr(zeta(n + 1, x)));
}

// erfinv's rational first guess (Pavlis' erfinv, as PyTorch's calc_erfinv)
const EA = [0.886226899, -1.645349621, 0.914624893, -0.140543331];
const EB = [-2.118377725, 1.442710462, -0.329097515, 0.012229801];
const EC = [-1.970840454, -1.624906493, 3.429567803, 1.641345311];
const ED = [3.5438892, 1.6370678];
const [EA32, EB32, EC32, ED32] = [EA, EB, EC, ED].map((c) => c.map(fr));
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const TWO_OVER_SQRT_PI32 = fr(2 / fr(Math.sqrt(Math.PI)));

/** erf⁻¹(y) in double precision (PyTorch's calc_erfinv): ±inf at ±1, NaN past them. */
function erfinvScalar(y: number): number {
  const ya = Math.abs(y);
  if (ya > 1) return NaN;
  if (ya === 1) return y > 0 ? Infinity : -Infinity;
  let x: number;
  if (ya <= 0.7) {
    const z = y * y;
    const num = ((EA[3] * z + EA[2]) * z + EA[1]) * z + EA[0];
    const dem = (((EB[3] * z + EB[2]) * z + EB[1]) * z + EB[0]) * z + 1;
    x = (y * num) / dem;
  } else {
    const z = Math.sqrt(-Math.log((1 - ya) / 2));
    const num = ((EC[3] * z + EC[2]) * z + EC[1]) * z + EC[0];
    const dem = (ED[1] * z + ED[0]) * z + 1;
    x = (y < 0 || Object.is(y, -0) ? -num : num) / dem;
  }
  for (let k = 0; k < 2; k++) {
    x = x - (erfScalar(x) - y) / (TWO_OVER_SQRT_PI * Math.exp(-x * x));
  }
  return x;
}

/** PyTorch's calc_erfinv(float), each step rounded to float32. */
function erfinv32(y: number): number {
  const ya = Math.abs(y);
  if (ya > 1) return NaN;
  if (ya === 1) return y > 0 ? Infinity : -Infinity;
  let x: number;
  if (ya <= fr(0.7)) {
    const z = fr(y * y);
    const num = fma32(
      fma32(fma32(EA32[3], z, EA32[2]), z, EA32[1]),
      z,
      EA32[0],
    );
    const dem = fma32(
      fma32(fma32(fma32(EB32[3], z, EB32[2]), z, EB32[1]), z, EB32[0]),
      z,
      1,
    );
    x = fr(fr(y * num) / dem);
  } else {
    const z = fr(Math.sqrt(fr(-fr(Math.log(fr(fr(1 - ya) / 2))))));
    const num = fma32(
      fma32(fma32(EC32[3], z, EC32[2]), z, EC32[1]),
      z,
      EC32[0],
    );
    const dem = fma32(fma32(ED32[1], z, ED32[0]), z, 1);
    x = fr((y < 0 || Object.is(y, -0) ? -num : num) / dem);
  }
  for (let k = 0; k < 2; k++) {
    const e = fr(fr(erfScalar(x)) - y);
    const d = fr(TWO_OVER_SQRT_PI32 * fr(Math.exp(fr(-fr(x * x)))));
    x = fr(x - fr(e / d));
  }
  return x;
}

// ---------------------------------------------------------------------------
// primitives: forward kernel call and derivative rules side by side

/**
 * The forward of a float unary special function: `f64` on float64 tensors,
 * `f32` (PyTorch's float kernel) on float32 ones; int32 gives float32.
 */
function specialForward(
  f64: (v: number) => number,
  f32: (v: number) => number,
): (inputs: Tensor[]) => Tensor {
  return ([x]) => {
    const dtype = floatOf(x.dtype);
    const src = x.data, n = src.length, out = allocData(dtype, n);
    if (dtype === "float32") {
      for (let i = 0; i < n; i++) out[i] = f32(fr(src[i]));
    } else {
      for (let i = 0; i < n; i++) out[i] = f64(src[i]);
    }
    return fromData(out, x.shape);
  };
}

/** polygamma's parameter: the order of the derivative of digamma. */
interface PolygammaParams {
  n: number;
}

// d lgamma = digamma (PyTorch's lgamma backward)
const lgammaPrim: Primitive<Empty> = definePrimitive({
  name: "lgamma",
  forward: specialForward(lgammaScalar, (v) => fr(lgammaScalar(v))),
  scalar: lgammaScalar,
  vjp: ([x]) => [(g) => mul(g, digammaOp(x))],
  jvp: ([x], [t]) => mul(t!, digammaOp(x)),
  batch: ([x], [d]) => [bind(lgammaPrim, [x], {}), d],
});

// d digamma = polygamma(1) (trigamma)
const digammaPrim: Primitive<Empty> = definePrimitive({
  name: "digamma",
  forward: specialForward(digammaScalar, digamma32),
  vjp: ([x]) => [(g) => mul(g, polygammaOp(1, x))],
  jvp: ([x], [t]) => mul(t!, polygammaOp(1, x)),
  batch: ([x], [d]) => [bind(digammaPrim, [x], {}), d],
});

// d polygamma(n) = polygamma(n + 1); n = 0 binds digamma instead
const polygammaPrim: Primitive<PolygammaParams> = definePrimitive({
  name: "polygamma",
  forward: ([x], { n }) =>
    specialForward(
      (v) => polygammaScalar(n, v),
      (v) => polygamma32(n, v),
    )([x]),
  vjp: ([x], _y, { n }) => [(g) => mul(g, polygammaOp(n + 1, x))],
  jvp: ([x], [t], _y, { n }) => mul(t!, polygammaOp(n + 1, x)),
  batch: ([x], [d], p) => [bind(polygammaPrim, [x], p), d],
});

// d erfinv = √π/2 · exp(erfinv(x)²), as PyTorch's erfinv backward
const erfinvGrad = (g: Tensor, y: Tensor) =>
  mul(mul(exp(square(y)), 0.5 * Math.sqrt(Math.PI)), g);
const erfinvPrim: Primitive<Empty> = definePrimitive({
  name: "erfinv",
  forward: specialForward(erfinvScalar, erfinv32),
  vjp: (_x, y) => [(g) => erfinvGrad(g, y)],
  jvp: (_x, [t], y) => erfinvGrad(t!, y),
  batch: ([x], [d]) => [bind(erfinvPrim, [x], {}), d],
});

// a's magnitude with b's sign bit (-0 and NaNs' signs included)
function copysignScalar(a: number, b: number): number {
  wordF64[0] = b;
  return wordI32[HI] < 0 ? -Math.abs(a) : Math.abs(a);
}

// d/da = copysign(a, b) / a (0 where a = 0, as PyTorch), d/db = 0
const copysignPrim: Primitive<Empty> = definePrimitive({
  name: "copysign",
  forward: binaryForward(copysignScalar, (a, b) => floatOf(promote(a, b))),
  scalar: copysignScalar,
  vjp: ([a, _b], y) => {
    const zero = equal(a, 0);
    const ratio = where(zero, 0, div(y, where(zero, 1, a)));
    return [(g) => unbroadcast(mul(g, ratio), a.shape), null];
  },
  batch: broadcastBatch(() => copysignPrim),
});

/** lerp's parameter: a number weight (then lerp has two inputs), else null (three). */
interface LerpParams {
  w: number | null;
}

/**
 * PyTorch 1.13's lerp of one element, its AVX2 kernel's fused form:
 * `fma(w, e - s, s)` where w < 0.5 (signed: 1.13 tests `weight < 0.5`,
 * later versions `|weight| < 0.5`), else `fma(w - 1, e - s, e)`.
 */
function lerpScalar(
  s: number,
  e: number,
  w: number,
  fma: (a: number, b: number, c: number) => number,
  round: (v: number) => number,
): number {
  const d = round(e - s);
  return w < 0.5 ? fma(w, d, s) : fma(round(w - 1), d, e);
}

/** Copies `t` broadcast to `shape` (a plain array of its dtype). */
function spread(t: Tensor, shape: readonly number[], n: number) {
  return t.data.length === n
    ? t.data
    : ew.broadcastTo(t.data, t.shape, allocData(t.dtype, n), shape);
}

// d/ds = 1 - w, d/de = w, d/dw = e - s (each summed to its input's shape)
const lerpPrim: Primitive<LerpParams> = definePrimitive({
  name: "lerp",
  forward: (inputs, { w }) => {
    const shape = inputs.map((t) => t.shape).reduce((a, b) =>
      broadcastShapes(a, b)!
    );
    const dtype = inputs[0].dtype, n = sizeOf(shape);
    const [s, e, wt] = inputs.map((t) => spread(t, shape, n));
    const out = allocData(dtype, n);
    const f32 = dtype === "float32";
    const fma = f32 ? fma32 : fma64;
    const round = f32 ? fr : (v: number) => v;
    if (w !== null) {
      const wv = round(w);
      for (let i = 0; i < n; i++) {
        out[i] = lerpScalar(s[i], e[i], wv, fma, round);
      }
    } else {
      for (let i = 0; i < n; i++) {
        out[i] = lerpScalar(s[i], e[i], wt[i], fma, round);
      }
    }
    return fromData(out, shape);
  },
  vjp: ([s, e, wt], _y, { w }) => {
    // a number weight as PyTorch's backward takes it: 1 - w in double
    const weight: Operand = w ?? wt;
    const one = w !== null ? 1 - w : sub(1, wt);
    return [
      (g) => unbroadcast(mul(g, one), s.shape),
      (g) => unbroadcast(mul(g, weight), e.shape),
      ...(w === null
        ? [(g: Tensor) => unbroadcast(mul(g, sub(e, s)), wt.shape)]
        : []),
    ];
  },
  jvp: ([s, e, wt], [ts, te, tw], y, { w }) => {
    const terms: Tensor[] = [];
    if (ts) terms.push(mul(ts, w !== null ? 1 - w : sub(1, wt)));
    if (te) terms.push(mul(te, w ?? wt));
    if (w === null && tw) terms.push(mul(tw, sub(e, s)));
    const t = terms.reduce((a, b) => add(a, b));
    return t.shape.length === y.shape.length &&
        t.shape.every((d, i) => d === y.shape[i])
      ? t
      : broadcastTo(t, y.shape);
  },
  batch: broadcastBatch(() => lerpPrim),
});

/** logit's parameters: the clamp's bounds in the tensor's dtype, or null (no eps). */
interface LogitParams {
  lo: number | null;
  hi: number | null;
}

// PyTorch's logit backward: g / (x (1 - x)); with eps, 0 outside [lo, hi]
// (x unclamped), without, NaN outside [0, 1]
const logitGrad = (g: Tensor, x: Tensor, { lo, hi }: LogitParams) => {
  const out = lo === null
    ? logicalOr(less(x, 0), greater(x, 1))
    : logicalOr(less(x, lo), greater(x, hi!));
  const den = mul(x, sub(1, x));
  return where(out, lo === null ? NaN : 0, div(g, where(out, 1, den)));
};
const logitPrim: Primitive<LogitParams> = definePrimitive({
  name: "logit",
  forward: ([x], { lo, hi }) => {
    const clampTo = (v: number) =>
      lo === null ? v : v < lo ? lo : v > hi! ? hi! : v;
    return specialForward(
      (v) => {
        const z = clampTo(v);
        return Math.log(z / (1 - z));
      },
      (v) => {
        const z = clampTo(v);
        return fr(Math.log(fr(z / fr(1 - z))));
      },
    )([x]);
  },
  vjp: ([x], _y, p) => [(g) => logitGrad(g, x, p)],
  jvp: ([x], [t], _y, p) => logitGrad(t!, x, p),
  batch: ([x], [d], p) => [bind(logitPrim, [x], p), d],
});

/** sin(πx)/(πx), 1 at 0; πx, the sine and the quotient in the dtype. */
const sinc64 = (v: number) => {
  if (v === 0) return 1;
  const p = Math.PI * v;
  return Math.sin(p) / p;
};
const sinc32 = (v: number) => {
  if (v === 0) return 1;
  const p = fr(PI32 * v);
  return fr(fr(Math.sin(p)) / p);
};

// PyTorch's sinc backward: g (πx cos πx - sin πx) / (πx²), 0 where πx² is 0
const sincGrad = (g: Tensor, x: Tensor) => {
  const px = mul(x, Math.PI), pxx = mul(mul(x, x), Math.PI);
  const zero = equal(pxx, 0);
  const num = sub(mul(px, cos(px)), sin(px));
  return where(zero, 0, div(mul(g, num), where(zero, 1, pxx)));
};
const sincPrim: Primitive<Empty> = definePrimitive({
  name: "sinc",
  forward: specialForward(sinc64, sinc32),
  vjp: ([x]) => [(g) => sincGrad(g, x)],
  jvp: ([x], [t]) => sincGrad(t!, x),
  batch: ([x], [d]) => [bind(sincPrim, [x], {}), d],
});

function digammaOp(x: Tensor): Tensor {
  return bind(digammaPrim, [x], {});
}

function polygammaOp(n: number, x: Tensor): Tensor {
  return n === 0 ? digammaOp(x) : bind(polygammaPrim, [x], { n });
}

// ---------------------------------------------------------------------------
// the public ops

/**
 * The natural logarithm of the absolute value of the gamma function, as
 * `torch.lgamma`: `+Infinity` at 0, at the negative integers and at
 * ±Infinity. Its derivative is {@linkcode digamma}. int32 gives float32.
 *
 * @example
 * ```ts
 * import { lgamma, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(lgamma(tensor([1, 2, 0, -1], { dtype: "float64" }))), [0, 0, Infinity, Infinity]);
 * ```
 */
export function lgamma(x: Tensor): Tensor {
  return bind(lgammaPrim, [checkTensor("lgamma", x, "x")], {});
}

/**
 * The digamma function ψ(x) = Γ'(x)/Γ(x), as `torch.digamma`: `-Infinity`
 * at +0, `+Infinity` at -0, NaN at the negative integers. Its derivative is
 * `polygamma(1, x)`. int32 gives float32.
 *
 * @example
 * ```ts
 * import { digamma, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const eulerGamma = 0.5772156649015329;
 * assert.ok(Math.abs(item(digamma(tensor([1], { dtype: "float64" }))) + eulerGamma) < 1e-15);
 * ```
 */
export function digamma(x: Tensor): Tensor {
  return digammaOp(checkTensor("digamma", x, "x"));
}

/**
 * The n-th derivative of {@linkcode digamma}, as `torch.polygamma(n, x)`
 * (n a non-negative integer; 0 is digamma), with PyTorch's kernels: for
 * n = 1 its trigamma (the recurrence to x + 6 and four terms of the
 * asymptotic series: a relative error up to about 1e-9, the same numbers
 * as PyTorch's), for n >= 2 `(-1)^(n+1) n! ζ(n + 1, x)` by Cephes' Hurwitz
 * zeta (below x = -2^14, where PyTorch's zeta steps |x| times toward 0 and
 * hangs far out, the sum split at 0: ζ(s, f) ± ζ(s, 1 - f) ∓ ζ(s, 1 - x),
 * f = x - ⌊x⌋). Its derivative is `polygamma(n + 1, x)`. int32 gives
 * float32.
 *
 * @example
 * ```ts
 * import { item, polygamma, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const one = tensor([1], { dtype: "float64" });
 * // trigamma(1) = π²/6 (PyTorch's 1.6449340676383375), ψ''(1) = -2ζ(3)
 * assert.ok(Math.abs(item(polygamma(1, one)) / (Math.PI ** 2 / 6) - 1) < 1e-9);
 * assert.ok(Math.abs(item(polygamma(2, one)) + 2 * 1.2020569031595942) < 1e-14);
 * ```
 */
export function polygamma(n: number, x: Tensor): Tensor {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new Error(
      `polygamma: n must be a non-negative integer, got ${describe(n)}`,
    );
  }
  return polygammaOp(n, checkTensor("polygamma", x, "x"));
}

/**
 * The inverse error function, as `torch.erfinv`: ±Infinity at ±1, NaN
 * outside [-1, 1]. Its derivative is `√π/2 · exp(erfinv(x)²)`. int32 gives
 * float32.
 *
 * @example
 * ```ts
 * import { erf, erfinv, item, tensor } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const x = tensor([0.5], { dtype: "float64" });
 * assert.ok(Math.abs(item(erf(erfinv(x))) - 0.5) < 1e-15);
 * ```
 */
export function erfinv(x: Tensor): Tensor {
  return bind(erfinvPrim, [checkTensor("erfinv", x, "x")], {});
}

/**
 * `a`'s magnitude with `b`'s sign, as `torch.copysign` (the sign bit: `-0`
 * is negative). The result is float (int32 gives float32). The gradient in
 * `a` is `copysign(a, b) / a` (0 where a is 0), in `b` zero.
 *
 * @example
 * ```ts
 * import { copysign, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(copysign(tensor([1, -2, 3]), tensor([-1, 1, -0]))), [-1, 2, -3]);
 * ```
 */
export function copysign(a: Operand, b: Operand): Tensor {
  return bind(copysignPrim, operands("copysign", a, b), {});
}

/** Options of {@linkcode logit}. */
export interface LogitOptions {
  /** Clamp x to [eps, 1 - eps] first (no clamp when absent or negative, as PyTorch; at most 0.5). */
  eps?: number;
}

/**
 * The log-odds `log(x / (1 - x))`, as `torch.logit`; with `eps`, x is
 * clamped to `[eps, 1 - eps]` first (and its gradient is 0 outside, as
 * PyTorch's). int32 gives float32.
 *
 * @example
 * ```ts
 * import { logit, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(logit(tensor([0.5, 0, 1], { dtype: "float64" }))), [0, -Infinity, Infinity]);
 * ```
 */
export function logit(x: Tensor, options?: LogitOptions): Tensor {
  const fn = "logit";
  const { eps } = checkOptions(fn, options, ["eps"]);
  checkTensor(fn, x, "x");
  if (eps !== undefined && (typeof eps !== "number" || Number.isNaN(eps))) {
    throw new Error(`${fn}: eps must be a number, got ${describe(eps)}`);
  }
  if (eps === undefined || eps < 0) {
    return bind(logitPrim, [x], { lo: null, hi: null });
  }
  // (past 0.5 the bounds cross, and PyTorch's scalar and vector kernels
  // disagree on which one wins)
  if (eps > 0.5) {
    throw new Error(
      `${fn}: eps must be at most 0.5 (x is clamped to [eps, 1 - eps]), got ${eps}`,
    );
  }
  // the bounds as PyTorch computes them: in the tensor's dtype
  const f32 = floatOf(x.dtype) === "float32";
  const lo = f32 ? fr(eps) : eps;
  return bind(logitPrim, [x], { lo, hi: f32 ? fr(1 - lo) : 1 - lo });
}

/**
 * The linear interpolation `start + weight · (end - start)`, as
 * `torch.lerp` 1.13 to the last bit: where `weight < 0.5` that one, else
 * `end - (end - start) · (1 - weight)`, each with one rounding of the
 * product and sum (the fused multiply-add of PyTorch's AVX2 kernel).
 * `weight` is a number or a tensor; the three broadcast. Dtypes promote as
 * in `add` (PyTorch requires one float dtype). Gradients: `1 - weight`,
 * `weight` and `end - start`.
 *
 * @example
 * ```ts
 * import { lerp, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([0, 10], { dtype: "float64" }), b = tensor([4, 20], { dtype: "float64" });
 * assert.deepEqual(toArray(lerp(a, b, 0.25)), [1, 12.5]);
 * assert.deepEqual(toArray(lerp(a, b, tensor([1, 0.5], { dtype: "float64" }))), [4, 15]);
 * ```
 */
export function lerp(start: Tensor, end: Tensor, weight: Operand): Tensor {
  const fn = "lerp";
  checkTensor(fn, start, "start");
  checkTensor(fn, end, "end");
  if (typeof weight !== "number" && !isTensor(weight)) {
    throw new Error(
      `${fn}: weight must be a Tensor or a number, got ${describe(weight)}`,
    );
  }
  const se = broadcastShapes(start.shape, end.shape);
  const shape = se && isTensor(weight) ? broadcastShapes(se, weight.shape) : se;
  if (!shape) {
    throw new Error(
      `${fn}: cannot broadcast start ${fmt(start.shape)}, end ${
        fmt(end.shape)
      }${isTensor(weight) ? ` and weight ${fmt(weight.shape)}` : ""}`,
    );
  }
  let dtype: DType = floatOf(promote(start.dtype, end.dtype));
  if (isTensor(weight)) dtype = floatOf(promote(dtype, weight.dtype));
  const s = astype(start, dtype), e = astype(end, dtype);
  if (typeof weight === "number") return bind(lerpPrim, [s, e], { w: weight });
  return bind(lerpPrim, [s, e, astype(weight, dtype)], { w: null });
}

/**
 * The Heaviside step, as `torch.heaviside`: 0 where x < 0, `values` where
 * x is 0, 1 where x > 0 (and 0 at NaN). `values` is a tensor or a number;
 * dtypes promote as in `add` (PyTorch requires one dtype). The gradient in
 * `x` is zero; in `values` it passes where x is 0.
 *
 * @example
 * ```ts
 * import { heaviside, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(heaviside(tensor([-2, 0, 3]), 0.5)), [0, 0.5, 1]);
 * ```
 */
export function heaviside(x: Tensor, values: Operand): Tensor {
  const fn = "heaviside";
  checkTensor(fn, x, "x");
  if (typeof values !== "number" && !isTensor(values)) {
    throw new Error(
      `${fn}: values must be a Tensor or a number, got ${describe(values)}`,
    );
  }
  const [a, b] = operands(fn, x, values);
  using _op = userOp(fn);
  return where(
    equal(a, 0),
    b,
    astype(greater(a, 0), promote(a.dtype, b.dtype)),
  );
}

/**
 * The elementwise minimum that ignores NaN, as `torch.fmin`: where one of
 * a and b is NaN, the other (NaN only where both are). Ties give `a` and
 * its gradient, as PyTorch's. Dtypes promote as in `add`; int32 with int32
 * stays int32.
 *
 * @example
 * ```ts
 * import { fmin, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(fmin(tensor([1, NaN, 3]), tensor([2, 0, NaN]))), [1, 0, 3]);
 * ```
 */
export function fmin(a: Operand, b: Operand): Tensor {
  const [x, y] = operands("fmin", a, b);
  using _op = userOp("fmin");
  return where(logicalOr(lessEqual(x, y), isNan(y)), x, y);
}

/**
 * The elementwise maximum that ignores NaN, as `torch.fmax`: where one of
 * a and b is NaN, the other (NaN only where both are). Ties give `a` and
 * its gradient, as PyTorch's. Dtypes promote as in `add`; int32 with int32
 * stays int32.
 *
 * @example
 * ```ts
 * import { fmax, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(fmax(tensor([1, NaN, 3]), tensor([2, 0, NaN]))), [2, 0, 3]);
 * ```
 */
export function fmax(a: Operand, b: Operand): Tensor {
  const [x, y] = operands("fmax", a, b);
  using _op = userOp("fmax");
  return where(logicalOr(greaterEqual(x, y), isNan(y)), x, y);
}

/**
 * The normalized sinc `sin(πx) / (πx)`, 1 at 0, as `torch.sinc` (πx
 * computed in the tensor's dtype, as PyTorch's). Its gradient at 0 is 0.
 * int32 gives float32.
 *
 * @example
 * ```ts
 * import { sinc, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(sinc(tensor([0, 0.5], { dtype: "float64" }))), [1, 2 / Math.PI]);
 * ```
 */
export function sinc(x: Tensor): Tensor {
  return bind(sincPrim, [checkTensor("sinc", x, "x")], {});
}

/**
 * The fractional part `x - trunc(x)`, with x's sign, as `torch.frac`
 * (NaN at ±Infinity). Its gradient is 1. int32 gives zeros (PyTorch has no
 * int frac).
 *
 * @example
 * ```ts
 * import { frac, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(toArray(frac(tensor([2.5, -1.25], { dtype: "float64" }))), [0.5, -0.25]);
 * ```
 */
export function frac(x: Tensor): Tensor {
  checkTensor("frac", x, "x");
  using _op = userOp("frac");
  return sub(x, trunc(x));
}

/** Options of {@linkcode cdist}. */
export interface CdistOptions {
  /** The norm's order: a number >= 0 or Infinity. Default 2. */
  p?: number;
  /**
   * PyTorch's `compute_mode` for p = 2: "use_mm_for_euclid_dist_if_necessary"
   * (default: the matrix-product form when either set has more than 25
   * rows), "use_mm_for_euclid_dist" (always) or
   * "donot_use_mm_for_euclid_dist" (never).
   */
  computeMode?:
    | "use_mm_for_euclid_dist_if_necessary"
    | "use_mm_for_euclid_dist"
    | "donot_use_mm_for_euclid_dist";
}

const computeModes = [
  "use_mm_for_euclid_dist_if_necessary",
  "use_mm_for_euclid_dist",
  "donot_use_mm_for_euclid_dist",
];

/**
 * The p-norm distance between each row of `x1` `[..., P, M]` and each row of
 * `x2` `[..., R, M]`, as `torch.cdist`: `[..., P, R]`, the batch axes
 * broadcast. p = 0 counts the differing coordinates, Infinity takes the
 * largest difference. Its gradient is PyTorch's: 0 at zero distance (not
 * NaN); for p = Infinity every coordinate that ties for the largest gets the
 * whole gradient. For p = 2 and more than 25 rows in x1 or x2, PyTorch (and
 * so this) uses `√max(‖a‖² + ‖b‖² - 2a·b, 0)` (see `computeMode`).
 *
 * @example
 * ```ts
 * import { cdist, tensor, toArray } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a = tensor([[0, 0], [1, 1]], { dtype: "float64" }), b = tensor([[3, 4]], { dtype: "float64" });
 * assert.deepEqual(toArray(cdist(a, b)), [[5], [Math.sqrt(13)]]);
 * assert.deepEqual(toArray(cdist(a, b, { p: 1 })), [[7], [5]]);
 * ```
 */
export function cdist(
  x1: Tensor,
  x2: Tensor,
  options?: CdistOptions,
): Tensor {
  const fn = "cdist";
  const o = checkOptions(fn, options, ["p", "computeMode"]);
  checkTensor(fn, x1, "x1");
  checkTensor(fn, x2, "x2");
  for (const [name, t] of [["x1", x1], ["x2", x2]] as const) {
    if (t.dtype === "int32") {
      throw new Error(
        `${fn}: ${name} must be float32 or float64, got int32 ${fmt(t.shape)}`,
      );
    }
    if (t.shape.length < 2) {
      throw new Error(
        `${fn}: ${name} must have at least 2 dims ([..., rows, features]), got ${
          fmt(t.shape)
        }`,
      );
    }
  }
  const m = x1.shape[x1.shape.length - 1];
  if (x2.shape[x2.shape.length - 1] !== m) {
    throw new Error(
      `${fn}: x1 and x2 must have the same number of features (last dim), got x1 ${
        fmt(x1.shape)
      } and x2 ${fmt(x2.shape)}`,
    );
  }
  const batch = broadcastShapes(x1.shape.slice(0, -2), x2.shape.slice(0, -2));
  if (!batch) {
    throw new Error(
      `${fn}: the batch dims of x1 ${fmt(x1.shape)} and x2 ${
        fmt(x2.shape)
      } do not broadcast`,
    );
  }
  const p = o.p ?? 2;
  if (typeof p !== "number" || Number.isNaN(p) || p < 0) {
    throw new Error(
      `${fn}: p must be a number >= 0 (or Infinity), got ${describe(p)}`,
    );
  }
  const mode = o.computeMode ?? computeModes[0];
  if (typeof mode !== "string" || !computeModes.includes(mode)) {
    throw new Error(
      `${fn}: computeMode must be one of ${computeModes.join(", ")}, got ${
        describe(mode)
      }`,
    );
  }
  using _op = userOp(fn);
  const dtype = promote(x1.dtype, x2.dtype);
  const nP = x1.shape[x1.shape.length - 2], nR = x2.shape[x2.shape.length - 2];
  const a = broadcastTo(astype(x1, dtype), [...batch, nP, m]);
  const b = broadcastTo(astype(x2, dtype), [...batch, nR, m]);
  if (
    p === 2 && m > 0 &&
    (mode === computeModes[1] ||
      (mode === computeModes[0] && (nP > 25 || nR > 25)))
  ) {
    return euclideanMm(a, b);
  }
  const diff = sub(expandDims(a, -2), expandDims(b, -3)); // [..., P, R, M]
  const axis = -1;
  if (p === 0) return sum(astype(notEqual(diff, 0), dtype), { axis });
  const ad = abs(diff);
  if (p === 1) return sum(ad, { axis });
  if (p === Infinity) {
    if (m === 0) return sum(ad, { axis });
    // the largest |difference|; its gradient reaches every coordinate that
    // ties for it (PyTorch's sign(diff) · (|diff| == dist))
    const top = max(ad, { axis });
    const ties = logicalAnd(equal(ad, expandDims(top, -1)), isFinite(ad));
    const zeroWithGrad = where(ties, sub(ad, stopGradient(ad)), 0);
    return add(stopGradient(top), sum(zeroWithGrad, { axis }));
  }
  if (p === 2) {
    const s = sum(square(diff), { axis });
    const zero = equal(s, 0);
    return where(zero, 0, sqrt(where(zero, 1, s)));
  }
  // general p: (Σ|d|^p)^(1/p), its gradient 0 where a difference or the
  // distance is 0, as PyTorch's
  const exponent = dtype === "float32" ? fr(1 / fr(p)) : 1 / p;
  const dz = equal(ad, 0);
  const s = sum(where(dz, 0, pow(where(dz, 1, ad), p)), { axis });
  const zero = equal(s, 0);
  return where(zero, 0, pow(where(zero, 1, s), exponent));
}

/** PyTorch's _euclidean_dist: one matrix product of augmented rows. */
function euclideanMm(a: Tensor, b: Tensor): Tensor {
  const an = sum(square(a), { axis: -1, keepDims: true });
  const bn = sum(square(b), { axis: -1, keepDims: true });
  const a2 = concat([mul(a, -2), an, onesLike(an)], -1);
  const b2 = concat([b, onesLike(bn), bn], -1);
  const n = b2.shape.length;
  const perm = [...Array(n).keys()];
  [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
  const r = clamp(matmul(a2, transpose(b2, perm)), { min: 0 });
  // PyTorch's _euclidean_dist_backward: 0 where the distance is 0
  const zero = equal(r, 0);
  return where(zero, 0, sqrt(where(zero, 1, r)));
}
