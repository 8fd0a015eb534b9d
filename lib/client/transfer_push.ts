/**
 * `push`: copy a local file, or a folder with `-r`, to every selected host.
 * Each file is hashed, then read once and streamed to all hosts at the same
 * time (stream_out.ts), each server checking the SHA-256 and renaming the file
 * into place. A host that fails a file gets no further files; every host gets
 * one record, as for exec. Client layer.
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join, relative } from "node:path";
import type { LocalCommand, RemoteCommandOf } from "../grammar/command.ts";
import type { UploadResult } from "../protocol/messages.ts";
import { UsageError } from "../usage.ts";
import type { Fleet, HostResult, RunOptions } from "./fleet.ts";
import { fanOutChunks, OutStream, readerSource } from "./stream_out.ts";

/** A parsed `push` command. */
export type PushCommand = Extract<LocalCommand, { kind: "push" }>;

/** One local file to send and where it goes. */
export interface PushFile {
  local: string;
  remote: string;
  size: number;
  /** Permission bits of the local file. */
  mode: number;
}

/** What each host's record says after a push (`data` of an ok record). */
export interface PushSummary {
  files: number;
  created: number;
  replaced: number;
  unchanged: number;
  bytes: number;
  /** The destination, for a single file; the remote folder for `-r`. */
  path: string;
  /** SHA-256 of a single file. */
  sha256?: string;
}

/**
 * The files `cmd` sends, with their destinations. A folder needs `-r`; with it
 * REMOTE is the folder that receives LOCAL's contents, or, ending in `/`, the
 * folder that receives LOCAL under its own name. Symbolic links are skipped.
 * @throws {UsageError} LOCAL is missing, unreadable, or a folder without `-r`.
 */
export async function listPushFiles(cmd: PushCommand): Promise<PushFile[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(cmd.local);
  } catch (err) {
    throw new UsageError(`Cannot push "${cmd.local}": ${localReason(err)}`);
  }
  if (info.isFile) {
    const remote = cmd.remote.endsWith("/") ? cmd.remote + basename(cmd.local) : cmd.remote;
    return [{ local: cmd.local, remote, size: info.size, mode: modeOf(info) }];
  }
  if (!info.isDirectory) throw new UsageError(`Cannot push "${cmd.local}": not a regular file`);
  if (!cmd.recursive) throw new UsageError(`Cannot push "${cmd.local}": a folder needs -r`);
  const root = remoteRoot(cmd);
  const files: PushFile[] = [];
  for await (const local of walk(cmd.local)) {
    const st = await Deno.stat(local);
    const rel = relative(cmd.local, local).split(/[\\/]/).join("/");
    files.push({ local, remote: `${root}/${rel}`, size: st.size, mode: modeOf(st) });
  }
  files.sort((a, b) => a.remote < b.remote ? -1 : 1);
  return files;
}

/**
 * Where `cmd` puts what it sends: REMOTE, or under REMOTE when it ends in `/`
 * (LOCAL by its own name, as `cp -r` does).
 */
export function remoteRoot(cmd: PushCommand): string {
  return cmd.remote.endsWith("/")
    ? cmd.remote + basename(cmd.local.replace(/[/\\]+$/, ""))
    : cmd.remote;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

function modeOf(info: Deno.FileInfo): number {
  return (info.mode ?? 0o644) & 0o7777;
}

function localReason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file or folder";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  return err instanceof Error ? err.message : String(err);
}

/** The SHA-256 of a local file, read in chunks. */
export async function sha256OfLocal(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1024 * 1024);
  while (true) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("hex");
}

/** Options of one push: the fleet run's cancel and wait, and where records go. */
export type PushOptions = Pick<RunOptions, "signal" | "waitMs" | "onResult">;

/**
 * Send `files` to the hosts `names`, one file after another, each to every host
 * still in the game; one record per host (ok with a `PushSummary`, or the first
 * failure), reported through `onResult` as each host finishes.
 */
export async function pushFiles(
  fleet: Fleet,
  names: readonly string[],
  cmd: PushCommand,
  files: readonly PushFile[],
  opts: PushOptions,
): Promise<HostResult[]> {
  const summaries = new Map<string, PushSummary>(names.map((n) => [n, {
    files: 0,
    created: 0,
    replaced: 0,
    unchanged: 0,
    bytes: 0,
    path: files.length === 1 && !cmd.recursive ? files[0]!.remote : remoteRoot(cmd),
  }]));
  const started = performance.now();
  const failed = new Map<string, HostResult>();
  const finished: HostResult[] = [];
  const report = (r: HostResult) => {
    finished.push(r);
    opts.onResult?.(r);
  };
  for (const file of files) {
    const live = names.filter((n) => !failed.has(n));
    if (live.length === 0 || opts.signal?.aborted) break;
    const results = await pushOne(fleet, live, cmd, file, opts);
    for (const r of results) {
      if (r.status !== "ok") {
        failed.set(r.host, r);
        report({ ...r, durationMs: Math.round(performance.now() - started) });
        continue;
      }
      const done = r.data as UploadResult;
      const sum = summaries.get(r.host)!;
      sum.files++;
      sum[done.status]++;
      sum.bytes += done.bytes;
      if (files.length === 1 && !cmd.recursive) sum.sha256 = done.sha256;
    }
  }
  for (const name of names) {
    if (failed.has(name)) continue;
    report({
      host: name,
      status: opts.signal?.aborted ? "cancelled" : "ok",
      ...(opts.signal?.aborted ? { error: "cancelled" } : {}),
      data: { ...summaries.get(name)! },
      durationMs: Math.round(performance.now() - started),
    });
  }
  const order = new Map(names.map((n, i) => [n, i]));
  return finished.sort((a, b) => order.get(a.host)! - order.get(b.host)!);
}

/** Send one file to `names` at once: hash, then one read streamed to every open upload. */
async function pushOne(
  fleet: Fleet,
  names: readonly string[],
  cmd: PushCommand,
  file: PushFile,
  opts: PushOptions,
): Promise<HostResult[]> {
  let sha256: string;
  try {
    sha256 = await sha256OfLocal(file.local);
  } catch (err) {
    throw new UsageError(`Cannot push "${file.local}": ${localReason(err)}`);
  }
  const upload: RemoteCommandOf<"upload"> = {
    kind: "upload",
    path: file.remote,
    size: file.size,
    sha256,
    mode: cmd.mode ?? file.mode,
    ...(cmd.force ? { force: true } : {}),
    ...(cmd.recursive ? { mkdirs: true } : {}),
    ...(cmd.uid === undefined ? {} : { uid: cmd.uid }),
    ...(cmd.gid === undefined ? {} : { gid: cmd.gid }),
  };
  const streams = new Map(names.map((n) => {
    const link = fleet.get(n);
    return [n, new OutStream(n, (parts) => link?.sendParts(parts) ?? Promise.resolve())];
  }));
  using source = await Deno.open(file.local, { read: true });
  // Our own stop as well as the caller's: a file that shrank while read leaves the
  // servers waiting for bytes that never come, so its uploads are cancelled.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const [results] = await Promise.all([
    fleet.run(names, upload, {
      signal,
      waitMs: opts.waitMs,
      collectOutput: false,
      stream: (host) => streams.get(host),
    }),
    fanOutChunks([...streams.values()], readerSource(source), { signal }).then((sent) => {
      const opened = [...streams.values()].some((s) => s.open);
      if (opened && sent < file.size && !signal.aborted) {
        stop.abort(`"${file.local}" shrank while it was read (${sent} of ${file.size} bytes)`);
      }
    }),
  ]);
  return results;
}
