/**
 * The server's end of one call's stream (protocol.md §5.1): chunks the client
 * sends (upload data, exec input) queue here in order until the handler takes
 * them, and chunks the server sends (download data) wait here for the
 * client's acknowledgements. Both directions are bounded by the window: a
 * client that sends more than `window` chunks ahead, out of order or too big
 * fails the call instead of growing the queue. Server layer, no I/O of its own.
 * @module
 */

import { ERROR_CODES, LIMITS, NOTIFICATIONS } from "../protocol/constants.ts";
import { RemoteError } from "../protocol/errors.ts";
import type { JsonObject, RequestId } from "../protocol/messages.ts";

/** One chunk received from the client, decoded. */
export interface InChunk {
  seq: number;
  data: Uint8Array;
  /** exec input: the last chunk. */
  eof: boolean;
}

/** How a stream talks to its peer: a notification, resolved once written. */
export type Notify = (method: string, params: JsonObject) => Promise<void>;

/** How a stream sends an encoded frame in parts (a chunk's header, then its raw bytes). */
export type SendParts = (parts: readonly Uint8Array[]) => Promise<void>;

const encoder = new TextEncoder();

/** The stream of one call; see the module doc. */
export class CallStream {
  readonly id: RequestId;
  readonly window: number;
  readonly chunkBytes: number;
  #notify: Notify;
  #sendParts: SendParts;
  #opened = false;
  /** Received chunks not yet taken by the handler (never more than `window`). */
  #inbox: InChunk[] = [];
  #nextIn = 0;
  #inWaiter: (() => void) | null = null;
  /** Sent chunks: the next sequence number, and how many the client has acknowledged. */
  #nextOut = 0;
  #acked = 0;
  #ackWaiter: (() => void) | null = null;
  #failure: RemoteError | null = null;

  /** A stream for call `id`, talking through `notify` and `sendParts`. */
  constructor(id: RequestId, notify: Notify, sendParts: SendParts) {
    this.id = id;
    this.#notify = notify;
    this.#sendParts = sendParts;
    this.window = LIMITS.streamWindow;
    // Raw bytes after the frame: the frame limit does not apply to them.
    this.chunkBytes = LIMITS.streamChunkBytes;
  }

  /** Whether `ready` was sent (chunks before it are a client error). */
  get opened(): boolean {
    return this.#opened;
  }

  /** Open the stream: tell the client the window and chunk size (and, for download, more). */
  ready(extra: JsonObject = {}): Promise<void> {
    this.#opened = true;
    return this.#notify(NOTIFICATIONS.ready, {
      id: this.id,
      window: this.window,
      chunkBytes: this.chunkBytes,
      ...extra,
    });
  }

  /** A `chunk` for this call arrived with its raw bytes (params not yet checked). */
  receiveChunk(params: JsonObject, data: Uint8Array): void {
    if (this.#failure) return;
    const { seq, eof } = params;
    if (!this.#opened) return this.#fail("a chunk arrived before ready");
    if (seq !== this.#nextIn) {
      return this.#fail(`chunk ${JSON.stringify(seq)} arrived, expected ${this.#nextIn}`);
    }
    if (eof !== undefined && typeof eof !== "boolean") {
      return this.#fail(`chunk ${seq} has an eof that is not true or false`);
    }
    if (this.#inbox.length >= this.window) {
      return this.#fail(`chunk ${seq} is beyond the window of ${this.window}`);
    }
    if (data.length > this.chunkBytes) {
      return this.#fail(`chunk ${seq} is over ${this.chunkBytes} bytes`);
    }
    this.#nextIn++;
    this.#inbox.push({ seq, data, eof: eof === true });
    this.#wakeIn();
  }

  /** An `ack` notification for this call arrived. */
  receiveAck(params: JsonObject): void {
    if (this.#failure) return;
    const { seq } = params;
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < this.#acked) {
      return this.#fail(`ack ${JSON.stringify(seq)} is out of order`);
    }
    if (seq >= this.#nextOut) return this.#fail(`ack ${seq} is for a chunk not sent`);
    this.#acked = seq + 1;
    const wake = this.#ackWaiter;
    this.#ackWaiter = null;
    wake?.();
  }

  /** The call ends (or is cancelled): wake whoever waits, with `reason`. */
  abort(reason: RemoteError): void {
    this.#failure ??= reason;
    this.#wakeIn();
    const wake = this.#ackWaiter;
    this.#ackWaiter = null;
    wake?.();
  }

  /**
   * The next chunk from the client, in order. Acknowledge it with `ack()` once
   * consumed: that is what lets the client send more.
   * @throws {RemoteError} The client broke the stream's rules, or the call was cancelled.
   */
  async next(signal: AbortSignal): Promise<InChunk> {
    while (this.#inbox.length === 0) {
      if (this.#failure) throw this.#failure;
      if (signal.aborted) throw cancelled();
      await wake(signal, (done) => this.#inWaiter = done);
    }
    return this.#inbox.shift()!;
  }

  /** Tell the client chunk `seq` has been consumed. */
  ack(seq: number): Promise<void> {
    return this.#notify(NOTIFICATIONS.ack, { id: this.id, seq });
  }

  /**
   * Send one chunk of data, first waiting (bounded by the window) until the
   * client has acknowledged enough of the earlier ones. Resolves once it is
   * written, so the caller may then reuse `data`.
   * @throws {RemoteError} The client broke the stream's rules, or the call was cancelled.
   */
  async send(data: Uint8Array, signal: AbortSignal): Promise<void> {
    while (this.#nextOut - this.#acked >= this.window) {
      if (this.#failure) throw this.#failure;
      if (signal.aborted) throw cancelled();
      await wake(signal, (done) => this.#ackWaiter = done);
    }
    if (this.#failure) throw this.#failure;
    const seq = this.#nextOut++;
    const header = JSON.stringify({
      jsonrpc: "2.0",
      method: NOTIFICATIONS.chunk,
      params: { id: this.id, seq, bytes: data.length },
    });
    await this.#sendParts([encoder.encode(header + "\n"), data]);
  }

  /** Wait until every chunk sent has been acknowledged. */
  async drained(signal: AbortSignal): Promise<void> {
    while (this.#acked < this.#nextOut) {
      if (this.#failure) throw this.#failure;
      if (signal.aborted) throw cancelled();
      await wake(signal, (done) => this.#ackWaiter = done);
    }
  }

  #fail(detail: string): void {
    this.abort(
      new RemoteError({
        code: ERROR_CODES.invalidParams,
        message: `Cannot continue the stream: ${detail}`,
      }),
    );
  }

  #wakeIn(): void {
    const wake = this.#inWaiter;
    this.#inWaiter = null;
    wake?.();
  }
}

/** The answer of a stream whose call was cancelled (by `cancel` or the connection closing). */
export function cancelled(): RemoteError {
  return new RemoteError({ code: ERROR_CODES.cancelled, message: "Transfer cancelled" });
}

/** Wait until `register`'s callback or the abort signal fires; no listener outlives the wait. */
function wake(signal: AbortSignal, register: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    register(done);
    signal.addEventListener("abort", done, { once: true });
  });
}
