/**
 * One client connection on the server: handshake, then requests dispatched to
 * handlers, each call with its own AbortController so `cancel`, a closed
 * connection or shutdown stops it (and kills its processes). Calls run
 * concurrently; responses carry their ids.
 *
 * Nothing a peer does can hold a session open for long: the server's sweep
 * closes it when its writes make no progress for the write timeout or when
 * it sits idle (no request, no call in flight) past the idle timeout, and a
 * closing session gives its `bye` and queued answers a short grace, then
 * closes anyway.
 * @module
 */

import { describeError, TimeoutError, toErrorObject } from "../protocol/errors.ts";
import {
  ERROR_CODES,
  FEATURES,
  LIMITS,
  METHODS,
  NOTIFICATIONS,
  TIMEOUTS,
} from "../protocol/constants.ts";
import { DecodeError } from "../protocol/codec.ts";
import { RpcPeer } from "../protocol/connection.ts";
import { deadline } from "../async.ts";
import type { FrameWriter } from "../protocol/framing.ts";
import { type ClientIdentity, serverHandshake, type TokenKey } from "../protocol/handshake.ts";
import type {
  ByeParams,
  Json,
  Notification,
  Request,
  RequestId,
  RpcErrorObject,
} from "../protocol/messages.ts";
import { closeQuietly, type Transport } from "../protocol/transport.ts";
import {
  isCommandMethod,
  parseCancelParams,
  parseHeartbeatParams,
  parseParams,
} from "../grammar/params.ts";
import type { RemoteCommand } from "../grammar/command.ts";
import type { AuditLog, AuditRecord } from "./audit.ts";
import type { AdmissionTicket } from "./admission.ts";
import type { AuthorizedKeys } from "./authorized_keys.ts";
import { type CallContext, dispatch } from "./handlers.ts";
import type { Logger } from "./log.ts";
import type { Sweepable } from "./sweeper.ts";
import { CallStream, cancelled } from "./call_stream.ts";
import { outputChunkParts, takeRawOutput } from "./raw_output.ts";
import { takeLast } from "./close_after.ts";

/** What clients may authenticate with; `keys` is replaced when its file changes. */
export interface ServerCredentials {
  /** The shared token's key, or null when tokens are refused (`--no-token`). */
  token: TokenKey | null;
  /** The operator keys of `--authorized-keys`, or null without it. */
  keys: AuthorizedKeys | null;
}

/** The server settings every session follows. */
export interface SessionSettings {
  credentials: ServerCredentials;
  /** The audit trail, or null without `--audit-log`. */
  audit: AuditLog | null;
  log: Logger;
  readOnly: boolean;
  maxFrameBytes: number;
  maxOutputBytes: number;
  /** Largest file `upload` accepts (`--max-upload`; default `LIMITS.uploadBytes`). */
  maxUploadBytes?: number;
  authTimeoutMs: number;
  /** Server variables passed to exec and ping children besides the minimal set (`--exec-env`); default none. */
  execEnv?: readonly string[];
  /**
   * The optional abilities offered in `hello` (protocol.md §3.1); default all of
   * `FEATURES`. Tests leave some out to play an older server: one not offered
   * is refused like an unknown field.
   */
  features?: readonly string[];
  /** A write the peer does not drain within this closes the session (default `TIMEOUTS.writeMs`). */
  writeTimeoutMs: number;
  /** No request and no call in flight for this long closes the session; 0 = never (default `TIMEOUTS.idleMs`). */
  idleTimeoutMs: number;
}

/** What a session needs from the server that owns it. */
export interface SessionHost extends SessionSettings {
  /** Run a lifecycle action requested by this session (after its answer is sent). */
  lifecycle(action: "reset" | "kill", from: Session): void;
}

type Answer = { result: Json } | { error: RpcErrorObject };
type LifecycleAction = "disconnect" | "reset" | "kill";

/** Every feature of this version, offered unless the settings say otherwise. */
const ALL_FEATURES: readonly string[] = Object.values(FEATURES);

/** Pause reading once this many answers wait to be written to a peer that does not read. */
const MAX_UNWRITTEN = 256;

/** One connection's life: see the module doc. */
export class Session implements Sweepable {
  readonly remote: string;
  #transport: Transport;
  #host: SessionHost;
  #ticket: AdmissionTicket;
  #peer: RpcPeer | null = null;
  #writer: FrameWriter | null = null;
  #calls = new Map<RequestId, AbortController>();
  /** The stream of each call in flight, for the `chunk` and `ack` notifications tagged with its id. */
  #streams = new Map<RequestId, CallStream>();
  #running = new Set<Promise<void>>();
  #unwritten = 0;
  #wake: (() => void) | null = null;
  /** A call marked `last` came (close_after.ts): read nothing more, close once it is answered. */
  #last = false;
  #closing = false;
  #identity: ClientIdentity | null = null;
  /** The writer's count when the write check last saw it move, and when (-1: not writing). */
  #writesSeen = -1;
  #writesMovedAt = 0;
  /** Frames received so far, and the count and time the idle check last saw moving. */
  #received = 0;
  #seenReceived = 0;
  #activeAt = 0;

  /** Create a session for an accepted connection holding an admission `ticket`. */
  constructor(transport: Transport, host: SessionHost, ticket: AdmissionTicket) {
    this.#transport = transport;
    this.#host = host;
    this.#ticket = ticket;
    this.remote = transport.remote;
  }

  /** Run the session to its end: never rejects; every call is stopped before it resolves. */
  async run(): Promise<void> {
    try {
      await this.#run();
    } finally {
      this.#ticket.release();
    }
  }

  async #run(): Promise<void> {
    const log = this.#host.log;
    const credentials = this.#host.credentials;
    let io;
    try {
      io = await serverHandshake(this.#transport, {
        key: credentials.token,
        findKey: (publicKey) => credentials.keys?.get(publicKey),
        readOnly: this.#host.readOnly,
        deadlineMs: this.#host.authTimeoutMs,
        maxFrameBytes: this.#host.maxFrameBytes,
        features: this.#features(),
        idleMs: this.#host.idleTimeoutMs,
      });
    } catch (err) {
      if (this.#closing) return; // closed by the server (reset, shutdown), not the peer's fault
      const ms = this.#ticket.penalise();
      const penalty = ms > 0 ? `; ${this.#ticket.source} penalised for ${ms} ms` : "";
      log.warnLimited("auth failed", `${this.remote} auth failed: ${describeError(err)}${penalty}`);
      this.#audit({ event: "auth", ok: false, user: null, error: describeError(err) });
      return;
    }
    const who = io.identity;
    this.#identity = who;
    log.info(`${this.remote} authenticated as ${who.user} (${who.role})`);
    this.#audit({
      event: "auth",
      ok: true,
      user: who.user,
      key_id: who.keyId ?? null,
      role: who.role,
    });
    const peer = new RpcPeer(this.#transport, io.reader, io.writer, {
      onRequest: (req) => this.#onRequest(req),
      onNotification: (note, payload) => this.#onNotification(note, payload),
      beforeRead: () => this.#gate(),
      onBadFrame: (err) => {
        this.#received++;
        log.info(`${this.remote} bad frame: ${err.message}`);
        // Bad JSON in a well-delimited line is answered and survived; framing
        // faults (size, UTF-8) close the connection whatever we return here.
        this.#respond(err instanceof DecodeError ? err.requestId : null, {
          error: toErrorObject(err),
        });
        return true;
      },
    });
    // Closed while the handshake was finishing: the socket is already shut.
    const closedEarly = this.#closing;
    this.#peer = peer;
    this.#writer = io.writer;
    this.#activeAt = performance.now();
    const refused = this.#ticket.promote();
    if (closedEarly) {
      peer.close();
    } else if (refused !== null) {
      log.warnLimited("refused", `${this.remote} refused after auth: ${refused}`);
      this.close("error", `Server full: ${refused}`);
    }
    await peer.run();
    this.#abortAll();
    await Promise.allSettled([...this.#running]);
    log.info(`${this.remote} closed: ${describeError(peer.closeReason)}`);
  }

  /** Who authenticated on this connection (null during the handshake). */
  get identity(): ClientIdentity | null {
    return this.#identity;
  }

  #audit(record: Omit<AuditRecord, "source">): void {
    try {
      this.#host.audit?.write({ source: this.remote, ...record });
    } catch (err) {
      // A full disk or a removed folder must not take the server down with the trail.
      this.#host.log.warnLimited("audit", `audit log not written: ${describeError(err)}`);
    }
  }

  /** Calls in flight on this connection. */
  get callCount(): number {
    return this.#calls.size;
  }

  /**
   * Say goodbye and close; running calls are cancelled (their processes
   * killed). The `bye` and answers already queued get `TIMEOUTS.closeGraceMs`
   * to reach the peer; a peer that does not read by then is cut off.
   */
  close(reason: ByeParams["reason"], message?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#abortAll();
    const peer = this.#peer;
    if (!peer) {
      // Still in the handshake: closing the socket makes it fail at once.
      closeQuietly(this.#transport);
      return;
    }
    const bye: ByeParams = message === undefined ? { reason } : { reason, message };
    deadline(peer.notify(NOTIFICATIONS.bye, { ...bye }), TIMEOUTS.closeGraceMs, () => {
      /* the peer does not read: close without it */
    }).then(() => peer.close());
  }

  /**
   * The deadline checks the server's sweep runs: writes that make no
   * progress for the write timeout close the connection at once (no `bye`
   * could get through); no request and no call in flight for the idle
   * timeout closes it with a `bye`. Both are sampled, so they act up to one
   * sweep period late.
   */
  sweep(now: number): void {
    const peer = this.#peer;
    const writer = this.#writer;
    if (peer === null || writer === null || peer.isClosed) return;
    const { writeTimeoutMs, idleTimeoutMs } = this.#host;
    if (!writer.writing) {
      this.#writesSeen = -1;
    } else if (writer.writes !== this.#writesSeen) {
      this.#writesSeen = writer.writes;
      this.#writesMovedAt = now;
    } else if (now - this.#writesMovedAt > writeTimeoutMs) {
      this.#closing = true;
      this.#abortAll();
      peer.close(
        new TimeoutError(`Write timed out: the peer took no data for ${writeTimeoutMs} ms`),
      );
      return;
    }
    if (this.#calls.size > 0 || this.#received !== this.#seenReceived) {
      this.#seenReceived = this.#received;
      this.#activeAt = now;
    } else if (idleTimeoutMs > 0 && now - this.#activeAt > idleTimeoutMs && !this.#closing) {
      this.#host.log.info(`${this.remote} idle for ${idleTimeoutMs} ms: closing`);
      this.close("error", `Idle for ${idleTimeoutMs} ms`);
    }
  }

  #abortAll(): void {
    for (const ac of this.#calls.values()) ac.abort();
  }

  #gate(): Promise<void> | undefined {
    // No read pending after the last call: the close then interrupts nothing (and costs no error).
    if (this.#last) return this.#peer?.closed;
    if (this.#unwritten < MAX_UNWRITTEN) return undefined;
    return new Promise((resolve) => this.#wake = resolve);
  }

  #respond(id: RequestId | null, answer: Answer): Promise<void> {
    const peer = this.#peer;
    if (!peer) return Promise.resolve();
    this.#unwritten++;
    const written = "result" in answer && id !== null
      ? peer.sendResult(id, answer.result)
      : peer.sendError(id, "error" in answer ? answer.error : toErrorObject(null));
    return written.finally(() => {
      this.#unwritten--;
      const wake = this.#wake;
      this.#wake = null;
      wake?.();
    });
  }

  /**
   * A client notification: `chunk` and `ack` go to the stream of the call they
   * name. Others, and those for no call in flight (it may just have ended),
   * are ignored, as JSON-RPC notifications get no answer.
   */
  #onNotification(note: Notification, payload?: Uint8Array): void {
    this.#received++;
    const params = note.params;
    if (params === undefined) return;
    const stream = this.#streams.get(params.id as RequestId);
    if (stream === undefined) return;
    if (note.method === NOTIFICATIONS.chunk) {
      stream.receiveChunk(params, payload ?? new Uint8Array());
    } else if (note.method === NOTIFICATIONS.ack) stream.receiveAck(params);
  }

  #onRequest(request: Request): void {
    this.#received++;
    const { id, method } = request;
    // Checked before anything else: whatever the method, answering an id that is
    // still in flight would give the client two answers with one id.
    if (this.#calls.has(id)) {
      this.#respond(id, {
        error: {
          code: ERROR_CODES.invalidRequest,
          message: `Duplicate request id ${JSON.stringify(id)}`,
        },
      });
      return;
    }
    // cancel and heartbeat are answered at once and are exempt from the `busy`
    // limit below, so a saturated connection can still stop calls and stay alive.
    if (method === METHODS.cancel) {
      this.#answerNow(id, () => {
        const ac = this.#calls.get(parseCancelParams(request.params).id);
        ac?.abort();
        return { cancelled: ac !== undefined };
      });
      return;
    }
    if (method === METHODS.heartbeat) {
      this.#answerNow(id, () => {
        parseHeartbeatParams(request.params);
        return { time: Date.now() };
      });
      return;
    }
    if (method === METHODS.auth) {
      this.#respond(id, {
        error: { code: ERROR_CODES.invalidRequest, message: "Already authenticated" },
      });
      return;
    }
    // A feature turned off is a method this server does not have, as for an older server.
    if (
      !isCommandMethod(method) || (method === FEATURES.vitals && !this.#offers(FEATURES.vitals))
    ) {
      this.#respond(id, {
        error: {
          code: ERROR_CODES.methodNotFound,
          message: `Method not found: "${method.slice(0, 64)}"`,
        },
      });
      return;
    }
    if (this.#calls.size >= LIMITS.callsPerConnection) {
      this.#respond(id, {
        error: {
          code: ERROR_CODES.busy,
          message: `Too many calls in flight (limit ${LIMITS.callsPerConnection})`,
        },
      });
      return;
    }
    const { req, last } = takeLast(request, this.#offers(FEATURES.closeAfter));
    this.#last ||= last;
    const ac = new AbortController();
    this.#calls.set(id, ac);
    const started = performance.now();
    const work = this.#call(req, ac.signal).then(async ({ answer, after, audit }) => {
      const elapsed = performance.now() - started;
      const outcome = "result" in answer ? "ok" : answer.error.message;
      const user = this.#identity?.user ?? "?";
      this.#host.log.info(
        `${this.remote} ${user} #${id} ${method}: ${outcome} (${elapsed.toFixed(1)} ms)`,
      );
      if (audit) this.#auditCall(audit, answer, elapsed);
      this.#calls.delete(id);
      this.#streams.delete(id);
      const written = this.#respond(id, answer);
      // The client's last call is answered: the connection has done its work.
      if (last) written.then(() => this.#peer?.close());
      if (after.length === 0) return await written;
      // Lifecycle actions start once their answer is queued, not written: the
      // answer still goes out first, but a peer that does not read cannot hold
      // a reset or kill back for longer than the close grace.
      for (const action of after) {
        if (action === "disconnect") this.close("disconnect");
        else this.#host.lifecycle(action, this);
      }
      await written;
    });
    this.#running.add(work);
    work.finally(() => this.#running.delete(work));
  }

  /** Answer a request handled on the spot: `compute`'s result, or its error (e.g. bad params). */
  #answerNow(id: RequestId, compute: () => Json): void {
    let answer: Answer;
    try {
      answer = { result: compute() };
    } catch (err) {
      answer = { error: toErrorObject(err) };
    }
    this.#respond(id, answer);
  }

  /** Write the audit line of a finished call: who, what, how it ended, how much output. */
  #auditCall(audit: CallAudit, answer: Answer, elapsedMs: number): void {
    const { cmd, outputBytes } = audit;
    const end = ("result" in answer ? answer.result : answer.error.data) as
      | { exitCode?: number | null; signal?: string | null }
      | undefined;
    this.#audit({
      event: cmd.kind,
      ok: "result" in answer,
      user: this.#identity?.user ?? null,
      key_id: this.#identity?.keyId ?? null,
      ...(cmd.kind === "exec" ? { shell: cmd.shell, command: cmd.command } : {}),
      ...(cmd.kind === "ping" ? { host: cmd.host } : {}),
      ...(cmd.kind === "upload" || cmd.kind === "download" ? { path: cmd.path } : {}),
      ...(cmd.kind === "exec" || cmd.kind === "ping"
        ? {
          exit_code: end?.exitCode ?? null,
          signal: end?.signal ?? null,
          output_bytes: outputBytes(),
        }
        : {}),
      error: "error" in answer ? answer.error.message : null,
      duration_ms: Math.round(elapsedMs),
    });
  }

  /** The features this server offers. */
  #features(): readonly string[] {
    return this.#host.features ?? ALL_FEATURES;
  }

  #offers(feature: string): boolean {
    return this.#features().includes(feature);
  }

  async #call(
    req: Request,
    signal: AbortSignal,
  ): Promise<{ answer: Answer; after: LifecycleAction[]; audit: CallAudit | null }> {
    const peer = this.#peer!;
    const after: LifecycleAction[] = [];
    let audit: CallAudit | null = null;
    try {
      const { params, rawOutput } = takeRawOutput(
        req.method,
        req.params ?? {},
        this.#features().includes(FEATURES.rawOutput),
      );
      const cmd = parseParams(req.method, params);
      if (cmd.kind === "exec") {
        this.#host.log.debug(`${this.remote} #${req.id} exec ${cmd.shell}: ${cmd.command}`);
      }
      // Raw output: chunks of bytes after a header (protocol.md §5); text is sent as its UTF-8.
      let sendBytes: ((stream: "stdout" | "stderr", bytes: Uint8Array) => Promise<void>) | null =
        rawOutput
          ? (stream, bytes) => peer.sendParts(outputChunkParts(req.id, stream, bytes))
          : null;
      let send = sendBytes
        ? (stream: "stdout" | "stderr", data: string) => sendBytes!(stream, utf8.encode(data))
        : (stream: "stdout" | "stderr", data: string) =>
          peer.notify(NOTIFICATIONS.output, { id: req.id, stream, data });
      if (this.#host.audit && AUDITED.has(cmd.kind)) {
        let bytes = 0;
        audit = { cmd, outputBytes: () => bytes };
        const plain = send;
        send = (stream, data) => {
          bytes += utf8Length(data);
          return plain(stream, data);
        };
        const plainBytes = sendBytes;
        if (plainBytes) {
          sendBytes = (stream, data) => {
            bytes += data.length;
            return plainBytes(stream, data);
          };
        }
      }
      const identity = this.#identity!;
      const stream = new CallStream(
        req.id,
        (method, params) => peer.notify(method, params),
        (parts) => peer.sendParts(parts),
      );
      this.#streams.set(req.id, stream);
      signal.addEventListener("abort", () => stream.abort(cancelled()), { once: true });
      const ctx: CallContext = {
        id: req.id,
        signal,
        output: send,
        ...(sendBytes ? { outputBytes: sendBytes } : {}),
        readOnly: this.#host.readOnly,
        role: identity.role,
        user: identity.user,
        maxOutputBytes: this.#host.maxOutputBytes,
        maxUploadBytes: this.#host.maxUploadBytes ?? LIMITS.uploadBytes,
        stream,
        execEnv: this.#host.execEnv ?? [],
        after: (action) => after.push(action),
      };
      return { answer: { result: await dispatch(cmd.kind, cmd, ctx) }, after, audit };
    } catch (err) {
      const error = toErrorObject(err);
      if (error.code === ERROR_CODES.internalError) {
        // Not an answer any handler means to give: a bug, which the operator needs whole.
        const stack = err instanceof Error && err.stack ? `\n${err.stack}` : "";
        this.#host.log.warn(
          `${this.remote} #${req.id} ${req.method} failed: ${describeError(err)}${stack}`,
        );
      }
      return { answer: { error }, after: [], audit };
    }
  }
}

/** The commands the audit trail records (lifecycle and anything that runs a process). */
const AUDITED: ReadonlySet<RemoteCommand["kind"]> = new Set([
  "exec",
  "ping",
  "upload",
  "download",
  "reset",
  "kill",
]);

/** What the audit line of one call needs once it ends. */
interface CallAudit {
  cmd: RemoteCommand;
  outputBytes: () => number;
}

const scratch = new Uint8Array(256 * 1024);
const utf8 = new TextEncoder();

/** UTF-8 length of `text`, measured natively (output chunks are at most 64 KiB). */
function utf8Length(text: string): number {
  if (text.length * 3 > scratch.length) return utf8.encode(text).length;
  return utf8.encodeInto(text, scratch).written;
}
