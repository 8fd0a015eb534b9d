/**
 * `deno task bench`: rmon's performance figures, measured against real
 * `rmon-server` processes on loopback, each next to a floor measured in the
 * same run (a minimal Deno echo server, a local child process, an empty
 * client process). Prints a table and writes the same figures as JSON.
 *
 *   deno task bench [--quick] [--out FILE] [--only SECTION,...]
 *
 * Sections: server (start, RSS, idle CPU), life (one server's RSS with many
 * connections, latency, throughput, exec streaming, RSS after the stream, and
 * the stream through the real client CLI), fanout (1…100 server processes),
 * client (client RSS with many links; peak RSS with many hosts' large outputs), tls
 * (a `--tls` server against a plain one started the same way: latency, cold
 * connect, exec streaming, RSS after start), web (`rmon web`'s page in chromium
 * with a simulated fleet: load, one update's main-thread time, heap after an hour),
 * files (push a file to many servers and pull it back, against local `cp`; client peak RSS),
 * scale (thousands of hosts in a private network namespace, bench/scale.ts: cold one-shot,
 * first result, client peak RSS, warm fan-out, RSS and idle CPU holding the links, TLS
 * against plain, false timeouts at a large fan-out; skipped with a note where
 * `unshare -n` cannot run).
 * @module
 */
// deno-lint-ignore-file no-console

import { parseArgs } from "node:util";
import { measureExec } from "./exec_stream.ts";
import { base64OutputBytes } from "./exec_stream.ts";
import { measureFanout } from "./fanout.ts";
import {
  measureClient,
  measureServerAfterStream,
  measureServerConnections,
  measureServerStart,
} from "./footprint.ts";
import { measureLatency, ramFrameBytes } from "./latency.ts";
import { measureTls } from "./tls.ts";
import { measureWeb } from "./web.ts";
import { measureTransfer } from "./transfer.ts";
import { measureClientManyOutputs, measureClientStream } from "./client_output.ts";
import { measureScale } from "./scale.ts";
import { buildFleet, connectAll, keyFor } from "./links.ts";
import {
  BENCH_TOKEN,
  type BenchProcess,
  clockTicksPerSecond,
  startEchoServer,
  startMany,
  startRmonServer,
  stopAll,
  stopEverything,
} from "./procs.ts";
import {
  type BenchConfig,
  type BenchResults,
  type Figure,
  figureKeys,
  formatTable,
} from "./report.ts";

/** The sizes of a full run. */
export const FULL: BenchConfig = {
  reps: 5,
  serialCalls: 2_000,
  pipelinedCalls: 30_000,
  window: 64,
  fanoutSizes: [1, 10, 100],
  fanoutWarmReps: 30,
  fanoutColdReps: 10,
  execZeroBytes: 200_000_000,
  execReps: 3,
  serverConnections: 100,
  idleSeconds: 10,
  clientLinks: [100, 1000],
  clientServers: 10,
  coldConnects: 20,
  webHosts: 1000,
  webUpdateRounds: 20,
  webHourRounds: 1800,
  fileBytes: 100_000_000,
  fileServers: 10,
  clientStreamZeroBytes: 375_000_000,
  clientOutputHosts: 100,
  clientOutputBytesPerHost: 16 * 1024 * 1024,
  scale: {
    sizes: [1000, 5000],
    servers: 20,
    reps: 3,
    hold: [1000, 10_000],
    warmReps: 5,
    watchRounds: 3,
    // The heartbeat interval grows with the fleet (36 s at 10,000 links, heartbeats.ts): the
    // wait lets every link's first heartbeat after the fan-out's traffic come (interval plus a
    // quarter), and the sample spans a whole interval of the steady state.
    idleSeconds: 40,
    idleWait: 50,
    tlsSize: 1000,
    checks: [{ n: 10_000, fanout: 1024, runs: 3 }],
  },
};

/** The sizes of `--quick`: a smoke run of every figure in well under a minute. */
export const QUICK: BenchConfig = {
  reps: 2,
  serialCalls: 200,
  pipelinedCalls: 2_000,
  window: 64,
  fanoutSizes: [1, 3],
  fanoutWarmReps: 5,
  fanoutColdReps: 2,
  execZeroBytes: 5_000_000,
  execReps: 2,
  serverConnections: 10,
  idleSeconds: 1,
  clientLinks: [10, 30],
  clientServers: 2,
  coldConnects: 5,
  webHosts: 50,
  webUpdateRounds: 5,
  webHourRounds: 60,
  fileBytes: 5_000_000,
  fileServers: 2,
  clientStreamZeroBytes: 5_000_000,
  clientOutputHosts: 3,
  clientOutputBytesPerHost: 1024 * 1024,
  scale: {
    sizes: [20],
    servers: 2,
    reps: 1,
    hold: [20],
    warmReps: 2,
    watchRounds: 1,
    idleSeconds: 1,
    idleWait: 0,
    tlsSize: 0,
    checks: [],
  },
};

const SECTIONS = ["server", "life", "fanout", "client", "tls", "web", "files", "scale"] as const;
type Section = typeof SECTIONS[number];

/** Processes started at once when starting a pool (2 cores: more only thrashes). */
const START_BATCH = 10;

function progress(text: string): void {
  console.error(`bench: ${text}`);
}

async function lifeSection(cfg: BenchConfig): Promise<Record<string, Figure>> {
  const maxOutput = base64OutputBytes(Math.max(cfg.execZeroBytes, cfg.clientStreamZeroBytes)) +
    1024 * 1024;
  const server = await startRmonServer({ args: ["--max-output", String(maxOutput)] });
  const echo = await startEchoServer();
  const procs: BenchProcess[] = [server, echo];
  const key = keyFor(BENCH_TOKEN);
  const fleet = buildFleet([server.endpoint], 1, key);
  try {
    await connectAll(fleet);
    const link = fleet.get("h0")!;
    const lineBytes = await ramFrameBytes(link);
    progress(`server life: ${cfg.serverConnections} connections`);
    const conns = await measureServerConnections(server, echo, cfg, key, lineBytes);
    progress("server life: serial and pipelined ram");
    const latency = await measureLatency(link, echo.endpoint, cfg);
    progress("server life: exec streaming");
    const exec = await measureExec(link, cfg);
    const after = await measureServerAfterStream(server, echo, cfg);
    progress("client streaming through the real client.ts");
    const stream = await measureClientStream(server.endpoint, cfg);
    return { ...latency, ...exec, ...conns, ...after, ...stream };
  } finally {
    await fleet.close();
    await stopAll(procs);
  }
}

async function poolSections(
  cfg: BenchConfig,
  sections: ReadonlySet<Section>,
): Promise<Record<string, Figure>> {
  const size = Math.max(
    sections.has("fanout") ? Math.max(...cfg.fanoutSizes) : 0,
    sections.has("client") ? Math.max(cfg.clientServers, cfg.clientOutputHosts) : 0,
  );
  progress(`starting ${size} rmon-server and ${size} echo processes, ${START_BATCH} at a time`);
  // A client draining a hundred large outputs on a busy 2-core machine may leave one socket
  // unread for more than the default 10 s write timeout; that is load, not a stalled peer.
  const servers = await startMany(
    size,
    START_BATCH,
    () => startRmonServer({ args: ["--write-timeout", "120"] }),
  );
  let echoes: BenchProcess[] = [];
  try {
    echoes = await startMany(size, START_BATCH, startEchoServer);
    const out: Record<string, Figure> = {};
    if (sections.has("fanout")) {
      progress(`fan-out to ${cfg.fanoutSizes.join(", ")} servers`);
      const key = keyFor(BENCH_TOKEN);
      const probe = buildFleet([servers[0]!.endpoint], 1, key);
      let lineBytes: number;
      try {
        await connectAll(probe);
        lineBytes = await ramFrameBytes(probe.get("h0")!);
      } finally {
        await probe.close();
      }
      Object.assign(
        out,
        await measureFanout(
          servers.map((s) => s.endpoint),
          echoes.map((s) => s.endpoint),
          cfg,
          key,
          lineBytes,
        ),
      );
    }
    if (sections.has("client")) {
      progress(`client footprint: ${cfg.clientLinks.join(", ")} links`);
      Object.assign(
        out,
        await measureClient(servers.slice(0, cfg.clientServers).map((s) => s.endpoint), cfg),
      );
      const many = cfg.clientOutputHosts;
      progress(`client: ${many} hosts × ${cfg.clientOutputBytesPerHost} bytes of output`);
      Object.assign(
        out,
        await measureClientManyOutputs(servers.slice(0, many).map((s) => s.endpoint), cfg),
      );
    }
    return out;
  } finally {
    await stopAll([...servers, ...echoes]);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      out: { type: "string" },
      only: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "Usage: deno task bench [--quick] [--out FILE] [--only server,life,fanout,client,tls,web,files,scale]",
    );
    return 0;
  }
  const quick = values.quick ?? false;
  const cfg = quick ? QUICK : FULL;
  const only = values.only?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const s of only ?? []) {
    if (!(SECTIONS as readonly string[]).includes(s)) {
      console.error(`bench: unknown section "${s}" (known: ${SECTIONS.join(", ")})`);
      return 2;
    }
  }
  const sections = new Set<Section>((only ?? SECTIONS) as Section[]);
  const out = values.out ?? new URL("./results.json", import.meta.url).pathname;

  const started = performance.now();
  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    quick,
    machine: {
      cores: navigator.hardwareConcurrency,
      denoVersion: Deno.version.deno,
      os: `${Deno.build.os} ${Deno.osRelease()}`,
      memTotalBytes: Deno.systemMemoryInfo().total,
    },
    config: cfg,
    figures: {},
    durationSeconds: 0,
  };
  const figures: Record<string, Figure> = {};
  if (sections.has("server")) {
    progress(`server start, RSS and ${cfg.idleSeconds} s idle CPU (${cfg.reps} servers)`);
    Object.assign(figures, await measureServerStart(cfg, await clockTicksPerSecond()));
  }
  if (sections.has("life")) Object.assign(figures, await lifeSection(cfg));
  if (sections.has("fanout") || sections.has("client")) {
    Object.assign(figures, await poolSections(cfg, sections));
  }
  if (sections.has("tls")) Object.assign(figures, await measureTls(cfg, progress));
  if (sections.has("web")) Object.assign(figures, await measureWeb(cfg, progress));
  if (sections.has("files")) Object.assign(figures, await measureTransfer(cfg, progress));
  if (sections.has("scale")) {
    progress("fleet sizes: thousands of hosts in a private network namespace");
    const scale = await measureScale(cfg, progress);
    if ("skipped" in scale) results.skipped = [`scale: ${scale.skipped}`];
    else Object.assign(figures, scale.figures);
  }
  // Keep a stable order: the order of figureKeys, whatever order sections ran in.
  for (const key of figureKeys(cfg, results.skipped)) {
    if (figures[key]) results.figures[key] = figures[key];
  }
  results.durationSeconds = Math.round((performance.now() - started) / 100) / 10;
  await Deno.writeTextFile(out, JSON.stringify(results, null, 2) + "\n");
  console.log(formatTable(results));
  for (const note of results.skipped ?? []) console.log(`skipped: ${note}`);
  console.log(`\n${results.durationSeconds} s; figures written to ${out}`);
  return 0;
}

if (import.meta.main) {
  // An interrupted run must not leave a hundred servers behind: stop ours, then exit.
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    console.error("bench: interrupted; stopping the servers it started");
    stopEverything().finally(() => Deno.exit(130));
  };
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    Deno.exitCode = await main();
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}
