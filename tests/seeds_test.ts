/**
 * The worked numbers of the tutorials the examples follow (the seed notes
 * shared/seeds/001-004: image-filter, CIFAR-10 bird/plane, CNN introduction,
 * LeNet-5): HWC -> CHW, the Laplacian example, the blur and edge kernels by
 * hand, output sizes and parameter counts, through conv2d, maxPool2d, linear
 * and the shape ops.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertAllClose, tight } from "./_helpers.ts";
import { drawValues } from "./_op_table.ts";

const f64 = { dtype: "float64" } as const;
const rnd = (shape: number[], seed: number) => drawValues(shape, "real", seed);

// ---------------------------------------------------------------------------
// the PyTorch basics tutorial: HWC -> CHW, the Laplacian example, the channel-averaged edge conv

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

Deno.test("The PyTorch basics tutorial: HWC (4, 4, 3) -> CHW [3, 4, 4] -> BCHW [1, 3, 4, 4] with transpose", () => {
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

Deno.test("The PyTorch basics tutorial: the Laplacian kernel on the 3x3 patch around e = 200 (the products and their sum)", () => {
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

Deno.test("The PyTorch basics tutorial: Conv2d(3, 1, 3, bias=False, padding=1) with the Laplacian / 3 on every channel", () => {
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
// the CIFAR-10 bird/plane tutorial: Conv2d(3, 16, 3) on CIFAR's 32x32, padding, the blur and edge kernels

Deno.test("The CIFAR-10 bird/plane tutorial: Conv2d(3, 16, 3) shapes on [1, 3, 32, 32], with and without padding=1", () => {
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

Deno.test("The CIFAR-10 bird/plane tutorial: the Sequential model's shapes and its parameter count 18090", () => {
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

Deno.test("The CIFAR-10 bird/plane tutorial: weight.fill_(1/9), bias 0, padding=1: the channel-summed box average by hand", () => {
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

Deno.test("The CIFAR-10 bird/plane tutorial: the vertical-edge kernel [[-1, 0, 1]] x 3 on every channel, by hand", () => {
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
// the CNN introduction: output sizes for padding, stride, channels and pooling

Deno.test("The CNN introduction: 5x5 input, 3x3 filter: stride 1 -> 3x3, stride 2 -> 2x2; padding keeps 256x256", () => {
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

Deno.test("The CNN introduction: max pooling keeps channels and halves w, h (VGG16: 224 -> 112 -> 56 -> 28 -> 14 -> 7)", () => {
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

Deno.test("The CNN introduction: Net (Conv2d(3, 64, 5), Conv2d(64, 128, 5), Linear(128*5*5, 10)) on 32x32", () => {
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
// the LeNet-5 MNIST tutorial: LeNet-5

Deno.test("The LeNet-5 MNIST tutorial: LeNet-5 shapes 32 -> 28 -> 14 -> 10 -> 5 -> 400 -> 120 -> 84 -> 10", () => {
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
