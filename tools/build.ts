// deno-lint-ignore-file no-console
/**
 * `deno task build [--target TRIPLE] [server|client]...` compiles the binaries
 * for this host (`dist/rmon-server`, `dist/rmon`) or one target
 * (`dist/<target>/`); `deno task release` compiles both for every release
 * target into `dist/<version>/<target>/` and writes `SHA256SUMS` beside them.
 * The flags come from deno.json's `binaries` section through entry_flags.ts;
 * this script only picks output paths and targets. A failed build leaves no
 * folder behind that it made. Dev tooling layer.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join, relative } from "node:path";
import { binarySpec, compileArgs, ENTRIES, type Entry, ROOT, VERSION } from "./entry_flags.ts";
import { denoDir } from "./local_server.ts";

const USAGE = `Usage: deno task build [--target TRIPLE] [--out DIR] [server|client]...
       deno task release [--out DIR]`;

/** The targets of a release: Linux and macOS on both architectures, Windows on x86_64. */
export const RELEASE_TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** What `deno compile` printed when it failed, reduced to what a person needs. */
export interface CompileFailure {
  /** The binary's name, e.g. `rmon-server`. */
  binary: string;
  /** The target triple the build was for. */
  target: string;
  /** Everything the compiler wrote to stderr. */
  stderr: string;
  /** Part of a release (several targets), where one DENORT_BIN cannot serve. */
  release?: boolean;
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
export function describeCompileFailure(
  { binary, target, stderr, release = false }: CompileFailure,
): string {
  const text = stripAnsi(stderr);
  // anyhow's "Caused by" chain ends with the most specific reason.
  const reasons = [...text.matchAll(/^\s+\d+: (.+)$/gm)].map((m) => m[1]!);
  const v = Deno.version.deno;
  const runtime = `a denort binary of Deno ${v} for ${target}`;
  const missing = /Could not find denort at '([^']*)'/.exec(text);
  if (missing) {
    return `Cannot build "${binary}": DENORT_BIN points at "${missing[1]}", which does not ` +
      `exist; point it at ${runtime}, or unset it`;
  }
  if (/denort/i.test(text) && /error sending request|Setting up base binary/i.test(text)) {
    const url = /https?:\/\/\S*denort\S*?\.zip/.exec(text)?.[0];
    // Deno looks for the runtime in DENO_DIR before downloading it: a copy put there works too.
    const cached = join(denoDir(), "dl", "release", `v${v}`, `denort-${target}.zip`);
    const head = `Cannot build "${binary}": deno compile could not download its runtime ` +
      `(denort)${url ? ` from ${url}` : ""}: ${reasons.at(-1) ?? "network error"}. `;
    // DENORT_BIN names one runtime, so it cannot serve a release's five targets.
    return head +
      (release
        ? `Release on a machine with internet access, or use a DENO_DIR pre-filled with every ` +
          `target's runtime (put denort-${target}.zip of Deno ${v} at ${cached}, and likewise ` +
          `for the other targets); DENORT_BIN serves one target at a time, with ` +
          `"deno task build --target ${target}"`
        : `Build on a machine with internet access, set DENORT_BIN to ${runtime}, or use a ` +
          `DENO_DIR pre-filled with it (put denort-${target}.zip of Deno ${v} at ${cached})`);
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

/** Windows binaries need `.exe`. */
export function binaryFile(name: string, target: string): string {
  return target.includes("windows") ? `${name}.exe` : name;
}

/** Formats a byte count for people, e.g. `93.8 MiB`. */
function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}

/**
 * Compiles one entry point for `target` to `output` (absolute) and returns its size.
 * Throws with a {@linkcode describeCompileFailure} message when deno compile fails.
 */
export async function compile(
  entry: Entry,
  target: string,
  output: string,
  release = false,
): Promise<number> {
  const spec = binarySpec(entry);
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(entry, { output, target }),
    cwd: ROOT,
    // The backtrace is noise to a person building; we print our own summary.
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(describeCompileFailure({
      binary: spec.name,
      target,
      stderr: new TextDecoder().decode(stderr),
      release,
    }));
  }
  return (await Deno.stat(output)).size;
}

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Creates `dir` and its missing parents; returns the ones it created, deepest
 * last, so a failed build can remove exactly those (see {@linkcode removeEmpty}).
 */
async function makeDirs(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; !(await exists(d)); d = join(d, "..")) missing.unshift(d);
  await Deno.mkdir(dir, { recursive: true });
  return missing;
}

/** Removes those of `dirs` that are empty, deepest first (deno compile may leave them). */
async function removeEmpty(dirs: readonly string[]): Promise<void> {
  for (const dir of [...dirs].reverse()) {
    try {
      await Deno.remove(dir); // refuses a non-empty folder, which must stay
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      const entries = await Array.fromAsync(Deno.readDir(dir));
      if (entries.length === 0) throw err;
    }
  }
}

/** The SHA-256 of a file as hex, read as a stream (binaries are ~100 MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}

/** `sha256sum` format: `HEX  PATH` a line, two spaces (text mode), paths relative. */
export function sha256sumsText(entries: readonly { path: string; sha256: string }[]): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join("");
}

/** One binary a build made. */
export interface Built {
  /** Path relative to the output folder's parent, e.g. `dist/0.1.0/x86_64-…/rmon`. */
  path: string;
  size: number;
}

/**
 * Compiles `entries` for `target` (default the host) under `out`: the host
 * build into `out/`, a cross build into `out/<target>/`.
 */
export async function build(
  entries: readonly Entry[],
  opts: { out: string; target?: string },
): Promise<Built[]> {
  const target = opts.target ?? Deno.build.target;
  const dir = opts.target === undefined ? opts.out : join(opts.out, opts.target);
  const made = await makeDirs(dir);
  const built: Built[] = [];
  try {
    for (const entry of entries) {
      const output = join(dir, binaryFile(binarySpec(entry).name, target));
      built.push({
        path: relative(Deno.cwd(), output),
        size: await compile(entry, target, output),
      });
    }
  } finally {
    await removeEmpty(made);
  }
  return built;
}

/**
 * Compiles both programs for every release target into a staging folder,
 * writes `SHA256SUMS`, then moves it to `out/<version>/` (replacing an older
 * build of the same version). Any failure removes the staging folder and
 * every folder this made, so an offline machine is left as it was.
 */
export async function release(
  opts: { out: string; targets?: readonly string[]; onStep?: (text: string) => void },
): Promise<{ dir: string; built: Built[] }> {
  if (Deno.env.get("DENORT_BIN")) {
    // One runtime for five targets would make four broken binaries without a word.
    throw new Error(
      "Cannot release with DENORT_BIN set: it names one runtime, and a release builds " +
        `${RELEASE_TARGETS.length} targets; unset it and pre-fill DENO_DIR with each target's ` +
        `denort-<target>.zip (${join(denoDir(), "dl", "release", `v${Deno.version.deno}`)}/), ` +
        'or build one target with "deno task build --target T"',
    );
  }
  const final = join(opts.out, VERSION);
  const staging = join(opts.out, `.${VERSION}.partial`);
  const made = await makeDirs(opts.out);
  const built: Built[] = [];
  try {
    await Deno.remove(staging, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    const sums: { path: string; sha256: string }[] = [];
    for (const target of opts.targets ?? RELEASE_TARGETS) {
      await Deno.mkdir(join(staging, target), { recursive: true });
      for (const entry of ENTRIES) {
        const file = `${target}/${binaryFile(binarySpec(entry).name, target)}`;
        opts.onStep?.(`Compiling ${file}…`);
        const size = await compile(entry, target, join(staging, file), true);
        sums.push({ path: file, sha256: await sha256File(join(staging, file)) });
        built.push({ path: relative(Deno.cwd(), join(final, file)), size });
      }
    }
    await Deno.writeTextFile(join(staging, "SHA256SUMS"), sha256sumsText(sums));
    await Deno.remove(final, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    await Deno.rename(staging, final);
    return { dir: final, built };
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {/* never made */});
    await removeEmpty(made);
    throw err;
  }
}

interface Args {
  release: boolean;
  target?: string;
  out: string;
  entries: Entry[];
}

/** Reads the arguments; throws a `TypeError` on anything unknown. */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { release: false, out: join(ROOT, "dist"), entries: [] };
  // `deno task build -- --target x` hands us the `--` as well.
  const words = argv.filter((w) => w !== "--");
  for (let i = 0; i < words.length; i++) {
    const arg = words[i]!;
    const [name, glued] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = glued ?? words[++i];
      if (!v) throw new TypeError(`Cannot parse arguments: ${name} needs a value`);
      return v;
    };
    if (name === "--release") args.release = true;
    else if (name === "--target") args.target = value();
    else if (name === "--out") args.out = value();
    else if (ENTRIES.includes(arg as Entry)) args.entries.push(arg as Entry);
    else throw new TypeError(`Cannot parse arguments: unknown argument "${arg}"`);
  }
  if (args.release && (args.target !== undefined || args.entries.length > 0)) {
    throw new TypeError("Cannot parse arguments: a release builds every target and program");
  }
  if (args.entries.length === 0) args.entries = [...ENTRIES];
  return args;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    if (args.release) {
      const { dir, built } = await release({ out: args.out, onStep: (t) => console.log(t) });
      console.log(`Released rmon ${VERSION} in ${relative(Deno.cwd(), dir) || "."}:`);
      for (const b of built) console.log(`  ${b.path} (${formatSize(b.size)})`);
      console.log(`  ${relative(Deno.cwd(), join(dir, "SHA256SUMS"))}`);
      return 0;
    }
    // Compiling takes seconds per binary; say what is happening meanwhile.
    console.log(`Compiling ${args.entries.join(" and ")}…`);
    const built = await build(args.entries, { out: args.out, target: args.target });
    console.log(`Built ${args.target ?? Deno.build.target} binaries:`);
    for (const b of built) console.log(`  ${b.path} (${formatSize(b.size)})`);
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
