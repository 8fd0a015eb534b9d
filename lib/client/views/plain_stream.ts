/**
 * `--no-prefix`: one host's output exactly as it comes, for piping (`rmon
 * --no-prefix -H web1 -- 'sh: tar c /etc' > etc.tar`). Remote stdout goes to
 * stdout and remote stderr to stderr, chunk by chunk with no per-line work;
 * failures and notes go to stderr, so stdout holds the command's output
 * alone. Client view layer.
 * @module
 */

import type { HostResult } from "../fleet.ts";
import { paint } from "./color.ts";
import { escapeControls } from "./escape_controls.ts";
import { failureText } from "./summary.ts";

/** Where the plain view writes. */
export interface PlainSink {
  /** Local stdout: the remote stdout. */
  out(text: string): void;
  /** Local stderr: the remote stderr, then failures and notes. */
  err(text: string): void;
  /** Local stdout and stderr for bytes passed through as is; absent: the view takes text only. */
  outBytes?(bytes: Uint8Array): void;
  errBytes?(bytes: Uint8Array): void;
  /** Colours on stderr's notes. */
  color: boolean;
  /** Escape control characters on stdout (it is a terminal and `--raw` was not given). */
  escape: boolean;
  /** The same for stderr. */
  escapeErr: boolean;
}

/** Passes one host's output through; see the module doc. */
export class PlainStreamView {
  #sink: PlainSink;

  /** Write to `sink`. */
  constructor(sink: PlainSink) {
    this.#sink = sink;
  }

  /** A chunk of output, written at once to the matching local stream. */
  output(_host: string, stream: "stdout" | "stderr", data: string): void {
    if (stream === "stdout") this.#sink.out(this.#sink.escape ? escapeControls(data) : data);
    else this.#sink.err(this.#sink.escapeErr ? escapeControls(data) : data);
  }

  /**
   * A chunk of raw output written at once, as is, when nothing needs escaping;
   * false when the view needs it as text instead (escaping, or no byte sink).
   */
  outputBytes(_host: string, stream: "stdout" | "stderr", bytes: Uint8Array): boolean {
    const sink = this.#sink;
    if (stream === "stdout") {
      if (sink.escape || sink.outBytes === undefined) return false;
      sink.outBytes(bytes);
      return true;
    }
    if (sink.escapeErr || sink.errBytes === undefined) return false;
    sink.errBytes(bytes);
    return true;
  }

  /** Nothing to do per result: the output has been written as it came. */
  result(_r: HostResult): void {}

  /** Say on stderr what went wrong, if anything; a clean run prints nothing more. */
  finish(results: readonly HostResult[]): void {
    const c = this.#sink.color;
    const lines: string[] = [];
    for (const r of results) {
      if (r.truncated) {
        lines.push(paint(c, "yellow", `${r.host}: output truncated at the server's cap`));
      }
      if (r.status !== "ok") {
        const text = this.#sink.escapeErr ? escapeControls(failureText(r)) : failureText(r);
        lines.push(paint(c, r.status === "nonzero" ? "yellow" : "red", `${r.host}: ${text}`));
      }
    }
    if (lines.length > 0) this.#sink.err(lines.join("\n") + "\n");
  }
}
