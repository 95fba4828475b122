/**
 * File helpers shared by the data loaders: reads and atomic writes whose
 * errors name the calling function, the path, and the permission flag to add.
 *
 * @module
 * @internal
 */
import { nodeBuiltin } from "../ops/kernels/_node.ts";

/** node:path, loaded on first use. */
const nodePath = () => nodeBuiltin<typeof import("node:path")>("node:path");

/** Checks that `path` is a non-empty string. @internal */
export function checkPath(fn: string, path: unknown, name = "path"): string {
  if (typeof path !== "string" || path === "") {
    throw new Error(
      `${fn}: ${name} must be a non-empty string, got ${
        path === "" ? "an empty string" : typeof path
      }`,
    );
  }
  return path;
}

/** Checks that `bytes` is a Uint8Array. @internal */
export function checkBytes(fn: string, bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(
      `${fn}: bytes must be a Uint8Array, got ${
        bytes === null
          ? "null"
          : typeof bytes === "object"
          ? (bytes as object).constructor?.name ?? "an object"
          : typeof bytes
      }`,
    );
  }
  return bytes;
}

/**
 * Turns a file-system error into an Error that names `fn`, the path and,
 * for a missing Deno permission, the flag to add. @internal
 */
export function fsError(
  fn: string,
  action: "read" | "write",
  path: string,
  err: unknown,
): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof Deno.errors.NotCapable) {
    // Deno's message names the flag it needs ("--allow-read", "--allow-write",
    // or "--allow-all" for /proc, /sys and /dev). Writing atomically renames
    // a temporary file, which needs both read and write.
    const needed = /--allow-(read|write|all)/.exec(msg)?.[0];
    const flag = needed === "--allow-all"
      ? needed
      : action === "write"
      ? "--allow-read --allow-write"
      : needed ?? `--allow-${action}`;
    return new Error(
      `${fn}: no permission to ${action} "${path}": add ${flag} (e.g. deno run ${flag} ...)`,
      { cause: err },
    );
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new Error(
      `${fn}: permission denied to ${action} "${path}" (check the file's permissions; under Deno also add --allow-${action})`,
      { cause: err },
    );
  }
  if (err instanceof Deno.errors.NotFound) {
    return new Error(`${fn}: no such file or directory "${path}"`, {
      cause: err,
    });
  }
  return new Error(`${fn}: could not ${action} "${path}": ${msg}`, {
    cause: err,
  });
}

/**
 * `f()`, which runs the in-memory step `inner` (a parser or an encoder) for
 * the file function `fn`; an error is rethrown as `fn`'s, with the path when
 * given and without `inner`'s name: `readPng: "a.png": not a PNG file`.
 * @internal
 */
export function rethrowAs<T>(
  fn: string,
  inner: string,
  f: () => T,
  path?: string,
): T {
  try {
    return f();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const what = msg.startsWith(`${inner}: `)
      ? msg.slice(inner.length + 2)
      : msg;
    throw new Error(
      `${fn}: ${path === undefined ? "" : `"${path}": `}${what}`,
      { cause: err },
    );
  }
}

/**
 * Reads a whole file; errors name `fn`, the path and the flag to add. A
 * device (/dev/zero, /dev/urandom: endless) is an error, not a read that
 * never ends; a pipe is read to its end. @internal
 */
export async function readBytes(fn: string, path: string): Promise<Uint8Array> {
  checkPath(fn, path);
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      throw new Error(`${fn}: "${path}" is a directory, not a file`);
    }
    if (info.isCharDevice || info.isBlockDevice) {
      throw new Error(
        `${fn}: "${path}" is a device, not a file (reading it might never end)`,
      );
    }
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(`${fn}: `)) throw err;
    throw fsError(fn, "read", path, err);
  }
}

/** What is at `path`: "file", "dir", or null when nothing is there. @internal */
export async function pathKind(
  fn: string,
  path: string,
): Promise<"file" | "dir" | null> {
  let info: Deno.FileInfo | null;
  try {
    info = await statOrNull(path);
  } catch (err) {
    throw fsError(fn, "read", path, err);
  }
  return info === null ? null : info.isDirectory ? "dir" : "file";
}

/** Temporary files of the saves in flight in this process. */
const liveTemps = new Set<string>();

function canRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state ===
    "granted";
}

/**
 * The file that a write to `path` replaces: `path` itself, or, when `path`
 * is a symbolic link (or a chain of them), the link's final target, which
 * need not exist yet.
 */
async function linkTarget(fn: string, path: string): Promise<string> {
  let p = path;
  for (let hops = 0; hops <= 40; hops++) {
    try {
      if (!(await Deno.lstat(p)).isSymlink) return p;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return p;
      throw err;
    }
    p = nodePath().resolve(nodePath().dirname(p), await Deno.readLink(p));
  }
  throw new Error(
    `${fn}: path "${path}" is a loop of symbolic links (more than 40 hops)`,
  );
}

/**
 * Removes the temporary files that earlier saves to `dir/base` left when
 * they were killed: named `.<base>.tmp-<pid>-<hex>`, not a save in flight in
 * this process, and not locked (a writer holds an exclusive lock on its
 * temporary file until it has renamed it; the system drops the lock of a
 * killed process). Best effort: what cannot be listed or removed is left.
 */
async function removeStaleTemps(dir: string, base: string): Promise<void> {
  if (!canRead(dir)) return;
  const prefix = `.${base}.tmp-`;
  try {
    for await (const e of Deno.readDir(dir)) {
      const file = nodePath().join(dir, e.name);
      if (
        !e.isFile || !e.name.startsWith(prefix) || liveTemps.has(file) ||
        !/^\d+-[0-9a-f]+$/.test(e.name.slice(prefix.length))
      ) continue;
      try {
        using f = await Deno.open(file, { read: true });
        if (await f.tryLock(true)) await Deno.remove(file);
      } catch { /* gone already, or not ours to remove */ }
    }
  } catch { /* the save itself matters more than the cleanup */ }
}

/**
 * Writes `bytes` to `path` atomically: writes and syncs a temporary file
 * `.<name>.tmp-<pid>-<hex>` in the same directory, then renames it over the
 * target, so a crash never leaves a half-written file at `path`; a file
 * replaced keeps its permission bits, and a directory, device, FIFO or
 * socket at `path` is an error (the rename would replace it). The
 * temporary file is removed on error, and the stale ones of earlier, killed
 * saves to the same file are removed first. When `path` is a symbolic link,
 * its target is written (the temporary file goes next to the target) and
 * the link stays. @internal
 */
export async function writeBytesAtomic(
  fn: string,
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  checkPath(fn, path);
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (name === "" || name === "." || name === "..") {
    throw new Error(`${fn}: path must name a file, got "${path}"`);
  }
  let tmp = "";
  let created = false;
  let file: Deno.FsFile | undefined;
  try {
    const target = await linkTarget(fn, path);
    const dir = nodePath().dirname(target), base = nodePath().basename(target);
    const old = await statOrNull(target);
    if (old?.isDirectory) {
      throw new Error(`${fn}: "${path}" is a directory, expected a file path`);
    }
    if (old !== null && !old.isFile) {
      // the rename would replace it (/dev/null itself, as root) by a file
      throw new Error(
        `${fn}: "${path}" is a device, FIFO or socket, not a regular file: a save replaces the file at its path`,
      );
    }
    await removeStaleTemps(dir, base);
    // another process's cleanup may remove the new file between its
    // creation and its lock (it looks stale then): once locked, a file still
    // at its name is ours for good, else try a new name
    for (let attempt = 0;; attempt++) {
      const rand = Math.floor(Math.random() * 0x100000000).toString(16);
      tmp = nodePath().join(dir, `.${base}.tmp-${Deno.pid}-${rand}`);
      liveTemps.add(tmp);
      file = await Deno.open(tmp, { write: true, createNew: true });
      created = true;
      await file.lock(true); // held until the rename: not stale to others
      const mine = await file.stat(), there = await statOrNull(tmp);
      if (
        there !== null &&
        (mine.ino === null ||
          (mine.ino === there.ino && mine.dev === there.dev))
      ) break;
      file.close();
      file = undefined;
      created = false;
      liveTemps.delete(tmp);
      if (attempt >= 16) {
        throw new Error(
          `${fn}: could not write "${path}": another process kept removing its temporary file "${tmp}"`,
        );
      }
    }
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    // the file replaced keeps its permissions, as when written in place (a
    // private checkpoint stays private)
    if (old?.mode != null) await Deno.chmod(tmp, old.mode & 0o777);
    await file.sync();
    await Deno.rename(tmp, target);
    created = false;
  } catch (err) {
    if (created) {
      try {
        await Deno.remove(tmp);
      } catch { /* best effort: the original error matters more */ }
    }
    if (err instanceof Error && err.message.startsWith(`${fn}: `)) throw err;
    throw fsError(fn, "write", path, err);
  } finally {
    file?.close();
    liveTemps.delete(tmp);
  }
}

/** `Deno.stat(path)`, or null when nothing is there. */
async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
