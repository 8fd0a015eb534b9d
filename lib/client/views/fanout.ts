/**
 * How a fan-out looks to a person: streamed output prefixed with the host
 * name as it arrives (whole lines only, so hosts never interleave mid-line),
 * a progress line on a TTY, then the metric table or the gathered outputs,
 * failures, and the summary line. Client view layer.
 * @module
 */

import type { RemoteCommand } from "../../grammar/command.ts";
import { isMetricKind } from "../../grammar/commands/metrics.ts";
import type { HostResult } from "../fleet.ts";
import { paint } from "./color.ts";
import { gatherOutputs, renderGathered } from "./gather.ts";
import { type MetricMethod, renderMetricTable } from "./metrics.ts";
import { failureLines, failureText, summarize } from "./summary.ts";
import { visibleWidth } from "./table.ts";
import { escapeControls } from "./escape_controls.ts";

/** Where a view writes: the console or stdout, and stderr for progress. */
export interface ViewSink {
  /** Text for the answer itself (stdout). */
  out(text: string): void;
  /** Progress, which is redrawn in place; only used when `progress` is on. */
  status(text: string): void;
  /** Whether to use colours. */
  color: boolean;
  /** Whether to show a progress line (a TTY on stderr). */
  progress: boolean;
  /**
   * Whether remote text is shown with its control characters escaped (`\x1b`):
   * stdout is a terminal and `--raw` was not given. Off, the bytes pass unchanged.
   */
  escape: boolean;
}

/** Whether a command's answer is a metric table (else streamed output or a plain ack). */
export function isMetric(cmd: RemoteCommand): cmd is RemoteCommand & { kind: MetricMethod } {
  return isMetricKind(cmd.kind);
}

/** Past this many failed hosts, failures are listed folded per status instead of per host. */
const MAX_HOST_LINES = 20;

/** One failed host's line: `web3: exit code 2`, `db1: Command timed out after 60000 ms`. */
function hostLine(r: HostResult, color: boolean, safe: (text: string) => string): string {
  const style = r.status === "nonzero" || r.status === "cancelled" ? "yellow" : "red";
  // The reason may quote the server's own words: remote text like any output.
  return paint(color, style, `${r.host}: ${safe(failureText(r))}`);
}

/** Renders one fan-out; feed it output and results as they come, then `finish`. */
export class FanoutView {
  #sink: ViewSink;
  #cmd: RemoteCommand;
  #total: number;
  #done = 0;
  #width: number;
  /** Partial lines per host and stream, held until their newline arrives. */
  #partial = new Map<string, string>();
  #progressShown = false;

  /** Start a view of `cmd` on `hosts`. */
  constructor(sink: ViewSink, cmd: RemoteCommand, hosts: readonly string[]) {
    this.#sink = sink;
    this.#cmd = cmd;
    this.#total = hosts.length;
    this.#width = Math.max(0, ...hosts.map((h) => visibleWidth(h)));
  }

  /** Show streamed output, prefixed per line with the host name. */
  output(host: string, stream: "stdout" | "stderr", data: string): void {
    const key = `${stream}\0${host}`;
    const text = (this.#partial.get(key) ?? "") + data;
    const cut = text.lastIndexOf("\n");
    if (cut < 0) {
      this.#partial.set(key, text);
      return;
    }
    this.#partial.set(key, text.slice(cut + 1));
    // Escaped with its newline, so a CR that ends a line is seen before its LF.
    this.#lines(host, stream, this.#safe(text.slice(0, cut + 1)).slice(0, -1));
  }

  /** Remote text as it may be shown: control characters escaped on a terminal. */
  #safe = (text: string): string => this.#sink.escape ? escapeControls(text) : text;

  #lines(host: string, stream: "stdout" | "stderr", text: string): void {
    const c = this.#sink.color;
    const prefix = paint(
      c,
      stream === "stderr" ? "yellow" : "dim",
      `${host.padEnd(this.#width)} |`,
    );
    this.#clearProgress();
    this.#sink.out(text.split("\n").map((l) => `${prefix} ${l}`).join("\n") + "\n");
  }

  /** Note one host's result (progress line on a TTY). */
  result(r: HostResult): void {
    this.#done++;
    // A command's last line may lack its newline: flush what is held for this host.
    for (const stream of ["stdout", "stderr"] as const) {
      const key = `${stream}\0${r.host}`;
      const rest = this.#partial.get(key);
      if (rest) this.#lines(r.host, stream, this.#safe(rest));
      this.#partial.delete(key);
    }
    if (this.#sink.progress && this.#total > 1) {
      this.#progressShown = true;
      this.#sink.status(`${this.#done}/${this.#total} hosts answered`);
    }
  }

  #clearProgress(): void {
    if (this.#progressShown) {
      this.#sink.status("");
      this.#progressShown = false;
    }
  }

  /** Show the closing part: table or gathered outputs, failures, summary. */
  finish(results: readonly HostResult[]): void {
    this.#clearProgress();
    const c = this.#sink.color;
    const parts: string[] = [];
    if (isMetric(this.#cmd)) {
      const rows = results.map((r) =>
        r.status === "ok"
          ? { host: r.host, result: r.data }
          : { host: r.host, error: failureText(r) }
      );
      parts.push(renderMetricTable(this.#cmd.kind, rows, c));
    } else if (this.#cmd.kind === "exec" || this.#cmd.kind === "ping") {
      // Only commands that ran to their end are gathered; a cancelled one shows no "(no output)".
      const answered = results.filter((r) =>
        r.stdout !== undefined && (r.status === "ok" || r.status === "nonzero")
      );
      const groups = gatherOutputs(
        answered.map((r) => ({
          host: r.host,
          text: this.#safe((r.stdout ?? "") + (r.stderr ?? "")),
        })),
      );
      // Gathering only adds something when hosts agree; unique outputs were streamed already.
      if (groups.some((g) => g.hosts.length > 1)) parts.push(renderGathered(groups, c));
      for (const r of results) {
        if (r.truncated) {
          parts.push(paint(c, "yellow", `${r.host}: output truncated at the server's cap`));
        }
      }
    }
    const failed = results.filter((r) => r.status !== "ok");
    if (failed.length > MAX_HOST_LINES) {
      parts.push(...failureLines(results, c));
    } else if (!isMetric(this.#cmd)) {
      // Metric tables already carry each failure in the host's row.
      for (const r of failed) parts.push(hostLine(r, c, this.#safe));
    }
    parts.push(summarize(results, c));
    this.#sink.out(parts.filter((p) => p !== "").join("\n") + "\n");
  }
}

/** One NDJSON record of `--json` output; field names are stable (see README). */
export function jsonRecord(r: HostResult, address: string | undefined): Record<string, unknown> {
  return {
    host: r.host,
    address: address ?? null,
    status: r.status,
    exit_code: r.exitCode ?? null,
    signal: r.signal ?? null,
    duration_ms: r.durationMs,
    stdout: r.stdout ?? null,
    stderr: r.stderr ?? null,
    truncated: r.truncated ?? false,
    role: r.role ?? null,
    data: r.status === "ok" && r.stdout === undefined ? r.data ?? null : null,
    error: r.error ?? null,
  };
}
