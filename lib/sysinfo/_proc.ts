/**
 * Reading Linux's /proc for the collectors that need it (`net`, `top`), and
 * the `unavailable` answer elsewhere. Deno refuses every read under /proc
 * unless the program holds `--allow-all`, which the server does (it already
 * holds unrestricted `--allow-run`; see the README's note on permissions).
 * System-info layer.
 * @module
 */

import { RemoteError } from "../protocol/errors.ts";
import { ERROR_CODES } from "../protocol/constants.ts";

/** Throw `unavailable` when this OS has no /proc to read `what` from. */
export function requireLinux(what: string, os: typeof Deno.build.os = Deno.build.os): void {
  if (os !== "linux") {
    throw new RemoteError({
      code: ERROR_CODES.unavailable,
      message: `Cannot collect ${what}: it is read from Linux's /proc, and this server runs ${os}`,
    });
  }
}

/**
 * A /proc file's text, or null when it has gone (a process that just ended).
 * Without `--allow-all` Deno refuses the read: that is `unavailable` too.
 */
export async function readProc(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      return null;
    }
    if (err instanceof Deno.errors.NotCapable) {
      throw new RemoteError({
        code: ERROR_CODES.unavailable,
        message: `Cannot read ${path}: Deno allows /proc only to programs run with --allow-all`,
      }, { cause: err });
    }
    throw err;
  }
}

/** Whether `err` says a source cannot be read here at all (not a failure of this call). */
export function isUnavailable(err: unknown): boolean {
  return err instanceof RemoteError && err.code === ERROR_CODES.unavailable;
}
