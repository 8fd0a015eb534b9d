/**
 * Turns `rmon`'s options into a bus fleet (`--nats`, or an inventory's
 * `[nats]` table): the NATS servers and
 * how to sign in to them, the fleet name, the rmon token that MACs every
 * request (from the same sources as for direct connections), the operator
 * key that also signs each request (`--identity`, else the default key when
 * it exists, as for direct connections), and the hosts that should answer
 * when an inventory names them. Client layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import { checkToken, readPrivateFile, readTokenFile } from "../token_file.ts";
import { DEFAULT_FLEET } from "../protocol/nats_subjects.ts";
import { natsCredsKind } from "../protocol/nats_url.ts";
import type { TargetExpr } from "../grammar/command.ts";
import { expandHome, loadInventoryFile, resolveToken } from "./inventory.ts";
import type { ClientOptions } from "./options.ts";
import { existsQuietly, fallbackTokenSource } from "./setup.ts";
import { defaultIdentityPath, type Identity, loadIdentity } from "./identity.ts";
import { askPassphrase } from "./passphrase.ts";
import { resolveTargets } from "./targets.ts";
import type { NatsSettings } from "./inventory_nats.ts";
// Loaded only in bus mode: the NATS client (an npm package) costs every other start ~30 ms.
import type { NatsFleet } from "./nats_fleet.ts";
import type { NatsAuth } from "../protocol/nats_auth.ts";

/**
 * The bus settings the run uses: `--nats` and its options, else the
 * inventory's `[nats]` table (each option beats the table's setting), else
 * null (direct connections).
 */
export async function busSettings(opts: ClientOptions): Promise<NatsSettings | null> {
  let table: NatsSettings | undefined;
  if (opts.inventory !== undefined) {
    try {
      table = (await loadInventoryFile(opts.inventory)).nats;
    } catch (err) {
      throw new UsageError(describeError(err), EXIT_CODES.usage, { cause: err });
    }
  }
  if (opts.nats.length === 0 && table === undefined) return null;
  const auth = opts.natsCreds !== undefined || opts.natsTokenFile !== undefined
    ? { creds: opts.natsCreds, tokenFile: opts.natsTokenFile }
    : { creds: table?.creds, tokenFile: table?.tokenFile };
  return {
    servers: opts.nats.length > 0 ? opts.nats : table!.servers,
    fleet: opts.fleet ?? table?.fleet,
    ...auth,
    caFile: opts.natsCa ?? table?.caFile,
  };
}

/**
 * Connect to NATS and ask who is present. Usage errors for unreadable files;
 * NATS down or refusing the credentials is one line with the `unreachable`
 * exit code.
 */
export async function openBusFleet(
  opts: ClientOptions,
  bus: NatsSettings,
  how: { live?: boolean } = {},
): Promise<NatsFleet> {
  const { BusUnavailableError, NatsFleet } = await import("./nats_fleet.ts");
  let fleet: NatsFleet;
  let expected: { name: string; groups: string[] }[] | null = null;
  try {
    const source = fallbackTokenSource(opts);
    const token = checkToken(resolveToken({ kind: "default" }, source), describeSource(opts));
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
      servers: bus.servers,
      fleet: bus.fleet ?? DEFAULT_FLEET,
      token,
      identity: await busIdentity(opts),
      natsAuth: natsAuth(bus),
      caFile: bus.caFile === undefined ? undefined : expandHome(bus.caFile),
      connectTimeoutMs: opts.connectTimeoutMs,
      expected,
      live: how.live ?? false,
    });
  } catch (err) {
    throw new UsageError(describeError(err), EXIT_CODES.usage, { cause: err });
  }
  try {
    await fleet.connect();
  } catch (err) {
    await fleet.close();
    if (err instanceof BusUnavailableError) throw new BusDownError(err.message, expected, err);
    throw err;
  }
  return fleet;
}

/**
 * The operator key that signs bus requests: `--identity`, else the default
 * key when it exists (as direct connections find it), else null (MAC only).
 * A sealed key asks its passphrase once.
 */
export async function busIdentity(opts: ClientOptions): Promise<Identity | null> {
  let path = opts.identity;
  if (path === undefined) {
    const env = (n: string) => Deno.env.get(n);
    // No home to look in (a bare service environment) just means no default key.
    if (!env("HOME") && !env("APPDATA") && !env("XDG_CONFIG_HOME")) return null;
    path = defaultIdentityPath(env);
    if (!existsQuietly(path)) return null;
  }
  return await loadIdentity(
    expandHome(path),
    (p) => askPassphrase(`Passphrase for ${p}: `),
  );
}

/**
 * NATS could not be reached or refused the client: one line and exit 3, and
 * the hosts the run expected (the inventory's, the named ones; null when any
 * present agent would have done), so `--json` can still give each its record.
 */
export class BusDownError extends UsageError {
  /** The hosts that were expected to answer, with their groups. */
  readonly expected: readonly { name: string; groups: readonly string[] }[] | null;

  /** `message` says why; `cause` is the bus client's error. */
  constructor(
    message: string,
    expected: readonly { name: string; groups: readonly string[] }[] | null,
    cause: unknown,
  ) {
    super(message, EXIT_CODES.unreachable, { cause });
    this.name = "BusDownError";
    this.expected = expected;
  }
}

/**
 * Say on `warn` what NATS has refused the fleet so far, and from now on each
 * new refusal, one line each (`rmon: NATS refused: Permissions Violation for
 * Publish to "…"`).
 */
export function sayRefusals(fleet: NatsFleet, warn: (line: string) => void): void {
  const say = (text: string) => warn(`rmon: NATS refused: ${text}\n`);
  fleet.refusals.forEach(say);
  fleet.onRefusal = say;
}

/**
 * One line for stderr when the presence query ended with agents still
 * answering (see `NatsFleet.presenceCut`), else null.
 */
export function presenceCutNote(fleet: NatsFleet): string | null {
  const cut = fleet.presenceCut;
  if (cut === null) return null;
  return `rmon: the presence query ended after ${cut.afterMs / 1000} s with agents still ` +
    `answering (${cut.heard} heard); more may be on the bus: name the hosts, or list them in ` +
    `an inventory, to wait for each`;
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

function natsAuth(bus: NatsSettings): NatsAuth {
  if (bus.creds !== undefined) {
    const text = readPrivateFile(expandHome(bus.creds), "NATS credentials file");
    try {
      natsCredsKind(text);
    } catch (err) {
      throw new Error(`Cannot use NATS credentials file "${bus.creds}": ${describeError(err)}`);
    }
    return { kind: "creds", creds: new TextEncoder().encode(text) };
  }
  if (bus.tokenFile !== undefined) {
    return { kind: "token", token: readTokenFile(expandHome(bus.tokenFile)) };
  }
  return { kind: "none" };
}

function describeSource(opts: ClientOptions): string {
  const s = fallbackTokenSource(opts);
  return s.kind === "env" ? s.name : s.kind === "file" ? `"${s.path}"` : "the inline token";
}
