/**
 * Admission control, decided at accept time before any TLS or handshake work:
 * the cap on authenticated connections, sshd-style limits on unauthenticated
 * ones (random early drop between a start and a full threshold, and a cap per
 * source, IPv6 grouped by /64), and per-source penalties after failed
 * handshakes, kept in a bounded table so memory stays flat under a flood.
 * Pure apart from the clock and the random source, both injectable so tests
 * need no sleeps. Server layer.
 * @module
 */

import { LIMITS } from "../protocol/constants.ts";

/** sshd's `MaxStartups start:rate:full` for unauthenticated connections. */
export interface Startups {
  /** From this many unauthenticated connections on, new ones may be dropped. */
  start: number;
  /** Drop probability at `start`, in percent; it rises linearly to 100 at `full`. */
  rate: number;
  /** At this many, every new connection is refused. */
  full: number;
}

/** The limits an {@linkcode Admission} enforces. */
export interface AdmissionLimits {
  /** Authenticated connections at once (default `LIMITS.connections`). */
  maxConnections: number;
  /** Unauthenticated connections in all (default `LIMITS.startups`). */
  startups: Startups;
  /** Unauthenticated connections per source (default `LIMITS.startupsPerSource`). */
  startupsPerSource: number;
  /** First penalty after a failed handshake, doubling per repeat; 0 disables penalties. */
  penaltyMs: number;
  /** Longest penalty (default `LIMITS.maxPenaltyMs`). */
  maxPenaltyMs: number;
}

/** The defaults of every limit. */
export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxConnections: LIMITS.connections,
  startups: { ...LIMITS.startups },
  startupsPerSource: LIMITS.startupsPerSource,
  penaltyMs: LIMITS.penaltyMs,
  maxPenaltyMs: LIMITS.maxPenaltyMs,
};

/**
 * Parse `start:rate:full` (or one number N, meaning a hard cap: `N:100:N`).
 * Throws `SyntaxError` unless 1 <= start <= full and 0 <= rate <= 100.
 */
export function parseStartups(text: string): Startups {
  const parts = text.split(":");
  const nums = parts.map((p) => /^\d+$/.test(p) ? Number(p) : NaN);
  const [start, rate, full] = nums.length === 1 ? [nums[0]!, 100, nums[0]!] : nums;
  if (
    (nums.length !== 1 && nums.length !== 3) || start === undefined || rate === undefined ||
    full === undefined || !(start >= 1 && start <= full && rate >= 0 && rate <= 100)
  ) {
    throw new SyntaxError(
      `Cannot parse "${text}": expected START:RATE:FULL with 1 <= START <= FULL and RATE <= 100, or N`,
    );
  }
  return { start, rate, full };
}

/**
 * The source a connection is counted and penalised under: an IPv4 address
 * (IPv4-mapped IPv6 included) as it is, an IPv6 address by its /64, since one
 * host usually holds a whole /64.
 */
export function sourceKey(address: string): string {
  let a = address.toLowerCase().replace(/^\[|\]$/g, "");
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(":")) return a;
  const groups = ipv6Groups(a);
  if (groups === null) return a; // unparsable: counted on its own
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
  let a = text;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number) as [number, number, number, number];
    a = `${a.slice(0, v4.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const halves = a.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) =>
    s === "" ? [] : s.split(":").map((h) => /^[0-9a-f]{1,4}$/.test(h) ? parseInt(h, 16) : NaN);
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...head, ...tail].some(Number.isNaN)) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  return fill < 1 ? null : [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** Options of a {@linkcode PenaltyTable}. */
export interface PenaltyOptions {
  /** First penalty; 0 disables the table. */
  baseMs: number;
  /** Longest penalty; also how long a source must behave before its streak ends. */
  maxMs: number;
  /** Sources remembered; the one with the oldest offence is forgotten first. */
  capacity: number;
  /** The clock in ms (default `performance.now`). */
  now?: () => number;
}

/**
 * Per-source penalties: each offence in a streak doubles the previous
 * penalty, up to `maxMs`; a source that then behaves for `maxMs` after its
 * last penalty ended starts again from `baseMs`. At most `capacity` sources
 * are kept, the one with the oldest offence dropped first.
 */
export class PenaltyTable {
  #baseMs: number;
  #maxMs: number;
  #capacity: number;
  #now: () => number;
  /** In order of last offence, oldest first (re-inserted on every offence). */
  #entries = new Map<string, { until: number; level: number }>();

  /** Create an empty table; see {@linkcode PenaltyOptions}. */
  constructor(opts: PenaltyOptions) {
    this.#baseMs = opts.baseMs;
    this.#maxMs = Math.max(opts.maxMs, opts.baseMs);
    this.#capacity = opts.capacity;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Sources remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** Record an offence of `source`; returns the penalty now in force, in ms (0 when disabled). */
  offend(source: string): number {
    if (this.#baseMs <= 0) return 0;
    const now = this.#now();
    const prev = this.#entries.get(source);
    const level = prev !== undefined && now < prev.until + this.#maxMs ? prev.level + 1 : 1;
    // The exponent is capped so a long streak never overflows to Infinity.
    const ms = Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(level - 1, 40));
    this.#entries.delete(source);
    this.#entries.set(source, { until: now + ms, level });
    if (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return ms;
  }

  /** How much longer `source` is penalised, in ms (0 when it is not). */
  remaining(source: string): number {
    const entry = this.#entries.get(source);
    if (entry === undefined) return 0;
    const now = this.#now();
    if (now < entry.until) return entry.until - now;
    if (now >= entry.until + this.#maxMs) this.#entries.delete(source); // the streak is over
    return 0;
  }
}

/** Why a connection was refused at accept, for the log. */
export interface Refusal {
  refused: string;
}

/** Options of an {@linkcode Admission} beyond its limits (tests inject these). */
export interface AdmissionOptions {
  /** The clock in ms (default `performance.now`). */
  now?: () => number;
  /** Uniform in [0, 1) (default `Math.random`): the early-drop dice. */
  random?: () => number;
  /** Sources the penalty table keeps (default `LIMITS.penaltySources`). */
  penaltySources?: number;
}

/** The slot of one admitted connection: unauthenticated until promoted, freed on release. */
export interface AdmissionTicket {
  /** The source the connection counts under (see {@linkcode sourceKey}). */
  readonly source: string;
  /**
   * The handshake succeeded: count the connection as authenticated. Returns
   * why it is refused when the authenticated cap was reached meanwhile (the
   * slot is then released), else null.
   */
  promote(): string | null;
  /** The handshake failed: penalise the source. Returns the penalty in ms. */
  penalise(): number;
  /** The connection ended: free its slot. Idempotent. */
  release(): void;
}

/** Counts connections and decides at accept; see the module doc. */
export class Admission {
  #limits: AdmissionLimits;
  #random: () => number;
  #penalties: PenaltyTable;
  #authenticated = 0;
  #unauthenticated = 0;
  #bySource = new Map<string, number>();

  /** Enforce `limits`; `opts` injects the clock and the dice. */
  constructor(limits: AdmissionLimits, opts: AdmissionOptions = {}) {
    this.#limits = limits;
    this.#random = opts.random ?? Math.random;
    this.#penalties = new PenaltyTable({
      baseMs: limits.penaltyMs,
      maxMs: limits.maxPenaltyMs,
      capacity: opts.penaltySources ?? LIMITS.penaltySources,
      now: opts.now,
    });
  }

  /** Authenticated connections now. */
  get authenticated(): number {
    return this.#authenticated;
  }

  /** Unauthenticated connections now. */
  get unauthenticated(): number {
    return this.#unauthenticated;
  }

  /** Sources the penalty table remembers. */
  get penalisedSources(): number {
    return this.#penalties.size;
  }

  /**
   * Decide on a connection from `address` (its IP): a ticket holding an
   * unauthenticated slot, or why it is refused. Checks the cheapest verdicts
   * first: a penalty, the authenticated cap, the per-source cap, then the
   * total with random early drop.
   */
  admit(address: string): AdmissionTicket | Refusal {
    const source = sourceKey(address);
    const penalty = this.#penalties.remaining(source);
    if (penalty > 0) return { refused: `penalised for ${Math.ceil(penalty)} ms more` };
    const limits = this.#limits;
    if (this.#authenticated >= limits.maxConnections) {
      return { refused: `${limits.maxConnections} connections already` };
    }
    const fromSource = this.#bySource.get(source) ?? 0;
    if (fromSource >= limits.startupsPerSource) {
      return { refused: `${fromSource} unauthenticated connections from ${source} already` };
    }
    const { start, rate, full } = limits.startups;
    const n = this.#unauthenticated;
    if (n >= full) return { refused: `${n} unauthenticated connections already` };
    if (n >= start) {
      // sshd's random early drop: rate % at start, rising linearly to 100 % at full.
      const percent = rate + (100 - rate) * (n - start) / Math.max(1, full - start);
      if (this.#random() * 100 < percent) {
        return { refused: `${n} unauthenticated connections: dropped early` };
      }
    }
    this.#unauthenticated++;
    this.#bySource.set(source, fromSource + 1);
    return this.#ticket(source);
  }

  #ticket(source: string): AdmissionTicket {
    let state: "unauthenticated" | "authenticated" | "released" = "unauthenticated";
    return {
      source,
      promote: () => {
        if (state !== "unauthenticated") return null;
        this.#dropUnauthenticated(source);
        if (this.#authenticated >= this.#limits.maxConnections) {
          state = "released";
          return `${this.#limits.maxConnections} connections already`;
        }
        this.#authenticated++;
        state = "authenticated";
        return null;
      },
      penalise: () => this.#penalties.offend(source),
      release: () => {
        if (state === "authenticated") this.#authenticated--;
        else if (state === "unauthenticated") this.#dropUnauthenticated(source);
        state = "released";
      },
    };
  }

  #dropUnauthenticated(source: string): void {
    this.#unauthenticated--;
    const left = (this.#bySource.get(source) ?? 1) - 1;
    if (left > 0) this.#bySource.set(source, left);
    else this.#bySource.delete(source);
  }
}
