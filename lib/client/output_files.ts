/**
 * `-o DIR` / `-e DIR` (as pssh's): each host's stdout or stderr saved in one
 * file per host, named by the host, in a directory made private (0700) when
 * missing. Client layer: one-shot mode calls it, the views never see it.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import type { HostResult } from "./fleet.ts";

/** The directories to save output in; absent: not saved. */
export interface OutputDirs {
  /** `-o DIR`: one file of stdout per host. */
  stdout?: string;
  /** `-e DIR`: one file of stderr per host. */
  stderr?: string;
}

/**
 * The file name for `host`: the name itself, with `/`, `\` and NUL (which a
 * path would take as structure) as `_`, and `.`/`..`/empty prefixed with `_`.
 */
export function hostFileName(host: string): string {
  // deno-lint-ignore no-control-regex -- NUL cannot be in a file name
  const name = host.replace(/[/\\\x00]/g, "_");
  return name === "" || name === "." || name === ".." ? `_${name}` : name;
}

/** Saves the hosts' output as their results come in; `settle()` reports what failed. */
export class OutputFiles {
  #dirs: OutputDirs;
  #writes: Promise<string | null>[] = [];

  /** Save into `dirs` (nothing when neither is set). */
  constructor(dirs: OutputDirs) {
    this.#dirs = dirs;
  }

  /** Make the directories that are missing, mode 0700; throws Error naming the one that failed. */
  async prepare(): Promise<void> {
    for (const dir of [this.#dirs.stdout, this.#dirs.stderr]) {
      if (dir === undefined) continue;
      try {
        await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new Error(`Cannot create output directory "${dir}": ${describeError(err)}`, {
          cause: err,
        });
      }
    }
  }

  /**
   * Start saving one host's output (files of 0600, replaced if present). Hosts
   * whose command never ran (unreachable, a metric) get no file.
   */
  save(r: HostResult): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const dir = this.#dirs[stream];
      const text = r[stream];
      if (dir === undefined || text === undefined) continue;
      const path = `${dir}/${hostFileName(r.host)}`;
      this.#writes.push(
        Deno.writeTextFile(path, text, { mode: 0o600 }).then(
          () => null,
          (err) => `Cannot write ${stream} of ${r.host} to "${path}": ${describeError(err)}`,
        ),
      );
    }
  }

  /** Wait for every write; returns a message per failed one. */
  async settle(): Promise<string[]> {
    const outcomes = await Promise.all(this.#writes);
    return outcomes.filter((m): m is string => m !== null);
  }
}
