/**
 * {@linkcode summary} (PyTorch's `print(net)` plus a torchinfo-like table)
 * and {@linkcode paramCount}. Both work from the layers' descriptions, so
 * neither allocates parameters.
 *
 * @module
 */
import { type Tree, treeWalkGuard } from "../ops/tree.ts";
import { debugNansOn, setDebugNans } from "../ops/debug.ts";
import {
  type AnyLayer,
  checkLayer,
  isLayer,
  type SpecTree,
  traceOf,
} from "./layer.ts";
import {
  describe,
  fmtShape,
  fmtShapeSpaced,
  sizeOf,
  withCommas,
} from "./_util.ts";

/** The leaves (tensors or {@linkcode ParamSpec}s: anything with a shape and dtype) of a tree. */
function shapeLeaves(
  fn: string,
  tree: unknown,
): { shape: readonly number[]; dtype: string }[] {
  const out: { shape: readonly number[]; dtype: string }[] = [];
  const guard = treeWalkGuard(fn);
  const walk = (x: unknown, path: string) => {
    if (
      typeof x === "object" && x !== null && !Array.isArray(x) &&
      Array.isArray((x as { shape?: unknown }).shape) &&
      typeof (x as { dtype?: unknown }).dtype === "string"
    ) {
      out.push(x as { shape: readonly number[]; dtype: string });
    } else if (Array.isArray(x)) {
      guard.enter(x, path);
      x.forEach((c, i) => walk(c, path === "" ? String(i) : `${path}.${i}`));
      guard.leave(x);
    } else if (typeof x === "object" && x !== null) {
      guard.enter(x, path);
      for (const [k, c] of Object.entries(x)) {
        walk(c, path === "" ? k : `${path}.${k}`);
      }
      guard.leave(x);
    } else {
      throw new Error(
        path === ""
          ? `${fn}: expected a params tree (nested arrays and plain objects of tensors) or a layer, got ${
            describe(x)
          }`
          : `${fn}: leaf "${path}" must be a Tensor, an array or a plain object, got ${
            describe(x)
          }`,
      );
    }
  };
  walk(tree, "");
  return out;
}

/**
 * The number of parameters: the sum of the leaf sizes of a params tree, or,
 * given a layer, of the shapes it would allocate (without allocating them).
 *
 * @example
 * ```ts
 * import { nn, random } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const net = nn.lenet5();
 * assert.equal(nn.paramCount(net.init(random.key(0))), 61706);
 * assert.equal(nn.paramCount(net), 61706); // from the shapes alone
 * assert.equal(nn.paramCount(nn.vgg16()), 138357544); // nothing allocated
 * ```
 */
export function paramCount(paramsOrLayer: Tree | SpecTree | AnyLayer): number {
  const tree = isLayer(paramsOrLayer)
    ? paramsOrLayer.info.params
    : paramsOrLayer;
  return shapeLeaves("nn.paramCount", tree).reduce(
    (n, l) => n + sizeOf(l.shape),
    0,
  );
}

const BYTES: Record<string, number> = { float32: 4, float64: 8, int32: 4 };

interface Row {
  label: string;
  depth: number;
  shape: readonly number[];
  params: string;
}

/**
 * A model's description as text: what PyTorch's `print(net)` shows (the
 * module repr), then a torchinfo-like table with each layer's output shape
 * and parameter count for an input of `inputShape` (batch axis included),
 * and the totals ("Total params: 61,706"). Rows follow the forward pass:
 * registered children as `Type (name)`, layers a named model applies with
 * `m.call` as `Type` alone; a child called again shows `(shared)`. Shapes
 * come from each layer's shape rule, so no parameter is allocated (VGG16's
 * 138 million parameters print instantly); a named model's forward runs on
 * zero activations. A wrong input shape throws, naming the layer.
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const text = nn.summary(nn.lenet5(), [1, 1, 32, 32]);
 * assert.ok(text.startsWith("Net(\n  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n"));
 * assert.match(text, /├─MaxPool2d +\[1, 16, 5, 5\] +--/);
 * assert.match(text, /├─Linear \(fc1\) +\[1, 120\] +48,120/);
 * assert.match(text, /Total params: 61,706/);
 * ```
 */
export function summary(
  layer: AnyLayer,
  inputShape: readonly number[],
): string {
  const fn = "nn.summary";
  checkLayer(fn, "layer", layer);
  if (!Array.isArray(inputShape)) {
    throw new Error(
      `${fn}: inputShape must be an array of positive integers (batch axis included, e.g. [1, 1, 32, 32]), got ${
        describe(inputShape)
      }`,
    );
  }
  const badDim = inputShape.findIndex((d) =>
    !(Number.isSafeInteger(d) && d >= 1)
  );
  if (badDim >= 0) {
    const d = inputShape[badDim] as unknown;
    throw new Error(
      `${fn}: inputShape must be an array of positive integers (batch axis included, e.g. [1, 1, 32, 32]), got inputShape[${badDim}] = ${
        typeof d === "number" ? d : describe(d)
      } in [${inputShape.map(String).join(", ")}]`,
    );
  }
  const rows: Row[] = [];
  const walk = (
    l: AnyLayer,
    shape: readonly number[],
    label: string,
    depth: number,
    shared: boolean,
  ): number[] => {
    const trace = traceOf(l);
    const n = paramCount(l);
    const row: Row = {
      label,
      depth,
      shape: [],
      params: n === 0 || trace ? "--" : shared ? "(shared)" : withCommas(n),
    };
    rows.push(row);
    let out: number[];
    try {
      if (trace) {
        const seen = new Set<string>();
        out = trace(
          shape,
          (name, child, s) => {
            const again = seen.has(name);
            seen.add(name);
            return walk(
              child,
              s,
              `${child.info.name} (${name})`,
              depth + 1,
              again,
            );
          },
          (fl, s) => walk(fl, s, fl.info.name, depth + 1, false),
        );
      } else {
        out = l.info.outputShape(shape);
      }
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(
        msg.startsWith(fn)
          ? msg
          : `${fn}: at ${label} with input ${fmtShape(shape)}: ${msg}`,
      );
    }
    row.shape = out;
    return out;
  };
  // a named model's forward runs on zero activations, which may make NaNs
  // (x / sum(x)) that the user's debug NaN checks must not report
  const nanChecks = debugNansOn();
  setDebugNans(false);
  try {
    walk(layer, inputShape, layer.info.name, 0, false);
  } finally {
    setDebugNans(nanChecks);
  }

  const prefix = (d: number) =>
    d === 0 ? "" : d === 1 ? "├─" : "│    ".repeat(d - 1) + "└─";
  const labels = rows.map((r) => prefix(r.depth) + r.label);
  const shapes = rows.map((r) => fmtShapeSpaced(r.shape));
  const head = ["Layer (type (name))", "Output Shape", "Param #"];
  const w1 = Math.max(
    40,
    head[0].length + 2,
    ...labels.map((s) => s.length + 2),
  );
  const w2 = Math.max(25, ...shapes.map((s) => s.length + 2));
  const w3 = Math.max(15, ...rows.map((r) => r.params.length));
  const line = (a: string, b: string, c: string) =>
    (a.padEnd(w1) + b.padEnd(w2) + c).trimEnd();
  const rule = "=".repeat(w1 + w2 + w3);
  const total = paramCount(layer);
  const bytes = shapeLeaves(fn, layer.info.params).reduce(
    (n, l) => n + sizeOf(l.shape) * (BYTES[l.dtype] ?? 4),
    0,
  );
  const out = [
    layer.info.repr,
    "",
    rule,
    line(head[0], head[1], head[2]),
    rule,
    ...rows.map((r, i) => line(labels[i], shapes[i], r.params)),
    rule,
    `Total params: ${withCommas(total)}`,
    `Trainable params: ${withCommas(total)}`,
    "Non-trainable params: 0",
  ];
  if (layer.info.hasState) {
    out.push(
      `Buffers (state): ${withCommas(paramCount(layer.initState() as Tree))}`,
    );
  }
  out.push(
    rule,
    `Input shape: ${fmtShapeSpaced(inputShape)}`,
    `Params size (MB): ${(bytes / 1e6).toFixed(2)}`,
    rule,
  );
  return out.join("\n");
}
