/**
 * Where one-shot output goes, as it arrives: to the view (prefixed lines,
 * gathered blocks), to the terminal as is (`--no-prefix`), to NDJSON records
 * (`--json`) and to per-host files (`-o`/`-e`). It also decides how much of
 * each host's output the fleet keeps, so client memory grows with the
 * fan-out, never with the size of the output: a 64 KiB sample (plus a running
 * hash when hosts are compared) for the gathered view, at most
 * `--max-record-output` bytes per `--json` record, nothing when only streamed.
 * Client layer, used by oneshot.ts.
 * @module
 */

import type { RemoteCommand } from "../grammar/command.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import type { HostResult } from "./fleet.ts";
import type { ClientOptions } from "./options.ts";
import type { CaptureOptions } from "./output_capture.ts";
import type { OutputFiles } from "./output_files.ts";
import { clearLine } from "./views/color.ts";
import { FanoutView, jsonRecord, type ViewSink } from "./views/fanout.ts";
import { PlainStreamView } from "./views/plain_stream.ts";

/** Bytes of each host's output kept to show in a gathered block (the rest is hashed). */
export const GATHER_SAMPLE_BYTES = 64 * 1024;

/** Default of `--max-record-output`: bytes of output kept per `--json` record. */
export const DEFAULT_MAX_RECORD_OUTPUT = 1024 * 1024;

/** What one-shot output is written to. */
export interface OutputIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Raw bytes to stdout / stderr, for output passed through as is; absent: decoded to text. */
  stdoutBytes?(bytes: Uint8Array): void;
  stderrBytes?(bytes: Uint8Array): void;
  /** Whether stderr is a terminal (progress line) and colours are allowed on stdout. */
  progress: boolean;
  color: boolean;
  /** Whether stdout is a terminal: remote control characters are then escaped unless `--raw`. */
  terminal: boolean;
  /** The columns tables must fit in: the terminal's width when stdout is one, else 80. */
  columns: number;
}

/** Routes one run's output; see the module doc. */
export class OneShotOutput {
  /** How much of each host's output the fleet keeps. */
  readonly capture: CaptureOptions;
  #view: FanoutView | PlainStreamView | null;
  #files: OutputFiles;
  #record: ((r: HostResult) => void) | null = null;
  /** `diff`: nothing shown per host, only a count of the answers on the progress line. */
  #answered: ((r: HostResult) => void) | null = null;
  /** Streaming decoders of raw output shown as text, by stream and host. */
  #decoders = new Map<string, TextDecoder>();

  /**
   * Route the output of `cmd` on `names`.
   * @throws {UsageError} `--no-prefix` with more than one host.
   */
  constructor(
    opts: ClientOptions,
    cmd: RemoteCommand,
    names: readonly string[],
    io: OutputIo,
    files: OutputFiles,
    addressOf: ReadonlyMap<string, string | undefined>,
    diff = false,
  ) {
    this.#files = files;
    if (opts.noPrefix && names.length > 1) {
      throw new UsageError(
        `Invalid arguments: --no-prefix shows one host's output, and ${names.length} hosts are named`,
        EXIT_CODES.usage,
      );
    }
    if (diff) {
      // The comparison is the answer, once every host is in; it compares whole outputs, so
      // each is kept up to the record limit (a diff is read by people, not streamed).
      this.#view = null;
      this.capture = { keepBytes: opts.maxRecordOutput };
      let answered = 0;
      this.#answered = () => {
        if (io.progress && names.length > 1) {
          io.stderr(`${clearLine()}${++answered}/${names.length} hosts answered`);
        }
      };
    } else if (opts.json) {
      this.#view = null;
      this.capture = { keepBytes: opts.maxRecordOutput };
      this.#record = (r) =>
        io.stdout(JSON.stringify(jsonRecord(r, addressOf.get(r.host), cmd.kind)) + "\n");
    } else if (opts.noPrefix) {
      this.#view = new PlainStreamView({
        out: io.stdout,
        err: io.stderr,
        ...(io.stdoutBytes ? { outBytes: io.stdoutBytes } : {}),
        ...(io.stderrBytes ? { errBytes: io.stderrBytes } : {}),
        color: io.color,
        escape: io.terminal && !opts.raw,
        escapeErr: io.progress && !opts.raw,
      });
      this.capture = { keepBytes: 0 };
    } else {
      const sink: ViewSink = {
        out: io.stdout,
        status: (text) => io.stderr(`${clearLine()}${text}`),
        color: io.color,
        progress: io.progress,
        escape: io.terminal && !opts.raw,
        width: io.columns,
        ...(io.stdoutBytes ? { outBytes: io.stdoutBytes } : {}),
      };
      this.#view = new FanoutView(sink, cmd, names, opts.outputMode);
      // Streamed alone, nothing is shown again at the end: nothing to keep.
      this.capture = opts.outputMode === "stream"
        ? { keepBytes: 0 }
        : { keepBytes: GATHER_SAMPLE_BYTES, hash: names.length > 1 };
    }
  }

  /** A chunk of one host's output, as it arrives. */
  onOutput = (host: string, stream: "stdout" | "stderr", data: string): void => {
    this.#files.write(host, stream, data);
    this.#view?.output(host, stream, data);
  };

  /**
   * A chunk of one host's output as raw bytes (servers that send them, protocol.md
   * §5). Files and `--no-prefix` take the bytes as they are; only text shown per
   * line is decoded, with one streaming decoder per host and stream so a
   * character cut between chunks stays whole. `bytes` is valid only during the call.
   */
  onOutputBytes = (host: string, stream: "stdout" | "stderr", bytes: Uint8Array): void => {
    this.#files.writeBytes(host, stream, bytes);
    const view = this.#view;
    if (view === null || view.outputBytes(host, stream, bytes)) return;
    const key = `${stream}\0${host}`;
    let decoder = this.#decoders.get(key);
    if (decoder === undefined) {
      decoder = new TextDecoder("utf-8", { ignoreBOM: true });
      this.#decoders.set(key, decoder);
    }
    const text = decoder.decode(bytes, { stream: true });
    if (text !== "") view.output(host, stream, text);
  };

  /** Show what a host's decoders still hold (a character cut at the very end: U+FFFD). */
  #flushDecoders(host: string): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const key = `${stream}\0${host}`;
      const decoder = this.#decoders.get(key);
      if (decoder === undefined) continue;
      this.#decoders.delete(key);
      const text = decoder.decode();
      if (text !== "") this.#view?.output(host, stream, text);
    }
  }

  /** One host's result, as soon as it is known. */
  onResult = (r: HostResult): void => {
    this.#flushDecoders(r.host);
    this.#files.save(r);
    this.#answered?.(r);
    if (this.#record === null) {
      this.#view?.result(r);
      return;
    }
    this.#record(r);
    // Printed: the record's output is not needed again, only its status.
    delete r.stdout;
    delete r.stderr;
  };

  /** The closing part of the view (nothing for `--json`). */
  finish(results: readonly HostResult[]): void {
    this.#view?.finish(results);
  }
}
