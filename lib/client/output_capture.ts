/**
 * One host's command output as the client keeps it, in memory bounded per
 * host whatever the host prints: the first `keepBytes` bytes (UTF-8) of
 * stdout and stderr together, in arrival order, the real byte count of each
 * stream, and, when asked, a running SHA-256 of each whole stream, so hosts
 * with identical output can be gathered without holding their output.
 * Everything else streams past (to the terminal, a file) and is not kept.
 * Client layer, used by fleet.ts for each host of a fan-out.
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { Buffer } from "node:buffer";

/** How much of a host's output to keep. */
export interface CaptureOptions {
  /** Bytes of stdout and stderr together kept as text (the rest is counted, not kept). */
  keepBytes: number;
  /**
   * Hash each whole stream once the kept text is shortened, so identical outputs
   * can still be told apart from different ones (default false).
   */
  hash?: boolean;
}

/** Keep everything: the default where no bound was asked for. */
export const KEEP_ALL: CaptureOptions = { keepBytes: Infinity };

/** What was kept of one host's output. */
export interface CapturedOutput {
  /** The kept start of stdout (all of it unless `shortened`). */
  stdout: string;
  stderr: string;
  /** Bytes of UTF-8 the host sent on each stream, kept or not. */
  stdoutBytes: number;
  stderrBytes: number;
  /** The kept text is less than what the host sent. */
  shortened: boolean;
  /**
   * When shortened and hashing: the byte counts and SHA-256 (hex) of both
   * whole streams, equal exactly when two hosts sent the same output.
   */
  digest?: string;
}

interface StreamState {
  /** Kept text, or kept bytes (copies) where the output came raw; decoded by `result()`. */
  parts: (string | Uint8Array)[];
  bytes: number;
  /** Running hash of the whole stream, started when the stream was first cut. */
  hash: Hash | null;
}

const encoder = new TextEncoder();

/**
 * Text is hashed as UTF-8 encoded into this one buffer: `Hash.update(string)`
 * converts each chunk into a fresh buffer that the GC frees late, which for
 * gigabytes of output made the client's RSS grow by tens of MB.
 */
let hashScratch = new Uint8Array(256 * 1024);

/** Feed `text` to `hash` as UTF-8 without a buffer per call. */
function hashText(hash: Hash, text: string): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  if (text.length * 3 > hashScratch.length) hashScratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, hashScratch);
  hash.update(hashScratch.subarray(0, written));
}

/** The longest start of `text` whose UTF-8 fits `bytes`, cut between characters. */
export function utf8Prefix(text: string, bytes: number): string {
  if (bytes <= 0) return "";
  const { read } = encoder.encodeInto(text, new Uint8Array(bytes));
  // A copy, not a slice: a slice would keep all of `text` alive with the kept start.
  return read === text.length ? text : (text.slice(0, read) + " ").slice(0, -1);
}

/**
 * The largest cut at or below `limit` that does not split a UTF-8 character
 * (steps back over at most three continuation bytes), so a kept start decodes whole.
 */
function utf8Cut(bytes: Uint8Array, limit: number): number {
  let cut = limit;
  while (cut > 0 && limit - cut < 3 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return cut;
}

/** Feed a kept part to `hash`: bytes as they are, text as its UTF-8. */
function hashPart(hash: Hash, part: string | Uint8Array): void {
  if (typeof part === "string") hashText(hash, part);
  else hash.update(part);
}

/** The text of kept parts; bytes are decoded as one stream, so a character cut between chunks is whole. */
function partsText(parts: readonly (string | Uint8Array)[]): string {
  if (parts.every((p) => typeof p === "string")) return parts.join("");
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let text = "";
  for (const part of parts) {
    text += typeof part === "string"
      ? decoder.decode() + part
      : decoder.decode(part, { stream: true });
  }
  return text + decoder.decode();
}

/** Collects one host's output within {@linkcode CaptureOptions}; see the module doc. */
export class OutputCapture {
  #keep: number;
  #hash: boolean;
  #kept = 0;
  #shortened = false;
  #streams: Record<"stdout" | "stderr", StreamState> = {
    stdout: { parts: [], bytes: 0, hash: null },
    stderr: { parts: [], bytes: 0, hash: null },
  };

  /** Start an empty capture. */
  constructor(opts: CaptureOptions = KEEP_ALL) {
    this.#keep = opts.keepBytes;
    this.#hash = opts.hash ?? false;
  }

  /** Take one chunk of `stream`, in arrival order. */
  add(stream: "stdout" | "stderr", data: string): void {
    const s = this.#streams[stream];
    // Native and exact (a lone surrogate counts as the 3-byte U+FFFD it is sent as).
    const n = Buffer.byteLength(data, "utf8");
    s.bytes += n;
    if (s.hash !== null) hashText(s.hash, data);
    const room = this.#keep - this.#kept;
    if (n <= room) {
      s.parts.push(data);
      this.#kept += n;
      return;
    }
    if (this.#hash && s.hash === null) {
      // The first cut of this stream: the hash starts from what was kept of it.
      s.hash = createHash("sha256");
      for (const part of s.parts) hashPart(s.hash, part);
      hashText(s.hash, data);
    }
    this.#shortened = true;
    const head = utf8Prefix(data, room);
    if (head !== "") s.parts.push(head);
    // Once anything is cut, nothing later is kept: the kept text is always a start.
    this.#kept = this.#keep;
  }

  /**
   * Take one chunk of `stream` as raw bytes, in arrival order. Nothing is
   * decoded here: the bytes are counted, hashed, and copied only as far as
   * they are kept. `bytes` may be reused by the caller once this returns.
   */
  addBytes(stream: "stdout" | "stderr", bytes: Uint8Array): void {
    const s = this.#streams[stream];
    const n = bytes.length;
    s.bytes += n;
    if (s.hash !== null) s.hash.update(bytes);
    const room = this.#keep - this.#kept;
    if (n <= room) {
      s.parts.push(bytes.slice());
      this.#kept += n;
      return;
    }
    if (this.#hash && s.hash === null) {
      s.hash = createHash("sha256");
      for (const part of s.parts) hashPart(s.hash, part);
      s.hash.update(bytes);
    }
    this.#shortened = true;
    const cut = utf8Cut(bytes, room);
    if (cut > 0) s.parts.push(bytes.slice(0, cut));
    this.#kept = this.#keep;
  }

  /** What was kept; call once, at the end of the output. */
  result(): CapturedOutput {
    const { stdout, stderr } = this.#streams;
    const out: CapturedOutput = {
      stdout: partsText(stdout.parts),
      stderr: partsText(stderr.parts),
      stdoutBytes: stdout.bytes,
      stderrBytes: stderr.bytes,
      shortened: this.#shortened,
    };
    if (this.#shortened && this.#hash) {
      // A stream never cut is whole in its parts; hash it now.
      const digest = (s: StreamState) => {
        let hash = s.hash;
        if (hash === null) {
          hash = createHash("sha256");
          for (const part of s.parts) hashPart(hash, part);
        }
        return `${s.bytes}:${hash.digest("hex")}`;
      };
      out.digest = `${digest(stdout)}/${digest(stderr)}`;
    }
    return out;
  }
}
