/**
 * The `ping` table: one row per host whose ping ran, with the figures its
 * server read from ping's summary — SENT, RECV, LOSS, and round-trip MIN, AVG,
 * MAX. Client view layer; pure.
 * @module
 */

import type { PingStats } from "../../protocol/messages.ts";
import { PING_STATS } from "../../grammar/result_check.ts";
import type { HostResult } from "../fleet.ts";
import { paint } from "./color.ts";
import { formatPercent, MISSING } from "./format.ts";
import { renderTable } from "./table.ts";

/**
 * A ping result's figures, or null: the host did not run ping, its server
 * predates the figures, or ping printed no summary (unknown host, no route).
 */
export function pingStatsOf(r: Pick<HostResult, "data">): PingStats | null {
  const data = r.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  const stats = data.stats;
  // Already checked when it arrived (PING_RESULT); checked again here only to type it.
  return stats === undefined || stats === null ? null : PING_STATS(stats, "result.stats");
}

/** A round-trip time in ms, with the precision ping gives below 10 ms: `0.045 ms`, `12.4 ms`. */
export function formatRttMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return MISSING;
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/**
 * The table of figures: HOST, SENT, RECV, LOSS, MIN, AVG, MAX, for hosts whose
 * ping ran (ok or non-zero exit); loss is yellow when partial and red when total.
 * A ping that printed no summary has `(no summary)` across the figures. Empty
 * when no host ran ping.
 */
export function renderPingTable(
  results: readonly HostResult[],
  color: boolean,
  width?: number,
): string {
  const ran = results.filter((r) => r.status === "ok" || r.status === "nonzero");
  if (ran.length === 0) return "";
  const rows = ran.map((r) => {
    const s = pingStatsOf(r);
    if (s === null) return [r.host, "(no summary)"];
    const loss = formatPercent(s.lossPercent);
    const style = s.lossPercent >= 100 ? "red" : s.lossPercent > 0 ? "yellow" : null;
    return [
      r.host,
      String(s.sent),
      String(s.received),
      style ? paint(color, style, loss) : loss,
      formatRttMs(s.rttMinMs),
      formatRttMs(s.rttAvgMs),
      formatRttMs(s.rttMaxMs),
    ];
  });
  const right = (title: string) => ({ title, align: "right" as const });
  return renderTable(
    [
      { title: "HOST" },
      right("SENT"),
      right("RECV"),
      right("LOSS"),
      right("MIN"),
      right("AVG"),
      right("MAX"),
    ],
    rows,
    { color, width },
  );
}
