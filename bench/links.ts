/**
 * Client side of the rmon benchmarks: fleets built from the real client's
 * `Fleet` and `HostLink`, with one shared HMAC key (as the client's key cache
 * does), plain TCP or a given dialer (TLS), and no reconnects, so a failed
 * server fails the benchmark loudly.
 * @module
 */

import { Fleet } from "../lib/client/fleet.ts";
import type { LinkTimings } from "../lib/client/host_link.ts";
import { TokenKey } from "../lib/protocol/auth.ts";
import type { Dialer, Endpoint } from "../lib/protocol/transport.ts";
import { dialTcp } from "../lib/protocol/tcp_transport.ts";

/** Link timings of every benchmark fleet: no reconnect behind the benchmark's back. */
export const BENCH_TIMINGS: Partial<LinkTimings> = { reconnect: false, connectTimeoutMs: 20_000 };

/**
 * A fleet of `count` links named `h0`…, spread round-robin over `endpoints`,
 * each reached with `dial` (default plain TCP, `dialTcp`).
 */
export function buildFleet(
  endpoints: readonly Endpoint[],
  count: number,
  key: TokenKey,
  dial: Dialer = dialTcp,
): Fleet {
  const fleet = new Fleet(BENCH_TIMINGS);
  for (let i = 0; i < count; i++) {
    fleet.add({
      name: `h${i}`,
      endpoint: endpoints[i % endpoints.length]!,
      groups: [],
      token: key,
      dial,
    });
  }
  return fleet;
}

/** Connect every link of `fleet`; throws, naming the first failure, unless all are up. */
export async function connectAll(fleet: Fleet): Promise<void> {
  await fleet.connect();
  const down = fleet.links.filter((l) => l.state !== "up");
  if (down.length > 0) {
    const s = down[0]!.status();
    throw new Error(
      `Cannot connect ${down.length} of ${fleet.links.length} links: ${s.name} ${s.address}: ${s.state} (${s.reason})`,
    );
  }
}

/** The names of the first `n` links of a fleet built by {@linkcode buildFleet}. */
export function linkNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `h${i}`);
}

/** A fresh key for `token`. */
export function keyFor(token: string): TokenKey {
  return new TokenKey(token);
}
