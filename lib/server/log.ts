/**
 * Server log: one timestamped line per event on stderr. Never receives
 * secrets or command output; callers pass only what is safe to keep.
 * Warnings a stranger can cause (failed auths, refusals) go through a
 * per-kind rate limit, so a flood costs a few lines a second and one count.
 * @module
 */

/** How much the server says: `quiet` = warnings and errors only. */
export type LogLevel = "quiet" | "normal" | "verbose";

/** Rate-limited warnings of one kind written per second before the rest are only counted. */
export const WARN_LINES_PER_SECOND = 10;

const WINDOW_MS = 1_000;

const encoder = new TextEncoder();

/** Options of a {@linkcode Logger} beyond its level and sink (tests inject these). */
export interface LoggerOptions {
  /** The clock of the rate limit, in ms (default `performance.now`). */
  now?: () => number;
  /** Lines per kind and second (default {@linkcode WARN_LINES_PER_SECOND}). */
  linesPerSecond?: number;
}

/**
 * `ms` since the epoch as `Date.prototype.toISOString()` writes it, without
 * a `Date`: the first `Date` object a process makes costs about 1.5 MiB of
 * resident memory (V8's date cache and time zone setup), more than the rest
 * of the log. Days to civil date as in Howard Hinnant's `civil_from_days`.
 */
export function isoTimestamp(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const t = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097; // day of era, 0..146096
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) -
      Math.floor(doe / 146_096)) / 365,
  ); // year of era, 0..399
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153); // month from March, 0..11
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(Math.floor(t / 3_600_000))}:` +
    `${pad(Math.floor(t / 60_000) % 60)}:${pad(Math.floor(t / 1000) % 60)}.${pad(t % 1000, 3)}Z`;
}

/** One kind's current one-second window. */
interface Window {
  start: number;
  lines: number;
  suppressed: number;
}

/** A line-oriented logger writing to a sink (stderr by default). */
export class Logger {
  #level: LogLevel;
  #sink: (line: string) => void;
  #now: () => number;
  #perSecond: number;
  #windows = new Map<string, Window>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Create a logger at `level`; `sink` receives complete lines. */
  constructor(level: LogLevel = "normal", sink?: (line: string) => void, opts: LoggerOptions = {}) {
    this.#level = level;
    this.#sink = sink ?? ((line) => Deno.stderr.writeSync(encoder.encode(line)));
    this.#now = opts.now ?? (() => performance.now());
    this.#perSecond = opts.linesPerSecond ?? WARN_LINES_PER_SECOND;
  }

  /** Routine events: connections, auth results, commands. Hidden by `--quiet`. */
  info(message: string): void {
    if (this.#level !== "quiet") this.#write("info", message);
  }

  /** Detail shown only with `--verbose` (e.g. exec command text). */
  debug(message: string): void {
    if (this.#level === "verbose") this.#write("debug", message);
  }

  /** Something went wrong but the server goes on. Always shown. */
  warn(message: string): void {
    this.#write("warn", message);
  }

  /**
   * A warning of `kind` (e.g. `refused`), at most {@linkcode WARN_LINES_PER_SECOND}
   * a second; beyond that lines are counted and, once the second is over, one
   * line says `kind: N similar lines suppressed`.
   */
  warnLimited(kind: string, message: string): void {
    const now = this.#now();
    let w = this.#windows.get(kind);
    if (w === undefined || now - w.start >= WINDOW_MS) {
      if (w !== undefined) this.#summarize(kind, w);
      w = { start: now, lines: 0, suppressed: 0 };
      this.#windows.set(kind, w);
    }
    if (w.lines < this.#perSecond) {
      w.lines++;
      this.warn(message);
      return;
    }
    w.suppressed++;
    // Say how many were dropped even if the flood stops now.
    if (this.#timer === undefined) this.#schedule(w.start + WINDOW_MS - now);
  }

  /** Write the counts of lines suppressed so far and stop the rate limit's timer. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [kind, w] of this.#windows) this.#summarize(kind, w);
    this.#windows.clear();
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = this.#now();
      let next = Infinity;
      for (const [kind, w] of this.#windows) {
        if (now - w.start >= WINDOW_MS) this.#summarize(kind, w);
        else if (w.suppressed > 0) next = Math.min(next, w.start + WINDOW_MS - now);
      }
      if (next !== Infinity) this.#schedule(next);
    }, Math.max(0, ms));
    // A pending count must not keep the process alive.
    Deno.unrefTimer(this.#timer);
  }

  #summarize(kind: string, w: Window): void {
    if (w.suppressed === 0) return;
    this.warn(`${kind}: ${w.suppressed} similar lines suppressed`);
    w.suppressed = 0;
  }

  #write(level: string, message: string): void {
    // One write per line so concurrent events never interleave mid-line.
    this.#sink(`${isoTimestamp(Date.now())} ${level} ${message.replaceAll("\n", "\\n")}\n`);
  }
}
