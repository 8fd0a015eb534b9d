/**
 * The console's `hosts` table: every known host with its address, link state
 * (and why it is not up), round-trip time, server version, OS and how long it
 * has been in its state. Client view layer; pure.
 * @module
 */

import type { LinkSecurity, LinkState, LinkStatus } from "../host_link.ts";
import { paint, type Style } from "./color.ts";
import { formatDuration, MISSING } from "./format.ts";
import { type Column, cutText, fitsWidth, renderTable, visibleWidth, wrapText } from "./table.ts";

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

/** The longest a reason gets in the table; `hosts HOST` shows it whole. */
export const REASON_WIDTH = 32;

/** A column of the hosts table: its header, how it may narrow, and its cell for a host. */
interface HostColumn extends Column {
  /**
   * Whether it may be folded into the line under the table when all hosts
   * agree: `known` counting only hosts that have a value (a server never
   * reached has no version), `all` counting every host.
   */
  fold?: "known" | "all";
  cell(h: HostRow, now: number, color: boolean): string;
}

const HOST_COLUMNS: readonly HostColumn[] = [
  { title: "", cell: (h) => h.selected ? "*" : "" },
  { title: "HOST", cell: (h) => h.name },
  { title: "ADDRESS", cell: (h) => h.address },
  {
    title: "STATE",
    shrink: "cut",
    min: 12,
    cell: (h, _now, color) => {
      const reason = h.reason === null ? null : cutText(h.reason, REASON_WIDTH);
      return stateText({ state: h.state, reason }, color);
    },
  },
  { title: "SECURITY", fold: "known", cell: (h, _now, color) => securityText(h.security, color) },
  { title: "RTT", align: "right", cell: (h) => h.state === "up" ? formatRtt(h.rttMs) : MISSING },
  { title: "VERSION", fold: "known", cell: (h) => h.serverVersion ?? MISSING },
  { title: "ROLE", shrink: "cut", fold: "known", cell: roleText },
  { title: "OS", shrink: "cut", min: 10, fold: "known", cell: (h) => h.os ?? MISSING },
  {
    title: "SINCE",
    align: "right",
    cell: (h, now) => `${formatDuration(Math.max(0, now - h.since))} ago`,
  },
  { title: "GROUPS", shrink: "wrap", fold: "all", cell: groupsText },
];

function roleText(h: HostRow): string {
  return h.role === null ? MISSING : `${h.user ?? "?"} (${h.role})`;
}

function groupsText(h: HostRow): string {
  return h.groups.length === 0 ? MISSING : h.groups.join(",");
}

/** The table of `columns` for `hosts`. */
function tableOf(
  columns: readonly HostColumn[],
  hosts: readonly HostRow[],
  now: number,
  color: boolean,
) {
  return { columns, rows: hosts.map((h) => columns.map((c) => c.cell(h, now, color))) };
}

/** `All hosts: A · B · C`, broken between items (continued lines indented) to fit `width`. */
function sharedLine(items: readonly string[], width: number): string {
  const lines: string[] = [];
  let line = "All hosts:";
  for (const item of items) {
    const joined = `${line}${line.endsWith(":") ? " " : " · "}${item}`;
    if (visibleWidth(joined) <= width || line.trim() === "") line = joined;
    else {
      lines.push(line);
      line = `  ${item}`;
    }
  }
  lines.push(line);
  return lines.join("\n");
}

/**
 * The hosts table, one row per host in the order given: a `*` marking the
 * selected ones, HOST, ADDRESS (left out when every host is named by its
 * address), STATE (a long reason cut short: `hosts HOST` shows it whole),
 * SECURITY, RTT, VERSION, ROLE (as whom and with which role the server let
 * this console in: `alice (admin)`), OS, SINCE (time in the current state,
 * relative to `now`), GROUPS.
 *
 * Given a `width`, a table too wide for it first cuts STATE, ROLE and OS and
 * wraps GROUPS; then moves the columns on which all hosts agree (SECURITY,
 * VERSION, ROLE, OS, GROUPS; hosts never connected do not count) to one line
 * under the table, `All hosts: SECURITY loopback · VERSION 0.1.0 · …`; and if
 * even that is too wide, shows each host in full as {@linkcode renderHostDetail}
 * does. Without hosts it says so.
 */
export function renderHosts(
  hosts: readonly HostRow[],
  now: number,
  color: boolean,
  width?: number,
): string {
  if (hosts.length === 0) return "No hosts: add some with connect ADDR";
  const addresses = hosts.some((h) => h.address !== h.name);
  const all = HOST_COLUMNS.filter((c) => addresses || c.title !== "ADDRESS");
  const full = tableOf(all, hosts, now, color);
  if (width === undefined || fitsWidth(full.columns, full.rows, width)) {
    return renderTable(full.columns, full.rows, { color, width });
  }
  // Columns every host agrees on, where known, go under the table.
  const shared: string[] = [];
  const kept = all.filter((c) => {
    if (!c.fold || hosts.length < 2) return true;
    const values = hosts.map((h) => c.cell(h, now, color));
    const known = new Set(c.fold === "known" ? values.filter((v) => v !== MISSING) : values);
    if (known.size !== 1) return true;
    shared.push(`${c.title} ${[...known][0]}`);
    return false;
  });
  const folded = tableOf(kept, hosts, now, color);
  if (shared.length > 0 && fitsWidth(folded.columns, folded.rows, width)) {
    return `${renderTable(folded.columns, folded.rows, { color, width })}\n${
      sharedLine(shared, width)
    }`;
  }
  // Too narrow for any table: each host in full, one after the other.
  return hosts.map((h) => renderHostDetail(h, now, color, width)).join("\n");
}

/**
 * One host in full, a field a line: everything the table shows (the reason
 * uncut), and the server certificate's fingerprint. Values wrap at `width`.
 */
export function renderHostDetail(
  h: HostRow,
  now: number,
  color: boolean,
  width = 80,
): string {
  const fields: [string, string][] = [
    ["ADDRESS", h.address],
    ["STATE", stateText(h, color)],
    ["SINCE", `${formatDuration(Math.max(0, now - h.since))} ago`],
    ["SECURITY", securityText(h.security, color)],
    ["CERT", h.fingerprint ?? MISSING],
    ["RTT", h.state === "up" ? formatRtt(h.rttMs) : MISSING],
    ["VERSION", h.serverVersion ?? MISSING],
    ["ROLE", roleText(h)],
    ["OS", h.os ?? MISSING],
    ["GROUPS", groupsText(h)],
    ["SELECTED", h.selected ? "yes" : "no"],
  ];
  const label = Math.max(...fields.map(([k]) => k.length));
  const lines = [h.name];
  for (const [key, value] of fields) {
    const head = `  ${key.padEnd(label)}  `;
    wrapText(value, Math.max(10, width - head.length)).forEach((part, n) => {
      lines.push(`${n === 0 ? head : " ".repeat(head.length)}${part}`.trimEnd());
    });
  }
  return lines.join("\n");
}
