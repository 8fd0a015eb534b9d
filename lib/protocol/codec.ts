/**
 * Codec layer: frame text ↔ typed JSON-RPC 2.0 messages. Validates the
 * envelope only; method params are validated by the command grammar.
 * @module
 */

import { ProtocolError } from "./errors.ts";
import { ERROR_CODES } from "./constants.ts";
import type {
  ErrorResponse,
  Json,
  JsonObject,
  Message,
  Notification,
  Request,
  RequestId,
  RpcErrorObject,
  SuccessResponse,
} from "./messages.ts";

/** Whether `v` is a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether `v` is a valid request id: a safe integer, or a string of at most 64 characters. */
export function isRequestId(v: unknown): v is RequestId {
  return (typeof v === "number" && Number.isSafeInteger(v)) ||
    (typeof v === "string" && v.length <= 64);
}

/** The id of a request we could not fully decode, if readable, for the error response. */
function salvageId(obj: JsonObject): RequestId | null {
  return Object.hasOwn(obj, "id") && isRequestId(obj.id) ? obj.id : null;
}

/**
 * Decode one frame. Throws `ProtocolError` with `parseError` for bad JSON and
 * `invalidRequest` for a JSON value that is not an object; any other fault of
 * the envelope throws a `DecodeError` (also `invalidRequest`) whose `requestId`
 * is the frame's id whenever that id is valid, whatever else is wrong with it.
 */
export function decodeMessage(text: string): Message {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError("Cannot decode frame: invalid JSON", ERROR_CODES.parseError, {
      cause: err,
    });
  }
  if (!isJsonObject(value)) {
    throw new ProtocolError("Cannot decode frame: expected a JSON object");
  }
  const frame = value;
  const fail = (detail: string) =>
    new DecodeError(`Cannot decode frame: ${detail}`, salvageId(frame));
  if (value.jsonrpc !== "2.0") throw fail('"jsonrpc" must be "2.0"');
  const hasId = Object.hasOwn(value, "id");
  if (Object.hasOwn(value, "method")) {
    if (typeof value.method !== "string") throw fail('"method" must be a string');
    if (Object.hasOwn(value, "params") && !isJsonObject(value.params)) {
      throw fail('"params" must be an object');
    }
    if (!hasId) return { kind: "notification", msg: value as unknown as Notification };
    if (!isRequestId(value.id)) throw fail('"id" must be an integer or a short string');
    return { kind: "request", msg: value as unknown as Request };
  }
  // No method: a response, or nothing. Its id, when valid, still tags the answer.
  if (hasId && Object.hasOwn(value, "result")) {
    if (!isRequestId(value.id)) throw fail('bad response "id"');
    return { kind: "success", msg: value as unknown as SuccessResponse };
  }
  if (hasId && isJsonObject(value.error)) {
    const { code, message } = value.error;
    if (typeof code !== "number" || typeof message !== "string") {
      throw fail("malformed error object");
    }
    if (value.id !== null && !isRequestId(value.id)) throw fail('bad response "id"');
    return { kind: "error", msg: value as unknown as ErrorResponse };
  }
  throw fail("not a request, notification or response");
}

/**
 * A frame that is not an acceptable message but whose id could be read, so the
 * answer can carry it: a bad envelope, or a response nobody asked for.
 */
export class DecodeError extends ProtocolError {
  /** The id of the offending frame, or null when it had no valid id. */
  readonly requestId: RequestId | null;
  /** Create an invalid-request error for the frame with id `requestId`. */
  constructor(message: string, requestId: RequestId | null) {
    super(message, ERROR_CODES.invalidRequest);
    this.name = "DecodeError";
    this.requestId = requestId;
  }
}

/** Encode a request frame. */
export function encodeRequest(id: RequestId, method: string, params?: JsonObject): string {
  return params === undefined
    ? JSON.stringify({ jsonrpc: "2.0", id, method })
    : JSON.stringify({ jsonrpc: "2.0", id, method, params });
}

/** Encode a notification frame. */
export function encodeNotification(method: string, params: JsonObject): string {
  return JSON.stringify({ jsonrpc: "2.0", method, params });
}

/** Encode a success response frame. */
export function encodeResult(id: RequestId, result: Json): string {
  return JSON.stringify({ jsonrpc: "2.0", id, result });
}

/** Encode an error response frame. */
export function encodeError(id: RequestId | null, error: RpcErrorObject): string {
  return JSON.stringify({ jsonrpc: "2.0", id, error });
}
