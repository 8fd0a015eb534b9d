/**
 * The `upload` handler: receives one file as a stream of chunks (protocol.md
 * §5.1) and puts it in place atomically. The data goes to a temporary file
 * beside the destination (same folder, so the rename cannot cross file
 * systems); only when every byte has arrived and its SHA-256 is the one the
 * client announced is it given its mode (and owner), flushed, and renamed
 * over the destination. Any failure or cancel removes the temporary file, so
 * a destination is either the old file or the whole new one. Server layer.
 * @module
 */

import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { ERROR_CODES } from "../protocol/constants.ts";
import { RemoteError } from "../protocol/errors.ts";
import type { UploadResult } from "../protocol/messages.ts";
import type { RemoteCommandOf } from "../grammar/command.ts";
import type { CallStream } from "./call_stream.ts";
import { fileFailure } from "./file_errors.ts";
import { sha256OfFile } from "./file_hash.ts";

/** What an upload needs of its call. */
export interface UploadContext {
  signal: AbortSignal;
  stream: CallStream;
  /** Largest file accepted (`--max-upload`). */
  maxUploadBytes: number;
}

/** Permission bits of a file uploaded without `mode`. */
const DEFAULT_MODE = 0o644;
const WINDOWS = Deno.build.os === "windows";

/** Receive `cmd`'s file and put it in place; see the module doc. */
export async function receiveUpload(
  cmd: RemoteCommandOf<"upload">,
  ctx: UploadContext,
): Promise<UploadResult> {
  const { path, size, sha256 } = cmd;
  if (size > ctx.maxUploadBytes) {
    throw new RemoteError({
      code: ERROR_CODES.tooLarge,
      message: `Cannot upload ${JSON.stringify(path)}: ${size} bytes is over the server's ` +
        `${ctx.maxUploadBytes}-byte limit`,
    });
  }
  if ((cmd.uid !== undefined || cmd.gid !== undefined) && !WINDOWS && Deno.uid() !== 0) {
    throw new RemoteError({
      code: ERROR_CODES.permissionDenied,
      message: `Cannot set the owner of ${JSON.stringify(path)}: the server does not run as root`,
    });
  }
  const dir = dirname(path);
  if (cmd.mkdirs) {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (err) {
      throw fileFailure(err, "create the folder", dir);
    }
  }
  const existing = await existingFile(path);
  if (existing !== null && existing.size === size) {
    if (await sha256OfFile(path, ctx.signal) === sha256) {
      await finish(path, cmd);
      return { status: "unchanged", path, bytes: size, sha256 };
    }
  }
  if (existing !== null && !cmd.force) {
    throw new RemoteError({
      code: ERROR_CODES.exists,
      message: `Cannot upload ${JSON.stringify(path)}: it exists with other content (use --force)`,
    });
  }
  const tmp = join(dir, `.${basename(path)}.rmon-${crypto.randomUUID().slice(0, 8)}.tmp`);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    throw fileFailure(err, "write into", dir);
  }
  let placed = false;
  try {
    try {
      await receiveInto(file, cmd, ctx);
      await file.syncData();
    } finally {
      file.close();
    }
    await finish(tmp, cmd);
    try {
      await Deno.rename(tmp, path);
    } catch (err) {
      throw fileFailure(err, "rename into", path);
    }
    placed = true;
    return { status: existing === null ? "created" : "replaced", path, bytes: size, sha256 };
  } finally {
    if (!placed) {
      await Deno.remove(tmp).catch(() => {/* already gone: nothing left behind */});
    }
  }
}

/** The destination's info when it exists (a folder or device is refused), else null. */
async function existingFile(path: string): Promise<Deno.FileInfo | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw fileFailure(err, "upload", path);
  }
  if (!info.isFile) {
    throw new RemoteError({
      code: ERROR_CODES.fileError,
      message: `Cannot upload ${JSON.stringify(path)}: it exists and is not a regular file` +
        (info.isDirectory ? " (a folder: end the path with / to copy into it)" : ""),
    });
  }
  return info;
}

/** Take the stream's chunks into `file`, acknowledging each once written, and check the sum. */
async function receiveInto(
  file: Deno.FsFile,
  cmd: RemoteCommandOf<"upload">,
  ctx: UploadContext,
): Promise<void> {
  const hash = createHash("sha256");
  await ctx.stream.ready();
  let received = 0;
  while (received < cmd.size) {
    const chunk = await ctx.stream.next(ctx.signal);
    const n = chunk.data.length;
    if (n === 0 || received + n > cmd.size) {
      throw new RemoteError({
        code: ERROR_CODES.invalidParams,
        message: `Cannot upload ${JSON.stringify(cmd.path)}: chunk ${chunk.seq} ` +
          (n === 0 ? "is empty" : `goes past the announced ${cmd.size} bytes`),
      });
    }
    try {
      await writeAll(file, chunk.data);
    } catch (err) {
      throw fileFailure(err, "write", cmd.path);
    }
    hash.update(chunk.data);
    received += n;
    // Not awaited: the ack queues behind earlier frames; the window bounds what is in flight.
    ctx.stream.ack(chunk.seq);
  }
  const digest = hash.digest("hex");
  if (digest !== cmd.sha256) {
    throw new RemoteError({
      code: ERROR_CODES.checksumMismatch,
      message: `Cannot upload ${JSON.stringify(cmd.path)}: checksum mismatch ` +
        `(received sha256 ${digest.slice(0, 12)}…, announced ${cmd.sha256.slice(0, 12)}…)`,
    });
  }
}

/** Give `target` the asked mode and owner. */
async function finish(target: string, cmd: RemoteCommandOf<"upload">): Promise<void> {
  if (WINDOWS) return;
  try {
    await Deno.chmod(target, cmd.mode ?? DEFAULT_MODE);
    if (cmd.uid !== undefined || cmd.gid !== undefined) {
      await Deno.chown(target, cmd.uid ?? null, cmd.gid ?? null);
    }
  } catch (err) {
    throw fileFailure(err, "set the mode or owner of", cmd.path);
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}
