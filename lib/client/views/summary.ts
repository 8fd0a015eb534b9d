/**
 * The closing line of a run across hosts, and the process exit code it means.
 * Client view layer; pure.
 * @module
 */

import { EXIT_CODES, type ExitCode } from "../../usage.ts";
import type { HostStatus } from "../fleet.ts";
import { compactHosts } from "../hostlist.ts";
import { paint, type Style } from "./color.ts";
import { formatDuration } from "./format.ts";

/** How one host's call ended (defined with the fleet that produces it). */
export type { HostStatus };

/** One host's outcome as the summary needs it. */
export interface HostResult {
  host: string;
  status: HostStatus;
  durationMs: number;
}

/** What {@linkcode failureText} needs of a result. */
export interface Failure {
  status: HostStatus;
  error?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** The server cut the output at its cap (and stopped the command). */
  truncated?: boolean;
}

/**
 * Why a host did not succeed, in words and without saying a thing twice:
 * `exit code 2`, `killed by SIGKILL`, `bad token` (not `auth_failed: bad
 * token`), `cancelled by Ctrl-C` (not `cancelled: Command cancelled`),
 * `unreachable: refused`, `Command timed out after 60000 ms`. The status word
 * leads only when the error does not already carry its meaning.
 */
export function failureText(r: Failure): string {
  const error = r.error ?? "";
  const lead = (word: string, says: RegExp) =>
    error === "" ? word : says.test(error) ? error : `${word}: ${error}`;
  switch (r.status) {
    case "ok":
      return "ok";
    case "nonzero":
      // Past its output cap the server stops the command: the signal is the server's, not a crash.
      if (r.truncated && r.signal) return `stopped at the server's output cap (${r.signal})`;
      return r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
    case "auth_failed":
      // "bad token", "key refused", or a certificate that is not the trusted one: all say it.
      return error || "authentication failed";
    case "cancelled":
      return lead("cancelled", /cancel/i);
    case "timeout":
      return lead("timed out", /timed out|no answer|timeout/i);
    case "unreachable":
      return lead("unreachable", /unreachable/i);
    case "error":
      return error || "error";
    case "overloaded":
      // "Client overloaded: its event loop was stalled …; lower --fanout"
      return error || "client overloaded";
    default: {
      const never: never = r.status;
      return String(never);
    }
  }
}

/** Summary wording and colour per status, in the order the summary lists them. */
const LABELS: readonly { status: HostStatus; one: string; many: string; style: Style }[] = [
  { status: "ok", one: "ok", many: "ok", style: "green" },
  { status: "nonzero", one: "non-zero exit", many: "non-zero exit", style: "yellow" },
  { status: "timeout", one: "timed out", many: "timed out", style: "red" },
  { status: "unreachable", one: "unreachable", many: "unreachable", style: "red" },
  { status: "auth_failed", one: "auth failed", many: "auth failed", style: "red" },
  { status: "overloaded", one: "client overloaded", many: "client overloaded", style: "red" },
  { status: "error", one: "error", many: "errors", style: "red" },
  { status: "cancelled", one: "cancelled", many: "cancelled", style: "yellow" },
];

/**
 * One line such as `5 hosts: 3 ok, 1 non-zero exit, 1 timed out · slowest web3 1.2 s`.
 * The ok count is always shown (so `0 ok` is visible); other counts only when
 * not zero. With one host the tail is just its duration. Failure counts are
 * coloured when `color` is set.
 */
export function summarize(results: readonly HostResult[], color = false): string {
  const n = results.length;
  if (n === 0) return "0 hosts";
  const counts = LABELS.flatMap(({ status, one, many, style }) => {
    const count = results.filter((r) => r.status === status).length;
    if (count === 0 && status !== "ok") return [];
    const text = `${count} ${count === 1 ? one : many}`;
    return [count === 0 ? text : paint(color, style, text)];
  });
  let slowest = results[0] as HostResult;
  for (const r of results) if (r.durationMs > slowest.durationMs) slowest = r;
  const tail = n === 1
    ? formatDuration(slowest.durationMs)
    : `slowest ${slowest.host} ${formatDuration(slowest.durationMs)}`;
  return `${n} ${n === 1 ? "host" : "hosts"}: ${counts.join(", ")} · ${tail}`;
}

/**
 * The failing hosts per status, folded: `timed out: web[3-4]` lines, for
 * showing under the summary. Returns an empty array when all went well.
 */
export function failureLines(results: readonly HostResult[], color = false): string[] {
  return LABELS.flatMap(({ status, one, style }) => {
    if (status === "ok") return [];
    const hosts = results.filter((r) => r.status === status).map((r) => r.host);
    return hosts.length === 0 ? [] : [`${paint(color, style, one)}: ${compactHosts(hosts)}`];
  });
}

/**
 * The exit code a run ends with. Precedence, worst first: cancelled (130,
 * the user interrupted) > timeout (4) > unreachable or auth failed (3) >
 * error (5) > non-zero exit (1) > ok (0). So a timed-out host never yields 0
 * and a run that could not reach everyone is never mistaken for a command
 * failure. Usage errors (2) are decided before anything runs. No statuses
 * at all is 0.
 */
export function exitCodeFor(statuses: Iterable<HostStatus>): ExitCode {
  const seen = new Set(statuses);
  if (seen.has("cancelled")) return EXIT_CODES.interrupted;
  if (seen.has("timeout")) return EXIT_CODES.timeout;
  // A host the overloaded client could not service was not reached either.
  if (seen.has("unreachable") || seen.has("auth_failed") || seen.has("overloaded")) {
    return EXIT_CODES.unreachable;
  }
  if (seen.has("error")) return EXIT_CODES.error;
  if (seen.has("nonzero")) return EXIT_CODES.nonzero;
  return EXIT_CODES.ok;
}

/**
 * The largest exit code the hosts' commands ended with, as `pdsh -S` returns
 * it; null unless every host answered with one (a host unreachable, timed out,
 * cancelled, killed by a signal, or a metric answer has none), in which case
 * the status-based `exitCodeFor` applies.
 */
export function maxExitCode(
  results: readonly { status: HostStatus; exitCode?: number | null }[],
): number | null {
  if (results.length === 0) return null;
  let max = 0;
  for (const r of results) {
    if (r.status !== "ok" && r.status !== "nonzero") return null;
    if (typeof r.exitCode !== "number") return null;
    max = Math.max(max, r.exitCode);
  }
  return max;
}
