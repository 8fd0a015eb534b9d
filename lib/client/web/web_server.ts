/**
 * The HTTP side of `rmon web`: serves the page's files, a small JSON API and
 * one WebSocket per open page, behind the guard of `web_security.ts`. Order
 * of checks on every request: the `Host` header must name this server; the
 * start URL's token is exchanged once for a session cookie; every other path
 * needs that cookie; state-changing requests and WebSocket upgrades also need
 * a same-origin `Origin`. Client web layer.
 * @module
 */

import { describeError } from "../../protocol/errors.ts";
import type { Endpoint } from "../../protocol/transport.ts";
import type { Fleet } from "../fleet_api.ts";
import { ASSETS } from "./assets.ts";
import type { MonitorView } from "./monitor.ts";
import { resolveTargets } from "../targets.ts";
import { parseTarget } from "../../grammar/parse_line.ts";
import { WebCommands } from "./web_commands.ts";
import { parsePageMessage, type ServerMessage } from "./web_messages.ts";
import { HostCheck, securityHeaders, sessionCookie, WebSessions } from "./web_security.ts";

/** How many history points a small chart gets at page load. */
export const SPARK_POINTS = 240;

/** Past this many bytes waiting to be sent to a page, its table rounds are skipped. */
const MAX_BUFFERED = 4 * 1024 * 1024;

/** What the web server needs. */
export interface WebServerOptions {
  fleet: Fleet;
  /** The rows and histories (a FleetMonitor; the benchmark passes a simulated one). */
  monitor: MonitorView;
  listen: Endpoint;
  /** A certificate and key (PEM) to serve HTTPS with; none: plain HTTP. */
  tls?: { certPem: string; keyPem: string };
  readOnly: boolean;
  /** Exec timeout and client wait, as the console's `--timeout` and `--wait`. */
  timeoutMs: number;
  waitMs: number;
  /** DNS names besides the listen address that the page may be reached by. */
  extraNames?: readonly string[];
  /** Where errors of the server itself go (a person's terminal). */
  log(text: string): void;
}

/** A running web server. */
export interface WebServer extends AsyncDisposable {
  /** Where it listens (the real port when 0 was asked). */
  addr: Endpoint;
  /** `http` or `https`. */
  scheme: "http" | "https";
  /** The start URL with its one-time token. */
  url: string;
  /** Sessions and the start token. */
  sessions: WebSessions;
  /** Stop: pages are disconnected and their running commands cancelled. */
  close(): Promise<void>;
}

/** A plain-text answer with the security headers. */
function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { ...securityHeaders(), "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/** A JSON answer with the security headers. */
function json(value: unknown): Response {
  return new Response(JSON.stringify(value), {
    headers: { ...securityHeaders(), "content-type": "application/json" },
  });
}

/** Start the web server; see the module doc. */
export function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const scheme = opts.tls ? "https" : "http";
  const sessions = new WebSessions();
  const sockets = new Set<{ socket: WebSocket; commands: WebCommands }>();
  let check: HostCheck;

  const handler = (req: Request): Response => {
    const url = new URL(req.url);
    // DNS rebinding: a page of another site that resolved its name to us still sends its Host.
    // HTTP/2 (over TLS) names the host in `:authority`, which Deno puts in the URL only.
    if (!check.allows(req.headers.get("host") ?? url.host)) {
      return text(421, "Refused: the Host header does not name this server");
    }
    const safe = req.method === "GET" || req.method === "HEAD";
    if (!safe && !check.allowsOrigin(req.headers.get("origin"), scheme)) {
      return text(403, "Refused: cross-origin request");
    }
    const token = url.searchParams.get("token");
    if (url.pathname === "/" && token !== null) {
      const id = sessions.exchange(token);
      if (id === null) {
        return text(403, "Refused: this token is wrong or already used; restart rmon web");
      }
      // The token leaves the address bar at once; the cookie carries the session from here.
      return text(303, "Signed in", {
        location: "/",
        "set-cookie": sessionCookie(id, scheme === "https"),
      });
    }
    if (!sessions.valid(req.headers.get("cookie"))) {
      return text(401, "Not signed in: open the address rmon web printed (its token works once)");
    }
    if (url.pathname === "/ws") return upgrade(req);
    if (!safe) return text(405, "Method not allowed");
    const asset = ASSETS.get(url.pathname);
    if (asset) {
      return new Response(asset.body, {
        headers: { ...securityHeaders(), "content-type": asset.contentType },
      });
    }
    switch (url.pathname) {
      case "/api/rows":
        return json({ readOnly: opts.readOnly, rows: opts.monitor.rows() });
      case "/api/history": {
        const host = url.searchParams.get("host");
        if (host === null) return json(opts.monitor.allSeries(SPARK_POINTS));
        const series = opts.monitor.series(host);
        return series ? json(series) : text(404, `No host "${host}"`);
      }
      default:
        return text(404, "Not found");
    }
  };

  const upgrade = (req: Request): Response => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text(400, "Expected a WebSocket upgrade");
    }
    // Browsers send Origin on every upgrade; a cross-site page's differs, and cookies alone
    // would not stop it (WebSockets are not subject to the same-origin policy).
    if (!check.allowsOrigin(req.headers.get("origin"), scheme)) {
      return text(403, "Refused: cross-origin WebSocket");
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 60 });
    const send = (m: ServerMessage) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(m));
    };
    const commands = new WebCommands(
      {
        fleet: opts.fleet,
        readOnly: opts.readOnly,
        timeoutMs: opts.timeoutMs,
        waitMs: opts.waitMs,
      },
      send,
    );
    const entry = { socket, commands };
    let unsubscribe = () => {};
    socket.onopen = () => {
      sockets.add(entry);
      const { intervalMs, historyMs } = opts.monitor.options;
      send({
        type: "hello",
        readOnly: opts.readOnly,
        intervalMs,
        historyMs,
        rows: opts.monitor.rows(),
        series: opts.monitor.allSeries(SPARK_POINTS),
        sparkPoints: SPARK_POINTS,
        notices: opts.monitor.notices(),
      });
      unsubscribe = opts.monitor.subscribe((e) => {
        // A page that cannot keep up skips table rounds rather than growing our memory.
        if (e.type === "rows" && socket.bufferedAmount > MAX_BUFFERED) return;
        send(e);
      });
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== "string") {
        socket.close(1003, "text frames only");
        return;
      }
      let msg;
      try {
        msg = parsePageMessage(ev.data);
      } catch (err) {
        send({ type: "error", id: null, message: describeError(err) });
        return;
      }
      switch (msg.type) {
        case "run":
          commands.run(msg).catch((err) => {
            opts.log(`rmon web: command failed: ${describeError(err)}`);
            send({ type: "error", id: msg.id, message: describeError(err) });
          });
          return;
        case "cancel":
          commands.cancel(msg.id);
          return;
        case "detail": {
          const series = opts.monitor.series(msg.host);
          if (series === null) {
            send({ type: "error", id: null, message: `No host "${msg.host}"` });
            return;
          }
          send({
            type: "detail",
            host: msg.host,
            series,
            info: opts.monitor.info(msg.host),
            status: opts.fleet.get(msg.host)?.status() ?? null,
          });
          return;
        }
        case "filter":
          send(filtered(opts.fleet, msg.text));
          return;
        default: {
          const never: never = msg;
          throw new TypeError(`Cannot handle page message ${JSON.stringify(never)}`);
        }
      }
    };
    socket.onclose = () => {
      sockets.delete(entry);
      unsubscribe();
      // Nobody is left to see the answers: cancel on every host.
      commands.cancelAll();
    };
    socket.onerror = () => {};
    return response;
  };

  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr> | null = null;
    let closing: Promise<void> | null = null;
    const close = () =>
      closing ??= (async () => {
        for (const { socket, commands } of sockets) {
          commands.cancelAll();
          socket.close(1001, "rmon web is stopping");
        }
        await server?.shutdown();
      })();
    try {
      server = Deno.serve({
        hostname: opts.listen.hostname,
        port: opts.listen.port,
        ...(opts.tls ? { cert: opts.tls.certPem, key: opts.tls.keyPem } : {}),
        onError: (err) => {
          opts.log(`rmon web: request failed: ${describeError(err)}`);
          return text(500, "Internal error");
        },
        onListen: (addr) => {
          const bound = { hostname: opts.listen.hostname, port: addr.port };
          check = new HostCheck(bound, opts.extraNames);
          const shown = bound.hostname === "0.0.0.0" || bound.hostname === "::"
            ? "127.0.0.1"
            : bound.hostname;
          const host = shown.includes(":") ? `[${shown}]` : shown;
          resolve({
            addr: bound,
            scheme,
            url: `${scheme}://${host}:${bound.port}/?token=${sessions.startToken}`,
            sessions,
            close,
            [Symbol.asyncDispose]: close,
          });
        },
      }, handler);
    } catch (err) {
      reject(err);
    }
  });
}

/** The `filtered` answer: the hosts `text` names (all for an empty filter), or why none. */
function filtered(fleet: Fleet, text: string): ServerMessage {
  const hosts = fleet.links.map((l) => ({ name: l.name, groups: l.groups }));
  if (text.trim() === "") return { type: "filtered", text, hosts: null, error: null };
  try {
    return {
      type: "filtered",
      text,
      hosts: resolveTargets(parseTarget(text.trim()), hosts),
      error: null,
    };
  } catch (err) {
    if (err instanceof RangeError || err instanceof SyntaxError) {
      return { type: "filtered", text, hosts: [], error: err.message };
    }
    throw err;
  }
}
