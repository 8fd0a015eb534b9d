/**
 * The inventory's `[nats]` table: reach the fleet through a NATS cluster
 * (bus mode) instead of connecting to each host. Pure parsing; paths resolve
 * against the inventory's directory (`~/` kept for the caller to expand).
 *
 * ```toml
 * [nats]
 * servers = ["tls://nats1:4222", "tls://nats2:4222"]
 * fleet = "prod"                 # optional (default "default")
 * creds = "~/.config/rmon/operator.creds"   # optional; or token_file, not both
 * ca_file = "nats-ca.pem"        # optional
 * ```
 *
 * `token_file` here is the NATS token, not rmon's: rmon's fleet token comes
 * from `[defaults]` or the command line, as for direct connections.
 * @module
 */

import { isAbsolute, join } from "node:path";
import { natsUrlProblem } from "../protocol/nats_url.ts";

/** Bus settings from an inventory. */
export interface NatsSettings {
  servers: string[];
  fleet?: string;
  creds?: string;
  tokenFile?: string;
  caFile?: string;
}

const KEYS = ["servers", "fleet", "creds", "token_file", "ca_file"];

/** Parse the `[nats]` table; throws SyntaxError naming the key. */
export function parseNatsTable(table: unknown, baseDir: string): NatsSettings {
  if (typeof table !== "object" || table === null || Array.isArray(table)) {
    throw new SyntaxError(`"nats" must be a table`);
  }
  const t = table as Record<string, unknown>;
  for (const key of Object.keys(t)) {
    if (!KEYS.includes(key)) throw new SyntaxError(`[nats]: unknown key "${key}"`);
  }
  const servers = t.servers;
  if (
    !Array.isArray(servers) || servers.length === 0 ||
    !servers.every((u) => typeof u === "string")
  ) {
    throw new SyntaxError(
      `[nats]: "servers" must be a list of nats://HOST:PORT or tls://HOST:PORT`,
    );
  }
  for (const url of servers as string[]) {
    const problem = natsUrlProblem(url);
    if (problem !== null) throw new SyntaxError(`[nats]: "servers": ${problem}`);
  }
  const text = (key: string): string | undefined => {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "") throw new SyntaxError(`[nats]: "${key}" must be text`);
    return v;
  };
  const path = (key: string): string | undefined => {
    const p = text(key);
    return p === undefined || p.startsWith("~") || isAbsolute(p) ? p : join(baseDir, p);
  };
  if (t.creds !== undefined && t.token_file !== undefined) {
    throw new SyntaxError(`[nats]: "creds" and "token_file" conflict`);
  }
  const fleet = text("fleet");
  if (fleet !== undefined && !/^[A-Za-z0-9_.:-]{1,128}$/.test(fleet)) {
    throw new SyntaxError(`[nats]: "fleet" may hold letters, digits and _ . : - only`);
  }
  const out: NatsSettings = { servers: servers as string[] };
  if (fleet !== undefined) out.fleet = fleet;
  const creds = path("creds");
  if (creds !== undefined) out.creds = creds;
  const tokenFile = path("token_file");
  if (tokenFile !== undefined) out.tokenFile = tokenFile;
  const caFile = path("ca_file");
  if (caFile !== undefined) out.caFile = caFile;
  return out;
}
