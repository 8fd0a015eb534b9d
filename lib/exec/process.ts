/**
 * Subprocess layer: the one module that runs child processes (exec and ping).
 *
 * Every child gets stdin closed, stdout/stderr piped apart and a minimal
 * environment (`child_env.ts`: never the server's token), leads its own
 * process group on Unix (so a timeout or cancel can stop everything it started),
 * and is awaited in `finally` together with both stream readers and every timer.
 * When a call ends, its whole process group is stopped, so nothing it started
 * outlives it unless it left the group (`setsid`; see docs/security.md); a call
 * never leaks a resource.
 *
 * Output is streamed, not collected: chunks are decoded with one streaming UTF-8
 * decoder per stream and handed to `onOutput`, which is awaited so a slow reader
 * slows the child down instead of growing server memory.
 * @module
 */

import { deadline } from "../async.ts";
import { LIMITS, TIMEOUTS } from "../protocol/constants.ts";
import type { CallEnd } from "../protocol/messages.ts";
import { childEnvironment, isReservedEnvName } from "./child_env.ts";

/** Which output stream a chunk came from. */
export type OutputStream = "stdout" | "stderr";

/** What to run and how to bound it. */
export interface RunOptions {
  /** Program to start (looked up on `PATH`); never a shell unless the caller built that argv. */
  cmd: string;
  args: string[];
  /** Aborting stops the process tree, like a timeout; the result has `cancelled: true`. */
  signal?: AbortSignal;
  /** Deadline for the main process, in milliseconds. */
  timeoutMs: number;
  /**
   * Cap on stdout plus stderr, in bytes. Output past it is never read: the
   * pipes are closed and the process tree is stopped (the result has `truncated`).
   */
  maxOutputBytes: number;
  /** Time between SIGTERM and SIGKILL. Default `TIMEOUTS.killGraceMs`. */
  killGraceMs?: number;
  /** Pass `args` to Windows verbatim (needed by `cmd.exe /s /c`). Default false. */
  windowsRawArguments?: boolean;
  /**
   * The child's whole environment; `RMON_*` variables are dropped from it whatever
   * is given. Default: the minimal set of `childEnvironment()` from the server's own.
   */
  env?: Record<string, string>;
  /**
   * Receives output as it is produced: one call per chunk, already decoded,
   * whose UTF-8 encoding is at most `LIMITS.outputChunkBytes` bytes. Calls never overlap, and the
   * next chunk waits for the returned promise. If it throws, the process tree is
   * stopped and `runProcess()` rejects with that error.
   */
  onOutput: (stream: OutputStream, text: string) => void | Promise<void>;
  /**
   * When given, output goes here instead, as the bytes read from the pipe: no
   * decoding, no replacement of invalid UTF-8, at most `LIMITS.outputChunkBytes`
   * per call. The bytes are a buffer reused for the next read: take them before
   * the returned promise resolves. Calls never overlap, as for `onOutput`.
   */
  onOutputBytes?: (stream: OutputStream, bytes: Uint8Array) => void | Promise<void>;
  /**
   * The child's stdin, when given (else stdin is closed): each chunk is written
   * to the pipe before the next is asked for, so a command that reads slowly
   * holds the input back; stdin is closed at the end. Input left when the child
   * has closed its stdin is taken and dropped. The signal it gets fires once the
   * main process has exited (or the call is stopped): then it should end. If it
   * throws otherwise, the process tree is stopped and `runProcess()` rejects.
   */
  input?: (signal: AbortSignal) => AsyncIterable<Uint8Array>;
}

/** How a run ended. */
export interface RunResult extends CallEnd {
  /** The deadline passed and the process tree was stopped. */
  timedOut: boolean;
  /** The abort signal fired before the main process exited, and the tree was stopped. */
  cancelled: boolean;
}

/** A program could not be started: missing, not executable, or not permitted. */
export class SpawnError extends Error {
  /** The program that failed to start. */
  readonly cmd: string;
  /** Create a spawn error (the server's handlers answer it as `unavailable`). */
  constructor(cmd: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SpawnError";
    this.cmd = cmd;
  }
}

/**
 * How long the rest of a process group may keep writing after its main process
 * exits (e.g. `slow &` in a shell), before it is stopped so the call can end.
 */
export const DRAIN_AFTER_EXIT_MS = 250;

/** setTimeout fires at once for delays above this, so longer timeouts are refused. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const WINDOWS = Deno.build.os === "windows";

/** The argv of `taskkill` that force-stops a process and all its descendants on Windows. */
export function windowsKillArgv(pid: number): { cmd: string; args: string[] } {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RangeError(`Cannot build kill command: "${pid}" is not a process id`);
  }
  return { cmd: "taskkill", args: ["/pid", String(pid), "/T", "/F"] };
}

/**
 * Run a program to completion, streaming its output to `opts.onOutput`.
 *
 * When the output passes `opts.maxOutputBytes`, reading stops there: both pipes
 * are closed and the tree is stopped as on timeout, and the result says
 * `truncated` (the work past the cap would only be thrown away).
 *
 * On timeout or abort the whole process tree gets SIGTERM, then SIGKILL after the
 * grace period (`taskkill /T /F` on Windows). The call resolves once the main
 * process has exited and both pipes are closed; members of the group that hold
 * the pipes open after the main process exits get {@linkcode DRAIN_AFTER_EXIT_MS}
 * and are then stopped too. On Unix whatever is left of the group when the call
 * ends (e.g. a background job with its output redirected) gets SIGTERM and, at
 * once, SIGKILL; only a process that left the group (`setsid`) survives.
 *
 * @throws {SpawnError} The program could not be started.
 * @throws {RangeError} An option is out of range.
 */
export async function runProcess(opts: RunOptions): Promise<RunResult> {
  checkOptions(opts);
  const started = performance.now();
  if (opts.signal?.aborted) {
    return {
      exitCode: null,
      signal: null,
      durationMs: 0,
      truncated: false,
      droppedBytes: 0,
      timedOut: false,
      cancelled: true,
    };
  }
  const graceMs = opts.killGraceMs ?? TIMEOUTS.killGraceMs;
  const child = spawn(opts);
  const killer = new TreeKiller(child, graceMs);
  // Past the cap the rest would only be read and thrown away: stop the tree and close
  // its pipes instead (a writer that ignores SIGTERM then dies of SIGPIPE).
  const stopAtCap = () => {
    killer.kill();
    for (const pump of pumps) pump.cancel();
  };
  const sink = new OutputSink(
    opts.maxOutputBytes,
    opts.onOutputBytes ?? opts.onOutput,
    () => killer.kill(),
    stopAtCap,
    opts.onOutputBytes !== undefined,
  );
  const pumps: StreamPump[] = [
    new StreamPump(child.stdout, "stdout", sink),
    new StreamPump(child.stderr, "stderr", sink),
  ];
  const pumped = Promise.all(pumps.map((pump) => pump.done));
  const inputEnd = new AbortController();
  const fed = opts.input
    ? feedInput(child.stdin, opts.input(inputEnd.signal), inputEnd.signal, sink)
    : Promise.resolve();

  let mainRunning = true;
  let timedOut = false;
  let cancelled = false;
  const onAbort = () => {
    if (mainRunning) cancelled = true;
    killer.kill();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    killer.kill();
  }, opts.timeoutMs);

  let status: Deno.CommandStatus | undefined;
  try {
    status = await child.status;
    mainRunning = false;
    inputEnd.abort();
    clearTimeout(timer);
    if (!await settlesWithin(pumped, DRAIN_AFTER_EXIT_MS)) {
      // Leftovers of our group still hold the pipes: they are part of this call.
      killer.kill();
      if (!await settlesWithin(pumped, graceMs + DRAIN_AFTER_EXIT_MS)) {
        // Only a process that left the group (setsid) can hold them now; stop listening.
        for (const pump of pumps) pump.cancel();
      }
    }
    // The call ends here, and so does what is left of its group: a background job
    // that holds no pipe (`cmd >/dev/null &`, a double fork) would otherwise live on.
    // On Windows the tree under an exited process is out of taskkill's reach anyway.
    if (!WINDOWS) killer.kill();
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    if (status === undefined) {
      killer.kill();
      for (const pump of pumps) pump.cancel();
    }
    inputEnd.abort();
    await Promise.allSettled([child.status, pumped, fed]);
    await killer.finish();
  }

  if (sink.failed) throw sink.error;
  return {
    exitCode: status.signal === null ? status.code : null,
    signal: status.signal,
    durationMs: Math.round(performance.now() - started),
    truncated: sink.truncated,
    droppedBytes: sink.droppedBytes,
    timedOut,
    cancelled,
  };
}

function checkOptions(opts: RunOptions): void {
  if (!(opts.timeoutMs > 0 && opts.timeoutMs <= MAX_TIMER_MS)) {
    throw new RangeError(
      `Cannot run "${opts.cmd}": timeout ${opts.timeoutMs} ms is outside 1-${MAX_TIMER_MS}`,
    );
  }
  if (!(Number.isInteger(opts.maxOutputBytes) && opts.maxOutputBytes >= 0)) {
    throw new RangeError(
      `Cannot run "${opts.cmd}": output cap "${opts.maxOutputBytes}" is not a byte count`,
    );
  }
  const grace = opts.killGraceMs;
  if (grace !== undefined && !(grace >= 0 && grace <= MAX_TIMER_MS)) {
    throw new RangeError(`Cannot run "${opts.cmd}": kill grace ${grace} ms is out of range`);
  }
}

/**
 * Write `input` to the child's stdin, then close it. A pipe the child closed
 * (EPIPE) is not an error: the rest of the input is taken and dropped. Any
 * other failure of the input, unless `ended` (the call is over), fails the
 * call through `sink`.
 */
async function feedInput(
  stdin: WritableStream<Uint8Array>,
  input: AsyncIterable<Uint8Array>,
  ended: AbortSignal,
  sink: OutputSink,
): Promise<void> {
  const writer = stdin.getWriter();
  let open = true;
  try {
    for await (const data of input) {
      if (!open) continue;
      try {
        await writer.write(data);
      } catch (err) {
        // The child closed its stdin (or exited): what it did not read is dropped.
        if (!(err instanceof Error)) throw err;
        open = false;
      }
    }
  } catch (err) {
    if (!ended.aborted) sink.fail(err);
  } finally {
    if (open) {
      await writer.close().catch(() => {/* the child already closed its end */});
    } else {
      writer.releaseLock();
    }
  }
}

function spawn(opts: RunOptions): Deno.ChildProcess {
  try {
    return new Deno.Command(opts.cmd, {
      args: opts.args,
      stdin: opts.input ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      // On Unix this makes the child a session and group leader, so -pid reaches
      // its whole tree. On Windows it would drop the console and make every
      // console grandchild open a window, so trees are killed with taskkill there.
      detached: !WINDOWS,
      windowsRawArguments: opts.windowsRawArguments ?? false,
      env: spawnEnv(opts.env),
      clearEnv: true,
    }).spawn();
  } catch (err) {
    const detail = err instanceof Deno.errors.NotFound
      ? "command not found"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new SpawnError(opts.cmd, `Cannot start "${opts.cmd}": ${detail}`, { cause: err });
  }
}

/** The child's environment: `given` or the minimal set, never an `RMON_*` variable (the token). */
function spawnEnv(given: Record<string, string> | undefined): Record<string, string> {
  const env = { ...(given ?? childEnvironment(Deno.env.toObject(), Deno.build.os)) };
  for (const name of Object.keys(env)) {
    if (isReservedEnvName(name)) delete env[name];
  }
  return env;
}

/** Whether `promise` settles within `ms`; the timer never outlives the call. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return deadline(promise.then(() => true, () => true), ms, () => false);
}

/** Stops a child's whole process tree, once, with a grace period between signals. */
class TreeKiller {
  #child: Deno.ChildProcess;
  #graceMs: number;
  #started = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #windowsKill: Promise<void> = Promise.resolve();
  #error: unknown;

  constructor(child: Deno.ChildProcess, graceMs: number) {
    this.#child = child;
    this.#graceMs = graceMs;
  }

  /** Start stopping the tree; later calls do nothing. Never throws (it runs in timers). */
  kill(): void {
    if (this.#started) return;
    this.#started = true;
    if (WINDOWS) {
      this.#windowsKill = this.#taskkill();
      return;
    }
    this.#signal("SIGTERM");
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = undefined;
      this.#signal("SIGKILL");
    }, this.#graceMs);
  }

  /**
   * Settle after the call. The main process has exited and output has ended, so
   * whatever of the group got SIGTERM and is still there gets SIGKILL now instead
   * of at the end of the grace period. (Probing the group instead would wait out
   * the grace period for zombies wherever PID 1 does not reap, as in many containers.)
   * @throws The error of a signal that could not be sent.
   */
  async finish(): Promise<void> {
    if (this.#graceTimer !== undefined) {
      clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      this.#signal("SIGKILL");
    }
    await this.#windowsKill;
    if (this.#error !== undefined) throw this.#error;
  }

  #signal(signal: Deno.Signal): void {
    try {
      Deno.kill(-this.#child.pid, signal);
    } catch (err) {
      // NotFound (ESRCH): every member has exited already, which is the goal.
      if (err instanceof Deno.errors.NotFound) return;
      this.#error ??= new Error(
        `Cannot stop process group ${this.#child.pid}: ${describe(err)}`,
        { cause: err },
      );
    }
  }

  async #taskkill(): Promise<void> {
    const { cmd, args } = windowsKillArgv(this.#child.pid);
    let stopped = false;
    try {
      const out = await new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      stopped = out.success;
    } catch {
      // taskkill missing or not startable: fall back to stopping the main process below.
      stopped = false;
    }
    if (stopped) return;
    try {
      this.#child.kill("SIGKILL");
    } catch (err) {
      // The process had already exited: taskkill failed only because it found nothing.
      if (!(err instanceof TypeError)) {
        this.#error ??= new Error(
          `Cannot stop process ${this.#child.pid}: ${describe(err)}`,
          { cause: err },
        );
      }
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Applies the output cap, decodes, cuts into wire-sized chunks, and serializes `onOutput`. */
class OutputSink {
  /** Some output went over the cap. */
  truncated = false;
  /** Bytes read from the child but not passed on (the part of the last read past the cap). */
  droppedBytes = 0;
  /** `onOutput` or a pipe read failed; the call must reject with `error`. */
  failed = false;
  error: unknown;
  #room: number;
  #onOutput: RunOptions["onOutput"] | null;
  /** Raw mode: bytes go out as read, nothing is decoded. */
  #onBytes: NonNullable<RunOptions["onOutputBytes"]> | null;
  #onFailure: () => void;
  #onCap: () => void;
  #tail: Promise<void> = Promise.resolve();

  /** `onFailure` runs on the first failure, `onCap` once when output first passes the cap. */
  constructor(
    maxBytes: number,
    onOutput: RunOptions["onOutput"] | NonNullable<RunOptions["onOutputBytes"]>,
    onFailure: () => void,
    onCap: () => void,
    raw = false,
  ) {
    this.#room = maxBytes;
    this.#onOutput = raw ? null : onOutput as RunOptions["onOutput"];
    this.#onBytes = raw ? onOutput as NonNullable<RunOptions["onOutputBytes"]> : null;
    this.#onFailure = onFailure;
    this.#onCap = onCap;
  }

  /** Pass on one chunk read from `stream` (resolves when `onOutput` has taken it). */
  async write(stream: OutputStream, decoder: TextDecoder, chunk: Uint8Array): Promise<void> {
    let bytes = chunk;
    if (bytes.length > this.#room) {
      // Once over the cap, nothing more goes out, even if a few bytes of room are left.
      const cut = this.truncated ? 0 : utf8Boundary(bytes, this.#room);
      this.droppedBytes += bytes.length - cut;
      if (!this.truncated) {
        this.truncated = true;
        this.#onCap();
      }
      this.#room = 0;
      bytes = bytes.subarray(0, cut);
    } else {
      this.#room -= bytes.length;
    }
    if (this.failed) return;
    if (this.#onBytes !== null) {
      if (bytes.length > 0) await this.#emitBytes(stream, bytes);
      return;
    }
    // The streaming decoder carries a character split across reads to the next one.
    const text = decoder.decode(bytes, { stream: true });
    // Text without U+FFFD re-encodes to the bytes it came from, plus at most 3
    // carried over from the last read: then it needs no measuring (the usual case).
    if (bytes.length + 3 <= LIMITS.outputChunkBytes && !text.includes(REPLACEMENT_CHAR)) {
      if (text !== "") await this.#emit(stream, text);
    } else {
      await this.#emitText(stream, text);
    }
  }

  /** Pass on what the decoder still holds at the end of `stream` (U+FFFD for a cut character). */
  async flush(stream: OutputStream, decoder: TextDecoder): Promise<void> {
    if (this.#onBytes !== null) return;
    const text = decoder.decode();
    if (!this.failed) await this.#emitText(stream, text);
  }

  /** Record the first failure and stop the process tree. */
  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = err;
    this.#onFailure();
  }

  /**
   * Emit decoded text in pieces of at most `LIMITS.outputChunkBytes` bytes of
   * UTF-8: measured after decoding, since carried bytes and U+FFFD (three bytes
   * for one invalid byte) make text longer than the bytes read.
   */
  async #emitText(stream: OutputStream, text: string): Promise<void> {
    for (const piece of splitUtf8(text, LIMITS.outputChunkBytes)) await this.#emit(stream, piece);
  }

  #emitBytes(stream: OutputStream, bytes: Uint8Array): Promise<void> {
    const onBytes = this.#onBytes!;
    this.#tail = this.#tail
      .then(() => this.failed ? undefined : onBytes(stream, bytes))
      .then(undefined, (err) => this.fail(err));
    return this.#tail;
  }

  #emit(stream: OutputStream, text: string): Promise<void> {
    const onOutput = this.#onOutput!;
    this.#tail = this.#tail
      .then(() => this.failed ? undefined : onOutput(stream, text))
      .then(undefined, (err) => this.fail(err));
    return this.#tail;
  }
}

const encoder = new TextEncoder();
const REPLACEMENT_CHAR = "\uFFFD";
/** Scratch space for measuring output chunks; encodeInto fills it and the bytes are dropped. */
let scratch = new Uint8Array(0);

/**
 * Split `text` into pieces of at most `maxBytes` bytes of UTF-8 each, cut only
 * between characters: a surrogate pair is never separated, and a lone surrogate
 * counts as the 3-byte U+FFFD it is encoded as.
 * @throws {RangeError} `maxBytes` is below 4 (the longest UTF-8 character).
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (!(Number.isInteger(maxBytes) && maxBytes >= 4)) {
    throw new RangeError(`Cannot split text: "${maxBytes}" bytes is below one character`);
  }
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a pair is 4 for 2 units): no measuring needed.
  if (text.length * 3 <= maxBytes) return text === "" ? [] : [text];
  if (scratch.length < maxBytes) scratch = new Uint8Array(maxBytes);
  const room = scratch.subarray(0, maxBytes);
  const pieces: string[] = [];
  let rest = text;
  while (rest !== "") {
    // encodeInto stops before the first character that does not fit whole.
    const { read } = encoder.encodeInto(rest, room);
    pieces.push(rest.slice(0, read));
    rest = rest.slice(read);
  }
  return pieces;
}

/**
 * The largest cut at or below `limit` that does not split a UTF-8 character:
 * steps back over at most three continuation bytes (the longest tail there is).
 */
function utf8Boundary(bytes: Uint8Array, limit: number): number {
  let cut = limit;
  while (cut > 0 && limit - cut < 3 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return cut;
}

/**
 * Bytes asked of a child pipe per read: just under a Linux pipe's default 64 KiB,
 * so a read's text plus a character carried over from the last one fits one chunk.
 */
const PIPE_READ_BYTES = LIMITS.outputChunkBytes - 4;

/** Reads one child pipe to its end (or until cancelled) into the sink. */
class StreamPump {
  /** Resolves when the pipe is drained; never rejects (failures go to the sink). */
  readonly done: Promise<void>;
  #reader: ReadableStreamBYOBReader;
  #sink: OutputSink;
  #cancelled = false;

  constructor(stream: ReadableStream<Uint8Array>, name: OutputStream, sink: OutputSink) {
    this.#reader = stream.getReader({ mode: "byob" });
    this.#sink = sink;
    this.done = this.#run(name);
  }

  /** Stop reading: a pending read ends as if the pipe had closed. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reader.cancel().catch((err) => this.#sink.fail(err));
  }

  async #run(name: OutputStream): Promise<void> {
    // fatal: false turns invalid bytes into U+FFFD; ignoreBOM keeps output byte-faithful.
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    try {
      // One buffer for the whole pipe: the sink has decoded a chunk by the time it
      // resolves, so the next read may overwrite it (no 64 KiB allocation per read).
      let buf = new Uint8Array(PIPE_READ_BYTES);
      for (;;) {
        const { value, done } = await this.#reader.read(buf);
        if (done || value === undefined) break;
        await this.#sink.write(name, decoder, value);
        // The read transferred the buffer into `value`; take it back for the next one.
        buf = new Uint8Array(value.buffer as ArrayBuffer);
      }
    } catch (err) {
      if (!this.#cancelled) this.#sink.fail(err);
    }
    await this.#sink.flush(name, decoder);
  }
}
