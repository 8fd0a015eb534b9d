/**
 * `load`: each server's load averages, per core as well, so hosts with
 * different numbers of cores compare at a glance (Glances' LOAD). Grammar
 * layer: the command's spec, its result type and the result's validator.
 * @module
 */

import { type Check, num, numbers, object } from "../result_check.ts";
import type { MetricSpec } from "../spec.ts";
import { metric, type MetricCommand } from "./metrics.ts";

/** `load` result: the 1, 5 and 15 minute load averages and the logical cores they spread over. */
export type LoadInfo = {
  loadAvg: [number, number, number];
  cores: number;
};

const LOAD_RESULT: Check<LoadInfo> = object<LoadInfo>({
  loadAvg: numbers(3) as Check<LoadInfo["loadAvg"]>,
  cores: num,
});

/** `load`: load averages, total and per core. */
export const LOAD: MetricSpec<MetricCommand<"load">, LoadInfo> = metric(
  "load",
  "Load averages: 1, 5 and 15 minutes, total and per core",
  "Shows each server's 1, 5 and 15 minute load averages (runnable and waiting\n" +
    "tasks), the number of logical cores, and the averages divided by the cores:\n" +
    "above 1 per core, tasks wait for a processor. Instant (no sample).",
  LOAD_RESULT,
);
