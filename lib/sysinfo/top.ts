/**
 * System-info layer: `top [N]`, the processes using the most processor (then
 * memory): pid, user, CPU percent over a short sample, resident memory and
 * command line. Linux only (/proc/PID/stat, status, cmdline); `unavailable`
 * elsewhere. Parsers are pure and tested on captured text.
 * @module
 */

import { delay } from "../async.ts";
import type { ProcessUsage, TopInfo } from "../protocol/messages.ts";
import { readProc, requireLinux } from "./_proc.ts";

/** Length of the CPU sample. */
export const TOP_SAMPLE_MS = 200;

/**
 * Clock ticks per second of /proc/PID/stat times (USER_HZ). It is 100 on
 * every Linux architecture in use; reading sysconf would need FFI.
 */
const USER_HZ = 100;

/** From /proc/PID/stat: the short command name and CPU time used, in ticks. */
export interface StatLine {
  pid: number;
  comm: string;
  ticks: number;
}

/**
 * Parse /proc/PID/stat. The command name is in parentheses and may itself
 * hold spaces and parentheses, so fields are counted after the last `)`:
 * utime and stime are fields 14 and 15. Null for text that does not parse.
 */
export function parseStat(text: string): StatLine | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isInteger(pid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { pid, comm: text.slice(open + 1, close), ticks: utime + stime };
}

/** From /proc/PID/status: the real uid and the resident set size in bytes (0 for kernel threads). */
export function parseStatus(text: string): { uid: number; rssBytes: number } {
  const uid = Number(/^Uid:\s+(\d+)/m.exec(text)?.[1] ?? NaN);
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(text)?.[1] ?? 0);
  return { uid, rssBytes: rssKb * 1024 };
}

/** User names by uid, from /etc/passwd text. Pure. */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    const [name, , uid] = line.split(":");
    if (name && uid !== undefined && /^\d+$/.test(uid) && !out.has(Number(uid))) {
      out.set(Number(uid), name);
    }
  }
  return out;
}

/** The command line from /proc/PID/cmdline (NUL-separated), or `[comm]` for kernel threads. */
export function commandLine(cmdline: string | null, comm: string): string {
  const words = (cmdline ?? "").split("\0").filter((w) => w !== "");
  return words.length > 0 ? words.join(" ") : `[${comm}]`;
}

async function snapshot(): Promise<Map<number, StatLine>> {
  const out = new Map<number, StatLine>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = parseStat(await readProc(`/proc/${entry.name}/stat`) ?? "");
    if (stat) out.set(stat.pid, stat);
  }
  return out;
}

/** Longest command line sent, in characters; longer ones are cut with `…`. */
const MAX_COMMAND_CHARS = 200;

/** The `count` processes using the most CPU over a short sample (then the most memory). */
export async function topProcesses(count: number, signal?: AbortSignal): Promise<TopInfo> {
  requireLinux("the process list");
  const before = await snapshot();
  const started = performance.now();
  await delay(TOP_SAMPLE_MS, signal);
  const after = await snapshot();
  const ms = performance.now() - started;
  const users = parsePasswd(await readProc("/etc/passwd") ?? "");
  const rows: { stat: StatLine; cpuPercent: number; uid: number; rssBytes: number }[] = [];
  for (const stat of after.values()) {
    const then = before.get(stat.pid);
    const status = await readProc(`/proc/${stat.pid}/status`);
    if (status === null) continue; // ended meanwhile
    const { uid, rssBytes } = parseStatus(status);
    const ticks = then ? Math.max(0, stat.ticks - then.ticks) : 0;
    rows.push({ stat, cpuPercent: ticks / USER_HZ * 1000 / ms * 100, uid, rssBytes });
  }
  rows.sort((a, b) => b.cpuPercent - a.cpuPercent || b.rssBytes - a.rssBytes);
  const processes: ProcessUsage[] = [];
  for (const row of rows.slice(0, count)) {
    const line = commandLine(await readProc(`/proc/${row.stat.pid}/cmdline`), row.stat.comm);
    processes.push({
      pid: row.stat.pid,
      user: users.get(row.uid) ?? String(row.uid),
      cpuPercent: Math.round(row.cpuPercent * 10) / 10,
      rssBytes: row.rssBytes,
      command: line.length > MAX_COMMAND_CHARS ? line.slice(0, MAX_COMMAND_CHARS - 1) + "…" : line,
    });
  }
  return { sampleMs: Math.round(ms), processes };
}
