/**
 * Benchmark helper process: many bus identities in one process. `bus` mode
 * runs COUNT real agents (lib/server/nats_agent.ts, one NATS connection
 * each) named a<FIRST>, a<FIRST+1>…; `bare` mode runs COUNT plain NATS connections that
 * answer `bench.bare` with a few bytes (the floor: NATS itself, no rmon).
 * Prints `ready` once every connection is subscribed; stops on SIGTERM.
 *
 *   deno run -A bench/nats_agent_host.ts bus|bare URL COUNT FIRST
 * @module
 */
// deno-lint-ignore-file no-console

import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsAgent } from "../lib/server/nats_agent.ts";
import { BusKey } from "../lib/protocol/bus_auth.ts";
import { LIMITS } from "../lib/protocol/constants.ts";
import { Logger } from "../lib/server/log.ts";
import { BENCH_TOKEN } from "./procs.ts";

const [mode, url, countText, firstText] = Deno.args;
const count = Number(countText);
const first = Number(firstText);
if ((mode !== "bus" && mode !== "bare") || !url || !Number.isSafeInteger(count + first)) {
  console.error("usage: nats_agent_host.ts bus|bare URL COUNT FIRST");
  Deno.exit(2);
}

const stops: (() => Promise<void>)[] = [];
/** Start connections a batch at a time: thousands of TLS-less dials at once swamp the server. */
const BATCH = 100;
if (mode === "bus") {
  const key = new BusKey(BENCH_TOKEN);
  // Thousands of identities in one process: their warnings (NATS gone at the end) are noise here.
  const log = new Logger("quiet", () => {});
  for (let i = 0; i < count; i += BATCH) {
    const agents = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) =>
      new NatsAgent({
        servers: [url],
        fleet: "bench",
        name: `a${first + i + j}`,
        groups: [],
        key,
        natsAuth: { kind: "none" },
        log,
        readOnly: true,
        maxOutputBytes: LIMITS.execOutputBytes,
        execEnv: [],
        address: "bench",
      }));
    await Promise.all(agents.map((a) => a.start()));
    for (const a of agents) stops.push(() => a.stop());
  }
} else {
  const reply = new TextEncoder().encode("x".repeat(200));
  for (let i = 0; i < count; i += BATCH) {
    const conns: NatsConnection[] = await Promise.all(
      Array.from({ length: Math.min(BATCH, count - i) }, () => connect({ servers: url })),
    );
    for (const nc of conns) {
      nc.subscribe("bench.bare", {
        callback: (_e, m) => {
          m.respond(reply);
        },
      });
      await nc.flush();
      stops.push(() => nc.close());
    }
  }
}
console.log("ready");
await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
await Promise.all(stops.map((s) => s()));
Deno.exit(0);
