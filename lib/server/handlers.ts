/**
 * The server's command handlers: one per remote command kind, in a record the
 * compiler checks is complete, each typed by its command and its result
 * (lib/grammar/command.ts `RemoteResultMap`).
 * @module
 */

import { ERROR_CODES, LIMITS, TIMEOUTS } from "../protocol/constants.ts";
import type { CallEnd, RequestId } from "../protocol/messages.ts";
import type { RemoteCommandOf, RemoteKind, RemoteResultOf } from "../grammar/command.ts";
import { clampPingCount } from "../grammar/params.ts";
import { RemoteError } from "../protocol/errors.ts";
import type { Role } from "../protocol/handshake.ts";
import { collectAll, COLLECTORS, collectVitals } from "../sysinfo/all.ts";
import { netTrafficCollector } from "../sysinfo/net_traffic.ts";
import { loadCollector } from "../sysinfo/load.ts";
import { DEFAULT_TOP_COUNT } from "../grammar/commands/top.ts";
import { childEnvironment } from "../exec/child_env.ts";
import { runProcess, type RunResult, SpawnError } from "../exec/process.ts";
import { shellArgv } from "../exec/shell.ts";
import { pingArgv } from "../exec/ping.ts";
import type { CallStream } from "./call_stream.ts";
import { parsePingOutput } from "../exec/ping_output.ts";

/** What a handler may use: its call's identity, cancellation, output and lifecycle hooks. */
export interface CallContext {
  /** The request id, which tags this call's output notifications. */
  id: RequestId;
  /** Aborted by `cancel`, by the connection closing, or by shutdown. */
  signal: AbortSignal;
  /** Send a chunk of output; resolves when written (backpressure). */
  output(stream: "stdout" | "stderr", data: string): Promise<void>;
  /**
   * Present when the call asked for raw output (protocol.md §5): send a chunk
   * of output as bytes; resolves when written, after which they may change.
   */
  outputBytes?(stream: "stdout" | "stderr", bytes: Uint8Array): Promise<void>;
  /** The server runs `--read-only`: nobody may act. */
  readOnly: boolean;
  /** What the caller's identity may do. */
  role: Role;
  /** Who the caller is: an operator key's name, or `token`. */
  user: string;
  maxOutputBytes: number;
  /** Largest file `upload` accepts (`--max-upload`). */
  maxUploadBytes: number;
  /** This call's stream of chunks (upload, download, exec input); unused by other calls. */
  stream: CallStream;
  /** Server variables the children get besides the minimal set (see `childEnvironment`). */
  execEnv: readonly string[];
  /** Lifecycle actions, run after the handler's answer has been sent. */
  after(action: "disconnect" | "reset" | "kill"): void;
}

/** A handler: the validated command of its kind in, that kind's result out (or a thrown error). */
export type Handler<K extends RemoteKind> = (
  cmd: RemoteCommandOf<K>,
  ctx: CallContext,
) => Promise<RemoteResultOf<K>>;

function forbidIfReadOnly(ctx: CallContext, what: string): void {
  if (ctx.readOnly) {
    throw new RemoteError({
      code: ERROR_CODES.forbidden,
      message: `Cannot run ${what}: the server is read-only`,
    });
  }
  if (ctx.role !== "admin") {
    throw new RemoteError({
      code: ERROR_CODES.forbidden,
      message: `Cannot run ${what}: ${ctx.user} has the ${ctx.role} role`,
    });
  }
}

/** Turn a finished process into the call's answer: CallEnd, or a timeout/cancelled error. */
function endOfCall(r: RunResult, what: string, timeoutMs: number): CallEnd {
  const end: CallEnd = {
    exitCode: r.exitCode,
    signal: r.signal,
    durationMs: r.durationMs,
    truncated: r.truncated,
    droppedBytes: r.droppedBytes,
  };
  if (r.timedOut) {
    throw new RemoteError({
      code: ERROR_CODES.timeout,
      message: `${what} timed out after ${timeoutMs} ms`,
      data: { ...end },
    });
  }
  if (r.cancelled) {
    throw new RemoteError({
      code: ERROR_CODES.cancelled,
      message: `${what} cancelled`,
      data: { ...end },
    });
  }
  return { ...end };
}

/** The environment of a call's child: the minimal set plus `--exec-env`, read now. */
function callEnv(ctx: CallContext): Record<string, string> {
  return childEnvironment(Deno.env.toObject(), Deno.build.os, ctx.execEnv);
}

/**
 * Run a process for a call: a program that cannot be started (missing, not
 * executable) is the server's `unavailable` answer, naming it.
 */
async function run(opts: Parameters<typeof runProcess>[0]): Promise<RunResult> {
  try {
    return await runProcess(opts);
  } catch (err) {
    if (!(err instanceof SpawnError)) throw err;
    throw new RemoteError({ code: ERROR_CODES.unavailable, message: err.message }, { cause: err });
  }
}

const exec: Handler<"exec"> = async (cmd, ctx) => {
  forbidIfReadOnly(ctx, "exec");
  const argv = shellArgv(cmd.shell, cmd.command);
  const timeoutMs = cmd.timeoutMs ?? TIMEOUTS.execTimeoutMs;
  const result = await run({
    ...argv,
    signal: ctx.signal,
    timeoutMs,
    maxOutputBytes: Math.min(cmd.maxOutputBytes ?? ctx.maxOutputBytes, ctx.maxOutputBytes),
    env: callEnv(ctx),
    onOutput: ctx.output,
    ...(ctx.outputBytes ? { onOutputBytes: ctx.outputBytes } : {}),
    ...(cmd.stdin ? { input: (ended: AbortSignal) => inputOf(ctx, ended) } : {}),
  });
  return endOfCall(result, "Command", timeoutMs);
};

/**
 * The client's input to an exec, as the process module takes it: `ready`
 * opens the stream, and each chunk is acknowledged once the child's pipe has
 * taken it (the consumer asks for the next), so input waits on a slow command.
 */
async function* inputOf(ctx: CallContext, ended: AbortSignal): AsyncGenerator<Uint8Array> {
  await ctx.stream.ready();
  const signal = AbortSignal.any([ctx.signal, ended]);
  while (true) {
    const chunk = await ctx.stream.next(signal);
    if (chunk.data.length > 0) yield chunk.data;
    ctx.stream.ack(chunk.seq);
    if (chunk.eof) return;
  }
}

// The file handlers are loaded at their first use: they hash with node:crypto, whose loading
// costs the server ~8 MiB at start (Deno's Node crypto layer) that most servers never need.
const upload: Handler<"upload"> = async (cmd, ctx) => {
  forbidIfReadOnly(ctx, "upload");
  const { receiveUpload } = await import("./file_upload.ts");
  return await receiveUpload(cmd, ctx);
};

const download: Handler<"download"> = async (cmd, ctx) => {
  // Reading files is as much the server user's power as writing them: read-only refuses both.
  forbidIfReadOnly(ctx, "download");
  const { sendDownload } = await import("./file_download.ts");
  return await sendDownload(cmd, ctx);
};

const ping: Handler<"ping"> = async (cmd, ctx) => {
  const count = clampPingCount(cmd.count);
  // One second per echo request plus slack: a dead host cannot hold the call open.
  const timeoutMs = count * 1000 + TIMEOUTS.pingSlackMs;
  // Kept to read the figures from; ping's output is capped at one chunk, so this stays small.
  let stdout = "";
  const result = await run({
    ...pingArgv(cmd.host, count),
    signal: ctx.signal,
    timeoutMs,
    maxOutputBytes: LIMITS.outputChunkBytes,
    env: callEnv(ctx),
    onOutput: (stream, data) => {
      if (stream === "stdout") stdout += data;
      return ctx.output(stream, data);
    },
  });
  return { ...endOfCall(result, "Ping", timeoutMs), stats: parsePingOutput(stdout) };
};

const lifecycle =
  <K extends "disconnect" | "reset" | "kill">(action: K): Handler<K> => (_cmd, ctx) => {
    if (action !== "disconnect") forbidIfReadOnly(ctx, action);
    ctx.after(action);
    return Promise.resolve({ ok: true });
  };

/**
 * The handler of every command, by its tag. A record over every remote kind:
 * a missing or mistyped handler is a compile error. Looked up only by the tag
 * of a command the grammar built from a known method, so names like
 * `__proto__` are "method not found" long before they could reach it.
 * (auth, cancel and heartbeat are the session's own.)
 */
export const HANDLERS: { readonly [K in RemoteKind]: Handler<K> } = {
  ram: (_cmd, ctx) => COLLECTORS.ram.collect(ctx.signal),
  cpu: (_cmd, ctx) => COLLECTORS.cpu.collect(ctx.signal),
  load: (_cmd, ctx) => loadCollector.collect(ctx.signal),
  os: (_cmd, ctx) => COLLECTORS.os.collect(ctx.signal),
  name: (_cmd, ctx) => COLLECTORS.name.collect(ctx.signal),
  ip: (_cmd, ctx) => COLLECTORS.ip.collect(ctx.signal),
  disk: (_cmd, ctx) => COLLECTORS.disk.collect(ctx.signal),
  uptime: (_cmd, ctx) => COLLECTORS.uptime.collect(ctx.signal),
  net: (_cmd, ctx) => netTrafficCollector.collect(ctx.signal),
  // Loaded on first use, like the collectors' node modules: it is seldom asked for.
  top: async (cmd, ctx) =>
    (await import("../sysinfo/top.ts")).topProcesses(cmd.count ?? DEFAULT_TOP_COUNT, ctx.signal),
  info: (_cmd, ctx) => collectAll(ctx.signal),
  vitals: (_cmd, ctx) => collectVitals(ctx.signal),
  ping,
  exec,
  upload,
  download,
  disconnect: lifecycle("disconnect"),
  reset: lifecycle("reset"),
  kill: lifecycle("kill"),
};

/** Run the handler of `cmd` (whose tag is `kind`). */
export function dispatch<K extends RemoteKind>(
  kind: K,
  cmd: RemoteCommandOf<K>,
  ctx: CallContext,
): Promise<RemoteResultOf<K>> {
  const handler: Handler<K> = HANDLERS[kind];
  return handler(cmd, ctx);
}
