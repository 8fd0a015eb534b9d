/**
 * One heartbeat timer for a whole fleet. Client layer.
 *
 * A timer per link costs a wake-up per link per interval: 10,000 idle links
 * kept 8 % of a core busy. Here the links sit in {@linkcode SLOTS} slots
 * filled round-robin; one timer ticks every `intervalMs / SLOTS` and visits
 * one slot, so every link is visited once per interval and the visits (and
 * the heartbeats they send) are spread evenly over it rather than sent in one
 * burst. A visit is `HostLink.beat()`: a link with traffic since its last visit
 * sends nothing. The timer runs only while a link is registered and never
 * keeps the process alive by itself.
 * @module
 */

/** What the timer visits: a link that decides for itself whether to send a heartbeat. */
export interface Beating {
  beat(): void;
}

/** Slots per interval: a tick every interval/16 (~1 s at the default 15 s). */
export const SLOTS = 16;

/** A fleet's shared heartbeat timer; see the module doc. */
export class Heartbeats {
  readonly intervalMs: number;
  #slots: Set<Beating>[] = Array.from({ length: SLOTS }, () => new Set());
  #slotOf = new Map<Beating, number>();
  #next = 0;
  #tick = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A timer that visits each registered link every `intervalMs`. */
  constructor(intervalMs: number) {
    if (!(intervalMs > 0)) throw new RangeError(`Invalid heartbeat interval: ${intervalMs}`);
    this.intervalMs = intervalMs;
  }

  /** Links registered. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** Register a link (an up connection); idempotent. */
  add(link: Beating): void {
    if (this.#slotOf.has(link)) return;
    const slot = this.#next++ % SLOTS;
    this.#slots[slot]!.add(link);
    this.#slotOf.set(link, slot);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#visit(), this.intervalMs / SLOTS);
      // The console is kept alive by its input, a one-shot run by its calls: not by this.
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Unregister a link (its connection closed); the timer stops with the last one. */
  delete(link: Beating): void {
    const slot = this.#slotOf.get(link);
    if (slot === undefined) return;
    this.#slots[slot]!.delete(link);
    this.#slotOf.delete(link);
    if (this.#slotOf.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #visit(): void {
    const slot = this.#slots[this.#tick++ % SLOTS]!;
    for (const link of slot) link.beat();
  }
}
