/**
 * Output as raw bytes (protocol.md §5): a call that asks with `rawOutput: true`
 * gets its output as `chunk` frames, each followed by the bytes themselves,
 * instead of `output` notifications holding decoded text. The server only
 * honours it because its `hello` lists the `rawOutput` feature; a client asks
 * only then. Server layer, used by session.ts.
 * @module
 */

import { ParamsTypeError } from "../protocol/errors.ts";
import { NOTIFICATIONS } from "../protocol/constants.ts";
import { EXEC } from "../grammar/commands/exec.ts";
import { PING } from "../grammar/commands/ping.ts";
import type { JsonObject, RequestId } from "../protocol/messages.ts";

/** The calls whose output may come raw. */
const RAW_METHODS: ReadonlySet<string> = new Set([EXEC.method, PING.method]);

/**
 * Take the call-level `rawOutput` field out of a request's params, leaving the
 * command's own fields for the command parser (which refuses unknown ones).
 * @param offered Whether this server offered the feature in its hello.
 * @throws {ParamsTypeError} `rawOutput` is not a boolean.
 */
export function takeRawOutput(
  method: string,
  params: JsonObject,
  offered = true,
): { params: JsonObject; rawOutput: boolean } {
  // Not offered, or a call without output: left in place, so the command parser refuses it
  // as an unexpected field, exactly as a server before the feature does.
  if (!offered || !RAW_METHODS.has(method) || !("rawOutput" in params)) {
    return { params, rawOutput: false };
  }
  const { rawOutput, ...rest } = params;
  if (typeof rawOutput !== "boolean") {
    throw new ParamsTypeError(`Cannot run "${method}": "rawOutput" must be true or false`);
  }
  return { params: rest, rawOutput };
}

const encoder = new TextEncoder();

/**
 * The frame parts of one chunk of output: its header line, then the bytes.
 * The bytes are not copied; the caller keeps them unchanged until written.
 */
export function outputChunkParts(
  id: RequestId,
  stream: "stdout" | "stderr",
  bytes: Uint8Array,
): Uint8Array[] {
  const header = JSON.stringify({
    jsonrpc: "2.0",
    method: NOTIFICATIONS.chunk,
    params: { id, stream, bytes: bytes.length },
  });
  return [encoder.encode(header + "\n"), bytes];
}
