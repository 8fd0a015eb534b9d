/**
 * One heartbeat timer for a whole fleet, at a cost that does not grow with the
 * fleet. Client layer.
 *
 * A timer per link costs a wake-up per link per interval: 10,000 idle links
 * kept 8 % of a core busy. Here the links sit in {@linkcode SLOTS} slots
 * filled round-robin; one timer visits one slot per tick, so the visits (and
 * the heartbeats they send) are spread evenly rather than sent in one burst.
 *
 * Each link is visited {@linkcode VISITS} times per interval, and sends a
 * heartbeat only after that many visits in a row found its connection quiet
 * (`HostLink.beat()`). So a link is never silent much longer than one
 * interval (at most interval × (1 + 1/VISITS) plus a tick), where a single
 * visit per interval that skips links with recent traffic allows nearly two.
 *
 * The interval grows with the fleet so the heartbeats sent per second stay
 * at {@linkcode BEATS_PER_SECOND} (never below the base interval, 15 s by
 * default): 10,000 idle links no longer cost ~670 round trips a second. It is
 * always capped well under the servers' idle timeout, which each server
 * states in its `hello` (`idleMs`, protocol.md §3.1): at most
 * {@linkcode IDLE_SHARE} of the shortest one among the links, so a link's
 * longest silence stays below ~80 % of it. A link to a server that does not
 * state it keeps the base interval as its cap, as before this scaling. The
 * timer runs only while a link is registered and never keeps the process
 * alive by itself.
 *
 * Most heartbeats are not answered. A server that states its idle timeout
 * counts any frame as traffic (protocol.md §8), so a `heartbeat`
 * notification keeps the link open for one write; an answered `heartbeat`
 * request also costs the client a wake-up, a read and a promise, and
 * measured ~4× as much (10,000 idle links: 4.0–4.6 % of a core with every
 * heartbeat answered, 0.9–1.4 % with none). Only every
 * {@linkcode Heartbeats.probeEvery}th heartbeat of a quiet link is a request,
 * which finds a dead server and measures the round trip; the fleet sends at
 * most {@linkcode PROBES_PER_SECOND} of those, so a large fleet notices a
 * dead server within minutes (never later than {@linkcode MAX_PROBE_MS})
 * and a small one as before, within about an interval.
 * @module
 */

/** What the timer visits: a link that decides for itself whether to send a heartbeat. */
export interface Beating {
  beat(): void;
}

/** Slots a visit round is spread over: a tick every round/16. */
export const SLOTS = 16;

/** Visits of each link per interval; a heartbeat goes out after this many quiet ones. */
export const VISITS = 4;

/** Heartbeats a fleet sends per second at most, once the fleet is large enough to need scaling. */
export const BEATS_PER_SECOND = 250;

/**
 * Largest interval as a share of a server's idle timeout. A quiet link's
 * longest silence is interval × (1 + 1/VISITS) plus a tick, so 0.6 keeps it
 * at ~77 % of the timeout, with seconds to spare for a busy event loop.
 */
export const IDLE_SHARE = 0.6;

/** The interval never passes this, whatever the fleet (a dead server is still noticed). */
export const MAX_INTERVAL_MS = 120_000;

/** Answered heartbeats (requests) a fleet sends per second at most; the rest are notifications. */
export const PROBES_PER_SECOND = 60;

/** A quiet link's server is asked for an answer at least this often, whatever the fleet. */
export const MAX_PROBE_MS = 300_000;

/** A fleet's shared heartbeat timer; see the module doc. */
export class Heartbeats {
  /** The configured (base) interval. */
  readonly baseMs: number;
  /** Answered heartbeats per second the fleet may send ({@linkcode PROBES_PER_SECOND}). */
  readonly probesPerSecond: number;
  #slots: Set<Beating>[] = Array.from({ length: SLOTS }, () => new Set());
  #slotOf = new Map<Beating, { slot: number; idleMs: number | null }>();
  /** How many registered links have each server idle timeout (null: not stated). */
  #idle = new Map<number | null, number>();
  #next = 0;
  #tick = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The interval the running timer was set for. */
  #runningMs = 0;

  /**
   * A timer that visits each registered link {@linkcode VISITS} times per
   * interval; `probesPerSecond` (default {@linkcode PROBES_PER_SECOND}) is for
   * tests that need unanswered heartbeats from a fleet of one.
   */
  constructor(baseMs: number, opts: { probesPerSecond?: number } = {}) {
    if (!(baseMs > 0)) throw new RangeError(`Invalid heartbeat interval: ${baseMs}`);
    this.baseMs = baseMs;
    this.probesPerSecond = opts.probesPerSecond ?? PROBES_PER_SECOND;
    if (!(this.probesPerSecond > 0)) {
      throw new RangeError(`Invalid heartbeat probe rate: ${this.probesPerSecond}`);
    }
  }

  /** Links registered. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** The interval in use: see {@linkcode targetMs}; the timer follows it within a tenth. */
  get intervalMs(): number {
    return this.#runningMs || this.targetMs;
  }

  /**
   * The interval for the links registered now: the base interval, stretched
   * to keep {@linkcode BEATS_PER_SECOND}, capped by the servers' idle timeouts.
   */
  get targetMs(): number {
    const scaled = Math.max(this.baseMs, (this.size / BEATS_PER_SECOND) * 1000);
    return Math.min(scaled, this.#capMs());
  }

  /**
   * A quiet link sends this many heartbeats per answered one (1: every one
   * is answered): enough that the fleet's answered heartbeats stay within
   * {@linkcode probesPerSecond}, but a link is asked at least every
   * {@linkcode MAX_PROBE_MS}. Only links whose server takes notifications as
   * traffic (it states its idle timeout) send unanswered ones.
   */
  get probeEvery(): number {
    const interval = this.intervalMs;
    const wanted = Math.ceil((this.size / this.probesPerSecond) * 1000 / interval);
    return Math.max(1, Math.min(wanted, Math.floor(MAX_PROBE_MS / interval)));
  }

  /**
   * Register a link (an up connection) whose server closes connections idle
   * for `serverIdleMs` (0: never; null: not stated); idempotent.
   */
  add(link: Beating, serverIdleMs: number | null = null): void {
    if (this.#slotOf.has(link)) return;
    const slot = this.#next++ % SLOTS;
    this.#slots[slot]!.add(link);
    this.#slotOf.set(link, { slot, idleMs: serverIdleMs });
    this.#idle.set(serverIdleMs, (this.#idle.get(serverIdleMs) ?? 0) + 1);
    this.#schedule();
  }

  /** Unregister a link (its connection closed); the timer stops with the last one. */
  delete(link: Beating): void {
    const entry = this.#slotOf.get(link);
    if (entry === undefined) return;
    this.#slots[entry.slot]!.delete(link);
    this.#slotOf.delete(link);
    const left = (this.#idle.get(entry.idleMs) ?? 1) - 1;
    if (left > 0) this.#idle.set(entry.idleMs, left);
    else this.#idle.delete(entry.idleMs);
    this.#schedule();
  }

  /** The longest interval every registered link's server allows. */
  #capMs(): number {
    let cap = MAX_INTERVAL_MS;
    for (const idleMs of this.#idle.keys()) {
      // Not stated: keep the base interval, which such servers have always had.
      const allowed = idleMs === null ? this.baseMs : idleMs === 0 ? Infinity : idleMs * IDLE_SHARE;
      cap = Math.min(cap, allowed);
    }
    return cap;
  }

  /**
   * (Re)start the timer for the current interval. Only a change of more than
   * a tenth restarts it, so a fleet connecting link by link restarts it a few
   * times, not once per link; but never may it run slower than the cap allows.
   */
  #schedule(): void {
    if (this.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#runningMs = 0;
      return;
    }
    const ms = this.targetMs;
    const running = this.#runningMs;
    const near = ms <= running * 1.1 && ms >= running * 0.9;
    if (this.#timer !== undefined && near && running <= this.#capMs()) return;
    clearInterval(this.#timer);
    this.#runningMs = ms;
    this.#timer = setInterval(() => this.#visit(), ms / VISITS / SLOTS);
    // The console is kept alive by its input, a one-shot run by its calls: not by this.
    Deno.unrefTimer(this.#timer);
  }

  #visit(): void {
    const slot = this.#slots[this.#tick++ % SLOTS]!;
    for (const link of slot) link.beat();
  }
}
