/**
 * System-info layer: the `name` collector, from `Deno.hostname()`.
 * @module
 */

import type { NameInfo } from "../protocol/messages.ts";
import type { Collector } from "./collector.ts";

/** The server's `name` collector. */
export const nameCollector: Collector<NameInfo> = {
  name: "hostname",
  collect(): Promise<NameInfo> {
    return Promise.resolve({ hostname: Deno.hostname() });
  },
};
