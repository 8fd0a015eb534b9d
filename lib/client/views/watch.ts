/**
 * The console's `watch` screen: one live table of the selected hosts (state,
 * CPU, RAM, load, root disk, network traffic, uptime) under a one-line header, redrawn every
 * few seconds, from each host's `vitals` (lib/grammar/commands/vitals.ts). At
 * thousands of hosts only the rows that fit the terminal are formatted. Client
 * view layer; pure — the console owns timing and cursor movement.
 * @module
 */

import { WATCH_COLUMNS, type WatchColumn } from "../../grammar/commands/watch.ts";
import type { LinkState } from "../host_link.ts";
import { paint } from "./color.ts";
import { formatBytes, formatUptime, MISSING } from "./format.ts";
import { usage } from "./metrics.ts";
import type { Vitals } from "../../grammar/commands/vitals.ts";
import { stateText } from "./hosts.ts";
import { type Column, renderTable } from "./table.ts";

/** One host's line of a round: its link state and its `vitals` answer or error. */
export interface WatchRow {
  host: string;
  state: LinkState;
  /** Why the link is not up, if it is not. */
  reason: string | null;
  /** This round's figures (checked by the `vitals` validator, or taken from a checked `info`). */
  vitals?: Vitals;
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
  /**
   * The most host rows drawn (default all): a frame redrawn in place must fit
   * the terminal. Only those rows are formatted; one line after them counts the
   * rest by state.
   */
  maxRows?: number;
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

function cell(column: WatchColumn, row: WatchRow, color: boolean): string {
  const v = row.vitals;
  switch (column) {
    case "state":
      return stateText(row, color);
    case "cpu":
      return usage(v?.cpuPercent ?? Number.NaN, color);
    case "ram":
      return usage(v?.ramPercent ?? Number.NaN, color);
    case "load":
      return v === undefined ? MISSING : v.load1.toFixed(2);
    case "disk":
      return usage(v?.diskPercent ?? Number.NaN, color);
    case "net": {
      // `-` where the server measures no traffic (not Linux).
      const rx = v?.rxBytesPerSec ?? null;
      const tx = v?.txBytesPerSec ?? null;
      return rx === null || tx === null ? MISSING : `${formatBytes(rx)} / ${formatBytes(tx)}`;
    }
    case "uptime":
      return formatUptime(v?.uptimeSeconds ?? Number.NaN);
    default: {
      const never: never = column;
      throw new TypeError(`Cannot render watch column "${String(never)}"`);
    }
  }
}

/** `… 9950 more hosts: 9948 up, 2 lost`: what the rows left out hold, by state. */
function hiddenLine(hidden: readonly WatchRow[]): string {
  const states = new Map<string, number>();
  for (const row of hidden) {
    const state = row.state === "up" && row.error !== undefined ? "without an answer" : row.state;
    states.set(state, (states.get(state) ?? 0) + 1);
  }
  const parts = [...states].map(([state, n]) => `${n} ${state}`);
  const more = hidden.length === 1 ? "1 more host" : `${hidden.length} more hosts`;
  return `… ${more}: ${parts.join(", ")}`;
}

/**
 * One frame: `Every 2 s · 3 hosts, 2 up · 10:22:05 UTC`, the table (HOST then
 * the chosen columns), with `maxRows` a line counting the hosts left out, and
 * the hint. A host that is not up, or whose answer failed, shows its state and
 * the reason in place of numbers. No trailing newline.
 */
export function renderWatch(rows: readonly WatchRow[], frame: WatchFrame): string {
  const shown = frame.columns ?? WATCH_COLUMNS;
  const up = rows.filter((r) => r.state === "up").length;
  const clock = new Date(frame.now).toISOString().slice(11, 19);
  const hosts = rows.length === 1 ? "1 host" : `${rows.length} hosts`;
  const header = `Every ${frame.intervalSeconds} s · ${hosts}, ${up} up · ${clock} UTC`;
  const limit = Math.max(1, frame.maxRows ?? rows.length);
  const drawn = rows.length > limit ? rows.slice(0, limit) : rows;
  const body = drawn.map((row) => {
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
  if (drawn.length < rows.length) {
    parts.push(paint(frame.color, "dim", hiddenLine(rows.slice(drawn.length))));
  }
  if (frame.hint) parts.push(paint(frame.color, "dim", frame.hint));
  return parts.join("\n");
}
