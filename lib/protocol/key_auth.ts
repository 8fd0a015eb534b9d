/**
 * Operator keys on the wire: the public key line format
 * (`rmon-ed25519 <base64> <comment>`), and the Ed25519 signature a client
 * makes over the handshake transcript to prove it holds the private key.
 * Pure apart from WebCrypto; the client signs, the server verifies.
 *
 * The signed bytes are the transcript of auth.ts with the direction
 * `client-key`: both nonces, the protocol version and the channel binding,
 * so a signature is good for one connection over one TLS certificate only.
 * @module
 */

import { fromBase64Url, type HandshakeFacts, toBase64Url, transcript } from "./auth.ts";

/** The key type word that opens every public key line. */
export const PUBLIC_KEY_TYPE = "rmon-ed25519";

/** Raw Ed25519 public keys and signatures are this long. */
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** A public key as written on a line: its raw bytes (base64, standard alphabet) and comment. */
export interface PublicKeyLine {
  /** Standard base64 of the 32 raw bytes, as written. */
  base64: string;
  raw: Uint8Array;
  /** The rest of the line: the operator's name. */
  comment: string;
}

/** Standard base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Decode standard base64; throws `SyntaxError` on anything else. */
export function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new SyntaxError("Cannot decode base64: bad characters or length");
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * Parse `rmon-ed25519 BASE64 [comment…]` (no options before it). Throws
 * `SyntaxError` naming what is wrong.
 */
export function parsePublicKey(text: string): PublicKeyLine {
  const [type, b64, ...rest] = text.trim().split(/\s+/);
  if (type !== PUBLIC_KEY_TYPE) {
    throw new SyntaxError(`expected a key starting with "${PUBLIC_KEY_TYPE}"`);
  }
  if (b64 === undefined) throw new SyntaxError("the key has no base64 body");
  let raw: Uint8Array;
  try {
    raw = fromBase64(b64);
  } catch (err) {
    throw new SyntaxError("the key's body is not base64", { cause: err });
  }
  if (raw.length !== PUBLIC_KEY_BYTES) {
    throw new SyntaxError(`the key is ${raw.length} bytes, not ${PUBLIC_KEY_BYTES}`);
  }
  return { base64: b64, raw, comment: rest.join(" ") };
}

/** The public key line for `raw` with `comment`. */
export function formatPublicKey(raw: Uint8Array, comment: string): string {
  return `${PUBLIC_KEY_TYPE} ${toBase64(raw)}${comment ? ` ${comment}` : ""}`;
}

/** Import a raw public key for verifying. */
export function importPublicKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    { name: "Ed25519" },
    false,
    ["verify"],
  );
}

/** The client's signature over this handshake, base64url (sent as `auth` param `sig`). */
export async function signHandshake(privateKey: CryptoKey, facts: HandshakeFacts): Promise<string> {
  const data = transcript("client-key", facts);
  const sig = await crypto.subtle.sign("Ed25519", privateKey, data as Uint8Array<ArrayBuffer>);
  return toBase64Url(new Uint8Array(sig));
}

/** Whether `sig` (base64url, as received) is `publicKey`'s signature over this handshake. */
export async function verifyHandshake(
  publicKey: CryptoKey,
  sig: unknown,
  facts: HandshakeFacts,
): Promise<boolean> {
  if (typeof sig !== "string" || sig.length > 100) return false;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(sig);
  } catch (_err) {
    return false; // not base64url: not a signature
  }
  if (bytes.length !== SIGNATURE_BYTES) return false;
  const data = transcript("client-key", facts);
  return await crypto.subtle.verify(
    "Ed25519",
    publicKey,
    bytes as Uint8Array<ArrayBuffer>,
    data as Uint8Array<ArrayBuffer>,
  );
}

/** A short, stable name of a public key for logs and audit: `SHA256:` and 16 base64url characters. */
export async function keyId(raw: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", raw as Uint8Array<ArrayBuffer>);
  return `SHA256:${toBase64Url(new Uint8Array(digest)).slice(0, 16)}`;
}
