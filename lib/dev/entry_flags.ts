/**
 * Reads the binaries' flags from their one home, the `compile:server` and
 * `compile:client` tasks in deno.json, so that dev tasks and process-level tests
 * can start the real entry points under `deno run` with exactly the permissions
 * the compiled binaries get. Dev tooling layer; never imported by the product.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The two entry points of the product: `rmon-server` and `rmon`. */
export type Entry = "server" | "client";

/** A `deno compile` command line split into the parts the dev tools need. */
export interface CompileTask {
  /** Every flag in task order except `--output` and `--target` (which the build picks). */
  flags: string[];
  /** The subset of `flags` that `deno run` accepts too: permissions and runtime options. */
  runFlags: string[];
  /**
   * The subset of `runFlags` that shapes the module graph and that `deno cache`
   * accepts (config, lock file, import map, npm and remote settings): caching
   * with them fills exactly what `deno run` with `runFlags` will look for.
   */
  cacheFlags: string[];
  /** The `--output` value as written, or `undefined` when deno would infer it. */
  output: string | undefined;
  /** The `--target` value as written, or `undefined` for the host's target. */
  target: string | undefined;
  /** The entry module as written in the task. */
  entry: string;
  /** Words after the entry, which `deno compile` bakes into the binary's arguments. */
  scriptArgs: string[];
}

/** A compile task read from a deno.json, with its paths resolved. */
export interface EntryTask extends CompileTask {
  /** The task's name, e.g. `compile:server`. */
  name: string;
  /** Absolute path of the directory holding deno.json, where deno runs tasks. */
  root: string;
  /** Absolute path of the entry module. */
  entryPath: string;
}

// Flags only `deno compile` knows (from `deno compile --help`, Deno 2.9); `deno run`
// rejects them. The value says whether the flag takes a value.
const COMPILE_ONLY = new Map<string, boolean>([
  ["--output", true],
  ["-o", true],
  ["--target", true],
  ["--engine", true],
  ["--icon", true],
  ["--include", true],
  ["--exclude", true],
  ["--app-name", true],
  ["--no-terminal", false],
  ["--self-extracting", false],
  ["--bundle", false],
  ["--minify", false],
  ["--exclude-unused-npm", false],
]);

// Shared flags whose value may follow as a separate word (`<VALUE>` in the help).
// Permission flags are absent on purpose: their optional value needs `=`.
const TAKES_SEPARATE_VALUE = new Set([
  "-c",
  "--config",
  "--ext",
  "--import-map",
  "--node-modules-linker",
  "--cert",
  "--min-dep-age",
  "--inspect-publish-uid",
  "--location",
  "--seed",
  "--preload",
  "--require",
  "--conditions",
  "-L",
  "--log-level",
]);

// Flags `deno cache` shares with `deno run` that decide what the module graph is (from
// `deno cache --help`, Deno 2.9); permissions and runtime options are no business of a cache.
const GRAPH_FLAGS = new Set([
  "--ext",
  "--import-map",
  "--no-remote",
  "--no-npm",
  "--node-modules-dir",
  "--vendor",
  "--node-modules-linker",
  "-c",
  "--config",
  "--no-config",
  "--lock",
  "--no-lock",
  "--frozen-lockfile",
  "--cert",
  "--unsafely-ignore-certificate-errors",
  "--min-dep-age",
  "-I",
  "--allow-import",
  "--deny-import",
  "--allow-scripts",
]);

/**
 * Splits a task command into words the way deno task's shell does for plain
 * commands: whitespace-separated, with single quotes, double quotes and backslash
 * escapes. Throws a `SyntaxError` for shell syntax (operators, redirects,
 * substitutions) that a flag list has no use for and that would hide flags.
 */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let word = "";
  // A word exists once anything (even empty quotes) was seen, so `''` is a word.
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === "$" || ch === "`") {
      throw new SyntaxError(`Cannot split command: substitution "${ch}" is not supported`);
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && (command[i + 1] === '"' || command[i + 1] === "\\")) {
        word += command[++i];
      } else word += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (";|&<>()".includes(ch)) {
      throw new SyntaxError(`Cannot split command: shell syntax "${ch}" is not supported`);
    } else {
      if (ch === "'" || ch === '"') quote = ch;
      else if (ch === "\\" && i + 1 < command.length) word += command[++i];
      else word += ch;
      inWord = true;
    }
  }
  if (quote) throw new SyntaxError(`Cannot split command: unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** Splits `--name=value` into its name; other words are their own name. */
function flagName(word: string): string {
  const eq = word.indexOf("=");
  if (word.startsWith("--") && eq > 0) return word.slice(0, eq);
  // Short flags may glue their value on: `-ofoo`, `-o=foo`.
  if (/^-[a-zA-Z]./.test(word)) return word.slice(0, 2);
  return word;
}

/**
 * Parses a `deno compile ...` command line. `name` only labels error messages.
 * Throws a `SyntaxError` when the text is not a plain `deno compile` command with
 * an entry module.
 */
export function parseCompileTask(command: string, name = "compile task"): CompileTask {
  const words = splitWords(command);
  if (words[0] !== "deno" || words[1] !== "compile") {
    throw new SyntaxError(
      `Cannot read task "${name}": expected it to start with "deno compile", got "${command}"`,
    );
  }
  const task: CompileTask = {
    flags: [],
    runFlags: [],
    cacheFlags: [],
    output: undefined,
    target: undefined,
    entry: "",
    scriptArgs: [],
  };
  let i = 2;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith("-") || word === "-") break;
    const flag = flagName(word);
    const glued = word !== flag;
    const compileOnly = COMPILE_ONLY.get(flag);
    // `--lock` takes an optional value that may be a separate word; only treat the
    // next word as its value when something else is left to be the entry.
    const separate = !glued && (
      compileOnly === true || TAKES_SEPARATE_VALUE.has(flag) ||
      (flag === "--lock" && i + 2 < words.length && !words[i + 1]!.startsWith("-"))
    );
    if (separate && i + 1 >= words.length) {
      throw new SyntaxError(`Cannot read task "${name}": flag "${word}" has no value`);
    }
    const group = separate ? [word, words[++i]!] : [word];
    const value = separate ? group[1]! : word.slice(flag.length).replace(/^=/, "");
    if (flag === "--output" || flag === "-o") task.output = value;
    else if (flag === "--target") task.target = value;
    else {
      task.flags.push(...group);
      if (compileOnly === undefined) task.runFlags.push(...group);
      // `--unstable-*` features may change how modules resolve; they are global flags.
      if (GRAPH_FLAGS.has(flag) || flag.startsWith("--unstable")) task.cacheFlags.push(...group);
    }
  }
  const entry = words[i];
  if (entry === undefined) {
    throw new SyntaxError(`Cannot read task "${name}": no entry module after the flags`);
  }
  task.entry = entry;
  task.scriptArgs = words.slice(i + 1);
  return task;
}

/** The deno.json beside the repository root, found from this module's location. */
const DEFAULT_DENO_JSON = new URL("../../deno.json", import.meta.url);

function toPath(path: string | URL): string {
  return path instanceof URL ? fileURLToPath(path) : resolve(path);
}

/** Picks `tasks["compile:<entry>"]` out of deno.json's text and resolves it. */
function compileTaskFrom(text: string, configPath: string, entry: Entry): EntryTask {
  const name = `compile:${entry}`;
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot parse "${configPath}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  const tasks = (config as { tasks?: Record<string, unknown> } | null)?.tasks;
  const raw = tasks?.[name];
  // Deno 2 also accepts `{ "command": "...", "description": "..." }` for a task.
  const command = typeof raw === "object" && raw !== null
    ? (raw as { command?: unknown }).command
    : raw;
  if (typeof command !== "string") {
    throw new Error(`Cannot read task "${name}": "${configPath}" has no such task`);
  }
  const root = dirname(configPath);
  const task = parseCompileTask(command, name);
  return { ...task, name, root, entryPath: resolve(root, task.entry) };
}

/**
 * Reads and parses the `compile:<entry>` task.
 * `denoJsonPath` defaults to the repository's deno.json.
 */
export async function readCompileTask(
  entry: Entry,
  denoJsonPath: string | URL = DEFAULT_DENO_JSON,
): Promise<EntryTask> {
  const path = toPath(denoJsonPath);
  return compileTaskFrom(await Deno.readTextFile(path), path, entry);
}

/** Synchronous {@linkcode readCompileTask}, for module-level test setup. */
export function readCompileTaskSync(
  entry: Entry,
  denoJsonPath: string | URL = DEFAULT_DENO_JSON,
): EntryTask {
  const path = toPath(denoJsonPath);
  return compileTaskFrom(Deno.readTextFileSync(path), path, entry);
}

/** The flags of `compile:<entry>` that `deno run` accepts, e.g. `["--allow-net", ...]`. */
export async function readEntryFlags(
  entry: Entry,
  denoJsonPath?: string | URL,
): Promise<string[]> {
  return (await readCompileTask(entry, denoJsonPath)).runFlags;
}

/** Synchronous {@linkcode readEntryFlags}. */
export function readEntryFlagsSync(entry: Entry, denoJsonPath?: string | URL): string[] {
  return readCompileTaskSync(entry, denoJsonPath).runFlags;
}

/** Absolute path of the entry module named in `compile:<entry>`, e.g. `/repo/server.ts`. */
export async function entryFile(entry: Entry, denoJsonPath?: string | URL): Promise<string> {
  return (await readCompileTask(entry, denoJsonPath)).entryPath;
}

/**
 * Arguments for `Deno.execPath()` that run the entry point as its binary would:
 * `["run", ...flags, entryPath, ...bakedArgs]`. Append the program's own arguments.
 */
export async function runArgs(entry: Entry, denoJsonPath?: string | URL): Promise<string[]> {
  return toRunArgs(await readCompileTask(entry, denoJsonPath));
}

/** Synchronous {@linkcode runArgs}. */
export function runArgsSync(entry: Entry, denoJsonPath?: string | URL): string[] {
  return toRunArgs(readCompileTaskSync(entry, denoJsonPath));
}

function toRunArgs(task: EntryTask): string[] {
  return ["run", ...task.runFlags, task.entryPath, ...task.scriptArgs];
}

/**
 * Arguments for `Deno.execPath()` that fill Deno's cache with the entry
 * point's module graph, as {@linkcode runArgs} will load it:
 * `["cache", ...graphFlags, entryPath]`.
 */
export async function cacheArgs(entry: Entry, denoJsonPath?: string | URL): Promise<string[]> {
  const task = await readCompileTask(entry, denoJsonPath);
  return ["cache", ...task.cacheFlags, task.entryPath];
}
