/**
 * `rmon` command-line options: parsing and the help text. Pure: argv in,
 * options out (or a `UsageError`). Anything after `--` is a one-shot command.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { natsUrlProblem } from "../protocol/nats_url.ts";
import { parseArgs } from "node:util";
import { EXIT_CODES, UsageError } from "../usage.ts";
import { DEFAULT_PORT, TIMEOUTS } from "../protocol/constants.ts";
import { DEFAULT_FANOUT } from "./fleet.ts";
import { parseFingerprint } from "../protocol/fingerprint.ts";
import { parseDuration } from "../duration.ts";
import type { OutputMode } from "./views/fanout.ts";
import { parseByteSize } from "../byte_size.ts";
import { DEFAULT_MAX_RECORD_OUTPUT } from "./oneshot_output.ts";
import { expandHostItem, expandHostList } from "../grammar/host_range.ts";

/** Everything `rmon` is told on its command line. */
export interface ClientOptions {
  /** Hosts given as positionals or with --hosts, ranges expanded (`web[1-3]`). */
  addresses: string[];
  /** `--hosts @FILE`: files of hosts, one or more a line, `#` comments (read by setup.ts). */
  hostFiles: string[];
  inventory?: string;
  tokenFile?: string;
  tokenEnv?: string;
  /** A token on the command line: allowed, never required (it shows in `ps`). */
  token?: string;
  /** `--tls`: TLS for every host, loopback too. */
  tls: boolean;
  /** `--insecure-plaintext`: plain TCP for every host without its own `tls` setting. */
  insecurePlaintext: boolean;
  /** `--fingerprint`: pinned server certificate (bare hex) for hosts without their own. */
  fingerprint?: string;
  /** `--ca-file`: CA to verify servers against, for hosts without their own. */
  caFile?: string;
  /** `--known-hosts`: the trust-on-first-use file (default in the state directory). */
  knownHosts?: string;
  /** `--identity`: the operator's private key (default ~/.config/rmon/id_ed25519 if present). */
  identity?: string;
  json: boolean;
  /** `--raw`: remote output's control characters reach a terminal unescaped (default off). */
  raw: boolean;
  yes: boolean;
  /** `--list-hosts`: print the hosts the target names, connect to none (default off). */
  listHosts: boolean;
  /** One-shot exec/ping output: `-b/--gather`, `--stream`, or both (default). */
  outputMode: OutputMode;
  /** `-o DIR`: save each host's stdout in DIR/HOST (DIR made 0700 if missing). */
  outDir?: string;
  /** `-e DIR`: save each host's stderr in DIR/HOST (DIR made 0700 if missing). */
  errDir?: string;
  /** `--no-prefix`: one host's output as it comes, stderr to stderr, nothing else on stdout. */
  noPrefix: boolean;
  /** `--max-record-output`: bytes of output kept per `--json` record (default 1 MiB). */
  maxRecordOutput: number;
  /** `--max-exit`: exit with the largest remote exit code when every host answered (default off). */
  maxExit: boolean;
  /** `--stdin`: one-shot exec gets this program's stdin, sent to every host (default off). */
  stdin: boolean;
  /** Command timeout enforced by the server (exec), ms. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** How long the client waits for answers; default: command timeout + 10 s. */
  waitMs: number;
  fanout: number;
  /** `--port`: port of hosts typed without one; unset: the inventory's default, else 5050. */
  port?: number;
  /** `--nats URL[,URL…]`: reach the fleet through these NATS servers (bus mode). */
  nats: string[];
  /** `--nats-creds FILE` / `--nats-token-file FILE`: how to sign in to NATS. */
  natsCreds?: string;
  natsTokenFile?: string;
  /** `--nats-ca FILE`: CA of the NATS servers' certificates. */
  natsCa?: string;
  /** `--fleet NAME`: the bus fleet (subject prefix rmon.v1.NAME). */
  fleet?: string;
  /** The one-shot command (words after `--`), or null for the console. */
  command: string | null;
  help: boolean;
  version: boolean;
}

/** The `--help` text. */
export const CLIENT_USAGE = `rmon: command many rmon servers at once

Usage:
  rmon [options] [HOST[:PORT]...]                  interactive console
  rmon keygen [FILE] [--comment TEXT] [--passphrase]   make an operator key pair
  rmon token new FILE                              write a fresh shared token (0600)
  rmon bootstrap [--ssh-option OPT]... [--inventory FILE | HOST...]
                                                   install rmon-server over ssh and pin
                                                   each certificate (rmon bootstrap --help)
  rmon web [options] [HOST...] [--listen ADDR:PORT]   the fleet on a live page (rmon web --help)
  rmon [options] --hosts H1,H2 -- COMMAND...       run one command and exit
  rmon [options] --inventory FILE -- @web* ram     (targets work in one-shot too)

Everything after -- is the command; without the --, "rmon web1 ram" is refused
with: did you mean "-- ram"?

Options:
  -i, --inventory FILE    hosts, groups and token sources (TOML; see README)
  -H, --hosts LIST        comma-separated HOST[:PORT] list; ranges as rmon prints them
                          (web[01-20].lan,db[1-3]); @FILE reads one host (or list)
                          a line from FILE, # starts a comment
  -p, --port N            port of hosts given without one (default: the inventory's
                          [defaults] port, else ${DEFAULT_PORT})
  --token-file FILE       token for hosts without their own (default: $RMON_TOKEN)
  --token-env NAME        read the default token from env var NAME
  --token TOKEN           token on the command line (visible in ps; prefer the above)
  --identity FILE         operator key to sign in with (default ~/.config/rmon/id_ed25519
                          when it exists; make one with: rmon keygen)
  --fingerprint FP        pin the servers' TLS certificate (sha256:HEX, as they print it)
  --ca-file FILE          verify the servers' TLS certificates against this CA
  --known-hosts FILE      trust-on-first-use record (default ~/.local/state/rmon/known_hosts)
  --tls                   TLS for loopback hosts too (other hosts always use TLS)
  --insecure-plaintext    plain TCP even to non-loopback hosts: readable and forgeable
                          by anyone on the path; only for networks you trust
  --json                  one-shot: NDJSON, one record per host, nothing else on stdout
  --raw                   pass control characters in remote output to the terminal as
                          they are (default: shown escaped, \\x1b, when stdout is one)
  -b, --gather            one-shot: no streamed lines; each output once, under the
                          folded list of the hosts that printed it (as clush -b)
  --stream                one-shot: streamed lines only, no gathered blocks
  --no-prefix             one-shot, one host: its output as it comes (stderr to
                          stderr), no host names, nothing else on stdout; for pipes
  --max-record-output N   --json: keep at most N bytes of output per record (64k,
                          1m; default 1m); a cut record says "truncated": true
  -o, --outdir DIR        one-shot: save each host's stdout in DIR/HOST (as pssh -o;
                          DIR is made, mode 0700, if missing)
  -e, --errdir DIR        one-shot: the same for stderr
  --list-hosts            print the hosts the target names (rmon -i FILE --list-hosts
                          -- @web*), one a line, or a JSON array with --json; connects
                          to none
  --max-exit              one-shot: exit with the largest exit code of the remote
                          commands (as pdsh -S) when every host answered with one
  --stdin                 one-shot exec: send rmon's stdin to the command on every
                          host (as pssh -I), read once, with end of input
  --timeout S             command timeout enforced by the server (default ${
  TIMEOUTS.execTimeoutMs / 1000
})
  --connect-timeout S     connect + auth timeout per host (default 5), counted from the
                          host's turn (at most 64 connect at once) and without the time
                          the client itself was stalled (then: status overloaded)
  --wait S                how long the client waits for answers (default timeout + 10)
                          (durations: seconds, or with a unit: 90s, 500ms)
  --fanout N              hosts contacted at once (default ${DEFAULT_FANOUT}; lowered, with a
                          note, when the open-files limit has no room for it)
  --nats URL[,URL...]     one-shot: reach the agents through NATS (nats:// or tls://);
                          HOSTs are then agent names, default every agent present
  --nats-creds FILE       sign in to NATS with this credentials file
  --nats-token-file FILE  sign in to NATS with the token in FILE
  --nats-ca FILE          verify the NATS servers' certificates against this CA
  --fleet NAME            the bus fleet to address (default "default")
  -y, --yes               do not ask before kill, reset or exec on several hosts
  -h, --help              show this help
  -V, --version           show the version

Exit codes (one-shot): 0 all ok, 1 a command exited non-zero, 2 usage error,
3 a host was unreachable or refused the token, 4 a host timed out,
5 a host answered with an error (with --max-exit and every host answered:
the largest remote exit code instead). Stopped from outside, the command is
cancelled on every host, each still gets its record, and rmon exits
130 on SIGINT (Ctrl-C), 143 on SIGTERM, 129 on SIGHUP; a second signal stops
waiting for answers. A closed stdout (rmon ... | head -1) ends the run
quietly with 141, as a shell reports a program stopped by SIGPIPE.`;

/** A timeout option in ms: seconds (`2.5`), `10s` or `500ms`, as rmon-server takes them too. */
function seconds(name: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new UsageError(`Invalid --${name}: ${describeError(err)}`, EXIT_CODES.usage, {
      cause: err,
    });
  }
}

/**
 * `node:util`'s parse errors in rmon's words: `unknown option "--bogus"`,
 * `--inventory needs a value`, `--json takes no value` (its own advice to put
 * an unknown option after `--` would be wrong here: that is the command).
 */
function describeArgsError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const long = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option "${quoted}"`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/argument missing/.test(message)) return `${long} needs a value`;
    if (/does not take an argument/.test(message)) return `${long} takes no value`;
  }
  return message;
}

/**
 * The hosts of `--hosts` values (lists, ranges, `@FILE`) and positionals
 * (ranges; a positional `@web*` stays as typed, for the forgotten-`--` hint).
 */
function hostArguments(
  values: readonly string[],
  positionals: readonly string[],
): { addresses: string[]; hostFiles: string[] } {
  const addresses: string[] = [];
  const hostFiles: string[] = [];
  try {
    for (const value of values) {
      for (const item of value.split(/,(?![^[]*\])/)) {
        const text = item.trim();
        if (text.startsWith("@")) {
          if (text === "@") throw new SyntaxError("@ needs a file name");
          hostFiles.push(text.slice(1));
        } else if (text !== "") addresses.push(...expandHostList(text));
      }
    }
    for (const p of positionals) addresses.push(...(p.startsWith("@") ? [p] : expandHostItem(p)));
  } catch (err) {
    if (!(err instanceof SyntaxError || err instanceof RangeError)) throw err;
    throw new UsageError(`Invalid --hosts: ${err.message}`, EXIT_CODES.usage, { cause: err });
  }
  return { addresses, hostFiles };
}

/** Parse `rmon` argv; throws `UsageError` with a one-line message. */
export function parseClientArgs(argv: string[]): ClientOptions {
  const dash = argv.indexOf("--");
  const args = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1).join(" ").trim() : null;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        inventory: { type: "string", short: "i" },
        hosts: { type: "string", short: "H", multiple: true },
        "token-file": { type: "string" },
        "token-env": { type: "string" },
        token: { type: "string" },
        fingerprint: { type: "string" },
        "ca-file": { type: "string" },
        "known-hosts": { type: "string" },
        identity: { type: "string" },
        tls: { type: "boolean" },
        "insecure-plaintext": { type: "boolean" },
        json: { type: "boolean" },
        raw: { type: "boolean" },
        yes: { type: "boolean", short: "y" },
        "list-hosts": { type: "boolean" },
        gather: { type: "boolean", short: "b" },
        stream: { type: "boolean" },
        "no-prefix": { type: "boolean" },
        "max-record-output": { type: "string" },
        outdir: { type: "string", short: "o" },
        errdir: { type: "string", short: "e" },
        "max-exit": { type: "boolean" },
        stdin: { type: "boolean" },
        timeout: { type: "string" },
        "connect-timeout": { type: "string" },
        wait: { type: "string" },
        fanout: { type: "string" },
        port: { type: "string", short: "p" },
        nats: { type: "string" },
        "nats-creds": { type: "string" },
        "nats-token-file": { type: "string" },
        "nats-ca": { type: "string" },
        fleet: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
  } catch (err) {
    throw new UsageError(`Invalid arguments: ${describeArgsError(err)}`, EXIT_CODES.usage, {
      cause: err,
    });
  }
  const v = parsed.values;
  const { addresses, hostFiles } = hostArguments(v.hosts ?? [], parsed.positionals);
  const sources = [v["token-file"], v["token-env"], v.token].filter((s) => s !== undefined);
  if (sources.length > 1) {
    throw new UsageError(
      "Invalid arguments: give at most one of --token-file, --token-env, --token",
    );
  }
  if (v.tls && v["insecure-plaintext"]) {
    throw new UsageError("Invalid arguments: --tls and --insecure-plaintext conflict");
  }
  if (v.fingerprint !== undefined && v["ca-file"] !== undefined) {
    throw new UsageError("Invalid arguments: give at most one of --fingerprint, --ca-file");
  }
  let fingerprint: string | undefined;
  if (v.fingerprint !== undefined) {
    try {
      fingerprint = parseFingerprint(v.fingerprint);
    } catch (err) {
      throw new UsageError(`Invalid --fingerprint: ${describeError(err)}`, EXIT_CODES.usage, {
        cause: err,
      });
    }
  }
  const fanout = v.fanout === undefined ? DEFAULT_FANOUT : Number(v.fanout);
  if (!Number.isSafeInteger(fanout) || fanout < 1) {
    throw new UsageError(`Invalid --fanout: "${v.fanout}" is not a whole number >= 1`);
  }
  const port = v.port === undefined ? undefined : Number(v.port);
  if (port !== undefined && (!Number.isSafeInteger(port) || port < 1 || port > 65535)) {
    throw new UsageError(`Invalid --port: "${v.port}" is not a port number`);
  }
  const timeoutMs = seconds("timeout", v.timeout, TIMEOUTS.execTimeoutMs);
  if (command !== null && command === "") {
    throw new UsageError("Invalid arguments: no command after --");
  }
  if (v.gather && v.stream) {
    throw new UsageError("Invalid arguments: --gather and --stream conflict");
  }
  if ((v.gather || v.stream) && v.json) {
    throw new UsageError(
      `Invalid arguments: --${v.gather ? "gather" : "stream"} and --json conflict`,
    );
  }
  if (v["no-prefix"] && (v.json || v.gather)) {
    throw new UsageError(
      `Invalid arguments: --no-prefix and --${v.json ? "json" : "gather"} conflict`,
    );
  }
  let maxRecordOutput = DEFAULT_MAX_RECORD_OUTPUT;
  if (v["max-record-output"] !== undefined) {
    if (!v.json) {
      throw new UsageError("Invalid arguments: --max-record-output works only with --json");
    }
    try {
      maxRecordOutput = parseByteSize(v["max-record-output"]);
    } catch (err) {
      throw new UsageError(`Invalid --max-record-output: ${describeError(err)}`, EXIT_CODES.usage, {
        cause: err,
      });
    }
  }
  const oneShotOnly = [
    [v.gather, "--gather"],
    [v.stream, "--stream"],
    [v["no-prefix"], "--no-prefix"],
    [v.outdir !== undefined, "--outdir"],
    [v.errdir !== undefined, "--errdir"],
    [v.stdin === true, "--stdin"],
    [v["max-exit"] === true, "--max-exit"],
  ] as const;
  const misplaced = oneShotOnly.find(([given]) => given)?.[1];
  if (command === null && misplaced !== undefined) {
    throw new UsageError(
      `Invalid arguments: ${misplaced} works only in one-shot mode (-- COMMAND)`,
    );
  }
  for (const [name, dir] of [["--outdir", v.outdir], ["--errdir", v.errdir]] as const) {
    if (dir === "") throw new UsageError(`Invalid ${name}: the directory name is empty`);
  }
  const nats = (v.nats ?? "").split(",").map((u) => u.trim()).filter((u) => u !== "");
  if (v.nats !== undefined && nats.length === 0) throw new UsageError("Invalid --nats: no URL");
  for (const url of nats) {
    const problem = natsUrlProblem(url);
    if (problem !== null) throw new UsageError(`Invalid --nats: ${problem}`);
  }
  const busOnly = (["nats-creds", "nats-token-file", "nats-ca", "fleet"] as const).find((o) =>
    v[o] !== undefined
  );
  if (busOnly !== undefined && nats.length === 0) {
    throw new UsageError(`Invalid arguments: --${busOnly} needs --nats`);
  }
  if (v["nats-creds"] !== undefined && v["nats-token-file"] !== undefined) {
    throw new UsageError("Invalid arguments: --nats-creds and --nats-token-file conflict");
  }
  return {
    addresses,
    hostFiles,
    inventory: v.inventory,
    nats,
    natsCreds: v["nats-creds"],
    natsTokenFile: v["nats-token-file"],
    natsCa: v["nats-ca"],
    fleet: v.fleet,
    tokenFile: v["token-file"],
    tokenEnv: v["token-env"],
    token: v.token,
    tls: v.tls ?? false,
    insecurePlaintext: v["insecure-plaintext"] ?? false,
    fingerprint,
    caFile: v["ca-file"],
    knownHosts: v["known-hosts"],
    identity: v.identity,
    json: v.json ?? false,
    raw: v.raw ?? false,
    yes: v.yes ?? false,
    listHosts: v["list-hosts"] ?? false,
    outputMode: v.gather ? "gather" : v.stream ? "stream" : "both",
    noPrefix: v["no-prefix"] ?? false,
    maxRecordOutput,
    outDir: v.outdir,
    errDir: v.errdir,
    maxExit: v["max-exit"] ?? false,
    stdin: v.stdin ?? false,
    timeoutMs,
    connectTimeoutMs: seconds("connect-timeout", v["connect-timeout"], 5_000),
    waitMs: seconds("wait", v.wait, timeoutMs + 10_000),
    fanout,
    port,
    command,
    help: v.help ?? false,
    version: v.version ?? false,
  };
}
