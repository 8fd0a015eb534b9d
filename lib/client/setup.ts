/**
 * Turns `rmon`'s options into a fleet: inventory hosts plus hosts named on
 * the command line, each with its resolved token (one HMAC key per distinct
 * token, shared by every host that uses it).
 * @module
 */

import { UsageError } from "../errors.ts";
import { TokenKey } from "../protocol/auth.ts";
import { Fleet } from "./fleet.ts";
import {
  DEFAULT_TOKEN_ENV,
  type HostSpec,
  hostSpecFromAddress,
  loadInventory,
  resolveToken,
  type TokenSource,
} from "./inventory.ts";
import type { ClientOptions } from "./options.ts";
import { checkToken } from "../token_file.ts";

/** The token source for hosts that name none, from the command line. */
export function fallbackTokenSource(opts: ClientOptions): TokenSource {
  if (opts.tokenFile !== undefined) return { kind: "file", path: opts.tokenFile };
  if (opts.token !== undefined) return { kind: "inline", value: opts.token };
  return { kind: "env", name: opts.tokenEnv ?? DEFAULT_TOKEN_ENV };
}

/** Keys by token text, so a thousand hosts sharing a token import one key. */
export class KeyCache {
  #keys = new Map<string, TokenKey>();

  /** The key for `token`. */
  get(token: string): TokenKey {
    let key = this.#keys.get(token);
    if (!key) {
      key = new TokenKey(token);
      this.#keys.set(token, key);
    }
    return key;
  }
}

/** Read the inventory (if any) and the addresses; throws `UsageError` on bad input. */
export async function collectHosts(opts: ClientOptions): Promise<HostSpec[]> {
  const specs: HostSpec[] = [];
  if (opts.inventory !== undefined) {
    try {
      specs.push(...await loadInventory(opts.inventory));
    } catch (err) {
      throw new UsageError((err as Error).message, undefined, { cause: err });
    }
  }
  for (const address of opts.addresses) specs.push(addressSpec(address, opts.defaultPort));
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new UsageError(`Invalid hosts: "${s.name}" is given twice`);
    seen.add(s.name);
  }
  return specs;
}

/** A host typed by the user (`connect` or argv), with a usage error for junk. */
export function addressSpec(address: string, defaultPort: number): HostSpec {
  try {
    return hostSpecFromAddress(address, defaultPort);
  } catch (err) {
    throw new UsageError(`Invalid host "${address}": ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
}

/** How a refusal names a token source: the variable, the quoted file, or "the inline token". */
function sourceName(src: TokenSource, fallback: TokenSource): string {
  const from = src.kind === "default" ? fallback : src;
  if (from.kind === "env") return from.name;
  if (from.kind === "file") return `"${from.path}"`;
  return "the inline token";
}

/**
 * Add hosts to a fleet with their tokens; a host whose token cannot be read,
 * or is too weak for the servers to accept (`checkToken`), is a usage error.
 */
export function addHosts(
  fleet: Fleet,
  specs: readonly HostSpec[],
  fallback: TokenSource,
  keys: KeyCache,
): void {
  for (const spec of specs) {
    let token: string;
    try {
      token = checkToken(resolveToken(spec.token, fallback), sourceName(spec.token, fallback));
    } catch (err) {
      throw new UsageError(
        `Cannot connect to "${spec.name}": ${(err as Error).message}`,
        undefined,
        {
          cause: err,
        },
      );
    }
    fleet.add({
      name: spec.name,
      endpoint: { hostname: spec.hostname, port: spec.port },
      groups: spec.groups,
      token: keys.get(token),
    });
  }
}
