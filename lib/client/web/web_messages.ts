/**
 * The messages between `rmon web` and its page, over one WebSocket (`/ws`):
 * JSON text frames with a literal `type`. The page sends `run` and `cancel`;
 * the client sends everything else. Client web layer; types only, so the
 * page's script (plain JavaScript) and the tests read the same names.
 * @module
 */

import type { LinkState } from "../host_link.ts";
import type { HostStatus } from "../fleet.ts";
import type { SeriesColumns } from "./ring.ts";

/** One host's row of the fleet table: link state and the latest `info` numbers (null: unknown). */
export interface HostRow {
  host: string;
  address: string;
  groups: readonly string[];
  state: LinkState;
  /** Why it is not up, if it is not. */
  reason: string | null;
  /** Since when it has been in this state (for `lost since`), ms since the epoch. */
  since: number;
  cpu: number | null;
  load: number | null;
  ram: number | null;
  /** Swap in use, percent of swap (null without swap). */
  swap: number | null;
  /** Root file system use, percent. */
  disk: number | null;
  uptimeSeconds: number | null;
  os: string | null;
  /** Why the last round has no numbers from an up host (timeout, error). */
  error: string | null;
}

/** A host's history for its charts. */
export interface HostSeries extends SeriesColumns {
  host: string;
}

/** Sent by the client. */
export type ServerMessage =
  | {
    type: "hello";
    readOnly: boolean;
    intervalMs: number;
    /** How long the charts look back, ms. */
    historyMs: number;
    rows: HostRow[];
    /** Each host's history, thinned for the small charts. */
    series: HostSeries[];
    /** How many points a small chart keeps at most over `historyMs`. */
    sparkPoints: number;
    /** The latest lost/back notices, oldest first. */
    notices: Extract<ServerMessage, { type: "notice" }>[];
  }
  /** One round: every row, and the new sample of each host that answered (t in seconds). */
  | {
    type: "rows";
    t: number;
    rows: HostRow[];
    samples: { host: string; cpu: number | null; ram: number | null }[];
  }
  | { type: "notice"; level: "lost" | "back" | "info"; host: string; text: string; at: number }
  /** A host's full history and `info` (answer to `detail`). */
  | { type: "detail"; host: string; series: HostSeries; info: unknown; status: unknown }
  /** A line that needs the person's yes first (the page asks, then sends `run` again confirmed). */
  | { type: "confirm"; id: string; question: string; hosts: string[] }
  /** A command started on these hosts. */
  | { type: "started"; id: string; line: string; hosts: string[] }
  | { type: "output"; id: string; host: string; stream: "stdout" | "stderr"; data: string }
  | {
    type: "result";
    id: string;
    host: string;
    status: HostStatus;
    exitCode: number | null;
    error: string | null;
  }
  /** The end: the gathered view as text (identical outputs once, folded host lists), summary. */
  | { type: "finished"; id: string; text: string; cancelled: boolean }
  /** A line that was refused or could not run (syntax, no host, read-only). */
  | { type: "error"; id: string | null; message: string }
  /** The hosts a filter shows (the console's target syntax), or why it names none. */
  | { type: "filtered"; text: string; hosts: string[] | null; error: string | null };

/** Sent by the page. */
export type PageMessage =
  /** Run a console line; `filter` is the page's filter, the target when the line names none. */
  | { type: "run"; id: string; line: string; filter: string; confirmed: boolean }
  | { type: "cancel"; id: string }
  | { type: "detail"; host: string }
  /** Which hosts a filter expression names (answered with `filtered`). */
  | { type: "filter"; text: string };

/**
 * Parse a page message, or throw TypeError naming what is wrong: a page is
 * code we serve, but the socket is still input from outside.
 */
export function parsePageMessage(text: string): PageMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`Invalid page message: not JSON`, { cause: err });
  }
  if (typeof value !== "object" || value === null) {
    throw new TypeError("Invalid page message: not an object");
  }
  const m = value as Record<string, unknown>;
  const str = (key: string, max = 10_000): string => {
    const v = m[key];
    if (typeof v !== "string" || v.length > max) {
      throw new TypeError(`Invalid page message: "${key}" must be a string of at most ${max}`);
    }
    return v;
  };
  switch (m.type) {
    case "run":
      return {
        type: "run",
        id: str("id", 64),
        line: str("line"),
        filter: str("filter", 1_000),
        confirmed: m.confirmed === true,
      };
    case "cancel":
      return { type: "cancel", id: str("id", 64) };
    case "detail":
      return { type: "detail", host: str("host", 1_000) };
    case "filter":
      return { type: "filter", text: str("text", 1_000) };
    default:
      throw new TypeError(`Invalid page message: unknown type ${JSON.stringify(m.type)}`);
  }
}
