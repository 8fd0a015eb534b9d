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

/** How long Windows ping waits for each reply, in milliseconds. */
export const WINDOWS_REPLY_TIMEOUT_MS = 2_000;

/**
 * Seconds after which ping gives up by itself: one per echo request (they go out
 * a second apart) plus one for the last reply. The caller's own timeout should
 * be longer, so ping normally ends on its own and prints its summary.
 */
export function pingDeadlineSeconds(count: number): number {
  return count + 1;
}

/**
 * The argv that pings `host` `count` times on `platform`:
 * `ping -c COUNT -w DEADLINE -- HOST` on Linux, `-t DEADLINE` on the BSDs and macOS,
 * `ping -n COUNT -w REPLY_MS HOST` on Windows.
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
  const deadline = String(pingDeadlineSeconds(count));
  switch (platform) {
    case "windows":
      // Windows ping has no `--` and no overall deadline: -w bounds each reply.
      return { cmd: "ping", args: ["-n", n, "-w", String(WINDOWS_REPLY_TIMEOUT_MS), host] };
    case "linux":
    case "android":
      return { cmd: "ping", args: ["-c", n, "-w", deadline, "--", host] };
    case "darwin":
    case "freebsd":
    case "netbsd":
      return { cmd: "ping", args: ["-c", n, "-t", deadline, "--", host] };
    default:
      // Flags for a deadline differ too much elsewhere; the caller's timeout bounds the run.
      return { cmd: "ping", args: ["-c", n, "--", host] };
  }
}
