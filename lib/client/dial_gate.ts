/**
 * How many hosts the client connects to at once (TCP connect and handshake,
 * the part under the connect deadline), whatever the fan-out: at most
 * {@linkcode CONNECTS_AT_ONCE}. Client layer.
 *
 * Measured in a private network namespace (1,024 connects at once to 20
 * listeners, 10,000 in all, nothing else in the way): the connect's p99 took
 * 2.1 s against 23 ms with the connects gated at 64, for the same wall time,
 * and with no SYN dropped or retransmitted by the kernel: the queueing is in
 * the runtime, not on the wire. At `--fanout 1024` that tail, and then a
 * thousand handshakes sharing one event loop, pushed hundreds of healthy
 * hosts past a 5 s connect deadline. So a fan-out slot waits here for its turn
 * to connect, and its connect deadline starts only once it has one; a large
 * `--fanout` still runs that many commands at once.
 * @module
 */

/** Hosts connecting (connect + handshake) at once at most; see the module doc. */
export const CONNECTS_AT_ONCE = 64;

/** A counting gate: `acquire()` resolves when one of `size` places is free. */
export class Gate {
  readonly size: number;
  #busy = 0;
  #waiting: (() => void)[] = [];

  /** A gate with `size` places. */
  constructor(size: number) {
    this.size = size;
  }

  /** Places taken. */
  get busy(): number {
    return this.#busy;
  }

  /** Wait for a place; each resolved `acquire()` needs one `release()`. */
  acquire(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#pump();
    });
  }

  /** Give a place back (to the longest waiter). */
  release(): void {
    this.#busy--;
    this.#pump();
  }

  #pump(): void {
    while (this.#busy < this.size && this.#waiting.length > 0) {
      this.#busy++;
      this.#waiting.shift()!();
    }
  }
}

/** The gate every host link of this process connects through. */
export const CONNECTS = new Gate(CONNECTS_AT_ONCE);
