/**
 * System-info layer: the `ram` collector, from `Deno.systemMemoryInfo()`.
 *
 * `ram` is the hottest request (monitors poll it many times a second across a
 * fleet), so a reading is reused for a short while instead of asking the kernel
 * on every call.
 * @module
 */

import type { RamInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";
import { percent } from "./_percent.ts";

/** How long one reading is reused, in milliseconds: far below what a person can notice. */
export const MEMORY_MAX_AGE_MS = 100;

/** Build the `ram` result from a raw reading (all values in bytes). */
export function toRamInfo(mem: Deno.SystemMemoryInfo): RamInfo {
  return {
    usedPercent: percent(mem.total - mem.available, mem.total),
    totalBytes: mem.total,
    availableBytes: mem.available,
    swapTotalBytes: mem.swapTotal,
    swapFreeBytes: mem.swapFree,
  };
}

/** Options of {@linkcode createMemoryCollector}. */
export interface MemoryCollectorOptions {
  /** How long a reading is reused. Default {@linkcode MEMORY_MAX_AGE_MS}. */
  maxAgeMs?: number;
  /** Where readings come from. Default `Deno.systemMemoryInfo`. */
  read?: () => Deno.SystemMemoryInfo;
  /** Monotonic clock in milliseconds. Default `performance.now`. */
  now?: () => number;
}

/** Create a `ram` collector with its own reading cache. */
export function createMemoryCollector(options: MemoryCollectorOptions = {}): Collector<RamInfo> {
  const maxAgeMs = options.maxAgeMs ?? MEMORY_MAX_AGE_MS;
  const read = options.read ?? (() => Deno.systemMemoryInfo());
  const now = options.now ?? (() => performance.now());
  let cached: { at: number; info: RamInfo } | undefined;
  return {
    name: "memory",
    collect(): Promise<RamInfo> {
      const at = now();
      if (cached === undefined || at - cached.at >= maxAgeMs) {
        cached = { at, info: toRamInfo(read()) };
      }
      // A copy, so a caller that edits its result cannot change the next caller's.
      return Promise.resolve({ ...cached.info });
    },
  };
}

/** The server's `ram` collector. */
export const memoryCollector: Collector<RamInfo> = createMemoryCollector();
