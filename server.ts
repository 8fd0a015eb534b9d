/**
 * `rmon-server` entry point: parse options, load the token (and the TLS
 * certificate when serving TLS), listen, and stop cleanly on `kill`, Ctrl-C,
 * SIGTERM or SIGHUP (every running call cancelled, every child process group
 * killed, within the close and kill graces). The only place the server
 * process exits.
 * @module
 */
// deno-lint-ignore-file no-console

import { describeError } from "./lib/protocol/errors.ts";
import { EXIT_CODES, UsageError } from "./lib/usage.ts";
import { TokenKey } from "./lib/protocol/auth.ts";
import { RMON_VERSION } from "./lib/protocol/constants.ts";
import { formatFingerprint } from "./lib/protocol/fingerprint.ts";
import { listenTcp } from "./lib/protocol/tcp_transport.ts";
import { formatEndpoint, isLoopbackHost, type ListenFn } from "./lib/protocol/transport.ts";
import { clientCommand } from "./lib/server/banner.ts";
import { Logger } from "./lib/server/log.ts";
import { parseServerArgs, SERVER_USAGE } from "./lib/server/options.ts";
import { RmonServer } from "./lib/server/rmon_server.ts";
import type { LoadedIdentity } from "./lib/server/tls_cert.ts";
import { type LoadedToken, loadServerToken, TOKEN_ENV } from "./lib/server/token.ts";
import type { AuditLog } from "./lib/server/audit.ts";
import type { AuthorizedKeys } from "./lib/server/authorized_keys.ts";
import type { ServerCredentials } from "./lib/server/session.ts";
import { createTokenFile, readTokenFile } from "./lib/token_file.ts";
import type { BusAgent } from "./lib/server/nats_start.ts";

/** `service ...` and `fingerprint`, loaded only when asked for (see service_cli.ts). */
async function subcommand(name: string, args: string[]): Promise<number> {
  const cli = await import("./lib/server/service_cli.ts");
  try {
    return name === "service"
      ? await cli.runService(args, cli.realServiceHost((line) => console.log(line)))
      : await cli.runFingerprint(args, {
        env: (n) => Deno.env.get(n),
        out: (line) => console.log(line),
      });
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`rmon-server: ${err.message}\nTry "rmon-server --help".`);
      return err.exitCode;
    }
    console.error(`rmon-server: ${describeError(err)}`);
    return EXIT_CODES.error;
  }
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "service" || args[0] === "fingerprint") {
    return await subcommand(args[0], args.slice(1));
  }
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
  if (opts.genToken !== undefined) {
    try {
      await createTokenFile(opts.genToken);
    } catch (err) {
      console.error(`rmon-server: ${describeError(err)}`);
      return EXIT_CODES.usage;
    }
    console.log(`Wrote a new 256-bit token to ${opts.genToken} (mode 0600).`);
    console.log(`Start each server with --token-file ${opts.genToken} (a private copy of it).`);
    return EXIT_CODES.ok;
  }
  const log = new Logger(opts.logLevel);
  let loaded: LoadedToken | null = null;
  /** The bus's MAC key: the token, also under --no-token (then it runs nothing on its own). */
  let busToken: string | null = null;
  let keys: AuthorizedKeys | null = null;
  let audit: AuditLog | null = null;
  try {
    if (opts.noToken) {
      Deno.env.delete(TOKEN_ENV); // refused, and never passed on
      if (opts.nats.length > 0) busToken = readTokenFile(opts.tokenFile!);
    } else {
      loaded = await loadServerToken(opts.tokenFile);
      busToken = loaded.token;
    }
    // Features a server may not use are loaded only when asked for: every module loaded
    // costs start time and resident memory on every machine of the fleet.
    if (opts.authorizedKeys !== undefined) {
      const { AuthorizedKeys } = await import("./lib/server/authorized_keys.ts");
      keys = await AuthorizedKeys.load(opts.authorizedKeys);
    }
    if (opts.auditLog !== undefined) {
      const { AuditLog } = await import("./lib/server/audit.ts");
      audit = AuditLog.open(opts.auditLog);
    }
  } catch (err) {
    console.error(`rmon-server: ${describeError(err)}`);
    return EXIT_CODES.usage;
  }
  let tls: LoadedIdentity | null = null;
  if (opts.tls) {
    try {
      const { loadServerIdentity } = await import("./lib/server/tls_cert.ts");
      tls = await loadServerIdentity({
        certFile: opts.tlsCert,
        keyFile: opts.tlsKey,
        listenHost: opts.host,
        env: (name) => Deno.env.get(name),
      });
    } catch (err) {
      console.error(`rmon-server: ${describeError(err)}`);
      return EXIT_CODES.usage;
    }
  }
  /** The keys in force: replaced when the file changes, read by the bus per request. */
  const keyState = { keys };
  let bus: BusAgent | null = null;
  if (opts.nats.length > 0) {
    // The bus carries messages MACed with the fleet token (options.ts insists on it).
    if (busToken === null) {
      console.error("rmon-server: --nats needs the shared token (--token-file)");
      return EXIT_CODES.usage;
    }
    try {
      // Loaded only for bus mode: a server that listens only never pays for the bus code.
      const { startBusAgent } = await import("./lib/server/nats_start.ts");
      bus = await startBusAgent(opts, busToken, log, { keys: () => keyState.keys, audit });
    } catch (err) {
      console.error(`rmon-server: ${describeError(err)}`);
      return EXIT_CODES.usage;
    }
    const { name, fleet } = bus;
    console.log(`NATS: dialing ${opts.nats.join(",")} as "${name}" of fleet "${fleet}"`);
    bus.connected.then(
      (up) => {
        if (up) console.log(`rmon-server ${RMON_VERSION} on NATS as "${name}" (fleet "${fleet}")`);
      },
      (err) => log.warn(`NATS: ${describeError(err)}`),
    );
    if (!opts.listen) {
      if (keys) {
        const how = opts.noToken ? " (every bus call must be signed by one)" : "";
        console.log(`Operator keys: ${keys.size} in ${keys.path}${how}`);
      }
      if (audit) console.log(`Audit log: ${audit.path}`);
      const watcher = await watchKeysFile(keys, (fresh) => {
        keyState.keys = fresh;
        log.warn(`authorized keys re-read: ${fresh.size} keys`);
      }, log);
      const code = await serveBusOnly(bus, log);
      watcher?.close();
      audit?.close();
      return code;
    }
  }
  const listen: ListenFn = tls
    ? (await import("./lib/protocol/tls_transport.ts")).tlsListen(tls.identity)
    : listenTcp;
  const credentials: ServerCredentials = {
    token: loaded ? new TokenKey(loaded.token) : null,
    keys,
  };
  const server = new RmonServer({
    endpoint: { hostname: opts.host, port: opts.port },
    listen,
    credentials,
    audit,
    log,
    readOnly: opts.readOnly,
    maxFrameBytes: opts.maxFrameBytes,
    maxOutputBytes: opts.maxOutputBytes,
    maxUploadBytes: opts.maxUploadBytes,
    authTimeoutMs: opts.authTimeoutMs,
    execEnv: opts.execEnv,
    writeTimeoutMs: opts.writeTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs,
    limits: {
      maxConnections: opts.maxConnections,
      startups: opts.startups,
      startupsPerSource: opts.startupsPerSource,
      penaltyMs: opts.penaltyMs,
      maxPenaltyMs: opts.maxPenaltyMs,
    },
  });
  // rmon kill over the bus stops the whole server, as it does over a direct connection.
  bus?.agent.killed.then(() => server.shutdown("kill"));
  let addr;
  try {
    addr = await server.start();
  } catch (err) {
    console.error(
      `rmon-server: Cannot listen on ${opts.host}:${opts.port}: ${describeError(err)}`,
    );
    return EXIT_CODES.error;
  }
  const where = formatEndpoint(addr);
  // A wildcard address is not something to connect to: name loopback locally, a placeholder remotely.
  const wildcard = ["0.0.0.0", "::"].includes(addr.hostname);
  const local = wildcard ? formatEndpoint({ ...addr, hostname: "127.0.0.1" }) : where;
  const remote = wildcard ? `<this-host>:${addr.port}` : where;
  // Only a server that listens beyond loopback can be reached from elsewhere.
  const reachable = !isLoopbackHost(addr.hostname);
  const rmon = clientCommand(Deno.build, Deno.execPath());
  const fingerprint = tls ? formatFingerprint(tls.identity.fingerprint) : null;
  // What a client must add to trust this server: the pin over TLS, or the explicit plaintext flag.
  const trust = fingerprint
    ? ` --fingerprint ${fingerprint}`
    : opts.insecurePlaintext
    ? " --insecure-plaintext"
    : "";
  if (tls) {
    const how = tls.source === "generated"
      ? `generated a self-signed certificate, saved to ${tls.certPath} (key ${tls.keyPath}, 0600)`
      : `certificate ${tls.certPath}`;
    console.log(`TLS: ${how}; fingerprint ${fingerprint}`);
  }
  if (opts.insecurePlaintext) {
    console.error(
      `rmon-server: WARNING: serving plain TCP on ${where} (--insecure-plaintext): anyone on the ` +
        "network path can read every command and its output, and inject commands",
    );
  }
  if (keys) {
    console.log(
      `Operator keys: ${keys.size} in ${keys.path}${opts.noToken ? " (the token is refused)" : ""}`,
    );
  }
  if (audit) console.log(`Audit log: ${audit.path}`);
  if (loaded === null) {
    console.log(`Connect with:  ${rmon} --identity ~/.config/rmon/id_ed25519${trust} ${remote}`);
  } else if (loaded.source === "generated") {
    // The one time the secret is shown: right after it was made.
    console.log(
      `Generated a new token and saved it to ${loaded.path} (mode 0600):\n  ${loaded.token}`,
    );
    console.log(
      `Connect from this machine:  ${rmon} --token-file '${loaded.path}'${trust} ${local}`,
    );
    if (reachable) {
      console.log(
        `Connect from elsewhere:     ${TOKEN_ENV}='${loaded.token}' ${rmon}${trust} ${remote}`,
      );
    }
  } else if (loaded.path) {
    const note = loaded.envIgnored ? ` (${TOKEN_ENV} is set too; --token-file wins)` : "";
    console.log(`Using the token in ${loaded.path}${note}`);
  } else {
    console.log(`Using the token from ${TOKEN_ENV}`);
  }
  if (opts.readOnly) console.log("Read-only: exec, reset and kill are refused");
  if (loaded !== null && loaded.source !== "generated" && fingerprint) {
    console.log(`Connect with:  ${rmon}${trust} ${remote}`);
  }
  console.log(`rmon-server ${RMON_VERSION} listening on ${where}${tls ? " (TLS)" : ""}`);

  const stop = (signal: Deno.Signal) => () => {
    log.info(`received ${signal}`);
    server.shutdown("shutdown");
  };
  // Windows has listeners for SIGINT (and SIGBREAK) only; adding any other throws there.
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const listeners = signals.map((s) => [s, stop(s)] as const);
  for (const [s, fn] of listeners) Deno.addSignalListener(s, fn);
  const watcher = await watchKeysFile(keys, (fresh) => {
    credentials.keys = fresh;
    keyState.keys = fresh;
    const revoked = server.revoke((publicKey) => fresh.get(publicKey) !== undefined);
    log.warn(`authorized keys re-read: ${fresh.size} keys; ${revoked} connections revoked`);
  }, log);
  await server.done;
  await bus?.agent.stop();
  watcher?.close();
  audit?.close();
  for (const [s, fn] of listeners) Deno.removeSignalListener(s, fn);
  return EXIT_CODES.ok;
}

/** Follow the authorized keys file (none without `--authorized-keys`); `onChange` gets the new keys. */
async function watchKeysFile(
  keys: AuthorizedKeys | null,
  onChange: (fresh: AuthorizedKeys) => void,
  log: Logger,
): Promise<{ close(): void } | null> {
  if (keys === null) return null;
  const { watchAuthorizedKeys } = await import("./lib/server/authorized_keys.ts");
  return watchAuthorizedKeys(
    keys,
    onChange,
    (err) => log.warn(`authorized keys not re-read, the old ones stay in force: ${err.message}`),
  );
}

/** Bus mode without a listener: answer from the bus until a signal stops the agent. */
async function serveBusOnly(bus: BusAgent, log: Logger): Promise<number> {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  let stopped = () => {};
  const stop = new Promise<void>((resolve) => stopped = resolve);
  const listeners = signals.map((s) =>
    [s, () => {
      log.info(`received ${s}`);
      stopped();
    }] as const
  );
  for (const [s, fn] of listeners) Deno.addSignalListener(s, fn);
  // A signal, or rmon kill over the bus (the agent has stopped itself then).
  await Promise.race([stop, bus.agent.killed]);
  await bus.agent.stop();
  for (const [s, fn] of listeners) Deno.removeSignalListener(s, fn);
  return EXIT_CODES.ok;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
