/**
 * Plain TCP transports (Deno's own sockets): the listener a loopback server
 * uses by default, and the dialer for loopback hosts or hosts reached with
 * `--insecure-plaintext`. Transport layer.
 *
 * A wrong pairing is named, not left to time out: a plain client that has
 * heard nothing {@linkcode PROBE_DELAY_MS} after connecting sends one empty
 * line, which a TLS server answers at once with a TLS alert, and a plain
 * server that receives a TLS ClientHello says so. Both are recognised by
 * their first bytes (a TLS record header). A plain server greets at once, so
 * the probe is rarely sent: one write (and one segment) fewer per connection.
 * @module
 */

import { deadline } from "../async.ts";
import { ProtocolError, TimeoutError } from "./errors.ts";
import type { Dialer, Endpoint, Listener, ListenFn, Protection, Transport } from "./transport.ts";
import { closeQuietly, formatEndpoint } from "./transport.ts";

/** What a plain client sends to a silent server: an empty line, which a plain server skips. */
export const PLAIN_PROBE = new Uint8Array([0x0a]);

/**
 * How long a plain client waits for the server's first bytes before it sends
 * the probe: a plain server sends `hello` on accepting, a TLS server nothing
 * until it hears a ClientHello.
 */
export const PROBE_DELAY_MS = 200;

const PLAIN: Protection = { kind: "plain" };

/** TLS record types that open what a TLS peer sends first: alert (21) or handshake (22). */
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR_VERSION = 0x03;

/** Whether `bytes` start like a TLS record of `type`. */
function looksLikeTls(bytes: Uint8Array, type: number): boolean {
  return bytes.length >= 2 && bytes[0] === type && bytes[1] === TLS_MAJOR_VERSION;
}

/**
 * The plain client connections still waiting for their server's first bytes,
 * and one timer for all of them (a timer per connection costs more than its
 * whole probe check, thousands of times in a cold fan-out): each gets its
 * probe once it has waited `PROBE_DELAY_MS` (up to half as long again).
 */
class SilentServers {
  /** Since when each waits; insertion order is that order. */
  #since = new Map<TcpTransport, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  watch(t: TcpTransport): void {
    this.#since.set(t, performance.now());
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), PROBE_DELAY_MS / 2);
    // Waiting sockets keep the process alive; this timer must not.
    Deno.unrefTimer(this.#timer);
  }

  forget(t: TcpTransport): void {
    this.#since.delete(t);
    if (this.#since.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const due = performance.now() - PROBE_DELAY_MS;
    for (const [t, since] of this.#since) {
      if (since > due) break;
      this.forget(t);
      t.probe();
    }
  }
}

const SILENT = new SilentServers();

/** A plain TCP connection as a `Transport`; checks the first bytes read for TLS. */
class TcpTransport implements Transport {
  readonly remote: string;
  readonly peerAddress: string;
  readonly protection: Protection = PLAIN;
  #conn: Deno.TcpConn;
  #side: "client" | "server";
  #first = true;
  /** The client has written something: a probe would come too late. */
  #wrote = false;
  /** The probe's write, once started: later writes wait for it, to keep the order. */
  #probing: Promise<unknown> | null = null;

  constructor(conn: Deno.TcpConn, side: "client" | "server", remote: string) {
    this.#conn = conn;
    this.#side = side;
    this.remote = remote;
    this.peerAddress = conn.remoteAddr.hostname;
    conn.setNoDelay(true); // frames are small and latency-bound
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = this.#side === "client" && this.#first && !this.#wrote
      ? await this.#readOrProbe(p)
      : await this.#conn.read(p);
    if (this.#first && n !== null) {
      this.#first = false;
      const head = p.subarray(0, n);
      if (this.#side === "client" && looksLikeTls(head, TLS_ALERT)) {
        throw new ProtocolError(
          `Cannot connect to ${this.remote}: the server speaks TLS; connect with --tls (inventory: tls = true)`,
        );
      }
      if (this.#side === "server" && looksLikeTls(head, TLS_HANDSHAKE)) {
        throw new ProtocolError("Cannot read: the client speaks TLS to a plain TCP port");
      }
    }
    return n;
  }

  /** The client's first read: a server silent for `PROBE_DELAY_MS` gets the probe. */
  async #readOrProbe(p: Uint8Array): Promise<number | null> {
    SILENT.watch(this);
    try {
      return await this.#conn.read(p);
    } finally {
      SILENT.forget(this);
    }
  }

  /** Send the probe line, unless something was written already. */
  probe(): void {
    if (this.#wrote) return;
    // A failed probe means a broken connection, which the pending read reports.
    this.#probing = this.#conn.write(PLAIN_PROBE).catch(() => {});
  }

  async write(p: Uint8Array): Promise<number> {
    this.#wrote = true;
    if (this.#probing !== null) await this.#probing;
    return await this.#conn.write(p);
  }

  close(): void {
    closeQuietly(this.#conn);
  }
}

/** A plain TCP connection as a `Transport` (for fakes in tests that accept sockets themselves). */
export function tcpTransport(conn: Deno.TcpConn, side: "client" | "server"): Transport {
  return new TcpTransport(conn, side, formatEndpoint(conn.remoteAddr));
}

/** Listen for plain TCP connections on `ep` (port 0 picks a free port). */
export const listenTcp: ListenFn = (ep: Endpoint): Promise<Listener> => {
  const listener = Deno.listen({ hostname: ep.hostname, port: ep.port, transport: "tcp" });
  return Promise.resolve({
    addr: { hostname: listener.addr.hostname, port: listener.addr.port },
    async accept(): Promise<Transport> {
      const conn = await listener.accept();
      const addr = conn.remoteAddr;
      return new TcpTransport(conn, "server", formatEndpoint(addr));
    },
    close: () => closeQuietly(listener),
  });
};

/**
 * Open a plain TCP connection, failing with `TimeoutError` after `timeoutMs`
 * (the probe line follows on the first read, if the server is silent). A
 * connection that completes after the deadline is closed, never leaked.
 */
export const dialTcp: Dialer = async (ep: Endpoint, timeoutMs: number): Promise<Transport> => {
  const connecting = Deno.connect({ hostname: ep.hostname, port: ep.port, transport: "tcp" });
  try {
    const conn = await deadline(connecting, timeoutMs, () => {
      throw new TimeoutError(`Cannot connect to ${formatEndpoint(ep)}: timed out`);
    });
    return new TcpTransport(conn, "client", formatEndpoint(ep));
  } catch (err) {
    connecting.then(closeQuietly, () => {/* the failure is the one we report */});
    throw err;
  }
};
