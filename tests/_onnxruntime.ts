/**
 * Runs ONNX models in a real ONNX runtime, for tests only.
 *
 * Runtime: `npm:onnxruntime-web@1.30.0`, the WebAssembly build of ONNX
 * Runtime 1.30 (CPU, one thread), the same release as the Python
 * `onnxruntime==1.30.0` that tests/fixtures/gen_onnx.py checks with.
 *
 * It runs in a child Deno process (`Deno.execPath()`, `--no-config
 * --no-lock`, from a script written to a temporary directory), so the
 * package never enters this project's module graph or deno.lock: in Deno 2
 * every npm package of deno.lock is downloaded as soon as any npm package is
 * needed, so a lock entry would make `deno run examples/lenet.ts` fetch it
 * too. Each call costs a process start and a WebAssembly compile (about 1 s),
 * so `runOnnxAll` runs many models in one call.
 *
 * Permissions: the test needs `--allow-run` (for the child) and
 * `--allow-write` (for the temporary directory), which `deno task test`
 * already grants; the child gets `--allow-read` (its .wasm file in Deno's
 * npm cache) and `--allow-write` to the temporary directory only. The first
 * run with an empty DENO_DIR downloads the package and its few small
 * dependencies from the npm registry (a 33 MB tarball, 121 MB unpacked);
 * `.ci/run` fetches them before the tests.
 *
 * @example
 * ```ts ignore
 * const out = await runOnnx(bytes, {
 *   x: { data: new Float32Array(2 * 1 * 6 * 6), shape: [2, 1, 6, 6] },
 * });
 * out.y.shape; // [2, 3]
 * ```
 */

/** The runtime's npm specifier (also fetched by .ci/run). */
export const ONNXRUNTIME = "npm:onnxruntime-web@1.30.0";

/** A float32 tensor as the runtime takes and gives it. */
export interface OnnxTensor {
  data: Float32Array;
  shape: number[];
}

/** An input: float32, or int32 (indices, for nn.embedding). */
export interface OnnxInput {
  data: Float32Array | Int32Array;
  shape: number[];
}

/**
 * The child: for each job directory named after the first argument (the
 * root), reads model.onnx and inputs.json (+ in<i>.bin) and writes
 * outputs.json (+ out<i>.bin). One process runs every job: a process start
 * and the WebAssembly compile are paid once.
 */
const CHILD = `
import * as ort from "${ONNXRUNTIME}";
const [root, ...jobs] = Deno.args;
if (jobs[0] === "--load-only") Deno.exit(0);
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = "error";
for (const job of jobs) {
  const dir = root + "/" + job;
  const inputs = JSON.parse(await Deno.readTextFile(dir + "/inputs.json"));
  const session = await ort.InferenceSession.create(
    await Deno.readFile(dir + "/model.onnx"),
    { executionProviders: ["wasm"], graphOptimizationLevel: "all" },
  ).catch((e) => { throw new Error(job + ": " + e.message); });
  const feeds = {};
  for (const [i, { name, shape, type }] of inputs.entries()) {
    const bytes = await Deno.readFile(dir + "/in" + i + ".bin");
    const data = type === "int32" ? new Int32Array(bytes.length / 4) : new Float32Array(bytes.length / 4);
    new Uint8Array(data.buffer).set(bytes);
    feeds[name] = new ort.Tensor(type, data, shape);
  }
  const results = await session.run(feeds)
    .catch((e) => { throw new Error(job + ": " + e.message); });
  const outputs = [];
  for (const [i, name] of session.outputNames.entries()) {
    const t = results[name];
    let data;
    if (t.data instanceof Float32Array) data = t.data;
    else if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) {
      data = Float32Array.from(t.data, (v) => Number(v));
    } else if (ArrayBuffer.isView(t.data)) data = Float32Array.from(t.data);
    else throw new Error(job + ": output " + name + " has type " + t.type);
    await Deno.writeFile(dir + "/out" + i + ".bin",
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    outputs.push({ name, type: t.type, shape: t.dims.map(Number) });
  }
  await session.release();
  await Deno.writeTextFile(dir + "/outputs.json", JSON.stringify(outputs));
}
`;

async function child(dir: string, args: string[]): Promise<void> {
  const script = `${dir}/run_onnx.mjs`;
  await Deno.writeTextFile(script, CHILD);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-config",
      "--no-lock",
      "--no-prompt",
      "--allow-read",
      `--allow-write=${dir}`,
      script,
      dir,
      ...args,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const message = new TextDecoder().decode(stderr).trim();
    throw new Error(`runOnnx: onnxruntime failed (exit ${code}): ${message}`);
  }
}

/**
 * Downloads the runtime into Deno's cache if it is not there yet (what
 * .ci/run does before the tests, so a failed download shows there).
 */
export async function fetchOnnxRuntime(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "onnxruntime_" });
  try {
    await child(dir, ["--load-only"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Runs the ONNX model `model` (serialized ModelProto bytes) on `inputs`
 * (float32, keyed by graph input name) and returns every graph output by
 * name. Outputs of another numeric type are converted to float32 (int64
 * through Number). Throws with the runtime's message when the model does
 * not load or run.
 */
export async function runOnnx(
  model: Uint8Array,
  inputs: Record<string, OnnxInput>,
): Promise<Record<string, OnnxTensor>> {
  return (await runOnnxAll([{ model, inputs }]))[0];
}

/** One model and its inputs, for {@linkcode runOnnxAll}. */
export interface OnnxJob {
  model: Uint8Array;
  inputs: Record<string, OnnxInput>;
}

/**
 * {@linkcode runOnnx} for many models in one child process (one process
 * start and one WebAssembly compile for all): the outputs in job order. A
 * model that fails fails the call, its message starting with `job<i>`.
 */
export async function runOnnxAll(
  jobs: readonly OnnxJob[],
): Promise<Record<string, OnnxTensor>[]> {
  for (const { inputs } of jobs) {
    for (const [name, { data, shape }] of Object.entries(inputs)) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (
        !(data instanceof Float32Array || data instanceof Int32Array) ||
        data.length !== size
      ) {
        throw new Error(
          `runOnnx: input ${name} has ${data.length} values but shape [${shape}] needs ${size}`,
        );
      }
    }
  }
  const root = await Deno.makeTempDir({ prefix: "onnxruntime_" });
  try {
    const names = jobs.map((_, j) => `job${j}`);
    for (const [j, { model, inputs }] of jobs.entries()) {
      const dir = `${root}/${names[j]}`;
      await Deno.mkdir(dir);
      await Deno.writeFile(`${dir}/model.onnx`, model);
      const entries = Object.entries(inputs);
      for (const [i, [, { data }]] of entries.entries()) {
        await Deno.writeFile(
          `${dir}/in${i}.bin`,
          new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        );
      }
      await Deno.writeTextFile(
        `${dir}/inputs.json`,
        JSON.stringify(entries.map(([name, { data, shape }]) => ({
          name,
          shape,
          type: data instanceof Int32Array ? "int32" : "float32",
        }))),
      );
    }
    await child(root, names);
    const results: Record<string, OnnxTensor>[] = [];
    for (const name of names) {
      const dir = `${root}/${name}`;
      const outputs: { name: string; shape: number[] }[] = JSON.parse(
        await Deno.readTextFile(`${dir}/outputs.json`),
      );
      const out: Record<string, OnnxTensor> = {};
      for (const [i, { name, shape }] of outputs.entries()) {
        const bytes = await Deno.readFile(`${dir}/out${i}.bin`);
        const data = new Float32Array(bytes.length / 4);
        new Uint8Array(data.buffer).set(bytes);
        out[name] = { data, shape };
      }
      results.push(out);
    }
    return results;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
