/**
 * Server log: one timestamped line per event on stderr. Never receives
 * secrets or command output; callers pass only what is safe to keep.
 * @module
 */

/** How much the server says: `quiet` = warnings and errors only. */
export type LogLevel = "quiet" | "normal" | "verbose";

const encoder = new TextEncoder();

/** A line-oriented logger writing to a sink (stderr by default). */
export class Logger {
  #level: LogLevel;
  #sink: (line: string) => void;

  /** Create a logger at `level`; `sink` receives complete lines. */
  constructor(level: LogLevel = "normal", sink?: (line: string) => void) {
    this.#level = level;
    this.#sink = sink ?? ((line) => Deno.stderr.writeSync(encoder.encode(line)));
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

  #write(level: string, message: string): void {
    // One write per line so concurrent events never interleave mid-line.
    this.#sink(`${new Date().toISOString()} ${level} ${message.replaceAll("\n", "\\n")}\n`);
  }
}
