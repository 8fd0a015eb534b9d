/**
 * `rmon-server` command-line options: parsing and the help text.
 * Pure: argv in, options out (or a `UsageError`).
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  FRAME_LIMITS,
  LIMITS,
  TIMEOUTS,
} from "../protocol/constants.ts";
import type { LogLevel } from "./log.ts";

/** Everything `rmon-server` is told on its command line. */
export interface ServerOptions {
  host: string;
  port: number;
  tokenFile?: string;
  readOnly: boolean;
  logLevel: LogLevel;
  maxFrameBytes: number;
  maxOutputBytes: number;
  authTimeoutMs: number;
  maxConnections: number;
  help: boolean;
  version: boolean;
}

/** The `--help` text. */
export const SERVER_USAGE = `rmon-server: answer authenticated rmon requests about this machine

Usage: rmon-server [options]

Options:
  --host ADDR          address to listen on (default ${DEFAULT_HOST}; loopback only
                       unless you ask for another, e.g. 0.0.0.0 or ::)
  --port N             TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --token-file FILE    read the shared token from FILE (must not be readable by others)
  --read-only          refuse exec (sh:, dos:, ps:) and disconnect/reset/kill
  --max-frame BYTES    largest frame after auth (default ${FRAME_LIMITS.postAuth})
  --max-output BYTES   output cap per exec call (default ${LIMITS.execOutputBytes})
  --auth-timeout MS    absolute handshake deadline (default ${TIMEOUTS.authDeadlineMs})
  --max-connections N  concurrent connections (default ${LIMITS.connections})
  --quiet              log warnings only
  --verbose            also log exec command text
  --help               show this help
  --version            show the version

Token: RMON_TOKEN, else --token-file, else a token generated on first start and
kept in a per-user state file (0600), whose path is printed at every start.`;

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Invalid --${name}: "${text}" is not a whole number >= ${min}`);
  }
  return n;
}

/** Parse `rmon-server` argv; throws `UsageError` with a one-line message. */
export function parseServerArgs(args: string[]): ServerOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "token-file": { type: "string" },
        "read-only": { type: "boolean" },
        "max-frame": { type: "string" },
        "max-output": { type: "string" },
        "auth-timeout": { type: "string" },
        "max-connections": { type: "string" },
        quiet: { type: "boolean" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (err) {
    throw new UsageError(`Invalid arguments: ${(err as Error).message}`, undefined, { cause: err });
  }
  const v = parsed.values;
  if (v.quiet && v.verbose) {
    throw new UsageError("Invalid arguments: --quiet and --verbose conflict");
  }
  const port = positiveInt("port", v.port, DEFAULT_PORT, 0);
  if (port > 65535) throw new UsageError(`Invalid --port: "${v.port}" is above 65535`);
  const host = v.host ?? DEFAULT_HOST;
  if (host.length === 0) throw new UsageError("Invalid --host: empty address");
  return {
    host,
    port,
    tokenFile: v["token-file"],
    readOnly: v["read-only"] ?? false,
    logLevel: v.quiet ? "quiet" : v.verbose ? "verbose" : "normal",
    maxFrameBytes: positiveInt("max-frame", v["max-frame"], FRAME_LIMITS.postAuth, 1024),
    maxOutputBytes: positiveInt("max-output", v["max-output"], LIMITS.execOutputBytes),
    authTimeoutMs: positiveInt("auth-timeout", v["auth-timeout"], TIMEOUTS.authDeadlineMs),
    maxConnections: positiveInt("max-connections", v["max-connections"], LIMITS.connections),
    help: v.help ?? false,
    version: v.version ?? false,
  };
}
