/**
 * Transport seam: the only module that opens sockets. Plain TCP today; TLS
 * with certificate pinning plugs in here without touching framing, codec or
 * connection, which only see a `ByteStream`.
 * @module
 */

import { TimeoutError } from "../errors.ts";

/** Where to connect or listen. */
export interface Endpoint {
  hostname: string;
  port: number;
}

/** A connected byte stream with its peer's address, for logs. */
export interface Transport {
  conn: Deno.Conn;
  remote: string;
}

/** Format an endpoint as `host:port`, bracketing IPv6 literals. */
export function formatEndpoint(ep: Endpoint): string {
  return ep.hostname.includes(":") ? `[${ep.hostname}]:${ep.port}` : `${ep.hostname}:${ep.port}`;
}

/** Format a `Deno.Addr` for logs. */
export function formatAddr(addr: Deno.Addr): string {
  return addr.transport === "tcp" || addr.transport === "udp"
    ? formatEndpoint({ hostname: addr.hostname, port: addr.port })
    : addr.transport;
}

/**
 * Open a TCP connection, failing with `TimeoutError` after `timeoutMs`.
 * A connection that completes after the deadline is closed, never leaked.
 */
export async function dial(ep: Endpoint, timeoutMs: number): Promise<Transport> {
  const connecting = Deno.connect({ hostname: ep.hostname, port: ep.port, transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`Cannot connect to ${formatEndpoint(ep)}: timed out`)),
      timeoutMs,
    );
  });
  try {
    const conn = await Promise.race([connecting, deadline]);
    conn.setNoDelay(true);
    return { conn, remote: formatEndpoint(ep) };
  } catch (err) {
    connecting.then((late) => late.close(), () => {/* the failure is the one we report */});
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Listen for TCP connections on `ep` (port 0 picks a free port). */
export function listen(ep: Endpoint): Deno.TcpListener {
  return Deno.listen({ hostname: ep.hostname, port: ep.port, transport: "tcp" });
}

/** Prepare an accepted connection (no Nagle delay: frames are small and latency-bound). */
export function accepted(conn: Deno.Conn): Transport {
  if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
  return { conn, remote: formatAddr(conn.remoteAddr) };
}
