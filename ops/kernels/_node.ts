/**
 * Node built-in modules, loaded when first used. A static `import ... from
 * "node:..."` starts Deno's Node compatibility layer (20-40 ms) in every
 * process that imports the library, most of which never start a worker,
 * read a PNG or touch a file.
 *
 * @module
 */

/** The Node built-in module `id` (e.g. `"node:zlib"`), loaded on first use. */
export function nodeBuiltin<T>(id: string): T {
  const p = (globalThis as unknown as {
    process: { getBuiltinModule(id: string): unknown };
  }).process;
  return p.getBuiltinModule(id) as T;
}
