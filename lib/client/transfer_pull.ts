/**
 * `pull`: fetch one file from every selected host into `LOCALDIR/<host>/<name>`,
 * as `pslurp` does. Each host's chunks are written to a temporary file in its
 * folder and acknowledged once written (so a slow disk slows the server, not
 * client memory); when the server's answer arrives, the SHA-256 of what was
 * written must match it before the file is renamed into place. Client layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { createHash, type Hash } from "node:crypto";
import type { LocalCommand } from "../grammar/command.ts";
import { basename, join } from "node:path";
import { METHODS, NOTIFICATIONS } from "../protocol/constants.ts";
import type { DownloadResult, JsonObject, RequestId } from "../protocol/messages.ts";
import type { Fleet, HostResult, RunOptions } from "./fleet.ts";
import { ackFrame } from "./stream_out.ts";

/** A parsed `pull` command. */
export type PullCommand = Extract<LocalCommand, { kind: "pull" }>;

/** Characters a Windows file name cannot hold (and control characters). */
// deno-lint-ignore no-control-regex -- control characters are exactly what Windows refuses too
const NOT_ON_WINDOWS = /[<>:"/\\|?*\x00-\x1f]/g;

/**
 * `name` as a file name on `os`: on Windows the characters it refuses become
 * `_` (a host named `127.0.0.1:7101`, an IPv6 address, a remote `a:b.log`),
 * and a trailing dot or space, which Windows drops, is kept by a `_`.
 */
export function localFileName(name: string, os: typeof Deno.build.os = Deno.build.os): string {
  if (os !== "windows") return name;
  return name.replace(NOT_ON_WINDOWS, "_").replace(/[. ]$/, "_");
}

/** Where one host's copy goes: `LOCALDIR/<host>/<name>`, each a valid file name on `os`. */
export function pullTarget(
  localDir: string,
  host: string,
  remote: string,
  os: typeof Deno.build.os = Deno.build.os,
): string {
  // Host names are checked at load (no `/`, no `..`); the remote name is its last part only.
  const name = basename(remote.replace(/\\/g, "/"));
  return join(localDir, localFileName(host, os), localFileName(name, os));
}

/** One host's incoming stream: writes chunks to a temporary file in order, hashing them. */
class InStream {
  readonly target: string;
  readonly temp: string;
  #send: (frame: string) => Promise<void>;
  #id: RequestId | null = null;
  #file: Deno.FsFile | null = null;
  #hash: Hash = createHash("sha256");
  #tail: Promise<void> = Promise.resolve();
  #bytes = 0;
  #failure: Error | null = null;
  #onFailure: (id: RequestId | null) => void;

  constructor(
    target: string,
    send: (frame: string) => Promise<void>,
    onFailure: (id: RequestId | null) => void,
  ) {
    this.target = target;
    this.temp = join(
      target,
      "..",
      `.${basename(target)}.rmon-${crypto.randomUUID().slice(0, 8)}.tmp`,
    );
    this.#send = send;
    this.#onFailure = onFailure;
  }

  setId(id: RequestId): void {
    this.#id = id;
  }

  onNotification(method: string, params: JsonObject, payload?: Uint8Array): void {
    if (method === NOTIFICATIONS.ready) {
      this.#then(async () => {
        await Deno.mkdir(join(this.target, ".."), { recursive: true });
        this.#file = await Deno.open(this.temp, { write: true, createNew: true, mode: 0o600 });
      });
    } else if (method === NOTIFICATIONS.chunk) {
      const { seq } = params;
      if (typeof seq !== "number" || payload === undefined) return;
      this.#then(async () => {
        const bytes = payload;
        let off = 0;
        while (off < bytes.length) off += await this.#file!.write(bytes.subarray(off));
        this.#hash.update(bytes);
        this.#bytes += bytes.length;
        if (this.#id !== null) this.#send(ackFrame(this.#id, seq));
      });
    }
  }

  finish(): void {}

  /** Queue `step` after the earlier ones; the first failure cancels the download. */
  #then(step: () => Promise<void>): void {
    this.#tail = this.#tail.then(async () => {
      if (this.#failure) return;
      try {
        await step();
      } catch (err) {
        this.#failure = err instanceof Error ? err : new Error(String(err));
        this.#onFailure(this.#id);
      }
    });
  }

  /**
   * Once the call has ended: check what was written against the server's
   * answer and rename it into place; remove it otherwise. Returns why it
   * failed, or null.
   */
  async settle(answer: DownloadResult | null): Promise<string | null> {
    await this.#tail;
    try {
      this.#file?.close();
    } catch (err) {
      this.#failure ??= err instanceof Error ? err : new Error(String(err));
    }
    let problem: string | null = null;
    if (this.#failure) problem = `cannot write ${this.target}: ${this.#failure.message}`;
    else if (answer !== null) {
      const digest = this.#hash.digest("hex");
      if (this.#bytes !== answer.bytes || digest !== answer.sha256) {
        problem = `checksum mismatch: received ${this.#bytes} bytes with sha256 ` +
          `${digest.slice(0, 12)}…, the server sent ${answer.bytes} with ${
            answer.sha256.slice(0, 12)
          }…`;
      } else {
        try {
          await Deno.rename(this.temp, this.target);
          return null;
        } catch (err) {
          problem = `cannot write ${this.target}: ${describeError(err)}`;
        }
      }
    }
    if (this.#file) await Deno.remove(this.temp).catch(() => {/* never created or gone */});
    return problem;
  }
}

/** Options of one pull: the fleet run's cancel and wait, and where records go. */
export type PullOptions = Pick<RunOptions, "signal" | "waitMs" | "onResult">;

/**
 * Fetch `remote` from every host in `names` into `localDir/<host>/`; one record
 * per host (ok with `{path, bytes, sha256}`), reported as each is settled.
 */
export async function pullFiles(
  fleet: Fleet,
  names: readonly string[],
  remote: string,
  localDir: string,
  opts: PullOptions,
): Promise<HostResult[]> {
  const streams = new Map(names.map((n) => {
    const link = fleet.get(n);
    const send = (frame: string) => link?.sendRaw(frame) ?? Promise.resolve();
    // A local write failure stops that host's download (the others go on).
    const cancel = (id: RequestId | null) => {
      if (id !== null) link?.call(METHODS.cancel, { id }).catch(() => {/* its answer says */});
    };
    return [n, new InStream(pullTarget(localDir, n, remote), send, cancel)];
  }));
  const settled: Promise<HostResult>[] = [];
  await fleet.run(names, { kind: "download", path: remote }, {
    signal: opts.signal,
    waitMs: opts.waitMs,
    collectOutput: false,
    stream: (host) => streams.get(host),
    onResult: (r) => {
      const stream = streams.get(r.host)!;
      const answer = r.status === "ok" ? r.data as DownloadResult : null;
      const done = stream.settle(answer).then((problem): HostResult => {
        const result: HostResult = problem === null
          ? r.status === "ok"
            ? { ...r, data: { path: stream.target, bytes: answer!.bytes, sha256: answer!.sha256 } }
            : r
          : { ...r, status: "error", error: problem, data: undefined };
        opts.onResult?.(result);
        return result;
      });
      settled.push(done);
    },
  });
  return await Promise.all(settled);
}
