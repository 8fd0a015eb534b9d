/**
 * How a fan-out looks to a person: streamed output prefixed with the host
 * name as it arrives (whole lines only, so hosts never interleave mid-line),
 * a progress line on a TTY, then the metric table or the gathered outputs,
 * failures (hosts with the same reason on one line), and the summary line.
 * One-shot mode can ask for the stream or the gathered outputs alone.
 * Client view layer.
 * @module
 */

import { transferLines } from "./transfer.ts";
import type { RemoteCommand } from "../../grammar/command.ts";
import { isMetricKind } from "../../grammar/remote_table.ts";
import type { HostResult } from "../fleet.ts";
import { compactHosts } from "../hostlist.ts";
import { paint } from "./color.ts";
import { gatherOutputs, renderGathered } from "./gather.ts";
import { type MetricMethod, renderMetricTable } from "./metrics.ts";
import { failureLines, failureText, summarize } from "./summary.ts";
import { visibleWidth } from "./table.ts";
import { escapeControls } from "./escape_controls.ts";
import { pingStatsOf, renderPingTable } from "./ping.ts";
import { formatBytes } from "./format.ts";

/** Where a view writes: the console or stdout, and stderr for progress. */
export interface ViewSink {
  /** Text for the answer itself (stdout). */
  out(text: string): void;
  /** Bytes for stdout: host-prefixed lines of raw output, built without decoding; absent: text only. */
  outBytes?(bytes: Uint8Array): void;
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
  /** The columns tables must fit in: the terminal's width on a terminal, else 80. */
  width: number;
}

/**
 * Which parts of exec and ping output a view shows: `both` (the default:
 * streamed lines, then gathered blocks when some hosts agree), `gather` (no
 * stream; every output in a block, as `clush -b`) or `stream` (no blocks).
 */
export type OutputMode = "both" | "gather" | "stream";

/** Whether a command's answer is a metric table (else streamed output or a plain ack). */
export function isMetric(cmd: RemoteCommand): cmd is RemoteCommand & { kind: MetricMethod } {
  return isMetricKind(cmd.kind);
}

/** Past this many failed hosts, failures are listed folded per status instead of per host. */
const MAX_HOST_LINES = 20;

/**
 * A partial line held longer than this is shown as a line of its own: output
 * without newlines (`head -c 1G /dev/zero`) must not pile up in the client.
 */
export const MAX_HELD_LINE = 64 * 1024;

const NEWLINE = 0x0a;
const NEWLINE_BYTES = Uint8Array.of(NEWLINE);
const textEncoder = new TextEncoder();

/** `a` then `b`, in a new array. */
function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The failed hosts' lines, hosts with the same status and reason folded into
 * one: `web[1-3]: exit code 3`, `db1: Command timed out after 60000 ms`.
 */
function hostLines(
  failed: readonly HostResult[],
  color: boolean,
  safe: (text: string) => string,
): string[] {
  const folded = new Map<string, { r: HostResult; text: string; hosts: string[] }>();
  for (const r of failed) {
    // The reason may quote the server's own words: remote text like any output.
    const text = safe(failureText(r));
    const key = `${r.status}\0${text}`;
    const seen = folded.get(key);
    if (seen) seen.hosts.push(r.host);
    else folded.set(key, { r, text, hosts: [r.host] });
  }
  return [...folded.values()].map(({ r, text, hosts }) => {
    const style = r.status === "nonzero" || r.status === "cancelled" ? "yellow" : "red";
    return paint(color, style, `${compactHosts(hosts)}: ${text}`);
  });
}

/**
 * Whether a host's output belongs in the gathered blocks: a command that ran
 * to its end, even silent (`(no output)`), or one timed out or cancelled that
 * printed something first; never an empty block for a host that was cut short.
 */
function gatherable(r: HostResult): boolean {
  if (r.stdout === undefined) return false;
  if (r.status === "ok" || r.status === "nonzero") return true;
  return (r.stdout + (r.stderr ?? "")) !== "";
}

/** A gathered block's text: stdout, then stderr with each line marked `[stderr]`. */
function blockText(stdout: string, stderr: string, color: boolean): string {
  if (stderr === "") return stdout;
  const mark = paint(color, "yellow", "[stderr]");
  const marked = stderr.replace(/\n$/, "").split("\n").map((l) => `${mark} ${l}`).join("\n");
  return `${stdout === "" || stdout.endsWith("\n") ? stdout : `${stdout}\n`}${marked}\n`;
}

/**
 * `tail` as a string of its own: a slice of a 64 KiB chunk would keep the whole chunk
 * alive while the line waits for its end, for every host at once.
 */
function detached(tail: string): string {
  // Concatenating then slicing copies the characters into a new, small string.
  return (tail + " ").slice(0, -1);
}

const utf8 = new TextEncoder();

/** How a gathered block of which only the start was kept is told apart, and what it says. */
function shortenedBlock(r: HostResult): { key?: string; note: string } {
  const kept = utf8.encode(r.stdout ?? "").length + utf8.encode(r.stderr ?? "").length;
  const sent = (r.stdoutBytes ?? 0) + (r.stderrBytes ?? 0);
  const note = `[shortened: the first ${formatBytes(kept)} of ${formatBytes(sent)} shown]`;
  // Without a digest the host stands alone: its block cannot be proved equal to another.
  return { key: r.outputDigest ?? `\0${r.host}`, note };
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
  #mode: OutputMode;
  /** Partial lines of raw output per host and stream (copies), held until their newline. */
  #heldBytes = new Map<string, Uint8Array>();
  /** Each host and stream's line prefix as bytes (`host |` and a space), encoded once. */
  #prefixBytes = new Map<string, Uint8Array>();
  /** Where prefixed lines of raw output are built: one buffer, reused for every chunk. */
  #lineBuf = new Uint8Array(0);

  /** Start a view of `cmd` on `hosts`, showing exec and ping output per `mode` (default `both`). */
  constructor(
    sink: ViewSink,
    cmd: RemoteCommand,
    hosts: readonly string[],
    mode: OutputMode = "both",
  ) {
    this.#sink = sink;
    this.#cmd = cmd;
    this.#mode = mode;
    this.#total = hosts.length;
    this.#width = Math.max(0, ...hosts.map((h) => visibleWidth(h)));
  }

  /** Show streamed output, prefixed per line with the host name. */
  output(host: string, stream: "stdout" | "stderr", data: string): void {
    if (this.#mode === "gather") return;
    const key = `${stream}\0${host}`;
    const held = this.#partial.get(key);
    const text = held === undefined ? data : held + data;
    const cut = text.lastIndexOf("\n");
    if (cut < 0) {
      if (text.length <= MAX_HELD_LINE) this.#partial.set(key, text);
      else {
        this.#partial.delete(key);
        this.#lines(host, stream, this.#safe(text));
      }
      return;
    }
    if (cut === text.length - 1) this.#partial.delete(key);
    else this.#partial.set(key, detached(text.slice(cut + 1)));
    // Escaped with its newline, so a CR that ends a line is seen before its LF.
    this.#lines(host, stream, this.#safe(text.slice(0, cut + 1)).slice(0, -1));
  }

  /**
   * Show raw output, prefixed per line, without making a string of it: the
   * lines are copied into one reused buffer between their prefixes. Returns
   * false when the view needs text instead (control characters are escaped on
   * a terminal, or the sink takes no bytes); the caller then decodes.
   */
  outputBytes(host: string, stream: "stdout" | "stderr", bytes: Uint8Array): boolean {
    if (this.#mode === "gather") return true;
    if (this.#sink.escape || this.#sink.outBytes === undefined) return false;
    const key = `${stream}\0${host}`;
    const held = this.#heldBytes.get(key);
    const cut = bytes.lastIndexOf(NEWLINE);
    if (cut < 0) {
      const joined = held === undefined ? bytes.slice() : joinBytes(held, bytes);
      if (joined.length <= MAX_HELD_LINE) this.#heldBytes.set(key, joined);
      else {
        this.#heldBytes.delete(key);
        this.#linesBytes(host, stream, joined, NEWLINE_BYTES);
      }
      return true;
    }
    // The kept rest is a copy: `bytes` is the caller's buffer, reused after this call.
    if (cut === bytes.length - 1) this.#heldBytes.delete(key);
    else this.#heldBytes.set(key, bytes.slice(cut + 1));
    this.#linesBytes(host, stream, held, bytes.subarray(0, cut + 1));
    return true;
  }

  /** Write `lines` (each ending in a newline), the first after `held`, each after the prefix. */
  #linesBytes(
    host: string,
    stream: "stdout" | "stderr",
    held: Uint8Array | undefined,
    lines: Uint8Array,
  ): void {
    const key = `${stream}\0${host}`;
    let prefix = this.#prefixBytes.get(key);
    if (prefix === undefined) {
      prefix = textEncoder.encode(`${this.#prefix(host, stream)} `);
      this.#prefixBytes.set(key, prefix);
    }
    let out = this.#lineBuf;
    let o = 0;
    let start = 0;
    let first = held;
    while (start < lines.length) {
      const end = lines.indexOf(NEWLINE, start) + 1;
      const need = o + prefix.length + (first?.length ?? 0) + (end - start);
      if (need > out.length) {
        const bigger = new Uint8Array(Math.max(need, out.length * 2, 64 * 1024));
        bigger.set(out.subarray(0, o));
        out = this.#lineBuf = bigger;
      }
      out.set(prefix, o);
      o += prefix.length;
      if (first !== undefined) {
        out.set(first, o);
        o += first.length;
        first = undefined;
      }
      out.set(lines.subarray(start, end), o);
      o += end - start;
      start = end;
    }
    this.#clearProgress();
    this.#sink.outBytes!(out.subarray(0, o));
  }

  /** A host's line prefix, coloured as its stream. */
  #prefix(host: string, stream: "stdout" | "stderr"): string {
    return paint(
      this.#sink.color,
      stream === "stderr" ? "yellow" : "dim",
      `${host.padEnd(this.#width)} |`,
    );
  }

  /** Remote text as it may be shown: control characters escaped on a terminal. */
  #safe = (text: string): string => this.#sink.escape ? escapeControls(text) : text;

  #lines(host: string, stream: "stdout" | "stderr", text: string): void {
    const prefix = this.#prefix(host, stream);
    this.#clearProgress();
    // One native replace per chunk, not a split/map/join over its lines.
    this.#sink.out(`${prefix} ${text.replaceAll("\n", `\n${prefix} `)}\n`);
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
      const restBytes = this.#heldBytes.get(key);
      if (restBytes) this.#linesBytes(r.host, stream, restBytes, NEWLINE_BYTES);
      this.#heldBytes.delete(key);
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
      parts.push(renderMetricTable(this.#cmd.kind, rows, c, this.#sink.width));
    } else if (
      (this.#cmd.kind === "exec" || this.#cmd.kind === "ping") && this.#mode !== "stream"
    ) {
      const groups = gatherOutputs(
        results.filter(gatherable).map((r) => ({
          host: r.host,
          text: blockText(this.#safe(r.stdout ?? ""), this.#safe(r.stderr ?? ""), c),
          // Only the start of a long output was kept: its digest says which hosts agree.
          ...(r.outputShortened ? shortenedBlock(r) : {}),
        })),
      );
      // Streamed too, gathering only adds something when hosts agree; alone, it is the output.
      const show = this.#mode === "gather"
        ? groups.length > 0
        : groups.some((g) => g.hosts.length > 1);
      if (show) parts.push(renderGathered(groups, c));
    }
    if (this.#cmd.kind === "ping") parts.push(renderPingTable(results, c, this.#sink.width));
    if (this.#cmd.kind === "upload" || this.#cmd.kind === "download") {
      parts.push(...transferLines(results, c));
    }
    if (this.#cmd.kind === "exec" || this.#cmd.kind === "ping") {
      for (const r of results) {
        if (r.truncated) {
          parts.push(paint(c, "yellow", `${r.host}: output truncated at the server's cap`));
        }
      }
    }
    const failed = results.filter((r) => r.status !== "ok");
    const lines = hostLines(failed, c, this.#safe);
    if (lines.length > MAX_HOST_LINES) {
      parts.push(...failureLines(results, c));
    } else if (!isMetric(this.#cmd)) {
      // Metric tables already carry each failure in the host's row.
      parts.push(...lines);
    }
    parts.push(summarize(results, c));
    this.#sink.out(parts.filter((p) => p !== "").join("\n") + "\n");
  }
}

/**
 * What a record's `data` holds: a metric's answer; for `ping`, its figures
 * (`sent`, `received`, `lossPercent`, `rttMinMs`, `rttAvgMs`, `rttMaxMs`) when
 * ping printed them; else null.
 */
function recordData(r: HostResult, kind: RemoteCommand["kind"] | undefined): unknown {
  if (kind === "ping") return pingStatsOf(r);
  return r.status === "ok" && r.stdout === undefined ? r.data ?? null : null;
}

/** One NDJSON record of `--json` output for `kind`'s answer; field names are stable (see README). */
export function jsonRecord(
  r: HostResult,
  address: string | undefined,
  kind?: RemoteCommand["kind"],
): Record<string, unknown> {
  return {
    host: r.host,
    address: address ?? null,
    status: r.status,
    exit_code: r.exitCode ?? null,
    signal: r.signal ?? null,
    duration_ms: r.durationMs,
    stdout: r.stdout ?? null,
    stderr: r.stderr ?? null,
    // Cut by the server's cap or by --max-record-output: the byte counts say how much there was.
    truncated: (r.truncated ?? false) || (r.outputShortened ?? false),
    stdout_bytes: r.stdoutBytes ?? null,
    stderr_bytes: r.stderrBytes ?? null,
    role: r.role ?? null,
    data: recordData(r, kind),
    error: r.error ?? null,
  };
}
