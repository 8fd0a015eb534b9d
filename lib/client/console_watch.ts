/**
 * The console's `watch` loop: every few seconds one `vitals` call per selected
 * host (`info` to older servers), then the table drawn again — in place on a terminal (cursor up, clear
 * to the end of the screen), as successive tables otherwise — until input
 * arrives or the run is cancelled. Client layer; the table itself is the pure
 * view in `views/watch.ts`.
 * @module
 */

import { deadline } from "../async.ts";
import type { HostResult } from "./fleet.ts";
import type { Fleet } from "./fleet_api.ts";
import { clearBelow, cursorUp, hideCursor, showCursor } from "./views/color.ts";
import { visibleWidth } from "./views/table.ts";
import { renderWatch, watchColumns, type WatchFrame, type WatchRow } from "./views/watch.ts";
import type { Vitals } from "../grammar/commands/vitals.ts";
import { failureText } from "./views/summary.ts";

/** Everything one `watch` needs. */
export interface WatchOptions {
  fleet: Fleet;
  /** The hosts to show, asked again each round (the selection may follow connections). */
  names: () => string[];
  intervalSeconds: number;
  /** Column names as typed; none means all. */
  columns?: readonly string[];
  /** The longest the client waits for any answer; a round waits less. */
  waitMs: number;
  /** Aborted on Ctrl-C: the round in flight is cancelled and the loop ends. */
  signal: AbortSignal;
  /** Resolves when input arrives (a key, a line, end of input): the loop ends. */
  stopOn: Promise<void>;
  write(text: string): void;
  /** Redraw in place (stdout is a terminal) instead of printing table after table. */
  redraw: boolean;
  color: boolean;
  /** Terminal width, to know how many rows a long line took. */
  terminalColumns(): number;
  /** Terminal height: a frame redrawn in place shows only the hosts that fit. */
  terminalRows(): number;
  /** Last line of each frame, e.g. `Press any key to stop`. */
  hint: string;
}

/** The shortest pause between rounds, however long a round took. */
const MIN_PAUSE_MS = 200;

/** How long one round waits for answers: at least 2 s, at most the client wait. */
export function roundWaitMs(intervalSeconds: number, waitMs: number): number {
  return Math.min(waitMs, Math.max(2_000, intervalSeconds * 1000));
}

/** How many terminal rows `text` takes when lines wrap at `columns`. */
export function screenRows(text: string, columns: number): number {
  const width = Math.max(1, columns);
  return text.split("\n").reduce(
    (rows, line) => rows + Math.max(1, Math.ceil(visibleWidth(line) / width)),
    0,
  );
}

/** One row per host: its link state, and its figures or why it has none. */
export function watchRows(
  fleet: Fleet,
  names: readonly string[],
  results: readonly HostResult[],
): WatchRow[] {
  const byHost = new Map(results.map((r) => [r.host, r]));
  return names.map((host) => {
    const member = fleet.get(host);
    const state = member?.state ?? "closed";
    // Only a link that is not up has a reason to show: the others skip building a status.
    const row: WatchRow = {
      host,
      state,
      reason: state === "up" ? null : member?.status().reason ?? null,
    };
    const result = byHost.get(host);
    if (result?.status === "ok") row.vitals = result.data as Vitals;
    else if (result && row.state === "up") {
      row.error = failureText(result);
    }
    return row;
  });
}

/**
 * Hosts a round asks at once, whatever `--fanout` says. Each answer waits for
 * its server's ~0.1 s sample (cpu, net), so at the default 64 a round of
 * 10,000 hosts would take 10,000 / 64 × 0.1 s ≈ 16 s; a call is one small
 * frame each way on a held link. Measured at 10,000 hosts (bench/
 * client_footprint.ts): 1,024 at once is as fast as all of them, with about a
 * third less client CPU (fewer calls alive at once, less garbage collection).
 */
export const WATCH_FANOUT = 1024;

/** What one round draws besides the rows; see {@linkcode WatchFrame}. */
export type RoundFrame = Omit<WatchFrame, "now">;

/** One round's fan-out; see {@linkcode RunOptions}. */
export interface RoundOptions {
  signal?: AbortSignal;
  waitMs?: number;
  /** Hosts asked at once; default {@linkcode WATCH_FANOUT}. */
  fanout?: number;
}

/**
 * One round of `watch`: `vitals` asked of every named host (`info` of servers
 * without it, the fleet's choice), then the frame drawn. Null when `signal`
 * aborted the round.
 */
export async function watchRound(
  fleet: Fleet,
  names: readonly string[],
  frame: RoundFrame,
  opts: RoundOptions = {},
): Promise<string | null> {
  const results = await fleet.run(names, { kind: "vitals" }, {
    signal: opts.signal,
    waitMs: opts.waitMs,
    collectOutput: false,
    fanout: opts.fanout ?? WATCH_FANOUT,
  });
  if (opts.signal?.aborted) return null;
  return renderWatch(watchRows(fleet, names, results), { ...frame, now: Date.now() });
}

/**
 * The most host rows a frame redrawn in place on a terminal of `rows` lines
 * may hold: the header, the table's titles, the line counting hidden hosts,
 * the hint and the line the cursor rests on take five.
 */
export function rowsThatFit(rows: number): number {
  return Math.max(1, rows - 5);
}

/**
 * Run `watch` until input arrives or `signal` aborts. The first round is
 * always shown (so a piped `watch` prints one table); a round cut short by
 * Ctrl-C is not. Throws RangeError for an unknown column before anything runs.
 */
export async function runWatch(opts: WatchOptions): Promise<void> {
  const columns = watchColumns(opts.columns);
  let inputArrived = false;
  const stop = new Promise<void>((resolve) => {
    opts.stopOn.then(() => {
      inputArrived = true;
      resolve();
    });
    opts.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const stopped = () => inputArrived || opts.signal.aborted;
  const waitMs = roundWaitMs(opts.intervalSeconds, opts.waitMs);
  let drawnRows = 0;
  let rounds = 0;
  // The cursor would flicker across the table at every redraw.
  if (opts.redraw) opts.write(hideCursor());
  try {
    while (true) {
      const roundStart = performance.now();
      const round: RoundFrame = {
        intervalSeconds: opts.intervalSeconds,
        columns,
        color: opts.color,
        hint: opts.hint,
      };
      // In place, a frame taller than the screen could not be drawn over: only what fits.
      if (opts.redraw) round.maxRows = rowsThatFit(opts.terminalRows());
      const frame = await watchRound(opts.fleet, opts.names(), round, {
        signal: opts.signal,
        waitMs,
      });
      if (frame === null || opts.signal.aborted) break;
      if (opts.redraw) {
        // Back to the first row of the last frame, then clear everything below it.
        const up = drawnRows > 0 ? `${cursorUp(drawnRows)}${clearBelow()}` : "";
        opts.write(`${up}${frame}\n`);
        drawnRows = screenRows(frame, opts.terminalColumns());
      } else {
        opts.write(`${rounds > 0 ? "\n" : ""}${frame}\n`);
      }
      rounds++;
      if (stopped()) break;
      // The next round starts one interval after this one started (a round of 10,000 hosts
      // takes a good part of it), but never without a pause that leaves the console its
      // input; at once to stop.
      const rest = opts.intervalSeconds * 1000 - (performance.now() - roundStart);
      await deadline(stop, Math.max(MIN_PAUSE_MS, rest), () => {});
      if (stopped()) break;
    }
  } finally {
    if (opts.redraw) opts.write(showCursor());
  }
}
