/**
 * One host as the client sees it: a persistent authenticated connection with
 * heartbeat and automatic reconnect (exponential backoff with jitter), its
 * state for the `hosts` table, and calls that fail fast while it is down.
 * Transient failures (the one `isTransient` predicate) are retried; a wrong
 * token or a protocol mismatch is not.
 * @module
 */

import {
  AuthError,
  ConnectionClosedError,
  describeError,
  isTransient,
  ProtocolMismatchError,
  RemoteError,
  TimeoutError,
  TrustError,
} from "../protocol/errors.ts";
import { FEATURES, METHODS, NOTIFICATIONS } from "../protocol/constants.ts";
import type { CallOptions, RpcPeer } from "../protocol/connection.ts";
import {
  clientHandshake,
  type Role,
  type SigningIdentity,
  TokenKey,
} from "../protocol/handshake.ts";
import type { ByeParams, HelloParams, Json, JsonObject } from "../protocol/messages.ts";
import { OS } from "../grammar/commands/metrics.ts";
import { MalformedResultError } from "../grammar/result_check.ts";
import {
  closeQuietly,
  type Dialer,
  type Endpoint,
  formatEndpoint,
  isLoopbackHost,
  type Protection,
  type Transport,
} from "../protocol/transport.ts";
import { formatFingerprint } from "../protocol/fingerprint.ts";
import { ClientOverloadedError, MAX_STRETCH, serviceDeadline } from "./loop_lag.ts";
import { type Heartbeats, VISITS } from "./heartbeats.ts";
import { CONNECTS } from "./dial_gate.ts";

/** Where a host stands. `lost` reconnects by itself; `auth_failed`, `closed` do not. */
export type LinkState = "connecting" | "up" | "lost" | "auth_failed" | "error" | "closed";

/** Timing settings of a link; all in milliseconds. */
export interface LinkTimings {
  /** Connect + handshake deadline (default 5000). */
  connectTimeoutMs: number;
  /**
   * Interval between heartbeats while idle (default 15000); 0 sends none (one-shot
   * mode: a link lives for one command). A fleet's links share one timer
   * (heartbeats.ts); a link with traffic since its last visit is skipped.
   */
  heartbeatMs: number;
  /** Ask a new connection's OS name for the `hosts` table (default true; one-shot: false). */
  describe: boolean;
  /** First reconnect delay, doubled per failure (default 500). */
  backoffMinMs: number;
  /** Largest reconnect delay (default 30000). */
  backoffMaxMs: number;
  /** Whether to reconnect after a transient failure (default true). */
  reconnect: boolean;
}

/** Default link timings. */
export const DEFAULT_TIMINGS: LinkTimings = {
  connectTimeoutMs: 5_000,
  heartbeatMs: 15_000,
  describe: true,
  backoffMinMs: 500,
  backoffMaxMs: 30_000,
  reconnect: true,
};

/** How a link's bytes are protected, as the `hosts` table names it. */
export type LinkSecurity = "tls" | "loopback" | "plaintext";

/** A snapshot of a link for the `hosts` table and `--json`. */
export interface LinkStatus {
  name: string;
  address: string;
  state: LinkState;
  /** Since when the link has been in this state (ms since the epoch). */
  since: number;
  /** Last measured round-trip time (handshake or heartbeat), ms. */
  rttMs: number | null;
  serverVersion: string | null;
  os: string | null;
  readOnly: boolean;
  /** The role the server granted (`admin`, `read-only`), once connected. */
  role: Role | null;
  /** Who the server took this client for: the operator key's name, or `token`. */
  user: string | null;
  /**
   * How the last connection was protected: `tls`, `loopback` (plain TCP on
   * this machine), `plaintext` (plain TCP off loopback: readable on the
   * network), or null before the first connection.
   */
  security: LinkSecurity | null;
  /** The server certificate's fingerprint (`sha256:…`) over TLS, else null. */
  fingerprint: string | null;
  /** Why the link is not up, if it is not. */
  reason: string | null;
}

/**
 * Why a server closed the connection, in words, from its `bye` reason:
 * `disconnected`, `the server was reset`, `the server was stopped by rmon
 * kill`, `the server shut down` (a signal such as SIGTERM), `access was
 * revoked`; an unknown reason is quoted.
 */
export function byeText(reason: string): string {
  switch (reason) {
    case "disconnect":
      return "disconnected";
    case "reset":
      return "the server was reset";
    case "kill":
      return "the server was stopped by rmon kill";
    case "shutdown":
      return "the server shut down";
    case "revoked":
      return "access was revoked";
    case "error":
      return "the server closed the connection after an error";
    default:
      return `the server closed the connection ("${reason}")`;
  }
}

/** A persistent connection to one server; see the module doc. */
export class HostLink {
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly groups: readonly string[];
  #dial: Dialer;
  #protection: Protection | null = null;
  #key: TokenKey | null;
  #identity: SigningIdentity | null;
  #role: Role | null = null;
  #user: string | null = null;
  #timings: LinkTimings;
  #peer: RpcPeer | null = null;
  #state: LinkState = "closed";
  #since = Date.now();
  #rttMs: number | null = null;
  #serverVersion: string | null = null;
  /** The optional abilities the server's hello listed (protocol.md §3.1). */
  #features: readonly string[] = [];
  #os: string | null = null;
  #readOnly = false;
  #reason: string | null = null;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The fleet's shared heartbeat timer, or null for none. */
  #heartbeats: Heartbeats | null;
  /** Frames the peer had read at the last heartbeat visit: a change means recent traffic. */
  #framesSeen = 0;
  /** A heartbeat is out and unanswered. */
  #beating = false;
  /** Visits in a row that found the connection quiet, or (while beating) the answer missing. */
  #quiet = 0;
  /** Unanswered heartbeats sent since the server was last heard from. */
  #unanswered = 0;
  /** The idle timeout the server stated in its hello (ms, 0: never), or null. */
  #serverIdleMs: number | null = null;
  /** Whether the last connect attempt failed because the client itself was overloaded. */
  #overloaded = false;
  #connecting: Promise<void> | null = null;
  /** The connection of an attempt still in its handshake: `close()` cuts it short. */
  #handshaking: Transport | null = null;
  /** The reason of the server's last `bye` on the current (or last) connection. */
  #bye: string | null = null;
  #wanted = false;
  #onChange: (link: HostLink) => void;

  /**
   * Create a link (not yet connected) that reaches `endpoint` through `dial`
   * and signs in with the token, the operator key, or both.
   */
  constructor(
    name: string,
    endpoint: Endpoint,
    groups: readonly string[],
    credentials: { token: string | TokenKey | null; identity: SigningIdentity | null },
    dial: Dialer,
    timings: Partial<LinkTimings> = {},
    onChange: (link: HostLink) => void = () => {},
    heartbeats: Heartbeats | null = null,
  ) {
    this.name = name;
    this.endpoint = endpoint;
    this.groups = groups;
    this.#dial = dial;
    const { token, identity } = credentials;
    this.#key = typeof token === "string" ? new TokenKey(token) : token;
    this.#identity = identity;
    if (this.#key === null && identity === null) {
      throw new TypeError(`Cannot add host "${name}": it has neither a token nor an operator key`);
    }
    this.#timings = { ...DEFAULT_TIMINGS, ...timings };
    this.#onChange = onChange;
    this.#heartbeats = this.#timings.heartbeatMs > 0 ? heartbeats : null;
  }

  /** The link's current state. */
  get state(): LinkState {
    return this.#state;
  }

  /** The optional abilities the server of the last connection listed in its hello. */
  get features(): readonly string[] {
    return this.#features;
  }

  /**
   * Why the server last said goodbye (`shutdown`, `reset`, `disconnect`…), or
   * null when the current connection has had no `bye`: tells a server that
   * stopped apart from a connection that broke.
   */
  get lastBye(): string | null {
    return this.#bye;
  }

  /**
   * Whether the last connect attempt ran out of time because the client's own
   * event loop was stalled (loop_lag.ts), not because the host was slow.
   */
  get overloaded(): boolean {
    return this.#overloaded;
  }

  /** A snapshot for tables and JSON. */
  status(): LinkStatus {
    return {
      name: this.name,
      address: formatEndpoint(this.endpoint),
      state: this.#state,
      since: this.#since,
      rttMs: this.#rttMs,
      serverVersion: this.#serverVersion,
      os: this.#os,
      readOnly: this.#readOnly,
      role: this.#role,
      user: this.#user,
      security: this.#protection === null
        ? null
        : this.#protection.kind === "tls"
        ? "tls"
        : isLoopbackHost(this.endpoint.hostname)
        ? "loopback"
        : "plaintext",
      fingerprint: this.#protection?.kind === "tls"
        ? formatFingerprint(this.#protection.fingerprint)
        : null,
      reason: this.#reason,
    };
  }

  #setState(state: LinkState, reason: string | null = null): void {
    if (state !== this.#state || reason !== this.#reason) {
      if (state !== this.#state) this.#since = Date.now();
      this.#state = state;
      this.#reason = reason;
      this.#onChange(this);
    }
  }

  /**
   * Connect (if not up) and resolve once up or failed; never rejects. The link
   * keeps itself connected afterwards until `close()`.
   */
  connect(): Promise<void> {
    this.#wanted = true;
    if (this.#state === "up") return Promise.resolve();
    clearTimeout(this.#retryTimer);
    this.#connecting ??= this.#attempt().finally(() => this.#connecting = null);
    return this.#connecting;
  }

  /**
   * Connect as {@linkcode connect} does, sending this call in the same write
   * as the auth request (pipelined, protocol.md §3.5: one round trip and one
   * write fewer; the server runs it only once the auth succeeded). Resolves
   * with the call's answer (wrapped) when it went out that way; with null when it did
   * not: the link was up or connecting already (then `call()` it), or the
   * connect failed (the link's state says why; the call's own failure is
   * dropped). Only for calls that reveal and change nothing (metric queries):
   * they leave before the server has proved who it is. With `last`, a server
   * that offers `closeAfter` is asked to close the connection once it has
   * answered (the call is marked `last`, protocol.md §3.5): for a connection
   * that exists for this one call.
   */
  async connectWithCall(
    method: string,
    params: JsonObject | undefined,
    opts: CallOptions = {},
    last = false,
  ): Promise<{ answer: Promise<Json> } | null> {
    if (this.#state === "up" || this.#connecting !== null) {
      await this.connect();
      return null;
    }
    this.#wanted = true;
    clearTimeout(this.#retryTimer);
    // Wrapped: an async function would otherwise wait for the answer it returns.
    const sent: { answer: Promise<Json> }[] = [];
    const attempt = this.#attempt((peer, hello) => {
      const offered = Array.isArray(hello.features) &&
        hello.features.includes(FEATURES.closeAfter);
      const answer = peer.call(method, last && offered ? { ...params, last: true } : params, opts);
      // A failed handshake fails the call as well; the link's state reports that failure.
      answer.catch(() => {});
      sent.push({ answer });
    }).finally(() => this.#connecting = null);
    this.#connecting = attempt;
    await attempt;
    return this.state === "up" ? sent[0] ?? null : null;
  }

  async #attempt(pipeline?: (peer: RpcPeer, hello: HelloParams) => void): Promise<void> {
    this.#setState("connecting", this.#reason);
    let peer: RpcPeer;
    // The deadline counts only time in which the client serviced this host (loop_lag.ts);
    // the inner timeouts are a backstop at the longest it may be stretched to.
    const budget = this.#timings.connectTimeoutMs;
    const backstop = budget * MAX_STRETCH;
    let abandoned = false;
    // A turn to connect first (dial_gate.ts): the deadline starts when this host is serviced.
    await CONNECTS.acquire();
    let admitted = true;
    const done = () => {
      if (admitted) CONNECTS.release();
      admitted = false;
    };
    if (!this.#wanted) {
      done();
      return;
    }
    const work = (async () => {
      const transport = await this.#dial(this.endpoint, backstop);
      if (!this.#wanted || abandoned) {
        closeQuietly(transport);
        return null;
      }
      this.#protection = transport.protection;
      this.#handshaking = transport;
      return await clientHandshake(transport, {
        key: this.#key,
        identity: this.#identity,
        timeoutMs: backstop,
        ...(pipeline ? { pipeline } : {}),
      }).finally(() => this.#handshaking = null);
    })().finally(done);
    try {
      const session = await serviceDeadline(
        work,
        budget,
        `Cannot connect to ${formatEndpoint(this.endpoint)}`,
        () => {
          abandoned = true;
          done(); // an attempt that hangs past its deadline gives its turn back now
          if (this.#handshaking) closeQuietly(this.#handshaking);
        },
      );
      if (session === null) return;
      peer = session.peer;
      this.#rttMs = session.handshakeMs;
      this.#serverVersion = session.auth.server;
      // Anything but a list of strings is ignored: a feature never used is never wrong.
      const idle = session.hello.idleMs;
      this.#serverIdleMs = typeof idle === "number" && Number.isFinite(idle) && idle >= 0
        ? idle
        : null;
      const features = session.hello.features;
      this.#features = Array.isArray(features)
        ? features.filter((f): f is string => typeof f === "string")
        : [];
      this.#readOnly = session.auth.readOnly;
      this.#role = session.auth.role;
      this.#user = session.auth.user;
    } catch (err) {
      // The abandoned attempt still settles; its own failure is not news.
      work.then((s) => s?.peer.close(), () => {});
      this.#failed(err);
      return;
    }
    if (!this.#wanted) {
      peer.close();
      return;
    }
    this.#peer = peer;
    this.#failures = 0;
    this.#overloaded = false;
    this.#bye = null;
    peer.handlers = {
      onNotification: (n) => {
        if (n.method === NOTIFICATIONS.bye) {
          const bye = n.params as unknown as ByeParams | undefined;
          this.#bye = bye?.reason ?? "unknown";
          this.#reason = byeText(this.#bye);
        }
      },
    };
    peer.run().then(() => this.#onPeerClosed(peer));
    this.#framesSeen = 0;
    this.#beating = false;
    this.#quiet = 0;
    this.#setState("up");
    this.#heartbeats?.add(this, this.#serverIdleMs);
    // The OS name is part of the hosts table; fetch it once per connection.
    if (!this.#timings.describe) return;
    peer.call(OS.method, undefined, { timeoutMs: this.#timings.connectTimeoutMs }).then(
      (r) => {
        try {
          const os = OS.result(r, "result");
          this.#os = os.name || `${os.platform} ${os.release}`;
        } catch (err) {
          if (!(err instanceof MalformedResultError)) throw err;
          this.#os = null; // a malformed answer shows as "-", like none
        }
        this.#onChange(this);
      },
      () => {/* the host table shows "-"; a dead link is noticed by the read loop */},
    );
  }

  /** Classify a connect/handshake failure and schedule a retry when it is transient. */
  #failed(err: unknown): void {
    // Closed while connecting: `close()` reports the link closed; this failure was its doing.
    if (!this.#wanted) return;
    this.#overloaded = err instanceof ClientOverloadedError;
    // A refusal names what was offered: the token, the operator key, or both.
    const refused = err instanceof AuthError && err.cause instanceof RemoteError && this.#identity;
    const reason = refused
      ? (this.#key ? "key and token refused" : "key refused")
      : failureReason(err);
    if (err instanceof AuthError) {
      this.#setState("auth_failed", reason);
      return;
    }
    if (!isTransient(err)) {
      this.#setState("error", reason);
      return;
    }
    this.#setState("lost", reason);
    this.#scheduleRetry();
  }

  #onPeerClosed(peer: RpcPeer): void {
    if (this.#peer !== peer) return;
    this.#peer = null;
    this.#heartbeats?.delete(this);
    if (!this.#wanted) {
      this.#setState("closed", this.#reason);
      return;
    }
    const why = this.#reason ?? describeError(peer.closeReason);
    this.#setState("lost", why);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (!this.#wanted || !this.#timings.reconnect) return;
    const base = Math.min(
      this.#timings.backoffMaxMs,
      this.#timings.backoffMinMs * 2 ** Math.min(this.#failures, 16),
    );
    this.#failures++;
    // Jitter spreads the reconnects of a fleet that lost its servers all at once.
    const delay = base / 2 + Math.random() * base / 2;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      // A goodbye explains the close, not the retry: the retry's own failure will say why.
      this.#reason = this.#bye !== null && this.#reason === byeText(this.#bye)
        ? null
        : this.#reason;
      this.connect();
    }, delay);
  }

  /**
   * One visit of the fleet's heartbeat timer (`VISITS` per interval, see
   * heartbeats.ts): a heartbeat once that many visits in a row found the
   * connection quiet: a notification, or every `probeEvery`th time since the
   * server was last heard (every time for a server that does not state its
   * idle timeout) a request. A request still unanswered as many visits (a whole
   * interval) later means a silent server: the connection is dropped and the
   * close handler reconnects. No timer per call: the visits are the deadline.
   */
  beat(): void {
    const peer = this.#peer;
    const beats = this.#heartbeats;
    if (!peer || !beats || this.#state !== "up") return;
    if (this.#beating) {
      if (++this.#quiet < VISITS) return;
      peer.close(
        new TimeoutError(`No answer to "heartbeat" within ${Math.round(beats.intervalMs)} ms`),
      );
      return;
    }
    const seen = peer.framesRead;
    if (seen !== this.#framesSeen) {
      this.#framesSeen = seen;
      this.#quiet = 0;
      this.#unanswered = 0; // it was heard: no need to ask it yet
      return;
    }
    if (++this.#quiet < VISITS) return;
    this.#quiet = 0;
    // A server that states its idle timeout takes any frame as traffic (protocol.md §8):
    // most heartbeats are then a notification, one write; every probeEvery-th asks for an answer.
    if (this.#serverIdleMs !== null && ++this.#unanswered < beats.probeEvery) {
      peer.notify(METHODS.heartbeat, {});
      return;
    }
    this.#unanswered = 0;
    this.#beating = true;
    const t0 = performance.now();
    peer.call(METHODS.heartbeat).then(() => {
      this.#beating = false;
      this.#quiet = 0;
      this.#rttMs = performance.now() - t0;
      // The answer itself is no traffic of the user's.
      this.#framesSeen = peer.framesRead;
    }, (err) => peer.close(err instanceof Error ? err : new ConnectionClosedError()));
  }

  /**
   * Make a call on this host. Rejects at once with `ConnectionClosedError` when
   * the link is not up, else as `RpcPeer.call` does.
   */
  call(method: string, params?: JsonObject, opts?: CallOptions): Promise<Json> {
    const peer = this.#peer;
    if (!peer || this.#state !== "up") {
      return Promise.reject(
        new ConnectionClosedError(`Not connected to ${this.name}: ${this.#reason ?? this.#state}`),
      );
    }
    return peer.call(method, params, opts);
  }

  /** Send an encoded frame (a stream chunk or ack); dropped when the link is not up. */
  sendRaw(frame: string): Promise<void> {
    const peer = this.#peer;
    if (!peer || this.#state !== "up") return Promise.resolve();
    return peer.sendRaw(frame);
  }

  /** Send an encoded frame in parts (a stream chunk); dropped when the link is not up. */
  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    const peer = this.#peer;
    if (!peer || this.#state !== "up") return Promise.resolve();
    return peer.sendParts(parts);
  }

  /** Close the link for good (no reconnect); resolves once the socket is closed. */
  async close(): Promise<void> {
    this.#wanted = false;
    clearTimeout(this.#retryTimer);
    this.#heartbeats?.delete(this);
    // An attempt in its handshake ends now rather than at its timeout.
    if (this.#handshaking) closeQuietly(this.#handshaking);
    const peer = this.#peer;
    if (peer) {
      peer.close();
      await peer.closed;
      // Forget it now: its read loop may report the close only after a new connect()
      // began, and must not then pass for a lost connection (spurious "lost" + retry).
      if (this.#peer === peer) this.#peer = null;
    }
    await this.#connecting;
    this.#setState("closed", this.#reason);
  }
}

/** One short reason for a failed connection, in the words of the `hosts` table. */
export function failureReason(err: unknown): string {
  if (err instanceof Deno.errors.ConnectionRefused) return "refused";
  // Before TimeoutError, which it extends: the client, not the host, was slow.
  if (err instanceof ClientOverloadedError) return err.message;
  if (err instanceof TimeoutError) return "timeout";
  // Said in full: the user must see both fingerprints and what to do.
  if (err instanceof TrustError) return describeError(err);
  if (err instanceof AuthError) return "bad token";
  if (err instanceof ProtocolMismatchError) return "protocol mismatch";
  return describeError(err);
}
