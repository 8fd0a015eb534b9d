/**
 * What the two programs tell their caller: the process exit codes, and the
 * error a command line or console input the user must correct raises, which
 * carries the exit code one-shot mode ends with. Mapped to one-line messages
 * only in the entry points.
 * @module
 */

/** Process exit codes of `rmon` and `rmon-server`; documented in the README. */
export const EXIT_CODES = {
  ok: 0,
  /** Some host's command exited non-zero (or a ping failed). */
  nonzero: 1,
  /** Bad command line or command text. */
  usage: 2,
  /** Some host could not be reached or refused our token. */
  unreachable: 3,
  /** Some host's command timed out. */
  timeout: 4,
  /** Some host answered with an error (bad params, forbidden, tool missing...). */
  error: 5,
  /** Stopped by SIGHUP (the terminal went away): 128 + 1, as a shell reports it. */
  hangup: 129,
  /** Interrupted by the user: Ctrl-C or SIGINT (on Windows also Ctrl-Break), 128 + 2. */
  interrupted: 130,
  /** Stdout was closed by its reader (`rmon ... | head -1`): 128 + SIGPIPE (13). */
  brokenPipe: 141,
  /** Stopped by SIGTERM (`kill`, `timeout`, a supervisor): 128 + 15. */
  terminated: 143,
} as const;

/** A process exit code. */
export type ExitCode = typeof EXIT_CODES[keyof typeof EXIT_CODES];

/** A command line or console input the user must correct; carries the exit code. */
export class UsageError extends Error {
  /** The exit code one-shot mode ends with. */
  readonly exitCode: ExitCode;
  /** Create a usage error. */
  constructor(message: string, exitCode: ExitCode = EXIT_CODES.usage, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
    this.exitCode = exitCode;
  }
}
