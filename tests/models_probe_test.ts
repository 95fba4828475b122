/**
 * nn.lenet5 and nn.resnet18 against PyTorch for the gradients of a weighted
 * sum of the outputs with respect to the input and the params (eval for
 * LeNet-5, training mode, with batch statistics, for ResNet-18), float64.
 *
 * The expected numbers were printed by torch 1.13 / torchvision 0.14
 * (`/usr/bin/python3 tests/fixtures/gen_models_probe.py`)
 * (float64) with the same fill: param `k` entry `j` is
 * `0.05·sin(0.7j + 1.3·h(k))`, plus 1 for the 1-D (batch-norm) weights,
 * with `h(k)` the sum of the key's char codes mod 97; the input entry `i`
 * is `sin(0.01i)`; the loss is `sum(y · cos(0.3·arange))`. LeNet-5 is the
 * tutorial's `Net` (F.relu / F.max_pool2d), ResNet-18
 * `torchvision.models.resnet18(num_classes=3)` in `train()` mode.
 */
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import { assertAllClose } from "./_helpers.ts";

const { nn } = T;

const h = (k: string) => [...k].reduce((a, c) => a + c.charCodeAt(0), 0) % 97;

/** `net`'s params (float64) filled as described above. */
function filledParams(net: T.nn.AnyLayer): Tree {
  const isSpec = (v: unknown) =>
    typeof v === "object" && v !== null && "shape" in v && "dtype" in v;
  const specs = net.info.params as unknown as Tree;
  const [leaves, def] = T.treeFlatten(specs, isSpec);
  const paths = T.treePaths(specs, isSpec).map(([p]) => p);
  return T.treeUnflatten(
    def,
    leaves.map((sp, i) => {
      const shape = (sp as unknown as { shape: number[] }).shape;
      const n = shape.reduce((a, b) => a * b, 1);
      const one = shape.length === 1 && paths[i].endsWith("weight") ? 1 : 0;
      const v = Array.from(
        { length: n },
        (_, j) => one + 0.05 * Math.sin(0.7 * j + 1.3 * h(paths[i])),
      );
      return T.tensor(v, { shape, dtype: "float64" });
    }),
  );
}

const input = (shape: number[]) =>
  T.reshape(
    T.sin(
      T.mul(
        T.arange(shape.reduce((a, b) => a * b, 1), undefined, 1, {
          dtype: "float64",
        }),
        0.01,
      ),
    ),
    shape,
  );

const weights = (shape: readonly number[]) =>
  T.reshape(
    T.cos(
      T.mul(
        T.arange(shape.reduce((a, b) => a * b, 1), undefined, 1, {
          dtype: "float64",
        }),
        0.3,
      ),
    ),
    [...shape],
  );

const leaf = (tree: Tree, path: string) =>
  T.treePaths(tree).find(([p]) => p === path)![1] as Tensor;
const first2 = (t: Tensor) => [t.data[0], t.data[1]];
const total = (t: Tensor) => Array.from(t.data).reduce((a, v) => a + v, 0);
const absTotal = (t: Tensor) =>
  Array.from(t.data).reduce((a, v) => a + Math.abs(v), 0);

function check(
  net: T.nn.AnyLayer,
  shape: number[],
  training: boolean,
  expected: {
    y: number[];
    loss: number;
    dx: number[];
    dxAbs: number;
    grads: Record<string, [number, number, number]>;
  },
): Tree {
  const params = filledParams(net);
  const state = net.initState() as Tree;
  const x = input(shape);
  const run = (xx: Tensor, pp: Tree) =>
    net.applyWithState(pp as never, state as never, xx, { training });
  const out = run(x, params);
  const w = weights(out.y.shape);
  const f = (xx: Tensor, pp: Tree) => T.sum(T.mul(run(xx, pp).y, w));
  const [gx, gp] = T.grad(f, { argnums: [0, 1] })(x, params) as [
    Tensor,
    Tree,
  ];
  const tol = { rtol: 1e-7, atol: 1e-12 };
  assertAllClose(Array.from(out.y.data.slice(0, 3)), expected.y, tol);
  assertAllClose(T.toArray(f(x, params)) as number, expected.loss, tol);
  const dx = [5 * shape[3], 5 * shape[3] + 1, 5 * shape[3] + 2].map((i) =>
    gx.data[i]
  );
  assertAllClose(dx, expected.dx, { rtol: 1e-7, atol: 1e-14 });
  assertAllClose(absTotal(gx), expected.dxAbs, tol);
  for (const [k, [a, b, s]] of Object.entries(expected.grads)) {
    assertAllClose(first2(leaf(gp, k)), [a, b], { ...tol, msg: k });
    assertAllClose(total(leaf(gp, k)), s, { ...tol, msg: k });
  }
  return out.state as Tree;
}

Deno.test("lenet5: output and gradients (input and params) as the tutorial's Net in torch (float64)", () => {
  check(
    nn.lenet5({ dtype: "float64" }) as T.nn.AnyLayer,
    [2, 1, 32, 32],
    false,
    {
      y: [0.0060434392010720196, 0.0019386189554912933, 0.10223365760112149],
      loss: 0.009416701406772345,
      dx: [
        -1.5675064200558463e-08,
        4.29358308559679e-09,
        2.6565202850899823e-08,
      ],
      dxAbs: 0.00018376326449041696,
      grads: {
        "conv1.weight": [
          4.0107072108504e-06,
          4.135656509928207e-06,
          0.0007632205728199052,
        ],
        "fc3.bias": [
          0.010007503399554585,
          -0.0321432807832589,
          -0.904474249281782,
        ],
      },
    },
  );
});

Deno.test("resnet18: training-mode output, gradients (input and params) and running variance as torchvision's (float64, 64x64)", () => {
  const state = check(
    nn.resnet18({ numClasses: 3, dtype: "float64" }),
    [2, 3, 64, 64],
    true,
    {
      y: [0.23520724624991382, 0.37870041144382544, 0.5143270263742337],
      loss: 1.8309900693812295,
      dx: [0.03203490529208611, 0.010939762483834641, -0.012672950463619298],
      dxAbs: 674.4494423917844,
      grads: {
        "conv1.weight": [
          -0.3433766879201498,
          -0.014107077383281236,
          -90.55578493888774,
        ],
        "layer4.1.bn2.weight": [
          -0.02962179745618524,
          -0.03303587313540381,
          -0.6662537030772553,
        ],
        "fc.bias": [1.6216099682706644, 1.3176942436022796, 3.835377028450325],
      },
    },
  );
  assertAllClose(
    first2(leaf(state, "layer4.1.bn2.running_var")),
    [1.107779563357773, 1.8448548977495864],
    { rtol: 1e-7, atol: 1e-12 },
  );
});
