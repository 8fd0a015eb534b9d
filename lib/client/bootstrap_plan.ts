/**
 * The pure half of `rmon bootstrap`: its command line, which release target
 * a host's `uname -sm` needs, where things go on the host, and the POSIX `sh`
 * scripts that probe and install it (every value shell-quoted into the
 * script text; nothing is ever passed through ssh's own word joining).
 * bootstrap.ts runs them over ssh. Client layer.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { DEFAULT_PORT } from "../protocol/constants.ts";
import { UsageError } from "../usage.ts";
import type { Credentials } from "./bootstrap_credentials.ts";
import { parseAddress } from "./inventory.ts";

/** `rmon bootstrap`'s options. */
export interface BootstrapOptions {
  /** `--ssh-option OPT`: each passed to ssh and scp as `-o OPT`. */
  sshOptions: string[];
  inventory?: string;
  /** Hosts on the command line: `[USER@]HOST[:PORT]`, PORT being rmon's. */
  hosts: string[];
  /** `--token-file`: the fleet's token, copied to each host (0600). */
  tokenFile?: string;
  /** `--identity FILE`: the operator key whose `FILE.pub` the servers accept. */
  identity?: string;
  /** `--authorized-keys FILE`: a whole authorized keys file to install instead. */
  authorizedKeys?: string;
  /** `--dist DIR`: the release folder holding `<version>/<target>/rmon-server` (default `dist`). */
  dist: string;
  /** `--port N`: rmon's port on hosts given without one (default 5050). */
  port?: number;
  /** `--listen ADDR`: the server's listen address (default 0.0.0.0); `target`: the host's own. */
  listen: string;
  /** `--remote-dir DIR`: where a `--no-service` install lives (`%h` is the host's name). */
  remoteDir?: string;
  /** `--no-service`: start with nohup even where a service manager could run it. */
  noService: boolean;
  /** `--server-option OPT`: more rmon-server options, one word each. */
  serverOptions: string[];
  /** `--known-hosts FILE`: where fingerprints are recorded (default the client's). */
  knownHosts?: string;
  json: boolean;
  fanout: number;
  help: boolean;
}

/** The `rmon bootstrap --help` text. */
export const BOOTSTRAP_USAGE =
  `rmon bootstrap: install rmon-server on hosts over ssh and pin their certificates

Usage: rmon bootstrap [options] [--inventory FILE | [USER@]HOST[:PORT]...]

Copies the rmon-server built for each host's "uname -sm" (from DIST/VERSION/TARGET/)
and the credentials with the system ssh and scp, installs it as a service (systemd,
launchd; as root) or starts it with nohup, reads its TLS certificate's fingerprint
back over the same ssh connection and records it in the known-hosts file, so the
first rmon connection is already pinned. A host already running this version with
these credentials is left alone (and its fingerprint still checked).

Credentials: with an operator key (--identity FILE, or ~/.config/rmon/id_ed25519
when it exists) the servers get FILE.pub as their authorized keys (role=admin),
or the whole --authorized-keys file, and refuse the token (--no-token); with keys
and --token-file they accept both; without keys they get the token.

Options:
  --ssh-option OPT     pass "-o OPT" to ssh and scp (repeatable), e.g. Port=2222
  -i, --inventory FILE the hosts (their address and port) from an rmon inventory
  --identity FILE      the operator key whose FILE.pub the servers accept
                       (default ~/.config/rmon/id_ed25519 when it exists)
  --authorized-keys FILE  install this authorized keys file (every operator,
                       with roles) instead of your key alone
  --token-file FILE    the fleet token to install (without a key, the default
                       is the inventory's [defaults] token_file)
  --dist DIR           the release folder (default dist)
  -p, --port N         rmon's port on hosts given without one (default ${DEFAULT_PORT})
  --listen ADDR        the address the servers listen on (default 0.0.0.0;
                       "target": the address each host is reached by)
  --no-service         start with nohup, not as a service (also what happens
                       where there is no systemd/launchd or ssh is not root)
  --remote-dir DIR     where a nohup install lives on the host (default
                       ~/.rmon; %h is replaced by the host's name)
  --server-option OPT  another rmon-server option, one word (repeatable)
  --known-hosts FILE   record fingerprints here (default: rmon's known_hosts)
  --fanout N           hosts worked on at once (default 16)
  --json               one NDJSON record per host on stdout

Exit codes: 0 every host ok, 2 usage error, 3 a host could not be reached over
ssh, 5 a host failed to install or start.`;

/** Reads `rmon bootstrap`'s arguments; throws a `UsageError` on anything wrong. */
export function parseBootstrapArgs(args: readonly string[]): BootstrapOptions {
  const o: BootstrapOptions = {
    sshOptions: [],
    hosts: [],
    dist: "dist",
    listen: "0.0.0.0",
    noService: false,
    serverOptions: [],
    json: false,
    fanout: 16,
    help: false,
  };
  let hostsOnly = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (hostsOnly || !arg.startsWith("-")) {
      o.hosts.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string => {
      const v = eq === -1 ? args[++i] : arg.slice(eq + 1);
      if (v === undefined || v === "") {
        throw new UsageError(`Invalid arguments: ${name} needs a value`);
      }
      return v;
    };
    const number = (min: number, max: number): number => {
      const text = value();
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < min || n > max) {
        throw new UsageError(`Invalid ${name}: "${text}" is not a number from ${min} to ${max}`);
      }
      return n;
    };
    switch (name) {
      case "--":
        hostsOnly = true;
        break;
      case "--ssh-option":
        o.sshOptions.push(value());
        break;
      case "-i":
      case "--inventory":
        o.inventory = value();
        break;
      case "--token-file":
        o.tokenFile = value();
        break;
      case "--identity":
        o.identity = value();
        break;
      case "--authorized-keys":
        o.authorizedKeys = value();
        break;
      case "--dist":
        o.dist = value();
        break;
      case "-p":
      case "--port":
        o.port = number(1, 65535);
        break;
      case "--listen":
        o.listen = value();
        break;
      case "--remote-dir":
        o.remoteDir = value();
        break;
      case "--no-service":
        o.noService = true;
        break;
      case "--server-option":
        o.serverOptions.push(value());
        break;
      case "--known-hosts":
        o.knownHosts = value();
        break;
      case "--fanout":
        o.fanout = number(1, 1024);
        break;
      case "--json":
        o.json = true;
        break;
      case "-h":
      case "--help":
        o.help = true;
        break;
      default:
        throw new UsageError(`Invalid arguments: unknown option "${arg}" for bootstrap`);
    }
  }
  if (o.help) return o;
  if (o.inventory !== undefined && o.hosts.length > 0) {
    throw new UsageError("Invalid arguments: give hosts or --inventory, not both");
  }
  if (o.inventory === undefined && o.hosts.length === 0) {
    throw new UsageError("Invalid arguments: bootstrap needs hosts or --inventory FILE");
  }
  if (o.remoteDir !== undefined && !o.remoteDir.startsWith("/") && !o.remoteDir.startsWith("~/")) {
    throw new UsageError(`Invalid --remote-dir: "${o.remoteDir}" must start with / or ~/`);
  }
  return o;
}

/** One host to bootstrap: how ssh reaches it and where its rmon-server will listen. */
export interface BootstrapTarget {
  /** Its name in records and in `%h`. */
  name: string;
  /** What ssh and scp are given: `[user@]host`. */
  sshTarget: string;
  /** The address the client will dial (and the known-hosts record's). */
  hostname: string;
  port: number;
}

/** `[USER@]HOST[:PORT]` from the command line; throws a `UsageError` when it is no address. */
export function targetFromArg(text: string, defaultPort: number): BootstrapTarget {
  const at = text.lastIndexOf("@");
  const user = at === -1 ? "" : text.slice(0, at);
  const rest = at === -1 ? text : text.slice(at + 1);
  let address;
  try {
    address = parseAddress(rest, defaultPort);
  } catch (err) {
    throw new UsageError(`Invalid host "${text}": ${describeError(err)}`);
  }
  if (user !== "" && !/^[A-Za-z0-9._-]+$/.test(user)) {
    throw new UsageError(`Invalid host "${text}": "${user}" is not a user name`);
  }
  // ssh takes IPv6 addresses bare; a user goes in front either way.
  const sshTarget = `${user === "" ? "" : `${user}@`}${address.hostname}`;
  return { name: rest, sshTarget, hostname: address.hostname, port: address.port };
}

/** The release target triple for a host's `uname -sm`, or null when there is none. */
export function targetOfUname(uname: string): string | null {
  const [os, machine] = uname.trim().split(/\s+/);
  const arch = machine === "x86_64" || machine === "amd64"
    ? "x86_64"
    : machine === "aarch64" || machine === "arm64"
    ? "aarch64"
    : null;
  if (arch === null) return null;
  if (os === "Linux") return `${arch}-unknown-linux-gnu`;
  if (os === "Darwin") return `${arch}-apple-darwin`;
  return null;
}

/** Quotes a word for POSIX `sh`. */
export function shQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** How the server is kept running on a host. */
export type ServiceMode = "systemd" | "launchd" | "nohup";

/** Where rmon lives on a host, by how it runs there. */
export interface RemoteLayout {
  mode: ServiceMode;
  /** The binary's path. */
  bin: string;
  /** The folder of the credentials, certificate (and for nohup the pid and log files); 0700. */
  dir: string;
}

/**
 * The layout for `mode`: services use the system's places (`/usr/local/bin`,
 * `/var/lib/rmon` as systemd's StateDirectory, `/Library/Application
 * Support/rmon` on macOS); nohup installs keep everything in one folder,
 * `remoteDir` (`%h` the host's name; `~/` the remote user's home).
 */
export function remoteLayout(mode: ServiceMode, host: string, remoteDir = "~/.rmon"): RemoteLayout {
  if (mode === "systemd") return { mode, bin: "/usr/local/bin/rmon-server", dir: "/var/lib/rmon" };
  if (mode === "launchd") {
    return { mode, bin: "/usr/local/bin/rmon-server", dir: "/Library/Application Support/rmon" };
  }
  const dir = remoteDir.replaceAll("%h", host);
  return { mode, bin: `${dir}/rmon-server`, dir };
}

/** A path for the remote shell: `~/x` as `"$HOME"/'x'`, anything else quoted whole. */
export function shPath(path: string): string {
  return path.startsWith("~/") ? `"$HOME"/${shQuote(path.slice(2))}` : shQuote(path);
}

/** The rmon-server options every bootstrapped server runs with, for its `credentials`. */
export function serverArgs(
  layout: RemoteLayout,
  listen: string,
  port: number,
  extra: readonly string[],
  credentials: Credentials,
): string[] {
  const auth = [
    ...(credentials.token ? ["--token-file", `${layout.dir}/token`] : []),
    ...(credentials.keys ? ["--authorized-keys", `${layout.dir}/authorized_keys`] : []),
    // A key alone: the token is refused too, so no fleet-wide secret is needed on the host.
    ...(credentials.token ? [] : ["--no-token"]),
  ];
  // Always TLS, even on loopback: the fingerprint bootstrap pins is the point.
  return [
    "--host",
    listen,
    "--port",
    String(port),
    "--tls",
    ...auth,
    "--tls-cert",
    `${layout.dir}/tls_cert.pem`,
    "--tls-key",
    `${layout.dir}/tls_key.pem`,
    ...extra,
  ];
}

/** Words for `sh`, with a leading `~/` in any word expanded to the remote home. */
function shWords(words: readonly string[]): string {
  return words.map(shPath).join(" ");
}

/**
 * The probe: prints `key=value` lines — `uname`, `uid`, `systemd`, and for
 * each possible layout whether its binary answers `--version`, whether it is
 * running, and the SHA-256 of its token — and makes a private staging folder
 * for the uploads (`staging=`).
 */
export function probeScript(layouts: readonly RemoteLayout[]): string {
  const checks = layouts.map((l) => {
    const running = l.mode === "systemd"
      ? "systemctl is-active --quiet rmon-server.service"
      : l.mode === "launchd"
      ? "launchctl print system/org.rmon.rmon-server >/dev/null 2>&1"
      : `pid=$(cat ${
        shPath(`${l.dir}/rmon-server.pid`)
      } 2>/dev/null) && kill -0 "$pid" 2>/dev/null`;
    return `
v=$(${shPath(l.bin)} --version 2>/dev/null | sed -n 's/^rmon-server //p' | head -n 1) || v=
if ${running}; then r=yes; else r=no; fi
t=$(sha ${shPath(`${l.dir}/token`)})
k=$(sha ${shPath(`${l.dir}/authorized_keys`)})
echo "layout.${l.mode}=$v $r $t $k"`;
  }).join("\n");
  return `set -u
sha() { { sha256sum "$1" 2>/dev/null || shasum -a 256 "$1" 2>/dev/null; } | cut -c1-64; }
echo "uname=$(uname -sm)"
echo "uid=$(id -u)"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo systemd=yes
else
  echo systemd=no
fi
${checks}
staging=$(mktemp -d "\${TMPDIR:-/tmp}/rmon-bootstrap.XXXXXX") && echo "staging=$staging"
`;
}

/** What the probe found on a host. */
export interface ProbeReport {
  uname: string;
  uid: number;
  systemd: boolean;
  /**
   * Per layout mode: installed version ("" if none), running, and the SHA-256
   * of its token and of its authorized keys ("" for a file that is not there).
   */
  installed: Partial<
    Record<ServiceMode, { version: string; running: boolean; tokenSha: string; keysSha: string }>
  >;
  staging: string;
}

/** Reads the probe's output; throws an `Error` naming what is missing. */
export function parseProbe(text: string): ProbeReport {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const need = (key: string): string => {
    const v = values.get(key);
    if (v === undefined) throw new Error(`Cannot read the host's probe: no "${key}" line`);
    return v;
  };
  const installed: ProbeReport["installed"] = {};
  for (const mode of ["systemd", "launchd", "nohup"] as const) {
    const line = values.get(`layout.${mode}`);
    if (line === undefined) continue;
    const [version = "", running = "", tokenSha = "", keysSha = ""] = line.split(" ");
    installed[mode] = { version, running: running === "yes", tokenSha, keysSha };
  }
  return {
    uname: need("uname"),
    uid: Number(need("uid")),
    systemd: need("systemd") === "yes",
    installed,
    staging: need("staging"),
  };
}

/** What the install script is told. */
export interface InstallPlan {
  layout: RemoteLayout;
  /** The staging folder holding `rmon-server` and the credentials' files. */
  staging: string;
  args: string[];
  /** Which credentials' files are staged; the others are removed from the host. */
  credentials: Credentials;
  /** Replace the binary and credentials and (re)start; false: only read the fingerprint. */
  install: boolean;
}

/**
 * The install script: moves the staged binary and credentials into place
 * (0600; a credential not staged is deleted, so a host moved to keys only keeps
 * no token), makes the certificate if missing and prints its fingerprint
 * (`fingerprint=`), then (re)starts the server — `service install` for
 * systemd/launchd, else nohup with a pid file, waiting for "listening" —
 * and prints `started=` with how. Any failure exits non-zero with the reason
 * on stderr (the log's tail for a server that did not start).
 */
export function installScript(plan: InstallPlan): string {
  const { layout } = plan;
  const dir = shPath(layout.dir);
  const bin = shPath(layout.bin);
  const staging = shQuote(plan.staging);
  const args = shWords(plan.args);
  const pidFile = shPath(`${layout.dir}/rmon-server.pid`);
  const logFile = shPath(`${layout.dir}/rmon-server.log`);
  const lines = [
    "set -eu",
    "umask 077",
    `trap ${shQuote(`rm -rf ${staging}`)} EXIT`,
    `mkdir -p ${dir}`,
    `chmod 700 ${dir}`,
  ];
  if (plan.install) {
    if (layout.mode === "nohup") {
      // The old server goes before its binary does; it gets up to 10 s to stop cleanly.
      lines.push(
        `if pid=$(cat ${pidFile} 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then`,
        `  kill -TERM "$pid"; n=0`,
        `  while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done`,
        `  kill -KILL "$pid" 2>/dev/null || true`,
        "fi",
      );
    }
    lines.push(`mkdir -p "$(dirname ${bin})"`);
    for (
      const [name, staged] of [
        ["token", plan.credentials.token],
        ["authorized_keys", plan.credentials.keys],
      ] as const
    ) {
      const path = shPath(`${layout.dir}/${name}`);
      const next = shPath(`${layout.dir}/.${name}.new`);
      lines.push(
        staged
          ? `cp ${staging}/${name} ${next} && chmod 600 ${next} && mv -f ${next} ${path}`
          : `rm -f ${path}`,
      );
    }
    lines.push(
      // Copy, then rename: a running binary is replaced, never written over.
      `cp ${staging}/rmon-server ${bin}.new && chmod 755 ${bin}.new && mv -f ${bin}.new ${bin}`,
    );
  }
  lines.push(
    `fp=$(${bin} fingerprint ${args}) || { echo "Cannot read the certificate's fingerprint" >&2; exit 1; }`,
    `echo "fingerprint=$fp"`,
  );
  if (plan.install) {
    if (layout.mode === "nohup") {
      lines.push(
        `: > ${logFile}`,
        // Its own session where setsid exists (not on macOS): no hangup of the ssh session
        // reaches it, whose SIGHUP the server would take as "stop" (nohup's ignoring it is undone
        // when the server installs its own handler).
        "if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi",
        `(cd ${dir} && $detach nohup ${bin} ${args} >> ${logFile} 2>&1 < /dev/null & echo $! > ${pidFile})`,
        `pid=$(cat ${pidFile}); n=0`,
        `while ! grep -q 'listening on' ${logFile} 2>/dev/null; do`,
        `  if ! kill -0 "$pid" 2>/dev/null || [ $n -ge 300 ]; then`,
        `    echo "rmon-server did not start:" >&2; tail -n 5 ${logFile} >&2; exit 1`,
        "  fi",
        "  sleep 0.1; n=$((n+1))",
        "done",
        `echo "started=nohup pid $pid, log ${layout.dir}/rmon-server.log"`,
      );
    } else {
      // What service install did, line by line, for the host's record.
      lines.push(
        `out=$(${bin} service install --exe ${bin} ${args} 2>&1) || { echo "$out" >&2; exit 1; }`,
        `printf '%s\\n' "$out" | sed 's/^/service=/'`,
        `echo "started=${layout.mode}"`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** The `key=value` lines the install script printed. */
export function parseInstallOutput(
  text: string,
): { fingerprint?: string; started?: string; service: string[] } {
  const out: { fingerprint?: string; started?: string; service: string[] } = { service: [] };
  for (const line of text.split("\n")) {
    if (line.startsWith("fingerprint=")) out.fingerprint = line.slice("fingerprint=".length);
    if (line.startsWith("started=")) out.started = line.slice("started=".length);
    if (line.startsWith("service=")) out.service.push(line.slice("service=".length));
  }
  return out;
}
