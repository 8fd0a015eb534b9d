/**
 * One client connection on the server: handshake, then requests dispatched to
 * handlers, each call with its own AbortController so `cancel`, a closed
 * connection or shutdown stops it (and kills its processes). Calls run
 * concurrently; responses carry their ids.
 * @module
 */

import { describeError, RemoteError, toErrorObject } from "../errors.ts";
import { ERROR_CODES, LIMITS, METHODS, NOTIFICATIONS } from "../protocol/constants.ts";
import { DecodeError } from "../protocol/codec.ts";
import { RpcPeer } from "../protocol/connection.ts";
import { serverHandshake, type TokenKey } from "../protocol/handshake.ts";
import type { ByeParams, Json, Request, RequestId, RpcErrorObject } from "../protocol/messages.ts";
import { closeQuietly, type Transport } from "../protocol/transport.ts";
import { parseCancelParams, parseHeartbeatParams, parseParams } from "../grammar/params.ts";
import { type CallContext, HANDLERS } from "./handlers.ts";
import type { Logger } from "./log.ts";

/** The server settings every session follows. */
export interface SessionSettings {
  key: TokenKey;
  log: Logger;
  readOnly: boolean;
  maxFrameBytes: number;
  maxOutputBytes: number;
  authTimeoutMs: number;
  /** Server variables passed to exec and ping children besides the minimal set (`--exec-env`); default none. */
  execEnv?: readonly string[];
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
export class Session {
  readonly remote: string;
  #transport: Transport;
  #host: SessionHost;
  #peer: RpcPeer | null = null;
  #calls = new Map<RequestId, AbortController>();
  #running = new Set<Promise<void>>();
  #unwritten = 0;
  #wake: (() => void) | null = null;
  #closing = false;

  /** Create a session for an accepted connection. */
  constructor(transport: Transport, host: SessionHost) {
    this.#transport = transport;
    this.#host = host;
    this.remote = transport.remote;
  }

  /** Run the session to its end: never rejects; every call is stopped before it resolves. */
  async run(): Promise<void> {
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
      log.info(`${this.remote} auth failed: ${describeError(err)}`);
      return;
    }
    log.info(`${this.remote} authenticated`);
    const peer = new RpcPeer(this.#transport, io.reader, io.writer, {
      onRequest: (req) => this.#onRequest(req),
      beforeRead: () => this.#gate(),
      onBadFrame: (err) => {
        log.info(`${this.remote} bad frame: ${err.message}`);
        // Bad JSON in a well-delimited line is answered and survived; framing
        // faults (size, UTF-8) close the connection whatever we return here.
        this.#respond(err instanceof DecodeError ? err.requestId : null, {
          error: toErrorObject(err),
        });
        return true;
      },
    });
    this.#peer = peer;
    if (this.#closing) peer.close();
    await peer.run();
    this.#abortAll();
    await Promise.allSettled([...this.#running]);
    log.info(`${this.remote} closed: ${describeError(peer.closeReason)}`);
  }

  /** Calls in flight on this connection. */
  get callCount(): number {
    return this.#calls.size;
  }

  /** Say goodbye and close; running calls are cancelled (their processes killed). */
  close(reason: ByeParams["reason"]): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#abortAll();
    const peer = this.#peer;
    if (!peer) {
      // Still in the handshake: closing the socket makes it fail at once.
      closeQuietly(this.#transport);
      return;
    }
    // Let the bye (and answers already queued) reach the peer before closing.
    peer.notify(NOTIFICATIONS.bye, { reason }).finally(() => peer.close());
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
    const { id, method } = req;
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
        const ac = this.#calls.get(parseCancelParams(req.params).id);
        ac?.abort();
        return { cancelled: ac !== undefined };
      });
      return;
    }
    if (method === METHODS.heartbeat) {
      this.#answerNow(id, () => {
        parseHeartbeatParams(req.params);
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
      await this.#respond(id, answer);
      // Lifecycle actions run once their answer has been written.
      for (const action of after) {
        if (action === "disconnect") this.close("disconnect");
        else this.#host.lifecycle(action, this);
      }
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
        execEnv: this.#host.execEnv ?? [],
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
