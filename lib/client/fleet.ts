/**
 * The many-server core of the client: a set of host links, connected with
 * bounded concurrency, and fan-out of one command to many hosts with every
 * host's outcome classified into a terminal status. A slow, dead or
 * misbehaving host never holds up the others.
 * @module
 */

import { abortable } from "../async.ts";
import { ConnectionClosedError, RemoteError, TimeoutError } from "../protocol/errors.ts";
import { ERROR_CODES, FEATURES } from "../protocol/constants.ts";
import type { TokenKey } from "../protocol/auth.ts";
import type { SigningIdentity } from "../protocol/handshake.ts";
import type { CallEnd, Json, JsonObject, RequestId } from "../protocol/messages.ts";
import type { RemoteCommand } from "../grammar/command.ts";
import { toRequest } from "../grammar/params.ts";
import { REMOTE_SPECS } from "../grammar/remote_table.ts";
import { CALL_END, MalformedResultError } from "../grammar/result_check.ts";
import { INFO } from "../grammar/commands/metrics.ts";
import { vitalsOf } from "../grammar/commands/vitals.ts";
import type { RemoteSpec } from "../grammar/spec.ts";
import { byeText, DEFAULT_TIMINGS, HostLink, type LinkTimings } from "./host_link.ts";
import { Heartbeats } from "./heartbeats.ts";
import type { Dialer, Endpoint } from "../protocol/transport.ts";
import { serverKey } from "./server_key.ts";
import type { Fleet as FleetInterface } from "./fleet_api.ts";
import { type CapturedOutput, type CaptureOptions, OutputCapture } from "./output_capture.ts";
import { releaseAfterFanout } from "./heap_release.ts";

/** The terminal status of one host's part in a fan-out (stable `--json` values). */
export type HostStatus =
  | "ok"
  | "nonzero"
  | "timeout"
  | "unreachable"
  | "auth_failed"
  | "error"
  | "cancelled"
  /** The client itself was too busy to service the host in time (loop_lag.ts): not the host's fault. */
  | "overloaded";

/** One host's outcome of one command. */
export interface HostResult {
  host: string;
  status: HostStatus;
  /** Metric data (metric commands) or the CallEnd (ping, exec). */
  data?: Json;
  exitCode?: number | null;
  signal?: string | null;
  /** The output kept (exec, ping): all of it, or its start when `outputShortened`. */
  stdout?: string;
  stderr?: string;
  /** Bytes of UTF-8 the host sent on each stream, whatever was kept. */
  stdoutBytes?: number;
  stderrBytes?: number;
  /** The kept `stdout`/`stderr` are less than the host sent (see `RunOptions.capture`). */
  outputShortened?: boolean;
  /** When shortened and hashed: equal exactly for hosts that sent identical output. */
  outputDigest?: string;
  /** The server cut the output at its cap. */
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
  /**
   * Ctrl-C, a signal: cancels the command on every host (the servers kill its
   * processes) and keeps it from being sent to hosts not yet reached. A string
   * `reason` (`cancelled by SIGTERM`) is what the cancelled results say.
   */
  signal?: AbortSignal;
  /**
   * Stop waiting: every host that has not answered gets a `cancelled` result
   * at once, and whatever it sends later is dropped (never reaches the callbacks).
   */
  stopWaiting?: AbortSignal;
  /** How long the client waits for each host's answer (client wait timeout). */
  waitMs?: number;
  /** The most hosts asked at once in this run (direct links); default the fleet's `fanout`. */
  fanout?: number;
  /** Streamed output as it arrives. */
  onOutput?: (host: string, stream: "stdout" | "stderr", data: string) => void;
  /**
   * Streamed output as raw bytes: when given, exec and ping ask each server that
   * offers it (`rawOutput`, protocol.md §5) for bytes instead of text, and its
   * output comes here rather than to `onOutput`. The bytes are a view valid only
   * during the call: write them out or copy them at once.
   */
  onOutputBytes?: (host: string, stream: "stdout" | "stderr", bytes: Uint8Array) => void;
  /** Each host's result as soon as it is known. */
  onResult?: (result: HostResult) => void;
  /** Whether to keep stdout/stderr in the results (for gathering and --json); default true. */
  collectOutput?: boolean;
  /** How much of each host's output to keep, and whether to hash it; default all of it. */
  capture?: CaptureOptions;
  /**
   * The stream each host's call carries (push, pull, exec input): told the
   * call's id and its `ready`/`chunk`/`ack` notifications, and `finish()`ed
   * once the host has its result. With it every host's call starts at once
   * (no fan-out bound): one source feeds them all, so none may wait for another.
   */
  stream?: (host: string) => CallStreamHandler | undefined;
  /**
   * One-shot pipeline (default false): each fan-out slot connects a host just
   * before its command and closes it just after, so open connections (and
   * memory) grow with the fan-out, not with the number of hosts, the first
   * answers come as soon as the first hosts are done, and each connect
   * deadline starts when its slot takes the host.
   */
  connectEach?: boolean;
}

/** What a stream needs to hear of its call (see `RunOptions.stream`). */
export interface CallStreamHandler {
  setId(id: RequestId): void;
  onNotification(method: string, params: JsonObject, payload?: Uint8Array): void;
  finish(): void;
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

/** Why a run was cancelled, as its results say it: the abort reason when it is text. */
function cancelText(signal: AbortSignal | undefined): string {
  const reason = signal?.reason;
  return typeof reason === "string" && reason !== "" ? reason : "cancelled";
}

/** A promise that resolves when `signal` aborts (at once if it has); `dispose` drops the listener. */
function whenAborted(signal: AbortSignal): { aborted: Promise<void>; dispose(): void } {
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => onAbort = resolve);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return { aborted, dispose: () => signal.removeEventListener("abort", onAbort) };
}

/** What a host whose answer is no longer awaited resolves to. */
const STOPPED: unique symbol = Symbol("stopped waiting");

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
export class Fleet implements FleetInterface {
  /** Direct connections, one per server. */
  readonly transport = "direct" as const;
  #links = new Map<string, HostLink>();
  #timings: Partial<LinkTimings>;
  /** One heartbeat timer for every link (none when heartbeats are off). */
  #heartbeats: Heartbeats | null;
  /** How many hosts are contacted at once. */
  fanout: number;
  /** Called whenever any link changes state (for live views). */
  onChange: (link: HostLink) => void = () => {};

  /** Create an empty fleet. */
  constructor(timings: Partial<LinkTimings> = {}, fanout = DEFAULT_FANOUT) {
    this.#timings = timings;
    this.fanout = fanout;
    const every = timings.heartbeatMs ?? DEFAULT_TIMINGS.heartbeatMs;
    this.#heartbeats = every > 0 ? new Heartbeats(every) : null;
  }

  /** All links, in the order they were added. */
  get links(): HostLink[] {
    return [...this.#links.values()];
  }

  /** The link named `name`, if any. */
  get(name: string): HostLink | undefined {
    return this.#links.get(name);
  }

  /**
   * The host that is the server at `address` (same address and port, see
   * server_key.ts), whatever its name, if any.
   */
  findServer(address: Endpoint): HostLink | undefined {
    const key = serverKey(address);
    return this.links.find((l) => serverKey(l.endpoint) === key);
  }

  /**
   * Add a host (replacing a closed one of the same name); throws if the name is
   * taken. Two links to one server are allowed here (the benchmarks open many);
   * the console and the command line keep one entry per server (see setup.ts).
   */
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
      this.#heartbeats,
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

  /**
   * Connect the named hosts (default all), `fanout` at a time; resolves when
   * each is up or failed. When `signal` aborts, it stops: hosts not up yet are
   * closed (an attempt in its handshake is cut short) and it resolves soon after.
   */
  async connect(
    names?: readonly string[],
    onProgress?: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const links = names
      ? names.map((n) => this.#links.get(n)).filter((l) => l !== undefined)
      : this.links;
    let done = 0;
    const all = boundedAll(links, this.fanout, async (link) => {
      if (signal?.aborted) return;
      await link.connect();
      if (!signal?.aborted) onProgress?.(++done, links.length);
    });
    if (!signal) {
      await all;
      return;
    }
    // An abort ends the wait (the links still connecting are closed below); a failure of
    // the connects themselves still throws.
    await abortable(all, signal).catch((err) => {
      if (!signal.aborted) throw err;
    });
    if (signal.aborted) {
      await Promise.all(links.filter((l) => l.state !== "up").map((l) => l.close()));
    }
    await all;
  }

  /** Run one command on the named hosts, concurrently (bounded); one result per host, in order. */
  async run(
    names: readonly string[],
    cmd: RemoteCommand,
    opts: RunOptions = {},
  ): Promise<HostResult[]> {
    const { method, params } = toRequest(cmd);
    const spec: RemoteSpec = REMOTE_SPECS[cmd.kind];
    const stop = opts.stopWaiting ? whenAborted(opts.stopWaiting) : null;
    const stopped = () => opts.stopWaiting?.aborted === true;
    // Output that arrives after the run stopped waiting belongs to nobody.
    const onOutput = opts.onOutput &&
      ((host: string, stream: "stdout" | "stderr", data: string) => {
        if (!stopped()) opts.onOutput!(host, stream, data);
      });
    const onOutputBytes = opts.onOutputBytes &&
      ((host: string, stream: "stdout" | "stderr", bytes: Uint8Array) => {
        if (!stopped()) opts.onOutputBytes!(host, stream, bytes);
      });
    try {
      const bound = opts.stream
        ? Math.max(1, names.length)
        : Math.max(1, opts.fanout ?? this.fanout);
      return await boundedAll(names, bound, async (name) => {
        const started = performance.now();
        const request = { method, params, spec };
        const answer = stopped()
          ? null
          : opts.connectEach
          ? this.#connectRunClose(name, request, cmd, { ...opts, onOutput, onOutputBytes })
          : this.#runOne(name, request, cmd, { ...opts, onOutput, onOutputBytes });
        const gaveUp = stop?.aborted.then((): typeof STOPPED => STOPPED);
        const outcome = answer === null
          ? STOPPED
          : gaveUp
          ? await Promise.race([answer, gaveUp])
          : await answer;
        let result: HostResult;
        if (outcome === STOPPED) {
          // Nobody waits for it any more; it ends by itself (answer, wait timeout or close).
          answer?.catch(() => {});
          result = {
            host: name,
            status: "cancelled",
            error: `${cancelText(opts.signal)}; stopped waiting for an answer`,
            durationMs: Math.round(performance.now() - started),
          };
        } else {
          result = outcome;
        }
        const role = this.#links.get(name)?.status().role;
        if (role) result.role = role;
        opts.stream?.(name)?.finish();
        opts.onResult?.(result);
        if (result.status === "ok" && (cmd.kind === "disconnect" || cmd.kind === "kill")) {
          // The user ended this session on purpose: do not reconnect behind their back.
          await this.#links.get(name)?.close();
        }
        return result;
      });
    } finally {
      stop?.dispose();
      // A one-shot's pipeline (connectEach) ends with the process: nothing to give back.
      if (!opts.connectEach) releaseAfterFanout(names.length);
    }
  }

  /**
   * The pipeline's unit of work: connect one host, run the command, close. A
   * metric query goes out in the same write as the auth request (pipelined,
   * `HostLink.connectWithCall`): one round trip and one write fewer per host;
   * it reveals and changes nothing, so it may leave before the server proved
   * itself. A cancel while connecting cuts the handshake short (the result
   * then says the command was never sent).
   */
  async #connectRunClose(
    name: string,
    request: { method: string; params: Record<string, Json>; spec: RemoteSpec },
    cmd: RemoteCommand,
    opts: RunOptions,
  ): Promise<HostResult> {
    const link = this.#links.get(name);
    let sent: { answer: Promise<Json> } | null = null;
    if (link && !opts.signal?.aborted) {
      const cut = () => link.close();
      opts.signal?.addEventListener("abort", cut, { once: true });
      try {
        // Not `vitals`: whether the server has it is known only from its hello (it asks `info`).
        if (request.spec.metric === true && !opts.stream && cmd.kind !== "vitals") {
          // `last`: the server may close once it has answered, as the link is for this call.
          sent = await link.connectWithCall(request.method, request.params, {
            signal: opts.signal,
            timeoutMs: opts.waitMs,
          }, true);
        } else {
          await link.connect();
        }
      } finally {
        opts.signal?.removeEventListener("abort", cut);
      }
    }
    try {
      return await this.#runOne(name, request, cmd, opts, sent?.answer);
    } finally {
      await link?.close();
    }
  }

  /** One host's call and its classified outcome; `sent` is the answer of a call already made. */
  async #runOne(
    name: string,
    request: { method: string; params: Record<string, Json>; spec: RemoteSpec },
    cmd: RemoteCommand,
    opts: RunOptions,
    sent?: Promise<Json>,
  ): Promise<HostResult> {
    const { method, params, spec } = request;
    const started = performance.now();
    const link = this.#links.get(name);
    const elapsed = () => Math.round(performance.now() - started);
    if (!link) return { host: name, status: "error", error: "Unknown host", durationMs: 0 };
    const notSent = `${cancelText(opts.signal)} before the command was sent`;
    if (link.state !== "up") {
      const s = link.status();
      // Still connecting (or closed by the stop) when cancelled: it never got the command.
      if (opts.signal?.aborted && (s.state === "connecting" || s.state === "closed")) {
        return { host: name, status: "cancelled", error: notSent, durationMs: 0 };
      }
      if (s.state === "closed") {
        // Closed on purpose (disconnect): not a host that cannot be reached.
        return { host: name, status: "error", error: "disconnected", durationMs: 0 };
      }
      return {
        host: name,
        status: s.state === "auth_failed"
          ? "auth_failed"
          : link.overloaded
          ? "overloaded"
          : "unreachable",
        error: s.reason ?? s.state,
        durationMs: 0,
      };
    }
    if (opts.signal?.aborted) {
      return { host: name, status: "cancelled", error: notSent, durationMs: 0 };
    }
    const streaming = cmd.kind === "exec" || cmd.kind === "ping";
    const collect = opts.collectOutput ?? true;
    const out = new OutputCapture(opts.capture);
    const stream = opts.stream?.(name);
    // Bytes only from a server that offers them, and only for a caller that takes them.
    const onBytes = streaming && link.features.includes(FEATURES.rawOutput)
      ? opts.onOutputBytes
      : undefined;
    // A server without `vitals` (older, or with the feature off) is asked the `info` every
    // version answers, and the same figures are taken from it.
    const viaInfo = cmd.kind === "vitals" && !link.features.includes(FEATURES.vitals);
    try {
      const asked = viaInfo ? "info" : method;
      const data =
        await (sent ?? link.call(asked, onBytes ? { ...params, rawOutput: true } : params, {
          signal: opts.signal,
          timeoutMs: opts.waitMs,
          ...(stream
            ? {
              onId: (id: RequestId) => stream.setId(id),
              onStream: (m: string, p: JsonObject, payload?: Uint8Array) =>
                stream.onNotification(m, p, payload),
            }
            : {}),
          onOutput: (o) => {
            if (collect) out.add(o.stream, o.data);
            opts.onOutput?.(name, o.stream, o.data);
          },
          ...(onBytes
            ? {
              onOutputBytes: (s: "stdout" | "stderr", bytes: Uint8Array) => {
                if (collect) out.addBytes(s, bytes);
                onBytes(name, s, bytes);
              },
            }
            : {}),
        }));
      if (!streaming) {
        // What a server sent is checked before any view sees it.
        return {
          host: name,
          status: "ok",
          data: viaInfo ? vitalsOf(INFO.result(data, "result")) : spec.result(data, "result"),
          durationMs: elapsed(),
        };
      }
      // Each streaming command's own validator: a CallEnd, and for ping its figures too.
      const end = CALL_END(spec.result(data, "result"), "result");
      return {
        host: name,
        status: end.exitCode === 0 ? "ok" : "nonzero",
        exitCode: end.exitCode,
        signal: end.signal,
        truncated: end.truncated,
        ...(collect ? keptOutput(out.result()) : {}),
        data,
        durationMs: elapsed(),
      };
    } catch (err) {
      const base = {
        host: name,
        durationMs: elapsed(),
        ...(streaming && collect ? keptOutput(out.result()) : {}),
      };
      if (err instanceof MalformedResultError) {
        return { ...base, status: "error", error: err.message };
      }
      if (err instanceof RemoteError) {
        const end = callEndOf(err.data);
        const extra = end
          ? { exitCode: end.exitCode, signal: end.signal, truncated: end.truncated }
          : {};
        if (err.code === ERROR_CODES.cancelled && opts.signal?.aborted) {
          // Our own cancel: say why we cancelled, not the server's "Command cancelled".
          return { ...base, ...extra, status: "cancelled", error: cancelText(opts.signal) };
        }
        if (err.code === ERROR_CODES.cancelled) {
          // Cancelled by the server itself (it is stopping): the host failed us, we did not stop.
          return { ...base, ...extra, status: "unreachable", error: lostMidCommand(link, err) };
        }
        const status: HostStatus = err.code === ERROR_CODES.timeout ? "timeout" : "error";
        return { ...base, ...extra, status, error: olderServer(cmd, err) ?? err.message };
      }
      if (err instanceof TimeoutError) return { ...base, status: "timeout", error: err.message };
      if (err instanceof ConnectionClosedError) {
        // The connection died mid-command: the server was stopped, reset, or the network broke.
        return { ...base, status: "unreachable", error: lostMidCommand(link, err) };
      }
      throw err;
    }
  }

  /** Close every link. */
  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.close()));
  }
}

/** A host result's output fields from what its capture kept. */
function keptOutput(c: CapturedOutput): Partial<HostResult> {
  return {
    stdout: c.stdout,
    stderr: c.stderr,
    stdoutBytes: c.stdoutBytes,
    stderrBytes: c.stderrBytes,
    ...(c.shortened ? { outputShortened: true } : {}),
    ...(c.digest !== undefined ? { outputDigest: c.digest } : {}),
  };
}

/**
 * Why a command ended without its answer because the connection went: the
 * server's own word when it said goodbye (`kill`, SIGTERM, `reset`), else a
 * connection that broke (the server was killed outright, or the network failed).
 */
function lostMidCommand(link: HostLink, err: Error): string {
  const bye = link.lastBye;
  if (bye !== null) return `${byeText(bye)} during the command`;
  return err.message === new ConnectionClosedError().message
    ? "the connection was lost during the command"
    : `the connection was lost during the command: ${err.message}`;
}

/**
 * What an older server's refusal of a newer call means (protocol.md §5.1):
 * `upload`/`download` unknown, or `exec` without the `stdin` field.
 */
function olderServer(cmd: RemoteCommand, err: RemoteError): string | null {
  if (
    err.code === ERROR_CODES.methodNotFound && (cmd.kind === "upload" || cmd.kind === "download")
  ) {
    return `the server does not support ${
      cmd.kind === "upload" ? "push" : "pull"
    } (upgrade rmon-server)`;
  }
  if (
    err.code === ERROR_CODES.invalidParams && cmd.kind === "exec" && cmd.stdin &&
    /unexpected field "stdin"/.test(err.message)
  ) {
    return "the server does not support --stdin (upgrade rmon-server)";
  }
  return null;
}
