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
import { netTrafficCollector } from "./net_traffic.ts";
import { osCollector } from "./os.ts";
import { uptimeCollector } from "./uptime.ts";
import { isUnavailable } from "./_proc.ts";

/** A method that one collector answers: `ram`, `cpu`, `os`, `name`, `ip`, `disk`, `uptime`, `net`. */
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
  net: netTrafficCollector,
};

/** Whether `method` is answered by a collector. */
export function isInfoMethod(method: string): method is InfoMethod {
  return Object.hasOwn(COLLECTORS, method);
}

/**
 * Run every collector concurrently (the cpu and net samples, run side by
 * side, bound the time) and combine the results. `net` is left out where it
 * cannot be read (no /proc, or no `--allow-all`), rather than failing the
 * whole answer.
 */
export async function collectAll(signal?: AbortSignal): Promise<FullInfo> {
  const [ram, cpu, os, name, ip, disk, uptime, net] = await Promise.all([
    COLLECTORS.ram.collect(signal),
    COLLECTORS.cpu.collect(signal),
    COLLECTORS.os.collect(signal),
    COLLECTORS.name.collect(signal),
    COLLECTORS.ip.collect(signal),
    COLLECTORS.disk.collect(signal),
    COLLECTORS.uptime.collect(signal),
    COLLECTORS.net.collect(signal).catch((err) => {
      if (isUnavailable(err)) return undefined;
      throw err;
    }),
  ]);
  const info: FullInfo = { ram, cpu, os, name, ip, disk, uptime };
  if (net !== undefined) info.net = net;
  return info;
}
