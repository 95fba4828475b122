/**
 * PyTorch bridge: `toTorch(layer)` writes the Python source of an
 * equivalent `torch.nn.Module`, so that a model defined here trains further
 * with PyTorch's tools (DistributedDataParallel, `torchrun`) on the weights
 * saved with `data.saveSafetensors`: the module's `state_dict()` keys are
 * this library's parameter paths.
 *
 * A leaf layer becomes the `torch.nn` module its repr names (the repr is
 * PyTorch's constructor call), a `sequential` an `nn.Sequential`, and a
 * named `model` a class whose `forward` calls the children in the order the
 * model's forward does (found by running it with the calls recorded).
 *
 * @module
 */
import { checkOptions, showValue, type Tensor, zeros } from "../ops/tensor.ts";
import { add as addOp } from "../ops/elementwise.ts";
import { concat as concatOp } from "../ops/structural.ts";
import { type AnyLayer, checkLayer } from "./layer.ts";
import { checkInputShape, onShape } from "./_util.ts";

/** Options of {@linkcode toTorch}. */
export interface ToTorchOptions {
  /** The top-level class name. Default: the model's name (`Net` for LeNet-5), or `Model`. */
  className?: string;
  /** An input shape (batch first) to run a named model's forward with while recording its calls. Default [1, 1, 32, 32]. */
  inputShape?: readonly number[];
}

/** The torch modules whose forward returns more than the output, and the output from `super()`. */
const OUTPUT_ONLY: Record<string, string> = {
  RNN: "super().forward(x)[0]",
  LSTM: "super().forward(x)[0]",
  GRU: "super().forward(x)[0]",
  MultiheadAttention: "super().forward(x, x, x, need_weights=False)[0]",
};

/** Python's keywords, and the names the generated source itself uses. */
const PY_TAKEN = new Set([
  ..."False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield"
    .split(" "),
  "torch",
  "nn",
  "F",
  "make_model",
]);

/** The builtins the generated source calls, which a class name must not shadow. */
const PY_BUILTINS = new Set(["super", "getattr"]);

/**
 * The attributes of a `torch.nn.Module` (torch 1.13's `dir(nn.Module())`
 * but the dunders), which a child module cannot be named: `add_module`
 * refuses them, and a child `forward` or `training` breaks the module.
 */
const MODULE_ATTRS = new Set(
  `T_destination add_module apply bfloat16 buffers children cpu cuda double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules named_buffers named_children named_modules named_parameters parameters register_backward_hook register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook register_load_state_dict_post_hook register_module register_parameter requires_grad_ set_extra_state share_memory state_dict to to_empty train training type xpu zero_grad _apply _backward_hooks _buffers _call_impl _forward_hooks _forward_pre_hooks _get_backward_hooks _get_name _is_full_backward_hook _load_from_state_dict _load_state_dict_post_hooks _load_state_dict_pre_hooks _maybe_warn_non_full_backward_hook _modules _named_members _non_persistent_buffers_set _parameters _register_load_state_dict_pre_hook _register_state_dict_hook _replicate_for_data_parallel _save_to_state_dict _slow_forward _state_dict_hooks _version`
    .split(" "),
);

/** Whether `s` can be written as a Python name (not a keyword, not one the source uses). */
const pyName = (s: string) => /^[A-Za-z_]\w*$/.test(s) && !PY_TAKEN.has(s);

/** A model's name as a Python class name: other characters as `_`, a taken name with `_` after it. */
function pyClass(name: string): string {
  let s = name.replace(/\W/g, "_");
  if (!/^[A-Za-z_]/.test(s)) s = `_${s}`;
  return PY_TAKEN.has(s) || PY_BUILTINS.has(s) ? `${s}_` : s;
}

/** A sequential container (a named model may be called "Sequential" too). */
const isSequential = (l: AnyLayer) =>
  l.info.name === "Sequential" && !l.info.forwardWith;

/** True when `l` is or holds a named model (whose forward toTorch runs). */
function named(l: AnyLayer): boolean {
  return !!l.info.forwardWith || l.info.children.some(([, c]) => named(c));
}

/** A parameterless layer as a functional call on `v`. */
function functional(layer: AnyLayer, v: string): string {
  const r = layer.info.torch ?? layer.info.repr;
  switch (r) {
    case "ReLU()":
      return `F.relu(${v})`;
    case "Tanh()":
      return `torch.tanh(${v})`;
    case "Sigmoid()":
      return `torch.sigmoid(${v})`;
    case "Flatten(start_dim=1, end_dim=-1)":
      return `torch.flatten(${v}, 1)`;
  }
  return `nn.${r}(${v})`;
}

/**
 * The Python source of a `torch.nn.Module` equivalent to `layer`: imports,
 * one class per named model (children first), the top one named
 * `className`. Load the weights with `model.load_state_dict(...,
 * strict=True)` from a file written by `data.saveSafetensors(path, params)`
 * (merged with the state, for batch norm's buffers).
 *
 * @example
 * ```ts
 * import { nn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const src = nn.toTorch(nn.lenet5());
 * assert.match(src, /class Net\(nn.Module\):/);
 * assert.match(src, /self\.conv1 = nn\.Conv2d\(1, 6, kernel_size=\(5, 5\), stride=\(1, 1\)\)/);
 * ```
 */
export function toTorch(layer: AnyLayer, options?: ToTorchOptions): string {
  const fn = "toTorch";
  checkLayer(fn, "layer", layer);
  const o = checkOptions(fn, options, ["className", "inputShape"]);
  const className = o.className as string | undefined;
  if (className !== undefined && PY_BUILTINS.has(className)) {
    throw new Error(
      `${fn}: className must not be super or getattr, Python builtins the source calls, got ${
        showValue(className)
      }`,
    );
  }
  if (
    className !== undefined &&
    (typeof className !== "string" || !pyName(className))
  ) {
    throw new Error(
      `${fn}: className must be a Python identifier that is no keyword (nor torch, nn, F or make_model, which the source uses), got ${
        showValue(className)
      }`,
    );
  }
  const inputShape = checkInputShape(fn, o.inputShape ?? [1, 1, 32, 32]);
  const classes: string[] = [];
  const used = new Set<string>();
  /** By torch module (RNN, ...): the name of its output-only subclass. */
  const outputOnly = new Map<string, string>();
  const unique = (name: string) => {
    let n = name, i = 2;
    while (used.has(n)) n = `${name}${i++}`;
    used.add(n);
    return n;
  };
  /** A Python expression constructing `l`; defines classes for named models. */
  const build = (
    l: AnyLayer,
    indent: string,
    shape: readonly number[],
    name?: string,
  ): string => {
    const info = l.info;
    if (isSequential(l)) {
      // shapes are followed only up to the last named model inside
      let s = shape;
      const kids = info.children;
      const parts = kids.map(([, c], i) => {
        const e = build(c, indent + "    ", s);
        if (kids.slice(i + 1).some(([, k]) => named(k))) {
          s = c.info.outputShape(s);
        }
        return `${indent}    ${e},`;
      });
      return `nn.Sequential(\n${parts.join("\n")}\n${indent})`;
    }
    if (!info.forwardWith) {
      if (info.children.length > 0) {
        throw new Error(
          `${fn}: ${info.name} is a container toTorch does not know`,
        );
      }
      const call = info.torch ?? info.repr;
      if (call.includes("\n")) {
        throw new Error(
          `${fn}: ${info.name}'s repr is not a constructor call: ${call}`,
        );
      }
      // PyTorch's recurrent and attention modules return (output, more):
      // a subclass whose forward returns the output alone, as the layer's
      // apply (its state_dict keys are the module's)
      const mod = /^(\w+)\(/.exec(call)?.[1] ?? "";
      if (mod in OUTPUT_ONLY) {
        let cls = outputOnly.get(mod);
        if (!cls) {
          // (a name of its own: a named model may be called RNNOutput)
          cls = unique(`${mod}Output`);
          outputOnly.set(mod, cls);
          classes.unshift(
            [
              `class ${cls}(nn.${mod}):`,
              `    """nn.${mod} returning its output alone (as the layer's apply)."""`,
              ``,
              `    def forward(self, x):`,
              `        return ${OUTPUT_ONLY[mod]}`,
            ].join("\n"),
          );
        }
        return `${cls}${call.slice(mod.length)}`;
      }
      return `nn.${call}`;
    }
    return `${defineClass(l, shape, name)}()`;
  };
  /** A child module of `self` in Python. */
  const child = (k: string) =>
    pyName(k) ? `self.${k}` : `getattr(self, ${JSON.stringify(k)})`;
  /** Writes the class of a named model; returns its name. */
  const defineClass = (
    l: AnyLayer,
    shape: readonly number[],
    name?: string,
  ): string => {
    const info = l.info;
    const cls = unique(name ?? pyClass(info.name));
    const init: string[] = [];
    const shapes = new Map<string, readonly number[]>();
    // record the forward: each value is a variable, each call a line
    const vars = new Map<Tensor, string>();
    const body: string[] = [];
    let n = 0;
    const input = zeros(shape);
    vars.set(input, "x");
    const varOf = (t: Tensor, what: string) => {
      const v = vars.get(t);
      if (!v) {
        throw new Error(
          `${fn}: ${info.name}'s forward computes with tensor ops between its layers (${what}); only calls of children and of m.call layers, m.add and m.concat can be written as PyTorch`,
        );
      }
      return v;
    };
    const out = info.forwardWith!(
      input,
      (k, c, x) => {
        const v = varOf(x, `before ${k}`);
        if (!shapes.has(k)) shapes.set(k, x.shape);
        const y = zeros(c.info.outputShape(x.shape));
        const w = `x${++n}`;
        vars.set(y, w);
        body.push(`        ${w} = ${child(k)}(${v})`);
        return y;
      },
      (c, x) => {
        const v = varOf(x, `before ${c.info.name}`);
        const y = zeros(c.info.outputShape(x.shape));
        const w = `x${++n}`;
        vars.set(y, w);
        body.push(`        ${w} = ${functional(c, v)}`);
        return y;
      },
      (a, b) => {
        const va = varOf(a, "in m.add"), vb = varOf(b, "in m.add");
        const y = addOp(a, b); // (zeros: only the shape matters)
        const w = `x${++n}`;
        vars.set(y, w);
        body.push(`        ${w} = ${va} + ${vb}`);
        return y;
      },
      (xs, axis) => {
        const vs = xs.map((t) => varOf(t, "in m.concat"));
        const y = concatOp(xs, axis); // (zeros: only the shape matters)
        const w = `x${++n}`;
        vars.set(y, w);
        body.push(`        ${w} = torch.cat([${vs.join(", ")}], ${axis})`);
        return y;
      },
    );
    const result = varOf(out, "at its output");
    for (const [k, c] of info.children) {
      if (MODULE_ATTRS.has(k)) {
        throw new Error(
          `${fn}: ${info.name}'s child "${k}" has the name of an attribute of torch.nn.Module, which a child module cannot take: rename the child`,
        );
      }
      const e = build(c, "        ", shapes.get(k) ?? shape);
      // (a key that is no Python name, a keyword, is still the state_dict's)
      init.push(
        pyName(k)
          ? `        self.${k} = ${e}`
          : `        self.add_module(${JSON.stringify(k)}, ${e})`,
      );
    }
    classes.push(
      [
        `class ${cls}(nn.Module):`,
        `    def __init__(self):`,
        `        super().__init__()`,
        ...init,
        ``,
        `    def forward(self, x):`,
        ...body,
        `        return ${result}`,
      ].join("\n"),
    );
    return cls;
  };
  let top: string;
  if (isSequential(layer)) { // a class of its own, still a Sequential
    const cls = unique(className ?? "Model");
    const seq = onShape(
      fn,
      inputShape,
      () => build(layer, "        ", inputShape),
    );
    classes.push(
      [
        `class ${cls}(nn.Sequential):`,
        `    def __init__(self):`,
        `        super().__init__(${seq.slice("nn.Sequential(".length, -1)})`,
      ].join("\n"),
    );
    top = `${cls}()`;
  } else {
    top = onShape(
      fn,
      inputShape,
      () => build(layer, "", inputShape, className),
    );
  }
  const header = [
    `# A torch.nn.Module written by cnn-tensor's nn.toTorch: its state_dict keys`,
    `# are the parameter paths of the ${layer.info.name} it was made from.`,
    `import torch`,
    `import torch.nn as nn`,
    `import torch.nn.functional as F`,
  ].join("\n");
  const factory = [
    `def make_model():`,
    `    """The model, ready for load_state_dict(..., strict=True)."""`,
    `    return ${top}`,
  ].join("\n");
  return [header, ...classes, factory].join("\n\n\n") + "\n";
}
