/**
 * System-info layer: the `load` collector, from `Deno.loadavg()` and the
 * number of logical cores (`node:os` `cpus()`, as `cpu` counts them). Instant:
 * the kernel keeps the averages, so there is nothing to sample.
 * @module
 */

import type { LoadInfo } from "../grammar/commands/load.ts";
import type { Collector } from "./collector.ts";
import { nodeOs } from "./_node.ts";

/** The server's `load` collector. */
export const loadCollector: Collector<LoadInfo> = {
  name: "load",
  async collect(signal?: AbortSignal): Promise<LoadInfo> {
    signal?.throwIfAborted();
    const [one = 0, five = 0, fifteen = 0] = Deno.loadavg();
    return { loadAvg: [one, five, fifteen], cores: (await nodeOs()).cpus().length };
  },
};
