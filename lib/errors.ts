/**
 * The few named error classes that callers catch, the process exit codes, and
 * the one place where wire codes become messages and classes.
 *
 * Plain `TypeError`/`RangeError`/`SyntaxError` are used for bad arguments and
 * unparsable text; these classes are for conditions a caller acts on.
 * @module
 */

import { ERROR_CODES, type ErrorCode } from "./protocol/constants.ts";
import type { Json, RpcErrorObject } from "./protocol/messages.ts";

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

/** The peer broke the protocol: bad frame, bad JSON, wrong message, oversized frame. */
export class ProtocolError extends Error {
  /** The wire code that best describes the fault. */
  readonly code: ErrorCode;
  /** Create a protocol error carrying a wire code. */
  constructor(
    message: string,
    code: ErrorCode = ERROR_CODES.invalidRequest,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/** The connection closed (by the peer, by us, or by the network). */
export class ConnectionClosedError extends Error {
  /** Create a connection-closed error. */
  constructor(message = "Connection closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionClosedError";
  }
}

/** A deadline passed: connect, auth, or waiting for an answer. */
export class TimeoutError extends Error {
  /** Create a timeout error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/** Authentication failed: wrong token on either side, or no proof in time. */
export class AuthError extends Error {
  /** Create an authentication error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthError";
  }
}

/**
 * The server's TLS certificate is not the one this client trusts (pinned
 * fingerprint, CA file or known-hosts record). Never retried: it may be an attack.
 */
export class TrustError extends AuthError {
  /** Create a trust error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TrustError";
  }
}

/** The server answered a call with an error object. */
export class RemoteError extends Error {
  /** The wire code of the error. */
  readonly code: number;
  /** Extra data the server attached (e.g. the partial CallEnd of a timed-out exec). */
  readonly data: Json | undefined;
  /** Create from a wire error object. */
  constructor(error: RpcErrorObject, options?: ErrorOptions) {
    super(error.message, options);
    this.name = "RemoteError";
    this.code = error.code;
    this.data = error.data;
  }
}

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

/**
 * An argument is over a size limit (e.g. an exec command over
 * `LIMITS.commandBytes`). A `RangeError`, so it is a bad argument like any
 * other, but it travels on the wire as `tooLarge`, not `invalidParams`.
 */
export class TooLargeError extends RangeError {
  /** Create a too-large error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TooLargeError";
  }
}

/** Short human names of the wire codes, used in messages and `--json` output. */
const CODE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [ERROR_CODES.parseError, "parse error"],
  [ERROR_CODES.invalidRequest, "invalid request"],
  [ERROR_CODES.methodNotFound, "method not found"],
  [ERROR_CODES.invalidParams, "invalid params"],
  [ERROR_CODES.internalError, "internal error"],
  [ERROR_CODES.unauthorized, "unauthorized"],
  [ERROR_CODES.timeout, "timeout"],
  [ERROR_CODES.cancelled, "cancelled"],
  [ERROR_CODES.busy, "busy"],
  [ERROR_CODES.tooLarge, "too large"],
  [ERROR_CODES.forbidden, "forbidden"],
  [ERROR_CODES.unavailable, "unavailable"],
]);

/** The short name of a wire error code, e.g. `timeout`. */
export function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? `error ${code}`;
}

/** Build the wire error object for any thrown value (never leaks stack traces). */
export function toErrorObject(err: unknown): RpcErrorObject {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message };
  if (err instanceof RemoteError) {
    return err.data === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, data: err.data };
  }
  if (err instanceof TooLargeError) return { code: ERROR_CODES.tooLarge, message: err.message };
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) {
    return { code: ERROR_CODES.invalidParams, message: err.message };
  }
  if (err instanceof TimeoutError) return { code: ERROR_CODES.timeout, message: err.message };
  return { code: ERROR_CODES.internalError, message: "Internal error" };
}

/**
 * Whether an error is transient, i.e. worth a reconnect. The one predicate every
 * retry path uses: network failures and timeouts are; auth and protocol faults are not.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof AuthError || err instanceof ProtocolError || err instanceof UsageError) {
    return false;
  }
  if (err instanceof ConnectionClosedError || err instanceof TimeoutError) return true;
  return err instanceof Deno.errors.ConnectionRefused ||
    err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.TimedOut ||
    err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.UnexpectedEof ||
    err instanceof Deno.errors.AddrNotAvailable ||
    err instanceof Deno.errors.NetworkUnreachable;
}

/** A one-line description of any error for people: `refused`, `timeout`, ... plus detail. */
export function describeError(err: unknown): string {
  if (err instanceof Deno.errors.ConnectionRefused) return "Connection refused";
  if (err instanceof Error) return err.message;
  return String(err);
}
