/**
 * `rmon web` command-line options: the web server's own (`--listen`,
 * `--web-read-only`, `--web-tls`, `--web-insecure-http`, `--refresh`,
 * `--history`) taken out, the rest parsed as `rmon`'s options (hosts,
 * inventory, tokens, TLS to the servers). Pure: argv in, options out, or a
 * `UsageError`.
 * @module
 */

import { describeError } from "../../protocol/errors.ts";
import { type Endpoint, isLoopbackHost } from "../../protocol/transport.ts";
import { parseDuration } from "../../duration.ts";
import { EXIT_CODES, UsageError } from "../../usage.ts";
import { type ClientOptions, parseClientArgs } from "../options.ts";
import { isWildcard } from "./web_security.ts";

/** The default listen address: loopback only. */
export const DEFAULT_LISTEN: Endpoint = { hostname: "127.0.0.1", port: 8090 };

/** Everything `rmon web` is told. */
export interface WebOptions {
  client: ClientOptions;
  listen: Endpoint;
  /** `--web-read-only`: the page hides, and the server refuses, exec, kill and reset. */
  readOnly: boolean;
  /** Serve HTTPS (forced by `--web-cert`/`--web-key`; required off loopback unless insecure). */
  tls: boolean;
  certFile?: string;
  keyFile?: string;
  /** `--web-insecure-http`: allow plain HTTP on a non-loopback address. */
  insecureHttp: boolean;
  /** `--refresh`: time between table rounds, ms (default 2000). */
  intervalMs: number;
  /** `--history`: how far back the charts look, ms (default one hour). */
  historyMs: number;
}

/** The `rmon web` part of the help. */
export const WEB_USAGE = `rmon web: the fleet on one live page, served from this program

Usage:
  rmon web [options] [HOST[:PORT]...]     (or --inventory FILE, --hosts LIST)

Web options (the other rmon options work as in the console):
  --listen ADDR:PORT      where the page is served (default 127.0.0.1:8090; port 0: any free)
  --web-read-only         the page cannot run exec, kill or reset
  --web-tls               serve HTTPS with a self-signed certificate kept in the state
                          directory (web_tls_cert.pem), or with --web-cert/--web-key
  --web-cert FILE, --web-key FILE   serve HTTPS with this certificate and key (PEM)
  --web-insecure-http     allow plain HTTP on a non-loopback address (readable and
                          forgeable on the network: the page can run commands)
  --refresh S             time between table updates (default 2)
  --history D             how far back the charts look (default 1h; e.g. 30m, 2h)

The printed address carries a one-time token; opening it signs the browser in
with a session cookie. Ctrl-C stops the server.`;

/** Split `ADDR:PORT` (`127.0.0.1:8090`, `[::1]:0`, `:8090`) into an endpoint. */
export function parseListen(text: string): Endpoint {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new UsageError(`Invalid --listen "${text}": expected ADDR:PORT, e.g. 127.0.0.1:8090`);
  }
  const hostname = m[1] ?? (m[2] === "" ? DEFAULT_LISTEN.hostname : m[2]!);
  return { hostname, port };
}

/** A duration option in ms, at least `minMs`. */
function durationOption(name: string, text: string, minMs: number): number {
  let ms: number;
  try {
    ms = text.endsWith("m") || text.endsWith("h") ? longDuration(text) : parseDuration(text);
  } catch (err) {
    throw new UsageError(`Invalid --${name}: ${describeError(err)}`, EXIT_CODES.usage, {
      cause: err,
    });
  }
  if (ms < minMs) throw new UsageError(`Invalid --${name} "${text}": at least ${minMs} ms`);
  return ms;
}

/** Minutes and hours (`30m`, `2h`), which `parseDuration` leaves out. */
function longDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|h)$/.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a duration such as 30m or 2h`);
  return Number(m[1]) * (m[2] === "h" ? 3_600_000 : 60_000);
}

/** Parse `rmon web` argv (without the word `web`); throws `UsageError`. */
export function parseWebArgs(argv: readonly string[]): WebOptions {
  const rest: string[] = [];
  let listen = DEFAULT_LISTEN;
  let readOnly = false;
  let tls = false;
  let insecureHttp = false;
  let certFile: string | undefined;
  let keyFile: string | undefined;
  let intervalMs = 2_000;
  let historyMs = 3_600_000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0 && arg.startsWith("--")) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`Invalid arguments: ${name} needs a value`);
      return next;
    };
    switch (name) {
      case "--":
        throw new UsageError('Invalid arguments: "rmon web" takes no command after --');
      case "--listen":
        listen = parseListen(value());
        break;
      case "--web-read-only":
        readOnly = true;
        break;
      case "--web-tls":
        tls = true;
        break;
      case "--web-insecure-http":
        insecureHttp = true;
        break;
      case "--web-cert":
        certFile = value();
        break;
      case "--web-key":
        keyFile = value();
        break;
      case "--refresh":
        intervalMs = durationOption("refresh", value(), 200);
        break;
      case "--history":
        historyMs = durationOption("history", value(), 60_000);
        break;
      default:
        rest.push(arg);
    }
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("Invalid arguments: --web-cert and --web-key go together");
  }
  if (certFile !== undefined) tls = true;
  if (tls && insecureHttp) {
    throw new UsageError("Invalid arguments: --web-tls and --web-insecure-http conflict");
  }
  const exposed = isWildcard(listen.hostname) || !isLoopbackHost(listen.hostname);
  if (exposed && !tls && !insecureHttp) {
    throw new UsageError(
      `Refusing to serve plain HTTP on ${listen.hostname}: the page can run commands on the ` +
        "fleet; add --web-tls (or --web-cert/--web-key), or --web-insecure-http on a network you trust",
    );
  }
  const client = parseClientArgs(rest);
  return {
    client,
    listen,
    readOnly,
    tls,
    certFile,
    keyFile,
    insecureHttp,
    intervalMs,
    historyMs,
  };
}
