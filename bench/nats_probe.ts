/**
 * Benchmark helper process: the client side of one fan-out figure, alone in
 * its process so its resident memory is its own. `bus`: the real `NatsFleet`
 * (presence query, then `ram` to every agent, REPS times); `direct`: the
 * real direct `Fleet` with COUNT links spread over the given rmon-server
 * ports; `bare`: one plain NATS request gathering COUNT replies (the floor).
 * Prints one JSON line: `{connectMs, runsMs: [...], cpuMs: [...], rssBytes}`:
 * wall time and this process's CPU time (user + system) of each run, and its
 * peak resident memory. Each mode loads only its own modules (the token comes
 * in `RMON_TOKEN`, not from the bench's modules), so the figure is that
 * client's alone: the bus probe does not carry the NATS project's client, nor
 * the direct one rmon's NATS code.
 *
 *   deno run -A bench/nats_probe.ts bus URL COUNT REPS
 *   deno run -A bench/nats_probe.ts direct PORT,PORT… COUNT REPS
 *   deno run -A bench/nats_probe.ts bare URL COUNT REPS
 * @module
 */
// deno-lint-ignore-file no-console

import process from "node:process"; // the CLI loads Node's compat layer too
import { now } from "./stats.ts";

const [mode, where, countText, repsText] = Deno.args;
const token = Deno.env.get("RMON_TOKEN") ?? "";
const count = Number(countText);
const reps = Number(repsText);
const RAM = { kind: "ram" } as const;

/** Fail loudly unless every host answered ok. */
function checkAll(results: { status: string; host: string; error?: string }[], n: number): void {
  const bad = results.find((r) => r.status !== "ok");
  if (bad || results.length !== n) {
    throw new Error(
      `Cannot fan out: ${results.length}/${n}; ${bad?.host} ${bad?.status} ${bad?.error}`,
    );
  }
}

const runsMs: number[] = [];
const cpuMs: number[] = [];
let connectMs = 0;

/** This process's CPU time so far, ms. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
if (mode === "bus") {
  const { NatsFleet } = await import("../lib/client/nats_fleet.ts");
  const names = Array.from({ length: count }, (_, i) => `a${i}`);
  const fleet = new NatsFleet({
    servers: [where!],
    fleet: "bench",
    token,
    expected: names.map((name) => ({ name, groups: [] })),
    discoverMs: 30_000,
  });
  const t0 = now();
  await fleet.connect();
  connectMs = now() - t0;
  for (let i = 0; i < reps; i++) {
    const t = now();
    const c = cpuNow();
    const results = await fleet.run(names, RAM, { waitMs: 30_000 });
    runsMs.push(now() - t);
    cpuMs.push(cpuNow() - c);
    checkAll(results, count);
  }
  await fleet.close();
} else if (mode === "direct") {
  const { buildFleet, connectAll, keyFor, linkNames } = await import("./links.ts");
  const endpoints = where!.split(",").map((p) => ({ hostname: "127.0.0.1", port: Number(p) }));
  const fleet = buildFleet(endpoints, count, keyFor(token));
  // Connect as the real client does (64 at a time: the servers' startup limits expect no
  // more), then send to every host at once, as the bus does.
  const t0 = now();
  await connectAll(fleet);
  connectMs = now() - t0;
  fleet.fanout = count;
  for (let i = 0; i < reps; i++) {
    const t = now();
    const c = cpuNow();
    const results = await fleet.run(linkNames(count), RAM);
    runsMs.push(now() - t);
    cpuMs.push(cpuNow() - c);
    checkAll(results, count);
  }
  await fleet.close();
} else {
  const { connect, createInbox } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: where! });
  for (let i = 0; i < reps; i++) {
    const inbox = createInbox();
    let got = 0;
    let done = () => {};
    const all = new Promise<void>((r) => done = r);
    const sub = nc.subscribe(inbox, {
      callback: () => {
        if (++got === count) done();
      },
    });
    await nc.flush();
    const t = now();
    const c = cpuNow();
    nc.publish("bench.bare", new Uint8Array(0), { reply: inbox });
    await all;
    runsMs.push(now() - t);
    cpuMs.push(cpuNow() - c);
    sub.unsubscribe();
  }
  await nc.close();
}
/** The most resident memory this process ever had (Linux VmHWM), else its RSS now. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) return Number(m[1]) * 1024;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err; // not Linux: RSS now will do
  }
  return Deno.memoryUsage().rss;
}
console.log(JSON.stringify({ connectMs, runsMs, cpuMs, rssBytes: peakRss() }));
