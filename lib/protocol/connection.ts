/**
 * Connection layer: one authenticated socket carrying JSON-RPC in both
 * directions. Assigns request ids, matches responses to calls, routes `output`
 * notifications to the call they belong to, and fails every pending call when
 * the socket closes. Used by the client (calls) and the server (requests).
 * @module
 */

import { ConnectionClosedError, ProtocolError, RemoteError, TimeoutError } from "./errors.ts";
import {
  DecodeError,
  decodeMessage,
  encodeError,
  encodeNotification,
  encodeRequest,
  encodeResult,
} from "./codec.ts";
import { ERROR_CODES, LIMITS, METHODS, NOTIFICATIONS } from "./constants.ts";
import { deadline } from "../async.ts";
import { closeQuietly } from "./transport.ts";
import type { FrameReader, FrameWriter } from "./framing.ts";
import type {
  Json,
  JsonObject,
  Notification,
  OutputParams,
  Request,
  RequestId,
  RpcErrorObject,
} from "./messages.ts";

/** Options of one call. */
export interface CallOptions {
  /** Aborting sends `cancel` to the server; the call then ends with its `cancelled` answer. */
  signal?: AbortSignal;
  /** How long to wait for the answer before giving up locally (and cancelling remotely). */
  timeoutMs?: number;
  /** Receives the call's streamed output as it arrives. */
  onOutput?: (output: OutputParams) => void;
  /**
   * Receives the call's output sent as raw bytes (`chunk` frames with a
   * `stream`, protocol.md §5, asked for with `rawOutput`). The bytes are a view
   * valid only during the call: take them at once or copy them.
   */
  onOutputBytes?: (stream: "stdout" | "stderr", bytes: Uint8Array) => void;
  /** Told the call's request id as its request is queued: stream chunks are tagged with it. */
  onId?: (id: RequestId) => void;
  /** Receives the call's stream notifications (`ready`, `chunk`, `ack`; protocol.md §5.1). */
  onStream?: (method: string, params: JsonObject, payload?: Uint8Array) => void;
}

/** What the peer does with incoming requests and notifications. */
export interface PeerHandlers {
  onRequest?: (req: Request) => void;
  /** Notifications not routed to a call; a `chunk` comes with its raw bytes. */
  onNotification?: (note: Notification, payload?: Uint8Array) => void;
  /**
   * Awaited before each read when it returns a promise: lets the server stop
   * reading while a connection has too many calls in flight, so TCP pushes back.
   */
  beforeRead?: () => Promise<void> | undefined;
  /**
   * Called when a frame could not be read or decoded. For a decode fault
   * (bad JSON, bad envelope) return true to keep the connection; a framing
   * fault (oversized frame, invalid UTF-8) always closes it.
   */
  onBadFrame?: (err: ProtocolError) => boolean;
}

/**
 * The reason of a connection closed with no other reason (an end of stream,
 * or its owner's close): one instance for all, since an error's stack costs
 * microseconds and says nothing here, and a cold one-shot closes thousands.
 */
const CLOSED = new ConnectionClosedError();

/** How long a closing connection waits for its last answers to be written. */
const FLUSH_ON_CLOSE_MS = 1_000;

interface PendingCall {
  resolve: (v: Json) => void;
  reject: (e: Error) => void;
  onOutput?: (output: OutputParams) => void;
  onOutputBytes?: (stream: "stdout" | "stderr", bytes: Uint8Array) => void;
  onStream?: (method: string, params: JsonObject, payload?: Uint8Array) => void;
}

/** A chunk frame's raw bytes still to be read, and where they go. */
interface PayloadWait {
  size: number;
  /** The consumer takes the bytes at once: they may be a view into the reader's buffer. */
  passing?: boolean;
  deliver: (payload: Uint8Array) => void;
}

/** A chunk's announced size is not one the reader can take: the stream cannot be resynced. */
class PayloadError extends ProtocolError {}

/** The size of the raw bytes that follow a `chunk` frame (protocol.md §5.1), checked. */
function payloadSize(n: Notification): number {
  const size = n.params?.bytes;
  if (
    typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 ||
    size > LIMITS.streamChunkBytes
  ) {
    throw new PayloadError(
      `Cannot read chunk: "bytes" must be a whole number from 0 to ${LIMITS.streamChunkBytes}, ` +
        `got ${JSON.stringify(size ?? null)}`,
      ERROR_CODES.invalidRequest,
    );
  }
  return size;
}

/** Notifications that belong to one call's stream, routed by their `id`. */
const STREAM_NOTIFICATIONS: ReadonlySet<string> = new Set([
  NOTIFICATIONS.ready,
  NOTIFICATIONS.chunk,
  NOTIFICATIONS.ack,
]);

/** An RPC endpoint over framed JSON; see the module doc. */
export class RpcPeer {
  #reader: FrameReader;
  #writer: FrameWriter;
  #conn: { close(): void };
  /** What to do with incoming requests and notifications; may be set after construction. */
  handlers: PeerHandlers;
  #pending = new Map<RequestId, PendingCall>();
  #nextId = 1;
  #closeError: Error | null = null;
  #framesRead = 0;
  #closedResolve!: () => void;
  /** Resolves once the connection is closed and every pending call has failed. */
  readonly closed: Promise<void> = new Promise((r) => this.#closedResolve = r);

  /** Wrap a reader/writer pair (after the handshake) and its closable socket. */
  constructor(
    conn: { close(): void },
    reader: FrameReader,
    writer: FrameWriter,
    handlers: PeerHandlers = {},
  ) {
    this.#conn = conn;
    this.#reader = reader;
    this.#writer = writer;
    this.handlers = handlers;
    writer.onError = (err) => this.close(err);
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.#closeError !== null;
  }

  /** Calls waiting for an answer. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Frames read so far: an owner that samples it twice knows whether the
   * connection carried traffic in between, with no clock read per frame.
   */
  get framesRead(): number {
    return this.#framesRead;
  }

  /** Run the read loop until the connection ends; never rejects. */
  async run(): Promise<void> {
    // Made only when there is one: an error's stack costs µs, on every connection.
    let reason: Error | undefined;
    try {
      while (true) {
        const gate = this.handlers.beforeRead?.();
        if (gate) await gate;
        if (this.isClosed) break;
        const text = await this.#reader.read();
        if (text === null) break;
        this.#framesRead++;
        let keepGoing = true;
        let payload: PayloadWait | undefined;
        try {
          payload = this.#dispatch(text);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          // A chunk whose size cannot be trusted leaves the byte stream unreadable: fatal.
          keepGoing = (this.handlers.onBadFrame?.(err) ?? false) && !(err instanceof PayloadError);
          if (!keepGoing) reason = err;
        }
        if (!keepGoing) break;
        // A chunk's raw bytes follow its frame; they are read whoever the chunk is for.
        if (payload) {
          payload.deliver(
            payload.passing
              ? await this.#reader.readBytesView(payload.size)
              : await this.#reader.readBytes(payload.size),
          );
        }
      }
    } catch (err) {
      reason = err instanceof Error ? err : new Error(String(err));
      if (err instanceof ProtocolError) this.handlers.onBadFrame?.(err);
    }
    // Let the answer to a fatal frame reach the peer before the socket closes,
    // but never wait long on a peer that does not read (no timer when nothing is queued).
    if (this.#writer.writing) {
      await deadline(this.#writer.idle(), FLUSH_ON_CLOSE_MS, () => {/* close unflushed */});
    }
    this.close(reason);
  }

  #dispatch(text: string): PayloadWait | undefined {
    const m = decodeMessage(text);
    switch (m.kind) {
      case "request":
        if (this.handlers.onRequest) this.handlers.onRequest(m.msg);
        else {this.sendError(m.msg.id, {
            code: ERROR_CODES.methodNotFound,
            message: "Method not found",
          });}
        return;
      case "notification": {
        const n = m.msg;
        if (n.method === NOTIFICATIONS.output && n.params) {
          const out = n.params as unknown as OutputParams;
          this.#pending.get(out.id)?.onOutput?.(out);
        } else if (n.method === NOTIFICATIONS.chunk) {
          const size = payloadSize(n);
          const output = this.#outputChunk(n);
          if (output) return { size, passing: true, deliver: output };
          return { size, deliver: (payload) => this.#toStream(n, payload) };
        } else if (STREAM_NOTIFICATIONS.has(n.method)) {
          this.#toStream(n);
        } else {
          this.handlers.onNotification?.(n);
        }
        return;
      }
      case "success": {
        const call = this.#pending.get(m.msg.id);
        if (!call) {
          throw new DecodeError(
            `Cannot match response: unknown id ${JSON.stringify(m.msg.id)}`,
            m.msg.id,
          );
        }
        this.#pending.delete(m.msg.id);
        call.resolve(m.msg.result);
        return;
      }
      case "error": {
        const id = m.msg.id;
        const call = id === null ? undefined : this.#pending.get(id);
        if (!call) {
          // An error without a matching call is the peer's verdict on the whole connection
          // (its id, when it has one, tags our answer to it).
          throw new DecodeError(`Peer reported: ${m.msg.error.message}`, id);
        }
        this.#pending.delete(id!);
        call.reject(new RemoteError(m.msg.error));
        return;
      }
      default: {
        const never: never = m;
        throw new Error(`Unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Where a `chunk` of output (one with a `stream`, protocol.md §5) goes: the
   * call's byte handler, or nowhere when its call is gone (the bytes are still
   * read, to keep the stream in step). Only servers send these; a server that
   * gets one ignores it like any notification for no call. Undefined for a
   * `chunk` of a §5.1 stream (no `stream` field).
   */
  #outputChunk(n: Notification): ((payload: Uint8Array) => void) | undefined {
    const stream = n.params?.stream;
    if (stream !== "stdout" && stream !== "stderr") return undefined;
    const id = n.params?.id;
    const call = typeof id === "number" || typeof id === "string"
      ? this.#pending.get(id)
      : undefined;
    const take = call?.onOutputBytes;
    return (payload) => take?.(stream, payload);
  }

  /** A stream notification to its call (client), or to the notification handler (server). */
  #toStream(n: Notification, payload?: Uint8Array): void {
    const id = n.params?.id;
    const call = typeof id === "number" || typeof id === "string"
      ? this.#pending.get(id)
      : undefined;
    if (call?.onStream && n.params) call.onStream(n.method, n.params, payload);
    else this.handlers.onNotification?.(n, payload);
  }

  /** Send a request and wait for its answer. Rejects with RemoteError, TimeoutError or ConnectionClosedError. */
  call(method: string, params?: JsonObject, opts: CallOptions = {}): Promise<Json> {
    if (this.#closeError) return Promise.reject(this.#closeError);
    const id = this.#nextId++;
    return new Promise<Json>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cancelRemote = () => {
        if (this.#pending.has(id) && !this.isClosed) {
          this.call(METHODS.cancel, { id }).catch(
            () => {/* the call's own answer reports the outcome */},
          );
        }
      };
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", cancelRemote);
      };
      this.#pending.set(id, {
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
        onOutput: opts.onOutput,
        onOutputBytes: opts.onOutputBytes,
        onStream: opts.onStream,
      });
      opts.onId?.(id);
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cancelRemote();
          const call = this.#pending.get(id);
          this.#pending.delete(id);
          call?.reject(new TimeoutError(`No answer to "${method}" within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      }
      if (opts.signal) {
        if (opts.signal.aborted) queueMicrotask(cancelRemote);
        else opts.signal.addEventListener("abort", cancelRemote, { once: true });
      }
      this.#writer.write(encodeRequest(id, method, params));
    });
  }

  /** Send a notification; resolves once written (backpressure for streamed output). */
  notify(method: string, params: JsonObject): Promise<void> {
    return this.#writer.write(encodeNotification(method, params));
  }

  /** Send a frame already encoded as text (one JSON object, no newline), e.g. a stream's `ack`. */
  sendRaw(frame: string): Promise<void> {
    return this.#writer.write(frame);
  }

  /** Send a frame already encoded in parts, the last ending in `\n` (see `FrameWriter.writeParts`). */
  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    return this.#writer.writeParts(parts);
  }

  /** Answer request `id` with a result. */
  sendResult(id: RequestId, result: Json): Promise<void> {
    return this.#writer.write(encodeResult(id, result));
  }

  /** Answer request `id` (or null when unknown) with an error. */
  sendError(id: RequestId | null, error: RpcErrorObject): Promise<void> {
    return this.#writer.write(encodeError(id, error));
  }

  /** Close the socket and fail every pending call with `reason` (default: a plain close). Idempotent. */
  close(reason?: Error): void {
    if (this.#closeError) return;
    this.#closeError = reason === undefined
      ? CLOSED
      : reason instanceof ConnectionClosedError
      ? reason
      : new ConnectionClosedError(`Connection closed: ${reason.message}`, { cause: reason });
    // Already closed by the peer or the OS is fine: the close we wanted has happened.
    closeQuietly(this.#conn);
    for (const call of this.#pending.values()) call.reject(this.#closeError);
    this.#pending.clear();
    this.#closedResolve();
  }

  /** The reason the connection closed, once it has. */
  get closeReason(): Error | null {
    return this.#closeError;
  }
}
