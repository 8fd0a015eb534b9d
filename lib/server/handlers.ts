/**
 * The server's command handlers: one per method, dispatched through an
 * explicit allowlist (a `Map`), never by property lookup on an object, so
 * names like `__proto__` or `constructor` can only ever be "method not found".
 * @module
 */

import { ERROR_CODES, LIMITS, METHODS, TIMEOUTS } from "../protocol/constants.ts";
import type { CallEnd, Json, JsonObject, RequestId } from "../protocol/messages.ts";
import type { RemoteCommand } from "../grammar/command.ts";
import { clampPingCount } from "../grammar/params.ts";
import { RemoteError } from "../errors.ts";
import type { Role } from "../protocol/handshake.ts";
import { collectAll, COLLECTORS } from "../sysinfo/all.ts";
import { childEnvironment } from "../exec/child_env.ts";
import { runProcess, type RunResult } from "../exec/process.ts";
import { shellArgv } from "../exec/shell.ts";
import { pingArgv } from "../exec/ping.ts";

/** What a handler may use: its call's identity, cancellation, output and lifecycle hooks. */
export interface CallContext {
  /** The request id, which tags this call's output notifications. */
  id: RequestId;
  /** Aborted by `cancel`, by the connection closing, or by shutdown. */
  signal: AbortSignal;
  /** Send a chunk of output; resolves when written (backpressure). */
  output(stream: "stdout" | "stderr", data: string): Promise<void>;
  /** The server runs `--read-only`: nobody may act. */
  readOnly: boolean;
  /** What the caller's identity may do. */
  role: Role;
  /** Who the caller is: an operator key's name, or `token`. */
  user: string;
  maxOutputBytes: number;
  /** Server variables the children get besides the minimal set (see `childEnvironment`). */
  execEnv: readonly string[];
  /** Lifecycle actions, run after the handler's answer has been sent. */
  after(action: "disconnect" | "reset" | "kill"): void;
}

/** A handler: validated command in, JSON result out (or a thrown error). */
export type Handler = (cmd: RemoteCommand, ctx: CallContext) => Promise<Json>;

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
function endOfCall(r: RunResult, what: string, timeoutMs: number): Json {
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

const metric = (name: keyof typeof COLLECTORS): Handler => async (_cmd, ctx) =>
  await COLLECTORS[name].collect(ctx.signal) as unknown as JsonObject;

const exec: Handler = async (cmd, ctx) => {
  if (cmd.kind !== "exec") throw new TypeError("Cannot run exec: wrong command");
  forbidIfReadOnly(ctx, "exec");
  const argv = shellArgv(cmd.shell, cmd.command);
  const timeoutMs = cmd.timeoutMs ?? TIMEOUTS.execTimeoutMs;
  const result = await runProcess({
    ...argv,
    signal: ctx.signal,
    timeoutMs,
    maxOutputBytes: Math.min(cmd.maxOutputBytes ?? ctx.maxOutputBytes, ctx.maxOutputBytes),
    env: callEnv(ctx),
    onOutput: ctx.output,
  });
  return endOfCall(result, "Command", timeoutMs);
};

const ping: Handler = async (cmd, ctx) => {
  if (cmd.kind !== "ping") throw new TypeError("Cannot run ping: wrong command");
  const count = clampPingCount(cmd.count);
  // One second per echo request plus slack: a dead host cannot hold the call open.
  const timeoutMs = count * 1000 + TIMEOUTS.pingSlackMs;
  const result = await runProcess({
    ...pingArgv(cmd.host, count),
    signal: ctx.signal,
    timeoutMs,
    maxOutputBytes: LIMITS.outputChunkBytes,
    env: callEnv(ctx),
    onOutput: ctx.output,
  });
  return endOfCall(result, "Ping", timeoutMs);
};

const lifecycle = (action: "disconnect" | "reset" | "kill"): Handler => (_cmd, ctx) => {
  if (action !== "disconnect") forbidIfReadOnly(ctx, action);
  ctx.after(action);
  return Promise.resolve({ ok: true });
};

/** The allowlist of command methods (auth, cancel and heartbeat are handled by the session). */
export const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  [METHODS.ram, metric("ram")],
  [METHODS.cpu, metric("cpu")],
  [METHODS.os, metric("os")],
  [METHODS.name, metric("name")],
  [METHODS.ip, metric("ip")],
  [METHODS.disk, metric("disk")],
  [METHODS.uptime, metric("uptime")],
  [METHODS.info, async () => await collectAll() as unknown as JsonObject],
  [METHODS.ping, ping],
  [METHODS.exec, exec],
  [METHODS.disconnect, lifecycle("disconnect")],
  [METHODS.reset, lifecycle("reset")],
  [METHODS.kill, lifecycle("kill")],
]);
