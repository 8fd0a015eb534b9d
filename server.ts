/**
 * `rmon-server` entry point: parse options, load the token, listen, and stop
 * cleanly on `kill`, Ctrl-C or SIGTERM (every running call cancelled, every
 * child process group killed). The only place the server process exits.
 * @module
 */
// deno-lint-ignore-file no-console

import { EXIT_CODES, UsageError } from "./lib/errors.ts";
import { TokenKey } from "./lib/protocol/auth.ts";
import { RMON_VERSION } from "./lib/protocol/constants.ts";
import { formatAddr } from "./lib/protocol/transport.ts";
import { Logger } from "./lib/server/log.ts";
import { parseServerArgs, SERVER_USAGE } from "./lib/server/options.ts";
import { RmonServer } from "./lib/server/rmon_server.ts";
import { loadServerToken, TOKEN_ENV } from "./lib/server/token.ts";

async function main(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseServerArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`rmon-server: ${err.message}\nTry "rmon-server --help".`);
    return err.exitCode;
  }
  if (opts.help) {
    console.log(SERVER_USAGE);
    return EXIT_CODES.ok;
  }
  if (opts.version) {
    console.log(`rmon-server ${RMON_VERSION}`);
    return EXIT_CODES.ok;
  }
  const log = new Logger(opts.logLevel);
  let loaded;
  try {
    loaded = await loadServerToken(opts.tokenFile);
  } catch (err) {
    console.error(`rmon-server: ${(err as Error).message}`);
    return EXIT_CODES.usage;
  }
  const server = new RmonServer({
    endpoint: { hostname: opts.host, port: opts.port },
    key: new TokenKey(loaded.token),
    log,
    readOnly: opts.readOnly,
    maxFrameBytes: opts.maxFrameBytes,
    maxOutputBytes: opts.maxOutputBytes,
    authTimeoutMs: opts.authTimeoutMs,
    maxConnections: opts.maxConnections,
    execEnv: opts.execEnv,
  });
  let addr: Deno.NetAddr;
  try {
    addr = server.start();
  } catch (err) {
    console.error(
      `rmon-server: Cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`,
    );
    return EXIT_CODES.error;
  }
  const where = formatAddr(addr);
  // A wildcard address is not something to connect to: name loopback locally, a placeholder remotely.
  const wildcard = ["0.0.0.0", "::"].includes(addr.hostname);
  const local = wildcard ? formatAddr({ ...addr, hostname: "127.0.0.1" }) : where;
  const remote = wildcard ? `<this-host>:${addr.port}` : where;
  if (loaded.source === "generated") {
    // The one time the secret is shown: right after it was made.
    console.log(
      `Generated a new token and saved it to ${loaded.path} (mode 0600):\n  ${loaded.token}`,
    );
    console.log(`Connect from this machine:  rmon --token-file '${loaded.path}' ${local}`);
    console.log(`Connect from elsewhere:     ${TOKEN_ENV}='${loaded.token}' rmon ${remote}`);
  } else if (loaded.path) {
    console.log(`Using the token in ${loaded.path}`);
  } else {
    console.log(`Using the token from ${TOKEN_ENV}`);
  }
  if (opts.readOnly) console.log("Read-only: exec, reset and kill are refused");
  console.log(`rmon-server ${RMON_VERSION} listening on ${where}`);

  const stop = (signal: Deno.Signal) => () => {
    log.info(`received ${signal}`);
    server.shutdown("shutdown");
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const listeners = signals.map((s) => [s, stop(s)] as const);
  for (const [s, fn] of listeners) Deno.addSignalListener(s, fn);
  await server.done;
  for (const [s, fn] of listeners) Deno.removeSignalListener(s, fn);
  return EXIT_CODES.ok;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
