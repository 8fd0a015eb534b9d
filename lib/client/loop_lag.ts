/**
 * How long the client's own event loop was too busy to service its sockets,
 * and a connect deadline that counts only the time the client was listening.
 * Client layer.
 *
 * A fan-out of a thousand handshakes on two cores can keep the loop busy for
 * seconds; a plain timer then expires while the host's answers sit unread in
 * the socket buffers, and a healthy host is blamed for the client's stall.
 * One ticking timer measures the loop's lateness (a tick due every
 * {@linkcode TICK_MS} that runs 400 ms late means the loop was stalled for
 * 400 ms); a {@linkcode serviceDeadline} credits that stall back to each
 * attempt it overlapped, and when the stall, not the host, used up the
 * budget, it fails with {@linkcode ClientOverloadedError} instead of a timeout.
 * The timer runs only while some deadline is armed, and never keeps the
 * process alive.
 * @module
 */

import { TimeoutError } from "../protocol/errors.ts";

/** Interval of the lateness probe: fine enough to see a stall, cheap (20 ticks a second). */
export const TICK_MS = 50;
/** Lateness below this is ordinary timer jitter, not a stall. */
const JITTER_MS = 15;
/** The longest an attempt's deadline is stretched by stalls, as a multiple of its budget. */
export const MAX_STRETCH = 3;

/**
 * The client was too busy to service a host within its deadline (not the
 * host's fault). A kind of timeout, so a console link retries it.
 */
export class ClientOverloadedError extends TimeoutError {
  /** Milliseconds of the attempt the client's event loop was stalled. */
  readonly stalledMs: number;
  /** Create the error for an attempt that lasted `elapsedMs`, stalled for `stalledMs`. */
  constructor(stalledMs: number, elapsedMs: number) {
    super(
      `Client overloaded: its event loop was stalled ${Math.round(stalledMs)} ms of ${
        Math.round(elapsedMs)
      } ms; lower --fanout`,
    );
    this.name = "ClientOverloadedError";
    this.stalledMs = stalledMs;
  }
}

/** What a deadline asks of a stall meter (a {@linkcode LoopMonitor}; tests give a fake). */
export interface StallClock {
  start(): void;
  stop(): void;
  /** Total stall so far, ms; compare two readings. */
  stalledMs(): number;
}

/** Measures the event loop's stalls: the lateness of a ticking timer, summed. */
export class LoopMonitor implements StallClock {
  #stalled = 0;
  #last = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #users = 0;

  /** Begin measuring (counted: each `start` needs its `stop`). */
  start(): void {
    if (this.#users++ > 0) return;
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    // A fan-out waiting on sockets keeps the process alive; this timer must not.
    Deno.unrefTimer(this.#timer);
  }

  /** Stop measuring once every `start` has its `stop`. */
  stop(): void {
    if (this.#users === 0 || --this.#users > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = performance.now();
    this.#stalled += this.#lateness(now);
    this.#last = now;
  }

  #lateness(now: number): number {
    const late = now - this.#last - TICK_MS;
    return late > JITTER_MS ? late : 0;
  }

  /**
   * Total stall so far, in ms, including the one in progress (a tick that is
   * overdue right now): compare two readings to get the stall between them.
   */
  stalledMs(): number {
    if (this.#timer === undefined) return this.#stalled;
    return this.#stalled + this.#lateness(performance.now());
  }
}

/** The monitor every link of this process shares (one timer, whatever the fan-out). */
export const LOOP = new LoopMonitor();

/**
 * Settle like `work`, unless the host takes longer than `budgetMs` of time in
 * which the client was servicing it. Each time the timer fires, the stall that
 * overlapped the attempt is credited back (the deadline moves out by it), up
 * to {@linkcode MAX_STRETCH} × the budget. On expiry `onExpire` runs (to close
 * the attempt's socket) and the promise rejects: with `ClientOverloadedError`
 * when stalls took more than half of the time waited, else `TimeoutError`
 * (`Cannot connect to HOST: timed out`).
 */
export function serviceDeadline<T>(
  work: Promise<T>,
  budgetMs: number,
  what: string,
  onExpire: () => void,
  monitor: StallClock = LOOP,
): Promise<T> {
  monitor.start();
  const started = performance.now();
  const mark = monitor.stalledMs();
  let credited = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    const check = () => {
      const stalled = monitor.stalledMs() - mark;
      const elapsed = performance.now() - started;
      const more = stalled - credited;
      if (more >= JITTER_MS && elapsed + more <= budgetMs * MAX_STRETCH) {
        credited = stalled;
        timer = setTimeout(check, more);
        return;
      }
      onExpire();
      reject(
        stalled * 2 > elapsed
          ? new ClientOverloadedError(stalled, elapsed)
          : new TimeoutError(`${what}: timed out`),
      );
    };
    timer = setTimeout(check, budgetMs);
  });
  return Promise.race([work, expired]).finally(() => {
    clearTimeout(timer);
    monitor.stop();
  });
}
