/**
 * Every public function, given a wrong argument, throws an `Error` whose
 * message names the function (the design's error contract), never a
 * `TypeError` or `RangeError` from inside: each function of mod.ts and of
 * the nn, optim, schedules, random, data and linalg namespaces, called with
 * odd values (undefined, null, NaN, negative and fractional numbers, an
 * empty object or array, a string, an int32 tensor, a random key, a
 * function, a huge number, a ragged array, a scalar and a 4-D tensor) in
 * several argument positions. A call that returns is fine (many accept
 * some of these); only how a call fails is checked.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

/** Odd values by label: what the sweeps put where an argument or option goes. */
const ODD: Record<string, unknown> = {
  undefined: undefined,
  null: null,
  NaN: NaN,
  "-1": -1,
  "0": 0,
  "1.5": 1.5,
  "1e12": 1e12,
  Infinity: Infinity,
  true: true,
  "{}": {},
  "[]": [],
  '"x"': "x",
  "[1, 2, 3]": [1, 2, 3],
  "[[1], [2, 3]]": [[1], [2, 3]],
  "a function": () => 1,
  "a bigint": 2n,
  "a symbol": Symbol("odd"),
  "[1n, 2]": [1n, 2],
  "a key": T.random.key(0),
  "a tensor": T.tensor([1, 2]),
  "an int32 tensor": T.tensor([1, 2], { dtype: "int32" }),
  "a scalar tensor": T.tensor(2),
  "a 4-D tensor": T.zeros([1, 1, 2, 2]),
};

/** The odd values with these labels, as [label, value] pairs. */
const odds = (...labels: string[]): [string, unknown][] =>
  labels.map((l) => {
    assert.ok(l in ODD, l);
    return [l, ODD[l]];
  });

/** Functions left out: they write files or change global settings. */
const SKIPPED = new Set([
  "setNumThreads",
  "setDebugNans",
  "saveSafetensors",
  "writePng",
  "pureCallback",
]);

Deno.test("api errors: every public function fails on wrong arguments with an Error that names it", () => {
  const t = T.tensor([1, 2, 3]), t4 = T.ones([1, 1, 4, 4]);
  // where the odd value goes: alone, after one to four tensors (vectors, or
  // images for the CNN ops, an optional argument left out), in an options bag
  const positions = (a: unknown): unknown[][] => [
    [a],
    [t, a],
    [a, t],
    [t, t, a],
    [t, t, t, a],
    [t, t, t, t, a],
    [t4, a],
    [t4, t4, a],
    [t4, undefined, a],
    [t4, t4, undefined, a],
    [t, { x: a }],
  ];
  const odd = odds(
    "undefined",
    "null",
    "NaN",
    "-1",
    "1.5",
    "{}",
    "[]",
    '"x"',
    "an int32 tensor",
    "a key",
    "a function",
    "1e12",
    "[[1], [2, 3]]",
    "a scalar tensor",
    "a 4-D tensor",
    "a bigint",
    "a symbol",
  );
  const namespaces: [string, Record<string, unknown>][] = [
    ["", T as unknown as Record<string, unknown>],
    ["nn.", T.nn as unknown as Record<string, unknown>],
    ["nn.init.", T.nn.init as unknown as Record<string, unknown>],
    ["optim.", T.optim as unknown as Record<string, unknown>],
    [
      "optim.schedules.",
      T.optim.schedules as unknown as Record<string, unknown>,
    ],
    ["random.", T.random as unknown as Record<string, unknown>],
    ["data.", T.data as unknown as Record<string, unknown>],
    ["linalg.", T.linalg as unknown as Record<string, unknown>],
  ];
  const problems: string[] = [];
  let calls = 0;
  for (const [ns, mod] of namespaces) {
    for (const [name, f] of Object.entries(mod)) {
      if (typeof f !== "function" || /^[A-Z]/.test(name)) continue;
      if (SKIPPED.has(name)) continue;
      for (const [label, a] of odd) {
        for (const args of positions(a)) {
          calls++;
          try {
            const r = (f as (...xs: unknown[]) => unknown)(...args);
            if (r instanceof Promise) r.catch(() => {});
          } catch (e) {
            const shown = args.map((x) =>
              x === a
                ? label
                : x === t
                ? "t"
                : x === t4
                ? "t4"
                : x === undefined
                ? "undefined"
                : "{ x }"
            );
            const call = `${ns}${name}(${shown.join(", ")})`;
            if (!(e instanceof Error) || e.constructor !== Error) {
              problems.push(`${call}: ${(e as Error)?.constructor?.name} ${e}`);
            } else if (!e.message.toLowerCase().includes(name.toLowerCase())) {
              problems.push(
                `${call}: the message does not name it: ${e.message}`,
              );
            }
          }
        }
      }
    }
  }
  assert.ok(calls > 4000, `only ${calls} calls`);
  assert.deepEqual(problems, []);
});

Deno.test("api errors: layers' init and apply and optimizers' init and update fail on wrong arguments with an Error naming the layer or optimizer", () => {
  const odd = odds(
    "undefined",
    "null",
    "NaN",
    "{}",
    '"x"',
    "a key",
    "a function",
  );
  const layers: [string, T.nn.AnyLayer][] = [
    ["Linear", T.nn.linear({ inFeatures: 3, outFeatures: 2 })],
    ["Conv2d", T.nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 })],
    ["MaxPool2d", T.nn.maxPool2d({ kernelSize: 2 })],
    ["AdaptiveAvgPool2d", T.nn.adaptiveAvgPool2d({ outputSize: 1 })],
    ["AdaptiveMaxPool2d", T.nn.adaptiveMaxPool2d({ outputSize: 1 })],
    ["AdaptiveMaxPool1d", T.nn.adaptiveMaxPool1d({ outputSize: 1 })],
    ["LPPool2d", T.nn.lpPool2d({ normType: 2, kernelSize: 2 })],
    [
      "FractionalMaxPool2d",
      T.nn.fractionalMaxPool2d({ kernelSize: 2, outputSize: 1 }),
    ],
    ["Unfold", T.nn.unfold({ kernelSize: 2 })],
    ["Fold", T.nn.fold({ outputSize: 3, kernelSize: 2 })],
    ["PixelShuffle", T.nn.pixelShuffle(2)],
    ["Flatten", T.nn.flatten()],
    ["Sequential", T.nn.sequential(T.nn.relu, T.nn.flatten())],
    ["Net", T.nn.lenet5()],
  ];
  const problems: string[] = [];
  const expect = (call: string, name: string, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof Error) || e.constructor !== Error) {
        problems.push(`${call}: ${(e as Error)?.constructor?.name} ${e}`);
      } else if (!e.message.startsWith(name)) {
        problems.push(`${call}: not named ${name}: ${e.message}`);
      }
      return;
    }
    problems.push(`${call}: no error`);
  };
  // (odd[5] is a key: fine for init; {} is a tree: fine for optimizers)
  for (const [name, layer] of layers) {
    const params = layer.init(T.random.key(0));
    for (const [label, a] of odd) {
      const takesKey = Object.keys(params as object).length > 0 ||
        name === "Sequential";
      if (takesKey && label !== "a key") {
        expect(`${name}.init(${label})`, "nn.", () => layer.init(a as never));
      }
      expect(
        `${name}.apply(params, ${label})`,
        "nn.",
        () => layer.apply(params, a as never),
      );
    }
  }
  const params = { w: T.ones([2, 2]) };
  for (
    const name of [
      "sgd",
      "adam",
      "rmsprop",
      "adagrad",
      "lion",
      "lamb",
      "adafactor",
      "asgd",
    ] as const
  ) {
    const opt = T.optim[name]({ lr: 0.1 });
    const state = opt.init(params);
    for (const [label, a] of odd.filter(([l]) => l !== "{}")) {
      expect(
        `optim.${name}.init(${label})`,
        `optim.${name}`,
        () => opt.init(a as never),
      );
      expect(
        `optim.${name}.update(${label}, state, params)`,
        `optim.${name}`,
        () => opt.update(a as never, state, params),
      );
      expect(
        `optim.${name}.update(grads, ${label}, params)`,
        `optim.${name}`,
        () => opt.update(params, a as never, params),
      );
    }
  }
  for (
    const [fn, t] of [
      [
        "optim.multiTransform",
        T.optim.multiTransform(
          { a: T.optim.adam(), b: T.optim.setToZero() },
          (p) => p === "w" ? "a" : "b",
        ),
      ],
      ["optim.masked", T.optim.masked(T.optim.adam(), () => true)],
      ["optim.multiSteps", T.optim.multiSteps(T.optim.adam(), { everyK: 2 })],
    ] as const
  ) {
    const state = t.init(params);
    for (const [label, a] of odd.filter(([l]) => l !== "{}")) {
      expect(`${fn}.init(${label})`, fn, () => t.init(a as never));
      expect(
        `${fn}.update(${label}, state, params)`,
        fn,
        () => t.update(a as never, state as never, params),
      );
    }
    for (const [label, a] of odd) {
      expect(
        `${fn}.update(grads, ${label}, params)`,
        "optim.",
        () => t.update(params, a as never, params),
      );
    }
  }
  {
    const fn = "optim.averagedModel";
    const swa = T.optim.averagedModel();
    const state = swa.init(params);
    for (const [label, a] of odd) {
      if (label !== "{}") {
        expect(`${fn}.init(${label})`, fn, () => swa.init(a as never));
        expect(
          `${fn}.updateParameters(state, ${label})`,
          fn,
          () => swa.updateParameters(state, a as never),
        );
      }
      expect(
        `${fn}.updateParameters(${label}, params)`,
        fn,
        () => swa.updateParameters(a as never, params),
      );
    }
  }
  {
    const fn = "optim.lbfgs";
    const opt = T.optim.lbfgs();
    const state = opt.init(params);
    const g = T.valueAndGrad((q: typeof params) => T.sum(q.w));
    for (const [label, a] of odd) {
      if (label !== "{}") {
        expect(`${fn}.init(${label})`, fn, () => opt.init(a as never));
        expect(
          `${fn}.step(g, ${label}, state)`,
          fn,
          () => opt.step(g, a as never, state),
        );
      }
      expect(
        `${fn}.step(${label}, params, state)`,
        fn,
        () => opt.step(a as never, params, state),
      );
      expect(
        `${fn}.step(g, params, ${label})`,
        fn,
        () => opt.step(g, params, a as never),
      );
      expect(
        `${fn}.step(() => ${label}, params, state)`,
        fn,
        () => opt.step((() => a) as never, params, state),
      );
      expect(
        `${fn}.step(() => [loss, ${label}], params, state)`,
        fn,
        () =>
          opt.step(
            ((p: typeof params) => [T.sum(p.w), a]) as never,
            params,
            state,
          ),
      );
    }
  }
  const plateau = T.optim.reduceLROnPlateau(T.optim.sgd({ lr: 0.1 }));
  const pState = plateau.init(params);
  for (const [label, a] of odd) {
    const fn = "optim.reduceLROnPlateau";
    expect(`${fn}(${label})`, fn, () => T.optim.reduceLROnPlateau(a as never));
    if (label !== "{}") {
      expect(`${fn}.init(${label})`, fn, () => plateau.init(a as never));
      expect(
        `${fn}.update(${label}, state, params)`,
        fn,
        () => plateau.update(a as never, pState, params),
      );
    }
    expect(
      `${fn}.update(grads, ${label}, params)`,
      fn,
      () => plateau.update(params, a as never, params),
    );
    expect(`${fn}.step(${label}, 1)`, fn, () => plateau.step(a as never, 1));
    if (!["NaN", "-1", "0", "1.5"].includes(label)) {
      expect(
        `${fn}.step(state, ${label})`,
        fn,
        () => plateau.step(pState, a as never),
      );
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("api errors: odd values of each known option (layers, ops, optimizers, schedules, data transforms, checkGrads) give the function's own Error", () => {
  const odd = odds(
    "undefined",
    "null",
    "NaN",
    "-1",
    "0",
    "1.5",
    "1e12",
    "{}",
    "[]",
    '"x"',
    "[1, 2, 3]",
    "true",
    "Infinity",
    "a function",
    "a bigint",
    "a symbol",
    "[1n, 2]",
    "a tensor",
  );
  const x = T.random.normal(T.random.key(0), [2, 3, 8, 8]);
  const key = T.random.key(1);
  // (the option bags the 2-D and 1-D layers and the ops share)
  const MAX_POOL = {
    kernelSize: 2,
    stride: 2,
    padding: 0,
    dilation: 1,
    ceilMode: false,
  };
  const CONV = {
    kernelSize: 3,
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
    bias: true,
  };
  const PATCHES = { kernelSize: 2, dilation: 1, padding: 1, stride: 1 };
  const AVG_POOL = {
    kernelSize: 2,
    stride: 2,
    padding: 0,
    ceilMode: false,
    countIncludePad: true,
  };
  // [the prefixes its errors may start with (a layer's apply names the op it
  // runs), the name, base options, the call]
  type Case = [
    string[],
    string,
    Record<string, unknown>,
    (o: never) => unknown,
  ];
  const layer = (l: T.nn.AnyLayer) =>
    l.applyWithState(l.init(key), l.initState(), x, { training: true, key });
  const cases: Case[] = [
    [
      ["nn."],
      "nn.linear",
      { inFeatures: 3, outFeatures: 2, bias: true },
      (o) => T.nn.linear(o).init(key),
    ],
    [["nn.", "conv2d:"], "nn.conv2d", {
      inChannels: 3,
      outChannels: 2,
      ...CONV,
    }, (
      o,
    ) => layer(T.nn.conv2d(o))],
    [["nn.", "convTranspose2d:"], "nn.convTranspose2d", {
      inChannels: 3,
      outChannels: 2,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      outputPadding: 1,
    }, (o) => layer(T.nn.convTranspose2d(o))],
    [["nn.", "instanceNorm:"], "nn.instanceNorm2d", {
      numFeatures: 3,
      eps: 1e-5,
      momentum: 0.1,
      affine: true,
      trackRunningStats: true,
    }, (o) => layer(T.nn.instanceNorm2d(o))],
    [["tripletMarginLoss:"], "tripletMarginLoss", {
      margin: 1,
      p: 2,
      eps: 1e-6,
      swap: true,
      reduction: "mean",
    }, (o) => T.tripletMarginLoss(x, T.mul(x, 2), T.neg(x), o)],
    [
      ["multiMarginLoss:"],
      "multiMarginLoss",
      {
        p: 2,
        margin: 1,
        weight: T.ones([8]),
        reduction: "sum",
      },
      (o) =>
        T.multiMarginLoss(
          T.reshape(x, [48, 8]),
          T.zeros([48], { dtype: "int32" }),
          o,
        ),
    ],
    [["poissonNllLoss:"], "poissonNllLoss", {
      logInput: false,
      full: true,
      eps: 1e-8,
      reduction: "none",
    }, (o) => T.poissonNllLoss(T.abs(x), T.abs(x), o)],
    [
      ["cosineEmbeddingLoss:"],
      "cosineEmbeddingLoss",
      {
        margin: 0.1,
        reduction: "mean",
      },
      (o) =>
        T.cosineEmbeddingLoss(
          T.reshape(x, [48, 8]),
          T.reshape(x, [48, 8]),
          T.ones([48]),
          o,
        ),
    ],
    [["nn.", "convTranspose1d:"], "nn.convTranspose1d", {
      inChannels: 4,
      outChannels: 2,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      outputPadding: 1,
      dilation: 1,
      groups: 1,
    }, (o) => layer3(T.nn.convTranspose1d(o))],
    [["nn.", "batchNorm:"], "nn.batchNorm2d", {
      numFeatures: 3,
      eps: 1e-5,
      momentum: 0.1,
      affine: true,
      trackRunningStats: true,
    }, (o) => layer(T.nn.batchNorm2d(o))],
    [
      ["nn.", "dropout:"],
      "nn.dropout",
      { p: 0.5 },
      (o) => layer(T.nn.dropout(o)),
    ],
    [
      ["nn.", "adaptiveAvgPool2d:"],
      "nn.adaptiveAvgPool2d",
      { outputSize: 2 },
      (o) => layer(T.nn.adaptiveAvgPool2d(o)),
    ],
    [
      ["nn.", "adaptiveMaxPool2d:"],
      "nn.adaptiveMaxPool2d",
      { outputSize: 2 },
      (o) => layer(T.nn.adaptiveMaxPool2d(o)),
    ],
    [["nn.", "unfold:"], "nn.unfold", PATCHES, (o) => layer(T.nn.unfold(o))],
    [
      ["nn.", "channelShuffle:"],
      "nn.channelShuffle",
      { groups: 1 },
      (o) => layer(T.nn.channelShuffle(o)),
    ],
    [
      ["nn.", "alphaDropout:"],
      "nn.alphaDropout",
      { p: 0.5 },
      (o) => layer(T.nn.alphaDropout(o)),
    ],
    [["unfold:"], "unfold", PATCHES, (o) => T.unfold(x, o)],
    [
      ["nn.", "fold:"],
      "nn.fold",
      { outputSize: 8, ...PATCHES },
      (o) => T.nn.fold(o).apply({}, T.ones([2, 12, 81])),
    ],
    [
      ["fold:"],
      "fold",
      { outputSize: 8, ...PATCHES },
      (o) => T.fold(T.ones([2, 12, 81]), o),
    ],
    [["conv2d:"], "conv2d", { stride: 1, padding: 1, dilation: 1, groups: 1 }, (
      o,
    ) => T.conv2d(x, T.ones([2, 3, 3, 3]), undefined, o)],
    [["maxPool2d:"], "maxPool2d", MAX_POOL, (o) => T.maxPool2d(x, o)],
    [
      ["crossEntropy:"],
      "crossEntropy",
      {
        reduction: "mean",
        ignoreIndex: -100,
        labelSmoothing: 0.1,
      },
      (o) =>
        T.crossEntropy(T.ones([2, 3]), T.tensor([0, 1], { dtype: "int32" }), o),
    ],
    [["batches:"], "data.batches", {
      batchSize: 2,
      shuffle: true,
      key,
      dropLast: false,
    }, (o) => [
      ...T.data.batches(
        { x: T.ones([5, 2]), y: T.zeros([5], { dtype: "int32" }) },
        o,
      ),
    ]],
    [["checkGrads:"], "checkGrads", {
      order: 1,
      seed: 0,
      modes: ["rev"],
      eps: 1e-3,
      atol: 1e-2,
      rtol: 1e-2,
    }, (o) =>
      T.checkGrads(
        (v: T.Tensor) => T.sum(T.mul(v, v)),
        [T.tensor([1, 2], { dtype: "float64" })],
        o,
      )],
  ];
  const img = T.ones([2, 1, 8, 8]);
  cases.push(
    [
      ["randomCrop:"],
      "data.randomCrop",
      { size: 8, padding: 2, key },
      (o) => T.data.randomCrop(img, o),
    ],
    [["randomHorizontalFlip:"], "data.randomHorizontalFlip", { p: 0.5, key }, (
      o,
    ) => T.data.randomHorizontalFlip(img, o)],
    [["randomVerticalFlip:"], "data.randomVerticalFlip", { p: 0.5, key }, (
      o,
    ) => T.data.randomVerticalFlip(img, o)],
    [["affine:"], "data.affine", {
      angle: 10,
      translate: [1, 2],
      scale: 1.2,
      shear: [5, 3],
      mode: "bilinear",
      fill: 0.5,
      center: [3, 4],
    }, (o) => T.data.affine(img, o)],
    [["rotate:"], "data.rotate", {
      mode: "bilinear",
      expand: true,
      center: [3, 4],
      fill: [0.5],
    }, (o) => T.data.rotate(img, 30, o)],
    [["randomAffine:"], "data.randomAffine", {
      degrees: [-10, 20],
      translate: [0.1, 0.2],
      scale: [0.9, 1.1],
      shear: [-5, 5, 0, 2],
      mode: "nearest",
      fill: 1,
      center: [1, 2],
      key,
    }, (o) => T.data.randomAffine(img, o)],
    [["randomRotation:"], "data.randomRotation", {
      degrees: 15,
      mode: "bilinear",
      center: [1, 2],
      fill: 1,
      key,
    }, (o) => T.data.randomRotation(img, o)],
    [
      ["mixup:"],
      "data.mixup",
      { numClasses: 3, alpha: 0.4, p: 0.9, key },
      (o) => T.data.mixup(img, T.tensor([0, 2], { dtype: "int32" }), o),
    ],
    [
      ["cutmix:"],
      "data.cutmix",
      { numClasses: 3, alpha: 0.4, p: 0.9, key },
      (o) => T.data.cutmix(img, T.tensor([0, 2], { dtype: "int32" }), o),
    ],
    [["randomResizedCrop:"], "data.randomResizedCrop", {
      size: [3, 3],
      scale: [0.2, 0.9],
      ratio: [0.5, 2],
      mode: "nearest",
      key,
    }, (o) => T.data.randomResizedCrop(img, o)],
    [["randomResizedCropBoxes:"], "data.randomResizedCropBoxes", {
      scale: [0.2, 0.9],
      ratio: [0.5, 2],
      key,
    }, (o) => T.data.randomResizedCropBoxes(3, [6, 6], o)],
    [["resizedCrop:"], "data.resizedCrop", {
      top: 1,
      left: -1,
      height: 3,
      width: 2,
      size: [4, 4],
      mode: "bilinear",
    }, (o) => T.data.resizedCrop(img, o)],
    [["colorJitter:"], "data.colorJitter", {
      brightness: 0.2,
      contrast: 0.2,
      saturation: 0.2,
      hue: 0.1,
      key,
    }, (o) => T.data.colorJitter(img, o)],
    [["randomErasing:"], "data.randomErasing", {
      p: 0.5,
      scale: [0.02, 0.33],
      ratio: [0.3, 3.3],
      value: 0,
      key,
    }, (o) => T.data.randomErasing(img, o)],
    [["erase:"], "data.erase", {
      top: 1,
      left: 1,
      height: 2,
      width: 2,
      value: 0,
    }, (o) => T.data.erase(img, o)],
    [
      ["gaussianBlur:"],
      "data.gaussianBlur",
      { sigma: 1 },
      (o) => T.data.gaussianBlur(img, 3, o),
    ],
    [
      ["resize:"],
      "data.resize",
      { mode: "nearest", maxSize: 20 },
      (o) => T.data.resize(img, 5, o),
    ],
    [
      ["padImages:"],
      "data.padImages",
      { value: 0 },
      (o) => T.data.padImages(img, 2, o),
    ],
  );
  const z = T.random.normal(key, [2, 3]), u = T.random.uniform(key, [2, 3]);
  const square = (v: T.Tensor) => T.mul(v, v);
  cases.push(
    [["binaryCrossEntropyWithLogits:"], "binaryCrossEntropyWithLogits", {
      reduction: "mean",
      posWeight: T.ones([3]),
      weight: T.ones([2, 3]),
    }, (o) => T.binaryCrossEntropyWithLogits(z, u, o)],
    [
      ["dropout:"],
      "dropout",
      { p: 0.5, key, training: true },
      (o) => T.dropout(z, o),
    ],
    [
      ["jacrev:"],
      "jacrev",
      { argnums: 0, hasAux: false },
      (o) => T.jacrev(square, o)(T.ones([2])),
    ],
    [
      ["jacfwd:"],
      "jacfwd",
      { argnums: 0, hasAux: false },
      (o) => T.jacfwd(square, o)(T.ones([2])),
    ],
    [
      ["hessian:"],
      "hessian",
      { argnums: 0 },
      (o) => T.hessian((v: T.Tensor) => T.sum(square(v)), o)(T.ones([2])),
    ],
  );
  const x3 = T.random.normal(key, [2, 4, 6]);
  const layer3 = (l: T.nn.AnyLayer) =>
    l.applyWithState(l.init(key), l.initState(), x3, { training: true, key });
  const x5 = T.random.normal(key, [2, 4, 4, 4, 4]);
  const layer5 = (l: T.nn.AnyLayer) =>
    l.applyWithState(l.init(key), l.initState(), x5, { training: true, key });
  // the pooling layers in 2-D, 1-D and 3-D
  const pools = [
    ["2d", layer, T.nn.maxPool2d, T.nn.avgPool2d],
    ["1d", layer3, T.nn.maxPool1d, T.nn.avgPool1d],
    ["3d", layer5, T.nn.maxPool3d, T.nn.avgPool3d],
  ] as const;
  cases.push(
    [["nn.", "conv3d:"], "nn.conv3d", {
      inChannels: 4,
      outChannels: 2,
      ...CONV,
    }, (o) => layer5(T.nn.conv3d(o))],
    [
      ["nn.", "adaptiveAvgPool3d:"],
      "nn.adaptiveAvgPool3d",
      { outputSize: 2 },
      (o) => layer5(T.nn.adaptiveAvgPool3d(o)),
    ],
    [["nn.", "convTranspose3d:"], "nn.convTranspose3d", {
      inChannels: 4,
      outChannels: 2,
      kernelSize: 2,
      stride: 2,
      padding: 0,
      outputPadding: 1,
      dilation: 1,
      groups: 1,
      bias: true,
    }, (o) => layer5(T.nn.convTranspose3d(o))],
    [["conv3d:"], "conv3d", {
      stride: 1,
      padding: 1,
      dilation: 1,
      groups: 2,
    }, (o) => T.conv3d(x5, T.ones([2, 2, 3, 3, 3]), null, o)],
  );
  const lp = { normType: 2, kernelSize: 2, stride: 1, ceilMode: true };
  cases.push(
    [["nn.", "lpPool2d:"], "nn.lpPool2d", lp, (o) => layer(T.nn.lpPool2d(o))],
    [["lpPool2d:"], "lpPool2d", lp, (o) => T.lpPool2d(x, o)],
    [["nn.", "lpPool1d:"], "nn.lpPool1d", lp, (o) => layer3(T.nn.lpPool1d(o))],
    [["lpPool1d:"], "lpPool1d", lp, (o) => T.lpPool1d(x3, o)],
    [
      ["nn.", "adaptiveAvgPool1d:"],
      "nn.adaptiveAvgPool1d",
      { outputSize: 2 },
      (o) => layer3(T.nn.adaptiveAvgPool1d(o)),
    ],
    [
      ["nn.", "adaptiveMaxPool1d:"],
      "nn.adaptiveMaxPool1d",
      { outputSize: 2 },
      (o) => layer3(T.nn.adaptiveMaxPool1d(o)),
    ],
  );
  for (const [d, run, maxPool, avgPool] of pools) {
    cases.push(
      [
        ["nn.", `maxPool${d}:`],
        `nn.maxPool${d}`,
        MAX_POOL,
        (o) => run(maxPool(o)),
      ],
      [
        ["nn.", `avgPool${d}:`],
        `nn.avgPool${d}`,
        AVG_POOL,
        (o) => run(avgPool(o)),
      ],
    );
  }
  cases.push(
    [["fractionalMaxPool2d:"], "fractionalMaxPool2d", {
      kernelSize: 2,
      outputSize: 3,
      samples: T.full([2, 3, 2], 0.5),
    }, (o) => T.fractionalMaxPool2d(x, o)],
    [
      ["fractionalMaxPool3d:"],
      "fractionalMaxPool3d",
      { kernelSize: 2, outputRatio: 0.5, key },
      (o) => T.fractionalMaxPool3d(x5, o),
    ],
    [
      ["nn.", "fractionalMaxPool2d:"],
      "nn.fractionalMaxPool2d",
      { kernelSize: 2, outputRatio: [0.5, 0.4] },
      (o) => layer(T.nn.fractionalMaxPool2d(o)),
    ],
    [
      ["nn.", "fractionalMaxPool3d:"],
      "nn.fractionalMaxPool3d",
      { kernelSize: 2, outputSize: 2 },
      (o) => layer5(T.nn.fractionalMaxPool3d(o)),
    ],
  );
  cases.push(
    [["nn.", "conv1d:"], "nn.conv1d", {
      inChannels: 4,
      outChannels: 2,
      ...CONV,
    }, (
      o,
    ) => layer3(T.nn.conv1d(o))],
    [["nn.", "layerNorm:"], "nn.layerNorm", {
      normalizedShape: [6],
      eps: 1e-5,
      elementwiseAffine: true,
    }, (o) => layer3(T.nn.layerNorm(o))],
  );
  const net = T.nn.lenet5(), netParams = net.init(key);
  cases.push(
    [["toOnnx:"], "nn.toOnnx", { inputShape: [1, 1, 32, 32], opset: 17 }, (
      o,
    ) => T.nn.toOnnx(net, netParams, o)],
    [["toTorch:"], "nn.toTorch", {
      className: "Net",
      inputShape: [1, 1, 32, 32],
    }, (
      o,
    ) => T.nn.toTorch(net, o)],
  );
  const S = T.optim.schedules;
  const steps = (s: (k: number) => number) => [0, 1, 5, 9].map(s);
  cases.push(
    [
      ["optim.schedules.stepLR"],
      "stepLR",
      { lr: 0.1, stepSize: 2, gamma: 0.5 },
      (
        o,
      ) => steps(S.stepLR(o)),
    ],
    [["optim.schedules.cosineAnnealing"], "cosineAnnealing", {
      lr: 0.1,
      tMax: 10,
      etaMin: 0,
    }, (o) => steps(S.cosineAnnealing(o))],
    [["optim.schedules.oneCycle"], "oneCycle", {
      maxLr: 0.1,
      totalSteps: 10,
      pctStart: 0.3,
      divFactor: 25,
      finalDivFactor: 1e4,
      threePhase: false,
    }, (o) => steps(S.oneCycle(o))],
    [
      ["optim.schedules.cosineAnnealingWarmRestarts"],
      "cosineAnnealingWarmRestarts",
      {
        lr: 0.1,
        t0: 3,
        tMult: 2,
        etaMin: 0,
      },
      (o) => steps(S.cosineAnnealingWarmRestarts(o)),
    ],
    [["optim.schedules.polynomialLR"], "polynomialLR", {
      lr: 0.1,
      totalIters: 5,
      power: 1,
    }, (o) => steps(S.polynomialLR(o))],
    [["optim.schedules.constantLR"], "constantLR", {
      lr: 0.1,
      factor: 0.5,
      totalIters: 5,
    }, (o) => steps(S.constantLR(o))],
    [["optim.schedules.cyclicLR"], "cyclicLR", {
      baseLr: 0.01,
      maxLr: 0.1,
      stepSizeUp: 2,
      stepSizeDown: 3,
      mode: "exp_range",
      gamma: 0.9,
    }, (o) => steps(S.cyclicLR(o))],
    [["optim.schedules.linearLR"], "linearLR", {
      lr: 0.1,
      startFactor: 0.5,
      endFactor: 1,
      totalIters: 3,
    }, (o) => steps(S.linearLR(o))],
    [["optim.schedules.swaLR"], "swaLR", {
      lr: 0.1,
      swaLr: 0.01,
      annealEpochs: 3,
      annealStrategy: "linear",
    }, (o) => steps(S.swaLR(o))],
    [["optim.averagedModel"], "averagedModel", {
      avgFn: (a: T.Tensor, p: T.Tensor) => T.add(T.mul(a, 0.5), T.mul(p, 0.5)),
    }, (o) => {
      const swa = T.optim.averagedModel(o);
      const p = { w: T.ones([2]) };
      return swa.updateParameters(swa.updateParameters(swa.init(p), p), p);
    }],
    [["optim.schedules.lambdaLR"], "lambdaLR", {
      lr: 0.1,
      lrLambda: (k: number) => 0.9 ** k,
    }, (o) => steps(S.lambdaLR(o))],
    [["optim.schedules.multiplicativeLR"], "multiplicativeLR", {
      lr: 0.1,
      lrLambda: () => 0.9,
    }, (o) => steps(S.multiplicativeLR(o))],
    [["optim.schedules.chainedScheduler"], "chainedScheduler", {
      lr: 0.1,
      schedulers: [S.constant(0.1), S.exponentialLR({ lr: 0.1, gamma: 0.5 })],
    }, (o) => steps(S.chainedScheduler(o))],
    [["optim.schedules.sequentialLR"], "sequentialLR", {
      schedulers: [S.constant(0.1), S.exponentialLR({ lr: 0.1, gamma: 0.5 })],
      milestones: [2],
    }, (o) => steps(S.sequentialLR(o))],
  );
  for (const name of ["sgd", "adam", "rmsprop", "lion", "lamb"] as const) {
    cases.push([[`optim.${name}`], `optim.${name}`, {
      lr: 0.1,
      weightDecay: 0.01,
    }, (o) => {
      const opt = T.optim[name](o);
      const p = { w: T.ones([2, 2]) };
      return opt.update(p, opt.init(p), p);
    }]);
  }
  cases.push([["optim.lbfgs"], "optim.lbfgs", {
    lr: 0.5,
    maxIter: 3,
    maxEval: 4,
    toleranceGrad: 1e-6,
    toleranceChange: 1e-8,
    historySize: 2,
    lineSearchFn: "strongWolfe",
  }, (o) => {
    const opt = T.optim.lbfgs(o);
    const p = { w: T.ones([2, 2]) };
    const loss = (q: typeof p) => T.sum(T.square(T.sub(q.w, 3)));
    return opt.step(T.valueAndGrad(loss), p, opt.init(p));
  }]);
  cases.push([["optim.multiSteps"], "optim.multiSteps", { everyK: 2 }, (o) => {
    const opt = T.optim.multiSteps(T.optim.sgd(), o);
    const p = { w: T.ones([2, 2]) };
    return opt.update(p, opt.init(p), p);
  }]);
  cases.push([["optim.reduceLROnPlateau"], "optim.reduceLROnPlateau", {
    mode: "max",
    factor: 0.5,
    patience: 1,
    threshold: 0.01,
    thresholdMode: "abs",
    cooldown: 1,
    minLr: 1e-3,
    eps: 1e-9,
  }, (o) => {
    const opt = T.optim.reduceLROnPlateau(T.optim.adam(), o);
    const p = { w: T.ones([2, 2]) };
    const s = [1, 0.5, 0.2].reduce((st, m) => opt.step(st, m), opt.init(p));
    return opt.update(p, s, p);
  }]);
  cases.push([["optim.asgd"], "optim.asgd", {
    lr: 0.1,
    lambd: 1e-3,
    alpha: 0.5,
    t0: 2,
    weightDecay: 0.01,
    maximize: true,
  }, (o) => {
    const opt = T.optim.asgd(o);
    const p = { w: T.ones([2, 2]) };
    return opt.update(p, opt.init(p), p);
  }]);
  const problems: string[] = [];
  for (const [named, fn, base, run] of cases) {
    run(base as never); // the base options work
    for (const k of Object.keys(base)) {
      for (const [label, v] of odd) {
        try {
          run({ ...base, [k]: v } as never);
        } catch (e) {
          const call = `${fn}({ ${k}: ${label} })`;
          if (!(e instanceof Error) || e.constructor !== Error) {
            problems.push(`${call}: ${(e as Error)?.constructor?.name} ${e}`);
          } else if (!named.some((p) => e.message.startsWith(p))) {
            problems.push(`${call}: not named ${named}: ${e.message}`);
          }
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("api errors: a transform whose f returns something other than a tree of tensors names the transform", () => {
  const results: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["NaN", NaN],
    ["3", 3],
    ['"x"', "x"],
    ["a key", T.random.key(0)],
    ["a function", () => 1],
    ["[t, 5]", [T.tensor(1), 5]],
    ["{ a: t, b: 'x' }", { a: T.tensor(1), b: "x" }],
  ];
  const x = T.tensor([1, 2]);
  // deno-lint-ignore no-explicit-any
  type F = any;
  const transforms: [string, (f: F) => (v: T.Tensor) => unknown][] = [
    ["grad", (f) => T.grad(f)],
    ["valueAndGrad", (f) => T.valueAndGrad(f)],
    ["vmap", (f) => T.vmap(f)],
    ["jit", (f) => T.jit(f)],
    ["jacrev", (f) => T.jacrev(f)],
    ["jacfwd", (f) => T.jacfwd(f)],
    ["hessian", (f) => T.hessian(f)],
    ["vjp", (f) => (v) => T.vjp(f, v)],
    ["jvp", (f) => (v) => T.jvp(f, [v], [T.ones([2])])],
    [
      "checkGrads",
      (f) => () => T.checkGrads(f, [T.tensor([1, 2], { dtype: "float64" })]),
    ],
  ];
  const problems: string[] = [];
  for (const [name, tr] of transforms) {
    for (const [label, r] of results) {
      // (jit returns keys, and vmap a list of keys, one per example)
      if ((name === "jit" || name === "vmap") && label === "a key") continue;
      try {
        tr(() => r)(x);
        problems.push(`${name}(() => ${label}): no error`);
      } catch (e) {
        if (!(e instanceof Error) || e.constructor !== Error) {
          problems.push(
            `${name}(() => ${label}): ${(e as Error)?.constructor?.name}`,
          );
        } else if (!e.message.startsWith(`${name}:`)) {
          problems.push(`${name}(() => ${label}): ${e.message}`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("api errors: a random key where a transform differentiates or maps is an Error naming the transform and saying it is a key", () => {
  const k = T.random.key(0);
  const x = T.ones([2]);
  const f = (v: T.Tensor, key: T.random.Key) =>
    T.sum(T.mul(v, T.random.normal(key, [2])));
  // deno-lint-ignore no-explicit-any
  const A = T as any;
  const cases: [string, () => unknown][] = [
    ["grad", () => A.grad(f, { argnums: 1 })(x, k)],
    ["valueAndGrad", () => A.valueAndGrad(f, { argnums: [0, 1] })(x, k)],
    ["vjp", () => A.vjp(f, x, k)],
    ["jacrev", () => A.jacrev(f, { argnums: 1 })(x, k)],
    ["jacfwd", () => A.jacfwd(f, { argnums: 1 })(x, k)],
    ["hessian", () => A.hessian(f, { argnums: 1 })(x, k)],
    ["vmap", () => A.vmap(f)(T.ones([3, 2]), k)],
  ];
  for (const [name, call] of cases) {
    assert.throws(
      call,
      (e: Error) =>
        e.constructor === Error && e.message.startsWith(`${name}: `) &&
        /random key/.test(e.message),
      name,
    );
  }
  // differentiating the tensor with the key as a plain argument works
  assert.deepEqual(T.grad(f)(x, k).shape, [2]);
});
