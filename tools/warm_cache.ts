/**
 * Keeps Deno's downloads off the terminal a dev tool's child draws on: fills
 * Deno's cache with the entry points' module graphs before they run, so that
 * on a fresh machine the downloads (npm packages such as `smol-toml` and
 * `@peculiar/x509`) happen first and quietly, and runs them with `--quiet`,
 * so nothing Deno still fetches later is drawn over the console's first
 * lines as a progress bar. Dev tooling layer.
 * @module
 */

import { cacheArgs, type Entry } from "./entry_flags.ts";

/** Options of {@linkcode warmCache}. */
export interface WarmCacheOptions {
  /** Where deno runs (relative config and lock paths are found from there); default ours. */
  cwd?: string;
  /** Says what is going on, once, when it takes longer than `noticeAfterMs`. */
  notice?: (text: string) => void;
  /** Default 1000 ms: a warm cache answers well within that. */
  noticeAfterMs?: number;
}

const decoder = new TextDecoder();

/**
 * `deno run --quiet ...` from `deno run ...` arguments. Needed besides the warm
 * cache: after `deno task` has installed the lock file's packages, Deno 2.9
 * still fetches a package's registry entry while the program runs, and would
 * draw its progress bar over the program's output (and the console's prompt).
 */
export function quietRun(runArgs: readonly string[]): string[] {
  const [run, ...rest] = runArgs;
  return [run ?? "run", "--quiet", ...rest];
}

/**
 * Run `deno cache` with each entry's graph flags (see `cacheFlags` in
 * entry_flags.ts), one after another, output captured. Throws an Error with
 * deno's own words when caching fails (no network on a fresh machine, say).
 */
export async function warmCache(
  entries: readonly Entry[],
  opts: WarmCacheOptions = {},
): Promise<void> {
  const timer = setTimeout(
    () => opts.notice?.("Fetching rmon's dependencies into Deno's cache (first run only)..."),
    opts.noticeAfterMs ?? 1_000,
  );
  try {
    for (const entry of entries) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: cacheArgs(entry),
        cwd: opts.cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        const said = decoder.decode(out.stderr).trim() || decoder.decode(out.stdout).trim();
        throw new Error(`Cannot cache the ${entry}'s dependencies: ${said}`);
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
