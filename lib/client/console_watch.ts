/**
 * The console's `watch` loop: every few seconds one `info` call per selected
 * host, then the table drawn again — in place on a terminal (cursor up, clear
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
import { renderWatch, watchColumns, type WatchRow } from "./views/watch.ts";
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

/** One row per host: its link state, and its answer or why it has none. */
export function watchRows(
  fleet: Fleet,
  names: readonly string[],
  results: readonly HostResult[],
): WatchRow[] {
  const byHost = new Map(results.map((r) => [r.host, r]));
  return names.map((host) => {
    const status = fleet.get(host)?.status();
    const row: WatchRow = {
      host,
      state: status?.state ?? "closed",
      reason: status?.reason ?? null,
    };
    const result = byHost.get(host);
    if (result?.status === "ok") row.info = result.data;
    else if (result && row.state === "up") {
      row.error = failureText(result);
    }
    return row;
  });
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
      const names = opts.names();
      const results = await opts.fleet.run(names, { kind: "info" }, {
        signal: opts.signal,
        waitMs,
        collectOutput: false,
      });
      if (opts.signal.aborted) break;
      const frame = renderWatch(watchRows(opts.fleet, names, results), {
        intervalSeconds: opts.intervalSeconds,
        now: Date.now(),
        columns,
        color: opts.color,
        hint: opts.hint,
      });
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
