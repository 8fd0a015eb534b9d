/**
 * Footprints from /proc: the server's start time (spawn to accepting), RSS
 * after start, idle CPU, RSS while holding many connections and after a large
 * exec stream; and the client's RSS holding many links (measured in a separate
 * process, `client_footprint.ts`, run with the client's permission flags).
 * Every figure's floor is the echo server (or an empty client process).
 * @module
 */

import { binarySpec } from "../tools/entry_flags.ts";
import type { Endpoint } from "../lib/protocol/transport.ts";
import type { TokenKey } from "../lib/protocol/auth.ts";
import { EchoConn, echoLine } from "./echo_client.ts";
import { base64OutputBytes } from "./exec_stream.ts";
import { buildFleet, connectAll, linkNames } from "./links.ts";
import {
  baseEnv,
  BENCH_TOKEN,
  type BenchProcess,
  cpuTicks,
  rssBytes,
  startEchoServer,
  startRmonServer,
  stopAll,
  timeToAccept,
} from "./procs.ts";
import { type BenchConfig, type Figure, figure } from "./report.ts";
import { summarize } from "./stats.ts";

const MB = 1024 * 1024;
/** How long a fresh process is left alone before its RSS is read. */
export const SETTLE_MS = 1_000;
const CLIENT_FOOTPRINT = new URL("./client_footprint.ts", import.meta.url).pathname;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start `cfg.reps` servers and echo servers one at a time (spawn to accepting),
 * then read each one's RSS after it settled, and its CPU use over an idle window
 * (all at once, so the window is paid once).
 */
export async function measureServerStart(
  cfg: BenchConfig,
  ticksPerSecond: number,
): Promise<Record<string, Figure>> {
  const procs: BenchProcess[] = [];
  try {
    // Warm the module cache and the page cache for both entry points.
    await (await startRmonServer()).stop();
    await (await startEchoServer()).stop();
    const startMs = { rmon: [] as number[], echo: [] as number[] };
    const pairs: { rmon: BenchProcess; echo: BenchProcess }[] = [];
    for (let rep = 0; rep < cfg.reps; rep++) {
      const e = await timeToAccept(startEchoServer);
      procs.push(e.proc);
      const r = await timeToAccept(() => startRmonServer());
      procs.push(r.proc);
      startMs.echo.push(e.acceptMs);
      startMs.rmon.push(r.acceptMs);
      pairs.push({ rmon: r.proc, echo: e.proc });
    }
    await sleep(SETTLE_MS);
    const rss = { rmon: [] as number[], echo: [] as number[] };
    for (const p of pairs) {
      rss.rmon.push(await rssBytes(p.rmon.pid) / MB);
      rss.echo.push(await rssBytes(p.echo.pid) / MB);
    }
    const before = await Promise.all(procs.map((p) => cpuTicks(p.pid)));
    const t0 = performance.now();
    await sleep(cfg.idleSeconds * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const after = await Promise.all(procs.map((p) => cpuTicks(p.pid)));
    const pct = after.map((t, i) => (t - before[i]!) / ticksPerSecond / seconds * 100);
    const cpu = {
      rmon: pct.filter((_, i) => procs[i]!.kind === "rmon"),
      echo: pct.filter((_, i) => procs[i]!.kind === "echo"),
    };
    const resolution = 100 / ticksPerSecond / seconds;
    return {
      "server.start": figure(
        {
          label: "server start: spawn to accepting connections",
          unit: "ms",
          floorLabel: "the echo server, spawn to accepting",
          target: { of: "value", op: "<=", bound: 150 },
          note: "deno run with the build's flags, module cache warm",
        },
        summarize(startMs.rmon),
        summarize(startMs.echo),
      ),
      "server.rss.start": figure(
        {
          label: `server RSS ${SETTLE_MS / 1000} s after start`,
          unit: "MiB",
          floorLabel: "the echo server's RSS",
          target: { of: "value", op: "<=", bound: 40 },
        },
        summarize(rss.rmon),
        summarize(rss.echo),
      ),
      "server.cpu.idle": figure(
        {
          label: `server CPU while idle (no connections) for ${cfg.idleSeconds} s`,
          unit: "%",
          floorLabel: "the echo server over the same window",
          target: { of: "value", op: "<", bound: 0.5 },
          floorResolution: resolution,
          note: `utime+stime from /proc; resolution ${
            resolution.toFixed(3)
          } %, the ratio's floor is at least that`,
        },
        summarize(cpu.rmon),
        summarize(cpu.echo),
      ),
    };
  } finally {
    await stopAll(procs);
  }
}

/**
 * RSS of `server` while it holds `cfg.serverConnections` authenticated links
 * (each made one `ram` call); the floor holds as many echo connections.
 */
export async function measureServerConnections(
  server: BenchProcess,
  echo: BenchProcess,
  cfg: BenchConfig,
  key: TokenKey,
  lineBytes: number,
): Promise<Record<string, Figure>> {
  const n = cfg.serverConnections;
  const fleet = buildFleet([server.endpoint], n, key);
  const conns: EchoConn[] = [];
  try {
    await connectAll(fleet);
    await fleet.run(linkNames(n), { kind: "ram" });
    for (let i = 0; i < n; i++) conns.push(await EchoConn.open(echo.endpoint));
    const line = echoLine(lineBytes);
    await Promise.all(conns.map((c) => c.roundTrip(line)));
    await sleep(SETTLE_MS / 4);
    return {
      [`server.rss.conns${n}`]: figure(
        {
          label: `server RSS holding ${n} authenticated connections`,
          unit: "MiB",
          floorLabel: `the echo server's RSS holding ${n} connections`,
          note: "one server's life: after its start, before the latency and exec figures",
        },
        summarize([await rssBytes(server.pid) / MB]),
        summarize([await rssBytes(echo.pid) / MB]),
      ),
    };
  } finally {
    for (const c of conns) c.close();
    await fleet.close();
  }
}

/** RSS of `server` after the exec stream figures; the floor echoes as many bytes. */
export async function measureServerAfterStream(
  server: BenchProcess,
  echo: BenchProcess,
  cfg: BenchConfig,
): Promise<Record<string, Figure>> {
  const conn = await EchoConn.open(echo.endpoint);
  try {
    await conn.stream(base64OutputBytes(cfg.execZeroBytes));
  } finally {
    conn.close();
  }
  await sleep(SETTLE_MS / 4);
  return {
    "server.rss.after_stream": figure(
      {
        label: "server RSS after the exec stream figures",
        unit: "MiB",
        floorLabel: "the echo server's RSS after echoing as many bytes",
        note: `after ${cfg.execReps + 1} streams of ${
          (base64OutputBytes(cfg.execZeroBytes) / 1e6).toFixed(0)
        } MB and the latency figures`,
      },
      summarize([await rssBytes(server.pid) / MB]),
      summarize([await rssBytes(echo.pid) / MB]),
    ),
  };
}

/** What `client_footprint.ts` prints: one JSON line. */
export interface ClientFootprint {
  links: number;
  up: number;
  rssBytes: number;
}

/** Run `client_footprint.ts` holding `links` links spread over `servers`. */
export async function runClientFootprint(
  servers: readonly Endpoint[],
  links: number,
): Promise<ClientFootprint> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...binarySpec("client").options,
      ...binarySpec("client").permissions,
      CLIENT_FOOTPRINT,
      "--links",
      String(links),
      "--servers",
      servers.map((s) => `${s.hostname}:${s.port}`).join(","),
    ],
    env: { ...await baseEnv(), RMON_TOKEN: BENCH_TOKEN },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `Cannot measure client footprint: exit ${out.code}\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const result = JSON.parse(text.split("\n").pop()!) as ClientFootprint;
  if (result.up !== links) {
    throw new Error(`Cannot measure client footprint: ${result.up} of ${links} links up`);
  }
  return result;
}

/** Client RSS figures for every count in `cfg.clientLinks`; the floor is the same process with no links. */
export async function measureClient(
  servers: readonly Endpoint[],
  cfg: BenchConfig,
): Promise<Record<string, Figure>> {
  const out: Record<string, Figure> = {};
  const reps = Math.min(cfg.reps, 3);
  await runClientFootprint(servers, 0);
  for (const n of cfg.clientLinks) {
    const rmon: number[] = [];
    const empty: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      empty.push((await runClientFootprint(servers, 0)).rssBytes / MB);
      rmon.push((await runClientFootprint(servers, n)).rssBytes / MB);
    }
    out[`client.rss.links${n}`] = figure(
      {
        label: `client RSS holding ${n} links (${servers.length} servers)`,
        unit: "MiB",
        floorLabel: "the same client process with no links",
        target: n === 1000 ? { of: "value", op: "<=", bound: 200 } : undefined,
        note: "Fleet of HostLinks, all up, after one ram fan-out to all",
      },
      summarize(rmon),
      summarize(empty),
    );
  }
  return out;
}
