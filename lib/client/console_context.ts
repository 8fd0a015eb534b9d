/**
 * What every console command works with: the fleet and the selection, the
 * console's output (a progress line wiped before anything else is written, a
 * closed stdout noticed once), link notices, and the running command's
 * cancel switches. The console builds one; the local-command handlers of
 * `console_commands.ts` receive it. Client layer.
 * @module
 */

import { DEFAULT_PORT } from "../protocol/constants.ts";
import type { RemoteCommand, TargetExpr } from "../grammar/command.ts";
import { compactHosts } from "./hostlist.ts";
import { Fleet as DirectFleet, type HostResult, type RunOptions } from "./fleet.ts";
import type { Fleet } from "./fleet_api.ts";
import type { NatsFleet } from "./nats_fleet.ts";
import type { HostSpec } from "./inventory.ts";
import type { ClientOptions } from "./options.ts";
import { addressSpec, HostCredentials } from "./setup.ts";
import { resolveTargets, Selection, type TargetHost } from "./targets.ts";
import { confirmRun } from "./confirm.ts";
import type { LineReader, Stream } from "./console_input.ts";
import { labelOf, LinkNotices } from "./link_notices.ts";
import { clearLine, paint } from "./views/color.ts";
import type { ViewSink } from "./views/fanout.ts";

/** The page `web` serves beside the prompt (see web/web_main.ts; loaded only by `web`). */
export type ConsoleWeb = import("./web/web_main.ts").ConsoleWeb;

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
  /** Terminal width in columns, for redrawing in place and fitting tables. */
  columns(): number;
  /** Terminal height in lines, for a `watch` frame redrawn in place. */
  rows(): number;
  /** Environment lookup (history location). */
  env(name: string): string | undefined;
}

/** A host count in words: `1 host`, `3 hosts`. */
export function hostCount(n: number): string {
  return n === 1 ? "1 host" : `${n} hosts`;
}

/** The console's shared state and output; see the module doc. */
export class ConsoleContext {
  readonly opts: ClientOptions;
  readonly env: ConsoleEnv;
  /** The hosts, however they are reached. */
  readonly fleet: Fleet;
  /** The same fleet when it is direct connections (`connect ADDR` adds to it), else null. */
  readonly direct: DirectFleet | null;
  /** The same fleet when it is the NATS bus, else null. */
  readonly bus: NatsFleet | null;
  readonly selection: Selection = new Selection();
  readonly credentials: HostCredentials;
  readonly notices: LinkNotices;
  /** A host for an address typed with `connect`: the inventory's defaults apply. */
  typed: (address: string) => HostSpec = (address) => addressSpec(address, DEFAULT_PORT);
  /** The line reader; set by the console before the first command. */
  reader!: LineReader;
  /** The running command's cancel switch; null while idle. */
  running: AbortController | null = null;
  /** Second Ctrl-C: stop waiting for hosts that do not answer the cancel. */
  giveUp: AbortController | null = null;
  /** Set once a write found stdout closed: nothing more goes there. */
  stdoutClosed = false;
  /** The number of the line being run, for scripts' error messages. */
  lineNumber = 0;
  /** Whether a progress line is on the screen (on stderr, not ended by a newline). */
  #statusShown = false;
  /** The page `web` serves beside the prompt, if any. */
  web: ConsoleWeb | null = null;
  /** Notices held back while `watch` owns the screen. */
  #deferred: string[] | null = null;

  /**
   * A context for `opts` and `env`: with `bus`, the console works through
   * that (live) bus fleet; else through direct connections that reconnect lost
   * hosts by themselves.
   */
  constructor(opts: ClientOptions, env: ConsoleEnv, bus: NatsFleet | null = null) {
    this.opts = opts;
    this.env = env;
    this.credentials = new HostCredentials(opts);
    this.notices = new LinkNotices(env.color);
    this.bus = bus;
    this.direct = bus
      ? null
      : new DirectFleet({ connectTimeoutMs: opts.connectTimeoutMs }, opts.fanout);
    this.fleet = bus ?? this.direct!;
    if (bus) {
      bus.onBusNotice = (text) => this.notice(text);
      const refused = (text: string) => this.notice(`NATS refused: ${text}`);
      bus.refusals.forEach(refused);
      bus.onRefusal = refused;
    }
    this.fleet.onChange = (link) => {
      this.web?.linkChanged(link);
      const text = this.notices.changed(link.status());
      if (text === null) this.reader?.refreshPrompt();
      else this.notice(text);
    };
  }

  // ---- output ------------------------------------------------------------------

  /**
   * Every write of the console goes through here: a progress line on the
   * screen is wiped first, so what follows starts on a clean line.
   */
  write(stream: Stream, text: string): void {
    if (this.#statusShown) {
      this.#statusShown = false;
      this.#rawWrite("err", clearLine());
    }
    this.#rawWrite(stream, text);
  }

  /** Write as is; a closed stdout ends the console, a closed stderr only loses the text. */
  #rawWrite(stream: Stream, text: string): void {
    if (stream === "out" && this.stdoutClosed) return;
    try {
      this.env.write(stream, text);
    } catch (err) {
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
      if (stream === "out") this.#closeOutput();
    }
  }

  /** Show `text` as the progress line, redrawn in place (terminal only); "" wipes it. */
  status(text: string): void {
    this.#rawWrite("err", `${clearLine()}${text}`);
    this.#statusShown = text !== "";
  }

  /** Stdout's reader has gone: cancel what runs, stop waiting for it, read no more. */
  #closeOutput(): void {
    if (this.stdoutClosed) return;
    this.stdoutClosed = true;
    this.running?.abort("cancelled: stdout was closed");
    // Closing the connections at exit cancels whatever did not hear the cancel.
    this.giveUp?.abort();
    this.reader?.close();
  }

  /** A line (or lines) of the answer, on stdout. */
  out(text: string): void {
    this.reader.write("out", text.endsWith("\n") ? text : text + "\n");
  }

  /** An error about the line just entered; scripts learn which line it was. */
  error(message: string): void {
    const where = this.env.interactive ? "" : `line ${this.lineNumber}: `;
    this.reader.write("err", `${paint(this.env.color, "red", `${where}${message}`)}\n`);
  }

  /** A one-line notice about the fleet, above the prompt (held back during watch). */
  notice(text: string): void {
    if (this.#deferred) {
      this.#deferred.push(text);
      return;
    }
    this.reader.write("err", text + "\n");
    this.reader.refreshPrompt();
  }

  /** Run `body` with notices held back (watch owns the screen), then show them. */
  async holdingNotices<T>(body: () => Promise<T>): Promise<T> {
    this.#deferred = [];
    try {
      return await body();
    } finally {
      const held = this.#deferred;
      this.#deferred = null;
      for (const text of held) this.notice(text);
    }
  }

  /** Where fan-out views write: stdout through the reader, progress on stderr. */
  sink(): ViewSink {
    return {
      out: (text) => this.reader.write("out", text),
      status: (text) => this.status(text),
      color: this.env.color,
      progress: this.env.terminal,
      escape: this.env.escape,
      width: this.width(),
    };
  }

  /** The columns tables must fit in: the terminal's width, or 80 when stdout is not one. */
  width(): number {
    return this.env.terminal ? Math.max(20, this.env.columns()) : 80;
  }

  // ---- the fleet -----------------------------------------------------------------

  /** Every host of the fleet, as targets see them. */
  hosts(): TargetHost[] {
    return this.fleet.links.map((l) => ({ name: l.name, groups: l.groups }));
  }

  /** The names of the hosts that are up. */
  connected(): string[] {
    return this.fleet.links.filter((l) => l.state === "up").map((l) => l.name);
  }

  /** The hosts a command goes to: its `@TARGET`, else the selection. */
  targetNames(target: TargetExpr | undefined): string[] {
    const hosts = this.hosts();
    return target ? resolveTargets(target, hosts) : this.selection.names(hosts, this.connected());
  }

  /** The selection in words, as `use`, `+` and `-` report it. */
  describeSelection(): void {
    this.out(`Selected: ${this.selection.describe(this.hosts(), this.connected())}`);
  }

  /** Ask before a risky command (the rule of confirm.ts); false, with a message, when it must not run. */
  async confirmed(cmd: RemoteCommand, names: readonly string[]): Promise<boolean> {
    const verdict = await confirmRun(cmd, names, {
      yes: this.opts.yes,
      ask: this.env.interactive ? (question) => this.reader.ask(question) : null,
      noAsk: "stdin is not a terminal; start rmon with --yes to allow it",
    });
    if (verdict.run) return true;
    if (verdict.refusal === null) this.out("Not run");
    else this.error(verdict.refusal);
    return false;
  }

  /**
   * Run `cmd` on `names` with Ctrl-C wired to cancel it. A second Ctrl-C stops
   * waiting: hosts that have not answered are reported as cancelled, and what
   * they send later is dropped (the fleet never passes it on).
   */
  async fanOut(
    names: readonly string[],
    cmd: RemoteCommand,
    opts: Omit<RunOptions, "signal" | "stopWaiting" | "waitMs">,
    waitMs = this.opts.waitMs,
  ): Promise<HostResult[]> {
    const controller = new AbortController();
    const giveUp = new AbortController();
    this.running = controller;
    this.giveUp = giveUp;
    try {
      return await this.fleet.run(names, cmd, {
        ...opts,
        signal: controller.signal,
        stopWaiting: giveUp.signal,
        waitMs,
      });
    } finally {
      this.running = null;
      this.giveUp = null;
    }
  }

  /**
   * Connect `names`, reporting each failure as it happens; `verbose` also
   * reports each success (the `connect` command) rather than one total.
   */
  async connect(names: readonly string[], verbose: boolean): Promise<void> {
    const progress = this.env.terminal && names.length > 1;
    try {
      await this.notices.connecting(names, () =>
        this.fleet.connect(names, (done, total) => {
          if (progress) this.status(`connecting ${done}/${total}`);
        }));
    } finally {
      if (progress) this.status("");
    }
    const up = names.filter((n) => this.fleet.get(n)?.state === "up");
    if (verbose) {
      for (const name of up) {
        const s = this.fleet.get(name)!.status();
        const ro = s.readOnly ? ", read-only" : "";
        this.out(`Connected to ${labelOf(s)}: rmon-server ${s.serverVersion}${ro}`);
      }
    } else {
      this.out(`Connected to ${up.length} of ${hostCount(names.length)}`);
    }
  }

  /** Remove hosts from the fleet, closing their links; `why` (if any) follows the report. */
  async forget(names: readonly string[], why = ""): Promise<void> {
    await Promise.all(names.map((name) => this.fleet.remove(name)));
    this.selection.forget(names);
    this.notices.forget(names);
    const which = names.length === 1
      ? names[0]
      : `${hostCount(names.length)} (${compactHosts(names)})`;
    this.out(`Removed ${which} from the fleet${why ? `: ${why}` : ""}`);
  }
}
