/**
 * `rmon web`: connect to the fleet as the console does, start the monitor
 * and the web server, print the start address, and serve until SIGINT or
 * SIGTERM; and the console's `web`, the same page for the console's fleet. Client web layer; `client.ts` loads this module only for `rmon
 * web` (a computed import, so the chart library stays out of every other
 * start; `deno compile` takes it in through `--include`).
 * @module
 */

import { describeError } from "../../protocol/errors.ts";
import { formatFingerprint } from "../../protocol/fingerprint.ts";
import { stateFilePath } from "../../token_file.ts";
import { EXIT_CODES, UsageError } from "../../usage.ts";
import { loadServerIdentity } from "../../server/tls_cert.ts";
import { Fleet } from "../fleet.ts";
import { addHosts, collectHosts, HostCredentials } from "../setup.ts";
import { busSettings, openBusFleet } from "../bus_setup.ts";
import type { Fleet as AnyFleet, FleetMember } from "../fleet_api.ts";
import { isLoopbackHost } from "../../protocol/transport.ts";
import { DEFAULT_MONITOR, FleetMonitor } from "./monitor.ts";
import {
  DEFAULT_LISTEN,
  parseListen,
  parseWebArgs,
  WEB_USAGE,
  type WebOptions,
} from "./web_options.ts";
import { isWildcard } from "./web_security.ts";
import { startWebServer, type WebServer } from "./web_server.ts";

/** Where `rmon web` writes: stdout for the address, stderr for notes. */
export interface WebIo {
  out(text: string): void;
  err(text: string): void;
}

/** The certificate to serve HTTPS with, when asked for; its fingerprint is printed. */
async function webTls(
  opts: WebOptions,
): Promise<{ certPem: string; keyPem: string; fingerprint: string } | undefined> {
  if (!opts.tls) return undefined;
  const env = (n: string) => Deno.env.get(n);
  try {
    const loaded = await loadServerIdentity({
      certFile: opts.certFile,
      keyFile: opts.keyFile,
      listenHost: opts.listen.hostname,
      env,
      // Its own pair: the browser's exception for it must not cover rmon-server's certificate.
      statePaths: {
        certPath: stateFilePath("web_tls_cert.pem", env),
        keyPath: stateFilePath("web_tls_key.pem", env),
      },
    });
    return loaded.identity;
  } catch (err) {
    throw new UsageError(`Cannot serve HTTPS: ${describeError(err)}`, undefined, { cause: err });
  }
}

/** Connect, serve until `stop` resolves, then close everything; returns the exit code. */
export async function serveWeb(
  opts: WebOptions,
  io: WebIo,
  stop: Promise<unknown>,
): Promise<number> {
  const c = opts.client;
  // Over the bus (--nats, inventory [nats]) the hosts are the expected or present agents.
  const bus = await busSettings(c);
  let fleet: AnyFleet;
  let count: number;
  if (bus !== null) {
    const natsFleet = await openBusFleet(c, bus, { live: true });
    fleet = natsFleet;
    count = natsFleet.links.length;
  } else {
    const book = await collectHosts(c);
    const direct = new Fleet({ connectTimeoutMs: c.connectTimeoutMs }, c.fanout);
    await addHosts(direct, book.hosts, new HostCredentials(c));
    fleet = direct;
    count = book.hosts.length;
  }
  const monitor = new FleetMonitor(
    fleet,
    { intervalMs: opts.intervalMs, historyMs: opts.historyMs },
    (err) => io.err(`rmon web: ${describeError(err)}\n`),
  );
  fleet.onChange = (link) => monitor.linkChanged(link);
  const tls = await webTls(opts);
  let server: WebServer;
  try {
    server = await startWebServer({
      fleet,
      monitor,
      listen: opts.listen,
      tls,
      readOnly: opts.readOnly,
      timeoutMs: c.timeoutMs,
      waitMs: c.waitMs,
      log: (t) => io.err(t + "\n"),
    });
  } catch (err) {
    await fleet.close();
    throw new UsageError(
      `Cannot listen on ${opts.listen.hostname}:${opts.listen.port}: ${describeError(err)}`,
      undefined,
      { cause: err },
    );
  }
  try {
    const hosts = count === 1 ? "1 host" : `${count} hosts`;
    const ro = opts.readOnly ? " (read-only)" : "";
    io.out(`rmon web: ${hosts}${ro} at ${server.url}\n`);
    if (tls) io.out(`rmon web: certificate fingerprint ${formatFingerprint(tls.fingerprint)}\n`);
    io.err("Open the address in a browser (its token works once); Ctrl-C stops.\n");
    // The page comes up at once; hosts join it as they connect.
    const connecting = fleet.connect();
    monitor.start();
    await stop;
    await connecting.catch((err) => io.err(`rmon web: ${describeError(err)}\n`));
  } finally {
    await server.close();
    await monitor.stop();
    await fleet.close();
  }
  return EXIT_CODES.ok;
}

/** `rmon web ARGS`: parse, serve until SIGINT/SIGTERM; returns the exit code. */
export async function runWebCommand(args: readonly string[], io: WebIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(WEB_USAGE + "\n");
    return EXIT_CODES.ok;
  }
  const opts = parseWebArgs(args);
  let onSignal = () => {};
  const stop = new Promise<void>((resolve) => onSignal = resolve);
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    return await serveWeb(opts, io, stop);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

/** The page the console serves beside its prompt (`web`); see {@linkcode startConsoleWeb}. */
export interface ConsoleWeb {
  /** The start address it was started with. */
  url: string;
  /** A fresh one-time start address (the previous one stops working). */
  renew(): string;
  /** The console's fleet changed a link's state: pass it to the page's notices. */
  linkChanged(link: FleetMember): void;
  /** Stop serving (pages disconnected, their commands cancelled). */
  close(): Promise<void>;
}

/**
 * Serve the console's own fleet (`web [ADDR:PORT] [read-only]` at the
 * prompt): plain HTTP on loopback only — other addresses need `rmon web`
 * with its HTTPS options. Throws `UsageError` for a bad or busy address.
 */
export async function startConsoleWeb(
  fleet: AnyFleet,
  opts: {
    listen?: string;
    readOnly: boolean;
    timeoutMs: number;
    waitMs: number;
    log(text: string): void;
  },
): Promise<ConsoleWeb> {
  const listen = opts.listen === undefined ? DEFAULT_LISTEN : parseListen(opts.listen);
  if (isWildcard(listen.hostname) || !isLoopbackHost(listen.hostname)) {
    throw new UsageError(
      `Cannot serve the page on ${listen.hostname} from the console: loopback only here; ` +
        "rmon web --listen ADDR:PORT --web-tls serves other addresses over HTTPS",
    );
  }
  const monitor = new FleetMonitor(
    fleet,
    DEFAULT_MONITOR,
    (err) => opts.log(`rmon web: ${describeError(err)}`),
  );
  // The page starts knowing who is up now; later changes come through linkChanged.
  for (const link of fleet.links) monitor.linkChanged(link);
  let server: WebServer;
  try {
    server = await startWebServer({
      fleet,
      monitor,
      listen,
      readOnly: opts.readOnly,
      timeoutMs: opts.timeoutMs,
      waitMs: opts.waitMs,
      log: opts.log,
    });
  } catch (err) {
    throw new UsageError(
      `Cannot listen on ${listen.hostname}:${listen.port}: ${describeError(err)}`,
      undefined,
      { cause: err },
    );
  }
  monitor.start();
  return {
    url: server.url,
    renew: () => {
      const u = new URL(server.url);
      u.searchParams.set("token", server.sessions.renew());
      return u.href;
    },
    linkChanged: (link) => monitor.linkChanged(link),
    close: async () => {
      await server.close();
      await monitor.stop();
    },
  };
}
