/**
 * The fleet-size benchmark's inside: run by `bench/scale.ts` as root in a
 * private network namespace (`unshare -n`), where a server bound to 0.0.0.0
 * answers on every 127.X.Y.Z, so `--servers` rmon-server processes give
 * thousands of distinct hosts (host i is server i mod S, at its own loopback
 * address). Measures, for each size N of `--sizes`:
 *
 * - cold one-shot `ram` through the real client entry point (`client.ts
 *   --hosts @FILE --json -- ram`, the build's flags): wall time from spawn to
 *   exit, time from spawn to the first NDJSON record, client peak RSS
 *   (VmHWM); the floor of both times is the same client's start-up (`--version`);
 * - with `--hold`: a process holding N links (client_footprint.ts): warm
 *   fan-out wall, RSS, and idle CPU once heartbeats are in their steady state;
 * - with `--tls-size`: the cold one-shot and warm figures over TLS (servers
 *   with one shared certificate, pinned) next to plain;
 * - with `--check N:FANOUT:RUNS`: runs of a cold one-shot to N hosts at that
 *   fan-out, counting hosts reported anything but ok (false timeouts).
 *
 * Prints one JSON line: `{"figures":{...},"checks":[...]}`. Needs `-A` (it
 * reads /proc and runs `ip`).
 * @module
 */
// deno-lint-ignore-file no-console

import { parseArgs } from "node:util";
import { runFlags } from "../tools/entry_flags.ts";
import {
  baseEnv,
  BENCH_TOKEN,
  type BenchProcess,
  startMany,
  startRmonServer,
  stopAll,
} from "./procs.ts";
import { type Figure, figure, type Target } from "./report.ts";
import { summarize } from "./stats.ts";

/** The client entry point; `--client PATH` measures another checkout's (a "before" column). */
let CLIENT = new URL("../client.ts", import.meta.url).pathname;
/** Pass the hosts inline (`--hosts a,b,...`) for a client older than `--hosts @FILE`. */
let INLINE_HOSTS = false;
const FOOTPRINT = new URL("./client_footprint.ts", import.meta.url).pathname;
const MB = 1024 * 1024;
/** Processes started at once (2 cores: more only thrashes). */
const START_BATCH = 10;
/** How often the client's peak RSS is sampled (VmHWM keeps the peak; the last sample counts). */
const RSS_POLL_MS = 20;

/** Server flags: every address, plain (nothing leaves the namespace), no penalties, room for all. */
const SERVER_ARGS = ["--host", "0.0.0.0", "--penalty", "0", "--max-connections", "4096"];
/** Plain TCP on 0.0.0.0 must be asked for; nothing leaves the namespace. */
const PLAIN_ARGS = [...SERVER_ARGS, "--insecure-plaintext"];

function progress(text: string): void {
  console.error(`bench scale: ${text}`);
}

/** Host i's address: server i mod S, at loopback address number i div S. */
function hostAddresses(n: number, servers: readonly BenchProcess[]): string[] {
  return Array.from({ length: n }, (_, i) => {
    const k = Math.floor(i / servers.length);
    const port = servers[i % servers.length]!.endpoint.port;
    return `127.0.${1 + Math.floor(k / 250)}.${1 + (k % 250)}:${port}`;
  });
}

async function peakRss(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = status.match(/^VmHWM:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null; // it has exited
    throw err;
  }
}

interface OneShotRun {
  wallMs: number;
  firstMs: number;
  peakRssBytes: number;
  statuses: Record<string, number>;
  records: number;
}

/** Run the real client once; `extra` before `--`. */
async function oneShot(
  env: Record<string, string>,
  hostFile: string,
  extra: string[],
): Promise<OneShotRun> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...runFlags("client"),
      CLIENT,
      "--hosts",
      INLINE_HOSTS
        ? (await Deno.readTextFile(hostFile)).trim().split("\n").join(",")
        : `@${hostFile}`,
      "--json",
      ...extra,
      "--",
      "ram",
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  let running = true;
  const poll = (async () => {
    while (running) {
      peak = Math.max(peak, (await peakRss(child.pid)) ?? 0);
      await new Promise((r) => setTimeout(r, RSS_POLL_MS));
    }
  })();
  let firstMs = NaN;
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    if (Number.isNaN(firstMs)) firstMs = performance.now() - t0;
    text += decoder.decode(chunk, { stream: true });
  }
  const errText = new Response(child.stderr).text();
  const status = await child.status;
  const wallMs = performance.now() - t0;
  running = false;
  await poll;
  const statuses: Record<string, number> = {};
  let records = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const r = JSON.parse(line) as { status: string };
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    records++;
  }
  if (records === 0) {
    throw new Error(`Cannot run one-shot: exit ${status.code}: ${await errText}`);
  }
  return { wallMs, firstMs, peakRssBytes: peak, statuses, records };
}

/** The client's start-up: spawn to exit of `client.ts --version`. */
async function startup(env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...runFlags("client"), CLIENT, "--version"],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error("Cannot run client.ts --version");
  return performance.now() - t0;
}

interface Footprint {
  links: number;
  up: number;
  rssBytes: number;
  rssIdleBytes: number | null;
  warmMs: number[];
  watchMs: number[];
  idleCpuPercent: number | null;
}

async function footprint(
  env: Record<string, string>,
  serversFile: string,
  links: number,
  opts: {
    warmReps: number;
    watchRounds?: number;
    idleSeconds: number;
    idleWait: number;
    fingerprint?: string;
  },
): Promise<Footprint> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...runFlags("client"),
      FOOTPRINT,
      "--links",
      String(links),
      "--servers-file",
      serversFile,
      "--warm-reps",
      String(opts.warmReps),
      "--watch-rounds",
      String(opts.watchRounds ?? 0),
      "--idle-seconds",
      String(opts.idleSeconds),
      "--idle-wait",
      String(opts.idleWait),
      ...(opts.fingerprint ? ["--fingerprint", opts.fingerprint] : []),
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`Cannot measure ${links} links: exit ${out.code}\n${dec.decode(out.stderr)}`);
  }
  const result = JSON.parse(dec.decode(out.stdout).trim().split("\n").pop()!) as Footprint;
  if (result.up !== links) throw new Error(`Cannot hold ${links} links: ${result.up} up`);
  return result;
}

function allOk(run: OneShotRun, n: number, what: string): void {
  if (run.records !== n || run.statuses.ok !== n) {
    throw new Error(`${what}: ${run.records} records of ${n}: ${JSON.stringify(run.statuses)}`);
  }
}

interface Config {
  sizes: number[];
  servers: number;
  reps: number;
  hold: number[];
  warmReps: number;
  watchRounds: number;
  idleSeconds: number;
  idleWait: number;
  tlsSize: number;
  checks: { n: number; fanout: number; runs: number }[];
}

function targetsFor(n: number): { wall?: Target; first?: Target; rss?: Target } {
  return n === 5000
    ? {
      wall: { of: "value", op: "<=", bound: 3000 },
      first: { of: "value", op: "<=", bound: 100 },
      // The 150 MB, in this figure's MiB.
      rss: { of: "value", op: "<=", bound: 150e6 / MB },
    }
    : {};
}

async function measure(
  cfg: Config,
  dir: string,
): Promise<{ figures: Record<string, Figure>; checks: unknown[] }> {
  const figures: Record<string, Figure> = {};
  const checks: unknown[] = [];
  const maxN = Math.max(...cfg.sizes, ...cfg.hold, cfg.tlsSize, ...cfg.checks.map((c) => c.n));
  progress(`starting ${cfg.servers} servers on 0.0.0.0 for up to ${maxN} hosts`);
  const plain = await startMany(
    cfg.servers,
    START_BATCH,
    () => startRmonServer({ args: PLAIN_ARGS }),
  );
  const home = await Deno.makeTempDir({ prefix: "rmon-bench-scale-" });
  const env = {
    ...await baseEnv(),
    HOME: home,
    XDG_STATE_HOME: `${home}/state`,
    RMON_TOKEN: BENCH_TOKEN,
  };
  const files = new Map<string, string>();
  /** Cold one-shot walls per size, the floor of the warm fan-out to as many held links. */
  const coldWalls = new Map<number, number[]>();
  const hostFile = async (n: number, servers: readonly BenchProcess[], tag: string) => {
    const key = `${tag}${n}`;
    let path = files.get(key);
    if (!path) {
      path = `${dir}/hosts-${key}.txt`;
      await Deno.writeTextFile(path, hostAddresses(n, servers).join("\n") + "\n");
      files.set(key, path);
    }
    return path;
  };
  try {
    for (const n of cfg.sizes) {
      progress(`cold one-shot to ${n} hosts, ${cfg.reps} runs`);
      const file = await hostFile(n, plain, "plain");
      allOk(await oneShot(env, file, []), n, "warm-up");
      const wall: number[] = [];
      const first: number[] = [];
      const rss: number[] = [];
      const start: number[] = [];
      for (let rep = 0; rep < cfg.reps; rep++) {
        start.push(await startup(env));
        const run = await oneShot(env, file, []);
        allOk(run, n, `cold one-shot to ${n}`);
        wall.push(run.wallMs);
        first.push(run.firstMs);
        rss.push(run.peakRssBytes / MB);
      }
      const t = targetsFor(n);
      const startLabel = "the client's start-up: spawn to exit of client.ts --version";
      coldWalls.set(n, wall);
      figures[`scale.cold.n${n}`] = figure(
        {
          label: `cold one-shot ram to ${n} hosts (${cfg.servers} servers), spawn to exit`,
          unit: "ms",
          floorLabel: startLabel,
          target: t.wall,
          note: "real client process, --hosts @FILE --json, default fan-out",
        },
        summarize(wall),
        summarize(start),
      );
      // Time to first result counts from the client's start-up, which the floor measures.
      const firstAfter = first.map((f, i) => Math.max(0, f - start[i]!));
      figures[`scale.first.n${n}`] = figure(
        {
          label: `first result of a cold one-shot to ${n} hosts, after start-up`,
          unit: "ms",
          floorLabel: startLabel,
          target: t.first,
          note: "spawn to first NDJSON record, minus the start-up measured just before it",
        },
        summarize(firstAfter),
        summarize(start),
      );
      figures[`scale.rss.oneshot.n${n}`] = figure(
        {
          label: `client peak RSS, cold one-shot to ${n} hosts`,
          unit: "MiB",
          floorLabel: "the same process's peak RSS to one host",
          target: t.rss,
          note: "VmHWM sampled every 20 ms",
        },
        summarize(rss),
        summarize([(await oneShot(env, await hostFile(1, plain, "plain"), [])).peakRssBytes / MB]),
      );
    }
    if (cfg.hold.length > 0) {
      const empty = await footprint(env, await hostFile(1, plain, "plain"), 0, {
        warmReps: 0,
        idleSeconds: cfg.idleSeconds,
        idleWait: 0,
      });
      for (const n of cfg.hold) {
        progress(`holding ${n} links: warm fan-out, RSS, ${cfg.idleSeconds} s idle CPU`);
        const file = await hostFile(n, plain, "plain");
        const cold = coldWalls.get(n) ?? [(await oneShot(env, file, [])).wallMs];
        const fp = await footprint(env, file, n, cfg);
        figures[`scale.warm.n${n}`] = figure(
          {
            label: `warm fan-out: one ram to ${n} held links`,
            unit: "ms",
            floorLabel: `a cold one-shot to the same ${n} hosts (connect, auth, ram, close)`,
            note: `${cfg.warmReps} rounds in one process; ratio < 1: what holding the links saves`,
          },
          summarize(fp.warmMs),
          summarize(cold),
        );
        figures[`scale.watch.n${n}`] = figure(
          {
            label: `console watch round at ${n} hosts: vitals to all, frame for 50 lines drawn`,
            unit: "ms",
            floorLabel: `a warm ram fan-out to the same ${n} links`,
            target: n === 10_000 ? { of: "value", op: "<=", bound: 2000 } : undefined,
            note: `${cfg.watchRounds} rounds; watch refreshes every 2 s when a round takes less`,
          },
          summarize(fp.watchMs),
          summarize(fp.warmMs),
        );
        figures[`scale.rss.links.n${n}`] = figure(
          {
            label: `client RSS holding ${n} links`,
            unit: "MiB",
            floorLabel: "the same process holding no links",
            // The 400 MB, in this figure's MiB.
            target: n === 10_000 ? { of: "value", op: "<=", bound: 400e6 / MB } : undefined,
            note: "1 s after the warm and watch rounds",
          },
          summarize([fp.rssBytes / MB]),
          summarize([empty.rssBytes / MB]),
        );
        figures[`scale.rss.idle.links.n${n}`] = figure(
          {
            label: `client RSS holding ${n} links, after the idle period`,
            unit: "MiB",
            floorLabel: "the same process holding no links",
            note: `after ${cfg.idleWait + cfg.idleSeconds} s of heartbeats only`,
          },
          summarize([(fp.rssIdleBytes ?? NaN) / MB]),
          summarize([(empty.rssIdleBytes ?? NaN) / MB]),
        );
        figures[`scale.cpu.idle.n${n}`] = figure(
          {
            label: `client CPU idle holding ${n} links (heartbeats)`,
            unit: "% of a core",
            floorLabel: "the same process holding no links",
            floorResolution: 0.01,
            target: n === 10_000 ? { of: "value", op: "<=", bound: 2 } : undefined,
            note:
              `${cfg.idleSeconds} s sampled after ${cfg.idleWait} s settling; heartbeat interval ` +
              `scaled with the fleet (heartbeats.ts)`,
          },
          summarize([fp.idleCpuPercent ?? NaN]),
          summarize([empty.idleCpuPercent ?? NaN]),
        );
      }
    }
    if (cfg.tlsSize > 0) {
      progress(`TLS: ${cfg.servers} servers with one certificate; ${cfg.tlsSize} hosts`);
      const tlsHome = await Deno.makeTempDir({ prefix: "rmon-bench-scale-tls-" });
      // The first server makes the certificate; the others, started after it, serve the same one.
      const firstTls = await startRmonServer({ args: [...SERVER_ARGS], home: tlsHome });
      const tls = [
        firstTls,
        ...await startMany(
          cfg.servers - 1,
          START_BATCH,
          () => startRmonServer({ args: SERVER_ARGS, home: tlsHome }),
        ),
      ];
      try {
        const fp = firstTls.fingerprint;
        if (!fp || tls.some((s) => s.fingerprint !== fp)) {
          throw new Error("Cannot share one TLS certificate");
        }
        const n = cfg.tlsSize;
        const tlsFile = await hostFile(n, tls, "tls");
        const plainFile = await hostFile(n, plain, "plain");
        const pin = ["--fingerprint", `sha256:${fp}`];
        allOk(await oneShot(env, tlsFile, pin), n, "TLS warm-up");
        const wTls: number[] = [];
        const wPlain: number[] = [];
        const rTls: number[] = [];
        const rPlain: number[] = [];
        for (let rep = 0; rep < cfg.reps; rep++) {
          const a = await oneShot(env, plainFile, []);
          const b = await oneShot(env, tlsFile, pin);
          allOk(a, n, "plain");
          allOk(b, n, "TLS");
          wPlain.push(a.wallMs);
          wTls.push(b.wallMs);
          rPlain.push(a.peakRssBytes / MB);
          rTls.push(b.peakRssBytes / MB);
        }
        figures[`scale.tls.cold.n${n}`] = figure(
          {
            label: `cold one-shot ram to ${n} hosts over TLS, spawn to exit`,
            unit: "ms",
            floorLabel: "the same over plain TCP, interleaved",
            note: "servers share one certificate, pinned with --fingerprint",
          },
          summarize(wTls),
          summarize(wPlain),
        );
        figures[`scale.tls.rss.oneshot.n${n}`] = figure(
          {
            label: `client peak RSS, cold one-shot to ${n} hosts over TLS`,
            unit: "MiB",
            floorLabel: "the same over plain TCP",
          },
          summarize(rTls),
          summarize(rPlain),
        );
        const warmTls = await footprint(env, tlsFile, n, {
          ...cfg,
          idleSeconds: 0,
          fingerprint: fp,
        });
        const warmPlain = await footprint(env, plainFile, n, { ...cfg, idleSeconds: 0 });
        figures[`scale.tls.warm.n${n}`] = figure(
          {
            label: `warm fan-out: one ram to ${n} held TLS links`,
            unit: "ms",
            floorLabel: "the same over plain TCP",
          },
          summarize(warmTls.warmMs),
          summarize(warmPlain.warmMs),
        );
        figures[`scale.tls.rss.links.n${n}`] = figure(
          {
            label: `client RSS holding ${n} TLS links`,
            unit: "MiB",
            floorLabel: "the same over plain TCP",
          },
          summarize([warmTls.rssBytes / MB]),
          summarize([warmPlain.rssBytes / MB]),
        );
      } finally {
        await stopAll(tls);
        await Deno.remove(tlsHome, { recursive: true });
      }
    }
    for (const { n, fanout, runs } of cfg.checks) {
      const file = await hostFile(n, plain, "plain");
      const failed: number[] = [];
      const statuses: Record<string, number> = {};
      const walls: number[] = [];
      for (let i = 0; i < runs; i++) {
        progress(`false-timeout check ${i + 1}/${runs}: ${n} hosts, --fanout ${fanout}`);
        const run = await oneShot(env, file, ["--fanout", String(fanout)]);
        failed.push(n - (run.statuses.ok ?? 0));
        for (const [k, v] of Object.entries(run.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
        walls.push(run.wallMs);
        checks.push({
          n,
          fanout,
          wallMs: Math.round(run.wallMs),
          firstMs: Math.round(run.firstMs),
          peakRssMiB: Math.round(run.peakRssBytes / MB),
          records: run.records,
          statuses: run.statuses,
        });
      }
      // Every host is healthy: any that is not ok (timeout, overloaded, unreachable) is false.
      figures[`scale.false_timeouts.n${n}.f${fanout}`] = figure(
        {
          label: `hosts not ok, cold one-shot to ${n} healthy hosts at --fanout ${fanout}`,
          unit: "hosts",
          floorLabel: "none: every host is healthy",
          floorResolution: 1,
          target: { of: "value", op: "<=", bound: 0 },
          note: `${runs} runs; walls ${walls.map((w) => Math.round(w)).join(", ")} ms; statuses ${
            JSON.stringify(statuses)
          }`,
        },
        summarize(failed),
        summarize(failed.map(() => 0)),
      );
    }
  } finally {
    await stopAll(plain);
    await Deno.remove(home, { recursive: true });
  }
  return { figures, checks };
}

function numbers(text: string | undefined): number[] {
  return (text ?? "").split(",").filter((s) => s !== "").map(Number);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string" },
      servers: { type: "string" },
      reps: { type: "string" },
      hold: { type: "string" },
      "warm-reps": { type: "string" },
      "watch-rounds": { type: "string" },
      "idle-seconds": { type: "string" },
      "idle-wait": { type: "string" },
      "tls-size": { type: "string" },
      check: { type: "string", multiple: true },
      client: { type: "string" },
    },
    strict: true,
  });
  const checks = (values.check ?? []).map((text) => {
    const [n, fanout, runs] = text.split(":").map(Number);
    if (!n || !fanout || !runs) throw new TypeError(`Invalid --check "${text}": N:FANOUT:RUNS`);
    return { n, fanout, runs };
  });
  if (values.client !== undefined) {
    CLIENT = values.client;
    INLINE_HOSTS = true;
  }
  const cfg: Config = {
    sizes: numbers(values.sizes),
    servers: Number(values.servers ?? "20"),
    reps: Number(values.reps ?? "3"),
    hold: numbers(values.hold),
    warmReps: Number(values["warm-reps"] ?? "5"),
    watchRounds: Number(values["watch-rounds"] ?? "3"),
    idleSeconds: Number(values["idle-seconds"] ?? "15"),
    idleWait: Number(values["idle-wait"] ?? "20"),
    tlsSize: Number(values["tls-size"] ?? "0"),
    checks,
  };
  const up = await new Deno.Command("ip", { args: ["link", "set", "lo", "up"] }).output();
  if (!up.success) {
    throw new Error(`Cannot bring up loopback: ${new TextDecoder().decode(up.stderr)}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "rmon-bench-scale-files-" });
  try {
    console.log(JSON.stringify(await measure(cfg, dir)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
