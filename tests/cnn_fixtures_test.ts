/**
 * CNN ops against PyTorch 1.13 (tests/fixtures/cnn.json, written by
 * tests/fixtures/gen_cnn.py): forward values and gradients in float64 to
 * 1e-10 relative and in float32 to 1e-4, and Hessian-vector products
 * against PyTorch's double backward.
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";
import fixture from "./fixtures/cnn.json" with { type: "json" };

type J = { shape: number[]; dtype: string; data: number[] } | null;
type Case = {
  op: string;
  name: string;
  // deno-lint-ignore no-explicit-any
  options: any;
  inputs: Record<string, J>;
  // deno-lint-ignore no-explicit-any
  output: any;
  cotangent: J;
  grads: Record<string, J>;
};

const toT = (j: J, dtype?: T.DType): Tensor | null =>
  j === null ? null : T.tensor(j.data, {
    shape: j.shape,
    dtype: j.dtype === "int32" ? "int32" : dtype ?? "float64",
  });

/** Calls the op of a fixture case with the named inputs. */
// deno-lint-ignore no-explicit-any
function callOp(c: Case, v: Record<string, Tensor | null>): any {
  const o = c.options ?? {};
  switch (c.op) {
    case "conv2d":
      return T.conv2d(v.x!, v.weight!, v.bias, o);
    case "convTranspose2d":
      return T.convTranspose2d(v.x!, v.weight!, v.bias, o);
    case "maxPool2d":
      return T.maxPool2d(v.x!, o);
    case "avgPool2d":
      return T.avgPool2d(v.x!, o);
    case "adaptiveAvgPool2d":
      return T.adaptiveAvgPool2d(v.x!, o.outputSize);
    case "adaptiveMaxPool2d":
      return T.adaptiveMaxPool2d(v.x!, o.outputSize);
    case "lpPool2d":
      return T.lpPool2d(v.x!, o);
    case "channelShuffle":
      return T.channelShuffle(v.x!, o.groups);
    case "conv3d":
      return T.conv3d(v.x!, v.weight!, v.bias, o);
    case "maxPool3d":
      return T.maxPool3d(v.x!, o);
    case "avgPool3d":
      return T.avgPool3d(v.x!, o);
    case "adaptiveAvgPool3d":
      return T.adaptiveAvgPool3d(v.x!, o.outputSize);
    case "adaptiveMaxPool3d":
      return T.adaptiveMaxPool3d(v.x!, o.outputSize);
    case "convTranspose3d":
      return T.convTranspose3d(v.x!, v.weight!, v.bias, o);
    case "unfold":
      return T.unfold(v.x!, o);
    case "maxPool2dIndices":
      return T.maxPool2dWithIndices(v.x!, o).indices;
    case "maxUnpool2d":
      return T.maxUnpool2d(v.x!, v.indices!, o);
    case "gridSample":
      return T.gridSample(v.input!, v.grid!, o);
    case "affineGrid": {
      const { size, ...rest } = o;
      return T.affineGrid(v.theta!, size, rest);
    }
    case "fold":
      return T.fold(v.x!, o);
    case "pixelShuffle":
      return T.pixelShuffle(v.x!, o.upscaleFactor);
    case "pixelUnshuffle":
      return T.pixelUnshuffle(v.x!, o.downscaleFactor);
    case "linear":
      return T.linear(v.x!, v.weight!, v.bias);
    case "softmax":
      return T.softmax(v.x!, o);
    case "logSoftmax":
      return T.logSoftmax(v.x!, o);
    case "crossEntropy":
      return T.crossEntropy(v.logits!, v.labels!, {
        ...o,
        weight: v.weight ?? undefined,
      });
    case "nllLoss":
      return T.nllLoss(v.logProbs!, v.labels!, {
        ...o,
        weight: v.weight ?? undefined,
      });
    case "mseLoss":
      return T.mseLoss(v.x!, v.target!, o);
    case "l1Loss":
      return T.l1Loss(v.x!, v.target!, o);
    case "binaryCrossEntropy":
      return T.binaryCrossEntropy(v.input!, v.target!, {
        ...o,
        weight: v.weight,
      });
    case "binaryCrossEntropyWithLogits":
      return T.binaryCrossEntropyWithLogits(v.logits!, v.targets!, {
        ...o,
        posWeight: v.posWeight ?? undefined,
        weight: v.weight ?? undefined,
      });
    case "relu":
      return T.relu(v.x!);
    case "tanh":
      return T.tanh(v.x!);
    case "sigmoid":
      return T.sigmoid(v.x!);
    case "silu":
      return T.silu(v.x!);
    case "leakyRelu":
      return T.leakyRelu(v.x!, o);
    case "elu":
      return T.elu(v.x!, o);
    case "gelu":
      return T.gelu(v.x!, o);
    case "softplus":
      return T.softplus(v.x!, o);
    case "prelu":
      return T.prelu(v.x!, v.weight!);
    case "hardtanh":
      return T.hardtanh(v.x!, o);
    case "selu":
    case "tanhshrink":
      return T[c.op](v.x!);
    case "celu":
    case "softshrink":
    case "hardshrink":
      return T[c.op](v.x!, o);
    case "glu":
    case "softmin":
      return T[c.op](v.x!, o.axis ?? -1);
    case "threshold":
      return T.threshold(v.x!, o.threshold, o.value);
    case "relu6":
    case "hardsigmoid":
    case "hardswish":
    case "logSigmoid":
    case "softsign":
    case "mish":
      return T[c.op](v.x!);
    case "batchNorm":
      return T.batchNorm(v.x!, {
        ...o,
        weight: v.weight,
        bias: v.bias,
        runningMean: v.runningMean,
        runningVar: v.runningVar,
      });
    case "pad":
      return T.pad(v.x!, o.widths, {
        ...(o.mode ? { mode: o.mode } : {}),
        ...(o.value !== undefined ? { value: o.value } : {}),
      });
    case "conv2dLayer": { // nn.Conv2d with padding_mode: the layer applied
      const [outChannels, inChannels, kh, kw] = v.weight!.shape;
      const layer = T.nn.conv2d({
        inChannels,
        outChannels,
        kernelSize: [kh, kw],
        dtype: "float64",
        ...o,
      });
      return layer.apply({ weight: v.weight!, bias: v.bias! }, v.x!);
    }
    case "conv1dLayer": { // nn.Conv1d with padding_mode
      const [outChannels, inChannels, kernelSize] = v.weight!.shape;
      const layer = T.nn.conv1d({
        inChannels,
        outChannels,
        kernelSize,
        dtype: "float64",
        ...o,
      });
      return layer.apply({ weight: v.weight!, bias: v.bias! }, v.x!);
    }
  }
  throw new Error(`unknown op ${c.op}`);
}

function runCase(
  c: Case,
  dtype: "float64" | "float32",
  tol: { atol: number; rtol: number },
) {
  const inputs: Record<string, Tensor | null> = {};
  for (const [k, j] of Object.entries(c.inputs)) inputs[k] = toT(j, dtype);
  const names = Object.keys(c.grads);
  const f = (...xs: Tensor[]) => {
    const v = { ...inputs };
    names.forEach((n, i) => (v[n] = xs[i]));
    const out = callOp(c, v);
    return c.op === "batchNorm" ? out.y : out;
  };
  const [y, back] = T.vjp(f, ...names.map((n) => inputs[n]!));
  const expectedY = c.op === "batchNorm" ? c.output.y : c.output;
  assertAllClose(y, toT(expectedY, dtype)!, {
    ...tol,
    msg: `${c.name} (${dtype}) output`,
  });
  if (c.op === "batchNorm" && c.output.runningMean) {
    const out = callOp(c, inputs);
    assertAllClose(out.runningMean, toT(c.output.runningMean, dtype)!, {
      ...tol,
      msg: `${c.name} runningMean`,
    });
    assertAllClose(out.runningVar, toT(c.output.runningVar, dtype)!, {
      ...tol,
      msg: `${c.name} runningVar`,
    });
  }
  const grads = back(toT(c.cotangent, dtype)!);
  names.forEach((n, i) => {
    assertAllClose(grads[i], toT(c.grads[n], dtype)!, {
      ...tol,
      msg: `${c.name} (${dtype}) grad ${n}`,
    });
  });
}

const cases = fixture.cases as unknown as Case[];
const ops = [...new Set(cases.map((c) => c.op))];
for (const op of ops) {
  Deno.test(`PyTorch fixtures: ${op}`, async (t) => {
    for (const c of cases.filter((c) => c.op === op)) {
      await t.step(c.name, () => {
        runCase(c, "float64", { atol: 1e-12, rtol: 1e-10 });
        runCase(c, "float32", { atol: 1e-4, rtol: 1e-4 });
      });
    }
  });
}

const hvpFns: Record<string, (v: Record<string, Tensor>) => Tensor> = {
  "hvp conv2d tanh square": (v) =>
    T.sum(
      T.square(
        T.tanh(T.conv2d(v.x, v.weight, v.bias, { stride: 1, padding: 1 })),
      ),
    ),
  "hvp conv2d tanh maxPool2d flatten linear": (v) =>
    T.sum(
      T.square(
        T.linear(
          T.flatten(
            T.maxPool2d(T.tanh(T.conv2d(v.x, v.w1, v.b1)), { kernelSize: 2 }),
            1,
          ),
          v.w2,
          v.b2,
        ),
      ),
    ),
  "hvp mlp crossEntropy": (v) =>
    T.crossEntropy(
      T.linear(T.tanh(T.linear(v.x, v.w1, v.b1)), v.w2, v.b2),
      v.labels,
    ),
  "hvp conv2d stride 2 dilation 2 groups 2 softplus": (v) =>
    T.sum(
      T.square(
        T.softplus(
          T.conv2d(v.x, v.weight, v.bias, {
            stride: 2,
            padding: [1, 2],
            dilation: 2,
            groups: 2,
          }),
        ),
      ),
    ),
  "hvp convTranspose2d avgPool2d gelu": (v) =>
    T.sum(T.square(T.gelu(T.avgPool2d(
      T.convTranspose2d(v.x, v.weight, v.bias, {
        stride: 2,
        padding: 1,
        outputPadding: 1,
      }),
      { kernelSize: 2, stride: 1 },
    )))),
  "hvp same-padding conv2d logSoftmax nllLoss": (v) =>
    T.nllLoss(
      T.logSoftmax(
        T.conv2d(v.x, v.weight, v.bias, { padding: "same", dilation: 2 }),
        1,
      ),
      v.labels,
    ),
  "hvp batchNorm training tanh": (v) => {
    const t = T.tanh(
      T.batchNorm(v.x, {
        weight: v.weight,
        bias: v.bias,
        training: true,
        momentum: 0.1,
        eps: 1e-5,
      }).y,
    );
    return T.sum(T.mul(T.square(t), t));
  },
  "hvp linear silu mseLoss": (v) =>
    T.mseLoss(T.linear(T.silu(v.x), v.weight, v.bias), v.target),
};

Deno.test("Hessian-vector products match PyTorch's double backward (reverse over reverse, forward over reverse, and the full hessian)", async (t) => {
  for (
    const h of fixture.hvp as unknown as {
      name: string;
      inputs: Record<string, J>;
      v: Record<string, J>;
      value: number;
      grads: Record<string, J>;
      hvp: Record<string, J>;
    }[]
  ) {
    await t.step(h.name, () => {
      const fn = hvpFns[h.name];
      if (!fn) throw new Error(`no function for ${h.name}`);
      const consts: Record<string, Tensor> = {};
      for (const [k, j] of Object.entries(h.inputs)) consts[k] = toT(j)!;
      const names = Object.keys(h.v);
      const f = (...xs: Tensor[]) => {
        const v = { ...consts };
        names.forEach((n, i) => (v[n] = xs[i]));
        return fn(v);
      };
      const args = names.map((n) => consts[n]);
      const dirs = names.map((n) => toT(h.v[n])!);
      const [value, g] = T.valueAndGrad(f, { argnums: names.map((_, i) => i) })(
        ...args,
      );
      assertAllClose(value, h.value, {
        atol: 1e-12,
        rtol: 1e-10,
        msg: `${h.name} value`,
      });
      names.forEach((n, i) =>
        assertAllClose(g[i], toT(h.grads[n])!, {
          atol: 1e-12,
          rtol: 1e-10,
          msg: `${h.name} grad ${n}`,
        })
      );
      // reverse-over-reverse: grad of <grad f, v>
      const gv = (...xs: Tensor[]) => {
        const gs = T.grad(f, { argnums: names.map((_, i) => i) })(
          ...xs,
        ) as Tensor[];
        return gs.reduce(
          (s: Tensor, gi, i) => T.add(s, T.sum(T.mul(gi, dirs[i]))),
          T.tensor(0, { dtype: "float64" }),
        );
      };
      const hv = T.grad(gv, { argnums: names.map((_, i) => i) })(
        ...args,
      );
      names.forEach((n, i) =>
        assertAllClose(hv[i], toT(h.hvp[n])!, {
          atol: 1e-11,
          rtol: 1e-9,
          msg: `${h.name} hvp ${n}`,
        })
      );
      // forward-over-reverse gives the same
      const [, hvFwd] = T.jvp(
        (...xs: Tensor[]) =>
          T.grad(f, { argnums: names.map((_, i) => i) })(...xs),
        args,
        dirs,
      );
      names.forEach((n, i) =>
        assertAllClose(hvFwd[i], toT(h.hvp[n])!, {
          atol: 1e-11,
          rtol: 1e-9,
          msg: `${h.name} fwd hvp ${n}`,
        })
      );
      // the full Hessian (jacfwd of jacrev, vmapped over every basis
      // vector) contracted with v: H[a][b] has shape [...a, ...b]
      const nums = names.map((_, i) => i);
      const hess = T.hessian(f, { argnums: nums })(
        ...args,
      ) as unknown as Tensor[][];
      names.forEach((n, a) => {
        const na = args[a].data.length;
        const hvA = names.reduce(
          (s: Tensor, _, b) =>
            T.add(
              s,
              T.matmul(
                T.reshape(hess[a][b], [na, args[b].data.length]),
                T.reshape(dirs[b], [-1]),
              ),
            ),
          T.zeros([na], { dtype: "float64" }),
        );
        assertAllClose(T.reshape(hvA, [...args[a].shape]), toT(h.hvp[n])!, {
          atol: 1e-10,
          rtol: 1e-8,
          msg: `${h.name} hessian · v ${n}`,
        });
      });
    });
  }
});
