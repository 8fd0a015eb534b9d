/**
 * One periodic sweep over the server's sessions, which checks their write
 * deadlines and idle time. A single interval for the whole server instead of
 * a timer per write keeps deadlines off the per-frame path; it runs only
 * while there is something to sweep, so an idle server never wakes up.
 * Server layer.
 * @module
 */

/** Something the sweep visits: it compares its own timestamps with `now`. */
export interface Sweepable {
  /** Check deadlines against `now` (`performance.now()`) and act on the ones passed. */
  sweep(now: number): void;
}

/** Shortest and longest time between two sweeps. */
const MIN_PERIOD_MS = 25;
const MAX_PERIOD_MS = 1_000;

/**
 * The sweep period for the shortest deadline it serves: a quarter of it, so
 * a deadline is acted on at most 25 % late, between 25 ms and 1 s.
 */
export function sweepPeriod(shortestDeadlineMs: number): number {
  return Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, Math.floor(shortestDeadlineMs / 4)));
}

/** Visits every added item every `periodMs` while there is at least one. */
export class Sweeper {
  #periodMs: number;
  #items = new Set<Sweepable>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Create a sweeper visiting its items every `periodMs` (see {@linkcode sweepPeriod}). */
  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  /** Items being swept. */
  get size(): number {
    return this.#items.size;
  }

  /** Sweep `item` from now on; starts the interval with the first item. */
  add(item: Sweepable): void {
    this.#items.add(item);
    this.#timer ??= setInterval(() => this.sweepNow(), this.#periodMs);
  }

  /** Stop sweeping `item`; stops the interval with the last one. */
  delete(item: Sweepable): void {
    this.#items.delete(item);
    if (this.#items.size === 0) this.#stop();
  }

  /** Visit every item now (the interval calls this). */
  sweepNow(now: number = performance.now()): void {
    // Deleting from a Set while iterating it is safe: a deleted item is just not visited.
    for (const item of this.#items) item.sweep(now);
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
