/**
 * The library's shape as a house: no import cycle anywhere (type-only
 * imports included), every module of `ops/` importable first and alone, and
 * every registered primitive with a row in the gradient table.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { primitives } from "../ops/trace.ts";
import { recordPrimitives } from "../ops/debug.ts";
import { drawValues } from "./_op_table.ts";
import { allRows } from "./_rows.ts";

const root = new URL("../", import.meta.url);

/** The entry points: the package's exports, the examples and the WebAssembly build script. */
async function entryPoints(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", root)),
  );
  const entries = Object.values(config.exports as Record<string, string>);
  for await (const e of Deno.readDir(new URL("examples/", root))) {
    if (e.name.endsWith(".ts")) entries.push(`./examples/${e.name}`);
  }
  entries.push("./ops/kernels/wasm/build.ts");
  return entries.map((e) => new URL(e, root).href);
}

/** The local module graph (code and type-only imports) from `deno info --json`. */
async function moduleGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const entry of await entryPoints()) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", fileURLToPath(entry)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const info = JSON.parse(new TextDecoder().decode(stdout));
    for (const m of info.modules) {
      if (!m.specifier?.startsWith(root.href)) continue;
      const deps = (m.dependencies ?? []).flatMap((
        d: { code?: { specifier: string }; type?: { specifier: string } },
      ) => [d.code?.specifier, d.type?.specifier])
        .filter((s: string | undefined): s is string =>
          !!s && s.startsWith(root.href)
        );
      graph.set(m.specifier, [...new Set<string>(deps)]);
    }
  }
  return graph;
}

/** A cycle of `graph` as a list of modules (first = last), or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (m: string): string[] | null => {
    if (state.get(m) === "done") return null;
    if (state.get(m) === "open") return [...stack.slice(stack.indexOf(m)), m];
    state.set(m, "open");
    stack.push(m);
    for (const d of graph.get(m) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(m, "done");
    return null;
  };
  for (const m of graph.keys()) {
    const c = visit(m);
    if (c) return c;
  }
  return null;
}

Deno.test("architecture: findCycle finds a cycle and only a cycle", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(findCycle(g), ["a", "b", "c", "a"]);
  g.set("c", []);
  assert.equal(findCycle(g), null);
});

Deno.test("architecture: no import cycle among the library's modules, type-only imports included", async () => {
  const graph = await moduleGraph();
  assert.ok(graph.size > 50, `only ${graph.size} modules found`);
  const cycle = findCycle(graph);
  assert.equal(
    cycle,
    null,
    `import cycle: ${
      cycle?.map((m) => m.slice(root.href.length)).join(" -> ")
    }`,
  );
});

Deno.test("architecture: every module of ops/ can be imported first, alone, in a fresh process", async () => {
  const modules: string[] = [];
  const walk = async (dir: URL) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".ts")) modules.push(new URL(e.name, dir).href);
    }
  };
  await walk(new URL("ops/", root));
  assert.ok(modules.length > 30, `only ${modules.length} modules found`);
  // one process imports each module first and alone, then reports
  const script = `const failed = [];
for (const m of ${JSON.stringify(modules)}) {
  const c = new Deno.Command(Deno.execPath(), { args: ["eval", "await import(" + JSON.stringify(m) + ")"], stderr: "piped" });
  const { code, stderr } = await c.output();
  if (code !== 0) failed.push(m + ": " + new TextDecoder().decode(stderr).split("\\n")[0]);
}
console.log(JSON.stringify(failed));`;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), []);
});

Deno.test("architecture: every registered primitive is bound by a row of the gradient table", () => {
  // each row's checkGrads (order 2, both modes) on one drawn case: the
  // primitives it binds, derivative rules included
  const covered = new Set<string>();
  for (const row of allRows) {
    const [{ shapes, p }] = fc.sample(row.arb, { numRuns: 1, seed: 1 });
    const args = shapes.map((s, i) =>
      drawValues(s, row.domains[i] ?? "real", 1 + i)
    );
    const [, names] = recordPrimitives(() =>
      T.checkGrads((...xs: Tensor[]) => row.f(p, ...xs), args, {
        order: 2,
        ...row.check,
      })
    );
    names.forEach((n) => covered.add(n));
  }
  const names = primitives().map((p) => p.name).sort();
  assert.ok(names.length >= 40, `only ${names.length} primitives registered`);
  assert.deepEqual(names.filter((n) => !covered.has(n)), []);
});
