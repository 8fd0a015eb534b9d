/**
 * What `rmon bootstrap` gives the servers to check clients by: the operator's
 * public key as a one-line authorized keys file (`role=admin` and the `.pub`
 * line of `--identity FILE`, or of the default key when it exists), the fleet
 * token, or both; `--authorized-keys FILE` installs a whole file of keys
 * instead (other operators, other roles). With keys and no token named (by
 * `--token-file` or the inventory) the servers run with `--no-token`, so no
 * fleet-wide secret lands on them; a key plus a named token installs both (the
 * migration step of docs/security.md). Client layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { keyId, parsePublicKey } from "../protocol/key_auth.ts";
import { parseAuthorizedKeys } from "../server/authorized_keys.ts";
import { UsageError } from "../usage.ts";
import { defaultIdentityPath, readIdentityPublic } from "./identity.ts";
import { expandHome } from "./inventory.ts";

/** The operator's key as bootstrap installs it. */
export interface OperatorKey {
  /** The private key file it was found by (`FILE`; the public line is `FILE.pub`). */
  path: string;
  /** The authorized keys file's whole text: `role=admin rmon-ed25519 … NAME\n`. */
  authorizedKeys: string;
  /** `SHA256:…`, as the servers' log and audit trail name the key. */
  id: string;
  /** Standard base64 of the public key. */
  base64: string;
  /** The operator's name (the key's comment). */
  name: string;
}

/**
 * The operator key to install: `named` (`--identity FILE`), else the default
 * key file when it exists, else null. `FILE.pub` must hold the public key of
 * `FILE` with a name; `FILE` is checked as the client checks it (private, an
 * rmon key; a sealed key needs no passphrase here). Throws `UsageError`.
 */
export async function findOperatorKey(
  named: string | undefined,
  env: (name: string) => string | undefined,
): Promise<OperatorKey | null> {
  let path: string;
  if (named !== undefined) {
    path = expandHome(named);
  } else {
    // No home to look in just means no default key, as for the client.
    if (!env("HOME") && !env("APPDATA") && !env("XDG_CONFIG_HOME")) return null;
    path = defaultIdentityPath(env);
    try {
      await Deno.stat(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw new UsageError(`Cannot read identity "${path}": ${describeError(err)}`);
    }
  }
  try {
    const own = readIdentityPublic(path);
    let text: string;
    try {
      text = await Deno.readTextFile(`${path}.pub`);
    } catch (err) {
      throw new Error(`Cannot read its public key "${path}.pub": ${describeError(err)}`, {
        cause: err,
      });
    }
    let line;
    try {
      line = parsePublicKey(text.trim());
    } catch (err) {
      throw new Error(`"${path}.pub" is not an rmon public key: ${describeError(err)}`, {
        cause: err,
      });
    }
    if (line.base64 !== own.publicKey) {
      throw new Error(`"${path}.pub" is not the public key of "${path}"`);
    }
    if (line.comment === "") {
      throw new Error(
        `"${path}.pub" has no name: servers need one (end its line with the operator's name)`,
      );
    }
    return {
      path,
      authorizedKeys: `role=admin ${text.trim().split(/\s+/).join(" ")}\n`,
      id: await keyId(line.raw),
      base64: line.base64,
      name: line.comment,
    };
  } catch (err) {
    throw new UsageError(describeError(err), undefined, { cause: err });
  }
}

/** The authorized keys file each host gets, and the operator's key id when it is in it. */
export interface KeysToInstall {
  text: string;
  /** The operator key's `SHA256:…` when the file authorizes it, else null. */
  operatorKeyId: string | null;
}

/**
 * The authorized keys to install: the file `named` (`--authorized-keys`),
 * checked as the server will read it (a malformed line is refused here, not
 * on every host), else the operator's own key as `role=admin`, else null.
 * Throws `UsageError`.
 */
export async function keysToInstall(
  named: string | undefined,
  key: OperatorKey | null,
): Promise<KeysToInstall | null> {
  if (named === undefined) {
    return key === null ? null : { text: key.authorizedKeys, operatorKeyId: key.id };
  }
  const path = expandHome(named);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new UsageError(`Cannot read authorized keys "${path}": ${describeError(err)}`);
  }
  let lines;
  try {
    lines = parseAuthorizedKeys(text, path);
  } catch (err) {
    throw new UsageError(describeError(err), undefined, { cause: err });
  }
  if (lines.length === 0) {
    throw new UsageError(`Cannot install authorized keys "${path}": it holds no key`);
  }
  const mine = key !== null && lines.some((l) => l.base64 === key.base64);
  return { text: text.endsWith("\n") ? text : `${text}\n`, operatorKeyId: mine ? key!.id : null };
}

/** Which credentials a host gets; at least one is true. */
export interface Credentials {
  /** The fleet token, as `token` beside the server. */
  token: boolean;
  /** The operator key, as `authorized_keys` beside the server. */
  keys: boolean;
}

/** A record's name for what was installed: `key`, `token` or `key+token`. */
export function credentialName(c: Credentials): "key" | "token" | "key+token" {
  return c.keys && c.token ? "key+token" : c.keys ? "key" : "token";
}
