/**
 * `rmon bootstrap`: puts rmon-server on hosts with the system's own `ssh` and
 * `scp` (so whatever the user's ssh config and agent allow), in parallel. Per
 * host, over one multiplexed ssh connection: probe (`uname -sm`, root,
 * systemd, what is installed and running), copy the matching release binary
 * and the credentials (the operator's key, the fleet token or both; see
 * bootstrap_credentials.ts), install and start it (bootstrap_plan.ts writes
 * the scripts), read back its certificate's fingerprint and record it in the
 * known-hosts file, so the first rmon connection is already pinned. A host
 * already running this version with these credentials is left alone. Each host gets
 * a record (a table, or NDJSON with `--json`); the exit code is the worst
 * outcome. Client layer.
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { DEFAULT_PORT, RMON_VERSION } from "../protocol/constants.ts";
import { describeError, TrustError } from "../protocol/errors.ts";
import { parseFingerprint } from "../protocol/fingerprint.ts";
import { formatEndpoint } from "../protocol/transport.ts";
import { checkToken, readTokenFile } from "../token_file.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import {
  credentialName,
  type Credentials,
  findOperatorKey,
  type KeysToInstall,
  keysToInstall,
} from "./bootstrap_credentials.ts";
import {
  BOOTSTRAP_USAGE,
  type BootstrapOptions,
  type BootstrapTarget,
  installScript,
  parseBootstrapArgs,
  parseInstallOutput,
  parseProbe,
  probeScript,
  remoteLayout,
  serverArgs,
  type ServiceMode,
  shQuote,
  targetFromArg,
  targetOfUname,
} from "./bootstrap_plan.ts";
import { expandHome, loadInventoryFile } from "./inventory.ts";
import { KnownHosts, knownHostsPath } from "./known_hosts.ts";
import { paint } from "./views/color.ts";

/** What happened on one host; the `--json` record, fields snake_case as in one-shot mode. */
export interface BootstrapRecord {
  host: string;
  /** `host:port` rmon will dial. */
  address: string;
  /** `ok`, `unreachable` (ssh could not get in) or `error`. */
  status: "ok" | "unreachable" | "error";
  /** `installed`, `upgraded`, `restarted` or `unchanged` when ok, else null. */
  action: "installed" | "upgraded" | "restarted" | "unchanged" | null;
  /** The version now running (when ok). */
  version: string | null;
  /** The version found before, if any. */
  "previous_version": string | null;
  /** The release target the host needed, from `uname -sm`. */
  platform: string | null;
  /** How it runs: `systemd`, `launchd` or `nohup`. */
  service: ServiceMode | null;
  /** Why it runs with nohup (`--no-service`, `no systemd`, `not root`), else null. */
  "service_note": string | null;
  /** What starting it did (service install's lines, or nohup's pid and log). */
  started: string[];
  /** What the server checks clients by: `key`, `token` or `key+token` (when ok). */
  auth: "key" | "token" | "key+token" | null;
  /** The installed operator key's `SHA256:…` id (as the server's audit log names it), if any. */
  "key_id": string | null;
  /** `sha256:HEX` of the server's certificate. */
  fingerprint: string | null;
  /** `new` (recorded now) or `same` (already recorded), null on failure. */
  pinned: "new" | "same" | null;
  error: string | null;
  "duration_ms": number;
}

/** Where bootstrap writes and how. */
export interface BootstrapIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  color: boolean;
}

/** A finished ssh or scp. */
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();

/** ssh gives up on a host after this long without an answer (a user's `ConnectTimeout` wins). */
const SSH_CONNECT_TIMEOUT_S = 10;
/** Longest a host's whole bootstrap may take: copying a ~100 MB binary included. */
const HOST_DEADLINE_MS = 10 * 60 * 1000;

/** A failed step as a record's status and error. */
class HostFailure extends Error {
  constructor(readonly status: "unreachable" | "error", message: string) {
    super(message);
    this.name = "HostFailure";
  }
}

/** Runs `ssh`/`scp` with `args`, feeding `input` on stdin. */
async function run(
  cmd: "ssh" | "scp",
  args: string[],
  signal: AbortSignal,
  input?: string,
): Promise<Ran> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: input === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).spawn();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new HostFailure("error", `Cannot run ${cmd}: it is not installed (not found on PATH)`);
  }
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(input));
      await writer.close();
    } catch (err) {
      // An ssh that cannot get in exits without reading its script: its exit code and
      // stderr say why (unreachable), not the pipe it left unread.
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    }
  }
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The last non-empty line of `text`: ssh's reason, or the script's. */
function lastLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").at(-1)?.trim() ?? "";
}

/**
 * The hosts to work on, from the command line or the inventory, and the
 * credentials: the operator key if there is one, and the token file named on
 * the command line or by the inventory.
 */
export async function collectTargets(
  opts: BootstrapOptions,
): Promise<{ targets: BootstrapTarget[]; tokenFile?: string; key: KeysToInstall | null }> {
  const key = await keysToInstall(
    opts.authorizedKeys,
    await findOperatorKey(opts.identity, (n) => Deno.env.get(n)),
  );
  let tokenFile = opts.tokenFile;
  let targets: BootstrapTarget[];
  if (opts.inventory !== undefined) {
    let inventory;
    try {
      inventory = await loadInventoryFile(opts.inventory);
    } catch (err) {
      throw new UsageError(describeError(err));
    }
    targets = inventory.hosts.map((h) => ({
      name: h.name,
      sshTarget: h.hostname,
      hostname: h.hostname,
      port: opts.port ?? h.port,
    }));
    // The inventory's token is what its clients sign in with: with a key too, both are
    // installed, so no client the inventory still serves is locked out (nor its token removed).
    if (tokenFile === undefined && inventory.defaults.token.kind === "file") {
      tokenFile = inventory.defaults.token.path;
    }
  } else {
    targets = opts.hosts.map((h) => targetFromArg(h, opts.port ?? DEFAULT_PORT));
  }
  if (tokenFile === undefined && key === null) {
    throw new UsageError(
      "Invalid arguments: bootstrap needs the fleet token or an operator key: --token-file FILE " +
        "(or an inventory [defaults] token_file; make one with: rmon token new FILE), or " +
        "--identity FILE (make one with: rmon keygen)",
    );
  }
  const names = new Set<string>();
  for (const t of targets) {
    if (names.has(t.name)) throw new UsageError(`Invalid arguments: host "${t.name}" given twice`);
    names.add(t.name);
  }
  return { targets, tokenFile: tokenFile === undefined ? undefined : expandHome(tokenFile), key };
}

/** What every host shares. */
interface Shared {
  opts: BootstrapOptions;
  credentials: Credentials;
  /** Local files to stage on each host, by their name there. */
  uploads: [local: string, name: string][];
  /** SHA-256 (hex) of the token and of the authorized keys to install, "" for none. */
  tokenSha: string;
  keysSha: string;
  key: KeysToInstall | null;
  knownHosts: KnownHosts;
  /** ssh options for every call: the user's first (ssh keeps the first value it sees). */
  sshArgs: string[];
}

/** `scp`'s destination for `path` on `target` (IPv6 addresses in brackets). */
function scpDestination(target: BootstrapTarget, path: string): string {
  const at = target.sshTarget.lastIndexOf("@");
  const user = at === -1 ? "" : target.sshTarget.slice(0, at + 1);
  const host = target.sshTarget.slice(at + 1);
  return `${user}${host.includes(":") ? `[${host}]` : host}:${path}`;
}

/** Bootstraps one host; never throws (a failure is the record's). */
async function bootstrapHost(target: BootstrapTarget, shared: Shared): Promise<BootstrapRecord> {
  const started = performance.now();
  const address = formatEndpoint({ hostname: target.hostname, port: target.port });
  const record: BootstrapRecord = {
    host: target.name,
    address,
    status: "ok",
    action: null,
    version: null,
    "previous_version": null,
    platform: null,
    service: null,
    "service_note": null,
    started: [],
    fingerprint: null,
    auth: null,
    "key_id": null,
    pinned: null,
    error: null,
    "duration_ms": 0,
  };
  const signal = AbortSignal.timeout(HOST_DEADLINE_MS);
  const { opts } = shared;
  const ssh = (script: string) =>
    run("ssh", [...shared.sshArgs, "--", target.sshTarget, "sh -s"], signal, script);
  // The probe's staging folder, until the install script (which removes it) has run.
  let staging: string | null = null;
  try {
    // 1. Probe: what the host is and what it already runs.
    const layouts = [
      remoteLayout("systemd", target.name),
      remoteLayout("launchd", target.name),
      remoteLayout("nohup", target.name, opts.remoteDir),
    ];
    const probed = await ssh(probeScript(layouts));
    if (probed.code === 255) throw new HostFailure("unreachable", lastLine(probed.stderr));
    if (probed.code !== 0) {
      throw new HostFailure("error", `the probe failed: ${lastLine(probed.stderr)}`);
    }
    const probe = parseProbe(probed.stdout);
    staging = probe.staging;
    const platform = targetOfUname(probe.uname);
    if (platform === null) {
      throw new HostFailure("error", `no release target for "uname -sm" = "${probe.uname}"`);
    }
    record.platform = platform;
    const darwin = platform.endsWith("apple-darwin");
    const manager: ServiceMode = darwin ? "launchd" : "systemd";
    const note = opts.noService
      ? "--no-service"
      : probe.uid !== 0
      ? "not root"
      : !darwin && !probe.systemd
      ? "no systemd"
      : null;
    const mode: ServiceMode = note === null ? manager : "nohup";
    record.service = mode;
    record.service_note = note;
    const layout = remoteLayout(mode, target.name, opts.remoteDir);
    const before = probe.installed[mode];
    record.previous_version = before?.version || null;
    // A credential not installed has no file there (the install script removes it): "" both sides.
    const unchanged = before !== undefined && before.version === RMON_VERSION && before.running &&
      before.tokenSha === shared.tokenSha && before.keysSha === shared.keysSha;
    // 2. Copy the binary and the credentials, unless this version already runs with them.
    if (!unchanged) {
      const local = join(opts.dist, RMON_VERSION, platform, "rmon-server");
      try {
        await Deno.stat(local);
      } catch (err) {
        throw new HostFailure(
          "error",
          `Cannot read "${local}": ${describeError(err)} (build it with: deno task release)`,
        );
      }
      const uploads: [string, string][] = [[local, "rmon-server"], ...shared.uploads];
      for (const [from, name] of uploads) {
        const copied = await run("scp", [
          "-q",
          ...shared.sshArgs,
          "--",
          from,
          scpDestination(target, `${probe.staging}/${name}`),
        ], signal);
        if (copied.code !== 0) {
          throw new HostFailure(
            copied.code === 255 ? "unreachable" : "error",
            `Cannot copy ${name}: ${lastLine(copied.stderr)}`,
          );
        }
      }
    }
    // 3. Install and start (or only read the fingerprint), over the same connection.
    const listen = opts.listen === "target" ? target.hostname : opts.listen;
    const installed = await ssh(installScript({
      layout,
      staging: probe.staging,
      args: serverArgs(layout, listen, target.port, opts.serverOptions, shared.credentials),
      credentials: shared.credentials,
      install: !unchanged,
    }));
    staging = null;
    if (installed.code === 255) throw new HostFailure("unreachable", lastLine(installed.stderr));
    if (installed.code !== 0) {
      const said = installed.stderr.trim().split("\n").slice(-3).join(" | ");
      throw new HostFailure("error", `Cannot install: ${said}`);
    }
    const result = parseInstallOutput(installed.stdout);
    if (result.fingerprint === undefined) {
      throw new HostFailure("error", "the host printed no certificate fingerprint");
    }
    // 4. Pin it: the first rmon connection then meets a known certificate.
    const fingerprint = parseFingerprint(result.fingerprint);
    record.fingerprint = result.fingerprint;
    record.pinned = shared.knownHosts.get(address) === undefined ? "new" : "same";
    shared.knownHosts.check(address, fingerprint);
    record.version = RMON_VERSION;
    record.auth = credentialName(shared.credentials);
    record.key_id = shared.key?.operatorKeyId ?? null;
    record.started = [...result.service, ...(result.started ? [result.started] : [])];
    record.action = unchanged
      ? "unchanged"
      : before?.version
      ? before.version === RMON_VERSION ? "restarted" : "upgraded"
      : "installed";
  } catch (err) {
    record.status = err instanceof HostFailure ? err.status : "error";
    record.pinned = null;
    record.error = err instanceof HostFailure || err instanceof TrustError
      ? err.message
      : signal.aborted
      ? `gave up after ${HOST_DEADLINE_MS / 1000} s`
      : describeError(err);
  } finally {
    if (staging !== null) {
      // A copy failed: the staged files go (best effort; the host may be gone).
      await run(
        "ssh",
        [...shared.sshArgs, "--", target.sshTarget, `rm -rf ${shQuote(staging)}`],
        AbortSignal.timeout(10_000),
      ).catch(() => {/* the record already says what went wrong */});
    }
    // Close the shared connection (its master would otherwise linger for ControlPersist).
    await run(
      "ssh",
      [...shared.sshArgs, "-O", "exit", "--", target.sshTarget],
      AbortSignal.timeout(10_000),
    )
      .catch(() => {/* no master was left to close */});
  }
  record.duration_ms = Math.round(performance.now() - started);
  return record;
}

/** The exit code for a set of records: unreachable beats error, as in one-shot mode. */
export function bootstrapExitCode(records: readonly BootstrapRecord[]): number {
  if (records.some((r) => r.status === "unreachable")) return EXIT_CODES.unreachable;
  if (records.some((r) => r.status === "error")) return EXIT_CODES.error;
  return EXIT_CODES.ok;
}

/** The human table: one row per host, in the order given, columns aligned. */
export function bootstrapTable(records: readonly BootstrapRecord[], color: boolean): string {
  const rows = records.map((r) => {
    const result = r.status === "ok" ? r.action! : r.status;
    const service = r.service === null
      ? "-"
      : r.service_note === null
      ? r.service
      : `${r.service} (${r.service_note})`;
    const detail = r.status === "ok"
      ? `${r.fingerprint} ${r.pinned === "new" ? "pinned" : "already pinned"}`
      : r.error ?? "";
    return [r.host, result, r.version ?? r.previous_version ?? "-", service, r.auth ?? "-", detail];
  });
  const header = ["HOST", "RESULT", "VERSION", "SERVICE", "AUTH", "FINGERPRINT / ERROR"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], paintRow?: (i: number, text: string) => string) =>
    cells.map((c, i) => {
      const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
      return paintRow ? paintRow(i, padded) : padded;
    }).join("  ").trimEnd();
  const out = [line(header)];
  records.forEach((r, n) => {
    out.push(line(rows[n]!, (i, text) => {
      if (i !== 1) return text;
      return paint(color, r.status === "ok" ? "green" : "red", text);
    }));
  });
  return out.join("\n") + "\n";
}

/** `rmon bootstrap ARGS`; resolves to the exit code. Throws `UsageError` for bad input. */
export async function runBootstrap(args: readonly string[], io: BootstrapIo): Promise<number> {
  const opts = parseBootstrapArgs(args);
  if (opts.help) {
    io.stdout(`${BOOTSTRAP_USAGE}\n`);
    return EXIT_CODES.ok;
  }
  const { targets, tokenFile, key } = await collectTargets(opts);
  const sha = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");
  const uploads: Shared["uploads"] = [];
  let tokenSha = "";
  if (tokenFile !== undefined) {
    try {
      // The same checks the server makes at start: private file, a token that looks random.
      checkToken(readTokenFile(tokenFile), `"${tokenFile}"`);
      tokenSha = sha(await Deno.readFile(tokenFile));
    } catch (err) {
      throw new UsageError(describeError(err));
    }
    uploads.push([tokenFile, "token"]);
  }
  const knownHosts = KnownHosts.load(opts.knownHosts ?? knownHostsPath());
  // Private (0700): ssh's control sockets, and the authorized keys file to copy.
  const control = await Deno.makeTempDir({ prefix: "rmon-ssh-" });
  let keysSha = "";
  if (key !== null) {
    const keysFile = join(control, "authorized_keys");
    await Deno.writeTextFile(keysFile, key.text, { mode: 0o600 });
    keysSha = sha(key.text);
    uploads.push([keysFile, "authorized_keys"]);
  }
  const shared: Shared = {
    opts,
    credentials: { token: tokenFile !== undefined, keys: key !== null },
    uploads,
    tokenSha,
    keysSha,
    key,
    knownHosts,
    sshArgs: [
      ...opts.sshOptions.flatMap((o) => ["-o", o]),
      "-o",
      "BatchMode=yes", // a prompt per host, in parallel, helps no one
      "-o",
      `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`,
      // One connection per host for every step: probe, copies, install, fingerprint.
      "-o",
      "ControlMaster=auto",
      "-o",
      `ControlPath=${control}/%C`,
      "-o",
      "ControlPersist=60",
    ],
  };
  const records: BootstrapRecord[] = new Array(targets.length);
  try {
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const i = next++;
        const record = await bootstrapHost(targets[i]!, shared);
        records[i] = record;
        if (opts.json) io.stdout(`${JSON.stringify(record)}\n`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.fanout, targets.length) }, worker));
  } finally {
    await Deno.remove(control, { recursive: true });
  }
  if (!opts.json) {
    io.stdout(bootstrapTable(records, io.color));
    const nohup = records.filter((r) => r.service === "nohup" && r.status === "ok");
    if (nohup.length > 0) {
      io.stderr(
        `Started with nohup on ${nohup.length} host(s): it will not restart after a crash ` +
          `or a reboot; see docs/deploy.md\n`,
      );
    }
  }
  return bootstrapExitCode(records);
}
