/**
 * `deno task demo`: three local servers sharing a freshly generated token,
 * and the interactive client connected to all of them. When the client ends
 * (Ctrl-D or `exit`), every server this started is stopped.
 *
 * The servers run in their own process groups, so Ctrl-C in the terminal
 * reaches only the client (which cancels the running command), not them.
 * Both entry points' dependencies are cached first, quietly: on a fresh
 * machine Deno's download progress would otherwise be drawn over the console.
 * @module
 */
// deno-lint-ignore-file no-console

import { describeError } from "../lib/protocol/errors.ts";
import { runArgs } from "./entry_flags.ts";
import { childEnv, type LocalServer, signalChild, spawnLocalServer } from "./local_server.ts";
import { generateToken } from "../lib/token_file.ts";
import { quietRun, warmCache } from "./warm_cache.ts";

const SERVERS = 3;

async function main(): Promise<number> {
  try {
    await warmCache(["server", "client"], { notice: (text) => console.error(text) });
  } catch (err) {
    console.error(`Cannot start the demo: ${describeError(err)}`);
    return 1;
  }
  const token = generateToken();
  const home = await Deno.makeTempDir({ prefix: "rmon-demo-" });
  const env = childEnv({ HOME: home, XDG_STATE_HOME: `${home}/state`, RMON_TOKEN: token });
  const servers: LocalServer[] = [];
  try {
    for (let i = 0; i < SERVERS; i++) {
      servers.push(await spawnLocalServer({ env, detached: true, args: ["--quiet"] }));
    }
    const hosts = servers.map((s) => `${s.hostname}:${s.port}`);
    console.error(`Started ${SERVERS} servers on ${hosts.join(", ")} with a one-time token.`);
    console.error(
      "Try: ram, @127.0.0.1:* cpu, info, sh: uname -a, ping 127.0.0.1 2, hosts, help. Ctrl-D leaves.",
    );
    const client = new Deno.Command(Deno.execPath(), {
      args: [...quietRun(runArgs("client")), ...hosts],
      env: childEnv({ RMON_TOKEN: token }),
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // Ctrl-C is the client's (it reaches it through the terminal); SIGTERM and SIGHUP (a
    // closed terminal) go to the client too. Either way we must live to stop the servers.
    const handlers = new Map<Deno.Signal, () => void>([["SIGINT", () => {}]]);
    if (Deno.build.os !== "windows") {
      for (const s of ["SIGTERM", "SIGHUP"] as const) handlers.set(s, () => signalChild(client, s));
    }
    for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
    try {
      return (await client.status).code;
    } finally {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    }
  } finally {
    for (const s of servers) signalChild(s.child, "SIGTERM");
    await Promise.all(servers.map((s) => s.status));
    await Deno.remove(home, { recursive: true });
    console.error(`Stopped the ${servers.length} demo servers.`);
  }
}

if (import.meta.main) {
  Deno.exit(await main());
}
