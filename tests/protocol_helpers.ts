/**
 * Test helpers for the protocol layers: in-memory byte streams, so framing,
 * codec and handshake tests run with no permissions and no sockets.
 *
 * - `ScriptedStream` plays a fixed list of chunks (one chunk per read at most),
 *   which makes partial frames, split characters and byte-at-a-time delivery exact.
 * - `memoryPair()` connects two `MemoryConn`s through queues, like a socket pair.
 * - `FakePeer` speaks raw frames on one end, for misbehaving servers and clients.
 * - `trickle()` is a slow, evil peer: one byte at a time, never a newline.
 * @module
 */

import { FrameReader, FrameWriter } from "../lib/protocol/framing.ts";
import type { ByteStream } from "../lib/protocol/framing.ts";
import type { Protection, Transport } from "../lib/protocol/transport.ts";
import type { HandshakeFacts } from "../lib/protocol/auth.ts";
import { PROTOCOL_VERSION } from "../lib/protocol/constants.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Split `data` into chunks of `size` bytes (the last may be shorter). */
export function chunked(data: string | Uint8Array, size: number): Uint8Array[] {
  const all = typeof data === "string" ? bytes(data) : data;
  const out: Uint8Array[] = [];
  for (let off = 0; off < all.length; off += size) out.push(all.subarray(off, off + size));
  return out;
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Options of a {@linkcode ScriptedStream}. */
export interface ScriptedStreamOptions {
  /**
   * Runs before each write is accepted; may wait (a slow peer) or throw (a
   * broken socket). Default: accept at once.
   */
  onWrite?: (data: Uint8Array) => Promise<void> | void;
  /** Largest number of bytes one write call accepts (short writes). Default: all. */
  maxWriteBytes?: number;
}

/**
 * A `ByteStream` whose reads play `chunks` in order: each read returns at most
 * one chunk (or the part of it that fits), then `null` once the script is done.
 * The script may be a lazy generator, so a test can "send" 10 MB without
 * allocating it, and count how much the reader actually pulled.
 */
export class ScriptedStream implements ByteStream {
  #chunks: Iterator<Uint8Array | string>;
  #rest: Uint8Array | null = null;
  #opts: ScriptedStreamOptions;
  /** Bytes handed to the reader so far. */
  bytesRead = 0;
  /** Read calls that returned data. */
  reads = 0;
  /** Sizes of the buffers the reader offered, one per read call. */
  readSizes: number[] = [];
  /** What each write call accepted, in order. */
  writes: Uint8Array[] = [];
  /** Whether `close()` was called. */
  closed = false;

  /** Play `chunks` (strings are UTF-8 encoded). */
  constructor(chunks: Iterable<Uint8Array | string>, opts: ScriptedStreamOptions = {}) {
    this.#chunks = chunks[Symbol.iterator]();
    this.#opts = opts;
  }

  /** Copy the next chunk (or the part of it that fits) into `p`; null at the end. */
  read(p: Uint8Array): Promise<number | null> {
    this.readSizes.push(p.length);
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    let chunk = this.#rest;
    this.#rest = null;
    while (chunk === null || chunk.length === 0) {
      const next = this.#chunks.next();
      if (next.done) return Promise.resolve(null);
      chunk = typeof next.value === "string" ? bytes(next.value) : next.value;
    }
    const n = Math.min(chunk.length, p.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#rest = chunk.subarray(n);
    this.bytesRead += n;
    this.reads++;
    return Promise.resolve(n);
  }

  /** Record what was written (after `onWrite`), accepting up to `maxWriteBytes`. */
  async write(p: Uint8Array): Promise<number> {
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    await this.#opts.onWrite?.(p);
    const n = Math.min(p.length, this.#opts.maxWriteBytes ?? p.length);
    this.writes.push(p.slice(0, n));
    return n;
  }

  /** Mark the stream closed; later reads and writes fail like a closed socket. */
  close(): void {
    this.closed = true;
  }

  /** Everything written so far, decoded as UTF-8. */
  writtenText(): string {
    return decoder.decode(concat(this.writes));
  }
}

interface PendingRead {
  p: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (err: Error) => void;
}

/**
 * One end of an in-memory socket pair (see {@linkcode memoryPair}). Behaves like
 * a `Deno.Conn` where it matters: a pending read rejects when the local end
 * closes, the peer sees EOF after draining what was written, writing to a closed
 * peer fails with `BrokenPipe`, and closing twice throws `BadResource`.
 */
export class MemoryConn implements ByteStream {
  #inbox: Uint8Array[] = [];
  #waiting: PendingRead | null = null;
  #eof = false;
  #closed = false;
  /** The other end; set by `memoryPair()`. */
  peer!: MemoryConn;
  /** Bytes this end has written. */
  bytesWritten = 0;

  /** Whether this end has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Read what the peer wrote; null once the peer closed and everything was read. */
  read(p: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    if (this.#waiting) {
      return Promise.reject(new Error("MemoryConn: concurrent reads are not supported"));
    }
    if (this.#inbox.length > 0) return Promise.resolve(this.#take(p));
    if (this.#eof) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.#waiting = { p, resolve, reject });
  }

  /** Deliver `p` to the peer's inbox. */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    if (this.peer.#closed) return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe"));
    this.bytesWritten += p.length;
    this.peer.#deliver(p.slice());
    return Promise.resolve(p.length);
  }

  /** Close this end: a pending local read fails, the peer reads EOF. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("Bad resource ID");
    this.#closed = true;
    this.#inbox = [];
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.reject(new Deno.errors.Interrupted("operation canceled"));
    this.peer.#deliverEof();
  }

  #take(p: Uint8Array): number {
    const head = this.#inbox[0]!;
    const n = Math.min(head.length, p.length);
    p.set(head.subarray(0, n));
    if (n === head.length) this.#inbox.shift();
    else this.#inbox[0] = head.subarray(n);
    return n;
  }

  #deliver(data: Uint8Array): void {
    if (this.#closed) return;
    this.#inbox.push(data);
    this.#wake();
  }

  #deliverEof(): void {
    this.#eof = true;
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = null;
    if (this.#inbox.length > 0) waiting.resolve(this.#take(waiting.p));
    else if (this.#eof) waiting.resolve(null);
    else this.#waiting = waiting;
  }
}

/** Two connected in-memory ends: what one writes, the other reads. */
export function memoryPair(): [MemoryConn, MemoryConn] {
  const a = new MemoryConn();
  const b = new MemoryConn();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/**
 * A `Transport` over an in-memory end, plain unless `protection` says it is
 * TLS with some certificate (for channel-binding tests).
 */
export function memoryTransport(
  conn: MemoryConn,
  protection: Protection = { kind: "plain" },
): Transport {
  return {
    read: (p) => conn.read(p),
    write: (p) => conn.write(p),
    close: () => conn.close(),
    remote: "memory",
    peerAddress: "",
    protection,
  };
}

/** The facts of a handshake over a plain channel at the current protocol version. */
export function plainFacts(clientNonce: string, serverNonce: string): HandshakeFacts {
  return { protocolVersion: PROTOCOL_VERSION, binding: "plain", clientNonce, serverNonce };
}

/** A raw frame-level peer on one end of a pair: for fake servers and clients. */
export class FakePeer {
  readonly conn: MemoryConn;
  readonly reader: FrameReader;
  readonly writer: FrameWriter;

  /** Speak frames over `conn`, accepting incoming frames up to `maxFrameBytes`. */
  constructor(conn: MemoryConn, maxFrameBytes = 1024 * 1024) {
    this.conn = conn;
    this.reader = new FrameReader(conn, maxFrameBytes);
    this.writer = new FrameWriter(conn);
  }

  /** Send one frame: a string as is, anything else as JSON. */
  send(frame: unknown): Promise<void> {
    return this.writer.write(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Send raw bytes (no newline added). */
  async sendRaw(data: string | Uint8Array): Promise<void> {
    await this.conn.write(typeof data === "string" ? bytes(data) : data);
  }

  /** The next frame as text, or null at EOF. */
  recv(): Promise<string | null> {
    return this.reader.read();
  }

  /** The next frame parsed as JSON (throws at EOF). */
  async recvJson(): Promise<Record<string, unknown>> {
    const text = await this.reader.read();
    if (text === null) throw new Error("FakePeer: connection closed while waiting for a frame");
    return JSON.parse(text);
  }

  /** Read until EOF (or a read error after close), returning the frames seen. */
  async drain(): Promise<string[]> {
    const frames: string[] = [];
    try {
      for (let f = await this.reader.read(); f !== null; f = await this.reader.read()) {
        frames.push(f);
      }
    } catch (_err) {
      // A reset or a torn frame also ends the conversation; the frames are what matter.
    }
    return frames;
  }

  /** Close our end if still open. */
  close(): void {
    if (!this.conn.closed) this.conn.close();
  }
}

/** Resolve after `ms`, or at once when `signal` aborts (the timer is always cleared). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A slow, evil peer: write one garbage byte (never a newline) every
 * `intervalMs` until a write fails (the other side hung up) or `signal`
 * aborts. Resolves with the number of bytes sent.
 */
export async function trickle(
  stream: ByteStream,
  intervalMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const junk = bytes("x");
  let sent = 0;
  while (!signal?.aborted) {
    await sleep(intervalMs, signal);
    if (signal?.aborted) break;
    try {
      await stream.write(junk);
    } catch (_err) {
      // The other side closed: that is what the trickle waits for.
      break;
    }
    sent++;
  }
  return sent;
}

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}
