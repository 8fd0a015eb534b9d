/**
 * Transport seam: what the layers above the socket may know about it. A
 * `Transport` is a byte stream with `close()`, the peer's address and what
 * protects it (plain TCP, or TLS with the server certificate's fingerprint).
 * The server is given a {@linkcode ListenFn} and the client a {@linkcode Dialer},
 * so plain TCP (tcp_transport.ts), TLS (tls_transport.ts), in-memory pairs in
 * tests and later a message bus all plug in here; nothing above this module
 * names `Deno.Conn` or a listener class.
 * @module
 */

import type { ByteStream } from "./framing.ts";

/** Where to connect or listen. */
export interface Endpoint {
  hostname: string;
  port: number;
}

/** How a transport's bytes are protected; TLS names the server certificate (SHA-256, hex). */
export type Protection =
  | { kind: "plain" }
  | { kind: "tls"; fingerprint: string };

/** A connected byte stream: the framing layer reads and writes it. */
export interface Transport extends ByteStream {
  /** The peer as `host:port`, for logs. */
  readonly remote: string;
  /** The peer's IP address alone, for per-source limits (empty for in-memory pairs). */
  readonly peerAddress: string;
  /** What protects the bytes; bound into the handshake's proofs (channel binding). */
  readonly protection: Protection;
}

/** A listening socket handing out transports; `accept()` rejects once it is closed. */
export interface Listener {
  /** The bound address (port 0 resolved). */
  readonly addr: Endpoint;
  /** The next connection. A TLS transport does its handshake on first read or write. */
  accept(): Promise<Transport>;
  /** Stop listening; a pending `accept()` rejects. Idempotent. */
  close(): void;
}

/** Opens a listener on an endpoint (the server is given one: plain or TLS). */
export type ListenFn = (ep: Endpoint) => Promise<Listener>;

/** Opens a transport to an endpoint within `timeoutMs` (the client is given one per host). */
export type Dialer = (ep: Endpoint, timeoutMs: number) => Promise<Transport>;

/** Format an endpoint as `host:port`, bracketing IPv6 literals. */
export function formatEndpoint(ep: Endpoint): string {
  return ep.hostname.includes(":") ? `[${ep.hostname}]:${ep.port}` : `${ep.hostname}:${ep.port}`;
}

/** Whether `hostname` names this machine only: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return h === "::1" || h === "0:0:0:0:0:0:0:1" ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The channel-binding string both handshake proofs cover: `plain`, or
 * `tls:sha256:<hex>` of the server certificate. A man in the middle who
 * terminates TLS with its own certificate makes the two sides disagree here,
 * so no proof it relays is valid.
 */
export function channelBinding(protection: Protection): string {
  return protection.kind === "plain" ? "plain" : `tls:sha256:${protection.fingerprint}`;
}

/** Close a transport (or socket) that may already be closed. */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch (err) {
    if (!(err instanceof Deno.errors.BadResource)) throw err;
  }
}
