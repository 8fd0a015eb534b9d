/**
 * SHA-256 of a file, read in chunks (never whole into memory). Used by
 * `upload` to tell an identical destination (answered `unchanged`) from one
 * with other content. Server layer.
 * @module
 */

import { createHash } from "node:crypto";
import { ERROR_CODES } from "../protocol/constants.ts";
import { RemoteError } from "../protocol/errors.ts";
import { fileFailure } from "./file_errors.ts";

const READ_BYTES = 256 * 1024;

/** The SHA-256 of the file at `path`, 64 lowercase hex digits. */
export async function sha256OfFile(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    throw fileFailure(err, "read", path);
  }
  try {
    const buf = new Uint8Array(READ_BYTES);
    while (true) {
      if (signal.aborted) {
        throw new RemoteError({ code: ERROR_CODES.cancelled, message: "Transfer cancelled" });
      }
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
    }
  } catch (err) {
    throw fileFailure(err, "read", path);
  } finally {
    file.close();
  }
  return hash.digest("hex");
}
