/**
 * `rmon web` in a real browser (Debian's chromium, headless, through
 * `npm:puppeteer-core`): the page fed by the real web server from a
 * simulated fleet of N hosts (every row's numbers change every round, the
 * worst case for the table), measuring
 * - page load: navigation to the first full table (N rows, histories in);
 * - one update: main-thread time per table round (Chromium's own
 *   `TaskDuration` from the DevTools Performance domain, script, style,
 *   layout and paint together, over a batch of rounds);
 * - the JS heap after an hour of rounds (compressed: sent as fast as the
 *   page takes them), after a forced garbage collection.
 * Floors: the same page and server with no hosts, measured in the same run.
 * @module
 */

import type { Browser, Page } from "puppeteer-core";
import { CHROMIUM, haveChromium, launchChromium } from "../tools/chromium.ts";
import { Fleet } from "../lib/client/fleet.ts";
import type { MonitorEvent, MonitorOptions, MonitorView } from "../lib/client/web/monitor.ts";
import { SampleRing } from "../lib/client/web/ring.ts";
import type { HostRow, HostSeries } from "../lib/client/web/web_messages.ts";
import { startWebServer, type WebServer } from "../lib/client/web/web_server.ts";
import { type BenchConfig, type Figure, figure } from "./report.ts";
import { summarize } from "./stats.ts";

const MIB = 1024 * 1024;
/** Time between rounds while measuring an update: room to handle and paint one. */
const ROUND_GAP_MS = 150;

/** A fleet that exists only as numbers: N hosts, an hour of history, a round on demand. */
class SimulatedFleet implements MonitorView {
  readonly options: MonitorOptions = { intervalMs: 2_000, historyMs: 3_600_000 };
  #names: string[];
  #rows: HostRow[];
  #rings: SampleRing[];
  #listeners = new Set<(e: MonitorEvent) => void>();
  #t: number;
  #seed = 1;

  constructor(n: number) {
    this.#names = Array.from({ length: n }, (_, i) => `web${String(i + 1).padStart(4, "0")}`);
    const capacity = this.options.historyMs / this.options.intervalMs;
    this.#t = Date.now() - this.options.historyMs;
    this.#rings = this.#names.map(() => new SampleRing(capacity));
    this.#rows = this.#names.map((host, i) => ({
      host,
      address: `10.0.${i >> 8}.${i & 255}:5050`,
      groups: [i % 2 ? "web" : "db"],
      state: "up",
      reason: null,
      since: Date.now(),
      cpu: 0,
      load: 0,
      ram: 0,
      swap: null,
      disk: 50,
      uptimeSeconds: 86_400,
      os: "Debian GNU/Linux 12",
      error: null,
    }));
    // An hour already seen, as a page opened on a long-running `rmon web` gets it.
    for (let k = 0; k < capacity; k++) this.#advance();
  }

  #random(): number {
    // A small deterministic generator: runs are comparable.
    this.#seed = (this.#seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return this.#seed / 2_147_483_648;
  }

  #advance(): { host: string; cpu: number; ram: number }[] {
    this.#t += this.options.intervalMs;
    return this.#rows.map((row, i) => {
      row.cpu = Math.round(this.#random() * 1000) / 10;
      row.ram = Math.round(this.#random() * 1000) / 10;
      row.load = Math.round(this.#random() * 400) / 100;
      row.uptimeSeconds = (row.uptimeSeconds ?? 0) + 2;
      this.#rings[i]!.push({ t: this.#t, cpu: row.cpu, ram: row.ram });
      return { host: row.host, cpu: row.cpu, ram: row.ram };
    });
  }

  /** Make one round and send it to every page. */
  round(): void {
    const samples = this.#advance();
    const e: MonitorEvent = { type: "rows", t: this.#t / 1000, rows: this.rows(), samples };
    for (const l of this.#listeners) l(e);
  }

  rows(): HostRow[] {
    return this.#rows.map((r) => ({ ...r }));
  }

  series(host: string, maxPoints?: number): HostSeries | null {
    const i = this.#names.indexOf(host);
    return i < 0 ? null : { host, ...this.#rings[i]!.columns(maxPoints) };
  }

  allSeries(maxPoints: number): HostSeries[] {
    return this.#names.map((host, i) => ({ host, ...this.#rings[i]!.columns(maxPoints) }));
  }

  info(): null {
    return null;
  }

  notices(): [] {
    return [];
  }

  subscribe(listener: (e: MonitorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** A web server over a simulated fleet of `n` hosts. */
async function simulated(n: number): Promise<{ sim: SimulatedFleet; server: WebServer }> {
  const sim = new SimulatedFleet(n);
  const server = await startWebServer({
    fleet: new Fleet(),
    monitor: sim,
    listen: { hostname: "127.0.0.1", port: 0 },
    readOnly: false,
    timeoutMs: 60_000,
    waitMs: 70_000,
    log: () => {},
  });
  return { sim, server };
}

/** Open the page with a fresh token; resolves once the table has all `n` rows. Returns ms. */
async function load(
  browser: Browser,
  server: WebServer,
  n: number,
): Promise<{ page: Page; ms: number }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 720 });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const started = performance.now();
  await page.goto(`${origin}/?token=${server.sessions.renew()}`, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(
    `document.body.dataset.ready === "true" && document.body.dataset.hosts === "${n}"`,
    { timeout: 120_000, polling: "raf" },
  );
  return { page, ms: performance.now() - started };
}

/** Rounds the page has handled so far. */
async function rounds(page: Page): Promise<number> {
  return Number(await page.evaluate(`Number(document.body.dataset.rounds ?? 0)`));
}

/** Send `count` rounds; at most `window` ahead of the page, so the socket never balloons. */
async function feed(page: Page, sim: SimulatedFleet, count: number, window: number): Promise<void> {
  const base = await rounds(page);
  for (let sent = 0; sent < count;) {
    const done = (await rounds(page)) - base;
    while (sent < count && sent - done < window) {
      sim.round();
      sent++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await page.waitForFunction(`Number(document.body.dataset.rounds ?? 0) >= ${base + count}`, {
    timeout: 600_000,
  });
}

/** Main-thread ms per round over a batch of `count` rounds, each given time to paint. */
async function updateCost(page: Page, sim: SimulatedFleet, count: number): Promise<number> {
  const cdp = await page.createCDPSession();
  await cdp.send("Performance.enable");
  const task = async () => {
    const { metrics } = await cdp.send("Performance.getMetrics");
    return metrics.find((m) => m.name === "TaskDuration")!.value * 1000;
  };
  const before = await task();
  // Rounds as the client sends them, only faster: each gets time to be handled and painted;
  // the page is asked nothing until the end, so the measuring costs the page nothing.
  const target = (await rounds(page)) + count;
  for (let i = 0; i < count; i++) {
    sim.round();
    await new Promise((r) => setTimeout(r, ROUND_GAP_MS));
  }
  await page.waitForFunction(`Number(document.body.dataset.rounds ?? 0) >= ${target}`, {
    polling: 100,
  });
  const after = await task();
  await cdp.detach();
  return (after - before) / count;
}

/** The page's JS heap after a forced collection, MiB. */
async function heapMiB(page: Page): Promise<number> {
  const cdp = await page.createCDPSession();
  await cdp.send("HeapProfiler.collectGarbage");
  await cdp.send("Performance.enable");
  const { metrics } = await cdp.send("Performance.getMetrics");
  await cdp.detach();
  return metrics.find((m) => m.name === "JSHeapUsedSize")!.value / MIB;
}

/** The `web.*` figures; see the module doc. */
export async function measureWeb(
  cfg: BenchConfig,
  progress: (text: string) => void,
): Promise<Record<string, Figure>> {
  if (!haveChromium()) {
    throw new Error(
      `Cannot measure the web page: no chromium at ${CHROMIUM} (apt-get install chromium)`,
    );
  }
  const n = cfg.webHosts;
  const profile = await Deno.makeTempDir({ prefix: "rmon-bench-chromium-" });
  const browser = await launchChromium(profile);
  const big = await simulated(n);
  const empty = await simulated(0);
  try {
    progress(`web: page load and updates with ${n} simulated hosts, in chromium`);
    const loadMs = { rmon: [] as number[], floor: [] as number[] };
    const updateMs = { rmon: [] as number[], floor: [] as number[] };
    // One page at a time, in front: a page in the background gets no animation frames.
    const measureOne = async (sim: typeof big, hosts: number) => {
      const { page, ms } = await load(browser, sim.server, hosts);
      await page.bringToFront();
      const update = await updateCost(page, sim.sim, cfg.webUpdateRounds);
      await page.close();
      return { ms, update };
    };
    for (let rep = 0; rep < cfg.reps; rep++) {
      const a = await measureOne(big, n);
      const b = await measureOne(empty, 0);
      loadMs.rmon.push(a.ms);
      loadMs.floor.push(b.ms);
      updateMs.rmon.push(a.update);
      updateMs.floor.push(b.update);
    }
    progress(`web: ${cfg.webHourRounds} rounds (an hour at 2 s, compressed) for the heap`);
    const hour = async (sim: typeof big, hosts: number) => {
      const { page } = await load(browser, sim.server, hosts);
      await page.bringToFront();
      await feed(page, sim.sim, cfg.webHourRounds, 8);
      const mib = await heapMiB(page);
      await page.close();
      return mib;
    };
    const heap = { rmon: [await hour(big, n)], floor: [await hour(empty, 0)] };
    return {
      [`web.load.n${n}`]: figure(
        {
          label: `rmon web: page load to the first full table, ${n} hosts`,
          unit: "ms",
          floorLabel: "the same page with no hosts",
          note: "chromium headless, 1280×720; an hour of history per host in the first message",
        },
        summarize(loadMs.rmon),
        summarize(loadMs.floor),
      ),
      [`web.update.n${n}`]: figure(
        {
          label: `rmon web: main-thread time of one table update, ${n} hosts`,
          unit: "ms",
          floorLabel: "the same page with no hosts, same rounds",
          target: { of: "value", op: "<=", bound: 30 },
          note: `every row's numbers change; CDP TaskDuration over ${cfg.webUpdateRounds} rounds`,
        },
        summarize(updateMs.rmon),
        summarize(updateMs.floor),
      ),
      [`web.heap.hour.n${n}`]: figure(
        {
          label: `rmon web: page JS heap after ${cfg.webHourRounds} rounds, ${n} hosts`,
          unit: "MiB",
          floorLabel: "the same page with no hosts after the same rounds",
          target: { of: "value", op: "<=", bound: 100 },
          note: "after a forced garbage collection",
        },
        summarize(heap.rmon),
        summarize(heap.floor),
      ),
    };
  } finally {
    await browser.close();
    await big.server.close();
    await empty.server.close();
    await Deno.remove(profile, { recursive: true });
  }
}
