/**
 * Framing layer: bytes ↔ frames. A frame is one UTF-8 line ending in `\n`.
 *
 * Deno's stream helpers have no line-length limit, so this is our own bounded
 * reader: it never buffers more than the current limit plus one read, whatever
 * the peer sends. The newline search is a native `indexOf` over the new bytes
 * only, never a loop over bytes in JS, and frame text is decoded by the fast
 * lenient decoder, with the strict one only as the judge of a frame that holds
 * U+FFFD. The writer coalesces frames queued while a write is in flight into
 * one system call, and counts the writes it hands to the stream, so its owner
 * can enforce a write deadline by sampling, without a timer or a clock read
 * per write.
 * @module
 */

import { ConnectionClosedError, ProtocolError } from "./errors.ts";
import { ERROR_CODES } from "./constants.ts";

/** The byte stream the framing layer reads and writes (a `Deno.Conn` satisfies it). */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

const NEWLINE = 0x0a;
/** Free space we ask the socket to fill once reads come in full; the most a read grows to. */
const MIN_READ = 8 * 1024;
/**
 * Free space of a connection's first reads, and its initial buffer size. An
 * idle connection always has a read pending on its whole buffer, so this is
 * what each of 10,000 idle console links holds (10 MB rather than 80 MB at
 * 8 KiB); a read that fills the space offered doubles it, up to MIN_READ.
 */
const FIRST_READ = 1024;
const REPLACEMENT_CHAR = "\uFFFD";
// Shared by every reader: each decodes whole frames (never `stream: true`), so they hold no state.
// ignoreBOM keeps a leading U+FEFF in the text: by default each decode() would drop it
// from every frame, silently changing what the peer sent (found by the property test).
const STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LENIENT = new TextDecoder("utf-8", { ignoreBOM: true });

/** Reads `\n`-terminated UTF-8 frames with a size limit. */
export class FrameReader {
  #stream: ByteStream;
  #buf = new Uint8Array(FIRST_READ);
  /** Free space asked of the next read: FIRST_READ, doubled by full reads up to MIN_READ. */
  #readSize = FIRST_READ;
  #start = 0;
  #end = 0;
  /** Where the newline search resumes, so a long frame is never scanned twice. */
  #scanned = 0;
  /** Where {@linkcode readBytesView} puts a chunk it must read from the stream; grown on need. */
  #scratch = new Uint8Array(0);
  /** Largest frame accepted, in bytes, excluding the newline. Callers may change it. */
  maxFrameBytes: number;

  /** Create a reader over `stream` accepting frames up to `maxFrameBytes`. */
  constructor(stream: ByteStream, maxFrameBytes: number) {
    this.#stream = stream;
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Read the next frame as text; `null` at a clean end of stream.
   * Throws `ProtocolError` (tooLarge or parseError) for an oversized frame or
   * invalid UTF-8, and `ConnectionClosedError` when the stream ends mid-frame.
   */
  async read(): Promise<string | null> {
    while (true) {
      const nl = this.#buf.subarray(0, this.#end).indexOf(NEWLINE, this.#scanned);
      if (nl >= 0) {
        const frame = this.#buf.subarray(this.#start, nl);
        this.#start = nl + 1;
        this.#scanned = this.#start;
        if (frame.length > this.maxFrameBytes) throw this.#tooLarge(frame.length);
        return this.#decode(frame);
      }
      this.#scanned = this.#end;
      const pending = this.#end - this.#start;
      if (pending > this.maxFrameBytes) throw this.#tooLarge(pending);
      this.#makeRoom();
      const space = this.#buf.length - this.#end;
      const n = await this.#stream.read(this.#buf.subarray(this.#end));
      // A read that filled all it was offered: the peer sends more than small frames.
      if (n === space && this.#readSize < MIN_READ) this.#readSize *= 2;
      if (n === null) {
        if (this.#end > this.#start) {
          throw new ConnectionClosedError("Cannot read frame: connection closed mid-frame");
        }
        return null;
      }
      this.#end += n;
    }
  }

  /**
   * Read exactly `n` raw bytes that follow the last frame (a stream chunk's
   * payload, protocol.md §5.1), into a new array. The caller checks `n`
   * against its limit before asking.
   * @throws {ConnectionClosedError} The stream ends before `n` bytes.
   */
  async readBytes(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    const have = Math.min(n, this.#end - this.#start);
    out.set(this.#buf.subarray(this.#start, this.#start + have));
    this.#start += have;
    this.#scanned = Math.max(this.#scanned, this.#start);
    let off = have;
    while (off < n) {
      const got = await this.#stream.read(out.subarray(off));
      if (got === null) {
        throw new ConnectionClosedError("Cannot read chunk: connection closed mid-chunk");
      }
      off += got;
    }
    return out;
  }

  /**
   * Like {@linkcode readBytes}, but the bytes are a view into a buffer of the
   * reader's, valid only until the next read: for a consumer that takes them
   * at once (output passed through to a file or stdout), so a long stream
   * allocates nothing per chunk. Bytes already buffered are not even copied.
   * @throws {ConnectionClosedError} The stream ends before `n` bytes.
   */
  async readBytesView(n: number): Promise<Uint8Array> {
    const have = this.#end - this.#start;
    if (have >= n) {
      const view = this.#buf.subarray(this.#start, this.#start + n);
      this.#start += n;
      this.#scanned = Math.max(this.#scanned, this.#start);
      return view;
    }
    if (this.#scratch.length < n) this.#scratch = new Uint8Array(n);
    const out = this.#scratch.subarray(0, n);
    out.set(this.#buf.subarray(this.#start, this.#end));
    this.#start = this.#end;
    this.#scanned = this.#start;
    let off = have;
    while (off < n) {
      const got = await this.#stream.read(out.subarray(off));
      if (got === null) {
        throw new ConnectionClosedError("Cannot read chunk: connection closed mid-chunk");
      }
      off += got;
    }
    return out;
  }

  #decode(frame: Uint8Array): string {
    const text = LENIENT.decode(frame);
    // Only text holding U+FFFD can come from invalid bytes; then the strict decoder decides.
    if (!text.includes(REPLACEMENT_CHAR)) return text;
    try {
      return STRICT.decode(frame);
    } catch (err) {
      throw new ProtocolError("Cannot read frame: invalid UTF-8", ERROR_CODES.parseError, {
        cause: err,
      });
    }
  }

  #tooLarge(size: number): ProtocolError {
    return new ProtocolError(
      `Cannot read frame: ${size} bytes exceeds the ${this.maxFrameBytes}-byte limit`,
      ERROR_CODES.tooLarge,
    );
  }

  /** Ensure `#readSize` free bytes after `#end`: compact first, grow only if needed. */
  #makeRoom(): void {
    if (this.#buf.length - this.#end >= this.#readSize) return;
    const pending = this.#end - this.#start;
    // The buffer never needs more than one frame (limit + newline) plus one read.
    const needed = pending + this.#readSize;
    if (needed <= this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const bigger = new Uint8Array(Math.max(needed, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = bigger;
    }
    this.#scanned -= this.#start;
    this.#start = 0;
    this.#end = pending;
  }
}

/**
 * Writes frames; frames queued while a write is in flight go out together in
 * one write. `write()` resolves once the frame has been handed to the OS, which
 * gives callers backpressure against a slow peer. It never rejects: a failed
 * write is reported once through `onError` (the connection then closes), so
 * fire-and-forget notifications cannot become unhandled rejections.
 */
export class FrameWriter {
  #stream: ByteStream;
  /** Frames to write: text without its newline, or a frame already encoded in parts. */
  #queue: (string | readonly Uint8Array[])[] = [];
  #flushing: Promise<void> | null = null;
  #encoder = new TextEncoder();
  #writes = 0;
  /** Counts each write as it starts (one closure per writer, not per write). */
  #count = () => {
    this.#writes++;
  };
  /** Hears about the first failed write (the connection owner closes the socket). */
  onError: (err: ConnectionClosedError) => void;
  /** The write failure, once one happened; later frames are dropped. */
  failed: ConnectionClosedError | null = null;

  /** Create a writer over `stream`; `onError` hears about the first failed write. */
  constructor(stream: ByteStream, onError: (err: ConnectionClosedError) => void = () => {}) {
    this.#stream = stream;
    this.onError = onError;
  }

  /**
   * Writes handed to the stream so far, partial ones included. A deadline
   * check samples it: a count that stays the same while {@linkcode writing}
   * means the peer has taken nothing since, while one that moves means a
   * slow peer that still drains.
   */
  get writes(): number {
    return this.#writes;
  }

  /** Whether frames are being written (a write may be waiting on the stream). */
  get writing(): boolean {
    return this.#flushing !== null;
  }

  /** Resolves once everything queued so far has been written (or writing failed). */
  idle(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
  }

  /** Queue one frame (text without newline); resolves once written or once writing failed. */
  write(frame: string): Promise<void> {
    if (this.failed !== null) return Promise.resolve();
    this.#queue.push(frame);
    this.#flushing ??= this.#flush();
    return this.#flushing;
  }

  /**
   * Queue one frame already encoded, as parts written in order with nothing
   * between them; the last part ends with the newline. A stream chunk going to
   * many hosts shares its big part, encoded once, and differs only in a small
   * one (the call id). Resolves like {@linkcode write}.
   */
  writeParts(parts: readonly Uint8Array[]): Promise<void> {
    if (this.failed !== null) return Promise.resolve();
    this.#queue.push(parts);
    this.#flushing ??= this.#flush();
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      // Yield once so that frames written in the same tick join this batch.
      await Promise.resolve();
      while (this.#queue.length > 0) {
        const items = this.#queue;
        this.#queue = [];
        let text: string[] = [];
        for (const item of items) {
          if (typeof item === "string") {
            text.push(item);
            continue;
          }
          // Text frames queued before these parts go first: the order is the caller's.
          if (text.length > 0) await this.#writeBatch(text.join("\n") + "\n");
          text = [];
          for (const part of item) await writeAll(this.#stream, part, this.#count);
        }
        if (text.length > 0) await this.#writeBatch(text.join("\n") + "\n");
      }
    } catch (err) {
      this.#queue = [];
      this.failed = new ConnectionClosedError("Cannot write frame: connection closed", {
        cause: err,
      });
      this.onError(this.failed);
    } finally {
      // Runs in the same tick as the last empty-queue check, so no frame is stranded.
      this.#flushing = null;
    }
  }

  /**
   * Encode and write one batch. Big batches (streamed output) are encoded into a
   * pooled buffer instead of a fresh ArrayBuffer each, which the GC would free
   * only later, growing RSS by tens of MB over a long stream.
   */
  async #writeBatch(batch: string): Promise<void> {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = batch.length * 3;
    if (most < POOL_MIN_BYTES || most > POOL_BUFFER_BYTES) {
      await writeAll(this.#stream, this.#encoder.encode(batch), this.#count);
      return;
    }
    const buf = pool.pop() ?? new Uint8Array(POOL_BUFFER_BYTES);
    try {
      const { written } = this.#encoder.encodeInto(batch, buf);
      await writeAll(this.#stream, buf.subarray(0, written), this.#count);
    } finally {
      // The write has finished (or failed): nothing refers to the bytes any more.
      if (pool.length < POOL_KEEP) pool.push(buf);
    }
  }
}

/** Batches from this size (worst case) on are encoded into a pooled buffer. */
const POOL_MIN_BYTES = 16 * 1024;
/** Size of a pooled buffer: a 64 KiB output chunk JSON-escaped, three bytes per unit. */
const POOL_BUFFER_BYTES = 512 * 1024;
/** Pooled buffers kept between writes, shared by every writer of the process. */
const POOL_KEEP = 4;
const pool: Uint8Array[] = [];

/** Write every byte of `bytes`, looping over short writes; `beforeEach` runs before each write. */
export async function writeAll(
  stream: ByteStream,
  bytes: Uint8Array,
  beforeEach?: () => void,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    beforeEach?.();
    const n = await stream.write(bytes.subarray(off));
    if (n <= 0) throw new Deno.errors.WriteZero("Cannot write frame: the stream accepted no bytes");
    off += n;
  }
}
