/**
 * How to keep the present set at 10,000 agents: each agent's heartbeat as a
 * plain NATS message on its presence subject (what rmon does), against a put
 * into a JetStream key-value bucket whose `max_age` is the TTL. One round of
 * N announcements (signed as agents sign them) from a few publisher
 * connections; the watcher is one client subscribed to `presence.*`, or
 * watching the bucket. Figures: time until the watcher has all N, this
 * process's CPU (publishers and watcher: both live here), and nats-server's
 * CPU for the round (from /proc), the load average beside them. Linux only
 * (reads /proc).
 *
 *   deno run -A bench/nats_presence.ts [--n 10000] [--rounds 3]
 * @module
 */
// deno-lint-ignore-file no-console

import process from "node:process";
import { parseArgs } from "node:util";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm } from "npm:@nats-io/kv@3.4.0";
import { BusKey } from "../lib/protocol/bus_auth.ts";
import { ANNOUNCE_NONCE, FleetSubjects } from "../lib/protocol/nats_subjects.ts";
import { median, now } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { n: { type: "string", default: "10000" }, rounds: { type: "string", default: "3" } },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const PUBLISHERS = 4;
const key = new BusKey("bench-token-0123456789abcdef");
const subjects = new FleetSubjects("bench");

/** One agent's announcement, as lib/server/nats_agent.ts makes it. */
function announcement(i: number): { subject: string; name: string; data: Uint8Array } {
  const name = `a${i}`;
  const subject = subjects.presence(name);
  const body = JSON.stringify({
    presence: { name, groups: ["web"], version: "0.1.0", address: "bench", readOnly: false },
    ts: Date.now(),
    intervalMs: 5000,
  });
  const data = key.signReply(ANNOUNCE_NONCE, subject, { host: name, seq: 0, kind: "end", body });
  return { subject, name, data };
}

/** A process's CPU time (user + system), ms, from /proc. */
function cpuOf(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const dir = await Deno.makeTempDir({ prefix: "rmon-bench-js-" });
const server = new Deno.Command("nats-server", {
  args: ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", dir],
  stdout: "null",
  stderr: "piped",
}).spawn();
const reader = server.stderr.getReader();
let log = "";
let port: string | undefined;
while (port === undefined) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`Cannot start nats-server:\n${log}`);
  log += new TextDecoder().decode(value);
  port = /Listening for client connections on [\d.]+:(\d+)/.exec(log)?.[1];
}
(async () => {
  while (!(await reader.read()).done) { /* drained */ }
})();
const url = `nats://127.0.0.1:${port}`;
const pubs: NatsConnection[] = await Promise.all(
  Array.from({ length: PUBLISHERS }, () => connect({ servers: url })),
);
const watcher = await connect({ servers: url });

interface Round {
  ms: number;
  watcherCpuMs: number;
  serverCpuMs: number;
}

async function measure(label: string, round: () => Promise<Round>): Promise<void> {
  const runs: Round[] = [];
  for (let r = 0; r < rounds; r++) runs.push(await round());
  const m = (f: (x: Round) => number) => median(runs.map(f)).toFixed(0);
  console.log(
    `${label}, N=${n} (load ${(Deno.loadavg()[0] ?? NaN).toFixed(1)}), median of ${rounds}: ` +
      `all seen in ${m((x) => x.ms)} ms; publishers + watcher CPU ${m((x) => x.watcherCpuMs)} ms ` +
      `(${(median(runs.map((x) => x.watcherCpuMs)) / n * 1000).toFixed(1)} µs each); ` +
      `nats-server CPU ${m((x) => x.serverCpuMs)} ms`,
  );
}

try {
  // Core NATS: the watcher subscribes to presence.* and checks each MAC, as the console does.
  await measure("heartbeat subject", async () => {
    const msgs = Array.from({ length: n }, (_, i) => announcement(i));
    let seen = 0;
    let done = () => {};
    const all = new Promise<void>((r) => done = r);
    const sub = watcher.subscribe(subjects.presenceAll, {
      callback: (_err, msg) => {
        if (key.openReply(ANNOUNCE_NONCE, msg.subject, msg.data) !== null && ++seen === n) done();
      },
    });
    await watcher.flush();
    const [t, c, s] = [now(), selfCpu(), cpuOf(server.pid)];
    msgs.forEach((m, i) => pubs[i % PUBLISHERS]!.publish(m.subject, m.data));
    await all;
    const round = {
      ms: now() - t,
      watcherCpuMs: selfCpu() - c,
      serverCpuMs: cpuOf(server.pid) - s,
    };
    sub.unsubscribe();
    return round;
  });

  // JetStream KV: one key per agent, the bucket's max_age as the TTL, the watcher on watch().
  const kvs = await Promise.all(
    pubs.map((nc) =>
      new Kvm(nc).create("rmon_presence", { ttl: 15_000, history: 1, storage: "memory" })
    ),
  );
  const watched = await new Kvm(watcher).open("rmon_presence");
  await measure("JetStream KV (memory, ttl 15 s)", async () => {
    const msgs = Array.from({ length: n }, (_, i) => announcement(i));
    let seen = 0;
    let done = () => {};
    const all = new Promise<void>((r) => done = r);
    const iter = await watched.watch({ include: "updates" });
    (async () => {
      for await (const e of iter) {
        if (key.openReply(ANNOUNCE_NONCE, subjects.presence(e.key), e.value) !== null) {
          if (++seen === n) done();
        }
      }
    })();
    const [t, c, s] = [now(), selfCpu(), cpuOf(server.pid)];
    // Every agent awaits its own put's acknowledgement; 500 in flight per publisher at once.
    for (let i = 0; i < n; i += 500 * PUBLISHERS) {
      await Promise.all(
        msgs.slice(i, i + 500 * PUBLISHERS).map((m, j) => kvs[j % PUBLISHERS]!.put(m.name, m.data)),
      );
    }
    await all;
    const round = {
      ms: now() - t,
      watcherCpuMs: selfCpu() - c,
      serverCpuMs: cpuOf(server.pid) - s,
    };
    iter.stop();
    return round;
  });
} finally {
  await Promise.all([...pubs, watcher].map((nc) => nc.close()));
  server.kill("SIGTERM");
  await server.status;
  await Deno.remove(dir, { recursive: true });
}
