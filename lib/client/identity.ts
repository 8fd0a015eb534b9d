/**
 * The operator's key pair on the workstation: `rmon keygen` makes an Ed25519
 * pair with WebCrypto, the private key in a private file (0600; refused when
 * others can read it), optionally sealed with a passphrase (PBKDF2-SHA256 →
 * AES-256-GCM), and the public key beside it as one line
 * `rmon-ed25519 <base64> <comment>` to put in servers' authorized keys.
 * Client layer.
 *
 * The private key file is one JSON object:
 * `{"type":"rmon-ed25519-private","comment":…,"public":<base64>,"pkcs8":<base64>}`,
 * or with `"sealed":{"kdf":"PBKDF2-SHA256","iterations":N,"salt":…,"iv":…,"data":…}`
 * in place of `pkcs8`.
 * @module
 */

import { formatPublicKey, fromBase64, toBase64 } from "../protocol/key_auth.ts";
import { type EnvLookup, readPrivateFile, writePrivateFile } from "../token_file.ts";

/** A loaded identity: the signing key and the public key the servers know it by. */
export interface Identity {
  privateKey: CryptoKey;
  /** Standard base64 of the raw public key, as in the public key line. */
  publicKey: string;
  comment: string;
  /** Where it was read from, for messages. */
  path: string;
}

/** Asks for the passphrase of a sealed key (once per console); null means none is available. */
export type PassphraseSource = (path: string) => Promise<string | null>;

const FILE_TYPE = "rmon-ed25519-private";
/** PBKDF2 rounds: about a quarter of a second here, once per console start. */
const PBKDF2_ITERATIONS = 600_000;

interface SealedKey {
  kdf: "PBKDF2-SHA256";
  iterations: number;
  salt: string;
  iv: string;
  data: string;
}

interface KeyFile {
  type: typeof FILE_TYPE;
  comment: string;
  public: string;
  pkcs8?: string;
  sealed?: SealedKey;
}

/**
 * Where the identity lives by default: `$XDG_CONFIG_HOME/rmon/id_ed25519`
 * (else `~/.config/rmon/id_ed25519`), `%APPDATA%\rmon\id_ed25519` on Windows.
 */
export function defaultIdentityPath(
  env: EnvLookup,
  os: typeof Deno.build.os = Deno.build.os,
): string {
  if (os === "windows") {
    const base = env("APPDATA");
    if (!base) throw new Error("Cannot locate the identity: APPDATA is not set");
    return `${base}\\rmon\\id_ed25519`;
  }
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg && xdg.startsWith("/")) return `${xdg}/rmon/id_ed25519`;
  const home = env("HOME");
  if (!home) throw new Error("Cannot locate the identity: HOME is not set");
  return `${home}/.config/rmon/id_ed25519`;
}

async function sealingKey(passphrase: string, salt: Uint8Array, iterations: number) {
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(passphrase),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/**
 * A new key pair: the private key file's text and the public key line.
 * With a non-empty `passphrase` the private key is sealed with it.
 */
export async function generateIdentity(
  comment: string,
  passphrase = "",
): Promise<{ privateText: string; publicLine: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const file: KeyFile = { type: FILE_TYPE, comment, public: toBase64(raw) };
  if (passphrase === "") {
    file.pkcs8 = toBase64(pkcs8);
  } else {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const key = await sealingKey(passphrase, salt, PBKDF2_ITERATIONS);
    const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, pkcs8);
    file.sealed = {
      kdf: "PBKDF2-SHA256",
      iterations: PBKDF2_ITERATIONS,
      salt: toBase64(salt),
      iv: toBase64(iv),
      data: toBase64(new Uint8Array(data)),
    };
  }
  return {
    privateText: JSON.stringify(file, null, 2) + "\n",
    publicLine: formatPublicKey(raw, comment) + "\n",
  };
}

/** Write a new identity to `path` (0600) and `path.pub`; never overwrites either. */
export async function writeIdentity(
  path: string,
  files: { privateText: string; publicLine: string },
): Promise<void> {
  await writePrivateFile(path, files.privateText);
  await Deno.writeTextFile(`${path}.pub`, files.publicLine, { createNew: true, mode: 0o644 });
}

function parseKeyFile(text: string, path: string): KeyFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot use identity "${path}": not an rmon private key file`, { cause: err });
  }
  const file = value as Partial<KeyFile> | null;
  if (
    typeof file !== "object" || file === null || file.type !== FILE_TYPE ||
    typeof file.public !== "string" || typeof file.comment !== "string" ||
    (typeof file.pkcs8 !== "string" && typeof file.sealed !== "object")
  ) {
    throw new Error(`Cannot use identity "${path}": not an rmon private key file`);
  }
  return file as KeyFile;
}

/**
 * The public half of the identity at `path` (its base64 key and comment),
 * read without unsealing it: what `rmon bootstrap` installs on servers. The
 * same checks as {@linkcode loadIdentity} on the file (private, an rmon key).
 */
export function readIdentityPublic(path: string): { publicKey: string; comment: string } {
  const file = parseKeyFile(readPrivateFile(path, "identity"), path);
  return { publicKey: file.public, comment: file.comment };
}

/**
 * Load the identity at `path`: refused when others can read it; a sealed key
 * asks `passphrase` once and fails with a clear line when it is wrong.
 */
export async function loadIdentity(
  path: string,
  passphrase: PassphraseSource,
): Promise<Identity> {
  const file = parseKeyFile(readPrivateFile(path, "identity"), path);
  let pkcs8: Uint8Array;
  if (file.pkcs8 !== undefined) {
    pkcs8 = fromBase64(file.pkcs8);
  } else {
    const sealed = file.sealed!;
    const secret = await passphrase(path);
    if (secret === null || secret === "") {
      throw new Error(
        `Cannot use identity "${path}": it is sealed with a passphrase and none was given`,
      );
    }
    const key = await sealingKey(secret, fromBase64(sealed.salt), sealed.iterations);
    try {
      const iv = fromBase64(sealed.iv) as Uint8Array<ArrayBuffer>;
      const data = fromBase64(sealed.data) as Uint8Array<ArrayBuffer>;
      pkcs8 = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, data));
    } catch (err) {
      throw new Error(`Cannot use identity "${path}": wrong passphrase`, { cause: err });
    }
  }
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8 as Uint8Array<ArrayBuffer>,
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  return { privateKey, publicKey: file.public, comment: file.comment, path };
}
