/**
 * `diff COMMAND`, in the console and in one-shot mode: what of each host's
 * answer is compared, the text that shows how hosts differ from the most
 * common answer (a unified diff for exec output), and the `--json` records. Metric answers
 * are reduced to a stable projection first (each metric's view says which) —
 * usage, free space and uptime change by the second, so comparing them raw
 * would flag every host. Client view layer; pure.
 * @module
 */

import type { RemoteCommand } from "../grammar/command.ts";
import type { HostResult } from "./fleet.ts";
import {
  diffAgainstMajority,
  differingFields,
  flattenValue,
  leafText,
  renderDiff,
  type ValueGroup,
} from "./views/diff.ts";
import { compactHosts } from "./hostlist.ts";
import { escapeControls } from "./views/escape_controls.ts";
import { splitLines, unifiedHunks } from "./views/line_diff.ts";
import { EXIT_CODES } from "../usage.ts";
import { isMetric } from "./views/fanout.ts";
import { stableProjection } from "./views/metrics.ts";
import { paint } from "./views/color.ts";
import { exitCodeFor, failureText } from "./views/summary.ts";

// What a metric's diff compares is part of its view (views/metrics.ts), so a
// new metric cannot be shown without saying what of it `diff` compares.
export { stableProjection };

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
  const stdout = (r.stdout ?? "").replace(/\r?\n$/, "");
  // A shortened output is its start plus the hash of the whole: equal starts of different
  // outputs stay apart.
  return r.outputShortened ? { ...end, stdout, digest: r.outputDigest } : { ...end, stdout };
}

/** Exec's compared value, as {@linkcode comparedValue} builds it. */
interface ExecValue {
  exitCode?: number | null;
  signal?: string;
  stdout: string;
}

/** The answers grouped: identical ones together, the most common first; and the hosts that failed. */
export interface AnswerGroups {
  /** Largest first (ties: first seen); the first is what the others are compared with. */
  groups: ValueGroup[];
  /** Hosts that did not answer, with the same status and reason folded. */
  failed: { hosts: string[]; status: HostResult["status"]; error: string }[];
}

/** Group the hosts' answers to `cmd` by compared value; see {@linkcode comparedValue}. */
export function groupAnswers(cmd: RemoteCommand, results: readonly HostResult[]): AnswerGroups {
  const values = results.filter((r) => answered(cmd, r))
    .map((r) => ({ host: r.host, value: comparedValue(cmd, r) }));
  const { majority, outliers } = diffAgainstMajority(values);
  const failed = new Map<string, AnswerGroups["failed"][number]>();
  for (const r of results) {
    if (answered(cmd, r)) continue;
    const error = failureText(r);
    const key = `${r.status}\0${error}`;
    const group = failed.get(key);
    if (group) group.hosts.push(r.host);
    else failed.set(key, { hosts: [r.host], status: r.status, error });
  }
  return {
    groups: majority.hosts.length > 0 ? [majority, ...outliers] : [],
    failed: [...failed.values()],
  };
}

/** The end of an exec or ping (exit code or signal) in words. */
function endText(v: ExecValue): string {
  return v.signal ? `killed by ${v.signal}` : `exit code ${v.exitCode ?? "?"}`;
}

/**
 * The unified diff of an outlier's stdout against the most common one: `---`
 * naming the common hosts, `+++` the outlier's, then the hunks; empty when
 * the outputs are the same. Lines are shown with control characters escaped.
 */
export function stdoutDiff(
  common: ValueGroup,
  other: ValueGroup,
  color: boolean,
): string[] {
  const hunks = unifiedHunks(
    splitLines((common.value as ExecValue).stdout),
    splitLines((other.value as ExecValue).stdout),
  );
  if (hunks.length === 0) return [];
  const paintLine = (line: string) => {
    const safe = escapeControls(line);
    if (line.startsWith("@@")) return paint(color, "dim", safe);
    if (line.startsWith("-")) return paint(color, "red", safe);
    if (line.startsWith("+")) return paint(color, "green", safe);
    return safe;
  };
  return [
    paint(color, "bold", `--- ${compactHosts(common.hosts)} (most common)`),
    paint(color, "bold", `+++ ${compactHosts(other.hosts)}`),
    ...hunks.map(paintLine),
  ];
}

/**
 * The common answer's lines when all hosts agree: a metric's fields (`  os.release:
 * 6.1.0`), or exec's output as printed (and how it ended, when not with 0).
 */
function commonLines(cmd: RemoteCommand, group: ValueGroup, root: string): string[] {
  if (cmd.kind === "exec" || cmd.kind === "ping") {
    const v = group.value as ExecValue;
    const out = cmd.kind === "exec" ? splitLines(v.stdout).map((l) => escapeControls(l)) : [];
    return v.exitCode === 0 ? out : [...out, endText(v)];
  }
  return [...flattenValue(group.value, root)].map(([path, value]) =>
    `  ${path === "" ? "value" : path}: ${leafText(value)}`
  );
}

/**
 * The `diff` answer. When all hosts agree: `All 5 hosts agree: web[1-5]` and
 * the common answer (a metric's fields, exec's output). Otherwise, for a
 * metric, one line per field on which some hosts differ from the most common
 * answer (`os.release: 6.1.0 (web[1-4]) vs 5.10.0 (db1)`); for exec, a line
 * for differing exit codes, then for each other group of identical outputs a
 * unified diff of its stdout against the most common one, line by line
 * (`--- web[1-4] (most common)` / `+++ db1`). Last, one line per failure, hosts
 * with the same reason folded.
 */
export function renderCommandDiff(
  cmd: RemoteCommand,
  results: readonly HostResult[],
  color: boolean,
): string {
  const { groups, failed } = groupAnswers(cmd, results);
  // Metric fields read `os.release`; an info projection already nests by metric.
  const root = isMetric(cmd) && cmd.kind !== "info" ? cmd.kind : "";
  const parts: string[] = [];
  const [common, ...others] = groups;
  if (common && others.length === 0) {
    const total = common.hosts.length;
    const subject = total === 1 ? "1 host" : `All ${total} hosts agree`;
    parts.push(`${subject}: ${compactHosts(common.hosts)}`, ...commonLines(cmd, common, root));
  } else if (common && cmd.kind === "exec") {
    // How each host's command ended: `exit code: 0 (web[1-2]) vs 127 (web3)` when they differ.
    const ends = groups.flatMap((g) => {
      const v = g.value as ExecValue;
      return g.hosts.map((host) => ({
        host,
        value: v.signal ? `killed by ${v.signal}` : v.exitCode,
      }));
    });
    const endGroups = diffAgainstMajority(ends);
    if (endGroups.outliers.length > 0) parts.push(renderDiff(endGroups, color, "exit code"));
    for (const other of others) parts.push(...stdoutDiff(common, other, color));
  } else if (common) {
    parts.push(renderDiff({ majority: common, outliers: others }, color, root));
  }
  for (const f of failed) {
    parts.push(paint(color, "red", `${compactHosts(f.hosts)}: ${escapeControls(f.error)}`));
  }
  if (parts.length === 0) return "No hosts to compare";
  return parts.join("\n");
}

/** A compared value as a `--json` record shows it: exec's with snake_case names. */
function answerJson(cmd: RemoteCommand, value: unknown): unknown {
  if (cmd.kind !== "exec" && cmd.kind !== "ping") return value;
  const v = value as ExecValue;
  return {
    exit_code: v.exitCode ?? null,
    signal: v.signal ?? null,
    ...(cmd.kind === "exec" ? { stdout: v.stdout } : {}),
  };
}

/**
 * The `--json` records of a one-shot `diff`: one per group of identical
 * answers, the most common first, then one per group of hosts that failed the
 * same way. Fields (see README): `hosts`, `count`, `common` (true for the
 * group the others are compared with), `status` (`ok` for an answer, else why
 * the hosts failed), `error`, `answer` (what was compared), `differs` (the
 * fields that differ from the common answer: `os.release`, `stdout`,
 * `exit_code`), `unified_diff` (exec: the stdout diff against the common
 * answer, as text).
 */
export function diffRecords(
  cmd: RemoteCommand,
  results: readonly HostResult[],
): Record<string, unknown>[] {
  const { groups, failed } = groupAnswers(cmd, results);
  const root = isMetric(cmd) && cmd.kind !== "info" ? cmd.kind : "";
  const [common] = groups;
  const records: Record<string, unknown>[] = groups.map((g, i) => {
    const answer = answerJson(cmd, g.value);
    const differs = i === 0 || !common ? [] : differingFields(
      {
        majority: { hosts: common.hosts, value: answerJson(cmd, common.value) },
        outliers: [{ hosts: g.hosts, value: answer }],
      },
      root,
    ).map((f) => f.path);
    const diff = i > 0 && common && cmd.kind === "exec" ? stdoutDiff(common, g, false) : [];
    return {
      hosts: g.hosts,
      count: g.hosts.length,
      common: i === 0,
      status: "ok",
      error: null,
      answer,
      differs,
      unified_diff: diff.length > 0 ? diff.join("\n") + "\n" : null,
    };
  });
  for (const f of failed) {
    records.push({
      hosts: f.hosts,
      count: f.hosts.length,
      common: false,
      status: f.status,
      error: f.error,
      answer: null,
      differs: null,
      unified_diff: null,
    });
  }
  return records;
}

/**
 * The exit code of a one-shot `diff`, as diff(1) has it: 0 when every host
 * gave the same answer, 1 when answers differ; a host that did not answer
 * makes it the code of that failure (3 unreachable, 4 timeout, ...) instead.
 */
export function diffExitCode(cmd: RemoteCommand, results: readonly HostResult[]): number {
  const { groups, failed } = groupAnswers(cmd, results);
  if (failed.length > 0) return exitCodeFor(failed.map((f) => f.status));
  return groups.length > 1 ? EXIT_CODES.nonzero : EXIT_CODES.ok;
}
