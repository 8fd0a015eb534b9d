/**
 * The page's command box: any console line, parsed by the console's own
 * grammar, sent to the hosts its `@TARGET` names (else the hosts the page's
 * filter shows, else every connected host), with the console's
 * confirmations (`kill`, `reset`, exec on several hosts: the page asks and
 * sends the line again confirmed), each host's output streamed as it comes
 * and the gathered view at the end. `--web-read-only` refuses exec, `kill`
 * and `reset` here, whatever the page shows. Client web layer.
 * @module
 */

import { isRemote, type RemoteCommand, type TargetExpr } from "../../grammar/command.ts";
import { formatHelp } from "../../grammar/help.ts";
import { CommandSyntaxError, parseLine, parseTarget } from "../../grammar/parse_line.ts";
import type { HostResult } from "../fleet.ts";
import type { Fleet } from "../fleet_api.ts";
import { compactHosts } from "../hostlist.ts";
import { needsConfirmation } from "../confirm.ts";
import { resolveTargets } from "../targets.ts";
import { renderCommandDiff } from "../console_diff.ts";
import { FanoutView } from "../views/fanout.ts";
import { renderHosts } from "../views/hosts.ts";
import type { PageMessage, ServerMessage } from "./web_messages.ts";

/** Commands `--web-read-only` refuses: the ones that change a host. */
const WRITES: ReadonlySet<RemoteCommand["kind"]> = new Set(["exec", "kill", "reset"]);

/** Whether `cmd` (or the command a `diff` runs) changes a host. */
export function isWrite(cmd: RemoteCommand): boolean {
  return WRITES.has(cmd.kind);
}

/** What the command box needs. */
export interface WebCommandOptions {
  fleet: Fleet;
  /** Refuse exec, kill and reset. */
  readOnly: boolean;
  /** The server-side timeout of exec lines that name none (the client's `--timeout`). */
  timeoutMs: number;
  /** How long to wait for each host's answer (the client's `--wait`). */
  waitMs: number;
}

/** A running line's switches: cancel (first) and stop waiting (second cancel). */
interface Running {
  cancel: AbortController;
  giveUp: AbortController;
}

/** The command box of one page connection; see the module doc. */
export class WebCommands {
  #opts: WebCommandOptions;
  #send: (m: ServerMessage) => void;
  #running = new Map<string, Running>();

  /** Commands for one page; `send` delivers messages to it. */
  constructor(opts: WebCommandOptions, send: (m: ServerMessage) => void) {
    this.#opts = opts;
    this.#send = send;
  }

  /** How many lines are running. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Cancel a running line on every host (the servers kill its processes); a
   * second cancel stops waiting for hosts that do not answer the first.
   */
  cancel(id: string): void {
    const run = this.#running.get(id);
    if (!run) return;
    if (!run.cancel.signal.aborted) run.cancel.abort("cancelled from the web page");
    else run.giveUp.abort();
  }

  /** Cancel everything (the page went away) and stop waiting for it. */
  cancelAll(): void {
    for (const run of this.#running.values()) {
      run.cancel.abort("cancelled: the web page closed");
      run.giveUp.abort();
    }
  }

  /** Run one `run` message to its end; every outcome is a message, never a throw. */
  async run(msg: Extract<PageMessage, { type: "run" }>): Promise<void> {
    const { id } = msg;
    if (this.#running.has(id)) {
      this.#send({ type: "error", id, message: `Cannot run: "${id}" is already running` });
      return;
    }
    try {
      const parsed = parseLine(msg.line);
      if (parsed === null) return;
      const { target, command } = parsed;
      if (isRemote(command)) {
        await this.#remote(msg, target, command, false);
        return;
      }
      switch (command.kind) {
        case "help":
          this.#finish(id, formatHelp(command.topic));
          return;
        case "hosts": {
          const names = new Set(this.#names(target, msg.filter, false));
          const rows = this.#opts.fleet.links.filter((l) => names.has(l.name)).map((l) => ({
            ...l.status(),
            groups: l.groups,
            selected: false,
          }));
          this.#finish(id, renderHosts(rows, Date.now(), false));
          return;
        }
        case "diff":
          await this.#remote(msg, target, command.command, true);
          return;
        case "connect":
        case "forget":
        case "use":
        case "select-add":
        case "select-remove":
        case "watch":
        case "web":
        case "push":
        case "pull":
        case "exit":
          this.#send({
            type: "error",
            id,
            message: `Cannot run "${command.kind}" here: it is a console command ` +
              "(the page shows the fleet live; narrow it with the filter or @TARGET)",
          });
          return;
        default: {
          const never: never = command;
          throw new TypeError(`Cannot run command: unknown kind "${String(never)}"`);
        }
      }
    } catch (err) {
      if (err instanceof CommandSyntaxError) {
        this.#send({
          type: "error",
          id,
          message: `column ${err.position + 1}: ${err.message} (expected: ${err.expected})`,
        });
      } else if (err instanceof RangeError || err instanceof SyntaxError) {
        // A target naming nobody, a filter that does not parse: say so, the page stays.
        this.#send({ type: "error", id, message: err.message });
      } else {
        throw err;
      }
    }
  }

  /**
   * The hosts a line goes to: its `@TARGET`, else the filter, else (for
   * commands) every connected host or (for `hosts`) every host.
   */
  #names(target: TargetExpr | undefined, filter: string, connectedOnly: boolean): string[] {
    const fleet = this.#opts.fleet;
    const hosts = fleet.links.map((l) => ({ name: l.name, groups: l.groups }));
    const expr = target ?? (filter.trim() === "" ? undefined : parseTarget(filter.trim()));
    if (expr) return resolveTargets(expr, hosts);
    return fleet.links.filter((l) => !connectedOnly || l.state === "up").map((l) => l.name);
  }

  async #remote(
    msg: Extract<PageMessage, { type: "run" }>,
    target: TargetExpr | undefined,
    command: RemoteCommand,
    diff: boolean,
  ): Promise<void> {
    const { id } = msg;
    if (this.#opts.readOnly && isWrite(command)) {
      this.#send({
        type: "error",
        id,
        message: `Cannot run "${command.kind}": this page is read-only (--web-read-only)`,
      });
      return;
    }
    const fleet = this.#opts.fleet;
    // Hosts disconnected on purpose are skipped, as the console does.
    const names = this.#names(target, msg.filter, true).filter((n) =>
      fleet.get(n)?.state !== "closed"
    );
    if (names.length === 0) {
      this.#send({ type: "error", id, message: "No hosts: none connected, or none matched" });
      return;
    }
    if (needsConfirmation(command, names.length) && !msg.confirmed) {
      const what = command.kind === "exec" ? `${command.shell}: ${command.command}` : command.kind;
      const count = names.length === 1 ? "1 host" : `${names.length} hosts`;
      this.#send({
        type: "confirm",
        id,
        question: `Run "${what}" on ${count} (${compactHosts(names)})?`,
        hosts: names,
      });
      return;
    }
    const cmd = command.kind === "exec" && command.timeoutMs === undefined
      ? { ...command, timeoutMs: this.#opts.timeoutMs }
      : command;
    const run: Running = { cancel: new AbortController(), giveUp: new AbortController() };
    this.#running.set(id, run);
    this.#send({ type: "started", id, line: msg.line, hosts: names });
    let results: HostResult[];
    try {
      results = await fleet.run(names, cmd, {
        signal: run.cancel.signal,
        stopWaiting: run.giveUp.signal,
        waitMs: this.#opts.waitMs,
        collectOutput: true,
        onOutput: diff
          ? undefined
          : (host, stream, data) => this.#send({ type: "output", id, host, stream, data }),
        onResult: (r) =>
          this.#send({
            type: "result",
            id,
            host: r.host,
            status: r.status,
            exitCode: r.exitCode ?? null,
            error: r.error ?? null,
          }),
      });
    } finally {
      this.#running.delete(id);
    }
    const cancelled = run.cancel.signal.aborted;
    if (diff) {
      this.#finish(id, renderCommandDiff(cmd, results, false), cancelled);
      return;
    }
    // The closing view as the console's gather mode draws it, without colour: the page paints.
    let text = "";
    const view = new FanoutView(
      {
        out: (t) => text += t,
        status: () => {},
        color: false,
        progress: false,
        escape: false,
        // The pane scrolls sideways; tables get the width a wide terminal would give them.
        width: 120,
      },
      cmd,
      names,
      "gather",
    );
    view.finish(results);
    this.#finish(id, text.replace(/\n$/, ""), cancelled);
  }

  #finish(id: string, text: string, cancelled = false): void {
    this.#send({ type: "finished", id, text, cancelled });
  }
}
