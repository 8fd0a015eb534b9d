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
import { FanoutView, jsonRecord, type ViewSink } from "./views/fanout.ts";
import { exitCodeFor, maxExitCode } from "./views/summary.ts";
import { clearLine } from "./views/color.ts";
import { formatEndpoint } from "../protocol/transport.ts";
import type { RunStop } from "./oneshot_stop.ts";
import { OutputFiles } from "./output_files.ts";
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

/** Where one-shot mode writes, and what stops it. */
export interface OneShotIo {
  /** Writes to stdout; never throws (a closed stdout is reported to `stop` instead). */
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress line) and colours are allowed on stdout. */
  progress: boolean;
  color: boolean;
  /** Whether stdout is a terminal: remote control characters are then escaped unless `--raw`. */
  terminal: boolean;
  /** The run's stop switches: signals and a closed stdout. */
  stop: RunStop;
}

/** Whether running `cmd` on `hostCount` hosts needs `--yes` (or a console confirmation). */
export function needsConfirmation(cmd: RemoteCommand, hostCount: number): boolean {
  return cmd.kind === "kill" || cmd.kind === "reset" || (cmd.kind === "exec" && hostCount > 1);
}

/** Parse the one-shot command text into a target and a remote command. */
export function parseOneShot(text: string): { target?: TargetExpr; cmd: RemoteCommand } {
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
  if (!isRemote(parsed.command)) {
    throw new UsageError(`Invalid command: "${parsed.command.kind}" only works in the console`);
  }
  return { target: parsed.target, cmd: parsed.command };
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
 * (`@web*`) or a whole command line whose target counts. Connects to nothing.
 */
export async function listHosts(opts: ClientOptions, write: (text: string) => void): Promise<void> {
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
  const { names } = await chooseHosts(opts, target);
  write(opts.json ? JSON.stringify(names) + "\n" : names.map((n) => n + "\n").join(""));
}

/** Run one command on the targets and return the exit code. */
export async function runOneShot(opts: ClientOptions, io: OneShotIo): Promise<number> {
  const { target, cmd } = parseOneShot(opts.command ?? "");
  if (cmd.kind === "exec" && cmd.timeoutMs === undefined) cmd.timeoutMs = opts.timeoutMs;
  const { specs, names } = await chooseHosts(opts, target);
  if (needsConfirmation(cmd, names.length) && !opts.yes) {
    throw new UsageError(`Refusing to run "${cmd.kind}" on ${names.length} host(s) without --yes`);
  }
  const files = new OutputFiles({ stdout: opts.outDir, stderr: opts.errDir });
  try {
    await files.prepare();
  } catch (err) {
    throw new UsageError(describeError(err), EXIT_CODES.usage, { cause: err });
  }
  const fleet = new Fleet(
    oneShotTimings(opts.connectTimeoutMs),
    affordableFanout(opts, names.length, io),
  );
  const chosen = new Set(names);
  await addHosts(fleet, specs.filter((s) => chosen.has(s.name)), new HostCredentials(opts));
  const sink: ViewSink = {
    out: io.stdout,
    status: (text) => io.stderr(`${clearLine()}${text}`),
    color: io.color,
    progress: io.progress,
    escape: io.terminal && !opts.raw,
  };
  const view = opts.json ? null : new FanoutView(sink, cmd, names, opts.outputMode);
  const addressOf = new Map(specs.map((s) => [s.name, formatEndpoint(s)]));
  const stop = io.stop;
  let results: HostResult[];
  try {
    // A pipeline: each slot connects, runs and closes one host at a time. Stopped while
    // connecting, the command goes nowhere; each host still gets its record.
    results = await fleet.run(names, cmd, {
      connectEach: true,
      signal: stop.cancel.signal,
      stopWaiting: stop.giveUp.signal,
      waitMs: opts.waitMs,
      collectOutput: true,
      onOutput: view ? (h, s, d) => view.output(h, s, d) : undefined,
      onResult: (r) => {
        files.save(r);
        if (view) view.result(r);
        else io.stdout(JSON.stringify(jsonRecord(r, addressOf.get(r.host))) + "\n");
      },
    });
  } finally {
    await fleet.close();
  }
  view?.finish(results);
  const unsaved = await files.settle();
  for (const message of unsaved) io.stderr(`rmon: ${message}\n`);
  // A stop names its own code (130, 143, 129, 141) whatever the hosts did.
  if (stop.exitCode !== null) return stop.exitCode;
  const largest = opts.maxExit ? maxExitCode(results) : null;
  const code = largest ?? exitCodeFor(results.map((r) => r.status));
  // Output that could not be saved is an error of this run, unless a worse one came first.
  return unsaved.length > 0 && code <= EXIT_CODES.nonzero ? EXIT_CODES.error : code;
}
