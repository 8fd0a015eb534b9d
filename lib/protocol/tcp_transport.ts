/**
 * Plain TCP transports (Deno's own sockets): the listener a loopback server
 * uses by default, and the dialer for loopback hosts or hosts reached with
 * `--insecure-plaintext`. Transport layer.
 *
 * A wrong pairing is named, not left to time out: the plain client sends one
 * empty line as soon as it connects, which a TLS server answers at once with
 * a TLS alert, and a plain server that receives a TLS ClientHello says so.
 * Both are recognised by their first bytes (a TLS record header).
 * @module
 */

import { deadline } from "../async.ts";
import { ConnectionClosedError, ProtocolError, TimeoutError } from "./errors.ts";
import type { Dialer, Endpoint, Listener, ListenFn, Protection, Transport } from "./transport.ts";
import { closeQuietly, formatEndpoint } from "./transport.ts";

/** What a plain client sends first: an empty line, which a plain server skips. */
export const PLAIN_PROBE = new Uint8Array([0x0a]);

const PLAIN: Protection = { kind: "plain" };

/** TLS record types that open what a TLS peer sends first: alert (21) or handshake (22). */
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR_VERSION = 0x03;

/** Whether `bytes` start like a TLS record of `type`. */
function looksLikeTls(bytes: Uint8Array, type: number): boolean {
  return bytes.length >= 2 && bytes[0] === type && bytes[1] === TLS_MAJOR_VERSION;
}

/** A plain TCP connection as a `Transport`; checks the first bytes read for TLS. */
class TcpTransport implements Transport {
  readonly remote: string;
  readonly peerAddress: string;
  readonly protection: Protection = PLAIN;
  #conn: Deno.TcpConn;
  #side: "client" | "server";
  #first = true;

  constructor(conn: Deno.TcpConn, side: "client" | "server", remote: string) {
    this.#conn = conn;
    this.#side = side;
    this.remote = remote;
    this.peerAddress = conn.remoteAddr.hostname;
    conn.setNoDelay(true); // frames are small and latency-bound
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#conn.read(p);
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

  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
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
 * Open a plain TCP connection, failing with `TimeoutError` after `timeoutMs`,
 * and send the probe line. A connection that completes after the deadline is
 * closed, never leaked.
 */
export const dialTcp: Dialer = async (ep: Endpoint, timeoutMs: number): Promise<Transport> => {
  const connecting = Deno.connect({ hostname: ep.hostname, port: ep.port, transport: "tcp" });
  try {
    const conn = await deadline(connecting, timeoutMs, () => {
      throw new TimeoutError(`Cannot connect to ${formatEndpoint(ep)}: timed out`);
    });
    const transport = new TcpTransport(conn, "client", formatEndpoint(ep));
    try {
      await conn.write(PLAIN_PROBE);
    } catch (err) {
      transport.close();
      throw new ConnectionClosedError(`Cannot connect to ${formatEndpoint(ep)}: closed`, {
        cause: err,
      });
    }
    return transport;
  } catch (err) {
    connecting.then(closeQuietly, () => {/* the failure is the one we report */});
    throw err;
  }
};
