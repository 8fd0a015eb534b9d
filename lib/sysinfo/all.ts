/**
 * System-info layer: the table from method name to collector, and `info`, which
 * runs every collector at once.
 * @module
 */

import type { FullInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";
import { cpuCollector } from "./cpu.ts";
import { diskCollector } from "./disk.ts";
import { memoryCollector } from "./memory.ts";
import { nameCollector } from "./name.ts";
import { netCollector } from "./net.ts";
import { osCollector } from "./os.ts";
import { uptimeCollector } from "./uptime.ts";

/** A method that one collector answers: `ram`, `cpu`, `os`, `name`, `ip`, `disk`, `uptime`. */
export type InfoMethod = keyof FullInfo;

/** The collector behind each single-metric method; `info` is all of them. */
export const COLLECTORS: { readonly [K in InfoMethod]: Collector<FullInfo[K]> } = {
  ram: memoryCollector,
  cpu: cpuCollector,
  os: osCollector,
  name: nameCollector,
  ip: netCollector,
  disk: diskCollector,
  uptime: uptimeCollector,
};

/** Whether `method` is answered by a collector. */
export function isInfoMethod(method: string): method is InfoMethod {
  return Object.hasOwn(COLLECTORS, method);
}

/** Run every collector concurrently (the cpu sample bounds the time) and combine the results. */
export async function collectAll(signal?: AbortSignal): Promise<FullInfo> {
  const [ram, cpu, os, name, ip, disk, uptime] = await Promise.all([
    COLLECTORS.ram.collect(signal),
    COLLECTORS.cpu.collect(signal),
    COLLECTORS.os.collect(signal),
    COLLECTORS.name.collect(signal),
    COLLECTORS.ip.collect(signal),
    COLLECTORS.disk.collect(signal),
    COLLECTORS.uptime.collect(signal),
  ]);
  return { ram, cpu, os, name, ip, disk, uptime };
}
