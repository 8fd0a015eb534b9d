/**
 * System-info layer: the `net` collector, traffic per network interface over
 * a short sample: bytes and packets per second each way, and error and drop
 * counts since boot. Linux only (/proc/net/dev); `unavailable` elsewhere.
 * @module
 */

import { delay } from "../async.ts";
import type { NetInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";
import { readProc, requireLinux } from "./_proc.ts";

/** Length of the sample. */
export const NET_SAMPLE_MS = 100;

/** One interface's counters since boot. */
export interface NetCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDrops: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDrops: number;
}

/**
 * Parse /proc/net/dev: two header lines, then `IFACE: 16 numbers` (receive
 * bytes packets errs drop fifo frame compressed multicast, transmit bytes
 * packets errs drop fifo colls carrier compressed). Pure.
 */
export function parseNetDev(text: string): Map<string, NetCounters> {
  const out = new Map<string, NetCounters>();
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const n = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (n.length < 16 || n.some((x) => !Number.isFinite(x))) continue;
    out.set(name, {
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      rxDrops: n[3]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
      txDrops: n[11]!,
    });
  }
  return out;
}

/** Rates between two readings `ms` apart, one entry per interface seen in both, by name. Pure. */
export function netRates(
  before: ReadonlyMap<string, NetCounters>,
  after: ReadonlyMap<string, NetCounters>,
  ms: number,
): NetInfo {
  const perSecond = (a: number, b: number) => Math.max(0, b - a) * 1000 / Math.max(ms, 1);
  const interfaces = [...after.entries()]
    .filter(([name]) => before.has(name))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, now]) => {
      const then = before.get(name)!;
      return {
        name,
        rxBytesPerSec: perSecond(then.rxBytes, now.rxBytes),
        txBytesPerSec: perSecond(then.txBytes, now.txBytes),
        rxPacketsPerSec: perSecond(then.rxPackets, now.rxPackets),
        txPacketsPerSec: perSecond(then.txPackets, now.txPackets),
        rxErrors: now.rxErrors,
        txErrors: now.txErrors,
        rxDrops: now.rxDrops,
        txDrops: now.txDrops,
      };
    });
  return { sampleMs: ms, interfaces };
}

async function readNetDev(): Promise<Map<string, NetCounters>> {
  return parseNetDev(await readProc("/proc/net/dev") ?? "");
}

/** The server's `net` collector. */
export const netTrafficCollector: Collector<NetInfo> = {
  name: "network traffic",
  async collect(signal?: AbortSignal): Promise<NetInfo> {
    requireLinux("network traffic");
    const before = await readNetDev();
    const started = performance.now();
    await delay(NET_SAMPLE_MS, signal);
    const after = await readNetDev();
    return netRates(before, after, performance.now() - started);
  },
};
