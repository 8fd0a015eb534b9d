/**
 * `rmon-server service print|install` and `rmon-server fingerprint`: the
 * subcommands that put the server on a machine for good. `print` writes a
 * service definition (service.ts) to stdout; `install` writes it where the
 * service manager looks (systemd on Linux, launchd on macOS) and, as root on
 * the real system, enables and (re)starts it, saying each step it took.
 * `fingerprint` prints the SHA-256 of the certificate the server will serve
 * (making it first if needed), which `rmon bootstrap` pins. Server layer.
 * @module
 */

import { basename, dirname, join } from "node:path";
import { describeError } from "../protocol/errors.ts";
import { formatFingerprint } from "../protocol/fingerprint.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import { parseServerArgs } from "./options.ts";
import {
  LAUNCHD_LABEL,
  SERVICE_KINDS,
  SERVICE_NAME,
  serviceDefinition,
  type ServiceKind,
} from "./service.ts";

/** Usage of the subcommands, part of `rmon-server --help`. */
export const SERVICE_USAGE =
  `Usage: rmon-server service print systemd|launchd|windows [--exe PATH] [SERVER OPTIONS...]
       rmon-server service install [--exe PATH] [--root DIR] [SERVER OPTIONS...]
       rmon-server fingerprint [SERVER OPTIONS...]

  print      write the service definition that runs this binary (or --exe PATH)
             with SERVER OPTIONS to stdout
  install    Linux (systemd): write /etc/systemd/system/${SERVICE_NAME}.service;
             macOS (launchd): write /Library/LaunchDaemons/${LAUNCHD_LABEL}.plist;
             as root, also enable the service and (re)start it
  --root DIR write under DIR instead of / (env RMON_SERVICE_ROOT); nothing is
             enabled then
  fingerprint  print the SHA-256 fingerprint of the TLS certificate the server
             serves with these options (generating it if there is none yet)`;

/** What the subcommands need from the machine; injected so tests never touch the real one. */
export interface ServiceHost {
  os: typeof Deno.build.os;
  /** This binary's absolute path. */
  execPath: string;
  env: (name: string) => string | undefined;
  isRoot: boolean;
  /** Whether the system's service manager runs here (systemd booted, launchd on macOS). */
  managerRunning: boolean;
  /** Runs a command; resolves to its exit code and stderr. */
  run: (cmd: string, args: string[]) => Promise<{ code: number; stderr: string }>;
  out: (line: string) => void;
}

/** The real machine. */
export function realServiceHost(out: (line: string) => void): ServiceHost {
  const isDir = (p: string) => {
    try {
      return Deno.statSync(p).isDirectory;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  };
  return {
    os: Deno.build.os,
    execPath: Deno.execPath(),
    env: (n) => Deno.env.get(n),
    isRoot: Deno.build.os !== "windows" && Deno.uid() === 0,
    // systemd's own test for "booted with systemd" (sd_booted).
    managerRunning: Deno.build.os === "darwin" || isDir("/run/systemd/system"),
    run: async (cmd, args) => {
      const res = await new Deno.Command(cmd, { args, stdin: "null", stdout: "null" }).output();
      return { code: res.code, stderr: new TextDecoder().decode(res.stderr).trim() };
    },
    out,
  };
}

/** Service options before the server's own: `--exe PATH`, `--root DIR`. */
function splitServiceArgs(args: readonly string[]): {
  exe?: string;
  root?: string;
  server: string[];
} {
  let i = 0;
  const got: { exe?: string; root?: string } = {};
  for (; i < args.length; i++) {
    const word = args[i]!;
    if (word === "--") {
      i++;
      break;
    }
    const name = word.startsWith("--exe") ? "exe" : word.startsWith("--root") ? "root" : null;
    if (name === null || !/^--(exe|root)(=|$)/.test(word)) break;
    const value = word.includes("=") ? word.slice(word.indexOf("=") + 1) : args[++i];
    if (!value) throw new UsageError(`Invalid arguments: --${name} needs a value`);
    got[name] = value;
  }
  return { ...got, server: args.slice(i) };
}

/** The binary a service runs: `--exe` or this one, never the `deno` that runs a script. */
function serviceExe(exe: string | undefined, host: ServiceHost, kind: ServiceKind): string {
  const path = exe ?? host.execPath;
  // The definition's platform decides: a Windows one may be printed on Linux.
  const absolute = kind === "windows" ? /^[a-zA-Z]:[\\/]|^\\\\/.test(path) : path.startsWith("/");
  if (!absolute) throw new UsageError(`Invalid arguments: --exe "${path}" is not an absolute path`);
  if (exe === undefined && /^deno(\.exe)?$/i.test(basename(path))) {
    throw new UsageError(
      `Cannot make a service for "${path}": that is deno, not a compiled rmon-server; ` +
        "run this from the rmon-server binary, or name it with --exe PATH",
    );
  }
  return path;
}

/** Checks the server options now, so a service never starts only to fail on them. */
function checkServerArgs(args: string[]): void {
  const opts = parseServerArgs(args);
  if (opts.help || opts.version || opts.genToken !== undefined) {
    throw new UsageError(
      "Invalid arguments: --help, --version and --gen-token do not belong in a service",
    );
  }
}

/** Where `install` writes the definition under `root`, and which kind it is. */
export function installTarget(
  os: typeof Deno.build.os,
  root: string,
): { kind: ServiceKind; path: string } {
  if (os === "linux") {
    return { kind: "systemd", path: join(root, "etc/systemd/system", `${SERVICE_NAME}.service`) };
  }
  if (os === "darwin") {
    return { kind: "launchd", path: join(root, "Library/LaunchDaemons", `${LAUNCHD_LABEL}.plist`) };
  }
  throw new UsageError(
    `Cannot install a service on ${os}: install works with systemd (Linux) and launchd ` +
      `(macOS); on Windows run the lines "rmon-server service print windows" prints`,
  );
}

/** The commands that enable and (re)start the installed service. */
export function enableCommands(kind: ServiceKind, path: string): [string, string[]][] {
  if (kind === "systemd") {
    return [
      ["systemctl", ["daemon-reload"]],
      ["systemctl", ["enable", `${SERVICE_NAME}.service`]],
      // restart, not start: after an upgrade the new binary must be the one running.
      ["systemctl", ["restart", `${SERVICE_NAME}.service`]],
    ];
  }
  return [
    ["launchctl", ["bootout", `system/${LAUNCHD_LABEL}`]],
    ["launchctl", ["bootstrap", "system", path]],
  ];
}

/** `rmon-server service ...`; resolves to the exit code. */
export async function runService(args: readonly string[], host: ServiceHost): Promise<number> {
  const [action, ...rest] = args;
  if (action === "print") {
    const [kind, ...more] = rest;
    if (!SERVICE_KINDS.includes(kind as ServiceKind)) {
      throw new UsageError(
        `Invalid arguments: service print needs one of ${SERVICE_KINDS.join(", ")}` +
          (kind === undefined ? "" : `, not "${kind}"`),
      );
    }
    const split = splitServiceArgs(more);
    if (split.root !== undefined) throw new UsageError("Invalid arguments: --root is for install");
    checkServerArgs(split.server);
    const exe = serviceExe(split.exe, host, kind as ServiceKind);
    host.out(serviceDefinition(kind as ServiceKind, { exe, args: split.server }).trimEnd());
    return EXIT_CODES.ok;
  }
  if (action !== "install") {
    throw new UsageError(
      `Invalid arguments: service needs "print" or "install"${
        action === undefined ? "" : `, not "${action}"`
      }`,
    );
  }
  const split = splitServiceArgs(rest);
  checkServerArgs(split.server);
  const root = split.root ?? host.env("RMON_SERVICE_ROOT") ?? "/";
  const { kind, path } = installTarget(host.os, root);
  const exe = serviceExe(split.exe, host, kind);
  let existed = true;
  try {
    await Deno.stat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    existed = false;
  }
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, serviceDefinition(kind, { exe, args: split.server }), {
      mode: 0o644,
    });
  } catch (err) {
    throw new UsageError(`Cannot write "${path}": ${describeError(err)}`, EXIT_CODES.error);
  }
  host.out(`${existed ? "Replaced" : "Wrote"} ${path} (${kind}), running ${exe}`);
  const commands = enableCommands(kind, path);
  const shown = commands.map(([c, a]) => [c, ...a].join(" ")).join(" && ");
  const why = root !== "/"
    ? `written under ${root}, not the live system`
    : !host.isRoot
    ? "not running as root"
    : !host.managerRunning
    ? `${kind === "systemd" ? "systemd" : "launchd"} is not running on this machine`
    : null;
  if (why !== null) {
    host.out(`Not enabled (${why}); to enable and start it, as root: ${shown}`);
    return EXIT_CODES.ok;
  }
  for (const [cmd, cmdArgs] of commands) {
    const res = await host.run(cmd, cmdArgs);
    // bootout of a service that is not loaded fails; that is the usual first install.
    if (res.code !== 0 && cmdArgs[0] !== "bootout") {
      throw new UsageError(
        `Cannot enable the service: "${cmd} ${
          cmdArgs.join(" ")
        }" exited ${res.code}: ${res.stderr}`,
        EXIT_CODES.error,
      );
    }
    host.out(`Ran: ${cmd} ${cmdArgs.join(" ")}`);
  }
  host.out(`Enabled and started ${kind === "systemd" ? `${SERVICE_NAME}.service` : LAUNCHD_LABEL}`);
  return EXIT_CODES.ok;
}

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * `rmon-server fingerprint [OPTIONS]`: the fingerprint (`sha256:HEX`) of the
 * certificate these options serve. When there is none yet it is made first:
 * in the state directory, or at `--tls-cert`/`--tls-key` when both are named
 * and neither exists (so `rmon bootstrap` can keep it beside the token).
 */
export async function runFingerprint(
  args: readonly string[],
  host: Pick<ServiceHost, "env" | "out">,
): Promise<number> {
  const opts = parseServerArgs([...args]);
  const { generateIdentityFiles, loadServerIdentity } = await import("./tls_cert.ts");
  if (
    opts.tlsCert !== undefined && opts.tlsKey !== undefined &&
    !(await exists(opts.tlsCert)) && !(await exists(opts.tlsKey))
  ) {
    await generateIdentityFiles(opts.tlsCert, opts.tlsKey, opts.host);
  }
  const loaded = await loadServerIdentity({
    certFile: opts.tlsCert,
    keyFile: opts.tlsKey,
    listenHost: opts.host,
    env: host.env,
  });
  host.out(formatFingerprint(loaded.identity.fingerprint));
  return EXIT_CODES.ok;
}
