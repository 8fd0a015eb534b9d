/**
 * The console's `watch` screen: one live table of the selected hosts (state,
 * CPU, RAM, load, root disk, network traffic, uptime) under a one-line header, redrawn every
 * few seconds. Client view layer; pure — the console owns timing and cursor
 * movement.
 * @module
 */

import { WATCH_COLUMNS, type WatchColumn } from "../../grammar/commands/watch.ts";
import type { LinkState } from "../host_link.ts";
import { paint } from "./color.ts";
import { formatBytes, formatUptime, MISSING } from "./format.ts";
import { rootDisk, usage } from "./metrics.ts";
import { stateText } from "./hosts.ts";
import { type Column, renderTable } from "./table.ts";

/** One host's line of a round: its link state and its `info` answer or error. */
export interface WatchRow {
  host: string;
  state: LinkState;
  /** Why the link is not up, if it is not. */
  reason: string | null;
  /** The `info` result (read defensively: it came from the wire). */
  info?: unknown;
  /** Why this round has no answer from an up host (timeout, error). */
  error?: string;
}

/** What the header says about the round. */
export interface WatchFrame {
  intervalSeconds: number;
  /** When the round finished, ms since the epoch. */
  now: number;
  /** Columns to show after HOST, in this order (default: all, in the default order). */
  columns?: readonly WatchColumn[];
  color: boolean;
  /** A last line such as `press any key to stop`; omitted when empty. */
  hint?: string;
}

const HEADERS: Readonly<Record<WatchColumn, Column>> = {
  state: { title: "STATE" },
  cpu: { title: "CPU%", align: "right" },
  ram: { title: "RAM%", align: "right" },
  load: { title: "LOAD", align: "right" },
  disk: { title: "DISK%", align: "right" },
  net: { title: "NET RX / TX /s", align: "right" },
  uptime: { title: "UPTIME", align: "right" },
};

export { WATCH_COLUMNS, type WatchColumn };

/**
 * The columns named after `watch` (as the grammar checked them), in the order
 * given; none means all, in the default order. Throws RangeError for an
 * unknown name, naming the valid ones.
 */
export function watchColumns(names: readonly string[] | undefined): WatchColumn[] {
  if (names === undefined || names.length === 0) return [...WATCH_COLUMNS];
  const known: readonly string[] = WATCH_COLUMNS;
  return names.map((raw) => {
    const name = raw.toLowerCase();
    if (!known.includes(name)) {
      throw new RangeError(
        `Cannot watch column "${raw}": expected one of ${WATCH_COLUMNS.join(", ")}`,
      );
    }
    return name as WatchColumn;
  });
}

/** A field of a wire object, or undefined when the value is not an object. */
function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function num(value: unknown): number {
  return typeof value === "number" ? value : Number.NaN;
}

function cell(column: WatchColumn, row: WatchRow, color: boolean): string {
  const info = row.info;
  switch (column) {
    case "state":
      return stateText(row, color);
    case "cpu":
      return usage(num(field(field(info, "cpu"), "usagePercent")), color);
    case "ram":
      return usage(num(field(field(info, "ram"), "usedPercent")), color);
    case "load": {
      const avg = field(field(info, "cpu"), "loadAvg");
      const first = Array.isArray(avg) ? avg[0] : undefined;
      return typeof first === "number" ? first.toFixed(2) : MISSING;
    }
    case "disk":
      return usage(rootDisk(field(info, "disk")), color);
    case "net":
      return netRates(field(info, "net"));
    case "uptime":
      return formatUptime(num(field(field(info, "uptime"), "uptimeSeconds")));
    default: {
      const never: never = column;
      throw new TypeError(`Cannot render watch column "${String(never)}"`);
    }
  }
}

/**
 * Bytes per second received and sent over all interfaces but loopback (which
 * carries rmon's own traffic on a test machine; counted only when alone), or
 * `-` where the server sent no `net` (not Linux, or an older server).
 */
function netRates(net: unknown): string {
  const all = field(net, "interfaces");
  if (!Array.isArray(all)) return MISSING;
  const external = all.filter((i) => field(i, "name") !== "lo");
  const shown = external.length > 0 ? external : all;
  const sum = (key: string) => shown.reduce((n, i) => n + num(field(i, key)), 0);
  const rx = sum("rxBytesPerSec");
  const tx = sum("txBytesPerSec");
  if (!Number.isFinite(rx) || !Number.isFinite(tx)) return MISSING;
  return `${formatBytes(rx)} / ${formatBytes(tx)}`;
}

/**
 * One frame: `Every 2 s · 3 hosts, 2 up · 10:22:05 UTC`, the table (HOST then
 * the chosen columns) and the hint. A host that is not up, or whose answer
 * failed, shows its state and the reason in place of numbers. No trailing newline.
 */
export function renderWatch(rows: readonly WatchRow[], frame: WatchFrame): string {
  const shown = frame.columns ?? WATCH_COLUMNS;
  const up = rows.filter((r) => r.state === "up").length;
  const clock = new Date(frame.now).toISOString().slice(11, 19);
  const hosts = rows.length === 1 ? "1 host" : `${rows.length} hosts`;
  const header = `Every ${frame.intervalSeconds} s · ${hosts}, ${up} up · ${clock} UTC`;
  const body = rows.map((row) => {
    // No numbers this round: say why in one cell spanning the metric columns.
    if (row.state !== "up") return [row.host, stateText(row, frame.color)];
    if (row.error !== undefined) return [row.host, paint(frame.color, "red", row.error)];
    return [row.host, ...shown.map((c) => cell(c, row, frame.color))];
  });
  const table = rows.length === 0
    ? "No hosts selected"
    : renderTable([{ title: "HOST" }, ...shown.map((c) => HEADERS[c])], body, {
      color: frame.color,
    });
  const parts = [paint(frame.color, "bold", header), table];
  if (frame.hint) parts.push(paint(frame.color, "dim", frame.hint));
  return parts.join("\n");
}
