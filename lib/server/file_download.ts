/**
 * The `download` handler: sends one file as a stream of chunks (protocol.md
 * §5.1), never more than the window ahead of the client's acknowledgements,
 * so a slow client slows the read instead of growing server memory. The
 * answer carries the SHA-256 of exactly the bytes sent. Server layer.
 * @module
 */

import { createHash } from "node:crypto";
import { ERROR_CODES } from "../protocol/constants.ts";
import { RemoteError } from "../protocol/errors.ts";
import type { DownloadResult } from "../protocol/messages.ts";
import type { RemoteCommandOf } from "../grammar/command.ts";
import type { CallStream } from "./call_stream.ts";
import { fileFailure } from "./file_errors.ts";

/** What a download needs of its call. */
export interface DownloadContext {
  signal: AbortSignal;
  stream: CallStream;
}

/** Send `cmd`'s file; see the module doc. */
export async function sendDownload(
  cmd: RemoteCommandOf<"download">,
  ctx: DownloadContext,
): Promise<DownloadResult> {
  const { path } = cmd;
  let file: Deno.FsFile;
  let info: Deno.FileInfo;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    throw fileFailure(err, "read", path);
  }
  try {
    try {
      info = await file.stat();
    } catch (err) {
      throw fileFailure(err, "read", path);
    }
    if (!info.isFile) {
      throw new RemoteError({
        code: ERROR_CODES.fileError,
        message: `Cannot read ${JSON.stringify(path)}: not a regular file`,
      });
    }
    const mode = (info.mode ?? 0o644) & 0o7777;
    await ctx.stream.ready({ size: info.size, mode });
    const hash = createHash("sha256");
    let bytes = 0;
    // One buffer: send() has made the chunk's base64 before the next read refills it.
    const buf = new Uint8Array(ctx.stream.chunkBytes);
    while (true) {
      let n: number | null;
      try {
        n = await file.read(buf);
      } catch (err) {
        throw fileFailure(err, "read", path);
      }
      if (n === null) break;
      const data = buf.subarray(0, n);
      hash.update(data);
      bytes += n;
      await ctx.stream.send(data, ctx.signal);
    }
    await ctx.stream.drained(ctx.signal);
    return { bytes, sha256: hash.digest("hex"), mode };
  } finally {
    file.close();
  }
}
