/**
 * Starting `rmon-server`'s bus mode from its options: read the NATS
 * credentials (a creds file, or a token file: both private), load the agent
 * module only now (it pulls in the NATS client, which a server without
 * `--nats` never pays for) and start one agent identity. Server layer.
 * @module
 */

import { readPrivateFile, readTokenFile } from "../token_file.ts";
import { natsCredsKind } from "../protocol/nats_url.ts";
import { describeError } from "../protocol/errors.ts";
import { BusKey } from "../protocol/bus_auth.ts";
import { DEFAULT_FLEET } from "../protocol/nats_subjects.ts";
import type { Logger } from "./log.ts";
import type { ServerOptions } from "./options.ts";
import type { NatsAgent } from "./nats_agent.ts";
import type { NatsAuth } from "../protocol/nats_auth.ts";
import type { AuthorizedKeys } from "./authorized_keys.ts";
import type { AuditLog } from "./audit.ts";

/**
 * The agent module, by a computed specifier so that no module graph of the
 * server includes the NATS client unless bus mode is asked for (the compile
 * task `--include`s it).
 */
const AGENT_MODULE = "./nats_agent.ts";

/** A bus agent being started. */
export interface BusAgent {
  agent: NatsAgent;
  name: string;
  fleet: string;
  /** Resolves true on the first connection, false when stopped before it. */
  connected: Promise<boolean>;
}

/** How to sign in to NATS as the options say; throws when a file cannot be used. */
export function natsAuthFrom(opts: Pick<ServerOptions, "natsCreds" | "natsTokenFile">): NatsAuth {
  if (opts.natsCreds !== undefined) {
    const text = readPrivateFile(opts.natsCreds, "NATS credentials file");
    try {
      natsCredsKind(text);
    } catch (err) {
      throw new Error(
        `Cannot use NATS credentials file "${opts.natsCreds}": ${describeError(err)}`,
      );
    }
    return { kind: "creds", creds: new TextEncoder().encode(text) };
  }
  if (opts.natsTokenFile !== undefined) {
    return { kind: "token", token: readTokenFile(opts.natsTokenFile) };
  }
  return { kind: "none" };
}

/** What the bus checks callers by, beyond the fleet token (none by default). */
export interface BusCallers {
  /** The authorized keys in force now (re-read when the file changes). */
  keys: () => AuthorizedKeys | null;
  audit: AuditLog | null;
}

/**
 * Create the agent of `opts` with the fleet `token` and start dialing out;
 * with `--no-token`, each call must be signed by one of `callers.keys`.
 */
export async function startBusAgent(
  opts: ServerOptions,
  token: string,
  log: Logger,
  callers: BusCallers = { keys: () => null, audit: null },
): Promise<BusAgent> {
  const natsAuth = natsAuthFrom(opts);
  const mod = await import(AGENT_MODULE) as typeof import("./nats_agent.ts");
  const name = opts.name ?? Deno.hostname();
  const fleet = opts.fleet ?? DEFAULT_FLEET;
  const agent = new mod.NatsAgent({
    servers: opts.nats,
    fleet,
    name,
    groups: opts.groups,
    key: new BusKey(token),
    natsAuth,
    caFile: opts.natsCa,
    log,
    readOnly: opts.readOnly,
    maxOutputBytes: opts.maxOutputBytes,
    execEnv: opts.execEnv,
    heartbeatMs: opts.natsHeartbeatMs,
    keys: callers.keys,
    keyRequired: opts.noToken,
    audit: callers.audit,
  });
  return { agent, name, fleet, connected: agent.start() };
}
