/**
 * File-system failures as wire errors: the reasons `push` and `pull` report
 * per host (no space, permission denied, not found...) each get their own
 * code, so the client can name them without parsing messages. Server layer.
 * @module
 */

import { ERROR_CODES } from "../protocol/constants.ts";
import { RemoteError } from "../protocol/errors.ts";

/** The OS error code of `err` (`ENOSPC`...), when Deno gave one. */
function osCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * `err` from a file operation as the call's answer: `Cannot ACTION "PATH": why`
 * with the code of its reason. A `RemoteError` passes through unchanged.
 */
export function fileFailure(err: unknown, action: string, path: string): RemoteError {
  if (err instanceof RemoteError) return err;
  const at = `Cannot ${action} ${JSON.stringify(path)}`;
  const code = osCode(err);
  const failure = (c: number, why: string) =>
    new RemoteError({ code: c, message: `${at}: ${why}` }, { cause: err });
  if (code === "ENOSPC" || code === "EDQUOT") return failure(ERROR_CODES.noSpace, "no space left");
  if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable) {
    return failure(ERROR_CODES.permissionDenied, "permission denied");
  }
  if (err instanceof Deno.errors.NotFound) return failure(ERROR_CODES.notFound, "not found");
  if (err instanceof Deno.errors.IsADirectory) return failure(ERROR_CODES.fileError, "is a folder");
  if (err instanceof Deno.errors.NotADirectory) {
    return failure(ERROR_CODES.fileError, "a parent is not a folder");
  }
  const message = err instanceof Error
    ? err.message.replace(/ \(os error \d+\).*$/, "")
    : String(err);
  return failure(ERROR_CODES.fileError, message);
}
