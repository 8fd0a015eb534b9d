/**
 * `deno task demo`: three local servers sharing a freshly generated token,
 * and the interactive client connected to all of them. When the client ends
 * (Ctrl-D or `exit`), every server this started is stopped.
 *
 * The servers run in their own process groups, so Ctrl-C in the terminal
 * reaches only the client (which cancels the running command), not them.
 * @module
 */
// deno-lint-ignore-file no-console

import { runArgsSync } from "./entry_flags.ts";
import { childEnv, type LocalServer, signalChild, spawnLocalServer } from "./local_server.ts";
import { generateToken } from "../token_file.ts";

const SERVERS = 3;

async function main(): Promise<number> {
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
    // Ignore Ctrl-C here: the client handles it, and we must live to stop the servers.
    const ignore = () => {};
    Deno.addSignalListener("SIGINT", ignore);
    try {
      const client = new Deno.Command(Deno.execPath(), {
        args: [...runArgsSync("client"), ...hosts],
        env: childEnv({ RMON_TOKEN: token }),
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      return (await client.status).code;
    } finally {
      Deno.removeSignalListener("SIGINT", ignore);
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
