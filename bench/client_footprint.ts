/**
 * Client footprint probe, run by `bench/main.ts` (and `bench/scale_ns.ts`) as
 * its own process with the client's permission flags: builds a real `Fleet`
 * of `--links` HostLinks spread round-robin over `--servers` (or the
 * addresses of `--servers-file`, one `HOST:PORT` a line), connects them all,
 * runs one `ram` fan-out to all of them, then `--warm-reps` more (timed) and
 * `--watch-rounds` rounds of the console's `watch` (a `vitals` fan-out and the
 * frame drawn for a terminal of `--watch-rows` lines, default 50; 0 draws every
 * row, as a piped `watch` does; timed), lets
 * the process settle, and prints one JSON line
 * `{"links":N,"up":U,"rssBytes":B,"warmMs":[...],"idleCpuPercent":P}`. With
 * `--idle-seconds S` it then idles for `--idle-wait` seconds (heartbeats reach
 * their steady state: a link's first visit finds the `ram` traffic and skips)
 * and measures its own CPU over S seconds, as a percentage of one core. With
 * `--links 0` it measures the same process holding nothing (the floor).
 * `--fingerprint HEX` dials TLS pinned to that certificate.
 *
 *   RMON_TOKEN=... deno run --allow-net ... bench/client_footprint.ts \
 *     --links 1000 --servers 127.0.0.1:4001,127.0.0.1:4002
 * @module
 */
// deno-lint-ignore-file no-console

import process from "node:process";
import { parseArgs } from "node:util";
import { parseAddress } from "../lib/grammar/address.ts";
import { tlsDialer } from "../lib/protocol/tls_transport.ts";
import { buildFleet, connectAll, keyFor, linkNames } from "./links.ts";
import { type RoundFrame, rowsThatFit, watchRound } from "../lib/client/console_watch.ts";
import { watchColumns } from "../lib/client/views/watch.ts";

/** The terminal a `watch` round draws for: 50 lines, as a console on a big screen. */
const DEFAULT_WATCH_ROWS = 50;

/** How long the process idles after connecting, before its RSS is read. */
const SETTLE_MS = 1_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      links: { type: "string" },
      servers: { type: "string" },
      "servers-file": { type: "string" },
      "warm-reps": { type: "string" },
      "watch-rounds": { type: "string" },
      "watch-rows": { type: "string" },
      "idle-seconds": { type: "string" },
      "idle-wait": { type: "string" },
      fingerprint: { type: "string" },
    },
    strict: true,
  });
  const links = Number(values.links ?? "0");
  const warmReps = Number(values["warm-reps"] ?? "0");
  const watchRounds = Number(values["watch-rounds"] ?? "0");
  const watchRows = Number(values["watch-rows"] ?? String(DEFAULT_WATCH_ROWS));
  const idleSeconds = Number(values["idle-seconds"] ?? "0");
  const idleWait = Number(values["idle-wait"] ?? "0");
  const token = Deno.env.get("RMON_TOKEN");
  if (!Number.isSafeInteger(links) || links < 0 || token === undefined) {
    throw new TypeError("Usage: RMON_TOKEN=... client_footprint.ts --links N --servers H:P,...");
  }
  const list = values["servers-file"] === undefined
    ? (values.servers ?? "").split(",")
    : (await Deno.readTextFile(values["servers-file"])).split("\n");
  const servers = list.filter((s) => s.trim() !== "").map((s) => {
    const a = parseAddress(s.trim());
    return { hostname: a.hostname, port: a.port ?? 0 };
  });
  const dial = values.fingerprint === undefined
    ? undefined
    : tlsDialer({ kind: "fingerprint", fingerprint: values.fingerprint });
  const fleet = buildFleet(servers, links, keyFor(token), dial);
  let up = 0;
  const warmMs: number[] = [];
  const watchMs: number[] = [];
  if (links > 0) {
    await connectAll(fleet);
    const names = linkNames(links);
    await fleet.run(names, { kind: "ram" });
    for (let i = 0; i < warmReps; i++) {
      const t0 = performance.now();
      const results = await fleet.run(names, { kind: "ram" });
      warmMs.push(performance.now() - t0);
      const bad = results.filter((r) => r.status !== "ok").length;
      if (bad > 0) throw new Error(`Cannot fan out: ${bad} of ${links} hosts failed`);
    }
    // A console `watch` round as console_watch.ts runs it: `vitals` to all, then the frame
    // (on a terminal of --watch-rows lines only the rows that fit; 0: every row, as piped).
    const round: RoundFrame = {
      intervalSeconds: 2,
      columns: watchColumns(undefined),
      color: false,
      hint: "",
    };
    if (watchRows > 0) round.maxRows = rowsThatFit(watchRows);
    for (let i = 0; i < watchRounds; i++) {
      const t0 = performance.now();
      const frame = await watchRound(fleet, names, round);
      watchMs.push(performance.now() - t0);
      if (!frame) throw new Error("Cannot render the watch table");
      const failed = frame.split("\n").filter((l) =>
        /timeout|error|unreachable|without an answer/.test(l)
      );
      if (failed.length > 0) throw new Error(`Cannot watch every host: ${failed[0]}`);
    }
    up = fleet.links.filter((l) => l.state === "up").length;
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const rssBytes = Deno.memoryUsage().rss;
  let idleCpuPercent: number | null = null;
  /** RSS at the end of the idle period: what holding the links costs once V8 has tidied up. */
  let rssIdleBytes: number | null = null;
  if (idleSeconds > 0) {
    await new Promise((r) => setTimeout(r, idleWait * 1000));
    const t0 = performance.now();
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const used = process.cpuUsage(before);
    const wallUs = (performance.now() - t0) * 1000;
    idleCpuPercent = (used.user + used.system) / wallUs * 100;
    up = fleet.links.filter((l) => l.state === "up").length;
    rssIdleBytes = Deno.memoryUsage().rss;
  }
  console.log(
    JSON.stringify({ links, up, rssBytes, rssIdleBytes, warmMs, watchMs, idleCpuPercent }),
  );
  await fleet.close();
}

if (import.meta.main) await main();
