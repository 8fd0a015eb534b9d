/**
 * Subprocess layer, pure part: the argv of the system `ping` for one host. No
 * shell is ever involved; the platform is a parameter so each OS's flags are
 * unit-testable anywhere.
 * @module
 */

import { LIMITS } from "../protocol/constants.ts";
import type { Platform } from "./shell.ts";

/** The program and arguments of one ping run. */
export interface PingArgv {
  cmd: string;
  args: string[];
}

/** How long ping waits for a reply (to the last request, on Linux), in seconds. */
export const REPLY_TIMEOUT_SECONDS = 2;

/**
 * Seconds after which BSD and macOS ping give up by itself: one per echo request
 * (they go out a second apart) plus one for the last reply. The caller's own
 * timeout should be longer, so ping normally ends on its own and prints its summary.
 */
export function pingDeadlineSeconds(count: number): number {
  return count + 1;
}

/**
 * The argv that pings `host` `count` times on `platform`, ending by itself:
 * `ping -c COUNT -W REPLY_S -- HOST` on Linux, `ping -c COUNT -t DEADLINE -- HOST` on
 * the BSDs and macOS, `ping -n COUNT -w REPLY_MS HOST` on Windows.
 *
 * The host must already be validated by the grammar; refusing a leading `-` here
 * is defence in depth, so a host can never be read as an option.
 *
 * @param platform Defaults to `Deno.build.os`.
 * @throws {TypeError} The host is empty or starts with `-`.
 * @throws {RangeError} The count is not an integer in `LIMITS.pingCountMin`-`LIMITS.pingCountMax`.
 */
export function pingArgv(
  host: string,
  count: number,
  platform: Platform = Deno.build.os,
): PingArgv {
  if (host === "" || host.startsWith("-")) {
    throw new TypeError(`Cannot ping "${host}": not a host name or address`);
  }
  if (!Number.isInteger(count) || count < LIMITS.pingCountMin || count > LIMITS.pingCountMax) {
    throw new RangeError(
      `Cannot ping "${host}": count ${count} is outside ${LIMITS.pingCountMin}-${LIMITS.pingCountMax}`,
    );
  }
  const n = String(count);
  switch (platform) {
    case "windows":
      // Windows ping has no `--` and no overall deadline: -w bounds each reply, in ms.
      return { cmd: "ping", args: ["-n", n, "-w", String(REPLY_TIMEOUT_SECONDS * 1000), host] };
    case "linux":
    case "android":
      // Not -w: with a deadline, iputils keeps sending past COUNT until COUNT replies
      // arrive, so an unreachable host would get more requests than were asked for.
      return { cmd: "ping", args: ["-c", n, "-W", String(REPLY_TIMEOUT_SECONDS), "--", host] };
    case "darwin":
    case "freebsd":
    case "netbsd":
      return { cmd: "ping", args: ["-c", n, "-t", String(pingDeadlineSeconds(count)), "--", host] };
    default:
      // Flags for a deadline differ too much elsewhere; the caller's timeout bounds the run.
      return { cmd: "ping", args: ["-c", n, "--", host] };
  }
}
