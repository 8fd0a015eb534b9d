/**
 * Request latency and throughput on one connection: serial `ram` calls (p50,
 * p99) and pipelined `ram` calls (requests/s), each repetition paired with the
 * same pattern against the echo floor with frames of the same size.
 * @module
 */

import type { HostLink } from "../lib/client/host_link.ts";
import { RAM } from "../lib/grammar/commands/metrics.ts";
import type { Endpoint } from "../lib/protocol/transport.ts";
import { EchoConn, echoLine } from "./echo_client.ts";
import { type BenchConfig, type Figure, figure } from "./report.ts";
import { now, percentile, summarize } from "./stats.ts";

/** Size in bytes of the `ram` answer frame (without newline), the echo floor's message size. */
export async function ramFrameBytes(link: HostLink): Promise<number> {
  const result = await link.call(RAM.method);
  // A response with a realistic id; the echo line then carries as many bytes as the answer.
  return JSON.stringify({ jsonrpc: "2.0", id: 12345, result }).length;
}

/** Milliseconds of each of `calls` serial `ram` calls on `link`. */
export async function serialRmon(link: HostLink, calls: number): Promise<number[]> {
  const times = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = now();
    await link.call(RAM.method);
    times[i] = now() - t0;
  }
  return times;
}

async function serialEcho(conn: EchoConn, line: Uint8Array, calls: number): Promise<number[]> {
  const times = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = now();
    await conn.roundTrip(line);
    times[i] = now() - t0;
  }
  return times;
}

/** Requests per second with `window` calls in flight until `total` have been answered. */
async function pipelinedRmon(link: HostLink, total: number, window: number): Promise<number> {
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      await link.call(RAM.method);
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: window }, worker));
  return total / ((now() - t0) / 1000);
}

/** Serial and pipelined figures for one rmon server (via `link`) and one echo server. */
export async function measureLatency(
  link: HostLink,
  echo: Endpoint,
  cfg: BenchConfig,
): Promise<Record<string, Figure>> {
  const size = await ramFrameBytes(link);
  const line = echoLine(size);
  const conn = await EchoConn.open(echo);
  try {
    // Warm-up: JIT, socket buffers and the server's memory cache.
    const warm = Math.max(50, cfg.serialCalls >> 2);
    await serialEcho(conn, line, warm);
    await serialRmon(link, warm);
    await conn.pipelined(line, cfg.window * 20, cfg.window);
    await pipelinedRmon(link, cfg.window * 20, cfg.window);

    const p50 = { rmon: [] as number[], echo: [] as number[] };
    const p99 = { rmon: [] as number[], echo: [] as number[] };
    const rps = { rmon: [] as number[], echo: [] as number[] };
    for (let rep = 0; rep < cfg.reps; rep++) {
      // Alternate which side goes first, so drift on a noisy machine hits both alike.
      const echoFirst = rep % 2 === 0;
      const e1 = echoFirst ? await serialEcho(conn, line, cfg.serialCalls) : null;
      const r = await serialRmon(link, cfg.serialCalls);
      const e = e1 ?? await serialEcho(conn, line, cfg.serialCalls);
      p50.rmon.push(percentile(r, 50));
      p99.rmon.push(percentile(r, 99));
      p50.echo.push(percentile(e, 50));
      p99.echo.push(percentile(e, 99));

      const echoMs = echoFirst
        ? await conn.pipelined(line, cfg.pipelinedCalls, cfg.window)
        : undefined;
      rps.rmon.push(await pipelinedRmon(link, cfg.pipelinedCalls, cfg.window));
      const ms = echoMs ?? await conn.pipelined(line, cfg.pipelinedCalls, cfg.window);
      rps.echo.push(cfg.pipelinedCalls / (ms / 1000));
    }
    const floorLabel = `echo server, one connection, ${
      size + 1
    }-byte lines (the size of a ram answer)`;
    return {
      "latency.serial.p50": figure(
        {
          label: "serial ram request, p50",
          unit: "ms",
          floorLabel: `serial round trip to the ${floorLabel}`,
          target: { of: "ratio", op: "<=", bound: 2 },
          note: `${cfg.serialCalls} calls per repetition; value = median of per-repetition p50`,
        },
        summarize(p50.rmon),
        summarize(p50.echo),
      ),
      "latency.serial.p99": figure(
        {
          label: "serial ram request, p99",
          unit: "ms",
          floorLabel: `serial round trip to the ${floorLabel}, p99`,
          note: `value = median of per-repetition p99`,
        },
        summarize(p99.rmon),
        summarize(p99.echo),
      ),
      "throughput.pipelined": figure(
        {
          label: `pipelined ram requests, ${cfg.window} in flight`,
          unit: "req/s",
          higherIsBetter: true,
          floorLabel: `pipelined ${floorLabel}, ${cfg.window} in flight`,
          target: { of: "value", op: ">=", bound: 25_000 },
          note: `${cfg.pipelinedCalls} calls per repetition`,
        },
        summarize(rps.rmon),
        summarize(rps.echo),
      ),
    };
  } finally {
    conn.close();
  }
}
