/**
 * Codec layer: frame text ↔ typed JSON-RPC 2.0 messages. Validates the
 * envelope only; method params are validated by the command grammar.
 * @module
 */

import { ProtocolError } from "../errors.ts";
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

function isId(v: unknown): v is RequestId {
  return (typeof v === "number" && Number.isSafeInteger(v)) ||
    (typeof v === "string" && v.length <= 64);
}

/** The id of a request we could not fully decode, if readable, for the error response. */
function salvageId(obj: JsonObject): RequestId | null {
  return Object.hasOwn(obj, "id") && isId(obj.id) ? obj.id : null;
}

/**
 * Decode one frame. Throws `ProtocolError` with `parseError` for bad JSON and
 * `invalidRequest` for a JSON value that is not a JSON-RPC 2.0 message; the
 * error's `requestId` is set when the id could still be read.
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
  if (value.jsonrpc !== "2.0") {
    throw new DecodeError('Cannot decode frame: "jsonrpc" must be "2.0"', salvageId(value));
  }
  const hasId = Object.hasOwn(value, "id");
  if (Object.hasOwn(value, "method")) {
    if (typeof value.method !== "string") {
      throw new DecodeError('Cannot decode frame: "method" must be a string', salvageId(value));
    }
    if (Object.hasOwn(value, "params") && !isJsonObject(value.params)) {
      throw new DecodeError('Cannot decode frame: "params" must be an object', salvageId(value));
    }
    if (!hasId) return { kind: "notification", msg: value as unknown as Notification };
    if (!isId(value.id)) {
      throw new DecodeError('Cannot decode frame: "id" must be an integer or a short string', null);
    }
    return { kind: "request", msg: value as unknown as Request };
  }
  if (hasId && Object.hasOwn(value, "result")) {
    if (!isId(value.id)) throw new ProtocolError('Cannot decode frame: bad response "id"');
    return { kind: "success", msg: value as unknown as SuccessResponse };
  }
  if (hasId && isJsonObject(value.error)) {
    const { code, message } = value.error;
    if (typeof code !== "number" || typeof message !== "string") {
      throw new ProtocolError("Cannot decode frame: malformed error object");
    }
    if (value.id !== null && !isId(value.id)) {
      throw new ProtocolError('Cannot decode frame: bad response "id"');
    }
    return { kind: "error", msg: value as unknown as ErrorResponse };
  }
  throw new DecodeError("Cannot decode frame: not a request, notification or response", null);
}

/** A decode failure that still knows which request it belongs to. */
export class DecodeError extends ProtocolError {
  /** The id of the offending request, or null. */
  readonly requestId: RequestId | null;
  /** Create an invalid-request error for request `requestId`. */
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
