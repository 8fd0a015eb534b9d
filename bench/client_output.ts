/**
 * Output through the real client: `client.ts` run as the build runs it, one-shot,
 * stdout to /dev/null, timed from spawn to exit with its peak RSS (GNU
 * `/usr/bin/time -f %M`). One host streaming `head -c N /dev/zero | base64`
 * with `--no-prefix` and with the default prefixed lines (MB/s against the same
 * command piped to /dev/null locally; peak RSS against the client running
 * `sh: true`), and many hosts each printing the same large output at once
 * (peak RSS against the same client fanning out `sh: true` to them).
 * @module
 */

import { runArgs } from "../tools/entry_flags.ts";
import { formatEndpoint } from "../lib/protocol/transport.ts";
import type { Endpoint } from "../lib/protocol/transport.ts";
import { base64OutputBytes, streamCommand } from "./exec_stream.ts";
import { baseEnv, BENCH_TOKEN, type Run, timed } from "./procs.ts";
import { type BenchConfig, type Figure, figure } from "./report.ts";
import { summarize } from "./stats.ts";

const MB = 1024 * 1024;
/** A line of 74 characters: the many-host output is lines, as real output is. */
const LINE = "0123456789".repeat(7) + "0123";

/** Run the client one-shot against `hosts` with `flags` and the command `cmd`. */
async function client(
  hosts: readonly Endpoint[],
  flags: string[],
  cmd: string,
  tail = false,
): Promise<Run> {
  const env = { ...await baseEnv(), RMON_TOKEN: BENCH_TOKEN, HOME: "/nonexistent" };
  const argv = [
    Deno.execPath(),
    ...runArgs("client"),
    "--hosts",
    hosts.map(formatEndpoint).join(","),
    "--yes",
    "--timeout",
    "600",
    // Two cores and a hundred busy servers: a slow handshake is load, not a dead host.
    "--connect-timeout",
    "60",
    ...flags,
    "--",
    cmd,
  ];
  return await timed(argv, env, tail);
}

/** The floor of the stream: the same command run locally, its output piped to /dev/null. */
async function localPipe(bytes: number): Promise<Run> {
  return await timed(["sh", "-c", streamCommand(bytes)], await baseEnv());
}

/** One host streaming through the client: MB/s (no prefix, prefixed) and peak RSS. */
export async function measureClientStream(
  server: Endpoint,
  cfg: BenchConfig,
): Promise<Record<string, Figure>> {
  const bytes = cfg.clientStreamZeroBytes;
  const outBytes = base64OutputBytes(bytes);
  const cmd = `sh: ${streamCommand(bytes)}`;
  const mbps = (r: Run) => outBytes / 1e6 / (r.ms / 1000);
  // Warm-up: Deno's cache of the client's module graph, the server's JIT.
  await client([server], ["--no-prefix"], `sh: ${streamCommand(1_000_000)}`);
  const s = { plain: [] as number[], prefixed: [] as number[], local: [] as number[] };
  const rss = { stream: [] as number[], idle: [] as number[] };
  for (let rep = 0; rep < cfg.execReps; rep++) {
    s.local.push(mbps(await localPipe(bytes)));
    s.plain.push(mbps(await client([server], ["--no-prefix"], cmd)));
    const prefixed = await client([server], [], cmd);
    s.prefixed.push(mbps(prefixed));
    rss.stream.push(prefixed.peakBytes / MB);
    rss.idle.push((await client([server], [], "sh: true")).peakBytes / MB);
  }
  const what = `"${streamCommand(bytes)}" (${(outBytes / 1e6).toFixed(0)} MB)`;
  const floorLabel = "the same command run locally, piped to /dev/null";
  const note = "rmon client process spawn to exit (Deno start, connect and auth included)";
  return {
    "client.stream.no_prefix": figure(
      {
        label: `client one-shot --no-prefix ${what} to /dev/null`,
        unit: "MB/s",
        higherIsBetter: true,
        floorLabel,
        note,
      },
      summarize(s.plain),
      summarize(s.local),
    ),
    "client.stream.prefixed": figure(
      {
        label: `client one-shot ${what}, host-prefixed lines, to /dev/null`,
        unit: "MB/s",
        higherIsBetter: true,
        floorLabel,
        note,
      },
      summarize(s.prefixed),
      summarize(s.local),
    ),
    "client.stream.rss": figure(
      {
        label: `client peak RSS streaming ${what}, host-prefixed lines`,
        unit: "MiB",
        floorLabel: `the same client running "sh: true"`,
        target: { of: "value", op: "<", bound: 150 },
      },
      summarize(rss.stream),
      summarize(rss.idle),
    ),
  };
}

/** Many hosts printing the same large output at once: the client's peak RSS. */
export async function measureClientManyOutputs(
  servers: readonly Endpoint[],
  cfg: BenchConfig,
): Promise<Record<string, Figure>> {
  const each = cfg.clientOutputBytesPerHost;
  const cmd = `sh: yes ${LINE} | head -c ${each}`;
  const reps = Math.min(cfg.reps, 3);
  const rss = { output: [] as number[], idle: [] as number[] };
  await client(servers, [], "sh: true");
  for (let rep = 0; rep < reps; rep++) {
    rss.idle.push((await client(servers, [], "sh: true")).peakBytes / MB);
    rss.output.push((await client(servers, [], cmd, true)).peakBytes / MB);
  }
  const n = servers.length;
  return {
    [`client.outputs.n${n}`]: figure(
      {
        label: `client peak RSS, ${n} hosts × ${
          each / MB
        } MiB of output each (streamed + gathered)`,
        unit: "MiB",
        floorLabel: `the same client running "sh: true" on the ${n} hosts`,
        target: { of: "value", op: "<", bound: 150 },
        note: "one server process per host, default --fanout; stdout read and dropped",
      },
      summarize(rss.output),
      summarize(rss.idle),
    ),
  };
}
