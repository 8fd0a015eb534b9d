// deno-lint-ignore-file no-console
/**
 * `deno task test:binaries [--bin-dir DIR]`: runs the built host binaries end
 * to end — `rmon-server` on loopback with a fresh token file, then `rmon`
 * one-shot `--json`: `ram`, an exec, and `kill`, which must stop the server.
 * The binaries are looked for in `dist/<version>/<host target>/` (a release),
 * then `dist/` (a host build). When there are none it says that it did not
 * run and why, and exits 77 (the "skipped" code of automake and meson): never
 * a pass. Dev tooling layer.
 * @module
 */

import { join } from "node:path";
import { binaryFile } from "./build.ts";
import { binarySpec, ROOT, VERSION } from "./entry_flags.ts";
import { signalChild } from "./local_server.ts";

/** Exit code for "did not run" (automake's skip code): neither a pass nor a failure. */
export const SKIPPED = 77;

const decoder = new TextDecoder();

/** The folders searched for host binaries, most specific first. */
export function binaryDirs(root = ROOT, target = Deno.build.target): string[] {
  return [join(root, "dist", VERSION, target), join(root, "dist")];
}

/** Both binaries' paths in `dir`, or null when either is missing. */
function binariesIn(dir: string): { server: string; client: string } | null {
  const server = join(dir, binaryFile(binarySpec("server").name, Deno.build.target));
  const client = join(dir, binaryFile(binarySpec("client").name, Deno.build.target));
  const isFile = (p: string) => {
    try {
      return Deno.statSync(p).isFile;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  };
  return isFile(server) && isFile(client) ? { server, client } : null;
}

/** Runs the client binary one-shot with `--json`; its records and exit code. */
async function oneShot(
  client: string,
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number; records: Record<string, unknown>[]; stderr: string }> {
  const out = await new Deno.Command(client, { args, env, stdin: "null" }).output();
  const text = decoder.decode(out.stdout).trim();
  return {
    code: out.code,
    records: text === "" ? [] : text.split("\n").map((l) => JSON.parse(l)),
    stderr: decoder.decode(out.stderr),
  };
}

/** Throws with `what` and the details when `ok` is false. */
function expect(ok: boolean, what: string, details: unknown): void {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(details)}`);
}

/** The end-to-end run; throws on the first check that fails. */
export async function runChecks(bins: { server: string; client: string }): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "rmon-binaries-" });
  const passed: string[] = [];
  const env = { HOME: dir, XDG_STATE_HOME: `${dir}/state`, NO_COLOR: "1", PATH: "/usr/bin:/bin" };
  const tokenFile = join(dir, "token");
  try {
    const gen = await new Deno.Command(bins.server, {
      args: ["--gen-token", tokenFile],
      env,
      clearEnv: true,
      stdin: "null",
    }).output();
    expect(gen.success, "rmon-server --gen-token failed", decoder.decode(gen.stderr));
    const server = new Deno.Command(bins.server, {
      args: ["--port", "0", "--token-file", tokenFile],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const errText = new Response(server.stderr).text();
    try {
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let banner = "";
      let port: string | undefined;
      const until = Date.now() + 30_000;
      while (port === undefined && Date.now() < until) {
        const next = await reader.read();
        if (next.done) break;
        banner += next.value;
        port = /listening on 127\.0\.0\.1:(\d+)/.exec(banner)?.[1];
      }
      expect(port !== undefined, "rmon-server did not say it listens", banner);
      expect(banner.includes(`rmon-server ${VERSION} `), "the banner lacks the version", banner);
      passed.push(`server listens on 127.0.0.1:${port}`);
      const base = ["--json", "--token-file", tokenFile, "--yes", `127.0.0.1:${port}`, "--"];
      const ram = await oneShot(bins.client, env, [...base, "ram"]);
      expect(ram.code === 0 && ram.records[0]?.status === "ok", "ram failed", ram);
      passed.push("ram: ok");
      const exec = await oneShot(bins.client, env, [...base, "sh: echo binaries-ok"]);
      expect(
        exec.code === 0 && exec.records[0]?.stdout === "binaries-ok\n",
        "exec failed",
        exec,
      );
      passed.push("exec: ok");
      const kill = await oneShot(bins.client, env, [...base, "kill"]);
      expect(kill.code === 0, "kill failed", kill);
      const status = await server.status;
      expect(status.success, "the server did not exit cleanly after kill", status);
      passed.push("kill: the server exited 0");
      await reader.cancel();
    } finally {
      signalChild(server, "SIGKILL");
      await server.status;
      await errText;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return passed;
}

async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf("--bin-dir");
  const dirs = at === -1 ? binaryDirs() : [argv[at + 1] ?? ""];
  const found = dirs.map(binariesIn).find((b) => b !== null);
  if (!found) {
    console.log(
      `test:binaries did not run: no rmon-server and rmon for ${Deno.build.target} in ` +
        `${dirs.join(" or ")} (build them with "deno task build" or "deno task release")`,
    );
    return SKIPPED;
  }
  console.log(`Testing ${found.server} and ${found.client}`);
  try {
    for (const line of await runChecks(found)) console.log(`  ${line}`);
  } catch (err) {
    console.error(`test:binaries failed: ${(err as Error).message}`);
    return 1;
  }
  console.log("test:binaries passed");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
