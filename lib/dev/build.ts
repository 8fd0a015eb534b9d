// deno-lint-ignore-file no-console
/**
 * `deno task build [--target TRIPLE] [server|client]...`: compiles the binaries.
 * The flags come from the `compile:server` / `compile:client` tasks, their one
 * home; this script only picks the output path and target, so cross builds land
 * in `dist/<target>/` without a second copy of the permissions. Dev tooling layer.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { type Entry, readCompileTask } from "./entry_flags.ts";

const ENTRIES: readonly Entry[] = ["server", "client"];

const USAGE = "Usage: deno task build [--target TRIPLE] [server|client]...";

/** What `deno compile` printed when it failed, reduced to what a person needs. */
export interface CompileFailure {
  /** The binary's name, e.g. `rmon-server`. */
  binary: string;
  /** The target triple the build was for. */
  target: string;
  /** Everything the compiler wrote to stderr. */
  stderr: string;
}

/** Removes terminal colour codes, which deno writes even into a pipe. */
function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * Turns a failed compile's stderr into one message without Rust's backtrace.
 * A missing runtime download, the usual failure on an offline machine, gets advice.
 */
export function describeCompileFailure({ binary, target, stderr }: CompileFailure): string {
  const text = stripAnsi(stderr);
  // anyhow's "Caused by" chain ends with the most specific reason.
  const reasons = [...text.matchAll(/^\s+\d+: (.+)$/gm)].map((m) => m[1]!);
  const runtime = `a denort binary of Deno ${Deno.version.deno} for ${target}`;
  const missing = /Could not find denort at '([^']*)'/.exec(text);
  if (missing) {
    return `Cannot build "${binary}": DENORT_BIN points at "${missing[1]}", which does not ` +
      `exist; point it at ${runtime}, or unset it`;
  }
  if (/denort/i.test(text) && /error sending request|Setting up base binary/i.test(text)) {
    const url = /https?:\/\/\S*denort\S*?\.zip/.exec(text)?.[0];
    return `Cannot build "${binary}": deno compile could not download its runtime (denort)` +
      `${url ? ` from ${url}` : ""}: ${reasons.at(-1) ?? "network error"}. Build on a machine ` +
      `with internet access, or set DENORT_BIN to ${runtime} (denort-${target}.zip from that ` +
      `Deno release)`;
  }
  let lines = text.split("\n");
  const end = lines.findIndex((line) => line.startsWith("Stack backtrace:"));
  if (end !== -1) lines = lines.slice(0, end);
  // A failure while writing the binary comes after the embedded-files summary.
  const summary = lines.indexOf("Embedded Files");
  const error = lines.findIndex((line) => line.startsWith("error:"));
  if (summary !== -1 && summary < error) lines.splice(summary, error - summary);
  const kept = lines
    // Progress lines say what was being done, not what went wrong.
    .filter((line) => !/^(Check|Compile|Download|Task) /.test(line))
    .join("\n").trim().split("\n");
  const shown = kept.length > 30
    ? [...kept.slice(0, 30), `… ${kept.length - 30} more lines`]
    : kept;
  return `Cannot build "${binary}": deno compile failed:\n${shown.join("\n")}`;
}

/** Windows binaries need `.exe`; deno would add it anyway, but we report the path. */
function withExe(path: string, target: string): string {
  return target.includes("windows") && !path.endsWith(".exe") ? `${path}.exe` : path;
}

/** Formats a byte count for people, e.g. `93.8 MiB`. */
function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}

/**
 * Compiles one entry point and returns the binary's path (relative to the project
 * root) and size. `target` overrides the task's own; the output then moves to
 * `<output dir>/<target>/` so it never overwrites the host's binary.
 * Throws with a {@linkcode describeCompileFailure} message when deno compile fails.
 */
export async function build(
  entry: Entry,
  target?: string,
): Promise<{ path: string; size: number }> {
  const task = await readCompileTask(entry);
  if (task.output === undefined) {
    throw new Error(`Cannot build "${entry}": task "${task.name}" has no --output`);
  }
  const binary = basename(task.output).replace(/\.exe$/, "");
  const effectiveTarget = target ?? task.target ?? Deno.build.target;
  const output = withExe(
    target === undefined ? task.output : join(dirname(task.output), target, basename(task.output)),
    effectiveTarget,
  );
  const targetArgs = target ?? task.target;
  const args = [
    "compile",
    ...task.flags,
    "--output",
    output,
    ...(targetArgs === undefined ? [] : ["--target", targetArgs]),
    task.entry,
    ...task.scriptArgs,
  ];
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    // deno task runs compile tasks in the project root; relative paths assume it.
    cwd: task.root,
    // The backtrace is noise to a person building; we print our own summary.
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(describeCompileFailure({
      binary,
      target: effectiveTarget,
      stderr: new TextDecoder().decode(stderr),
    }));
  }
  const { size } = await Deno.stat(join(task.root, output));
  return { path: output, size };
}

/** Reads `[--target TRIPLE] [server|client]...`; throws a `TypeError` on anything else. */
function parseArgs(argv: readonly string[]): { target?: string; entries: Entry[] } {
  let target: string | undefined;
  const entries: Entry[] = [];
  // `deno task build -- --target x` hands us the `--` as well.
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--target" || arg.startsWith("--target=")) {
      target = arg === "--target" ? args[++i] : arg.slice("--target=".length);
      if (!target) throw new TypeError("Cannot parse arguments: --target needs a target triple");
    } else if (ENTRIES.includes(arg as Entry)) {
      entries.push(arg as Entry);
    } else {
      throw new TypeError(`Cannot parse arguments: unknown argument "${arg}"`);
    }
  }
  return { target, entries: entries.length > 0 ? entries : [...ENTRIES] };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const built: string[] = [];
  for (const entry of parsed.entries) {
    // Compiling takes seconds per binary; say what is happening meanwhile.
    console.log(`Compiling ${entry}…`);
    try {
      const { path, size } = await build(entry, parsed.target);
      built.push(`  ${path} (${formatSize(size)})`);
    } catch (error) {
      console.error((error as Error).message);
      return 1;
    }
  }
  console.log(`Built ${parsed.target ?? Deno.build.target} binaries:\n${built.join("\n")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
