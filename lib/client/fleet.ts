/**
 * The many-server core of the client: a set of host links, connected with
 * bounded concurrency, and fan-out of one command to many hosts with every
 * host's outcome classified into a terminal status. A slow, dead or
 * misbehaving host never holds up the others.
 * @module
 */

import { ConnectionClosedError, RemoteError, TimeoutError } from "../protocol/errors.ts";
import { ERROR_CODES } from "../protocol/constants.ts";
import type { TokenKey } from "../protocol/auth.ts";
import type { SigningIdentity } from "../protocol/handshake.ts";
import type { CallEnd, Json } from "../protocol/messages.ts";
import type { RemoteCommand } from "../grammar/command.ts";
import { toRequest } from "../grammar/params.ts";
import { REMOTE_SPECS } from "../grammar/remote_table.ts";
import { CALL_END, MalformedResultError } from "../grammar/result_check.ts";
import type { RemoteSpec } from "../grammar/spec.ts";
import { HostLink, type LinkTimings } from "./host_link.ts";
import type { Dialer, Endpoint } from "../protocol/transport.ts";

/** The terminal status of one host's part in a fan-out (stable `--json` values). */
export type HostStatus =
  | "ok"
  | "nonzero"
  | "timeout"
  | "unreachable"
  | "auth_failed"
  | "error"
  | "cancelled";

/** One host's outcome of one command. */
export interface HostResult {
  host: string;
  status: HostStatus;
  /** Metric data (metric commands) or the CallEnd (ping, exec). */
  data?: Json;
  exitCode?: number | null;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
  truncated?: boolean;
  /** The role the server granted this client (`admin`, `read-only`), when it was connected. */
  role?: string;
  /** Error text for every status but ok and nonzero. */
  error?: string;
  durationMs: number;
}

/** A host to add to the fleet. */
export interface FleetHost {
  name: string;
  endpoint: Endpoint;
  groups: readonly string[];
  /** The shared token (or its key), or null when the host signs in with an operator key only. */
  token: string | TokenKey | null;
  /** The operator key to sign in with, or null (absent: none). */
  identity?: SigningIdentity | null;
  /** How to reach it: plain TCP or TLS with its trust settings (see setup.ts `dialerFor`). */
  dial: Dialer;
}

/** Options of one fan-out. */
export interface RunOptions {
  /** Ctrl-C: cancels the command on every host (the servers kill its processes). */
  signal?: AbortSignal;
  /** How long the client waits for each host's answer (client wait timeout). */
  waitMs?: number;
  /** Streamed output as it arrives. */
  onOutput?: (host: string, stream: "stdout" | "stderr", data: string) => void;
  /** Each host's result as soon as it is known. */
  onResult?: (result: HostResult) => void;
  /** Whether to keep stdout/stderr in the results (for gathering and --json); default true. */
  collectOutput?: boolean;
}

/** The CallEnd a timeout or cancel error carries, if it is a well-formed one. */
function callEndOf(data: unknown): CallEnd | null {
  try {
    return data === undefined ? null : CALL_END(data, "error.data");
  } catch (err) {
    if (err instanceof MalformedResultError) return null; // the error's message still says why
    throw err;
  }
}

/** Default number of hosts contacted at once. */
export const DEFAULT_FANOUT = 64;

/** Run `work` over `items` with at most `limit` in flight. */
export async function boundedAll<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Many host links, addressed by name; see the module doc. */
export class Fleet {
  #links = new Map<string, HostLink>();
  #timings: Partial<LinkTimings>;
  /** How many hosts are contacted at once. */
  fanout: number;
  /** Called whenever any link changes state (for live views). */
  onChange: (link: HostLink) => void = () => {};

  /** Create an empty fleet. */
  constructor(timings: Partial<LinkTimings> = {}, fanout = DEFAULT_FANOUT) {
    this.#timings = timings;
    this.fanout = fanout;
  }

  /** All links, in the order they were added. */
  get links(): HostLink[] {
    return [...this.#links.values()];
  }

  /** The link named `name`, if any. */
  get(name: string): HostLink | undefined {
    return this.#links.get(name);
  }

  /** Add a host (replacing a closed one of the same name); throws if the name is taken. */
  add(host: FleetHost): HostLink {
    const existing = this.#links.get(host.name);
    if (existing && existing.state !== "closed") {
      throw new RangeError(`Cannot add host "${host.name}": the name is already in use`);
    }
    const link = new HostLink(
      host.name,
      host.endpoint,
      host.groups,
      { token: host.token, identity: host.identity ?? null },
      host.dial,
      this.#timings,
      (l) => this.onChange(l),
    );
    this.#links.set(host.name, link);
    return link;
  }

  /** Forget a host, closing its link. */
  async remove(name: string): Promise<void> {
    const link = this.#links.get(name);
    this.#links.delete(name);
    await link?.close();
  }

  /** Connect the named hosts (default all), `fanout` at a time; resolves when each is up or failed. */
  async connect(
    names?: readonly string[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    const links = names
      ? names.map((n) => this.#links.get(n)).filter((l) => l !== undefined)
      : this.links;
    let done = 0;
    await boundedAll(links, this.fanout, async (link) => {
      await link.connect();
      onProgress?.(++done, links.length);
    });
  }

  /** Run one command on the named hosts, concurrently (bounded); one result per host, in order. */
  run(names: readonly string[], cmd: RemoteCommand, opts: RunOptions = {}): Promise<HostResult[]> {
    const { method, params } = toRequest(cmd);
    const spec: RemoteSpec = REMOTE_SPECS[cmd.kind];
    return boundedAll(names, this.fanout, async (name) => {
      const result = await this.#runOne(name, { method, params, spec }, cmd, opts);
      const role = this.#links.get(name)?.status().role;
      if (role) result.role = role;
      opts.onResult?.(result);
      if (result.status === "ok" && (cmd.kind === "disconnect" || cmd.kind === "kill")) {
        // The user ended this session on purpose: do not reconnect behind their back.
        await this.#links.get(name)?.close();
      }
      return result;
    });
  }

  async #runOne(
    name: string,
    request: { method: string; params: Record<string, Json>; spec: RemoteSpec },
    cmd: RemoteCommand,
    opts: RunOptions,
  ): Promise<HostResult> {
    const { method, params, spec } = request;
    const started = performance.now();
    const link = this.#links.get(name);
    const elapsed = () => Math.round(performance.now() - started);
    if (!link) return { host: name, status: "error", error: "Unknown host", durationMs: 0 };
    if (link.state !== "up") {
      const s = link.status();
      return {
        host: name,
        status: s.state === "auth_failed" ? "auth_failed" : "unreachable",
        error: s.reason ?? s.state,
        durationMs: 0,
      };
    }
    const streaming = cmd.kind === "exec" || cmd.kind === "ping";
    const collect = opts.collectOutput ?? true;
    const out = { stdout: [] as string[], stderr: [] as string[] };
    try {
      const data = await link.call(method, params, {
        signal: opts.signal,
        timeoutMs: opts.waitMs,
        onOutput: (o) => {
          if (collect) out[o.stream].push(o.data);
          opts.onOutput?.(name, o.stream, o.data);
        },
      });
      if (!streaming) {
        // What a server sent is checked before any view sees it.
        return {
          host: name,
          status: "ok",
          data: spec.result(data, "result"),
          durationMs: elapsed(),
        };
      }
      const end = CALL_END(data, "result");
      return {
        host: name,
        status: end.exitCode === 0 ? "ok" : "nonzero",
        exitCode: end.exitCode,
        signal: end.signal,
        truncated: end.truncated,
        ...(collect ? { stdout: out.stdout.join(""), stderr: out.stderr.join("") } : {}),
        data,
        durationMs: elapsed(),
      };
    } catch (err) {
      const base = {
        host: name,
        durationMs: elapsed(),
        ...(streaming && collect
          ? { stdout: out.stdout.join(""), stderr: out.stderr.join("") }
          : {}),
      };
      if (err instanceof MalformedResultError) {
        return { ...base, status: "error", error: err.message };
      }
      if (err instanceof RemoteError) {
        const end = callEndOf(err.data);
        const extra = end
          ? { exitCode: end.exitCode, signal: end.signal, truncated: end.truncated }
          : {};
        const status: HostStatus = err.code === ERROR_CODES.timeout
          ? "timeout"
          : err.code === ERROR_CODES.cancelled
          ? "cancelled"
          : "error";
        return { ...base, ...extra, status, error: err.message };
      }
      if (err instanceof TimeoutError) return { ...base, status: "timeout", error: err.message };
      if (err instanceof ConnectionClosedError) {
        // The connection died mid-command, e.g. the server was killed.
        return { ...base, status: "unreachable", error: err.message };
      }
      throw err;
    }
  }

  /** Close every link. */
  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.close()));
  }
}
