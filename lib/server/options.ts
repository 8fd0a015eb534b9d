/**
 * `rmon-server` command-line options: parsing and the help text.
 * Pure: argv in, options out (or a `UsageError`).
 * @module
 */

import { parseByteSize } from "../byte_size.ts";
import { describeError } from "../protocol/errors.ts";
import { natsUrlProblem } from "../protocol/nats_url.ts";
import { DEFAULT_HEARTBEAT_MS, HEARTBEAT_MISSES } from "../protocol/nats_subjects.ts";
import { UsageError } from "../usage.ts";
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  FRAME_LIMITS,
  LIMITS,
  TIMEOUTS,
} from "../protocol/constants.ts";
import { isLoopbackHost } from "../protocol/transport.ts";
import { execEnvNameProblem } from "../exec/child_env.ts";
import { parseStartups, type Startups } from "./admission.ts";
import { parseDuration } from "../duration.ts";
import type { LogLevel } from "./log.ts";

/** Everything `rmon-server` is told on its command line. */
export interface ServerOptions {
  host: string;
  port: number;
  tokenFile?: string;
  /** `--authorized-keys`: operator public keys with roles (see authorized_keys.ts). */
  authorizedKeys?: string;
  /** `--no-token`: refuse the shared token; only operator keys authenticate. */
  noToken: boolean;
  /** `--audit-log`: the JSON-lines audit trail. */
  auditLog?: string;
  /** Serve TLS: on a non-loopback address unless `--insecure-plaintext`, else with `--tls`. */
  tls: boolean;
  /** `--tls-cert`/`--tls-key`: the certificate to serve instead of the generated one. */
  tlsCert?: string;
  tlsKey?: string;
  /** `--insecure-plaintext`: plain TCP on a non-loopback address (warned at every start). */
  insecurePlaintext: boolean;
  readOnly: boolean;
  logLevel: LogLevel;
  maxFrameBytes: number;
  maxOutputBytes: number;
  /** `--max-upload`: the largest file `upload` accepts. */
  maxUploadBytes: number;
  authTimeoutMs: number;
  /** `--write-timeout`: a write the peer does not drain within this closes it. */
  writeTimeoutMs: number;
  /** `--idle-timeout`: an authenticated peer silent this long, no call in flight, is closed; 0 = never. */
  idleTimeoutMs: number;
  /** `--max-connections`: authenticated connections at once. */
  maxConnections: number;
  /** Server variables passed to exec and ping children besides the minimal set; default none. */
  execEnv: string[];
  /** `--max-startups`: unauthenticated connections, with random early drop. */
  startups: Startups;
  /** `--max-startups-per-source`: unauthenticated connections per address (IPv6: per /64). */
  startupsPerSource: number;
  /** `--penalty`: first penalty of a source after a failed handshake; 0 = none. */
  penaltyMs: number;
  /** `--max-penalty`: longest penalty. */
  maxPenaltyMs: number;
  /** `--gen-token FILE`: write a fresh token to FILE and exit (nothing is served). */
  genToken?: string;
  /** `--nats URL[,URL…]`: dial out to these NATS servers as an agent (bus mode). */
  nats: string[];
  /** `--nats-creds FILE` or `--nats-token-file FILE`: how to sign in to NATS. */
  natsCreds?: string;
  natsTokenFile?: string;
  /** `--nats-ca FILE`: CA of the NATS servers' certificates (TLS). */
  natsCa?: string;
  /** `--name`: this agent's name on the bus (default the host name). */
  name?: string;
  /** `--groups g1,g2`: the groups this agent answers for. */
  groups: string[];
  /** `--fleet NAME`: the fleet's subject prefix (default `default`). */
  fleet?: string;
  /** `--nats-heartbeat`: how often the agent announces itself on the bus, ms. */
  natsHeartbeatMs: number;
  /** Whether to listen for direct connections: always, unless `--nats` without `--port`/`--host`. */
  listen: boolean;
  help: boolean;
  version: boolean;
}

/** The longest handshake deadline: a longer one only helps clients that never finish. */
const MAX_AUTH_TIMEOUT_S = 300;

/** The `--help` text. */
export const SERVER_USAGE = `rmon-server: answer authenticated rmon requests about this machine

Usage: rmon-server [options]
       rmon-server service print systemd|launchd|windows [--exe PATH] [options]
       rmon-server service install [--exe PATH] [--root DIR] [options]
       rmon-server fingerprint [options]

Options:
  --host ADDR          address to listen on (default ${DEFAULT_HOST}; loopback only
                       unless you ask for another, e.g. 0.0.0.0 or ::)
  --port N             TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --token-file FILE    read the shared token from FILE (must not be readable by others)
  --authorized-keys FILE  operator public keys, one a line with role=admin or
                       role=read-only (and from=CIDR,...) before it; re-read
                       when the file changes (a removed key is cut off)
  --no-token           accept operator keys only, never the shared token (with
                       --nats, --token-file is still needed: bus messages are
                       MACed with it, but every call must be key-signed too)
  --audit-log FILE     JSON lines: every login and every exec, ping, reset and
                       kill, with who did it (0600; rotated at 10 MB, 5 kept)
  --tls                serve TLS on loopback too (other addresses always get TLS)
  --tls-cert FILE      serve this certificate (PEM) instead of the generated one
  --tls-key FILE       its private key (PEM; must not be readable by others)
  --insecure-plaintext serve plain TCP on a non-loopback address: anyone on the
                       path can read and forge commands; only for trusted networks
  --read-only          refuse exec (sh:, dos:, ps:), push, pull, reset and kill
  --max-frame BYTES    largest frame after auth (default ${FRAME_LIMITS.postAuth})
  --max-output BYTES   output cap per exec call (default ${LIMITS.execOutputBytes})
  --max-upload SIZE    largest file push may write, e.g. 10m, 1g (default 1g)
  --auth-timeout S     absolute handshake deadline in seconds, or 500ms, 10s
                       (default ${TIMEOUTS.authDeadlineMs / 1000}; at most ${MAX_AUTH_TIMEOUT_S})
  --write-timeout S    close a client that takes no data for this long while
                       the server writes to it (default ${TIMEOUTS.writeMs / 1000})
  --idle-timeout S     close an authenticated client that sends nothing for this
                       long with no call running; 0 never (default ${TIMEOUTS.idleMs / 1000};
                       rmon sends a heartbeat every 15 s)
  --max-connections N  authenticated connections at once (default ${LIMITS.connections})
  --max-startups START:RATE:FULL
                       unauthenticated connections: from START on, refuse new
                       ones with RATE % chance, rising to all at FULL (default
                       ${LIMITS.startups.start}:${LIMITS.startups.rate}:${LIMITS.startups.full}; one number N means N:100:N)
  --max-startups-per-source N
                       unauthenticated connections per address, IPv6 per /64
                       (default ${LIMITS.startupsPerSource})
  --penalty S          refuse an address this long after a failed or timed-out
                       handshake, doubling per repeat; 0 none (default ${LIMITS.penaltyMs / 1000})
  --max-penalty S      longest penalty (default ${LIMITS.maxPenaltyMs / 1000})
                       (durations: seconds, or with a unit: 500ms, 10s)
  --exec-env NAME      also pass the server's variable NAME to commands (repeatable;
                       by default they get only PATH, HOME, USER, LANG, LC_*... and
                       never an RMON_* variable)
  --nats URL[,URL...]  also (or, without --port/--host, only) dial out to these
                       NATS servers and answer requests from the bus (nats:// or
                       tls://; reconnects for ever, with backoff)
  --nats-creds FILE    sign in to NATS with this credentials file
  --nats-token-file FILE  sign in to NATS with the token in FILE
  --nats-ca FILE       verify the NATS servers' TLS certificates against this CA
  --name NAME          this agent's name on the bus (default: the host name)
  --groups G1,G2       the groups this agent answers for on the bus
  --fleet NAME         the fleet's subject prefix rmon.v1.NAME (default "default")
  --nats-heartbeat S   announce this agent on the bus every S (default ${
  DEFAULT_HEARTBEAT_MS / 1000
} s);
                       consoles count it lost after ${HEARTBEAT_MISSES} missed beats
  --gen-token FILE     write a fresh 256-bit token to FILE (0600, never
                       overwriting) and exit: one token for a whole fleet
  --quiet              log warnings only
  --verbose            also log exec command text
  --help               show this help
  --version            show the version

Token: --token-file, else RMON_TOKEN, else a token generated on first start and
kept in a per-user state file (0600), whose path is printed at every start (an
option beats the environment, which beats the state file; rmon does the same).
TLS: without --tls-cert, a self-signed certificate is generated on the first
start that needs it and kept beside the token; its fingerprint (what clients
pin with --fingerprint) is printed at every start.
Signals: SIGINT, SIGTERM and SIGHUP (not on Windows) stop the server like
"kill": running commands are killed, clients get "bye"; clients that do not
read get ${TIMEOUTS.closeGraceMs / 1000} s, then are cut off.
Service: "service print" writes a systemd unit, launchd plist or Windows service
command running this binary with the options after it; "service install" writes
it where systemd (Linux) or launchd (macOS) looks and, as root, enables and
(re)starts it (--root DIR or RMON_SERVICE_ROOT: write under DIR, enable nothing).
"fingerprint" prints the SHA-256 of the certificate these options serve.`;

/**
 * `--auth-timeout` in ms. Seconds like every other timeout (`10`, `10s`,
 * `500ms`); it used to be milliseconds, so a bare number over the maximum is
 * refused with that hint rather than taken as hours.
 */
/**
 * A duration option (seconds, or `500ms`/`10s`), in milliseconds; `0` is
 * accepted where it means "never" or "none".
 */
function durationOption(
  name: string,
  text: string | undefined,
  fallbackMs: number,
  zeroAllowed = false,
): number {
  if (text === undefined) return fallbackMs;
  if (zeroAllowed && /^0+(\.0*)?(ms|s)?$/.test(text.trim())) return 0;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new UsageError(`Invalid --${name}: ${describeError(err)}`, undefined, { cause: err });
  }
}

function authTimeout(text: string | undefined): number {
  if (text === undefined) return TIMEOUTS.authDeadlineMs;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new UsageError(`Invalid --auth-timeout: ${describeError(err)}`, undefined, {
      cause: err,
    });
  }
  if (ms > MAX_AUTH_TIMEOUT_S * 1000) {
    const hint = /^\d+$/.test(text.trim())
      ? ` (it is in seconds now; for milliseconds write ${text.trim()}ms)`
      : "";
    throw new UsageError(
      `Invalid --auth-timeout: "${text}" is over ${MAX_AUTH_TIMEOUT_S} seconds${hint}`,
    );
  }
  return ms;
}

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Invalid --${name}: "${text}" is not a whole number >= ${min}`);
  }
  return n;
}

/** A size option (`10m`, `1g`, bytes) as given, or the default. */
function byteSizeOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  let n: number;
  try {
    n = parseByteSize(text);
  } catch (err) {
    throw new UsageError(`Invalid --${name}: ${describeError(err)}`, undefined, { cause: err });
  }
  if (n < 1) throw new UsageError(`Invalid --${name}: "${text}" is not at least 1 byte`);
  return n;
}

/** `--max-startups` as given, or the default. */
function startupsOption(text: string | undefined): Startups {
  if (text === undefined) return { ...LIMITS.startups };
  try {
    return parseStartups(text);
  } catch (err) {
    throw new UsageError(`Invalid --max-startups: ${describeError(err)}`, undefined, {
      cause: err,
    });
  }
}

/** The server's options: name → whether it takes a value ("strings": one per use, repeatable). */
const OPTIONS: ReadonlyMap<string, "string" | "strings" | "boolean"> = new Map([
  ["host", "string"],
  ["port", "string"],
  ["token-file", "string"],
  ["authorized-keys", "string"],
  ["no-token", "boolean"],
  ["audit-log", "string"],
  ["tls", "boolean"],
  ["tls-cert", "string"],
  ["tls-key", "string"],
  ["insecure-plaintext", "boolean"],
  ["read-only", "boolean"],
  ["max-frame", "string"],
  ["max-output", "string"],
  ["max-upload", "string"],
  ["auth-timeout", "string"],
  ["max-connections", "string"],
  ["exec-env", "strings"],
  ["write-timeout", "string"],
  ["idle-timeout", "string"],
  ["max-startups", "string"],
  ["max-startups-per-source", "string"],
  ["penalty", "string"],
  ["max-penalty", "string"],
  ["gen-token", "string"],
  ["nats", "string"],
  ["nats-creds", "string"],
  ["nats-token-file", "string"],
  ["nats-ca", "string"],
  ["name", "string"],
  ["groups", "string"],
  ["fleet", "string"],
  ["nats-heartbeat", "string"],
  ["quiet", "boolean"],
  ["verbose", "boolean"],
  ["help", "boolean"],
  ["version", "boolean"],
]);
const SHORT: ReadonlyMap<string, string> = new Map([["-h", "help"], ["-V", "version"]]);

/**
 * Split argv into option values: `--name value`, `--name=value`, `--flag`,
 * `-h`, `-V`; a repeatable option's values come as an array, in order. Deliberately not `node:util`'s parseArgs: loading `node:util`
 * costs every server about 1 MiB of resident memory for a dozen or so options.
 */
export function splitServerArgs(args: readonly string[]): Map<string, string | true | string[]> {
  const values = new Map<string, string | true | string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const short = SHORT.get(arg);
    const eq = arg.indexOf("=");
    const name = short ??
      (arg.startsWith("--") ? arg.slice(2, eq < 0 ? undefined : eq) : undefined);
    const kind = name === undefined ? undefined : OPTIONS.get(name);
    if (name === undefined || kind === undefined) {
      throw new UsageError(
        arg.startsWith("-")
          ? `Invalid arguments: unknown option "${arg}"`
          : `Invalid arguments: unexpected "${arg}"`,
      );
    }
    if (values.has(name) && kind !== "strings") {
      throw new UsageError(`Invalid arguments: --${name} is given twice`);
    }
    if (kind === "boolean") {
      if (eq >= 0 && !short) throw new UsageError(`Invalid arguments: --${name} takes no value`);
      values.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0 && !short) {
      value = arg.slice(eq + 1);
    } else {
      value = args[++i];
      if (value === undefined) throw new UsageError(`Invalid arguments: --${name} needs a value`);
    }
    if (kind === "strings") {
      const list = values.get(name);
      if (Array.isArray(list)) list.push(value);
      else values.set(name, [value]);
    } else {
      values.set(name, value);
    }
  }
  return values;
}

/** Parse `rmon-server` argv; throws `UsageError` with a one-line message. */
export function parseServerArgs(args: string[]): ServerOptions {
  const given = splitServerArgs(args);
  const str = (name: string) => {
    const value = given.get(name);
    return typeof value === "string" ? value : undefined;
  };
  const flag = (name: string) => given.get(name) === true;
  const list = (name: string) => {
    const value = given.get(name);
    return Array.isArray(value) ? value : [];
  };
  const v = {
    host: str("host"),
    port: str("port"),
    "token-file": str("token-file"),
    "authorized-keys": str("authorized-keys"),
    "no-token": flag("no-token"),
    "audit-log": str("audit-log"),
    tls: flag("tls"),
    "tls-cert": str("tls-cert"),
    "tls-key": str("tls-key"),
    "insecure-plaintext": flag("insecure-plaintext"),
    "read-only": flag("read-only"),
    "max-frame": str("max-frame"),
    "max-output": str("max-output"),
    "max-upload": str("max-upload"),
    "auth-timeout": str("auth-timeout"),
    "max-connections": str("max-connections"),
    "exec-env": list("exec-env"),
    "write-timeout": str("write-timeout"),
    "idle-timeout": str("idle-timeout"),
    "max-startups": str("max-startups"),
    "max-startups-per-source": str("max-startups-per-source"),
    penalty: str("penalty"),
    "max-penalty": str("max-penalty"),
    quiet: flag("quiet"),
    verbose: flag("verbose"),
    help: flag("help"),
    version: flag("version"),
  };
  if (v.quiet && v.verbose) {
    throw new UsageError("Invalid arguments: --quiet and --verbose conflict");
  }
  const port = positiveInt("port", v.port, DEFAULT_PORT, 0);
  if (port > 65535) throw new UsageError(`Invalid --port: "${v.port}" is above 65535`);
  const host = v.host ?? DEFAULT_HOST;
  if (host.length === 0) throw new UsageError("Invalid --host: empty address");
  if (v["no-token"] && v["authorized-keys"] === undefined) {
    throw new UsageError("Invalid arguments: --no-token needs --authorized-keys");
  }
  // On the bus the token still MACs every message (docs/security.md), so there it is allowed.
  if (v["no-token"] && v["token-file"] !== undefined && str("nats") === undefined) {
    throw new UsageError(
      "Invalid arguments: --no-token and --token-file conflict (except with --nats)",
    );
  }
  if (v["no-token"] && str("nats") !== undefined && v["token-file"] === undefined) {
    throw new UsageError(
      "Invalid arguments: --nats with --no-token needs --token-file: bus messages are still " +
        "MACed with the fleet token, though it runs nothing without an operator key",
    );
  }
  if ((v["tls-cert"] === undefined) !== (v["tls-key"] === undefined)) {
    throw new UsageError("Invalid arguments: --tls-cert and --tls-key go together");
  }
  const askedTls = v.tls || v["tls-cert"] !== undefined;
  if (askedTls && v["insecure-plaintext"]) {
    throw new UsageError("Invalid arguments: --insecure-plaintext conflicts with --tls/--tls-cert");
  }
  if (v["insecure-plaintext"] && isLoopbackHost(host)) {
    throw new UsageError(
      "Invalid arguments: --insecure-plaintext is for non-loopback addresses; loopback is plain by default",
    );
  }
  const nats = (str("nats") ?? "").split(",").map((u) => u.trim()).filter((u) => u !== "");
  if (given.has("nats") && nats.length === 0) throw new UsageError("Invalid --nats: no URL");
  for (const url of nats) {
    const problem = natsUrlProblem(url);
    if (problem !== null) throw new UsageError(`Invalid --nats: ${problem}`);
  }
  const busOnly = [
    "nats-creds",
    "nats-token-file",
    "nats-ca",
    "name",
    "groups",
    "fleet",
    "nats-heartbeat",
  ];
  const stray = busOnly.find((o) => given.has(o));
  if (nats.length === 0 && stray !== undefined) {
    throw new UsageError(`Invalid arguments: --${stray} needs --nats`);
  }
  if (given.has("nats-creds") && given.has("nats-token-file")) {
    throw new UsageError("Invalid arguments: --nats-creds and --nats-token-file conflict");
  }
  const groups = (str("groups") ?? "").split(",").map((g) => g.trim()).filter((g) => g !== "");
  for (
    const [what, value] of [
      ["name", str("name")],
      ["fleet", str("fleet")],
      ...groups.map((g) => ["groups", g]),
    ]
  ) {
    if (value !== undefined && !/^[A-Za-z0-9_.:-]{1,128}$/.test(value)) {
      throw new UsageError(`Invalid --${what}: "${value}" (letters, digits, _ . : - only)`);
    }
  }
  for (const name of v["exec-env"]) {
    const problem = execEnvNameProblem(name);
    if (problem) throw new UsageError(`Invalid --exec-env: "${name}": ${problem}`);
  }
  return {
    host,
    port,
    tokenFile: v["token-file"],
    authorizedKeys: v["authorized-keys"],
    noToken: v["no-token"],
    auditLog: v["audit-log"],
    tls: askedTls || (!isLoopbackHost(host) && !v["insecure-plaintext"]),
    tlsCert: v["tls-cert"],
    tlsKey: v["tls-key"],
    insecurePlaintext: v["insecure-plaintext"],
    readOnly: v["read-only"] ?? false,
    logLevel: v.quiet ? "quiet" : v.verbose ? "verbose" : "normal",
    maxFrameBytes: positiveInt("max-frame", v["max-frame"], FRAME_LIMITS.postAuth, 1024),
    maxOutputBytes: positiveInt("max-output", v["max-output"], LIMITS.execOutputBytes),
    maxUploadBytes: byteSizeOption("max-upload", v["max-upload"], LIMITS.uploadBytes),
    authTimeoutMs: authTimeout(v["auth-timeout"]),
    writeTimeoutMs: durationOption("write-timeout", v["write-timeout"], TIMEOUTS.writeMs),
    idleTimeoutMs: durationOption("idle-timeout", v["idle-timeout"], TIMEOUTS.idleMs, true),
    maxConnections: positiveInt("max-connections", v["max-connections"], LIMITS.connections),
    execEnv: v["exec-env"],
    genToken: str("gen-token"),
    startups: startupsOption(v["max-startups"]),
    startupsPerSource: positiveInt(
      "max-startups-per-source",
      v["max-startups-per-source"],
      LIMITS.startupsPerSource,
    ),
    penaltyMs: durationOption("penalty", v.penalty, LIMITS.penaltyMs, true),
    maxPenaltyMs: durationOption("max-penalty", v["max-penalty"], LIMITS.maxPenaltyMs),
    nats,
    natsCreds: str("nats-creds"),
    natsTokenFile: str("nats-token-file"),
    natsCa: str("nats-ca"),
    name: str("name"),
    groups,
    fleet: str("fleet"),
    natsHeartbeatMs: durationOption("nats-heartbeat", str("nats-heartbeat"), DEFAULT_HEARTBEAT_MS),
    listen: nats.length === 0 || v.port !== undefined || v.host !== undefined,
    help: v.help ?? false,
    version: v.version ?? false,
  };
}
