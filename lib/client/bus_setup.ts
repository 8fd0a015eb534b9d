/**
 * Turns `rmon`'s options into a bus fleet (`--nats`): the NATS servers and
 * how to sign in to them, the fleet name, the rmon token that MACs every
 * request (from the same sources as for direct connections), and the hosts
 * that should answer when an inventory names them. Client layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import { checkToken, readPrivateFile, readTokenFile } from "../token_file.ts";
import { DEFAULT_FLEET } from "../protocol/nats_subjects.ts";
import type { TargetExpr } from "../grammar/command.ts";
import { expandHome, loadInventoryFile, resolveToken } from "./inventory.ts";
import type { ClientOptions } from "./options.ts";
import { fallbackTokenSource } from "./setup.ts";
import { resolveTargets } from "./targets.ts";
import { BusUnavailableError, type NatsClientAuth, NatsFleet } from "./nats_fleet.ts";

/** Whether the options ask for bus mode. */
export function usesBus(opts: ClientOptions): boolean {
  return opts.nats.length > 0;
}

/**
 * Connect to NATS and ask who is present. Usage errors for unreadable files;
 * NATS down or refusing the credentials is one line with the `unreachable`
 * exit code.
 */
export async function openBusFleet(opts: ClientOptions): Promise<NatsFleet> {
  let fleet: NatsFleet;
  try {
    const source = fallbackTokenSource(opts);
    const token = checkToken(resolveToken({ kind: "default" }, source), describeSource(opts));
    let expected = null;
    if (opts.inventory !== undefined) {
      expected = (await loadInventoryFile(opts.inventory)).hosts.map((h) => ({
        name: h.name,
        groups: h.groups,
      }));
      if (expected.length === 0) expected = null;
    }
    if (opts.addresses.length > 0) {
      // On the bus, hosts are named, not addressed: "web1" is the agent called web1.
      expected = [
        ...(expected ?? []),
        ...opts.addresses.map((name) => ({ name, groups: [] as string[] })),
      ];
    }
    fleet = new NatsFleet({
      servers: opts.nats,
      fleet: opts.fleet ?? DEFAULT_FLEET,
      token,
      natsAuth: natsAuth(opts),
      caFile: opts.natsCa === undefined ? undefined : expandHome(opts.natsCa),
      connectTimeoutMs: opts.connectTimeoutMs,
      expected,
    });
  } catch (err) {
    throw new UsageError(describeError(err), EXIT_CODES.usage, { cause: err });
  }
  try {
    await fleet.connect();
  } catch (err) {
    await fleet.close();
    if (err instanceof BusUnavailableError) {
      throw new UsageError(err.message, EXIT_CODES.unreachable, { cause: err });
    }
    throw err;
  }
  return fleet;
}

/** The names a target picks among the bus fleet's hosts (all without one). */
export function busTargets(fleet: NatsFleet, target: TargetExpr | undefined): string[] {
  const hosts = fleet.hosts();
  if (hosts.length === 0) {
    throw new UsageError("No hosts: no agent answered on the bus", EXIT_CODES.unreachable);
  }
  if (!target) return hosts.map((h) => h.name);
  try {
    return resolveTargets(target, hosts);
  } catch (err) {
    throw new UsageError(describeError(err), EXIT_CODES.usage, { cause: err });
  }
}

function natsAuth(opts: ClientOptions): NatsClientAuth {
  if (opts.natsCreds !== undefined) {
    const text = readPrivateFile(expandHome(opts.natsCreds), "NATS credentials file");
    return { kind: "creds", creds: new TextEncoder().encode(text) };
  }
  if (opts.natsTokenFile !== undefined) {
    return { kind: "token", token: readTokenFile(expandHome(opts.natsTokenFile)) };
  }
  return { kind: "none" };
}

function describeSource(opts: ClientOptions): string {
  const s = fallbackTokenSource(opts);
  return s.kind === "env" ? s.name : s.kind === "file" ? `"${s.path}"` : "the inline token";
}
