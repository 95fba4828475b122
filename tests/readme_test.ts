/**
 * The README's TypeScript examples, run as a reader would run them (each
 * block a program in a fresh directory): every `console.log(...); // VALUE`
 * prints VALUE ("the same" repeats the line before), and the training
 * example's checkpoint continues a stopped run with the same numbers as an
 * uninterrupted one, as the README says.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

/** Runs `source` (its `./mod.ts` imports pointed at the repository) in `dir`; returns its output lines. */
async function run(source: string, dir: string): Promise<string[]> {
  const file = `${dir}/example.ts`;
  await Deno.writeTextFile(
    file,
    source.replaceAll(
      '"./mod.ts"',
      JSON.stringify(new URL("mod.ts", root).href),
    ),
  );
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--config",
      fileURLToPath(new URL("deno.json", root)),
      file,
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `the example failed:\n${source}\n${err}`);
  return new TextDecoder().decode(stdout).trim().split("\n").filter((l) => l);
}

/** The values a block's comments promise, one per `console.log` line. */
function promised(source: string): string[] {
  return source.split("\n").filter((l) => /^\s*console\.log\(/.test(l)).map(
    (l) => {
      const m = l.match(/\/\/ (.*)$/);
      assert.ok(m, `no printed value in the comment of: ${l}`);
      return m[1];
    },
  );
}

/** A printed or promised value with spaces and line breaks removed (Deno prints arrays over several lines). */
const squeeze = (s: string) => s.replace(/\s+/g, "");

Deno.test("README: the examples print what their comments say", async () => {
  const printing = blocks.filter((b) => /console\.log\(/.test(b));
  assert.ok(printing.length >= 2, "the README's printing examples");
  for (const source of printing) {
    const dir = await Deno.makeTempDir();
    try {
      const out = squeeze((await run(source, dir)).join(" "));
      let last = "";
      let printed = "";
      for (const p of promised(source)) {
        const want = p === "the same" ? last : squeeze(p);
        printed += want;
        last = want;
      }
      assert.equal(out, printed, source);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("README: the training example's checkpoint continues a stopped run with the same numbers", async () => {
  const source = blocks.find((b) => b.includes("saveSafetensors"));
  assert.ok(source, "the README's training example");
  assert.match(source, /epoch < 3;/);
  const [whole, resumed] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    await run(source, whole); // epochs 0, 1, 2 in one run
    await run(source.replace("epoch < 3;", "epoch < 1;"), resumed); // stopped after one
    await run(source, resumed); // continued from its checkpoint
    const [a, b] = await Promise.all([
      Deno.readFile(`${whole}/mnist.safetensors`),
      Deno.readFile(`${resumed}/mnist.safetensors`),
    ]);
    assert.ok(a.length > 30_000, "a checkpoint of the model");
    // (compared byte by byte: a diff of two 95 kB arrays takes assert minutes)
    const first = a.findIndex((v, i) => v !== b[i]);
    assert.ok(
      a.length === b.length && first === -1,
      `the checkpoints differ (${a.length} and ${b.length} bytes, first at ${first})`,
    );
  } finally {
    await Deno.remove(whole, { recursive: true });
    await Deno.remove(resumed, { recursive: true });
  }
});
