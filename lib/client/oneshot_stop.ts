/**
 * How a one-shot run is stopped from outside: by a signal (the list depends
 * on the OS) or by a stdout its reader has closed (`rmon ... | head -1`). The
 * first stop cancels the command on every host; a second one, or the end of
 * a short grace for the servers to confirm, stops waiting for answers. The
 * exit code then says what stopped the run, as a shell would report it.
 * Client layer; the entry point wires it to the process.
 * @module
 */

import { EXIT_CODES, type ExitCode } from "../usage.ts";

/** How long, after a stop, hosts get to confirm the cancel before nobody waits for them. */
export const CANCEL_GRACE_MS = 3_000;

/**
 * A repeat of the same signal this soon after it is the same event, not a
 * second stop: a signal to the whole process group (`timeout`, a shell's job
 * control, systemd) reaches rmon directly and again through a parent that
 * relays it (`deno task`, the dev launcher). A person's second Ctrl-C comes
 * later than this.
 */
export const SIGNAL_ECHO_MS = 250;

/**
 * The signals that stop a one-shot run on `os`: SIGINT, SIGTERM and SIGHUP on
 * Unix; on Windows only SIGINT and SIGBREAK (Ctrl-Break) can be listened for.
 */
export function stopSignals(os: typeof Deno.build.os = Deno.build.os): Deno.Signal[] {
  return os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM", "SIGHUP"];
}

/** The exit code after `signal`: 128 + its number (SIGINT 130, SIGTERM 143, SIGHUP 129). */
export function signalExitCode(signal: Deno.Signal): ExitCode {
  switch (signal) {
    case "SIGHUP":
      return EXIT_CODES.hangup;
    case "SIGTERM":
      return EXIT_CODES.terminated;
    default:
      // SIGINT, and Ctrl-Break on Windows, which is an interrupt key too.
      return EXIT_CODES.interrupted;
  }
}

/**
 * The stop switches of one run. `cancel` aborts at the first stop, with the
 * reason the results show (`cancelled by SIGTERM`); `giveUp` aborts at a
 * second stop or `graceMs` after the first. `exitCode` is set by the first stop.
 */
export class RunStop {
  /** Aborted by the first stop: cancel the command everywhere. */
  readonly cancel: AbortController = new AbortController();
  /** Aborted by a second stop or after the grace: stop waiting for answers. */
  readonly giveUp: AbortController = new AbortController();
  #exitCode: ExitCode | null = null;
  #outputClosed = false;
  #graceMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #listeners: [Deno.Signal, () => void][] = [];
  #now: () => number;
  /** The last signal and when it came, to tell an echo from a second stop. */
  #lastSignal: { signal: Deno.Signal; at: number } | null = null;

  /**
   * A run that waits `graceMs` (default {@linkcode CANCEL_GRACE_MS}) for
   * cancels to be confirmed; `now` is the clock signal echoes are timed by.
   */
  constructor(graceMs: number = CANCEL_GRACE_MS, now: () => number = () => performance.now()) {
    this.#graceMs = graceMs;
    this.#now = now;
  }

  /** The exit code the first stop calls for, or null while nothing stopped the run. */
  get exitCode(): ExitCode | null {
    return this.#exitCode;
  }

  /** Whether stdout was found closed: nothing more may be written to it. */
  get outputClosed(): boolean {
    return this.#outputClosed;
  }

  /** Stop for `reason` (what the cancelled results say); a second stop gives up waiting. */
  stop(reason: string, exitCode: ExitCode): void {
    if (this.cancel.signal.aborted) {
      this.giveUp.abort(reason);
      return;
    }
    this.#exitCode = exitCode;
    this.cancel.abort(reason);
    this.#timer = setTimeout(() => this.giveUp.abort(reason), this.#graceMs);
  }

  /** `signal` arrived; the same one again within {@linkcode SIGNAL_ECHO_MS} is ignored. */
  signalled(signal: Deno.Signal): void {
    const at = this.#now();
    const last = this.#lastSignal;
    this.#lastSignal = { signal, at };
    if (last !== null && last.signal === signal && at - last.at < SIGNAL_ECHO_MS) return;
    this.stop(`cancelled by ${signal}`, signalExitCode(signal));
  }

  /** A write to stdout found the pipe closed: stop once, quietly; later writes are dropped. */
  stdoutClosed(): void {
    if (this.#outputClosed) return;
    this.#outputClosed = true;
    if (!this.cancel.signal.aborted) {
      this.stop("cancelled: stdout was closed", EXIT_CODES.brokenPipe);
    }
  }

  /** Listen for this OS's stop signals until {@linkcode RunStop.dispose}. */
  listen(os: typeof Deno.build.os = Deno.build.os): void {
    for (const signal of stopSignals(os)) {
      const listener = () => this.signalled(signal);
      Deno.addSignalListener(signal, listener);
      this.#listeners.push([signal, listener]);
    }
  }

  /** Stop listening and drop the grace timer. */
  dispose(): void {
    clearTimeout(this.#timer);
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners = [];
  }
}
