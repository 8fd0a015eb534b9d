/**
 * The agent side of bus mode: an `rmon-server` identity that dials out to a
 * NATS cluster (reconnecting with backoff for ever, and saying so in its
 * log), listens on its own, its groups' and the fleet's request subjects,
 * checks every request end to end (bus_auth.ts: MAC, clock window, nonce
 * never seen), runs it with the same handlers as a direct connection
 * (handlers.ts), and answers with MACed messages on the requester's reply
 * subject: output chunks in order, then the end. It announces itself on its
 * presence subject at start, every heartbeat interval, after a reconnect and
 * when it leaves; a streamed call (exec, ping) listens on its own call
 * subject for a cancel. Over the bus, `kill` stops the agent and `reset`
 * reconnects it to NATS (`disconnect` is the console's own business). Many
 * agents can share one process (the benchmarks run thousands). It talks to
 * NATS through rmon's own NATS client (nats_conn.ts), as the operator's
 * client does. Server layer.
 * @module
 */

import { connectNats, type NatsConn, type NatsMsg } from "../protocol/nats_conn.ts";
import { ERROR_CODES, LIMITS, RMON_VERSION } from "../protocol/constants.ts";
import { describeError, RemoteError, toErrorObject } from "../protocol/errors.ts";
import type { Json, RpcErrorObject } from "../protocol/messages.ts";
import {
  BusKey,
  type GuardOptions,
  RequestGuard,
  type SignedRequest,
  verifyRequestSignature,
} from "../protocol/bus_auth.ts";
import type { AuthorizedKey, AuthorizedKeys } from "./authorized_keys.ts";
import type { AuditLog, AuditRecord } from "./audit.ts";
import type { Role } from "../protocol/handshake.ts";
import {
  ACK_METHOD,
  ANNOUNCE_NONCE,
  type Announcement,
  CANCEL_METHOD,
  DEFAULT_HEARTBEAT_MS,
  FleetSubjects,
  FLOW_WINDOW_CHARS,
  type Presence,
  PRESENCE_METHOD,
} from "../protocol/nats_subjects.ts";
import { isCommandMethod, parseParams } from "../grammar/params.ts";
import type { RemoteCommand } from "../grammar/command.ts";
import { type CallContext, dispatch } from "./handlers.ts";
import { CallStream } from "./call_stream.ts";
import type { Logger } from "./log.ts";
import { delay } from "../async.ts";
import { natsReason } from "../protocol/nats_reason.ts";
import type { NatsAuth } from "../protocol/nats_auth.ts";

/** Calls over the bus have no chunk stream (refused before dispatch); any use of one fails. */
const NO_STREAM = new CallStream(
  "bus",
  () => Promise.reject(new Error("Cannot stream over the bus")),
  () => Promise.reject(new Error("Cannot stream over the bus")),
);

/** Everything one agent identity needs. */
export interface NatsAgentOptions {
  /** NATS URLs (`nats://`, `tls://`). */
  servers: string[];
  fleet: string;
  name: string;
  groups: readonly string[];
  /** The fleet token's key (shared by all identities of a process). */
  key: BusKey;
  natsAuth: NatsAuth;
  /** CA file for the NATS servers' certificates (turns TLS on). */
  caFile?: string;
  log: Logger;
  readOnly: boolean;
  maxOutputBytes: number;
  execEnv: readonly string[];
  /** Announced as the agent's address (default its host name). */
  address?: string;
  /** Clock window and nonce cache of the request check. */
  guard?: GuardOptions;
  /** First reconnect delay, doubled per failure up to `backoffMaxMs` (default 250 / 10000). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** How often it announces itself (default {@linkcode DEFAULT_HEARTBEAT_MS}). */
  heartbeatMs?: number;
  /**
   * The operator keys in force now (`--authorized-keys`; asked per request,
   * so a key removed from the file is refused from the next request on), or
   * null without the option.
   */
  keys?: () => AuthorizedKeys | null;
  /**
   * `--no-token`: the fleet token alone authorizes nothing; every call must be
   * signed by an authorized key too (the token still MACs the messages).
   */
  keyRequired?: boolean;
  /** The audit trail (`--audit-log`), or null. */
  audit?: AuditLog | null;
}

/** Who a bus call runs as: an operator key's name and role, or the fleet token. */
interface Caller {
  user: string;
  role: Role;
  keyId: string | null;
}

/** A token-only caller: admin, as over a direct connection. */
const TOKEN_CALLER: Caller = { user: "token", role: "admin", keyId: null };

/**
 * What a refused caller is told: why when it is the agent's rule (a key is
 * required), one answer for every key problem (unknown or bad signature), so
 * the answer is no oracle for which keys an agent holds.
 */
function said(why: string): string {
  return why.startsWith("an operator key is required")
    ? `Request refused: ${why}`
    : "Request refused: the operator key is not accepted here";
}

/** The commands the audit trail records (as a direct session's, minus file transfers). */
const AUDITED = new Set(["exec", "ping", "reset", "kill"]);

/**
 * `disconnect` ends a direct connection; over the bus there is none to end
 * (the console leaves the host out on its side), so an agent refuses it.
 */
const CONSOLE_ONLY = new Set(["disconnect"]);

/** Streamed calls: long enough to be worth a cancel subscription of their own. */
const STREAMED = new Set(["exec", "ping"]);

/** One agent identity on the bus; see the module doc. */
export class NatsAgent {
  readonly name: string;
  #opts: NatsAgentOptions;
  #subjects: FleetSubjects;
  #guard: RequestGuard;
  #nc: NatsConn | null = null;
  #calls = new Map<string, RunningCall>();
  #running = new Set<Promise<unknown>>();
  #stopping = new AbortController();
  #heartbeat: ReturnType<typeof setTimeout> | undefined;
  #announced = 0;
  #killed = () => {};
  /** Resolves when a `kill` over the bus asked this agent to stop (its answer is out). */
  readonly killed: Promise<void> = new Promise((resolve) => this.#killed = resolve);

  /** An agent, not yet connected. */
  constructor(opts: NatsAgentOptions) {
    this.#opts = opts;
    this.name = opts.name;
    this.#subjects = new FleetSubjects(opts.fleet);
    // Checked now: a name that cannot be a subject token is a usage error, not a late failure.
    for (const g of opts.groups) this.#subjects.group(g);
    this.#subjects.host(opts.name);
    this.#guard = new RequestGuard(opts.key, opts.guard);
  }

  /**
   * Dial out and subscribe; resolves true once connected the first time (until
   * then it retries with backoff, one log line per failure, and stops trying
   * when `stop()` is called: false). Afterwards the NATS client reconnects by itself
   * for ever, with the same backoff.
   */
  async start(): Promise<boolean> {
    const { servers, log } = this.#opts;
    let nc: NatsConn | null = null;
    for (let failures = 0; nc === null; failures++) {
      try {
        nc = await this.#connect();
      } catch (err) {
        const wait = this.#backoff(failures);
        log.warnLimited(
          "nats",
          `${this.name}: cannot reach NATS at ${servers.join(",")}: ${natsReason(err)}; ` +
            `retrying in ${(wait / 1000).toFixed(1)} s`,
        );
        try {
          await delay(wait, this.#stopping.signal);
        } catch (_err) {
          return false; // stopped before ever connecting
        }
      }
    }
    if (this.#stopping.signal.aborted) {
      await nc.close();
      return false;
    }
    this.#nc = nc;
    this.#watch(nc, log);
    const on = (subject: string) => nc.subscribe(subject, (msg) => this.#onRequest(msg));
    on(this.#subjects.host(this.name));
    on(this.#subjects.all);
    for (const g of this.#opts.groups) on(this.#subjects.group(g));
    on(this.#subjects.ctl(this.name));
    await nc.flush(); // subscriptions are in place on the server before we say we are up
    this.#announce();
    return true;
  }

  /** This agent as it announces itself. */
  #presence(): Presence {
    return {
      name: this.name,
      groups: [...this.#opts.groups],
      version: RMON_VERSION,
      address: this.#opts.address ?? Deno.hostname(),
      readOnly: this.#opts.readOnly,
      heartbeatMs: this.#opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    };
  }

  /**
   * Announce this agent on its presence subject, and again after one interval
   * (with jitter, so a fleet started at once does not beat in step); with
   * `leaving`, the last announcement: no more follow.
   */
  #announce(leaving?: Announcement["leaving"]): void {
    clearTimeout(this.#heartbeat);
    const intervalMs = this.#opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const a: Announcement = {
      presence: this.#presence(),
      ts: Date.now(),
      intervalMs,
      ...(leaving ? { leaving } : {}),
    };
    const subject = this.#subjects.presence(this.name);
    const m = { host: this.name, seq: this.#announced++, kind: "end" as const };
    this.publish(
      subject,
      this.key.signReply(ANNOUNCE_NONCE, subject, { ...m, body: JSON.stringify(a) }),
    );
    if (leaving || this.#stopping.signal.aborted) return;
    this.#heartbeat = setTimeout(() => this.#announce(), intervalMs * (0.9 + Math.random() * 0.1));
  }

  /** The next reconnect delay: doubling from the minimum to the maximum, with jitter. */
  #backoff(failures: number): number {
    const min = this.#opts.backoffMinMs ?? 250;
    const max = this.#opts.backoffMaxMs ?? 10_000;
    const base = Math.min(max, min * 2 ** Math.min(failures, 16));
    return base / 2 + Math.random() * base / 2; // jitter: a fleet does not reconnect in step
  }

  /**
   * One connection to NATS. Once up, it reconnects by itself for ever with the
   * agent's backoff; a refused credential may be fixed on the NATS side while
   * it waits, so that too is retried.
   */
  #connect(): Promise<NatsConn> {
    const { servers, natsAuth, caFile } = this.#opts;
    return connectNats({
      servers,
      name: `rmon-agent ${this.name}`,
      auth: natsAuth,
      ...(caFile !== undefined ? { caFile } : {}),
      reconnectDelayMs: (failedRounds) => this.#backoff(failedRounds),
      // Thousands of agents may share a process (the benchmarks): requests are small.
      readBufferBytes: 8 * 1024,
    });
  }

  /** Log the connection's ups and downs (a NATS outage is a line, never a stack trace). */
  #watch(nc: NatsConn, log: Logger): void {
    nc.onStatus = (s) => {
      if (s.type === "disconnect") {
        log.warn(`${this.name}: lost NATS server ${s.server}; reconnecting`);
      } else if (s.type === "reconnect") {
        log.info(`${this.name}: reconnected to NATS server ${s.server}`);
        this.#announce(); // back at once, not at the next beat
      } else if (s.type === "error") {
        log.warnLimited("nats", `${this.name}: NATS: ${natsReason(s.error)}; retrying`);
      }
    };
  }

  #onRequest(msg: NatsMsg): void {
    const checked = this.#guard.check(msg.subject, msg.data);
    if (!checked.ok) {
      this.#opts.log.warnLimited(
        "bus-refused",
        `${this.name}: refused a request on ${msg.subject}: ${checked.why}`,
      );
      // Only an authentic request (right MAC) names a reply subject worth answering.
      if (checked.req && this.#subjects.isReply(checked.req.reply)) {
        const what = checked.why === "busy" ? "too many recent requests" : checked.why;
        new Answer(this, checked.req).end({
          error: { code: ERROR_CODES.unauthorized, message: `Request refused: ${what}` },
        });
      }
      return;
    }
    const req = checked.req;
    if (!this.#subjects.isReply(req.reply)) {
      this.#opts.log.warnLimited(
        "bus-refused",
        `${this.name}: refused a reply subject outside the fleet`,
      );
      return;
    }
    if (msg.subject === this.#subjects.ctl(this.name) || msg.subject.startsWith(this.#callHead)) {
      // Cancel and ack act only on a call in flight, named by its nonce: MACed, never key-signed.
      this.#control(req, msg.subject);
      return;
    }
    // Who is there is for any token holder (as a presence announcement is): no key needed.
    const work =
      (req.method === PRESENCE_METHOD
        ? Promise.resolve(TOKEN_CALLER)
        : this.#caller(req, msg.subject)).then((caller) =>
          caller === null ? null : this.#call(req, caller)
        );
    this.#running.add(work);
    // A kill or reset acts once its call is over (and out of #running, which they wait for).
    work.finally(() => this.#running.delete(work)).then((action) => this.#lifecycle(action));
  }

  /**
   * Who `req` (MAC already right) runs as, or null when it is refused: on an
   * agent with authorized keys, a request naming a key must carry that
   * authorized key's good signature (else it is answered `unauthorized`, the
   * same answer whether the key is unknown or its signature bad, and logged
   * once, rate-limited); a request naming none, or any request to an agent
   * without keys, runs as the token, unless `--no-token` (answered
   * `unauthorized` too). Only a token holder gets this far: a bad MAC is
   * dropped before.
   */
  async #caller(req: SignedRequest, subject: string): Promise<Caller | null> {
    const refuse = (why: string, answer: boolean): null => {
      this.#opts.log.warnLimited(
        "bus-refused",
        `${this.name}: refused a request on ${subject}: ${why}`,
      );
      this.#audit({ event: "auth", ok: false, user: null, error: why });
      if (answer) {
        new Answer(this, req).end({
          error: { code: ERROR_CODES.unauthorized, message: said(why) },
        });
      }
      return null;
    };
    const keys = this.#opts.keys?.() ?? null;
    // An agent that knows no keys (no --authorized-keys) takes a signed request on its MAC alone,
    // as a direct server without keys takes the token a key-holding client also offers.
    if (req.key === undefined || keys === null) {
      return this.#opts.keyRequired
        ? refuse("an operator key is required (the agent refuses the token alone)", true)
        : TOKEN_CALLER;
    }
    const entry: AuthorizedKey | undefined = keys.get(req.key);
    // Refused keys are answered (the MAC proved a token holder asks, and the reply goes to its
    // own inbox), with one answer for every reason, as direct mode does; the log says which.
    if (entry === undefined) return refuse("unknown key", true);
    let good: boolean;
    try {
      good = await verifyRequestSignature(entry.publicKey, subject, req);
    } catch (err) {
      this.#opts.log.warnLimited("bus-refused", `${this.name}: ${describeError(err)}`);
      good = false;
    }
    if (!good) return refuse(`bad signature for key ${entry.id} (${entry.name})`, true);
    return { user: entry.name, role: entry.role, keyId: entry.id };
  }

  /** Write one audit line (a full disk is a warning, never the agent's end). */
  #audit(record: Omit<AuditRecord, "source">): void {
    try {
      this.#opts.audit?.write({ source: `nats:${this.name}`, ...record });
    } catch (err) {
      this.#opts.log.warnLimited("audit", `audit log not written: ${describeError(err)}`);
    }
  }

  /** The head of every call subject (`….call.`). */
  get #callHead(): string {
    return `${this.#subjects.prefix}.call.`;
  }

  /**
   * A control message: a cancel on a call's own subject, or an ack (let the
   * output flow on) on this agent's ctl subject. Each only on its own subject:
   * a MAC covers the subject, so neither can be moved to the other.
   */
  #control(req: SignedRequest, subject: string): void {
    let params: { call?: unknown; bytes?: unknown } | null;
    try {
      params = JSON.parse(req.params);
    } catch (_err) {
      params = null; // bad params: nothing to act on
    }
    const call = typeof params?.call === "string" ? this.#calls.get(params.call) : undefined;
    if (!call) return;
    const onCall = subject === this.#subjects.call(params!.call as string);
    if (req.method === CANCEL_METHOD && onCall) call.ac.abort();
    if (req.method === ACK_METHOD && !onCall && typeof params?.bytes === "number") {
      call.ack(params.bytes);
    }
  }

  /** Run one request; the lifecycle action it asked for, if any, to take after its answer. */
  async #call(req: SignedRequest, caller: Caller): Promise<"reset" | "kill" | null> {
    const answer = new Answer(this, req);
    if (req.method === PRESENCE_METHOD) {
      answer.end({ result: this.#presence() as unknown as Json });
      return null;
    }
    if (this.#calls.size >= LIMITS.callsPerConnection) {
      answer.end({
        error: {
          code: ERROR_CODES.busy,
          message: `Too many calls in flight (limit ${LIMITS.callsPerConnection})`,
        },
      });
      return null;
    }
    const call = new RunningCall();
    const ac = call.ac;
    this.#calls.set(req.nonce, call);
    const started = performance.now();
    const after: ("disconnect" | "reset" | "kill")[] = [];
    let audited: RemoteCommand | null = null;
    let outputBytes = 0;
    // A streamed call hears its cancel on its own subject (one message for all its hosts).
    const cancels = STREAMED.has(req.method)
      ? this.#nc?.subscribe(this.#subjects.call(req.nonce), (msg) => this.#onRequest(msg))
      : undefined;
    try {
      if (CONSOLE_ONLY.has(req.method)) {
        throw new RemoteError({
          code: ERROR_CODES.methodNotFound,
          message:
            `"${req.method}" is the console's own over the bus: the agent has no connection to end`,
        });
      }
      if (!isCommandMethod(req.method)) {
        throw new RemoteError({
          code: ERROR_CODES.methodNotFound,
          message: `Method not found over the bus: "${req.method.slice(0, 64)}"`,
        });
      }
      const cmd = parseParams(req.method, JSON.parse(req.params));
      // Streams of chunks (protocol.md §5.1) need a connection's ordered frames; the bus has none yet.
      if (cmd.kind === "upload" || cmd.kind === "download" || (cmd.kind === "exec" && cmd.stdin)) {
        throw new RemoteError({
          code: ERROR_CODES.methodNotFound,
          message: `Not carried by the bus: "${
            cmd.kind === "exec" ? "exec with stdin" : cmd.kind
          }"`,
        });
      }
      if (this.#opts.audit && AUDITED.has(cmd.kind)) audited = cmd;
      const ctx: CallContext = {
        id: req.nonce,
        signal: ac.signal,
        output: (stream, data) => {
          if (audited) outputBytes += encoder.encode(data).length; // bytes, as a session counts
          answer.out(stream, data);
          return call.sent(data.length);
        },
        readOnly: this.#opts.readOnly,
        role: caller.role,
        user: caller.user,
        maxOutputBytes: this.#opts.maxOutputBytes,
        maxUploadBytes: 0,
        stream: NO_STREAM,
        execEnv: this.#opts.execEnv,
        after: (action) => after.push(action),
      };
      const result = await dispatch(cmd.kind, cmd, ctx) as Json;
      answer.end({ result, role: this.#roleOf(caller) });
      this.#opts.log.info(
        `${this.name} bus ${req.method}${this.#by(caller)}: ok (${
          (performance.now() - started).toFixed(1)
        } ms)`,
      );
      if (audited) this.#auditCall(audited, caller, { result }, outputBytes, started);
    } catch (err) {
      const error = err instanceof SyntaxError
        ? { code: ERROR_CODES.invalidParams, message: `Invalid params: ${err.message}` }
        : toErrorObject(err);
      answer.end({ error, role: this.#roleOf(caller) });
      this.#opts.log.info(`${this.name} bus ${req.method}${this.#by(caller)}: ${error.message}`);
      if (audited) this.#auditCall(audited, caller, { error }, outputBytes, started);
    } finally {
      this.#calls.delete(req.nonce);
      cancels?.unsubscribe();
    }
    return after.includes("kill") ? "kill" : after.includes("reset") ? "reset" : null;
  }

  /** Who ran a call, for the log: nothing for the token (as before keys), else ` by NAME`. */
  #by(caller: Caller): string {
    return caller.keyId === null ? "" : ` by ${caller.user}`;
  }

  /** The role a call ran under, as a direct server reports it: read-only agents make every caller so. */
  #roleOf(caller: Caller): Role {
    return this.#opts.readOnly ? "read-only" : caller.role;
  }

  /** The audit line of a finished call, with the same fields as a direct session's. */
  #auditCall(
    cmd: RemoteCommand,
    caller: Caller,
    answer: { result: Json } | { error: RpcErrorObject },
    outputBytes: number,
    started: number,
  ): void {
    const end = ("result" in answer ? answer.result : answer.error.data) as
      | { exitCode?: number | null; signal?: string | null }
      | undefined;
    this.#audit({
      event: cmd.kind,
      ok: "result" in answer,
      user: caller.user,
      key_id: caller.keyId,
      ...(cmd.kind === "exec" ? { shell: cmd.shell, command: cmd.command } : {}),
      ...(cmd.kind === "ping" ? { host: cmd.host } : {}),
      ...(cmd.kind === "exec" || cmd.kind === "ping"
        ? {
          exit_code: end?.exitCode ?? null,
          signal: end?.signal ?? null,
          output_bytes: outputBytes,
        }
        : {}),
      error: "error" in answer ? answer.error.message : null,
      duration_ms: Math.round(performance.now() - started),
    });
  }

  /** After a call's answer, as a direct server does: the requester learns it was done first. */
  async #lifecycle(action: "reset" | "kill" | null): Promise<void> {
    if (action === "kill") {
      this.#opts.log.warn(`${this.name}: stopping: asked by rmon kill over the bus`);
      await this.stop("kill");
      this.#killed();
    } else if (action === "reset" && !this.#stopping.signal.aborted) {
      this.#opts.log.warn(`${this.name}: reconnecting to NATS: asked by rmon reset over the bus`);
      await this.#reset();
    }
  }

  /**
   * `reset` over the bus: cancel every call, leave NATS and dial it again, as
   * a reset direct server drops its connections. The agent's name, groups and
   * subscriptions are the same afterwards.
   */
  async #reset(): Promise<void> {
    this.#announce("reset");
    for (const call of this.#calls.values()) call.ac.abort();
    await Promise.allSettled([...this.#running]);
    const nc = this.#nc;
    this.#nc = null;
    if (nc && !nc.isClosed()) {
      await nc.close().catch((err) => this.#opts.log.warn(`${this.name}: ${describeError(err)}`));
    }
    if (!this.#stopping.signal.aborted) await this.start();
  }

  /** Publish a signed reply message (nothing when not connected: the client times out). */
  publish(subject: string, body: Uint8Array): void {
    const nc = this.#nc;
    if (nc && !nc.isClosed()) nc.publish(subject, body);
  }

  /** The fleet key (for the answers). */
  get key(): BusKey {
    return this.#opts.key;
  }

  /**
   * Stop: cancel running calls (their children are killed), flush the answers,
   * say it is leaving (`why`: a signal or `stop()`, or rmon kill), close.
   */
  async stop(why: "stop" | "kill" = "stop"): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    this.#announce(why);
    this.#stopping.abort();
    clearTimeout(this.#heartbeat);
    for (const call of this.#calls.values()) call.ac.abort();
    await Promise.allSettled([...this.#running]);
    const nc = this.#nc;
    this.#nc = null;
    if (nc && !nc.isClosed()) {
      await nc.close().catch((err) => this.#opts.log.warn(`${this.name}: ${describeError(err)}`));
    }
  }
}

const encoder = new TextEncoder();

/** How long an agent waits for a requester to take output before it gives the call up. */
const ACK_TIMEOUT_MS = 30_000;

/** A call in flight: its cancel switch and its output's flow control. */
class RunningCall {
  readonly ac = new AbortController();
  #sent = 0;
  #acked = 0;
  #wake: (() => void) | null = null;

  /**
   * Count `chars` more sent; resolves at once while inside the window, else
   * once the requester acknowledges enough (or the call is cancelled). A
   * requester silent for {@linkcode ACK_TIMEOUT_MS} is gone: the call is cancelled.
   */
  async sent(chars: number): Promise<void> {
    this.#sent += chars;
    while (this.#sent - this.#acked > FLOW_WINDOW_CHARS && !this.ac.signal.aborted) {
      const waited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS);
        const done = () => {
          clearTimeout(timer);
          this.ac.signal.removeEventListener("abort", done);
          resolve(true);
        };
        this.#wake = done;
        this.ac.signal.addEventListener("abort", done, { once: true });
      });
      this.#wake = null;
      if (!waited) this.ac.abort();
    }
  }

  /** The requester has taken `chars` characters in all. */
  ack(chars: number): void {
    if (chars > this.#acked) this.#acked = Math.min(chars, this.#sent);
    this.#wake?.();
  }
}

/** The reply messages of one request: numbered, MACed, to its reply subject. */
class Answer {
  #agent: NatsAgent;
  #req: SignedRequest;
  #seq = 0;

  constructor(agent: NatsAgent, req: SignedRequest) {
    this.#agent = agent;
    this.#req = req;
  }

  #send(kind: "out" | "end", body: Json): void {
    const m = { host: this.#agent.name, seq: this.#seq++, kind, body: JSON.stringify(body) };
    this.#agent.publish(
      this.#req.reply,
      this.#agent.key.signReply(this.#req.nonce, this.#req.reply, m),
    );
  }

  out(stream: "stdout" | "stderr", data: string): void {
    this.#send("out", { stream, data });
  }

  /** The last message: the result or error, and the role the call ran under (calls only). */
  end(body: ({ result: Json } | { error: RpcErrorObject }) & { role?: Role }): void {
    this.#send("end", body as unknown as Json);
  }
}
