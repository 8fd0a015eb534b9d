/**
 * System-info layer: the `uptime` collector, from `Deno.osUptime()`.
 * @module
 */

import type { UptimeInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";

/**
 * Build the `uptime` result. The boot time is rounded to the second: the OS gives
 * uptime in whole seconds, so finer digits would be noise.
 */
export function toUptimeInfo(uptimeSeconds: number, nowMs: number): UptimeInfo {
  return {
    uptimeSeconds,
    bootTime: Math.round(nowMs / 1000 - uptimeSeconds) * 1000,
  };
}

/** The server's `uptime` collector. */
export const uptimeCollector: Collector<UptimeInfo> = {
  name: "uptime",
  collect(): Promise<UptimeInfo> {
    return Promise.resolve(toUptimeInfo(Deno.osUptime(), Date.now()));
  },
};
