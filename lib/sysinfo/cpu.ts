/**
 * System-info layer: the `cpu` collector, from `node:os` `cpus()` (per-core time
 * counters, on every OS) and `Deno.loadavg()`.
 *
 * Usage is a rate, so it needs two readings. Rather than keep a background
 * sampler running, a call measures against the previous call's reading when that
 * is recent, and only otherwise waits a short sample.
 * @module
 */

import { delay } from "../async.ts";
import { nodeOs } from "./_node.ts";
import type { CpuInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";
import { percent } from "./_percent.ts";

/** Length of a fresh sample, in milliseconds. */
export const CPU_SAMPLE_MS = 100;

/** A previous reading younger than this is measured against instead of sampling. */
export const CPU_REUSE_MS = 5_000;

/** CPU time counters summed over all cores, in milliseconds. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** Sum the per-core counters of `os.cpus()`. */
export function sumTimes(cores: ReadonlyArray<{ times: Record<string, number> }>): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const core of cores) {
    for (const [kind, ms] of Object.entries(core.times)) {
      total += ms;
      if (kind !== "idle") busy += ms;
    }
  }
  return { busy, total };
}

/** Busy share between two readings, 0-100; 0 when no time passed between them. */
export function usageBetween(before: CpuTimes, after: CpuTimes): number {
  return percent(after.busy - before.busy, after.total - before.total);
}

/** Options of {@linkcode createCpuCollector}. */
export interface CpuCollectorOptions {
  /** Length of a fresh sample. Default {@linkcode CPU_SAMPLE_MS}. */
  sampleMs?: number;
  /** Age under which the previous reading is reused. Default {@linkcode CPU_REUSE_MS}. */
  reuseMs?: number;
}

/** Create a `cpu` collector that remembers its last reading. */
export function createCpuCollector(options: CpuCollectorOptions = {}): Collector<CpuInfo> {
  const sampleMs = options.sampleMs ?? CPU_SAMPLE_MS;
  const reuseMs = options.reuseMs ?? CPU_REUSE_MS;
  let last: { at: number; times: CpuTimes; usage: number } | undefined;

  async function usage(times: CpuTimes, signal: AbortSignal | undefined): Promise<number> {
    const at = performance.now();
    if (last !== undefined && at - last.at < reuseMs) {
      // Counters tick every 10 ms or so: a shorter span says little, so keep the last figure.
      if (at - last.at < sampleMs) return last.usage;
      const value = usageBetween(last.times, times);
      last = { at, times, usage: value };
      return value;
    }
    await delay(sampleMs, signal);
    const after = sumTimes((await nodeOs()).cpus());
    const value = usageBetween(times, after);
    last = { at: performance.now(), times: after, usage: value };
    return value;
  }

  return {
    name: "cpu",
    async collect(signal?: AbortSignal): Promise<CpuInfo> {
      signal?.throwIfAborted();
      // cpus() parses /proc/cpuinfo on Linux (~0.2 ms): read it once per call.
      const info = (await nodeOs()).cpus();
      const usagePercent = await usage(sumTimes(info), signal);
      const [one = 0, five = 0, fifteen = 0] = Deno.loadavg();
      return {
        usagePercent,
        cores: info.length,
        model: info[0]?.model.trim() || "unknown",
        loadAvg: [one, five, fifteen],
      };
    },
  };
}

/** The server's `cpu` collector. */
export const cpuCollector: Collector<CpuInfo> = createCpuCollector();
