/**
 * Client footprint probe, run by `bench/main.ts` as its own process with the
 * client's permission flags: builds a real `Fleet` of `--links` HostLinks
 * spread round-robin over `--servers`, connects them all, runs one `ram`
 * fan-out to all of them, lets the process settle, and prints one JSON line
 * `{"links":N,"up":U,"rssBytes":B}`. With `--links 0` it measures the same
 * process holding nothing (the floor).
 *
 *   RMON_TOKEN=... deno run --allow-net ... bench/client_footprint.ts \
 *     --links 1000 --servers 127.0.0.1:4001,127.0.0.1:4002
 * @module
 */
// deno-lint-ignore-file no-console

import { parseArgs } from "node:util";
import { parseAddress } from "../lib/grammar/address.ts";
import { buildFleet, connectAll, keyFor, linkNames } from "./links.ts";

/** How long the process idles after connecting, before its RSS is read. */
const SETTLE_MS = 1_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { links: { type: "string" }, servers: { type: "string" } },
    strict: true,
  });
  const links = Number(values.links ?? "0");
  const token = Deno.env.get("RMON_TOKEN");
  if (!Number.isSafeInteger(links) || links < 0 || token === undefined) {
    throw new TypeError("Usage: RMON_TOKEN=... client_footprint.ts --links N --servers H:P,...");
  }
  const servers = (values.servers ?? "").split(",").filter((s) => s !== "").map((s) => {
    const a = parseAddress(s);
    return { hostname: a.hostname, port: a.port ?? 0 };
  });
  const fleet = buildFleet(servers, links, keyFor(token));
  let up = 0;
  if (links > 0) {
    await connectAll(fleet);
    await fleet.run(linkNames(links), { kind: "ram" });
    up = fleet.links.filter((l) => l.state === "up").length;
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const rssBytes = Deno.memoryUsage().rss;
  console.log(JSON.stringify({ links, up, rssBytes }));
  await fleet.close();
}

if (import.meta.main) await main();
