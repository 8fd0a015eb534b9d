/**
 * Making the server's self-signed TLS certificate: ECDSA P-256 from
 * WebCrypto, wrapped in an X.509 certificate by `@peculiar/x509` (so no
 * `openssl` binary is needed, on Windows either). Loaded only on the start
 * that has to make one: the library costs memory every other start would pay
 * for nothing. Server layer.
 * @module
 */

// Full pinned specifiers, not deno.json imports: the server runs with --no-config
// (see deno.json binaries.server). deno.lock records them when the tests load this.
import "npm:reflect-metadata@0.2.2"; // @peculiar/x509's dependency injection needs it first
import * as x509 from "npm:@peculiar/x509@2.2.0";

import type { CertificateNames } from "./tls_cert.ts";

/** How long a generated certificate is valid: clients pin it, so expiry only forces a rotation. */
const VALIDITY_DAYS = 3650;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A new self-signed certificate (basicConstraints CA:FALSE, SANs from `names`)
 * and its private key, both PEM (the key as PKCS#8).
 */
export async function generateCertificate(
  names: CertificateNames,
): Promise<{ certPem: string; keyPem: string }> {
  x509.cryptoProvider.set(crypto);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const serial = [...crypto.getRandomValues(new Uint8Array(16))]
    .map((b) => b.toString(16).padStart(2, "0")).join("").replace(/^[89a-f]/, "1");
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: "CN=rmon-server",
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: "dns" as const, value })),
        ...names.ips.map((value) => ({ type: "ip" as const, value })),
      ]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
  };
}
