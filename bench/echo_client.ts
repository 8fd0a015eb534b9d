/**
 * The client half of the floor: talks to `echo_server.ts` the cheapest way a
 * Deno program can (raw `Deno.TcpConn`, preallocated buffers, no framing or
 * JSON), so the difference to the matching rmon figure is what rmon's own
 * layers cost.
 * @module
 */

import { closeQuietly, type Endpoint } from "../lib/protocol/transport.ts";

const READ_BYTES = 64 * 1024;

/** One connection to an echo server. */
export class EchoConn {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(READ_BYTES);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connect with Nagle off, like rmon's transport. */
  static async open(ep: Endpoint): Promise<EchoConn> {
    const conn = await Deno.connect({ hostname: ep.hostname, port: ep.port, transport: "tcp" });
    conn.setNoDelay(true);
    return new EchoConn(conn);
  }

  /** Send `line` (newline included) and wait until all of it has come back. */
  async roundTrip(line: Uint8Array): Promise<void> {
    await this.#writeAll(line);
    await this.#readBytes(line.length);
  }

  /**
   * Send `total` copies of `line`, keeping `window` in flight, and resolve once
   * every one came back. Returns the elapsed milliseconds.
   */
  async pipelined(line: Uint8Array, total: number, window: number): Promise<number> {
    const batch = new Uint8Array(line.length * window);
    for (let i = 0; i < window; i++) batch.set(line, i * line.length);
    const t0 = performance.now();
    let sent = Math.min(window, total);
    await this.#writeAll(batch.subarray(0, sent * line.length));
    let received = 0;
    let done = 0;
    while (done < total) {
      const n = await this.#conn.read(this.#buf);
      if (n === null) throw new Error("Cannot echo: connection closed");
      received += n;
      const nowDone = Math.floor(received / line.length);
      const more = Math.min(nowDone - done, total - sent);
      done = nowDone;
      if (more > 0) {
        sent += more;
        await this.#writeAll(batch.subarray(0, more * line.length));
      }
    }
    return performance.now() - t0;
  }

  /** Push `total` bytes through the echo (written and read concurrently). */
  async stream(total: number): Promise<void> {
    const chunk = new Uint8Array(READ_BYTES).fill(0x41);
    const writing = (async () => {
      for (let sent = 0; sent < total; sent += chunk.length) {
        await this.#writeAll(chunk.subarray(0, Math.min(chunk.length, total - sent)));
      }
    })();
    await Promise.all([writing, this.#readBytes(total)]);
  }

  /** Close the connection. */
  close(): void {
    closeQuietly(this.#conn);
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  async #readBytes(count: number): Promise<void> {
    let got = 0;
    while (got < count) {
      const n = await this.#conn.read(this.#buf);
      if (n === null) throw new Error("Cannot echo: connection closed");
      got += n;
    }
  }
}

/** A line of `size` bytes plus its newline, the size of a typical rmon frame. */
export function echoLine(size: number): Uint8Array {
  const line = new Uint8Array(size + 1).fill(0x78);
  line[size] = 0x0a;
  return line;
}
