/**
 * Checkpoints: any tree round-trips through safetensors exactly (structure,
 * key order, dtypes, bits), `like` gives a template's structure and checks
 * every leaf, and training resumed in a fresh process from a saved optimizer
 * state gives the same bits as the uninterrupted run.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor, Tree } from "../mod.ts";
import {
  type CheckpointTree,
  deserializeSafetensors,
  loadSafetensors,
  parseSafetensorsHeader,
  SAFETENSORS_TREE_KEY,
  safetensorsMetadata,
  saveSafetensors,
  serializeSafetensors,
} from "../data/mod.ts";
import { fromData, isTensor, zeros } from "../ops/tensor.ts";
import { CASES, initParams, train } from "./_checkpoint_cases.ts";
import { assertAllClose } from "./_helpers.ts";

const { nn, random } = T;

/** Asserts two trees are the same: container kinds, key order, lengths, tensors bit for bit, other leaves by Object.is. */
function assertSameTree(actual: unknown, expected: unknown, path = ""): void {
  const at = path === "" ? "(root)" : `"${path}"`;
  const join = (k: string | number) => path === "" ? `${k}` : `${path}.${k}`;
  if (isTensor(expected)) {
    assert.ok(isTensor(actual), `${at}: not a tensor`);
    assert.equal(actual.dtype, expected.dtype, `${at}: dtype`);
    assert.deepEqual(actual.shape, expected.shape, `${at}: shape`);
    const bits = (t: Tensor) =>
      new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    assert.deepEqual(bits(actual), bits(expected), `${at}: bits`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${at}: not an array`);
    assert.equal(actual.length, expected.length, `${at}: length`);
    expected.forEach((e, i) => assertSameTree(actual[i], e, join(i)));
  } else if (typeof expected === "object" && expected !== null) {
    assert.ok(
      typeof actual === "object" && actual !== null && !Array.isArray(actual),
      `${at}: not an object`,
    );
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    assert.deepEqual(Object.keys(a), Object.keys(e), `${at}: keys`);
    for (const k of Object.keys(e)) assertSameTree(a[k], e[k], join(k));
  } else {
    assert.ok(Object.is(actual, expected), `${at}: ${actual} vs ${expected}`);
  }
}

// ----------------------------------------------------------- the property

const DTYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
};

/** A tensor of any bits (NaN payloads, -0, infinities): random bytes viewed as its dtype. */
const tensorArb = fc.record({
  dtype: fc.constantFrom("float32", "float64", "int32" as const),
  shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
}).chain(({ dtype, shape }) => {
  const Ctor = DTYPES[dtype];
  const n = shape.reduce((a, b) => a * b, 1) * Ctor.BYTES_PER_ELEMENT;
  return fc.uint8Array({ minLength: n, maxLength: n }).map((b) =>
    fromData(new Ctor(new Uint8Array(b).buffer), shape)
  );
});

const leafArb = fc.oneof(
  { weight: 4, arbitrary: tensorArb },
  fc.double(), // NaN, -0, infinities included
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }).map((s) =>
    random.split(random.key(s))[1]
  ),
);

/** Keys with no "." (it separates path levels): integer-like ones (ordered first by JavaScript), "__proto__", any text. */
const keyArb = fc.oneof(
  fc.constantFrom("0", "1", "10", "__proto__", "constructor", "a b", "é"),
  fc.string({ minLength: 1, maxLength: 4 }).filter((k) => !k.includes(".")),
);

const { array: arrayArb, object: objectArb } = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    leafArb,
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("node"), { maxLength: 4 }),
  object: fc.dictionary(keyArb, tie("node"), { maxKeys: 4 }),
}));

Deno.test("safetensors: random trees round-trip bit for bit, structure included (fast-check)", () => {
  const metadataArb = fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })
    .filter((m) => !Object.hasOwn(m, SAFETENSORS_TREE_KEY));
  fc.assert(
    fc.property(
      fc.oneof(arrayArb, objectArb),
      metadataArb,
      (tree, metadata) => {
        const bytes = serializeSafetensors(tree as CheckpointTree, {
          metadata,
        });
        assertSameTree(deserializeSafetensors(bytes), tree);
        assertSameTree(deserializeSafetensors(bytes, { like: tree }), tree);
        assert.deepEqual(safetensorsMetadata(bytes), { ...metadata });
      },
    ),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------- fixed cases

Deno.test("safetensors: the params of every seed model round-trip and apply as before", () => {
  const models: Record<string, T.nn.AnyLayer> = {
    lenet5: nn.lenet5(),
    simpleFCN: nn.simpleFCN(),
    simpleCNN: nn.simpleCNN(),
    birdPlaneNet: nn.birdPlaneNet(),
    everyParameterlessLayer: nn.sequential(
      nn.conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 }),
      nn.relu,
      nn.tanh,
      nn.sigmoid,
      nn.gelu,
      nn.silu,
      nn.leakyRelu(),
      nn.elu(),
      nn.softplus(),
      nn.dropout({ p: 0.5 }),
      nn.maxPool2d({ kernelSize: 2 }),
      nn.avgPool2d({ kernelSize: 2, stride: 1 }),
      nn.adaptiveAvgPool2d({ outputSize: 2 }),
      nn.flatten(),
      nn.linear({ inFeatures: 16, outFeatures: 2 }),
    ),
  };
  const inputs: Record<string, number[]> = {
    lenet5: [2, 1, 32, 32],
    simpleFCN: [2, 3, 4, 4],
  };
  for (const [name, model] of Object.entries(models)) {
    const params = model.init(random.key(0)) as Tree;
    const bytes = serializeSafetensors(params);
    const back = deserializeSafetensors(bytes);
    assertSameTree(back, params, name);
    // through a template: a freshly initialised model's params
    const fresh = model.init(random.key(1)) as Tree;
    assertSameTree(deserializeSafetensors(bytes, { like: fresh }), params);
    const x = random.normal(random.key(2), inputs[name] ?? [2, 3, 32, 32]);
    assertSameTree(
      model.apply(back as never, x),
      model.apply(params as never, x),
      `${name} output`,
    );
  }
});

Deno.test("safetensors: batchNorm2d state (and params) round-trip; training continues the same", () => {
  const net = nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
    nn.batchNorm2d({ numFeatures: 2 }),
    nn.relu,
  );
  const params = net.init(random.key(0));
  let state = net.initState();
  const xs = [3, 4, 5].map((s) => random.normal(random.key(s), [2, 1, 6, 6]));
  for (const x of xs.slice(0, 2)) {
    state = net.applyWithState(params, state, x, { training: true }).state;
  }
  const bytes = serializeSafetensors({ params, state });
  assertSameTree(deserializeSafetensors(bytes), { params, state });
  const back = deserializeSafetensors(bytes, {
    like: { params: net.init(random.key(1)), state: net.initState() },
  });
  assertSameTree(back, { params, state });
  assert.equal(
    (back.state[1] as Record<string, Tensor>).num_batches_tracked
      .dtype,
    "int32",
  );
  assertSameTree(
    net.applyWithState(back.params, back.state, xs[2], { training: true }),
    net.applyWithState(params, state, xs[2], { training: true }),
  );
});

Deno.test("safetensors: numbers, booleans, null and random keys round-trip; a loaded key draws the same numbers", () => {
  const k = random.split(random.key(42))[1];
  const tree = {
    epoch: 3,
    lr: 0.1,
    best: -Infinity,
    loss: NaN,
    zero: -0,
    big: 2 ** 53 - 1,
    done: false,
    note: null,
    key: k,
    keys: random.split(k, 2),
    empty: { list: [], record: {} },
  };
  const bytes = serializeSafetensors(tree);
  assert.equal(parseSafetensorsHeader(bytes).tensors.length, 0);
  const back = deserializeSafetensors(bytes) as typeof tree;
  assertSameTree(back, tree);
  assert.ok(Object.isFrozen(back.key) && Object.isFrozen(back.key.words));
  assertSameTree(
    random.normal(back.key, [5]),
    random.normal(k, [5]),
  );
  assert.equal(
    safetensorsMetadata(bytes)[SAFETENSORS_TREE_KEY],
    undefined,
    "the structure entry is not user metadata",
  );
});

Deno.test("safetensors: the state of every optimizer (plain, scheduled, chained with clipByGlobalNorm) resumes in a fresh process bit for bit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint_test_" });
  try {
    const expected: Record<string, Tree> = {};
    for (const [name, make] of Object.entries(CASES)) {
      const opt = make();
      const params = initParams();
      const three = train(opt, params, opt.init(params), 3);
      await saveSafetensors(`${dir}/${name}.safetensors`, three);
      expected[name] = train(opt, three.params, three.state, 1);
    }
    assert.equal(Object.keys(CASES).length, 57);
    const worker = new URL("./_checkpoint_worker.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        worker,
        dir,
        ...Object.keys(CASES),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    for (const name of Object.keys(CASES)) {
      for (const how of ["next", "like"]) {
        const got = await loadSafetensors(`${dir}/${name}.${how}.safetensors`);
        assertSameTree(got, expected[name], `${name} (${how})`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------------ like

Deno.test("deserializeSafetensors: like names the path and both sides of each difference", () => {
  const i32 = { dtype: "int32" } as const;
  const params: Tree[] = [{ weight: zeros([2, 3]), bias: zeros([2]) }, {}];
  const bytes = serializeSafetensors({
    params,
    state: { count: zeros([], i32) },
    epoch: 1,
  });
  const like = (over: Record<string, unknown>) => ({
    params: [{ weight: zeros([2, 3]), bias: zeros([2]) }, {}],
    state: { count: zeros([], i32) },
    epoch: 0,
    ...over,
  });
  const fails = (template: unknown, message: string) =>
    assert.throws(() => deserializeSafetensors(bytes, { like: template }), {
      message:
        `deserializeSafetensors: the file does not match like: ${message}`,
    });
  fails(
    like({ params: [{ weight: zeros([3, 2]), bias: zeros([2]) }, {}] }),
    '"params.0.weight" is float32 [2,3] in the file but float32 [3,2] in like',
  );
  fails(
    like({ state: { count: zeros([]) } }),
    '"state.count" is int32 [] in the file but float32 [] in like',
  );
  fails(
    like({ state: { count: zeros([], i32), mu: zeros([2]) } }),
    '"state.mu" is missing from the file (like has float32 [2])',
  );
  fails(
    like({ state: {} }),
    'the file has "state.count" (int32 []), which like does not have',
  );
  fails(
    like({ epoch: zeros([]) }),
    '"epoch" is a number in the file but float32 [] in like',
  );
  fails(
    like({ epoch: random.key(0) }),
    '"epoch" is a number in the file but a random key in like',
  );
  fails(
    like({ params: [{ w: zeros([2, 3]), b: zeros([2]) }], epoch: null }),
    '"params.0.w" is missing from the file (like has float32 [2,3]) (and 4 more differences)',
  );
  // an empty {} or [] entry has no leaves: nothing to miss
  const ok = deserializeSafetensors(bytes, {
    like: like({ params: [params[0], { extra: {} }, []] }),
  });
  assert.deepEqual(Object.keys(ok.params[0]), ["weight", "bias"]);
  assert.equal(ok.epoch, 1);
  // the template itself is checked like a tree to save
  assert.throws(
    () => deserializeSafetensors(bytes, { like: { w: "x" } }),
    {
      message:
        'deserializeSafetensors: like holds the string "x" at "w"; expected a tensor, a random key, a number, a boolean, null, an array or a plain object',
    },
  );
  assert.throws(
    () => deserializeSafetensors(bytes, { like: zeros([1]) }),
    /^Error: deserializeSafetensors: like must be an object or array/,
  );
  assert.throws(
    () => deserializeSafetensors(bytes, { likes: {} } as never),
    /deserializeSafetensors: unknown option "likes" \(known options: like\)/,
  );
});

Deno.test("loadSafetensors: like gives a PyTorch-written state_dict (no structure entry) the template's structure", async () => {
  const path = new URL("./fixtures/torch_small.safetensors", import.meta.url)
    .pathname;
  // Sequential(Conv2d(1, 2, 3), ReLU(), Linear(4, 3)) plus two extra tensors
  const seq = nn.sequential(
    nn.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }),
    nn.relu,
    nn.linear({ inFeatures: 4, outFeatures: 3 }),
  );
  const plain = await loadSafetensors(path) as Record<string, unknown>;
  assert.ok(!Array.isArray(plain), "without like: keys 0, 2, extra");
  const fresh = seq.init(random.key(0));
  const like = {
    model: fresh,
    extra: {
      f64: zeros([2, 3], { dtype: "float64" }),
      i32: zeros([5], { dtype: "int32" }),
    },
  };
  // the file's paths are 0.weight ...; the template nests them under "model"
  await assert.rejects(
    loadSafetensors(path, { like }),
    /^Error: loadSafetensors: ".*torch_small.safetensors": the file does not match like: "model.0.weight" is missing from the file \(like has float32 \[2,1,3,3\]\) \(and 7 more differences\)$/,
  );
  const flat = { ...fresh, extra: like.extra };
  const back = await loadSafetensors(path, { like: flat });
  assert.deepEqual(Object.keys(back), ["0", "1", "2", "extra"]);
  assert.deepEqual(back[1], {}); // ReLU's entry, as in the template
  const params = [back[0], back[1], back[2]] as typeof fresh;
  const y = seq.apply(params, zeros([1, 1, 4, 6])); // Linear acts on the last axis
  assert.deepEqual(y.shape, [1, 2, 2, 3]);
  const torchLinear = plain[2] as Record<string, Tensor>;
  assert.deepEqual(Object.keys(back[2]), ["weight", "bias"]); // the template's order
  assertSameTree(back[2].weight, torchLinear.weight);
  assertSameTree(back[2].bias, torchLinear.bias);
  await assert.rejects(
    loadSafetensors(path, { like: fresh }),
    /the file does not match like: the file has "extra.f64" \(float64 \[2,3\]\), which like does not have \(and 1 more difference\)$/,
  );
});

Deno.test("loadSafetensors: PyTorch state_dicts of the seed models load into their params through like and compute PyTorch's outputs", async () => {
  const fixture = (name: string) =>
    new URL(`./fixtures/${name}`, import.meta.url).pathname;
  const io = await loadSafetensors(fixture("torch_seed_io.safetensors"), {
    like: {
      x: zeros([2, 3, 32, 32]),
      birdplane: { y: zeros([2, 2]) },
      simplecnn: { y: zeros([2, 10]) },
    },
  });
  const birdPlane = nn.birdPlaneNet();
  const bp = await loadSafetensors(fixture("torch_birdplane.safetensors"), {
    like: birdPlane.init(random.key(0)),
  });
  // an array with the {} entries of Tanh, MaxPool2d and Flatten, as init gives
  assert.ok(Array.isArray(bp));
  assert.deepEqual(bp.map((p) => Object.keys(p).length), [
    2,
    0,
    0,
    2,
    0,
    0,
    0,
    2,
    0,
    2,
  ]);
  assertAllClose(birdPlane.apply(bp, io.x), io.birdplane.y, { atol: 1e-5 });
  const simple = nn.simpleCNN();
  const sc = await loadSafetensors(fixture("torch_simplecnn.safetensors"), {
    like: simple.init(random.key(0)),
  });
  assert.deepEqual(Object.keys(sc), ["conv1", "conv2", "pool", "fc"]);
  assertAllClose(simple.apply(sc, io.x), io.simplecnn.y, { atol: 1e-5 });
  // without like: by the dotted names, an object with keys 0, 3, 7, 9
  const plain = await loadSafetensors(fixture("torch_birdplane.safetensors"));
  assert.deepEqual(Object.keys(plain as object), ["0", "3", "7", "9"]);
});

// --------------------------------------------------- refused and corrupt

Deno.test("serializeSafetensors: what cannot be stored is named", () => {
  const fails = (tree: unknown, message: string, options = {}) =>
    assert.throws(
      () => serializeSafetensors(tree as CheckpointTree, options),
      { message: `serializeSafetensors: ${message}` },
    );
  fails(
    { w: undefined },
    'tree holds undefined at "w"; expected a tensor, a random key, a number, a boolean, null, an array or a plain object',
  );
  fails(
    { a: [new Map()] },
    'tree holds a Map at "a.0"; expected a tensor, a random key, a number, a boolean, null, an array or a plain object',
  );
  fails(
    { f: () => 1 },
    'tree holds function at "f"; expected a tensor, a random key, a number, a boolean, null, an array or a plain object',
  );
  // deno-lint-ignore no-sparse-arrays
  fails(
    { a: [1, , 3] },
    'tree holds undefined at "a.1"; expected a tensor, a random key, a number, a boolean, null, an array or a plain object',
  );
  const cycle: Record<string, unknown> = { w: zeros([1]) };
  cycle.self = { again: cycle };
  fails(cycle, 'tree at "self.again" contains itself');
  fails(
    { w: zeros([1]) },
    `metadata key "${SAFETENSORS_TREE_KEY}" is reserved for the tree's structure; use another key`,
    { metadata: { [SAFETENSORS_TREE_KEY]: "{}" } },
  );
  fails(
    5,
    "tree must be an object or array (its leaves are named by their paths), got number 5; wrap it, e.g. { x: t }",
  );
  // 1000 levels of containers are stored and read back; 1001 are refused
  let deep: unknown = { w: zeros([1]) };
  for (let i = 0; i < 999; i++) deep = [deep];
  const bytes = serializeSafetensors(deep as CheckpointTree);
  assertSameTree(deserializeSafetensors(bytes), deep);
  fails([deep], "tree nests deeper than 1000 levels");
});

/** Safetensors bytes with the given tensors (float32 [1] each) and structure entry. */
function withStructure(names: string[], structure: string): Uint8Array {
  const header: Record<string, unknown> = {
    __metadata__: { [SAFETENSORS_TREE_KEY]: structure },
  };
  names.forEach((n, i) => {
    header[n] = { dtype: "F32", shape: [1], data_offsets: [4 * i, 4 * i + 4] };
  });
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + 4 * names.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  return out;
}

Deno.test("deserializeSafetensors: a corrupt structure entry is named, with what is wrong", () => {
  const where =
    `deserializeSafetensors: corrupt tree structure (the header's "__metadata__" entry "${SAFETENSORS_TREE_KEY}")`;
  const fails = (names: string[], structure: string, message: string) =>
    assert.throws(
      () => deserializeSafetensors(withStructure(names, structure)),
      {
        message: `${where}${message}`,
      },
    );
  assert.deepEqual(
    Object.keys(deserializeSafetensors(withStructure(["a"], '{"a":"tensor"}'))),
    ["a"],
  );
  fails(["a"], '{"a":', ": not valid JSON (Unexpected end of JSON input)");
  fails(["a"], '{"b":"tensor"}', ' at "b": a tensor the file does not hold');
  fails(
    ["a", "b"],
    '{"a":"tensor"}',
    ': the file holds tensor "b", which it does not name',
  );
  fails([], '"tensor"', ': the root is "tensor"');
  fails([], "3", ": the root is 3");
  fails(
    [],
    '{"a":"x"}',
    ' at "a": "x" is not a node ("tensor", a number, a boolean, null, {".key": [hi, lo]}, {".number": "NaN"}, an array or an object)',
  );
  fails(
    [],
    '{"a":{".key":[1]}}',
    ' at "a": {".key":[1]} is not a leaf ({".key": [hi, lo]} with uint32 words, or {".number": "NaN" | "Infinity" | "-Infinity" | "-0"})',
  );
  fails(
    [],
    '{"a":{".number":"1"}}',
    ' at "a": {".number":"1"} is not a leaf ({".key": [hi, lo]} with uint32 words, or {".number": "NaN" | "Infinity" | "-Infinity" | "-0"})',
  );
  fails(
    [],
    '{"a":{"b.c":1}}',
    ' at "a": the key "b.c" is empty or holds a "."',
  );
  fails(
    [],
    '{"a":{".key":[1,2],"x":1}}',
    ' at "a": the key ".key" is empty or holds a "."',
  );
  // deep nesting is refused, not a stack overflow
  fails(
    [],
    "[".repeat(5000) + "]".repeat(5000),
    ": it nests deeper than 1000 levels",
  );
});
