/**
 * Per-host metric views: one table for a metric across many hosts, one row
 * per host (per mount for `disk`, per address for `ip`). Client view layer;
 * pure. Results come from the wire, so every field is read defensively: a
 * missing or mistyped field shows as `-` rather than throwing.
 * @module
 */

import type {
  CpuInfo,
  DiskInfo,
  FullInfo,
  InterfaceAddress,
  InterfaceTraffic,
  IpInfo,
  MountUsage,
  NameInfo,
  NetInfo,
  OsInfo,
  ProcessUsage,
  RamInfo,
  TopInfo,
  UptimeInfo,
} from "../../protocol/messages.ts";
import type { MetricKind } from "../../grammar/remote_table.ts";
import type { LoadInfo } from "../../grammar/commands/load.ts";
import { paint } from "./color.ts";
import { formatBytes, formatPercent, formatTimestamp, formatUptime, MISSING } from "./format.ts";
import { type Column, renderTable } from "./table.ts";
import { escapeControls } from "./escape_controls.ts";

/** The metric methods these views can show: every metric command. */
export type MetricMethod = MetricKind;

/** One host's answer: a result, or the error that stopped it. */
export interface MetricRow {
  host: string;
  result?: unknown;
  error?: string;
}

/** A result read field by field; absent or mistyped fields are undefined. */
type Loose<T> = { [K in keyof T]?: unknown };

function record<T>(value: unknown): Loose<T> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Loose<T>
    : {};
}

function num(value: unknown): number {
  return typeof value === "number" ? value : Number.NaN;
}

/** A server's text for a cell; its control characters (a process may name itself with escapes) shown escaped. */
function str(value: unknown): string {
  return typeof value === "string" && value !== "" ? escapeControls(value) : MISSING;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A usage percentage, yellow from 75% and red from 90% so full hosts stand out. */
export function usage(percent: number, color: boolean): string {
  const text = formatPercent(percent);
  if (percent >= 90) return paint(color, "red", text);
  if (percent >= 75) return paint(color, "yellow", text);
  return text;
}

function load(value: unknown): string {
  const avg = list(value);
  if (avg.length !== 3) return MISSING;
  return avg.map((x) => (typeof x === "number" ? x.toFixed(2) : MISSING)).join(" ");
}

/**
 * A load average per core, yellow from 0.7 and red from 1 (more runnable
 * tasks than cores), Glances' "careful" and "warning" levels.
 */
function perCoreLoad(value: number, color: boolean): string {
  const text = value.toFixed(2);
  if (value >= 1) return paint(color, "red", text);
  if (value >= 0.7) return paint(color, "yellow", text);
  return text;
}

/** A count per second: whole numbers, `-` when unknown. */
function rate(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value)) : MISSING;
}

const LEFT = (title: string): Column => ({ title });
const RIGHT = (title: string): Column => ({ title, align: "right" });
/** A text column that wraps its cells when the table is too wide for the screen. */
const WRAP = (title: string): Column => ({ title, shrink: "wrap" });

/**
 * Everything the client shows of one metric: the table's columns and row
 * builder (a host may yield several rows), and what `diff` compares.
 */
interface View {
  columns: Column[];
  rows(result: unknown, color: boolean): string[][];
  /**
   * The part of an answer that describes the machine rather than its moment,
   * so equal machines compare equal (usage, free space and uptime change by
   * the second). Sizes are shown as the tables show them (`15.6 GiB`), so
   * byte-level noise does not count.
   */
  stable(result: unknown): unknown;
}

/** A byte count as tables show it, or undefined when it is not a number. */
function bytes(value: unknown): string | undefined {
  return typeof value === "number" ? formatBytes(value) : undefined;
}

/** Interface name → its address families and prefix lengths, e.g. `IPv4/24 IPv6/64`. */
function interfaceFamilies(ip: unknown): Record<string, string> {
  const byName = new Map<string, Set<string>>();
  for (const raw of list(record<IpInfo>(ip).addresses)) {
    const a = record<InterfaceAddress>(raw);
    if (typeof a.name !== "string") continue;
    const prefix = typeof a.cidr === "string" && a.cidr.includes("/")
      ? a.cidr.slice(a.cidr.lastIndexOf("/"))
      : "";
    const set = byName.get(a.name) ?? new Set<string>();
    set.add(`${String(a.family)}${prefix}`);
    byName.set(a.name, set);
  }
  return Object.fromEntries([...byName].map(([name, set]) => [name, [...set].sort().join(" ")]));
}

/** Mount point → `fsType size`, the part of a mount that does not change while it runs. */
function mountSizes(disk: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of list(record<DiskInfo>(disk).mounts)) {
    const m = record<MountUsage>(raw);
    if (typeof m.mount !== "string") continue;
    out[m.mount] = [m.fsType, bytes(m.sizeBytes)].filter((x) => typeof x === "string").join(" ");
  }
  return out;
}

/** The first word of a command line (the program), or the value itself if not a string. */
function firstWord(command: unknown): unknown {
  return typeof command === "string" ? command.split(" ")[0] : command;
}

function ramCells(value: unknown, color: boolean): string[] {
  const ram = record<RamInfo>(value);
  const total = num(ram.totalBytes);
  const swapTotal = num(ram.swapTotalBytes);
  const swap = swapTotal === 0
    ? "none"
    : `${formatBytes(swapTotal - num(ram.swapFreeBytes))} / ${formatBytes(swapTotal)}`;
  return [
    usage(num(ram.usedPercent), color),
    formatBytes(total - num(ram.availableBytes)),
    formatBytes(total),
    formatBytes(num(ram.availableBytes)),
    swap,
  ];
}

/** The root file system's usage: `/`, else `C:\`, else the first mount. */
export function rootDisk(value: unknown): number {
  const mounts = list(record<DiskInfo>(value).mounts).map((m) => record<MountUsage>(m));
  const root = mounts.find((m) => m.mount === "/") ??
    mounts.find((m) => typeof m.mount === "string" && /^[A-Za-z]:\\?$/.test(m.mount)) ??
    mounts[0];
  return num(root?.usedPercent);
}

const VIEWS: Readonly<Record<MetricMethod, View>> = {
  ram: {
    stable: (r) => {
      const ram = record<RamInfo>(r);
      return { total: bytes(ram.totalBytes), swapTotal: bytes(ram.swapTotalBytes) };
    },
    columns: [
      LEFT("HOST"),
      RIGHT("USE%"),
      RIGHT("USED"),
      RIGHT("TOTAL"),
      RIGHT("AVAILABLE"),
      RIGHT("SWAP"),
    ],
    rows: (r, color) => [ramCells(r, color)],
  },
  load: {
    columns: [LEFT("HOST"), RIGHT("CORES"), LEFT("LOAD (1/5/15)"), LEFT("PER CORE (1/5/15)")],
    // Load changes by the second; the cores it spreads over do not.
    stable: (r) => ({ cores: record<LoadInfo>(r).cores }),
    rows: (r, color) => {
      const info = record<LoadInfo>(r);
      const cores = num(info.cores);
      const avg = list(info.loadAvg);
      const perCore = avg.length === 3 && cores > 0
        ? avg.map((x) => (typeof x === "number" ? perCoreLoad(x / cores, color) : MISSING))
          .join(" ")
        : MISSING;
      return [[Number.isFinite(cores) ? String(cores) : MISSING, load(info.loadAvg), perCore]];
    },
  },
  cpu: {
    stable: (r) => {
      const cpu = record<CpuInfo>(r);
      return { cores: cpu.cores, model: cpu.model };
    },
    columns: [LEFT("HOST"), RIGHT("CPU%"), RIGHT("CORES"), LEFT("LOAD (1/5/15)"), WRAP("MODEL")],
    rows: (r, color) => {
      const cpu = record<CpuInfo>(r);
      const cores = num(cpu.cores);
      return [[
        usage(num(cpu.usagePercent), color),
        Number.isFinite(cores) ? String(cores) : MISSING,
        load(cpu.loadAvg),
        str(cpu.model),
      ]];
    },
  },
  os: {
    stable: (r) => {
      const os = record<OsInfo>(r);
      return { platform: os.platform, release: os.release, arch: os.arch, name: os.name };
    },
    columns: [LEFT("HOST"), LEFT("PLATFORM"), WRAP("RELEASE"), LEFT("ARCH"), WRAP("NAME")],
    rows: (r) => {
      const os = record<OsInfo>(r);
      return [[str(os.platform), str(os.release), str(os.arch), str(os.name)]];
    },
  },
  name: {
    stable: (r) => ({ hostname: record<NameInfo>(r).hostname }),
    columns: [LEFT("HOST"), WRAP("HOSTNAME")],
    rows: (r) => [[str(record<NameInfo>(r).hostname)]],
  },
  ip: {
    stable: interfaceFamilies,
    columns: [LEFT("HOST"), LEFT("IFACE"), WRAP("ADDRESS")],
    rows: (r) => {
      const all = list(record<IpInfo>(r).addresses).map((a) => record<InterfaceAddress>(a));
      // Loopback is the same everywhere; show it only when a host has nothing else.
      const external = all.filter((a) => a.internal !== true);
      const shown = external.length > 0 ? external : all;
      if (shown.length === 0) return [["(no addresses)"]];
      return shown.map((a) => [str(a.name), str(typeof a.cidr === "string" ? a.cidr : a.address)]);
    },
  },
  disk: {
    stable: mountSizes,
    columns: [
      LEFT("HOST"),
      WRAP("MOUNT"),
      RIGHT("SIZE"),
      RIGHT("USED"),
      RIGHT("FREE"),
      RIGHT("USE%"),
    ],
    rows: (r, color) => {
      const mounts = list(record<DiskInfo>(r).mounts).map((m) => record<MountUsage>(m));
      if (mounts.length === 0) return [["(no mounts)"]];
      return mounts.map((m) => [
        str(m.mount),
        formatBytes(num(m.sizeBytes)),
        formatBytes(num(m.usedBytes)),
        formatBytes(num(m.freeBytes)),
        usage(num(m.usedPercent), color),
      ]);
    },
  },
  uptime: {
    stable: (r) => {
      const boot = record<UptimeInfo>(r).bootTime;
      return { boot: typeof boot === "number" ? formatTimestamp(boot) : undefined };
    },
    columns: [LEFT("HOST"), RIGHT("UPTIME"), LEFT("BOOT")],
    rows: (r) => {
      const up = record<UptimeInfo>(r);
      return [[formatUptime(num(up.uptimeSeconds)), formatTimestamp(num(up.bootTime))]];
    },
  },
  net: {
    // Rates change by the second; which interfaces there are does not.
    stable: (r) =>
      list(record<NetInfo>(r).interfaces).map((i) => record<InterfaceTraffic>(i).name).sort(),
    columns: [
      LEFT("HOST"),
      LEFT("IFACE"),
      RIGHT("RX/s"),
      RIGHT("TX/s"),
      RIGHT("RX PKT/s"),
      RIGHT("TX PKT/s"),
      RIGHT("ERRORS"),
      RIGHT("DROPS"),
    ],
    rows: (r, color) => {
      const all = list(record<NetInfo>(r).interfaces).map((i) => record<InterfaceTraffic>(i));
      // Loopback carries rmon's own traffic on a test machine; show it only when alone.
      const external = all.filter((i) => i.name !== "lo");
      const shown = external.length > 0 ? external : all;
      if (shown.length === 0) return [["(no interfaces)"]];
      return shown.map((i) => {
        const errors = num(i.rxErrors) + num(i.txErrors);
        return [
          str(i.name),
          `${formatBytes(num(i.rxBytesPerSec))}`,
          `${formatBytes(num(i.txBytesPerSec))}`,
          rate(num(i.rxPacketsPerSec)),
          rate(num(i.txPacketsPerSec)),
          errors > 0
            ? paint(color, "red", String(errors))
            : Number.isFinite(errors)
            ? "0"
            : MISSING,
          Number.isFinite(num(i.rxDrops) + num(i.txDrops))
            ? String(num(i.rxDrops) + num(i.txDrops))
            : MISSING,
        ];
      });
    },
  },
  top: {
    // What is busy, by program name (arguments and figures vary).
    stable: (r) =>
      [
        ...new Set(
          list(record<TopInfo>(r).processes).map((p) => firstWord(record<ProcessUsage>(p).command)),
        ),
      ].sort(),
    columns: [
      LEFT("HOST"),
      RIGHT("PID"),
      { title: "USER", shrink: "cut" },
      RIGHT("CPU%"),
      RIGHT("RSS"),
      // One line per process, as top shows it; --json has the whole command line.
      { title: "COMMAND", shrink: "cut", min: 16 },
    ],
    rows: (r) => {
      const procs = list(record<TopInfo>(r).processes).map((p) => record<ProcessUsage>(p));
      if (procs.length === 0) return [["(no processes)"]];
      return procs.map((p) => [
        Number.isFinite(num(p.pid)) ? String(num(p.pid)) : MISSING,
        str(p.user),
        Number.isFinite(num(p.cpuPercent)) ? num(p.cpuPercent).toFixed(1) : MISSING,
        formatBytes(num(p.rssBytes)),
        str(p.command),
      ]);
    },
  },
  info: {
    // Name, addresses and boot time differ on every host, so `diff info` leaves them out.
    stable: (r) => {
      const info = record<FullInfo>(r);
      return {
        os: VIEWS.os.stable(info.os),
        ram: VIEWS.ram.stable(info.ram),
        cpu: VIEWS.cpu.stable(info.cpu),
        disk: VIEWS.disk.stable(info.disk),
      };
    },
    columns: [
      LEFT("HOST"),
      WRAP("OS"),
      RIGHT("CPU%"),
      RIGHT("RAM%"),
      RIGHT("LOAD"),
      RIGHT("DISK%"),
      RIGHT("UPTIME"),
    ],
    rows: (r, color) => {
      const info = record<FullInfo>(r);
      const os = record<OsInfo>(info.os);
      const osName = typeof os.name === "string" && os.name !== ""
        ? os.name
        : [os.platform, os.release].filter((x) => typeof x === "string").join(" ");
      const load1 = list(record<CpuInfo>(info.cpu).loadAvg)[0];
      return [[
        osName === "" ? MISSING : osName,
        usage(num(record<CpuInfo>(info.cpu).usagePercent), color),
        usage(num(record<RamInfo>(info.ram).usedPercent), color),
        typeof load1 === "number" ? load1.toFixed(2) : MISSING,
        usage(rootDisk(info.disk), color),
        formatUptime(num(record<UptimeInfo>(info.uptime).uptimeSeconds)),
      ]];
    },
  },
};

/**
 * One table of a metric across hosts, rows in the order given. Columns by
 * method: ram → HOST, USE%, USED, TOTAL, AVAILABLE, SWAP; cpu → HOST, CPU%,
 * CORES, LOAD (1/5/15), MODEL; load → HOST, CORES, LOAD (1/5/15), PER CORE
 * (1/5/15); os → HOST, PLATFORM, RELEASE, ARCH, NAME;
 * name → HOST, HOSTNAME; ip → HOST, IFACE, ADDRESS (one row per non-loopback
 * address); disk → HOST, MOUNT, SIZE, USED, FREE, USE% (one row per mount);
 * uptime → HOST, UPTIME, BOOT (UTC); net → HOST, IFACE, RX/s, TX/s, RX PKT/s,
 * TX PKT/s, ERRORS, DROPS (one row per interface, loopback only when alone);
 * top → HOST, PID, USER, CPU%, RSS, COMMAND (one row per process);
 * info → HOST, OS, CPU%, RAM%, LOAD (1 min),
 * DISK% (root), UPTIME. A failed host is one row with its error spanning the
 * columns (red when `color`). Given a `width` (the terminal's, or 80), text
 * columns wrap to fit it, and a table that still does not fit is shown as a
 * vertical list, one block per row.
 */
export function renderMetricTable(
  method: MetricMethod,
  rows: readonly MetricRow[],
  color: boolean,
  width?: number,
): string {
  const view = VIEWS[method];
  const body: string[][] = [];
  for (const row of rows) {
    if (row.error !== undefined) {
      body.push([row.host, paint(color, "red", `error: ${row.error}`)]);
      continue;
    }
    for (const cells of view.rows(row.result, color)) body.push([row.host, ...cells]);
  }
  return renderTable(view.columns, body, { color, width });
}

/**
 * What `diff` compares of a metric answer (see each view's `stable`): os →
 * platform, release, arch, name; ram → total and swap total; cpu → cores and
 * model; load → cores; name → hostname; ip → interfaces with their families and prefix
 * lengths (not the addresses, which differ by design); disk → each mount's
 * type and size; uptime → boot time to the minute; net → the interface
 * names; top → the program names; info → os, ram, cpu and disk as above.
 */
export function stableProjection(method: MetricMethod, data: unknown): unknown {
  return VIEWS[method].stable(data);
}
