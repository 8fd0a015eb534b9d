/**
 * The interactive console (`rmon` without `--`): connections to many servers
 * held open at once, a prompt showing the selection, every line parsed by the
 * shared grammar, and answers shown as they arrive. Client layer; the entry
 * point (`client.ts`) calls {@linkcode runConsole}.
 *
 * Behaviour worth knowing:
 * - Lines come from a terminal (prompt, history, Tab completion) or from a
 *   pipe, run one after another without prompts. The console exits 0 at
 *   `exit`, `quit`, Ctrl-D or end of input, whatever the commands returned;
 *   it fails (via a `UsageError`) only when it cannot start. Without a
 *   terminal, Ctrl-C (SIGINT) while idle leaves with 130.
 * - Ctrl-C while a command runs cancels it on all its hosts (the servers kill
 *   its processes); a second Ctrl-C stops waiting for hosts that do not answer.
 *   At an idle prompt it clears the line.
 * - `kill`, `reset` and exec on several hosts ask first, unless `--yes`. When
 *   stdin is not a terminal there is nobody to ask, so without `--yes` they
 *   are refused with a one-line error (and the script goes on).
 * - History (terminal sessions only) lives in the per-user state directory;
 *   blank lines, repeats and lines starting with a space are not saved.
 * - Lost and recovered hosts are announced on one line above the prompt.
 * - `forget` removes hosts from the fleet; `disconnect` of a host that is not
 *   connected does the same (there is nothing else to do with a dead or
 *   mistyped host). A host disconnected on purpose stays in the fleet, to be
 *   reconnected, but commands skip it rather than count it unreachable.
 * - A progress line (`connecting 3/6`, `2/3 hosts answered`) is wiped before
 *   anything else is written, so no message ever lands on its line; answers
 *   that come after a second Ctrl-C are dropped, never drawn over the prompt.
 * - A stdout closed by its reader (`rmon HOSTS < script | head`) cancels the
 *   running command and ends the console quietly with 141, like SIGPIPE.
 * @module
 */

import { describeError } from "../protocol/errors.ts";
import { EXIT_CODES, UsageError } from "../usage.ts";
import { DEFAULT_PORT, RMON_VERSION } from "../protocol/constants.ts";
import { isRemote, type RemoteCommand, type TargetExpr } from "../grammar/command.ts";
import { describeSyntaxError } from "../grammar/errors.ts";
import { formatHelp } from "../grammar/help.ts";
import { CommandSyntaxError, parseLine } from "../grammar/parse_line.ts";
import { compactHosts } from "./hostlist.ts";
import { Fleet, type HostResult, type RunOptions } from "./fleet.ts";
import type { HostLink } from "./host_link.ts";
import type { HostSpec } from "./inventory.ts";
import type { ClientOptions } from "./options.ts";
import { needsConfirmation } from "./oneshot.ts";
import { addHosts, addressSpec, collectHosts, HostCredentials } from "./setup.ts";
import { checkLinkBudget } from "./fd_limit.ts";
import { resolveTargets, Selection, type TargetHost } from "./targets.ts";
import { appendHistory, HISTORY_SIZE, historyPath, loadHistory, worthKeeping } from "./history.ts";
import { completeLine } from "./console_complete.ts";
import { renderCommandDiff } from "./console_diff.ts";
import { LineReader, type Stream } from "./console_input.ts";
import { runWatch } from "./console_watch.ts";
import { clearLine, paint, useColor } from "./views/color.ts";
import { FanoutView, type ViewSink } from "./views/fanout.ts";
import { formatDuration } from "./views/format.ts";
import { renderHosts, stateText } from "./views/hosts.ts";

/** What the console needs from its surroundings; `runConsole` fills it from the process. */
export interface ConsoleEnv {
  /** Writes text as is to stdout or stderr. */
  write(stream: Stream, text: string): void;
  /** Whether stdin is a terminal: a person is there to confirm. */
  interactive: boolean;
  /** Whether stdin and stdout are both a terminal: prompt, line editing, redraws. */
  terminal: boolean;
  color: boolean;
  /** Whether remote output's control characters are shown escaped: stdout is a terminal, no `--raw`. */
  escape: boolean;
  /** Terminal width in columns, for redrawing in place. */
  columns(): number;
  /** Environment lookup (history location). */
  env(name: string): string | undefined;
}

/** A link's coarse state for notices: up, down (lost or refused), or neither. */
type Presence = "up" | "down";

function presence(link: HostLink): Presence | null {
  const state = link.state;
  if (state === "up") return "up";
  if (state === "lost" || state === "auth_failed" || state === "error") return "down";
  // connecting is a passing state; closed is the user's own doing and reported by its command.
  return null;
}

/** The text a confirmation question quotes: what the person typed, minus the target. */
function commandText(cmd: RemoteCommand): string {
  return cmd.kind === "exec" ? `${cmd.shell}: ${cmd.command}` : cmd.kind;
}

/** A host as messages name it: `web1 (10.0.0.1:5050)`, or just the address when that is its name. */
function labelOf(s: { name: string; address: string }): string {
  return s.name === s.address ? s.name : `${s.name} (${s.address})`;
}

function hostCount(n: number): string {
  return n === 1 ? "1 host" : `${n} hosts`;
}

/** The interactive console; see the module doc. */
export class Console {
  #opts: ClientOptions;
  #env: ConsoleEnv;
  #fleet: Fleet;
  #selection = new Selection();
  #credentials: HostCredentials;
  /** A host for an address typed with `connect`: the inventory's defaults apply. */
  #typed: (address: string) => HostSpec = (address) => addressSpec(address, DEFAULT_PORT);
  #reader!: LineReader;
  /** The running command's cancel switch; null while idle. */
  #running: AbortController | null = null;
  /** Second Ctrl-C: stop waiting for hosts that do not answer the cancel. */
  #giveUp: AbortController | null = null;
  /** Whether a progress line is on the screen (on stderr, not ended by a newline). */
  #statusShown = false;
  /** Set once a write found stdout closed: nothing more goes there. */
  #stdoutClosed = false;
  /** What each host was last announced as. */
  #announced = new Map<string, Presence>();
  /** Hosts that have been up at least once: a later "up" is a comeback. */
  #everUp = new Set<string>();
  /** When each host went down, for "back after ..." notices. */
  #downSince = new Map<string, number>();
  /** Hosts being connected by `connect` (or at start): their command reports them. */
  #connecting = new Set<string>();
  /** Notices held back while `watch` owns the screen. */
  #deferred: string[] | null = null;
  #historyFile: string | null = null;
  #lastLine: string | undefined;
  #lineNumber = 0;
  /** Set when SIGINT arrives at an idle console without a terminal. */
  #idleInterrupted = false;

  /** Create a console for `opts`; nothing happens before {@linkcode Console.run}. */
  constructor(opts: ClientOptions, env: ConsoleEnv) {
    this.#opts = opts;
    this.#env = env;
    this.#credentials = new HostCredentials(opts);
    // Reconnect stays on (the default timings): a lost host comes back by itself.
    this.#fleet = new Fleet({ connectTimeoutMs: opts.connectTimeoutMs }, opts.fanout);
    this.#fleet.onChange = (link) => this.#linkChanged(link);
  }

  /** Connect to the hosts of the command line, then read and run lines until exit; returns 0. */
  async run(): Promise<number> {
    const book = await collectHosts(this.#opts);
    this.#typed = book.typed;
    const specs = book.hosts;
    // The console holds one connection per host: more than the open-files limit allows is
    // said now, not reported as hosts unreachable with "Too many open files" (fd_limit.ts).
    try {
      checkLinkBudget(specs.length);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new UsageError(err.message, EXIT_CODES.usage, { cause: err });
    }
    // Tokens are checked before anything is shown: a missing token is a usage error.
    await addHosts(this.#fleet, specs, this.#credentials);
    const history = await this.#loadHistory();
    this.#reader = new LineReader({
      terminal: this.#env.terminal,
      history,
      historySize: HISTORY_SIZE,
      prompt: () => this.#prompt(),
      complete: (line) => completeLine(line, this.#hosts()),
      onInterrupt: () => this.#interrupt(),
      write: (stream, text) => this.#write(stream, text),
    });
    const onSignal = () => this.#reader.interrupt();
    // A terminal in raw mode sends Ctrl-C as a key; SIGINT still comes from pipes and `kill`.
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      if (specs.length === 0) {
        this.#notice("No hosts yet: add some with connect ADDR (help connect)");
      } else {
        await this.#connect(specs.map((s) => s.name), false);
      }
      if (this.#env.terminal) {
        this.#out(`rmon ${RMON_VERSION}: type help for the commands, exit or Ctrl-D to leave`);
      }
      return await this.#loop();
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
      this.#reader.close();
      await this.#fleet.close();
    }
  }

  async #loop(): Promise<number> {
    while (true) {
      const line = await this.#reader.read();
      if (line === null) {
        if (this.#stdoutClosed) return EXIT_CODES.brokenPipe;
        // Ctrl-D: finish the prompt's line so the shell's prompt starts clean.
        if (this.#env.terminal) this.#write("out", "\n");
        return this.#idleInterrupted ? EXIT_CODES.interrupted : EXIT_CODES.ok;
      }
      this.#lineNumber++;
      await this.#remember(line);
      const leave = await this.#execute(line);
      if (leave) return EXIT_CODES.ok;
    }
  }

  // ---- input and output ----------------------------------------------------

  #hosts(): TargetHost[] {
    return this.#fleet.links.map((l) => ({ name: l.name, groups: l.groups }));
  }

  #connected(): string[] {
    return this.#fleet.links.filter((l) => l.state === "up").map((l) => l.name);
  }

  #prompt(): string {
    const connected = this.#connected();
    const selected = this.#selection.names(this.#hosts(), connected).length;
    return `rmon [${selected}/${connected.length}]> `;
  }

  /**
   * Every write of the console goes through here: a progress line on the
   * screen is wiped first, so what follows starts on a clean line.
   */
  #write(stream: Stream, text: string): void {
    if (this.#statusShown) {
      this.#statusShown = false;
      this.#rawWrite("err", clearLine());
    }
    this.#rawWrite(stream, text);
  }

  /** Write as is; a closed stdout ends the console, a closed stderr only loses the text. */
  #rawWrite(stream: Stream, text: string): void {
    if (stream === "out" && this.#stdoutClosed) return;
    try {
      this.#env.write(stream, text);
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      if (stream === "out") this.#closeOutput();
    }
  }

  /** Show `text` as the progress line, redrawn in place (terminal only); "" wipes it. */
  #status(text: string): void {
    this.#rawWrite("err", `${clearLine()}${text}`);
    this.#statusShown = text !== "";
  }

  /** Stdout's reader has gone: cancel what runs, stop waiting for it, read no more. */
  #closeOutput(): void {
    if (this.#stdoutClosed) return;
    this.#stdoutClosed = true;
    this.#running?.abort("cancelled: stdout was closed");
    // Closing the connections at exit cancels whatever did not hear the cancel.
    this.#giveUp?.abort();
    this.#reader?.close();
  }

  #out(text: string): void {
    this.#reader.write("out", text.endsWith("\n") ? text : text + "\n");
  }

  /** An error about the line just entered; scripts learn which line it was. */
  #error(message: string): void {
    const where = this.#env.interactive ? "" : `line ${this.#lineNumber}: `;
    this.#reader.write("err", `${paint(this.#env.color, "red", `${where}${message}`)}\n`);
  }

  /** A one-line notice about the fleet, above the prompt (held back during watch). */
  #notice(text: string): void {
    if (this.#deferred) {
      this.#deferred.push(text);
      return;
    }
    this.#reader.write("err", text + "\n");
    this.#reader.refreshPrompt();
  }

  async #loadHistory(): Promise<string[]> {
    if (!this.#env.interactive) return [];
    try {
      this.#historyFile = historyPath((name) => this.#env.env(name));
      return await loadHistory(this.#historyFile);
    } catch (err) {
      this.#historyFile = null;
      this.#write("err", `History is off: ${describeError(err)}\n`);
      return [];
    }
  }

  async #remember(line: string): Promise<void> {
    const file = this.#historyFile;
    const keep = worthKeeping(line, this.#lastLine);
    if (line.trim() !== "") this.#lastLine = line;
    if (file === null || !keep) return;
    try {
      await appendHistory(file, line);
    } catch (err) {
      // Say it once, then carry on without: a read-only home must not stop the console.
      this.#historyFile = null;
      this.#notice(`${describeError(err)}: history is off for this session`);
    }
  }

  // ---- state notices ---------------------------------------------------------

  #linkChanged(link: HostLink): void {
    const now = presence(link);
    const name = link.name;
    if (link.state === "closed") {
      this.#announced.delete(name);
      this.#downSince.delete(name);
    }
    if (now === null) return;
    const before = this.#announced.get(name);
    if (now === before) {
      this.#reader?.refreshPrompt();
      return;
    }
    this.#announced.set(name, now);
    const status = link.status();
    if (now === "down") this.#downSince.set(name, status.since);
    const comeback = now === "up" && this.#everUp.has(name);
    if (now === "up") this.#everUp.add(name);
    if (this.#connecting.has(name)) {
      // The first failure is reported at once, so a slow host never hides the others' news.
      if (now === "down") {
        this.#notice(`Cannot connect to ${labelOf(status)}: ${status.reason ?? "failed"}`);
      }
      return;
    }
    if (now === "down") {
      this.#notice(paint(this.#env.color, "red", `${name} lost: ${status.reason ?? status.state}`));
    } else if (comeback) {
      const since = this.#downSince.get(name);
      const after = since === undefined ? "" : ` after ${formatDuration(Date.now() - since)}`;
      this.#notice(paint(this.#env.color, "green", `${name} is back${after}`));
    } else {
      this.#notice(paint(this.#env.color, "green", `Connected to ${labelOf(status)}`));
    }
  }

  // ---- running commands ------------------------------------------------------

  #interrupt(): void {
    const running = this.#running;
    if (running === null) {
      if (!this.#env.terminal) {
        // A script or pipe with nothing running: Ctrl-C means stop.
        this.#idleInterrupted = true;
        this.#reader.close();
      }
      return;
    }
    if (!running.signal.aborted) {
      if (this.#env.terminal) this.#write("out", "^C\n");
      running.abort("cancelled by Ctrl-C");
      return;
    }
    this.#giveUp?.abort();
  }

  /**
   * Run `cmd` on `names` with Ctrl-C wired to cancel it. A second Ctrl-C stops
   * waiting: hosts that have not answered are reported as cancelled, and what
   * they send later is dropped (the fleet never passes it on).
   */
  async #fanOut(
    names: readonly string[],
    cmd: RemoteCommand,
    opts: Omit<RunOptions, "signal" | "stopWaiting" | "waitMs">,
    waitMs = this.#opts.waitMs,
  ): Promise<HostResult[]> {
    const controller = new AbortController();
    const giveUp = new AbortController();
    this.#running = controller;
    this.#giveUp = giveUp;
    try {
      return await this.#fleet.run(names, cmd, {
        ...opts,
        signal: controller.signal,
        stopWaiting: giveUp.signal,
        waitMs,
      });
    } finally {
      this.#running = null;
      this.#giveUp = null;
    }
  }

  /** The hosts a command goes to: its `@TARGET`, else the selection. */
  #targetNames(target: TargetExpr | undefined): string[] {
    const hosts = this.#hosts();
    return target ? resolveTargets(target, hosts) : this.#selection.names(hosts, this.#connected());
  }

  /** Ask before a risky command; false (with a message) when it must not run. */
  async #confirmed(cmd: RemoteCommand, names: readonly string[]): Promise<boolean> {
    if (!needsConfirmation(cmd, names.length) || this.#opts.yes) return true;
    const what = `"${commandText(cmd)}" on ${hostCount(names.length)}`;
    if (!this.#env.interactive) {
      this.#error(
        `Cannot run ${what} without confirmation: stdin is not a terminal; start rmon with --yes to allow it`,
      );
      return false;
    }
    const answer = await this.#reader.ask(`Run ${what} (${compactHosts(names)})? [y/N] `);
    if (answer !== null && /^\s*y(es)?\s*$/i.test(answer)) return true;
    this.#out("Not run");
    return false;
  }

  #sink(): ViewSink {
    return {
      out: (text) => this.#reader.write("out", text),
      status: (text) => this.#status(text),
      color: this.#env.color,
      progress: this.#env.terminal,
      escape: this.#env.escape,
    };
  }

  async #runRemote(target: TargetExpr | undefined, command: RemoteCommand): Promise<void> {
    let names = this.#targetNames(target);
    if (names.length === 0) {
      this.#error("No hosts selected: connect some, or change the selection with use");
      return;
    }
    names = await this.#setAside(names, command);
    if (names.length === 0) return;
    if (!await this.#confirmed(command, names)) return;
    const cmd = command.kind === "exec" && command.timeoutMs === undefined
      ? { ...command, timeoutMs: this.#opts.timeoutMs }
      : command;
    const view = new FanoutView(this.#sink(), cmd, names);
    const results = await this.#fanOut(names, cmd, {
      collectOutput: true,
      onOutput: (host, stream, data) => view.output(host, stream, data),
      onResult: (r) => view.result(r),
    });
    view.finish(results);
  }

  async #diff(target: TargetExpr | undefined, command: RemoteCommand): Promise<void> {
    let names = this.#targetNames(target);
    if (names.length === 0) {
      this.#error("No hosts to compare: connect some, or change the selection with use");
      return;
    }
    names = await this.#setAside(names, command);
    if (names.length === 0) return;
    if (!await this.#confirmed(command, names)) return;
    const cmd = command.kind === "exec" && command.timeoutMs === undefined
      ? { ...command, timeoutMs: this.#opts.timeoutMs }
      : command;
    let done = 0;
    const sink = this.#sink();
    const results = await this.#fanOut(names, cmd, {
      collectOutput: true,
      onResult: () => {
        if (sink.progress && names.length > 1) {
          sink.status(`${++done}/${names.length} hosts answered`);
        }
      },
    });
    if (sink.progress && names.length > 1) sink.status("");
    this.#out(renderCommandDiff(cmd, results, this.#env.color));
  }

  // ---- connections and selection ---------------------------------------------

  /**
   * Connect `names`, reporting each failure as it happens; `verbose` also
   * reports each success (the `connect` command) rather than one total.
   */
  async #connect(names: readonly string[], verbose: boolean): Promise<void> {
    for (const name of names) this.#connecting.add(name);
    const progress = this.#env.terminal && names.length > 1;
    try {
      await this.#fleet.connect(names, (done, total) => {
        if (progress) this.#status(`connecting ${done}/${total}`);
      });
    } finally {
      if (progress) this.#status("");
      for (const name of names) this.#connecting.delete(name);
    }
    const up = names.filter((n) => this.#fleet.get(n)?.state === "up");
    if (verbose) {
      for (const name of up) {
        const s = this.#fleet.get(name)!.status();
        const ro = s.readOnly ? ", read-only" : "";
        this.#out(`Connected to ${labelOf(s)}: rmon-server ${s.serverVersion}${ro}`);
      }
    } else {
      this.#out(`Connected to ${up.length} of ${hostCount(names.length)}`);
    }
  }

  async #connectCommand(addresses: readonly string[]): Promise<void> {
    const fresh = new Set<string>();
    for (const address of addresses) {
      const spec = this.#typed(address);
      // One entry per server: by name (an inventory host, an address typed before), else by
      // address and port (`localhost:7101` is `127.0.0.1:7101`); see server_key.ts.
      const known = this.#fleet.get(spec.name) ?? this.#fleet.findServer(spec);
      if (known && known.name !== spec.name) {
        this.#out(`${spec.name} is already in the fleet as ${known.name}`);
      } else if (known?.state === "up") {
        this.#out(`Already connected to ${spec.name}`);
      }
      if (known?.state === "up") continue;
      // A known host (reconnected) keeps its own token and groups; a new one uses the defaults.
      if (!known) await addHosts(this.#fleet, [spec], this.#credentials);
      fresh.add(known?.name ?? spec.name);
    }
    if (fresh.size === 0) return;
    await this.#connect([...fresh], true);
    const up = [...fresh].filter((n) => this.#fleet.get(n)?.state === "up");
    // A selection fixed by `use` does not follow new connections; `connect` adds to it.
    if (up.length > 0 && !this.#selection.followsConnected) {
      this.#selection.add(namesTarget(up), this.#hosts(), this.#connected());
    }
  }

  /**
   * The hosts a command is really sent to. `disconnect` of a host that is not
   * connected forgets it; any other command skips hosts disconnected on purpose
   * (they are not unreachable, and the summary must not say so).
   */
  async #setAside(names: readonly string[], command: RemoteCommand): Promise<string[]> {
    const state = (name: string) => this.#fleet.get(name)?.state;
    if (command.kind === "disconnect") {
      const idle = names.filter((n) => state(n) !== "up");
      if (idle.length > 0) {
        const link = idle.length === 1 ? this.#fleet.get(idle[0]!) : undefined;
        const why = link
          ? `it was not connected: ${stateText(link.status(), false)}`
          : "they were not connected";
        await this.#forget(idle, why);
      }
      return names.filter((n) => !idle.includes(n));
    }
    const closed = names.filter((n) => state(n) === "closed");
    if (closed.length > 0) {
      const them = closed.length === 1 ? "it" : "them";
      this.#out(
        `Skipped ${compactHosts(closed)}: disconnected (connect ${them} again, or forget ${them})`,
      );
    }
    return names.filter((n) => !closed.includes(n));
  }

  /** Remove hosts from the fleet, closing their links; `why` (if any) follows the report. */
  async #forget(names: readonly string[], why = ""): Promise<void> {
    await Promise.all(names.map((name) => this.#fleet.remove(name)));
    this.#selection.forget(names);
    for (const name of names) {
      this.#announced.delete(name);
      this.#everUp.delete(name);
      this.#downSince.delete(name);
    }
    const which = names.length === 1
      ? names[0]
      : `${hostCount(names.length)} (${compactHosts(names)})`;
    this.#out(`Removed ${which} from the fleet${why ? `: ${why}` : ""}`);
  }

  #describeSelection(): void {
    this.#out(`Selected: ${this.#selection.describe(this.#hosts(), this.#connected())}`);
  }

  #showHosts(target: TargetExpr | undefined): void {
    const hosts = this.#hosts();
    const shown = new Set(target ? resolveTargets(target, hosts) : hosts.map((h) => h.name));
    const selected = new Set(this.#selection.names(hosts, this.#connected()));
    const rows = this.#fleet.links.filter((l) => shown.has(l.name)).map((l) => {
      const status = l.status();
      // A link's own `since` restarts at every retry; "lost since" means since it first went down.
      const down = status.state !== "up" && status.state !== "closed"
        ? this.#downSince.get(l.name)
        : undefined;
      return {
        ...status,
        since: down ?? status.since,
        groups: l.groups,
        selected: selected.has(l.name),
      };
    });
    this.#out(renderHosts(rows, Date.now(), this.#env.color));
    this.#describeSelection();
  }

  // ---- dispatch --------------------------------------------------------------

  /** Run one line; true when the console should leave. */
  async #execute(line: string): Promise<boolean> {
    try {
      const parsed = parseLine(line);
      if (parsed === null) return false;
      const { target, command } = parsed;
      if (isRemote(command)) {
        await this.#runRemote(target, command);
        return false;
      }
      switch (command.kind) {
        case "exit":
          return true;
        case "help":
          this.#out(formatHelp(command.topic));
          return false;
        case "hosts":
          this.#showHosts(target);
          return false;
        case "connect":
          await this.#connectCommand(command.addresses);
          return false;
        case "forget":
          await this.#forget(resolveTargets(command.target, this.#hosts()));
          return false;
        case "use":
          this.#selection.use(command.target, this.#hosts());
          this.#describeSelection();
          return false;
        case "select-add":
          this.#selection.add(namesTarget(command.names), this.#hosts(), this.#connected());
          this.#describeSelection();
          return false;
        case "select-remove":
          this.#selection.remove(namesTarget(command.names), this.#hosts(), this.#connected());
          this.#describeSelection();
          return false;
        case "watch":
          await this.#watch(target, command.intervalSeconds, command.columns);
          return false;
        case "diff":
          await this.#diff(target, command.command);
          return false;
        default: {
          const never: never = command;
          throw new TypeError(`Cannot run command: unknown kind "${String(never)}"`);
        }
      }
    } catch (err) {
      if (err instanceof CommandSyntaxError) {
        // A caret under the typed line helps a person; a script's log wants one line with the column.
        this.#error(
          this.#env.interactive
            ? describeSyntaxError(line, err)
            : `column ${err.position + 1}: ${err.message} (expected: ${err.expected})`,
        );
      } else if (
        err instanceof UsageError || err instanceof RangeError || err instanceof SyntaxError
      ) {
        // A target naming nobody, a bad address, an unreadable token: say so and carry on.
        this.#error(err.message);
      } else {
        throw err;
      }
      return false;
    }
  }

  async #watch(
    target: TargetExpr | undefined,
    intervalSeconds: number,
    columns: readonly string[] | undefined,
  ): Promise<void> {
    const controller = new AbortController();
    this.#running = controller;
    this.#deferred = [];
    try {
      await runWatch({
        fleet: this.#fleet,
        names: () => this.#targetNames(target),
        intervalSeconds,
        columns,
        waitMs: this.#opts.waitMs,
        signal: controller.signal,
        stopOn: this.#reader.waitForInput(controller.signal),
        write: (text) => this.#write("out", text),
        redraw: this.#env.terminal,
        color: this.#env.color,
        terminalColumns: () => this.#env.columns(),
        hint: this.#env.terminal ? "Press any key to stop" : "",
      });
    } finally {
      this.#running = null;
      controller.abort();
      this.#reader.discardTyped();
      const held = this.#deferred;
      this.#deferred = null;
      for (const text of held) this.#notice(text);
    }
  }
}

/** A target expression for a list of names and globs (`+web*,db1`). */
function namesTarget(names: readonly string[]): TargetExpr {
  return {
    items: names.map((value) => ({
      op: "add",
      kind: /[*?[]/.test(value) ? "glob" : "name",
      value,
    })),
    text: names.join(","),
  };
}

const encoder = new TextEncoder();

/** Write all of `bytes`: a pipe may take less than asked at a time. */
function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/** Run the interactive console on this process's stdin/stdout; returns the exit code. */
export function runConsole(opts: ClientOptions): Promise<number> {
  const interactive = Deno.stdin.isTerminal();
  const terminal = interactive && Deno.stdout.isTerminal();
  const env: ConsoleEnv = {
    write: (stream, text) =>
      writeAll(stream === "out" ? Deno.stdout : Deno.stderr, encoder.encode(text)),
    interactive,
    terminal,
    color: useColor(Deno.stdout),
    escape: Deno.stdout.isTerminal() && !opts.raw,
    columns: () => (terminal ? Deno.consoleSize().columns : 80),
    env: (name) => Deno.env.get(name),
  };
  return new Console(opts, env).run();
}
