/**
 * Start a local `rmon-server` child process the way the build would run it
 * (`deno run` with the compile task's flags) and wait for its "listening"
 * line. Shared by `deno task demo`, the tests and the benchmarks.
 * @module
 */

import { deadline } from "../lib/async.ts";
import { runArgs } from "./entry_flags.ts";

/** A started server child and what it printed until it listened. */
export interface LocalServer {
  child: Deno.ChildProcess;
  hostname: string;
  port: number;
  /** Lines printed on stdout up to and including "listening on ...". */
  banner: string[];
  /** Everything logged on stderr so far (drained continuously). */
  stderr(): string;
  /** Resolves once the process has ended and its pipes are drained. */
  status: Promise<Deno.CommandStatus>;
}

/** Options of `spawnLocalServer`. */
export interface SpawnOptions {
  /** Extra server arguments; `--port 0` is added unless `port` is given. */
  args?: string[];
  port?: number;
  /** The complete environment of the child (it does not inherit ours). */
  env: Record<string, string>;
  /** Own process group, so a terminal's Ctrl-C does not reach it (default false). */
  detached?: boolean;
  /** How long to wait for the "listening" line (default 30 s). */
  startTimeoutMs?: number;
  /**
   * A program that runs the server for us, given the server's command line
   * after its own arguments (e.g. `unshare -m sh -c 'mount …; exec "$0" "$@"'`);
   * it must `exec` the server so the pid stays the server's. Default none.
   */
  wrap?: { cmd: string; args: string[] };
}

const decoder = new TextDecoder();

/** Deno's cache directory as this process sees it (where `deno info` says it is). */
export function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  if (Deno.build.os === "darwin") return `${home}/Library/Caches/deno`;
  if (Deno.build.os === "windows") return `${Deno.env.get("LOCALAPPDATA") ?? home}\\deno`;
  return `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno`;
}

/**
 * The environment for a child entry point: ours without `RMON_TOKEN`, with
 * `DENO_DIR` pinned (so a child with another HOME still finds the cached npm
 * packages) and `overrides` applied.
 */
export function childEnv(overrides: Record<string, string>): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.RMON_TOKEN;
  return { ...env, DENO_DIR: denoDir(), ...overrides };
}
const LISTENING = /listening on (\[[^\]]+\]|[^:\s]+):(\d+)/;

/** Start `server.ts` and resolve once it listens; throws with its output if it does not. */
export async function spawnLocalServer(opts: SpawnOptions): Promise<LocalServer> {
  const argv = [...runArgs("server"), "--port", String(opts.port ?? 0), ...(opts.args ?? [])];
  const child = new Deno.Command(opts.wrap?.cmd ?? Deno.execPath(), {
    args: opts.wrap ? [...opts.wrap.args, Deno.execPath(), ...argv] : argv,
    env: opts.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: opts.detached ?? false,
  }).spawn();
  let errText = "";
  const errDone = (async () => {
    for await (const chunk of child.stderr) errText += decoder.decode(chunk, { stream: true });
  })();
  const banner: string[] = [];
  const reader = child.stdout.getReader();
  let buffered = "";
  let listening: RegExpMatchArray | null = null;
  const until = Date.now() + (opts.startTimeoutMs ?? 30_000);
  while (!listening) {
    const next = await deadline(reader.read(), until - Date.now(), () => "timeout" as const);
    if (next === "timeout" || next.done) break;
    buffered += decoder.decode(next.value, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      banner.push(line);
      listening ??= line.match(LISTENING);
    }
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  const outDone = (async () => {
    while (!(await reader.read()).done) { /* drained */ }
  })();
  const status = child.status.then(async (s) => {
    await Promise.all([errDone, outDone]);
    return s;
  });
  if (!listening) {
    try {
      child.kill("SIGKILL");
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // it had already exited
    }
    await status;
    throw new Error(
      `Cannot start server: no "listening" line\nstdout:\n${
        banner.join("\n")
      }\nstderr:\n${errText}`,
    );
  }
  return {
    child,
    hostname: listening[1]!.replace(/^\[|\]$/g, ""),
    port: Number(listening[2]),
    banner,
    stderr: () => errText,
    status,
  };
}

/** Send `signal` to a child unless it has already exited. */
export function signalChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // it had already exited
  }
}
