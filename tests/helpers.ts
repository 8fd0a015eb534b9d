/**
 * Test helpers that start real processes: `rmon-server` and `rmon` entry
 * points run with exactly the permission flags of the build (read from the
 * deno.json compile tasks), on loopback with free ports; plus authenticated
 * and raw connections to them (plain or TLS, from any loopback source
 * address), and process-tree inspection for leak checks.
 * @module
 */

import type { Socket } from "node:net";
import "npm:reflect-metadata@0.2.2"; // @peculiar/x509 needs it loaded first
import * as x509 from "npm:@peculiar/x509@2.2.0";
import { deadline, delay } from "../lib/async.ts";
import { stripAnsi } from "../lib/client/views/color.ts";
import { binarySpec, cacheArgs, type Entry, runArgs } from "../tools/entry_flags.ts";
import { childEnv, denoDir, signalChild, spawnLocalServer } from "../tools/local_server.ts";
import { newNonce, TokenKey } from "../lib/protocol/auth.ts";
import { type ByteStream, FrameReader, writeAll } from "../lib/protocol/framing.ts";
import { fingerprintOfPem, parseFingerprint } from "../lib/protocol/fingerprint.ts";
import { tlsDialer, tlsListen } from "../lib/protocol/tls_transport.ts";
import { generateCertificate } from "../lib/server/cert_gen.ts";
import { clientHandshake, type ClientSession, serverHandshake } from "../lib/protocol/handshake.ts";
import { NodeSocketStream } from "../lib/protocol/node_stream.ts";
import { dialTcp, listenTcp, tcpTransport } from "../lib/protocol/tcp_transport.ts";
import { ERROR_CODES, FRAME_LIMITS, LIMITS, TIMEOUTS } from "../lib/protocol/constants.ts";
import { RpcPeer } from "../lib/protocol/connection.ts";
import { DEFAULT_ADMISSION } from "../lib/server/admission.ts";
import { Logger } from "../lib/server/log.ts";
import { RmonServer, type RmonServerConfig } from "../lib/server/rmon_server.ts";
import {
  closeQuietly,
  formatEndpoint,
  type Protection,
  type Transport,
} from "../lib/protocol/transport.ts";
import { plainFacts } from "./protocol_helpers.ts";

/** A token good enough for tests (≥16 characters). */
export const TEST_TOKEN = "test-token-0123456789abcdef";

const decoder = new TextDecoder();

/** A running `rmon-server` child process. Dispose to stop it (SIGTERM, then SIGKILL). */
export interface ServerProcess extends AsyncDisposable {
  pid: number;
  hostname: string;
  port: number;
  token: string;
  /** Lines the server printed on stdout up to "listening". */
  banner: string[];
  /** The certificate fingerprint (bare hex) its banner printed when it serves TLS, else null. */
  fingerprint: string | null;
  /** Everything it has logged on stderr so far. */
  stderr(): string;
  /** Resolves with the exit status once the process ends. */
  status: Promise<Deno.CommandStatus>;
  /** Send a signal to the server process. */
  kill(signal?: Deno.Signal): void;
}

/** Options of `startServer`. */
export interface StartOptions {
  /** Extra command-line arguments (e.g. `--read-only`). */
  args?: string[];
  /** The token given through RMON_TOKEN; null gives none (the server generates one). */
  token?: string | null;
  /** Extra environment; HOME and XDG_STATE_HOME default to a fresh temp dir. */
  env?: Record<string, string>;
  /** Port to bind (default 0: a free one). */
  port?: number;
  /** A program that runs the server (and `exec`s it), e.g. in a private mount namespace. */
  wrap?: { cmd: string; args: string[] };
}

/** Start `server.ts` as the build would run it and wait until it listens. */
export async function startServer(opts: StartOptions = {}): Promise<ServerProcess> {
  const token = opts.token === undefined ? TEST_TOKEN : opts.token;
  const home = await Deno.makeTempDir({ prefix: "rmon-test-home-" });
  const env = childEnv({ HOME: home, XDG_STATE_HOME: `${home}/state`, NO_COLOR: "1", ...opts.env });
  if (token !== null) env.RMON_TOKEN = token;
  let server;
  try {
    server = await spawnLocalServer({ args: opts.args, port: opts.port, env, wrap: opts.wrap });
  } catch (err) {
    await Deno.remove(home, { recursive: true });
    throw err;
  }
  const status = server.status.then(async (s) => {
    await Deno.remove(home, { recursive: true });
    return s;
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => signalChild(server.child, signal);
  const pinned = server.banner.join("\n").match(/fingerprint (sha256:[0-9a-f]{64})/);
  return {
    pid: server.child.pid,
    hostname: server.hostname,
    port: server.port,
    token: token ?? "",
    banner: server.banner,
    fingerprint: pinned ? parseFingerprint(pinned[1]!) : null,
    stderr: server.stderr,
    status,
    kill,
    async [Symbol.asyncDispose]() {
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 5_000);
      await status;
      clearTimeout(timer);
    },
  };
}

/**
 * Run `server.ts` as the build would with `args` to its end (for options that
 * do their work and exit, such as `--gen-token`), in `cwd`, with a private HOME.
 */
export async function runServerOnce(args: string[], cwd?: string): Promise<ClientRun> {
  const home = await Deno.makeTempDir({ prefix: "rmon-test-home-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...runArgs("server"), ...args],
      cwd,
      env: childEnv({ HOME: home, XDG_STATE_HOME: `${home}/state`, NO_COLOR: "1" }),
      clearEnv: true,
      stdin: "null",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Start `n` servers concurrently. */
export function startServers(n: number, opts: StartOptions = {}): Promise<ServerProcess[]> {
  return Promise.all(Array.from({ length: n }, () => startServer(opts)));
}

/** Where a test server listens and what it expects. */
export interface ServerAddress {
  hostname: string;
  port: number;
  token: string;
  /** Bare hex; required for TLS connections. */
  fingerprint?: string | null;
}

/** How {@linkcode connect} and {@linkcode rawDial} reach a server. */
export interface DialOptions {
  /** Speak TLS, pinning the fingerprint the server printed (default false). */
  tls?: boolean;
  /**
   * Connect from this local address (e.g. `127.0.0.2`), so the server's
   * per-source limits and penalties see another source. Default: the OS's choice.
   */
  from?: string;
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions extends DialOptions {
  /** The token to prove (default the server's). */
  token?: string;
  /** Run the read loop (default true); false makes a client that never reads. */
  read?: boolean;
}

/** Resolve once `socket` emits `event`; reject if it fails or closes first. */
function settled(socket: Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err?: Error) => {
      socket.off(event, ok);
      reject(err ?? new Error(`Closed before "${event}"`));
    };
    const ok = () => {
      socket.off("error", fail);
      socket.off("close", fail);
      resolve();
    };
    socket.once(event, ok);
    socket.once("error", fail);
    socket.once("close", fail);
  });
}

/**
 * A byte stream to `server` from `opts.from` over node sockets, after its TLS
 * handshake when `opts.tls` (the server certificate is not checked here; see
 * `dialFrom`). Rejects when the server closes or resets it first.
 */
async function nodeStream(
  server: ServerAddress,
  opts: DialOptions,
): Promise<{ stream: NodeSocketStream; socket: Socket }> {
  const net = await import("node:net");
  const raw = net.connect({ host: server.hostname, port: server.port, localAddress: opts.from });
  raw.setNoDelay(true);
  try {
    await settled(raw, "connect");
  } catch (err) {
    raw.destroy();
    throw err;
  }
  if (!opts.tls) return { stream: new NodeSocketStream(raw), socket: raw };
  const tls = await import("node:tls");
  const socket = tls.connect({
    socket: raw,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  try {
    await settled(socket, "secureConnect");
  } catch (err) {
    socket.destroy();
    throw err;
  }
  // Backpressure through the raw socket: a client that does not read must really stop.
  return { stream: new NodeSocketStream(socket, raw), socket };
}

/** A client transport from a chosen local address: node sockets, as Deno.connect cannot bind one. */
async function dialFrom(server: ServerAddress, opts: DialOptions): Promise<Transport> {
  const { stream, socket } = await nodeStream(server, opts);
  let protection: Protection = { kind: "plain" };
  if (opts.tls) {
    const seen = parseFingerprint(
      (socket as import("node:tls").TLSSocket).getPeerCertificate().fingerprint256 ?? "",
    );
    if (seen !== server.fingerprint) {
      stream.close();
      throw new Error(`Cannot connect: certificate ${seen} is not the server's`);
    }
    protection = { kind: "tls", fingerprint: seen };
  }
  return {
    remote: formatEndpoint(server),
    peerAddress: server.hostname,
    protection,
    read: (p) => stream.read(p),
    write: (p) => stream.write(p),
    close: () => stream.close(),
  };
}

/** A client transport to `server`: plain or TLS (pinned), from a chosen address or not. */
function dial(server: ServerAddress, opts: DialOptions): Promise<Transport> {
  const ep = { hostname: server.hostname, port: server.port };
  if (opts.from !== undefined) return dialFrom(server, opts);
  if (!opts.tls) return dialTcp(ep, 5_000);
  if (!server.fingerprint) {
    throw new Error("Cannot connect with TLS: the server printed no fingerprint");
  }
  return tlsDialer({ kind: "fingerprint", fingerprint: server.fingerprint })(ep, 5_000);
}

/**
 * An authenticated session to `server` whose read loop runs (unless `read:
 * false`); dispose to close it. A string second argument is the token. The
 * transport is there for tests that then write bytes of their own.
 */
export async function connect(
  server: ServerAddress,
  options: string | ConnectOptions = {},
): Promise<ClientSession & { transport: Transport } & AsyncDisposable> {
  const opts = typeof options === "string" ? { token: options } : options;
  const transport = await dial(server, opts);
  const session = await clientHandshake(transport, {
    key: new TokenKey(opts.token ?? server.token),
    timeoutMs: 5_000,
  });
  const running = opts.read === false ? Promise.resolve() : session.peer.run();
  return {
    ...session,
    transport,
    async [Symbol.asyncDispose]() {
      session.peer.close();
      await running;
    },
  };
}

/** An `RmonServer` running in this process (see {@linkcode startInProcessServer}). */
export interface InProcessServer extends ServerAddress, AsyncDisposable {
  server: RmonServer;
  /** Every line it has logged so far. */
  log: string[];
}

/**
 * Start an `RmonServer` in this process: plain TCP on a free loopback port,
 * the test token, the defaults of `rmon-server` and any `overrides`; dispose
 * to shut it down (every call cancelled, its processes killed).
 */
export async function startInProcessServer(
  overrides: Partial<RmonServerConfig> = {},
): Promise<InProcessServer> {
  const log: string[] = [];
  const server = new RmonServer({
    endpoint: { hostname: "127.0.0.1", port: 0 },
    listen: listenTcp,
    credentials: { token: new TokenKey(TEST_TOKEN), keys: null },
    audit: null,
    log: new Logger("normal", (line) => log.push(line.trimEnd())),
    readOnly: false,
    maxFrameBytes: FRAME_LIMITS.postAuth,
    maxOutputBytes: LIMITS.execOutputBytes,
    authTimeoutMs: TIMEOUTS.authDeadlineMs,
    writeTimeoutMs: TIMEOUTS.writeMs,
    idleTimeoutMs: TIMEOUTS.idleMs,
    limits: DEFAULT_ADMISSION,
    ...overrides,
  });
  const addr = await server.start();
  return {
    server,
    log,
    hostname: addr.hostname,
    port: addr.port,
    token: TEST_TOKEN,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A raw TCP connection for misbehaving-client tests; dispose to close it. */
export async function rawConnect(server: { hostname: string; port: number }): Promise<
  Deno.TcpConn & AsyncDisposable
> {
  const conn = await Deno.connect({ hostname: server.hostname, port: server.port });
  return Object.assign(conn, {
    [Symbol.asyncDispose]() {
      closeQuietly(conn);
      return Promise.resolve();
    },
  });
}

/** What a raw connection received. */
export interface Received {
  text: string;
  /** Whether the server closed the connection (false: the wait timed out first). */
  closed: boolean;
}

/** A raw connection (plain or TLS, from any source address) for hostile-client tests. */
export interface RawConn extends AsyncDisposable {
  /** Send text as is; resolves false when the connection is already gone. */
  send(text: string): Promise<boolean>;
  /** Read until the server closes the connection or `timeoutMs` passes. */
  receive(timeoutMs?: number): Promise<Received>;
  /** Read until the text holds `count` complete lines, the server closes, or `timeoutMs` passes. */
  lines(count: number, timeoutMs?: number): Promise<Received>;
  close(): void;
}

/**
 * A raw connection to `server` that does nothing on its own. One the server
 * closes at once (refused at accept, so no TLS handshake either) is returned
 * already closed: `receive()` gives `{text: "", closed: true}`.
 */
export async function rawDial(server: ServerAddress, opts: DialOptions = {}): Promise<RawConn> {
  let stream: NodeSocketStream | null = null;
  try {
    stream = (await nodeStream(server, opts)).stream;
  } catch {
    // Reset or closed before the TLS handshake ended: refused at accept.
  }
  const buf = new Uint8Array(64 * 1024);
  const decoder = new TextDecoder();
  let text = "";
  let closed = stream === null;
  /** The one read in flight, kept across calls: the stream allows a single reader. */
  let reading: Promise<number | null> | null = null;
  const readUntil = async (done: () => boolean, timeoutMs: number): Promise<Received> => {
    const until = Date.now() + timeoutMs;
    while (!closed && !done() && Date.now() < until) {
      reading ??= stream!.read(buf).catch(() => null);
      const n = await deadline(reading, until - Date.now(), () => "timeout" as const);
      if (n === "timeout") break;
      reading = null;
      if (n === null) closed = true;
      else text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    return { text, closed };
  };
  const close = () => {
    stream?.close();
    closed = true;
  };
  return {
    async send(t: string): Promise<boolean> {
      if (stream === null) return false;
      try {
        await stream.write(new TextEncoder().encode(t));
        return true;
      } catch {
        return false;
      }
    },
    receive: (timeoutMs = 5_000) => readUntil(() => false, timeoutMs),
    lines: (count, timeoutMs = 5_000) =>
      readUntil(() => text.split("\n").length > count, timeoutMs),
    close,
    [Symbol.asyncDispose]() {
      close();
      return Promise.resolve();
    },
  };
}

/** Read everything a raw connection sends until it closes (or `timeoutMs` passes). */
export async function readAll(conn: Deno.Conn, timeoutMs = 5_000): Promise<string> {
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const n = await deadline(
      conn.read(buf).catch(() => null),
      until - Date.now(),
      () => "timeout" as const,
    );
    if (n === null || n === "timeout") break;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text;
}

/**
 * The process table as `pid → {ppid, state}`, from `ps` (Deno refuses reads
 * under /proc without --allow-all, which the tests must not need).
 */
function processTable(): Map<number, { ppid: number; state: string }> {
  const out = new Deno.Command("ps", { args: ["-e", "-o", "pid=,ppid=,stat="], stdin: "null" })
    .outputSync();
  if (!out.success) {
    throw new Error(`Cannot list processes: ps failed: ${decoder.decode(out.stderr)}`);
  }
  const table = new Map<number, { ppid: number; state: string }>();
  for (const line of decoder.decode(out.stdout).split("\n")) {
    const [pid, ppid, state] = line.trim().split(/\s+/);
    if (pid && ppid && state) table.set(Number(pid), { ppid: Number(ppid), state });
  }
  return table;
}

/** Pids of every living (non-zombie) descendant of `pid`. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [child, { ppid, state }] of processTable()) {
    if (state.startsWith("Z")) continue;
    const list = children.get(ppid) ?? [];
    list.push(child);
    children.set(ppid, list);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

/** Whether a process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const entry = processTable().get(pid);
  return entry !== undefined && !entry.state.startsWith("Z");
}

/** Whether a process is asleep in a write to a full pipe (the kernel's wait channel says so). */
export function blockedOnPipeWrite(pid: number): boolean {
  const out = new Deno.Command("ps", { args: ["-o", "wchan=", "-p", String(pid)], stdin: "null" })
    .outputSync();
  // Linux names it pipe_write, or anon_pipe_write in newer kernels.
  return /pipe_write/.test(decoder.decode(out.stdout));
}

/**
 * Wait until `writers` descendants of `pid` stand blocked on full pipes for three polls in a
 * row (not for an instant): a command's output pipeline whose reader stopped draining it.
 * Resolves false if that does not happen within `timeoutMs`.
 */
export function outputStalls(pid: number, writers = 2, timeoutMs = 15_000): Promise<boolean> {
  let polls = 0;
  return eventually(() => {
    const blocked = descendants(pid).filter(blockedOnPipeWrite).length >= writers;
    polls = blocked ? polls + 1 : 0;
    return polls >= 3;
  }, timeoutMs);
}

/** Poll `check` every 50 ms until it is true or `timeoutMs` passes; returns its last value. */
export async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await delay(50);
  }
  return check();
}

/** What a finished client process printed and how it ended. */
export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as the bytes written (set by `runClient`/`spawnClient`), for output that is not text. */
  stdoutBytes?: Uint8Array;
}

/**
 * Run `client.ts` as the build would (its compile task's flags) with `args`,
 * NO_COLOR and a private HOME; `stdin` text is piped in (default: none).
 */
export async function runClient(
  args: string[],
  opts: {
    env?: Record<string, string>;
    stdin?: string;
    timeoutMs?: number;
    openFiles?: number;
  } = {},
): Promise<ClientRun> {
  return await (await spawnClient(args, opts)).done;
}

/** A client process started by {@linkcode spawnClient}; dispose to kill it if still running. */
export interface ClientProcess extends AsyncDisposable {
  pid: number;
  /** Send a signal to the process (default SIGTERM); a no-op once it has exited. */
  kill(signal?: Deno.Signal): void;
  /** What it has written to stdout so far. */
  stdout(): string;
  /** Stop reading stdout and close the pipe, as `head` does once it has its lines. */
  closeStdout(): Promise<void>;
  /** Resolves once it has ended: its exit code and everything it printed. */
  done: Promise<ClientRun>;
}

/**
 * Start `client.ts` as the build would (like {@linkcode runClient}) and hand
 * it back running, to signal it or to close its stdout early. `viaTask` runs
 * it through `deno task client --` instead, as a person in a checkout would.
 * It is killed with SIGKILL after `timeoutMs` (default 60 s).
 */
export async function spawnClient(
  args: string[],
  opts: {
    env?: Record<string, string>;
    timeoutMs?: number;
    viaTask?: boolean;
    /** Text piped into stdin (default: none, stdin is /dev/null). */
    stdin?: string;
    /** Start it under `ulimit -n N` (soft and hard: Deno cannot raise it back). */
    openFiles?: number;
  } = {},
): Promise<ClientProcess> {
  const home = await Deno.makeTempDir({ prefix: "rmon-test-client-" });
  const root = new URL("..", import.meta.url).pathname;
  const denoArgs = opts.viaTask
    ? ["task", "--quiet", "client", "--", ...args]
    : [...runArgs("client"), ...args];
  const limited = opts.openFiles !== undefined;
  const child = new Deno.Command(limited ? "sh" : Deno.execPath(), {
    args: limited
      ? ["-c", `ulimit -n ${opts.openFiles} && exec "$@"`, "sh", Deno.execPath(), ...denoArgs]
      : denoArgs,
    cwd: root,
    env: childEnv({ HOME: home, XDG_STATE_HOME: `${home}/state`, NO_COLOR: "1", ...opts.env }),
    clearEnv: true,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const kill = (signal: Deno.Signal = "SIGTERM") => signalChild(child, signal);
  const timer = setTimeout(() => kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  let out = "";
  const outBytes: Uint8Array[] = [];
  const reader = child.stdout.getReader();
  const reading = (async () => {
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        out += decoder.decode(r.value, { stream: true });
        outBytes.push(r.value);
      }
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // the reader was cancelled
    }
  })();
  const errText = new Response(child.stderr).text();
  const done = (async () => {
    const status = await child.status;
    clearTimeout(timer);
    await reading;
    const stderr = await errText;
    await Deno.remove(home, { recursive: true });
    const stdoutBytes = new Uint8Array(outBytes.reduce((n, b) => n + b.length, 0));
    outBytes.reduce((at, b) => (stdoutBytes.set(b, at), at + b.length), 0);
    return { code: status.code, stdout: out, stderr, stdoutBytes };
  })();
  return {
    pid: child.pid,
    kill,
    stdout: () => out,
    closeStdout: () => reader.cancel(),
    done,
    async [Symbol.asyncDispose]() {
      kill("SIGKILL");
      await done;
    },
  };
}

/**
 * A loopback listener that keeps every connection it accepts open and hands
 * each to `onAccept`; dispose to close them all. The base of the fake servers.
 */
function holdingServer(
  onAccept: (conn: Deno.Conn) => void,
): { hostname: string; port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        held.push(conn);
        onAccept(conn);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) throw err; // closed on dispose
    }
  })();
  return {
    hostname: "127.0.0.1",
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of held) closeQuietly(c);
      await accepting;
    },
  };
}

/** A TCP listener that accepts connections and never says a word; dispose to close it all. */
export function silentServer(): { hostname: string; port: number } & AsyncDisposable {
  return holdingServer(() => {});
}

/**
 * A raw connection that has done the handshake by hand, for tests that must
 * then misbehave (send bad frames, never read). Frames are read with `next()`.
 */
export async function rawAuthenticated(
  server: { hostname: string; port: number; token: string },
): Promise<
  & {
    conn: Deno.TcpConn;
    send(obj: unknown): Promise<void>;
    next(): Promise<unknown>;
    /** The `n` raw bytes after the last frame (a stream chunk's payload). */
    bytes(n: number): Promise<Uint8Array>;
  }
  & AsyncDisposable
> {
  const conn = await rawConnect(server);
  const frames = new FrameReader(conn, 1 << 20);
  const next = async () => JSON.parse((await frames.read()) ?? "null");
  const send = async (obj: unknown) => {
    await writeAll(conn, new TextEncoder().encode(JSON.stringify(obj) + "\n"));
  };
  const hello = await next() as { params: { nonce: string } };
  const key = new TokenKey(server.token);
  const nonce = newNonce();
  const mac = await key.prove("client", plainFacts(nonce, hello.params.nonce));
  await send({ jsonrpc: "2.0", id: 0, method: "auth", params: { nonce, mac } });
  const answer = await next() as { result?: unknown };
  if (!answer.result) {
    throw new Error(`Cannot authenticate raw connection: ${JSON.stringify(answer)}`);
  }
  return {
    conn,
    send,
    next,
    bytes: (n) => frames.readBytes(n),
    [Symbol.asyncDispose]: conn[Symbol.asyncDispose],
  };
}

/** Resident memory of a process in bytes, from `ps`. */
export function rssBytes(pid: number): number {
  const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdin: "null" })
    .outputSync();
  return Number(decoder.decode(out.stdout).trim()) * 1024;
}

/**
 * A server that completes the handshake with `token` and then never answers a
 * command (a hung agent); dispose to close it all.
 */
export function mutedServer(token: string): { hostname: string; port: number } & AsyncDisposable {
  const key = new TokenKey(token);
  return holdingServer((conn) => {
    serverHandshake(tcpTransport(conn as Deno.TcpConn, "server"), {
      key,
      readOnly: false,
      deadlineMs: 5_000,
      maxFrameBytes: 1 << 20,
    })
      .catch(() => {/* a failed handshake just leaves the socket closed */});
  });
}

/**
 * A server that signs in with `token`, states `idleMs` in its hello (or none:
 * a server from before idle timeouts were stated), answers `heartbeat`
 * requests unless `mute`, and records each frame it gets after sign-in as
 * `request heartbeat` or `notification heartbeat`. Dispose to close it.
 */
export function beatRecordingServer(
  token: string,
  opts: { idleMs?: number; mute?: boolean } = {},
): { hostname: string; port: number; frames: string[] } & AsyncDisposable {
  const key = new TokenKey(token);
  const frames: string[] = [];
  const server = holdingServer((conn) => {
    const transport = tcpTransport(conn as Deno.TcpConn, "server");
    serverHandshake(transport, {
      key,
      readOnly: false,
      deadlineMs: 5_000,
      maxFrameBytes: 1 << 20,
      ...(opts.idleMs === undefined ? {} : { idleMs: opts.idleMs }),
    }).then((io) => {
      const peer: RpcPeer = new RpcPeer(transport, io.reader, io.writer, {
        onRequest: (req) => {
          frames.push(`request ${req.method}`);
          if (!opts.mute) peer.sendResult(req.id, { time: Date.now() });
        },
        onNotification: (note) => frames.push(`notification ${note.method}`),
      });
      peer.run();
    }).catch(() => {/* a failed handshake just leaves the socket closed */});
  });
  return Object.assign(server, { frames });
}

/**
 * A server as one from before streams would answer (protocol 2 without
 * `upload`, `download` or exec input): it signs in with `token`, answers `os`
 * and `heartbeat`, refuses `exec` with a `stdin` field as an unknown field, and
 * every other method as not found. Dispose to close it.
 */
export function olderServer(token: string): { hostname: string; port: number } & AsyncDisposable {
  const key = new TokenKey(token);
  return holdingServer((conn) => {
    const transport = tcpTransport(conn as Deno.TcpConn, "server");
    serverHandshake(transport, { key, readOnly: false, deadlineMs: 5_000, maxFrameBytes: 1 << 20 })
      .then((io) => {
        const peer: RpcPeer = new RpcPeer(transport, io.reader, io.writer, {
          onRequest: (req) => {
            if (req.method === "os") {
              peer.sendResult(req.id, {
                platform: "linux",
                release: "1",
                arch: "x64",
                name: "old",
              });
            } else if (req.method === "heartbeat") {
              peer.sendResult(req.id, { time: Date.now() });
            } else if (req.method === "exec" && req.params && "stdin" in req.params) {
              peer.sendError(req.id, {
                code: ERROR_CODES.invalidParams,
                message: 'Cannot run "exec": unexpected field "stdin"',
              });
            } else {
              peer.sendError(req.id, {
                code: ERROR_CODES.methodNotFound,
                message: `Method not found: "${req.method}"`,
              });
            }
          },
        });
        return peer.run();
      })
      .catch(() => {/* a failed handshake just leaves the socket closed */});
  });
}

/** The fingerprint (bare hex) a TLS server printed in its banner. */
export function bannerFingerprint(server: ServerProcess): string {
  if (!server.fingerprint) {
    throw new Error(`No fingerprint in the banner: ${server.banner.join(" | ")}`);
  }
  return server.fingerprint;
}

/**
 * A man in the middle: terminates TLS with its own certificate and relays
 * every byte to the real server over a TLS connection of its own.
 */
export async function relayingProxy(
  target: { port: number; fingerprint: string },
): Promise<{ port: number; fingerprint: string } & AsyncDisposable> {
  const own = await generateCertificate({ dns: ["localhost"], ips: ["127.0.0.1"] });
  const fingerprint = await fingerprintOfPem(own.certPem);
  const listener = await tlsListen({ ...own, fingerprint })({ hostname: "127.0.0.1", port: 0 });
  const dial = tlsDialer({ kind: "fingerprint", fingerprint: target.fingerprint });
  const pump = async (from: ByteStream, to: ByteStream) => {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (let n = await from.read(buf); n !== null; n = await from.read(buf)) {
        await to.write(buf.slice(0, n));
      }
    } catch (_err) {
      // Either side hanging up ends the relay; the test judges the client's outcome.
    }
  };
  const relays: Promise<unknown>[] = [];
  const accepting = (async () => {
    while (true) {
      let client;
      try {
        client = await listener.accept();
      } catch (_err) {
        return; // closed on dispose
      }
      const upstream = await dial({ hostname: "127.0.0.1", port: target.port }, 5_000);
      relays.push(
        Promise.all([pump(client, upstream), pump(upstream, client)]).finally(() => {
          client.close();
          upstream.close();
        }),
      );
    }
  })();
  return {
    port: listener.addr.port,
    fingerprint,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      await Promise.allSettled(relays);
    },
  };
}

/**
 * `count` plain TCP relays (so many distinct servers to the client) to one
 * server, counting the connections open through all of them at once: the
 * most at any moment is what a fan-out really held open.
 */
export function countingRelays(
  count: number,
  targetPort: number,
): { ports: number[]; mostAtOnce(): number; total(): number } & AsyncDisposable {
  let open = 0;
  let most = 0;
  let total = 0;
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const relays: Promise<unknown>[] = [];
  const accepting = listeners.map((listener) =>
    (async () => {
      for await (const client of listener) {
        open++;
        total++;
        most = Math.max(most, open);
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        relays.push(
          Promise.allSettled([
            client.readable.pipeTo(upstream.writable),
            upstream.readable.pipeTo(client.writable),
          ]).then(() => open--),
        );
      }
    })().catch((err) => {
      if (!(err instanceof Deno.errors.BadResource)) throw err; // closed on dispose
    })
  );
  return {
    ports: listeners.map((l) => l.addr.port),
    mostAtOnce: () => most,
    total: () => total,
    async [Symbol.asyncDispose]() {
      for (const l of listeners) l.close();
      await Promise.all(accepting);
      await Promise.allSettled(relays);
    },
  };
}

/** A plain TCP relay: forwards bytes, TLS and all, without terminating anything. */
export function byteRelay(targetPort: number): { port: number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relays: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      relays.push(
        Promise.allSettled([
          client.readable.pipeTo(upstream.writable),
          upstream.readable.pipeTo(client.writable),
        ]),
      );
    }
  })().catch((err) => {
    if (!(err instanceof Deno.errors.BadResource)) throw err; // closed on dispose
  });
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      await Promise.allSettled(relays);
    },
  };
}

/** What {@linkcode watchingRelay} saw of one connection. */
export interface WatchedConnection {
  /** Everything the client sent, as text. */
  fromClient: string;
  /**
   * Whether the client had sent `marker` before the server's answer to `auth`
   * (a frame with `"id":0`) reached it: the relay holds that answer back until
   * the marker arrives, for at most `holdMs`.
   */
  sentBeforeAuthAnswer: boolean;
}

/**
 * A plain TCP relay to one server that watches the client's side of each
 * connection: it can hold the server's first bytes back (`helloDelayMs`: a
 * slow greeting), and it holds the server's `auth` answer until the client
 * has sent `marker` (at most `holdMs`), so a test can tell a request sent
 * with the auth (pipelined) from one sent after its answer.
 */
export function watchingRelay(
  targetPort: number,
  opts: { marker: string; holdMs?: number; helloDelayMs?: number },
): { port: number; connections: WatchedConnection[] } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: WatchedConnection[] = [];
  const relays: Promise<unknown>[] = [];
  const holdMs = opts.holdMs ?? 2_000;
  const pump = async (
    from: Deno.Conn,
    to: Deno.Conn,
    seen: (bytes: Uint8Array) => Promise<void>,
  ) => {
    const buf = new Uint8Array(16 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        const bytes = buf.slice(0, n);
        await seen(bytes);
        for (let off = 0; off < n;) off += await to.write(bytes.subarray(off));
      }
    } finally {
      // Either side hanging up ends the relay: the test judges the client's outcome.
      closeQuietly(to);
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      const watched: WatchedConnection = { fromClient: "", sentBeforeAuthAnswer: false };
      connections.push(watched);
      const decoder = new TextDecoder();
      let markerSeen: () => void = () => {};
      const marker = new Promise<void>((resolve) => markerSeen = resolve);
      let first = true;
      relays.push(Promise.allSettled([
        pump(client, upstream, (bytes) => {
          watched.fromClient += decoder.decode(bytes, { stream: true });
          if (watched.fromClient.includes(opts.marker)) markerSeen();
          return Promise.resolve();
        }),
        pump(upstream, client, async (bytes) => {
          if (first && opts.helloDelayMs) await delay(opts.helloDelayMs);
          first = false;
          if (!new TextDecoder().decode(bytes).includes('"id":0')) return;
          let timer: ReturnType<typeof setTimeout> | undefined;
          const late = new Promise<boolean>((r) => timer = setTimeout(() => r(false), holdMs));
          watched.sentBeforeAuthAnswer = await Promise.race([marker.then(() => true), late]);
          clearTimeout(timer);
        }),
      ]));
    }
  })().catch((err) => {
    if (!(err instanceof Deno.errors.BadResource)) throw err; // closed on dispose
  });
  return {
    port: listener.addr.port,
    connections,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      await Promise.allSettled(relays);
    },
  };
}

/** Quote a word for `sh`. */
export function shQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * A program in a tmux pane on a private tmux server (its own socket in a temp
 * directory), for tests that judge what the screen finally shows: lines
 * overwritten in place, progress bars, redrawn prompts. Dispose to kill that
 * tmux server and everything in it.
 */
export class TmuxTerminal implements AsyncDisposable {
  #dir: string;
  #socket: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#socket = `${dir}/tmux.sock`;
  }

  /**
   * Run `argv` (as `sh` would run the quoted words, in `cwd`) in a fresh pane
   * of `columns` × `rows` with exactly `env`; the pane stays after it exits.
   */
  static async start(
    argv: string[],
    opts: { env: Record<string, string>; cwd?: string; columns?: number; rows?: number },
  ): Promise<TmuxTerminal> {
    const dir = await Deno.makeTempDir({ prefix: "rmon-test-tmux-" });
    const term = new TmuxTerminal(dir);
    const cd = opts.cwd ? `cd ${shQuote(opts.cwd)} && ` : "";
    const size = ["-x", String(opts.columns ?? 160), "-y", String(opts.rows ?? 50)];
    // Our own config (never the user's): the pane stays after the program exits, so its
    // last screen and exit status can still be read.
    await Deno.writeTextFile(`${dir}/tmux.conf`, "set-option -g remain-on-exit on\n");
    await term.#tmux(
      [
        "-f",
        `${dir}/tmux.conf`,
        "new-session",
        "-d",
        ...size,
        // The shell prints the exit status last: tmux's own pane_dead_status comes and goes.
        `${cd}${argv.map(shQuote).join(" ")}; printf '\\n[exited %d]\\n' "$?"`,
      ],
      { ...opts.env, TERM: "xterm-256color" },
    );
    return term;
  }

  async #tmux(args: string[], env?: Record<string, string>): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-S", this.#socket, ...args],
      env: env ?? { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      clearEnv: true,
      stdin: "null",
    }).output();
    if (!out.success) {
      throw new Error(`Cannot run tmux ${args[0]}: ${decoder.decode(out.stderr).trim()}`);
    }
    return decoder.decode(out.stdout);
  }

  /** The pane as it looks now: one string per screen row, trailing blanks trimmed. */
  async screen(): Promise<string> {
    const text = await this.#tmux(["capture-pane", "-p", "-t", "0"]);
    return text.split("\n").map((l) => l.trimEnd()).join("\n").trimEnd();
  }

  /** Type `text` literally. */
  async type(text: string): Promise<void> {
    await this.#tmux(["send-keys", "-t", "0", "-l", text]);
  }

  /** Press keys by tmux name: `Enter`, `C-c`, `C-d`. */
  async press(...keys: string[]): Promise<void> {
    await this.#tmux(["send-keys", "-t", "0", ...keys]);
  }

  /** Wait until the screen matches `pattern`; throws with the screen if it does not in time. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let screen = "";
    while (Date.now() < until) {
      screen = await this.screen();
      if (pattern.test(screen)) return screen;
      await delay(100);
    }
    throw new Error(`Timed out waiting for ${pattern} on the screen:\n${screen}`);
  }

  /** Wait for the program to end; its exit status. */
  async exited(timeoutMs = 15_000): Promise<number> {
    await this.waitFor(/^\[exited \d+\]$/m, timeoutMs);
    return (await this.exitStatus())!;
  }

  /** The program's exit status once it has ended, or null while it runs. */
  async exitStatus(): Promise<number | null> {
    const m = /^\[exited (\d+)\]$/m.exec(await this.screen());
    return m ? Number(m[1]) : null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#tmux(["kill-server"]);
    } catch (_err) {
      // The server had already gone (its last pane closed).
    }
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** `127.0.0.1:PORT` of a server started on loopback. */
export function addr(server: { port: number }): string {
  return `127.0.0.1:${server.port}`;
}

/** Parse NDJSON output; every line must be a JSON object. */
export function ndjson(text: string): Record<string, unknown>[] {
  return text.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/**
 * Write `DIR/NAME`, an executable `sh` script that stands in for the compiled
 * binary where `deno compile` cannot fetch its runtime: it runs the entry point
 * with the build's own flags (tools/entry_flags.ts) and its arguments, with
 * Deno's cache pinned (and filled first) so it works under any HOME and
 * without network access. Returns its path.
 */
export async function writeEntryWrapper(dir: string, entry: Entry): Promise<string> {
  // A binary needs no downloads, and the wrapper may run where there is no way to make them
  // (under sshd: a clean environment without this machine's CA settings): fill the cache now,
  // lazily loaded modules included, from this process's environment.
  const cached = await new Deno.Command(Deno.execPath(), {
    args: cacheArgs(entry),
    env: childEnv({}),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!cached.success) {
    throw new Error(`Cannot fill Deno's cache for ${entry}: ${decoder.decode(cached.stderr)}`);
  }
  const path = `${dir}/${binarySpec(entry).name}`;
  const argv = [Deno.execPath(), ...runArgs(entry)].map(shQuote).join(" ");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\n# Stands in for the compiled ${entry} binary: deno run with the build's flags.\n` +
      `DENO_DIR=${shQuote(denoDir())} NO_COLOR=1 exec ${argv} "$@"\n`,
    { mode: 0o755 },
  );
  return path;
}

/** A running `rmon web` process and where its page is. */
export interface WebProcess extends AsyncDisposable {
  client: ClientProcess;
  /** The start address with its one-time token. */
  url: string;
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** `127.0.0.1:PORT`, as a browser's Host header says it. */
  host: string;
}

/**
 * Start `rmon web` (the real client entry point, as the build runs it) on
 * loopback port 0 for `servers` with `args` after them, and wait for its
 * start address. Dispose to stop it with SIGINT (SIGKILL if it hangs).
 * It gets the first server's token as RMON_TOKEN, none when that is "" (servers
 * started with `token: null`, for operator keys only).
 */
export async function startWeb(
  servers: readonly { port: number; token: string }[],
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<WebProcess> {
  const token = servers[0]?.token ?? TEST_TOKEN;
  const client = await spawnClient(
    ["web", ...servers.map(addr), "--listen", "127.0.0.1:0", ...args],
    { env: { ...(token === "" ? {} : { RMON_TOKEN: token }), ...env }, timeoutMs: 120_000 },
  );
  const started = await eventually(() => /https?:\/\/\S+token=\S+/.test(client.stdout()), 30_000);
  if (!started) {
    client.kill("SIGKILL");
    const run = await client.done;
    throw new Error(`rmon web did not start: ${run.stderr || run.stdout}`);
  }
  const url = /(https?:\/\/\S+token=\S+)/.exec(client.stdout())![1]!;
  const u = new URL(url);
  return {
    client,
    url,
    origin: u.origin,
    host: u.host,
    async [Symbol.asyncDispose]() {
      client.kill("SIGINT");
      const timer = setTimeout(() => client.kill("SIGKILL"), 10_000);
      await client.done;
      clearTimeout(timer);
    },
  };
}

/**
 * Send one HTTP/1.1 request as raw text to `port` on loopback (so headers a
 * fetch would not let us set, such as `Host`, are ours) and return the status
 * code, the headers (lower-case names) and the start of the body.
 */
export async function rawHttp(
  port: number,
  lines: readonly string[],
): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode([...lines, "Connection: close", "", ""].join("\r\n")),
    );
    const text = await readAll(conn, 10_000);
    const [head = "", ...rest] = text.split("\r\n\r\n");
    const [statusLine = "", ...headerLines] = head.split("\r\n");
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
    return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") };
  } finally {
    closeQuietly(conn);
  }
}

/** A `nats-server` child on a free loopback port; dispose to stop it. */
export interface NatsProcess extends AsyncDisposable {
  pid: number;
  /** `nats://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** The route (cluster) URL when started with `cluster`, else null. */
  routeUrl: string | null;
  /** Everything it logged so far. */
  log(): string;
  /** Stop it now (SIGKILL) and wait. */
  kill(): Promise<void>;
}

/** Whether `nats-server` is installed (`.ci/run` installs it from apt). */
export function hasNatsServer(): boolean {
  try {
    return new Deno.Command("nats-server", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** A loopback port free now (for a listener whose port must be named before it starts). */
function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * Start `nats-server` on loopback as fleets run it, with JetStream on (its
 * store in a temp dir, removed on dispose; rmon does not use it, but must work
 * beside it): a free client port (or `port`), with `cluster` a route listener
 * on a free port too (a JetStream cluster's first node names a route: its
 * own), `routes` joining other nodes, `args` for anything else (`--auth TOKEN`).
 */
export async function startNats(
  opts: { port?: number; cluster?: boolean; routes?: string[]; args?: string[] } = {},
): Promise<NatsProcess> {
  const store = await Deno.makeTempDir({ prefix: "rmon-nats-js-" });
  const args = [
    "-a",
    "127.0.0.1",
    "-p",
    String(opts.port ?? -1),
    "--jetstream",
    "--store_dir",
    store,
    "--server_name",
    `rmon-test-${store.slice(-8).replace(/[^A-Za-z0-9]/g, "")}`,
    ...(opts.args ?? []),
  ];
  if (opts.cluster || opts.routes) {
    const own = opts.routes ? -1 : freeLoopbackPort();
    args.push("--cluster_name", "rmon-test", "--cluster", `nats://127.0.0.1:${own}`);
    args.push("--routes", (opts.routes ?? [`nats://127.0.0.1:${own}`]).join(","));
  }
  const child = new Deno.Command("nats-server", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drained = (async () => {
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const status = child.status.then(async (s) => {
    await drained;
    return s;
  });
  const clientLine = /Listening for client connections on [\d.]+:(\d+)/;
  const routeLine = /Listening for route connections on [\d.]+:(\d+)/;
  const ready = () =>
    clientLine.test(text) && (!args.includes("--cluster") || routeLine.test(text)) &&
    /Server is ready/.test(text);
  const up = await eventually(ready, 10_000);
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // already ended
    }
    await status;
    try {
      await Deno.remove(store, { recursive: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // killed twice: gone already
    }
  };
  if (!up) {
    await kill();
    throw new Error(`Cannot start nats-server:\n${text}`);
  }
  const port = Number(clientLine.exec(text)![1]);
  const route = routeLine.exec(text);
  return {
    pid: child.pid,
    url: `nats://127.0.0.1:${port}`,
    port,
    routeUrl: route ? `nats://127.0.0.1:${route[1]}` : null,
    log: () => text,
    kill,
    async [Symbol.asyncDispose]() {
      await kill();
    },
  };
}

/** A fake NATS server on a loopback port, each connection handled by a script of the test. */
export interface FakeNats extends AsyncDisposable {
  port: number;
  /** `nats://127.0.0.1:PORT`. */
  url: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Stop accepting, close every connection and wait for the scripts to end. */
  close(): Promise<void>;
}

/**
 * Listen on a free loopback port and run `script(conn, n)` for the n-th
 * connection (from 0): a peer that misbehaves as a test wants (never says
 * INFO, sends garbage, goes silent after the handshake). Each connection is
 * closed when its script ends (unless the script closed it) and on dispose.
 */
export function startFakeNats(script: (conn: Deno.Conn, n: number) => Promise<void>): FakeNats {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const scripts: Promise<void>[] = [];
  let accepted = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      const n = accepted++;
      scripts.push(
        script(conn, n).catch((err) => {
          // The test closing the peer (or the client hanging up) ends a script: expected.
          if (!isSocketEnd(err)) throw err;
        }).finally(() => {
          conns.delete(conn);
          closeQuietly(conn);
        }),
      );
    }
  })();
  let closing: Promise<void> | null = null;
  const close = () =>
    closing ??= (async () => {
      closeQuietly(listener);
      await loop.catch((err) => {
        if (!(err instanceof Deno.errors.BadResource)) throw err;
      });
      for (const c of conns) closeQuietly(c);
      await Promise.all(scripts);
    })();
  const { port } = listener.addr;
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    accepted: () => accepted,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Whether `err` is a socket ending under a script (closed, reset, interrupted). */
function isSocketEnd(err: unknown): boolean {
  return err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.ConnectionReset || err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.UnexpectedEof;
}

/**
 * A fake NATS server's side of the handshake on `conn`: send `INFO` (with
 * `info` fields), read until the client's `CONNECT` and `PING`, answer `PONG`
 * (and `afterPong` in the same write). Resolves with what the client sent.
 */
export async function fakeNatsHandshake(
  conn: Deno.Conn,
  info: Record<string, unknown> = {},
  afterPong = "",
): Promise<string> {
  const all = {
    "server_id": "FAKE",
    version: "2.9.10",
    proto: 1,
    "max_payload": 1048576,
    ...info,
  };
  await writeAll(conn, new TextEncoder().encode(`INFO ${JSON.stringify(all)}\r\n`));
  let got = "";
  const buf = new Uint8Array(4096);
  while (!/^CONNECT [^\r\n]*\r\nPING\r\n/.test(got)) {
    const n = await conn.read(buf);
    if (n === null) throw new Deno.errors.UnexpectedEof("the client left during the handshake");
    got += decoder.decode(buf.subarray(0, n));
  }
  await writeAll(conn, new TextEncoder().encode(`PONG\r\n${afterPong}`));
  return got;
}

/** Read and drop everything `conn` sends until it ends (a peer that never answers). */
export async function drainConn(conn: Deno.Conn, seen?: (text: string) => void): Promise<void> {
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return;
    seen?.(decoder.decode(buf.subarray(0, n)));
  }
}

/** An `rmon-server` agent in bus mode (`--nats`), started as the build runs it. */
export interface AgentProcess extends AsyncDisposable {
  pid: number;
  name: string;
  /** Its log (stderr) and banner (stdout) so far. */
  stderr(): string;
  stdout(): string;
  status: Promise<Deno.CommandStatus>;
  kill(signal?: Deno.Signal): void;
}

/**
 * Start `server.ts --nats URL --name NAME [args]` with the test token and wait
 * until it says it is on NATS (unless `wait` is false: wrong credentials).
 */
export async function startAgent(
  url: string,
  name: string,
  opts: { args?: string[]; token?: string; wait?: boolean } = {},
): Promise<AgentProcess> {
  const home = await Deno.makeTempDir({ prefix: "rmon-test-agent-" });
  const env = childEnv({
    HOME: home,
    XDG_STATE_HOME: `${home}/state`,
    NO_COLOR: "1",
    RMON_TOKEN: opts.token ?? TEST_TOKEN,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [...runArgs("server"), "--nats", url, "--name", name, ...(opts.args ?? [])],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const drains = [
    (async () => {
      for await (const c of child.stdout) out += decoder.decode(c, { stream: true });
    })(),
    (async () => {
      for await (const c of child.stderr) err += decoder.decode(c, { stream: true });
    })(),
  ];
  const status = child.status.then(async (s) => {
    await Promise.all(drains);
    await Deno.remove(home, { recursive: true });
    return s;
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => signalChild(child, signal);
  const agent: AgentProcess = {
    pid: child.pid,
    name,
    stderr: () => err,
    stdout: () => out,
    status,
    kill,
    async [Symbol.asyncDispose]() {
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 5_000);
      await status;
      clearTimeout(timer);
    },
  };
  if (opts.wait !== false && !(await eventually(() => / on NATS as /.test(out), 30_000))) {
    await agent[Symbol.asyncDispose]();
    throw new Error(`Cannot start agent ${name}:\nstdout:\n${out}\nstderr:\n${err}`);
  }
  return agent;
}

/**
 * A CA and a server certificate it signed for 127.0.0.1 (unless `ipAddress`
 * is false) and `dnsNames`, all PEM (TLS tests, rmon and NATS).
 */
export async function makeCaSignedServer(
  dnsNames: readonly string[] = [],
  opts: { ipAddress?: boolean } = {},
): Promise<
  { caPem: string; certPem: string; keyPem: string }
> {
  x509.cryptoProvider.set(crypto);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const day = 24 * 60 * 60 * 1000;
  const caKeys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=rmon test CA",
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + day),
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    issuer: ca.subject,
    subject: "CN=rmon test server",
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + day),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([
        ...(opts.ipAddress === false ? [] : [{ type: "ip" as const, value: "127.0.0.1" }]),
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
      ]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    caPem: ca.toString("pem"),
    certPem: cert.toString("pem"),
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
  };
}

/**
 * The console in a pseudo-terminal made by util-linux `script`: keys are
 * written to its stdin, the screen is read (escapes stripped) from its stdout.
 */
export class PtyConsole implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #text = "";
  #reading: Promise<void>;
  readonly home: string;

  /** Run `rmon ARGS` in a pseudo-terminal with `home` as HOME; `env` adds to its environment. */
  constructor(args: string[], home: string, env: Record<string, string> = {}) {
    this.home = home;
    const command = [Deno.execPath(), ...runArgs("client"), ...args].map(shQuote).join(" ");
    this.#child = new Deno.Command("script", {
      // A fixed size: a pseudo-terminal made from a pipe starts at 0 columns.
      args: ["-qfec", `stty cols 200 rows 50; exec ${command}`, "/dev/null"],
      env: childEnv({
        HOME: home,
        XDG_STATE_HOME: `${home}/state`,
        NO_COLOR: "1",
        TERM: "xterm",
        RMON_TOKEN: TEST_TOKEN,
        ...env,
      }),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    const decoder = new TextDecoder();
    const stdout = this.#child.stdout;
    this.#reading = (async () => {
      for await (const chunk of stdout) {
        this.#text += decoder.decode(chunk, { stream: true });
      }
    })();
  }

  /** Everything shown so far, without escapes or carriage returns. */
  get screen(): string {
    return stripAnsi(this.#text).replaceAll("\r", "");
  }

  /** A position in the screen text; wait for what comes after it. */
  mark(): number {
    return this.screen.length;
  }

  /** Type `keys` (`\r` is Enter, `\x03` Ctrl-C). */
  async type(keys: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(keys));
  }

  /** Wait until `pattern` shows up after `from`; throws with the screen if it does not. */
  async waitFor(pattern: string | RegExp, from = 0, timeoutMs = 15_000): Promise<void> {
    const seen = () => {
      const text = this.screen.slice(from);
      return typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
    };
    if (!await eventually(seen, timeoutMs)) {
      throw new Error(`Timed out waiting for ${pattern} in:\n${this.screen.slice(from)}`);
    }
  }

  /** Wait for the console to end; its exit code (script -e passes it on). */
  async exitCode(timeoutMs = 10_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.#child.status,
      new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (status === null) throw new Error(`Console did not exit:\n${this.screen}`);
    return status.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // already exited
    }
    await this.#stdin.close().catch((err) => {
      // The pseudo-terminal is gone once script exits; its stdin pipe may be closed.
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    });
    await this.#child.status;
    await this.#reading;
  }
}
