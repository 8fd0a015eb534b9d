/**
 * Fan-out: one `ram` to N servers (N separate `rmon-server` processes) with
 * the real client `Fleet`, over warm connections and cold (connect + auth +
 * `ram`). The floor is the same pattern of one echo round trip each to N echo
 * server processes (warm: open connections; cold: connect first).
 * @module
 */

import { DEFAULT_FANOUT, type Fleet } from "../lib/client/fleet.ts";
import type { TokenKey } from "../lib/protocol/auth.ts";
import type { Dialer, Endpoint } from "../lib/protocol/transport.ts";
import { EchoConn, echoLine } from "./echo_client.ts";
import { buildFleet, connectAll, keyFor, linkNames } from "./links.ts";
import { BENCH_TOKEN } from "./procs.ts";
import { type BenchConfig, type Figure, figure, type Target } from "./report.ts";
import { now, summarize } from "./stats.ts";

const RAM = { kind: "ram" } as const;
/** Warm-up rounds before the measured ones. */
const WARMUP = 3;

/** Wall time of one `ram` to the first `n` links of `fleet`, from send to last answer. */
async function warmRound(fleet: Fleet, n: number): Promise<number> {
  const names = linkNames(n);
  const t0 = now();
  const results = await fleet.run(names, RAM);
  const ms = now() - t0;
  const bad = results.find((r) => r.status !== "ok");
  if (bad) throw new Error(`Cannot fan out: ${bad.host}: ${bad.status} ${bad.error ?? ""}`);
  return ms;
}

async function echoWarmRound(conns: EchoConn[], n: number, line: Uint8Array): Promise<number> {
  const t0 = now();
  await Promise.all(conns.slice(0, n).map((c) => c.roundTrip(line)));
  return now() - t0;
}

/**
 * Wall time of a fresh fleet's connect + auth + one `ram` to `endpoints`,
 * each reached with `dial` (default plain TCP).
 */
export async function coldRound(endpoints: readonly Endpoint[], dial?: Dialer): Promise<number> {
  const t0 = now();
  // The client imports one key per token at start; a cold start pays for that too.
  const fleet = buildFleet(endpoints, endpoints.length, keyFor(BENCH_TOKEN), dial);
  try {
    await connectAll(fleet);
    const results = await fleet.run(linkNames(endpoints.length), RAM);
    const ms = now() - t0;
    const bad = results.find((r) => r.status !== "ok");
    if (bad) throw new Error(`Cannot fan out: ${bad.host}: ${bad.status} ${bad.error ?? ""}`);
    return ms;
  } finally {
    await fleet.close();
  }
}

async function echoColdRound(endpoints: readonly Endpoint[], line: Uint8Array): Promise<number> {
  const t0 = now();
  const conns = await Promise.all(endpoints.map((ep) => EchoConn.open(ep)));
  try {
    await Promise.all(conns.map((c) => c.roundTrip(line)));
    return now() - t0;
  } finally {
    for (const c of conns) c.close();
  }
}

function targets(n: number): { warm?: Target; cold?: Target } {
  return n === 100
    ? {
      warm: { of: "value", op: "<=", bound: 25 },
      cold: { of: "value", op: "<=", bound: 400 },
    }
    : {};
}

/**
 * Warm and cold fan-out figures for every size in `cfg.fanoutSizes`, over the
 * first N of `servers` and of `echoes` (one process each).
 */
export async function measureFanout(
  servers: readonly Endpoint[],
  echoes: readonly Endpoint[],
  cfg: BenchConfig,
  key: TokenKey,
  lineBytes: number,
): Promise<Record<string, Figure>> {
  const maxN = Math.max(...cfg.fanoutSizes);
  if (servers.length < maxN || echoes.length < maxN) {
    throw new RangeError(`Cannot fan out to ${maxN}: only ${servers.length} servers`);
  }
  const line = echoLine(lineBytes);
  const out: Record<string, Figure> = {};
  const fleet = buildFleet(servers.slice(0, maxN), maxN, key);
  const conns = await Promise.all(echoes.slice(0, maxN).map((ep) => EchoConn.open(ep)));
  try {
    await connectAll(fleet);
    for (const n of cfg.fanoutSizes) {
      for (let i = 0; i < WARMUP; i++) {
        await echoWarmRound(conns, n, line);
        await warmRound(fleet, n);
      }
      const rmon: number[] = [];
      const echo: number[] = [];
      for (let rep = 0; rep < cfg.fanoutWarmReps; rep++) {
        echo.push(await echoWarmRound(conns, n, line));
        rmon.push(await warmRound(fleet, n));
      }
      out[`fanout.warm.n${n}`] = figure(
        {
          label: `warm fan-out: one ram to ${n} servers`,
          unit: "ms",
          floorLabel: `one echo round trip each to ${n} echo processes over open connections`,
          target: targets(n).warm,
          note: `${n} server processes; Fleet fan-out limit ${DEFAULT_FANOUT}`,
        },
        summarize(rmon),
        summarize(echo),
      );
    }
  } finally {
    for (const c of conns) c.close();
    await fleet.close();
  }
  for (const n of cfg.fanoutSizes) {
    const eps = servers.slice(0, n);
    const echoEps = echoes.slice(0, n);
    await echoColdRound(echoEps, line);
    await coldRound(eps);
    const rmon: number[] = [];
    const echo: number[] = [];
    for (let rep = 0; rep < cfg.fanoutColdReps; rep++) {
      echo.push(await echoColdRound(echoEps, line));
      rmon.push(await coldRound(eps));
    }
    out[`fanout.cold.n${n}`] = figure(
      {
        label: `cold fan-out: connect + auth + ram to ${n} servers`,
        unit: "ms",
        floorLabel: `TCP connect + one echo round trip each to ${n} echo processes`,
        target: targets(n).cold,
        note: `${n} server processes; new Fleet and key each repetition`,
      },
      summarize(rmon),
      summarize(echo),
    );
  }
  return out;
}
