/**
 * End-to-end authenticity over the message bus, trusting nothing the bus
 * says: every request carries a timestamp, a random nonce and an HMAC-SHA256
 * under the fleet token over (subject, method, params, reply subject, time,
 * nonce, and the operator's key when the request is also signed with it: the
 * key's Ed25519 signature covers the same bytes); agents refuse requests
 * outside the clock window or whose nonce they have seen (a bounded cache),
 * and MAC every reply message over the request's
 * nonce, the reply subject, the host, the sequence number, the kind and the
 * body, which the client checks. The MAC inputs are length-prefixed fields
 * after a label and a direction, so a request MAC never verifies as a reply.
 * Protocol layer; pure (the HMAC is hmac_sha256.ts: synchronous and cheap,
 * one per reply message, ten thousand replies per fan-out).
 * @module
 */

import { HmacSha256 } from "./hmac_sha256.ts";
import { constantTimeEqual, fromBase64Url, toBase64Url } from "./auth.ts";

/** Label at the start of every MAC input, versioning the construction. */
const LABEL = "rmon-bus-v1";

/** How far a request's timestamp may be from the agent's clock, either way (ms). */
export const CLOCK_WINDOW_MS = 30_000;

/** How many nonces an agent remembers (each for twice the clock window at most). */
export const DEFAULT_NONCE_CAPACITY = 100_000;

/** Largest request body an agent reads (bytes); params are small. */
export const MAX_REQUEST_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a requester asks: the method, its params as JSON text, where to answer. */
export interface BusRequest {
  method: string;
  /** The params object as JSON text: MACed exactly as sent, parsed only after. */
  params: string;
  /** The reply subject the answers go to (covered by the MAC: a bus cannot redirect them). */
  reply: string;
  /** Milliseconds since the epoch, the requester's clock. */
  ts: number;
  /** 18 random bytes, base64url. */
  nonce: string;
  /**
   * The operator's public key (standard base64 of its 32 raw bytes, as in an
   * authorized keys line) when the request is also signed with it; covered by
   * the MAC and the signature, so it cannot be stripped or swapped.
   */
  key?: string;
}

/** A request as it travels: the fields, their MAC and, with `key`, the key's signature. */
export interface SignedRequest extends BusRequest {
  mac: string;
  /** Ed25519 signature by `key` over {@linkcode requestSigningInput}, base64url. */
  sig?: string;
}

/** One message of an answer: output chunks (`out`) in order, then the `end`. */
export interface BusReply {
  host: string;
  /** 0, 1, 2… per answer: the client notices a lost or reordered message. */
  seq: number;
  kind: "out" | "end";
  /** JSON text: `{stream, data}` for out, `{result}` or `{error}` for end. */
  body: string;
  mac: string;
}

/** The MAC input being built (grown when a field needs more; one thread). */
let scratch = new Uint8Array(4096);

/** Write `text` as its UTF-8 length and bytes at `at` of the scratch buffer; the next offset. */
function putField(at: number, text: string): number {
  // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
  const need = at + 4 + text.length * 3;
  if (need > scratch.length) {
    const bigger = new Uint8Array(Math.max(need, scratch.length * 2));
    bigger.set(scratch.subarray(0, at));
    scratch = bigger;
  }
  const buf = scratch;
  let p = at + 4;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
      continue;
    }
    if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 63);
      continue;
    }
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (c >= 0xd800 && c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      i++;
      buf[p++] = 0xf0 | (c >> 18);
      buf[p++] = 0x80 | ((c >> 12) & 63);
      buf[p++] = 0x80 | ((c >> 6) & 63);
      buf[p++] = 0x80 | (c & 63);
      continue;
    }
    // A lone surrogate becomes U+FFFD, as TextEncoder writes it.
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
    buf[p++] = 0xe0 | (c >> 12);
    buf[p++] = 0x80 | ((c >> 6) & 63);
    buf[p++] = 0x80 | (c & 63);
  }
  const len = p - at - 4;
  buf[at] = len >>> 24;
  buf[at + 1] = len >>> 16;
  buf[at + 2] = len >>> 8;
  buf[at + 3] = len;
  return p;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A 32-byte MAC as unpadded base64url (the same text as `toBase64Url`, without btoa's detour). */
function macText(mac: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= mac.length; i += 3) {
    const n = (mac[i]! << 16) | (mac[i + 1]! << 8) | mac[i + 2]!;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = mac.length - i;
  if (rest > 0) {
    const n = (mac[i]! << 16) | (rest > 1 ? mac[i + 1]! << 8 : 0);
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
    if (rest > 1) out += B64URL[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * Whether `text` is `mac` in unpadded base64url, in time that depends only on
 * the lengths (each character is compared, differences are accumulated).
 */
function macMatches(mac: Uint8Array, text: string): boolean {
  let diff = text.length ^ Math.ceil(mac.length * 4 / 3);
  let c = 0;
  const at = (k: number) => (k < text.length ? text.charCodeAt(k) : 0);
  for (let i = 0; i < mac.length; i += 3) {
    const rest = mac.length - i;
    const n = (mac[i]! << 16) | (rest > 1 ? mac[i + 1]! << 8 : 0) | (rest > 2 ? mac[i + 2]! : 0);
    diff |= B64URL.charCodeAt(n >> 18) ^ at(c++);
    diff |= B64URL.charCodeAt((n >> 12) & 63) ^ at(c++);
    if (rest > 1) diff |= B64URL.charCodeAt((n >> 6) & 63) ^ at(c++);
    if (rest > 2) diff |= B64URL.charCodeAt(n & 63) ^ at(c++);
  }
  return diff === 0;
}

/** A fresh request nonce. */
export function busNonce(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(18)));
}

/** The fleet token as an HMAC key; one per process, shared by every agent identity. */
export class BusKey {
  #hmac: HmacSha256;

  /** Use `token` (its UTF-8 bytes, as the handshake does). */
  constructor(token: string) {
    if (token.length === 0) throw new TypeError("Cannot use token: it is empty");
    this.#hmac = new HmacSha256(encoder.encode(token));
  }

  /**
   * The MAC of the label and `fields`, each as its UTF-8 length (4 bytes,
   * big-endian) and bytes. Written in one pass into a reused buffer: one
   * TextEncoder call per field cost more than the hash itself per answer
   * (measured here), and a fan-out checks one MAC per answer.
   */
  #mac(fields: readonly (string | number)[]): string {
    return macText(this.#macBytes(fields));
  }

  #macBytes(fields: readonly (string | number)[]): Uint8Array {
    let at = putField(0, LABEL);
    for (const f of fields) at = putField(at, typeof f === "string" ? f : String(f));
    return this.#hmac.mac(scratch.subarray(0, at));
  }

  /** The MAC of `req` published on `subject` (over {@linkcode requestFields}). */
  requestMac(subject: string, req: BusRequest): string {
    return this.#mac(requestFields(subject, req));
  }

  /** The MAC of one reply message to the request with `nonce`, sent to `reply`. */
  replyMac(nonce: string, reply: string, m: Omit<BusReply, "mac">): string {
    return this.#mac(["reply", nonce, reply, m.host, m.seq, m.kind, m.body]);
  }

  /** A signed request body for `subject`; `sig` is the operator key's signature, if any. */
  signRequest(subject: string, req: BusRequest, sig?: string): Uint8Array {
    const signed: SignedRequest = {
      ...req,
      mac: this.requestMac(subject, req),
      ...(sig !== undefined ? { sig } : {}),
    };
    return encoder.encode(JSON.stringify(signed));
  }

  /** A signed reply message to the request with `nonce`. */
  signReply(nonce: string, reply: string, m: Omit<BusReply, "mac">): Uint8Array {
    return encoder.encode(JSON.stringify({ ...m, mac: this.replyMac(nonce, reply, m) }));
  }

  /**
   * The reply message in `data` (its bytes, or their parsed JSON) if its MAC is right for the request with
   * `nonce` sent to `reply`, else null (malformed or forged: never trusted).
   */
  openReply(nonce: string, reply: string, data: Uint8Array | unknown): BusReply | null {
    let m: unknown = data;
    if (data instanceof Uint8Array) {
      try {
        m = JSON.parse(decoder.decode(data));
      } catch (_err) {
        return null; // not JSON: forged or corrupt, dropped like a bad MAC
      }
    }
    if (!isRecord(m)) return null;
    const { host, seq, kind, body, mac } = m;
    if (
      typeof host !== "string" || !Number.isSafeInteger(seq) ||
      (kind !== "out" && kind !== "end") ||
      typeof body !== "string" || typeof mac !== "string"
    ) return null;
    // The checked object itself, not a copy: one fewer allocation per answer of a fan-out.
    // Compared as text made on the fly: no string is built per answer just to be compared.
    const expected = this.#macBytes(["reply", nonce, reply, host, seq as number, kind, body]);
    return macMatches(expected, mac) ? m as unknown as BusReply : null;
  }
}

/**
 * The fields of a request's canonical input, after the label: the direction
 * `request`, the subject, method, params, reply, time and nonce, and the
 * operator's key when there is one (a key-less request's input is what it
 * was before keys existed).
 */
function requestFields(subject: string, req: BusRequest): (string | number)[] {
  const fields: (string | number)[] = [
    "request",
    subject,
    req.method,
    req.params,
    req.reply,
    req.ts,
    req.nonce,
  ];
  if (req.key !== undefined) fields.push(req.key);
  return fields;
}

/**
 * The canonical input of `req` on `subject` as bytes of its own (a copy:
 * signing is asynchronous and the scratch buffer is shared): the label and
 * {@linkcode requestFields}, each as its UTF-8 length (4 bytes, big-endian)
 * and bytes. The fleet token's HMAC and the operator key's signature cover
 * exactly these bytes.
 */
export function requestSigningInput(subject: string, req: BusRequest): Uint8Array {
  let at = putField(0, LABEL);
  for (const f of requestFields(subject, req)) {
    at = putField(at, typeof f === "string" ? f : String(f));
  }
  return scratch.slice(0, at);
}

/** The operator key's signature of `req` (which names the key in `key`) on `subject`, base64url. */
export async function keySignRequest(
  privateKey: CryptoKey,
  subject: string,
  req: BusRequest,
): Promise<string> {
  const data = requestSigningInput(subject, req) as Uint8Array<ArrayBuffer>;
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("Ed25519", privateKey, data)));
}

/** Raw Ed25519 signatures are this long. */
const SIGNATURE_BYTES = 64;

/** Whether `req.sig` is `publicKey`'s signature of `req` on `subject`. */
export async function verifyRequestSignature(
  publicKey: CryptoKey,
  subject: string,
  req: SignedRequest,
): Promise<boolean> {
  if (req.sig === undefined) return false;
  let sig: Uint8Array;
  try {
    sig = fromBase64Url(req.sig);
  } catch (_err) {
    return false; // not base64url: not a signature
  }
  if (sig.length !== SIGNATURE_BYTES) return false;
  return await crypto.subtle.verify(
    "Ed25519",
    publicKey,
    sig as Uint8Array<ArrayBuffer>,
    requestSigningInput(subject, req) as Uint8Array<ArrayBuffer>,
  );
}

/** Why an agent refused a request. */
export type Refusal = "malformed" | "bad-mac" | "stale" | "replayed" | "busy";

/** The outcome of checking one request. */
export type Checked =
  | { ok: true; req: SignedRequest }
  /** `req` is set when the MAC was right: the reply subject is then the requester's own. */
  | { ok: false; why: Refusal; req?: SignedRequest };

/** Options of a {@linkcode RequestGuard}. */
export interface GuardOptions {
  /** Clock window either way (default {@linkcode CLOCK_WINDOW_MS}). */
  windowMs?: number;
  /** Nonces remembered at most (default {@linkcode DEFAULT_NONCE_CAPACITY}). */
  capacity?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

/**
 * An agent's check of incoming requests: well-formed, MAC right for the
 * subject it arrived on, inside the clock window, nonce never seen. A nonce
 * is remembered until its request could no longer pass the window check, so
 * the cache holds at most the requests of one window; when it is full of
 * live nonces new requests are refused (`busy`) rather than a replay let in.
 */
export class RequestGuard {
  #key: BusKey;
  #windowMs: number;
  #capacity: number;
  #now: () => number;
  /** Nonce → when it may be forgotten; insertion order is close to expiry order. */
  #seen = new Map<string, number>();

  /** A guard checking MACs with `key`. */
  constructor(key: BusKey, opts: GuardOptions = {}) {
    this.#key = key;
    this.#windowMs = opts.windowMs ?? CLOCK_WINDOW_MS;
    this.#capacity = opts.capacity ?? DEFAULT_NONCE_CAPACITY;
    this.#now = opts.now ?? Date.now;
  }

  /** How many nonces are remembered now. */
  get size(): number {
    return this.#seen.size;
  }

  /** Check the request in `data`, received on `subject`; a passing nonce is remembered. */
  check(subject: string, data: Uint8Array): Checked {
    const req = parseRequest(data);
    if (req === null) return { ok: false, why: "malformed" };
    if (!equalMac(this.#key.requestMac(subject, req), req.mac)) {
      return { ok: false, why: "bad-mac" };
    }
    const now = this.#now();
    if (Math.abs(now - req.ts) > this.#windowMs) return { ok: false, why: "stale", req };
    this.#forgetExpired(now);
    if (this.#seen.has(req.nonce)) return { ok: false, why: "replayed", req };
    if (this.#seen.size >= this.#capacity) return { ok: false, why: "busy", req };
    // Past this time the request fails the window check, so its nonce can go.
    this.#seen.set(req.nonce, req.ts + this.#windowMs);
    return { ok: true, req };
  }

  #forgetExpired(now: number): void {
    for (const [nonce, until] of this.#seen) {
      // Mostly in order; a few out-of-order entries linger a little longer, never too short.
      if (until >= now) break;
      this.#seen.delete(nonce);
    }
  }
}

/** The fields of a request body, or null when any is missing or of the wrong type. */
export function parseRequest(data: Uint8Array): SignedRequest | null {
  if (data.length > MAX_REQUEST_BYTES) return null;
  let m: unknown;
  try {
    m = JSON.parse(decoder.decode(data));
  } catch (_err) {
    return null; // not JSON: malformed
  }
  if (!isRecord(m)) return null;
  const { method, params, reply, ts, nonce, mac, key, sig } = m;
  if (
    typeof method !== "string" || typeof params !== "string" || typeof reply !== "string" ||
    !Number.isSafeInteger(ts) || typeof nonce !== "string" || nonce.length < 16 ||
    nonce.length > 64 || typeof mac !== "string"
  ) return null;
  // A key and its signature come together, or not at all; both are short.
  if ((key === undefined) !== (sig === undefined)) return null;
  if (key !== undefined && (typeof key !== "string" || key.length > 64)) return null;
  if (sig !== undefined && (typeof sig !== "string" || sig.length > 100)) return null;
  return {
    method,
    params,
    reply,
    ts: ts as number,
    nonce,
    mac,
    ...(key !== undefined ? { key: key as string, sig: sig as string } : {}),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Constant-time comparison of an expected MAC with a received one. */
function equalMac(expected: string, received: string): boolean {
  return constantTimeEqual(expected, received);
}
