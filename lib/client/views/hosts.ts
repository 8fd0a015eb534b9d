/**
 * The console's `hosts` table: every known host with its address, link state
 * (and why it is not up), round-trip time, server version, OS and how long it
 * has been in its state. Client view layer; pure.
 * @module
 */

import type { LinkSecurity, LinkState, LinkStatus } from "../host_link.ts";
import { paint, type Style } from "./color.ts";
import { formatDuration, MISSING } from "./format.ts";
import { renderTable } from "./table.ts";

/** How each state reads and is painted. */
const STATES: Readonly<Record<LinkState, { text: string; style: Style }>> = {
  up: { text: "up", style: "green" },
  connecting: { text: "connecting", style: "yellow" },
  lost: { text: "lost", style: "red" },
  "auth_failed": { text: "auth failed", style: "red" },
  error: { text: "error", style: "red" },
  closed: { text: "closed", style: "dim" },
};

/** How each protection reads: plain TCP off loopback is shouted, in red. */
const SECURITY: Readonly<Record<LinkSecurity, { text: string; style: Style | null }>> = {
  tls: { text: "tls", style: null },
  loopback: { text: "loopback", style: null },
  plaintext: { text: "PLAINTEXT", style: "red" },
};

/** The security cell: `tls`, `loopback`, `PLAINTEXT` (red), or `-` before any connection. */
export function securityText(security: LinkSecurity | null, color: boolean): string {
  if (security === null) return MISSING;
  const { text, style } = SECURITY[security];
  return style ? paint(color, style, text) : text;
}

/** A round-trip time: `<1 ms` rather than a misleading `0 ms` on loopback. */
export function formatRtt(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return MISSING;
  return ms < 1 ? "<1 ms" : formatDuration(ms);
}

/** The state cell: `up`, or `lost (refused)` with the reason for any other state. */
export function stateText(s: Pick<LinkStatus, "state" | "reason">, color: boolean): string {
  const { text, style } = STATES[s.state];
  const shown = s.state !== "up" && s.reason ? `${text} (${s.reason})` : text;
  return paint(color, style, shown);
}

/** One row of the hosts table: a link's snapshot plus what the console knows of it. */
export interface HostRow extends LinkStatus {
  groups: readonly string[];
  /** Whether the host is in the current selection (marked `*`). */
  selected: boolean;
}

/**
 * The hosts table, one row per host in the order given: a `*` marking the
 * selected ones, HOST, ADDRESS, STATE, SECURITY, RTT, VERSION, ROLE (as whom
 * and with which role the server let this console in: `alice (admin)`), OS,
 * SINCE (time in the current state, relative to `now`), GROUPS. Without hosts
 * it says so.
 */
export function renderHosts(hosts: readonly HostRow[], now: number, color: boolean): string {
  if (hosts.length === 0) return "No hosts: add some with connect ADDR";
  const rows = hosts.map((h) => {
    const live = h.state === "up";
    const version = h.serverVersion ?? MISSING;
    const role = h.role === null ? MISSING : `${h.user ?? "?"} (${h.role})`;
    return [
      h.selected ? "*" : "",
      h.name,
      h.address,
      stateText(h, color),
      securityText(h.security, color),
      live ? formatRtt(h.rttMs) : MISSING,
      version,
      role,
      h.os ?? MISSING,
      `${formatDuration(Math.max(0, now - h.since))} ago`,
      h.groups.length === 0 ? MISSING : h.groups.join(","),
    ];
  });
  return renderTable(
    [
      { title: "" },
      { title: "HOST" },
      { title: "ADDRESS" },
      { title: "STATE" },
      { title: "SECURITY" },
      { title: "RTT", align: "right" },
      { title: "VERSION" },
      { title: "ROLE" },
      { title: "OS" },
      { title: "SINCE", align: "right" },
      { title: "GROUPS" },
    ],
    rows,
    { color },
  );
}
