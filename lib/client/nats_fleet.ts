/**
 * The fleet reached through a NATS cluster that the agents dial out to
 * (bus mode). The client asks who is present (a signed presence query on the
 * fleet's `all` subject), sends each command as one signed request (to
 * `all`, a group subject, or each host's own subject), and gathers MACed
 * answers on a private reply subject: output chunks in order, then each
 * host's end. A host that is not present is `unreachable`, one that does not
 * answer within the wait is `timeout`, as over direct connections; a reply
 * whose MAC is wrong is dropped, never shown.
 *
 * Live (the console), it also follows the agents' heartbeats on their
 * presence subjects: a host whose announcements stop, or that says it is
 * leaving, is `lost`; one that announces itself again is `up`. The console's
 * `disconnect` closes a host on this side only (the agent stays on the bus),
 * `kill` and `reset` go to the agent (it stops, or reconnects to NATS).
 * Cancel is one message on the call's own subject for all its hosts. Client
 * layer.
 * @module
 */

import { connectNats, type NatsConn, type NatsMsg } from "../protocol/nats_conn.ts";
import { ERROR_CODES } from "../protocol/constants.ts";
import { natsReason } from "../protocol/nats_reason.ts";
import type { NatsAuth } from "../protocol/nats_auth.ts";
import type { Json, JsonObject, RpcErrorObject } from "../protocol/messages.ts";
import {
  BusKey,
  busNonce,
  type BusRequest,
  CLOCK_WINDOW_MS,
  keySignRequest,
} from "../protocol/bus_auth.ts";
import type { Identity } from "./identity.ts";
import {
  ACK_METHOD,
  ANNOUNCE_NONCE,
  type Announcement,
  CANCEL_METHOD,
  DEFAULT_HEARTBEAT_MS,
  FleetSubjects,
  FLOW_WINDOW_CHARS,
  HEARTBEAT_MISSES,
  type Presence,
  PRESENCE_METHOD,
} from "../protocol/nats_subjects.ts";
import { isLoopbackHost } from "../protocol/transport.ts";
import type { RemoteCommand } from "../grammar/command.ts";
import { toRequest } from "../grammar/params.ts";
import { REMOTE_SPECS } from "../grammar/remote_table.ts";
import { INFO } from "../grammar/commands/metrics.ts";
import { vitalsOf } from "../grammar/commands/vitals.ts";
import { CALL_END, MalformedResultError } from "../grammar/result_check.ts";
import type { RemoteSpec } from "../grammar/spec.ts";
import type { HostResult, HostStatus, RunOptions } from "./fleet.ts";
import type { Fleet, FleetMember } from "./fleet_api.ts";
import type { LinkSecurity, LinkState, LinkStatus } from "./host_link.ts";
import { releaseAfterFanout } from "./heap_release.ts";

/** Settings of a bus fleet. */
export interface NatsFleetOptions {
  servers: string[];
  fleet: string;
  /** The rmon fleet token (its MAC key). */
  token: string;
  /**
   * The operator's key: each command's request also carries its public key
   * and its signature, which agents with authorized keys check and audit by
   * name. The presence query, cancel and ack messages are MACed only.
   */
  identity?: Identity | null;
  natsAuth?: NatsAuth;
  /** CA of the NATS servers' certificates. */
  caFile?: string;
  /** Deadline of the NATS connection (default 5000 ms). */
  connectTimeoutMs?: number;
  /**
   * The hosts that should answer (an inventory's names and groups), or null to
   * take whoever answers the presence query. Default null.
   */
  expected?: readonly { name: string; groups: readonly string[] }[] | null;
  /**
   * Longest wait for presence answers (default 2000 ms): with `expected`
   * hosts, the query ends when all of them answered, else after this.
   */
  discoverMs?: number;
  /**
   * Without `expected` hosts, the query ends once nobody new answered for this
   * long (default 200 ms) or for as long as the query had lasted at the last
   * answer, whichever is longer, and not before twice this long: thousands of
   * agents on busy machines answer in bursts with gaps, and a fixed 200 ms of
   * silence ended the query with a few dozen of 10,000 (measured).
   */
  quietMs?: number;
  /**
   * Follow the agents' heartbeats (the console): hosts become lost and come
   * back as they do; agents that appear later join the fleet (unless it has
   * `expected` hosts). Default false (one-shot: the presence query only).
   */
  live?: boolean;
}

/** What a client cannot get past: NATS down, credentials refused. One line, no stack. */
export class BusUnavailableError extends Error {
  /** Wrap the NATS client's error `cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusUnavailableError";
  }
}

/** How often a live fleet looks for hosts whose heartbeats stopped. */
const LAPSE_CHECK_MS = 1_000;

/** Distinct refusals kept and said (see `NatsFleet.refusals`). */
const MAX_REFUSALS = 10;

/** How often a cancel is said again while hosts have not answered it (see `run`). */
const CANCEL_REPEAT_MS = 500;

/** Why an agent left, from its last announcement. */
const LEAVING_TEXT: Record<NonNullable<Announcement["leaving"]>, string> = {
  stop: "the agent stopped",
  kill: "the agent was stopped by rmon kill",
  reset: "the agent is reconnecting to NATS (rmon reset)",
};

/** How long a host may take to answer when the caller sets no wait. */
const DEFAULT_WAIT_MS = 30_000;

/** How long after a cancel the client waits for the hosts' own `cancelled` answers. */
const CANCEL_GRACE_MS = 3_000;

/** One host's part of a run, until its end arrives. */
interface Pending {
  nonce: string;
  seq: number;
  /** Output characters taken, and how many of them were acknowledged to the agent. */
  received: number;
  acked: number;
  /** Output kept so far; made at the first chunk (most calls stream none: ten thousand `ram`s). */
  out: { stdout: string[]; stderr: string[] } | null;
  started: number;
}

/** One host as a live bus fleet knows it; see {@linkcode FleetMember}. */
class BusMember implements FleetMember {
  readonly name: string;
  groups: readonly string[];
  state: LinkState = "connecting";
  since = Date.now();
  reason: string | null = null;
  presence: Presence | null = null;
  /** The role the agent last said a call ran under (the key's), once a call has ended. */
  role: "admin" | "read-only" | null = null;
  #security: LinkSecurity;
  /** Who the requests are from: the operator key's name, or `token`. */
  #user: string;

  constructor(name: string, groups: readonly string[], security: LinkSecurity, user: string) {
    this.name = name;
    this.groups = groups;
    this.#security = security;
    this.#user = user;
  }

  /** Move to `state`; false when it was there already (nothing to announce). */
  set(state: LinkState, reason: string | null = null): boolean {
    if (state === this.state && reason === this.reason) return false;
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.reason = reason;
    return true;
  }

  status(): LinkStatus {
    const p = this.presence;
    return {
      name: this.name,
      address: p ? `nats:${p.address}` : this.name,
      state: this.state,
      since: this.since,
      rttMs: null,
      serverVersion: p?.version ?? null,
      os: null,
      readOnly: p?.readOnly ?? false,
      // Until a call says otherwise, the token's role: admin unless the agent is read-only.
      role: p ? (this.role ?? (p.readOnly ? "read-only" : "admin")) : null,
      user: p ? this.#user : null,
      security: p ? this.#security : null,
      fingerprint: null,
      reason: this.reason,
    };
  }
}

/** A host heard from lately: what it said, when, and how often it will say it. */
interface Heard {
  presence: Presence;
  at: number;
  intervalMs: number;
  /** The time its last announcement carried: an older one is a replay. */
  ts: number;
}

/** A fleet reached through NATS; see the module doc. */
export class NatsFleet implements Fleet {
  /** Requests over NATS, to agents that dialled out. */
  readonly transport = "bus" as const;
  #opts: NatsFleetOptions;
  #key: BusKey;
  #subjects: FleetSubjects;
  #nc: NatsConn | null = null;
  #present = new Map<string, Heard>();
  #members = new Map<string, BusMember>();
  /** Hosts removed by `forget`: their announcements no longer add them. */
  #forgotten = new Set<string>();
  #discovered = false;
  #lapseTimer: ReturnType<typeof setInterval> | undefined;
  #security: LinkSecurity;
  /** Who the requests are from, as `hosts` shows it: the operator key's name, or `token`. */
  #signer: string;
  /** Replies dropped because their MAC was wrong (or they were not JSON). */
  forgedReplies = 0;
  /**
   * Set when the presence query ran out of time (`discoverMs`) while agents
   * were still answering: more may be present than were heard (`heard`), so
   * an unnamed target missed them and a named one may call them unreachable.
   */
  presenceCut: { heard: number; afterMs: number } | null = null;
  /** Called whenever a host's state changes. */
  onChange: (member: FleetMember) => void = () => {};
  /** Live only: one line when the client's own NATS connection is lost, and when it is back. */
  onBusNotice: (text: string) => void = () => {};
  /**
   * What NATS refused us and said so without ending the link (a permissions
   * violation: a subject this user may not publish or subscribe to), each
   * text once; the hosts concerned then time out or stay unheard, and this
   * says why.
   */
  readonly refusals: string[] = [];
  /** Called with each new entry of `refusals`. */
  onRefusal: (text: string) => void = () => {};

  /** A fleet, not yet connected. */
  constructor(opts: NatsFleetOptions) {
    this.#opts = opts;
    this.#signer = opts.identity?.comment || (opts.identity ? "key" : "token");
    this.#key = new BusKey(opts.token);
    this.#subjects = new FleetSubjects(opts.fleet);
    this.#security = opts.caFile !== undefined || opts.servers.some((u) => u.startsWith("tls:"))
      ? "tls"
      : opts.servers.every((u) => isLoopbackHost(urlHost(u)))
      ? "loopback"
      : "plaintext";
    for (const h of opts.expected ?? []) {
      this.#members.set(h.name, new BusMember(h.name, [...h.groups], this.#security, this.#signer));
    }
  }

  /** The hosts present on the bus (answered the query, or announced themselves lately), by name. */
  get present(): ReadonlyMap<string, Presence> {
    return new Map([...this.#present].map(([n, h]) => [n, h.presence]));
  }

  /** The hosts targets choose among: the expected ones, else those present. */
  hosts(): { name: string; groups: string[] }[] {
    return this.links.map((m) => ({ name: m.name, groups: [...m.groups] }));
  }

  /** Every host of the fleet: the expected ones, else those that announced themselves. */
  get links(): BusMember[] {
    return [...this.#members.values()];
  }

  /** The host named `name`, if any. */
  get(name: string): BusMember | undefined {
    return this.#members.get(name);
  }

  /** Forget a host: not shown, not targeted, its announcements ignored from now on. */
  remove(name: string): Promise<void> {
    this.#members.delete(name);
    this.#forgotten.add(name);
    return Promise.resolve();
  }

  /**
   * A host heard from: it is present; a member comes up (unless closed on
   * purpose); without expected hosts, a newcomer joins the fleet.
   */
  #heard(p: Presence, intervalMs: number, ts: number): void {
    this.#present.set(p.name, { presence: p, at: Date.now(), intervalMs, ts });
    let m = this.#members.get(p.name);
    if (!m) {
      if (this.#opts.expected || this.#forgotten.has(p.name)) return;
      m = new BusMember(p.name, p.groups, this.#security, this.#signer);
      this.#members.set(p.name, m);
    }
    m.presence = p;
    if (!this.#opts.expected) m.groups = p.groups; // the agent says which groups it is in
    if (m.state !== "closed" && m.set("up")) this.onChange(m);
  }

  /** A host gone from the bus (left, or its heartbeats stopped): lost, unless closed. */
  #gone(name: string, why: string): void {
    this.#present.delete(name);
    const m = this.#members.get(name);
    if (m && m.state !== "closed" && m.set("lost", why)) this.onChange(m);
  }

  /** An announcement on a presence subject: checked (MAC, subject, time) before it counts. */
  #onAnnouncement(msg: NatsMsg): void {
    const m = this.#key.openReply(ANNOUNCE_NONCE, msg.subject, msg.data);
    if (m === null || msg.subject !== this.#subjects.presence(m.host)) {
      this.forgedReplies++;
      return;
    }
    let a: Partial<Announcement> | null = null;
    try {
      a = JSON.parse(m.body);
    } catch (_err) {
      a = null; // authentic but not JSON: ignored
    }
    const p = parsePresence(JSON.stringify({ result: a?.presence }));
    const ts = a?.ts;
    if (p === null || p.name !== m.host || typeof ts !== "number") return;
    // Out of the clock window, or older than what it said last: a replay, not news.
    if (Math.abs(Date.now() - ts) > CLOCK_WINDOW_MS) return;
    const last = this.#present.get(p.name);
    if (last && ts < last.ts) return;
    if (a?.leaving) {
      this.#gone(p.name, LEAVING_TEXT[a.leaving] ?? "the agent left the bus");
      return;
    }
    const interval = typeof a?.intervalMs === "number" && a.intervalMs > 0
      ? a.intervalMs
      : DEFAULT_HEARTBEAT_MS;
    this.#heard(p, interval, ts);
  }

  /** Hosts whose heartbeats stopped: lost. */
  #checkLapses(): void {
    const now = Date.now();
    for (const [name, h] of this.#present) {
      const silent = now - h.at;
      if (silent > h.intervalMs * HEARTBEAT_MISSES + LAPSE_CHECK_MS) {
        this.#gone(name, `no heartbeat for ${Math.round(silent / 1000)} s`);
      }
    }
  }

  /** Where a host runs, as its presence said (for the `address` of records). */
  addressOf(name: string): string | undefined {
    const p = this.#present.get(name)?.presence;
    return p ? `nats:${p.address}` : undefined;
  }

  /**
   * Connect to NATS and ask who is present. Throws `BusUnavailableError` when
   * NATS cannot be reached or refuses the credentials.
   */
  async connect(
    names?: readonly string[],
    onProgress?: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#nc === null) {
      this.#nc = await this.#dial();
      this.#nc.onServerError = (text) => {
        // Bounded: a client denied every subject would otherwise collect one per host.
        if (this.refusals.includes(text) || this.refusals.length >= MAX_REFUSALS) return;
        this.refusals.push(text);
        this.onRefusal(text);
      };
      if (this.#opts.live) {
        // Subscribed before the query, so no announcement falls between the two.
        this.#nc.subscribe(this.#subjects.presenceAll, (msg) => this.#onAnnouncement(msg));
        this.#lapseTimer = setInterval(() => this.#checkLapses(), LAPSE_CHECK_MS);
        this.#watchBus(this.#nc);
      }
    }
    if (signal?.aborted) return;
    if (!this.#discovered) {
      await this.#discover(onProgress, signal);
      this.#discovered = true;
    }
    // The hosts asked for are up if present, lost if not (a closed one is opened again).
    const chosen = names ?? [...this.#members.keys()];
    for (const name of chosen) {
      this.#forgotten.delete(name);
      const m = this.#members.get(name);
      if (!m) continue;
      const here = this.#present.get(name);
      if (here) m.presence = here.presence;
      if (here) m.set("up");
      else m.set("lost", "not present on the bus");
      // Said even when unchanged: whoever listens now learns each host's state (the console
      // connects after the first query, and must know who was up to say "back" later).
      this.onChange(m);
    }
  }

  /**
   * Say when our own NATS connection drops and comes back (the NATS client
   * reconnects by itself, to any server of the cluster it has learnt of);
   * meanwhile hosts go lost as their heartbeats stop arriving, and come back
   * with them.
   */
  #watchBus(nc: NatsConn): void {
    nc.onStatus = (s) => {
      // A failed round of reconnects is not news: the console said it is reconnecting.
      if (s.type === "disconnect") {
        this.onBusNotice(`Lost the connection to NATS (${s.server}); reconnecting`);
      } else if (s.type === "reconnect") {
        this.onBusNotice(`Reconnected to NATS (${s.server})`);
      }
    };
  }

  /** Whether `name` is a host of this fleet, or could be one (present, or forgotten). */
  knows(name: string): boolean {
    return this.#members.has(name) || this.#present.has(name);
  }

  /** Take a forgotten or newly present host (by name) back into the fleet; false if unknown. */
  adopt(name: string): boolean {
    if (this.#members.has(name)) return true;
    const here = this.#present.get(name);
    if (!here) return false;
    this.#forgotten.delete(name);
    const m = new BusMember(name, here.presence.groups, this.#security, this.#signer);
    this.#members.set(name, m);
    return true;
  }

  async #dial(): Promise<NatsConn> {
    const { servers, natsAuth, caFile } = this.#opts;
    try {
      return await connectNats({
        servers,
        name: "rmon",
        timeoutMs: this.#opts.connectTimeoutMs ?? 5_000,
        reconnectWaitMs: 500,
        ...(natsAuth ? { auth: natsAuth } : {}),
        ...(caFile !== undefined ? { caFile } : {}),
      });
    } catch (err) {
      throw new BusUnavailableError(
        `Cannot connect to NATS at ${servers.join(",")}: ${natsReason(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  /** The presence query: every agent answers on our reply subject; ends when quiet. */
  async #discover(
    onProgress?: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const nc = this.#nc!;
    const expected = this.#opts.expected ?? null;
    const want = expected ? new Set(expected.map((h) => h.name)) : null;
    const total = want?.size ?? 0;
    let seen = 0;
    const reply = this.#subjects.reply(busNonce());
    const nonce = busNonce();
    let done = () => {};
    const finished = new Promise<void>((resolve) => done = resolve);
    let quiet: ReturnType<typeof setTimeout> | undefined;
    const quietMs = this.#opts.quietMs ?? 200;
    let heard = 0;
    let lastHeard = 0;
    const sub = nc.subscribe(reply, (msg) => {
      const m = this.#key.openReply(nonce, reply, msg.data);
      if (m === null) {
        this.forgedReplies++;
        return;
      }
      if (m.kind !== "end") return;
      const p = parsePresence(m.body);
      if (p === null || p.name !== m.host) return;
      this.#heard(p, p.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, 0);
      heard++;
      lastHeard = performance.now();
      if (want) {
        if (want.has(p.name)) {
          seen++;
          onProgress?.(seen, total);
        }
        // Every expected host is here: no need to wait for the slowest stranger.
        if (seen === total) done();
        return;
      }
      // Nobody to expect: whoever has answered once the answers stop coming.
      clearTimeout(quiet);
      const since = performance.now() - asked;
      quiet = setTimeout(done, Math.max(quietMs, since, 2 * quietMs - since));
    });
    const capMs = this.#opts.discoverMs ?? 2_000;
    const cap = setTimeout(() => {
      // Cut short rather than over: answers were still coming when the longest wait ran out.
      if (heard > 0 && performance.now() - lastHeard < 2 * quietMs) {
        this.presenceCut = { heard, afterMs: capMs };
      }
      done();
    }, capMs);
    const onAbort = () => done();
    signal?.addEventListener("abort", onAbort, { once: true });
    const asked = performance.now();
    try {
      await this.#publish(this.#subjects.all, PRESENCE_METHOD, {}, reply, nonce);
      await finished;
    } finally {
      clearTimeout(cap);
      clearTimeout(quiet);
      signal?.removeEventListener("abort", onAbort);
      sub.unsubscribe();
    }
  }

  /**
   * Publish a request MACed with the token; a call (`keyed`) is also signed
   * with the operator's key when there is one (resolves once it is out).
   */
  #publish(
    subject: string,
    method: string,
    params: JsonObject,
    reply: string,
    nonce: string,
    keyed = false,
  ): Promise<void> {
    const req: BusRequest = {
      method,
      params: JSON.stringify(params),
      reply,
      ts: Date.now(),
      nonce,
    };
    const identity = keyed ? this.#opts.identity : null;
    if (!identity) {
      this.#nc?.publish(subject, this.#key.signRequest(subject, req));
      return Promise.resolve();
    }
    req.key = identity.publicKey;
    return keySignRequest(identity.privateKey, subject, req).then((sig) => {
      this.#nc?.publish(subject, this.#key.signRequest(subject, req, sig));
    });
  }

  /** Run one command on the named hosts through the bus; see the module doc. */
  async run(
    names: readonly string[],
    cmd: RemoteCommand,
    opts: RunOptions = {},
  ): Promise<HostResult[]> {
    if (cmd.kind === "vitals") {
      // Agents announce no features, so the bus asks the `info` every agent answers and takes
      // the same figures of it (direct links ask `vitals` of servers that offer it).
      const asVitals = (r: HostResult): HostResult =>
        r.status === "ok" ? { ...r, data: vitalsOf(INFO.result(r.data, "result")) } : r;
      const onResult = opts.onResult;
      const results = await this.run(names, { kind: "info" }, {
        ...opts,
        ...(onResult ? { onResult: (r: HostResult) => onResult(asVitals(r)) } : {}),
      });
      return results.map(asVitals);
    }
    const nc = this.#nc;
    const results = new Map<string, HostResult>();
    const settle = (r: HostResult) => {
      if (results.has(r.host)) return;
      const present = this.#present.get(r.host)?.presence;
      // The role the agent says the call ran under (the operator key's), else as a direct
      // connection reports the token's: admin unless the agent is read-only.
      if (present && r.status !== "unreachable" && r.role === undefined) {
        r.role = present.readOnly ? "read-only" : "admin";
      }
      if (r.status === "ok" && cmd.kind === "kill") {
        // Stopped on purpose, as a killed direct link is closed: not a host that was lost.
        const m = this.#members.get(r.host);
        if (m?.set("closed", "stopped by rmon kill")) this.onChange(m);
      }
      results.set(r.host, r);
      pending.delete(r.host);
      opts.onResult?.(r);
      if (pending.size === 0 && sent) allDone();
    };
    const pending = new Map<string, Pending>();
    let sent = false; // hosts settled before the request went out must not end the run
    let allDone = () => {};
    const finished = new Promise<void>((resolve) => allDone = resolve);
    const signal = opts.signal;
    const why = cancelText(signal);
    const { method, params } = toRequest(cmd);
    const spec: RemoteSpec = REMOTE_SPECS[cmd.kind];
    const streaming = cmd.kind === "exec" || cmd.kind === "ping";
    const collect = opts.collectOutput ?? true;
    const now = performance.now();
    const sendTo: string[] = [];
    for (const name of names) {
      const base = { host: name, durationMs: 0 };
      const member = this.#members.get(name);
      if (cmd.kind === "disconnect" && member && member.state !== "closed") {
        // The console's own: the host is left out from now on; the agent stays on the bus.
        if (member.set("closed", "disconnected")) this.onChange(member);
        settle({ ...base, status: "ok", data: { ok: true } });
      } else if (member?.state === "closed") {
        // Closed on purpose (disconnect, kill): not a host that cannot be reached.
        settle({ ...base, status: "error", error: "disconnected" });
      } else if (nc === null || nc.isClosed()) {
        settle({ ...base, status: "unreachable", error: "not connected to NATS" });
      } else if (cmd.kind === "disconnect") {
        settle({ ...base, status: "ok", data: { ok: true } });
      } else if (signal?.aborted) {
        settle({ ...base, status: "cancelled", error: `${why} before the command was sent` });
      } else if (!this.#present.has(name)) {
        settle({ ...base, status: "unreachable", error: "not present on the bus" });
      } else {
        sendTo.push(name);
      }
    }
    if (sendTo.length === 0) return names.map((n) => results.get(n)!);
    const reply = this.#subjects.reply(busNonce());
    const targets = this.#route(sendTo);
    const waitMs = opts.waitMs ?? DEFAULT_WAIT_MS;
    for (const hosts of targets.values()) {
      const nonce = busNonce(); // one request per subject, so one nonce for its hosts
      for (const h of hosts) {
        pending.set(h, {
          nonce,
          seq: 0,
          received: 0,
          acked: 0,
          out: null,
          started: now,
        });
      }
    }
    const elapsed = (p: Pending) => Math.round(performance.now() - p.started);
    const onMessage = (msg: NatsMsg) => {
      const parsed = parseJson(msg.data);
      const host = (parsed as { host?: unknown } | null)?.host;
      const p = typeof host === "string" ? pending.get(host) : undefined;
      const m = p ? this.#key.openReply(p.nonce, reply, parsed) : null;
      if (!p || m === null || m.host !== host) {
        if (p) this.forgedReplies++; // a known host's name with a wrong MAC: forged
        return;
      }
      if (m.seq !== p.seq++) {
        settle({
          host: m.host,
          status: "error",
          error: "reply messages lost or out of order",
          durationMs: elapsed(p),
        });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(m.body);
      } catch (_err) {
        body = null; // authentic but not JSON: classified as malformed below
      }
      if (m.kind === "out") {
        const o = body as { stream?: unknown; data?: unknown } | null;
        if ((o?.stream === "stdout" || o?.stream === "stderr") && typeof o.data === "string") {
          if (collect) (p.out ??= { stdout: [], stderr: [] })[o.stream].push(o.data);
          if (!opts.stopWaiting?.aborted) opts.onOutput?.(m.host, o.stream, o.data);
          // Taken: let the agent send more once half its window is used (flow control).
          p.received += o.data.length;
          if (p.received - p.acked >= FLOW_WINDOW_CHARS / 2) {
            p.acked = p.received;
            this.#publish(
              this.#subjects.ctl(m.host),
              ACK_METHOD,
              { call: p.nonce, bytes: p.received },
              reply,
              busNonce(),
            );
          }
        }
        return;
      }
      const r = classify(m.host, body, p, {
        spec,
        streaming,
        collect,
        signal,
        elapsedMs: elapsed(p),
      });
      const role = (body as { role?: unknown } | null)?.role;
      if (role === "admin" || role === "read-only") {
        r.role = role;
        // Shown by `hosts` from now on (read when asked: not a change of state to announce).
        const member = this.#members.get(m.host);
        if (member) member.role = role;
      }
      settle(r);
    };
    const sub = nc!.subscribe(reply, onMessage);
    const timer = setTimeout(() => {
      for (const [host, p] of pending) {
        settle({
          host,
          status: "timeout",
          error: `no answer within ${waitMs / 1000} s`,
          durationMs: elapsed(p),
          ...outputOf(p, streaming && collect),
        });
      }
    }, waitMs);
    let grace: ReturnType<typeof setTimeout> | undefined;
    let repeat: ReturnType<typeof setInterval> | undefined;
    const sayCancel = () => {
      // One message per request, on its call's own subject: every host it went to hears it.
      const calls = new Set([...pending.values()].map((p) => p.nonce));
      for (const call of calls) {
        this.#publish(this.#subjects.call(call), CANCEL_METHOD, { call }, reply, busNonce());
      }
    };
    const onCancel = () => {
      // Each host kills the command and answers `cancelled`; hosts that say nothing are cancelled
      // here. Said again until then: an agent that has only just taken the request may not
      // have its call's subscription through the cluster yet.
      sayCancel();
      repeat = setInterval(sayCancel, CANCEL_REPEAT_MS);
      grace = setTimeout(() => {
        for (const [host, p] of pending) {
          settle({
            host,
            status: "cancelled",
            error: cancelText(signal),
            durationMs: elapsed(p),
            ...outputOf(p, streaming && collect),
          });
        }
      }, CANCEL_GRACE_MS);
    };
    const onStop = () => {
      for (const [host, p] of pending) {
        settle({
          host,
          status: "cancelled",
          error: `${cancelText(signal)}; stopped waiting for an answer`,
          durationMs: elapsed(p),
        });
      }
    };
    signal?.addEventListener("abort", onCancel, { once: true });
    opts.stopWaiting?.addEventListener("abort", onStop, { once: true });
    try {
      await nc!.flush(); // the reply subscription is on the server before any agent can answer
      if (signal?.aborted) {
        // Cancelled while the subscription went out: the command goes nowhere.
        for (const host of [...pending.keys()]) {
          settle({
            host,
            status: "cancelled",
            error: `${cancelText(signal)} before the command was sent`,
            durationMs: 0,
          });
        }
      }
      await Promise.all(
        [...(signal?.aborted ? [] : targets)].map(([subject, hosts]) =>
          this.#publish(subject, method, params, reply, pending.get(hosts[0]!)!.nonce, true)
        ),
      );
      sent = true;
      if (opts.stopWaiting?.aborted) onStop();
      if (pending.size === 0) allDone();
      await finished;
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
      clearInterval(repeat);
      signal?.removeEventListener("abort", onCancel);
      opts.stopWaiting?.removeEventListener("abort", onStop);
      sub.unsubscribe();
    }
    releaseAfterFanout(names.length);
    return names.map((n) => results.get(n)!);
  }

  /**
   * Which subjects carry a request to `hosts`: `all` when they are every host
   * present, a group's subject when they are exactly its present members,
   * else each host's own subject. (Answers from hosts not asked are dropped.)
   */
  #route(hosts: readonly string[]): Map<string, string[]> {
    const chosen = new Set(hosts);
    if (chosen.size === this.#present.size) return new Map([[this.#subjects.all, [...hosts]]]);
    const groups = new Set(hosts.flatMap((h) => this.#present.get(h)?.presence.groups ?? []));
    for (const g of groups) {
      const members = [...this.#present.values()].map((h) => h.presence).filter((p) =>
        p.groups.includes(g)
      );
      if (members.length === chosen.size && members.every((p) => chosen.has(p.name))) {
        return new Map([[this.#subjects.group(g), [...hosts]]]);
      }
    }
    return new Map(hosts.map((h) => [this.#subjects.host(h), [h]]));
  }

  /** Close the NATS connection. */
  async close(): Promise<void> {
    clearInterval(this.#lapseTimer);
    const nc = this.#nc;
    this.#nc = null;
    if (nc && !nc.isClosed()) await nc.close();
  }
}

/** A message's JSON, or null when it is not JSON (dropped: only a MAC makes it count). */
function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch (_err) {
    return null; // not JSON: forged or corrupt
  }
}

const decoder = new TextDecoder();

function outputOf(p: Pending, keep: boolean): { stdout?: string; stderr?: string } {
  return keep ? { stdout: p.out?.stdout.join("") ?? "", stderr: p.out?.stderr.join("") ?? "" } : {};
}

/** A host's end message as the same `HostResult` a direct connection gives. */
function classify(
  host: string,
  body: unknown,
  p: Pending,
  how: {
    spec: RemoteSpec;
    streaming: boolean;
    collect: boolean;
    signal?: AbortSignal;
    elapsedMs: number;
  },
): HostResult {
  const base = { host, durationMs: how.elapsedMs, ...outputOf(p, how.streaming && how.collect) };
  const b = body as { result?: Json; error?: RpcErrorObject } | null;
  try {
    if (b !== null && typeof b === "object" && "result" in b) {
      if (!how.streaming) {
        return {
          host,
          status: "ok",
          data: how.spec.result(b.result, "result"),
          durationMs: how.elapsedMs,
        };
      }
      const end = CALL_END(b.result, "result");
      return {
        ...base,
        status: end.exitCode === 0 ? "ok" : "nonzero",
        exitCode: end.exitCode,
        signal: end.signal,
        truncated: end.truncated,
        data: b.result,
      };
    }
    const e = b?.error;
    if (!e || typeof e.code !== "number" || typeof e.message !== "string") {
      return { ...base, status: "error", error: "Malformed answer: neither result nor error" };
    }
    let extra = {};
    if (e.data !== undefined) {
      try {
        const end = CALL_END(e.data, "error.data");
        extra = { exitCode: end.exitCode, signal: end.signal, truncated: end.truncated };
      } catch (err) {
        if (!(err instanceof MalformedResultError)) throw err;
      }
    }
    let status: HostStatus = "error";
    let error = e.message;
    if (e.code === ERROR_CODES.timeout) status = "timeout";
    else if (e.code === ERROR_CODES.unauthorized) status = "auth_failed";
    else if (e.code === ERROR_CODES.cancelled && how.signal?.aborted) {
      status = "cancelled";
      error = cancelText(how.signal);
    } else if (e.code === ERROR_CODES.cancelled) {
      status = "unreachable";
      error = "the agent stopped during the command";
    }
    return { ...base, ...extra, status, error };
  } catch (err) {
    if (err instanceof MalformedResultError) {
      return { ...base, status: "error", error: err.message };
    }
    throw err;
  }
}

function parsePresence(text: string): Presence | null {
  let b: unknown;
  try {
    b = JSON.parse(text);
  } catch (_err) {
    return null; // not JSON: not a presence
  }
  const p = (b as { result?: unknown } | null)?.result as Partial<Presence> | undefined;
  const beat = p?.heartbeatMs;
  if (
    !p || typeof p.name !== "string" || !Array.isArray(p.groups) ||
    !p.groups.every((g) => typeof g === "string") || typeof p.version !== "string" ||
    typeof p.address !== "string"
  ) return null;
  return {
    name: p.name,
    groups: p.groups,
    version: p.version,
    address: p.address,
    readOnly: p.readOnly === true,
    ...(typeof beat === "number" && beat > 0 ? { heartbeatMs: beat } : {}),
  };
}

/** The host part of a NATS URL (for telling loopback from the network). */
function urlHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch (_err) {
    return ""; // checked when the options were read; unknown counts as not loopback
  }
}

/** Why a run was cancelled, as its results say it. */
function cancelText(signal: AbortSignal | undefined): string {
  const reason = signal?.reason;
  return typeof reason === "string" && reason !== "" ? reason : "cancelled";
}
