/**
 * Handshake cryptography: nonces, the canonical MAC transcript, HMAC-SHA256
 * proofs and their constant-time comparison. Pure apart from WebCrypto.
 *
 * Both sides prove they hold the shared token without sending it: the client
 * MACs (server nonce, client nonce), the server MACs (client nonce, server
 * nonce), each with its direction label and the channel binding (`plain`, or
 * the server certificate's fingerprint over TLS), over a length-prefixed
 * transcript so that no field can be shifted into another.
 * @module
 */

import { HmacSha256 } from "./hmac_sha256.ts";
import { NONCE_BYTES } from "./constants.ts";

/**
 * Which proof a transcript is for; part of the input so proofs cannot be
 * reflected: the client's MAC, the server's MAC, or the client's key signature.
 */
export type Direction = "client" | "server" | "client-key";

/** Label at the start of every transcript, versioning the MAC construction itself. */
const TRANSCRIPT_LABEL = "rmon-auth-v2";
const MIN_NONCE_BYTES = 16;
const MAX_NONCE_BYTES = 64;

const encoder = new TextEncoder();

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decode base64url (padding optional); throws `SyntaxError` on bad text. */
export function fromBase64Url(text: string): Uint8Array {
  const body = text.replace(/={0,2}$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(body)) {
    throw new SyntaxError("Cannot decode base64url: bad character");
  }
  // One leftover character cannot encode a byte: no valid encoder produces it.
  if (body.length % 4 === 1) throw new SyntaxError("Cannot decode base64url: impossible length");
  const b64 = body.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** A fresh random nonce, base64url. */
export function newNonce(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

/** Whether `text` is an acceptable nonce: base64url of 16 to 64 bytes. */
export function isValidNonce(text: unknown): text is string {
  // Nonces are canonical unpadded base64url; anything else is refused outright.
  if (typeof text !== "string" || text.length > 100 || !/^[A-Za-z0-9_-]+$/.test(text)) return false;
  try {
    const n = fromBase64Url(text).length;
    return n >= MIN_NONCE_BYTES && n <= MAX_NONCE_BYTES;
  } catch (_err) {
    // Not base64url: simply not a valid nonce.
    return false;
  }
}

/** What one handshake's proofs are about: both nonces, the version and the channel. */
export interface HandshakeFacts {
  protocolVersion: number;
  /** `plain`, or `tls:sha256:<hex>` of the server certificate (see `channelBinding`). */
  binding: string;
  clientNonce: string;
  serverNonce: string;
}

/**
 * The canonical MAC input: each field as a 4-byte big-endian length and its
 * UTF-8 bytes, in the order label, protocol version, direction, channel
 * binding, own-side nonce last. Client: (server nonce, client nonce). Server:
 * (client nonce, server nonce).
 */
export function transcript(direction: Direction, facts: HandshakeFacts): Uint8Array {
  const { clientNonce, serverNonce } = facts;
  const nonces = direction === "server" ? [clientNonce, serverNonce] : [serverNonce, clientNonce];
  const fields = [
    TRANSCRIPT_LABEL,
    String(facts.protocolVersion),
    direction,
    facts.binding,
    ...nonces,
  ].map((f) => encoder.encode(f));
  const out = new Uint8Array(fields.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  let off = 0;
  for (const f of fields) {
    view.setUint32(off, f.length);
    out.set(f, off + 4);
    off += 4 + f.length;
  }
  return out;
}

/**
 * An HMAC-SHA256 key derived from the shared token, encoded once and reused.
 * The MAC is the synchronous HMAC of hmac_sha256.ts, the key's pads hashed
 * once: a cold fan-out to 5,000 hosts makes 10,000 proofs on one client
 * thread, and WebCrypto's async `subtle.sign` costs ~55 µs each (an op and a
 * promise). `node:crypto` was as quick, but loading it costs the server ~8 MiB
 * of memory at start (Deno's Node crypto layer), so it stays out of the graph.
 */
export class TokenKey {
  #hmac: HmacSha256;

  /** Take `token` (its UTF-8 bytes are the HMAC key). */
  constructor(token: string) {
    if (token.length === 0) throw new TypeError("Cannot use token: it is empty");
    this.#hmac = new HmacSha256(encoder.encode(token));
  }

  /** The proof for `direction`, base64url. */
  prove(direction: Direction, facts: HandshakeFacts): Promise<string> {
    return Promise.resolve(toBase64Url(this.#hmac.mac(transcript(direction, facts))));
  }

  /** Whether `received` is the right proof for `direction`; compares in constant time. */
  async verify(received: unknown, direction: Direction, facts: HandshakeFacts): Promise<boolean> {
    const expected = await this.prove(direction, facts);
    return typeof received === "string" && constantTimeEqual(expected, received);
  }
}

/**
 * Compare two strings in time that depends only on their lengths, never on
 * where they first differ (the expected MAC always has the same length).
 * Works on UTF-16 code units, so distinct strings never compare equal.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(b.length, 1);
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ (b.charCodeAt(i % n) || 0);
  return diff === 0;
}
