/**
 * A small NATS client on Deno's own TCP and TLS: what rmon's operator client
 * needs of NATS and nothing more — connect to one server of a cluster (TLS
 * when the URL says `tls://`, a CA is given or the server asks; a NATS token,
 * an nkey seed or a creds file), publish, subscribe, flush, keep-alive pings,
 * and reconnect forever across the cluster's servers (those given and those
 * the servers announce), saying when the link drops and when it is back.
 *
 * Why not the NATS project's client (which the agent uses): measured here,
 * loading it costs the client ~17 MiB and its handling of 10,000 replies
 * ~20 MiB more, which alone put a one-shot to 10,000 agents over its 100 MB
 * budget. This one parses replies in place from one read buffer and batches
 * what it writes into one write per turn of the event loop.
 *
 * While the link is down, publishes wait (up to `MAX_PENDING_BYTES`; later
 * ones are dropped, and the hosts they were for time out), subscriptions are
 * made again on the next server, and flushes resolve once it answers.
 * Protocol layer.
 * @module
 */

import { AuthError, ConnectionClosedError, ProtocolError, TimeoutError } from "./errors.ts";
import { type NatsOpHandler, NatsParser, type NatsServerInfo } from "./nats_parser.ts";
import { connectAuthFields, type NatsAuth } from "./nats_auth.ts";
import { RMON_VERSION } from "./constants.ts";
import { deadline } from "../async.ts";

/** How to reach NATS. */
export interface NatsConnOptions {
  /** `nats://HOST:PORT` or `tls://HOST:PORT`, tried in this order. */
  servers: readonly string[];
  /** The name NATS shows for this connection. */
  name?: string;
  auth?: NatsAuth;
  /** PEM file of the CA that signed the servers' certificates (TLS is then required). */
  caFile?: string;
  /** Deadline of one connection attempt, TCP to the server's first PONG (default 5000 ms). */
  timeoutMs?: number;
  /** Wait between rounds of reconnect attempts over every known server (default 500 ms). */
  reconnectWaitMs?: number;
  /**
   * The wait after `failedRounds` rounds in a row that reached no server, in
   * place of `reconnectWaitMs` (a fleet of agents backs off, with jitter).
   */
  reconnectDelayMs?: (failedRounds: number) => number;
  /**
   * Bytes read from the socket at a time (default 64 KiB, for a client
   * gathering thousands of answers; a process holding thousands of agents'
   * connections wants less each).
   */
  readBufferBytes?: number;
  /** Keep-alive ping period (default 2 min); two unanswered ones mean the link is dead. */
  pingIntervalMs?: number;
}

/** A message delivered to a subscription. */
export interface NatsMsg {
  readonly subject: string;
  readonly reply: string | undefined;
  /** The payload; the receiver may keep it. */
  readonly data: Uint8Array;
}

/**
 * The link to NATS dropped (`disconnect`), is back (`reconnect`), or a round
 * of reconnect attempts over every known server failed (`error`: the last
 * server tried and why); the server as `host:port`.
 */
export type NatsStatus =
  | { type: "disconnect" | "reconnect"; server: string }
  | { type: "error"; server: string; error: unknown };

/** A subscription; `unsubscribe` ends it. */
export interface NatsSubscription {
  unsubscribe(): void;
}

/** Publishes kept while the link is down, at most (then dropped). */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/** A client leaves a server in lame-duck mode within this long (a random moment in it). */
export const LAME_DUCK_SPREAD_MS = 2_000;

/** Unanswered keep-alive pings after which the link counts as dead (as NATS's own clients). */
const MAX_PINGS_OUT = 2;

const encoder = new TextEncoder();
const PING = encoder.encode("PING\r\n");
const PONG = encoder.encode("PONG\r\n");

/** A subject or reply subject as it may appear on a control line. */
const SUBJECT = /^[^\s]{1,1024}$/;

/** Where a NATS URL points. */
interface NatsTarget {
  hostname: string;
  port: number;
  tls: boolean;
}

/** Host, port and scheme of `nats://HOST[:PORT]` or `tls://HOST[:PORT]` (port 4222 if none). */
export function parseNatsTarget(url: string): NatsTarget {
  const m = /^(nats|tls):\/\/(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) throw new SyntaxError(`"${url}" is not a nats://HOST:PORT or tls://HOST:PORT URL`);
  return {
    hostname: m[2]!.replace(/^\[|\]$/g, ""),
    port: m[3] === undefined ? 4222 : Number(m[3]),
    tls: m[1] === "tls",
  };
}

/** Whether `host` is an IPv4 or IPv6 address rather than a name. */
function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** `host:port` of a URL, as status lines show the server. */
function hostPort(url: string): string {
  return url.replace(/^\w+:\/\//, "");
}

/** One socket to one server, from its `INFO` through the handshake to the end. */
class Wire implements NatsOpHandler {
  readonly url: string;
  sock: Deno.Conn;
  readonly parser: NatsParser;
  serverInfo: NatsServerInfo | null = null;
  /** Handshake state: the server's first PONG, or its refusal. */
  ponged = false;
  refusal: string | null = null;
  /** Set once its server said it is shutting down (lame duck): the move is planned. */
  leaving = false;
  /** PINGs the server sent before the link was adopted: answered then. */
  earlyPings = 0;
  /** The connection once this wire carries it. */
  owner: NatsConn | null = null;

  constructor(url: string, sock: Deno.Conn) {
    this.url = url;
    this.sock = sock;
    this.parser = new NatsParser(this);
  }

  msg(subject: string, sid: number, reply: string | undefined, data: Uint8Array): void {
    this.owner?.deliver(this, subject, sid, reply, data);
  }
  info(info: NatsServerInfo): void {
    this.serverInfo = info;
    const max = info.max_payload;
    if (typeof max === "number" && max > 0) {
      // Twice the limit, at least 1 MiB: room for headers and for a cluster's nodes that differ.
      this.parser.maxPayload = Math.min(Math.max(2 * max, 1024 * 1024), 64 * 1024 * 1024);
    }
    this.owner?.learn(this, info);
  }
  ping(): void {
    if (this.owner) this.owner.answerPing(this);
    else this.earlyPings++;
  }
  pong(): void {
    if (this.owner) this.owner.ponged(this);
    else this.ponged = true;
  }
  err(text: string): void {
    if (this.owner) this.owner.serverError(this, text);
    else this.refusal = text;
  }

  /** Read until `done()` holds; throws when the socket ends first. */
  async readUntil(done: () => boolean, what: string): Promise<void> {
    const buf = new Uint8Array(4096);
    while (!done()) {
      const n = await this.sock.read(buf);
      if (n === null) {
        throw new ConnectionClosedError(
          this.refusal !== null
            ? `NATS refused the connection: ${this.refusal}`
            : `NATS closed the connection before ${what}`,
        );
      }
      this.parser.feed(buf.subarray(0, n));
    }
  }
}

/** A live NATS connection; see the module doc. Made by {@linkcode connectNats}. */
export class NatsConn {
  #opts: NatsConnOptions;
  /** Every server known, URLs: those given, then those the cluster announced. */
  #pool: string[];
  /** The name to verify a discovered server's certificate against, by URL (see `#addServers`). */
  #tlsNames = new Map<string, string>();
  #wire: Wire | null = null;
  #info: NatsServerInfo = {};
  #subs = new Map<number, { subject: string; callback: (msg: NatsMsg) => void }>();
  #nextSid = 1;
  /** Bytes to write, in order; only publishes are kept across a reconnect. */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #pumping = false;
  #pumpDone: Promise<void> = Promise.resolve();
  /** What each outstanding PING of this link waits for: a flush's resolve, or null (keep-alive). */
  #pongQueue: ((() => void) | null)[] = [];
  /** Flushes asked while the link was down: PINGed once it is back. */
  #flushWaiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  #flushRejects = new Map<() => void, (err: Error) => void>();
  #pingsOut = 0;
  #pingTimer: ReturnType<typeof setInterval>;
  #closed = false;
  #sleeping: { timer: ReturnType<typeof setTimeout>; wake: () => void } | null = null;
  /** Moves off servers in lame-duck mode, not yet made (cleared by `close`). */
  #leaving = new Set<ReturnType<typeof setTimeout>>();
  /** The connection attempt in flight, aborted by `close`. */
  #dialing: AbortController | null = null;
  /** The last error of the link or of a reconnect attempt, for the status lines. */
  lastError: unknown = null;
  /** Publishes dropped because the link stayed down too long (see `MAX_PENDING_BYTES`). */
  dropped = 0;
  /** Called when the link drops and when it is back. */
  onStatus: (status: NatsStatus) => void = () => {};
  /** Called with a server's `-ERR` that did not end the link (a permissions violation). */
  onServerError: (text: string) => void = () => {};

  /** Use `connectNats`. */
  private constructor(opts: NatsConnOptions) {
    this.#opts = opts;
    this.#pool = [...opts.servers];
    this.#pingTimer = setInterval(() => this.#keepAlive(), opts.pingIntervalMs ?? 120_000);
  }

  /** See {@linkcode connectNats}. */
  static async open(opts: NatsConnOptions): Promise<NatsConn> {
    if (opts.servers.length === 0) throw new SyntaxError("no NATS server given");
    for (const url of opts.servers) parseNatsTarget(url);
    const conn = new NatsConn(opts);
    let failure: unknown = null;
    for (const url of opts.servers) {
      try {
        conn.#adopt(await conn.#dial(url));
        return conn;
      } catch (err) {
        if (!(failure instanceof AuthError)) failure = err;
      }
    }
    await conn.close();
    throw failure;
  }

  /** The server this connection is on now (`host:port`), or null while it is down. */
  get server(): string | null {
    return this.#wire ? hostPort(this.#wire.url) : null;
  }

  /** Whether `close` was called. */
  isClosed(): boolean {
    return this.#closed;
  }

  /** Subscribe to `subject`; `callback` gets each message, in order. */
  subscribe(subject: string, callback: (msg: NatsMsg) => void): NatsSubscription {
    checkSubject(subject);
    if (this.#closed) throw new ConnectionClosedError("The NATS connection is closed");
    const sid = this.#nextSid++;
    this.#subs.set(sid, { subject, callback });
    if (this.#wire) this.#queue(encoder.encode(`SUB ${subject} ${sid}\r\n`));
    return {
      unsubscribe: () => {
        if (!this.#subs.delete(sid)) return;
        if (this.#wire) this.#queue(encoder.encode(`UNSUB ${sid}\r\n`));
      },
    };
  }

  /**
   * Publish `data` on `subject` (replies to `reply`, if given). Throws
   * `ProtocolError` for a subject NATS would misread or a payload over the
   * server's limit; kept while the link is down (see the module doc).
   */
  publish(subject: string, data: Uint8Array | string, reply?: string): void {
    checkSubject(subject);
    if (reply !== undefined) checkSubject(reply);
    if (this.#closed) throw new ConnectionClosedError("The NATS connection is closed");
    const body = typeof data === "string" ? encoder.encode(data) : data;
    const max = this.#info.max_payload;
    if (max !== undefined && body.length > max) {
      throw new ProtocolError(
        `NATS message of ${body.length} bytes is over the server's limit of ${max}`,
      );
    }
    const head = encoder.encode(
      reply === undefined
        ? `PUB ${subject} ${body.length}\r\n`
        : `PUB ${subject} ${reply} ${body.length}\r\n`,
    );
    const frame = new Uint8Array(head.length + body.length + 2);
    frame.set(head);
    frame.set(body, head.length);
    frame[frame.length - 2] = 13;
    frame[frame.length - 1] = 10;
    if (!this.#wire && this.#outBytes + frame.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.#queue(frame);
  }

  /** Resolves once the server has seen everything written before it (a PING answered). */
  flush(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("The NATS connection is closed"));
    }
    return new Promise((resolve, reject) => {
      if (this.#wire) {
        this.#flushRejects.set(resolve, reject);
        this.#pongQueue.push(resolve);
        this.#queue(PING);
      } else {
        this.#flushWaiting.push({ resolve, reject });
      }
    });
  }

  /**
   * Send what is queued (waiting at most `timeoutMs` for a server that does not
   * read), then close; outstanding flushes fail. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    if (this.#sleeping) {
      clearTimeout(this.#sleeping.timer);
      this.#sleeping.wake();
    }
    this.#dialing?.abort();
    for (const timer of this.#leaving) clearTimeout(timer);
    this.#leaving.clear();
    const wire = this.#wire;
    if (wire) {
      const drained = (async () => {
        await this.#pumpDone;
        if (this.#out.length > 0 && this.#wire === wire) {
          await writeAll(wire.sock, this.#takeOut()).catch((err) => this.lastError = err);
        }
      })();
      // A peer that stopped reading would hold a write, and so close(), forever: give it the
      // connect timeout, then close the socket under the write (which ends it).
      const ms = this.#opts.timeoutMs ?? 5_000;
      await deadline(drained, ms, () => {
        this.lastError = new TimeoutError(`NATS did not take the last writes in ${ms} ms`);
      });
      this.#wire = null;
      closeQuietly(wire.sock);
    }
    const closed = new ConnectionClosedError("The NATS connection is closed");
    for (const w of this.#flushWaiting) w.reject(closed);
    for (const reject of this.#flushRejects.values()) reject(closed);
    this.#flushWaiting = [];
    this.#flushRejects.clear();
    this.#pongQueue = [];
    this.#subs.clear();
  }

  // ---- what a wire reports (called by `Wire` once it carries this connection) ----

  /** @internal A message from `wire`. */
  deliver(
    wire: Wire,
    subject: string,
    sid: number,
    reply: string | undefined,
    data: Uint8Array,
  ): void {
    if (wire !== this.#wire) return;
    const sub = this.#subs.get(sid);
    if (!sub) return; // unsubscribed while the message was on its way
    guarded(() => sub.callback({ subject, reply, data }));
  }

  /**
   * @internal An `INFO` after the handshake: servers of the cluster to
   * reconnect to, or this server entering lame-duck mode (it is about to shut
   * down): then, with another server to go to, move there now, at a random
   * moment within `LAME_DUCK_SPREAD_MS` so that a fleet does not move at once.
   */
  learn(wire: Wire, info: NatsServerInfo): void {
    if (wire !== this.#wire) return;
    this.#info = info;
    this.#addServers(wire.url, info);
    if (info.ldm === true && this.#pool.some((u) => u !== wire.url) && !wire.leaving) {
      wire.leaving = true;
      const timer = setTimeout(() => {
        this.#leaving.delete(timer);
        this.#lost(
          wire,
          new ConnectionClosedError(`NATS at ${hostPort(wire.url)} is shutting down (lame duck)`),
        );
      }, Math.random() * LAME_DUCK_SPREAD_MS);
      this.#leaving.add(timer);
    }
  }

  /** @internal */
  answerPing(wire: Wire): void {
    if (wire === this.#wire) this.#queue(PONG);
  }

  /** @internal */
  ponged(wire: Wire): void {
    if (wire !== this.#wire) return;
    this.#pingsOut = 0;
    const resolve = this.#pongQueue.shift();
    if (resolve) {
      this.#flushRejects.delete(resolve);
      resolve();
    }
  }

  /** @internal A `-ERR` that may or may not end the link (the socket's end says which). */
  serverError(wire: Wire, text: string): void {
    if (wire !== this.#wire) return;
    this.lastError = new ProtocolError(`NATS: ${text}`);
    guarded(() => this.onServerError(text));
  }

  // ---- the link ----

  /**
   * One attempt at `url`: TCP, the server's INFO, TLS if wanted, CONNECT and
   * a PING answered. Resolves with the wire, not yet adopted.
   */
  async #dial(url: string): Promise<Wire> {
    const target = parseNatsTarget(url);
    const abort = new AbortController();
    this.#dialing = abort;
    let sock: Deno.Conn | null = null;
    let timedOut = false;
    const ms = this.#opts.timeoutMs ?? 5_000;
    // A deadline or `close` ends the attempt wherever it is: the socket's reads fail at once.
    abort.signal.addEventListener("abort", () => sock && closeQuietly(sock), { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, ms);
    try {
      const tcp = await Deno.connect({
        hostname: target.hostname,
        port: target.port,
        signal: abort.signal,
      });
      sock = tcp;
      tcp.setNoDelay(true);
      const wire = new Wire(url, tcp);
      await wire.readUntil(() => wire.serverInfo !== null, "its INFO");
      const info = wire.serverInfo!;
      const wantTls = target.tls || this.#opts.caFile !== undefined;
      if (info.tls_required || wantTls) {
        if (!info.tls_required && !info.tls_available) {
          throw new ProtocolError(`the NATS server at ${hostPort(url)} does not offer TLS`);
        }
        const caCerts = this.#opts.caFile === undefined
          ? undefined
          : [await Deno.readTextFile(this.#opts.caFile)];
        const hostname = this.#tlsNames.get(url) ?? target.hostname;
        const tls = await Deno.startTls(tcp, { hostname, caCerts });
        sock = tls;
        wire.sock = tls;
        await tls.handshake();
      }
      const connect = {
        verbose: false,
        pedantic: false,
        "tls_required": info.tls_required === true || wantTls,
        name: this.#opts.name ?? "rmon",
        lang: "rmon-deno",
        version: RMON_VERSION,
        protocol: 1, // asks for INFO updates: the cluster's other servers
        echo: true,
        headers: false,
        "no_responders": false,
        ...(await connectAuthFields(this.#opts.auth, info.nonce)),
      };
      await writeAll(wire.sock, encoder.encode(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`));
      await wire.readUntil(() => wire.ponged || wire.refusal !== null, "answering CONNECT");
      if (wire.refusal !== null) {
        throw /authori[sz]ation|authentication/i.test(wire.refusal)
          ? new AuthError(`NATS refused the credentials: ${wire.refusal}`)
          : new ProtocolError(`NATS refused the connection: ${wire.refusal}`);
      }
      return wire;
    } catch (err) {
      if (sock) closeQuietly(sock);
      if (timedOut) {
        throw new TimeoutError(`NATS at ${hostPort(url)}: connection timeout after ${ms} ms`, {
          cause: err,
        });
      }
      throw err;
    } finally {
      clearTimeout(timer);
      if (this.#dialing === abort) this.#dialing = null;
    }
  }

  /** Make `wire` this connection's link: subscriptions again, waiting flushes, the read loop. */
  #adopt(wire: Wire): void {
    this.#wire = wire;
    wire.owner = this;
    this.#info = wire.serverInfo ?? {};
    this.#addServers(wire.url, this.#info);
    let lines = "PONG\r\n".repeat(wire.earlyPings);
    for (const [sid, s] of this.#subs) lines += `SUB ${s.subject} ${sid}\r\n`;
    // Before the publishes kept while the link was down: their replies need the subscriptions.
    if (lines !== "") {
      const head = encoder.encode(lines);
      this.#out.unshift(head);
      this.#outBytes += head.length;
    }
    // After them: a flush resolves once the server has seen what was published before it.
    for (const w of this.#flushWaiting) {
      this.#flushRejects.set(w.resolve, w.reject);
      this.#pongQueue.push(w.resolve);
      this.#out.push(PING);
      this.#outBytes += PING.length;
    }
    this.#flushWaiting = [];
    if (this.#out.length > 0) this.#schedulePump();
    void this.#readLoop(wire);
  }

  async #readLoop(wire: Wire): Promise<void> {
    const buf = new Uint8Array(this.#opts.readBufferBytes ?? 64 * 1024);
    let why: unknown = null;
    try {
      while (wire === this.#wire) {
        const n = await wire.sock.read(buf);
        if (n === null) break;
        wire.parser.feed(buf.subarray(0, n));
      }
    } catch (err) {
      why = err;
    }
    this.#lost(wire, why);
  }

  /** The link on `wire` ended (read end, write error, dead keep-alive): reconnect. */
  #lost(wire: Wire, why: unknown): void {
    if (wire !== this.#wire) return; // already replaced or closed
    this.#wire = null;
    closeQuietly(wire.sock);
    if (why !== null) this.lastError = why;
    // Flushes of this link are PINGed again on the next one; keep-alives are forgotten.
    for (const resolve of this.#pongQueue) {
      if (resolve) this.#flushWaiting.push({ resolve, reject: this.#flushRejects.get(resolve)! });
    }
    this.#pongQueue = [];
    this.#flushRejects.clear();
    this.#pingsOut = 0;
    // Only publishes wait for the next link; subscriptions and PINGs are said again there.
    this.#out = this.#out.filter(isPublish);
    this.#outBytes = this.#out.reduce((n, b) => n + b.length, 0);
    if (this.#closed) return;
    guarded(() => this.onStatus({ type: "disconnect", server: hostPort(wire.url) }));
    void this.#reconnect(wire.url);
  }

  /** Try every known server, the one just lost last, round after round until one takes us. */
  async #reconnect(lost: string): Promise<void> {
    for (let failedRounds = 0; !this.#closed; failedRounds++) {
      const order = [...this.#pool.filter((u) => u !== lost), lost];
      let last = lost;
      for (const url of order) {
        last = url;
        if (this.#closed) return;
        try {
          const wire = await this.#dial(url);
          if (this.#closed) {
            closeQuietly(wire.sock);
            return;
          }
          this.#adopt(wire);
          guarded(() => this.onStatus({ type: "reconnect", server: hostPort(url) }));
          return;
        } catch (err) {
          this.lastError = err; // said by the status line's caller if it wants; we go on trying
        }
      }
      if (this.#closed) return;
      guarded(() =>
        this.onStatus({ type: "error", server: hostPort(last), error: this.lastError })
      );
      const delay = this.#opts.reconnectDelayMs;
      await this.#sleep(delay ? delay(failedRounds) : this.#opts.reconnectWaitMs ?? 500);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#sleeping = null;
        resolve();
      };
      this.#sleeping = { timer: setTimeout(wake, ms), wake };
    });
  }

  #keepAlive(): void {
    const wire = this.#wire;
    if (!wire) return;
    if (this.#pingsOut >= MAX_PINGS_OUT) {
      this.#lost(wire, new TimeoutError("NATS did not answer keep-alive pings"));
      return;
    }
    this.#pingsOut++;
    this.#pongQueue.push(null);
    this.#queue(PING);
  }

  #addServers(from: string, info: NatsServerInfo): void {
    const scheme = from.startsWith("tls:") ? "tls://" : "nats://";
    const fromName = this.#tlsNames.get(from) ?? parseNatsTarget(from).hostname;
    // Only a list: a number threw (ending the link), a string gave one "server" per character.
    if (!Array.isArray(info.connect_urls)) return;
    for (const hp of info.connect_urls) {
      if (typeof hp !== "string") continue;
      const url = scheme + hp;
      let target: NatsTarget;
      try {
        target = parseNatsTarget(url);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        continue; // not an address we could dial: the server's business, not a failure of ours
      }
      if (this.#pool.includes(url)) continue;
      this.#pool.push(url);
      // A server announced by address is verified against the name we reached the cluster by,
      // as NATS's own clients do: certificates name the servers, not their addresses.
      if (isIpAddress(target.hostname) && !isIpAddress(fromName)) this.#tlsNames.set(url, fromName);
    }
  }

  #queue(bytes: Uint8Array): void {
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (this.#wire) this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    // A microtask later: everything published in this turn goes out in one write.
    this.#pumpDone = Promise.resolve().then(() => this.#pump());
  }

  async #pump(): Promise<void> {
    try {
      // The link is read afresh each round: a write that was slow on a link since replaced
      // goes on with the new one, whose subscriptions wait in `#out`.
      for (let wire = this.#wire; wire && this.#out.length > 0; wire = this.#wire) {
        const batch = this.#takeOut();
        try {
          await writeAll(wire.sock, batch);
        } catch (err) {
          this.#lost(wire, err); // what this batch held is gone; hosts it was for time out
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #takeOut(): Uint8Array {
    const parts = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    if (parts.length === 1) return parts[0]!;
    let size = 0;
    for (const p of parts) size += p.length;
    const all = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return all;
  }
}

/**
 * Connect to the first of `opts.servers` that takes us. Throws the reason
 * (an `AuthError` when a server refused the credentials, else the last
 * server's) when none does.
 */
export function connectNats(opts: NatsConnOptions): Promise<NatsConn> {
  return NatsConn.open(opts);
}

/**
 * Call back into the connection's user: a bug there (a throwing subscriber or
 * status callback) is surfaced as an uncaught error, and the link goes on.
 */
function guarded(call: () => void): void {
  try {
    call();
  } catch (err) {
    reportError(err);
  }
}

/** Throw `ProtocolError` for a subject NATS would misread (empty, spaces, line breaks). */
function checkSubject(subject: string): void {
  if (!SUBJECT.test(subject)) {
    throw new ProtocolError(`Not a NATS subject: ${JSON.stringify(subject.slice(0, 80))}`);
  }
}

/** Whether queued bytes are a `PUB` (kept across a reconnect). */
function isPublish(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x55 && bytes[2] === 0x42; // "PUB"
}

async function writeAll(sock: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await sock.write(bytes.subarray(at));
}

/** Close a socket that may be closed already (a timer and a failure can both close it). */
function closeQuietly(sock: Deno.Conn): void {
  try {
    sock.close();
  } catch (err) {
    if (!(err instanceof Deno.errors.BadResource)) throw err;
  }
}
