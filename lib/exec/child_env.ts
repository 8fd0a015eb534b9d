/**
 * Subprocess layer, pure part: the environment an exec or ping child gets.
 *
 * Children never inherit the server's whole environment: only a documented
 * minimal set (what shells and common tools need to find programs, home, user,
 * locale and time zone), plus the variables the operator names with
 * `--exec-env NAME`. A variable whose name starts with `RMON_` (any case) is
 * never passed on: the server's token lives there. No I/O here; the
 * environment and the platform are parameters, so every branch is unit-testable.
 * @module
 */

import type { Platform } from "./shell.ts";

/** What a Unix child gets when the server has it, besides every `LC_*` variable. */
export const UNIX_ENV_NAMES: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "SHELL",
  "TZ",
  "TERM",
];

/** Prefix of the Unix locale variables (`LC_ALL`, `LC_CTYPE`...), all passed on. */
export const UNIX_LOCALE_PREFIX = "LC_";

/** What a Windows child gets when the server has it (names match in any case there). */
export const WINDOWS_ENV_NAMES: readonly string[] = [
  "SystemRoot",
  "SystemDrive",
  "ComSpec",
  "PATHEXT",
  "PATH",
  "TEMP",
  "TMP",
  "USERPROFILE",
  "USERNAME",
  "APPDATA",
  "LOCALAPPDATA",
  "ProgramData",
  "ProgramFiles",
  "WINDIR",
];

/** Prefix of rmon's own variables (`RMON_TOKEN`...), never passed to a child, in any case. */
export const RESERVED_ENV_PREFIX = "RMON_";

/** A portable variable name: a letter or `_`, then letters, digits and `_`. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `name` is one of rmon's own variables (`RMON_...`, in any case). */
export function isReservedEnvName(name: string): boolean {
  return name.toUpperCase().startsWith(RESERVED_ENV_PREFIX);
}

/**
 * Why `name` cannot be passed with `--exec-env` (a lower-case detail), or
 * undefined if it can: it must be a portable variable name and not `RMON_*`.
 */
export function execEnvNameProblem(name: string): string | undefined {
  if (!ENV_NAME.test(name)) {
    return "a variable name is a letter or _ followed by letters, digits or _";
  }
  if (isReservedEnvName(name)) {
    return `variables starting with ${RESERVED_ENV_PREFIX} are rmon's own and never passed on`;
  }
  return undefined;
}

/**
 * The environment of an exec or ping child: the minimal set for `platform`
 * plus `extraNames`, taken from `env` where set, never a reserved `RMON_*`
 * variable. On Windows names match whatever their case (as Windows does) and
 * keep the spelling they have in `env`; elsewhere they match exactly.
 *
 * @param env The server's environment, e.g. `Deno.env.toObject()`.
 * @param extraNames Further variables to pass on (`--exec-env`); reserved names are ignored.
 */
export function childEnvironment(
  env: Readonly<Record<string, string>>,
  platform: Platform,
  extraNames: readonly string[] = [],
): Record<string, string> {
  const windows = platform === "windows";
  const fold = (name: string) => windows ? name.toUpperCase() : name;
  const wanted = new Set(
    [...(windows ? WINDOWS_ENV_NAMES : UNIX_ENV_NAMES), ...extraNames].map(fold),
  );
  const child: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (isReservedEnvName(name)) continue;
    if (wanted.has(fold(name)) || (!windows && name.startsWith(UNIX_LOCALE_PREFIX))) {
      child[name] = value;
    }
  }
  return child;
}
