/**
 * NATS user nkeys, as far as a client signing in needs them: decode a user
 * seed (`SU…`), derive its public key (`U…`), and sign the server's nonce
 * with it (Ed25519, base64url). An nkey is base32 (RFC 4648, no padding) of
 * prefix byte(s), the 32 raw key bytes and a CRC-16/XMODEM of them, low byte
 * first; a seed's two prefix bytes say "seed" and the key's type. Written
 * from the published encoding; the tests check it against the NATS
 * project's own nkeys package. Protocol layer; pure apart from WebCrypto.
 * @module
 */

import { toBase64Url } from "./auth.ts";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Prefix byte of a seed (`S`), and of a user's public key (`U`). */
const PREFIX_SEED = 18 << 3;
const PREFIX_USER = 20 << 3;

/** An Ed25519 private key in PKCS #8 is this fixed header, then the 32-byte seed. */
const PKCS8_ED25519_HEADER = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
);

/** CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys checksum their bytes. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** Base32 without padding. */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1; // keep only the bits not yet written
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Decode unpadded base32; throws `SyntaxError` on a character outside the alphabet. */
export function base32Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of text) {
    const v = BASE32.indexOf(c);
    if (v < 0) throw new SyntaxError(`Cannot decode base32: bad character "${c}"`);
    value = ((value << 5) | v) & 0xfff; // at most 12 bits are ever pending
    bits += 5;
    if (bits >= 8) {
      out[at++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

/** `bytes` with their CRC-16 appended (low byte first), base32: an encoded nkey. */
function withChecksum(bytes: Uint8Array): string {
  const crc = crc16(bytes);
  const all = new Uint8Array(bytes.length + 2);
  all.set(bytes);
  all[bytes.length] = crc & 0xff;
  all[bytes.length + 1] = crc >>> 8;
  return base32Encode(all);
}

/**
 * The 32 raw bytes of a user seed (`SU…`); throws `SyntaxError` when the text
 * is not one (bad characters, length, checksum, or another key type).
 */
export function decodeUserSeed(seed: string): Uint8Array {
  const text = seed.trim();
  // 58 characters exactly: base32 drops the spare bits of a 59th, which the checksum never sees.
  if (text.length !== 58) throw new SyntaxError("Cannot read the nkey seed: wrong length");
  const raw = base32Decode(text);
  const body = raw.subarray(0, 34);
  const crc = raw[34]! | (raw[35]! << 8);
  if (crc16(body) !== crc) throw new SyntaxError("Cannot read the nkey seed: bad checksum");
  const type = ((raw[0]! & 7) << 5) | (raw[1]! >> 3);
  if ((raw[0]! & 0xf8) !== PREFIX_SEED || type !== PREFIX_USER) {
    throw new SyntaxError("Cannot read the nkey seed: not a user seed (SU…)");
  }
  return raw.slice(2, 34);
}

/** The public nkey (`U…`) of a user's raw Ed25519 public key. */
export function userPublicKey(raw: Uint8Array): string {
  const bytes = new Uint8Array(33);
  bytes[0] = PREFIX_USER;
  bytes.set(raw, 1);
  return withChecksum(bytes);
}

/** A user nkey that signs server nonces. */
export interface NkeySigner {
  /** The public nkey, `U…`. */
  publicKey: string;
  /** The Ed25519 signature of `nonce`, base64url without padding (as NATS servers take it). */
  sign(nonce: string): Promise<string>;
}

/** The signer of a user seed (`SU…`); throws `SyntaxError` when it is not one. */
export async function nkeySigner(seed: string): Promise<NkeySigner> {
  const raw = decodeUserSeed(seed);
  const pkcs8 = new Uint8Array(PKCS8_ED25519_HEADER.length + raw.length);
  pkcs8.set(PKCS8_ED25519_HEADER);
  pkcs8.set(raw, PKCS8_ED25519_HEADER.length);
  raw.fill(0);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  pkcs8.fill(0);
  // The private key's JWK carries its public half (`x`): no curve arithmetic here.
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const x = Uint8Array.from(
    atob(jwk.x!.replaceAll("-", "+").replaceAll("_", "/")),
    (c) => c.charCodeAt(0),
  );
  const encoder = new TextEncoder();
  return {
    publicKey: userPublicKey(x),
    async sign(nonce: string): Promise<string> {
      const sig = await crypto.subtle.sign("Ed25519", key, encoder.encode(nonce));
      return toBase64Url(new Uint8Array(sig));
    },
  };
}
