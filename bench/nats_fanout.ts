/**
 * Bus mode against direct connections, at the same number of hosts: one
 * `ram` gathered from N agents through a NATS server (N real agent
 * connections, a few processes) and from N direct links (N connections over
 * a few `rmon-server` processes), each client alone in its process (its RSS
 * is the figure). The floor: one plain NATS request gathering N replies from
 * N bare NATS connections (NATS itself, no rmon code).
 *
 * Each row also gives the client's CPU time per reply (its own process's
 * user + system time over the run, divided by N) and the load average when
 * the row was measured: other work on the machine moves the wall times, the
 * floor moves with them.
 *
 * Then what users run: the client CLI itself, one-shot `ram` to the N agents
 * by name, to a pipe (wall time from spawn to exit, and peak RSS: the figure
 * the issue's 100 MB target is about). It always runs with deno.json's flags.
 *
 * Client probes run with the shipped client's V8 flags (deno.json
 * `binaries.client.v8Flags`); `--plain-v8` runs them with V8's defaults,
 * `--client-v8 FLAG,FLAG` with those instead.
 *
 *   deno run -A bench/nats_fanout.ts [--sizes 100,1000] [--reps 5] [--procs 4] [--skip-direct]
 *     [--plain-v8]
 * @module
 */
// deno-lint-ignore-file no-console

import { parseArgs } from "node:util";
import { baseEnv, BENCH_TOKEN, type Run, startRmonServer, stopAll, timed } from "./procs.ts";
import { median } from "./stats.ts";
import { binarySpec, runArgs } from "../tools/entry_flags.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "100,1000" },
    reps: { type: "string", default: "5" },
    procs: { type: "string", default: "4" },
    "skip-direct": { type: "boolean", default: false },
    "plain-v8": { type: "boolean", default: false },
    "client-v8": { type: "string" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const reps = Number(values.reps);
const procs = Number(values.procs);
const here = new URL(".", import.meta.url).pathname;
const decoder = new TextDecoder();

/** What a probe prints. */
interface Probe {
  connectMs: number;
  runsMs: number[];
  cpuMs: number[];
  rssBytes: number;
}

/** Start nats-server on a free loopback port; resolves with its URL and a stop function. */
async function startNats(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = new Deno.Command("nats-server", {
    args: ["-a", "127.0.0.1", "-p", "-1"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  let text = "";
  let port: string | undefined;
  while (port === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Cannot start nats-server:\n${text}`);
    text += decoder.decode(value);
    port = /Listening for client connections on [\d.]+:(\d+)/.exec(text)?.[1];
  }
  (async () => {
    while (!(await reader.read()).done) { /* drained */ }
  })();
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Start `procs` agent-host processes holding `n` identities between them; resolves when all are ready. */
async function startHosts(mode: "bus" | "bare", url: string, n: number) {
  const per = Math.ceil(n / procs);
  const children: { child: Deno.ChildProcess; offset: number }[] = [];
  for (let p = 0; p * per < n; p++) {
    const count = Math.min(per, n - p * per);
    children.push({
      child: new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${here}nats_agent_host.ts`, mode, url, String(count), String(p * per)],
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
      offset: p * per,
    });
  }
  await Promise.all(children.map(async ({ child }) => {
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("Cannot start agent host");
      text += decoder.decode(value);
    }
    // Keep draining so the host never blocks on a full pipe.
    (async () => {
      while (!(await reader.read()).done) { /* drained */ }
    })();
  }));
  return {
    pids: children.map(({ child }) => child.pid),
    async stop() {
      for (const { child } of children) child.kill("SIGTERM");
      await Promise.all(children.map(({ child }) => child.status));
    },
  };
}

async function probe(args: string[]): Promise<Probe> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...clientV8, `${here}nats_probe.ts`, ...args],
    env: { RMON_TOKEN: BENCH_TOKEN },
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`Probe ${args.join(" ")} failed`);
  return JSON.parse(decoder.decode(out.stdout));
}

/** The client's V8 flags, as the shipped binary has them (or none with --plain-v8). */
const v8Flags = values["plain-v8"]
  ? []
  : values["client-v8"]?.split(",") ?? binarySpec("client").v8Flags ?? [];
const clientV8 = v8Flags.length === 0 ? [] : [`--v8-flags=${v8Flags.join(",")}`];
console.log(`client V8 flags: ${v8Flags.join(" ") || "(V8 defaults)"}`);

const rows: string[] = [];

/** A process's CPU time so far (user + system), ms, from /proc (0 where there is none). */
function cpuOf(pid: number): number {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

/** The CPU the agent hosts and nats-server spent while `work` ran, ms. */
async function sideCpu(
  hosts: number[],
  nats: number,
  work: () => Promise<void>,
): Promise<{ agentsMs: number; natsMs: number }> {
  const sum = () => hosts.reduce((t, pid) => t + cpuOf(pid), 0);
  const [a, b] = [sum(), cpuOf(nats)];
  await work();
  return { agentsMs: sum() - a, natsMs: cpuOf(nats) - b };
}

/** The direct figure: N warm links over `procs` rmon-server processes. */
async function probeDirect(n: number): Promise<Probe> {
  const servers = await Promise.all(
    Array.from({ length: procs }, () => startRmonServer({ args: ["--max-connections", "4096"] })),
  );
  const ports = servers.map((s) => s.endpoint.port).join(",");
  return await probe(["direct", ports, String(n), String(reps)]).finally(() => stopAll(servers));
}
const mib = (b: number) => (b / 1048576).toFixed(0);

/**
 * What users run: the client CLI, as the build runs it (deno.json's flags),
 * one-shot `ram` to the N agents by name, its NDJSON to a pipe; wall time
 * from spawn to exit (start-up, NATS connect, presence, fan-out) and peak
 * RSS (GNU time), `reps` times.
 */
async function cliRuns(url: string, n: number): Promise<Run[]> {
  const env = { ...await baseEnv(), RMON_TOKEN: BENCH_TOKEN, HOME: "/nonexistent" };
  const argv = [
    Deno.execPath(),
    ...runArgs("client"),
    "--nats",
    url,
    "--fleet",
    "bench",
    "--json",
    "--wait",
    "30",
    `a[0-${n - 1}]`,
    "--",
    "ram",
  ];
  const runs: Run[] = [];
  for (let i = 0; i < reps; i++) runs.push(await timed(argv, env));
  return runs;
}
for (const n of sizes) {
  const nats = await startNats();
  let hosts: { pids: number[]; stop(): Promise<void> } | null = null;
  try {
    hosts = await startHosts("bare", nats.url, n);
    let floor!: Probe;
    const floorSide = await sideCpu(hosts.pids, nats.pid, async () => {
      floor = await probe(["bare", nats.url, String(n), String(reps)]);
    });
    await hosts.stop();
    hosts = await startHosts("bus", nats.url, n);
    let viaBus!: Probe;
    const busSide = await sideCpu(hosts.pids, nats.pid, async () => {
      viaBus = await probe(["bus", nats.url, String(n), String(reps)]);
    });
    const cli = await cliRuns(nats.url, n);
    await hosts.stop();
    hosts = null;
    console.log(
      `N=${n}: bus ${JSON.stringify(viaBus.runsMs.map(Math.round))} ms, bare floor ${
        JSON.stringify(floor.runsMs.map(Math.round))
      } ms (direct next)`,
    );
    const load = (Deno.loadavg()[0] ?? NaN).toFixed(1);
    const direct = values["skip-direct"] ? null : await probeDirect(n);
    const f = median(floor.runsMs);
    const b = median(viaBus.runsMs);
    const d = direct ? median(direct.runsMs) : NaN;
    const perReply = (p: Probe) => (median(p.cpuMs) / n * 1000).toFixed(1);
    const side = (ms: number) => (ms / (reps * n) * 1000).toFixed(1);
    rows.push(
      `N=${n} (load ${load}): ram to all, median of ${reps}: bus ${b.toFixed(1)} ms ` +
        `(${(b / f).toFixed(1)}× the bare-NATS floor ${f.toFixed(1)} ms)` +
        (direct ? `, direct ${d.toFixed(1)} ms (bus/direct ${(b / d).toFixed(2)})` : "") +
        `; client CPU per reply: bus ${perReply(viaBus)} µs, bare ${perReply(floor)} µs` +
        (direct ? `, direct ${perReply(direct)} µs` : "") +
        // The whole probe (its connect and presence too) over its reps × N answers.
        `; agent hosts / nats-server CPU per answer over the probe: bus ${
          side(busSide.agentsMs)
        } / ${side(busSide.natsMs)} µs, bare ${side(floorSide.agentsMs)} / ${
          side(floorSide.natsMs)
        } µs` +
        `; connect: bus (NATS + presence) ${viaBus.connectMs.toFixed(0)} ms` +
        (direct ? `, direct ${direct.connectMs.toFixed(0)} ms` : "") +
        `; client peak RSS: bus ${mib(viaBus.rssBytes)} MiB, bare NATS ${mib(floor.rssBytes)} MiB` +
        (direct ? `, direct ${mib(direct.rssBytes)} MiB` : "") +
        `; the CLI one-shot (rmon --nats URL a[0-${
          n - 1
        }] --json -- ram, to a pipe), median of ${reps}: ` +
        `${median(cli.map((r) => r.ms)).toFixed(0)} ms from spawn to exit, peak RSS ${
          mib(median(cli.map((r) => r.peakBytes)))
        } MiB (${(median(cli.map((r) => r.peakBytes)) / 1e6).toFixed(0)} MB; max ${
          mib(Math.max(...cli.map((r) => r.peakBytes)))
        } MiB)`,
    );
    console.log(rows.at(-1));
  } finally {
    // Agents first: a NATS server stopped under them would have them all reconnecting.
    await hosts?.stop();
    await nats.stop();
  }
}
