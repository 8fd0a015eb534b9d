/**
 * `rmon keygen [FILE] [--comment TEXT] [--passphrase]`: make the operator's
 * Ed25519 key pair (see identity.ts) and say what to do with the public key.
 * Client layer; returns the lines to print, throws `UsageError`.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { parseArgs } from "node:util";
import { UsageError } from "../usage.ts";
import { defaultIdentityPath, generateIdentity, writeIdentity } from "./identity.ts";
import { askPassphrase } from "./passphrase.ts";

/** The `rmon keygen --help` text. */
export const KEYGEN_USAGE = `rmon keygen: make an operator key pair

Usage: rmon keygen [FILE] [--comment TEXT] [--passphrase]

FILE defaults to ~/.config/rmon/id_ed25519; the public key goes to FILE.pub.
Existing files are never overwritten. --comment names you in the servers'
logs and audit trail (default USER@HOST). --passphrase seals the private key
(asked twice on a terminal, else read from RMON_KEY_PASSPHRASE).`;

/** Run keygen with `args` (after the word `keygen`); resolves with what to print. */
export async function runKeygen(args: string[]): Promise<string> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        comment: { type: "string", short: "C" },
        passphrase: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(`Invalid arguments: ${describeError(err)}`, undefined, { cause: err });
  }
  if (parsed.values.help) return KEYGEN_USAGE;
  if (parsed.positionals.length > 1) {
    throw new UsageError("Invalid arguments: give one FILE at most");
  }
  const path = parsed.positionals[0] ?? defaultIdentityPath((n) => Deno.env.get(n));
  const comment = parsed.values.comment ?? defaultComment();
  if (/[\r\n]/.test(comment)) throw new UsageError("Invalid --comment: it must be one line");
  let passphrase = "";
  if (parsed.values.passphrase) {
    const first = await askPassphrase("Passphrase for the new key: ");
    if (!first) throw new UsageError("No passphrase given (a terminal or RMON_KEY_PASSPHRASE)");
    if (Deno.stdin.isTerminal() && Deno.env.get("RMON_KEY_PASSPHRASE") === undefined) {
      const again = await askPassphrase("The same passphrase again: ");
      if (again !== first) throw new UsageError("The passphrases differ; nothing was written");
    }
    passphrase = first;
  }
  const files = await generateIdentity(comment, passphrase);
  try {
    await writeIdentity(path, files);
  } catch (err) {
    const why = err instanceof Deno.errors.AlreadyExists
      ? "it exists already (remove it first to make a new key)"
      : describeError(err);
    throw new UsageError(`Cannot write "${path}": ${why}`, undefined, { cause: err });
  }
  return [
    `Saved the private key to ${path} (mode 0600${
      passphrase ? ", sealed with your passphrase" : ""
    })`,
    `and the public key to ${path}.pub:`,
    `  ${files.publicLine.trim()}`,
    "Give each server that line, with its role first, in its --authorized-keys file:",
    `  role=admin ${files.publicLine.trim()}`,
  ].join("\n");
}

function defaultComment(): string {
  const user = Deno.env.get("USER") ?? Deno.env.get("USERNAME") ?? "operator";
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch (err) {
    // Without --allow-sys the comment just names the user.
    if (!(err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied)) {
      throw err;
    }
  }
  return `${user}@${host}`;
}
