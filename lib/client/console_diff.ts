/**
 * The console's `diff COMMAND` view: what of each host's answer is compared,
 * and the text that shows how hosts differ from the majority. Metric answers
 * are reduced to a stable projection first — usage, free space and uptime
 * change by the second, so comparing them raw would flag every host. Client
 * view layer; pure.
 * @module
 */

import type { RemoteCommand } from "../grammar/command.ts";
import type { HostResult } from "./fleet.ts";
import { diffAgainstMajority, renderDiff } from "./views/diff.ts";
import { isMetric } from "./views/fanout.ts";
import { formatBytes, formatTimestamp } from "./views/format.ts";
import type { MetricMethod } from "./views/metrics.ts";
import { paint } from "./views/color.ts";
import { failureText } from "./views/summary.ts";

type Loose = Record<string, unknown>;

function record(value: unknown): Loose {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Loose : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function bytes(value: unknown): string | undefined {
  return typeof value === "number" ? formatBytes(value) : undefined;
}

/** Interface name → its address families and prefix lengths, e.g. `IPv4/24 IPv6/64`. */
function interfaces(ip: unknown): Loose {
  const byName = new Map<string, Set<string>>();
  for (const raw of list(record(ip).addresses)) {
    const a = record(raw);
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
function mounts(disk: unknown): Loose {
  const out: Loose = {};
  for (const raw of list(record(disk).mounts)) {
    const m = record(raw);
    if (typeof m.mount !== "string") continue;
    out[m.mount] = [m.fsType, bytes(m.sizeBytes)].filter((x) => typeof x === "string").join(" ");
  }
  return out;
}

/**
 * The part of a metric answer that describes the machine rather than its
 * moment, so equal machines compare equal: os → platform, release, arch, name;
 * ram → total and swap total; cpu → cores and model; name → hostname; ip →
 * interfaces with their families and prefix lengths (not the addresses, which
 * differ by design); disk → each mount's type and size; uptime → boot time to
 * the minute; info → os, ram, cpu and disk as above (name, addresses and boot
 * time differ on every host, so `diff info` leaves them out). Sizes are shown
 * as the tables show them (`15.6 GiB`), so byte-level noise does not count.
 */
export function stableProjection(method: MetricMethod, data: unknown): unknown {
  const r = record(data);
  switch (method) {
    case "os":
      return { platform: r.platform, release: r.release, arch: r.arch, name: r.name };
    case "ram":
      return { total: bytes(r.totalBytes), swapTotal: bytes(r.swapTotalBytes) };
    case "cpu":
      return { cores: r.cores, model: r.model };
    case "name":
      return { hostname: r.hostname };
    case "ip":
      return interfaces(data);
    case "disk":
      return mounts(data);
    case "uptime":
      return { boot: typeof r.bootTime === "number" ? formatTimestamp(r.bootTime) : undefined };
    case "net":
      // Rates change by the second; which interfaces there are does not.
      return list(record(data).interfaces).map((i) => record(i).name).sort();
    case "top":
      // What is busy, by program name (arguments and figures vary).
      return [...new Set(list(record(data).processes).map((p) => firstWord(record(p).command)))]
        .sort();
    case "info":
      return {
        os: stableProjection("os", r.os),
        ram: stableProjection("ram", r.ram),
        cpu: stableProjection("cpu", r.cpu),
        disk: stableProjection("disk", r.disk),
      };
    default: {
      const never: never = method;
      throw new TypeError(`Cannot project "${String(never)}": not a metric`);
    }
  }
}

/** The first word of a command line (the program), or the value itself if not a string. */
function firstWord(command: unknown): unknown {
  return typeof command === "string" ? command.split(" ")[0] : command;
}

/** Whether a host's result is an answer to compare (else it is listed as a failure). */
function answered(cmd: RemoteCommand, r: HostResult): boolean {
  return r.status === "ok" || (r.status === "nonzero" && !isMetric(cmd));
}

/**
 * What is compared of one answered host: the stable projection of a metric;
 * for exec, stdout (one trailing newline dropped, so one-line outputs read
 * bare) and the exit code or signal; for ping only the exit code, since its
 * timings always differ.
 */
export function comparedValue(cmd: RemoteCommand, r: HostResult): unknown {
  if (isMetric(cmd)) return stableProjection(cmd.kind, r.data);
  const end = r.signal ? { signal: r.signal } : { exitCode: r.exitCode ?? null };
  if (cmd.kind === "ping") return end;
  return { ...end, stdout: (r.stdout ?? "").replace(/\r?\n$/, "") };
}

/**
 * The `diff` answer: `All 5 hosts agree: web[1-5]`, or one line per field on
 * which some hosts differ from the majority (`os.release: 6.1.0 (web[1-4]) vs
 * 5.10.0 (db1)`), then one line per host that did not answer, with why.
 */
export function renderCommandDiff(
  cmd: RemoteCommand,
  results: readonly HostResult[],
  color: boolean,
): string {
  const values = results.filter((r) => answered(cmd, r))
    .map((r) => ({ host: r.host, value: comparedValue(cmd, r) }));
  // Metric fields read `os.release`; an info projection already nests by metric.
  const root = isMetric(cmd) && cmd.kind !== "info" ? cmd.kind : "";
  const parts = values.length > 0 ? [renderDiff(diffAgainstMajority(values), color, root)] : [];
  for (const r of results) {
    if (!answered(cmd, r)) {
      parts.push(paint(color, "red", `${r.host}: ${failureText(r)}`));
    }
  }
  if (parts.length === 0) return "No hosts to compare";
  return parts.join("\n");
}
