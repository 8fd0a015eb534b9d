/**
 * TLS transports over `node:net`/`node:tls` (see node_stream.ts for why not
 * Deno's own TLS): the server's listener, which hands out connections before
 * any TLS work so that limits and penalties apply first, and the client's
 * dialer, which checks the server certificate against a pinned fingerprint, a
 * CA file, or the caller's trust-on-first-use store before a byte of the
 * protocol is sent. TLS 1.2 is the minimum on both sides. Transport layer.
 * @module
 */

import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  ConnectionClosedError,
  describeError,
  ProtocolError,
  TimeoutError,
  TrustError,
} from "./errors.ts";
import { deadline } from "../async.ts";
import { formatFingerprint, parseFingerprint } from "./fingerprint.ts";
import { NodeSocketStream } from "./node_stream.ts";
import type { Dialer, Endpoint, Listener, ListenFn, Protection, Transport } from "./transport.ts";
import { formatEndpoint } from "./transport.ts";

/** The server's certificate and key (PEM) and the certificate's fingerprint (bare hex). */
export interface TlsIdentity {
  certPem: string;
  keyPem: string;
  fingerprint: string;
}

/** How a client decides that a server certificate is the right one. */
export type TlsVerify =
  /** Exactly this certificate (bare hex SHA-256). */
  | { kind: "fingerprint"; fingerprint: string }
  /** A chain to this CA (PEM) with the dialed name in the certificate. */
  | { kind: "ca"; caPem: string }
  /** The caller decides (trust on first use); throws `TrustError` to refuse. */
  | { kind: "tofu"; check: (address: string, fingerprint: string) => void };

const MIN_TLS_VERSION = "TLSv1.2";

/** A Node socket's error code, if it has one. */
function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A server-side connection whose TLS handshake starts on its first read or write. */
class TlsServerTransport implements Transport {
  readonly remote: string;
  readonly peerAddress: string;
  readonly protection: Protection;
  #raw: Socket;
  #wrap: () => TLSSocket;
  #ready: Promise<NodeSocketStream> | null = null;
  #stream: NodeSocketStream | null = null;
  /** The stream once the handshake is done: reads then skip the promise. */
  #secured: NodeSocketStream | null = null;
  #closed = false;

  constructor(raw: Socket, wrap: () => TLSSocket, fingerprint: string) {
    this.#raw = raw;
    this.#wrap = wrap;
    this.remote = formatEndpoint({ hostname: raw.remoteAddress ?? "?", port: raw.remotePort ?? 0 });
    this.peerAddress = raw.remoteAddress ?? "";
    this.protection = { kind: "tls", fingerprint };
  }

  #handshake(): Promise<NodeSocketStream> {
    this.#ready ??= new Promise<NodeSocketStream>((resolve, reject) => {
      if (this.#closed) {
        reject(new ConnectionClosedError("Connection closed before the TLS handshake"));
        return;
      }
      const socket = this.#wrap();
      // Backpressure must stop the raw socket: pausing the TLS socket alone does not.
      const stream = new NodeSocketStream(socket, this.#raw);
      this.#stream = stream;
      const fail = (err?: Error) => {
        reject(
          codeOf(err) === "ERR_SSL_WRONG_VERSION_NUMBER"
            ? new ProtocolError("TLS handshake failed: the client speaks plain TCP to a TLS port")
            : new ProtocolError(
              `TLS handshake failed: ${err ? describeError(err) : "connection closed"}`,
            ),
        );
      };
      socket.once("secure", () => {
        socket.off("error", fail);
        this.#secured = stream;
        resolve(stream);
      });
      socket.once("error", fail);
      socket.once("close", () => fail());
    });
    return this.#ready;
  }

  async read(p: Uint8Array): Promise<number | null> {
    return await (this.#secured ?? await this.#handshake()).read(p);
  }

  async write(p: Uint8Array): Promise<number> {
    return await (this.#secured ?? await this.#handshake()).write(p);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#stream) this.#stream.close();
    else this.#raw.destroy();
  }
}

/**
 * A listen function serving TLS with `identity`. Connections are accepted
 * as plain sockets and wrapped in TLS only when the session first reads or
 * writes, so a refused or penalised peer costs no TLS work.
 */
export function tlsListen(identity: TlsIdentity): ListenFn {
  return async (ep: Endpoint): Promise<Listener> => {
    const net = await import("node:net");
    const tls = await import("node:tls");
    const context = tls.createSecureContext({
      cert: identity.certPem,
      key: identity.keyPem,
      minVersion: MIN_TLS_VERSION,
    });
    const server = net.createServer({ pauseOnConnect: true });
    const queue: Socket[] = [];
    const waiters: { resolve: (s: Socket) => void; reject: (e: Error) => void }[] = [];
    let closed = false;
    server.on("connection", (raw: Socket) => {
      raw.setNoDelay(true);
      // Until a session owns it, an error on the raw socket just ends it.
      raw.on("error", () => raw.destroy());
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(raw);
      else queue.push(raw);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: Error) => {
        reject(
          codeOf(err) === "EADDRINUSE"
            ? new Deno.errors.AddrInUse(describeError(err))
            : codeOf(err) === "EACCES"
            ? new Deno.errors.PermissionDenied(describeError(err))
            : err,
        );
      });
      server.listen({ host: ep.hostname, port: ep.port }, () => resolve());
    });
    server.on("error", () => {/* after listening, failures surface as closed accepts */});
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : ep.port;
    const wrap = (raw: Socket) => () =>
      new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    return {
      addr: { hostname: ep.hostname, port },
      async accept(): Promise<Transport> {
        const raw = queue.shift() ??
          await new Promise<Socket>((resolve, reject) => {
            if (closed) reject(new Deno.errors.BadResource("Listener closed"));
            else waiters.push({ resolve, reject });
          });
        return new TlsServerTransport(raw, wrap(raw), identity.fingerprint);
      },
      close(): void {
        if (closed) return;
        closed = true;
        server.close();
        for (const w of waiters.splice(0)) w.reject(new Deno.errors.BadResource("Listener closed"));
        for (const raw of queue.splice(0)) raw.destroy();
      },
    };
  };
}

/** A client-side TLS connection whose certificate has been checked. */
class TlsClientTransport implements Transport {
  readonly remote: string;
  readonly peerAddress: string;
  readonly protection: Protection;
  #stream: NodeSocketStream;

  constructor(socket: TLSSocket, remote: string, fingerprint: string) {
    this.#stream = new NodeSocketStream(socket);
    this.remote = remote;
    this.peerAddress = socket.remoteAddress ?? "";
    this.protection = { kind: "tls", fingerprint };
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#stream.read(p);
  }

  write(p: Uint8Array): Promise<number> {
    return this.#stream.write(p);
  }

  close(): void {
    this.#stream.close();
  }
}

/** Node error codes of a CA-verified handshake whose certificate was refused. */
const CERT_REFUSED = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
]);

/** Turn a failed TLS connect into the error classes the client acts on. */
function dialError(err: Error, ep: Endpoint): Error {
  const where = formatEndpoint(ep);
  const code = codeOf(err);
  switch (code) {
    case "ECONNREFUSED":
      return new Deno.errors.ConnectionRefused(`Cannot connect to ${where}: refused`);
    case "ECONNRESET":
      return new Deno.errors.ConnectionReset(`Cannot connect to ${where}: reset`);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new Deno.errors.NetworkUnreachable(`Cannot connect to ${where}: unreachable`);
    case "ETIMEDOUT":
      return new TimeoutError(`Cannot connect to ${where}: timed out`);
    case "ERR_SSL_WRONG_VERSION_NUMBER":
      return new ProtocolError(
        `Cannot connect to ${where}: the server speaks plain TCP, not TLS; ` +
          "connect with --insecure-plaintext (inventory: tls = false) to accept that",
      );
  }
  if (code !== undefined && CERT_REFUSED.has(code)) {
    return new TrustError(`Cannot connect to ${where}: certificate refused: ${err.message}`, {
      cause: err,
    });
  }
  return new ConnectionClosedError(`Cannot connect to ${where}: ${describeError(err)}`, {
    cause: err,
  });
}

/**
 * A dialer that speaks TLS and accepts the server only when `verify` says
 * so; a refused certificate is a `TrustError`, raised before any protocol
 * byte is sent. The transport's protection names the certificate seen.
 */
export function tlsDialer(verify: TlsVerify): Dialer {
  return async (ep: Endpoint, timeoutMs: number): Promise<Transport> => {
    const tls = await import("node:tls");
    const net = await import("node:net");
    const where = formatEndpoint(ep);
    let socket!: TLSSocket;
    const connecting = new Promise<Transport>((resolve, reject) => {
      socket = tls.connect({
        host: ep.hostname,
        port: ep.port,
        servername: net.isIP(ep.hostname) ? undefined : ep.hostname,
        minVersion: MIN_TLS_VERSION,
        ...(verify.kind === "ca"
          ? { ca: verify.caPem, rejectUnauthorized: true }
          : { rejectUnauthorized: false, checkServerIdentity: () => undefined }),
      });
      socket.setNoDelay(true);
      socket.once("error", (err: Error) => {
        socket.destroy();
        reject(dialError(err, ep));
      });
      socket.once("secureConnect", () => {
        try {
          const seen = parseFingerprint(socket.getPeerCertificate().fingerprint256 ?? "");
          if (verify.kind === "fingerprint" && seen !== verify.fingerprint) {
            throw new TrustError(
              `Cannot connect to ${where}: its certificate is ${formatFingerprint(seen)}, ` +
                `not the pinned ${formatFingerprint(verify.fingerprint)}`,
            );
          }
          if (verify.kind === "tofu") verify.check(where, seen);
          resolve(new TlsClientTransport(socket, where, seen));
        } catch (err) {
          socket.destroy();
          reject(err);
        }
      });
    });
    // A destroyed socket emits no error, so `connecting` stays pending; nobody awaits it.
    return await deadline(connecting, timeoutMs, () => {
      socket.destroy();
      throw new TimeoutError(`Cannot connect to ${where}: timed out`);
    });
  };
}
