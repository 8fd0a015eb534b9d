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
import { abortable } from "../async.ts";
import { type Vitals, vitalsOf } from "../grammar/commands/vitals.ts";

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
 * How long one `info` answer is given again to callers who ask after it was
 * collected. Many sessions asking at once (several consoles' `watch`, or a
 * test bed where one server stands for hundreds of hosts) then cost one
 * collection, and a 2 s `watch` never shows figures older than this.
 */
export const INFO_FRESH_MS = 250;

let shared: { at: number; info: Promise<FullInfo> } | null = null;

/**
 * Every metric at once (see {@linkcode collectEverything}), shared: callers
 * that ask while a collection runs, or within {@linkcode INFO_FRESH_MS} of its
 * start, get that collection's answer. A caller's `signal` ends its own wait,
 * never the shared collection.
 */
export function collectAll(signal?: AbortSignal): Promise<FullInfo> {
  const now = performance.now();
  if (shared === null || now - shared.at > INFO_FRESH_MS) {
    const info = collectEverything();
    shared = { at: now, info };
    // A failed collection is not handed to later callers.
    info.catch(() => {
      if (shared?.info === info) shared = null;
    });
  }
  return signal ? abortable(shared.info, signal) : shared.info;
}

/** The vitals of the shared collection they were taken from (made once per collection). */
let sharedVitals: { of: Promise<FullInfo>; vitals: Promise<Vitals> } | null = null;

/**
 * The figures `watch` draws (`vitals`), from the same shared collection as
 * {@linkcode collectAll}, so a server asked by many sessions at once still
 * collects once, and the answer is the one an older server's `info` gives
 * the client through the same {@linkcode vitalsOf}.
 */
export function collectVitals(signal?: AbortSignal): Promise<Vitals> {
  const info = collectAll();
  if (sharedVitals?.of !== info) sharedVitals = { of: info, vitals: info.then(vitalsOf) };
  return signal ? abortable(sharedVitals.vitals, signal) : sharedVitals.vitals;
}

/**
 * Run every collector concurrently (the cpu and net samples, run side by
 * side, bound the time) and combine the results. `net` is left out where it
 * cannot be read (no /proc, or no `--allow-all`), rather than failing the
 * whole answer.
 */
async function collectEverything(signal?: AbortSignal): Promise<FullInfo> {
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
