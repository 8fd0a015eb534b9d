/**
 * The NATS client protocol as a server speaks it to a client, read
 * incrementally from a byte stream: `INFO {json}`, `MSG subject sid [reply]
 * size`, `HMSG subject sid [reply] hsize size` (headers skipped: rmon sends
 * none), `PING`, `PONG`, `+OK` and `-ERR 'text'`, each line ending in CRLF,
 * a message's payload after its line. Bytes arrive in any split; each whole
 * operation is handed to the handler as soon as it is complete, with its
 * payload copied out (the handler may keep it). Written from the protocol's
 * published description. Protocol layer; pure.
 * @module
 */

import { ProtocolError } from "./errors.ts";

/** The fields of a server's `INFO` that rmon uses (the rest are kept, untyped). */
export interface NatsServerInfo {
  "server_id"?: string;
  /** The server wants TLS before `CONNECT`. */
  "tls_required"?: boolean;
  "tls_available"?: boolean;
  /** The server asks for a signature of this nonce (nkey and JWT users). */
  nonce?: string;
  /** Largest payload the server takes, bytes. */
  "max_payload"?: number;
  /** Other servers of the cluster a client may reconnect to, `host:port`. */
  "connect_urls"?: string[];
  /** The server is about to shut down (lame duck mode). */
  ldm?: boolean;
  [other: string]: unknown;
}

/** What a parser hands over, operation by operation. */
export interface NatsOpHandler {
  /** `MSG`/`HMSG`: a message for subscription `sid` (for HMSG, the payload without its headers). */
  msg(subject: string, sid: number, reply: string | undefined, data: Uint8Array): void;
  info(info: NatsServerInfo): void;
  ping(): void;
  pong(): void;
  /** `-ERR`: the server's text, without its quotes. */
  err(text: string): void;
}

/** Longest control line taken: an `INFO` of a large cluster lists many URLs. */
export const MAX_CONTROL_LINE = 64 * 1024;

/** A leftover buffer larger than this is let go once it is empty. */
const KEEP_BUFFER_BYTES = 1024 * 1024;

const CR = 13;
const LF = 10;
const utf8 = new TextDecoder();

/** An incremental reader of server operations; see the module doc. */
export class NatsParser {
  #handler: NatsOpHandler;
  /** Bytes not yet parsed are kept in `#buf[0, #len)`. */
  #buf = new Uint8Array(0);
  #len = 0;
  /** The largest payload taken (the server's `max_payload` plus headers' slack). */
  #maxPayload: number;

  /** A parser handing operations to `handler`; payloads over `maxPayload` bytes are refused. */
  constructor(handler: NatsOpHandler, maxPayload = 64 * 1024 * 1024) {
    this.#handler = handler;
    this.#maxPayload = maxPayload;
  }

  /** Payloads over this many bytes are refused (a server's `max_payload`, with room for headers). */
  set maxPayload(bytes: number) {
    this.#maxPayload = bytes;
  }

  /**
   * Take `chunk` (not kept: it may be reused by the caller) and hand over
   * every operation it completes. Throws `ProtocolError` on bytes that are
   * not the protocol; the stream cannot be read on after that.
   */
  feed(chunk: Uint8Array): void {
    let data: Uint8Array;
    let end: number;
    if (this.#len === 0) {
      data = chunk; // the common case: nothing left over, parse the caller's bytes in place
      end = chunk.length;
    } else {
      this.#append(chunk);
      data = this.#buf;
      end = this.#len;
    }
    let pos = 0;
    while (pos < end) {
      const taken = this.#one(data, pos, end);
      if (taken === 0) break;
      pos += taken;
    }
    // Keep what is left (a part of an operation) for the next chunk.
    const rest = end - pos;
    if (rest === 0) {
      this.#len = 0;
      // One large message must not keep its buffer for the life of the connection.
      if (this.#buf.length > KEEP_BUFFER_BYTES) this.#buf = new Uint8Array(0);
    } else if (data === this.#buf) {
      this.#buf.copyWithin(0, pos, end);
      this.#len = rest;
    } else {
      this.#len = 0;
      this.#append(chunk.subarray(pos, end));
    }
  }

  #append(bytes: Uint8Array): void {
    const need = this.#len + bytes.length;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2, 4096));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }

  /** Parse one operation at `pos`; the bytes it took, or 0 when it is not complete yet. */
  #one(data: Uint8Array, pos: number, end: number): number {
    let eol = -1;
    const limit = Math.min(end, pos + MAX_CONTROL_LINE);
    for (let i = pos; i < limit; i++) {
      if (data[i] === LF) {
        eol = i;
        break;
      }
    }
    if (eol < 0) {
      if (end - pos >= MAX_CONTROL_LINE) {
        throw new ProtocolError(`NATS control line over ${MAX_CONTROL_LINE} bytes`);
      }
      return 0;
    }
    const lineEnd = eol > pos && data[eol - 1] === CR ? eol - 1 : eol;
    const line = utf8.decode(data.subarray(pos, lineEnd));
    const lineBytes = eol + 1 - pos;
    const space = line.search(/[ \t]/); // the protocol splits fields by spaces or tabs
    const op = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const rest = space < 0 ? "" : line.slice(space + 1).trim();
    switch (op) {
      case "MSG":
      case "HMSG": {
        const f = rest.split(/\s+/);
        const headed = op === "HMSG";
        const want = headed ? [4, 5] : [3, 4];
        if (!want.includes(f.length)) throw new ProtocolError(`Malformed NATS ${op}: "${line}"`);
        const size = toSize(f[f.length - 1]!, line);
        const headerSize = headed ? toSize(f[f.length - 2]!, line) : 0;
        if (size > this.#maxPayload || headerSize > size) {
          throw new ProtocolError(`NATS message of ${size} bytes refused: "${line}"`);
        }
        const start = eol + 1;
        if (end - start < size + 2) return 0; // the payload is not all here yet
        if (data[start + size] !== CR || data[start + size + 1] !== LF) {
          throw new ProtocolError(`NATS ${op} payload not ended by CRLF`);
        }
        const sid = toSize(f[1]!, line);
        const reply = f.length === want[1] ? f[2] : undefined;
        const payload = data.slice(start + headerSize, start + size);
        this.#handler.msg(f[0]!, sid, reply, payload);
        return lineBytes + size + 2;
      }
      case "PING":
        this.#handler.ping();
        return lineBytes;
      case "PONG":
        this.#handler.pong();
        return lineBytes;
      case "+OK":
        return lineBytes;
      case "-ERR":
        this.#handler.err(rest.replace(/^'(.*)'$/, "$1"));
        return lineBytes;
      case "INFO": {
        let info: unknown;
        try {
          info = JSON.parse(rest);
        } catch (err) {
          throw new ProtocolError("Malformed NATS INFO: not JSON", undefined, { cause: err });
        }
        if (info === null || typeof info !== "object" || Array.isArray(info)) {
          throw new ProtocolError("Malformed NATS INFO: not an object");
        }
        this.#handler.info(info as NatsServerInfo);
        return lineBytes;
      }
      default:
        throw new ProtocolError(`Not the NATS protocol: "${line.slice(0, 40)}"`);
    }
  }
}

/** A decimal count from a control line; throws `ProtocolError` otherwise. */
function toSize(text: string, line: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new ProtocolError(`Malformed NATS line: "${line}"`);
  return Number(text);
}
