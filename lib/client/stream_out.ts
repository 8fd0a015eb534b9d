/**
 * The client's sending side of streams (protocol.md §5.1): one `OutStream`
 * per host and call, and `fanOutChunks`, which reads a source once and sends
 * each chunk to every host whose stream is open: one buffer of raw bytes,
 * shared by every host's frame, behind a small header of its own. A chunk
 * goes out to a host only when that host's window has room, so the slowest
 * host paces the reading and the client holds at most one window of chunks,
 * whatever the size of the source or the number of hosts. Client layer.
 * @module
 */

import { NOTIFICATIONS } from "../protocol/constants.ts";
import type { JsonObject, RequestId } from "../protocol/messages.ts";

const encoder = new TextEncoder();

/**
 * The header frame of chunk `seq` of call `id`, newline included; the chunk's
 * `bytes` raw bytes follow it on the wire (protocol.md §5.1). The bytes are
 * the same for every host, so only this small header is made per host.
 */
export function chunkHeader(id: RequestId, seq: number, bytes: number, eof = false): Uint8Array {
  const params = eof ? { id, seq, bytes, eof } : { id, seq, bytes };
  return encoder.encode(
    JSON.stringify({ jsonrpc: "2.0", method: NOTIFICATIONS.chunk, params }) + "\n",
  );
}

/** The frame acknowledging chunk `seq` of call `id`. */
export function ackFrame(id: RequestId, seq: number): string {
  return JSON.stringify({ jsonrpc: "2.0", method: NOTIFICATIONS.ack, params: { id, seq } });
}

/** One host's outgoing stream of one call: opened by `ready`, paced by `ack`. */
export class OutStream {
  readonly host: string;
  #send: (parts: readonly Uint8Array[]) => Promise<void>;
  #id: RequestId | null = null;
  #window = 0;
  #chunkBytes = 0;
  #sent = 0;
  #acked = 0;
  #state: "waiting" | "open" | "done" = "waiting";
  #settle!: () => void;
  #wake: (() => void) | null = null;
  /** Resolves once the stream is open or the call has ended without one. */
  readonly settled: Promise<void> = new Promise((resolve) => this.#settle = resolve);

  /** A stream to `host`, whose frames go out (as encoded parts) through `send`. */
  constructor(host: string, send: (parts: readonly Uint8Array[]) => Promise<void>) {
    this.host = host;
    this.#send = send;
  }

  /** Whether the server opened the stream and the call is still running. */
  get open(): boolean {
    return this.#state === "open";
  }

  /** Largest chunk this host takes (0 before `ready`). */
  get chunkBytes(): number {
    return this.#chunkBytes;
  }

  /** The call's request id, once known (for `CallOptions.onId`). */
  setId(id: RequestId): void {
    this.#id = id;
  }

  /** Chunks sent so far: the sequence number the next one must carry. */
  get sent(): number {
    return this.#sent;
  }

  /** A stream notification of the call (for `CallOptions.onStream`). */
  onNotification(method: string, params: JsonObject): void {
    if (method === NOTIFICATIONS.ready && this.#state === "waiting") {
      const { window, chunkBytes } = params;
      if (typeof window !== "number" || typeof chunkBytes !== "number") return;
      this.#window = Math.max(1, window);
      this.#chunkBytes = Math.max(1, chunkBytes);
      this.#state = "open";
      this.#settle();
    } else if (method === NOTIFICATIONS.ack && typeof params.seq === "number") {
      this.#acked = Math.max(this.#acked, params.seq + 1);
      this.#wakeUp();
    }
  }

  /** The call has ended (answered, failed or cancelled): nothing more is sent. */
  finish(): void {
    this.#state = "done";
    this.#settle();
    this.#wakeUp();
  }

  /** Wait for room in the window; false when the call has ended instead. */
  async room(): Promise<boolean> {
    while (this.#state === "open" && this.#sent - this.#acked >= this.#window) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#state === "open";
  }

  /**
   * Send the next chunk (call `room()` first). `data` is shared with the other
   * hosts and must stay untouched until every write of it is done.
   */
  send(data: Uint8Array, eof = false): void {
    if (this.#state !== "open" || this.#id === null) return;
    this.#send([chunkHeader(this.#id, this.#sent++, data.length, eof), data]);
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** Where `fanOutChunks` reads from: up to `max` bytes at a time, null at the end. */
export type ChunkSource = (max: number) => Promise<Uint8Array | null>;

/**
 * Read `source` once and send it to every stream that opens. Waits until each
 * stream is open or finished, reads chunks no larger than the smallest
 * `chunkBytes`, and sends each to every open stream once it has room. With
 * `eof`, an empty last chunk marks the end (exec input). Returns the bytes read.
 */
export async function fanOutChunks(
  streams: readonly OutStream[],
  source: ChunkSource,
  opts: { eof?: boolean; signal?: AbortSignal } = {},
): Promise<number> {
  await Promise.all(streams.map((s) => s.settled));
  let live = streams.filter((s) => s.open);
  if (live.length === 0) return 0;
  const max = Math.min(...live.map((s) => s.chunkBytes));
  let total = 0;
  while (!opts.signal?.aborted) {
    const data = await source(max);
    if (data === null) break;
    if (data.length === 0) continue;
    total += data.length;
    for (const s of live) if (await s.room()) s.send(data);
    live = live.filter((s) => s.open);
    if (live.length === 0) return total;
  }
  if (opts.eof) {
    const none = new Uint8Array(0);
    for (const s of live) if (await s.room()) s.send(none, true);
  }
  return total;
}

/**
 * A `ChunkSource` over an open file or stdin. Each chunk gets a buffer of its
 * own: hosts write it out at their own pace, after the next read.
 */
export function readerSource(reader: { read(p: Uint8Array): Promise<number | null> }): ChunkSource {
  return async (max) => {
    const buf = new Uint8Array(max);
    const n = await reader.read(buf);
    return n === null ? null : buf.subarray(0, n);
  };
}
