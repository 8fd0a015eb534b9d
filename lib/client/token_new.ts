/**
 * `rmon token new FILE`: write a fresh 256-bit token to FILE (mode 0600, never
 * overwriting an existing file), the one secret a fleet's servers and its
 * operators share. Client layer; returns the lines to print, throws `UsageError`.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { UsageError } from "../usage.ts";
import { createTokenFile } from "../token_file.ts";

/** The `rmon token --help` text. */
export const TOKEN_USAGE = `rmon token: make the token a fleet shares

Usage: rmon token new FILE

Writes a fresh 256-bit token to FILE (mode 0600); an existing file is never
overwritten. Copy FILE to every server (kept 0600) and start each with
--token-file FILE; give rmon the same file (--token-file FILE, or token_file
in the inventory's [defaults]).`;

/** Run `rmon token` with `args` (after the word `token`); resolves with what to print. */
export async function runToken(args: string[]): Promise<string> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) return TOKEN_USAGE;
  const [verb, path, ...rest] = args;
  if (verb !== "new" || path === undefined || path.startsWith("-") || rest.length > 0) {
    throw new UsageError(
      'Invalid arguments: expected "rmon token new FILE" (see rmon token --help)',
    );
  }
  try {
    await createTokenFile(path);
  } catch (err) {
    throw new UsageError(describeError(err), undefined, { cause: err });
  }
  return [
    `Wrote a new 256-bit token to ${path} (mode 0600).`,
    "Use the same token for the whole fleet:",
    `  on each server:  rmon-server --token-file ${path}   (a private copy, mode 0600)`,
    `  here:            rmon --token-file ${path} HOST...  (or token_file in the inventory)`,
  ].join("\n");
}
