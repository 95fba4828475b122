/**
 * A probe of ops/counting.ts and ops/special.ts against PyTorch 1.13 and
 * mpmath (tests/fixtures/new_ops_probe.json, written by
 * tests/fixtures/gen_new_ops_probe.py). Each test pins a fix:
 * histc's float32 bin index past 2^24 bins and for a range that is one
 * float32, and polygamma (n >= 2) far below 0, where PyTorch's Hurwitz
 * zeta steps |x| times (a hang at -1e10).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import fixture from "./fixtures/new_ops_probe.json" with { type: "json" };

Deno.test("histc (float32): past 2^24 bins, values out of range are not counted and the bins are PyTorch's", () => {
  for (const c of fixture.histc) {
    const h = T.histc(T.tensor(c.x), { bins: c.bins, min: c.min, max: c.max });
    assert.deepEqual(h.shape, [c.bins]);
    assert.equal(h.dtype, "float32");
    const got: number[][] = [];
    h.data.forEach((v, i) => {
      if (v !== 0) got.push([i, v]);
    });
    assert.deepEqual(
      got,
      c.nonzero,
      `histc ${JSON.stringify(c.x)} bins ${c.bins}`,
    );
  }
});

Deno.test("polygamma (n >= 2) far below 0: mpmath's values (PyTorch's loop, which this one ported, ran |x| times: a hang at -1e10)", () => {
  for (const c of fixture.polygamma) {
    const y = T.item(T.polygamma(c.n, T.tensor([c.x], { dtype: "float64" })));
    assert.ok(
      Math.abs(y / c.y - 1) < 1e-12,
      `polygamma(${c.n}, ${c.x}) = ${y}, mpmath ${c.y}`,
    );
  }
  // float32: -1e10 - 0.5 rounds to the pole -1e10
  assert.equal(
    T.item(T.polygamma(2, T.tensor([-1e10 - 0.5]))),
    -Infinity,
  );
  // its gradient (polygamma n + 1) too, and under jit
  const g = T.jit(T.grad((x: T.Tensor) => T.sum(T.polygamma(2, x))))(
    T.tensor([-1e10 - 0.5], { dtype: "float64" }),
  );
  assert.ok(Number.isFinite(g.data[0]));
});

Deno.test("logit refuses eps past 0.5, and unique refuses an axis of a scalar, as torch.unique(dim=0) of a 0-d tensor", () => {
  // torch.logit(torch.full((8,), 0.3), eps=0.6) gives -0.405 (its vector
  // kernel clamps to 1 - eps) and one element gives +0.405 (its scalar one)
  assert.throws(
    () => T.logit(T.tensor([0.3]), { eps: 0.6 }),
    /^Error: logit: eps must be at most 0.5 \(x is clamped to \[eps, 1 - eps\]\), got 0.6$/,
  );
  assert.equal(T.logit(T.tensor([0.3]), { eps: 0.5 }).data[0], 0);
  // torch.unique(torch.tensor(3.), dim=0): "Dimension specified as 0 but tensor has no dimensions"
  assert.throws(
    () => T.unique(T.tensor(3), { axis: 0 }),
    /^Error: unique: x is a scalar \(shape \[\]\): it has no axis 0/,
  );
  assert.deepEqual(T.toArray(T.unique(T.tensor(3))), [3]);
});
