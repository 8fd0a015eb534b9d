/**
 * Commands on the wire: the client turns a remote command into a JSON-RPC
 * method and params; the server checks received params with the same command
 * modules and gets the same typed command back. Grammar layer, pure.
 *
 * `parseParams(m, p)` then `toRequest(...)` gives back `{ method: m, params: p }`
 * (absent params come back as `{}`). Params are checked strictly: a plain
 * object, only the method's own fields, each of the right type and range.
 * @module
 */

import { METHODS } from "../protocol/constants.ts";
import type { CancelParams, JsonObject } from "../protocol/messages.ts";
import type { RemoteCommand, RemoteKind } from "./command.ts";
import { REMOTE_SPECS, SPECS_BY_METHOD } from "./remote_table.ts";
import { UnknownMethodError } from "./errors.ts";
import { ParamReader } from "./param_reader.ts";
import type { RemoteSpec } from "./spec.ts";

export { clampPingCount, DEFAULT_PING_COUNT } from "./commands/ping.ts";
export { UnknownMethodError } from "./errors.ts";

/** The request that asks the servers for `cmd`. */
export function toRequest(cmd: RemoteCommand): { method: RemoteKind; params: JsonObject } {
  // Found by the tag, so the spec is the one for this very command.
  const spec: RemoteSpec = REMOTE_SPECS[cmd.kind];
  return { method: spec.method, params: spec.toParams(cmd) };
}

/** Whether `method` names a command (as opposed to `auth`, `cancel`, `heartbeat` or junk). */
export function isCommandMethod(method: string): boolean {
  return SPECS_BY_METHOD.has(method);
}

/**
 * Check a request's params on the server and build its command.
 *
 * @param params As received; `undefined` when the request had none.
 * @throws {UnknownMethodError} `method` is not a command method (a `ProtocolError`
 *   with code `methodNotFound`); protocol methods such as `auth` are the caller's.
 * @throws {TypeError} Params are not a plain object, a field is missing, unknown
 *   or of the wrong type.
 * @throws {RangeError} A field's value is not allowed (bad host, count below 1,
 *   timeout over the limit, command over `LIMITS.commandBytes`...).
 */
export function parseParams(method: string, params: unknown): RemoteCommand {
  const spec = SPECS_BY_METHOD.get(method);
  if (spec === undefined) throw new UnknownMethodError(method);
  return spec.fromParams(new ParamReader(method, params, spec.fields));
}

/**
 * Check `cancel` params on the server: exactly `{id}`, a valid request id.
 *
 * @throws {TypeError} Params are not a plain object, `id` is missing or not a
 *   request id, or another field is present.
 */
export function parseCancelParams(params: unknown): CancelParams {
  return { id: new ParamReader(METHODS.cancel, params, ["id"]).requestId("id") };
}

/**
 * Check `heartbeat` params on the server: absent or `{}`.
 *
 * @throws {TypeError} Params are not a plain object, or have any field.
 */
export function parseHeartbeatParams(params: unknown): void {
  new ParamReader(METHODS.heartbeat, params, []);
}
