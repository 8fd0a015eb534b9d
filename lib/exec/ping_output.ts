/**
 * Subprocess layer, pure part: the figures of a `ping` run read from its
 * summary — packets sent and received, loss, and round-trip min/avg/max — for
 * the output of Linux (iputils, BusyBox), macOS and the BSDs, and Windows in
 * any language (its summary is read by shape, not by its words).
 * @module
 */

import type { PingStats } from "../protocol/messages.ts";

/** iputils, BusyBox, macOS and BSD: `4 packets transmitted, 3 (packets) received`. */
const UNIX_COUNTS = /(\d+) packets transmitted, (\d+) (?:packets )?received/;

/** `rtt min/avg/max/mdev = 0.03/0.04/0.05/0.01 ms` (iputils), `round-trip min/avg/max(/stddev) = …` (BSD, BusyBox). */
const UNIX_RTT = /(?:rtt|round-trip) min\/avg\/max(?:\/\w+)? = ([\d.]+)\/([\d.]+)\/([\d.]+)/;

/**
 * Windows, whatever its language: `Packets: Sent = 4, Received = 3, Lost = 1`,
 * `Pakete: Gesendet = 4, Empfangen = 3, Verloren = 1` — three counts after `=`.
 */
const WINDOWS_COUNTS = /=\s*(\d+),\s*[^=,\n]+=\s*(\d+),\s*[^=,\n]+=\s*(\d+)/;

/** Windows: `Minimum = 0ms, Maximum = 7ms, Average = 3ms`, always in that order. */
const WINDOWS_RTT = /=\s*(\d+)\s*ms,\s*[^=,\n]+=\s*(\d+)\s*ms,\s*[^=,\n]+=\s*(\d+)\s*ms/i;

/** Loss in percent from the counts, to two decimals: ping's own figure is rounded differently per OS. */
function loss(sent: number, received: number): number {
  if (sent <= 0) return 100;
  return Math.round(Math.max(0, sent - received) / sent * 10_000) / 100;
}

/**
 * The figures of one `ping` run from its output, or null when it has no
 * summary (an unknown host, no route: ping gave up before sending). Round-trip
 * times are null when no reply came (ping prints none then).
 */
export function parsePingOutput(text: string): PingStats | null {
  const unix = UNIX_COUNTS.exec(text);
  if (unix) {
    const sent = Number(unix[1]);
    const received = Number(unix[2]);
    const rtt = UNIX_RTT.exec(text);
    return {
      sent,
      received,
      lossPercent: loss(sent, received),
      rttMinMs: rtt ? Number(rtt[1]) : null,
      rttAvgMs: rtt ? Number(rtt[2]) : null,
      rttMaxMs: rtt ? Number(rtt[3]) : null,
    };
  }
  const windows = WINDOWS_COUNTS.exec(text);
  if (windows) {
    const sent = Number(windows[1]);
    const received = Number(windows[2]);
    const rtt = WINDOWS_RTT.exec(text.slice(windows.index + windows[0].length));
    return {
      sent,
      received,
      lossPercent: loss(sent, received),
      rttMinMs: rtt ? Number(rtt[1]) : null,
      rttAvgMs: rtt ? Number(rtt[3]) : null,
      rttMaxMs: rtt ? Number(rtt[2]) : null,
    };
  }
  return null;
}
