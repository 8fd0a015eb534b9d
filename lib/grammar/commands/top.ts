/**
 * `top [N]`: the N processes using the most processor (then memory) on each
 * server, over a short sample. Grammar layer.
 * @module
 */

import { LIMITS } from "../../protocol/constants.ts";
import type { JsonObject, ProcessUsage, TopInfo } from "../../protocol/messages.ts";
import { arrayOf, type Check, num, object, str } from "../result_check.ts";
import type { MetricSpec } from "../spec.ts";
import { quote } from "../_quote.ts";
import { atMost, wholeNumber } from "./_args.ts";

/** Processes listed when no count is given. */
export const DEFAULT_TOP_COUNT = 10;

const TOP_RESULT: Check<TopInfo> = object<TopInfo>({
  sampleMs: num,
  processes: arrayOf(object<ProcessUsage>({
    pid: num,
    user: str,
    cpuPercent: num,
    rssBytes: num,
    command: str,
  })),
});

/** `top [N]`: at most `count` processes (default {@linkcode DEFAULT_TOP_COUNT}). */
export type TopCommand = { kind: "top"; count?: number };

/** `top [N]`. */
export const TOP: MetricSpec<TopCommand, TopInfo> = {
  name: "top",
  words: ["top"],
  form: "word",
  usage: "top [N]",
  summary: `The N busiest processes of each server (default ${DEFAULT_TOP_COUNT})`,
  detail: "Samples each server's processes for a fifth of a second and lists the N\n" +
    "using the most processor, then memory: pid, user, CPU percent (100 is one\n" +
    `core), resident memory and command line. N is 1-${LIMITS.topCountMax}. Linux servers only.`,
  targeted: true,
  kind: "top",
  method: "top",
  metric: true,
  fields: ["count"],
  parse(input) {
    const [count] = atMost(input, 1);
    if (!count) return { kind: "top" };
    const n = wholeNumber(count.text);
    if (n === undefined || n < 1 || n > LIMITS.topCountMax) {
      return input.fail(
        `count ${quote(count.text)} is not a whole number from 1 to ${LIMITS.topCountMax}`,
        count.start,
      );
    }
    return { kind: "top", count: n };
  },
  toParams(cmd) {
    const params: JsonObject = {};
    if (cmd.count !== undefined) params.count = cmd.count;
    return params;
  },
  fromParams(params) {
    const count = params.optionalInteger("count", LIMITS.topCountMax);
    return count === undefined ? { kind: "top" } : { kind: "top", count };
  },
  result: TOP_RESULT,
};
