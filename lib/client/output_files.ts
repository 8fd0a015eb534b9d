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

/** Saves the hosts' output as it streams in; `settle()` reports what failed. */
export class OutputFiles {
  #dirs: OutputDirs;
  #writes: Promise<string | null>[] = [];
  /** Files being streamed to, by stream and host; null once writing one failed. */
  #open = new Map<string, Deno.FsFile | null>();
  #failures: string[] = [];

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

  #path(stream: "stdout" | "stderr", host: string): string | undefined {
    const dir = this.#dirs[stream];
    return dir === undefined ? undefined : `${dir}/${hostFileName(host)}`;
  }

  /**
   * Append a chunk of `host`'s output to its file as it arrives (the file,
   * 0600, is made or emptied on the first chunk), so nothing is held in memory.
   * Written synchronously: the chunk is on disk before the next one is read.
   */
  write(host: string, stream: "stdout" | "stderr", data: string): void {
    if (this.#path(stream, host) === undefined) return;
    this.writeBytes(host, stream, encoder.encode(data));
  }

  /** Like {@linkcode write}, for output that came as raw bytes: they go to the file as they are. */
  writeBytes(host: string, stream: "stdout" | "stderr", bytes: Uint8Array): void {
    const path = this.#path(stream, host);
    if (path === undefined) return;
    const key = `${stream}\0${host}`;
    let file = this.#open.get(key);
    if (file === null) return;
    try {
      if (file === undefined) {
        file = Deno.openSync(path, { write: true, create: true, truncate: true, mode: 0o600 });
        this.#open.set(key, file);
      }
      for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
    } catch (err) {
      this.#failures.push(`Cannot write ${stream} of ${host} to "${path}": ${describeError(err)}`);
      file?.close();
      this.#open.set(key, null);
    }
  }

  /**
   * One host's result: close what was streamed, and save what was not (a
   * silent command gets an empty file). Hosts whose command never ran
   * (unreachable, a metric) get no file.
   */
  save(r: HostResult): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const path = this.#path(stream, r.host);
      const key = `${stream}\0${r.host}`;
      const streamed = this.#open.get(key);
      if (streamed !== undefined) {
        streamed?.close();
        this.#open.delete(key);
        continue;
      }
      const text = r[stream];
      if (path === undefined || text === undefined) continue;
      this.#writes.push(
        Deno.writeTextFile(path, text, { mode: 0o600 }).then(
          () => null,
          (err) => `Cannot write ${stream} of ${r.host} to "${path}": ${describeError(err)}`,
        ),
      );
    }
  }

  /** Wait for every write and close what is still open; returns a message per failed one. */
  async settle(): Promise<string[]> {
    for (const file of this.#open.values()) file?.close();
    this.#open.clear();
    const outcomes = await Promise.all(this.#writes);
    return [...this.#failures, ...outcomes.filter((m): m is string => m !== null)];
  }
}

const encoder = new TextEncoder();
