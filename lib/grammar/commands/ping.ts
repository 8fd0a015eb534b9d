/**
 * `ping HOST [COUNT]`: each server pings HOST. The host must pass
 * `isValidPingHost`, on both sides, so it can never be read as an option.
 * Grammar layer.
 * @module
 */

import { LIMITS } from "../../protocol/constants.ts";
import type { JsonObject, PingResult } from "../../protocol/messages.ts";
import { isValidPingHost } from "../ping_host.ts";
import { PING_RESULT } from "../result_check.ts";
import type { WireSpec } from "../spec.ts";
import { quote } from "../_quote.ts";
import { atMost, wholeNumber } from "./_args.ts";

/** Echo requests sent when no count is given. */
export const DEFAULT_PING_COUNT = 4;

/**
 * The count a server actually uses: `n` (default 4) clamped to
 * `LIMITS.pingCountMin`-`LIMITS.pingCountMax`. Requests keep the count as asked,
 * so the clamp happens here, where the ping runs.
 */
export function clampPingCount(n?: number): number {
  const count = n === undefined || Number.isNaN(n) ? DEFAULT_PING_COUNT : Math.trunc(n);
  return Math.min(LIMITS.pingCountMax, Math.max(LIMITS.pingCountMin, count));
}

/** `ping HOST [COUNT]`: HOST pinged from each server, `count` times (clamped by the server). */
export type PingCommand = { kind: "ping"; host: string; count?: number };

/** `ping HOST [COUNT]`. */
export const PING: WireSpec<PingCommand, PingResult> = {
  name: "ping",
  words: ["ping"],
  form: "word",
  usage: "ping HOST [COUNT]",
  summary: `Ping HOST from each server, COUNT times (default ${DEFAULT_PING_COUNT})`,
  detail: "Each server runs the system ping against HOST and streams its output,\n" +
    "then a table of each server's sent, received, loss and round-trip min/avg/max.\n" +
    "HOST is an IPv4 or IPv6 address or a host name. COUNT is a positive whole\n" +
    `number; servers use at most ${LIMITS.pingCountMax}. Example: ping 192.0.2.1 3`,
  targeted: true,
  kind: "ping",
  method: "ping",
  fields: ["host", "count"],
  parse(input) {
    const [host, count] = atMost(input, 2);
    if (!host) return input.fail("expected a host");
    if (!isValidPingHost(host.text)) {
      return input.fail(`host ${quote(host.text)} is not a valid host name or address`, host.start);
    }
    if (!count) return { kind: "ping", host: host.text };
    const n = wholeNumber(count.text);
    if (n === undefined) {
      return input.fail(`count ${quote(count.text)} is not a whole number`, count.start);
    }
    if (n < 1) return input.fail(`count ${quote(count.text)} is not positive`, count.start);
    return { kind: "ping", host: host.text, count: n };
  },
  toParams(cmd) {
    const params: JsonObject = { host: cmd.host };
    if (cmd.count !== undefined) params.count = cmd.count;
    return params;
  },
  fromParams(params) {
    const host = params.string("host");
    if (!isValidPingHost(host)) {
      throw params.rangeError(`host ${quote(host)} is not a valid host name or address`);
    }
    const count = params.optionalInteger("count");
    return count === undefined ? { kind: "ping", host } : { kind: "ping", host, count };
  },
  result: PING_RESULT,
};
