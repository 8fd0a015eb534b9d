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

import { describeError, RemoteError, TimeoutError, toErrorObject } from "../errors.ts";
import { ERROR_CODES, LIMITS, METHODS, NOTIFICATIONS, TIMEOUTS } from "../protocol/constants.ts";
import { DecodeError } from "../protocol/codec.ts";
import { RpcPeer } from "../protocol/connection.ts";
import type { FrameWriter } from "../protocol/framing.ts";
import { serverHandshake, type TokenKey } from "../protocol/handshake.ts";
import type { ByeParams, Json, Request, RequestId, RpcErrorObject } from "../protocol/messages.ts";
import { closeQuietly, type Transport } from "../protocol/transport.ts";
import { parseParams } from "../grammar/params.ts";
import type { AdmissionTicket } from "./admission.ts";
import { type CallContext, HANDLERS } from "./handlers.ts";
import type { Logger } from "./log.ts";
import type { Sweepable } from "./sweeper.ts";

/** The server settings every session follows. */
export interface SessionSettings {
  key: TokenKey;
  log: Logger;
  readOnly: boolean;
  maxFrameBytes: number;
  maxOutputBytes: number;
  authTimeoutMs: number;
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
  #running = new Set<Promise<void>>();
  #unwritten = 0;
  #wake: (() => void) | null = null;
  #closing = false;
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
    let io;
    try {
      io = await serverHandshake(this.#transport, {
        key: this.#host.key,
        readOnly: this.#host.readOnly,
        deadlineMs: this.#host.authTimeoutMs,
        maxFrameBytes: this.#host.maxFrameBytes,
      });
    } catch (err) {
      if (this.#closing) return; // closed by the server (reset, shutdown), not the peer's fault
      const ms = this.#ticket.penalise();
      const penalty = ms > 0 ? `; ${this.#ticket.source} penalised for ${ms} ms` : "";
      log.warnLimited("auth failed", `${this.remote} auth failed: ${describeError(err)}${penalty}`);
      return;
    }
    log.info(`${this.remote} authenticated`);
    const peer = new RpcPeer(this.#transport, io.reader, io.writer, {
      onRequest: (req) => this.#onRequest(req),
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((r) => timer = setTimeout(r, TIMEOUTS.closeGraceMs));
    const bye: ByeParams = message === undefined ? { reason } : { reason, message };
    Promise.race([peer.notify(NOTIFICATIONS.bye, { ...bye }), grace]).then(() => {
      clearTimeout(timer);
      peer.close();
    });
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

  #onRequest(req: Request): void {
    this.#received++;
    const { id, method } = req;
    if (method === METHODS.cancel) {
      const target = req.params?.id;
      const ac = typeof target === "number" || typeof target === "string"
        ? this.#calls.get(target)
        : undefined;
      ac?.abort();
      this.#respond(id, { result: { cancelled: ac !== undefined } });
      return;
    }
    if (method === METHODS.heartbeat) {
      this.#respond(id, { result: { time: Date.now() } });
      return;
    }
    if (method === METHODS.auth) {
      this.#respond(id, {
        error: { code: ERROR_CODES.invalidRequest, message: "Already authenticated" },
      });
      return;
    }
    const handler = HANDLERS.get(method);
    if (!handler) {
      this.#respond(id, {
        error: {
          code: ERROR_CODES.methodNotFound,
          message: `Method not found: "${method.slice(0, 64)}"`,
        },
      });
      return;
    }
    if (this.#calls.has(id)) {
      this.#respond(id, {
        error: {
          code: ERROR_CODES.invalidRequest,
          message: `Duplicate request id ${JSON.stringify(id)}`,
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
    const ac = new AbortController();
    this.#calls.set(id, ac);
    const started = performance.now();
    const work = this.#call(req, handler, ac.signal).then(async ({ answer, after }) => {
      const ms = (performance.now() - started).toFixed(1);
      const outcome = "result" in answer ? "ok" : answer.error.message;
      this.#host.log.info(`${this.remote} #${id} ${method}: ${outcome} (${ms} ms)`);
      this.#calls.delete(id);
      const written = this.#respond(id, answer);
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

  async #call(
    req: Request,
    handler: NonNullable<ReturnType<typeof HANDLERS.get>>,
    signal: AbortSignal,
  ): Promise<{ answer: Answer; after: LifecycleAction[] }> {
    const peer = this.#peer!;
    const after: LifecycleAction[] = [];
    try {
      const cmd = parseParams(req.method, req.params ?? {});
      if (cmd.kind === "exec") {
        this.#host.log.debug(`${this.remote} #${req.id} exec ${cmd.shell}: ${cmd.command}`);
      }
      const ctx: CallContext = {
        id: req.id,
        signal,
        output: (stream, data) => peer.notify(NOTIFICATIONS.output, { id: req.id, stream, data }),
        readOnly: this.#host.readOnly,
        maxOutputBytes: this.#host.maxOutputBytes,
        after: (action) => after.push(action),
      };
      return { answer: { result: await handler(cmd, ctx) }, after };
    } catch (err) {
      if (
        !(err instanceof RemoteError || err instanceof TypeError || err instanceof RangeError ||
          err instanceof SyntaxError)
      ) {
        this.#host.log.warn(
          `${this.remote} #${req.id} ${req.method} failed: ${describeError(err)}`,
        );
      }
      return { answer: { error: toErrorObject(err) }, after: [] };
    }
  }
}
