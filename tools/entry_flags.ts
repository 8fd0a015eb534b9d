/**
 * The binaries' flags, defined once: the `binaries` section of deno.json
 * names each program's entry module, its permission flags, the runtime
 * options it runs with and the extra modules a compile must take in. This
 * module composes every command line from that one definition — `deno
 * compile` for the build and release, `deno run` for the dev tasks, the tests
 * and the benchmarks, `deno cache` for warming the cache — so none of them
 * can drift from what the shipped binaries get. Nothing is parsed back out of
 * a command line. Dev tooling layer; never imported by the product.
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import config from "../deno.json" with { type: "json" };

/** The two entry points of the product: `rmon-server` and `rmon`. */
export type Entry = "server" | "client";

/** Both entries, server first. */
export const ENTRIES: readonly Entry[] = ["server", "client"];

/** One program as deno.json's `binaries` section defines it. */
export interface BinarySpec {
  /** The binary's file name without `.exe`, e.g. `rmon-server`. */
  name: string;
  /** The entry module, relative to the repository root. */
  entry: string;
  /**
   * Options that `deno run`, `deno compile` and `deno cache` all accept and that
   * shape how the module graph is read (`--no-config`, `--lock=…`).
   */
  options: string[];
  /** Permission flags (`--allow-*`, `--deny-*`): run and compile only. */
  permissions: string[];
  /** Modules `deno compile` must take in that no static import reaches. */
  include: string[];
  /**
   * V8 flags the program runs with (`--optimize-for-size`): run and compile
   * only, as one `--v8-flags=…` (`deno cache` does not take it). Optional.
   */
  v8Flags?: string[];
}

/** The `--v8-flags=…` option of `spec`, as a list of zero or one word. */
function v8Option(spec: BinarySpec): string[] {
  const flags = spec.v8Flags ?? [];
  return flags.length === 0 ? [] : [`--v8-flags=${flags.join(",")}`];
}

/** The repository root (where deno.json is), as an absolute path. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The product's version: deno.json's `version`, the one place it is written. */
export const VERSION: string = config.version;

/**
 * Checks one `binaries` entry; throws a `TypeError` naming what is wrong, so
 * a bad edit to deno.json fails every tool at once with the same message.
 */
export function checkSpec(entry: string, raw: unknown): BinarySpec {
  const where = `deno.json binaries.${entry}`;
  if (typeof raw !== "object" || raw === null) throw new TypeError(`Cannot read ${where}: missing`);
  const o = raw as Record<string, unknown>;
  const str = (key: string): string => {
    if (typeof o[key] !== "string" || o[key] === "") {
      throw new TypeError(`Cannot read ${where}.${key}: expected a non-empty string`);
    }
    return o[key];
  };
  const list = (key: string, pattern: RegExp): string[] => {
    const v = o[key];
    if (!Array.isArray(v) || !v.every((w) => typeof w === "string" && pattern.test(w))) {
      throw new TypeError(`Cannot read ${where}.${key}: expected a list of words like ${pattern}`);
    }
    return v;
  };
  return {
    name: str("name"),
    entry: str("entry"),
    // Each option is one word (`--lock=x`, never `--lock x`): a flag list is then just a list.
    // V8 flags have their own key, so `deno cache` (which refuses them) can be given the rest.
    options: list("options", /^--(?!v8-flags)[a-z][a-z0-9-]*(=.*)?$/),
    permissions: list("permissions", /^(-A|--(allow|deny)-[a-z-]+(=.*)?)$/),
    include: list("include", /^[^-]/),
    v8Flags: o.v8Flags === undefined ? [] : list("v8Flags", /^--[a-z][a-z0-9-]*(=[^,]*)?$/),
  };
}

/** The spec of `entry` from the repository's deno.json. */
export function binarySpec(entry: Entry): BinarySpec {
  return checkSpec(entry, (config.binaries as Record<string, unknown>)[entry]);
}

/** `path` against the repository root unless it is absolute. */
function fromRoot(path: string, root: string): string {
  return isAbsolute(path) ? path : join(root, path);
}

/**
 * Arguments for `Deno.execPath()` that run the entry point as its binary would:
 * `["run", ...options, ...permissions, entryPath]`. Append the program's own arguments.
 */
export function runArgs(entry: Entry | BinarySpec, root = ROOT): string[] {
  const spec = typeof entry === "string" ? binarySpec(entry) : entry;
  return [
    "run",
    ...spec.options,
    ...v8Option(spec),
    ...spec.permissions,
    fromRoot(spec.entry, root),
  ];
}

/**
 * The flags `deno run` gets for `entry` (options, then permissions), without
 * the entry module: for running another checkout's copy of the same program.
 */
export function runFlags(entry: Entry | BinarySpec): string[] {
  const spec = typeof entry === "string" ? binarySpec(entry) : entry;
  return [...spec.options, ...v8Option(spec), ...spec.permissions];
}

/** Arguments that compile the entry to `output` (for `target`, default the host's). */
export function compileArgs(
  entry: Entry | BinarySpec,
  opts: { output: string; target?: string },
  root = ROOT,
): string[] {
  const spec = typeof entry === "string" ? binarySpec(entry) : entry;
  return [
    "compile",
    ...spec.options,
    ...v8Option(spec),
    ...spec.permissions,
    ...spec.include.flatMap((path) => ["--include", fromRoot(path, root)]),
    "--output",
    opts.output,
    ...(opts.target === undefined ? [] : ["--target", opts.target]),
    fromRoot(spec.entry, root),
  ];
}

/**
 * Arguments that fill Deno's cache with the entry's module graph as
 * {@linkcode runArgs} will load it: `["cache", ...options, entryPath, ...includedModules]`
 * (no V8 flags: they shape no module graph, and `deno cache` refuses them).
 * Included modules are loaded by computed specifiers that no static walk
 * reaches, so they are named here or their npm packages would download (with
 * a progress bar) at first use; included folders of plain files are skipped.
 */
export function cacheArgs(entry: Entry | BinarySpec, root = ROOT): string[] {
  const spec = typeof entry === "string" ? binarySpec(entry) : entry;
  const modules = spec.include.filter((path) => /\.[jt]sx?$/.test(path));
  return ["cache", ...spec.options, ...[spec.entry, ...modules].map((p) => fromRoot(p, root))];
}

/** Absolute path of the entry module, e.g. `/repo/server.ts`. */
export function entryFile(entry: Entry): string {
  return fromRoot(binarySpec(entry).entry, ROOT);
}
