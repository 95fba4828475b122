/**
 * From a float32 probe of the activations, norms, losses and math ops at
 * extreme values against PyTorch 1.13's float32 CPU results: the
 * differences it fixed, with PyTorch's numbers (the expression in each
 * comment), and the deliberate differences it pinned.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const f32 = (v: number[]) => T.tensor(v);
const gradOf = (f: (x: Tensor) => Tensor, x: Tensor) =>
  T.toArray(T.grad((t: Tensor) => T.sum(f(t)))(x)) as number[];

Deno.test("smoothL1Loss with beta 0: PyTorch's input gradient, -1 at d <= 0", () => {
  const a = f32([-2, 0, -0, 2, NaN, 1e-30]), b = T.zeros([6]);
  const loss = (x: Tensor, t: Tensor) =>
    T.smoothL1Loss(x, t, { beta: 0, reduction: "sum" });
  // a = torch.tensor([-2., 0., -0., 2., nan, 1e-30], requires_grad=True)
  // y = F.smooth_l1_loss(a, torch.zeros(6), reduction='none', beta=0.)
  // y: [2., 0., 0., 2., nan, 1e-30]; y.sum().backward(); a.grad:
  assert.deepEqual(
    T.toArray(T.smoothL1Loss(a, b, { beta: 0, reduction: "none" })),
    [2, 0, 0, 2, NaN, Math.fround(1e-30)],
  );
  assert.deepEqual(T.toArray(T.grad(loss)(a, b)), [-1, -1, -1, 1, NaN, 1]);
  // the target's: the negation (PyTorch's is -1 at d = 0 too: its
  // backward swaps input and target)
  assert.deepEqual(
    T.toArray(T.grad(loss, { argnums: 1 })(a, b)),
    [1, 1, 1, -1, NaN, -1],
  );
});

Deno.test("deliberate: more exact than PyTorch's float32 kernels", () => {
  // torch.logsumexp(torch.tensor([[3e38, 3e38, 0.]]), -1) backward gives
  // [1., 1., 0.] (exp(x - lse) with lse rounded to x); the gradient is softmax
  const x = f32([3e38, 3e38, 0]);
  assert.deepEqual(gradOf((t) => T.logSumExp(t, { axis: -1 }), x), [
    0.5,
    0.5,
    0,
  ]);
  // F.binary_cross_entropy_with_logits(torch.tensor([88.]), torch.ones(1)) is 0.
  // (log(1 + e^-88) rounded); log1p keeps e^-88
  const l = T.binaryCrossEntropyWithLogits(f32([88]), f32([1]));
  assert.equal(T.item(l), Math.fround(Math.log1p(Math.exp(-88))));
  // F.hardswish(torch.tensor([3e38])) is inf (x·6 overflows before the / 6)
  assert.equal(T.item(T.hardswish(f32([3e38]))), Math.fround(3e38));
  // F.binary_cross_entropy(torch.tensor([1e-7]), torch.tensor([0.])) is
  // 1.1920928955078125e-07 (1 - p rounded first)
  const bce = T.binaryCrossEntropy(f32([1e-7]), f32([0]));
  assert.equal(T.item(bce), Math.fround(-Math.log1p(-Math.fround(1e-7))));
});

Deno.test("deliberate: poissonNllLoss full, target gradient at target 0", () => {
  // t = torch.tensor([0., 3.], requires_grad=True)
  // F.poisson_nll_loss(torch.tensor([0.5, 2.]), t, log_input=False,
  //   full=True, reduction='sum').backward(); t.grad: [nan, 0.5721317529678345]
  const a = f32([0.5, 2]);
  const g = T.grad((t: Tensor) =>
    T.poissonNllLoss(a, t, { logInput: false, full: true, reduction: "sum" })
  )(f32([0, 3]));
  const [g0, g1] = T.toArray(g) as number[];
  assert.equal(g0, Math.fround(-Math.log(0.5 + 1e-8))); // -log(input + eps)
  assert.ok(Math.abs(g1 - 0.5721317529678345) < 2e-7);
});
