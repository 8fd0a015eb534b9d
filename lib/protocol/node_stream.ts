/**
 * Adapts a `node:net`/`node:tls` socket to the `ByteStream` the framing layer
 * reads and writes. TLS runs through `node:tls` because Deno's own TLS
 * listener cannot turn off Nagle's algorithm (every handshake then stalls
 * ~40 ms on a delayed ACK) and does not expose the peer certificate, which the
 * client needs for pinning and channel binding. Transport layer.
 *
 * Reads pull from a small queue of received chunks; reading stops while the
 * queue is full, so a peer cannot make us buffer more than one high-water
 * mark. For TLS over an existing socket, reading stops on the socket under the
 * TLS layer: in Deno 2.9 pausing a `TLSSocket` only stops its `data` events
 * while it goes on reading and decrypting without bound (an authenticated
 * client that sent without reading grew a server by 1 GB in 3 s), and
 * `resume()` on the socket under it never restarts reading, so that socket's
 * handle is stopped and restarted directly. A write resolves once the socket has taken the bytes (its callback),
 * which gives the caller backpressure and lets it reuse its buffer.
 * @module
 */

import type { Socket } from "node:net";
import { ConnectionClosedError } from "./errors.ts";
import type { ByteStream } from "./framing.ts";

/** Received bytes queued before the socket is paused. */
const HIGH_WATER_BYTES = 256 * 1024;

/** The libuv-style handle under a node socket, as far as flow control needs it. */
interface ReadHandle {
  readStart?: () => unknown;
  readStop?: () => unknown;
}

/**
 * How to stop and restart reading: `socket.pause()`/`resume()`, or for a TLS
 * layer over `under`, the read of `under`'s handle (see the module doc);
 * pausing the TLS layer is the fallback where there is no such handle.
 */
function flowControl(socket: Socket, under?: Socket): (on: boolean) => void {
  const handle = (under as unknown as { _handle?: ReadHandle } | undefined)?._handle;
  const { readStart, readStop } = handle ?? {};
  if (handle && readStart && readStop) {
    return (on) => on ? readStart.call(handle) : readStop.call(handle);
  }
  return (on) => on ? socket.resume() : socket.pause();
}

/** A `ByteStream` over a node socket; see the module doc. */
export class NodeSocketStream implements ByteStream {
  #socket: Socket;
  /** Stops or restarts reading from the network; see {@linkcode flowControl}. */
  #setReading: (on: boolean) => void;
  /** Whether reading is stopped because the queue is full. */
  #paused = false;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  #closed = false;

  /**
   * Wrap `socket`, which must not have been read from yet; `under` is the
   * socket it reads from the network through, when `socket` is a TLS layer
   * over one.
   */
  constructor(socket: Socket, under?: Socket) {
    this.#socket = socket;
    this.#setReading = flowControl(socket, under);
    socket.on("data", (data: Uint8Array) => {
      this.#chunks.push(data);
      this.#queued += data.length;
      if (this.#queued >= HIGH_WATER_BYTES && !this.#paused) {
        this.#paused = true;
        this.#setReading(false);
      }
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (err: Error) => {
      this.#error ??= err;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Read into `p`; `null` at the end of the stream. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#closedError(this.#error);
      if (this.#ended || this.#closed) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length, p.length - n);
      p.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#queued -= n;
    if (this.#queued < HIGH_WATER_BYTES && this.#paused) {
      this.#paused = false;
      this.#setReading(true);
    }
    return n;
  }

  /** Write all of `p`; resolves once the socket has taken it. */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed || this.#error) {
      return Promise.reject(this.#closedError(this.#error ?? undefined));
    }
    return new Promise((resolve, reject) => {
      this.#socket.write(p, (err?: Error | null) => {
        if (err) reject(this.#closedError(err));
        else resolve(p.length);
      });
    });
  }

  /** Close the socket at once; pending reads end with `null`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#notify();
  }

  #closedError(cause?: Error): ConnectionClosedError {
    return new ConnectionClosedError(
      `Connection closed: ${cause?.message ?? "socket closed"}`,
      { cause },
    );
  }
}
