// Shape-op edge cases found by a probe against PyTorch 1.13: each test failed
// before its fix. Expected values are torch's (the expression in a comment).
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const i32 = (v: number | number[]) => T.tensor(v, { dtype: "int32" });

Deno.test("repeat takes an int32 tensor of repeats, as torch.repeat_interleave (it was an error)", () => {
  const x = T.tensor([[1, 2], [3, 4], [5, 6]]);
  // torch.repeat_interleave(x, torch.tensor([1, 0, 2]), dim=0)
  assert.deepEqual(T.toArray(T.repeat(x, i32([1, 0, 2]), { axis: 0 })), [
    [1, 2],
    [5, 6],
    [5, 6],
  ]);
  // torch.repeat_interleave(x, torch.tensor(2)): flattened
  assert.deepEqual(T.toArray(T.repeat(x, i32(2))), [
    1,
    1,
    2,
    2,
    3,
    3,
    4,
    4,
    5,
    5,
    6,
    6,
  ]);
  // torch.repeat_interleave(x, torch.tensor([3]), dim=1): one count for all
  assert.deepEqual(T.repeat(x, i32([3]), { axis: 1 }).shape, [3, 6]);
  // the gradient sums the copies: d/dx sum(repeat(x, [1, 0, 3]) * arange(4)) = [0, 0, 1+2+3]
  const g = T.grad((v: T.Tensor) =>
    T.sum(T.mul(T.repeat(v, i32([1, 0, 3])), T.arange(4)))
  )(T.tensor([1, 2, 3]));
  assertAllClose(g, [0, 0, 6]);
  // torch: "repeats has to be Long tensor"; negative counts are errors
  assert.throws(
    () => T.repeat(x, T.tensor([1, 0, 2]), { axis: 0 }),
    /^Error: repeat: repeats as a tensor must be int32 with at most one axis, got Tensor float32 \[3\]$/,
  );
  assert.throws(
    () => T.repeat(x, i32([1, -1, 2]), { axis: 0 }),
    /^Error: repeat: repeats must be an integer >= 0/,
  );
});

Deno.test("roll with an axis listed twice adds its shifts, as torch.roll (it was an error)", () => {
  const a = T.reshape(T.arange(24), [2, 3, 4]);
  // torch.roll(a, (1, 1, -3), (2, -1, 0)) == torch.roll(a, (2, -3), (2, 0))
  const want = [
    [[14, 15, 12, 13], [18, 19, 16, 17], [22, 23, 20, 21]],
    [[2, 3, 0, 1], [6, 7, 4, 5], [10, 11, 8, 9]],
  ];
  assert.deepEqual(
    T.toArray(T.roll(a, [1, 1, -3], { axis: [2, -1, 0] })),
    want,
  );
  assert.deepEqual(
    T.toArray(
      T.jit((x: T.Tensor) => T.roll(x, [1, 1, -3], { axis: [2, -1, 0] }))(a),
    ),
    want,
  );
  // torch.roll(v, (1, -1), (0, 0)) is v
  const v = T.tensor([1, 2, 3]);
  assert.deepEqual(T.toArray(T.roll(v, [1, -1], { axis: [0, 0] })), [1, 2, 3]);
  assert.throws(
    () => T.roll(v, [1, 2], { axis: [0, 1] }),
    /^Error: roll: axis 1 is out of range/,
  );
});

Deno.test("swapaxes of a scalar with axes 0 and -1 is the scalar, as torch.swapaxes (it was an error)", () => {
  // torch.swapaxes(torch.tensor(3.), 0, -1) -> tensor(3.)
  const y = T.swapaxes(T.tensor(3), 0, -1);
  assert.deepEqual(y.shape, []);
  assert.equal(T.item(y), 3);
  assert.throws(
    () => T.swapaxes(T.tensor(3), 0, 1),
    /^Error: swapaxes: axis2 1 is out of range/,
  );
  // errors name the argument
  assert.throws(
    () => T.moveaxis(T.zeros([2, 3]), 0, 5),
    /^Error: moveaxis: destination 5 is out of range for x with 2 dims/,
  );
  assert.throws(
    () => T.swapaxes(T.zeros([2, 3]), 0.5, 1),
    /^Error: swapaxes: axis1 must be an integer, got number 0\.5$/,
  );
});

Deno.test("flatten of a scalar takes the dims 0 and -1 only, as torch.flatten and nn.Flatten (start_dim 1 is out of range there)", () => {
  const s = T.tensor(3);
  // torch.flatten(tensor(3.)) and torch.flatten(tensor(3.), -1, -1): shape [1]
  assert.deepEqual(T.flatten(s, 0).shape, [1]);
  assert.deepEqual(T.flatten(s, -1, -1).shape, [1]);
  assert.deepEqual(T.toArray(T.flatten(s, 0, 0)), [3]);
  // torch.flatten(tensor(3.), 1): "Dimension out of range (expected to be
  // in range of [-1, 0], but got 1)"; nn.Flatten() starts at 1
  assert.throws(() => T.flatten(s), /flatten: axis 1 is out of range/);
  assert.throws(() => T.flatten(s, 0, 1), /flatten: axis 1 is out of range/);
  const layer = T.nn.flatten();
  assert.throws(() => layer.apply({}, s), /axis 1 is out of range/);
  assert.throws(
    () => layer.info.outputShape([]),
    /nn\.Flatten: startDim 1 is out of range for input \[\]/,
  );
  assert.deepEqual(T.nn.flatten({ startDim: 0 }).info.outputShape([]), [1]);
});
