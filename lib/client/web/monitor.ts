/**
 * The live side of `rmon web`: one `info` call per connected host every
 * interval, the latest numbers per host as table rows, a bounded history per
 * host for the charts, and lost/back notices from the links' state changes.
 * Client web layer; it owns no sockets of its own (the fleet does) and knows
 * nothing of HTTP (the server turns its events into messages).
 * @module
 */

import { WATCH_FANOUT } from "../console_watch.ts";
import { deadline } from "../../async.ts";
import type { HostResult } from "../fleet.ts";
import type { Fleet } from "../fleet_api.ts";
import type { FleetMember } from "../fleet_api.ts";
import type { CpuInfo, DiskInfo, FullInfo, RamInfo } from "../../protocol/messages.ts";
import { formatDuration } from "../views/format.ts";
import { rootDisk } from "../views/metrics.ts";
import { failureText } from "../views/summary.ts";
import { SampleRing } from "./ring.ts";
import type { HostRow, HostSeries, ServerMessage } from "./web_messages.ts";

/** Settings of a monitor; all in milliseconds. */
export interface MonitorOptions {
  /** Time between rounds (default 2000). */
  intervalMs: number;
  /** How far back the charts look (default one hour). */
  historyMs: number;
  /** The longest a round waits for a host (default: the interval, at least 2 s). */
  waitMs?: number;
}

/** The defaults: a round every 2 s, an hour of history. */
export const DEFAULT_MONITOR: MonitorOptions = { intervalMs: 2_000, historyMs: 3_600_000 };

/** How many notices a monitor keeps for pages that open later. */
export const MAX_NOTICES = 50;

/** What a monitor reports: a finished round, or a notice. */
export type MonitorEvent = Extract<ServerMessage, { type: "rows" } | { type: "notice" }>;

/** A number when it is one, else null (answers are checked, but a field may be NaN). */
function finite(value: number | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Swap in use, percent of swap; null without swap. */
function swapPercent(ram: RamInfo): number | null {
  if (!(ram.swapTotalBytes > 0)) return null;
  return ((ram.swapTotalBytes - ram.swapFreeBytes) / ram.swapTotalBytes) * 100;
}

/**
 * What the web server reads of a monitor: its settings, rows, histories and
 * events. The benchmark feeds a page from a simulated one of these.
 */
export type MonitorView = Pick<
  FleetMonitor,
  "options" | "rows" | "series" | "allSeries" | "info" | "subscribe" | "notices"
>;

/** The latest answer per host, its history, and the link-state bookkeeping; see the module doc. */
export class FleetMonitor {
  #fleet: Fleet;
  #opts: MonitorOptions;
  #latest = new Map<string, { info: FullInfo | null; error: string | null }>();
  #rings = new Map<string, SampleRing>();
  #listeners = new Set<(e: MonitorEvent) => void>();
  /** Whether each host was last seen up (for lost/back notices). */
  #wasUp = new Map<string, boolean>();
  /** When each host went down, so `since` and "back after" span its retries. */
  #downSince = new Map<string, number>();
  /** The latest notices, oldest first, for a page that opens later. */
  #notices: Extract<MonitorEvent, { type: "notice" }>[] = [];
  #stop = new AbortController();
  #loop: Promise<void> | null = null;

  /** Where an unexpected error of a round or a listener goes; the rounds go on. */
  #onError: (err: unknown) => void;

  /**
   * A monitor of `fleet`; nothing runs before {@linkcode FleetMonitor.start}.
   * `onError` hears unexpected errors (default: none are expected, so they are rethrown
   * out of the rounds' loop, which would end the process: pass a logger).
   */
  constructor(
    fleet: Fleet,
    opts: Partial<MonitorOptions> = {},
    onError: (err: unknown) => void = (err) => {
      throw err;
    },
  ) {
    this.#fleet = fleet;
    this.#onError = onError;
    this.#opts = { ...DEFAULT_MONITOR, ...opts };
    if (!(this.#opts.intervalMs >= 100)) {
      throw new RangeError(`Invalid interval ${this.#opts.intervalMs} ms: at least 100 ms`);
    }
  }

  /** The settings in use. */
  get options(): Readonly<MonitorOptions> {
    return this.#opts;
  }

  /** How many samples each host's history keeps: the history span over the interval. */
  get capacity(): number {
    return Math.max(2, Math.ceil(this.#opts.historyMs / this.#opts.intervalMs));
  }

  /** Hear every round and notice; returns a function that stops listening. */
  subscribe(listener: (e: MonitorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Start the rounds (the first at once). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stop the rounds; resolves once the round in flight is over. */
  async stop(): Promise<void> {
    this.#stop.abort("rmon web is stopping");
    await this.#loop;
  }

  /** A link changed state: note it, and tell listeners when a host was lost or came back. */
  linkChanged(link: FleetMember): void {
    const status = link.status();
    const name = link.name;
    if (status.state === "connecting") return;
    if (status.state === "closed") {
      this.#wasUp.delete(name);
      this.#downSince.delete(name);
      return;
    }
    const up = status.state === "up";
    const before = this.#wasUp.get(name);
    if (before === up) return;
    this.#wasUp.set(name, up);
    const at = Date.now();
    if (!up) {
      this.#downSince.set(name, status.since);
      const reason = status.reason ?? status.state;
      const text = before === undefined
        ? `Cannot connect to ${name}: ${reason}`
        : `${name} lost: ${reason}`;
      this.#emit({ type: "notice", level: "lost", host: name, text, at });
    } else if (before === false) {
      const since = this.#downSince.get(name);
      this.#downSince.delete(name);
      const after = since === undefined ? "" : ` after ${formatDuration(at - since)}`;
      this.#emit({
        type: "notice",
        level: "back",
        host: name,
        text: `${name} is back${after}`,
        at,
      });
    }
  }

  /** The latest notices (at most {@linkcode MAX_NOTICES}), oldest first. */
  notices(): Extract<MonitorEvent, { type: "notice" }>[] {
    return [...this.#notices];
  }

  /** Every host's row, in fleet order. */
  rows(): HostRow[] {
    return this.#fleet.links.map((link) => this.#row(link));
  }

  /** A host's history, thinned to `maxPoints`; null for a host not in the fleet. */
  series(host: string, maxPoints?: number): HostSeries | null {
    if (this.#fleet.get(host) === undefined) return null;
    const ring = this.#rings.get(host);
    const cols = ring ? ring.columns(maxPoints) : { t: [], cpu: [], ram: [] };
    return { host, ...cols };
  }

  /** Every host's history, thinned for the small charts. */
  allSeries(maxPoints: number): HostSeries[] {
    return this.#fleet.links.map((l) => this.series(l.name, maxPoints)!);
  }

  /** A host's latest full `info` answer, or null. */
  info(host: string): FullInfo | null {
    return this.#latest.get(host)?.info ?? null;
  }

  #row(link: FleetMember): HostRow {
    const s = link.status();
    const latest = this.#latest.get(link.name);
    const up = s.state === "up";
    // Numbers only for a host that is up: a lost host's last answer would read as current.
    const info = up ? latest?.info ?? null : null;
    const cpu: CpuInfo | undefined = info?.cpu;
    const disk: DiskInfo | undefined = info?.disk;
    return {
      host: link.name,
      address: s.address,
      groups: link.groups,
      state: s.state,
      reason: s.reason,
      since: up ? s.since : this.#downSince.get(link.name) ?? s.since,
      cpu: finite(cpu?.usagePercent),
      load: finite(cpu?.loadAvg[0]),
      ram: finite(info?.ram.usedPercent),
      swap: info ? swapPercent(info.ram) : null,
      disk: disk ? finite(rootDisk(disk)) : null,
      uptimeSeconds: finite(info?.uptime.uptimeSeconds),
      os: info ? `${info.os.name} ${info.os.release}`.trim() : s.os,
      error: up ? latest?.error ?? null : null,
    };
  }

  #emit(e: MonitorEvent): void {
    if (e.type === "notice") {
      this.#notices.push(e);
      if (this.#notices.length > MAX_NOTICES) this.#notices.shift();
    }
    for (const listener of this.#listeners) {
      try {
        listener(e);
      } catch (err) {
        // One broken page must not stop the rounds for the others.
        this.#listeners.delete(listener);
        this.#onError(err);
      }
    }
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const stopped = new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve(), { once: true })
    );
    const waitMs = this.#opts.waitMs ?? Math.max(2_000, this.#opts.intervalMs);
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const names = this.#fleet.links.filter((l) => l.state === "up").map((l) => l.name);
        // As many at once as `watch` asks, for the same reason (each answer waits ~0.1 s
        // for its server's sample): at --fanout 64, 10,000 hosts would take ~16 s a round.
        const results = names.length === 0 ? [] : await this.#fleet.run(names, { kind: "info" }, {
          signal,
          waitMs,
          collectOutput: false,
          fanout: WATCH_FANOUT,
        });
        if (signal.aborted) break;
        this.#record(started, results);
      } catch (err) {
        // A round that failed in an unexpected way is reported; the next one still comes.
        this.#onError(err);
      }
      // The next round starts one interval after this one started, or at once if it overran.
      const rest = this.#opts.intervalMs - (Date.now() - started);
      if (rest > 0) await deadline(stopped, rest, () => {});
    }
  }

  /** Keep a round's answers, add a sample per host (a gap for no answer), tell listeners. */
  #record(started: number, results: readonly HostResult[]): void {
    const byHost = new Map(results.map((r) => [r.host, r]));
    const samples: { host: string; cpu: number | null; ram: number | null }[] = [];
    for (const link of this.#fleet.links) {
      const r = byHost.get(link.name);
      let cpu: number | null = null;
      let ram: number | null = null;
      if (r?.status === "ok") {
        const info = r.data as unknown as FullInfo;
        this.#latest.set(link.name, { info, error: null });
        cpu = finite(info.cpu.usagePercent);
        ram = finite(info.ram.usedPercent);
      } else if (r) {
        const before = this.#latest.get(link.name);
        this.#latest.set(link.name, { info: before?.info ?? null, error: failureText(r) });
      }
      let ring = this.#rings.get(link.name);
      if (!ring) {
        ring = new SampleRing(this.capacity);
        this.#rings.set(link.name, ring);
      }
      ring.push({ t: started, cpu: cpu ?? Number.NaN, ram: ram ?? Number.NaN });
      samples.push({ host: link.name, cpu, ram });
    }
    // Hosts that left the fleet take their history with them.
    for (const name of this.#rings.keys()) {
      if (this.#fleet.get(name) === undefined) this.#rings.delete(name);
    }
    this.#emit({ type: "rows", t: started / 1000, rows: this.rows(), samples });
  }
}
