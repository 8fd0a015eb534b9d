/**
 * Certificate fingerprints: SHA-256 of a certificate's DER bytes, written
 * `sha256:<64 lowercase hex digits>`, and the PEM ↔ DER conversions they
 * need. Pure apart from WebCrypto; shared by the server (its own certificate),
 * the client (pins, known hosts) and the handshake (channel binding).
 * @module
 */

/** The prefix of a written fingerprint. */
export const FINGERPRINT_PREFIX = "sha256:";

/**
 * Parse a fingerprint as people paste it: `sha256:` + hex, or hex with colons
 * (as `openssl x509 -fingerprint -sha256` prints), any case. Returns the bare
 * lowercase hex; throws `SyntaxError` for anything else.
 */
export function parseFingerprint(text: string): string {
  const body = text.trim().replace(/^sha256:/i, "").replaceAll(":", "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(body)) {
    throw new SyntaxError(
      `Cannot parse fingerprint "${text}": expected sha256: and 64 hex digits`,
    );
  }
  return body;
}

/** Write bare hex as `sha256:<hex>`. */
export function formatFingerprint(hex: string): string {
  return FINGERPRINT_PREFIX + hex;
}

/** The DER bytes of the first certificate in a PEM text; throws `SyntaxError` if none. */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new SyntaxError("Cannot read certificate: no PEM CERTIFICATE block");
  const bin = atob(m[1]!.replace(/\s+/g, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** SHA-256 of `der` as bare lowercase hex. */
export async function fingerprintOfDer(der: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", der as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fingerprint (bare hex) of the first certificate in `pem`. */
export function fingerprintOfPem(pem: string): Promise<string> {
  return fingerprintOfDer(pemToDer(pem));
}
