/**
 * The named errors of talking to a peer, and the one place where they become
 * wire error objects (`toErrorObject`) or decide a reconnect (`isTransient`).
 * Protocol layer.
 *
 * Only a params error (`ParamsTypeError`, `ParamsRangeError`) is answered
 * `invalidParams`; any other `TypeError` or `RangeError` reaching the wire is
 * a bug, answered `internalError` (and logged with its stack by the server).
 * @module
 */

import { ERROR_CODES, type ErrorCode } from "./constants.ts";
import type { Json, RpcErrorObject } from "./messages.ts";

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

/** The peer speaks another protocol version: a verdict, not worth a retry. */
export class ProtocolMismatchError extends ProtocolError {
  /** Create a mismatch error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.invalidRequest, options);
    this.name = "ProtocolMismatchError";
  }
}

/** A request's params have a field of the wrong type, a missing or an unknown one. */
export class ParamsTypeError extends TypeError {
  /** Create a params type error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ParamsTypeError";
  }
}

/** A request's params hold a value that is not allowed (out of range, bad host…). */
export class ParamsRangeError extends RangeError {
  /** Create a params range error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ParamsRangeError";
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

/**
 * An argument is over a size limit (e.g. an exec command over
 * `LIMITS.commandBytes`). A params error like any other, but it travels on the
 * wire as `tooLarge`, not `invalidParams`.
 */
export class TooLargeError extends ParamsRangeError {
  /** Create a too-large error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TooLargeError";
  }
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
  if (err instanceof ParamsTypeError || err instanceof ParamsRangeError) {
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
  if (err instanceof AuthError || err instanceof ProtocolError) return false;
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
