/**
 * The audit trail (`--audit-log FILE`): one JSON object a line for every
 * authentication (success or failure) and every action that changes or
 * probes the machine (exec, ping, reset, kill), under the name of who did it.
 * Never holds a token, a signature or command output, only its size. The
 * file is private (0600) and rotated by size: FILE → FILE.1 → … → FILE.N.
 * Server layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";

/** One audit line; field names are stable (docs/security.md lists them). */
export interface AuditRecord {
  /** `auth` or the method (`exec`, `ping`, `reset`, `kill`). */
  event: string;
  ok: boolean;
  /** The peer as `host:port`. */
  source: string;
  /** The operator key's name, `token`, or null when authentication failed. */
  user: string | null;
  /** The operator key's short id (`SHA256:…`), when a key was used. */
  "key_id"?: string | null;
  /** The granted role, on successful authentication. */
  role?: string;
  /** exec: the shell and command text; ping: the target host. */
  shell?: string;
  command?: string;
  host?: string;
  /** upload, download: the file's path on the server. */
  path?: string;
  "exit_code"?: number | null;
  signal?: string | null;
  /** Why it failed (auth failure reason, error message). */
  error?: string | null;
  "duration_ms"?: number;
  /** Bytes of output sent (stdout + stderr), never the output itself. */
  "output_bytes"?: number;
}

/** Rotation defaults: 10 MB a file, 5 old files kept. */
export const AUDIT_DEFAULTS = { maxBytes: 10 * 1024 * 1024, keep: 5 } as const;

const encoder = new TextEncoder();

/** An append-only JSON-lines audit file with size-based rotation. */
export class AuditLog {
  readonly path: string;
  #file: Deno.FsFile;
  #size: number;
  #maxBytes: number;
  #keep: number;

  private constructor(
    path: string,
    file: Deno.FsFile,
    size: number,
    maxBytes: number,
    keep: number,
  ) {
    this.path = path;
    this.#file = file;
    this.#size = size;
    this.#maxBytes = maxBytes;
    this.#keep = keep;
  }

  /** Open (or create, mode 0600) `path` for appending; throws with the path in the message. */
  static open(path: string, opts: { maxBytes?: number; keep?: number } = {}): AuditLog {
    try {
      const file = AuditLog.#openFile(path);
      return new AuditLog(
        path,
        file,
        file.statSync().size,
        opts.maxBytes ?? AUDIT_DEFAULTS.maxBytes,
        opts.keep ?? AUDIT_DEFAULTS.keep,
      );
    } catch (err) {
      throw new Error(`Cannot open audit log "${path}": ${describeError(err)}`, {
        cause: err,
      });
    }
  }

  static #openFile(path: string): Deno.FsFile {
    const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
    if (Deno.build.os !== "windows") Deno.chmodSync(path, 0o600);
    return file;
  }

  /** Append one record, stamped with the time; rotates first when the file is full. */
  write(record: AuditRecord): void {
    const line = encoder.encode(
      JSON.stringify({ time: new Date().toISOString(), ...record }) + "\n",
    );
    if (this.#size > 0 && this.#size + line.length > this.#maxBytes) this.#rotate();
    // One write call per line: concurrent sessions never interleave within a line.
    let off = 0;
    while (off < line.length) off += this.#file.writeSync(line.subarray(off));
    this.#size += line.length;
  }

  #rotate(): void {
    this.#file.close();
    for (let i = this.#keep - 1; i >= 1; i--) {
      try {
        Deno.renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    if (this.#keep > 0) Deno.renameSync(this.path, `${this.path}.1`);
    else Deno.removeSync(this.path);
    this.#file = AuditLog.#openFile(this.path);
    this.#size = 0;
  }

  /** Close the file. */
  close(): void {
    this.#file.close();
  }
}
