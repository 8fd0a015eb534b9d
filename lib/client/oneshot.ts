/**
 * One-shot mode (`rmon ... -- CMD`): connect to the targets, run one command,
 * print the answer (a table and summary for people, or NDJSON with `--json`),
 * and return the exit code that tells scripts what happened. A stop from
 * outside (a signal, a closed stdout; see oneshot_stop.ts) cancels the command
 * everywhere and still gives every host its record.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import { isRemote, type RemoteCommand, type TargetExpr } from "../grammar/command.ts";
import { parseLine, parseTarget } from "../grammar/parse_line.ts";
import { CommandSyntaxError } from "../grammar/command.ts";
import { Fleet, type HostResult } from "./fleet.ts";
import type { ClientOptions } from "./options.ts";
import { addHosts, collectHosts, HostCredentials } from "./setup.ts";
import type { HostSpec } from "./inventory.ts";
import { resolveTargets } from "./targets.ts";
import { jsonRecord } from "./views/fanout.ts";
import { exitCodeFor, maxExitCode } from "./views/summary.ts";
import { clearLine } from "./views/color.ts";
import { OneShotOutput, type OutputIo } from "./oneshot_output.ts";
import { formatEndpoint } from "../protocol/transport.ts";
import type { RunStop } from "./oneshot_stop.ts";
import { OutputFiles } from "./output_files.ts";
import { confirmRun } from "./confirm.ts";
import { diffExitCode, diffRecords, renderCommandDiff } from "./console_diff.ts";
import type { Fleet as FleetInterface } from "./fleet_api.ts";
import {
  BusDownError,
  busSettings,
  busTargets,
  openBusFleet,
  presenceCutNote,
  sayRefusals,
} from "./bus_setup.ts";
import { listPushFiles, type PushCommand, pushFiles } from "./transfer_push.ts";
import { type PullCommand, pullFiles } from "./transfer_pull.ts";
import { transferViewCommand } from "./views/transfer.ts";
import { fanOutChunks, OutStream, readerSource } from "./stream_out.ts";
import { planFanout } from "./fd_limit.ts";
import type { LinkTimings } from "./host_link.ts";

/**
 * Link timings of one-shot mode: a link lives for one command in the pipeline
 * (`RunOptions.connectEach`), so no reconnect, no heartbeat, and no OS-name
 * query (the `hosts` table's, one round trip per host for nothing here).
 */
export function oneShotTimings(connectTimeoutMs: number): Partial<LinkTimings> {
  return { connectTimeoutMs, reconnect: false, heartbeatMs: 0, describe: false };
}

/**
 * The fan-out the open-files limit allows (fd_limit.ts): lowered with a note
 * on stderr when too few descriptors are free, a usage error when none is.
 */
function affordableFanout(opts: ClientOptions, hosts: number, io: OneShotIo): number {
  try {
    const plan = planFanout(opts.fanout, hosts);
    if (plan.note !== null) io.stderr(`rmon: ${plan.note}\n`);
    return plan.fanout;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new UsageError(err.message, EXIT_CODES.unreachable, { cause: err });
  }
}

/** Where one-shot mode writes (stdout never throws: a closed stdout goes to `stop`), and what stops it. */
export interface OneShotIo extends OutputIo {
  /** The run's stop switches: signals and a closed stdout. */
  stop: RunStop;
}

/** A one-shot command: a remote command for the targets, shown as is or compared (`diff`). */
export interface OneShotCommand {
  target?: TargetExpr;
  /** The command sent; for a transfer, its wire method (`upload`, `download`). */
  cmd: RemoteCommand;
  /** `diff CMD`: run CMD, then show how the answers differ instead of each answer. */
  diff: boolean;
  /** `push` or `pull`: carried out by the client through `cmd`'s method. */
  transfer?: PushCommand | PullCommand;
}

/** Parse the one-shot command text into a target and a remote command (or a `diff` of one). */
export function parseOneShot(text: string): OneShotCommand {
  let parsed;
  try {
    parsed = parseLine(text);
  } catch (err) {
    if (err instanceof CommandSyntaxError) {
      throw new UsageError(`${err.message} (column ${err.position + 1})`, EXIT_CODES.usage, {
        cause: err,
      });
    }
    throw err;
  }
  if (!parsed) throw new UsageError("Invalid command: empty");
  const command = parsed.command;
  if (command.kind === "diff") return { target: parsed.target, cmd: command.command, diff: true };
  if (command.kind === "push" || command.kind === "pull") {
    return {
      target: parsed.target,
      cmd: transferViewCommand(command),
      diff: false,
      transfer: command,
    };
  }
  if (!isRemote(command)) {
    throw new UsageError(`Invalid command: "${command.kind}" only works in the console`);
  }
  return { target: parsed.target, cmd: command, diff: false };
}

/** The hosts of the command line (or inventory), and the names `target` picks among them. */
async function chooseHosts(
  opts: ClientOptions,
  target: TargetExpr | undefined,
): Promise<{ specs: HostSpec[]; names: string[] }> {
  const specs = (await collectHosts(opts)).hosts;
  if (specs.length === 0) {
    throw new UsageError("No hosts: name some, or use --hosts or --inventory");
  }
  if (!target) return { specs, names: specs.map((s) => s.name) };
  try {
    return { specs, names: resolveTargets(target, specs) };
  } catch (err) {
    throw new UsageError(describeError(err), EXIT_CODES.usage, { cause: err });
  }
}

/**
 * `--list-hosts`: the names the target picks (all hosts without one), one a
 * line, or a JSON array with `--json`. The text after `--` is a target alone
 * (`@web*`) or a whole command line whose target counts. Connects to nothing (over the bus: asks NATS who is present).
 */
export async function listHosts(
  opts: ClientOptions,
  write: (text: string) => void,
  warn: (line: string) => void,
): Promise<void> {
  const text = (opts.command ?? "").trim();
  let target: TargetExpr | undefined;
  if (/^@\S+$/.test(text)) {
    try {
      target = parseTarget(text.slice(1), 1);
    } catch (err) {
      if (!(err instanceof CommandSyntaxError)) throw err;
      throw new UsageError(`${err.message} (column ${err.position + 1})`, EXIT_CODES.usage, {
        cause: err,
      });
    }
  } else if (text !== "") {
    target = parseOneShot(text).target;
  }
  const settings = await busSettings(opts);
  let names: string[];
  if (settings) {
    // On the bus, who is there is known only by asking.
    const bus = await openBusFleet(opts, settings);
    try {
      sayRefusals(bus, warn);
      const note = presenceCutNote(bus);
      if (note !== null) warn(note + "\n");
      names = busTargets(bus, target);
    } finally {
      await bus.close();
    }
  } else {
    names = (await chooseHosts(opts, target)).names;
  }
  write(opts.json ? JSON.stringify(names) + "\n" : names.map((n) => n + "\n").join(""));
}

/** Run one command on the targets and return the exit code. */
export async function runOneShot(opts: ClientOptions, io: OneShotIo): Promise<number> {
  const { target, cmd, diff, transfer } = parseOneShot(opts.command ?? "");
  if (cmd.kind === "exec" && cmd.timeoutMs === undefined) cmd.timeoutMs = opts.timeoutMs;
  if (opts.stdin && (cmd.kind !== "exec" || diff)) {
    const what = transfer?.kind ?? (diff ? "diff" : cmd.kind);
    throw new UsageError(`Invalid arguments: --stdin goes with an exec command, not "${what}"`);
  }
  if (opts.stdin && cmd.kind === "exec") cmd.stdin = true;
  // On the bus the hosts are whoever is present (or the inventory's names); asked first.
  const settings = await busSettings(opts);
  if (settings && (transfer || opts.stdin)) {
    const what = transfer ? transfer.kind : "--stdin";
    throw new UsageError(
      `Invalid arguments: ${what} needs direct connections; the bus (--nats) does not carry it yet`,
    );
  }
  let bus: Awaited<ReturnType<typeof openBusFleet>> | null = null;
  try {
    bus = settings ? await openBusFleet(opts, settings) : null;
  } catch (err) {
    // NATS down: with --json each expected host still gets its record, as over direct links.
    if (!(err instanceof BusDownError) || !opts.json || err.expected === null) throw err;
    io.stderr(`rmon: ${err.message}\n`);
    let names = err.expected.map((h) => h.name);
    if (target) {
      try {
        names = resolveTargets(target, err.expected);
      } catch (bad) {
        throw new UsageError(describeError(bad), EXIT_CODES.usage, { cause: bad });
      }
    }
    for (const host of names) {
      const r: HostResult = { host, status: "unreachable", error: err.message, durationMs: 0 };
      io.stdout(JSON.stringify(jsonRecord(r, undefined, cmd.kind)) + "\n");
    }
    return EXIT_CODES.unreachable;
  }
  if (bus) sayRefusals(bus, io.stderr);
  const cutNote = bus ? presenceCutNote(bus) : null;
  if (cutNote !== null) io.stderr(cutNote + "\n");
  let fleet: FleetInterface;
  /** The direct fleet (null on the bus): transfers and stdin streams need its links. */
  let direct: Fleet | null = null;
  let specs: HostSpec[] = [];
  let names: string[];
  let files: OutputFiles;
  let pushList: Awaited<ReturnType<typeof listPushFiles>> | null = null;
  try {
    ({ specs, names } = bus
      ? { specs, names: busTargets(bus, target) }
      : await chooseHosts(opts, target));
    // Checked before connecting: a missing local file is a usage error, not one per host.
    pushList = transfer?.kind === "push" ? await listPushFiles(transfer) : null;
    // One-shot mode never asks: scripts run it, so a risky command needs --yes up front.
    const verdict = await confirmRun(cmd, names, {
      yes: opts.yes,
      ask: null,
      noAsk: "one-shot mode does not ask; add --yes to allow it",
    });
    if (!verdict.run) throw new UsageError(verdict.refusal ?? "Not run");
    files = new OutputFiles({ stdout: opts.outDir, stderr: opts.errDir });
    try {
      await files.prepare();
    } catch (err) {
      throw new UsageError(describeError(err), EXIT_CODES.usage, { cause: err });
    }
  } catch (err) {
    await bus?.close();
    throw err;
  }
  const addressOf = bus
    ? new Map(names.map((n) => [n, bus.addressOf(n)]))
    : new Map(specs.map((s) => [s.name, formatEndpoint(s)]));
  let output: OneShotOutput;
  try {
    output = new OneShotOutput(opts, cmd, names, io, files, addressOf, diff);
  } catch (err) {
    // A combination of options it refuses: before any link exists, so only the bus to close.
    await bus?.close();
    throw err;
  }
  // Streams (push, pull, --stdin) feed every host at once from one source, and the bus has no
  // links of its own: those connect first. Everything else runs as a pipeline: each fan-out
  // slot connects, runs and closes one host at a time (RunOptions.connectEach).
  const streams = transfer !== undefined || (cmd.kind === "exec" && cmd.stdin === true);
  const pipeline = !bus && !streams;
  if (bus) {
    fleet = bus;
  } else {
    direct = new Fleet(
      oneShotTimings(opts.connectTimeoutMs),
      affordableFanout(opts, names.length, io),
    );
    const chosen = new Set(names);
    await addHosts(direct, specs.filter((s) => chosen.has(s.name)), new HostCredentials(opts));
    fleet = direct;
  }
  const stop = io.stop;
  let results: HostResult[];
  try {
    if (!pipeline) {
      if (io.progress && names.length > 1) {
        io.stderr(`${clearLine()}connecting to ${names.length} hosts`);
      }
      await fleet.connect(names, (done, total) => {
        if (io.progress && total > 1) io.stderr(`${clearLine()}connected ${done}/${total}`);
      }, stop.cancel.signal);
      if (io.progress && names.length > 1) io.stderr(clearLine());
    }
    // Stopped while connecting, the command goes nowhere; each host still gets its record.
    const onResult = output.onResult;
    const moving = { signal: stop.cancel.signal, waitMs: opts.waitMs, onResult };
    if (transfer?.kind === "push") {
      results = await pushFiles(direct!, names, transfer, pushList!, moving);
    } else if (transfer?.kind === "pull") {
      results = await pullFiles(direct!, names, transfer.remote, transfer.localDir, moving);
    } else {
      const input = cmd.kind === "exec" && cmd.stdin ? stdinStreams(direct!, names) : null;
      const run = fleet.run(names, cmd, {
        connectEach: pipeline,
        signal: stop.cancel.signal,
        stopWaiting: stop.giveUp.signal,
        waitMs: opts.waitMs,
        collectOutput: true,
        capture: output.capture,
        onOutput: output.onOutput,
        onOutputBytes: output.onOutputBytes,
        onResult,
        ...(input ? { stream: (host: string) => input.get(host) } : {}),
      });
      if (input) {
        // stdin is read once, chunk by chunk, as fast as the slowest host takes it. Not
        // awaited: a stopped run must not wait for a terminal's next line.
        fanOutChunks([...input.values()], readerSource(Deno.stdin), {
          eof: true,
          signal: stop.cancel.signal,
        }).catch((err) => io.stderr(`rmon: cannot read stdin: ${describeError(err)}\n`));
      }
      results = await run;
    }
  } finally {
    await fleet.close();
  }
  output.finish(results);
  if (diff) {
    if (io.progress && names.length > 1) io.stderr(clearLine());
    if (opts.json) {
      for (const record of diffRecords(cmd, results)) io.stdout(JSON.stringify(record) + "\n");
    } else {
      io.stdout(renderCommandDiff(cmd, results, io.color) + "\n");
    }
  }
  const unsaved = await files.settle();
  for (const message of unsaved) io.stderr(`rmon: ${message}\n`);
  // A stop names its own code (130, 143, 129, 141) whatever the hosts did.
  if (stop.exitCode !== null) return stop.exitCode;
  const largest = opts.maxExit && !diff ? maxExitCode(results) : null;
  const code = diff
    ? diffExitCode(cmd, results)
    : largest ?? exitCodeFor(results.map((r) => r.status));
  // Output that could not be saved is an error of this run, unless a worse one came first.
  return unsaved.length > 0 && code <= EXIT_CODES.nonzero ? EXIT_CODES.error : code;
}

/** One outgoing stream per host for `--stdin`. */
function stdinStreams(fleet: Fleet, names: readonly string[]): Map<string, OutStream> {
  return new Map(names.map((n) => {
    const link = fleet.get(n);
    return [n, new OutStream(n, (parts) => link?.sendParts(parts) ?? Promise.resolve())];
  }));
}
