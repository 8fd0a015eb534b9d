/**
 * How `push` and `pull` read on a terminal: one line per host that succeeded
 * (`web1: created /etc/app.conf (1.2 MiB)`); failures and the summary line
 * come from the fan-out view as for any command. Client view layer; pure.
 * @module
 */

import type { LocalCommand, RemoteCommand } from "../../grammar/command.ts";
import type { HostResult } from "../fleet.ts";
import { paint } from "./color.ts";
import { formatBytes } from "./format.ts";

/** The command the fan-out view is given for a transfer: its wire method. */
export function transferViewCommand(
  cmd: Extract<LocalCommand, { kind: "push" | "pull" }>,
): RemoteCommand {
  return cmd.kind === "push"
    ? { kind: "upload", path: cmd.remote, size: 0, sha256: "" }
    : { kind: "download", path: cmd.remote };
}

function field(data: unknown, key: string): unknown {
  return typeof data === "object" && data !== null
    ? (data as Record<string, unknown>)[key]
    : undefined;
}

/** One line per ok host of a push or pull. */
export function transferLines(results: readonly HostResult[], color: boolean): string[] {
  return results.filter((r) => r.status === "ok").map((r) => {
    const d = r.data;
    const path = String(field(d, "path") ?? "");
    const size = formatBytes(Number(field(d, "bytes") ?? 0));
    const host = paint(color, "green", r.host);
    const files = field(d, "files");
    if (typeof files !== "number") return `${host}: ${path} (${size})`;
    if (files === 1 && field(d, "sha256") !== undefined) {
      const what = ["created", "replaced", "unchanged"].find((k) => field(d, k) === 1) ?? "sent";
      return `${host}: ${what} ${path} (${size})`;
    }
    const counts = ["created", "replaced", "unchanged"]
      .filter((k) => Number(field(d, k)) > 0)
      .map((k) => `${field(d, k)} ${k}`);
    return `${host}: ${files} file${files === 1 ? "" : "s"} to ${path}` +
      (counts.length > 0 ? `: ${counts.join(", ")}` : "") + ` (${size})`;
  });
}
