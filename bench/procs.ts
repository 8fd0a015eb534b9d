/**
 * Benchmark processes: start real `rmon-server` processes (with the build's own
 * permission flags, `--quiet`, port 0 on loopback, plain or `--tls`) and
 * minimal echo servers, wait until they listen (taking a TLS server's
 * certificate fingerprint from its banner), read their footprint from /proc,
 * and stop exactly the processes started here, by pid.
 * @module
 */

import { runArgs } from "../tools/entry_flags.ts";
import type { Endpoint } from "../lib/protocol/transport.ts";

/** The shared token every benchmark server is started with (through RMON_TOKEN). */
export const BENCH_TOKEN = "bench-token-0123456789abcdef";

/** Longest a process may take to print its listening line. */
const START_TIMEOUT_MS = 30_000;
/** Time between SIGTERM and SIGKILL when stopping. */
const STOP_GRACE_MS = 5_000;
/** How much of a process's stderr is kept for error messages. */
const STDERR_KEEP = 8 * 1024;

const decoder = new TextDecoder();
/** Every process started here and not yet exited, so an interrupted run can stop them all. */
const live = new Set<BenchProcess>();
const ECHO_SERVER = new URL("./echo_server.ts", import.meta.url).pathname;

/** A running child server; dispose (or `stop()`) to end it. */
export interface BenchProcess extends AsyncDisposable {
  kind: "rmon" | "echo";
  pid: number;
  endpoint: Endpoint;
  /** A TLS server's certificate fingerprint (bare hex) from its `TLS: …` line; else undefined. */
  fingerprint?: string;
  /** Milliseconds from spawn to its "listening" line. */
  startMs: number;
  /** The tail of what it wrote on stderr. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startRmonServer}. */
export interface RmonServerOptions {
  /** Extra server arguments, e.g. `["--max-output", "300000000"]` or `["--tls"]`. Default none. */
  args?: string[];
  /**
   * HOME and XDG_STATE_HOME of the server, kept after it exits (a `--tls`
   * server's certificate lives there, so a later start reuses it).
   * Default: a fresh temp dir per server, removed when it exits.
   */
  home?: string;
}

let denoDir: Promise<string> | undefined;

/**
 * Deno's cache directory as this process sees it. Children get it explicitly:
 * with a fresh HOME they would otherwise start from an empty cache and
 * transpile every module on every start, which is not what a deployed server does.
 */
export function cacheDir(): Promise<string> {
  denoDir ??= (async () => {
    const fromEnv = Deno.env.get("DENO_DIR");
    if (fromEnv) return fromEnv;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const info = JSON.parse(decoder.decode(out.stdout)) as { denoDir?: unknown };
    if (!out.success || typeof info.denoDir !== "string") {
      throw new Error("Cannot find Deno's cache directory: deno info --json has no denoDir");
    }
    return info.denoDir;
  })();
  return denoDir;
}

/**
 * How this machine reaches the package registries: a child that has to fetch
 * an npm package the cache lacks (the TLS server's certificate library) needs
 * the same certificate authorities and proxies as this process.
 */
const NETWORK_ENV = [
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "DENO_TLS_CA_STORE",
  "DENO_CERT",
  "NODE_EXTRA_CA_CERTS",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
  "NPM_CONFIG_REGISTRY",
];

/** The environment every benchmark child starts from: PATH, DENO_DIR, no colour, network setup. */
export async function baseEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    DENO_DIR: await cacheDir(),
    NO_COLOR: "1",
  };
  for (const name of NETWORK_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Start `server.ts` as the build runs it (`--quiet`, port 0, limits on
 * unauthenticated connections raised) and wait until it listens.
 */
export async function startRmonServer(opts: RmonServerOptions = {}): Promise<BenchProcess> {
  const ownHome = opts.home === undefined;
  const home = opts.home ?? await Deno.makeTempDir({ prefix: "rmon-bench-home-" });
  const args = [
    ...runArgs("server"),
    "--port",
    "0",
    "--quiet",
    // The benchmark connects hundreds of links from one address at once, which
    // the default limits on unauthenticated connections would spread out.
    "--max-startups",
    "1024",
    "--max-startups-per-source",
    "1024",
    ...(opts.args ?? []),
  ];
  return await spawnListening("rmon", args, {
    ...await baseEnv(),
    HOME: home,
    XDG_STATE_HOME: `${home}/state`,
    RMON_TOKEN: BENCH_TOKEN,
  }, ownHome ? () => Deno.remove(home, { recursive: true }) : undefined);
}

/** Start the minimal echo server (the floor of every network figure) and wait until it listens. */
export async function startEchoServer(): Promise<BenchProcess> {
  return await spawnListening(
    "echo",
    ["run", "--allow-net=127.0.0.1", ECHO_SERVER],
    await baseEnv(),
  );
}

/** Start `count` processes, `batch` at a time (starting 100 Deno processes at once on 2 cores thrashes). */
export async function startMany(
  count: number,
  batch: number,
  start: () => Promise<BenchProcess>,
): Promise<BenchProcess[]> {
  const out: BenchProcess[] = [];
  try {
    for (let i = 0; i < count; i += batch) {
      const n = Math.min(batch, count - i);
      const started = await Promise.allSettled(Array.from({ length: n }, start));
      for (const s of started) if (s.status === "fulfilled") out.push(s.value);
      const failed = started.find((s) => s.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    return out;
  } catch (err) {
    await stopAll(out);
    throw err;
  }
}

/** Stop every process this module started that is still running (for SIGINT/SIGTERM). */
export async function stopEverything(): Promise<void> {
  await stopAll([...live]);
}

/** Stop every process in `procs`. */
export async function stopAll(procs: readonly BenchProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

async function spawnListening(
  kind: BenchProcess["kind"],
  args: string[],
  env: Record<string, string>,
  /** Runs once the process has exited, e.g. to remove its temp dir. */
  cleanup?: () => Promise<void>,
): Promise<BenchProcess> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let errTail = "";
  const errDone = (async () => {
    for await (const chunk of child.stderr) {
      errTail = (errTail + decoder.decode(chunk, { stream: true })).slice(-STDERR_KEEP);
    }
  })();
  const reader = child.stdout.getReader();
  let text = "";
  let match: RegExpMatchArray | null = null;
  const deadline = setTimeout(() => kill(child, "SIGKILL"), START_TIMEOUT_MS);
  try {
    while (!match) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      match = text.match(/listening on ([0-9.]+):(\d+)/);
    }
  } finally {
    clearTimeout(deadline);
  }
  const startMs = performance.now() - t0;
  // Keep draining stdout so the child never blocks on a full pipe.
  const outDone = (async () => {
    while (!(await reader.read()).done) { /* drained */ }
  })();
  const exited = child.status.then(async () => {
    await Promise.all([errDone, outDone]);
    await cleanup?.();
  });
  if (!match) {
    kill(child, "SIGKILL");
    await exited;
    throw new Error(`Cannot start ${kind} server: no "listening" line\n${text}\n${errTail}`);
  }
  // A TLS server names its certificate before it listens: `TLS: …; fingerprint sha256:<hex>`.
  const fingerprint = text.match(/^TLS: .*fingerprint sha256:([0-9a-f]{64})$/m)?.[1];
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      kill(child, "SIGTERM");
      const timer = setTimeout(() => kill(child, "SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
  const proc: BenchProcess = {
    kind,
    pid: child.pid,
    endpoint: { hostname: match[1]!, port: Number(match[2]) },
    fingerprint,
    startMs,
    stderr: () => errTail,
    stop,
    [Symbol.asyncDispose]: stop,
  };
  live.add(proc);
  exited.then(() => live.delete(proc));
  return proc;
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // already exited
  }
}

/**
 * Read a /proc file of another process. Deno asks for --allow-all to read
 * /proc/PID/* directly, so it goes through `cat`, which --allow-run covers.
 */
async function readProc(pid: number, file: "status" | "stat"): Promise<string> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${file}`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`Cannot read /proc/${pid}/${file}: ${decoder.decode(out.stderr).trim()}`);
  }
  return decoder.decode(out.stdout);
}

/** Resident set size of process `pid` in bytes (VmRSS from /proc/PID/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readProc(pid, "status");
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`Cannot read RSS of process ${pid}: no VmRSS line`);
  return Number(m[1]) * 1024;
}

/** CPU time (user + system) used so far by process `pid`, in clock ticks. */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readProc(pid, "stat");
  // Fields after the parenthesised name (which may hold spaces): utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked). */
export async function clockTicksPerSecond(): Promise<number> {
  try {
    const out = await new Deno.Command("getconf", {
      args: ["CLK_TCK"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const n = Number(decoder.decode(out.stdout).trim());
    return out.success && n > 0 ? n : 100;
  } catch (_err) {
    // No getconf: Linux has used USER_HZ = 100 on every common architecture.
    return 100;
  }
}

/** Milliseconds from spawning until a TCP connect succeeds, for a process started by `start`. */
export async function timeToAccept(
  start: () => Promise<BenchProcess>,
): Promise<{ proc: BenchProcess; listeningMs: number; acceptMs: number }> {
  const t0 = performance.now();
  const proc = await start();
  const conn = await Deno.connect(proc.endpoint);
  const acceptMs = performance.now() - t0;
  conn.close();
  return { proc, listeningMs: proc.startMs, acceptMs };
}

/** GNU time: reports a process's peak RSS (`-f %M`); `.ci/run` installs it. */
const GNU_TIME = "/usr/bin/time";

/** Wall time and peak RSS of one process. */
export interface Run {
  ms: number;
  peakBytes: number;
}

/** Bytes of a run's stdout kept to explain a failure, when stdout is read at all. */
const TAIL_BYTES = 2048;

/**
 * Run `argv` under GNU time; its wall time and peak RSS. Stdout goes to
 * /dev/null, or with `tail` is read and dropped but for its end (for the
 * error message of a failed run).
 */
export async function timed(
  argv: string[],
  env: Record<string, string>,
  tail = false,
): Promise<Run> {
  const t0 = performance.now();
  let child;
  try {
    child = new Deno.Command(GNU_TIME, {
      args: ["-f", "rmon-bench-peak-kb %M", ...argv],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: tail ? "piped" : "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot measure peak RSS: ${GNU_TIME} is missing (apt-get install time)`);
    }
    throw err;
  }
  let last = new Uint8Array(0);
  if (tail) {
    for await (const chunk of child.stdout) {
      last = chunk.length >= TAIL_BYTES ? chunk.slice(-TAIL_BYTES) : chunk.slice();
    }
  }
  const out = await child.output();
  const ms = performance.now() - t0;
  const decoder = new TextDecoder();
  const stderr = decoder.decode(out.stderr);
  const kb = /rmon-bench-peak-kb (\d+)/.exec(stderr)?.[1];
  if (!out.success || kb === undefined) {
    throw new Error(
      `Cannot run ${argv.slice(0, 3).join(" ")}…: exit ${out.code}\n${stderr}${
        decoder.decode(last)
      }`,
    );
  }
  return { ms, peakBytes: Number(kb) * 1024 };
}
