/**
 * Where `rmon-server` gets its TLS certificate: `--tls-cert`/`--tls-key`
 * files, else the pair kept in the per-user state directory beside the
 * token, generated on the first start that needs TLS (key mode 0600). The
 * fingerprint is what clients pin and what the handshake binds. Server layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { fingerprintOfPem, pemToDer } from "../protocol/fingerprint.ts";
import type { TlsIdentity } from "../protocol/tls_transport.ts";
import { type EnvLookup, readPrivateFile, stateFilePath, writePrivateFile } from "../token_file.ts";

/** The names and addresses a certificate is valid for. */
export interface CertificateNames {
  dns: string[];
  ips: string[];
}

/** The module that makes certificates, loaded only when one must be made. */
const CERT_GEN_MODULE = "./cert_gen.ts";

/** What that module offers (see cert_gen.ts). */
interface CertGenModule {
  generateCertificate(names: CertificateNames): Promise<{ certPem: string; keyPem: string }>;
}

/** The certificate in use and where it came from (printed at start; the key never is). */
export interface LoadedIdentity {
  identity: TlsIdentity;
  source: "files" | "state" | "generated";
  certPath: string;
  keyPath: string;
}

/** The state files of a generated certificate: `tls_cert.pem` and `tls_key.pem`. */
export function certStatePaths(env: EnvLookup): { certPath: string; keyPath: string } {
  return {
    certPath: stateFilePath("tls_cert.pem", env),
    keyPath: stateFilePath("tls_key.pem", env),
  };
}

/** Read a certificate/key pair; the key file must be private. */
async function readPair(certPath: string, keyPath: string): Promise<TlsIdentity> {
  let certPem: string;
  try {
    certPem = Deno.readTextFileSync(certPath);
  } catch (err) {
    throw new Error(`Cannot read TLS certificate "${certPath}": ${describeError(err)}`, {
      cause: err,
    });
  }
  try {
    pemToDer(certPem);
  } catch (err) {
    throw new Error(`Cannot use TLS certificate "${certPath}": ${describeError(err)}`, {
      cause: err,
    });
  }
  const keyPem = readPrivateFile(keyPath, "TLS key");
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) {
    throw new Error(`Cannot use TLS key "${keyPath}": no PEM PRIVATE KEY block`);
  }
  return { certPem, keyPem, fingerprint: await fingerprintOfPem(certPem) };
}

/**
 * The names a generated certificate carries: this host's name, `localhost`,
 * loopback, the listen address when it is a specific one, and the machine's
 * interface addresses (link-local ones left out).
 */
export function certificateNames(listenHost: string): CertificateNames {
  const dns = new Set(["localhost"]);
  const ips = new Set(["127.0.0.1", "::1"]);
  try {
    dns.add(Deno.hostname());
    for (const nic of Deno.networkInterfaces()) {
      if (!nic.address.toLowerCase().startsWith("fe80:")) ips.add(nic.address);
    }
  } catch (err) {
    // Without --allow-sys the certificate simply names fewer addresses: clients pin it anyway.
    if (!(err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable)) {
      throw err;
    }
  }
  const isIp = /^[\d.]+$/.test(listenHost) || listenHost.includes(":");
  if (isIp && listenHost !== "0.0.0.0" && listenHost !== "::") ips.add(listenHost);
  else if (!isIp) dns.add(listenHost);
  return { dns: [...dns], ips: [...ips] };
}

/**
 * Make a self-signed certificate for `listenHost` and save it (key 0600,
 * never overwriting) at `certPath` and `keyPath`.
 */
export async function generateIdentityFiles(
  certPath: string,
  keyPath: string,
  listenHost: string,
): Promise<{ certPem: string; keyPem: string }> {
  // A computed specifier keeps the certificate library (npm) out of the server's module
  // graph: with it there, Deno sets up npm support at every start, ~7 MiB of RSS measured,
  // though only a first TLS start needs it. `deno compile` takes it in through --include.
  const { generateCertificate } = await import(CERT_GEN_MODULE) as CertGenModule;
  const made = await generateCertificate(certificateNames(listenHost));
  // Key first: a certificate without its key would block every later start.
  await writePrivateFile(keyPath, made.keyPem);
  await writePrivateFile(certPath, made.certPem);
  return made;
}

/**
 * Load the server's TLS identity: the given files, else the state pair, else
 * a new self-signed one saved to the state directory.
 */
export async function loadServerIdentity(opts: {
  certFile?: string;
  keyFile?: string;
  listenHost: string;
  env: EnvLookup;
  /** Where a generated pair is kept (default: the server's, see {@linkcode certStatePaths}). */
  statePaths?: { certPath: string; keyPath: string };
}): Promise<LoadedIdentity> {
  if (opts.certFile !== undefined && opts.keyFile !== undefined) {
    return {
      identity: await readPair(opts.certFile, opts.keyFile),
      source: "files",
      certPath: opts.certFile,
      keyPath: opts.keyFile,
    };
  }
  const { certPath, keyPath } = opts.statePaths ?? certStatePaths(opts.env);
  try {
    return { identity: await readPair(certPath, keyPath), source: "state", certPath, keyPath };
  } catch (err) {
    if (!(err instanceof Error && err.cause instanceof Deno.errors.NotFound)) throw err;
  }
  const { certPem, keyPem } = await generateIdentityFiles(certPath, keyPath, opts.listenHost);
  return {
    identity: { certPem, keyPem, fingerprint: await fingerprintOfPem(certPem) },
    source: "generated",
    certPath,
    keyPath,
  };
}
